"""InfoMap pseudo labels (issue #15 item 2) against the NumPy oracle of
infomap_oracle.py: the links, the flow and the codelength bit for bit, the
labels of any partition exactly, over hundreds of random and adversarial
cases; the search's determinism and quality; the error paths."""

import numpy as np
import pytest

import infomap_oracle as oracle
import rlcc

# ---- data -----------------------------------------------------------------------


def unit_rows(rng, n, d, kind):
    if kind == "clusters":
        centres = rng.standard_normal((max(n // 6, 1), d))
        x = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, d))
    elif kind == "duplicates":
        base = rng.standard_normal((max(n // 3, 1), d))
        x = base[rng.integers(0, len(base), n)]
    elif kind == "grid":  # few distinct values: ties in the kNN lists
        x = rng.integers(-1, 2, (n, d)).astype(np.float64)
        x[np.all(x == 0, axis=1), 0] = 1.0
    else:
        x = rng.standard_normal((n, d))
    x = x.astype(np.float32)
    return oracle.normalised(x)


KINDS = ["clusters", "duplicates", "grid", "gaussian"]


def case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 50))
    d = int(rng.integers(2, 12))
    kind = KINDS[seed % len(KINDS)]
    x = unit_rows(rng, n, d, kind)
    k = int(rng.integers(1, min(n, 16) + 1))
    min_sim = float(rng.choice([0.5, 1.0, -1.0, 0.0, 0.9, rng.uniform(-1, 1)]))
    return rng, x, k, min_sim


# ---- steps 1 and 2: the links ------------------------------------------------------


@pytest.mark.parametrize("seed", range(200))
def test_links_equal_oracle(seed):
    rng, x, k, min_sim = case(seed)
    normalize = seed % 5 == 0
    if normalize:
        x = (x * rng.uniform(0.5, 3.0, (len(x), 1))).astype(np.float32)
    idx, dist = oracle.knn_lists(x, k, normalize=normalize)
    want = oracle.links(idx, dist, min_sim)
    got = rlcc.infomap_links(x, k, min_sim, normalize=normalize)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    # the same from the caller's lists, x not needed
    got2 = rlcc.infomap_links(None, k, min_sim, knn=idx, knn_dist=dist)
    for a, b in zip(got2, want):
        np.testing.assert_array_equal(a, b)


def test_links_without_self_and_with_ties():
    # caller lists where self is missing or not first, distances tied
    idx = np.array([[1, 0, 2], [0, 2, 1], [2, 1, 0]], dtype=np.int64)
    dist = np.array([[0.1, 0.1, 0.4], [0.2, 0.2, 0.6], [0.0, 0.3, 0.3]], dtype=np.float32)
    src, dst, w = rlcc.infomap_links(None, 3, 0.5, knn=idx, knn_dist=dist)
    want = oracle.links(idx, dist, 0.5)
    for a, b in zip((src, dst, w), want):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(src, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(dst, [1, 2, 0, 2, 1, 0])


# ---- step 5: flow and codelength ---------------------------------------------------


def random_graph(rng):
    n = int(rng.integers(2, 40))
    m = int(rng.integers(1, 4 * n))
    src = rng.integers(0, n, m)
    dst = rng.integers(0, n, m)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    if len(src) == 0:
        src, dst = np.array([0]), np.array([1])
    if rng.random() < 0.3:  # repeated links
        rep = rng.integers(0, len(src), len(src) // 2 + 1)
        src, dst = np.concatenate([src, src[rep]]), np.concatenate([dst, dst[rep]])
    w = rng.choice([rng.uniform(0.01, 3.0, len(src)), np.ones(len(src)),
                    rng.integers(1, 4, len(src)).astype(float)])
    return n, src.astype(np.int64), dst.astype(np.int64), np.asarray(w, dtype=np.float64)


def random_partition(rng, n):
    kind = rng.integers(0, 5)
    if kind == 0:
        return np.zeros(n, dtype=np.int32)  # one big module
    if kind == 1:
        return np.arange(n, dtype=np.int32)  # every node alone
    if kind == 2:  # arbitrary large ids
        return rng.choice([7, 2**31 - 1, 123456, 0], n).astype(np.int32)
    return rng.integers(0, max(n // 3, 1) + 1, n).astype(np.int32)


@pytest.mark.parametrize("seed", range(300))
def test_codelength_equals_oracle(seed):
    rng = np.random.default_rng(10_000 + seed)
    n, src, dst, w = random_graph(rng)
    modules = random_partition(rng, n)
    got = rlcc.map_codelength(src, dst, w, modules)
    want = oracle.codelength(src, dst, w, modules)
    assert got == want, (got, want)
    # the links' order changes nothing but the repeats' sum order
    perm = rng.permutation(len(src))
    if len(np.unique(np.stack([src, dst]), axis=1).T) == len(src):
        assert rlcc.map_codelength(src[perm], dst[perm], w[perm], modules) == got


def test_codelength_known_values():
    # hand-computed
    assert rlcc.map_codelength([0, 1], [1, 0], [1.0, 1.0], [0, 0]) == 1.0
    assert rlcc.map_codelength([0, 1], [1, 0], [1.0, 1.0], [0, 1]) == 3.0
    assert abs(rlcc.map_codelength([0, 1, 2], [1, 2, 0], [1, 1, 1], [0, 1, 2])
               - (2 + np.log2(3))) < 1e-14
    # printed by the Infomap 1.3.0 CLI (--two-level --directed --no-infomap
    # --cluster-data) for this graph
    s = [0, 1, 2, 2, 3, 4, 5, 5, 1]
    t = [1, 2, 0, 3, 4, 5, 3, 0, 6]
    w = [1, 1, 1, 0.5, 1, 1, 1, 0.25, 2]
    assert abs(rlcc.map_codelength(s, t, w, [1, 1, 1, 2, 2, 2, 1]) - 2.19670238) < 5e-9
    assert abs(rlcc.map_codelength(s, t, w, [7, 3, 7, 3, 0, 0, 3]) - 3.65887885) < 5e-9
    assert abs(rlcc.map_codelength(s, t, w, [0] * 7) - 2.71795086) < 5e-9


# ---- step 4: labels from a partition ------------------------------------------------


@pytest.mark.parametrize("seed", range(200))
def test_labels_from_partition_equal_oracle(seed):
    rng, x, k, min_sim = case(50_000 + seed)
    n = len(x)
    cluster_num = int(rng.integers(0, 7))
    modules = random_partition(rng, n)
    idx, dist = oracle.knn_lists(x, k)
    src, dst, w = oracle.links(idx, dist, min_sim)
    want, want_classes, want_L = oracle.labels(n, src, dst, w, modules, cluster_num)
    got = rlcc.infomap_pseudo_labels(x, k=k, min_sim=min_sim, cluster_num=cluster_num,
                                     modules=modules)
    np.testing.assert_array_equal(got.labels, want)
    assert got.n_classes == want_classes
    assert got.codelength == want_L
    # caller lists: the same
    got2 = rlcc.infomap_pseudo_labels(None, k=k, min_sim=min_sim, cluster_num=cluster_num,
                                      modules=modules, knn=idx, knn_dist=dist)
    np.testing.assert_array_equal(got2.labels, want)


@pytest.mark.parametrize("seed", range(100))
def test_random_caller_lists_equal_oracle(seed):
    """Caller lists that no feature matrix gives: self anywhere or absent,
    asymmetric, tied distances, so some samples are link targets only
    (dangling nodes) and some rows stop early."""
    rng = np.random.default_rng(70_000 + seed)
    n = int(rng.integers(2, 40))
    k = int(rng.integers(1, min(n, 12) + 1))
    idx = np.stack([rng.permutation(n)[:k] for _ in range(n)]).astype(np.int64)
    dist = np.sort(rng.choice([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 1.2], (n, k)), axis=1)
    dist = dist.astype(np.float32)
    min_sim = float(rng.choice([0.5, 0.3, -1.0, 0.9]))
    cluster_num = int(rng.integers(0, 4))
    src, dst, w = oracle.links(idx, dist, min_sim)
    got = rlcc.infomap_links(None, k, min_sim, knn=idx, knn_dist=dist)
    for a, b in zip(got, (src, dst, w)):
        np.testing.assert_array_equal(a, b)
    modules = random_partition(rng, n)
    want = oracle.labels(n, src, dst, w, modules, cluster_num)
    r = rlcc.infomap_pseudo_labels(None, k=k, min_sim=min_sim, cluster_num=cluster_num,
                                   modules=modules, knn=idx, knn_dist=dist)
    np.testing.assert_array_equal(r.labels, want[0])
    assert r.n_classes == want[1] and r.codelength == want[2]
    own = rlcc.infomap_pseudo_labels(None, k=k, min_sim=min_sim, cluster_num=0, seed=seed,
                                     knn=idx, knn_dist=dist)
    again = oracle.labels(n, src, dst, w, own.labels, 0)
    np.testing.assert_array_equal(own.labels, again[0])
    assert own.codelength == again[2]


@pytest.mark.parametrize("seed", range(100))
def test_search_partition_scored_as_oracle(seed):
    """The library's own partition: with cluster_num 0 the labels are the
    partition itself (modules, then singles); its codelength is the oracle's
    of that partition, and its labels follow step 4 from it."""
    rng, x, k, min_sim = case(90_000 + seed)
    n = len(x)
    got = rlcc.infomap_pseudo_labels(x, k=k, min_sim=min_sim, cluster_num=0, seed=seed)
    idx, dist = oracle.knn_lists(x, k)
    src, dst, w = oracle.links(idx, dist, min_sim)
    want, classes, L = oracle.labels(n, src, dst, w, got.labels, 0)
    np.testing.assert_array_equal(got.labels, want)
    assert got.codelength == L
    for cluster_num in (1, 4):
        other = rlcc.infomap_pseudo_labels(x, k=k, min_sim=min_sim, cluster_num=cluster_num,
                                           seed=seed)
        want_c, classes_c, _ = oracle.labels(n, src, dst, w, got.labels, cluster_num)
        np.testing.assert_array_equal(other.labels, want_c)
        assert other.n_classes == classes_c
    # never longer than one module or all singletons
    if len(src):
        assert got.codelength <= oracle.codelength(src, dst, w, np.zeros(n, np.int32)) + 1e-12


def test_adversarial_cases():
    rng = np.random.default_rng(3)
    x = unit_rows(rng, 30, 5, "clusters")
    # min_sim 1: no link, every sample single, all -1 (or their own labels)
    r = rlcc.infomap_pseudo_labels(x, min_sim=1.0, k=5)
    assert (r.labels == -1).all() and r.n_classes == 0 and r.codelength == 0.0
    r = rlcc.infomap_pseudo_labels(x, min_sim=1.0, k=5, cluster_num=0)
    np.testing.assert_array_equal(r.labels, np.arange(30))
    # k = 1: the lists hold only self
    r = rlcc.infomap_pseudo_labels(x, k=1, cluster_num=0)
    np.testing.assert_array_equal(r.labels, np.arange(30))
    # duplicate rows everywhere: one module of identical rows
    xd = np.repeat(x[:1], 12, axis=0)
    r = rlcc.infomap_pseudo_labels(xd, k=5)
    assert (r.labels == 0).all() and r.n_classes == 1
    # n = 0
    r = rlcc.infomap_pseudo_labels(np.zeros((0, 4), np.float32), k=1)
    assert r.labels.shape == (0,) and r.n_classes == 0


# ---- the search ---------------------------------------------------------------------


def test_search_same_bytes_for_threads_and_budgets():
    rng = np.random.default_rng(11)
    x = unit_rows(rng, 500, 24, "clusters")
    ref = rlcc.infomap_pseudo_labels(x, seed=5, n_threads=1)
    for n_threads in (2, 4, 0):
        for max_bytes in (0, 1 << 24, 1 << 32):
            got = rlcc.infomap_pseudo_labels(x, seed=5, n_threads=n_threads,
                                             max_bytes=max_bytes)
            np.testing.assert_array_equal(got.labels, ref.labels)
            assert got.codelength == ref.codelength
    with pytest.raises(rlcc.OutOfMemory):
        rlcc.infomap_pseudo_labels(x, max_bytes=10_000)
    more = rlcc.infomap_pseudo_labels(x, seed=5, trials=5)
    assert more.codelength <= ref.codelength + 1e-12


def test_search_recovers_planted_clusters():
    """An easy case: 60 identities of 10 unit rows, well apart. The
    threshold is far below what the search reaches (1.0 here) and far above
    chance."""
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(2024)
    d, ids, per = 64, 60, 10
    centres = rng.standard_normal((ids, d))
    truth = np.repeat(np.arange(ids), per)
    x = centres[truth] + 0.45 * rng.standard_normal((ids * per, d))
    x = oracle.normalised(x.astype(np.float32))
    r = rlcc.infomap_pseudo_labels(x)
    assert adjusted_rand_score(truth, r.labels) >= 0.95


# ---- errors ---------------------------------------------------------------------------


def test_errors():
    rng = np.random.default_rng(1)
    x = unit_rows(rng, 20, 4, "gaussian")
    bad = [
        (dict(k=21), "options.k: 21 must be in [1, n = 20]"),
        (dict(k=0), "options.k: 0"),
        (dict(min_sim=1.5), "options.min_sim: 1.5"),
        (dict(min_sim=float("nan")), "options.min_sim: nan"),
        (dict(cluster_num=-1), "options.cluster_num: -1"),
        (dict(trials=0), "options.trials: 0"),
        (dict(modules=np.full(20, -1)), "modules: sample 0 has module -1"),
        (dict(modules=np.zeros(19, np.int32)), "modules: shape"),
        (dict(seed=-1), "seed: -1 does not fit uint64"),
        (dict(seed=2**64), "does not fit uint64"),
        (dict(seed=1.5), "seed: 1.5 is not an integer"),
    ]
    for kwargs, text in bad:
        with pytest.raises(rlcc.InvalidArgument, match=text.replace("[", r"\[")
                           .replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
            rlcc.infomap_pseudo_labels(x, **kwargs)
    with pytest.raises(rlcc.InvalidArgument, match="has norm"):
        rlcc.infomap_pseudo_labels(x * 2)
    rlcc.infomap_pseudo_labels(x * 2, normalize=True)
    xn = x.copy()
    xn[4, 1] = np.nan
    with pytest.raises(rlcc.InvalidArgument, match="x: row 4"):
        rlcc.infomap_pseudo_labels(xn)
    idx, dist = oracle.knn_lists(x, 5)
    with pytest.raises(rlcc.InvalidArgument, match="give both lists or neither"):
        rlcc.infomap_pseudo_labels(None, k=5, knn=idx)
    i2 = idx.copy()
    i2[3, 2] = 20
    with pytest.raises(rlcc.InvalidArgument, match=r"knn: entry 2 of row 3 is 20"):
        rlcc.infomap_pseudo_labels(None, k=5, knn=i2, knn_dist=dist)
    d2 = dist.copy()
    d2[6, 4] = 0.0
    with pytest.raises(rlcc.InvalidArgument, match="knn_dist: row 6 is not ascending"):
        rlcc.infomap_pseudo_labels(None, k=5, knn=idx, knn_dist=d2)
    d2[6, 4] = np.nan
    with pytest.raises(rlcc.InvalidArgument, match="knn_dist: entry 4 of row 6 is NaN"):
        rlcc.infomap_pseudo_labels(None, k=5, knn=idx, knn_dist=d2)
    with pytest.raises(rlcc.InvalidArgument, match="knn: shape"):
        rlcc.infomap_pseudo_labels(None, k=4, knn=idx, knn_dist=dist)
    # codelength graphs
    cases = [
        (([0, 1], [1, 1], [1.0, 1.0], [0, 0]), "self-link"),
        (([0, 1], [1, 2], [1.0, 1.0], [0, 0]), "dst: link 1 has node 2, outside [0, 2)"),
        (([0, -1], [1, 0], [1.0, 1.0], [0, 0]), "src: link 1 has node -1"),
        (([0, 1], [1, 0], [1.0, 0.0], [0, 0]), "weight: link 1 has weight 0"),
        (([0, 1], [1, 0], [1.0, np.nan], [0, 0]), "weight: link 1 has weight nan"),
        (([0, 1], [1, 0], [1.0, -2.0], [0, 0]), "weight: link 1 has weight -2"),
        (([0, 1], [1, 0], [1.0, 1.0], [0, -3]), "modules: node 1 has module -3"),
        (([0, 1], [1, 0], [1.0], [0, 0]), "lengths"),
    ]
    for args, text in cases:
        with pytest.raises(rlcc.InvalidArgument, match=text.replace("[", r"\[")
                           .replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
            rlcc.map_codelength(*args)


# ---- the C bits (tests/bindings/reference.c) ----------------------------------------


def test_vs_c_reference(tmp_path):
    import subprocess
    from pathlib import Path

    top = Path(__file__).resolve().parents[2]
    subprocess.run(["make", "-s", "--no-print-directory", "build/reference/rlcc-reference"],
                   cwd=top, check=True)
    subprocess.run([str(top / "build/reference/rlcc-reference"), str(top / "examples/data"),
                    str(tmp_path)], check=True)
    types = {"f64": np.float64, "i32": np.int32, "i64": np.int64}

    def ref(name, kind):
        return np.fromfile(tmp_path / f"{name}.{kind}", dtype=types[kind])

    def same(got, want):
        got = np.ascontiguousarray(got).ravel()
        assert got.dtype == want.dtype and got.size == want.size
        assert np.array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))

    x = np.load(top / "examples/data/reid_gen0.npy")
    r = rlcc.infomap_pseudo_labels(x, normalize=True)
    same(r.labels, ref("infomap_labels", "i32"))
    assert r.n_classes == ref("infomap_n_classes", "i64")[0]
    same(np.float64(r.codelength), ref("infomap_codelength", "f64"))
    modules = np.arange(len(x)) % 7
    r = rlcc.infomap_pseudo_labels(x, normalize=True, modules=modules)
    same(r.labels, ref("infomap_labels_modules", "i32"))
    same(np.float64(r.codelength), ref("infomap_codelength_modules", "f64"))
    s, t, w = rlcc.infomap_links(x, normalize=True)
    same(s, ref("infomap_src", "i64"))
    same(t, ref("infomap_dst", "i64"))
    same(w, ref("infomap_weight", "f64"))
    same(np.float64(rlcc.map_codelength(s, t, w, modules)), ref("infomap_map_codelength", "f64"))
    # the options struct as the C compiler lays it out
    import ctypes

    from rlcc import _native

    layout = ref("layout_infomap_options", "i64")
    fields = [f for f, _ in _native.InfomapOptions._fields_]
    assert layout[0] == ctypes.sizeof(_native.InfomapOptions)
    assert list(layout[1:]) == [getattr(_native.InfomapOptions, f).offset for f in fields]
