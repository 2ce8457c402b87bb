/* test_rlcc.c - RLCC from C: the refiner's callbacks failing or canceling
 * at every stage (the refiner stays as it was; ASan checks nothing leaks),
 * small exact consensus / propagation / blend cases, refusals with outputs
 * untouched, and the 1.2 struct layouts. Oracle tests: tests/python. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

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
    float out[8] = {-9, -9, -9, -9, -9, -9, -9, -9}; /* 4 x 2, the largest output asked for */
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
    /* 1.7 appended the options of InfoMap and k-means */
    CHECK_EQ(offsetof(rlcc_pseudo_options, infomap_k), 120);
    CHECK_EQ(offsetof(rlcc_pseudo_options, infomap_min_sim), 128);
    CHECK_EQ(offsetof(rlcc_pseudo_options, infomap_seed), 136);
    CHECK_EQ(offsetof(rlcc_pseudo_options, infomap_trials), 144);
    CHECK_EQ(offsetof(rlcc_pseudo_options, kmeans_max_iter), 148);
    CHECK_EQ(offsetof(rlcc_pseudo_options, kmeans_k), 152);
    CHECK_EQ(offsetof(rlcc_pseudo_options, kmeans_tol), 160);
    CHECK_EQ(offsetof(rlcc_pseudo_options, kmeans_seed), 168);
    CHECK_EQ(offsetof(rlcc_pseudo_options, kmeans_max_points), 176);
    CHECK_EQ(offsetof(rlcc_pseudo_options, kmeans_init), 184);
    CHECK_EQ(sizeof(rlcc_pseudo_options), 192);
    /* the 1.4 options structs (rlcc_centroid_options: 1.7 appended norm) */
    CHECK_EQ(offsetof(rlcc_centroid_options, max_bytes), 16);
    CHECK_EQ(offsetof(rlcc_centroid_options, norm), 24);
    CHECK_EQ(sizeof(rlcc_centroid_options), 32);
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

/* ---- 1.4: the refiner's memory, its matrix step, the _opts twins ------------ */

/* Features per generation, each in its own buffer, so that a borrowed matrix
 * stays alive and unchanged until the next step (rlcc_step_options.borrow). */
typedef struct generations {
    float x[3][N * D];
} generations;

static generations *make_generations(void)
{
    generations *g = malloc(sizeof *g);
    for (int t = 0; t < 3; t++)
        make_features(g->x[t], t);
    return g;
}

/* The same with every 11th row (from row 5) pointing its own way, far from
 * every cluster: noise for DBSCAN, -1 under RLCC_OUTLIERS_KEEP. */
static generations *make_generations_with_outliers(void)
{
    generations *g = make_generations();
    uint64_t s = 7;
    for (int t = 0; t < 3; t++)
        for (int i = 5; i < N; i += 11) {
            double sum = 0.0;
            for (int k = 0; k < D; k++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                const double v = (double)(s >> 11) * 0x1p-53 - 0.5;
                g->x[t][i * D + k] = (float)v;
                sum += v * v;
            }
            for (int k = 0; k < D; k++)
                g->x[t][i * D + k] = (float)(g->x[t][i * D + k] / sqrt(sum));
        }
    return g;
}

/* A features callback over one matrix of the caller's (n x D, dense). */
static int64_t matrix_rows(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    const float *x = data;
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, x + (start + i) * D, sizeof(float) * D);
    return count;
}

/* Samples labelled (>= 0) in both generations: the consensus matrix's
 * entries as the refiner allocates them (m in rlcc.h's formula). */
static int64_t labelled_in_both(const int32_t *prev, const int32_t *cur, int64_t n)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        m += prev[i] >= 0 && cur[i] >= 0;
    return m;
}

/* What rlcc.h (at rlcc_refiner_new) says a refiner holds after `done`
 * generations: K and K' the class counts of the latest and the one before,
 * m the consensus entries; logits: the step had a logits callback; copied:
 * the features were copied for the targets (beta < 1, no logits, not
 * borrowed); k1_lists: k1 of lists set for the next step, or 0. */
static int64_t formula_bytes(int64_t n, int64_t d, int64_t done, int64_t K, int64_t Kp, int64_t m,
                             int logits, int copied, int64_t k1_lists)
{
    int64_t bytes = 8 * n * k1_lists;
    if (done == 0)
        return bytes;
    if (done == 1)
        return bytes + 4 * n + 4 * d * K;
    bytes += 8 * n + 4 * d * (K + Kp) + 8 * (Kp + 1) + 8 * m;
    if (logits)
        bytes += 4 * n * Kp;
    if (copied)
        bytes += 4 * n * d;
    return bytes;
}

enum { STEP_CALLBACK, STEP_OPTS, STEP_COPY, STEP_BORROW };

