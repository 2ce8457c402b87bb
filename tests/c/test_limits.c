/* test_limits.c - sizes at the int32 and int64 limits, eps at the float
 * boundaries, subnormal and huge feature values, max_bytes below the work:
 * each either works or returns a clear code, without allocating (or
 * reading) the impossible first. */
#include <float.h>
#include <math.h>
#include <stddef.h>
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


/* ---- 1.4: a newer caller's options, and memory bounds that bite ------------ */

enum { LN = 64, LD = 8, TAIL = 24 };

/* Unit rows in eight tight clusters of eight. */
static float lx[LN * LD];
static int32_t lprev[LN], lcur[LN];
static int64_t lk_prev, lk_cur;
static float lcentroids[LN * LD];
static rlcc_refiner *lread, *lstep; /* two generations each; lstep takes more steps */
/* Every output of the calls below, filled with 0xA5 before a refused call. */
static union {
    unsigned char bytes[sizeof(float) * LN * LN];
    int64_t align;
} lout;

static void make_limit_fixture(void)
{
    uint64_t s = 11;
    for (int i = 0; i < LN; i++) {
        double sum = 0.0;
        for (int k = 0; k < LD; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const double v = (k == i % LD ? 1.0 : 0.0) + ((double)(s >> 11) * 0x1p-53 - 0.5) * 0.1;
            lx[i * LD + k] = (float)v;
            sum += v * v;
        }
        for (int k = 0; k < LD; k++)
            lx[i * LD + k] = (float)(lx[i * LD + k] / sqrt(sum));
        lprev[i] = i % 9 == 0 ? -1 : i % LD;
        lcur[i] = i % 7 == 0 ? -1 : (i + i / 16) % LD;
    }
    lk_prev = lk_cur = LD;
    CHECK_OK(rlcc_centroids(lx, LN, LD, LD, lprev, lk_prev, lcentroids, LD));
    CHECK_OK(rlcc_refiner_new(LN, LD, NULL, NULL, &lread));
    CHECK_OK(rlcc_refiner_new(LN, LD, NULL, NULL, &lstep));
    for (int t = 0; t < 2; t++) {
        CHECK_OK(rlcc_refiner_step_matrix(lread, lx, LD, NULL));
        CHECK_OK(rlcc_refiner_step_matrix(lstep, lx, LD, NULL));
    }
}

static void free_limit_fixture(void)
{
    rlcc_refiner_free(lread);
    rlcc_refiner_free(lstep);
    lread = lstep = NULL;
}

static int64_t limit_features(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    (void)data;
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, lx + (start + i) * LD, sizeof(float) * LD);
    return count;
}

/* One call per options reader; each writes only into lout and frees what it
 * made when it succeeds. */
typedef int (*options_call)(const void *options);

static int32_t *out_labels(void) { return (int32_t *)(void *)lout.bytes; }
static float *out_floats(void) { return (float *)(void *)lout.bytes; }

