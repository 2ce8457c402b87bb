/* test_robustness.c - issue #11, "field-grade robustness": each class of
 * fault found in the field, through every entry point it applies to.
 *
 *   sizes          a size is validated before any product or read uses it
 *                  (a CSR's whole indptr before any of its entries)
 *   stats          a stats struct larger than librlcc's gets only the fields
 *                  librlcc knows, whatever n
 *   threads        n_threads far beyond the machine (5000, INT32_MAX) under
 *                  an address-space limit neither aborts nor prints
 *   refiner free   rlcc_refiner_free() from the refiner's own callback waits
 *                  for the step
 *   softmax        a large finite scale and large rows give finite
 *                  probabilities, in the pure function and the refiner alike
 *   overlap        an output sharing memory with an input or another output
 *                  is refused, naming both; interleaved column blocks and
 *                  blend in place are not overlaps
 *   reserved       every "reserved, must be 0" field is refused otherwise
 *   getters        a thread polling the getters never makes a step fail
 *   fork           a forked child whose OpenMP runtime was not re-created
 *                  (KMP_INIT_AT_FORK=FALSE, as scikit-learn sets it) runs
 *                  librlcc single-threaded and gets the same results
 *
 * The thread and fork tests run themselves again in a fresh process (this
 * program, exec'd with RLCC_TEST_FRESH set), so that the OpenMP runtime
 * starts there under the conditions they need. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#endif

enum { IDS = 20, PER_ID = 12, N = IDS * PER_ID, D = 16 };

/* Unit rows around IDS directions (clusters for the refiner's Jaccard
 * DBSCAN), the same for every call with the same seed. */
static void make_rows(float *x, int n, uint64_t seed, double norm)
{
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        double sum = 0.0;
        for (int k = 0; k < D; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const double noise = ((double)(s >> 11) * 0x1p-53 - 0.5) * 0.2;
            const double v = (k == (i % IDS) % D ? 1.0 : 0.0) +
                             (k == (i % IDS + 5) % D ? 0.5 : 0.0) + noise;
            x[i * D + k] = (float)v;
            sum += v * v;
        }
        for (int k = 0; k < D; k++)
            x[i * D + k] = (float)(x[i * D + k] / sqrt(sum) * norm);
    }
}

/* ---- a fresh process ------------------------------------------------------- */

/* Whether this process is the fresh one a test started for itself. */
static int in_fresh_process(void)
{
    const char *name = getenv("RLCC_TEST_FRESH");
    return name != NULL && strcmp(name, test_current) == 0;
}

/* Runs the current test again in a new process: this program, exec'd with
 * RLCC_TEST_FRESH=<test> and env (NAME=VALUE, or NULL), its stdout
 * discarded and its stderr kept in err (NUL-terminated). Returns the exit
 * status as waitpid() gives it, or -1 if it ran past timeout seconds (then
 * it is killed). */
static int run_fresh(const char *env, int timeout, char *err, size_t cap)
{
    int pipe_fd[2];
    err[0] = '\0';
    if (pipe(pipe_fd) != 0)
        return -2;
    fflush(stdout);
    fflush(stderr);
    const pid_t child = fork();
    if (child == 0) {
        close(pipe_fd[0]);
        FILE *null = fopen("/dev/null", "w");
        if (null != NULL)
            dup2(fileno(null), 1);
        dup2(pipe_fd[1], 2);
        setenv("RLCC_TEST_FRESH", test_current, 1);
        if (env != NULL)
            putenv((char *)env);
        execl("/proc/self/exe", "rlcc-tests", test_current, (char *)NULL);
        _exit(127);
    }
    close(pipe_fd[1]);
    if (child < 0) {
        close(pipe_fd[0]);
        return -2;
    }
    size_t used = 0;
    const time_t deadline = time(NULL) + timeout;
    int timed_out = 0;
    for (;;) {
        struct pollfd p = {.fd = pipe_fd[0], .events = POLLIN};
        const int left = (int)(deadline - time(NULL));
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        const int ready = poll(&p, 1, left * 1000);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            timed_out = ready == 0;
            break;
        }
        char chunk[512];
        const ssize_t got = read(pipe_fd[0], chunk, sizeof chunk);
        if (got <= 0)
            break; /* EOF: the child is done */
        for (ssize_t c = 0; c < got && used + 1 < cap; c++)
            err[used++] = chunk[c];
        err[used] = '\0';
    }
    close(pipe_fd[0]);
    if (timed_out)
        kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    return timed_out ? -1 : status;
}

/* The parent's half of a fresh-process test: it passed, and printed
 * nothing that mentions OpenMP. */
static void check_fresh_run(const char *env, int timeout)
{
    char err[4096];
    const int status = run_fresh(env, timeout, err, sizeof err);
    if (status == -1)
        fprintf(stderr, "  %s: the fresh process ran past %d s\n", test_current, timeout);
    else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fprintf(stderr, "  %s: the fresh process ended with status %d (signal %d); it printed:\n%s\n",
                test_current, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                WIFSIGNALED(status) ? WTERMSIG(status) : 0, err);
    CHECK(status != -1);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (strstr(err, "OMP") != NULL)
        fprintf(stderr, "  %s: the fresh process printed:\n%s\n", test_current, err);
    CHECK(strstr(err, "OMP") == NULL);
}

/* ---- sizes ----------------------------------------------------------------- */

/* Sizes are checked before anything multiplies them or reads as many
 * entries as they say: a bad size is refused whatever the arrays hold. */
