/*
 * knn.c - exact k nearest rows by squared Euclidean distance, the same on
 * every machine.
 *
 * The contract (docs/precision.md): row j is ranked by D(i, j), the squared
 * distance of the float32 rows computed in double by rlcc__sqdist_fixed()
 * (fixed.c: one summation order written in librlcc), ties by the lower
 * index; the returned distance is D rounded to float32. Nothing a BLAS
 * kernel, a thread split, a memory budget or a blocking of the rows does can
 * change a list.
 *
 * The float32 Gram matrix is the screen. From a Gram entry g,
 * s = |x_i|^2 + |x_j|^2 - 2 g (in float32, from the norms rounded to
 * float32) is within
 *   m(i, j) = (gamma_d + 8 u) (|x_i|^2 + |x_j|^2) + abs_margin
 * of D(i, j) whatever order BLAS summed in (the bound of features.c:
 * Higham, gamma_d = d u / (1 - d u), u = 2^-24, plus 1% for the double
 * rounding of D; 8 u covers the four float32 roundings that form s). A scan keeps, per query row, the C = 2k candidates
 * with the smallest s (a max-heap on (s, index)). Then the row is resolved:
 *
 *   U = the k-th smallest of {D of the row's exact list} and {s + m of the
 *       kept candidates}: k rows are known to have D <= U, so no row with
 *       s - m > U can be among the k nearest;
 *   a kept candidate with s - m <= U is decided in double from the rows
 *   and offered to the row's exact list (a max-heap on (D, index), a total
 *   order, so the list does not depend on the order candidates arrive in);
 *   if the candidate heap was full and its largest s could still be within
 *   U (a row with more near-ties than C: duplicated rows), every reference
 *   row is decided in double instead (the row "falls back").
 *
 * The exact list of a row after an update is thus the k nearest of its
 * list before and the update's reference rows, decided exactly: updates
 * and merges compose in any order and any blocking to the same lists.
 *
 * The whole-matrix kNN (rlcc_knn, and the Jaccard distance's) is one
 * symmetric update: the Gram matrix is computed panel by panel, rows
 * [i0, i1) against every row j >= i0, so each pair (i, j), i <= j, is read
 * once and its s feeds both rows' candidates. The panel is laid out by
 * column (gram.c), tile row j - i0 holding j's products with the panel rows.
 * Only the upper triangle of the diagonal block, tile[c][r] with r >= c, is
 * read, so each pair is read at one place:
 *   phase A: each row j >= i0 takes the panel rows of its tile row, one
 *            contiguous run: i >= j inside the diagonal block, every panel
 *            row after it;
 *   phase B: each panel row i takes its partners down its tile column: the
 *            panel rows j < i and every row j >= i1, a block of panel rows
 *            walked down the tile by one thread.
 * A row's candidates are only ever updated by one thread at a time.
 */
#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "knn.h"

#define KNN_OPTIONS_SIZE_1_1 (offsetof(rlcc_knn_options, max_bytes) + sizeof(int64_t))

/* Columns per work item of the pair scan's column screens: their candidate
 * heaps stay in cache while a thread walks down the panel. */
#define COLUMN_BLOCK 256

/* Panel rows per phase-B work item of the symmetric scan, whose tile is laid
 * out by column: small enough that a panel of 1028 rows gives both threads
 * many items, wide enough that each read of a tile row spans four cache
 * lines. */
#define PANEL_BLOCK 64

/* ---- the exact lists -------------------------------------------------------- */

static inline int exact_less(double da, int64_t ia, double db, int64_t ib)
{
    return da < db || (da == db && ia < ib);
}

/* Offers (dist, index) to a max-heap of capacity k held in hd/hi with *size
 * entries: kept if there is room or it is below the largest key. */
static void exact_offer(double *hd, int64_t *hi, int32_t *size, int64_t k, double dist,
                        int64_t index)
{
    int64_t pos;
    if (*size < k) {
        pos = (*size)++;
        while (pos > 0) {
            const int64_t parent = (pos - 1) / 2;
            if (!exact_less(hd[parent], hi[parent], dist, index))
                break;
            hd[pos] = hd[parent];
            hi[pos] = hi[parent];
            pos = parent;
        }
        hd[pos] = dist;
        hi[pos] = index;
        return;
    }
    if (!exact_less(dist, index, hd[0], hi[0]))
        return;
    pos = 0;
    for (;;) {
        int64_t child = 2 * pos + 1;
        if (child >= k)
            break;
        if (child + 1 < k && exact_less(hd[child], hi[child], hd[child + 1], hi[child + 1]))
            child++;
        if (!exact_less(dist, index, hd[child], hi[child]))
            break;
        hd[pos] = hd[child];
        hi[pos] = hi[child];
        pos = child;
    }
    hd[pos] = dist;
    hi[pos] = index;
}

/* Whether a row's exact list already holds index (a reference row offered
 * twice, or a merge of overlapping states, changes nothing). */
