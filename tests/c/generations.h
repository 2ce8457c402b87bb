/*
 * generations.h - the features of a refiner's generations, shared by the
 * refiner tests (tests/c/test_checkpoint.c, tests/c/test_step_labels.c).
 */
#ifndef RLCC_TEST_GENERATIONS_H
#define RLCC_TEST_GENERATIONS_H

#include <math.h>
#include <stdint.h>

/* n unit rows of dimension d around n / 8 directions; gen moves the noise
 * and sends every 13th row (from row gen) to the next direction, so the
 * classes change from one generation to the next. With outliers, every 11th
 * row from row 5 points its own way. */
static inline void generation_rows(float *x, int n, int d, int gen, int outliers)
{
    const int ids = n / 8 > 0 ? n / 8 : 1;
    uint64_t s = 1234 + 77 * (uint64_t)gen;
    for (int i = 0; i < n; i++) {
        const int own = outliers && i % 11 == 5;
        const int id = (i % ids + (i % 13 == gen % 13)) % ids;
        double sum = 0.0;
        for (int k = 0; k < d; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const double u = (double)(s >> 11) * 0x1p-53 - 0.5;
            const double v = own ? u
                                 : (k == id % d ? 1.0 : 0.0) + (k == (id + 5) % d ? 0.5 : 0.0) +
                                       0.2 * u;
            x[i * d + k] = (float)v;
            sum += v * v;
        }
        for (int k = 0; k < d; k++)
            x[i * d + k] = (float)(x[i * d + k] / sqrt(sum));
    }
}

#endif
