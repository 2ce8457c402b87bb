/*
 * grid.c - exact DBSCAN for low-dimensional euclidean features, on a grid
 * of cells of side about eps / sqrt(d) (the idea of Gan & Tao, SIGMOD 2015,
 * and of Wang, Gu & Shun, SIGMOD 2020; this is librlcc's own code).
 *
 *   1. Each point gets integer cell coordinates, packed into one 64-bit
 *      key; the points are sorted by key (a stable radix sort, so a cell
 *      keeps its points in ascending caller index) and copied in that
 *      order, so a cell is a contiguous run of rows.
 *   2. Any two points of one cell are neighbours (claim 1 below), so a cell
 *      holding min_samples points is all core; the points of the other
 *      cells count their neighbours in the neighbouring cells, stopping at
 *      min_samples.
 *   3. Cells holding core points are joined in a union-find whenever a core
 *      point of one is a neighbour of a core point of the other; the scan
 *      of a cell pair stops at the first such pair, and a pair already in
 *      one set is not scanned at all.
 *   4. The sets are numbered as scikit-learn numbers clusters (by their
 *      lowest-index core point, unionfind.c); a border point takes the
 *      smallest number among the cells holding a core neighbour; the rest
 *      is noise.
 *
 * Every neighbour decision is rlcc__squared_distance(p, q) <= eps^2, the
 * brute path's decision (distance.h); cells and boxes only decide which
 * pairs need not be computed, and are proven never to skip a neighbour.
 * Memory is O(n d): the sorted copy, a few int32 per point and per cell,
 * and one candidate list per thread. No neighbour list is ever stored.
 *
 * ---- Why the cells are safe -------------------------------------------------
 * Notation: u = 2^-53; fl() is one double rounding. For dimension k, o_k is
 * the smallest coordinate; s = fl(fl(eps / fl(sqrt(d))) * SHRINK) with
 * SHRINK = 1 - 2^-20, g = fl(1 / s), and a value v gets the coordinate
 * floor(t(v)), t(v) = fl(fl(v - o_k) * g) (cell_coordinate()). The grid is
 * used only when eps^2 is a normal double (or +inf, below), and t of the
 * largest coordinate of every dimension is at most 2^28 (CELL_LIMIT).
 *
 * The effective side S = 1 / g is eps / sqrt(d) * SHRINK * (1 + theta) with
 * |theta| <= 5u. With T(v) = (v - o_k) / S, t(v) = T(v) (1 + theta') with
 * |theta'| <= 3u, and t grows with v, so t(v) <= 2^28 and
 * |t(v) - T(v)| < 3u 2^29 < eta = 2^-23. A point with coordinate c therefore
 * has c - eta < T(v) < c + 1 + eta.
 *
 * Claim 1: two points p, q of one cell are neighbours. Per dimension
 * |T(p_k) - T(q_k)| < 1 + 2 eta, so |p_k - q_k| < S (1 + 2 eta), and the
 * exact sum of squares is below eps^2 SHRINK^2 (1 + 5u)^2 (1 + 2 eta)^2.
 * rlcc__squared_distance() rounds d + 2 times upwards at most ((1 + u)^(d+2);
 * no term is subnormal: a non-zero difference of floats is >= 2^-149), and
 * fl(eps * eps) >= eps^2 (1 - u); SHRINK^2 (1 + 2 eta)^2 < 1 - 2^-20 leaves
 * far more room than those roundings take. The grid checks it anyway
 * (every cell's box must be within eps of itself) and hands the call to the
 * tree if it ever failed.
 *
 * Claim 2: if p, q are neighbours and their cells differ by delta_k, then
 * sum_k m_k^2 <= d with m_k = max(|delta_k| - 1, 0). The decision bounds the
 * exact sum of squares by eps^2 (1 + u) / (1 - u)^(d+2); per dimension
 * |T(p_k) - T(q_k)| > m_k - 2 eta, so S^2 sum_k max(m_k - 2 eta, 0)^2 is at
 * most that, which gives sum_k max(m_k - 2 eta, 0)^2 <= d (1 + 2^-18), and
 * sum_k m_k^2 <= d (1 + 2^-18) + 4 eta sum_k m_k < d + 1 for every d the
 * grid accepts. The left side is an integer, so it is <= d. So a point's
 * neighbours lie in the cells at offsets delta with
 * sum_k max(|delta_k| - 1, 0)^2 <= d, each |delta_k| <= 1 + floor(sqrt(d)):
 * 25 cells in 2-D, 125 in 3-D, 841 in 4-D (grid_offsets()). Of these, a
 * cell whose box of points is farther than eps from the cell's own box is
 * dropped exactly (distance.h).
 *
 * eps^2 = +inf (eps > about 1.3e154, or eps = inf): every pair is a
 * neighbour, and g = 0 puts every point in one cell, which claim 1 makes
 * all-neighbours trivially. Outside these conditions (eps^2 subnormal, a
 * dimension spanning more than 2^28 cells, keys needing more than 64 bits)
 * the call runs on the tree instead (kdtree.c), which needs no cells.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "distance.h"
#include "internal.h"
#include "unionfind.h"

#define SHRINK (1.0 - 0x1p-20)
#define CELL_LIMIT 0x1p28

typedef struct grid {
    int64_t n, d;
    double eps2;          /* eps * eps in double: the decision's bound */
    float *pts;           /* n x d: the caller's rows in cell order */
    int32_t *order;       /* n: row of pts -> caller's row */
    int64_t n_cells;
    int32_t *start;       /* n_cells + 1: cell c holds pts rows start[c] .. start[c+1]-1 */
    uint64_t *key;        /* n_cells, ascending: the packed cell coordinates */
    float *box;           /* n_cells x 2d: the smallest box around the cell's points */
    int shift[RLCC_DBSCAN_GRID_MAX_DIM]; /* bit position of each coordinate in a key */
    uint64_t mask[RLCC_DBSCAN_GRID_MAX_DIM]; /* its bits, once shifted down */
    int64_t top[RLCC_DBSCAN_GRID_MAX_DIM]; /* largest coordinate in each dimension */
    /* The neighbouring offsets, as prefixes over the first d - 1
     * dimensions; for each, how far the last coordinate may differ. */
    int64_t n_prefixes;
    int8_t *prefix;       /* n_prefixes x (d - 1) */
    int8_t *last_reach;   /* n_prefixes */
    int64_t max_candidates; /* the longest candidate list a cell can have */
} grid;

