"""Generated DBSCAN cases for the scikit-learn oracle tests.

Each case is built from a seed: clusters of varied size and spread, uniform
background noise, and "bridge" points planted between pairs of clusters
(within eps of a core point of each, with too few neighbours to be core
themselves), so that border points claimed by two clusters are common.

For float features eps is moved off every pairwise distance by more than
1e-6 (relative): that is librlcc's contract with scikit-learn. Integer
features and precomputed matrices keep exact ties at eps on purpose: there
every computation is exact and labels must match even at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial.distance import cdist

KINDS = ("euclidean", "cosine", "integer", "dense", "csr")


@dataclass
class Case:
    name: str
    kind: str
    X: object  # features, dense distances, or a scipy.sparse matrix
    eps: float
    min_samples: int
    metric: str  # what both librlcc and scikit-learn are told


def _clustered_points(rng, n, d):
    k = int(rng.integers(3, 9))
    noise_share = rng.uniform(0.06, 0.15)
    n_noise = max(1, int(round(noise_share * n))) if n >= 10 else int(n > 3)
    n_clustered = n - n_noise
    centres = rng.uniform(-10, 10, size=(k, d))
    spread = rng.uniform(0.4, 1.0, size=k)
    sizes = rng.multinomial(n_clustered, rng.dirichlet(np.ones(k) * 3)) if n_clustered else np.zeros(k, int)
    parts = [centres[c] + rng.normal(size=(sizes[c], d)) * spread[c] for c in range(k)]
    parts.append(rng.uniform(-12, 12, size=(n_noise, d)))
    X = np.concatenate(parts) if parts else np.zeros((0, d))
    return X, centres, spread


def _plant_bridges(rng, X, eps, min_samples, metric):
    """For up to three pairs of clusters: move the second cluster until its
    closest core point is 1.8 eps from the first's (never closer than eps,
    so they stay apart), then put a point midway. That point is within
    0.9 eps of a core point of each cluster; it is kept only if it has too
    few neighbours to be core itself. Returns the new X."""
    if len(X) < 20 or min_samples < 4:
        return X
    from sklearn.cluster import DBSCAN

    model = DBSCAN(eps=eps, min_samples=min_samples, metric=metric).fit(X)
    labels = model.labels_
    core = np.zeros(len(X), bool)
    core[model.core_sample_indices_] = True
    clusters = [c for c in np.unique(labels) if c >= 0]
    X = X.copy()
    bridges = []
    for a, b in zip(clusters[0::2], clusters[1::2]):
        if len(bridges) == 3:
            break
        in_a, in_b = np.flatnonzero(labels == a), np.flatnonzero(labels == b)
        core_a, core_b = in_a[core[in_a]], in_b[core[in_b]]
        dist = cdist(X[core_a], X[core_b], metric=metric)
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        if metric == "euclidean":
            gap = X[core_a[i]] - X[core_b[j]]
            shift = gap * (1 - 1.8 * eps / np.linalg.norm(gap))
            moved = X[in_b] + shift
            if cdist(X[in_a], moved).min() <= 1.2 * eps:
                continue  # the clusters would touch: leave them
            others = np.setdiff1d(np.arange(len(X)), np.concatenate([in_a, in_b]))
            if len(others) and cdist(X[others], moved).min() <= 1.2 * eps:
                continue
            X[in_b] = moved
        elif dist[i, j] > 1.9 * eps:
            continue  # cosine: only bridge directions that are already close
        mid = (X[core_a[i]] + X[core_b[j]]) / 2
        if metric == "cosine":
            mid = mid / np.linalg.norm(mid) * np.linalg.norm(X[core_a[i]])
        if (cdist(mid[None], X, metric=metric)[0] <= eps).sum() + 1 < min_samples:
            bridges.append(mid)
    if not bridges:
        return X
    X = np.concatenate([X, np.array(bridges)])
    return X[rng.permutation(len(X))]  # bridges anywhere in index order


def _off_every_distance(X, eps, metric):
    """eps moved into a gap of the pairwise distances, so float rounding
    cannot flip any comparison: 1e-6 relative for euclidean, 1e-6 absolute
    for cosine (1 - cos is formed by a subtraction from 1, so its float32
    error is absolute, about 1e-7, however small the distance)."""
    if len(X) < 2:
        return eps
    dist = np.unique(cdist(X.astype(np.float64), X.astype(np.float64), metric=metric).ravel())
    tolerance = 2e-6 * (1.0 if metric == "cosine" else eps)
    if not (np.abs(dist - eps) <= tolerance).any():
        return eps
    # the midpoint of the gap wide enough that lies closest to eps
    wide = np.flatnonzero(np.diff(dist) > 2.5 * tolerance)
    middles = (dist[wide] + dist[wide + 1]) / 2
    return float(middles[np.argmin(np.abs(middles - eps))])


def _pick_eps(rng, X, min_samples, metric):
    """eps near a quantile of the min_samples-th neighbour distance, which
    keeps most points in clusters and leaves the background as noise."""
    k = min(min_samples, len(X)) - 1
    dist = np.sort(cdist(X, X, metric=metric), axis=1)[:, k]
    return float(np.quantile(dist, rng.uniform(0.55, 0.8))) or 0.5


def _n_for(rng, index):
    if index % 30 == 0:
        return int(rng.integers(1, 4))  # tiny: 1 to 3 points
    if index % 10 == 5:
        return int(rng.integers(1000, 3001))
    return int(rng.integers(20, 401))


def make_case(kind: str, index: int) -> Case:
    rng = np.random.default_rng(1000 * KINDS.index(kind) + index)
    n = _n_for(rng, index)
    min_samples = int(rng.integers(1, 11)) if index % 7 == 0 else int(rng.integers(4, 10))
    d = int(rng.choice([2, 3, 5, 8, 16]))
    metric = "cosine" if kind == "cosine" else "euclidean"

    if kind == "integer":  # halves: small exact binary fractions, ties stay exact
        X = np.round(_clustered_points(rng, n, d)[0] * 3) / 2
        eps = float(rng.integers(1, 4))  # ties at eps are everywhere on a grid
        X = np.round(_plant_bridges(rng, X, eps, min_samples, "euclidean") * 2) / 2
        return Case(f"integer-{index}", kind, X.astype(np.float32), eps, min_samples, "euclidean")

    X = _clustered_points(rng, n, d)[0]
    if metric == "cosine":
        X = X + rng.normal(size=d) * 0.5  # keep directions varied, no zero rows
    X = X.astype(np.float32).astype(np.float64)
    eps = _pick_eps(rng, X, min_samples, metric) if n > 1 else 0.5
    X = _plant_bridges(rng, X, eps, min_samples, metric).astype(np.float32)
    if kind in ("euclidean", "cosine"):
        eps = _off_every_distance(X, eps, metric)
        return Case(f"{kind}-{index}", kind, X, eps, min_samples, metric)

    # Precomputed: float32 distances quantised to 1/64 so that many equal
    # eps exactly, made asymmetric here and there, with a varied diagonal.
    n = len(X)  # bridges were added
    D = cdist(X.astype(np.float64), X.astype(np.float64))
    D = np.round(D * 64) / 64
    if n > 1:
        flip = rng.random(D.shape) < 0.02
        D[flip] += rng.choice([-1, 1], size=flip.sum()) / 64
        D = np.abs(D)
    diag = np.zeros(n)
    odd = rng.random(n) < 0.1
    diag[odd] = rng.uniform(0, 2 * eps, size=odd.sum())
    np.fill_diagonal(D, np.round(diag * 64) / 64)
    eps = float(np.round(eps * 64) / 64) or 1 / 64
    D = D.astype(np.float32)
    if kind == "dense":
        return Case(f"dense-{index}", kind, D, eps, min_samples, "precomputed")
    # CSR: keep entries up to a cut-off above eps; drop some diagonals (a
    # missing diagonal counts as 0); sometimes shuffle column order.
    keep = D <= eps * rng.uniform(1.0, 1.5)
    drop_diag = rng.random(n) < 0.3
    keep[np.arange(n), np.arange(n)] &= ~drop_diag
    indptr, indices = [0], []
    for i in range(n):
        cols = np.flatnonzero(keep[i])
        if index % 3 == 0:
            cols = rng.permutation(cols)  # unsorted rows: the binding sorts a copy
        indices.extend(cols)
        indptr.append(len(indices))
    indices = np.array(indices, dtype=np.int32)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    csr = sp.csr_matrix((D[rows, indices], indices, np.array(indptr)), shape=(n, n))
    return Case(f"csr-{index}", kind, csr, eps, min_samples, "precomputed")


# Set by the oracle test module once every case has run; printed at the end.
TALLY_LINE = ""

# 300 cases: the share of each kind of input.
COUNTS = {"euclidean": 80, "cosine": 60, "integer": 30, "dense": 65, "csr": 65}


def all_cases():
    for kind, count in COUNTS.items():
        for index in range(count):
            yield kind, index
