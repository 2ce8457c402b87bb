/* metrics.c - see metrics.h. Everything comes from the contingency table
 * of (a, b) label pairs, counted by sorting: O(n log n), no n x n. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

typedef struct cell {
    int64_t a, b;
} cell;

static int compare_cells(const void *x, const void *y)
{
    const cell *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

static int compare_int64(const void *x, const void *y)
{
    int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
    return (p > q) - (p < q);
}

/* -1 becomes a class of its own per sample: -(i + 2) */
static int64_t class_of(const int32_t *labels, int64_t i)
{
    return labels[i] >= 0 ? labels[i] : -(i + 2);
}

/* sum over groups of equal values of f(group size) */
static double group_sum(int64_t *values, int64_t n, double (*f)(double, double), double total)
{
    qsort(values, (size_t)n, sizeof *values, compare_int64);
    double sum = 0.0;
    for (int64_t s = 0; s < n;) {
        int64_t e = s;
        while (e < n && values[e] == values[s])
            e++;
        sum += f((double)(e - s), total);
        s = e;
    }
    return sum;
}

/* sum over runs of equal (a, b) cells, cells sorted first, of f(run length) */
static double cell_sum(cell *cells, int64_t n, double (*f)(double, double), double total)
{
    qsort(cells, (size_t)n, sizeof *cells, compare_cells);
    double sum = 0.0;
    for (int64_t s = 0; s < n;) {
        int64_t e = s;
        while (e < n && cells[e].a == cells[s].a && cells[e].b == cells[s].b)
            e++;
        sum += f((double)(e - s), total);
        s = e;
    }
    return sum;
}

static double pairs(double c, double total)
{
    (void)total;
    return c * (c - 1) / 2;
}

static double entropy_term(double c, double total)
{
    return -(c / total) * log(c / total);
}

pair_scores metrics_pairwise(const int32_t *predicted, const int32_t *truth, int64_t n)
{
    pair_scores s = {0, 0, 0};
    cell *cells = malloc(sizeof *cells * (size_t)n);
    int64_t *values = malloc(sizeof *values * (size_t)n);
    if (cells == NULL || values == NULL) {
        free(cells);
        free(values);
        return s;
    }
    for (int64_t i = 0; i < n; i++) {
        cells[i].a = class_of(predicted, i);
        cells[i].b = truth[i];
    }
    double together = cell_sum(cells, n, pairs, 0);
    for (int64_t i = 0; i < n; i++)
        values[i] = class_of(predicted, i);
    double predicted_pairs = group_sum(values, n, pairs, 0);
    for (int64_t i = 0; i < n; i++)
        values[i] = truth[i];
    double true_pairs = group_sum(values, n, pairs, 0);
    s.precision = predicted_pairs > 0 ? together / predicted_pairs : 0;
    s.recall = true_pairs > 0 ? together / true_pairs : 0;
    s.f_score = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    free(cells);
    free(values);
    return s;
}

double metrics_nmi(const int32_t *a, const int32_t *b, int64_t n)
{
    cell *cells = malloc(sizeof *cells * (size_t)n);
    int64_t *values = malloc(sizeof *values * (size_t)n);
    if (cells == NULL || values == NULL || n == 0) {
        free(cells);
        free(values);
        return 0.0;
    }
    const double total = (double)n;
    for (int64_t i = 0; i < n; i++)
        values[i] = class_of(a, i);
    double ha = group_sum(values, n, entropy_term, total);
    for (int64_t i = 0; i < n; i++)
        values[i] = class_of(b, i);
    double hb = group_sum(values, n, entropy_term, total);
    for (int64_t i = 0; i < n; i++) {
        cells[i].a = class_of(a, i);
        cells[i].b = class_of(b, i);
    }
    double hab = cell_sum(cells, n, entropy_term, total);
    free(cells);
    free(values);
    double mi = ha + hb - hab;
    return ha + hb > 0 ? 2 * mi / (ha + hb) : 1.0;
}