/* What a thread needs to list a cell's neighbouring cells: room for the
 * list, and for each prefix where its previous search ended (a thread
 * visits cells in ascending order, so each search starts from there). */
typedef struct cell_search {
    int32_t *cells;   /* max_candidates */
    int64_t *cursor;  /* n_prefixes */
} cell_search;

/* The calling thread's part of a search space allocated for all threads. */
static inline cell_search this_thread(const grid *g, cell_search all)
{
    const int64_t t = rlcc__thread_index();
    return (cell_search){all.cells + t * g->max_candidates, all.cursor + t * g->n_prefixes};
}

static inline int64_t cell_size(const grid *g, int64_t c)
{
    return g->start[c + 1] - g->start[c];
}
static inline const float *cell_lo(const grid *g, int64_t c)
{
    return g->box + c * 2 * g->d;
}
static inline const float *cell_hi(const grid *g, int64_t c)
{
    return g->box + c * 2 * g->d + g->d;
}
static inline const float *row(const grid *g, int64_t p)
{
    return g->pts + p * g->d;
}

/* The one expression the proof above is about. */
static inline int64_t cell_coordinate(float v, float origin, double inv_side)
{
    return (int64_t)(((double)v - (double)origin) * inv_side);
}

static int bit_length(int64_t v)
{
    int bits = 0;
    while (v > 0) {
        bits++;
        v >>= 1;
    }
    return bits;
}

static int64_t isqrt(int64_t v)
{
    int64_t r = 0;
    while ((r + 1) * (r + 1) <= v)
        r++;
    return r;
}

/* ---- planning: the side, the origin and the key layout ----------------- */

/* Decides whether the grid can run (see the proof) and fills origin,
 * inv_side, g->top and g->shift. Returns 0 when the tree must run instead. */
