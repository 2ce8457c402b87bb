/*
 * infomap.c - InfoMap pseudo labels (Cluster Contrast; spec:
 * later-methods.md section 2): the kNN lists, the directed links, the
 * partition (librlcc's search, infomap_search.c, or the caller's), the
 * labels by module flow. The flow and the codelength are flow.c's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define INFOMAP_OPTIONS_SIZE_1_7 (offsetof(rlcc_infomap_options, max_bytes) + sizeof(int64_t))
/* A unit row's norm may differ from 1 by this much (as Jaccard's DOT). */
#define UNIT_TOLERANCE 1e-3

int rlcc_infomap_options_init(rlcc_infomap_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_infomap_options defaults = {
        .struct_size = sizeof defaults, .k = 15, .cluster_num = 4, .min_sim = 0.5,
        .seed = 123, .trials = 1,
    };
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             INFOMAP_OPTIONS_SIZE_1_7, "options");
}

static int read_options(const rlcc_infomap_options *options, int64_t n,
                        rlcc_infomap_options *opts)
{
    rlcc_infomap_options_init(opts, sizeof *opts);
    int err = rlcc__read_struct(opts, sizeof *opts, options, INFOMAP_OPTIONS_SIZE_1_7, "options");
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", opts->reserved);
    if (err == RLCC_OK)
        err = rlcc__check_resources(opts->n_threads, opts->max_bytes);
    if (err == RLCC_OK && (opts->k < 1 || (n > 0 && opts->k > n)))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.k: %d must be in [1, n = %lld]",
                         (int)opts->k, (long long)n);
    if (err == RLCC_OK && opts->cluster_num < 0)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.cluster_num: %d must be >= 0",
                         (int)opts->cluster_num);
    if (err == RLCC_OK && !(opts->min_sim >= -1.0 && opts->min_sim <= 1.0))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.min_sim: %g must be in [-1, 1]",
                         opts->min_sim);
    if (err == RLCC_OK && opts->trials < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.trials: %d must be >= 1",
                         (int)opts->trials);
    if (err == RLCC_OK && opts->normalize != 0 && opts->normalize != 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.normalize: %d must be 0 or 1",
                         (int)opts->normalize);
    return err;
}

/* The caller's lists: indices in range without repeats, distances not NaN
 * and ascending along each row. */
static int check_lists(const int64_t *knn, const float *knn_dist, int64_t n, int64_t k,
                       rlcc__budget *budget)
{
    int err = rlcc__check_knn_lists(knn, n, k, budget);
    for (int64_t i = 0; err == RLCC_OK && i < n; i++)
        for (int64_t r = 0; r < k; r++) {
            const float v = knn_dist[i * k + r];
            if (isnan(v))
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                  "knn_dist: entry %lld of row %lld is NaN", (long long)r,
                                  (long long)i);
            if (r > 0 && v < knn_dist[i * k + r - 1])
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                  "knn_dist: row %lld is not ascending at entry %lld (%g < %g)",
                                  (long long)i, (long long)r, (double)v,
                                  (double)knn_dist[i * k + r - 1]);
        }
    return err;
}

/* Validation shared by rlcc_infomap_labels() and rlcc_infomap_links(). */
static int check_inputs(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                        const float *knn_dist, const rlcc_infomap_options *options,
                        rlcc_infomap_options *opts)
{
    int err = rlcc__check_row_count("n", n);
    if (err == RLCC_OK)
        err = read_options(options, n, opts);
    if (err == RLCC_OK && knn == NULL && knn_dist != NULL && n > 0)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "knn_dist: given without knn (the distances of which lists?)");
    if (err == RLCC_OK && (knn_dist == NULL || x != NULL))
        err = rlcc__check_matrix("x", x, n, d, ldx);
    if (err == RLCC_OK && knn != NULL && rlcc__mul(n, opts->k) < 0)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "knn: n x k overflows");
    return err;
}

/* The kNN lists (n x k indices and float32 distances) of the rows, or the
 * caller's; then the links into src/dst/w (room for n k). */
typedef struct lists {
    int64_t n, k;
    int32_t *own_idx; /* librlcc's lists, or NULL */
    float *own_dist;
    const int64_t *knn;
    const float *dist;
} lists;

/* Caller lists without distances: each entry's squared distance as
 * rlcc_knn() decides and rounds it (rlcc__sqdist_fixed, to float32), each
 * row then sorted by (distance, index), the order of librlcc's own lists.
 * k is small (a kNN list): an insertion sort. */
static int entry_before(float da, int32_t ia, float db, int32_t ib)
{
    return da < db || (da == db && ia < ib);
}

