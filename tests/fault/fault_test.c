/*
 * fault_test.c - allocation failure at every point of every entry point,
 * and max_bytes as a real upper bound, both seen through the allocation
 * hook of a library compiled with -DRLCC_FAULT_INJECTION (src/alloc.c).
 *
 * 1. Fault injection: for k = 1, 2, ... the k-th allocation of the call
 *    fails, until a call makes fewer than k allocations and succeeds. Every
 *    failing call must return RLCC_E_OUT_OF_MEMORY and give back every byte
 *    (the counting allocator's live bytes are as before the call; ASan's
 *    LeakSanitizer at exit checks the same independently); a refiner's step
 *    must leave the refiner as it was (labels, centroids, bytes, generation).
 *    Prints the number of failure points per entry point and requires > 0
 *    (or, for a call that allocates nothing, that it allocates nothing).
 * 2. Memory bounds: for every entry point that takes max_bytes, a sweep of
 *    max_bytes from generous down to 1 byte. Each call either succeeds with
 *    the counting allocator's peak above what was live before it (for a
 *    refiner or a kNN state: plus what the handle already held) at most
 *    max_bytes and results equal to the unlimited call's bit for bit, or
 *    fails with RLCC_E_MEMORY_LIMIT having written no output (outputs are
 *    filled with a sentinel first; a refiner is left as it was) and given
 *    back every byte. The generous value must succeed and 1 byte must fail
 *    (for a call that allocates anything). Along the way rlcc_refiner_bytes()
 *    must equal what the counting allocator sees the refiner hold.
 * 3. Checkpoints (1.6): rlcc_refiner_load() of states saved after 0..3
 *    generations of every kind of step (and with kNN lists) at every
 *    failure point, *out untouched, and under the max_bytes sweep (the
 *    handle excepted, as for rlcc_refiner_new); rlcc_refiner_save()
 *    allocates nothing and gives back the bytes loaded; a step of a loaded
 *    refiner at every failure point leaves it as it was.
 * (Allocations inside OpenBLAS and libomp are not librlcc's and are out of
 * scope; librlcc allocates nothing inside its parallel regions.)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

enum { N = 120, D = 8, K1 = 10 };

static float x[N * D];
static float xg[3][N * D]; /* the features of three generations */
static int32_t prev_labels[N], cur_labels[N];
static long passed, failed;

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void record(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL %s\n", what);
    }
}

/* Runs call() with the k-th allocation failing, for every k it reaches.
 * After each failure the live bytes must be back to what they were before
 * the call and `unchanged` (an expression) must hold. */
#define EVERY_FAILURE_POINT_THAT(name, call, cleanup, unchanged)                        \
    do {                                                                                \
        int64_t points = 0;                                                             \
        int wrong = 0;                                                                  \
        for (int64_t k = 1;; k++) {                                                     \
            const int64_t live_ = rlcc__alloc_live();                                   \
            rlcc__fault_arm(k);                                                         \
            int rc_ = (call);                                                           \
            const int64_t seen_ = rlcc__fault_seen();                                   \
            rlcc__fault_arm(0);                                                         \
            if (rc_ == RLCC_OK) {                                                       \
                cleanup;                                                                \
                if (seen_ >= k) /* the armed failure never surfaced */                  \
                    wrong++;                                                            \
                break;                                                                  \
            }                                                                           \
            points++;                                                                   \
            if (rc_ != RLCC_E_OUT_OF_MEMORY) {                                          \
                fprintf(stderr, "  %s: k = %lld gave %d: %s\n", name, (long long)k, rc_, \
                        rlcc_last_error());                                             \
                wrong++;                                                                \
            }                                                                           \
            if (rlcc__alloc_live() != live_) {                                          \
                fprintf(stderr, "  %s: k = %lld kept %lld bytes\n", name, (long long)k,  \
                        (long long)(rlcc__alloc_live() - live_));                       \
                wrong++;                                                                \
            }                                                                           \
            if (!(unchanged)) {                                                         \
                fprintf(stderr, "  %s: k = %lld changed the state\n", name, (long long)k); \
                wrong++;                                                                \
            }                                                                           \
            if (k > 100000) {                                                           \
                wrong++;                                                                \
                break;                                                                  \
            }                                                                           \
        }                                                                               \
        printf("  %-40s %4lld failure points\n", name, (long long)points);              \
        record(points > 0 && wrong == 0, name);                                         \
    } while (0)
#define EVERY_FAILURE_POINT(name, call, cleanup) EVERY_FAILURE_POINT_THAT(name, call, cleanup, 1)

/* A call that must not allocate at all. */
#define ALLOCATES_NOTHING(name, call)                                                   \
    do {                                                                                \
        rlcc__fault_arm(1);                                                             \
        const int rc_ = (call);                                                         \
        const int64_t seen_ = rlcc__fault_seen();                                       \
        rlcc__fault_arm(0);                                                             \
        printf("  %-40s allocates nothing\n", name);                                    \
        record(rc_ == RLCC_OK && seen_ == 0, name);                                     \
    } while (0)

static int64_t features_cb(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    const float *src = data != NULL ? data : x;
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, src + (start + i) * D, sizeof(float) * D);
    return count;
}

static int64_t logits_cb(int64_t start, int64_t count, int64_t k_prev, float *out, int64_t ld,
                         void *data)
{
    (void)data;
    for (int64_t i = 0; i < count; i++)
        for (int64_t a = 0; a < k_prev; a++)
            out[i * ld + a] = (float)((start + i + 3 * a) % 7) * 0.5f;
    return count;
}

/* ---- a refiner's state, to compare before and after a failed step ---------- */

typedef struct refiner_view {
    int64_t generation, k, bytes;
    double threshold;
    int32_t labels[N];
    float centroids[N * D];
    float targets[N * N]; /* every row, ld k */
} refiner_view;

static const int64_t batch_rows[4] = {3, 7, 0, 99};

static void view_of(const rlcc_refiner *r, refiner_view *v)
{
    memset(v, 0, sizeof *v);
    v->generation = rlcc_refiner_generation(r);
    v->k = rlcc_refiner_n_classes(r);
    v->bytes = rlcc_refiner_bytes(r);
    v->threshold = rlcc_refiner_threshold(r);
    if (v->generation > 0) {
        rlcc_refiner_labels(r, v->labels);
        rlcc_refiner_centroids(r, v->centroids, D);
        rlcc_refiner_targets(r, NULL, N, v->targets, v->k);
    }
}

static refiner_view view_before, view_after;

/* The refiner is as view_before says (its live bytes are checked by the
 * macro). */
static int refiner_unchanged(const rlcc_refiner *r)
{
    view_of(r, &view_after);
    return memcmp(&view_before, &view_after, sizeof view_before) == 0;
}

/* Step kinds of 1.4 (and the 1.2 step). */
enum { STEP_12, STEP_CALLBACK, STEP_LOGITS, STEP_COPY, STEP_BORROW, N_STEP_KINDS };
static const char *const step_names[N_STEP_KINDS] = {
    "rlcc_refiner_step", "rlcc_refiner_step_opts", "rlcc_refiner_step_opts (logits)",
    "rlcc_refiner_step_matrix (copy)", "rlcc_refiner_step_matrix (borrow)"};

static int step_kind(rlcc_refiner *r, int kind, int gen, int64_t max_bytes)
{
    rlcc_step_options o;
    rlcc_step_options_init(&o, sizeof o);
    o.batch = 32;
    o.max_bytes = max_bytes;
    switch (kind) {
    case STEP_12:
        return rlcc_refiner_step(r, features_cb, xg[gen], 32, NULL, NULL, NULL, NULL);
    case STEP_CALLBACK:
        return rlcc_refiner_step_opts(r, features_cb, xg[gen], &o);
    case STEP_LOGITS:
        o.logits = logits_cb;
        return rlcc_refiner_step_opts(r, features_cb, xg[gen], &o);
    default:
        o.borrow = kind == STEP_BORROW;
        return rlcc_refiner_step_matrix(r, xg[gen], D, &o);
    }
}

/* ---- max_bytes sweeps ---------------------------------------------------------- */

/* What one bounded call did. */
typedef struct bound_run {
    int64_t used;   /* bytes counted against max_bytes, from the counting allocator */
    int flaw;       /* the case saw something wrong itself (message printed) */
} bound_run;

/* Runs the call with max_bytes (0: unlimited), writing every output, as
 * bytes, into out (filled with 0xA5 by the caller). A case that gets a
 * handle (a CSR result, a state, a refiner) writes its content into out on
 * success and frees it; on failure it writes nothing. */
typedef int (*bound_fn)(int64_t max_bytes, unsigned char *out, bound_run *run);

static int64_t meter_base;

/* The message of a case's failing call, saved before later calls clear it. */
static char case_error[512];

static void save_error(int rc)
{
    if (rc != RLCC_OK && case_error[0] == '\0')
        snprintf(case_error, sizeof case_error, "%s", rlcc_last_error());
}

/* A refiner at generation bound_gen that the refused steps of a sweep share
 * (a refused step leaves it as it was; a step that succeeds drops it), so
 * each max_bytes does not rebuild it: cache_live bytes are its own. */
static rlcc_refiner *cache;
static int cache_kind;
static int64_t cache_gen, cache_base, cache_live;
static void cache_drop(void);

static void meter_start(void)
{
    meter_base = rlcc__alloc_live();
    rlcc__alloc_peak_reset();
}

/* The call's peak above what was live when meter_start() ran. */
static int64_t meter_peak(void)
{
    return rlcc__alloc_peak() - meter_base;
}

static int all_sentinel(const unsigned char *p, size_t size)
{
    for (size_t b = 0; b < size; b++)
        if (p[b] != 0xA5)
            return 0;
    return 1;
}

/* One sweep: the state every probe of it compares against. */
typedef struct sweep {
    const char *name;
    bound_fn fn;
    size_t out_size;
    unsigned char *ref, *out;
    int64_t live;
    int wrong, successes, refusals;
    int64_t lowest_fit, highest_refused; /* -1: none yet */
} sweep;

