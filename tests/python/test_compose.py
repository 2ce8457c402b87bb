"""The 1.4 surface from Python: the _opts twins behind n_threads= and
max_bytes=, pseudo_labels(method=), the refiner's matrix step (copy and
borrow), Refiner.bytes() and Refiner.targets(n_threads=, max_bytes=).

Every new keyword must give the bits of the 1.2 call it extends: the 1.2 C
functions are called here directly through ctypes as the reference (the
binding itself now goes through the _opts twins), and floats are compared
as uint32 bit patterns."""

import ctypes
import gc
import os
import shutil
import subprocess
import threading
import weakref
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import rlcc
from rlcc import _native as native

TOP = Path(__file__).resolve().parents[2]
LIB = native.lib
F32, I32, I64 = ctypes.c_float, ctypes.c_int32, ctypes.c_int64


def same(got, want):
    """Identical shape, dtype and bits (float32 as uint32: -0.0 != 0.0)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape)
    if got.dtype == np.float32:
        got = np.ascontiguousarray(got).view(np.uint32)
        want = np.ascontiguousarray(want).view(np.uint32)
    assert np.array_equal(got, want)


def same_csr(got, want):
    assert got.shape == want.shape
    same(got.indptr.astype(np.int64), want.indptr.astype(np.int64))
    same(got.indices.astype(np.int32), want.indices.astype(np.int32))
    same(got.data, want.data)


def ptr(array, ctype):
    return native.pointer(array, ctype)


def reid(rng, n_ids, per_id, d, noise):
    centres = rng.normal(size=(n_ids, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    ids = np.repeat(np.arange(n_ids), per_id)
    X = centres[ids] + rng.normal(size=(len(ids), d)) * noise / np.sqrt(d)
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def generations(seed=11, n_ids=60, per_id=10, d=24, count=3):
    """Features of `count` training generations: one identity layout, less
    noise each time (as a model that learns)."""
    rng = np.random.default_rng(seed)
    base = reid(rng, n_ids, per_id, d, 0.8)
    out = []
    for t in range(count):
        X = base + rng.normal(size=base.shape).astype(np.float32) * (0.4 / (t + 1)) / np.sqrt(d)
        out.append((X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32))
    return out


@pytest.fixture(scope="module")
def data():
    """Labels with noise, features, centroids, consensus and probabilities,
    large enough (n > 256 rows) that propagation and blending use threads."""
    rng = np.random.default_rng(5)
    n, d, k_prev, k_cur = 3000, 32, 90, 110
    prev = rng.integers(-1, k_prev, size=n).astype(np.int32)
    cur = np.where(rng.random(n) < 0.7, np.maximum(prev, 0) % k_cur,
                   rng.integers(-1, k_cur, size=n)).astype(np.int32)
    x = rng.normal(size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    rows = rng.permutation(n)[:700].astype(np.int64)
    return dict(n=n, d=d, k_prev=k_prev, k_cur=k_cur, prev=prev, cur=cur, x=x, rows=rows)


# ---- the 1.2 calls, straight through ctypes ----------------------------------

def old_centroids(x, labels, k):
    out = np.zeros((k, x.shape[1]), dtype=np.float32)
    native.check(LIB.rlcc_centroids(ptr(x, F32), x.shape[0], x.shape[1], x.shape[1],
                                    ptr(labels, I32), k, ptr(out, F32), x.shape[1]))
    return out


def old_consensus(prev, cur, k_prev, k_cur, kind, normalize):
    out = np.zeros((k_prev, k_cur), dtype=np.float32)
    native.check(LIB.rlcc_consensus(ptr(prev, I32), ptr(cur, I32), len(prev), k_prev, k_cur,
                                    kind, normalize, ptr(out, F32), k_cur))
    return out


def old_counts(prev, cur, k_prev, k_cur):
    out = np.zeros((k_prev, k_cur), dtype=np.int64)
    native.check(LIB.rlcc_consensus_counts(ptr(prev, I32), ptr(cur, I32), len(prev), k_prev,
                                           k_cur, ptr(out, I64), k_cur))
    return out


def old_consensus_csr(prev, cur, k_prev, k_cur, kind, normalize):
    handle = ctypes.c_void_p()
    native.check(LIB.rlcc_consensus_csr(ptr(prev, I32), ptr(cur, I32), len(prev), k_prev, k_cur,
                                        kind, normalize, ctypes.byref(handle)))
    try:
        nnz, rows = LIB.rlcc_csr_nnz(handle), LIB.rlcc_csr_rows(handle)

        def copy(address, count, ctype, dtype):
            if count == 0:
                return np.zeros(0, dtype=dtype)
            view = ctypes.cast(address, ctypes.POINTER(ctype))
            return np.ctypeslib.as_array(view, shape=(count,)).astype(dtype, copy=True)

        return sp.csr_matrix((copy(LIB.rlcc_csr_data(handle), nnz, F32, np.float32),
                              copy(LIB.rlcc_csr_indices(handle), nnz, I32, np.int32),
                              copy(LIB.rlcc_csr_indptr(handle), rows + 1, I64, np.int64)),
                             shape=(rows, LIB.rlcc_csr_cols(handle)))
    finally:
        LIB.rlcc_csr_free(handle)


def old_probabilities(x, cents, scale, rows):
    n_rows = x.shape[0] if rows is None else len(rows)
    out = np.empty((n_rows, cents.shape[0]), dtype=np.float32)
    native.check(LIB.rlcc_class_probabilities(
        ptr(x, F32), x.shape[0], x.shape[1], x.shape[1], ptr(cents, F32), cents.shape[0],
        cents.shape[1], scale, None if rows is None else ptr(rows, I64), n_rows, ptr(out, F32),
        cents.shape[0], 0))
    return out


def old_propagate(labels, C, probs, w, beta, rows):
    C = sp.csr_matrix(C, dtype=np.float32)
    indptr, indices = C.indptr.astype(np.int64), C.indices.astype(np.int32)
    n_rows = len(labels) if rows is None else len(rows)
    out = np.empty((n_rows, C.shape[1]), dtype=np.float32)
    native.check(LIB.rlcc_propagate(
        ptr(labels, I32), len(labels), ptr(indptr, I64), ptr(indices, I32), ptr(C.data, F32),
        C.shape[0], C.shape[1], ptr(probs, F32), C.shape[0], w, beta,
        None if rows is None else ptr(rows, I64), n_rows, ptr(out, F32), C.shape[1]))
    return out


def old_blend(labels, S, alpha, rows):
    out = np.empty_like(S)
    native.check(LIB.rlcc_blend(ptr(labels, I32), len(labels), S.shape[1], ptr(S, F32),
                                S.shape[1], alpha, None if rows is None else ptr(rows, I64),
                                S.shape[0], ptr(out, F32), S.shape[1]))
    return out


def memory_limit(call):
    """call() must raise the memory-limit error (RLCC_E_MEMORY_LIMIT)."""
    with pytest.raises(rlcc.OutOfMemory) as caught:
        call()
    assert caught.value.code == native.E_MEMORY_LIMIT, caught.value
    assert isinstance(caught.value, rlcc.RLCCError)


# ---- layouts -------------------------------------------------------------------

STRUCTS = {
    "rlcc_pseudo_options": native.PseudoOptions,
    "rlcc_centroid_options": native.CentroidOptions,
    "rlcc_consensus_options": native.ConsensusOptions,
    "rlcc_probability_options": native.ProbabilityOptions,
    "rlcc_propagate_options": native.PropagateOptions,
    "rlcc_blend_options": native.BlendOptions,
    "rlcc_step_options": native.StepOptions,
    "rlcc_targets_options": native.TargetsOptions,
}


def test_struct_layouts_are_the_headers(tmp_path):
    """sizeof and every offsetof, as the C compiler sees rlcc.h."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler")
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "rlcc.h"',
             'int main(void) {']
    for c_name, struct in STRUCTS.items():
        lines.append(f'printf("{c_name} %zu\\n", sizeof({c_name}));')
        for field, _ in struct._fields_:
            lines.append(f'printf("{c_name}.{field} %zu\\n", offsetof({c_name}, {field}));')
    lines.append("return 0; }")
    (tmp_path / "layout.c").write_text("\n".join(lines))
    subprocess.run([compiler, f"-I{TOP / 'include'}", str(tmp_path / "layout.c"), "-o",
                    str(tmp_path / "layout")], check=True)
    want = dict(line.split() for line in subprocess.run(
        [str(tmp_path / "layout")], capture_output=True, text=True, check=True).stdout.splitlines())
    for c_name, struct in STRUCTS.items():
        assert int(want[c_name]) == ctypes.sizeof(struct), c_name
        for field, _ in struct._fields_:
            assert int(want[f"{c_name}.{field}"]) == getattr(struct, field).offset, (c_name, field)


