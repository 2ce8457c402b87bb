/*
 * refiner.c - RLCC across generations. A refiner keeps what generation t
 * needs from t-1, and nothing else: labels, centroids, the normalised
 * consensus matrix, the reliability threshold, and the features only when
 * the per-batch class probabilities will read them. One step per epoch
 * reads the features (through the caller's callback, or from the caller's
 * matrix), clusters them and computes the consensus; training targets are
 * then computed per batch of samples, never as an n x K matrix.
 *
 * Every byte a refiner holds is charged to its budget, and a step runs
 * against that same budget, so max_bytes bounds the held state and the
 * step's working memory together.
 *
 * A step is transactional: everything new is built aside and swapped in
 * only when the step succeeds, so an error or a cancel leaves the refiner
 * exactly as it was.
 */
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "refiner.h"

#define OPTIONS_SIZE_1_2 (offsetof(rlcc_refiner_options, scale) + sizeof(float))
#define STEP_OPTIONS_SIZE_1_4 (offsetof(rlcc_step_options, max_bytes) + sizeof(int64_t))
#define TARGETS_OPTIONS_SIZE_1_4 (offsetof(rlcc_targets_options, max_bytes) + sizeof(int64_t))

int rlcc_refiner_options_init(rlcc_refiner_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_refiner_options defaults = {
        .struct_size = sizeof defaults, .alpha = 0.9f, .w = 0.9f, .beta = 0.0f, .scale = 30.0f};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             OPTIONS_SIZE_1_2, "options");
}

int rlcc_step_options_init(rlcc_step_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_step_options defaults = {.struct_size = sizeof defaults, .batch = 1024};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             STEP_OPTIONS_SIZE_1_4, "options");
}

int rlcc_targets_options_init(rlcc_targets_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_targets_options defaults = {.struct_size = sizeof defaults};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             TARGETS_OPTIONS_SIZE_1_4, "options");
}

static void generation_release(rlcc__generation *g, int64_t n, int64_t d, rlcc__budget *budget)
{
    rlcc__free(budget, g->labels, n, sizeof *g->labels);
    rlcc__free(budget, g->centroids, g->k * d, sizeof *g->centroids);
    if (g->chat.indptr != NULL)
        rlcc__csr_release(&g->chat, budget);
    rlcc__free(budget, g->probs, n * g->probs_cols, sizeof *g->probs);
    memset(g, 0, sizeof *g);
}

static void drop_features(rlcc_refiner *r)
{
    rlcc__free(&r->budget, r->x_copy, r->n * r->d, sizeof *r->x_copy);
    r->x_copy = NULL;
    r->x = NULL;
    r->ldx = 0;
}

void rlcc__refiner_release(rlcc_refiner *r)
{
    if (r == NULL)
        return;
    generation_release(&r->cur, r->n, r->d, &r->budget);
    rlcc__free(&r->budget, r->prev_labels, r->n, sizeof *r->prev_labels);
    rlcc__free(&r->budget, r->prev_centroids, r->prev_k * r->d, sizeof *r->prev_centroids);
    drop_features(r);
    rlcc__free(&r->budget, r->next_knn, r->knn_count, sizeof *r->next_knn);
    rlcc__system_free(r, sizeof *r);
}

void rlcc_refiner_free(rlcc_refiner *refiner)
{
    if (refiner == NULL)
        return;
    /* inside a step's callback: that step frees it when it ends (freeing now
     * would pull the handle from under it) */
    if (atomic_load(&refiner->users) < 0) {
        refiner->free_pending = 1;
        return;
    }
    rlcc__refiner_release(refiner);
}

int rlcc__refiner_check_setup(int64_t n, int64_t d, const rlcc_pseudo_options *pseudo,
                              const rlcc_refiner_options *options, rlcc_pseudo_options *p,
                              rlcc_refiner_options *o)
{
    rlcc_refiner_options_init(o, sizeof *o);
    int err = RLCC_OK;
    if (n < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n: %lld must be >= 1", (long long)n);
    if (err == RLCC_OK)
        err = rlcc__check_row_count("refiner", n);
    if (err == RLCC_OK && (d < 1 || d > INT32_MAX || rlcc__mul(n, d) < 0))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "d: %lld must be in [1, INT32_MAX]", (long long)d);
    if (err == RLCC_OK)
        err = rlcc__read_struct(o, sizeof *o, options, OPTIONS_SIZE_1_2, "options");
    if (err == RLCC_OK)
        err = rlcc__check_unit_interval("alpha", o->alpha);
    if (err == RLCC_OK)
        err = rlcc__check_unit_interval("w", o->w);
    if (err == RLCC_OK)
        err = rlcc__check_unit_interval("beta", o->beta);
    if (err == RLCC_OK && !(o->scale > 0.0f && isfinite(o->scale)))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "scale: %g must be > 0", (double)o->scale);
    if (err == RLCC_OK)
        err = rlcc__check_pseudo_options(pseudo, n, p);
    if (err == RLCC_OK && p->knn != NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "pseudo: knn must be NULL here; each generation's lists are given "
                         "to rlcc_refiner_set_knn()");
    if (err == RLCC_OK && p->kmeans_init != NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "pseudo: kmeans_init must be NULL here; each generation starts from "
                         "faiss's start rows of its own features");
    return err;
}

/* The threshold a refiner with these options can hold after `done`
 * generations (pseudo.c: the one given, 0 without the criterion, else the
 * computed R_indep minimum in [0, 1]). */
