"""RLCC from Python: pseudo labels, consensus, propagation, blending and the
refiner across generations."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import struct
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Sequence, Union

import numpy as np

if TYPE_CHECKING:  # scipy.sparse is imported by the calls that build or read one
    import scipy.sparse as sp

from . import _native as native
from ._dbscan import as_float32_matrix, leading_dimension
from ._jaccard import _knn_lists

_METRICS = {"jaccard": 2, "euclidean": 0, "cosine": 1}
_OUTLIERS = {"keep": 0, "singleton": 1}
_KINDS = {"iou": 0, "count": 1}
_NORMALIZE = {None: 0, "sum": 1, "softmax": 2}
_VARIANTS = {"dot": 0, "sqeuclidean": 1}
_METHODS = {"dbscan": 0, "infomap": 1, "kmeans": 2}  # RLCC_PSEUDO_*


class PseudoLabels(NamedTuple):
    """Result of :func:`pseudo_labels`."""

    labels: np.ndarray      # int32 (n,)
    n_classes: int
    threshold: float        # the reliability threshold used
    # float32 (n_classes, d), L2-normalised means; None from
    # rlcc.pseudo_labels_graph (a graph has no feature rows)
    centroids: Optional[np.ndarray]


class Generation(NamedTuple):
    """Result of :meth:`Refiner.step`."""

    labels: np.ndarray
    n_classes: int
    threshold: float
    centroids: np.ndarray
    generation: int         # generations completed, this one included


def _choice(table, value, name):
    """table[value], or InvalidArgument naming the choices (an unhashable
    value, a list say, is simply not among them)."""
    try:
        known = value in table
    except TypeError:
        known = False
    if not known:
        raise native.invalid(f"{name}: {value!r} is not one of {sorted(map(str, table))}")
    return table[value]


def _labels(values: Any, name: str) -> np.ndarray:
    array = native.as_array(values, name)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise native.invalid(f"{name}: expected a 1-D integer array")
    return native.index_copy(array, name)


def _pseudo_options(eps, min_samples, metric, k1, k2, variant, cutoff, outliers, reliability,
                    guard, threshold, n_threads, normalize=False, max_bytes=0, method="dbscan",
                    infomap_k=15, min_sim=0.5, cluster_num=4, seed=None, trials=1,
                    n_clusters=500, max_iter=300, tol=0.0, max_points_per_centroid=256):
    opts = native.init_struct(native.PseudoOptions, native.lib.rlcc_pseudo_options_init)
    opts.method = _choice(_METHODS, method, "method")
    # reliability=None: SpCL's criterion where it exists (DBSCAN's three runs)
    if reliability is None:
        reliability = method == "dbscan"
    opts.infomap_k = native.int_argument(infomap_k, "infomap_k", "int32")
    opts.infomap_min_sim = float(min_sim)
    opts.infomap_cluster_num = native.int_argument(cluster_num, "cluster_num", "int32")
    opts.infomap_trials = native.int_argument(trials, "trials", "int32")
    opts.kmeans_k = native.int_argument(n_clusters, "n_clusters")
    opts.kmeans_max_iter = native.int_argument(max_iter, "max_iter", "int32")
    opts.kmeans_tol = float(tol)
    opts.kmeans_max_points = native.int_argument(max_points_per_centroid,
                                                 "max_points_per_centroid")
    if seed is not None:  # None: each method's own default (InfoMap 123, faiss 1234)
        opts.infomap_seed = opts.kmeans_seed = native.integer(seed, "seed", "uint64")
    eps = [float(eps)] if np.isscalar(eps) else [float(e) for e in eps]
    if len(eps) not in (1, 3):
        raise native.invalid(f"eps: {len(eps)} values; give one (a plain run) or three "
                             "(tight, normal, loose)")
    opts.n_eps = len(eps)
    for i, e in enumerate(eps):
        opts.eps[i] = e
    opts.metric = _choice(_METRICS, metric, "metric")
    opts.k1 = native.int_argument(k1, "k1", "int32")
    opts.k2 = native.int_argument(k2, "k2", "int32")
    opts.variant = _choice(_VARIANTS, variant, "variant")
    opts.normalize = int(bool(normalize))
    opts.cutoff = float(cutoff)
    opts.outliers = _choice(_OUTLIERS, outliers, "outliers")
    opts.reliability = int(bool(reliability))
    opts.guard = int(bool(guard))
    opts.threshold = -1.0 if threshold is None else float(threshold)
    opts.min_samples = native.int_argument(min_samples, "min_samples")
    opts.n_threads = native.int_argument(n_threads, "n_threads", "int32")
    opts.max_bytes = native.integer(max_bytes, "max_bytes")
    return opts


def _resources(struct_type, init_function, n_threads, max_bytes):
    """A 1.4 options struct filled by its _init() function, with the
    ``n_threads`` and ``max_bytes`` every one of them has, checked to fit
    their C types (ctypes would wrap them); negative values are left for
    the library to refuse with its own message."""
    opts = native.init_struct(struct_type, init_function)
    opts.n_threads = native.integer(n_threads, "n_threads", "int32")
    opts.max_bytes = native.integer(max_bytes, "max_bytes")
    return opts


def centroids(X: Any, labels: Any, n_classes: Optional[int] = None, n_threads: int = 0,
              max_bytes: int = 0) -> np.ndarray:
    """Mean of each class's rows, L2-normalised; -1 samples take no part.
    The same bytes for every ``n_threads``; ``max_bytes`` bounds the call's
    working memory (0: half of physical memory)."""
    opts = _resources(native.CentroidOptions, native.lib.rlcc_centroid_options_init, n_threads,
                      max_bytes)
    array = as_float32_matrix(X, "X")
    labels = _labels(labels, "labels")
    k = (int(labels.max() + 1) if labels.size else 0) if n_classes is None else \
        native.int_argument(n_classes, "n_classes")
    out = np.zeros((max(k, 0), array.shape[1]), dtype=np.float32)
    if k == 0:
        return out  # a negative count goes on, for the library to refuse
    native.check(native.lib.rlcc_centroids_opts(
        native.pointer(array, ctypes.c_float), array.shape[0], array.shape[1],
        leading_dimension(array), native.pointer(labels, ctypes.c_int32), k,
        ctypes.byref(opts), native.pointer(out, ctypes.c_float), array.shape[1]))
    return out


def pseudo_labels(X: Any, eps: Union[float, Sequence[float]] = (0.58, 0.6, 0.62),
                  min_samples: int = 4, metric: str = "jaccard", k1: int = 30, k2: int = 6,
                  variant: str = "dot", cutoff: float = 0.9, outliers: str = "singleton",
                  reliability: Optional[bool] = None, guard: bool = True,
                  threshold: Optional[float] = None,
                  n_threads: int = 0, normalize: bool = False,
                  knn: Optional[Any] = None, method: str = "dbscan",
                  max_bytes: int = 0, infomap_k: int = 15, min_sim: float = 0.5,
                  cluster_num: int = 4, seed: Optional[int] = None, trials: int = 1,
                  n_clusters: int = 500, init: Optional[Any] = None, max_iter: int = 300,
                  tol: float = 0.0, max_points_per_centroid: int = 256) -> PseudoLabels:
    """The clustering step of SpCL / OpenUnReID / RLCC in one call: Jaccard
    (or euclidean / cosine) distance, DBSCAN at one eps or at tight / normal
    / loose eps, outliers kept as -1 or made singletons, SpCL's reliability
    criterion (``threshold=None`` computes it, as at the first generation),
    and the class centroids. ``knn``: the caller's ``(n, k1)`` neighbour
    lists (e.g. from faiss on a GPU), Jaccard only; None computes them.
    ``method``: the pseudo-labeler (since 1.7 any of them, with the outlier
    policy and the centroids):

    - ``"dbscan"`` (default): the arguments above; ``reliability=None``
      means on.
    - ``"infomap"`` (Cluster Contrast): ``infomap_k`` neighbours per list
      (self included; ``knn`` is then ``(n, infomap_k)``), links while
      ``1 - sim <= 1 - min_sim``, librlcc's two-level Infomap search
      (``seed``, default Infomap's 123; ``trials``), clusters of at most
      ``cluster_num`` members are outliers (Cluster Contrast keeps them as
      -1: ``outliers="keep"``). See :func:`infomap_pseudo_labels`.
    - ``"kmeans"`` (OpenUnReID): ``n_clusters`` centroids from faiss's start
      rows (``seed``, default faiss's 1234; above ``n_clusters x
      max_points_per_centroid`` rows trained on faiss's subset) or from
      ``init`` (``(n_clusters, d)``), ``max_iter`` Lloyd steps, ``tol`` (0:
      run until the labels repeat). See :func:`kmeans`.

    The DBSCAN-only arguments (eps, metric, k1, k2, ...) are ignored by the
    other methods; ``reliability`` must stay off for them.
    ``max_bytes`` bounds the whole call, Jaccard graph and DBSCAN together
    (0: half of physical memory); the centroids are a second call under
    the same bound."""
    array = as_float32_matrix(X, "X")
    n, d = array.shape
    opts = _pseudo_options(eps, min_samples, metric, k1, k2, variant, cutoff, outliers,
                           reliability, guard, threshold, n_threads, normalize,
                           max_bytes=max_bytes, method=method, infomap_k=infomap_k,
                           min_sim=min_sim, cluster_num=cluster_num, seed=seed, trials=trials,
                           n_clusters=n_clusters, max_iter=max_iter, tol=tol,
                           max_points_per_centroid=max_points_per_centroid)
    lists = None if knn is None else _knn_lists(knn, n, _knn_width(opts))
    opts.knn = None if lists is None else lists.ctypes.data
    start = None
    if init is not None:
        if method != "kmeans":
            raise native.invalid("init: only method='kmeans' reads start centroids")
        start = as_float32_matrix(init, "init")
        if start.shape != (opts.kmeans_k, d) or not start.flags.c_contiguous:
            if start.shape != (opts.kmeans_k, d):
                raise native.invalid(f"init: shape {start.shape} must be (n_clusters, d) = "
                                     f"{(opts.kmeans_k, d)}")
            start = np.ascontiguousarray(start)
        opts.kmeans_init = start.ctypes.data
    labels = np.empty(n, dtype=np.int32)
    n_classes = ctypes.c_int64(0)
    used = ctypes.c_double(0)
    native.check(native.lib.rlcc_pseudo_labels(
        native.pointer(array, ctypes.c_float), n, d, leading_dimension(array),
        ctypes.byref(opts), native.pointer(labels, ctypes.c_int32), ctypes.byref(n_classes),
        ctypes.byref(used)))
    return PseudoLabels(labels, int(n_classes.value), float(used.value),
                        centroids(array, labels, int(n_classes.value), n_threads=int(n_threads),
                                  max_bytes=opts.max_bytes))


def _knn_width(pseudo) -> int:
    """The width of the kNN lists a method reads (rlcc__pseudo_knn_width):
    k1 for DBSCAN on the Jaccard distance, infomap_k for InfoMap, else 0
    (the library then refuses lists with its own message)."""
    if pseudo.method == _METHODS["infomap"]:
        return int(pseudo.infomap_k)
    return int(pseudo.k1)


def consensus(prev: Any, cur: Any, kind: str = "iou", normalize: Optional[str] = "sum",
              sparse: bool = False, n_prev: Optional[int] = None,
              n_cur: Optional[int] = None, n_threads: int = 0,
              max_bytes: int = 0) -> Union[np.ndarray, sp.csr_matrix]:
    """The consensus matrix between two labelings of the same samples:
    IoU (or overlap counts) of every previous class with every current one,
    row-normalised by ``"sum"`` (zero rows stay zero), ``"softmax"`` (dense
    only) or not at all (``None``). -1 samples take no part. Class counts
    default to max label + 1. ``kind="count"`` with ``normalize=None`` and
    ``sparse=False`` gives exact int64 counts. ``max_bytes`` bounds the
    call's working memory (about 8 n + 8 (K_prev + K_cur) bytes, plus a
    sparse result while it is built); ``n_threads`` is accepted for a later
    release (the consensus runs on the calling thread in 1.4)."""
    opts = _resources(native.ConsensusOptions, native.lib.rlcc_consensus_options_init,
                      n_threads, max_bytes)
    prev, cur = _labels(prev, "prev"), _labels(cur, "cur")
    if prev.shape != cur.shape:
        raise native.invalid(f"prev and cur: lengths {prev.shape[0]} and {cur.shape[0]} differ")
    opts.kind = kind_code = _choice(_KINDS, kind, "kind")
    opts.normalize = norm_code = _choice(_NORMALIZE, normalize, "normalize")
    n = prev.shape[0]
    k_prev = native.int_argument(n_prev, "n_prev") if n_prev is not None else \
        int(prev.max() + 1 if n else 0)
    k_cur = native.int_argument(n_cur, "n_cur") if n_cur is not None else \
        int(cur.max() + 1 if n else 0)
    if k_prev < 0 or k_cur < 0:
        raise native.invalid("n_prev and n_cur: must not be negative")
    args = (native.pointer(prev, ctypes.c_int32), native.pointer(cur, ctypes.c_int32), n,
            max(k_prev, 0), max(k_cur, 0))
    if sparse:
        import scipy.sparse as sp

        from ._jaccard import _CsrOwner, _view

        handle = ctypes.c_void_p()
        native.check(native.lib.rlcc_consensus_csr_opts(*args, ctypes.byref(opts),
                                                        ctypes.byref(handle)))
        owner = _CsrOwner(handle.value)
        nnz = native.lib.rlcc_csr_nnz(handle)
        rows = native.lib.rlcc_csr_rows(handle)
        matrix = sp.csr_matrix(
            (_view(native.lib.rlcc_csr_data(handle), nnz, ctypes.c_float, np.float32, owner),
             _view(native.lib.rlcc_csr_indices(handle), nnz, ctypes.c_int32, np.int32, owner),
             _view(native.lib.rlcc_csr_indptr(handle), rows + 1, ctypes.c_int64, np.int64, owner)),
            shape=(rows, native.lib.rlcc_csr_cols(handle)), copy=False)
        matrix._rlcc_owner = owner
        return matrix
    if kind == "count" and normalize is None:
        out = np.zeros((k_prev, k_cur), dtype=np.int64)
        native.check(native.lib.rlcc_consensus_counts_opts(
            *args, ctypes.byref(opts), native.pointer_to(out, ctypes.c_int64), max(k_cur, 1)))
        return out
    out = np.zeros((k_prev, k_cur), dtype=np.float32)
    native.check(native.lib.rlcc_consensus_opts(*args, ctypes.byref(opts),
                                                native.pointer_to(out, ctypes.c_float),
                                                max(k_cur, 1)))
    return out


def class_probabilities(X: Any, centroids: Any, scale: float = 30.0, rows: Any = None,
                        n_threads: int = 0, max_bytes: int = 0) -> np.ndarray:
    """``softmax(scale * X * centroids^T)`` row by row (float32), for every
    sample or for the sample indices ``rows`` (only those rows are read).
    ``max_bytes`` bounds the call's working memory (with ``rows``, the
    ``len(rows) x d`` rows gathered)."""
    opts = _resources(native.ProbabilityOptions, native.lib.rlcc_probability_options_init,
                      int(n_threads), max_bytes)
    opts.scale = float(scale)
    array = as_float32_matrix(X, "X")
    cents = as_float32_matrix(centroids, "centroids")
    if cents.shape[1] != array.shape[1]:
        raise native.invalid(f"centroids: dimension {cents.shape[1]} differs from the "
                             f"features' {array.shape[1]}")
    picked = _rows(rows)
    n_rows = array.shape[0] if picked is None else picked.shape[0]
    k = cents.shape[0]
    out = np.empty((n_rows, k), dtype=np.float32)
    native.check(native.lib.rlcc_class_probabilities_opts(
        native.pointer(array, ctypes.c_float), array.shape[0], array.shape[1],
        leading_dimension(array), native.pointer(cents, ctypes.c_float), k,
        leading_dimension(cents), _rows_pointer(picked), n_rows, ctypes.byref(opts),
        native.pointer(out, ctypes.c_float), max(k, 1)))
    return out


def _rows(rows: Any) -> Optional[np.ndarray]:
    """Sample indices as int64 (None: every sample)."""
    if rows is None:
        return None
    array = native.as_array(rows, "rows")
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise native.invalid("rows: expected a 1-D integer array of sample indices")
    return native.index_copy(array, "rows", "int64")


def _csr_arrays(C: Any):
    import scipy.sparse as sp

    matrix = sp.csr_matrix(C if sp.issparse(C) else native.as_array(C, "C"), dtype=np.float32)
    return (matrix.shape, *native.csr_parts(matrix, "C"))


def propagate(prev: Any, C: Any, prev_labels: Any = None, w: float = 0.0,
              beta: float = 0.0, rows: Any = None, n_threads: int = 0,
              max_bytes: int = 0) -> np.ndarray:
    """Propagates the previous generation through the normalised consensus
    matrix ``C`` (dense or sparse, ``K_prev x K_cur``).

    ``prev`` an integer vector: the hard propagation ``C[prev]`` (-1 gives a
    zero row). ``prev`` a float matrix P: the soft one,
    ``(w onehot(prev_labels) + (1 - w) P) C``, mixed with the hard one of
    ``prev_labels`` as ``beta * hard + (1 - beta) * soft``.

    ``rows`` (sample indices) asks for those samples only, e.g. one
    mini-batch: the label vectors still cover every sample, P has one row
    per entry of ``rows``, and so has the result.

    Rows are independent: the same bytes for every ``n_threads``.
    ``max_bytes`` is checked, and propagation allocates nothing in 1.4."""
    opts = _resources(native.PropagateOptions, native.lib.rlcc_propagate_options_init,
                      n_threads, max_bytes)
    (k_prev, k_cur), indptr, indices, data = _csr_arrays(C)
    picked = _rows(rows)
    candidate = native.as_array(prev, "prev")
    if candidate.ndim == 1:
        labels, probs, beta_used, w_used = _labels(candidate, "prev"), None, 1.0, 0.0
    else:
        probs = native.c_order(candidate, np.float32)
        if probs.ndim != 2 or probs.shape[1] != k_prev:
            raise native.invalid(f"prev: shape {probs.shape} must be (n, K_prev = {k_prev})")
        if prev_labels is None:
            if w != 0 or beta != 0:
                raise native.invalid("prev_labels: needed when w or beta is not 0")
            if picked is not None:
                raise native.invalid("prev_labels: needed with rows (it gives the sample count)")
            labels = np.full(probs.shape[0], -1, dtype=np.int32)
        else:
            labels = _labels(prev_labels, "prev_labels")
        n_rows = labels.shape[0] if picked is None else picked.shape[0]
        if probs.shape[0] != n_rows:
            raise native.invalid(f"prev: {probs.shape[0]} rows of probabilities for {n_rows} "
                                 "samples")
        beta_used, w_used = float(beta), float(w)
    n = labels.shape[0]
    n_rows = n if picked is None else picked.shape[0]
    out = np.empty((n_rows, k_cur), dtype=np.float32)
    opts.w, opts.beta = w_used, beta_used
    native.check(native.lib.rlcc_propagate_opts(
        native.pointer(labels, ctypes.c_int32), n, native.pointer(indptr, ctypes.c_int64),
        native.pointer(indices, ctypes.c_int32), native.pointer(data, ctypes.c_float), k_prev,
        k_cur, native.pointer(probs, ctypes.c_float), max(k_prev, 1), _rows_pointer(picked),
        n_rows, ctypes.byref(opts), native.pointer(out, ctypes.c_float), max(k_cur, 1)))
    return out


def _rows_pointer(picked: Optional[np.ndarray]):
    """The C form of a sample list: NULL for every sample; an empty list is
    a valid pointer with no rows, not NULL."""
    return None if picked is None else native.pointer_to(picked, ctypes.c_int64)


def blend(cur_labels: Any, S: Any, alpha: float = 0.9, rows: Any = None, n_threads: int = 0,
          max_bytes: int = 0) -> np.ndarray:
    """Training targets ``alpha * onehot(cur) + (1 - alpha) * S``; a sample
    labelled -1 gets a zero row. With ``rows`` (sample indices, e.g. one
    mini-batch) ``S`` has one row per entry of ``rows``, and so has the
    result; ``cur_labels`` still covers every sample. The same bytes for
    every ``n_threads``; ``max_bytes`` is checked, and blending allocates
    nothing in 1.4."""
    opts = _resources(native.BlendOptions, native.lib.rlcc_blend_options_init, n_threads,
                      max_bytes)
    opts.alpha = float(alpha)
    labels = _labels(cur_labels, "cur_labels")
    picked = _rows(rows)
    n_rows = labels.shape[0] if picked is None else picked.shape[0]
    s = native.c_order(native.as_array(S, "S"), np.float32)
    if s.ndim != 2 or s.shape[0] != n_rows:
        raise native.invalid(f"S: shape {s.shape} must be (rows = {n_rows}, K_cur)")
    out = np.empty_like(s)
    k = s.shape[1]
    native.check(native.lib.rlcc_blend_opts(native.pointer(labels, ctypes.c_int32),
                                            labels.shape[0], k, native.pointer(s, ctypes.c_float),
                                            max(k, 1), _rows_pointer(picked), n_rows,
                                            ctypes.byref(opts),
                                            native.pointer(out, ctypes.c_float), max(k, 1)))
    return out


@contextlib.contextmanager
def _sigint_cancels(interrupted: list):
    """During a refiner step, Ctrl-C records itself instead of raising:
    Python runs signal handlers on entry to the next callback, before any
    try block of the callback could catch a KeyboardInterrupt, and ctypes
    would drop it. The progress report then cancels the step. Installed
    only on the main thread and only over Python's default handler, so a
    caller's own SIGINT handler is left alone."""
    replace = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum)) \
        if replace else None
    try:
        yield
    finally:
        if replace:
            signal.signal(signal.SIGINT, previous)