def test_init_functions_fill_the_documented_defaults():
    init = native.init_struct
    step = init(native.StepOptions, LIB.rlcc_step_options_init)
    assert (step.struct_size, step.batch, step.borrow, step.n_threads, step.max_bytes) == \
        (64, 1024, 0, 0, 0)
    assert not step.logits and not step.progress
    assert init(native.ProbabilityOptions, LIB.rlcc_probability_options_init).scale == 30
    propagate = init(native.PropagateOptions, LIB.rlcc_propagate_options_init)
    assert (propagate.w, propagate.beta) == (pytest.approx(0.9), 0)
    assert init(native.BlendOptions, LIB.rlcc_blend_options_init).alpha == pytest.approx(0.9)
    consensus = init(native.ConsensusOptions, LIB.rlcc_consensus_options_init)
    assert (consensus.kind, consensus.normalize) == (0, 1)  # IoU, row sums
    pseudo = init(native.PseudoOptions, LIB.rlcc_pseudo_options_init)
    assert (pseudo.struct_size, pseudo.method, pseudo.reserved2) == (192, 0, 0)  # 1.7 layout


def _call_with(struct, data):
    """The _opts function that reads `struct`, called on `data` with an
    options pointer (possibly to a larger, newer struct)."""
    x, n, d, prev, cur = data["x"], data["n"], data["d"], data["prev"], data["cur"]
    k_prev, k_cur = data["k_prev"], data["k_cur"]
    cents = rlcc.centroids(x, prev, n_classes=k_prev)
    C = rlcc.consensus(prev, cur, sparse=True, n_prev=k_prev, n_cur=k_cur)
    indptr, indices = C.indptr.astype(np.int64), C.indices.astype(np.int32)
    probs = rlcc.class_probabilities(x, cents)
    out = np.empty((max(n, k_prev), max(k_prev, k_cur, d)), dtype=np.float32)
    counts = np.empty((k_prev, k_cur), dtype=np.int64)
    calls = {
        native.CentroidOptions: lambda o: LIB.rlcc_centroids_opts(
            ptr(x, F32), n, d, d, ptr(prev, I32), k_prev, o, ptr(out, F32), out.shape[1]),
        native.ConsensusOptions: lambda o: LIB.rlcc_consensus_counts_opts(
            ptr(prev, I32), ptr(cur, I32), n, k_prev, k_cur, o, ptr(counts, I64), k_cur),
        native.ProbabilityOptions: lambda o: LIB.rlcc_class_probabilities_opts(
            ptr(x, F32), n, d, d, ptr(cents, F32), k_prev, d, None, n, o, ptr(out, F32),
            out.shape[1]),
        native.PropagateOptions: lambda o: LIB.rlcc_propagate_opts(
            ptr(prev, I32), n, ptr(indptr, I64), ptr(indices, I32), ptr(C.data, F32), k_prev,
            k_cur, ptr(probs, F32), k_prev, None, n, o, ptr(out, F32), out.shape[1]),
        native.BlendOptions: lambda o: LIB.rlcc_blend_opts(
            ptr(cur, I32), n, k_cur, None, k_cur, None, n, o, ptr(out, F32), out.shape[1]),
    }
    return calls[struct]


