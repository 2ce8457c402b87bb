/*
 * kmeans.c - Lloyd's k-means from the caller's start centroids, with
 * scikit-learn's KMeans(algorithm="lloyd", n_init=1, init=array) semantics,
 * and faiss's start rows (spec: later-methods.md section 3).
 *
 * One step (scikit-learn 1.2's lloyd_iter_chunked_dense):
 *
 *   E   every row i goes to the centroid j with the smallest
 *       D(i, j) = rlcc__sqdist_fixed(x_i, c_j) (fixed.c: the kNN's one
 *       summation order, in double from the float32 values), ties to the
 *       lowest j;
 *   M   counts from the labels; if clusters are empty, the rows farthest
 *       from their own (old) centroid, by D descending and, at equal D, the
 *       higher row first (NumPy's argpartition for the maximum, which
 *       scikit-learn 1.2 uses with one empty cluster and n >= 4), move to
 *       the empty clusters in ascending id; every centroid is then the
 *       double sum of its members in sample order over their count, rounded
 *       to float32; a cluster left without a member by that move takes the
 *       mean of x (what scikit-learn's centred arithmetic gives it: zero in
 *       centred coordinates). The labels themselves are not changed by the
 *       move (as in scikit-learn).
 *
 * The loop (scikit-learn's _kmeans_single_lloyd): after step it (from 0)
 * the centroids are the new ones; if the labels equal the previous step's
 * it stops ("strict"), else if the summed squared centroid shift
 * (sum over j of D(c_new_j, c_old_j), in cluster order) is <= tol x the mean
 * per-feature variance of x it stops; else after max_iter steps. Unless the
 * stop was strict, the rows are assigned once more to the final centroids.
 * n_iter = the steps run.
 *
 * The E step screens with one float32 SGEMM per tile of rows, x . c^T
 * (tile_rows x k, sized from max_bytes; the whole n x k only when it fits a
 * tile), and decides in double only what the screen cannot. From a Gram
 * entry g, s = (|x_i|^2 + |c_j|^2) - 2 g in float32 (norms rounded to
 * float32) is within m(i, j) = gamma (|x_i|^2 + |c_j|^2) + abs_margin of
 * D(i, j) whatever order BLAS summed in: the bound of knn.c (Higham,
 * gamma = 1.01 gamma_d + 8 u, u = 2^-24; abs_margin covers underflow),
 * with the same constants. With U = min_j (s_j + m_j), every j with
 * s_j - m_j > U has D(i, j) > U >= min D; if exactly one j is left, it is
 * the nearest; otherwise the ones left are decided by D, in ascending j.
 * So labels never depend on the BLAS kernel, the tiling or the threads.
 *
 * Threads split rows in the E step and centroids in the sums (each summed
 * over its members in sample order): the same bytes for every
 * n_threads. BLAS runs outside the OpenMP regions.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define KMEANS_OPTIONS_SIZE_1_7 (offsetof(rlcc_kmeans_options, max_bytes) + sizeof(int64_t))

/* Bytes one Gram tile may take (as gram.c's panels): a caller's max_bytes
 * shrinks it to a quarter of what the rest of the call leaves free. */
#define TILE_BYTES ((int64_t)128 << 20)

/* ---- the E step ----------------------------------------------------------- */

typedef struct kmeans_run {
    const float *x;
    int64_t n, d, ldx, k;
    const double *xn2; /* n: squared row norms in double */
    const float *xn32; /* n: the same rounded to float32 */
    double *cn2;       /* k: squared centroid norms in double */
    float *cn32;       /* k */
    double *mc;        /* k: gamma x cn2 */
    float *mc32;       /* k: mc rounded up to float32 */
    double gamma, abs_margin;
    float *tile; /* tile_rows x k */
    int64_t tile_rows;
    int n_threads;
    int64_t n_decided; /* rows whose label was decided in double */
} kmeans_run;

/* The smallest float32 at or above v. */
static float round_up_float(double v)
{
    float f = (float)v;
    if ((double)f < v)
        f = nextafterf(f, INFINITY);
    return f;
}