static int exact_holds(const int64_t *hi, int32_t size, int64_t index)
{
    for (int32_t e = 0; e < size; e++)
        if (hi[e] == index)
            return 1;
    return 0;
}

void rlcc__knn_lists_add(rlcc__knn_lists *l, int64_t row, double dist, int64_t index)
{
    double *hd = l->dist + row * l->k;
    int64_t *hi = l->index + row * l->k;
    if (!exact_holds(hi, l->size[row], index))
        exact_offer(hd, hi, l->size + row, l->k, dist, index);
}

void rlcc__knn_lists_release(rlcc__knn_lists *l, rlcc__budget *budget)
{
    rlcc__free(budget, l->size, l->n, sizeof *l->size);
    rlcc__free(budget, l->index, l->n * l->k, sizeof *l->index);
    rlcc__free(budget, l->dist, l->n * l->k, sizeof *l->dist);
    *l = (rlcc__knn_lists){0};
}

int rlcc__knn_lists_init(rlcc__knn_lists *l, int64_t n, int64_t k, rlcc__budget *budget)
{
    int err;
    *l = (rlcc__knn_lists){.n = n, .k = k};
    l->dist = rlcc__alloc(budget, n * k, sizeof *l->dist, "kNN distances", &err);
    l->index = l->dist ? rlcc__alloc(budget, n * k, sizeof *l->index, "kNN indices", &err) : NULL;
    l->size = l->index ? rlcc__calloc(budget, n, sizeof *l->size, "kNN sizes", &err) : NULL;
    if (l->size != NULL)
        return RLCC_OK;
    rlcc__knn_lists_release(l, budget); /* nothing half-made is left */
    return err;
}

int rlcc__knn_lists_copy(rlcc__knn_lists *dst, const rlcc__knn_lists *src, rlcc__budget *budget)
{
    int err = rlcc__knn_lists_init(dst, src->n, src->k, budget);
    if (err != RLCC_OK)
        return err;
    memcpy(dst->dist, src->dist, (size_t)(src->n * src->k) * sizeof *dst->dist);
    memcpy(dst->index, src->index, (size_t)(src->n * src->k) * sizeof *dst->index);
    memcpy(dst->size, src->size, (size_t)src->n * sizeof *dst->size);
    return RLCC_OK;
}

/* Sorts one row's list ascending by (D, index) (k is small: insertion sort). */
static void sort_exact(double *hd, int64_t *hi, int64_t size)
{
    for (int64_t a = 1; a < size; a++) {
        const double dv = hd[a];
        const int64_t iv = hi[a];
        int64_t b = a;
        while (b > 0 && exact_less(dv, iv, hd[b - 1], hi[b - 1])) {
            hd[b] = hd[b - 1];
            hi[b] = hi[b - 1];
            b--;
        }
        hd[b] = dv;
        hi[b] = iv;
    }
}

/* ---- one update: screen, then resolve ---------------------------------------- */

/* Everything one update of query rows against a block of reference rows reads. */
typedef struct update_run {
    const float *xq;    /* query rows */
    int64_t nq, ldq;
    const float *xr;    /* reference rows */
    int64_t nr, ldr, r0; /* r0: global index of the first reference row */
    int64_t d;
    const double *qn2, *rn2; /* squared row norms in double */
    const float *qn32, *rn32; /* the same rounded to float32, for the screen */
    double gamma, abs_margin;
    double max_rn2;     /* largest reference norm: the widest margin a row can need */
    rlcc__knn_lists *lists;
    /* 1: only the lists' order is wanted (no distances out, no later update):
     * a candidate whose interval [s - m, s + m] overlaps no other one's has
     * a rank no D can change, and is ranked by s without being decided */
    int order_only;
    /* candidates, per query row: a max-heap on (s, local reference index) */
    int64_t cap;        /* C */
    float *cand_s;      /* nq x C */
    int32_t *cand_j;    /* nq x C */
    int32_t *cand_size; /* nq */
    float *limit;       /* nq: s above it cannot become a candidate */
    int n_threads;
    int share_norms;    /* qn32 and rn32 are one array (the symmetric update) */
} update_run;

static inline double margin(const update_run *u, int64_t q, int64_t j)
{
    return u->gamma * (u->qn2[q] + u->rn2[j]) + u->abs_margin;
}

static inline int cand_less(float sa, int32_t ja, float sb, int32_t jb)
{
    return sa < sb || (sa == sb && ja < jb);
}

