"""The Python binding gives the C library's bits: tests/bindings/reference.c
calls every computing function on the committed fixture and writes what it
got; the same calls through `rlcc` must give identical arrays. (The Rust and
Go bindings run the same comparison in their own tests.)"""

import subprocess
from pathlib import Path

import numpy as np
import pytest

import rlcc

TOP = Path(__file__).resolve().parents[2]
BATCH = np.array([5, 0, 119, 7])


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    """Loads NAME from the C reference run: ref("knn_indices", "i64")."""
    out = tmp_path_factory.mktemp("reference")
    subprocess.run(["make", "-s", "--no-print-directory", "build/reference/rlcc-reference"],
                   cwd=TOP, check=True)
    subprocess.run([str(TOP / "build/reference/rlcc-reference"), str(TOP / "examples/data"),
                    str(out)], check=True)
    types = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}
    return lambda name, kind: np.fromfile(out / f"{name}.{kind}", dtype=types[kind])


def same(got, want):
    """Identical bits: floats are compared as integers, so -0.0 != 0.0."""
    got = np.ascontiguousarray(got).ravel()
    assert got.dtype == want.dtype and got.size == want.size
    if got.dtype.kind == "f":
        got, want = got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}")
    assert np.array_equal(got, want)


def test_inputs_are_the_fixture(ref):
    n, d = ref("shape", "i64")
    same(np.load(TOP / "examples/data/reid_gen0.npy"), ref("x0", "f32"))
    assert (n, d) == (120, 32)


def test_dbscan(ref):
    X = np.load(TOP / "examples/data/reid_gen0.npy")
    for name, metric, eps in (("dbscan_euclidean", "euclidean", 0.9),
                              ("dbscan_cosine", "cosine", 0.4)):
        labels, core, clusters, _ = rlcc.dbscan_with_stats(X, eps, 4, metric=metric)
        same(labels, ref(f"{name}_labels", "i32"))
        same(core.astype(np.int32), ref(f"{name}_core", "i32"))
        assert clusters == ref(f"{name}_clusters", "i64")[0]
    graph = rlcc.jaccard_distance(X, k1=10, k2=3, cutoff=0.9)
    dense = rlcc.jaccard_distance(X, k1=10, k2=3, cutoff=0.9, dense=True)
    for name, D in (("dbscan_csr", graph), ("dbscan_dense", dense)):
        labels, core, clusters, _ = rlcc.dbscan_with_stats(D, 0.6, 4, metric="precomputed")
        same(labels, ref(f"{name}_labels", "i32"))
        same(core.astype(np.int32), ref(f"{name}_core", "i32"))


def test_knn_and_jaccard(ref):
    X = np.load(TOP / "examples/data/reid_gen0.npy")
    indices, sqdist = rlcc.knn(X, 10)
    same(indices, ref("knn_indices", "i64"))
    same(sqdist, ref("knn_sqdist", "f32"))
    graph = rlcc.jaccard_distance(X, k1=10, k2=3, cutoff=0.9)
    same(graph.indptr.astype(np.int64), ref("jaccard_indptr", "i64"))
    same(graph.indices, ref("jaccard_indices", "i32"))
    same(graph.data, ref("jaccard_data", "f32"))
    same(rlcc.jaccard_distance(X, k1=10, k2=3, dense=True), ref("jaccard_dense", "f32"))


def test_rlcc_functions(ref):
    X0 = np.load(TOP / "examples/data/reid_gen0.npy")
    X1 = np.load(TOP / "examples/data/reid_gen1.npy")
    g0 = rlcc.pseudo_labels(X0, k1=10, k2=3)
    g1 = rlcc.pseudo_labels(X1, k1=10, k2=3, threshold=g0.threshold)
    same(g0.labels, ref("pseudo0_labels", "i32"))
    same(g1.labels, ref("pseudo1_labels", "i32"))
    assert g0.threshold == ref("pseudo0_threshold", "f64")[0]
    cents = rlcc.centroids(X0, g0.labels, g0.n_classes)
    same(cents, ref("centroids", "f32"))
    same(g0.centroids, ref("centroids", "f32"))
    same(rlcc.consensus(g0.labels, g1.labels, kind="count", normalize=None),
         ref("consensus_counts", "i64"))
    same(rlcc.consensus(g0.labels, g1.labels), ref("consensus_iou_sum", "f32"))
    C = rlcc.consensus(g0.labels, g1.labels, sparse=True)
    assert C.shape == tuple(ref("consensus_csr_shape", "i64"))
    same(C.indptr.astype(np.int64), ref("consensus_csr_indptr", "i64"))
    same(C.indices, ref("consensus_csr_indices", "i32"))
    same(C.data, ref("consensus_csr_data", "f32"))
    for suffix, rows in (("all", None), ("batch", BATCH)):
        P = rlcc.class_probabilities(X1, cents, scale=30.0, rows=rows)
        S = rlcc.propagate(P, C, g0.labels, w=0.9, beta=0.3, rows=rows)
        T = rlcc.blend(g1.labels, S, alpha=0.9, rows=rows)
        same(P, ref(f"probs_{suffix}", "f32"))
        same(S, ref(f"propagated_{suffix}", "f32"))
        same(T, ref(f"blended_{suffix}", "f32"))


def test_refiner(ref):
    refiner = rlcc.Refiner(k1=10, k2=3, batch=32)
    for g in (0, 1):
        generation = refiner.step(np.load(TOP / f"examples/data/reid_gen{g}.npy"))
    same(generation.labels, ref("refiner_labels", "i32"))
    same(generation.centroids, ref("refiner_centroids", "f32"))
    assert generation.threshold == ref("refiner_threshold", "f64")[0]
    same(refiner.targets(), ref("refiner_targets_all", "f32"))
    same(refiner.targets(BATCH), ref("refiner_targets_batch", "f32"))


def test_block_knn(ref):
    """The block kNN as reference.c runs it: query blocks [0, 50) and [50, n),
    reference blocks [0, 37), [37, 81) and [81, n); per query block, state a is
    offered block 2, then the queries themselves (the same array: the
    triangle), state b block 1, then block 0, and b is merged into a."""
    X = np.load(TOP / "examples/data/reid_gen0.npy")
    n, d = X.shape
    query_cuts, ref_cuts = (0, 50, n), (0, 37, 81, n)
    indices, sqdist, updates = [], [], []
    for q0, q1 in zip(query_cuts, query_cuts[1:]):
        queries = X[q0:q1]
        with rlcc.KnnState(q1 - q0, 10, d, query_offset=q0) as a, \
                rlcc.KnnState(q1 - q0, 10, d, query_offset=q0) as b:
            a.update(queries, X[ref_cuts[2]:ref_cuts[3]], ref_cuts[2])
            a.update(queries, queries, q0)
            b.update(queries, X[ref_cuts[1]:ref_cuts[2]], ref_cuts[1])
            b.update(queries, X[:ref_cuts[1]], 0)
            a.merge(b)
            block_indices, block_sqdist = a.finish()
            indices.append(block_indices)
            sqdist.append(block_sqdist)
            updates.append(a.stats()["n_updates"])
    same(np.concatenate(indices), ref("knn_block_indices", "i64"))
    same(np.concatenate(sqdist), ref("knn_block_sqdist", "f32"))
    same(np.array(updates, dtype=np.int64), ref("knn_block_updates", "i64"))
    # and C's blocks are C's whole-matrix kNN
    same(ref("knn_block_indices", "i64"), ref("knn_indices", "i64"))
    same(ref("knn_block_sqdist", "f32"), ref("knn_sqdist", "f32"))
