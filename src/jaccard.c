/*
 * jaccard.c - the k-reciprocal Jaccard distance, sparse from end to end.
 *
 * The trainers compute it with three dense n x n matrices; here every
 * matrix after the kNN lists is sparse (rlcc_csr):
 *   R      n x k1 neighbour lists (knn.c, or the caller's)
 *   A, B   reciprocal lists, n x k1 and n x (h+1)
 *   V      weights over the expanded sets E_i (about k1 entries a row)
 *   Q      V after the query expansion (about k2 k1 entries a row)
 *   Q^T    the inverted index: for each column, the rows holding it
 * and the result is built a block of rows at a time. Rows of unknown
 * length are written into slots sized by a cheap upper bound computed
 * first, so the parallel loops never allocate; the main thread compacts.
 * See rlcc.h for the formulas and the spec for the reference's quirks.
 */
#include <math.h>
#include <stdatomic.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define OPTIONS_SIZE_1_1 (offsetof(rlcc_jaccard_options, max_bytes) + sizeof(int64_t))

/* Result entries buffered per block of rows before they join the result. */
#define BLOCK_ENTRIES ((int64_t)4 << 20)

/* A unit row's norm may differ from 1 by this much for the DOT variant. */
#define UNIT_TOLERANCE 1e-3

int rlcc_jaccard_options_init(rlcc_jaccard_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_jaccard_options defaults = {
        .struct_size = sizeof defaults, .k1 = 30, .k2 = 6, .variant = RLCC_JACCARD_DOT,
        .cutoff = 1.0f};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             OPTIONS_SIZE_1_1, "options");
}

/* ---- per-thread scratch ------------------------------------------------- */

/* A sparse accumulator over n columns plus the small lists one row needs.
 * Each thread owns one; every row leaves it clean for the next. */
typedef struct scratch {
    float *acc;        /* n: running sums of touched columns */
    uint64_t *bits;    /* n/64 words: which columns are touched */
    int32_t *touched;  /* n: touched columns, in first-touch order */
    int64_t n_touched;
    int32_t *stamp;    /* n: stamp[j] == i marks j as a member of A_i */
    int32_t *list;     /* candidate list for E_i */
    double *weight;    /* its weights */
} scratch;

static inline void acc_add(scratch *s, int32_t column, float value)
{
    const uint64_t bit = (uint64_t)1 << (column & 63);
    if (s->bits[column >> 6] & bit) {
        s->acc[column] += value;
    } else {
        s->bits[column >> 6] |= bit;
        s->acc[column] = value; /* 0 + value, exactly */
        s->touched[s->n_touched++] = column;
    }
}

static int compare_int32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Puts the touched columns in ascending order and clears their bits:
 * sorting when they are few, otherwise one pass over the bit words. */
static void acc_sort(scratch *s, int64_t n)
{
    const int64_t words = (n + 63) / 64;
    if (s->n_touched * 32 < words) {
        qsort(s->touched, (size_t)s->n_touched, sizeof *s->touched, compare_int32);
        for (int64_t t = 0; t < s->n_touched; t++)
            s->bits[s->touched[t] >> 6] = 0;
        return;
    }
    int64_t t = 0;
    for (int64_t w = 0; w < words; w++) {
        uint64_t word = s->bits[w];
        while (word) {
            s->touched[t++] = (int32_t)(w * 64 + __builtin_ctzll(word));
            word &= word - 1;
        }
        s->bits[w] = 0;
    }
}

static void scratch_release(scratch *s, int count, int64_t n, int64_t list_len,
                            rlcc__budget *budget)
{
    for (int t = 0; s != NULL && t < count; t++) {
        rlcc__free(budget, s[t].acc, n, sizeof *s[t].acc);
        rlcc__free(budget, s[t].bits, (n + 63) / 64, sizeof *s[t].bits);
        rlcc__free(budget, s[t].touched, n, sizeof *s[t].touched);
        rlcc__free(budget, s[t].stamp, n, sizeof *s[t].stamp);
        rlcc__free(budget, s[t].list, list_len, sizeof *s[t].list);
        rlcc__free(budget, s[t].weight, list_len, sizeof *s[t].weight);
    }
    rlcc__free(budget, s, count, sizeof *s);
}

static scratch *scratch_alloc(int count, int64_t n, int64_t list_len, rlcc__budget *budget,
                              int *err)
{
    scratch *s = rlcc__calloc(budget, count, sizeof *s, "thread scratch", err);
    if (s == NULL)
        return NULL;
    for (int t = 0; t < count; t++) {
        /* each allocation only when the previous ones worked, so *err keeps
         * the first failure */
        scratch *one = &s[t];
        if ((one->acc = rlcc__alloc(budget, n, sizeof *one->acc, "thread scratch", err)) == NULL ||
            (one->bits = rlcc__calloc(budget, (n + 63) / 64, sizeof *one->bits, "thread scratch", err)) == NULL ||
            (one->touched = rlcc__alloc(budget, n, sizeof *one->touched, "thread scratch", err)) == NULL ||
            (one->stamp = rlcc__alloc(budget, n, sizeof *one->stamp, "thread scratch", err)) == NULL ||
            (one->list = rlcc__alloc(budget, list_len, sizeof *one->list, "thread scratch", err)) == NULL ||
            (one->weight = rlcc__alloc(budget, list_len, sizeof *one->weight, "thread scratch", err)) == NULL) {
            scratch_release(s, count, n, list_len, budget);
            return NULL;
        }
        for (int64_t j = 0; j < n; j++)
            one->stamp[j] = -1;
    }
    return s;
}

/* ---- the pipeline ------------------------------------------------------- */

typedef struct jaccard_run {
    const float *x;       /* the rows used: the caller's or a normalised copy */
    int64_t n, d, ldx;
    int64_t k1, k2, h;
    int32_t variant;
    float cutoff;
    int n_threads;
    const double *norm2;  /* squared norms of those rows */
    int32_t *R;           /* n x k1 */
    int32_t *A, *B;       /* n x k1, n x b_width */
    int32_t *a_count, *b_count;
    int64_t b_width;      /* min(h + 1, k1) */
    scratch *scratch;
    rlcc__budget *budget;
} jaccard_run;

/* Does the first len entries of list hold value? */
static int holds(const int32_t *list, int64_t len, int32_t value)
{
    for (int64_t r = 0; r < len; r++)
        if (list[r] == value)
            return 1;
    return 0;
}