static int plan_grid(const float *x, int64_t n, int64_t d, int64_t ldx, double eps, grid *g,
                     float *origin, double *inv_side)
{
    float hi[RLCC_DBSCAN_GRID_MAX_DIM];
    for (int64_t k = 0; k < d; k++)
        origin[k] = hi[k] = x[k];
    for (int64_t i = 1; i < n; i++)
        for (int64_t k = 0; k < d; k++) {
            const float v = x[i * ldx + k];
            origin[k] = v < origin[k] ? v : origin[k];
            hi[k] = v > hi[k] ? v : hi[k];
        }
    g->eps2 = eps * eps;
    if (isinf(g->eps2)) {
        *inv_side = 0.0; /* every pair is a neighbour: one cell */
    } else {
        if (!(g->eps2 >= DBL_MIN))
            return 0;
        *inv_side = 1.0 / (eps / sqrt((double)d) * SHRINK);
    }
    int bits = 0;
    for (int64_t k = 0; k < d; k++) {
        const double t = ((double)hi[k] - (double)origin[k]) * *inv_side;
        if (!(t <= CELL_LIMIT))
            return 0;
        g->top[k] = (int64_t)t;
        bits += bit_length(g->top[k]);
    }
    if (bits > 64)
        return 0;
    /* the first dimension in the highest bits: keys sort lexicographically */
    int shift = 0;
    for (int64_t k = d - 1; k >= 0; k--) {
        g->shift[k] = shift;
        g->mask[k] = (UINT64_C(1) << bit_length(g->top[k])) - 1;
        shift += bit_length(g->top[k]);
    }
    return 1;
}

/* The offsets of claim 2 as prefixes over the first d - 1 dimensions,
 * nearest first (by the squared length of the prefix offset), so that a
 * point counting its neighbours up to min_samples meets the likeliest ones
 * early. */
static int grid_offsets(grid *g, rlcc__budget *budget)
{
    const int64_t d = g->d, prefix_dims = d - 1;
    const int64_t reach = 1 + isqrt(d), width = 2 * reach + 1;
    int64_t all = 1;
    for (int64_t k = 0; k < prefix_dims; k++)
        all *= width;
    int err;
    g->prefix = rlcc__alloc(budget, all * (prefix_dims > 0 ? prefix_dims : 1), sizeof(int8_t),
                            "grid offsets", &err);
    if (g->prefix == NULL)
        return err;
    g->last_reach = rlcc__alloc(budget, all, sizeof(int8_t), "grid offsets", &err);
    if (g->last_reach == NULL)
        return err;
    g->n_prefixes = 0;
    g->max_candidates = 0;
    for (int64_t length2 = 0; length2 <= prefix_dims * reach * reach; length2++)
        for (int64_t j = 0; j < all; j++) {
            int8_t offset[RLCC_DBSCAN_GRID_MAX_DIM];
            int64_t rest = j, sum = 0, this_length2 = 0;
            for (int64_t k = prefix_dims - 1; k >= 0; k--) {
                offset[k] = (int8_t)(rest % width - reach);
                rest /= width;
                const int64_t m = offset[k] < 0 ? -offset[k] - 1 : offset[k] - 1;
                sum += m > 0 ? m * m : 0;
                this_length2 += offset[k] * offset[k];
            }
            if (sum > d || this_length2 != length2)
                continue;
            const int64_t last = 1 + isqrt(d - sum);
            memcpy(g->prefix + g->n_prefixes * prefix_dims, offset, (size_t)prefix_dims);
            g->last_reach[g->n_prefixes] = (int8_t)last;
            g->n_prefixes++;
            g->max_candidates += 2 * last + 1;
        }
    return RLCC_OK;
}

/* ---- building: keys, the sort, cells and their boxes ------------------- */

/* Sorts n (key, row) pairs by the low `bits` bits of key, stably, 8 bits a
 * pass; the tmp arrays are scratch and the result ends in key/row. */