/* A chat whose indptr claims more entries in one row than it holds and then
 * decreases: the whole indptr is checked before any entry is read (each
 * entry is a heap block of its own, so ASan catches a read past it). */
static void chat_indptr_is_checked_before_its_entries(void)
{
    const int64_t indptr[3] = {0, 5, 1};
    int32_t *indices = malloc(sizeof *indices);
    float *data = malloc(sizeof *data);
    indices[0] = 0;
    data[0] = 1.0f;
    const int32_t prev[2] = {0, 1};
    float out[4] = {-9.0f, -9.0f, -9.0f, -9.0f};
    CHECK_ERR(rlcc_propagate(prev, 2, indptr, indices, data, 2, 2, NULL, 0, 1.0f, 1.0f, NULL, 2,
                             out, 2),
              RLCC_E_INVALID_ARGUMENT, "chat_indptr: decreases at row 1");
    for (int e = 0; e < 4; e++)
        CHECK(out[e] == -9.0f);
    free(indices);
    free(data);
}

static void sizes_are_validated_before_they_are_used(void)
{
    float *x = malloc(sizeof(float) * N * D);
    make_rows(x, N, 3, 1.0);
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &r));
    CHECK_OK(rlcc_refiner_step_matrix(r, x, D, NULL));
    CHECK_OK(rlcc_refiner_step_matrix(r, x, D, NULL));
    CHECK_OK(rlcc_refiner_step_matrix(r, x, D, NULL)); /* generation 2 */
    const int64_t k = rlcc_refiner_n_classes(r);
    CHECK(k >= 2);
    float out[4 * D];
    for (int e = 0; e < 4 * D; e++)
        out[e] = -9.0f;
    /* c * ld for every class c, with ld never bounded: formed before any check */
    CHECK_ERR(rlcc_refiner_centroids(r, out, (int64_t)INT32_MAX + 1), RLCC_E_INVALID_ARGUMENT,
              "ld:");
    CHECK_ERR(rlcc_refiner_centroids(r, out, INT64_MAX), RLCC_E_INVALID_ARGUMENT, "ld:");
    /* a list longer than any output: refused before its entries are read
     * (the four listed rows are all valid) */
    const int64_t rows[4] = {0, 1, 2, 3};
    const int64_t too_many[2] = {(int64_t)INT32_MAX + 1, INT64_MAX};
    for (int t = 0; t < 2; t++) {
        CHECK_ERR(rlcc_refiner_targets(r, rows, too_many[t], out, k), RLCC_E_INVALID_ARGUMENT,
                  "n_rows");
        const int32_t labels[N] = {0};
        CHECK_ERR(rlcc_class_probabilities(x, N, D, D, x, 2, D, 30.0f, rows, too_many[t], out, 2, 1),
                  RLCC_E_INVALID_ARGUMENT, "n_rows");
        CHECK_ERR(rlcc_blend(labels, N, 2, NULL, 0, 0.5f, rows, too_many[t], out, 2),
                  RLCC_E_INVALID_ARGUMENT, "n_rows");
    }
    /* chat's shape bounded before its indptr is read */
    const int64_t indptr[3] = {0, 1, 2};
    const int32_t indices[2] = {0, 1};
    const float data[2] = {1.0f, 1.0f};
    const int32_t prev[4] = {0, 1, 1, 0};
    const int64_t huge[2] = {(int64_t)INT32_MAX + 1, INT64_MAX};
    for (int t = 0; t < 2; t++) {
        CHECK_ERR(rlcc_propagate(prev, 4, indptr, indices, data, huge[t], 2, NULL, 0, 0.0f, 1.0f,
                                 NULL, 4, out, 2),
                  RLCC_E_INVALID_ARGUMENT, "exceeds INT32_MAX");
        CHECK_ERR(rlcc_propagate(prev, 4, indptr, indices, data, 2, huge[t], NULL, 0, 0.0f, 1.0f,
                                 NULL, 4, out, 2),
                  RLCC_E_INVALID_ARGUMENT, "exceeds INT32_MAX");
    }
    /* the products every entry point forms from caller sizes: refused, not
     * overflowed (UBSan fails the sanitized build on an overflow) */
    int32_t labels[4];
    int64_t counts[4];
    CHECK_ERR(rlcc_dbscan_csr(INT64_MAX, indptr, indices, data, 1.0, 1, NULL, labels, NULL, NULL,
                              NULL),
              RLCC_E_INVALID_ARGUMENT, "INT32_MAX");
    CHECK_ERR(rlcc_consensus_counts(prev, prev, 4, INT64_MAX, INT64_MAX, counts, 2),
              RLCC_E_INVALID_ARGUMENT, "overflows");
    rlcc_refiner *none = NULL;
    CHECK_ERR(rlcc_refiner_new(INT32_MAX, INT64_MAX, NULL, NULL, &none), RLCC_E_INVALID_ARGUMENT,
              "d:");
    CHECK(none == NULL);
    CHECK_ERR(rlcc_knn(x, N, D, INT64_MAX, 4, NULL, (int64_t[4]){0}, NULL), RLCC_E_INVALID_ARGUMENT,
              "leading dimension");
    CHECK_ERR(rlcc_jaccard_dense(x, N, D, D, NULL, NULL, out, INT64_MAX), RLCC_E_INVALID_ARGUMENT,
              "leading dimension");
    for (int e = 0; e < 4 * D; e++)
        CHECK(out[e] == -9.0f);
    rlcc_refiner_free(r);
    free(x);
}