/* Runs the call once under max_bytes and checks it: 1 if it fit. */
static int probe(sweep *w, int64_t max_bytes, int must_fit)
{
    bound_run run = {0, 0};
    memset(w->out, 0xA5, w->out_size);
    case_error[0] = '\0';
    const int rc = w->fn(max_bytes, w->out, &run);
    save_error(rc);
    if (run.flaw)
        w->wrong++;
    if (rlcc__alloc_live() - cache_live != w->live) {
        fprintf(stderr, "  %s: max_bytes %lld: %lld bytes left live\n", w->name,
                (long long)max_bytes, (long long)(rlcc__alloc_live() - cache_live - w->live));
        w->wrong++;
    }
    if (rc == RLCC_OK) {
        w->successes++;
        if (w->lowest_fit < 0 || max_bytes < w->lowest_fit)
            w->lowest_fit = max_bytes;
        if (run.used > max_bytes) {
            fprintf(stderr, "  %s: max_bytes %lld, but %lld bytes were held\n", w->name,
                    (long long)max_bytes, (long long)run.used);
            w->wrong++;
        }
        if (memcmp(w->out, w->ref, w->out_size) != 0) {
            fprintf(stderr, "  %s: max_bytes %lld changed the results\n", w->name,
                    (long long)max_bytes);
            w->wrong++;
        }
        return 1;
    }
    if (rc == RLCC_E_MEMORY_LIMIT) {
        w->refusals++;
        if (max_bytes > w->highest_refused)
            w->highest_refused = max_bytes;
        if (!all_sentinel(w->out, w->out_size)) {
            fprintf(stderr, "  %s: max_bytes %lld refused, but an output was written\n", w->name,
                    (long long)max_bytes);
            w->wrong++;
        }
        if (must_fit) {
            fprintf(stderr, "  %s: the generous max_bytes %lld was refused: %s\n", w->name,
                    (long long)max_bytes, case_error);
            w->wrong++;
        }
        return 0;
    }
    fprintf(stderr, "  %s: max_bytes %lld gave %d, not RLCC_E_MEMORY_LIMIT: %s\n", w->name,
            (long long)max_bytes, rc, case_error);
    w->wrong++;
    return 0;
}

/* The sweep of one entry point: the unlimited call, then max_bytes from
 * generous down to 1 byte; with boundary, also a bisection to the smallest
 * max_bytes that fits and a fine scan just below it, where a call runs out
 * of budget in its last, largest allocations. */
static void check_bound_scan(const char *name, bound_fn fn, size_t out_size, int boundary)
{
    sweep w = {name, fn, out_size, malloc(out_size), malloc(out_size), rlcc__alloc_live(),
               0, 0, 0, -1, -1};
    bound_run run = {0, 0};
    memset(w.ref, 0xA5, out_size);
    int rc = fn(0, w.ref, &run);
    const int64_t need = run.used;
    if (rc != RLCC_OK || run.flaw) {
        fprintf(stderr, "  %s: the unlimited call gave %d: %s\n", name, rc, rlcc_last_error());
        w.wrong++;
    }
    cache_drop();
    probe(&w, 4 * need + 4096, 1);
    probe(&w, need + 1, 0);
    if (need > 1) {
        probe(&w, need, 0);
        probe(&w, need - 1, 0);
        probe(&w, need - need / 16, 0);
        probe(&w, need - need / 4, 0);
    }
    for (int64_t m = need / 2; m > 1; m /= 3)
        probe(&w, m, 0);
    probe(&w, 1, 0); /* max_bytes 0 would mean the default */
    if (boundary && w.lowest_fit > 1) {
        int64_t hi = w.lowest_fit, lo = 1;
        while (hi - lo > 1 && hi - lo > hi / 8192) {
            const int64_t mid = lo + (hi - lo) / 2;
            if (probe(&w, mid, 0))
                hi = mid;
            else
                lo = mid;
        }
        for (int j = 1; j <= 32; j++)
            probe(&w, hi - j * (hi / 8 / 32 > 0 ? hi / 8 / 32 : 1), 0);
    }
    if (need > 0 && w.refusals == 0) {
        fprintf(stderr, "  %s: not even 1 byte was refused\n", name);
        w.wrong++;
    }
    cache_drop();
    printf("  %-40s %8lld bytes; %2d fit (from %lld), %2d refused\n", name, (long long)need,
           w.successes, (long long)w.lowest_fit, w.refusals);
    record(w.wrong == 0, name);
    free(w.out);
    free(w.ref);
}

/* The bisection and fine scan below the smallest max_bytes that fits: they
 * found rlcc__csr_resize() (src/csr.c) reporting a growth the budget refused
 * as RLCC_E_OUT_OF_MEMORY instead of RLCC_E_MEMORY_LIMIT, in every
 * Jaccard-based call just below its smallest fitting max_bytes. On by
 * default; -DBOUNDARY_SCAN=0 skips them. */
#ifndef BOUNDARY_SCAN
#define BOUNDARY_SCAN 1
#endif
static void check_bound(const char *name, bound_fn fn, size_t out_size)
{
    check_bound_scan(name, fn, out_size, BOUNDARY_SCAN);
}

/* ---- the cases ------------------------------------------------------------- */

static float dist[N * N];
static rlcc_csr *graph;      /* the Jaccard graph of x */
static int64_t knn_lists[N * K1];
static float cents[9 * D];   /* the centroids of prev_labels */
static int64_t bound_gen;    /* generations a refiner case takes first */

static void put(unsigned char **at, const void *p, size_t bytes)
{
    memcpy(*at, p, bytes);
    *at += bytes;
}

/* A CSR result written after its (zeroed) pointer slot, then freed. */
static void put_csr(unsigned char *out, rlcc_csr *m)
{
    unsigned char *at = out + sizeof m;
    const int64_t rows = rlcc_csr_rows(m), cols = rlcc_csr_cols(m), nnz = rlcc_csr_nnz(m);
    put(&at, &rows, sizeof rows);
    put(&at, &cols, sizeof cols);
    put(&at, &nnz, sizeof nnz);
    put(&at, rlcc_csr_indptr(m), sizeof(int64_t) * (size_t)(rows + 1));
    put(&at, rlcc_csr_indices(m), sizeof(int32_t) * (size_t)nnz);
    put(&at, rlcc_csr_data(m), sizeof(float) * (size_t)nnz);
    memset(out, 0, sizeof m);
    rlcc_csr_free(m);
}

static rlcc_dbscan_options dbscan_opts(int64_t max_bytes, int32_t metric)
{
    rlcc_dbscan_options o;
    rlcc_dbscan_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    o.metric = metric;
    return o;
}

/* DBSCAN: labels, cluster count and core flags; stats.peak_bytes (the
 * budget's own count) must agree with the counting allocator. */
static int dbscan_case(int kind, int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_dbscan_options o = dbscan_opts(max_bytes, kind == 1 ? RLCC_METRIC_COSINE : RLCC_METRIC_EUCLIDEAN);
    rlcc_dbscan_stats st;
    rlcc_dbscan_stats_init(&st, sizeof st);
    int32_t *labels = (int32_t *)(void *)out;
    int64_t *clusters = (int64_t *)(void *)(out + sizeof(int32_t) * N);
    uint8_t *core = out + sizeof(int32_t) * N + sizeof(int64_t);
    meter_start();
    int rc;
    switch (kind) {
    case 0:
    case 1:
        rc = rlcc_dbscan_features(x, N, D, D, kind == 1 ? 0.1 : 0.45, 3, &o, labels, clusters, core, &st);
        break;
    case 2:
        rc = rlcc_dbscan_dense(dist, N, N, 0.45, 3, &o, labels, clusters, core, &st);
        break;
    default:
        rc = rlcc_dbscan_csr(N, rlcc_csr_indptr(graph), rlcc_csr_indices(graph), rlcc_csr_data(graph),
                             0.6, 3, &o, labels, clusters, core, &st);
        break;
    }
    run->used = meter_peak();
    if (rc == RLCC_OK && st.peak_bytes < run->used) {
        fprintf(stderr, "  dbscan %d: stats.peak_bytes %lld is below the %lld really held\n", kind,
                (long long)st.peak_bytes, (long long)run->used);
        run->flaw = 1;
    }
    if (rc == RLCC_OK && max_bytes > 0 && st.peak_bytes > max_bytes) {
        fprintf(stderr, "  dbscan %d: stats.peak_bytes %lld above max_bytes %lld\n", kind,
                (long long)st.peak_bytes, (long long)max_bytes);
        run->flaw = 1;
    }
    return rc;
}
static int b_dbscan_features(int64_t m, unsigned char *o, bound_run *r) { return dbscan_case(0, m, o, r); }
static int b_dbscan_cosine(int64_t m, unsigned char *o, bound_run *r) { return dbscan_case(1, m, o, r); }
static int b_dbscan_dense(int64_t m, unsigned char *o, bound_run *r) { return dbscan_case(2, m, o, r); }
static int b_dbscan_csr(int64_t m, unsigned char *o, bound_run *r) { return dbscan_case(3, m, o, r); }
#define DBSCAN_OUT (sizeof(int32_t) * N + sizeof(int64_t) + N)

static int knn_case(int with_dist, int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_knn_options o;
    rlcc_knn_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    meter_start();
    const int rc = rlcc_knn(x, N, D, D, K1, &o, (int64_t *)(void *)out,
                            with_dist ? (float *)(void *)(out + sizeof(int64_t) * N * K1) : NULL);
    run->used = meter_peak();
    return rc;
}
static int b_knn(int64_t m, unsigned char *o, bound_run *r) { return knn_case(1, m, o, r); }
static int b_knn_indices(int64_t m, unsigned char *o, bound_run *r) { return knn_case(0, m, o, r); }
#define KNN_OUT ((sizeof(int64_t) + sizeof(float)) * N * K1)

static int64_t knn_state_handle; /* sizeof the opaque state, from the allocator */

/* A state's whole life under one max_bytes: new, two blocks of references
 * (or the query rows against themselves), finish. What it holds between the
 * calls counts against each call's bound. */