static void radix_sort(uint64_t *key, int32_t *rows, uint64_t *key_tmp, int32_t *rows_tmp,
                       int64_t n, int bits)
{
    uint64_t *from_key = key, *to_key = key_tmp;
    int32_t *from_row = rows, *to_row = rows_tmp;
    for (int shift = 0; shift < bits; shift += 8) {
        int64_t bucket[257] = {0};
        for (int64_t i = 0; i < n; i++)
            bucket[((from_key[i] >> shift) & 255) + 1]++;
        for (int b = 1; b <= 256; b++)
            bucket[b] += bucket[b - 1];
        for (int64_t i = 0; i < n; i++) {
            const int64_t at = bucket[(from_key[i] >> shift) & 255]++;
            to_key[at] = from_key[i];
            to_row[at] = from_row[i];
        }
        uint64_t *swap_key = from_key;
        from_key = to_key;
        to_key = swap_key;
        int32_t *swap_row = from_row;
        from_row = to_row;
        to_row = swap_row;
    }
    if (from_key != key) {
        memcpy(key, from_key, sizeof *key * (size_t)n);
        memcpy(rows, from_row, sizeof *rows * (size_t)n);
    }
}

/* Sorts the points into cells: fills pts, order, n_cells, start, key and
 * box. */
static int build_cells(const float *x, int64_t ldx, const float *origin, double inv_side,
                       int n_threads, rlcc__budget *budget, grid *g)
{
    const int64_t n = g->n, d = g->d;
    int bits = 0;
    for (int64_t k = 0; k < d; k++)
        bits += bit_length(g->top[k]);
    int err;
    uint64_t *key = rlcc__alloc(budget, n, sizeof *key, "grid keys", &err);
    uint64_t *key_tmp = key ? rlcc__alloc(budget, n, sizeof *key_tmp, "grid keys", &err) : NULL;
    int32_t *rows_tmp = key_tmp ? rlcc__alloc(budget, n, sizeof *rows_tmp, "grid sort", &err)
                                : NULL;
    g->order = rows_tmp ? rlcc__alloc(budget, n, sizeof *g->order, "grid order", &err) : NULL;
    if (g->order != NULL) {
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            uint64_t packed = 0;
            for (int64_t k = 0; k < d; k++)
                packed |= (uint64_t)cell_coordinate(x[i * ldx + k], origin[k], inv_side)
                          << g->shift[k];
            key[i] = packed;
            g->order[i] = (int32_t)i;
        }
        radix_sort(key, g->order, key_tmp, rows_tmp, n, bits);
    }
    rlcc__free(budget, rows_tmp, n, sizeof *rows_tmp);
    rlcc__free(budget, key_tmp, n, sizeof *key_tmp);
    if (g->order == NULL) {
        rlcc__free(budget, key, n, sizeof *key);
        return err;
    }

    g->n_cells = n > 0;
    for (int64_t i = 1; i < n; i++)
        g->n_cells += key[i] != key[i - 1];
    g->pts = rlcc__alloc(budget, n * d, sizeof *g->pts, "grid points", &err);
    g->start = g->pts ? rlcc__alloc(budget, g->n_cells + 1, sizeof *g->start, "grid cells", &err)
                      : NULL;
    g->key = g->start ? rlcc__alloc(budget, g->n_cells, sizeof *g->key, "grid cells", &err)
                      : NULL;
    g->box = g->key ? rlcc__alloc(budget, g->n_cells * 2 * d, sizeof *g->box, "grid boxes", &err)
                    : NULL;
    if (g->box == NULL) {
        rlcc__free(budget, key, n, sizeof *key);
        return err;
    }
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || key[i] != key[i - 1]) {
            g->start[c] = (int32_t)i;
            g->key[c++] = key[i];
        }
    g->start[g->n_cells] = (int32_t)n;
    rlcc__free(budget, key, n, sizeof *key);

#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
    for (int64_t p = 0; p < n; p++)
        memcpy(g->pts + p * d, x + (int64_t)g->order[p] * ldx, sizeof(float) * (size_t)d);
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
    for (int64_t cell = 0; cell < g->n_cells; cell++) {
        float *lo = g->box + cell * 2 * d, *hi = lo + d;
        memcpy(lo, row(g, g->start[cell]), sizeof(float) * (size_t)d);
        memcpy(hi, lo, sizeof(float) * (size_t)d);
        for (int64_t p = g->start[cell] + 1; p < g->start[cell + 1]; p++)
            for (int64_t k = 0; k < d; k++) {
                const float v = row(g, p)[k];
                lo[k] = v < lo[k] ? v : lo[k];
                hi[k] = v > hi[k] ? v : hi[k];
            }
    }
    return RLCC_OK;
}

