/*
 * rlcc_mpi.h - librlcc_mpi, the scale-out of librlcc over MPI.
 *
 * Every rank of the caller's communicator holds a block of the rows, in
 * rank order (rank 0 the first rows; any sizes, zero included), and every
 * call is collective: all ranks of the communicator call it with their own
 * block and the same options. The results are those of librlcc in one
 * process on the whole matrix, byte for byte, for every process count and
 * blocking (docs/scale-out.md).
 *
 * The library never calls MPI_Init or MPI_Finalize; the caller's MPI must be
 * initialised with MPI_THREAD_FUNNELED or more when librlcc runs OpenMP
 * threads (librlcc_mpi calls MPI from the calling thread only). It works on
 * a duplicate of the communicator, so its messages never meet the caller's.
 *
 * Failure is collective too. A rank that refuses its input or fails during
 * a call tells the others, and every rank returns an error: the same code
 * and message on every rank for input that disagrees across ranks, and
 * RLCC_MPI_E_REMOTE naming the failed rank elsewhere. A rank that stops
 * answering (a crash, a kill) makes the others return RLCC_MPI_E_TIMEOUT
 * naming it after options.timeout seconds, never a hang. After a
 * RLCC_MPI_E_TIMEOUT or RLCC_MPI_E_MPI the communicator's state is unknown:
 * the caller should abort the job (MPI_Abort) rather than go on; the
 * buffers of transfers MPI had not finished are left allocated then, since
 * MPI may still read them.
 *
 * Own SONAME (librlcc_mpi.so.1), version script and pkg-config file
 * (rlcc_mpi.pc: `pkg-config --cflags --libs rlcc_mpi`).
 */
#ifndef RLCC_MPI_H
#define RLCC_MPI_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "rlcc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Version (1.0)
 * ------------------------------------------------------------------------ */

#define RLCC_MPI_VERSION_MAJOR 1 /**< Incompatible ABI changes (never, within librlcc_mpi.so.1). */
#define RLCC_MPI_VERSION_MINOR 0 /**< Functions added (one version-script node each). */
#define RLCC_MPI_VERSION_PATCH 0 /**< Same functions: fixes and speed-ups. */
/** MAJOR * 10000 + MINOR * 100 + PATCH. */
#define RLCC_MPI_VERSION_NUMBER \
    (RLCC_MPI_VERSION_MAJOR * 10000 + RLCC_MPI_VERSION_MINOR * 100 + RLCC_MPI_VERSION_PATCH)
/** The version this header describes, as text. */
#define RLCC_MPI_VERSION_STRING "1.0.0"

/** The version of librlcc_mpi actually loaded. Since 1.0. */
RLCC_API unsigned rlcc_mpi_version_number(void);
/** The same as text, e.g. "1.0.0". Never NULL. Since 1.0. */
RLCC_API const char *rlcc_mpi_version_string(void);

/* ------------------------------------------------------------------------
 * Errors (1.0). librlcc's codes (RLCC_E_*) keep their meaning; these are
 * librlcc_mpi's own, outside librlcc's range, pinned.
 * ------------------------------------------------------------------------ */

/** Another rank failed or refused its input; the message names it. */
#define RLCC_MPI_E_REMOTE (-101)
/** A rank did not answer within options.timeout; the message names it. */
#define RLCC_MPI_E_TIMEOUT (-102)
/** An MPI call returned an error (its text is in the message). */
#define RLCC_MPI_E_MPI (-103)

/** Static English text for a librlcc_mpi or librlcc error code. Never
 *  NULL. Thread-safe. Since 1.0. */
RLCC_API const char *rlcc_mpi_strerror(int code);

/**
 * The detail of the most recent failing librlcc_mpi call made by this
 * thread, e.g. "rank 2: x: row 17 has NaN at column 3" (librlcc's own
 * message, when librlcc refused, is carried over). Cleared on entry to
 * every call. Thread-local; never NULL. Since 1.0.
 */
RLCC_API const char *rlcc_mpi_last_error(void);

/* ------------------------------------------------------------------------
 * Options (1.0)
 * ------------------------------------------------------------------------ */

/**
 * Called on the calling thread at the start of each stage of a call and
 * after each step of the ring: stage names a stage ("check", "ring",
 * "finish" of the kNN; "jaccard", "labels" of the pseudo labels;
 * "centroids" of a refiner step, 0 of 1 at its start and 1 of 1 just before
 * the refiner commits; "targets", 0 of 1 before a batch's rows are fetched
 * and 1 of 1 once its targets are computed), done of total steps of it.
 * Return 0 to go on; any other value stops this rank's call with
 * RLCC_E_CANCELED, and the others with RLCC_MPI_E_REMOTE.
 */
