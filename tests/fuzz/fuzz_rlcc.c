/* fuzz_rlcc.c - consensus, propagation, blending and the refiner. Checks:
 * counts add up to the samples labelled in both generations; each row of
 * the normalised consensus sums to 1 or 0; target rows sum to
 * alpha [y >= 0] + (1 - alpha) rowsum(S) within 1e-5; refusals leave
 * outputs alone; a refiner's failed step leaves it unchanged. */
#include <stdlib.h>

#include "fuzz_input.h"
#include "rlcc.h"

enum { MAX_N = 64, MAX_K = 10, D = 4 };

typedef struct source {
    fuzz_input *in;
    float x[MAX_N * D];
    int fail_at;
} source;

static int64_t features(int64_t start, int64_t count, float *rows, int64_t ld, void *data)
{
    source *s = data;
    if (s->fail_at >= 0 && start >= s->fail_at)
        return -1;
    for (int64_t i = 0; i < count; i++)
        memcpy(rows + i * ld, s->x + (start + i) * D, sizeof(float) * D);
    return count;
}

static int consensus_checks(fuzz_input *in)
{
    const int64_t n = fuzz_int(in, 0, MAX_N);
    int32_t prev[MAX_N], cur[MAX_N];
    for (int64_t i = 0; i < n; i++) {
        prev[i] = (int32_t)fuzz_int(in, -2, MAX_K - 1);
        cur[i] = (int32_t)fuzz_int(in, -1, MAX_K - 1);
    }
    const int64_t kp = fuzz_int(in, 0, MAX_K), kc = fuzz_int(in, 0, MAX_K);
    const float alpha = (float)fuzz_int(in, 0, 18) / 16.0f, w = (float)fuzz_int(in, 0, 16) / 16.0f;
    const float beta = (float)fuzz_int(in, 0, 16) / 16.0f;
    int64_t counts[MAX_K * MAX_K];
    counts[0] = -5;
    int rc = rlcc_consensus_counts(prev, cur, n, kp, kc, counts, MAX_K);
    if (rc != RLCC_OK)
        return counts[0] == -5 ? 0 : 1;
    int64_t k_prev = kp, k_cur = kc, both = 0, total = 0;
    for (int64_t i = 0; i < n; i++) {
        k_prev = kp ? kp : (prev[i] + 1 > k_prev ? prev[i] + 1 : k_prev);
        k_cur = kc ? kc : (cur[i] + 1 > k_cur ? cur[i] + 1 : k_cur);
        both += prev[i] >= 0 && cur[i] >= 0;
    }
    for (int64_t a = 0; a < k_prev; a++)
        for (int64_t b = 0; b < k_cur; b++)
            total += counts[a * MAX_K + b];
    if (total != both)
        return 1;
    if (k_prev < 1 || k_cur < 1)
        return 0;
    rlcc_csr *chat = NULL;
    if (rlcc_consensus_csr(prev, cur, n, k_prev, k_cur, RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, &chat) != RLCC_OK)
        return 1;
    int bad = 0;
    /* the dense consensus agrees with the CSR one */
    float dense[MAX_K * MAX_K];
    const int32_t norm = (int32_t)fuzz_int(in, 0, 2);
    if (rlcc_consensus(prev, cur, n, k_prev, k_cur, RLCC_CONSENSUS_IOU, norm, dense, k_cur) != RLCC_OK)
        bad = 1;
    for (int64_t a = 0; a < k_prev && !bad && norm == RLCC_NORMALIZE_SUM; a++)
        for (int64_t e = rlcc_csr_indptr(chat)[a]; e < rlcc_csr_indptr(chat)[a + 1]; e++)
            bad |= dense[a * k_cur + rlcc_csr_indices(chat)[e]] != rlcc_csr_data(chat)[e];
    const int64_t *ip = rlcc_csr_indptr(chat);
    for (int64_t a = 0; a < k_prev; a++) {
        double sum = 0;
        for (int64_t e = ip[a]; e < ip[a + 1]; e++)
            sum += rlcc_csr_data(chat)[e];
        bad |= ip[a + 1] > ip[a] && fabs(sum - 1.0) > 1e-5;
    }
    float probs[MAX_N * MAX_K], s[MAX_N * MAX_K], t[MAX_N * MAX_K];
    for (int64_t i = 0; i < n; i++) { /* rows of a distribution */
        float sum = 0;
        for (int64_t a = 0; a < k_prev; a++)
            sum += probs[i * k_prev + a] = (float)(fuzz_byte(in) % 7);
        for (int64_t a = 0; a < k_prev; a++)
            probs[i * k_prev + a] = sum > 0 ? probs[i * k_prev + a] / sum : 1.0f / (float)k_prev;
    }
    rc = rlcc_propagate(prev, n, ip, rlcc_csr_indices(chat), rlcc_csr_data(chat), k_prev, k_cur,
                        probs, k_prev, w, beta, NULL, n, s, k_cur);
    if (rc == RLCC_OK) {
        t[0] = -3.0f;
        rc = rlcc_blend(cur, n, k_cur, s, k_cur, alpha, NULL, n, t, k_cur);
        if (rc == RLCC_OK) {
            for (int64_t i = 0; i < n; i++) {
                double row = 0, srow = 0;
                for (int64_t b = 0; b < k_cur; b++) {
                    row += t[i * k_cur + b];
                    srow += s[i * k_cur + b];
                }
                const double want = cur[i] >= 0 ? alpha + (1 - alpha) * srow : 0.0;
                bad |= fabs(row - want) > 1e-5;
            }
        } else {
            bad |= !(alpha > 1.0f) || (n > 0 && t[0] != -3.0f);
        }
    } else {
        bad |= rc != RLCC_E_INVALID_ARGUMENT;
    }
    rlcc_csr_free(chat);
    return bad;
}

