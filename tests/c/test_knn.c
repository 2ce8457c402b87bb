/*
 * test_knn.c - the kNN contract: lists decided in double in librlcc's fixed
 * order, ties by the lower index, the same for every blocking, update and
 * merge order, thread count and memory budget.
 *
 * The oracle here is a brute force over every pair with the order of
 * docs/precision.md written out again (eight lanes, combined as a tree),
 * independent of src/fixed.c; tests/python/test_knn_exact.py holds the
 * same contract against a NumPy replica.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* ---- data ------------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t next_u32(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

/* Kinds of rows that make float32 Gram distances reorder near-ties. */
enum { GAUSSIAN, INTEGER_GRID, DUPLICATES, LAST_BIT, OFFSET, N_KINDS };

static float *make_rows(int kind, int64_t n, int64_t d, uint64_t seed)
{
    float *x = malloc((size_t)(n * d) * sizeof *x);
    rng_state = seed;
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < d; t++) {
            const float g = ((float)next_u32() / 4294967296.0f - 0.5f) * 2.0f;
            switch (kind) {
            case GAUSSIAN: x[i * d + t] = g; break;
            case INTEGER_GRID: x[i * d + t] = (float)(next_u32() % 3); break;
            case DUPLICATES: x[i * d + t] = i % 4 == 0 || i < 4 ? g : x[(i - i % 4) * d + t]; break;
            case LAST_BIT: x[i * d + t] = i % 2 ? nextafterf(x[(i - 1) * d + t], INFINITY) : g; break;
            default: x[i * d + t] = 4096.0f + (float)(next_u32() % 5) * 0x1p-10f; break;
            }
        }
    return x;
}

/* The contract's D, written out independently of src/fixed.c. */
static double oracle_sqdist(const float *a, const float *b, int64_t d)
{
    double lane[8] = {0};
    for (int64_t t = 0; t < d; t++) {
        const double diff = (double)a[t] - (double)b[t];
        lane[t % 8] += diff * diff;
    }
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* Brute force: every row's k smallest (D, index), by selection. */
static void oracle_knn(const float *x, int64_t n, int64_t d, int64_t k, int64_t *idx, float *sq)
{
    double *row = malloc((size_t)n * sizeof *row);
    char *taken = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            row[j] = oracle_sqdist(x + i * d, x + j * d, d);
            taken[j] = 0;
        }
        for (int64_t r = 0; r < k; r++) {
            int64_t best = -1;
            for (int64_t j = 0; j < n; j++)
                if (!taken[j] && (best < 0 || row[j] < row[best]))
                    best = j;
            taken[best] = 1;
            idx[i * k + r] = best;
            sq[i * k + r] = (float)row[best];
        }
    }
    free(taken);
    free(row);
}

static int same_lists(const int64_t *a, const float *sa, const int64_t *b, const float *sb,
                      int64_t count)
{
    return memcmp(a, b, (size_t)count * sizeof *a) == 0 && memcmp(sa, sb, (size_t)count * sizeof *sa) == 0;
}

/* ---- tests ------------------------------------------------------------------ */

/* 5 kinds x 12 shapes: rlcc_knn equals the brute force byte for byte. */
static void knn_equals_the_double_oracle(void)
{
    const int64_t shapes[12][3] = {{40, 3, 5},  {64, 8, 10},  {90, 17, 30}, {33, 1, 4},
                                   {120, 32, 30}, {70, 2, 70}, {25, 64, 25}, {80, 9, 1},
                                   {150, 5, 12}, {60, 130, 8}, {48, 4, 47}, {100, 16, 20}};
    int mismatches = 0;
    for (int kind = 0; kind < N_KINDS; kind++)
        for (int s = 0; s < 12; s++) {
            const int64_t n = shapes[s][0], d = shapes[s][1], k = shapes[s][2];
            float *x = make_rows(kind, n, d, 1000 + 31 * (uint64_t)s + (uint64_t)kind);
            int64_t *want = malloc((size_t)(n * k) * sizeof *want), *got = malloc((size_t)(n * k) * sizeof *got);
            float *want_sq = malloc((size_t)(n * k) * sizeof *want_sq), *got_sq = malloc((size_t)(n * k) * sizeof *got_sq);
            oracle_knn(x, n, d, k, want, want_sq);
            CHECK_OK(rlcc_knn(x, n, d, d, k, NULL, got, got_sq));
            mismatches += !same_lists(want, want_sq, got, got_sq, n * k);
            /* without distances only the order is decided: the same lists */
            CHECK_OK(rlcc_knn(x, n, d, d, k, NULL, got, NULL));
            mismatches += memcmp(want, got, (size_t)(n * k) * sizeof *got) != 0;
            free(x), free(want), free(got), free(want_sq), free(got_sq);
        }
    CHECK_EQ(mismatches, 0);
}

