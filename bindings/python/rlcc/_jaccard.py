"""``rlcc.knn`` and ``rlcc.jaccard_distance``: exact kNN and the
k-reciprocal Jaccard distance the re-ID trainers cluster on."""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any, Optional, Tuple, Union

import numpy as np

if TYPE_CHECKING:  # scipy.sparse is imported by the calls that build or read one
    import scipy.sparse as sp

from . import _native as native
from ._dbscan import as_float32_matrix, leading_dimension

_VARIANTS = {"dot": 0, "sqeuclidean": 1}


def knn(X: Any, k: int, n_threads: int = 0, max_bytes: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of every row of ``X`` (itself included,
    normally first) by squared Euclidean distance, ascending, ties by
    ascending index.

    Returns ``(indices, sqdist)``: int64 and float32 arrays of shape
    ``(n, k)``.

    The ranking is exact and the same on every machine (since 1.3): row j
    is ranked by D(i, j), the squared distance of the float32 rows computed
    in double in librlcc's one fixed order (element t of the difference goes
    to lane t mod 8, each lane summed in ascending t from +0.0 of
    ``((double)a_t - (double)b_t)**2``, the lanes combined as
    ``((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))``), ties by the
    lower index; ``sqdist`` is D rounded to float32. So the lists and the
    distances are the same bytes for every BLAS kernel, CPU, ``n_threads``
    and ``max_bytes`` (1.1 and 1.2 ranked by the float32 Gram distance
    ``|a|^2 + |b|^2 - 2 a.b``, as faiss does; the two differ at near-ties
    only). ``max_bytes`` bounds the working memory (0: no bound; too small
    raises OutOfMemory). For rows held in pieces, see :class:`KnnState`.
    """
    array = as_float32_matrix(X, "X")
    n = array.shape[0]
    k = native.integer(int(k), "k")
    n_threads = native.integer(int(n_threads), "n_threads", "int32")
    max_bytes = native.integer(int(max_bytes), "max_bytes")
    # a k the library refuses allocates nothing (it is refused before any output is read)
    indices = np.empty((n, k if 1 <= k <= n else 0), dtype=np.int64)
    sqdist = np.empty(indices.shape, dtype=np.float32)
    opts = native.init_struct(native.KnnOptions, native.lib.rlcc_knn_options_init)
    opts.n_threads = n_threads
    opts.max_bytes = max_bytes
    native.check(native.lib.rlcc_knn(
        native.pointer(array, ctypes.c_float), n, array.shape[1], leading_dimension(array),
        k, ctypes.byref(opts), native.pointer(indices, ctypes.c_int64),
        native.pointer(sqdist, ctypes.c_float)))
    return indices, sqdist


class _CsrOwner:
    """Holds a library-owned rlcc_csr and frees it when the last array
    viewing its memory goes away."""

    def __init__(self, handle: int):
        self.handle = handle

    def __del__(self):
        native.lib.rlcc_csr_free(self.handle)


def _view(address: int, count: int, ctype, dtype, owner: _CsrOwner) -> np.ndarray:
    """A numpy array over library memory that keeps its owner alive."""
    buffer = (ctype * max(count, 1)).from_address(address)
    buffer._rlcc_owner = owner  # the array's base chain holds the owner
    return np.frombuffer(buffer, dtype=dtype, count=count)


def _jaccard_options(n, k1, k2, variant, cutoff, normalize, n_threads, max_bytes):
    if variant not in _VARIANTS:
        raise native.invalid(f"variant: {variant!r} is not one of {sorted(_VARIANTS)}")
    opts = native.init_struct(native.JaccardOptions, native.lib.rlcc_jaccard_options_init)
    opts.k1 = native.int_argument(k1, "k1", "int32")
    opts.k2 = native.int_argument(k2, "k2", "int32")
    opts.variant = _VARIANTS[variant]
    opts.cutoff = float(cutoff)
    opts.normalize = int(bool(normalize))
    opts.n_threads = native.int_argument(n_threads, "n_threads", "int32")
    opts.max_bytes = native.int_argument(max_bytes, "max_bytes")
    return opts


def _knn_lists(lists: Any, n: int, k1: int) -> np.ndarray:
    array = native.as_array(lists, "knn")
    if array.dtype.kind not in "iu":
        raise native.invalid(f"knn: dtype {array.dtype} is not an integer type")
    if array.shape != (n, k1):
        raise native.invalid(f"knn: shape {array.shape} must be (n, k1) = ({n}, {k1})")
    return native.index_copy(array, "knn", "int64")


def jaccard_distance(X: Any, k1: int = 30, k2: int = 6, variant: str = "dot",
                     cutoff: float = 1.0, dense: bool = False, knn: Optional[Any] = None,
                     n_threads: int = 0, normalize: bool = False,
                     max_bytes: int = 0) -> Union[sp.csr_matrix, np.ndarray]:
    """The k-reciprocal Jaccard distance of the rows of ``X``, as the re-ID
    trainers compute it (k1-long neighbour lists with self, query expansion
    over k2 neighbours).

    Parameters
    ----------
    X : array_like, (n, d)
        Features. ``variant="dot"`` needs unit rows (or ``normalize=True``).
    k1, k2 : int
        Neighbour list length (self included) and query-expansion width.
    variant : {"dot", "sqeuclidean"}
        ``2 - 2 x.y`` (SpCL, Cluster Contrast) or ``|x|^2 + |y|^2 - 2 x.y``
        (OpenUnReID, RLCC) in the weights.
    cutoff : float in (0, 1]
        The sparse result keeps pairs with distance < cutoff; 1 keeps every
        pair that shares a column. Any cutoff above DBSCAN's eps is lossless.
    dense : bool
        Return an ``(n, n)`` float32 array (1 where nothing is shared).
    knn : array_like of int, (n, k1), optional
        Precomputed neighbour lists (e.g. from faiss) instead of computing them.

    Returns
    -------
    scipy.sparse.csr_matrix (float32) viewing the library's arrays without a
    copy (freed when the matrix dies), or a numpy array with ``dense=True``.
    """
    array = as_float32_matrix(X, "X")
    n, d = array.shape
    opts = _jaccard_options(n, k1, k2, variant, cutoff, normalize, n_threads, max_bytes)
    lists = None if knn is None else _knn_lists(knn, n, opts.k1)
    args = (native.pointer(array, ctypes.c_float), n, d, leading_dimension(array),
            native.pointer(lists, ctypes.c_int64), ctypes.byref(opts))
    if dense:
        out = np.empty((n, n), dtype=np.float32)
        native.check(native.lib.rlcc_jaccard_dense(*args, native.pointer(out, ctypes.c_float),
                                                   max(n, 1)))
        return out
    import scipy.sparse as sp  # before the call: a missing scipy costs no work

    handle = ctypes.c_void_p()
    native.check(native.lib.rlcc_jaccard(*args, ctypes.byref(handle)))
    owner = _CsrOwner(handle.value)
    lib = native.lib
    nnz = lib.rlcc_csr_nnz(handle)
    indptr = _view(lib.rlcc_csr_indptr(handle), n + 1, ctypes.c_int64, np.int64, owner)
    indices = _view(lib.rlcc_csr_indices(handle), nnz, ctypes.c_int32, np.int32, owner)
    data = _view(lib.rlcc_csr_data(handle), nnz, ctypes.c_float, np.float32, owner)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(n, n), copy=False)
    matrix._rlcc_owner = owner
    return matrix
