/*
 * metrics.h - clustering quality against known identities, for the demo:
 * pairwise precision / recall / F-score (a pair is predicted together when
 * both samples share a label >= 0; -1 is alone) and normalised mutual
 * information (arithmetic-mean normalisation, as scikit-learn's default).
 */
#ifndef RLCC_METRICS_H
#define RLCC_METRICS_H

#include <stdint.h>

typedef struct pair_scores {
    double precision, recall, f_score;
} pair_scores;

pair_scores metrics_pairwise(const int32_t *predicted, const int32_t *truth, int64_t n);

/* NMI of two labelings; -1 labels count as one class each sample. */
double metrics_nmi(const int32_t *a, const int32_t *b, int64_t n);

#endif