/* Query blocks x reference blocks in a shuffled order, some states merged,
 * a block offered twice: the whole-matrix lists, byte for byte. */
static void blocks_updates_and_merges_compose_to_the_whole(void)
{
    for (int kind = 0; kind < N_KINDS; kind++) {
        const int64_t n = 97, d = 11, k = 9;
        float *x = make_rows(kind, n, d, 77 + (uint64_t)kind);
        int64_t want[97 * 9], got[97 * 9];
        float want_sq[97 * 9], got_sq[97 * 9];
        CHECK_OK(rlcc_knn(x, n, d, d, k, NULL, want, want_sq));
        const int64_t cuts[4] = {0, 30, 61, 97}; /* three query blocks */
        const int64_t ref_cuts[6] = {0, 9, 40, 41, 80, 97}; /* five reference blocks */
        int ok = 1;
        for (int q = 0; q < 3; q++) {
            const int64_t q0 = cuts[q], nq = cuts[q + 1] - cuts[q];
            rlcc_knn_state *a = NULL, *b = NULL;
            CHECK_OK(rlcc_knn_state_new(nq, q0, d, k, NULL, &a));
            CHECK_OK(rlcc_knn_state_new(nq, q0, d, k, NULL, &b));
            for (int r = 4; r >= 0; r--) { /* backwards, alternating states */
                const int64_t r0 = ref_cuts[r], nr = ref_cuts[r + 1] - ref_cuts[r];
                CHECK_OK(rlcc_knn_update(r % 2 ? a : b, x + q0 * d, d, x + r0 * d, nr, d, r0));
            }
            CHECK_OK(rlcc_knn_update(a, x + q0 * d, d, x + 40 * d, 1, d, 40)); /* again: no change */
            CHECK_OK(rlcc_knn_merge(a, b));
            CHECK_OK(rlcc_knn_finish(a, got + q0 * k, got_sq + q0 * k));
            ok &= same_lists(want + q0 * k, want_sq + q0 * k, got + q0 * k, got_sq + q0 * k, nq * k);
            rlcc_knn_stats stats;
            CHECK_OK(rlcc_knn_stats_init(&stats, sizeof stats));
            CHECK_OK(rlcc_knn_state_stats(a, &stats));
            CHECK_EQ(stats.n_updates, 6);
            CHECK(stats.n_redecided > 0 && stats.peak_bytes > 0);
            rlcc_knn_state_free(a);
            rlcc_knn_state_free(b);
        }
        /* the symmetric block (the same pointer, offset and rows) too */
        rlcc_knn_state *all = NULL;
        CHECK_OK(rlcc_knn_state_new(n, 0, d, k, NULL, &all));
        CHECK_OK(rlcc_knn_update(all, x, d, x, n, d, 0));
        CHECK_OK(rlcc_knn_finish(all, got, got_sq));
        ok &= same_lists(want, want_sq, got, got_sq, n * k);
        rlcc_knn_state_free(all);
        CHECK(ok);
        free(x);
    }
}

/* Every budget from the smallest that works to the default, every thread
 * count: the same bytes. */
static void same_bytes_for_every_budget_and_thread_count(void)
{
    const int64_t n = 600, d = 24, k = 30;
    float *x = make_rows(INTEGER_GRID, n, d, 5);
    int64_t *want = malloc((size_t)(n * k) * sizeof *want), *got = malloc((size_t)(n * k) * sizeof *got);
    float *want_sq = malloc((size_t)(n * k) * sizeof *want_sq), *got_sq = malloc((size_t)(n * k) * sizeof *got_sq);
    CHECK_OK(rlcc_knn(x, n, d, d, k, NULL, want, want_sq));
    const int64_t budgets[5] = {1 << 20, 3 << 20, 8 << 20, 64 << 20, 0};
    int ok = 1;
    for (int b = 0; b < 5; b++)
        for (int32_t threads = 1; threads <= 3; threads++) {
            rlcc_knn_options o;
            rlcc_knn_options_init(&o, sizeof o);
            o.max_bytes = budgets[b];
            o.n_threads = threads;
            CHECK_OK(rlcc_knn(x, n, d, d, k, &o, got, got_sq));
            ok &= same_lists(want, want_sq, got, got_sq, n * k);
            CHECK_OK(rlcc_knn(x, n, d, d, k, &o, got, NULL));
            ok &= memcmp(want, got, (size_t)(n * k) * sizeof *got) == 0;
        }
    CHECK(ok);
    free(x), free(want), free(got), free(want_sq), free(got_sq);
}

