/*
 * test_pseudo_methods.c - the 1.7 pseudo-labelers behind
 * rlcc_pseudo_options.method: rlcc_pseudo_labels() and the refiner with
 * RLCC_PSEUDO_INFOMAP and RLCC_PSEUDO_KMEANS give what their own entry
 * points give (rlcc_infomap_labels(), rlcc_kmeans() from
 * rlcc_kmeans_init_faiss()'s start), the outlier policy on top; their
 * options are checked; a refiner of either is saved in checkpoint format 2
 * and continues bit for bit after a load.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state_format.h"
#include "test.h"

enum { N = 240, D = 16, CLASSES = 8 };

/* Unit rows around CLASSES directions (generation g moves them a little),
 * every 13th row a stray. */
static void make_rows(float *x, int n, int d, int g)
{
    uint64_t s = 0x9E3779B97F4A7C15u ^ (uint64_t)(g + 1) * 0xBF58476D1CE4E5B9u;
    for (int i = 0; i < n; i++) {
        double norm = 0.0;
        for (int k = 0; k < d; k++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            const double noise = (double)(s >> 11) / 9007199254740992.0 - 0.5;
            const double centre = (i % 13 == 12) ? 0.0 : (k == (i % CLASSES) ? 3.0 : 0.0);
            x[i * d + k] = (float)(centre + (i % 13 == 12 ? 2.0 : 0.35) * noise);
            norm += (double)x[i * d + k] * x[i * d + k];
        }
        for (int k = 0; k < d; k++)
            x[i * d + k] = (float)(x[i * d + k] / sqrt(norm));
    }
}

static rlcc_pseudo_options infomap_options(void)
{
    rlcc_pseudo_options o;
    rlcc_pseudo_options_init(&o, sizeof o);
    o.method = RLCC_PSEUDO_INFOMAP;
    o.reliability = 0;
    o.outliers = RLCC_OUTLIERS_KEEP;
    o.infomap_k = 10;
    return o;
}

static rlcc_pseudo_options kmeans_options(int64_t k)
{
    rlcc_pseudo_options o;
    rlcc_pseudo_options_init(&o, sizeof o);
    o.method = RLCC_PSEUDO_KMEANS;
    o.reliability = 0;
    o.kmeans_k = k;
    return o;
}

static void defaults_of_the_new_fields(void)
{
    rlcc_pseudo_options o;
    CHECK_OK(rlcc_pseudo_options_init(&o, sizeof o));
    CHECK_EQ(o.method, RLCC_PSEUDO_DBSCAN);
    CHECK_EQ(o.infomap_k, 15);
    CHECK_EQ(o.infomap_cluster_num, 4);
    CHECK(o.infomap_min_sim == 0.5);
    CHECK_EQ(o.infomap_seed, 123);
    CHECK_EQ(o.infomap_trials, 1);
    CHECK_EQ(o.kmeans_max_iter, 300);
    CHECK_EQ(o.kmeans_k, 500);
    CHECK(o.kmeans_tol == 0.0);
    CHECK_EQ(o.kmeans_seed, 1234);
    CHECK_EQ(o.kmeans_max_points, 256);
    CHECK(o.kmeans_init == NULL);
    /* a caller compiled against 1.4-1.6 passes the struct up to reserved2:
     * the 1.7 fields keep their defaults and DBSCAN runs as before */
    float *x = malloc(sizeof *x * N * D);
    make_rows(x, N, D, 0);
    int32_t old_labels[N], new_labels[N];
    int64_t k_old = 0, k_new = 0;
    rlcc_pseudo_options old = o;
    old.struct_size = offsetof(rlcc_pseudo_options, infomap_k);
    old.k1 = 10;
    old.k2 = 3;
    o.k1 = 10;
    o.k2 = 3;
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &old, old_labels, &k_old, NULL));
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &o, new_labels, &k_new, NULL));
    CHECK_EQ(k_old, k_new);
    CHECK(memcmp(old_labels, new_labels, sizeof old_labels) == 0);
    free(x);
}