static void caller_lists_from_rows(const float *x, int64_t n, int64_t d, int64_t ldx,
                                   const int64_t *knn, int64_t k, int32_t *idx, float *dist)
{
    for (int64_t i = 0; i < n; i++) {
        int32_t *ri = idx + i * k;
        float *rd = dist + i * k;
        for (int64_t r = 0; r < k; r++) {
            const int64_t j = knn[i * k + r];
            const float dj = (float)rlcc__sqdist_fixed(x + i * ldx, x + j * ldx, d);
            int64_t q = r;
            while (q > 0 && entry_before(dj, (int32_t)j, rd[q - 1], ri[q - 1])) {
                rd[q] = rd[q - 1];
                ri[q] = ri[q - 1];
                q--;
            }
            rd[q] = dj;
            ri[q] = (int32_t)j;
        }
    }
}

static int make_lists(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                      const float *knn_dist, const rlcc_infomap_options *opts,
                      rlcc__budget *budget, lists *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->k = opts->k;
    if (knn != NULL && knn_dist != NULL) {
        out->knn = knn;
        out->dist = knn_dist;
        return check_lists(knn, knn_dist, n, opts->k, budget);
    }
    const int n_threads = rlcc__resolve_threads(opts->n_threads);
    int err = knn != NULL ? rlcc__check_knn_lists(knn, n, opts->k, budget) : RLCC_OK;
    if (err != RLCC_OK)
        return err;
    double *norm2 = rlcc__alloc(budget, n, sizeof *norm2, "row norms", &err);
    if (norm2 == NULL)
        return err;
    float *copy = NULL;
    err = rlcc__row_norms("x", x, n, d, ldx, n_threads, norm2);
    for (int64_t i = 0; err == RLCC_OK && i < n; i++) {
        if (opts->normalize && !(norm2[i] > 0.0))
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "x: row %lld is all zeros and cannot be normalised", (long long)i);
        else if (!opts->normalize && fabs(sqrt(norm2[i]) - 1.0) > UNIT_TOLERANCE)
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "x: row %lld has norm %g, not 1 within %g (set normalize = 1 to "
                             "normalise the rows)",
                             (long long)i, sqrt(norm2[i]), UNIT_TOLERANCE);
    }
    if (err == RLCC_OK && opts->normalize) {
        copy = rlcc__alloc(budget, rlcc__mul(n, d), sizeof *copy, "normalised rows", &err);
        if (copy != NULL) {
            rlcc__normalize_rows(x, n, d, ldx, norm2, copy, norm2);
            x = copy;
            ldx = d;
        }
    }
    if (err == RLCC_OK)
        out->own_idx = rlcc__alloc(budget, n * out->k, sizeof *out->own_idx, "kNN lists", &err);
    if (out->own_idx != NULL)
        out->own_dist = rlcc__alloc(budget, n * out->k, sizeof *out->own_dist, "kNN lists", &err);
    if (out->own_dist != NULL && knn != NULL)
        caller_lists_from_rows(x, n, d, ldx, knn, out->k, out->own_idx, out->own_dist);
    else if (out->own_dist != NULL)
        err = rlcc__knn(x, n, d, ldx, norm2, out->k, n_threads, budget, out->own_idx,
                        out->own_dist);
    if (err == RLCC_OK)
        for (int64_t e = 0; e < n * out->k; e++)
            out->own_dist[e] = out->own_dist[e] / 2.0f;
    rlcc__free(budget, copy, copy ? n * d : 0, sizeof *copy);
    rlcc__free(budget, norm2, n, sizeof *norm2);
    if (err == RLCC_OK)
        out->dist = out->own_dist;
    return err;
}

static void lists_free(lists *l, rlcc__budget *budget)
{
    rlcc__free(budget, l->own_dist, l->own_dist ? l->n * l->k : 0, sizeof *l->own_dist);
    rlcc__free(budget, l->own_idx, l->own_idx ? l->n * l->k : 0, sizeof *l->own_idx);
}

/* Spec step 2: i ascending, its row in order, j == i skipped; links while
 * double(dist) <= 1 - min_sim (and the weight 1 - dist > 0); returns the
 * count. */
static int64_t make_links(const lists *l, double min_sim, int64_t *src, int64_t *dst, double *w)
{
    const double limit = 1.0 - min_sim;
    int64_t m = 0;
    for (int64_t i = 0; i < l->n; i++)
        for (int64_t r = 0; r < l->k; r++) {
            const int64_t j = l->own_idx ? l->own_idx[i * l->k + r] : l->knn[i * l->k + r];
            if (j == i)
                continue;
            const double dist = (double)l->dist[i * l->k + r];
            const double weight = 1.0 - dist;
            if (!(dist <= limit) || !(weight > 0.0))
                break;
            src[m] = i;
            dst[m] = j;
            w[m] = weight;
            m++;
        }
    return m;
}