/* Step 2: A_i = recip(i, k1), B_i = recip(i, h), in rank order. */
static void reciprocal_lists(jaccard_run *run)
{
    const int64_t k1 = run->k1, bw = run->b_width;
#pragma omp parallel for num_threads(run->n_threads) if (run->n_threads > 1) schedule(static)
    for (int64_t i = 0; i < run->n; i++) {
        const int32_t *row = run->R + i * k1;
        int32_t a = 0, b = 0;
        for (int64_t r = 0; r < k1; r++)
            if (holds(run->R + (int64_t)row[r] * k1, k1, (int32_t)i))
                run->A[i * k1 + a++] = row[r];
        for (int64_t r = 0; r < bw; r++)
            if (holds(run->R + (int64_t)row[r] * k1, bw, (int32_t)i))
                run->B[i * bw + b++] = row[r];
        run->a_count[i] = a;
        run->b_count[i] = b;
    }
}

/* Step 3 for one row: the expanded set E_i, sorted and unique, into
 * s->list. Returns |E_i|. */
static int64_t expanded_set(const jaccard_run *run, scratch *s, int64_t i)
{
    const int32_t *A = run->A + i * run->k1;
    const int64_t a_len = run->a_count[i];
    int64_t len = 0;
    for (int64_t r = 0; r < a_len; r++) {
        s->stamp[A[r]] = (int32_t)i;
        s->list[len++] = A[r];
    }
    for (int64_t r = 0; r < a_len; r++) {
        const int32_t c = A[r];
        const int32_t *Bc = run->B + (int64_t)c * run->b_width;
        const int64_t b_len = run->b_count[c];
        int64_t shared = 0;
        for (int64_t q = 0; q < b_len; q++)
            shared += s->stamp[Bc[q]] == (int32_t)i;
        if (3 * shared > 2 * b_len)
            for (int64_t q = 0; q < b_len; q++)
                s->list[len++] = Bc[q];
    }
    qsort(s->list, (size_t)len, sizeof *s->list, compare_int32);
    int64_t unique = 0;
    for (int64_t r = 0; r < len; r++)
        if (unique == 0 || s->list[r] != s->list[unique - 1])
            s->list[unique++] = s->list[r];
    return unique;
}

/* d(i, j) in double from a dot product in librlcc's fixed order: the same
 * bits on every machine (fixed.c), whichever process computes it. */
static double pair_distance(int32_t variant, const float *xi, double norm2_i, const float *xj,
                            double norm2_j, int64_t d)
{
    const double dot = rlcc__dot_fixed(xi, xj, d);
    return variant == RLCC_JACCARD_DOT ? 2.0 - 2.0 * dot : norm2_i + norm2_j - 2.0 * dot;
}

/* Step 4 for one row: the softmax weights of the count distances in dist
 * (overwritten), exp in double by librlcc's own exp (fixed.c), written
 * with their columns at out. */
static void softmax_weights(double *dist, const int32_t *cols, int64_t count, int32_t *out_col,
                            float *out_val)
{
    double dmin = INFINITY;
    for (int64_t r = 0; r < count; r++)
        dmin = dist[r] < dmin ? dist[r] : dmin;
    double sum = 0.0;
    for (int64_t r = 0; r < count; r++) {
        dist[r] = rlcc__exp_fixed(dmin - dist[r]);
        sum += dist[r];
    }
    for (int64_t r = 0; r < count; r++) {
        out_col[r] = cols[r];
        out_val[r] = (float)(dist[r] / sum);
    }
}

/* Steps 3 and 4 for one row, from the rows: E_i and its weights at out.
 * Returns |E_i|. */
static int64_t weights_row(const jaccard_run *run, scratch *s, int64_t i, int32_t *out_col,
                           float *out_val)
{
    const int64_t unique = expanded_set(run, s, i);
    const float *xi = run->x + i * run->ldx;
    for (int64_t r = 0; r < unique; r++) {
        const int64_t j = s->list[r];
        s->weight[r] = pair_distance(run->variant, xi, run->norm2[i], run->x + j * run->ldx,
                                     run->norm2[j], run->d);
    }
    softmax_weights(s->weight, s->list, unique, out_col, out_val);
    return unique;
}

/* Step 5 for one row: Q[i] = (V[R[i][0]] + ... + V[R[i][k2-1]]) / k2,
 * summed in that order in float32. */
static int64_t expansion_row(const jaccard_run *run, scratch *s, const rlcc_csr *V, int64_t i,
                             int32_t *out_col, float *out_val)
{
    s->n_touched = 0;
    for (int64_t m = 0; m < run->k2; m++) {
        const int64_t r = run->R[i * run->k1 + m];
        for (int64_t e = V->indptr[r]; e < V->indptr[r + 1]; e++)
            acc_add(s, V->indices[e], V->data[e]);
    }
    acc_sort(s, run->n);
    const float k2 = (float)run->k2;
    for (int64_t t = 0; t < s->n_touched; t++) {
        out_col[t] = s->touched[t];
        out_val[t] = s->acc[s->touched[t]] / k2;
    }
    return s->n_touched;
}

/* Step 6 for one row: t(i, m) over shared columns in ascending order, then
 * 1 - t / (2 - t) clamped at 0. Calls emit for every m that shares a
 * column, in ascending m. */
static void jaccard_row(const jaccard_run *run, scratch *s, const rlcc_csr *Q,
                        const rlcc_csr *inverted, int64_t i)
{
    s->n_touched = 0;
    for (int64_t e = Q->indptr[i]; e < Q->indptr[i + 1]; e++) {
        const int32_t k = Q->indices[e];
        const float qi = Q->data[e];
        for (int64_t f = inverted->indptr[k]; f < inverted->indptr[k + 1]; f++) {
            const float qm = inverted->data[f];
            acc_add(s, inverted->indices[f], qi < qm ? qi : qm);
        }
    }
    acc_sort(s, run->n);
    for (int64_t t = 0; t < s->n_touched; t++) {
        const float shared = s->acc[s->touched[t]];
        float dist = 1.0f - shared / (2.0f - shared);
        s->acc[s->touched[t]] = dist < 0.0f ? 0.0f : dist;
    }
}

/* Builds an n-row matrix whose row i has at most bound[i] entries, filled
 * in parallel by fill(run, scratch, source, i, columns, values). */
typedef int64_t (*row_filler)(const jaccard_run *, scratch *, const rlcc_csr *, int64_t,
                              int32_t *, float *);

static int64_t fill_weights(const jaccard_run *run, scratch *s, const rlcc_csr *unused,
                            int64_t i, int32_t *col, float *val)
{
    (void)unused;
    return weights_row(run, s, i, col, val);
}

