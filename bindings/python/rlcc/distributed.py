"""``rlcc.distributed``: the exact kNN of rows spread over the ranks of a
trainer's own process group, byte for byte what :func:`rlcc.knn` gives on
the concatenated matrix.

``knn(local_x, k, group=None, comm=None, ...)`` is collective: every rank of
the group calls it with its own rows. It runs over a torch.distributed
process group (``group``; ``None`` and no ``comm`` is torch's default group;
CPU tensors, so gloo) or over an mpi4py communicator (``comm``; torch is then
never imported). Importing ``rlcc`` or ``rlcc.distributed`` imports neither
torch nor mpi4py: each is imported by the call that uses it.

``pseudo_labels(local_x, group=None, comm=None, timeout=600.0, **kwargs)``
is :func:`rlcc.pseudo_labels` of the rows of every rank, the same result
(labels of all N rows, n_classes, threshold, centroids) on every rank, byte
for byte the one-process result; its stages (the header check, this
module's kNN ring with k = k1, then the block Jaccard of librlcc 1.8) are
in its docstring. The schedule below is the kNN's.

``Refiner(group=None, comm=None, timeout=600.0, **kwargs)`` is
:class:`rlcc.Refiner` over the ranks: ``step(local_x)`` (collective: the
pseudo labels above, then ``rlcc.Refiner.step_labels`` on every rank) and
``targets(indices)`` (collective when the targets read feature rows, which
are then fetched from the ranks that hold them), byte for byte the
one-process refiner on the concatenated rows; see its docstring.

The schedule (librlcc_mpi's ``rlcc_mpi_knn`` runs the same one)
----------------------------------------------------------------------

* Rows are split in rank order: rank 0 holds the first rows. P is the group
  size, block b is rank b's rows, n_b its row count and o_b = n_0 + ... +
  n_{b-1} its global offset (from an all-gather of the row counts; any n_b,
  0 included).
* Step 0, the collective header check: every rank validates its input
  locally (a 2-D real matrix, finite once float32, 1 <= k, 1 <= d, the
  integer options) and all-gathers a fixed header of 288 bytes: n_local, d,
  k, an error flag and the local error's message (UTF-8, at most 255
  bytes). If any rank reported an error, or the ranks disagree on d or k,
  or k > N (N the rows of all ranks), EVERY rank raises the same
  ``rlcc.InvalidArgument`` naming the rank(s): ``"rank 2: x: row 5 has NaN
  at column 3"``, ``"rank 1 has d = 16, rank 0 has d = 8"``.
* Own state: S_r = ``KnnState(n_r, k, d, query_offset=o_r)``, updated with
  its block against itself (the very same array: each pair once), after the
  send of the own block to rank r + 1 and the receive of the first visiting
  block are posted.
* Steps s = 1 .. floor(P / 2): rank r holds the visiting block V = block
  (r - s) mod P, received from rank (r - 1) mod P (at s = 1 that rank's own
  block; later the block that rank received at the step before). Rank r
  computes at step s iff s < P / 2, or 2 s == P and r < P / 2, so each pair
  of blocks is computed once, by one of its two ranks. Step s at rank r:

  1. wait for V (when it computes at s, or forwards V);
  2. post the forward of V to rank r + 1 (when r + 1 computes at s + 1) and
     the receive of the next visiting block from rank r - 1 (when r
     computes at s + 1), non-blocking, BEFORE the Gram work: the transfers
     overlap it, with two visiting blocks alive at once;
  3. when it computes: a temporary state T for block (r - s)'s rows
     (n_{r-s} queries, offset o_{r-s}), ``S_r.update_pair(x_r, T, V)``,
     ``T.to_bytes()``;
  4. the status check of step s (below);
  5. when it computed: T's size (one int64), then T's bytes, straight to
     the owner, rank (r - s) mod P;
  6. when rank (r + s) mod P computed: receive its size and bytes, load them
     (``KnnState.from_bytes``) and merge them into S_r (a failure here is
     reported at the next status check);
  7. wait for this step's sends.

  A pair with an empty block is skipped on both sides (both know the
  sizes), and an empty block does not travel.
* The status check: every rank all-gathers a 256-byte record (an int64
  error code, 0 for none, and the message), so that a rank that failed
  during the step (memory limit, a bad state, any exception) makes every
  other rank raise too, instead of leaving them waiting for its lists: the
  failing rank raises its own exception, the others :class:`RemoteError`
  naming it. No lists are sent before the check, and the transfers posted
  before it are waited for (both ends posted them), so a refused call
  leaves no message behind and the group stays usable.
* Finally ``S_r.finish()`` and a last status check: every rank returns
  its ``(indices, sqdist)`` only when every rank succeeded.

Waiting: every wait (a transfer, an all-gather) has a deadline of
``timeout`` seconds; on expiry the rank raises :class:`Timeout` naming the
rank it waited for and the stage. A peer that dies
usually ends its connections at once, and gloo (or MPI) reports that as an
error at the next wait: :class:`CommError`. After a Timeout or a CommError
the group's state is unknown (gloo closes a pair whose transfer timed out;
messages may be half sent): end the job rather than go on with that group.

Messages: tag ``4 s + kind`` at step s, kind 0 a block, 1 a state's size,
2 its bytes, 3 a status (the header check is step 0's status, the last
status check step floor(P / 2) + 1's), plus ``TAG_BASE`` on a torch group;
on a duplicate of the MPI communicator (``Idup``, so they never meet the
caller's). The header and status all-gathers are made of point-to-point
messages (each rank sends its record to every other), so that a rank that
does not answer is named: O(P) small messages a rank per step.
"""

from __future__ import annotations

import ctypes
import math
import struct
import time
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import numpy as np

from . import _native as native
from ._dbscan import as_float32_matrix
from ._knn_state import KnnState

if TYPE_CHECKING:
    from ._rlcc import Generation, PseudoLabels

__all__ = ["knn", "pseudo_labels", "Refiner", "DistributedError", "RemoteError", "Timeout",
           "CommError"]

#: librlcc_mpi's pinned codes (rlcc_mpi.h), carried by the exceptions below.
E_REMOTE = -101
E_TIMEOUT = -102
E_MPI = -103

#: First message tag used on a torch.distributed group.
TAG_BASE = 0x52_4C_00  # "RL"
_HEADER_INTS = struct.Struct("<qqqq")  # n_local, d, k, error flag
_HEADER_BYTES = 288
_STATUS_BYTES = 256
_MESSAGE_BYTES = 255
_UNKNOWN_ERROR = -1000  # the code in a status for an exception that has none


class DistributedError(native.RLCCError, RuntimeError):
    """Base class of the errors of a collective call beyond librlcc's own
    (which keep their classes: InvalidArgument, OutOfMemory, ...)."""


class RemoteError(DistributedError):
    """Another rank failed during the call; ``ranks`` lists the failed
    ranks, the message names them and says what they raised."""

    def __init__(self, message: str, ranks: List[int]):
        super().__init__(E_REMOTE, message)
        self.ranks = ranks


class Timeout(DistributedError):
    """A wait passed its deadline; ``rank`` is the rank waited for (None
    for a collective, which waits for every rank), ``stage`` the stage."""

    def __init__(self, message: str, rank: Optional[int], stage: str):
        super().__init__(E_TIMEOUT, message)
        self.rank, self.stage = rank, stage


class CommError(DistributedError):
    """The transport (gloo, MPI) reported an error: a peer closed its
    connection (it died), a pair was closed. ``rank`` and ``stage`` as for
    :class:`Timeout`."""

    def __init__(self, message: str, rank: Optional[int], stage: str):
        super().__init__(E_MPI, message)
        self.rank, self.stage = rank, stage


def _waited_for(peer: Optional[int]) -> str:
    return f"rank {peer}" if peer is not None else "every rank (a collective)"


# ---- transports ---------------------------------------------------------------------------

