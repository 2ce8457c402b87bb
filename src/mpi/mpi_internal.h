/*
 * mpi_internal.h - what the files of librlcc_mpi share: the error detail,
 * the run of one collective call (its communicator, deadline, options),
 * and the transfers that wait with a deadline. Everything here trusts its
 * inputs; the public calls validate them first.
 */
#ifndef RLCC_MPI_INTERNAL_H
#define RLCC_MPI_INTERNAL_H

#include "rlcc_mpi.h"

/* The size of a status record and of the message it carries. */
enum { RLCC_MPI__MESSAGE = 240 };

/* ---- errors (errors.c) ---------------------------------------------------- */

void rlcc_mpi__clear_error(void);
/* Sets this thread's message from a format; returns code. */
int rlcc_mpi__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Carries librlcc's message of a failed librlcc call over; returns code. */
int rlcc_mpi__from_rlcc(int code);

/* ---- one collective call (comm.c) ------------------------------------------ */

typedef struct rlcc_mpi__run {
    MPI_Comm comm;      /* a duplicate of the caller's, errors returned */
    int rank, size;
    double timeout;     /* seconds per wait */
    rlcc_mpi_options opts;
    const char *stage;  /* for messages: what the call was doing */
    int broken;         /* a wait timed out or MPI failed: skip the cleanup that talks */
} rlcc_mpi__run;

/* Reads the options over the defaults; RLCC_OK or a local error. */
int rlcc_mpi__read_options(const rlcc_mpi_options *options, rlcc_mpi_options *opts);

/* Duplicates comm (within the timeout) into run. */
int rlcc_mpi__open(MPI_Comm comm, const rlcc_mpi_options *opts, rlcc_mpi__run *run);
/* Frees the duplicate (not after a broken run, whose peers may be gone). */
void rlcc_mpi__close(rlcc_mpi__run *run);

/* Waits for count requests until the run's deadline. peer names the rank
 * waited for in a timeout's message (-1: a collective). */
int rlcc_mpi__wait(rlcc_mpi__run *run, MPI_Request *requests, int count, int peer);
/* The same, request r waiting for rank peers[r]: a timeout names the first
 * one still waiting. */
int rlcc_mpi__wait_peers(rlcc_mpi__run *run, MPI_Request *requests, int count, const int *peers,
                         int peer);

/* Every rank's fixed-size record (bytes each), gathered into all
 * (size x bytes), within the deadline. */
int rlcc_mpi__allgather(rlcc_mpi__run *run, const void *mine, void *all, int bytes);

/* Every rank's block of bytes[q] bytes (any sizes, 0 included), gathered
 * in rank order into all (the sum of bytes), within the deadline. The
 * rank's own block is copied into its place and sent from there. */
int rlcc_mpi__allgatherv(rlcc_mpi__run *run, const void *mine, void *all, const size_t *bytes);

/* What every rank says about its input at the start of a call: its own
 * verdict on it (code, message), its rows and their width. */
typedef struct rlcc_mpi__header {
    int32_t code;
    int32_t reserved;
    int64_t n_local, d;
    char message[RLCC_MPI__MESSAGE];
} rlcc_mpi__header;

/* The start of every call: each rank's header (code: its own checks, the
 * message this thread's) and extra_size bytes of the call's own fields,
 * gathered. The verdict is the same on every rank: the lowest rank's own
 * refusal ("rank r: ..."), or rows of another width. On success *counts
 * holds every rank's row count then offset (2 P, free()), *extras every
 * rank's extra bytes one after the other (free()), *n_total the rows. */
int rlcc_mpi__check_start(rlcc_mpi__run *run, int code, int64_t n_local, int64_t d,
                          const void *extra, size_t extra_size, uint8_t **extras,
                          int64_t **counts, int64_t *n_total);

/* The prologue of every collective call: this rank's options read over the
 * defaults (a refusal becomes this rank's verdict: it still takes part in
 * the check, to tell the others), the run opened on a duplicate of comm,
 * and rlcc_mpi__check_start() with code, the rank's own verdict on the rest
 * of its input (its message this thread's). Returns the open's error
 * (nothing exchanged) or the check's verdict; *extras, *counts and *n_total
 * as there (NULL, 0 unless RLCC_OK). Every entry point ends with
 * rlcc_mpi__end(), whatever this returned. */
