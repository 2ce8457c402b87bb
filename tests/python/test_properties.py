"""Property-based tests of the Python binding (issue #11): random shapes,
dtypes, strides, offsets, byte orders, values (NaN, inf, subnormal, huge),
labels and option values, drawn by hypothesis. Every call either raises an
rlcc error, exactly when the input breaks a documented rule, or returns the
answer of the NumPy oracles in this folder (dbscan_oracle.py,
fixed_oracle.py, jaccard_oracle.py, rlcc_oracle.py): bit for bit where the
library's contract is exact, within float32 rounding otherwise.

Reproducible and bounded: ``derandomize=True`` (the same examples on every
run, no example database), a fixed ``max_examples`` per property, no
deadline. The whole file runs in well under a minute."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dbscan_oracle
import fixed_oracle
import jaccard_oracle
import rlcc
import rlcc_oracle

PROPERTY = dict(derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def budget(examples):
    return settings(max_examples=examples, **PROPERTY)


# ---- layouts: the same values in another dtype, order, stride, offset or byte order ----

def _embedded(a, step):
    """a inside a larger array, every step-th row and column."""
    big = np.zeros(tuple(s * step + 1 for s in a.shape), dtype=a.dtype)
    view = big[tuple(slice(1, None, step) for _ in a.shape)][tuple(slice(0, s) for s in a.shape)]
    view[...] = a
    return view


def _column_slice(a):
    """a 2-D array as the first columns of a wider one (rows strided)."""
    if a.ndim != 2:
        return a
    wide = np.zeros((a.shape[0], a.shape[1] + 3), dtype=a.dtype)
    wide[:, :a.shape[1]] = a
    return wide[:, :a.shape[1]]


def _reversed(a):
    """negative strides on every axis."""
    index = tuple(slice(None, None, -1) for _ in a.shape)
    return np.ascontiguousarray(a[index])[index]


def _misaligned(a):
    a = np.ascontiguousarray(a)
    out = np.frombuffer(bytearray(a.nbytes + 1), a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    return out


def _read_only(a):
    a = a.copy()
    a.setflags(write=False)
    return a


LAYOUTS = {
    "as is": lambda a: a,
    "fortran": np.asfortranarray,
    "strided": lambda a: _embedded(a, 2),
    "column slice": _column_slice,
    "reversed": _reversed,
    "misaligned": _misaligned,
    "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "read-only": _read_only,
    "list": lambda a: a.tolist() if a.size else a,  # (an empty list has lost its shape)
}
FLOAT_LAYOUTS = dict(LAYOUTS, float64=lambda a: a.astype(np.float64))


def layout(table=None):
    """A function giving the same values in one or two other layouts."""
    table = table or LAYOUTS
    names = st.lists(st.sampled_from(sorted(table)), max_size=2)

    def compose(chosen):
        def apply(a):
            for name in chosen:
                a = table[name](np.asarray(a)) if not isinstance(a, list) else a
            return a
        apply.names = chosen
        return apply
    return names.map(compose)


# ---- values ------------------------------------------------------------------------------

SPECIAL = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "huge": 1e30, "subnormal": 1e-42}
MAX_SQUARED_NORM = 2.0**120  # rows above it are refused by every function taking features


def mostly(usual, rare, one_in=8):
    """``usual``, and once in ``one_in`` draws ``rare`` (the values to be
    refused, each rare enough that most examples reach the oracle)."""
    # r == 1: neither end of the range, which hypothesis draws (and shrinks to) more often
    return st.integers(0, one_in - 1).flatmap(lambda r: rare if r == 1 else usual)


def inject(draw, X, allowed=tuple(SPECIAL)):
    """X, and one time in four a special value at a random place; returns
    (X, the special's name or None)."""
    special = draw(mostly(st.none(), st.sampled_from(tuple(allowed)), one_in=4))
    if special is None or X.size == 0:
        return X, None
    X = X.copy()
    at = tuple(draw(st.integers(0, s - 1)) for s in X.shape)
    X[at] = SPECIAL[special]
    return X, special


def features_valid(X):
    """The rule every function taking features applies: finite values, and
    each row's squared norm (in double) at most 2^120."""
    X64 = np.asarray(X, dtype=np.float32).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(X64).all() and ((X64 * X64).sum(1) <= MAX_SQUARED_NORM).all())


def int_option(low, high, invalid):
    """An integer option: in [low, high] most of the time, else a value from
    ``invalid`` that the binding or the library must refuse."""
    return mostly(st.integers(low, high), st.sampled_from(invalid))


INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1
BAD_THREADS = [-1, 2**31, 2**32 + 1, -2**31 - 1]
BAD_INT64 = [2**63, 2**64 + 5, -2**63 - 1]


def raises_rlcc(call):
    event("refused")
    with pytest.raises(rlcc.InvalidArgument):
        call()


def labels_strategy(n, k, allow_noise=True):
    """Labels in [-1, k) (or [0, k)), in one integer dtype that holds them."""
    low = -1 if allow_noise else 0
    dtypes = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]

    def fits(dtype):
        info = np.iinfo(dtype)
        return info.min <= low and info.max >= max(k - 1, 0)
    return st.tuples(
        hnp.arrays(np.int64, n, elements=st.integers(low, max(k - 1, low))),
        st.sampled_from([d for d in dtypes if fits(d)])).map(lambda t: t[0].astype(t[1]))


# ---- DBSCAN --------------------------------------------------------------------------------

TIE_EPS = [0.5, 1.0, 1.5, 2.0, 3.0]  # squared, a multiple of 1/4: ties with the halves below


@budget(150)
@given(data=st.data())
def test_dbscan_on_features_is_the_oracle_or_an_error(data):
    draw = data.draw
    n, d = draw(st.integers(1, 24)), draw(st.integers(1, 7))
    X = draw(hnp.arrays(np.int8, (n, d), elements=st.integers(-6, 6))).astype(np.float32) / 2
    X, special = inject(draw, X)
    off_eps = st.integers(0, 40).map(lambda q: math.sqrt(q / 4 + 1 / 8))  # between the ties
    eps = draw(off_eps if special == "subnormal" else mostly(
        st.one_of(st.sampled_from(TIE_EPS + [math.inf]), off_eps), st.sampled_from([0.0, -1.0, math.nan])))
    min_samples = draw(int_option(1, n + 2, [0, -3, 2**62] + BAD_INT64))
    n_threads = draw(int_option(0, 3, BAD_THREADS))
    algorithm = draw(st.sampled_from(["auto", "brute", "grid", "kd_tree"]))
    want_stats = draw(st.booleans())
    given_X = draw(layout(FLOAT_LAYOUTS))(X)
    valid = (features_valid(X) and eps > 0 and 1 <= min_samples <= INT64_MAX
             and 0 <= n_threads <= INT32_MAX and not (algorithm == "grid" and d > 5))

    def call():
        return rlcc.dbscan_with_stats(given_X, eps, min_samples, n_threads=n_threads,
                                      algorithm=algorithm, want_stats=want_stats)
    if not valid:
        return raises_rlcc(call)
    labels, core, n_clusters, _ = call()
    want, want_core = dbscan_oracle.label(dbscan_oracle.euclidean_neighbours(X, eps), min_samples)
    np.testing.assert_array_equal(labels, want)
    np.testing.assert_array_equal(core, want_core)
    assert n_clusters == want.max() + 1


def distance_matrix(draw, n):
    """Distances on a 1/64 grid (exact in float32 and against eps), not
    symmetric, with a varied diagonal."""
    return draw(hnp.arrays(np.int16, (n, n), elements=st.integers(0, 160))).astype(np.float32) / 64


@budget(100)
@given(data=st.data())
def test_dbscan_on_dense_distances_is_the_oracle_or_an_error(data):
    draw = data.draw
    n = draw(st.integers(1, 20))
    D, special = inject(draw, distance_matrix(draw, n), ("nan", "inf", "subnormal"))
    if draw(mostly(st.just(False), st.just(True))):
        D = D.copy()
        D[draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))] = -1 / 64
    eps = draw(mostly(st.integers(1, 160).map(lambda q: q / 64), st.sampled_from([0.0, math.nan])))
    min_samples = draw(int_option(1, n + 1, [0] + BAD_INT64))
    given_D = draw(layout(FLOAT_LAYOUTS))(D)
    valid = bool(np.isfinite(D).all() and (D >= 0).all()) and eps > 0 and 1 <= min_samples <= INT64_MAX

    def call():
        return rlcc.dbscan(given_D, eps, min_samples, metric="precomputed")
    if not valid:
        return raises_rlcc(call)
    want, _ = dbscan_oracle.label(dbscan_oracle.precomputed_neighbours(D, eps), min_samples)
    np.testing.assert_array_equal(call(), want)


