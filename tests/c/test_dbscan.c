/* test_dbscan.c - DBSCAN semantics on small hand-built inputs, the three
 * inputs agreeing with each other and with a naive reference written here,
 * thread-count independence, and the double-precision re-decision; every
 * feature test runs through every algorithm (auto, brute, grid, tree), and
 * the grid and the tree are held to the brute path's results bit for bit on
 * ties at eps, duplicates, extreme radii and bad input. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "test.h"

/* ---- the algorithms of rlcc_dbscan_features() ---------------------------- */

static const int32_t algorithms[] = {RLCC_DBSCAN_AUTO, RLCC_DBSCAN_BRUTE, RLCC_DBSCAN_GRID,
                                     RLCC_DBSCAN_TREE};
static const char *const algorithm_names[] = {"auto", "brute", "grid", "tree"};
#define N_ALGORITHMS 4

/* Whether algorithm takes this metric and d at all. */
static int algorithm_accepts(int32_t algorithm, int32_t metric, int64_t d)
{
    if (metric == RLCC_METRIC_COSINE)
        return algorithm == RLCC_DBSCAN_AUTO || algorithm == RLCC_DBSCAN_BRUTE;
    return algorithm != RLCC_DBSCAN_GRID || d <= RLCC_DBSCAN_GRID_MAX_DIM;
}

static int features_with(int32_t algorithm, int32_t metric, int n_threads, const float *x,
                         int64_t n, int64_t d, int64_t ldx, double eps, int64_t min_samples,
                         int32_t *labels, int64_t *k, uint8_t *core, rlcc_dbscan_stats *stats)
{
    rlcc_dbscan_options opts;
    rlcc_dbscan_options_init(&opts, sizeof opts);
    opts.algorithm = algorithm;
    opts.metric = metric;
    opts.n_threads = n_threads;
    return rlcc_dbscan_features(x, n, d, ldx, eps, min_samples, &opts, labels, k, core, stats);
}

/* Every algorithm and 1, 2 and 3 threads give the brute path's labels, core
 * flags, cluster count and stats counts (n_redecided and peak_bytes are the
 * brute path's own). Returns the brute path's cluster count. */
