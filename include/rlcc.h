/**
 * @file rlcc.h
 * librlcc, the pseudo-label step of unsupervised re-identification.
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
 *     the inputs. An output must not share memory with an input or with
 *     another output of the same call: a call whose output overlaps one is
 *     refused with RLCC_E_INVALID_ARGUMENT naming both ("probs and x
 *     overlap"), since 1.6 (before, it ran and gave wrong results). The
 *     test is exact on strided matrices: column blocks of one buffer that
 *     interleave without sharing a byte do not overlap, and an input may
 *     be passed twice. The one in-place case is rlcc_blend()'s s and out,
 *     the same buffer with the same leading dimension.
 *   - Sizes are validated before anything multiplies them or reads as many
 *     entries as they say (a row list of n_rows entries, a CSR indptr of
 *     k + 1): a size out of range is refused whatever the arrays hold.
 *   - The library never aborts, exits or prints on caller input, has no
 *     global mutable state and needs no initialisation. Functions are
 *     thread-safe: different threads may call them at once on different
 *     outputs.
 *   - Options structs start with `size_t struct_size`, are filled by their
 *     _init() function, passed by const pointer, and NULL means defaults.
 *     Fields are only ever appended. A struct from an older caller (smaller
 *     struct_size) keeps the defaults for the fields it lacks; one from a
 *     newer caller (larger struct_size) is accepted only when every byte
 *     beyond what this library knows is zero, and otherwise refused with
 *     RLCC_E_INVALID_ARGUMENT naming the first non-zero byte's offset
 *     (since 1.4). Fields marked "reserved, must be 0" are refused when
 *     they are not (since 1.4).
 *   - Stats structs (rlcc_dbscan_stats, rlcc_knn_stats) are written only
 *     in the fields both the caller's struct_size and this library know:
 *     the bytes of a newer caller's later fields are left as they are (its
 *     _init() zeroed them), and struct_size itself is not written. Since
 *     1.6; before, an n == 0 call cleared the stats up to the caller's
 *     struct_size.
 *   - Every function that works on data has an options struct with at
 *     least n_threads and max_bytes (the 1.2 functions that had none got
 *     an _opts twin in 1.4; the originals stay and behave as before).
 *     max_bytes bounds everything the call allocates while it runs, its
 *     intermediates across stages included: a call that would need more
 *     fails with RLCC_E_MEMORY_LIMIT before it writes any output.
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

#define RLCC_VERSION_MAJOR 1 /**< Incompatible ABI changes (never, within librlcc.so.1). */
#define RLCC_VERSION_MINOR 8 /**< Functions added (one version-script node each). */
#define RLCC_VERSION_PATCH 0 /**< Same functions: fixes and speed-ups. */
/** MAJOR * 10000 + MINOR * 100 + PATCH, e.g. 10200 for 1.2.0. */
#define RLCC_VERSION_NUMBER \
    (RLCC_VERSION_MAJOR * 10000 + RLCC_VERSION_MINOR * 100 + RLCC_VERSION_PATCH)
/** The version this header describes, as text. */
#define RLCC_VERSION_STRING "1.8.0"

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

/** Success. */
#define RLCC_OK 0
/** An argument is NULL, out of range, of the wrong shape, NaN/Inf, ... */
#define RLCC_E_INVALID_ARGUMENT (-1)
/** An allocation failed. */
#define RLCC_E_OUT_OF_MEMORY (-2)
/** The work needs more memory than the caller's max_bytes allows. */
#define RLCC_E_MEMORY_LIMIT (-3)
/** A caller's progress callback asked to stop (the refiner, 1.2). */
#define RLCC_E_CANCELED (-4)
/** A caller callback reported an error or filled too few rows (1.2). */
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
 *     precision. On the brute path pairs are screened with a float32 Gram
 *     matrix (BLAS) and a proven error bound; only pairs inside the bound
 *     are recomputed in double from the rows (counted in
 *     rlcc_dbscan_stats.n_redecided). The grid and tree paths (1.5,
 *     RLCC_DBSCAN_GRID, RLCC_DBSCAN_TREE) reach the same decision for
 *     every pair (see rlcc_dbscan_options.algorithm);
 *   - cosine features compute 1 - x_i.x_j / (|x_i| |x_j|), clipped to
 *     [0, 2], in float32 and compare it with (float)eps.
 * A point is always its own feature-space neighbour (its distance is 0).
 * Contract: the labels are those of the exact DBSCAN of the float32 input
 * under the decisions above: on precomputed input the float32 comparison
 * itself; on euclidean features one double-precision formula per pair (the
 * distance of the float32 values to within a few units of double rounding),
 * whatever the path, BLAS kernel or thread count; on cosine features the
 * float32 1 - cos. They equal scikit-learn's wherever scikit-learn's own
 * rounding does not decide a pair: on precomputed input always; on
 * ordinary features whenever no pairwise distance lies within 1e-6 of eps
 * (relative to eps for euclidean; absolute for cosine, whose 1 - cos carries
 * an absolute float32 error of about 1e-7). Where scikit-learn's float32
 * arithmetic is the one that errs (euclidean rows with a large common
 * offset, e.g. 2^20 plus a fine grid, or subnormal rows: its
 * |x|^2 + |y|^2 - 2 x.y loses the difference), librlcc keeps the exact
 * labels and scikit-learn's differ (docs/precision.md).
 *
 * Memory: never n x n. Feature input on the brute path uses a Gram tile of
 * at most 112 MiB (less when max_bytes leaves less than 448 MiB free; at
 * least 16 rows) plus about 12 bytes per neighbour pair; on the grid and
 * tree paths O(n d) (a sorted copy of the rows and a few int32 per point,
 * whatever the number of pairs); precomputed input uses about 12 bytes per
 * neighbour pair. All of it is counted against options->max_bytes before
 * it is allocated.
 * ------------------------------------------------------------------------ */

/** Feature-space metrics for rlcc_dbscan_features(). Since 1.0. */
#define RLCC_METRIC_EUCLIDEAN 0 /**< sqrt(sum (x_i - x_j)^2), decided in double. */
#define RLCC_METRIC_COSINE 1 /**< 1 - cos(x_i, x_j), clipped to [0, 2]. */

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
     *  error. Since 1.6 a count beyond what the machine runs is clamped to
     *  it (omp_get_num_procs(), or omp_get_max_threads() when the host asks
     *  for more, within OMP_THREAD_LIMIT), so 5000 or INT32_MAX is fine
     *  (libomp used to abort the host, "OMP: Error #34", under an
     *  address-space limit); and in a child created by fork() every call
     *  runs on the calling thread (docs/threading.md). It does not bound
     *  OpenBLAS's own threads (see docs/threading.md). Results are
     *  identical for every value. The same holds for the n_threads of
     *  every options struct and function below. */
    int32_t n_threads;
    /** Upper bound in bytes on librlcc's own working memory for the call
     *  (outputs excluded). 0 (default) means half of physical memory;
     *  negative is an error. Exceeding it returns RLCC_E_MEMORY_LIMIT
     *  before the allocation that would exceed it. */
    int64_t max_bytes;
    /** Since 1.5. How rlcc_dbscan_features() finds neighbours:
     *  RLCC_DBSCAN_AUTO (default), RLCC_DBSCAN_BRUTE, RLCC_DBSCAN_GRID or
     *  RLCC_DBSCAN_TREE; any other value is refused with
     *  RLCC_E_INVALID_ARGUMENT. Every choice gives the same labels, core
     *  flags, n_clusters and stats (n_redecided and peak_bytes aside), bit
     *  for bit. Checked, and otherwise ignored, by rlcc_dbscan_dense() and
     *  rlcc_dbscan_csr(). */
    int32_t algorithm;
    /** Since 1.5. Reserved, must be 0. */
    int32_t reserved;
} rlcc_dbscan_options;

/**
 * Neighbour searches for rlcc_dbscan_options.algorithm (1.5). All of them
 * decide a euclidean pair the same way, sum_k ((double)x_ik - (double)x_jk)^2
 * <= eps * eps, each difference and square in double and the sum taken in
 * ascending k, and differ only in which pairs they compute:
 *
 *   RLCC_DBSCAN_BRUTE  every pair, from a float32 Gram matrix (SGEMM) with a
 *       proven error bound; pairs inside the bound are recomputed as above
 *       (n_redecided). The only choice for RLCC_METRIC_COSINE. Memory: one
 *       Gram tile plus about 12 bytes per neighbour pair (see above).
 *   RLCC_DBSCAN_GRID  cells of side about eps / sqrt(d): the points of one
 *       cell are each other's neighbours (proven, rounding included), so a
 *       cell of min_samples points is all core; other points and the links
 *       between cells are decided pair by pair in the neighbouring cells
 *       only, and clusters are joined by a union-find. Euclidean only, and
 *       d <= RLCC_DBSCAN_GRID_MAX_DIM (5): the cell offsets to search grow
 *       as (2 floor(sqrt(d)) + 3)^d before pruning (25 cells in 2-D, 841
 *       in 4-D, 6,095 in 5-D after it, millions at d = 8); the grid is the
 *       fastest path for d <= 3 and already slower than the tree at d = 4
 *       and 5. Beyond either limit it is refused with
 *       RLCC_E_INVALID_ARGUMENT. Where the cells could not be exact (eps^2
 *       below DBL_MIN, a dimension spanning more than 2^28 cells, keys of
 *       more than 64 bits) it runs the tree instead, with the same result.
 *   RLCC_DBSCAN_TREE  a kd-tree over the points; nodes whose box is
 *       provably within or beyond eps of a point are counted or skipped
 *       whole, the rest is decided pair by pair (from d = 8 through a
 *       float32 screen with a proven bound, the band decided in double).
 *       Euclidean only (cosine is refused with RLCC_E_INVALID_ARGUMENT);
 *       any d.
 *   RLCC_DBSCAN_AUTO  the choice measured fastest (docs/BENCHMARKS.md):
 *       cosine: brute. Euclidean: d <= 3 the grid; 4 <= d <= 7 the tree;
 *       8 <= d <= 512 the tree when it stays selective, else brute: the
 *       tree is built and the neighbour counts of a fixed sample of 256
 *       rows run on it; if they would examine more than 1/16 of the rows
 *       one by one (unstructured data, where a kd-tree does brute's work at
 *       a higher cost per pair), the tree is freed and brute runs;
 *       d > 512: brute. n moved none of these boundaries in the
 *       measurements (8,000 to 1,000,000 rows). The choice is
 *       deterministic and never changes a result, only the time.
 *
 * Grid and tree use O(n d) memory (no neighbour lists, no Gram tile) and
 * report stats->n_redecided = 0. They use n_threads threads (below 32,768
 * rows only the calling thread: there a team costs more than it saves)
 * and call no BLAS. With stats != NULL they also count n_neighbor_pairs exactly, which
 * takes time proportional to the number of pairs (nothing is stored): pass
 * NULL stats when only the labels matter.
 */
#define RLCC_DBSCAN_AUTO 0  /**< Pick by metric and d, probing the tree (default). */
#define RLCC_DBSCAN_BRUTE 1 /**< Every pair, float32 Gram screen (1.0 behaviour). */
#define RLCC_DBSCAN_GRID 2  /**< Cells of side ~eps/sqrt(d); euclidean, small d. */
#define RLCC_DBSCAN_TREE 3  /**< A kd-tree; euclidean. */
/** The largest d RLCC_DBSCAN_GRID accepts. Since 1.5. */
#define RLCC_DBSCAN_GRID_MAX_DIM 5

/**
 * Statistics a DBSCAN call may report. Since 1.0. Fill with
 * rlcc_dbscan_stats_init(); written only when the call succeeds, and only
 * in the fields this library and the caller's struct_size both have (see
 * the conventions at the top).
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
 *                be NULL only when n == 0. Finite values, every row's
 *                squared norm <= 2^120 (so float32 Gram entries cannot
 *                overflow; this holds for every function taking features);
 *                cosine rows must not be all zero.
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
 * Errors: RLCC_E_INVALID_ARGUMENT (also: an options->algorithm that cannot
 * take this metric or d, see RLCC_DBSCAN_GRID), RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT. Thread-safe. The brute path calls OpenBLAS SGEMM
 * from the calling thread, outside any OpenMP region; the grid and the
 * tree call no BLAS. Since 1.0; options->algorithm since 1.5 (its default,
 * RLCC_DBSCAN_AUTO, replaces 1.4's brute-only path with the same results).
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

/* ------------------------------------------------------------------------
 * Exact k nearest neighbours (1.1)
 * ------------------------------------------------------------------------ */

/**
 * Options for rlcc_knn(). Since 1.1. Fill with rlcc_knn_options_init().
 */
typedef struct rlcc_knn_options {
    /** sizeof(rlcc_knn_options) as the caller compiled it. */
    size_t struct_size;
    /** As rlcc_dbscan_options.n_threads. */
    int32_t n_threads;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** As rlcc_dbscan_options.max_bytes. */
    int64_t max_bytes;
} rlcc_knn_options;

/** Sets the defaults (n_threads 0, max_bytes 0); as
 *  rlcc_dbscan_options_init(). Since 1.1. */
RLCC_API int rlcc_knn_options_init(rlcc_knn_options *options, size_t struct_size);

