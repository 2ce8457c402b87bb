/*
 * pseudo.c - the clustering step of a trainer, as one call: distance,
 * DBSCAN at one or three eps, outliers, SpCL's reliability criterion; and
 * the class centroids. Spec section 3.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define OPTIONS_SIZE_1_2 (offsetof(rlcc_pseudo_options, max_bytes) + sizeof(int64_t))

int rlcc_pseudo_options_init(rlcc_pseudo_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_pseudo_options defaults = {
        .struct_size = sizeof defaults, .metric = RLCC_METRIC_JACCARD, .k1 = 30, .k2 = 6,
        .variant = RLCC_JACCARD_DOT, .outliers = RLCC_OUTLIERS_SINGLETON, .reliability = 1,
        .guard = 1, .n_eps = 3, .cutoff = 0.9f, .eps = {0.58, 0.60, 0.62}, .threshold = -1.0,
        .min_samples = 4, .infomap_k = 15, .infomap_cluster_num = 4, .infomap_min_sim = 0.5,
        .infomap_seed = 123, .infomap_trials = 1, .kmeans_max_iter = 300, .kmeans_k = 500,
        .kmeans_tol = 0.0, .kmeans_seed = 1234, .kmeans_max_points = 256};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             OPTIONS_SIZE_1_2, "options");
}

/* The Jaccard options a pseudo-label call runs its distance with. */
static void jaccard_options_of(const rlcc_pseudo_options *opts, rlcc_jaccard_options *jopts)
{
    rlcc_jaccard_options_init(jopts, sizeof *jopts);
    jopts->k1 = opts->k1;
    jopts->k2 = opts->k2;
    jopts->variant = opts->variant;
    jopts->normalize = opts->normalize;
    jopts->n_threads = opts->n_threads;
    jopts->cutoff = opts->cutoff;
    jopts->max_bytes = opts->max_bytes;
}

/* The InfoMap options a pseudo-label call runs with (RLCC_PSEUDO_INFOMAP). */
static void infomap_options_of(const rlcc_pseudo_options *opts, rlcc_infomap_options *iopts)
{
    rlcc_infomap_options_init(iopts, sizeof *iopts);
    iopts->k = opts->infomap_k;
    iopts->cluster_num = opts->infomap_cluster_num;
    iopts->min_sim = opts->infomap_min_sim;
    iopts->seed = opts->infomap_seed;
    iopts->trials = opts->infomap_trials;
    iopts->normalize = opts->normalize;
    iopts->n_threads = opts->n_threads;
    iopts->max_bytes = opts->max_bytes;
}

int64_t rlcc__pseudo_knn_width(const rlcc_pseudo_options *opts)
{
    if (opts->method == RLCC_PSEUDO_INFOMAP)
        return opts->infomap_k;
    if (opts->method == RLCC_PSEUDO_DBSCAN && opts->metric == RLCC_METRIC_JACCARD)
        return opts->k1;
    return 0;
}

static const char *const method_names[] = {"RLCC_PSEUDO_DBSCAN", "RLCC_PSEUDO_INFOMAP",
                                           "RLCC_PSEUDO_KMEANS"};

/* The fields RLCC_PSEUDO_INFOMAP and RLCC_PSEUDO_KMEANS read, as their
 * own entry points check them; n > 0 is needed for k <= n. */
static int check_other_method(const rlcc_pseudo_options *o, int64_t n)
{
    if (o->reliability)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "reliability: the criterion needs DBSCAN's three runs; set "
                          "reliability = 0 for %s",
                          method_names[o->method]);
    int err = rlcc__check_resources(o->n_threads, o->max_bytes);
    if (err == RLCC_OK && o->normalize != 0 && o->normalize != 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "normalize: %d must be 0 or 1",
                         (int)o->normalize);
    if (err != RLCC_OK)
        return err;
    if (o->method == RLCC_PSEUDO_INFOMAP) {
        if (o->infomap_k < 1 || (n > 0 && o->infomap_k > n))
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "infomap_k: %d must be in [1, n = %lld]",
                              (int)o->infomap_k, (long long)n);
        if (o->infomap_cluster_num < 0)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "infomap_cluster_num: %d must be >= 0",
                              (int)o->infomap_cluster_num);
        if (!(o->infomap_min_sim >= -1.0 && o->infomap_min_sim <= 1.0))
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "infomap_min_sim: %g must be in [-1, 1]", o->infomap_min_sim);
        if (o->infomap_trials < 1)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "infomap_trials: %d must be >= 1",
                              (int)o->infomap_trials);
        return RLCC_OK;
    }
    if (o->knn != NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "knn: RLCC_PSEUDO_KMEANS reads no kNN lists");
    if (o->kmeans_k < 1 || (n > 0 && o->kmeans_k > n))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "kmeans_k: %lld must be in [1, n = %lld]",
                          (long long)o->kmeans_k, (long long)n);
    if (o->kmeans_max_iter < 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "kmeans_max_iter: %d must be >= 1",
                          (int)o->kmeans_max_iter);
    if (!(o->kmeans_tol >= 0.0 && isfinite(o->kmeans_tol)))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "kmeans_tol: %g must be finite and >= 0",
                          o->kmeans_tol);
    if (o->kmeans_max_points < 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "kmeans_max_points: %lld must be >= 1",
                          (long long)o->kmeans_max_points);
    return RLCC_OK;
}

