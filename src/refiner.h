/*
 * refiner.h - the refiner's handle, shared by refiner.c (new, steps,
 * targets) and checkpoint.c (save and load). Nothing here is public: the
 * header rlcc.h shows an opaque rlcc_refiner.
 */
#ifndef RLCC_REFINER_H
#define RLCC_REFINER_H

#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"

/* One generation's results. */
typedef struct rlcc__generation {
    int32_t *labels;     /* n */
    int64_t k;           /* classes */
    float *centroids;    /* k x d */
    rlcc_csr chat;       /* k_prev x k: normalised IoU with the previous one
                          * (generation >= 1; indptr NULL before) */
    float *probs;        /* n x probs_cols from the logits callback, or NULL */
    int64_t probs_cols;  /* k_prev */
} rlcc__generation;

struct rlcc_refiner {
    /* -1 while a step runs, else the number of readers inside: a step
     * concurrent with anything else on the same handle is refused rather
     * than allowed to corrupt it (see rlcc.h). */
    _Atomic int32_t users;
    /* getters inside now: they read a few scalars without entering as
     * readers, so they never make a step fail; a step that takes the handle
     * waits the few instructions they need to leave (enter_alone) */
    _Atomic int32_t peekers;
    /* rlcc_refiner_free() was called while a step ran (from its own
     * callbacks): the step frees the refiner when it ends */
    _Atomic int32_t free_pending;
    int64_t n, d;
    rlcc_pseudo_options pseudo;
    rlcc_refiner_options options;
    int64_t done;        /* generations completed */
    double threshold;    /* reliability threshold, fixed at generation 0 */
    rlcc__generation cur;
    /* what the targets read of generation t-1 */
    int32_t *prev_labels; /* n */
    int64_t prev_k;
    float *prev_centroids; /* prev_k x d */
    /* the features of generation t that the per-batch probabilities read
     * (beta < 1, no logits): the refiner's own copy, or the caller's
     * borrowed matrix; NULL when nothing will read them */
    const float *x;
    int64_t ldx;
    float *x_copy;       /* n x d when the refiner owns a copy */
    /* the latest step was rlcc_refiner_step_labels() and its targets read
     * features: they come from the caller (rlcc_refiner_targets_rows()) */
    int caller_rows;
    int64_t *next_knn;   /* n x k1 lists for the next step (rlcc_refiner_set_knn), or NULL */
    int64_t knn_count;   /* entries of next_knn */
    rlcc__budget budget; /* everything above that is allocated */
};

/* What rlcc_refiner_new() checks of its arguments, for a loaded state too:
 * n and d, the pseudo-label options (read into *p: eps sorted, knn NULL)
 * and the refiner options (read into *o). */
int rlcc__refiner_check_setup(int64_t n, int64_t d, const rlcc_pseudo_options *pseudo,
                              const rlcc_refiner_options *options, rlcc_pseudo_options *p,
                              rlcc_refiner_options *o);

/* What a refiner accepts as a generation's results, from a state being
 * loaded or from rlcc_refiner_step_labels(); name starts the message. */
/* The threshold it can hold after `done` generations. */
int rlcc__refiner_check_threshold(const char *name, double t, int64_t done,
                                  const rlcc_pseudo_options *p);
/* Labels as rlcc_pseudo_labels() leaves them under options p: in [-1, k),
 * k - 1 the largest, no -1 under the singleton policy, no empty class
 * unless the reliability criterion runs without its guard. */
int rlcc__refiner_check_labels(const char *name, const int32_t *labels, int64_t n, int64_t k,
                               const rlcc_pseudo_options *p, rlcc__budget *budget);
/* k x d centroids (row stride ld): finite rows of unit length or zero. */
int rlcc__refiner_check_centroids(const char *name, const float *c, int64_t k, int64_t d,
                                  int64_t ld);

/* A refiner at generation 0 with checked options, its budget that of
 * p->max_bytes; NULL (with the error recorded) when the handle cannot be
 * allocated. */
rlcc_refiner *rlcc__refiner_create(int64_t n, int64_t d, const rlcc_pseudo_options *p,
                                   const rlcc_refiner_options *o);

/* Frees everything a refiner holds, and the handle (NULL is fine). */
void rlcc__refiner_release(rlcc_refiner *r);

/* The reader rule (rlcc.h): a reader may enter unless a step is running;
 * RLCC_E_INVALID_ARGUMENT ("in use") otherwise. */
int rlcc__refiner_enter_reader(const rlcc_refiner *r);
void rlcc__refiner_leave_reader(const rlcc_refiner *r);

#endif