/* All rows identical: every row has more near-ties than its candidates hold
 * and falls back; the lists are still 0, 1, ..., k-1 (ties by index). */
static void all_duplicates_fall_back_and_stay_exact(void)
{
    const int64_t n = 200, d = 5, k = 10;
    float *x = malloc((size_t)(n * d) * sizeof *x);
    for (int64_t e = 0; e < n * d; e++)
        x[e] = 0.25f * (float)(e % d);
    rlcc_knn_state *s = NULL;
    CHECK_OK(rlcc_knn_state_new(n, 0, d, k, NULL, &s));
    CHECK_OK(rlcc_knn_update(s, x, d, x, n, d, 0));
    int64_t idx[200 * 10];
    float sq[200 * 10];
    CHECK_OK(rlcc_knn_finish(s, idx, sq));
    int ok = 1;
    for (int64_t i = 0; i < n; i++)
        for (int64_t r = 0; r < k; r++)
            ok &= idx[i * k + r] == r && sq[i * k + r] == 0.0f;
    CHECK(ok);
    rlcc_knn_stats stats;
    rlcc_knn_stats_init(&stats, sizeof stats);
    CHECK_OK(rlcc_knn_state_stats(s, &stats));
    CHECK_EQ(stats.n_fallback_rows, n);
    rlcc_knn_state_free(s);
    free(x);
}

/* Rows offered again beside a nearer new row: the new row still enters
 * (a held row must not count twice in the bound). Query 0; k = 2. */
static void rows_offered_again_do_not_hide_a_nearer_row(void)
{
    const float q[1] = {0.0f}, first[2] = {1.0f, 1.5f}, again[3] = {1.0f, 1.5f, 1.2f};
    rlcc_knn_state *s = NULL;
    CHECK_OK(rlcc_knn_state_new(1, 0, 1, 2, NULL, &s));
    CHECK_OK(rlcc_knn_update(s, q, 1, first, 2, 1, 1));
    CHECK_OK(rlcc_knn_update(s, q, 1, again, 3, 1, 1));
    int64_t idx[2] = {0, 0};
    CHECK_OK(rlcc_knn_finish(s, idx, NULL));
    CHECK_EQ(idx[0], 1);
    CHECK_EQ(idx[1], 3);
    rlcc_knn_state_free(s);
}

