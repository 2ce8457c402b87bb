/*
 * refiner.c - RLCC across generations. A refiner keeps what generation t
 * needs from t-1: labels, centroids, the normalised consensus matrix, the
 * reliability threshold. One step per epoch reads the features through the
 * caller's callback, clusters them and computes the consensus; training
 * targets are then computed per batch of samples, never as an n x K matrix.
 *
 * A step is transactional: everything new is built aside and swapped in
 * only when the step succeeds, so an error or a cancel leaves the refiner
 * exactly as it was.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define OPTIONS_SIZE_1_2 (offsetof(rlcc_refiner_options, scale) + sizeof(float))

/* One generation's results. */
typedef struct generation {
    float *x;          /* n x d features (kept for per-batch probabilities) */
    int32_t *labels;   /* n */
    int64_t k;         /* classes */
    float *centroids;  /* k x d */
    rlcc_csr *chat;    /* k_prev x k: normalised IoU with the previous one */
    float *probs;      /* n x k_prev from the logits callback, or NULL */
} generation;

struct rlcc_refiner {
    /* -1 while a step runs, else the number of readers inside: a step
     * concurrent with anything else on the same handle is refused rather
     * than allowed to corrupt it (see rlcc.h). */
    _Atomic int32_t users;
    int64_t n, d;
    rlcc_pseudo_options pseudo;
    rlcc_refiner_options options;
    int64_t done;      /* generations completed */
    double threshold;  /* reliability threshold, fixed at generation 0 */
    generation cur, prev;
    int64_t *next_knn; /* n x k1 lists for the next step (rlcc_refiner_set_knn), or NULL */
};

int rlcc_refiner_options_init(rlcc_refiner_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_refiner_options defaults = {
        .struct_size = sizeof defaults, .alpha = 0.9f, .w = 0.9f, .beta = 0.0f, .scale = 30.0f};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             OPTIONS_SIZE_1_2, "options");
}

static void generation_free(generation *g)
{
    free(g->x);
    free(g->labels);
    free(g->centroids);
    free(g->probs);
    rlcc_csr_free(g->chat);
    memset(g, 0, sizeof *g);
}

void rlcc_refiner_free(rlcc_refiner *refiner)
{
    if (refiner == NULL)
        return;
    generation_free(&refiner->cur);
    generation_free(&refiner->prev);
    free(refiner->next_knn);
    free(refiner);
}

int rlcc_refiner_new(int64_t n, int64_t d, const rlcc_pseudo_options *pseudo,
                     const rlcc_refiner_options *options, rlcc_refiner **out)
{
    rlcc__clear_error();
    rlcc_pseudo_options p;
    rlcc_refiner_options o;
    rlcc_refiner_options_init(&o, sizeof o);
    int err = out == NULL ? rlcc__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL") : RLCC_OK;
    if (err == RLCC_OK && n < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n: %lld must be >= 1", (long long)n);
    if (err == RLCC_OK)
        err = rlcc__check_rows("refiner", n);
    if (err == RLCC_OK && (d < 1 || d > INT32_MAX || n > INT64_MAX / d))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "d: %lld must be in [1, INT32_MAX]", (long long)d);
    if (err == RLCC_OK)
        err = rlcc__check_pseudo_options(pseudo, &p);
    if (err == RLCC_OK && p.knn != NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "pseudo: knn must be NULL here; each generation's lists are given "
                         "to rlcc_refiner_set_knn()");
    if (err == RLCC_OK)
        err = rlcc__read_struct(&o, sizeof o, options, OPTIONS_SIZE_1_2, "options");
    if (err == RLCC_OK && !(o.alpha >= 0.0f && o.alpha <= 1.0f))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "alpha: %g must be in [0, 1]", (double)o.alpha);
    if (err == RLCC_OK && !(o.w >= 0.0f && o.w <= 1.0f))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "w: %g must be in [0, 1]", (double)o.w);
    if (err == RLCC_OK && !(o.beta >= 0.0f && o.beta <= 1.0f))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "beta: %g must be in [0, 1]", (double)o.beta);
    if (err == RLCC_OK && !(o.scale > 0.0f && isfinite(o.scale)))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "scale: %g must be > 0", (double)o.scale);
    if (err != RLCC_OK)
        return err;
    rlcc_refiner *r = rlcc__zalloc(sizeof *r);
    if (r == NULL)
        return rlcc__fail(RLCC_E_OUT_OF_MEMORY, "refiner: could not allocate");
    r->n = n;
    r->d = d;
    r->pseudo = p;
    r->options = o;
    r->threshold = p.threshold;
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
static int read_features(rlcc_refiner *r, rlcc_features_fn features, void *data, int64_t batch,
                         rlcc_progress_fn progress, void *progress_data, float *x)
{
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
        int err = report(progress, progress_data, RLCC_STAGE_FEATURES,
                         (double)(start + count) / (double)r->n);
        if (err != RLCC_OK)
            return err;
    }
    return RLCC_OK;
}