OPTS = [(native.CentroidOptions, "rlcc_centroid_options_init"),
        (native.ConsensusOptions, "rlcc_consensus_options_init"),
        (native.ProbabilityOptions, "rlcc_probability_options_init"),
        (native.PropagateOptions, "rlcc_propagate_options_init"),
        (native.BlendOptions, "rlcc_blend_options_init")]


@pytest.mark.parametrize("struct,init", OPTS, ids=[s.__name__ for s, _ in OPTS])
def test_options_readers_refuse_reserved_fields_and_a_newer_callers_tail(struct, init, data):
    """Where the binding's structs have a reserved field, the library reads
    it there; a struct with a non-zero field beyond what the library knows
    (a newer caller's) is refused, an all-zero one is accepted."""
    call = _call_with(struct, data)
    opts = native.init_struct(struct, getattr(LIB, init))
    assert call(ctypes.byref(opts)) == native.OK
    assert call(None) == native.OK  # NULL: defaults
    if "reserved" in dict(struct._fields_):
        opts.reserved = 1
        assert call(ctypes.byref(opts)) == native.E_INVALID_ARGUMENT
        assert "reserved" in LIB.rlcc_last_error().decode()

    class Newer(ctypes.Structure):
        _fields_ = [("known", struct), ("future", ctypes.c_int64)]

    newer = Newer()
    newer.known = native.init_struct(struct, getattr(LIB, init))
    newer.known.struct_size = ctypes.sizeof(Newer)
    as_known = ctypes.cast(ctypes.byref(newer), ctypes.POINTER(struct))
    assert call(as_known) == native.OK, LIB.rlcc_last_error()
    newer.future = 7
    assert call(as_known) == native.E_INVALID_ARGUMENT
    assert str(ctypes.sizeof(struct)) in LIB.rlcc_last_error().decode()  # the offset named


def test_pseudo_options_method_and_reserved2_are_where_the_library_reads_them():
    x = generations(count=1)[0]
    opts = rlcc._rlcc._pseudo_options((0.58, 0.6, 0.62), 4, "jaccard", 10, 3, "dot", 0.9,
                                      "singleton", True, True, None, 0)
    labels = np.empty(len(x), dtype=np.int32)

    def run():
        return LIB.rlcc_pseudo_labels(ptr(x, F32), x.shape[0], x.shape[1], x.shape[1],
                                      ctypes.byref(opts), ptr(labels, I32), None, None)

    assert run() == native.OK
    opts.method = 3  # no such pseudo-labeler in 1.7 (0, 1, 2)
    assert run() == native.E_INVALID_ARGUMENT
    assert "method" in LIB.rlcc_last_error().decode()
    opts.method, opts.reserved2 = 0, 1
    assert run() == native.E_INVALID_ARGUMENT
    assert "reserved" in LIB.rlcc_last_error().decode()


# ---- the functions of 1.2 with n_threads= and max_bytes= ---------------------

RESOURCES = [dict(), dict(n_threads=1), dict(n_threads=2), dict(max_bytes=1 << 30),
             dict(n_threads=2, max_bytes=1 << 30)]


