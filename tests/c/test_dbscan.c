/* test_dbscan.c - DBSCAN semantics on small hand-built inputs, the three
 * inputs agreeing with each other and with a naive reference written here,
 * thread-count independence, and the double-precision re-decision. */
#include <math.h>
#include <stdlib.h>

#include "test.h"

/* ---- a naive reference: scikit-learn's dbscan_inner over a dense matrix,
 * labelling at pop time as scikit-learn does. */
static int64_t naive_dbscan(const float *dist, int64_t n, float eps, int64_t min_samples,
                            int32_t *labels, uint8_t *core)
{
    int64_t *stack = malloc(sizeof(int64_t) * (size_t)(n * n + 1));
    for (int64_t i = 0; i < n; i++) {
        int64_t count = 0;
        for (int64_t j = 0; j < n; j++)
            count += dist[i * n + j] <= eps;
        core[i] = count >= min_samples;
        labels[i] = -1;
    }
    int32_t label = 0;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] != -1 || !core[i])
            continue;
        int64_t top = 0, p = i;
        for (;;) {
            if (labels[p] == -1) {
                labels[p] = label;
                if (core[p])
                    for (int64_t j = 0; j < n; j++)
                        if (dist[p * n + j] <= eps && labels[j] == -1)
                            stack[top++] = j;
            }
            if (top == 0)
                break;
            p = stack[--top];
        }
        label++;
    }
    free(stack);
    return label;
}

/* Dense Euclidean distances of small-integer points: exact when every
 * distance is an integer (points on a line) or compared as such. */
static float *euclidean_matrix(const float *x, int64_t n, int64_t d)
{
    float *dist = malloc(sizeof(float) * (size_t)(n * n));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t k = 0; k < d; k++) {
                double diff = (double)x[i * d + k] - (double)x[j * d + k];
                s += diff * diff;
            }
            dist[i * n + j] = (float)sqrt(s);
        }
    return dist;
}

/* The same dense matrix as CSR keeping entries <= keep (diagonal dropped,
 * to exercise the implicit-zero rule). Caller frees the three arrays. */
static void dense_to_csr(const float *dist, int64_t n, float keep, int64_t **indptr,
                         int32_t **indices, float **data)
{
    *indptr = malloc(sizeof(int64_t) * (size_t)(n + 1));
    *indices = malloc(sizeof(int32_t) * (size_t)(n * n + 1));
    *data = malloc(sizeof(float) * (size_t)(n * n + 1));
    int64_t nnz = 0;
    (*indptr)[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++)
            if (j != i && dist[i * n + j] <= keep) {
                (*indices)[nnz] = (int32_t)j;
                (*data)[nnz++] = dist[i * n + j];
            }
        (*indptr)[i + 1] = nnz;
    }
}

/* Runs features (euclidean), dense and CSR on the same points and checks
 * each against the naive reference and the expected labels (when given). */
static void check_three_inputs(const float *x, int64_t n, int64_t d, double eps,
                               int64_t min_samples, const int32_t *expected)
{
    float *dist = euclidean_matrix(x, n, d);
    int32_t *want = malloc(sizeof(int32_t) * (size_t)n);
    uint8_t *want_core = malloc((size_t)n);
    int64_t want_k = naive_dbscan(dist, n, (float)eps, min_samples, want, want_core);
    if (expected) {
        int same = 1;
        for (int64_t i = 0; i < n; i++)
            same &= want[i] == expected[i];
        CHECK(same); /* the reference itself agrees with the hand-made answer */
    }
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    uint8_t *core = malloc((size_t)n);
    int64_t k = -1;
    int64_t *indptr;
    int32_t *indices;
    float *data;
    dense_to_csr(dist, n, (float)eps * 2.0f, &indptr, &indices, &data);
    for (int input = 0; input < 3; input++) {
        int rc = input == 0 ? rlcc_dbscan_features(x, n, d, d, eps, min_samples, NULL, labels,
                                                   &k, core, NULL)
                 : input == 1 ? rlcc_dbscan_dense(dist, n, n, eps, min_samples, NULL, labels,
                                                  &k, core, NULL)
                              : rlcc_dbscan_csr(n, indptr, indices, data, eps, min_samples,
                                                NULL, labels, &k, core, NULL);
        CHECK_OK(rc);
        int same = 1;
        for (int64_t i = 0; i < n; i++)
            same &= labels[i] == want[i] && core[i] == want_core[i];
        if (!same)
            fprintf(stderr, "  %s: input %d differs from the reference\n", test_current, input);
        CHECK(same);
        CHECK_EQ(k, want_k);
    }
    free(indptr);
    free(indices);
    free(data);
    free(dist);
    free(want);
    free(want_core);
    free(labels);
    free(core);
}

