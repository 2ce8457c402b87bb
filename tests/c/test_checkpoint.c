/* test_checkpoint.c - refiner checkpoints (1.6): rlcc_refiner_save() and
 * rlcc_refiner_load().
 *
 * A refiner restored at generation 0, 1, 2 or 3 gives the labels, centroids,
 * threshold, targets and saved bytes of one that never stopped, bit for bit,
 * and so does every step after it (euclidean, cosine, Jaccard; with and
 * without logits; beta 0, 0.5, 1; callback, copying and borrowing steps;
 * outliers kept, the guard off, one eps, the caller's kNN lists). The bytes
 * are the documented format (read here at its documented offsets, with a
 * CRC-32C of the test's own). Every truncation and every single-bit flip of
 * small states, and a dense sample of a larger one, is refused with
 * RLCC_E_INVALID_ARGUMENT and *out untouched; so are states whose checksum
 * is right but whose content cannot have come from a refiner. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "generations.h"
#include "state_format.h"
#include "test.h"

#define N 96
#define D 16
#define GENERATIONS 5 /* steps of the refiner that never stops */

/* ---- data ------------------------------------------------------------------ */

typedef struct data {
    int n, d;
    float *x[GENERATIONS]; /* one buffer per generation: a borrowed one stays alive */
    int gen;               /* the generation the logits callback answers for */
} data;

static data *make_data(int n, int d, int outliers)
{
    data *g = calloc(1, sizeof *g);
    g->n = n;
    g->d = d;
    for (int t = 0; t < GENERATIONS; t++) {
        g->x[t] = malloc(sizeof(float) * (size_t)(n * d));
        generation_rows(g->x[t], n, d, t, outliers);
    }
    return g;
}

static void free_data(data *g)
{
    for (int t = 0; t < GENERATIONS; t++)
        free(g->x[t]);
    free(g);
}

static int64_t rows_of(int64_t start, int64_t count, float *rows, int64_t ld, void *user)
{
    const data *g = user;
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, g->x[g->gen] + (start + i) * g->d, sizeof(float) * (size_t)g->d);
    return count;
}

static int64_t logits_of(int64_t start, int64_t count, int64_t k_prev, float *out, int64_t ld,
                         void *user)
{
    const data *g = user;
    for (int64_t i = 0; i < count; i++)
        for (int64_t a = 0; a < k_prev; a++)
            out[i * ld + a] = (float)((start + i + 3 * a + g->gen) % 7) * 0.75f;
    return count;
}

/* ---- one configuration ------------------------------------------------------- */

enum { BY_CALLBACK, BY_COPY, BY_BORROW };

typedef struct config {
    const char *what;
    int32_t metric;
    int by;         /* BY_* */
    int logits;     /* a logits callback at every step */
    float beta;
    int keep;       /* outliers kept (reliability off), data with outliers */
    int no_guard;   /* SpCL's criterion without the guard */
    int one_eps;    /* one plain run, no reliability */
    int knn;        /* the caller's kNN lists before every step (Jaccard) */
} config;

static rlcc_pseudo_options pseudo_of(const config *c)
{
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = 10;
    p.k2 = 3;
    p.metric = c->metric;
    if (c->metric == RLCC_METRIC_EUCLIDEAN)
        p.eps[0] = 0.7, p.eps[1] = 0.6, p.eps[2] = 0.5; /* sorted by the refiner */
    if (c->metric == RLCC_METRIC_COSINE)
        p.eps[0] = 0.12, p.eps[1] = 0.15, p.eps[2] = 0.18;
    if (c->keep) {
        p.outliers = RLCC_OUTLIERS_KEEP;
        p.reliability = 0;
    }
    if (c->no_guard)
        p.guard = 0;
    if (c->one_eps) {
        p.n_eps = 1;
        p.reliability = 0;
        p.eps[0] = p.eps[1];
    }
    return p;
}

static rlcc_refiner *new_refiner(const config *c, int n, int d)
{
    rlcc_pseudo_options p = pseudo_of(c);
    rlcc_refiner_options o;
    rlcc_refiner_options_init(&o, sizeof o);
    o.beta = c->beta;
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(n, d, &p, &o, &r));
    return r;
}

/* Step t of the configuration on r, with the caller's lists when asked. */
static int step(rlcc_refiner *r, const config *c, data *g, int t)
{
    g->gen = t;
    if (c->knn) {
        int64_t *lists = malloc(sizeof(int64_t) * (size_t)(g->n * 10));
        CHECK_OK(rlcc_knn(g->x[t], g->n, g->d, g->d, 10, NULL, lists, NULL));
        CHECK_OK(rlcc_refiner_set_knn(r, lists));
        free(lists);
    }
    rlcc_step_options so;
    rlcc_step_options_init(&so, sizeof so);
    so.batch = 17;
    if (c->logits) {
        so.logits = logits_of;
        so.logits_data = g;
    }
    if (c->by == BY_CALLBACK)
        return rlcc_refiner_step_opts(r, rows_of, g, &so);
    so.borrow = c->by == BY_BORROW;
    return rlcc_refiner_step_matrix(r, g->x[t], g->d, &so);
}

