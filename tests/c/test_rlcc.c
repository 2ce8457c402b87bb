/* test_rlcc.c - RLCC from C: the refiner's callbacks failing or canceling
 * at every stage (the refiner stays as it was; ASan checks nothing leaks),
 * small exact consensus / propagation / blend cases, refusals with outputs
 * untouched, and the 1.2 struct layouts. Oracle tests: tests/python. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include <omp.h>

#include "test.h"

#define N_IDS 12
#define PER_ID 8
#define N (N_IDS * PER_ID)
#define D 16

/* Unit rows around N_IDS directions; gen shifts the noise. */
static void make_features(float *x, int gen)
{
    uint64_t s = 99 + (uint64_t)gen;
    for (int i = 0; i < N; i++) {
        double sum = 0.0;
        for (int k = 0; k < D; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            double noise = ((double)(s >> 11) * 0x1p-53 - 0.5) * 0.2;
            double v = (k == (i % N_IDS) % D ? 1.0 : 0.0) + (k == (i % N_IDS + 5) % D ? 0.5 : 0.0) + noise;
            x[i * D + k] = (float)v;
            sum += v * v;
        }
        for (int k = 0; k < D; k++)
            x[i * D + k] = (float)(x[i * D + k] / sqrt(sum));
    }
}

typedef struct source {
    float x[N * D];
    int64_t fail_at;   /* row where features() fails, or -1 */
    int64_t short_at;  /* row where it fills one row less, or -1 */
    int32_t cancel_stage; /* stage at which progress() cancels, or -1 */
    int64_t logits_fail; /* 1: logits() fails */
    int calls;
} source;

static int64_t features(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    source *src = data;
    src->calls++;
    if (src->fail_at >= 0 && start >= src->fail_at)
        return -7;
    int64_t filled = src->short_at >= 0 && start >= src->short_at ? count - 1 : count;
    for (int64_t i = 0; i < filled; i++)
        memcpy(rows + i * ld, src->x + (start + i) * D, sizeof(float) * D);
    return filled;
}

static int64_t logits(int64_t start, int64_t count, int64_t k_prev, float *out, int64_t ld,
                      void *data)
{
    source *src = data;
    if (src->logits_fail)
        return -1;
    for (int64_t i = 0; i < count; i++)
        for (int64_t a = 0; a < k_prev; a++)
            out[i * ld + a] = (float)((start + i + a) % 5);
    return count;
}

static int progress(int32_t stage, double fraction, void *data)
{
    source *src = data;
    (void)fraction;
    return stage == src->cancel_stage;
}

static void reset(source *src, int gen)
{
    make_features(src->x, gen);
    src->fail_at = src->short_at = -1;
    src->cancel_stage = -1;
    src->logits_fail = 0;
    src->calls = 0;
}

static void refiner_steps_and_targets(void)
{
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &r));
    CHECK_EQ(rlcc_refiner_generation(r), 0);
    source *src = malloc(sizeof *src);
    float *targets = malloc(sizeof(float) * N * N);
    for (int gen = 0; gen < 4; gen++) {
        reset(src, gen);
        CHECK_OK(rlcc_refiner_step(r, features, src, 10, NULL, NULL, progress, src));
        CHECK_EQ(src->calls, (N + 9) / 10);
        CHECK_EQ(rlcc_refiner_generation(r), gen + 1);
        const int64_t k = rlcc_refiner_n_classes(r);
        CHECK(k >= 1 && k <= N);
        int32_t labels[N];
        CHECK_OK(rlcc_refiner_labels(r, labels));
        CHECK_OK(rlcc_refiner_targets(r, NULL, N, targets, k));
        int sums_ok = 1;
        for (int i = 0; i < N; i++) {
            double sum = 0.0;
            for (int64_t b = 0; b < k; b++)
                sum += targets[i * k + b];
            sums_ok &= fabs(sum - 1.0) < 1e-5; /* singletons: every sample trains */
        }
        CHECK(sums_ok);
        int64_t rows[3] = {5, 0, N - 1};
        float batch[3 * N];
        CHECK_OK(rlcc_refiner_targets(r, rows, 3, batch, k));
        int close = 1;
        for (int q = 0; q < 3; q++)
            for (int64_t b = 0; b < k; b++)
                close &= fabsf(batch[q * k + b] - targets[rows[q] * k + b]) <= 1e-6f;
        CHECK(close);
    }
    free(targets);
    free(src);
    rlcc_refiner_free(r);
    rlcc_refiner_free(NULL);
}