static void empty_input(void)
{
    int64_t k = 99;
    int32_t label = 77;
    rlcc_dbscan_stats stats;
    rlcc_dbscan_stats_init(&stats, sizeof stats);
    stats.n_core = 5;
    CHECK_OK(rlcc_dbscan_features(NULL, 0, 3, 3, 0.5, 2, NULL, NULL, &k, NULL, &stats));
    CHECK_EQ(k, 0);
    CHECK_EQ(stats.n_core, 0);
    k = 99;
    CHECK_OK(rlcc_dbscan_dense(NULL, 0, 1, 0.5, 2, NULL, NULL, &k, NULL, NULL));
    CHECK_EQ(k, 0);
    int64_t indptr0 = 0;
    k = 99;
    CHECK_OK(rlcc_dbscan_csr(0, &indptr0, NULL, NULL, 0.5, 2, NULL, &label, &k, NULL, NULL));
    CHECK_EQ(k, 0);
    CHECK_EQ(label, 77);
}

static void one_point(void)
{
    float x[2] = {3.0f, 4.0f};
    int32_t one_cluster[1] = {0}, noise[1] = {-1};
    check_three_inputs(x, 1, 2, 0.5, 1, one_cluster);
    check_three_inputs(x, 1, 2, 0.5, 2, noise);
}

static void all_noise(void)
{
    float x[5] = {0, 10, 20, 30, 40};
    int32_t expected[5] = {-1, -1, -1, -1, -1};
    check_three_inputs(x, 5, 1, 5.0, 2, expected);
}

static void one_cluster(void)
{
    float x[6] = {0, 1, 2, 3, 4, 5};
    int32_t expected[6] = {0, 0, 0, 0, 0, 0};
    check_three_inputs(x, 6, 1, 1.5, 3, expected);
}

static void duplicate_points(void)
{
    float x[8] = {1, 1, 1, 1, 9, 9, 9, 50};
    int32_t expected[8] = {0, 0, 0, 0, 1, 1, 1, -1};
    check_three_inputs(x, 8, 1, 0.25, 3, expected);
}

static void min_samples_one_makes_every_point_core(void)
{
    float x[4] = {0, 10, 11, 30};
    int32_t expected[4] = {0, 1, 1, 2};
    check_three_inputs(x, 4, 1, 1.0, 1, expected);
}

/* Distances exactly equal to eps are neighbours (<=): integers on a line,
 * where the Gram screen must hand the tie to the exact re-decision. */
static void distance_exactly_eps(void)
{
    float x[6] = {0, 2, 4, 100, 103, 106};
    int32_t expected[6] = {0, 0, 0, -1, -1, -1};
    check_three_inputs(x, 6, 1, 2.0, 2, expected);
    int32_t expected3[6] = {0, 0, 0, 1, 1, 1};
    check_three_inputs(x, 6, 1, 3.0, 2, expected3);
    /* 3-4-5 triangles: integer distances in 2-D */
    float y[6] = {0, 0, 3, 4, 6, 8};
    int32_t expected5[3] = {0, 0, 0};
    check_three_inputs(y, 3, 2, 5.0, 2, expected5);
    int32_t expected_noise[3] = {-1, -1, -1};
    check_three_inputs(y, 3, 2, 4.999, 2, expected_noise);
}

/* Point 3 is a border point of both the cluster at 0..2 and the one at
 * 4..6: it goes to the earlier-numbered cluster whatever its index. */
static void border_point_goes_to_earliest_cluster(void)
{
    /* 3.25 sees 2 and 4.5 at exactly eps but has only 3 neighbours, so it
     * is a border point of both clusters */
    float x[11] = {0, 0.5f, 1, 1.5f, 2, 3.25f, 4.5f, 5, 5.5f, 6, 6.5f};
    int32_t expected[11] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    check_three_inputs(x, 11, 1, 1.25, 4, expected);
    /* the same with the right-hand cluster first in index order */
    float y[11] = {4.5f, 5, 5.5f, 6, 6.5f, 3.25f, 0, 0.5f, 1, 1.5f, 2};
    check_three_inputs(y, 11, 1, 1.25, 4, expected);
}