/* ---- stats ------------------------------------------------------------------ */

/* A newer caller's stats: librlcc's fields, then bytes it does not know. */
typedef struct newer_dbscan_stats {
    rlcc_dbscan_stats known;
    unsigned char later[64];
} newer_dbscan_stats;

typedef struct newer_knn_stats {
    rlcc_knn_stats known;
    unsigned char later[64];
} newer_knn_stats;

static int later_untouched(const unsigned char *later)
{
    for (int b = 0; b < 64; b++)
        if (later[b] != 0xA5)
            return 0;
    return 1;
}

/* The DBSCAN stats through all three entry points, n == 0 and n > 0. */
static void dbscan_stats_cases(rlcc_dbscan_stats *stats, size_t struct_size, int *all_ok)
{
    const float x[8] = {0, 0, 0, 1, 5, 5, 5, 6};
    const float dist[16] = {0, 1, 7, 7, 1, 0, 7, 7, 7, 7, 0, 1, 7, 7, 1, 0};
    const int64_t indptr[5] = {0, 2, 4, 6, 8};
    const int32_t indices[8] = {0, 1, 0, 1, 2, 3, 2, 3};
    const float data[8] = {0, 1, 1, 0, 0, 1, 1, 0};
    int32_t labels[4];
    for (int n = 0; n <= 4; n += 4)
        for (int entry = 0; entry < 3; entry++) {
            stats->struct_size = struct_size;
            stats->n_core = -7;
            int rc;
            if (entry == 0)
                rc = rlcc_dbscan_features(x, n, 2, 2, 1.5, 2, NULL, labels, NULL, NULL, stats);
            else if (entry == 1)
                rc = rlcc_dbscan_dense(dist, n, 4, 1.5, 2, NULL, labels, NULL, NULL, stats);
            else
                rc = rlcc_dbscan_csr(n, indptr, indices, data, 1.5, 2, NULL, labels, NULL, NULL,
                                     stats);
            const int ok = rc == RLCC_OK && stats->struct_size == struct_size &&
                           stats->n_core == n && stats->n_noise == 0;
            if (!ok)
                fprintf(stderr, "  %s: entry %d, n = %d: rc %d, struct_size %zu, n_core %lld\n",
                        test_current, entry, n, rc, stats->struct_size,
                        (long long)stats->n_core);
            *all_ok &= ok;
        }
}

static void stats_beyond_what_librlcc_knows_are_untouched(void)
{
    /* bytes after librlcc's struct, as a newer caller's struct has them */
    newer_dbscan_stats newer;
    memset(&newer, 0xA5, sizeof newer);
    int all_ok = 1;
    dbscan_stats_cases(&newer.known, sizeof newer, &all_ok);
    CHECK(all_ok);
    CHECK(later_untouched(newer.later));
    /* and a struct_size larger than the memory behind it: nothing beyond
     * librlcc's own fields is written (ASan holds the heap block's end) */
    rlcc_dbscan_stats *exact = malloc(sizeof *exact);
    all_ok = 1;
    dbscan_stats_cases(exact, sizeof *exact + 64, &all_ok);
    CHECK(all_ok);
    free(exact);

    float x[4 * D];
    make_rows(x, 4, 1, 1.0);
    rlcc_knn_state *state = NULL;
    CHECK_OK(rlcc_knn_state_new(4, 0, D, 2, NULL, &state));
    CHECK_OK(rlcc_knn_update(state, x, D, x, 4, D, 0));
    newer_knn_stats knn;
    memset(&knn, 0xA5, sizeof knn);
    knn.known.struct_size = sizeof knn;
    CHECK_OK(rlcc_knn_state_stats(state, &knn.known));
    CHECK_EQ(knn.known.n_updates, 1);
    CHECK_EQ(knn.known.struct_size, sizeof knn);
    CHECK(later_untouched(knn.later));
    rlcc_knn_stats *small = malloc(sizeof *small);
    small->struct_size = sizeof *small + 64;
    CHECK_OK(rlcc_knn_state_stats(state, small));
    CHECK_EQ(small->n_updates, 1);
    free(small);
    rlcc_knn_state_free(state);
}

/* ---- threads ------------------------------------------------------------------ */

/* Every entry point with n_threads far beyond the machine, under an
 * address-space limit a team of that many threads could never fit: the
 * results equal a single thread's, and nothing is printed. */
