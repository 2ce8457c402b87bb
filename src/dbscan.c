/*
 * dbscan.c - scikit-learn's DBSCAN over three kinds of input.
 *
 * Each entry point validates everything first (outputs stay untouched on a
 * validation error), reduces its input to a directed neighbour graph
 * (graph.c), and labels the graph exactly as scikit-learn's dbscan_inner
 * does. Features are reduced in features.c; the two precomputed inputs
 * here.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"

/* ---- options and stats ---------------------------------------------------- */

/* The 1.0 struct sizes: callers compiled against 1.0 pass at least these. */
#define OPTIONS_SIZE_1_0 (offsetof(rlcc_dbscan_options, max_bytes) + sizeof(int64_t))
#define STATS_SIZE_1_0 (offsetof(rlcc_dbscan_stats, peak_bytes) + sizeof(int64_t))

int rlcc_dbscan_options_init(rlcc_dbscan_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_dbscan_options defaults = {
        .struct_size = sizeof defaults, .metric = RLCC_METRIC_EUCLIDEAN};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             OPTIONS_SIZE_1_0, "options");
}

int rlcc_dbscan_stats_init(rlcc_dbscan_stats *stats, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_dbscan_stats zero = {.struct_size = sizeof zero};
    return rlcc__init_struct(stats, struct_size, &zero, sizeof zero, STATS_SIZE_1_0, "stats");
}

/* The options a call runs with, after defaults and validation. */
typedef struct call_options {
    int32_t metric;
    int32_t algorithm; /* RLCC_DBSCAN_*, AUTO until rlcc_dbscan_features() picks */
    int n_threads;
    int64_t max_bytes;
} call_options;

static int read_options(const rlcc_dbscan_options *options, call_options *out)
{
    rlcc_dbscan_options opts;
    rlcc_dbscan_options_init(&opts, sizeof opts);
    int err = rlcc__read_struct(&opts, sizeof opts, options, OPTIONS_SIZE_1_0, "options");
    if (err != RLCC_OK)
        return err;
    if (opts.metric != RLCC_METRIC_EUCLIDEAN && opts.metric != RLCC_METRIC_COSINE)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.metric: %d is not a known metric",
                          (int)opts.metric);
    if (opts.algorithm < RLCC_DBSCAN_AUTO || opts.algorithm > RLCC_DBSCAN_TREE)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "options.algorithm: %d is not a known algorithm (RLCC_DBSCAN_AUTO 0, "
                          "_BRUTE 1, _GRID 2, _TREE 3)",
                          (int)opts.algorithm);
    err = rlcc__check_reserved("options.reserved", opts.reserved);
    if (err == RLCC_OK)
        err = rlcc__check_threads(opts.n_threads);
    if (err == RLCC_OK)
        err = rlcc__check_max_bytes(opts.max_bytes);
    if (err != RLCC_OK)
        return err;
    out->metric = opts.metric;
    out->algorithm = opts.algorithm;
    out->n_threads = rlcc__resolve_threads(opts.n_threads);
    out->max_bytes = opts.max_bytes;
    return RLCC_OK;
}

static int check_stats(const rlcc_dbscan_stats *stats)
{
    return stats == NULL ? RLCC_OK
                         : rlcc__check_struct_size(stats->struct_size, STATS_SIZE_1_0, "stats");
}

/* What a call writes: labels, n_clusters, core and the stats it knows. */
static int check_outputs(int64_t n, const int32_t *labels, const int64_t *n_clusters,
                         const uint8_t *core, const rlcc_dbscan_stats *stats,
                         const rlcc__span *inputs, int n_inputs)
{
    const size_t stats_bytes =
        stats == NULL ? 0 : stats->struct_size < sizeof *stats ? stats->struct_size : sizeof *stats;
    const rlcc__span outputs[] = {
        rlcc__vector_span("labels", labels, n, sizeof *labels),
        rlcc__vector_span("n_clusters", n_clusters, 1, sizeof *n_clusters),
        rlcc__vector_span("core", core, n, sizeof *core),
        rlcc__vector_span("stats", stats, (int64_t)stats_bytes, 1)};
    return rlcc__check_no_overlap(outputs, 4, inputs, n_inputs);
}

/* Checks shared by the three entry points, after their input checks: the
 * inputs' spans (validated) against the outputs. */
