"""librlcc's DBSCAN against scikit-learn's on 300 generated cases: the
labels must be identical (same numbers, not merely the same partition)."""

import warnings

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

import rlcc
import dbscan_cases
from dbscan_cases import COUNTS, all_cases, make_case

# name -> (n_clusters, noise share, has a border point shared by two clusters)
TALLY = {}


def neighbour_matrix(case):
    """near[i, j]: j is in i's neighbourhood, by the spec's rules."""
    if case.metric != "precomputed":
        from scipy.spatial.distance import cdist

        X = np.asarray(case.X, dtype=np.float64)
        return cdist(X, X, metric=case.metric) <= case.eps
    if not hasattr(case.X, "tocoo"):
        return case.X <= np.float32(case.eps)
    coo = case.X.tocoo()
    D = np.full(case.X.shape, np.inf, dtype=np.float32)  # not stored: no neighbour
    D[coo.row, coo.col] = coo.data
    stored_diagonal = np.zeros(len(D), bool)
    stored_diagonal[coo.row[coo.row == coo.col]] = True
    missing = np.flatnonzero(~stored_diagonal)
    D[missing, missing] = 0  # a missing diagonal counts as a stored 0
    return D <= np.float32(case.eps)


def shared_border(case, labels, core_indices):
    """True when some non-core point is in the neighbourhood of core points
    of two different clusters (so the lower-numbered cluster had to win)."""
    core = np.zeros(len(labels), bool)
    core[core_indices] = True
    near = neighbour_matrix(case)
    for p in np.flatnonzero(~core & (labels >= 0)):
        reaching = np.flatnonzero(core & near[:, p])  # directed: core q reaches p
        if len(set(labels[reaching])) >= 2:
            return True
    return False


def algorithms_for(case):
    """The algorithm= values a case can run with."""
    if case.metric != "euclidean":
        return ["auto", "brute"]  # precomputed ignores it; grid and tree refuse cosine
    return ["auto", "brute", "kd_tree"] + (["grid"] if case.X.shape[1] <= 5 else [])


@pytest.mark.parametrize("kind,index", list(all_cases()))
def test_labels_identical_to_sklearn(kind, index):
    case = make_case(kind, index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about unsorted CSR rows
        model = DBSCAN(eps=case.eps, min_samples=case.min_samples, metric=case.metric).fit(case.X)
    labels = rlcc.dbscan(case.X, case.eps, case.min_samples, metric=case.metric)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, model.labels_, err_msg=case.name)
    # the core flags agree as well, through every algorithm that takes the
    # case (1.5: auto, brute, and for euclidean the grid up to d = 5 and the tree)
    for algorithm in algorithms_for(case):
        labels, core, n_clusters, _ = rlcc.dbscan_with_stats(
            case.X, case.eps, case.min_samples, metric=case.metric, algorithm=algorithm)
        np.testing.assert_array_equal(labels, model.labels_, err_msg=f"{case.name} {algorithm}")
        np.testing.assert_array_equal(np.flatnonzero(core), model.core_sample_indices_)
        assert n_clusters == len(set(model.labels_) - {-1})
    TALLY[case.name] = (n_clusters, float(np.mean(labels == -1)) if len(labels) else 0.0,
                        shared_border(case, labels, model.core_sample_indices_))


def test_cases_are_hard_enough():
    """Most cases must have >= 3 clusters, >= 5% noise and a border point
    shared by two clusters; prints the tally."""
    total = sum(COUNTS.values())
    assert len(TALLY) == total, "run the whole module: the tally needs every case"
    many = sum(k >= 3 for k, _, _ in TALLY.values())
    noisy = sum(share >= 0.05 for _, share, _ in TALLY.values())
    shared = sum(s for _, _, s in TALLY.values())
    all_three = sum(k >= 3 and share >= 0.05 and s for k, share, s in TALLY.values())
    dbscan_cases.TALLY_LINE = (
        f"dbscan oracle tally over {total} cases: >=3 clusters {many}, >=5% noise {noisy}, "
        f"border points shared by two clusters {shared}, all three {all_three}")
    assert many > total / 2
    assert noisy > total / 2
    assert shared > total / 2
    assert all_three > total / 2