int rlcc__check_pseudo_options(const rlcc_pseudo_options *options, int64_t n,
                               rlcc_pseudo_options *out)
{
    rlcc_pseudo_options_init(out, sizeof *out);
    int err = rlcc__read_struct(out, sizeof *out, options, OPTIONS_SIZE_1_2, "options");
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", out->reserved);
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved2", out->reserved2);
    if (err != RLCC_OK)
        return err;
    if (out->method < RLCC_PSEUDO_DBSCAN || out->method > RLCC_PSEUDO_KMEANS)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "method: %d is not a pseudo-labeler this librlcc has "
                          "(RLCC_PSEUDO_DBSCAN = 0, RLCC_PSEUDO_INFOMAP = 1, "
                          "RLCC_PSEUDO_KMEANS = 2)",
                          (int)out->method);
    if (out->outliers != RLCC_OUTLIERS_KEEP && out->outliers != RLCC_OUTLIERS_SINGLETON)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "outliers: %d is not a known policy",
                          (int)out->outliers);
    if (out->method != RLCC_PSEUDO_KMEANS && out->kmeans_init != NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "kmeans_init: only RLCC_PSEUDO_KMEANS reads start centroids");
    if (out->method != RLCC_PSEUDO_DBSCAN)
        return check_other_method(out, n);
    if (out->metric != RLCC_METRIC_JACCARD && out->metric != RLCC_METRIC_EUCLIDEAN &&
        out->metric != RLCC_METRIC_COSINE)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "metric: %d is not a known metric",
                          (int)out->metric);
    if (out->n_eps != 1 && out->n_eps != 3)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "n_eps: %d; give one eps (a plain run) or three (tight, normal, "
                          "loose)",
                          (int)out->n_eps);
    if (out->reliability != 0 && out->reliability != 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "reliability: %d must be 0 or 1",
                          (int)out->reliability);
    if (out->guard != 0 && out->guard != 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "guard: %d must be 0 or 1", (int)out->guard);
    if (out->reliability && out->n_eps != 3)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "reliability: needs three eps values (tight, normal, loose)");
    if (out->reliability && out->outliers != RLCC_OUTLIERS_SINGLETON)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "reliability: needs the singleton outlier policy");
    if (isnan(out->threshold))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "threshold: is NaN");
    if (out->knn != NULL && out->metric != RLCC_METRIC_JACCARD)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "knn: only the Jaccard metric reads kNN lists");
    for (int e = 0; e < out->n_eps && err == RLCC_OK; e++) {
        err = rlcc__check_eps(out->eps[e]);
        if (err == RLCC_OK && out->metric == RLCC_METRIC_JACCARD &&
            !(out->eps[e] < (double)out->cutoff))
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "eps: %g is not below the Jaccard cutoff %g (pairs beyond the "
                             "cutoff are not kept)",
                             out->eps[e], (double)out->cutoff);
    }
    if (err == RLCC_OK)
        err = rlcc__check_min_samples(out->min_samples);
    if (err == RLCC_OK)
        err = rlcc__check_resources(out->n_threads, out->max_bytes);
    if (err == RLCC_OK && out->metric == RLCC_METRIC_JACCARD) {
        rlcc_jaccard_options jopts, checked;
        jaccard_options_of(out, &jopts);
        err = rlcc__check_jaccard_options(&jopts, n, &checked);
    }
    if (err == RLCC_OK && out->n_eps == 3) { /* tight <= normal <= loose */
        double *eps = out->eps;
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                if (eps[b] < eps[a]) {
                    double t = eps[a];
                    eps[a] = eps[b];
                    eps[b] = t;
                }
    }
    return err;
}

/* Gives every -1 sample, in index order, a new label k, k+1, ...; returns
 * the new label count. */
static int64_t singletons(int32_t *labels, int64_t n, int64_t k)
{
    for (int64_t i = 0; i < n; i++)
        if (labels[i] == -1)
            labels[i] = (int32_t)k++;
    return k;
}

typedef struct keyed {
    int64_t key;
    int64_t index;
} keyed;

static int compare_keyed(const void *a, const void *b)
{
    const keyed *p = a, *q = b;
    return (p->key > q->key) - (p->key < q->key);
}

/* 1 - |S_a(i) & S_b(i)| / |S_a(i) | S_b(i)| for every sample, with S_x(i)
 * the members of i's cluster in labeling x (labels >= 0, below ka / kb):
 * integer counts, one float32 divide. */