static int check_common(int64_t n, double eps, int64_t min_samples, int32_t *labels,
                        int64_t *n_clusters, uint8_t *core, const rlcc_dbscan_options *options,
                        const rlcc_dbscan_stats *stats, const rlcc__span *inputs, int n_inputs,
                        call_options *opts)
{
    int err = rlcc__check_eps(eps);
    if (err == RLCC_OK)
        err = rlcc__check_min_samples(min_samples);
    if (err == RLCC_OK && n > 0 && labels == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    if (err == RLCC_OK)
        err = read_options(options, opts);
    if (err == RLCC_OK)
        err = check_stats(stats);
    if (err == RLCC_OK)
        err = check_outputs(n, labels, n_clusters, core, stats, inputs, n_inputs);
    return err;
}

/* ---- labelling ------------------------------------------------------------ */

/* The labelling itself: core and stack are n each; returns the cluster count. */
static int64_t label_graph(const rlcc__graph *g, int64_t min_samples, uint8_t *core,
                           int32_t *labels, int32_t *stack)
{
    const int64_t n = g->n;
    for (int64_t i = 0; i < n; i++) {
        core[i] = g->indptr[i + 1] - g->indptr[i] >= min_samples;
        labels[i] = -1;
    }
    /* scikit-learn's dbscan_inner, with one difference that cannot change
     * the result: a point is labelled when it is pushed rather than when it
     * is popped. Either way the cluster started at i takes exactly the
     * unlabelled points reachable from i, but this way no point is pushed
     * twice, so the stack needs at most n slots. */
    int32_t cluster = 0;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] != -1 || !core[i])
            continue;
        int64_t top = 0;
        labels[i] = cluster;
        stack[top++] = (int32_t)i;
        while (top > 0) {
            int32_t p = stack[--top];
            if (!core[p])
                continue; /* border points join but do not expand */
            for (int64_t e = g->indptr[p]; e < g->indptr[p + 1]; e++) {
                int32_t q = g->indices[e];
                if (labels[q] == -1) {
                    labels[q] = cluster;
                    stack[top++] = q;
                }
            }
        }
        cluster++;
    }
    return cluster;
}

int rlcc__dbscan_label(const rlcc__graph *g, int64_t min_samples, rlcc__budget *budget,
                       int32_t *labels, uint8_t *core, int64_t *n_clusters)
{
    const int64_t n = g->n;
    int err;
    int32_t *stack = rlcc__alloc(budget, n, sizeof *stack, "dbscan stack", &err);
    uint8_t *core_flags = core;
    if (stack != NULL && core_flags == NULL)
        core_flags = rlcc__alloc(budget, n, sizeof *core_flags, "core flags", &err);
    if (stack != NULL && core_flags != NULL) {
        *n_clusters = label_graph(g, min_samples, core_flags, labels, stack);
        err = RLCC_OK;
    }
    if (core_flags != core)
        rlcc__free(budget, core_flags, n, sizeof *core_flags);
    rlcc__free(budget, stack, n, sizeof *stack);
    return err;
}

/* Every DBSCAN stats write goes through here: only the fields this
 * librlcc knows, within the caller's struct_size. */
static void write_stats(rlcc_dbscan_stats *stats, int64_t pairs, int64_t n_core,
                        int64_t n_noise, int64_t n_redecided, int64_t peak_bytes)
{
    const rlcc_dbscan_stats s = {.struct_size = sizeof s, .n_neighbor_pairs = pairs,
                                 .n_core = n_core, .n_noise = n_noise,
                                 .n_redecided = n_redecided, .peak_bytes = peak_bytes};
    rlcc__write_struct(stats, &s, sizeof s);
}

/* Labels a finished graph into the caller's outputs and fills the stats.
 * Frees the graph whatever happens. */
static int finish(rlcc__graph *g, int64_t min_samples, rlcc__budget *budget,
                  int64_t n_redecided, int32_t *labels, int64_t *n_clusters, uint8_t *core,
                  rlcc_dbscan_stats *stats)
{
    const int64_t n = g->n;
    int64_t clusters = 0;
    int err = rlcc__dbscan_label(g, min_samples, budget, labels, core, &clusters);
    if (err != RLCC_OK) {
        rlcc__graph_free(g, budget);
        return err;
    }
    if (stats != NULL) {
        int64_t n_core = 0, n_noise = 0;
        for (int64_t i = 0; i < n; i++) {
            n_core += g->indptr[i + 1] - g->indptr[i] >= min_samples; /* as labelled */
            n_noise += labels[i] == -1;
        }
        write_stats(stats, g->indptr[n], n_core, n_noise, n_redecided, budget->peak);
    }
    if (n_clusters != NULL)
        *n_clusters = clusters;
    rlcc__graph_free(g, budget);
    return RLCC_OK;
}