static int call_dbscan_features(const void *o)
{
    return rlcc_dbscan_features(lx, LN, LD, LD, 0.5, 3, o, out_labels(), NULL, NULL, NULL);
}
static int call_dbscan_dense(const void *o)
{
    const float dist[4] = {0, 1, 1, 0};
    return rlcc_dbscan_dense(dist, 2, 2, 0.5, 1, o, out_labels(), NULL, NULL, NULL);
}
static int call_dbscan_csr(const void *o)
{
    const int64_t indptr[3] = {0, 1, 2};
    const int32_t indices[2] = {0, 1};
    const float data[2] = {0, 0};
    return rlcc_dbscan_csr(2, indptr, indices, data, 0.5, 1, o, out_labels(), NULL, NULL, NULL);
}
static int call_knn(const void *o)
{
    return rlcc_knn(lx, LN, LD, LD, 4, o, (int64_t *)(void *)lout.bytes, NULL);
}
static int call_knn_state_new(const void *o)
{
    rlcc_knn_state **state = (rlcc_knn_state **)(void *)lout.bytes;
    const int rc = rlcc_knn_state_new(LN, 0, LD, 4, o, state);
    if (rc == RLCC_OK)
        rlcc_knn_state_free(*state);
    return rc;
}
static int call_jaccard(const void *o)
{
    rlcc_csr **csr = (rlcc_csr **)(void *)lout.bytes;
    const int rc = rlcc_jaccard(lx, LN, LD, LD, NULL, o, csr);
    if (rc == RLCC_OK)
        rlcc_csr_free(*csr);
    return rc;
}
static int call_jaccard_dense(const void *o)
{
    return rlcc_jaccard_dense(lx, LN, LD, LD, NULL, o, out_floats(), LN);
}
static int call_pseudo_labels(const void *o)
{
    return rlcc_pseudo_labels(lx, LN, LD, LD, o, out_labels(), NULL, NULL);
}
static int call_refiner_new_pseudo(const void *o)
{
    rlcc_refiner **r = (rlcc_refiner **)(void *)lout.bytes;
    const int rc = rlcc_refiner_new(LN, LD, o, NULL, r);
    if (rc == RLCC_OK)
        rlcc_refiner_free(*r);
    return rc;
}
static int call_refiner_new_options(const void *o)
{
    rlcc_refiner **r = (rlcc_refiner **)(void *)lout.bytes;
    const int rc = rlcc_refiner_new(LN, LD, NULL, o, r);
    if (rc == RLCC_OK)
        rlcc_refiner_free(*r);
    return rc;
}
static int call_centroids_opts(const void *o)
{
    return rlcc_centroids_opts(lx, LN, LD, LD, lprev, lk_prev, o, out_floats(), LD);
}
static int call_consensus_counts_opts(const void *o)
{
    return rlcc_consensus_counts_opts(lprev, lcur, LN, lk_prev, lk_cur, o,
                                      (int64_t *)(void *)lout.bytes, lk_cur);
}
static int call_consensus_opts(const void *o)
{
    return rlcc_consensus_opts(lprev, lcur, LN, lk_prev, lk_cur, o, out_floats(), lk_cur);
}
static int call_consensus_csr_opts(const void *o)
{
    rlcc_csr **csr = (rlcc_csr **)(void *)lout.bytes;
    const int rc = rlcc_consensus_csr_opts(lprev, lcur, LN, lk_prev, lk_cur, o, csr);
    if (rc == RLCC_OK)
        rlcc_csr_free(*csr);
    return rc;
}
static int call_class_probabilities_opts(const void *o)
{
    const int64_t rows[3] = {5, 0, 5};
    return rlcc_class_probabilities_opts(lx, LN, LD, LD, lcentroids, lk_prev, LD, rows, 3, o,
                                         out_floats(), lk_prev);
}
static int call_propagate_opts(const void *o)
{
    const int64_t indptr[3] = {0, 1, 3};
    const int32_t indices[3] = {1, 0, 1};
    const float data[3] = {1.0f, 0.5f, 0.5f};
    const int32_t prev[4] = {0, 1, -1, 1};
    const float probs[8] = {0.5f, 0.5f, 1, 0, 0, 1, 0.25f, 0.75f};
    return rlcc_propagate_opts(prev, 4, indptr, indices, data, 2, 2, probs, 2, NULL, 4, o,
                               out_floats(), 2);
}
static int call_blend_opts(const void *o)
{
    return rlcc_blend_opts(lcur, LN, lk_cur, NULL, 0, NULL, LN, o, out_floats(), lk_cur);
}
static int call_step_opts(const void *o)
{
    return rlcc_refiner_step_opts(lstep, limit_features, NULL, o);
}
static int call_step_matrix(const void *o)
{
    return rlcc_refiner_step_matrix(lstep, lx, LD, o);
}
static int call_targets_opts(const void *o)
{
    const int64_t rows[2] = {LN - 1, 3};
    return rlcc_refiner_targets_opts(lread, rows, 2, o, out_floats(), rlcc_refiner_n_classes(lread));
}

/* The struct at opts (struct_size = known + TAIL, the tail zero) is accepted;
 * a non-zero byte anywhere in the tail is refused, naming the first one,
 * with every output (and the stepped refiner) untouched. */
static void newer_struct_case(const char *what, unsigned char *opts, size_t known,
                              options_call call)
{
    int rc = call(opts);
    if (rc != RLCC_OK)
        fprintf(stderr, "  %s: a zero tail was refused (%d): %s\n", what, rc, rlcc_last_error());
    CHECK_OK(rc);
    const size_t set[4][2] = {
        {known, known}, {known + 5, known + 11}, {known + 3, known + TAIL - 1}, {known + TAIL - 1, known + TAIL - 1}};
    for (int c = 0; c < 4; c++) {
        memset(lout.bytes, 0xA5, sizeof lout.bytes);
        const int64_t generation = rlcc_refiner_generation(lstep), held = rlcc_refiner_bytes(lstep);
        opts[set[c][0]] = 0x01;
        opts[set[c][1]] = 0x80;
        rc = call(opts);
        opts[set[c][0]] = opts[set[c][1]] = 0;
        char want[64];
        snprintf(want, sizeof want, "byte %zu is not zero", set[c][0]);
        const int named = strstr(rlcc_last_error(), want) != NULL;
        if (rc != RLCC_E_INVALID_ARGUMENT || !named)
            fprintf(stderr, "  %s: tail byte %zu set gave %d, \"%s\"; wanted \"%s\"\n", what,
                    set[c][0], rc, rlcc_last_error(), want);
        CHECK(rc == RLCC_E_INVALID_ARGUMENT && named);
        int untouched = 1;
        for (size_t b = 0; b < sizeof lout.bytes; b++)
            untouched &= lout.bytes[b] == 0xA5;
        CHECK(untouched);
        CHECK_EQ(rlcc_refiner_generation(lstep), generation);
        CHECK_EQ(rlcc_refiner_bytes(lstep), held);
    }
    CHECK_OK(call(opts));
}

