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
results. After a snippet the test checks what the script's kept lines read.

The methods after RLCC (CAP, ICE, O2CAP, PPLR, OpenUnReID's k-means, Cluster
Contrast's InfoMap, MMT's and DomainAdaptiveReID's eps) are compared with
integrations_oracle.py, NumPy references of the lines their snippets replace: bit
for bit where docs/integrations.md promises the bytes."""

import collections
import math
import re
import sys
import textwrap
import time
import types
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.cluster import DBSCAN, KMeans
from sklearn.metrics import adjusted_rand_score

import jaccard_oracle
import integrations_oracle as later
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


# ==== The methods after RLCC (librlcc 1.7) ====================================================

def reid_data(seed, sizes=(10,) * 30, d=32, noise=0.9, cameras=4, outliers=0):
    """Identities of the given sizes on the hypersphere, a bias per camera,
    noise, then `outliers` rows in random directions; rows shuffled, unit.
    Returns (X float32, identity, camera); identity 0 is seen by camera 1 only."""
    rng = np.random.default_rng(seed)
    sizes = np.asarray(sizes)
    centres = rng.normal(size=(len(sizes) + outliers, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    ids = np.concatenate([np.repeat(np.arange(len(sizes)), sizes),
                          len(sizes) + np.arange(outliers)])
    cams = rng.integers(0, cameras, len(ids))
    cams[ids == 0] = 1
    bias = rng.normal(size=(cameras, d)) * 0.2 / np.sqrt(d)
    X = centres[ids] + bias[cams] + rng.normal(size=(len(ids), d)) * noise / np.sqrt(d)
    X[ids >= len(sizes)] = centres[ids[ids >= len(sizes)]]
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    order = rng.permutation(len(ids))
    return X[order].astype(np.float32), ids[order], cams[order]


def clustered(ids, cams, seed, noise_camera=None):
    """Labels as a DBSCAN leaves them (int64, -1 for noise, 0 .. K-1 in order of
    the first member): the identities, a tenth of the samples noise, and
    optionally every sample of one camera noise."""
    rng = np.random.default_rng(seed + 100)
    labels = ids.astype(np.int64)
    labels[rng.random(len(ids)) < 0.1] = -1
    if noise_camera is not None:
        labels[cams == noise_camera] = -1
    kept = labels >= 0
    _, first, inverse = np.unique(labels[kept], return_index=True, return_inverse=True)
    labels[kept] = np.argsort(np.argsort(first))[inverse]
    return labels


def in_function(name, signature):
    """The snippet pasted as a function's body (it returns, as the lines it replaces did)."""
    return f"def {signature}:\n" + textwrap.indent(snippet(name), "    ")


# ---- CAP: reid/img_grouping.py img_association, then train_cap.py update_train_loader -------

@pytest.mark.parametrize("seed", range(3))
def test_cap_snippets_match_the_reference(seed, capsys):
    X, ids, cams = reid_data(seed)
    updated_label = clustered(ids, cams, seed, noise_camera=3)  # camera 3: no proxy at all
    # img_association, from line 65: its module imports torch and numpy
    module = {"torch": torch, "np": np}
    exec(in_function("cap_grouping", "tail(updated_label, new_cams, new_features, "
                                     "intra_id_reinitialize)"), module)
    got_labels, intra_id_features = module["tail"](updated_label, cams, X, True)
    proxy, clusters, proxy_cams, blocks = later.camera_major(updated_label, cams, X)
    assert got_labels is updated_label
    assert len(intra_id_features) == len(blocks) == 4
    for cc, (got, want) in enumerate(zip(intra_id_features, blocks)):
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.numpy(), want)  # NumPy's bytes
        # CAPMemory: init_intra_id_feat[cc] holds camera cc's clusters, ascending
        assert got.shape[0] == len(np.unique(updated_label[(cams == cc) & (updated_label >= 0)]))
    assert intra_id_features[3].shape == (0, X.shape[1])

    # update_train_loader, from line 77 (after the transforms); target_train's tuples
    # hold the sample's index at position 3
    train_samples = [(f"img_{i:04d}.jpg", int(ids[i]), int(cams[i]), i) for i in range(len(X))]
    namespace = {"np": np, "torch": torch, "dataset": SimpleNamespace(),
                 "train_samples": train_samples, "updated_label": updated_label,
                 "all_img_cams": cams, "sample_position": 5, "batch_size": 32, "re": 0.5}
    capsys.readouterr()
    exec(snippet("cap_loader"), namespace)
    assert capsys.readouterr().out == f"  sum(id_count_each_cam)= {len(clusters)}\n"
    new_accum_labels = namespace["new_accum_labels"]
    assert new_accum_labels.dtype == updated_label.dtype
    np.testing.assert_array_equal(new_accum_labels, proxy)
    # the kept loop (lines 97-103)
    new_train_samples = []
    for sample in train_samples:
        lbl = updated_label[sample[3]]
        if lbl != -1:
            assert new_accum_labels[sample[3]] >= 0
            new_train_samples.append(sample + (lbl, new_accum_labels[sample[3]]))
    assert [s[4:] for s in new_train_samples] == [
        (updated_label[i], proxy[i]) for i in range(len(X)) if updated_label[i] != -1]
    # both blocks number the proxies alike: block cc's rows are the ids of camera cc
    offsets = np.cumsum([0] + [len(b) for b in blocks])
    for cc in range(4):
        assert (proxy_cams[offsets[cc]:offsets[cc + 1]] == cc).all()


