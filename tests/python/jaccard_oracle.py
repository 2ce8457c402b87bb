"""A NumPy oracle of the k-reciprocal Jaccard distance, written from the
spec (shared/spec/pseudo-labels.md, section 1) the way the trainers compute
it: dense N x N matrices and Python loops. Independent of librlcc."""

import numpy as np


def brute_knn(X, k):
    """k nearest rows by squared Euclidean distance in double precision,
    ties by ascending index; returns (indices, squared distances)."""
    X64 = np.asarray(X, dtype=np.float64)
    sq = (X64 * X64).sum(1)
    D = np.maximum(sq[:, None] + sq[None, :] - 2 * X64 @ X64.T, 0)
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), D.shape), D), axis=1)[:, :k]
    return order, np.take_along_axis(D, order, 1)


def _reciprocal(R, i, k):
    """recip(i, k): entries of R[i][:p] whose R[j][:p] holds i, p = min(k+1, k1)."""
    p = min(k + 1, R.shape[1])
    forward = R[i, :p]
    backward = R[forward, :p]
    return forward[np.where(backward == i)[0]]


def jaccard(X, R, k1, k2, variant="dot", weights="numpy"):
    """The dense N x N float32 Jaccard distance given neighbour lists R.

    weights="numpy" (the default): the step-4 distances from X64 @ and
    np.exp, the spec's formulas as a trainer writes them (equal to
    librlcc's to about 1e-7). weights="fixed": librlcc's own order since
    1.3 (fixed_oracle.py: the dot products in eight lanes, its exp, the
    squared norms summed in ascending column order, the softmax sum in
    ascending column order), which gives librlcc's bytes."""
    if weights not in ("numpy", "fixed"):
        raise ValueError(f"weights: {weights!r} is not 'numpy' or 'fixed'")
    fixed = weights == "fixed"
    if fixed:
        import fixed_oracle
    X64 = np.asarray(X, dtype=np.float64)
    R = np.asarray(R)
    N = len(X64)
    h = int(np.round(k1 / 2))  # numpy rounds half to even: 30 -> 15, 25 -> 12
    V = np.zeros((N, N), dtype=np.float32)
    sq = fixed_oracle.row_norms(X) if fixed else (X64 * X64).sum(1)
    for i in range(N):
        A = _reciprocal(R, i, k1)
        expansion = list(A)
        for c in A:
            Bc = _reciprocal(R, c, h)
            if 3 * len(np.intersect1d(Bc, A)) > 2 * len(Bc):
                expansion.extend(Bc)
        E = np.unique(np.array(expansion, dtype=np.int64))
        if len(E) == 0:
            continue
        if fixed:
            dot = fixed_oracle.dot_fixed(X64[E], X64[i])
        else:
            dot = X64[E] @ X64[i]
        d = 2 - 2 * dot if variant == "dot" else sq[i] + sq[E] - 2 * dot
        if fixed:
            w = fixed_oracle.exp_fixed(d.min() - d)
            total = np.cumsum(w)[-1]  # one accumulator, ascending columns
        else:
            w = np.exp(d.min() - d)
            total = w.sum()
        V[i, E] = (w / total).astype(np.float32)
    if k2 != 1:
        Q = np.zeros_like(V)
        for i in range(N):
            acc = np.zeros(N, dtype=np.float32)
            for m in range(k2):  # sequential float32 sum, then one divide
                acc = acc + V[R[i, m]]
            Q[i] = acc / np.float32(k2)
        V = Q
    inverted = [np.where(V[:, c] != 0)[0] for c in range(N)]
    dist = np.zeros((N, N), dtype=np.float32)
    for i in range(N):
        shared = np.zeros(N, dtype=np.float32)
        for c in np.where(V[i] != 0)[0]:  # ascending columns
            rows = inverted[c]
            shared[rows] = shared[rows] + np.minimum(V[i, c], V[rows, c])
        dist[i] = np.float32(1) - shared / (np.float32(2) - shared)
    dist[dist < 0] = 0
    return dist
