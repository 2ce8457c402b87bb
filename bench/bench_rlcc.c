/*
 * bench_rlcc.c - RLCC's consensus step at trainer scale: consensus (CSR),
 * class probabilities against the previous centroids, propagation and
 * blending, for every sample (dense) and per batch of 256 samples; next to
 * the one SGEMM each needs (N x D x K_prev, and 256 x D x K_prev).
 *
 *   bench_rlcc N D K_PREV K_CUR
 *
 * Prints key=value pairs. The per-batch part runs first, so the peak RSS
 * read after it shows what a trainer reading batches needs.
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

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s N D K_PREV K_CUR\n", argv[0]);
        return 2;
    }
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