static int build_rows(jaccard_run *run, const int64_t *bound, row_filler fill,
                      const rlcc_csr *source, rlcc_csr *out)
{
    const int64_t n = run->n;
    int err;
    int64_t *slot = rlcc__alloc(run->budget, n, sizeof *slot, "row slots", &err);
    int64_t *count = slot ? rlcc__alloc(run->budget, n, sizeof *count, "row counts", &err) : NULL;
    if (count == NULL) {
        rlcc__free(run->budget, slot, n, sizeof *slot);
        return err;
    }
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        slot[i] = total;
        total += bound[i];
    }
    err = rlcc__csr_init(out, n, total, run->budget);
    if (err == RLCC_OK) {
#pragma omp parallel for num_threads(run->n_threads) if (run->n_threads > 1) schedule(dynamic, 64)
        for (int64_t i = 0; i < n; i++)
            count[i] = fill(run, &run->scratch[omp_get_thread_num()], source, i,
                            out->indices + slot[i], out->data + slot[i]);
        rlcc__csr_compact(out, slot, count);
        err = rlcc__csr_resize(out, out->indptr[n], run->budget);
        if (err != RLCC_OK)
            rlcc__csr_release(out, run->budget);
    }
    rlcc__free(run->budget, count, n, sizeof *count);
    rlcc__free(run->budget, slot, n, sizeof *slot);
    return err;
}

static int build_weights(jaccard_run *run, int64_t *bound, rlcc_csr *V)
{
    for (int64_t i = 0; i < run->n; i++) {
        bound[i] = run->a_count[i];
        for (int64_t r = 0; r < run->a_count[i]; r++)
            bound[i] += run->b_count[run->A[i * run->k1 + r]];
    }
    return build_rows(run, bound, fill_weights, NULL, V);
}

static int build_expansion(jaccard_run *run, int64_t *bound, const rlcc_csr *V, rlcc_csr *Q)
{
    for (int64_t i = 0; i < run->n; i++) {
        bound[i] = 0;
        for (int64_t m = 0; m < run->k2; m++) {
            const int64_t r = run->R[i * run->k1 + m];
            bound[i] += V->indptr[r + 1] - V->indptr[r];
        }
        if (bound[i] > run->n)
            bound[i] = run->n;
    }
    return build_rows(run, bound, expansion_row, V, Q);
}

/* The transpose of Q: for each column, its rows in ascending order. */
static int build_inverted(jaccard_run *run, const rlcc_csr *Q, rlcc_csr *inverted)
{
    const int64_t n = run->n, nnz = Q->indptr[n];
    int err = rlcc__csr_init(inverted, n, nnz, run->budget);
    if (err != RLCC_OK)
        return err;
    for (int64_t e = 0; e < nnz; e++)
        inverted->indptr[Q->indices[e] + 1]++;
    for (int64_t c = 0; c < n; c++)
        inverted->indptr[c + 1] += inverted->indptr[c];
    int64_t *cursor = rlcc__alloc(run->budget, n, sizeof *cursor, "inverted index cursor", &err);
    if (cursor == NULL) {
        rlcc__csr_release(inverted, run->budget);
        return err;
    }
    memcpy(cursor, inverted->indptr, sizeof *cursor * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = Q->indptr[i]; e < Q->indptr[i + 1]; e++) {
            const int64_t at = cursor[Q->indices[e]]++;
            inverted->indices[at] = (int32_t)i;
            inverted->data[at] = Q->data[e];
        }
    rlcc__free(run->budget, cursor, n, sizeof *cursor);
    return RLCC_OK;
}

/* Step 6 into a dense n x n buffer: 1 everywhere but shared columns. */
static void jaccard_dense(jaccard_run *run, const rlcc_csr *Q, const rlcc_csr *inverted,
                          float *dist, int64_t ld)
{
#pragma omp parallel for num_threads(run->n_threads) if (run->n_threads > 1) schedule(dynamic, 16)
    for (int64_t i = 0; i < run->n; i++) {
        scratch *s = &run->scratch[omp_get_thread_num()];
        float *row = dist + i * ld;
        for (int64_t m = 0; m < run->n; m++)
            row[m] = 1.0f;
        jaccard_row(run, s, Q, inverted, i);
        for (int64_t t = 0; t < s->n_touched; t++)
            row[s->touched[t]] = s->acc[s->touched[t]];
    }
}

/* Step 6 into a new CSR result of rows [row0, row1) (all n columns):
 * blocks of rows whose bounds fit the block buffer are computed in
 * parallel, then appended in row order. bound has room for row1 - row0. */
