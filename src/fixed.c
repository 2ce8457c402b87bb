/*
 * fixed.c - arithmetic whose every rounding librlcc decides, so its result
 * is the same bytes on every CPU, BLAS kernel and thread count.
 *
 * The kNN lists and the Jaccard weights rest on values that a BLAS call or
 * the C library would compute in an order of their own (a kernel's blocking,
 * an FMA variant of exp chosen at run time). These functions use only IEEE
 * double additions, subtractions, multiplications and divisions in one
 * order written here (the build has -ffp-contract=off, so none is fused),
 * which a NumPy oracle can replicate operation for operation
 * (tests/python/fixed_oracle.py):
 *
 *   eight lanes: element k goes to lane k mod 8, each lane summed in
 *   ascending k starting from +0.0; the lanes are then combined as
 *   ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)).
 *
 * Eight independent lanes also let the compiler use vector registers.
 */
#include <math.h>

#include "internal.h"

#define LANES 8

static double combine_lanes(const double lane[LANES])
{
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

double rlcc__sqdist_fixed(const float *a, const float *b, int64_t d)
{
    double lane[LANES] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    int64_t k = 0;
    for (; k + LANES <= d; k += LANES)
        for (int l = 0; l < LANES; l++) {
            const double diff = (double)a[k + l] - (double)b[k + l];
            lane[l] += diff * diff;
        }
    for (int l = 0; k + l < d; l++) {
        const double diff = (double)a[k + l] - (double)b[k + l];
        lane[l] += diff * diff;
    }
    return combine_lanes(lane);
}

double rlcc__dot_fixed(const float *a, const float *b, int64_t d)
{
    double lane[LANES] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    int64_t k = 0;
    for (; k + LANES <= d; k += LANES)
        for (int l = 0; l < LANES; l++)
            lane[l] += (double)a[k + l] * (double)b[k + l];
    for (int l = 0; k + l < d; l++)
        lane[l] += (double)a[k + l] * (double)b[k + l];
    return combine_lanes(lane);
}

/*
 * exp(x) for x <= 0 (softmax weights exp(dmin - d) never see a positive
 * argument; a positive one is computed the same way). x = n ln2 + r with
 * n = round(x / ln2) and ln2 split into a high part with 32 significant
 * bits (n * LN2_HI is exact) and the rest, |r| <= ln2 / 2; exp(r) by its
 * Taylor series to r^15 / 15! (truncation below 2^-60 relative), summed by
 * Horner from the highest term; times 2^n by ldexp, which is exact
 * (rounding once when the result is subnormal). Within a few ulp of the
 * true value, and the same bits everywhere.
 */
double rlcc__exp_fixed(double x)
{
    static const double LN2_HI = 0x1.62e42feep-1; /* 32 bits: n * LN2_HI exact for |n| < 2^21 */
    static const double LN2_LO = 0x1.a39ef35793c76p-33;
    static const double INV_LN2 = 0x1.71547652b82fep0;
    if (isnan(x))
        return x;
    if (x < -746.0)
        return 0.0;
    if (x > 710.0)
        return INFINITY;
    const double n = nearbyint(x * INV_LN2);
    const double r = (x - n * LN2_HI) - n * LN2_LO;
    double p = 1.0 / 1307674368000.0; /* 1 / 15! */
    static const double inv_factorial[15] = {
        1.0 / 87178291200.0, 1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
        1.0 / 3628800.0,     1.0 / 362880.0,     1.0 / 40320.0,     1.0 / 5040.0,
        1.0 / 720.0,         1.0 / 120.0,        1.0 / 24.0,        1.0 / 6.0,
        1.0 / 2.0,           1.0,                1.0};
    for (int t = 0; t < 15; t++)
        p = p * r + inv_factorial[t];
    return ldexp(p, (int)n);
}