@pytest.mark.parametrize("kw", RESOURCES, ids=str)
def test_centroids_keywords_give_the_old_bits(kw, data):
    want = old_centroids(data["x"], data["prev"], data["k_prev"])
    same(rlcc.centroids(data["x"], data["prev"], n_classes=data["k_prev"], **kw), want)
    same(rlcc.centroids(data["x"], data["prev"], **kw), want[:data["prev"].max() + 1])


@pytest.mark.parametrize("kw", RESOURCES, ids=str)
def test_consensus_keywords_give_the_old_bits(kw, data):
    prev, cur, k_prev, k_cur = data["prev"], data["cur"], data["k_prev"], data["k_cur"]
    same(rlcc.consensus(prev, cur, kind="count", normalize=None, n_prev=k_prev, n_cur=k_cur,
                        **kw), old_counts(prev, cur, k_prev, k_cur))
    for kind, kind_code in (("iou", 0), ("count", 1)):
        for normalize, norm_code in ((None, 0), ("sum", 1), ("softmax", 2)):
            if (kind, normalize) != ("count", None):
                same(rlcc.consensus(prev, cur, kind=kind, normalize=normalize, n_prev=k_prev,
                                    n_cur=k_cur, **kw),
                     old_consensus(prev, cur, k_prev, k_cur, kind_code, norm_code))
            if normalize != "softmax":
                same_csr(rlcc.consensus(prev, cur, kind=kind, normalize=normalize, sparse=True,
                                        n_prev=k_prev, n_cur=k_cur, **kw),
                         old_consensus_csr(prev, cur, k_prev, k_cur, kind_code, norm_code))


@pytest.mark.parametrize("kw", RESOURCES, ids=str)
def test_class_probabilities_keywords_give_the_old_bits(kw, data):
    x, rows = data["x"], data["rows"]
    cents = old_centroids(x, data["prev"], data["k_prev"])
    for scale in (30.0, 7.5):
        same(rlcc.class_probabilities(x, cents, scale=scale, **kw),
             old_probabilities(x, cents, scale, None))
        same(rlcc.class_probabilities(x, cents, scale=scale, rows=rows, **kw),
             old_probabilities(x, cents, scale, rows))


@pytest.mark.parametrize("kw", RESOURCES, ids=str)
def test_propagate_and_blend_keywords_give_the_old_bits(kw, data):
    prev, cur, x, rows = data["prev"], data["cur"], data["x"], data["rows"]
    k_prev, k_cur = data["k_prev"], data["k_cur"]
    C = rlcc.consensus(prev, cur, sparse=True, n_prev=k_prev, n_cur=k_cur)
    P = old_probabilities(x, old_centroids(x, prev, k_prev), 30.0, None)
    for w, beta in ((0.9, 0.0), (0.5, 0.3), (0.0, 1.0)):
        same(rlcc.propagate(P, C, prev_labels=prev, w=w, beta=beta, **kw),
             old_propagate(prev, C, P, w, beta, None))
        same(rlcc.propagate(P[rows], C, prev_labels=prev, w=w, beta=beta, rows=rows, **kw),
             old_propagate(prev, C, np.ascontiguousarray(P[rows]), w, beta, rows))
    same(rlcc.propagate(prev, C, **kw), old_propagate(prev, C, None, 0.0, 1.0, None))
    S = old_propagate(prev, C, P, 0.9, 0.0, None)
    for alpha in (0.9, 0.0, 1.0):
        same(rlcc.blend(cur, S, alpha=alpha, **kw), old_blend(cur, S, alpha, None))
        S_rows = np.ascontiguousarray(S[rows])
        same(rlcc.blend(cur, S_rows, alpha=alpha, rows=rows, **kw),
             old_blend(cur, S_rows, alpha, rows))


def test_one_and_two_threads_give_the_same_bits(data):
    x, prev, cur, rows = data["x"], data["prev"], data["cur"], data["rows"]
    one, two = dict(n_threads=1), dict(n_threads=2)
    same(rlcc.centroids(x, prev, **one), rlcc.centroids(x, prev, **two))
    same(rlcc.consensus(prev, cur, **one), rlcc.consensus(prev, cur, **two))
    cents = rlcc.centroids(x, prev)
    P1 = rlcc.class_probabilities(x, cents, **one)
    same(P1, rlcc.class_probabilities(x, cents, **two))
    C = rlcc.consensus(prev, cur, sparse=True)
    S1 = rlcc.propagate(P1, C, prev_labels=prev, w=0.9, **one)
    same(S1, rlcc.propagate(P1, C, prev_labels=prev, w=0.9, **two))
    same(rlcc.blend(cur, S1, **one), rlcc.blend(cur, S1, **two))
    same(rlcc.blend(cur, S1[rows], rows=rows, **one), rlcc.blend(cur, S1[rows], rows=rows, **two))


