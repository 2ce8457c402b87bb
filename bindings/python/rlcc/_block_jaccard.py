"""The block Jaccard of librlcc 1.8: :class:`JaccardPlan`, :func:`jaccard_rows`
and :func:`pseudo_labels_graph` -- :func:`rlcc.jaccard_distance` and
:func:`rlcc.pseudo_labels` cut along the rows, for rows held in pieces
(the ranks of :func:`rlcc.distributed.pseudo_labels`).

Per block of rows ``[row0, row1)``: a plan from the ``(n, k1)`` kNN lists of
every row (steps 2 and 3 of the spec), offered every block of rows in any
order (step 4's distances), gives the block's weight rows; the weight rows
of all blocks stacked in row order are rlcc_jaccard()'s V, and
:func:`jaccard_rows` of V gives any range of Jaccard rows (steps 5 and 6).
Stacked over a blocking of ``[0, n)``, the Jaccard rows are
``rlcc.jaccard_distance(X, knn=lists)`` byte for byte, and
:func:`pseudo_labels_graph` of them gives :func:`rlcc.pseudo_labels`'s
labels.
"""

from __future__ import annotations

import ctypes
import threading
from typing import TYPE_CHECKING, Any, Optional, Sequence, Tuple, Union

import numpy as np

if TYPE_CHECKING:  # scipy.sparse is imported by the calls that build or read one
    import scipy.sparse as sp

from . import _native as native
from ._dbscan import as_float32_matrix, leading_dimension
from ._jaccard import _CsrOwner, _jaccard_options, _knn_lists, _view
from ._rlcc import PseudoLabels, _pseudo_options

__all__ = ["JaccardPlan", "jaccard_rows", "pseudo_labels_graph"]


def _row_range(rows: Any, n: int) -> Tuple[int, int]:
    """``rows=(row0, row1)`` as two int64s; the range itself is librlcc's check."""
    try:
        row0, row1 = rows
    except (TypeError, ValueError):
        raise native.invalid(f"rows: {rows!r} is not a pair (row0, row1)") from None
    return native.integer(row0, "rows[0]"), native.integer(row1, "rows[1]")


def _csr_result(handle: int, rows: int, n: int) -> "sp.csr_matrix":
    """A library-owned rlcc_csr as a ``(rows, n)`` scipy CSR matrix viewing
    its arrays (freed when the matrix dies), as :func:`rlcc.jaccard_distance`
    returns its result."""
    import scipy.sparse as sp

    owner = _CsrOwner(handle)
    lib = native.lib
    nnz = lib.rlcc_csr_nnz(handle)
    indptr = _view(lib.rlcc_csr_indptr(handle), rows + 1, ctypes.c_int64, np.int64, owner)
    indices = _view(lib.rlcc_csr_indices(handle), nnz, ctypes.c_int32, np.int32, owner)
    data = _view(lib.rlcc_csr_data(handle), nnz, ctypes.c_float, np.float32, owner)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(rows, n), copy=False)
    matrix._rlcc_owner = owner
    return matrix