static int dissimilarity(const int32_t *a, int64_t ka, const int32_t *b, int64_t kb, int64_t n,
                         rlcc__budget *budget, float *out)
{
    int err;
    keyed *pairs = rlcc__alloc(budget, n, sizeof *pairs, "reliability pairs", &err);
    int64_t *size_a = pairs ? rlcc__calloc(budget, ka, sizeof *size_a, "cluster sizes", &err) : NULL;
    int64_t *size_b = size_a ? rlcc__calloc(budget, kb, sizeof *size_b, "cluster sizes", &err) : NULL;
    if (size_b != NULL) {
        for (int64_t i = 0; i < n; i++) {
            size_a[a[i]]++;
            size_b[b[i]]++;
            pairs[i].key = (int64_t)a[i] * kb + b[i];
            pairs[i].index = i;
        }
        qsort(pairs, (size_t)n, sizeof *pairs, compare_keyed);
        for (int64_t s = 0; s < n;) {
            int64_t e = s;
            while (e < n && pairs[e].key == pairs[s].key)
                e++;
            const int64_t inter = e - s;
            for (int64_t t = s; t < e; t++) {
                const int64_t i = pairs[t].index;
                const int64_t uni = size_a[a[i]] + size_b[b[i]] - inter;
                out[i] = 1.0f - (float)inter / (float)uni;
            }
            s = e;
        }
        err = RLCC_OK;
    }
    rlcc__free(budget, size_b, kb, sizeof *size_b);
    rlcc__free(budget, size_a, ka, sizeof *size_a);
    rlcc__free(budget, pairs, n, sizeof *pairs);
    return err;
}

static int compare_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* SpCL's criterion on the normal labels (in place); see rlcc.h. */
static int reliability(int32_t *normal, int64_t k_normal, const int32_t *tight, int64_t k_tight,
                       const int32_t *loose, int64_t k_loose, int64_t n, int guard,
                       double *threshold, rlcc__budget *budget, int64_t *k_out)
{
    int err;
    float *comp = rlcc__alloc(budget, n, sizeof *comp, "reliability", &err);
    float *indep = comp ? rlcc__alloc(budget, n, sizeof *indep, "reliability", &err) : NULL;
    float *min_comp = indep ? rlcc__alloc(budget, k_normal, sizeof *min_comp, "reliability", &err) : NULL;
    float *min_indep = min_comp ? rlcc__alloc(budget, k_normal, sizeof *min_indep, "reliability", &err) : NULL;
    int64_t *size = min_indep ? rlcc__calloc(budget, k_normal, sizeof *size, "reliability", &err) : NULL;
    if (size != NULL)
        err = dissimilarity(normal, k_normal, tight, k_tight, n, budget, comp);
    if (size != NULL && err == RLCC_OK)
        err = dissimilarity(normal, k_normal, loose, k_loose, n, budget, indep);
    if (size != NULL && err == RLCC_OK) {
        for (int64_t c = 0; c < k_normal; c++)
            min_comp[c] = min_indep[c] = INFINITY;
        for (int64_t i = 0; i < n; i++) {
            const int32_t c = normal[i];
            size[c]++;
            min_comp[c] = comp[i] < min_comp[c] ? comp[i] : min_comp[c];
            min_indep[c] = indep[i] < min_indep[c] ? indep[i] : min_indep[c];
        }
        if (*threshold < 0.0) {
            /* computed once, at the first generation: element
             * min(m - 1, round_half_even(0.9 m)) of the sorted minima over
             * the m clusters with more than one member; 0 when m == 0 */
            int64_t m = 0;
            for (int64_t c = 0; c < k_normal; c++)
                if (size[c] > 1)
                    comp[m++] = min_indep[c]; /* comp is free again: reuse it */
            qsort(comp, (size_t)m, sizeof *comp, compare_float);
            int64_t at = (int64_t)nearbyint(0.9 * (double)m);
            *threshold = m == 0 ? 0.0 : (double)comp[at < m - 1 ? at : m - 1];
            err = dissimilarity(normal, k_normal, tight, k_tight, n, budget, comp);
        }
    }
    if (size != NULL && err == RLCC_OK) {
        /* size[] becomes the running count of members still in each
         * cluster: the guard never ejects the last one */
        int64_t next = k_normal;
        for (int64_t i = 0; i < n; i++) {
            const int32_t c = normal[i];
            const int keep = (double)min_indep[c] <= *threshold && comp[i] <= min_comp[c];
            if (keep || (guard && size[c] == 1))
                continue;
            size[c]--;
            normal[i] = (int32_t)next++;
        }
        *k_out = next;
    }
    rlcc__free(budget, size, k_normal, sizeof *size);
    rlcc__free(budget, min_indep, k_normal, sizeof *min_indep);
    rlcc__free(budget, min_comp, k_normal, sizeof *min_comp);
    rlcc__free(budget, indep, n, sizeof *indep);
    rlcc__free(budget, comp, n, sizeof *comp);
    return err;
}

