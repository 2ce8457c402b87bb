/*
 * trainer_loop.c - the shape of an unsupervised re-ID trainer using the
 * librlcc refiner: each epoch, extract the features of the training set
 * into one matrix, hand it to the refiner, then read the RLCC targets of
 * each mini-batch.
 *
 *   cc trainer_loop.c $(pkg-config --cflags --libs rlcc) -lm -o trainer_loop
 *
 * The "model" here is a stand-in that returns noisy copies of 40 hidden
 * identity directions; a real trainer runs its network in
 * extract_features().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "rlcc.h"

enum { N = 400, D = 64, IDENTITIES = 40, EPOCHS = 4, BATCH = 64 };

typedef struct model {
    float identity[IDENTITIES][D];
    int epoch;
    unsigned seed;
} model;

static float noise(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return ((float)((*seed >> 8) & 0xffff) / 65536.0f - 0.5f);
}

/* The features of the whole training set, N x D, L2-normalised. */
static void extract_features(model *m, float x[N][D])
{
    const float level = 0.8f / (float)(m->epoch + 1); /* the model improves */
    for (int64_t i = 0; i < N; i++) {
        float *row = x[i];
        double sum = 0.0;
        for (int k = 0; k < D; k++) {
            row[k] = m->identity[i % IDENTITIES][k] + level * noise(&m->seed);
            sum += (double)row[k] * row[k];
        }
        for (int k = 0; k < D; k++)
            row[k] = (float)(row[k] / sqrt(sum));
    }
}

/* rlcc_progress_fn: a trainer could check a stop flag here. */
static int on_progress(int32_t stage, double fraction, void *user_data)
{
    (void)user_data;
    if (stage == RLCC_STAGE_DONE && fraction >= 1.0)
        printf("  step done\n");
    return 0; /* non-zero would cancel the step */
}

int main(void)
{
    static model m;
    static float features[N][D];
    m.seed = 7;
    for (int c = 0; c < IDENTITIES; c++)
        for (int k = 0; k < D; k++)
            m.identity[c][k] = noise(&m.seed) * 2.0f;

    rlcc_pseudo_options pseudo;
    rlcc_pseudo_options_init(&pseudo, sizeof pseudo); /* Jaccard, 0.58/0.60/0.62, singletons */
    pseudo.k1 = 20;
    pseudo.k2 = 4;
    rlcc_refiner *refiner = NULL;
    int rc = rlcc_refiner_new(N, D, &pseudo, NULL, &refiner); /* alpha 0.9, w 0.9, scale 30 */
    if (rc != RLCC_OK) {
        fprintf(stderr, "rlcc_refiner_new: %s\n", rlcc_last_error());
        return 1;
    }
    rlcc_step_options step;
    rlcc_step_options_init(&step, sizeof step);
    step.progress = on_progress;
    /* step.borrow stays 0: features is overwritten next epoch, so the
     * refiner keeps its own copy of the rows this epoch's targets read */
    float *targets = NULL;
    for (m.epoch = 0; m.epoch < EPOCHS; m.epoch++) {
        extract_features(&m, features);
        rc = rlcc_refiner_step_matrix(refiner, &features[0][0], D, &step);
        if (rc != RLCC_OK) {
            fprintf(stderr, "rlcc_refiner_step_matrix: %s: %s\n", rlcc_strerror(rc),
                    rlcc_last_error());
            break;
        }
        const int64_t k = rlcc_refiner_n_classes(refiner);
        printf("epoch %d: %lld classes, reliability threshold %.3f\n", m.epoch, (long long)k,
               rlcc_refiner_threshold(refiner));
        free(targets);
        targets = malloc(sizeof(float) * BATCH * (size_t)k);
        double mass = 0.0;
        for (int64_t start = 0; start < N; start += BATCH) { /* the training batches */
            int64_t rows[BATCH];
            const int64_t count = N - start < BATCH ? N - start : BATCH;
            for (int64_t r = 0; r < count; r++)
                rows[r] = (start * 7 + r * 13) % N; /* a shuffled sampler */
            rc = rlcc_refiner_targets(refiner, rows, count, targets, k);
            if (rc != RLCC_OK)
                break;
            for (int64_t e = 0; e < count * k; e++)
                mass += targets[e]; /* a trainer feeds these to its loss */
        }
        printf("  target mass per sample %.4f\n", mass / N);
    }
    free(targets);
    rlcc_refiner_free(refiner);
    return rc == RLCC_OK ? 0 : 1;
}
