"""rlcc.JaccardPlan, rlcc.jaccard_rows and rlcc.pseudo_labels_graph (librlcc
1.8's block Jaccard): over random blockings, offer orders and every variant /
normalize / k2 / cutoff combination, the stacked Jaccard rows are
rlcc.jaccard_distance's CSR byte for byte, and pseudo_labels_graph of them
gives rlcc.pseudo_labels's labels, n_classes and threshold; plus the
refusals."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import rlcc
from test_jaccard import reid_like
from test_knn_exact import duplicated_rows, grid_rows, last_bit_rows

pytestmark = pytest.mark.skipif(not rlcc._native.HAS_BLOCK_JACCARD,
                                reason="librlcc without the 1.8 block Jaccard")


def cuts_of(rng, n, pieces):
    """A random blocking of [0, n) in ``pieces`` blocks (empty ones allowed)."""
    inner = np.sort(rng.integers(0, n + 1, pieces - 1))
    return [0, *inner.tolist(), n]


def blocked(X, knn, cuts, rng, **options):
    """The plans of every block offered every block in a random order (the
    own block sometimes twice), weights stacked, then the Jaccard rows of
    another random blocking stacked."""
    n, d = X.shape
    pieces = []
    blocks = list(zip(cuts[:-1], cuts[1:]))
    for a, b in blocks:
        with rlcc.JaccardPlan(knn, n, (a, b), d, **options) as plan:
            order = rng.permutation(len(blocks))
            for index in order:
                c, e = blocks[index]
                plan.offer(X[a:b], X[c:e], c)
            if rng.random() < 0.3:
                plan.offer(X[a:b], X[a:b], a)  # again: changes nothing
            pieces.append(plan.weights())
    V = sp.vstack(pieces, format="csr")
    jopts = {key: options[key] for key in ("k1", "k2", "cutoff", "variant", "normalize",
                                           "n_threads") if key in options}
    other = cuts_of(rng, n, int(rng.integers(1, 6)))
    rows = [rlcc.jaccard_rows(V, knn, (a, b), **jopts) for a, b in zip(other[:-1], other[1:])]
    return V, sp.vstack(rows, format="csr")


def assert_same_csr(got, want, what):
    assert got.shape == want.shape, what
    assert np.array_equal(got.indptr.astype(np.int64), want.indptr.astype(np.int64)), what
    assert got.indices.astype(np.int32).tobytes() == want.indices.tobytes(), what
    assert got.data.dtype == np.float32 and got.data.tobytes() == want.data.tobytes(), what


KINDS = {
    "reid": lambda rng, n, d: reid_like(rng, n, d, duplicates=n // 10),
    "dups": lambda rng, n, d: duplicated_rows(rng, n, d),
    "grid": lambda rng, n, d: grid_rows(rng, n, d),
    "lastbit": lambda rng, n, d: last_bit_rows(rng, n, d),
}
COMBOS = list(itertools.product(["dot", "sqeuclidean"], [False, True], [1, 6], [1.0, 0.9, 0.5]))


def unit(X):
    norms = np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)
    norms[norms == 0] = 1
    return (X / norms).astype(np.float32)


@pytest.mark.parametrize("combo", range(len(COMBOS)))
def test_stacked_blocks_are_rlcc_jaccard_bytes(combo):
    variant, normalize, k2, cutoff = COMBOS[combo]
    rng = np.random.default_rng(500 + combo)
    kind = list(KINDS)[combo % len(KINDS)]
    n, d = int(rng.integers(40, 260)), int(rng.choice([4, 8, 16, 32]))
    X = KINDS[kind](rng, n, d)
    if variant == "dot" and not normalize:
        X = unit(X)
    if normalize:
        X = X * rng.uniform(0.5, 3.0, size=(n, 1)).astype(np.float32)
        X[np.linalg.norm(X, axis=1) == 0] = 1.0  # normalize refuses a zero row
    k1 = int(rng.choice([30, 10, 20])) if n >= 30 else 10
    k2 = min(k2, k1)
    options = dict(k1=k1, k2=k2, variant=variant, normalize=normalize, cutoff=cutoff)
    # the lists rlcc_jaccard computes (of the normalised rows with normalize)
    knn, _ = rlcc.knn(unit(X) if normalize else X, k1)
    want = rlcc.jaccard_distance(X, knn=knn, **options)
    assert_same_csr(rlcc.jaccard_distance(X, **options), want, "own lists")
    for trial in range(3):
        cuts = cuts_of(rng, n, int(rng.integers(1, 7)))
        _, got = blocked(X, knn, cuts, rng, n_threads=int(rng.integers(0, 3)), **options)
        assert_same_csr(got, want, f"{kind} {options} cuts {cuts}")


def test_weights_stack_to_one_v_for_every_blocking():
    """Every blocking gives the same V (the weights are a function of the row
    alone), and jaccard_rows over the whole range is the whole result."""
    rng = np.random.default_rng(3)
    X = reid_like(rng, 150, 16, duplicates=20)
    knn, _ = rlcc.knn(X, 30)
    first = None
    for pieces in (1, 2, 5, 9):
        V, J = blocked(X, knn, cuts_of(rng, 150, pieces), rng)
        if first is None:
            first = V
        assert_same_csr(V, first, f"V with {pieces} blocks")
        assert_same_csr(rlcc.jaccard_rows(V, knn, (0, 150)), J, "whole range")


PSEUDO = [
    dict(),
    dict(reliability=False),
    dict(reliability=False, outliers="keep"),
    dict(eps=0.6, reliability=False, min_samples=3),
    dict(eps=0.6, reliability=False, outliers="keep", guard=False),
    dict(threshold=0.2),
    dict(guard=False),
    dict(variant="sqeuclidean", k2=1, eps=(0.5, 0.55, 0.6), cutoff=0.7),
    dict(k1=20, k2=4, cutoff=1.0),
]


@pytest.mark.parametrize("index", range(len(PSEUDO)))
def test_graph_labels_are_rlcc_pseudo_labels(index):
    options = PSEUDO[index]
    rng = np.random.default_rng(900 + index)
    n = int(rng.integers(200, 420))
    X = reid_like(rng, n, 24, identities=n // 15, noise=0.9, duplicates=5)
    want = rlcc.pseudo_labels(X, **options)
    k1 = options.get("k1", 30)
    jopts = {key: options[key] for key in ("k1", "k2", "variant", "cutoff") if key in options}
    jopts.setdefault("cutoff", 0.9)
    knn, _ = rlcc.knn(X, k1)
    _, graph = blocked(X, knn, cuts_of(rng, n, 4), rng, **jopts)
    graph_options = {key: value for key, value in options.items() if key not in jopts}
    got = rlcc.pseudo_labels_graph(graph, **graph_options)
    assert got.labels.dtype == np.int32 and got.labels.tobytes() == want.labels.tobytes()
    assert (got.n_classes, got.threshold) == (want.n_classes, want.threshold)
    assert got.centroids is None
    assert want.n_classes < n  # clusters were found, not only singletons


def test_pseudo_labels_graph_reads_no_jaccard_field():
    """A graph smaller than k1 = 30 and an eps above the 0.9 Jaccard cutoff:
    neither applies to a graph."""
    graph = sp.csr_matrix(np.array([[0, .95, 1], [.95, 0, 1], [1, 1, 0]], np.float32))
    got = rlcc.pseudo_labels_graph(graph, eps=0.96, min_samples=2, reliability=False)
    assert got.labels.tolist() == [0, 0, 1] and got.n_classes == 2
    empty = rlcc.pseudo_labels_graph(sp.csr_matrix((0, 0), dtype=np.float32), eps=0.5,
                                     reliability=False)
    assert empty.labels.shape == (0,) and empty.n_classes == 0


def test_empty_blocks_and_plan_lifecycle():
    rng = np.random.default_rng(5)
    X = reid_like(rng, 60, 8)
    knn, _ = rlcc.knn(X, 10)
    plan = rlcc.JaccardPlan(knn, 60, (20, 20), 8, k1=10)
    plan.offer(X[20:20], X, 0)
    W = plan.weights()
    assert W.shape == (0, 60) and W.nnz == 0
    assert rlcc.jaccard_rows(sp.csr_matrix((60, 60), dtype=np.float32), knn, (7, 7),
                             k1=10).shape == (0, 60)
    plan.close()
    plan.close()  # again: nothing
    with pytest.raises(rlcc.InvalidArgument, match="closed"):
        plan.weights()
    with pytest.raises(rlcc.InvalidArgument, match="closed"):
        plan.offer(X[20:20], X, 0)
    assert "closed" in repr(plan)


def test_refusals():
    rng = np.random.default_rng(6)
    n, d = 50, 8
    X = reid_like(rng, n, d)
    knn, _ = rlcc.knn(X, 10)
    bad = [
        (dict(knn=knn, n=n, rows=(0, 51), d=d), "rows"),
        (dict(knn=knn, n=n, rows=(10, 5), d=d), "rows"),
        (dict(knn=knn, n=n, rows=5, d=d), "not a pair"),
        (dict(knn=knn, n=n, rows=(0, 10), d=0), "d: 0"),
        (dict(knn=knn, n=n, rows=(0, 10), d=d, k1=30), "shape"),
        (dict(knn=knn, n=40, rows=(0, 10), d=d), "shape"),
        (dict(knn=knn, n=0, rows=(0, 0), d=d), "n: 0"),
        (dict(knn=knn, n=n, rows=(0, 10), d=d, k2=11), "k2"),
        (dict(knn=knn, n=n, rows=(0, 10), d=d, variant="cos"), "variant"),
        (dict(knn=knn, n=n, rows=(0, 10), d=d, cutoff=0.0), "cutoff"),
        (dict(knn=knn.astype(np.float64), n=n, rows=(0, 10), d=d), "dtype"),
        (dict(knn=np.where(knn == 3, 2**64 - 1, knn.astype(np.uint64)), n=n, rows=(0, 10), d=d),
         "does not fit"),
        (dict(knn=np.where(knn == 3, n, knn), n=n, rows=(0, 10), d=d), "outside"),
        (dict(knn=knn, n=n, rows=(0, 2**63), d=d), "does not fit"),
        (dict(knn=knn, n=n, rows=(0, 10), d=d, k1=10, n_threads=-1), "n_threads"),
    ]
    for kwargs, text in bad:
        kwargs.setdefault("k1", 10)
        with pytest.raises(rlcc.InvalidArgument, match=text):
            rlcc.JaccardPlan(**kwargs)
    with rlcc.JaccardPlan(knn, n, (10, 30), d, k1=10) as plan:
        for args, text in [
            ((X[10:29], X[:5], 0), "rows: shape"),
            ((X[10:30, :4], X[:5], 0), "rows: shape"),
            ((X[10:30], X[:5, :4], 0), "refs: shape"),
            ((X[10:30], X[:5], 46), "ref_offset"),
            ((X[10:30], X[:5], -1), "ref_offset"),
            ((X[10:30] * 2, X[:5], 0), "norm"),  # the dot variant needs unit rows
            ((X[10:30], np.full((5, d), np.nan, np.float32), 0), "NaN"),
        ]:
            with pytest.raises(rlcc.InvalidArgument, match=text):
                plan.offer(*args)
        plan.offer(X[10:30], X[:30], 0)  # refused offers left the plan usable
        with pytest.raises(rlcc.InvalidArgument, match="no offer"):
            plan.weights()  # rows 30 .. were never offered
        plan.offer(X[10:30], X[30:], 30)
        W = plan.weights()
    V = sp.vstack([sp.csr_matrix((10, n), dtype=np.float32), W,
                   sp.csr_matrix((20, n), dtype=np.float32)], format="csr")
    above = V.copy()
    above.data[:] = 1.5
    for args, kwargs, text in [
        ((V[:40], knn, (0, 10)), {}, "weights: shape"),
        ((V.toarray(), knn, (0, 10)), {}, "scipy.sparse"),
        ((V, knn[:40], (0, 10)), {}, "shape"),
        ((V, knn, (0, 51)), {}, "rows"),
        ((above, knn, (0, 10)), {}, r"\[0, 1\]"),
        ((V, knn, (0, 10)), {"k2": 0}, "k2"),
        ((V, knn[0], (0, 10)), {}, "2-D"),
    ]:
        kwargs.setdefault("k1", 10)
        with pytest.raises(rlcc.InvalidArgument, match=text):
            rlcc.jaccard_rows(*args, **kwargs)
    graph = sp.csr_matrix(np.eye(4, dtype=np.float32))
    for kwargs, text in [
        (dict(eps=0.0), "eps"),
        (dict(eps=(0.1, 0.2)), "eps"),
        (dict(eps=0.5), "reliability"),  # one eps with the criterion on
        (dict(outliers="keep"), "singleton"),
        (dict(min_samples=0), "min_samples"),
        (dict(outliers="drop"), "outliers"),
        (dict(threshold=float("nan")), "threshold"),
    ]:
        with pytest.raises(rlcc.InvalidArgument, match=text):
            rlcc.pseudo_labels_graph(graph, **kwargs)
    for value, text in [(graph.toarray(), "scipy.sparse"),
                        (sp.csr_matrix(np.ones((2, 3), np.float32)), "square"),
                        (sp.csr_matrix(np.array([[0, np.nan], [1, 0]], np.float32)), "NaN")]:
        with pytest.raises(rlcc.InvalidArgument, match=text):
            rlcc.pseudo_labels_graph(value, eps=0.5, reliability=False)