int rlcc__refiner_check_threshold(const char *name, double t, int64_t done,
                                  const rlcc_pseudo_options *p)
{
    const char *want = NULL;
    if (done == 0 && !(t == p->threshold))
        want = "before generation 1, the pseudo-label options' threshold";
    else if (done > 0 && !p->reliability && !(t == 0.0))
        want = "0 without the reliability criterion";
    else if (done > 0 && p->reliability && p->threshold >= 0.0 && !(t == p->threshold))
        want = "the pseudo-label options' threshold, which it was given";
    else if (done > 0 && p->reliability && p->threshold < 0.0 && !(t >= 0.0 && t <= 1.0))
        want = "a computed one, in [0, 1]";
    if (want == NULL)
        return RLCC_OK;
    return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s %g is not what these options give (%s)", name,
                      t, want);
}

/* Labels as rlcc_pseudo_labels() leaves them: in [-1, k) with k - 1 the
 * largest, no -1 under the singleton policy, and no empty class unless the
 * reliability criterion runs without its guard. */
int rlcc__refiner_check_labels(const char *name, const int32_t *labels, int64_t n, int64_t k,
                               const rlcc_pseudo_options *p, rlcc__budget *budget)
{
    int64_t classes = k;
    int err = rlcc__check_labels(name, labels, n, &classes);
    if (err != RLCC_OK)
        return err;
    int32_t top = -1;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] == -1 && p->outliers == RLCC_OUTLIERS_SINGLETON)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "%s: sample %lld is noise (-1), which the singleton outlier "
                              "policy never leaves",
                              name, (long long)i);
        top = labels[i] > top ? labels[i] : top;
    }
    if ((int64_t)top + 1 != k)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: the largest label is %d, but there are %lld classes",
                          name, (int)top, (long long)k);
    if (p->reliability && !p->guard)
        return RLCC_OK; /* SpCL without the guard may leave gaps */
    uint8_t *seen = rlcc__calloc(budget, k, sizeof *seen, "label check", &err);
    if (seen == NULL)
        return err;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] >= 0)
            seen[labels[i]] = 1;
    int64_t empty = 0;
    while (empty < k && seen[empty])
        empty++;
    rlcc__free(budget, seen, k, sizeof *seen);
    if (empty < k)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: class %lld has no member, which these options never leave",
                          name, (long long)empty);
    return RLCC_OK;
}

/* Finite rows of unit length or zero, as rlcc_centroids() makes them. */
int rlcc__refiner_check_centroids(const char *name, const float *c, int64_t k, int64_t d,
                                  int64_t ld)
{
    int err = rlcc__check_finite(name, c, k, d, ld);
    for (int64_t a = 0; err == RLCC_OK && a < k; a++) {
        double sum = 0.0;
        for (int64_t j = 0; j < d; j++)
            sum += (double)c[a * ld + j] * (double)c[a * ld + j];
        if (sum != 0.0 && fabs(sum - 1.0) > 1e-3)
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "%s: row %lld has squared norm %g; centroids are unit rows or zero",
                             name, (long long)a, sum);
    }
    return err;
}


rlcc_refiner *rlcc__refiner_create(int64_t n, int64_t d, const rlcc_pseudo_options *p,
                                   const rlcc_refiner_options *o)
{
    rlcc_refiner *r = rlcc__zalloc(sizeof *r);
    if (r == NULL) {
        rlcc__fail(RLCC_E_OUT_OF_MEMORY, "refiner: could not allocate");
        return NULL;
    }
    r->n = n;
    r->d = d;
    r->pseudo = *p;
    r->options = *o;
    r->threshold = p->threshold;
    rlcc__budget_init(&r->budget, p->max_bytes);
    return r;
}

int rlcc_refiner_new(int64_t n, int64_t d, const rlcc_pseudo_options *pseudo,
                     const rlcc_refiner_options *options, rlcc_refiner **out)
{
    rlcc__clear_error();
    rlcc_pseudo_options p;
    rlcc_refiner_options o;
    int err = out == NULL ? rlcc__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL")
                          : rlcc__refiner_check_setup(n, d, pseudo, options, &p, &o);
    if (err != RLCC_OK)
        return err;
    rlcc_refiner *r = rlcc__refiner_create(n, d, &p, &o);
    if (r == NULL)
        return RLCC_E_OUT_OF_MEMORY;
    *out = r;
    return RLCC_OK;
}

/* Reports progress; a non-zero answer cancels. */
static int report(rlcc_progress_fn progress, void *data, int32_t stage, double fraction)
{
    if (progress != NULL && progress(stage, fraction, data) != 0)
        return rlcc__fail(RLCC_E_CANCELED, "canceled by the progress callback at stage %d",
                          (int)stage);
    return RLCC_OK;
}

/* Reads all n rows through the features callback, batch rows at a time. */
static int read_features(const rlcc_refiner *r, rlcc_features_fn features, void *data,
                         const rlcc_step_options *o, float *x)
{
    const int64_t batch = o->batch;
    for (int64_t start = 0; start < r->n; start += batch) {
        const int64_t count = r->n - start < batch ? r->n - start : batch;
        const int64_t filled = features(start, count, x + start * r->d, r->d, data);
        if (filled < 0)
            return rlcc__fail(RLCC_E_CALLBACK,
                              "features callback returned %lld for rows [%lld, %lld)",
                              (long long)filled, (long long)start, (long long)(start + count));
        if (filled != count)
            return rlcc__fail(RLCC_E_CALLBACK,
                              "features callback filled %lld of %lld rows at row %lld",
                              (long long)filled, (long long)count, (long long)start);
        int err = report(o->progress, o->progress_data, RLCC_STAGE_FEATURES,
                         (double)(start + count) / (double)r->n);
        if (err != RLCC_OK)
            return err;
    }
    return RLCC_OK;
}