def test_a_tiny_max_bytes_is_the_memory_limit_error(data):
    x, prev, cur, rows = data["x"], data["prev"], data["cur"], data["rows"]
    cents = rlcc.centroids(x, prev)
    memory_limit(lambda: rlcc.centroids(x, prev, max_bytes=1))
    for kw in (dict(), dict(kind="count", normalize=None), dict(sparse=True)):
        memory_limit(lambda: rlcc.consensus(prev, cur, max_bytes=1, **kw))
    memory_limit(lambda: rlcc.class_probabilities(x, cents, rows=rows, max_bytes=1))
    # what allocates nothing in 1.4 (the header says so) is not refused
    same(rlcc.class_probabilities(x, cents, max_bytes=1), rlcc.class_probabilities(x, cents))
    C = rlcc.consensus(prev, cur, sparse=True)
    S = rlcc.propagate(prev, C)
    same(rlcc.propagate(prev, C, max_bytes=1), S)
    same(rlcc.blend(cur, S, max_bytes=1), rlcc.blend(cur, S))


def test_the_memory_limit_error_leaves_the_outputs_untouched(data):
    """Through the C _opts functions with the binding's structs, into
    buffers full of a sentinel pattern."""
    x, prev, cur, rows = data["x"], data["prev"], data["cur"], data["rows"]
    n, d, k_prev, k_cur = data["n"], data["d"], data["k_prev"], data["k_cur"]
    cents = old_centroids(x, prev, k_prev)

    def sentinel(shape, dtype):
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        return np.full(size, 0x7A, dtype=np.uint8).view(dtype).reshape(shape)

    def tiny(struct, init):
        opts = native.init_struct(struct, getattr(LIB, init))
        opts.max_bytes = 1
        return ctypes.byref(opts)

    out = sentinel((k_prev, d), np.float32)
    before = out.copy()
    assert LIB.rlcc_centroids_opts(ptr(x, F32), n, d, d, ptr(prev, I32), k_prev,
                                   tiny(*OPTS[0]), ptr(out, F32), d) == native.E_MEMORY_LIMIT
    same(out, before)
    dense = sentinel((k_prev, k_cur), np.float32)
    counts = sentinel((k_prev, k_cur), np.int64)
    before_dense, before_counts = dense.copy(), counts.copy()
    assert LIB.rlcc_consensus_opts(ptr(prev, I32), ptr(cur, I32), n, k_prev, k_cur,
                                   tiny(*OPTS[1]), ptr(dense, F32), k_cur) == native.E_MEMORY_LIMIT
    assert LIB.rlcc_consensus_counts_opts(ptr(prev, I32), ptr(cur, I32), n, k_prev, k_cur,
                                          tiny(*OPTS[1]), ptr(counts, I64),
                                          k_cur) == native.E_MEMORY_LIMIT
    same(dense, before_dense)
    same(counts, before_counts)
    handle = ctypes.c_void_p(None)
    assert LIB.rlcc_consensus_csr_opts(ptr(prev, I32), ptr(cur, I32), n, k_prev, k_cur,
                                       tiny(*OPTS[1]), ctypes.byref(handle)) == \
        native.E_MEMORY_LIMIT
    assert handle.value is None
    probs = sentinel((len(rows), k_prev), np.float32)
    before = probs.copy()
    assert LIB.rlcc_class_probabilities_opts(
        ptr(x, F32), n, d, d, ptr(cents, F32), k_prev, d, ptr(rows, I64), len(rows),
        tiny(*OPTS[2]), ptr(probs, F32), k_prev) == native.E_MEMORY_LIMIT
    same(probs, before)


@pytest.mark.parametrize("call", [
    lambda x, labels: rlcc.centroids(x, labels, n_threads=2**31),
    lambda x, labels: rlcc.consensus(labels, labels, max_bytes=2**63),
    lambda x, labels: rlcc.blend(labels, np.ones((len(labels), 3)), n_threads=1.5),
    lambda x, labels: rlcc.propagate(labels, np.eye(3), max_bytes=True),
    lambda x, labels: rlcc.class_probabilities(x, x[:3], max_bytes="1"),
    lambda x, labels: rlcc.Refiner().step(x, n_threads=-2**40),
    lambda x, labels: rlcc.Refiner().step(x, borrow=1),
])
def test_integer_keywords_are_checked_before_ctypes(call):
    x = np.eye(6, 3, dtype=np.float32)
    with pytest.raises(rlcc.InvalidArgument, match="does not fit|not an integer|not True"):
        call(x, np.zeros(6, dtype=np.int32))


def test_negative_resources_are_refused_by_the_library(data):
    for call, name in ((lambda: rlcc.centroids(data["x"], data["prev"], n_threads=-1),
                        "n_threads"),
                       (lambda: rlcc.consensus(data["prev"], data["cur"], max_bytes=-5),
                        "max_bytes"),
                       (lambda: rlcc.blend(data["cur"], np.ones((data["n"], 110)),
                                           n_threads=-3), "n_threads")):
        with pytest.raises(rlcc.InvalidArgument, match=f"{name}: .* is negative"):
            call()


# ---- pseudo labels: method= ---------------------------------------------------

