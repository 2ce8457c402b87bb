"""k-means pseudo labels (issue #15 item 3): librlcc's rlcc.kmeans against
its floor, the same number of float32 SGEMMs of N x D x K through
cblas_sgemm (the OpenBLAS librlcc links, called in this process), and
scikit-learn's KMeans(algorithm="lloyd", n_init=1) from the same start in
the same run.

    python3 bench/bench_kmeans.py [--n 12936] [--d 2048] [--k 500] [--iters 300] [--repeat 3]

The data are synthetic re-ID embeddings: unit rows around n / 18
identities (Market-1501's images per identity), D = 2048; the start is
faiss's (rlcc.kmeans_init_faiss, seed 1234), tol = 0, max_iter = --iters.
When the labels repeat before --iters, the floor counts the assignment
passes librlcc actually ran (n_iter, plus the final one unless the stop
was a repeat). Each of the three is timed --repeat times, interleaved, and
the median is printed as one Markdown table row (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import rlcc  # noqa: E402
from rlcc import _native  # noqa: E402


def synthetic(n: int, d: int, seed: int = 0) -> np.ndarray:
    rs = np.random.RandomState(seed)
    ids = max(n // 18, 1)
    centers = rs.standard_normal((ids, d)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    label = rs.randint(0, ids, n)
    x = centers[label] + 0.06 * rs.standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def openblas():
    """The OpenBLAS librlcc itself resolved cblas_sgemm from."""
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
        if name:
            try:
                lib = ctypes.CDLL(name)
                lib.cblas_sgemm.restype = None
                return lib, name
            except OSError:
                continue
    raise SystemExit("bench_kmeans: libopenblas not found")


def sgemm_floor(lib, x, c, passes):
    n, d = x.shape
    k = c.shape[0]
    out = np.empty((n, k), dtype=np.float32)
    fp = ctypes.POINTER(ctypes.c_float)
    args = (101, 111, 112, n, k, d, ctypes.c_float(1.0), x.ctypes.data_as(fp), d,
            c.ctypes.data_as(fp), d, ctypes.c_float(0.0), out.ctypes.data_as(fp), k)
    t = time.perf_counter()
    for _ in range(passes):
        lib.cblas_sgemm(*args)  # CblasRowMajor, NoTrans, Trans
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12936)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--k", type=int, default=500)
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--header", action="store_true", help="print the table header first")
    a = ap.parse_args()
    x = synthetic(a.n, a.d)
    init = x[rlcc.kmeans_init_faiss(a.n, a.k, seed=1234)]
    lib, _ = openblas()
    from sklearn.cluster import KMeans

    ours, floor, sk = [], [], []
    for _ in range(a.repeat):
        t = time.perf_counter()
        res = rlcc.kmeans(x, init, max_iter=a.iters, tol=0.0)
        ours.append(time.perf_counter() - t)
        strict = res.n_iter < a.iters  # tol = 0: an early stop is a repeat (or no shift)
        passes = res.n_iter + (0 if strict else 1)
        floor.append(sgemm_floor(lib, x, init, passes))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            km = KMeans(a.k, init=init, n_init=1, algorithm="lloyd", max_iter=a.iters,
                        tol=0.0).fit(x)
            sk.append(time.perf_counter() - t)
    o, f, s = (statistics.median(v) for v in (ours, floor, sk))
    same = int((km.labels_ == res.labels).sum())
    if a.header:
        print("| N | D | K | n_iter (librlcc) | SGEMM passes | librlcc s | SGEMM floor s | "
              "librlcc / floor | scikit-learn s (n_iter) | speed-up vs scikit-learn | "
              "labels equal to scikit-learn (float32) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {a.n} | {a.d} | {a.k} | {res.n_iter} | {passes} | {o:.2f} | {f:.2f} | "
          f"{o / f:.2f}x | {s:.2f} ({km.n_iter_}) | {s / o:.2f}x | {same} / {a.n} |")
    print(f"runs (s): librlcc {['%.2f' % v for v in ours]}, floor {['%.2f' % v for v in floor]}, "
          f"scikit-learn {['%.2f' % v for v in sk]}; library {_native.library_path}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