/* n == 0: nothing to label, but the outputs still say so. */
static int finish_empty(int64_t *n_clusters, rlcc_dbscan_stats *stats)
{
    if (n_clusters != NULL)
        *n_clusters = 0;
    if (stats != NULL)
        write_stats(stats, 0, 0, 0, 0, 0);
    return RLCC_OK;
}

/* ---- features ------------------------------------------------------------- */

/* What the forced choices cannot do, refused before anything is read. */
static int check_algorithm(int32_t algorithm, int32_t metric, int64_t d)
{
    static const char *const name[] = {"", "", "the grid (RLCC_DBSCAN_GRID)",
                                       "the tree (RLCC_DBSCAN_TREE)"};
    if ((algorithm == RLCC_DBSCAN_GRID || algorithm == RLCC_DBSCAN_TREE) &&
        metric == RLCC_METRIC_COSINE)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "options.algorithm: %s decides euclidean distances only; cosine is "
                          "decided in float32 from the Gram matrix (RLCC_DBSCAN_BRUTE, or "
                          "RLCC_DBSCAN_AUTO, which picks it)",
                          name[algorithm]);
    if (algorithm == RLCC_DBSCAN_GRID && d > RLCC_DBSCAN_GRID_MAX_DIM)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "options.algorithm: the grid (RLCC_DBSCAN_GRID) takes d <= %d, not "
                          "d = %lld (a point's neighbouring cells grow as "
                          "(2 floor(sqrt(d)) + 3)^d); use RLCC_DBSCAN_TREE or RLCC_DBSCAN_AUTO",
                          RLCC_DBSCAN_GRID_MAX_DIM, (long long)d);
    return RLCC_OK;
}

/* Below this many rows the grid and the tree run on the calling thread:
 * their whole work there takes a few milliseconds, less than waking a team
 * for each of their eight parallel steps costs on a busy machine (DS3, 8,000
 * rows: 3.8 ms on one thread, 12 ms on two). Every count gives the same
 * result, so this changes only the time. */
#define GRID_TREE_MIN_ROWS_FOR_THREADS 32768

static int grid_tree_threads(int n_threads, int64_t n)
{
    return n < GRID_TREE_MIN_ROWS_FOR_THREADS ? 1 : n_threads;
}

/* RLCC_DBSCAN_AUTO's choice, from the measurements in docs/BENCHMARKS.md:
 *   cosine: brute, the one path that reproduces its float32 decision;
 *   d <= 3: the grid, fastest at every n measured (8,000 to 1,000,000);
 *   d 4 to 7: the tree, fastest at every n measured;
 *   d 8 to 512: the tree while it stays selective, else brute. A kd-tree's
 *     pruning depends on the data from d of about 8 on: on clustered data
 *     it beat brute up to d = 128, on unstructured data (re-ID-like unit
 *     rows) it lost by up to 16x from d = 16 on. So the tree path probes
 *     itself once built (rlcc__dbscan_tree with max_share): if the
 *     neighbour counts of a fixed sample of 256 rows examine more than
 *     TREE_MAX_SHARE of the rows one by one, the tree would be doing
 *     brute's work at a higher cost per pair, and it declines;
 *   d > 512: brute.
 * n did not move any of these boundaries. The choice never changes a
 * result (every path decides the same), only the time. */
#define TREE_MAX_SHARE (1.0 / 16.0)

static int32_t auto_algorithm(int32_t metric, int64_t d, double *tree_max_share)
{
    *tree_max_share = 0.0;
    if (metric == RLCC_METRIC_COSINE || d > 512)
        return RLCC_DBSCAN_BRUTE;
    if (d <= 3)
        return RLCC_DBSCAN_GRID;
    if (d >= 8)
        *tree_max_share = TREE_MAX_SHARE; /* the tree, if its probe says so */
    return RLCC_DBSCAN_TREE;
}

