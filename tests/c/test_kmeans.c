/*
 * test_kmeans.c - rlcc_kmeans() and rlcc_kmeans_init_faiss() (issue #15
 * item 3): Lloyd's k-means decided in double, the same bytes for every
 * thread count and memory budget, faiss's start rows, and the refusals.
 *
 * The oracle here is a plain O(n k d) Lloyd written from the spec's
 * "Library promise" (later-methods.md section 3), with the distance order
 * of docs/precision.md written out again; tests/python/test_kmeans.py holds
 * the same contract against a NumPy oracle and scikit-learn.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static uint64_t km_rng;

static uint32_t km_next(void)
{
    km_rng = km_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(km_rng >> 33);
}

static float km_uniform(void)
{
    return ((float)km_next() / 4294967296.0f - 0.5f) * 2.0f;
}

/* Rows of several kinds: gaussian-ish, a small integer grid (exact ties),
 * duplicates, neighbours one ulp apart (float32 Gram near-ties). */
enum { KM_UNIFORM, KM_GRID, KM_DUPLICATES, KM_LAST_BIT, KM_KINDS };

static float *km_rows(int kind, int64_t n, int64_t d, uint64_t seed)
{
    float *x = malloc((size_t)(n * d) * sizeof *x);
    km_rng = seed;
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < d; t++) {
            const float g = km_uniform();
            switch (kind) {
            case KM_UNIFORM: x[i * d + t] = g; break;
            case KM_GRID: x[i * d + t] = (float)(km_next() % 3); break;
            case KM_DUPLICATES: x[i * d + t] = i % 3 == 0 ? g : x[(i - i % 3) * d + t]; break;
            default: x[i * d + t] = i % 2 ? nextafterf(x[(i - 1) * d + t], INFINITY) : g; break;
            }
        }
    return x;
}

static double km_sqdist(const float *a, const float *b, int64_t d)
{
    double lane[8] = {0};
    for (int64_t t = 0; t < d; t++) {
        const double diff = (double)a[t] - (double)b[t];
        lane[t % 8] += diff * diff;
    }
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

static void km_assign(const float *x, int64_t n, int64_t d, const float *c, int64_t k, int32_t *lab)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t best = 0;
        double bd = km_sqdist(x + i * d, c, d);
        for (int64_t j = 1; j < k; j++) {
            const double dj = km_sqdist(x + i * d, c + j * d, d);
            if (dj < bd)
                bd = dj, best = j;
        }
        lab[i] = (int32_t)best;
    }
}

