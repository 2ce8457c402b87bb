/*
 * consensus.c - RLCC's clustering consensus across generations (spec
 * section 4): the overlap of two labelings, its row normalisation, class
 * probabilities against previous centroids, propagation of the previous
 * labels, and momentum blending into training targets. Each works on all
 * samples or on a list of sample indices (a mini-batch).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- overlap counts ------------------------------------------------------ */

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Checks both label vectors (resolving k = 0 to max + 1) and gathers the
 * sorted (prev, cur) keys of the samples labelled in both. */
static int gather_pairs(const int32_t *prev, const int32_t *cur, int64_t n, int64_t *k_prev,
                        int64_t *k_cur, rlcc_budget *budget, int64_t **keys, int64_t *n_keys)
{
    int err = rlcc__check_rows("labels", n);
    if (err == RLCC_OK)
        err = rlcc__check_labels("prev", prev, n, k_prev);
    if (err == RLCC_OK)
        err = rlcc__check_labels("cur", cur, n, k_cur);
    if (err == RLCC_OK && *k_prev > 0 && *k_cur > INT64_MAX / *k_prev)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k_prev x k_cur overflows int64");
    if (err != RLCC_OK)
        return err;
    *keys = rlcc__alloc(budget, n > 0 ? n : 1, sizeof **keys, "label pairs", &err);
    if (*keys == NULL)
        return err;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (prev[i] >= 0 && cur[i] >= 0)
            (*keys)[m++] = (int64_t)prev[i] * *k_cur + cur[i];
    qsort(*keys, (size_t)m, sizeof **keys, compare_int64);
    *n_keys = m;
    return RLCC_OK;
}

/* Class sizes over the samples labelled in both generations. */
static int class_sizes(const int64_t *keys, int64_t m, int64_t k_prev, int64_t k_cur,
                       rlcc_budget *budget, int64_t **size_prev, int64_t **size_cur)
{
    int err;
    *size_prev = rlcc__calloc(budget, k_prev > 0 ? k_prev : 1, sizeof **size_prev, "class sizes", &err);
    *size_cur = *size_prev ? rlcc__calloc(budget, k_cur > 0 ? k_cur : 1, sizeof **size_cur, "class sizes", &err) : NULL;
    if (*size_cur == NULL)
        return err;
    for (int64_t e = 0; e < m; e++) {
        (*size_prev)[keys[e] / k_cur]++;
        (*size_cur)[keys[e] % k_cur]++;
    }
    return RLCC_OK;
}

static float entry_value(int32_t kind, int64_t inter, int64_t size_a, int64_t size_b)
{
    if (kind == RLCC_CONSENSUS_COUNT)
        return (float)inter;
    return (float)inter / (float)(size_a + size_b - inter);
}

static int check_kind(int32_t kind, int32_t normalize, int allow_softmax)
{
    if (kind != RLCC_CONSENSUS_IOU && kind != RLCC_CONSENSUS_COUNT)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "kind: %d is not a known kind", (int)kind);
    if (normalize < RLCC_NORMALIZE_NONE || normalize > RLCC_NORMALIZE_SOFTMAX)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "normalize: %d is not a known normalisation",
                          (int)normalize);
    if (normalize == RLCC_NORMALIZE_SOFTMAX && !allow_softmax)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "normalize: softmax makes every row dense; use the dense output");
    return RLCC_OK;
}

int rlcc_consensus_counts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                          int64_t k_cur, int64_t *counts, int64_t ld)
{
    rlcc__clear_error();
    rlcc_budget budget;
    rlcc__budget_init(&budget, 0);
    int64_t *keys = NULL, m = 0;
    int err = gather_pairs(prev, cur, n, &k_prev, &k_cur, &budget, &keys, &m);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("counts", counts, k_prev, k_cur > 0 ? k_cur : 1, ld);
    if (err == RLCC_OK) {
        for (int64_t a = 0; a < k_prev; a++)
            memset(counts + a * ld, 0, sizeof *counts * (size_t)k_cur);
        for (int64_t e = 0; e < m; e++)
            counts[(keys[e] / k_cur) * ld + keys[e] % k_cur]++;
    }
    rlcc__free(&budget, keys, n > 0 ? n : 1, sizeof *keys);
    return err;
}

