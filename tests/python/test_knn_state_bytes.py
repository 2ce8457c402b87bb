"""The 1.8 block kNN calls through the binding: KnnState.update_pair (two
blocks from one Gram block), to_bytes / from_bytes and pickling.

Random blockings of matrices full of near-ties (the kinds of
test_knn_exact.py plus plain gaussian rows), composed the way a distributed
engine composes them: each block against itself by update() (the very same
array object), each pair of blocks once by update_pair() in a shuffled order,
half of the time into a fresh temporary state that travels as bytes (or a
pickle) and is merged into the owner's state; states round-tripped through
bytes, pickle and copy on the way. Every block's lists must be the bytes of
rlcc.knn on the whole matrix. Then the refusals (both states unchanged, byte
for byte) and damaged bytes (refused, resealed with a valid CRC-32C or not).
"""

import copy
import pickle
import struct

import numpy as np
import pytest

import rlcc
from rlcc import _native
from test_knn_exact import KINDS, assert_same_bytes, cuts, row_source

pytestmark = pytest.mark.skipif(not _native.HAS_KNN_BYTES,
                                reason="the loaded librlcc predates 1.8")


def gaussian_rows(rng, n, d):
    return rng.normal(size=(n, d)).astype(np.float32) * np.float32(rng.choice([1.0, 1e-3, 50.0]))


BYTES_KINDS = [gaussian_rows] + KINDS
N_PAIR_CASES = 48


def travel(rng, state):
    """state after a trip through to_bytes/from_bytes, pickle or copy (a new
    object owning a new library state), or state itself."""
    how = int(rng.integers(0, 5))
    if how == 0:
        twin = rlcc.KnnState.from_bytes(state.to_bytes(), n_threads=int(rng.choice([0, 1, 2])))
    elif how == 1:
        twin = pickle.loads(pickle.dumps(state, protocol=int(rng.integers(2, 6))))
    elif how == 2:
        twin = copy.deepcopy(state)
    elif how == 3:
        twin = rlcc.KnnState.from_bytes(bytearray(state.to_bytes()))
    else:
        return state
    assert twin.to_bytes() == state.to_bytes()
    assert (twin.n_queries, twin.k, twin.d, twin.query_offset) == \
        (state.n_queries, state.k, state.d, state.query_offset)
    state.close()
    return twin


def pair_case(index):
    rng = np.random.default_rng(28000 + index)
    n = int(rng.integers(2, 241))
    d = int(rng.integers(1, 65))
    X = BYTES_KINDS[index % len(BYTES_KINDS)](rng, n, d)
    source = row_source(rng, X)
    blocks = list(zip(*(lambda c: (c[:-1], c[1:]))(cuts(rng, n, int(rng.integers(1, 7))))))
    if rng.random() < 0.25:  # an empty block, as a rank with no rows
        at = blocks[int(rng.integers(0, len(blocks)))][0]
        blocks.insert(int(rng.integers(0, len(blocks) + 1)), (at, at))
    # k may differ between blocks (update_pair allows it); each within [1, n]
    ks = [int(rng.integers(1, min(n, 30) + 1)) for _ in blocks]
    wants = {k: rlcc.knn(X, k) for k in set(ks)}
    options = dict(n_threads=int(rng.choice([0, 1, 2])), max_bytes=int(rng.choice([0, 1 << 24])))
    states = []
    for (b0, b1), k in zip(blocks, ks):
        state = rlcc.KnnState(b1 - b0, k, d, query_offset=b0, **options)
        rows = source[b0:b1]
        state.update(rows, rows, b0)  # the diagonal block: the very same object
        states.append(state)
    pairs = [(a, b) for a in range(len(blocks)) for b in range(a + 1, len(blocks))]
    for p in rng.permutation(len(pairs)):
        a, b = pairs[p]
        if rng.random() < 0.5:
            a, b = b, a  # either side may hold the Gram block
        rows_a = source[blocks[a][0]:blocks[a][1]]
        rows_b = source[blocks[b][0]:blocks[b][1]]
        if rng.random() < 0.5:
            # as a ring does: b's lists for this pair in a temporary state
            # that travels to b's owner as bytes and is merged there
            temp = rlcc.KnnState(rows_b.shape[0], ks[b], d, query_offset=blocks[b][0], **options)
            states[a].update_pair(rows_a, temp, rows_b)
            pickled = rng.random() < 0.3
            wire = pickle.dumps(temp) if pickled else temp.to_bytes()
            temp.close()
            arrived = pickle.loads(wire) if pickled else rlcc.KnnState.from_bytes(wire)
            states[b].merge(arrived)
            arrived.close()
        else:
            states[a].update_pair(rows_a, states[b], rows_b)
        if rng.random() < 0.3:
            which = int(rng.choice([a, b]))
            states[which] = travel(rng, states[which])
    for (b0, b1), k, state in zip(blocks, ks, states):
        state = travel(rng, state)
        indices, dist = state.finish()
        assert_same_bytes(indices, wants[k][0][b0:b1], f"case {index} rows {b0}:{b1} indices")
        assert_same_bytes(dist, wants[k][1][b0:b1], f"case {index} rows {b0}:{b1} sqdist")
        state.close()