@budget(100)
@given(data=st.data())
def test_dbscan_on_sparse_distances_is_the_oracle_or_an_error(data):
    draw = data.draw
    n = draw(st.integers(1, 20))
    D = distance_matrix(draw, n)
    keep = draw(hnp.arrays(bool, (n, n)))
    rows, cols = np.nonzero(keep)
    order = draw(st.permutations(range(len(rows)))) if draw(st.booleans()) else range(len(rows))
    rows, cols = rows[list(order)], cols[list(order)]  # rows stay grouped below; columns unsorted
    duplicate = draw(mostly(st.just(False), st.just(True))) and len(rows) > 0
    values = D[rows, cols]
    values, special = inject(draw, values, ("nan", "inf"))
    if duplicate:
        rows, cols, values = np.append(rows, rows[0]), np.append(cols, cols[0]), np.append(values, values[0])
    grouped = np.argsort(rows, kind="stable")
    rows, cols, values = rows[grouped], cols[grouped], values[grouped]
    indptr = np.searchsorted(rows, np.arange(n + 1)).astype(draw(st.sampled_from(["int32", "int64"])))
    indices = cols.astype(draw(st.sampled_from(["int32", "int64"])))
    part = draw(layout())
    matrix = sp.csr_matrix((part(values.astype(np.float32)), part(indices), part(indptr)),
                           shape=(n, n))
    eps = draw(st.integers(1, 160).map(lambda q: q / 64))
    min_samples = draw(int_option(1, n + 1, [0] + BAD_INT64))
    valid = not duplicate and special is None and 1 <= min_samples <= INT64_MAX

    def call():
        return rlcc.dbscan(matrix, eps, min_samples, metric="precomputed")
    if not valid:
        return raises_rlcc(call)
    reference = sp.csr_matrix((values, (rows, cols)), shape=(n, n))
    want, _ = dbscan_oracle.label(dbscan_oracle.sparse_neighbours(reference, eps), min_samples)
    np.testing.assert_array_equal(call(), want)


# ---- the exact kNN and the Jaccard distance -------------------------------------------------

def feature_rows(draw, n, d):
    """Rows on a coarse grid (ties), or Gaussian at a scale from subnormal
    to large."""
    if draw(st.booleans()):
        return draw(hnp.arrays(np.int8, (n, d), elements=st.integers(-3, 3))).astype(np.float32) / 4
    scale = draw(st.sampled_from([1e-41, 1e-20, 1.0, 1e5]))
    seed = draw(st.integers(0, 2**32 - 1))
    return (np.random.default_rng(seed).normal(size=(n, d)) * scale).astype(np.float32)


@budget(100)
@given(data=st.data())
def test_knn_is_the_fixed_order_oracle_or_an_error(data):
    draw = data.draw
    n, d = draw(st.integers(1, 20)), draw(st.integers(1, 12))
    X, special = inject(draw, feature_rows(draw, n, d))
    k = draw(int_option(1, n, [0, n + 1] + BAD_INT64))
    n_threads = draw(int_option(0, 3, BAD_THREADS))
    given_X = draw(layout(FLOAT_LAYOUTS))(X)
    valid = features_valid(X) and 1 <= k <= n and 0 <= n_threads <= INT32_MAX

    def call():
        return rlcc.knn(given_X, k, n_threads=n_threads)
    if not valid:
        return raises_rlcc(call)
    indices, sqdist = call()
    want_indices, want_sqdist = fixed_oracle.knn_fixed(X, k)
    np.testing.assert_array_equal(indices, want_indices)
    np.testing.assert_array_equal(sqdist.view(np.uint32), want_sqdist.view(np.uint32))


