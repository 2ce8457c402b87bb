"""The Python binding's own safety (issue #11, docs/robustness.md): what
reaches C is aligned, native-endian and, where C reads it more than once, a
private copy; integers and labels that do not fit their C type are refused
instead of wrapped; callback results have the asked shape; the refiner's
readers say "in use" from inside a step.

The C calls are watched through a spy on ``rlcc._native.lib`` that records
every pointer argument, so these tests fail on a binding that passes a
misaligned or caller-owned array even where the process would survive it."""

import ctypes
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import rlcc
from rlcc import _native as native

HERE = Path(__file__).resolve().parent


@pytest.fixture
def c_pointers(monkeypatch):
    """[(function, address, size of the pointed-to type)] of every non-NULL
    pointer argument of every librlcc call made while the test runs."""
    seen = []

    def spy(name, function):
        def call(*args):
            for arg in args:
                if isinstance(arg, ctypes._Pointer) and arg:
                    seen.append((name, ctypes.cast(arg, ctypes.c_void_p).value,
                                 ctypes.sizeof(arg._type_)))
            return function(*args)
        return call

    for name, function in list(vars(native.lib).items()):
        if name.startswith("rlcc_"):
            monkeypatch.setattr(native.lib, name, spy(name, function))
    return seen


def misaligned(array):
    """The same values one byte off the type's alignment (writable)."""
    array = np.ascontiguousarray(array)
    out = np.frombuffer(bytearray(array.nbytes + 1), array.dtype, count=array.size,
                        offset=1).reshape(array.shape)
    out[...] = array
    assert not out.flags.aligned or array.dtype.itemsize == 1
    return out


def byteswapped(array):
    """The same values stored big-endian."""
    array = np.asarray(array)
    return array.astype(array.dtype.newbyteorder(">"))


def inside(address, array):
    start = array.__array_interface__["data"][0]
    return start <= address < start + max(array.nbytes, 1)


def unit_rows(n=60, d=8, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, d))
    x = centres[np.arange(n) % 3] + rng.normal(size=(n, d)) * 0.05
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def csr_distances(n=40, seed=1):
    rng = np.random.default_rng(seed)
    dense = np.round(rng.uniform(0, 2, size=(n, n)) * 64) / 64
    dense[dense > 1.2] = 0
    matrix = sp.csr_matrix(dense.astype(np.float32))
    matrix.sort_indices()
    return matrix


def labels_of(n=60, k=3):
    labels = (np.arange(n) % (k + 1) - 1).astype(np.int32)  # -1, 0, 1, 2, -1, ...
    return labels


def refined():
    x = unit_rows()
    refiner = rlcc.Refiner(k1=10, k2=3, n_threads=1)
    refiner.step(x)
    refiner.step(x)
    return x, refiner


# Each case: its name, and a function of a conversion (the identity,
# misaligned, byteswapped) that makes the call with every array input
# passed through it and returns what the call returned.
def _cases():
    x, csr, labels = unit_rows(), csr_distances(), labels_of()
    ints = np.round(x * 4)
    knn, _ = rlcc.knn(x, 10)
    C = rlcc.consensus(labels, labels[::-1].copy())
    P = rlcc.class_probabilities(x, rlcc.centroids(x, labels))
    rows = np.array([5, 0, 59, 5], dtype=np.int64)
    yield "dbscan features", lambda f: rlcc.dbscan(f(ints), 1.0, 3, n_threads=1)
    yield "dbscan features (grid)", lambda f: rlcc.dbscan(f(ints[:, :2]), 1.0, 3,
                                                          algorithm="grid")
    yield "dbscan dense", lambda f: rlcc.dbscan(f(csr.toarray()), 0.5, 3, metric="precomputed")
    yield "dbscan csr", lambda f: rlcc.dbscan(
        sp.csr_matrix((f(csr.data), f(csr.indices), f(csr.indptr)), shape=csr.shape),
        0.5, 3, metric="precomputed")
    yield "knn", lambda f: rlcc.knn(f(x), 4)
    yield "jaccard with caller lists", lambda f: rlcc.jaccard_distance(
        f(x), k1=10, k2=3, knn=f(knn), dense=True)
    yield "pseudo labels with caller lists", lambda f: rlcc.pseudo_labels(
        f(x), k1=10, k2=3, knn=f(knn)).labels
    yield "centroids", lambda f: rlcc.centroids(f(x), f(labels))
    yield "consensus", lambda f: rlcc.consensus(f(labels), f(labels[::-1].copy()))
    yield "consensus csr", lambda f: rlcc.consensus(f(labels), f(labels[::-1].copy()),
                                                    sparse=True).toarray()
    yield "class probabilities", lambda f: rlcc.class_probabilities(
        f(x), f(rlcc.centroids(x, labels)), rows=f(rows))
    yield "propagate hard", lambda f: rlcc.propagate(f(labels), f(C), rows=f(rows))
    yield "propagate soft", lambda f: rlcc.propagate(f(P), sp.csr_matrix(
        (f(sp.csr_matrix(C).data), f(sp.csr_matrix(C).indices), f(sp.csr_matrix(C).indptr)),
        shape=C.shape), prev_labels=f(labels), w=0.5)
    yield "blend", lambda f: rlcc.blend(f(labels), f(C[np.maximum(labels, 0)]))

    def knn_state(f):
        with rlcc.KnnState(len(x), 4, x.shape[1]) as state:
            state.update(f(x), f(x[::-1].copy()), 0)
            return state.finish()
    yield "knn state", knn_state

    def refiner(f):
        r = rlcc.Refiner(k1=10, k2=3, n_threads=1)
        r.step(f(x))
        r.step(f(x))
        return r.targets(f(rows))
    yield "refiner", refiner


