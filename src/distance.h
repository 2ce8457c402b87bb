/*
 * distance.h - the one euclidean neighbour decision of DBSCAN over
 * features, and exact bounds on it over boxes.
 *
 * Every euclidean path of rlcc_dbscan_features() (brute, grid, tree)
 * decides that j is a neighbour of i exactly when
 *
 *     rlcc__squared_distance(x_i, x_j, d) <= eps * eps     (both in double)
 *
 * with the sum formed as written below: each difference in double, squared
 * in double, added in ascending k starting from +0.0 (the build has
 * -ffp-contract=off, so nothing is fused or reordered). The brute path
 * reaches the same decision through a float32 Gram screen whose error bound
 * is proven (features.c); the grid and the tree call it directly.
 *
 * The box bounds below let the grid and the tree decide whole groups of
 * pairs without computing them, and stay exact because every IEEE operation
 * used (subtraction, multiplication, addition, rounded to nearest) is
 * monotone: a <= b implies fl(a op c) <= fl(b op c) for op in {+, -} and,
 * for c >= 0, fl(a * c) <= fl(b * c). For q in a box [lo, hi] of float
 * coordinates and any point p, the exact |p_k - q_k| lies between a gap and
 * a span that are themselves differences of two floats; rounding is
 * symmetric (|fl(a - b)| = fl(|a - b|)), so the rounded |p_k - q_k| lies
 * between the same two differences rounded; squaring a non-negative value
 * and adding non-negative terms in the same order keep the inequalities. So
 *
 *     box_min <= rlcc__squared_distance(p, q, d) <= box_max
 *
 * holds for the values as computed, bit for bit, with no error margin:
 * box_min > eps^2 proves no q of the box is a neighbour, box_max <= eps^2
 * proves every q is.
 */
#ifndef RLCC_DISTANCE_H
#define RLCC_DISTANCE_H

#include <math.h>
#include <stdint.h>

/* The exact-as-double squared distance scikit-learn's decision rests on. */
static inline double rlcc__squared_distance(const float *a, const float *b, int64_t d)
{
    double sum = 0.0;
    for (int64_t k = 0; k < d; k++) {
        double diff = (double)a[k] - (double)b[k];
        sum += diff * diff;
    }
    return sum;
}

/* rlcc__squared_distance(a, b, d) <= eps2, the same decision bit for bit,
 * stopping once a partial sum exceeds eps2: every term is >= 0 and rounding
 * is monotone, so fl(s + t) >= s and the partial sums never decrease; a
 * partial sum above eps2 means the full sum is above it too. The sum is
 * formed in exactly rlcc__squared_distance()'s order. */
static inline int rlcc__within_eps(const float *a, const float *b, int64_t d, double eps2)
{
    double sum = 0.0;
    int64_t k = 0;
    for (; k + 4 <= d; k += 4) {
        for (int64_t j = k; j < k + 4; j++) {
            double diff = (double)a[j] - (double)b[j];
            sum += diff * diff;
        }
        if (sum > eps2)
            return 0;
    }
    for (; k < d; k++) {
        double diff = (double)a[k] - (double)b[k];
        sum += diff * diff;
    }
    return sum <= eps2;
}

/*
 * A float32 screen for the same decision, for the tree in high dimension,
 * where the double sum (one dependent addition per coordinate) is the cost.
 *
 * s32 sums fl32(fl32(a_k - b_k)^2) over eight lanes (k mod 8), which the
 * compiler can keep in vector registers, then adds the lanes. Each
 * difference of two floats rounds once, relatively (a difference that lands
 * below the normal range is exact), and never overflows (|a_k| <= 2^60);
 * each square rounds once relatively and, if it underflows, loses at most
 * 2^-150; a sum of d non-negative terms, in any order, is within
 * gamma_{d-1} = (d-1) u / (1 - (d-1) u) of exact (u = 2^-24, Higham 4.2).
 * So with S the exact sum of squares, g = gamma_{d+2} and A = d 2^-149,
 *     (s32 - A) / (1 + g) <= S <= (s32 + A) / (1 - g),
 * and rlcc__squared_distance() is within gamma_{d+2} in double
 * (u = 2^-53) of S. The screen answers only where both bounds put that
 * double sum on one side of eps2, with 1% added to both gammas for the
 * double roundings of the test itself; otherwise, and if s32 overflowed,
 * the pair is decided by rlcc__within_eps(). The answer is therefore the
 * double decision, bit for bit.
 */