/* Offers reference j with screened s to query row q's candidates. */
static void cand_offer(update_run *u, int64_t q, float s, int32_t j)
{
    const int64_t cap = u->cap;
    float *hs = u->cand_s + q * cap;
    int32_t *hj = u->cand_j + q * cap;
    int32_t size = u->cand_size[q];
    int64_t pos;
    if (size < cap) {
        pos = size;
        u->cand_size[q] = size + 1;
        while (pos > 0) {
            const int64_t parent = (pos - 1) / 2;
            if (!cand_less(hs[parent], hj[parent], s, j))
                break;
            hs[pos] = hs[parent];
            hj[pos] = hj[parent];
            pos = parent;
        }
        hs[pos] = s;
        hj[pos] = j;
    } else {
        if (!cand_less(s, j, hs[0], hj[0]))
            return;
        pos = 0;
        for (;;) {
            int64_t child = 2 * pos + 1;
            if (child >= cap)
                break;
            if (child + 1 < cap && cand_less(hs[child], hj[child], hs[child + 1], hj[child + 1]))
                child++;
            if (!cand_less(s, j, hs[child], hj[child]))
                break;
            hs[pos] = hs[child];
            hj[pos] = hj[child];
            pos = child;
        }
        hs[pos] = s;
        hj[pos] = j;
    }
    if (u->cand_size[q] == cap && hs[0] < u->limit[q])
        u->limit[q] = hs[0];
}

/* The s above which row q takes no candidate: its exact list, once full,
 * excludes every s with s - m > D of its largest entry. Rounded up to
 * float32, so the screen never excludes more than the bound allows. */
static float initial_limit(const update_run *u, int64_t q)
{
    const rlcc__knn_lists *l = u->lists;
    if (l->size[q] < l->k)
        return INFINITY;
    const double limit = l->dist[q * l->k] + u->gamma * (u->qn2[q] + u->max_rn2) + u->abs_margin;
    float up = (float)limit;
    if ((double)up < limit)
        up = nextafterf(up, INFINITY);
    return up;
}

/* Columns the screens test at once, without a branch (the compiler turns
 * the test into vector compares); a group with no s within its limit is
 * skipped whole, which is almost every group once the heaps are full. */
#define SCREEN_GROUP 16

/* Whether any of SCREEN_GROUP screened s = (qn + rn[t]) - 2 g[t] is within
 * limit[t] (lim_step 1) or within limit[0] (lim_step 0): the same float32
 * operations as the offers below, so a group it skips holds no offer. */
static inline int group_passes(float qn, const float *rn, const float *g, const float *limit,
                               int lim_step)
{
    int pass = 0;
    for (int t = 0; t < SCREEN_GROUP; t++)
        pass |= (qn + rn[t]) - 2.0f * g[t] <= limit[t * lim_step];
    return pass;
}

/* Screens one query row against a run of reference rows j0.. of a Gram row.
 * A group is tested against the limit at its start, which only falls as
 * candidates come: a skipped group would have offered nothing. */
static inline void screen(update_run *u, int64_t q, const float *gram, int64_t j0, int64_t j1)
{
    const float qn32 = u->qn32[q];
    float limit = u->limit[q];
    for (int64_t j = j0; j < j1; j++) {
        if ((j - j0) % SCREEN_GROUP == 0 && j + SCREEN_GROUP <= j1 &&
            !group_passes(qn32, u->rn32 + j, gram + (j - j0), &limit, 0)) {
            j += SCREEN_GROUP - 1;
            continue;
        }
        const float s = (qn32 + u->rn32[j]) - 2.0f * gram[j - j0];
        if (s <= limit) {
            cand_offer(u, q, s, (int32_t)j);
            limit = u->limit[q];
        }
    }
}

/* The column screens walk a block of columns down the panel: each row's
 * run of the block is a new place in a tile far larger than the caches,
 * which the hardware prefetcher does not guess. Asking for the run
 * PREFETCH_ROWS rows ahead hides that latency (measured in
 * docs/BENCHMARKS.md); it reads nothing and changes no result. */
#define PREFETCH_ROWS 2

static inline void prefetch_run(const float *run, int inside, int64_t count)
{
    if (!inside)
        return;
    for (int64_t e = 0; e < count; e += 64 / (int64_t)sizeof(float))
        __builtin_prefetch(run + e);
}

/* Offers row i's s to each column row j in [j0, j1) of a Gram row (g[j -
 * j0] for column j), columns skipped a group at a time as in screen(); each
 * column has its own limit, which only its own offer changes. */
static inline void screen_columns(update_run *u, int64_t i, float in32, const float *g,
                                  int64_t j0, int64_t j1)
{
    for (int64_t j = j0; j < j1; j++) {
        if ((j - j0) % SCREEN_GROUP == 0 && j + SCREEN_GROUP <= j1 &&
            !group_passes(in32, u->qn32 + j, g + (j - j0), u->limit + j, 1)) {
            j += SCREEN_GROUP - 1;
            continue;
        }
        const float s = (u->qn32[j] + in32) - 2.0f * g[j - j0];
        if (s <= u->limit[j])
            cand_offer(u, j, s, (int32_t)i);
    }
}

/* Values below: the k-th smallest of vals[0 .. count) (count >= k >= 1),
 * by a partial selection sort (count <= k + C, small). */
