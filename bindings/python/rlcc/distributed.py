"""``rlcc.distributed``: the exact kNN of rows spread over the ranks of a
trainer's own process group, byte for byte what :func:`rlcc.knn` gives on
the concatenated matrix.

``knn(local_x, k, group=None, comm=None, ...)`` is collective: every rank of
the group calls it with its own rows. It runs over a torch.distributed
process group (``group``; ``None`` and no ``comm`` is torch's default group;
CPU tensors, so gloo) or over an mpi4py communicator (``comm``; torch is then
never imported). Importing ``rlcc`` or ``rlcc.distributed`` imports neither
torch nor mpi4py: each is imported by the call that uses it.

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

import math
import struct
import time
from typing import Any, List, Optional, Tuple

import numpy as np

from . import _native as native
from ._dbscan import as_float32_matrix
from ._knn_state import KnnState

__all__ = ["knn", "DistributedError", "RemoteError", "Timeout", "CommError"]

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
    if group is not None and comm is not None:
        raise native.invalid("group, comm: pass a torch.distributed group or an mpi4py "
                             "communicator, not both")
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
    ok = False
    try:
        result = _ring_knn(transport, local_x, k, n_threads, max_bytes, error)
        ok = True
        return result
    finally:
        transport.close(ok)


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