static int knn_state_case(int symmetric, int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_knn_options o;
    rlcc_knn_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    const int64_t q0 = symmetric ? 0 : 10, nq = symmetric ? N : 60;
    const int64_t start = rlcc__alloc_live() + knn_state_handle;
    rlcc_knn_state *state = (rlcc_knn_state *)(void *)out; /* a sentinel, never read */
    int64_t used = 0;
    rlcc__alloc_peak_reset();
    int rc = rlcc_knn_state_new(nq, q0, D, K1, &o, &state);
    save_error(rc);
    used = rlcc__alloc_peak() - start;
    if (rc != RLCC_OK) {
        if (state != (rlcc_knn_state *)(void *)out) {
            fprintf(stderr, "  knn state: a refused rlcc_knn_state_new wrote *state\n");
            run->flaw = 1;
        }
        run->used = used;
        return rc;
    }
    const float *queries = x + q0 * D;
    int64_t updates = 0;
    for (int u = 0; u < (symmetric ? 1 : 2) && rc == RLCC_OK; u++) {
        const int64_t before = rlcc__alloc_live();
        rlcc__alloc_peak_reset();
        rc = symmetric ? rlcc_knn_update(state, queries, D, queries, nq, D, q0)
                       : rlcc_knn_update(state, queries, D, x + u * 50 * D, u == 0 ? 50 : N - 50, D, u * 50);
        save_error(rc);
        const int64_t peak = rlcc__alloc_peak() - start;
        used = peak > used ? peak : used;
        updates += rc == RLCC_OK;
        if (rc != RLCC_OK && rlcc__alloc_live() != before) {
            fprintf(stderr, "  knn state: a refused update kept %lld bytes\n",
                    (long long)(rlcc__alloc_live() - before));
            run->flaw = 1;
        }
    }
    rlcc_knn_stats stats;
    rlcc_knn_stats_init(&stats, sizeof stats);
    if (rlcc_knn_state_stats(state, &stats) != RLCC_OK || stats.n_updates != updates) {
        fprintf(stderr, "  knn state: %lld updates recorded, %lld succeeded\n",
                (long long)stats.n_updates, (long long)updates);
        run->flaw = 1;
    }
    if (rc == RLCC_OK) {
        int64_t *idx = malloc(sizeof(int64_t) * (size_t)(nq * K1));
        float *sq = malloc(sizeof(float) * (size_t)(nq * K1));
        memset(idx, 0xA5, sizeof(int64_t) * (size_t)(nq * K1));
        memset(sq, 0xA5, sizeof(float) * (size_t)(nq * K1));
        rlcc__alloc_peak_reset();
        rc = rlcc_knn_finish(state, idx, sq);
        save_error(rc);
        const int64_t peak = rlcc__alloc_peak() - start;
        used = peak > used ? peak : used;
        if (rc == RLCC_OK) {
            memset(out, 0, sizeof state);
            memcpy(out + sizeof state, idx, sizeof(int64_t) * (size_t)(nq * K1));
            memcpy(out + sizeof state + sizeof(int64_t) * (size_t)(nq * K1), sq,
                   sizeof(float) * (size_t)(nq * K1));
        } else if (!all_sentinel((unsigned char *)idx, sizeof(int64_t) * (size_t)(nq * K1)) ||
                   !all_sentinel((unsigned char *)sq, sizeof(float) * (size_t)(nq * K1))) {
            fprintf(stderr, "  knn state: a refused finish wrote its outputs\n");
            run->flaw = 1;
        }
        free(sq);
        free(idx);
    }
    rlcc_knn_state_free(state);
    run->used = used;
    return rc;
}
static int b_knn_state(int64_t m, unsigned char *o, bound_run *r) { return knn_state_case(0, m, o, r); }
static int b_knn_state_sym(int64_t m, unsigned char *o, bound_run *r) { return knn_state_case(1, m, o, r); }
#define KNN_STATE_OUT (sizeof(void *) + (sizeof(int64_t) + sizeof(float)) * N * K1)

static rlcc_jaccard_options jaccard_opts(int64_t max_bytes)
{
    rlcc_jaccard_options o;
    rlcc_jaccard_options_init(&o, sizeof o);
    o.k1 = K1;
    o.k2 = 3;
    o.max_bytes = max_bytes;
    return o;
}

static int jaccard_case(int caller_knn, int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_jaccard_options o = jaccard_opts(max_bytes);
    rlcc_csr **result = (rlcc_csr **)(void *)out;
    meter_start();
    const int rc = rlcc_jaccard(x, N, D, D, caller_knn ? knn_lists : NULL, &o, result);
    run->used = meter_peak();
    if (rc == RLCC_OK)
        put_csr(out, *result);
    return rc;
}
static int b_jaccard(int64_t m, unsigned char *o, bound_run *r) { return jaccard_case(0, m, o, r); }
static int b_jaccard_knn(int64_t m, unsigned char *o, bound_run *r) { return jaccard_case(1, m, o, r); }
#define CSR_OUT (sizeof(void *) + 3 * sizeof(int64_t) + sizeof(int64_t) * (N + 1) + 8 * N * N)

static int b_jaccard_dense(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_jaccard_options o = jaccard_opts(max_bytes);
    meter_start();
    const int rc = rlcc_jaccard_dense(x, N, D, D, NULL, &o, (float *)(void *)out, N);
    run->used = meter_peak();
    return rc;
}

/* kind 0: Jaccard at 3 eps, 1: Jaccard at 1 eps, 2: euclidean at 3 eps,
 * 3: cosine at 1 eps, 4: Jaccard from the caller's kNN lists, 5: InfoMap
 * (normalised rows, singletons), 6: InfoMap from the caller's lists
 * (distances from the rows), 7: k-means on faiss's subset (normalised) */
static int pseudo_case(int kind, int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_pseudo_options o;
    rlcc_pseudo_options_init(&o, sizeof o);
    o.k1 = K1;
    o.k2 = 3;
    o.max_bytes = max_bytes;
    if (kind == 1 || kind == 3) {
        o.n_eps = 1;
        o.reliability = 0;
        o.eps[0] = kind == 1 ? 0.6 : 0.1;
    }
    if (kind == 2) {
        o.metric = RLCC_METRIC_EUCLIDEAN;
        o.eps[0] = 0.4, o.eps[1] = 0.45, o.eps[2] = 0.5;
    }
    if (kind == 3)
        o.metric = RLCC_METRIC_COSINE;
    if (kind == 4)
        o.knn = knn_lists;
    if (kind >= 5) {
        o.reliability = 0;
        o.normalize = 1;
        o.method = kind == 7 ? RLCC_PSEUDO_KMEANS : RLCC_PSEUDO_INFOMAP;
        o.infomap_k = K1;
        o.knn = kind == 6 ? knn_lists : NULL;
        o.kmeans_k = 6;
        o.kmeans_max_points = 10; /* 60 of the 120 rows train */
    }
    int64_t *classes = (int64_t *)(void *)(out + sizeof(int32_t) * N);
    double *threshold = (double *)(void *)(out + sizeof(int32_t) * N + sizeof(int64_t));
    meter_start();
    const int rc = rlcc_pseudo_labels(x, N, D, D, &o, (int32_t *)(void *)out, classes, threshold);
    run->used = meter_peak();
    return rc;
}
static int b_pseudo_jaccard3(int64_t m, unsigned char *o, bound_run *r) { return pseudo_case(0, m, o, r); }
static int b_pseudo_jaccard1(int64_t m, unsigned char *o, bound_run *r) { return pseudo_case(1, m, o, r); }
static int b_pseudo_euclidean(int64_t m, unsigned char *o, bound_run *r) { return pseudo_case(2, m, o, r); }
static int b_pseudo_cosine(int64_t m, unsigned char *o, bound_run *r) { return pseudo_case(3, m, o, r); }
static int b_pseudo_knn(int64_t m, unsigned char *o, bound_run *r) { return pseudo_case(4, m, o, r); }
static int b_pseudo_infomap(int64_t m, unsigned char *o, bound_run *r) { return pseudo_case(5, m, o, r); }
static int b_pseudo_infomap_knn(int64_t m, unsigned char *o, bound_run *r) { return pseudo_case(6, m, o, r); }
static int b_pseudo_kmeans(int64_t m, unsigned char *o, bound_run *r) { return pseudo_case(7, m, o, r); }
#define PSEUDO_OUT (sizeof(int32_t) * N + sizeof(int64_t) + sizeof(double))

static int b_centroids(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_centroid_options o;
    rlcc_centroid_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    meter_start();
    const int rc = rlcc_centroids_opts(x, N, D, D, cur_labels, 8, &o, (float *)(void *)out, D);
    run->used = meter_peak();
    return rc;
}

/* 1.7 (#15 items 1, 4, 5): the bounded calls of camera proxies (ids and
 * float32-norm centroids), cross-agreement and eps from a quantile */
#define PROXY_OUT (sizeof(int32_t) * 3 * N + sizeof(int64_t))
static int32_t proxy_cams[N], proxy_ids[N];
static int64_t proxy_count;
static int b_proxies(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    int32_t *proxy = (int32_t *)(void *)out, *cl = proxy + N, *ca = cl + N;
    for (int i = 0; i < N; i++)
        proxy_cams[i] = (i * 7) % 5;
    rlcc_proxy_options o;
    rlcc_proxy_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    o.order = RLCC_PROXIES_CLUSTER_MAJOR;
    meter_start();
    const int rc = rlcc_camera_proxies(prev_labels, proxy_cams, N, &o, proxy,
                                       (int64_t *)(void *)(ca + N), cl, ca);
    run->used = meter_peak();
    if (rc == RLCC_OK) { /* the ids the centroid case reads */
        memcpy(proxy_ids, proxy, sizeof proxy_ids);
        memcpy(&proxy_count, ca + N, sizeof proxy_count);
    }
    return rc;
}

