"""``rlcc.infomap_pseudo_labels``, ``rlcc.infomap_links`` and
``rlcc.map_codelength``: Cluster Contrast's InfoMap pseudo labels (kNN
lists, directed links above ``min_sim``, a two-level Infomap partition,
labels by module flow) and the map-equation codelength of any partition."""

from __future__ import annotations

import ctypes
import operator
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from . import _native as native
from ._dbscan import as_float32_matrix, leading_dimension


class InfomapLabels(NamedTuple):
    """The result of :func:`infomap_pseudo_labels`."""

    labels: np.ndarray  #: (n,) int32, classes 0 .. n_classes - 1 and -1
    n_classes: int  #: the number of labels >= 0
    codelength: float  #: the partition's two-level codelength in bits


def _options(k, min_sim, cluster_num, seed, trials, normalize, n_threads, max_bytes):
    opts = native.init_struct(native.InfomapOptions, native.lib.rlcc_infomap_options_init)
    opts.k = native.integer(k, "k", "int32")
    opts.cluster_num = native.integer(cluster_num, "cluster_num", "int32")
    opts.min_sim = float(min_sim)
    if isinstance(seed, bool) or not hasattr(type(seed), "__index__"):
        raise native.invalid(f"seed: {seed!r} is not an integer")
    seed = operator.index(seed)
    if not 0 <= seed < 2**64:
        raise native.invalid(f"seed: {seed} does not fit uint64")
    opts.seed = seed
    opts.trials = native.integer(trials, "trials", "int32")
    opts.normalize = int(bool(normalize))
    opts.n_threads = native.integer(n_threads, "n_threads", "int32")
    opts.max_bytes = native.integer(max_bytes, "max_bytes")
    return opts


def _inputs(x, k, knn, knn_dist):
    """The rows (or None with caller lists) and the lists as private
    copies librlcc can read twice."""
    if knn is None and knn_dist is None:
        array = as_float32_matrix(x, "x")
        return array, array.shape[0], None, None
    if knn is None or knn_dist is None:
        raise native.invalid("knn, knn_dist: give both lists or neither")
    lists = native.as_array(knn, "knn")
    if lists.dtype.kind not in "iu":
        raise native.invalid(f"knn: dtype {lists.dtype} is not an integer type")
    if lists.ndim != 2:
        raise native.invalid(f"knn: expected a 2-D array, got {lists.ndim}-D")
    n = lists.shape[0]
    if lists.shape[1] != k:
        raise native.invalid(f"knn: shape {lists.shape} must be (n, k) = ({n}, {k})")
    dist = native.as_array(knn_dist, "knn_dist")
    if dist.dtype.kind not in "fiu":
        raise native.invalid(f"knn_dist: dtype {dist.dtype} is not a real number type")
    if dist.shape != lists.shape:
        raise native.invalid(f"knn_dist: shape {dist.shape} must equal knn's {lists.shape}")
    dist = np.array(dist, dtype=np.float32, order="C", copy=True)
    array = None
    if x is not None:
        array = as_float32_matrix(x, "x")
        if array.shape[0] != n:
            raise native.invalid(f"x: {array.shape[0]} rows, but knn has {n}")
    return array, n, native.index_copy(lists, "knn", "int64"), dist


def _x_args(array):
    if array is None:
        return None, 1, 1
    return (native.pointer(array, ctypes.c_float), max(array.shape[1], 1),
            leading_dimension(array))


def infomap_pseudo_labels(x: Any, k: int = 15, min_sim: float = 0.5, cluster_num: int = 4,
                          seed: int = 123, trials: int = 1, modules: Optional[Any] = None,
                          knn: Optional[Any] = None, knn_dist: Optional[Any] = None,
                          normalize: bool = False, n_threads: int = 0,
                          max_bytes: int = 0) -> InfomapLabels:
    """Cluster Contrast's InfoMap pseudo labels of the rows of ``x``.

    The kNN lists (``k`` entries, self included; librlcc's exact lists with
    distance ``sqdist / 2``, that is ``1 - sim`` for unit rows, or the
    caller's ``knn`` / ``knn_dist``, e.g. faiss's), the directed links
    ``i -> j`` with weight ``1 - dist`` while ``dist <= 1 - min_sim``, a
    two-level Infomap partition (librlcc's own seeded search, ``trials``
    independent searches, the shortest code wins; or the caller's
    ``modules``, one int >= 0 per sample), then labels: modules by flow
    descending, samples in no link after them; labels with at most
    ``cluster_num`` members become -1, the rest are numbered 0, 1, ...
    ascending.

    ``x`` needs unit rows unless ``normalize`` (a normalised copy is used).
    With ``knn`` given, ``x`` may be None. Returns :class:`InfomapLabels`.

    The search is Infomap 1.x's two-level algorithm written anew (core
    moves, aggregation, fine- and coarse-tuning) with its own generator
    (splitmix64 seeded by ``seed``): the labels depend on the seed only,
    the same for every ``n_threads``, ``max_bytes`` and BLAS, but they are
    not the ``infomap`` package's partition (two runs of that package with
    different seeds differ too); compare codelengths with
    :func:`map_codelength`. Survivors are numbered ascending, where Cluster
    Contrast uses CPython's set order (the same up to large label values).
    """
    k = native.integer(k, "k", "int32")
    opts = _options(k, min_sim, cluster_num, seed, trials, normalize, n_threads, max_bytes)
    array, n, lists, dist = _inputs(x, k, knn, knn_dist)
    mods = None
    if modules is not None:
        m = native.as_array(modules, "modules")
        if m.dtype.kind not in "iu":
            raise native.invalid(f"modules: dtype {m.dtype} is not an integer type")
        if m.shape != (n,):
            raise native.invalid(f"modules: shape {m.shape} must be (n,) = ({n},)")
        mods = native.index_copy(m, "modules", "int32")
    labels = np.empty(n, dtype=np.int32)
    n_classes = ctypes.c_int64(0)
    codelength = ctypes.c_double(0.0)
    xp, d, ldx = _x_args(array)
    native.check(native.lib.rlcc_infomap_labels(
        xp, n, d, ldx, native.pointer(lists, ctypes.c_int64),
        native.pointer(dist, ctypes.c_float),
        native.pointer_to(mods, ctypes.c_int32) if mods is not None else None,
        ctypes.byref(opts), native.pointer(labels, ctypes.c_int32), ctypes.byref(n_classes),
        ctypes.byref(codelength)))
    return InfomapLabels(labels, int(n_classes.value), float(codelength.value))