/* One step of the given kind over x (N x D, row stride ldx). */
static int step_by(rlcc_refiner *r, int kind, const float *x, int64_t ldx, rlcc_logits_fn lf,
                   void *ldata)
{
    rlcc_step_options so;
    rlcc_step_options_init(&so, sizeof so);
    so.batch = 10;
    so.logits = lf;
    so.logits_data = ldata;
    switch (kind) {
    case STEP_CALLBACK:
        return rlcc_refiner_step(r, matrix_rows, (void *)x, 10, lf, ldata, NULL, NULL);
    case STEP_OPTS:
        return rlcc_refiner_step_opts(r, matrix_rows, (void *)x, &so);
    default:
        so.borrow = kind == STEP_BORROW;
        return rlcc_refiner_step_matrix(r, x, ldx, &so);
    }
}

typedef struct formula_case {
    const char *what;
    int kind;      /* STEP_* */
    float beta;
    int logits;    /* a logits callback every step */
    int set_knn;   /* rlcc_refiner_set_knn before every step */
    int keep;      /* RLCC_OUTLIERS_KEEP (reliability off): m < n */
} formula_case;

static void refiner_bytes_follow_the_formula(void)
{
    const formula_case cases[] = {
        {"callback step, beta 0: the features kept", STEP_CALLBACK, 0.0f, 0, 0, 0},
        {"step_matrix, copy", STEP_COPY, 0.0f, 0, 0, 0},
        {"step_matrix, borrow: no n x d term", STEP_BORROW, 0.0f, 0, 0, 0},
        {"beta 1: no features", STEP_CALLBACK, 1.0f, 0, 0, 0},
        {"beta 1, step_matrix copy: no features", STEP_COPY, 1.0f, 0, 0, 0},
        {"logits callback: 4 n K', no features", STEP_OPTS, 0.0f, 1, 0, 0},
        {"set_knn: 8 n k1 until the step", STEP_COPY, 0.0f, 0, 1, 0},
        {"outliers kept: m below n", STEP_COPY, 0.0f, 0, 0, 1},
    };
    generations *g = make_generations(), *noisy = make_generations_with_outliers();
    source *src = malloc(sizeof *src);
    reset(src, 0);
    int64_t *lists = malloc(sizeof(int64_t) * N * 30);
    CHECK_EQ(rlcc_refiner_bytes(NULL), 0);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const formula_case *fc = &cases[c];
        rlcc_pseudo_options p;
        rlcc_pseudo_options_init(&p, sizeof p);
        if (fc->keep) {
            p.outliers = RLCC_OUTLIERS_KEEP;
            p.reliability = 0;
        }
        rlcc_refiner_options o;
        rlcc_refiner_options_init(&o, sizeof o);
        o.beta = fc->beta;
        rlcc_refiner *r = NULL;
        CHECK_OK(rlcc_refiner_new(N, D, &p, &o, &r));
        if (r == NULL)
            continue;
        CHECK_EQ(rlcc_refiner_bytes(r), 0);
        int32_t prev[N], cur[N];
        int64_t k_prev = 0;
        int noise_seen = 0;
        generations *data = fc->keep ? noisy : g;
        for (int t = 0; t < 3; t++) {
            const int64_t before = rlcc_refiner_bytes(r);
            if (fc->set_knn) {
                CHECK_OK(rlcc_knn(data->x[t], N, D, D, 30, NULL, lists, NULL));
                CHECK_OK(rlcc_refiner_set_knn(r, lists));
                CHECK_EQ(rlcc_refiner_bytes(r), before + 8 * N * 30);
            }
            CHECK_OK(step_by(r, fc->kind, data->x[t], D, fc->logits ? logits : NULL, src));
            const int64_t k = rlcc_refiner_n_classes(r);
            CHECK_OK(rlcc_refiner_labels(r, cur));
            for (int i = 0; i < N; i++)
                noise_seen |= cur[i] < 0;
            const int64_t m = t > 0 ? labelled_in_both(prev, cur, N) : 0;
            const int copied = t > 0 && fc->beta < 1.0f && !fc->logits && fc->kind != STEP_BORROW;
            const int64_t want = formula_bytes(N, D, t + 1, k, k_prev, m, t > 0 && fc->logits,
                                               copied, 0);
            const int64_t got = rlcc_refiner_bytes(r);
            if (got != want)
                fprintf(stderr, "  %s, generation %d: %lld bytes, the formula says %lld\n",
                        fc->what, t, (long long)got, (long long)want);
            CHECK_EQ(got, want);
            memcpy(prev, cur, sizeof cur);
            k_prev = k;
        }
        if (fc->keep)
            CHECK(noise_seen); /* the case really has m < n */
        rlcc_refiner_free(r);
    }
    free(lists);
    free(src);
    free(noisy);
    free(g);
}

/* Everything a refiner shows after a generation, as bytes. */
typedef struct refiner_view {
    int64_t generation, k, bytes;
    double threshold;
    int32_t labels[N];
    float centroids[N * D];
    float targets[N * N];  /* every row, ld = k */
    float batch[5 * N];    /* view_rows */
} refiner_view;