class _TorchTransport:
    """torch.distributed point-to-point and all_gather on CPU tensors."""

    def __init__(self, group, timeout: float):
        import datetime

        import torch
        import torch.distributed as dist

        self._torch, self._dist, self._timedelta = torch, dist, datetime.timedelta
        if not dist.is_available() or not dist.is_initialized():
            raise native.invalid("group: torch.distributed is not initialised (call "
                                 "torch.distributed.init_process_group first, or pass comm=)")
        self.group = group
        self.rank = dist.get_rank(group)
        self.size = dist.get_world_size(group)
        if self.rank < 0:
            raise native.invalid("group: this process is not a member of the group")
        backend = str(dist.get_backend(group))
        if backend == "nccl":
            raise native.invalid("group: an nccl group carries CUDA tensors only; rlcc's kNN "
                                 "runs on the CPU: pass a gloo group "
                                 "(torch.distributed.new_group(backend='gloo'))")
        self.timeout = timeout
        self._global = self._global_ranks(group)

    def _global_ranks(self, group):
        dist = self._dist
        if group is None or group is dist.group.WORLD:
            return list(range(self.size))
        get = getattr(dist, "get_global_rank", None)
        if get is None:  # torch < 2.0
            from torch.distributed.distributed_c10d import _get_global_rank as get
        return [get(group, r) for r in range(self.size)]

    def _fail(self, error: Exception, peer: Optional[int], stage: str):
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "timed out" in text.lower() or "timeout" in text.lower():
            return Timeout(f"rank {self.rank}: timed out after {self.timeout:g} s waiting for "
                           f"{_waited_for(peer)} at {stage} ({text})", peer, stage)
        return CommError(f"rank {self.rank}: {stage}: the transport failed waiting for "
                         f"{_waited_for(peer)}: {text}", peer, stage)

    def _tensor(self, array: np.ndarray):
        return self._torch.from_numpy(array)

    def isend(self, array: np.ndarray, peer: int, tag: int, stage: str):
        try:
            return (self._dist.isend(self._tensor(array), self._global[peer], group=self.group,
                                     tag=TAG_BASE + tag), array)
        except RuntimeError as error:
            raise self._fail(error, peer, stage) from None

    def irecv(self, array: np.ndarray, peer: int, tag: int, stage: str):
        try:
            return (self._dist.irecv(self._tensor(array), self._global[peer], group=self.group,
                                     tag=TAG_BASE + tag), array)
        except RuntimeError as error:
            raise self._fail(error, peer, stage) from None

    def wait(self, handle, peer: Optional[int], stage: str,
             seconds: Optional[float] = None) -> None:
        # gloo honours Work.wait(timeout) for transfers (unbound_buffer's
        # deadline; a timed-out transfer closes its pair) and for
        # collectives (c10d::Work's condition variable)
        seconds = self.timeout if seconds is None else max(seconds, 1e-3)
        try:
            handle[0].wait(timeout=self._timedelta(seconds=seconds))
        except RuntimeError as error:
            raise self._fail(error, peer, stage) from None

    def close(self, ok: bool) -> None:
        pass


class _MpiTransport:
    """mpi4py non-blocking calls on a duplicate of the caller's communicator,
    each wait a Test() polling loop with a deadline."""

    def __init__(self, comm, timeout: float):
        from mpi4py import MPI

        self._mpi = MPI
        if not isinstance(comm, MPI.Intracomm):
            raise native.invalid(f"comm: expected an mpi4py intracommunicator, got "
                                 f"{type(comm).__name__}")
        self.timeout = timeout
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        stage = "duplicating the communicator"
        try:
            self.comm, request = comm.Idup()
        except MPI.Exception as error:
            raise self._fail(error, None, stage) from None
        self.wait((request, None), None, stage)

    def _fail(self, error: Exception, peer: Optional[int], stage: str):
        return CommError(f"rank {self.rank}: {stage}: MPI failed waiting for "
                         f"{_waited_for(peer)}: {error}", peer, stage)

    def isend(self, array: np.ndarray, peer: int, tag: int, stage: str):
        try:
            return (self.comm.Isend(array, dest=peer, tag=tag), array)
        except self._mpi.Exception as error:
            raise self._fail(error, peer, stage) from None

    def irecv(self, array: np.ndarray, peer: int, tag: int, stage: str):
        try:
            return (self.comm.Irecv(array, source=peer, tag=tag), array)
        except self._mpi.Exception as error:
            raise self._fail(error, peer, stage) from None

    def wait(self, handle, peer: Optional[int], stage: str,
             seconds: Optional[float] = None) -> None:
        request = handle[0]
        deadline = time.monotonic() + (self.timeout if seconds is None else seconds)
        pause = 2e-5
        try:
            while not request.Test():
                if time.monotonic() > deadline:
                    raise Timeout(f"rank {self.rank}: timed out after {self.timeout:g} s "
                                  f"waiting for {_waited_for(peer)} at {stage}", peer, stage)
                time.sleep(pause)
                pause = min(pause * 2, 2e-3)
        except self._mpi.Exception as error:
            raise self._fail(error, peer, stage) from None

    def close(self, ok: bool) -> None:
        # after a failure MPI may still read or write the buffers of pending
        # transfers: the duplicate is left to the job's end then
        if ok:
            self.comm.Free()


# ---- local checks -------------------------------------------------------------------------

def _run(what: str, group, comm, timeout, body):
    """A collective call: refuses group and comm together, opens the
    transport and runs ``body(transport, error)`` (error: a refused timeout,
    for the body's header check to report collectively), then closes the
    transport (the MPI duplicate is freed only after a clean end)."""
    if group is not None and comm is not None:
        raise native.invalid(f"group, comm: {what}: pass a torch.distributed group or an "
                             "mpi4py communicator, not both")
    transport, error = _open_transport(group, comm, timeout)
    ok = False
    try:
        result = body(transport, error)
        ok = True
        return result
    finally:
        transport.close(ok)


def _open_transport(group, comm, timeout):
    """The call's transport (mpi4py when comm is given, else torch's group)
    and the refusal of a bad timeout, or None: a bad timeout is refused
    collectively like any bad input, so the call still runs on 600 s."""
    error = None
    try:
        wait_seconds = float(timeout)
        if not (math.isfinite(wait_seconds) and wait_seconds > 0):
            raise ValueError
    except (TypeError, ValueError):
        error = f"timeout: {timeout!r}; it must be a finite number of seconds > 0"
        wait_seconds = 600.0
    transport = (_MpiTransport(comm, wait_seconds) if comm is not None
                 else _TorchTransport(group, wait_seconds))
    return transport, error


def _local_rows(local_x: Any) -> np.ndarray:
    """This rank's rows as a C-contiguous float32 matrix, or InvalidArgument."""
    value = local_x
    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "requires_grad"):
        if value.requires_grad:
            raise native.invalid("x: the tensor requires grad; pass x.detach() (librlcc "
                                 "takes no part in autograd)")
        if value.device.type != "cpu":
            value = value.cpu()  # a CUDA tensor: its rows are copied to the host
    try:
        array = as_float32_matrix(value, "x")
    except TypeError as error:
        raise native.invalid(str(error)) from None
    array = np.ascontiguousarray(array)  # it travels: rows without gaps
    if not array.flags.writeable:
        array = array.copy()  # torch.from_numpy wants a writable array
    if array.shape[1] < 1:
        raise native.invalid(f"x: d = {array.shape[1]}; d must be at least 1")
    bad = ~np.isfinite(array)
    if bad.any():
        row, column = (int(i) for i in np.unravel_index(int(np.flatnonzero(bad)[0]),
                                                         array.shape))
        what = "NaN" if np.isnan(array[row, column]) else "inf"
        raise native.invalid(f"x: row {row} has {what} at column {column}")
    return array


def _pack_message(message: str, size: int) -> bytes:
    data = message.encode("utf-8", errors="replace")[:size]
    return data.decode("utf-8", errors="ignore").encode("utf-8").ljust(size, b"\0")


def _unpack_message(data: bytes) -> str:
    return bytes(data).rstrip(b"\0").decode("utf-8", errors="replace")


def _ranks_named(entries: List[Tuple[int, str]]) -> str:
    return "; ".join(f"rank {r}: {message}" for r, message in entries)


# ---- the call -----------------------------------------------------------------------------

