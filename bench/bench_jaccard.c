/*
 * bench_jaccard.c - the clustering step as trainers run it, with librlcc:
 * kNN (k1 = 30), the k-reciprocal Jaccard distance (k2 = 6, sparse, a
 * cutoff), and DBSCAN at eps 0.58, 0.60 and 0.62 (min_samples 4); next to
 * its floor, one SSYRK of the same matrix through the same OpenBLAS.
 *
 *   bench_jaccard N D CUTOFF [OUT.f32 [LABELS.i32]]
 *
 * Prints key=value pairs. Peak RSS is read after the pipeline, before the
 * floor allocates its N x N output. OUT.f32 receives the features and
 * LABELS.i32 the labels at eps 0.60, for the reference pipeline to compare.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "rlcc.h"
#include "synth.h"
#include "timing.h"

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, rlcc_last_error());
    return 1;
}

static int write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, size, f) == size;
    return (f && fclose(f) == 0 && ok) ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s N D CUTOFF [OUT.f32 [LABELS.i32]]\n", argv[0]);
        return 2;
    }
    const int64_t n = atoll(argv[1]), d = atoll(argv[2]), k1 = 30;
    const float cutoff = (float)atof(argv[3]);
    synth_params params = synth_defaults(n, d);
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    int64_t *lists = malloc(sizeof(int64_t) * (size_t)(n * k1));
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    if (!x || !lists || !labels || synth_generate(&params, x, NULL, NULL) != 0)
        return fail("setup");
    if (argc > 4 && write_file(argv[4], x, sizeof(float) * (size_t)(n * d)) != 0)
        return fail("writing features");

    double t0 = now_seconds();
    if (rlcc_knn(x, n, d, d, k1, NULL, lists, NULL) != RLCC_OK)
        return fail("rlcc_knn");
    const double knn_s = now_seconds() - t0;

    /* the same lists through the block kNN, for its counts: candidates
     * decided again in double per row, rows that fell back */
    rlcc_knn_state *state = NULL;
    rlcc_knn_stats knn_stats;
    rlcc_knn_stats_init(&knn_stats, sizeof knn_stats);
    t0 = now_seconds();
    if (rlcc_knn_state_new(n, 0, d, k1, NULL, &state) != RLCC_OK
        || rlcc_knn_update(state, x, d, x, n, d, 0) != RLCC_OK
        || rlcc_knn_state_stats(state, &knn_stats) != RLCC_OK)
        return fail("rlcc_knn_update");
    const double knn_state_s = now_seconds() - t0;
    rlcc_knn_state_free(state);

    rlcc_jaccard_options opts;
    rlcc_jaccard_options_init(&opts, sizeof opts);
    opts.cutoff = cutoff;
    rlcc_csr *graph = NULL;
    t0 = now_seconds();
    if (rlcc_jaccard(x, n, d, d, lists, &opts, &graph) != RLCC_OK)
        return fail("rlcc_jaccard");
    const double jaccard_s = now_seconds() - t0;
    rlcc_csr_free(graph);

    /* the whole step as a trainer calls it: Jaccard with its own kNN, then
     * the three DBSCAN runs of SpCL and RLCC */
    t0 = now_seconds();
    if (rlcc_jaccard(x, n, d, d, NULL, &opts, &graph) != RLCC_OK)
        return fail("rlcc_jaccard");
    const double knn_jaccard_s = now_seconds() - t0;
    const double eps[3] = {0.58, 0.60, 0.62};
    int64_t clusters[3] = {0, 0, 0}, noise = 0;
    t0 = now_seconds();
    for (int r = 0; r < 3; r++) {
        rlcc_dbscan_stats stats;
        rlcc_dbscan_stats_init(&stats, sizeof stats);
        if (rlcc_dbscan_csr(n, rlcc_csr_indptr(graph), rlcc_csr_indices(graph),
                            rlcc_csr_data(graph), eps[r], 4, NULL, labels, &clusters[r], NULL,
                            &stats) != RLCC_OK)
            return fail("rlcc_dbscan_csr");
        if (r == 1) {
            noise = stats.n_noise;
            if (argc > 5 && write_file(argv[5], labels, sizeof(int32_t) * (size_t)n) != 0)
                return fail("writing labels");
        }
    }
    const double dbscan_s = now_seconds() - t0;
    const int64_t nnz = rlcc_csr_nnz(graph);
    rlcc_csr_free(graph);
    const double rss = peak_rss_mb();

    float *gram = malloc(sizeof(float) * (size_t)(n * n));
    double floor_s = 1e30;
    for (int run = 0; gram && run < 2; run++) {
        t0 = now_seconds();
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0f, x, (int)d,
                    0.0f, gram, (int)n);
        floor_s = now_seconds() - t0 < floor_s ? now_seconds() - t0 : floor_s;
    }
    printf("n=%lld d=%lld cutoff=%g knn_s=%.3f jaccard_s=%.3f knn_jaccard_s=%.3f "
           "dbscan3_s=%.3f pipeline_s=%.3f floor_s=%.3f knn_jaccard_ratio=%.3f nnz=%lld "
           "clusters=%lld/%lld/%lld noise_pct=%.2f peak_rss_mb=%.0f knn_state_s=%.3f "
           "redecided_per_row=%.2f fallback_rows=%lld\n",
           (long long)n, (long long)d, (double)cutoff, knn_s, jaccard_s, knn_jaccard_s,
           dbscan_s, knn_jaccard_s + dbscan_s, floor_s, knn_jaccard_s / floor_s,
           (long long)nnz, (long long)clusters[0], (long long)clusters[1],
           (long long)clusters[2], 100.0 * (double)noise / (double)n,
           rss, knn_state_s, (double)knn_stats.n_redecided / (double)n,
           (long long)knn_stats.n_fallback_rows);
    free(gram);
    free(x);
    free(lists);
    free(labels);
    return 0;
}
