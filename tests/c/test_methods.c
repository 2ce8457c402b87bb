/*
 * test_methods.c - librlcc 1.7, issue #15 items 1, 4, 5 (later-methods.md
 * sections 1, 4, 5): camera-aware proxies and the float32 centroid norm,
 * PPLR's cross-agreement and part weights, eps from a distance quantile.
 *
 * Oracles here are brute force, written from the spec: proxies by scanning
 * every (cluster, camera) pair in order; ranked lists by sorting every row
 * by (squared distance in double, index) on coarse grids where double is
 * exact; the quantile by sorting the whole triangle. The NumPy bytes (the
 * pairwise sum, CAP's norm, MMT's mean) are held by
 * tests/python/test_later.py against NumPy itself.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "test.h"

static uint64_t rng;

static uint32_t next_u32(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33);
}

static uint32_t below(uint32_t n)
{
    return next_u32() % n;
}

/* ---- struct layouts ------------------------------------------------------------- */

static void layouts_are_pinned(void)
{
    CHECK_EQ(sizeof(rlcc_proxy_options), 24);
    CHECK_EQ(offsetof(rlcc_proxy_options, order), 8);
    CHECK_EQ(offsetof(rlcc_proxy_options, max_bytes), 16);
    CHECK_EQ(sizeof(rlcc_agreement_options), 32);
    CHECK_EQ(offsetof(rlcc_agreement_options, k), 8);
    CHECK_EQ(offsetof(rlcc_agreement_options, exclude_self), 12);
    CHECK_EQ(offsetof(rlcc_agreement_options, n_threads), 16);
    CHECK_EQ(offsetof(rlcc_agreement_options, max_bytes), 24);
    CHECK_EQ(sizeof(rlcc_quantile_options), 24);
    CHECK_EQ(offsetof(rlcc_quantile_options, summation), 8);
    CHECK_EQ(sizeof(rlcc_centroid_options), 32);
    CHECK_EQ(offsetof(rlcc_centroid_options, norm), 24);
    CHECK_EQ(offsetof(rlcc_centroid_options, reserved2), 28);

    rlcc_proxy_options po;
    CHECK_OK(rlcc_proxy_options_init(&po, sizeof po));
    CHECK_EQ(po.order, RLCC_PROXIES_CAMERA_MAJOR);
    rlcc_agreement_options ao;
    CHECK_OK(rlcc_agreement_options_init(&ao, sizeof ao));
    CHECK_EQ(ao.k, 20);
    CHECK_EQ(ao.exclude_self, 0);
    rlcc_quantile_options qo;
    CHECK_OK(rlcc_quantile_options_init(&qo, sizeof qo));
    CHECK_EQ(qo.summation, RLCC_SUM_NUMPY);
    CHECK_ERR(rlcc_quantile_options_init(&qo, 16), RLCC_E_INVALID_ARGUMENT, "struct_size");
    CHECK_ERR(rlcc_proxy_options_init(NULL, sizeof po), RLCC_E_INVALID_ARGUMENT, "options");
}

/* ---- section 1: proxies ------------------------------------------------------------ */

/* Brute force: walk outer keys ascending, inner keys ascending, number the
 * pairs that have a member. */
static int64_t proxy_oracle(const int32_t *labels, const int32_t *cameras, int64_t n, int order,
                            int32_t *proxy, int32_t *cl, int32_t *ca)
{
    const int32_t *outer = order == RLCC_PROXIES_CAMERA_MAJOR ? cameras : labels;
    const int32_t *inner = order == RLCC_PROXIES_CAMERA_MAJOR ? labels : cameras;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        proxy[i] = -1;
    int64_t lo_a = -1; /* the last outer key done */
    for (;;) {
        int64_t a = INT64_MAX;
        for (int64_t i = 0; i < n; i++)
            if (labels[i] >= 0 && outer[i] > lo_a && outer[i] < a)
                a = outer[i];
        if (a == INT64_MAX)
            break;
        int64_t lo_b = -1;
        for (;;) {
            int64_t b = INT64_MAX;
            for (int64_t i = 0; i < n; i++)
                if (labels[i] >= 0 && outer[i] == a && inner[i] > lo_b && inner[i] < b)
                    b = inner[i];
            if (b == INT64_MAX)
                break;
            for (int64_t i = 0; i < n; i++)
                if (labels[i] >= 0 && outer[i] == a && inner[i] == b)
                    proxy[i] = (int32_t)m;
            cl[m] = (int32_t)(order == RLCC_PROXIES_CAMERA_MAJOR ? b : a);
            ca[m] = (int32_t)(order == RLCC_PROXIES_CAMERA_MAJOR ? a : b);
            m++;
            lo_b = b;
        }
        lo_a = a;
    }
    return m;
}

