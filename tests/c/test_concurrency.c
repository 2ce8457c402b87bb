/* test_concurrency.c - librlcc called from 8 threads at once with different
 * inputs gives what sequential calls give; a refiner refuses calls that
 * would overlap its step, from another thread or from its own callbacks. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

enum { THREADS = 8, N = 300, D = 12 };

typedef struct work {
    int id;
    float x[N * D];
    int32_t dbscan[N], pseudo[N];
    int64_t nnz;
    float jaccard_sum;
} work;

static void make_input(work *w)
{
    uint64_t s = 1000 + (uint64_t)w->id;
    for (int i = 0; i < N; i++) {
        double sum = 0.0;
        for (int k = 0; k < D; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            double v = (k == (i * (w->id + 1)) % D ? 2.0 : 0.0) + ((double)(s >> 11) * 0x1p-53 - 0.5);
            w->x[i * D + k] = (float)v;
            sum += v * v;
        }
        for (int k = 0; k < D; k++)
            w->x[i * D + k] = (float)(w->x[i * D + k] / sqrt(sum));
    }
}

/* Everything one caller does: DBSCAN, Jaccard, pseudo labels. */
static void *compute(void *arg)
{
    work *w = arg;
    rlcc_dbscan_options o;
    rlcc_dbscan_options_init(&o, sizeof o);
    o.n_threads = 1 + w->id % 2;
    if (rlcc_dbscan_features(w->x, N, D, D, 0.7, 4, &o, w->dbscan, NULL, NULL, NULL) != RLCC_OK)
        w->nnz = -1;
    rlcc_csr *graph = NULL;
    if (rlcc_jaccard(w->x, N, D, D, NULL, NULL, &graph) == RLCC_OK) {
        w->nnz = rlcc_csr_nnz(graph);
        w->jaccard_sum = 0;
        for (int64_t e = 0; e < w->nnz; e++)
            w->jaccard_sum += rlcc_csr_data(graph)[e];
        rlcc_csr_free(graph);
    } else {
        w->nnz = -1;
    }
    if (rlcc_pseudo_labels(w->x, N, D, D, NULL, w->pseudo, NULL, NULL) != RLCC_OK)
        w->nnz = -1;
    return NULL;
}

static void eight_threads_equal_sequential_calls(void)
{
    work *sequential = calloc(THREADS, sizeof *sequential);
    work *parallel = calloc(THREADS, sizeof *parallel);
    for (int t = 0; t < THREADS; t++) {
        sequential[t].id = parallel[t].id = t;
        make_input(&sequential[t]);
        make_input(&parallel[t]);
        compute(&sequential[t]);
    }
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&threads[t], NULL, compute, &parallel[t]);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        CHECK(sequential[t].nnz > 0);
        CHECK_EQ(parallel[t].nnz, sequential[t].nnz);
        CHECK(parallel[t].jaccard_sum == sequential[t].jaccard_sum);
        CHECK(memcmp(parallel[t].dbscan, sequential[t].dbscan, sizeof parallel[t].dbscan) == 0);
        CHECK(memcmp(parallel[t].pseudo, sequential[t].pseudo, sizeof parallel[t].pseudo) == 0);
    }
    free(sequential);
    free(parallel);
}

/* ---- the refiner's exclusion --------------------------------------------- */

typedef struct shared {
    rlcc_refiner *refiner;
    float x[N * D];
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int phase;           /* 0: step started, 1: other thread tried, 2: done */
    int other_result;
    int reentrant_result;
    int64_t generation_inside;
} shared;

static int64_t blocking_features(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    shared *s = data;
    if (start == 0) {
        /* from inside the step: the same handle is in use */
        float out[1];
        s->reentrant_result = rlcc_refiner_targets(s->refiner, NULL, N, out, 1);
        s->generation_inside = rlcc_refiner_generation(s->refiner);
        /* let the other thread try a step now, and wait until it has */
        pthread_mutex_lock(&s->lock);
        s->phase = 1;
        pthread_cond_broadcast(&s->changed);
        while (s->phase != 2)
            pthread_cond_wait(&s->changed, &s->lock);
        pthread_mutex_unlock(&s->lock);
    }
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, s->x + (start + i) * D, sizeof(float) * D);
    return count;
}