# ---- ICE: examples/unsupervised_train.py, main_worker's epoch loop --------------------------

@pytest.mark.parametrize("seed", range(3))
def test_ice_snippet_matches_the_reference(seed):
    X, ids, cams = reid_data(seed + 3, cameras=6)
    labels = clustered(ids, cams, seed)
    cf = torch.from_numpy(X)  # torch.stack(list(dict_f1.values()))
    namespace = {**script_imports(), "np": np, "F": F, "DBSCAN": DBSCAN, "cf": cf,
                 "labels": labels, "cams": np.asarray(cams), "epoch": 0,
                 "num_ids": int(labels.max() + 1)}
    exec(snippet("ice"), namespace)
    _, clusters, _, blocks = later.camera_major(labels, cams, X)
    intra_id_labels, intra_id_features = namespace["intra_id_labels"], namespace["intra_id_features"]
    assert intra_id_labels == clusters.tolist()
    assert len(intra_id_features) == len(blocks) == 6
    for got, want in zip(intra_id_features, blocks):
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
        np.testing.assert_array_equal(got.numpy(), want)
    # the trainer: per camera, torch.unique of the labels >= 0 maps onto
    # init_intra_id_feat[cc]'s rows, in that order
    all_pseudo_label = torch.tensor(labels)
    start = 0
    for cc in torch.unique(torch.tensor(cams)):
        uniq = torch.unique(all_pseudo_label[torch.tensor(cams) == cc])
        uniq = uniq[uniq >= 0]
        assert intra_id_features[int(cc)].shape[0] == len(uniq)
        assert intra_id_labels[start:start + len(uniq)] == uniq.tolist()
        start += len(uniq)