/* A batch with a repeat, in no order. */
static const int64_t view_rows[5] = {7, 0, N - 1, 7, 40};

static void view_of(const rlcc_refiner *r, refiner_view *v)
{
    memset(v, 0, sizeof *v);
    v->generation = rlcc_refiner_generation(r);
    v->k = rlcc_refiner_n_classes(r);
    v->bytes = rlcc_refiner_bytes(r);
    v->threshold = rlcc_refiner_threshold(r);
    CHECK_OK(rlcc_refiner_labels(r, v->labels));
    CHECK_OK(rlcc_refiner_centroids(r, v->centroids, D));
    CHECK_OK(rlcc_refiner_targets(r, NULL, N, v->targets, v->k));
    CHECK_OK(rlcc_refiner_targets(r, view_rows, 5, v->batch, v->k));
}

/* The callback step of 1.2, its _opts twin, the matrix step copying and
 * borrowing (and over a padded matrix): the same generations bit for bit. */
static void matrix_steps_match_the_callback_step(void)
{
    generations *g = make_generations();
    enum { WAYS = 6 };
    const int kinds[WAYS] = {STEP_CALLBACK, STEP_OPTS, STEP_COPY, STEP_BORROW, STEP_COPY, STEP_BORROW};
    const int64_t pad[WAYS] = {0, 0, 0, 0, 3, 3};
    float *padded[3];
    for (int t = 0; t < 3; t++) {
        padded[t] = malloc(sizeof(float) * N * (D + 3));
        for (int i = 0; i < N; i++)
            for (int j = 0; j < D + 3; j++)
                padded[t][i * (D + 3) + j] = j < D ? g->x[t][i * D + j] : NAN; /* never read */
    }
    rlcc_refiner *r[WAYS];
    for (int w = 0; w < WAYS; w++)
        CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &r[w]));
    refiner_view *first = malloc(sizeof *first), *other = malloc(sizeof *other);
    for (int t = 0; t < 3; t++) {
        for (int w = 0; w < WAYS; w++) {
            const float *x = pad[w] ? padded[t] : g->x[t];
            CHECK_OK(step_by(r[w], kinds[w], x, D + pad[w], NULL, NULL));
        }
        view_of(r[0], first);
        CHECK_EQ(first->generation, t + 1);
        for (int w = 1; w < WAYS; w++) {
            view_of(r[w], other);
            /* the bytes held differ (a borrow keeps no copy); the rest does not */
            other->bytes = first->bytes;
            if (memcmp(first, other, sizeof *first) != 0)
                fprintf(stderr, "  way %d differs from the callback step at generation %d\n", w, t);
            CHECK(memcmp(first, other, sizeof *first) == 0);
        }
    }
    for (int w = 0; w < WAYS; w++)
        rlcc_refiner_free(r[w]);
    for (int t = 0; t < 3; t++)
        free(padded[t]);
    free(other);
    free(first);
    free(g);
}

/* With borrow the refiner keeps a pointer to the caller's matrix, no copy:
 * the targets read it after the step. */
static void a_borrowed_matrix_is_read_after_the_step(void)
{
    generations *g = make_generations();
    rlcc_refiner *borrowed = NULL, *copied = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &borrowed));
    CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &copied));
    float *x = malloc(sizeof g->x[2]);
    for (int t = 0; t < 2; t++) {
        CHECK_OK(step_by(borrowed, STEP_BORROW, g->x[t], D, NULL, NULL));
        CHECK_OK(step_by(copied, STEP_COPY, g->x[t], D, NULL, NULL));
    }
    memcpy(x, g->x[2], sizeof g->x[2]);
    CHECK_OK(step_by(borrowed, STEP_BORROW, x, D, NULL, NULL));
    CHECK_OK(step_by(copied, STEP_COPY, x, D, NULL, NULL));
    const int64_t k = rlcc_refiner_n_classes(borrowed);
    const int64_t rows[4] = {3, 50, 0, N - 1};
    float *before_b = malloc(sizeof(float) * 4 * (size_t)k), *after_b = malloc(sizeof(float) * 4 * (size_t)k);
    float *before_c = malloc(sizeof(float) * 4 * (size_t)k), *after_c = malloc(sizeof(float) * 4 * (size_t)k);
    CHECK_OK(rlcc_refiner_targets(borrowed, rows, 4, before_b, k));
    CHECK_OK(rlcc_refiner_targets(copied, rows, 4, before_c, k));
    CHECK(memcmp(before_b, before_c, sizeof(float) * 4 * (size_t)k) == 0);
    /* CONTRACT VIOLATION, on purpose: rlcc_step_options.borrow says the caller
     * keeps the matrix alive and unchanged until the next step succeeds or the
     * refiner is freed. Changing it here is exactly what the header forbids;
     * it is done only to prove that the refiner took no copy (its targets
     * follow the change) while the copying refiner's do not. */
    for (int i = 0; i < N; i++)
        memcpy(x + i * D, g->x[0] + ((i + 17) % N) * D, sizeof(float) * D);
    CHECK_OK(rlcc_refiner_targets(borrowed, rows, 4, after_b, k));
    CHECK_OK(rlcc_refiner_targets(copied, rows, 4, after_c, k));
    CHECK(memcmp(before_b, after_b, sizeof(float) * 4 * (size_t)k) != 0);
    CHECK(memcmp(before_c, after_c, sizeof(float) * 4 * (size_t)k) == 0);
    /* and the borrowing refiner holds no n x d copy */
    CHECK_EQ(rlcc_refiner_bytes(copied) - rlcc_refiner_bytes(borrowed), 4 * N * D);
    free(after_c);
    free(before_c);
    free(after_b);
    free(before_b);
    rlcc_refiner_free(copied);
    rlcc_refiner_free(borrowed);
    free(x);
    free(g);
}

