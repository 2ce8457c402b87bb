/*
 * reference.c - the C results every binding's tests compare against.
 *
 *   rlcc-reference FIXTURE_DIR OUT_DIR
 *
 * Reads the committed fixture (reid_gen0.npy, reid_gen1.npy: 120 x 32
 * float32), calls every computing function of librlcc with fixed arguments
 * and writes each input and output as a raw little-endian file
 * OUT_DIR/NAME.{f32,f64,i32,i64}. The Python, Rust and Go tests make the same
 * calls through their binding and require identical bits. The arguments
 * here are the contract those tests repeat: change them together.
 *
 * Also written: the size and field offsets of every options struct as this
 * C compiler lays them out (layout_NAME.i64: sizeof, then each field's
 * offsetof in the header's order), which the Rust tests hold their
 * #[repr(C)] declarations to; and the refiner's rlcc_refiner_bytes() after
 * the same two generations stepped through the callback, through
 * rlcc_refiner_step_matrix() copying, and borrowing (1.4).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "rlcc.h"

static const char *out_dir;
static int failures;

static void dump(const char *name, const char *ext, const void *data, size_t count, size_t size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s", out_dir, name, ext);
    FILE *file = fopen(path, "wb");
    if (file == NULL || fwrite(data, size, count, file) != count) {
        fprintf(stderr, "cannot write %s\n", path);
        failures++;
    }
    if (file != NULL)
        fclose(file);
}

#define DUMP_F32(name, p, n) dump(name, "f32", p, (size_t)(n), sizeof(float))
#define DUMP_F64(name, p, n) dump(name, "f64", p, (size_t)(n), sizeof(double))
#define DUMP_I32(name, p, n) dump(name, "i32", p, (size_t)(n), sizeof(int32_t))
#define DUMP_I64(name, p, n) dump(name, "i64", p, (size_t)(n), sizeof(int64_t))

static void ok(int code, const char *what)
{
    if (code != RLCC_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, rlcc_strerror(code), rlcc_last_error());
        failures++;
    }
}

static float *load(const char *dir, const char *file, int64_t *n, int64_t *d)
{
    char path[1024], error[256];
    npy_array a;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (npy_read(path, &a, error, sizeof error) != 0 || npy_as_float32(&a, error, sizeof error) != 0) {
        fprintf(stderr, "%s: %s\n", path, error);
        exit(1);
    }
    *n = a.rows, *d = a.cols;
    return a.data;
}

/* DBSCAN through one entry point: labels, core flags as int32, cluster count. */
static void dump_dbscan(const char *name, int code, const int32_t *labels, const uint8_t *core,
                        int64_t n, int64_t clusters)
{
    char key[64];
    int32_t *core32 = malloc((size_t)n * sizeof *core32);
    ok(code, name);
    for (int64_t i = 0; i < n; i++)
        core32[i] = core[i];
    snprintf(key, sizeof key, "%s_labels", name);
    DUMP_I32(key, labels, n);
    snprintf(key, sizeof key, "%s_core", name);
    DUMP_I32(key, core32, n);
    snprintf(key, sizeof key, "%s_clusters", name);
    DUMP_I64(key, &clusters, 1);
    free(core32);
}

typedef struct matrix {
    const float *x;
    int64_t d;
} matrix;

/* rlcc_features_fn over a matrix in memory. */
static int64_t copy_rows(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    const matrix *m = data;
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, m->x + (start + i) * m->d, (size_t)m->d * sizeof(float));
    return count;
}

/* layout_NAME.i64: sizeof, then the offsets given. */
static void dump_layout(const char *name, size_t size, const size_t *offsets, size_t count)
{
    char key[64];
    int64_t values[32];
    values[0] = (int64_t)size;
    for (size_t i = 0; i < count && i < 31; i++)
        values[i + 1] = (int64_t)offsets[i];
    snprintf(key, sizeof key, "layout_%s", name);
    DUMP_I64(key, values, count + 1);
}

