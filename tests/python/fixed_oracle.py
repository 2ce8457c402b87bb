"""A NumPy replica of src/fixed.c, operation for operation, and the exact
kNN it defines (rlcc_knn's contract since 1.3). Independent of librlcc.

fixed.c sums in eight lanes: element t goes to lane t mod 8, each lane
summed in ascending t from +0.0, the lanes combined as
((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). Every operation below is
one IEEE double operation of the same operands in the same order (numpy
never fuses a multiply and an add; the library is built with
-ffp-contract=off), so the results are the same bits, not close ones.
"""

import numpy as np

LANES = 8

LN2_HI = float.fromhex("0x1.62e42feep-1")
LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
INV_LN2 = float.fromhex("0x1.71547652b82fep0")
# 1/14! ... 1/1!, 1/0!, each rounded once, as the C compiler folds them
INV_FACTORIAL = [1.0 / 87178291200.0, 1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0,
                 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0,
                 1.0 / 2.0, 1.0, 1.0]
INV_FACTORIAL_15 = 1.0 / 1307674368000.0


def _combine(lane):
    """lane[..., 8] -> ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))."""
    l = [lane[..., i] for i in range(LANES)]
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))


def _lanes(a, b, term):
    """Eight-lane sum over the last axis of term(a_t, b_t) in double, a and b
    broadcast against each other (float32 values widened exactly)."""
    a = np.asarray(a, dtype=np.float32).astype(np.float64)
    b = np.asarray(b, dtype=np.float32).astype(np.float64)
    d = a.shape[-1]
    assert b.shape[-1] == d
    shape = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    lane = np.zeros(shape + (LANES,), dtype=np.float64)
    for k in range(0, d, LANES):  # one block of (up to) eight columns: lane l gets column k + l
        w = min(LANES, d - k)
        lane[..., :w] += term(a[..., k:k + w], b[..., k:k + w])
    return _combine(lane)


def _square_of_difference(a, b):
    diff = a - b
    return diff * diff


def sqdist_fixed(a, b):
    """rlcc__sqdist_fixed over the last axis, broadcast: sum of
    ((double)a_t - (double)b_t)^2 in the eight-lane order."""
    return _lanes(a, b, _square_of_difference)


def dot_fixed(a, b):
    """rlcc__dot_fixed over the last axis, broadcast: sum of
    (double)a_t * (double)b_t in the eight-lane order."""
    return _lanes(a, b, np.multiply)


def sqdist_between(A, B):
    """D(i, j) = sqdist_fixed(A[i], B[j]) for every pair, (len(A), len(B))
    float64, vectorised across the pairs: the squared differences of each
    column go to their lane."""
    a_columns = np.ascontiguousarray(np.asarray(A, dtype=np.float32).astype(np.float64).T)
    b_columns = np.ascontiguousarray(np.asarray(B, dtype=np.float32).astype(np.float64).T)
    d = a_columns.shape[0]
    assert b_columns.shape[0] == d
    lane = np.zeros((LANES, a_columns.shape[1], b_columns.shape[1]), dtype=np.float64)
    diff = np.empty(lane.shape[1:], dtype=np.float64)
    for t in range(d):  # column t goes to lane t mod 8, the lanes summed in ascending t
        np.subtract.outer(a_columns[t], b_columns[t], out=diff)
        np.multiply(diff, diff, out=diff)
        lane[t % LANES] += diff
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]))


def exp_fixed(x):
    """rlcc__exp_fixed, elementwise: x = n ln2 + r (n = nearbyint(x / ln2),
    Cody-Waite with LN2_HI / LN2_LO), exp(r) by Horner from 1/15! down to
    1, times 2^n by ldexp (exact, rounding once when subnormal)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        n = np.rint(x * INV_LN2)  # nearbyint in round-to-nearest-even
        r = (x - n * LN2_HI) - n * LN2_LO
        p = np.full_like(x, INV_FACTORIAL_15)
        for c in INV_FACTORIAL:
            p = p * r + c
        safe_n = np.where(np.isfinite(n), n, 0).astype(np.int64)
        result = np.ldexp(p, np.clip(safe_n, -2000, 2000).astype(np.int32))
    result = np.where(x > 710.0, np.inf, result)
    result = np.where(x < -746.0, 0.0, result)
    result = np.where(np.isnan(x), x, result)
    return result[()] if result.ndim == 0 else result


def row_norms(X):
    """rlcc__row_norms: sum of (double)x_t^2 in ascending t, one accumulator
    (check.c), the squared norms the Jaccard weights use."""
    X64 = np.asarray(X, dtype=np.float32).astype(np.float64)
    sq = np.zeros(X64.shape[0], dtype=np.float64)
    for t in range(X64.shape[1]):
        sq = sq + X64[:, t] * X64[:, t]
    return sq


def order_by_distance(D, k):
    """The k smallest of every row of D, ascending by (D, index): a stable
    lexsort with the index as the tie-break."""
    columns = np.broadcast_to(np.arange(D.shape[1]), D.shape)
    return np.lexsort((columns, D), axis=1)[:, :k]


def knn_fixed(X, k, block=256):
    """rlcc_knn's contract: (indices int64 (n, k), sqdist float32 (n, k)),
    rows ranked by D, ties by the lower index, distances float32(D); block
    rows of D at a time, so that a large n needs no n x n matrix."""
    n = len(X)
    indices = np.empty((n, k), dtype=np.int64)
    sqdist = np.empty((n, k), dtype=np.float32)
    for r0 in range(0, n, block):
        D = sqdist_between(X[r0:r0 + block], X)
        order = order_by_distance(D, k)
        indices[r0:r0 + block] = order
        sqdist[r0:r0 + block] = np.take_along_axis(D, order, 1)
    return indices, sqdist


def knn_float32_gram(X, k):
    """The ranking of librlcc 1.1 and 1.2 (and faiss): |a|^2 + |b|^2 - 2 a.b
    in float32, clamped at 0, ties by index. Not librlcc's any more: the
    tests use it to show that their cases tell the two rankings apart."""
    X32 = np.asarray(X, dtype=np.float32)
    sq = (X32 * X32).sum(1, dtype=np.float32)
    G = X32 @ X32.T
    D = np.maximum(sq[:, None] + sq[None, :] - np.float32(2) * G, np.float32(0))
    order = order_by_distance(D, k).astype(np.int64)
    return order, np.take_along_axis(D, order, 1)
