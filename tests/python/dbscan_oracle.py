"""A NumPy oracle of the spec's section 2 (DBSCAN with scikit-learn's
semantics), written from the text, independent of librlcc and of
scikit-learn: neighbourhoods from the exact distances, then the labelling
loop as the spec gives it."""

import numpy as np


def label(neighbours, min_samples):
    """DBSCAN labels and core flags of a neighbourhood matrix (``(n, n)``
    bool, row i holds i's neighbourhood, directed): core points have at
    least ``min_samples`` neighbours; for i = 0..n-1 in order, an unlabelled
    core point labels everything density-reachable from it (expanding only
    through core points) with the next cluster number; the rest is -1."""
    n = len(neighbours)
    core = neighbours.sum(1) >= min_samples
    labels = np.full(n, -1, dtype=np.int64)
    cluster = 0
    for i in range(n):
        if labels[i] != -1 or not core[i]:
            continue
        labels[i] = cluster
        stack = [i]
        while stack:
            p = stack.pop()
            if core[p]:
                for q in np.flatnonzero(neighbours[p] & (labels == -1)):
                    labels[q] = cluster
                    stack.append(q)
        cluster += 1
    return labels, core


def euclidean_neighbours(X, eps):
    """``dist(i, j) <= eps`` for float32 rows, the squared distances summed
    in double: exact for the small binary fractions the tests use (and off
    by far less than their gap to eps otherwise)."""
    X64 = np.asarray(X, dtype=np.float32).astype(np.float64)
    diff = X64[:, None, :] - X64[None, :, :]
    return (diff * diff).sum(-1) <= eps * eps


def precomputed_neighbours(D, eps):
    """A dense float32 distance matrix, compared with eps rounded to
    float32, as scikit-learn compares precomputed float32 input."""
    return np.asarray(D, dtype=np.float32) <= np.float32(eps)


def sparse_neighbours(matrix, eps):
    """Stored entries ``<= (float)eps``; a missing diagonal counts as a
    stored 0 (scikit-learn's ``setdiag(diagonal())``)."""
    n = matrix.shape[0]
    out = np.zeros((n, n), dtype=bool)
    stored = np.zeros((n, n), dtype=bool)
    coo = matrix.tocoo()
    out[coo.row, coo.col] = np.asarray(coo.data, dtype=np.float32) <= np.float32(eps)
    stored[coo.row, coo.col] = True
    missing = ~stored[np.arange(n), np.arange(n)]
    out[np.arange(n)[missing], np.arange(n)[missing]] = True
    return out