static int same_csr(const rlcc_csr *a, const rlcc_csr *b)
{
    if (a == NULL || b == NULL || rlcc_csr_rows(a) != rlcc_csr_rows(b) ||
        rlcc_csr_cols(a) != rlcc_csr_cols(b) || rlcc_csr_nnz(a) != rlcc_csr_nnz(b))
        return 0;
    const size_t nnz = (size_t)rlcc_csr_nnz(a);
    return memcmp(rlcc_csr_indptr(a), rlcc_csr_indptr(b), sizeof(int64_t) * (size_t)(rlcc_csr_rows(a) + 1)) == 0 &&
           memcmp(rlcc_csr_indices(a), rlcc_csr_indices(b), sizeof(int32_t) * nnz) == 0 &&
           memcmp(rlcc_csr_data(a), rlcc_csr_data(b), sizeof(float) * nnz) == 0;
}

/* Every _opts twin gives the 1.2 function's bytes, at 1, 2 and 3 threads. */
static void opts_twins_match_the_1_2_functions(void)
{
    generations *g = make_generations();
    const float *x = g->x[1];
    int32_t prev[N], cur[N];
    int64_t kp = 0, kc = 0;
    CHECK_OK(rlcc_pseudo_labels(g->x[0], N, D, D, NULL, prev, &kp, NULL));
    rlcc_pseudo_options keep;
    rlcc_pseudo_options_init(&keep, sizeof keep);
    keep.outliers = RLCC_OUTLIERS_KEEP; /* some -1 in cur */
    keep.reliability = 0;
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, &keep, cur, &kc, NULL));
    if (kp < 1 || kc < 1) {
        free(g);
        return;
    }
    const size_t cp = (size_t)(kp * D), kk = (size_t)(kp * kc);
    float *c12 = malloc(sizeof(float) * cp), *c14 = malloc(sizeof(float) * cp);
    int64_t *n12 = malloc(sizeof(int64_t) * kk), *n14 = malloc(sizeof(int64_t) * kk);
    float *d12 = malloc(sizeof(float) * kk), *d14 = malloc(sizeof(float) * kk);
    float *p12 = malloc(sizeof(float) * N * (size_t)kp), *p14 = malloc(sizeof(float) * N * (size_t)kp);
    float *s12 = malloc(sizeof(float) * N * (size_t)kc), *s14 = malloc(sizeof(float) * N * (size_t)kc);
    const int64_t rows[6] = {9, 0, N - 1, 9, 33, 2};
    CHECK_OK(rlcc_centroids(g->x[0], N, D, D, prev, kp, c12, D));
    for (int32_t threads = 1; threads <= 3; threads++) {
        rlcc_centroid_options co;
        rlcc_centroid_options_init(&co, sizeof co);
        co.n_threads = threads;
        memset(c14, 0xA5, sizeof(float) * cp);
        CHECK_OK(rlcc_centroids_opts(g->x[0], N, D, D, prev, kp, &co, c14, D));
        CHECK(memcmp(c12, c14, sizeof(float) * cp) == 0);

        rlcc_consensus_options so;
        rlcc_consensus_options_init(&so, sizeof so);
        so.n_threads = threads;
        CHECK_OK(rlcc_consensus_counts(prev, cur, N, kp, kc, n12, kc));
        CHECK_OK(rlcc_consensus_counts_opts(prev, cur, N, kp, kc, &so, n14, kc));
        CHECK(memcmp(n12, n14, sizeof(int64_t) * kk) == 0);
        for (int32_t kind = RLCC_CONSENSUS_IOU; kind <= RLCC_CONSENSUS_COUNT; kind++)
            for (int32_t norm = RLCC_NORMALIZE_NONE; norm <= RLCC_NORMALIZE_SOFTMAX; norm++) {
                so.kind = kind;
                so.normalize = norm;
                CHECK_OK(rlcc_consensus(prev, cur, N, kp, kc, kind, norm, d12, kc));
                memset(d14, 0xA5, sizeof(float) * kk);
                CHECK_OK(rlcc_consensus_opts(prev, cur, N, kp, kc, &so, d14, kc));
                CHECK(memcmp(d12, d14, sizeof(float) * kk) == 0);
                if (norm == RLCC_NORMALIZE_SOFTMAX)
                    continue;
                rlcc_csr *a = NULL, *b = NULL;
                CHECK_OK(rlcc_consensus_csr(prev, cur, N, kp, kc, kind, norm, &a));
                CHECK_OK(rlcc_consensus_csr_opts(prev, cur, N, kp, kc, &so, &b));
                CHECK(same_csr(a, b));
                rlcc_csr_free(a);
                rlcc_csr_free(b);
            }

        rlcc_probability_options po;
        rlcc_probability_options_init(&po, sizeof po);
        po.n_threads = threads;
        po.scale = 25.0f;
        for (int batch = 0; batch < 2; batch++) {
            const int64_t *r = batch ? rows : NULL;
            const int64_t nr = batch ? 6 : N;
            CHECK_OK(rlcc_class_probabilities(x, N, D, D, c12, kp, D, 25.0f, r, nr, p12, kp, 0));
            memset(p14, 0xA5, sizeof(float) * N * (size_t)kp);
            CHECK_OK(rlcc_class_probabilities_opts(x, N, D, D, c12, kp, D, r, nr, &po, p14, kp));
            CHECK(memcmp(p12, p14, sizeof(float) * (size_t)(nr * kp)) == 0);
        }

        rlcc_csr *chat = NULL;
        CHECK_OK(rlcc_consensus_csr(prev, cur, N, kp, kc, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &chat));
        CHECK_OK(rlcc_class_probabilities(x, N, D, D, c12, kp, D, 30.0f, NULL, N, p12, kp, 0));
        const float betas[3] = {0.0f, 0.3f, 1.0f};
        for (int b = 0; b < 3; b++)
            for (int batch = 0; batch < 2; batch++) {
                const int64_t *r = batch ? rows : NULL;
                const int64_t nr = batch ? 6 : N;
                rlcc_propagate_options pr;
                rlcc_propagate_options_init(&pr, sizeof pr);
                pr.n_threads = threads;
                pr.w = 0.7f;
                pr.beta = betas[b];
                CHECK_OK(rlcc_propagate(prev, N, rlcc_csr_indptr(chat), rlcc_csr_indices(chat),
                                        rlcc_csr_data(chat), kp, kc, p12, kp, 0.7f, betas[b], r, nr,
                                        s12, kc));
                memset(s14, 0xA5, sizeof(float) * N * (size_t)kc);
                CHECK_OK(rlcc_propagate_opts(prev, N, rlcc_csr_indptr(chat), rlcc_csr_indices(chat),
                                             rlcc_csr_data(chat), kp, kc, p12, kp, r, nr, &pr, s14, kc));
                CHECK(memcmp(s12, s14, sizeof(float) * (size_t)(nr * kc)) == 0);

                rlcc_blend_options bo;
                rlcc_blend_options_init(&bo, sizeof bo);
                bo.n_threads = threads;
                bo.alpha = 0.8f;
                float *t12 = malloc(sizeof(float) * N * (size_t)kc), *t14 = malloc(sizeof(float) * N * (size_t)kc);
                CHECK_OK(rlcc_blend(cur, N, kc, s12, kc, 0.8f, r, nr, t12, kc));
                CHECK_OK(rlcc_blend_opts(cur, N, kc, s12, kc, r, nr, &bo, t14, kc));
                CHECK(memcmp(t12, t14, sizeof(float) * (size_t)(nr * kc)) == 0);
                CHECK_OK(rlcc_blend(cur, N, kc, NULL, 0, 1.0f, r, nr, t12, kc));
                bo.alpha = 1.0f;
                CHECK_OK(rlcc_blend_opts(cur, N, kc, NULL, 0, r, nr, &bo, t14, kc));
                CHECK(memcmp(t12, t14, sizeof(float) * (size_t)(nr * kc)) == 0);
                /* in place: s and out the same buffer */
                memcpy(t14, s12, sizeof(float) * (size_t)(nr * kc));
                bo.alpha = 0.8f;
                CHECK_OK(rlcc_blend(cur, N, kc, s12, kc, 0.8f, r, nr, t12, kc));
                CHECK_OK(rlcc_blend_opts(cur, N, kc, t14, kc, r, nr, &bo, t14, kc));
                CHECK(memcmp(t12, t14, sizeof(float) * (size_t)(nr * kc)) == 0);
                free(t14);
                free(t12);
            }
        rlcc_csr_free(chat);
    }

    /* the refiner: rlcc_refiner_step and _targets against step_opts and
     * targets_opts at 1, 2 and 3 threads */
    rlcc_refiner *ref = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &ref));
    rlcc_refiner *tw[3] = {NULL, NULL, NULL};
    for (int w = 0; w < 3; w++)
        CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &tw[w]));
    refiner_view *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    for (int t = 0; t < 3; t++) {
        CHECK_OK(rlcc_refiner_step(ref, matrix_rows, g->x[t], 10, NULL, NULL, NULL, NULL));
        view_of(ref, a);
        for (int w = 0; w < 3; w++) {
            rlcc_step_options so;
            rlcc_step_options_init(&so, sizeof so);
            so.batch = 10;
            so.n_threads = w + 1;
            CHECK_OK(rlcc_refiner_step_opts(tw[w], matrix_rows, g->x[t], &so));
            view_of(tw[w], b);
            CHECK(memcmp(a, b, sizeof *a) == 0);
            rlcc_targets_options to;
            rlcc_targets_options_init(&to, sizeof to);
            to.n_threads = w + 1;
            memset(b->targets, 0xA5, sizeof b->targets);
            CHECK_OK(rlcc_refiner_targets_opts(tw[w], NULL, N, &to, b->targets, a->k));
            memset(b->batch, 0xA5, sizeof b->batch);
            CHECK_OK(rlcc_refiner_targets_opts(tw[w], view_rows, 5, &to, b->batch, a->k));
            CHECK(memcmp(a->targets, b->targets, sizeof(float) * N * (size_t)a->k) == 0);
            CHECK(memcmp(a->batch, b->batch, sizeof(float) * 5 * (size_t)a->k) == 0);
        }
    }
    for (int w = 0; w < 3; w++)
        rlcc_refiner_free(tw[w]);
    rlcc_refiner_free(ref);
    free(b);
    free(a);
    free(s14);
    free(s12);
    free(p14);
    free(p12);
    free(d14);
    free(d12);
    free(n14);
    free(n12);
    free(c14);
    free(c12);
    free(g);
}

