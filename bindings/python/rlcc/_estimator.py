"""``rlcc.DBSCAN``: a scikit-learn estimator whose labels are librlcc's
(identical to ``sklearn.cluster.DBSCAN``'s), passing scikit-learn's own
estimator checks."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from . import _native as native
from ._dbscan import dbscan_with_stats


class DBSCAN(ClusterMixin, BaseEstimator):
    """DBSCAN with librlcc: the same interface and labels as
    ``sklearn.cluster.DBSCAN`` for ``metric`` in ``"euclidean"``,
    ``"cosine"`` and ``"precomputed"`` (dense or sparse), computed in
    float32 at close to the speed of one Gram matrix, or on a grid or a
    kd-tree for low-dimensional features. ``algorithm`` takes ``"auto"``
    (default), ``"brute"``, ``"grid"`` or ``"kd_tree"``, as
    :func:`rlcc.dbscan`; every choice gives the same labels.

    Attributes after ``fit``: ``labels_``, ``core_sample_indices_``,
    ``components_``, ``n_features_in_``.
    """

    def __init__(self, eps: float = 0.5, min_samples: int = 5, metric: str = "euclidean",
                 n_threads: int = 0, algorithm: str = "auto"):
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.n_threads = n_threads
        self.algorithm = algorithm

    def fit(self, X: Any, y: Optional[Any] = None) -> "DBSCAN":
        """Cluster ``X`` (features, or distances with ``metric="precomputed"``)."""
        sparse = "csr" if self.metric == "precomputed" else False
        if type(X).__module__.split(".")[0] == "torch":  # refuse grad / GPU tensors clearly
            X = native.as_array(X, "X")
        X = self._validate_data(X, accept_sparse=sparse, dtype=[np.float32, np.float64])
        labels, core, _, _ = dbscan_with_stats(X, self.eps, self.min_samples,
                                               metric=self.metric, n_threads=self.n_threads,
                                               algorithm=self.algorithm, want_stats=False)
        self.labels_ = labels.astype(np.intp)
        self.core_sample_indices_ = np.flatnonzero(core)
        self.components_ = X[self.core_sample_indices_].copy()
        return self

    def fit_predict(self, X: Any, y: Optional[Any] = None) -> np.ndarray:
        """``fit(X)`` and return ``labels_``."""
        return self.fit(X).labels_

    def _more_tags(self):
        return {"pairwise": self.metric == "precomputed"}