CASES = dict(_cases())


def _same(got, want):
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            _same(g, w)
        return
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("convert", [misaligned, byteswapped])
@pytest.mark.parametrize("case", CASES)
def test_misaligned_and_byteswapped_arrays_reach_c_aligned_and_native(case, convert, c_pointers):
    """A misaligned float32 view (``np.frombuffer(b, np.float32, offset=1)``)
    used to reach C as it was (UBSan: misaligned load); every pointer the
    binding passes is aligned for its type, and the result is the one of the
    aligned, native array."""
    want = CASES[case](lambda a: a)
    c_pointers.clear()
    got = CASES[case](convert)
    assert c_pointers, "the spy saw no call"
    bad = [(name, hex(address), size) for name, address, size in c_pointers if address % size]
    assert not bad, bad
    _same(got, want)


def test_index_arrays_c_reads_twice_are_private_copies(c_pointers):
    """C validates labels, sample rows, kNN lists and CSR parts, then reads
    them again with the GIL released: a caller thread changing them in
    between would make librlcc index out of bounds. So what C gets is never
    the caller's memory."""
    x, csr, labels = unit_rows(), csr_distances(), labels_of()
    knn, _ = rlcc.knn(x, 10)
    rows = np.array([5, 0, 59], dtype=np.int64)
    C = sp.csr_matrix(rlcc.consensus(labels, labels))
    C.indices = C.indices.astype(np.int32)
    C.indptr = C.indptr.astype(np.int64)  # the dtypes librlcc takes: nothing to convert
    csr.indptr = csr.indptr.astype(np.int64)
    P = rlcc.class_probabilities(x, rlcc.centroids(x, labels))
    owned = [labels, knn, rows, csr.indptr, csr.indices, csr.data, C.indptr, C.indices, C.data]
    c_pointers.clear()
    rlcc.dbscan(csr, 0.5, 3, metric="precomputed")
    rlcc.dbscan_with_stats(csr, 0.5, 3, metric="precomputed")
    rlcc.jaccard_distance(x, k1=10, k2=3, knn=knn)
    rlcc.centroids(x, labels)
    rlcc.consensus(labels, labels)
    rlcc.class_probabilities(x, rlcc.centroids(x, labels), rows=rows)
    rlcc.propagate(labels, C, rows=rows)
    rlcc.propagate(P[rows], C, prev_labels=labels, rows=rows)
    rlcc.blend(labels, np.zeros((len(rows), 3), np.float32), rows=rows)
    x2, refiner = refined()
    refiner.set_knn(knn)
    refiner.targets(rows)
    assert {name for name, _, _ in c_pointers} >= {
        "rlcc_dbscan_csr", "rlcc_jaccard", "rlcc_centroids_opts", "rlcc_consensus_opts",
        "rlcc_propagate_opts", "rlcc_blend_opts", "rlcc_refiner_set_knn",
        "rlcc_refiner_targets_opts"}
    shared = [(name, hex(address)) for name, address, _ in c_pointers
              if any(inside(address, array) for array in owned)]
    assert not shared, shared