static void fresh_thread_counts_beyond_the_machine(void)
{
    enum { BIG = 3000 };
    float *x = malloc(sizeof(float) * BIG * D);
    make_rows(x, BIG, 5, 1.0);
    int32_t *one = malloc(sizeof(int32_t) * BIG), *many = malloc(sizeof(int32_t) * BIG);
    int64_t *knn_one = malloc(sizeof(int64_t) * BIG * 4), *knn_many = malloc(sizeof(int64_t) * BIG * 4);
    /* a team of 2 and everything so far fit; thousands of thread stacks do not */
    struct rlimit limit;
    FILE *statm = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    CHECK(statm != NULL && fscanf(statm, "%lu", &pages) == 1);
    if (statm != NULL)
        fclose(statm);
    /* room for a team as large as the machine (a 4 MiB libomp stack and
     * more per thread), not for thousands */
    const rlim_t room = ((rlim_t)512 << 20) + (rlim_t)sysconf(_SC_NPROCESSORS_ONLN) * ((rlim_t)16 << 20);
    limit.rlim_cur = limit.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + room;
    CHECK(setrlimit(RLIMIT_AS, &limit) == 0);
    const int32_t counts[3] = {200, 5000, INT32_MAX};
    rlcc_dbscan_options dopts;
    rlcc_dbscan_options_init(&dopts, sizeof dopts);
    dopts.algorithm = RLCC_DBSCAN_BRUTE;
    dopts.n_threads = 1;
    CHECK_OK(rlcc_dbscan_features(x, BIG, D, D, 0.6, 4, &dopts, one, NULL, NULL, NULL));
    rlcc_knn_options kopts;
    rlcc_knn_options_init(&kopts, sizeof kopts);
    kopts.n_threads = 1;
    CHECK_OK(rlcc_knn(x, BIG, D, D, 4, &kopts, knn_one, NULL));
    for (int c = 0; c < 3; c++) {
        dopts.n_threads = counts[c];
        CHECK_OK(rlcc_dbscan_features(x, BIG, D, D, 0.6, 4, &dopts, many, NULL, NULL, NULL));
        CHECK(memcmp(one, many, sizeof(int32_t) * BIG) == 0);
        kopts.n_threads = counts[c];
        CHECK_OK(rlcc_knn(x, BIG, D, D, 4, &kopts, knn_many, NULL));
        CHECK(memcmp(knn_one, knn_many, sizeof(int64_t) * BIG * 4) == 0);
        rlcc_pseudo_options popts;
        rlcc_pseudo_options_init(&popts, sizeof popts);
        popts.n_threads = counts[c];
        CHECK_OK(rlcc_pseudo_labels(x, 600, D, D, &popts, many, NULL, NULL));
        rlcc_centroid_options copts;
        rlcc_centroid_options_init(&copts, sizeof copts);
        copts.n_threads = counts[c];
        for (int i = 0; i < BIG; i++)
            many[i] = i % 2;
        float cents[2 * D];
        CHECK_OK(rlcc_centroids_opts(x, BIG, D, D, many, 2, &copts, cents, D));
    }
    free(knn_many);
    free(knn_one);
    free(many);
    free(one);
    free(x);
}

static void thread_counts_beyond_the_machine_are_clamped(void)
{
#ifdef SANITIZED
    TEST_SKIP("the sanitizers reserve terabytes of address space: no RLIMIT_AS under them");
#endif
    if (in_fresh_process()) {
        fresh_thread_counts_beyond_the_machine();
        return;
    }
    check_fresh_run(NULL, 120);
}

/* ---- the refiner freed from its own callback ---------------------------------- */

typedef struct freeing {
    rlcc_refiner *refiner;
    const float *x;
    int64_t free_at;   /* features: the row at which to free, or -1 */
    int32_t free_stage; /* progress: the stage at which to free, or -1 */
    int freed;
} freeing;

static int64_t freeing_features(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    freeing *f = data;
    if (start == f->free_at && !f->freed) {
        rlcc_refiner_free(f->refiner);
        f->freed = 1;
    }
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, f->x + (start + i) * D, sizeof(float) * D);
    return count;
}

static int freeing_progress(int32_t stage, double fraction, void *data)
{
    freeing *f = data;
    (void)fraction;
    if (stage == f->free_stage && !f->freed) {
        rlcc_refiner_free(f->refiner);
        f->freed = 1;
    }
    return 0;
}

/* Documented since 1.6: rlcc_refiner_free() from inside a step's callback
 * frees the refiner when that step returns (no use after free: ASan; no
 * leak: LeakSanitizer). */
static void refiner_freed_from_its_own_callback(void)
{
    float *x = malloc(sizeof(float) * N * D);
    make_rows(x, N, 7, 1.0);
    const int32_t stages[4] = {RLCC_STAGE_FEATURES, RLCC_STAGE_CLUSTERING, RLCC_STAGE_CONSENSUS,
                               RLCC_STAGE_DONE};
    for (int c = 0; c < 6; c++) {
        freeing f = {.x = x, .free_at = c == 0 ? 0 : c == 1 ? 64 : -1,
                     .free_stage = c >= 2 ? stages[c - 2] : -1};
        CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &f.refiner));
        /* the consensus stage is reached from generation 1 on */
        CHECK_OK(rlcc_refiner_step(f.refiner, freeing_features, &(freeing){.x = x, .free_at = -1,
                                                                          .free_stage = -1},
                                   64, NULL, NULL, NULL, NULL));
        rlcc_step_options o;
        rlcc_step_options_init(&o, sizeof o);
        o.batch = 64;
        o.progress = freeing_progress;
        o.progress_data = &f;
        rlcc_refiner_step_opts(f.refiner, freeing_features, &f, &o);
        CHECK(f.freed);
    }
    free(x);
}

/* ---- softmax ------------------------------------------------------------------- */

static int probabilities_are_sane(const float *p, int64_t rows, int64_t k)
{
    for (int64_t r = 0; r < rows; r++) {
        double sum = 0.0;
        for (int64_t c = 0; c < k; c++) {
            if (!(p[r * k + c] >= 0.0f && p[r * k + c] <= 1.0f))
                return 0;
            sum += p[r * k + c];
        }
        if (fabs(sum - 1.0) > 1e-5)
            return 0;
    }
    return 1;
}

/* Scale 1e30 on rows of norm 1e15: a float32 logit overflows to inf and a
 * float32 softmax forms inf - inf = NaN. Decided in double, shifted by the
 * row's maximum, no finite input gives NaN; the refiner accepts the same
 * scale and its targets are finite too. */