void rlcc__softmax_row(float *row, int64_t k)
{
    /* expf is within an ulp and several times faster than exp; the sum is
     * kept in double */
    float top = -INFINITY;
    for (int64_t b = 0; b < k; b++)
        top = row[b] > top ? row[b] : top;
    double sum = 0.0;
    for (int64_t b = 0; b < k; b++) {
        row[b] = expf(row[b] - top);
        sum += row[b];
    }
    const float inverse = (float)(1.0 / sum);
    for (int64_t b = 0; b < k; b++)
        row[b] *= inverse;
}

/* Divides each row by its sum (zero rows stay zero; the sum in double), or
 * replaces it by its softmax (a zero row becomes uniform). */
static void normalize_dense_row(float *row, int64_t k, int32_t normalize)
{
    if (normalize == RLCC_NORMALIZE_SUM) {
        double sum = 0.0;
        for (int64_t b = 0; b < k; b++)
            sum += row[b];
        if (sum > 0.0)
            for (int64_t b = 0; b < k; b++)
                row[b] = (float)(row[b] / sum);
    } else if (normalize == RLCC_NORMALIZE_SOFTMAX) {
        rlcc__softmax_row(row, k);
    }
}

int rlcc_consensus(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                   int64_t k_cur, int32_t kind, int32_t normalize, float *out, int64_t ld)
{
    rlcc__clear_error();
    rlcc_budget budget;
    rlcc__budget_init(&budget, 0);
    int64_t *keys = NULL, m = 0, *size_prev = NULL, *size_cur = NULL;
    int err = check_kind(kind, normalize, 1);
    if (err == RLCC_OK)
        err = gather_pairs(prev, cur, n, &k_prev, &k_cur, &budget, &keys, &m);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("out", out, k_prev, k_cur > 0 ? k_cur : 1, ld);
    if (err == RLCC_OK)
        err = class_sizes(keys, m, k_prev, k_cur, &budget, &size_prev, &size_cur);
    if (err == RLCC_OK) {
        for (int64_t a = 0; a < k_prev; a++)
            memset(out + a * ld, 0, sizeof *out * (size_t)k_cur);
        for (int64_t s = 0; s < m;) {
            int64_t e = s;
            while (e < m && keys[e] == keys[s])
                e++;
            const int64_t a = keys[s] / k_cur, b = keys[s] % k_cur;
            out[a * ld + b] = entry_value(kind, e - s, size_prev[a], size_cur[b]);
            s = e;
        }
        for (int64_t a = 0; a < k_prev; a++)
            normalize_dense_row(out + a * ld, k_cur, normalize);
    }
    rlcc__free(&budget, size_cur, k_cur > 0 ? k_cur : 1, sizeof *size_cur);
    rlcc__free(&budget, size_prev, k_prev > 0 ? k_prev : 1, sizeof *size_prev);
    rlcc__free(&budget, keys, n > 0 ? n : 1, sizeof *keys);
    return err;
}