static int jaccard_sparse(jaccard_run *run, const rlcc_csr *Q, const rlcc_csr *inverted,
                          int64_t *bound, int64_t row0, int64_t row1, rlcc_csr *result)
{
    const int64_t n = run->n, rows = row1 - row0;
    int64_t largest = 0, total = 0;
    for (int64_t i = row0; i < row1; i++) {
        int64_t b = 0;
        for (int64_t e = Q->indptr[i]; e < Q->indptr[i + 1]; e++) {
            const int32_t k = Q->indices[e];
            b += inverted->indptr[k + 1] - inverted->indptr[k];
        }
        b = b > n ? n : b;
        bound[i - row0] = b;
        largest = b > largest ? b : largest;
        total += b;
    }
    /* The block buffer takes at most a quarter of what the budget leaves,
     * and no more than every row's bound together (a small input needs no
     * 32 MiB), but always room for the longest row. */
    int64_t block_cap = (run->budget->limit - run->budget->used) / 4 /
                        (int64_t)(sizeof(int32_t) + sizeof(float));
    block_cap = block_cap < BLOCK_ENTRIES ? block_cap : BLOCK_ENTRIES;
    block_cap = block_cap < total ? block_cap : total;
    block_cap = block_cap > largest ? block_cap : largest;
    int err = rlcc__csr_init(result, rows, rows > 0 ? rows : 1, run->budget);
    if (err == RLCC_OK)
        result->cols = n;
    rlcc_csr block = {0};
    int64_t *slot = NULL, *count = NULL;
    if (err == RLCC_OK)
        err = rlcc__csr_init(&block, 0, block_cap, run->budget);
    if (err == RLCC_OK)
        slot = rlcc__alloc(run->budget, rows, sizeof *slot, "row slots", &err);
    if (slot != NULL)
        count = rlcc__alloc(run->budget, rows, sizeof *count, "row counts", &err);
    const float cutoff = run->cutoff;
    for (int64_t r0 = 0; count != NULL && err == RLCC_OK && r0 < rows;) {
        int64_t r1 = r0, used = 0;
        while (r1 < rows && (r1 == r0 || used + bound[r1] <= block_cap)) {
            slot[r1] = used;
            used += bound[r1++];
        }
#pragma omp parallel for num_threads(run->n_threads) if (run->n_threads > 1) schedule(dynamic, 16)
        for (int64_t li = r0; li < r1; li++) {
            scratch *s = &run->scratch[omp_get_thread_num()];
            jaccard_row(run, s, Q, inverted, row0 + li);
            int64_t kept = 0;
            for (int64_t t = 0; t < s->n_touched; t++) {
                const float dist = s->acc[s->touched[t]];
                if (dist < cutoff) {
                    block.indices[slot[li] + kept] = s->touched[t];
                    block.data[slot[li] + kept] = dist;
                    kept++;
                }
            }
            count[li] = kept;
        }
        int64_t block_total = 0;
        for (int64_t li = r0; li < r1; li++)
            block_total += count[li];
        int64_t have = result->indptr[r0];
        if (have + block_total > result->capacity) {
            int64_t grown = result->capacity + result->capacity / 2;
            err = rlcc__csr_resize(result, grown > have + block_total ? grown : have + block_total,
                                   run->budget);
            if (err != RLCC_OK)
                break;
        }
        for (int64_t li = r0; li < r1; li++) {
            memcpy(result->indices + have, block.indices + slot[li], sizeof(int32_t) * (size_t)count[li]);
            memcpy(result->data + have, block.data + slot[li], sizeof(float) * (size_t)count[li]);
            have += count[li];
            result->indptr[li + 1] = have;
        }
        r0 = r1;
    }
    rlcc__free(run->budget, count, rows, sizeof *count);
    rlcc__free(run->budget, slot, rows, sizeof *slot);
    if (block.indptr != NULL)
        rlcc__csr_release(&block, run->budget);
    if (err == RLCC_OK)
        err = rlcc__csr_resize(result, result->indptr[rows], run->budget);
    if (err != RLCC_OK && result->indptr != NULL)
        rlcc__csr_release(result, run->budget);
    return err;
}

/* ---- validation ----------------------------------------------------------- */

int rlcc__check_jaccard_options(const rlcc_jaccard_options *options, int64_t n,
                                rlcc_jaccard_options *out)
{
    rlcc_jaccard_options_init(out, sizeof *out);
    int err = rlcc__read_struct(out, sizeof *out, options, OPTIONS_SIZE_1_1, "options");
    if (err != RLCC_OK)
        return err;
    if (out->k1 < 1 || (n > 0 && out->k1 > n))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k1: %d must be in [1, n = %lld]",
                          (int)out->k1, (long long)n);
    if (out->k2 < 1 || out->k2 > out->k1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k2: %d must be in [1, k1 = %d]",
                          (int)out->k2, (int)out->k1);
    if (out->variant != RLCC_JACCARD_DOT && out->variant != RLCC_JACCARD_SQEUCLIDEAN)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "variant: %d is not a known variant",
                          (int)out->variant);
    if (out->normalize != 0 && out->normalize != 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "normalize: %d must be 0 or 1",
                          (int)out->normalize);
    if (!(out->cutoff > 0.0f && out->cutoff <= 1.0f))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "cutoff: %g must be in (0, 1]",
                          (double)out->cutoff);
    err = rlcc__check_threads(out->n_threads);
    return err == RLCC_OK ? rlcc__check_max_bytes(out->max_bytes) : err;
}

int rlcc__check_knn_lists(const int64_t *knn, int64_t n, int64_t k1, rlcc__budget *budget)
{
    int err;
    int64_t *seen = rlcc__alloc(budget, n, sizeof *seen, "kNN check", &err);
    if (seen == NULL)
        return err;
    for (int64_t j = 0; j < n; j++)
        seen[j] = -1;
    err = RLCC_OK;
    for (int64_t i = 0; i < n && err == RLCC_OK; i++)
        for (int64_t r = 0; r < k1; r++) {
            const int64_t j = knn[i * k1 + r];
            if (j < 0 || j >= n) {
                err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                 "knn: entry %lld of row %lld is %lld, outside [0, %lld)",
                                 (long long)r, (long long)i, (long long)j, (long long)n);
                break;
            }
            if (seen[j] == i) {
                err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                 "knn: row %lld lists %lld twice", (long long)i, (long long)j);
                break;
            }
            seen[j] = i;
        }
    rlcc__free(budget, seen, n, sizeof *seen);
    return err;
}

/* ---- the pipeline ------------------------------------------------------------ */

/* DOT needs unit rows: refuse others, or normalise a copy when asked.
 * On return run->x and run->norm2 are the rows to use. */
static int prepare_rows(jaccard_run *run, const rlcc_jaccard_options *opts, const float *x,
                        double *norm2, float **copy)
{
    const int64_t n = run->n, d = run->d;
    *copy = NULL;
    if (opts->normalize) {
        int err;
        for (int64_t i = 0; i < n; i++)
            if (!(norm2[i] > 0.0))
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                  "x: row %lld is all zeros and cannot be normalised",
                                  (long long)i);
        *copy = rlcc__alloc(run->budget, n * d, sizeof **copy, "normalised rows", &err);
        if (*copy == NULL)
            return err;
        rlcc__normalize_rows(x, n, d, run->ldx, norm2, *copy, norm2);
        run->x = *copy;
        run->ldx = d;
        return RLCC_OK;
    }
    if (opts->variant == RLCC_JACCARD_DOT)
        for (int64_t i = 0; i < n; i++)
            if (fabs(sqrt(norm2[i]) - 1.0) > UNIT_TOLERANCE)
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                  "x: row %lld has norm %g, not 1 within %g (the dot variant "
                                  "needs unit rows; set normalize = 1 to normalise them)",
                                  (long long)i, sqrt(norm2[i]), UNIT_TOLERANCE);
    return RLCC_OK;
}

/* A run over n rows with the options' k1, k2, variant, cutoff and threads
 * (no rows, lists or scratch yet). */
static jaccard_run run_of(int64_t n, const rlcc_jaccard_options *opts, rlcc__budget *budget)
{
    jaccard_run run = {
        .n = n, .k1 = opts->k1, .k2 = opts->k2,
        /* round_half_even(k1 / 2): k1 / 2 is an integer or a half */
        .h = (opts->k1 % 2 == 0) ? opts->k1 / 2
                                 : ((opts->k1 / 2) % 2 == 0 ? opts->k1 / 2 : opts->k1 / 2 + 1),
        .variant = opts->variant, .cutoff = opts->cutoff,
        .n_threads = rlcc__resolve_threads(opts->n_threads), .budget = budget,
    };
    run.b_width = run.h + 1 < run.k1 ? run.h + 1 : run.k1;
    return run;
}