static int refiner_checks(fuzz_input *in)
{
    source *src = calloc(1, sizeof *src);
    src->in = in;
    const int64_t n = fuzz_int(in, 8, MAX_N);
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = (int32_t)fuzz_int(in, 1, 8);
    p.k2 = (int32_t)fuzz_int(in, 1, p.k1);
    p.normalize = 1;
    p.metric = (int32_t)fuzz_int(in, 0, 2);
    rlcc_refiner *r = NULL;
    int bad = 0;
    if (rlcc_refiner_new(n, D, &p, NULL, &r) != RLCC_OK) {
        free(src);
        return 1;
    }
    for (int gen = 0; gen < 3 && !bad; gen++) {
        for (int64_t e = 0; e < n * D; e++)
            src->x[e] = fuzz_plain_float(in) + (e % D == (e / D) % D ? 2.0f : 0.0f);
        src->fail_at = fuzz_byte(in) % 5 == 0 ? (int)fuzz_int(in, 0, (int)n - 1) : -1;
        const int64_t before = rlcc_refiner_generation(r);
        int rc = rlcc_refiner_step(r, features, src, fuzz_int(in, 1, 20), NULL, NULL, NULL, NULL);
        if (rc != RLCC_OK) {
            bad |= rlcc_refiner_generation(r) != before;
            continue;
        }
        const int64_t k = rlcc_refiner_n_classes(r);
        float *t = malloc(sizeof(float) * (size_t)(n * k));
        bad |= rlcc_refiner_targets(r, NULL, n, t, k) != RLCC_OK;
        for (int64_t i = 0; i < n && !bad; i++) {
            double row = 0;
            for (int64_t b = 0; b < k; b++)
                row += t[i * k + b];
            bad |= fabs(row - 1.0) > 1e-5; /* singletons: every sample trains */
        }
        /* a batch of sample indices, sometimes out of range: its rows are the
         * dense rows to SGEMM rounding, or the call is refused */
        int64_t rows[8];
        const int64_t count = fuzz_int(in, 0, 8);
        for (int64_t q = 0; q < count; q++)
            rows[q] = fuzz_int(in, -1, n);
        float *batch = malloc(sizeof(float) * (size_t)(8 * k));
        rc = rlcc_refiner_targets(r, rows, count, batch, k);
        int in_range = 1;
        for (int64_t q = 0; q < count; q++)
            in_range &= rows[q] >= 0 && rows[q] < n;
        bad |= in_range ? rc != RLCC_OK : rc != RLCC_E_INVALID_ARGUMENT;
        for (int64_t q = 0; q < count && in_range && !bad; q++)
            for (int64_t b = 0; b < k; b++)
                bad |= fabsf(batch[q * k + b] - t[rows[q] * k + b]) > 1e-5f;
        /* centroids and class probabilities of these features directly */
        int32_t labels[MAX_N];
        float *cents = malloc(sizeof(float) * (size_t)(k * D)), probs[8 * MAX_N];
        bad |= rlcc_refiner_labels(r, labels) != RLCC_OK;
        bad |= rlcc_centroids(src->x, n, D, D, labels, k, cents, D) != RLCC_OK;
        if (!bad && in_range && count > 0 && k <= MAX_N) {
            bad |= rlcc_class_probabilities(src->x, n, D, D, cents, k, D, 30.0f, rows, count, probs,
                                            k, 0) != RLCC_OK;
            for (int64_t q = 0; q < count && !bad; q++) {
                double sum = 0;
                for (int64_t b = 0; b < k; b++)
                    sum += probs[q * k + b];
                bad |= fabs(sum - 1.0) > 1e-5;
            }
        }
        free(cents);
        free(batch);
        free(t);
    }
    rlcc_refiner_free(r);
    free(src);
    return bad;
}

static int check_input(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    return fuzz_byte(&in) % 4 == 0 ? refiner_checks(&in) : consensus_checks(&in);
}
FUZZ_ENTRY(check_input)