def test_pseudo_labels_method_dbscan_is_the_default_and_nothing_else_is_accepted():
    x = generations(count=1)[0]
    default = rlcc.pseudo_labels(x, k1=10, k2=3)
    named = rlcc.pseudo_labels(x, k1=10, k2=3, method="dbscan")
    same(named.labels, default.labels)
    same(named.centroids, default.centroids)
    assert (named.n_classes, named.threshold) == (default.n_classes, default.threshold)
    for bad in ("louvain", "DBSCAN", None, 0):  # 1.7 adds "infomap" and "kmeans"
        with pytest.raises(rlcc.InvalidArgument, match=f"method: {bad!r}"):
            rlcc.pseudo_labels(x, method=bad)
        with pytest.raises(ValueError, match="method"):
            rlcc.Refiner(method=bad)
    refiner = rlcc.Refiner(k1=10, k2=3, method="dbscan")
    same(refiner.step(x).labels, default.labels)


# ---- the refiner ----------------------------------------------------------------

REFINER = dict(k1=10, k2=3, batch=37)


class CRefiner:
    """The 1.2 way, straight through ctypes: rlcc_refiner_step with a
    features callback that copies the rows, rlcc_refiner_targets."""

    def __init__(self, n, d, **kw):
        template = rlcc.Refiner(**kw)
        self.batch = template._batch
        handle = ctypes.c_void_p()
        native.check(LIB.rlcc_refiner_new(n, d, ctypes.byref(template._pseudo),
                                          ctypes.byref(template._options), ctypes.byref(handle)))
        self.handle, self.n, self.d = handle, n, d

    def __del__(self):
        LIB.rlcc_refiner_free(self.handle)

    def step(self, x, logits=None):
        def fill(start, count, rows, ld, _):
            np.ctypeslib.as_array(rows, shape=(count, ld))[:, :self.d] = x[start:start + count]
            return count

        def fill_logits(start, count, k_prev, rows, ld, _):
            np.ctypeslib.as_array(rows, shape=(count, ld))[:, :k_prev] = \
                logits[start:start + count, :k_prev]
            return count

        keep = (native.FEATURES_FN(fill),
                native.LOGITS_FN(fill_logits) if logits is not None else native.LOGITS_FN())
        native.check(LIB.rlcc_refiner_step(self.handle, keep[0], None, self.batch, keep[1],
                                           None, native.PROGRESS_FN(), None))

    def labels(self):
        out = np.empty(self.n, dtype=np.int32)
        native.check(LIB.rlcc_refiner_labels(self.handle, ptr(out, I32)))
        return out

    def targets(self, rows=None):
        k = LIB.rlcc_refiner_n_classes(self.handle)
        n_rows = self.n if rows is None else len(rows)
        out = np.empty((n_rows, k), dtype=np.float32)
        native.check(LIB.rlcc_refiner_targets(self.handle, None if rows is None
                                              else ptr(rows, I64), n_rows, ptr(out, F32), k))
        return out


def reference_run(gens, batch_rows, logits=None, **kw):
    """Labels, n_classes, full targets and batch targets of each generation,
    through the C library's 1.2 step."""
    c = CRefiner(*gens[0].shape, **REFINER, **kw)
    out = []
    for t, x in enumerate(gens):
        c.step(x, None if logits is None or t == 0 else logits[t])
        out.append((c.labels(), c.targets(), c.targets(batch_rows)))
    return out


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("how", ["copy", "borrow", "callback", "threads", "logits"])
def test_refiner_step_paths_give_the_old_generations(beta, how):
    """Three generations: the matrix step copying or borrowing, the callback
    step through rlcc_refiner_step_opts, per-step n_threads, and a logits
    callback, each bit for bit the 1.2 rlcc_refiner_step."""
    gens = generations()
    n = len(gens[0])
    batch_rows = np.random.default_rng(1).permutation(n)[:50].astype(np.int64)
    logits = None
    if how == "logits":
        rng = np.random.default_rng(2)
        logits = [None] + [rng.normal(size=(n, n)).astype(np.float32) for _ in gens[1:]]
    want = reference_run(gens, batch_rows, beta=beta, logits=logits)
    refiner = rlcc.Refiner(**REFINER, beta=beta)
    k_prev = None
    for t, x in enumerate(gens):
        held = x.copy()  # the refiner's input; x stays for the reference
        if how == "copy":
            g = refiner.step(held)
        elif how == "borrow":
            g = refiner.step(held, borrow=True)
        elif how == "callback":
            g = refiner.step(lambda start, count: held[start:start + count], n=n, d=x.shape[1])
        elif how == "threads":
            g = refiner.step(held, n_threads=1 if t % 2 else 2)
        else:
            fn = None if t == 0 else (lambda s, c, t=t: logits[t][s:s + c, :k_prev])
            g = refiner.step(held, logits=fn)
        k_prev = g.n_classes
        labels, targets, batch = want[t]
        same(g.labels, labels)
        assert g.generation == t + 1 and g.n_classes == labels.max() + 1
        same(refiner.targets(), targets)
        same(refiner.targets(batch_rows), batch)
        same(refiner.targets(batch_rows, n_threads=1), batch)
        same(refiner.targets(batch_rows, n_threads=2, max_bytes=1 << 30), batch)