/* Probabilities from the previous model's logits, a row softmax each. */
static int read_logits(const rlcc_refiner *r, rlcc_logits_fn logits, void *data, int64_t batch,
                       int64_t k_prev, float *probs)
{
    for (int64_t start = 0; start < r->n; start += batch) {
        const int64_t count = r->n - start < batch ? r->n - start : batch;
        float *rows = probs + start * k_prev;
        const int64_t filled = logits(start, count, k_prev, rows, k_prev, data);
        if (filled != count)
            return rlcc__fail(RLCC_E_CALLBACK,
                              filled < 0 ? "logits callback returned %lld for rows starting at %lld"
                                         : "logits callback filled %lld rows at row %lld",
                              (long long)filled, (long long)start);
        for (int64_t e = 0; e < count * k_prev; e++)
            if (!isfinite(rows[e]))
                return rlcc__fail(RLCC_E_CALLBACK, "logits callback gave %s at row %lld",
                                  isnan(rows[e]) ? "NaN" : "inf", (long long)(start + e / k_prev));
        for (int64_t i = 0; i < count; i++)
            rlcc__softmax_row(rows + i * k_prev, k_prev);
    }
    return RLCC_OK;
}

static int busy(void)
{
    return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                      "refiner: in use by another call (a step excludes every other call "
                      "on the same handle)");
}

int rlcc__refiner_enter_reader(const rlcc_refiner *r)
{
    _Atomic int32_t *users = (_Atomic int32_t *)&r->users;
    int32_t now = *users;
    do {
        if (now < 0)
            return busy();
    } while (!atomic_compare_exchange_weak(users, &now, now + 1));
    return RLCC_OK;
}

void rlcc__refiner_leave_reader(const rlcc_refiner *r)
{
    (*(_Atomic int32_t *)&r->users)--;
}

/* Takes the handle alone (a step, rlcc_refiner_set_knn): refused while a
 * step or a reader is inside; a getter inside is waited for, as it leaves
 * within a few instructions (and one that comes now sees the step). */
static int enter_alone(rlcc_refiner *r)
{
    int32_t idle = 0;
    if (!atomic_compare_exchange_strong(&r->users, &idle, -1))
        return busy();
    while (atomic_load(&r->peekers) > 0)
        sched_yield();
    return RLCC_OK;
}

/* Gives the handle back, and frees it if a callback asked to meanwhile. */
static void leave_alone(rlcc_refiner *r)
{
    r->users = 0;
    if (r->free_pending)
        rlcc__refiner_release(r);
}

/* A getter's entry: 0 (it answers "in use") while a step holds the handle,
 * else 1 and the getter reads, then leaves with peek_leave(). */
static int peek_enter(const rlcc_refiner *r)
{
    _Atomic int32_t *peekers = (_Atomic int32_t *)&r->peekers;
    atomic_fetch_add(peekers, 1);
    if (atomic_load(&r->users) >= 0)
        return 1;
    atomic_fetch_sub(peekers, 1);
    return 0;
}

static void peek_leave(const rlcc_refiner *r)
{
    atomic_fetch_sub((_Atomic int32_t *)&r->peekers, 1);
}

/* Where a step's features come from: the callback, or the caller's matrix. */
typedef struct step_source {
    rlcc_features_fn features; /* NULL for a matrix */
    void *features_data;
    const float *x;            /* the caller's matrix, or NULL */
    int64_t ldx;
    /* rlcc_refiner_step_labels(): no features at all, but the caller's
     * generation (checked) */
    int caller_rows;
    const int32_t *labels;
    int64_t k;
    const float *centroids;
    int64_t ldc;
    double threshold;
} step_source;

/* The new generation's features for later targets, when they will be read:
 * *fresh is a buffer to swap in (the one read into, or a new copy), or
 * NULL when the refiner's own copy is to be overwritten at the commit
 * (same size; nothing can fail there). */
static int keep_features(rlcc_refiner *r, const step_source *src, const rlcc_step_options *o,
                         float **read, float **fresh)
{
    *fresh = NULL;
    if (o->borrow)
        return RLCC_OK;
    if (*read != NULL) { /* the rows read through the callback */
        *fresh = *read;
        *read = NULL;
        return RLCC_OK;
    }
    if (r->x_copy != NULL)
        return RLCC_OK;
    int err;
    *fresh = rlcc__alloc(&r->budget, r->n * r->d, sizeof **fresh, "refiner features", &err);
    if (*fresh == NULL)
        return err;
    for (int64_t i = 0; i < r->n; i++)
        memcpy(*fresh + i * r->d, src->x + i * src->ldx, sizeof **fresh * (size_t)r->d);
    return RLCC_OK;
}

