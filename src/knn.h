/*
 * knn.h - the exact kNN engine of knn.c, shared with the block kNN state of
 * knn_state.c. Inputs are validated by the public layers; everything here
 * trusts them.
 */
#ifndef RLCC_KNN_H
#define RLCC_KNN_H

#include "internal.h"

/* Per query row, the k nearest found so far: a max-heap on (D, index). */
typedef struct rlcc__knn_lists {
    int64_t n, k;
    double *dist;   /* n x k: D in double */
    int64_t *index; /* n x k: global row index */
    int32_t *size;  /* n */
} rlcc__knn_lists;

/* Empty lists for n rows of k, from budget; nothing is left on failure. */
int rlcc__knn_lists_init(rlcc__knn_lists *l, int64_t n, int64_t k, rlcc__budget *budget);
void rlcc__knn_lists_release(rlcc__knn_lists *l, rlcc__budget *budget);
/* A copy of src into new lists *dst. */
int rlcc__knn_lists_copy(rlcc__knn_lists *dst, const rlcc__knn_lists *src, rlcc__budget *budget);
/* Offers (dist, index) to row's list; an index the list holds changes nothing. */
void rlcc__knn_lists_add(rlcc__knn_lists *l, int64_t row, double dist, int64_t index);
/* RLCC_E_INVALID_ARGUMENT when a row holds fewer than k entries. */
int rlcc__knn_lists_full(const rlcc__knn_lists *l);
/* The full lists sorted by (D, index) into the outputs that are not NULL;
 * with scratch (one list per thread) the heaps stay usable. */
void rlcc__knn_lists_write(rlcc__knn_lists *l, rlcc__knn_lists *scratch, int n_threads,
                           int64_t *indices64, int32_t *indices32, float *sqdist);

/* One update of lists: query rows xq against reference rows xr (global
 * indices r0 ..); symmetric when they are the same rows (the triangle
 * once); order_only when the lists start empty and only their order is
 * wanted. Adds the rows decided in double and fallen back to the counts. */
int rlcc__knn_update_lists(rlcc__knn_lists *lists, const float *xq, int64_t nq, int64_t ldq,
                           const double *qn2, const float *xr, int64_t nr, int64_t ldr,
                           int64_t r0, const double *rn2, int64_t d, int symmetric,
                           int order_only, int n_threads, rlcc__budget *budget,
                           int64_t *n_decided, int64_t *n_fallback);

/* Two lists from one Gram block: la's rows xa (global a0 ..) are offered
 * xb's rows and lb's rows xb (global b0 ..) xa's; different rows. */
int rlcc__knn_update_pair(rlcc__knn_lists *la, const float *xa, int64_t na, int64_t lda,
                          const double *an2, int64_t a0, rlcc__knn_lists *lb, const float *xb,
                          int64_t nb, int64_t ldb, const double *bn2, int64_t b0, int64_t d,
                          int n_threads, rlcc__budget *budget, int64_t n_decided[2],
                          int64_t n_fallback[2]);

/* The n x k indices and distances apart from each other and from input. */
int rlcc__knn_outputs_apart(int64_t n, int64_t k, const int64_t *indices, const float *sqdist,
                            const rlcc__span *input);
/* rlcc_knn_options read over the defaults and checked. */
int rlcc__knn_read_options(const rlcc_knn_options *options, rlcc_knn_options *opts);

#endif
