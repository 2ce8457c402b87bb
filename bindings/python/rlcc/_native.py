"""Loading librlcc, declaring its C signatures, and turning error codes into
exceptions. Everything here is private; the public names live in
``rlcc/__init__.py``."""

from __future__ import annotations

import ctypes
import os
from typing import Any
from pathlib import Path

#: The librlcc version this package was written against (MAJOR.MINOR.PATCH).
#: The loaded library must have the same MAJOR and at least this MINOR.
__version__ = "1.8.0"

SONAME = "librlcc.so.1"


class RLCCError(Exception):
    """Base class of every error librlcc reports."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class InvalidArgument(RLCCError, ValueError):
    """An argument was refused: NULL, out of range, NaN/inf, bad shape."""


class OutOfMemory(RLCCError, MemoryError):
    """An allocation failed, or the work exceeds the caller's max_bytes."""


class Canceled(RLCCError):
    """A callback asked librlcc to stop."""


#: RLCC_STATE_FORMAT: the latest checkpoint format version this package's
#: librlcc (1.7) writes (DBSCAN refiners are still written in format 1), and
#: the latest it reads.
STATE_FORMAT = 2

# Pinned codes from rlcc.h; they never change meaning.
OK = 0
E_INVALID_ARGUMENT = -1
E_OUT_OF_MEMORY = -2
E_MEMORY_LIMIT = -3
E_CANCELED = -4
E_CALLBACK = -5

_EXCEPTION_FOR_CODE = {
    E_INVALID_ARGUMENT: InvalidArgument,
    E_OUT_OF_MEMORY: OutOfMemory,
    E_MEMORY_LIMIT: OutOfMemory,
    E_CANCELED: Canceled,
}


_PACKAGE = Path(__file__).resolve().parent

#: Where a wheel built by ``setup.py`` carries the library (with its own
#: OpenBLAS, libomp, ... renamed beside it, found through ``$ORIGIN``).
VENDORED = _PACKAGE / "_lib" / SONAME


def _checkout():
    """The librlcc checkout this package is imported from
    (``<root>/bindings/python/rlcc``), or None."""
    if len(_PACKAGE.parents) < 3:
        return None
    root = _PACKAGE.parents[2]
    if (_PACKAGE.parent.name == "python" and _PACKAGE.parents[1].name == "bindings"
            and (root / "include" / "rlcc.h").is_file() and (root / "Makefile").is_file()):
        return root
    return None


def _candidates():
    """Where to look for the shared object, in order: (where, what to pass
    to dlopen, or None with the reason the place does not apply)."""
    explicit = os.environ.get("RLCC_LIBRARY")
    if explicit:  # an explicit choice is never silently replaced by another copy
        return [("RLCC_LIBRARY", explicit, None)]
    places = []
    if VENDORED.exists():
        places.append(("the wheel's copy", str(VENDORED), None))
    else:
        places.append(("the wheel's copy", None,
                       f"{VENDORED}: not there (this rlcc was not installed from a wheel "
                       "that carries the library)"))
    root = _checkout()
    if root is None:
        places.append(("the checkout's build", None,
                       f"{_PACKAGE} is not inside a librlcc checkout"))
    elif (root / "lib" / SONAME).exists():
        places.append(("the checkout's build", str(root / "lib" / SONAME), None))
    else:
        places.append(("the checkout's build", None,
                       f"{root / 'lib' / SONAME}: not built (run `make -C {root}`)"))
    places.append(("the system", SONAME, None))  # by SONAME: make install + ldconfig, a .deb
    return places


def _load():
    tried = []
    for where, target, skipped in _candidates():
        if skipped is not None:
            tried.append(f"  {where}: {skipped}")
            continue
        try:
            return ctypes.CDLL(target), target
        except OSError as exc:
            reason = str(exc)
            if reason.startswith(target + ": "):
                reason = reason[len(target) + 2:]
            tried.append(f"  {where}: {target}: {reason}")
    if os.environ.get("RLCC_LIBRARY"):
        fix = ("Fix: point RLCC_LIBRARY at a built librlcc.so.1, or unset it (when set, it "
               "is the only place tried) to use the wheel's copy, the checkout's lib/ or the "
               "system's.")
    else:
        fix = ("Fix: set RLCC_LIBRARY to the path of a built librlcc.so.1, install the rlcc "
               "wheel (`pip wheel bindings/python` in a checkout builds one that carries the "
               "library), or `make install` librlcc (then ldconfig).")
    raise ImportError(f"rlcc: cannot load {SONAME}; tried, in order:\n" + "\n".join(tried)
                      + "\n" + fix)


def _file_of(library, fallback: str) -> str:
    """The file a loaded library came from (dladdr of one of its symbols),
    for messages and for anyone asking which copy is in use."""

    class DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

    try:
        dladdr = ctypes.CDLL(None).dladdr
        dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
        info = DlInfo()
        symbol = ctypes.cast(library.rlcc_version_string, ctypes.c_void_p)
        if dladdr(symbol, ctypes.byref(info)) and info.dli_fname:
            return os.path.realpath(os.fsdecode(info.dli_fname))
    except (AttributeError, OSError):
        pass
    return fallback