static void softmax_of_huge_logits_is_finite(void)
{
    float *x = malloc(sizeof(float) * N * D);
    make_rows(x, N, 11, 1e15);
    const int64_t k = 4;
    float cents[4 * D] = {0};
    for (int c = 0; c < k; c++)
        cents[c * D + c] = 1.0f; /* class c: direction c */
    float *p = malloc(sizeof(float) * N * k);
    CHECK_OK(rlcc_class_probabilities(x, N, D, D, cents, k, D, 1e30f, NULL, N, p, k, 0));
    CHECK(probabilities_are_sane(p, N, k));
    /* row 1 points along direction 1: all of it goes to class 1 */
    CHECK(p[1 * k + 1] == 1.0f && p[1 * k + 0] == 0.0f);
    rlcc_probability_options po;
    rlcc_probability_options_init(&po, sizeof po);
    po.scale = 1e30f;
    const int64_t rows[3] = {5, 1, 2};
    float q[3 * 4];
    CHECK_OK(rlcc_class_probabilities_opts(x, N, D, D, cents, k, D, rows, 3, &po, q, k));
    CHECK(probabilities_are_sane(q, 3, k));
    CHECK(memcmp(q + k, p + k, sizeof(float) * (size_t)k) == 0); /* row 1 */
    po.scale = FLT_MAX;
    CHECK_OK(rlcc_class_probabilities_opts(x, N, D, D, cents, k, D, rows, 3, &po, q, k));
    CHECK(probabilities_are_sane(q, 3, k));
    /* centroids whose products with such rows could overflow float32 are
     * refused, as rows are */
    float huge[4 * D] = {0};
    huge[0] = 3e18f;
    CHECK_ERR(rlcc_class_probabilities(x, N, D, D, huge, k, D, 30.0f, NULL, N, p, k, 0),
              RLCC_E_INVALID_ARGUMENT, "centroids: row 0 has a squared norm");

    /* the refiner with the same scale: euclidean DBSCAN at the rows' scale */
    rlcc_pseudo_options pseudo;
    rlcc_pseudo_options_init(&pseudo, sizeof pseudo);
    pseudo.metric = RLCC_METRIC_EUCLIDEAN;
    pseudo.eps[0] = 0.5e15;
    pseudo.eps[1] = 0.55e15;
    pseudo.eps[2] = 0.6e15;
    rlcc_refiner_options ro;
    rlcc_refiner_options_init(&ro, sizeof ro);
    ro.scale = 1e30f;
    rlcc_refiner *r = NULL;
    CHECK_OK(rlcc_refiner_new(N, D, &pseudo, &ro, &r));
    float *y = malloc(sizeof(float) * N * D);
    make_rows(y, N, 12, 1e15);
    CHECK_OK(rlcc_refiner_step_matrix(r, x, D, NULL));
    CHECK_OK(rlcc_refiner_step_matrix(r, y, D, NULL));
    CHECK_OK(rlcc_refiner_step_matrix(r, x, D, NULL));
    const int64_t classes = rlcc_refiner_n_classes(r);
    float *t = malloc(sizeof(float) * N * (size_t)classes);
    CHECK_OK(rlcc_refiner_targets(r, NULL, N, t, classes));
    int finite = 1;
    for (int64_t e = 0; e < N * classes; e++)
        finite &= isfinite(t[e]) != 0;
    CHECK(finite);
    double sum = 0.0;
    for (int64_t c = 0; c < classes; c++)
        sum += t[c];
    /* row 0, a training sample: alpha + (1 - alpha) rowsum(S), alpha 0.9 */
    CHECK(sum >= 0.9 - 1e-5 && sum <= 1.0 + 1e-5);
    free(t);
    free(y);
    rlcc_refiner_free(r);
    free(p);
    free(x);
}

/* ---- overlapping outputs --------------------------------------------------------- */

/* A refused call with overlapping buffers: the code, both names, and the
 * memory as it was. */
#define EXPECT_OVERLAP(call, first, second, buffer, bytes)                             \
    do {                                                                              \
        unsigned char before_[4096];                                                  \
        memcpy(before_, buffer, bytes);                                               \
        CHECK_ERR(call, RLCC_E_INVALID_ARGUMENT, "overlap");                         \
        CHECK(strstr(rlcc_last_error(), first) != NULL);                              \
        CHECK(strstr(rlcc_last_error(), second) != NULL);                             \
        CHECK(memcmp(before_, buffer, bytes) == 0);                                   \
    } while (0)