@budget(50)
@given(data=st.data())
def test_jaccard_with_caller_lists_is_the_oracle_or_an_error(data):
    draw = data.draw
    n, d = draw(st.integers(2, 16)), draw(st.integers(1, 8))
    variant = draw(st.sampled_from(["dot", "sqeuclidean"]))
    X = feature_rows(draw, n, d)
    if variant == "dot":
        X[np.abs(X).sum(1) == 0, 0] = 1
        X = (X / np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)).astype(np.float32)
    k1 = draw(st.integers(1, n))
    k2 = draw(int_option(1, k1, [0, k1 + 1, 2**31]))
    lists, _ = fixed_oracle.knn_fixed(X, k1)
    broken = draw(mostly(st.none(), st.sampled_from(["out of range", "negative", "repeated", "huge"]),
                         one_in=6))
    if broken == "repeated" and k1 < 2:
        broken = None
    if broken:
        lists = lists.copy()
        i = draw(st.integers(0, n - 1))
        lists[i, -1] = {"out of range": n, "negative": -1, "repeated": lists[i, 0],
                        "huge": 2**40}[broken]
    dtype = draw(st.sampled_from(["int32", "int64", "uint32", "uint64"]))
    if broken in ("negative", "huge"):
        dtype = "int64"
    given_lists = draw(layout())(lists.astype(dtype))
    given_X = draw(layout(FLOAT_LAYOUTS))(X)
    valid = broken is None and 1 <= k2 <= k1

    def call():
        return rlcc.jaccard_distance(given_X, k1=k1, k2=k2, variant=variant, dense=True,
                                     knn=given_lists)
    if not valid:
        return raises_rlcc(call)
    want = jaccard_oracle.jaccard(X, lists, k1, k2, variant, weights="fixed")
    np.testing.assert_array_equal(call().view(np.uint32), want.view(np.uint32))


# ---- RLCC: centroids, consensus, probabilities, propagation, blending ------------------------

@st.composite
def label_pairs(draw):
    n = draw(st.integers(0, 40))
    k_prev, k_cur = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    prev = draw(labels_strategy(n, k_prev))
    cur = draw(labels_strategy(n, k_cur))
    return prev, cur


def with_bad_label(draw, labels, k):
    """labels, maybe with one value the library must refuse: below -1, at
    or above k, or beyond int32 (in an int64 or uint64 vector)."""
    bad = draw(mostly(st.none(), st.sampled_from([-2, k, 2**31, 2**32 - 1, 2**63 + 1])))
    if bad is None or len(labels) == 0:
        return labels, False
    dtype = np.uint64 if bad >= 2**63 else np.int64
    labels = np.maximum(labels.astype(np.int64), 0).astype(dtype) if dtype == np.uint64 \
        else labels.astype(np.int64)
    labels[draw(st.integers(0, len(labels) - 1))] = bad
    return labels, True


@budget(100)
@given(data=st.data())
def test_consensus_is_the_oracle_or_an_error(data):
    draw = data.draw
    prev, cur = draw(label_pairs())
    kind = draw(st.sampled_from(["iou", "count"]))
    normalize = draw(st.sampled_from([None, "sum", "softmax"]))
    sparse = draw(st.booleans())
    n_prev = draw(mostly(st.one_of(st.none(), st.integers(int(prev.max(initial=-1)) + 1, 8)),
                         st.sampled_from([-1] + BAD_INT64)))
    n_cur = draw(st.one_of(st.none(), st.integers(int(cur.max(initial=-1)) + 1, 8)))
    prev, bad = with_bad_label(draw, prev, n_prev if n_prev is not None and n_prev >= 0 else 2**31)
    k_prev = n_prev if n_prev is not None else int(prev.astype(np.float64).max(initial=-1)) + 1
    k_cur = n_cur if n_cur is not None else int(cur.max(initial=-1)) + 1
    given_prev, given_cur = draw(layout())(prev), draw(layout())(cur)
    if sparse and normalize == "softmax":  # refused (sparse results are never softmax): rare
        sparse = draw(mostly(st.just(False), st.just(True)))
    valid = (not bad and 0 <= k_prev <= INT64_MAX and not (sparse and normalize == "softmax"))

    def call():
        return rlcc.consensus(given_prev, given_cur, kind=kind, normalize=normalize, sparse=sparse,
                              n_prev=n_prev, n_cur=n_cur, n_threads=draw(st.integers(0, 2)))
    if not valid:
        return raises_rlcc(call)
    got = call()
    got = got.toarray() if sparse else got
    prev32, cur32 = prev.astype(np.int64), cur.astype(np.int64)
    want = rlcc_oracle.consensus(prev32, cur32, k_prev, k_cur, kind, normalize)
    assert got.shape == (k_prev, k_cur)
    if kind == "count" and normalize is None and not sparse:
        np.testing.assert_array_equal(got, want.astype(np.int64))
    else:
        np.testing.assert_allclose(got, want, atol=1e-6)


