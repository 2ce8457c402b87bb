/* test_step_labels.c - a refiner stepped from the caller's generation
 * (1.8): rlcc_refiner_step_labels() and rlcc_refiner_targets_rows().
 *
 * Two refiners run side by side over the same features: one steps with
 * rlcc_refiner_step_matrix(), the other with rlcc_refiner_step_labels() fed
 * what rlcc_pseudo_labels() and rlcc_centroids() give those features (the
 * threshold of generation 0, then the refiner's). After every generation
 * their labels, classes, centroids and threshold are the same bytes, and so
 * are the targets of every batch, the second refiner reading the batch's
 * rows from the caller; a checkpoint of it restores and goes on the same.
 * Every bad argument is refused, with the refiner left as it was. */
#include <math.h>
#include <stdlib.h>

#include "generations.h"
#include "state_format.h"
#include "test.h"

#define N 96
#define D 16
#define GENERATIONS 4

static int64_t logits_of(int64_t start, int64_t count, int64_t k_prev, float *out, int64_t ld,
                         void *user)
{
    const int gen = *(const int *)user;
    for (int64_t i = 0; i < count; i++)
        for (int64_t a = 0; a < k_prev; a++)
            out[i * ld + a] = (float)((start + i + 3 * a + gen) % 7) * 0.75f;
    return count;
}

typedef struct config {
    const char *what;
    int32_t metric;
    float beta;
    int logits;
    int reliability;
} config;

static rlcc_pseudo_options pseudo_of(const config *c)
{
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = 10;
    p.k2 = 3;
    p.metric = c->metric;
    p.reliability = c->reliability;
    if (c->metric == RLCC_METRIC_EUCLIDEAN)
        p.eps[0] = 0.5, p.eps[1] = 0.6, p.eps[2] = 0.7;
    return p;
}

static rlcc_refiner *new_refiner(const config *c)
{
    rlcc_pseudo_options p = pseudo_of(c);
    rlcc_refiner_options o;
    rlcc_refiner_options_init(&o, sizeof o);
    o.beta = c->beta;
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, &p, &o, &r));
    return r;
}

/* What a step would compute from x: labels, classes, centroids, threshold. */
typedef struct generation {
    int32_t labels[N];
    int64_t k;
    float centroids[N * D];
    double threshold;
} generation;

static int cluster(const config *c, const rlcc_refiner *r, const float *x, generation *g)
{
    rlcc_pseudo_options p = pseudo_of(c);
    if (rlcc_refiner_generation(r) > 0)
        p.threshold = rlcc_refiner_threshold(r);
    int err = rlcc_pseudo_labels(x, N, D, D, &p, g->labels, &g->k, &g->threshold);
    if (err == RLCC_OK)
        err = rlcc_centroids(x, N, D, D, g->labels, g->k, g->centroids, D);
    return err;
}

static rlcc_step_options step_options(const config *c, int *gen)
{
    rlcc_step_options so;
    rlcc_step_options_init(&so, sizeof so);
    so.batch = 13;
    if (c->logits) {
        so.logits = logits_of;
        so.logits_data = gen;
    }
    return so;
}

static int same_state(const rlcc_refiner *a, const rlcc_refiner *b)
{
    const int64_t k = rlcc_refiner_n_classes(a);
    int same = k == rlcc_refiner_n_classes(b) && k > 0 &&
               rlcc_refiner_generation(a) == rlcc_refiner_generation(b) &&
               memcmp(&(double){rlcc_refiner_threshold(a)}, &(double){rlcc_refiner_threshold(b)},
                      sizeof(double)) == 0;
    int32_t la[N], lb[N];
    float *ca = malloc(sizeof(float) * (size_t)(k * D)), *cb = malloc(sizeof(float) * (size_t)(k * D));
    same &= rlcc_refiner_labels(a, la) == RLCC_OK && rlcc_refiner_labels(b, lb) == RLCC_OK &&
            memcmp(la, lb, sizeof la) == 0;
    same &= rlcc_refiner_centroids(a, ca, D) == RLCC_OK &&
            rlcc_refiner_centroids(b, cb, D) == RLCC_OK &&
            memcmp(ca, cb, sizeof(float) * (size_t)(k * D)) == 0;
    free(ca);
    free(cb);
    return same;
}

/* The targets of a batch from the feature-keeping refiner a and from b,
 * which is given the batch's rows (gathered with row stride ldx). */
