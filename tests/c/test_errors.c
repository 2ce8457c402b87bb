/* test_errors.c - every bad input gets its pinned code and a message that
 * names the argument, and leaves every output untouched. */
#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "test.h"

/* Outputs pre-filled with a sentinel; untouched() says they still hold it. */
typedef struct outputs {
    int32_t labels[8];
    uint8_t core[8];
    int64_t clusters;
    rlcc_dbscan_stats stats;
} outputs;

static void reset(outputs *o)
{
    memset(o, 0x5A, sizeof *o);
    o->stats.struct_size = sizeof o->stats;
}

static int untouched(const outputs *o)
{
    outputs fresh;
    reset(&fresh);
    return memcmp(o, &fresh, sizeof fresh) == 0;
}

/* 4 points in 2-D, a 4x4 distance matrix and its CSR form. */
static float features[8] = {0, 0, 0, 1, 5, 5, 5, 6};
static float dist[16] = {0, 1, 7, 7, 1, 0, 7, 7, 7, 7, 0, 1, 7, 7, 1, 0};
static int64_t indptr[5] = {0, 2, 4, 6, 8};
static int32_t indices[8] = {0, 1, 0, 1, 2, 3, 2, 3};
static float data[8] = {0, 1, 1, 0, 0, 1, 1, 0};

#define FEATURES(x, n, d, ld, eps, ms, opts)                                          \
    rlcc_dbscan_features(x, n, d, ld, eps, ms, opts, o.labels, &o.clusters, o.core, &o.stats)
#define DENSE(m, n, ld, eps, ms, opts)                                                \
    rlcc_dbscan_dense(m, n, ld, eps, ms, opts, o.labels, &o.clusters, o.core, &o.stats)
#define CSR(n, ip, ix, dt, eps, ms, opts)                                             \
    rlcc_dbscan_csr(n, ip, ix, dt, eps, ms, opts, o.labels, &o.clusters, o.core, &o.stats)

/* Each bad call: the code, the text, and the outputs untouched. */
#define EXPECT_REFUSED(call, code, text)                                              \
    do {                                                                              \
        reset(&o);                                                                    \
        CHECK_ERR(call, code, text);                                                  \
        CHECK(untouched(&o));                                                         \
    } while (0)

