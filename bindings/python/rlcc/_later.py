"""The pseudo-label steps of the methods after RLCC (librlcc 1.7): camera-aware
proxies (CAP, ICE, O2CAP, PPLR), PPLR's cross-agreement scores and part
weights, and the DBSCAN radius from a distance quantile (SSG,
DomainAdaptiveReID, MMT)."""

from __future__ import annotations

import ctypes
from typing import Any, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _native as native
from ._dbscan import as_float32_matrix, leading_dimension
from ._rlcc import _choice, _labels

_ORDERS = {"camera": 0, "cluster": 1}  # RLCC_PROXIES_CAMERA_MAJOR, _CLUSTER_MAJOR
_NORMS = {"double": 0, "float32": 1}  # RLCC_CENTROID_NORM_DOUBLE, _FLOAT32
_SUMMATIONS = {"numpy": 0, "double": 1}  # RLCC_SUM_NUMPY, RLCC_SUM_DOUBLE


class CameraProxies(NamedTuple):
    """Result of :func:`camera_proxies`."""

    proxy: np.ndarray      # int32 (n,): the proxy of every sample, -1 for noise
    cluster: np.ndarray    # int32 (m,): each proxy's label
    camera: np.ndarray     # int32 (m,): each proxy's camera
    centroids: Optional[np.ndarray]  # float32 (m, d): L2-normalised proxy means; None without x


def camera_proxies(labels: Any, cameras: Any, x: Any = None, order: str = "camera",
                   norm: str = "double", n_threads: int = 0,
                   max_bytes: int = 0) -> CameraProxies:
    """Camera-aware proxies: one per (cluster, camera) pair with a member.

    ``labels`` (n ints >= -1, -1 = noise, any values, ordered numerically),
    ``cameras`` (n ints >= 0), ``x`` (n x d features). ``order="camera"``
    numbers the proxies cameras ascending, then clusters (CAP, ICE);
    ``"cluster"``: clusters ascending, then cameras (O2CAP, PPLR).
    ``centroids`` is the mean of each proxy's rows, L2-normalised, with the
    norm in double (``"double"``, librlcc's centroid arithmetic) or in
    float32 as NumPy (``"float32"``: CAP's and ICE's bytes). A zero mean
    stays zero. ``x=None`` gives the proxies alone (``centroids`` is None):
    what CAP's train loader needs, without features. ``n_threads`` /
    ``max_bytes`` as elsewhere; the same bytes for every value."""
    order_code = _choice(_ORDERS, order, "order")
    norm_code = _choice(_NORMS, norm, "norm")
    labels = _labels(labels, "labels")
    cameras = _labels(cameras, "cameras")
    array = None if x is None else as_float32_matrix(x, "x")
    n = labels.shape[0]
    if cameras.shape[0] != n:
        raise native.invalid(f"cameras: {cameras.shape[0]} entries, labels has {n}")
    if array is not None and array.shape[0] != n:
        raise native.invalid(f"x: {array.shape[0]} rows, labels has {n} entries")
    opts = native.init_struct(native.ProxyOptions, native.lib.rlcc_proxy_options_init)
    opts.order = order_code
    opts.max_bytes = native.integer(max_bytes, "max_bytes")
    proxy = np.empty(n, dtype=np.int32)
    cluster = np.empty(max(n, 1), dtype=np.int32)
    camera = np.empty(max(n, 1), dtype=np.int32)
    m = ctypes.c_int64(0)
    native.check(native.lib.rlcc_camera_proxies(
        native.pointer(labels, ctypes.c_int32), native.pointer(cameras, ctypes.c_int32), n,
        ctypes.byref(opts), native.pointer(proxy, ctypes.c_int32), ctypes.byref(m),
        native.pointer(cluster, ctypes.c_int32), native.pointer(camera, ctypes.c_int32)))
    m = int(m.value)
    if array is None:
        return CameraProxies(proxy, cluster[:m].copy(), camera[:m].copy(), None)
    d = array.shape[1]
    centroids = np.zeros((m, d), dtype=np.float32)
    copts = native.init_struct(native.CentroidOptions, native.lib.rlcc_centroid_options_init)
    copts.norm = norm_code
    copts.n_threads = native.integer(n_threads, "n_threads", "int32")
    copts.max_bytes = native.integer(max_bytes, "max_bytes")
    if m > 0:
        native.check(native.lib.rlcc_centroids_opts(
            native.pointer(array, ctypes.c_float), n, d, leading_dimension(array),
            native.pointer(proxy, ctypes.c_int32), m, ctypes.byref(copts),
            native.pointer(centroids, ctypes.c_float), d))
    return CameraProxies(proxy, cluster[:m].copy(), camera[:m].copy(), centroids)


def _part_matrices(parts: Any, n: int) -> list:
    """The P part matrices, each n x d float32 with contiguous rows and one
    leading dimension for all (the C call takes one)."""
    if isinstance(parts, (list, tuple)):
        mats = [as_float32_matrix(p, f"parts[{i}]") for i, p in enumerate(parts)]
    else:
        array = native.as_array(parts, "parts")
        if array.ndim != 3:
            raise native.invalid(f"parts: expected an n x d x P array (PPLR's layout) or a "
                                 f"sequence of n x d arrays, got {array.ndim}-D")
        mats = [as_float32_matrix(array[:, :, i], f"parts[{i}]")
                for i in range(array.shape[2])]
    if not mats:
        raise native.invalid("parts: no part given")
    d = mats[0].shape[1]
    for i, m in enumerate(mats):
        if m.shape[0] != n:
            raise native.invalid(f"parts[{i}]: {m.shape[0]} rows, global_x has {n}")
        if m.shape[1] != d:
            raise native.invalid(f"parts[{i}]: dimension {m.shape[1]} differs from parts[0]'s "
                                 f"{d}")
    if len({leading_dimension(m) for m in mats}) > 1:
        mats = [native.c_order(m, np.float32) for m in mats]
    return mats