/* The label of row i from its Gram row g (k entries) against centroids c.
 * The margin is m(i, j) = base + mc[j], base = gamma |x_i|^2 + abs_margin,
 * mc[j] = gamma |c_j|^2 (in double); mc32[j] is mc[j] rounded up.
 *
 * j0 = the first j with the smallest s; U = s_j0 + m(i, j0) bounds
 * D(i, j0), so every j with s_j - m(i, j) > U has D(i, j) > U >= min D and
 * is no candidate. The candidate test runs in float32 and keeps a superset:
 * with A = U + base rounded up, s_j - m(i, j) <= U implies
 * s_j - mc32[j] <= s_j - mc[j] <= U + base <= A, and rounding the left
 * side to float32 keeps it <= A (rounding is monotone, A is a float). j0
 * passes; if nothing else does, j0 is the unique nearest centroid. */
static int32_t assign_row(const kmeans_run *r, const float *c, int64_t i, const float *g,
                          int *decided)
{
    const int64_t k = r->k;
    const float qn32 = r->xn32[i];
    const float *cn32 = r->cn32, *mc32 = r->mc32;
    /* the smallest s, over eight lanes (a minimum is exact in any order) */
    float lane[8] = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
    int64_t j8 = 0;
    for (; j8 + 8 <= k; j8 += 8)
        for (int l = 0; l < 8; l++) {
            const float s = (qn32 + cn32[j8 + l]) - 2.0f * g[j8 + l];
            lane[l] = s < lane[l] ? s : lane[l];
        }
    for (; j8 < k; j8++) {
        const float s = (qn32 + cn32[j8]) - 2.0f * g[j8];
        lane[0] = s < lane[0] ? s : lane[0];
    }
    float smin = lane[0];
    for (int l = 1; l < 8; l++)
        smin = lane[l] < smin ? lane[l] : smin;
    int64_t j0 = 0;
    while (j0 + 1 < k && !((qn32 + cn32[j0]) - 2.0f * g[j0] == smin))
        j0++;
    const double base = r->gamma * r->xn2[i] + r->abs_margin;
    const double upper = (double)smin + (base + r->mc[j0]);
    const float a = round_up_float(upper + base);
    int32_t count = 0;
    for (int64_t j = 0; j < k; j++) {
        const float s = (qn32 + cn32[j]) - 2.0f * g[j];
        count += (s - mc32[j]) <= a;
    }
    if (count == 1) {
        *decided = 0;
        return (int32_t)j0;
    }
    /* the screen cannot tell them apart: the candidates in double, in
     * ascending j (the lowest wins a tie) */
    *decided = 1;
    const float *xi = r->x + i * r->ldx;
    int64_t best = -1;
    double best_d = INFINITY;
    for (int64_t j = 0; j < k; j++) {
        const float s = (qn32 + cn32[j]) - 2.0f * g[j];
        if (!((s - mc32[j]) <= a))
            continue;
        const double dist = rlcc__sqdist_fixed(xi, c + j * r->d, r->d);
        if (best < 0 || dist < best_d) {
            best = j;
            best_d = dist;
        }
    }
    return (int32_t)best;
}