class Refiner:
    """RLCC across generations: ``step()`` once per epoch with the features
    (an array, or a callable ``f(start, count) -> array`` of those rows),
    then ``targets(indices)`` for each mini-batch.

    An array is read by librlcc in place (``rlcc_refiner_step_matrix``);
    when later targets need the features (``beta < 1``, no logits), the
    refiner keeps a copy of them, or with ``step(x, borrow=True)`` a
    reference to ``x`` itself instead (then ``x`` must not be modified until
    the next step succeeds or the refiner is freed).

    ``max_bytes`` (0: half of physical memory) is the refiner's budget:
    everything it holds between steps (``bytes()``) plus what a step
    allocates while it runs; ``step(max_bytes=)`` overrides it for a step.

    A Python exception raised in a callback stops the step and is raised
    again, as itself, from ``step()``. Ctrl-C during a step (on the main
    thread) cancels it through the progress callback: the library stops
    with RLCC_E_CANCELED at its next report and ``step()`` raises
    KeyboardInterrupt. The refiner is left as it was on any error (a Ctrl-C
    after the step's last report finds it complete: KeyboardInterrupt is
    raised after it).

    ``state_dict()`` / ``load_state_dict()`` checkpoint it (librlcc's
    ``rlcc_refiner_save`` / ``rlcc_refiner_load``: bytes and plain numbers,
    so ``torch.save`` and ``pickle`` store them); ``pickle``,
    ``copy.deepcopy`` and ``copy.copy`` go through them and give an
    independent refiner. Callbacks are not state: every ``step()`` takes
    them from the caller, a restored refiner's too."""

    def __init__(self, eps=(0.58, 0.6, 0.62), min_samples=4, metric="jaccard", k1=30, k2=6,
                 variant="dot", cutoff=0.9, outliers="singleton", reliability=None, guard=True,
                 threshold=None, n_threads=0, normalize=False, alpha=0.9, w=0.9, beta=0.0,
                 scale=30.0, batch=1024, method="dbscan", max_bytes=0, infomap_k=15,
                 min_sim=0.5, cluster_num=4, seed=None, trials=1, n_clusters=500,
                 max_iter=300, tol=0.0, max_points_per_centroid=256):
        self._pseudo = _pseudo_options(eps, min_samples, metric, k1, k2, variant, cutoff,
                                       outliers, reliability, guard, threshold, n_threads,
                                       normalize, max_bytes=max_bytes, method=method,
                                       infomap_k=infomap_k, min_sim=min_sim,
                                       cluster_num=cluster_num, seed=seed, trials=trials,
                                       n_clusters=n_clusters, max_iter=max_iter, tol=tol,
                                       max_points_per_centroid=max_points_per_centroid)
        self._options = native.init_struct(native.RefinerOptions,
                                           native.lib.rlcc_refiner_options_init)
        self._options.alpha, self._options.w = float(alpha), float(w)
        self._options.beta, self._options.scale = float(beta), float(scale)
        self._batch = native.int_argument(batch, "batch")
        self._handle = None
        self._shape = None
        self._pending_knn = None
        # the array a borrowing step lent librlcc: held until a later step
        # succeeds (librlcc then drops the pointer) or the refiner is freed
        self._borrowed = None
        self._init_guard()

    def _init_guard(self):
        # calls on the handle in flight: load_state_dict() replaces (and
        # frees) the handle only when there are none
        self._guard = threading.Lock()
        self._users = 0
        # held by a step for its whole length, and by generation() while it
        # reads the class count and then the centroids: a step from another
        # thread in between would change the count under the buffer sized by
        # it (rlcc_refiner_centroids takes no row capacity). Re-entrant, so
        # the step's own callbacks get the library's "in use" answer.
        self._stepping = threading.RLock()

    @contextlib.contextmanager
    def _use(self):
        """Marks a call on the library handle, so that load_state_dict()
        cannot free the handle under it."""
        with self._guard:
            self._users += 1
        try:
            yield
        finally:
            with self._guard:
                self._users -= 1

    def _replace(self, handle, shape, pseudo, options, batch, knn):
        """Swaps in a new state (handle may be None: before the first step),
        freeing the old handle; refused while a call uses it."""
        with self._guard:
            if self._users:
                if handle is not None:
                    native.lib.rlcc_refiner_free(handle)
                raise native.invalid("refiner: in use by another call (load_state_dict "
                                     "replaces the state only when no call runs)")
            old = self._handle
            self._handle, self._shape = handle, shape
            self._pseudo, self._options, self._batch = pseudo, options, batch
            self._pending_knn = knn
            if old:
                native.lib.rlcc_refiner_free(old)
            self._borrowed = None  # librlcc no longer points into a borrowed array

    def __del__(self):
        if getattr(self, "_handle", None):
            native.lib.rlcc_refiner_free(self._handle)
            self._handle = None
        self._borrowed = None  # only once librlcc no longer points into it

    def _ensure(self, n, d, what="features: shape"):
        if self._handle is None:
            handle = ctypes.c_void_p()
            native.check(native.lib.rlcc_refiner_new(n, d, ctypes.byref(self._pseudo),
                                                     ctypes.byref(self._options),
                                                     ctypes.byref(handle)))
            self._handle, self._shape = handle.value, (n, d)
        elif self._shape != (n, d):
            raise native.invalid(f"{what} {(n, d)} differs from the first step's "
                                 f"{self._shape}")

    def set_knn(self, knn: Optional[Any]) -> None:
        """The ``(n, k1)`` neighbour lists of the features the next step reads
        (Jaccard only; e.g. from faiss on a GPU, or ``rlcc.KnnState`` across
        machines). Copied; used by the next step that succeeds, then
        dropped; checked by that step (a bad list fails it and changes
        nothing). None drops lists set before."""
        with self._use():
            self._set_knn(knn)

    def _set_knn(self, knn: Optional[Any]) -> None:
        if knn is None:
            self._pending_knn = None
            if self._handle is not None:
                native.check(native.lib.rlcc_refiner_set_knn(self._handle, None))
            return
        lists = native.as_array(knn, "knn")
        if lists.ndim != 2:
            raise native.invalid(f"knn: shape {lists.shape} must be (n, k1)")
        lists = _knn_lists(lists, lists.shape[0], _knn_width(self._pseudo))
        if self._handle is None:  # the refiner is made at the first step
            self._pending_knn = lists
            return
        if lists.shape[0] != self._shape[0]:
            raise native.invalid(f"knn: {lists.shape[0]} rows; the refiner has {self._shape[0]}")
        native.check(native.lib.rlcc_refiner_set_knn(self._handle, native.pointer(lists, ctypes.c_int64)))

    def step(self, features: Union[np.ndarray, Callable[[int, int], Any]], n: Optional[int] = None,
             d: Optional[int] = None, logits: Optional[Callable[[int, int], Any]] = None,
             progress: Optional[Callable[[int, float], Any]] = None,
             knn: Optional[Any] = None, borrow: bool = False, n_threads: int = 0,
             max_bytes: int = 0) -> Generation:
        """One generation. ``features`` is an ``(n, d)`` array (read in place
        by librlcc) or a callable returning rows ``[start, start + count)``
        (then give ``n`` and ``d``). ``logits(start, count)`` optionally
        returns the previous model's class logits for those rows;
        ``progress(stage, fraction)`` may return True to cancel; ``knn``
        gives this step's neighbour lists (as ``set_knn``; a failed step
        drops them).

        ``borrow=True`` (an array only, float32 with contiguous rows, as it
        is, no conversion): the refiner keeps a reference to the array
        instead of a copy of it, so it stays alive until the next step
        succeeds or the refiner is freed; the caller must not modify it in
        that time (later targets read it). ``borrow=False`` (default):
        librlcc copies what later targets read.

        ``n_threads`` (0: the refiner's) and ``max_bytes`` (0: the refiner's
        budget; else a bound on what the refiner holds plus what the step
        allocates) hold for this step only."""
        if not isinstance(borrow, (bool, np.bool_)):
            raise native.invalid(f"borrow: {borrow!r} is not True or False")
        opts = _resources(native.StepOptions, native.lib.rlcc_step_options_init, n_threads,
                          max_bytes)
        opts.batch = self._batch
        opts.borrow = int(bool(borrow))
        if callable(features):
            if n is None or d is None:
                raise native.invalid("n and d: needed when features is a callable")
            array = None
        else:
            given = native.as_array(features, "features")
            array = as_float32_matrix(given, "features")
            if borrow and array is not given:
                raise native.invalid(
                    f"features: borrow=True lends librlcc the array itself, but this one "
                    f"({given.dtype}, shape {given.shape}, strides {given.strides}) would be "
                    "converted to a copy first; pass a float32 array whose rows are "
                    "contiguous (np.ascontiguousarray(x, dtype=np.float32)) and keep it")
            n, d = array.shape
        with self._stepping, self._use():
            self._ensure(native.int_argument(n, "n"), native.int_argument(d, "d"))
            if self._pending_knn is not None:
                pending, self._pending_knn = self._pending_knn, None
                self._set_knn(pending)
            if knn is not None:
                self._set_knn(knn)
            try:
                self._step(features if array is None else None, array, self._shape[1], logits,
                           progress, opts)
            except BaseException:
                if knn is not None:  # this step's lists are not the next one's
                    native.lib.rlcc_refiner_set_knn(self._handle, None)
                raise
            # the step succeeded: librlcc holds a pointer into this array now
            # (borrowing), or no longer into the one an earlier step lent it
            self._borrowed = array if borrow else None
            return self._generation()

    def _step(self, source, array, d, logits, progress, opts, call=None) -> None:
        """The step itself: the matrix in place (``array``), the ``source``
        callback in batches of ``opts.batch`` rows, or ``call(opts)`` (the
        library call of a step that reads no features: step_labels)."""
        raised, interrupted = [], []

        def fill(start, count, rows, ld, _):
            try:
                block = native.as_array(source(start, count), "features").astype(np.float32, copy=False)
                if block.shape != (count, d):
                    raise native.invalid(f"features callback: rows of shape {block.shape}, "
                                         f"expected {(count, d)}")
                target = np.ctypeslib.as_array(rows, shape=(count, ld))
                target[:, :d] = block
                return count
            except KeyboardInterrupt:
                # Ctrl-C under a handler of the caller's that raises: cancel
                # through the progress report that follows this batch (these
                # rows are discarded with the canceled step).
                interrupted.append(signal.SIGINT)
                return count
            except BaseException as error:  # re-raised by step()
                raised.append(error)
                return -1

        def fill_logits(start, count, k_prev, rows, ld, _):
            try:
                block = native.as_array(logits(start, count), "logits").astype(np.float32, copy=False)
                if block.shape != (count, k_prev):  # no broadcasting of (count, 1)
                    raise native.invalid(f"logits callback: rows of shape {block.shape}, "
                                         f"expected {(count, k_prev)}")
                np.ctypeslib.as_array(rows, shape=(count, ld))[:, :k_prev] = block
                return count
            except BaseException as error:
                raised.append(error)
                return -1

        def report(stage, fraction, _):
            try:
                if interrupted:  # Ctrl-C: cancel now
                    return 1
                return int(bool(progress(stage, fraction))) if progress else 0
            except BaseException as error:  # KeyboardInterrupt too: cancel
                raised.append(error)
                return 1

        keep = (native.FEATURES_FN(fill) if source is not None else None,
                native.LOGITS_FN(fill_logits) if logits else native.LOGITS_FN(),
                native.PROGRESS_FN(report))
        opts.logits, opts.progress = keep[1], keep[2]
        with _sigint_cancels(interrupted):
            if call is not None:
                code = call(opts)
            elif array is not None:
                code = native.lib.rlcc_refiner_step_matrix(
                    self._handle, native.pointer(array, ctypes.c_float),
                    leading_dimension(array), ctypes.byref(opts))
            else:
                code = native.lib.rlcc_refiner_step_opts(self._handle, keep[0], None,
                                                         ctypes.byref(opts))
        if interrupted:
            raise KeyboardInterrupt
        if raised:
            raise raised[0]
        native.check(code)

    def step_labels(self, labels: Any, n_classes: int, centroids: Any, threshold: float,
                    logits: Optional[Callable[[int, int], Any]] = None,
                    progress: Optional[Callable[[int, float], Any]] = None,
                    n_threads: int = 0, max_bytes: int = 0) -> Generation:
        """One generation from pseudo labels and centroids the caller
        computed (librlcc 1.8's ``rlcc_refiner_step_labels``): e.g. those of
        :func:`rlcc.distributed.pseudo_labels`, or of :func:`pseudo_labels`
        and :func:`centroids` somewhere else. Everything ``step()`` does after
        it has clustered (the consensus with the previous generation, the
        ``logits`` probabilities), but no features are read and none are
        kept. Given the labels, centroids and threshold ``step(x)`` would
        compute, the refiner's state (labels, centroids, threshold,
        consensus and every target) is the one ``step(x)`` leaves, bit for
        bit.

        ``labels``: ``n`` integers in ``[-1, n_classes)``, as
        :func:`pseudo_labels` leaves them with this refiner's options (no -1
        under ``outliers="singleton"``, no empty class unless
        ``reliability`` runs with ``guard=False``); ``centroids``:
        ``(n_classes, d)`` float32, finite unit rows or zero rows
        (:func:`centroids` of the features); both copied. ``threshold``: the
        reliability threshold the labels were made with: at the first step
        the one :func:`pseudo_labels` returned, at every later one this
        refiner's (``generation().threshold``; it keeps the first step's).
        The first step, ``step()`` or ``step_labels()``, fixes ``n`` and
        ``d``. ``logits``, ``progress``, ``n_threads`` and ``max_bytes`` as
        in ``step()``; kNN lists given to ``set_knn`` are dropped, as a step
        drops them.

        From the second step on, with ``beta < 1`` and no ``logits``, the
        targets read the features of the step, which this refiner does not
        have: ``targets()`` then refuses, and :meth:`targets_rows` takes the
        batch's feature rows from the caller. Refused input (labels out of
        range, a wrong threshold, shapes) raises ``InvalidArgument`` and
        leaves the refiner as it was."""
        native.require_refiner_labels("Refiner.step_labels")
        opts = _resources(native.StepOptions, native.lib.rlcc_step_options_init, n_threads,
                          max_bytes)
        opts.batch = self._batch
        picked = _labels(labels, "labels")
        k = native.integer(n_classes, "n_classes")
        cents = as_float32_matrix(centroids, "centroids")
        if cents.shape[0] != k:
            raise native.invalid(f"centroids: {cents.shape[0]} rows for n_classes = {k}")
        if isinstance(threshold, (bool, np.bool_)) or not isinstance(
                threshold, (int, float, np.integer, np.floating)):
            raise native.invalid(f"threshold: {threshold!r} is not a number")
        value = float(threshold)
        n, d = picked.shape[0], cents.shape[1]
        with self._stepping, self._use():
            self._ensure(n, d, "labels and centroids: (n, d) =")

            def call(step_opts):
                return native.lib.rlcc_refiner_step_labels(
                    self._handle, native.pointer_to(picked, ctypes.c_int32), k,
                    native.pointer_to(cents, ctypes.c_float), leading_dimension(cents), value,
                    ctypes.byref(step_opts))

            self._step(None, None, d, logits, progress, opts, call)
            # librlcc no longer points into an array lent before, and it has
            # dropped kNN lists set for a step, as any step drops them
            self._borrowed = self._pending_knn = None
            return self._generation()

    def generation(self) -> Generation:
        """The latest generation's results."""
        if self._handle is None:
            raise native.invalid("refiner: no generation yet (call step)")
        with self._use():
            return self._generation()

    def _generation(self) -> Generation:
        if not self._stepping.acquire(blocking=False):
            raise native.invalid("refiner: in use by another call (a step excludes every other "
                                 "call on the same handle)")
        try:
            return self._read_generation()
        finally:
            self._stepping.release()

    def _read_generation(self) -> Generation:
        lib = native.lib
        n, d = self._shape
        k = lib.rlcc_refiner_n_classes(self._handle)
        labels = np.empty(n, dtype=np.int32)
        native.check(lib.rlcc_refiner_labels(self._handle, native.pointer(labels, ctypes.c_int32)))
        cents = np.empty((k, d), dtype=np.float32)
        native.check(lib.rlcc_refiner_centroids(self._handle, native.pointer(cents, ctypes.c_float), d))
        return Generation(labels, int(k), float(lib.rlcc_refiner_threshold(self._handle)), cents,
                          int(lib.rlcc_refiner_generation(self._handle)))

    def bytes(self) -> int:
        """Bytes the refiner holds in librlcc now, all charged to its budget
        (the formula at ``rlcc_refiner_new`` in rlcc.h): labels, centroids
        and the consensus of two generations, the features later targets
        read when they are copied (``beta < 1``, no logits, not borrowed),
        kNN lists set for the next step. 0 before the first step (the
        refiner is made by it); -1 while a step runs on another thread."""
        with self._use():
            if self._handle is None:
                return 0
            return int(native.lib.rlcc_refiner_bytes(self._handle))

    def targets(self, indices: Any = None, n_threads: int = 0, max_bytes: int = 0) -> np.ndarray:
        """Training targets (float32, ``len(indices) x n_classes``) of the
        latest generation for the given sample indices (all when None).
        ``n_threads`` (0: the refiner's) and ``max_bytes`` (the call's working
        memory, about ``len(indices) x (K_prev + d)`` floats; 0: half of
        physical memory) hold for this call."""
        opts = _resources(native.TargetsOptions, native.lib.rlcc_targets_options_init,
                          n_threads, max_bytes)
        with self._use():
            if self._handle is None:
                raise native.invalid("refiner: no generation yet (call step)")
            lib = native.lib
            # -1 while a step runs (from this step's own callback too): the
            # library then refuses the call as in use, with no rows to write
            k = max(lib.rlcc_refiner_n_classes(self._handle), 0)
            picked = _rows(indices)
            n_rows = self._shape[0] if picked is None else picked.shape[0]
            out = np.empty((n_rows, k), dtype=np.float32)
            native.check(lib.rlcc_refiner_targets_opts(self._handle, _rows_pointer(picked), n_rows,
                                                       ctypes.byref(opts),
                                                       native.pointer_to(out, ctypes.c_float),
                                                       max(k, 1)))  # an empty batch has an output too
            return out

    def targets_rows(self, indices: Any, x: Any, n_threads: int = 0,
                     max_bytes: int = 0) -> np.ndarray:
        """:meth:`targets` with the batch's features given by the caller
        (librlcc 1.8's ``rlcc_refiner_targets_rows``), for a refiner stepped
        by :meth:`step_labels`, which keeps no features: row ``q`` of ``x``
        (``len(indices) x d``) holds the features, as the latest step saw
        them, of sample ``indices[q]`` (``indices`` None: every sample in
        order, ``x`` then ``n x d``). The same bytes as ``targets(indices)``
        of a refiner that kept those features.

        ``x`` is read only when the targets read features (from the second
        step on, ``beta < 1``, no logits); otherwise it may be None. When it
        is given, its shape is checked either way."""
        native.require_refiner_labels("Refiner.targets_rows")
        opts = _resources(native.TargetsOptions, native.lib.rlcc_targets_options_init,
                          n_threads, max_bytes)
        picked = _rows(indices)
        rows = None if x is None else as_float32_matrix(x, "x")
        with self._use():
            if self._handle is None:
                raise native.invalid("refiner: no generation yet (call step)")
            lib = native.lib
            n, d = self._shape
            k = max(lib.rlcc_refiner_n_classes(self._handle), 0)  # -1 during a step
            n_rows = n if picked is None else picked.shape[0]
            if rows is not None and rows.shape != (n_rows, d):
                raise native.invalid(f"x: shape {rows.shape} must be (len(indices), d) = "
                                     f"{(n_rows, d)}")
            out = np.empty((n_rows, k), dtype=np.float32)
            native.check(lib.rlcc_refiner_targets_rows(
                self._handle, _rows_pointer(picked), n_rows,
                None if rows is None else native.pointer_to(rows, ctypes.c_float),
                d if rows is None else leading_dimension(rows), ctypes.byref(opts),
                native.pointer_to(out, ctypes.c_float), max(k, 1)))
            return out

    # ---- checkpoints (1.6: rlcc_refiner_save / rlcc_refiner_load) --------------

    def state_dict(self) -> dict:
        """The refiner's state as plain Python values, for ``torch.save``,
        ``pickle`` or any store of bytes and numbers::

            {"format": 1,            # RLCC_STATE_FORMAT of "state"
             "librlcc": "1.8.0",     # the library that wrote it
             "state": b"...",        # rlcc_refiner_save(); None before the first step
             "batch": 1024}          # rows per features callback call

        ``state`` holds everything the next step and the current targets
        read (docs/stability.md, "Checkpoint format"): options, labels and
        centroids of two generations, the logits' probabilities or the
        features the targets read (borrowed ones too: they are copied into
        it), kNN lists set for the next step. Before the first step there is
        no library refiner yet, and the dict holds instead ``"options"``
        (the constructor's options as numbers) and ``"knn"`` (lists given
        to ``set_knn``, as little-endian int64 bytes with ``"knn_shape"``,
        or None). A step running on another thread makes it raise
        ``InvalidArgument`` (in use)."""
        # a state is written in the oldest format that holds it (rlcc.h)
        fmt = 1 if self._pseudo.method == _METHODS["dbscan"] else native.STATE_FORMAT
        out = {"format": fmt, "librlcc": native.library_version(),
               "state": None, "batch": self._batch}
        with self._use():
            if self._handle is not None:
                out["state"] = _saved_state(self._handle)
                out["format"] = struct.unpack_from("<I", out["state"], 8)[0]
                return out
        out["options"] = {name: _plain(getattr(self._pseudo, name))
                          for name, _ in native.PseudoOptions._fields_ if name not in _NOT_STATE}
        out["options"].update({name: float(getattr(self._options, name))
                               for name, _ in native.RefinerOptions._fields_
                               if name != "struct_size"})
        knn = self._pending_knn
        out["knn"] = None if knn is None else np.ascontiguousarray(knn, dtype="<i8").tobytes()
        out["knn_shape"] = None if knn is None else [int(knn.shape[0]), int(knn.shape[1])]
        return out

    def load_state_dict(self, state_dict: Mapping, n_threads: int = 0, max_bytes: int = 0) -> None:
        """Replaces this refiner's state by one from ``state_dict()`` (of
        this or an earlier rlcc): labels, centroids, threshold, targets and
        every later step are then those of the refiner that was saved, bit
        for bit. Everything is checked first (``rlcc_refiner_load``: a
        truncated, corrupted or foreign state raises ``InvalidArgument``
        naming what is wrong) and the refiner is unchanged on any error.
        Features that were borrowed are now the refiner's own copy.
        ``n_threads`` and ``max_bytes`` hold for this call (``max_bytes``:
        the new library refiner's arrays plus the call's working memory; 0:
        the saved refiner's budget)."""
        if not isinstance(state_dict, Mapping):
            raise native.invalid(f"state_dict: a {type(state_dict).__name__}, not a mapping "
                                 "from Refiner.state_dict()")
        for key in ("format", "state", "batch"):
            if key not in state_dict:
                raise native.invalid(f"state_dict: no {key!r} entry (not from Refiner.state_dict())")
        fmt = native.integer(state_dict["format"], "state_dict['format']", "int32")
        if not 1 <= fmt <= native.STATE_FORMAT:
            raise native.invalid(f"state_dict: format {fmt}, written by rlcc "
                                 f"{state_dict.get('librlcc', '?')}; this rlcc reads formats 1 to "
                                 f"{native.STATE_FORMAT}")
        batch = native.integer(state_dict["batch"], "state_dict['batch']")
        if batch < 1:
            raise native.invalid(f"state_dict: batch {batch} must be >= 1")
        state = state_dict["state"]
        if state is None:
            self._load_options(state_dict, batch)
            return
        if not isinstance(state, (bytes, bytearray, memoryview)):
            raise native.invalid(f"state_dict: 'state' is a {type(state).__name__}, not bytes")
        state = bytes(state)
        opts = _resources(native.LoadOptions, native.lib.rlcc_load_options_init, n_threads,
                          max_bytes)
        handle = ctypes.c_void_p()
        native.check(native.lib.rlcc_refiner_load(state, len(state), ctypes.byref(opts),
                                                  ctypes.byref(handle)))
        # the library accepted the bytes: their header is the documented one
        if struct.unpack_from("<I", state, 8)[0] != fmt:
            native.lib.rlcc_refiner_free(handle.value)
            raise native.invalid(f"state_dict: format {fmt}, but the state's bytes are format "
                                 f"{struct.unpack_from('<I', state, 8)[0]}")
        pseudo, options, shape = _options_of_state(state)
        # the state holds the library's kNN lists, and its copy of borrowed rows
        self._replace(handle.value, shape, pseudo, options, batch, None)

    def _load_options(self, state_dict: Mapping, batch: int) -> None:
        """A state from before the first step: options (and kNN lists) only."""
        given = state_dict.get("options")
        if not isinstance(given, Mapping):
            raise native.invalid("state_dict: no 'options' mapping for a state without bytes")
        pseudo = native.init_struct(native.PseudoOptions, native.lib.rlcc_pseudo_options_init)
        options = native.init_struct(native.RefinerOptions, native.lib.rlcc_refiner_options_init)
        for struct_, fields in ((pseudo, native.PseudoOptions._fields_),
                                (options, native.RefinerOptions._fields_)):
            for name, ctype in fields:
                if name in _NOT_STATE:
                    continue
                if name not in given and name in _SINCE_1_7:
                    continue  # a state_dict of rlcc 1.6: the 1.7 options keep their defaults
                if name not in given:
                    raise native.invalid(f"state_dict: options has no {name!r}")
                _set_field(struct_, name, ctype, given[name])
        knn = None
        if state_dict.get("knn") is not None:
            shape = state_dict.get("knn_shape")
            data = state_dict["knn"]
            if (not isinstance(data, (bytes, bytearray)) or not isinstance(shape, (list, tuple))
                    or len(shape) != 2):
                raise native.invalid("state_dict: 'knn' must be bytes with a 'knn_shape' of two")
            rows, k1 = (native.integer(v, "state_dict['knn_shape']") for v in shape)
            width = _knn_width(pseudo)
            if rows < 0 or k1 != width or len(data) != 8 * rows * k1:
                raise native.invalid(f"state_dict: 'knn' holds {len(data)} bytes, not {rows} x "
                                     f"{k1} int64 lists (the method's list width is {width})")
            knn = _knn_lists(np.frombuffer(data, dtype="<i8").astype(np.int64).reshape(rows, k1),
                             rows, k1)
        self._replace(None, None, pseudo, options, batch, knn)

    def __getstate__(self) -> dict:
        return self.state_dict()

    def __setstate__(self, state: dict) -> None:
        # pickle made this object without __init__: nothing to free yet
        self._handle, self._shape, self._borrowed, self._pending_knn = None, None, None, None
        self._init_guard()
        self.load_state_dict(state)

    def __deepcopy__(self, memo) -> "Refiner":
        copy = type(self).__new__(type(self))
        copy.__setstate__(self.state_dict())
        return copy

    def __copy__(self) -> "Refiner":
        # a copy that shared the library handle would free it twice: a copy
        # is always a refiner of its own
        return self.__deepcopy__({})