# ---- O2CAP: train.py, main_worker's epoch loop ----------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_o2cap_snippets_match_the_reference(seed):
    X, ids, cams = reid_data(seed + 6)
    pseudo_labels = clustered(ids, cams, seed)
    temp_all_cams = np.asarray(cams)
    all_img_cams = torch.tensor(temp_all_cams)  # .cuda() in the script
    memory = SimpleNamespace()
    train = [(f"img_{i:04d}.jpg", int(ids[i]), int(cams[i])) for i in range(len(X))]
    namespace = {**script_imports(), "np": np, "F": F, "features": torch.from_numpy(X),
                 "pseudo_labels": pseudo_labels, "temp_all_cams": temp_all_cams,
                 "all_img_cams": all_img_cams, "unique_cameras": torch.unique(all_img_cams),
                 "memory": memory, "dataset": SimpleNamespace(train=train), "epoch": 0}
    exec(snippet("o2cap_proxies"), namespace)
    proxy, clusters, proxy_cams, centroids = later.cluster_major(pseudo_labels, cams, X)
    proxy_labels, num_proxies = namespace["proxy_labels"], namespace["num_proxies"]
    assert isinstance(proxy_labels, np.ndarray) and proxy_labels.dtype == pseudo_labels.dtype
    np.testing.assert_array_equal(proxy_labels, proxy)
    assert num_proxies == len(clusters) == len(set(proxy.tolist()) - {-1})
    # the kept lines 226-250: the dataset, the memory's labels, the two dictionaries
    pseudo_labeled_dataset = [(fname, label, cid, i, accum_y) for i, ((fname, _, cid), label, accum_y)
                              in enumerate(zip(sorted(train), pseudo_labels, proxy_labels))
                              if label != -1]
    assert [entry[4] for entry in pseudo_labeled_dataset] == [p for p in proxy if p != -1]
    namespace["pseudo_labels"] = torch.from_numpy(pseudo_labels).long()
    memory.all_pseudo_label = namespace["pseudo_labels"]
    namespace["proxy_labels"] = torch.from_numpy(proxy_labels).long()
    memory.all_proxy_label = namespace["proxy_labels"]
    for c in range(int(memory.all_pseudo_label.max() + 1)):
        got = torch.unique(memory.all_proxy_label[memory.all_pseudo_label == c]).tolist()
        assert got == np.flatnonzero(clusters == c).tolist()
    for cc in torch.unique(all_img_cams):
        got = torch.unique(memory.all_proxy_label[(all_img_cams == cc) & (memory.all_proxy_label >= 0)])
        assert got.tolist() == np.flatnonzero(proxy_cams == int(cc)).tolist()
    # from line 263
    exec(snippet("o2cap_centers"), namespace)
    proxy_centers = namespace["proxy_centers"]
    assert isinstance(proxy_centers, torch.Tensor) and proxy_centers.shape == (num_proxies, X.shape[1])
    memory.global_memory = proxy_centers.detach()  # kept, line 270
    np.testing.assert_allclose(memory.global_memory.numpy(), centroids, rtol=0, atol=2.5e-7)


# ---- PPLR: examples/train_pplr.py and train_pplr_cam.py --------------------------------------

def pplr_features(seed, parts=3, duplicate=True, **data):
    """Global and part features (N x D, N x D x P), each part L2-normalised along
    D, as resnet50part gives them; optionally row 17 duplicating row 5."""
    X, ids, cams = reid_data(seed, **data)
    rng = np.random.default_rng(seed + 50)
    P = X[:, :, None] + rng.normal(size=X.shape + (parts,)) * 0.8 / np.sqrt(X.shape[1])
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    P = P.astype(np.float32)
    if duplicate:
        X[17], P[17], ids[17], cams[17] = X[5], P[5], ids[5], cams[5]
    return X, P, ids, cams


