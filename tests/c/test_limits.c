/* test_limits.c - sizes at the int32 and int64 limits, eps at the float
 * boundaries, subnormal and huge feature values, max_bytes below the work:
 * each either works or returns a clear code, without allocating (or
 * reading) the impossible first. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "test.h"

static float tiny_buffer[64];

static void impossible_sizes_are_refused_before_any_work(void)
{
    int32_t labels[4];
    int64_t idx[4];
    rlcc_csr *out = NULL;
    const int64_t huge = INT32_MAX; /* labels are int32: the largest n allowed */
    rlcc_knn_options ko;
    rlcc_knn_options_init(&ko, sizeof ko);
    ko.max_bytes = 1 << 20;
    /* n * k (kNN lists) and n * k1 * k2 (the Jaccard matrices) would not fit */
    CHECK_ERR(rlcc_knn(tiny_buffer, huge, 1, 1, 30, &ko, idx, NULL), RLCC_E_MEMORY_LIMIT, "max_bytes");
    rlcc_jaccard_options jo;
    rlcc_jaccard_options_init(&jo, sizeof jo);
    jo.max_bytes = 1 << 20;
    CHECK_ERR(rlcc_jaccard(tiny_buffer, huge, 1, 1, NULL, &jo, &out), RLCC_E_MEMORY_LIMIT, "max_bytes");
    CHECK(out == NULL);
    /* n * n (the dense result) fits int64 but not the machine */
    CHECK_ERR(rlcc_jaccard_dense(tiny_buffer, huge, 1, 1, NULL, &jo, tiny_buffer, huge),
              RLCC_E_MEMORY_LIMIT, "max_bytes");
    rlcc_pseudo_options po;
    rlcc_pseudo_options_init(&po, sizeof po);
    po.max_bytes = 1 << 20;
    CHECK_ERR(rlcc_pseudo_labels(tiny_buffer, huge, 1, 1, &po, labels, NULL, NULL),
              RLCC_E_MEMORY_LIMIT, "max_bytes");
    /* past int32 or int64 */
    CHECK_ERR(rlcc_knn(tiny_buffer, huge + 1, 1, 1, 1, NULL, idx, NULL), RLCC_E_INVALID_ARGUMENT, "INT32_MAX");
    CHECK_ERR(rlcc_dbscan_dense(tiny_buffer, huge + 1, huge + 1, 1.0, 1, NULL, labels, NULL, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "INT32_MAX");
    CHECK_ERR(rlcc_dbscan_features(tiny_buffer, 4, 2, INT64_MAX, 1.0, 1, NULL, labels, NULL, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "leading dimension");
    const int32_t prev[2] = {0, 1};
    int64_t counts[4];
    CHECK_ERR(rlcc_consensus_counts(prev, prev, 2, (int64_t)1 << 40, (int64_t)1 << 40, counts, 2),
              RLCC_E_INVALID_ARGUMENT, "overflows");
    float cents[4];
    CHECK_ERR(rlcc_centroids(tiny_buffer, 2, 2, 2, prev, (int64_t)1 << 40, cents, 2),
              RLCC_E_INVALID_ARGUMENT, "INT32_MAX");
    rlcc_refiner *r = NULL;
    CHECK_ERR(rlcc_refiner_new(huge + 1, 4, NULL, NULL, &r), RLCC_E_INVALID_ARGUMENT, "INT32_MAX");
    CHECK(r == NULL);
}

static void eps_at_the_float_boundaries(void)
{
    const float x[6] = {0, 0, 1, 5, 5, 9}; /* two duplicate pairs */
    int32_t labels[6];
    int64_t k;
    /* the smallest positive eps: only distance-0 pairs are neighbours */
    CHECK_OK(rlcc_dbscan_features(x, 6, 1, 1, DBL_MIN, 2, NULL, labels, &k, NULL, NULL));
    CHECK_EQ(k, 2);
    CHECK(labels[0] == 0 && labels[1] == 0 && labels[2] == -1 && labels[3] == 1 && labels[5] == -1);
    CHECK_OK(rlcc_dbscan_features(x, 6, 1, 1, 4.9406564584124654e-324, 2, NULL, labels, &k, NULL, NULL));
    CHECK_EQ(k, 2);
    /* eps so large that eps^2 overflows double, and +inf: one cluster */
    const double big[3] = {DBL_MAX, 1e300, INFINITY};
    for (int b = 0; b < 3; b++) {
        CHECK_OK(rlcc_dbscan_features(x, 6, 1, 1, big[b], 6, NULL, labels, &k, NULL, NULL));
        CHECK_EQ(k, 1);
        CHECK_EQ(labels[5], 0);
    }
    /* precomputed: eps above FLT_MAX rounds to +inf in float32, as scikit-learn's */
    const float dist[4] = {0.0f, FLT_MAX, FLT_MAX, 0.0f};
    CHECK_OK(rlcc_dbscan_dense(dist, 2, 2, 1e300, 2, NULL, labels, &k, NULL, NULL));
    CHECK_EQ(k, 1);
    CHECK_OK(rlcc_dbscan_dense(dist, 2, 2, (double)FLT_MAX, 2, NULL, labels, &k, NULL, NULL));
    CHECK_EQ(k, 1);
    CHECK_OK(rlcc_dbscan_dense(dist, 2, 2, nextafter((double)FLT_MAX, 0.0), 2, NULL, labels, &k, NULL, NULL));
    CHECK_EQ(k, 1); /* (float)eps rounds back up to FLT_MAX */
    CHECK_OK(rlcc_dbscan_dense(dist, 2, 2, 3e38, 2, NULL, labels, &k, NULL, NULL));
    CHECK_EQ(k, 0);
}

/* Points 2^-140 apart: subnormal in float32, so float32 Gram entries
 * underflow; the exact double re-decision must still find the chains. */
static void subnormal_features(void)
{
    const float unit = 0x1p-140f;
    const float x[6] = {0, unit, 2 * unit, 10 * unit, 11 * unit, 30 * unit};
    int32_t labels[6];
    int64_t k;
    rlcc_dbscan_stats stats;
    rlcc_dbscan_stats_init(&stats, sizeof stats);
    rlcc_dbscan_options opts;
    rlcc_dbscan_options_init(&opts, sizeof opts);
    opts.algorithm = RLCC_DBSCAN_BRUTE; /* the path with a float32 screen */
    CHECK_OK(rlcc_dbscan_features(x, 6, 1, 1, 1.5 * 0x1p-140, 2, &opts, labels, &k, NULL, &stats));
    const int32_t want[6] = {0, 0, 0, 1, 1, -1};
    CHECK(memcmp(labels, want, sizeof want) == 0);
    CHECK_EQ(k, 2);
    CHECK(stats.n_redecided > 0);
    /* the grid and the tree compute these pairs in double directly (1.5) */
    for (int32_t algorithm = RLCC_DBSCAN_GRID; algorithm <= RLCC_DBSCAN_TREE; algorithm++) {
        opts.algorithm = algorithm;
        CHECK_OK(rlcc_dbscan_features(x, 6, 1, 1, 1.5 * 0x1p-140, 2, &opts, labels, &k, NULL,
                                      &stats));
        CHECK(memcmp(labels, want, sizeof want) == 0);
        CHECK_EQ(k, 2);
        CHECK_EQ(stats.n_redecided, 0);
    }
    int64_t idx[6];
    float sq[6];
    /* the kNN decides in double (1.3): every row is its own nearest, though
     * every float32 Gram distance underflows to 0 and ties; the distances
     * (2^-280 and up) round to 0 in float32 */
    CHECK_OK(rlcc_knn(x, 6, 1, 1, 1, NULL, idx, sq));
    for (int i = 0; i < 6; i++) {
        CHECK(sq[i] == 0.0f);
        CHECK_EQ(idx[i], i);
    }
    int64_t idx2[12];
    CHECK_OK(rlcc_knn(x, 6, 1, 1, 2, NULL, idx2, NULL));
    const int64_t second[6] = {1, 0, 1, 4, 3, 4}; /* ties (0 and 2 for 1) by the lower index */
    for (int i = 0; i < 6; i++)
        CHECK_EQ(idx2[2 * i + 1], second[i]);
}

static void huge_features_are_refused_everywhere(void)
{
    float x[8] = {1e30f, 0, 0, 1e30f, 1, 1, 2, 2};
    int32_t labels[4] = {7, 7, 7, 7};
    rlcc_dbscan_options cosine;
    rlcc_dbscan_options_init(&cosine, sizeof cosine);
    cosine.metric = RLCC_METRIC_COSINE;
    CHECK_ERR(rlcc_dbscan_features(x, 4, 2, 2, 0.5, 2, &cosine, labels, NULL, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "squared norm");
    int64_t idx[4];
    CHECK_ERR(rlcc_knn(x, 4, 2, 2, 1, NULL, idx, NULL), RLCC_E_INVALID_ARGUMENT, "squared norm");
    rlcc_jaccard_options jo;
    rlcc_jaccard_options_init(&jo, sizeof jo);
    jo.k1 = 2;
    jo.k2 = 1;
    jo.variant = RLCC_JACCARD_SQEUCLIDEAN;
    rlcc_csr *out = NULL;
    CHECK_ERR(rlcc_jaccard(x, 4, 2, 2, NULL, &jo, &out), RLCC_E_INVALID_ARGUMENT, "squared norm");
    float c[4];
    const int32_t two[4] = {0, 0, 1, 1};
    CHECK_ERR(rlcc_centroids(x, 4, 2, 2, two, 2, c, 2), RLCC_E_INVALID_ARGUMENT, "squared norm");
    CHECK(labels[0] == 7 && out == NULL);
    /* just below the limit works */
    float ok[4] = {0x1p59f, 0, 0x1p59f, 0x1p-10f};
    CHECK_OK(rlcc_dbscan_features(ok, 2, 2, 2, 1.0, 2, NULL, labels, NULL, NULL, NULL));
    CHECK_EQ(labels[0], 0);
    CHECK_EQ(labels[1], 0);
}

const test_case limits_tests[] = {
    {"impossible_sizes_are_refused_before_any_work", impossible_sizes_are_refused_before_any_work},
    {"eps_at_the_float_boundaries", eps_at_the_float_boundaries},
    {"subnormal_features", subnormal_features},
    {"huge_features_are_refused_everywhere", huge_features_are_refused_everywhere},
    {NULL, NULL},
};