/* Swaps the new generation in; nothing here can fail. */
static void commit(rlcc_refiner *r, rlcc__generation *next, const step_source *src,
                   const rlcc_step_options *o, int keep, float *fresh, double threshold)
{
    rlcc__budget *b = &r->budget;
    rlcc__free(b, r->prev_labels, r->n, sizeof *r->prev_labels);
    rlcc__free(b, r->prev_centroids, r->prev_k * r->d, sizeof *r->prev_centroids);
    r->prev_labels = r->cur.labels;
    r->prev_centroids = r->cur.centroids;
    r->prev_k = r->cur.k;
    if (r->cur.chat.indptr != NULL)
        rlcc__csr_release(&r->cur.chat, b);
    rlcc__free(b, r->cur.probs, r->n * r->cur.probs_cols, sizeof *r->cur.probs);
    r->cur = *next;
    if (!keep) {
        drop_features(r);
    } else if (o->borrow) {
        drop_features(r);
        r->x = src->x;
        r->ldx = src->ldx;
    } else {
        if (fresh != NULL) {
            drop_features(r);
            r->x_copy = fresh;
        } else { /* overwrite the copy of the previous generation */
            for (int64_t i = 0; i < r->n; i++)
                memcpy(r->x_copy + i * r->d, src->x + i * src->ldx,
                       sizeof *r->x_copy * (size_t)r->d);
        }
        r->x = r->x_copy;
        r->ldx = r->d;
    }
    r->threshold = threshold;
    r->done++;
    /* this step's lists: the next features need their own */
    rlcc__free(b, r->next_knn, r->knn_count, sizeof *r->next_knn);
    r->next_knn = NULL;
    r->knn_count = 0;
}

/* The end of every step, once next holds the new generation's labels,
 * classes and centroids: the consensus with the current generation, the
 * logits' probabilities, the features later targets read, the commit. On
 * an error next (and any copy of the features) is released. */
static int step_conclude(rlcc_refiner *r, rlcc__generation *next, const step_source *src,
                         const rlcc_step_options *o, float **read, double threshold)
{
    const int64_t n = r->n, d = r->d;
    rlcc__budget *b = &r->budget;
    float *fresh = NULL;
    int err = RLCC_OK;
    if (r->done > 0) {
        err = report(o->progress, o->progress_data, RLCC_STAGE_CONSENSUS, 0.0);
        if (err == RLCC_OK)
            err = rlcc__consensus_csr(r->cur.labels, next->labels, n, r->cur.k, next->k,
                                      RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, b, &next->chat);
        if (err == RLCC_OK && o->logits != NULL) {
            next->probs = rlcc__alloc(b, n * r->cur.k, sizeof *next->probs, "refiner logits",
                                      &err);
            next->probs_cols = next->probs != NULL ? r->cur.k : 0;
            if (next->probs != NULL)
                err = read_logits(r, o->logits, o->logits_data, o->batch, r->cur.k, next->probs);
        }
    }
    /* the targets of generation >= 1 read its features, unless the logits
     * or hard-only propagation stand in for them; a step from labels has
     * none to keep, so the caller gives them per batch */
    const int keep = r->done > 0 && r->options.beta < 1.0f && o->logits == NULL;
    if (err == RLCC_OK && keep && !src->caller_rows)
        err = keep_features(r, src, o, read, &fresh);
    if (err == RLCC_OK)
        err = report(o->progress, o->progress_data, RLCC_STAGE_DONE, 1.0);
    if (err == RLCC_OK) {
        commit(r, next, src, o, keep && !src->caller_rows, fresh, threshold);
        r->caller_rows = keep && src->caller_rows;
    } else {
        generation_release(next, n, d, b);
        rlcc__free(b, fresh, n * d, sizeof *fresh);
    }
    return err;
}

/* One generation from features, with the handle held alone and the
 * options checked. */
static int step_locked(rlcc_refiner *r, const step_source *src, const rlcc_step_options *o)
{
    const int64_t n = r->n, d = r->d;
    rlcc__budget *b = &r->budget;
    rlcc__generation next = {0};
    float *read = NULL;
    const float *x = src->x;
    int64_t ldx = src->ldx;
    int err = report(o->progress, o->progress_data, RLCC_STAGE_FEATURES, 0.0);
    if (err == RLCC_OK && src->features != NULL) {
        read = rlcc__alloc(b, n * d, sizeof *read, "refiner features", &err);
        if (read != NULL)
            err = read_features(r, src->features, src->features_data, o, read);
        x = read;
        ldx = d;
    } else if (err == RLCC_OK) {
        err = report(o->progress, o->progress_data, RLCC_STAGE_FEATURES, 1.0);
    }
    if (err == RLCC_OK)
        err = report(o->progress, o->progress_data, RLCC_STAGE_CLUSTERING, 0.0);
    if (err == RLCC_OK && r->next_knn != NULL) /* set_knn copied them unchecked */
        err = rlcc__check_knn_lists(r->next_knn, n, rlcc__pseudo_knn_width(&r->pseudo), b);
    if (err == RLCC_OK)
        next.labels = rlcc__alloc(b, n, sizeof *next.labels, "refiner labels", &err);
    double threshold = r->threshold;
    if (err == RLCC_OK) {
        rlcc_pseudo_options p = r->pseudo;
        p.threshold = r->done == 0 ? r->pseudo.threshold : r->threshold;
        p.knn = r->next_knn;
        p.n_threads = o->n_threads;
        err = rlcc__pseudo_labels(x, n, d, ldx, &p, b, next.labels, &next.k, &threshold);
    }
    if (err == RLCC_OK && next.k < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "no class at all: every sample is noise (use the singleton policy)");
    const int threads = rlcc__resolve_threads(o->n_threads);
    if (err == RLCC_OK)
        next.centroids = rlcc__alloc(b, next.k * d, sizeof *next.centroids, "refiner centroids",
                                     &err);
    if (next.centroids != NULL)
        err = rlcc__centroids(x, n, d, ldx, next.labels, next.k, threads, b, next.centroids, d);
    if (err == RLCC_OK)
        err = step_conclude(r, &next, src, o, &read, threshold);
    else
        generation_release(&next, n, d, b);
    rlcc__free(b, read, n * d, sizeof *read);
    return err;
}