/* The length of a scratch's candidate list: |E_i| at most. */
static int64_t list_len_of(const jaccard_run *run)
{
    return run->k1 * (run->b_width + 1);
}

/* The reciprocal lists' arrays and the threads' scratch (run->R is set). */
static int run_alloc_lists(jaccard_run *run)
{
    const int64_t n = run->n;
    rlcc__budget *budget = run->budget;
    int err = RLCC_OK;
    run->A = rlcc__alloc(budget, n * run->k1, sizeof *run->A, "reciprocal lists", &err);
    if (err == RLCC_OK)
        run->B = rlcc__alloc(budget, n * run->b_width, sizeof *run->B, "reciprocal lists", &err);
    if (err == RLCC_OK)
        run->a_count = rlcc__alloc(budget, n, sizeof *run->a_count, "reciprocal lists", &err);
    if (err == RLCC_OK)
        run->b_count = rlcc__alloc(budget, n, sizeof *run->b_count, "reciprocal lists", &err);
    if (err == RLCC_OK)
        run->scratch = scratch_alloc(run->n_threads, n, list_len_of(run), budget, &err);
    return err;
}

/* Frees what run_alloc_lists() took, and R. */
static void run_release_lists(jaccard_run *run)
{
    const int64_t n = run->n;
    rlcc__budget *budget = run->budget;
    scratch_release(run->scratch, run->scratch ? run->n_threads : 0, n, list_len_of(run), budget);
    rlcc__free(budget, run->b_count, n, sizeof *run->b_count);
    rlcc__free(budget, run->a_count, n, sizeof *run->a_count);
    rlcc__free(budget, run->B, n * run->b_width, sizeof *run->B);
    rlcc__free(budget, run->A, n * run->k1, sizeof *run->A);
    rlcc__free(budget, run->R, n * run->k1, sizeof *run->R);
    run->scratch = NULL;
    run->b_count = run->a_count = run->A = run->B = run->R = NULL;
}

/* run->R from the caller's checked int64 lists. */
static int run_lists_from(jaccard_run *run, const int64_t *knn)
{
    int err;
    run->R = rlcc__alloc(run->budget, run->n * run->k1, sizeof *run->R, "kNN lists", &err);
    if (run->R != NULL)
        for (int64_t e = 0; e < run->n * run->k1; e++)
            run->R[e] = (int32_t)knn[e];
    return run->R != NULL ? RLCC_OK : err;
}

/* Everything from the row norms to step 6, into a CSR (*result) or a
 * dense buffer. */
int rlcc__jaccard(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                  const rlcc_jaccard_options *opts, rlcc__budget *budget, rlcc_csr *result,
                  float *dense, int64_t ld)
{
    jaccard_run run = run_of(n, opts, budget);
    const int n_threads = run.n_threads;
    run.x = x, run.d = d, run.ldx = ldx;
    const int64_t k1 = run.k1;
    float *copy = NULL;
    int64_t *bound = NULL;
    rlcc_csr V = {0}, Q = {0}, inverted = {0};
    memset(result, 0, sizeof *result);

    int err;
    double *norm2 = rlcc__alloc(budget, n, sizeof *norm2, "row norms", &err);
    if (norm2 == NULL)
        return err;
    /* the first pass over the rows' values: NaN, Inf, norms */
    err = rlcc__row_norms("x", x, n, d, ldx, n_threads, norm2);
    if (err == RLCC_OK)
        err = prepare_rows(&run, opts, x, norm2, &copy);
    run.norm2 = norm2;
    /* Validation is over: from here on only memory can fail. */
    if (err == RLCC_OK)
        run.R = rlcc__alloc(budget, n * k1, sizeof *run.R, "kNN lists", &err);
    if (run.R != NULL) {
        if (knn != NULL)
            for (int64_t e = 0; e < n * k1; e++)
                run.R[e] = (int32_t)knn[e];
        else
            err = rlcc__knn(run.x, n, d, run.ldx, norm2, k1, n_threads, budget, run.R, NULL);
    }
    if (err == RLCC_OK)
        err = run_alloc_lists(&run);
    if (err == RLCC_OK)
        bound = rlcc__alloc(budget, n, sizeof *bound, "row bounds", &err);
    if (err == RLCC_OK) {
        reciprocal_lists(&run);
        err = build_weights(&run, bound, &V);
    }
    rlcc_csr *expanded = &V;
    if (err == RLCC_OK && run.k2 > 1) {
        err = build_expansion(&run, bound, &V, &Q);
        if (err == RLCC_OK) {
            rlcc__csr_release(&V, budget);
            expanded = &Q;
        }
    }
    if (err == RLCC_OK)
        err = build_inverted(&run, expanded, &inverted);
    if (err == RLCC_OK && dense != NULL)
        jaccard_dense(&run, expanded, &inverted, dense, ld);
    if (err == RLCC_OK && dense == NULL)
        err = jaccard_sparse(&run, expanded, &inverted, bound, 0, n, result);

    if (inverted.indptr)
        rlcc__csr_release(&inverted, budget);
    if (Q.indptr)
        rlcc__csr_release(&Q, budget);
    if (V.indptr)
        rlcc__csr_release(&V, budget);
    rlcc__free(budget, bound, n, sizeof *bound);
    run_release_lists(&run);
    rlcc__free(budget, copy, n * d, sizeof *copy);
    rlcc__free(budget, norm2, n, sizeof *norm2);
    if (err != RLCC_OK && result->indptr)
        rlcc__csr_release(result, budget);
    return err;
}

/* ---- the two entry points ------------------------------------------------------ */

/* The checks both entry points make before any work; output is what the
 * call writes (the dense matrix, or the handle pointer). */
static int check_call(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                      const rlcc_jaccard_options *options, rlcc_jaccard_options *opts,
                      const rlcc__span *output)
{
    int err = rlcc__check_jaccard_options(options, n, opts);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("x", x, n, d, ldx);
    if (err != RLCC_OK)
        return err;
    const rlcc__span inputs[] = {rlcc__matrix_span("x", x, n, d, ldx, sizeof *x),
                                 rlcc__matrix_span("knn", knn, n, opts->k1, opts->k1, sizeof *knn)};
    return rlcc__check_no_overlap(output, 1, inputs, 2);
}

