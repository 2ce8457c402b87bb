/*
 * bench_jaccard.c - the clustering step as trainers run it, with librlcc:
 * kNN (k1 = 30), the k-reciprocal Jaccard distance (k2 = 6, sparse, a
 * cutoff), and DBSCAN at eps 0.58, 0.60 and 0.62 (min_samples 4); next to
 * its floor, one SSYRK of the same matrix through the same OpenBLAS.
 *
 *   bench_jaccard N D CUTOFF [OUT.f32 [LABELS.i32]]
 *   BENCH_ROUNDS=R (default 3)
 *
 * Prints key=value pairs. Peak RSS is read after the pipeline, before the
 * floor allocates its N x N output. OUT.f32 receives the features and
 * LABELS.i32 the labels at eps 0.60, for the reference pipeline to compare.
 *
 * The kNN, the kNN + Jaccard and the floor are timed in R rounds, one of
 * each per round, so that each ratio compares runs a minute apart: a
 * shared machine's speed drifts by 10-30% within an hour (docs/
 * BENCHMARKS.md). Each ratio is the median of its R per-round ratios; the
 * times printed are the medians of their R runs. The floor's output is
 * written once before the rounds, so no round's SSYRK pays its page faults.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define MAX_ROUNDS 15
#define RUN_CHARS 32 /* one "/%.3f" of a round's seconds */

/* The rounds' seconds as "a/b/c" into out (RUN_CHARS * MAX_ROUNDS chars). */
static void format_runs(char *out, const double *seconds, int rounds)
{
    out[0] = '\0';
    for (int r = 0; r < rounds; r++)
        snprintf(out + strlen(out), RUN_CHARS, "%s%.3f", r ? "/" : "", seconds[r]);
}

static double time_knn(const float *x, int64_t n, int64_t d, int64_t k1, int64_t *lists)
{
    const double t0 = now_seconds();
    return rlcc_knn(x, n, d, d, k1, NULL, lists, NULL) == RLCC_OK ? now_seconds() - t0 : -1.0;
}

/* The Jaccard distance with its own kNN, as a trainer calls it; *graph is
 * the caller's. */
static double time_knn_jaccard(const float *x, int64_t n, int64_t d,
                               const rlcc_jaccard_options *opts, rlcc_csr **graph)
{
    const double t0 = now_seconds();
    return rlcc_jaccard(x, n, d, d, NULL, opts, graph) == RLCC_OK ? now_seconds() - t0 : -1.0;
}

static double time_floor(const float *x, int64_t n, int64_t d, float *gram)
{
    const double t0 = now_seconds();
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0f, x, (int)d, 0.0f,
                gram, (int)n);
    return now_seconds() - t0;
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

    const char *rounds_env = getenv("BENCH_ROUNDS");
    const int rounds = rounds_env ? atoi(rounds_env) : 3;
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "BENCH_ROUNDS must be 1 to %d\n", MAX_ROUNDS);
        return 2;
    }
    double knn_s[MAX_ROUNDS], knn_jaccard_s[MAX_ROUNDS], floor_s[MAX_ROUNDS];
    double knn_ratio[MAX_ROUNDS], knn_jaccard_ratio[MAX_ROUNDS];

    /* round 0 also times the parts on their own and reads the peak RSS */
    if ((knn_s[0] = time_knn(x, n, d, k1, lists)) < 0)
        return fail("rlcc_knn");

    /* the same lists through the block kNN, for its counts: candidates
     * decided again in double per row, rows that fell back */
    rlcc_knn_state *state = NULL;
    rlcc_knn_stats knn_stats;
    rlcc_knn_stats_init(&knn_stats, sizeof knn_stats);
    double t0 = now_seconds();
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
    if ((knn_jaccard_s[0] = time_knn_jaccard(x, n, d, &opts, &graph)) < 0)
        return fail("rlcc_jaccard");
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
    if (gram == NULL)
        return fail("the floor's N x N output");
    memset(gram, 0, sizeof(float) * (size_t)(n * n));
    floor_s[0] = time_floor(x, n, d, gram);
    for (int r = 1; r < rounds; r++) {
        if ((knn_s[r] = time_knn(x, n, d, k1, lists)) < 0)
            return fail("rlcc_knn");
        if ((knn_jaccard_s[r] = time_knn_jaccard(x, n, d, &opts, &graph)) < 0)
            return fail("rlcc_jaccard");
        rlcc_csr_free(graph);
        floor_s[r] = time_floor(x, n, d, gram);
    }
    for (int r = 0; r < rounds; r++) {
        knn_ratio[r] = knn_s[r] / floor_s[r];
        knn_jaccard_ratio[r] = knn_jaccard_s[r] / floor_s[r];
    }
    char knn_runs[RUN_CHARS * MAX_ROUNDS], knn_jaccard_runs[RUN_CHARS * MAX_ROUNDS],
        floor_runs[RUN_CHARS * MAX_ROUNDS];
    format_runs(knn_runs, knn_s, rounds);
    format_runs(knn_jaccard_runs, knn_jaccard_s, rounds);
    format_runs(floor_runs, floor_s, rounds);
    const double knn_jaccard_median = median_seconds(knn_jaccard_s, rounds);
    printf("n=%lld d=%lld cutoff=%g rounds=%d knn_s=%.3f jaccard_s=%.3f knn_jaccard_s=%.3f "
           "dbscan3_s=%.3f pipeline_s=%.3f floor_s=%.3f knn_ratio=%.3f knn_jaccard_ratio=%.3f "
           "knn_runs=%s knn_jaccard_runs=%s floor_runs=%s nnz=%lld "
           "clusters=%lld/%lld/%lld noise_pct=%.2f peak_rss_mb=%.0f knn_state_s=%.3f "
           "redecided_per_row=%.2f fallback_rows=%lld\n",
           (long long)n, (long long)d, (double)cutoff, rounds, median_seconds(knn_s, rounds),
           jaccard_s, knn_jaccard_median, dbscan_s, knn_jaccard_median + dbscan_s,
           median_seconds(floor_s, rounds), median_seconds(knn_ratio, rounds),
           median_seconds(knn_jaccard_ratio, rounds), knn_runs,
           knn_jaccard_runs, floor_runs, (long long)nnz, (long long)clusters[0],
           (long long)clusters[1], (long long)clusters[2], 100.0 * (double)noise / (double)n,
           rss, knn_state_s, (double)knn_stats.n_redecided / (double)n,
           (long long)knn_stats.n_fallback_rows);
    free(gram);
    free(x);
    free(lists);
    free(labels);
    return 0;
}