lib, _loaded_as = _load()
#: The file librlcc was loaded from (symlinks resolved).
library_path = _file_of(lib, _loaded_as)

c_int64_p = ctypes.POINTER(ctypes.c_int64)
c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_uint8_p = ctypes.POINTER(ctypes.c_uint8)
c_float_p = ctypes.POINTER(ctypes.c_float)


class DbscanOptions(ctypes.Structure):
    """Mirror of ``rlcc_dbscan_options`` (1.5 layout: ``algorithm`` and
    ``reserved`` appended)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("metric", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
        ("algorithm", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
    ]


class DbscanStats(ctypes.Structure):
    """Mirror of ``rlcc_dbscan_stats`` (1.0 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("n_neighbor_pairs", ctypes.c_int64),
        ("n_core", ctypes.c_int64),
        ("n_noise", ctypes.c_int64),
        ("n_redecided", ctypes.c_int64),
        ("peak_bytes", ctypes.c_int64),
    ]


class KnnOptions(ctypes.Structure):
    """Mirror of ``rlcc_knn_options`` (1.1 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("n_threads", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


class KnnStats(ctypes.Structure):
    """Mirror of ``rlcc_knn_stats`` (1.3 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("n_updates", ctypes.c_int64),
        ("n_redecided", ctypes.c_int64),
        ("n_fallback_rows", ctypes.c_int64),
        ("peak_bytes", ctypes.c_int64),
    ]


class JaccardOptions(ctypes.Structure):
    """Mirror of ``rlcc_jaccard_options`` (1.1 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("k1", ctypes.c_int32),
        ("k2", ctypes.c_int32),
        ("variant", ctypes.c_int32),
        ("normalize", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("cutoff", ctypes.c_float),
        ("max_bytes", ctypes.c_int64),
    ]


class PseudoOptions(ctypes.Structure):
    """Mirror of ``rlcc_pseudo_options`` (1.7 layout: ``knn`` appended in
    1.3, ``method`` and ``reserved2`` in 1.4, the InfoMap and k-means
    fields in 1.7)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("metric", ctypes.c_int32),
        ("k1", ctypes.c_int32),
        ("k2", ctypes.c_int32),
        ("variant", ctypes.c_int32),
        ("normalize", ctypes.c_int32),
        ("outliers", ctypes.c_int32),
        ("reliability", ctypes.c_int32),
        ("guard", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("n_eps", ctypes.c_int32),
        ("cutoff", ctypes.c_float),
        ("reserved", ctypes.c_int32),
        ("eps", ctypes.c_double * 3),
        ("threshold", ctypes.c_double),
        ("min_samples", ctypes.c_int64),
        ("max_bytes", ctypes.c_int64),
        ("knn", ctypes.c_void_p),
        ("method", ctypes.c_int32),
        ("reserved2", ctypes.c_int32),
        # 1.7: the options of the InfoMap and k-means pseudo-labelers
        ("infomap_k", ctypes.c_int32),
        ("infomap_cluster_num", ctypes.c_int32),
        ("infomap_min_sim", ctypes.c_double),
        ("infomap_seed", ctypes.c_uint64),
        ("infomap_trials", ctypes.c_int32),
        ("kmeans_max_iter", ctypes.c_int32),
        ("kmeans_k", ctypes.c_int64),
        ("kmeans_tol", ctypes.c_double),
        ("kmeans_seed", ctypes.c_uint64),
        ("kmeans_max_points", ctypes.c_int64),
        ("kmeans_init", ctypes.c_void_p),
    ]


class RefinerOptions(ctypes.Structure):
    """Mirror of ``rlcc_refiner_options`` (1.2 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("alpha", ctypes.c_float),
        ("w", ctypes.c_float),
        ("beta", ctypes.c_float),
        ("scale", ctypes.c_float),
    ]


class CentroidOptions(ctypes.Structure):
    """Mirror of ``rlcc_centroid_options`` (1.7 layout: ``norm`` and
    ``reserved2`` appended to the 1.4 fields)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("n_threads", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
        ("norm", ctypes.c_int32),
        ("reserved2", ctypes.c_int32),
    ]