#define LAYOUT(type, ...)                                                                     \
    do {                                                                                      \
        const size_t offsets[] = {__VA_ARGS__};                                               \
        dump_layout(#type, sizeof(rlcc_##type), offsets, sizeof offsets / sizeof offsets[0]); \
    } while (0)
#define AT(type, field) offsetof(rlcc_##type, field)

static void dump_layouts(void)
{
    LAYOUT(pseudo_options, AT(pseudo_options, struct_size), AT(pseudo_options, metric),
           AT(pseudo_options, k1), AT(pseudo_options, k2), AT(pseudo_options, variant),
           AT(pseudo_options, normalize), AT(pseudo_options, outliers),
           AT(pseudo_options, reliability), AT(pseudo_options, guard),
           AT(pseudo_options, n_threads), AT(pseudo_options, n_eps), AT(pseudo_options, cutoff),
           AT(pseudo_options, reserved), AT(pseudo_options, eps), AT(pseudo_options, threshold),
           AT(pseudo_options, min_samples), AT(pseudo_options, max_bytes),
           AT(pseudo_options, knn), AT(pseudo_options, method), AT(pseudo_options, reserved2));
    LAYOUT(dbscan_options, AT(dbscan_options, struct_size), AT(dbscan_options, metric),
           AT(dbscan_options, n_threads), AT(dbscan_options, max_bytes),
           AT(dbscan_options, algorithm), AT(dbscan_options, reserved));
    LAYOUT(centroid_options, AT(centroid_options, struct_size), AT(centroid_options, n_threads),
           AT(centroid_options, reserved), AT(centroid_options, max_bytes),
           AT(centroid_options, norm), AT(centroid_options, reserved2));
    LAYOUT(consensus_options, AT(consensus_options, struct_size), AT(consensus_options, kind),
           AT(consensus_options, normalize), AT(consensus_options, n_threads),
           AT(consensus_options, reserved), AT(consensus_options, max_bytes));
    LAYOUT(probability_options, AT(probability_options, struct_size),
           AT(probability_options, scale), AT(probability_options, n_threads),
           AT(probability_options, max_bytes));
    LAYOUT(propagate_options, AT(propagate_options, struct_size), AT(propagate_options, w),
           AT(propagate_options, beta), AT(propagate_options, n_threads),
           AT(propagate_options, reserved), AT(propagate_options, max_bytes));
    LAYOUT(blend_options, AT(blend_options, struct_size), AT(blend_options, alpha),
           AT(blend_options, n_threads), AT(blend_options, max_bytes));
    LAYOUT(step_options, AT(step_options, struct_size), AT(step_options, batch),
           AT(step_options, logits), AT(step_options, logits_data), AT(step_options, progress),
           AT(step_options, progress_data), AT(step_options, borrow),
           AT(step_options, n_threads), AT(step_options, max_bytes));
    LAYOUT(targets_options, AT(targets_options, struct_size), AT(targets_options, n_threads),
           AT(targets_options, reserved), AT(targets_options, max_bytes));
    LAYOUT(load_options, AT(load_options, struct_size), AT(load_options, n_threads),
           AT(load_options, reserved), AT(load_options, max_bytes));
}

/* 1 when two refiners hold the same generation: labels, centroids and
 * every target, bit for bit. */
static int same_refiners(const rlcc_refiner *a, const rlcc_refiner *b, int64_t n, int64_t d)
{
    const int64_t k = rlcc_refiner_n_classes(a);
    if (k != rlcc_refiner_n_classes(b) || k < 1)
        return 0;
    const size_t cells = (size_t)(n * (k > d ? k : d));
    int32_t *la = malloc((size_t)n * sizeof *la), *lb = malloc((size_t)n * sizeof *lb);
    float *fa = malloc(cells * sizeof *fa), *fb = malloc(cells * sizeof *fb);
    int same = la != NULL && lb != NULL && fa != NULL && fb != NULL &&
               rlcc_refiner_labels(a, la) == RLCC_OK && rlcc_refiner_labels(b, lb) == RLCC_OK &&
               memcmp(la, lb, (size_t)n * sizeof *la) == 0 &&
               rlcc_refiner_centroids(a, fa, d) == RLCC_OK &&
               rlcc_refiner_centroids(b, fb, d) == RLCC_OK &&
               memcmp(fa, fb, (size_t)(k * d) * sizeof *fa) == 0 &&
               rlcc_refiner_targets(a, NULL, n, fa, k) == RLCC_OK &&
               rlcc_refiner_targets(b, NULL, n, fb, k) == RLCC_OK &&
               memcmp(fa, fb, (size_t)(n * k) * sizeof *fa) == 0;
    free(la), free(lb), free(fa), free(fb);
    return same;
}

static void dump_csr(const char *name, const rlcc_csr *m)
{
    char key[64];
    const int64_t rows = rlcc_csr_rows(m), nnz = rlcc_csr_nnz(m), shape[2] = {rows, rlcc_csr_cols(m)};
    snprintf(key, sizeof key, "%s_shape", name);
    DUMP_I64(key, shape, 2);
    snprintf(key, sizeof key, "%s_indptr", name);
    DUMP_I64(key, rlcc_csr_indptr(m), rows + 1);
    snprintf(key, sizeof key, "%s_indices", name);
    DUMP_I32(key, rlcc_csr_indices(m), nnz);
    snprintf(key, sizeof key, "%s_data", name);
    DUMP_F32(key, rlcc_csr_data(m), nnz);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s FIXTURE_DIR OUT_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[2];
    int64_t n, d, n1, d1;
    float *x0 = load(argv[1], "reid_gen0.npy", &n, &d);
    float *x1 = load(argv[1], "reid_gen1.npy", &n1, &d1);
    DUMP_F32("x0", x0, n * d);
    DUMP_F32("x1", x1, n * d);
    const int64_t shape[2] = {n, d};
    DUMP_I64("shape", shape, 2);
    dump_layouts();

    int32_t *labels = malloc((size_t)n * sizeof *labels);
    uint8_t *core = malloc((size_t)n);
    int64_t clusters = 0;

    /* DBSCAN: euclidean eps 0.9, cosine eps 0.4, min_samples 4 */
    rlcc_dbscan_options dopts;
    rlcc_dbscan_options_init(&dopts, sizeof dopts);
    dump_dbscan("dbscan_euclidean",
                rlcc_dbscan_features(x0, n, d, d, 0.9, 4, &dopts, labels, &clusters, core, NULL),
                labels, core, n, clusters);
    dopts.metric = RLCC_METRIC_COSINE;
    dump_dbscan("dbscan_cosine",
                rlcc_dbscan_features(x0, n, d, d, 0.4, 4, &dopts, labels, &clusters, core, NULL),
                labels, core, n, clusters);

    /* kNN, k = 10 */
    int64_t *knn = malloc((size_t)(n * 10) * sizeof *knn);
    float *sqdist = malloc((size_t)(n * 10) * sizeof *sqdist);
    ok(rlcc_knn(x0, n, d, d, 10, NULL, knn, sqdist), "knn");
    DUMP_I64("knn_indices", knn, n * 10);
    DUMP_F32("knn_sqdist", sqdist, n * 10);

    /* block kNN, k = 10: query blocks [0, 50) and [50, n), reference blocks
     * [0, 37), [37, 81) and [81, n). Per query block, state a is offered
     * reference block 2, then the query rows themselves (refs == queries,
     * the triangle); state b reference block 1, then block 0 (rows offered
     * twice change nothing); b is merged into a and a finished. The query
     * blocks' lists, concatenated, are what rlcc_knn() gives (knn_*). */
    const int64_t query_cuts[3] = {0, 50, n}, ref_cuts[4] = {0, 37, 81, n};
    int64_t *block_knn = malloc((size_t)(n * 10) * sizeof *block_knn);
    float *block_sqdist = malloc((size_t)(n * 10) * sizeof *block_sqdist);
    int64_t block_updates[2] = {0, 0};
    for (int b = 0; b < 2; b++) {
        const int64_t q0 = query_cuts[b], nq = query_cuts[b + 1] - q0;
        const float *queries = x0 + q0 * d;
        rlcc_knn_state *sa = NULL, *sb = NULL;
        ok(rlcc_knn_state_new(nq, q0, d, 10, NULL, &sa), "knn_state_new a");
        ok(rlcc_knn_state_new(nq, q0, d, 10, NULL, &sb), "knn_state_new b");
        ok(rlcc_knn_update(sa, queries, d, x0 + ref_cuts[2] * d, ref_cuts[3] - ref_cuts[2], d,
                           ref_cuts[2]), "knn_update a 2");
        ok(rlcc_knn_update(sa, queries, d, queries, nq, d, q0), "knn_update a self");
        ok(rlcc_knn_update(sb, queries, d, x0 + ref_cuts[1] * d, ref_cuts[2] - ref_cuts[1], d,
                           ref_cuts[1]), "knn_update b 1");
        ok(rlcc_knn_update(sb, queries, d, x0, ref_cuts[1], d, 0), "knn_update b 0");
        ok(rlcc_knn_merge(sa, sb), "knn_merge");
        ok(rlcc_knn_finish(sa, block_knn + q0 * 10, block_sqdist + q0 * 10), "knn_finish");
        rlcc_knn_stats stats;
        rlcc_knn_stats_init(&stats, sizeof stats);
        ok(rlcc_knn_state_stats(sa, &stats), "knn_state_stats");
        block_updates[b] = stats.n_updates;
        rlcc_knn_state_free(sa);
        rlcc_knn_state_free(sb);
    }
    DUMP_I64("knn_block_indices", block_knn, n * 10);
    DUMP_F32("knn_block_sqdist", block_sqdist, n * 10);
    DUMP_I64("knn_block_updates", block_updates, 2);
    free(block_knn), free(block_sqdist);

    /* Jaccard k1 10, k2 3, DOT, cutoff 0.9; dense; DBSCAN eps 0.6 on both */
    rlcc_jaccard_options jopts;
    rlcc_jaccard_options_init(&jopts, sizeof jopts);
    jopts.k1 = 10, jopts.k2 = 3, jopts.cutoff = 0.9f;
    rlcc_csr *jaccard = NULL;
    ok(rlcc_jaccard(x0, n, d, d, NULL, &jopts, &jaccard), "jaccard");
    dump_csr("jaccard", jaccard);
    float *dense = malloc((size_t)(n * n) * sizeof *dense);
    ok(rlcc_jaccard_dense(x0, n, d, d, NULL, &jopts, dense, n), "jaccard_dense");
    DUMP_F32("jaccard_dense", dense, n * n);
    dump_dbscan("dbscan_csr",
                rlcc_dbscan_csr(n, rlcc_csr_indptr(jaccard), rlcc_csr_indices(jaccard),
                                rlcc_csr_data(jaccard), 0.6, 4, NULL, labels, &clusters, core, NULL),
                labels, core, n, clusters);
    dump_dbscan("dbscan_dense",
                rlcc_dbscan_dense(dense, n, n, 0.6, 4, NULL, labels, &clusters, core, NULL),
                labels, core, n, clusters);
    rlcc_csr_free(jaccard);

    /* pseudo labels: defaults with k1 10, k2 3; generation 1 keeps the threshold */
    rlcc_pseudo_options popts;
    rlcc_pseudo_options_init(&popts, sizeof popts);
    popts.k1 = 10, popts.k2 = 3;
    int32_t *prev = malloc((size_t)n * sizeof *prev), *cur = malloc((size_t)n * sizeof *cur);
    int64_t k_prev = 0, k_cur = 0;
    double threshold = 0.0;
    ok(rlcc_pseudo_labels(x0, n, d, d, &popts, prev, &k_prev, &threshold), "pseudo_labels 0");
    popts.threshold = threshold;
    ok(rlcc_pseudo_labels(x1, n, d, d, &popts, cur, &k_cur, NULL), "pseudo_labels 1");
    DUMP_I32("pseudo0_labels", prev, n);
    DUMP_I32("pseudo1_labels", cur, n);
    DUMP_F64("pseudo0_threshold", &threshold, 1);

    /* centroids of generation 0, consensus 0 -> 1 */
    float *cents = malloc((size_t)(k_prev * d) * sizeof *cents);
    ok(rlcc_centroids(x0, n, d, d, prev, k_prev, cents, d), "centroids");
    DUMP_F32("centroids", cents, k_prev * d);
    int64_t *counts = malloc((size_t)(k_prev * k_cur) * sizeof *counts);
    ok(rlcc_consensus_counts(prev, cur, n, 0, 0, counts, k_cur), "consensus_counts");
    DUMP_I64("consensus_counts", counts, k_prev * k_cur);
    float *iou = malloc((size_t)(k_prev * k_cur) * sizeof *iou);
    ok(rlcc_consensus(prev, cur, n, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, iou, k_cur),
       "consensus");
    DUMP_F32("consensus_iou_sum", iou, k_prev * k_cur);
    rlcc_csr *chat = NULL;
    ok(rlcc_consensus_csr(prev, cur, n, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &chat),
       "consensus_csr");
    dump_csr("consensus_csr", chat);

    /* probabilities of generation 1's features against generation 0's centroids
     * (scale 30), propagation (w 0.9, beta 0.3), blend (alpha 0.9): every
     * sample, and the batch rows {5, 0, 119, 7} */
    const int64_t batch[4] = {5, 0, 119, 7};
    float *probs = malloc((size_t)(n * k_prev) * sizeof *probs);
    float *s = malloc((size_t)(n * k_cur) * sizeof *s), *t = malloc((size_t)(n * k_cur) * sizeof *t);
    for (int part = 0; part < 2; part++) {
        const int64_t *rows = part == 0 ? NULL : batch;
        const int64_t n_rows = part == 0 ? n : 4;
        const char *suffix = part == 0 ? "all" : "batch";
        char key[64];
        ok(rlcc_class_probabilities(x1, n, d, d, cents, k_prev, d, 30.0f, rows, n_rows, probs,
                                    k_prev, 0), "class_probabilities");
        ok(rlcc_propagate(prev, n, rlcc_csr_indptr(chat), rlcc_csr_indices(chat),
                          rlcc_csr_data(chat), k_prev, k_cur, probs, k_prev, 0.9f, 0.3f, rows,
                          n_rows, s, k_cur), "propagate");
        ok(rlcc_blend(cur, n, k_cur, s, k_cur, 0.9f, rows, n_rows, t, k_cur), "blend");
        snprintf(key, sizeof key, "probs_%s", suffix);
        DUMP_F32(key, probs, n_rows * k_prev);
        snprintf(key, sizeof key, "propagated_%s", suffix);
        DUMP_F32(key, s, n_rows * k_cur);
        snprintf(key, sizeof key, "blended_%s", suffix);
        DUMP_F32(key, t, n_rows * k_cur);
    }
    rlcc_csr_free(chat);

    /* the refiner (pseudo options as above, threshold computed) over x0 then
     * x1 in batches of 32: labels, centroids, targets for all and the batch */
    popts.threshold = -1.0;
    rlcc_refiner *refiner = NULL;
    ok(rlcc_refiner_new(n, d, &popts, NULL, &refiner), "refiner_new");
    for (int g = 0; g < 2 && refiner != NULL; g++) {
        matrix source = {g == 0 ? x0 : x1, d};
        ok(rlcc_refiner_step(refiner, copy_rows, &source, 32, NULL, NULL, NULL, NULL),
           "refiner_step");
    }
    if (refiner != NULL) {
        const int64_t k = rlcc_refiner_n_classes(refiner);
        float *refiner_cents = malloc((size_t)(k * d) * sizeof *refiner_cents);
        float *targets = malloc((size_t)(n * k) * sizeof *targets);
        ok(rlcc_refiner_labels(refiner, labels), "refiner_labels");
        DUMP_I32("refiner_labels", labels, n);
        ok(rlcc_refiner_centroids(refiner, refiner_cents, d), "refiner_centroids");
        DUMP_F32("refiner_centroids", refiner_cents, k * d);
        ok(rlcc_refiner_targets(refiner, NULL, n, targets, k), "refiner_targets");
        DUMP_F32("refiner_targets_all", targets, n * k);
        ok(rlcc_refiner_targets(refiner, batch, 4, targets, k), "refiner_targets batch");
        DUMP_F32("refiner_targets_batch", targets, 4 * k);
        const double threshold_used = rlcc_refiner_threshold(refiner);
        DUMP_F64("refiner_threshold", &threshold_used, 1);
        const int64_t bytes = rlcc_refiner_bytes(refiner);
        DUMP_I64("refiner_bytes", &bytes, 1);
        free(refiner_cents);
        free(targets);
    }

    /* 1.4: the same two generations through rlcc_refiner_step_matrix(),
     * copying and borrowing (x0 and x1 stay alive and unchanged until the
     * refiner is freed): the same generation as the callback's, and what each
     * refiner holds */
    const char *names[2] = {"refiner_matrix_bytes", "refiner_borrow_bytes"};
    for (int borrow = 0; borrow < 2 && refiner != NULL; borrow++) {
        rlcc_refiner *by_matrix = NULL;
        rlcc_step_options sopts;
        rlcc_step_options_init(&sopts, sizeof sopts);
        sopts.borrow = borrow;
        ok(rlcc_refiner_new(n, d, &popts, NULL, &by_matrix), "refiner_new (matrix)");
        for (int g = 0; g < 2 && by_matrix != NULL; g++)
            ok(rlcc_refiner_step_matrix(by_matrix, g == 0 ? x0 : x1, d, &sopts),
               "refiner_step_matrix");
        if (by_matrix != NULL && !same_refiners(refiner, by_matrix, n, d)) {
            fprintf(stderr, "%s: the matrix step differs from the callback step\n", names[borrow]);
            failures++;
        }
        const int64_t held = rlcc_refiner_bytes(by_matrix);
        DUMP_I64(names[borrow], &held, 1);
        rlcc_refiner_free(by_matrix);
    }
    /* 1.7, k-means (issue #15 item 3): faiss's start for k = 12 (seed 1234,
     * 4 points per centroid: 48 training rows of the 120), Lloyd from it
     * with the defaults (300 steps, tol 1e-4) and with 2 steps, tol 0; and
     * the options' layout */
    {
        enum { KM_K = 12 };
        int64_t start[KM_K], train[4 * KM_K], n_train = 0, iters = 0;
        ok(rlcc_kmeans_init_faiss(n, KM_K, 1234, 4, start, train, &n_train), "kmeans_init_faiss");
        DUMP_I64("kmeans_start", start, KM_K);
        DUMP_I64("kmeans_train", train, n_train);
        float *km_init = malloc((size_t)(KM_K * d) * sizeof *km_init);
        float *km_c = malloc((size_t)(KM_K * d) * sizeof *km_c);
        int32_t *km_l = malloc((size_t)n * sizeof *km_l);
        for (int64_t j = 0; j < KM_K; j++)
            memcpy(km_init + j * d, x0 + start[j] * d, (size_t)d * sizeof(float));
        ok(rlcc_kmeans(x0, n, d, d, km_init, KM_K, d, NULL, km_c, d, km_l, &iters), "kmeans");
        DUMP_F32("kmeans_centroids", km_c, KM_K * d);
        DUMP_I32("kmeans_labels", km_l, n);
        DUMP_I64("kmeans_n_iter", &iters, 1);
        rlcc_kmeans_options kopts;
        rlcc_kmeans_options_init(&kopts, sizeof kopts);
        kopts.max_iter = 2;
        kopts.tol = 0.0;
        ok(rlcc_kmeans(x0, n, d, d, km_init, KM_K, d, &kopts, km_c, d, km_l, &iters), "kmeans (2 steps)");
        DUMP_F32("kmeans_short_centroids", km_c, KM_K * d);
        DUMP_I32("kmeans_short_labels", km_l, n);
        DUMP_I64("kmeans_short_n_iter", &iters, 1);
        LAYOUT(kmeans_options, AT(kmeans_options, struct_size), AT(kmeans_options, max_iter),
               AT(kmeans_options, n_threads), AT(kmeans_options, tol), AT(kmeans_options, max_bytes));
        free(km_init), free(km_c), free(km_l);
    }
    /* InfoMap pseudo labels (issue #15 item 2): x0 normalised, the defaults
     * (k 15, min_sim 0.5, cluster_num 4, seed 123, 1 trial); the links; the
     * labels and codelength of the partition i % 7; rlcc_map_codelength()
     * of the links with that partition. */
    {
        LAYOUT(infomap_options, AT(infomap_options, struct_size), AT(infomap_options, k),
               AT(infomap_options, cluster_num), AT(infomap_options, min_sim),
               AT(infomap_options, seed), AT(infomap_options, trials),
               AT(infomap_options, normalize), AT(infomap_options, n_threads),
               AT(infomap_options, reserved), AT(infomap_options, max_bytes));
        rlcc_infomap_options iopts;
        rlcc_infomap_options_init(&iopts, sizeof iopts);
        iopts.normalize = 1;
        int32_t *il = malloc((size_t)n * sizeof *il), *im = malloc((size_t)n * sizeof *im);
        int64_t *is = malloc((size_t)(n * 15) * sizeof *is), *it = malloc((size_t)(n * 15) * sizeof *it);
        double *iw = malloc((size_t)(n * 15) * sizeof *iw);
        int64_t ic = 0, m = 0;
        double iL = 0.0;
        for (int64_t i = 0; i < n; i++)
            im[i] = (int32_t)(i % 7);
        ok(rlcc_infomap_labels(x0, n, d, d, NULL, NULL, NULL, &iopts, il, &ic, &iL), "infomap_labels");
        DUMP_I32("infomap_labels", il, n);
        DUMP_I64("infomap_n_classes", &ic, 1);
        DUMP_F64("infomap_codelength", &iL, 1);
        ok(rlcc_infomap_labels(x0, n, d, d, NULL, NULL, im, &iopts, il, &ic, &iL), "infomap_labels (modules)");
        DUMP_I32("infomap_labels_modules", il, n);
        DUMP_F64("infomap_codelength_modules", &iL, 1);
        ok(rlcc_infomap_links(x0, n, d, d, NULL, NULL, &iopts, is, it, iw, &m), "infomap_links");
        DUMP_I64("infomap_src", is, m);
        DUMP_I64("infomap_dst", it, m);
        DUMP_F64("infomap_weight", iw, m);
        ok(rlcc_map_codelength(n, is, it, iw, m, im, &iL), "map_codelength");
        DUMP_F64("infomap_map_codelength", &iL, 1);
        free(il), free(im), free(is), free(it), free(iw);
    }

    rlcc_refiner_free(refiner);
    free(x0);
    free(x1);
    free(labels), free(core), free(knn), free(sqdist), free(dense), free(prev), free(cur);
    free(cents), free(counts), free(iou), free(probs), free(s), free(t);
    return failures == 0 ? 0 : 1;
}