/* Labels of every row against centroids c (k x d, stride d). */
static void assign(kmeans_run *r, const float *c, int32_t *labels)
{
    const int64_t n = r->n, k = r->k, d = r->d;
#pragma omp parallel for num_threads(r->n_threads) if (r->n_threads > 1) schedule(static)
    for (int64_t j = 0; j < k; j++) {
        r->cn2[j] = rlcc__dot_fixed(c + j * d, c + j * d, d);
        r->cn32[j] = (float)r->cn2[j];
        r->mc[j] = r->gamma * r->cn2[j];
        r->mc32[j] = round_up_float(r->mc[j]);
    }
    int64_t decided = 0;
    for (int64_t t0 = 0; t0 < n; t0 += r->tile_rows) {
        const int64_t rows = t0 + r->tile_rows < n ? r->tile_rows : n - t0;
        /* every dimension fits BLAS's int: n, d, k and ldx are at most
         * INT32_MAX (checked at the boundary) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)k, (int)d, 1.0f,
                    r->x + t0 * r->ldx, (int)r->ldx, c, (int)d, 0.0f, r->tile, (int)k);
        const float *tile = r->tile;
#pragma omp parallel for num_threads(r->n_threads) if (r->n_threads > 1) schedule(static) \
    reduction(+ : decided)
        for (int64_t q = 0; q < rows; q++) {
            int dec;
            labels[t0 + q] = assign_row(r, c, t0 + q, tile + q * k, &dec);
            decided += dec;
        }
    }
    r->n_decided += decided;
}

/* ---- the M step ------------------------------------------------------------ */

typedef struct far_row {
    double dist;
    int64_t row;
} far_row;

/* D descending, then the higher row first. */
static int far_cmp(const void *pa, const void *pb)
{
    const far_row *a = pa, *b = pb;
    if (a->dist != b->dist)
        return a->dist > b->dist ? -1 : 1;
    return a->row > b->row ? -1 : a->row < b->row ? 1 : 0;
}

typedef struct kmeans_work {
    int32_t *member; /* n: labels after the empty clusters' moves */
    int64_t *count;  /* k */
    double *sums;    /* k x d */
    far_row *far;    /* n */
    float *mean32;   /* d: the mean of x, rounded */
    /* this step's and the last step's members, by w->which: cluster c's
     * members are order[start[c] .. start[c+1]), in sample order */
    int64_t *start[2]; /* k + 1 each */
    int32_t *order[2]; /* n each */
    int64_t *fill;     /* k */
    int which, prev_valid;
    int mean_needed, mean_ready; /* mean32 is computed the first time it is needed */
} kmeans_work;

static void column_stats(const kmeans_run *r, double *var, float *mean32);

/* New centroids c_new (k x d, stride d) from labels assigned against c_old. */
static void update(const kmeans_run *r, const float *c_old, const int32_t *labels,
                   kmeans_work *w, float *c_new)
{
    const int64_t n = r->n, k = r->k, d = r->d;
    memset(w->count, 0, sizeof *w->count * (size_t)k);
    for (int64_t i = 0; i < n; i++)
        w->count[labels[i]]++;
    memcpy(w->member, labels, sizeof *labels * (size_t)n);
    int64_t n_empty = 0;
    for (int64_t j = 0; j < k; j++)
        n_empty += w->count[j] == 0;
    if (n_empty > 0) {
#pragma omp parallel for num_threads(r->n_threads) if (r->n_threads > 1) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            w->far[i].dist = rlcc__sqdist_fixed(r->x + i * r->ldx, c_old + labels[i] * d, d);
            w->far[i].row = i;
        }
        qsort(w->far, (size_t)n, sizeof *w->far, far_cmp); /* a total order */
        /* the empty clusters are those of the labels, ascending; a cluster
         * that a move leaves empty is not refilled in this step */
        int64_t e = 0;
        for (int64_t j = 0; j < k; j++)
            if (w->count[j] == 0)
                w->member[w->far[e++].row] = (int32_t)j; /* far rows are distinct */
        for (int64_t t = 0; t < e; t++) {
            const int64_t f = w->far[t].row;
            w->count[labels[f]]--;
            w->count[w->member[f]]++;
        }
        w->mean_needed = 1;
    }
    /* the members of each cluster in sample order (a stable counting sort),
     * then each centroid summed on its own: every x row is read once,
     * whole, and each sum is formed in sample order whatever the threads */
    int64_t *start = w->start[w->which], *prev_start = w->start[!w->which];
    int32_t *order = w->order[w->which], *prev_order = w->order[!w->which];
    start[0] = 0;
    for (int64_t j = 0; j < k; j++)
        start[j + 1] = start[j] + w->count[j];
    for (int64_t j = 0; j < k; j++)
        w->fill[j] = start[j];
    for (int64_t i = 0; i < n; i++)
        order[w->fill[w->member[i]]++] = (int32_t)i;
    if (w->mean_needed) /* a move left a cluster empty: x's mean, once */
        for (int64_t j = 0; j < k && !w->mean_ready; j++)
            if (w->count[j] == 0)
                column_stats(r, NULL, w->mean32), w->mean_ready = 1;
#pragma omp parallel for num_threads(r->n_threads) if (r->n_threads > 1) schedule(dynamic, 4)
    for (int64_t c = 0; c < k; c++) {
        float *out = c_new + c * d;
        const int64_t m = w->count[c];
        if (m == 0) {
            memcpy(out, w->mean32, sizeof(float) * (size_t)d);
            continue;
        }
        /* the same members as in the step that made c_old: the same sum,
         * the same centroid (c_old is that step's c_new, bit for bit) */
        if (w->prev_valid && prev_start[c + 1] - prev_start[c] == m &&
            memcmp(order + start[c], prev_order + prev_start[c], sizeof *order * (size_t)m) == 0) {
            memcpy(out, c_old + c * d, sizeof(float) * (size_t)d);
            continue;
        }
        double *sum = w->sums + c * d;
        for (int64_t j = 0; j < d; j++)
            sum[j] = 0.0;
        for (int64_t e = start[c]; e < start[c + 1]; e++) {
            const float *xi = r->x + (int64_t)order[e] * r->ldx;
            for (int64_t j = 0; j < d; j++)
                sum[j] += (double)xi[j];
        }
        const double cnt = (double)m;
        for (int64_t j = 0; j < d; j++)
            out[j] = (float)(sum[j] / cnt);
    }
    w->which = !w->which;
    w->prev_valid = 1;
}

/* Per column of x: the mean (double sum in sample order / n) rounded to
 * float32 into mean32, and, when var is not NULL, the variance (the
 * squared deviations likewise). Blocks of columns, each walking the rows in
 * order. */
#define STAT_COLUMNS 512
static void column_stats(const kmeans_run *r, double *var, float *mean32)
{
    const int64_t n = r->n, d = r->d, blocks = (d + STAT_COLUMNS - 1) / STAT_COLUMNS;
#pragma omp parallel for num_threads(r->n_threads) if (r->n_threads > 1) schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t j0 = b * STAT_COLUMNS, j1 = j0 + STAT_COLUMNS < d ? j0 + STAT_COLUMNS : d;
        double mean[STAT_COLUMNS], ss[STAT_COLUMNS];
        for (int64_t j = j0; j < j1; j++)
            mean[j - j0] = 0.0, ss[j - j0] = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *xi = r->x + i * r->ldx;
            for (int64_t j = j0; j < j1; j++)
                mean[j - j0] += (double)xi[j];
        }
        for (int64_t j = j0; j < j1; j++) {
            mean[j - j0] /= (double)n;
            mean32[j] = (float)mean[j - j0];
        }
        if (var == NULL)
            continue;
        for (int64_t i = 0; i < n; i++) {
            const float *xi = r->x + i * r->ldx;
            for (int64_t j = j0; j < j1; j++) {
                const double dev = (double)xi[j] - mean[j - j0];
                ss[j - j0] += dev * dev;
            }
        }
        for (int64_t j = j0; j < j1; j++)
            var[j] = ss[j - j0] / (double)n;
    }
}