static void proxies_hand_case(void)
{
    /* cameras 9, 2 and 5 (none in between; camera 5 has only noise), labels 40, 7 */
    const int32_t labels[] = {40, 7, 40, 7, 40, 7, -1};
    const int32_t cameras[] = {9, 9, 2, 2, 9, 9, 5};
    int32_t proxy[7], cl[7], ca[7];
    int64_t m = -1;
    CHECK_OK(rlcc_camera_proxies(labels, cameras, 7, NULL, proxy, &m, cl, ca));
    CHECK_EQ(m, 4); /* camera 2: (7), (40); camera 9: (7), (40) */
    const int32_t want[] = {3, 2, 1, 0, 3, 2, -1};
    CHECK(memcmp(proxy, want, sizeof want) == 0);
    CHECK(cl[0] == 7 && cl[1] == 40 && cl[2] == 7 && cl[3] == 40);
    CHECK(ca[0] == 2 && ca[1] == 2 && ca[2] == 9 && ca[3] == 9);
    rlcc_proxy_options o;
    rlcc_proxy_options_init(&o, sizeof o);
    o.order = RLCC_PROXIES_CLUSTER_MAJOR;
    CHECK_OK(rlcc_camera_proxies(labels, cameras, 7, &o, proxy, &m, NULL, ca));
    const int32_t want2[] = {3, 1, 2, 0, 3, 1, -1}; /* (7,2), (7,9), (40,2), (40,9) */
    CHECK(memcmp(proxy, want2, sizeof want2) == 0);
    CHECK(ca[0] == 2 && ca[1] == 9 && ca[2] == 2 && ca[3] == 9);
    /* n == 0, all noise */
    CHECK_OK(rlcc_camera_proxies(NULL, NULL, 0, NULL, NULL, &m, NULL, NULL));
    CHECK_EQ(m, 0);
    const int32_t noise[] = {-1, -1};
    CHECK_OK(rlcc_camera_proxies(noise, cameras, 2, NULL, proxy, &m, NULL, NULL));
    CHECK(m == 0 && proxy[0] == -1 && proxy[1] == -1);
}

static void proxies_equal_the_oracle(void)
{
    enum { N = 150 };
    int32_t labels[N], cameras[N], proxy[N], cl[N], ca[N], wp[N], wcl[N], wca[N];
    rng = 77;
    for (int c = 0; c < 300; c++) {
        const int64_t n = below(N + 1);
        const int32_t spread = c % 3 == 0 ? 3 : c % 3 == 1 ? 1000 : INT32_MAX / 8;
        for (int64_t i = 0; i < n; i++) {
            labels[i] = c % 11 == 0 ? -1 : (int32_t)below(6) * spread - 1 + (c % 2);
            labels[i] = labels[i] < -1 ? -1 : labels[i];
            cameras[i] = c % 5 == 0 ? 4 : (int32_t)(below(5) * (uint32_t)(spread / 3 + 1));
        }
        for (int order = 0; order < 2; order++) {
            rlcc_proxy_options o;
            rlcc_proxy_options_init(&o, sizeof o);
            o.order = order;
            int64_t m = -1;
            CHECK_OK(rlcc_camera_proxies(labels, cameras, n, &o, proxy, &m, cl, ca));
            const int64_t wm = proxy_oracle(labels, cameras, n, order, wp, wcl, wca);
            CHECK_EQ(m, wm);
            CHECK(n == 0 || memcmp(proxy, wp, sizeof *proxy * (size_t)n) == 0);
            CHECK(wm == 0 || memcmp(cl, wcl, sizeof *cl * (size_t)wm) == 0);
            CHECK(wm == 0 || memcmp(ca, wca, sizeof *ca * (size_t)wm) == 0);
        }
    }
}