/* One generation from the caller's labels and centroids (checked), with
 * the handle held alone: their copies, then the common end of a step. */
static int step_labels_locked(rlcc_refiner *r, const step_source *src,
                              const rlcc_step_options *o)
{
    const int64_t n = r->n, d = r->d, k = src->k, ldc = src->ldc;
    rlcc__budget *b = &r->budget;
    rlcc__generation next = {0};
    /* a step at generation 0 computes its threshold; later ones keep it */
    int err = r->done == 0 ? rlcc__refiner_check_threshold("threshold", src->threshold, 1,
                                                           &r->pseudo)
              : src->threshold == r->threshold
                  ? RLCC_OK
                  : rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                               "threshold: %g is not the refiner's %g (kept from generation 0; "
                               "rlcc_refiner_threshold())",
                               src->threshold, r->threshold);
    if (err == RLCC_OK)
        err = report(o->progress, o->progress_data, RLCC_STAGE_CLUSTERING, 0.0);
    if (err == RLCC_OK)
        next.labels = rlcc__alloc(b, n, sizeof *next.labels, "refiner labels", &err);
    if (next.labels != NULL) {
        memcpy(next.labels, src->labels, sizeof *next.labels * (size_t)n);
        next.k = k;
        next.centroids = rlcc__alloc(b, k * d, sizeof *next.centroids, "refiner centroids",
                                     &err);
    }
    for (int64_t c = 0; next.centroids != NULL && c < k; c++)
        memcpy(next.centroids + c * d, src->centroids + c * ldc, sizeof(float) * (size_t)d);
    float *read = NULL;
    if (err == RLCC_OK)
        return step_conclude(r, &next, src, o, &read, src->threshold);
    generation_release(&next, n, d, b);
    return err;
}

/* Reads and checks step options; n_threads 0 becomes the refiner's. */
static int read_step_options(const rlcc_refiner *r, const rlcc_step_options *options,
                             rlcc_step_options *o)
{
    rlcc_step_options_init(o, sizeof *o);
    int err = rlcc__read_struct(o, sizeof *o, options, STEP_OPTIONS_SIZE_1_4, "options");
    if (err == RLCC_OK && o->batch < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "batch: %lld must be >= 1", (long long)o->batch);
    if (err == RLCC_OK && o->borrow != 0 && o->borrow != 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "borrow: %d must be 0 or 1", (int)o->borrow);
    if (err == RLCC_OK)
        err = rlcc__check_resources(o->n_threads, o->max_bytes);
    if (err == RLCC_OK && o->n_threads == 0)
        o->n_threads = r->pseudo.n_threads;
    return err;
}

/* Holds the handle alone for one step, under the step's memory bound. */
static int run_step(rlcc_refiner *r, const step_source *src, const rlcc_step_options *o)
{
    int err = enter_alone(r);
    if (err != RLCC_OK)
        return err;
    const int64_t limit = r->budget.limit;
    if (o->max_bytes > 0)
        r->budget.limit = o->max_bytes;
    err = src->caller_rows ? step_labels_locked(r, src, o) : step_locked(r, src, o);
    r->budget.limit = limit;
    leave_alone(r);
    return err;
}

/* What every step entry point checks first: the handle and the options. */
static int begin_step(const rlcc_refiner *r, const rlcc_step_options *options,
                      rlcc_step_options *o)
{
    rlcc__clear_error();
    if (r == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    return read_step_options(r, options, o);
}

int rlcc_refiner_step_opts(rlcc_refiner *r, rlcc_features_fn features, void *features_data,
                           const rlcc_step_options *options)
{
    rlcc_step_options o;
    int err = begin_step(r, options, &o);
    if (err == RLCC_OK && features == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "features: is NULL");
    if (err == RLCC_OK && o.borrow)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "borrow: only rlcc_refiner_step_matrix() can borrow the features");
    if (err != RLCC_OK)
        return err;
    const step_source src = {.features = features, .features_data = features_data};
    return run_step(r, &src, &o);
}