static int b_proxy_centroids(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_centroid_options co;
    rlcc_centroid_options_init(&co, sizeof co);
    co.max_bytes = max_bytes;
    co.norm = RLCC_CENTROID_NORM_FLOAT32;
    meter_start();
    const int rc = rlcc_centroids_opts(x, N, D, D, proxy_ids, proxy_count, &co,
                                       (float *)(void *)out, D);
    run->used = meter_peak();
    return rc;
}

static int b_agreement(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    const float *parts[2] = {xg[1], xg[2]};
    rlcc_agreement_options o;
    rlcc_agreement_options_init(&o, sizeof o);
    o.k = 6;
    o.max_bytes = max_bytes;
    meter_start();
    const int rc = rlcc_cross_agreement(x, N, D, D, parts, 2, D, D, &o, (float *)(void *)out);
    run->used = meter_peak();
    return rc;
}

static int b_quantile(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_quantile_options o;
    rlcc_quantile_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    meter_start();
    const int rc = rlcc_eps_from_quantile(dist, N, N, 0.2, &o, (double *)(void *)out);
    run->used = meter_peak();
    return rc;
}

static int b_quantile_csr(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_quantile_options o;
    rlcc_quantile_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    o.summation = RLCC_SUM_DOUBLE;
    meter_start();
    const int rc = rlcc_eps_from_quantile_csr(N, rlcc_csr_indptr(graph), rlcc_csr_indices(graph),
                                              rlcc_csr_data(graph), 0.05, &o,
                                              (double *)(void *)out);
    run->used = meter_peak();
    return rc;
}

static rlcc_consensus_options consensus_opts(int64_t max_bytes)
{
    rlcc_consensus_options o;
    rlcc_consensus_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    return o;
}

static int b_consensus_counts(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_consensus_options o = consensus_opts(max_bytes);
    meter_start();
    const int rc = rlcc_consensus_counts_opts(prev_labels, cur_labels, N, 0, 0, &o, (int64_t *)(void *)out, 8);
    run->used = meter_peak();
    return rc;
}
static int b_consensus(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_consensus_options o = consensus_opts(max_bytes);
    meter_start();
    const int rc = rlcc_consensus_opts(prev_labels, cur_labels, N, 0, 0, &o, (float *)(void *)out, 8);
    run->used = meter_peak();
    return rc;
}
static int b_consensus_csr(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_consensus_options o = consensus_opts(max_bytes);
    rlcc_csr **result = (rlcc_csr **)(void *)out;
    meter_start();
    const int rc = rlcc_consensus_csr_opts(prev_labels, cur_labels, N, 0, 0, &o, result);
    run->used = meter_peak();
    if (rc == RLCC_OK)
        put_csr(out, *result);
    return rc;
}

static int probabilities_case(int batch, int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_probability_options o;
    rlcc_probability_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    meter_start();
    const int rc = rlcc_class_probabilities_opts(x, N, D, D, cents, 9, D, batch ? batch_rows : NULL,
                                                 batch ? 4 : N, &o, (float *)(void *)out, 9);
    run->used = meter_peak();
    return rc;
}
static int b_probabilities(int64_t m, unsigned char *o, bound_run *r) { return probabilities_case(0, m, o, r); }
static int b_probabilities_batch(int64_t m, unsigned char *o, bound_run *r) { return probabilities_case(1, m, o, r); }

static rlcc_csr *chat; /* the consensus of prev_labels and cur_labels */
static float probs[N * 9];

static int b_propagate(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_propagate_options o;
    rlcc_propagate_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    o.beta = 0.3f;
    meter_start();
    const int rc = rlcc_propagate_opts(prev_labels, N, rlcc_csr_indptr(chat), rlcc_csr_indices(chat),
                                       rlcc_csr_data(chat), 9, 8, probs, 9, NULL, N, &o,
                                       (float *)(void *)out, 8);
    run->used = meter_peak();
    return rc;
}

static int b_blend(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_blend_options o;
    rlcc_blend_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    meter_start();
    const int rc = rlcc_blend_opts(cur_labels, N, 8, probs, 9, batch_rows, 4, &o, (float *)(void *)out, 8);
    run->used = meter_peak();
    return rc;
}

/* A new refiner after bound_gen unlimited steps of the kind; *held_base is
 * the live bytes with the refiner's handle and nothing else. Checks on the
 * way that rlcc_refiner_bytes() is what the counting allocator sees. */
static rlcc_refiner *refiner_at(int kind, int64_t gen, int64_t *held_base, bound_run *run)
{
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = K1;
    p.k2 = 3;
    rlcc_refiner *r = NULL;
    if (rlcc_refiner_new(N, D, &p, NULL, &r) != RLCC_OK) {
        run->flaw = 1;
        return NULL;
    }
    *held_base = rlcc__alloc_live();
    for (int64_t t = 0; t < gen; t++) {
        if (step_kind(r, kind, (int)t, 0) != RLCC_OK)
            run->flaw = 1;
        if (rlcc__alloc_live() - *held_base != rlcc_refiner_bytes(r)) {
            fprintf(stderr, "  %s: after generation %lld the refiner says %lld bytes, holds %lld\n",
                    step_names[kind], (long long)t, (long long)rlcc_refiner_bytes(r),
                    (long long)(rlcc__alloc_live() - *held_base));
            run->flaw = 1;
        }
    }
    return r;
}

static void cache_drop(void)
{
    rlcc_refiner_free(cache);
    cache = NULL;
    cache_live = 0;
}

static rlcc_refiner *cached_refiner(int kind, bound_run *run)
{
    if (cache != NULL && cache_kind == kind && cache_gen == bound_gen)
        return cache;
    cache_drop();
    const int64_t before = rlcc__alloc_live();
    cache = refiner_at(kind, bound_gen, &cache_base, run);
    cache_kind = kind;
    cache_gen = bound_gen;
    cache_live = rlcc__alloc_live() - before;
    return cache;
}

/* One bounded step on a refiner at generation bound_gen: held bytes plus
 * the step's working memory against the step's max_bytes. */
static int step_case(int kind, int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_refiner *r = cached_refiner(kind, run);
    const int64_t base = cache_base;
    if (r == NULL)
        return RLCC_E_INVALID_ARGUMENT;
    refiner_view *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    view_of(r, before);
    const int64_t live = rlcc__alloc_live();
    rlcc__alloc_peak_reset();
    const int rc = step_kind(r, kind, (int)bound_gen, max_bytes);
    save_error(rc);
    run->used = rlcc__alloc_peak() - base;
    view_of(r, after);
    if (rc == RLCC_OK) {
        memcpy(out, after, sizeof *after);
        if (rlcc__alloc_live() - base != rlcc_refiner_bytes(r)) {
            fprintf(stderr, "  %s: the refiner says %lld bytes, holds %lld\n", step_names[kind],
                    (long long)rlcc_refiner_bytes(r), (long long)(rlcc__alloc_live() - base));
            run->flaw = 1;
        }
    } else {
        if (memcmp(before, after, sizeof *before) != 0) {
            fprintf(stderr, "  %s: a refused step changed the refiner\n", step_names[kind]);
            run->flaw = 1;
        }
        if (rlcc__alloc_live() != live) {
            fprintf(stderr, "  %s: a refused step kept %lld bytes\n", step_names[kind],
                    (long long)(rlcc__alloc_live() - live));
            run->flaw = 1;
        }
    }
    free(after);
    free(before);
    if (rc == RLCC_OK)
        cache_drop(); /* it moved on */
    return rc;
}
static int b_step_callback(int64_t m, unsigned char *o, bound_run *r) { return step_case(STEP_CALLBACK, m, o, r); }
static int b_step_logits(int64_t m, unsigned char *o, bound_run *r) { return step_case(STEP_LOGITS, m, o, r); }
static int b_step_copy(int64_t m, unsigned char *o, bound_run *r) { return step_case(STEP_COPY, m, o, r); }
static int b_step_borrow(int64_t m, unsigned char *o, bound_run *r) { return step_case(STEP_BORROW, m, o, r); }

/* Targets of a batch on a refiner at generation bound_gen (copy steps):
 * the call's own working memory against its max_bytes. */
static int targets_case(int kind, int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_refiner *r = cached_refiner(kind, run);
    if (r == NULL)
        return RLCC_E_INVALID_ARGUMENT;
    rlcc_targets_options o;
    rlcc_targets_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    const int64_t k = rlcc_refiner_n_classes(r);
    meter_start();
    const int rc = rlcc_refiner_targets_opts(r, batch_rows, 4, &o, (float *)(void *)out, k);
    run->used = meter_peak();
    return rc;
}
static int b_targets_copy(int64_t m, unsigned char *o, bound_run *r) { return targets_case(STEP_COPY, m, o, r); }
static int b_targets_borrow(int64_t m, unsigned char *o, bound_run *r) { return targets_case(STEP_BORROW, m, o, r); }
static int b_targets_logits(int64_t m, unsigned char *o, bound_run *r) { return targets_case(STEP_LOGITS, m, o, r); }