@budget(100)
@given(data=st.data())
def test_propagation_and_blending_are_the_oracle_or_an_error(data):
    draw = data.draw
    n, k_prev, k_cur = draw(st.integers(1, 30)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    prev = draw(labels_strategy(n, k_prev))
    cur = draw(labels_strategy(n, k_cur))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    C = rng.random((k_prev, k_cur)) * (rng.random((k_prev, k_cur)) < 0.6)
    C = np.where(C.sum(1, keepdims=True) > 0, C / np.maximum(C.sum(1, keepdims=True), 1e-30), 0)
    C = C.astype(np.float32)
    P = rlcc_oracle.softmax_rows(rng.normal(size=(n, k_prev)) * 3).astype(np.float32)
    rows = draw(st.one_of(st.none(), hnp.arrays(np.int64, st.integers(0, 8),
                                                elements=st.integers(0, n - 1))))
    bad_row = draw(mostly(st.none(), st.sampled_from([n, -1, 2**63 + 2]), one_in=4))
    if rows is not None and len(rows) and bad_row is not None:
        rows = rows.astype(np.uint64 if bad_row > INT64_MAX else np.int64)
        rows[0] = bad_row
    w = draw(mostly(st.floats(0, 1), st.sampled_from([-0.5, 1.5, math.nan])))
    beta = draw(mostly(st.floats(0, 1), st.sampled_from([2.0, math.nan])))
    alpha = draw(mostly(st.floats(0, 1), st.sampled_from([-1.0, math.nan])))
    prev, bad_label = with_bad_label(draw, prev, k_prev)
    as_sparse = draw(st.booleans())
    given_C = sp.csr_matrix(C) if as_sparse else draw(layout(FLOAT_LAYOUTS))(C)
    picked = None if rows is None else rows.astype(np.int64)
    n_rows = n if rows is None else len(rows)
    P_rows = P if picked is None else P[np.clip(picked, 0, n - 1)]
    given_P = draw(layout(FLOAT_LAYOUTS))(P_rows)
    given_prev, given_cur = draw(layout())(prev), draw(layout())(cur)
    rows_bad = rows is not None and len(rows) > 0 and bad_row is not None
    soft_ok = not bad_label and not rows_bad and 0 <= w <= 1 and 0 <= beta <= 1

    def soft():
        return rlcc.propagate(given_P, given_C, prev_labels=given_prev, w=w, beta=beta, rows=rows)
    if not soft_ok:
        raises_rlcc(soft)
    else:
        want_S = rlcc_oracle.propagate(prev.astype(np.int64), C.astype(np.float64),
                                       P.astype(np.float64), w, beta)
        want_S = want_S if picked is None else want_S[picked]
        np.testing.assert_allclose(soft(), want_S, atol=1e-5)
    hard_ok = not bad_label and not rows_bad

    def hard():
        return rlcc.propagate(given_prev, given_C, rows=rows)
    if not hard_ok:
        raises_rlcc(hard)
    else:
        want_H = rlcc_oracle.propagate(prev.astype(np.int64), C.astype(np.float64), None, 0, 1)
        np.testing.assert_allclose(hard(), want_H if picked is None else want_H[picked], atol=1e-6)
    S = rng.random((n_rows, k_cur)).astype(np.float32)
    given_S = draw(layout(FLOAT_LAYOUTS))(S)

    def blend():
        return rlcc.blend(given_cur, given_S, alpha=alpha, rows=rows)
    if rows_bad or not 0 <= alpha <= 1:
        return raises_rlcc(blend)
    batch_cur = cur.astype(np.int64) if picked is None else cur.astype(np.int64)[picked]
    np.testing.assert_allclose(blend(), rlcc_oracle.blend(batch_cur, S.astype(np.float64), alpha),
                               atol=1e-6)


@budget(100)
@given(data=st.data())
def test_centroids_and_probabilities_are_the_oracle_or_an_error(data):
    draw = data.draw
    n, d, k = draw(st.integers(1, 30)), draw(st.integers(1, 8)), draw(st.integers(1, 5))
    X = draw(hnp.arrays(np.int8, (n, d), elements=st.integers(-8, 8))).astype(np.float32) / 4
    X, special = inject(draw, X)
    labels = draw(labels_strategy(n, k))
    labels, bad_label = with_bad_label(draw, labels, k)
    n_classes = draw(mostly(st.just(k), st.sampled_from([-1] + BAD_INT64)))
    given_X, given_labels = draw(layout(FLOAT_LAYOUTS))(X), draw(layout())(labels)
    valid = features_valid(X) and not bad_label and 1 <= n_classes <= INT64_MAX

    def call():
        return rlcc.centroids(given_X, given_labels, n_classes=n_classes)
    if not valid:
        return raises_rlcc(call)
    got = call()
    want = rlcc_oracle.centroids(X, labels.astype(np.int64), k)
    np.testing.assert_allclose(got, want, atol=1e-6)
    # the probabilities of these rows against those centroids
    scale = draw(mostly(st.floats(0.5, 30), st.sampled_from([0.0, -1.0, math.nan])))
    rows = draw(st.one_of(st.none(), hnp.arrays(np.int64, st.integers(0, 6),
                                                elements=st.integers(0, n - 1))))

    def probabilities():
        return rlcc.class_probabilities(given_X, got, scale=scale, rows=rows)
    if not scale > 0:
        return raises_rlcc(probabilities)
    P = rlcc_oracle.softmax_rows(scale * X.astype(np.float64) @ got.T.astype(np.float64))
    np.testing.assert_allclose(probabilities(), P if rows is None else P[rows], atol=1e-5)


# ---- the refiner: callbacks' results and sample lists ---------------------------------------

def clustered(seed, n=48, d=6):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, d))
    X = centres[np.arange(n) % 4] + rng.normal(size=(n, d)) * 0.05
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


