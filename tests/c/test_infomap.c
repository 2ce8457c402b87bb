/*
 * test_infomap.c - InfoMap pseudo labels and the map equation (issue #15
 * item 2; spec later-methods.md section 2).
 *
 * Codelengths: hand-computed values of small graphs, and values printed by
 * the mapequation Infomap 1.3.0 CLI (`Infomap g.txt . --two-level
 * --directed --no-infomap --cluster-data g.clu`) for the graph below, to
 * its 9 printed digits. Labels from a caller partition are checked against
 * the rule written out here; the search's determinism over threads and
 * budgets, and its recovery of planted modules. tests/python/
 * test_infomap.py holds the rest against a NumPy oracle.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "test.h"

static uint64_t state;

static double uniform(void)
{
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(state >> 11) * 0x1p-53;
}

static double gaussian(void)
{
    const double u = uniform() + 1e-300, v = uniform();
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* n unit rows of dimension d around n / per centres. */
static float *clustered_rows(int64_t n, int64_t d, int64_t per, double noise, uint64_t seed,
                             int32_t *truth)
{
    state = seed;
    const int64_t groups = n / per;
    float *c = malloc(sizeof *c * (size_t)(groups * d));
    float *x = malloc(sizeof *x * (size_t)(n * d));
    for (int64_t i = 0; i < groups * d; i++)
        c[i] = (float)gaussian();
    for (int64_t i = 0; i < n; i++) {
        const int64_t g = i % groups;
        double s = 0.0;
        for (int64_t t = 0; t < d; t++) {
            x[i * d + t] = c[g * d + t] + (float)(noise * gaussian());
            s += (double)x[i * d + t] * x[i * d + t];
        }
        for (int64_t t = 0; t < d; t++)
            x[i * d + t] = (float)(x[i * d + t] / sqrt(s));
        if (truth)
            truth[i] = (int32_t)g;
    }
    free(c);
    return x;
}

static void options_layout(void)
{
    rlcc_infomap_options o;
    CHECK_OK(rlcc_infomap_options_init(&o, sizeof o));
    CHECK_EQ(o.struct_size, sizeof o);
    CHECK_EQ(o.k, 15);
    CHECK_EQ(o.cluster_num, 4);
    CHECK(o.min_sim == 0.5);
    CHECK_EQ(o.seed, 123);
    CHECK_EQ(o.trials, 1);
    CHECK_EQ(o.normalize, 0);
    CHECK_EQ(o.n_threads, 0);
    CHECK_EQ(o.max_bytes, 0);
    CHECK_EQ(sizeof o, 56);
    CHECK_EQ(offsetof(rlcc_infomap_options, k), 8);
    CHECK_EQ(offsetof(rlcc_infomap_options, cluster_num), 12);
    CHECK_EQ(offsetof(rlcc_infomap_options, min_sim), 16);
    CHECK_EQ(offsetof(rlcc_infomap_options, seed), 24);
    CHECK_EQ(offsetof(rlcc_infomap_options, trials), 32);
    CHECK_EQ(offsetof(rlcc_infomap_options, normalize), 36);
    CHECK_EQ(offsetof(rlcc_infomap_options, n_threads), 40);
    CHECK_EQ(offsetof(rlcc_infomap_options, reserved), 44);
    CHECK_EQ(offsetof(rlcc_infomap_options, max_bytes), 48);
    CHECK_ERR(rlcc_infomap_options_init(&o, 8), RLCC_E_INVALID_ARGUMENT, "struct_size");
}

/* a <-> b, and the directed 3-cycle: hand-computed. */
static void codelength_by_hand(void)
{
    const int64_t s2[] = {0, 1}, t2[] = {1, 0};
    const double w2[] = {1.0, 1.0};
    double L = -1.0;
    /* one module: the entropy of (1/2, 1/2) */
    CHECK_OK(rlcc_map_codelength(2, s2, t2, w2, 2, (const int32_t[]){5, 5}, &L));
    CHECK(fabs(L - 1.0) < 1e-15);
    /* two: index 1 bit, each module codebook exit 1/2 + node 1/2: 1 bit each */
    CHECK_OK(rlcc_map_codelength(2, s2, t2, w2, 2, (const int32_t[]){0, 1}, &L));
    CHECK(fabs(L - 3.0) < 1e-15);
    const int64_t s3[] = {0, 1, 2}, t3[] = {1, 2, 0};
    const double w3[] = {1.0, 1.0, 1.0};
    CHECK_OK(rlcc_map_codelength(3, s3, t3, w3, 3, (const int32_t[]){0, 0, 0}, &L));
    CHECK(fabs(L - log2(3.0)) < 1e-14);
    CHECK_OK(rlcc_map_codelength(3, s3, t3, w3, 3, (const int32_t[]){0, 1, 2}, &L));
    CHECK(fabs(L - (2.0 + log2(3.0))) < 1e-14);
    /* weights scale out, repeated links add up, isolated nodes carry nothing */
    const int64_t s4[] = {0, 1, 2, 0}, t4[] = {1, 2, 0, 1};
    const double w4[] = {3.0, 6.0, 6.0, 3.0};
    double L2 = -1.0;
    CHECK_OK(rlcc_map_codelength(5, s4, t4, w4, 4, (const int32_t[]){0, 1, 2, 9, 9}, &L2));
    CHECK(fabs(L2 - (2.0 + log2(3.0))) < 1e-14);
}