/* Claim 1, checked: every cell's points are within eps of each other. */
static int cells_are_within_eps(const grid *g)
{
    for (int64_t c = 0; c < g->n_cells; c++)
        if (!(rlcc__boxes_max_sqdist(cell_lo(g, c), cell_hi(g, c), cell_lo(g, c), cell_hi(g, c),
                                     g->d) <= g->eps2))
            return 0;
    return 1;
}

static void free_grid(grid *g, rlcc__budget *budget)
{
    const int64_t d = g->d, prefix_dims = d > 1 ? d - 1 : 1;
    int64_t all = 1;
    for (int64_t k = 0; k < d - 1; k++)
        all *= 2 * (1 + isqrt(d)) + 1;
    rlcc__free(budget, g->prefix, all * prefix_dims, sizeof(int8_t));
    rlcc__free(budget, g->last_reach, all, sizeof(int8_t));
    rlcc__free(budget, g->box, g->n_cells * 2 * d, sizeof *g->box);
    rlcc__free(budget, g->key, g->n_cells, sizeof *g->key);
    rlcc__free(budget, g->start, g->n_cells + 1, sizeof *g->start);
    rlcc__free(budget, g->pts, g->n * d, sizeof *g->pts);
    rlcc__free(budget, g->order, g->n, sizeof *g->order);
}

/* ---- neighbouring cells -------------------------------------------------- */

/* The first cell whose key is >= target, searching forward from *cursor
 * (where the previous search for a smaller or equal target ended) by
 * doubling steps; a target below that falls back to the whole range.
 * Leaves the answer in *cursor. */
static int64_t seek_key(const grid *g, int64_t *cursor, uint64_t target)
{
    int64_t lo = *cursor; /* every cell before lo has a key < target */
    if (lo > 0 && g->key[lo - 1] >= target)
        lo = 0;
    int64_t hi = lo, step = 1; /* hi == n_cells or key[hi] >= target */
    while (hi < g->n_cells && g->key[hi] < target) {
        lo = hi + 1;
        hi += step;
        step *= 2;
        if (hi > g->n_cells)
            hi = g->n_cells;
    }
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (g->key[mid] < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    *cursor = lo;
    return lo;
}

/* Every cell that can hold a neighbour of a point of cell a by claim 2 (a
 * included), nearest prefixes first, into search.cells; with only_after,
 * just the cells after a. Returns their number. The offsets alone decide:
 * callers test the boxes of the cells they actually need, which is cheaper
 * than testing every cell here (most point counts stop early). */
static int64_t neighbour_cells(const grid *g, int64_t a, int only_after, cell_search search)
{
    const int64_t d = g->d, last = d - 1;
    int64_t coord[RLCC_DBSCAN_GRID_MAX_DIM];
    for (int64_t k = 0; k < d; k++)
        coord[k] = (int64_t)((g->key[a] >> g->shift[k]) & g->mask[k]);
    int64_t count = 0;
    for (int64_t j = 0; j < g->n_prefixes; j++) {
        const int8_t *offset = g->prefix + j * last;
        uint64_t base = 0;
        int inside = 1, sign = 0; /* sign: of the first non-zero offset */
        for (int64_t k = 0; k < last && inside; k++) {
            const int64_t c = coord[k] + offset[k];
            inside = c >= 0 && c <= g->top[k];
            base |= inside ? (uint64_t)c << g->shift[k] : 0;
            sign = sign != 0 ? sign : offset[k];
        }
        if (!inside || (only_after && sign < 0))
            continue; /* outside the grid, or (keys are lexicographic) all before a */
        const int64_t reach = g->last_reach[j];
        int64_t from = coord[last] - reach > 0 ? coord[last] - reach : 0;
        if (only_after && sign == 0)
            from = coord[last] + 1;
        const int64_t to = coord[last] + reach < g->top[last] ? coord[last] + reach : g->top[last];
        if (from > to)
            continue;
        const uint64_t end_key = base | (uint64_t)to;
        for (int64_t b = seek_key(g, &search.cursor[j], base | (uint64_t)from);
             b < g->n_cells && g->key[b] <= end_key; b++)
            search.cells[count++] = (int32_t)b;
    }
    return count;
}

/* Neighbours of point p among cell b's points, counting up to limit. */
static int64_t count_in_cell(const grid *g, int64_t p, int64_t b, int64_t limit)
{
    const float *xp = row(g, p);
    if (rlcc__box_max_sqdist(xp, cell_lo(g, b), cell_hi(g, b), g->d) <= g->eps2)
        return cell_size(g, b);
    if (rlcc__box_min_sqdist(xp, cell_lo(g, b), cell_hi(g, b), g->d) > g->eps2)
        return 0;
    int64_t count = 0;
    for (int64_t q = g->start[b]; q < g->start[b + 1] && count < limit; q++)
        count += rlcc__within_eps(xp, row(g, q), g->d, g->eps2);
    return count;
}

/* ---- the DBSCAN steps ---------------------------------------------------- */

/* Core flags in cell order (step 2). */
static void find_core_points(const grid *g, int64_t min_samples, int n_threads,
                             cell_search all, uint8_t *core)
{
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 16)
    for (int64_t a = 0; a < g->n_cells; a++) {
        const int64_t size = cell_size(g, a);
        if (size >= min_samples) {
            memset(core + g->start[a], 1, (size_t)size);
            continue;
        }
        const cell_search search = this_thread(g, all);
        const int32_t *cand = search.cells;
        const int64_t n_cand = neighbour_cells(g, a, 0, search);
        for (int64_t p = g->start[a]; p < g->start[a + 1]; p++) {
            int64_t count = size; /* its own cell, claim 1 */
            for (int64_t c = 0; c < n_cand && count < min_samples; c++)
                if (cand[c] != a)
                    count += count_in_cell(g, p, cand[c], min_samples - count);
            core[p] = count >= min_samples;
        }
    }
}