static int same_targets(const rlcc_refiner *a, const rlcc_refiner *b, const float *x,
                        const int64_t *rows, int64_t n_rows, int64_t ldx)
{
    const int64_t k = rlcc_refiner_n_classes(a);
    float *ta = calloc((size_t)(n_rows * k) + 1, sizeof(float));
    float *tb = calloc((size_t)(n_rows * k) + 1, sizeof(float));
    float *batch = calloc((size_t)(n_rows * ldx) + 1, sizeof(float));
    for (int64_t q = 0; q < n_rows; q++)
        memcpy(batch + q * ldx, x + (rows ? rows[q] : q) * D, sizeof(float) * D);
    int same = rlcc_refiner_targets(a, rows, n_rows, ta, k) == RLCC_OK;
    same &= rlcc_refiner_targets_rows(b, rows, n_rows, batch, ldx, NULL, tb, k) == RLCC_OK;
    same &= memcmp(ta, tb, sizeof(float) * (size_t)(n_rows * k)) == 0;
    free(ta);
    free(tb);
    free(batch);
    return same;
}

static uint8_t *save(const rlcc_refiner *r, size_t *size)
{
    CHECK_OK(rlcc_refiner_save(r, NULL, 0, size));
    uint8_t *s = malloc(*size);
    CHECK_OK(rlcc_refiner_save(r, s, *size, size));
    return s;
}

static int run_config(const config *c)
{
    rlcc_refiner *a = new_refiner(c), *b = new_refiner(c), *restored = NULL;
    float *x = malloc(sizeof(float) * N * D);
    generation *g = malloc(sizeof *g);
    int gen = 0, ok = a != NULL && b != NULL;
    const int64_t batch[] = {5, 90, 5, 17, 0, 63, 1, 40};
    for (int t = 0; ok && t < GENERATIONS; t++) {
        gen = t;
        generation_rows(x, N, D, t, 0);
        rlcc_step_options so = step_options(c, &gen);
        ok &= rlcc_refiner_step_matrix(a, x, D, &so) == RLCC_OK;
        ok &= cluster(c, b, x, g) == RLCC_OK;
        ok &= rlcc_refiner_step_labels(b, g->labels, g->k, g->centroids, D, g->threshold, &so) ==
              RLCC_OK;
        if (restored != NULL) /* restored from b's state after generation 2 */
            ok &= rlcc_refiner_step_labels(restored, g->labels, g->k, g->centroids, D,
                                           g->threshold, &so) == RLCC_OK;
        ok &= same_state(a, b);
        ok &= same_targets(a, b, x, batch, 8, D) && same_targets(a, b, x, NULL, N, D + 3);
        ok &= same_targets(a, b, x, batch + 4, 0, D);
        if (restored != NULL)
            ok &= same_state(a, restored) && same_targets(a, restored, x, batch, 8, D);
        const int reads = t >= 1 && c->beta < 1.0f && !c->logits;
        float out[8 * N];
        if (reads) /* b holds no features: its plain targets refuse */
            ok &= rlcc_refiner_targets(b, batch, 8, out, N) == RLCC_E_INVALID_ARGUMENT &&
                  strstr(rlcc_last_error(), "rlcc_refiner_targets_rows") != NULL;
        else /* nothing read: x may be NULL, and the plain call agrees */
            ok &= rlcc_refiner_targets_rows(b, batch, 8, NULL, D, NULL, out, N) == RLCC_OK &&
                  same_targets(a, b, x, batch, 8, D);
        if (t == 1) {
            size_t size = 0;
            uint8_t *state = save(b, &size);
            const uint32_t flags = le32(state + AT_FLAGS);
            ok &= ((flags & 8u) != 0) == reads && (flags & 2u) == 0;
            ok &= rlcc_refiner_load(state, size, NULL, &restored) == RLCC_OK;
            size_t again_size = 0;
            uint8_t *again = restored != NULL ? save(restored, &again_size) : NULL;
            ok &= again != NULL && again_size == size && memcmp(again, state, size) == 0;
            free(again);
            free(state);
        }
    }
    if (!ok)
        fprintf(stderr, "  %s: %s differs (%s)\n", test_current, c->what, rlcc_last_error());
    rlcc_refiner_free(a);
    rlcc_refiner_free(b);
    rlcc_refiner_free(restored);
    free(x);
    free(g);
    return ok;
}

