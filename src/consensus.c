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

/* ---- options (1.4) ------------------------------------------------------- */

#define CONSENSUS_OPTIONS_SIZE_1_4 (offsetof(rlcc_consensus_options, max_bytes) + sizeof(int64_t))
#define PROBABILITY_OPTIONS_SIZE_1_4 \
    (offsetof(rlcc_probability_options, max_bytes) + sizeof(int64_t))
#define PROPAGATE_OPTIONS_SIZE_1_4 (offsetof(rlcc_propagate_options, max_bytes) + sizeof(int64_t))
#define BLEND_OPTIONS_SIZE_1_4 (offsetof(rlcc_blend_options, max_bytes) + sizeof(int64_t))

int rlcc_consensus_options_init(rlcc_consensus_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_consensus_options defaults = {
        .struct_size = sizeof defaults, .kind = RLCC_CONSENSUS_IOU,
        .normalize = RLCC_NORMALIZE_SUM};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             CONSENSUS_OPTIONS_SIZE_1_4, "options");
}

int rlcc_probability_options_init(rlcc_probability_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_probability_options defaults = {.struct_size = sizeof defaults, .scale = 30.0f};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             PROBABILITY_OPTIONS_SIZE_1_4, "options");
}

int rlcc_propagate_options_init(rlcc_propagate_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_propagate_options defaults = {.struct_size = sizeof defaults, .w = 0.9f,
                                             .beta = 0.0f};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             PROPAGATE_OPTIONS_SIZE_1_4, "options");
}

int rlcc_blend_options_init(rlcc_blend_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_blend_options defaults = {.struct_size = sizeof defaults, .alpha = 0.9f};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             BLEND_OPTIONS_SIZE_1_4, "options");
}

/* ---- overlap counts ------------------------------------------------------ */

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Checks both label vectors, resolving k = 0 to max + 1. */
static int check_labelings(const int32_t *prev, const int32_t *cur, int64_t n, int64_t *k_prev,
                           int64_t *k_cur)
{
    int err = rlcc__check_row_count("labels", n);
    if (err == RLCC_OK)
        err = rlcc__check_labels("prev", prev, n, k_prev);
    if (err == RLCC_OK)
        err = rlcc__check_labels("cur", cur, n, k_cur);
    if (err == RLCC_OK && rlcc__mul(*k_prev, *k_cur) < 0)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k_prev x k_cur overflows int64");
    return err;
}

/* A consensus output apart from the two label vectors. */
static int labelings_apart(const int32_t *prev, const int32_t *cur, int64_t n, rlcc__span output)
{
    const rlcc__span inputs[] = {rlcc__vector_span("prev", prev, n, sizeof *prev),
                                 rlcc__vector_span("cur", cur, n, sizeof *cur)};
    return rlcc__check_no_overlap(&output, 1, inputs, 2);
}

/* The sorted (prev, cur) keys of the samples labelled in both. */
static int gather_pairs(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_cur,
                        rlcc__budget *budget, int64_t **keys, int64_t *n_keys)
{
    int err;
    *keys = rlcc__alloc(budget, n > 0 ? n : 1, sizeof **keys, "label pairs", &err);
    if (*keys == NULL)
        return err;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (prev[i] >= 0 && cur[i] >= 0)
            (*keys)[m++] = (int64_t)prev[i] * k_cur + cur[i];
    qsort(*keys, (size_t)m, sizeof **keys, compare_int64);
    *n_keys = m;
    return RLCC_OK;
}

/* Class sizes over the samples labelled in both generations. */
static int class_sizes(const int64_t *keys, int64_t m, int64_t k_prev, int64_t k_cur,
                       rlcc__budget *budget, int64_t **size_prev, int64_t **size_cur)
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

