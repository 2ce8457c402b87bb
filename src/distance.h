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

#endif