int rlcc_consensus_csr(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                       int64_t k_cur, int32_t kind, int32_t normalize, rlcc_csr **out)
{
    rlcc__clear_error();
    rlcc_budget budget;
    rlcc__budget_init(&budget, 0);
    int64_t *keys = NULL, m = 0, *size_prev = NULL, *size_cur = NULL;
    int err = out == NULL ? rlcc__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL") : RLCC_OK;
    if (err == RLCC_OK)
        err = check_kind(kind, normalize, 0);
    if (err == RLCC_OK)
        err = gather_pairs(prev, cur, n, &k_prev, &k_cur, &budget, &keys, &m);
    if (err == RLCC_OK)
        err = class_sizes(keys, m, k_prev, k_cur, &budget, &size_prev, &size_cur);
    rlcc_csr result = {0};
    if (err == RLCC_OK)
        err = rlcc__csr_init(&result, k_prev, m, &budget);
    rlcc_csr *handle = NULL;
    if (err == RLCC_OK)
        handle = rlcc__alloc(&budget, 1, sizeof *handle, "result handle", &err);
    if (handle != NULL) {
        result.cols = k_cur;
        int64_t nnz = 0;
        for (int64_t s = 0; s < m;) {
            int64_t e = s;
            while (e < m && keys[e] == keys[s])
                e++;
            const int64_t a = keys[s] / k_cur, b = keys[s] % k_cur;
            result.indices[nnz] = (int32_t)b;
            result.data[nnz] = entry_value(kind, e - s, size_prev[a], size_cur[b]);
            result.indptr[a + 1] = ++nnz;
            s = e;
        }
        for (int64_t a = 0; a < k_prev; a++) {
            if (result.indptr[a + 1] < result.indptr[a])
                result.indptr[a + 1] = result.indptr[a]; /* rows without entries */
            if (normalize == RLCC_NORMALIZE_SUM) {
                double sum = 0.0;
                for (int64_t e = result.indptr[a]; e < result.indptr[a + 1]; e++)
                    sum += result.data[e];
                for (int64_t e = result.indptr[a]; e < result.indptr[a + 1]; e++)
                    result.data[e] = (float)(result.data[e] / sum);
            }
        }
        *handle = result;
        *out = handle;
    } else if (result.indptr != NULL) {
        rlcc__csr_release(&result, &budget);
    }
    rlcc__free(&budget, size_cur, k_cur > 0 ? k_cur : 1, sizeof *size_cur);
    rlcc__free(&budget, size_prev, k_prev > 0 ? k_prev : 1, sizeof *size_prev);
    rlcc__free(&budget, keys, n > 0 ? n : 1, sizeof *keys);
    return err;
}

/* ---- sample rows ---------------------------------------------------------- */

/* rows == NULL means every sample (then n_rows must be n). */
static int check_rows(const int64_t *rows, int64_t n_rows, int64_t n)
{
    if (n_rows < 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_rows: %lld is negative", (long long)n_rows);
    if (rows == NULL && n_rows != n)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "n_rows: %lld must be n = %lld when rows is NULL", (long long)n_rows,
                          (long long)n);
    for (int64_t r = 0; rows != NULL && r < n_rows; r++)
        if (rows[r] < 0 || rows[r] >= n)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "rows: entry %lld is %lld, outside [0, %lld)",
                              (long long)r, (long long)rows[r], (long long)n);
    return RLCC_OK;
}

static inline int64_t sample_of(const int64_t *rows, int64_t r)
{
    return rows ? rows[r] : r;
}

static int check_unit_interval(const char *name, float v)
{
    if (!(v >= 0.0f && v <= 1.0f))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: %g must be in [0, 1]", name, (double)v);
    return RLCC_OK;
}

static int check_finite(const char *name, const float *m, int64_t rows, int64_t cols, int64_t ld)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            if (!isfinite(m[r * ld + c]))
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: %s at row %lld, column %lld",
                                  name, isnan(m[r * ld + c]) ? "NaN" : "inf", (long long)r,
                                  (long long)c);
    return RLCC_OK;
}

/* ---- class probabilities ------------------------------------------------ */

