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

/* Steps 3 and 4 for one row: the expanded set E_i, sorted and unique, and
 * its softmax weights. Returns |E_i|; writes columns and values at out. */
static int64_t weights_row(const jaccard_run *run, scratch *s, int64_t i, int32_t *out_col,
                           float *out_val)
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
    if (unique == 0)
        return 0;

    /* d(i, j) in double from a dot product in librlcc's fixed order, exp in
     * double by librlcc's own exp: the same bits on every machine (fixed.c) */
    const float *xi = run->x + i * run->ldx;
    double dmin = INFINITY;
    for (int64_t r = 0; r < unique; r++) {
        const int64_t j = s->list[r];
        const double dot = rlcc__dot_fixed(xi, run->x + j * run->ldx, run->d);
        const double dist = run->variant == RLCC_JACCARD_DOT
                                ? 2.0 - 2.0 * dot
                                : run->norm2[i] + run->norm2[j] - 2.0 * dot;
        s->weight[r] = dist;
        dmin = dist < dmin ? dist : dmin;
    }
    double sum = 0.0;
    for (int64_t r = 0; r < unique; r++) {
        s->weight[r] = rlcc__exp_fixed(dmin - s->weight[r]);
        sum += s->weight[r];
    }
    for (int64_t r = 0; r < unique; r++) {
        out_col[r] = s->list[r];
        out_val[r] = (float)(s->weight[r] / sum);
    }
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

/* Step 6 into a new CSR result: blocks of rows whose bounds fit the block
 * buffer are computed in parallel, then appended in row order. */
