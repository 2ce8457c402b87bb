"""The grid and tree DBSCAN paths (1.5) against scikit-learn's brute-force
DBSCAN and against librlcc's own brute path.

320 seeded low-dimensional cases (d = 1..8): half on small integer lattices,
where every distance is exact in float32 and double and many pairs lie at
exactly eps (so scikit-learn's rounding never decides, and labels must match
everywhere), half random blobs with eps moved off every pairwise distance by
1e-6 relative (librlcc's contract with scikit-learn). Each case runs through
every algorithm and 1, 2 and 3 threads, which must give the brute path's
labels, core flags, cluster count and stats counts bit for bit."""

import ctypes

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from sklearn.cluster import DBSCAN as SklearnDBSCAN

import rlcc
from rlcc import _native

N_LATTICE = 160
N_RANDOM = 160
ALGORITHMS = ("auto", "brute", "grid", "kd_tree")
COUNTS = ("n_neighbor_pairs", "n_core", "n_noise")


def algorithms_for(d):
    return [a for a in ALGORITHMS if a != "grid" or d <= 5]


def lattice_case(index):
    """Clumps of integer points (offsets in [-3, 3]^d around centres 12 apart,
    with repeats) and integer noise; eps an exact lattice distance (1, 2, 3,
    or between them), or one double below 2; min_samples from 1 to beyond n.
    Every distance is the square root of an integer, exact in float32 and
    double, and many lie at exactly eps."""
    rng = np.random.default_rng(1000 + index)
    d = 1 + index % 8
    n = int(rng.integers(1, 400))
    k = int(rng.integers(1, 6))
    centres = rng.integers(0, 4, size=(k, d)) * 12
    X = centres[rng.integers(0, k, n)] + rng.integers(-3, 4, size=(n, d))
    noise = rng.random(n) < 0.1
    X[noise] = rng.integers(-6, 48, size=(int(noise.sum()), d))
    X = X.astype(np.float32)
    scale = 1.0
    if index % 5 == 0:  # far from the origin and scaled: still exact
        X = X * np.float32(4.0) + np.float32(2048.0)
        scale = 4.0
    eps = float(rng.choice([1.0, 2.0, 3.0, 1.5, 2.5, 0.5, 20.0, 0.0]))
    # eps one double below a lattice distance: librlcc's decision is exact
    # there, scikit-learn's is its own float32 rounding, so only the brute
    # path is the reference (librlcc's contract excludes eps within 1e-6)
    exact_for_sklearn = eps != 0.0
    if eps == 0.0:
        eps = float(np.nextafter(2.0, 0.0))
    min_samples = int(rng.choice([1, 2, 3, 4, 6, 10, 25, n + 1]))
    return X, scale * eps, min_samples, exact_for_sklearn


def _off_every_distance(X, eps):
    """eps moved so that no pairwise distance is within 1e-6 (relative)."""
    if len(X) < 2:
        return eps
    dist = np.unique(pdist(X.astype(np.float64)))
    for _ in range(100):
        if not np.any(np.abs(dist - eps) <= 2e-6 * eps):
            return eps
        eps *= 1.0 + 1e-5
    return eps