/**
 * The k nearest rows of every row under squared Euclidean distance, the
 * row itself included (normally first).
 *
 * The contract, since 1.3: rows are ranked by D(i, j), the squared distance
 * of the float32 rows computed in double in one fixed order that librlcc
 * owns (element t of the difference goes to lane t mod 8, each lane summed
 * in ascending t from +0.0 as (double)x_it - (double)x_jt squared, the lanes
 * combined as ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7));
 * docs/precision.md), ties by the lower index; sqdist is D rounded to
 * float32. So the lists and distances are the same bytes for every BLAS
 * kernel, CPU, n_threads, max_bytes and blocking. A float32 Gram matrix
 * (SGEMM, each pair computed once and used for both rows) is the screen:
 * only the candidates its proven error bound cannot separate from a row's
 * k-th are decided again in double from the rows. (1.1 and 1.2 ranked by
 * the float32 Gram distance itself, as faiss does; the two differ only on
 * near-ties.) Memory: one Gram tile (as in rlcc_dbscan_features()) plus
 * about 64 bytes per list entry, never n x n.
 *
 *   x, n, d, ldx  as rlcc_dbscan_features() (finite values).
 *   k             1 <= k <= n.
 *   indices       out, n x k int64, row-major: indices[i*k + r] is the
 *                 r-th nearest row of i.
 *   sqdist        out, n x k float32, may be NULL: the squared distances.
 *
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT. Thread-safe. Results are identical for every
 * n_threads. Since 1.1.
 */
RLCC_API int rlcc_knn(const float *x, int64_t n, int64_t d, int64_t ldx, int64_t k,
                      const rlcc_knn_options *options, int64_t *indices, float *sqdist);

/* ------------------------------------------------------------------------
 * Block kNN (1.3): the kNN of rows held in pieces
 * ------------------------------------------------------------------------ */

/**
 * The kNN lists of a range of query rows, built from blocks of reference
 * rows offered one at a time (rows on another machine, on a GPU, in a
 * shard). Opaque; one call at a time per state (a concurrent call is
 * refused). Whatever the blocking and the order of rlcc_knn_update() and
 * rlcc_knn_merge() calls, rlcc_knn_finish() gives the lists rlcc_knn()
 * gives the query rows against every reference row offered, byte for byte.
 * Since 1.3.
 */
typedef struct rlcc_knn_state rlcc_knn_state;

/**
 * What a state has done. Since 1.3. Fill struct_size with
 * rlcc_knn_stats_init() before rlcc_knn_state_stats().
 */
typedef struct rlcc_knn_stats {
    /** sizeof(rlcc_knn_stats) as the caller compiled it. */
    size_t struct_size;
    /** Updates applied (merged states' included). */
    int64_t n_updates;
    /** Candidates decided again in double from the rows. */
    int64_t n_redecided;
    /** Query rows of an update with more near-ties than the screen keeps
     *  (duplicated rows): every reference row of that update was decided
     *  in double for them. */
    int64_t n_fallback_rows;
    /** The largest working memory the state held at once, bytes. */
    int64_t peak_bytes;
} rlcc_knn_stats;

/** Sets struct_size and zeroes the counts; as rlcc_dbscan_stats_init().
 *  Since 1.3. */
RLCC_API int rlcc_knn_stats_init(rlcc_knn_stats *stats, size_t struct_size);

/**
 * A new state for n_queries query rows of width d whose first row has the
 * global index query_offset, keeping k neighbours each.
 *
 *   options  n_threads for every call on the state; max_bytes bounds
 *            everything the state holds at once: its lists (16 bytes per
 *            entry, held until rlcc_knn_state_free()) plus each call's
 *            working memory. NULL: defaults.
 *   state    out: free with rlcc_knn_state_free().
 *
 * Errors: RLCC_E_INVALID_ARGUMENT (n_queries outside [0, INT32_MAX],
 * query_offset < 0, d or k outside [1, INT32_MAX]), RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT;
 * *state is untouched then. Since 1.3.
 */
RLCC_API int rlcc_knn_state_new(int64_t n_queries, int64_t query_offset, int64_t d, int64_t k,
                                const rlcc_knn_options *options, rlcc_knn_state **state);

/** Frees a state (NULL is fine). Since 1.3. */
RLCC_API void rlcc_knn_state_free(rlcc_knn_state *state);

/**
 * Offers n_refs reference rows, global indices ref_offset ... ref_offset +
 * n_refs - 1, to the state's query rows: afterwards each query row's list
 * holds its k nearest among the rows it held and these. A reference row
 * offered again changes nothing. When refs is the queries pointer with the
 * same leading dimension, row count and global offset (the query rows
 * against themselves), each pair is computed once (the triangle).
 *
 *   queries, ldq  the state's n_queries x d query rows (the same rows at
 *                 every call; finite).
 *   refs, ldr     n_refs x d reference rows (finite); n_refs may be 0.
 *
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT;
 * the state is unchanged then. Since 1.3.
 */
RLCC_API int rlcc_knn_update(rlcc_knn_state *state, const float *queries, int64_t ldq,
                             const float *refs, int64_t n_refs, int64_t ldr,
                             int64_t ref_offset);

/**
 * Merges from into into: two states for the same query rows (n_queries,
 * query_offset, d, k) whose updates offered different (or overlapping)
 * reference rows; into then holds the k nearest of both. from is unchanged.
 * Both states are claimed for the call: a concurrent call on either is
 * refused (never waited for).
 * Errors: RLCC_E_INVALID_ARGUMENT (NULL, the same state, states for
 * different queries, in use). Since 1.3.
 */
RLCC_API int rlcc_knn_merge(rlcc_knn_state *into, const rlcc_knn_state *from);

/**
 * The finished lists, as rlcc_knn() writes them: indices n_queries x k
 * int64 (global indices), sqdist n_queries x k float32 or NULL. The state
 * stays usable (more updates, another finish). Working memory: one list per
 * thread.
 * Errors: RLCC_E_INVALID_ARGUMENT (a query row has fewer than k neighbours:
 * fewer than k reference rows were offered; NULL indices),
 * RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT; outputs untouched then.
 * Since 1.3.
 */
RLCC_API int rlcc_knn_finish(rlcc_knn_state *state, int64_t *indices, float *sqdist);

/** Copies what the state has done into stats (its struct_size set by
 *  rlcc_knn_stats_init()). Since 1.3. */
RLCC_API int rlcc_knn_state_stats(const rlcc_knn_state *state, rlcc_knn_stats *stats);

/**
 * Offers two blocks to each other from one Gram block: a's query rows are
 * offered b's rows and b's query rows a's, each pair computed once. This is
 * how an engine that holds the rows in blocks (librlcc_mpi's ring, a
 * torch.distributed group) computes each pair of blocks once, as rlcc_knn()
 * computes each pair of rows once. Afterwards each state finishes
 * (rlcc_knn_finish()) to what rlcc_knn_update() of the other block would
 * have left it, byte for byte (its saved bytes may hold a row's entries in
 * another order).
 *
 *   a, rows_a, lda  a state and its n_queries x d query rows (finite).
 *   b, rows_b, ldb  another state for rows of the same width d (k may
 *                   differ) whose global range does not overlap a's (a
 *                   block against itself is rlcc_knn_update() with refs the
 *                   queries pointer).
 * Working memory counts against a's max_bytes, b's copy of its lists
 * against b's. Both states are claimed for the call.
 * Errors: RLCC_E_INVALID_ARGUMENT (NULL, the same state, different d,
 * overlapping ranges, rows not finite, in use), RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT; both states are unchanged then. Since 1.8.
 */
RLCC_API int rlcc_knn_update_pair(rlcc_knn_state *a, const float *rows_a, int64_t lda,
                                  rlcc_knn_state *b, const float *rows_b, int64_t ldb);

/**
 * Writes the state (its shape, its counts and its lists, the distances as
 * their double bits) into buffer, capacity bytes long: what one process
 * sends another, which rlcc_knn_state_load()s and rlcc_knn_merge()s it. The
 * bytes are little-endian and the same on every machine; the format is
 * versioned and sealed by a CRC-32C (docs/stability.md). The size query is
 * rlcc_refiner_save()'s: buffer NULL gives the bytes needed in *size;
 * capacity below them is RLCC_E_INVALID_ARGUMENT with *size set and buffer
 * untouched. The size changes with every update and merge.
 * Errors: RLCC_E_INVALID_ARGUMENT (NULL state or size, capacity too small,
 * in use). Allocates nothing. Since 1.8.
 */
RLCC_API int rlcc_knn_state_save(const rlcc_knn_state *state, void *buffer, size_t capacity,
                                 size_t *size);

/**
 * A new state from the size bytes of rlcc_knn_state_save(), to free with
 * rlcc_knn_state_free(): the same shape, counts and lists, so it finishes,
 * merges and saves as the state that was saved. options: n_threads and
 * max_bytes of the new state, as rlcc_knn_state_new(). Nothing is trusted:
 * the envelope and checksum are checked before anything is allocated, then
 * the shape as rlcc_knn_state_new() checks it and every row's entries
 * (finite distances >= 0, distinct indices >= 0, in the order librlcc keeps
 * them).
 * Errors: RLCC_E_INVALID_ARGUMENT (NULL, not a state, another format,
 * damaged or inconsistent bytes), RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT; *state is untouched then. Since 1.8.
 */
RLCC_API int rlcc_knn_state_load(const void *buffer, size_t size, const rlcc_knn_options *options,
                                 rlcc_knn_state **state);

/* ------------------------------------------------------------------------
 * Sparse matrices owned by the library (1.1)
 * ------------------------------------------------------------------------ */

/**
 * A rows x cols float32 matrix in CSR form, owned by librlcc: row i's
 * entries are positions indptr[i] .. indptr[i+1]-1 of indices (int32
 * columns, strictly ascending) and data. Returned by rlcc_jaccard() (n x n)
 * and by rlcc_consensus_csr() and rlcc_consensus_csr_opts() (k_prev x
 * k_cur; rlcc_csr_cols() gives the columns); read with the accessors; free
 * with rlcc_csr_free(). The arrays stay valid, unchanged, until then. A
 * handle may be read from several threads at once. Since 1.1.
 */
typedef struct rlcc_csr rlcc_csr;

/** Rows of the matrix (and its columns, for a Jaccard result); 0 for NULL.
 *  Since 1.1. */
RLCC_API int64_t rlcc_csr_rows(const rlcc_csr *matrix);
/** Stored entries, indptr[rows]; 0 for NULL. Since 1.1. */
RLCC_API int64_t rlcc_csr_nnz(const rlcc_csr *matrix);
/** rows + 1 row pointers; NULL for NULL. Since 1.1. */
RLCC_API const int64_t *rlcc_csr_indptr(const rlcc_csr *matrix);
/** nnz column indices (never NULL for a valid handle). Since 1.1. */
RLCC_API const int32_t *rlcc_csr_indices(const rlcc_csr *matrix);
/** nnz values (never NULL for a valid handle). Since 1.1. */
RLCC_API const float *rlcc_csr_data(const rlcc_csr *matrix);
/** Frees the matrix and its arrays; NULL is fine. Since 1.1. */
RLCC_API void rlcc_csr_free(rlcc_csr *matrix);

/* ------------------------------------------------------------------------
 * k-reciprocal Jaccard distance (1.1)
 *
 * The distance every re-ID trainer clusters on (Zhong et al., CVPR 2017,
 * as SpCL, Cluster Contrast, OpenUnReID and RLCC compute it):
 *   1. R: the k1 nearest rows of every row, itself included (k1 entries,
 *      not k1 + 1: the trainers' quirk), by rlcc_knn() or from the caller.
 *   2. A_i = the entries j of R[i] whose own R[j] holds i; B_i the same
 *      over the first h + 1 entries, h = round_half_even(k1 / 2).
 *   3. E_i = A_i plus every B_c (c in A_i) with 3 |B_c & A_i| > 2 |B_c|.
 *   4. V[i][j] = softmax over E_i of -d(i, j), with d = 2 - 2 x_i.x_j
 *      (RLCC_JACCARD_DOT) or |x_i|^2 + |x_j|^2 - 2 x_i.x_j
 *      (RLCC_JACCARD_SQEUCLIDEAN); d and the softmax in double, V in float32.
 *   5. Q[i] = (V[R[i][0]] + ... + V[R[i][k2-1]]) / k2, summed in that
 *      order in float32 (Q = V when k2 == 1).
 *   6. t = sum over shared columns k, ascending, of min(Q[i][k], Q[m][k])
 *      in float32; dist(i, m) = max(0, 1 - t / (2 - t)) in float32.
 * Pairs without shared columns have distance exactly 1. The result is
 * bitwise symmetric. Given the same R, steps 2, 3, 5 and 6 are exactly the
 * reference's; step 4 matches it to rounding (about 1e-7).
 * Memory: every matrix after the kNN is sparse, O(n k1 k2) plus the
 * result; all of it counted against max_bytes before it is allocated.
 * ------------------------------------------------------------------------ */

/** Weight distances for rlcc_jaccard_options.variant. Since 1.1. */
#define RLCC_JACCARD_DOT 0 /**< d = 2 - 2 x_i.x_j on unit rows (SpCL, Cluster Contrast). */
#define RLCC_JACCARD_SQEUCLIDEAN 1 /**< d = |x_i - x_j|^2 (OpenUnReID, RLCC). */

/**
 * Options for the Jaccard functions. Since 1.1. Fill with
 * rlcc_jaccard_options_init().
 */