/* Every way a step can fail leaves the refiner as it was, returns its
 * code, and (under ASan) leaks nothing. */
static void refiner_failures_leave_it_unchanged(void)
{
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &r));
    source *src = malloc(sizeof *src);
    reset(src, 0);
    CHECK_OK(rlcc_refiner_step(r, features, src, 16, NULL, NULL, NULL, NULL));
    int32_t before[N], after[N];
    CHECK_OK(rlcc_refiner_labels(r, before));
    const double threshold = rlcc_refiner_threshold(r);

    for (int gen = 1; gen <= 2; gen++) { /* from gen 1 the consensus stage runs too */
        for (int32_t stage = RLCC_STAGE_FEATURES; stage <= RLCC_STAGE_DONE; stage++) {
            reset(src, gen);
            src->cancel_stage = stage;
            CHECK_ERR(rlcc_refiner_step(r, features, src, 16, NULL, NULL, progress, src),
                      RLCC_E_CANCELED, "canceled");
        }
        reset(src, gen);
        src->fail_at = 40;
        CHECK_ERR(rlcc_refiner_step(r, features, src, 16, NULL, NULL, NULL, NULL),
                  RLCC_E_CALLBACK, "returned -7");
        reset(src, gen);
        src->short_at = 60;
        CHECK_ERR(rlcc_refiner_step(r, features, src, 16, NULL, NULL, NULL, NULL),
                  RLCC_E_CALLBACK, "filled 15 of 16");
        reset(src, gen);
        src->logits_fail = 1;
        CHECK_ERR(rlcc_refiner_step(r, features, src, 16, logits, src, NULL, NULL),
                  RLCC_E_CALLBACK, "logits");
        CHECK_EQ(rlcc_refiner_generation(r), gen);
        CHECK_OK(rlcc_refiner_labels(r, after));
        CHECK(memcmp(before, after, sizeof before) == 0);
        CHECK(rlcc_refiner_threshold(r) == threshold);
        reset(src, gen); /* and then a good step goes through */
        CHECK_OK(rlcc_refiner_step(r, features, src, 16, logits, src, NULL, NULL));
        CHECK_OK(rlcc_refiner_labels(r, before));
    }
    CHECK_ERR(rlcc_refiner_step(r, NULL, NULL, 16, NULL, NULL, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "features");
    CHECK_ERR(rlcc_refiner_step(r, features, src, 0, NULL, NULL, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "batch");
    int64_t bad_rows[1] = {N};
    float out[N];
    CHECK_ERR(rlcc_refiner_targets(r, bad_rows, 1, out, N), RLCC_E_INVALID_ARGUMENT, "rows");
    free(src);
    rlcc_refiner_free(r);

    rlcc_refiner *fresh = NULL;
    CHECK_ERR(rlcc_refiner_labels(NULL, after), RLCC_E_INVALID_ARGUMENT, "refiner");
    CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &fresh));
    CHECK_ERR(rlcc_refiner_targets(fresh, NULL, N, out, N), RLCC_E_INVALID_ARGUMENT, "no generation");
    rlcc_refiner_free(fresh);
    rlcc_refiner_options o;
    rlcc_refiner_options_init(&o, sizeof o);
    o.alpha = 1.5f;
    rlcc_refiner *none = (rlcc_refiner *)(void *)&o;
    CHECK_ERR(rlcc_refiner_new(N, D, NULL, &o, &none), RLCC_E_INVALID_ARGUMENT, "alpha");
    CHECK(none == (rlcc_refiner *)(void *)&o);
    CHECK_ERR(rlcc_refiner_new(0, D, NULL, NULL, &none), RLCC_E_INVALID_ARGUMENT, "n");
}