static double kth_smallest(double *vals, int64_t count, int64_t k)
{
    for (int64_t a = 0; a < k; a++) {
        int64_t best = a;
        for (int64_t b = a + 1; b < count; b++)
            if (vals[b] < vals[best])
                best = b;
        const double t = vals[a];
        vals[a] = vals[best];
        vals[best] = t;
    }
    return vals[k - 1];
}

/* The order-only resolve of row q (its list empty before this update):
 * the candidates within bound, sorted by s - m, fall into groups whose
 * intervals [s - m, s + m] overlap; a group of one is ranked by its s (any
 * D of its row lies in its interval, which no other row's does), a larger
 * group is decided in double. work has room for 3 C doubles. Returns the
 * rows decided. */
static int64_t rank_candidates(update_run *u, int64_t q, double bound, double *work)
{
    const int64_t cap = u->cap;
    const float *hs = u->cand_s + q * cap;
    const int32_t *hj = u->cand_j + q * cap;
    double *lo = work, *hi = work + cap, *jj = work + 2 * cap;
    int64_t count = 0, decided = 0;
    for (int32_t e = 0; e < u->cand_size[q]; e++) {
        const double m = margin(u, q, hj[e]), lower = (double)hs[e] - m;
        if (lower > bound)
            continue;
        /* insertion by lower end */
        int64_t at = count++;
        while (at > 0 && lo[at - 1] > lower) {
            lo[at] = lo[at - 1], hi[at] = hi[at - 1], jj[at] = jj[at - 1];
            at--;
        }
        lo[at] = lower, hi[at] = (double)hs[e] + m, jj[at] = (double)hj[e];
    }
    const float *xq = u->xq + q * u->ldq;
    for (int64_t first = 0; first < count;) {
        int64_t last = first + 1;
        double reach = hi[first];
        while (last < count && lo[last] <= reach) { /* touching counts as overlapping */
            reach = hi[last] > reach ? hi[last] : reach;
            last++;
        }
        for (int64_t e = first; e < last; e++) {
            const int64_t j = (int64_t)jj[e];
            const double key = last - first == 1
                                   ? 0.5 * (lo[e] + hi[e])
                                   : rlcc__sqdist_fixed(xq, u->xr + j * u->ldr, u->d);
            decided += last - first > 1;
            rlcc__knn_lists_add(u->lists, q, key, u->r0 + j);
        }
        first = last;
    }
    return decided;
}

/* Resolves query row q after its screen: decides the candidates that can
 * still be among the k nearest from the rows, in double. vals has room for
 * k + C doubles. Returns the rows decided; *fell_back is set when the row
 * had more near-ties than its candidates could hold. */
static int64_t resolve_row(update_run *u, int64_t q, double *vals, int *fell_back)
{
    rlcc__knn_lists *l = u->lists;
    const int64_t k = l->k, cap = u->cap;
    const float *hs = u->cand_s + q * cap;
    const int32_t *hj = u->cand_j + q * cap;
    const int32_t size = u->cand_size[q];
    const float *xq = u->xq + q * u->ldq;
    int64_t count = 0, decided = 0;
    for (int32_t e = 0; e < l->size[q]; e++)
        vals[count++] = l->dist[q * k + e];
    /* each value bounds a different row's D: a candidate the list already
     * holds (a row offered again) counts once, by its D, or U would be too
     * small and could screen out a nearer new row */
    for (int32_t e = 0; e < size; e++)
        if (!exact_holds(l->index + q * k, l->size[q], u->r0 + hj[e]))
            vals[count++] = (double)hs[e] + margin(u, q, hj[e]);
    const double bound = count < k ? INFINITY : kth_smallest(vals, count, k);
    *fell_back = size == cap && size < u->nr
                 && (double)hs[0] - (u->gamma * (u->qn2[q] + u->max_rn2) + u->abs_margin) <= bound;
    if (*fell_back) {
        for (int64_t j = 0; j < u->nr; j++)
            rlcc__knn_lists_add(l, q, rlcc__sqdist_fixed(xq, u->xr + j * u->ldr, u->d), u->r0 + j);
        decided = u->nr;
    } else if (!u->order_only) {
        for (int32_t e = 0; e < size; e++) {
            const int64_t j = hj[e];
            if ((double)hs[e] - margin(u, q, j) <= bound) {
                rlcc__knn_lists_add(l, q, rlcc__sqdist_fixed(xq, u->xr + j * u->ldr, u->d), u->r0 + j);
                decided++;
            }
        }
    } else {
        decided = rank_candidates(u, q, bound, vals + k + cap);
    }
    u->cand_size[q] = 0;
    return decided;
}

static void resolve_rows(update_run *u, double *vals, int64_t *n_decided, int64_t *n_fallback)
{
    const int64_t per_thread = u->lists->k + 4 * u->cap;
    int64_t decided = 0, fallback = 0;
#pragma omp parallel for num_threads(u->n_threads) if (u->n_threads > 1) schedule(dynamic, 16) \
    reduction(+ : decided, fallback)
    for (int64_t q = 0; q < u->nq; q++) {
        int fell_back;
        decided += resolve_row(u, q, vals + rlcc__thread_index() * per_thread, &fell_back);
        fallback += fell_back;
    }
    *n_decided += decided;
    *n_fallback += fallback;
}