int rlcc_refiner_step(rlcc_refiner *r, rlcc_features_fn features, void *features_data,
                      int64_t batch, rlcc_logits_fn logits, void *logits_data,
                      rlcc_progress_fn progress, void *progress_data)
{
    rlcc__clear_error();
    if (r == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    if (features == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "features: is NULL");
    if (batch < 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "batch: %lld must be >= 1", (long long)batch);
    rlcc_step_options o;
    rlcc_step_options_init(&o, sizeof o);
    o.batch = batch;
    o.logits = logits;
    o.logits_data = logits_data;
    o.progress = progress;
    o.progress_data = progress_data;
    return rlcc_refiner_step_opts(r, features, features_data, &o);
}

int rlcc_refiner_step_matrix(rlcc_refiner *r, const float *x, int64_t ldx,
                             const rlcc_step_options *options)
{
    rlcc_step_options o;
    int err = begin_step(r, options, &o);
    if (err == RLCC_OK && x == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "x: is NULL");
    if (err == RLCC_OK)
        err = rlcc__check_matrix("x", x, r->n, r->d, ldx);
    if (err != RLCC_OK)
        return err;
    const step_source src = {.x = x, .ldx = ldx};
    return run_step(r, &src, &o);
}

/* The caller's generation against what a step under the refiner's options
 * can produce; what depends on the generations done (the threshold) is
 * checked with the handle held, in step_labels_locked(). */
static int check_caller_generation(const rlcc_refiner *r, const step_source *src,
                                   const rlcc_step_options *o)
{
    const rlcc_pseudo_options *p = &r->pseudo;
    /* SpCL's criterion without its guard gives each sample it ejects a
     * class of its own beside the one it leaves */
    const int64_t top = p->reliability && !p->guard ? 2 * r->n : r->n;
    int err = RLCC_OK;
    if (src->labels == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    else if (src->centroids == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "centroids: is NULL");
    else if (src->k < 1 || src->k > top)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_classes: %lld must be in [1, %lld]",
                         (long long)src->k, (long long)top);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("centroids", src->centroids, src->k, r->d, src->ldc);
    if (err == RLCC_OK)
        err = rlcc__refiner_check_centroids("centroids", src->centroids, src->k, r->d, src->ldc);
    if (err == RLCC_OK && o->borrow)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "borrow: rlcc_refiner_step_labels() reads no features to borrow");
    if (err != RLCC_OK)
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, o->max_bytes > 0 ? o->max_bytes : p->max_bytes);
    return rlcc__refiner_check_labels("labels", src->labels, r->n, src->k, p, &budget);
}

int rlcc_refiner_step_labels(rlcc_refiner *r, const int32_t *labels, int64_t n_classes,
                             const float *centroids, int64_t ldc, double threshold,
                             const rlcc_step_options *options)
{
    rlcc_step_options o;
    int err = begin_step(r, options, &o);
    const step_source src = {.caller_rows = 1, .labels = labels, .k = n_classes,
                             .centroids = centroids, .ldc = ldc, .threshold = threshold};
    if (err == RLCC_OK)
        err = check_caller_generation(r, &src, &o);
    if (err != RLCC_OK)
        return err;
    return run_step(r, &src, &o);
}

int rlcc_refiner_set_knn(rlcc_refiner *r, const int64_t *knn)
{
    rlcc__clear_error();
    if (r == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    const int64_t width = rlcc__pseudo_knn_width(&r->pseudo);
    if (knn != NULL && width == 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          r->pseudo.method == RLCC_PSEUDO_KMEANS
                              ? "knn: RLCC_PSEUDO_KMEANS reads no kNN lists"
                              : "knn: only the Jaccard metric reads kNN lists");
    if (knn != NULL && (uint64_t)r->n > SIZE_MAX / sizeof(int64_t) / (uint64_t)width)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "knn: n x %lld entries overflow size_t",
                          (long long)width);
    int err = enter_alone(r);
    if (err != RLCC_OK)
        return err;
    int64_t *copy = NULL;
    const int64_t count = knn != NULL ? r->n * width : 0;
    if (knn != NULL) {
        copy = rlcc__alloc(&r->budget, count, sizeof *copy, "refiner kNN lists", &err);
        if (copy != NULL)
            memcpy(copy, knn, sizeof *copy * (size_t)count);
    }
    if (err == RLCC_OK) {
        rlcc__free(&r->budget, r->next_knn, r->knn_count, sizeof *r->next_knn);
        r->next_knn = copy;
        r->knn_count = count;
    }
    leave_alone(r);
    return err;
}

static int check_ready(const rlcc_refiner *r, const void *out);

/* The getters read a few scalars as peekers, not readers (a poll from
 * another thread never makes a step fail); while a step runs they answer -1
 * (NaN for the threshold) instead of racing it. */
int64_t rlcc_refiner_generation(const rlcc_refiner *r)
{
    if (r == NULL || !peek_enter(r))
        return r == NULL ? 0 : -1;
    const int64_t done = r->done;
    peek_leave(r);
    return done;
}

int64_t rlcc_refiner_n_classes(const rlcc_refiner *r)
{
    if (r == NULL || !peek_enter(r))
        return r == NULL ? 0 : -1;
    const int64_t k = r->done > 0 ? r->cur.k : 0;
    peek_leave(r);
    return k;
}

int64_t rlcc_refiner_bytes(const rlcc_refiner *r)
{
    if (r == NULL || !peek_enter(r))
        return r == NULL ? 0 : -1;
    const int64_t bytes = r->budget.used;
    peek_leave(r);
    return bytes;
}

double rlcc_refiner_threshold(const rlcc_refiner *r)
{
    if (r == NULL || !peek_enter(r))
        return r == NULL ? 0.0 : NAN;
    const double threshold = r->done > 0 ? r->threshold : 0.0;
    peek_leave(r);
    return threshold;
}

/* Enters as a reader and checks there is a generation to read; on success
 * the caller must rlcc__refiner_leave_reader(). */