typedef struct rlcc_jaccard_options {
    /** sizeof(rlcc_jaccard_options) as the caller compiled it. */
    size_t struct_size;
    /** Neighbours per list, self included: 1 <= k1 <= n (default 30). */
    int32_t k1;
    /** Neighbours averaged in the query expansion: 1 <= k2 <= k1
     *  (default 6; 1 means no expansion). */
    int32_t k2;
    /** RLCC_JACCARD_DOT (default: SpCL, Cluster Contrast) or
     *  RLCC_JACCARD_SQEUCLIDEAN (OpenUnReID, the official RLCC code). */
    int32_t variant;
    /** DOT assumes unit rows. 0 (default): a row whose norm is not within
     *  1e-3 of 1 is refused. 1: rows are L2-normalised (a copy) first, for
     *  the kNN and the weights alike. */
    int32_t normalize;
    /** As rlcc_dbscan_options.n_threads. */
    int32_t n_threads;
    /** rlcc_jaccard() keeps the pairs with distance < cutoff, in (0, 1]
     *  (default 1: every pair with a shared column). Any cutoff above a
     *  DBSCAN eps loses nothing DBSCAN can see. Unused by
     *  rlcc_jaccard_dense(). */
    float cutoff;
    /** As rlcc_dbscan_options.max_bytes. */
    int64_t max_bytes;
} rlcc_jaccard_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.1. */
RLCC_API int rlcc_jaccard_options_init(rlcc_jaccard_options *options,
                                       size_t struct_size);

/**
 * The k-reciprocal Jaccard distance as a sparse n x n matrix: every pair
 * with distance < options->cutoff, the diagonal included, each row sorted
 * by column.
 *
 *   x, n, d, ldx  as rlcc_dbscan_features() (finite values; unit rows for
 *                 RLCC_JACCARD_DOT unless options->normalize).
 *   knn           NULL to compute the k1 nearest rows with rlcc_knn(), or
 *                 the caller's lists (e.g. faiss on a GPU): n x k1 int64,
 *                 row-major, entries in [0, n), no repeats within a row;
 *                 self may be anywhere or absent.
 *   options       NULL for defaults (k1 30, k2 6, DOT, cutoff 1).
 *   out           out: a new matrix for rlcc_csr_free(); untouched on error.
 *
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT. Thread-safe; identical results for every
 * n_threads. Since 1.1.
 */
RLCC_API int rlcc_jaccard(const float *x, int64_t n, int64_t d, int64_t ldx,
                          const int64_t *knn, const rlcc_jaccard_options *options,
                          rlcc_csr **out);

/**
 * The same distance as a dense n x n float32 matrix in the caller's buffer
 * (row stride ld >= n; n * ld must fit int64), 1 where no column is
 * shared: a drop-in for the trainers' dense result. Only the dense output
 * is n x n; the working memory is that of rlcc_jaccard().
 * Errors, threads: as rlcc_jaccard(). Since 1.1.
 */
RLCC_API int rlcc_jaccard_dense(const float *x, int64_t n, int64_t d, int64_t ldx,
                                const int64_t *knn, const rlcc_jaccard_options *options,
                                float *dist, int64_t ld);

/* ------------------------------------------------------------------------
 * Block Jaccard (1.8): the Jaccard rows of rows held in pieces
 * ------------------------------------------------------------------------
 * rlcc_jaccard() cut along the rows, for engines whose ranks each hold a
 * block of rows (librlcc_mpi, rlcc.distributed) and all know the n x k1 kNN
 * lists. Per block: a plan (steps 2 and 3 from the lists), offered every
 * block of rows in any order (the distances of step 4), gives the block's
 * weight rows; the weight rows of all blocks, concatenated in row order,
 * give any range of Jaccard rows (steps 5 and 6). The concatenated Jaccard
 * rows are rlcc_jaccard()'s result, byte for byte, for any blocking. */

/** The expanded sets and distances of one block of rows. Opaque; one call
 *  at a time (a concurrent call is refused). Since 1.8. */
typedef struct rlcc_jaccard_plan rlcc_jaccard_plan;

/**
 * A plan for rows row0 .. row1 - 1 of n rows of width d.
 *
 *   knn      the n x k1 kNN lists of every row (int64, row-major, as
 *            rlcc_jaccard()'s knn; those of the normalised rows when
 *            options->normalize), checked as rlcc_jaccard() checks them.
 *   options  as rlcc_jaccard() (k1, k2, variant, normalize, cutoff,
 *            n_threads; max_bytes bounds the plan's arrays, about 12 bytes
 *            per entry of its rows' expanded sets, and each call's working
 *            memory). NULL: defaults.
 *   plan     out: free with rlcc_jaccard_plan_free().
 * Errors: RLCC_E_INVALID_ARGUMENT (n outside [1, INT32_MAX], a range
 * outside [0, n), d < 1, bad lists or options), RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT; *plan untouched then. Since 1.8.
 */
RLCC_API int rlcc_jaccard_plan_new(const int64_t *knn, int64_t n, int64_t row0, int64_t row1,
                                   int64_t d, const rlcc_jaccard_options *options,
                                   rlcc_jaccard_plan **plan);

/** Frees a plan (NULL is fine). Since 1.8. */
RLCC_API void rlcc_jaccard_plan_free(rlcc_jaccard_plan *plan);

/**
 * Offers the n_refs rows ref_offset .. of the matrix: the plan takes the
 * distances its rows need to them (step 4's d(i, j), in double in librlcc's
 * fixed order, from normalised copies when options->normalize). A row
 * offered again changes nothing.
 *
 *   rows, ldr   the plan's own (row1 - row0) x d rows (the same at every
 *               offer; finite; unit norm for the DOT variant unless
 *               normalize).
 *   refs, ldf   n_refs x d rows (the same checks); n_refs may be 0.
 * Errors: RLCC_E_INVALID_ARGUMENT (shapes, values, a range outside n, in
 * use), RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT; the plan is unchanged
 * then. Since 1.8.
 */
RLCC_API int rlcc_jaccard_plan_offer(rlcc_jaccard_plan *plan, const float *rows, int64_t ldr,
                                     const float *refs, int64_t n_refs, int64_t ldf,
                                     int64_t ref_offset);

/**
 * The weight rows of the plan's rows (step 4: the softmax over E_i), a new
 * (row1 - row0) x n CSR to free with rlcc_csr_free(): rows row0 .. of
 * rlcc_jaccard()'s V. Every row a plan row needs must have been offered.
 * Errors: RLCC_E_INVALID_ARGUMENT (NULL, a distance not offered: the
 * message names the pair, in use), RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT. Since 1.8.
 */
RLCC_API int rlcc_jaccard_plan_weights(const rlcc_jaccard_plan *plan, rlcc_csr **weights);

/**
 * Jaccard rows row0 .. row1 - 1 (steps 5 and 6) from the weight rows of
 * all n rows (the plans' weights concatenated in row order: n x n CSR,
 * strictly ascending columns, values in [0, 1]) and the kNN lists: a new
 * (row1 - row0) x n CSR (entries below options->cutoff), to free with
 * rlcc_csr_free(). Concatenated over a blocking of [0, n) they are
 * rlcc_jaccard()'s result, byte for byte.
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT. Since 1.8.
 */
RLCC_API int rlcc_jaccard_rows(int64_t n, const int64_t *indptr, const int32_t *indices,
                               const float *data, const int64_t *knn, int64_t row0, int64_t row1,
                               const rlcc_jaccard_options *options, rlcc_csr **out);

/* ------------------------------------------------------------------------
 * Pseudo labels (1.2)
 *
 * One call does the clustering step of SpCL, Cluster Contrast,
 * OpenUnReID and RLCC: distance (Jaccard or a plain metric) -> DBSCAN at
 * one eps, or at tight / normal / loose eps -> outliers -> the
 * reliability criterion (optional). See docs/pipeline.md.
 * ------------------------------------------------------------------------ */

/** The k-reciprocal Jaccard distance, for rlcc_pseudo_options.metric.
 *  Since 1.2. (RLCC_METRIC_EUCLIDEAN and RLCC_METRIC_COSINE also work.) */
#define RLCC_METRIC_JACCARD 2

/** Outlier policies. KEEP: -1 stays (the caller drops those samples;
 *  Cluster Contrast). SINGLETON: each -1 sample, in index order, gets a new
 *  label K, K+1, ... (SpCL, OpenUnReID, RLCC). Since 1.2. */
#define RLCC_OUTLIERS_KEEP 0 /**< -1 stays. */
#define RLCC_OUTLIERS_SINGLETON 1 /**< Each -1 sample gets a class of its own. */

/**
 * Options for rlcc_pseudo_labels() and the refiner. Since 1.2. Fill with
 * rlcc_pseudo_options_init(); the defaults are RLCC's shipped
 * configuration.
 */
typedef struct rlcc_pseudo_options {
    /** sizeof(rlcc_pseudo_options) as the caller compiled it. */
    size_t struct_size;
    /** RLCC_METRIC_JACCARD (default), RLCC_METRIC_EUCLIDEAN or
     *  RLCC_METRIC_COSINE. */
    int32_t metric;
    /** Jaccard: neighbours per list, as rlcc_jaccard_options.k1 (default 30). */
    int32_t k1;
    /** Jaccard: query-expansion neighbours, as rlcc_jaccard_options.k2 (default 6). */
    int32_t k2;
    /** Jaccard: RLCC_JACCARD_DOT (default) or RLCC_JACCARD_SQEUCLIDEAN. */
    int32_t variant;
    /** 1: L2-normalise a copy of the rows first, as rlcc_jaccard_options.normalize
     *  (default 0). */
    int32_t normalize;
    /** RLCC_OUTLIERS_SINGLETON (default) or RLCC_OUTLIERS_KEEP. */
    int32_t outliers;
    /** 1 (default): SpCL's reliability criterion on the tight / normal /
     *  loose runs; needs n_eps == 3 and RLCC_OUTLIERS_SINGLETON. */
    int32_t reliability;
    /** 1 (default): never eject the last member of a cluster (OpenUnReID,
     *  RLCC), so labels stay contiguous; 0: SpCL, which may leave gaps. */
    int32_t guard;
    /** As rlcc_dbscan_options.n_threads. */
    int32_t n_threads;
    /** 1 (one plain run at eps[0]) or 3 (tight, normal, loose: sorted;
     *  the labels are the normal run's). Default 3. */
    int32_t n_eps;
    /** Jaccard: pairs kept below this distance, (0, 1]; it must exceed
     *  every eps (default 0.9). */
    float cutoff;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** DBSCAN radii (default 0.58, 0.60, 0.62). */
    double eps[3];
    /** The reliability threshold to apply; negative (default -1) computes
     *  it from this call's clusters, as at a trainer's first generation. */
    double threshold;
    /** DBSCAN min_samples (default 4). */
    int64_t min_samples;
    /** As rlcc_dbscan_options.max_bytes. */
    int64_t max_bytes;
    /** Since 1.3. Jaccard only: the caller's n x k1 kNN lists of the rows
     *  (int64, row-major), as rlcc_jaccard()'s knn and checked the same way:
     *  what a trainer that computes its kNN with faiss on a GPU, or across
     *  machines with the block kNN, passes in. NULL (default): librlcc's
     *  own rlcc_knn(). Read during the call only. */
    const int64_t *knn;
    /** Since 1.4. The pseudo-labeler: RLCC_PSEUDO_DBSCAN (default),
     *  RLCC_PSEUDO_INFOMAP or RLCC_PSEUDO_KMEANS (1.7). Releases add methods
     *  here, without new entry points; the refiner reaches each through it. */
    int32_t method;
    /** Reserved, must be 0. Since 1.4. */
    int32_t reserved2;
    /* Since 1.7: the options of the other pseudo-labelers. A method reads
     * its own fields and the shared ones (normalize, outliers, n_threads,
     * max_bytes; knn for Jaccard and InfoMap) and ignores the others. */
    /** RLCC_PSEUDO_INFOMAP: neighbours per list, self included (default 15);
     *  knn above, if given, is n x infomap_k. */
    int32_t infomap_k;
    /** RLCC_PSEUDO_INFOMAP: as rlcc_infomap_options.cluster_num (default 4). */
    int32_t infomap_cluster_num;
    /** RLCC_PSEUDO_INFOMAP: as rlcc_infomap_options.min_sim (default 0.5). */
    double infomap_min_sim;
    /** RLCC_PSEUDO_INFOMAP: as rlcc_infomap_options.seed (default 123). */
    uint64_t infomap_seed;
    /** RLCC_PSEUDO_INFOMAP: as rlcc_infomap_options.trials (default 1). */
    int32_t infomap_trials;
    /** RLCC_PSEUDO_KMEANS: as rlcc_kmeans_options.max_iter (default 300). */
    int32_t kmeans_max_iter;
    /** RLCC_PSEUDO_KMEANS: the number of clusters K (default 500,
     *  OpenUnReID's); 1 <= K <= n. */
    int64_t kmeans_k;
    /** RLCC_PSEUDO_KMEANS: as rlcc_kmeans_options.tol (default 0: faiss runs
     *  every step, which changes nothing once the labels repeat). */
    double kmeans_tol;
    /** RLCC_PSEUDO_KMEANS: the seed of faiss's start (default 1234). */
    uint64_t kmeans_seed;
    /** RLCC_PSEUDO_KMEANS: faiss's max_points_per_centroid (default 256):
     *  above K x this many rows, the centroids are trained on the subset of
     *  rlcc_kmeans_init_faiss() and every row is then assigned to them. */
    int64_t kmeans_max_points;
    /** RLCC_PSEUDO_KMEANS: the caller's K x d start centroids (row stride
     *  d), or NULL (default) for faiss's start rows of this call's rows.
     *  Read during the call only; the refiner needs NULL. */
    const float *kmeans_init;
} rlcc_pseudo_options;

