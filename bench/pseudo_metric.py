"""rlcc.pseudo_labels over a plain metric with three radii (tight, normal,
loose) builds the three neighbour graphs from one pass over the Gram
matrix; before 1.2.1 it ran three DBSCANs, three passes. Times one call
against the three separate DBSCANs it replaces (same labels checked), on
synthetic re-ID embeddings. Prints key=value fields.

    PYTHONPATH=bindings/python python3 bench/pseudo_metric.py [n] [d]
"""
import sys
import time

import numpy as np

import rlcc

n = int(sys.argv[1]) if len(sys.argv) > 1 else 12936
d = int(sys.argv[2]) if len(sys.argv) > 2 else 2048
rng = np.random.default_rng(1)
ids = rng.normal(size=(n // 16, d))
X = ids[np.arange(n) % len(ids)] + rng.normal(size=(n, d)) * 0.35
X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
eps = (0.78, 0.8, 0.82)


def best(run, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


one_s, got = best(lambda: rlcc.pseudo_labels(X, eps=eps, metric="euclidean",
                                             outliers="keep", reliability=False))
three_s, runs = best(lambda: [rlcc.dbscan(X, e, 4) for e in eps])
same = bool(np.array_equal(got.labels, runs[1]))
clusters = int(runs[1].max() + 1)
print(f"n={n} d={d} clusters={clusters} one_pass_s={one_s:.3f} three_dbscans_s={three_s:.3f} "
      f"speedup={three_s / one_s:.2f} same_labels={same}")