/* The symmetric scan of one Gram panel: rows [i0, i1) of X against every
 * row j >= i0, laid out by column (rlcc__gram_panel_columns(): tile row c
 * holds x_{i0+c} . x_{i0+r} for every panel row r), each pair's s given to
 * both rows (phases A and B above). Inside the diagonal block a pair
 * (i0 + c, i0 + r), c < r, is read at tile[c][r] only. */
static void scan_symmetric_panel(update_run *u, int64_t i0, int64_t i1, float *tile)
{
    const int64_t n = u->nq, cols = n - i0, rows = i1 - i0;
    rlcc__gram_panel_columns(u->xq, n, u->d, u->ldq, i0, i1, tile);

#pragma omp parallel for num_threads(u->n_threads) if (u->n_threads > 1) schedule(dynamic, 16)
    for (int64_t c = 0; c < cols; c++) {
        const int64_t first = c < rows ? c : 0; /* panel rows from i0 + c on (itself included) */
        screen(u, i0 + c, tile + c * rows + first, i0 + first, i1);
    }
    const int64_t blocks = (rows + PANEL_BLOCK - 1) / PANEL_BLOCK;
#pragma omp parallel for num_threads(u->n_threads) if (u->n_threads > 1) schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t r0 = b * PANEL_BLOCK, r1 = r0 + PANEL_BLOCK < rows ? r0 + PANEL_BLOCK : rows;
        /* the diagonal block: tile row c gives its s to the block's rows after it */
        for (int64_t c = 0; c + 1 < r1; c++) {
            const int64_t first = c + 1 > r0 ? c + 1 : r0;
            screen_columns(u, i0 + c, u->rn32[i0 + c], tile + c * rows + first, i0 + first,
                           i0 + r1);
        }
        /* the rows after the panel: every tile row to every row of the block */
        for (int64_t c = rows; c < cols; c++) {
            prefetch_run(tile + (c + PREFETCH_ROWS) * rows + r0, c + PREFETCH_ROWS < cols, r1 - r0);
            screen_columns(u, i0 + c, u->rn32[i0 + c], tile + c * rows + r0, i0 + r0, i0 + r1);
        }
    }
}

/* The scan of query rows [q0, q1) against all reference rows (one SGEMM). */
static void scan_panel(update_run *u, int64_t q0, int64_t q1, float *tile)
{
    const int64_t rows = q1 - q0, nr = u->nr;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)nr, (int)u->d, 1.0f,
                u->xq + q0 * u->ldq, (int)u->ldq, u->xr, (int)u->ldr, 0.0f, tile, (int)nr);
#pragma omp parallel for num_threads(u->n_threads) if (u->n_threads > 1) schedule(dynamic, 4)
    for (int64_t r = 0; r < rows; r++)
        screen(u, q0 + r, tile + r * nr, 0, nr);
}

/* Sets up one side of an update: query rows xq against reference rows xr
 * (global indices r0 ..), their norms in double, and that side's candidate
 * heaps, limits and float32 norms from budget. share_norms: xr is xq (the
 * symmetric update), so one set of float32 norms serves both. */
static int run_begin(update_run *u, rlcc__knn_lists *lists, const float *xq, int64_t nq,
                     int64_t ldq, const double *qn2, const float *xr, int64_t nr, int64_t ldr,
                     int64_t r0, const double *rn2, int64_t d, int share_norms, int order_only,
                     int n_threads, rlcc__budget *budget)
{
    const double u32 = 0x1p-24;
    const int64_t k = lists->k;
    *u = (update_run){
        .xq = xq, .nq = nq, .ldq = ldq, .xr = xr, .nr = nr, .ldr = ldr, .r0 = r0, .d = d,
        .qn2 = qn2, .rn2 = rn2, .lists = lists, .order_only = order_only,
        .n_threads = n_threads, .share_norms = share_norms,
        /* 1% on top of gamma_d covers the double rounding of D, 8 u the
         * float32 roundings of s. Past d u >= 1/2 the bound is void: every
         * row is decided in double. */
        .gamma = (double)d * u32 < 0.5
                     ? 1.01 * (double)d * u32 / (1.0 - (double)d * u32) + 8.0 * u32
                     : INFINITY,
        /* float32 products that underflow lose at most 2^-150 each, and so
         * may each of the float32 roundings that form s */
        .abs_margin = (4.0 * (double)d + 8.0) * 0x1p-150,
        .cap = 2 * k > k + 8 ? 2 * k : k + 8,
    };
    for (int64_t j = 0; j < nr; j++)
        u->max_rn2 = rn2[j] > u->max_rn2 ? rn2[j] : u->max_rn2;
    if (u->cap > nr)
        u->cap = nr;
    int err;
    u->cand_s = rlcc__alloc(budget, nq * u->cap, sizeof *u->cand_s, "kNN candidates", &err);
    u->cand_j = u->cand_s ? rlcc__alloc(budget, nq * u->cap, sizeof *u->cand_j, "kNN candidates", &err) : NULL;
    u->cand_size = u->cand_j ? rlcc__calloc(budget, nq, sizeof *u->cand_size, "kNN candidates", &err) : NULL;
    u->limit = u->cand_size ? rlcc__alloc(budget, nq, sizeof *u->limit, "kNN limits", &err) : NULL;
    float *norms32 = u->limit ? rlcc__alloc(budget, share_norms ? nq : nq + nr, sizeof *norms32,
                                            "float32 norms", &err)
                              : NULL;
    if (norms32 == NULL)
        return err;
    for (int64_t q = 0; q < nq; q++)
        norms32[q] = (float)qn2[q];
    for (int64_t j = 0; !share_norms && j < nr; j++)
        norms32[nq + j] = (float)rn2[j];
    u->qn32 = norms32;
    u->rn32 = share_norms ? norms32 : norms32 + nq;
    for (int64_t q = 0; q < nq; q++)
        u->limit[q] = initial_limit(u, q);
    return RLCC_OK;
}