static int64_t check_every_algorithm(const float *x, int64_t n, int64_t d, int64_t ldx,
                                     double eps, int64_t min_samples)
{
    const size_t count = (size_t)(n > 0 ? n : 1);
    int32_t *want = malloc(sizeof(int32_t) * count), *labels = malloc(sizeof(int32_t) * count);
    uint8_t *want_core = malloc(count), *core = malloc(count);
    rlcc_dbscan_stats want_stats, stats;
    rlcc_dbscan_stats_init(&want_stats, sizeof want_stats);
    int64_t want_k = -1, k = -1;
    CHECK_OK(features_with(RLCC_DBSCAN_BRUTE, RLCC_METRIC_EUCLIDEAN, 1, x, n, d, ldx, eps,
                           min_samples, want, &want_k, want_core, &want_stats));
    for (int a = 0; a < N_ALGORITHMS; a++) {
        if (!algorithm_accepts(algorithms[a], RLCC_METRIC_EUCLIDEAN, d))
            continue;
        for (int threads = 1; threads <= 3; threads++) {
            for (int with_stats = 0; with_stats <= 1; with_stats++) {
                rlcc_dbscan_stats_init(&stats, sizeof stats);
                memset(labels, 0x55, sizeof(int32_t) * count);
                memset(core, 0x55, count);
                CHECK_OK(features_with(algorithms[a], RLCC_METRIC_EUCLIDEAN, threads, x, n, d,
                                       ldx, eps, min_samples, labels, &k,
                                       with_stats ? core : NULL, with_stats ? &stats : NULL));
                int same = k == want_k;
                for (int64_t i = 0; i < n; i++)
                    same &= labels[i] == want[i] && (!with_stats || core[i] == want_core[i]);
                if (with_stats)
                    same &= stats.n_neighbor_pairs == want_stats.n_neighbor_pairs &&
                            stats.n_core == want_stats.n_core &&
                            stats.n_noise == want_stats.n_noise;
                if (!same)
                    fprintf(stderr,
                            "  %s: %s, %d threads differs from brute (n %lld, d %lld, eps %.17g, "
                            "min_samples %lld): k %lld vs %lld, pairs %lld vs %lld\n",
                            test_current, algorithm_names[a], threads, (long long)n,
                            (long long)d, eps, (long long)min_samples, (long long)k,
                            (long long)want_k, (long long)stats.n_neighbor_pairs,
                            (long long)want_stats.n_neighbor_pairs);
                CHECK(same);
            }
        }
    }
    free(want);
    free(labels);
    free(want_core);
    free(core);
    return want_k;
}

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
    /* inputs 0 .. N_ALGORITHMS-1: features through each algorithm; then
     * dense and CSR */
    for (int input = 0; input < N_ALGORITHMS + 2; input++) {
        if (input < N_ALGORITHMS && !algorithm_accepts(algorithms[input], 0, d))
            continue;
        int rc = input < N_ALGORITHMS
                     ? features_with(algorithms[input], RLCC_METRIC_EUCLIDEAN, 0, x, n, d, d, eps,
                                     min_samples, labels, &k, core, NULL)
                 : input == N_ALGORITHMS ? rlcc_dbscan_dense(dist, n, n, eps, min_samples, NULL,
                                                             labels, &k, core, NULL)
                                         : rlcc_dbscan_csr(n, indptr, indices, data, eps,
                                                           min_samples, NULL, labels, &k, core,
                                                           NULL);
        CHECK_OK(rc);
        int same = 1;
        for (int64_t i = 0; i < n; i++)
            same &= labels[i] == want[i] && core[i] == want_core[i];
        if (!same)
            fprintf(stderr, "  %s: input %d (%s) differs from the reference\n", test_current,
                    input, input < N_ALGORITHMS ? algorithm_names[input] : "precomputed");
        CHECK(same);
        CHECK_EQ(k, want_k);
    }
    check_every_algorithm(x, n, d, d, eps, min_samples);
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
    for (int a = 0; a < N_ALGORITHMS; a++) {
        k = 99;
        stats.n_core = 5;
        CHECK_OK(features_with(algorithms[a], RLCC_METRIC_EUCLIDEAN, 0, NULL, 0, 3, 3, 0.5, 2,
                               NULL, &k, NULL, &stats));
        CHECK_EQ(k, 0);
        CHECK_EQ(stats.n_core, 0);
    }
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
    for (int alg = 0; alg < N_ALGORITHMS; alg++) {
        CHECK_OK(features_with(algorithms[alg], RLCC_METRIC_EUCLIDEAN, 0, x, n, d, ld, 1.0, 2, a,
                               &k, NULL, NULL));
        CHECK_OK(features_with(algorithms[alg], RLCC_METRIC_EUCLIDEAN, 0, packed, n, d, d, 1.0,
                               2, b, &k, NULL, NULL));
        CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK_EQ(k, 2);
    }
    check_every_algorithm(x, n, d, ld, 1.0, 2);
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
    for (int run = 0; run < 2 * N_ALGORITHMS; run++) {
        const int metric = run / N_ALGORITHMS;
        const int32_t algorithm = algorithms[run % N_ALGORITHMS];
        if (!algorithm_accepts(algorithm, metric, d))
            continue;
        rlcc_dbscan_options opts;
        rlcc_dbscan_options_init(&opts, sizeof opts);
        opts.metric = metric;
        opts.algorithm = algorithm;
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
    /* and the features path agrees with the dense one, on every algorithm */
    for (int a = 0; a < N_ALGORITHMS; a++) {
        if (!algorithm_accepts(algorithms[a], RLCC_METRIC_EUCLIDEAN, d))
            continue;
        opts.algorithm = algorithms[a];
        CHECK_OK(rlcc_dbscan_features(x, n, d, d, 0.9, 5, &opts, labels, &k, NULL, NULL));
        CHECK(memcmp(labels, reference, sizeof(int32_t) * n) == 0);
    }
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
    CHECK_OK(features_with(RLCC_DBSCAN_BRUTE, RLCC_METRIC_EUCLIDEAN, 0, x, n, d, d, 1.0, 3,
                           labels, &k, NULL, &stats));
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
    rlcc_dbscan_options brute;
    rlcc_dbscan_options_init(&brute, sizeof brute);
    brute.algorithm = RLCC_DBSCAN_BRUTE;
    CHECK_OK(rlcc_dbscan_features(small, n, d, d, 1.1, 3, &brute, labels, &k, NULL, &stats));
    CHECK(memcmp(labels, expected, sizeof labels) == 0);
    CHECK_EQ(stats.n_redecided, 0);
    /* the grid and the tree decide every pair in double: the right labels
     * far from the origin, and nothing to re-decide */
    for (int a = 2; a < N_ALGORITHMS; a++) {
        CHECK_OK(features_with(algorithms[a], RLCC_METRIC_EUCLIDEAN, 0, x, n, d, d, 1.0, 3,
                               labels, &k, NULL, &stats));
        CHECK(memcmp(labels, expected, sizeof labels) == 0);
        CHECK_EQ(stats.n_redecided, 0);
    }
    check_every_algorithm(x, n, d, d, 1.0, 3);
}