/* The runs over a plain metric: one pass over the Gram matrix builds the
 * neighbour graph of every radius (features.c), each then labelled as
 * rlcc_dbscan_features() would label it. */
static int metric_runs(const float *x, int64_t n, int64_t d, int64_t ldx,
                       const rlcc_pseudo_options *opts, rlcc__budget *budget, int32_t *runs,
                       int64_t *k)
{
    rlcc__graph graphs[RLCC_MAX_RADII];
    int64_t redecided = 0;
    int err = rlcc__feature_graphs(x, n, d, ldx, opts->eps, opts->n_eps, opts->metric,
                                   rlcc__resolve_threads(opts->n_threads), budget, graphs,
                                   &redecided);
    if (err != RLCC_OK)
        return err;
    for (int e = 0; e < opts->n_eps; e++) {
        const int slot = opts->n_eps == 1 ? 1 : e; /* runs + n is the normal run */
        if (err == RLCC_OK)
            err = rlcc__dbscan_label(&graphs[e], opts->min_samples, budget, runs + slot * n,
                                     NULL, &k[slot]);
        rlcc__graph_free(&graphs[e], budget);
    }
    return err;
}

/* The runs over a distance graph: DBSCAN at each radius. */
static int graph_runs(int64_t n, const int64_t *indptr, const int32_t *indices, const float *data,
                      const rlcc_pseudo_options *opts, rlcc__budget *budget, int32_t *runs,
                      int64_t *k)
{
    int err = RLCC_OK;
    for (int e = 0; e < opts->n_eps && err == RLCC_OK; e++) {
        const int slot = opts->n_eps == 1 ? 1 : e; /* runs + n is the normal run */
        err = rlcc__dbscan_csr(n, indptr, indices, data, opts->eps[e], opts->min_samples, budget,
                               runs + slot * n, NULL, &k[slot]);
    }
    return err;
}

/* The runs over the Jaccard graph: one distance, DBSCAN at each radius. */
static int jaccard_runs(const float *x, int64_t n, int64_t d, int64_t ldx,
                        const rlcc_pseudo_options *opts, rlcc__budget *budget, int32_t *runs,
                        int64_t *k)
{
    rlcc_jaccard_options jopts;
    jaccard_options_of(opts, &jopts);
    rlcc_csr graph;
    int err = rlcc__jaccard(x, n, d, ldx, opts->knn, &jopts, budget, &graph, NULL, 0);
    if (err != RLCC_OK)
        return err;
    err = graph_runs(n, graph.indptr, graph.indices, graph.data, opts, budget, runs, k);
    rlcc__csr_release(&graph, budget);
    return err;
}

/* The outlier policy and the reliability criterion over the runs (runs[1]
 * the normal one), then the labels; written only on success. */
static int labels_from_runs(int32_t *runs, int64_t *k, int64_t n, const rlcc_pseudo_options *opts,
                            rlcc__budget *budget, int32_t *labels, int64_t *n_classes,
                            double *threshold)
{
    int err = RLCC_OK;
    double used = 0.0;
    if (opts->outliers == RLCC_OUTLIERS_SINGLETON)
        for (int e = 0; e < 3; e++)
            if (opts->n_eps == 3 || e == 1)
                k[e] = singletons(runs + e * n, n, k[e]);
    if (opts->reliability) {
        used = opts->threshold;
        err = reliability(runs + n, k[1], runs, k[0], runs + 2 * n, k[2], n, opts->guard, &used,
                          budget, &k[1]);
    }
    if (err == RLCC_OK) {
        memcpy(labels, runs + n, sizeof *labels * (size_t)n);
        int64_t top = -1;
        for (int64_t i = 0; i < n; i++)
            top = labels[i] > top ? labels[i] : top;
        *n_classes = top + 1;
        *threshold = used;
    }
    return err;
}

/* DBSCAN pseudo labels (RLCC_PSEUDO_DBSCAN): the runs, the outlier policy,
 * the reliability criterion; labels written only on success. */
static int dbscan_labels(const float *x, int64_t n, int64_t d, int64_t ldx,
                         const rlcc_pseudo_options *opts, rlcc__budget *budget, int32_t *labels,
                         int64_t *n_classes, double *threshold)
{
    int err;
    /* runs[1] is the normal run (or the only one) */
    int32_t *runs = rlcc__alloc(budget, 3 * n, sizeof *runs, "labels", &err);
    if (runs == NULL)
        return err;
    int64_t k[3] = {0, 0, 0};
    err = opts->metric == RLCC_METRIC_JACCARD ? jaccard_runs(x, n, d, ldx, opts, budget, runs, k)
                                              : metric_runs(x, n, d, ldx, opts, budget, runs, k);
    if (err == RLCC_OK)
        err = labels_from_runs(runs, k, n, opts, budget, labels, n_classes, threshold);
    rlcc__free(budget, runs, 3 * n, sizeof *runs);
    return err;
}