static void free_sizes(rlcc__budget *budget, int64_t *size_prev, int64_t k_prev,
                       int64_t *size_cur, int64_t k_cur)
{
    rlcc__free(budget, size_cur, k_cur > 0 ? k_cur : 1, sizeof *size_cur);
    rlcc__free(budget, size_prev, k_prev > 0 ? k_prev : 1, sizeof *size_prev);
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

/* A caller's consensus options over the defaults, checked; allow_softmax
 * for the dense output. The 1.2 functions pass kind and normalize as
 * arguments and come through here with them. */
static int read_consensus_options(const rlcc_consensus_options *options, int allow_softmax,
                                  rlcc_consensus_options *opts)
{
    rlcc_consensus_options_init(opts, sizeof *opts);
    int err = rlcc__read_struct(opts, sizeof *opts, options, CONSENSUS_OPTIONS_SIZE_1_4,
                                "options");
    if (err == RLCC_OK)
        err = check_kind(opts->kind, opts->normalize, allow_softmax);
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", opts->reserved);
    return err == RLCC_OK ? rlcc__check_resources(opts->n_threads, opts->max_bytes) : err;
}

int rlcc_consensus_counts_opts(const int32_t *prev, const int32_t *cur, int64_t n,
                               int64_t k_prev, int64_t k_cur,
                               const rlcc_consensus_options *options, int64_t *counts,
                               int64_t ld)
{
    rlcc__clear_error();
    rlcc_consensus_options opts;
    int err = read_consensus_options(options, 1, &opts);
    if (err == RLCC_OK)
        err = check_labelings(prev, cur, n, &k_prev, &k_cur);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("counts", counts, k_prev, k_cur > 0 ? k_cur : 1, ld);
    if (err == RLCC_OK)
        err = labelings_apart(prev, cur, n,
                              rlcc__matrix_span("counts", counts, k_prev, k_cur, ld, sizeof *counts));
    if (err != RLCC_OK)
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    int64_t *keys = NULL, m = 0;
    err = gather_pairs(prev, cur, n, k_cur, &budget, &keys, &m);
    if (err == RLCC_OK) {
        for (int64_t a = 0; a < k_prev; a++)
            memset(counts + a * ld, 0, sizeof *counts * (size_t)k_cur);
        for (int64_t e = 0; e < m; e++)
            counts[(keys[e] / k_cur) * ld + keys[e] % k_cur]++;
    }
    rlcc__free(&budget, keys, n > 0 ? n : 1, sizeof *keys);
    return err;
}

int rlcc_consensus_counts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                          int64_t k_cur, int64_t *counts, int64_t ld)
{
    return rlcc_consensus_counts_opts(prev, cur, n, k_prev, k_cur, NULL, counts, ld);
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

int rlcc_consensus_opts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                        int64_t k_cur, const rlcc_consensus_options *options, float *out,
                        int64_t ld)
{
    rlcc__clear_error();
    rlcc_consensus_options opts;
    int err = read_consensus_options(options, 1, &opts);
    if (err == RLCC_OK)
        err = check_labelings(prev, cur, n, &k_prev, &k_cur);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("out", out, k_prev, k_cur > 0 ? k_cur : 1, ld);
    if (err == RLCC_OK)
        err = labelings_apart(prev, cur, n,
                              rlcc__matrix_span("out", out, k_prev, k_cur, ld, sizeof *out));
    if (err != RLCC_OK)
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    int64_t *keys = NULL, m = 0, *size_prev = NULL, *size_cur = NULL;
    err = gather_pairs(prev, cur, n, k_cur, &budget, &keys, &m);
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
            out[a * ld + b] = entry_value(opts.kind, e - s, size_prev[a], size_cur[b]);
            s = e;
        }
        for (int64_t a = 0; a < k_prev; a++)
            normalize_dense_row(out + a * ld, k_cur, opts.normalize);
    }
    free_sizes(&budget, size_prev, k_prev, size_cur, k_cur);
    rlcc__free(&budget, keys, n > 0 ? n : 1, sizeof *keys);
    return err;
}

int rlcc_consensus(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                   int64_t k_cur, int32_t kind, int32_t normalize, float *out, int64_t ld)
{
    rlcc_consensus_options opts;
    rlcc_consensus_options_init(&opts, sizeof opts);
    opts.kind = kind;
    opts.normalize = normalize;
    return rlcc_consensus_opts(prev, cur, n, k_prev, k_cur, &opts, out, ld);
}