int rlcc_jaccard(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                 const rlcc_jaccard_options *options, rlcc_csr **out)
{
    rlcc__clear_error();
    if (out == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL");
    rlcc_jaccard_options opts;
    const rlcc__span output = rlcc__vector_span("out", out, 1, sizeof *out);
    int err = check_call(x, n, d, ldx, knn, options, &opts, &output);
    if (err != RLCC_OK)
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    if (n > 0 && knn != NULL)
        err = rlcc__check_knn_lists(knn, n, opts.k1, &budget);
    rlcc_csr result = {0};
    if (err == RLCC_OK)
        err = n > 0 ? rlcc__jaccard(x, n, d, ldx, knn, &opts, &budget, &result, NULL, 0)
                    : rlcc__csr_init(&result, 0, 1, &budget);
    rlcc_csr *handle = err == RLCC_OK
                           ? rlcc__alloc(&budget, 1, sizeof *handle, "result handle", &err)
                           : NULL;
    if (handle == NULL) {
        if (result.indptr)
            rlcc__csr_release(&result, &budget);
        return err;
    }
    *handle = result;
    *out = handle;
    return RLCC_OK;
}

int rlcc_jaccard_dense(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                       const rlcc_jaccard_options *options, float *dist, int64_t ld)
{
    rlcc__clear_error();
    int err = rlcc__check_matrix("dist", dist, n, n > 0 ? n : 1, ld);
    rlcc_jaccard_options opts;
    const rlcc__span output = rlcc__matrix_span("dist", dist, n, n, ld, sizeof *dist);
    if (err == RLCC_OK)
        err = check_call(x, n, d, ldx, knn, options, &opts, &output);
    if (err != RLCC_OK || n == 0) /* n == 0: nothing to write */
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    if (knn != NULL)
        err = rlcc__check_knn_lists(knn, n, opts.k1, &budget);
    rlcc_csr unused;
    return err == RLCC_OK ? rlcc__jaccard(x, n, d, ldx, knn, &opts, &budget, &unused, dist, ld)
                          : err;
}

/* ---- block Jaccard (1.8): the rows of one block of a matrix held in pieces ----
 *
 * rlcc__jaccard() above, cut along the rows. The kNN lists of every row are
 * known to every piece (they are N x k1); the rows themselves are not. A
 * plan holds, for its rows [row0, row1), the expanded sets E_i of step 3
 * (from the lists alone) and the distances d(i, j) over them, taken when the
 * block holding row j is offered; its weights (step 4) are the V rows
 * rlcc__jaccard() builds. Steps 5 and 6 need every V row (the query
 * expansion reads the rows of i's neighbours); rlcc_jaccard_rows() takes
 * them all and gives the Jaccard rows of a range. Every value is computed
 * by the very functions of the single-process path, in the same order. */

struct rlcc_jaccard_plan {
    int64_t n, row0, row1, d;
    rlcc_jaccard_options opts;
    rlcc__budget budget;   /* the plan's arrays, then each call's working memory */
    int64_t *e_ptr;        /* row1 - row0 + 1 */
    int32_t *e_col;        /* the columns of E_i, row after row */
    double *e_dist;        /* d(i, j) over them; NaN until offered */
    int64_t n_entries, n_missing;
    atomic_int busy;
};

static int plan_claim(const rlcc_jaccard_plan *plan)
{
    if (plan == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "plan: is NULL");
    int expected = 0;
    if (!atomic_compare_exchange_strong((atomic_int *)&plan->busy, &expected, 1))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "plan: in use by another call");
    return RLCC_OK;
}

static void plan_release(const rlcc_jaccard_plan *plan)
{
    atomic_store((atomic_int *)&plan->busy, 0);
}

/* The checks a block call makes on n, the row range and the kNN lists. */
static int check_block(const int64_t *knn, int64_t n, int64_t row0, int64_t row1,
                       const rlcc_jaccard_options *opts, rlcc__budget *budget)
{
    if (n < 1 || n > INT32_MAX)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n: %lld must be in [1, INT32_MAX]",
                          (long long)n);
    if (row0 < 0 || row1 < row0 || row1 > n)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "rows: [%lld, %lld) must lie within [0, n = %lld)", (long long)row0,
                          (long long)row1, (long long)n);
    if (knn == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "knn: is NULL (the n x k1 lists of every row)");
    return rlcc__check_knn_lists(knn, n, opts->k1, budget);
}

static void plan_free_arrays(rlcc_jaccard_plan *p)
{
    const int64_t rows = p->row1 - p->row0;
    rlcc__free(&p->budget, p->e_dist, p->n_entries, sizeof *p->e_dist);
    rlcc__free(&p->budget, p->e_col, p->n_entries, sizeof *p->e_col);
    rlcc__free(&p->budget, p->e_ptr, rows + 1, sizeof *p->e_ptr);
}

/* The expanded sets of the plan's rows from the lists (steps 2 and 3). */
static int plan_sets(rlcc_jaccard_plan *p, const int64_t *knn)
{
    jaccard_run run = run_of(p->n, &p->opts, &p->budget);
    const int64_t rows = p->row1 - p->row0;
    int err = run_lists_from(&run, knn);
    if (err == RLCC_OK)
        err = run_alloc_lists(&run);
    int64_t *bound = err == RLCC_OK ? rlcc__alloc(&p->budget, rows + 1, sizeof *bound, "row bounds", &err) : NULL;
    int32_t *wide = NULL;
    int64_t total = 0;
    if (bound != NULL) {
        reciprocal_lists(&run);
        for (int64_t li = 0; li < rows; li++) {
            const int64_t i = p->row0 + li;
            bound[li] = total;
            total += run.a_count[i];
            for (int64_t r = 0; r < run.a_count[i]; r++)
                total += run.b_count[run.A[i * run.k1 + r]];
        }
        bound[rows] = total;
        wide = rlcc__alloc(&p->budget, total, sizeof *wide, "expanded sets", &err);
    }
    p->e_ptr = wide ? rlcc__alloc(&p->budget, rows + 1, sizeof *p->e_ptr, "expanded sets", &err) : NULL;
    if (p->e_ptr != NULL) {
#pragma omp parallel for num_threads(run.n_threads) if (run.n_threads > 1) schedule(dynamic, 64)
        for (int64_t li = 0; li < rows; li++) {
            scratch *s = &run.scratch[omp_get_thread_num()];
            const int64_t count = expanded_set(&run, s, p->row0 + li);
            memcpy(wide + bound[li], s->list, sizeof *wide * (size_t)count);
            p->e_ptr[li + 1] = count; /* counts for now */
        }
        p->e_ptr[0] = 0;
        for (int64_t li = 0; li < rows; li++)
            p->e_ptr[li + 1] += p->e_ptr[li];
        p->n_entries = p->e_ptr[rows];
        p->e_col = rlcc__alloc(&p->budget, p->n_entries, sizeof *p->e_col, "expanded sets", &err);
    }
    if (p->e_col != NULL) {
        for (int64_t li = 0; li < rows; li++)
            memcpy(p->e_col + p->e_ptr[li], wide + bound[li],
                   sizeof *wide * (size_t)(p->e_ptr[li + 1] - p->e_ptr[li]));
        p->e_dist = rlcc__alloc(&p->budget, p->n_entries, sizeof *p->e_dist, "pair distances", &err);
    }
    if (p->e_dist != NULL) {
        for (int64_t e = 0; e < p->n_entries; e++)
            p->e_dist[e] = NAN;
        p->n_missing = p->n_entries;
    }
    rlcc__free(&p->budget, wide, total, sizeof *wide);
    rlcc__free(&p->budget, bound, rows + 1, sizeof *bound);
    run_release_lists(&run);
    return p->e_dist != NULL ? RLCC_OK : err;
}