/* Every field documented "reserved, must be 0" is refused when it is not,
 * naming the field, with the outputs untouched. */
static void reserved_fields_are_refused(void)
{
    generations *g = make_generations();
    const float *x = g->x[0];
    const int32_t values[2] = {1, INT32_MIN};
    void *const sentinel = (void *)g;
    int32_t labels[N], cur[N];
    int64_t kp = 0;
    CHECK_OK(rlcc_pseudo_labels(x, N, D, D, NULL, labels, &kp, NULL));
    CHECK_OK(rlcc_pseudo_labels(g->x[1], N, D, D, NULL, cur, NULL, NULL));
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &r));
    CHECK_OK(rlcc_refiner_step_matrix(r, x, D, NULL));
    CHECK_OK(rlcc_refiner_step_matrix(r, g->x[1], D, NULL));
    const int64_t k = rlcc_refiner_n_classes(r);
    float *out = malloc(sizeof(float) * N * N);
    int64_t *counts = malloc(sizeof(int64_t) * N * N);
    for (int v = 0; v < 2; v++) {
        const int32_t bad = values[v];
        rlcc_knn_options ko;
        rlcc_knn_options_init(&ko, sizeof ko);
        ko.reserved = bad;
        int64_t idx[N * 4];
        idx[0] = idx[N * 4 - 1] = -9;
        CHECK_ERR(rlcc_knn(x, N, D, D, 4, &ko, idx, NULL), RLCC_E_INVALID_ARGUMENT, "options.reserved");
        CHECK(idx[0] == -9 && idx[N * 4 - 1] == -9);
        rlcc_knn_state *state = sentinel;
        CHECK_ERR(rlcc_knn_state_new(N, 0, D, 4, &ko, &state), RLCC_E_INVALID_ARGUMENT, "options.reserved");
        CHECK(state == sentinel);

        rlcc_pseudo_options po;
        rlcc_pseudo_options_init(&po, sizeof po);
        po.reserved = bad;
        int32_t untouched[N];
        for (int i = 0; i < N; i++)
            untouched[i] = -9;
        CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &po, untouched, NULL, NULL), RLCC_E_INVALID_ARGUMENT,
                  "options.reserved:");
        rlcc_refiner *none = sentinel;
        CHECK_ERR(rlcc_refiner_new(N, D, &po, NULL, &none), RLCC_E_INVALID_ARGUMENT, "options.reserved:");
        CHECK(none == sentinel);
        rlcc_pseudo_options_init(&po, sizeof po);
        po.reserved2 = bad;
        CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &po, untouched, NULL, NULL), RLCC_E_INVALID_ARGUMENT,
                  "options.reserved2");
        CHECK_ERR(rlcc_refiner_new(N, D, &po, NULL, &none), RLCC_E_INVALID_ARGUMENT, "options.reserved2");
        CHECK(none == sentinel);
        CHECK(untouched[0] == -9 && untouched[N - 1] == -9);

        rlcc_centroid_options co;
        rlcc_centroid_options_init(&co, sizeof co);
        co.reserved = bad;
        out[0] = -9.0f;
        CHECK_ERR(rlcc_centroids_opts(x, N, D, D, labels, kp, &co, out, D), RLCC_E_INVALID_ARGUMENT,
                  "options.reserved");
        CHECK(out[0] == -9.0f);

        rlcc_consensus_options so;
        rlcc_consensus_options_init(&so, sizeof so);
        so.reserved = bad;
        counts[0] = -9;
        CHECK_ERR(rlcc_consensus_counts_opts(labels, cur, N, 0, 0, &so, counts, N), RLCC_E_INVALID_ARGUMENT,
                  "options.reserved");
        CHECK(counts[0] == -9);
        CHECK_ERR(rlcc_consensus_opts(labels, cur, N, 0, 0, &so, out, N), RLCC_E_INVALID_ARGUMENT,
                  "options.reserved");
        CHECK(out[0] == -9.0f);
        rlcc_csr *csr = sentinel;
        CHECK_ERR(rlcc_consensus_csr_opts(labels, cur, N, 0, 0, &so, &csr), RLCC_E_INVALID_ARGUMENT,
                  "options.reserved");
        CHECK(csr == sentinel);

        rlcc_propagate_options pr;
        rlcc_propagate_options_init(&pr, sizeof pr);
        pr.reserved = bad;
        pr.beta = 1.0f;
        const int64_t indptr[3] = {0, 1, 2};
        const int32_t indices[2] = {0, 1};
        const float data[2] = {1.0f, 1.0f};
        const int32_t two[4] = {0, 1, 1, 0};
        CHECK_ERR(rlcc_propagate_opts(two, 4, indptr, indices, data, 2, 2, NULL, 0, NULL, 4, &pr, out, 2),
                  RLCC_E_INVALID_ARGUMENT, "options.reserved");
        CHECK(out[0] == -9.0f);

        rlcc_targets_options to;
        rlcc_targets_options_init(&to, sizeof to);
        to.reserved = bad;
        CHECK_ERR(rlcc_refiner_targets_opts(r, NULL, N, &to, out, k), RLCC_E_INVALID_ARGUMENT,
                  "options.reserved");
        CHECK(out[0] == -9.0f);
    }
    /* and 0 is accepted everywhere */
    rlcc_targets_options to;
    rlcc_targets_options_init(&to, sizeof to);
    CHECK_OK(rlcc_refiner_targets_opts(r, NULL, N, &to, out, k));
    free(counts);
    free(out);
    rlcc_refiner_free(r);
    free(g);
}