/** Pseudo-labelers for rlcc_pseudo_options.method. Since 1.4. */
#define RLCC_PSEUDO_DBSCAN 0 /**< DBSCAN at one or three eps, outliers, reliability. */
/** Since 1.7: InfoMap on the kNN links (Cluster Contrast): rlcc_infomap_labels(),
 *  then the outlier policy on its -1 samples. */
#define RLCC_PSEUDO_INFOMAP 1
/** Since 1.7: k-means (OpenUnReID): rlcc_kmeans() from faiss's start rows or
 *  kmeans_init; no sample is an outlier. */
#define RLCC_PSEUDO_KMEANS 2

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.2. */
RLCC_API int rlcc_pseudo_options_init(rlcc_pseudo_options *options, size_t struct_size);

/**
 * Pseudo labels for the rows of x.
 *
 *   x, n, d, ldx  as rlcc_dbscan_features() (unit rows for Jaccard DOT
 *                 unless options->normalize).
 *   labels        out, n int32: classes 0 .. n_classes-1 (and -1 with
 *                 RLCC_OUTLIERS_KEEP).
 *   n_classes     out, may be NULL: max label + 1.
 *   threshold     out, may be NULL: the reliability threshold used (the
 *                 one passed in, or the one computed; 0 without the
 *                 criterion).
 * Reliability (spec section 3): R_comp(i) = 1 - IoU of i's normal and
 * tight clusters, R_indep(i) = 1 - IoU of its normal and loose clusters
 * (integer counts, one float32 divide). Per normal cluster the minimum of
 * each; the threshold is element min(m-1, round_half_even(0.9 m)) of the
 * sorted cluster minima of R_indep over the m clusters with more than one
 * member (0 when there are none). Sample i of cluster c keeps c iff
 * Rc_indep[c] <= threshold and R_comp(i) <= Rc_comp[c]; otherwise it gets
 * a new label L, L+1, ... in index order (L = labels in the normal run).
 * Centroids: rlcc_centroids() once n_classes is known.
 *
 * Errors: RLCC_E_INVALID_ARGUMENT (also: n_eps not 1 or 3, reliability
 * without 3 eps or without SINGLETON, an eps >= cutoff for Jaccard),
 * RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT. Thread-safe. Since 1.2.
 */
RLCC_API int rlcc_pseudo_labels(const float *x, int64_t n, int64_t d, int64_t ldx,
                                const rlcc_pseudo_options *options, int32_t *labels,
                                int64_t *n_classes, double *threshold);

/**
 * rlcc_pseudo_labels() from a distance graph the caller already has: the
 * DBSCAN runs at options->eps over the n x n CSR (as rlcc_dbscan_csr()
 * reads it), the outlier policy and the reliability criterion, exactly as
 * rlcc_pseudo_labels() applies them to its Jaccard graph. So the Jaccard
 * rows of rlcc_jaccard_rows() over every block, concatenated, give
 * rlcc_pseudo_labels()'s labels. options->method must be
 * RLCC_PSEUDO_DBSCAN; the metric, k1, k2, variant, normalize, cutoff and knn
 * fields are not read. Outputs as rlcc_pseudo_labels().
 * Errors: RLCC_E_INVALID_ARGUMENT (the graph as rlcc_dbscan_csr(), the
 * options), RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT. Since 1.8.
 */
RLCC_API int rlcc_pseudo_labels_graph(int64_t n, const int64_t *indptr, const int32_t *indices,
                                      const float *data, const rlcc_pseudo_options *options,
                                      int32_t *labels, int64_t *n_classes, double *threshold);

/**
 * Class centroids: the mean of each class's rows, L2-normalised (a class
 * without members, or whose mean is zero, gets a zero row).
 *
 *   labels        n int32 in [-1, k); -1 samples take no part.
 *   centroids     out, k x d float32, row stride ldc >= d.
 * Errors: RLCC_E_INVALID_ARGUMENT (labels out of range, NaN/Inf in x).
 * Thread-safe. Since 1.2.
 */
RLCC_API int rlcc_centroids(const float *x, int64_t n, int64_t d, int64_t ldx,
                            const int32_t *labels, int64_t k, float *centroids,
                            int64_t ldc);

/** Options for rlcc_centroids_opts(). Since 1.4. Fill with
 *  rlcc_centroid_options_init(). */
typedef struct rlcc_centroid_options {
    /** sizeof(rlcc_centroid_options) as the caller compiled it. */
    size_t struct_size;
    /** As rlcc_dbscan_options.n_threads. */
    int32_t n_threads;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** As rlcc_dbscan_options.max_bytes (n doubles and k int64 here). */
    int64_t max_bytes;
    /** Since 1.7. RLCC_CENTROID_NORM_DOUBLE (default): the norm of the mean in
     *  double; RLCC_CENTROID_NORM_FLOAT32: in float32 as CAP's and ICE's
     *  m / np.linalg.norm(m, axis=1, keepdims=True): the float32 squares
     *  summed as NumPy's add.reduce along a row (pairwise, 8 accumulators,
     *  blocks of 8192; no BLAS), sqrtf, a float32 divide. Bit-identical to
     *  that expression on every BLAS kernel (10,000 of 10,000 means at
     *  D = 2048; the 1-D np.linalg.norm(v) calls BLAS sdot instead and
     *  agreed in 75-80%, by kernel). A zero mean (or one whose float32
     *  norm underflows to 0) stays zero in both, where NumPy gives NaN.
     *  A caller compiled against 1.4-1.6 (struct_size 24) gets the
     *  default. */
    int32_t norm;
    /** Reserved, must be 0. Since 1.7. */
    int32_t reserved2;
} rlcc_centroid_options;

/** Centroid norms for rlcc_centroid_options.norm. Since 1.7. */
#define RLCC_CENTROID_NORM_DOUBLE 0 /**< The norm in double (librlcc's arithmetic). */
#define RLCC_CENTROID_NORM_FLOAT32 1 /**< The norm in float32, as NumPy (CAP, ICE). */

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.4. */
RLCC_API int rlcc_centroid_options_init(rlcc_centroid_options *options, size_t struct_size);

/**
 * rlcc_centroids() with options: the same bytes for every n_threads
 * (threads split the columns; every element adds its samples in index
 * order). options may be NULL. Since 1.4.
 */
RLCC_API int rlcc_centroids_opts(const float *x, int64_t n, int64_t d, int64_t ldx,
                                 const int32_t *labels, int64_t k,
                                 const rlcc_centroid_options *options, float *centroids,
                                 int64_t ldc);

/* ------------------------------------------------------------------------
 * RLCC: clustering consensus across generations (1.2)
 *
 * Pure functions, each usable alone (spec section 4). Label vectors are
 * int32, -1 = not a training sample. Every function that produces rows per
 * sample takes an optional list of sample indices (rows, n_rows): NULL
 * means every sample 0 .. n-1 (then n_rows must be n), so a trainer can ask
 * for the rows of one mini-batch without an n x K matrix.
 * ------------------------------------------------------------------------ */

/** Consensus kinds. IOU: inter / (|prev a| + |cur b| - inter). COUNT: the
 *  overlap inter itself. Since 1.2. */
#define RLCC_CONSENSUS_IOU 0 /**< Intersection over union of the two classes. */
#define RLCC_CONSENSUS_COUNT 1 /**< The number of samples the two classes share. */

/** Row normalisations. NONE: the raw matrix. SUM: each row divided by its
 *  sum (a zero row stays zero). SOFTMAX: the reference's softmax over each
 *  whole dense row (a zero row becomes uniform; dense output only).
 *  Since 1.2. */
#define RLCC_NORMALIZE_NONE 0 /**< The raw matrix. */
#define RLCC_NORMALIZE_SUM 1 /**< Each row divided by its sum (RLCC's shipped choice). */
#define RLCC_NORMALIZE_SOFTMAX 2 /**< A softmax over each whole dense row. */

/**
 * The overlap counts between two labelings of the same n samples:
 * counts[a][b] = samples with prev label a and cur label b (dense
 * k_prev x k_cur int64, row stride ld >= k_cur). Samples labelled -1 in
 * either vector take no part.
 *   k_prev, k_cur  class counts; 0 means max label + 1. Labels must lie in
 *                  [-1, k).
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_MEMORY_LIMIT. Since 1.2.
 */
RLCC_API int rlcc_consensus_counts(const int32_t *prev, const int32_t *cur, int64_t n,
                                   int64_t k_prev, int64_t k_cur, int64_t *counts,
                                   int64_t ld);

/**
 * The consensus matrix C (k_prev x k_cur float32, dense, row stride
 * ld >= k_cur), of the given kind, then row-normalised. IoU is exact
 * (integer counts, one float32 divide). Other arguments as
 * rlcc_consensus_counts(). Since 1.2.
 */
RLCC_API int rlcc_consensus(const int32_t *prev, const int32_t *cur, int64_t n,
                            int64_t k_prev, int64_t k_cur, int32_t kind, int32_t normalize,
                            float *out, int64_t ld);

/**
 * The same as a library-owned k_prev x k_cur CSR matrix (at most n
 * entries; rlcc_csr_cols() gives k_cur). normalize may not be SOFTMAX.
 * Since 1.2.
 */
RLCC_API int rlcc_consensus_csr(const int32_t *prev, const int32_t *cur, int64_t n,
                                int64_t k_prev, int64_t k_cur, int32_t kind,
                                int32_t normalize, rlcc_csr **out);

/** Options for the consensus functions' _opts twins. Since 1.4. Fill with
 *  rlcc_consensus_options_init(). */
typedef struct rlcc_consensus_options {
    /** sizeof(rlcc_consensus_options) as the caller compiled it. */
    size_t struct_size;
    /** RLCC_CONSENSUS_IOU (default) or RLCC_CONSENSUS_COUNT; unused by
     *  rlcc_consensus_counts_opts(). */
    int32_t kind;
    /** RLCC_NORMALIZE_SUM (default), NONE or SOFTMAX (dense output only);
     *  unused by rlcc_consensus_counts_opts(). */
    int32_t normalize;
    /** As rlcc_dbscan_options.n_threads. The consensus is one sort of n
     *  keys and runs on the calling thread in 1.4; the field is there so a
     *  release that parallelises it needs no new symbol. */
    int32_t n_threads;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** As rlcc_dbscan_options.max_bytes (about 8 n + 8 (k_prev + k_cur)
     *  bytes, plus the CSR result while it is built). */
    int64_t max_bytes;
} rlcc_consensus_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.4. */
RLCC_API int rlcc_consensus_options_init(rlcc_consensus_options *options, size_t struct_size);

/** rlcc_consensus_counts() with options (may be NULL). Since 1.4. */
RLCC_API int rlcc_consensus_counts_opts(const int32_t *prev, const int32_t *cur, int64_t n,
                                        int64_t k_prev, int64_t k_cur,
                                        const rlcc_consensus_options *options,
                                        int64_t *counts, int64_t ld);

/** rlcc_consensus() with kind and normalize in options (may be NULL: IoU,
 *  row sums). Since 1.4. */
RLCC_API int rlcc_consensus_opts(const int32_t *prev, const int32_t *cur, int64_t n,
                                 int64_t k_prev, int64_t k_cur,
                                 const rlcc_consensus_options *options, float *out,
                                 int64_t ld);

/** rlcc_consensus_csr() with kind and normalize in options (may be NULL).
 *  Since 1.4. */
RLCC_API int rlcc_consensus_csr_opts(const int32_t *prev, const int32_t *cur, int64_t n,
                                     int64_t k_prev, int64_t k_cur,
                                     const rlcc_consensus_options *options, rlcc_csr **out);

/** Columns of a CSR matrix (n for a Jaccard result); 0 for NULL. Since 1.2. */
RLCC_API int64_t rlcc_csr_cols(const rlcc_csr *matrix);

/**
 * Class probabilities softmax(scale * x_i . c_a) over the k classes, for
 * the samples in rows: one SGEMM for the dot products x_i . c_a, then a row
 * softmax of scale times them, in double and shifted by the row's largest
 * term (float32 output). Since 1.6 no finite input gives NaN: before, the
 * logits were scaled in float32, and a large scale on large rows made them
 * inf and the softmax inf - inf (scale 1e30 on rows of norm 1e15: every
 * probability NaN, returned as RLCC_OK).
 *   x          as rlcc_dbscan_features() (finite, squared norms <= 2^120);
 *              only the rows listed are read.
 *   centroids  k x d float32, row stride ldc (centroids of the previous
 *              generation, or a contrastive memory): finite, every row's
 *              squared norm <= 2^120 as for x (since 1.6), so that no dot
 *              product overflows float32.
 *   scale      > 0 and finite (RLCC: 30).
 *   probs      out, n_rows x k, row stride ldp >= k.
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY. Since 1.2.
 */
RLCC_API int rlcc_class_probabilities(const float *x, int64_t n, int64_t d, int64_t ldx,
                                      const float *centroids, int64_t k, int64_t ldc,
                                      float scale, const int64_t *rows, int64_t n_rows,
                                      float *probs, int64_t ldp, int32_t n_threads);