static int enter_ready(const rlcc_refiner *r, const void *out)
{
    rlcc__clear_error();
    if (r == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    int err = rlcc__refiner_enter_reader(r);
    if (err == RLCC_OK && (err = check_ready(r, out)) != RLCC_OK)
        rlcc__refiner_leave_reader(r);
    return err;
}

/* A reader's output apart from the caller's borrowed matrix, which later
 * targets read, and from rows (the targets' list; an empty span else). */
static int apart_from_borrowed(const rlcc_refiner *r, rlcc__span output, rlcc__span rows)
{
    const rlcc__span inputs[] = {
        rlcc__matrix_span("the borrowed x", r->x_copy == NULL ? r->x : NULL, r->n, r->d, r->ldx,
                          sizeof *r->x),
        rows};
    return rlcc__check_no_overlap(&output, 1, inputs, 2);
}

static int check_ready(const rlcc_refiner *r, const void *out)
{
    if (r->done == 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "refiner: no generation yet (call step)");
    if (out == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL");
    return RLCC_OK;
}

int rlcc_refiner_labels(const rlcc_refiner *r, int32_t *labels)
{
    int err = enter_ready(r, labels);
    if (err != RLCC_OK)
        return err;
    err = apart_from_borrowed(r, rlcc__vector_span("labels", labels, r->n, sizeof *labels),
                              (rlcc__span){0});
    if (err == RLCC_OK)
        memcpy(labels, r->cur.labels, sizeof *labels * (size_t)r->n);
    rlcc__refiner_leave_reader(r);
    return err;
}

int rlcc_refiner_centroids(const rlcc_refiner *r, float *centroids, int64_t ld)
{
    int err = enter_ready(r, centroids);
    if (err != RLCC_OK)
        return err;
    if (ld < r->d || ld > INT32_MAX) /* bounded before c * ld is formed */
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         ld < r->d ? "ld: %lld is smaller than d = %lld"
                                   : "ld: %lld exceeds INT32_MAX (d = %lld)",
                         (long long)ld, (long long)r->d);
    if (err == RLCC_OK)
        err = apart_from_borrowed(r, rlcc__matrix_span("centroids", centroids, r->cur.k, r->d, ld,
                                                       sizeof *centroids),
                                  (rlcc__span){0});
    for (int64_t c = 0; err == RLCC_OK && c < r->cur.k; c++)
        memcpy(centroids + c * ld, r->cur.centroids + c * r->d, sizeof(float) * (size_t)r->d);
    rlcc__refiner_leave_reader(r);
    return err;
}

/* Whether the latest generation's targets read features: from generation
 * 2 on (the second step), with soft propagation and no logits. */
static int targets_read_features(const rlcc_refiner *r)
{
    return r->done >= 2 && r->cur.probs == NULL && r->options.beta < 1.0f;
}

/* The batch's rows the probabilities read: the caller's (batch_x, row q for
 * sample rows[q]) or the refiner's features. */
typedef struct batch_rows {
    const float *x; /* NULL: the refiner's */
    int64_t ldx;
} batch_rows;

/* The class probabilities of a batch against the previous centroids, from
 * the rows the caller gave or from the refiner's features. A caller's
 * matrix with ldx > d is made contiguous first, so the product has the
 * shape (lda = d) of the refiner's own gathered batch and so its bits. */
static int batch_probabilities(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows,
                               const batch_rows *given, int threads, rlcc__budget *budget,
                               float *probs)
{
    const int64_t d = r->d, k_prev = r->prev_k;
    const float scale = r->options.scale;
    if (given->x == NULL)
        return rlcc__class_probabilities(r->x, d, r->ldx, r->prev_centroids, k_prev, d, scale,
                                         rows, n_rows, threads, budget, probs, k_prev);
    if (given->ldx == d)
        return rlcc__class_probabilities(given->x, d, d, r->prev_centroids, k_prev, d, scale,
                                         NULL, n_rows, threads, budget, probs, k_prev);
    int err;
    float *packed = rlcc__alloc(budget, n_rows * d, sizeof *packed, "batch rows", &err);
    if (packed == NULL)
        return err;
    for (int64_t q = 0; q < n_rows; q++)
        memcpy(packed + q * d, given->x + q * given->ldx, sizeof *packed * (size_t)d);
    err = rlcc__class_probabilities(packed, d, d, r->prev_centroids, k_prev, d, scale, NULL,
                                    n_rows, threads, budget, probs, k_prev);
    rlcc__free(budget, packed, n_rows * d, sizeof *packed);
    return err;
}

/* The targets of a batch, the handle held as a reader and every argument
 * checked: only O(batch) work beyond the arithmetic itself. */
static int targets_locked(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows,
                          const batch_rows *given, const rlcc_targets_options *to, float *out,
                          int64_t ld)
{
    const rlcc_refiner_options *o = &r->options;
    const int threads = rlcc__resolve_threads(to->n_threads);
    if (r->done == 1) { /* generation 0: the hard label alone */
        rlcc__blend(r->cur.labels, r->cur.k, NULL, 0, 1.0f, rows, n_rows, threads, out, ld);
        return RLCC_OK;
    }
    const int64_t k_prev = r->prev_k;
    rlcc__budget budget;
    rlcc__budget_init(&budget, to->max_bytes > 0 ? to->max_bytes : r->pseudo.max_bytes);
    int err = RLCC_OK;
    float *probs = NULL;
    const float *p = r->cur.probs;
    if (p != NULL && rows != NULL) { /* the stored probabilities of these rows */
        probs = rlcc__alloc(&budget, n_rows, sizeof *probs * (size_t)k_prev,
                            "batch probabilities", &err);
        for (int64_t q = 0; probs != NULL && q < n_rows; q++)
            memcpy(probs + q * k_prev, p + rows[q] * k_prev, sizeof(float) * (size_t)k_prev);
        p = probs;
    } else if (p == NULL && o->beta < 1.0f) {
        probs = rlcc__alloc(&budget, n_rows, sizeof *probs * (size_t)k_prev,
                            "batch probabilities", &err);
        if (probs != NULL)
            err = batch_probabilities(r, rows, n_rows, given, threads, &budget, probs);
        p = probs;
    }
    if (err == RLCC_OK) {
        /* generation 1: P as it is; from generation 2 on, blended with the
         * previous hard labels */
        const float w = r->done >= 3 ? o->w : 0.0f;
        rlcc__propagate(r->prev_labels, r->cur.chat.indptr, r->cur.chat.indices,
                        r->cur.chat.data, k_prev, r->cur.k, p, k_prev, w, o->beta, rows, n_rows,
                        threads, out, ld);
        rlcc__blend(r->cur.labels, r->cur.k, out, ld, o->alpha, rows, n_rows, threads, out, ld);
    }
    rlcc__free(&budget, probs, n_rows, sizeof *probs * (size_t)k_prev);
    return err;
}

/* What both target calls check, the handle held as a reader; *to receives
 * the options with n_threads resolved to the refiner's. */
static int check_targets_call(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows,
                              const rlcc_targets_options *options, const batch_rows *given,
                              float *out, int64_t ld, rlcc_targets_options *to)
{
    rlcc_targets_options_init(to, sizeof *to);
    int err = rlcc__read_struct(to, sizeof *to, options, TARGETS_OPTIONS_SIZE_1_4, "options");
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", to->reserved);
    if (err == RLCC_OK)
        err = rlcc__check_resources(to->n_threads, to->max_bytes);
    if (err == RLCC_OK)
        err = rlcc__check_sample_rows(rows, n_rows, r->n);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("out", out, n_rows, r->cur.k, ld);
    const int reads = targets_read_features(r);
    if (err == RLCC_OK && reads && given->x != NULL)
        err = rlcc__check_matrix("x", given->x, n_rows, r->d, given->ldx);
    if (err == RLCC_OK) {
        const rlcc__span inputs[] = {
            rlcc__vector_span("rows", rows, n_rows, sizeof *rows),
            rlcc__matrix_span("x", reads ? given->x : NULL, n_rows, r->d, given->ldx,
                              sizeof *given->x)};
        const rlcc__span output = rlcc__matrix_span("out", out, n_rows, r->cur.k, ld, sizeof *out);
        err = apart_from_borrowed(r, output, inputs[0]);
        if (err == RLCC_OK)
            err = rlcc__check_no_overlap(&output, 1, inputs + 1, 1);
    }
    if (err == RLCC_OK && rlcc__mul(n_rows, 4 * r->prev_k) < 0)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "n_rows: %lld rows of %lld probabilities overflow int64",
                         (long long)n_rows, (long long)r->prev_k);
    if (err == RLCC_OK && to->n_threads == 0)
        to->n_threads = r->pseudo.n_threads;
    if (err == RLCC_OK && reads && given->x != NULL)
        err = rlcc__check_probability_rows("x", given->x, r->d, given->ldx, NULL, n_rows,
                                           rlcc__resolve_threads(to->n_threads));
    return err;
}

