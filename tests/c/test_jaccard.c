/* test_jaccard.c - kNN and Jaccard from C: small exact cases, the handle's
 * accessors, thread-count independence, and every refusal with outputs
 * untouched. The numerical oracle tests are in tests/python. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* n unit rows around a few directions (deterministic). */
static float *unit_rows(int64_t n, int64_t d, uint64_t seed)
{
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    for (int64_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int64_t k = 0; k < d; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            double noise = (double)(seed >> 11) * 0x1p-53 - 0.5;
            double v = (k == (i % 5) ? 3.0 : 0.0) + noise;
            x[i * d + k] = (float)v;
            sum += v * v;
        }
        for (int64_t k = 0; k < d; k++)
            x[i * d + k] = (float)(x[i * d + k] / sqrt(sum));
    }
    return x;
}

static void knn_on_a_line(void)
{
    /* points 0, 1, 3, 6, 10 on a line: exact distances, clear order */
    const float x[5] = {0, 1, 3, 6, 10};
    int64_t idx[15];
    float dist[15];
    CHECK_OK(rlcc_knn(x, 5, 1, 1, 3, NULL, idx, dist));
    /* row 2 (at 3) has 0 and 3 both at squared distance 9: the lower index wins */
    const int64_t want[15] = {0, 1, 2, 1, 0, 2, 2, 1, 0, 3, 2, 4, 4, 3, 2};
    const float want_dist[15] = {0, 1, 9, 0, 1, 4, 0, 4, 9, 0, 9, 16, 0, 16, 49};
    CHECK(memcmp(idx, want, sizeof want) == 0);
    CHECK(memcmp(dist, want_dist, sizeof want_dist) == 0);
    /* ties go to the lower index: 1 is equally far from 0 and 2 */
    const float y[3] = {0, 1, 2};
    CHECK_OK(rlcc_knn(y, 3, 1, 1, 3, NULL, idx, NULL));
    CHECK_EQ(idx[3], 1);
    CHECK_EQ(idx[4], 0);
    CHECK_EQ(idx[5], 2);
}

static void csr_accessors_accept_null(void)
{
    CHECK_EQ(rlcc_csr_rows(NULL), 0);
    CHECK_EQ(rlcc_csr_nnz(NULL), 0);
    CHECK(rlcc_csr_indptr(NULL) == NULL);
    CHECK(rlcc_csr_indices(NULL) == NULL);
    CHECK(rlcc_csr_data(NULL) == NULL);
    rlcc_csr_free(NULL);
}

static void sparse_equals_dense_and_feeds_dbscan(void)
{
    const int64_t n = 700, d = 8;
    float *x = unit_rows(n, d, 42);
    float *dense = malloc(sizeof(float) * (size_t)(n * n));
    rlcc_jaccard_options opts;
    rlcc_jaccard_options_init(&opts, sizeof opts);
    CHECK_EQ(opts.k1, 30);
    CHECK_EQ(opts.k2, 6);
    CHECK(opts.cutoff == 1.0f);
    rlcc_csr *graph = NULL;
    CHECK_OK(rlcc_jaccard(x, n, d, d, NULL, &opts, &graph));
    CHECK_OK(rlcc_jaccard_dense(x, n, d, d, NULL, &opts, dense, n));
    CHECK_EQ(rlcc_csr_rows(graph), n);
    const int64_t *indptr = rlcc_csr_indptr(graph);
    const int32_t *indices = rlcc_csr_indices(graph);
    const float *data = rlcc_csr_data(graph);
    int same = 1, sorted = 1, diagonal = 1, symmetric = 1;
    int64_t stored = 0;
    for (int64_t i = 0; i < n; i++) {
        int seen_self = 0;
        for (int64_t e = indptr[i]; e < indptr[i + 1]; e++) {
            same &= dense[i * n + indices[e]] == data[e];
            sorted &= e == indptr[i] || indices[e] > indices[e - 1];
            seen_self |= indices[e] == i;
            symmetric &= dense[(int64_t)indices[e] * n + i] == data[e];
        }
        diagonal &= seen_self;
        for (int64_t m = 0; m < n; m++)
            stored += dense[i * n + m] < 1.0f;
    }
    CHECK(same);
    CHECK(sorted);
    CHECK(diagonal);
    CHECK(symmetric);
    CHECK_EQ(stored, rlcc_csr_nnz(graph));
    int32_t *a = malloc(sizeof(int32_t) * n), *b = malloc(sizeof(int32_t) * n);
    int64_t ka, kb;
    CHECK_OK(rlcc_dbscan_csr(n, indptr, indices, data, 0.6, 4, NULL, a, &ka, NULL, NULL));
    CHECK_OK(rlcc_dbscan_dense(dense, n, n, 0.6, 4, NULL, b, &kb, NULL, NULL));
    CHECK(memcmp(a, b, sizeof(int32_t) * n) == 0);
    CHECK(ka >= 2);
    /* a cutoff keeps exactly the pairs below it */
    rlcc_csr *cut = NULL;
    opts.cutoff = 0.9f;
    CHECK_OK(rlcc_jaccard(x, n, d, d, NULL, &opts, &cut));
    int64_t below = 0;
    for (int64_t e = 0; e < n * n; e++)
        below += dense[e] < 0.9f;
    CHECK_EQ(rlcc_csr_nnz(cut), below);
    rlcc_csr_free(cut);
    rlcc_csr_free(graph);
    free(a);
    free(b);
    free(dense);
    free(x);
}