int rlcc_jaccard_plan_new(const int64_t *knn, int64_t n, int64_t row0, int64_t row1, int64_t d,
                          const rlcc_jaccard_options *options, rlcc_jaccard_plan **plan)
{
    rlcc__clear_error();
    rlcc_jaccard_options opts;
    int err = plan == NULL ? rlcc__fail(RLCC_E_INVALID_ARGUMENT, "plan: is NULL")
                           : rlcc__check_jaccard_options(options, n, &opts);
    if (err == RLCC_OK && (d < 1 || d > INT32_MAX))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "d: %lld must be in [1, INT32_MAX]",
                         (long long)d);
    if (err != RLCC_OK)
        return err;
    rlcc_jaccard_plan *p = rlcc__zalloc(sizeof *p);
    if (p == NULL)
        return rlcc__fail(RLCC_E_OUT_OF_MEMORY, "plan: out of memory");
    *p = (rlcc_jaccard_plan){.n = n, .row0 = row0, .row1 = row1, .d = d, .opts = opts};
    atomic_init(&p->busy, 0);
    rlcc__budget_init(&p->budget, opts.max_bytes);
    err = check_block(knn, n, row0, row1, &opts, &p->budget);
    if (err == RLCC_OK)
        err = plan_sets(p, knn);
    if (err != RLCC_OK) {
        plan_free_arrays(p);
        rlcc__system_free(p, sizeof *p);
        return err;
    }
    *plan = p;
    return RLCC_OK;
}

void rlcc_jaccard_plan_free(rlcc_jaccard_plan *plan)
{
    if (plan == NULL)
        return;
    plan_free_arrays(plan);
    rlcc__system_free(plan, sizeof *plan);
}

/* The rows a plan computes with, as rlcc__jaccard()'s prepare_rows() makes
 * them: checked (NaN, Inf; unit norms for DOT), normalised into *copy when
 * asked, with their squared norms in norm2. */
static int plan_rows(const rlcc_jaccard_plan *p, const char *name, const float *x, int64_t n,
                     int64_t ldx, rlcc__budget *budget, double **norm2, float **copy,
                     const float **rows, int64_t *ld)
{
    int err;
    *copy = NULL, *rows = x, *ld = ldx;
    *norm2 = rlcc__alloc(budget, n, sizeof **norm2, "row norms", &err);
    if (*norm2 == NULL)
        return err;
    err = rlcc__row_norms(name, x, n, p->d, ldx, rlcc__resolve_threads(p->opts.n_threads), *norm2);
    for (int64_t i = 0; err == RLCC_OK && i < n; i++) {
        if (p->opts.normalize && !((*norm2)[i] > 0.0))
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "%s: row %lld is all zeros and cannot be normalised", name,
                             (long long)i);
        if (!p->opts.normalize && p->opts.variant == RLCC_JACCARD_DOT
            && fabs(sqrt((*norm2)[i]) - 1.0) > UNIT_TOLERANCE)
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "%s: row %lld has norm %g, not 1 within %g (the dot variant needs "
                             "unit rows; set normalize = 1 to normalise them)",
                             name, (long long)i, sqrt((*norm2)[i]), UNIT_TOLERANCE);
    }
    if (err == RLCC_OK && p->opts.normalize && n > 0) {
        *copy = rlcc__alloc(budget, n * p->d, sizeof **copy, "normalised rows", &err);
        if (*copy != NULL) {
            rlcc__normalize_rows(x, n, p->d, ldx, *norm2, *copy, *norm2);
            *rows = *copy, *ld = p->d;
        }
    }
    return err;
}

int rlcc_jaccard_plan_offer(rlcc_jaccard_plan *plan, const float *rows, int64_t ldr,
                            const float *refs, int64_t n_refs, int64_t ldf, int64_t ref_offset)
{
    rlcc__clear_error();
    int err = plan_claim(plan);
    if (err != RLCC_OK)
        return err;
    rlcc_jaccard_plan *p = plan;
    const int64_t nq = p->row1 - p->row0, d = p->d;
    err = rlcc__check_matrix("rows", rows, nq, d, ldr);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("refs", refs, n_refs, d, ldf);
    if (err == RLCC_OK && (ref_offset < 0 || ref_offset > p->n - n_refs))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "ref_offset: %lld with %lld rows must lie within [0, n = %lld)",
                         (long long)ref_offset, (long long)n_refs, (long long)p->n);
    double *qn2 = NULL, *rn2 = NULL;
    float *qcopy = NULL, *rcopy = NULL;
    const float *xq = rows, *xr = refs;
    int64_t ldq = ldr, ldx = ldf;
    if (err == RLCC_OK && nq > 0 && n_refs > 0)
        err = plan_rows(p, "rows", rows, nq, ldr, &p->budget, &qn2, &qcopy, &xq, &ldq);
    if (err == RLCC_OK && nq > 0 && n_refs > 0)
        err = plan_rows(p, "refs", refs, n_refs, ldf, &p->budget, &rn2, &rcopy, &xr, &ldx);
    if (err == RLCC_OK && nq > 0 && n_refs > 0) {
        const int n_threads = rlcc__resolve_threads(p->opts.n_threads);
        const int64_t r1 = ref_offset + n_refs;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 64)
        for (int64_t li = 0; li < nq; li++)
            for (int64_t e = p->e_ptr[li]; e < p->e_ptr[li + 1]; e++) {
                const int64_t j = p->e_col[e];
                if (j < ref_offset || j >= r1)
                    continue;
                p->e_dist[e] = pair_distance(p->opts.variant, xq + li * ldq, qn2[li],
                                             xr + (j - ref_offset) * ldx, rn2[j - ref_offset], d);
            }
        int64_t missing = 0;
        for (int64_t e = 0; e < p->n_entries; e++)
            missing += isnan(p->e_dist[e]);
        p->n_missing = missing;
    }
    rlcc__free(&p->budget, rcopy, n_refs * d, sizeof *rcopy);
    rlcc__free(&p->budget, qcopy, nq * d, sizeof *qcopy);
    rlcc__free(&p->budget, rn2, n_refs, sizeof *rn2);
    rlcc__free(&p->budget, qn2, nq, sizeof *qn2);
    plan_release(p);
    return err;
}