int rlcc_pseudo_labels_graph(int64_t n, const int64_t *indptr, const int32_t *indices,
                             const float *data, const rlcc_pseudo_options *options,
                             int32_t *labels, int64_t *n_classes, double *threshold)
{
    rlcc__clear_error();
    rlcc_pseudo_options opts;
    /* the Jaccard fields are not read here: checked as a plain metric's
     * (init first: it clears the error detail) */
    rlcc_pseudo_options given;
    rlcc_pseudo_options_init(&given, sizeof given);
    int err = rlcc__check_row_count("n", n);
    if (err == RLCC_OK)
        err = rlcc__read_struct(&given, sizeof given, options, OPTIONS_SIZE_1_2, "options");
    given.metric = RLCC_METRIC_EUCLIDEAN;
    given.knn = NULL;
    if (err == RLCC_OK)
        err = rlcc__check_pseudo_options(&given, n, &opts);
    if (err == RLCC_OK && opts.method != RLCC_PSEUDO_DBSCAN)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "method: %d; a distance graph is labelled by DBSCAN "
                         "(RLCC_PSEUDO_DBSCAN)", (int)opts.method);
    if (err == RLCC_OK)
        err = rlcc__check_csr_structure(n, indptr, indices, data);
    for (int64_t e = 0; err == RLCC_OK && n > 0 && e < indptr[n]; e++)
        if (isnan(data[e]))
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "data: entry %lld is NaN", (long long)e);
    if (err == RLCC_OK && n > 0 && labels == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    if (err == RLCC_OK && n > 0) {
        const rlcc__span outputs[] = {
            rlcc__vector_span("labels", labels, n, sizeof *labels),
            rlcc__vector_span("n_classes", n_classes, 1, sizeof *n_classes),
            rlcc__vector_span("threshold", threshold, 1, sizeof *threshold)};
        const rlcc__span inputs[] = {
            rlcc__vector_span("indptr", indptr, n + 1, sizeof *indptr),
            rlcc__vector_span("indices", indices, indptr[n], sizeof *indices),
            rlcc__vector_span("data", data, indptr[n], sizeof *data)};
        err = rlcc__check_no_overlap(outputs, 3, inputs, 3);
    }
    if (err != RLCC_OK)
        return err;
    int64_t classes = 0;
    double used = 0.0;
    if (n > 0) {
        rlcc__budget budget;
        rlcc__budget_init(&budget, opts.max_bytes);
        int32_t *runs = rlcc__alloc(&budget, 3 * n, sizeof *runs, "labels", &err);
        int64_t k[3] = {0, 0, 0};
        if (runs != NULL)
            err = graph_runs(n, indptr, indices, data, &opts, &budget, runs, k);
        if (runs != NULL && err == RLCC_OK)
            err = labels_from_runs(runs, k, n, &opts, &budget, labels, &classes, &used);
        rlcc__free(&budget, runs, 3 * n, sizeof *runs);
    }
    if (err == RLCC_OK && n_classes != NULL)
        *n_classes = classes;
    if (err == RLCC_OK && threshold != NULL)
        *threshold = used;
    return err;
}

/* The largest label + 1 (0 when every label is -1). */
static int64_t label_count(const int32_t *labels, int64_t n)
{
    int64_t top = -1;
    for (int64_t i = 0; i < n; i++)
        top = labels[i] > top ? labels[i] : top;
    return top + 1;
}

/* InfoMap pseudo labels (RLCC_PSEUDO_INFOMAP): rlcc_infomap_labels() on
 * the caller's lists or librlcc's own, then the outlier policy. */
static int infomap_labels(const float *x, int64_t n, int64_t d, int64_t ldx,
                          const rlcc_pseudo_options *opts, rlcc__budget *budget,
                          int32_t *labels, int64_t *n_classes)
{
    rlcc_infomap_options iopts;
    infomap_options_of(opts, &iopts);
    int err;
    int32_t *found = rlcc__alloc(budget, n, sizeof *found, "labels", &err);
    if (found == NULL)
        return err;
    int64_t k = 0;
    err = rlcc__infomap_labels(x, n, d, ldx, opts->knn, NULL, NULL, &iopts, budget, found, &k,
                               NULL);
    if (err == RLCC_OK && opts->outliers == RLCC_OUTLIERS_SINGLETON)
        k = singletons(found, n, k);
    if (err == RLCC_OK) {
        memcpy(labels, found, sizeof *labels * (size_t)n);
        *n_classes = label_count(labels, n);
    }
    rlcc__free(budget, found, n, sizeof *found);
    return err;
}

