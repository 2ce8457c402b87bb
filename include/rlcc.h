/*
 * rlcc.h - librlcc, the pseudo-label step of unsupervised re-identification.
 *
 * This header is the reference manual. Every declaration says what it
 * computes, the shape and ownership of each argument, its thread-safety,
 * its errors and the version it appeared in.
 *
 * Conventions that hold for every function below:
 *   - Arrays are row-major. A matrix is (pointer, rows, cols, leading
 *     dimension) with leading dimension >= cols. Counts and indices are
 *     int64_t, labels are int32_t and -1 means noise.
 *   - Every fallible function returns int: RLCC_OK (0) or a negative
 *     RLCC_E_* code. rlcc_last_error() then gives a message naming the
 *     argument at fault. A validation error leaves every output untouched.
 *     After validation, an out-of-memory error may leave outputs partly
 *     written; nothing is ever leaked.
 *   - Outputs are allocated by the caller whenever their size is known from
 *     the inputs.
 *   - The library never aborts, exits or prints on caller input, has no
 *     global mutable state and needs no initialisation. Functions are
 *     thread-safe: different threads may call them at once on different
 *     outputs.
 *   - Options structs start with `size_t struct_size`, are filled by their
 *     _init() function, passed by const pointer, and NULL means defaults.
 *
 * Compiles as C99 and as C++. Includes only <stddef.h> and <stdint.h>.
 * SPDX-License-Identifier: MIT
 */
#ifndef RLCC_H
#define RLCC_H

#include <stddef.h>
#include <stdint.h>

#ifndef RLCC_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define RLCC_API __attribute__((visibility("default")))
#else
#define RLCC_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Version (1.0)
 * ------------------------------------------------------------------------ */

#define RLCC_VERSION_MAJOR 1
#define RLCC_VERSION_MINOR 0
#define RLCC_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH, e.g. 10000 for 1.0.0. */
#define RLCC_VERSION_NUMBER \
    (RLCC_VERSION_MAJOR * 10000 + RLCC_VERSION_MINOR * 100 + RLCC_VERSION_PATCH)
#define RLCC_VERSION_STRING "1.0.0"

/**
 * The version of the library actually loaded, as RLCC_VERSION_NUMBER.
 * Compare with the macro to detect a header/library mismatch.
 * Thread-safe. Since 1.0.
 */
RLCC_API unsigned rlcc_version_number(void);

/** The loaded library's version as static text, e.g. "1.0.0". Since 1.0. */
RLCC_API const char *rlcc_version_string(void);

/* ------------------------------------------------------------------------
 * Errors (1.0). The codes are pinned: a code never changes its meaning.
 * ------------------------------------------------------------------------ */

#define RLCC_OK 0
/** An argument is NULL, out of range, of the wrong shape, NaN/Inf, ... */
#define RLCC_E_INVALID_ARGUMENT (-1)
/** An allocation failed. */
#define RLCC_E_OUT_OF_MEMORY (-2)
/** The work needs more memory than the caller's max_bytes allows. */
#define RLCC_E_MEMORY_LIMIT (-3)
/** A caller callback asked to stop (reserved for callbacks, 1.2). */
#define RLCC_E_CANCELED (-4)
/** A caller callback reported an error (reserved for callbacks, 1.2). */
#define RLCC_E_CALLBACK (-5)

/**
 * Static English text for an error code ("invalid argument", ...); an
 * unknown code gives "unknown error". Never NULL. Thread-safe. Since 1.0.
 */
RLCC_API const char *rlcc_strerror(int code);

/**
 * The detail of the most recent failing call made by this thread, e.g.
 * "x: row 17 has NaN at column 3". Every fallible call clears it on entry,
 * so after a success it is "". The text lives in thread-local storage and
 * stays valid until this thread's next librlcc call. Never NULL. Since 1.0.
 */
RLCC_API const char *rlcc_last_error(void);

