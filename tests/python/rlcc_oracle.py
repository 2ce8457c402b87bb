"""A NumPy oracle of the spec's sections 3 and 4 (outliers, reliability,
centroids, consensus, propagation, blending, the generation loop), written
from the text, independent of librlcc."""

import numpy as np


def singletons(labels):
    labels = labels.copy()
    k = labels.max() + 1 if (labels >= 0).any() else 0
    for i in np.flatnonzero(labels == -1):
        labels[i] = k
        k += 1
    return labels


def _dissimilarity(a, b):
    out = np.empty(len(a), dtype=np.float32)
    for i in range(len(a)):
        sa, sb = a == a[i], b == b[i]
        inter, union = np.sum(sa & sb), np.sum(sa | sb)
        out[i] = np.float32(1) - np.float32(inter) / np.float32(union)
    return out


def reliability(tight, normal, loose, threshold=None, guard=True):
    """SpCL's criterion on singleton-policy labels; returns (labels, threshold)."""
    comp, indep = _dissimilarity(normal, tight), _dissimilarity(normal, loose)
    k = normal.max() + 1
    sizes = np.bincount(normal, minlength=k)
    min_comp = np.array([comp[normal == c].min() for c in range(k)], dtype=np.float32)
    min_indep = np.array([indep[normal == c].min() for c in range(k)], dtype=np.float32)
    if threshold is None:
        multi = np.sort(min_indep[sizes > 1])
        m = len(multi)
        threshold = 0.0 if m == 0 else float(multi[min(m - 1, int(np.round(0.9 * m)))])
    labels = normal.copy()
    remaining = sizes.copy()
    next_label = k
    for i in range(len(labels)):
        c = normal[i]
        keep = min_indep[c] <= threshold and comp[i] <= min_comp[c]
        if keep or (guard and remaining[c] == 1):
            continue
        remaining[c] -= 1
        labels[i] = next_label
        next_label += 1
    return labels, threshold


def centroids(X, labels, k):
    out = np.zeros((k, X.shape[1]), dtype=np.float64)
    for c in range(k):
        members = X[labels == c].astype(np.float64)
        if len(members):
            mean = members.mean(0)
            norm = np.linalg.norm(mean)
            out[c] = mean / norm if norm > 0 else 0
    return out.astype(np.float32)


def consensus(prev, cur, k_prev, k_cur, kind="iou", normalize="sum"):
    both = (prev >= 0) & (cur >= 0)
    p, c = prev[both], cur[both]
    inter = np.zeros((k_prev, k_cur), dtype=np.int64)
    np.add.at(inter, (p, c), 1)
    if kind == "count":
        C = inter.astype(np.float64)
    else:
        size_p = np.bincount(p, minlength=k_prev)[:, None]
        size_c = np.bincount(c, minlength=k_cur)[None, :]
        union = size_p + size_c - inter
        C = np.where(inter > 0, inter / np.maximum(union, 1), 0.0)
    if normalize == "sum":
        sums = C.sum(1, keepdims=True)
        C = np.where(sums > 0, C / np.where(sums > 0, sums, 1), 0)
    elif normalize == "softmax":
        e = np.exp(C - C.max(1, keepdims=True))
        C = e / e.sum(1, keepdims=True)
    return C


def softmax_rows(Z):
    Z = Z - Z.max(1, keepdims=True)
    e = np.exp(Z)
    return e / e.sum(1, keepdims=True)


def onehot(labels, k):
    out = np.zeros((len(labels), k))
    rows = np.flatnonzero(labels >= 0)
    out[rows, labels[rows]] = 1
    return out


def propagate(prev_labels, C, P, w, beta):
    k_prev = C.shape[0]
    hard = onehot(prev_labels, k_prev) @ C
    if P is None:
        return hard
    soft = (w * onehot(prev_labels, k_prev) + (1 - w) * P) @ C
    return beta * hard + (1 - beta) * soft


def blend(cur, S, alpha):
    T = alpha * onehot(cur, S.shape[1]) + (1 - alpha) * S
    T[cur < 0] = 0
    return T


def generation_targets(t, X, labels, prev_labels, prev_centroids, alpha=0.9, w=0.9, beta=0.0,
                       scale=30.0):
    """Targets of generation t (0-based) of the refiner's loop."""
    k = labels.max() + 1
    if t == 0:
        return onehot(labels, k)
    C = consensus(prev_labels, labels, prev_labels.max() + 1, k)
    P = softmax_rows(scale * X.astype(np.float64) @ prev_centroids.T.astype(np.float64))
    S = propagate(prev_labels, C, P, w if t >= 2 else 0.0, beta)
    return blend(labels, S, alpha)
