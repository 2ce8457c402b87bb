"""rlcc - exact, fast pseudo labels for unsupervised re-identification.

Python bindings (ctypes + numpy) for librlcc. The shared library is found
through ``RLCC_LIBRARY`` (a path), then the checkout's ``lib/librlcc.so.1``,
then the system by SONAME.
"""

from ._native import (Canceled, InvalidArgument, OutOfMemory, RLCCError, __version__,
                      library_version)
from ._dbscan import dbscan, dbscan_with_stats
from ._estimator import DBSCAN
from ._jaccard import jaccard_distance, knn
from ._rlcc import (Generation, PseudoLabels, Refiner, blend, centroids, class_probabilities,
                    consensus, propagate, pseudo_labels)

__all__ = [
    "__version__",
    "library_version",
    "RLCCError",
    "InvalidArgument",
    "OutOfMemory",
    "Canceled",
    "dbscan",
    "dbscan_with_stats",
    "DBSCAN",
    "knn",
    "jaccard_distance",
    "pseudo_labels",
    "PseudoLabels",
    "centroids",
    "consensus",
    "class_probabilities",
    "propagate",
    "blend",
    "Refiner",
    "Generation",
]