/* Probabilities from the previous model's logits, a row softmax each. */
static int read_logits(rlcc_refiner *r, rlcc_logits_fn logits, void *data, int64_t batch,
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

/* A reader may enter unless a step is running. */
static int enter_reader(const rlcc_refiner *r)
{
    _Atomic int32_t *users = (_Atomic int32_t *)&r->users;
    int32_t now = *users;
    do {
        if (now < 0)
            return busy();
    } while (!atomic_compare_exchange_weak(users, &now, now + 1));
    return RLCC_OK;
}

static void leave_reader(const rlcc_refiner *r)
{
    (*(_Atomic int32_t *)&r->users)--;
}

static int step_locked(rlcc_refiner *r, rlcc_features_fn features, void *features_data,
                       int64_t batch, rlcc_logits_fn logits, void *logits_data,
                       rlcc_progress_fn progress, void *progress_data);

int rlcc_refiner_step(rlcc_refiner *r, rlcc_features_fn features, void *features_data,
                      int64_t batch, rlcc_logits_fn logits, void *logits_data,
                      rlcc_progress_fn progress, void *progress_data)
{
    rlcc__clear_error();
    if (r == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    int32_t idle = 0;
    if (!atomic_compare_exchange_strong(&r->users, &idle, -1))
        return busy();
    int err = step_locked(r, features, features_data, batch, logits, logits_data, progress,
                          progress_data);
    r->users = 0;
    return err;
}

static int step_locked(rlcc_refiner *r, rlcc_features_fn features, void *features_data,
                       int64_t batch, rlcc_logits_fn logits, void *logits_data,
                       rlcc_progress_fn progress, void *progress_data)
{
    if (features == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "features: is NULL");
    if (batch < 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "batch: %lld must be >= 1", (long long)batch);
    const int64_t n = r->n, d = r->d;
    generation next = {0};
    int err = RLCC_OK;
    next.x = rlcc__malloc(sizeof(float) * (size_t)(n * d));
    next.labels = rlcc__malloc(sizeof(int32_t) * (size_t)n);
    if (next.x == NULL || next.labels == NULL)
        err = rlcc__fail(RLCC_E_OUT_OF_MEMORY, "refiner: could not allocate the features");
    if (err == RLCC_OK)
        err = report(progress, progress_data, RLCC_STAGE_FEATURES, 0.0);
    if (err == RLCC_OK)
        err = read_features(r, features, features_data, batch, progress, progress_data, next.x);
    if (err == RLCC_OK)
        err = report(progress, progress_data, RLCC_STAGE_CLUSTERING, 0.0);
    double threshold = r->threshold;
    if (err == RLCC_OK) {
        rlcc_pseudo_options p = r->pseudo;
        p.threshold = r->done == 0 ? r->pseudo.threshold : r->threshold;
        p.knn = r->next_knn;
        err = rlcc_pseudo_labels(next.x, n, d, d, &p, next.labels, &next.k, &threshold);
    }
    if (err == RLCC_OK && next.k < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "no class at all: every sample is noise (use the singleton policy)");
    if (err == RLCC_OK) {
        next.centroids = rlcc__malloc(sizeof(float) * (size_t)(next.k * d));
        err = next.centroids == NULL
                  ? rlcc__fail(RLCC_E_OUT_OF_MEMORY, "refiner: could not allocate centroids")
                  : rlcc_centroids(next.x, n, d, d, next.labels, next.k, next.centroids, d);
    }
    if (err == RLCC_OK && r->done > 0) {
        err = report(progress, progress_data, RLCC_STAGE_CONSENSUS, 0.0);
        if (err == RLCC_OK)
            err = rlcc_consensus_csr(r->cur.labels, next.labels, n, r->cur.k, next.k,
                                     RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &next.chat);
        if (err == RLCC_OK && logits != NULL) {
            next.probs = rlcc__malloc(sizeof(float) * (size_t)(n * r->cur.k));
            err = next.probs == NULL
                      ? rlcc__fail(RLCC_E_OUT_OF_MEMORY, "refiner: could not allocate logits")
                      : read_logits(r, logits, logits_data, batch, r->cur.k, next.probs);
        }
    }
    if (err == RLCC_OK)
        err = report(progress, progress_data, RLCC_STAGE_DONE, 1.0);
    if (err != RLCC_OK) {
        generation_free(&next);
        return err;
    }
    generation_free(&r->prev);
    r->prev = r->cur;
    r->cur = next;
    r->threshold = threshold;
    r->done++;
    free(r->next_knn); /* this step's lists: the next features need their own */
    r->next_knn = NULL;
    return RLCC_OK;
}

int rlcc_refiner_set_knn(rlcc_refiner *r, const int64_t *knn)
{
    rlcc__clear_error();
    if (r == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    if (knn != NULL && r->pseudo.metric != RLCC_METRIC_JACCARD)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "knn: only the Jaccard metric reads kNN lists");
    /* the lists' size: k1 was read, not yet checked (a step checks it) */
    if (knn != NULL && (r->pseudo.k1 < 1 || r->pseudo.k1 > r->n))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k1: %d must be in [1, n = %lld]",
                          (int)r->pseudo.k1, (long long)r->n);
    if (knn != NULL && (uint64_t)r->n > SIZE_MAX / sizeof(int64_t) / (uint64_t)r->pseudo.k1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "knn: n x k1 entries overflow size_t");
    int32_t idle = 0;
    if (!atomic_compare_exchange_strong(&r->users, &idle, -1))
        return busy();
    int err = RLCC_OK;
    int64_t *copy = NULL;
    if (knn != NULL) {
        const size_t bytes = sizeof *copy * (size_t)r->n * (size_t)r->pseudo.k1;
        copy = rlcc__malloc(bytes);
        if (copy == NULL)
            err = rlcc__fail(RLCC_E_OUT_OF_MEMORY, "refiner: could not allocate the kNN lists");
        else
            memcpy(copy, knn, bytes);
    }
    if (err == RLCC_OK) {
        free(r->next_knn);
        r->next_knn = copy;
    }
    r->users = 0;
    return err;
}

static int check_ready(const rlcc_refiner *r, const void *out);

/* The getters read under the reader rule too; while a step runs they
 * answer -1 (NaN for the threshold) instead of racing it. */
int64_t rlcc_refiner_generation(const rlcc_refiner *r)
{
    if (r == NULL || enter_reader(r) != RLCC_OK)
        return r == NULL ? 0 : -1;
    const int64_t done = r->done;
    leave_reader(r);
    return done;
}

int64_t rlcc_refiner_n_classes(const rlcc_refiner *r)
{
    if (r == NULL || enter_reader(r) != RLCC_OK)
        return r == NULL ? 0 : -1;
    const int64_t k = r->done > 0 ? r->cur.k : 0;
    leave_reader(r);
    return k;
}

double rlcc_refiner_threshold(const rlcc_refiner *r)
{
    if (r == NULL || enter_reader(r) != RLCC_OK)
        return r == NULL ? 0.0 : NAN;
    const double threshold = r->done > 0 ? r->threshold : 0.0;
    leave_reader(r);
    return threshold;
}

/* Enters as a reader and checks there is a generation to read; on success
 * the caller must leave_reader(). */
static int enter_ready(const rlcc_refiner *r, const void *out)
{
    rlcc__clear_error();
    if (r == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    int err = enter_reader(r);
    if (err == RLCC_OK && (err = check_ready(r, out)) != RLCC_OK)
        leave_reader(r);
    return err;
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
    if (err == RLCC_OK) {
        memcpy(labels, r->cur.labels, sizeof *labels * (size_t)r->n);
        leave_reader(r);
    }
    return err;
}

int rlcc_refiner_centroids(const rlcc_refiner *r, float *centroids, int64_t ld)
{
    int err = enter_ready(r, centroids);
    if (err != RLCC_OK)
        return err;
    if (ld < r->d)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "ld: %lld is smaller than d = %lld",
                         (long long)ld, (long long)r->d);
    for (int64_t c = 0; err == RLCC_OK && c < r->cur.k; c++)
        memcpy(centroids + c * ld, r->cur.centroids + c * r->d, sizeof(float) * (size_t)r->d);
    leave_reader(r);
    return err;
}

/* The sample indices of a batch, before they index stored rows. */
static int check_rows_of(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows)
{
    if (n_rows < 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_rows: %lld is negative", (long long)n_rows);
    for (int64_t q = 0; q < n_rows; q++)
        if (rows[q] < 0 || rows[q] >= r->n)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "rows: entry %lld is %lld, outside [0, %lld)",
                              (long long)q, (long long)rows[q], (long long)r->n);
    return RLCC_OK;
}

static int targets_locked(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows,
                          float *out, int64_t ld);

int rlcc_refiner_targets(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows, float *out,
                         int64_t ld)
{
    int err = enter_ready(r, out);
    if (err == RLCC_OK) {
        err = targets_locked(r, rows, n_rows, out, ld);
        leave_reader(r);
    }
    return err;
}

static int targets_locked(const rlcc_refiner *r, const int64_t *rows, int64_t n_rows,
                          float *out, int64_t ld)
{
    int err = RLCC_OK;
    const rlcc_refiner_options *o = &r->options;
    if (r->done == 1) /* generation 0: the hard label alone */
        return rlcc_blend(r->cur.labels, r->n, r->cur.k, NULL, 0, 1.0f, rows, n_rows, out, ld);
    const int64_t k_prev = r->prev.k;
    rlcc_budget budget;
    rlcc__budget_init(&budget, 0);
    float *probs = NULL;
    const float *p = r->cur.probs;
    int64_t ldp = k_prev;
    if (p != NULL && rows != NULL) { /* the stored probabilities of these rows */
        err = check_rows_of(r, rows, n_rows);
        probs = err == RLCC_OK ? rlcc__alloc(&budget, n_rows > 0 ? n_rows * k_prev : 1,
                                             sizeof *probs, "batch probabilities", &err)
                               : NULL;
        for (int64_t q = 0; probs != NULL && q < n_rows; q++)
            memcpy(probs + q * k_prev, p + rows[q] * k_prev, sizeof(float) * (size_t)k_prev);
        p = probs;
    } else if (p == NULL && o->beta < 1.0f) {
        probs = rlcc__alloc(&budget, n_rows > 0 ? n_rows * k_prev : 1, sizeof *probs,
                            "batch probabilities", &err);
        if (probs != NULL)
            err = rlcc_class_probabilities(r->cur.x, r->n, r->d, r->d, r->prev.centroids, k_prev,
                                           r->d, o->scale, rows, n_rows, probs, k_prev,
                                           r->pseudo.n_threads);
        p = probs;
    }
    /* generation 1: P as it is; from generation 2 on, blended with the
     * previous hard labels */
    const float w = r->done >= 3 ? o->w : 0.0f;
    if (err == RLCC_OK)
        err = rlcc_propagate(r->prev.labels, r->n, r->cur.chat->indptr, r->cur.chat->indices,
                             r->cur.chat->data, k_prev, r->cur.k, p, ldp, w, o->beta, rows,
                             n_rows, out, ld);
    if (err == RLCC_OK)
        err = rlcc_blend(r->cur.labels, r->n, r->cur.k, out, ld, o->alpha, rows, n_rows, out, ld);
    rlcc__free(&budget, probs, n_rows > 0 ? n_rows * k_prev : 1, sizeof *probs);
    return err;
}