/** Options for rlcc_class_probabilities_opts(). Since 1.4. Fill with
 *  rlcc_probability_options_init(). */
typedef struct rlcc_probability_options {
    /** sizeof(rlcc_probability_options) as the caller compiled it. */
    size_t struct_size;
    /** Softmax scale, > 0 and finite (default 30, RLCC's). */
    float scale;
    /** As rlcc_dbscan_options.n_threads (the softmax rows and the row
     *  checks; OpenBLAS's SGEMM keeps its own threads). */
    int32_t n_threads;
    /** As rlcc_dbscan_options.max_bytes (n_rows x d floats when rows is
     *  not NULL: the batch's rows gathered). */
    int64_t max_bytes;
} rlcc_probability_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.4. */
RLCC_API int rlcc_probability_options_init(rlcc_probability_options *options,
                                           size_t struct_size);

/** rlcc_class_probabilities() with scale and threads in options (may be
 *  NULL). Only the rows listed are read and checked for NaN/Inf. The same
 *  bytes as rlcc_class_probabilities() with the same arguments. Since 1.4. */
RLCC_API int rlcc_class_probabilities_opts(const float *x, int64_t n, int64_t d, int64_t ldx,
                                           const float *centroids, int64_t k, int64_t ldc,
                                           const int64_t *rows, int64_t n_rows,
                                           const rlcc_probability_options *options,
                                           float *probs, int64_t ldp);

/**
 * Propagation of the previous generation's labels through the normalised
 * consensus matrix Chat (k_prev x k_cur, CSR arrays, e.g. from
 * rlcc_consensus_csr() or scipy):
 *   hard = Chat[prev[i]]              (a zero row when prev[i] == -1)
 *   soft = (w onehot(prev[i]) + (1 - w) P[r]) Chat
 *   S[r] = beta hard + (1 - beta) soft
 * for sample i = rows[r].
 *   prev       n int32 previous labels, in [-1, k_prev).
 *   probs      n_rows x k_prev (row stride ldp) previous-class
 *              probabilities of the same samples; may be NULL only when
 *              beta == 1.
 *   w, beta    in [0, 1].
 *   out        n_rows x k_cur float32, row stride ldo >= k_cur.
 * Rows are independent and computed in parallel with OpenMP's default
 * thread count; the result does not depend on it.
 * Errors: RLCC_E_INVALID_ARGUMENT. Thread-safe. Since 1.2.
 */
RLCC_API int rlcc_propagate(const int32_t *prev, int64_t n, const int64_t *chat_indptr,
                            const int32_t *chat_indices, const float *chat_data,
                            int64_t k_prev, int64_t k_cur, const float *probs, int64_t ldp,
                            float w, float beta, const int64_t *rows, int64_t n_rows,
                            float *out, int64_t ldo);

/** Options for rlcc_propagate_opts(). Since 1.4. Fill with
 *  rlcc_propagate_options_init(). */
typedef struct rlcc_propagate_options {
    /** sizeof(rlcc_propagate_options) as the caller compiled it. */
    size_t struct_size;
    /** Weight of the previous hard label in P', in [0, 1] (default 0.9). */
    float w;
    /** Share of hard propagation, in [0, 1] (default 0: soft only). */
    float beta;
    /** As rlcc_dbscan_options.n_threads; rows are independent, so the
     *  result does not depend on it. */
    int32_t n_threads;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** As rlcc_dbscan_options.max_bytes (propagation allocates nothing in
     *  1.4). */
    int64_t max_bytes;
} rlcc_propagate_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.4. */
RLCC_API int rlcc_propagate_options_init(rlcc_propagate_options *options, size_t struct_size);

/** rlcc_propagate() with w, beta and threads in options (may be NULL). The
 *  same bytes as rlcc_propagate(). Since 1.4. */
RLCC_API int rlcc_propagate_opts(const int32_t *prev, int64_t n, const int64_t *chat_indptr,
                                 const int32_t *chat_indices, const float *chat_data,
                                 int64_t k_prev, int64_t k_cur, const float *probs,
                                 int64_t ldp, const int64_t *rows, int64_t n_rows,
                                 const rlcc_propagate_options *options, float *out,
                                 int64_t ldo);

/**
 * Momentum blending into training targets:
 *   T[r] = alpha onehot(cur[i]) + (1 - alpha) S[r]   for cur[i] >= 0
 *   T[r] = 0                                          for cur[i] == -1
 * for sample i = rows[r]. s and out may be the same buffer (with lds ==
 * ldo; any other overlap is refused, see the conventions at the top).
 *   cur        n int32 current labels in [-1, k_cur).
 *   s          n_rows x k_cur (row stride lds), may be NULL (S = 0: the
 *              generation-0 targets alpha onehot; use alpha = 1 for the
 *              plain hard label).
 *   alpha      in [0, 1].
 * Errors: RLCC_E_INVALID_ARGUMENT. Since 1.2.
 */
RLCC_API int rlcc_blend(const int32_t *cur, int64_t n, int64_t k_cur, const float *s,
                        int64_t lds, float alpha, const int64_t *rows, int64_t n_rows,
                        float *out, int64_t ldo);

/** Options for rlcc_blend_opts(). Since 1.4. Fill with
 *  rlcc_blend_options_init(). */
typedef struct rlcc_blend_options {
    /** sizeof(rlcc_blend_options) as the caller compiled it. */
    size_t struct_size;
    /** Momentum of the current hard label, in [0, 1] (default 0.9). */
    float alpha;
    /** As rlcc_dbscan_options.n_threads. */
    int32_t n_threads;
    /** As rlcc_dbscan_options.max_bytes (blending allocates nothing in
     *  1.4). */
    int64_t max_bytes;
} rlcc_blend_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.4. */
RLCC_API int rlcc_blend_options_init(rlcc_blend_options *options, size_t struct_size);

/** rlcc_blend() with alpha and threads in options (may be NULL). s and out
 *  may be the same buffer. Since 1.4. */
RLCC_API int rlcc_blend_opts(const int32_t *cur, int64_t n, int64_t k_cur, const float *s,
                             int64_t lds, const int64_t *rows, int64_t n_rows,
                             const rlcc_blend_options *options, float *out, int64_t ldo);

/* ------------------------------------------------------------------------
 * The refiner: RLCC across generations (1.2)
 * ------------------------------------------------------------------------ */

/** An RLCC run: what generation t needs from t-1. Its read functions
 *  (labels, centroids, targets, ...) may run concurrently with each other;
 *  a step excludes every other call on the same handle: a call that would
 *  overlap a step (from another thread, or from inside the step's own
 *  callbacks) is refused with RLCC_E_INVALID_ARGUMENT ("in use"), never
 *  allowed to corrupt the handle. The getters (rlcc_refiner_generation(),
 *  _n_classes(), _threshold(), _bytes()) are not readers: they answer -1
 *  (NaN) during a step and never make a step fail, so a thread may poll
 *  them (since 1.6; before, a concurrent step could be refused as "in
 *  use"). rlcc_refiner_free() must not overlap a call from another thread;
 *  from inside a step's own callbacks it is allowed, see there. A callback
 *  must return: leaving it with longjmp() (or a C++ exception through the
 *  C frames) is undefined behaviour, as with any C callback API: the
 *  handle would stay in use and the step's memory would leak. Since 1.2. */
typedef struct rlcc_refiner rlcc_refiner;

/**
 * Fills rows [start, start + count) of the training set's features into
 * rows (row stride ld, the library's buffer) and returns how many rows it
 * filled (count on success) or a negative value to stop with an error.
 * Called on the thread that called rlcc_refiner_step(), never from OpenMP
 * workers. Since 1.2.
 */
typedef int64_t (*rlcc_features_fn)(int64_t start, int64_t count, float *rows, int64_t ld,
                                    void *user_data);

/**
 * Optional: fills the previous model's class logits (k_prev columns) for
 * samples [start, start + count) into logits (row stride ld); librlcc
 * applies a row softmax. Returns count, or a negative value to stop.
 * Same thread rule as rlcc_features_fn. Since 1.2.
 */
typedef int64_t (*rlcc_logits_fn)(int64_t start, int64_t count, int64_t k_prev, float *logits,
                                  int64_t ld, void *user_data);

/** Stages reported to a rlcc_progress_fn. Since 1.2. */
#define RLCC_STAGE_FEATURES 0 /**< Reading the features (fraction: rows read). */
#define RLCC_STAGE_CLUSTERING 1 /**< Pseudo labels and centroids. */
#define RLCC_STAGE_CONSENSUS 2 /**< Consensus and class probabilities (generation >= 1). */
#define RLCC_STAGE_DONE 3 /**< About to commit the generation; cancelling still undoes it. */

/**
 * Optional progress report: stage and the fraction of it done, in [0, 1].
 * Return 0 to go on, non-zero to cancel (the step returns
 * RLCC_E_CANCELED and the refiner stays as it was). Same thread rule as
 * rlcc_features_fn. Since 1.2.
 */
typedef int (*rlcc_progress_fn)(int32_t stage, double fraction, void *user_data);

/**
 * Options of the consensus part of the refiner. Since 1.2. Fill with
 * rlcc_refiner_options_init().
 */
typedef struct rlcc_refiner_options {
    /** sizeof(rlcc_refiner_options) as the caller compiled it. */
    size_t struct_size;
    /** Momentum of the current hard label (default 0.9). */
    float alpha;
    /** Weight of the previous hard label in P' from generation 2 on
     *  (default 0.9). */
    float w;
    /** Share of hard propagation (default 0: soft only). */
    float beta;
    /** Softmax scale of the centroid similarities (default 30): > 0 and
     *  finite, as rlcc_class_probabilities() takes it (any such scale
     *  gives finite targets, since 1.6). */
    float scale;
} rlcc_refiner_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.2. */
RLCC_API int rlcc_refiner_options_init(rlcc_refiner_options *options, size_t struct_size);

/**
 * A new refiner for n training samples of dimension d (generation 0 next).
 * pseudo and options may be NULL (defaults); both are copied. *out receives
 * the handle, to free with rlcc_refiner_free(). pseudo->method chooses the
 * pseudo-labeler every step uses; pseudo->n_threads and pseudo->max_bytes
 * are the refiner's defaults for its steps and targets.
 *
 * Memory (since 1.4). Everything a refiner holds between steps is charged
 * to its budget (pseudo->max_bytes; 0: half of physical memory) and
 * reported by rlcc_refiner_bytes(): after generation t >= 1, with K and
 * K' the class counts of generations t and t-1,
 *   8 n                 labels of t and t-1
 *   4 d (K + K')        centroids of t and t-1
 *   8 (K' + 1) + 8 m    the consensus matrix, sized for m <= n entries: m
 *                       the samples labelled (>= 0) in both generations
 *   4 n K'              with a logits callback: the probabilities it gave
 *   4 n d               only when beta < 1, no logits callback and the
 *                       features were copied (not borrowed): the rows the
 *                       per-batch class probabilities read
 *   8 n k1              kNN lists set for the next step, until it runs
 * (after generation 0: 4 n + 4 d K). Nothing else: the previous features,
 * consensus and probabilities are dropped at each step. A step adds, while
 * it runs, the pseudo-label working memory (as rlcc_pseudo_labels()), the
 * new generation's arrays, and with a features callback the 4 n d of the
 * rows it reads; its max_bytes bounds the whole of it. Since 1.2.
 */
RLCC_API int rlcc_refiner_new(int64_t n, int64_t d, const rlcc_pseudo_options *pseudo,
                              const rlcc_refiner_options *options, rlcc_refiner **out);

/** Frees a refiner; NULL is fine. Called from inside one of the
 *  refiner's own step callbacks (or a thread such a callback waits for),
 *  it frees nothing then: the step goes on to its end, and the refiner is
 *  freed as the step returns (the step's result then goes nowhere; use the
 *  handle no more). Since 1.6; before, that was a use after free. Since
 *  1.2. */
RLCC_API void rlcc_refiner_free(rlcc_refiner *refiner);

/**
 * One generation: reads the features through features() in batches of
 * batch rows, computes the pseudo labels (the reliability threshold is
 * computed at generation 0 and kept), the centroids, and, from generation
 * 1 on, the consensus with the previous generation and the class
 * probabilities against its centroids (or through logits()). Then the
 * generation number advances. Generation 0's targets are the hard labels;
 * generation 1 uses P without the w-blend; generation 2 on, with it.
 *   logits, progress   may be NULL (with their user data).
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_CALLBACK (a callback returned a
 * negative value or filled fewer rows than asked), RLCC_E_CANCELED,
 * RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT; on any error the refiner is
 * left as it was and nothing leaks. Since 1.2.
 */
RLCC_API int rlcc_refiner_step(rlcc_refiner *refiner, rlcc_features_fn features,
                               void *features_data, int64_t batch, rlcc_logits_fn logits,
                               void *logits_data, rlcc_progress_fn progress,
                               void *progress_data);

/**
 * Options of a step. Since 1.4. Fill with rlcc_step_options_init().
 */