/* RLCC_PSEUDO_DBSCAN is the only pseudo-labeler of 1.4: any other method is
 * refused, naming the field, by the call and by the refiner. */
static void unknown_pseudo_methods_are_refused(void)
{
    float x[N * D];
    make_features(x, 0);
    const int32_t methods[3] = {3, -1, INT32_MAX}; /* 1.7 has 0, 1 and 2 */
    for (int m = 0; m < 3; m++) {
        rlcc_pseudo_options po;
        rlcc_pseudo_options_init(&po, sizeof po);
        CHECK_EQ(po.method, RLCC_PSEUDO_DBSCAN);
        po.method = methods[m];
        int32_t labels[N];
        labels[0] = labels[N - 1] = -9;
        CHECK_ERR(rlcc_pseudo_labels(x, N, D, D, &po, labels, NULL, NULL), RLCC_E_INVALID_ARGUMENT,
                  "method");
        CHECK(labels[0] == -9 && labels[N - 1] == -9);
        rlcc_refiner *r = (rlcc_refiner *)(void *)&po;
        CHECK_ERR(rlcc_refiner_new(N, D, &po, NULL, &r), RLCC_E_INVALID_ARGUMENT, "method");
        CHECK(r == (rlcc_refiner *)(void *)&po);
    }
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A batch's targets cost O(batch x K), not O(n): three rows of an n = 5000
 * refiner take a small fraction of what one full-n call takes, measured
 * side by side (a loose ratio, not an absolute time: sanitizers and loaded
 * machines slow both alike). An implementation that rescanned the n labels
 * with the consensus, or computed the probabilities of every row, would
 * not come near it. */
static void batch_targets_touch_only_their_rows(void)
{
    enum { BIG_N = 5000, IDS = 1000, BIG_D = 32 };
    float *x[3];
    uint64_t s = 4242;
    float *centre = malloc(sizeof(float) * IDS * BIG_D);
    for (int64_t e = 0; e < (int64_t)IDS * BIG_D; e++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        centre[e] = (float)((double)(s >> 11) * 0x1p-53 - 0.5);
    }
    for (int t = 0; t < 3; t++) {
        x[t] = malloc(sizeof(float) * BIG_N * BIG_D);
        for (int64_t i = 0; i < BIG_N; i++) {
            double sum = 0.0;
            for (int64_t j = 0; j < BIG_D; j++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                const double v = centre[(i % IDS) * BIG_D + j] +
                                 0.02 * ((double)(s >> 11) * 0x1p-53 - 0.5);
                x[t][i * BIG_D + j] = (float)v;
                sum += v * v;
            }
            for (int64_t j = 0; j < BIG_D; j++)
                x[t][i * BIG_D + j] = (float)(x[t][i * BIG_D + j] / sqrt(sum));
        }
    }
    rlcc_pseudo_options po;
    rlcc_pseudo_options_init(&po, sizeof po);
    po.metric = RLCC_METRIC_EUCLIDEAN;
    po.eps[0] = 0.25, po.eps[1] = 0.3, po.eps[2] = 0.35;
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(BIG_N, BIG_D, &po, NULL, &r));
    rlcc_step_options borrow;
    rlcc_step_options_init(&borrow, sizeof borrow);
    borrow.borrow = 1;
    for (int t = 0; t < 3; t++)
        CHECK_OK(rlcc_refiner_step_matrix(r, x[t], BIG_D, &borrow));
    const int64_t k = rlcc_refiner_n_classes(r);
    CHECK(k > 100); /* the full call is n x K work */
    float *all = malloc(sizeof(float) * BIG_N * (size_t)k);
    float batch[3 * 2000];
    CHECK(k <= 2000);
    const int64_t rows[3] = {BIG_N - 1, 0, BIG_N / 2};
    double full = INFINITY, part = INFINITY;
    for (int rep = 0; rep < 3 && k <= 2000; rep++) {
        double t0 = seconds_now();
        CHECK_OK(rlcc_refiner_targets(r, NULL, BIG_N, all, k));
        double t1 = seconds_now();
        full = t1 - t0 < full ? t1 - t0 : full;
        for (int round = 0; round < 20; round++) {
            t0 = seconds_now();
            for (int c = 0; c < 10; c++)
                CHECK_OK(rlcc_refiner_targets(r, rows, 3, batch, k));
            t1 = seconds_now();
            part = (t1 - t0) / 10 < part ? (t1 - t0) / 10 : part;
        }
    }
    /* n_rows / n is 1/1667 here; 1/100 leaves room for each call's fixed cost */
    if (!(part * 100.0 < full))
        fprintf(stderr, "  a batch of 3 took %.3g s, the full n = %d call %.3g s (K = %lld)\n", part,
                BIG_N, full, (long long)k);
    CHECK(part * 100.0 < full);
    int close = 1;
    for (int q = 0; q < 3 && k <= 2000; q++)
        for (int64_t b = 0; b < k; b++)
            close &= fabsf(batch[q * k + b] - all[rows[q] * k + b]) <= 1e-6f;
    CHECK(close);
    /* Only the listed rows of the features are read: with every other row of
     * the borrowed matrix made NaN (a change rlcc_step_options.borrow
     * forbids, made on purpose to see what is read), the batch's targets are
     * the same bytes. */
    float again[3 * 2000];
    for (int64_t i = 0; i < BIG_N; i++)
        if (i != rows[0] && i != rows[1] && i != rows[2])
            for (int64_t j = 0; j < BIG_D; j++)
                x[2][i * BIG_D + j] = NAN;
    CHECK_OK(rlcc_refiner_targets(r, rows, 3, again, k));
    CHECK(k <= 2000 && memcmp(again, batch, sizeof(float) * 3 * (size_t)k) == 0);
    free(all);
    rlcc_refiner_free(r);
    for (int t = 0; t < 3; t++)
        free(x[t]);
    free(centre);
}

const test_case rlcc_tests[] = {
    {"refiner_steps_and_targets", refiner_steps_and_targets},
    {"refiner_failures_leave_it_unchanged", refiner_failures_leave_it_unchanged},
    {"consensus_propagate_blend_by_hand", consensus_propagate_blend_by_hand},
    {"rlcc_refusals_leave_outputs_untouched", rlcc_refusals_leave_outputs_untouched},
    {"rlcc_results_do_not_depend_on_threads", rlcc_results_do_not_depend_on_threads},
    {"layouts_are_pinned", layouts_are_pinned},
    {"refiner_bytes_follow_the_formula", refiner_bytes_follow_the_formula},
    {"matrix_steps_match_the_callback_step", matrix_steps_match_the_callback_step},
    {"a_borrowed_matrix_is_read_after_the_step", a_borrowed_matrix_is_read_after_the_step},
    {"opts_twins_match_the_1_2_functions", opts_twins_match_the_1_2_functions},
    {"reserved_fields_are_refused", reserved_fields_are_refused},
    {"unknown_pseudo_methods_are_refused", unknown_pseudo_methods_are_refused},
    {"batch_targets_touch_only_their_rows", batch_targets_touch_only_their_rows},
    {NULL, NULL},
};