static void outputs_that_overlap_inputs_are_refused(void)
{
    enum { M = 12 };
    float x[M * 4];
    for (int e = 0; e < M * 4; e++)
        x[e] = (float)((e * 7) % 5);
    /* one block, so that "overlapping" is well defined */
    const size_t bytes = 4096;
    unsigned char *arena = calloc(1, bytes);
    float *f = (float *)(void *)arena;
    int32_t *l = (int32_t *)(void *)arena;
    for (int e = 0; e < M * 4; e++)
        f[e] = x[e];
    const int32_t labels[M] = {0, 1, 0, 1, 2, 2, 0, 1, 2, -1, 0, 1};

    /* DBSCAN: labels, core, n_clusters, stats against the input and each other */
    EXPECT_OVERLAP(rlcc_dbscan_features(f, M, 4, 4, 1.0, 2, NULL, l + 8, NULL, NULL, NULL),
                   "labels", "x", arena, bytes);
    EXPECT_OVERLAP(rlcc_dbscan_features(x, M, 4, 4, 1.0, 2, NULL, l, NULL, (uint8_t *)(l + 4), NULL),
                   "labels", "core", arena, bytes);
    EXPECT_OVERLAP(rlcc_dbscan_features(x, M, 4, 4, 1.0, 2, NULL, l, (int64_t *)(l + 2), NULL, NULL),
                   "labels", "n_clusters", arena, bytes);
    rlcc_dbscan_stats *st = (rlcc_dbscan_stats *)(void *)(arena + 8);
    st->struct_size = sizeof *st;
    EXPECT_OVERLAP(rlcc_dbscan_features(x, M, 4, 4, 1.0, 2, NULL, l, NULL, NULL, st), "labels",
                   "stats", arena, bytes);
    EXPECT_OVERLAP(rlcc_dbscan_dense(f, 4, 4, 1.0, 2, NULL, l + 3, NULL, NULL, NULL), "labels",
                   "dist", arena, bytes);
    int64_t *ip = (int64_t *)(void *)arena;
    ip[0] = 0;
    ip[1] = ip[2] = ip[3] = ip[4] = 0;
    EXPECT_OVERLAP(rlcc_dbscan_csr(4, ip, NULL, NULL, 1.0, 1, NULL, l + 2, NULL, NULL, NULL),
                   "labels", "indptr", arena, bytes);
    /* kNN */
    for (int e = 0; e < M * 4; e++)
        f[e] = x[e];
    EXPECT_OVERLAP(rlcc_knn(f, M, 4, 4, 2, NULL, (int64_t *)(void *)(arena + 64), NULL), "indices",
                   "x", arena, bytes);
    int64_t idx[M * 2];
    memset(idx, 0x33, sizeof idx);
    EXPECT_OVERLAP(rlcc_knn(x, M, 4, 4, 2, NULL, idx, (float *)(idx + 3)), "indices", "sqdist",
                   idx, sizeof idx);
    rlcc_knn_state *state = NULL;
    CHECK_OK(rlcc_knn_state_new(M, 0, 4, 2, NULL, &state));
    CHECK_OK(rlcc_knn_update(state, x, 4, x, M, 4, 0));
    EXPECT_OVERLAP(rlcc_knn_finish(state, idx, (float *)idx), "indices", "sqdist", idx, sizeof idx);
    rlcc_knn_state_free(state);
    /* Jaccard */
    rlcc_jaccard_options jo;
    rlcc_jaccard_options_init(&jo, sizeof jo);
    jo.k1 = 3;
    jo.k2 = 1;
    jo.variant = RLCC_JACCARD_SQEUCLIDEAN;
    EXPECT_OVERLAP(rlcc_jaccard_dense(f, M, 4, 4, NULL, &jo, f + 4, M), "dist", "x", arena, bytes);
    /* pseudo labels and centroids */
    rlcc_pseudo_options po;
    rlcc_pseudo_options_init(&po, sizeof po);
    po.metric = RLCC_METRIC_EUCLIDEAN;
    po.eps[0] = po.eps[1] = po.eps[2] = 1.0;
    EXPECT_OVERLAP(rlcc_pseudo_labels(f, M, 4, 4, &po, l + M, NULL, NULL), "labels", "x", arena,
                   bytes);
    EXPECT_OVERLAP(rlcc_centroids(f, M, 4, 4, labels, 3, f + 8, 4), "centroids", "x", arena, bytes);
    for (int e = 0; e < M; e++)
        l[e] = labels[e];
    EXPECT_OVERLAP(rlcc_centroids(x, M, 4, 4, l, 3, f + 4, 4), "centroids", "labels", arena, bytes);
    /* consensus */
    EXPECT_OVERLAP(rlcc_consensus_counts(l, labels, M, 3, 3, (int64_t *)(l + 2), 3), "counts",
                   "prev", arena, bytes);
    EXPECT_OVERLAP(rlcc_consensus(labels, l, M, 3, 3, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM,
                                  f + 1, 3),
                   "out", "cur", arena, bytes);
    EXPECT_OVERLAP(rlcc_consensus_csr(labels, l, M, 3, 3, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM,
                                      (rlcc_csr **)(l + 2)),
                   "out", "cur", arena, bytes);
    /* probabilities, propagation, blending */
    const float cents[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    for (int e = 0; e < M * 4; e++)
        f[e] = x[e];
    EXPECT_OVERLAP(rlcc_class_probabilities(f, M, 4, 4, cents, 3, 4, 30.0f, NULL, M, f + 5, 3, 1),
                   "probs", "x", arena, bytes);
    float probs[M * 3];
    CHECK_OK(rlcc_class_probabilities(x, M, 4, 4, cents, 3, 4, 30.0f, NULL, M, probs, 3, 1));
    rlcc_csr *chat = NULL;
    CHECK_OK(rlcc_consensus_csr(labels, labels, M, 3, 3, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM,
                                &chat));
    for (int e = 0; e < M * 3; e++)
        f[e] = probs[e];
    EXPECT_OVERLAP(rlcc_propagate(labels, M, rlcc_csr_indptr(chat), rlcc_csr_indices(chat),
                                  rlcc_csr_data(chat), 3, 3, f, 3, 0.5f, 0.0f, NULL, M, f + 3, 3),
                   "out", "probs", arena, bytes);
    for (int e = 0; e < M; e++)
        l[e] = labels[e];
    EXPECT_OVERLAP(rlcc_propagate(l, M, rlcc_csr_indptr(chat), rlcc_csr_indices(chat),
                                  rlcc_csr_data(chat), 3, 3, NULL, 0, 0.5f, 1.0f, NULL, M,
                                  (float *)(l + 1), 3),
                   "out", "prev", arena, bytes);
    for (int e = 0; e < M * 3; e++)
        f[e] = probs[e];
    EXPECT_OVERLAP(rlcc_blend(labels, M, 3, f, 3, 0.9f, NULL, M, f + 1, 3), "out", "s", arena,
                   bytes);
    EXPECT_OVERLAP(rlcc_blend(labels, M, 3, f, 3, 0.9f, NULL, M, f, 4), "out", "s", arena, bytes);
    rlcc_csr_free(chat);
    free(arena);
}

/* What is not an overlap: column blocks of one buffer that interleave
 * without sharing a byte, an input passed twice, and blending in place. */
static void interleaved_and_in_place_buffers_are_accepted(void)
{
    enum { M = 12, W = 4 + 3 };
    float x[M * 4];
    for (int e = 0; e < M * 4; e++)
        x[e] = (float)((e * 7) % 5) - 2.0f;
    const float cents[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    /* one matrix of M rows: x in columns [0, 4), the probabilities in [4, 7) */
    float both[M * W];
    for (int i = 0; i < M; i++)
        for (int c = 0; c < 4; c++)
            both[i * W + c] = x[i * 4 + c];
    float probs[M * 3];
    CHECK_OK(rlcc_class_probabilities(x, M, 4, 4, cents, 3, 4, 30.0f, NULL, M, probs, 3, 1));
    CHECK_OK(rlcc_class_probabilities(both, M, 4, W, cents, 3, 4, 30.0f, NULL, M, both + 4, W, 1));
    int same = 1;
    for (int i = 0; i < M; i++)
        same &= memcmp(both + i * W + 4, probs + i * 3, sizeof(float) * 3) == 0;
    CHECK(same);
    /* the same input twice (x as its own centroids) is fine */
    float self[M * M];
    CHECK_OK(rlcc_class_probabilities(x, M, 4, 4, x, M, 4, 1.0f, NULL, M, self, M, 1));
    /* blend in place: s and out the same buffer, the same leading dimension */
    const int32_t labels[M] = {0, 1, 0, 1, 2, 2, 0, 1, 2, -1, 0, 1};
    float apart[M * 3], inplace[M * 3];
    memcpy(inplace, probs, sizeof probs);
    CHECK_OK(rlcc_blend(labels, M, 3, probs, 3, 0.9f, NULL, M, apart, 3));
    CHECK_OK(rlcc_blend(labels, M, 3, inplace, 3, 0.9f, NULL, M, inplace, 3));
    CHECK(memcmp(apart, inplace, sizeof apart) == 0);
}

/* ---- reserved fields ------------------------------------------------------------- */

/* The reserved field of rlcc_dbscan_options (1.5) through all three
 * entry points; every other struct with a reserved field is held by
 * test_rlcc.c reserved_fields_are_refused. */
static void dbscan_reserved_field_is_refused_everywhere(void)
{
    const float x[8] = {0, 0, 0, 1, 5, 5, 5, 6};
    const float dist[16] = {0, 1, 7, 7, 1, 0, 7, 7, 7, 7, 0, 1, 7, 7, 1, 0};
    const int64_t indptr[5] = {0, 0, 0, 0, 0};
    int32_t labels[4] = {-9, -9, -9, -9};
    rlcc_dbscan_options o;
    rlcc_dbscan_options_init(&o, sizeof o);
    const int32_t bad[3] = {1, -1, INT32_MIN};
    for (int b = 0; b < 3; b++) {
        o.reserved = bad[b];
        CHECK_ERR(rlcc_dbscan_features(x, 4, 2, 2, 1.5, 2, &o, labels, NULL, NULL, NULL),
                  RLCC_E_INVALID_ARGUMENT, "options.reserved");
        CHECK_ERR(rlcc_dbscan_dense(dist, 4, 4, 1.5, 2, &o, labels, NULL, NULL, NULL),
                  RLCC_E_INVALID_ARGUMENT, "options.reserved");
        CHECK_ERR(rlcc_dbscan_csr(4, indptr, NULL, NULL, 1.5, 2, &o, labels, NULL, NULL, NULL),
                  RLCC_E_INVALID_ARGUMENT, "options.reserved");
        CHECK(labels[0] == -9 && labels[3] == -9);
    }
}

/* ---- getters during steps ---------------------------------------------------------- */

typedef struct poller {
    rlcc_refiner *refiner;
    atomic_int stop;
    long polls;
} poller;

static void *poll_getters(void *arg)
{
    poller *p = arg;
    while (!atomic_load(&p->stop)) {
        (void)rlcc_refiner_generation(p->refiner);
        (void)rlcc_refiner_n_classes(p->refiner);
        (void)rlcc_refiner_threshold(p->refiner);
        (void)rlcc_refiner_bytes(p->refiner);
        p->polls++;
    }
    return NULL;
}

/* A thread polling the getters (a progress bar, a logger) while another
 * steps 200 times: no step fails (they did, "in use", 5 to 39 of 200), and
 * each getter answers a value of a finished generation or -1 (NaN). */
static void getters_never_fail_a_concurrent_step(void)
{
    enum { SMALL = 120, STEPS = 200 };
    float *x = malloc(sizeof(float) * SMALL * D);
    make_rows(x, SMALL, 13, 1.0);
    rlcc_pseudo_options pseudo;
    rlcc_pseudo_options_init(&pseudo, sizeof pseudo);
    pseudo.k1 = 10;
    pseudo.k2 = 3;
    pseudo.n_threads = 1;
    poller p = {.polls = 0};
    atomic_init(&p.stop, 0);
    CHECK_OK(rlcc_refiner_new(SMALL, D, &pseudo, NULL, &p.refiner));
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, poll_getters, &p) == 0);
    int failed = 0;
    for (int s = 0; s < STEPS; s++)
        if (rlcc_refiner_step_matrix(p.refiner, x, D, NULL) != RLCC_OK) {
            if (failed++ == 0)
                fprintf(stderr, "  %s: step %d: %s\n", test_current, s, rlcc_last_error());
        }
    atomic_store(&p.stop, 1);
    pthread_join(thread, NULL);
    CHECK_EQ(failed, 0);
    CHECK(p.polls > 0);
    CHECK_EQ(rlcc_refiner_generation(p.refiner), STEPS);
    rlcc_refiner_free(p.refiner);
    free(x);
}