/* The promise, written out: returns n_iter. */
static int64_t km_oracle(const float *x, int64_t n, int64_t d, const float *init, int64_t k,
                         int max_iter, double tol, float *c, int32_t *lab)
{
    float *cn = malloc((size_t)(k * d) * sizeof *cn);
    int32_t *prev = malloc((size_t)n * sizeof *prev), *member = malloc((size_t)n * sizeof *member);
    int64_t *count = malloc((size_t)k * sizeof *count);
    char *taken = calloc((size_t)n, 1);
    double *sum = malloc((size_t)d * sizeof *sum);
    float *mean32 = malloc((size_t)d * sizeof *mean32);
    memcpy(c, init, (size_t)(k * d) * sizeof *c);
    double var_total = 0.0;
    for (int64_t t = 0; t < d; t++) {
        double s = 0.0, ss = 0.0;
        for (int64_t i = 0; i < n; i++)
            s += (double)x[i * d + t];
        const double mean = s / (double)n;
        for (int64_t i = 0; i < n; i++)
            ss += ((double)x[i * d + t] - mean) * ((double)x[i * d + t] - mean);
        mean32[t] = (float)mean;
        var_total += ss / (double)n;
    }
    const double tol_abs = tol == 0.0 ? 0.0 : var_total / (double)d * tol;
    int strict = 0, it = 0;
    for (; it < max_iter; it++) {
        km_assign(x, n, d, c, k, lab);
        memset(count, 0, (size_t)k * sizeof *count);
        for (int64_t i = 0; i < n; i++)
            count[lab[i]]++, member[i] = lab[i];
        memset(taken, 0, (size_t)n);
        int64_t moves[64][2], n_moves = 0;
        for (int64_t j = 0; j < k; j++) {
            if (count[j] != 0)
                continue;
            /* the farthest row not yet taken, the higher row at a tie */
            int64_t f = -1;
            double fd = -1.0;
            for (int64_t i = 0; i < n; i++) {
                const double di = km_sqdist(x + i * d, c + (int64_t)lab[i] * d, d);
                if (!taken[i] && di >= fd)
                    fd = di, f = i;
            }
            taken[f] = 1;
            moves[n_moves][0] = f, moves[n_moves][1] = j, n_moves++;
        }
        for (int64_t m = 0; m < n_moves; m++) {
            count[lab[moves[m][0]]]--, count[moves[m][1]]++;
            member[moves[m][0]] = (int32_t)moves[m][1];
        }
        for (int64_t j = 0; j < k; j++) {
            for (int64_t t = 0; t < d; t++)
                sum[t] = 0.0;
            for (int64_t i = 0; i < n; i++)
                if (member[i] == j)
                    for (int64_t t = 0; t < d; t++)
                        sum[t] += (double)x[i * d + t];
            for (int64_t t = 0; t < d; t++)
                cn[j * d + t] = count[j] > 0 ? (float)(sum[t] / (double)count[j]) : mean32[t];
        }
        double shift = 0.0;
        for (int64_t j = 0; j < k; j++)
            shift += km_sqdist(cn + j * d, c + j * d, d);
        memcpy(c, cn, (size_t)(k * d) * sizeof *c);
        if (it > 0 && memcmp(lab, prev, (size_t)n * sizeof *lab) == 0) {
            strict = 1;
            break;
        }
        if (shift <= tol_abs)
            break;
        memcpy(prev, lab, (size_t)n * sizeof *lab);
    }
    const int64_t steps = it < max_iter ? it + 1 : max_iter;
    if (!strict)
        km_assign(x, n, d, c, k, lab);
    free(cn), free(prev), free(member), free(count), free(taken), free(sum), free(mean32);
    return steps;
}

static rlcc_kmeans_options km_opts(int max_iter, double tol, int threads, int64_t max_bytes)
{
    rlcc_kmeans_options o;
    rlcc_kmeans_options_init(&o, sizeof o);
    o.max_iter = max_iter, o.tol = tol, o.n_threads = threads, o.max_bytes = max_bytes;
    return o;
}

static void test_kmeans_options(void)
{
    rlcc_kmeans_options o;
    CHECK_OK(rlcc_kmeans_options_init(&o, sizeof o));
    CHECK_EQ(o.struct_size, sizeof o);
    CHECK_EQ(o.max_iter, 300);
    CHECK(o.tol == 1e-4);
    CHECK_EQ(o.n_threads, 0);
    CHECK_EQ(o.max_bytes, 0);
    CHECK_EQ(sizeof(rlcc_kmeans_options), 32);
    CHECK_EQ(offsetof(rlcc_kmeans_options, max_iter), 8);
    CHECK_EQ(offsetof(rlcc_kmeans_options, n_threads), 12);
    CHECK_EQ(offsetof(rlcc_kmeans_options, tol), 16);
    CHECK_EQ(offsetof(rlcc_kmeans_options, max_bytes), 24);
    CHECK_ERR(rlcc_kmeans_options_init(NULL, sizeof o), RLCC_E_INVALID_ARGUMENT, "options");
    CHECK_ERR(rlcc_kmeans_options_init(&o, 4), RLCC_E_INVALID_ARGUMENT, "options");
}

