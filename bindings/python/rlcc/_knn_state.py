"""``rlcc.KnnState``: the block kNN of librlcc 1.3, the k nearest rows of a
range of query rows built from blocks of reference rows offered one at a
time (rows on another machine, a GPU, a shard); 1.8 adds two blocks from one
Gram block (``update_pair``) and a state as bytes (``to_bytes`` /
``from_bytes``, pickling)."""

from __future__ import annotations

import ctypes
import struct
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

    ``update_pair(rows, other, other_rows)`` (1.8) offers two blocks to
    each other from one Gram block: this state's query rows get
    ``other``'s and ``other``'s get these, each pair computed once, as if
    each had been ``update()``-d with the other's rows. ``to_bytes()``
    (1.8) gives the state as librlcc's sealed bytes (little-endian, the
    same on every machine, versioned, CRC-32C checked) and
    ``KnnState.from_bytes(data)`` makes a state from them that finishes,
    merges and saves as the saved one did: what one process sends another.

    The state owns library memory: ``close()`` (or ``with KnnState(...) as
    s:``) frees it, as the garbage collector does otherwise. ``pickle``
    goes through ``to_bytes()`` (the unpickled state has the default
    ``n_threads`` and ``max_bytes``, which belong to a process, not to the
    lists); ``copy.copy`` and ``copy.deepcopy`` go through the same bytes
    and keep this state's ``n_threads`` and ``max_bytes``. Every copy owns
    its own library state. One call at a time: a call while another
    thread's call on the same state runs raises InvalidArgument
    (``update_pair`` and ``merge`` hold both states).
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
        self._n_threads, self._max_bytes = opts.n_threads, opts.max_bytes

    @classmethod
    def from_bytes(cls, data: Any, n_threads: int = 0, max_bytes: int = 0) -> "KnnState":
        """A new state from the bytes of :meth:`to_bytes` (``bytes``,
        ``bytearray``, ``memoryview`` or a uint8 array; ``rlcc_knn_state_load``):
        the same shape, counts and lists. ``n_threads`` and ``max_bytes`` are
        the new state's, as in the constructor. Nothing is trusted: bytes that
        are truncated, damaged (checksum), of another format or inconsistent
        raise InvalidArgument with the library's message. (1.8)"""
        native.require_knn_bytes("KnnState.from_bytes")
        if isinstance(data, np.ndarray):
            if data.dtype != np.uint8 or data.ndim != 1:
                raise native.invalid(f"data: a {data.ndim}-D {data.dtype} array; expected "
                                     "bytes or a 1-D uint8 array")
            data = data.tobytes()
        elif isinstance(data, (bytearray, memoryview)):
            # a private, immutable copy: the library reads the bytes twice (the
            # checksum, then the fields) with the GIL released
            data = bytes(data)
        elif not isinstance(data, bytes):
            raise TypeError(f"data: expected bytes from KnnState.to_bytes(), got "
                            f"{type(data).__name__}")
        opts = native.init_struct(native.KnnOptions, native.lib.rlcc_knn_options_init)
        opts.n_threads = native.integer(n_threads, "n_threads", "int32")
        opts.max_bytes = native.integer(max_bytes, "max_bytes")
        handle = ctypes.c_void_p()
        native.check(native.lib.rlcc_knn_state_load(data, len(data), ctypes.byref(opts),
                                                    ctypes.byref(handle)))
        state = cls.__new__(cls)
        state._handle = handle.value
        state._lock = threading.Lock()
        # the library checked the bytes: the shape is the four int64 fields after
        # the 24-byte envelope (magic, format, version, size), in the C order
        n_queries, query_offset, d, k = struct.unpack_from("<4q", data, 24)
        state._n_queries, state._k, state._d, state._query_offset = n_queries, k, d, query_offset
        state._n_threads, state._max_bytes = opts.n_threads, opts.max_bytes
        return state

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

    def __copy__(self) -> "KnnState":
        # through the bytes, so the copy owns a library state of its own (a
        # copy that shared the handle would free it twice)
        return type(self).from_bytes(self.to_bytes(), self._n_threads, self._max_bytes)

    def __deepcopy__(self, memo) -> "KnnState":
        return self.__copy__()

    def __reduce_ex__(self, protocol):
        # the lists as sealed bytes; the options are the reader's (defaults)
        return (_state_from_bytes, (self.to_bytes(),))

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

    def _queries(self, queries: Any, name: str = "queries") -> np.ndarray:
        array = as_float32_matrix(queries, name)
        if array.shape != (self._n_queries, self._d):
            raise native.invalid(f"{name}: shape {array.shape} must be (n_queries, d) = "
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

    def update_pair(self, rows: Any, other: "KnnState", other_rows: Any) -> None:
        """Offers two blocks to each other from one Gram block
        (``rlcc_knn_update_pair``, 1.8): ``rows`` are this state's query rows
        (``n_queries x d``), ``other_rows`` those of ``other``, a state for
        rows of the same width ``d`` (``k`` may differ) whose global range
        [query_offset, query_offset + n_queries) does not overlap this
        state's. Afterwards each state holds, byte for byte, what
        ``update()`` with the other's rows would have left it; each pair is
        computed once. (A block against itself is ``update(rows, rows,
        query_offset)``.) Both states are held for the call: a concurrent
        call on either is refused. The same state twice, another ``d``,
        overlapping ranges or rows that are not finite raise InvalidArgument;
        on any error both states are unchanged."""
        native.require_knn_bytes("KnnState.update_pair")
        if not isinstance(other, KnnState):
            raise TypeError(f"other: expected an rlcc.KnnState, got {type(other).__name__}")
        own_rows = self._queries(rows, "rows")
        # checked against other's own shape: C reads other.n_queries rows from it
        foreign_rows = other._queries(other_rows, "other_rows")
        handle = self._claim()
        try:
            if other is self:  # the library refuses it, and says why
                code = native.lib.rlcc_knn_update_pair(
                    handle, native.pointer(own_rows, ctypes.c_float),
                    leading_dimension(own_rows), handle,
                    native.pointer(foreign_rows, ctypes.c_float), leading_dimension(foreign_rows))
            else:
                try:
                    other_handle = other._claim()
                except native.InvalidArgument as error:
                    raise native.invalid(f"other: {error}") from None
                try:
                    code = native.lib.rlcc_knn_update_pair(
                        handle, native.pointer(own_rows, ctypes.c_float),
                        leading_dimension(own_rows), other_handle,
                        native.pointer(foreign_rows, ctypes.c_float),
                        leading_dimension(foreign_rows))
                finally:
                    other._lock.release()
        finally:
            self._lock.release()
        native.check(code)

    def to_bytes(self) -> bytes:
        """The state as librlcc's sealed bytes (``rlcc_knn_state_save``,
        1.8): its shape, counts and lists, little-endian and the same on
        every machine, in a versioned format sealed by a CRC-32C. The size
        grows with the lists (about 16 bytes per entry, plus 112).
        :meth:`from_bytes` reads them back."""
        native.require_knn_bytes("KnnState.to_bytes")
        size = ctypes.c_size_t(0)
        handle = self._claim()
        try:  # the size query and the write under one claim: no update between them
            code = native.lib.rlcc_knn_state_save(handle, None, 0, ctypes.byref(size))
            if code == native.OK:
                buffer = ctypes.create_string_buffer(size.value)
                code = native.lib.rlcc_knn_state_save(handle, buffer, size.value,
                                                      ctypes.byref(size))
        finally:
            self._lock.release()
        native.check(code)
        return buffer.raw[:size.value]

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


def _state_from_bytes(data: bytes) -> KnnState:
    """pickle's constructor of a KnnState (module level, so pickle finds it)."""
    return KnnState.from_bytes(data)
