"""rlcc - exact, fast pseudo labels for unsupervised re-identification.

Python bindings (ctypes + numpy) for librlcc. The shared library is found
through ``RLCC_LIBRARY`` (a path, tried alone), else the copy a wheel carries
(``rlcc/_lib/librlcc.so.1``), then the checkout's ``lib/librlcc.so.1``, then
the system by SONAME.

``rlcc.DBSCAN`` (a scikit-learn estimator) imports scikit-learn when it is
first used, not with the package.
"""

from ._native import (Canceled, InvalidArgument, OutOfMemory, RLCCError, __version__,
                      library_version)
from ._dbscan import dbscan, dbscan_with_stats
from ._jaccard import jaccard_distance, knn
from ._knn_state import KnnState
# InfoMap pseudo labels (issue #15 item 2)
from ._infomap import InfomapLabels, infomap_links, infomap_pseudo_labels, map_codelength
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
    "KnnState",
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
    # InfoMap pseudo labels (issue #15 item 2)
    "infomap_pseudo_labels",
    "InfomapLabels",
    "infomap_links",
    "map_codelength",
]


def __getattr__(name: str):
    # PEP 562: the estimator, and with it scikit-learn (most of the import
    # time when it was eager), is imported on first use of rlcc.DBSCAN.
    if name == "DBSCAN":
        from ._estimator import DBSCAN

        globals()["DBSCAN"] = DBSCAN
        return DBSCAN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
