"""Time scikit-learn's DBSCAN(algorithm="brute") on the features the C
benchmark wrote, and check that its labels equal librlcc's.

    sklearn_dbscan.py FEATURES.f32 N D EPS MIN_SAMPLES
Prints one line of key=value pairs.
"""

import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bindings" / "python"))

from sklearn.cluster import DBSCAN  # noqa: E402

import rlcc  # noqa: E402


def main():
    path, n, d, eps, min_samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(
        sys.argv[4]), int(sys.argv[5])
    X = np.fromfile(path, dtype=np.float32).reshape(n, d)
    start = time.perf_counter()
    labels = DBSCAN(eps=eps, min_samples=min_samples, algorithm="brute").fit(X).labels_
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    same = np.array_equal(labels, rlcc.dbscan(X, eps, min_samples))
    print(f"sklearn_s={seconds:.3f} sklearn_peak_rss_mb={peak_mb:.0f} identical_labels={same}")


if __name__ == "__main__":
    main()