/* Clusters are numbered by their lowest-index core point. */
static void clusters_numbered_by_lowest_core(void)
{
    float x[7] = {100, 0, 101, 1, 102, 2, 500};
    int32_t expected[7] = {0, 1, 0, 1, 0, 1, -1};
    check_three_inputs(x, 7, 1, 1.0, 2, expected);
}

static void asymmetric_precomputed(void)
{
    /* 0 sees 1 and 2; nobody sees 0. min_samples 2 (self included):
     * 0 is core, 1 and 2 are core only through each other. */
    const float dist[9] = {
        0.0f, 0.5f, 0.5f,
        9.0f, 0.0f, 0.5f,
        9.0f, 0.5f, 0.0f,
    };
    int32_t labels[3];
    uint8_t core[3];
    int64_t k;
    CHECK_OK(rlcc_dbscan_dense(dist, 3, 3, 1.0, 3, NULL, labels, &k, core, NULL));
    /* min_samples 3: only 0 is core (itself, 1, 2); 1 and 2 join it. */
    CHECK_EQ(labels[0], 0);
    CHECK_EQ(labels[1], 0);
    CHECK_EQ(labels[2], 0);
    CHECK_EQ(core[1], 0);
    /* Reverse the direction: 1 and 2 see 0 but 0 sees nobody. */
    const float rev[9] = {
        0.0f, 9.0f, 9.0f,
        0.5f, 0.0f, 0.5f,
        0.5f, 0.5f, 0.0f,
    };
    CHECK_OK(rlcc_dbscan_dense(rev, 3, 3, 1.0, 3, NULL, labels, &k, core, NULL));
    CHECK_EQ(core[0], 0);
    CHECK_EQ(core[1], 1);
    CHECK_EQ(labels[0], 0); /* reached from core 1, so it joins cluster 0 */
    CHECK_EQ(labels[1], 0);
    CHECK_EQ(k, 1);
    int64_t indptr[4] = {0, 1, 3, 5};
    int32_t indices[5] = {0, 0, 2, 0, 1};
    float data[5] = {0.0f, 0.5f, 0.5f, 0.5f, 0.5f};
    CHECK_OK(rlcc_dbscan_csr(3, indptr, indices, data, 1.0, 3, NULL, labels, &k, core, NULL));
    CHECK_EQ(core[0], 0);
    CHECK_EQ(labels[0], 0);
    CHECK_EQ(k, 1);
}

static void diagonal_above_eps(void)
{
    /* A stored diagonal above eps: the point is not its own neighbour. */
    const float dist[4] = {
        5.0f, 0.5f,
        0.5f, 0.0f,
    };
    int32_t labels[2];
    uint8_t core[2];
    int64_t k;
    CHECK_OK(rlcc_dbscan_dense(dist, 2, 2, 1.0, 2, NULL, labels, &k, core, NULL));
    CHECK_EQ(core[0], 0); /* only 1 is in its neighbourhood */
    CHECK_EQ(core[1], 1);
    CHECK_EQ(labels[0], 0);
    /* CSR: stored diagonal 5.0 counts as stored; a missing one counts as 0. */
    int64_t indptr[3] = {0, 2, 3};
    int32_t indices[3] = {0, 1, 0};
    float data[3] = {5.0f, 0.5f, 0.5f};
    CHECK_OK(rlcc_dbscan_csr(2, indptr, indices, data, 1.0, 2, NULL, labels, &k, core, NULL));
    CHECK_EQ(core[0], 0);
    CHECK_EQ(core[1], 1); /* implicit diagonal + 0 */
}

/* A leading dimension larger than d: the padding must never be read as
 * data (it holds NaN here, which would be refused if it were). */
static void leading_dimension_larger_than_d(void)
{
    const int64_t n = 6, d = 2, ld = 5;
    float x[30];
    float packed[12] = {0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10};
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < ld; k++)
            x[i * ld + k] = k < d ? packed[i * d + k] : NAN;
    int32_t a[6], b[6];
    int64_t k;
    CHECK_OK(rlcc_dbscan_features(x, n, d, ld, 1.0, 2, NULL, a, &k, NULL, NULL));
    CHECK_OK(rlcc_dbscan_features(packed, n, d, d, 1.0, 2, NULL, b, &k, NULL, NULL));
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK_EQ(k, 2);
    float dist_padded[6 * 8];
    float *dist = euclidean_matrix(packed, n, d);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < 8; j++)
            dist_padded[i * 8 + j] = j < n ? dist[i * n + j] : -1.0f;
    CHECK_OK(rlcc_dbscan_dense(dist_padded, n, 8, 1.0, 2, NULL, a, &k, NULL, NULL));
    CHECK(memcmp(a, b, sizeof a) == 0);
    free(dist);
}