typedef struct rlcc_step_options {
    /** sizeof(rlcc_step_options) as the caller compiled it. */
    size_t struct_size;
    /** Rows per callback call, >= 1 (default 1024). */
    int64_t batch;
    /** Optional: the previous model's logits, as rlcc_refiner_step()'s
     *  (NULL: probabilities from the features and the previous centroids,
     *  per batch of targets). */
    rlcc_logits_fn logits;
    /** Passed to logits. */
    void *logits_data;
    /** Optional progress report, as rlcc_refiner_step()'s. */
    rlcc_progress_fn progress;
    /** Passed to progress. */
    void *progress_data;
    /** rlcc_refiner_step_matrix() only. 0 (default): the refiner copies the
     *  rows it will read later (only when it will: beta < 1 and no logits
     *  callback). 1: it keeps a pointer to the caller's matrix instead, no
     *  copy at all. Only the target calls (rlcc_refiner_targets(),
     *  rlcc_refiner_targets_opts()) and, since 1.6, rlcc_refiner_save() read
     *  a borrowed matrix after the step returns; later steps, the getters
     *  and rlcc_refiner_free() never do. So the caller keeps the matrix
     *  alive, and unchanged, for as long as it asks for targets of that
     *  generation or saves it. A trainer that refills the same matrix with
     *  the next epoch's features and steps again with it needs no second
     *  matrix; if that step fails, the refiner keeps the previous
     *  generation, whose targets (and a checkpoint) would read the new
     *  rows: ask for none until a step succeeds. */
    int32_t borrow;
    /** As rlcc_dbscan_options.n_threads; 0 (default): the refiner's
     *  pseudo-label options' n_threads. */
    int32_t n_threads;
    /** Upper bound on what the refiner holds plus what the step allocates
     *  while it runs; 0 (default): the refiner's budget (its pseudo-label
     *  options' max_bytes). */
    int64_t max_bytes;
} rlcc_step_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.4. */
RLCC_API int rlcc_step_options_init(rlcc_step_options *options, size_t struct_size);

/**
 * rlcc_refiner_step() with its batch, callbacks, threads and memory bound
 * in options (may be NULL: batches of 1024, no logits, no progress). The
 * same generation, bit for bit, as rlcc_refiner_step(). Since 1.4.
 */
RLCC_API int rlcc_refiner_step_opts(rlcc_refiner *refiner, rlcc_features_fn features,
                                    void *features_data, const rlcc_step_options *options);

/**
 * One generation from features the caller holds in memory: x is n x d
 * float32 with row stride ldx >= d, read during the call and, when
 * options->borrow is 1, afterwards (see rlcc_step_options.borrow). The
 * same generation, bit for bit, as a callback step over the same rows; no
 * copy is made while the step runs, so a step holds at most one n x d
 * copy (the one kept for later targets) and none when borrowing.
 * Errors as rlcc_refiner_step() (and RLCC_E_INVALID_ARGUMENT for a NULL x
 * or ldx < d); on any error the refiner is left as it was. Since 1.4.
 */
RLCC_API int rlcc_refiner_step_matrix(rlcc_refiner *refiner, const float *x, int64_t ldx,
                                      const rlcc_step_options *options);

/** Bytes the refiner holds now, all charged to its budget (the formula at
 *  rlcc_refiner_new()); -1 while a step runs, 0 for NULL. Since 1.4. */
RLCC_API int64_t rlcc_refiner_bytes(const rlcc_refiner *refiner);

/**
 * The kNN lists of the features the next rlcc_refiner_step() reads: n x k1
 * int64, row-major (k1 of the refiner's pseudo-label options; Jaccard only),
 * for a trainer that computes them itself (faiss on a GPU, the block kNN
 * across machines). Copied; checked by that step as rlcc_jaccard() checks
 * its knn (a bad list fails the step with RLCC_E_INVALID_ARGUMENT and
 * changes nothing). Used by the next step that succeeds, then dropped;
 * NULL drops lists set before. Like a step it holds the refiner alone
 * while it copies: a concurrent step, getter or target call is refused
 * (in use), and it is refused during theirs.
 * Errors: RLCC_E_INVALID_ARGUMENT (NULL refiner, a metric other than
 * Jaccard, k1 outside [1, n], in use), RLCC_E_OUT_OF_MEMORY. Since 1.3.
 */
RLCC_API int rlcc_refiner_set_knn(rlcc_refiner *refiner, const int64_t *knn);

/** Generations completed so far (0 before the first step; -1 while a
 *  step runs on another thread). Never makes a concurrent step fail (since
 *  1.6; the other getters too). Since 1.2. */
RLCC_API int64_t rlcc_refiner_generation(const rlcc_refiner *refiner);

/** Classes of the latest generation (0 before the first step; -1 while a
 *  step runs). Since 1.2. */
RLCC_API int64_t rlcc_refiner_n_classes(const rlcc_refiner *refiner);

/** The reliability threshold in use (0 before the first step; NaN while a
 *  step runs). Since 1.2. */
RLCC_API double rlcc_refiner_threshold(const rlcc_refiner *refiner);

/** Copies the latest labels (n int32) into labels. Since 1.2. */
RLCC_API int rlcc_refiner_labels(const rlcc_refiner *refiner, int32_t *labels);

/** Copies the latest centroids (n_classes x d, row stride ld >= d).
 *  Since 1.2. */
RLCC_API int rlcc_refiner_centroids(const rlcc_refiner *refiner, float *centroids, int64_t ld);

/**
 * The training targets of the latest generation for the n_rows samples
 * listed in rows (NULL: every sample, n_rows == n): n_rows x n_classes float32
 * into out (row stride ld >= n_classes). Each row sums to
 * alpha + (1 - alpha) rowsum(S) for a training sample and is zero for a
 * sample labelled -1. Memory: n_rows x (k_prev + n_classes) floats, never
 * n x K.
 * A row is the same whichever batch it comes in up to float32 SGEMM
 * rounding (OpenBLAS rounds an entry of X C^T differently with the shape
 * of the product): within 1e-6, not bit for bit, from generation 1 on.
 * A refiner whose latest step was rlcc_refiner_step_labels() holds no
 * features: when its targets read them this call refuses
 * (RLCC_E_INVALID_ARGUMENT) and rlcc_refiner_targets_rows() takes them.
 * Since 1.2.
 */
RLCC_API int rlcc_refiner_targets(const rlcc_refiner *refiner, const int64_t *rows,
                                  int64_t n_rows, float *out, int64_t ld);

/** Options for rlcc_refiner_targets_opts(). Since 1.4. Fill with
 *  rlcc_targets_options_init(). */
typedef struct rlcc_targets_options {
    /** sizeof(rlcc_targets_options) as the caller compiled it. */
    size_t struct_size;
    /** As rlcc_dbscan_options.n_threads; 0 (default): the refiner's
     *  pseudo-label options' n_threads. */
    int32_t n_threads;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** Upper bound on the call's working memory: n_rows x k_prev floats of
     *  probabilities and, without logits, the batch's n_rows x d rows
     *  gathered; 0 (default): the refiner's pseudo-label options'
     *  max_bytes (itself 0: half of physical memory). */
    int64_t max_bytes;
} rlcc_targets_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.4. */
RLCC_API int rlcc_targets_options_init(rlcc_targets_options *options, size_t struct_size);

/**
 * rlcc_refiner_targets() with options (may be NULL); the same bytes. A
 * batch costs O(n_rows x (k_prev + K) + n_rows x d), never O(n): nothing
 * the refiner built is checked again. Since 1.4.
 */
RLCC_API int rlcc_refiner_targets_opts(const rlcc_refiner *refiner, const int64_t *rows,
                                       int64_t n_rows, const rlcc_targets_options *options,
                                       float *out, int64_t ld);

/**
 * One generation from pseudo labels and centroids the caller computed
 * (across machines with rlcc_mpi_pseudo_labels(), or in Python with
 * rlcc.distributed): everything rlcc_refiner_step_matrix() does once it
 * has clustered (the consensus with the previous generation, and the
 * logits' probabilities when options->logits is set), but no features are
 * read and none are kept. Given the labels, centroids and threshold a
 * matrix step would compute, the refiner's state (labels, centroids,
 * threshold, consensus, checkpoint, every target) is that step's, bit for
 * bit.
 *   labels     n int32, as rlcc_pseudo_labels() leaves them under the
 *              refiner's pseudo-label options: in [-1, n_classes),
 *              n_classes - 1 the largest, no -1 under
 *              RLCC_OUTLIERS_SINGLETON, no empty class unless the
 *              reliability criterion runs without its guard. Copied.
 *   n_classes  >= 1 (at most n; 2 n for the criterion without its guard).
 *   centroids  n_classes x d float32, row stride ldc >= d: finite rows of
 *              unit length (squared norm within 1e-3 of 1) or zero, as
 *              rlcc_centroids() makes them. Copied.
 *   threshold  the reliability threshold the labels were made with: at
 *              generation 0 what rlcc_pseudo_labels() returned under the
 *              refiner's options (0 without the criterion, the options'
 *              threshold when it was given, else one in [0, 1]); from
 *              generation 1 on exactly rlcc_refiner_threshold(), which
 *              the refiner keeps from generation 0 (pass it to
 *              rlcc_pseudo_labels() as options.threshold).
 *   options    as rlcc_refiner_step_matrix()'s (NULL: defaults); borrow
 *              must be 0, nothing being read to borrow.
 * Kept kNN lists (rlcc_refiner_set_knn()) are dropped as a step drops
 * them. From the second step on, with beta < 1 and no logits callback, the
 * targets read the features, which this refiner does not hold:
 * rlcc_refiner_targets() and _targets_opts() then refuse, and
 * rlcc_refiner_targets_rows() takes the batch's rows from the caller.
 * Memory: 4 n + 4 d K held (the copies), the consensus as a step's.
 * Errors: RLCC_E_INVALID_ARGUMENT (arguments as above, in use),
 * RLCC_E_CALLBACK, RLCC_E_CANCELED, RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT; on any error the refiner is left as it was. Since
 * 1.8.
 */
RLCC_API int rlcc_refiner_step_labels(rlcc_refiner *refiner, const int32_t *labels,
                                      int64_t n_classes, const float *centroids, int64_t ldc,
                                      double threshold, const rlcc_step_options *options);

/**
 * rlcc_refiner_targets_opts() with the batch's features given by the
 * caller: row q of x (n_rows x d, row stride ldx >= d; finite) holds the
 * features of sample rows[q] as the latest step saw them (rows NULL: every
 * sample in order, n_rows == n). The same bytes as
 * rlcc_refiner_targets_opts() for the same rows of a refiner that kept
 * those features; what a refiner stepped with rlcc_refiner_step_labels()
 * needs, and what a distributed trainer calls once it has fetched the
 * batch's rows from the machines that hold them. x is read only when the
 * targets read features (generation >= 2, beta < 1, no logits at the
 * latest step); otherwise it may be NULL and is ignored. Memory: as
 * rlcc_refiner_targets_opts(), without the gathered rows when ldx == d.
 * Errors: as rlcc_refiner_targets_opts(); RLCC_E_INVALID_ARGUMENT also for
 * x NULL when it is read, ldx < d, a row that is not finite or whose
 * squared norm exceeds 2^120, x overlapping out. Since 1.8.
 */
RLCC_API int rlcc_refiner_targets_rows(const rlcc_refiner *refiner, const int64_t *rows,
                                       int64_t n_rows, const float *x, int64_t ldx,
                                       const rlcc_targets_options *options, float *out,
                                       int64_t ld);

/* ------------------------------------------------------------------------
 * Refiner checkpoints (1.6)
 *
 * rlcc_refiner_save() writes a refiner's state into a caller buffer and
 * rlcc_refiner_load() makes a new refiner from such bytes: a trainer that
 * stops (a preempted job, a crash, a new machine) resumes with the same
 * labels, centroids, threshold, targets and later generations, bit for
 * bit, as a refiner that never stopped.
 *
 * The state holds everything the next step and the current generation's
 * targets read, and nothing a caller gives again anyway:
 *   - n, d, the generations completed, the reliability threshold in use;
 *   - the pseudo-label options (as the refiner keeps them: eps sorted,
 *     knn NULL; n_threads and max_bytes included) and the refiner options;
 *   - the labels and centroids of the latest generation and, from
 *     generation 2 on, of the one before;
 *   - with a logits callback at the latest step: the class probabilities
 *     it gave (n x K');
 *   - when the targets read the features (beta < 1, no logits, generation
 *     >= 2): their rows, copied or borrowed alike (a borrowed matrix is
 *     read by the save);
 *   - kNN lists set with rlcc_refiner_set_knn() for the next step;
 *   - (since 1.8) whether the targets read the caller's rows, the latest
 *     step having come from rlcc_refiner_step_labels(): a flag, no array.
 * Not in it: callbacks and their user data (every step takes them, so a
 * restored refiner takes them from the caller like any other), and the
 * consensus matrix, a function of the two labelings that
 * rlcc_refiner_load() computes again with the code the step used (the
 * same bits).
 *
 * Format (docs/stability.md, "Checkpoint format", has the byte layout):
 * a fixed 192-byte header (256 in format 2), then the arrays, then a CRC-32C (Castagnoli) of
 * every byte before it. Every integer and float is little-endian whatever
 * the machine (floats as their IEEE-754 bits), with no padding and nothing
 * that varies between saves: the same refiner state gives the same bytes,
 * and saving a loaded refiner gives back the bytes it was loaded from (but
 * for the writer's version field, and so the checksum, when another librlcc
 * wrote them). The header holds a magic number, the format version
 * (RLCC_STATE_FORMAT), the librlcc version that wrote it, flags for the
 * optional arrays, the sizes and every option. Size in bytes, with K and K'
 * the class counts of the latest generation and the one before:
 *   196                     the header and the checksum, always (260 in
 *                           format 2: the InfoMap and k-means options)
 *   + 4 n + 4 d K           after generation 0 (one generation done)
 *   + 4 n + 4 d K'          from two generations done
 *   + 4 n K'                the logits' probabilities, when kept
 *   + 4 n d                 the features, when the targets read them
 *   + 8 n k1                kNN lists for the next step, when set (k1 is
 *                           infomap_k for InfoMap)
 * A state is written in the oldest format that holds it: format 1 for a
 * DBSCAN refiner (what librlcc 1.6 reads), format 2 (since 1.7) for the
 * InfoMap and k-means refiners.
 * A release of major version 1 reads every format an earlier one wrote.
 * ------------------------------------------------------------------------ */