/* The state as rlcc_refiner_save() writes it, by the two-call protocol. */
static uint8_t *save(const rlcc_refiner *r, size_t *size)
{
    *size = 0;
    CHECK_OK(rlcc_refiner_save(r, NULL, 0, size));
    uint8_t *s = malloc(*size > 0 ? *size : 1);
    size_t written = 0;
    CHECK_OK(rlcc_refiner_save(r, s, *size, &written));
    CHECK_EQ(written, *size);
    return s;
}

static rlcc_refiner *load(const uint8_t *s, size_t size)
{
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_load(s, size, NULL, &r));
    return r;
}

/* A refiner of the configuration after `gens` steps over its own data, and
 * its saved state. */
typedef struct saved {
    data *g;
    rlcc_refiner *r;
    uint8_t *s;
    size_t size;
} saved;

static saved saved_after(const config *c, int gens)
{
    saved v = {make_data(N, D, c->keep), new_refiner(c, N, D), NULL, 0};
    for (int t = 0; t < gens; t++)
        CHECK_OK(step(v.r, c, v.g, t));
    v.s = save(v.r, &v.size);
    return v;
}

static void saved_free(saved *v)
{
    free(v->s);
    rlcc_refiner_free(v->r);
    free_data(v->g);
}

/* Everything a refiner shows, as bytes to compare. */
typedef struct view {
    int64_t generation, k, bytes;
    double threshold;
    int32_t labels[N];
    float centroids[N * D];
    float targets[N * N]; /* every row, ld = k */
    float batch[5 * N];
} view;

static void view_of(const rlcc_refiner *r, int n, int d, view *v)
{
    static const int64_t rows[5] = {7, 0, 3, 7, 1};
    memset(v, 0, sizeof *v);
    v->generation = rlcc_refiner_generation(r);
    v->k = rlcc_refiner_n_classes(r);
    v->bytes = rlcc_refiner_bytes(r);
    v->threshold = rlcc_refiner_threshold(r);
    if (v->generation == 0)
        return;
    CHECK_OK(rlcc_refiner_labels(r, v->labels));
    CHECK_OK(rlcc_refiner_centroids(r, v->centroids, d));
    CHECK_OK(rlcc_refiner_targets(r, NULL, n, v->targets, v->k));
    CHECK_OK(rlcc_refiner_targets(r, rows, 5, v->batch, v->k));
}

/* b was restored from a, or from an ancestor of a's state, and has taken
 * the same steps since: the same views (b owns the rows a borrowed, until
 * its next step) and the same saved bytes. */
static int same_refiners(const rlcc_refiner *a, const rlcc_refiner *b, int n, int d,
                         int64_t extra_bytes)
{
    view *va = malloc(sizeof *va), *vb = malloc(sizeof *vb);
    view_of(a, n, d, va);
    view_of(b, n, d, vb);
    vb->bytes -= extra_bytes;
    int same = memcmp(va, vb, sizeof *va) == 0;
    size_t sa, sb;
    uint8_t *state_a = save(a, &sa), *state_b = save(b, &sb);
    same &= sa == sb && memcmp(state_a, state_b, sa) == 0;
    free(state_b);
    free(state_a);
    free(vb);
    free(va);
    return same;
}

/* The refiner that never stops takes GENERATIONS steps; before step t
 * (t = 0 .. 3) its state is saved and loaded, and the loaded refiner takes
 * the same steps from there. After every step each restored refiner must
 * equal the one that never stopped. */
static int run_config(const config *c)
{
    data *g = make_data(N, D, c->keep);
    rlcc_refiner *a = new_refiner(c, N, D), *restored[4] = {NULL, NULL, NULL, NULL};
    int64_t extra[4] = {0, 0, 0, 0}; /* a borrowed matrix the loaded one owns */
    int good = a != NULL;
    for (int t = 0; good && t < GENERATIONS; t++) {
        if (t < 4) {
            size_t size;
            uint8_t *s = save(a, &size);
            restored[t] = load(s, size);
            good &= restored[t] != NULL;
            if (good) {
                size_t again;
                uint8_t *s2 = save(restored[t], &again);
                good &= again == size && memcmp(s, s2, size) == 0; /* save(load(s)) == s */
                free(s2);
                const int borrowed = c->by == BY_BORROW && t >= 2 && c->beta < 1.0f && !c->logits;
                extra[t] = borrowed ? 4 * N * D : 0;
                good &= same_refiners(a, restored[t], N, D, extra[t]);
            }
            free(s);
        }
        good &= step(a, c, g, t) == RLCC_OK;
        for (int s = 0; s < 4 && s <= t; s++) {
            good &= step(restored[s], c, g, t) == RLCC_OK;
            extra[s] = 0; /* the step borrowed or copied as a's did */
            good &= same_refiners(a, restored[s], N, D, 0);
        }
    }
    for (int s = 0; s < 4; s++)
        rlcc_refiner_free(restored[s]);
    rlcc_refiner_free(a);
    free_data(g);
    if (!good)
        fprintf(stderr, "  %s: a restored refiner differs\n", c->what);
    return good;
}