RACE = textwrap.dedent("""
    import sys, threading, time
    import numpy as np, scipy.sparse as sp
    import rlcc

    n = 3000
    D = sp.random(n, n, density=0.01, random_state=1, format="csr", dtype=np.float32)
    D.sort_indices()
    D.indptr = D.indptr.astype(np.int64)
    labels = (np.arange(n) % 50).astype(np.int32)
    C = rlcc.consensus(labels, labels, sparse=True)
    C = sp.csr_matrix((C.data.copy(), C.indices.copy(), C.indptr.copy()), shape=C.shape)
    targets = [(D.indices, np.int32(2**31 - 1)), (D.indptr, np.int64(2**40)),
               (C.indices, np.int32(2**30)), (labels, np.int32(2**30))]
    originals = [array.copy() for array, _ in targets]
    stop = threading.Event()

    def mutate():
        while not stop.is_set():
            for (array, bad), good in zip(targets, originals):
                array[1::7] = bad
                array[:] = good

    thread = threading.Thread(target=mutate)
    thread.start()
    calls = refused = 0
    end = time.time() + float(sys.argv[1])
    try:
        while time.time() < end:
            for call in (lambda: rlcc.dbscan(D, 0.5, 3, metric="precomputed"),
                         lambda: rlcc.propagate(labels, C),
                         lambda: rlcc.centroids(np.ones((n, 2), np.float32), labels, 50)):
                calls += 1
                try:
                    call()
                except rlcc.InvalidArgument:
                    refused += 1
    finally:
        stop.set()
        thread.join()
    print(f"{calls} calls, {refused} refused")
""")