static void block_knn_refusals_leave_outputs_untouched(void)
{
    const float x[8] = {0, 0, 1, 0, 0, 1, 5, 5};
    rlcc_knn_state *s = NULL, *other = NULL;
    CHECK_ERR(rlcc_knn_state_new(4, 0, 2, 0, NULL, &s), RLCC_E_INVALID_ARGUMENT, "k: 0");
    CHECK_ERR(rlcc_knn_state_new(-1, 0, 2, 2, NULL, &s), RLCC_E_INVALID_ARGUMENT, "n_queries: -1");
    CHECK_ERR(rlcc_knn_state_new((int64_t)1 << 40, 0, 2, 2, NULL, &s), RLCC_E_INVALID_ARGUMENT,
              "must be in [0, INT32_MAX]");
    CHECK_ERR(rlcc_knn_state_new(4, -3, 2, 2, NULL, &s), RLCC_E_INVALID_ARGUMENT, "query_offset");
    CHECK_ERR(rlcc_knn_state_new(4, 0, 0, 2, NULL, &s), RLCC_E_INVALID_ARGUMENT, "d: 0");
    CHECK_ERR(rlcc_knn_state_new(4, 0, 2, 2, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "state");
    CHECK(s == NULL);
    rlcc_knn_options tiny;
    rlcc_knn_options_init(&tiny, sizeof tiny);
    tiny.max_bytes = 64;
    CHECK_ERR(rlcc_knn_state_new(4, 0, 2, 2, &tiny, &s), RLCC_E_MEMORY_LIMIT, "");
    CHECK(s == NULL);
    CHECK_OK(rlcc_knn_state_new(4, 0, 2, 3, NULL, &s));
    CHECK_OK(rlcc_knn_state_new(4, 0, 2, 2, NULL, &other));
    int64_t idx[12] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    CHECK_OK(rlcc_knn_update(s, x, 2, x, 2, 2, 0));
    CHECK_ERR(rlcc_knn_finish(s, idx, NULL), RLCC_E_INVALID_ARGUMENT, "has 2 of its k = 3");
    CHECK(idx[0] == 7 && idx[11] == 7);
    float bad[8] = {0, 0, 1, 0, 0, NAN, 5, 5};
    CHECK_ERR(rlcc_knn_update(s, x, 2, bad, 4, 2, 0), RLCC_E_INVALID_ARGUMENT, "refs: row 2 has NaN");
    CHECK_ERR(rlcc_knn_update(s, x, 1, x, 4, 2, 0), RLCC_E_INVALID_ARGUMENT, "queries: leading dimension");
    CHECK_ERR(rlcc_knn_update(s, x, 2, x, 4, 2, -1), RLCC_E_INVALID_ARGUMENT, "ref_offset");
    CHECK_ERR(rlcc_knn_update(NULL, x, 2, x, 4, 2, 0), RLCC_E_INVALID_ARGUMENT, "state: is NULL");
    CHECK_ERR(rlcc_knn_merge(s, other), RLCC_E_INVALID_ARGUMENT, "k = 2");
    CHECK_ERR(rlcc_knn_merge(s, s), RLCC_E_INVALID_ARGUMENT, "same state");
    CHECK_ERR(rlcc_knn_merge(s, NULL), RLCC_E_INVALID_ARGUMENT, "from: is NULL");
    CHECK_ERR(rlcc_knn_finish(s, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "indices: is NULL");
    /* a refused update changed nothing: one more block finishes the lists */
    CHECK_OK(rlcc_knn_update(s, x, 2, x + 4, 2, 2, 2));
    CHECK_OK(rlcc_knn_finish(s, idx, NULL));
    CHECK_EQ(idx[0], 0);
    CHECK_EQ(idx[1], 1);
    CHECK_EQ(idx[2], 2);
    rlcc_knn_stats small = {.struct_size = 4};
    CHECK_ERR(rlcc_knn_state_stats(s, &small), RLCC_E_INVALID_ARGUMENT, "stats");
    rlcc_knn_state_free(s);
    rlcc_knn_state_free(other);
    rlcc_knn_state_free(NULL);
}

/* ---- the caller's kNN lists in pseudo labels and the refiner ----------------- */

enum { PN = 160, PD = 12, PK1 = 20 };

/* Unit rows around 16 directions, shifted by gen. */
static void unit_rows(float *x, int gen)
{
    rng_state = 4242 + (uint64_t)gen;
    for (int i = 0; i < PN; i++) {
        double sum = 0.0;
        for (int t = 0; t < PD; t++) {
            const double v = (t == i % 16 % PD ? 1.0 : 0.0) + (t == (i % 16 + 3) % PD ? 0.6 : 0.0)
                             + ((double)next_u32() / 4294967296.0 - 0.5) * 0.3;
            x[i * PD + t] = (float)v;
            sum += v * v;
        }
        for (int t = 0; t < PD; t++)
            x[i * PD + t] = (float)(x[i * PD + t] / sqrt(sum));
    }
}

static void pseudo_options(rlcc_pseudo_options *o)
{
    rlcc_pseudo_options_init(o, sizeof *o);
    o->k1 = PK1;
    o->k2 = 4;
    o->min_samples = 3;
    o->eps[0] = 0.5, o->eps[1] = 0.55, o->eps[2] = 0.6;
}

/* Lists the caller computed (librlcc's own here) give the labels librlcc's
 * own kNN gives; bad lists are refused as rlcc_jaccard() refuses them. */
static void pseudo_labels_take_the_callers_knn(void)
{
    static float x[PN * PD];
    static int64_t knn[PN * PK1];
    unit_rows(x, 0);
    CHECK_OK(rlcc_knn(x, PN, PD, PD, PK1, NULL, knn, NULL));
    rlcc_pseudo_options o;
    pseudo_options(&o);
    int32_t own[PN], given[PN];
    int64_t k_own = 0, k_given = 0;
    CHECK_OK(rlcc_pseudo_labels(x, PN, PD, PD, &o, own, &k_own, NULL));
    o.knn = knn;
    CHECK_OK(rlcc_pseudo_labels(x, PN, PD, PD, &o, given, &k_given, NULL));
    CHECK(memcmp(own, given, sizeof own) == 0 && k_own == k_given && k_own > 1);
    /* other lists change the result: they are really read */
    static int64_t shifted[PN * PK1];
    for (int i = 0; i < PN; i++)
        for (int r = 0; r < PK1; r++)
            shifted[i * PK1 + r] = (knn[i * PK1 + r] + 1) % PN;
    o.knn = shifted;
    CHECK_OK(rlcc_pseudo_labels(x, PN, PD, PD, &o, given, &k_given, NULL));
    CHECK(memcmp(own, given, sizeof own) != 0);
    const int64_t saved = knn[5 * PK1 + 3];
    knn[5 * PK1 + 3] = PN;
    o.knn = knn;
    given[0] = 77;
    CHECK_ERR(rlcc_pseudo_labels(x, PN, PD, PD, &o, given, NULL, NULL), RLCC_E_INVALID_ARGUMENT,
              "knn: entry 3 of row 5");
    CHECK_EQ(given[0], 77);
    knn[5 * PK1 + 3] = saved;
    /* a 1.2 caller's struct ends before knn: whatever lies there is not read */
    o.struct_size = offsetof(rlcc_pseudo_options, knn);
    o.knn = (const int64_t *)(uintptr_t)1;
    CHECK_OK(rlcc_pseudo_labels(x, PN, PD, PD, &o, given, &k_given, NULL));
    CHECK(memcmp(own, given, sizeof own) == 0);
    o.struct_size = sizeof o;
    o.knn = knn;
    o.metric = RLCC_METRIC_EUCLIDEAN;
    CHECK_ERR(rlcc_pseudo_labels(x, PN, PD, PD, &o, given, NULL, NULL), RLCC_E_INVALID_ARGUMENT,
              "only the Jaccard metric");
}

/* rlcc_refiner_set_knn(): the next step's lists; a bad list fails that
 * step and changes nothing; a step uses them once. */
static void refiner_takes_each_generations_knn(void)
{
    static float x0[PN * PD], x1[PN * PD];
    static int64_t knn1[PN * PK1];
    unit_rows(x0, 0);
    unit_rows(x1, 1);
    CHECK_OK(rlcc_knn(x1, PN, PD, PD, PK1, NULL, knn1, NULL));
    rlcc_pseudo_options o;
    pseudo_options(&o);
    rlcc_refiner *own = NULL, *given = NULL;
    CHECK_OK(rlcc_refiner_new(PN, PD, &o, NULL, &own));
    CHECK_OK(rlcc_refiner_new(PN, PD, &o, NULL, &given));
    CHECK_OK(rlcc_refiner_step_matrix(own, x0, PD, NULL));
    CHECK_OK(rlcc_refiner_step_matrix(given, x0, PD, NULL));
    CHECK_OK(rlcc_refiner_step_matrix(own, x1, PD, NULL));
    static int64_t bad[PN * PK1];
    memcpy(bad, knn1, sizeof bad);
    bad[PK1 + 1] = bad[PK1]; /* row 1 lists a row twice */
    CHECK_OK(rlcc_refiner_set_knn(given, bad));
    CHECK_ERR(rlcc_refiner_step_matrix(given, x1, PD, NULL),
              RLCC_E_INVALID_ARGUMENT, "knn: row 1 lists");
    CHECK_EQ(rlcc_refiner_generation(given), 1);
    CHECK_OK(rlcc_refiner_set_knn(given, knn1));
    CHECK_OK(rlcc_refiner_step_matrix(given, x1, PD, NULL));
    int32_t a[PN], b[PN];
    CHECK_OK(rlcc_refiner_labels(own, a));
    CHECK_OK(rlcc_refiner_labels(given, b));
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* used once: the next step computes its own again */
    CHECK_OK(rlcc_refiner_step_matrix(given, x0, PD, NULL));
    CHECK_OK(rlcc_refiner_set_knn(given, NULL));
    CHECK_ERR(rlcc_refiner_set_knn(NULL, knn1), RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    o.knn = knn1;
    rlcc_refiner *refused = NULL;
    CHECK_ERR(rlcc_refiner_new(PN, PD, &o, NULL, &refused), RLCC_E_INVALID_ARGUMENT,
              "rlcc_refiner_set_knn");
    CHECK(refused == NULL);
    o.knn = NULL;
    o.k1 = -1; /* refused where the options come in, before anything sizes a list */
    CHECK_ERR(rlcc_refiner_new(PN, PD, &o, NULL, &refused), RLCC_E_INVALID_ARGUMENT, "k1: -1");
    CHECK(refused == NULL);
    o.k1 = PK1;
    o.metric = RLCC_METRIC_COSINE;
    CHECK_OK(rlcc_refiner_new(PN, PD, &o, NULL, &refused));
    CHECK_ERR(rlcc_refiner_set_knn(refused, knn1), RLCC_E_INVALID_ARGUMENT, "only the Jaccard");
    rlcc_refiner_free(refused);
    rlcc_refiner_free(own);
    rlcc_refiner_free(given);
}

/* ---- pairs of blocks and states as bytes (1.8) ------------------------------- */

/* The CRC-32C of bytes.c, written out again to forge sealed bytes. */
static uint32_t test_crc32c(const uint8_t *p, size_t size)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return crc ^ 0xFFFFFFFFu;
}

static void reseal(uint8_t *bytes, size_t size)
{
    const uint32_t crc = test_crc32c(bytes, size - 4);
    for (int b = 0; b < 4; b++)
        bytes[size - 4 + b] = (uint8_t)(crc >> (8 * b));
}

/* A state's bytes, malloc'd; *size their length. */
static uint8_t *saved(const rlcc_knn_state *s, size_t *size)
{
    CHECK_OK(rlcc_knn_state_save(s, NULL, 0, size));
    uint8_t *bytes = malloc(*size);
    CHECK_OK(rlcc_knn_state_save(s, bytes, *size, size));
    return bytes;
}

/* Random blockings (empty blocks included) of every kind of rows: each block
 * against itself, each pair of blocks once by rlcc_knn_update_pair() in a
 * shuffled order, half the states sent through bytes and merged, as the
 * ring of librlcc_mpi does: the whole-matrix lists, byte for byte. */
static void pair_updates_and_saved_states_compose_to_the_whole(void)
{
    int mismatches = 0, cases = 0;
    for (int kind = 0; kind < N_KINDS; kind++)
        for (int trial = 0; trial < 8; trial++) {
            const int64_t n = 60 + 13 * trial, d = 1 + 5 * trial, k = 1 + (trial * 7) % 20;
            float *x = make_rows(kind, n, d, 500 + 17 * (uint64_t)trial + (uint64_t)kind);
            int64_t *want = malloc((size_t)(n * k) * sizeof *want), *got = malloc((size_t)(n * k) * sizeof *got);
            float *want_sq = malloc((size_t)(n * k) * sizeof *want_sq), *got_sq = malloc((size_t)(n * k) * sizeof *got_sq);
            CHECK_OK(rlcc_knn(x, n, d, d, k, NULL, want, want_sq));
            rng_state = 9000 + 7 * (uint64_t)trial + (uint64_t)kind;
            enum { MAXB = 6 };
            const int blocks = 2 + (int)(next_u32() % (MAXB - 1));
            int64_t cut[MAXB + 1] = {0};
            for (int b = 1; b < blocks; b++)
                cut[b] = (int64_t)(next_u32() % (uint32_t)(n + 1));
            cut[blocks] = n;
            for (int a = 1; a < blocks; a++) /* sort the cuts: some blocks empty */
                for (int b = a; b > 0 && cut[b] < cut[b - 1]; b--) {
                    const int64_t t = cut[b];
                    cut[b] = cut[b - 1], cut[b - 1] = t;
                }
            rlcc_knn_options opts;
            rlcc_knn_options_init(&opts, sizeof opts);
            opts.n_threads = 1 + trial % 3;
            rlcc_knn_state *s[MAXB];
            for (int b = 0; b < blocks; b++) {
                CHECK_OK(rlcc_knn_state_new(cut[b + 1] - cut[b], cut[b], d, k, &opts, &s[b]));
                CHECK_OK(rlcc_knn_update(s[b], x + cut[b] * d, d, x + cut[b] * d, cut[b + 1] - cut[b], d, cut[b]));
            }
            int pairs[MAXB * MAXB][2], n_pairs = 0;
            for (int a = 0; a < blocks; a++)
                for (int b = a + 1; b < blocks; b++)
                    pairs[n_pairs][0] = next_u32() % 2 ? a : b, pairs[n_pairs][1] = pairs[n_pairs][0] == a ? b : a, n_pairs++;
            for (int p = n_pairs - 1; p > 0; p--) { /* shuffle */
                const int q = (int)(next_u32() % (uint32_t)(p + 1));
                int t0 = pairs[p][0], t1 = pairs[p][1];
                pairs[p][0] = pairs[q][0], pairs[p][1] = pairs[q][1];
                pairs[q][0] = t0, pairs[q][1] = t1;
            }
            for (int p = 0; p < n_pairs; p++) {
                const int a = pairs[p][0], b = pairs[p][1];
                CHECK_OK(rlcc_knn_update_pair(s[a], x + cut[a] * d, d, s[b], x + cut[b] * d, d));
            }
            for (int b = 0; b < blocks; b++) {
                const int64_t q0 = cut[b], nq = cut[b + 1] - cut[b];
                rlcc_knn_state *fin = s[b];
                if (b % 2) { /* through bytes, into a fresh state */
                    size_t size;
                    uint8_t *bytes = saved(s[b], &size);
                    rlcc_knn_state *loaded = NULL, *fresh = NULL;
                    CHECK_OK(rlcc_knn_state_load(bytes, size, &opts, &loaded));
                    size_t again_size;
                    uint8_t *again = saved(loaded, &again_size);
                    mismatches += again_size != size || memcmp(again, bytes, size) != 0;
                    CHECK_OK(rlcc_knn_state_new(nq, q0, d, k, &opts, &fresh));
                    CHECK_OK(rlcc_knn_merge(fresh, loaded));
                    rlcc_knn_state_free(loaded);
                    rlcc_knn_state_free(s[b]);
                    s[b] = fin = fresh;
                    free(bytes), free(again);
                }
                if (nq > 0) {
                    CHECK_OK(rlcc_knn_finish(fin, got + q0 * k, got_sq + q0 * k));
                    mismatches += !same_lists(want + q0 * k, want_sq + q0 * k, got + q0 * k, got_sq + q0 * k, nq * k);
                }
                rlcc_knn_state_free(fin);
                cases++;
            }
            free(x), free(want), free(got), free(want_sq), free(got_sq);
        }
    CHECK(cases > 100);
    CHECK_EQ(mismatches, 0);
}

/* Refused pair updates leave both states as they were (their bytes), and
 * a refused save or load writes nothing but the size. */
static void pair_and_state_bytes_refusals(void)
{
    const int64_t d = 3, k = 2;
    float *x = make_rows(GAUSSIAN, 12, d, 4242);
    rlcc_knn_state *a = NULL, *b = NULL, *wide = NULL, *over = NULL;
    CHECK_OK(rlcc_knn_state_new(6, 0, d, k, NULL, &a));
    CHECK_OK(rlcc_knn_state_new(6, 6, d, 3, NULL, &b));
    CHECK_OK(rlcc_knn_state_new(6, 6, d + 1, k, NULL, &wide));
    CHECK_OK(rlcc_knn_state_new(6, 3, d, k, NULL, &over));
    CHECK_OK(rlcc_knn_update(a, x, d, x, 6, d, 0));
    size_t size_a, size_b;
    uint8_t *before_a = saved(a, &size_a), *before_b = saved(b, &size_b);
    float bad[18];
    memcpy(bad, x + 6 * d, sizeof bad);
    bad[7] = INFINITY;
    CHECK_ERR(rlcc_knn_update_pair(a, x, d, a, x, d), RLCC_E_INVALID_ARGUMENT, "same state");
    CHECK_ERR(rlcc_knn_update_pair(NULL, x, d, b, x + 6 * d, d), RLCC_E_INVALID_ARGUMENT, "a: is NULL");
    CHECK_ERR(rlcc_knn_update_pair(a, x, d, NULL, x + 6 * d, d), RLCC_E_INVALID_ARGUMENT, "b: is NULL");
    CHECK_ERR(rlcc_knn_update_pair(a, x, d, wide, x + 6 * d, d + 1), RLCC_E_INVALID_ARGUMENT, "width d = 4");
    CHECK_ERR(rlcc_knn_update_pair(a, x, d, over, x + 3 * d, d), RLCC_E_INVALID_ARGUMENT, "overlap");
    CHECK_ERR(rlcc_knn_update_pair(a, x, d, b, bad, d), RLCC_E_INVALID_ARGUMENT, "rows_b: row 2 has");
    CHECK_ERR(rlcc_knn_update_pair(a, x, d - 1, b, x + 6 * d, d), RLCC_E_INVALID_ARGUMENT, "rows_a");
    rlcc_knn_options tiny;
    rlcc_knn_options_init(&tiny, sizeof tiny);
    tiny.max_bytes = 900; /* the lists fit; the pair's working memory does not */
    rlcc_knn_state *small = NULL;
    CHECK_OK(rlcc_knn_state_new(6, 0, d, k, &tiny, &small));
    CHECK_ERR(rlcc_knn_update_pair(small, x, d, b, x + 6 * d, d), RLCC_E_MEMORY_LIMIT, "");
    size_t size_now;
    uint8_t *now_a = saved(a, &size_now);
    CHECK(size_now == size_a && memcmp(now_a, before_a, size_a) == 0);
    free(now_a);
    uint8_t *now_b = saved(b, &size_now);
    CHECK(size_now == size_b && memcmp(now_b, before_b, size_b) == 0);
    free(now_b);
    /* the pair then works, and b's k = 3 is its own */
    CHECK_OK(rlcc_knn_update_pair(a, x, d, b, x + 6 * d, d));
    int64_t idx[18];
    CHECK_OK(rlcc_knn_finish(b, idx, NULL));

    /* save: NULL size, too small a buffer (size set, buffer untouched) */
    size_t need = 0;
    CHECK_ERR(rlcc_knn_state_save(a, NULL, 0, NULL), RLCC_E_INVALID_ARGUMENT, "size: is NULL");
    CHECK_ERR(rlcc_knn_state_save(NULL, NULL, 0, &need), RLCC_E_INVALID_ARGUMENT, "state: is NULL");
    uint8_t little[16];
    memset(little, 0xAB, sizeof little);
    CHECK_ERR(rlcc_knn_state_save(a, little, sizeof little, &need), RLCC_E_INVALID_ARGUMENT, "capacity: 16");
    CHECK(need > sizeof little && little[0] == 0xAB && little[15] == 0xAB);

    /* load: every flipped byte and every truncation of a's bytes is refused */
    size_t size;
    uint8_t *bytes = saved(a, &size);
    rlcc_knn_state *loaded = NULL;
    int accepted = 0;
    for (size_t at = 0; at < size; at++) {
        bytes[at] ^= 0x10;
        accepted += rlcc_knn_state_load(bytes, size, NULL, &loaded) == RLCC_OK;
        bytes[at] ^= 0x10;
    }
    for (size_t cut = 0; cut < size; cut++)
        accepted += rlcc_knn_state_load(bytes, cut, NULL, &loaded) == RLCC_OK;
    CHECK_EQ(accepted, 0);
    CHECK(loaded == NULL);
    CHECK_ERR(rlcc_knn_state_load(NULL, size, NULL, &loaded), RLCC_E_INVALID_ARGUMENT, "buffer: is NULL");
    CHECK_ERR(rlcc_knn_state_load(bytes, size, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "state: is NULL");
    /* sealed again after a change: each inconsistency has its own refusal.
     * Layout: 80 header bytes, n int32 sizes, then (double, int64) entries. */
    const size_t entries = 80 + 6 * 4;
    struct { size_t at; uint8_t value; const char *text; } forged[] = {
        {8, 2, "format 2"},                          /* the format */
        {80, 7, "list size outside [0, k]"},         /* row 0 holds 7 > k */
        {entries + 7, 0xFF, "negative or non-finite"}, /* row 0's first D: NaN bits */
        {entries + 15, 0x80, "negative or non-finite"}, /* its index < 0 */
        {48, 1, "n_queries"},                        /* d's field: k = 2 -> bad shape */
    };
    forged[4].at = 24 + 2 * 8; /* d */
    forged[4].value = 0;
    forged[4].text = "d: 0";
    for (size_t f = 0; f < sizeof forged / sizeof *forged; f++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, bytes, size);
        copy[forged[f].at] = forged[f].value;
        reseal(copy, size);
        CHECK_ERR(rlcc_knn_state_load(copy, size, NULL, &loaded), RLCC_E_INVALID_ARGUMENT, forged[f].text);
        free(copy);
    }
    /* row 0's two entries swapped: the heap order librlcc writes is broken */
    uint8_t *swapped = malloc(size);
    memcpy(swapped, bytes, size);
    memcpy(swapped + entries, bytes + entries + 16, 16);
    memcpy(swapped + entries + 16, bytes + entries, 16);
    reseal(swapped, size);
    CHECK_ERR(rlcc_knn_state_load(swapped, size, NULL, &loaded), RLCC_E_INVALID_ARGUMENT, "heap order");
    /* the same index twice */
    memcpy(swapped, bytes, size);
    memcpy(swapped + entries + 24, bytes + entries + 8, 8);
    reseal(swapped, size);
    CHECK_ERR(rlcc_knn_state_load(swapped, size, NULL, &loaded), RLCC_E_INVALID_ARGUMENT, "");
    CHECK(loaded == NULL);
    tiny.max_bytes = 64;
    CHECK_ERR(rlcc_knn_state_load(bytes, size, &tiny, &loaded), RLCC_E_MEMORY_LIMIT, "");
    CHECK(loaded == NULL);
    free(swapped), free(bytes), free(before_a), free(before_b), free(x);
    rlcc_knn_state_free(small);
    rlcc_knn_state_free(a);
    rlcc_knn_state_free(b);
    rlcc_knn_state_free(wide);
    rlcc_knn_state_free(over);
}

const test_case knn_tests[] = {
    {"pseudo_labels_take_the_callers_knn", pseudo_labels_take_the_callers_knn},
    {"refiner_takes_each_generations_knn", refiner_takes_each_generations_knn},
    {"knn_equals_the_double_oracle", knn_equals_the_double_oracle},
    {"blocks_updates_and_merges_compose_to_the_whole", blocks_updates_and_merges_compose_to_the_whole},
    {"same_bytes_for_every_budget_and_thread_count", same_bytes_for_every_budget_and_thread_count},
    {"all_duplicates_fall_back_and_stay_exact", all_duplicates_fall_back_and_stay_exact},
    {"rows_offered_again_do_not_hide_a_nearer_row", rows_offered_again_do_not_hide_a_nearer_row},
    {"block_knn_refusals_leave_outputs_untouched", block_knn_refusals_leave_outputs_untouched},
    {"pair_updates_and_saved_states_compose_to_the_whole", pair_updates_and_saved_states_compose_to_the_whole},
    {"pair_and_state_bytes_refusals", pair_and_state_bytes_refusals},
    {NULL, NULL},
};
