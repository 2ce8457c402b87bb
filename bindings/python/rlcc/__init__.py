"""rlcc - exact, fast pseudo labels for unsupervised re-identification.

Python bindings (ctypes + numpy) for librlcc. The shared library is found
through ``RLCC_LIBRARY`` (a path, tried alone), else the copy a wheel carries
(``rlcc/_lib/librlcc.so.1``), then the checkout's ``lib/librlcc.so.1``, then
the system by SONAME.

``rlcc.DBSCAN`` (a scikit-learn estimator) imports scikit-learn when it is
first used, not with the package. ``rlcc.distributed`` (the kNN, the pseudo
labels and the refiner over a torch.distributed group or an MPI
communicator) is imported on first use and imports torch or mpi4py only
inside its calls.
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
# 1.7 (#15 items 1, 4, 5): camera proxies, cross-agreement, eps from a quantile
from ._later import (CameraProxies, camera_proxies, cross_agreement, eps_from_quantile,
                     part_weights)
# k-means (issue #15 item 3)
from ._kmeans import KMeansResult, kmeans, kmeans_init_faiss
# 1.8: the block Jaccard (rows held in pieces) and pseudo labels of a graph
from ._block_jaccard import JaccardPlan, jaccard_rows, pseudo_labels_graph

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
    # 1.7 (#15 items 1, 4, 5)
    "camera_proxies",
    "CameraProxies",
    "cross_agreement",
    "part_weights",
    "eps_from_quantile",
    # k-means (issue #15 item 3)
    "kmeans",
    "kmeans_init_faiss",
    "KMeansResult",
    # InfoMap pseudo labels (issue #15 item 2)
    "infomap_pseudo_labels",
    "InfomapLabels",
    "infomap_links",
    "map_codelength",
    # 1.8: the block Jaccard
    "JaccardPlan",
    "jaccard_rows",
    "pseudo_labels_graph",
]


def __getattr__(name: str):
    # PEP 562: the estimator, and with it scikit-learn (most of the import
    # time when it was eager), is imported on first use of rlcc.DBSCAN.
    if name == "DBSCAN":
        from ._estimator import DBSCAN

        globals()["DBSCAN"] = DBSCAN
        return DBSCAN
    if name == "distributed":
        # the module imports neither torch nor mpi4py: each call imports
        # the one it uses
        import importlib

        return importlib.import_module(".distributed", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