def test_a_thread_mutating_csr_indices_during_dbscan_cannot_crash_the_process():
    """Another thread rewrites a CSR matrix's indices and indptr, a consensus
    matrix's indices and a label vector while librlcc reads them: every call
    returns or raises InvalidArgument, and the process lives (it died with
    SIGSEGV when the binding passed scipy's own arrays)."""
    import os

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    run = subprocess.run([sys.executable, "-c", RACE, "3"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert " calls, " in run.stdout


INT32, INT64 = (-2**31, 2**31 - 1), (-2**63, 2**63 - 1)
BIG = [2**31, 2**32 + 1, -2**31 - 1, 2**63, 2**64 + 5, -2**63 - 1]


def _integer_calls():
    x, labels, csr = unit_rows(), labels_of(), csr_distances()
    calls = [
        ("min_samples", INT64, lambda v: rlcc.dbscan(x, 0.5, v)),
        ("min_samples", INT64, lambda v: rlcc.dbscan(csr, 0.5, v, metric="precomputed")),
        ("min_samples", INT64, lambda v: rlcc.dbscan_with_stats(x, 0.5, v)),
        ("min_samples", INT64, lambda v: rlcc.pseudo_labels(x, min_samples=v, k1=10, k2=3)),
        ("min_samples", INT64, lambda v: rlcc.Refiner(min_samples=v)),
        ("max_bytes", INT64, lambda v: rlcc.dbscan_with_stats(x, 0.5, max_bytes=v)),
        ("max_bytes", INT64, lambda v: rlcc.jaccard_distance(x, max_bytes=v)),
        ("batch", INT64, lambda v: rlcc.Refiner(batch=v)),
        ("n", INT64, lambda v: rlcc.Refiner().step(lambda s, c: x[s:s + c], n=v, d=8)),
        ("d", INT64, lambda v: rlcc.Refiner().step(lambda s, c: x[s:s + c], n=60, d=v)),
        ("n_prev", INT64, lambda v: rlcc.consensus(labels, labels, n_prev=v)),
        ("n_cur", INT64, lambda v: rlcc.consensus(labels, labels, n_cur=v, sparse=True)),
        ("n_classes", INT64, lambda v: rlcc.centroids(x, labels, n_classes=v)),
        ("n_threads", INT32, lambda v: rlcc.dbscan(x, 0.5, 3, n_threads=v)),
        ("n_threads", INT32, lambda v: rlcc.DBSCAN(n_threads=v).fit(x)),
        ("n_threads", INT32, lambda v: rlcc.jaccard_distance(x, n_threads=v)),
        ("n_threads", INT32, lambda v: rlcc.pseudo_labels(x, n_threads=v)),
        ("n_threads", INT32, lambda v: rlcc.class_probabilities(x, x[:3], n_threads=v)),
        ("k1", INT32, lambda v: rlcc.jaccard_distance(x, k1=v)),
        ("k1", INT32, lambda v: rlcc.Refiner(k1=v)),
        ("k2", INT32, lambda v: rlcc.pseudo_labels(x, k2=v)),
    ]
    for name, (low, high), call in calls:
        for value in BIG:
            if not low <= value <= high:
                yield name, value, call


INTEGER_CALLS = list(_integer_calls())


@pytest.mark.parametrize("name,value,call", INTEGER_CALLS,
                         ids=[f"{n}={v}-{i}" for i, (n, v, _) in enumerate(INTEGER_CALLS)])
def test_integers_that_do_not_fit_their_c_type_are_refused(name, value, call):
    """ctypes wraps an int silently (min_samples=2**64+5 became 5,
    n_threads=2**32+1 became 1): every integer argument is checked first, and
    the error names it and its value."""
    with pytest.raises(rlcc.InvalidArgument, match=f"^{name}: {value} does not fit int(32|64)"):
        call(value)


def _label_calls():
    x = unit_rows()
    good = labels_of()
    C = rlcc.consensus(good, good)
    yield "labels", lambda l: rlcc.centroids(x, l, n_classes=3)
    yield "prev", lambda l: rlcc.consensus(l, good, n_prev=3, n_cur=3)
    yield "cur", lambda l: rlcc.consensus(good, l, n_prev=3, n_cur=3, sparse=True)
    yield "prev", lambda l: rlcc.propagate(l, C)
    yield "prev_labels", lambda l: rlcc.propagate(np.ones((60, 3)) / 3, C, prev_labels=l)
    yield "cur_labels", lambda l: rlcc.blend(l, np.zeros((60, 3)))


LABEL_CALLS = list(_label_calls())


@pytest.mark.parametrize("name,call", LABEL_CALLS, ids=[n for n, _ in LABEL_CALLS])
@pytest.mark.parametrize("value,dtype", [(2**31, np.int64), (2**32 - 1, np.int64),
                                         (2**32 + 1, np.uint64), (2**63 + 5, np.uint64),
                                         (-2**31 - 1, np.int64)])
def test_labels_that_do_not_fit_int32_are_refused(name, call, value, dtype):
    """int64 / uint64 labels were cast to int32 with wrap-around: 2**32 - 1
    became -1, noise; 2**32 + 1 became 1. Now every label array is checked
    to fit int32 first."""
    labels = labels_of()
    labels = (np.maximum(labels, 0) if dtype == np.uint64 else labels).astype(dtype)
    labels[7] = value
    with pytest.raises(rlcc.InvalidArgument, match=f"^{name}: {value} at index 7 does not fit int32"):
        call(labels)


@pytest.mark.parametrize("name,call", [
    ("rows", lambda r, x, refiner: refiner.targets(r)),
    ("rows", lambda r, x, refiner: rlcc.class_probabilities(x, x[:3], rows=r)),
    ("knn", lambda r, x, refiner: rlcc.jaccard_distance(x, k1=1, k2=1, knn=r[:, None])),
])
def test_index_arrays_that_do_not_fit_int64_are_refused(name, call):
    x, refiner = refined()
    rows = np.arange(len(x), dtype=np.uint64)
    rows[3] = 2**63 + 3  # cast to int64: -9223372036854775805, "negative"
    with pytest.raises(rlcc.InvalidArgument, match=rf"^{name}: {2**63 + 3} at index (3|\(3, 0\)) does not fit int64"):
        call(rows, x, refiner)


@pytest.mark.parametrize("shape", [lambda count, k: (count, 1), lambda count, k: (count, k + 1),
                                   lambda count, k: (count - 1, k), lambda count, k: (k,),
                                   lambda count, k: (count, 1, k)])
def test_a_logits_callback_of_another_shape_is_refused(shape):
    """A logits block of shape (count, 1) was broadcast over the k_prev
    columns; every callback result must now have exactly the asked shape."""
    x, refiner = refined()
    k_prev = refiner.generation().n_classes
    seen = []

    def logits(start, count):
        seen.append((start, count))
        return np.zeros(shape(count, k_prev), dtype=np.float32)

    with pytest.raises(rlcc.InvalidArgument, match=r"logits callback: rows of shape .*, expected"):
        refiner.step(x, logits=logits)
    assert seen and refiner.generation().generation == 2  # unchanged


def test_refiner_readers_inside_its_own_callback_say_in_use():
    """targets() and generation() from the step's own callback raised
    numpy's "ValueError: negative dimensions" (the class count is -1 during
    a step); now they raise the library's "in use" error, as labels do."""
    x, refiner = refined()
    raised = []

    def progress(stage, fraction):
        for read in (refiner.targets, lambda: refiner.targets([0, 1]), refiner.generation):
            try:
                read()
            except Exception as error:  # noqa: BLE001 - what it raised is the point
                raised.append(error)

    refiner.step(x, progress=progress)
    assert raised
    for error in raised:
        assert isinstance(error, rlcc.InvalidArgument), repr(error)
        assert "in use" in str(error), str(error)


def test_empty_outputs_reach_c_as_valid_pointers():
    """Found by test_properties.py: an output with no elements went to C as
    NULL, which the library refuses when it has rows: a consensus with no
    current class (``out: is NULL``) and the targets of an empty batch."""
    for kw in ({}, dict(kind="count", normalize=None), dict(normalize="softmax")):
        got = rlcc.consensus(np.array([0, -1], np.int32), np.array([-1, -1], np.int32), **kw)
        assert got.shape == (1, 0), kw
    x, refiner = refined()
    assert refiner.targets(np.array([], dtype=np.int64)).shape == (0, refiner.generation().n_classes)
