/*
 * bench_dbscan.c - librlcc DBSCAN on re-ID-like embeddings against its
 * floor, one SSYRK of the same matrix through the same OpenBLAS.
 *
 *   bench_dbscan N D EPS MIN_SAMPLES [OUT.f32]
 *
 * Prints one line of key=value pairs. Peak RSS is read right after the
 * DBSCAN runs, before the floor allocates its N x N output. With OUT.f32
 * the features are also written raw (N*D float32) for the Python side.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "rlcc.h"
#include "synth.h"
#include "timing.h"

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s N D EPS MIN_SAMPLES [OUT.f32]\n", argv[0]);
        return 2;
    }
    const int64_t n = atoll(argv[1]), d = atoll(argv[2]);
    const double eps = atof(argv[3]);
    const int64_t min_samples = atoll(argv[4]);
    synth_params params = synth_defaults(n, d);
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    int32_t *identity = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    if (!x || !identity || !labels || synth_generate(&params, x, identity, NULL) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (argc > 5) {
        FILE *f = fopen(argv[5], "wb");
        if (!f || fwrite(x, sizeof(float), (size_t)(n * d), f) != (size_t)(n * d) || fclose(f)) {
            fprintf(stderr, "cannot write %s\n", argv[5]);
            return 1;
        }
    }
    rlcc_dbscan_stats stats;
    rlcc_dbscan_stats_init(&stats, sizeof stats);
    int64_t clusters = 0;
    double best = 1e30;
    for (int run = 0; run < 3; run++) {
        double t0 = now_seconds();
        int err = rlcc_dbscan_features(x, n, d, d, eps, min_samples, NULL, labels, &clusters,
                                       NULL, &stats);
        double t = now_seconds() - t0;
        if (err != RLCC_OK) {
            fprintf(stderr, "rlcc_dbscan_features: %s\n", rlcc_last_error());
            return 1;
        }
        if (t < best)
            best = t;
    }
    double rss = peak_rss_mb();

    float *gram = malloc(sizeof(float) * (size_t)(n * n));
    double floor_best = 1e30;
    for (int run = 0; gram && run < 3; run++) {
        double t0 = now_seconds();
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0f, x, (int)d,
                    0.0f, gram, (int)n);
        double t = now_seconds() - t0;
        if (t < floor_best)
            floor_best = t;
    }
    printf("n=%lld d=%lld eps=%g min_samples=%lld clusters=%lld noise=%lld noise_pct=%.2f "
           "redecided=%lld rlcc_s=%.3f floor_s=%.3f ratio=%.3f peak_rss_mb=%.0f "
           "work_mb=%.1f\n",
           (long long)n, (long long)d, eps, (long long)min_samples, (long long)clusters,
           (long long)stats.n_noise, 100.0 * (double)stats.n_noise / (double)n,
           (long long)stats.n_redecided, best, floor_best, best / floor_best, rss,
           (double)stats.peak_bytes / 1048576.0);
    free(gram);
    free(x);
    free(identity);
    free(labels);
    return 0;
}
