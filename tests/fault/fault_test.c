/*
 * fault_test.c - allocation failure at every point of every entry point.
 *
 * Built against a library compiled with -DRLCC_FAULT_INJECTION and ASan:
 * for k = 1, 2, ... the k-th allocation of the call fails, until a call
 * makes fewer than k allocations and succeeds. Every failing call must
 * return RLCC_E_OUT_OF_MEMORY (or, for the refiner's step, leave the
 * refiner as it was); LeakSanitizer at exit shows that nothing leaked.
 * Prints the number of failure points per entry point and requires > 0.
 * (Allocations inside OpenBLAS and libomp are not librlcc's and are out
 * of scope; librlcc allocates nothing inside its parallel regions.)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { N = 120, D = 8 };

static float x[N * D];
static int32_t prev_labels[N], cur_labels[N];
static long passed, failed;

static void record(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL %s\n", what);
    }
}

/* Runs call() with the k-th allocation failing, for every k it reaches. */
#define EVERY_FAILURE_POINT(name, call, cleanup)                                        \
    do {                                                                                \
        int64_t points = 0;                                                             \
        int wrong = 0;                                                                  \
        for (int64_t k = 1;; k++) {                                                     \
            rlcc__fault_arm(k);                                                         \
            int rc_ = (call);                                                           \
            const int64_t seen_ = rlcc__fault_seen();                                   \
            rlcc__fault_arm(0);                                                         \
            if (rc_ == RLCC_OK) {                                                       \
                cleanup;                                                                \
                if (seen_ >= k) /* the armed failure never surfaced */                  \
                    wrong++;                                                            \
                break;                                                                  \
            }                                                                           \
            points++;                                                                   \
            if (rc_ != RLCC_E_OUT_OF_MEMORY) {                                          \
                fprintf(stderr, "  %s: k = %lld gave %d: %s\n", name, (long long)k, rc_, \
                        rlcc_last_error());                                             \
                wrong++;                                                                \
            }                                                                           \
            if (k > 100000) {                                                           \
                wrong++;                                                                \
                break;                                                                  \
            }                                                                           \
        }                                                                               \
        printf("  %-28s %4lld failure points\n", name, (long long)points);              \
        record(points > 0 && wrong == 0, name);                                         \
    } while (0)

static int64_t features_cb(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    (void)data;
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, x + (start + i) * D, sizeof(float) * D);
    return count;
}