static void infomap_is_rlcc_infomap_labels_with_the_outlier_policy(void)
{
    float *x = malloc(sizeof *x * N * D);
    make_rows(x, N, D, 0);
    rlcc_infomap_options io;
    rlcc_infomap_options_init(&io, sizeof io);
    io.k = 10;
    int32_t want[N], got[N];
    int64_t k_want = -1, k_got = -1;
    CHECK_OK(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &io, want, &k_want, NULL));
    CHECK(k_want >= 2);
    rlcc_pseudo_options o = infomap_options();
    double threshold = -1.0;
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &o, got, &k_got, &threshold));
    CHECK(memcmp(want, got, sizeof want) == 0);
    CHECK(threshold == 0.0);
    int64_t top = -1, noise = 0;
    for (int i = 0; i < N; i++) {
        top = want[i] > top ? want[i] : top;
        noise += want[i] == -1;
    }
    CHECK_EQ(k_got, top + 1);
    /* singletons: every -1, in index order, a class of its own after them */
    o.outliers = RLCC_OUTLIERS_SINGLETON;
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &o, got, &k_got, NULL));
    int64_t next = top + 1;
    int same = 1;
    for (int i = 0; i < N; i++)
        same &= got[i] == (want[i] >= 0 ? want[i] : next++);
    CHECK(same);
    CHECK_EQ(k_got, top + 1 + noise);
    /* the seed and the trials reach the search; n_threads does not change it */
    o.outliers = RLCC_OUTLIERS_KEEP;
    o.infomap_seed = 7;
    o.infomap_trials = 3;
    io.seed = 7;
    io.trials = 3;
    CHECK_OK(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &io, want, &k_want, NULL));
    for (int threads = 1; threads <= 3; threads++) {
        o.n_threads = threads;
        CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &o, got, &k_got, NULL));
        CHECK(memcmp(want, got, sizeof want) == 0);
    }
    /* caller lists: librlcc's own lists give librlcc's own labels */
    int64_t *knn = malloc(sizeof *knn * N * 10);
    rlcc_knn_options ko;
    rlcc_knn_options_init(&ko, sizeof ko);
    CHECK_OK(rlcc_knn(x, N, D, D, 10, &ko, knn, NULL));
    o.knn = knn;
    o.n_threads = 0;
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &o, got, &k_got, NULL));
    CHECK(memcmp(want, got, sizeof want) == 0);
    /* normalize: the same labels as on rows normalised by the caller, for
     * rows scaled by 3 */
    float *big = malloc(sizeof *big * N * D);
    for (int e = 0; e < N * D; e++)
        big[e] = 3.0f * x[e];
    o.knn = NULL;
    o.normalize = 1;
    int32_t scaled[N];
    CHECK_OK(rlcc_pseudo_labels(big, N, D, D, &o, scaled, &k_got, NULL));
    o.normalize = 0;
    CHECK_ERR(rlcc_pseudo_labels(big, N, D, D, &o, scaled, &k_got, NULL),
              RLCC_E_INVALID_ARGUMENT, "x: row");
    free(big);
    free(knn);
    free(x);
}