/* tol x the mean per-feature variance of x (0 when tol is 0: then nothing
 * is read); also fills mean32 when it computes. */
static double tolerance(const kmeans_run *r, double tol, double *var, kmeans_work *w)
{
    if (tol == 0.0)
        return 0.0;
    column_stats(r, var, w->mean32);
    w->mean_ready = 1;
    double total = 0.0;
    for (int64_t j = 0; j < r->d; j++)
        total += var[j];
    return total / (double)r->d * tol;
}

/* A run of the E step over n rows of x against k centroids: the screen's
 * bound is knn.c's, with the same constants (1% on gamma_d for the double
 * rounding of D, 8 u for the float32 roundings that form s). */
static kmeans_run run_of(const float *x, int64_t n, int64_t d, int64_t ldx, int64_t k,
                         int n_threads)
{
    const double u32 = 0x1p-24;
    return (kmeans_run){
        .x = x, .n = n, .d = d, .ldx = ldx, .k = k, .n_threads = n_threads,
        .gamma = (double)d * u32 < 0.5
                     ? 1.01 * (double)d * u32 / (1.0 - (double)d * u32) + 8.0 * u32
                     : INFINITY,
        .abs_margin = (4.0 * (double)d + 8.0) * 0x1p-150,
    };
}

/* The Gram tile: a quarter of what the budget leaves, at most TILE_BYTES,
 * at least 16 rows (all n when they fit). */
static float *alloc_tile(kmeans_run *r, rlcc__budget *budget, int *err)
{
    int64_t bytes = (budget->limit - budget->used) / 4;
    bytes = bytes < TILE_BYTES ? bytes : TILE_BYTES;
    int64_t rows = bytes / ((int64_t)sizeof(float) * r->k);
    rows = rows < 16 ? 16 : rows;
    r->tile_rows = rows < r->n ? rows : r->n;
    r->tile = rlcc__alloc(budget, r->tile_rows * r->k, sizeof *r->tile, "Gram tile", err);
    return r->tile;
}