/* Does a core point of cell a have a core neighbour in cell b? */
static int cells_touch(const grid *g, const uint8_t *core, const int32_t *first_core,
                       int64_t a, int64_t b)
{
    const int64_t d = g->d;
    const float *a_lo = cell_lo(g, a), *a_hi = cell_hi(g, a);
    const float *b_lo = cell_lo(g, b), *b_hi = cell_hi(g, b);
    if (rlcc__boxes_min_sqdist(a_lo, a_hi, b_lo, b_hi, d) > g->eps2)
        return 0; /* no point of a is a neighbour of a point of b */
    if (rlcc__boxes_max_sqdist(a_lo, a_hi, b_lo, b_hi, d) <= g->eps2)
        return 1; /* every point of a is a neighbour of every point of b */
    for (int64_t p = first_core[a]; p < g->start[a + 1]; p++) {
        if (!core[p] ||
            rlcc__box_min_sqdist(row(g, p), cell_lo(g, b), cell_hi(g, b), d) > g->eps2)
            continue;
        for (int64_t q = first_core[b]; q < g->start[b + 1]; q++)
            if (core[q] && rlcc__within_eps(row(g, p), row(g, q), d, g->eps2))
                return 1;
    }
    return 0;
}

/* Step 3: cells with core points that touch end in one set. */
static void join_core_cells(const grid *g, const uint8_t *core, const int32_t *first_core,
                            rlcc__uf_node *parent, int n_threads, cell_search all)
{
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 16)
    for (int64_t a = 0; a < g->n_cells; a++) {
        if (first_core[a] < 0)
            continue;
        const cell_search search = this_thread(g, all);
        const int32_t *cand = search.cells;
        const int64_t n_cand = neighbour_cells(g, a, 1, search);
        for (int64_t c = 0; c < n_cand; c++) {
            const int32_t b = cand[c];
            if (first_core[b] < 0 ||
                rlcc__uf_find(parent, (int32_t)a) == rlcc__uf_find(parent, b))
                continue;
            if (cells_touch(g, core, first_core, a, b))
                rlcc__uf_union(parent, (int32_t)a, b);
        }
    }
}