static int64_t plain_features(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    shared *s = data;
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, s->x + (start + i) * D, sizeof(float) * D);
    return count;
}

static void *other_thread(void *arg)
{
    shared *s = arg;
    pthread_mutex_lock(&s->lock);
    while (s->phase != 1)
        pthread_cond_wait(&s->changed, &s->lock);
    pthread_mutex_unlock(&s->lock);
    s->other_result = rlcc_refiner_step(s->refiner, plain_features, s, 64, NULL, NULL, NULL, NULL);
    pthread_mutex_lock(&s->lock);
    s->phase = 2;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void refiner_refuses_overlapping_calls(void)
{
    shared *s = calloc(1, sizeof *s);
    work *w = calloc(1, sizeof *w);
    make_input(w);
    memcpy(s->x, w->x, sizeof s->x);
    free(w);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    CHECK_OK(rlcc_refiner_new(N, D, NULL, NULL, &s->refiner));
    CHECK_OK(rlcc_refiner_step(s->refiner, plain_features, s, 64, NULL, NULL, NULL, NULL));
    pthread_t other;
    pthread_create(&other, NULL, other_thread, s);
    CHECK_OK(rlcc_refiner_step(s->refiner, blocking_features, s, 64, NULL, NULL, NULL, NULL));
    pthread_join(other, NULL);
    CHECK_EQ(s->other_result, RLCC_E_INVALID_ARGUMENT);
    CHECK_EQ(s->reentrant_result, RLCC_E_INVALID_ARGUMENT);
    CHECK_EQ(s->generation_inside, -1);
    CHECK_EQ(rlcc_refiner_generation(s->refiner), 2); /* only the first thread's step counted */
    /* readers may overlap each other */
    float *t1 = malloc(sizeof(float) * N * N);
    CHECK_OK(rlcc_refiner_targets(s->refiner, NULL, N, t1, rlcc_refiner_n_classes(s->refiner)));
    free(t1);
    rlcc_refiner_free(s->refiner);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->changed);
    free(s);
}

/* A forked child (a PyTorch DataLoader worker) calls librlcc after the
 * parent used OpenMP and OpenBLAS: it must not hang. Since 1.6 librlcc runs
 * a forked child on its calling thread, so this holds with GCC's libgomp
 * too, whose child used to hang until its alarm (before 1.6 the gcc build
 * skipped this test). The child has 60 s before SIGALRM fails it. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FORK_UNSUPPORTED "TSan does not support threads in a forked child"
#endif
#endif

static void child_after_fork_does_not_hang(void)
{
#ifdef FORK_UNSUPPORTED
    TEST_SKIP(FORK_UNSUPPORTED);
#endif
    work *w = calloc(1, sizeof *w);
    w->id = 3;
    make_input(w);
    compute(w); /* the parent: parallel regions and SGEMM */
    const pid_t child = fork();
    if (child == 0) {
        alarm(60);
        work *again = calloc(1, sizeof *again);
        again->id = 3;
        make_input(again);
        compute(again);
        const int same = again->nnz == w->nnz &&
                         memcmp(again->pseudo, w->pseudo, sizeof again->pseudo) == 0;
        _exit(same ? 0 : 3);
    }
    int status = 0;
    CHECK(child > 0);
    CHECK(waitpid(child, &status, 0) == child);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fprintf(stderr, "  child: exited %d status %d, signal %d\n", WIFEXITED(status), WEXITSTATUS(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(w);
}

const test_case concurrency_tests[] = {
    {"child_after_fork_does_not_hang", child_after_fork_does_not_hang},
    {"eight_threads_equal_sequential_calls", eight_threads_equal_sequential_calls},
    {"refiner_refuses_overlapping_calls", refiner_refuses_overlapping_calls},
    {NULL, NULL},
};