static void labels_steps_match_matrix_steps(void)
{
    const config configs[] = {
        {"jaccard, beta 0", RLCC_METRIC_JACCARD, 0.0f, 0, 1},
        {"jaccard, beta 0.5", RLCC_METRIC_JACCARD, 0.5f, 0, 1},
        {"jaccard, beta 1", RLCC_METRIC_JACCARD, 1.0f, 0, 1},
        {"jaccard, logits", RLCC_METRIC_JACCARD, 0.0f, 1, 1},
        {"jaccard, no reliability", RLCC_METRIC_JACCARD, 0.0f, 0, 0},
        {"euclidean, beta 0", RLCC_METRIC_EUCLIDEAN, 0.0f, 0, 1},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        CHECK(run_config(&configs[i]));
}

/* A refused step leaves the refiner at its generation with its labels. */
static void step_labels_refusals(void)
{
    const config c = {"refusals", RLCC_METRIC_JACCARD, 0.0f, 0, 1};
    rlcc_refiner *r = new_refiner(&c);
    float *x = malloc(sizeof(float) * N * D);
    generation *g = malloc(sizeof *g), *bad = malloc(sizeof *bad);
    generation_rows(x, N, D, 0, 0);
    CHECK_OK(cluster(&c, r, x, g));
    CHECK_ERR(rlcc_refiner_step_labels(NULL, g->labels, g->k, g->centroids, D, g->threshold,
                                       NULL),
              RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    CHECK_ERR(rlcc_refiner_step_labels(r, NULL, g->k, g->centroids, D, g->threshold, NULL),
              RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, g->k, NULL, D, g->threshold, NULL),
              RLCC_E_INVALID_ARGUMENT, "centroids: is NULL");
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, 0, g->centroids, D, g->threshold, NULL),
              RLCC_E_INVALID_ARGUMENT, "n_classes: 0 must be in [1, 96]");
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, g->k, g->centroids, D - 1, g->threshold,
                                       NULL),
              RLCC_E_INVALID_ARGUMENT, "centroids");
    memset(g->centroids + g->k * D, 0, sizeof(float) * D); /* a zero row for class k */
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, g->k + 1, g->centroids, D, g->threshold,
                                       NULL),
              RLCC_E_INVALID_ARGUMENT, "but there are");
    *bad = *g;
    bad->labels[7] = (int32_t)g->k;
    CHECK_ERR(rlcc_refiner_step_labels(r, bad->labels, g->k, g->centroids, D, g->threshold,
                                       NULL),
              RLCC_E_INVALID_ARGUMENT, "labels");
    *bad = *g;
    bad->labels[3] = -1; /* the singleton policy never leaves noise */
    CHECK_ERR(rlcc_refiner_step_labels(r, bad->labels, g->k, g->centroids, D, g->threshold,
                                       NULL),
              RLCC_E_INVALID_ARGUMENT, "sample 3 is noise");
    *bad = *g;
    for (int i = 0; i < N; i++) /* class 0 emptied into class 1 */
        bad->labels[i] = bad->labels[i] == 0 ? 1 : bad->labels[i];
    CHECK_ERR(rlcc_refiner_step_labels(r, bad->labels, g->k, g->centroids, D, g->threshold,
                                       NULL),
              RLCC_E_INVALID_ARGUMENT, "class 0 has no member");
    *bad = *g;
    bad->centroids[2 * D + 1] = NAN;
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, g->k, bad->centroids, D, g->threshold,
                                       NULL),
              RLCC_E_INVALID_ARGUMENT, "centroids");
    *bad = *g;
    bad->centroids[D] *= 2.0f;
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, g->k, bad->centroids, D, g->threshold,
                                       NULL),
              RLCC_E_INVALID_ARGUMENT, "squared norm");
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, g->k, g->centroids, D, 1.5, NULL),
              RLCC_E_INVALID_ARGUMENT, "threshold 1.5");
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, g->k, g->centroids, D, NAN, NULL),
              RLCC_E_INVALID_ARGUMENT, "threshold");
    rlcc_step_options so;
    rlcc_step_options_init(&so, sizeof so);
    so.borrow = 1;
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, g->k, g->centroids, D, g->threshold, &so),
              RLCC_E_INVALID_ARGUMENT, "borrow");
    CHECK_EQ(rlcc_refiner_generation(r), 0);
    CHECK_OK(rlcc_refiner_step_labels(r, g->labels, g->k, g->centroids, D, g->threshold, NULL));
    /* from generation 1 on, the threshold is the refiner's own */
    generation_rows(x, N, D, 1, 0);
    CHECK_OK(cluster(&c, r, x, g));
    int32_t before[N];
    CHECK_OK(rlcc_refiner_labels(r, before));
    CHECK_ERR(rlcc_refiner_step_labels(r, g->labels, g->k, g->centroids, D,
                                       g->threshold + 0x1p-40, NULL),
              RLCC_E_INVALID_ARGUMENT, "not the refiner's");
    int32_t after[N];
    CHECK_OK(rlcc_refiner_labels(r, after));
    CHECK(memcmp(before, after, sizeof before) == 0);
    CHECK_EQ(rlcc_refiner_generation(r), 1);
    CHECK_OK(rlcc_refiner_step_labels(r, g->labels, g->k, g->centroids, D, g->threshold, NULL));
    CHECK_EQ(rlcc_refiner_generation(r), 2);
    rlcc_refiner_free(r);
    free(x);
    free(g);
    free(bad);
}

