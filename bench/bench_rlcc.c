/*
 * bench_rlcc.c - RLCC at trainer scale, two benchmarks.
 *
 *   bench_rlcc N D K_PREV K_CUR
 *
 * The consensus step: consensus (CSR), class probabilities against the
 * previous centroids, propagation and blending, for every sample (dense)
 * and per batch of 256 samples; next to the one SGEMM each needs
 * (N x D x K_PREV, and 256 x D x K_PREV). The per-batch part runs first,
 * so the peak RSS read after it shows what a trainer reading batches needs.
 *
 *   bench_rlcc refiner MODE N D GENERATIONS
 *
 * The refiner's memory: GENERATIONS steps of a refiner with its defaults
 * (Jaccard, DBSCAN at 0.58/0.60/0.62, beta 0: the features are kept for
 * the targets) on a new synthetic epoch of features each generation, and
 * the peak RSS above what the caller holds. MODE is how the features reach
 * the refiner:
 *   copy      rlcc_refiner_step_matrix(), borrow 0: the caller overwrites
 *             its one matrix each generation, the refiner keeps a copy
 *   borrow    rlcc_refiner_step_matrix(), borrow 1: the refiner keeps a
 *             pointer; the caller refills its one matrix for the next
 *             epoch once the generation's targets are done (rlcc.h allows
 *             it), so nobody holds a copy
 *   callback  rlcc_refiner_step() (1.2) with a copy callback, batches of
 *             1024, over the caller's one matrix
 * Run one mode per process, so each mode's high-water mark is its own: the
 * mark is reset (/proc/self/clear_refs) once the caller's matrices are
 * resident, and VmHWM - VmRSS of that moment is what the refiner added.
 *
 * Both print key=value pairs (MB = 10^6 bytes in the refiner benchmark).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlcc.h"
#include "synth.h"
#include "timing.h"

enum { BATCH = 256, BATCHES = 40 };

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, rlcc_last_error());
    return 1;
}

static int consensus_bench(char **argv)
{
    const int64_t n = atoll(argv[1]), d = atoll(argv[2]), kp = atoll(argv[3]), kc = atoll(argv[4]);
    synth_params params = synth_defaults(n, d);
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    int32_t *prev = malloc(sizeof(int32_t) * (size_t)n), *cur = malloc(sizeof(int32_t) * (size_t)n);
    float *cents = malloc(sizeof(float) * (size_t)(kp * d));
    if (!x || !prev || !cur || !cents || synth_generate(&params, x, NULL, NULL) != 0)
        return fail("setup");
    /* two generations that mostly agree: cur is prev relabelled, 10% moved */
    for (int64_t i = 0; i < n; i++) {
        prev[i] = (int32_t)(i % kp);
        cur[i] = (int32_t)((i * 7 % 10 == 0 ? i / 3 : i) % kc);
    }
    if (rlcc_centroids(x, n, d, d, prev, kp, cents, d) != RLCC_OK)
        return fail("rlcc_centroids");

    /* per batch */
    float *pb = malloc(sizeof(float) * BATCH * (size_t)kp), *tb = malloc(sizeof(float) * BATCH * (size_t)kc);
    float *gathered = malloc(sizeof(float) * BATCH * (size_t)d);
    int64_t rows[BATCH];
    rlcc_csr *chat = NULL;
    double t0 = now_seconds();
    if (rlcc_consensus_csr(prev, cur, n, kp, kc, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &chat) != RLCC_OK)
        return fail("rlcc_consensus_csr");
    const double consensus_s = now_seconds() - t0;
    double batch_s = 0, batch_gemm_s = 0;
    for (int b = 0; b < BATCHES; b++) {
        for (int r = 0; r < BATCH; r++)
            rows[r] = ((int64_t)b * 7919 + (int64_t)r * 104729) % n;
        t0 = now_seconds();
        if (rlcc_class_probabilities(x, n, d, d, cents, kp, d, 30.0f, rows, BATCH, pb, kp, 0) != RLCC_OK ||
            rlcc_propagate(prev, n, rlcc_csr_indptr(chat), rlcc_csr_indices(chat), rlcc_csr_data(chat),
                           kp, kc, pb, kp, 0.9f, 0.0f, rows, BATCH, tb, kc) != RLCC_OK ||
            rlcc_blend(cur, n, kc, tb, kc, 0.9f, rows, BATCH, tb, kc) != RLCC_OK)
            return fail("per-batch targets");
        batch_s += now_seconds() - t0;
        t0 = now_seconds();
        for (int r = 0; r < BATCH; r++)
            for (int64_t k = 0; k < d; k++)
                gathered[r * d + k] = x[rows[r] * d + k];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, (int)kp, (int)d, 30.0f,
                    gathered, (int)d, cents, (int)d, 0.0f, pb, (int)kp);
        batch_gemm_s += now_seconds() - t0;
    }
    const double batch_rss = peak_rss_mb();

    /* dense: every sample */
    float *p = malloc(sizeof(float) * (size_t)(n * kp)), *t = malloc(sizeof(float) * (size_t)(n * kc));
    if (!p || !t)
        return fail("dense buffers");
    /* touch the outputs first, as a trainer reusing its buffers would and as
     * the GEMM below finds them: page faults are not the library's work */
    memset(p, 0, sizeof(float) * (size_t)(n * kp));
    memset(t, 0, sizeof(float) * (size_t)(n * kc));
    t0 = now_seconds();
    rlcc_csr *chat2 = NULL;
    if (rlcc_consensus_csr(prev, cur, n, kp, kc, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &chat2) != RLCC_OK ||
        rlcc_class_probabilities(x, n, d, d, cents, kp, d, 30.0f, NULL, n, p, kp, 0) != RLCC_OK ||
        rlcc_propagate(prev, n, rlcc_csr_indptr(chat2), rlcc_csr_indices(chat2), rlcc_csr_data(chat2),
                       kp, kc, p, kp, 0.9f, 0.0f, NULL, n, t, kc) != RLCC_OK ||
        rlcc_blend(cur, n, kc, t, kc, 0.9f, NULL, n, t, kc) != RLCC_OK)
        return fail("dense targets");
    const double dense_s = now_seconds() - t0;
    t0 = now_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)kp, (int)d, 30.0f, x, (int)d,
                cents, (int)d, 0.0f, p, (int)kp);
    const double gemm_s = now_seconds() - t0;
    printf("n=%lld d=%lld k_prev=%lld k_cur=%lld consensus_s=%.4f dense_s=%.3f gemm_s=%.3f "
           "dense_ratio=%.3f batch_ms=%.3f batch_gemm_ms=%.3f batch_ratio=%.3f "
           "batch_peak_rss_mb=%.0f dense_peak_rss_mb=%.0f chat_nnz=%lld\n",
           (long long)n, (long long)d, (long long)kp, (long long)kc, consensus_s, dense_s, gemm_s,
           dense_s / gemm_s, 1e3 * batch_s / BATCHES, 1e3 * batch_gemm_s / BATCHES,
           batch_s / batch_gemm_s, batch_rss, peak_rss_mb(), (long long)rlcc_csr_nnz(chat));
    rlcc_csr_free(chat);
    rlcc_csr_free(chat2);
    free(p); free(t); free(pb); free(tb); free(gathered); free(x); free(prev); free(cur); free(cents);
    return 0;
}