typedef int (*rlcc_mpi_progress_fn)(const char *stage, int64_t done, int64_t total,
                                    void *user);

/**
 * Options of every librlcc_mpi call. Since 1.0. Fill with
 * rlcc_mpi_options_init(). Each rank's are its own: they need not agree
 * across ranks.
 */
typedef struct rlcc_mpi_options {
    /** sizeof(rlcc_mpi_options) as the caller compiled it. */
    size_t struct_size;
    /** OpenMP threads of this rank's librlcc work (0: the runtime's default). */
    int32_t n_threads;
    /** Reserved, must be 0. */
    int32_t reserved;
    /** This rank's memory bound in bytes for what the call holds (0: none),
     *  as librlcc's max_bytes; the per-rank formula is in docs/scale-out.md. */
    int64_t max_bytes;
    /** Seconds a rank waits for another before RLCC_MPI_E_TIMEOUT (default
     *  600; must be > 0 and finite). */
    double timeout;
    /** Optional progress report (NULL: none). */
    rlcc_mpi_progress_fn progress;
    /** Passed to progress. */
    void *user;
} rlcc_mpi_options;

/** Sets struct_size and the defaults above. Errors: RLCC_E_INVALID_ARGUMENT
 *  (NULL, struct_size too small). Since 1.0. */
RLCC_API int rlcc_mpi_options_init(rlcc_mpi_options *options, size_t struct_size);

/* ------------------------------------------------------------------------
 * Distributed exact kNN (1.0)
 * ------------------------------------------------------------------------ */

/**
 * The k nearest rows of this rank's rows among all ranks' rows: what
 * rlcc_knn() gives these rows of the concatenated matrix, byte for byte
 * (global indices, ties by the lower index, the distances decided in double
 * and rounded to float32; docs/precision.md).
 *
 * The blocks travel around a ring for floor(P / 2) steps; each pair of
 * blocks is computed once (rlcc_knn_update_pair()) by one of its two
 * ranks, which sends the other rank's lists back as bytes
 * (rlcc_knn_state_save()); the next block's transfer is posted before the
 * current block's Gram work (it overlaps it where the MPI progresses
 * messages on its own; docs/scale-out.md). Per rank: (N/P) d floats of its own rows, two visiting
 * blocks, and the lists (docs/scale-out.md gives the formula).
 *
 *   comm          the caller's communicator (duplicated for the call).
 *   x, n_local, d, ldx  this rank's n_local x d rows (n_local may be 0;
 *                 finite); d the same on every rank.
 *   k             neighbours per row, the same on every rank; 1 <= k <= N,
 *                 N the rows of all ranks.
 *   options       may be NULL (defaults).
 *   indices       out, n_local x k int64 global row indices.
 *   sqdist        out, n_local x k float32, may be NULL.
 *
 * Errors: RLCC_E_INVALID_ARGUMENT (this rank's input, or d, k or N
 * inconsistent across ranks: then the same on every rank),
 * RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT, RLCC_E_CANCELED,
 * RLCC_MPI_E_REMOTE, RLCC_MPI_E_TIMEOUT, RLCC_MPI_E_MPI. Outputs are
 * written only when every rank succeeded. Since 1.0.
 */
RLCC_API int rlcc_mpi_knn(MPI_Comm comm, const float *x, int64_t n_local, int64_t d, int64_t ldx,
                          int64_t k, const rlcc_mpi_options *options, int64_t *indices,
                          float *sqdist);

/* ------------------------------------------------------------------------
 * Distributed pseudo labels (1.0)
 * ------------------------------------------------------------------------ */