/* Hand-computed: 1-D rows {0, 1, 10, 11}, start {0, 10}. */
static void test_kmeans_small(void)
{
    const float x[] = {0, 1, 10, 11}, init[] = {0, 10};
    float c[2];
    int32_t lab[4];
    int64_t it = -1;
    CHECK_OK(rlcc_kmeans(x, 4, 1, 1, init, 2, 1, NULL, c, 1, lab, &it));
    CHECK(c[0] == 0.5f && c[1] == 10.5f);
    CHECK(lab[0] == 0 && lab[1] == 0 && lab[2] == 1 && lab[3] == 1);
    CHECK_EQ(it, 2); /* step 2 repeats step 1's labels */
    /* a tie (0 is 1 from both -1 and 1) goes to the lower index */
    const float y[] = {0, 5}, two[] = {1, -1};
    const rlcc_kmeans_options once = km_opts(1, 0.0, 1, 0);
    CHECK_OK(rlcc_kmeans(y, 2, 1, 1, two, 2, 1, &once, c, 1, lab, &it));
    CHECK_EQ(it, 1);
    /* step 1: both rows go to centroid 0 (0 by the tie, 5 nearer), so 1
     * is empty and takes the row farthest from its centroid: row 1 */
    CHECK(c[0] == 0.0f && c[1] == 5.0f);
    CHECK(lab[0] == 0 && lab[1] == 1);
    /* k = 1: the mean, one step and a repeat */
    const float one[] = {100};
    CHECK_OK(rlcc_kmeans(x, 4, 1, 1, one, 1, 1, NULL, c, 1, lab, &it));
    CHECK(c[0] == 5.5f);
    CHECK_EQ(it, 2);
}

/* Random and adversarial cases against the oracle, bit for bit. */
static void test_kmeans_oracle(void)
{
    int cases = 0, mismatched = 0;
    for (int kind = 0; kind < KM_KINDS; kind++)
        for (int rep = 0; rep < 30; rep++) {
            km_rng = 1000 + (uint64_t)(kind * 100 + rep);
            const int64_t n = 2 + km_next() % 60, d = 1 + km_next() % 12;
            const int64_t k = 1 + km_next() % (n < 12 ? n : 12);
            float *x = km_rows(kind, n, d, 77 + (uint64_t)rep);
            float *init = malloc((size_t)(k * d) * sizeof *init);
            for (int64_t j = 0; j < k; j++) { /* rows of x, sometimes repeated: empty clusters */
                const int64_t row = rep % 3 == 0 ? (int64_t)(km_next() % 3) : (int64_t)(km_next() % n);
                memcpy(init + j * d, x + row * d, (size_t)d * sizeof *x);
            }
            if (rep % 5 == 1)
                init[0] += 50.0f; /* a far centroid: empty at once */
            const int max_iter = rep % 4 == 0 ? 1 : rep % 4 == 1 ? 3 : 300;
            const double tol = rep % 2 ? 0.0 : 1e-4;
            float *c = malloc((size_t)(k * d) * sizeof *c), *co = malloc((size_t)(k * d) * sizeof *co);
            int32_t *lab = malloc((size_t)n * sizeof *lab), *lo = malloc((size_t)n * sizeof *lo);
            int64_t it = -1;
            const rlcc_kmeans_options o = km_opts(max_iter, tol, 0, 0);
            CHECK_OK(rlcc_kmeans(x, n, d, d, init, k, d, &o, c, d, lab, &it));
            const int64_t oit = km_oracle(x, n, d, init, k, max_iter, tol, co, lo);
            const int same = it == oit && memcmp(lab, lo, (size_t)n * sizeof *lab) == 0 &&
                             memcmp(c, co, (size_t)(k * d) * sizeof *c) == 0;
            mismatched += !same;
            cases++;
            free(x), free(init), free(c), free(co), free(lab), free(lo);
        }
    CHECK_EQ(mismatched, 0);
    CHECK_EQ(cases, 4 * 30);
}

