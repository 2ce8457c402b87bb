"""NumPy oracles of later-methods.md sections 1, 4 and 5 (camera-aware
proxies and their centroids, PPLR's cross-agreement, eps from a distance
quantile), written from the spec text, independent of librlcc: plain loops
and NumPy, no shared code with the library or the binding."""

import numpy as np

F32 = np.float32


# ---- section 1: camera-aware proxies ------------------------------------------

def proxies(labels, cameras, order):
    """(proxy id per sample, cluster per proxy, camera per proxy): a proxy is
    a (cluster, camera) pair with a member; camera-major numbers cameras
    ascending then clusters ascending inside each camera (CAP, ICE);
    cluster-major: clusters ascending, then cameras inside each (O2CAP,
    PPLR). Noise (-1) has no proxy."""
    labels = np.asarray(labels, dtype=np.int64)
    cameras = np.asarray(cameras, dtype=np.int64)
    proxy = np.full(len(labels), -1, dtype=np.int64)
    cluster_of, camera_of = [], []
    kept = labels >= 0
    if order == "camera":
        outer, inner = cameras, labels
    else:
        outer, inner = labels, cameras
    for a in sorted(set(outer[kept].tolist())):
        in_a = kept & (outer == a)
        for b in sorted(set(inner[in_a].tolist())):
            members = in_a & (inner == b)
            proxy[members] = len(cluster_of)
            if order == "camera":
                cluster_of.append(b)
                camera_of.append(a)
            else:
                cluster_of.append(a)
                camera_of.append(b)
    return proxy, np.array(cluster_of, dtype=np.int64), np.array(camera_of, dtype=np.int64)


def _float32_mean(rows):
    """The float32 mean of the spec: the sum sequential in row order (from
    0), one float32 divide by the count."""
    acc = np.zeros(rows.shape[1], dtype=F32)
    for r in rows:
        acc = (acc + r).astype(F32)
    return (acc / F32(len(rows))).astype(F32)


def centroids(x, ids, m, norm):
    """M x D centroids of the samples with ids 0..m-1 (-1 takes no part):
    the float32 mean, then
      norm="double":  the squares summed in double in column order,
                      scale = 1 / sqrt(sum), each value float32(v * scale);
      norm="float32": CAP's and ICE's NumPy expression,
                      means / np.linalg.norm(means, axis=1, keepdims=True)
                      (float32 throughout);
    a zero mean (norm 0) stays zero."""
    x = np.asarray(x, dtype=F32)
    out = np.zeros((m, x.shape[1]), dtype=F32)
    for c in range(m):
        rows = x[ids == c]
        if len(rows):
            out[c] = _float32_mean(rows)
    if norm == "float32":
        nrm = np.linalg.norm(out, axis=1, keepdims=True)  # float32, NumPy's own reduce
        with np.errstate(invalid="ignore", divide="ignore"):
            res = (out / nrm).astype(F32)
        res[(nrm[:, 0] == 0)] = 0
        return res
    for c in range(m):
        row = out[c].astype(np.float64)
        s = 0.0
        for v in row:
            s += v * v
        scale = 1.0 / np.sqrt(s) if s > 0 else 0.0
        out[c] = (row * scale).astype(F32)
    return out


# ---- section 4: PPLR's cross-agreement ----------------------------------------

def sqdist(x):
    """Squared Euclidean distances in double from the float32 rows."""
    x = np.asarray(x, dtype=np.float64)
    diff = x[:, None, :] - x[None, :, :]
    return (diff * diff).sum(2)


def ranked_lists(x, k, exclude_self=False):
    """R(i) for every row: order the rows by (distance, index) with
    d(i, i) = 0, take the k + 1 first and drop position 0 (PPLR); with
    exclude_self: the k first rows other than i."""
    d = sqdist(x)
    n = len(d)
    out = []
    for i in range(n):
        order = sorted(range(n), key=lambda j: (d[i, j], j))
        if exclude_self:
            out.append([j for j in order if j != i][:k])
        else:
            out.append(order[:k + 1][1:])
    return out