int rlcc_refiner_targets_opts(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows,
                              const rlcc_targets_options *options, float *out, int64_t ld)
{
    int err = enter_ready(r, out);
    if (err != RLCC_OK)
        return err;
    const batch_rows own = {0};
    rlcc_targets_options to;
    err = check_targets_call(r, rows, n_rows, options, &own, out, ld, &to);
    if (err == RLCC_OK && r->caller_rows && targets_read_features(r))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "x: this generation came from rlcc_refiner_step_labels(), so the "
                         "refiner holds no features; its targets read the batch's rows: pass "
                         "them to rlcc_refiner_targets_rows()");
    if (err == RLCC_OK)
        err = targets_locked(r, rows, n_rows, &own, &to, out, ld);
    rlcc__refiner_leave_reader(r);
    return err;
}

int rlcc_refiner_targets(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows, float *out,
                         int64_t ld)
{
    return rlcc_refiner_targets_opts(r, rows, n_rows, NULL, out, ld);
}

int rlcc_refiner_targets_rows(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows,
                              const float *x, int64_t ldx, const rlcc_targets_options *options,
                              float *out, int64_t ld)
{
    int err = enter_ready(r, out);
    if (err != RLCC_OK)
        return err;
    const int reads = targets_read_features(r);
    const batch_rows given = {.x = reads ? x : NULL, .ldx = ldx};
    rlcc_targets_options to;
    if (reads && x == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "x: is NULL, but this generation's targets read the batch's features "
                         "(generation >= 2, beta < 1, no logits)");
    if (err == RLCC_OK)
        err = check_targets_call(r, rows, n_rows, options, &given, out, ld, &to);
    if (err == RLCC_OK)
        err = targets_locked(r, rows, n_rows, &given, &to, out, ld);
    rlcc__refiner_leave_reader(r);
    return err;
}