# PseudoOptions fields that are not part of a saved state: the struct's own
# size, the reserved fields, and the per-call kNN pointer (set_knn's lists
# travel separately).
_NOT_STATE = ("struct_size", "reserved", "reserved2", "knn", "kmeans_init")
# PseudoOptions fields a state_dict of rlcc 1.6 does not have.
_SINCE_1_7 = ("infomap_k", "infomap_cluster_num", "infomap_min_sim", "infomap_seed",
              "infomap_trials", "kmeans_max_iter", "kmeans_k", "kmeans_tol", "kmeans_seed",
              "kmeans_max_points")


def _plain(value):
    """A ctypes field as a plain Python value (the eps array as a list)."""
    if isinstance(value, ctypes.Array):
        return [float(v) for v in value]
    return value


def _set_field(target, name, ctype, value):
    """Sets one options field from a plain value, refusing what ctypes would
    convert silently (a float for an int, an int that does not fit)."""
    if name == "eps":
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            raise native.invalid("state_dict: options['eps'] must be a list of three floats")
        for i, v in enumerate(value):
            target.eps[i] = _real(v, "eps")
        return
    if ctype in (ctypes.c_float, ctypes.c_double):
        setattr(target, name, _real(value, name))
    else:
        kind = {ctypes.c_int32: "int32", ctypes.c_uint64: "uint64"}.get(ctype, "int64")
        setattr(target, name, native.integer(value, f"state_dict: options[{name!r}]", kind))


