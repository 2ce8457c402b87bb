"""Ctrl-C during a long refiner step cancels it: SIGINT, sent from another
thread while the step runs inside librlcc, raises KeyboardInterrupt in the
next Python callback; the binding turns that into a cancel request, the
library stops (RLCC_E_CANCELED), the refiner is left as it was, and
step() raises the KeyboardInterrupt. Run in a child process so that a
stray SIGINT can never reach pytest itself."""

import os
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent("""
    import ctypes, os, signal, sys, threading
    import numpy as np
    import rlcc
    from rlcc import _native

    # A terminal's Ctrl-C reaches a program that handles SIGINT. A process
    # started in the background of a non-interactive shell (CI, a chroot
    # script, nohup) inherits SIGINT ignored, and Python then installs no
    # handler; the binding rightly leaves an ignored SIGINT alone. So this
    # child takes Python's default handler, as an interactive run has it.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    refiner = rlcc.Refiner(k1=20, k2=4, batch=16)
    refiner.step(x)
    labels_before = refiner.generation().labels.copy()

    started, sent = threading.Event(), threading.Event()
    def press_ctrl_c():
        started.wait()
        os.kill(os.getpid(), signal.SIGINT)  # what the terminal does on Ctrl-C
        sent.set()
    threading.Thread(target=press_ctrl_c).start()

    where = sys.argv[1]
    calls = []
    def features(start, count):
        calls.append(start)
        if where == "features" and len(calls) == 1:
            started.set()
            sent.wait(30)  # the step is still running when the signal lands
        return x[start:start + count]

    def progress(stage, fraction):
        if where == "clustering" and stage == 1:
            started.set()  # the signal lands while librlcc clusters, in C
        if stage == 3:
            sent.wait(30)  # never finish before it has been sent
        return False

    try:
        refiner.step(features, n=2000, d=32, progress=progress)
        print("not interrupted")
    except KeyboardInterrupt:
        message = _native.lib.rlcc_last_error().decode()  # before any other librlcc call
        g = refiner.generation()
        print("interrupted after", len(calls), "of 125 batches;",
              "generation", g.generation, "unchanged labels", np.array_equal(g.labels, labels_before))
        print("library:", message)
    print("next step", refiner.step(x).generation)
""")


import pytest


@pytest.mark.parametrize("where,batches", [("features", 1), ("clustering", 125)])
def test_ctrl_c_cancels_a_running_step_and_leaves_the_refiner_as_it_was(where, batches):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    run = subprocess.run([sys.executable, "-c", _SCRIPT, where], capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == (f"interrupted after {batches} of 125 batches; generation 1 unchanged "
                        "labels True"), run.stdout
    # canceled through the progress callback, not failed as a callback error
    assert lines[1].startswith("library: canceled by the progress callback at stage"), run.stdout
    assert lines[2] == "next step 2", run.stdout