static void identical_for_every_thread_count(void)
{
    const int64_t n = 1300, d = 16;
    float *x = unit_rows(n, d, 7);
    rlcc_jaccard_options opts;
    rlcc_jaccard_options_init(&opts, sizeof opts);
    opts.n_threads = 1;
    opts.max_bytes = 16 << 20; /* a tile of at most 4 MiB: 2 panels */
    rlcc_csr *base = NULL;
    CHECK_OK(rlcc_jaccard(x, n, d, d, NULL, &opts, &base));
    int64_t *knn1 = malloc(sizeof(int64_t) * n * 30), *knn2 = malloc(sizeof(int64_t) * n * 30);
    rlcc_knn_options kopts;
    rlcc_knn_options_init(&kopts, sizeof kopts);
    kopts.n_threads = 1;
    kopts.max_bytes = 16 << 20;
    CHECK_OK(rlcc_knn(x, n, d, d, 30, &kopts, knn1, NULL));
    for (int threads = 2; threads <= 3; threads++) {
        opts.n_threads = threads;
        rlcc_csr *other = NULL;
        CHECK_OK(rlcc_jaccard(x, n, d, d, NULL, &opts, &other));
        CHECK_EQ(rlcc_csr_nnz(other), rlcc_csr_nnz(base));
        const int64_t nnz = rlcc_csr_nnz(base);
        CHECK(memcmp(rlcc_csr_indptr(other), rlcc_csr_indptr(base), sizeof(int64_t) * (n + 1)) == 0);
        CHECK(memcmp(rlcc_csr_indices(other), rlcc_csr_indices(base), sizeof(int32_t) * nnz) == 0);
        CHECK(memcmp(rlcc_csr_data(other), rlcc_csr_data(base), sizeof(float) * nnz) == 0);
        rlcc_csr_free(other);
        kopts.n_threads = threads;
        CHECK_OK(rlcc_knn(x, n, d, d, 30, &kopts, knn2, NULL));
        CHECK(memcmp(knn1, knn2, sizeof(int64_t) * n * 30) == 0);
    }
    /* the caller's lists give the same result as the computed ones */
    opts.n_threads = 0;
    rlcc_csr *given = NULL;
    CHECK_OK(rlcc_jaccard(x, n, d, d, knn1, &opts, &given));
    CHECK_EQ(rlcc_csr_nnz(given), rlcc_csr_nnz(base));
    CHECK(memcmp(rlcc_csr_data(given), rlcc_csr_data(base), sizeof(float) * rlcc_csr_nnz(base)) == 0);
    rlcc_csr_free(given);
    rlcc_csr_free(base);
    free(knn1);
    free(knn2);
    free(x);
}