int rlcc_class_probabilities(const float *x, int64_t n, int64_t d, int64_t ldx,
                             const float *centroids, int64_t k, int64_t ldc, float scale,
                             const int64_t *rows, int64_t n_rows, float *probs, int64_t ldp,
                             int32_t n_threads)
{
    rlcc__clear_error();
    int err = rlcc__check_matrix("x", x, n, d, ldx);
    if (err == RLCC_OK && k < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld must be >= 1", (long long)k);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("centroids", centroids, k, d, ldc);
    if (err == RLCC_OK && !(scale > 0.0f && isfinite(scale)))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "scale: %g must be > 0 and finite", (double)scale);
    if (err == RLCC_OK)
        err = check_rows(rows, n_rows, n);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("probs", probs, n_rows, k, ldp);
    if (err == RLCC_OK)
        err = rlcc__check_threads(n_threads);
    if (err == RLCC_OK)
        err = check_finite("centroids", centroids, k, d, ldc);
    if (err != RLCC_OK || n_rows == 0)
        return err;
    rlcc_budget budget;
    rlcc__budget_init(&budget, 0);
    const int threads = rlcc__resolve_threads(n_threads);
    /* the rows this call reads: all of x, or the batch's rows gathered;
     * only those are checked for NaN/Inf (a batch must not cost O(n d)) */
    const float *a = x;
    int64_t lda = ldx, checked = n;
    float *gathered = NULL;
    if (rows != NULL) {
        gathered = rlcc__alloc(&budget, n_rows * d, sizeof *gathered, "batch rows", &err);
        for (int64_t r = 0; gathered != NULL && r < n_rows; r++)
            memcpy(gathered + r * d, x + rows[r] * ldx, sizeof(float) * (size_t)d);
        a = gathered;
        lda = d;
        checked = n_rows;
    }
    double *norm2 = err == RLCC_OK ? rlcc__alloc(&budget, checked, sizeof *norm2, "row norms", &err)
                                   : NULL;
    if (norm2 != NULL)
        err = rlcc__row_norms(rows != NULL ? "x (batch rows)" : "x", a, checked, d, lda, threads,
                              norm2);
    if (err == RLCC_OK) {
        /* probs = scale * A C^T, split so every dimension fits BLAS's int */
        const int64_t chunk = INT32_MAX;
        for (int64_t r0 = 0; r0 < n_rows; r0 += chunk) {
            const int64_t m = n_rows - r0 < chunk ? n_rows - r0 : chunk;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)d, scale,
                        a + r0 * lda, (int)lda, centroids, (int)ldc, 0.0f, probs + r0 * ldp,
                        (int)ldp);
        }
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
        for (int64_t r = 0; r < n_rows; r++)
            normalize_dense_row(probs + r * ldp, k, RLCC_NORMALIZE_SOFTMAX);
    }
    rlcc__free(&budget, norm2, checked, sizeof *norm2);
    rlcc__free(&budget, gathered, n_rows * d, sizeof *gathered);
    return err;
}

/* ---- propagation and blending ------------------------------------------- */

static int check_chat(const int64_t *indptr, const int32_t *indices, const float *data,
                      int64_t k_prev, int64_t k_cur)
{
    if (k_prev < 1 || k_cur < 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat: shape %lld x %lld must be at least 1 x 1",
                          (long long)k_prev, (long long)k_cur);
    if (indptr == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat_indptr: is NULL");
    if (indptr[0] != 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat_indptr: indptr[0] must be 0");
    for (int64_t a = 0; a < k_prev; a++) {
        if (indptr[a + 1] < indptr[a])
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat_indptr: decreases at row %lld",
                              (long long)a);
        for (int64_t e = indptr[a]; e < indptr[a + 1]; e++) {
            if (indices == NULL || data == NULL)
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat: indices or data is NULL");
            if (indices[e] < 0 || indices[e] >= k_cur)
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                  "chat_indices: column %d out of range in row %lld",
                                  (int)indices[e], (long long)a);
            if (!isfinite(data[e]))
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat_data: %s in row %lld",
                                  isnan(data[e]) ? "NaN" : "inf", (long long)a);
        }
    }
    return RLCC_OK;
}

/* out += factor * Chat[a] */
static inline void add_chat_row(float *out, const int64_t *indptr, const int32_t *indices,
                                const float *data, int64_t a, float factor)
{
    for (int64_t e = indptr[a]; e < indptr[a + 1]; e++)
        out[indices[e]] += factor * data[e];
}