static void proxies_refuse_bad_input_untouched(void)
{
    const int32_t labels[] = {0, 1, -2};
    const int32_t cameras[] = {0, -3, 0};
    const int32_t good[] = {0, 1, 1};
    int32_t proxy[3] = {9, 9, 9}, cl[3] = {9, 9, 9};
    int64_t m = 5;
    CHECK_ERR(rlcc_camera_proxies(labels, good, 3, NULL, proxy, &m, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "labels[2] = -2 is below -1");
    CHECK_ERR(rlcc_camera_proxies(good, cameras, 3, NULL, proxy, &m, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "cameras[1] = -3 is negative");
    CHECK_ERR(rlcc_camera_proxies(NULL, good, 3, NULL, proxy, &m, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    CHECK_ERR(rlcc_camera_proxies(good, good, 3, NULL, NULL, &m, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "proxy: is NULL");
    CHECK_ERR(rlcc_camera_proxies(good, good, 3, NULL, proxy, NULL, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "n_proxies: is NULL");
    CHECK_ERR(rlcc_camera_proxies(good, good, -1, NULL, proxy, &m, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "negative");
    /* outputs over each other and over the inputs */
    int32_t buf[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    CHECK_ERR(rlcc_camera_proxies(good, good, 3, NULL, buf, &m, buf + 2, NULL),
              RLCC_E_INVALID_ARGUMENT, "overlap");
    CHECK_ERR(rlcc_camera_proxies(good, good, 3, NULL, (int32_t *)good, &m, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "overlap");
    rlcc_proxy_options o;
    rlcc_proxy_options_init(&o, sizeof o);
    o.reserved = 1;
    CHECK_ERR(rlcc_camera_proxies(good, good, 3, &o, proxy, &m, cl, NULL), RLCC_E_INVALID_ARGUMENT,
              "options.reserved");
    o.reserved = 0;
    o.order = 7;
    CHECK_ERR(rlcc_camera_proxies(good, good, 3, &o, proxy, &m, cl, NULL), RLCC_E_INVALID_ARGUMENT,
              "options.order");
    o.order = 0;
    o.max_bytes = 8;
    CHECK_ERR(rlcc_camera_proxies(good, good, 3, &o, proxy, &m, cl, NULL), RLCC_E_MEMORY_LIMIT, "");
    CHECK(proxy[0] == 9 && proxy[1] == 9 && proxy[2] == 9 && cl[0] == 9 && m == 5);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(buf[i], 9);
}

/* ---- the float32 centroid norm --------------------------------------------------- */

static void centroid_norm_option(void)
{
    enum { N = 40, D = 300, K = 5 };
    static float x[N * D], a[K * D], b[K * D], c[K * D];
    int32_t labels[N];
    rng = 5;
    for (int i = 0; i < N; i++) {
        labels[i] = (int32_t)below(K + 1) - 1;
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)next_u32() / 4294967296.0f - 0.5f;
    }
    /* the 1.4-sized struct: the default norm (double), as NULL options */
    rlcc_centroid_options old;
    CHECK_OK(rlcc_centroid_options_init(&old, offsetof(rlcc_centroid_options, norm)));
    CHECK_EQ(old.struct_size, 24);
    CHECK_OK(rlcc_centroids_opts(x, N, D, D, labels, K, &old, a, D));
    CHECK_OK(rlcc_centroids_opts(x, N, D, D, labels, K, NULL, b, D));
    CHECK(memcmp(a, b, sizeof a) == 0);
    rlcc_centroid_options o;
    CHECK_OK(rlcc_centroid_options_init(&o, sizeof o));
    CHECK_EQ(o.norm, RLCC_CENTROID_NORM_DOUBLE);
    o.norm = RLCC_CENTROID_NORM_FLOAT32;
    CHECK_OK(rlcc_centroids_opts(x, N, D, D, labels, K, &o, c, D));
    /* the float32 norm: a unit row (or zero), within 2 ulp of the double one */
    int differ = 0;
    for (int i = 0; i < K * D; i++) {
        int32_t ua, uc;
        memcpy(&ua, &a[i], sizeof ua);
        memcpy(&uc, &c[i], sizeof uc);
        CHECK(llabs((long long)ua - uc) <= 2);
        differ += ua != uc;
    }
    CHECK(differ > 0);
    o.n_threads = 1;
    CHECK_OK(rlcc_centroids_opts(x, N, D, D, labels, K, &o, b, D));
    CHECK(memcmp(b, c, sizeof b) == 0);
    /* a zero mean stays zero with both norms */
    float z[4] = {0.6f, 0.8f, -0.6f, -0.8f}, zc[2] = {7, 7};
    const int32_t zl[2] = {0, 0};
    CHECK_OK(rlcc_centroids_opts(z, 2, 2, 2, zl, 1, &o, zc, 2));
    CHECK(zc[0] == 0.0f && zc[1] == 0.0f);
    o.norm = 2;
    CHECK_ERR(rlcc_centroids_opts(x, N, D, D, labels, K, &o, b, D), RLCC_E_INVALID_ARGUMENT,
              "options.norm");
    o.norm = 0;
    o.reserved2 = 3;
    CHECK_ERR(rlcc_centroids_opts(x, N, D, D, labels, K, &o, b, D), RLCC_E_INVALID_ARGUMENT,
              "options.reserved2");
    CHECK(memcmp(b, c, sizeof b) == 0);
}

/* ---- section 4: cross-agreement ------------------------------------------------------- */

static const float *sort_rows;
static int64_t sort_i, sort_d;

static double grid_sqdist(const float *x, int64_t d, int64_t i, int64_t j)
{
    double s = 0;
    for (int64_t t = 0; t < d; t++) {
        const double v = (double)x[i * d + t] - (double)x[j * d + t];
        s += v * v;
    }
    return s;
}

static int by_distance(const void *pa, const void *pb)
{
    const int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    const double da = grid_sqdist(sort_rows, sort_d, sort_i, a);
    const double db = grid_sqdist(sort_rows, sort_d, sort_i, b);
    return da < db ? -1 : da > db ? 1 : (a > b) - (a < b);
}

/* R(i) by sorting every row: the k + 1 first, position 0 dropped, or the k
 * first other than i. */
static void oracle_list(const float *x, int64_t n, int64_t d, int64_t i, int64_t k, int exclude,
                        int64_t *out)
{
    int64_t *order = malloc(sizeof *order * (size_t)n);
    for (int64_t j = 0; j < n; j++)
        order[j] = j;
    sort_rows = x;
    sort_i = i;
    sort_d = d;
    qsort(order, (size_t)n, sizeof *order, by_distance);
    int64_t at = 0;
    for (int64_t r = 0; r < n && at < k; r++) {
        if (exclude ? order[r] == i : r == 0)
            continue;
        out[at++] = order[r];
    }
    free(order);
}

static void cross_agreement_equals_the_oracle(void)
{
    enum { N = 30 };
    static float g[N * 3], parts[3][N * 2], scores[N * 3];
    int64_t lg[N], lp[N];
    rng = 99;
    int cases = 0;
    for (int c = 0; c < 200; c++) {
        const int64_t n = 2 + below(N - 1), k = 1 + below((uint32_t)n - 1), np = 1 + below(3);
        const int64_t dg = 1 + below(3);
        for (int64_t i = 0; i < n * dg; i++)
            g[i] = (float)below(4) * 0.25f; /* a grid: ties and duplicate rows */
        for (int64_t p = 0; p < np; p++)
            for (int64_t i = 0; i < n * 2; i++)
                parts[p][i] = (float)below(3) * 0.5f;
        const float *ptrs[3] = {parts[0], parts[1], parts[2]};
        for (int exclude = 0; exclude < 2; exclude++) {
            rlcc_agreement_options o;
            rlcc_agreement_options_init(&o, sizeof o);
            o.k = (int32_t)k;
            o.exclude_self = exclude;
            o.n_threads = 1 + c % 2;
            CHECK_OK(rlcc_cross_agreement(g, n, dg, dg, ptrs, np, 2, 2, &o, scores));
            for (int64_t i = 0; i < n; i++) {
                oracle_list(g, n, dg, i, k, exclude, lg);
                for (int64_t p = 0; p < np; p++) {
                    oracle_list(parts[p], n, 2, i, k, exclude, lp);
                    int64_t inter = 0;
                    for (int64_t a = 0; a < k; a++)
                        for (int64_t b = 0; b < k; b++)
                            inter += lg[a] == lp[b];
                    const float want = (float)inter / (float)(2 * k - inter);
                    CHECK(scores[i * np + p] == want);
                }
            }
            cases++;
        }
    }
    CHECK_EQ(cases, 400);
}

static void cross_agreement_duplicate_first(void)
{
    /* rows 0 and 1 identical: row 1's position 0 is row 0 */
    const float g[] = {0, 0, 0, 0, 1, 0, 3, 0};
    const float p0[] = {0, 0, 0, 0, 0, 1, 0, 3};
    const float *parts[] = {p0};
    float s[4], t[4];
    rlcc_agreement_options o;
    rlcc_agreement_options_init(&o, sizeof o);
    o.k = 1;
    CHECK_OK(rlcc_cross_agreement(g, 4, 2, 2, parts, 1, 2, 2, &o, s));
    o.exclude_self = 1;
    CHECK_OK(rlcc_cross_agreement(g, 4, 2, 2, parts, 1, 2, 2, &o, t));
    /* PPLR: R(1) = {1} in both spaces, agreement 1; exclude self: R(1) = {0} in both */
    CHECK(s[1] == 1.0f && t[1] == 1.0f);
    /* row 2: g's nearest other is 0 or 1 at 1 (0 first), part's is 0 at 1 */
    CHECK(s[2] == 1.0f && t[2] == 1.0f);
}

static void cross_agreement_invariance_and_errors(void)
{
    enum { N = 400, D = 40 };
    static float g[N * D], p0[N * D], p1[N * D], a[N * 2], b[N * 2];
    rng = 3;
    for (int i = 0; i < N * D; i++) {
        g[i] = (float)next_u32() / 4294967296.0f - 0.5f;
        p0[i] = (float)next_u32() / 4294967296.0f - 0.5f;
        p1[i] = (float)next_u32() / 4294967296.0f - 0.5f;
    }
    const float *parts[] = {p0, p1};
    rlcc_agreement_options o;
    rlcc_agreement_options_init(&o, sizeof o);
    CHECK_OK(rlcc_cross_agreement(g, N, D, D, parts, 2, D, D, &o, a));
    for (int t = 1; t <= 3; t++)
        for (int64_t mb = 0; mb <= (1 << 20); mb += 1 << 20) {
            o.n_threads = t;
            o.max_bytes = mb;
            memset(b, 0, sizeof b);
            CHECK_OK(rlcc_cross_agreement(g, N, D, D, parts, 2, D, D, &o, b));
            CHECK(memcmp(a, b, sizeof a) == 0);
        }
    rlcc_agreement_options_init(&o, sizeof o);
    for (int i = 0; i < N * 2; i++)
        b[i] = 5.0f;
    o.k = N;
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, parts, 2, D, D, &o, b), RLCC_E_INVALID_ARGUMENT,
              "exceeds n");
    o.k = 0;
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, parts, 2, D, D, &o, b), RLCC_E_INVALID_ARGUMENT,
              "options.k");
    o.k = 20;
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, NULL, 2, D, D, &o, b), RLCC_E_INVALID_ARGUMENT,
              "parts: is NULL");
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, parts, 0, D, D, &o, b), RLCC_E_INVALID_ARGUMENT,
              "n_parts");
    const float *holes[] = {p0, NULL};
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, holes, 2, D, D, &o, b), RLCC_E_INVALID_ARGUMENT,
              "parts[1]: is NULL");
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, parts, 2, D, D - 1, &o, b), RLCC_E_INVALID_ARGUMENT,
              "parts[0]: leading dimension");
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, parts, 2, D, D, &o, NULL), RLCC_E_INVALID_ARGUMENT,
              "scores: is NULL");
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, parts, 2, D, D, &o, p1 + 7), RLCC_E_INVALID_ARGUMENT,
              "overlap");
    o.max_bytes = 1000;
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, parts, 2, D, D, &o, b), RLCC_E_MEMORY_LIMIT, "");
    o.max_bytes = 0;
    const float saved = p1[3 * D + 5];
    p1[3 * D + 5] = NAN;
    CHECK_ERR(rlcc_cross_agreement(g, N, D, D, parts, 2, D, D, &o, b), RLCC_E_INVALID_ARGUMENT,
              "parts[1]");
    p1[3 * D + 5] = saved;
    for (int i = 0; i < N * 2; i++)
        CHECK(b[i] == 5.0f);
}

