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
 *
 * Several radii share one pass: each pair is decided against every radius,
 * from the largest down (a pair outside a radius is outside every smaller
 * one), with the same d2, margin and row distance as a pass of its own, so
 * each radius's graph is the one a separate call would build. The
 * tight / normal / loose runs of rlcc_pseudo_labels() use this.
 */
#include <float.h>
#include <math.h>

#include "distance.h"
#include "internal.h"

/* Once a pair is decided, its Gram entry is overwritten by its level: how
 * many of the radii it lies within, counted from the largest (0: none). It
 * is a neighbour at radius e (ascending) when level >= n_eps - e. */

/* What every panel scan needs to know. */
typedef struct scan_context {
    const float *x;
    int64_t n, d, ldx;
    int32_t metric;
    int n_eps;              /* 1 to RLCC_MAX_RADII radii, ascending */
    double eps2[RLCC_MAX_RADII]; /* euclidean: eps * eps in double */
    float eps32[RLCC_MAX_RADII]; /* cosine: eps rounded to float32, as scikit-learn */
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

/* The level of a cosine pair: radii from the largest down while within. */
static int cosine_level(const scan_context *ctx, float dist)
{
    int level = 0;
    while (level < ctx->n_eps && dist <= ctx->eps32[ctx->n_eps - 1 - level])
        level++;
    return level;
}

/* The level of a euclidean pair from its screened d2; a radius whose band
 * holds d2 is decided from the rows, computed once for the pair. */
static int euclidean_level(const scan_context *ctx, double d2, double margin, const float *xi,
                           const float *xj, int64_t *redecided)
{
    double exact = -1.0; /* the row distance, once computed */
    int level = 0;
    while (level < ctx->n_eps) {
        const double eps2 = ctx->eps2[ctx->n_eps - 1 - level];
        int yes;
        if (d2 < eps2 - margin)
            yes = 1;
        else if (d2 > eps2 + margin)
            yes = 0;
        else {
            if (exact < 0.0) {
                exact = rlcc__squared_distance(xi, xj, ctx->d);
                (*redecided)++;
            }
            yes = exact <= eps2;
        }
        if (!yes)
            break;
        level++;
    }
    return level;
}

/* Decides the pairs (i, j), j in (i, n), of one tile row in place: each
 * Gram entry becomes the pair's level. counts[e] receives the neighbours at
 * radius e; *redecided counts the pairs decided again from the rows. */
static void decide_row(const scan_context *ctx, int64_t i, float *gram_row, int64_t j0,
                       int64_t *counts, int64_t *redecided)
{
    int64_t at_level[RLCC_MAX_RADII + 1] = {0};
    const int64_t n = ctx->n;
    if (ctx->metric == RLCC_METRIC_COSINE) {
        const float inv_i = ctx->inv_norm[i];
        for (int64_t j = i + 1; j < n; j++) {
            float dist = 1.0f - gram_row[j - j0] * inv_i * ctx->inv_norm[j];
            dist = dist < 0.0f ? 0.0f : dist > 2.0f ? 2.0f : dist;
            const int level = cosine_level(ctx, dist);
            gram_row[j - j0] = (float)level;
            at_level[level]++;
        }
    } else {
        const double ni = ctx->norm2[i];
        const float *xi = ctx->x + i * ctx->ldx;
        for (int64_t j = i + 1; j < n; j++) {
            const double nsum = ni + ctx->norm2[j];
            const double d2 = nsum - 2.0 * (double)gram_row[j - j0];
            const double margin = ctx->gamma * nsum + ctx->abs_margin;
            const int level = euclidean_level(ctx, d2, margin, xi, ctx->x + j * ctx->ldx,
                                              redecided);
            gram_row[j - j0] = (float)level;
            at_level[level]++;
        }
    }
    /* radius e (ascending) keeps the pairs of level n_eps - e and above */
    int64_t within = 0;
    for (int level = ctx->n_eps; level >= 1; level--) {
        within += at_level[level];
        counts[ctx->n_eps - level] = within;
    }
}

/* Pairs (i, j > i) of one panel into the upper graphs up[e], one per
 * radius, rows in order. */
static int scan_panel(const scan_context *ctx, int64_t i0, int64_t i1, float *tile,
                      int n_threads, rlcc__budget *budget, rlcc__graph *up,
                      int64_t *n_redecided)
{
    const int64_t cols = ctx->n - i0, rows = i1 - i0;
    const int n_eps = ctx->n_eps;
    rlcc__gram_panel(ctx->x, ctx->n, ctx->d, ctx->ldx, i0, i1, tile);

    int64_t redecided = 0;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 4) \
    reduction(+ : redecided)
    for (int64_t r = 0; r < rows; r++) {
        int64_t counts[RLCC_MAX_RADII];
        decide_row(ctx, i0 + r, tile + r * cols, i0, counts, &redecided);
        for (int e = 0; e < n_eps; e++)
            up[e].indptr[i0 + r + 1] = counts[e];
    }
    *n_redecided += redecided;

    for (int e = 0; e < n_eps; e++) {
        int64_t panel_total = 0;
        for (int64_t i = i0; i < i1; i++) {
            panel_total += up[e].indptr[i + 1];
            up[e].indptr[i + 1] += up[e].indptr[i];
        }
        int err = rlcc__graph_reserve(&up[e], panel_total, budget);
        if (err != RLCC_OK)
            return err;
    }
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 4)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = i0 + r;
        const float *levels = tile + r * cols;
        for (int e = 0; e < n_eps; e++) {
            const float needed = (float)(n_eps - e);
            int32_t *out = up[e].indices + up[e].indptr[i];
            for (int64_t j = i + 1; j < ctx->n; j++)
                if (levels[j - i0] >= needed)
                    *out++ = (int32_t)j;
        }
    }
    for (int e = 0; e < n_eps; e++)
        up[e].rows = i1;
    return RLCC_OK;
}

