/*
 * knn.c - exact k nearest rows by squared Euclidean distance.
 *
 * The Gram matrix is computed panel by panel as in features.c: rows
 * [i0, i1) against every row j >= i0, so each pair (i, j), i <= j, is
 * computed once. Its distance feeds both rows' top-k lists:
 *   phase A: each panel row i takes every j >= i0 (pairs inside the panel
 *            are read from the upper triangle, j >= i, so (i, j) and
 *            (j, i) see the very same float);
 *   phase B: each later row j >= i1 takes every panel row i.
 * A row's list is only ever updated by one thread at a time, and a list is
 * a max-heap on the key (distance, index), a total order, so the final
 * lists do not depend on the order candidates arrive in, nor on the
 * number of threads.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* Columns per phase-B work item: their k-lists stay in cache while a
 * thread walks down the panel. */
#define COLUMN_BLOCK 256

/* The per-row top-k lists, as max-heaps of (distance, index). */
typedef struct top_lists {
    int64_t k;
    float *dist;    /* n x k */
    int32_t *index; /* n x k */
    int32_t *size;  /* n */
} top_lists;

static inline int key_less(float da, int32_t ia, float db, int32_t ib)
{
    return da < db || (da == db && ia < ib);
}

/* Offers (dist, index) to row's list: kept if the list has room or it is
 * smaller than the largest kept key. */
static inline void offer(top_lists *t, int64_t row, float dist, int32_t index)
{
    const int64_t k = t->k;
    float *hd = t->dist + row * k;
    int32_t *hi = t->index + row * k;
    int32_t size = t->size[row];
    int64_t pos;
    if (size < k) {
        /* sift up from the new leaf */
        pos = size;
        t->size[row] = size + 1;
        while (pos > 0) {
            int64_t parent = (pos - 1) / 2;
            if (!key_less(hd[parent], hi[parent], dist, index))
                break;
            hd[pos] = hd[parent];
            hi[pos] = hi[parent];
            pos = parent;
        }
        hd[pos] = dist;
        hi[pos] = index;
        return;
    }
    if (!key_less(dist, index, hd[0], hi[0]))
        return;
    /* replace the root and sift down */
    pos = 0;
    for (;;) {
        int64_t child = 2 * pos + 1;
        if (child >= k)
            break;
        if (child + 1 < k && key_less(hd[child], hi[child], hd[child + 1], hi[child + 1]))
            child++;
        if (!key_less(dist, index, hd[child], hi[child]))
            break;
        hd[pos] = hd[child];
        hi[pos] = hi[child];
        pos = child;
    }
    hd[pos] = dist;
    hi[pos] = index;
}

/* The float32 squared distance from a Gram entry, clamped at 0 (faiss). */
static inline float squared_distance(float norm_i, float norm_j, float gram)
{
    float d = (norm_i + norm_j) - 2.0f * gram;
    return d > 0.0f ? d : 0.0f;
}

/* The largest distance a row's list still accepts: +inf until the list
 * is full, then its root's. A candidate above it is rejected with one
 * comparison; one equal to it still goes to offer() for the index rule. */
static inline float threshold(const top_lists *t, int64_t row)
{
    return t->size[row] < t->k ? INFINITY : t->dist[row * t->k];
}