@pytest.mark.parametrize("index", range(N_PAIR_CASES))
def test_update_pair_and_bytes_give_rlcc_knn_bytes(index):
    pair_case(index)


def held_entries(data):
    """The shape, counts and each row's held entries, sorted, of a state's
    bytes: what the lists are, whatever order a row's heap keeps them in."""
    n = struct.unpack_from("<q", data, 24)[0]
    head = struct.unpack_from("<7q", data, 24)
    sizes = struct.unpack_from(f"<{n}i", data, 80)
    at, rows = 80 + 4 * n, []
    for size in sizes:
        rows.append(sorted(struct.unpack_from("<dq", data, at + 16 * e) for e in range(size)))
        at += 16 * size
    return head, rows


def test_update_pair_equals_two_updates():
    """update_pair leaves each state the lists and counts that update() with
    the other's rows leaves it: the same finish() bytes and the same held
    entries. (Not always the same to_bytes(): a row's heap may hold the
    same entries in another order, seen here on last-bit rows; finish()
    sorts them.)"""
    rng = np.random.default_rng(5)
    X = KINDS[2](rng, 90, 12)  # last-bit neighbours
    a, b = rlcc.KnnState(40, 7, 12), rlcc.KnnState(50, 3, 12, query_offset=40)
    a2, b2 = rlcc.KnnState(40, 7, 12), rlcc.KnnState(50, 3, 12, query_offset=40)
    a.update_pair(X[:40], b, X[40:])
    a2.update(X[:40], X[40:], 40)
    b2.update(X[40:], X[:40], 0)
    for pair, twin in ((a, a2), (b, b2)):
        assert held_entries(pair.to_bytes()) == held_entries(twin.to_bytes())
        for got, want in zip(pair.finish(), twin.finish()):
            assert_same_bytes(got, want, "update_pair vs update")
    assert a.stats()["n_updates"] == 1 and b.stats()["n_updates"] == 1


