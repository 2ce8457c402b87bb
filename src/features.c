/*
 * features.c - the neighbour graph of a float32 feature matrix.
 *
 * The distances come from the Gram matrix, computed panel by panel with
 * SGEMM: a panel of rows [i0, i1) against every row j >= i0. Each pair is
 * seen once (j > i) and serves both directions, so the work is half of the
 * n x n Gram matrix, and memory is one panel plus the neighbour pairs.
 *
 * Euclidean distances are decided as scikit-learn does, in double. The
 * float32 Gram entry g of rows a, b differs from the exact dot product by
 * at most gamma_d * sum_k |a_k b_k| <= gamma_d * (|a|^2 + |b|^2) / 2, with
 * gamma_d = d u / (1 - d u) and u = 2^-24, whatever order BLAS sums in
 * (Higham, Accuracy and Stability of Numerical Algorithms, 3.1). So
 * d2 = |a|^2 + |b|^2 - 2 g (formed in double) is within
 * gamma_d (|a|^2 + |b|^2) of the true squared distance. A pair whose d2 is
 * further than that from eps^2 is decided by d2; the few inside the band
 * are decided again in double from the rows.
 */
#include <float.h>
#include <math.h>

#include "internal.h"

/* Marks written over the Gram tile once a pair is decided. */
#define NOT_NEIGHBOUR 0.0f
#define NEIGHBOUR 1.0f

/* What every panel scan needs to know. */
typedef struct scan_context {
    const float *x;
    int64_t n, d, ldx;
    int32_t metric;
    double eps2;         /* euclidean: eps * eps in double */
    float eps32;         /* cosine: eps rounded to float32, as scikit-learn */
    double gamma;        /* euclidean: relative error bound of a Gram entry */
    double abs_margin;   /* euclidean: absolute bound for float32 underflow */
    const double *norm2; /* squared row norms, in double */
    const float *inv_norm; /* cosine: 1 / |x_i| in float32 */
} scan_context;

/* Squared norms in double (refusing NaN/Inf and norms float32 Gram entries
 * would overflow), then cosine's own condition: a non-zero row. */
static int row_norms(const scan_context *ctx, double *norm2, int n_threads)
{
    int err = rlcc__row_norms("x", ctx->x, ctx->n, ctx->d, ctx->ldx, n_threads, norm2);
    if (err != RLCC_OK)
        return err;
    for (int64_t i = 0; i < ctx->n; i++) {
        if (ctx->metric == RLCC_METRIC_COSINE && !(norm2[i] > 0.0))
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "x: row %lld is all zeros (cosine distance is undefined)",
                              (long long)i);
    }
    return RLCC_OK;
}

/* The exact-as-double squared distance scikit-learn's decision rests on. */
static double squared_distance(const float *a, const float *b, int64_t d)
{
    double sum = 0.0;
    for (int64_t k = 0; k < d; k++) {
        double diff = (double)a[k] - (double)b[k];
        sum += diff * diff;
    }
    return sum;
}

/* Decides the pairs (i, j), j in (i, n), of one tile row in place: each
 * Gram entry becomes NEIGHBOUR or NOT_NEIGHBOUR. Returns the neighbour
 * count; *redecided counts the pairs decided again from the rows. */
static int64_t decide_row(const scan_context *ctx, int64_t i, float *gram_row, int64_t j0,
                          int64_t *redecided)
{
    int64_t count = 0;
    const int64_t n = ctx->n;
    if (ctx->metric == RLCC_METRIC_COSINE) {
        const float inv_i = ctx->inv_norm[i];
        for (int64_t j = i + 1; j < n; j++) {
            float dist = 1.0f - gram_row[j - j0] * inv_i * ctx->inv_norm[j];
            dist = dist < 0.0f ? 0.0f : dist > 2.0f ? 2.0f : dist;
            int yes = dist <= ctx->eps32;
            gram_row[j - j0] = yes ? NEIGHBOUR : NOT_NEIGHBOUR;
            count += yes;
        }
        return count;
    }
    const double ni = ctx->norm2[i], eps2 = ctx->eps2;
    const float *xi = ctx->x + i * ctx->ldx;
    for (int64_t j = i + 1; j < n; j++) {
        const double nsum = ni + ctx->norm2[j];
        const double d2 = nsum - 2.0 * (double)gram_row[j - j0];
        const double margin = ctx->gamma * nsum + ctx->abs_margin;
        int yes;
        if (d2 < eps2 - margin)
            yes = 1;
        else if (d2 > eps2 + margin)
            yes = 0;
        else {
            yes = squared_distance(xi, ctx->x + j * ctx->ldx, ctx->d) <= eps2;
            (*redecided)++;
        }
        gram_row[j - j0] = yes ? NEIGHBOUR : NOT_NEIGHBOUR;
        count += yes;
    }
    return count;
}