/* The graph of tests: two triangles, a bridge each way, node 6 dangling. */
static const int64_t g_src[] = {0, 1, 2, 2, 3, 4, 5, 5, 1};
static const int64_t g_dst[] = {1, 2, 0, 3, 4, 5, 3, 0, 6};
static const double g_w[] = {1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 0.25, 2.0};

static void codelength_vs_infomap(void)
{
    double L = -1.0;
    /* Infomap 1.3.0 printed 2.19670238, 3.65887885 and one-level 2.71795086 */
    CHECK_OK(rlcc_map_codelength(7, g_src, g_dst, g_w, 9, (const int32_t[]){1, 1, 1, 2, 2, 2, 1}, &L));
    CHECK(fabs(L - 2.19670238) < 5e-9);
    CHECK_OK(rlcc_map_codelength(7, g_src, g_dst, g_w, 9, (const int32_t[]){7, 3, 7, 3, 0, 0, 3}, &L));
    CHECK(fabs(L - 3.65887885) < 5e-9);
    CHECK_OK(rlcc_map_codelength(7, g_src, g_dst, g_w, 9, (const int32_t[]){0, 0, 0, 0, 0, 0, 0}, &L));
    CHECK(fabs(L - 2.71795086) < 5e-9);
    /* the links' order does not matter */
    const int64_t rs[] = {1, 5, 5, 4, 3, 2, 2, 1, 0}, rd[] = {6, 0, 3, 5, 4, 3, 0, 2, 1};
    const double rw[] = {2.0, 0.25, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0};
    double R = -1.0;
    CHECK_OK(rlcc_map_codelength(7, g_src, g_dst, g_w, 9, (const int32_t[]){1, 1, 1, 2, 2, 2, 1}, &L));
    CHECK_OK(rlcc_map_codelength(7, rs, rd, rw, 9, (const int32_t[]){1, 1, 1, 2, 2, 2, 1}, &R));
    CHECK(L == R);
}

