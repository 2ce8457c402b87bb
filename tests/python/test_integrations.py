"""The replacement snippets of docs/integrations.md, run as written (only
`.cuda()` dropped) on synthetic re-ID-like features, in the order each
trainer's script runs them, and compared with the project's NumPy oracle of
the trainer lines they replace: the dense Jaccard distance of
jaccard_oracle.py, scikit-learn's DBSCAN on it, the outlier and reliability
loops and the RLCC soft labels of rlcc_oracle.py.

Each snippet runs in a namespace that holds only what the trainer's script
holds where the snippet is pasted: its imports, and stand-ins for what it
made earlier (the extracted features, SpCL's memory bank on the GPU, the
configuration). Nothing the script makes later is there: Cluster Contrast's
ClusterMemory, for one, is built after its snippet, from the snippet's
results. After a snippet the test checks what the script's kept lines read."""

import collections
import math
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


class OnGPU:
    """Stand-in for a CUDA tensor: what the script had, without a GPU. It can
    be cloned and moved to the CPU; anything that reads it in place (numpy,
    librlcc) is refused, as a real GPU tensor would be."""

    def __init__(self, tensor):
        self._tensor = tensor

    def clone(self):
        return OnGPU(self._tensor.clone())

    def cpu(self):
        return self._tensor

    def size(self, *dim):
        return self._tensor.size(*dim)

    def __array__(self, *args, **kwargs):
        raise TypeError("a tensor on cuda:0 cannot be read in place; pass tensor.cpu()")


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


def script_imports():
    """The modules the trainers' scripts import at their top (each has these)."""
    return {"torch": torch, "collections": collections}


# ---- SpCL: examples/spcl_train_usl.py, main_worker's epoch loop ------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_spcl_snippet_matches_the_reference(seed):
    args = SimpleNamespace(eps=0.6, eps_gap=0.02, k1=20, k2=6)
    # made before the epoch loop: the memory bank (on the GPU), the dataset
    memory = SimpleNamespace(features=None, labels=None)
    namespace = {**script_imports(), "np": np, "F": F, "args": args, "memory": memory,
                 "dataset": SimpleNamespace(train=train_list(360))}
    threshold = None
    for epoch, noise in enumerate((1.3, 1.0)):
        X = features(seed, noise=noise)
        memory.features = OnGPU(torch.from_numpy(X))  # what training left in the memory
        namespace["epoch"] = epoch
        namespace["features"] = memory.features.clone()  # the script's line before the block
        exec(snippet("spcl"), namespace)
        assert "features" not in namespace  # the replaced lines deleted it too
        runs = [oracle.singletons(labels) for labels in
                reference_runs(X, 20, 6, (0.58, 0.6, 0.62))]
        want, threshold = oracle.reliability(*runs, threshold=threshold, guard=False)
        assert namespace["indep_thres"] == threshold
        # the kept lines: statistics over pseudo_labels and 1 - indep_thres, then
        # memory.labels = pseudo_labels.cuda() and the loader over pseudo_labeled_dataset
        pseudo_labels = namespace["pseudo_labels"]
        assert isinstance(pseudo_labels, torch.Tensor) and pseudo_labels.dtype == torch.int64
        np.testing.assert_array_equal(pseudo_labels.numpy(), want)
        assert [label.item() for label in pseudo_labels] == list(want)
        assert isinstance(1 - namespace["indep_thres"], float)
        assert namespace["pseudo_labeled_dataset"] == [
            (fname, int(label), cid) for (fname, _, cid), label in zip(train_list(360), want)]
        if epoch == 0:
            assert len(set(want)) > 36 and (want != runs[1]).any()  # the criterion acted


# ---- Cluster Contrast: examples/cluster_contrast_train_usl.py, inside torch.no_grad() --------

@pytest.mark.parametrize("seed", range(3))
def test_cluster_contrast_snippet_matches_the_reference(seed):
    X = features(seed + 10, noise=1.3)
    # made before the block: the extracted features (CPU, unit rows), args, dataset, epoch;
    # no memory: ClusterMemory comes after the block, built from its results
    namespace = {**script_imports(), "np": np, "F": F, "features": torch.from_numpy(X),
                 "args": SimpleNamespace(eps=0.6, k1=30, k2=6), "epoch": 0,
                 "dataset": SimpleNamespace(train=train_list(360))}
    exec(snippet("cluster_contrast"), namespace)
    assert "memory" not in namespace
    (want,) = reference_runs(X, 30, 6, (0.6,))
    k = want.max() + 1
    # the kept lines: del cluster_loader, features; ClusterMemory(..., num_cluster, ...);
    # memory.features = F.normalize(cluster_features, dim=1); the loop over the labels
    del namespace["features"]
    pseudo_labels, num_cluster = namespace["pseudo_labels"], namespace["num_cluster"]
    np.testing.assert_array_equal(pseudo_labels, want)
    assert num_cluster == len(set(want)) - (1 if -1 in want else 0) == k
    cluster_features = namespace["cluster_features"]
    assert isinstance(cluster_features, torch.Tensor) and cluster_features.shape == (k, X.shape[1])
    np.testing.assert_allclose(F.normalize(cluster_features, dim=1).numpy(),
                               oracle.centroids(X, want, k), atol=1e-5)
    kept = [(fname, label.item(), cid) for (fname, _, cid), label
            in zip(train_list(360), pseudo_labels) if label != -1]
    assert [entry[1] for entry in kept] == [int(x) for x in want if x != -1]
    assert len(kept) == int((want != -1).sum()) < 360


# ---- OpenUnReID: openunreid/core/label_generators/dbscan.py, called by LabelGenerator ----------