/* Squared distance in double, for the nearest-centroid check. */
static double sqdist(const float *a, const float *b, int d)
{
    double s = 0.0;
    for (int k = 0; k < d; k++)
        s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

static void kmeans_is_rlcc_kmeans_from_faiss_start(void)
{
    float *x = malloc(sizeof *x * N * D);
    make_rows(x, N, D, 0);
    const int64_t k = 12;
    int64_t start[12];
    CHECK_OK(rlcc_kmeans_init_faiss(N, k, 1234, 256, start, NULL, NULL));
    float init[12 * D], centroids[12 * D];
    for (int r = 0; r < k; r++)
        memcpy(init + r * D, x + start[r] * D, sizeof(float) * D);
    rlcc_kmeans_options ko;
    rlcc_kmeans_options_init(&ko, sizeof ko);
    ko.tol = 0.0;
    int32_t want[N], got[N];
    CHECK_OK(rlcc_kmeans(x, N, D, D, init, k, D, &ko, centroids, D, want, NULL));
    rlcc_pseudo_options o = kmeans_options(k);
    int64_t classes = 0;
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &o, got, &classes, NULL));
    CHECK(memcmp(want, got, sizeof want) == 0);
    int64_t top = -1;
    for (int i = 0; i < N; i++)
        top = want[i] > top ? want[i] : top;
    CHECK_EQ(classes, top + 1);
    /* the caller's start centroids */
    for (int e = 0; e < 12 * D; e++)
        init[e] = x[(e / D) * 7 * D + e % D];
    CHECK_OK(rlcc_kmeans(x, N, D, D, init, k, D, &ko, centroids, D, want, NULL));
    o.kmeans_init = init;
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &o, got, &classes, NULL));
    CHECK(memcmp(want, got, sizeof want) == 0);
    /* above K x max_points rows: trained on faiss's subset, then every row
     * to its nearest final centroid */
    o.kmeans_init = NULL;
    o.kmeans_max_points = 5; /* 60 training rows of 240 */
    int64_t train[60], n_train = 0;
    CHECK_OK(rlcc_kmeans_init_faiss(N, k, 1234, 5, start, train, &n_train));
    CHECK_EQ(n_train, 60);
    float *subset = malloc(sizeof *subset * 60 * D);
    for (int r = 0; r < 60; r++)
        memcpy(subset + r * D, x + train[r] * D, sizeof(float) * D);
    for (int r = 0; r < k; r++) /* start rows index x itself */
        memcpy(init + r * D, x + start[r] * D, sizeof(float) * D);
    int32_t sub_labels[60];
    CHECK_OK(rlcc_kmeans(subset, 60, D, D, init, k, D, &ko, centroids, D, sub_labels, NULL));
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &o, got, &classes, NULL));
    int nearest = 1;
    for (int i = 0; i < N; i++) {
        int best = 0;
        for (int c = 1; c < k; c++)
            if (sqdist(x + i * D, centroids + c * D, D) < sqdist(x + i * D, centroids + best * D, D))
                best = c;
        nearest &= got[i] == best;
    }
    CHECK(nearest);
    free(subset);
    free(x);
}

static void the_options_of_the_methods_are_checked(void)
{
    float *x = malloc(sizeof *x * N * D);
    make_rows(x, N, D, 0);
    int32_t labels[N];
    for (int i = 0; i < N; i++)
        labels[i] = 77;
    int64_t classes = 99;
    rlcc_pseudo_options o = infomap_options();
    o.method = 3;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "method: 3");
    o = infomap_options();
    o.reliability = 1;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "set reliability = 0 for RLCC_PSEUDO_INFOMAP");
    o = infomap_options();
    o.infomap_k = N + 1;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "infomap_k");
    o = infomap_options();
    o.infomap_min_sim = NAN;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "infomap_min_sim");
    o = infomap_options();
    o.infomap_trials = 0;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "infomap_trials");
    o = infomap_options();
    o.infomap_cluster_num = -1;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "infomap_cluster_num");
    o = kmeans_options(N + 1);
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "kmeans_k");
    o = kmeans_options(4);
    o.kmeans_max_iter = 0;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "kmeans_max_iter");
    o = kmeans_options(4);
    o.kmeans_tol = -1.0;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "kmeans_tol");
    o = kmeans_options(4);
    o.kmeans_max_points = 0;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "kmeans_max_points");
    int64_t knn[N];
    for (int i = 0; i < N; i++)
        knn[i] = i;
    o = kmeans_options(4);
    o.knn = knn;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "reads no kNN lists");
    float init[4 * D];
    memcpy(init, x, sizeof init);
    init[3] = NAN;
    o = kmeans_options(4);
    o.kmeans_init = init;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "kmeans_init");
    o = infomap_options();
    o.kmeans_init = init;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "only RLCC_PSEUDO_KMEANS reads start centroids");
    /* caller lists for InfoMap are n x infomap_k, checked as Jaccard's */
    o = infomap_options();
    o.infomap_k = 1;
    knn[5] = N;
    o.knn = knn;
    CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &o, labels, &classes, NULL), RLCC_E_INVALID_ARGUMENT,
              "knn");
    /* outputs untouched by every refusal */
    int untouched = classes == 99;
    for (int i = 0; i < N; i++)
        untouched &= labels[i] == 77;
    CHECK(untouched);
    free(x);
}

