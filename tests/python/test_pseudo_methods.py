"""rlcc.pseudo_labels(method=...) and rlcc.Refiner(method=...) for the 1.7
pseudo-labelers: the same labels as their own functions
(rlcc.infomap_pseudo_labels, rlcc.kmeans from rlcc.kmeans_init_faiss's
start rows), the outlier policy on top, the options checked, and the
refiner's checkpoints in format 2."""
import copy
import pickle

import numpy as np
import pytest

import rlcc


def unit_rows(n=240, d=16, classes=8, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, d))
    x = centres[np.arange(n) % classes] * 2.0 + rng.normal(scale=0.6, size=(n, d))
    x[::13] = rng.normal(size=(len(x[::13]), d)) * 3.0  # strays
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


@pytest.mark.parametrize("seed", range(6))
def test_infomap_method_is_infomap_pseudo_labels(seed):
    x = unit_rows(seed=seed)
    own = rlcc.infomap_pseudo_labels(x, k=10, min_sim=0.5, cluster_num=4, seed=123)
    got = rlcc.pseudo_labels(x, method="infomap", infomap_k=10, outliers="keep")
    assert np.array_equal(got.labels, own.labels)
    assert got.n_classes == int(own.labels.max()) + 1
    assert got.threshold == 0.0
    assert got.centroids.shape == (got.n_classes, x.shape[1])
    # singletons: each -1 in index order gets the next class
    single = rlcc.pseudo_labels(x, method="infomap", infomap_k=10)
    want = own.labels.copy()
    noise = np.flatnonzero(want == -1)
    want[noise] = want.max() + 1 + np.arange(noise.size)
    assert np.array_equal(single.labels, want)
    # caller lists: librlcc's own lists give librlcc's own labels
    lists, _ = rlcc.knn(x, 10)
    given = rlcc.pseudo_labels(x, method="infomap", infomap_k=10, outliers="keep", knn=lists)
    assert np.array_equal(given.labels, own.labels)


@pytest.mark.parametrize("seed", range(6))
def test_kmeans_method_is_kmeans_from_faiss_start(seed):
    x = unit_rows(seed=seed)
    start = np.asarray(rlcc.kmeans_init_faiss(x, 12))
    own = rlcc.kmeans(x, x[start], max_iter=300, tol=0.0)
    got = rlcc.pseudo_labels(x, method="kmeans", n_clusters=12)
    assert np.array_equal(got.labels, own.labels)
    init = x[::20][:12]
    own = rlcc.kmeans(x, init, max_iter=300, tol=0.0)
    got = rlcc.pseudo_labels(x, method="kmeans", n_clusters=12, init=init)
    assert np.array_equal(got.labels, own.labels)


def test_method_options_are_checked():
    x = unit_rows()
    with pytest.raises(rlcc.InvalidArgument, match="method"):
        rlcc.pseudo_labels(x, method="louvain")
    with pytest.raises(rlcc.InvalidArgument, match="reliability"):
        rlcc.pseudo_labels(x, method="infomap", reliability=True)
    with pytest.raises(rlcc.InvalidArgument, match="kmeans_k"):
        rlcc.pseudo_labels(x, method="kmeans", n_clusters=x.shape[0] + 1)
    with pytest.raises(rlcc.InvalidArgument, match="init"):
        rlcc.pseudo_labels(x, method="infomap", init=x[:4])
    with pytest.raises(rlcc.InvalidArgument, match="init"):
        rlcc.pseudo_labels(x, method="kmeans", n_clusters=4, init=x[:5])
    with pytest.raises(rlcc.InvalidArgument, match="seed"):
        rlcc.pseudo_labels(x, method="kmeans", n_clusters=4, seed=-1)
    with pytest.raises(rlcc.InvalidArgument, match="seed"):
        rlcc.pseudo_labels(x, method="kmeans", n_clusters=4, seed=2**64)
    with pytest.raises(rlcc.InvalidArgument, match="cluster_num"):
        rlcc.pseudo_labels(x, method="infomap", cluster_num=2**31)
    with pytest.raises(rlcc.InvalidArgument, match="knn"):
        rlcc.pseudo_labels(x, method="kmeans", n_clusters=4, knn=rlcc.knn(x, 5)[0])
    with pytest.raises(rlcc.InvalidArgument, match="knn"):  # n x infomap_k, not k1
        rlcc.pseudo_labels(x, method="infomap", infomap_k=10, knn=rlcc.knn(x, 30)[0])


@pytest.mark.parametrize("method", ["infomap", "kmeans"])
def test_refiner_methods_step_and_checkpoint(method):
    kw = dict(method=method, infomap_k=10, n_clusters=12)
    xs = [unit_rows(seed=10 + g) for g in range(3)]
    r = rlcc.Refiner(**kw)
    for x in xs[:2]:
        gen = r.step(x)
        assert np.array_equal(gen.labels, rlcc.pseudo_labels(x, **kw).labels)
    state = r.state_dict()
    assert state["format"] == 2
    back = rlcc.Refiner()
    back.load_state_dict(state)
    twin = copy.deepcopy(r)
    pickled = pickle.loads(pickle.dumps(r))
    outs = [ref.step(xs[2]) for ref in (r, back, twin, pickled)]
    for o in outs[1:]:
        assert np.array_equal(o.labels, outs[0].labels)
    rows = np.array([0, 5, 77, 239])
    targets = [ref.targets(rows) for ref in (r, back, twin, pickled)]
    for t in targets[1:]:
        assert np.array_equal(t, targets[0])
    # before the first step: the options travel as numbers, 1.7 fields included
    fresh = rlcc.Refiner(**kw, seed=99)
    early = fresh.state_dict()
    assert early["state"] is None and early["format"] == 2
    assert early["options"]["kmeans_seed"] == 99 and early["options"]["infomap_k"] == 10
    again = rlcc.Refiner()
    again.load_state_dict(early)
    assert np.array_equal(again.step(xs[0]).labels, fresh.step(xs[0]).labels)


def test_refiner_infomap_set_knn_width_and_kmeans_refuses_lists():
    x = unit_rows()
    r = rlcc.Refiner(method="infomap", infomap_k=10)
    r.set_knn(rlcc.knn(x, 10)[0])
    assert np.array_equal(r.step(x).labels,
                          rlcc.pseudo_labels(x, method="infomap", infomap_k=10).labels)
    with pytest.raises(rlcc.InvalidArgument, match="knn"):
        r.set_knn(rlcc.knn(x, 30)[0])
    k = rlcc.Refiner(method="kmeans", n_clusters=12)
    k.step(x)
    with pytest.raises(rlcc.InvalidArgument, match="knn"):
        k.set_knn(rlcc.knn(x, 30)[0])


def test_a_dbscan_refiner_state_is_still_format_1():
    x = unit_rows()
    r = rlcc.Refiner(k1=10, k2=3)
    r.step(x)
    assert r.state_dict()["format"] == 1
    # a 1.6 state_dict before the first step has no 1.7 options: still loads
    early = rlcc.Refiner(k1=10, k2=3).state_dict()
    for name in ("infomap_k", "infomap_cluster_num", "infomap_min_sim", "infomap_seed",
                 "infomap_trials", "kmeans_max_iter", "kmeans_k", "kmeans_tol", "kmeans_seed",
                 "kmeans_max_points"):
        del early["options"][name]
    early["format"] = 1
    old = rlcc.Refiner()
    old.load_state_dict(early)
    assert np.array_equal(old.step(x).labels, rlcc.Refiner(k1=10, k2=3).step(x).labels)