def test_a_borrowed_array_is_kept_alive_until_the_next_step():
    gens = generations()
    n = len(gens[0])
    rows = np.arange(0, n, 7, dtype=np.int64)
    want = reference_run(gens, rows)
    refiner = rlcc.Refiner(**REFINER)
    refiner.step(gens[0].copy(), borrow=True)
    lent = gens[1].copy()
    alive = weakref.ref(lent)
    refiner.step(lent, borrow=True)
    del lent
    gc.collect()
    junk = [np.full(gens[1].shape, np.nan, dtype=np.float32) for _ in range(8)]  # reuse the memory
    assert alive() is not None  # the refiner holds it: later targets read it
    same(refiner.targets(), want[1][1])
    same(refiner.targets(rows), want[1][2])
    # a step that fails (here: the memory bound) changes nothing, the lent array included
    memory_limit(lambda: refiner.step(gens[2].copy(), borrow=True, max_bytes=1))
    assert alive() is not None and refiner.generation().generation == 2
    same(refiner.targets(rows), want[1][2])
    # the next step that succeeds releases it (copying, here)
    refiner.step(gens[2].copy())
    gc.collect()
    assert alive() is None
    same(refiner.targets(rows), want[2][2])
    # and freeing the refiner releases a lent array too
    last = gens[2].copy()
    alive = weakref.ref(last)
    again = rlcc.Refiner(**REFINER)
    again.step(gens[1].copy())
    again.step(last, borrow=True)
    del last, junk
    gc.collect()
    assert alive() is not None
    del again
    gc.collect()
    assert alive() is None


def test_borrow_takes_the_array_itself_or_nothing():
    x = generations(count=1)[0]
    refiner = rlcc.Refiner(**REFINER)
    for converted in (x.astype(np.float64), np.asfortranarray(x), x[::-1], x.tolist()):
        with pytest.raises(rlcc.InvalidArgument, match="borrow=True .* would be converted"):
            refiner.step(converted, borrow=True)
    assert refiner.bytes() == 0  # nothing ran (the refiner is made by the first step)
    with pytest.raises(rlcc.InvalidArgument, match="only rlcc_refiner_step_matrix"):
        refiner.step(lambda s, c: x[s:s + c], n=len(x), d=x.shape[1], borrow=True)
    # a row slice with a leading dimension is the array itself: lent as it is
    wide = np.zeros((len(x), x.shape[1] + 5), dtype=np.float32)
    wide[:, :x.shape[1]] = x
    view = wide[:, :x.shape[1]]
    g = refiner.step(view, borrow=True)
    assert g.generation == 1  # the refused steps did not count
    same(g.labels, rlcc.Refiner(**REFINER).step(x).labels)


def _bytes_formula(n, d, k, k_prev=None, m=None, features=False, probs_cols=0):
    """rlcc_refiner_new's memory formula (rlcc.h). m: the consensus matrix's
    entries as the library sizes them, one per sample labelled in both
    generations (not the distinct class pairs, the CSR's nnz)."""
    if k_prev is None:  # after the first step
        return 4 * n + 4 * d * k
    return (8 * n + 4 * d * (k + k_prev) + 8 * (k_prev + 1) + 8 * m
            + (4 * n * d if features else 0) + 4 * n * probs_cols)


@pytest.mark.parametrize("beta,borrow,logits", [(1.0, False, False), (0.0, False, False),
                                                (0.0, True, False), (0.5, False, True)])
def test_refiner_bytes_follow_the_headers_formula(beta, borrow, logits):
    gens = generations()
    n, d = gens[0].shape
    rng = np.random.default_rng(3)
    refiner = rlcc.Refiner(**REFINER, beta=beta)
    assert refiner.bytes() == 0
    prev = None
    for t, x in enumerate(gens):
        fn = None
        if logits and t > 0:
            head = rng.normal(size=(n, prev.n_classes)).astype(np.float32)
            fn = lambda s, c, head=head: head[s:s + c]  # noqa: E731
        g = refiner.step(x, borrow=borrow, logits=fn)
        if prev is None:
            want = _bytes_formula(n, d, g.n_classes)
        else:
            m = int(np.count_nonzero((prev.labels >= 0) & (g.labels >= 0)))
            want = _bytes_formula(n, d, g.n_classes, prev.n_classes, m,
                                  features=beta < 1 and not borrow and not logits,
                                  probs_cols=prev.n_classes if logits else 0)
        assert refiner.bytes() == want, (t, refiner.bytes(), want)
        prev = g


def test_refiner_bytes_copying_hold_one_feature_matrix_more_than_borrowing():
    gens = generations()
    n, d = gens[0].shape
    copying, lending, hard = (rlcc.Refiner(**REFINER), rlcc.Refiner(**REFINER),
                              rlcc.Refiner(**REFINER, beta=1.0))
    for t, x in enumerate(gens[:2]):
        copying.step(x)
        lending.step(x, borrow=True)
        g = hard.step(lambda s, c, x=x: x[s:s + c], n=n, d=d)  # a callback reads 4 n d too
        extra = 4 * n * d if t > 0 else 0  # generation 0's targets read no features
        assert copying.bytes() - lending.bytes() == extra
        assert lending.bytes() == hard.bytes()
    # beta = 1: the rows read are dropped after the step, and kNN lists set for
    # the next step are held (8 n k1) until it has run
    before = hard.bytes()
    hard.set_knn(rlcc.knn(gens[2], REFINER["k1"])[0])
    assert hard.bytes() == before + 8 * n * REFINER["k1"]
    last = hard.step(gens[2])
    assert hard.bytes() == _bytes_formula(n, d, last.n_classes, g.n_classes, n)


