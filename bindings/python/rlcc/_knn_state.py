"""``rlcc.KnnState``: the block kNN of librlcc 1.3, the k nearest rows of a
range of query rows built from blocks of reference rows offered one at a
time (rows on another machine, a GPU, a shard)."""

from __future__ import annotations

import ctypes
import threading
from typing import Any, Dict, Tuple

import numpy as np

from . import _native as native
from ._dbscan import as_float32_matrix, leading_dimension


class KnnState:
    """The kNN lists of ``n_queries`` query rows of width ``d`` whose first
    row has the global index ``query_offset``, keeping ``k`` neighbours each
    (``rlcc_knn_state_new``).

    ``update(queries, refs, ref_offset)`` offers a block of reference rows
    with the global index of its first row; ``merge(other)`` takes in the
    lists of another state for the same queries; ``finish()`` returns
    ``(indices, sqdist)`` as :func:`rlcc.knn` does. Whatever the blocking
    and the order of updates and merges, ``finish()`` gives the bytes
    ``rlcc.knn`` gives for those query rows against every reference row
    offered (a row offered twice changes nothing). Passing the very same
    array object as ``queries`` and ``refs``, with ``ref_offset ==
    query_offset``, computes each pair of the triangle once, as ``rlcc.knn``
    does.

    ``n_threads`` and ``max_bytes`` hold for every call on the state;
    ``max_bytes`` bounds the lists (16 bytes per entry, held until
    ``close()``) plus each call's working memory (0: no bound).

    The state owns library memory: ``close()`` (or ``with KnnState(...) as
    s:``) frees it, as the garbage collector does otherwise. It cannot be
    copied or pickled. One call at a time: a call while another thread's
    call on the same state runs raises InvalidArgument.
    """

    def __init__(self, n_queries: int, k: int, d: int, query_offset: int = 0,
                 n_threads: int = 0, max_bytes: int = 0):
        self._handle = None
        self._lock = threading.Lock()
        n_queries = native.integer(n_queries, "n_queries")
        k = native.integer(k, "k")
        d = native.integer(d, "d")
        query_offset = native.integer(query_offset, "query_offset")
        opts = native.init_struct(native.KnnOptions, native.lib.rlcc_knn_options_init)
        opts.n_threads = native.integer(n_threads, "n_threads", "int32")
        opts.max_bytes = native.integer(max_bytes, "max_bytes")
        handle = ctypes.c_void_p()
        native.check(native.lib.rlcc_knn_state_new(n_queries, query_offset, d, k,
                                                   ctypes.byref(opts), ctypes.byref(handle)))
        self._handle = handle.value
        self._n_queries, self._k, self._d, self._query_offset = n_queries, k, d, query_offset

    # -- the state's shape ---------------------------------------------------------------

    @property
    def n_queries(self) -> int:
        return self._n_queries

    @property
    def k(self) -> int:
        return self._k

    @property
    def d(self) -> int:
        return self._d

    @property
    def query_offset(self) -> int:
        return self._query_offset

    @property
    def closed(self) -> bool:
        return self._handle is None

    def __repr__(self) -> str:
        shape = (f"n_queries={self._n_queries}, k={self._k}, d={self._d}, "
                 f"query_offset={self._query_offset}") if hasattr(self, "_k") else "unmade"
        return f"<rlcc.KnnState {shape}{', closed' if self._handle is None else ''}>"

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Frees the library's state (waits for a call running in another
        thread). Idempotent; any later call raises InvalidArgument."""
        lock = getattr(self, "_lock", None)
        if lock is None or getattr(self, "_handle", None) is None:
            return
        with lock:
            handle, self._handle = self._handle, None
            if handle is not None:
                native.lib.rlcc_knn_state_free(handle)

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the module may be gone
            pass

    def __enter__(self) -> "KnnState":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __copy__(self):
        raise TypeError("rlcc.KnnState cannot be copied: it owns a librlcc handle; make a new "
                        "state and merge() this one into it")

    def __deepcopy__(self, memo):
        self.__copy__()

    def __reduce_ex__(self, protocol):
        raise TypeError("rlcc.KnnState cannot be pickled: it owns a librlcc handle; pickle "
                        "finish()'s arrays instead")

    def __reduce__(self):
        return self.__reduce_ex__(2)

    # -- calls -------------------------------------------------------------------------------

    def _claim(self):
        """The state's handle, held for one call (refuses a concurrent one, as
        the library does, and a closed state)."""
        if not self._lock.acquire(blocking=False):
            raise native.invalid("state: in use by another call")
        if self._handle is None:
            self._lock.release()
            raise native.invalid("state: closed")
        return self._handle

    def _queries(self, queries: Any) -> np.ndarray:
        array = as_float32_matrix(queries, "queries")
        if array.shape != (self._n_queries, self._d):
            raise native.invalid(f"queries: shape {array.shape} must be (n_queries, d) = "
                                 f"({self._n_queries}, {self._d})")
        return array

    def update(self, queries: Any, refs: Any, ref_offset: int) -> None:
        """Offers the reference rows ``refs`` (``n_refs x d``; n_refs may be 0),
        global indices ``ref_offset ... ref_offset + n_refs - 1``, to the
        query rows ``queries`` (``n_queries x d``, the same rows at every
        call). float64 or non-contiguous arrays are converted to float32
        once. On an error the state is unchanged."""
        ref_offset = native.integer(ref_offset, "ref_offset")
        query_rows = self._queries(queries)
        if refs is queries:  # the same rows: the same pointer, so the triangle once
            ref_rows = query_rows
        else:
            ref_rows = as_float32_matrix(refs, "refs")
            if ref_rows.shape[1] != self._d:
                raise native.invalid(f"refs: width {ref_rows.shape[1]} differs from the "
                                     f"state's d = {self._d}")
        handle = self._claim()
        try:  # the arrays stay referenced by these locals for the whole call
            code = native.lib.rlcc_knn_update(
                handle, native.pointer(query_rows, ctypes.c_float), leading_dimension(query_rows),
                native.pointer(ref_rows, ctypes.c_float), ref_rows.shape[0],
                leading_dimension(ref_rows), ref_offset)
        finally:
            self._lock.release()
        native.check(code)

    def merge(self, other: "KnnState") -> None:
        """Takes in the lists of ``other``, a state for the same query rows
        (n_queries, query_offset, d, k) whose updates offered other (or
        overlapping) reference rows. ``other`` is unchanged."""
        if not isinstance(other, KnnState):
            raise TypeError(f"other: expected an rlcc.KnnState, got {type(other).__name__}")
        handle = self._claim()
        try:
            if other is self:  # the library refuses it, and says why
                code = native.lib.rlcc_knn_merge(handle, handle)
            else:
                # other is read during the call: hold it too, so close()
                # cannot free it meanwhile (the library claims it as well)
                try:
                    other_handle = other._claim()
                except native.InvalidArgument as error:
                    raise native.invalid(f"other: {error}") from None
                try:
                    code = native.lib.rlcc_knn_merge(handle, other_handle)
                finally:
                    other._lock.release()
        finally:
            self._lock.release()
        native.check(code)

    def finish(self) -> Tuple[np.ndarray, np.ndarray]:
        """The finished lists ``(indices, sqdist)``: int64 global indices and
        float32 squared distances, shape ``(n_queries, k)``, as
        :func:`rlcc.knn` returns them. The state stays usable. Raises
        InvalidArgument when a query row has fewer than k neighbours (fewer
        than k reference rows were offered)."""
        indices = np.empty((self._n_queries, self._k), dtype=np.int64)
        sqdist = np.empty(indices.shape, dtype=np.float32)
        handle = self._claim()
        try:
            code = native.lib.rlcc_knn_finish(handle, native.pointer(indices, ctypes.c_int64),
                                              native.pointer(sqdist, ctypes.c_float))
        finally:
            self._lock.release()
        native.check(code)
        return indices, sqdist

    def stats(self) -> Dict[str, int]:
        """What the state has done (merged states' included): a dict with
        ``n_updates``, ``n_redecided`` (candidates decided again in double
        from the rows), ``n_fallback_rows`` (query rows of an update with
        more near-ties than the screen keeps) and ``peak_bytes``."""
        stats = native.init_struct(native.KnnStats, native.lib.rlcc_knn_stats_init)
        handle = self._claim()
        try:
            code = native.lib.rlcc_knn_state_stats(handle, ctypes.byref(stats))
        finally:
            self._lock.release()
        native.check(code)
        return {name: int(getattr(stats, name)) for name, _ in native.KnnStats._fields_[1:]}