/* The grid and tree paths: labels straight into the caller's outputs. With
 * tree_max_share > 0 the tree may decline (auto's probe): then *declined is
 * set, nothing is written and the caller runs brute. */
static int dbscan_without_gram(int32_t algorithm, const float *x, int64_t n, int64_t d,
                               int64_t ldx, double eps, int64_t min_samples, int n_threads,
                               double tree_max_share, rlcc__budget *budget, int32_t *labels,
                               int64_t *n_clusters, uint8_t *core, rlcc_dbscan_stats *stats,
                               int *declined)
{
    *declined = 0;
    int err = rlcc__check_feature_values("x", x, n, d, ldx, n_threads, budget);
    if (err != RLCC_OK)
        return err;
    uint8_t *core_flags = core; /* the stats count core points even without core */
    if (core_flags == NULL && stats != NULL) {
        core_flags = rlcc__alloc(budget, n, sizeof *core_flags, "core flags", &err);
        if (core_flags == NULL)
            return err;
    }
    int64_t clusters = 0, pairs = 0;
    int64_t *count_pairs = stats != NULL ? &pairs : NULL;
    if (algorithm == RLCC_DBSCAN_GRID)
        err = rlcc__dbscan_grid(x, n, d, ldx, eps, min_samples, n_threads, budget, labels,
                                core_flags, &clusters, count_pairs);
    else
        err = rlcc__dbscan_tree(x, n, d, ldx, eps, min_samples, n_threads, tree_max_share,
                                budget, labels, core_flags, &clusters, count_pairs, declined);
    if (err == RLCC_OK && stats != NULL && !*declined) {
        int64_t n_core = 0, n_noise = 0;
        for (int64_t i = 0; i < n; i++) {
            n_core += core_flags[i];
            n_noise += labels[i] == -1;
        }
        /* n_redecided 0: no float32 screen, every pair computed is decided in double */
        write_stats(stats, pairs, n_core, n_noise, 0, budget->peak);
    }
    if (err == RLCC_OK && n_clusters != NULL && !*declined)
        *n_clusters = clusters;
    if (core_flags != core)
        rlcc__free(budget, core_flags, n, sizeof *core_flags);
    return err;
}

int rlcc_dbscan_features(const float *x, int64_t n, int64_t d, int64_t ldx, double eps,
                         int64_t min_samples, const rlcc_dbscan_options *options,
                         int32_t *labels, int64_t *n_clusters, uint8_t *core,
                         rlcc_dbscan_stats *stats)
{
    rlcc__clear_error();
    call_options opts;
    int err = rlcc__check_matrix("x", x, n, d, ldx);
    const rlcc__span input = rlcc__matrix_span("x", x, n, d, ldx, sizeof *x);
    if (err == RLCC_OK)
        err = check_common(n, eps, min_samples, labels, n_clusters, core, options, stats, &input,
                           1, &opts);
    if (err == RLCC_OK)
        err = check_algorithm(opts.algorithm, opts.metric, d);
    if (err != RLCC_OK)
        return err;
    if (n == 0)
        return finish_empty(n_clusters, stats);

    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    int32_t algorithm = opts.algorithm;
    double tree_max_share = 0.0; /* > 0: auto's probe of the tree */
    if (algorithm == RLCC_DBSCAN_AUTO)
        algorithm = auto_algorithm(opts.metric, d, &tree_max_share);
    if (algorithm != RLCC_DBSCAN_BRUTE) {
        int declined = 0;
        err = dbscan_without_gram(algorithm, x, n, d, ldx, eps, min_samples,
                                  grid_tree_threads(opts.n_threads, n), tree_max_share, &budget,
                                  labels, n_clusters, core, stats, &declined);
        if (err != RLCC_OK || !declined)
            return err;
        /* the tree declined: brute below, which checks the rows again with
         * its norms */
    }
    rlcc__graph g;
    int64_t n_redecided = 0;
    err = rlcc__feature_graph(x, n, d, ldx, eps, opts.metric, opts.n_threads, &budget, &g,
                              &n_redecided);
    if (err != RLCC_OK)
        return err;
    return finish(&g, min_samples, &budget, n_redecided, labels, n_clusters, core, stats);
}

/* ---- dense precomputed -------------------------------------------------- */

