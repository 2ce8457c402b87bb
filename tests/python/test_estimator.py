"""rlcc.DBSCAN passes scikit-learn's own estimator checks and gives the
labels sklearn.cluster.DBSCAN gives; every public name is documented."""

import inspect
import pickle
import unittest
import warnings

import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SklearnDBSCAN
from sklearn.utils.estimator_checks import check_estimator

import rlcc

CHECKS = list(check_estimator(rlcc.DBSCAN(), generate_only=True))


def check_name(check):
    return getattr(check, "func", check).__name__


@pytest.mark.parametrize("estimator,check", CHECKS, ids=[check_name(c) for _, c in CHECKS])
def test_sklearn_estimator_check(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            check(estimator)
        except unittest.SkipTest as skip:  # the one skip scikit-learn itself makes
            assert "pandas" in str(skip), skip
            pytest.skip(str(skip))


@pytest.mark.parametrize("metric,eps", [("euclidean", 0.8), ("cosine", 0.05)])
def test_same_labels_as_sklearn(metric, eps):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(500, 6)) + rng.integers(0, 4, size=(500, 1)) * 3).astype(np.float32)
    ours = rlcc.DBSCAN(eps=eps, min_samples=5, metric=metric).fit(X)
    theirs = SklearnDBSCAN(eps=eps, min_samples=5, metric=metric).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_array_equal(ours.core_sample_indices_, theirs.core_sample_indices_)
    np.testing.assert_array_equal(ours.components_, theirs.components_)
    assert ours.n_features_in_ == 6
    clone = pickle.loads(pickle.dumps(ours))
    np.testing.assert_array_equal(clone.labels_, ours.labels_)
    assert clone.get_params() == {"eps": eps, "min_samples": 5, "metric": metric, "n_threads": 0,
                                  "algorithm": "auto"}


def test_precomputed_sparse_and_fit_predict():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    D = np.linalg.norm(X[:, None] - X[None], axis=-1).astype(np.float32)
    model = rlcc.DBSCAN(eps=0.5, min_samples=4, metric="precomputed")
    np.testing.assert_array_equal(model.fit_predict(D),
                                  SklearnDBSCAN(eps=0.5, min_samples=4, metric="precomputed").fit(D).labels_)
    assert model.set_params(eps=0.6).eps == 0.6


def test_every_public_name_is_documented_and_typed():
    for name in rlcc.__all__:
        obj = getattr(rlcc, name)
        if name == "__version__":
            assert isinstance(obj, str)
            continue
        assert inspect.getdoc(obj), f"{name} has no docstring"
        if inspect.isfunction(obj):
            hints = obj.__annotations__
            assert "return" in hints, f"{name} has no return type hint"
            params = [p for p in inspect.signature(obj).parameters if p not in ("self",)]
            assert all(p in hints for p in params), f"{name} lacks parameter type hints"