int rlcc__consensus_csr(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                        int64_t k_cur, int32_t kind, int32_t normalize, rlcc__budget *budget,
                        rlcc_csr *out)
{
    int64_t *keys = NULL, m = 0, *size_prev = NULL, *size_cur = NULL;
    int err = gather_pairs(prev, cur, n, k_cur, budget, &keys, &m);
    if (err == RLCC_OK)
        err = class_sizes(keys, m, k_prev, k_cur, budget, &size_prev, &size_cur);
    if (err == RLCC_OK)
        err = rlcc__csr_init(out, k_prev, m, budget);
    if (err == RLCC_OK) {
        out->cols = k_cur;
        int64_t nnz = 0;
        for (int64_t s = 0; s < m;) {
            int64_t e = s;
            while (e < m && keys[e] == keys[s])
                e++;
            const int64_t a = keys[s] / k_cur, b = keys[s] % k_cur;
            out->indices[nnz] = (int32_t)b;
            out->data[nnz] = entry_value(kind, e - s, size_prev[a], size_cur[b]);
            out->indptr[a + 1] = ++nnz;
            s = e;
        }
        for (int64_t a = 0; a < k_prev; a++) {
            if (out->indptr[a + 1] < out->indptr[a])
                out->indptr[a + 1] = out->indptr[a]; /* rows without entries */
            if (normalize == RLCC_NORMALIZE_SUM) {
                double sum = 0.0;
                for (int64_t e = out->indptr[a]; e < out->indptr[a + 1]; e++)
                    sum += out->data[e];
                for (int64_t e = out->indptr[a]; e < out->indptr[a + 1]; e++)
                    out->data[e] = (float)(out->data[e] / sum);
            }
        }
    }
    free_sizes(budget, size_prev, k_prev, size_cur, k_cur);
    rlcc__free(budget, keys, n > 0 ? n : 1, sizeof *keys);
    return err;
}

int rlcc_consensus_csr_opts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                            int64_t k_cur, const rlcc_consensus_options *options,
                            rlcc_csr **out)
{
    rlcc__clear_error();
    int err = out == NULL ? rlcc__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL") : RLCC_OK;
    rlcc_consensus_options opts;
    if (err == RLCC_OK)
        err = read_consensus_options(options, 0, &opts);
    if (err == RLCC_OK)
        err = check_labelings(prev, cur, n, &k_prev, &k_cur);
    if (err == RLCC_OK)
        err = labelings_apart(prev, cur, n, rlcc__vector_span("out", out, 1, sizeof *out));
    if (err != RLCC_OK)
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    rlcc_csr result = {0};
    err = rlcc__consensus_csr(prev, cur, n, k_prev, k_cur, opts.kind, opts.normalize, &budget,
                              &result);
    rlcc_csr *handle =
        err == RLCC_OK ? rlcc__alloc(&budget, 1, sizeof *handle, "result handle", &err) : NULL;
    if (handle == NULL) {
        if (result.indptr != NULL)
            rlcc__csr_release(&result, &budget);
        return err;
    }
    *handle = result;
    *out = handle;
    return RLCC_OK;
}

int rlcc_consensus_csr(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                       int64_t k_cur, int32_t kind, int32_t normalize, rlcc_csr **out)
{
    rlcc_consensus_options opts;
    rlcc_consensus_options_init(&opts, sizeof opts);
    opts.kind = kind;
    opts.normalize = normalize;
    return rlcc_consensus_csr_opts(prev, cur, n, k_prev, k_cur, &opts, out);
}

/* ---- sample rows ---------------------------------------------------------- */

static inline int64_t sample_of(const int64_t *rows, int64_t r)
{
    return rows ? rows[r] : r;
}

/* ---- class probabilities ------------------------------------------------ */

/* softmax(scale * dot) over a row of k dot products, in double and shifted
 * by its largest term: every term is exp of a value <= 0 and the largest is
 * 1, so any finite scale and dots give finite probabilities that sum to 1
 * (a float32 scale * dot could overflow to inf and give inf - inf). */