/* The full directed graph from the upper pairs: row i gets itself, every
 * j < i that listed i, then its own j > i, so rows come out sorted. */
static int symmetrise(const rlcc__graph *up, rlcc__budget *budget, rlcc__graph *full)
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

int rlcc__feature_graphs(const float *x, int64_t n, int64_t d, int64_t ldx, const double *eps,
                         int n_eps, int32_t metric, int n_threads, rlcc__budget *budget,
                         rlcc__graph *out, int64_t *n_redecided)
{
    const double u = 0x1p-24;
    scan_context ctx = {
        .x = x, .n = n, .d = d, .ldx = ldx, .metric = metric, .n_eps = n_eps,
        /* 1% on top of gamma_d covers the double rounding of norm2 and d2.
         * Past d u >= 1/2 the bound is void: decide every pair from rows. */
        .gamma = (double)d * u < 0.5 ? 1.01 * (double)d * u / (1.0 - (double)d * u) : INFINITY,
        /* float32 products that underflow lose at most 2^-150 each */
        .abs_margin = 4.0 * (double)d * 0x1p-150,
    };
    for (int e = 0; e < n_eps; e++) {
        ctx.eps2[e] = eps[e] * eps[e];
        ctx.eps32[e] = (float)eps[e];
    }
    int err;
    double *norm2 = rlcc__alloc(budget, n, sizeof *norm2, "row norms", &err);
    if (norm2 == NULL)
        return err;
    float *inv_norm = NULL;
    float *tile = NULL;
    const int64_t rows = rlcc__panel_rows(n, budget);
    rlcc__graph up[RLCC_MAX_RADII] = {{0}};
    rlcc__blocktime_guard blocktime;
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
    for (int e = 0; err == RLCC_OK && e < n_eps; e++)
        err = rlcc__graph_init(&up[e], n, budget);
    for (int64_t i0 = 0; err == RLCC_OK && i0 < n; i0 += rows) {
        int64_t i1 = i0 + rows < n ? i0 + rows : n;
        err = scan_panel(&ctx, i0, i1, tile, n_threads, budget, up, n_redecided);
    }
    rlcc__free(budget, tile, rows * n, sizeof *tile);
    rlcc__free(budget, inv_norm, n, sizeof *inv_norm);
    rlcc__free(budget, norm2, n, sizeof *norm2);
    int built = 0; /* full graphs made so far, freed again on error */
    for (; err == RLCC_OK && built < n_eps; built++) {
        err = symmetrise(&up[built], budget, &out[built]);
        if (err != RLCC_OK)
            break;
        rlcc__graph_free(&up[built], budget);
    }
    for (int e = 0; e < n_eps; e++)
        if (up[e].indptr != NULL)
            rlcc__graph_free(&up[e], budget);
    if (err != RLCC_OK)
        for (int e = 0; e < built; e++)
            rlcc__graph_free(&out[e], budget);
    rlcc__blocktime_leave(&blocktime);
    return err;
}

int rlcc__feature_graph(const float *x, int64_t n, int64_t d, int64_t ldx, double eps,
                        int32_t metric, int n_threads, rlcc__budget *budget,
                        rlcc__graph *out, int64_t *n_redecided)
{
    return rlcc__feature_graphs(x, n, d, ldx, &eps, 1, metric, n_threads, budget, out,
                                n_redecided);
}