/* Deterministic pseudo-random numbers for the larger cases. */
static uint64_t rng_state = 12345;
static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) * 0x1p-53;
}

/* Blobs in d dimensions; with a small max_bytes they span many panels. */
static float *blobs(int64_t n, int64_t d, int centres)
{
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i % centres);
        for (int64_t k = 0; k < d; k++)
            x[i * d + k] = (float)((c * 7919 % 13) * (k % 3 == 0) + c * 0.5 +
                                   (uniform() - 0.5) * 1.2);
    }
    return x;
}

static void identical_for_every_thread_count(void)
{
    const int64_t n = 1500, d = 6;
    float *x = blobs(n, d, 9);
    int32_t *reference = malloc(sizeof(int32_t) * n), *labels = malloc(sizeof(int32_t) * n);
    uint8_t *ref_core = malloc(n), *core = malloc(n);
    for (int metric = 0; metric < 2; metric++) {
        rlcc_dbscan_options opts;
        rlcc_dbscan_options_init(&opts, sizeof opts);
        opts.metric = metric;
        opts.n_threads = 1;
        /* 16 MiB allows a 4 MiB Gram tile: 1500 x 4 bytes a row, so about
         * 700 rows a panel and 3 panels */
        opts.max_bytes = 16 << 20;
        double eps = metric == RLCC_METRIC_EUCLIDEAN ? 0.9 : 0.01;
        int64_t k1, k;
        CHECK_OK(rlcc_dbscan_features(x, n, d, d, eps, 5, &opts, reference, &k1, ref_core, NULL));
        CHECK(k1 >= 2);
        for (int threads = 2; threads <= 3; threads++) {
            opts.n_threads = threads;
            CHECK_OK(rlcc_dbscan_features(x, n, d, d, eps, 5, &opts, labels, &k, core, NULL));
            CHECK(memcmp(labels, reference, sizeof(int32_t) * n) == 0);
            CHECK(memcmp(core, ref_core, (size_t)n) == 0);
            CHECK_EQ(k, k1);
        }
    }
    /* dense precomputed, several row blocks */
    float *dist = euclidean_matrix(x, n, d);
    rlcc_dbscan_options opts;
    rlcc_dbscan_options_init(&opts, sizeof opts);
    opts.n_threads = 1;
    int64_t k1, k;
    CHECK_OK(rlcc_dbscan_dense(dist, n, n, 0.9, 5, &opts, reference, &k1, NULL, NULL));
    for (int threads = 2; threads <= 3; threads++) {
        opts.n_threads = threads;
        CHECK_OK(rlcc_dbscan_dense(dist, n, n, 0.9, 5, &opts, labels, &k, NULL, NULL));
        CHECK(memcmp(labels, reference, sizeof(int32_t) * n) == 0);
    }
    /* and the features path agrees with the dense one */
    CHECK_OK(rlcc_dbscan_features(x, n, d, d, 0.9, 5, &opts, labels, &k, NULL, NULL));
    CHECK(memcmp(labels, reference, sizeof(int32_t) * n) == 0);
    free(dist);
    free(x);
    free(reference);
    free(labels);
    free(ref_core);
    free(core);
}

/* Rows far from the origin: |x|^2 ~ 2^24, so a float32-only distance from
 * the Gram matrix, |a|^2 + |b|^2 - 2ab, loses every unit of the true
 * squared distance (ulp(2^24) = 2). The screen must see its own error
 * band, re-decide those pairs from the rows, and get the exact answer. */