static void codelength_errors(void)
{
    const int32_t mods[7] = {0};
    double L = 42.0;
    CHECK_ERR(rlcc_map_codelength(7, (const int64_t[]){0, 1}, (const int64_t[]){1, 7}, g_w, 2, mods, &L),
              RLCC_E_INVALID_ARGUMENT, "dst: link 1 has node 7, outside [0, 7)");
    CHECK_ERR(rlcc_map_codelength(7, (const int64_t[]){0, 7}, (const int64_t[]){1, 2}, g_w, 2, mods, &L),
              RLCC_E_INVALID_ARGUMENT, "src: link 1 has node 7, outside [0, 7)");
    CHECK_ERR(rlcc_map_codelength(7, (const int64_t[]){0, -1}, (const int64_t[]){1, 2}, g_w, 2, mods, &L),
              RLCC_E_INVALID_ARGUMENT, "src: link 1 has node -1");
    CHECK_ERR(rlcc_map_codelength(7, (const int64_t[]){0, 3}, (const int64_t[]){1, 3}, g_w, 2, mods, &L),
              RLCC_E_INVALID_ARGUMENT, "self-link");
    CHECK_ERR(rlcc_map_codelength(7, g_src, g_dst, (const double[]){1.0, 0.0}, 2, mods, &L),
              RLCC_E_INVALID_ARGUMENT, "weight: link 1 has weight 0");
    CHECK_ERR(rlcc_map_codelength(7, g_src, g_dst, (const double[]){-1.0}, 1, mods, &L),
              RLCC_E_INVALID_ARGUMENT, "weight: link 0");
    CHECK_ERR(rlcc_map_codelength(7, g_src, g_dst, (const double[]){NAN}, 1, mods, &L),
              RLCC_E_INVALID_ARGUMENT, "weight: link 0 has weight nan");
    CHECK_ERR(rlcc_map_codelength(7, g_src, g_dst, (const double[]){INFINITY}, 1, mods, &L),
              RLCC_E_INVALID_ARGUMENT, "weight: link 0");
    CHECK_ERR(rlcc_map_codelength(7, g_src, g_dst, g_w, 9, (const int32_t[]){0, 0, -1, 0, 0, 0, 0}, &L),
              RLCC_E_INVALID_ARGUMENT, "modules: node 2 has module -1");
    CHECK_ERR(rlcc_map_codelength(7, NULL, g_dst, g_w, 9, mods, &L), RLCC_E_INVALID_ARGUMENT, "src: is NULL");
    CHECK_ERR(rlcc_map_codelength(7, g_src, NULL, g_w, 9, mods, &L), RLCC_E_INVALID_ARGUMENT, "dst: is NULL");
    CHECK_ERR(rlcc_map_codelength(7, g_src, g_dst, NULL, 9, mods, &L), RLCC_E_INVALID_ARGUMENT, "weight: is NULL");
    CHECK_ERR(rlcc_map_codelength(7, g_src, g_dst, g_w, 9, NULL, &L), RLCC_E_INVALID_ARGUMENT, "modules: is NULL");
    CHECK_ERR(rlcc_map_codelength(7, g_src, g_dst, g_w, 9, mods, NULL), RLCC_E_INVALID_ARGUMENT, "codelength: is NULL");
    CHECK_ERR(rlcc_map_codelength(-1, g_src, g_dst, g_w, 9, mods, &L), RLCC_E_INVALID_ARGUMENT, "n_nodes");
    CHECK_ERR(rlcc_map_codelength(7, g_src, g_dst, g_w, -1, mods, &L), RLCC_E_INVALID_ARGUMENT, "n_links: -1");
    CHECK(L == 42.0);
    /* no links: an empty network */
    CHECK_OK(rlcc_map_codelength(7, NULL, NULL, NULL, 0, mods, &L));
    CHECK(L == 0.0);
}

/* Caller lists and a caller partition: the labels by the rule of step 4. */
static void labels_from_partition(void)
{
    /* 12 samples, k = 3 lists (self first), distances 1 - sim */
    enum { N = 12, K = 3 };
    int64_t knn[N * K];
    float dist[N * K];
    /* samples 0-5 a ring of links, 6-9 a ring, 10 and 11 single (far) */
    for (int i = 0; i < N; i++) {
        knn[i * K] = i;
        dist[i * K] = 0.0f;
        if (i < 6) {
            knn[i * K + 1] = (i + 1) % 6;
            knn[i * K + 2] = (i + 5) % 6;
        } else if (i < 10) {
            knn[i * K + 1] = 6 + (i - 6 + 1) % 4;
            knn[i * K + 2] = 6 + (i - 6 + 3) % 4;
        } else {
            knn[i * K + 1] = (i + 1) % N;
            knn[i * K + 2] = (i + 2) % N;
        }
        dist[i * K + 1] = i < 10 ? 0.1f : 0.9f;
        dist[i * K + 2] = i < 10 ? 0.2f : 0.95f;
    }
    rlcc_infomap_options o;
    rlcc_infomap_options_init(&o, sizeof o);
    o.k = K;
    o.cluster_num = 3;
    /* modules by sample, arbitrary ids: two modules */
    const int32_t mods[N] = {900, 900, 900, 900, 900, 900, 7, 7, 7, 7, 0, 0};
    int32_t labels[N];
    int64_t n_classes = -1;
    double L = -1.0;
    CHECK_OK(rlcc_infomap_labels(NULL, N, 1, 1, knn, dist, mods, &o, labels, &n_classes, &L));
    /* the 6-ring has the larger flow: label 0; the 4-ring 1; singles -1 */
    for (int i = 0; i < N; i++)
        CHECK_EQ(labels[i], i < 6 ? 0 : i < 10 ? 1 : -1);
    CHECK_EQ(n_classes, 2);
    CHECK(L > 0.0);
    /* cluster_num 4: the 4-ring is dropped too */
    o.cluster_num = 4;
    CHECK_OK(rlcc_infomap_labels(NULL, N, 1, 1, knn, dist, mods, &o, labels, &n_classes, NULL));
    for (int i = 0; i < N; i++)
        CHECK_EQ(labels[i], i < 6 ? 0 : -1);
    CHECK_EQ(n_classes, 1);
    /* cluster_num 0: singles keep labels after the modules, ascending */
    o.cluster_num = 0;
    CHECK_OK(rlcc_infomap_labels(NULL, N, 1, 1, knn, dist, mods, &o, labels, &n_classes, NULL));
    for (int i = 0; i < N; i++)
        CHECK_EQ(labels[i], i < 6 ? 0 : i < 10 ? 1 : i - 8);
    CHECK_EQ(n_classes, 4);
    /* librlcc's search finds the two rings */
    o.cluster_num = 0;
    CHECK_OK(rlcc_infomap_labels(NULL, N, 1, 1, knn, dist, NULL, &o, labels, &n_classes, &L));
    for (int i = 0; i < N; i++)
        CHECK_EQ(labels[i], i < 6 ? 0 : i < 10 ? 1 : i - 8);
    /* min_sim 0.85: only the first neighbour (dist 0.1 <= 0.15) links */
    o.min_sim = 0.85;
    CHECK_OK(rlcc_infomap_labels(NULL, N, 1, 1, knn, dist, mods, &o, labels, &n_classes, NULL));
    for (int i = 0; i < 10; i++)
        CHECK(labels[i] >= 0);
    /* min_sim 1: nothing links, every sample single */
    o.min_sim = 1.0;
    CHECK_OK(rlcc_infomap_labels(NULL, N, 1, 1, knn, dist, NULL, &o, labels, &n_classes, &L));
    for (int i = 0; i < N; i++)
        CHECK_EQ(labels[i], i);
    CHECK(L == 0.0);
}