/* A newer caller's struct: struct_size = sizeof(T) + TAIL, filled by its own
 * _init (which must zero the tail). */
#define NEWER_STRUCT(T, init, call)                                                      \
    do {                                                                                 \
        union {                                                                          \
            T s;                                                                         \
            unsigned char b[sizeof(T) + TAIL];                                           \
            max_align_t a;                                                               \
        } u_;                                                                            \
        memset(&u_, 0x5A, sizeof u_);                                                    \
        CHECK_OK(init(&u_.s, sizeof(T) + TAIL));                                         \
        CHECK_EQ(u_.s.struct_size, sizeof(T) + TAIL);                                    \
        int zero_ = 1;                                                                   \
        for (size_t e_ = sizeof(T); e_ < sizeof(T) + TAIL; e_++)                         \
            zero_ &= u_.b[e_] == 0;                                                      \
        CHECK(zero_);                                                                    \
        newer_struct_case(#call, u_.b, sizeof(T), call);                                 \
    } while (0)

static void options_from_a_newer_caller(void)
{
    make_limit_fixture();
    NEWER_STRUCT(rlcc_dbscan_options, rlcc_dbscan_options_init, call_dbscan_features);
    NEWER_STRUCT(rlcc_dbscan_options, rlcc_dbscan_options_init, call_dbscan_dense);
    NEWER_STRUCT(rlcc_dbscan_options, rlcc_dbscan_options_init, call_dbscan_csr);
    NEWER_STRUCT(rlcc_knn_options, rlcc_knn_options_init, call_knn);
    NEWER_STRUCT(rlcc_knn_options, rlcc_knn_options_init, call_knn_state_new);
    NEWER_STRUCT(rlcc_jaccard_options, rlcc_jaccard_options_init, call_jaccard);
    NEWER_STRUCT(rlcc_jaccard_options, rlcc_jaccard_options_init, call_jaccard_dense);
    NEWER_STRUCT(rlcc_pseudo_options, rlcc_pseudo_options_init, call_pseudo_labels);
    NEWER_STRUCT(rlcc_pseudo_options, rlcc_pseudo_options_init, call_refiner_new_pseudo);
    NEWER_STRUCT(rlcc_refiner_options, rlcc_refiner_options_init, call_refiner_new_options);
    NEWER_STRUCT(rlcc_centroid_options, rlcc_centroid_options_init, call_centroids_opts);
    NEWER_STRUCT(rlcc_consensus_options, rlcc_consensus_options_init, call_consensus_counts_opts);
    NEWER_STRUCT(rlcc_consensus_options, rlcc_consensus_options_init, call_consensus_opts);
    NEWER_STRUCT(rlcc_consensus_options, rlcc_consensus_options_init, call_consensus_csr_opts);
    NEWER_STRUCT(rlcc_probability_options, rlcc_probability_options_init, call_class_probabilities_opts);
    NEWER_STRUCT(rlcc_propagate_options, rlcc_propagate_options_init, call_propagate_opts);
    NEWER_STRUCT(rlcc_blend_options, rlcc_blend_options_init, call_blend_opts);
    NEWER_STRUCT(rlcc_step_options, rlcc_step_options_init, call_step_opts);
    NEWER_STRUCT(rlcc_step_options, rlcc_step_options_init, call_step_matrix);
    NEWER_STRUCT(rlcc_targets_options, rlcc_targets_options_init, call_targets_opts);
    free_limit_fixture();
}

/* Everything a refiner shows, to compare before and after a refused step. */
typedef struct limit_view {
    int64_t generation, k, bytes;
    double threshold;
    int32_t labels[LN];
    float centroids[LN * LD];
    float targets[LN * LN];
} limit_view;

static void limit_view_of(const rlcc_refiner *r, limit_view *v)
{
    memset(v, 0, sizeof *v);
    v->generation = rlcc_refiner_generation(r);
    v->k = rlcc_refiner_n_classes(r);
    v->bytes = rlcc_refiner_bytes(r);
    v->threshold = rlcc_refiner_threshold(r);
    if (v->generation > 0) {
        CHECK_OK(rlcc_refiner_labels(r, v->labels));
        CHECK_OK(rlcc_refiner_centroids(r, v->centroids, LD));
        CHECK_OK(rlcc_refiner_targets(r, NULL, LN, v->targets, v->k));
    }
}

/* A step's max_bytes bounds what the refiner holds plus what the step
 * allocates: below what it already holds, every kind of step fails with
 * RLCC_E_MEMORY_LIMIT and changes nothing. */
static void a_step_below_what_the_refiner_holds_changes_nothing(void)
{
    make_limit_fixture();
    limit_view *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    limit_view_of(lstep, before);
    const int64_t held = before->bytes;
    CHECK(held > 4 * LN * LD); /* labels, centroids, consensus and the copied rows */
    const int64_t limits[5] = {1, 64, held / 2, held - 1, held};
    for (int l = 0; l < 5; l++)
        for (int kind = 0; kind < 3; kind++) {
            rlcc_step_options so;
            rlcc_step_options_init(&so, sizeof so);
            so.max_bytes = limits[l];
            so.borrow = kind == 2;
            const int rc = kind == 0 ? rlcc_refiner_step_opts(lstep, limit_features, NULL, &so)
                                     : rlcc_refiner_step_matrix(lstep, lx, LD, &so);
            CHECK_ERR(rc, RLCC_E_MEMORY_LIMIT, "max_bytes");
            limit_view_of(lstep, after);
            CHECK(memcmp(before, after, sizeof *before) == 0);
        }
    /* the refiner's own budget (its pseudo-label options' max_bytes) bounds
     * the steps that give none */
    rlcc_pseudo_options po;
    rlcc_pseudo_options_init(&po, sizeof po);
    po.max_bytes = 4 * LN; /* not even the labels and the features' norms */
    rlcc_refiner *small = NULL;
    CHECK_OK(rlcc_refiner_new(LN, LD, &po, NULL, &small));
    CHECK_ERR(rlcc_refiner_step_matrix(small, lx, LD, NULL), RLCC_E_MEMORY_LIMIT, "max_bytes");
    CHECK_EQ(rlcc_refiner_generation(small), 0);
    CHECK_EQ(rlcc_refiner_bytes(small), 0);
    /* a step's own max_bytes overrides it, for that step */
    rlcc_step_options so;
    rlcc_step_options_init(&so, sizeof so);
    so.max_bytes = (int64_t)1 << 30;
    CHECK_OK(rlcc_refiner_step_matrix(small, lx, LD, &so));
    CHECK_EQ(rlcc_refiner_generation(small), 1);
    rlcc_refiner_free(small);
    /* and with no bound the step goes through */
    CHECK_OK(rlcc_refiner_step_matrix(lstep, lx, LD, NULL));
    CHECK_EQ(rlcc_refiner_generation(lstep), before->generation + 1);
    /* a targets call's max_bytes bounds its batch probabilities: refused
     * before any output is written */
    rlcc_targets_options to;
    rlcc_targets_options_init(&to, sizeof to);
    to.max_bytes = 8;
    const int64_t rows[3] = {1, 2, 3};
    memset(lout.bytes, 0xA5, sizeof lout.bytes);
    CHECK_ERR(rlcc_refiner_targets_opts(lread, rows, 3, &to, out_floats(), rlcc_refiner_n_classes(lread)),
              RLCC_E_MEMORY_LIMIT, "max_bytes");
    int untouched = 1;
    for (size_t b = 0; b < sizeof lout.bytes; b++)
        untouched &= lout.bytes[b] == 0xA5;
    CHECK(untouched);
    free(after);
    free(before);
    free_limit_fixture();
}

const test_case limits_tests[] = {
    {"impossible_sizes_are_refused_before_any_work", impossible_sizes_are_refused_before_any_work},
    {"eps_at_the_float_boundaries", eps_at_the_float_boundaries},
    {"subnormal_features", subnormal_features},
    {"huge_features_are_refused_everywhere", huge_features_are_refused_everywhere},
    {"options_from_a_newer_caller", options_from_a_newer_caller},
    {"a_step_below_what_the_refiner_holds_changes_nothing", a_step_below_what_the_refiner_holds_changes_nothing},
    {NULL, NULL},
};