int rlcc_propagate(const int32_t *prev, int64_t n, const int64_t *chat_indptr,
                   const int32_t *chat_indices, const float *chat_data, int64_t k_prev,
                   int64_t k_cur, const float *probs, int64_t ldp, float w, float beta,
                   const int64_t *rows, int64_t n_rows, float *out, int64_t ldo)
{
    rlcc__clear_error();
    int64_t classes = k_prev;
    int err = rlcc__check_rows("prev", n);
    if (err == RLCC_OK)
        err = check_chat(chat_indptr, chat_indices, chat_data, k_prev, k_cur);
    if (err == RLCC_OK)
        err = rlcc__check_labels("prev", prev, n, &classes);
    if (err == RLCC_OK)
        err = check_unit_interval("w", w);
    if (err == RLCC_OK)
        err = check_unit_interval("beta", beta);
    if (err == RLCC_OK)
        err = check_rows(rows, n_rows, n);
    if (err == RLCC_OK && beta < 1.0f) {
        err = rlcc__check_matrix("probs", probs, n_rows, k_prev, ldp);
        if (err == RLCC_OK)
            err = check_finite("probs", probs, n_rows, k_prev, ldp);
    }
    if (err == RLCC_OK)
        err = rlcc__check_matrix("out", out, n_rows, k_cur, ldo);
    if (err != RLCC_OK)
        return err;
    const float soft = 1.0f - beta;
#pragma omp parallel for schedule(dynamic, 16) if (n_rows > 256)
    for (int64_t r = 0; r < n_rows; r++) {
        const int32_t label = prev[sample_of(rows, r)];
        float *row = out + r * ldo;
        memset(row, 0, sizeof *row * (size_t)k_cur);
        if (beta > 0.0f && label >= 0)
            add_chat_row(row, chat_indptr, chat_indices, chat_data, label, beta);
        if (soft > 0.0f)
            for (int64_t a = 0; a < k_prev; a++) {
                float p = (1.0f - w) * probs[r * ldp + a] + (a == label ? w : 0.0f);
                if (p != 0.0f)
                    add_chat_row(row, chat_indptr, chat_indices, chat_data, a, soft * p);
            }
    }
    return RLCC_OK;
}

int rlcc_blend(const int32_t *cur, int64_t n, int64_t k_cur, const float *s, int64_t lds,
               float alpha, const int64_t *rows, int64_t n_rows, float *out, int64_t ldo)
{
    rlcc__clear_error();
    int64_t classes = k_cur;
    int err = rlcc__check_rows("cur", n);
    if (err == RLCC_OK && k_cur < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k_cur: %lld must be >= 1", (long long)k_cur);
    if (err == RLCC_OK)
        err = rlcc__check_labels("cur", cur, n, &classes);
    if (err == RLCC_OK)
        err = check_unit_interval("alpha", alpha);
    if (err == RLCC_OK)
        err = check_rows(rows, n_rows, n);
    if (err == RLCC_OK && s != NULL) {
        err = rlcc__check_matrix("s", s, n_rows, k_cur, lds);
        if (err == RLCC_OK)
            err = check_finite("s", s, n_rows, k_cur, lds);
    }
    if (err == RLCC_OK)
        err = rlcc__check_matrix("out", out, n_rows, k_cur, ldo);
    if (err != RLCC_OK)
        return err;
    for (int64_t r = 0; r < n_rows; r++) {
        const int32_t label = cur[sample_of(rows, r)];
        float *row = out + r * ldo;
        for (int64_t b = 0; b < k_cur; b++) {
            const float rest = s != NULL ? (1.0f - alpha) * s[r * lds + b] : 0.0f;
            row[b] = label < 0 ? 0.0f : rest + (b == label ? alpha : 0.0f);
        }
    }
    return RLCC_OK;
}