def _real(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise native.invalid(f"state_dict: options[{name!r}] = {value!r} is not a number")
    return float(value)


def _saved_state(handle) -> bytes:
    """rlcc_refiner_save() by its two calls: the size, then the bytes."""
    size = ctypes.c_size_t()
    native.check(native.lib.rlcc_refiner_save(handle, None, 0, ctypes.byref(size)))
    buffer = bytearray(size.value)
    view = (ctypes.c_char * len(buffer)).from_buffer(buffer)
    native.check(native.lib.rlcc_refiner_save(handle, view, len(buffer), ctypes.byref(size)))
    del view  # the bytearray may be converted (and freed) only once no view exports it
    return bytes(buffer)


def _options_of_state(state: bytes):
    """The options and (n, d) of a state the library has accepted, read at
    the offsets docs/stability.md gives ("Checkpoint format", format 1), so
    the Python side (set_knn's k1, the shape checks) agrees with it."""
    n, d = struct.unpack_from("<qq", state, 32)
    options = native.init_struct(native.RefinerOptions, native.lib.rlcc_refiner_options_init)
    options.alpha, options.w, options.beta, options.scale = struct.unpack_from("<4f", state, 80)
    pseudo = native.init_struct(native.PseudoOptions, native.lib.rlcc_pseudo_options_init)
    ints = struct.unpack_from("<10i", state, 96)
    for name, value in zip(("metric", "k1", "k2", "variant", "normalize", "outliers",
                            "reliability", "guard", "n_threads", "n_eps"), ints):
        setattr(pseudo, name, value)
    pseudo.cutoff, pseudo.method = struct.unpack_from("<fi", state, 136)
    for i, e in enumerate(struct.unpack_from("<3d", state, 144)):
        pseudo.eps[i] = e
    pseudo.threshold, pseudo.min_samples, pseudo.max_bytes = struct.unpack_from("<dqq", state, 168)
    if struct.unpack_from("<I", state, 8)[0] >= 2:  # format 2: the 1.7 methods' options
        (pseudo.infomap_k, pseudo.infomap_cluster_num, pseudo.infomap_min_sim,
         pseudo.infomap_seed, pseudo.infomap_trials, pseudo.kmeans_max_iter, pseudo.kmeans_k,
         pseudo.kmeans_tol, pseudo.kmeans_seed,
         pseudo.kmeans_max_points) = struct.unpack_from("<iidQiiqdQq", state, 192)
    return pseudo, options, (int(n), int(d))