/* Frees what run_begin() took (also after it failed part way). */
static void run_end(update_run *u, rlcc__budget *budget)
{
    const int64_t nq = u->nq;
    rlcc__free(budget, (float *)u->qn32, u->share_norms ? nq : nq + u->nr, sizeof *u->qn32);
    rlcc__free(budget, u->limit, nq, sizeof *u->limit);
    rlcc__free(budget, u->cand_size, nq, sizeof *u->cand_size);
    rlcc__free(budget, u->cand_j, nq * u->cap, sizeof *u->cand_j);
    rlcc__free(budget, u->cand_s, nq * u->cap, sizeof *u->cand_s);
}

/* Doubles per thread that resolve_rows() needs for a side. */
static int64_t resolve_len(const update_run *u)
{
    return u->lists->k + 4 * u->cap;
}

/*
 * One update of lists for the query rows xq against the reference rows xr
 * (global indices r0 ..), symmetric when they are the same rows (then the
 * triangle is computed once); order_only when the lists start empty and
 * only their order is wanted (rank_candidates()). Norms in double are given; everything else
 * it needs comes from budget and is freed before it returns.
 */
int rlcc__knn_update_lists(rlcc__knn_lists *lists, const float *xq, int64_t nq, int64_t ldq,
                           const double *qn2, const float *xr, int64_t nr, int64_t ldr,
                           int64_t r0, const double *rn2, int64_t d, int symmetric,
                           int order_only, int n_threads, rlcc__budget *budget,
                           int64_t *n_decided, int64_t *n_fallback)
{
    update_run u;
    int err = run_begin(&u, lists, xq, nq, ldq, qn2, xr, nr, ldr, r0, rn2, d, symmetric,
                        order_only, n_threads, budget);
    const int64_t vals_len = resolve_len(&u) * n_threads;
    double *vals = err == RLCC_OK ? rlcc__alloc(budget, vals_len, sizeof *vals, "kNN bounds", &err)
                                  : NULL;
    const int64_t width = symmetric ? nq : nr;
    const int64_t rows = vals ? rlcc__panel_rows(width, budget) : 0;
    const int64_t panel = symmetric || rows < nq ? rows : nq;
    float *tile = vals ? rlcc__alloc(budget, panel * width, sizeof *tile, "Gram tile", &err) : NULL;
    if (tile != NULL) {
        rlcc__blocktime_guard blocktime;
        rlcc__blocktime_enter(&blocktime);
        for (int64_t q0 = 0; q0 < nq; q0 += panel) {
            const int64_t q1 = q0 + panel < nq ? q0 + panel : nq;
            if (symmetric)
                scan_symmetric_panel(&u, q0, q1, tile);
            else
                scan_panel(&u, q0, q1, tile);
        }
        resolve_rows(&u, vals, n_decided, n_fallback);
        rlcc__blocktime_leave(&blocktime);
        err = RLCC_OK;
    }
    rlcc__free(budget, tile, panel * width, sizeof *tile);
    rlcc__free(budget, vals, vals_len, sizeof *vals);
    run_end(&u, budget);
    return err;
}

/* The scan of rows [a0, a1) of side a against every row of side b (one
 * SGEMM): a's rows screen the tile's rows, b's rows its columns, each
 * column block walked down the panel by one thread (as phase B). */
static void scan_pair_panel(update_run *a, update_run *b, int64_t a0, int64_t a1, float *tile)
{
    const int64_t rows = a1 - a0, nb = b->nq;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)nb, (int)a->d, 1.0f,
                a->xq + a0 * a->ldq, (int)a->ldq, b->xq, (int)b->ldq, 0.0f, tile, (int)nb);