int main(void)
{
    uint64_t s = 5;
    for (int i = 0; i < N; i++) {
        double sum = 0.0;
        for (int k = 0; k < D; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            double v = (k == i % D ? 2.0 : 0.0) + ((double)(s >> 11) * 0x1p-53 - 0.5) * 0.4;
            x[i * D + k] = (float)v;
            sum += v * v;
        }
        for (int k = 0; k < D; k++)
            x[i * D + k] = (float)(x[i * D + k] / sqrt(sum));
        prev_labels[i] = i % 7 == 0 ? -1 : i % 9;
        cur_labels[i] = i % 11 == 0 ? -1 : i % 8;
    }
    float *dist = malloc(sizeof(float) * N * N);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0.0;
            for (int k = 0; k < D; k++)
                sum += (x[i * D + k] - x[j * D + k]) * (x[i * D + k] - x[j * D + k]);
            dist[i * N + j] = (float)sqrt(sum);
        }
    int32_t labels[N];
    int64_t knn[N * 10];
    float sq[N * 10], *dense = malloc(sizeof(float) * N * N);
    float probs[N * 9], out[N * 9], cents[9 * D];
    rlcc_csr *graph = NULL;
    printf("fault injection: allocation k fails, for every k each entry point reaches\n");

    EVERY_FAILURE_POINT("rlcc_dbscan_features", rlcc_dbscan_features(x, N, D, D, 0.6, 3, NULL, labels, NULL, NULL, NULL), (void)0);
    /* the grid and the tree (1.5), with stats (the pair count and the core
     * flags the call allocates), auto's probe, and the grid handing over to
     * the tree (eps^2 below DBL_MIN) */
    rlcc_dbscan_options grid_opts, tree_opts, brute_opts;
    rlcc_dbscan_options_init(&grid_opts, sizeof grid_opts);
    grid_opts.algorithm = RLCC_DBSCAN_GRID;
    grid_opts.n_threads = 2;
    tree_opts = grid_opts;
    tree_opts.algorithm = RLCC_DBSCAN_TREE;
    brute_opts = grid_opts;
    brute_opts.algorithm = RLCC_DBSCAN_BRUTE;
    rlcc_dbscan_stats fstats;
    rlcc_dbscan_stats_init(&fstats, sizeof fstats);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (grid, 2-D, stats)", rlcc_dbscan_features(x, N, 2, D, 0.3, 3, &grid_opts, labels, NULL, NULL, &fstats), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (grid, 3-D)", rlcc_dbscan_features(x, N, 3, D, 0.4, 3, &grid_opts, labels, NULL, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (grid -> tree, eps 1e-160)", rlcc_dbscan_features(x, N, 2, D, 1e-160, 1, &grid_opts, labels, NULL, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (tree, stats)", rlcc_dbscan_features(x, N, D, D, 0.6, 3, &tree_opts, labels, NULL, NULL, &fstats), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (auto, 2-D)", rlcc_dbscan_features(x, N, 2, D, 0.3, 3, NULL, labels, NULL, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (brute)", rlcc_dbscan_features(x, N, D, D, 0.6, 3, &brute_opts, labels, NULL, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_dense", rlcc_dbscan_dense(dist, N, N, 0.6, 3, NULL, labels, NULL, NULL, NULL), (void)0);
    if (rlcc_jaccard(x, N, D, D, NULL, NULL, &graph) != RLCC_OK)
        return 1;
    EVERY_FAILURE_POINT("rlcc_dbscan_csr", rlcc_dbscan_csr(N, rlcc_csr_indptr(graph), rlcc_csr_indices(graph), rlcc_csr_data(graph), 0.6, 3, NULL, labels, NULL, NULL, NULL), (void)0);
    rlcc_csr_free(graph);
    EVERY_FAILURE_POINT("rlcc_knn", rlcc_knn(x, N, D, D, 10, NULL, knn, sq), (void)0);
    rlcc_knn_state *ks = NULL;
    EVERY_FAILURE_POINT("rlcc_knn_state_new", rlcc_knn_state_new(N, 0, D, 10, NULL, &ks), (rlcc_knn_state_free(ks), ks = NULL));
    record(rlcc_knn_state_new(N, 0, D, 10, NULL, &ks) == RLCC_OK, "rlcc_knn_state_new");
    EVERY_FAILURE_POINT("rlcc_knn_update", rlcc_knn_update(ks, x, D, x + 10 * D, N - 10, D, 10), (void)0);
    EVERY_FAILURE_POINT("rlcc_knn_update (symmetric)", rlcc_knn_update(ks, x, D, x, N, D, 0), (void)0);
    EVERY_FAILURE_POINT("rlcc_knn_finish", rlcc_knn_finish(ks, knn, sq), (void)0);
    rlcc_knn_state_free(ks);
    rlcc_csr *result = NULL;
    EVERY_FAILURE_POINT("rlcc_jaccard", rlcc_jaccard(x, N, D, D, NULL, NULL, &result), rlcc_csr_free(result));
    EVERY_FAILURE_POINT("rlcc_jaccard (caller kNN)", rlcc_jaccard(x, N, D, D, knn, &(rlcc_jaccard_options){.struct_size = sizeof(rlcc_jaccard_options), .k1 = 10, .k2 = 3, .cutoff = 1.0f}, &result), rlcc_csr_free(result));
    EVERY_FAILURE_POINT("rlcc_jaccard_dense", rlcc_jaccard_dense(x, N, D, D, NULL, NULL, dense, N), (void)0);
    EVERY_FAILURE_POINT("rlcc_pseudo_labels", rlcc_pseudo_labels(x, N, D, D, NULL, labels, NULL, NULL), (void)0);
    rlcc_pseudo_options plain;
    rlcc_pseudo_options_init(&plain, sizeof plain);
    plain.metric = RLCC_METRIC_EUCLIDEAN; /* three radii from one Gram pass */
    plain.eps[0] = 0.5, plain.eps[1] = 0.6, plain.eps[2] = 0.7;
    EVERY_FAILURE_POINT("rlcc_pseudo_labels (euclidean, 3 eps)", rlcc_pseudo_labels(x, N, D, D, &plain, labels, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_centroids", rlcc_centroids(x, N, D, D, cur_labels, 8, cents, D), (void)0);
    int64_t counts[9 * 8];
    EVERY_FAILURE_POINT("rlcc_consensus_counts", rlcc_consensus_counts(prev_labels, cur_labels, N, 0, 0, counts, 8), (void)0);
    EVERY_FAILURE_POINT("rlcc_consensus", rlcc_consensus(prev_labels, cur_labels, N, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, out, 8), (void)0);
    rlcc_csr *chat = NULL;
    EVERY_FAILURE_POINT("rlcc_consensus_csr", rlcc_consensus_csr(prev_labels, cur_labels, N, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &chat), rlcc_csr_free(chat));
    rlcc_centroids(x, N, D, D, prev_labels, 9, cents, D);
    const int64_t rows[4] = {3, 7, 0, 99};
    EVERY_FAILURE_POINT("rlcc_class_probabilities", rlcc_class_probabilities(x, N, D, D, cents, 9, D, 30.0f, rows, 4, probs, 9, 0), (void)0);

    /* the refiner: new, and every step of several generations */
    rlcc_refiner *r = NULL;
    EVERY_FAILURE_POINT("rlcc_refiner_new", rlcc_refiner_new(N, D, NULL, NULL, &r), rlcc_refiner_free(r));
    rlcc_refiner_new(N, D, NULL, NULL, &r);
    for (int gen = 0; gen < 3; gen++) {
        const int64_t before = rlcc_refiner_generation(r);
        EVERY_FAILURE_POINT(gen == 0 ? "rlcc_refiner_step (gen 0)" : gen == 1 ? "rlcc_refiner_step (gen 1)" : "rlcc_refiner_step (gen 2)",
                            rlcc_refiner_step(r, features_cb, NULL, 32, NULL, NULL, NULL, NULL), (void)0);
        record(rlcc_refiner_generation(r) == before + 1, "a step that failed left the generation as it was");
        if (gen == 0) {
            /* generation 0's targets are the hard labels: no allocation at all */
            rlcc__fault_arm(1);
            record(rlcc_refiner_targets(r, rows, 4, out, 9) == RLCC_OK && rlcc__fault_seen() == 0,
                   "rlcc_refiner_targets (gen 0) allocates nothing");
            rlcc__fault_arm(0);
            continue;
        }
        EVERY_FAILURE_POINT("rlcc_refiner_targets", rlcc_refiner_targets(r, rows, 4, out, 9), (void)0);
    }
    /* the caller's lists for the next step (default k1 = 30) */
    static int64_t lists30[N * 30];
    record(rlcc_knn(x, N, D, D, 30, NULL, lists30, NULL) == RLCC_OK, "rlcc_knn (k1 = 30)");
    EVERY_FAILURE_POINT("rlcc_refiner_set_knn", rlcc_refiner_set_knn(r, lists30), (void)0);
    EVERY_FAILURE_POINT("rlcc_refiner_step (caller kNN)",
                        rlcc_refiner_step(r, features_cb, NULL, 32, NULL, NULL, NULL, NULL),
                        (void)0);
    rlcc_refiner_free(r);
    free(dist);
    free(dense);
    printf("fault: %ld passed, %ld failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