static void memory_bounds(void)
{
    printf("max_bytes: from generous down to 1 byte, for every entry point that takes it\n");
    /* the opaque state's own size: a state for no query rows holds nothing else */
    rlcc_knn_state *empty = NULL;
    const int64_t before = rlcc__alloc_live();
    record(rlcc_knn_state_new(0, 0, D, K1, NULL, &empty) == RLCC_OK, "rlcc_knn_state_new (empty)");
    knn_state_handle = rlcc__alloc_live() - before;
    rlcc_knn_state_free(empty);
    record(rlcc__alloc_live() == before && knn_state_handle > 0, "the kNN state's handle");

    check_bound("rlcc_dbscan_features", b_dbscan_features, DBSCAN_OUT);
    check_bound("rlcc_dbscan_features (cosine)", b_dbscan_cosine, DBSCAN_OUT);
    check_bound("rlcc_dbscan_dense", b_dbscan_dense, DBSCAN_OUT);
    check_bound("rlcc_dbscan_csr", b_dbscan_csr, DBSCAN_OUT);
    check_bound("rlcc_knn", b_knn, KNN_OUT);
    check_bound("rlcc_knn (no distances)", b_knn_indices, KNN_OUT);
    check_bound("rlcc_knn_state: new, 2 updates, finish", b_knn_state, KNN_STATE_OUT);
    check_bound("rlcc_knn_state: symmetric update", b_knn_state_sym, KNN_STATE_OUT);
    check_bound("rlcc_jaccard", b_jaccard, CSR_OUT);
    check_bound("rlcc_jaccard (caller kNN)", b_jaccard_knn, CSR_OUT);
    check_bound("rlcc_jaccard_dense", b_jaccard_dense, sizeof(float) * N * N);
    check_bound("rlcc_pseudo_labels (Jaccard, 3 eps)", b_pseudo_jaccard3, PSEUDO_OUT);
    check_bound("rlcc_pseudo_labels (Jaccard, 1 eps)", b_pseudo_jaccard1, PSEUDO_OUT);
    check_bound("rlcc_pseudo_labels (Jaccard, caller kNN)", b_pseudo_knn, PSEUDO_OUT);
    check_bound("rlcc_pseudo_labels (euclidean, 3 eps)", b_pseudo_euclidean, PSEUDO_OUT);
    check_bound("rlcc_pseudo_labels (cosine, 1 eps)", b_pseudo_cosine, PSEUDO_OUT);
    check_bound("rlcc_pseudo_labels (InfoMap)", b_pseudo_infomap, PSEUDO_OUT);
    check_bound("rlcc_pseudo_labels (InfoMap, caller kNN)", b_pseudo_infomap_knn, PSEUDO_OUT);
    check_bound("rlcc_pseudo_labels (k-means on faiss's subset)", b_pseudo_kmeans, PSEUDO_OUT);
    check_bound("rlcc_centroids_opts", b_centroids, sizeof(float) * 8 * D);
    check_bound("rlcc_consensus_counts_opts", b_consensus_counts, sizeof(int64_t) * 9 * 8);
    check_bound("rlcc_consensus_opts", b_consensus, sizeof(float) * 9 * 8);
    check_bound("rlcc_consensus_csr_opts", b_consensus_csr, CSR_OUT);
    check_bound("rlcc_class_probabilities_opts", b_probabilities, sizeof(float) * N * 9);
    check_bound("rlcc_class_probabilities_opts (rows)", b_probabilities_batch, sizeof(float) * 4 * 9);
    check_bound("rlcc_propagate_opts", b_propagate, sizeof(float) * N * 8);
    check_bound("rlcc_blend_opts", b_blend, sizeof(float) * 4 * 8);
    /* 1.7 (#15 items 1, 4, 5) */
    check_bound("rlcc_camera_proxies", b_proxies, PROXY_OUT);
    check_bound("rlcc_centroids_opts (proxies, float32 norm)", b_proxy_centroids,
                sizeof(float) * N * D);
    check_bound("rlcc_cross_agreement", b_agreement, sizeof(float) * N * 2);
    check_bound("rlcc_eps_from_quantile", b_quantile, sizeof(double));
    check_bound("rlcc_eps_from_quantile_csr", b_quantile_csr, sizeof(double));
    for (bound_gen = 0; bound_gen < 3; bound_gen++) {
        char name[96];
        const bound_fn steps[4] = {b_step_callback, b_step_logits, b_step_copy, b_step_borrow};
        const int kinds[4] = {STEP_CALLBACK, STEP_LOGITS, STEP_COPY, STEP_BORROW};
        for (int s = 0; s < 4; s++) {
            snprintf(name, sizeof name, "%s (gen %lld)", step_names[kinds[s]], (long long)bound_gen);
            check_bound(name, steps[s], sizeof(refiner_view));
        }
    }
    for (bound_gen = 1; bound_gen <= 3; bound_gen++) {
        char name[96];
        snprintf(name, sizeof name, "rlcc_refiner_targets_opts (gen %lld)", (long long)bound_gen - 1);
        check_bound(name, b_targets_copy, sizeof(float) * 4 * N);
        snprintf(name, sizeof name, "rlcc_refiner_targets_opts (gen %lld, borrow)", (long long)bound_gen - 1);
        check_bound(name, b_targets_borrow, sizeof(float) * 4 * N);
        snprintf(name, sizeof name, "rlcc_refiner_targets_opts (gen %lld, logits)", (long long)bound_gen - 1);
        check_bound(name, b_targets_logits, sizeof(float) * 4 * N);
    }
}

/* ---- 1.6: checkpoints ------------------------------------------------------------ */

/* States saved after 0..3 generations of each kind of step, and one with
 * kNN lists set for the next step. */
enum { STATE_KINDS = 4, STATE_GENS = 4 };
static const int state_kinds[STATE_KINDS] = {STEP_CALLBACK, STEP_LOGITS, STEP_COPY, STEP_BORROW};
static uint8_t *states[STATE_KINDS][STATE_GENS], *knn_state;
static size_t state_sizes[STATE_KINDS][STATE_GENS], knn_state_size;
static int64_t refiner_handle; /* sizeof the opaque refiner, from the allocator */

static uint8_t *saved_state(const rlcc_refiner *r, size_t *size)
{
    *size = 0;
    uint8_t *s = NULL;
    if (rlcc_refiner_save(r, NULL, 0, size) == RLCC_OK && (s = malloc(*size)) != NULL &&
        rlcc_refiner_save(r, s, *size, size) == RLCC_OK)
        return s;
    free(s);
    return NULL;
}

static void make_states(void)
{
    bound_run run = {0, 0};
    int64_t base;
    for (int c = 0; c < STATE_KINDS; c++)
        for (int gen = 0; gen < STATE_GENS; gen++) {
            rlcc_refiner *r = refiner_at(state_kinds[c], gen, &base, &run);
            if (gen == 2 && c == 2) {
                static int64_t lists[N * K1];
                record(rlcc_knn(xg[2], N, D, D, K1, NULL, lists, NULL) == RLCC_OK, "rlcc_knn (k1 = 10)");
                knn_state = saved_state(r, &knn_state_size); /* without lists, then with */
                free(knn_state);
                record(rlcc_refiner_set_knn(r, lists) == RLCC_OK, "rlcc_refiner_set_knn");
                knn_state = saved_state(r, &knn_state_size);
                record(knn_state != NULL, "rlcc_refiner_save (kNN lists)");
                record(rlcc_refiner_set_knn(r, NULL) == RLCC_OK, "rlcc_refiner_set_knn (NULL)");
            }
            states[c][gen] = saved_state(r, &state_sizes[c][gen]);
            record(states[c][gen] != NULL, "rlcc_refiner_save");
            rlcc_refiner_free(r);
        }
    record(run.flaw == 0, "the refiners the states come from");
    rlcc_refiner *empty = NULL;
    const int64_t before = rlcc__alloc_live();
    record(rlcc_refiner_new(N, D, NULL, NULL, &empty) == RLCC_OK, "rlcc_refiner_new");
    refiner_handle = rlcc__alloc_live() - before;
    rlcc_refiner_free(empty);
    record(rlcc__alloc_live() == before && refiner_handle > 0, "the refiner's handle");
}

static void free_states(void)
{
    for (int c = 0; c < STATE_KINDS; c++)
        for (int gen = 0; gen < STATE_GENS; gen++)
            free(states[c][gen]);
    free(knn_state);
}

static const char *state_name(int c)
{
    return c == 0 ? "callback" : c == 1 ? "logits" : c == 2 ? "copy" : "borrow";
}

static void fault_injection_1_6(void)
{
    printf("fault injection over the 1.6 entry points\n");
    for (int c = 0; c < STATE_KINDS; c++)
        for (int gen = 0; gen < STATE_GENS; gen++) {
            char name[96];
            snprintf(name, sizeof name, "rlcc_refiner_load (%s, gen %d)", state_name(c), gen);
            const uint8_t *s = states[c][gen];
            const size_t size = state_sizes[c][gen];
            rlcc_refiner *loaded = NULL;
            EVERY_FAILURE_POINT_THAT(name, (loaded = NULL, rlcc_refiner_load(s, size, NULL, &loaded)),
                                     (rlcc_refiner_free(loaded), loaded = NULL), loaded == NULL);
            /* the loaded refiner saves nothing but its state, allocating nothing */
            record(rlcc_refiner_load(s, size, NULL, &loaded) == RLCC_OK, "rlcc_refiner_load");
            uint8_t *again = malloc(size);
            size_t got = 0;
            snprintf(name, sizeof name, "rlcc_refiner_save (%s, gen %d)", state_name(c), gen);
            ALLOCATES_NOTHING(name, rlcc_refiner_save(loaded, again, size, &got));
            record(got == size && memcmp(again, s, size) == 0, "save(load(s)) == s");
            free(again);
            rlcc_refiner_free(loaded);
        }
    rlcc_refiner *loaded = NULL;
    EVERY_FAILURE_POINT_THAT("rlcc_refiner_load (kNN lists)",
                             (loaded = NULL, rlcc_refiner_load(knn_state, knn_state_size, NULL, &loaded)),
                             (rlcc_refiner_free(loaded), loaded = NULL), loaded == NULL);
    /* and the step after a load, at every failure point, leaves it as it was */
    for (int c = 0; c < STATE_KINDS; c++) {
        char name[96];
        snprintf(name, sizeof name, "%s after a load (gen 3)", step_names[state_kinds[c]]);
        record(rlcc_refiner_load(states[c][2], state_sizes[c][2], NULL, &loaded) == RLCC_OK,
               "rlcc_refiner_load");
        view_of(loaded, &view_before);
        EVERY_FAILURE_POINT_THAT(name, step_kind(loaded, state_kinds[c], 2, 0), (void)0,
                                 refiner_unchanged(loaded));
        rlcc_refiner_free(loaded);
    }
}

/* One bounded load of states[load_kind][load_gen]: the new refiner's arrays
 * and the call's working memory (the handle excepted, as for rlcc_refiner_new)
 * against max_bytes; on success its view and bytes. */