static void knn_panel(const float *x, int64_t n, int64_t d, int64_t ldx, const float *norm,
                      int64_t i0, int64_t i1, float *tile, int n_threads, top_lists *t)
{
    const int64_t cols = n - i0, rows = i1 - i0;
    rlcc__gram_panel(x, n, d, ldx, i0, i1, tile);

    /* phase A: the panel's own rows */
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 4)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = i0 + r;
        const float norm_i = norm[i];
        float limit = threshold(t, i);
        for (int64_t q = 0; q < r; q++) { /* j < i inside the panel: upper triangle */
            const float dist = squared_distance(norm[i0 + q], norm_i, tile[q * cols + r]);
            if (dist <= limit) {
                offer(t, i, dist, (int32_t)(i0 + q));
                limit = threshold(t, i);
            }
        }
        const float *g = tile + r * cols;
        for (int64_t j = i; j < n; j++) {
            const float dist = squared_distance(norm_i, norm[j], g[j - i0]);
            if (dist <= limit) {
                offer(t, i, dist, (int32_t)j);
                limit = threshold(t, i);
            }
        }
    }
    /* phase B: rows after the panel take the panel's rows as candidates */
    const int64_t first = i1, blocks = (n - first + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t j0 = first + b * COLUMN_BLOCK;
        const int64_t j1 = j0 + COLUMN_BLOCK < n ? j0 + COLUMN_BLOCK : n;
        float limit[COLUMN_BLOCK];
        for (int64_t j = j0; j < j1; j++)
            limit[j - j0] = threshold(t, j);
        for (int64_t r = 0; r < rows; r++) {
            const float *g = tile + r * cols;
            const float norm_i = norm[i0 + r];
            for (int64_t j = j0; j < j1; j++) {
                const float dist = squared_distance(norm_i, norm[j], g[j - i0]);
                if (dist <= limit[j - j0]) {
                    offer(t, j, dist, (int32_t)(i0 + r));
                    limit[j - j0] = threshold(t, j);
                }
            }
        }
    }
}

/* Sorts one finished heap ascending by key (k is small: insertion sort). */
static void sort_list(float *hd, int32_t *hi, int64_t size)
{
    for (int64_t a = 1; a < size; a++) {
        float dv = hd[a];
        int32_t iv = hi[a];
        int64_t b = a;
        while (b > 0 && key_less(dv, iv, hd[b - 1], hi[b - 1])) {
            hd[b] = hd[b - 1];
            hi[b] = hi[b - 1];
            b--;
        }
        hd[b] = dv;
        hi[b] = iv;
    }
}

int rlcc__knn(const float *x, int64_t n, int64_t d, int64_t ldx, const double *norm2,
              int64_t k, int n_threads, rlcc_budget *budget, int32_t *indices, float *sqdist)
{
    int err;
    const int64_t rows = rlcc__panel_rows(n, budget);
    top_lists t = {.k = k};
    float *norm = rlcc__alloc(budget, n, sizeof *norm, "row norms", &err);
    float *tile = norm ? rlcc__alloc(budget, rows * n, sizeof *tile, "Gram tile", &err) : NULL;
    t.dist = tile ? rlcc__alloc(budget, n * k, sizeof *t.dist, "top-k distances", &err) : NULL;
    t.index = t.dist ? rlcc__alloc(budget, n * k, sizeof *t.index, "top-k indices", &err) : NULL;
    t.size = t.index ? rlcc__calloc(budget, n, sizeof *t.size, "top-k sizes", &err) : NULL;
    if (t.size != NULL) {
        rlcc_blocktime_guard blocktime;
        rlcc__blocktime_enter(&blocktime);
        for (int64_t i = 0; i < n; i++)
            norm[i] = (float)norm2[i];
        for (int64_t i0 = 0; i0 < n; i0 += rows)
            knn_panel(x, n, d, ldx, norm, i0, i0 + rows < n ? i0 + rows : n, tile, n_threads, &t);
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            sort_list(t.dist + i * k, t.index + i * k, t.size[i]);
            for (int64_t r = 0; r < k; r++) {
                indices[i * k + r] = t.index[i * k + r];
                if (sqdist != NULL)
                    sqdist[i * k + r] = t.dist[i * k + r];
            }
        }
        rlcc__blocktime_leave(&blocktime);
        err = RLCC_OK;
    }
    rlcc__free(budget, t.size, n, sizeof *t.size);
    rlcc__free(budget, t.index, n * k, sizeof *t.index);
    rlcc__free(budget, t.dist, n * k, sizeof *t.dist);
    rlcc__free(budget, tile, rows * n, sizeof *tile);
    rlcc__free(budget, norm, n, sizeof *norm);
    return err;
}