#pragma omp parallel for num_threads(a->n_threads) if (a->n_threads > 1) schedule(dynamic, 4)
    for (int64_t r = 0; r < rows; r++)
        screen(a, a0 + r, tile + r * nb, 0, nb);
    const int64_t blocks = (nb + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
#pragma omp parallel for num_threads(a->n_threads) if (a->n_threads > 1) schedule(dynamic, 1)
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t j0 = blk * COLUMN_BLOCK;
        const int64_t j1 = j0 + COLUMN_BLOCK < nb ? j0 + COLUMN_BLOCK : nb;
        for (int64_t r = 0; r < rows; r++) {
            prefetch_run(tile + (r + PREFETCH_ROWS) * nb + j0, r + PREFETCH_ROWS < rows, j1 - j0);
            screen_columns(b, a0 + r, b->rn32[a0 + r], tile + r * nb + j0, j0, j1);
        }
    }
}

/*
 * One update of two lists from one Gram block: la's query rows xa (global
 * indices a0 ..) are offered xb's rows and lb's query rows xb (global
 * indices b0 ..) are offered xa's, each pair computed once. The rows of the
 * two sides are different rows. Norms in double are given; the counts of
 * side a go to [0], of side b to [1].
 */
int rlcc__knn_update_pair(rlcc__knn_lists *la, const float *xa, int64_t na, int64_t lda,
                          const double *an2, int64_t a0, rlcc__knn_lists *lb, const float *xb,
                          int64_t nb, int64_t ldb, const double *bn2, int64_t b0, int64_t d,
                          int n_threads, rlcc__budget *budget, int64_t n_decided[2],
                          int64_t n_fallback[2])
{
    update_run a = {0}, b = {0};
    int err = run_begin(&a, la, xa, na, lda, an2, xb, nb, ldb, b0, bn2, d, 0, 0, n_threads,
                        budget);
    int err_b = err == RLCC_OK ? run_begin(&b, lb, xb, nb, ldb, bn2, xa, na, lda, a0, an2, d, 0,
                                           0, n_threads, budget)
                               : RLCC_OK;
    const int64_t per_thread = err == RLCC_OK && err_b == RLCC_OK
                                   ? (resolve_len(&a) > resolve_len(&b) ? resolve_len(&a)
                                                                        : resolve_len(&b))
                                   : 0;
    if (err == RLCC_OK)
        err = err_b;
    double *vals = err == RLCC_OK ? rlcc__alloc(budget, per_thread * n_threads, sizeof *vals,
                                                "kNN bounds", &err)
                                  : NULL;
    const int64_t rows = vals ? rlcc__panel_rows(nb, budget) : 0;
    const int64_t panel = rows < na ? rows : na;
    float *tile = vals ? rlcc__alloc(budget, panel * nb, sizeof *tile, "Gram tile", &err) : NULL;
    if (tile != NULL) {
        rlcc__blocktime_guard blocktime;
        rlcc__blocktime_enter(&blocktime);
        for (int64_t r0 = 0; r0 < na; r0 += panel)
            scan_pair_panel(&a, &b, r0, r0 + panel < na ? r0 + panel : na, tile);
        resolve_rows(&a, vals, &n_decided[0], &n_fallback[0]);
        resolve_rows(&b, vals, &n_decided[1], &n_fallback[1]);
        rlcc__blocktime_leave(&blocktime);
        err = RLCC_OK;
    }
    rlcc__free(budget, tile, panel * nb, sizeof *tile);
    rlcc__free(budget, vals, per_thread * n_threads, sizeof *vals);
    if (b.lists != NULL)
        run_end(&b, budget);
    run_end(&a, budget);
    return err;
}

/* A query row with fewer than k entries is an error: not enough reference
 * rows were offered. */
int rlcc__knn_lists_full(const rlcc__knn_lists *l)
{
    for (int64_t q = 0; q < l->n; q++)
        if (l->size[q] < l->k)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "state: query row %lld has %d of its k = %lld neighbours (offer "
                              "at least k reference rows)",
                              (long long)q, (int)l->size[q], (long long)l->k);
    return RLCC_OK;
}

/* Writes the full lists sorted by (D, index) into the outputs that are not
 * NULL. With scratch (one list per thread) each row is sorted in a copy and
 * the heaps stay usable; without it they are sorted in place. */
