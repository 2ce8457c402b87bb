/* checkpoint_seeds.c - the seeds of fuzz_checkpoint's corpus: real states
 * of small refiners (every metric, with and without logits, beta 0 / 0.5 /
 * 1, copied and borrowed features, outliers kept, kNN lists set), saved after
 * 0 to 3 generations, each written twice (first byte 0: resealed by the
 * harness, 1: as it is).
 *   make build/fuzz/checkpoint-seeds && build/fuzz/checkpoint-seeds DIR
 * then libFuzzer's -merge=1 keeps those that add coverage (make fuzz-seeds-checkpoint). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlcc.h"

enum { N = 24, D = 4, K1 = 6 };

static float x[4][N * D];

static int64_t logits(int64_t start, int64_t count, int64_t k_prev, float *out, int64_t ld,
                      void *data)
{
    (void)data;
    for (int64_t i = 0; i < count; i++)
        for (int64_t a = 0; a < k_prev; a++)
            out[i * ld + a] = (float)((start + i + 2 * a) % 5);
    return count;
}

static int write_seed(const char *dir, int id, const rlcc_refiner *r)
{
    size_t size = 0;
    if (rlcc_refiner_save(r, NULL, 0, &size) != RLCC_OK)
        return 1;
    unsigned char *s = malloc(size + 1);
    if (s == NULL || rlcc_refiner_save(r, s + 1, size, &size) != RLCC_OK)
        return 1;
    for (int raw = 0; raw < 2; raw++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%03d-%d", dir, id, raw);
        FILE *f = fopen(path, "wb");
        s[0] = (unsigned char)raw;
        if (f == NULL || fwrite(s, 1, size + 1, f) != size + 1 || fclose(f) != 0)
            return 1;
    }
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    uint64_t s = 3;
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < N; i++) {
            double sum = 0.0;
            const int id = (i % 3 + (i % 7 == t)) % 3;
            for (int k = 0; k < D; k++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                const double v = (k == id ? 1.0 : 0.0) + ((double)(s >> 11) * 0x1p-53 - 0.5) * 0.3;
                x[t][i * D + k] = (float)v;
                sum += v * v;
            }
            for (int k = 0; k < D; k++)
                x[t][i * D + k] = (float)(x[t][i * D + k] / sqrt(sum));
        }
    int id = 0, bad = 0;
    const int32_t metrics[3] = {RLCC_METRIC_JACCARD, RLCC_METRIC_EUCLIDEAN, RLCC_METRIC_COSINE};
    const float betas[3] = {0.0f, 0.5f, 1.0f};
    for (int m = 0; m < 3; m++)
        for (int variant = 0; variant < 6; variant++) {
            rlcc_pseudo_options p;
            rlcc_pseudo_options_init(&p, sizeof p);
            p.metric = metrics[m];
            p.k1 = K1;
            p.k2 = 2;
            p.min_samples = 3;
            if (m == 1)
                p.eps[0] = 0.5, p.eps[1] = 0.6, p.eps[2] = 0.7;
            if (m == 2)
                p.eps[0] = 0.1, p.eps[1] = 0.15, p.eps[2] = 0.2;
            if (variant == 4) {
                p.outliers = RLCC_OUTLIERS_KEEP;
                p.reliability = 0;
            }
            rlcc_refiner_options o;
            rlcc_refiner_options_init(&o, sizeof o);
            o.beta = betas[variant % 3];
            rlcc_refiner *r = NULL;
            bad |= rlcc_refiner_new(N, D, &p, &o, &r) != RLCC_OK;
            rlcc_step_options so;
            rlcc_step_options_init(&so, sizeof so);
            so.logits = variant == 3 ? logits : NULL;
            so.borrow = variant == 5;
            for (int t = 0; t < 4 && !bad; t++) {
                bad |= write_seed(argv[1], id++, r);
                if (m == 0 && t == 2 && variant == 0) { /* lists for the next step */
                    int64_t lists[N * K1];
                    bad |= rlcc_knn(x[t], N, D, D, K1, NULL, lists, NULL) != RLCC_OK;
                    bad |= rlcc_refiner_set_knn(r, lists) != RLCC_OK;
                    bad |= write_seed(argv[1], id++, r);
                }
                if (rlcc_refiner_step_matrix(r, x[t], D, &so) != RLCC_OK) {
                    fprintf(stderr, "step: %s\n", rlcc_last_error());
                    bad = 1;
                }
            }
            rlcc_refiner_free(r);
        }
    printf("%d states written to %s\n", id, argv[1]);
    return bad;
}