static void targets_rows_refusals(void)
{
    const config c = {"targets", RLCC_METRIC_JACCARD, 0.0f, 0, 1};
    rlcc_refiner *r = new_refiner(&c);
    float *x = malloc(sizeof(float) * N * D);
    generation *g = malloc(sizeof *g);
    for (int t = 0; t < 2; t++) {
        generation_rows(x, N, D, t, 0);
        CHECK_OK(cluster(&c, r, x, g));
        CHECK_OK(rlcc_refiner_step_labels(r, g->labels, g->k, g->centroids, D, g->threshold,
                                          NULL));
    }
    const int64_t k = rlcc_refiner_n_classes(r), rows[] = {4, 9, 4};
    float *out = calloc((size_t)(3 * k), sizeof(float)), batch[3 * D];
    for (int q = 0; q < 3; q++)
        memcpy(batch + q * D, x + rows[q] * D, sizeof(float) * D);
    CHECK_ERR(rlcc_refiner_targets_rows(r, rows, 3, NULL, D, NULL, out, k),
              RLCC_E_INVALID_ARGUMENT, "x: is NULL");
    CHECK_ERR(rlcc_refiner_targets_rows(r, rows, 3, batch, D - 1, NULL, out, k),
              RLCC_E_INVALID_ARGUMENT, "x");
    CHECK_ERR(rlcc_refiner_targets_rows(r, rows, 3, batch, D, NULL, NULL, k),
              RLCC_E_INVALID_ARGUMENT, "out: is NULL");
    const int64_t far[] = {4, N, 1};
    CHECK_ERR(rlcc_refiner_targets_rows(r, far, 3, batch, D, NULL, out, k),
              RLCC_E_INVALID_ARGUMENT, "rows");
    CHECK_ERR(rlcc_refiner_targets_rows(r, rows, 3, batch, D, NULL, (float *)batch, D),
              RLCC_E_INVALID_ARGUMENT, "overlap");
    batch[D + 3] = INFINITY;
    CHECK_ERR(rlcc_refiner_targets_rows(r, rows, 3, batch, D, NULL, out, k),
              RLCC_E_INVALID_ARGUMENT, "x: row 1 has inf");
    batch[D + 3] = 0x1p70f;
    CHECK_ERR(rlcc_refiner_targets_rows(r, rows, 3, batch, D, NULL, out, k),
              RLCC_E_INVALID_ARGUMENT, "squared norm above");
    for (int64_t e = 0; e < 3 * k; e++)
        CHECK(out[e] == 0.0f);
    batch[D + 3] = x[9 * D + 3];
    CHECK_OK(rlcc_refiner_targets_rows(r, rows, 3, batch, D, NULL, out, k));
    CHECK(memcmp(out, out + 2 * k, sizeof(float) * (size_t)k) == 0); /* row 4 twice */
    rlcc_refiner_free(r);
    free(out);
    free(x);
    free(g);
}

const test_case step_labels_tests[] = {
    {"labels_steps_match_matrix_steps", labels_steps_match_matrix_steps},
    {"step_labels_refusals", step_labels_refusals},
    {"targets_rows_refusals", targets_rows_refusals},
    {NULL, NULL},
};