typedef struct module_key {
    double flow;
    int64_t first; /* smallest member (sample index) */
    int64_t m;
} module_key;

static int by_flow(const void *a, const void *b)
{
    const module_key *p = a, *q = b;
    if (p->flow != q->flow)
        return p->flow > q->flow ? -1 : 1;
    return (p->first > q->first) - (p->first < q->first);
}

/* Spec step 4 from the partition of the network. */
static int make_labels(const rlcc__flow_net *net, int64_t n, const int32_t *mod_of,
                       const double *module_flow, int64_t M, int32_t cluster_num,
                       rlcc__budget *budget, int32_t *labels, int64_t *n_classes)
{
    int err;
    module_key *keys = rlcc__alloc(budget, M > 0 ? M : 1, sizeof *keys, "module order", &err);
    int64_t *rank = keys ? rlcc__alloc(budget, M > 0 ? M : 1, sizeof *rank, "module order", &err) : NULL;
    int64_t *label0 = rank ? rlcc__alloc(budget, n, sizeof *label0, "labels", &err) : NULL;
    int64_t *count = label0 ? rlcc__calloc(budget, n, sizeof *count, "labels", &err) : NULL;
    if (count == NULL)
        goto done;
    err = RLCC_OK;
    for (int64_t m = 0; m < M; m++) {
        keys[m].flow = module_flow[m];
        keys[m].first = -1;
        keys[m].m = m;
    }
    for (int64_t u = 0; u < net->n; u++)
        if (keys[mod_of[u]].first < 0)
            keys[mod_of[u]].first = net->id[u];
    qsort(keys, (size_t)M, sizeof *keys, by_flow);
    for (int64_t r = 0; r < M; r++)
        rank[keys[r].m] = r;
    for (int64_t i = 0; i < n; i++)
        label0[i] = -1;
    for (int64_t u = 0; u < net->n; u++)
        label0[net->id[u]] = rank[mod_of[u]];
    int64_t next = M;
    for (int64_t i = 0; i < n; i++)
        if (label0[i] < 0)
            label0[i] = next++;
    /* next <= n: every label has a member */
    for (int64_t i = 0; i < n; i++)
        count[label0[i]]++;
    int64_t classes = 0;
    for (int64_t c = 0; c < next; c++)
        count[c] = count[c] > cluster_num ? classes++ : -1;
    for (int64_t i = 0; i < n; i++)
        labels[i] = (int32_t)count[label0[i]];
    if (n_classes != NULL)
        *n_classes = classes;
done:
    rlcc__free(budget, count, n, sizeof *count);
    rlcc__free(budget, label0, n, sizeof *label0);
    rlcc__free(budget, rank, M > 0 ? M : 1, sizeof *rank);
    rlcc__free(budget, keys, M > 0 ? M : 1, sizeof *keys);
    return err;
}

int rlcc_infomap_labels(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                        const float *knn_dist, const int32_t *modules,
                        const rlcc_infomap_options *options, int32_t *labels,
                        int64_t *n_classes, double *codelength)
{
    rlcc__clear_error();
    rlcc_infomap_options opts;
    int err = check_inputs(x, n, d, ldx, knn, knn_dist, options, &opts);
    if (err == RLCC_OK && n > 0 && labels == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    for (int64_t i = 0; err == RLCC_OK && modules != NULL && i < n; i++)
        if (modules[i] < 0)
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "modules: sample %lld has module %d, not >= 0", (long long)i,
                             (int)modules[i]);
    if (err == RLCC_OK && n > 0) {
        const rlcc__span output = rlcc__vector_span("labels", labels, n, sizeof *labels);
        const int64_t nk = knn != NULL ? n * opts.k : 0;
        const rlcc__span inputs[] = {
            rlcc__matrix_span("x", x, x != NULL ? n : 0, d, ldx, sizeof *x),
            rlcc__vector_span("knn", knn, nk, sizeof *knn),
            rlcc__vector_span("knn_dist", knn_dist, nk, sizeof *knn_dist),
            rlcc__vector_span("modules", modules, modules ? n : 0, sizeof *modules)};
        err = rlcc__check_no_overlap(&output, 1, inputs, 4);
    }
    if (err != RLCC_OK)
        return err;
    if (n == 0) {
        if (n_classes != NULL)
            *n_classes = 0;
        if (codelength != NULL)
            *codelength = 0.0;
        return RLCC_OK;
    }
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    return rlcc__infomap_labels(x, n, d, ldx, knn, knn_dist, modules, &opts, &budget, labels,
                                n_classes, codelength);
}

