"""rlcc.kmeans and rlcc.kmeans_init_faiss (issue #15 item 3) against the
NumPy oracle of the spec's library promise (kmeans_oracle.py, bit for
bit), scikit-learn 1.2's KMeans(algorithm="lloyd", n_init=1, init=array)
(labels and n_iter equal, centroids within 1e-6), Debian's faiss 1.7.3
(start rows, and whole runs from that start), BLAS kernels in child
processes, threads and budgets, and the refusals."""

import hashlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import kmeans_oracle as oracle
import rlcc

HERE = Path(__file__).resolve().parent


# ---- cases -------------------------------------------------------------------

def _case(rs, kind, n=None):
    """(x float32, init float32, max_iter, tol) of one kind."""
    n = n or int(rs.randint(2, 160))
    d = int(rs.randint(1, 17))
    k = int(rs.randint(1, min(n, 24) + 1))
    x = rs.standard_normal((n, d)).astype(np.float32)
    if kind == "grid":  # exact ties everywhere
        x = rs.randint(-2, 3, (n, d)).astype(np.float32) / 2
    elif kind == "duplicates":
        x[rs.randint(0, n, n // 2)] = x[rs.randint(0, n)]
    elif kind == "constant":
        x[:, rs.randint(0, d)] = 3.25
    elif kind == "last_bit":  # float32 Gram near-ties
        x[1::2] = np.nextafter(x[0::2][: n // 2], np.float32(np.inf))
    rows = rs.choice(n, k, replace=kind in ("grid", "duplicates"))
    init = x[rows].copy()
    if kind == "far":  # empty clusters, several in a step
        init[: max(1, k // 3)] += 40.0
    if kind == "k_is_n":
        init = x.copy()
    max_iter = [300, 1, 2, 7][int(rs.randint(0, 4))]
    tol = [1e-4, 0.0, 1e-2][int(rs.randint(0, 3))]
    return x, init, max_iter, tol


KINDS = ("gaussian", "grid", "duplicates", "constant", "last_bit", "far", "k_is_n")


def _same(result, expected):
    labels, centroids, n_iter = expected
    return (np.array_equal(result.labels, labels) and result.n_iter == n_iter
            and result.centroids.tobytes() == centroids.tobytes())


@pytest.mark.parametrize("kind", KINDS)
def test_oracle_bit_for_bit(kind):
    rs = np.random.RandomState(100 + KINDS.index(kind))
    for case in range(60):
        x, init, max_iter, tol = _case(rs, kind)
        if kind == "k_is_n" and len(x) > 60:
            x, init = x[:60], init[:60]
        got = rlcc.kmeans(x, init, max_iter=max_iter, tol=tol)
        assert _same(got, oracle.kmeans(x, init, max_iter, tol)), (kind, case)


def test_oracle_ties_to_lowest_index():
    # 0 is 1 away from both centroids: centroid 0; 5 goes to 0 too, so 1 is
    # empty and takes the farthest row (row 1)
    got = rlcc.kmeans(np.array([[0.0], [5.0]], np.float32), np.array([[1.0], [-1.0]], np.float32),
                      max_iter=1, tol=0)
    assert got.labels.tolist() == [0, 1] and got.centroids.ravel().tolist() == [0.0, 5.0]
    # all rows equidistant from four centroids at the corners of a square
    x = np.zeros((8, 2), np.float32)
    init = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], np.float32)
    got = rlcc.kmeans(x, init, max_iter=1, tol=0)
    exp = oracle.kmeans(x, init, 1, 0.0)
    assert _same(got, exp)


def test_threads_budgets_in_place():
    rs = np.random.RandomState(3)
    for kind in KINDS:
        x, init, _, _ = _case(rs, kind, n=400)
        ref = rlcc.kmeans(x, init, n_threads=1)
        for threads in (2, 3, 0):
            for budget in (0, 1 << 20, 1 << 18):
                got = rlcc.kmeans(x, init, n_threads=threads, max_bytes=budget)
                assert _same(got, (ref.labels, ref.centroids, ref.n_iter))
        # non-contiguous rows (a column slice) give the same result
        wide = np.zeros((x.shape[0], x.shape[1] + 5), np.float32)
        wide[:, 2:2 + x.shape[1]] = x
        got = rlcc.kmeans(wide[:, 2:2 + x.shape[1]], init)
        assert _same(got, (ref.labels, ref.centroids, ref.n_iter))


_CHILD = r"""
import hashlib, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import rlcc
rs = np.random.RandomState(11)
h = hashlib.sha256()
for kind in range(4):
    n, d, k = 600, [3, 64, 257, 130][kind], [5, 40, 17, 90][kind]
    x = rs.standard_normal((n, d)).astype(np.float32)
    if kind == 3:
        x[1::2] = np.nextafter(x[0::2], np.float32(np.inf))
    init = x[rs.choice(n, k, replace=False)]
    r = rlcc.kmeans(x, init, max_iter=300, tol=0)
    h.update(r.labels.tobytes()); h.update(r.centroids.tobytes()); h.update(str(r.n_iter).encode())
print(h.hexdigest())
"""


def test_blas_kernels_same_bytes():
    digests = set()
    for core in ("Haswell", "Sandybridge", "Prescott", None):
        env = dict(os.environ)
        env.pop("OPENBLAS_CORETYPE", None)
        if core:
            env["OPENBLAS_CORETYPE"] = core
        out = subprocess.run([sys.executable, "-c", _CHILD, str(Path(rlcc.__file__).parents[1])],
                             env=env, check=True, capture_output=True, text=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests


# ---- scikit-learn --------------------------------------------------------------

def _sklearn(x, init, max_iter, tol):
    from sklearn.cluster import KMeans

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = KMeans(init.shape[0], init=init.astype(np.float64), n_init=1, algorithm="lloyd",
                    max_iter=max_iter, tol=tol).fit(x.astype(np.float64))
    return km.labels_, km.cluster_centers_, km.n_iter_


def _tie_safe(x, init, max_iter, tol, exact_first_step):
    """Whether scikit-learn's arithmetic (float64 centroids, centred data,
    -2 x.c + |c|^2) must make the same decisions as librlcc's: every E
    step's best and second-best distances apart by more than rounding, or,
    on the first step of exactly representable data, exactly tied (then
    both sides compute the tie exactly and take the lower index); and at
    most one empty cluster per step (several are ordered by NumPy's
    argpartition there, by distance here: the spec's stated limit)."""
    _, _, _, trace = oracle.kmeans(x, init, max_iter, tol, trace=True)
    if max(trace["empties"], default=0) > 1:
        return False
    # the stop by shift is a comparison too: a shift within rounding of the
    # bound (after an empty cluster's move, librlcc's float32 centroids can
    # repeat exactly where scikit-learn's float64 ones move by an ulp) is a
    # near-tie of the stopping rule
    scale0 = float(np.max(np.sum(x.astype(np.float64) ** 2, axis=1))) + 1.0
    decided = len(trace["shifts"]) - (1 if trace["strict"] else 0)
    for step, (shift, bound) in enumerate(zip(trace["shifts"][:decided], trace["bounds"])):
        if abs(shift - bound) <= 1e-9 * scale0 and not (step == 0 and shift == 0.0):
            return False
    gaps = trace["gaps"]
    scale = float(np.max(np.sum(x.astype(np.float64) ** 2, axis=1))) + 1.0
    for step, gap in enumerate(gaps):
        near = gap <= 1e-9 * scale
        if exact_first_step and step == 0:
            near &= gap != 0
        if near.any():
            return False
    return True


def _check_sklearn(x, init, max_iter, tol):
    got = rlcc.kmeans(x, init, max_iter=max_iter, tol=tol)
    labels, centers, n_iter = _sklearn(x, init, max_iter, tol)
    assert np.array_equal(got.labels, labels)
    assert got.n_iter == n_iter
    assert np.abs(got.centroids - centers).max() <= 1e-6


def test_sklearn_random():
    rs = np.random.RandomState(5)
    compared = 0
    for case in range(240):
        n = int(rs.randint(4, 300))
        d = int(rs.randint(1, 24))
        k = int(rs.randint(1, min(n, 30) + 1))
        x = rs.standard_normal((n, d)).astype(np.float32)
        if case % 4 == 1:
            x[rs.randint(0, n, n // 3)] = x[rs.randint(0, n)]  # duplicates
        if case % 4 == 2:
            x[:, 0] = 1.5  # a constant feature
        init = x[rs.choice(n, k, replace=False)] + rs.standard_normal((k, d)).astype(np.float32) * 0.1
        if case % 5 == 3 and k > 1:
            init[k - 1] += 30.0  # one empty cluster in the first step
        if case % 9 == 0:
            k, init = n, x.copy() if len(np.unique(x, axis=0)) == n else init
        max_iter = [300, 1, 2, 300, 10][case % 5]
        tol = [1e-4, 0.0, 1e-3][case % 3]
        if not _tie_safe(x, init, max_iter, tol, exact_first_step=False):
            continue
        _check_sklearn(x, init, max_iter, tol)
        compared += 1
    assert compared >= 200, compared


def test_sklearn_exact_ties():
    # half-integers, n a power of two: scikit-learn's centred first step is
    # exact, so its ties are ties and go to the lowest index, as librlcc's
    rs = np.random.RandomState(8)
    compared = 0
    for case in range(150):
        n = int(2 ** rs.randint(3, 8))
        d = int(rs.randint(1, 6))
        k = int(rs.randint(2, min(n, 12) + 1))
        x = rs.randint(-3, 4, (n, d)).astype(np.float32) / 2
        init = x[rs.choice(n, k, replace=False)]
        if case % 2:
            init = init + rs.randint(-1, 2, init.shape).astype(np.float32) / 2  # ties between centroids
        max_iter = [1, 300][case % 2]
        if not _tie_safe(x, init, max_iter, 0.0, exact_first_step=True):
            continue
        _check_sklearn(x, init, max_iter, 0.0)
        compared += 1
    assert compared >= 60, compared


def test_sklearn_cluster_emptied_by_a_move():
    # cluster 2 is empty; the farthest row (10) is cluster 1's only member,
    # so the move empties 1, which takes the mean of x (2.5375): what
    # scikit-learn 1.2's centred zero gives, step after step
    x = np.array([[0], [0.1], [10], [0.05]], np.float32)
    init = np.array([[0], [5], [100]], np.float32)
    for max_iter in (1, 2, 300):
        _check_sklearn(x, init, max_iter, 0.0)
        assert _same(rlcc.kmeans(x, init, max_iter=max_iter, tol=0), oracle.kmeans(x, init, max_iter, 0.0))
    assert rlcc.kmeans(x, init, max_iter=1, tol=0).centroids[1, 0] == np.float32(2.5375)


def test_sklearn_k_is_one():
    rs = np.random.RandomState(9)
    for _ in range(20):
        x = rs.standard_normal((int(rs.randint(1, 100)), 4)).astype(np.float32)
        _check_sklearn(x, x[:1] + 7, 300, 1e-4)


# ---- faiss -----------------------------------------------------------------------

def _faiss():
    import faiss  # python3-faiss, a check-tier dependency (scripts/install-deps.sh)

    return faiss


def _faiss_start_rows(x, k, seed, m):
    """The rows faiss.Kmeans(niter=0) starts from (located by value)."""
    faiss = _faiss()
    km = faiss.Kmeans(x.shape[1], k, niter=0, seed=seed, max_points_per_centroid=m, verbose=False)
    km.train(x)
    rows = []
    for c in km.centroids:
        rows.append(int(np.flatnonzero((x == c).all(axis=1))[0]))
    return np.array(rows)


def test_faiss_start_rows(capfd):
    rs = np.random.RandomState(12)
    for case in range(40):
        n = int(rs.randint(2, 3000))
        k = int(rs.randint(1, min(n, 40) + 1))
        m = [256, 1, 3, 39, 10][case % 5]
        seed = [1234, 0, 7, 2**31 - 5, 99][case % 5]  # faiss's Python seed is an int
        x = rs.standard_normal((n, 3)).astype(np.float32)  # distinct rows
        start, train = rlcc.kmeans_init_faiss(x, k, seed=seed, max_points_per_centroid=m,
                                              return_train_rows=True)
        assert np.array_equal(start, _faiss_start_rows(x, k, seed, m)), (n, k, m, seed)
        exp_start, exp_train = oracle.faiss_start(n, k, seed, m)
        assert np.array_equal(start, exp_start) and np.array_equal(train, exp_train)
        assert np.array_equal(rlcc.kmeans_init_faiss(n, k, seed, m), start)
    capfd.readouterr()  # faiss's "please provide at least ..." warnings


def test_faiss_rand_perm():
    faiss = _faiss()
    for n, seed in ((1, 3), (2, 1235), (50, 1235), (1000, 2**40 + 9), (700, 0)):
        perm = np.zeros(n, dtype=np.int32)
        faiss.rand_perm(faiss.swig_ptr(perm), n, seed)
        assert np.array_equal(oracle.rand_perm(n, seed), perm)


def test_faiss_whole_run_from_emulated_start():
    # OpenUnReID's generator: faiss.Kmeans(niter) then index.search(x, 1).
    # From faiss's own start, with tol = 0, librlcc's labels equal faiss's
    # when faiss split no cluster (its rule for an empty one: a perturbed
    # copy of a random big one, not librlcc's) and no distance is a
    # near-tie (well separated blobs keep them away).
    faiss = _faiss()
    rs = np.random.RandomState(13)
    compared = 0
    for case in range(10):
        n, d, k = 1500, 32, 20
        centers = rs.standard_normal((k, d)).astype(np.float32) * 4
        x = (centers[rs.randint(0, k, n)] + rs.standard_normal((n, d)).astype(np.float32))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        km = faiss.Kmeans(d, k, niter=30, seed=1234, verbose=False)
        km.train(x)
        if sum(stats["nsplit"] for stats in km.iteration_stats):
            continue
        _, faiss_labels = km.index.search(x, 1)
        start = rlcc.kmeans_init_faiss(x, k)
        got = rlcc.kmeans(x, x[start], max_iter=30, tol=0)
        assert np.array_equal(got.labels, faiss_labels.ravel()), case
        assert np.abs(got.centroids - km.centroids).max() < 1e-5
        compared += 1
    assert compared >= 4, compared


# ---- refusals -------------------------------------------------------------------

def test_errors():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    init = x[:2].copy()
    with pytest.raises(rlcc.InvalidArgument, match="k: 7 exceeds"):
        rlcc.kmeans(x, np.zeros((7, 2), np.float32))
    with pytest.raises(rlcc.InvalidArgument, match="k: 0 must be >= 1"):
        rlcc.kmeans(x, np.zeros((0, 2), np.float32))
    with pytest.raises(rlcc.InvalidArgument, match="init: shape"):
        rlcc.kmeans(x, np.zeros((2, 3), np.float32))
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(rlcc.InvalidArgument, match="x: row 3 has NaN at column 1"):
        rlcc.kmeans(bad, init)
    with pytest.raises(rlcc.InvalidArgument, match="init: row 1 has inf"):
        rlcc.kmeans(x, np.array([[0, 0], [np.inf, 1]], np.float32))
    with pytest.raises(rlcc.InvalidArgument, match="options.max_iter"):
        rlcc.kmeans(x, init, max_iter=0)
    with pytest.raises(rlcc.InvalidArgument, match="options.tol"):
        rlcc.kmeans(x, init, tol=-1)
    with pytest.raises(rlcc.InvalidArgument, match="does not fit int32"):
        rlcc.kmeans(x, init, max_iter=2**31)
    with pytest.raises(rlcc.InvalidArgument, match="max_bytes"):
        rlcc.kmeans(x, init, max_bytes=-1)
    with pytest.raises(rlcc.OutOfMemory):
        rlcc.kmeans(x, init, max_bytes=64)
    with pytest.raises(rlcc.InvalidArgument, match="expected a 2-D"):
        rlcc.kmeans(x.ravel(), init)
    with pytest.raises(rlcc.InvalidArgument, match="k: 7 exceeds"):
        rlcc.kmeans_init_faiss(6, 7)
    with pytest.raises(rlcc.InvalidArgument, match="max_points_per_centroid"):
        rlcc.kmeans_init_faiss(x, 2, max_points_per_centroid=0)
    with pytest.raises(rlcc.InvalidArgument, match="n:"):
        rlcc.kmeans_init_faiss(-1, 1)
    with pytest.raises(rlcc.InvalidArgument, match="seed"):
        rlcc.kmeans_init_faiss(6, 1, seed=2**64)
    with pytest.raises(rlcc.InvalidArgument, match="not an integer"):
        rlcc.kmeans_init_faiss(6, 1, seed=1.5)