def cross_agreement(g, parts, k, exclude_self=False):
    """score[i][p] = |R_g(i) & R_p(i)| / |R_g(i) | R_p(i)| with integer
    counts and one float32 divide."""
    rg = ranked_lists(g, k, exclude_self)
    out = np.zeros((len(rg), len(parts)), dtype=F32)
    for p, part in enumerate(parts):
        rp = ranked_lists(part, k, exclude_self)
        for i in range(len(rg)):
            a, b = set(rg[i]), set(rp[i])
            out[i, p] = F32(len(a & b)) / F32(len(a | b))
    return out


def part_weights(scores):
    """softmax over the parts of each row, in double, rounded to float32."""
    s = np.asarray(scores, dtype=np.float64)
    e = np.exp(s - s.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).astype(F32)


# ---- section 5: eps from a quantile ----------------------------------------------

def pairwise_sum(v):
    """NumPy's float32 pairwise summation as the spec gives it: fewer than
    8 values sequentially; at most 128 in 8 interleaved accumulators
    combined ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the tail
    sequentially; else split at n/2 rounded down to a multiple of 8."""
    v = np.asarray(v, dtype=F32)
    n = len(v)
    if n < 8:
        res = F32(0)
        for t in v:
            res = F32(res + t)
        return res
    if n <= 128:
        r = [F32(t) for t in v[:8]]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] = F32(r[j] + v[i + j])
            i += 8
        res = F32(F32(F32(r[0] + r[1]) + F32(r[2] + r[3])) + F32(F32(r[4] + r[5]) + F32(r[6] + r[7])))
        for t in v[i:]:
            res = F32(res + t)
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return F32(pairwise_sum(v[:n2]) + pairwise_sum(v[n2:]))


NUMPY_BUFSIZE = 8192


def numpy_sum(v):
    """np.sum of a float32 vector: NumPy's reduction calls the pairwise
    loop on at most its buffer size (8192) values at a time and adds the
    blocks' sums sequentially, from 0 (found by measurement; the spec's
    text gives the pairwise part)."""
    acc = F32(0)
    for at in range(0, len(v), NUMPY_BUFSIZE):
        acc = F32(acc + pairwise_sum(v[at:at + NUMPY_BUFSIZE]))
    return acc


def selection(values, rho):
    """The sorted nonzero values and top = round-half-even(rho x count)
    (the product in double); None when top is 0."""
    vals = np.sort(np.asarray(values, dtype=F32)[np.asarray(values) != 0])
    top = int(np.round(float(rho) * float(len(vals))))
    return (vals, top) if top > 0 else (vals, None)


def eps_from_values(values, rho, summation):
    vals, top = selection(values, rho)
    if top is None:
        return None
    sel = vals[:top]
    if summation == "numpy":
        return float(F32(float(numpy_sum(sel)) / float(top)))
    s = 0.0
    for t in sel:
        s += float(t)
    return float(F32(s / top))


def upper_values(dist):
    """The strict upper triangle's entries of a dense matrix."""
    d = np.asarray(dist, dtype=F32)
    i, j = np.triu_indices(len(d), 1)
    return d[i, j]


def eps_dense(dist, rho, summation="numpy"):
    return eps_from_values(upper_values(dist), rho, summation)


def sparse_upper(n, rows, cols, vals):
    """The strict upper triangle of a sparse matrix whose missing entries
    are 1.0: stored (i < j) values, the missing ones as 1.0. Returns the
    values and the number of stored nonzero values <= 1 and of missing."""
    full = np.ones((n, n), dtype=F32)
    stored = np.zeros((n, n), dtype=bool)
    full[rows, cols] = vals
    stored[rows, cols] = True
    i, j = np.triu_indices(n, 1)
    v, s = full[i, j], stored[i, j]
    at_most_one = int(((v != 0) & (v <= 1) & s).sum())
    return v, at_most_one, int((~s).sum())


def eps_sparse(n, rows, cols, vals, rho, summation="numpy"):
    """(eps or None, refused): refused when the selection would need a
    missing entry, i.e. top exceeds the stored nonzero values <= 1 while
    some entry is missing."""
    v, at_most_one, missing = sparse_upper(n, rows, cols, vals)
    _, top = selection(v, rho)
    if top is None:
        return None, False
    if missing > 0 and top > at_most_one:
        return None, True
    return eps_from_values(v, rho, summation), False
