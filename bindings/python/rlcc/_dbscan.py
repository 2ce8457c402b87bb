"""``rlcc.dbscan``: scikit-learn's DBSCAN labels from librlcc."""

from __future__ import annotations

import ctypes
from typing import Any, Dict, Tuple

import numpy as np

from . import _native as native

_METRICS = {"euclidean": 0, "cosine": 1, "precomputed": None}
# scikit-learn's spelling where it has one ("auto", "brute", "kd_tree"), and
# "grid" for librlcc's grid (RLCC_DBSCAN_AUTO, _BRUTE, _GRID, _TREE).
_ALGORITHMS = {"auto": 0, "brute": 1, "grid": 2, "kd_tree": 3}
_INT32_MAX = 2**31 - 1


def as_float32_matrix(X: Any, name: str) -> np.ndarray:
    """A 2-D float32 array whose rows are contiguous, converting only when
    needed (float64 -> float32, non-contiguous -> C order, big-endian or
    misaligned -> a native, aligned copy). A float32 C-contiguous array or
    CPU torch tensor is used as it is, without a copy."""
    array = native.as_array(X, name)
    if array.dtype.kind not in "fiub":
        raise native.invalid(f"{name}: dtype {array.dtype} is not a real number type")
    if array.ndim != 2:
        raise native.invalid(f"{name}: expected a 2-D array, got {array.ndim}-D")
    # Row stride may exceed the row length (a column slice): librlcc takes a
    # leading dimension, so only the last axis must be contiguous. (float32
    # compares equal to the native byte order only.)
    if (array.dtype == np.float32 and array.flags.aligned and array.strides[1] == 4
            and array.strides[0] % 4 == 0 and array.strides[0] >= 4 * array.shape[1]):
        return array
    return native.c_order(array, np.float32)


