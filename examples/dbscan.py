"""Cluster points with librlcc from Python, and see what a refused call says.

    PYTHONPATH=bindings/python python3 examples/dbscan.py
"""

import numpy as np

import rlcc

X = np.array([[0.0], [0.5], [1.0], [10.0], [10.5], [11.0], [40.0]], dtype=np.float32)
labels = rlcc.dbscan(X, eps=0.6, min_samples=2, n_threads=1)
print(f"librlcc {rlcc.library_version()}: {labels.max() + 1} clusters, labels",
      " ".join(str(v) for v in labels))

try:
    rlcc.dbscan(np.array([[0.0], [np.nan], [1.0]]), eps=0.6, min_samples=2)
except rlcc.InvalidArgument as error:
    print(f"refused: invalid argument ({error})")