REFINER = dict(k1=8, k2=3, n_threads=1)


@pytest.fixture(scope="module")
def two_generations():
    X = clustered(0)
    refiner = rlcc.Refiner(**REFINER)
    refiner.step(X)
    return X, refiner.step(X)


@budget(40)
@given(data=st.data())
def test_refiner_callbacks_and_sample_lists(data, two_generations):
    """Features given as a callable in any layout, a logits callback of any
    shape, and target rows of any integer dtype: the callable's generation
    is the array's; a result of another shape, or a row outside [0, n), is
    refused with the refiner unchanged."""
    draw = data.draw
    X, want = two_generations
    n, d = X.shape
    refiner = rlcc.Refiner(**REFINER, batch=draw(st.integers(1, n + 3)))
    part = draw(layout(FLOAT_LAYOUTS))
    short = draw(mostly(st.none(), st.sampled_from(["rows", "columns", "3-D"]), one_in=4))

    def features(start, count):
        block = X[start:start + count]
        if short == "rows":
            block = block[:-1]
        elif short == "columns":
            block = block[:, :-1]
        elif short == "3-D":
            block = block[:, None, :]
        return part(block)
    first = lambda: refiner.step(features, n=n, d=d)  # noqa: E731
    if short:
        raises_rlcc(first)
        assert refiner.bytes() == 0
        return
    g = first()
    np.testing.assert_array_equal(g.labels, rlcc.Refiner(**REFINER).step(X).labels)
    k_prev = g.n_classes
    logits_shape = draw(mostly(st.just("right"), st.sampled_from(["(count, 1)", "(k,)", "wide"]),
                               one_in=4))
    seed = draw(st.integers(0, 2**32 - 1))
    logits = np.random.default_rng(seed).normal(size=(n, k_prev)).astype(np.float32)

    def fill_logits(start, count):
        block = logits[start:start + count]
        if logits_shape == "(count, 1)":
            block = block[:, :1]
        elif logits_shape == "(k,)":
            block = block[0]
        elif logits_shape == "wide":
            block = np.hstack([block, block[:, :1]])
        return part(block)
    second = lambda: refiner.step(X, logits=fill_logits)  # noqa: E731
    if logits_shape != "right":
        raises_rlcc(second)
        assert refiner.generation().generation == 1
        return
    g2 = second()
    T = refiner.targets()
    C = rlcc_oracle.consensus(g.labels, g2.labels, k_prev, g2.n_classes)
    want_T = rlcc_oracle.blend(g2.labels, rlcc_oracle.propagate(
        g.labels, C, rlcc_oracle.softmax_rows(logits.astype(np.float64)), 0.0, 0.0), 0.9)
    np.testing.assert_allclose(T, want_T, atol=1e-5)
    rows = draw(hnp.arrays(draw(st.sampled_from(["int16", "int32", "int64", "uint32", "uint64"])),
                           st.integers(0, 10), elements=st.integers(0, n - 1)))
    bad = draw(mostly(st.none(), st.sampled_from([n, 2**63 + 5]), one_in=4))
    if bad is not None and len(rows):
        rows = rows.astype(np.uint64)
        rows[-1] = bad
        return raises_rlcc(lambda: refiner.targets(draw(layout())(rows)))
    np.testing.assert_array_equal(refiner.targets(draw(layout())(rows)),
                                  T[rows.astype(np.int64)])
