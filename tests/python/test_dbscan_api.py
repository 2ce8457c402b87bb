"""rlcc.dbscan's Python surface: conversions, errors and their types,
version checks and the re-decision counter."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import DBSCAN

import rlcc
from rlcc import _native


def blobs(n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5, 5, size=(4, d))
    return (centres[rng.integers(0, 4, n)] + rng.normal(size=(n, d)) * 0.5).astype(np.float32)


def test_version_matches_library():
    assert rlcc.__version__ == rlcc.library_version()
    major, minor, patch = (int(p) for p in rlcc.__version__.split("."))
    assert _native.lib.rlcc_version_number() == major * 10000 + minor * 100 + patch


def test_every_exported_function_is_declared():
    """Every symbol of the version script has argtypes in the binding."""
    import re
    from pathlib import Path

    version_script = Path(__file__).resolve().parents[2] / "src" / "rlcc.map"
    names = re.findall(r"\b(rlcc_[a-z0-9_]+);", version_script.read_text())
    assert len(names) >= 20
    for name in names:
        assert getattr(_native.lib, name).argtypes is not None, name
    assert _native.lib.rlcc_version_string.restype is __import__("ctypes").c_char_p


def test_struct_layouts_match_the_header():
    import ctypes

    assert ctypes.sizeof(_native.DbscanOptions) == 32
    assert _native.DbscanOptions.max_bytes.offset == 16
    assert _native.DbscanOptions.algorithm.offset == 24  # 1.5
    assert _native.DbscanOptions.reserved.offset == 28
    assert ctypes.sizeof(_native.DbscanStats) == 48
    assert _native.DbscanStats.peak_bytes.offset == 40


def test_float64_and_strided_input_give_the_same_labels():
    X = blobs()
    want = rlcc.dbscan(X, 0.8, 5)
    np.testing.assert_array_equal(rlcc.dbscan(X.astype(np.float64), 0.8, 5), want)
    np.testing.assert_array_equal(rlcc.dbscan(np.asfortranarray(X), 0.8, 5), want)
    wide = np.zeros((X.shape[0], 10), dtype=np.float32)
    wide[:, :4] = X
    # a column slice: rows are strided, passed with a leading dimension
    np.testing.assert_array_equal(rlcc.dbscan(wide[:, :4], 0.8, 5), want)
    np.testing.assert_array_equal(rlcc.dbscan(X.tolist(), 0.8, 5), want)
    np.testing.assert_array_equal(rlcc.dbscan(X.astype(np.int64), 0.8, 5),
                                  DBSCAN(eps=0.8, min_samples=5).fit(
                                      X.astype(np.int64).astype(np.float32)).labels_)


def test_precomputed_dense_and_sparse_agree():
    X = blobs()
    D = np.sqrt(((X[:, None, :].astype(np.float64) - X[None, :, :]) ** 2).sum(-1)).astype(np.float32)
    dense = rlcc.dbscan(D, 0.8, 5, metric="precomputed")
    np.testing.assert_array_equal(dense, DBSCAN(eps=0.8, min_samples=5, metric="precomputed").fit(D).labels_)
    graph = sp.csr_matrix(np.where(D <= 1.0, D, 0))  # zeros vanish, diagonal included
    np.testing.assert_array_equal(rlcc.dbscan(graph, 0.8, 5, metric="precomputed"), dense)
    np.testing.assert_array_equal(rlcc.dbscan(graph.tocoo(), 0.8, 5, metric="precomputed"), dense)


def test_empty_input():
    labels = rlcc.dbscan(np.zeros((0, 3), dtype=np.float32), 0.5, 2)
    assert labels.shape == (0,) and labels.dtype == np.int32
    assert rlcc.dbscan(sp.csr_matrix((0, 0), dtype=np.float32), 0.5, 2,
                       metric="precomputed").shape == (0,)


@pytest.mark.parametrize("bad,word", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_non_finite_features_raise_invalid_argument(bad, word):
    X = blobs()
    X[7, 2] = bad
    with pytest.raises(rlcc.InvalidArgument, match=f"x: row 7 has {word} at column 2"):
        rlcc.dbscan(X, 0.5, 5)
    with pytest.raises(ValueError):  # InvalidArgument is also a ValueError
        rlcc.dbscan(X, 0.5, 5, metric="cosine")


def test_bad_precomputed_values():
    D = np.ones((5, 5), dtype=np.float32)
    D[2, 3] = np.nan
    with pytest.raises(rlcc.InvalidArgument, match="NaN at row 2, column 3"):
        rlcc.dbscan(D, 0.5, 2, metric="precomputed")
    D[2, 3] = -1
    with pytest.raises(rlcc.InvalidArgument, match="negative distance"):
        rlcc.dbscan(D, 0.5, 2, metric="precomputed")
    with pytest.raises(rlcc.InvalidArgument, match="square"):
        rlcc.dbscan(np.ones((3, 4)), 0.5, 2, metric="precomputed")


def test_duplicate_sparse_entries_are_refused():
    # scikit-learn would count a duplicated (row, column) twice
    graph = sp.csr_matrix((np.array([0.1, 0.1], np.float32), np.array([1, 1]), np.array([0, 2, 2])),
                          shape=(2, 2))
    with pytest.raises(rlcc.InvalidArgument, match="duplicate column 1 in row 0"):
        rlcc.dbscan(graph, 0.5, 2, metric="precomputed")


@pytest.mark.parametrize("kwargs,text", [
    (dict(eps=0.0), "eps"), (dict(eps=-1.0), "eps"), (dict(eps=float("nan")), "eps: is NaN"),
    (dict(min_samples=0), "min_samples"), (dict(n_threads=-2), "n_threads"),
    (dict(metric="manhattan"), "metric"),
])
def test_bad_parameters(kwargs, text):
    args = dict(eps=0.5, min_samples=5, metric="euclidean", n_threads=0)
    args.update(kwargs)
    with pytest.raises(rlcc.InvalidArgument, match=text) as info:
        rlcc.dbscan(blobs(), **args)
    assert isinstance(info.value, rlcc.RLCCError)


def test_wrong_dimensions_and_dtypes():
    with pytest.raises(rlcc.InvalidArgument, match="2-D"):
        rlcc.dbscan(np.zeros(5), 0.5, 2)
    with pytest.raises(rlcc.InvalidArgument, match="dtype"):
        rlcc.dbscan(np.array([["a", "b"]]), 0.5, 2)
    with pytest.raises(rlcc.InvalidArgument, match="d = 0"):
        rlcc.dbscan(np.zeros((4, 0), dtype=np.float32), 0.5, 2)


def test_cosine_zero_row():
    X = blobs()
    X[3] = 0
    with pytest.raises(rlcc.InvalidArgument, match="row 3 is all zeros"):
        rlcc.dbscan(X, 0.1, 5, metric="cosine")


def test_memory_limit_raises_out_of_memory():
    X = np.zeros((3000, 2), dtype=np.float32)  # every pair is a neighbour
    with pytest.raises(rlcc.OutOfMemory) as info:
        rlcc.dbscan_with_stats(X, 1.0, 2, max_bytes=1 << 20, algorithm="brute")
    assert isinstance(info.value, MemoryError)
    assert info.value.code == _native.E_MEMORY_LIMIT
    # the grid and the tree hold O(n): the same limit is plenty (1.5)
    for algorithm in ("grid", "kd_tree"):
        labels = rlcc.dbscan_with_stats(X, 1.0, 2, max_bytes=1 << 20, algorithm=algorithm)[0]
        assert (labels == 0).all()


def test_redecision_counter_from_python():
    # far from the origin the float32 Gram screen cannot decide unit distances
    ys = np.array([1, 2, 3, 11, 12, 13, 21, 22, 41], dtype=np.float32)
    X = np.stack([np.full_like(ys, 4096), ys], axis=1)
    labels, core, k, stats = rlcc.dbscan_with_stats(X, 1.0, 3, algorithm="brute")
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, 1, -1, -1, -1])
    np.testing.assert_array_equal(labels, DBSCAN(eps=1.0, min_samples=3).fit(X).labels_)
    assert stats["n_redecided"] > 0
    assert k == 2 and core.sum() == 2


def test_thread_counts_give_identical_labels():
    X = blobs(n=1600, d=8, seed=3)
    small = 16 << 20  # a 4 MiB Gram tile: about 650 rows a panel, 3 panels

    def labels(threads):
        return rlcc.dbscan_with_stats(X, 1.2, 5, n_threads=threads, max_bytes=small)[0]

    base = labels(1)
    for threads in (2, 3):
        np.testing.assert_array_equal(labels(threads), base)
    np.testing.assert_array_equal(rlcc.dbscan(X, 1.2, 5), base)  # one big panel


def test_the_package_declares_its_inline_types():
    from pathlib import Path

    assert (Path(rlcc.__file__).parent / "py.typed").is_file()  # PEP 561
