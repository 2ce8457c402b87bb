"""NumPy references of the trainer lines docs/integrations.md replaces for the
methods after RLCC (shared/spec/later-methods.md): what CAP, ICE, O2CAP, PPLR,
OpenUnReID's k-means generator, Cluster Contrast's InfoMap script and MMT /
DomainAdaptiveReID compute there, written here from the behaviour of those
lines (not copied from them), independent of librlcc.

Each function computes what the trainer's lines leave behind, with the same
NumPy or torch arithmetic where the doc promises the same bytes."""

import numpy as np
import torch
import torch.nn.functional as F


# ---- faiss's k-means start: rand_perm over std::mt19937 -----------------------------------

class MT19937:
    """std::mt19937 seeded with one 32-bit value (init_genrand)."""

    def __init__(self, seed):
        self.state = [seed & 0xFFFFFFFF]
        for i in range(1, 624):
            prev = self.state[-1]
            self.state.append((1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF)
        self.index = 624

    def _twist(self):
        s = self.state
        for i in range(624):
            y = (s[i] & 0x80000000) | (s[(i + 1) % 624] & 0x7FFFFFFF)
            s[i] = s[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
        self.index = 0

    def __call__(self):
        if self.index >= 624:
            self._twist()
        y = self.state[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        return y ^ (y >> 18)


def rand_perm(n, seed):
    """faiss::rand_perm: identity, then for i < n - 1 swap i with i + mt() % (n - i)."""
    perm = list(range(n))
    mt = MT19937(seed)
    for i in range(n - 1):
        j = i + mt() % (n - i)
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


def faiss_start_rows(n, k, seed=1234, max_points_per_centroid=256):
    """faiss.Kmeans(...).train's first centroids, as rows of the n inputs:
    above max_points_per_centroid x k rows it trains on the first that many of
    rand_perm(n, seed); the start is the training rows at rand_perm(n_train,
    seed + 1)[:k]."""
    train = np.arange(n, dtype=np.int64)
    if n > max_points_per_centroid * k:
        train = rand_perm(n, seed)[:max_points_per_centroid * k]
    return train[rand_perm(len(train), seed + 1)[:k]]


# ---- camera-aware proxies --------------------------------------------------------------

def camera_major(labels, cameras, X):
    """CAP / ICE: cameras ascending, clusters ascending inside each. Returns
    (proxy of every sample, proxy clusters, proxy cameras, one float32 block of
    centroids per camera in np.unique(cameras)): each centroid the NumPy
    float32 mean of its members, each block divided by its rows' float32
    np.linalg.norm."""
    labels, cameras = np.asarray(labels), np.asarray(cameras)
    X = np.asarray(X, dtype=np.float32)
    proxy = np.full(len(labels), -1, dtype=np.int64)
    clusters, cams, blocks = [], [], []
    for cam in np.unique(cameras):
        means = []
        for c in np.unique(labels[(cameras == cam) & (labels >= 0)]):
            members = np.flatnonzero((cameras == cam) & (labels == c))
            proxy[members] = len(clusters)
            clusters.append(int(c))
            cams.append(int(cam))
            means.append(np.mean(X[members], axis=0))
        block = np.array(means, dtype=np.float32).reshape(len(means), X.shape[1])
        blocks.append(block / np.linalg.norm(block, axis=1, keepdims=True))
    return proxy, np.array(clusters, dtype=np.int64), np.array(cams, dtype=np.int64), blocks


def cluster_major(labels, cameras, X):
    """O2CAP / PPLR's camera variant: clusters ascending, cameras ascending
    inside each. Returns (proxy of every sample, proxy clusters, proxy cameras,
    centroids): torch's mean(0) of the members, then F.normalize, as they do."""
    labels, cameras = np.asarray(labels), np.asarray(cameras)
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    proxy = np.full(len(labels), -1, dtype=np.int64)
    clusters, cams, means = [], [], []
    for c in np.unique(labels[labels >= 0]):
        for cam in np.unique(cameras[labels == c]):
            members = np.flatnonzero((labels == c) & (cameras == cam))
            proxy[members] = len(clusters)
            clusters.append(int(c))
            cams.append(int(cam))
            means.append(X[torch.from_numpy(members)].mean(0))
    centroids = (F.normalize(torch.stack(means), dim=1).numpy() if means
                 else np.zeros((0, X.shape[1]), dtype=np.float32))
    return proxy, np.array(clusters, dtype=np.int64), np.array(cams, dtype=np.int64), centroids


def class_means_torch(X, labels, k):
    """PPLR / MMT / Cluster Contrast's class centroids: torch mean(0) per label
    0 .. k-1, then F.normalize."""
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    means = [X[torch.from_numpy(np.flatnonzero(labels == c))].mean(0) for c in range(k)]
    return F.normalize(torch.stack(means), dim=1).numpy()


# ---- PPLR's cross-agreement ------------------------------------------------------------

def ranked_lists(X, k):
    """k + 1 nearest rows by squared L2 (exact, in double; ties by the lower
    index), position 0 dropped: PPLR's compute_ranked_list with a faiss that
    breaks ties by index."""
    X64 = np.asarray(X, dtype=np.float64)
    D = ((X64[:, None, :] - X64[None, :, :]) ** 2).sum(2)
    idx = np.broadcast_to(np.arange(len(X64)), D.shape)
    order = np.lexsort((idx, D), axis=1)
    return order[:, 1:k + 1]


def cross_agreement(G, parts, k):
    """score[i, p] = |R_g(i) & R_p(i)| / |R_g(i) | R_p(i)|, integer counts,
    one float32 divide; parts an N x D x P array."""
    parts = np.asarray(parts)
    Rg = ranked_lists(G, k)
    score = np.zeros((len(Rg), parts.shape[2]), dtype=np.float32)
    for p in range(parts.shape[2]):
        Rp = ranked_lists(parts[:, :, p], k)
        for i in range(len(Rg)):
            inter = len(set(Rg[i].tolist()) & set(Rp[i].tolist()))
            union = len(set(Rg[i].tolist()) | set(Rp[i].tolist()))
            score[i, p] = np.float32(inter) / np.float32(union)
    return score


def softmax_double(S):
    """Softmax over each row in double, rounded to float32 once."""
    S = np.asarray(S, dtype=np.float64)
    e = np.exp(S - S.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).astype(np.float32)


# ---- eps from a distance quantile ------------------------------------------------------

def eps_quantile(D, rho):
    """The strict upper triangle without exact zeros, sorted; the NumPy mean of
    its round-half-even(rho x count) smallest values, in D's dtype."""
    values = D[np.triu_indices(len(D), 1)]
    values = np.sort(values[values != 0])
    top = int(np.round(rho * values.size))
    return values[:top].mean()


# ---- Cluster Contrast's InfoMap labels given a partition -------------------------------

def infomap_links(X, k, min_sim):
    """The kNN lists (k entries, self included, by (1 - sim, index) with the
    float32 distance sqdist / 2) and the directed links i -> j while the
    distance is <= 1 - min_sim, weight 1 - distance; returns (src, dst,
    weight, singles)."""
    X64 = np.asarray(X, dtype=np.float64)
    dist = (((X64[:, None, :] - X64[None, :, :]) ** 2).sum(2) / 2).astype(np.float32)
    idx = np.broadcast_to(np.arange(len(X64)), dist.shape)
    order = np.lexsort((idx, dist), axis=1)[:, :k]
    src, dst, weight, singles = [], [], [], []
    for i in range(len(X64)):
        count = 0
        for j in order[i]:
            if j == i:
                continue
            d = float(dist[i, j])
            if d > 1 - min_sim:
                break
            src.append(i)
            dst.append(int(j))
            weight.append(1 - d)
            count += 1
        if count == 0:
            singles.append(i)
    return np.array(src), np.array(dst), np.array(weight), singles


def infomap_flow(n, src, dst, weight, alpha=0.15):
    """Node flow under Infomap 1.x's directed model: teleportation to links
    (rate proportional to out-weight), unrecorded; power iteration as
    later-methods.md section 2 step 5."""
    W = weight.sum()
    out = np.bincount(src, weights=weight, minlength=n)
    inw = np.bincount(dst, weights=weight, minlength=n)
    tau = out / W
    P = weight / out[src]
    dangling = out == 0
    p = (out + inw) / (2 * W)
    err_prev = np.inf
    for step in range(200):
        d = p[dangling].sum()
        new = (alpha + (1 - alpha) * d) * tau + (1 - alpha) * np.bincount(
            dst, weights=p[src] * P, minlength=n)
        err = np.abs(new - p).sum()
        last = new
        total = new.sum()
        p = new / total if abs(total - 1) > 1e-10 else new
        if abs(err - err_prev) < 1e-15:
            alpha += 1e-10
        err_prev = err
        if step + 1 >= 50 and err <= 1e-15:
            break
    d = last[dangling].sum()
    link_flow = last[src] * P / (1 - d)
    return np.bincount(dst, weights=link_flow, minlength=n)


def cluster_contrast_labels(n, modules_by_flow, singles, cluster_num):
    """What cluster_by_infomap builds from the search's tree: module m (in flow
    order) gives its leaves label m; the samples in no link then get labels
    M, M + 1, ... in ascending order; labels with <= cluster_num members go to
    -1; the rest are renumbered in the order a Python set of them iterates
    (ascending for the small sets of these tests). Returns int labels."""
    groups = {m: list(leaves) for m, leaves in enumerate(modules_by_flow)}
    for s in singles:
        groups[len(groups)] = [s]
    label = {}
    kept = set()
    for g, members in groups.items():
        for i in members:
            label[i] = g if len(members) > cluster_num else -1
        if len(members) > cluster_num:
            kept.add(g)
    renumber = {old: new for new, old in enumerate(kept)}
    out = np.full(n, -1, dtype=np.int64)
    for i, g in label.items():
        out[i] = renumber[g] if g != -1 else -1
    return out


def modules_by_flow(modules, nodes, flow):
    """The caller's partition restricted to the network's nodes, as lists of
    members, ordered by module flow descending (ties by smallest member)."""
    groups = {}
    for v in sorted(nodes):
        groups.setdefault(int(modules[v]), []).append(v)
    ranked = sorted(groups.values(), key=lambda m: (-sum(flow[v] for v in m), min(m)))
    return ranked, [sum(flow[v] for v in m) for m in ranked]