static void part_weights_softmax(void)
{
    float s[6] = {0.1f, 0.5f, 0.2f, 0.0f, 0.0f, 0.0f}, w[6];
    CHECK_OK(rlcc_part_weights(s, 2, 3, w));
    for (int r = 0; r < 2; r++) {
        double e[3], sum = 0;
        const double top = fmax(fmax(s[3 * r], s[3 * r + 1]), s[3 * r + 2]);
        for (int p = 0; p < 3; p++)
            sum += e[p] = exp((double)s[3 * r + p] - top);
        for (int p = 0; p < 3; p++)
            CHECK(w[3 * r + p] == (float)(e[p] / sum));
    }
    CHECK_OK(rlcc_part_weights(s, 2, 3, s)); /* in place */
    CHECK(memcmp(s, w, sizeof w) == 0);
    CHECK_ERR(rlcc_part_weights(s, 2, 3, s + 1), RLCC_E_INVALID_ARGUMENT, "overlap");
    s[4] = INFINITY;
    CHECK_ERR(rlcc_part_weights(s, 2, 3, w), RLCC_E_INVALID_ARGUMENT, "scores");
    CHECK_ERR(rlcc_part_weights(s, 2, 0, w), RLCC_E_INVALID_ARGUMENT, "scores");
    CHECK_OK(rlcc_part_weights(NULL, 0, 3, NULL));
}