/* The same bytes for every thread count and budget (tiles of 16 rows). */
static void test_kmeans_invariance(void)
{
    const int64_t n = 700, d = 40, k = 25;
    for (int kind = 0; kind < KM_KINDS; kind++) {
        float *x = km_rows(kind, n, d, 5 + (uint64_t)kind);
        float *init = malloc((size_t)(k * d) * sizeof *init);
        for (int64_t j = 0; j < k; j++)
            memcpy(init + j * d, x + (j * 7 % n) * d, (size_t)d * sizeof *x);
        float *c0 = malloc((size_t)(k * d) * sizeof *c0), *c1 = malloc((size_t)(k * d) * sizeof *c1);
        int32_t *l0 = malloc((size_t)n * sizeof *l0), *l1 = malloc((size_t)n * sizeof *l1);
        int64_t i0 = 0, i1 = 0;
        rlcc_kmeans_options o = km_opts(300, 1e-4, 1, 0);
        CHECK_OK(rlcc_kmeans(x, n, d, d, init, k, d, &o, c0, d, l0, &i0));
        const int threads[] = {2, 3, 0};
        const int64_t budgets[] = {0, 1 << 20, 1 << 19};
        for (int t = 0; t < 3; t++)
            for (int b = 0; b < 3; b++) {
                o = km_opts(300, 1e-4, threads[t], budgets[b]);
                CHECK_OK(rlcc_kmeans(x, n, d, d, init, k, d, &o, c1, d, l1, &i1));
                CHECK(memcmp(c0, c1, (size_t)(k * d) * sizeof *c0) == 0);
                CHECK(memcmp(l0, l1, (size_t)n * sizeof *l0) == 0);
                CHECK_EQ(i0, i1);
            }
        /* in place: init is the centroids' buffer, strided rows */
        const int64_t ld = d + 3;
        float *x2 = malloc((size_t)(n * ld) * sizeof *x2), *io = malloc((size_t)(k * ld) * sizeof *io);
        for (int64_t i = 0; i < n; i++)
            memcpy(x2 + i * ld, x + i * d, (size_t)d * sizeof *x);
        for (int64_t j = 0; j < k; j++)
            memcpy(io + j * ld, init + j * d, (size_t)d * sizeof *x);
        o = km_opts(300, 1e-4, 0, 0);
        CHECK_OK(rlcc_kmeans(x2, n, d, ld, io, k, ld, &o, io, ld, l1, NULL));
        int same = memcmp(l0, l1, (size_t)n * sizeof *l0) == 0;
        for (int64_t j = 0; j < k; j++)
            same &= memcmp(io + j * ld, c0 + j * d, (size_t)d * sizeof *c0) == 0;
        CHECK(same);
        free(x), free(init), free(c0), free(c1), free(l0), free(l1), free(x2), free(io);
    }
}

/* Refusals: code, message, outputs untouched. */
static void test_kmeans_errors(void)
{
    float x[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; /* 6 rows of 2 */
    float init[4] = {0, 1, 8, 9};
    float c[6];
    int32_t lab[6];
    int64_t it = -7;
    for (int t = 0; t < 6; t++)
        c[t] = -3.0f, lab[t] = -3;
    rlcc_kmeans_options o = km_opts(300, 1e-4, 0, 0);
#define KM_UNTOUCHED() CHECK(c[0] == -3.0f && c[3] == -3.0f && lab[0] == -3 && lab[5] == -3 && it == -7)
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 7, 2, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "k: 7 exceeds");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 0, 2, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "k: 0 must be >= 1");
    CHECK_ERR(rlcc_kmeans(NULL, 6, 2, 2, init, 2, 2, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "x: is NULL");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, NULL, 2, 2, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "init: is NULL");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, NULL, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "centroids: is NULL");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, c, 2, NULL, &it), RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 1, init, 2, 2, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "x:");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 1, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "init:");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, c, 1, lab, &it), RLCC_E_INVALID_ARGUMENT, "centroids:");
    CHECK_ERR(rlcc_kmeans(x, 6, 0, 2, init, 2, 2, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "x: d = 0");
    CHECK_ERR(rlcc_kmeans(x, -1, 2, 2, init, 2, 2, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "x:");
    KM_UNTOUCHED();
    /* overlapping outputs and inputs */
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, c, 2, (int32_t *)(void *)c, &it),
              RLCC_E_INVALID_ARGUMENT, "labels");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, x + 4, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "centroids");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, c, 2, (int32_t *)(void *)init, &it),
              RLCC_E_INVALID_ARGUMENT, "labels");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, c, 2, lab, (int64_t *)(void *)lab),
              RLCC_E_INVALID_ARGUMENT, "n_iter");
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, init, 3, lab, &it), RLCC_E_INVALID_ARGUMENT,
              "different row stride");
    KM_UNTOUCHED();
    /* options */
    o.max_iter = 0;
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, &o, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "options.max_iter");
    o = km_opts(300, -1.0, 0, 0);
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, &o, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "options.tol");
    o.tol = NAN;
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, &o, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "options.tol");
    o = km_opts(300, 1e-4, -1, 0);
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, &o, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "n_threads");
    o = km_opts(300, 1e-4, 0, -5);
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, &o, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "max_bytes");
    o = km_opts(300, 1e-4, 0, 0);
    o.struct_size = 4;
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, &o, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT, "options");
    KM_UNTOUCHED();
    /* values */
    x[5] = NAN;
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT,
              "x: row 2 has NaN at column 1");
    x[5] = 5.0f;
    init[2] = INFINITY;
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, c, 2, lab, &it), RLCC_E_INVALID_ARGUMENT,
              "init: row 1 has inf at column 0");
    init[2] = 8.0f;
    o = km_opts(300, 1e-4, 0, 64);
    CHECK_ERR(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, &o, c, 2, lab, &it), RLCC_E_MEMORY_LIMIT, "");
    KM_UNTOUCHED();
    CHECK_OK(rlcc_kmeans(x, 6, 2, 2, init, 2, 2, NULL, c, 2, lab, &it));