/* Three generations of a refiner; the labels of each equal
 * rlcc_pseudo_labels() on that generation's rows. */
static int64_t rows_of(int64_t start, int64_t count, float *rows, int64_t ld, void *user)
{
    const float *x = user;
    for (int64_t r = 0; r < count; r++)
        memcpy(rows + r * ld, x + (start + r) * D, sizeof(float) * D);
    return count;
}

static rlcc_refiner *run_refiner(const rlcc_pseudo_options *o, float *x[3], int steps)
{
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, o, NULL, &r));
    if (r == NULL)
        return NULL;
    for (int g = 0; g < steps; g++) {
        CHECK_OK(rlcc_refiner_step(r, rows_of, x[g], 64, NULL, NULL, NULL, NULL));
        int32_t want[N], got[N];
        int64_t k = 0;
        CHECK_OK(rlcc_pseudo_labels(x[g], N, D, D, o, want, &k, NULL));
        CHECK_OK(rlcc_refiner_labels(r, got));
        CHECK(memcmp(want, got, sizeof want) == 0);
        CHECK_EQ(rlcc_refiner_n_classes(r), k);
    }
    return r;
}

static void refiners_of_the_methods_checkpoint_in_format_2(void)
{
    float *x[3];
    for (int g = 0; g < 3; g++) {
        x[g] = malloc(sizeof(float) * N * D);
        make_rows(x[g], N, D, g);
    }
    rlcc_pseudo_options opts[2] = {infomap_options(), kmeans_options(12)};
    opts[0].outliers = RLCC_OUTLIERS_SINGLETON; /* the refiner needs classes for all */
    for (int m = 0; m < 2; m++) {
        rlcc_refiner *fresh = NULL;
        CHECK_OK(rlcc_refiner_new(N, D, &opts[m], NULL, &fresh));
        size_t size = 0;
        CHECK_OK(rlcc_refiner_save(fresh, NULL, 0, &size));
        CHECK_EQ(size, 260); /* the format 2 header and the checksum */
        rlcc_refiner_free(fresh);
        rlcc_refiner *r = run_refiner(&opts[m], x, 2);
        CHECK_OK(rlcc_refiner_save(r, NULL, 0, &size));
        uint8_t *s = malloc(size);
        CHECK_OK(rlcc_refiner_save(r, s, size, &size));
        CHECK_EQ(le32(s + AT_FORMAT), 2);
        CHECK_EQ((int32_t)le32(s + AT_METHOD), opts[m].method);
        CHECK_EQ((int32_t)le32(s + 192), opts[m].infomap_k);
        CHECK_EQ((int64_t)le64(s + 224), opts[m].kmeans_k);
        CHECK_EQ(le64(s + 240), opts[m].kmeans_seed);
        rlcc_refiner *back = NULL;
        CHECK_OK(rlcc_refiner_load(s, size, NULL, &back));
        /* a save of the loaded refiner gives back its bytes */
        uint8_t *again = malloc(size);
        size_t again_size = 0;
        CHECK_OK(rlcc_refiner_save(back, again, size, &again_size));
        CHECK(again_size == size && memcmp(again, s, size) == 0);
        /* the next step is the same on both */
        CHECK_OK(rlcc_refiner_step(r, rows_of, x[2], 64, NULL, NULL, NULL, NULL));
        CHECK_OK(rlcc_refiner_step(back, rows_of, x[2], 64, NULL, NULL, NULL, NULL));
        int32_t a[N], b[N];
        CHECK_OK(rlcc_refiner_labels(r, a));
        CHECK_OK(rlcc_refiner_labels(back, b));
        CHECK(memcmp(a, b, sizeof a) == 0);
        float ta[4 * 64], tb[4 * 64];
        const int64_t rows[4] = {0, 17, 101, 239};
        const int64_t k = rlcc_refiner_n_classes(r);
        if (k <= 64) {
            CHECK_OK(rlcc_refiner_targets(r, rows, 4, ta, k));
            CHECK_OK(rlcc_refiner_targets(back, rows, 4, tb, k));
            CHECK(memcmp(ta, tb, sizeof(float) * 4 * (size_t)k) == 0);
        }
        /* format 1 cannot hold these methods: refused, even with a good checksum */
        set_le32(s + AT_FORMAT, 1);
        set_le32(s + size - 4, crc32c_bitwise(s, size - 4));
        rlcc_refiner *bad = (rlcc_refiner *)&bad;
        CHECK_ERR(rlcc_refiner_load(s, size, NULL, &bad), RLCC_E_INVALID_ARGUMENT, "format");
        CHECK(bad == (rlcc_refiner *)&bad);
        free(again);
        free(s);
        rlcc_refiner_free(back);
        rlcc_refiner_free(r);
    }
    /* a DBSCAN refiner stays format 1, and a format 2 state of one is refused */
    rlcc_pseudo_options dbscan;
    rlcc_pseudo_options_init(&dbscan, sizeof dbscan);
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, &dbscan, NULL, &r));
    size_t size = 0;
    CHECK_OK(rlcc_refiner_save(r, NULL, 0, &size));
    CHECK_EQ(size, 196);
    rlcc_refiner_free(r);
    /* the refiner takes no start centroids: each generation starts from
     * faiss's rows of its own features */
    float init[12 * D] = {0};
    opts[1].kmeans_init = init;
    r = NULL;
    CHECK_ERR(rlcc_refiner_new(N, D, &opts[1], NULL, &r), RLCC_E_INVALID_ARGUMENT,
              "kmeans_init must be NULL");
    CHECK(r == NULL);
    /* set_knn: an InfoMap refiner's lists are n x infomap_k; k-means reads none */
    int64_t *knn = malloc(sizeof *knn * N * 10);
    rlcc_knn_options ko;
    rlcc_knn_options_init(&ko, sizeof ko);
    CHECK_OK(rlcc_knn(x[0], N, D, D, 10, &ko, knn, NULL));
    CHECK_OK(rlcc_refiner_new(N, D, &opts[0], NULL, &r));
    CHECK_OK(rlcc_refiner_set_knn(r, knn));
    CHECK_OK(rlcc_refiner_step(r, rows_of, x[0], 64, NULL, NULL, NULL, NULL));
    int32_t want[N], got[N];
    int64_t k = 0;
    CHECK_OK(rlcc_pseudo_labels(x[0], N, D, D, &opts[0], want, &k, NULL));
    CHECK_OK(rlcc_refiner_labels(r, got));
    CHECK(memcmp(want, got, sizeof want) == 0);
    rlcc_refiner_free(r);
    opts[1].kmeans_init = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, &opts[1], NULL, &r));
    CHECK_ERR(rlcc_refiner_set_knn(r, knn), RLCC_E_INVALID_ARGUMENT,
              "knn: RLCC_PSEUDO_KMEANS reads no kNN lists");
    rlcc_refiner_free(r);
    free(knn);
    for (int g = 0; g < 3; g++)
        free(x[g]);
}

const test_case pseudo_methods_tests[] = {
    {"pseudo_methods_defaults_of_the_new_fields", defaults_of_the_new_fields},
    {"pseudo_methods_infomap", infomap_is_rlcc_infomap_labels_with_the_outlier_policy},
    {"pseudo_methods_kmeans", kmeans_is_rlcc_kmeans_from_faiss_start},
    {"pseudo_methods_options_checked", the_options_of_the_methods_are_checked},
    {"pseudo_methods_refiner_format_2", refiners_of_the_methods_checkpoint_in_format_2},
    {NULL, NULL},
};