/* A new handle for a finished matrix, from budget (the result's own). */
static int hand_over(rlcc_csr *result, rlcc__budget *budget, rlcc_csr **out)
{
    int err;
    rlcc_csr *handle = rlcc__alloc(budget, 1, sizeof *handle, "result handle", &err);
    if (handle == NULL) {
        rlcc__csr_release(result, budget);
        return err;
    }
    *handle = *result;
    *out = handle;
    return RLCC_OK;
}

int rlcc_jaccard_plan_weights(const rlcc_jaccard_plan *plan, rlcc_csr **weights)
{
    rlcc__clear_error();
    if (weights == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "weights: is NULL");
    int err = plan_claim(plan);
    if (err != RLCC_OK)
        return err;
    const rlcc_jaccard_plan *p = plan;
    const int64_t rows = p->row1 - p->row0;
    for (int64_t li = 0; p->n_missing > 0 && li < rows && err == RLCC_OK; li++)
        for (int64_t e = p->e_ptr[li]; e < p->e_ptr[li + 1]; e++)
            if (isnan(p->e_dist[e])) {
                err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                 "plan: row %lld needs its distance to row %d, which no offer "
                                 "held (offer every block of rows; %lld distances missing)",
                                 (long long)(p->row0 + li), (int)p->e_col[e],
                                 (long long)p->n_missing);
                break;
            }
    /* the result's memory is the caller's once handed over: its own budget,
     * bounded by what the plan leaves of max_bytes */
    rlcc__budget budget;
    rlcc__budget_init(&budget, p->opts.max_bytes > 0 ? p->opts.max_bytes - p->budget.used : 0);
    rlcc_csr V = {0};
    int64_t longest = 0;
    for (int64_t li = 0; li < rows; li++)
        longest = p->e_ptr[li + 1] - p->e_ptr[li] > longest ? p->e_ptr[li + 1] - p->e_ptr[li] : longest;
    double *work = NULL;
    if (err == RLCC_OK)
        work = rlcc__alloc(&budget, longest > 0 ? longest : 1, sizeof *work, "weights", &err);
    if (work != NULL)
        err = rlcc__csr_init(&V, rows, p->n_entries, &budget);
    if (work != NULL && err == RLCC_OK) {
        V.cols = p->n;
        for (int64_t li = 0; li < rows; li++) { /* rows of about k1 entries: one thread */
            const int64_t e0 = p->e_ptr[li], count = p->e_ptr[li + 1] - e0;
            memcpy(work, p->e_dist + e0, sizeof *work * (size_t)count);
            softmax_weights(work, p->e_col + e0, count, V.indices + e0, V.data + e0);
            V.indptr[li + 1] = e0 + count;
        }
    }
    rlcc__free(&budget, work, longest > 0 ? longest : 1, sizeof *work);
    if (err == RLCC_OK)
        err = hand_over(&V, &budget, weights);
    else if (V.indptr != NULL)
        rlcc__csr_release(&V, &budget);
    plan_release(p);
    return err;
}

int rlcc_jaccard_rows(int64_t n, const int64_t *indptr, const int32_t *indices,
                      const float *data, const int64_t *knn, int64_t row0, int64_t row1,
                      const rlcc_jaccard_options *options, rlcc_csr **out)
{
    rlcc__clear_error();
    if (out == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL");
    rlcc_jaccard_options opts;
    int err = rlcc__check_jaccard_options(options, n, &opts);
    rlcc__budget budget;
    rlcc__budget_init(&budget, err == RLCC_OK ? opts.max_bytes : 0);
    if (err == RLCC_OK)
        err = check_block(knn, n, row0, row1, &opts, &budget);
    if (err == RLCC_OK)
        err = rlcc__check_csr_structure(n, indptr, indices, data);
    for (int64_t e = 0; err == RLCC_OK && e < indptr[n]; e++)
        if (!(data[e] >= 0.0f && data[e] <= 1.0f))
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "data: entry %lld is %g; weights lie in [0, 1]", (long long)e,
                             (double)data[e]);
    if (err != RLCC_OK)
        return err;
    jaccard_run run = run_of(n, &opts, &budget);
    /* the caller's weights, read in place */
    const rlcc_csr V = {.n = n, .cols = n, .indptr = (int64_t *)indptr,
                        .indices = (int32_t *)indices, .data = (float *)data,
                        .capacity = indptr[n]};
    rlcc_csr Q = {0}, inverted = {0}, result = {0};
    int64_t *bound = NULL;
    err = run_lists_from(&run, knn);
    if (err == RLCC_OK)
        run.scratch = scratch_alloc(run.n_threads, n, list_len_of(&run), &budget, &err);
    if (err == RLCC_OK)
        bound = rlcc__alloc(&budget, n, sizeof *bound, "row bounds", &err);
    const rlcc_csr *expanded = &V;
    if (err == RLCC_OK && run.k2 > 1) {
        err = build_expansion(&run, bound, &V, &Q);
        expanded = &Q;
    }
    if (err == RLCC_OK)
        err = build_inverted(&run, expanded, &inverted);
    if (err == RLCC_OK)
        err = jaccard_sparse(&run, expanded, &inverted, bound, row0, row1, &result);
    if (inverted.indptr)
        rlcc__csr_release(&inverted, &budget);
    if (Q.indptr)
        rlcc__csr_release(&Q, &budget);
    rlcc__free(&budget, bound, n, sizeof *bound);
    run_release_lists(&run);
    return err == RLCC_OK ? hand_over(&result, &budget, out) : err;
}