@pytest.mark.parametrize("seed", range(2))
def test_pplr_agreement_snippet_matches_the_reference(seed):
    X, P, ids, cams = pplr_features(seed + 9, sizes=(10,) * 24)
    args = SimpleNamespace(k=20, part=3)
    namespace = {**script_imports(), "np": np, "F": F, "time": time, "args": args, "epoch": 0,
                 "features_g": torch.from_numpy(X), "features_p": torch.from_numpy(P)}
    exec(snippet("pplr_agreement"), namespace)
    want = later.cross_agreement(X, P, 20)
    score = namespace["score"]
    assert isinstance(score, torch.Tensor) and score.dtype == torch.float32
    assert score.shape == (len(X), 3)
    np.testing.assert_array_equal(score.numpy(), want)  # bit for bit
    assert 0 < want.mean() < 1 and len(np.unique(want)) > 3  # the lists differ, not trivially
    # the kept lines: score_log, the re-indexing, the batches' rows for PGLR's softmax
    score_log = torch.cat([torch.FloatTensor([]), score.unsqueeze(0)], dim=0)
    assert score_log.shape == (1, len(X), 3)
    idxs = np.flatnonzero(ids % 5 != 0)
    assert score[idxs, :].shape == (len(idxs), 3)
    import rlcc

    weights = rlcc.part_weights(score)
    assert weights.dtype == np.float32 and weights.shape == (len(X), 3)
    np.testing.assert_array_equal(weights, later.softmax_double(want))
    np.testing.assert_array_max_ulp(weights, torch.softmax(score, dim=1).numpy(), maxulp=1)
    np.testing.assert_array_equal(weights[idxs], rlcc.part_weights(score[idxs, :]))


class InterCamProxyStandIn:
    """PPLR's InterCamProxy(num_features, num_samples): the block sets proxy, pids, cids."""

    def __init__(self, num_features, num_samples):
        self.num_features, self.num_samples = num_features, num_samples

    def cuda(self):
        return self


def linear(rows, d):
    return SimpleNamespace(weight=SimpleNamespace(data=torch.zeros(rows, d)))


@pytest.mark.parametrize("seed", range(2))
def test_pplr_cam_snippet_matches_the_reference(seed):
    X, P, ids, cams = pplr_features(seed + 12, duplicate=False, sizes=(8,) * 25, cameras=5)
    d, num_part = X.shape[1], 3
    labels = clustered(ids, cams, seed)
    num_class = int(labels.max() + 1)
    pseudo_labels = torch.from_numpy(oracle.singletons(labels))  # outliers numbered after
    model = SimpleNamespace(module=SimpleNamespace(
        classifier=linear(3000, d), **{f"classifier{i}": linear(3000, d) for i in range(3)}))
    # the kept lines 188-214: the clustered samples, then the re-indexing
    idxs, cids, pids = [], [], []
    for i, label in enumerate(pseudo_labels):
        if label.item() < num_class:
            idxs.append(i)
            cids.append(int(cams[i]))
            pids.append(label.item())
    idxs, cids, pids = np.asarray(idxs), np.asarray(cids), np.asarray(pids)
    features_g = torch.from_numpy(X)[idxs, :]
    features_p = torch.from_numpy(P)[idxs, :, :]
    namespace = {**script_imports(), "np": np, "F": F, "time": time, "model": model,
                 "InterCamProxy": InterCamProxyStandIn, "features_g": features_g,
                 "features_p": features_p, "idxs": idxs, "cids": cids, "pids": pids,
                 "num_class": num_class, "num_part": num_part,
                 "score": torch.rand(len(idxs), 3)}
    exec(snippet("pplr_cam"), namespace)
    Xg, Xp = features_g.numpy(), features_p.numpy()
    np.testing.assert_allclose(model.module.classifier.weight.data[:num_class].numpy(),
                               later.class_means_torch(Xg, pids, num_class), rtol=0, atol=2.5e-7)
    assert not model.module.classifier.weight.data[num_class:].any()
    _, clusters, proxy_cams, centroids = later.cluster_major(pids, cids, Xg)
    memory, memory_p = namespace["memory"], namespace["memory_p"]
    assert (memory.num_features, memory.num_samples) == (d, len(clusters))
    np.testing.assert_allclose(memory.proxy.numpy(), centroids, rtol=0, atol=2.5e-7)
    assert memory.pids.dtype == memory.cids.dtype == torch.int64
    assert memory.pids.tolist() == clusters.tolist() and memory.cids.tolist() == proxy_cams.tolist()
    assert len(clusters) > num_class  # clusters span cameras
    assert len(memory_p) == num_part
    for i, memory_p_i in enumerate(memory_p):
        np.testing.assert_allclose(
            getattr(model.module, f"classifier{i}").weight.data[:num_class].numpy(),
            later.class_means_torch(Xp[:, :, i], pids, num_class), rtol=0, atol=2.5e-7)
        _, clusters_i, cams_i, centroids_i = later.cluster_major(pids, cids, Xp[:, :, i])
        assert memory_p_i.num_samples == len(clusters)
        np.testing.assert_allclose(memory_p_i.proxy.numpy(), centroids_i, rtol=0, atol=2.5e-7)
        assert memory_p_i.pids.tolist() == clusters_i.tolist()
        assert memory_p_i.cids.tolist() == cams_i.tolist()