def test_a_refiner_step_over_its_max_bytes_changes_nothing():
    gens = generations()
    refiner = rlcc.Refiner(**REFINER)
    refiner.step(gens[0])
    refiner.step(gens[1])
    before = refiner.generation()
    targets, held = refiner.targets(), refiner.bytes()
    for kw in (dict(), dict(borrow=True)):
        memory_limit(lambda: refiner.step(gens[2], max_bytes=held + 1, **kw))
    memory_limit(lambda: refiner.step(lambda s, c: gens[2][s:s + c], n=len(gens[2]),
                                      d=gens[2].shape[1], max_bytes=held + 1))
    after = refiner.generation()
    assert after.generation == before.generation == 2
    same(after.labels, before.labels)
    same(after.centroids, before.centroids)
    same(refiner.targets(), targets)
    assert refiner.bytes() == held
    # a step within a bound that fits is the same step as without one
    unbounded = rlcc.Refiner(**REFINER)
    unbounded.step(gens[0])
    unbounded.step(gens[1])
    same(refiner.step(gens[2], max_bytes=1 << 30).labels, unbounded.step(gens[2]).labels)


def test_refiner_targets_max_bytes():
    gens = generations()
    refiner = rlcc.Refiner(**REFINER)
    refiner.step(gens[0])
    refiner.step(gens[1])
    rows = np.arange(40, dtype=np.int64)
    memory_limit(lambda: refiner.targets(rows, max_bytes=1))
    memory_limit(lambda: refiner.targets(max_bytes=1))
    same(refiner.targets(rows, max_bytes=1 << 20), refiner.targets(rows))
    with pytest.raises(rlcc.InvalidArgument, match="n_threads: -1 is negative"):
        refiner.targets(rows, n_threads=-1)
    with pytest.raises(rlcc.InvalidArgument, match="does not fit"):
        refiner.targets(rows, max_bytes=2**64)


def test_a_matrix_step_releases_the_gil():
    """Another Python thread runs while librlcc clusters: it sees the step
    running (Refiner.bytes() is -1 then)."""
    rng = np.random.default_rng(8)
    x = reid(rng, 200, 20, 64, 0.8)
    refiner = rlcc.Refiner(k1=20, k2=6)
    refiner.step(x)
    seen, stop, started = [], threading.Event(), threading.Event()

    def watch():
        started.set()
        while not stop.is_set():
            seen.append(refiner.bytes())

    thread = threading.Thread(target=watch)
    thread.start()
    started.wait()
    try:
        refiner.step(x, borrow=True)
    finally:
        stop.set()
        thread.join()
    assert -1 in seen, sorted(set(seen))[:5]
    assert refiner.bytes() > 0


def test_a_borrowed_cpu_tensor_is_kept_alive():
    torch = pytest.importorskip("torch")
    gens = generations()
    want = reference_run(gens, np.arange(5, dtype=np.int64))
    refiner = rlcc.Refiner(**REFINER)
    refiner.step(torch.from_numpy(gens[0].copy()), borrow=True)
    tensor = torch.from_numpy(gens[1].copy())
    refiner.step(tensor, borrow=True)
    del tensor
    gc.collect()
    junk = [torch.full(gens[1].shape, float("nan")) for _ in range(8)]  # noqa: F841
    same(refiner.targets(), want[1][1])
    with pytest.raises(rlcc.InvalidArgument, match="would be converted"):
        refiner.step(torch.from_numpy(gens[2].astype(np.float64)), borrow=True)


def test_pseudo_labels_and_the_refiners_budget_take_max_bytes():
    x = generations(count=1)[0]
    want = rlcc.pseudo_labels(x, k1=10, k2=3)
    bounded = rlcc.pseudo_labels(x, k1=10, k2=3, max_bytes=1 << 30)
    same(bounded.labels, want.labels)
    same(bounded.centroids, want.centroids)
    memory_limit(lambda: rlcc.pseudo_labels(x, k1=10, k2=3, max_bytes=4096))
    with pytest.raises(rlcc.InvalidArgument, match="max_bytes: 1.0 is not an integer"):
        rlcc.pseudo_labels(x, max_bytes=1.0)
    same(rlcc.Refiner(**REFINER, max_bytes=1 << 30).step(x).labels, want.labels)
    small = rlcc.Refiner(**REFINER, max_bytes=4096)
    memory_limit(lambda: small.step(x))
    assert small.bytes() == 0  # nothing held after the refused first step
    same(small.step(x, max_bytes=1 << 30).labels, want.labels)  # a step's own bound wins
