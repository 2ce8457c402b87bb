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
 * "merge", "finish"), done of total steps of it. Return 0 to go on; any
 * other value stops this rank's call with RLCC_E_CANCELED, and the others
 * with RLCC_MPI_E_REMOTE.
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
 * (rlcc_knn_state_save()); the next block's transfer overlaps the current
 * block's Gram work. Per rank: (N/P) d floats of its own rows, two visiting
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

#ifdef __cplusplus
}
#endif

#endif /* RLCC_MPI_H */