/** The latest checkpoint format version rlcc_refiner_save() writes (2 since
 *  1.7, for InfoMap and k-means refiners; DBSCAN refiners are still written
 *  in format 1); rlcc_refiner_load() reads it and every earlier one, and
 *  refuses a later one. Since 1.6. */
#define RLCC_STATE_FORMAT 2

/**
 * Writes the refiner's state (see above) into buffer, capacity bytes long.
 * The size query is the usual two calls:
 *   - buffer NULL: *size receives the bytes the state needs; nothing is
 *     written and capacity is ignored; RLCC_OK;
 *   - capacity >= that: the state is written to buffer[0 .. *size) and
 *     *size receives its length; RLCC_OK;
 *   - capacity below it: RLCC_E_INVALID_ARGUMENT, buffer untouched, and
 *     *size still receives the bytes needed (the one output a refused call
 *     writes, so a caller can grow its buffer and call again).
 * The size changes only with a step or rlcc_refiner_set_knn(); a caller
 * that lets those run between its two calls gets the refusal above and
 * asks again. Usable at every generation, 0 included.
 *
 * A reader, as the target calls: it may run at once with them and with
 * other readers, and is refused (in use) while a step or set_knn runs.
 * With borrowed features it reads the caller's matrix, which must be as
 * the step saw it (rlcc_step_options.borrow). Allocates nothing.
 * Errors: RLCC_E_INVALID_ARGUMENT (refiner or size NULL, capacity too
 * small, in use, a state larger than size_t can count). Since 1.6.
 */
RLCC_API int rlcc_refiner_save(const rlcc_refiner *refiner, void *buffer, size_t capacity,
                               size_t *size);

/** Options for rlcc_refiner_load(). Since 1.6. Fill with
 *  rlcc_load_options_init(). */
typedef struct rlcc_load_options {
    /** sizeof(rlcc_load_options) as the caller compiled it. */
    size_t struct_size;
    /** Threads for the checks of the loaded arrays, as
     *  rlcc_dbscan_options.n_threads (0, the default: omp_get_max_threads()).
     *  Never the saved refiner's n_threads: bytes from elsewhere do not
     *  choose this call's threads. Not kept by the new refiner. */
    int32_t n_threads;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** Upper bound on what the call allocates: the new refiner's arrays
     *  plus the call's working memory (about 8 n + 9 (K + K') bytes for the
     *  consensus computed again and the label checks, and 8 n for the
     *  features check); 0 (default): the saved refiner's budget (its
     *  pseudo-label options' max_bytes). As a step's max_bytes, it holds
     *  for this call only: the new refiner's own budget is the saved one. */
    int64_t max_bytes;
} rlcc_load_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.6. */
RLCC_API int rlcc_load_options_init(rlcc_load_options *options, size_t struct_size);

/**
 * A new refiner from size bytes of state written by rlcc_refiner_save()
 * (of this librlcc or an earlier one), into *out, to free with
 * rlcc_refiner_free(). Its generation, labels, centroids, threshold,
 * targets and rlcc_refiner_bytes() are those of the refiner that was
 * saved, and so is every later step given the same features, callbacks
 * and step options, bit for bit. What the caller gives again is what it
 * gives every step anyway: the features, the callbacks and their user
 * data. Features that were borrowed at the save are not borrowed again:
 * the new refiner owns a copy of those rows (so rlcc_refiner_bytes() then
 * counts 4 n d the saved refiner did not), until its next step copies or
 * borrows as that step's options say.
 *
 * The bytes are never trusted: everything is checked before *out is
 * written, with the checks the library applies to a caller's arguments,
 * and a state that fails one is refused with RLCC_E_INVALID_ARGUMENT and a
 * message that starts "state: " and names what is wrong:
 *   - fewer bytes than the header, a wrong magic number (not a refiner
 *     state), a size other than the one the header declares (truncated, or
 *     bytes after the end), a checksum mismatch (corrupted);
 *   - a format version later than RLCC_STATE_FORMAT (a newer librlcc wrote
 *     it: the message names that version), unknown flags, non-zero
 *     reserved fields;
 *   - options rlcc_refiner_new() would refuse (with its message), eps not
 *     in ascending order;
 *   - sizes that do not fit together: classes that are not between 1 and
 *     n for a generation that has them (2 n with the reliability criterion
 *     but no guard, which gives every sample it ejects a class of its own;
 *     0 for a generation that does not), an array the generation count,
 *     beta or the logits cannot have left, features missing where the
 *     targets read them;
 *   - labels outside [-1, K) or whose largest is not K - 1 (as
 *     rlcc_pseudo_labels() numbers them), -1 under the singleton outlier
 *     policy, a class without members where the options never leave one
 *     (guard on, or no reliability criterion);
 *   - centroids that are not finite or whose rows are neither zero nor of
 *     unit length (squared norm within 1e-3 of 1), as rlcc_centroids()
 *     makes them; probabilities that are not finite, outside [0, 1] or in
 *     a row that does not sum to 1 (within 1e-3: softmax rows); features
 *     with NaN, Inf or a squared norm above 2^120 (the checks of the
 *     pseudo labels' input);
 *   - a threshold the options cannot have produced (not the one given in
 *     the pseudo-label options, 0 without the reliability criterion, or
 *     outside [0, 1] when computed; before generation 1, anything other
 *     than the pseudo-label options' threshold).
 * kNN lists for the next step are kept as rlcc_refiner_set_knn() keeps
 * them and checked by that step, as set_knn's are.
 *
 * Memory: the new refiner's arrays are charged to its own budget, as
 * rlcc_refiner_new() and its steps charge theirs; options->max_bytes
 * bounds them and the call's working memory (see rlcc_load_options). The
 * call allocates at most about three times size, whatever the header says
 * (every array is in the bytes). The saved n_threads and max_bytes become
 * the new refiner's defaults for its steps and targets, as
 * rlcc_refiner_new()'s options would: a program that loads states it did
 * not write itself gives those calls their own n_threads and max_bytes.
 * options may be NULL (defaults).
 * Errors: RLCC_E_INVALID_ARGUMENT (also: out NULL, state NULL with size >
 * 0), RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT; on every error *out is
 * untouched and nothing is left allocated. Thread-safe: it only reads
 * state, which several threads may load at once. Since 1.6.
 */
RLCC_API int rlcc_refiner_load(const void *state, size_t size, const rlcc_load_options *options,
                               rlcc_refiner **out);

/* ------------------------------------------------------------------------
 * The methods after RLCC (1.7): camera-aware proxies (CAP, ICE, O2CAP,
 * PPLR), InfoMap pseudo labels (Cluster Contrast), k-means pseudo labels
 * (OpenUnReID, MMT), PPLR's cross-agreement, eps from a distance quantile
 * (SSG, DomainAdaptiveReID, MMT). Each is usable alone; InfoMap and
 * k-means are also pseudo-labelers of rlcc_pseudo_labels() and the
 * refiner (rlcc_pseudo_options.method). See docs/pipeline.md and
 * docs/integrations.md.
 * ------------------------------------------------------------------------ */

/** Proxy orders for rlcc_proxy_options.order. Since 1.7. */
#define RLCC_PROXIES_CAMERA_MAJOR 0 /**< Cameras ascending, then clusters (CAP, ICE). */
#define RLCC_PROXIES_CLUSTER_MAJOR 1 /**< Clusters ascending, then cameras (O2CAP, PPLR). */

/** Options for rlcc_camera_proxies(). Since 1.7. Fill with
 *  rlcc_proxy_options_init(). */
typedef struct rlcc_proxy_options {
    /** sizeof(rlcc_proxy_options) as the caller compiled it. */
    size_t struct_size;
    /** RLCC_PROXIES_CAMERA_MAJOR (default) or RLCC_PROXIES_CLUSTER_MAJOR. */
    int32_t order;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** As rlcc_dbscan_options.max_bytes (12 bytes per sample here: one
     *  sorted 64-bit key per labelled sample and the ids). */
    int64_t max_bytes;
} rlcc_proxy_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.7. */
RLCC_API int rlcc_proxy_options_init(rlcc_proxy_options *options, size_t struct_size);

/**
 * Camera-aware proxies: one proxy per (cluster, camera) pair that has a
 * member, numbered from 0 in the chosen order (spec: later-methods.md
 * section 1).
 *
 *   labels         n int32 >= -1 (-1 = noise: no proxy). Any values; they
 *                  are ordered numerically, need not be contiguous.
 *   cameras        n int32 >= 0, the camera of every sample (any values,
 *                  ordered numerically).
 *   proxy          out, n int32: the proxy of every sample, -1 for noise.
 *   n_proxies      out: M, the number of proxies.
 *   proxy_cluster  out, may be NULL: M int32, each proxy's label.
 *   proxy_camera   out, may be NULL: M int32, each proxy's camera.
 *                  M never exceeds n, so arrays of n entries always
 *                  suffice; the caller who knows less calls twice.
 * The proxies' centroids are rlcc_centroids_opts() over proxy (k = M);
 * its norm option RLCC_CENTROID_NORM_FLOAT32 gives CAP's and ICE's NumPy
 * bytes. n == 0 gives M = 0.
 * Errors: RLCC_E_INVALID_ARGUMENT (labels < -1, negative cameras, NULL
 * arrays with n > 0, outputs that overlap inputs or each other),
 * RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT; outputs untouched on error.
 * Thread-safe. Since 1.7.
 */
RLCC_API int rlcc_camera_proxies(const int32_t *labels, const int32_t *cameras, int64_t n,
                                 const rlcc_proxy_options *options, int32_t *proxy,
                                 int64_t *n_proxies, int32_t *proxy_cluster,
                                 int32_t *proxy_camera);

/** Options for rlcc_cross_agreement(). Since 1.7. Fill with
 *  rlcc_agreement_options_init(). */
typedef struct rlcc_agreement_options {
    /** sizeof(rlcc_agreement_options) as the caller compiled it. */
    size_t struct_size;
    /** List length (default 20, PPLR's): the k + 1 nearest rows, position 0
     *  dropped. */
    int32_t k;
    /** 0 (default): PPLR's rule, drop position 0 (the row itself unless a
     *  duplicate of lower index comes first); 1: the k nearest rows other
     *  than the row itself: it is dropped from the k + 1 wherever it is,
     *  or the last entry is when it is not among them (more than k rows of
     *  lower index at distance 0). The same lists without duplicate rows. */
    int32_t exclude_self;
    /** As rlcc_dbscan_options.n_threads. */
    int32_t n_threads;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** As rlcc_dbscan_options.max_bytes. */
    int64_t max_bytes;
} rlcc_agreement_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.7. */
RLCC_API int rlcc_agreement_options_init(rlcc_agreement_options *options,
                                         size_t struct_size);

/**
 * PPLR's cross-agreement scores (spec: later-methods.md section 4): for
 * sample i and part p, |R_g(i) & R_p(i)| / |R_g(i) | R_p(i)| (integer
 * counts, one float32 divide), where R(i) is i's list of k nearest rows
 * under rlcc_knn()'s exact contract (squared L2 decided in double, ties by
 * the lower index) in the global features and in part p's.
 *
 *   global, n, d_global, ld_global   the global features (finite).
 *   parts        n_parts pointers, each to n x d_part float32 rows with
 *                row stride ld_part (PPLR: 3 parts).
 *   scores       out, n x n_parts float32, row-major.
 * Needs k + 1 <= n and n_parts >= 1; every matrix finite. Memory: two
 * n x (k + 1) int32 lists, n doubles, the n x n_parts scores and
 * rlcc_knn()'s tile.
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT; scores untouched on error. Thread-safe; the same
 * bytes for every n_threads, max_bytes and BLAS kernel. Since 1.7.
 */
RLCC_API int rlcc_cross_agreement(const float *global, int64_t n, int64_t d_global,
                                  int64_t ld_global, const float *const *parts,
                                  int64_t n_parts, int64_t d_part, int64_t ld_part,
                                  const rlcc_agreement_options *options, float *scores);

/**
 * PPLR's part weights: each row of scores (n x n_parts, finite) through a
 * softmax over the parts, computed in double and rounded to float32 once.
 * weights (n x n_parts float32) may equal scores (in place); any other
 * overlap is refused. Errors: RLCC_E_INVALID_ARGUMENT. Since 1.7.
 */
RLCC_API int rlcc_part_weights(const float *scores, int64_t n, int64_t n_parts,
                               float *weights);

/** Summations for rlcc_quantile_options.summation. Since 1.7. */
#define RLCC_SUM_NUMPY 0 /**< NumPy's float32 sum: pairwise inside blocks of 8192 values (NumPy's buffer size), the blocks added in order; then a double divide (MMT's bytes). */
#define RLCC_SUM_DOUBLE 1 /**< Sequential in double, rounded to float32 once. */

