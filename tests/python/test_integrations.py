"""The replacement snippets of docs/integrations.md, run as written (only
`.cuda()` dropped) on synthetic re-ID-like features and compared with the
project's NumPy oracle of the trainer lines they replace: the dense
Jaccard distance of jaccard_oracle.py, scikit-learn's DBSCAN on it, the
outlier and reliability loops and the RLCC soft labels of rlcc_oracle.py."""

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

import jaccard_oracle
import rlcc_oracle as oracle

import torch  # python3-torch, a listed dependency: missing, these tests fail, never skip
F = torch.nn.functional

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def snippet(name):
    """The fenced python block that follows <!-- snippet: name --> in the doc."""
    text = DOC.read_text()
    found = re.search(rf"<!-- snippet: {name} -->\n```python\n(.*?)```", text, re.S)
    assert found, f"docs/integrations.md has no snippet {name!r}"
    return found.group(1).replace(".cuda()", "")


def features(seed, n_ids=36, per_id=10, d=32, noise=0.9, cameras=3):
    """Identities on the hypersphere, a bias per camera, noise; unit rows."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bias = rng.normal(size=(cameras, d)) * 0.2 / np.sqrt(d)
    ids = np.repeat(np.arange(n_ids), per_id)
    X = centres[ids] + bias[rng.integers(0, cameras, len(ids))] \
        + rng.normal(size=(len(ids), d)) * noise / np.sqrt(d)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32)


def reference_runs(X, k1, k2, eps_values, variant="dot"):
    """What the trainers compute before their outlier handling: the dense
    Jaccard distance (faiss kNN replaced by a brute-force one) and one
    scikit-learn DBSCAN per eps."""
    lists, _ = jaccard_oracle.brute_knn(X, k1)
    dist = jaccard_oracle.jaccard(X, lists, k1, k2, variant)
    return [DBSCAN(eps=e, min_samples=4, metric="precomputed").fit_predict(dist)
            for e in eps_values]


def train_list(n):
    return [(f"img_{i:04d}.jpg", -1, i % 3) for i in range(n)]


@pytest.mark.parametrize("seed", range(3))
def test_spcl_snippet_matches_the_reference(seed):
    args = SimpleNamespace(eps=0.6, eps_gap=0.02, k1=20, k2=6)
    namespace = {"torch": torch, "args": args, "dataset": SimpleNamespace(train=train_list(360))}
    threshold = None
    for epoch, noise in enumerate((1.3, 1.0)):
        X = features(seed, noise=noise)
        namespace.update(features=torch.from_numpy(X), epoch=epoch)
        exec(snippet("spcl"), namespace)
        runs = [oracle.singletons(labels) for labels in
                reference_runs(X, 20, 6, (0.58, 0.6, 0.62))]
        want, threshold = oracle.reliability(*runs, threshold=threshold, guard=False)
        assert namespace["indep_thres"] == threshold
        np.testing.assert_array_equal(namespace["pseudo_labels"].numpy(), want)
        assert [entry[1] for entry in namespace["pseudo_labeled_dataset"]] == list(want)
        if epoch == 0:
            assert len(set(want)) > 36 and (want != runs[1]).any()  # the criterion acted


@pytest.mark.parametrize("seed", range(3))
def test_cluster_contrast_snippet_matches_the_reference(seed):
    X = features(seed + 10, noise=1.3)
    namespace = {"torch": torch, "features": torch.from_numpy(X),
                 "args": SimpleNamespace(eps=0.6, k1=30, k2=6),
                 "memory": SimpleNamespace(features=None),
                 "dataset": SimpleNamespace(train=train_list(360))}
    exec(snippet("cluster_contrast"), namespace)
    (want,) = reference_runs(X, 30, 6, (0.6,))
    k = want.max() + 1
    np.testing.assert_array_equal(namespace["pseudo_labels"], want)
    assert namespace["num_cluster"] == len(set(want)) - (1 if -1 in want else 0) == k
    np.testing.assert_allclose(namespace["memory"].features.numpy(),
                               oracle.centroids(X, want, k), atol=1e-5)
    assert len(namespace["pseudo_labeled_dataset"]) == int((want != -1).sum()) < 360


@pytest.mark.parametrize("eps,use_outliers", [((0.62, 0.58, 0.6), True), ((0.6,), True),
                                              ((0.6,), False)])
def test_openunreid_snippet_matches_the_reference(eps, use_outliers):
    namespace = {"torch": torch}
    exec(snippet("openunreid"), namespace)
    generator = namespace["label_generator_dbscan"]
    settings = SimpleNamespace(cluster="dbscan", eps=list(eps), min_samples=4, k1=20, k2=6,
                               use_outliers=use_outliers)
    cfg = SimpleNamespace(TRAIN=SimpleNamespace(PSEUDO_LABELS=settings))
    threshold = None
    lengths = np.random.default_rng(5).uniform(0.8, 1.25, size=(360, 1)).astype(np.float32)
    for epoch, noise in enumerate((1.3, 1.0)):
        X = features(42, noise=noise) * lengths  # norm_feat off: squared distances matter
        labels, centers, n_classes, threshold_out = generator(cfg, torch.from_numpy(X),
                                                              indep_thres=threshold)
        runs = reference_runs(X, 20, 6, sorted(eps), variant="sqeuclidean")
        if len(eps) == 3:
            want, threshold = oracle.reliability(*[oracle.singletons(r) for r in runs],
                                                 threshold=threshold, guard=True)
            assert threshold_out == threshold
        else:
            want = oracle.singletons(runs[0]) if use_outliers else runs[0]
            assert threshold_out is None
        np.testing.assert_array_equal(labels.numpy(), want)
        assert n_classes == want.max() + 1
        np.testing.assert_allclose(centers.numpy(), oracle.centroids(X, want, n_classes),
                                   atol=1e-5)


@pytest.mark.parametrize("epoch,beta", [(1, 0.0), (2, 0.0), (3, 0.3)])
def test_rlcc_snippet_matches_the_reference(epoch, beta):
    rng = np.random.default_rng(epoch)
    X_prev, X = features(7, noise=1.3), features(7, noise=1.0)
    prev = rlcc_labels(X_prev)
    cur = rlcc_labels(X)
    centers_prev = oracle.centroids(X_prev, prev, prev.max() + 1) * rng.uniform(0.5, 2)
    owner = SimpleNamespace(
        cfg=SimpleNamespace(SOFTEN=SimpleNamespace(pred_temp=30.0, alpha=0.9, beta=beta)),
        _epoch=epoch, pseudo_labels_pervious=torch.tensor([prev.tolist()]),
        pseudo_centers_pervious=torch.from_numpy(centers_prev))
    namespace = {"torch": torch, "np": np, "F": F, "self": owner,
                 "pseudo_labels": [cur.tolist()], "all_features": torch.from_numpy(X * 3)}
    exec(snippet("rlcc"), namespace)
    # tools/main.py: softmax(temp * normalised features . normalised centres), the
    # alpha-blend with the previous one-hot from epoch 2, IoU rows normalised, the
    # product, and beta * the hard IoU rows
    unit = lambda A: A / np.linalg.norm(A, axis=1, keepdims=True)  # noqa: E731
    P = oracle.softmax_rows(30.0 * unit(X.astype(np.float64)) @ unit(centers_prev).T)
    C = oracle.consensus(prev, cur, prev.max() + 1, cur.max() + 1)
    want = oracle.propagate(prev, C, P, 0.9 if epoch != 1 else 0.0, beta)
    got = owner.sample_soft_labels.numpy()
    assert got.shape == (len(X), cur.max() + 1)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got.sum(1), 1, atol=1e-5)


def rlcc_labels(X):
    """Singleton-policy labels, as the RLCC label generator gives them."""
    (labels,) = reference_runs(X, 20, 6, (0.6,), variant="sqeuclidean")
    return oracle.singletons(labels)