class JaccardPlan:
    """The expanded sets and pair distances of rows ``rows = (row0, row1)``
    of an ``n``-row matrix of width ``d`` (``rlcc_jaccard_plan``).

    knn        the ``(n, k1)`` kNN lists of every row (integers in [0, n),
               no repeats within a row), e.g. from :func:`rlcc.knn` or
               :func:`rlcc.distributed.knn`; read once, here.
    k1, k2, variant, normalize, cutoff, n_threads, max_bytes
               as :func:`rlcc.jaccard_distance` (cutoff is checked, not
               used: :func:`jaccard_rows` applies it); ``max_bytes`` bounds
               the plan's arrays (about 12 bytes per expanded-set entry) and
               each call's working memory.

    :meth:`offer` every block of rows (the own one included) in any order,
    then :meth:`weights`. A plan is used by one call at a time (a concurrent
    call raises InvalidArgument). ``close()`` frees it (also as a context
    manager); a closed plan refuses every call.
    """

    def __init__(self, knn: Any, n: int, rows: Sequence[int], d: int, k1: int = 30,
                 k2: int = 6, variant: str = "dot", normalize: bool = False,
                 cutoff: float = 1.0, n_threads: int = 0, max_bytes: int = 0):
        native.require_block_jaccard("JaccardPlan")
        self._handle: Optional[int] = None
        self._lock = threading.Lock()
        n = native.integer(n, "n")
        row0, row1 = _row_range(rows, n)
        d = native.integer(d, "d")
        opts = _jaccard_options(n, k1, k2, variant, cutoff, normalize, n_threads, max_bytes)
        if n < 1:  # before the lists are read against n
            raise native.invalid(f"n: {n} must be in [1, INT32_MAX]")
        lists = _knn_lists(knn, n, opts.k1)
        handle = ctypes.c_void_p()
        native.check(native.lib.rlcc_jaccard_plan_new(
            native.pointer(lists, ctypes.c_int64), n, row0, row1, d, ctypes.byref(opts),
            ctypes.byref(handle)))
        self._handle = handle.value
        self.n, self.row0, self.row1, self.d = n, row0, row1, d

    @property
    def rows(self) -> Tuple[int, int]:
        return self.row0, self.row1

    def _use(self) -> int:
        if self._handle is None:
            raise native.invalid("plan: is closed")
        return self._handle

    def _matrix(self, value: Any, name: str, count: Optional[int]) -> np.ndarray:
        array = as_float32_matrix(value, name)
        if array.shape[1] != self.d or (count is not None and array.shape[0] != count):
            want = f"({count}, {self.d})" if count is not None else f"(m, {self.d})"
            raise native.invalid(f"{name}: shape {array.shape} must be {want}")
        return array

    def offer(self, rows: Any, refs: Any, ref_offset: int) -> None:
        """Takes the distances the plan's rows need to rows ``ref_offset ..
        ref_offset + len(refs) - 1`` of the matrix. ``rows``: the plan's own
        ``(row1 - row0, d)`` rows (the same at every offer); ``refs``: an
        ``(m, d)`` block (m may be 0). Offering a row again changes nothing;
        a refused offer leaves the plan as it was."""
        own = self._matrix(rows, "rows", self.row1 - self.row0)
        block = self._matrix(refs, "refs", None)
        ref_offset = native.integer(ref_offset, "ref_offset")
        with self._lock:
            native.check(native.lib.rlcc_jaccard_plan_offer(
                self._use(), native.pointer(own, ctypes.c_float), leading_dimension(own),
                native.pointer(block, ctypes.c_float), block.shape[0],
                leading_dimension(block), ref_offset))

    def weights(self) -> "sp.csr_matrix":
        """The weight rows of the plan's rows (step 4), a ``(row1 - row0, n)``
        float32 CSR matrix viewing library memory (as
        :func:`rlcc.jaccard_distance` returns its result): rows row0 .. of
        rlcc_jaccard()'s V. Every row a plan row needs must have been
        offered (else InvalidArgument naming the pair)."""
        import scipy.sparse  # noqa: F401  (before the call: a missing scipy costs no work)

        handle = ctypes.c_void_p()
        with self._lock:
            native.check(native.lib.rlcc_jaccard_plan_weights(self._use(), ctypes.byref(handle)))
        return _csr_result(handle.value, self.row1 - self.row0, self.n)

    def close(self) -> None:
        """Frees the plan (again: nothing)."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            native.lib.rlcc_jaccard_plan_free(handle)

    def __enter__(self) -> "JaccardPlan":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            native.lib.rlcc_jaccard_plan_free(self._handle)
            self._handle = None

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else f"rows [{self.row0}, {self.row1})"
        return f"JaccardPlan(n={getattr(self, 'n', '?')}, {state})"


def _weights_parts(weights: Any, n: int):
    import scipy.sparse as sp

    if not sp.issparse(weights):
        raise native.invalid(f"weights: expected a scipy.sparse matrix, got "
                             f"{type(weights).__name__}")
    if weights.shape != (n, n):
        raise native.invalid(f"weights: shape {weights.shape} must be (n, n) = ({n}, {n}) "
                             "(the weight rows of every row, stacked in row order)")
    return native.csr_parts(sp.csr_matrix(weights), "weights")


def jaccard_rows(weights: Any, knn: Any, rows: Sequence[int], k1: int = 30, k2: int = 6,
                 variant: str = "dot", normalize: bool = False, cutoff: float = 1.0,
                 n_threads: int = 0, max_bytes: int = 0) -> "sp.csr_matrix":
    """Jaccard rows ``rows = (row0, row1)`` (steps 5 and 6) from the weight
    rows of all n rows (``weights``: an ``(n, n)`` scipy sparse matrix, the
    plans' :meth:`JaccardPlan.weights` stacked in row order, values in
    [0, 1]) and the ``(n, k1)`` kNN lists: a ``(row1 - row0, n)`` float32 CSR
    matrix of the pairs with distance < cutoff, viewing library memory.
    Stacked over a blocking of [0, n) (``scipy.sparse.vstack``), they are
    :func:`rlcc.jaccard_distance` ``(X, knn=knn, ...)`` byte for byte.
    The options are those of :func:`rlcc.jaccard_distance` (variant and
    normalize are checked, not used)."""
    native.require_block_jaccard("jaccard_rows")
    lists = native.as_array(knn, "knn")
    if lists.ndim != 2:
        raise native.invalid(f"knn: expected a 2-D (n, k1) array, got {lists.ndim}-D")
    n = lists.shape[0]
    row0, row1 = _row_range(rows, n)
    opts = _jaccard_options(n, k1, k2, variant, cutoff, normalize, n_threads, max_bytes)
    lists = _knn_lists(lists, n, opts.k1)
    indptr, indices, data = _weights_parts(weights, n)
    handle = ctypes.c_void_p()
    native.check(native.lib.rlcc_jaccard_rows(
        n, native.pointer(indptr, ctypes.c_int64), native.pointer_to(indices, ctypes.c_int32),
        native.pointer_to(data, ctypes.c_float), native.pointer(lists, ctypes.c_int64), row0,
        row1, ctypes.byref(opts), ctypes.byref(handle)))
    return _csr_result(handle.value, max(row1 - row0, 0), n)


def _graph_labels(graph: Any, opts) -> PseudoLabels:
    """rlcc_pseudo_labels_graph() of an (n, n) sparse graph with filled
    options; centroids None."""
    import scipy.sparse as sp

    if not sp.issparse(graph):
        raise native.invalid(f"graph: expected a scipy.sparse matrix, got {type(graph).__name__}")
    if graph.shape[0] != graph.shape[1]:
        raise native.invalid(f"graph: must be square, got {graph.shape}")
    n = graph.shape[0]
    indptr, indices, data = native.csr_parts(sp.csr_matrix(graph), "graph")
    labels = np.empty(n, dtype=np.int32)
    n_classes = ctypes.c_int64(0)
    used = ctypes.c_double(0)
    native.check(native.lib.rlcc_pseudo_labels_graph(
        n, native.pointer(indptr, ctypes.c_int64), native.pointer_to(indices, ctypes.c_int32),
        native.pointer_to(data, ctypes.c_float), ctypes.byref(opts),
        native.pointer(labels, ctypes.c_int32), ctypes.byref(n_classes), ctypes.byref(used)))
    return PseudoLabels(labels, int(n_classes.value), float(used.value), None)


def pseudo_labels_graph(graph: Any, eps: Union[float, Sequence[float]] = (0.58, 0.6, 0.62),
                        min_samples: int = 4, outliers: str = "singleton",
                        reliability: Optional[bool] = None, guard: bool = True,
                        threshold: Optional[float] = None, n_threads: int = 0,
                        max_bytes: int = 0) -> PseudoLabels:
    """:func:`rlcc.pseudo_labels` from a distance graph the caller already
    has (an ``(n, n)`` scipy sparse matrix, read as :func:`rlcc.dbscan` reads
    a precomputed CSR: stored entries only, a missing diagonal counts as 0):
    DBSCAN at one eps or at tight / normal / loose eps, the outlier policy
    and the reliability criterion (``reliability=None``: on), exactly as
    :func:`rlcc.pseudo_labels` applies them to its Jaccard graph. So the
    stacked :func:`jaccard_rows` of every block give its labels, n_classes
    and threshold, byte for byte.

    Returns :class:`rlcc.PseudoLabels` with ``centroids=None``: a graph
    carries no feature rows (call :func:`rlcc.centroids` with the rows and
    the labels for them)."""
    native.require_block_jaccard("pseudo_labels_graph")
    # metric "euclidean": rlcc_pseudo_labels_graph() reads none of the
    # Jaccard fields, but with the Jaccard metric (the struct's default) it
    # still checks them (k1 <= n, eps below the cutoff), which would refuse
    # a small graph or an eps >= 0.9 for options it does not use
    opts = _pseudo_options(eps, min_samples, "euclidean", 30, 6, "dot", 1.0, outliers,
                           reliability, guard, threshold, n_threads, max_bytes=max_bytes)
    return _graph_labels(graph, opts)