# ---- OpenUnReID: openunreid/core/label_generators/kmeans.py, called by LabelGenerator ---------

def kmeans_generator_module():
    """kmeans.py with the snippet in place of label_generator_kmeans: its imports
    (warnings, torch; faiss no more)."""
    module = {"warnings": warnings, "torch": torch}
    exec(snippet("openunreid_kmeans"), module)
    return module["label_generator_kmeans"]


@pytest.mark.parametrize("seed,k", [(0, 36), (1, 50), (2, 12)])
def test_openunreid_kmeans_snippet_matches_scikit_learn(seed, k):
    generator = kmeans_generator_module()
    settings = SimpleNamespace(cluster="kmeans", use_outliers=False, norm_feat=True,
                               norm_center=True, cluster_num=k)
    cfg = SimpleNamespace(TRAIN=SimpleNamespace(PSEUDO_LABELS=settings))
    X, _, _ = reid_data(seed + 30, sizes=(12,) * 30, noise=1.1)
    features = F.normalize(torch.from_numpy(X), p=2, dim=1)  # LabelGenerator's norm_feat
    labels, centers, num_classes, thres = call_like_label_generator(
        generator, cfg, OnGPU(features), k, None)
    x = features.numpy()
    start = later.faiss_start_rows(len(x), k)  # faiss.Kmeans's first centroids
    want = KMeans(k, init=x[start].astype(np.float64), n_init=1, algorithm="lloyd",
                  max_iter=300, tol=0.0).fit(x.astype(np.float64))
    assert labels == want.labels_.tolist()
    assert num_classes == k and thres is None
    np.testing.assert_allclose(centers.numpy(), F.normalize(
        torch.from_numpy(want.cluster_centers_), p=2, dim=1).numpy(), rtol=0, atol=1e-6)
    # and the library's own stop rule, as scikit-learn's default tol
    import rlcc

    result = rlcc.kmeans(x, x[start])
    sk = KMeans(k, init=x[start].astype(np.float64), n_init=1, algorithm="lloyd",
                max_iter=300, tol=1e-4).fit(x.astype(np.float64))
    np.testing.assert_array_equal(result.labels, sk.labels_)
    assert result.n_iter == sk.n_iter_
    np.testing.assert_allclose(result.centroids, sk.cluster_centers_, rtol=0, atol=1e-6)


@pytest.mark.parametrize("n,k", [(360, 36), (600, 2), (50, 7), (3000, 5)])
def test_kmeans_init_faiss_gives_faiss_start_rows(n, k):
    import rlcc

    want = later.faiss_start_rows(n, k)  # n > 256 k: faiss trains on a subset
    np.testing.assert_array_equal(rlcc.kmeans_init_faiss(n, k), want)
    x = np.random.default_rng(n).normal(size=(n, 4)).astype(np.float32)
    np.testing.assert_array_equal(rlcc.kmeans_init_faiss(x, k), want)


# ---- Cluster Contrast: examples/cluster_contrast_train_usl_infomap.py ------------------------