static int load_kind, load_gen;
static int b_load(int64_t max_bytes, unsigned char *out, bound_run *run)
{
    rlcc_load_options o;
    rlcc_load_options_init(&o, sizeof o);
    o.max_bytes = max_bytes;
    rlcc_refiner *r = NULL;
    const int64_t start = rlcc__alloc_live() + refiner_handle;
    rlcc__alloc_peak_reset();
    const int rc = rlcc_refiner_load(states[load_kind][load_gen], state_sizes[load_kind][load_gen],
                                     &o, &r);
    save_error(rc);
    run->used = rlcc__alloc_peak() - start;
    if (rc != RLCC_OK) {
        if (r != NULL) {
            fprintf(stderr, "  rlcc_refiner_load: a refused load wrote *out\n");
            run->flaw = 1;
        }
        return rc;
    }
    if (rlcc__alloc_live() - start != rlcc_refiner_bytes(r)) {
        fprintf(stderr, "  rlcc_refiner_load: the refiner says %lld bytes, holds %lld\n",
                (long long)rlcc_refiner_bytes(r), (long long)(rlcc__alloc_live() - start));
        run->flaw = 1;
    }
    refiner_view *v = malloc(sizeof *v);
    view_of(r, v);
    memcpy(out, v, sizeof *v);
    free(v);
    rlcc_refiner_free(r);
    return rc;
}

static void memory_bounds_1_6(void)
{
    printf("max_bytes of rlcc_refiner_load, from generous down to 1 byte\n");
    for (load_kind = 0; load_kind < STATE_KINDS; load_kind++)
        for (load_gen = 1; load_gen < STATE_GENS; load_gen++) {
            char name[96];
            snprintf(name, sizeof name, "rlcc_refiner_load (%s, gen %d)", state_name(load_kind),
                     load_gen);
            check_bound(name, b_load, sizeof(refiner_view));
        }
}

/* ---- fault injection over the 1.4 entry points ------------------------------- */

static void fault_injection_1_4(void)
{
    printf("fault injection over the 1.4 entry points\n");
    float out[N * 9], centroids[8 * D];
    static float out_all[N * N];
    int64_t counts[9 * 8];
    rlcc_centroid_options co;
    rlcc_centroid_options_init(&co, sizeof co);
    co.n_threads = 2;
    EVERY_FAILURE_POINT("rlcc_centroids_opts", rlcc_centroids_opts(x, N, D, D, cur_labels, 8, &co, centroids, D), (void)0);
    rlcc_consensus_options so;
    rlcc_consensus_options_init(&so, sizeof so);
    EVERY_FAILURE_POINT("rlcc_consensus_counts_opts", rlcc_consensus_counts_opts(prev_labels, cur_labels, N, 0, 0, &so, counts, 8), (void)0);
    EVERY_FAILURE_POINT("rlcc_consensus_opts", rlcc_consensus_opts(prev_labels, cur_labels, N, 0, 0, &so, out, 8), (void)0);
    so.normalize = RLCC_NORMALIZE_SOFTMAX;
    EVERY_FAILURE_POINT("rlcc_consensus_opts (softmax)", rlcc_consensus_opts(prev_labels, cur_labels, N, 0, 0, &so, out, 8), (void)0);
    so.normalize = RLCC_NORMALIZE_SUM;
    rlcc_csr *result = NULL;
    EVERY_FAILURE_POINT("rlcc_consensus_csr_opts", rlcc_consensus_csr_opts(prev_labels, cur_labels, N, 0, 0, &so, &result), rlcc_csr_free(result));
    rlcc_probability_options po;
    rlcc_probability_options_init(&po, sizeof po);
    EVERY_FAILURE_POINT("rlcc_class_probabilities_opts (rows)", rlcc_class_probabilities_opts(x, N, D, D, cents, 9, D, batch_rows, 4, &po, out, 9), (void)0);
    ALLOCATES_NOTHING("rlcc_class_probabilities_opts (all rows)", rlcc_class_probabilities_opts(x, N, D, D, cents, 9, D, NULL, N, &po, probs, 9));
    rlcc_propagate_options pr;
    rlcc_propagate_options_init(&pr, sizeof pr);
    ALLOCATES_NOTHING("rlcc_propagate_opts", rlcc_propagate_opts(prev_labels, N, rlcc_csr_indptr(chat), rlcc_csr_indices(chat), rlcc_csr_data(chat), 9, 8, probs, 9, batch_rows, 4, &pr, out, 8));
    rlcc_blend_options bo;
    rlcc_blend_options_init(&bo, sizeof bo);
    ALLOCATES_NOTHING("rlcc_blend_opts", rlcc_blend_opts(cur_labels, N, 8, out, 8, batch_rows, 4, &bo, out, 8));

    /* the refiner: every kind of step over three generations, and the
     * targets of each; a failed step leaves labels, centroids, targets,
     * bytes and generation as they were */
    rlcc_targets_options to;
    rlcc_targets_options_init(&to, sizeof to);
    for (int kind = STEP_CALLBACK; kind < N_STEP_KINDS; kind++) {
        rlcc_refiner *r = NULL;
        const int64_t live_before_new = rlcc__alloc_live();
        rlcc_pseudo_options p;
        rlcc_pseudo_options_init(&p, sizeof p);
        p.k1 = K1;
        p.k2 = 3;
        record(rlcc_refiner_new(N, D, &p, NULL, &r) == RLCC_OK, "rlcc_refiner_new");
        const int64_t base = rlcc__alloc_live();
        for (int gen = 0; gen < 3; gen++) {
            char name[96];
            snprintf(name, sizeof name, "%s (gen %d)", step_names[kind], gen);
            view_of(r, &view_before);
            EVERY_FAILURE_POINT_THAT(name, step_kind(r, kind, gen, 0), (void)0, refiner_unchanged(r));
            record(rlcc_refiner_generation(r) == gen + 1, "the step that succeeded advanced the generation");
            record(rlcc__alloc_live() - base == rlcc_refiner_bytes(r),
                   "rlcc_refiner_bytes() is what the counting allocator sees");
            snprintf(name, sizeof name, "rlcc_refiner_targets_opts (%s, gen %d)", kind == STEP_LOGITS ? "logits" : kind == STEP_BORROW ? "borrow" : "copy", gen);
            if (gen == 0) {
                ALLOCATES_NOTHING(name, rlcc_refiner_targets_opts(r, batch_rows, 4, &to, out, rlcc_refiner_n_classes(r)));
                continue;
            }
            view_of(r, &view_before);
            EVERY_FAILURE_POINT_THAT(name, rlcc_refiner_targets_opts(r, batch_rows, 4, &to, out, rlcc_refiner_n_classes(r)), (void)0, refiner_unchanged(r));
            if (kind == STEP_CALLBACK)
                EVERY_FAILURE_POINT_THAT("rlcc_refiner_targets_opts (every row)",
                                         rlcc_refiner_targets_opts(r, NULL, N, &to, out_all, rlcc_refiner_n_classes(r)),
                                         (void)0, refiner_unchanged(r));
        }
        /* the caller's kNN lists, then a step that reads them */
        static int64_t lists[N * K1];
        record(rlcc_knn(xg[0], N, D, D, K1, NULL, lists, NULL) == RLCC_OK, "rlcc_knn (k1 = 10)");
        view_of(r, &view_before);
        EVERY_FAILURE_POINT_THAT("rlcc_refiner_set_knn", rlcc_refiner_set_knn(r, lists), (void)0, refiner_unchanged(r));
        view_of(r, &view_before);
        char name[96];
        snprintf(name, sizeof name, "%s (caller kNN)", step_names[kind]);
        EVERY_FAILURE_POINT_THAT(name, step_kind(r, kind, 0, 0), (void)0, refiner_unchanged(r));
        record(rlcc__alloc_live() - base == rlcc_refiner_bytes(r), "the lists are dropped by the step");
        rlcc_refiner_free(r);
        record(rlcc__alloc_live() == live_before_new, "rlcc_refiner_free gives back every byte");
    }
    /* 1.8: a refiner stepped from the caller's generations, its targets
     * from the caller's rows; a failed step leaves it as it was */
    rlcc_refiner *r = NULL;
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = K1;
    p.k2 = 3;
    record(rlcc_refiner_new(N, D, &p, NULL, &r) == RLCC_OK, "rlcc_refiner_new");
    for (int gen = 0; gen < 3; gen++) {
        static int32_t given_labels[N];
        static float given_centroids[N * D], batch[4 * D];
        int64_t classes = 0;
        double threshold = 0.0;
        rlcc_pseudo_options q = p;
        if (gen > 0)
            q.threshold = rlcc_refiner_threshold(r);
        record(rlcc_pseudo_labels(xg[gen], N, D, D, &q, given_labels, &classes, &threshold) == RLCC_OK &&
                   rlcc_centroids(xg[gen], N, D, D, given_labels, classes, given_centroids, D) == RLCC_OK,
               "the caller's generation");
        char name[96];
        snprintf(name, sizeof name, "rlcc_refiner_step_labels (gen %d)", gen);
        view_of(r, &view_before);
        EVERY_FAILURE_POINT_THAT(name, rlcc_refiner_step_labels(r, given_labels, classes, given_centroids, D, threshold, NULL), (void)0, refiner_unchanged(r));
        for (int q4 = 0; q4 < 4; q4++)
            memcpy(batch + q4 * D, xg[gen] + batch_rows[q4] * D, sizeof(float) * D);
        snprintf(name, sizeof name, "rlcc_refiner_targets_rows (gen %d)", gen);
        view_of(r, &view_before);
        if (gen == 0)
            ALLOCATES_NOTHING(name, rlcc_refiner_targets_rows(r, batch_rows, 4, batch, D, &to, out, classes));
        else
            EVERY_FAILURE_POINT_THAT(name, rlcc_refiner_targets_rows(r, batch_rows, 4, batch, D, &to, out, classes), (void)0, refiner_unchanged(r));
    }
    rlcc_refiner_free(r);
}