class ConsensusOptions(ctypes.Structure):
    """Mirror of ``rlcc_consensus_options`` (1.4 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("kind", ctypes.c_int32),
        ("normalize", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


class ProbabilityOptions(ctypes.Structure):
    """Mirror of ``rlcc_probability_options`` (1.4 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("scale", ctypes.c_float),
        ("n_threads", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


class PropagateOptions(ctypes.Structure):
    """Mirror of ``rlcc_propagate_options`` (1.4 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("w", ctypes.c_float),
        ("beta", ctypes.c_float),
        ("n_threads", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


class BlendOptions(ctypes.Structure):
    """Mirror of ``rlcc_blend_options`` (1.4 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("alpha", ctypes.c_float),
        ("n_threads", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


class TargetsOptions(ctypes.Structure):
    """Mirror of ``rlcc_targets_options`` (1.4 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("n_threads", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


class LoadOptions(ctypes.Structure):
    """Mirror of ``rlcc_load_options`` (1.6 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("n_threads", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


FEATURES_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                               ctypes.POINTER(ctypes.c_float), ctypes.c_int64, ctypes.c_void_p)
LOGITS_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                             ctypes.POINTER(ctypes.c_float), ctypes.c_int64, ctypes.c_void_p)
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int32, ctypes.c_double, ctypes.c_void_p)


class StepOptions(ctypes.Structure):
    """Mirror of ``rlcc_step_options`` (1.4 layout). The callbacks are
    ctypes function objects: whoever fills one keeps them alive for the
    call (the struct's own reference does too)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("batch", ctypes.c_int64),
        ("logits", LOGITS_FN),
        ("logits_data", ctypes.c_void_p),
        ("progress", PROGRESS_FN),
        ("progress_data", ctypes.c_void_p),
        ("borrow", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


def _declare(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_declare("rlcc_version_number", ctypes.c_uint)
_declare("rlcc_version_string", ctypes.c_char_p)
_declare("rlcc_strerror", ctypes.c_char_p, ctypes.c_int)
_declare("rlcc_last_error", ctypes.c_char_p)
_declare("rlcc_dbscan_options_init", ctypes.c_int, ctypes.POINTER(DbscanOptions), ctypes.c_size_t)
_declare("rlcc_dbscan_stats_init", ctypes.c_int, ctypes.POINTER(DbscanStats), ctypes.c_size_t)
_DBSCAN_TAIL = (
    ctypes.c_double,  # eps
    ctypes.c_int64,  # min_samples
    ctypes.POINTER(DbscanOptions),
    c_int32_p,  # labels
    c_int64_p,  # n_clusters
    c_uint8_p,  # core
    ctypes.POINTER(DbscanStats),
)
_declare("rlcc_dbscan_features", ctypes.c_int, c_float_p, ctypes.c_int64, ctypes.c_int64,
         ctypes.c_int64, *_DBSCAN_TAIL)
_declare("rlcc_dbscan_dense", ctypes.c_int, c_float_p, ctypes.c_int64, ctypes.c_int64,
         *_DBSCAN_TAIL)
_declare("rlcc_dbscan_csr", ctypes.c_int, ctypes.c_int64, c_int64_p, c_int32_p, c_float_p,
         *_DBSCAN_TAIL)


_declare("rlcc_knn_options_init", ctypes.c_int, ctypes.POINTER(KnnOptions), ctypes.c_size_t)
_declare("rlcc_knn", ctypes.c_int, c_float_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
         ctypes.c_int64, ctypes.POINTER(KnnOptions), c_int64_p, c_float_p)
_declare("rlcc_csr_rows", ctypes.c_int64, ctypes.c_void_p)
_declare("rlcc_csr_nnz", ctypes.c_int64, ctypes.c_void_p)
_declare("rlcc_csr_indptr", ctypes.c_void_p, ctypes.c_void_p)
_declare("rlcc_csr_indices", ctypes.c_void_p, ctypes.c_void_p)
_declare("rlcc_csr_data", ctypes.c_void_p, ctypes.c_void_p)
_declare("rlcc_csr_free", None, ctypes.c_void_p)
_declare("rlcc_jaccard_options_init", ctypes.c_int, ctypes.POINTER(JaccardOptions),
         ctypes.c_size_t)
_declare("rlcc_jaccard", ctypes.c_int, c_float_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
         c_int64_p, ctypes.POINTER(JaccardOptions), ctypes.POINTER(ctypes.c_void_p))
_declare("rlcc_jaccard_dense", ctypes.c_int, c_float_p, ctypes.c_int64, ctypes.c_int64,
         ctypes.c_int64, c_int64_p, ctypes.POINTER(JaccardOptions), c_float_p, ctypes.c_int64)


_i32, _i64, _f32, _f64 = ctypes.c_int32, ctypes.c_int64, ctypes.c_float, ctypes.c_double
_declare("rlcc_pseudo_options_init", ctypes.c_int, ctypes.POINTER(PseudoOptions), ctypes.c_size_t)
_declare("rlcc_pseudo_labels", ctypes.c_int, c_float_p, _i64, _i64, _i64,
         ctypes.POINTER(PseudoOptions), c_int32_p, c_int64_p, ctypes.POINTER(_f64))
_declare("rlcc_centroids", ctypes.c_int, c_float_p, _i64, _i64, _i64, c_int32_p, _i64, c_float_p,
         _i64)
_declare("rlcc_centroid_options_init", ctypes.c_int, ctypes.POINTER(CentroidOptions),
         ctypes.c_size_t)
_declare("rlcc_centroids_opts", ctypes.c_int, c_float_p, _i64, _i64, _i64, c_int32_p, _i64,
         ctypes.POINTER(CentroidOptions), c_float_p, _i64)
_declare("rlcc_consensus_counts", ctypes.c_int, c_int32_p, c_int32_p, _i64, _i64, _i64, c_int64_p,
         _i64)
_declare("rlcc_consensus", ctypes.c_int, c_int32_p, c_int32_p, _i64, _i64, _i64, _i32, _i32,
         c_float_p, _i64)
_declare("rlcc_consensus_csr", ctypes.c_int, c_int32_p, c_int32_p, _i64, _i64, _i64, _i32, _i32,
         ctypes.POINTER(ctypes.c_void_p))
_declare("rlcc_csr_cols", ctypes.c_int64, ctypes.c_void_p)
_declare("rlcc_consensus_options_init", ctypes.c_int, ctypes.POINTER(ConsensusOptions),
         ctypes.c_size_t)
_declare("rlcc_consensus_counts_opts", ctypes.c_int, c_int32_p, c_int32_p, _i64, _i64, _i64,
         ctypes.POINTER(ConsensusOptions), c_int64_p, _i64)
_declare("rlcc_consensus_opts", ctypes.c_int, c_int32_p, c_int32_p, _i64, _i64, _i64,
         ctypes.POINTER(ConsensusOptions), c_float_p, _i64)
_declare("rlcc_consensus_csr_opts", ctypes.c_int, c_int32_p, c_int32_p, _i64, _i64, _i64,
         ctypes.POINTER(ConsensusOptions), ctypes.POINTER(ctypes.c_void_p))
_declare("rlcc_class_probabilities", ctypes.c_int, c_float_p, _i64, _i64, _i64, c_float_p, _i64,
         _i64, _f32, c_int64_p, _i64, c_float_p, _i64, _i32)
_declare("rlcc_probability_options_init", ctypes.c_int, ctypes.POINTER(ProbabilityOptions),
         ctypes.c_size_t)
_declare("rlcc_class_probabilities_opts", ctypes.c_int, c_float_p, _i64, _i64, _i64, c_float_p,
         _i64, _i64, c_int64_p, _i64, ctypes.POINTER(ProbabilityOptions), c_float_p, _i64)
_declare("rlcc_propagate", ctypes.c_int, c_int32_p, _i64, c_int64_p, c_int32_p, c_float_p, _i64,
         _i64, c_float_p, _i64, _f32, _f32, c_int64_p, _i64, c_float_p, _i64)
_declare("rlcc_propagate_options_init", ctypes.c_int, ctypes.POINTER(PropagateOptions),
         ctypes.c_size_t)
_declare("rlcc_propagate_opts", ctypes.c_int, c_int32_p, _i64, c_int64_p, c_int32_p, c_float_p,
         _i64, _i64, c_float_p, _i64, c_int64_p, _i64, ctypes.POINTER(PropagateOptions),
         c_float_p, _i64)
_declare("rlcc_blend", ctypes.c_int, c_int32_p, _i64, _i64, c_float_p, _i64, _f32, c_int64_p,
         _i64, c_float_p, _i64)
_declare("rlcc_blend_options_init", ctypes.c_int, ctypes.POINTER(BlendOptions), ctypes.c_size_t)
_declare("rlcc_blend_opts", ctypes.c_int, c_int32_p, _i64, _i64, c_float_p, _i64, c_int64_p, _i64,
         ctypes.POINTER(BlendOptions), c_float_p, _i64)
_declare("rlcc_knn_stats_init", ctypes.c_int, ctypes.POINTER(KnnStats), ctypes.c_size_t)
_declare("rlcc_knn_state_new", ctypes.c_int, _i64, _i64, _i64, _i64, ctypes.POINTER(KnnOptions),
         ctypes.POINTER(ctypes.c_void_p))  # n_queries, query_offset, d, k, options, state
_declare("rlcc_knn_state_free", None, ctypes.c_void_p)
_declare("rlcc_knn_update", ctypes.c_int, ctypes.c_void_p, c_float_p, _i64, c_float_p, _i64, _i64,
         _i64)  # state, queries, ldq, refs, n_refs, ldr, ref_offset
_declare("rlcc_knn_merge", ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_declare("rlcc_knn_finish", ctypes.c_int, ctypes.c_void_p, c_int64_p, c_float_p)
_declare("rlcc_knn_state_stats", ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(KnnStats))


def _declare_optional(name, restype, *argtypes):
    """A function of a newer librlcc than the one this package requires:
    declared when the loaded library exports it, else ``None`` (the binding
    raises a clear error when it is used)."""
    if not hasattr(lib, name):
        return None
    return _declare(name, restype, *argtypes)


# 1.8: two blocks from one Gram block, and a block kNN state as bytes. The
# symbols sit in the RLCC_1.8 node; the library's version number may still
# say 1.7 while 1.8 is being released, so they are looked up, not version-gated.
HAS_KNN_BYTES = all(hasattr(lib, name) for name in (
    "rlcc_knn_update_pair", "rlcc_knn_state_save", "rlcc_knn_state_load"))
_declare_optional("rlcc_knn_update_pair", ctypes.c_int, ctypes.c_void_p, c_float_p, _i64,
                  ctypes.c_void_p, c_float_p, _i64)  # a, rows_a, lda, b, rows_b, ldb
_declare_optional("rlcc_knn_state_save", ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                  ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t))  # state, buffer, capacity, size
_declare_optional("rlcc_knn_state_load", ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
                  ctypes.POINTER(KnnOptions), ctypes.POINTER(ctypes.c_void_p))  # buffer, size,
# options, state


def require_knn_bytes(what: str) -> None:
    """Raises when the loaded librlcc predates 1.8's block kNN calls."""
    if not HAS_KNN_BYTES:
        raise RLCCError(E_INVALID_ARGUMENT,
                        f"{what}: needs librlcc 1.8 (rlcc_knn_update_pair, rlcc_knn_state_save, "
                        f"rlcc_knn_state_load); loaded {library_version()} from {library_path}")

# 1.8: the block Jaccard (rlcc_jaccard_plan_*, rlcc_jaccard_rows) and the
# pseudo labels of a graph. Looked up as the block kNN calls above are.
HAS_BLOCK_JACCARD = all(hasattr(lib, name) for name in (
    "rlcc_jaccard_plan_new", "rlcc_jaccard_plan_offer", "rlcc_jaccard_plan_weights",
    "rlcc_jaccard_plan_free", "rlcc_jaccard_rows", "rlcc_pseudo_labels_graph"))
_declare_optional("rlcc_jaccard_plan_new", ctypes.c_int, c_int64_p, _i64, _i64, _i64, _i64,
                  ctypes.POINTER(JaccardOptions),
                  ctypes.POINTER(ctypes.c_void_p))  # knn, n, row0, row1, d, options, plan
_declare_optional("rlcc_jaccard_plan_free", None, ctypes.c_void_p)
_declare_optional("rlcc_jaccard_plan_offer", ctypes.c_int, ctypes.c_void_p, c_float_p, _i64,
                  c_float_p, _i64, _i64, _i64)  # plan, rows, ldr, refs, n_refs, ldf, ref_offset
_declare_optional("rlcc_jaccard_plan_weights", ctypes.c_int, ctypes.c_void_p,
                  ctypes.POINTER(ctypes.c_void_p))  # plan, weights
_declare_optional("rlcc_jaccard_rows", ctypes.c_int, _i64, c_int64_p, c_int32_p, c_float_p,
                  c_int64_p, _i64, _i64, ctypes.POINTER(JaccardOptions),
                  ctypes.POINTER(ctypes.c_void_p))  # n, indptr, indices, data, knn, row0,
# row1, options, out
_declare_optional("rlcc_pseudo_labels_graph", ctypes.c_int, _i64, c_int64_p, c_int32_p,
                  c_float_p, ctypes.POINTER(PseudoOptions), c_int32_p, c_int64_p,
                  ctypes.POINTER(_f64))  # n, indptr, indices, data, options, labels,
# n_classes, threshold


def require_block_jaccard(what: str) -> None:
    """Raises when the loaded librlcc predates 1.8's block Jaccard calls."""
    if not HAS_BLOCK_JACCARD:
        raise RLCCError(E_INVALID_ARGUMENT,
                        f"{what}: needs librlcc 1.8 (rlcc_jaccard_plan_new, rlcc_jaccard_rows, "
                        f"rlcc_pseudo_labels_graph); loaded {library_version()} from "
                        f"{library_path}")


_declare("rlcc_refiner_options_init", ctypes.c_int, ctypes.POINTER(RefinerOptions),
         ctypes.c_size_t)
_declare("rlcc_refiner_new", ctypes.c_int, _i64, _i64, ctypes.POINTER(PseudoOptions),
         ctypes.POINTER(RefinerOptions), ctypes.POINTER(ctypes.c_void_p))
_declare("rlcc_refiner_free", None, ctypes.c_void_p)
_declare("rlcc_refiner_step", ctypes.c_int, ctypes.c_void_p, FEATURES_FN, ctypes.c_void_p, _i64,
         LOGITS_FN, ctypes.c_void_p, PROGRESS_FN, ctypes.c_void_p)
_declare("rlcc_step_options_init", ctypes.c_int, ctypes.POINTER(StepOptions), ctypes.c_size_t)
_declare("rlcc_refiner_step_opts", ctypes.c_int, ctypes.c_void_p, FEATURES_FN, ctypes.c_void_p,
         ctypes.POINTER(StepOptions))
_declare("rlcc_refiner_step_matrix", ctypes.c_int, ctypes.c_void_p, c_float_p, _i64,
         ctypes.POINTER(StepOptions))  # refiner, x, ldx, options
_declare("rlcc_refiner_bytes", _i64, ctypes.c_void_p)
_declare("rlcc_refiner_generation", _i64, ctypes.c_void_p)
_declare("rlcc_refiner_n_classes", _i64, ctypes.c_void_p)
_declare("rlcc_refiner_threshold", _f64, ctypes.c_void_p)
_declare("rlcc_refiner_labels", ctypes.c_int, ctypes.c_void_p, c_int32_p)
_declare("rlcc_refiner_centroids", ctypes.c_int, ctypes.c_void_p, c_float_p, _i64)
_declare("rlcc_refiner_set_knn", ctypes.c_int, ctypes.c_void_p, c_int64_p)
_declare("rlcc_refiner_targets", ctypes.c_int, ctypes.c_void_p, c_int64_p, _i64, c_float_p, _i64)
_declare("rlcc_targets_options_init", ctypes.c_int, ctypes.POINTER(TargetsOptions),
         ctypes.c_size_t)
_declare("rlcc_refiner_targets_opts", ctypes.c_int, ctypes.c_void_p, c_int64_p, _i64,
         ctypes.POINTER(TargetsOptions), c_float_p, _i64)
_declare("rlcc_refiner_save", ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
         ctypes.POINTER(ctypes.c_size_t))  # refiner, buffer, capacity, size
_declare("rlcc_load_options_init", ctypes.c_int, ctypes.POINTER(LoadOptions), ctypes.c_size_t)
_declare("rlcc_refiner_load", ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
         ctypes.POINTER(LoadOptions), ctypes.POINTER(ctypes.c_void_p))  # state, size, options, out

# 1.8: a refiner step from the caller's pseudo labels and centroids, and the
# targets of a batch from the caller's feature rows (rlcc.distributed.Refiner).
# Looked up as the block kNN calls above are.
HAS_REFINER_LABELS = all(hasattr(lib, name) for name in (
    "rlcc_refiner_step_labels", "rlcc_refiner_targets_rows"))
_declare_optional("rlcc_refiner_step_labels", ctypes.c_int, ctypes.c_void_p, c_int32_p, _i64,
                  c_float_p, _i64, _f64, ctypes.POINTER(StepOptions))  # refiner, labels,
# n_classes, centroids, ldc, threshold, options
_declare_optional("rlcc_refiner_targets_rows", ctypes.c_int, ctypes.c_void_p, c_int64_p, _i64,
                  c_float_p, _i64, ctypes.POINTER(TargetsOptions), c_float_p,
                  _i64)  # refiner, rows, n_rows, x, ldx, options, out, ld


def require_refiner_labels(what: str) -> None:
    """Raises when the loaded librlcc predates 1.8's step from labels."""
    if not HAS_REFINER_LABELS:
        raise RLCCError(E_INVALID_ARGUMENT,
                        f"{what}: needs librlcc 1.8 (rlcc_refiner_step_labels, "
                        f"rlcc_refiner_targets_rows); loaded {library_version()} from "
                        f"{library_path}")


# ---- 1.7 (#15 items 1, 4, 5): camera proxies, cross-agreement, eps from a quantile ----
class ProxyOptions(ctypes.Structure):
    """Mirror of ``rlcc_proxy_options`` (1.7 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("order", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


class AgreementOptions(ctypes.Structure):
    """Mirror of ``rlcc_agreement_options`` (1.7 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("k", ctypes.c_int32),
        ("exclude_self", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


class QuantileOptions(ctypes.Structure):
    """Mirror of ``rlcc_quantile_options`` (1.7 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("summation", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


_declare("rlcc_proxy_options_init", ctypes.c_int, ctypes.POINTER(ProxyOptions), ctypes.c_size_t)
_declare("rlcc_camera_proxies", ctypes.c_int, c_int32_p, c_int32_p, _i64,
         ctypes.POINTER(ProxyOptions), c_int32_p, c_int64_p, c_int32_p, c_int32_p)
_declare("rlcc_agreement_options_init", ctypes.c_int, ctypes.POINTER(AgreementOptions),
         ctypes.c_size_t)
_declare("rlcc_cross_agreement", ctypes.c_int, c_float_p, _i64, _i64, _i64,
         ctypes.POINTER(c_float_p), _i64, _i64, _i64, ctypes.POINTER(AgreementOptions), c_float_p)
_declare("rlcc_part_weights", ctypes.c_int, c_float_p, _i64, _i64, c_float_p)
_declare("rlcc_quantile_options_init", ctypes.c_int, ctypes.POINTER(QuantileOptions),
         ctypes.c_size_t)
_declare("rlcc_eps_from_quantile", ctypes.c_int, c_float_p, _i64, _i64, _f64,
         ctypes.POINTER(QuantileOptions), ctypes.POINTER(_f64))
_declare("rlcc_eps_from_quantile_csr", ctypes.c_int, _i64, c_int64_p, c_int32_p, c_float_p, _f64,
         ctypes.POINTER(QuantileOptions), ctypes.POINTER(_f64))
# ---- end of 1.7 items 1, 4, 5 ----

# ---- k-means (issue #15 item 3: rlcc_kmeans, rlcc_kmeans_init_faiss) ----
class KmeansOptions(ctypes.Structure):
    """Mirror of ``rlcc_kmeans_options`` (1.7 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("max_iter", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("tol", ctypes.c_double),
        ("max_bytes", ctypes.c_int64),
    ]


_declare("rlcc_kmeans_options_init", ctypes.c_int, ctypes.POINTER(KmeansOptions), ctypes.c_size_t)
_declare("rlcc_kmeans", ctypes.c_int, c_float_p, _i64, _i64, _i64, c_float_p, _i64, _i64,
         ctypes.POINTER(KmeansOptions), c_float_p, _i64, c_int32_p,
         c_int64_p)  # x, n, d, ldx, init, k, ldi, options, centroids, ldc, labels, n_iter
_declare("rlcc_kmeans_init_faiss", ctypes.c_int, _i64, _i64, ctypes.c_uint64, _i64, c_int64_p,
         c_int64_p, c_int64_p)  # n, k, seed, max_points_per_centroid, start, train, n_train
# ---- end of k-means ----


# ---- InfoMap pseudo labels (issue #15 item 2) ----------------------------------


class InfomapOptions(ctypes.Structure):
    """Mirror of ``rlcc_infomap_options`` (1.7 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("k", ctypes.c_int32),
        ("cluster_num", ctypes.c_int32),
        ("min_sim", ctypes.c_double),
        ("seed", ctypes.c_uint64),
        ("trials", ctypes.c_int32),
        ("normalize", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("max_bytes", ctypes.c_int64),
    ]


_declare("rlcc_infomap_options_init", ctypes.c_int, ctypes.POINTER(InfomapOptions),
         ctypes.c_size_t)
_declare("rlcc_infomap_labels", ctypes.c_int, c_float_p, _i64, _i64, _i64, c_int64_p, c_float_p,
         c_int32_p, ctypes.POINTER(InfomapOptions), c_int32_p, c_int64_p,
         ctypes.POINTER(ctypes.c_double))
_declare("rlcc_infomap_links", ctypes.c_int, c_float_p, _i64, _i64, _i64, c_int64_p, c_float_p,
         ctypes.POINTER(InfomapOptions), c_int64_p, c_int64_p, ctypes.POINTER(ctypes.c_double),
         c_int64_p)
_declare("rlcc_map_codelength", ctypes.c_int, _i64, c_int64_p, c_int64_p,
         ctypes.POINTER(ctypes.c_double), _i64, c_int32_p, ctypes.POINTER(ctypes.c_double))


def library_version() -> str:
    """The version string of the loaded shared library."""
    return lib.rlcc_version_string().decode()


def _check_version():
    loaded = lib.rlcc_version_number()
    major, minor, _ = (int(p) for p in __version__.split("."))
    if loaded // 10000 != major or (loaded // 100) % 100 < minor:
        raise ImportError(
            f"rlcc: package {__version__} needs librlcc {major}.{minor} or a later "
            f"{major}.x, but loaded {library_version()} from {library_path}"
        )


_check_version()


def check(code: int) -> None:
    """Raise the exception that matches a librlcc return code."""
    if code == OK:
        return
    message = lib.rlcc_last_error().decode(errors="replace") or lib.rlcc_strerror(code).decode()
    raise _EXCEPTION_FOR_CODE.get(code, RLCCError)(code, message)


def init_struct(struct_type, init_function):
    """A struct filled by its librlcc _init() function."""
    value = struct_type()
    check(init_function(ctypes.byref(value), ctypes.sizeof(value)))
    return value


def options(n_threads: int, metric: int = 0, max_bytes: int = 0,
            algorithm: int = 0) -> DbscanOptions:
    """A filled options struct. Negative values are passed through so the
    library, not Python, decides what is valid and says why."""
    opts = init_struct(DbscanOptions, lib.rlcc_dbscan_options_init)
    opts.metric = metric
    opts.n_threads = n_threads
    opts.max_bytes = max_bytes
    opts.algorithm = algorithm
    return opts


def invalid(message: str) -> InvalidArgument:
    """The exception the library would raise, for checks made in Python."""
    return InvalidArgument(E_INVALID_ARGUMENT, message)


_INT_RANGES = {"int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1),
               "uint64": (0, 2**64 - 1)}


def integer(value: Any, name: str, ctype: str = "int64") -> int:
    """``value`` as a Python int that fits the C type (``"int32"`` or
    ``"int64"``), checked before it crosses ctypes, which would wrap it
    silently. An int or numpy integer is accepted; bool, float or anything
    else is refused (no silent truncation of 2.5 to 2)."""
    import operator

    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise invalid(f"{name}: {value!r} is not an integer")
    number = operator.index(value)
    low, high = _INT_RANGES[ctype]
    if not low <= number <= high:
        raise invalid(f"{name}: {number} does not fit {ctype}")
    return number


def int_argument(value: Any, name: str, ctype: str = "int64") -> int:
    """An integer argument of the calls that have converted it with
    ``int()`` since they appeared (so ``4.0`` still means 4): ``int(value)``,
    checked to fit the C type as :func:`integer` checks it. Without the
    check ctypes would wrap it (``min_samples=2**64 + 5`` became 5)."""
    return integer(int(value), name, ctype)


def index_copy(array: "np.ndarray", name: str, ctype: str = "int32") -> "np.ndarray":
    """An integer array that librlcc validates and then reads again as
    indices (labels, sample rows, kNN lists, a CSR matrix's indptr and
    indices), as a private C-contiguous, aligned, native-endian copy of
    type ``ctype``, its values checked to fit it first (a cast would wrap
    2**32 - 1 to -1, noise). A private copy because C reads it with the GIL
    released: had C the caller's array, another thread could change it
    between the library's checks and its reads, and librlcc would index out
    of bounds. ``array`` is an integer (or empty) numpy array; the callers
    check its shape and kind, with their own messages."""
    import numpy as np

    low, high = _INT_RANGES[ctype]
    if array.size and array.dtype.kind in "iu":
        info = np.iinfo(array.dtype)
        bad = np.zeros(array.shape, dtype=bool)
        if info.min < low:  # compared in the array's own type: exact
            bad |= array < array.dtype.type(low)
        if info.max > high:
            bad |= array > array.dtype.type(high)
        if bad.any():
            at = np.unravel_index(np.flatnonzero(bad)[0], array.shape)
            where = at[0] if array.ndim == 1 else tuple(int(i) for i in at)
            raise invalid(f"{name}: {int(array[at])} at index {where} does not fit {ctype}")
    return np.array(array, dtype=ctype, order="C", copy=True)


def csr_parts(matrix: Any, name: str):
    """``(indptr, indices, data)`` of a ``scipy.sparse`` CSR matrix as
    librlcc takes them: int64, int32 and float32, each a private copy
    (:func:`index_copy`: librlcc checks the structure, then walks it again),
    each row's columns sorted (on the copies, when they are not).

    The copies are taken before anything reads the structure, and their
    structure is checked here, fully: ``indptr[0] == 0``, never
    decreasing, ``indptr[-1]`` the length of ``indices`` and of ``data``.
    (Two copies taken one after the other may disagree when another thread
    changes the matrix meanwhile; and librlcc sees only pointers, so it
    cannot know the arrays' lengths.) Columns out of range, duplicates and
    bad values are librlcc's checks."""
    import numpy as np

    indptr = index_copy(matrix.indptr, f"{name}.indptr", "int64")
    indices = index_copy(matrix.indices, f"{name}.indices", "int32")
    data = np.array(matrix.data, dtype=np.float32, order="C", copy=True)
    if len(indptr) == 0 or indptr[0] != 0:
        raise invalid(f"{name}.indptr: {indptr[:1].tolist()} does not start with 0")
    falls = np.flatnonzero(indptr[1:] < indptr[:-1])
    if falls.size:
        row = int(falls[0])
        raise invalid(f"{name}.indptr: decreases at row {row} ({indptr[row]} > "
                      f"{indptr[row + 1]})")
    if indptr[-1] != len(indices) or len(data) != len(indices):
        raise invalid(f"{name}: indptr[{len(indptr) - 1}] = {indptr[-1]}, with "
                      f"{len(indices)} indices and {len(data)} values")
    if len(indices) > 1:
        row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        if ((indices[1:] < indices[:-1]) & (row_of[1:] == row_of[:-1])).any():
            order = np.lexsort((indices, row_of))  # by row, then column (stable)
            indices, data = indices[order], data[order]
    return indptr, indices, data


def c_order(array: Any, dtype: Any) -> "np.ndarray":
    """``array`` as a C-contiguous, aligned, native-endian array of
    ``dtype``: the array itself when it is one, else a copy. (numpy's
    ``ascontiguousarray`` keeps a misaligned array as it is, e.g.
    ``np.frombuffer(b, np.float32, offset=1)``, and C must not load from it.)"""
    import numpy as np

    out = np.ascontiguousarray(array, dtype=dtype)
    return out if out.flags.aligned else out.copy()


def as_array(value: Any, name: str) -> "np.ndarray":
    """``np.asarray(value)``, with PyTorch tensors handled without importing
    torch: a CPU tensor becomes a numpy view of the same memory (no copy); a
    tensor that requires grad, or lives on another device, is refused with
    a TypeError that says what to pass instead."""
    import numpy as np

    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "requires_grad"):
        if value.requires_grad:
            raise TypeError(f"{name}: the tensor requires grad; pass tensor.detach() "
                            "(librlcc takes no part in autograd)")
        if value.device.type != "cpu":
            raise TypeError(f"{name}: the tensor is on {value.device}; pass tensor.cpu()")
        value = value.numpy()
    return np.asarray(value)


def pointer(array, ctype):
    """A ctypes pointer to a numpy array's data (NULL for an empty array).
    Every array the binding hands librlcc goes through here, so here is
    where an array of another type, byte order or alignment than ``ctype``
    is stopped: the conversion that should have copied it was missed."""
    if array is None or array.size == 0:
        return None
    if not (array.dtype == ctype and array.dtype.isnative and array.flags.aligned):
        raise TypeError(f"rlcc: internal error: a {array.dtype} array (aligned: "
                        f"{array.flags.aligned}) would reach C as {ctype.__name__}")
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def pointer_to(array, ctype):
    """:func:`pointer`, but an empty array gets a valid pointer to nothing
    instead of NULL: where NULL means something else (no sample list means
    every sample), or where the library asks an output of rows with no
    columns to exist (a consensus with no current class)."""
    if array is not None and array.size == 0:
        return ctypes.cast(ctypes.byref(ctype()), ctypes.POINTER(ctype))
    return pointer(array, ctype)
