"""rlcc.knn and rlcc.jaccard_distance against the NumPy oracle of the spec
(jaccard_oracle.py) on generated cases, plus DBSCAN parity on the result,
thread-count independence and every refusal."""

import gc
import weakref

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import DBSCAN

import rlcc
from rlcc import _native
from jaccard_oracle import brute_knn, jaccard


def reid_like(rng, n, d, identities=None, noise=0.35, duplicates=0):
    """Unit rows around a few identity directions, some rows duplicated."""
    identities = identities or max(2, n // 12)
    centres = rng.normal(size=(identities, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    X = centres[rng.integers(0, identities, n)] + rng.normal(size=(n, d)) * noise / np.sqrt(d)
    if duplicates:
        X[rng.integers(0, n, duplicates)] = X[rng.integers(0, n, duplicates)]
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32)


def case_parameters(index):
    """About 90 small cases and 10 large ones; k1 from 1 to 40 (30 often),
    k2 from 1 to k1 (6 often), both variants."""
    rng = np.random.default_rng(7000 + index)
    n = int(rng.integers(1000, 3001)) if index % 10 == 9 else int(rng.integers(41, 401))
    k1 = [30, 30, 20, 1, 2, 7, 13, 25, 40, int(rng.integers(1, 41))][index % 10]
    k2 = [6, 1, k1, int(rng.integers(1, k1 + 1))][index % 4]
    k2 = min(k2, k1)
    variant = "dot" if index % 2 == 0 else "sqeuclidean"
    d = int(rng.choice([8, 16, 32, 64]))
    return rng, n, d, k1, k2, variant


CASES = range(100)


@pytest.mark.parametrize("index", CASES)
def test_same_lists_same_distances_as_the_oracle(index):
    rng, n, d, k1, k2, variant = case_parameters(index)
    X = reid_like(rng, n, d, duplicates=int(rng.integers(0, 6)))
    if variant == "sqeuclidean":
        X = X * rng.uniform(0.5, 2.0, size=(n, 1)).astype(np.float32)  # not unit rows
    R, _ = brute_knn(X, k1)
    if index % 5 == 3:
        # caller lists where self sits elsewhere or is missing
        R = R.copy()
        R[:, [0, -1]] = R[:, [-1, 0]]
        if k1 > 1:
            R[::3, -1] = (R[::3, 0] + n // 2) % n
            for i in range(0, n, 3):
                while R[i, -1] in R[i, :-1]:
                    R[i, -1] = (R[i, -1] + 1) % n
    want = jaccard(X, R, k1, k2, variant)
    got_dense = rlcc.jaccard_distance(X, k1=k1, k2=k2, variant=variant, knn=R, dense=True)
    assert np.abs(got_dense - want).max() <= 1e-6
    assert np.array_equal(got_dense, got_dense.T)  # bitwise symmetric
    got = rlcc.jaccard_distance(X, k1=k1, k2=k2, variant=variant, knn=R, cutoff=1.0)
    assert got.dtype == np.float32 and got.has_sorted_indices
    full = np.ones((n, n), dtype=np.float32)
    coo = got.tocoo()
    full[coo.row, coo.col] = coo.data
    assert np.array_equal(full, got_dense)  # sparse holds every pair below 1
    assert (got.data < 1).all()


def test_exact_ties_and_duplicate_rows_are_bitwise_equal_to_the_oracle():
    # small-integer coordinates: every distance is exact, many are equal
    rng = np.random.default_rng(1)
    X = rng.integers(-2, 3, size=(150, 4)).astype(np.float32)
    X[X.sum(1) == 0, 0] = 1
    for variant in ("sqeuclidean",):
        R, _ = brute_knn(X, 12)
        got = rlcc.jaccard_distance(X, k1=12, k2=4, variant=variant, knn=R, dense=True)
        np.testing.assert_array_equal(got, jaccard(X, R, 12, 4, variant))


def knn_matches_brute_force(X, k, got_indices, got_dist, tolerance=1e-5):
    want, want_dist = brute_knn(X, k)
    X64 = X.astype(np.float64)
    sq = (X64 * X64).sum(1)
    assert (np.diff(got_dist, axis=1) >= 0).all()
    for i in np.flatnonzero((got_indices != want).any(axis=1)):
        # a difference is allowed only where distances tie to rounding
        true_got = sq[i] + sq[got_indices[i]] - 2 * X64[got_indices[i]] @ X64[i]
        assert np.allclose(np.maximum(true_got, 0), want_dist[i], rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(got_dist, want_dist, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(12))
def test_knn_is_the_double_precision_ranking_except_at_near_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 1500))
    X = reid_like(rng, n, int(rng.choice([4, 32, 128])), duplicates=int(rng.integers(0, 4)))
    k = int(rng.integers(1, min(n, 40) + 1))
    indices, dist = rlcc.knn(X, k)
    assert indices.dtype == np.int64 and dist.dtype == np.float32 and indices.shape == (n, k)
    knn_matches_brute_force(X, k, indices, dist)


def test_knn_tie_rule_on_exact_ties():
    # integer grid: all Gram entries exact, so ties are real and broken by index
    grid = np.array([[a, b] for a in range(12) for b in range(12)], dtype=np.float32)
    grid = np.concatenate([grid, grid[::7]])  # duplicates: distance-0 ties
    for k in (1, 5, 9, 30):
        indices, dist = rlcc.knn(grid, k)
        want, want_dist = brute_knn(grid, k)
        np.testing.assert_array_equal(indices, want)
        np.testing.assert_array_equal(dist, want_dist.astype(np.float32))


@pytest.mark.parametrize("seed", range(6))
def test_dbscan_on_the_sparse_result_equals_sklearn_on_the_dense_oracle(seed):
    rng = np.random.default_rng(100 + seed)
    X = reid_like(rng, int(rng.integers(200, 500)), 32, noise=0.5)
    R, _ = brute_knn(X, 30)
    dense = jaccard(X, R, 30, 6, "dot")
    for eps in (0.58, 0.6, 0.62):
        if np.isclose(dense, eps, atol=0, rtol=0).any():
            continue
        want = DBSCAN(eps=eps, min_samples=4, metric="precomputed").fit(dense).labels_
        for cutoff in (0.9, 1.0):
            graph = rlcc.jaccard_distance(X, cutoff=cutoff)  # its own kNN
            got = rlcc.dbscan(graph, eps, 4, metric="precomputed")
            np.testing.assert_array_equal(got, want)
            assert (graph.data < cutoff).all()


def test_identical_for_every_thread_count():
    rng = np.random.default_rng(5)
    X = reid_like(rng, 1800, 32)
    small = 16 << 20  # Gram tiles of at most 4 MiB: several panels
    base = rlcc.jaccard_distance(X, n_threads=1, max_bytes=small)
    base_knn = rlcc.knn(X, 30, n_threads=1, max_bytes=small)
    for threads in (2, 3):
        other = rlcc.jaccard_distance(X, n_threads=threads, max_bytes=small)
        np.testing.assert_array_equal(other.indptr, base.indptr)
        np.testing.assert_array_equal(other.indices, base.indices)
        np.testing.assert_array_equal(other.data, base.data)
        got_knn = rlcc.knn(X, 30, n_threads=threads, max_bytes=small)
        np.testing.assert_array_equal(got_knn[0], base_knn[0])
        np.testing.assert_array_equal(got_knn[1], base_knn[1])
    np.testing.assert_array_equal(rlcc.jaccard_distance(X).data, base.data)  # one panel


def test_sparse_result_wraps_library_memory_and_frees_it():
    X = reid_like(np.random.default_rng(2), 200, 16)
    graph = rlcc.jaccard_distance(X, k1=10, k2=3)
    owner = graph._rlcc_owner
    assert graph.data.ctypes.data == _native.lib.rlcc_csr_data(owner.handle)
    assert graph.indices.ctypes.data == _native.lib.rlcc_csr_indices(owner.handle)
    assert not graph.data.flags.owndata
    alive = weakref.ref(owner)
    data = graph.data
    del graph, owner
    gc.collect()
    assert alive() is not None  # a view of the data still holds it
    total = float(data.sum())
    del data
    gc.collect()
    assert alive() is None and total > 0


def test_normalize_and_float64_input():
    rng = np.random.default_rng(3)
    X = reid_like(rng, 120, 16)
    scaled = X * rng.uniform(0.5, 3, size=(120, 1))
    with pytest.raises(rlcc.InvalidArgument, match="not 1 within"):
        rlcc.jaccard_distance(scaled, k1=10)
    a = rlcc.jaccard_distance(scaled, k1=10, normalize=True, dense=True)
    b = rlcc.jaccard_distance(X, k1=10, dense=True)
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_array_equal(rlcc.jaccard_distance(X.astype(np.float64), k1=10, dense=True), b)


def test_empty_input():
    graph = rlcc.jaccard_distance(np.zeros((0, 4), dtype=np.float32))
    assert graph.shape == (0, 0) and graph.nnz == 0
    assert rlcc.jaccard_distance(np.zeros((0, 4), dtype=np.float32), dense=True).shape == (0, 0)


@pytest.mark.parametrize("kwargs,text", [
    (dict(k1=0), "k1"), (dict(k1=51), "k1"), (dict(k2=0), "k2"), (dict(k1=5, k2=6), "k2"),
    (dict(cutoff=0.0), "cutoff"), (dict(cutoff=1.5), "cutoff"), (dict(cutoff=float("nan")), "cutoff"),
    (dict(variant="cosine"), "variant"), (dict(n_threads=-1), "n_threads"),
])
def test_bad_parameters(kwargs, text):
    X = reid_like(np.random.default_rng(4), 50, 8)
    with pytest.raises(rlcc.InvalidArgument, match=text):
        rlcc.jaccard_distance(X, **{"k1": 10, **kwargs})


def test_bad_knn_lists():
    X = reid_like(np.random.default_rng(4), 50, 8)
    R, _ = brute_knn(X, 10)
    with pytest.raises(rlcc.InvalidArgument, match="shape"):
        rlcc.jaccard_distance(X, k1=10, knn=R[:, :9])
    bad = R.copy()
    bad[3, 4] = 50
    with pytest.raises(rlcc.InvalidArgument, match="entry 4 of row 3 is 50"):
        rlcc.jaccard_distance(X, k1=10, knn=bad)
    bad[3, 4] = -1
    with pytest.raises(rlcc.InvalidArgument, match="outside"):
        rlcc.jaccard_distance(X, k1=10, knn=bad)
    bad = R.copy()
    bad[7, 5] = bad[7, 2]
    with pytest.raises(rlcc.InvalidArgument, match="row 7 lists .* twice"):
        rlcc.jaccard_distance(X, k1=10, knn=bad)
    with pytest.raises(rlcc.InvalidArgument, match="integer"):
        rlcc.jaccard_distance(X, k1=10, knn=R.astype(np.float32))


def test_bad_features():
    X = reid_like(np.random.default_rng(4), 50, 8)
    X[9, 1] = np.nan
    with pytest.raises(rlcc.InvalidArgument, match="row 9 has NaN"):
        rlcc.jaccard_distance(X, k1=10)
    with pytest.raises(rlcc.InvalidArgument, match="row 9 has NaN"):
        rlcc.knn(X, 5)
    with pytest.raises(rlcc.InvalidArgument, match="k: 0"):
        rlcc.knn(reid_like(np.random.default_rng(4), 50, 8), 0)
    with pytest.raises(rlcc.InvalidArgument, match="k: 51"):
        rlcc.knn(reid_like(np.random.default_rng(4), 50, 8), 51)


def test_memory_limit():
    X = reid_like(np.random.default_rng(4), 500, 8)
    with pytest.raises(rlcc.OutOfMemory):
        rlcc.jaccard_distance(X, max_bytes=100_000)