def leading_dimension(array: np.ndarray) -> int:
    return max(array.strides[0] // 4, array.shape[1], 1) if array.shape[0] > 1 else max(array.shape[1], 1)


def _sparse_csr(X):
    """CSR arrays librlcc accepts, private copies (native.csr_parts):
    int64 indptr, int32 sorted indices, float32 data. Duplicate entries are
    left for the library to refuse (scikit-learn would count them twice)."""
    import scipy.sparse as sp

    if X.shape[0] != X.shape[1]:
        raise native.invalid(f"X: precomputed distances must be square, got {X.shape}")
    return (X.shape[0], *native.csr_parts(sp.csr_matrix(X), "X"))


def dbscan_with_stats(X: Any, eps: float, min_samples: int = 5, metric: str = "euclidean",
                      n_threads: int = 0, max_bytes: int = 0, algorithm: str = "auto",
                      want_stats: bool = True
                      ) -> Tuple[np.ndarray, np.ndarray, int, Dict[str, int]]:
    """Like :func:`dbscan`, returning ``(labels, core, n_clusters, stats)``
    where ``core`` is a bool array and ``stats`` a dict of the library's
    counters (``n_neighbor_pairs``, ``n_redecided``, ``peak_bytes``, ...).
    ``want_stats=False`` passes no stats struct (the grid and the tree then
    skip counting every neighbour pair) and returns an empty dict."""
    if metric not in _METRICS:
        raise native.invalid(f"metric: {metric!r} is not one of {sorted(_METRICS)}")
    if algorithm not in _ALGORITHMS:
        raise native.invalid(f"algorithm: {algorithm!r} is not one of {sorted(_ALGORITHMS)}")
    opts = native.options(native.int_argument(n_threads, "n_threads", "int32"),
                          _METRICS[metric] or 0, native.int_argument(max_bytes, "max_bytes"),
                          _ALGORITHMS[algorithm])
    min_samples = native.int_argument(min_samples, "min_samples")
    stats = native.init_struct(native.DbscanStats, native.lib.rlcc_dbscan_stats_init)
    stats_arg = ctypes.byref(stats) if want_stats else None
    n_clusters = ctypes.c_int64(0)
    tail_args = None

    def outputs(n):
        return np.empty(n, dtype=np.int32), np.empty(n, dtype=np.uint8)

    import scipy.sparse as sp

    if metric == "precomputed" and sp.issparse(X):
        n, indptr, indices, data = _sparse_csr(X)
        labels, core = outputs(n)
        tail_args = (float(eps), min_samples, ctypes.byref(opts),
                     native.pointer(labels, ctypes.c_int32), ctypes.byref(n_clusters),
                     native.pointer(core, ctypes.c_uint8), stats_arg)
        code = native.lib.rlcc_dbscan_csr(
            n, native.pointer(indptr, ctypes.c_int64), native.pointer(indices, ctypes.c_int32),
            native.pointer(data, ctypes.c_float), *tail_args)
    else:
        array = as_float32_matrix(X, "X")
        n = array.shape[0]
        labels, core = outputs(n)
        tail_args = (float(eps), min_samples, ctypes.byref(opts),
                     native.pointer(labels, ctypes.c_int32), ctypes.byref(n_clusters),
                     native.pointer(core, ctypes.c_uint8), stats_arg)
        ld = leading_dimension(array)
        if metric == "precomputed":
            if array.shape[0] != array.shape[1]:
                raise native.invalid(f"X: precomputed distances must be square, got {array.shape}")
            code = native.lib.rlcc_dbscan_dense(native.pointer(array, ctypes.c_float), n,
                                                max(ld, n, 1), *tail_args)
        else:
            code = native.lib.rlcc_dbscan_features(native.pointer(array, ctypes.c_float), n,
                                                   array.shape[1], ld, *tail_args)
    native.check(code)
    stat_values = ({name: getattr(stats, name) for name, _ in native.DbscanStats._fields_[1:]}
                   if want_stats else {})
    return labels, core.astype(bool), int(n_clusters.value), stat_values


def dbscan(X: Any, eps: float, min_samples: int = 5, metric: str = "euclidean",
           n_threads: int = 0, algorithm: str = "auto") -> np.ndarray:
    """DBSCAN cluster labels, identical to ``sklearn.cluster.DBSCAN``.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix
        ``(n, d)`` features for ``"euclidean"`` / ``"cosine"``; an ``(n, n)``
        distance matrix (dense, or any ``scipy.sparse`` matrix whose stored
        entries are the distances) for ``"precomputed"``. float64 is
        converted to float32; scikit-learn parity means "the same labels
        as scikit-learn on the float32 array".
    eps : float
        Neighbourhood radius (``dist <= eps``), > 0.
    min_samples : int
        Neighbourhood size (self included) that makes a core point, >= 1.
    metric : {"euclidean", "cosine", "precomputed"}
    n_threads : int
        Threads for librlcc's own work; 0 = all OpenMP threads.
    algorithm : {"auto", "brute", "grid", "kd_tree"}
        How neighbours are found (``rlcc_dbscan_options.algorithm``, 1.5):
        ``"brute"`` every pair from a float32 Gram matrix, ``"grid"`` cells
        of side about eps/sqrt(d) (euclidean, d <= 8), ``"kd_tree"`` a
        kd-tree (euclidean), ``"auto"`` the fastest measured for the metric,
        d and n. Every choice gives the same labels, bit for bit. Ignored
        for ``"precomputed"`` (but still checked).

    Returns
    -------
    numpy.ndarray of int32, shape (n,)
        Cluster per sample, numbered by lowest-index core point; -1 = noise.

    Raises
    ------
    InvalidArgument
        Bad shape, NaN/inf, negative distances, eps <= 0, ...
    OutOfMemory
        The work does not fit in memory.
    """
    return dbscan_with_stats(X, eps, min_samples, metric, n_threads, algorithm=algorithm,
                             want_stats=False)[0]