static void consensus_propagate_blend_by_hand(void)
{
    /* prev classes {0,1}, cur classes {0,1,2}; sample 5 is noise in cur */
    const int32_t prev[6] = {0, 0, 0, 1, 1, 1};
    const int32_t cur[6] = {0, 0, 1, 2, 2, -1};
    int64_t counts[6];
    CHECK_OK(rlcc_consensus_counts(prev, cur, 6, 0, 0, counts, 3));
    const int64_t want_counts[6] = {2, 1, 0, 0, 0, 2};
    CHECK(memcmp(counts, want_counts, sizeof counts) == 0);
    float iou[6];
    CHECK_OK(rlcc_consensus(prev, cur, 6, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_NONE, iou, 3));
    /* |prev 0| = 3, |cur 0| = 2, inter 2: 2/3; prev 1 has 2 labelled samples */
    CHECK(iou[0] == 2.0f / 3.0f && iou[1] == 1.0f / 3.0f && iou[5] == 1.0f);
    float chat[6];
    CHECK_OK(rlcc_consensus(prev, cur, 6, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, chat, 3));
    CHECK(fabsf(chat[0] - 2.0f / 3.0f) < 1e-7f && fabsf(chat[1] - 1.0f / 3.0f) < 1e-7f);
    rlcc_csr *sparse = NULL;
    CHECK_OK(rlcc_consensus_csr(prev, cur, 6, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &sparse));
    CHECK_EQ(rlcc_csr_rows(sparse), 2);
    CHECK_EQ(rlcc_csr_cols(sparse), 3);
    CHECK_EQ(rlcc_csr_nnz(sparse), 3);
    /* hard propagation: S = Chat[prev] */
    float s[18];
    CHECK_OK(rlcc_propagate(prev, 6, rlcc_csr_indptr(sparse), rlcc_csr_indices(sparse),
                            rlcc_csr_data(sparse), 2, 3, NULL, 0, 0.0f, 1.0f, NULL, 6, s, 3));
    CHECK(s[0] == rlcc_csr_data(sparse)[0] && s[2] == 0.0f && s[3 * 3 + 2] == 1.0f);
    float t[18];
    CHECK_OK(rlcc_blend(cur, 6, 3, s, 3, 0.9f, NULL, 6, t, 3));
    CHECK(fabsf(t[0] - (0.9f + 0.1f * s[0])) < 1e-7f);
    CHECK(t[15] == 0.0f && t[16] == 0.0f && t[17] == 0.0f); /* cur == -1 */
    rlcc_csr_free(sparse);
}