int main(void)
{
    uint64_t s = 5;
    for (int i = 0; i < N; i++) {
        double sum = 0.0;
        for (int k = 0; k < D; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            double v = (k == i % D ? 2.0 : 0.0) + ((double)(s >> 11) * 0x1p-53 - 0.5) * 0.4;
            x[i * D + k] = (float)v;
            sum += v * v;
        }
        for (int k = 0; k < D; k++)
            x[i * D + k] = (float)(x[i * D + k] / sqrt(sum));
        prev_labels[i] = i % 7 == 0 ? -1 : i % 9;
        cur_labels[i] = i % 11 == 0 ? -1 : i % 8;
    }
    /* three generations: the same rows, moved a little each time */
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < N; i++) {
            double sum = 0.0;
            for (int k = 0; k < D; k++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                const double v = x[i * D + k] + (t == 0 ? 0.0 : ((double)(s >> 11) * 0x1p-53 - 0.5) * 0.1);
                xg[t][i * D + k] = (float)v;
                sum += v * v;
            }
            for (int k = 0; k < D; k++)
                xg[t][i * D + k] = (float)(xg[t][i * D + k] / sqrt(sum));
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0.0;
            for (int k = 0; k < D; k++)
                sum += (x[i * D + k] - x[j * D + k]) * (x[i * D + k] - x[j * D + k]);
            dist[i * N + j] = (float)sqrt(sum);
        }
    int32_t labels[N];
    int64_t knn[N * 10];
    float sq[N * 10], *dense = malloc(sizeof(float) * N * N);
    float out[N * 9];
    printf("fault injection: allocation k fails, for every k each entry point reaches\n");

    EVERY_FAILURE_POINT("rlcc_dbscan_features", rlcc_dbscan_features(x, N, D, D, 0.6, 3, NULL, labels, NULL, NULL, NULL), (void)0);
    /* the grid and the tree (1.5), with stats (the pair count and the core
     * flags the call allocates), auto's probe, and the grid handing over to
     * the tree (eps^2 below DBL_MIN) */
    rlcc_dbscan_options grid_opts, tree_opts, brute_opts;
    rlcc_dbscan_options_init(&grid_opts, sizeof grid_opts);
    grid_opts.algorithm = RLCC_DBSCAN_GRID;
    grid_opts.n_threads = 2;
    tree_opts = grid_opts;
    tree_opts.algorithm = RLCC_DBSCAN_TREE;
    brute_opts = grid_opts;
    brute_opts.algorithm = RLCC_DBSCAN_BRUTE;
    rlcc_dbscan_stats fstats;
    rlcc_dbscan_stats_init(&fstats, sizeof fstats);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (grid, 2-D, stats)", rlcc_dbscan_features(x, N, 2, D, 0.3, 3, &grid_opts, labels, NULL, NULL, &fstats), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (grid, 3-D)", rlcc_dbscan_features(x, N, 3, D, 0.4, 3, &grid_opts, labels, NULL, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (grid -> tree, eps 1e-160)", rlcc_dbscan_features(x, N, 2, D, 1e-160, 1, &grid_opts, labels, NULL, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (tree, stats)", rlcc_dbscan_features(x, N, D, D, 0.6, 3, &tree_opts, labels, NULL, NULL, &fstats), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (auto, 2-D)", rlcc_dbscan_features(x, N, 2, D, 0.3, 3, NULL, labels, NULL, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_features (brute)", rlcc_dbscan_features(x, N, D, D, 0.6, 3, &brute_opts, labels, NULL, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_dbscan_dense", rlcc_dbscan_dense(dist, N, N, 0.6, 3, NULL, labels, NULL, NULL, NULL), (void)0);
    if (rlcc_jaccard(x, N, D, D, NULL, NULL, &graph) != RLCC_OK)
        return 1;
    EVERY_FAILURE_POINT("rlcc_dbscan_csr", rlcc_dbscan_csr(N, rlcc_csr_indptr(graph), rlcc_csr_indices(graph), rlcc_csr_data(graph), 0.6, 3, NULL, labels, NULL, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_knn", rlcc_knn(x, N, D, D, 10, NULL, knn, sq), (void)0);
    { /* k-means (1.7, issue #15 item 3): 9 clusters from faiss's start */
        int64_t start[9], train[N], n_train = 0, km_iter = 0;
        float km_init[9 * D], km_c[9 * D];
        EVERY_FAILURE_POINT("rlcc_kmeans_init_faiss", rlcc_kmeans_init_faiss(N, 9, 1234, 8, start, train, &n_train), (void)0);
        for (int j = 0; j < 9; j++)
            memcpy(km_init + j * D, x + start[j] * D, sizeof(float) * D);
        EVERY_FAILURE_POINT("rlcc_kmeans", rlcc_kmeans(x, N, D, D, km_init, 9, D, NULL, km_c, D, labels, &km_iter), (void)0);
    }
    rlcc_knn_state *ks = NULL;
    EVERY_FAILURE_POINT("rlcc_knn_state_new", rlcc_knn_state_new(N, 0, D, 10, NULL, &ks), (rlcc_knn_state_free(ks), ks = NULL));
    record(rlcc_knn_state_new(N, 0, D, 10, NULL, &ks) == RLCC_OK, "rlcc_knn_state_new");
    EVERY_FAILURE_POINT("rlcc_knn_update", rlcc_knn_update(ks, x, D, x + 10 * D, N - 10, D, 10), (void)0);
    EVERY_FAILURE_POINT("rlcc_knn_update (symmetric)", rlcc_knn_update(ks, x, D, x, N, D, 0), (void)0);
    EVERY_FAILURE_POINT("rlcc_knn_finish", rlcc_knn_finish(ks, knn, sq), (void)0);
    rlcc_knn_state_free(ks);
    { /* 1.8: a pair of blocks from one Gram block, a state through bytes */
        rlcc_knn_state *pa = NULL, *pb = NULL, *back = NULL;
        record(rlcc_knn_state_new(40, 0, D, 10, NULL, &pa) == RLCC_OK &&
                   rlcc_knn_state_new(N - 40, 40, D, 10, NULL, &pb) == RLCC_OK,
               "rlcc_knn_state_new");
        EVERY_FAILURE_POINT("rlcc_knn_update_pair", rlcc_knn_update_pair(pa, x, D, pb, x + 40 * D, D), (void)0);
        size_t bytes_size = 0;
        record(rlcc_knn_state_save(pa, NULL, 0, &bytes_size) == RLCC_OK, "rlcc_knn_state_save");
        uint8_t *bytes = malloc(bytes_size);
        ALLOCATES_NOTHING("rlcc_knn_state_save", rlcc_knn_state_save(pa, bytes, bytes_size, &bytes_size));
        EVERY_FAILURE_POINT_THAT("rlcc_knn_state_load", (back = NULL, rlcc_knn_state_load(bytes, bytes_size, NULL, &back)),
                                 (rlcc_knn_state_free(back), back = NULL), back == NULL);
        free(bytes);
        rlcc_knn_state_free(pa);
        rlcc_knn_state_free(pb);
    }
    { /* 1.8: the block Jaccard of rows [20, 50) and the labels of a graph */
        int64_t lists[N * 10];
        rlcc_jaccard_options jo;
        rlcc_jaccard_options_init(&jo, sizeof jo);
        jo.k1 = 10, jo.k2 = 3, jo.normalize = 1;
        record(rlcc_knn(x, N, D, D, 10, NULL, lists, NULL) == RLCC_OK, "rlcc_knn");
        rlcc_jaccard_plan *plan = NULL;
        EVERY_FAILURE_POINT("rlcc_jaccard_plan_new", rlcc_jaccard_plan_new(lists, N, 20, 50, D, &jo, &plan),
                            (rlcc_jaccard_plan_free(plan), plan = NULL));
        record(rlcc_jaccard_plan_new(lists, N, 20, 50, D, &jo, &plan) == RLCC_OK, "rlcc_jaccard_plan_new");
        EVERY_FAILURE_POINT("rlcc_jaccard_plan_offer", rlcc_jaccard_plan_offer(plan, x + 20 * D, D, x, N, D, 0), (void)0);
        rlcc_csr *w = NULL;
        EVERY_FAILURE_POINT("rlcc_jaccard_plan_weights", rlcc_jaccard_plan_weights(plan, &w), (rlcc_csr_free(w), w = NULL));
        rlcc_jaccard_plan_free(plan);
        /* every row's weights, from one plan of all rows */
        record(rlcc_jaccard_plan_new(lists, N, 0, N, D, &jo, &plan) == RLCC_OK &&
                   rlcc_jaccard_plan_offer(plan, x, D, x, N, D, 0) == RLCC_OK &&
                   rlcc_jaccard_plan_weights(plan, &w) == RLCC_OK, "the weights of every row");
        rlcc_csr *rows = NULL;
        EVERY_FAILURE_POINT("rlcc_jaccard_rows", rlcc_jaccard_rows(N, rlcc_csr_indptr(w), rlcc_csr_indices(w), rlcc_csr_data(w), lists, 10, 70, &jo, &rows),
                            (rlcc_csr_free(rows), rows = NULL));
        rlcc_csr_free(w);
        rlcc_jaccard_plan_free(plan);
        int32_t graph_labels[N];
        EVERY_FAILURE_POINT("rlcc_pseudo_labels_graph", rlcc_pseudo_labels_graph(N, rlcc_csr_indptr(graph), rlcc_csr_indices(graph), rlcc_csr_data(graph), NULL, graph_labels, NULL, NULL), (void)0);
    }
    rlcc_csr *result = NULL;
    EVERY_FAILURE_POINT("rlcc_jaccard", rlcc_jaccard(x, N, D, D, NULL, NULL, &result), rlcc_csr_free(result));
    EVERY_FAILURE_POINT("rlcc_jaccard (caller kNN)", rlcc_jaccard(x, N, D, D, knn, &(rlcc_jaccard_options){.struct_size = sizeof(rlcc_jaccard_options), .k1 = 10, .k2 = 3, .cutoff = 1.0f}, &result), rlcc_csr_free(result));
    EVERY_FAILURE_POINT("rlcc_jaccard_dense", rlcc_jaccard_dense(x, N, D, D, NULL, NULL, dense, N), (void)0);
    EVERY_FAILURE_POINT("rlcc_pseudo_labels", rlcc_pseudo_labels(x, N, D, D, NULL, labels, NULL, NULL), (void)0);
    rlcc_pseudo_options plain;
    rlcc_pseudo_options_init(&plain, sizeof plain);
    plain.metric = RLCC_METRIC_EUCLIDEAN; /* three radii from one Gram pass */
    plain.eps[0] = 0.5, plain.eps[1] = 0.6, plain.eps[2] = 0.7;
    EVERY_FAILURE_POINT("rlcc_pseudo_labels (euclidean, 3 eps)", rlcc_pseudo_labels(x, N, D, D, &plain, labels, NULL, NULL), (void)0);
    /* the 1.7 pseudo-labelers, through the method slot */
    rlcc_pseudo_options other;
    rlcc_pseudo_options_init(&other, sizeof other);
    other.reliability = 0;
    other.normalize = 1;
    other.method = RLCC_PSEUDO_INFOMAP;
    other.infomap_k = K1;
    EVERY_FAILURE_POINT("rlcc_pseudo_labels (InfoMap)", rlcc_pseudo_labels(x, N, D, D, &other, labels, NULL, NULL), (void)0);
    other.knn = knn; /* the n x K1 lists the caller-kNN Jaccard above used */
    EVERY_FAILURE_POINT("rlcc_pseudo_labels (InfoMap, caller kNN)", rlcc_pseudo_labels(x, N, D, D, &other, labels, NULL, NULL), (void)0);
    other.knn = NULL;
    other.method = RLCC_PSEUDO_KMEANS;
    other.kmeans_k = 6;
    other.kmeans_max_points = 10; /* 60 of the 120 rows train, every row is labelled */
    EVERY_FAILURE_POINT("rlcc_pseudo_labels (k-means on faiss's subset)", rlcc_pseudo_labels(x, N, D, D, &other, labels, NULL, NULL), (void)0);
    EVERY_FAILURE_POINT("rlcc_centroids", rlcc_centroids(x, N, D, D, cur_labels, 8, cents, D), (void)0);
    int64_t counts[9 * 8];
    EVERY_FAILURE_POINT("rlcc_consensus_counts", rlcc_consensus_counts(prev_labels, cur_labels, N, 0, 0, counts, 8), (void)0);
    EVERY_FAILURE_POINT("rlcc_consensus", rlcc_consensus(prev_labels, cur_labels, N, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, out, 8), (void)0);
    EVERY_FAILURE_POINT("rlcc_consensus_csr", rlcc_consensus_csr(prev_labels, cur_labels, N, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &chat), rlcc_csr_free(chat));
    /* InfoMap pseudo labels (issue #15 item 2): the search, a caller
     * partition, caller lists, the links, the codelength */
    {
        rlcc_infomap_options io;
        rlcc_infomap_options_init(&io, sizeof io);
        io.k = 10;
        io.normalize = 1;
        io.min_sim = 0.2;
        io.trials = 2;
        int32_t parts[N];
        for (int i = 0; i < N; i++)
            parts[i] = i % 5;
        int64_t is[N * 10], it[N * 10], m = 0;
        double iw[N * 10], il = 0.0;
        float half[N * 10];
        rlcc_knn(xg[0], N, D, D, 10, NULL, knn, sq);
        for (int e = 0; e < N * 10; e++)
            half[e] = sq[e] / 2.0f;
        EVERY_FAILURE_POINT("rlcc_infomap_labels", rlcc_infomap_labels(x, N, D, D, NULL, NULL, NULL, &io, labels, NULL, &il), (void)0);
        EVERY_FAILURE_POINT("rlcc_infomap_labels (modules)", rlcc_infomap_labels(x, N, D, D, NULL, NULL, parts, &io, labels, NULL, &il), (void)0);
        io.normalize = 0;
        EVERY_FAILURE_POINT("rlcc_infomap_labels (caller kNN)", rlcc_infomap_labels(NULL, N, D, D, knn, half, NULL, &io, labels, NULL, &il), (void)0);
        EVERY_FAILURE_POINT("rlcc_infomap_links", rlcc_infomap_links(NULL, N, D, D, knn, half, &io, is, it, iw, &m), (void)0);
        rlcc_infomap_links(NULL, N, D, D, knn, half, &io, is, it, iw, &m);
        EVERY_FAILURE_POINT("rlcc_map_codelength", rlcc_map_codelength(N, is, it, iw, m, parts, &il), (void)0);
    }
    rlcc_centroids(x, N, D, D, prev_labels, 9, cents, D);
    EVERY_FAILURE_POINT("rlcc_class_probabilities", rlcc_class_probabilities(x, N, D, D, cents, 9, D, 30.0f, batch_rows, 4, probs, 9, 0), (void)0);
    /* 1.7 (#15 items 1, 4, 5): camera proxies (and the float32 centroid
     * norm), cross-agreement, eps from a quantile (dense and CSR) */
    {
        int32_t cams[N], proxy[N], pcl[N], pca[N];
        int64_t m = 0;
        for (int i = 0; i < N; i++)
            cams[i] = (i * 7) % 5;
        EVERY_FAILURE_POINT("rlcc_camera_proxies", rlcc_camera_proxies(prev_labels, cams, N, NULL, proxy, &m, pcl, pca), (void)0);
        rlcc_centroid_options co;
        rlcc_centroid_options_init(&co, sizeof co);
        co.norm = RLCC_CENTROID_NORM_FLOAT32;
        float *pcent = malloc(sizeof(float) * (size_t)(m * D));
        EVERY_FAILURE_POINT("rlcc_centroids_opts (float32 norm)", rlcc_centroids_opts(x, N, D, D, proxy, m, &co, pcent, D), (void)0);
        free(pcent);
        const float *parts[2] = {xg[1], xg[2]};
        rlcc_agreement_options ao;
        rlcc_agreement_options_init(&ao, sizeof ao);
        ao.k = 5;
        EVERY_FAILURE_POINT("rlcc_cross_agreement", rlcc_cross_agreement(x, N, D, D, parts, 2, D, D, &ao, out), (void)0);
        ALLOCATES_NOTHING("rlcc_part_weights", rlcc_part_weights(out, N, 2, out));
        double qeps = 0.0;
        EVERY_FAILURE_POINT("rlcc_eps_from_quantile", rlcc_eps_from_quantile(dist, N, N, 0.05, NULL, &qeps), (void)0);
        EVERY_FAILURE_POINT("rlcc_eps_from_quantile_csr", rlcc_eps_from_quantile_csr(N, rlcc_csr_indptr(graph), rlcc_csr_indices(graph), rlcc_csr_data(graph), 0.05, NULL, &qeps), (void)0);
    }

    /* the refiner: new, and every step of several generations */
    rlcc_refiner *r = NULL;
    EVERY_FAILURE_POINT("rlcc_refiner_new", rlcc_refiner_new(N, D, NULL, NULL, &r), rlcc_refiner_free(r));
    rlcc_refiner_new(N, D, NULL, NULL, &r);
    for (int gen = 0; gen < 3; gen++) {
        const int64_t before = rlcc_refiner_generation(r);
        view_of(r, &view_before);
        EVERY_FAILURE_POINT_THAT(gen == 0 ? "rlcc_refiner_step (gen 0)" : gen == 1 ? "rlcc_refiner_step (gen 1)" : "rlcc_refiner_step (gen 2)",
                                 rlcc_refiner_step(r, features_cb, NULL, 32, NULL, NULL, NULL, NULL), (void)0, refiner_unchanged(r));
        record(rlcc_refiner_generation(r) == before + 1, "a step that failed left the generation as it was");
        if (gen == 0) {
            /* generation 0's targets are the hard labels: no allocation at all */
            rlcc__fault_arm(1);
            record(rlcc_refiner_targets(r, batch_rows, 4, out, 9) == RLCC_OK && rlcc__fault_seen() == 0,
                   "rlcc_refiner_targets (gen 0) allocates nothing");
            rlcc__fault_arm(0);
            continue;
        }
        EVERY_FAILURE_POINT("rlcc_refiner_targets", rlcc_refiner_targets(r, batch_rows, 4, out, 9), (void)0);
    }
    /* the caller's lists for the next step (default k1 = 30) */
    static int64_t lists30[N * 30];
    record(rlcc_knn(x, N, D, D, 30, NULL, lists30, NULL) == RLCC_OK, "rlcc_knn (k1 = 30)");
    EVERY_FAILURE_POINT("rlcc_refiner_set_knn", rlcc_refiner_set_knn(r, lists30), (void)0);
    view_of(r, &view_before);
    EVERY_FAILURE_POINT_THAT("rlcc_refiner_step (caller kNN)",
                             rlcc_refiner_step(r, features_cb, NULL, 32, NULL, NULL, NULL, NULL),
                             (void)0, refiner_unchanged(r));
    rlcc_refiner_free(r);

    /* for what follows: the consensus of the two labelings, the
     * probabilities against prev's centroids, kNN lists */
    record(rlcc_consensus_csr(prev_labels, cur_labels, N, 0, 0, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &chat) == RLCC_OK, "rlcc_consensus_csr");
    record(rlcc_class_probabilities(x, N, D, D, cents, 9, D, 30.0f, NULL, N, probs, 9, 0) == RLCC_OK, "rlcc_class_probabilities");
    record(rlcc_knn(x, N, D, D, K1, NULL, knn_lists, NULL) == RLCC_OK, "rlcc_knn (k1 = 10)");
    const double t0 = seconds();
    fault_injection_1_4();
    const double t1 = seconds();
    memory_bounds();
    const double t2 = seconds();
    make_states();
    fault_injection_1_6();
    memory_bounds_1_6();
    free_states();
    const double t3 = seconds();
    printf("times: 1.4 fault injection %.1f s, memory bounds %.1f s, checkpoints %.1f s\n",
           t1 - t0, t2 - t1, t3 - t2);
    rlcc_csr_free(chat);
    rlcc_csr_free(graph);
    free(dense);
    printf("fault: %ld passed, %ld failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