static void bad_shapes_and_pointers(void)
{
    outputs o;
    EXPECT_REFUSED(FEATURES(NULL, 4, 2, 2, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "x: is NULL");
    EXPECT_REFUSED(FEATURES(features, -1, 2, 2, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "negative");
    EXPECT_REFUSED(FEATURES(features, 4, 0, 2, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "d = 0");
    EXPECT_REFUSED(FEATURES(features, 4, 2, 1, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "leading dimension");
    EXPECT_REFUSED(FEATURES(features, (int64_t)1 << 31, 2, 2, 1.0, 2, NULL),
                   RLCC_E_INVALID_ARGUMENT, "INT32_MAX");
    EXPECT_REFUSED(FEATURES(features, 4, 2, (int64_t)1 << 40, 1.0, 2, NULL),
                   RLCC_E_INVALID_ARGUMENT, "leading dimension");
    /* n and ld are each capped at INT32_MAX, so n * ld cannot overflow
     * int64; the largest such request is refused by the memory budget
     * before anything is read. */
    rlcc_dbscan_options small;
    rlcc_dbscan_options_init(&small, sizeof small);
    small.max_bytes = 1 << 20;
    /* outputs of that size, so that they are told apart from each other
     * (since 1.6 overlapping outputs are refused): address space only, a
     * write would fault */
    const size_t label_bytes = sizeof(int32_t) * (size_t)INT32_MAX;
    int32_t *huge_labels = mmap(NULL, label_bytes, PROT_NONE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(huge_labels != MAP_FAILED);
    if (huge_labels != MAP_FAILED) {
        EXPECT_REFUSED(rlcc_dbscan_features(features, (int64_t)INT32_MAX, INT32_MAX, INT32_MAX,
                                            1.0, 2, &small, huge_labels, &o.clusters, NULL,
                                            &o.stats),
                       RLCC_E_MEMORY_LIMIT, "max_bytes");
        munmap(huge_labels, label_bytes);
    }
    EXPECT_REFUSED(rlcc_dbscan_features(features, 4, 2, 2, 1.0, 2, NULL, NULL, &o.clusters,
                                        o.core, &o.stats),
                   RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    EXPECT_REFUSED(DENSE(NULL, 4, 4, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "dist: is NULL");
    EXPECT_REFUSED(DENSE(dist, 4, 3, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "leading dimension");
    EXPECT_REFUSED(DENSE(dist, -4, 4, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "negative");
    EXPECT_REFUSED(CSR(4, NULL, indices, data, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "indptr");
    EXPECT_REFUSED(CSR(4, indptr, NULL, data, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "indices");
    EXPECT_REFUSED(CSR(4, indptr, indices, NULL, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "data");
    EXPECT_REFUSED(CSR(-1, indptr, indices, data, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "negative");
}

static void non_finite_values(void)
{
    outputs o;
    float x[8];
    memcpy(x, features, sizeof x);
    x[5] = NAN;
    EXPECT_REFUSED(FEATURES(x, 4, 2, 2, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "x: row 2 has NaN at column 1");
    x[5] = -INFINITY;
    EXPECT_REFUSED(FEATURES(x, 4, 2, 2, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "x: row 2 has inf");
    rlcc_dbscan_options cosine;
    rlcc_dbscan_options_init(&cosine, sizeof cosine);
    cosine.metric = RLCC_METRIC_COSINE;
    float unit[8] = {1, 0, 0, 1, 1, NAN, 1, 1};
    EXPECT_REFUSED(FEATURES(unit, 4, 2, 2, 0.1, 2, &cosine), RLCC_E_INVALID_ARGUMENT,
                   "x: row 2 has NaN");
    /* huge but finite: the float32 Gram matrix would overflow */
    memcpy(x, features, sizeof x);
    x[2] = 3e38f;
    EXPECT_REFUSED(FEATURES(x, 4, 2, 2, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "x: row 1 has squared norm");

    float m[16];
    memcpy(m, dist, sizeof m);
    m[6] = NAN;
    EXPECT_REFUSED(DENSE(m, 4, 4, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "dist: NaN at row 1, column 2");
    m[6] = INFINITY;
    EXPECT_REFUSED(DENSE(m, 4, 4, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "dist: inf at row 1");
    m[6] = -0.5f;
    EXPECT_REFUSED(DENSE(m, 4, 4, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "negative distance");
    m[6] = 7.0f;
    m[15] = NAN; /* the very last entry is checked too */
    EXPECT_REFUSED(DENSE(m, 4, 4, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "row 3, column 3");

    float d2[8];
    memcpy(d2, data, sizeof d2);
    d2[3] = NAN;
    EXPECT_REFUSED(CSR(4, indptr, indices, d2, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "data: NaN at row 1");
    d2[3] = -1.0f;
    EXPECT_REFUSED(CSR(4, indptr, indices, d2, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "negative distance");
}

static void zero_rows_for_cosine(void)
{
    outputs o;
    float x[8] = {1, 0, 0, 0, 0, 1, 1, 1};
    rlcc_dbscan_options cosine;
    rlcc_dbscan_options_init(&cosine, sizeof cosine);
    cosine.metric = RLCC_METRIC_COSINE;
    EXPECT_REFUSED(FEATURES(x, 4, 2, 2, 0.1, 2, &cosine), RLCC_E_INVALID_ARGUMENT,
                   "x: row 1 is all zeros");
}

static void bad_parameters(void)
{
    outputs o;
    EXPECT_REFUSED(FEATURES(features, 4, 2, 2, 0.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "eps");
    EXPECT_REFUSED(FEATURES(features, 4, 2, 2, -1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "eps");
    EXPECT_REFUSED(FEATURES(features, 4, 2, 2, NAN, 2, NULL), RLCC_E_INVALID_ARGUMENT, "eps: is NaN");
    EXPECT_REFUSED(DENSE(dist, 4, 4, NAN, 2, NULL), RLCC_E_INVALID_ARGUMENT, "eps: is NaN");
    EXPECT_REFUSED(CSR(4, indptr, indices, data, -0.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "eps");
    EXPECT_REFUSED(FEATURES(features, 4, 2, 2, 1.0, 0, NULL), RLCC_E_INVALID_ARGUMENT, "min_samples");
    EXPECT_REFUSED(DENSE(dist, 4, 4, 1.0, -3, NULL), RLCC_E_INVALID_ARGUMENT, "min_samples");

    rlcc_dbscan_options opts;
    rlcc_dbscan_options_init(&opts, sizeof opts);
    opts.n_threads = -1;
    EXPECT_REFUSED(FEATURES(features, 4, 2, 2, 1.0, 2, &opts), RLCC_E_INVALID_ARGUMENT, "n_threads");
    rlcc_dbscan_options_init(&opts, sizeof opts);
    opts.max_bytes = -5;
    EXPECT_REFUSED(DENSE(dist, 4, 4, 1.0, 2, &opts), RLCC_E_INVALID_ARGUMENT, "max_bytes");
    rlcc_dbscan_options_init(&opts, sizeof opts);
    opts.metric = 7;
    EXPECT_REFUSED(FEATURES(features, 4, 2, 2, 1.0, 2, &opts), RLCC_E_INVALID_ARGUMENT, "metric");
    rlcc_dbscan_options_init(&opts, sizeof opts);
    opts.struct_size = 4;
    EXPECT_REFUSED(CSR(4, indptr, indices, data, 1.0, 2, &opts), RLCC_E_INVALID_ARGUMENT,
                   "struct_size");
    /* a stats struct from nowhere (struct_size not set) is refused */
    reset(&o);
    o.stats.struct_size = 0;
    CHECK_ERR(FEATURES(features, 4, 2, 2, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "stats");
    CHECK_EQ(o.labels[0], 0x5A5A5A5A);
}

static void malformed_csr(void)
{
    outputs o;
    int64_t ip[5];
    int32_t ix[8];
    memcpy(ip, indptr, sizeof ip);
    ip[0] = 1;
    EXPECT_REFUSED(CSR(4, ip, indices, data, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT, "indptr[0]");
    memcpy(ip, indptr, sizeof ip);
    ip[2] = 1;
    EXPECT_REFUSED(CSR(4, ip, indices, data, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "indptr: decreases at row 1");
    memcpy(ix, indices, sizeof ix);
    ix[4] = 4;
    EXPECT_REFUSED(CSR(4, indptr, ix, data, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "column 4 out of range");
    ix[4] = -1;
    EXPECT_REFUSED(CSR(4, indptr, ix, data, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "column -1 out of range");
    memcpy(ix, indices, sizeof ix);
    ix[2] = 1;
    ix[3] = 0;
    EXPECT_REFUSED(CSR(4, indptr, ix, data, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "unsorted in row 1");
    ix[2] = 1;
    ix[3] = 1;
    EXPECT_REFUSED(CSR(4, indptr, ix, data, 1.0, 2, NULL), RLCC_E_INVALID_ARGUMENT,
                   "duplicate column 1 in row 1");
}

/* A limit smaller than the work returns RLCC_E_MEMORY_LIMIT before any
 * allocation could exceed it; a huge eps on many points (every pair a
 * neighbour) is refused rather than allowed to eat the machine. */
static void memory_limit(void)
{
    outputs o;
    rlcc_dbscan_options opts;
    rlcc_dbscan_options_init(&opts, sizeof opts);
    opts.max_bytes = 64;
    EXPECT_REFUSED(FEATURES(features, 4, 2, 2, 1.0, 2, &opts), RLCC_E_MEMORY_LIMIT, "max_bytes");
    EXPECT_REFUSED(DENSE(dist, 4, 4, 1.0, 2, &opts), RLCC_E_MEMORY_LIMIT, "max_bytes");
    EXPECT_REFUSED(CSR(4, indptr, indices, data, 1.0, 2, &opts), RLCC_E_MEMORY_LIMIT, "max_bytes");

    const int64_t n = 4000;
    float *x = calloc((size_t)n, sizeof(float)); /* all identical: n^2 neighbour pairs */
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    opts.max_bytes = 16 << 20; /* 16 MiB; the pairs need 4000^2 * 6 bytes = 96 MB */
    opts.algorithm = RLCC_DBSCAN_BRUTE; /* the path that holds the pairs */
    CHECK_ERR(rlcc_dbscan_features(x, n, 1, 1, 1.0, 2, &opts, labels, NULL, NULL, NULL),
              RLCC_E_MEMORY_LIMIT, "neighbour pairs");
    int64_t k = 0;
    /* the grid and the tree hold O(n), so 16 MiB is plenty (1.5) */
    for (int32_t algorithm = RLCC_DBSCAN_GRID; algorithm <= RLCC_DBSCAN_TREE; algorithm++) {
        opts.algorithm = algorithm;
        k = 0;
        CHECK_OK(rlcc_dbscan_features(x, n, 1, 1, 1.0, 2, &opts, labels, &k, NULL, NULL));
        CHECK_EQ(k, 1);
    }
    opts.algorithm = RLCC_DBSCAN_BRUTE;
    opts.max_bytes = 0; /* the default fits */
    k = 0;
    CHECK_OK(rlcc_dbscan_features(x, n, 1, 1, 1.0, 2, &opts, labels, &k, NULL, NULL));
    CHECK_EQ(k, 1);
    free(x);
    free(labels);
}

const test_case errors_tests[] = {
    {"bad_shapes_and_pointers", bad_shapes_and_pointers},
    {"non_finite_values", non_finite_values},
    {"zero_rows_for_cosine", zero_rows_for_cosine},
    {"bad_parameters", bad_parameters},
    {"malformed_csr", malformed_csr},
    {"memory_limit", memory_limit},
    {NULL, NULL},
};