/* The rows listed in rows (count of them) copied into a count x d matrix. */
static float *gather_rows(const float *x, int64_t d, int64_t ldx, const int64_t *rows,
                          int64_t count, rlcc__budget *budget, const char *what, int *err)
{
    float *out = rlcc__alloc(budget, count * d, sizeof *out, what, err);
    for (int64_t r = 0; out != NULL && r < count; r++)
        memcpy(out + r * d, x + rows[r] * ldx, sizeof *out * (size_t)d);
    return out;
}

/* k-means pseudo labels (RLCC_PSEUDO_KMEANS), as OpenUnReID's generator
 * runs faiss: train on faiss's subset (every row up to K x max_points),
 * from its start rows or the caller's centroids, then label every row
 * by its nearest final centroid. */
static int kmeans_run(const float *x, int64_t n, int64_t d, int64_t ldx,
                      const rlcc_pseudo_options *opts, rlcc__budget *budget, int32_t *labels,
                      int64_t *n_classes)
{
    const int64_t k = opts->kmeans_k;
    const int64_t cap = rlcc__mul(k, opts->kmeans_max_points);
    const int64_t n_train = cap >= 0 && cap < n ? cap : n; /* cap < 0: overflowed, so > n */
    const int threads = rlcc__resolve_threads(opts->n_threads);
    int err;
    int64_t *start = rlcc__alloc(budget, k, sizeof *start, "k-means start rows", &err);
    int64_t *train = start == NULL || n_train == n
                         ? NULL
                         : rlcc__alloc(budget, n_train, sizeof *train, "k-means training rows",
                                       &err);
    float *centroids = start == NULL || (n_train < n && train == NULL)
                           ? NULL
                           : rlcc__alloc(budget, k * d, sizeof *centroids, "k-means centroids",
                                         &err);
    int32_t *found = centroids == NULL
                         ? NULL
                         : rlcc__alloc(budget, n, sizeof *found, "labels", &err);
    float *subset = NULL, *init = NULL;
    double *norm2 = NULL;
    int64_t got = 0;
    if (found != NULL)
        err = rlcc__kmeans_init_faiss(n, k, opts->kmeans_seed, opts->kmeans_max_points, budget,
                                      start, train, &got);
    if (found != NULL && err == RLCC_OK && train != NULL) /* start rows index x itself */
        subset = gather_rows(x, d, ldx, train, n_train, budget, "k-means training rows", &err);
    const int ok = found != NULL && err == RLCC_OK;
    if (ok && opts->kmeans_init == NULL)
        init = gather_rows(x, d, ldx, start, k, budget, "k-means start centroids", &err);
    const float *from = opts->kmeans_init != NULL ? opts->kmeans_init : init;
    /* the rows k-means trains on, and their squared norms (refusing NaN/Inf) */
    const float *rows = subset != NULL ? subset : x;
    const int64_t ldr = subset != NULL ? d : ldx;
    if (ok && err == RLCC_OK)
        norm2 = rlcc__alloc(budget, n_train, sizeof *norm2, "row norms", &err);
    if (norm2 != NULL)
        err = rlcc__row_norms("x", rows, n_train, d, ldr, threads, norm2);
    if (norm2 != NULL && err == RLCC_OK)
        err = rlcc__kmeans(rows, n_train, d, ldr, norm2, from, k, d, opts->kmeans_max_iter,
                           opts->kmeans_tol, threads, budget, centroids, d, found, NULL, NULL);
    if (norm2 != NULL && err == RLCC_OK && subset != NULL) /* every row to its nearest final centroid */
        err = rlcc__kmeans_assign(x, n, d, ldx, centroids, k, d, threads, budget, found);
    if (ok && err == RLCC_OK) {
        memcpy(labels, found, sizeof *labels * (size_t)n);
        *n_classes = label_count(labels, n);
    }
    rlcc__free(budget, norm2, norm2 != NULL ? n_train : 0, sizeof *norm2);
    rlcc__free(budget, init, init != NULL ? k * d : 0, sizeof *init);
    rlcc__free(budget, subset, subset != NULL ? n_train * d : 0, sizeof *subset);
    rlcc__free(budget, found, found != NULL ? n : 0, sizeof *found);
    rlcc__free(budget, centroids, centroids != NULL ? k * d : 0, sizeof *centroids);
    rlcc__free(budget, train, train != NULL ? n_train : 0, sizeof *train);
    rlcc__free(budget, start, start != NULL ? k : 0, sizeof *start);
    return err;
}

/* normalize: OpenUnReID clusters L2-normalised features */
static int kmeans_labels(const float *x, int64_t n, int64_t d, int64_t ldx,
                         const rlcc_pseudo_options *opts, rlcc__budget *budget, int32_t *labels,
                         int64_t *n_classes)
{
    if (!opts->normalize)
        return kmeans_run(x, n, d, ldx, opts, budget, labels, n_classes);
    int err;
    float *unit = rlcc__normalized_copy("x", x, n, d, ldx,
                                        rlcc__resolve_threads(opts->n_threads), budget, &err);
    if (unit == NULL)
        return err;
    err = kmeans_run(unit, n, d, d, opts, budget, labels, n_classes);
    rlcc__free(budget, unit, n * d, sizeof *unit);
    return err;
}