static void rlcc_refusals_leave_outputs_untouched(void)
{
    const int32_t prev[4] = {0, 1, 1, 0};
    const int32_t bad[4] = {0, -2, 1, 0};
    int64_t counts[4] = {-9, -9, -9, -9};
    CHECK_ERR(rlcc_consensus_counts(prev, bad, 4, 0, 0, counts, 2), RLCC_E_INVALID_ARGUMENT, "below -1");
    CHECK_ERR(rlcc_consensus_counts(prev, prev, 4, 1, 0, counts, 2), RLCC_E_INVALID_ARGUMENT, "class count");
    CHECK_ERR(rlcc_consensus_counts(prev, prev, 4, 0, 0, counts, 1), RLCC_E_INVALID_ARGUMENT, "leading");
    CHECK(counts[0] == -9 && counts[3] == -9);
    float out[4] = {-9, -9, -9, -9};
    CHECK_ERR(rlcc_consensus(prev, prev, 4, 0, 0, 7, RLCC_NORMALIZE_SUM, out, 2), RLCC_E_INVALID_ARGUMENT, "kind");
    CHECK_ERR(rlcc_consensus(prev, prev, 4, 0, 0, RLCC_CONSENSUS_IOU, 9, out, 2), RLCC_E_INVALID_ARGUMENT, "normalize");
    rlcc_csr *none = NULL;
    CHECK_ERR(rlcc_consensus_csr(prev, prev, 4, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SOFTMAX, &none),
              RLCC_E_INVALID_ARGUMENT, "softmax");
    CHECK(none == NULL);
    CHECK_ERR(rlcc_blend(prev, 4, 2, NULL, 0, -0.5f, NULL, 4, out, 2), RLCC_E_INVALID_ARGUMENT, "alpha");
    CHECK_ERR(rlcc_blend(prev, 4, 2, NULL, 0, NAN, NULL, 4, out, 2), RLCC_E_INVALID_ARGUMENT, "alpha");
    CHECK_ERR(rlcc_blend(prev, 4, 2, NULL, 0, 0.5f, NULL, 3, out, 2), RLCC_E_INVALID_ARGUMENT, "n_rows");
    const int64_t rows[1] = {4};
    CHECK_ERR(rlcc_blend(prev, 4, 2, NULL, 0, 0.5f, rows, 1, out, 2), RLCC_E_INVALID_ARGUMENT, "rows");
    CHECK(out[0] == -9 && out[3] == -9);
    const float x[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    const float c[4] = {1, 0, NAN, 1};
    CHECK_ERR(rlcc_class_probabilities(x, 4, 2, 2, c, 2, 2, 30.0f, NULL, 4, out, 2, 0),
              RLCC_E_INVALID_ARGUMENT, "centroids: NaN");
    CHECK_ERR(rlcc_class_probabilities(x, 4, 2, 2, x, 2, 2, -1.0f, NULL, 4, out, 2, 0),
              RLCC_E_INVALID_ARGUMENT, "scale");
    CHECK(out[0] == -9);
    float cents[4] = {-9, -9, -9, -9};
    CHECK_ERR(rlcc_centroids(x, 4, 2, 2, bad, 2, cents, 2), RLCC_E_INVALID_ARGUMENT, "below -1");
    CHECK(cents[0] == -9);
    rlcc_pseudo_options po;
    rlcc_pseudo_options_init(&po, sizeof po);
    po.n_eps = 2;
    int32_t labels[4] = {-9, -9, -9, -9};
    CHECK_ERR(rlcc_pseudo_labels(x, 4, 2, 2, &po, labels, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "n_eps");
    rlcc_pseudo_options_init(&po, sizeof po);
    po.outliers = RLCC_OUTLIERS_KEEP;
    CHECK_ERR(rlcc_pseudo_labels(x, 4, 2, 2, &po, labels, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "singleton");
    rlcc_pseudo_options_init(&po, sizeof po);
    po.eps[2] = 0.95;
    CHECK_ERR(rlcc_pseudo_labels(x, 4, 2, 2, &po, labels, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "cutoff");
    rlcc_pseudo_options_init(&po, sizeof po);
    po.threshold = NAN;
    CHECK_ERR(rlcc_pseudo_labels(x, 4, 2, 2, &po, labels, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "threshold");
    CHECK(labels[0] == -9 && labels[3] == -9);
}

/* One RLCC run at a given thread count: pseudo labels (Jaccard and plain
 * euclidean), class probabilities, propagation, and a refiner over three
 * generations; everything it produced, concatenated as bytes. */
typedef struct run_output {
    int32_t jaccard_labels[N], metric_labels[N], refiner_labels[N];
    float probs[N * N], propagated[N * N], targets[N * N];
} run_output;

static void run_at(int32_t threads, run_output *out, source *src)
{
    memset(out, 0, sizeof *out);
    omp_set_num_threads(threads > 0 ? threads : 2); /* rlcc_propagate uses OpenMP's default */
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = 10;
    p.k2 = 3;
    p.n_threads = threads;
    reset(src, 1);
    int64_t k = 0;
    CHECK_OK(rlcc_pseudo_labels(src->x, N, D, D, &p, out->jaccard_labels, &k, NULL));
    p.metric = RLCC_METRIC_EUCLIDEAN;
    p.eps[0] = 0.5, p.eps[1] = 0.6, p.eps[2] = 0.7;
    CHECK_OK(rlcc_pseudo_labels(src->x, N, D, D, &p, out->metric_labels, NULL, NULL));
    float *cents = calloc((size_t)(k * D), sizeof(float));
    CHECK_OK(rlcc_centroids(src->x, N, D, D, out->jaccard_labels, k, cents, D));
    CHECK_OK(rlcc_class_probabilities(src->x, N, D, D, cents, k, D, 30.0f, NULL, N, out->probs, k,
                                      threads));
    rlcc_csr *chat = NULL;
    CHECK_OK(rlcc_consensus_csr(out->jaccard_labels, out->metric_labels, N, k, 0,
                                RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &chat));
    const int64_t k_cur = rlcc_csr_cols(chat);
    CHECK_OK(rlcc_propagate(out->jaccard_labels, N, rlcc_csr_indptr(chat), rlcc_csr_indices(chat),
                            rlcc_csr_data(chat), k, k_cur, out->probs, k, 0.9f, 0.2f, NULL, N,
                            out->propagated, k_cur));
    rlcc_csr_free(chat);
    free(cents);
    p.metric = RLCC_METRIC_JACCARD;
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, &p, NULL, &r));
    for (int gen = 0; gen < 3; gen++) {
        reset(src, gen);
        CHECK_OK(rlcc_refiner_step(r, features, src, 16, NULL, NULL, NULL, NULL));
    }
    CHECK_OK(rlcc_refiner_labels(r, out->refiner_labels));
    CHECK_OK(rlcc_refiner_targets(r, NULL, N, out->targets, rlcc_refiner_n_classes(r)));
    rlcc_refiner_free(r);
}

static void rlcc_results_do_not_depend_on_threads(void)
{
    source *src = malloc(sizeof *src);
    run_output *single = malloc(sizeof *single), *other = malloc(sizeof *other);
    const int saved = omp_get_max_threads();
    run_at(1, single, src);
    const int32_t counts[] = {2, 3, 0};
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
        run_at(counts[t], other, src);
        CHECK(memcmp(single, other, sizeof *single) == 0);
    }
    omp_set_num_threads(saved);
    free(other);
    free(single);
    free(src);
}

static void layouts_are_pinned(void)
{
    CHECK_EQ(offsetof(rlcc_pseudo_options, metric), 8);
    CHECK_EQ(offsetof(rlcc_pseudo_options, cutoff), 48);
    CHECK_EQ(offsetof(rlcc_pseudo_options, eps), 56);
    CHECK_EQ(offsetof(rlcc_pseudo_options, threshold), 80);
    CHECK_EQ(offsetof(rlcc_pseudo_options, min_samples), 88);
    CHECK_EQ(offsetof(rlcc_pseudo_options, max_bytes), 96);
    /* 1.3 appended the caller's kNN lists; the 1.2 prefix above is unchanged */
    CHECK_EQ(offsetof(rlcc_pseudo_options, knn), 104);
    /* 1.4 appended the pseudo-labeler */
    CHECK_EQ(offsetof(rlcc_pseudo_options, method), 112);
    CHECK_EQ(offsetof(rlcc_pseudo_options, reserved2), 116);
    CHECK_EQ(sizeof(rlcc_pseudo_options), 120);
    /* the 1.4 options structs */
    CHECK_EQ(offsetof(rlcc_centroid_options, max_bytes), 16);
    CHECK_EQ(sizeof(rlcc_centroid_options), 24);
    CHECK_EQ(offsetof(rlcc_consensus_options, kind), 8);
    CHECK_EQ(offsetof(rlcc_consensus_options, max_bytes), 24);
    CHECK_EQ(sizeof(rlcc_consensus_options), 32);
    CHECK_EQ(offsetof(rlcc_probability_options, scale), 8);
    CHECK_EQ(sizeof(rlcc_probability_options), 24);
    CHECK_EQ(offsetof(rlcc_propagate_options, w), 8);
    CHECK_EQ(offsetof(rlcc_propagate_options, max_bytes), 24);
    CHECK_EQ(sizeof(rlcc_propagate_options), 32);
    CHECK_EQ(offsetof(rlcc_blend_options, alpha), 8);
    CHECK_EQ(sizeof(rlcc_blend_options), 24);
    CHECK_EQ(offsetof(rlcc_step_options, batch), 8);
    CHECK_EQ(offsetof(rlcc_step_options, logits), 16);
    CHECK_EQ(offsetof(rlcc_step_options, borrow), 48);
    CHECK_EQ(offsetof(rlcc_step_options, max_bytes), 56);
    CHECK_EQ(sizeof(rlcc_step_options), 64);
    CHECK_EQ(offsetof(rlcc_targets_options, max_bytes), 16);
    CHECK_EQ(sizeof(rlcc_targets_options), 24);
    CHECK_EQ(offsetof(rlcc_refiner_options, alpha), 8);
    CHECK_EQ(offsetof(rlcc_refiner_options, scale), 20);
    CHECK_EQ(sizeof(rlcc_refiner_options), 24);
    rlcc_pseudo_options po;
    CHECK_OK(rlcc_pseudo_options_init(&po, sizeof po));
    CHECK(po.eps[0] == 0.58 && po.eps[1] == 0.60 && po.eps[2] == 0.62 && po.threshold < 0);
    rlcc_refiner_options ro;
    CHECK_OK(rlcc_refiner_options_init(&ro, sizeof ro));
    CHECK(ro.alpha == 0.9f && ro.w == 0.9f && ro.beta == 0.0f && ro.scale == 30.0f);
}

const test_case rlcc_tests[] = {
    {"refiner_steps_and_targets", refiner_steps_and_targets},
    {"refiner_failures_leave_it_unchanged", refiner_failures_leave_it_unchanged},
    {"consensus_propagate_blend_by_hand", consensus_propagate_blend_by_hand},
    {"rlcc_refusals_leave_outputs_untouched", rlcc_refusals_leave_outputs_untouched},
    {"rlcc_results_do_not_depend_on_threads", rlcc_results_do_not_depend_on_threads},
    {"layouts_are_pinned", layouts_are_pinned},
    {NULL, NULL},
};
