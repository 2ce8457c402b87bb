/*
 * demo.c - `make demo`: cluster a built-in synthetic re-ID set the size of
 * Market-1501 with librlcc and say what was found.
 *
 *   bin/rlcc-demo [N [EPS [MIN_SAMPLES]]]
 *
 * The features are re-ID-like (751 identities on the unit hypersphere, six
 * cameras, noisy and a few hard images, D = 2048, fixed seed), so the
 * result can be scored against the true identities: pairwise precision,
 * recall and F-score over all pairs of images put in one cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rlcc.h"
#include "synth.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_pairs(const void *a, const void *b)
{
    const int64_t *p = a, *q = b;
    return p[0] != q[0] ? (p[0] < q[0] ? -1 : 1) : (p[1] > q[1]) - (p[1] < q[1]);
}

/* Pairwise scores: a pair is predicted together when both images share a
 * cluster (noise is alone), truly together when they share an identity.
 * Counted from the contingency table (cluster, identity) in O(n log n). */
static void pairwise_scores(const int32_t *labels, const int32_t *identity, int64_t n,
                            double *precision, double *recall, double *f_score)
{
    int64_t *cells = malloc(sizeof(int64_t) * 2 * (size_t)n);
    int32_t max_label = -1, max_id = -1;
    for (int64_t i = 0; i < n; i++) {
        max_label = labels[i] > max_label ? labels[i] : max_label;
        max_id = identity[i] > max_id ? identity[i] : max_id;
    }
    int64_t *cluster_size = calloc((size_t)max_label + 2, sizeof(int64_t));
    int64_t *id_size = calloc((size_t)max_id + 1, sizeof(int64_t));
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        id_size[identity[i]]++;
        if (labels[i] < 0)
            continue;
        cluster_size[labels[i]]++;
        cells[2 * m] = labels[i];
        cells[2 * m + 1] = identity[i];
        m++;
    }
    qsort(cells, (size_t)m, 2 * sizeof(int64_t), compare_pairs);
    double together = 0, predicted = 0, actual = 0;
    for (int64_t i = 0; i < m;) {
        int64_t j = i;
        while (j < m && cells[2 * j] == cells[2 * i] && cells[2 * j + 1] == cells[2 * i + 1])
            j++;
        double c = (double)(j - i);
        together += c * (c - 1) / 2;
        i = j;
    }
    for (int32_t c = 0; c <= max_label; c++)
        predicted += (double)cluster_size[c] * (double)(cluster_size[c] - 1) / 2;
    for (int32_t c = 0; c <= max_id; c++)
        actual += (double)id_size[c] * (double)(id_size[c] - 1) / 2;
    *precision = predicted > 0 ? together / predicted : 0;
    *recall = actual > 0 ? together / actual : 0;
    *f_score = *precision + *recall > 0 ? 2 * *precision * *recall / (*precision + *recall) : 0;
    free(cells);
    free(cluster_size);
    free(id_size);
}

int main(int argc, char **argv)
{
    const int64_t n = argc > 1 ? atoll(argv[1]) : 12936, d = 2048;
    const double eps = argc > 2 ? atof(argv[2]) : 1.0;
    const int64_t min_samples = argc > 3 ? atoll(argv[3]) : 4;
    synth_params params = synth_defaults(n, d);
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    int32_t *identity = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    if (!x || !identity || !labels || synth_generate(&params, x, identity, NULL) != 0) {
        fprintf(stderr, "rlcc-demo: out of memory\n");
        return 1;
    }
    printf("librlcc %s demo: %lld synthetic re-ID images, D = %lld, %d identities, "
           "%d cameras, %.0f%% hard images\n",
           rlcc_version_string(), (long long)n, (long long)d, params.identities,
           params.cameras, 100 * params.hard_fraction);

    rlcc_dbscan_stats stats;
    rlcc_dbscan_stats_init(&stats, sizeof stats);
    int64_t clusters = 0;
    double t0 = now();
    int rc = rlcc_dbscan_features(x, n, d, d, eps, min_samples, NULL, labels, &clusters, NULL,
                                  &stats);
    double seconds = now() - t0;
    if (rc != RLCC_OK) {
        fprintf(stderr, "rlcc-demo: %s: %s\n", rlcc_strerror(rc), rlcc_last_error());
        return 1;
    }
    double precision, recall, f_score;
    pairwise_scores(labels, identity, n, &precision, &recall, &f_score);
    printf("DBSCAN (euclidean, eps = %.2f, min_samples = %lld) in %.2f s:\n", eps,
           (long long)min_samples, seconds);
    printf("  clusters           %lld (true identities: %d)\n", (long long)clusters,
           params.identities);
    printf("  noise              %lld images (%.1f%%)\n", (long long)stats.n_noise,
           100.0 * (double)stats.n_noise / (double)n);
    printf("  core points        %lld\n", (long long)stats.n_core);
    printf("  neighbour pairs    %lld (re-decided in double: %lld)\n",
           (long long)stats.n_neighbor_pairs, (long long)stats.n_redecided);
    printf("  working memory     %.1f MiB (an n x n matrix would be %.0f MiB)\n",
           (double)stats.peak_bytes / 1048576.0, (double)n * (double)n * 4 / 1048576.0);
    printf("  pairwise precision %.4f  recall %.4f  F-score %.4f\n", precision, recall, f_score);
    free(x);
    free(identity);
    free(labels);
    return 0;
}
