"""Long librlcc calls release the GIL (ctypes does for CDLL functions): other
Python threads keep running while one thread is inside the library. Shown
without timing: a counter thread advances during a long call."""

import threading

import numpy as np

import rlcc


def test_other_python_threads_run_during_a_long_call():
    rng = np.random.default_rng(0)
    D = rng.random((2500, 2500), dtype=np.float32)  # a dense precomputed matrix: pure C work
    inside = threading.Event()
    stop = threading.Event()
    ticks = []

    def counter():
        inside.wait()
        while not stop.is_set():
            ticks.append(1)

    thread = threading.Thread(target=counter)
    thread.start()
    progress_during_call = []
    for _ in range(3):
        before = len(ticks)
        inside.set()
        rlcc.dbscan(D, 0.001, 3, metric="precomputed", n_threads=1)
        progress_during_call.append(len(ticks) - before)
    stop.set()
    thread.join()
    # with the GIL held for the whole call the counter could only move at
    # the edges; released, it runs throughout (hundreds of thousands of ticks)
    assert max(progress_during_call) > 1000, progress_during_call