/* Pairs (i, j > i) of one panel into the upper graph `up`, rows in order. */
static int scan_panel(const scan_context *ctx, int64_t i0, int64_t i1, float *tile,
                      int n_threads, rlcc_budget *budget, rlcc_graph *up,
                      int64_t *n_redecided)
{
    const int64_t cols = ctx->n - i0, rows = i1 - i0;
    rlcc__gram_panel(ctx->x, ctx->n, ctx->d, ctx->ldx, i0, i1, tile);

    int64_t redecided = 0;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 4) \
    reduction(+ : redecided)
    for (int64_t r = 0; r < rows; r++)
        up->indptr[i0 + r + 1] = decide_row(ctx, i0 + r, tile + r * cols, i0, &redecided);
    *n_redecided += redecided;

    int64_t panel_total = 0;
    for (int64_t i = i0; i < i1; i++) {
        panel_total += up->indptr[i + 1];
        up->indptr[i + 1] += up->indptr[i];
    }
    int err = rlcc__graph_reserve(up, panel_total, budget);
    if (err != RLCC_OK)
        return err;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 4)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = i0 + r;
        const float *marks = tile + r * cols;
        int32_t *out = up->indices + up->indptr[i];
        for (int64_t j = i + 1; j < ctx->n; j++)
            if (marks[j - i0] == NEIGHBOUR)
                *out++ = (int32_t)j;
    }
    up->rows = i1;
    return RLCC_OK;
}

/* The full directed graph from the upper pairs: row i gets itself, every
 * j < i that listed i, then its own j > i, so rows come out sorted. */
static int symmetrise(const rlcc_graph *up, rlcc_budget *budget, rlcc_graph *full)
{
    const int64_t n = up->n;
    int err = rlcc__graph_init(full, n, budget);
    if (err != RLCC_OK)
        return err;
    int64_t *fill = rlcc__calloc(budget, n, sizeof *fill, "symmetrise cursor", &err);
    if (fill == NULL) {
        rlcc__graph_free(full, budget);
        return err;
    }
    /* degree(i) = 1 (self) + lower entries + upper entries */
    for (int64_t i = 0; i < n; i++)
        fill[i] = 1 + (up->indptr[i + 1] - up->indptr[i]);
    for (int64_t e = 0; e < up->indptr[n]; e++)
        fill[up->indices[e]]++;
    for (int64_t i = 0; i < n; i++)
        full->indptr[i + 1] = full->indptr[i] + fill[i];
    err = rlcc__graph_reserve(full, full->indptr[n], budget);
    if (err != RLCC_OK) {
        rlcc__free(budget, fill, n, sizeof *fill);
        rlcc__graph_free(full, budget);
        return err;
    }
    /* Lower entries: scanning rows i in order appends i to each of its
     * upper neighbours j, so row j's lower part is ascending too. */
    for (int64_t i = 0; i < n; i++)
        fill[i] = full->indptr[i];
    for (int64_t i = 0; i < n; i++) {
        full->indices[fill[i]++] = (int32_t)i;
        for (int64_t e = up->indptr[i]; e < up->indptr[i + 1]; e++) {
            int32_t j = up->indices[e];
            full->indices[fill[j]++] = (int32_t)i;
        }
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = up->indptr[i]; e < up->indptr[i + 1]; e++)
            full->indices[fill[i]++] = up->indices[e];
    full->rows = n;
    rlcc__free(budget, fill, n, sizeof *fill);
    return RLCC_OK;
}

int rlcc__feature_graph(const float *x, int64_t n, int64_t d, int64_t ldx, double eps,
                        int32_t metric, int n_threads, rlcc_budget *budget,
                        rlcc_graph *out, int64_t *n_redecided)
{
    const double u = 0x1p-24;
    scan_context ctx = {
        .x = x, .n = n, .d = d, .ldx = ldx, .metric = metric,
        .eps2 = eps * eps,
        .eps32 = (float)eps,
        /* 1% on top of gamma_d covers the double rounding of norm2 and d2.
         * Past d u >= 1/2 the bound is void: decide every pair from rows. */
        .gamma = (double)d * u < 0.5 ? 1.01 * (double)d * u / (1.0 - (double)d * u) : INFINITY,
        /* float32 products that underflow lose at most 2^-150 each */
        .abs_margin = 4.0 * (double)d * 0x1p-150,
    };
    int err;
    double *norm2 = rlcc__alloc(budget, n, sizeof *norm2, "row norms", &err);
    if (norm2 == NULL)
        return err;
    float *inv_norm = NULL;
    float *tile = NULL;
    const int64_t rows = rlcc__panel_rows(n, budget);
    rlcc_graph up = {0};
    rlcc_blocktime_guard blocktime;
    rlcc__blocktime_enter(&blocktime);

    ctx.norm2 = norm2;
    err = row_norms(&ctx, norm2, n_threads);
    if (err == RLCC_OK && metric == RLCC_METRIC_COSINE) {
        inv_norm = rlcc__alloc(budget, n, sizeof *inv_norm, "inverse norms", &err);
        if (inv_norm != NULL)
            for (int64_t i = 0; i < n; i++)
                inv_norm[i] = 1.0f / (float)sqrt(norm2[i]);
        ctx.inv_norm = inv_norm;
    }
    if (err == RLCC_OK) {
        tile = rlcc__alloc(budget, rows * n, sizeof *tile, "Gram tile", &err);
    }
    if (err == RLCC_OK)
        err = rlcc__graph_init(&up, n, budget);
    for (int64_t i0 = 0; err == RLCC_OK && i0 < n; i0 += rows) {
        int64_t i1 = i0 + rows < n ? i0 + rows : n;
        err = scan_panel(&ctx, i0, i1, tile, n_threads, budget, &up, n_redecided);
    }
    rlcc__free(budget, tile, rows * n, sizeof *tile);
    rlcc__free(budget, inv_norm, n, sizeof *inv_norm);
    rlcc__free(budget, norm2, n, sizeof *norm2);
    if (err == RLCC_OK)
        err = symmetrise(&up, budget, out);
    if (up.indptr != NULL)
        rlcc__graph_free(&up, budget);
    rlcc__blocktime_leave(&blocktime);
    return err;
}