static int jaccard_sparse(jaccard_run *run, const rlcc_csr *Q, const rlcc_csr *inverted,
                          int64_t *bound, rlcc_csr *result)
{
    const int64_t n = run->n;
    int64_t largest = 0, total = 0;
    for (int64_t i = 0; i < n; i++) {
        bound[i] = 0;
        for (int64_t e = Q->indptr[i]; e < Q->indptr[i + 1]; e++) {
            const int32_t k = Q->indices[e];
            bound[i] += inverted->indptr[k + 1] - inverted->indptr[k];
        }
        if (bound[i] > n)
            bound[i] = n;
        largest = bound[i] > largest ? bound[i] : largest;
        total += bound[i];
    }
    /* The block buffer takes at most a quarter of what the budget leaves,
     * and no more than every row's bound together (a small input needs no
     * 32 MiB), but always room for the longest row. */
    int64_t block_cap = (run->budget->limit - run->budget->used) / 4 /
                        (int64_t)(sizeof(int32_t) + sizeof(float));
    block_cap = block_cap < BLOCK_ENTRIES ? block_cap : BLOCK_ENTRIES;
    block_cap = block_cap < total ? block_cap : total;
    block_cap = block_cap > largest ? block_cap : largest;
    int err = rlcc__csr_init(result, n, n, run->budget);
    rlcc_csr block = {0};
    int64_t *slot = NULL, *count = NULL;
    if (err == RLCC_OK)
        err = rlcc__csr_init(&block, 0, block_cap, run->budget);
    if (err == RLCC_OK)
        slot = rlcc__alloc(run->budget, n, sizeof *slot, "row slots", &err);
    if (slot != NULL)
        count = rlcc__alloc(run->budget, n, sizeof *count, "row counts", &err);
    const float cutoff = run->cutoff;
    for (int64_t r0 = 0; count != NULL && err == RLCC_OK && r0 < n;) {
        int64_t r1 = r0, used = 0;
        while (r1 < n && (r1 == r0 || used + bound[r1] <= block_cap)) {
            slot[r1] = used;
            used += bound[r1++];
        }
#pragma omp parallel for num_threads(run->n_threads) if (run->n_threads > 1) schedule(dynamic, 16)
        for (int64_t i = r0; i < r1; i++) {
            scratch *s = &run->scratch[omp_get_thread_num()];
            jaccard_row(run, s, Q, inverted, i);
            int64_t kept = 0;
            for (int64_t t = 0; t < s->n_touched; t++) {
                const float dist = s->acc[s->touched[t]];
                if (dist < cutoff) {
                    block.indices[slot[i] + kept] = s->touched[t];
                    block.data[slot[i] + kept] = dist;
                    kept++;
                }
            }
            count[i] = kept;
        }
        int64_t block_total = 0;
        for (int64_t i = r0; i < r1; i++)
            block_total += count[i];
        int64_t have = result->indptr[r0];
        if (have + block_total > result->capacity) {
            int64_t grown = result->capacity + result->capacity / 2;
            err = rlcc__csr_resize(result, grown > have + block_total ? grown : have + block_total,
                                   run->budget);
            if (err != RLCC_OK)
                break;
        }
        for (int64_t i = r0; i < r1; i++) {
            memcpy(result->indices + have, block.indices + slot[i], sizeof(int32_t) * (size_t)count[i]);
            memcpy(result->data + have, block.data + slot[i], sizeof(float) * (size_t)count[i]);
            have += count[i];
            result->indptr[i + 1] = have;
        }
        r0 = r1;
    }
    rlcc__free(run->budget, count, n, sizeof *count);
    rlcc__free(run->budget, slot, n, sizeof *slot);
    if (block.indptr != NULL)
        rlcc__csr_release(&block, run->budget);
    if (err == RLCC_OK)
        err = rlcc__csr_resize(result, result->indptr[n], run->budget);
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

/* Everything from the row norms to step 6, into a CSR (*result) or a
 * dense buffer. */
int rlcc__jaccard(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                  const rlcc_jaccard_options *opts, rlcc__budget *budget, rlcc_csr *result,
                  float *dense, int64_t ld)
{
    const int n_threads = rlcc__resolve_threads(opts->n_threads);
    jaccard_run run = {
        .x = x, .n = n, .d = d, .ldx = ldx, .k1 = opts->k1, .k2 = opts->k2,
        /* round_half_even(k1 / 2): k1 / 2 is an integer or a half */
        .h = (opts->k1 % 2 == 0) ? opts->k1 / 2
                                 : ((opts->k1 / 2) % 2 == 0 ? opts->k1 / 2 : opts->k1 / 2 + 1),
        .variant = opts->variant, .cutoff = opts->cutoff, .n_threads = n_threads,
        .budget = budget,
    };
    run.b_width = run.h + 1 < run.k1 ? run.h + 1 : run.k1;
    const int64_t k1 = run.k1, list_len = k1 * (run.b_width + 1);
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
        run.A = rlcc__alloc(budget, n * k1, sizeof *run.A, "reciprocal lists", &err);
    if (err == RLCC_OK)
        run.B = rlcc__alloc(budget, n * run.b_width, sizeof *run.B, "reciprocal lists", &err);
    if (err == RLCC_OK)
        run.a_count = rlcc__alloc(budget, n, sizeof *run.a_count, "reciprocal lists", &err);
    if (err == RLCC_OK)
        run.b_count = rlcc__alloc(budget, n, sizeof *run.b_count, "reciprocal lists", &err);
    if (err == RLCC_OK)
        bound = rlcc__alloc(budget, n, sizeof *bound, "row bounds", &err);
    if (err == RLCC_OK)
        run.scratch = scratch_alloc(n_threads, n, list_len, budget, &err);
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
        err = jaccard_sparse(&run, expanded, &inverted, bound, result);

    if (inverted.indptr)
        rlcc__csr_release(&inverted, budget);
    if (Q.indptr)
        rlcc__csr_release(&Q, budget);
    if (V.indptr)
        rlcc__csr_release(&V, budget);
    scratch_release(run.scratch, run.scratch ? n_threads : 0, n, list_len, budget);
    rlcc__free(budget, bound, n, sizeof *bound);
    rlcc__free(budget, run.b_count, n, sizeof *run.b_count);
    rlcc__free(budget, run.a_count, n, sizeof *run.a_count);
    rlcc__free(budget, run.B, n * run.b_width, sizeof *run.B);
    rlcc__free(budget, run.A, n * k1, sizeof *run.A);
    rlcc__free(budget, run.R, n * k1, sizeof *run.R);
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