static void float32_screen_is_redecided_in_double(void)
{
    const int64_t n = 9, d = 2;
    const float ys[9] = {1, 2, 3, 11, 12, 13, 21, 22, 41};
    float x[18];
    for (int64_t i = 0; i < n; i++) {
        x[i * d] = 4096.0f;
        x[i * d + 1] = ys[i];
    }
    /* how many pairs a float32-only decision gets wrong at eps = 1 */
    int wrong = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            float na = x[i * d] * x[i * d] + x[i * d + 1] * x[i * d + 1];
            float nb = x[j * d] * x[j * d] + x[j * d + 1] * x[j * d + 1];
            float dot = x[i * d] * x[j * d] + x[i * d + 1] * x[j * d + 1];
            float d2_float32 = na + nb - 2.0f * dot;
            float diff = ys[i] - ys[j];
            wrong += (d2_float32 <= 1.0f) != (diff * diff <= 1.0f);
        }
    CHECK(wrong > 0);

    int32_t expected[9] = {0, 0, 0, 1, 1, 1, -1, -1, -1};
    int32_t labels[9];
    rlcc_dbscan_stats stats;
    rlcc_dbscan_stats_init(&stats, sizeof stats);
    int64_t k;
    CHECK_OK(rlcc_dbscan_features(x, n, d, d, 1.0, 3, NULL, labels, &k, NULL, &stats));
    CHECK(memcmp(labels, expected, sizeof labels) == 0);
    CHECK_EQ(k, 2);
    CHECK(stats.n_redecided >= wrong); /* every pair float32 gets wrong is in the band */
    CHECK(stats.n_redecided < n * (n - 1) / 2); /* far pairs are not */
    /* near the origin the same geometry needs no re-decision at all */
    float small[18];
    for (int64_t i = 0; i < n; i++) {
        small[i * d] = 0.0f;
        small[i * d + 1] = ys[i] + 0.25f;
    }
    CHECK_OK(rlcc_dbscan_features(small, n, d, d, 1.1, 3, NULL, labels, &k, NULL, &stats));
    CHECK(memcmp(labels, expected, sizeof labels) == 0);
    CHECK_EQ(stats.n_redecided, 0);
}

static void stats_are_reported(void)
{
    float x[8] = {1, 1, 1, 1, 9, 9, 9, 50};
    rlcc_dbscan_stats stats;
    rlcc_dbscan_stats_init(&stats, sizeof stats);
    int32_t labels[8];
    CHECK_OK(rlcc_dbscan_features(x, 8, 1, 1, 0.25, 3, NULL, labels, NULL, NULL, &stats));
    CHECK_EQ(stats.n_neighbor_pairs, 4 * 4 + 3 * 3 + 1);
    CHECK_EQ(stats.n_core, 7);
    CHECK_EQ(stats.n_noise, 1);
    CHECK(stats.peak_bytes > 0);
}

static void cosine_metric(void)
{
    /* directions at 0, 1 and 90 degrees, lengths varied: cosine ignores them */
    float x[8] = {1, 0, 5, 0.0872f, 0, 3, 0, 0.5f};
    int32_t labels[4];
    uint8_t core[4];
    int64_t k;
    rlcc_dbscan_options opts;
    rlcc_dbscan_options_init(&opts, sizeof opts);
    opts.metric = RLCC_METRIC_COSINE;
    CHECK_OK(rlcc_dbscan_features(x, 4, 2, 2, 0.01, 2, &opts, labels, &k, core, NULL));
    CHECK_EQ(k, 2);
    CHECK_EQ(labels[0], 0);
    CHECK_EQ(labels[1], 0);
    CHECK_EQ(labels[2], 1);
    CHECK_EQ(labels[3], 1);
}

const test_case dbscan_tests[] = {
    {"empty_input", empty_input},
    {"one_point", one_point},
    {"all_noise", all_noise},
    {"one_cluster", one_cluster},
    {"duplicate_points", duplicate_points},
    {"min_samples_one_makes_every_point_core", min_samples_one_makes_every_point_core},
    {"distance_exactly_eps", distance_exactly_eps},
    {"border_point_goes_to_earliest_cluster", border_point_goes_to_earliest_cluster},
    {"clusters_numbered_by_lowest_core", clusters_numbered_by_lowest_core},
    {"asymmetric_precomputed", asymmetric_precomputed},
    {"diagonal_above_eps", diagonal_above_eps},
    {"leading_dimension_larger_than_d", leading_dimension_larger_than_d},
    {"identical_for_every_thread_count", identical_for_every_thread_count},
    {"float32_screen_is_redecided_in_double", float32_screen_is_redecided_in_double},
    {"stats_are_reported", stats_are_reported},
    {"cosine_metric", cosine_metric},
    {NULL, NULL},
};