static void scaled_softmax_row(float *row, int64_t k, float scale)
{
    double top = -INFINITY;
    for (int64_t b = 0; b < k; b++) {
        const double logit = (double)scale * (double)row[b];
        top = logit > top ? logit : top;
    }
    double sum = 0.0;
    for (int64_t b = 0; b < k; b++) {
        const double e = rlcc__exp_fixed((double)scale * (double)row[b] - top);
        row[b] = (float)e;
        sum += e;
    }
    for (int64_t b = 0; b < k; b++)
        row[b] = (float)(row[b] / sum);
}

int rlcc__class_probabilities(const float *x, int64_t d, int64_t ldx, const float *centroids,
                              int64_t k, int64_t ldc, float scale, const int64_t *rows,
                              int64_t n_rows, int n_threads, rlcc__budget *budget, float *probs,
                              int64_t ldp)
{
    if (n_rows == 0)
        return RLCC_OK;
    /* the rows this call reads: all of x, or the batch's rows gathered */
    int err = RLCC_OK;
    const float *a = x;
    int64_t lda = ldx;
    float *gathered = NULL;
    if (rows != NULL) {
        gathered = rlcc__alloc(budget, n_rows * d, sizeof *gathered, "batch rows", &err);
        if (gathered == NULL)
            return err;
        for (int64_t r = 0; r < n_rows; r++)
            memcpy(gathered + r * d, x + rows[r] * ldx, sizeof(float) * (size_t)d);
        a = gathered;
        lda = d;
    }
    /* probs = A C^T, split so every dimension fits BLAS's int; finite,
     * since rows and centroids both have squared norms <= 2^120 */
    const int64_t chunk = INT32_MAX;
    for (int64_t r0 = 0; r0 < n_rows; r0 += chunk) {
        const int64_t m = n_rows - r0 < chunk ? n_rows - r0 : chunk;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)d, 1.0f,
                    a + r0 * lda, (int)lda, centroids, (int)ldc, 0.0f, probs + r0 * ldp,
                    (int)ldp);
    }
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
    for (int64_t r = 0; r < n_rows; r++)
        scaled_softmax_row(probs + r * ldp, k, scale);
    rlcc__free(budget, gathered, n_rows * d, sizeof *gathered);
    return RLCC_OK;
}

/* The rows a probabilities call reads (rows, or all n; the centroids) must
 * be finite and below RLCC_MAX_SQUARED_NORM; only those are read, so a batch
 * does not cost O(n d). The first bad one is reported whatever the thread
 * count. */
int rlcc__check_probability_rows(const char *name, const float *x, int64_t d, int64_t ldx,
                                 const int64_t *rows, int64_t n_rows, int n_threads)
{
    int64_t first_bad = INT64_MAX;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static) \
    reduction(min : first_bad)
    for (int64_t r = 0; r < n_rows; r++) {
        const float *row = x + (rows ? rows[r] : r) * ldx;
        double sum = 0.0;
        int finite = 1;
        for (int64_t j = 0; j < d; j++) {
            finite &= isfinite(row[j]) != 0;
            sum += (double)row[j] * (double)row[j];
        }
        if ((!finite || sum > RLCC_MAX_SQUARED_NORM) && r < first_bad)
            first_bad = r;
    }
    if (first_bad == INT64_MAX)
        return RLCC_OK;
    const int64_t i = rows ? rows[first_bad] : first_bad;
    const float *row = x + i * ldx;
    for (int64_t j = 0; j < d; j++)
        if (!isfinite(row[j]))
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: row %lld has %s at column %lld",
                              name, (long long)i, isnan(row[j]) ? "NaN" : "inf", (long long)j);
    return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                      "%s: row %lld has a squared norm above the 2^120 that float32 products "
                      "allow",
                      name, (long long)i);
}