#undef KM_UNTOUCHED
}

/* faiss 1.7.3 (Debian's python3-faiss): faiss.Kmeans(2, k, niter=0,
 * seed=1234, max_points_per_centroid=m).train(x) started from these rows. */
static void test_kmeans_faiss_start(void)
{
    int64_t start[8], train[1000], nt = -1;
    CHECK_OK(rlcc_kmeans_init_faiss(20, 3, 1234, 256, start, train, &nt));
    CHECK(start[0] == 3 && start[1] == 6 && start[2] == 14);
    CHECK_EQ(nt, 20);
    CHECK(train[0] == 0 && train[19] == 19);
    CHECK_OK(rlcc_kmeans_init_faiss(1000, 5, 1234, 10, start, train, &nt));
    CHECK(start[0] == 29 && start[1] == 788 && start[2] == 58 && start[3] == 515 && start[4] == 4);
    CHECK_EQ(nt, 50);
    int64_t again[5];
    CHECK_OK(rlcc_kmeans_init_faiss(1000, 5, 1234, 10, again, NULL, NULL)); /* NULLs allowed */
    CHECK(memcmp(start, again, sizeof again) == 0);
    /* n_train == k (101 > 1 x 4 rows: 4 training rows): faiss copies the
     * first k rows of x, not the training rows */
    CHECK_OK(rlcc_kmeans_init_faiss(101, 4, 1234, 1, start, train, &nt));
    CHECK(start[0] == 0 && start[1] == 1 && start[2] == 2 && start[3] == 3);
    CHECK_EQ(nt, 4);
    /* refusals, outputs untouched */
    start[0] = -9;
    nt = -9;
    CHECK_ERR(rlcc_kmeans_init_faiss(5, 6, 1, 256, start, train, &nt), RLCC_E_INVALID_ARGUMENT, "k: 6 exceeds");
    CHECK_ERR(rlcc_kmeans_init_faiss(5, 0, 1, 256, start, train, &nt), RLCC_E_INVALID_ARGUMENT, "k: 0");
    CHECK_ERR(rlcc_kmeans_init_faiss(-5, 1, 1, 256, start, train, &nt), RLCC_E_INVALID_ARGUMENT, "n:");
    CHECK_ERR(rlcc_kmeans_init_faiss(5, 2, 1, 0, start, train, &nt), RLCC_E_INVALID_ARGUMENT, "max_points_per_centroid");
    CHECK_ERR(rlcc_kmeans_init_faiss(5, 2, 1, 256, NULL, train, &nt), RLCC_E_INVALID_ARGUMENT, "start_rows: is NULL");
    CHECK_ERR(rlcc_kmeans_init_faiss(5, 2, 1, 256, start, start + 1, &nt), RLCC_E_INVALID_ARGUMENT, "train_rows");
    CHECK_ERR(rlcc_kmeans_init_faiss(5, 2, 1, 256, start, train, start + 1), RLCC_E_INVALID_ARGUMENT, "n_train");
    CHECK(start[0] == -9 && nt == -9);
}

const test_case kmeans_tests[] = {
    {"kmeans_options", test_kmeans_options},
    {"kmeans_small", test_kmeans_small},
    {"kmeans_oracle", test_kmeans_oracle},
    {"kmeans_invariance", test_kmeans_invariance},
    {"kmeans_errors", test_kmeans_errors},
    {"kmeans_faiss_start", test_kmeans_faiss_start},
    {NULL, NULL},
};