def infomap_links(x: Any, k: int = 15, min_sim: float = 0.5, knn: Optional[Any] = None,
                  knn_dist: Optional[Any] = None, normalize: bool = False,
                  n_threads: int = 0,
                  max_bytes: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The directed links of :func:`infomap_pseudo_labels`: ``(src, dst,
    weight)``, int64, int64 and float64 arrays, in the order Cluster
    Contrast adds them (``i`` ascending, then rank). Feed them to the
    ``infomap`` package (``im.add_link(s, t, w)``) to compare partitions."""
    k = native.integer(k, "k", "int32")
    opts = _options(k, min_sim, 4, 123, 1, normalize, n_threads, max_bytes)
    array, n, lists, dist = _inputs(x, k, knn, knn_dist)
    cap = n * k if 1 <= k <= max(n, 1) else 0
    src = np.empty(cap, dtype=np.int64)
    dst = np.empty(cap, dtype=np.int64)
    weight = np.empty(cap, dtype=np.float64)
    count = ctypes.c_int64(0)
    xp, d, ldx = _x_args(array)
    native.check(native.lib.rlcc_infomap_links(
        xp, n, d, ldx, native.pointer(lists, ctypes.c_int64),
        native.pointer(dist, ctypes.c_float), ctypes.byref(opts),
        native.pointer(src, ctypes.c_int64), native.pointer(dst, ctypes.c_int64),
        native.pointer(weight, ctypes.c_double), ctypes.byref(count)))
    m = int(count.value)
    return src[:m].copy(), dst[:m].copy(), weight[:m].copy()


def map_codelength(src: Any, dst: Any, weight: Any, modules: Any,
                   n_nodes: Optional[int] = None) -> float:
    """The two-level map-equation codelength (bits) of the partition
    ``modules`` (one int >= 0 per node) of the directed weighted graph
    ``src[e] -> dst[e]`` (weights finite and > 0, no self-links; repeated
    pairs add up), under Infomap 1.x ``--directed``'s flow (teleportation
    to links, unrecorded, alpha 0.15). Nodes in no link carry no flow.
    ``n_nodes`` defaults to ``len(modules)``."""
    s = native.as_array(src, "src")
    t = native.as_array(dst, "dst")
    for name, a in (("src", s), ("dst", t)):
        if a.dtype.kind not in "iu" and a.size > 0:
            raise native.invalid(f"{name}: dtype {a.dtype} is not an integer type")
        if a.ndim != 1:
            raise native.invalid(f"{name}: expected a 1-D array, got {a.ndim}-D")
    w = native.as_array(weight, "weight")
    if w.ndim != 1:
        raise native.invalid(f"weight: expected a 1-D array, got {w.ndim}-D")
    if not (s.shape == t.shape == w.shape):
        raise native.invalid(f"src, dst, weight: lengths {s.shape[0]}, {t.shape[0]}, "
                             f"{w.shape[0]} differ")
    m = native.as_array(modules, "modules")
    if m.dtype.kind not in "iu" and m.size > 0:
        raise native.invalid(f"modules: dtype {m.dtype} is not an integer type")
    if m.ndim != 1:
        raise native.invalid(f"modules: expected a 1-D array, got {m.ndim}-D")
    n = m.shape[0] if n_nodes is None else native.integer(n_nodes, "n_nodes")
    if m.shape[0] != n:
        raise native.invalid(f"modules: {m.shape[0]} entries, but n_nodes is {n}")
    s = native.index_copy(s.astype(np.int64) if s.size == 0 else s, "src", "int64")
    t = native.index_copy(t.astype(np.int64) if t.size == 0 else t, "dst", "int64")
    w = np.array(w, dtype=np.float64, order="C", copy=True)
    m = native.index_copy(m.astype(np.int32) if m.size == 0 else m, "modules", "int32")
    out = ctypes.c_double(0.0)
    native.check(native.lib.rlcc_map_codelength(
        n, native.pointer(s, ctypes.c_int64), native.pointer(t, ctypes.c_int64),
        native.pointer(w, ctypes.c_double), s.shape[0], native.pointer(m, ctypes.c_int32),
        ctypes.byref(out)))
    return float(out.value)