int rlcc_class_probabilities_opts(const float *x, int64_t n, int64_t d, int64_t ldx,
                                  const float *centroids, int64_t k, int64_t ldc,
                                  const int64_t *rows, int64_t n_rows,
                                  const rlcc_probability_options *options, float *probs,
                                  int64_t ldp)
{
    rlcc__clear_error();
    rlcc_probability_options opts;
    rlcc_probability_options_init(&opts, sizeof opts);
    int err = rlcc__read_struct(&opts, sizeof opts, options, PROBABILITY_OPTIONS_SIZE_1_4,
                                "options");
    if (err == RLCC_OK)
        err = rlcc__check_resources(opts.n_threads, opts.max_bytes);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("x", x, n, d, ldx);
    if (err == RLCC_OK && k < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld must be >= 1", (long long)k);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("centroids", centroids, k, d, ldc);
    if (err == RLCC_OK && !(opts.scale > 0.0f && isfinite(opts.scale)))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "scale: %g must be > 0 and finite",
                         (double)opts.scale);
    if (err == RLCC_OK)
        err = rlcc__check_sample_rows(rows, n_rows, n);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("probs", probs, n_rows, k, ldp);
    if (err == RLCC_OK) {
        const rlcc__span output = rlcc__matrix_span("probs", probs, n_rows, k, ldp, sizeof *probs);
        const rlcc__span inputs[] = {
            rlcc__matrix_span("x", x, n, d, ldx, sizeof *x),
            rlcc__matrix_span("centroids", centroids, k, d, ldc, sizeof *centroids),
            rlcc__vector_span("rows", rows, n_rows, sizeof *rows)};
        err = rlcc__check_no_overlap(&output, 1, inputs, 3);
    }
    if (err == RLCC_OK)
        err = rlcc__check_finite("centroids", centroids, k, d, ldc);
    const int n_threads = rlcc__resolve_threads(opts.n_threads);
    if (err == RLCC_OK) /* bounded norms keep every logit finite */
        err = rlcc__check_probability_rows("centroids", centroids, d, ldc, NULL, k, n_threads);
    if (err == RLCC_OK)
        err = rlcc__check_probability_rows("x", x, d, ldx, rows, n_rows, n_threads);
    if (err != RLCC_OK)
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    return rlcc__class_probabilities(x, d, ldx, centroids, k, ldc, opts.scale, rows, n_rows,
                                     n_threads, &budget, probs, ldp);
}

int rlcc_class_probabilities(const float *x, int64_t n, int64_t d, int64_t ldx,
                             const float *centroids, int64_t k, int64_t ldc, float scale,
                             const int64_t *rows, int64_t n_rows, float *probs, int64_t ldp,
                             int32_t n_threads)
{
    rlcc_probability_options opts;
    rlcc_probability_options_init(&opts, sizeof opts);
    opts.scale = scale;
    opts.n_threads = n_threads;
    return rlcc_class_probabilities_opts(x, n, d, ldx, centroids, k, ldc, rows, n_rows, &opts,
                                         probs, ldp);
}

/* ---- propagation and blending ------------------------------------------- */