/* ---- section 5: eps from a quantile ------------------------------------------------------ */

static int by_value(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void eps_double_equals_the_sorted_triangle(void)
{
    enum { N = 70 };
    static float dist[N * N], tri[N * N];
    static int64_t indptr[N + 1];
    static int32_t indices[N * N];
    rng = 123;
    int checked = 0, refused = 0;
    for (int c = 0; c < 300; c++) {
        const int64_t n = 2 + below(N - 1);
        for (int64_t i = 0; i < n * n; i++)
            dist[i] = below(5) == 0 ? 0.0f : c % 3 == 0 ? (float)below(4) * 0.25f
                                                        : (float)next_u32() / 4294967296.0f * 2;
        int64_t count = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++)
                if (dist[i * n + j] != 0)
                    tri[count++] = dist[i * n + j];
        qsort(tri, (size_t)count, sizeof *tri, by_value);
        const double rhos[] = {1.6e-3, 0.01, 0.1, 0.5, 0.99};
        const double rho = rhos[c % 5];
        const int64_t top = (int64_t)nearbyint(rho * (double)count);
        rlcc_quantile_options o;
        rlcc_quantile_options_init(&o, sizeof o);
        o.summation = RLCC_SUM_DOUBLE;
        double eps = -1, eps2 = -1;
        if (top == 0) {
            CHECK_ERR(rlcc_eps_from_quantile(dist, n, n, rho, &o, &eps), RLCC_E_INVALID_ARGUMENT,
                      "no value is selected");
            CHECK(eps == -1);
            refused++;
            continue;
        }
        double s = 0;
        for (int64_t t = 0; t < top; t++)
            s += tri[t];
        CHECK_OK(rlcc_eps_from_quantile(dist, n, n, rho, &o, &eps));
        CHECK(eps == (double)(float)(s / (double)top));
        /* the matrix fully stored as CSR: the same, for both summations */
        for (int64_t i = 0; i <= n; i++)
            indptr[i] = i * n;
        for (int64_t e = 0; e < n * n; e++)
            indices[e] = (int32_t)(e % n);
        CHECK_OK(rlcc_eps_from_quantile_csr(n, indptr, indices, dist, rho, &o, &eps2));
        CHECK(eps == eps2);
        o.summation = RLCC_SUM_NUMPY;
        CHECK_OK(rlcc_eps_from_quantile(dist, n, n, rho, &o, &eps));
        CHECK_OK(rlcc_eps_from_quantile_csr(n, indptr, indices, dist, rho, &o, &eps2));
        CHECK(eps == eps2);
        /* fewer than 8 values: NumPy's sum is sequential, as the double one rounded */
        if (top < 8) {
            float f = 0;
            for (int64_t t = 0; t < top; t++)
                f += tri[t];
            CHECK(eps == (double)(float)((double)f / (double)top));
        }
        checked++;
    }
    CHECK(checked > 250 && refused > 5);
}

