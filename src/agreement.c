/*
 * agreement.c - PPLR's cross-agreement scores and part weights (spec:
 * later-methods.md section 4; yoonkicho/PPLR examples/train_pplr.py:104-121,
 * pplr/utils/faiss_rerank.py:123-172).
 *
 * R(i) is i's ranked list: the k + 1 nearest rows by librlcc's exact kNN
 * (squared L2 decided in double, ties by the lower index, d(i, i) = 0), of
 * which
 *   exclude_self = 0 (PPLR): position 0 is dropped, which is i itself
 *                  unless an exact duplicate of lower index comes first;
 *   exclude_self = 1:        i is dropped wherever it is, or, when it is not
 *                  among the k + 1 (more than k rows of lower index at
 *                  distance 0), the last entry: R(i) is the k nearest rows
 *                  other than i.
 * score[i][p] = |R_g(i) & R_p(i)| / |R_g(i) | R_p(i)|: the intersection
 * counted on the sorted lists, union = 2k - inter (a list has no repeats),
 * one float32 divide (PPLR divides two float32 tensors of counts).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define AGREEMENT_OPTIONS_SIZE_1_7 sizeof(rlcc_agreement_options)

int rlcc_agreement_options_init(rlcc_agreement_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_agreement_options defaults = {.struct_size = sizeof defaults, .k = 20};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             AGREEMENT_OPTIONS_SIZE_1_7, "options");
}

static int compare_index(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void sort_indices(int32_t *v, int64_t k)
{
    if (k > 32) {
        qsort(v, (size_t)k, sizeof *v, compare_index);
        return;
    }
    for (int64_t a = 1; a < k; a++) {
        const int32_t x = v[a];
        int64_t b = a;
        for (; b > 0 && v[b - 1] > x; b--)
            v[b] = v[b - 1];
        v[b] = x;
    }
}

/* Row i of the n x (k + 1) lists becomes R(i): its first k entries, sorted
 * ascending by index. */
static void ranked_lists(int32_t *lists, int64_t n, int64_t k, int exclude_self, int n_threads)
{
    const int64_t w = k + 1;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int32_t *row = lists + i * w;
        int64_t drop = 0; /* PPLR: position 0 */
        if (exclude_self) {
            drop = k; /* i not among the k + 1: the last */
            for (int64_t r = 0; r < w; r++)
                if (row[r] == (int32_t)i) {
                    drop = r;
                    break;
                }
        }
        memmove(row + drop, row + drop + 1, sizeof *row * (size_t)(k - drop));
        sort_indices(row, k);
    }
}

/* |a & b| of two ascending lists of k distinct indices. */
static int64_t intersection(const int32_t *a, const int32_t *b, int64_t k)
{
    int64_t s = 0, t = 0, inter = 0;
    while (s < k && t < k) {
        if (a[s] < b[t])
            s++;
        else if (a[s] > b[t])
            t++;
        else {
            inter++;
            s++;
            t++;
        }
    }
    return inter;
}