static void restored_refiners_continue_bit_for_bit(void)
{
    static const int32_t metrics[3] = {RLCC_METRIC_EUCLIDEAN, RLCC_METRIC_COSINE, RLCC_METRIC_JACCARD};
    static const char *const metric_names[3] = {"euclidean", "cosine", "jaccard"};
    static const char *const by_names[3] = {"callback", "copy", "borrow"};
    static const float betas[3] = {0.0f, 0.5f, 1.0f};
    int configs = 0;
    for (int m = 0; m < 3; m++)
        for (int by = 0; by < 3; by++)
            for (int logits = 0; logits < 2; logits++)
                for (int b = 0; b < 3; b++) {
                    char what[128];
                    snprintf(what, sizeof what, "%s, %s, %s, beta %g", metric_names[m],
                             by_names[by], logits ? "logits" : "no logits", (double)betas[b]);
                    const config c = {what, metrics[m], by, logits, betas[b], 0, 0, 0, 0};
                    CHECK(run_config(&c));
                    configs++;
                }
    CHECK_EQ(configs, 54);
}

static void restored_refiners_other_options(void)
{
    const config cases[] = {
        {"outliers kept (labels -1), copy", RLCC_METRIC_JACCARD, BY_COPY, 0, 0.0f, 1, 0, 0, 0},
        {"outliers kept, euclidean, borrow", RLCC_METRIC_EUCLIDEAN, BY_BORROW, 0, 0.2f, 1, 0, 0, 0},
        {"no guard (classes may be empty)", RLCC_METRIC_JACCARD, BY_CALLBACK, 0, 0.0f, 0, 1, 0, 0},
        {"one eps, no reliability", RLCC_METRIC_EUCLIDEAN, BY_COPY, 1, 0.0f, 0, 0, 1, 0},
        {"the caller's kNN lists", RLCC_METRIC_JACCARD, BY_COPY, 0, 0.0f, 0, 0, 0, 1},
        {"the caller's kNN lists, borrow, logits", RLCC_METRIC_JACCARD, BY_BORROW, 1, 0.5f, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(run_config(&cases[i]));
}

/* ---- the format, read as docs/stability.md describes it ------------------------ */

static void set_f32(uint8_t *p, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    set_le32(p, bits);
}

static void set_f64(uint8_t *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    set_le64(p, bits);
}

static void the_bytes_are_the_documented_format(void)
{
    static const uint8_t check[] = "123456789";
    CHECK_EQ(crc32c_bitwise(check, 9), 0xE3069283u); /* the CRC-32C check value */
    config c = {"copy, beta 0", RLCC_METRIC_JACCARD, BY_COPY, 0, 0.0f, 0, 0, 0, 0};
    data *g = make_data(N, D, 0);
    rlcc_refiner *r = new_refiner(&c, N, D);
    size_t size;
    uint8_t *s = save(r, &size);
    static const uint8_t magic[8] = {0x89, 'R', 'L', 'C', 'C', 'R', 'F', 0x1A};
    CHECK(memcmp(s, magic, 8) == 0);
    CHECK_EQ(size, 196); /* generation 0: the header and the checksum */
    CHECK_EQ(le32(s + AT_FORMAT), 1); /* a DBSCAN refiner: format 1, what 1.6 reads */
    CHECK_EQ(le32(s + AT_WRITER), rlcc_version_number());
    CHECK_EQ(le64(s + AT_SIZE), size);
    CHECK_EQ(le32(s + AT_FLAGS), 0);
    CHECK_EQ(le64(s + AT_N), N);
    CHECK_EQ(le64(s + AT_D), D);
    CHECK_EQ(le64(s + AT_DONE), 0);
    CHECK_EQ(le32(s + AT_METRIC), RLCC_METRIC_JACCARD);
    CHECK_EQ(le32(s + AT_K1), 10);
    CHECK_EQ(le32(s + AT_N_EPS), 3);
    CHECK(f32_at(s + AT_ALPHA) == 0.9f);
    CHECK_EQ(le32(s + size - 4), crc32c_bitwise(s, size - 4));
    free(s);
    for (int t = 0; t < 3; t++)
        CHECK_OK(step(r, &c, g, t));
    s = save(r, &size);
    const int64_t k = rlcc_refiner_n_classes(r);
    const int64_t kp = (int64_t)le64(s + AT_K_PREV);
    CHECK_EQ(le64(s + AT_K), k);
    CHECK_EQ(le64(s + AT_DONE), 3);
    CHECK_EQ(le32(s + AT_FLAGS), 2); /* the features */
    CHECK_EQ(size, 196 + 8 * N + 4 * D * (k + kp) + 4 * N * D);
    int32_t labels[N];
    float *cents = malloc(sizeof(float) * (size_t)(k * D));
    CHECK_OK(rlcc_refiner_labels(r, labels));
    CHECK_OK(rlcc_refiner_centroids(r, cents, D));
    int same = 1;
    for (int i = 0; i < N; i++)
        same &= (int32_t)le32(s + AT_ARRAYS + 4 * i) == labels[i];
    for (int64_t e = 0; e < k * D; e++)
        same &= f32_at(s + AT_ARRAYS + 4 * N + 4 * e) == cents[e];
    /* the features are the last array: generation 2's rows */
    const uint8_t *features = s + size - 4 - 4 * N * D;
    for (int64_t e = 0; e < N * D; e++)
        same &= f32_at(features + 4 * e) == g->x[2][e];
    CHECK(same);
    double threshold;
    const uint64_t bits = le64(s + AT_THRESHOLD);
    memcpy(&threshold, &bits, sizeof threshold);
    CHECK(threshold == rlcc_refiner_threshold(r));
    CHECK_EQ(le32(s + size - 4), crc32c_bitwise(s, size - 4));
    /* the same state, the same bytes */
    size_t again;
    uint8_t *s2 = save(r, &again);
    CHECK(again == size && memcmp(s, s2, size) == 0);
    free(s2);
    free(cents);
    free(s);
    rlcc_refiner_free(r);
    free_data(g);
}

/* The two-call protocol, the sizes of the formula in rlcc.h and the
 * refusals of save. */
static void save_sizes_and_refusals(void)
{
    const config cases[] = {
        {"copy", RLCC_METRIC_JACCARD, BY_COPY, 0, 0.0f, 0, 0, 0, 0},
        {"logits", RLCC_METRIC_JACCARD, BY_COPY, 1, 0.0f, 0, 0, 0, 0},
        {"beta 1", RLCC_METRIC_JACCARD, BY_COPY, 0, 1.0f, 0, 0, 0, 0},
        {"borrow", RLCC_METRIC_JACCARD, BY_BORROW, 0, 0.0f, 0, 0, 0, 0},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const config *c = &cases[ci];
        data *g = make_data(N, D, 0);
        rlcc_refiner *r = new_refiner(c, N, D);
        int64_t kp = 0;
        for (int t = 0; t < 4; t++) {
            const int64_t k = rlcc_refiner_n_classes(r);
            int64_t want = 196;
            if (t >= 1)
                want += 4 * N + 4 * D * k;
            if (t >= 2)
                want += 4 * N + 4 * D * kp;
            if (t >= 2 && c->logits)
                want += 4 * N * kp;
            if (t >= 2 && c->beta < 1.0f && !c->logits)
                want += 4 * N * D;
            size_t size = 0;
            CHECK_OK(rlcc_refiner_save(r, NULL, 12345, &size));
            CHECK_EQ(size, want);
            /* too small: refused, buffer untouched, the size still given */
            uint8_t *s = malloc(size + 8);
            memset(s, 0xA5, size + 8);
            size_t got = 7;
            CHECK_ERR(rlcc_refiner_save(r, s, size - 1, &got), RLCC_E_INVALID_ARGUMENT, "capacity");
            CHECK_EQ(got, size);
            int untouched = 1;
            for (size_t b = 0; b < size + 8; b++)
                untouched &= s[b] == 0xA5;
            CHECK(untouched);
            /* a larger buffer: the same bytes, nothing beyond them */
            CHECK_OK(rlcc_refiner_save(r, s, size + 8, &got));
            CHECK_EQ(got, size);
            CHECK(s[size] == 0xA5 && s[size + 7] == 0xA5);
            free(s);
            kp = k;
            CHECK_OK(step(r, c, g, t));
        }
        size_t size = 0;
        CHECK_ERR(rlcc_refiner_save(NULL, NULL, 0, &size), RLCC_E_INVALID_ARGUMENT, "refiner");
        CHECK_ERR(rlcc_refiner_save(r, NULL, 0, NULL), RLCC_E_INVALID_ARGUMENT, "size");
        rlcc_refiner_free(r);
        free_data(g);
    }
}

/* A save is a reader: refused from inside a step (as any call on the
 * handle is), fine beside target calls. */
typedef struct inside {
    rlcc_refiner *r;
    int calls, refused;
} inside;

static int save_from_progress(int32_t stage, double fraction, void *user)
{
    inside *in = user;
    (void)stage;
    (void)fraction;
    size_t size = 0;
    in->calls++;
    in->refused += rlcc_refiner_save(in->r, NULL, 0, &size) == RLCC_E_INVALID_ARGUMENT &&
                   strstr(rlcc_last_error(), "in use") != NULL;
    return 0;
}

static void save_is_a_reader(void)
{
    data *g = make_data(N, D, 0);
    const config c = {"copy", RLCC_METRIC_JACCARD, BY_COPY, 0, 0.0f, 0, 0, 0, 0};
    rlcc_refiner *r = new_refiner(&c, N, D);
    inside in = {r, 0, 0};
    rlcc_step_options so;
    rlcc_step_options_init(&so, sizeof so);
    so.progress = save_from_progress;
    so.progress_data = &in;
    for (int t = 0; t < 3; t++)
        CHECK_OK(rlcc_refiner_step_matrix(r, g->x[t], D, &so));
    CHECK(in.calls > 0 && in.refused == in.calls);
    /* readers at once: saves and targets from several threads */
    size_t size;
    uint8_t *first = save(r, &size);
    int same = 1;
    const int64_t k = rlcc_refiner_n_classes(r);
#pragma omp parallel for num_threads(3) reduction(& : same)
    for (int i = 0; i < 24; i++) {
        if (i % 2 == 0) {
            uint8_t *s = malloc(size);
            size_t got = 0;
            same &= rlcc_refiner_save(r, s, size, &got) == RLCC_OK && got == size &&
                    memcmp(s, first, size) == 0;
            free(s);
        } else {
            float *t = malloc(sizeof(float) * (size_t)(N * k));
            same &= rlcc_refiner_targets(r, NULL, N, t, k) == RLCC_OK;
            free(t);
        }
    }
    CHECK(same);
    free(first);
    rlcc_refiner_free(r);
    free_data(g);
}

/* ---- refusals ------------------------------------------------------------------- */

#define SENTINEL ((rlcc_refiner *)(void *)&sentinel_slot)
static int sentinel_slot;

/* The state is refused as invalid, *out untouched, the message about the
 * state; 1 if so. */
static int refused(const uint8_t *s, size_t size)
{
    rlcc_refiner *out = SENTINEL;
    const int rc = rlcc_refiner_load(s, size, NULL, &out);
    if (rc == RLCC_OK && out != SENTINEL)
        rlcc_refiner_free(out);
    return rc == RLCC_E_INVALID_ARGUMENT && out == SENTINEL &&
           strncmp(rlcc_last_error(), "state: ", 7) == 0;
}

/* A small state of each kind, for the exhaustive sweeps. */
static uint8_t *small_state(const config *c, int gens, size_t *size)
{
    enum { SN = 24, SD = 4 };
    data *g = make_data(SN, SD, c->keep);
    rlcc_refiner *r = new_refiner(c, SN, SD);
    for (int t = 0; t < gens; t++)
        CHECK_OK(step(r, c, g, t));
    if (c->knn) { /* lists for the next step too */
        int64_t lists[SN * 10];
        CHECK_OK(rlcc_knn(g->x[0], SN, SD, SD, 10, NULL, lists, NULL));
        CHECK_OK(rlcc_refiner_set_knn(r, lists));
    }
    uint8_t *s = save(r, size);
    rlcc_refiner_free(r);
    free_data(g);
    return s;
}

/* Every truncation, one byte more, and every bit flipped (step: every
 * step-th bit), each refused. */
static void sweep(const uint8_t *s, size_t size, size_t bit_step, long *tried, long *ok)
{
    uint8_t *copy = malloc(size + 1);
    for (size_t len = 0; len < size; len++) {
        memcpy(copy, s, len);
        *ok += refused(copy, len);
        (*tried)++;
    }
    memcpy(copy, s, size);
    copy[size] = 0;
    *ok += refused(copy, size + 1);
    (*tried)++;
    for (size_t bit = 0; bit < 8 * size; bit += bit_step) {
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        *ok += refused(copy, size);
        (*tried)++;
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* untouched, it still loads */
    rlcc_refiner *r = NULL;
    *ok += rlcc_refiner_load(copy, size, NULL, &r) == RLCC_OK;
    (*tried)++;
    rlcc_refiner_free(r);
    free(copy);
}

static void truncations_and_bit_flips_are_refused(void)
{
    const config kinds[] = {
        {"copy", RLCC_METRIC_EUCLIDEAN, BY_COPY, 0, 0.0f, 0, 0, 0, 0},
        {"logits", RLCC_METRIC_COSINE, BY_CALLBACK, 1, 0.0f, 0, 0, 0, 0},
        {"kNN lists, outliers kept", RLCC_METRIC_JACCARD, BY_BORROW, 0, 0.5f, 1, 0, 0, 1},
    };
    long tried = 0, ok = 0;
    for (size_t c = 0; c < sizeof kinds / sizeof kinds[0]; c++)
        for (int gens = 0; gens <= 3; gens++) {
            size_t size;
            uint8_t *s = small_state(&kinds[c], gens, &size);
            sweep(s, size, 1, &tried, &ok);
            free(s);
        }
    /* a dense sample of a larger state: every 7th bit, every truncation */
    const config big = {"logits", RLCC_METRIC_JACCARD, BY_COPY, 1, 0.0f, 0, 0, 0, 0};
    saved v = saved_after(&big, 3);
    sweep(v.s, v.size, 7, &tried, &ok);
    saved_free(&v);
    if (ok != tried)
        fprintf(stderr, "  %ld of %ld damaged states not refused as they should be\n",
                tried - ok, tried);
    CHECK_EQ(ok, tried);
    printf("# %ld damaged states refused\n", tried - 1 - 3 * 4);
}

/* An edit of a valid state, resealed so that its checksum is right: refused
 * all the same, with a message that names what is wrong. */
typedef struct edit {
    const char *what;
    size_t at;
    int width;     /* 4 or 8 bytes, or 0: a float32 / -1: a float64 */
    double value;
    const char *message;
} edit;

static void check_edit(const uint8_t *good, size_t size, const edit *e)
{
    uint8_t *s = malloc(size);
    memcpy(s, good, size);
    if (e->width == 4)
        set_le32(s + e->at, (uint32_t)(int64_t)e->value);
    else if (e->width == 8)
        set_le64(s + e->at, (uint64_t)(int64_t)e->value);
    else if (e->width == 0)
        set_f32(s + e->at, (float)e->value);
    else
        set_f64(s + e->at, e->value);
    reseal(s, size);
    rlcc_refiner *out = SENTINEL;
    const int rc = rlcc_refiner_load(s, size, NULL, &out);
    const int ok = rc == RLCC_E_INVALID_ARGUMENT && out == SENTINEL &&
                   strncmp(rlcc_last_error(), "state: ", 7) == 0 &&
                   strstr(rlcc_last_error(), e->message) != NULL;
    if (!ok)
        fprintf(stderr, "  %s: rc %d, \"%s\", wanted \"%s\"\n", e->what, rc, rlcc_last_error(),
                e->message);
    CHECK(ok);
    if (rc == RLCC_OK && out != SENTINEL)
        rlcc_refiner_free(out);
    free(s);
}

/* Cuts bytes [from, from + count) out of a state: the size field and the
 * checksum follow. */
static uint8_t *cut(const uint8_t *s, size_t size, size_t from, size_t count, size_t *out_size)
{
    uint8_t *c = malloc(size - count);
    memcpy(c, s, from);
    memcpy(c + from, s + from + count, size - from - count);
    *out_size = size - count;
    set_le64(c + AT_SIZE, *out_size);
    reseal(c, *out_size);
    return c;
}

static void consistent_checksums_over_wrong_content_are_refused(void)
{
    const config c = {"copy", RLCC_METRIC_JACCARD, BY_COPY, 0, 0.0f, 0, 0, 0, 0};
    saved v = saved_after(&c, 3);
    const uint8_t *s = v.s;
    const size_t size = v.size;
    data *g = v.g;
    const int64_t k = (int64_t)le64(s + AT_K), kp = (int64_t)le64(s + AT_K_PREV);
    const size_t labels = AT_ARRAYS, cents = labels + 4 * N, prev = cents + 4 * (size_t)(D * k);
    const size_t features = prev + 4 * N + 4 * (size_t)(D * kp);
    const edit edits[] = {
        {"format 3", AT_FORMAT, 4, 3, "format version 3"},
        /* format 2 exists (1.7) but holds InfoMap and k-means refiners only;
         * a DBSCAN state relabelled format 2 is also shorter than its header */
        {"format 2 of a DBSCAN refiner", AT_FORMAT, 4, 2, "is written in format 1"},
        {"format 0", AT_FORMAT, 4, 0, "format version 0"},
        {"flags", AT_FLAGS, 4, 0x10, "flags"},
        {"reserved", AT_RESERVED, 4, 1, "reserved"},
        {"n 0", AT_N, 8, 0, "n: 0"},
        {"n negative", AT_N, 8, -5, "n: -5"},
        {"n other", AT_N, 8, N - 1, "sizes in its header"},
        {"d 0", AT_D, 8, 0, "d: 0"},
        {"d other", AT_D, 8, D + 1, "sizes in its header"},
        {"generations negative", AT_DONE, 8, -1, "negative"},
        {"generations 1 with k'", AT_DONE, 8, 1, "previous classes"},
        {"classes 0", AT_K, 8, 0, "classes is 0"},
        {"classes above n", AT_K, 8, N + 1, "classes is"},
        {"threshold above 1", AT_THRESHOLD, -1, 1.5, "threshold"},
        {"threshold NaN", AT_THRESHOLD, -1, NAN, "threshold"},
        {"alpha 2", AT_ALPHA, 0, 2.0, "alpha"},
        {"alpha NaN", AT_ALPHA, 0, NAN, "alpha"},
        {"beta 1 (no features then)", AT_BETA, 0, 1.0, "features where"},
        {"metric", AT_METRIC, 4, 7, "metric"},
        {"k1 above n", AT_K1, 4, N + 1, "k1"},
        {"outliers", AT_OUTLIERS, 4, 5, "outliers"},
        {"n_eps 2", AT_N_EPS, 4, 2, "n_eps"},
        {"method", AT_METHOD, 4, 3, "method"},
        {"eps unsorted", AT_EPS, -1, 0.61, "ascending"},
        {"eps NaN", AT_EPS + 8, -1, NAN, "eps"},
        {"pseudo threshold", AT_PSEUDO_THRESHOLD, -1, 0.3, "threshold"},
        {"max_bytes negative", AT_MAX_BYTES, 8, -1, "max_bytes"},
        {"label beyond k", labels + 4, 4, (double)k, "labels"},
        {"label -2", labels + 4, 4, -2, "labels"},
        {"label -1 under singleton", labels + 8, 4, -1, "singleton"},
        {"previous label beyond k'", prev + 12, 4, (double)kp, "previous labels"},
        {"centroid NaN", cents + 20, 0, NAN, "centroids: NaN"},
        {"centroid inf", cents + 4 * D, 0, INFINITY, "centroids: inf"},
        {"centroid not unit", cents, 0, 7.0, "squared norm"},
        {"previous centroid not unit", prev + 4 * N, 0, 3.0, "previous centroids"},
        {"features NaN", features + 40, 0, NAN, "features"},
        {"features huge", features, 0, 1e37, "features"},
    };
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++)
        check_edit(s, size, &edits[e]);
    /* an empty class where the guard leaves none: the largest class's
     * members move to class 0, and the class count follows */
    {
        uint8_t *t = malloc(size);
        memcpy(t, s, size);
        int64_t members = 0;
        for (int i = 0; i < N; i++)
            if ((int32_t)le32(t + labels + 4 * i) == 1) {
                set_le32(t + labels + 4 * i, 0);
                members++;
            }
        CHECK(members > 0);
        reseal(t, size);
        CHECK(refused(t, size) && strstr(rlcc_last_error(), "class 1 has no member"));
        free(t);
    }
    /* the largest label below k - 1: class k - 1's members move to class 0 */
    {
        uint8_t *t = malloc(size);
        memcpy(t, s, size);
        for (int i = 0; i < N; i++)
            if ((int32_t)le32(t + labels + 4 * i) == k - 1)
                set_le32(t + labels + 4 * i, 0);
        reseal(t, size);
        CHECK(refused(t, size) && strstr(rlcc_last_error(), "the largest label is"));
        free(t);
    }
    /* the features cut out: the targets would have nothing to read */
    size_t short_size;
    uint8_t *t = cut(s, size, features, 4 * N * D, &short_size);
    set_le32(t + AT_FLAGS, 0);
    reseal(t, short_size);
    CHECK(refused(t, short_size) && strstr(rlcc_last_error(), "no features"));
    free(t);
    /* kNN lists under a metric that never reads them */
    {
        const size_t lists = 8 * N * 10;
        uint8_t *u = malloc(size + lists);
        memcpy(u, s, size - 4);
        memset(u + size - 4, 0, lists);
        set_le64(u + AT_SIZE, size + lists);
        set_le32(u + AT_FLAGS, 2 | 4);
        set_le32(u + AT_METRIC, RLCC_METRIC_EUCLIDEAN);
        set_f64(u + AT_EPS, 0.5), set_f64(u + AT_EPS + 8, 0.6), set_f64(u + AT_EPS + 16, 0.7);
        reseal(u, size + lists);
        CHECK(refused(u, size + lists) && strstr(rlcc_last_error(), "kNN lists"));
        /* and with Jaccard, the same bytes load: lists are the step's to check */
        set_le32(u + AT_METRIC, RLCC_METRIC_JACCARD);
        memcpy(u + AT_EPS, s + AT_EPS, 24);
        reseal(u, size + lists);
        rlcc_refiner *loaded = NULL;
        CHECK_OK(rlcc_refiner_load(u, size + lists, NULL, &loaded));
        CHECK_ERR(step(loaded, &c, g, 3), RLCC_E_INVALID_ARGUMENT, "knn: row 0 lists 0 twice");
        CHECK_EQ(rlcc_refiner_generation(loaded), 3);
        rlcc_refiner_free(loaded);
        free(u);
    }
    /* probabilities out of [0, 1], in a state of a logits refiner */
    {
        const config lc = {"logits", RLCC_METRIC_JACCARD, BY_COPY, 1, 0.0f, 0, 0, 0, 0};
        saved lv = saved_after(&lc, 2);
        const uint8_t *ls = lv.s;
        const size_t lsize = lv.size;
        const int64_t lk = (int64_t)le64(ls + AT_K), lkp = (int64_t)le64(ls + AT_K_PREV);
        const size_t probs = AT_ARRAYS + 8 * N + 4 * (size_t)(D * (lk + lkp));
        const edit pedits[] = {
            {"probability above 1", probs + 8, 0, 1.5, "outside [0, 1]"},
            {"probabilities not summing to 1", probs, 0, 0.0, "sums to"},
            {"probability negative", probs, 0, -0.25, "outside [0, 1]"},
            {"probability NaN", probs + 4, 0, NAN, "probabilities: NaN"},
            {"generation 1 with probabilities", AT_DONE, 8, 1, "previous classes"},
        };
        for (size_t e = 0; e < sizeof pedits / sizeof pedits[0]; e++)
            check_edit(ls, lsize, &pedits[e]);
        saved_free(&lv);
    }
    /* foreign bytes */
    uint8_t *foreign = malloc(size);
    memcpy(foreign, s, size);
    foreign[1] = 'X';
    reseal(foreign, size);
    CHECK(refused(foreign, size) && strstr(rlcc_last_error(), "not a librlcc refiner state"));
    CHECK(refused((const uint8_t *)"RLCC", 4));
    free(foreign);
    /* a newer format names the version that wrote it */
    uint8_t *newer = malloc(size);
    memcpy(newer, s, size);
    set_le32(newer + AT_FORMAT, RLCC_STATE_FORMAT + 1);
    set_le32(newer + AT_WRITER, 10900);
    reseal(newer, size);
    CHECK(refused(newer, size) && strstr(rlcc_last_error(), "written by librlcc 1.9.0"));
    free(newer);
    saved_free(&v);
}

/* ---- load's arguments and memory ----------------------------------------------- */

static void load_options_and_memory(void)
{
    rlcc_load_options o;
    CHECK_OK(rlcc_load_options_init(&o, sizeof o));
    CHECK_EQ(sizeof(rlcc_load_options), 24);
    CHECK_EQ(offsetof(rlcc_load_options, n_threads), 8);
    CHECK_EQ(offsetof(rlcc_load_options, reserved), 12);
    CHECK_EQ(offsetof(rlcc_load_options, max_bytes), 16);
    CHECK(o.struct_size == sizeof o && o.n_threads == 0 && o.reserved == 0 && o.max_bytes == 0);
    const config c = {"copy", RLCC_METRIC_JACCARD, BY_COPY, 0, 0.0f, 0, 0, 0, 0};
    saved v = saved_after(&c, 3);
    const rlcc_refiner *r = v.r;
    const uint8_t *s = v.s;
    const size_t size = v.size;
    data *g = v.g;
    rlcc_refiner *out = SENTINEL;
    CHECK_ERR(rlcc_refiner_load(s, size, NULL, NULL), RLCC_E_INVALID_ARGUMENT, "out");
    CHECK_ERR(rlcc_refiner_load(NULL, size, NULL, &out), RLCC_E_INVALID_ARGUMENT, "state: is NULL");
    CHECK_ERR(rlcc_refiner_load(NULL, 0, NULL, &out), RLCC_E_INVALID_ARGUMENT, "state:");
    o.reserved = 1;
    CHECK_ERR(rlcc_refiner_load(s, size, &o, &out), RLCC_E_INVALID_ARGUMENT, "options.reserved");
    o.reserved = 0;
    o.max_bytes = -1;
    CHECK_ERR(rlcc_refiner_load(s, size, &o, &out), RLCC_E_INVALID_ARGUMENT, "max_bytes");
    o.max_bytes = 0;
    o.n_threads = -2;
    CHECK_ERR(rlcc_refiner_load(s, size, &o, &out), RLCC_E_INVALID_ARGUMENT, "n_threads");
    o.n_threads = 0;
    o.struct_size = 8;
    CHECK_ERR(rlcc_refiner_load(s, size, &o, &out), RLCC_E_INVALID_ARGUMENT, "struct_size");
    o.struct_size = sizeof o;
    /* the bound holds for the new refiner's arrays and the call's scratch */
    const int64_t held = rlcc_refiner_bytes(r);
    o.max_bytes = held;
    CHECK_ERR(rlcc_refiner_load(s, size, &o, &out), RLCC_E_MEMORY_LIMIT, "");
    o.max_bytes = 1;
    CHECK_ERR(rlcc_refiner_load(s, size, &o, &out), RLCC_E_MEMORY_LIMIT, "");
    CHECK(out == SENTINEL);
    /* threads do not change a thing; a roomy bound loads what the refiner held */
    for (int32_t threads = 1; threads <= 3; threads++) {
        o.n_threads = threads;
        o.max_bytes = 2 * held + 65536;
        rlcc_refiner *b = NULL;
        CHECK_OK(rlcc_refiner_load(s, size, &o, &b));
        CHECK_EQ(rlcc_refiner_bytes(b), held);
        CHECK(same_refiners(r, b, N, D, 0));
        rlcc_refiner_free(b);
    }
    /* a refiner whose own budget is below what it holds (its steps were
     * given more) loads with the call's bound, and keeps its own budget */
    const config small = c;
    rlcc_pseudo_options p = pseudo_of(&small);
    p.max_bytes = 1000;
    rlcc_refiner *tight = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, &p, NULL, &tight));
    rlcc_step_options so;
    rlcc_step_options_init(&so, sizeof so);
    so.max_bytes = 64 << 20;
    CHECK_OK(rlcc_refiner_step_matrix(tight, g->x[0], D, &so));
    CHECK_OK(rlcc_refiner_step_matrix(tight, g->x[1], D, &so));
    size_t tsize;
    uint8_t *ts = save(tight, &tsize);
    CHECK_ERR(rlcc_refiner_load(ts, tsize, NULL, &out), RLCC_E_MEMORY_LIMIT, "max_bytes 1000");
    o.max_bytes = 64 << 20;
    rlcc_refiner *b = NULL;
    CHECK_OK(rlcc_refiner_load(ts, tsize, &o, &b));
    size_t bsize;
    uint8_t *bs = save(b, &bsize);
    CHECK(bsize == tsize && memcmp(bs, ts, tsize) == 0);
    CHECK_EQ(rlcc_refiner_bytes(b), rlcc_refiner_bytes(tight));
    free(bs);
    CHECK_ERR(rlcc_refiner_step_matrix(b, g->x[2], D, NULL), RLCC_E_MEMORY_LIMIT, "");
    CHECK_OK(rlcc_refiner_step_matrix(b, g->x[2], D, &so));
    rlcc_refiner_free(b);
    free(ts);
    rlcc_refiner_free(tight);
    saved_free(&v);
}

const test_case checkpoint_tests[] = {
    {"restored_refiners_continue_bit_for_bit", restored_refiners_continue_bit_for_bit},
    {"restored_refiners_other_options", restored_refiners_other_options},
    {"the_bytes_are_the_documented_format", the_bytes_are_the_documented_format},
    {"save_sizes_and_refusals", save_sizes_and_refusals},
    {"save_is_a_reader", save_is_a_reader},
    {"truncations_and_bit_flips_are_refused", truncations_and_bit_flips_are_refused},
    {"consistent_checksums_over_wrong_content_are_refused",
     consistent_checksums_over_wrong_content_are_refused},
    {"load_options_and_memory", load_options_and_memory},
    {NULL, NULL},
};