def cross_agreement(global_x: Any, parts: Any, k: int = 20, exclude_self: bool = False,
                    n_threads: int = 0, max_bytes: int = 0) -> np.ndarray:
    """PPLR's cross-agreement scores, n x P float32: for sample i and part p,
    |R_g(i) & R_p(i)| / |R_g(i) | R_p(i)|, where R(i) is the k + 1 nearest
    rows (librlcc's exact kNN: squared L2 in double, ties by the lower
    index) with position 0 dropped (PPLR's rule), or, with
    ``exclude_self=True``, the k nearest rows other than i. ``parts``: a
    sequence of P arrays n x d, or one n x d x P array as PPLR holds them.
    Needs k + 1 <= n."""
    g = as_float32_matrix(global_x, "global_x")
    n = g.shape[0]
    mats = _part_matrices(parts, n)
    opts = native.init_struct(native.AgreementOptions, native.lib.rlcc_agreement_options_init)
    opts.k = native.integer(k, "k", "int32")
    opts.exclude_self = int(bool(exclude_self))
    opts.n_threads = native.integer(n_threads, "n_threads", "int32")
    opts.max_bytes = native.integer(max_bytes, "max_bytes")
    pointers = (native.c_float_p * len(mats))(*[native.pointer(m, ctypes.c_float) for m in mats])
    scores = np.empty((n, len(mats)), dtype=np.float32)
    native.check(native.lib.rlcc_cross_agreement(
        native.pointer(g, ctypes.c_float), n, g.shape[1], leading_dimension(g), pointers,
        len(mats), mats[0].shape[1], leading_dimension(mats[0]), ctypes.byref(opts),
        native.pointer(scores, ctypes.c_float)))
    return scores


def part_weights(scores: Any) -> np.ndarray:
    """PPLR's part weights: a softmax over the parts of every row of
    ``scores`` (n x P), in double, rounded to float32 once."""
    array = native.c_order(as_float32_matrix(scores, "scores"), np.float32)
    out = np.empty_like(array)
    native.check(native.lib.rlcc_part_weights(
        native.pointer(array, ctypes.c_float), array.shape[0], array.shape[1],
        native.pointer(out, ctypes.c_float)))
    return out


def _csr_without_duplicates(matrix):
    """A scipy.sparse matrix as CSR. Converting to CSR would add duplicate
    entries together, so a non-CSR matrix is refused here when it holds
    any; a CSR matrix's duplicates are librlcc's to refuse."""
    import scipy.sparse as sp

    if matrix.format == "csr":
        return matrix
    coo = matrix.tocoo()
    if coo.nnz > 1:
        key = np.asarray(coo.row, dtype=np.int64) * matrix.shape[1] + coo.col
        key.sort()
        same = np.flatnonzero(key[1:] == key[:-1])
        if same.size:
            at = int(key[same[0]])
            raise native.invalid(f"dist: duplicate entry ({at // matrix.shape[1]}, "
                                 f"{at % matrix.shape[1]}) (a {matrix.format} matrix)")
    return sp.csr_matrix(coo)


def eps_from_quantile(dist: Any, rho: float = 1.6e-3, summation: str = "numpy",
                      max_bytes: int = 0) -> float:
    """The DBSCAN radius of SSG, DomainAdaptiveReID and MMT: the mean of the
    round-half-even(rho x count) smallest nonzero distances of the strict
    upper triangle (MMT's ``np.triu(d, 1)``, nonzero, sort, mean).

    ``dist``: a dense n x n array, or a scipy.sparse matrix (any format;
    CSR is used as it is, others are converted, refusing duplicate
    entries) whose missing entries are distance 1 and whose exact zeros
    must be stored. ``summation="numpy"``: NumPy's float32 pairwise sum
    (MMT's bytes); ``"double"``: a double sum. Returns a float (a float32
    value)."""
    import scipy.sparse as sp

    code = _choice(_SUMMATIONS, summation, "summation")
    opts = native.init_struct(native.QuantileOptions, native.lib.rlcc_quantile_options_init)
    opts.summation = code
    opts.max_bytes = native.integer(max_bytes, "max_bytes")
    rho = float(rho)
    eps = ctypes.c_double(0.0)
    if sp.issparse(dist):
        if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
            raise native.invalid(f"dist: a distance matrix must be square, got {dist.shape}")
        indptr, indices, data = native.csr_parts(_csr_without_duplicates(dist), "dist")
        native.check(native.lib.rlcc_eps_from_quantile_csr(
            dist.shape[0], native.pointer(indptr, ctypes.c_int64),
            native.pointer(indices, ctypes.c_int32), native.pointer(data, ctypes.c_float), rho,
            ctypes.byref(opts), ctypes.byref(eps)))
        return eps.value
    array = as_float32_matrix(dist, "dist")
    if array.shape[0] != array.shape[1]:
        raise native.invalid(f"dist: a distance matrix must be square, got {array.shape}")
    n = array.shape[0]
    native.check(native.lib.rlcc_eps_from_quantile(
        native.pointer(array, ctypes.c_float), n, leading_dimension(array) if n else 1, rho,
        ctypes.byref(opts), ctypes.byref(eps)))
    return eps.value