def random_case(index):
    """Blobs with noise; eps a quantile of the distances, off every one."""
    rng = np.random.default_rng(5000 + index)
    d = 1 + index % 8
    n = int(rng.integers(2, 500))
    k = int(rng.integers(1, 6))
    centres = rng.uniform(-6, 6, size=(k, d))
    X = centres[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * rng.uniform(0.2, 1.0)
    noise = rng.random(n) < 0.1
    X[noise] = rng.uniform(-8, 8, size=(int(noise.sum()), d))
    X = (X * rng.choice([1.0, 1e-3, 1e3])).astype(np.float32)
    nearest = np.sort(np.linalg.norm(X[:, None] - X[None], axis=-1), axis=1)
    min_samples = int(rng.integers(1, 12))
    column = min(min_samples, n - 1)
    eps = float(np.quantile(nearest[:, column], rng.uniform(0.3, 0.9)))
    eps = _off_every_distance(X, max(eps, 1e-9))
    return X, eps, min_samples, True


def check_case(X, eps, min_samples, compare_sklearn=True):
    if compare_sklearn:
        model = SklearnDBSCAN(eps=eps, min_samples=min_samples, algorithm="brute").fit(X)
    want, want_core, want_k, want_stats = rlcc.dbscan_with_stats(
        X, eps, min_samples, algorithm="brute", n_threads=1)
    if compare_sklearn:
        np.testing.assert_array_equal(want, model.labels_)
        np.testing.assert_array_equal(np.flatnonzero(want_core), model.core_sample_indices_)
    for algorithm in algorithms_for(X.shape[1]):
        for threads in (1, 2, 3):
            labels, core, k, stats = rlcc.dbscan_with_stats(
                X, eps, min_samples, algorithm=algorithm, n_threads=threads)
            what = f"{algorithm}, {threads} threads, n {len(X)} d {X.shape[1]} eps {eps!r}"
            np.testing.assert_array_equal(labels, want, err_msg=what)
            np.testing.assert_array_equal(core, want_core, err_msg=what)
            assert k == want_k, what
            assert {c: stats[c] for c in COUNTS} == {c: want_stats[c] for c in COUNTS}, what
        # without stats the grid and tree skip counting pairs: same labels
        np.testing.assert_array_equal(
            rlcc.dbscan(X, eps, min_samples, algorithm=algorithm), want)


@pytest.mark.parametrize("index", range(N_LATTICE))
def test_integer_lattice_ties(index):
    X, eps, min_samples, exact_for_sklearn = lattice_case(index)
    check_case(X, eps, min_samples, compare_sklearn=exact_for_sklearn)


@pytest.mark.parametrize("index", range(N_RANDOM))
def test_random_blobs(index):
    check_case(*random_case(index))


def test_cases_are_hard_enough():
    """At least 300 cases; many lattice cases have pairs at exactly eps, and
    most cases several clusters and noise."""
    assert N_LATTICE + N_RANDOM >= 300
    ties = several = noisy = 0
    for index in range(N_LATTICE):
        X, eps, min_samples, _ = lattice_case(index)
        ties += len(X) > 1 and bool(np.any(pdist(X.astype(np.float64)) == eps))
        labels = rlcc.dbscan(X, eps, min_samples)
        several += labels.max() >= 1
        noisy += (labels == -1).any()
    assert ties >= 50 and several >= 60 and noisy >= 100, (ties, several, noisy)
    several = noisy = 0
    for index in range(N_RANDOM):
        X, eps, min_samples, _ = random_case(index)
        labels = rlcc.dbscan(X, eps, min_samples)
        several += labels.max() >= 1
        noisy += (labels == -1).any()
    assert several >= 100 and noisy >= 100, (several, noisy)


@pytest.mark.parametrize("d", [2, 3])
def test_thousands_of_points(d):
    """Many cells and tree nodes, both threads busy; eps off every distance is
    not checked here, so only the brute path is the reference."""
    rng = np.random.default_rng(d)
    centres = rng.uniform(-20, 20, size=(30, d))
    X = (centres[rng.integers(0, 30, 12000)] + rng.normal(size=(12000, d))).astype(np.float32)
    check_case(X, 0.35 if d == 2 else 0.6, 8, compare_sklearn=False)


@pytest.mark.parametrize("eps", [1e-300, 1e-160, 1e-3, 1e6, 1e200, float("inf")])
@pytest.mark.parametrize("min_samples", [1, 3, 401])
def test_extreme_radii(eps, min_samples):
    """Below every distance (duplicates only), eps^2 subnormal or zero, beyond
    the extent, eps^2 overflowing: every algorithm agrees with brute."""
    rng = np.random.default_rng(7)
    X = rng.integers(0, 20, size=(400, 2)).astype(np.float32)
    check_case(X, eps, min_samples, compare_sklearn=eps < 1e300)


def test_duplicates_and_one_cell():
    X = np.repeat(np.arange(5, dtype=np.float32)[:, None] * 10, 200, axis=0)
    X = np.concatenate([X, X + 1], axis=1)
    check_case(X, 0.5, 200)
    check_case(X, 0.5, 201)
    Y = (np.random.default_rng(3).random((300, 3)) * 0.01).astype(np.float32)
    check_case(Y, 0.1, 300)
    check_case(Y, 0.1, 301)


def test_clusters_touching_at_one_border_point():
    """(2, 0) is at exactly eps from a core point of each cluster and has too
    few neighbours to be core: it joins the lower-numbered cluster."""
    left = [(0, 0), (-1, 0), (0, 1), (0, -1), (-1, -1)]
    right = [(4, 0), (5, 0), (4, 1), (4, -1), (5, 1)]
    for first, second in ((left, right), (right, left)):
        X = np.array([(2, 0)] + first + second, dtype=np.float32)
        check_case(X, 2.0, 4)
        labels = rlcc.dbscan(X, 2.0, 4, algorithm="grid")
        assert labels[0] == 0 and labels[1] == 0 and labels[6] == 1


def test_algorithm_names_and_refusals():
    X = np.zeros((3, 6), dtype=np.float32)
    with pytest.raises(rlcc.InvalidArgument, match="algorithm"):
        rlcc.dbscan(X, 1.0, 2, algorithm="ball_tree")
    with pytest.raises(rlcc.InvalidArgument, match="takes d <= 5, not d = 6"):
        rlcc.dbscan(X, 1.0, 2, algorithm="grid")
    assert (rlcc.dbscan(X, 1.0, 2, algorithm="kd_tree") == 0).all()
    Y = np.eye(3, dtype=np.float32)
    for algorithm in ("grid", "kd_tree"):
        with pytest.raises(rlcc.InvalidArgument, match="euclidean distances only"):
            rlcc.dbscan(Y, 0.1, 2, metric="cosine", algorithm=algorithm)
    assert (rlcc.dbscan(Y, 0.1, 1, metric="cosine") == [0, 1, 2]).all()  # auto: brute
    Z = np.array([[0.0, 1.0], [np.nan, 0.0]], dtype=np.float32)
    for algorithm in ALGORITHMS:
        with pytest.raises(rlcc.InvalidArgument, match="row 1 has NaN at column 0"):
            rlcc.dbscan(Z, 1.0, 2, algorithm=algorithm)
    # precomputed input checks the name and otherwise ignores it
    D = np.zeros((2, 2), dtype=np.float32)
    assert (rlcc.dbscan(D, 1.0, 2, metric="precomputed", algorithm="grid") == 0).all()


def test_unknown_values_and_reserved_through_ctypes():
    X = np.zeros((2, 2), dtype=np.float32)
    labels = np.empty(2, dtype=np.int32)
    for field, value, text in (("algorithm", 4, b"options.algorithm"),
                               ("algorithm", -1, b"options.algorithm"),
                               ("reserved", 1, b"options.reserved")):
        opts = _native.options(0)
        setattr(opts, field, value)
        code = _native.lib.rlcc_dbscan_features(
            _native.pointer(X, ctypes.c_float), 2, 2, 2, 1.0, 2, ctypes.byref(opts),
            _native.pointer(labels, ctypes.c_int32), None, None, None)
        assert code == _native.E_INVALID_ARGUMENT
        assert text in _native.lib.rlcc_last_error()


def test_estimator_takes_algorithm():
    rng = np.random.default_rng(4)
    X = (rng.normal(size=(800, 2)) + rng.integers(0, 3, size=(800, 1)) * 4).astype(np.float32)
    want = SklearnDBSCAN(eps=0.3, min_samples=5, algorithm="brute").fit(X)
    for algorithm in ALGORITHMS:
        ours = rlcc.DBSCAN(eps=0.3, min_samples=5, algorithm=algorithm).fit(X)
        np.testing.assert_array_equal(ours.labels_, want.labels_)
        np.testing.assert_array_equal(ours.core_sample_indices_, want.core_sample_indices_)
        assert ours.get_params()["algorithm"] == algorithm
    with pytest.raises(rlcc.InvalidArgument, match="algorithm"):
        rlcc.DBSCAN(algorithm="ball_tree").fit(X)