static int check_chat(const int64_t *indptr, const int32_t *indices, const float *data,
                      int64_t k_prev, int64_t k_cur)
{
    if (k_prev < 1 || k_cur < 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat: shape %lld x %lld must be at least 1 x 1",
                          (long long)k_prev, (long long)k_cur);
    /* bounded before indptr is read: rows are int32 labels, columns int32 */
    if (k_prev > INT32_MAX || k_cur > INT32_MAX)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat: shape %lld x %lld exceeds INT32_MAX",
                          (long long)k_prev, (long long)k_cur);
    if (indptr == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat_indptr: is NULL");
    if (indptr[0] != 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat_indptr: indptr[0] must be 0");
    /* all of indptr first: its last entry is the caller's claim of how many
     * entries indices and data hold, and no entry is read before the whole
     * claim is known to be consistent */
    for (int64_t a = 0; a < k_prev; a++)
        if (indptr[a + 1] < indptr[a])
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat_indptr: decreases at row %lld",
                              (long long)a);
    if (indptr[k_prev] > 0 && (indices == NULL || data == NULL))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "chat: indices or data is NULL");
    for (int64_t a = 0; a < k_prev; a++) {
        for (int64_t e = indptr[a]; e < indptr[a + 1]; e++) {
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

/* Rows a parallel loop over samples needs before threads pay off. */
#define PARALLEL_ROWS 256

void rlcc__propagate(const int32_t *prev, const int64_t *chat_indptr, const int32_t *chat_indices,
                     const float *chat_data, int64_t k_prev, int64_t k_cur, const float *probs,
                     int64_t ldp, float w, float beta, const int64_t *rows, int64_t n_rows,
                     int n_threads, float *out, int64_t ldo)
{
    const float soft = 1.0f - beta;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1 && n_rows > PARALLEL_ROWS) \
    schedule(dynamic, 16)
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
}

int rlcc_propagate_opts(const int32_t *prev, int64_t n, const int64_t *chat_indptr,
                        const int32_t *chat_indices, const float *chat_data, int64_t k_prev,
                        int64_t k_cur, const float *probs, int64_t ldp, const int64_t *rows,
                        int64_t n_rows, const rlcc_propagate_options *options, float *out,
                        int64_t ldo)
{
    rlcc__clear_error();
    rlcc_propagate_options opts;
    rlcc_propagate_options_init(&opts, sizeof opts);
    int64_t classes = k_prev;
    int err = rlcc__read_struct(&opts, sizeof opts, options, PROPAGATE_OPTIONS_SIZE_1_4,
                                "options");
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", opts.reserved);
    if (err == RLCC_OK)
        err = rlcc__check_resources(opts.n_threads, opts.max_bytes);
    if (err == RLCC_OK)
        err = rlcc__check_row_count("prev", n);
    if (err == RLCC_OK)
        err = check_chat(chat_indptr, chat_indices, chat_data, k_prev, k_cur);
    if (err == RLCC_OK)
        err = rlcc__check_labels("prev", prev, n, &classes);
    if (err == RLCC_OK)
        err = rlcc__check_unit_interval("w", opts.w);
    if (err == RLCC_OK)
        err = rlcc__check_unit_interval("beta", opts.beta);
    if (err == RLCC_OK)
        err = rlcc__check_sample_rows(rows, n_rows, n);
    if (err == RLCC_OK && opts.beta < 1.0f) {
        err = rlcc__check_matrix("probs", probs, n_rows, k_prev, ldp);
        if (err == RLCC_OK)
            err = rlcc__check_finite("probs", probs, n_rows, k_prev, ldp);
    }
    if (err == RLCC_OK)
        err = rlcc__check_matrix("out", out, n_rows, k_cur, ldo);
    if (err == RLCC_OK) {
        const int64_t nnz = chat_indptr[k_prev];
        const rlcc__span output = rlcc__matrix_span("out", out, n_rows, k_cur, ldo, sizeof *out);
        const rlcc__span inputs[] = {
            rlcc__vector_span("prev", prev, n, sizeof *prev),
            rlcc__vector_span("chat_indptr", chat_indptr, k_prev + 1, sizeof *chat_indptr),
            rlcc__vector_span("chat_indices", chat_indices, nnz, sizeof *chat_indices),
            rlcc__vector_span("chat_data", chat_data, nnz, sizeof *chat_data),
            rlcc__matrix_span("probs", opts.beta < 1.0f ? probs : NULL, n_rows, k_prev, ldp,
                              sizeof *probs),
            rlcc__vector_span("rows", rows, n_rows, sizeof *rows)};
        err = rlcc__check_no_overlap(&output, 1, inputs, 6);
    }
    if (err != RLCC_OK)
        return err;
    rlcc__propagate(prev, chat_indptr, chat_indices, chat_data, k_prev, k_cur, probs, ldp, opts.w,
                    opts.beta, rows, n_rows, rlcc__resolve_threads(opts.n_threads), out, ldo);
    return RLCC_OK;
}

int rlcc_propagate(const int32_t *prev, int64_t n, const int64_t *chat_indptr,
                   const int32_t *chat_indices, const float *chat_data, int64_t k_prev,
                   int64_t k_cur, const float *probs, int64_t ldp, float w, float beta,
                   const int64_t *rows, int64_t n_rows, float *out, int64_t ldo)
{
    rlcc_propagate_options opts;
    rlcc_propagate_options_init(&opts, sizeof opts);
    opts.w = w;
    opts.beta = beta;
    return rlcc_propagate_opts(prev, n, chat_indptr, chat_indices, chat_data, k_prev, k_cur,
                               probs, ldp, rows, n_rows, &opts, out, ldo);
}

void rlcc__blend(const int32_t *cur, int64_t k_cur, const float *s, int64_t lds, float alpha,
                 const int64_t *rows, int64_t n_rows, int n_threads, float *out, int64_t ldo)
{
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1 && n_rows > PARALLEL_ROWS) \
    schedule(static)
    for (int64_t r = 0; r < n_rows; r++) {
        const int32_t label = cur[sample_of(rows, r)];
        float *row = out + r * ldo;
        for (int64_t b = 0; b < k_cur; b++) {
            const float rest = s != NULL ? (1.0f - alpha) * s[r * lds + b] : 0.0f;
            row[b] = label < 0 ? 0.0f : rest + (b == label ? alpha : 0.0f);
        }
    }
}