static void stats_are_reported(void)
{
    float x[8] = {1, 1, 1, 1, 9, 9, 9, 50};
    rlcc_dbscan_stats stats;
    rlcc_dbscan_stats_init(&stats, sizeof stats);
    int32_t labels[8];
    for (int a = 0; a < N_ALGORITHMS; a++) {
        rlcc_dbscan_stats_init(&stats, sizeof stats);
        CHECK_OK(features_with(algorithms[a], RLCC_METRIC_EUCLIDEAN, 0, x, 8, 1, 1, 0.25, 3,
                               labels, NULL, NULL, &stats));
        CHECK_EQ(stats.n_neighbor_pairs, 4 * 4 + 3 * 3 + 1);
        CHECK_EQ(stats.n_core, 7);
        CHECK_EQ(stats.n_noise, 1);
        CHECK(stats.peak_bytes > 0);
    }
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
    for (int a = 0; a < 2; a++) { /* auto picks brute for cosine */
        opts.algorithm = algorithms[a];
        k = -1;
        CHECK_OK(rlcc_dbscan_features(x, 4, 2, 2, 0.01, 2, &opts, labels, &k, core, NULL));
        CHECK_EQ(k, 2);
        CHECK_EQ(labels[0], 0);
        CHECK_EQ(labels[1], 0);
        CHECK_EQ(labels[2], 1);
        CHECK_EQ(labels[3], 1);
    }
}


/* ---- the grid and the tree against the brute path ----------------------- */

/* n points of a small integer lattice in d dimensions (coordinates
 * 0 .. side-1, many repeated): every distance is the square root of an
 * integer, so integer radii put many pairs exactly at eps. */
static float *lattice_points(int64_t n, int64_t d, int side, float scale, float offset)
{
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    for (int64_t i = 0; i < n * d; i++)
        x[i] = (float)(int)(uniform() * side) * scale + offset;
    return x;
}

/* Integer coordinates in 1 to 8 dimensions, radii exactly at lattice
 * distances (1, 2, 3: ties at eps) and between them, min_samples from 1 to
 * beyond n. */
static void lattice_ties_every_dimension(void)
{
    static const double radii[] = {1.0, 2.0, 3.0, 1.5, 0.5, 2.9999999999999996};
    for (int64_t d = 1; d <= 8; d++)
        for (int r = 0; r < 6; r++) {
            const int64_t n = 150 + 40 * d;
            float *x = lattice_points(n, d, d <= 2 ? 12 : 5, 1.0f, 0.0f);
            const int64_t min_samples = 1 + (d * 3 + r) % 9;
            check_every_algorithm(x, n, d, d, radii[r], min_samples);
            free(x);
        }
}