int rlcc__kmeans(const float *x, int64_t n, int64_t d, int64_t ldx, const double *xn2,
                 const float *init, int64_t k, int64_t ldi, int32_t max_iter, double tol,
                 int n_threads, rlcc__budget *budget, float *centroids, int64_t ldc,
                 int32_t *labels, int64_t *n_iter, int64_t *n_decided)
{
    kmeans_run r = run_of(x, n, d, ldx, k, n_threads);
    r.xn2 = xn2;
    kmeans_work w = {0};
    int err;
    const int64_t kd = k * d; /* k <= n and k x d <= n x ldx: checked */
    float *xn32 = rlcc__alloc(budget, n, sizeof *xn32, "float32 norms", &err);
    float *c_a = xn32 ? rlcc__alloc(budget, kd, sizeof *c_a, "centroids", &err) : NULL;
    float *c_b = c_a ? rlcc__alloc(budget, kd, sizeof *c_b, "centroids", &err) : NULL;
    r.cn2 = c_b ? rlcc__alloc(budget, k, sizeof *r.cn2, "centroid norms", &err) : NULL;
    r.cn32 = r.cn2 ? rlcc__alloc(budget, k, sizeof *r.cn32, "centroid norms", &err) : NULL;
    r.mc = r.cn32 ? rlcc__alloc(budget, k, sizeof *r.mc, "centroid margins", &err) : NULL;
    r.mc32 = r.mc ? rlcc__alloc(budget, k, sizeof *r.mc32, "centroid margins", &err) : NULL;
    int32_t *lab_a = r.mc32 ? rlcc__alloc(budget, n, sizeof *lab_a, "labels", &err) : NULL;
    int32_t *lab_b = lab_a ? rlcc__alloc(budget, n, sizeof *lab_b, "labels", &err) : NULL;
    w.member = lab_b ? rlcc__alloc(budget, n, sizeof *w.member, "labels", &err) : NULL;
    w.count = w.member ? rlcc__alloc(budget, k, sizeof *w.count, "cluster sizes", &err) : NULL;
    w.sums = w.count ? rlcc__alloc(budget, kd, sizeof *w.sums, "centroid sums", &err) : NULL;
    w.far = w.sums ? rlcc__alloc(budget, n, sizeof *w.far, "relocation order", &err) : NULL;
    w.mean32 = w.far ? rlcc__alloc(budget, d, sizeof *w.mean32, "mean", &err) : NULL;
    w.start[0] = w.mean32 ? rlcc__alloc(budget, k + 1, sizeof *w.start[0], "cluster starts", &err) : NULL;
    w.start[1] = w.start[0] ? rlcc__alloc(budget, k + 1, sizeof *w.start[1], "cluster starts", &err) : NULL;
    w.fill = w.start[1] ? rlcc__alloc(budget, k, sizeof *w.fill, "cluster starts", &err) : NULL;
    w.order[0] = w.fill ? rlcc__alloc(budget, n, sizeof *w.order[0], "cluster members", &err) : NULL;
    w.order[1] = w.order[0] ? rlcc__alloc(budget, n, sizeof *w.order[1], "cluster members", &err) : NULL;
    double *col = w.order[1] ? rlcc__alloc(budget, d, sizeof *col, "variances", &err) : NULL;
    if (col != NULL)
        alloc_tile(&r, budget, &err);
    if (r.tile != NULL) {
        rlcc__blocktime_guard blocktime;
        rlcc__blocktime_enter(&blocktime);
        for (int64_t i = 0; i < n; i++)
            xn32[i] = (float)xn2[i];
        r.xn32 = xn32;
        for (int64_t j = 0; j < k; j++)
            memcpy(c_a + j * d, init + j * ldi, sizeof(float) * (size_t)d);
        const double tol_abs = tolerance(&r, tol, col, &w);
        float *c = c_a, *c_next = c_b;
        int32_t *cur = lab_a, *prev = lab_b;
        int strict = 0;
        int32_t it = 0;
        for (; it < max_iter; it++) {
            assign(&r, c, cur);
            update(&r, c, cur, &w, c_next);
            double shift = 0.0;
            for (int64_t j = 0; j < k; j++)
                shift += rlcc__sqdist_fixed(c_next + j * d, c + j * d, d);
            float *t = c;
            c = c_next;
            c_next = t;
            if (it > 0 && memcmp(cur, prev, sizeof *cur * (size_t)n) == 0) {
                strict = 1;
                break;
            }
            if (shift <= tol_abs)
                break;
            int32_t *tl = cur;
            cur = prev;
            prev = tl;
        }
        const int64_t steps = it < max_iter ? (int64_t)it + 1 : (int64_t)max_iter;
        if (!strict)
            assign(&r, c, cur);
        rlcc__blocktime_leave(&blocktime);
        for (int64_t j = 0; j < k; j++)
            memcpy(centroids + j * ldc, c + j * d, sizeof(float) * (size_t)d);
        memcpy(labels, cur, sizeof *labels * (size_t)n);
        if (n_iter != NULL)
            *n_iter = steps;
        if (n_decided != NULL)
            *n_decided = r.n_decided;
        err = RLCC_OK;
    }
    rlcc__free(budget, r.tile, r.tile_rows * k, sizeof *r.tile);
    rlcc__free(budget, col, d, sizeof *col);
    rlcc__free(budget, w.order[1], n, sizeof *w.order[1]);
    rlcc__free(budget, w.order[0], n, sizeof *w.order[0]);
    rlcc__free(budget, w.fill, k, sizeof *w.fill);
    rlcc__free(budget, w.start[1], k + 1, sizeof *w.start[1]);
    rlcc__free(budget, w.start[0], k + 1, sizeof *w.start[0]);
    rlcc__free(budget, w.mean32, d, sizeof *w.mean32);
    rlcc__free(budget, w.far, n, sizeof *w.far);
    rlcc__free(budget, w.sums, kd, sizeof *w.sums);
    rlcc__free(budget, w.count, k, sizeof *w.count);
    rlcc__free(budget, w.member, n, sizeof *w.member);
    rlcc__free(budget, lab_b, n, sizeof *lab_b);
    rlcc__free(budget, lab_a, n, sizeof *lab_a);
    rlcc__free(budget, r.mc32, k, sizeof *r.mc32);
    rlcc__free(budget, r.mc, k, sizeof *r.mc);
    rlcc__free(budget, r.cn32, k, sizeof *r.cn32);
    rlcc__free(budget, r.cn2, k, sizeof *r.cn2);
    rlcc__free(budget, c_b, kd, sizeof *c_b);
    rlcc__free(budget, c_a, kd, sizeof *c_a);
    rlcc__free(budget, xn32, n, sizeof *xn32);
    return err;
}

