"""``rlcc.kmeans`` and ``rlcc.kmeans_init_faiss``: Lloyd's k-means with
scikit-learn's semantics, decided in double, and faiss's start rows
(OpenUnReID's k-means label generator). Issue #15 item 3."""

from __future__ import annotations

import ctypes
from typing import Any, NamedTuple, Tuple, Union

import numpy as np

from . import _native as native
from ._dbscan import as_float32_matrix, leading_dimension


class KMeansResult(NamedTuple):
    """Result of :func:`kmeans`."""

    labels: np.ndarray     # int32 (n,), in [0, k)
    centroids: np.ndarray  # float32 (k, d)
    n_iter: int            # the steps run, as scikit-learn's n_iter_


def kmeans(x: Any, init: Any, max_iter: int = 300, tol: float = 1e-4, n_threads: int = 0,
           max_bytes: int = 0) -> KMeansResult:
    """Lloyd's k-means of the rows of ``x`` from the start centroids
    ``init`` (``k x d``), as scikit-learn's
    ``KMeans(n_clusters=k, algorithm="lloyd", n_init=1, init=init,
    max_iter=max_iter, tol=tol)``: the same labels and ``n_iter``,
    centroids within 1e-6 (scikit-learn on float64 data).

    Every row goes to the nearest centroid by the squared distance of the
    float32 values computed in double (librlcc's one summation order, as
    :func:`knn`), ties to the lowest centroid index; each centroid is the
    double mean of its members, rounded to float32; an empty cluster takes
    the row farthest from its own centroid. The loop stops when the labels
    repeat, when the summed squared centroid shift is ``<= tol`` x the mean
    per-feature variance of ``x`` (``tol=0``: only an unchanged centroid
    set), or after ``max_iter`` steps. The same bytes for every BLAS
    kernel, ``n_threads`` and ``max_bytes`` (0: no bound; too small raises
    OutOfMemory).
    """
    array = as_float32_matrix(x, "x")
    n, d = array.shape
    start = as_float32_matrix(init, "init")
    if start.shape[1] != d:
        raise native.invalid(f"init: shape {start.shape} must have d = {d} columns, as x")
    k = start.shape[0]
    opts = native.init_struct(native.KmeansOptions, native.lib.rlcc_kmeans_options_init)
    opts.max_iter = native.int_argument(max_iter, "max_iter", "int32")
    opts.tol = float(tol)
    opts.n_threads = native.int_argument(n_threads, "n_threads", "int32")
    opts.max_bytes = native.int_argument(max_bytes, "max_bytes")
    ok = 1 <= k <= n
    labels = np.empty(n if ok else 0, dtype=np.int32)
    centroids = np.empty((k, d) if ok else (0, d), dtype=np.float32)
    n_iter = ctypes.c_int64(0)
    native.check(native.lib.rlcc_kmeans(
        native.pointer(array, ctypes.c_float), n, d, leading_dimension(array),
        native.pointer(start, ctypes.c_float), k, leading_dimension(start), ctypes.byref(opts),
        native.pointer(centroids, ctypes.c_float), max(d, 1),
        native.pointer(labels, ctypes.c_int32), ctypes.byref(n_iter)))
    return KMeansResult(labels, centroids, int(n_iter.value))


def kmeans_init_faiss(x_or_n: Any, k: int, seed: int = 1234, max_points_per_centroid: int = 256,
                      return_train_rows: bool = False
                      ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """The start rows of faiss's k-means (faiss 1.6 to 1.7:
    ``faiss.Kmeans(d, k, seed=seed)``, OpenUnReID's generator): ``x_or_n``
    is the feature matrix (only its row count is used) or the row count.

    If ``n > max_points_per_centroid * k`` faiss trains on the first
    ``max_points_per_centroid * k`` rows of ``rand_perm(n, seed)``, else on
    every row; the start centroids are the training rows at
    ``rand_perm(n_train, seed + 1)[:k]`` (Fisher-Yates with std::mt19937).

    Returns the ``k`` start rows (int64 indices into ``x``), so
    ``rlcc.kmeans(x, x[rows], max_iter=300, tol=0)`` starts where faiss does;
    with ``return_train_rows=True``, ``(start_rows, train_rows)`` where
    ``train_rows`` (int64) are faiss's training rows in its order.
    """
    if isinstance(x_or_n, (int, np.integer)) and not isinstance(x_or_n, bool):
        n = native.integer(x_or_n, "n")
    else:
        shape = np.shape(native.as_array(x_or_n, "x"))
        if len(shape) != 2:
            raise native.invalid(f"x: expected a 2-D array, got {len(shape)}-D")
        n = shape[0]
    k = native.int_argument(k, "k")
    seed = native.integer(seed, "seed")
    if seed < 0:
        seed += 2**64  # faiss's int64 seed, as the uint64_t librlcc takes
    mppc = native.int_argument(max_points_per_centroid, "max_points_per_centroid")
    ok = 1 <= k <= n and mppc >= 1
    n_train = min(n, mppc * k) if ok else 0
    start = np.empty(k if ok else 0, dtype=np.int64)
    train = np.empty(n_train if return_train_rows else 0, dtype=np.int64)
    count = ctypes.c_int64(0)
    native.check(native.lib.rlcc_kmeans_init_faiss(
        n, k, ctypes.c_uint64(seed), mppc, native.pointer(start, ctypes.c_int64),
        native.pointer_to(train, ctypes.c_int64) if return_train_rows else None,
        ctypes.byref(count)))
    return (start, train) if return_train_rows else start