/* Names the first bad entry of a row that failed the fast check. */
static int bad_distance(const char *name, int64_t i, const float *row, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        float v = row[j];
        if (isnan(v))
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: NaN at row %lld, column %lld",
                              name, (long long)i, (long long)j);
        if (isinf(v))
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: inf at row %lld, column %lld",
                              name, (long long)i, (long long)j);
        if (v < 0.0f)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "%s: negative distance %g at row %lld, column %lld", name,
                              (double)v, (long long)i, (long long)j);
    }
    return RLCC_OK;
}

/* Rows per block: the count pass and the fill pass of a block both read
 * its rows, so keep a block to about 4 MiB to find it in cache again. */
static int64_t dense_block_rows(int64_t n)
{
    int64_t rows = ((int64_t)4 << 20) / ((int64_t)sizeof(float) * n);
    return rows < 1 ? 1 : rows;
}

/* The dense matrix is the input itself, so no tile is needed: each block
 * of rows is counted (and validated), then filled, in parallel. A row's
 * neighbours land at its own offset, so the graph does not depend on the
 * number of threads. */
static int dense_graph(const float *dist, int64_t n, int64_t ld, float eps, int n_threads,
                       rlcc__budget *budget, rlcc__graph *g)
{
    int err = rlcc__graph_init(g, n, budget);
    if (err != RLCC_OK)
        return err;
    const int64_t block = dense_block_rows(n);
    for (int64_t r0 = 0; r0 < n; r0 += block) {
        const int64_t r1 = r0 + block < n ? r0 + block : n;
        int64_t first_bad = INT64_MAX;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static) \
    reduction(min : first_bad)
        for (int64_t i = r0; i < r1; i++) {
            const float *row = dist + i * ld;
            int64_t count = 0;
            int ok = 1;
            for (int64_t j = 0; j < n; j++) {
                float v = row[j];
                /* false for NaN, negatives and +inf */
                ok &= v >= 0.0f && v <= FLT_MAX;
                count += v <= eps;
            }
            if (!ok && i < first_bad)
                first_bad = i;
            g->indptr[i + 1] = count;
        }
        if (first_bad != INT64_MAX) {
            err = bad_distance("dist", first_bad, dist + first_bad * ld, n);
            rlcc__graph_free(g, budget);
            return err;
        }
        int64_t block_total = 0;
        for (int64_t i = r0; i < r1; i++) {
            block_total += g->indptr[i + 1];
            g->indptr[i + 1] = g->indptr[i] + g->indptr[i + 1];
        }
        err = rlcc__graph_reserve(g, block_total, budget);
        if (err != RLCC_OK) {
            rlcc__graph_free(g, budget);
            return err;
        }
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
        for (int64_t i = r0; i < r1; i++) {
            const float *row = dist + i * ld;
            int32_t *out = g->indices + g->indptr[i];
            for (int64_t j = 0; j < n; j++)
                if (row[j] <= eps)
                    *out++ = (int32_t)j;
        }
        g->rows = r1;
    }
    return RLCC_OK;
}

int rlcc_dbscan_dense(const float *dist, int64_t n, int64_t ld, double eps,
                      int64_t min_samples, const rlcc_dbscan_options *options,
                      int32_t *labels, int64_t *n_clusters, uint8_t *core,
                      rlcc_dbscan_stats *stats)
{
    rlcc__clear_error();
    call_options opts;
    int err = rlcc__check_matrix("dist", dist, n, n > 0 ? n : 1, ld);
    const rlcc__span input = rlcc__matrix_span("dist", dist, n, n, ld, sizeof *dist);
    if (err == RLCC_OK)
        err = check_common(n, eps, min_samples, labels, n_clusters, core, options, stats, &input,
                           1, &opts);
    if (err != RLCC_OK)
        return err;
    if (n == 0)
        return finish_empty(n_clusters, stats);

    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    rlcc__graph g;
    /* scikit-learn compares float32 distances with eps rounded to float32 */
    err = dense_graph(dist, n, ld, (float)eps, opts.n_threads, &budget, &g);
    if (err != RLCC_OK)
        return err;
    return finish(&g, min_samples, &budget, 0, labels, n_clusters, core, stats);
}

/* ---- sparse precomputed (CSR) ------------------------------------------- */