/* The same lattices scaled and moved (far from the origin, tiny and huge
 * spacing), where float32 Gram entries alone would be wrong and the cells'
 * coordinates are large. */
static void lattice_ties_scaled_and_moved(void)
{
    static const float scales[] = {0.25f, 1024.0f, 0x1p-20f, 3.0f};
    static const float offsets[] = {4096.0f, -1.0e6f, 1.0f, 0.0f};
    for (int s = 0; s < 4; s++)
        for (int64_t d = 1; d <= 4; d++) {
            float *x = lattice_points(300, d, 6, scales[s], offsets[s]);
            check_every_algorithm(x, 300, d, d, 2.0 * scales[s], 4);
            check_every_algorithm(x, 300, d, d, 1.0 * scales[s], 2);
            free(x);
        }
}

static void duplicates_and_one_cell(void)
{
    /* 400 copies of 5 points, and 400 points inside one cell */
    float *x = malloc(sizeof(float) * 2000 * 3);
    for (int64_t i = 0; i < 2000; i++)
        for (int64_t k = 0; k < 3; k++)
            x[i * 3 + k] = (float)((i % 5) * 10 + k);
    check_every_algorithm(x, 2000, 3, 3, 0.5, 3);
    check_every_algorithm(x, 2000, 3, 3, 10.0, 401);
    check_every_algorithm(x, 400, 3, 3, 1e-30, 80);
    for (int64_t i = 0; i < 400 * 3; i++)
        x[i] = (float)(uniform() * 0.01);
    check_every_algorithm(x, 400, 3, 3, 0.1, 400); /* exactly n neighbours each */
    check_every_algorithm(x, 400, 3, 3, 0.1, 401); /* one short of min_samples */
    check_every_algorithm(x, 400, 2, 3, 0.0173, 5);
    free(x);
}

/* eps beyond the extent (one cell), beyond sqrt(DBL_MAX) and infinite
 * (eps * eps overflows: every pair is a neighbour), below every distance,
 * and so small that eps * eps underflows (the grid hands over to the tree). */
static void extreme_radii(void)
{
    const int64_t n = 500;
    for (int64_t d = 1; d <= 5; d += 2) {
        float *x = lattice_points(n, d, 50, 0.5f, -3.0f);
        static const double radii[] = {1000.0, 1e200, INFINITY, 0.01, 1e-160, 1e-300, 5e-324};
        for (int r = 0; r < 7; r++) {
            check_every_algorithm(x, n, d, d, radii[r], 1);
            check_every_algorithm(x, n, d, d, radii[r], 3);
            check_every_algorithm(x, n, d, d, radii[r], n + 1);
        }
        free(x);
    }
    /* one dimension spanning more than 2^28 cells: the tree takes over */
    float y[400];
    for (int64_t i = 0; i < 200; i++) {
        y[2 * i] = (float)(i % 20) * 0.75f;
        y[2 * i + 1] = i == 0 ? 1.0e12f : (float)(i / 20);
    }
    check_every_algorithm(y, 200, 2, 2, 1.0, 3);
    /* the largest coordinates the library accepts (squared norm 2^120) */
    float big[60];
    for (int64_t i = 0; i < 30; i++) {
        big[2 * i] = 0x1p59f - (float)(i % 3) * 0x1p40f;
        big[2 * i + 1] = (float)(i / 3) * 0x1p40f;
    }
    check_every_algorithm(big, 30, 2, 2, 0x1p40, 2);
    check_every_algorithm(big, 30, 2, 2, 0x1p41, 4);
}

/* Two clusters that share one border point, the border point listed
 * before and after them: it joins the one with the lower number. */