int rlcc_blend_opts(const int32_t *cur, int64_t n, int64_t k_cur, const float *s, int64_t lds,
                    const int64_t *rows, int64_t n_rows, const rlcc_blend_options *options,
                    float *out, int64_t ldo)
{
    rlcc__clear_error();
    rlcc_blend_options opts;
    rlcc_blend_options_init(&opts, sizeof opts);
    int64_t classes = k_cur;
    int err = rlcc__read_struct(&opts, sizeof opts, options, BLEND_OPTIONS_SIZE_1_4, "options");
    if (err == RLCC_OK)
        err = rlcc__check_resources(opts.n_threads, opts.max_bytes);
    if (err == RLCC_OK)
        err = rlcc__check_row_count("cur", n);
    if (err == RLCC_OK && k_cur < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k_cur: %lld must be >= 1", (long long)k_cur);
    if (err == RLCC_OK)
        err = rlcc__check_labels("cur", cur, n, &classes);
    if (err == RLCC_OK)
        err = rlcc__check_unit_interval("alpha", opts.alpha);
    if (err == RLCC_OK)
        err = rlcc__check_sample_rows(rows, n_rows, n);
    if (err == RLCC_OK && s != NULL) {
        err = rlcc__check_matrix("s", s, n_rows, k_cur, lds);
        if (err == RLCC_OK)
            err = rlcc__check_finite("s", s, n_rows, k_cur, lds);
    }
    if (err == RLCC_OK)
        err = rlcc__check_matrix("out", out, n_rows, k_cur, ldo);
    if (err == RLCC_OK) {
        /* in place is fine: s and out the same buffer, the same layout */
        const int in_place = s == out && lds == ldo;
        const rlcc__span output = rlcc__matrix_span("out", out, n_rows, k_cur, ldo, sizeof *out);
        const rlcc__span inputs[] = {
            rlcc__vector_span("cur", cur, n, sizeof *cur),
            rlcc__matrix_span("s", in_place ? NULL : s, n_rows, k_cur, lds, sizeof *s),
            rlcc__vector_span("rows", rows, n_rows, sizeof *rows)};
        err = rlcc__check_no_overlap(&output, 1, inputs, 3);
    }
    if (err != RLCC_OK)
        return err;
    rlcc__blend(cur, k_cur, s, lds, opts.alpha, rows, n_rows,
                rlcc__resolve_threads(opts.n_threads), out, ldo);
    return RLCC_OK;
}

int rlcc_blend(const int32_t *cur, int64_t n, int64_t k_cur, const float *s, int64_t lds,
               float alpha, const int64_t *rows, int64_t n_rows, float *out, int64_t ldo)
{
    rlcc_blend_options opts;
    rlcc_blend_options_init(&opts, sizeof opts);
    opts.alpha = alpha;
    /* 1.2 ran blending on the calling thread */
    opts.n_threads = 1;
    return rlcc_blend_opts(cur, n, k_cur, s, lds, rows, n_rows, &opts, out, ldo);
}