def label_generator_module():
    """The module with the snippet in place of the replaced function: its imports
    (collections, numpy, torch, ...) and the new label_generator_dbscan."""
    module = {**script_imports(), "np": np}
    exec(snippet("openunreid"), module)
    return module["label_generator_dbscan"]


def call_like_label_generator(generator, cfg, features, num_classes, indep_thres):
    """LabelGenerator.__call__ around the factory call: the keywords it passes,
    then norm_center; returns (labels list, centers, num_classes, indep_thres)."""
    labels, centers, num_classes, indep_thres = generator(
        cfg, features, num_classes=num_classes, cuda=True, indep_thres=indep_thres)
    if cfg.TRAIN.PSEUDO_LABELS.norm_center:
        centers = F.normalize(centers, p=2, dim=1)
    return labels.tolist(), centers, num_classes, indep_thres


@pytest.mark.parametrize("eps,use_outliers", [((0.62, 0.58, 0.6), True), ((0.6,), True),
                                              ((0.6,), False)])
def test_openunreid_snippet_matches_the_reference(eps, use_outliers):
    generator = label_generator_module()
    settings = SimpleNamespace(cluster="dbscan", eps=list(eps), min_samples=4, k1=20, k2=6,
                               use_outliers=use_outliers, norm_center=True)
    cfg = SimpleNamespace(TRAIN=SimpleNamespace(PSEUDO_LABELS=settings))
    threshold = num_classes = None
    lengths = np.random.default_rng(5).uniform(0.8, 1.25, size=(360, 1)).astype(np.float32)
    for epoch, noise in enumerate((1.3, 1.0)):
        X = features(42, noise=noise) * lengths  # norm_feat off: squared distances matter
        # memory features (SpCL in OpenUnReID) arrive on the GPU
        labels, centers, num_classes, threshold_out = call_like_label_generator(
            generator, cfg, OnGPU(torch.from_numpy(X)), num_classes, threshold)
        runs = reference_runs(X, 20, 6, sorted(eps), variant="sqeuclidean")
        if len(eps) == 3:
            want, threshold = oracle.reliability(*[oracle.singletons(r) for r in runs],
                                                 threshold=threshold, guard=True)
            assert threshold_out == threshold
        else:
            want = oracle.singletons(runs[0]) if use_outliers else runs[0]
            assert threshold_out is None
        assert labels == list(want)
        assert num_classes == want.max() + 1
        np.testing.assert_allclose(centers.numpy(), oracle.centroids(X, want, num_classes),
                                   atol=1e-5)


# ---- RLCC: tools/main.py, SSBRunner.update_labels over four epochs ---------------------------

@pytest.mark.parametrize("beta", [0.0, 0.3])
def test_rlcc_snippet_matches_the_reference(beta):
    generator = label_generator_module()  # RLCC's dbscan.py has OpenUnReID's generator
    settings = SimpleNamespace(cluster="dbscan", eps=[0.58, 0.6, 0.62], min_samples=4, k1=20,
                               k2=6, use_outliers=True, norm_feat=True, norm_center=True)
    cfg = SimpleNamespace(TRAIN=SimpleNamespace(PSEUDO_LABELS=settings),
                          SOFTEN=SimpleNamespace(pred_temp=30.0, alpha=0.9, beta=beta))
    runner = SimpleNamespace(cfg=cfg)
    threshold = num_classes = None
    for epoch, noise in enumerate((1.4, 1.2, 1.0, 0.8)):
        runner._epoch = epoch
        X = features(7, noise=noise)  # extract_features normalises: unit rows
        # update_labels' first line: the label generator (norm_feat, the snippet, norm_center)
        labels, centers, num_classes, threshold = call_like_label_generator(
            generator, cfg, F.normalize(torch.from_numpy(X), p=2, dim=1), num_classes,
            threshold)
        pseudo_labels, label_centers = [labels], [centers]
        if epoch == 0:  # the epoch-0 branch, kept
            runner.pseudo_labels_pervious = torch.tensor(pseudo_labels)
            runner.pseudo_centers_pervious = label_centers[0].clone()
            continue
        prev = runner.pseudo_labels_pervious[0].numpy().copy()
        centers_prev = runner.pseudo_centers_pervious.numpy().astype(np.float64)
        # the else: branch up to the block: all_features extracted, all_centers
        all_features = torch.from_numpy(X)
        namespace = {**script_imports(), "math": math, "self": runner,
                     "pseudo_labels": pseudo_labels, "label_centers": label_centers,
                     "all_features": all_features, "all_centers": runner.pseudo_centers_pervious}
        exec(snippet("rlcc"), namespace)
        # tools/main.py: softmax(temp * normalised features . normalised centres), the
        # alpha-blend with the previous one-hot from epoch 2, IoU rows normalised, the
        # product, and beta * the hard IoU rows
        cur = np.array(labels)
        unit = lambda A: A / np.linalg.norm(A, axis=1, keepdims=True)  # noqa: E731
        P = oracle.softmax_rows(30.0 * unit(X.astype(np.float64)) @ unit(centers_prev).T)
        C = oracle.consensus(prev, cur, prev.max() + 1, cur.max() + 1)
        want = oracle.propagate(prev, C, P, 0.9 if epoch != 1 else 0.0, beta)
        got = runner.sample_soft_labels.numpy()
        assert got.shape == (len(X), cur.max() + 1)
        np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_allclose(got.sum(1), 1, atol=1e-5)
        # the two kept _pervious assignments after the block read what it set
        runner.pseudo_labels_pervious = runner.pseudo_labels_current
        runner.pseudo_centers_pervious = runner.pseudo_centers_current
        np.testing.assert_array_equal(runner.pseudo_labels_pervious.numpy(), [labels])
        np.testing.assert_array_equal(runner.pseudo_centers_pervious.numpy(), centers.numpy())