/* ---- the public entry points ------------------------------------------------ */

int rlcc_kmeans_options_init(rlcc_kmeans_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_kmeans_options defaults = {
        .struct_size = sizeof defaults, .max_iter = 300, .tol = 1e-4};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             KMEANS_OPTIONS_SIZE_1_7, "options");
}

int rlcc__check_kmeans_options(const rlcc_kmeans_options *options, rlcc_kmeans_options *out)
{
    rlcc_kmeans_options_init(out, sizeof *out);
    int err = rlcc__read_struct(out, sizeof *out, options, KMEANS_OPTIONS_SIZE_1_7, "options");
    if (err == RLCC_OK && out->max_iter < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.max_iter: %d must be >= 1",
                         (int)out->max_iter);
    if (err == RLCC_OK && !(out->tol >= 0.0 && isfinite(out->tol)))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "options.tol: %g must be finite and >= 0",
                         out->tol);
    if (err == RLCC_OK)
        err = rlcc__check_resources(out->n_threads, out->max_bytes);
    return err;
}

int rlcc_kmeans(const float *x, int64_t n, int64_t d, int64_t ldx, const float *init, int64_t k,
                int64_t ldi, const rlcc_kmeans_options *options, float *centroids, int64_t ldc,
                int32_t *labels, int64_t *n_iter)
{
    rlcc__clear_error();
    rlcc_kmeans_options opts;
    int err = rlcc__check_kmeans_options(options, &opts);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("x", x, n, d, ldx);
    if (err == RLCC_OK && k < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld must be >= 1", (long long)k);
    if (err == RLCC_OK && k > n)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld exceeds the %lld rows", (long long)k,
                         (long long)n);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("init", init, k, d, ldi);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("centroids", centroids, k, d, ldc);
    if (err == RLCC_OK && labels == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    if (err == RLCC_OK && centroids == init && ldi != ldc)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "centroids: equals init with a different row stride (%lld, %lld)",
                         (long long)ldc, (long long)ldi);
    if (err == RLCC_OK) {
        /* init may be centroids itself (read before centroids is written) */
        const int in_place = centroids == init;
        rlcc__span outputs[3] = {
            rlcc__matrix_span("centroids", centroids, k, d, ldc, sizeof *centroids),
            rlcc__vector_span("labels", labels, n, sizeof *labels),
            rlcc__vector_span("n_iter", n_iter, 1, sizeof *n_iter)};
        const rlcc__span inputs[2] = {rlcc__matrix_span("x", x, n, d, ldx, sizeof *x),
                                      rlcc__matrix_span("init", init, k, d, ldi, sizeof *init)};
        err = rlcc__check_no_overlap(outputs, n_iter != NULL ? 3 : 2, inputs, in_place ? 1 : 2);
        if (err == RLCC_OK && in_place) /* the other outputs against init too */
            err = rlcc__check_no_overlap(outputs + 1, n_iter != NULL ? 2 : 1, inputs + 1, 1);
    }
    if (err != RLCC_OK)
        return err;
    const int n_threads = rlcc__resolve_threads(opts.n_threads);
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    double *xn2 = rlcc__alloc(&budget, n, sizeof *xn2, "row norms", &err);
    double *in2 = xn2 ? rlcc__alloc(&budget, k, sizeof *in2, "init norms", &err) : NULL;
    if (in2 != NULL)
        err = rlcc__row_norms("x", x, n, d, ldx, n_threads, xn2);
    if (in2 != NULL && err == RLCC_OK)
        err = rlcc__row_norms("init", init, k, d, ldi, n_threads, in2);
    rlcc__free(&budget, in2, k, sizeof *in2);
    if (xn2 != NULL && err == RLCC_OK)
        err = rlcc__kmeans(x, n, d, ldx, xn2, init, k, ldi, opts.max_iter, opts.tol, n_threads,
                           &budget, centroids, ldc, labels, n_iter, NULL);
    rlcc__free(&budget, xn2, n, sizeof *xn2);
    return err;
}