static void labels_errors(void)
{
    enum { N = 40, D = 8 };
    float *x = clustered_rows(N, D, 8, 0.1, 5, NULL);
    rlcc_infomap_options o;
    rlcc_infomap_options_init(&o, sizeof o);
    o.k = 5;
    int32_t labels[N];
    for (int i = 0; i < N; i++)
        labels[i] = 77;
    int64_t nc = 77;
    double L = 77.0;
    rlcc_infomap_options b = o;
    b.k = N + 1;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "options.k: 41 must be in [1, n = 40]");
    b.k = 0;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "options.k: 0");
    b = o;
    b.min_sim = 1.5;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "options.min_sim: 1.5 must be in [-1, 1]");
    b.min_sim = -1.01;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "options.min_sim");
    b.min_sim = NAN;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "options.min_sim: nan");
    b = o;
    b.cluster_num = -1;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "options.cluster_num: -1 must be >= 0");
    b = o;
    b.trials = 0;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "options.trials: 0 must be >= 1");
    b = o;
    b.reserved = 1;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "options.reserved");
    b = o;
    b.normalize = 2;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "options.normalize");
    CHECK_ERR(rlcc_infomap_labels(NULL, N, D, D, NULL, NULL, NULL, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "x");
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &o, NULL, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    /* not unit rows */
    x[3 * D] += 1.0f;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "x: row 3 has norm");
    x[3 * D] = NAN;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "x: row 3");
    for (int t = 0; t < D; t++)
        x[3 * D + t] = 0.0f;
    b = o;
    b.normalize = 1;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &b, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "x: row 3 is all zeros");
    /* caller lists */
    int64_t knn[N * 5];
    float dist[N * 5];
    for (int i = 0; i < N; i++)
        for (int r = 0; r < 5; r++) {
            knn[i * 5 + r] = (i + r) % N;
            dist[i * 5 + r] = 0.1f * (float)r;
        }
    /* lists without distances take them from the rows: x is needed */
    CHECK_ERR(rlcc_infomap_labels(NULL, N, D, D, knn, NULL, NULL, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "x: is NULL");
    knn[7 * 5 + 2] = N;
    CHECK_ERR(rlcc_infomap_labels(NULL, N, D, D, knn, dist, NULL, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "knn: entry 2 of row 7 is 40, outside [0, 40)");
    knn[7 * 5 + 2] = -1;
    CHECK_ERR(rlcc_infomap_labels(NULL, N, D, D, knn, dist, NULL, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "knn: entry 2 of row 7 is -1");
    knn[7 * 5 + 2] = 8;
    CHECK_ERR(rlcc_infomap_labels(NULL, N, D, D, knn, dist, NULL, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "knn: row 7 lists 8 twice");
    knn[7 * 5 + 2] = 9;
    dist[9 * 5 + 3] = 0.05f;
    CHECK_ERR(rlcc_infomap_labels(NULL, N, D, D, knn, dist, NULL, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "knn_dist: row 9 is not ascending at entry 3");
    dist[9 * 5 + 3] = NAN;
    CHECK_ERR(rlcc_infomap_labels(NULL, N, D, D, knn, dist, NULL, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "knn_dist: entry 3 of row 9 is NaN");
    dist[9 * 5 + 3] = 0.3f;
    int32_t mods[N] = {0};
    mods[11] = -2;
    CHECK_ERR(rlcc_infomap_labels(NULL, N, D, D, knn, dist, mods, &o, labels, &nc, &L),
              RLCC_E_INVALID_ARGUMENT, "modules: sample 11 has module -2");
    /* outputs untouched by every refusal */
    for (int i = 0; i < N; i++)
        CHECK_EQ(labels[i], 77);
    CHECK_EQ(nc, 77);
    CHECK(L == 77.0);
    /* and the lists now accepted */
    mods[11] = 0;
    CHECK_OK(rlcc_infomap_labels(NULL, N, D, D, knn, dist, mods, &o, labels, &nc, &L));
    /* links: errors and capacity */
    int64_t s[N * 5], t[N * 5], m = -1;
    double w[N * 5];
    CHECK_ERR(rlcc_infomap_links(NULL, N, D, D, knn, dist, &o, s, t, w, NULL),
              RLCC_E_INVALID_ARGUMENT, "n_links: is NULL");
    CHECK_OK(rlcc_infomap_links(NULL, N, D, D, knn, dist, &o, s, t, w, &m));
    /* dist 0.1 r for r = 1..4 all <= 0.5, self skipped: 4 per row */
    CHECK_EQ(m, N * 4);
    CHECK(s[0] == 0 && t[0] == 1 && w[0] == 1.0 - (double)0.1f);
    free(x);
}

/* The same bytes for every thread count and budget; the seed matters. */
static void search_determinism(void)
{
    enum { N = 600, D = 32 };
    float *x = clustered_rows(N, D, 6, 0.55, 99, NULL);
    rlcc_infomap_options o;
    rlcc_infomap_options_init(&o, sizeof o);
    int32_t ref[N], got[N];
    int64_t nc0 = 0, nc = 0;
    double L0 = 0.0, L = 0.0;
    o.n_threads = 1;
    CHECK_OK(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &o, ref, &nc0, &L0));
    const int32_t threads[] = {2, 3, 0};
    const int64_t budgets[] = {0, 8 << 20, 1 << 30};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            o.n_threads = threads[a];
            o.max_bytes = budgets[b];
            CHECK_OK(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &o, got, &nc, &L));
            CHECK(memcmp(ref, got, sizeof ref) == 0);
            CHECK(L == L0);
            CHECK_EQ(nc, nc0);
        }
    o.max_bytes = 4096;
    CHECK_ERR(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &o, got, &nc, &L),
              RLCC_E_MEMORY_LIMIT, "");
    /* trials: never longer than one trial */
    o.max_bytes = 0;
    o.trials = 4;
    CHECK_OK(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &o, got, &nc, &L));
    CHECK(L <= L0 + 1e-12);
    free(x);
}

/* Planted modules: rows around centres, far apart. */
static void search_recovers_planted(void)
{
    enum { N = 400, D = 64 };
    int32_t truth[N], labels[N];
    float *x = clustered_rows(N, D, 10, 0.3, 1234, truth);
    rlcc_infomap_options o;
    rlcc_infomap_options_init(&o, sizeof o);
    int64_t nc = 0;
    double L = 0.0;
    CHECK_OK(rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &o, labels, &nc, &L));
    CHECK_EQ(nc, N / 10);
    /* same class iff same centre */
    int agree = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            agree &= (labels[i] == labels[j]) == (truth[i] == truth[j]);
    CHECK(agree);
    free(x);
}

const test_case infomap_tests[] = {
    {"infomap_options_layout", options_layout},
    {"infomap_codelength_by_hand", codelength_by_hand},
    {"infomap_codelength_vs_infomap", codelength_vs_infomap},
    {"infomap_codelength_errors", codelength_errors},
    {"infomap_labels_from_partition", labels_from_partition},
    {"infomap_labels_errors", labels_errors},
    {"infomap_search_determinism", search_determinism},
    {"infomap_search_recovers_planted", search_recovers_planted},
    {NULL, NULL},
};
