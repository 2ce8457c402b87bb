"""An independent NumPy float64 implementation of librlcc's k-means promise
(spec: later-methods.md section 3, "Library promise"; issue #15 item 3),
written from the text, not from src/kmeans.c:

  E  each row goes to the centroid with the smallest squared distance of
     the float32 values in double (librlcc's one summation order:
     fixed_oracle.sqdist_fixed), ties to the lowest index;
  M  empty clusters (ascending id) take the rows farthest from their own
     centroid (distance descending, the higher row first at equal
     distance); a centroid is the double sum of its members in sample order
     over the count, rounded to float32; a cluster emptied by that move
     takes the mean of x (double, sample order, rounded);
  stop when the labels repeat (strict), or the summed squared centroid
     shift <= tol x mean per-feature variance, or after max_iter steps;
     unless strict, one more E step; n_iter as scikit-learn.

Every double operation is one IEEE operation in the library's order
(sequential sums via cumsum / add.at, which add in index order), so the
results are the same bits. The trace records, per E step, the gap between
each row's best and second-best distance, and per M step the empty
clusters, for the tests that compare with scikit-learn (whose arithmetic
differs at near-ties, and whose order of several empty clusters in one
step is NumPy's argpartition's).
"""

import numpy as np

from fixed_oracle import sqdist_fixed


def _seq_sum(values, axis=0):
    """Sum in index order (np.sum is pairwise)."""
    if values.shape[axis] == 0:
        return np.zeros(np.delete(values.shape, axis), dtype=np.float64)
    return np.cumsum(values, axis=axis, dtype=np.float64).take(-1, axis=axis)


def distances(x, c):
    """n x k matrix of sqdist_fixed(x_i, c_j)."""
    return sqdist_fixed(x[:, None, :], c[None, :, :])


def assign(x, c, gaps=None):
    dist = distances(x, c)
    labels = np.argmin(dist, axis=1).astype(np.int32)  # first minimum: lowest index
    if gaps is not None and c.shape[0] > 1:
        part = np.sort(dist, axis=1)
        gaps.append(part[:, 1] - part[:, 0])
    return labels


def update(x, c_old, labels, mean32, empties=None):
    n, d = x.shape
    k = c_old.shape[0]
    count = np.bincount(labels, minlength=k).astype(np.int64)
    member = labels.copy()
    empty = np.flatnonzero(count == 0)
    if empties is not None:
        empties.append(len(empty))
    if empty.size:
        far = sqdist_fixed(x, c_old[labels])
        order = np.lexsort((-np.arange(n), -far))  # distance desc, then row desc
        for e, j in enumerate(empty):
            f = order[e]
            count[labels[f]] -= 1
            count[j] += 1
            member[f] = j
    sums = np.zeros((k, d), dtype=np.float64)
    np.add.at(sums, member, x.astype(np.float64))  # row by row, in sample order
    out = np.empty((k, d), dtype=np.float32)
    full = count > 0
    out[full] = (sums[full] / count[full][:, None].astype(np.float64)).astype(np.float32)
    out[~full] = mean32
    return out


def tolerance(x, tol):
    x64 = x.astype(np.float64)
    n, d = x.shape
    mean = _seq_sum(x64, 0) / float(n)
    dev = x64 - mean
    var = _seq_sum(dev * dev, 0) / float(n)
    mean32 = mean.astype(np.float32)
    if tol == 0.0:
        return 0.0, mean32
    return float(_seq_sum(var, 0)) / float(d) * tol, mean32


def kmeans(x, init, max_iter=300, tol=1e-4, trace=False):
    """(labels int32, centroids float32, n_iter[, trace]); trace: a dict of
    per-step lists, "gaps" (per E step, each row's second-best minus best
    distance), "empties" (per M step, the clusters found empty), "shifts"
    (per step, the summed squared shift), "bounds" (tol x variance) and
    "strict" (the last step repeated the labels: its shift decided nothing)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    c = np.array(init, dtype=np.float32)
    tol_abs, mean32 = tolerance(x, tol)
    gaps = [] if trace else None
    empties = [] if trace else None
    shifts = []
    prev = None
    strict = False
    it = 0
    while it < max_iter:
        labels = assign(x, c, gaps)
        c_new = update(x, c, labels, mean32, empties)
        shift = float(_seq_sum(sqdist_fixed(c_new, c), 0))
        if trace:
            shifts.append(shift)
        c = c_new
        if it > 0 and np.array_equal(labels, prev):
            strict = True
            break
        if shift <= tol_abs:
            break
        prev = labels
        it += 1
    n_iter = it + 1 if it < max_iter else max_iter
    if not strict:
        labels = assign(x, c, gaps)
    if trace:
        return labels, c, n_iter, {"gaps": gaps, "empties": empties, "shifts": shifts,
                                   "bounds": [tol_abs] * len(shifts), "strict": strict}
    return labels, c, n_iter


# ---- faiss's start (faiss 1.6 - 1.7.x) ------------------------------------

class MT19937:
    """std::mt19937, from its definition (Matsumoto and Nishimura 1998)."""

    def __init__(self, seed):
        self.mt = [0] * 624
        self.mt[0] = seed & 0xFFFFFFFF
        for i in range(1, 624):
            self.mt[i] = (1812433253 * (self.mt[i - 1] ^ (self.mt[i - 1] >> 30)) + i) & 0xFFFFFFFF
        self.index = 624

    def __call__(self):
        if self.index >= 624:
            for i in range(624):
                y = (self.mt[i] & 0x80000000) | (self.mt[(i + 1) % 624] & 0x7FFFFFFF)
                self.mt[i] = self.mt[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.index = 0
        y = self.mt[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y & 0xFFFFFFFF


def rand_perm(n, seed):
    """faiss::rand_perm: Fisher-Yates, j = i + mt() % (n - i)."""
    perm = list(range(n))
    mt = MT19937(seed & 0xFFFFFFFF)
    for i in range(n - 1):
        j = i + mt() % (n - i)
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


def faiss_start(n, k, seed=1234, max_points_per_centroid=256):
    """(start_rows, train_rows) of faiss.Kmeans(d, k, seed=seed).train on n rows."""
    cap = max_points_per_centroid * k
    if n > cap:
        train = rand_perm(n, seed)[:cap]
    else:
        train = np.arange(n, dtype=np.int64)
    if len(train) == k:  # faiss copies the first k rows of x
        return np.arange(k, dtype=np.int64), train
    return train[rand_perm(len(train), seed + 1)[:k]], train