/** Options for the rlcc_eps_from_quantile functions. Since 1.7. Fill with
 *  rlcc_quantile_options_init(). */
typedef struct rlcc_quantile_options {
    /** sizeof(rlcc_quantile_options) as the caller compiled it. */
    size_t struct_size;
    /** RLCC_SUM_NUMPY (default) or RLCC_SUM_DOUBLE. */
    int32_t summation;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** As rlcc_dbscan_options.max_bytes (the selection holds 4 bytes per
     *  selected value, never the whole triangle). */
    int64_t max_bytes;
} rlcc_quantile_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.7. */
RLCC_API int rlcc_quantile_options_init(rlcc_quantile_options *options, size_t struct_size);

/**
 * The DBSCAN radius of SSG, DomainAdaptiveReID and MMT (spec:
 * later-methods.md section 5): over the strict upper triangle (i < j) of
 * the dense n x n distance matrix dist (row stride ld >= n), without exact
 * zeros, the mean of the round_half_even(rho x count) smallest values
 * (the product in double), summed in ascending order. Only the strict
 * upper triangle is read. The selection is a bounded heap: O(count log
 * top) time, 4 bytes per selected value.
 *
 *   rho   in (0, 1) (the trainers: 1.6e-3).
 *   eps   out: the mean (a float32 value).
 * Errors: RLCC_E_INVALID_ARGUMENT (also: NaN, infinite or negative
 * distances, rho outside (0, 1), no value selected: the reference's NaN,
 * a float32 sum that overflows under RLCC_SUM_NUMPY),
 * RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT; *eps untouched on error.
 * Thread-safe. Since 1.7.
 */
RLCC_API int rlcc_eps_from_quantile(const float *dist, int64_t n, int64_t ld, double rho,
                                    const rlcc_quantile_options *options, double *eps);

/**
 * The same over a sparse n x n distance matrix in CSR form (indptr,
 * indices and data as rlcc_dbscan_csr(): columns strictly ascending in a
 * row, no duplicates), where a missing entry is distance 1 and an exact
 * zero must be stored: count = n (n - 1) / 2 minus the stored upper zeros.
 * A matrix cut at some c < 1 (rlcc_jaccard()'s cutoff) is exact only when
 * the selection lies below c: refused when it would need a missing entry
 * and fewer than the selected count of stored values lie below 1.
 * Otherwise as rlcc_eps_from_quantile(). Since 1.7.
 */
RLCC_API int rlcc_eps_from_quantile_csr(int64_t n, const int64_t *indptr,
                                        const int32_t *indices, const float *data,
                                        double rho, const rlcc_quantile_options *options,
                                        double *eps);

/** Options for rlcc_kmeans(). Since 1.7. Fill with rlcc_kmeans_options_init(). */
typedef struct rlcc_kmeans_options {
    /** sizeof(rlcc_kmeans_options) as the caller compiled it. */
    size_t struct_size;
    /** At most this many Lloyd steps (default 300). */
    int32_t max_iter;
    /** As rlcc_dbscan_options.n_threads. */
    int32_t n_threads;
    /** Stop when the summed squared centroid shift is <= tol x the mean
     *  per-feature variance of x (default 1e-4, scikit-learn's); 0: stop
     *  only when the labels repeat or no centroid moved at all (or at
     *  max_iter), as scikit-learn's tol=0. Finite, >= 0. */
    double tol;
    /** As rlcc_dbscan_options.max_bytes (a Gram tile, never n x k). */
    int64_t max_bytes;
} rlcc_kmeans_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.7. */
RLCC_API int rlcc_kmeans_options_init(rlcc_kmeans_options *options, size_t struct_size);

/**
 * Lloyd's k-means from the caller's start centroids, with scikit-learn's
 * KMeans(algorithm="lloyd", n_init=1, init=array) semantics (spec:
 * later-methods.md section 3): every row goes to the nearest centroid
 * under squared L2 decided in double from the float32 values (a float32
 * Gram screen with a proven bound, near-ties decided again in double; ties
 * to the lowest index), each centroid is the double sum of its members in
 * sample order over the count, rounded to float32; an empty cluster takes
 * the row farthest from its own centroid (distance descending, the higher
 * row first at equal distance as NumPy's argpartition gives scikit-learn;
 * several empty clusters in ascending id take the next rows of that
 * order; a cluster a move leaves empty takes the mean of x, scikit-learn's
 * centred zero). The labels returned are the assignments (a move does not
 * relabel a row, as in scikit-learn). Stops when the labels repeat, when
 * the shift is at or below tol, or after max_iter steps; unless stopped by
 * a repeat, the rows are assigned once more to the final centroids.
 * Equals scikit-learn 1.2 on float64 copies of the rows (labels, n_iter;
 * centroids within 1e-6) except at rounding-level near-ties of a distance
 * or of the stopping rule, and in steps with several empty clusters.
 *
 *   x, n, d, ldx   the rows (finite).
 *   init           k x d float32 start centroids, row stride ldi >= d
 *                  (finite); may equal centroids (then ldi == ldc).
 *   k              1 <= k <= n.
 *   centroids      out, k x d float32, row stride ldc >= d.
 *   labels         out, n int32 in [0, k).
 *   n_iter         out, may be NULL: the steps run, as scikit-learn's
 *                  n_iter_.
 * Work: per step one SGEMM of n x d x k (tiled within max_bytes) plus O(n
 * k + n d); memory about 16 k d + 48 n bytes besides the tile.
 * Errors: RLCC_E_INVALID_ARGUMENT (also: outputs overlapping each other
 * or x, init equal to centroids with ldi != ldc, rows with squared norm
 * above 2^120), RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT; outputs
 * untouched on error. Thread-safe; the same bytes for every n_threads,
 * max_bytes and BLAS kernel. Since 1.7.
 */
RLCC_API int rlcc_kmeans(const float *x, int64_t n, int64_t d, int64_t ldx,
                         const float *init, int64_t k, int64_t ldi,
                         const rlcc_kmeans_options *options, float *centroids, int64_t ldc,
                         int32_t *labels, int64_t *n_iter);

/**
 * faiss's k-means start (faiss 1.6 to 1.7, spec section 3), so a trainer
 * reproduces OpenUnReID's k-means: if n > max_points_per_centroid x k, the
 * training rows are the first max_points_per_centroid x k of
 * rand_perm(n, seed), else all rows in order; the start rows are the
 * training rows at rand_perm(n_train, seed + 1)[0 .. k-1] (rand_perm:
 * Fisher-Yates with std::mt19937 seeded with the low 32 bits, j = i +
 * mt() % (n - i)); when n_train == k, faiss copies the first k rows of x
 * instead (and runs no step): start_rows = 0 .. k-1. Checked against
 * Debian's faiss 1.7.3 (faiss >= 1.8 draws j differently).
 *
 *   n, k          1 <= k <= n.
 *   seed          faiss's default is 1234.
 *   max_points_per_centroid  > 0 (faiss's default 256).
 *   start_rows    out, k int64: row indices into the n rows.
 *   train_rows    out, may be NULL: the training rows in faiss's order,
 *                 *n_train of them: min(n, max_points_per_centroid x k).
 *   n_train       out, may be NULL.
 * Errors: RLCC_E_INVALID_ARGUMENT (also: overlapping outputs),
 * RLCC_E_OUT_OF_MEMORY (about 4 n bytes). Thread-safe. Since 1.7.
 */
RLCC_API int rlcc_kmeans_init_faiss(int64_t n, int64_t k, uint64_t seed,
                                    int64_t max_points_per_centroid, int64_t *start_rows,
                                    int64_t *train_rows, int64_t *n_train);

/** Options for rlcc_infomap_labels(). Since 1.7. Fill with
 *  rlcc_infomap_options_init(); the defaults are Cluster Contrast's. */
typedef struct rlcc_infomap_options {
    /** sizeof(rlcc_infomap_options) as the caller compiled it. */
    size_t struct_size;
    /** Neighbours per list, the row itself included (default 15). */
    int32_t k;
    /** Clusters of at most this many members become -1 (default 4). */
    int32_t cluster_num;
    /** Links i -> j are kept while the distance 1 - sim <= 1 - min_sim
     *  (default 0.5). */
    double min_sim;
    /** The search's seed (default 123, Infomap's). */
    uint64_t seed;
    /** Independent searches; the shortest codelength wins (default 1). */
    int32_t trials;
    /** 1: L2-normalise a copy of the rows first (Cluster Contrast's
     *  F.normalize; default 0). */
    int32_t normalize;
    /** As rlcc_dbscan_options.n_threads. */
    int32_t n_threads;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** As rlcc_dbscan_options.max_bytes. */
    int64_t max_bytes;
} rlcc_infomap_options;

/** Sets the defaults above; as rlcc_dbscan_options_init(). Since 1.7. */
RLCC_API int rlcc_infomap_options_init(rlcc_infomap_options *options, size_t struct_size);

/**
 * InfoMap pseudo labels (Cluster Contrast; spec: later-methods.md
 * section 2): the kNN lists, the directed links, a two-level Infomap
 * partition (librlcc's own search, or the caller's), labels by module flow.
 *
 *   x, n, d, ldx  the rows (finite; unit rows, within 1e-3, unless
 *                 options->normalize). With the caller's lists x is not
 *                 read and may be NULL (else it is checked as a matrix).
 *   knn, knn_dist the caller's lists, or both NULL for librlcc's own:
 *                 n x k int64 indices and float32 distances 1 - sim (as
 *                 Cluster Contrast's faiss search gives them), row-major,
 *                 each row ascending by distance. librlcc's own lists are
 *                 rlcc_knn()'s (exact, self included) with distance
 *                 sqdist / 2, that is 1 - sim for unit rows.
 *                 Links (rlcc_infomap_links()): i ascending, its list in
 *                 order, j == i skipped, i -> j with weight 1 - dist while
 *                 dist <= 1 - min_sim and 1 - dist > 0.
 *   modules       the caller's partition, or NULL for librlcc's search:
 *                 n int32 >= 0, a module per sample (entries of samples in
 *                 no link are ignored). The search: Infomap 1.x's two-level
 *                 algorithm (core moves, aggregation, fine- and
 *                 coarse-tuning), splitmix64 seeded by options->seed,
 *                 options->trials searches in a row, the shortest kept
 *                 (docs/pipeline.md).
 *   labels        out, n int32: modules ordered by flow descending (ties by
 *                 the smallest member), then samples in no link one by
 *                 one; labels with <= cluster_num members become -1, the
 *                 rest are numbered 0, 1, ... ascending (Cluster Contrast
 *                 numbers them in CPython's set order, which differs from
 *                 ascending for large label values).
 *   n_classes     out, may be NULL: the number of labels >= 0.
 *   codelength    out, may be NULL: the two-level map-equation codelength
 *                 (bits) of the partition under Infomap's directed flow
 *                 model (rlcc_map_codelength()).
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY,
 * RLCC_E_MEMORY_LIMIT; outputs untouched on error. Thread-safe; for a seed,
 * the same bytes for every n_threads, max_bytes and BLAS kernel. Since 1.7.
 */
RLCC_API int rlcc_infomap_labels(const float *x, int64_t n, int64_t d, int64_t ldx,
                                 const int64_t *knn, const float *knn_dist,
                                 const int32_t *modules,
                                 const rlcc_infomap_options *options, int32_t *labels,
                                 int64_t *n_classes, double *codelength);

/**
 * The directed links of rlcc_infomap_labels() (spec section 2 steps 1-2),
 * for a caller who runs the infomap package on them: for i ascending, i's
 * list in order, j == i skipped, the link i -> j with weight 1 - dist
 * (dist widened to double) while dist <= 1 - min_sim and 1 - dist > 0; the
 * row stops at the first entry that fails. Arguments as
 * rlcc_infomap_labels() (options: k, min_sim, normalize, n_threads,
 * max_bytes).
 *   src, dst, weight  out, room for n x k links each.
 *   n_links           out: the links written.
 * Errors: as rlcc_infomap_labels(). Thread-safe. Since 1.7.
 */
RLCC_API int rlcc_infomap_links(const float *x, int64_t n, int64_t d, int64_t ldx,
                                const int64_t *knn, const float *knn_dist,
                                const rlcc_infomap_options *options, int64_t *src,
                                int64_t *dst, double *weight, int64_t *n_links);

/**
 * The two-level map-equation codelength (bits) of a partition of a
 * directed, weighted graph under Infomap's flow model (Infomap 1.x
 * --directed: teleportation to links, unrecorded, alpha 0.15; spec
 * section 2 step 5).
 *
 *   n_nodes      nodes 0 .. n_nodes - 1.
 *   src, dst     n_links int64 node pairs (src != dst).
 *   weight       n_links finite weights > 0.
 *   modules      n_nodes int32 >= 0, the module of every node (any ids:
 *                the result does not depend on them).
 *   codelength   out.
 * Nodes in no link are not in the network (they carry no flow); repeated
 * (src, dst) pairs are one link with the weights added. Every sum runs in
 * a fixed order (docs/pipeline.md): the same bits on every machine.
 * Errors: RLCC_E_INVALID_ARGUMENT, RLCC_E_OUT_OF_MEMORY. Since 1.7.
 */
RLCC_API int rlcc_map_codelength(int64_t n_nodes, const int64_t *src, const int64_t *dst,
                                 const double *weight, int64_t n_links,
                                 const int32_t *modules, double *codelength);

#ifdef __cplusplus
}
#endif

#endif /* RLCC_H */