int rlcc__pseudo_labels(const float *x, int64_t n, int64_t d, int64_t ldx,
                        const rlcc_pseudo_options *opts, rlcc__budget *budget, int32_t *labels,
                        int64_t *n_classes, double *threshold)
{
    *threshold = 0.0;
    if (n == 0) {
        *n_classes = 0;
        return RLCC_OK;
    }
    switch (opts->method) { /* the pseudo-labeler slot: one case per method */
    case RLCC_PSEUDO_INFOMAP:
        return infomap_labels(x, n, d, ldx, opts, budget, labels, n_classes);
    case RLCC_PSEUDO_KMEANS:
        return kmeans_labels(x, n, d, ldx, opts, budget, labels, n_classes);
    case RLCC_PSEUDO_DBSCAN:
    default:
        return dbscan_labels(x, n, d, ldx, opts, budget, labels, n_classes, threshold);
    }
}

int rlcc_pseudo_labels(const float *x, int64_t n, int64_t d, int64_t ldx,
                       const rlcc_pseudo_options *options, int32_t *labels,
                       int64_t *n_classes, double *threshold)
{
    rlcc__clear_error();
    rlcc_pseudo_options opts;
    int err = rlcc__check_matrix("x", x, n, d, ldx);
    if (err == RLCC_OK)
        err = rlcc__check_pseudo_options(options, n, &opts);
    if (err == RLCC_OK && n > 0 && labels == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    const int64_t knn_width = err == RLCC_OK ? rlcc__pseudo_knn_width(&opts) : 0;
    if (err == RLCC_OK) {
        const rlcc__span outputs[] = {
            rlcc__vector_span("labels", labels, n, sizeof *labels),
            rlcc__vector_span("n_classes", n_classes, 1, sizeof *n_classes),
            rlcc__vector_span("threshold", threshold, 1, sizeof *threshold)};
        const rlcc__span inputs[] = {
            rlcc__matrix_span("x", x, n, d, ldx, sizeof *x),
            rlcc__matrix_span("options.knn", opts.knn, n, knn_width, knn_width,
                              sizeof *opts.knn),
            rlcc__matrix_span("options.kmeans_init", opts.kmeans_init, opts.kmeans_k, d, d,
                              sizeof *opts.kmeans_init)};
        err = rlcc__check_no_overlap(outputs, 3, inputs, 3);
    }
    if (err == RLCC_OK && opts.kmeans_init != NULL)
        err = rlcc__check_finite("options.kmeans_init", opts.kmeans_init, opts.kmeans_k, d, d);
    if (err != RLCC_OK)
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    if (n > 0 && opts.knn != NULL)
        err = rlcc__check_knn_lists(opts.knn, n, knn_width, &budget);
    int64_t classes = 0;
    double used = 0.0;
    if (err == RLCC_OK)
        err = rlcc__pseudo_labels(x, n, d, ldx, &opts, &budget, labels, &classes, &used);
    if (err == RLCC_OK && n_classes != NULL)
        *n_classes = classes;
    if (err == RLCC_OK && threshold != NULL)
        *threshold = used;
    return err;
}

/* Columns a centroid task sums: a slice of d, so threads never share an
 * output element and every element still adds its samples in index order
 * (the trainers' float32 mean), whatever the thread count. */
#define CENTROID_COLUMNS 64

int rlcc__centroids(const float *x, int64_t n, int64_t d, int64_t ldx, const int32_t *labels,
                    int64_t k, int n_threads, rlcc__budget *budget, float *centroids,
                    int64_t ldc)
{
    return rlcc__centroids_norm(x, n, d, ldx, labels, k, RLCC_CENTROID_NORM_DOUBLE, n_threads,
                                budget, centroids, ldc);
}

int rlcc__centroids_norm(const float *x, int64_t n, int64_t d, int64_t ldx,
                         const int32_t *labels, int64_t k, int32_t norm, int n_threads,
                         rlcc__budget *budget, float *centroids, int64_t ldc)
{
    int err;
    int64_t *count = rlcc__calloc(budget, k, sizeof *count, "class sizes", &err);
    if (count == NULL)
        return err;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] >= 0)
            count[labels[i]]++;
    const int64_t n_slices = (d + CENTROID_COLUMNS - 1) / CENTROID_COLUMNS;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
    for (int64_t slice = 0; slice < n_slices; slice++) {
        const int64_t j0 = slice * CENTROID_COLUMNS;
        const int64_t j1 = j0 + CENTROID_COLUMNS < d ? j0 + CENTROID_COLUMNS : d;
        for (int64_t c = 0; c < k; c++)
            memset(centroids + c * ldc + j0, 0, sizeof(float) * (size_t)(j1 - j0));
        for (int64_t i = 0; i < n; i++) {
            if (labels[i] < 0)
                continue;
            float *row = centroids + (int64_t)labels[i] * ldc;
            const float *xi = x + i * ldx;
            for (int64_t j = j0; j < j1; j++)
                row[j] += xi[j];
        }
    }
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
    for (int64_t c = 0; c < k; c++) {
        float *row = centroids + c * ldc;
        double sum = 0.0;
        for (int64_t j = 0; j < d; j++) {
            row[j] = count[c] > 0 ? row[j] / (float)count[c] : 0.0f;
            sum += (double)row[j] * (double)row[j];
        }
        if (norm == RLCC_CENTROID_NORM_FLOAT32) {
            /* CAP's and ICE's m / np.linalg.norm(m, axis=1, keepdims=True):
             * the float32 squares summed by NumPy's pairwise add.reduce
             * along the row (no BLAS), sqrtf, a float32 divide. A mean
             * whose float32 norm is 0 (zero, or squares that underflow)
             * becomes zero, where NumPy gives NaN or Inf. */
            const float norm32 = sqrtf(rlcc__pairwise_sumsq_f32(row, d));
            for (int64_t j = 0; j < d; j++)
                row[j] = norm32 > 0.0f ? row[j] / norm32 : 0.0f;
            continue;
        }
        const double scale = sum > 0.0 ? 1.0 / sqrt(sum) : 0.0;
        for (int64_t j = 0; j < d; j++)
            row[j] = (float)(row[j] * scale);
    }
    rlcc__free(budget, count, k, sizeof *count);
    return RLCC_OK;
}

