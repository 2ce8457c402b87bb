"""RLCC (spec sections 3 and 4) against the NumPy oracle in rlcc_oracle.py:
consensus, normalisation, probabilities, propagation, blending, the
reliability criterion, and the refiner over several generations."""

import numpy as np
import pytest
import scipy.sparse as sp

import rlcc
import rlcc_oracle as oracle


def label_pair(index):
    """Generated label pairs: empty classes, all noise, one class, K up to
    5,000, N up to 40,000."""
    rng = np.random.default_rng(9000 + index)
    if index % 50 == 49:
        n = int(rng.integers(20000, 40001))
    else:
        n = int(rng.integers(1, 2000))
    shape = index % 10
    k_prev = 1 if shape == 1 else int(rng.integers(1, min(5000, max(2, n)) + 1))
    k_cur = 1 if shape == 2 else int(rng.integers(1, min(5000, max(2, n)) + 1))
    prev = rng.integers(0, k_prev, n).astype(np.int32)
    cur = np.where(rng.random(n) < 0.7, prev % k_cur, rng.integers(0, k_cur, n)).astype(np.int32)
    noise = 1.0 if shape == 3 else rng.uniform(0, 0.3)
    prev[rng.random(n) < noise] = -1
    cur[rng.random(n) < noise / 2] = -1
    return rng, prev, cur, k_prev + int(shape == 4) * 3, k_cur + int(shape == 5) * 2


PAIRS = range(200)


@pytest.mark.parametrize("index", PAIRS)
def test_consensus_and_propagation_match_the_oracle(index):
    rng, prev, cur, k_prev, k_cur = label_pair(index)
    n = len(prev)
    counts = rlcc.consensus(prev, cur, kind="count", normalize=None, n_prev=k_prev, n_cur=k_cur)
    want_counts = oracle.consensus(prev, cur, k_prev, k_cur, "count", None)
    np.testing.assert_array_equal(counts, want_counts.astype(np.int64))  # exact
    C_raw = rlcc.consensus(prev, cur, normalize=None, n_prev=k_prev, n_cur=k_cur)
    np.testing.assert_allclose(C_raw, oracle.consensus(prev, cur, k_prev, k_cur, "iou", None),
                               atol=1e-7)
    C = rlcc.consensus(prev, cur, n_prev=k_prev, n_cur=k_cur)
    want_C = oracle.consensus(prev, cur, k_prev, k_cur)
    np.testing.assert_allclose(C, want_C, atol=1e-6)
    C_sparse = rlcc.consensus(prev, cur, sparse=True, n_prev=k_prev, n_cur=k_cur)
    assert C_sparse.nnz <= n
    np.testing.assert_allclose(C_sparse.toarray(), C, atol=1e-7)
    if k_prev * k_cur <= 200_000:
        np.testing.assert_allclose(
            rlcc.consensus(prev, cur, normalize="softmax", n_prev=k_prev, n_cur=k_cur),
            oracle.consensus(prev, cur, k_prev, k_cur, "iou", "softmax"), atol=1e-6)
    if n > 5000 or k_prev * k_cur > 2_000_000:
        return  # the dense oracle products below would be slow; consensus is checked
    hard = rlcc.propagate(prev, C_sparse)
    np.testing.assert_allclose(hard, oracle.propagate(prev, want_C, None, 0, 1), atol=1e-5)
    P = oracle.softmax_rows(rng.normal(size=(n, k_prev)) * 3).astype(np.float32)
    w, beta, alpha = rng.uniform(0, 1, 3)
    S = rlcc.propagate(P, C, prev_labels=prev, w=w, beta=beta)
    want_S = oracle.propagate(prev, want_C, P.astype(np.float64), w, beta)
    np.testing.assert_allclose(S, want_S, atol=1e-5)
    T = rlcc.blend(cur, S, alpha=alpha)
    np.testing.assert_allclose(T, oracle.blend(cur, want_S, alpha), atol=1e-5)
    # row sums: alpha + (1 - alpha) rowsum(S) for training samples, 0 otherwise
    sums = np.where(cur >= 0, alpha + (1 - alpha) * S.sum(1), 0)
    np.testing.assert_allclose(T.sum(1), sums, atol=1e-5)