int rlcc_cross_agreement(const float *global, int64_t n, int64_t d_global, int64_t ld_global,
                         const float *const *parts, int64_t n_parts, int64_t d_part,
                         int64_t ld_part, const rlcc_agreement_options *options, float *scores)
{
    rlcc__clear_error();
    rlcc_agreement_options opts;
    rlcc_agreement_options_init(&opts, sizeof opts);
    int err = rlcc__read_struct(&opts, sizeof opts, options, AGREEMENT_OPTIONS_SIZE_1_7,
                                "options");
    if (err == RLCC_OK && opts.k < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.k: %d must be >= 1", (int)opts.k);
    if (err == RLCC_OK && opts.exclude_self != 0 && opts.exclude_self != 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.exclude_self: %d must be 0 or 1",
                         (int)opts.exclude_self);
    if (err == RLCC_OK)
        err = rlcc__check_resources(opts.n_threads, opts.max_bytes);
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", opts.reserved);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("global", global, n, d_global, ld_global);
    if (err == RLCC_OK && (int64_t)opts.k + 1 > n)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "options.k: k + 1 = %lld exceeds n = %lld (the lists are the k + 1 "
                         "nearest rows)",
                         (long long)opts.k + 1, (long long)n);
    if (err == RLCC_OK && (n_parts < 1 || n_parts > INT32_MAX))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_parts: %lld must be in [1, INT32_MAX]",
                         (long long)n_parts);
    if (err == RLCC_OK && parts == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "parts: is NULL");
    for (int64_t p = 0; p < n_parts && err == RLCC_OK; p++) {
        char name[48];
        snprintf(name, sizeof name, "parts[%lld]", (long long)p);
        err = rlcc__check_matrix(name, parts[p], n, d_part, ld_part);
    }
    if (err == RLCC_OK && rlcc__mul(n, n_parts) < 0)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "scores: n x n_parts overflows int64");
    if (err == RLCC_OK && scores == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "scores: is NULL");
    if (err == RLCC_OK) {
        const rlcc__span output =
            rlcc__matrix_span("scores", scores, n, n_parts, n_parts, sizeof *scores);
        rlcc__span inputs[2] = {
            rlcc__matrix_span("global", global, n, d_global, ld_global, sizeof *global),
            rlcc__vector_span("parts", parts, n_parts, sizeof *parts)};
        err = rlcc__check_no_overlap(&output, 1, inputs, 2);
        for (int64_t p = 0; p < n_parts && err == RLCC_OK; p++) {
            const rlcc__span part =
                rlcc__matrix_span("parts[p]", parts[p], n, d_part, ld_part, sizeof(float));
            err = rlcc__check_no_overlap(&output, 1, &part, 1);
        }
    }
    if (err != RLCC_OK)
        return err;

    const int n_threads = rlcc__resolve_threads(opts.n_threads);
    const int64_t k = opts.k, w = k + 1;
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    double *norm2 = rlcc__alloc(&budget, n, sizeof *norm2, "row norms", &err);
    int32_t *list_g = norm2 ? rlcc__alloc(&budget, n * w, sizeof *list_g, "ranked lists", &err) : NULL;
    int32_t *list_p = list_g ? rlcc__alloc(&budget, n * w, sizeof *list_p, "ranked lists", &err) : NULL;
    float *out = list_p ? rlcc__alloc(&budget, n * n_parts, sizeof *out, "scores", &err) : NULL;
    if (out != NULL)
        err = rlcc__row_norms("global", global, n, d_global, ld_global, n_threads, norm2);
    if (out != NULL && err == RLCC_OK)
        err = rlcc__knn(global, n, d_global, ld_global, norm2, w, n_threads, &budget, list_g,
                        NULL);
    if (out != NULL && err == RLCC_OK)
        ranked_lists(list_g, n, k, opts.exclude_self, n_threads);
    for (int64_t p = 0; p < n_parts && out != NULL && err == RLCC_OK; p++) {
        char name[48];
        snprintf(name, sizeof name, "parts[%lld]", (long long)p);
        err = rlcc__row_norms(name, parts[p], n, d_part, ld_part, n_threads, norm2);
        if (err == RLCC_OK)
            err = rlcc__knn(parts[p], n, d_part, ld_part, norm2, w, n_threads, &budget, list_p,
                            NULL);
        if (err != RLCC_OK)
            break;
        ranked_lists(list_p, n, k, opts.exclude_self, n_threads);
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            const int64_t inter = intersection(list_g + i * w, list_p + i * w, k);
            out[i * n_parts + p] = (float)inter / (float)(2 * k - inter);
        }
    }
    /* written only once everything succeeded */
    if (out != NULL && err == RLCC_OK)
        memcpy(scores, out, sizeof *out * (size_t)(n * n_parts));
    rlcc__free(&budget, out, n * n_parts, sizeof *out);
    rlcc__free(&budget, list_p, n * w, sizeof *list_p);
    rlcc__free(&budget, list_g, n * w, sizeof *list_g);
    rlcc__free(&budget, norm2, n, sizeof *norm2);
    return err;
}

int rlcc_part_weights(const float *scores, int64_t n, int64_t n_parts, float *weights)
{
    rlcc__clear_error();
    int err = rlcc__check_matrix("scores", scores, n, n_parts, n_parts);
    if (err == RLCC_OK && n > 0 && weights == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "weights: is NULL");
    if (err == RLCC_OK && weights != scores) {
        const rlcc__span output =
            rlcc__matrix_span("weights", weights, n, n_parts, n_parts, sizeof *weights);
        const rlcc__span input =
            rlcc__matrix_span("scores", scores, n, n_parts, n_parts, sizeof *scores);
        err = rlcc__check_no_overlap(&output, 1, &input, 1);
    }
    if (err == RLCC_OK)
        err = rlcc__check_finite("scores", scores, n, n_parts, n_parts);
    if (err != RLCC_OK)
        return err;
    for (int64_t i = 0; i < n; i++) {
        const float *s = scores + i * n_parts;
        float *wrow = weights + i * n_parts;
        double top = s[0];
        for (int64_t p = 1; p < n_parts; p++)
            top = s[p] > top ? s[p] : top;
        /* exp in librlcc's fixed order (fixed.c: not libm's, whose FMA
         * variant is chosen at run time); each row read fully before it is
         * written, so weights == scores works */
        double e[64], sum = 0.0;
        const int64_t chunk = n_parts <= 64 ? n_parts : 0;
        for (int64_t p = 0; p < chunk; p++)
            sum += e[p] = rlcc__exp_fixed((double)s[p] - top);
        if (chunk > 0) {
            for (int64_t p = 0; p < n_parts; p++)
                wrow[p] = (float)(e[p] / sum);
            continue;
        }
        /* more than 64 parts: the exponentials are computed twice */
        for (int64_t p = 0; p < n_parts; p++)
            sum += rlcc__exp_fixed((double)s[p] - top);
        for (int64_t p = 0; p < n_parts; p++)
            wrow[p] = (float)(rlcc__exp_fixed((double)s[p] - top) / sum);
    }
    return RLCC_OK;
}