/* ------------------------------------------------------------------------
 * DBSCAN (1.0)
 *
 * Exactly scikit-learn's DBSCAN labels (sklearn.cluster.DBSCAN, 1.2):
 *   - the neighbourhood of i is every j with dist(i, j) <= eps;
 *   - i is a core point when its neighbourhood (itself included when it is
 *     in it) has at least min_samples members;
 *   - for i = 0 .. n-1 in order, an unlabelled core point starts cluster c
 *     (0, 1, 2, ...), which takes every point density-reachable from it
 *     through core points and not yet labelled. Clusters are therefore
 *     numbered by their lowest-index core point, a border point reachable
 *     from several clusters takes the earliest-numbered one, and points
 *     never reached are noise (-1).
 * Neighbourhoods are directed: a precomputed matrix need not be symmetric
 * and expansion goes only through the rows of core points.
 *
 * Comparison precision, as scikit-learn 1.2 does it:
 *   - precomputed (dense or CSR) float32 distances compare d <= (float)eps;
 *   - euclidean features decide sqrt(sum (x_i - x_j)^2) <= eps in double
 *     precision. Pairs are screened with a float32 Gram matrix (BLAS) and
 *     a proven error bound; only pairs inside the bound are recomputed in
 *     double from the rows (counted in rlcc_dbscan_stats.n_redecided);
 *   - cosine features compute 1 - x_i.x_j / (|x_i| |x_j|), clipped to
 *     [0, 2], in float32 and compare it with (float)eps.
 * A point is always its own feature-space neighbour (its distance is 0).
 * Contract: labels equal scikit-learn's on the same float32 input whenever
 * no pairwise distance lies within 1e-6 of eps (relative to eps for
 * euclidean; absolute for cosine, whose 1 - cos carries an absolute float32
 * error of about 1e-7); on precomputed input they are equal always.
 *
 * Memory: never n x n. Feature input uses a Gram tile of at most ~32 MiB
 * (at least 16 rows) plus 12 bytes per neighbour pair; precomputed input
 * uses 12 bytes per neighbour pair. All of it is counted against
 * options->max_bytes before it is allocated.
 * ------------------------------------------------------------------------ */

/** Feature-space metrics for rlcc_dbscan_features(). Since 1.0. */
#define RLCC_METRIC_EUCLIDEAN 0
#define RLCC_METRIC_COSINE 1

/**
 * Options for the DBSCAN functions. Since 1.0. Fill with
 * rlcc_dbscan_options_init(); fields are only ever appended.
 */
typedef struct rlcc_dbscan_options {
    /** sizeof(rlcc_dbscan_options) as the caller compiled it. */
    size_t struct_size;
    /** RLCC_METRIC_EUCLIDEAN (default) or RLCC_METRIC_COSINE; used by
     *  rlcc_dbscan_features() only. */
    int32_t metric;
    /** Threads for librlcc's own OpenMP work: 0 (default) means
     *  omp_get_max_threads(), 1 enters no parallel region, negative is an
     *  error. It does not bound OpenBLAS's own threads (see
     *  docs/threading.md). Results are identical for every value. */
    int32_t n_threads;
    /** Upper bound in bytes on librlcc's own working memory for the call
     *  (outputs excluded). 0 (default) means half of physical memory;
     *  negative is an error. Exceeding it returns RLCC_E_MEMORY_LIMIT
     *  before the allocation that would exceed it. */
    int64_t max_bytes;
} rlcc_dbscan_options;

/**
 * Statistics a DBSCAN call may report. Since 1.0. Fill with
 * rlcc_dbscan_stats_init(); written only when the call succeeds.
 */
typedef struct rlcc_dbscan_stats {
    /** sizeof(rlcc_dbscan_stats) as the caller compiled it. */
    size_t struct_size;
    /** Directed neighbour entries found, self entries included. */
    int64_t n_neighbor_pairs;
    /** Core points. */
    int64_t n_core;
    /** Points labelled -1. */
    int64_t n_noise;
    /** Euclidean pairs whose float32 screen was too close to eps to trust
     *  and that were decided again in double precision from the rows. */
    int64_t n_redecided;
    /** High-water mark of librlcc's working memory during the call. */
    int64_t peak_bytes;
} rlcc_dbscan_stats;