/* A field of /proc/self/status ("VmHWM", "VmRSS") in bytes, or -1. */
static int64_t status_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;
    const size_t len = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kb = atoll(line + len + 1);
    if (f != NULL)
        fclose(f);
    return kb < 0 ? -1 : (int64_t)kb * 1024;
}

/* Sets VmHWM back to VmRSS (Linux >= 4.0); 0 on success. */
static int reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL)
        return -1;
    const int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static double mb(int64_t bytes)
{
    return (double)bytes / 1e6;
}

typedef struct rows_source {
    const float *x;
    int64_t d;
} rows_source;

/* The copy callback every 1.2 caller with features in memory wrote. */
static int64_t copy_rows(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    const rows_source *src = data;
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, src->x + (start + i) * src->d, sizeof(float) * (size_t)src->d);
    return count;
}

enum { MODE_COPY, MODE_BORROW, MODE_CALLBACK };

static int refiner_bench(const char *mode_name, int64_t n, int64_t d, int generations)
{
    const int mode = strcmp(mode_name, "copy") == 0     ? MODE_COPY
                     : strcmp(mode_name, "borrow") == 0 ? MODE_BORROW
                     : strcmp(mode_name, "callback") == 0 ? MODE_CALLBACK
                                                           : -1;
    if (mode < 0 || n < 8 || d < 1 || generations < 1) {
        fprintf(stderr, "bench_rlcc refiner: MODE is copy, borrow or callback; N >= 8, D, "
                        "GENERATIONS >= 1\n");
        return 2;
    }
    /* the caller's features: one matrix, refilled every epoch (when
     * borrowed, after the generation's targets, as rlcc.h allows) */
    const int matrices = 1;
    const size_t matrix_bytes = sizeof(float) * (size_t)(n * d);
    float *x[2] = {NULL, NULL};
    for (int m = 0; m < matrices; m++)
        if ((x[m] = malloc(matrix_bytes)) == NULL)
            return fail("features");
    synth_params params = synth_defaults(n, d);
    params.image_seed = 1000; /* each generation: new images of the same people */
    if (synth_generate(&params, x[0], NULL, NULL) != 0)
        return fail("synth");
    rlcc_refiner *refiner = NULL;
    if (rlcc_refiner_new(n, d, NULL, NULL, &refiner) != RLCC_OK)
        return fail("rlcc_refiner_new");
    rlcc_step_options step;
    rlcc_step_options_init(&step, sizeof step);
    step.borrow = mode == MODE_BORROW;

    if (reset_peak() != 0) {
        fprintf(stderr, "bench_rlcc refiner: cannot reset VmHWM in /proc/self/clear_refs\n");
        return 1;
    }
    const int64_t caller = status_bytes("VmRSS");
    printf("mode=%s n=%lld d=%lld generations=%d matrix_mb=%.1f caller_matrices=%d "
           "caller_rss_mb=%.1f",
           mode_name, (long long)n, (long long)d, generations, mb((int64_t)matrix_bytes),
           matrices, mb(caller));
    double total_s = 0;
    for (int g = 0; g < generations; g++) {
        const float *features = x[g % matrices];
        if (g > 0) {
            params.image_seed = 1000 + (uint64_t)g;
            if (synth_generate(&params, x[g % matrices], NULL, NULL) != 0)
                return fail("synth");
        }
        rows_source src = {features, d};
        const double t0 = now_seconds();
        const int rc = mode == MODE_CALLBACK
                           ? rlcc_refiner_step(refiner, copy_rows, &src, 1024, NULL, NULL,
                                               NULL, NULL)
                           : rlcc_refiner_step_matrix(refiner, features, d, &step);
        if (rc != RLCC_OK)
            return fail("step");
        const double step_s = now_seconds() - t0;
        total_s += step_s;
        printf(" classes_g%d=%lld bytes_g%d_mb=%.1f peak_g%d_mb=%.1f step_s_g%d=%.2f", g,
               (long long)rlcc_refiner_n_classes(refiner), g, mb(rlcc_refiner_bytes(refiner)),
               g, mb(status_bytes("VmHWM") - caller), g, step_s);
        fflush(stdout);
    }
    const int64_t peak = status_bytes("VmHWM");
    printf(" step_s=%.2f peak_rss_mb=%.1f peak_above_caller_mb=%.1f\n", total_s, mb(peak),
           mb(peak - caller));
    rlcc_refiner_free(refiner);
    free(x[0]);
    free(x[1]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "refiner") == 0)
        return refiner_bench(argv[2], atoll(argv[3]), atoll(argv[4]), atoi(argv[5]));
    if (argc == 5 && strcmp(argv[1], "refiner") != 0)
        return consensus_bench(argv);
    fprintf(stderr, "usage: %s N D K_PREV K_CUR\n"
                    "       %s refiner copy|borrow|callback N D GENERATIONS\n",
            argv[0], argv[0]);
    return 2;
}