def test_update_pair_refusals_leave_both_states_unchanged():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 5)).astype(np.float32)
    a = rlcc.KnnState(20, 4, 5)
    b = rlcc.KnnState(20, 3, 5, query_offset=20)
    a.update(X[:20], X[:20], 0)
    b.update(X[20:], X[20:], 20)
    overlap = rlcc.KnnState(20, 4, 5, query_offset=10)
    narrow = rlcc.KnnState(20, 4, 4, query_offset=20)
    nan_rows = X[20:].copy()
    nan_rows[3, 2] = np.nan
    inf_rows = X[:20].copy()
    inf_rows[7, 0] = np.inf
    before = {id(s): s.to_bytes() for s in (a, b, overlap, narrow)}

    def unchanged():
        for s in (a, b, overlap, narrow):
            assert s.to_bytes() == before[id(s)]

    refusals = [
        (lambda: a.update_pair(X[:20], a, X[:20]), "same state"),
        (lambda: a.update_pair(X[:20], overlap, X[10:30]), "overlap"),
        (lambda: overlap.update_pair(X[10:30], a, X[:20]), "overlap"),
        (lambda: a.update_pair(X[:20], narrow, X[20:, :4]), "d"),
        (lambda: a.update_pair(X[:20], b, nan_rows), ""),
        (lambda: a.update_pair(inf_rows, b, X[20:]), ""),
        (lambda: a.update_pair(X[:19], b, X[20:]), "rows: shape"),
        (lambda: a.update_pair(X[:20], b, X[20:39]), "other_rows: shape"),
        (lambda: a.update_pair(X[:20], b, X[20:, :4]), "other_rows: shape"),
    ]
    for call, match in refusals:
        with pytest.raises(rlcc.InvalidArgument, match=match):
            call()
        unchanged()
    with pytest.raises(TypeError):
        a.update_pair(X[:20], object(), X[20:])
    # either state in use by another call: refused, never waited for
    for held, message in ((a, "state: in use"), (b, "other: state: in use")):
        with held._lock:
            with pytest.raises(rlcc.InvalidArgument, match=message):
                a.update_pair(X[:20], b, X[20:])
    unchanged()
    closed = rlcc.KnnState(20, 3, 5, query_offset=20)
    closed.close()
    with pytest.raises(rlcc.InvalidArgument, match="other: state: closed"):
        a.update_pair(X[:20], closed, X[20:])
    for call in (closed.to_bytes, lambda: closed.update_pair(X[20:], a, X[:20])):
        with pytest.raises(rlcc.InvalidArgument, match="closed"):
            call()
    unchanged()
    # and after all that the pair still composes to rlcc.knn
    a.update_pair(X[:20], b, X[20:])
    for state, k, rows in ((a, 4, slice(0, 20)), (b, 3, slice(20, 40))):
        for got, want in zip(state.finish(), rlcc.knn(X, k)):
            assert_same_bytes(got, want[rows], f"k {k}")


# ---- damaged bytes -------------------------------------------------------------------------

def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def reseal(body):
    """The bytes with their size field and CRC-32C made right again."""
    body = bytearray(body)
    struct.pack_into("<Q", body, 16, len(body) + 4)
    return bytes(body) + struct.pack("<I", crc32c(body))


def small_state():
    X = np.array([[0.0, 1.0], [2.0, 0.5], [1.0, 1.0], [3.0, 3.0], [0.0, 0.0]], np.float32)
    state = rlcc.KnnState(3, 3, 2, query_offset=1)
    state.update(X[1:4], X, 0)
    return state


def test_to_bytes_is_sealed_and_reproducible():
    state = small_state()
    data = state.to_bytes()
    assert data[:8] == b"\x89RLCCKS\x1a"
    assert struct.unpack_from("<Q", data, 16)[0] == len(data)
    assert struct.unpack_from("<4q", data, 24) == (3, 1, 2, 3)  # n_queries, offset, d, k
    assert crc32c(data[:-4]) == struct.unpack_from("<I", data, len(data) - 4)[0]
    assert reseal(data[:-4]) == data
    assert state.to_bytes() == data  # saving changes nothing
    loaded = rlcc.KnnState.from_bytes(data)
    assert loaded.to_bytes() == data and loaded.stats()["n_updates"] == 1
    for got, want in zip(loaded.finish(), state.finish()):
        assert_same_bytes(got, want, "loaded")
    np_loaded = rlcc.KnnState.from_bytes(np.frombuffer(data, np.uint8))
    assert np_loaded.to_bytes() == data
    # the size grows with the lists: an empty state, then a full one
    empty = rlcc.KnnState(3, 3, 2, query_offset=1)
    assert len(empty.to_bytes()) == 24 + 56 + 4 * 3 + 4
    assert len(data) == 24 + 56 + 4 * 3 + 16 * 9 + 4


