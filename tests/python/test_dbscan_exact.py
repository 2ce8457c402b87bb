"""The DBSCAN contract on euclidean features (rlcc.h, docs/precision.md):
librlcc's labels are those of the exact DBSCAN of the float32 rows, on
every algorithm, including where scikit-learn's float32 arithmetic is the
one that errs: rows with a large common offset (2^20 plus the finest
float32 grid there) and subnormal rows. The oracle decides every pair in
exact rational arithmetic, then labels the exact neighbour graph with
scikit-learn's precomputed DBSCAN (exact on a 0/1 matrix)."""

from fractions import Fraction

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

import rlcc

MIN_SAMPLES = 3


def exact_labels(X, eps):
    rows = [[Fraction(float(v)) for v in row] for row in X]
    eps2 = Fraction(eps * eps)  # eps^2 rounded to double, as the contract decides
    n = len(rows)
    far = np.ones((n, n))
    for i in range(n):
        for j in range(i, n):
            d2 = sum((a - b) ** 2 for a, b in zip(rows[i], rows[j]))
            if d2 <= eps2:
                far[i, j] = far[j, i] = 0.0
    return DBSCAN(eps=0.5, min_samples=MIN_SAMPLES, metric="precomputed").fit(far).labels_


def grid_case(seed, d, base, step):
    """40 rows on a grid of `step` at `base`, and eps on a grid distance
    (exact ties at eps)."""
    rng = np.random.default_rng(seed)
    X = (base + rng.integers(0, 5, size=(40, d)) * step).astype(np.float32)
    units = (X.astype(np.float64) - base) / step
    assert np.array_equal(units, np.round(units))  # every row exactly on the grid
    eps = float(step * np.sqrt(rng.integers(1, 3 * d)))
    return X, eps


CASES = [("offset", seed, d, 2.0 ** 20, 0.125) for seed in range(4) for d in (2, 8, 32)] + \
        [("subnormal", seed, d, 0.0, 2.0 ** -140) for seed in range(4) for d in (2, 8)]


@pytest.mark.parametrize("kind,seed,d,base,step", CASES)
def test_labels_are_the_exact_dbscan_of_the_float32_rows(kind, seed, d, base, step):
    X, eps = grid_case(seed, d, base, step)
    want = exact_labels(X, eps)
    algorithms = ["auto", "brute", "kd_tree"] + (["grid"] if d <= 5 else [])
    for algorithm in algorithms:
        got = rlcc.dbscan(X, eps, MIN_SAMPLES, algorithm=algorithm)
        assert np.array_equal(got, want), (kind, algorithm)
