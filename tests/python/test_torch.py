"""PyTorch tensors at the boundary, and librlcc beside PyTorch in one
process. CPU float32 C-contiguous tensors are used without a copy; tensors
that require grad (or live on a GPU) are refused with a TypeError; every
entry point gives the same result for a tensor as for the numpy array.
Debian's python3-torch brings GCC's OpenMP (libgomp) while librlcc uses
LLVM's (libomp): both runtimes in one process must give librlcc's results."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import rlcc
from rlcc._dbscan import as_float32_matrix

import torch  # python3-torch, a listed dependency: missing, these tests fail, never skip

rng = np.random.default_rng(11)
IDENTITY = rng.normal(size=(12, 24))
X = IDENTITY[np.arange(240) % 12] + 0.35 * rng.normal(size=(240, 24))
X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
LABELS = (np.arange(240) % 12).astype(np.int32)


def test_a_float32_contiguous_cpu_tensor_is_not_copied():
    tensor = torch.from_numpy(X.copy())
    viewed = as_float32_matrix(tensor, "X")
    assert np.shares_memory(viewed, tensor.numpy())
    # float64 or a transposed view must be converted, and is
    assert not np.shares_memory(as_float32_matrix(tensor.double(), "X"), tensor.numpy())
    transposed = torch.from_numpy(np.ascontiguousarray(X.T)).T
    assert np.array_equal(as_float32_matrix(transposed, "X"), X)


def _entry_points(make):
    """Every public entry point taking arrays, called through make(array)."""
    k1 = dict(k1=10, k2=3)
    chat = rlcc.consensus(LABELS, LABELS)
    probs = rlcc.class_probabilities(X, rlcc.centroids(X, LABELS))
    return {
        "dbscan": lambda: rlcc.dbscan(make(X), 0.9, 4),
        "DBSCAN": lambda: rlcc.DBSCAN(eps=0.9, min_samples=4).fit(make(X)).labels_,
        "knn": lambda: rlcc.knn(make(X), 5)[0],
        "jaccard_distance": lambda: rlcc.jaccard_distance(make(X), **k1).toarray(),
        "pseudo_labels": lambda: rlcc.pseudo_labels(make(X), **k1).labels,
        "centroids": lambda: rlcc.centroids(make(X), make(LABELS)),
        "consensus": lambda: rlcc.consensus(make(LABELS), make(LABELS)),
        "class_probabilities": lambda: rlcc.class_probabilities(
            make(X), make(rlcc.centroids(X, LABELS)), rows=make(np.arange(7, dtype=np.int64))),
        "propagate": lambda: rlcc.propagate(make(probs), make(chat), make(LABELS), w=0.9),
        "blend": lambda: rlcc.blend(make(LABELS), make(probs), 0.9),
    }


@pytest.mark.parametrize("name", sorted(_entry_points(lambda a: a)))
def test_every_entry_point_takes_tensors_and_gives_the_numpy_result(name):
    from_numpy = _entry_points(lambda a: a)[name]()
    from_torch = _entry_points(lambda a: torch.from_numpy(np.array(a)))[name]()
    assert np.ndim(from_numpy) >= 1 and np.size(from_numpy) > 1
    assert np.array_equal(from_numpy, from_torch)


@pytest.mark.parametrize("name", ["dbscan", "DBSCAN", "knn", "jaccard_distance",
                                  "pseudo_labels", "centroids", "class_probabilities",
                                  "propagate", "blend"])
def test_a_tensor_that_requires_grad_is_a_type_error(name):
    def make(array):
        tensor = torch.from_numpy(np.array(array))
        return tensor.requires_grad_(True) if tensor.is_floating_point() else tensor

    with pytest.raises(TypeError, match="requires grad; pass tensor.detach"):
        _entry_points(make)[name]()


def test_the_refiner_takes_tensors_from_its_callback_and_as_indices():
    by_numpy = rlcc.Refiner(k1=10, k2=3, batch=64)
    by_torch = rlcc.Refiner(k1=10, k2=3, batch=64)
    for _ in range(2):
        a = by_numpy.step(X)
        b = by_torch.step(lambda start, count: torch.from_numpy(X[start:start + count]),
                          n=X.shape[0], d=X.shape[1])
        assert np.array_equal(a.labels, b.labels)
    batch = torch.tensor([5, 0, 239])
    assert np.array_equal(by_numpy.targets(batch.numpy()), by_torch.targets(batch))
    grad = rlcc.Refiner(k1=10, k2=3)
    with pytest.raises(TypeError, match="requires grad"):
        grad.step(lambda start, count: torch.from_numpy(X[start:start + count]).requires_grad_(),
                  n=X.shape[0], d=X.shape[1])
    assert grad.step(X).generation == 1  # the refused step changed nothing


# librlcc beside torch: the same labels and targets whichever runtime came first.
_COEXIST = textwrap.dedent("""
    import re
    import sys
    import numpy as np
    first = sys.argv[1]
    if first == "torch":
        import torch
        torch.set_num_threads(2)
        a = torch.randn(300, 300)
        assert torch.allclose((a @ a).sum(), (a @ a).sum())  # libgomp's pool is up
    import rlcc
    if first == "rlcc-then-torch":
        import torch
        torch.set_num_threads(2)
        (torch.randn(300, 300) @ torch.randn(300, 300)).sum()
    x = np.load(sys.argv[2])
    labels = rlcc.dbscan(x, 0.9, 4, n_threads=2)
    refiner = rlcc.Refiner(k1=10, k2=3, n_threads=2)
    refiner.step(x)
    refiner.step(x[::-1].copy())
    targets = refiner.targets()
    maps = open("/proc/self/maps").read()
    # the wheel's libomp is renamed libomp-<hash>.so.5, as auditwheel names it
    runtimes = sorted(name for name, pattern in (("libgomp", r"/libgomp"),
                                                 ("libomp.so", r"/libomp(-[0-9a-f]{8})?\.so"))
                      if re.search(pattern, maps))
    print(",".join(runtimes))
    np.save(sys.argv[3], np.concatenate([labels.astype(np.float32), targets.ravel()]))
""")


def test_librlcc_beside_torch_in_one_process(tmp_path):
    features = tmp_path / "x.npy"
    np.save(features, X)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    results = {}
    for order in ("alone", "torch", "rlcc-then-torch"):
        out = tmp_path / f"{order}.npy"
        run = subprocess.run([sys.executable, "-c", _COEXIST, order, str(features), str(out)],
                             capture_output=True, text=True, timeout=300, env=env)
        assert run.returncode == 0, run.stderr
        runtimes = run.stdout.strip()
        assert "libomp.so" in runtimes
        if order != "alone":
            assert "libgomp" in runtimes, runtimes  # both OpenMP runtimes really loaded
        results[order] = np.load(out)
    assert np.array_equal(results["alone"], results["torch"])
    assert np.array_equal(results["alone"], results["rlcc-then-torch"])
