"""A NumPy oracle of InfoMap pseudo labels (spec later-methods.md section 2,
steps 1, 2, 4 and 5), written from the text, independent of librlcc:

- step 1: the exact kNN lists of fixed_oracle (self included), distance
  float32(D) / 2 (1 - sim for unit rows); ``normalize``: a copy scaled by
  1 / sqrt(sum of squares, ascending);
- step 2: the links, i ascending, j == i skipped, while double(dist) <=
  1 - min_sim (and the weight 1 - dist > 0), the row stopped at the first
  failure;
- step 5: Infomap 1.x's directed flow (teleportation to links, unrecorded,
  alpha 0.15) and the two-level codelength, every sum in the order the
  library documents (sequential, so the bits can be compared): links by
  (source, target), repeats added in input order; nodes dangling first;
  modules by smallest member;
- step 4: labels from a partition.

Sums run through np.cumsum and np.add.at, which add in order; logarithms
through math.log2 (the C library's log2), not NumPy's own kernels.
"""

import math

import numpy as np

import fixed_oracle


def plogp(x):
    return x * math.log2(x) if x > 0.0 else 0.0


def seq_sum(values, start=0.0):
    """start + v0 + v1 + ... in this order."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return float(start)
    return float(np.cumsum(np.concatenate([[start], values]))[-1])


def normalised(X):
    X = np.asarray(X, dtype=np.float32)
    norm2 = fixed_oracle.row_norms(X)
    scale = 1.0 / np.sqrt(norm2)
    return (X.astype(np.float64) * scale[:, None]).astype(np.float32)


def knn_lists(X, k, normalize=False):
    """Step 1: (indices (n, k) int64, distances (n, k) float32)."""
    if normalize:
        X = normalised(X)
    idx, sq = fixed_oracle.knn_fixed(X, k)
    return idx, (sq / np.float32(2)).astype(np.float32)


def links(idx, dist, min_sim):
    """Step 2: (src, dst, weight) in the order they are added."""
    limit = 1.0 - float(min_sim)
    src, dst, w = [], [], []
    for i in range(idx.shape[0]):
        for r in range(idx.shape[1]):
            j = int(idx[i, r])
            if j == i:
                continue
            d = float(dist[i, r])
            weight = 1.0 - d
            if not (d <= limit and weight > 0.0):
                break
            src.append(i)
            dst.append(j)
            w.append(weight)
    return (np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64),
            np.array(w, dtype=np.float64))


class Network:
    """Infomap's network of a link list and its flow (step 5)."""

    def __init__(self, src, dst, weight):
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        weight = np.asarray(weight, dtype=np.float64)
        self.ids = np.unique(np.concatenate([src, dst]))
        where = {int(v): u for u, v in enumerate(self.ids)}
        merged = {}
        for s, t, w in zip(src.tolist(), dst.tolist(), weight.tolist()):
            key = (where[s], where[t])
            merged[key] = merged[key] + w if key in merged else w
        keys = sorted(merged)
        self.s = np.array([a for a, _ in keys], dtype=np.int64)
        self.t = np.array([b for _, b in keys], dtype=np.int64)
        self.w = np.array([merged[key] for key in keys], dtype=np.float64)
        self.n = len(self.ids)
        if self.n:
            self._flow()

    def _flow(self):
        n, s, t, w = self.n, self.s, self.t, self.w
        has_out = np.zeros(n, dtype=bool)
        has_out[s] = True
        order = np.concatenate([np.flatnonzero(~has_out), np.flatnonzero(has_out)])
        n_dangling = int((~has_out).sum())
        W = seq_sum(w)
        undirected = 2.0 * W
        p = np.zeros(n)
        both = np.empty(2 * len(s), dtype=np.int64)
        both[0::2], both[1::2] = s, t
        np.add.at(p, both, np.repeat(w / undirected, 2))
        out = np.zeros(n)
        np.add.at(out, s, w)
        tau = np.zeros(n)
        np.add.at(tau, s, w / W)
        P = w / out[s]
        alpha, beta, error, dangling = 0.15, 0.85, 0.0, 0.0
        iterations = 0
        while True:
            old_error = error
            dangling = seq_sum(p[order[:n_dangling]])
            teleport = alpha + beta * dangling
            tmp = teleport * tau
            np.add.at(tmp, t, beta * P * p[s])
            diff = seq_sum(tmp[order], -1.0)
            error = seq_sum(np.abs(tmp[order] - p[order]))
            p = tmp.copy()
            if abs(diff) > 1.0e-10:
                p = p / (diff + 1.0)
            if abs(error - old_error) < 1e-15:
                alpha += 1.0e-10
                beta = 1.0 - alpha
            iterations += 1
            if not (iterations < 200 and (error > 1.0e-15 or iterations < 50)):
                break
        rank = 1.0 - dangling
        flow = np.zeros(n)
        np.add.at(flow, t, P * tmp[s] / rank)
        self.flow = flow
        self.link_flow = P * (1.0 * tmp[s] / rank)

    def codelength(self, module_of_id):
        """The two-level codelength; module_of_id maps a caller id to its
        module (any ints >= 0). Also returns the compact module of each
        network node and each module's flow."""
        if self.n == 0:
            return 0.0, np.zeros(0, dtype=np.int64), np.zeros(0)
        raw = np.array([int(module_of_id[int(v)]) for v in self.ids], dtype=np.int64)
        # modules in the order of their smallest member
        first_seen = {}
        for v in raw.tolist():
            first_seen.setdefault(v, len(first_seen))
        mod = np.array([first_seen[v] for v in raw.tolist()], dtype=np.int64)
        M = len(first_seen)
        mf = np.zeros(M)
        np.add.at(mf, mod, self.flow)
        cross = mod[self.s] != mod[self.t]
        mx = np.zeros(M)
        me = np.zeros(M)
        np.add.at(mx, mod[self.s][cross], self.link_flow[cross])
        np.add.at(me, mod[self.t][cross], self.link_flow[cross])
        flow_log_flow = seq_sum([plogp(a + b) for a, b in zip(mf.tolist(), mx.tolist())])
        enter_log_enter = seq_sum([plogp(v) for v in me.tolist()])
        exit_log_exit = seq_sum([plogp(v) for v in mx.tolist()])
        enter = seq_sum(me)
        node_log_node = seq_sum([plogp(v) for v in self.flow.tolist()])
        index = plogp(enter) - enter_log_enter - 0.0
        module = -exit_log_exit + flow_log_flow - node_log_node
        return index + module, mod, mf


def codelength(src, dst, weight, modules):
    return Network(src, dst, weight).codelength(modules)[0]


def labels(n, src, dst, weight, modules, cluster_num):
    """Step 4 from a partition (modules: one int >= 0 per sample): returns
    (labels int32, n_classes, codelength)."""
    net = Network(src, dst, weight)
    L, mod, mf = net.codelength(modules)
    M = len(mf)
    first = np.full(M, -1, dtype=np.int64)
    for u in range(net.n):
        if first[mod[u]] < 0:
            first[mod[u]] = net.ids[u]
    ranked = sorted(range(M), key=lambda m: (-mf[m], first[m]))
    rank = {m: r for r, m in enumerate(ranked)}
    label0 = np.full(n, -1, dtype=np.int64)
    for u in range(net.n):
        label0[net.ids[u]] = rank[mod[u]]
    nxt = M
    for i in range(n):
        if label0[i] < 0:
            label0[i] = nxt
            nxt += 1
    counts = np.bincount(label0, minlength=nxt)
    survivors = [c for c in range(nxt) if counts[c] > cluster_num]  # ascending
    new = {c: r for r, c in enumerate(survivors)}
    out = np.array([new.get(int(c), -1) for c in label0], dtype=np.int32)
    return out, len(survivors), L