static void clusters_touching_at_one_border_point(void)
{
    /* 2-D: left cluster around (0, 0), right around (4, 0); (2, 0) is at
     * exactly eps = 2 from (0, 0) and (4, 0) and has too few neighbours */
    float x[2 * 11] = {2, 0,  0, 0, -1, 0, 0, 1, 0, -1, -1, -1,
                       4, 0,  5, 0, 4, 1, 4, -1, 5, 1};
    const int64_t k = check_every_algorithm(x, 11, 2, 2, 2.0, 4);
    CHECK_EQ(k, 2);
    int32_t labels[11];
    for (int a = 0; a < N_ALGORITHMS; a++) {
        CHECK_OK(features_with(algorithms[a], RLCC_METRIC_EUCLIDEAN, 0, x, 11, 2, 2, 2.0, 4,
                               labels, NULL, NULL, NULL));
        CHECK_EQ(labels[0], 0); /* the border point */
        CHECK_EQ(labels[1], 0);
        CHECK_EQ(labels[6], 1);
    }
    /* swap the clusters' order: the right one is now cluster 0 */
    float y[2 * 11];
    memcpy(y, x, sizeof y);
    for (int64_t i = 1; i < 6; i++)
        for (int64_t k2 = 0; k2 < 2; k2++) {
            const float t = y[2 * i + k2];
            y[2 * i + k2] = y[2 * (i + 5) + k2];
            y[2 * (i + 5) + k2] = t;
        }
    check_every_algorithm(y, 11, 2, 2, 2.0, 4);
    CHECK_OK(features_with(RLCC_DBSCAN_GRID, RLCC_METRIC_EUCLIDEAN, 0, y, 11, 2, 2, 2.0, 4,
                           labels, NULL, NULL, NULL));
    CHECK_EQ(labels[0], 0);
    CHECK_EQ(labels[1], 0);
    CHECK_EQ(labels[6], 1);
}

/* Blobs big enough for many cells, tree nodes and both threads' work. */
static void random_blobs_every_dimension(void)
{
    for (int64_t d = 1; d <= 8; d++) {
        const int64_t n = 3000;
        float *x = blobs(n, d, 7);
        check_every_algorithm(x, n, d, d, 0.25 * sqrt((double)d), 6);
        check_every_algorithm(x, n, d, d, 0.12 * sqrt((double)d), 3);
        free(x);
    }
}

/* The grid and the tree need O(n) memory and stay within max_bytes: a
 * limit below that is refused, one above it is enough. */
static void grid_and_tree_memory(void)
{
    const int64_t n = 20000, d = 2;
    float *x = blobs(n, d, 5);
    int32_t *labels = malloc(sizeof(int32_t) * n);
    for (int a = 2; a < N_ALGORITHMS; a++) {
        rlcc_dbscan_options opts;
        rlcc_dbscan_options_init(&opts, sizeof opts);
        opts.algorithm = algorithms[a];
        opts.max_bytes = 64 * 1024;
        CHECK_ERR(rlcc_dbscan_features(x, n, d, d, 0.2, 5, &opts, labels, NULL, NULL, NULL),
                  RLCC_E_MEMORY_LIMIT, "");
        opts.max_bytes = 64 * n; /* O(n): no neighbour lists */
        rlcc_dbscan_stats stats;
        rlcc_dbscan_stats_init(&stats, sizeof stats);
        CHECK_OK(rlcc_dbscan_features(x, n, d, d, 0.2, 5, &opts, labels, NULL, NULL, &stats));
        CHECK(stats.peak_bytes <= 64 * n);
        CHECK(stats.n_neighbor_pairs > 40 * n); /* while the pairs are many */
    }
    free(labels);
    free(x);
}