static void eps_sparse_rules_and_errors(void)
{
    /* 4 samples, 6 upper pairs: (0,1) = 0.2, (1,3) = 0.3 stored, 4 missing */
    const int64_t indptr[] = {0, 1, 2, 2, 2};
    const int32_t indices[] = {1, 3};
    const float data[] = {0.2f, 0.3f};
    double eps = -1;
    CHECK_OK(rlcc_eps_from_quantile_csr(4, indptr, indices, data, 0.34, NULL, &eps));
    CHECK(eps == (double)(float)((double)(0.2f + 0.3f) / 2));
    CHECK_ERR(rlcc_eps_from_quantile_csr(4, indptr, indices, data, 0.5, NULL, &eps),
              RLCC_E_INVALID_ARGUMENT, "missing entries");
    /* a stored zero leaves the count; the lower triangle and diagonal are not read */
    const int64_t ip2[] = {0, 2, 3, 5, 5};
    const int32_t ix2[] = {0, 1, 3, 0, 3};
    const float d2[] = {NAN, 0.2f, 0.3f, -1.0f, 0.0f};
    CHECK_OK(rlcc_eps_from_quantile_csr(4, ip2, ix2, d2, 0.3, NULL, &eps)); /* round(1.5) = 2 */
    CHECK(eps == (double)(float)((double)(0.2f + 0.3f) / 2));
    const int64_t ip3[] = {0, 2, 2, 2};
    const int32_t dup[] = {1, 1}, uns[] = {2, 1};
    const float d3[] = {0.1f, 0.2f};
    CHECK_ERR(rlcc_eps_from_quantile_csr(3, ip3, dup, d3, 0.5, NULL, &eps), RLCC_E_INVALID_ARGUMENT,
              "duplicate column 1 in row 0");
    CHECK_ERR(rlcc_eps_from_quantile_csr(3, ip3, uns, d3, 0.5, NULL, &eps), RLCC_E_INVALID_ARGUMENT,
              "unsorted");
    const float bad[] = {0.1f, -0.2f};
    const int32_t ok[] = {1, 2};
    CHECK_ERR(rlcc_eps_from_quantile_csr(3, ip3, ok, bad, 0.5, NULL, &eps), RLCC_E_INVALID_ARGUMENT,
              "data: entry (0, 2) = -0.2 is negative");
    const int32_t out_of_range[] = {1, 3};
    CHECK_ERR(rlcc_eps_from_quantile_csr(3, ip3, out_of_range, d3, 0.5, NULL, &eps),
              RLCC_E_INVALID_ARGUMENT, "out of range");
    const int64_t down[] = {0, 2, 1, 2};
    CHECK_ERR(rlcc_eps_from_quantile_csr(3, down, ok, d3, 0.5, NULL, &eps), RLCC_E_INVALID_ARGUMENT,
              "decreases");
    CHECK_ERR(rlcc_eps_from_quantile_csr(3, ip3, ok, d3, 0.5, NULL, (double *)(void *)d3),
              RLCC_E_INVALID_ARGUMENT, "overlap");
    CHECK(eps == (double)(float)((double)(0.2f + 0.3f) / 2));

    /* dense: rho, values, ld, budget */
    float dist[9] = {0, 0.5f, 0.1f, 9, 0, 0.3f, 9, 9, 0};
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, 0.0, NULL, &eps), RLCC_E_INVALID_ARGUMENT, "rho");
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, 1.0, NULL, &eps), RLCC_E_INVALID_ARGUMENT, "rho");
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, NAN, NULL, &eps), RLCC_E_INVALID_ARGUMENT, "rho");
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 2, 0.5, NULL, &eps), RLCC_E_INVALID_ARGUMENT,
              "leading dimension");
    CHECK_ERR(rlcc_eps_from_quantile(NULL, 3, 3, 0.5, NULL, &eps), RLCC_E_INVALID_ARGUMENT, "dist");
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, 0.5, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "eps");
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, 0.1, NULL, &eps), RLCC_E_INVALID_ARGUMENT,
              "no value is selected");
    dist[5] = NAN;
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, 0.5, NULL, &eps), RLCC_E_INVALID_ARGUMENT,
              "entry (1, 2) is NaN");
    dist[5] = 0.3f;
    rlcc_quantile_options o;
    rlcc_quantile_options_init(&o, sizeof o);
    o.max_bytes = 4;
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, 0.9, &o, &eps), RLCC_E_MEMORY_LIMIT, ""); /* top 3 */
    o.max_bytes = 12;
    CHECK_OK(rlcc_eps_from_quantile(dist, 3, 3, 0.9, &o, &eps));
    o.summation = 2;
    double keep = eps;
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, 0.5, &o, &eps), RLCC_E_INVALID_ARGUMENT,
              "options.summation");
    o.summation = 0;
    o.reserved = 1;
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, 0.5, &o, &eps), RLCC_E_INVALID_ARGUMENT,
              "options.reserved");
    CHECK(eps == keep);
    /* a newer caller's struct with a non-zero unknown tail */
    struct {
        rlcc_quantile_options o;
        int64_t extra;
    } newer = {.o = o, .extra = 1};
    newer.o.reserved = 0;
    newer.o.struct_size = sizeof newer;
    CHECK_ERR(rlcc_eps_from_quantile(dist, 3, 3, 0.5, &newer.o, &eps), RLCC_E_INVALID_ARGUMENT,
              "not zero");
    newer.extra = 0;
    CHECK_OK(rlcc_eps_from_quantile(dist, 3, 3, 0.5, &newer.o, &eps));
}

const test_case methods_tests[] = {
    {"methods_layouts_are_pinned", layouts_are_pinned},
    {"proxies_hand_case", proxies_hand_case},
    {"proxies_equal_the_oracle", proxies_equal_the_oracle},
    {"proxies_refuse_bad_input_untouched", proxies_refuse_bad_input_untouched},
    {"centroid_norm_option", centroid_norm_option},
    {"cross_agreement_equals_the_oracle", cross_agreement_equals_the_oracle},
    {"cross_agreement_duplicate_first", cross_agreement_duplicate_first},
    {"cross_agreement_invariance_and_errors", cross_agreement_invariance_and_errors},
    {"part_weights_softmax", part_weights_softmax},
    {"eps_double_equals_the_sorted_triangle", eps_double_equals_the_sorted_triangle},
    {"eps_sparse_rules_and_errors", eps_sparse_rules_and_errors},
    {NULL, NULL},
};