#define CENTROID_OPTIONS_SIZE_1_4 (offsetof(rlcc_centroid_options, max_bytes) + sizeof(int64_t))

int rlcc_centroid_options_init(rlcc_centroid_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_centroid_options defaults = {.struct_size = sizeof defaults};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             CENTROID_OPTIONS_SIZE_1_4, "options");
}

int rlcc_centroids_opts(const float *x, int64_t n, int64_t d, int64_t ldx, const int32_t *labels,
                        int64_t k, const rlcc_centroid_options *options, float *centroids,
                        int64_t ldc)
{
    rlcc__clear_error();
    rlcc_centroid_options opts;
    rlcc_centroid_options_init(&opts, sizeof opts);
    int64_t classes = k;
    int err = rlcc__read_struct(&opts, sizeof opts, options, CENTROID_OPTIONS_SIZE_1_4, "options");
    if (err == RLCC_OK)
        err = rlcc__check_threads(opts.n_threads);
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", opts.reserved);
    if (err == RLCC_OK && opts.norm != RLCC_CENTROID_NORM_DOUBLE &&
        opts.norm != RLCC_CENTROID_NORM_FLOAT32)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "options.norm: %d is neither RLCC_CENTROID_NORM_DOUBLE (0) nor "
                         "RLCC_CENTROID_NORM_FLOAT32 (1)",
                         (int)opts.norm);
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved2", opts.reserved2);
    if (err == RLCC_OK)
        err = rlcc__check_max_bytes(opts.max_bytes);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("x", x, n, d, ldx);
    if (err == RLCC_OK && k < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld must be >= 1", (long long)k);
    if (err == RLCC_OK)
        err = rlcc__check_labels("labels", labels, n, &classes);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("centroids", centroids, k, d, ldc);
    if (err == RLCC_OK) {
        const rlcc__span output = rlcc__matrix_span("centroids", centroids, k, d, ldc, sizeof *centroids);
        const rlcc__span inputs[] = {rlcc__matrix_span("x", x, n, d, ldx, sizeof *x),
                                     rlcc__vector_span("labels", labels, n, sizeof *labels)};
        err = rlcc__check_no_overlap(&output, 1, inputs, 2);
    }
    if (err != RLCC_OK)
        return err;
    const int n_threads = rlcc__resolve_threads(opts.n_threads);
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    /* the rows' values are checked (NaN, Inf) before any output is written */
    double *norm2 = rlcc__alloc(&budget, n > 0 ? n : 1, sizeof *norm2, "row norms", &err);
    if (norm2 != NULL)
        err = rlcc__row_norms("x", x, n, d, ldx, n_threads, norm2);
    if (norm2 != NULL && err == RLCC_OK)
        err = rlcc__centroids_norm(x, n, d, ldx, labels, k, opts.norm, n_threads, &budget,
                                   centroids, ldc);
    rlcc__free(&budget, norm2, n > 0 ? n : 1, sizeof *norm2);
    return err;
}

int rlcc_centroids(const float *x, int64_t n, int64_t d, int64_t ldx, const int32_t *labels,
                   int64_t k, float *centroids, int64_t ldc)
{
    return rlcc_centroids_opts(x, n, d, ldx, labels, k, NULL, centroids, ldc);
}