/* The new option's bad values, and what grid and tree cannot do. */
static void algorithm_option_is_checked(void)
{
    float x[8] = {0, 0, 1, 0, 0, 1, NAN, 0};
    int32_t labels[4] = {7, 7, 7, 7};
    int64_t k = 99;
    rlcc_dbscan_options opts;
    rlcc_dbscan_options_init(&opts, sizeof opts);
    CHECK_EQ(opts.algorithm, RLCC_DBSCAN_AUTO);
    CHECK_EQ(opts.reserved, 0);
    for (int32_t bad = -1; bad <= 4; bad += 5) {
        opts.algorithm = bad;
        CHECK_ERR(rlcc_dbscan_features(x, 3, 2, 2, 1.0, 2, &opts, labels, &k, NULL, NULL),
                  RLCC_E_INVALID_ARGUMENT, "options.algorithm");
        float dist[1] = {0};
        CHECK_ERR(rlcc_dbscan_dense(dist, 1, 1, 1.0, 2, &opts, labels, &k, NULL, NULL),
                  RLCC_E_INVALID_ARGUMENT, "options.algorithm");
    }
    opts.algorithm = RLCC_DBSCAN_GRID;
    opts.reserved = 1;
    CHECK_ERR(rlcc_dbscan_features(x, 3, 2, 2, 1.0, 2, &opts, labels, &k, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "options.reserved");
    opts.reserved = 0;
    opts.metric = RLCC_METRIC_COSINE;
    CHECK_ERR(rlcc_dbscan_features(x, 3, 2, 2, 0.1, 2, &opts, labels, &k, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "euclidean distances only");
    opts.algorithm = RLCC_DBSCAN_TREE;
    CHECK_ERR(rlcc_dbscan_features(x, 3, 2, 2, 0.1, 2, &opts, labels, &k, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "euclidean distances only");
    opts.metric = RLCC_METRIC_EUCLIDEAN;
    opts.algorithm = RLCC_DBSCAN_GRID;
    float wide[2 * (RLCC_DBSCAN_GRID_MAX_DIM + 1)] = {0};
    CHECK_ERR(rlcc_dbscan_features(wide, 2, RLCC_DBSCAN_GRID_MAX_DIM + 1,
                                   RLCC_DBSCAN_GRID_MAX_DIM + 1, 1.0, 2, &opts, labels, &k, NULL,
                                   NULL),
              RLCC_E_INVALID_ARGUMENT, "takes d <= ");
    opts.algorithm = RLCC_DBSCAN_TREE; /* the tree takes any d */
    CHECK_OK(rlcc_dbscan_features(wide, 2, RLCC_DBSCAN_GRID_MAX_DIM + 1,
                                  RLCC_DBSCAN_GRID_MAX_DIM + 1, 1.0, 2, &opts, labels, &k, NULL,
                                  NULL));
    CHECK_EQ(k, 1);
    /* NaN and Inf: the brute path's codes and messages, outputs untouched */
    for (int a = 0; a < N_ALGORITHMS; a++) {
        for (int value = 0; value < 2; value++) {
            x[6] = value == 0 ? NAN : -INFINITY;
            int32_t out[4] = {7, 7, 7, 7};
            k = 99;
            CHECK_ERR(features_with(algorithms[a], RLCC_METRIC_EUCLIDEAN, 0, x, 4, 2, 2, 1.0, 2,
                                    out, &k, NULL, NULL),
                      RLCC_E_INVALID_ARGUMENT,
                      value == 0 ? "x: row 3 has NaN at column 0" : "x: row 3 has inf at column 0");
            CHECK_EQ(out[0], 7);
            CHECK_EQ(out[3], 7);
            CHECK_EQ(k, 99);
        }
        float huge[4] = {0x1p61f, 0, 0, 0};
        CHECK_ERR(features_with(algorithms[a], RLCC_METRIC_EUCLIDEAN, 0, huge, 2, 2, 2, 1.0, 2,
                                labels, &k, NULL, NULL),
                  RLCC_E_INVALID_ARGUMENT, "above the 2^120");
    }
    /* a 1.4 caller's struct (no algorithm field) gets auto */
    rlcc_dbscan_options old;
    rlcc_dbscan_options_init(&old, offsetof(rlcc_dbscan_options, algorithm));
    float ok[6] = {0, 0, 1, 0, 0, 1};
    CHECK_OK(rlcc_dbscan_features(ok, 3, 2, 2, 1.0, 3, &old, labels, &k, NULL, NULL));
    CHECK_EQ(k, 1);
}


/* From d = 8 the tree screens pairs and boxes in float32 (distance.h):
 * ties at eps (integer lattices, where the screen is exact and must hand
 * every tie to the double decision), values whose squares underflow or
 * nearly overflow float32, and random data, all equal to brute. */
static void tree_float32_screen(void)
{
    static const int64_t dims[] = {8, 9, 16, 33, 64};
    for (int i = 0; i < 5; i++) {
        const int64_t d = dims[i], n = 400;
        float *x = lattice_points(n, d, 3, 1.0f, 0.0f);
        check_every_algorithm(x, n, d, d, 2.0, 3);
        check_every_algorithm(x, n, d, d, sqrt((double)d) * 0.75, 5);
        check_every_algorithm(x, n, d, d, nextafter(3.0, 0.0), 2);
        free(x);
        x = lattice_points(n, d, 3, 0x1p-70f, 0.0f); /* squares below float32's range */
        check_every_algorithm(x, n, d, d, 2.0 * 0x1p-70, 3);
        check_every_algorithm(x, n, d, d, 0x1p-140, 1);
        free(x);
        x = lattice_points(n, d, 3, 0x1p55f, 0.0f); /* squares near float32's top */
        check_every_algorithm(x, n, d, d, 2.0 * 0x1p55, 3);
        free(x);
        x = blobs(n, d, 4);
        check_every_algorithm(x, n, d, d, 0.5 * sqrt((double)d), 4);
        free(x);
    }
}


/* Unit rows around random directions (re-ID-like): no structure a kd-tree
 * can use from d = 16 on. */
static float *unit_rows(int64_t n, int64_t d)
{
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    for (int64_t i = 0; i < n; i++) {
        double norm2 = 0.0;
        for (int64_t k = 0; k < d; k++) {
            const double v = (uniform() - 0.5) + ((i / 20) * 7919 + k) % 13 * 0.02;
            x[i * d + k] = (float)v;
            norm2 += v * v;
        }
        for (int64_t k = 0; k < d; k++)
            x[i * d + k] = (float)(x[i * d + k] / sqrt(norm2));
    }
    return x;
}

/* auto's probe (d 8 to 512): clustered data keeps the tree, unstructured
 * data goes to brute; which path ran shows in the budget's peak (a Gram
 * tile against O(n d)), and both give brute's result. */
static void auto_probes_the_tree(void)
{
    const int64_t n = 3000, d = 32;
    float *clustered = malloc(sizeof(float) * n * d), *unstructured = unit_rows(n, d);
    double centre[40][32];
    for (int c = 0; c < 40; c++) /* 40 clusters far apart: a query examines 1/40 */
        for (int64_t k = 0; k < d; k++)
            centre[c][k] = (uniform() - 0.5) * 40.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++)
            clustered[i * d + k] = (float)(centre[i % 40][k] + (uniform() - 0.5) * 1.2);
    const float *data[2] = {clustered, unstructured};
    const double eps[2] = {0.45 * sqrt((double)d), 0.9};
    const int32_t expected[2] = {RLCC_DBSCAN_TREE, RLCC_DBSCAN_BRUTE};
    int32_t *labels = malloc(sizeof(int32_t) * n);
    for (int c = 0; c < 2; c++) {
        int64_t peak[4];
        for (int a = 0; a < N_ALGORITHMS; a++) {
            rlcc_dbscan_stats stats;
            rlcc_dbscan_stats_init(&stats, sizeof stats);
            peak[a] = -1;
            if (algorithm_accepts(algorithms[a], RLCC_METRIC_EUCLIDEAN, d) &&
                features_with(algorithms[a], RLCC_METRIC_EUCLIDEAN, 1, data[c], n, d, d, eps[c],
                              4, labels, NULL, NULL, &stats) == RLCC_OK)
                peak[a] = stats.peak_bytes;
        }
        CHECK(peak[0] > 0);
        CHECK_EQ(peak[0], peak[expected[c]]); /* the path auto chose */
        check_every_algorithm(data[c], n, d, d, eps[c], 4);
    }
    free(labels);
    free(clustered);
    free(unstructured);
}


/* Below 32,768 rows the grid and the tree run on one thread; above, the
 * team. 40,000 rows: 1, 2 and 3 threads, grid and tree (two independent
 * searches), with and without stats, all give the same bytes. */
static void threads_on_large_inputs(void)
{
    const int64_t n = 40000;
    static const int64_t dims[] = {2, 3, 8};
    static const double radii[] = {0.11, 0.2, 0.9};
    for (int i = 0; i < 3; i++) {
        const int64_t d = dims[i];
        float *x = blobs(n, d, 25);
        const double eps = radii[i];
        int32_t *want = malloc(sizeof(int32_t) * n), *labels = malloc(sizeof(int32_t) * n);
        uint8_t *want_core = malloc(n), *core = malloc(n);
        rlcc_dbscan_stats want_stats, stats;
        rlcc_dbscan_stats_init(&want_stats, sizeof want_stats);
        int64_t want_k = -1, k = -1;
        CHECK_OK(features_with(RLCC_DBSCAN_TREE, RLCC_METRIC_EUCLIDEAN, 1, x, n, d, d, eps, 6,
                               want, &want_k, want_core, &want_stats));
        if (want_k < 2)
            fprintf(stderr, "  %s: d = %lld gives %lld clusters\n", test_current, (long long)d,
                    (long long)want_k);
        CHECK(want_k >= 2);
        for (int32_t algorithm = RLCC_DBSCAN_GRID; algorithm <= RLCC_DBSCAN_TREE; algorithm++) {
            if (!algorithm_accepts(algorithm, RLCC_METRIC_EUCLIDEAN, d))
                continue;
            for (int threads = 1; threads <= 3; threads++) {
                rlcc_dbscan_stats_init(&stats, sizeof stats);
                CHECK_OK(features_with(algorithm, RLCC_METRIC_EUCLIDEAN, threads, x, n, d, d, eps,
                                       6, labels, &k, core, &stats));
                CHECK(memcmp(labels, want, sizeof(int32_t) * n) == 0);
                CHECK(memcmp(core, want_core, (size_t)n) == 0);
                CHECK_EQ(k, want_k);
                CHECK_EQ(stats.n_neighbor_pairs, want_stats.n_neighbor_pairs);
                CHECK_OK(features_with(algorithm, RLCC_METRIC_EUCLIDEAN, threads, x, n, d, d, eps,
                                       6, labels, &k, NULL, NULL));
                CHECK(memcmp(labels, want, sizeof(int32_t) * n) == 0);
            }
        }
        free(x);
        free(want);
        free(labels);
        free(want_core);
        free(core);
    }
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
    {"lattice_ties_every_dimension", lattice_ties_every_dimension},
    {"lattice_ties_scaled_and_moved", lattice_ties_scaled_and_moved},
    {"duplicates_and_one_cell", duplicates_and_one_cell},
    {"extreme_radii", extreme_radii},
    {"clusters_touching_at_one_border_point", clusters_touching_at_one_border_point},
    {"random_blobs_every_dimension", random_blobs_every_dimension},
    {"grid_and_tree_memory", grid_and_tree_memory},
    {"algorithm_option_is_checked", algorithm_option_is_checked},
    {"tree_float32_screen", tree_float32_screen},
    {"auto_probes_the_tree", auto_probes_the_tree},
    {"threads_on_large_inputs", threads_on_large_inputs},
    {NULL, NULL},
};