static void refusals_leave_outputs_untouched(void)
{
    const int64_t n = 40, d = 4;
    float *x = unit_rows(n, d, 3);
    rlcc_csr *sentinel = (rlcc_csr *)(void *)&n; /* any non-NULL value */
    rlcc_csr *out = sentinel;
    rlcc_jaccard_options opts;
#define REFUSED(setup, text)                                                     \
    do {                                                                         \
        rlcc_jaccard_options_init(&opts, sizeof opts);                           \
        opts.k1 = 10;                                                            \
        setup;                                                                   \
        out = sentinel;                                                          \
        CHECK_ERR(rlcc_jaccard(x, n, d, d, NULL, &opts, &out), RLCC_E_INVALID_ARGUMENT, text); \
        CHECK(out == sentinel);                                                  \
    } while (0)
    REFUSED(opts.k1 = 0, "k1: 0");
    REFUSED(opts.k1 = 41, "k1: 41");
    REFUSED(opts.k2 = 0, "k2: 0");
    REFUSED(opts.k2 = 11, "k2: 11");
    REFUSED(opts.cutoff = 0.0f, "cutoff");
    REFUSED(opts.cutoff = 1.01f, "cutoff");
    REFUSED(opts.cutoff = NAN, "cutoff");
    REFUSED(opts.variant = 2, "variant");
    REFUSED(opts.normalize = 3, "normalize");
    REFUSED(opts.n_threads = -1, "n_threads");
    REFUSED(opts.max_bytes = -1, "max_bytes");
    REFUSED(opts.struct_size = 3, "struct_size");
    REFUSED(x[13] = NAN, "x: row 3 has NaN");
    x[13] = 0.5f;
    REFUSED((void)0, "x: row 3 has norm"); /* not a unit row for DOT */
    free(x);
    x = unit_rows(n, d, 3);
    CHECK_ERR(rlcc_jaccard(x, n, d, d, NULL, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "out: is NULL");
    CHECK_ERR(rlcc_jaccard(NULL, n, d, d, NULL, NULL, &out), RLCC_E_INVALID_ARGUMENT, "x: is NULL");
    CHECK(out == sentinel);

    /* caller lists: range and repeats */
    int64_t *knn = malloc(sizeof(int64_t) * n * 10);
    CHECK_OK(rlcc_knn(x, n, d, d, 10, NULL, knn, NULL));
    rlcc_jaccard_options_init(&opts, sizeof opts);
    opts.k1 = 10;
    knn[5 * 10 + 2] = n;
    CHECK_ERR(rlcc_jaccard(x, n, d, d, knn, &opts, &out), RLCC_E_INVALID_ARGUMENT,
              "entry 2 of row 5 is 40");
    knn[5 * 10 + 2] = knn[5 * 10 + 1];
    CHECK_ERR(rlcc_jaccard(x, n, d, d, knn, &opts, &out), RLCC_E_INVALID_ARGUMENT, "twice");
    CHECK(out == sentinel);

    /* dense: the buffer stays as it was */
    float *dense = malloc(sizeof(float) * n * n);
    for (int64_t e = 0; e < n * n; e++)
        dense[e] = -7.0f;
    CHECK_ERR(rlcc_jaccard_dense(x, n, d, d, knn, &opts, dense, n), RLCC_E_INVALID_ARGUMENT, "twice");
    CHECK_ERR(rlcc_jaccard_dense(x, n, d, d, NULL, &opts, dense, n - 1), RLCC_E_INVALID_ARGUMENT,
              "leading dimension");
    CHECK_ERR(rlcc_jaccard_dense(x, n, d, d, NULL, &opts, NULL, n), RLCC_E_INVALID_ARGUMENT,
              "dist: is NULL");
    int untouched = 1;
    for (int64_t e = 0; e < n * n; e++)
        untouched &= dense[e] == -7.0f;
    CHECK(untouched);

    /* kNN: k range, NULL output, memory limit */
    int64_t idx[4] = {-9, -9, -9, -9};
    CHECK_ERR(rlcc_knn(x, n, d, d, 0, NULL, idx, NULL), RLCC_E_INVALID_ARGUMENT, "k: 0");
    CHECK_ERR(rlcc_knn(x, n, d, d, n + 1, NULL, idx, NULL), RLCC_E_INVALID_ARGUMENT, "k: 41");
    CHECK_ERR(rlcc_knn(x, n, d, d, 2, NULL, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "indices");
    CHECK_EQ(idx[0], -9);
    rlcc_knn_options kopts;
    rlcc_knn_options_init(&kopts, sizeof kopts);
    kopts.max_bytes = 100;
    CHECK_ERR(rlcc_knn(x, n, d, d, 2, &kopts, idx, NULL), RLCC_E_MEMORY_LIMIT, "max_bytes");
    opts.max_bytes = 1000;
    knn[5 * 10 + 2] = 0;
    CHECK_ERR(rlcc_jaccard(x, n, d, d, NULL, &opts, &out), RLCC_E_MEMORY_LIMIT, "max_bytes");
    CHECK(out == sentinel);
    free(dense);
    free(knn);
    free(x);
}

static void empty_and_tiny_inputs(void)
{
    rlcc_csr *out = NULL;
    CHECK_OK(rlcc_jaccard(NULL, 0, 3, 3, NULL, NULL, &out));
    CHECK_EQ(rlcc_csr_rows(out), 0);
    CHECK_EQ(rlcc_csr_nnz(out), 0);
    rlcc_csr_free(out);
    CHECK_OK(rlcc_jaccard_dense(NULL, 0, 3, 3, NULL, NULL, NULL, 1));
    /* one point: k1 = 1, distance to itself 0 */
    const float one[2] = {0.6f, 0.8f};
    rlcc_jaccard_options opts;
    rlcc_jaccard_options_init(&opts, sizeof opts);
    opts.k1 = 1;
    opts.k2 = 1;
    CHECK_OK(rlcc_jaccard(one, 1, 2, 2, NULL, &opts, &out));
    CHECK_EQ(rlcc_csr_nnz(out), 1);
    CHECK(rlcc_csr_data(out)[0] == 0.0f);
    rlcc_csr_free(out);
}

static void options_layout_is_pinned(void)
{
    CHECK_EQ(offsetof(rlcc_knn_options, n_threads), 8);
    CHECK_EQ(offsetof(rlcc_knn_options, max_bytes), 16);
    CHECK_EQ(sizeof(rlcc_knn_options), 24);
    CHECK_EQ(offsetof(rlcc_jaccard_options, k1), 8);
    CHECK_EQ(offsetof(rlcc_jaccard_options, k2), 12);
    CHECK_EQ(offsetof(rlcc_jaccard_options, variant), 16);
    CHECK_EQ(offsetof(rlcc_jaccard_options, normalize), 20);
    CHECK_EQ(offsetof(rlcc_jaccard_options, n_threads), 24);
    CHECK_EQ(offsetof(rlcc_jaccard_options, cutoff), 28);
    CHECK_EQ(offsetof(rlcc_jaccard_options, max_bytes), 32);
    CHECK_EQ(sizeof(rlcc_jaccard_options), 40);
    CHECK_EQ(RLCC_JACCARD_DOT, 0);
    CHECK_EQ(RLCC_JACCARD_SQEUCLIDEAN, 1);
}

/* ---- block Jaccard (1.8) ------------------------------------------------------- */

/* Appends the rows of part (rows x n) to the arrays of a growing CSR. */
static void append_rows(const rlcc_csr *part, int64_t *indptr, int32_t *indices, float *data,
                        int64_t *rows_done)
{
    const int64_t rows = rlcc_csr_rows(part), *p = rlcc_csr_indptr(part);
    const int64_t base = indptr[*rows_done];
    memcpy(indices + base, rlcc_csr_indices(part), sizeof(int32_t) * (size_t)p[rows]);
    memcpy(data + base, rlcc_csr_data(part), sizeof(float) * (size_t)p[rows]);
    for (int64_t r = 0; r < rows; r++)
        indptr[*rows_done + r + 1] = base + p[r + 1];
    *rows_done += rows;
}

/* Random blockings of random and tie-heavy rows, every variant: plans
 * offered every block in a shuffled order (one block twice), their weights
 * concatenated, rlcc_jaccard_rows() per block, concatenated: rlcc_jaccard()
 * byte for byte; rlcc_pseudo_labels_graph() of it: rlcc_pseudo_labels(). */
static void blocks_compose_to_rlcc_jaccard(void)
{
    int mismatches = 0, cases = 0;
    for (int trial = 0; trial < 24; trial++) {
        const int64_t n = 50 + 11 * trial, d = 3 + trial % 7;
        float *x = unit_rows(n, d, 300 + (uint64_t)trial);
        if (trial % 4 == 3) /* duplicated rows: ties everywhere */
            for (int64_t i = 1; i < n; i += 2)
                memcpy(x + i * d, x + (i - 1) * d, sizeof(float) * (size_t)d);
        if (trial % 3 == 2) /* not unit: the SQEUCLIDEAN variant or normalize */
            for (int64_t e = 0; e < n * d; e++)
                x[e] *= 1.0f + (float)(e % 5);
        rlcc_jaccard_options o;
        rlcc_jaccard_options_init(&o, sizeof o);
        o.k1 = 4 + trial % 9;
        o.k2 = 1 + trial % 4;
        o.cutoff = trial % 2 ? 0.9f : 1.0f;
        o.n_threads = 1 + trial % 3;
        if (trial % 3 == 2) {
            o.variant = trial % 2 ? RLCC_JACCARD_SQEUCLIDEAN : RLCC_JACCARD_DOT;
            o.normalize = trial % 2 ? 0 : 1;
        }
        int64_t *knn = malloc(sizeof *knn * (size_t)(n * o.k1));
        CHECK_OK(rlcc_knn(x, n, d, d, o.k1, NULL, knn, NULL));
        rlcc_csr *want = NULL;
        CHECK_OK(rlcc_jaccard(x, n, d, d, knn, &o, &want));
        /* the blocking */
        uint64_t r = 77 + (uint64_t)trial;
        int64_t cut[6] = {0, 0, 0, 0, 0, n};
        for (int b = 1; b < 5; b++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            cut[b] = (int64_t)((r >> 33) % (uint64_t)(n + 1));
        }
        for (int a = 1; a < 5; a++)
            for (int b = a; b > 1 && cut[b] < cut[b - 1]; b--) {
                const int64_t t = cut[b];
                cut[b] = cut[b - 1], cut[b - 1] = t;
            }
        const int64_t cap = (int64_t)n * n;
        int64_t *v_ptr = calloc((size_t)n + 1, sizeof *v_ptr), *j_ptr = calloc((size_t)n + 1, sizeof *j_ptr);
        int32_t *v_idx = malloc(sizeof *v_idx * (size_t)cap), *j_idx = malloc(sizeof *j_idx * (size_t)cap);
        float *v_val = malloc(sizeof *v_val * (size_t)cap), *j_val = malloc(sizeof *j_val * (size_t)cap);
        int64_t v_rows = 0, j_rows = 0;
        for (int b = 0; b < 5; b++) {
            rlcc_jaccard_plan *plan = NULL;
            CHECK_OK(rlcc_jaccard_plan_new(knn, n, cut[b], cut[b + 1], d, &o, &plan));
            for (int step = 0; step < 6; step++) {
                const int f = (b + 2 * step) % 5; /* every block, one of them twice */
                CHECK_OK(rlcc_jaccard_plan_offer(plan, x + cut[b] * d, d, x + cut[f] * d,
                                                 cut[f + 1] - cut[f], d, cut[f]));
            }
            rlcc_csr *w = NULL;
            CHECK_OK(rlcc_jaccard_plan_weights(plan, &w));
            append_rows(w, v_ptr, v_idx, v_val, &v_rows);
            rlcc_csr_free(w);
            rlcc_jaccard_plan_free(plan);
        }
        CHECK_EQ(v_rows, n);
        for (int b = 0; b < 5; b++) {
            rlcc_csr *part = NULL;
            CHECK_OK(rlcc_jaccard_rows(n, v_ptr, v_idx, v_val, knn, cut[b], cut[b + 1], &o, &part));
            CHECK_EQ(rlcc_csr_cols(part), n);
            append_rows(part, j_ptr, j_idx, j_val, &j_rows);
            rlcc_csr_free(part);
        }
        const int64_t nnz = rlcc_csr_nnz(want);
        mismatches += memcmp(j_ptr, rlcc_csr_indptr(want), sizeof *j_ptr * (size_t)(n + 1)) != 0
                      || memcmp(j_idx, rlcc_csr_indices(want), sizeof *j_idx * (size_t)nnz) != 0
                      || memcmp(j_val, rlcc_csr_data(want), sizeof *j_val * (size_t)nnz) != 0;
        /* and the labels of the gathered graph are rlcc_pseudo_labels()'s */
        rlcc_pseudo_options p;
        rlcc_pseudo_options_init(&p, sizeof p);
        p.k1 = o.k1, p.k2 = o.k2, p.variant = o.variant, p.normalize = o.normalize;
        p.cutoff = o.cutoff, p.knn = knn;
        p.eps[0] = 0.3, p.eps[1] = 0.5, p.eps[2] = 0.7;
        p.min_samples = 2 + trial % 3;
        int32_t *want_labels = malloc(sizeof(int32_t) * (size_t)n), *got_labels = malloc(sizeof(int32_t) * (size_t)n);
        int64_t want_k = -1, got_k = -2;
        double want_t = -1, got_t = -2;
        CHECK_OK(rlcc_pseudo_labels(x, n, d, d, &p, want_labels, &want_k, &want_t));
        CHECK_OK(rlcc_pseudo_labels_graph(n, j_ptr, j_idx, j_val, &p, got_labels, &got_k, &got_t));
        mismatches += want_k != got_k || want_t != got_t
                      || memcmp(want_labels, got_labels, sizeof(int32_t) * (size_t)n) != 0;
        free(want_labels), free(got_labels);
        free(v_ptr), free(v_idx), free(v_val), free(j_ptr), free(j_idx), free(j_val);
        rlcc_csr_free(want);
        free(knn), free(x);
        cases++;
    }
    CHECK_EQ(cases, 24);
    CHECK_EQ(mismatches, 0);
}

static void block_refusals(void)
{
    const int64_t n = 30, d = 4;
    float *x = unit_rows(n, d, 9);
    int64_t knn[30 * 5];
    rlcc_jaccard_options o;
    rlcc_jaccard_options_init(&o, sizeof o);
    o.k1 = 5, o.k2 = 2;
    CHECK_OK(rlcc_knn(x, n, d, d, 5, NULL, knn, NULL));
    rlcc_jaccard_plan *plan = NULL;
    CHECK_ERR(rlcc_jaccard_plan_new(knn, n, 10, 40, d, &o, &plan), RLCC_E_INVALID_ARGUMENT, "rows: [10, 40)");
    CHECK_ERR(rlcc_jaccard_plan_new(NULL, n, 0, 10, d, &o, &plan), RLCC_E_INVALID_ARGUMENT, "knn: is NULL");
    CHECK_ERR(rlcc_jaccard_plan_new(knn, n, 0, 10, 0, &o, &plan), RLCC_E_INVALID_ARGUMENT, "d: 0");
    CHECK_ERR(rlcc_jaccard_plan_new(knn, n, 0, 10, d, &o, NULL), RLCC_E_INVALID_ARGUMENT, "plan: is NULL");
    int64_t bad_knn[30 * 5];
    memcpy(bad_knn, knn, sizeof bad_knn);
    bad_knn[7] = 99;
    CHECK_ERR(rlcc_jaccard_plan_new(bad_knn, n, 0, 10, d, &o, &plan), RLCC_E_INVALID_ARGUMENT, "outside [0, 30)");
    CHECK(plan == NULL);
    CHECK_OK(rlcc_jaccard_plan_new(knn, n, 0, 10, d, &o, &plan));
    rlcc_csr *w = NULL;
    /* nothing offered yet: the missing pair is named */
    CHECK_ERR(rlcc_jaccard_plan_weights(plan, &w), RLCC_E_INVALID_ARGUMENT, "needs its distance to row");
    CHECK_OK(rlcc_jaccard_plan_offer(plan, x, d, x, 10, d, 0));
    float scaled[20 * 4];
    for (int e = 0; e < 80; e++)
        scaled[e] = 2.0f * x[10 * d + e];
    CHECK_ERR(rlcc_jaccard_plan_offer(plan, x, d, scaled, 20, d, 10), RLCC_E_INVALID_ARGUMENT, "refs: row 0 has norm 2");
    scaled[5] = NAN;
    CHECK_ERR(rlcc_jaccard_plan_offer(plan, x, d, scaled, 20, d, 10), RLCC_E_INVALID_ARGUMENT, "refs: row 1 has NaN");
    CHECK_ERR(rlcc_jaccard_plan_offer(plan, x, d, x + 10 * d, 20, d, 11), RLCC_E_INVALID_ARGUMENT, "ref_offset: 11");
    CHECK_ERR(rlcc_jaccard_plan_offer(NULL, x, d, x, 10, d, 0), RLCC_E_INVALID_ARGUMENT, "plan: is NULL");
    CHECK_ERR(rlcc_jaccard_plan_weights(plan, NULL), RLCC_E_INVALID_ARGUMENT, "weights: is NULL");
    CHECK_OK(rlcc_jaccard_plan_offer(plan, x, d, x + 10 * d, 20, d, 10));
    CHECK_OK(rlcc_jaccard_plan_weights(plan, &w));
    CHECK_EQ(rlcc_csr_rows(w), 10);
    /* rows: the weight matrix must be n rows of valid CSR with values in [0, 1] */
    rlcc_csr *out = (rlcc_csr *)(void *)x; /* a sentinel, never written on refusal */
    int64_t ptr[31] = {0};
    int32_t idx[1] = {0};
    float val[1] = {2.0f};
    for (int i = 1; i <= 30; i++)
        ptr[i] = 1;
    ptr[0] = 0;
    CHECK_ERR(rlcc_jaccard_rows(n, ptr, idx, val, knn, 0, 10, &o, &out), RLCC_E_INVALID_ARGUMENT, "weights lie in [0, 1]");
    ptr[1] = 2;
    CHECK_ERR(rlcc_jaccard_rows(n, ptr, idx, val, knn, 0, 10, &o, &out), RLCC_E_INVALID_ARGUMENT, "indptr");
    CHECK(out == (rlcc_csr *)(void *)x);
    CHECK_ERR(rlcc_jaccard_rows(n, ptr, idx, val, knn, 0, 10, &o, NULL), RLCC_E_INVALID_ARGUMENT, "out: is NULL");
    /* the graph labeller refuses other methods and bad graphs */
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    int32_t labels[30];
    p.method = RLCC_PSEUDO_KMEANS;
    p.reliability = 0;
    p.kmeans_k = 5;
    CHECK_ERR(rlcc_pseudo_labels_graph(n, rlcc_csr_indptr(w), rlcc_csr_indices(w), rlcc_csr_data(w), &p, labels, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "labelled by DBSCAN");
    p.method = RLCC_PSEUDO_DBSCAN;
    p.reliability = 1;
    CHECK_ERR(rlcc_pseudo_labels_graph(n, ptr, idx, val, &p, labels, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "indptr");
    CHECK_ERR(rlcc_pseudo_labels_graph(-1, ptr, idx, val, &p, labels, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "n");
    /* the Jaccard fields are not read: 5 rows under the default k1 = 30, eps above the cutoff */
    {
        const int64_t gp[6] = {0, 1, 2, 2, 2, 2};
        const int32_t gi[2] = {1, 0};
        const float gv[2] = {0.1f, 0.1f};
        rlcc_pseudo_options q;
        rlcc_pseudo_options_init(&q, sizeof q);
        q.cutoff = 0.5f, q.min_samples = 2;
        int64_t k = 0;
        CHECK_OK(rlcc_pseudo_labels_graph(5, gp, gi, gv, &q, labels, &k, NULL));
        CHECK_EQ(k, 4); /* rows 0 and 1 a cluster, three singletons */
        CHECK(labels[0] == labels[1]);
    }
    rlcc_csr_free(w);
    rlcc_jaccard_plan_free(plan);
    rlcc_jaccard_plan_free(NULL);
    free(x);
}

const test_case jaccard_tests[] = {
    {"blocks_compose_to_rlcc_jaccard", blocks_compose_to_rlcc_jaccard},
    {"block_refusals", block_refusals},
    {"knn_on_a_line", knn_on_a_line},
    {"csr_accessors_accept_null", csr_accessors_accept_null},
    {"sparse_equals_dense_and_feeds_dbscan", sparse_equals_dense_and_feeds_dbscan},
    {"jaccard_identical_for_every_thread_count", identical_for_every_thread_count},
    {"refusals_leave_outputs_untouched", refusals_leave_outputs_untouched},
    {"empty_and_tiny_inputs", empty_and_tiny_inputs},
    {"options_layout_is_pinned", options_layout_is_pinned},
    {NULL, NULL},
};