/**
 * The pseudo labels of all ranks' rows, on every rank: what
 * rlcc_pseudo_labels() gives the concatenated matrix in one process, byte
 * for byte (labels, n_classes, threshold). The kNN ring of rlcc_mpi_knn()
 * with k = k1, the lists all-gathered; the Jaccard distance cut along the
 * ranks' rows (rlcc_jaccard_plan_new(), a second pass of the blocks around
 * the ring for the distances of step 4, the weight rows and the Jaccard
 * rows each all-gathered in rank order); then DBSCAN, the outlier policy and
 * the reliability criterion on the gathered graph, on every rank
 * (rlcc_pseudo_labels_graph()). docs/scale-out.md gives the memory and the
 * traffic per rank.
 *
 *   comm, x, n_local, d, ldx  as rlcc_mpi_knn() (unit rows for the Jaccard
 *                 DOT variant).
 *   pseudo        rlcc_pseudo_options, the same on every rank (compared
 *                 field by field); RLCC_PSEUDO_DBSCAN over
 *                 RLCC_METRIC_JACCARD, normalize = 0 (normalise the rows
 *                 first), knn = NULL. NULL: defaults.
 *   options       this rank's n_threads, timeout, progress (max_bytes is
 *                 not read yet). May be NULL.
 *   labels        out, N int32 (N: the rows of all ranks, in rank order):
 *                 every row's label, the same on every rank.
 *   n_classes, threshold  out, may be NULL, as rlcc_pseudo_labels().
 * Errors: as rlcc_mpi_knn(); RLCC_E_INVALID_ARGUMENT also for options that
 * differ across ranks (the same message on every rank). Outputs are written
 * only when every rank succeeded. Since 1.0.
 */
RLCC_API int rlcc_mpi_pseudo_labels(MPI_Comm comm, const float *x, int64_t n_local, int64_t d,
                                    int64_t ldx, const rlcc_pseudo_options *pseudo,
                                    const rlcc_mpi_options *options, int32_t *labels,
                                    int64_t *n_classes, double *threshold);

/* ------------------------------------------------------------------------
 * Distributed refiner (1.0)
 * ------------------------------------------------------------------------ */

/**
 * A refiner whose steps are collective over the ranks of a communicator:
 * every rank holds the same librlcc refiner (the labels of all N rows, the
 * centroids, the consensus: rlcc_mpi_refiner_local()) and its own block of
 * rows. A step and a batch of targets give, on every rank, the bytes that
 * rlcc_refiner_step_matrix() and rlcc_refiner_targets() give in one process
 * on the concatenated rows, for every process count and blocking.
 *
 * A step that fails on some ranks after others have committed its
 * generation (a rank's librlcc step failing alone, say under its own
 * max_bytes) leaves the ranks' refiners apart: each rank records the
 * generation it committed, and every later call on the refiner compares
 * them in its check and refuses on every rank ("refiner: generations
 * differ across ranks ..."); free the refiner on every rank and start again.
 * A handle is used by one thread at a time. A NULL handle is refused
 * (RLCC_E_INVALID_ARGUMENT) on its rank alone: that rank has no
 * communicator to tell the others, which time out. Since 1.0.
 */
typedef struct rlcc_mpi_refiner rlcc_mpi_refiner;

/**
 * A new distributed refiner (generation 0 next). Collective.
 *
 *   comm      the caller's communicator, kept by the refiner (not
 *             duplicated here: each call duplicates it), so the caller keeps
 *             it valid for the refiner's life.
 *   n_local   this rank's rows, the same at every step; 0 allowed on some
 *             ranks, N (the rows of all ranks, in rank order) >= 1.
 *   d         the rows' width, the same on every rank.
 *   pseudo    the pseudo-label options, the same on every rank (compared
 *             field by field, as rlcc_mpi_pseudo_labels() does): what
 *             rlcc_mpi_pseudo_labels() accepts (DBSCAN over the Jaccard
 *             distance, normalize = 0, knn NULL). n_threads and max_bytes
 *             are this rank's own (max_bytes: the budget of its librlcc
 *             refiner). NULL: defaults.
 *   options   the refiner options, the same on every rank (alpha, w, beta,
 *             scale compared bit for bit). NULL: defaults.
 *   mpi       this rank's options (timeout, progress); may be NULL.
 *   out       receives the handle, to free with rlcc_mpi_refiner_free() on
 *             every rank.
 * Each rank holds rlcc_refiner_new(N, d, pseudo, options): the memory of
 * rlcc_refiner_new() with n = N, and no N x d matrix (docs/scale-out.md).
 * Errors: RLCC_E_INVALID_ARGUMENT (this rank's input, or d or options that
 * differ across ranks, N = 0: then the same code and message on every
 * rank), RLCC_E_OUT_OF_MEMORY, RLCC_MPI_E_REMOTE, RLCC_MPI_E_TIMEOUT,
 * RLCC_MPI_E_MPI. *out is written only when every rank succeeded. Since
 * 1.0.
 */
RLCC_API int rlcc_mpi_refiner_new(MPI_Comm comm, int64_t n_local, int64_t d,
                                  const rlcc_pseudo_options *pseudo,
                                  const rlcc_refiner_options *options,
                                  const rlcc_mpi_options *mpi, rlcc_mpi_refiner **out);