/* ---- faiss's start ------------------------------------------------------------ */

/* std::mt19937 (32-bit Mersenne Twister, the C++ standard's parameters). */
typedef struct mt19937 {
    uint32_t state[624];
    int index;
} mt19937;

static void mt_seed(mt19937 *g, uint32_t seed)
{
    g->state[0] = seed;
    for (uint32_t i = 1; i < 624; i++)
        g->state[i] = 1812433253u * (g->state[i - 1] ^ (g->state[i - 1] >> 30)) + i;
    g->index = 624;
}

static uint32_t mt_next(mt19937 *g)
{
    if (g->index >= 624) {
        for (int i = 0; i < 624; i++) {
            const uint32_t y = (g->state[i] & 0x80000000u) | (g->state[(i + 1) % 624] & 0x7fffffffu);
            g->state[i] = g->state[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        g->index = 0;
    }
    uint32_t y = g->state[g->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* faiss::rand_perm (faiss 1.6 to 1.7.x): Fisher-Yates with
 * RandomGenerator(seed), whose mt19937 takes (unsigned int)seed and whose
 * rand_int(max) is mt() % max. */
static void rand_perm(int32_t *perm, int64_t n, uint64_t seed, mt19937 *g)
{
    for (int64_t i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    mt_seed(g, (uint32_t)seed);
    for (int64_t i = 0; i + 1 < n; i++) {
        const int64_t j = i + (int64_t)(mt_next(g) % (uint32_t)(n - i));
        const int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

int rlcc__kmeans_init_faiss(int64_t n, int64_t k, uint64_t seed, int64_t max_points,
                            rlcc__budget *budget, int64_t *start_rows, int64_t *train_rows,
                            int64_t *n_train)
{
    const int64_t cap = rlcc__mul(max_points, k);
    const int sub = cap >= 0 && n > cap;
    const int64_t nt = sub ? cap : n;
    int err;
    mt19937 *g = rlcc__alloc(budget, 1, sizeof *g, "mt19937", &err);
    int32_t *perm = g ? rlcc__alloc(budget, n, sizeof *perm, "permutation", &err) : NULL;
    int32_t *perm2 = perm ? rlcc__alloc(budget, nt, sizeof *perm2, "permutation", &err) : NULL;
    if (perm2 != NULL) {
        if (sub)
            rand_perm(perm, n, seed, g); /* the training rows: its first nt */
        else
            for (int64_t i = 0; i < n; i++)
                perm[i] = (int32_t)i;
        rand_perm(perm2, nt, seed + 1, g);
        /* faiss copies the first k rows of x when n_train == k, and runs
         * no step (Clustering::train_encoded) */
        for (int64_t t = 0; t < k; t++)
            start_rows[t] = nt == k ? t : perm[perm2[t]];
        for (int64_t t = 0; train_rows != NULL && t < nt; t++)
            train_rows[t] = perm[t];
        if (n_train != NULL)
            *n_train = nt;
        err = RLCC_OK;
    }
    rlcc__free(budget, perm2, nt, sizeof *perm2);
    rlcc__free(budget, perm, n, sizeof *perm);
    rlcc__free(budget, g, 1, sizeof *g);
    return err;
}

int rlcc_kmeans_init_faiss(int64_t n, int64_t k, uint64_t seed, int64_t max_points_per_centroid,
                           int64_t *start_rows, int64_t *train_rows, int64_t *n_train)
{
    rlcc__clear_error();
    int err = rlcc__check_row_count("n", n);
    if (err == RLCC_OK && k < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld must be >= 1", (long long)k);
    if (err == RLCC_OK && k > n)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld exceeds the %lld rows", (long long)k,
                         (long long)n);
    if (err == RLCC_OK && max_points_per_centroid < 1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "max_points_per_centroid: %lld must be >= 1",
                         (long long)max_points_per_centroid);
    if (err == RLCC_OK && start_rows == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "start_rows: is NULL");
    if (err != RLCC_OK)
        return err;
    const int64_t cap = rlcc__mul(max_points_per_centroid, k);
    const int64_t nt = cap >= 0 && n > cap ? cap : n;
    rlcc__span outputs[3];
    int n_out = 0;
    outputs[n_out++] = rlcc__vector_span("start_rows", start_rows, k, sizeof *start_rows);
    if (train_rows != NULL)
        outputs[n_out++] = rlcc__vector_span("train_rows", train_rows, nt, sizeof *train_rows);
    if (n_train != NULL)
        outputs[n_out++] = rlcc__vector_span("n_train", n_train, 1, sizeof *n_train);
    err = rlcc__check_no_overlap(outputs, n_out, NULL, 0);
    if (err != RLCC_OK)
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, 0);
    return rlcc__kmeans_init_faiss(n, k, seed, max_points_per_centroid, &budget, start_rows,
                                   train_rows, n_train);
}

/* ---- the assignment alone (the pseudo-labeler's final labels) ------------- */

int rlcc__kmeans_assign(const float *x, int64_t n, int64_t d, int64_t ldx,
                        const float *centroids, int64_t k, int64_t ldc, int n_threads,
                        rlcc__budget *budget, int32_t *labels)
{
    kmeans_run r = run_of(x, n, d, ldx, k, n_threads);
    int err;
    double *xn2 = rlcc__alloc(budget, n, sizeof *xn2, "row norms", &err);
    float *xn32 = xn2 ? rlcc__alloc(budget, n, sizeof *xn32, "float32 norms", &err) : NULL;
    float *c = xn32 ? rlcc__alloc(budget, k * d, sizeof *c, "centroids", &err) : NULL;
    r.cn2 = c ? rlcc__alloc(budget, k, sizeof *r.cn2, "centroid norms", &err) : NULL;
    r.cn32 = r.cn2 ? rlcc__alloc(budget, k, sizeof *r.cn32, "centroid norms", &err) : NULL;
    r.mc = r.cn32 ? rlcc__alloc(budget, k, sizeof *r.mc, "centroid margins", &err) : NULL;
    r.mc32 = r.mc ? rlcc__alloc(budget, k, sizeof *r.mc32, "centroid margins", &err) : NULL;
    if (r.mc32 != NULL)
        err = rlcc__row_norms("x", x, n, d, ldx, n_threads, xn2);
    if (r.mc32 != NULL && err == RLCC_OK)
        alloc_tile(&r, budget, &err);
    if (r.tile != NULL) {
        for (int64_t i = 0; i < n; i++)
            xn32[i] = (float)xn2[i];
        r.xn2 = xn2;
        r.xn32 = xn32;
        for (int64_t j = 0; j < k; j++) /* assign() reads them with stride d */
            memcpy(c + j * d, centroids + j * ldc, sizeof(float) * (size_t)d);
        rlcc__blocktime_guard blocktime;
        rlcc__blocktime_enter(&blocktime);
        assign(&r, c, labels);
        rlcc__blocktime_leave(&blocktime);
    }
    rlcc__free(budget, r.tile, r.tile != NULL ? r.tile_rows * k : 0, sizeof *r.tile);
    rlcc__free(budget, r.mc32, r.mc32 ? k : 0, sizeof *r.mc32);
    rlcc__free(budget, r.mc, r.mc ? k : 0, sizeof *r.mc);
    rlcc__free(budget, r.cn32, r.cn32 ? k : 0, sizeof *r.cn32);
    rlcc__free(budget, r.cn2, r.cn2 ? k : 0, sizeof *r.cn2);
    rlcc__free(budget, c, c ? k * d : 0, sizeof *c);
    rlcc__free(budget, xn32, xn32 ? n : 0, sizeof *xn32);
    rlcc__free(budget, xn2, xn2 ? n : 0, sizeof *xn2);
    return err;
}