static int check_csr(int64_t n, const int64_t *indptr, const int32_t *indices,
                     const float *data)
{
    int err = rlcc__check_csr_structure(n, indptr, indices, data);
    for (int64_t i = 0; err == RLCC_OK && i < n; i++)
        /* an empty row reads nothing: data may be NULL when nothing is stored */
        if (indptr[i + 1] > indptr[i])
            err = bad_distance("data", i, data + indptr[i], indptr[i + 1] - indptr[i]);
    return err;
}

/* Neighbours of row i: stored entries <= eps, plus the diagonal when the
 * row stores none (scikit-learn's setdiag(diagonal()) stores it as 0).
 * Returns the count; writes them in ascending order when out != NULL. */
static int64_t csr_row_neighbours(int64_t i, const int64_t *indptr, const int32_t *indices,
                                  const float *data, float eps, int32_t *out)
{
    int64_t count = 0;
    int diagonal_done = 0;
    for (int64_t e = indptr[i]; e < indptr[i + 1]; e++) {
        int32_t j = indices[e];
        if (j == i)
            diagonal_done = 1;
        else if (j > i && !diagonal_done) {
            diagonal_done = 1; /* passed column i unstored: the implicit 0 goes here */
            if (out)
                out[count] = (int32_t)i;
            count++;
        }
        if (data[e] <= eps) {
            if (out)
                out[count] = j;
            count++;
        }
    }
    if (!diagonal_done) {
        if (out)
            out[count] = (int32_t)i;
        count++;
    }
    return count;
}

static int csr_graph(int64_t n, const int64_t *indptr, const int32_t *indices,
                     const float *data, float eps, rlcc__budget *budget, rlcc__graph *g)
{
    int err = rlcc__graph_init(g, n, budget);
    if (err != RLCC_OK)
        return err;
    for (int64_t i = 0; i < n; i++)
        g->indptr[i + 1] = g->indptr[i] + csr_row_neighbours(i, indptr, indices, data, eps, NULL);
    err = rlcc__graph_reserve(g, g->indptr[n], budget);
    if (err != RLCC_OK) {
        rlcc__graph_free(g, budget);
        return err;
    }
    for (int64_t i = 0; i < n; i++)
        csr_row_neighbours(i, indptr, indices, data, eps, g->indices + g->indptr[i]);
    g->rows = n;
    return RLCC_OK;
}

int rlcc__dbscan_csr(int64_t n, const int64_t *indptr, const int32_t *indices, const float *data,
                     double eps, int64_t min_samples, rlcc__budget *budget, int32_t *labels,
                     uint8_t *core, int64_t *n_clusters)
{
    rlcc__graph g;
    /* scikit-learn compares float32 distances with eps rounded to float32 */
    int err = csr_graph(n, indptr, indices, data, (float)eps, budget, &g);
    if (err != RLCC_OK)
        return err;
    err = rlcc__dbscan_label(&g, min_samples, budget, labels, core, n_clusters);
    rlcc__graph_free(&g, budget);
    return err;
}

int rlcc_dbscan_csr(int64_t n, const int64_t *indptr, const int32_t *indices,
                    const float *data, double eps, int64_t min_samples,
                    const rlcc_dbscan_options *options, int32_t *labels,
                    int64_t *n_clusters, uint8_t *core, rlcc_dbscan_stats *stats)
{
    rlcc__clear_error();
    call_options opts;
    int err = rlcc__check_row_count("csr", n);
    if (err == RLCC_OK)
        err = check_csr(n, indptr, indices, data);
    const int64_t rows = err == RLCC_OK ? n + 1 : 0; /* n validated first */
    const int64_t nnz = err == RLCC_OK && indptr != NULL ? indptr[n] : 0;
    const rlcc__span inputs[] = {rlcc__vector_span("indptr", indptr, rows, sizeof *indptr),
                                 rlcc__vector_span("indices", indices, nnz, sizeof *indices),
                                 rlcc__vector_span("data", data, nnz, sizeof *data)};
    if (err == RLCC_OK)
        err = check_common(n, eps, min_samples, labels, n_clusters, core, options, stats, inputs,
                           3, &opts);
    if (err != RLCC_OK)
        return err;
    if (n == 0)
        return finish_empty(n_clusters, stats);

    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    rlcc__graph g;
    err = csr_graph(n, indptr, indices, data, (float)eps, &budget, &g);
    if (err != RLCC_OK)
        return err;
    return finish(&g, min_samples, &budget, 0, labels, n_clusters, core, stats);
}