@pytest.mark.parametrize("seed", range(8))
def test_class_probabilities(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 24)).astype(np.float32)
    cents = oracle.centroids(X, rng.integers(0, 17, 300), 17)
    want = oracle.softmax_rows(30 * X.astype(np.float64) @ cents.T.astype(np.float64))
    np.testing.assert_allclose(rlcc.class_probabilities(X, cents), want, atol=1e-5)
    rows = rng.integers(0, 300, 40)
    np.testing.assert_allclose(rlcc.class_probabilities(X, cents, rows=rows), want[rows], atol=1e-5)
    np.testing.assert_allclose(rlcc.centroids(X, rng.integers(0, 17, 300), 17) * 0 + 1, 1)


def reid(rng, n_ids, per_id, d, noise, hard=0.05):
    centres = rng.normal(size=(n_ids, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    ids = np.repeat(np.arange(n_ids), per_id)
    scale = np.where(rng.random(len(ids)) < hard, 4 * noise, noise)[:, None]
    X = centres[ids] + rng.normal(size=(len(ids), d)) * scale / np.sqrt(d)
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32), ids


@pytest.mark.parametrize("seed", range(10))
def test_reliability_labels_identical_to_the_oracle(seed):
    rng = np.random.default_rng(seed)
    X, _ = reid(rng, 30, 12, 32, noise=rng.uniform(0.5, 1.2))
    runs = [rlcc.pseudo_labels(X, eps=e, reliability=False).labels for e in (0.5, 0.6, 0.7)]
    for guard in (True, False):
        for threshold in (None, 0.1):
            got = rlcc.pseudo_labels(X, eps=(0.7, 0.5, 0.6), guard=guard, threshold=threshold)
            want, want_threshold = oracle.reliability(*runs, threshold=threshold, guard=guard)
            np.testing.assert_array_equal(got.labels, want)
            assert got.threshold == pytest.approx(want_threshold, abs=0)
            assert got.n_classes == want.max() + 1
            np.testing.assert_allclose(got.centroids, oracle.centroids(X, want, want.max() + 1),
                                       atol=1e-5)
    # keep and singleton policies on one plain run
    kept = rlcc.pseudo_labels(X, eps=0.6, outliers="keep", reliability=False)
    np.testing.assert_array_equal(oracle.singletons(kept.labels), runs[1])


def test_refiner_follows_the_generation_loop_of_the_oracle():
    rng = np.random.default_rng(3)
    base, _ = reid(rng, 40, 10, 32, noise=0.9)
    refiner = rlcc.Refiner(alpha=0.9, w=0.9, beta=0.0, batch=97)
    prev_labels = prev_centroids = None
    for t in range(5):
        X = base + rng.normal(size=base.shape).astype(np.float32) * (0.3 / (t + 1)) / np.sqrt(32)
        X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
        g = refiner.step(X)
        assert g.generation == t + 1
        want = rlcc.pseudo_labels(X, threshold=None if t == 0 else g.threshold)
        np.testing.assert_array_equal(g.labels, want.labels)
        T = refiner.targets()
        want_T = oracle.generation_targets(t, X, g.labels, prev_labels, prev_centroids)
        np.testing.assert_allclose(T, want_T, atol=1e-5)
        batch = rng.permutation(len(X))[:64]
        # equal to the dense rows up to SGEMM rounding: OpenBLAS rounds an
        # entry of X C^T differently with the shape of the product
        np.testing.assert_allclose(refiner.targets(batch), T[batch], rtol=0, atol=1e-6)
        if t == 0:
            np.testing.assert_array_equal(refiner.targets(batch), T[batch])  # no GEMM yet
        prev_labels, prev_centroids = g.labels, g.centroids


def test_refiner_threshold_is_fixed_at_the_first_generation():
    rng = np.random.default_rng(4)
    X, _ = reid(rng, 30, 10, 16, noise=1.1)
    refiner = rlcc.Refiner()
    first = refiner.step(X).threshold
    X2 = X + rng.normal(size=X.shape).astype(np.float32) * 0.05
    second = refiner.step(X2 / np.linalg.norm(X2, axis=1, keepdims=True))
    assert second.threshold == first
    np.testing.assert_array_equal(second.labels, rlcc.pseudo_labels(
        X2 / np.linalg.norm(X2, axis=1, keepdims=True), threshold=first).labels)


def test_refiner_callbacks_and_errors():
    rng = np.random.default_rng(5)
    X, _ = reid(rng, 20, 10, 16, noise=0.8)
    refiner = rlcc.Refiner(batch=33)
    seen = []
    g = refiner.step(lambda s, c: X[s:s + c], n=len(X), d=16,
                     progress=lambda stage, f: seen.append(stage))
    assert g.generation == 1 and 0 in seen and 3 in seen

    class Boom(Exception):
        pass

    def failing(start, count):
        if start > 50:
            raise Boom("feature extraction failed")
        return X[start:start + count]

    with pytest.raises(Boom, match="feature extraction failed"):
        refiner.step(failing, n=len(X), d=16)
    assert refiner.generation().generation == 1  # unchanged
    with pytest.raises(rlcc.Canceled):
        refiner.step(X, progress=lambda stage, f: stage == 1)
    with pytest.raises(rlcc.InvalidArgument, match="shape"):
        refiner.step(lambda s, c: X[s:s + c - 1], n=len(X), d=16)
    with pytest.raises(rlcc.InvalidArgument, match="differs"):
        refiner.step(X[:, :8])
    # the logits callback replaces the centroid softmax
    k_prev = g.n_classes
    logits = rng.normal(size=(len(X), k_prev)).astype(np.float32)
    g2 = refiner.step(X, logits=lambda s, c: logits[s:s + c])
    T = refiner.targets()
    C = oracle.consensus(g.labels, g2.labels, k_prev, g2.n_classes)
    want = oracle.blend(g2.labels, oracle.propagate(g.labels, C, oracle.softmax_rows(
        logits.astype(np.float64)), 0.0, 0.0), 0.9)
    np.testing.assert_allclose(T, want, atol=1e-5)
    # a logits or progress callback that raises: the step stops, the exception
    # comes back as itself, the refiner is unchanged
    def no_head(start, count):
        raise Boom("no classifier head")

    def broken_progress(stage, fraction):
        raise Boom("progress bar crashed")

    for kwargs, text in ((dict(logits=no_head), "no classifier head"),
                         (dict(progress=broken_progress), "progress bar crashed")):
        with pytest.raises(Boom, match=text):
            refiner.step(X, **kwargs)
        assert refiner.generation().generation == 2
        np.testing.assert_array_equal(refiner.targets(), T)


@pytest.mark.parametrize("call,text", [
    (lambda: rlcc.consensus([0, 1], [0]), "lengths"),
    (lambda: rlcc.consensus([0, -2], [0, 0]), "below -1"),
    (lambda: rlcc.consensus([0, 3], [0, 0], n_prev=2), "not below the class count"),
    (lambda: rlcc.consensus([0, 1], [0, 1], kind="jaccard"), "kind"),
    (lambda: rlcc.consensus([0, 1], [0, 1], normalize="softmax", sparse=True), "softmax"),
    (lambda: rlcc.blend([0, 1], np.ones((2, 2)), alpha=1.5), "alpha"),
    (lambda: rlcc.blend([0, 1], np.full((2, 2), np.nan)), "NaN"),
    (lambda: rlcc.propagate(np.ones((2, 2)) / 2, np.eye(2), prev_labels=[0, 1], w=-0.1), "w"),
    (lambda: rlcc.propagate(np.ones((2, 2)) / 2, np.eye(2), prev_labels=[0, 1], beta=2), "beta"),
    (lambda: rlcc.propagate([0, 5], np.eye(2)), "not below"),
    (lambda: rlcc.class_probabilities(np.ones((3, 4)), np.ones((2, 5))), "dimension"),
    (lambda: rlcc.class_probabilities(np.ones((3, 4)), np.ones((2, 4)), scale=0), "scale"),
    (lambda: rlcc.class_probabilities(np.ones((3, 4)), np.ones((2, 4)), rows=[5]), "rows"),
    (lambda: rlcc.pseudo_labels(np.ones((9, 4)), eps=(0.5, 0.6)), "eps"),
    (lambda: rlcc.pseudo_labels(np.ones((9, 4)), outliers="keep"), "singleton"),
    (lambda: rlcc.pseudo_labels(np.ones((9, 4)), eps=0.5), "three eps"),
    (lambda: rlcc.pseudo_labels(np.ones((9, 4)) / 2, eps=0.95, reliability=False), "cutoff"),
    (lambda: rlcc.Refiner(alpha=2).step(np.ones((9, 4)) / 2), "alpha"),
])
def test_bad_input_is_refused(call, text):
    with pytest.raises(rlcc.InvalidArgument, match=text):
        call()


def test_propagate_and_blend_for_a_batch_of_rows_equal_the_full_rows():
    rng = np.random.default_rng(5)
    prev = rng.integers(-1, 9, size=300).astype(np.int32)
    cur = rng.integers(-1, 11, size=300).astype(np.int32)
    x = rng.normal(size=(300, 16)).astype(np.float32)
    C = rlcc.consensus(prev, cur, sparse=True)
    cents = rlcc.centroids(x, prev, n_classes=9)
    P = rlcc.class_probabilities(x, cents)
    S = rlcc.propagate(P, C, prev, w=0.9, beta=0.3)
    T = rlcc.blend(cur, S, 0.9)
    batch = np.array([299, 0, 17, 17, 150])
    Pb = rlcc.class_probabilities(x, cents, rows=batch)
    Sb = rlcc.propagate(Pb, C, prev, w=0.9, beta=0.3, rows=batch)
    Tb = rlcc.blend(cur, Sb, 0.9, rows=batch)
    np.testing.assert_allclose(Pb, P[batch], atol=1e-6)
    np.testing.assert_allclose(Sb, S[batch], atol=1e-6)
    np.testing.assert_allclose(Tb, T[batch], atol=1e-6)
    hard = rlcc.propagate(prev, C, rows=batch)
    np.testing.assert_array_equal(hard, rlcc.propagate(prev, C)[batch])
    empty = np.array([], dtype=np.int64)
    assert rlcc.blend(cur, np.zeros((0, 11), np.float32), rows=empty).shape == (0, 11)
    assert rlcc.class_probabilities(x, cents, rows=empty).shape == (0, 9)
    with pytest.raises(rlcc.InvalidArgument, match="rows"):
        rlcc.propagate(prev, C, rows=[300])
    with pytest.raises(rlcc.InvalidArgument, match="S: shape"):
        rlcc.blend(cur, S, rows=batch)
    with pytest.raises(rlcc.InvalidArgument, match="prev_labels: needed with rows"):
        rlcc.propagate(Pb, C, rows=batch)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_three_radii_over_a_plain_metric_equal_three_separate_runs(seed, metric):
    """pseudo_labels() over euclidean / cosine builds the three neighbour
    graphs in one Gram pass; each run must be the separate DBSCAN's, which is
    scikit-learn's (integer grids put many distances exactly on a radius)."""
    from sklearn.cluster import DBSCAN

    rng = np.random.default_rng(seed)
    if seed % 2:
        X = rng.integers(-3, 4, size=(300, 3)).astype(np.float32)
        X = X[np.abs(X).sum(1) > 0] if metric == "cosine" else X
        eps = (1.0, 2.0, 3.0) if metric == "euclidean" else (0.1, 0.2, 0.3)
    else:
        X, _ = reid(rng, 20, 12, 16, noise=rng.uniform(0.6, 1.2))
        eps = (0.9, 1.0, 1.1) if metric == "euclidean" else (0.4, 0.5, 0.6)
    separate = [rlcc.dbscan(X, e, 4, metric=metric) for e in eps]
    for run, e in zip(separate, eps):
        np.testing.assert_array_equal(run, DBSCAN(eps=e, min_samples=4, metric=metric,
                                                  algorithm="brute").fit(X).labels_)
    # outliers kept, no criterion: the labels are the normal run's
    kept = rlcc.pseudo_labels(X, eps=eps[::-1], metric=metric, outliers="keep", reliability=False)
    np.testing.assert_array_equal(kept.labels, separate[1])
    # the criterion reads all three runs
    for guard in (True, False):
        got = rlcc.pseudo_labels(X, eps=eps, metric=metric, guard=guard)
        want, threshold = oracle.reliability(*[oracle.singletons(r) for r in separate], guard=guard)
        np.testing.assert_array_equal(got.labels, want)
        assert got.threshold == threshold