/* The cluster of non-core point p of cell a: the smallest among the cells
 * holding a core neighbour (each such cell's core points share one
 * cluster, by claim 1), or -1. */
static int32_t border_label(const grid *g, const uint8_t *core, const int32_t *first_core,
                            const int32_t *cell_cluster, int64_t p, int64_t a,
                            const int32_t *cand, int64_t n_cand)
{
    const int64_t d = g->d;
    const float *xp = row(g, p);
    int32_t best = first_core[a] >= 0 ? cell_cluster[a] : INT32_MAX;
    for (int64_t c = 0; c < n_cand && best > 0; c++) {
        const int32_t b = cand[c];
        if (first_core[b] < 0 || cell_cluster[b] >= best ||
            rlcc__box_min_sqdist(xp, cell_lo(g, b), cell_hi(g, b), d) > g->eps2)
            continue;
        int near = rlcc__box_max_sqdist(xp, cell_lo(g, b), cell_hi(g, b), d) <= g->eps2;
        for (int64_t q = first_core[b]; q < g->start[b + 1] && !near; q++)
            near = core[q] && rlcc__within_eps(xp, row(g, q), d, g->eps2);
        if (near)
            best = cell_cluster[b];
    }
    return best == INT32_MAX ? -1 : best;
}

/* Step 4's last part: every point's label, in the caller's order. */
static void label_points(const grid *g, const uint8_t *core, const int32_t *first_core,
                         const int32_t *cell_cluster, int n_threads, cell_search all,
                         int32_t *labels)
{
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 16)
    for (int64_t a = 0; a < g->n_cells; a++) {
        int64_t n_cand = -1; /* computed once, for the first border point */
        const cell_search search = this_thread(g, all);
        for (int64_t p = g->start[a]; p < g->start[a + 1]; p++) {
            if (core[p]) {
                labels[g->order[p]] = cell_cluster[a];
                continue;
            }
            if (n_cand < 0)
                n_cand = neighbour_cells(g, a, 0, search);
            labels[g->order[p]] =
                border_label(g, core, first_core, cell_cluster, p, a, search.cells, n_cand);
        }
    }
}

/* Every directed neighbour entry, self entries included, as the brute
 * path's graph holds them: O(pairs) time, nothing stored. */
static int64_t count_neighbor_pairs(const grid *g, int n_threads, cell_search all)
{
    int64_t total = 0;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 16) \
    reduction(+ : total)
    for (int64_t a = 0; a < g->n_cells; a++) {
        const int64_t size = cell_size(g, a);
        const cell_search search = this_thread(g, all);
        const int32_t *cand = search.cells;
        const int64_t n_cand = neighbour_cells(g, a, 0, search);
        total += size * size; /* claim 1 */
        for (int64_t c = 0; c < n_cand; c++) {
            const int32_t b = cand[c];
            if (b == a || rlcc__boxes_min_sqdist(cell_lo(g, a), cell_hi(g, a), cell_lo(g, b),
                                                 cell_hi(g, b), g->d) > g->eps2)
                continue;
            if (rlcc__boxes_max_sqdist(cell_lo(g, a), cell_hi(g, a), cell_lo(g, b),
                                       cell_hi(g, b), g->d) <= g->eps2) {
                total += size * cell_size(g, b);
                continue;
            }
            for (int64_t p = g->start[a]; p < g->start[a + 1]; p++)
                total += count_in_cell(g, p, b, INT64_MAX);
        }
    }
    return total;
}

