"""The clustering step the way the trainers run it today, for comparison:
faiss CPU kNN, the k-reciprocal Jaccard distance in dense NumPy (three
N x N float32 matrices and Python loops, as SpCL, Cluster Contrast and
OpenUnReID compute it), and scikit-learn's DBSCAN on the dense result at
eps 0.58, 0.60 and 0.62.

    reference_pipeline.py FEATURES.f32 N D [LABELS.i32]

Prints key=value pairs; with LABELS.i32 (librlcc's labels at eps 0.60)
also whether the labels agree.
"""

import resource
import sys
import time

import faiss
import numpy as np
from sklearn.cluster import DBSCAN


def reciprocal(ranks, i, k):
    forward = ranks[i, :k + 1]
    backward = ranks[forward, :k + 1]
    return forward[np.where(backward == i)[0]]


def jaccard_dense(X, ranks, k1=30, k2=6):
    """k-reciprocal re-ranking as the trainers write it, with float32 math."""
    N = X.shape[0]
    V = np.zeros((N, N), dtype=np.float32)
    for i in range(N):
        expansion = reciprocal(ranks, i, k1 - 1)  # k1 entries with self
        base = expansion
        for candidate in base:
            candidates = reciprocal(ranks, candidate, int(np.around(k1 / 2)))
            if len(np.intersect1d(candidates, base)) > 2 / 3 * len(candidates):
                expansion = np.append(expansion, candidates)
        expansion = np.unique(expansion)
        dist = 2 - 2 * (X[expansion] @ X[i])
        weight = np.exp(dist.min() - dist)
        V[i, expansion] = weight / weight.sum()
    if k2 != 1:
        expanded = np.zeros_like(V)
        for i in range(N):
            expanded[i] = np.mean(V[ranks[i, :k2], :], axis=0)
        V = expanded
    inverted = [np.where(V[:, i] != 0)[0] for i in range(N)]
    dist = np.zeros((N, N), dtype=np.float32)
    for i in range(N):
        shared = np.zeros((1, N), dtype=np.float32)
        columns = np.where(V[i, :] != 0)[0]
        for column in columns:
            rows = inverted[column]
            shared[0, rows] += np.minimum(V[i, column], V[rows, column])
        dist[i] = 1 - shared / (2 - shared)
    dist[dist < 0] = 0
    return dist


def main():
    path, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    X = np.fromfile(path, dtype=np.float32).reshape(n, d)
    start = time.perf_counter()
    index = faiss.IndexFlatL2(d)
    index.add(X)
    _, ranks = index.search(X, 30)
    knn_s = time.perf_counter() - start
    start = time.perf_counter()
    dist = jaccard_dense(X, ranks)
    jaccard_s = time.perf_counter() - start
    start = time.perf_counter()
    labels = {}
    for eps in (0.58, 0.60, 0.62):
        labels[eps] = DBSCAN(eps=eps, min_samples=4, metric="precomputed", n_jobs=-1).fit(dist).labels_
    dbscan_s = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = (f"ref_knn_s={knn_s:.2f} ref_jaccard_s={jaccard_s:.2f} ref_dbscan3_s={dbscan_s:.2f} "
            f"ref_pipeline_s={knn_s + jaccard_s + dbscan_s:.2f} ref_peak_rss_mb={peak:.0f} "
            f"ref_clusters={labels[0.60].max() + 1}")
    if len(sys.argv) > 4:
        ours = np.fromfile(sys.argv[4], dtype=np.int32)
        line += f" same_labels={np.array_equal(ours, labels[0.60])}"
    print(line)


if __name__ == "__main__":
    main()