int rlcc__infomap_labels(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                         const float *knn_dist, const int32_t *modules,
                         const rlcc_infomap_options *options, rlcc__budget *budget,
                         int32_t *labels, int64_t *n_classes, double *codelength)
{
    const rlcc_infomap_options opts = *options;
    lists l;
    int err = make_lists(x, n, d, ldx, knn, knn_dist, &opts, budget, &l);
    const int64_t cap = n * opts.k;
    int64_t *src = NULL, *dst = NULL;
    double *w = NULL;
    int32_t *mods = NULL, *mod_of = NULL;
    double *mflow = NULL;
    rlcc__flow_net net = {0};
    int have_net = 0;
    if (err == RLCC_OK)
        src = rlcc__alloc(budget, cap, sizeof *src, "links", &err);
    if (src != NULL)
        dst = rlcc__alloc(budget, cap, sizeof *dst, "links", &err);
    if (dst != NULL)
        w = rlcc__alloc(budget, cap, sizeof *w, "links", &err);
    if (w != NULL) {
        const int64_t n_links = make_links(&l, opts.min_sim, src, dst, w);
        lists_free(&l, budget);
        memset(&l, 0, sizeof l);
        err = rlcc__flow_net_build(n, src, dst, w, n_links, budget, &net);
        have_net = err == RLCC_OK;
    }
    const int64_t nn = have_net && net.n > 0 ? net.n : 1;
    if (have_net)
        mod_of = rlcc__alloc(budget, nn, sizeof *mod_of, "modules", &err);
    if (mod_of != NULL)
        mflow = rlcc__alloc(budget, nn, sizeof *mflow, "module flow", &err);
    if (mflow != NULL && modules == NULL) {
        mods = rlcc__calloc(budget, n, sizeof *mods, "modules", &err);
        if (mods != NULL)
            err = rlcc__infomap_search(&net, opts.seed, opts.trials, budget, mod_of);
        if (mods != NULL && err == RLCC_OK)
            for (int64_t u = 0; u < net.n; u++)
                mods[net.id[u]] = mod_of[u];
    }
    if (mflow != NULL && err == RLCC_OK) {
        double L = 0.0;
        int64_t M = 0;
        err = rlcc__map_codelength(&net, modules != NULL ? modules : mods, budget, &L, mod_of,
                                   mflow, &M);
        if (err == RLCC_OK)
            err = make_labels(&net, n, mod_of, mflow, M, opts.cluster_num, budget, labels,
                              n_classes);
        if (err == RLCC_OK && codelength != NULL)
            *codelength = L;
    }
    rlcc__free(budget, mods, mods ? n : 0, sizeof *mods);
    rlcc__free(budget, mflow, nn, sizeof *mflow);
    rlcc__free(budget, mod_of, nn, sizeof *mod_of);
    if (have_net)
        rlcc__flow_net_free(&net, budget);
    rlcc__free(budget, w, cap, sizeof *w);
    rlcc__free(budget, dst, cap, sizeof *dst);
    rlcc__free(budget, src, cap, sizeof *src);
    lists_free(&l, budget);
    return err;
}

int rlcc_infomap_links(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                       const float *knn_dist, const rlcc_infomap_options *options, int64_t *src,
                       int64_t *dst, double *weight, int64_t *n_links)
{
    rlcc__clear_error();
    rlcc_infomap_options opts;
    int err = check_inputs(x, n, d, ldx, knn, knn_dist, options, &opts);
    if (err == RLCC_OK && n_links == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_links: is NULL");
    if (err == RLCC_OK && n > 0 && (src == NULL || dst == NULL || weight == NULL))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: is NULL",
                         src == NULL ? "src" : dst == NULL ? "dst" : "weight");
    if (err == RLCC_OK && n > 0) {
        const int64_t cap = n * opts.k, nk = knn != NULL ? cap : 0;
        const rlcc__span outputs[] = {rlcc__vector_span("src", src, cap, sizeof *src),
                                      rlcc__vector_span("dst", dst, cap, sizeof *dst),
                                      rlcc__vector_span("weight", weight, cap, sizeof *weight)};
        const rlcc__span inputs[] = {
            rlcc__matrix_span("x", x, x != NULL ? n : 0, d, ldx, sizeof *x),
            rlcc__vector_span("knn", knn, nk, sizeof *knn),
            rlcc__vector_span("knn_dist", knn_dist, nk, sizeof *knn_dist)};
        err = rlcc__check_no_overlap(outputs, 3, inputs, 3);
    }
    if (err != RLCC_OK)
        return err;
    if (n == 0) {
        *n_links = 0;
        return RLCC_OK;
    }
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    lists l;
    err = make_lists(x, n, d, ldx, knn, knn_dist, &opts, &budget, &l);
    if (err == RLCC_OK)
        *n_links = make_links(&l, opts.min_sim, src, dst, weight);
    lists_free(&l, &budget);
    return err;
}