void rlcc__knn_lists_write(rlcc__knn_lists *l, rlcc__knn_lists *scratch, int n_threads, int64_t *indices64,
                        int32_t *indices32, float *sqdist)
{
    const int64_t k = l->k;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
    for (int64_t q = 0; q < l->n; q++) {
        double *hd = l->dist + q * k;
        int64_t *hi = l->index + q * k;
        if (scratch != NULL) {
            const int t = rlcc__thread_index();
            memcpy(scratch->dist + t * k, hd, sizeof *hd * (size_t)k);
            memcpy(scratch->index + t * k, hi, sizeof *hi * (size_t)k);
            hd = scratch->dist + t * k;
            hi = scratch->index + t * k;
        }
        sort_exact(hd, hi, k);
        for (int64_t r = 0; r < k; r++) {
            if (indices64 != NULL)
                indices64[q * k + r] = hi[r];
            if (indices32 != NULL)
                indices32[q * k + r] = (int32_t)hi[r];
            if (sqdist != NULL)
                sqdist[q * k + r] = (float)hd[r];
        }
    }
}

/* The whole-matrix kNN of rlcc_knn() and rlcc__knn(): one symmetric update
 * of empty lists, written as int64 or int32 indices. Distances are decided
 * only when sqdist is wanted. */
static int whole_knn(const float *x, int64_t n, int64_t d, int64_t ldx, const double *norm2,
                     int64_t k, int n_threads, rlcc__budget *budget, int64_t *indices64,
                     int32_t *indices32, float *sqdist)
{
    rlcc__knn_lists lists;
    int64_t decided = 0, fallback = 0;
    int err = rlcc__knn_lists_init(&lists, n, k, budget);
    if (err == RLCC_OK)
        err = rlcc__knn_update_lists(&lists, x, n, ldx, norm2, x, n, ldx, 0, norm2, d, 1, sqdist == NULL,
                         n_threads, budget, &decided, &fallback);
    if (err == RLCC_OK)
        err = rlcc__knn_lists_full(&lists);
    /* written only once everything succeeded: a refused call leaves them */
    if (err == RLCC_OK)
        rlcc__knn_lists_write(&lists, NULL, n_threads, indices64, indices32, sqdist);
    rlcc__knn_lists_release(&lists, budget);
    return err;
}

int rlcc__knn(const float *x, int64_t n, int64_t d, int64_t ldx, const double *norm2,
              int64_t k, int n_threads, rlcc__budget *budget, int32_t *indices, float *sqdist)
{
    return whole_knn(x, n, d, ldx, norm2, k, n_threads, budget, NULL, indices, sqdist);
}

/* ---- the public kNN ---------------------------------------------------- */

/* The n x k lists and distances apart from each other and from input (or
 * NULL). */
int rlcc__knn_outputs_apart(int64_t n, int64_t k, const int64_t *indices, const float *sqdist,
                         const rlcc__span *input)
{
    const rlcc__span outputs[] = {rlcc__matrix_span("indices", indices, n, k, k, sizeof *indices),
                                  rlcc__matrix_span("sqdist", sqdist, n, k, k, sizeof *sqdist)};
    return rlcc__check_no_overlap(outputs, 2, input, input != NULL);
}

int rlcc_knn_options_init(rlcc_knn_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_knn_options defaults = {.struct_size = sizeof defaults};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             KNN_OPTIONS_SIZE_1_1, "options");
}

/* Options read over the defaults and checked. */
int rlcc__knn_read_options(const rlcc_knn_options *options, rlcc_knn_options *opts)
{
    rlcc_knn_options_init(opts, sizeof *opts);
    int err = rlcc__read_struct(opts, sizeof *opts, options, KNN_OPTIONS_SIZE_1_1, "options");
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", opts->reserved);
    if (err == RLCC_OK)
        err = rlcc__check_threads(opts->n_threads);
    if (err == RLCC_OK)
        err = rlcc__check_max_bytes(opts->max_bytes);
    return err;
}

int rlcc_knn(const float *x, int64_t n, int64_t d, int64_t ldx, int64_t k,
             const rlcc_knn_options *options, int64_t *indices, float *sqdist)
{
    rlcc__clear_error();
    rlcc_knn_options opts;
    int err = rlcc__knn_read_options(options, &opts);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("x", x, n, d, ldx);
    if (err == RLCC_OK && (k < 1 || k > n) && n > 0)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld must be in [1, n = %lld]",
                         (long long)k, (long long)n);
    if (err == RLCC_OK && n > 0 && indices == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "indices: is NULL");
    const rlcc__span input = rlcc__matrix_span("x", x, n, d, ldx, sizeof *x);
    if (err == RLCC_OK && n > 0)
        err = rlcc__knn_outputs_apart(n, k, indices, sqdist, &input);
    if (err != RLCC_OK || n == 0)
        return err;

    const int n_threads = rlcc__resolve_threads(opts.n_threads);
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    double *norm2 = rlcc__alloc(&budget, n, sizeof *norm2, "row norms", &err);
    if (norm2 == NULL)
        return err;
    err = rlcc__row_norms("x", x, n, d, ldx, n_threads, norm2);
    if (err == RLCC_OK)
        err = whole_knn(x, n, d, ldx, norm2, k, n_threads, &budget, indices, NULL, sqdist);
    rlcc__free(&budget, norm2, n, sizeof *norm2);
    return err;
}