/**
 * Sets *options to the defaults (euclidean, n_threads 0, max_bytes 0) and
 * options->struct_size to struct_size. Writes only the first struct_size
 * bytes, so a caller compiled against an older, smaller struct stays safe.
 * Returns RLCC_E_INVALID_ARGUMENT when options is NULL or struct_size is
 * smaller than the 1.0 struct. Since 1.0.
 */
RLCC_API int rlcc_dbscan_options_init(rlcc_dbscan_options *options,
                                      size_t struct_size);

/** Zeroes *stats and sets stats->struct_size, like
 *  rlcc_dbscan_options_init(). Since 1.0. */
RLCC_API int rlcc_dbscan_stats_init(rlcc_dbscan_stats *stats,
                                    size_t struct_size);

/**
 * DBSCAN over a float32 feature matrix.
 *
 *   x            n x d float32, row stride ldx (ldx >= d); read only. May
 *                be NULL only when n == 0. Finite values only. Euclidean
 *                rows need squared norm <= 2^120; cosine rows must not be
 *                all zero.
 *   n            rows, 0 <= n <= INT32_MAX (n == 0 does nothing).
 *   d, ldx       1 <= d <= ldx <= INT32_MAX, n * ldx must fit int64.
 *   eps          radius, > 0 (+inf allowed), not NaN.
 *   min_samples  >= 1.
 *   options      NULL for defaults.
 *   labels       out, n int32: cluster 0..n_clusters-1 or -1 for noise.
 *   n_clusters   out, may be NULL: number of clusters.
 *   core         out, may be NULL: n bytes, 1 for core points else 0.
 *   stats        out, may be NULL: see rlcc_dbscan_stats.
 *
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT. Thread-safe. Calls OpenBLAS SGEMM from the calling
 * thread, outside any OpenMP region. Since 1.0.
 */
RLCC_API int rlcc_dbscan_features(const float *x, int64_t n, int64_t d,
                                  int64_t ldx, double eps,
                                  int64_t min_samples,
                                  const rlcc_dbscan_options *options,
                                  int32_t *labels, int64_t *n_clusters,
                                  uint8_t *core, rlcc_dbscan_stats *stats);

/**
 * DBSCAN over a dense precomputed float32 distance matrix.
 *
 *   dist         n x n float32, row stride ld (ld >= n); row i holds
 *                dist(i, j). Finite and >= 0. Need not be symmetric; the
 *                diagonal is used as stored (a diagonal above eps means i
 *                is not its own neighbour). May be NULL only when n == 0.
 *   n            0 <= n <= INT32_MAX; n * ld must fit int64.
 *   ld           ld >= n (and >= 1).
 *   Other arguments as rlcc_dbscan_features(); options->metric is ignored
 *   and stats->n_redecided is 0.
 *
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT. Thread-safe. Since 1.0.
 */
RLCC_API int rlcc_dbscan_dense(const float *dist, int64_t n, int64_t ld,
                               double eps, int64_t min_samples,
                               const rlcc_dbscan_options *options,
                               int32_t *labels, int64_t *n_clusters,
                               uint8_t *core, rlcc_dbscan_stats *stats);

/**
 * DBSCAN over a sparse precomputed n x n distance graph in CSR form.
 *
 *   n            0 <= n <= INT32_MAX.
 *   indptr       n + 1 int64: indptr[0] == 0, non-decreasing; row i's
 *                entries are positions indptr[i] .. indptr[i+1]-1.
 *   indices      indptr[n] int32 column indices in [0, n), strictly
 *                ascending within each row (unsorted or duplicate columns
 *                are refused: scikit-learn would count a duplicate twice).
 *   data         indptr[n] float32 distances, finite and >= 0.
 *                indices and data may be NULL when indptr[n] == 0.
 * Only stored entries are neighbours; a row without a stored diagonal
 * counts it as a stored 0, as scikit-learn does. Other arguments as
 * rlcc_dbscan_dense().
 *
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT. Thread-safe. Since 1.0.
 */
RLCC_API int rlcc_dbscan_csr(int64_t n, const int64_t *indptr,
                             const int32_t *indices, const float *data,
                             double eps, int64_t min_samples,
                             const rlcc_dbscan_options *options,
                             int32_t *labels, int64_t *n_clusters,
                             uint8_t *core, rlcc_dbscan_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* RLCC_H */
