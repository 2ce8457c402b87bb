"""The Python binding releases the GIL during librlcc calls: two Python
threads, each running one DBSCAN with n_threads=1 on its own data, against
one such call alone. With the GIL held the pair would take 2x; released,
about 1x on a machine with two free cores. Prints key=value fields.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=bindings/python python3 bench/gil_threads.py [n] [repeats]
"""
import sys
import threading
import time

import numpy as np

import rlcc

n = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
rng = np.random.default_rng(0)
# unit features, D = 256: a compute-bound call (SGEMM Gram panels); run with
# OPENBLAS_NUM_THREADS=1 so that each call uses exactly one core
inputs = []
for _ in range(2):
    x = rng.normal(size=(n, 256)).astype(np.float32)
    inputs.append(x / np.linalg.norm(x, axis=1, keepdims=True))


def one(features):
    rlcc.dbscan(features, 0.5, 4, n_threads=1)


def best_of(run):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def pair():
    threads = [threading.Thread(target=one, args=(m,)) for m in inputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


single = best_of(lambda: one(inputs[0]))
both = best_of(pair)
print(f"n={n} one_call_s={single:.3f} two_threads_s={both:.3f} ratio={both / single:.2f}")