/* ---- fork ------------------------------------------------------------------------- */

/* The parent runs teams of two threads (brute DBSCAN, kNN, Jaccard pseudo
 * labels), then forks; the child makes the same calls with n_threads 2
 * and must give the same results within 10 s (it hung in libomp's
 * __kmpc_fork_call). */
static void fresh_forked_child(void)
{
    enum { BIG = 2000 };
    float *x = malloc(sizeof(float) * BIG * D);
    make_rows(x, BIG, 17, 1.0);
    int32_t *labels = malloc(sizeof(int32_t) * BIG), *again = malloc(sizeof(int32_t) * BIG);
    int64_t *lists = malloc(sizeof(int64_t) * BIG * 8), *lists_again = malloc(sizeof(int64_t) * BIG * 8);
    rlcc_dbscan_options d;
    rlcc_dbscan_options_init(&d, sizeof d);
    d.algorithm = RLCC_DBSCAN_BRUTE;
    d.n_threads = 2;
    rlcc_knn_options k;
    rlcc_knn_options_init(&k, sizeof k);
    k.n_threads = 2;
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    p.n_threads = 2;
    int32_t *pseudo = malloc(sizeof(int32_t) * BIG), *pseudo_again = malloc(sizeof(int32_t) * BIG);
    CHECK_OK(rlcc_dbscan_features(x, BIG, D, D, 0.6, 4, &d, labels, NULL, NULL, NULL));
    CHECK_OK(rlcc_knn(x, BIG, D, D, 8, &k, lists, NULL));
    CHECK_OK(rlcc_pseudo_labels(x, BIG, D, D, &p, pseudo, NULL, NULL));
    fflush(stdout);
    fflush(stderr);
    const pid_t child = fork();
    if (child == 0) {
        alarm(10);
        int same = rlcc_dbscan_features(x, BIG, D, D, 0.6, 4, &d, again, NULL, NULL, NULL) == RLCC_OK &&
                   memcmp(labels, again, sizeof(int32_t) * BIG) == 0;
        same &= rlcc_knn(x, BIG, D, D, 8, &k, lists_again, NULL) == RLCC_OK &&
                memcmp(lists, lists_again, sizeof(int64_t) * BIG * 8) == 0;
        same &= rlcc_pseudo_labels(x, BIG, D, D, &p, pseudo_again, NULL, NULL) == RLCC_OK &&
                memcmp(pseudo, pseudo_again, sizeof(int32_t) * BIG) == 0;
        _exit(same ? 0 : 3);
    }
    int status = 0;
    CHECK(child > 0);
    CHECK(waitpid(child, &status, 0) == child);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fprintf(stderr, "  %s: child exited %d, signal %d\n", test_current,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(pseudo_again);
    free(pseudo);
    free(lists_again);
    free(lists);
    free(again);
    free(labels);
    free(x);
}

static void forked_child_without_a_runtime_runs_single_threaded(void)
{
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
    TEST_SKIP("TSan does not support a forked child of a multi-threaded process");
#endif
#endif
    if (in_fresh_process()) {
        fresh_forked_child();
        return;
    }
    /* what scikit-learn's import does to libomp: no re-initialisation in a
     * child (GCC's libgomp never has one) */
    check_fresh_run("KMP_INIT_AT_FORK=FALSE", 60);
}

const test_case robustness_tests[] = {
    {"sizes_are_validated_before_they_are_used", sizes_are_validated_before_they_are_used},
    {"chat_indptr_is_checked_before_its_entries", chat_indptr_is_checked_before_its_entries},
    {"stats_beyond_what_librlcc_knows_are_untouched",
     stats_beyond_what_librlcc_knows_are_untouched},
    {"thread_counts_beyond_the_machine_are_clamped", thread_counts_beyond_the_machine_are_clamped},
    {"refiner_freed_from_its_own_callback", refiner_freed_from_its_own_callback},
    {"softmax_of_huge_logits_is_finite", softmax_of_huge_logits_is_finite},
    {"outputs_that_overlap_inputs_are_refused", outputs_that_overlap_inputs_are_refused},
    {"interleaved_and_in_place_buffers_are_accepted", interleaved_and_in_place_buffers_are_accepted},
    {"dbscan_reserved_field_is_refused_everywhere", dbscan_reserved_field_is_refused_everywhere},
    {"getters_never_fail_a_concurrent_step", getters_never_fail_a_concurrent_step},
    {"forked_child_without_a_runtime_runs_single_threaded",
     forked_child_without_a_runtime_runs_single_threaded},
    {NULL, NULL},
};