class WithPartition(types.ModuleType):
    """rlcc, with infomap_pseudo_labels given a fixed partition (modules=): the
    test's way to hold the randomised search still."""

    def __init__(self, real, modules):
        super().__init__("rlcc")
        self._real, self._modules = real, modules

    def __getattr__(self, name):
        return getattr(self._real, name)

    def infomap_pseudo_labels(self, *args, **kwargs):
        return self._real.infomap_pseudo_labels(*args, modules=self._modules, **kwargs)


def infomap_namespace(X):
    args = SimpleNamespace(k1=15, eps=0.5, k2=4)
    return {**script_imports(), "np": np, "F": F, "time": time, "args": args, "epoch": 0,
            "features": torch.from_numpy(X), "dataset": SimpleNamespace(train=train_list(len(X)))}


@pytest.mark.parametrize("seed", range(3))
def test_cluster_contrast_infomap_snippet_matches_the_script_given_a_partition(seed, monkeypatch):
    import rlcc

    sizes = list(range(5, 25)) + [2, 3, 4]  # survivors of distinct sizes, three too small
    X, ids, _ = reid_data(seed + 40, sizes=sizes, noise=0.6, outliers=12)
    modules = ids.astype(np.int32)  # the caller's partition: the identities
    monkeypatch.setitem(sys.modules, "rlcc", WithPartition(rlcc, modules))
    namespace = infomap_namespace(X)
    exec(snippet("cluster_contrast_infomap"), namespace)
    # the script's lines on the same partition
    unit = F.normalize(torch.from_numpy(X), dim=1).numpy()
    src, dst, weight, singles = later.infomap_links(unit, 15, 0.5)
    nodes = set(src.tolist()) | set(dst.tolist())
    flow = later.infomap_flow(len(X), src, dst, weight)
    ranked, flows = later.modules_by_flow(modules, nodes, flow)
    survivors = [f for m, f in zip(ranked, flows) if len(m) > 4]
    assert len(survivors) >= 15 and all(a > b * (1 + 1e-6) for a, b in zip(survivors, survivors[1:]))
    assert singles  # some outliers are in no link
    want = later.cluster_contrast_labels(len(X), ranked, singles, 4)
    pseudo_labels, num_cluster = namespace["pseudo_labels"], namespace["num_cluster"]
    assert pseudo_labels.dtype == np.intp
    np.testing.assert_array_equal(pseudo_labels, want)
    assert num_cluster == len(set(want.tolist()) - {-1}) == len(survivors)
    # the kept lines: ClusterMemory(..., num_cluster), F.normalize(cluster_features), the loop
    cluster_features = namespace["cluster_features"]
    assert isinstance(cluster_features, torch.Tensor)
    assert cluster_features.shape == (num_cluster, X.shape[1])
    np.testing.assert_allclose(F.normalize(cluster_features, dim=1).numpy(),
                               oracle.centroids(X, want, num_cluster), atol=1e-5)
    kept = [(fname, label.item(), cid) for (fname, _, cid), label
            in zip(train_list(len(X)), pseudo_labels) if label != -1]
    assert len(kept) == int((want != -1).sum())


def test_cluster_contrast_infomap_snippet_runs_its_own_search():
    X, ids, _ = reid_data(43, sizes=list(range(5, 25)), noise=0.6, outliers=12)
    namespace = infomap_namespace(X)
    exec(snippet("cluster_contrast_infomap"), namespace)
    pseudo_labels, num_cluster = namespace["pseudo_labels"], namespace["num_cluster"]
    assert pseudo_labels.dtype == np.intp and pseudo_labels.shape == (len(X),)
    assert num_cluster == len(set(pseudo_labels.tolist()) - {-1})
    assert sorted(set(pseudo_labels.tolist()) - {-1}) == list(range(num_cluster))
    assert all((pseudo_labels == c).sum() > 4 for c in range(num_cluster))  # the k2 rule
    clustered_rows = pseudo_labels >= 0
    assert adjusted_rand_score(ids[clustered_rows], pseudo_labels[clustered_rows]) > 0.9
    np.testing.assert_allclose(F.normalize(namespace["cluster_features"], dim=1).numpy(),
                               oracle.centroids(X, pseudo_labels, num_cluster), atol=1e-5)