/** Frees a distributed refiner. Local: no MPI call, so it may be called
 *  after a failed or timed-out call, or after MPI_Finalize. NULL is fine.
 *  Since 1.0. */
RLCC_API void rlcc_mpi_refiner_free(rlcc_mpi_refiner *refiner);

/**
 * One generation over every rank's rows. Collective.
 *
 *   x, ldx    this rank's n_local x d rows (row stride ldx >= d; NULL when
 *             n_local is 0), finite; unit rows for the Jaccard DOT variant.
 *   mpi       this rank's options; n_threads for its librlcc work;
 *             max_bytes bounds the kNN ring's buffers (as in
 *             rlcc_mpi_pseudo_labels()) and its librlcc step
 *             (rlcc_step_options.max_bytes of rlcc_refiner_step_labels()),
 *             not yet the other pseudo-label stages or the centroid sums.
 *             May be NULL.
 * The stages: the pseudo labels of rlcc_mpi_pseudo_labels() (the threshold:
 * the pseudo options' at generation 0, the refiner's kept one after); the
 * centroids in one process's float32 order (the per-class sums passed from
 * rank to rank in row order, each class finished by the rank holding its
 * last member, the finished rows all-gathered); then
 * rlcc_refiner_step_labels() on every rank. The rank keeps a copy of its
 * own rows (n_local x d floats) when later targets read them (beta < 1,
 * from the second step on). The same state as rlcc_refiner_step_matrix()
 * on the concatenated rows, bit for bit.
 * Errors: as rlcc_mpi_pseudo_labels() and rlcc_refiner_step_labels();
 * RLCC_E_INVALID_ARGUMENT also for generations that differ across ranks.
 * A failure before the librlcc step leaves every rank's refiner as it was;
 * see rlcc_mpi_refiner for one during it. Since 1.0.
 */
RLCC_API int rlcc_mpi_refiner_step(rlcc_mpi_refiner *refiner, const float *x, int64_t ldx,
                                   const rlcc_mpi_options *mpi);

/**
 * The training targets of the latest generation for this rank's mini-batch.
 * Collective: every rank asks for its own batch.
 *
 *   rows      n_rows global row indices in [0, N), duplicates and rows of
 *             other ranks allowed; n_rows may differ across ranks, 0
 *             allowed (rows may then be NULL).
 *   mpi       this rank's options; n_threads and max_bytes of its librlcc
 *             targets call; max_bytes also bounds the exchange's buffers.
 *             May be NULL.
 *   out, ld   n_rows x n_classes float32, row stride ld >= n_classes (out
 *             may be NULL when n_rows is 0).
 * When the targets read features (generation >= 2 and beta < 1) the batch's
 * distinct rows are fetched from the ranks that own them (all-to-alls of
 * counts, row indices and rows), then rlcc_refiner_targets_rows() runs on
 * the rank; otherwise rlcc_refiner_targets_opts(). The same bytes as
 * rlcc_refiner_targets() of the same rows in one process.
 * Errors: RLCC_E_INVALID_ARGUMENT (no generation yet, rows out of range,
 * out or ld, generations that differ across ranks: on every rank),
 * RLCC_E_OUT_OF_MEMORY, RLCC_E_MEMORY_LIMIT, RLCC_E_CANCELED,
 * RLCC_MPI_E_REMOTE, RLCC_MPI_E_TIMEOUT, RLCC_MPI_E_MPI. out is written
 * only when every rank succeeded. Since 1.0.
 */
RLCC_API int rlcc_mpi_refiner_targets(const rlcc_mpi_refiner *refiner, const int64_t *rows,
                                      int64_t n_rows, const rlcc_mpi_options *mpi, float *out,
                                      int64_t ld);

/**
 * The rank's librlcc refiner, in the same state on every rank: its getters
 * and readers (rlcc_refiner_generation(), _n_classes(), _threshold(),
 * _labels() of all N rows, _centroids(), _bytes(), rlcc_refiner_save()) are
 * local reads. Never NULL for a non-NULL refiner (NULL for NULL). Owned by
 * the distributed refiner: do not step it or free it. Since 1.0.
 */
RLCC_API const rlcc_refiner *rlcc_mpi_refiner_local(const rlcc_mpi_refiner *refiner);

#ifdef __cplusplus
}
#endif

#endif /* RLCC_MPI_H */