def test_damaged_bytes_are_refused():
    data = small_state().to_bytes()
    # every flipped byte, every truncation, one byte more: refused
    for at in range(len(data)):
        damaged = bytearray(data)
        damaged[at] ^= 0x10
        with pytest.raises(rlcc.InvalidArgument, match="buffer"):
            rlcc.KnnState.from_bytes(bytes(damaged))
    for size in range(len(data)):
        with pytest.raises(rlcc.InvalidArgument, match="buffer"):
            rlcc.KnnState.from_bytes(data[:size])
    with pytest.raises(rlcc.InvalidArgument, match="buffer"):
        rlcc.KnnState.from_bytes(data + b"\0")
    # resealed with a valid checksum, yet inconsistent: still refused
    body = bytearray(data[:-4])
    entries = 24 + 56 + 4 * 3  # the first row's entries: (double D, int64 index) each

    def edit(fn):
        copy_ = bytearray(body)
        fn(copy_)
        return reseal(copy_)

    inconsistent = {
        "format 2": edit(lambda b: struct.pack_into("<I", b, 8, 2)),
        "k 0": edit(lambda b: struct.pack_into("<q", b, 48, 0)),
        "d -1": edit(lambda b: struct.pack_into("<q", b, 40, -1)),
        "offset -1": edit(lambda b: struct.pack_into("<q", b, 32, -1)),
        "more rows": edit(lambda b: struct.pack_into("<q", b, 24, 4)),
        "negative count": edit(lambda b: struct.pack_into("<q", b, 56, -1)),
        "list size above k": edit(lambda b: struct.pack_into("<i", b, 80, 4)),
        "negative distance": edit(lambda b: struct.pack_into("<d", b, entries, -1.0)),
        "nan distance": edit(lambda b: struct.pack_into("<d", b, entries, float("nan"))),
        "inf distance": edit(lambda b: struct.pack_into("<d", b, entries, float("inf"))),
        "negative index": edit(lambda b: struct.pack_into("<q", b, entries + 8, -1)),
        "index twice": edit(lambda b: b.__setitem__(slice(entries + 24, entries + 32),
                                                    b[entries + 8:entries + 16])),
        "not a heap": edit(lambda b: b.__setitem__(slice(entries, entries + 32),
                                                   b[entries + 16:entries + 32]
                                                   + b[entries:entries + 16])),
    }
    for what, damaged in inconsistent.items():
        with pytest.raises(rlcc.InvalidArgument):
            rlcc.KnnState.from_bytes(damaged)
            pytest.fail(f"{what}: accepted")
    # the unedited body resealed is accepted (the edits, not the resealing, were refused)
    assert rlcc.KnnState.from_bytes(reseal(body)).to_bytes() == data
    for bad in (b"", b"\x89RLCCKS\x1a"):
        with pytest.raises(rlcc.InvalidArgument):
            rlcc.KnnState.from_bytes(bad)
    with pytest.raises(TypeError):
        rlcc.KnnState.from_bytes("not bytes")
    with pytest.raises(rlcc.InvalidArgument, match="uint8"):
        rlcc.KnnState.from_bytes(np.zeros(4, np.float32))
    with pytest.raises(rlcc.InvalidArgument, match="n_threads"):
        rlcc.KnnState.from_bytes(data, n_threads=2**31)
    with pytest.raises(rlcc.OutOfMemory):
        rlcc.KnnState.from_bytes(data, max_bytes=64)


def test_pickle_and_copy_keep_the_lists_and_own_their_state():
    state = small_state()
    state2 = rlcc.KnnState(2, 1, 2, n_threads=1, max_bytes=1 << 20)
    box = {"a": state, "b": [state2]}
    restored = pickle.loads(pickle.dumps(box))
    assert restored["a"].to_bytes() == state.to_bytes()
    assert restored["a"]._handle != state._handle
    assert (restored["b"][0]._n_threads, restored["b"][0]._max_bytes) == (0, 0)
    twin = copy.copy(state2)
    assert (twin._n_threads, twin._max_bytes) == (1, 1 << 20)
    state.close()
    assert restored["a"].finish()[0].shape == (3, 3)  # the copy lives on