typedef struct rlcc__eps_screen {
    double eps2;        /* the decision's bound, eps * eps */
    double sure_within; /* s32 + underflow at or below this: within eps2 */
    double sure_beyond; /* s32 - underflow above this: beyond eps2 */
    double underflow;   /* A = d 2^-149 */
} rlcc__eps_screen;

static inline double rlcc__lanes_sum(const float lane[8])
{
    return (double)(((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                    ((lane[4] + lane[5]) + (lane[6] + lane[7])));
}

static inline rlcc__eps_screen rlcc__make_eps_screen(double eps2, int64_t d)
{
    const double m = (double)(d + 2);
    const double g32 = 1.01 * m * 0x1p-24 / (1.0 - m * 0x1p-24);
    const double g64 = 1.01 * m * 0x1p-53 / (1.0 - m * 0x1p-53);
    rlcc__eps_screen screen = {eps2, 0.0, 0.0, (double)d * 0x1p-149};
    if (m * 0x1p-24 < 0.5) { /* beyond that the bound is void: never screen */
        screen.sure_within = eps2 * (1.0 - g32) / (1.0 + g64);
        screen.sure_beyond = eps2 * (1.0 + g32) / (1.0 - g64);
    } else {
        screen.sure_within = -1.0;
        screen.sure_beyond = INFINITY;
    }
    return screen;
}

static inline int rlcc__within_eps_screened(const float *a, const float *b, int64_t d,
                                            const rlcc__eps_screen *screen)
{
    float lane[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    int64_t k = 0;
    for (; k + 8 <= d; k += 8)
        for (int l = 0; l < 8; l++) {
            const float diff = a[k + l] - b[k + l];
            lane[l] += diff * diff;
        }
    for (int l = 0; k + l < d; l++) {
        const float diff = a[k + l] - b[k + l];
        lane[l] += diff * diff;
    }
    const double s32 = rlcc__lanes_sum(lane);
    if (isinf(s32)) /* a lane overflowed: no bound, decide in double */
        return rlcc__within_eps(a, b, d, screen->eps2);
    if (s32 + screen->underflow <= screen->sure_within)
        return 1;
    if (s32 - screen->underflow > screen->sure_beyond)
        return 0;
    return rlcc__within_eps(a, b, d, screen->eps2);
}

/* A lower bound on rlcc__squared_distance(p, q) for every q in [lo, hi]:
 * per coordinate, the distance from p to the nearer face, 0 inside. */
static inline double rlcc__box_min_sqdist(const float *p, const float *lo, const float *hi,
                                          int64_t d)
{
    double sum = 0.0;
    for (int64_t k = 0; k < d; k++) {
        double gap = 0.0;
        if (p[k] < lo[k])
            gap = (double)lo[k] - (double)p[k];
        else if (p[k] > hi[k])
            gap = (double)p[k] - (double)hi[k];
        sum += gap * gap;
    }
    return sum;
}

/* rlcc__box_min_sqdist(p, lo, hi, d) > eps2, stopping once a partial sum
 * exceeds eps2 (as rlcc__within_eps()): no q of the box is a neighbour. */
static inline int rlcc__box_beyond_eps(const float *p, const float *lo, const float *hi,
                                       int64_t d, double eps2)
{
    double sum = 0.0;
    for (int64_t k = 0; k < d; k++) {
        double gap = 0.0;
        if (p[k] < lo[k])
            gap = (double)lo[k] - (double)p[k];
        else if (p[k] > hi[k])
            gap = (double)p[k] - (double)hi[k];
        sum += gap * gap;
        if (sum > eps2)
            return 1;
    }
    return 0;
}

/* rlcc__box_max_sqdist(p, lo, hi, d) <= eps2, stopping once a partial sum
 * exceeds eps2: every q of the box is a neighbour. */
static inline int rlcc__box_within_eps(const float *p, const float *lo, const float *hi,
                                       int64_t d, double eps2)
{
    double sum = 0.0;
    for (int64_t k = 0; k < d; k++) {
        double to_lo = (double)p[k] - (double)lo[k];
        double to_hi = (double)hi[k] - (double)p[k];
        double far = to_lo > to_hi ? to_lo : to_hi;
        sum += far * far;
        if (sum > eps2)
            return 0;
    }
    return 1;
}

/* An upper bound on rlcc__squared_distance(p, q) for every q in [lo, hi]:
 * per coordinate, the distance from p to the farther face. */
static inline double rlcc__box_max_sqdist(const float *p, const float *lo, const float *hi,
                                          int64_t d)
{
    double sum = 0.0;
    for (int64_t k = 0; k < d; k++) {
        double to_lo = (double)p[k] - (double)lo[k];
        double to_hi = (double)hi[k] - (double)p[k];
        double far = to_lo > to_hi ? to_lo : to_hi; /* the larger is >= 0 */
        sum += far * far;
    }
    return sum;
}

/* A lower bound for every p in box a and q in box b (boxes: lo[d], hi[d]). */
static inline double rlcc__boxes_min_sqdist(const float *a_lo, const float *a_hi,
                                            const float *b_lo, const float *b_hi, int64_t d)
{
    double sum = 0.0;
    for (int64_t k = 0; k < d; k++) {
        double gap = 0.0;
        if (b_lo[k] > a_hi[k])
            gap = (double)b_lo[k] - (double)a_hi[k];
        else if (a_lo[k] > b_hi[k])
            gap = (double)a_lo[k] - (double)b_hi[k];
        sum += gap * gap;
    }
    return sum;
}

/* An upper bound for every p in box a and q in box b. */
static inline double rlcc__boxes_max_sqdist(const float *a_lo, const float *a_hi,
                                            const float *b_lo, const float *b_hi, int64_t d)
{
    double sum = 0.0;
    for (int64_t k = 0; k < d; k++) {
        double up = (double)b_hi[k] - (double)a_lo[k];
        double down = (double)a_hi[k] - (double)b_lo[k];
        double span = up > down ? up : down; /* the larger is >= 0 */
        sum += span * span;
    }
    return sum;
}

/* The box tests of the tree, screened the same way. The per-coordinate gap
 * (or farthest distance) is a difference of two floats, as a_k - b_k above,
 * so the same bounds hold for the sum of their squares. A node is skipped
 * only when the bound proves every q beyond eps2, and counted whole only
 * when it proves every q within; otherwise the tree looks inside, which is
 * always safe. A lane that overflowed falls back to the double bounds. */
static inline int rlcc__box_surely_beyond(const float *p, const float *lo, const float *hi,
                                          int64_t d, const rlcc__eps_screen *screen)
{
    float lane[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (int64_t k0 = 0; k0 < d; k0 += 8)
        for (int l = 0; l < 8 && k0 + l < d; l++) {
            const int64_t k = k0 + l;
            const float below = lo[k] - p[k], above = p[k] - hi[k];
            const float gap = below > 0.0f ? below : above > 0.0f ? above : 0.0f;
            lane[l] += gap * gap;
        }
    const double s32 = rlcc__lanes_sum(lane);
    if (isinf(s32))
        return rlcc__box_beyond_eps(p, lo, hi, d, screen->eps2);
    return s32 - screen->underflow > screen->sure_beyond;
}

static inline int rlcc__box_surely_within(const float *p, const float *lo, const float *hi,
                                          int64_t d, const rlcc__eps_screen *screen)
{
    float lane[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (int64_t k0 = 0; k0 < d; k0 += 8)
        for (int l = 0; l < 8 && k0 + l < d; l++) {
            const int64_t k = k0 + l;
            const float to_lo = p[k] - lo[k], to_hi = hi[k] - p[k];
            const float far = to_lo > to_hi ? to_lo : to_hi;
            lane[l] += far * far;
        }
    const double s32 = rlcc__lanes_sum(lane);
    if (isinf(s32))
        return rlcc__box_within_eps(p, lo, hi, d, screen->eps2);
    return s32 + screen->underflow <= screen->sure_within;
}

#endif