def knn(local_x: Any, k: int, group=None, comm=None, n_threads: int = 0, max_bytes: int = 0,
        timeout: float = 600.0) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of this rank's rows among the rows of every
    rank of the group, as ``(indices, sqdist)``: int64 global indices and
    float32 squared distances, shape ``(n_local, k)``, byte for byte the rows
    of ``rlcc.knn(np.concatenate(all ranks' rows), k)`` that this rank holds
    (rank 0 holds the first rows).

    Collective: every rank of the group calls it, with its own rows.

    local_x    this rank's rows, ``(n_local, d)``: a numpy array or a torch
               tensor (a CUDA tensor is copied to the host), converted to
               float32 as :func:`rlcc.knn` converts; ``n_local`` may be 0.
    k          neighbours per row, the same on every rank, ``1 <= k <= N``.
    group      a torch.distributed process group that carries CPU tensors
               (gloo); None (and no comm): torch's default group.
    comm       an mpi4py intracommunicator instead of a torch group (then
               torch is not imported). Pass one of group and comm, not both.
    n_threads, max_bytes  this rank's options, as :class:`rlcc.KnnState`
               takes them (they need not agree across ranks).
    timeout    seconds any one wait (a transfer, a collective) may take
               before :class:`Timeout` is raised (> 0, finite).

    Errors: ``rlcc.InvalidArgument`` on every rank, with the same message,
    for input refused on any rank or inconsistent across ranks (d, k,
    k > N); during the call a rank that fails raises its own error and the
    others :class:`RemoteError` naming it; :class:`Timeout` and
    :class:`CommError` for a rank that does not answer (dead, stalled).
    The schedule is in this module's docstring.
    """
    return _run("knn", group, comm, timeout, lambda transport, error: _ring_knn(
        transport, local_x, k, n_threads, max_bytes, error))


def _check_locally(local_x, k, n_threads, max_bytes, error):
    """(rows or None, k or 0, n_threads, max_bytes, first error or None)."""
    rows = None
    try:
        k = native.integer(k, "k")
        if k < 1:
            raise native.invalid(f"k: {k}; k must be at least 1")
    except native.InvalidArgument as refused:
        error = error or str(refused)
        k = 0
    try:
        n_threads = native.integer(n_threads, "n_threads", "int32")
        max_bytes = native.integer(max_bytes, "max_bytes")
        if n_threads < 0 or max_bytes < 0:
            raise native.invalid(f"n_threads, max_bytes: {n_threads}, {max_bytes}; both must "
                                 "be >= 0")
    except native.InvalidArgument as refused:
        error = error or str(refused)
    try:
        rows = _local_rows(local_x)
    except native.InvalidArgument as refused:
        error = error or str(refused)
    return rows, k, n_threads, max_bytes, error


def _header_check(transport, rows, k, error):
    """The all-gathered headers as (n, d, k) lists, or InvalidArgument on
    every rank."""
    n_local, d = (rows.shape if rows is not None else (0, 0))
    header = _HEADER_INTS.pack(n_local, d, k, 1 if error else 0) + _pack_message(
        error or "", _HEADER_BYTES - _HEADER_INTS.size)
    table = _exchange(transport, header, _tag(0, _STATUS), "the header check")
    fields = [_HEADER_INTS.unpack_from(table[r].tobytes()) for r in range(transport.size)]
    failed = [(r, _unpack_message(table[r, _HEADER_INTS.size:].tobytes()))
              for r in range(transport.size) if fields[r][3]]
    if failed:
        raise native.invalid(_ranks_named(failed))
    ns = [f[0] for f in fields]
    ds = [f[1] for f in fields]
    ks = [f[2] for f in fields]
    disagree = [f"rank {r} has {name} = {values[r]}, rank 0 has {name} = {values[0]}"
                for name, values in (("d", ds), ("k", ks))
                for r in range(1, transport.size) if values[r] != values[0]]
    if disagree:
        raise native.invalid("; ".join(disagree))
    total = sum(ns)
    if ks[0] > total:
        raise native.invalid(f"k: {ks[0]} exceeds the {total} rows of all ranks")
    return ns, ds[0]


class _Status:
    """A rank's first failure since the last status check."""

    def __init__(self):
        self.error: Optional[BaseException] = None

    def record(self, error: Exception) -> None:
        if self.error is None:
            self.error = error


def _status_check(transport, status: _Status, tag: int, stage: str) -> None:
    """All-gathers every rank's status; raises on every rank if any failed:
    the failed rank its own exception, the others RemoteError."""
    error = status.error
    if error is None:
        code, message = 0, ""
    else:
        code = getattr(error, "code", None) or _UNKNOWN_ERROR
        message = f"{type(error).__name__}: {error}"
    record = struct.pack("<q", int(code)) + _pack_message(message, _STATUS_BYTES - 8)
    table = _exchange(transport, record, tag, stage)
    failed = []
    for r in range(transport.size):
        (their_code,) = struct.unpack_from("<q", table[r].tobytes())
        if their_code:
            failed.append((r, _unpack_message(table[r, 8:].tobytes())))
    if not failed:
        return
    if error is not None:
        raise error
    raise RemoteError(f"rank {transport.rank}: another rank failed at {stage}: "
                      + _ranks_named(failed), [r for r, _ in failed])


# Message kinds: tag = 4 s + kind (step s; the header is step 0's status,
# the final status step floor(P / 2) + 1's).
_BLOCK, _SIZE, _LISTS, _STATUS = 0, 1, 2, 3


def _tag(step: int, kind: int) -> int:
    return 4 * step + kind


def _exchange(transport, record: bytes, tag: int, stage: str) -> np.ndarray:
    """Every rank's record (the same size on every rank), as a (P, size)
    uint8 table: an all-gather made of point-to-point messages, so that a
    rank that does not answer is named. One deadline, ``timeout`` seconds
    from the start, for the whole exchange; the ranks are waited for in
    rank order."""
    P, r = transport.size, transport.rank
    mine = np.frombuffer(record, dtype=np.uint8).copy()
    table = np.empty((P, mine.size), dtype=np.uint8)
    table[r] = mine
    deadline = time.monotonic() + transport.timeout
    posted = []
    try:
        for peer in range(P):
            if peer != r:
                posted.append((transport.irecv(table[peer], peer, tag, stage), peer))
        for peer in range(P):
            if peer != r:
                posted.append((transport.isend(mine, peer, tag, stage), peer))
        for handle, peer in posted:
            transport.wait(handle, peer, stage, deadline - time.monotonic())
    except DistributedError:
        _IN_FLIGHT.append((posted, table, mine))
        raise
    return table


#: Transfers a failed call left under way (their buffers must outlive them).
_IN_FLIGHT: list = []


def _drain(transport, pending) -> None:
    """Waits for transfers that both ends posted before a collective
    failure, so none is left to meet a later call's messages; any that does
    not end is kept in _IN_FLIGHT."""
    for index, (handle, peer, stage) in enumerate(pending):
        try:
            transport.wait(handle, peer, stage)
        except DistributedError:
            _IN_FLIGHT.extend(pending[index:])
            return


def _ring_knn(transport, local_x, k, n_threads, max_bytes, error):
    rows, k, n_threads, max_bytes, error = _check_locally(local_x, k, n_threads, max_bytes, error)
    ns, d = _header_check(transport, rows, k, error)
    return _knn_ring(transport, rows, ns, d, k, n_threads, max_bytes)


def _knn_ring(transport, rows, ns, d, k, n_threads, max_bytes):
    """Steps 1 .. floor(P / 2) + 1 of the schedule, after a header check
    (of knn's, or of pseudo_labels's): this rank's (indices, sqdist)."""
    P, r = transport.size, transport.rank
    offsets = [0] * P
    for b in range(1, P):
        offsets[b] = offsets[b - 1] + ns[b - 1]
    half = P // 2

    def computes(rank: int, s: int) -> bool:
        return 1 <= s <= half and (2 * s < P or rank < P - half)

    def block_of(rank: int, s: int) -> int:
        return (rank - s) % P

    def needs_block(rank: int, s: int) -> bool:
        # rank holds V_s (to compute, or to forward); empty blocks never travel
        return computes(rank, s) and ns[block_of(rank, s)] > 0

    def pair_active(rank: int, s: int) -> bool:
        return computes(rank, s) and ns[rank] > 0 and ns[block_of(rank, s)] > 0

    nxt, prv = (r + 1) % P, (r - 1) % P
    status = _Status()
    sends = []  # transfers this rank posted: waited for before the call returns

    def post_blocks(s: int, held: np.ndarray):
        """Forward the visiting block of step s (the own block at s = 0) to
        rank r + 1 for step s + 1, and post the receive of V_{s+1}."""
        if needs_block(nxt, s + 1):
            stage = f"ring step {s + 1}: sending block {block_of(r, s)} to rank {nxt}"
            sends.append((transport.isend(held, nxt, _tag(s + 1, _BLOCK), stage), nxt, stage))
        if needs_block(r, s + 1):
            b = block_of(r, s + 1)
            buffer = np.empty((ns[b], d), dtype=np.float32)
            stage = f"ring step {s + 1}: receiving block {b} from rank {prv}"
            return transport.irecv(buffer, prv, _tag(s + 1, _BLOCK), stage), buffer, stage
        return None

    incoming = post_blocks(0, rows)
    state = None
    try:
        state = KnnState(ns[r], k, d, query_offset=offsets[r], n_threads=n_threads,
                         max_bytes=max_bytes)
        state.update(rows, rows, offsets[r])  # the very same array: the triangle
    except Exception as failure:  # reported at the first status check
        status.record(failure)

    try:
        for s in range(1, half + 1):
            visiting = None
            if incoming is not None:
                handle, visiting, stage = incoming
                transport.wait(handle, prv, stage)
                incoming = None
            incoming = post_blocks(s, visiting)
            owner = block_of(r, s)
            lists = None
            if status.error is None and pair_active(r, s):
                try:
                    with KnnState(ns[owner], k, d, query_offset=offsets[owner],
                                  n_threads=n_threads, max_bytes=max_bytes) as temp:
                        state.update_pair(rows, temp, visiting)
                        lists = np.frombuffer(temp.to_bytes(), dtype=np.uint8).copy()
                except Exception as failure:
                    status.record(failure)
            # every rank hears of a failure before anyone sends or waits for lists
            try:
                _status_check(transport, status, _tag(s, _STATUS), f"ring step {s}'s status check")
            except (Timeout, CommError):
                raise
            except Exception:
                # a clean collective failure: the transfers every rank posted
                # match each other; let them end before their buffers go
                pending = ([incoming[:1] + (prv, incoming[2])] if incoming else []) + sends
                incoming = None
                _drain(transport, pending)
                sends.clear()
                raise
            if lists is not None:
                size = np.array([lists.size], dtype=np.int64)
                stage = f"ring step {s}: sending the lists of block {owner} to rank {owner}"
                sends.append((transport.isend(size, owner, _tag(s, _SIZE), stage), owner, stage))
                sends.append((transport.isend(lists, owner, _tag(s, _LISTS), stage), owner, stage))
            source = (r + s) % P
            if pair_active(source, s):
                stage = f"ring step {s}: receiving the lists of block {r} from rank {source}"
                size = np.zeros(1, dtype=np.int64)
                transport.wait(transport.irecv(size, source, _tag(s, _SIZE), stage), source, stage)
                data = np.empty(int(size[0]), dtype=np.uint8)
                transport.wait(transport.irecv(data, source, _tag(s, _LISTS), stage), source, stage)
                if status.error is None:
                    try:
                        with KnnState.from_bytes(data.tobytes(), n_threads=n_threads,
                                                 max_bytes=max_bytes) as arrived:
                            state.merge(arrived)
                    except Exception as failure:  # reported at the next status check
                        status.record(failure)
            for handle, peer, stage in sends:  # their receivers have posted by now
                transport.wait(handle, peer, stage)
            sends.clear()
    except (Timeout, CommError):
        # the group is broken: transfers may still be under way, so their
        # buffers are kept for the rest of the process, as librlcc_mpi does
        _IN_FLIGHT.extend(([incoming] if incoming else []) + sends)
        if state is not None:
            state.close()
        raise
    except BaseException:
        if state is not None:
            state.close()
        raise
    result = None
    if status.error is None:
        try:
            result = state.finish()
        except Exception as failure:
            status.record(failure)
    try:
        _status_check(transport, status, _tag(half + 1, _STATUS), "the final status check")
    finally:
        if state is not None:
            state.close()
    return result


# ---- pseudo labels ------------------------------------------------------------------------

#: The options every rank must give alike (the normalised kwargs), as packed
#: in the pseudo-label header after n_local, d and the error flag.
_AGREED = struct.Struct("<10if3ddq")  # method metric k1 k2 variant normalize outliers
#                                       reliability guard n_eps, cutoff, eps[3], threshold,
#                                       min_samples
_PSEUDO_INTS = struct.Struct("<qqq")  # n_local, d, error flag
_PSEUDO_HEADER_BYTES = _PSEUDO_INTS.size + _AGREED.size + _MESSAGE_BYTES
_AGREED_NAMES = ("method", "metric", "k1", "k2", "variant", "normalize", "outliers",
                 "reliability", "guard", "eps", "cutoff", "eps", "threshold", "min_samples")


def _pseudo_parameters():
    import inspect

    from ._rlcc import pseudo_labels as single

    return [name for name in inspect.signature(single).parameters if name != "X"]


def _agreed_of(opts) -> tuple:
    eps = sorted(opts.eps[:opts.n_eps]) + [0.0] * (3 - opts.n_eps)  # the library sorts them
    return (opts.method, opts.metric, opts.k1, opts.k2, opts.variant, opts.normalize,
            opts.outliers, opts.reliability, opts.guard, opts.n_eps, opts.cutoff, *eps,
            opts.threshold, opts.min_samples)


def _shown(fields: tuple) -> dict:
    """The agreed options as the caller named them, for the messages."""
    from ._rlcc import _METHODS, _METRICS, _OUTLIERS, _VARIANTS

    def name_of(table, value):
        return next((key for key, code in table.items() if code == value), value)

    (method, metric, k1, k2, variant, normalize, outliers, reliability, guard, n_eps, cutoff,
     e0, e1, e2, threshold, min_samples) = fields
    eps = (e0, e1, e2)[:n_eps]
    return {"method": repr(name_of(_METHODS, method)), "metric": repr(name_of(_METRICS, metric)),
            "k1": k1, "k2": k2, "variant": repr(name_of(_VARIANTS, variant)),
            "normalize": bool(normalize), "outliers": repr(name_of(_OUTLIERS, outliers)),
            "reliability": bool(reliability), "guard": bool(guard),
            "eps": eps[0] if n_eps == 1 else eps, "cutoff": cutoff,
            "threshold": None if threshold < 0 else threshold, "min_samples": min_samples}


def _pseudo_locally(local_x, kwargs, error):
    """(rows or None, filled PseudoOptions or None, n_threads, max_bytes,
    first error or None): the checks a rank makes on its own input."""
    from ._rlcc import _pseudo_options

    rows = opts = None
    n_threads = max_bytes = 0
    try:
        known = _pseudo_parameters()
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise native.invalid(f"pseudo_labels: unexpected argument(s) {', '.join(unknown)} "
                                 f"(it takes those of rlcc.pseudo_labels)")
        method, metric = kwargs.get("method", "dbscan"), kwargs.get("metric", "jaccard")
        if method != "dbscan" or metric != "jaccard":
            raise native.invalid(
                f"method, metric: {method!r}, {metric!r}; rlcc.distributed.pseudo_labels labels "
                "by DBSCAN over the Jaccard distance only (method='dbscan', metric='jaccard')")
        if kwargs.get("normalize", False):
            raise native.invalid("normalize: rlcc.distributed.pseudo_labels takes the rows as "
                                 "they are; L2-normalise them first and pass normalize=False")
        if kwargs.get("knn") is not None:
            raise native.invalid("knn: rlcc.distributed.pseudo_labels computes the kNN lists "
                                 "itself (rlcc.distributed.knn); pass knn=None")
        if kwargs.get("init") is not None:
            raise native.invalid("init: only method='kmeans' reads start centroids")
        given = {key: value for key, value in kwargs.items()
                 if key in ("eps", "min_samples", "k1", "k2", "variant", "cutoff", "outliers",
                            "reliability", "guard", "threshold", "n_threads", "max_bytes")}
        opts = _pseudo_options(**{"eps": (0.58, 0.6, 0.62), "min_samples": 4, "metric": "jaccard",
                                  "k1": 30, "k2": 6, "variant": "dot", "cutoff": 0.9,
                                  "outliers": "singleton", "reliability": None, "guard": True,
                                  "threshold": None, "n_threads": 0, **given})
        n_threads, max_bytes = int(opts.n_threads), int(opts.max_bytes)
        # librlcc checks the options itself: rlcc_pseudo_labels() of no rows
        # (k1 <= N is the collective check below), as librlcc_mpi does
        native.check(native.lib.rlcc_pseudo_labels(None, 0, 1, 1, ctypes.byref(opts),
                                                   None, None, None))
    except native.InvalidArgument as refused:
        error = error or str(refused)
        opts = None
    try:
        rows = _local_rows(local_x)
        if opts is not None and opts.variant == 0:  # RLCC_JACCARD_DOT: unit rows
            norms = np.sqrt(np.einsum("ij,ij->i", rows.astype(np.float64),
                                      rows.astype(np.float64)))
            bad = np.flatnonzero(np.abs(norms - 1.0) > 1e-3)
            if bad.size:
                raise native.invalid(
                    f"x: row {int(bad[0])} has norm {norms[bad[0]]:g}, not 1 within 0.001 (the "
                    "dot variant needs unit rows: L2-normalise them first)")
    except native.InvalidArgument as refused:
        error = error or str(refused)
    return rows, opts, n_threads, max_bytes, error


def _pseudo_header_check(transport, rows, opts, error, agree=(), check=None):
    """Row counts and d of every rank, or InvalidArgument on every rank: a
    rank's refusal, d or an option that differs from rank 0's, ``check(ns,
    d)``'s refusal, k1 > N. ``agree``: more (name, number) pairs that must
    agree (the refiner's options and state), packed as doubles after the
    options."""
    n_local, d = (rows.shape if rows is not None else (0, 0))
    agreed = _agreed_of(opts) if opts is not None else (0,) * 10 + (0.0,) * 5 + (0,)
    extra = struct.Struct(f"<{len(agree)}d")
    header = (_PSEUDO_INTS.pack(n_local, d, 1 if error else 0) + _AGREED.pack(*agreed)
              + extra.pack(*(float(value) for _, value in agree))
              + _pack_message(error or "", _MESSAGE_BYTES))
    table = _exchange(transport, header, _tag(0, _STATUS), "the header check")
    P = transport.size
    ints = [_PSEUDO_INTS.unpack_from(table[r].tobytes()) for r in range(P)]
    at = _PSEUDO_INTS.size + _AGREED.size + extra.size  # the message
    failed = [(r, _unpack_message(table[r, at:].tobytes())) for r in range(P) if ints[r][2]]
    if failed:
        raise native.invalid(_ranks_named(failed))
    ns = [f[0] for f in ints]
    fields = [_AGREED.unpack_from(table[r].tobytes(), _PSEUDO_INTS.size) for r in range(P)]
    disagree = [f"rank {r} has d = {ints[r][1]}, rank 0 has d = {ints[0][1]}"
                for r in range(1, P) if ints[r][1] != ints[0][1]]
    first = _shown(fields[0])
    for r in range(1, P):
        if fields[r] != fields[0]:
            theirs = _shown(fields[r])
            disagree += [f"rank {r} has {name} = {theirs[name]}, rank 0 has {name} = "
                         f"{first[name]}" for name in first if theirs[name] != first[name]]
    if agree:
        values = [extra.unpack_from(table[r].tobytes(), _PSEUDO_INTS.size + _AGREED.size)
                  for r in range(P)]
        disagree += [f"rank {r} has {name} = {_number(values[r][i])}, rank 0 has {name} = "
                     f"{_number(values[0][i])}" for r in range(1, P)
                     for i, (name, _) in enumerate(agree) if values[r][i] != values[0][i]]
    if disagree:
        raise native.invalid("; ".join(disagree))
    if check is not None:
        check(ns, ints[0][1])
    total = sum(ns)
    if 0 < total < opts.k1:
        raise native.invalid(f"k1: {opts.k1} exceeds the {total} rows of all ranks")
    return ns, ints[0][1]


def _number(value: float):
    """An agreed number as the messages show it: an integer as one."""
    return int(value) if float(value).is_integer() else value


def _gather(transport, mine: np.ndarray, theirs: List[np.ndarray], tag: int,
            stage: str) -> List[np.ndarray]:
    """Every rank's block (sizes known to all: ``theirs[b]`` is a buffer of
    rank b's size, ``mine`` this rank's block), in rank order: an
    all-gather of point-to-point messages (empty blocks do not travel), one
    deadline for the whole exchange."""
    return _all_to_all(transport, [mine] * transport.size, theirs, tag, stage)


def _all_to_all(transport, mine: List[np.ndarray], theirs: List[np.ndarray], tag: int,
                stage: str) -> List[np.ndarray]:
    """``mine[b]`` to every rank b and ``theirs[b]`` (a buffer of the size
    rank b sends this rank, known to both) from it: point-to-point messages
    (empty ones do not travel), one deadline for the whole exchange. The
    received blocks in rank order, ``mine[r]`` at this rank's place."""
    P, r = transport.size, transport.rank
    theirs = list(theirs)
    theirs[r] = mine[r]
    deadline = time.monotonic() + transport.timeout
    posted = []
    try:
        for peer in range(P):
            if peer != r and theirs[peer].size:
                posted.append((transport.irecv(theirs[peer], peer, tag, stage), peer))
        for peer in range(P):
            if peer != r and mine[peer].size:
                posted.append((transport.isend(mine[peer], peer, tag, stage), peer))
        for handle, peer in posted:
            transport.wait(handle, peer, stage, deadline - time.monotonic())
    except DistributedError:
        _IN_FLIGHT.append((posted, theirs, mine))
        raise
    return theirs


def _csr_bytes(matrix) -> np.ndarray:
    """A (rows, N) CSR piece as bytes: row lengths (int64), indices (int32),
    data (float32)."""
    lengths = np.diff(np.asarray(matrix.indptr, dtype=np.int64))
    return np.concatenate([lengths.view(np.uint8),
                           np.ascontiguousarray(matrix.indices, dtype=np.int32).view(np.uint8),
                           np.ascontiguousarray(matrix.data, dtype=np.float32).view(np.uint8)])


def _gather_csr(transport, piece, ns, N, step, stage):
    """The (n_b, N) CSR pieces of every rank stacked in rank order: their
    entry counts (an all-gather), then the pieces."""
    import scipy.sparse as sp

    mine = _csr_bytes(piece) if piece is not None else np.zeros(8 * ns[transport.rank], np.uint8)
    nnz = int(piece.nnz) if piece is not None else 0
    table = _exchange(transport, struct.pack("<q", nnz), _tag(step, _SIZE),
                      f"{stage} (sizes)")
    counts = [struct.unpack_from("<q", table[b].tobytes())[0] for b in range(transport.size)]
    buffers = [np.empty(8 * ns[b] + 8 * counts[b], np.uint8) for b in range(transport.size)]
    blocks = _gather(transport, mine, buffers, _tag(step, _LISTS), stage)
    lengths, indices, data = [], [], []
    for b, block in enumerate(blocks):
        lengths.append(block[:8 * ns[b]].view(np.int64))
        indices.append(block[8 * ns[b]:8 * ns[b] + 4 * counts[b]].view(np.int32))
        data.append(block[8 * ns[b] + 4 * counts[b]:].view(np.float32))
    indptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(np.concatenate(lengths), out=indptr[1:])
    return sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=(N, N),
                         copy=False)


def _class_sums(rows, labels_local, classes, sums):
    """Adds this rank's rows to ``sums`` (float32, row t for class
    ``classes[t]``), each class's rows in row order: rlcc_centroids()'s
    float32 accumulation, continued."""
    keep = np.flatnonzero(labels_local >= 0)
    if keep.size == 0:
        return
    slot = np.searchsorted(classes, labels_local[keep])
    order = np.argsort(slot, kind="stable")
    sorted_slot = slot[order]
    starts = np.flatnonzero(np.r_[True, sorted_slot[1:] != sorted_slot[:-1]])
    occurrence = np.empty(keep.size, dtype=np.int64)
    occurrence[order] = np.arange(keep.size) - np.repeat(starts, np.diff(np.r_[starts,
                                                                                keep.size]))
    for t in range(int(occurrence.max()) + 1):  # the t-th member of every class at once
        pick = np.flatnonzero(occurrence == t)
        sums[slot[pick]] += rows[keep[pick]]


def _finish_centroids(sums, counts):
    """rlcc__centroids_norm's RLCC_CENTROID_NORM_DOUBLE ending: the float32
    mean, its squared norm summed in double in column order, one scale."""
    mean = np.where(counts[:, None] > 0, sums / counts.astype(np.float32)[:, None],
                    np.float32(0)).astype(np.float32)
    wide = mean.astype(np.float64)
    norm2 = np.cumsum(wide * wide, axis=1)[:, -1] if mean.shape[1] else np.zeros(len(mean))
    scale = np.zeros(len(mean))
    positive = norm2 > 0
    scale[positive] = 1.0 / np.sqrt(norm2[positive])
    return (wide * scale[:, None]).astype(np.float32)


def _centroids_chain(transport, rows, labels, n_classes, ns, offsets, d, status, step):
    """The centroids of every class, the bytes rlcc.centroids gives on the
    whole matrix: the float32 per-class sums travel from rank 0 to rank P - 1
    (each rank continues them with its rows in row order), the rank holding
    a class's last member finishes it, and the finished rows are
    all-gathered."""
    P, r = transport.size, transport.rank
    N = len(labels)
    member = np.flatnonzero(labels >= 0)
    first = np.full(n_classes, N, dtype=np.int64)
    last = np.full(n_classes, -1, dtype=np.int64)
    np.minimum.at(first, labels[member], member)
    np.maximum.at(last, labels[member], member)
    counts = np.bincount(labels[member], minlength=n_classes).astype(np.int64)
    bounds = offsets + [N]
    owner = np.searchsorted(np.asarray(bounds[1:]), last, side="right")  # rank of the last member
    owner[last < 0] = -1  # a label without members (guard=False): a zero row, as librlcc

    def open_at(b):  # classes with members before row bounds[b] and at or after it
        return np.flatnonzero((first < bounds[b]) & (last >= bounds[b]))

    incoming = open_at(r) if r > 0 else np.zeros(0, np.int64)
    outgoing = open_at(r + 1) if r + 1 < P else np.zeros(0, np.int64)
    local = labels[offsets[r]:offsets[r] + ns[r]]
    classes = np.union1d(incoming, local[local >= 0]).astype(np.int64)
    sums = np.zeros((classes.size, d), dtype=np.float32)
    stage = f"the centroid sums from rank {(r - 1) % P}"
    if incoming.size:
        buffer = np.empty((incoming.size, d), dtype=np.float32)
        transport.wait(transport.irecv(buffer, r - 1, _tag(step, _BLOCK), stage), r - 1, stage)
        sums[np.searchsorted(classes, incoming)] = buffer
    if status.error is None:
        try:
            _class_sums(rows, local, classes, sums)
        except Exception as failure:  # the sums still travel; the status check tells
            status.record(failure)
    if outgoing.size:
        stage = f"the centroid sums to rank {r + 1}"
        payload = np.ascontiguousarray(sums[np.searchsorted(classes, outgoing)])
        transport.wait(transport.isend(payload, r + 1, _tag(step, _BLOCK), stage), r + 1, stage)
    owned = [np.flatnonzero(owner == b) for b in range(P)]
    mine = np.zeros((owned[r].size, d), dtype=np.float32)
    if status.error is None:
        try:
            at = np.searchsorted(classes, owned[r])
            mine = _finish_centroids(sums[at], counts[owned[r]])
        except Exception as failure:
            status.record(failure)
    blocks = _gather(transport, mine, [np.empty((owned[b].size, d), np.float32)
                                       for b in range(P)], _tag(step, _LISTS),
                     "the gather of the centroids")
    centroids = np.zeros((n_classes, d), dtype=np.float32)
    for b in range(P):
        centroids[owned[b]] = blocks[b]
    return centroids


def pseudo_labels(local_x: Any, group=None, comm=None, timeout: float = 600.0,
                  **kwargs: Any) -> "PseudoLabels":
    """:func:`rlcc.pseudo_labels` of the rows of every rank of the group:
    the same :class:`rlcc.PseudoLabels` on every rank, with the labels of
    ALL N rows (rank 0's rows first), n_classes, threshold and the
    centroids of every class, byte for byte what ``rlcc.pseudo_labels(
    np.concatenate(all ranks' rows), **kwargs)`` gives in one process.

    Collective: every rank of the group calls it, with its own rows
    (``n_local`` may be 0) and the same options. ``group``, ``comm`` and
    ``timeout`` as :func:`knn`; ``kwargs`` those of :func:`rlcc.pseudo_labels`:
    DBSCAN over the Jaccard distance only (``method="dbscan"``,
    ``metric="jaccard"``, the defaults), rows as they are
    (``normalize=False``: L2-normalise them first for the dot variant) and
    the kNN computed here (``knn=None``); anything else raises
    ``rlcc.InvalidArgument`` on every rank naming it. eps, min_samples, k1,
    k2, variant, cutoff, outliers, reliability, guard and threshold must
    agree across ranks; n_threads and max_bytes are each rank's own
    (max_bytes bounds each librlcc call of the rank: the kNN state, the
    plan, the Jaccard rows, the labels; not the gathered matrices).

    The schedule (librlcc_mpi's ``rlcc_mpi_pseudo_labels`` runs the same
    stages), every stage ending in a status check (a rank that failed
    raises its own error, the others :class:`RemoteError`):

    a. the header check: every rank validates its rows and options locally
       (librlcc checks the options as rlcc_pseudo_labels() does) and
       all-gathers n_local, d, the options that must agree and its error;
       a refusal, another d or option than rank 0's, or k1 > N raises the
       same InvalidArgument on every rank, naming the ranks and options.
    b. the ring kNN of :func:`knn` with k = k1 (steps 1 .. floor(P/2) + 1).
    c. the kNN lists of every rank all-gathered in rank order: N x k1 on
       every rank.
    d. ``plan = rlcc.JaccardPlan(lists, N, rows=(o_r, o_r + n_r), d, ...)``,
       offered its own block; then P - 1 ring steps: at step t rank r
       holds block (r - t) mod P, received from rank r - 1; it posts the
       forward of that block to rank r + 1 and the receive of the next
       one BEFORE offering it, so the transfers overlap the offer; the
       status check; then the wait for the step's sends. Every rank sees
       every block once; empty blocks do not travel.
    e. the plan's weight rows, all-gathered in rank order (entry counts,
       then the CSR pieces): V, N x N.
    f. ``rlcc.jaccard_rows(V, lists, own range)``, all-gathered in rank
       order: the Jaccard graph (rlcc_jaccard()'s, byte for byte).
    g. rlcc_pseudo_labels_graph() of the graph on every rank: labels,
       n_classes, threshold.
    h. the centroids as rlcc_centroids() sums them, float32 in row order
       per class: the partial sums of the classes that span a rank
       boundary travel from rank 0 to rank P - 1 (rank r adds its rows,
       in order, to what rank r - 1 sent; never an all-reduce, whose order
       would change bits), the rank holding a class's last member divides
       by the count and normalises (in double, in column order, as
       librlcc), and the finished rows are all-gathered.

    Tags: the header is step 0's status, the kNN ring steps 1 ..
    floor(P/2) + 1; with B = floor(P/2) + 2, the list gather is step B,
    ring step t is step B + t, the weights step B + P, the Jaccard rows
    B + P + 1, the labels' status B + P + 2, the centroids B + P + 3.
    Timeouts and dead peers as :func:`knn`.
    """
    native.require_block_jaccard("rlcc.distributed.pseudo_labels")
    native.require_knn_bytes("rlcc.distributed.pseudo_labels")
    return _run("pseudo_labels", group, comm, timeout, lambda transport, error: _pseudo_labels(
        transport, local_x, kwargs, error)[0])


def _pseudo_last_step(P: int) -> int:
    """The step of pseudo_labels' final status check (its last message)."""
    return P // 2 + 2 + P + 4


def _pseudo_labels(transport, local_x, kwargs, error, agree=(), check=None):
    """The stages of pseudo_labels: (result, this rank's rows as float32,
    every rank's row count). ``agree``: (name, number) pairs every rank must
    give alike, compared in the header check with the options; ``check(ns,
    d)``: a check of the agreed header on every rank (the same outcome
    everywhere), raising InvalidArgument before any work."""
    from ._block_jaccard import JaccardPlan, _graph_labels, jaccard_rows
    from ._rlcc import PseudoLabels
    from ._rlcc import pseudo_labels as single

    rows, opts, n_threads, max_bytes, error = _pseudo_locally(local_x, kwargs, error)
    ns, d = _pseudo_header_check(transport, rows, opts, error, agree, check)
    P, r = transport.size, transport.rank
    N = sum(ns)
    if N == 0:  # nothing travels: the one-process result of no rows
        return single(np.zeros((0, d), np.float32), **kwargs), rows, ns
    offsets = [0] * P
    for b in range(1, P):
        offsets[b] = offsets[b - 1] + ns[b - 1]
    k1 = int(opts.k1)
    jaccard = dict(k1=k1, k2=int(opts.k2), variant="sqeuclidean" if opts.variant else "dot",
                   cutoff=float(opts.cutoff), n_threads=n_threads, max_bytes=max_bytes)
    # b. the kNN of every row of this rank, k = k1
    indices, _ = _knn_ring(transport, rows, ns, d, k1, n_threads, max_bytes)
    B = P // 2 + 2
    # c. the lists of every rank
    parts = _gather(transport, np.ascontiguousarray(indices, dtype=np.int64),
                    [np.empty((ns[b], k1), np.int64) for b in range(P)], _tag(B, _BLOCK),
                    "the gather of the kNN lists")
    lists = np.concatenate(parts)
    status = _Status()
    plan = None
    incoming = None
    sends: list = []
    nxt, prv = (r + 1) % P, (r - 1) % P

    def post(t: int, held: np.ndarray):
        """At ring step t (0: the own block): forward the held block to
        rank r + 1 for step t + 1 and post the receive of block (r - t - 1)."""
        if t + 1 > P - 1:
            return None
        b_out, b_in = (r - t) % P, (r - t - 1) % P
        if ns[b_out]:
            stage = f"Jaccard ring step {t + 1}: sending block {b_out} to rank {nxt}"
            sends.append((transport.isend(held, nxt, _tag(B + t + 1, _BLOCK), stage), nxt, stage))
        if ns[b_in]:
            buffer = np.empty((ns[b_in], d), dtype=np.float32)
            stage = f"Jaccard ring step {t + 1}: receiving block {b_in} from rank {prv}"
            return transport.irecv(buffer, prv, _tag(B + t + 1, _BLOCK), stage), buffer, stage
        return None

    try:
        # d. the plan, offered every block as the blocks go around the ring
        incoming = post(0, rows)
        try:
            plan = JaccardPlan(lists, N, (offsets[r], offsets[r] + ns[r]), d, **jaccard)
            plan.offer(rows, rows, offsets[r])
        except Exception as failure:  # reported at the first status check
            status.record(failure)
        for t in range(1, P):
            visiting = None
            if incoming is not None:
                handle, visiting, stage = incoming
                transport.wait(handle, prv, stage)
                incoming = None
            if visiting is None:
                visiting = np.empty((0, d), dtype=np.float32)  # an empty block
            incoming = post(t, visiting)
            if status.error is None and visiting.shape[0]:
                try:
                    plan.offer(rows, visiting, offsets[(r - t) % P])
                except Exception as failure:
                    status.record(failure)
            try:
                _status_check(transport, status, _tag(B + t, _STATUS),
                              f"Jaccard ring step {t}'s status check")
            except (Timeout, CommError):
                raise
            except Exception:
                pending = ([incoming[:1] + (prv, incoming[2])] if incoming else []) + sends
                incoming = None
                _drain(transport, pending)
                sends.clear()
                raise
            for handle, peer, stage in sends:
                transport.wait(handle, peer, stage)
            sends.clear()
        # e. the weight rows of every rank: V
        weights = None
        if status.error is None:
            try:
                weights = plan.weights()
            except Exception as failure:
                status.record(failure)
        if plan is not None:
            plan.close()
        _status_check(transport, status, _tag(B + P, _STATUS), "the weights' status check")
        V = _gather_csr(transport, weights, ns, N, B + P, "the gather of the weights")
        # f. the Jaccard rows of every rank: the graph
        own = None
        try:
            own = jaccard_rows(V, lists, (offsets[r], offsets[r] + ns[r]), **jaccard)
        except Exception as failure:
            status.record(failure)
        del V
        _status_check(transport, status, _tag(B + P + 1, _STATUS),
                      "the Jaccard rows' status check")
        graph = _gather_csr(transport, own, ns, N, B + P + 1, "the gather of the Jaccard rows")
        # g. the labels, on every rank
        result = None
        try:
            result = _graph_labels(graph, opts)
        except Exception as failure:
            status.record(failure)
        del graph
        _status_check(transport, status, _tag(B + P + 2, _STATUS), "the labels' status check")
        # h. the centroids
        centroids = _centroids_chain(transport, rows, result.labels, result.n_classes, ns,
                                     offsets, d, status, B + P + 3)
        _status_check(transport, status, _tag(_pseudo_last_step(P), _STATUS),
                      "the final status check")
        return PseudoLabels(result.labels, result.n_classes, result.threshold, centroids), rows, ns
    except (Timeout, CommError):
        _IN_FLIGHT.extend(([incoming] if incoming else []) + sends)
        raise
    finally:
        if plan is not None:
            plan.close()


# ---- the refiner ---------------------------------------------------------------------------

class Refiner:
    """:class:`rlcc.Refiner` over the ranks of a group: every rank holds
    the same refiner (the labels of all N rows, the centroids, the
    consensus of two generations) and its own block of rows (rank 0 holds
    the first rows).

    ``rlcc.distributed.Refiner(group=None, comm=None, timeout=600.0,
    **kwargs)``: ``group``, ``comm`` and ``timeout`` as :func:`knn`;
    ``kwargs`` are :class:`rlcc.Refiner`'s, for what :func:`pseudo_labels`
    distributes: DBSCAN over the Jaccard distance (``method="dbscan"``,
    ``metric="jaccard"``) of the rows as they are (``normalize=False``);
    anything else raises ``rlcc.InvalidArgument`` here, on the rank that
    makes the refiner (construction is local: no message). The options
    must agree across ranks (the first step compares them), except
    ``n_threads`` and ``max_bytes``, each rank's own.

    ``step(local_x)`` is collective: :func:`pseudo_labels` of every rank's
    rows (at generation >= 1 with the refiner's kept threshold), the
    centroids in one process's float32 order, then
    :meth:`rlcc.Refiner.step_labels` on every rank: the same
    :class:`rlcc.Generation` on every rank, with the labels of all N rows,
    byte for byte what ``rlcc.Refiner(**kwargs).step(np.concatenate(all
    ranks' rows))`` gives. Each rank keeps a copy of its own rows when
    later targets read them (from the second step on, ``beta < 1``).

    ``targets(indices)`` is collective when the targets read features:
    each rank asks for the global rows of its own mini-batch (sizes may
    differ, 0 allowed), the asked feature rows are fetched from the ranks
    that own them (an all-to-all: counts, indices, rows), and each rank
    computes its targets with :meth:`rlcc.Refiner.targets_rows`: the bytes
    of ``rlcc.Refiner.targets`` of the same rows in one process. When the
    targets read no features (the first two generations, or ``beta == 1``)
    no message is sent and the call is local.
    """

    def __init__(self, group=None, comm=None, timeout: float = 600.0, **kwargs: Any):
        from ._rlcc import Refiner as Single

        if group is not None and comm is not None:
            raise native.invalid("group, comm: rlcc.distributed.Refiner: pass a "
                                 "torch.distributed group or an mpi4py communicator, not both")
        native.require_refiner_labels("rlcc.distributed.Refiner")
        native.require_block_jaccard("rlcc.distributed.Refiner")
        native.require_knn_bytes("rlcc.distributed.Refiner")
        method, metric = kwargs.get("method", "dbscan"), kwargs.get("metric", "jaccard")
        if method != "dbscan" or metric != "jaccard":
            raise native.invalid(
                f"method, metric: {method!r}, {metric!r}; rlcc.distributed.Refiner clusters by "
                "DBSCAN over the Jaccard distance only (method='dbscan', metric='jaccard'), what "
                "rlcc.distributed.pseudo_labels distributes")
        if kwargs.get("normalize", False):
            raise native.invalid("normalize: rlcc.distributed.Refiner takes the rows as they "
                                 "are; L2-normalise them first and pass normalize=False")
        wait = _open_timeout(timeout)
        self._local = Single(**kwargs)  # every option checked as rlcc.Refiner checks it
        self._group, self._comm, self._timeout = group, comm, wait
        self._rows: Optional[np.ndarray] = None  # this rank's rows, when the targets read them
        self._ns: Optional[List[int]] = None     # every rank's row count at the latest step

    # ---- readers (local) ------------------------------------------------------------

    @property
    def refiner(self):
        """This rank's :class:`rlcc.Refiner` (the same state on every rank):
        read it (``generation()``, ``bytes()``, ``state_dict()``), do not
        step it."""
        return self._local

    def generation(self) -> "Generation":
        """The latest generation (labels of all N rows, n_classes,
        threshold, centroids, generation), the same on every rank. Local."""
        return self._local.generation()

    def bytes(self) -> int:
        """What this rank holds: its librlcc refiner's bytes plus the copy of
        its own rows kept for later targets. Local."""
        return self._local.bytes() + (0 if self._rows is None else int(self._rows.nbytes))

    def reads_rows(self) -> bool:
        """Whether the targets read feature rows now (generation >= 2,
        ``beta < 1``): then ``targets()`` fetches them from their owners."""
        state = _state_of(self._local)
        return state is not None and state[0] >= 2 and self._local._options.beta < 1.0

    # ---- collective calls -----------------------------------------------------------

    def step(self, local_x: Any, n_threads: int = 0, max_bytes: int = 0) -> "Generation":
        """One generation from every rank's rows (collective): ``local_x``
        this rank's ``(n_local, d)`` rows (numpy or a torch tensor, as
        :func:`knn` takes them; ``n_local`` may be 0 and may change between
        steps, N may not). ``n_threads`` and ``max_bytes`` (0: the
        refiner's) hold for this step on this rank.

        Refused input on any rank (as :func:`pseudo_labels` refuses it),
        options or generations that differ across ranks, or N or d other
        than the first step's raise the same ``InvalidArgument`` on every
        rank. A rank that fails later raises its own error, the others
        :class:`RemoteError` naming it; on every rank the refiner is then
        left as it was (a rank whose step succeeded goes back to the state
        before it). :class:`Timeout` and :class:`CommError` as in
        :func:`knn`."""
        return _run("Refiner.step", self._group, self._comm, self._timeout,
                    lambda transport, error: self._step(transport, local_x, n_threads,
                                                        max_bytes, error))

    def _step(self, transport, local_x, n_threads, max_bytes, error):
        local = self._local
        state = _state_of(local)  # (generation, threshold, n, d), None before the first step
        generation, threshold, n, d = state if state is not None else (0, 0.0, -1, -1)
        kwargs = _pseudo_kwargs_of(local._pseudo)  # the refiner's own (a loaded state's too)
        try:  # this step's per-rank resources (checked again by librlcc)
            if native.integer(n_threads, "n_threads", "int32"):
                kwargs["n_threads"] = n_threads
            if native.integer(max_bytes, "max_bytes"):
                kwargs["max_bytes"] = max_bytes
        except native.InvalidArgument as refused:
            error = error or str(refused)
        if generation >= 1:
            kwargs["threshold"] = threshold  # the refiner keeps generation 0's
        options = local._options
        agree = (("alpha", options.alpha), ("w", options.w), ("beta", options.beta),
                 ("scale", options.scale), ("generation", generation), ("n", n), ("d", d))

        def check(ns, d_x):
            if n >= 0 and (sum(ns), d_x) != (n, d):
                raise native.invalid(f"x: the ranks hold {sum(ns)} rows of d = {d_x}; the "
                                     f"refiner has n = {n}, d = {d} from its first step")

        result, rows, ns = _pseudo_labels(transport, local_x, kwargs, error, agree, check)
        status = _Status()
        before = local.state_dict() if transport.size > 1 else None
        stepped = None
        try:
            stepped = local.step_labels(result.labels, result.n_classes, result.centroids,
                                        result.threshold, n_threads=n_threads,
                                        max_bytes=max_bytes)
        except Exception as failure:
            status.record(failure)
        try:
            _status_check(transport, status, _tag(_pseudo_last_step(transport.size) + 1,
                                                  _STATUS), "the refiner step's status check")
        except BaseException:
            if stepped is not None:  # another rank failed: back to the state before
                local.load_state_dict(before)
            raise
        reads = stepped.generation >= 2 and options.beta < 1.0
        self._rows = np.array(rows, dtype=np.float32, order="C", copy=True) if reads else None
        self._ns = list(ns)
        return stepped

    def targets(self, indices: Any = None, n_threads: int = 0, max_bytes: int = 0) -> np.ndarray:
        """Training targets (float32, ``len(indices) x n_classes``) of the
        latest generation for this rank's mini-batch: ``indices`` GLOBAL
        sample indices in ``[0, N)`` (None: all N), any count on each rank
        (0 allowed). Byte for byte ``rlcc.Refiner.targets`` of the same rows
        in one process.

        Collective when :meth:`reads_rows` (the same answer on every rank):
        the asked rows' features are fetched from their owners: every rank
        all-gathers the number of distinct rows it asks of each rank (with
        its generation and its local error), sends each owner the indices, and receives the
        rows; a refused ``indices`` on any rank raises the same
        ``InvalidArgument`` on every rank, a failure later its own error on
        the failing rank and :class:`RemoteError` on the others. Otherwise
        local: no message, and a refusal raises on its rank only.
        ``n_threads`` and ``max_bytes`` as :meth:`rlcc.Refiner.targets`."""
        if _state_of(self._local) is None:
            raise native.invalid("refiner: no generation yet (call step)")
        if not self.reads_rows():
            return self._local.targets_rows(indices, None, n_threads, max_bytes)
        return _run("Refiner.targets", self._group, self._comm, self._timeout,
                    lambda transport, error: self._fetch_targets(transport, indices, n_threads,
                                                                 max_bytes, error))

    def _fetch_targets(self, transport, indices, n_threads, max_bytes, error):
        from ._rlcc import _rows as sample_rows

        P, r = transport.size, transport.rank
        ns = self._ns
        d = self._local._shape[1]
        if len(ns) != P:  # a group of another size than the step's
            error = error or (f"group: {P} ranks; the latest step ran on {len(ns)}")
            ns = (list(ns) + [0] * P)[:P]
        N = sum(ns)
        ends = np.cumsum(ns)
        offsets = ends - np.asarray(ns)
        picked = np.zeros(0, np.int64)
        try:
            for value, name in ((n_threads, "n_threads"), (max_bytes, "max_bytes")):
                if native.integer(value, name, "int32" if name == "n_threads" else "int64") < 0:
                    raise native.invalid(f"{name}: {value}; it must be >= 0")
            asked = sample_rows(indices)
            picked = np.arange(N, dtype=np.int64) if asked is None else asked
            bad = np.flatnonzero((picked < 0) | (picked >= N))
            if bad.size:
                raise native.invalid(f"rows: entry {int(bad[0])} is {int(picked[bad[0]])}, "
                                     f"outside [0, {N})")
        except native.InvalidArgument as refused:
            error = error or str(refused)
            picked = np.zeros(0, np.int64)
        # a. the header: how many distinct rows this rank asks of each rank
        wanted = np.unique(picked)
        owner = np.searchsorted(ends, wanted, side="right")
        counts = np.bincount(owner, minlength=P).astype(np.int64)
        generation = _state_of(self._local)[0]
        record = (counts.astype("<i8").tobytes() + struct.pack("<qq", generation, 1 if error else 0)
                  + _pack_message(error or "", _MESSAGE_BYTES))
        table = _exchange(transport, record, _tag(0, _STATUS), "the targets' header check")
        heads = [struct.unpack_from("<qq", table[b].tobytes(), 8 * P) for b in range(P)]
        failed = [(b, _unpack_message(table[b, 8 * P + 16:].tobytes())) for b in range(P)
                  if heads[b][1]]
        if failed:
            raise native.invalid(_ranks_named(failed))
        differ = [f"rank {b} has {heads[b][0]}" for b in range(1, P) if heads[b][0] != heads[0][0]]
        if differ:
            raise native.invalid(f"refiner: generations differ across ranks ({', '.join(differ)}, "
                                 f"rank 0 has {heads[0][0]})")
        asks = np.stack([table[b, :8 * P].view("<i8") for b in range(P)])  # asks[b, c]
        # b. the indices (local to their owner) each rank asks of each owner
        mine = [np.ascontiguousarray(wanted[owner == c] - offsets[c], dtype=np.int64)
                for c in range(P)]
        theirs = _all_to_all(transport, mine, [np.empty(int(asks[b, r]), np.int64)
                                               for b in range(P)],
                             _tag(1, _BLOCK), "the targets' row indices")
        # c. the rows, from their owners
        status = _Status()
        replies = []
        for b in range(P):
            reply = np.zeros((theirs[b].size, d), dtype=np.float32)
            if status.error is None:
                try:
                    if theirs[b].size and (theirs[b].min() < 0 or theirs[b].max() >= ns[r]):
                        raise native.invalid(f"rank {b} asked for rows outside this rank's "
                                             f"{ns[r]}")
                    reply = self._rows[theirs[b]]
                except Exception as failure:  # the rows still travel; the status check tells
                    status.record(failure)
            replies.append(reply)
        got = _all_to_all(transport, replies, [np.empty((int(asks[r, c]), d), np.float32)
                                               for c in range(P)],
                          _tag(1, _LISTS), "the targets' feature rows")
        # d. the targets, here
        out = None
        if status.error is None:
            try:
                x = np.concatenate(got) if wanted.size else np.zeros((0, d), np.float32)
                out = self._local.targets_rows(picked, x[np.searchsorted(wanted, picked)],
                                               n_threads, max_bytes)
            except Exception as failure:
                status.record(failure)
        _status_check(transport, status, _tag(2, _STATUS), "the targets' status check")
        return out

    # ---- checkpoints (local) --------------------------------------------------------

    def state_dict(self) -> dict:
        """This rank's state as plain values: ``{"refiner":
        rlcc.Refiner.state_dict(), "rows": bytes of the kept rows or None,
        "rows_shape": [n_local, d] or None, "ns": every rank's row count at
        the latest step or None}``. Local; each rank saves its own."""
        rows = self._rows
        return {"refiner": self._local.state_dict(),
                "rows": None if rows is None else rows.astype("<f4").tobytes(),
                "rows_shape": None if rows is None else [int(rows.shape[0]), int(rows.shape[1])],
                "ns": None if self._ns is None else [int(v) for v in self._ns]}

    def load_state_dict(self, state_dict: Any, n_threads: int = 0, max_bytes: int = 0) -> None:
        """Replaces this rank's state by one from :meth:`state_dict` (of the
        same rank): the refiner's state and options (the constructor's
        do not matter, as for :meth:`rlcc.Refiner.load_state_dict`), the
        kept rows, the row counts. Local; every rank loads its own.
        Everything is checked first and the refiner is unchanged on any
        error."""
        from collections.abc import Mapping

        if not isinstance(state_dict, Mapping) or not {"refiner", "rows", "rows_shape",
                                                       "ns"} <= set(state_dict):
            raise native.invalid("state_dict: not a mapping from "
                                 "rlcc.distributed.Refiner.state_dict()")
        ns = state_dict["ns"]
        ns = None if ns is None else [native.integer(v, "state_dict['ns']") for v in ns]
        rows = None
        if state_dict["rows"] is not None:
            shape = state_dict["rows_shape"]
            data = state_dict["rows"]
            if (not isinstance(data, (bytes, bytearray)) or not isinstance(shape, (list, tuple))
                    or len(shape) != 2 or ns is None):
                raise native.invalid("state_dict: 'rows' must be bytes with a 'rows_shape' of "
                                     "two and the row counts 'ns'")
            n_local, d = (native.integer(v, "state_dict['rows_shape']") for v in shape)
            if n_local < 0 or d < 1 or len(data) != 4 * n_local * d or n_local not in ns:
                raise native.invalid(f"state_dict: 'rows' holds {len(data)} bytes, not "
                                     f"{n_local} x {d} float32 rows of a rank")
            rows = np.frombuffer(data, dtype="<f4").astype(np.float32).reshape(n_local, d)
        from ._rlcc import Refiner as Single

        loaded = Single()
        loaded.load_state_dict(state_dict["refiner"], n_threads, max_bytes)
        state = _state_of(loaded)
        reads = state is not None and state[0] >= 2 and loaded._options.beta < 1.0
        if reads != (rows is not None):
            raise native.invalid("state_dict: no kept rows, but the refiner's targets read "
                                 "rows" if reads else "state_dict: kept rows, but the "
                                 "refiner's targets read none")
        if rows is not None and (sum(ns), rows.shape[1]) != (state[2], state[3]):
            raise native.invalid(f"state_dict: the row counts {ns} and d = {rows.shape[1]} do "
                                 f"not match the refiner's n = {state[2]}, d = {state[3]}")
        pseudo = loaded._pseudo
        if pseudo.method != 0 or pseudo.metric != 2 or pseudo.normalize:
            raise native.invalid("state_dict: a refiner of another method, metric or "
                                 "normalize=True (rlcc.distributed.Refiner runs DBSCAN over "
                                 "the Jaccard distance of the rows as they are)")
        self._local, self._rows, self._ns = loaded, rows, ns


def _pseudo_kwargs_of(pseudo) -> dict:
    """rlcc.pseudo_labels's keywords for a refiner's PseudoOptions (DBSCAN
    over the Jaccard distance): what its own step would cluster with."""
    eps = [float(e) for e in pseudo.eps[:pseudo.n_eps]]
    return dict(eps=eps[0] if len(eps) == 1 else tuple(eps), min_samples=int(pseudo.min_samples),
                k1=int(pseudo.k1), k2=int(pseudo.k2),
                variant="sqeuclidean" if pseudo.variant else "dot", cutoff=float(pseudo.cutoff),
                outliers="singleton" if pseudo.outliers else "keep",
                reliability=bool(pseudo.reliability), guard=bool(pseudo.guard),
                threshold=None if pseudo.threshold < 0 else float(pseudo.threshold),
                n_threads=int(pseudo.n_threads), max_bytes=int(pseudo.max_bytes))


def _open_timeout(timeout) -> float:
    """A timeout checked locally (the constructor's): seconds > 0, finite."""
    try:
        seconds = float(timeout)
        if math.isfinite(seconds) and seconds > 0:
            return seconds
    except (TypeError, ValueError):
        pass
    raise native.invalid(f"timeout: {timeout!r}; it must be a finite number of seconds > 0")


def _state_of(refiner) -> Optional[Tuple[int, float, int, int]]:
    """(generation, threshold, n, d) of an rlcc.Refiner, None before its
    first step: scalar reads (generation() copies the labels)."""
    handle = refiner._handle
    if handle is None:
        return None
    lib = native.lib
    n, d = refiner._shape
    return (int(lib.rlcc_refiner_generation(handle)), float(lib.rlcc_refiner_threshold(handle)),
            int(n), int(d))