int rlcc_mpi__begin(MPI_Comm comm, const rlcc_mpi_options *options, int code, int64_t n_local,
                    int64_t d, const void *extra, size_t extra_size, rlcc_mpi__run *run,
                    uint8_t **extras, int64_t **counts, int64_t *n_total);
/* Frees extras and counts (either may be NULL; not after a broken run,
 * whose transfers may still write them) and closes the run. */
void rlcc_mpi__end(rlcc_mpi__run *run, void *extras, void *counts);

/* Every rank's blocks for every rank: send holds the blocks for ranks 0,
 * 1, ... one after the other (send_bytes[q] bytes for rank q), recv
 * receives rank q's block for this rank (recv_bytes[q] bytes) in rank
 * order; the sizes must match pairwise across ranks (the caller exchanged
 * them first). The rank's own block is copied. Within the deadline. */
int rlcc_mpi__alltoallv(rlcc_mpi__run *run, const void *send, const size_t *send_bytes,
                        void *recv, const size_t *recv_bytes);

/* The tag of the refiner's chain of centroid sums, apart from comm.c's
 * (32000 to 32002) and the rings' (below 32000). */
enum { RLCC_MPI__TAG_CHAIN = 32003 };

/* The collective status after a stage: every rank gives its code (and this
 * thread's message when it is not RLCC_OK). Returns RLCC_OK when every
 * rank succeeded; the rank's own code when it failed; RLCC_MPI_E_REMOTE
 * naming the lowest failed rank, its code and message, otherwise. */
int rlcc_mpi__agree(rlcc_mpi__run *run, int code);

/* The caller's progress callback, if any: RLCC_E_CANCELED when it asks to
 * stop. */
int rlcc_mpi__progress(rlcc_mpi__run *run, const char *stage, int64_t done, int64_t total);

/* ---- the kNN ring (knn.c) ---------------------------------------------------- */

/* A rank's rows checked: n_local in [0, INT32_MAX], d >= 1, ldx >= d,
 * finite values. */
/* A block's shape: 0 <= n_local <= INT32_MAX, 1 <= d <= INT32_MAX (knn.c). */
int rlcc_mpi__check_shape(int64_t n_local, int64_t d);
int rlcc_mpi__check_rows(const float *x, int64_t n_local, int64_t d, int64_t ldx);

/* The exact kNN lists of this rank's rows (count and offset: every rank's
 * rows, checked collectively) into indices and sqdist (or NULL), written
 * only when every rank succeeded. */
int rlcc_mpi__knn(rlcc_mpi__run *run, const int64_t *count, const int64_t *offset,
                  const float *x, int64_t n_local, int64_t d, int64_t ldx, int64_t k,
                  int64_t *indices, float *sqdist);

/* ---- the pseudo labels (pseudo.c) ------------------------------------------ */

/* The pseudo options every rank must give alike, as every rank gathers them. */
typedef struct rlcc_mpi__pseudo_agreed {
    int32_t method, metric, k1, k2, variant, normalize, outliers, reliability, guard, n_eps;
    float cutoff;
    int32_t reserved;
    double eps[3], threshold;
    int64_t min_samples;
} rlcc_mpi__pseudo_agreed;

/* The caller's pseudo options (NULL: defaults) over the defaults, checked by
 * librlcc itself, then what the distributed labels support (DBSCAN over
 * Jaccard, normalize 0, knn NULL). */
int rlcc_mpi__read_pseudo(const rlcc_pseudo_options *options, rlcc_pseudo_options *opts);
/* The fields of read options that must agree across ranks. */
rlcc_mpi__pseudo_agreed rlcc_mpi__pseudo_agreed_of(const rlcc_pseudo_options *o);
/* The verdict on every rank's agreed fields (rank r's at all + r * stride):
 * alike on every rank, N within librlcc's graphs, k1 at most N. The same
 * message on every rank. */
int rlcc_mpi__check_pseudo_agreed(const rlcc_mpi__run *run, const uint8_t *all, size_t stride,
                                  int64_t n_total);

/* The pseudo labels of every rank's rows (count and offset: every rank's
 * rows, checked collectively; n_total >= 1; popts read and agreed) into
 * labels (N), *n_classes and *threshold, written only when every rank
 * succeeded. */
int rlcc_mpi__pseudo_labels(rlcc_mpi__run *run, const int64_t *count, const int64_t *offset,
                            int64_t n_total, const float *x, int64_t ldx, int64_t d,
                            const rlcc_pseudo_options *popts, int32_t *labels, int64_t *n_classes,
                            double *threshold);

#endif