/* Steps 2 to 4 on a built grid. */
static int cluster_grid(const grid *g, int64_t min_samples, int n_threads, rlcc__budget *budget,
                        int32_t *labels, uint8_t *core, int64_t *n_clusters,
                        int64_t *n_neighbor_pairs)
{
    const int64_t n = g->n, n_cells = g->n_cells;
    int err;
    cell_search all = {0};
    all.cells = rlcc__alloc(budget, n_threads * g->max_candidates, sizeof *all.cells,
                            "grid candidates", &err);
    all.cursor = all.cells ? rlcc__calloc(budget, n_threads * g->n_prefixes, sizeof *all.cursor,
                                          "grid cursors", &err)
                           : NULL;
    uint8_t *core_sorted = all.cursor ? rlcc__alloc(budget, n, 1, "core flags", &err) : NULL;
    int32_t *first_core =
        core_sorted ? rlcc__alloc(budget, n_cells, sizeof *first_core, "grid cells", &err) : NULL;
    rlcc__uf_node *parent =
        first_core ? rlcc__alloc(budget, n_cells, sizeof *parent, "union-find", &err) : NULL;
    int32_t *cell_cluster =
        parent ? rlcc__alloc(budget, n_cells, sizeof *cell_cluster, "grid cells", &err) : NULL;
    if (cell_cluster != NULL) {
        if (min_samples > n)
            memset(core_sorted, 0, (size_t)n); /* nobody has that many neighbours */
        else
            find_core_points(g, min_samples, n_threads, all, core_sorted);
        for (int64_t c = 0; c < n_cells; c++) {
            int64_t p = g->start[c];
            while (p < g->start[c + 1] && !core_sorted[p])
                p++;
            first_core[c] = p < g->start[c + 1] ? (int32_t)p : -1;
            atomic_init(&parent[c], (int32_t)c);
        }
        join_core_cells(g, core_sorted, first_core, parent, n_threads, all);
        /* A cell's core points are numbered through its first one, whose
         * caller index is the smallest among them (the sort is stable). */
        for (int64_t c = 0; c < n_cells; c++)
            cell_cluster[c] = first_core[c] >= 0 ? g->order[first_core[c]] : -1;
        *n_clusters = rlcc__uf_number_clusters(parent, n_cells, cell_cluster, n, labels);
        label_points(g, core_sorted, first_core, cell_cluster, n_threads, all, labels);
        if (core != NULL)
            for (int64_t p = 0; p < n; p++)
                core[g->order[p]] = core_sorted[p];
        if (n_neighbor_pairs != NULL)
            *n_neighbor_pairs = count_neighbor_pairs(g, n_threads, all);
        err = RLCC_OK;
    }
    rlcc__free(budget, cell_cluster, n_cells, sizeof *cell_cluster);
    rlcc__free(budget, parent, n_cells, sizeof *parent);
    rlcc__free(budget, first_core, n_cells, sizeof *first_core);
    rlcc__free(budget, core_sorted, n, 1);
    rlcc__free(budget, all.cursor, n_threads * g->n_prefixes, sizeof *all.cursor);
    rlcc__free(budget, all.cells, n_threads * g->max_candidates, sizeof *all.cells);
    return err;
}

int rlcc__dbscan_grid(const float *x, int64_t n, int64_t d, int64_t ldx, double eps,
                      int64_t min_samples, int n_threads, rlcc__budget *budget, int32_t *labels,
                      uint8_t *core, int64_t *n_clusters, int64_t *n_neighbor_pairs)
{
    grid g = {.n = n, .d = d};
    float origin[RLCC_DBSCAN_GRID_MAX_DIM];
    double inv_side;
    if (!plan_grid(x, n, d, ldx, eps, &g, origin, &inv_side))
        return rlcc__dbscan_tree(x, n, d, ldx, eps, min_samples, n_threads, 0.0, budget,
                                 labels, core, n_clusters, n_neighbor_pairs, NULL);
    int err = grid_offsets(&g, budget);
    if (err == RLCC_OK)
        err = build_cells(x, ldx, origin, inv_side, n_threads, budget, &g);
    if (err == RLCC_OK && !cells_are_within_eps(&g)) {
        /* cannot happen (claim 1); if it ever did, the tree is exact */
        free_grid(&g, budget);
        return rlcc__dbscan_tree(x, n, d, ldx, eps, min_samples, n_threads, 0.0, budget,
                                 labels, core, n_clusters, n_neighbor_pairs, NULL);
    }
    if (err == RLCC_OK)
        err = cluster_grid(&g, min_samples, n_threads, budget, labels, core, n_clusters,
                           n_neighbor_pairs);
    free_grid(&g, budget);
    return err;
}