# ---- MMT: examples/mmt_train_dbscan.py; DomainAdaptiveReID: selftraining.py ----------------

def dense_jaccard(X, k1=20, k2=6):
    lists, _ = jaccard_oracle.brute_knn(X, k1)
    return jaccard_oracle.jaccard(X, lists, k1, k2)


@pytest.mark.parametrize("n_ids", [36, 48])  # rho x count: 103 values, then 184 (> 128)
def test_mmt_eps_snippet_matches_the_reference(n_ids):
    X = features(n_ids, n_ids=n_ids, noise=1.1)
    rerank_dist = dense_jaccard(X)
    namespace = {**script_imports(), "np": np, "F": F, "DBSCAN": DBSCAN, "epoch": 0,
                 "rerank_dist": rerank_dist, "args": SimpleNamespace(lambda_value=0)}
    exec(snippet("mmt_eps"), namespace)
    eps, want = namespace["eps"], later.eps_quantile(rerank_dist, 1.6e-3)
    assert want.dtype == np.float32
    assert isinstance(eps, float) and np.float32(eps) == want and eps == float(want)
    # the kept lines: the print, DBSCAN(eps=eps, min_samples=4, metric='precomputed')
    assert 'eps for cluster: {:.3f}'.format(eps) == 'eps for cluster: {:.3f}'.format(want)
    labels = DBSCAN(eps=eps, min_samples=4, metric="precomputed").fit_predict(rerank_dist)
    assert (labels >= 0).any()
    import rlcc

    np.testing.assert_array_max_ulp(
        np.float32(rlcc.eps_from_quantile(rerank_dist, summation="double")), want, maxulp=1)
    # the sparse Jaccard (missing = 1) gives the dense one's eps
    dense = rlcc.jaccard_distance(X, k1=20, k2=6, dense=True)
    sparse = rlcc.jaccard_distance(X, k1=20, k2=6)
    assert rlcc.eps_from_quantile(sparse) == rlcc.eps_from_quantile(dense) \
        == float(later.eps_quantile(dense, 1.6e-3))


def test_mmt_eps_snippet_sums_as_numpy_where_a_double_sum_differs():
    rng = np.random.default_rng(0)
    rerank_dist = np.triu(rng.uniform(0.05, 1, size=(480, 480)).astype(np.float32), 1)
    rerank_dist += rerank_dist.T  # symmetric, zero diagonal: 184 values taken
    want = later.eps_quantile(rerank_dist, 1.6e-3)
    values = np.sort(rerank_dist[np.triu_indices(480, 1)])[:184]
    in_double = np.float32(values.astype(np.float64).sum() / 184)
    assert in_double != want  # the case where the summation shows
    namespace = {"np": np, "DBSCAN": DBSCAN, "epoch": 0, "rerank_dist": rerank_dist}
    exec(snippet("mmt_eps"), namespace)
    assert np.float32(namespace["eps"]) == want
    import rlcc

    assert np.float32(rlcc.eps_from_quantile(rerank_dist, summation="double")) == in_double
    np.testing.assert_array_max_ulp(in_double, want, maxulp=1)


def test_domain_adaptive_reid_eps_snippet_matches_the_reference():
    X = features(5, n_ids=40, noise=1.1)
    rerank_dist = dense_jaccard(X).astype(np.float16)  # re_ranking's float16 matrix
    namespace = {"np": np, "torch": torch, "DBSCAN": DBSCAN, "iter_n": 0,
                 "rerank_dist": rerank_dist, "args": SimpleNamespace(rho=1.6e-3)}
    exec(snippet("dareid_eps"), namespace)
    eps, want = namespace["eps"], later.eps_quantile(rerank_dist, 1.6e-3)
    assert want.dtype == np.float16 and isinstance(eps, np.float16)
    assert eps == want
