/*
 * kdtree.c - exact DBSCAN for euclidean features of moderate dimension, on
 * a kd-tree.
 *
 *   1. The points are split recursively at the median of the widest side of
 *      their region (ties broken by index, so the tree is the same on every
 *      run), down to leaves of at most LEAF_SIZE points, and copied in tree
 *      order, so every node is a contiguous run of rows. Each node keeps the
 *      smallest box around its points.
 *   2. Each point counts its neighbours, stopping at min_samples: a node
 *      whose box is within eps of the point counts whole, a node whose box
 *      is farther than eps is skipped, a leaf in between is scanned.
 *   3. Each core point is joined in a union-find with every core neighbour
 *      that comes after it in tree order (each pair once); a pair already in
 *      one set is not computed.
 *   4. The sets are numbered as scikit-learn numbers clusters (unionfind.c);
 *      a border point takes the smallest cluster among its core neighbours,
 *      skipping any node whose smallest cluster cannot improve on the one
 *      found so far; the rest is noise.
 *
 * Every neighbour decision is rlcc__squared_distance(p, q) <= eps^2, as on
 * the brute path, and the box tests that skip or count whole nodes are
 * exact bounds on that very computation (distance.h), so the tree changes
 * how much is computed, never what is decided. From d = 8 (SCREEN_MIN_DIM)
 * pairs and boxes are screened in float32 first, with a proven bound; only
 * what the bound cannot settle is computed in double (distance.h).
 *
 * For RLCC_DBSCAN_AUTO the tree can first probe itself: the neighbour
 * counts of 256 fixed rows tell how much of the data a query must examine
 * one by one, and a tree that would examine most of it (unstructured data
 * in high d, where a kd-tree does brute's work at a higher cost per pair)
 * declines before writing anything (rlcc__dbscan_tree's max_share).
 *
 * Memory is O(n d): the sorted copy, a few int32 per point and at most
 * n / 8 nodes with a box each; the traversals use a fixed stack (the depth
 * is at most 32).
 */
#include <string.h>

#include "distance.h"
#include "internal.h"
#include "unionfind.h"

#define LEAF_SIZE 32
#define STACK_SIZE 128 /* > 2 x the depth: a halving tree of < 2^31 points */

typedef struct kd_node {
    int32_t begin, end; /* rows of pts */
    int32_t left, right; /* children, -1 in a leaf */
} kd_node;

/* From this dimension on, pairs are screened in float32 first (distance.h):
 * the double sum's one dependent addition per coordinate is the cost. */
#define SCREEN_MIN_DIM 8

typedef struct kd_tree {
    int64_t n, d;
    double eps2;        /* eps * eps in double: the decision's bound */
    rlcc__eps_screen screen; /* the same decision, screened in float32 */
    float *pts;         /* n x d: the caller's rows in tree order */
    int32_t *order;     /* n: row of pts -> caller's row */
    kd_node *node;      /* preorder: children come after their parent */
    float *box;         /* n_nodes x 2d: lo[d] then hi[d] of the node's points */
    int64_t n_nodes, capacity;
} kd_tree;

static inline const float *row(const kd_tree *t, int64_t p)
{
    return t->pts + p * t->d;
}
static inline const float *node_lo(const kd_tree *t, int64_t v)
{
    return t->box + v * 2 * t->d;
}
static inline const float *node_hi(const kd_tree *t, int64_t v)
{
    return t->box + v * 2 * t->d + t->d;
}

/* The decision for rows a and b: rlcc__squared_distance() <= eps^2. */
static inline int is_neighbour(const kd_tree *t, const float *a, const float *b)
{
    return t->d >= SCREEN_MIN_DIM ? rlcc__within_eps_screened(a, b, t->d, &t->screen)
                                  : rlcc__within_eps(a, b, t->d, t->eps2);
}

/* Node v is proven to hold no neighbour of p (1), or may hold one (0). */
static inline int node_beyond(const kd_tree *t, const float *p, int64_t v)
{
    return t->d >= SCREEN_MIN_DIM
               ? rlcc__box_surely_beyond(p, node_lo(t, v), node_hi(t, v), t->d, &t->screen)
               : rlcc__box_beyond_eps(p, node_lo(t, v), node_hi(t, v), t->d, t->eps2);
}

/* Every point of node v is proven a neighbour of p (1), or may not be (0). */
static inline int node_within(const kd_tree *t, const float *p, int64_t v)
{
    return t->d >= SCREEN_MIN_DIM
               ? rlcc__box_surely_within(p, node_lo(t, v), node_hi(t, v), t->d, &t->screen)
               : rlcc__box_within_eps(p, node_lo(t, v), node_hi(t, v), t->d, t->eps2);
}

/* ---- building ------------------------------------------------------------ */

/* Orders rows a, b of x by coordinate k, then by index. */
static inline int comes_before(const float *x, int64_t ldx, int64_t k, int32_t a, int32_t b)
{
    const float va = x[a * ldx + k], vb = x[b * ldx + k];
    return va < vb || (va == vb && a < b);
}

static inline void swap_rows(int32_t *idx, int64_t i, int64_t j)
{
    const int32_t tmp = idx[i];
    idx[i] = idx[j];
    idx[j] = tmp;
}

/* Rearranges idx[lo, hi) so that idx[nth] is the row that sorting by
 * (coordinate k, index) would put there, with smaller ones before it and
 * larger ones after (quickselect, median-of-three pivot). */
static void select_nth(const float *x, int64_t ldx, int64_t k, int32_t *idx, int64_t lo,
                       int64_t hi, int64_t nth)
{
    while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2, last = hi - 1;
        /* the median of idx[lo], idx[mid], idx[last] goes to last */
        if (comes_before(x, ldx, k, idx[mid], idx[lo]))
            swap_rows(idx, mid, lo);
        if (comes_before(x, ldx, k, idx[last], idx[lo]))
            swap_rows(idx, last, lo);
        if (comes_before(x, ldx, k, idx[mid], idx[last]))
            swap_rows(idx, mid, last);
        const int32_t pivot = idx[last];
        int64_t store = lo;
        for (int64_t i = lo; i < last; i++)
            if (comes_before(x, ldx, k, idx[i], pivot))
                swap_rows(idx, i, store++);
        swap_rows(idx, store, last);
        if (nth == store)
            return;
        if (nth < store)
            hi = store;
        else
            lo = store + 1;
    }
}

/* Builds the subtree of rows order[begin, end) whose region is
 * [lo, hi] (the parent's region cut at its split), returning its node. */
static int32_t build_node(kd_tree *t, const float *x, int64_t ldx, int64_t begin, int64_t end,
                          double *lo, double *hi)
{
    const int64_t d = t->d;
    const int32_t id = (int32_t)t->n_nodes++;
    t->node[id] = (kd_node){(int32_t)begin, (int32_t)end, -1, -1};
    if (end - begin <= LEAF_SIZE)
        return id;
    int64_t split = 0;
    for (int64_t k = 1; k < d; k++)
        if (hi[k] - lo[k] > hi[split] - lo[split])
            split = k;
    const int64_t mid = begin + (end - begin) / 2;
    select_nth(x, ldx, split, t->order, begin, end, mid);
    const double at = x[(int64_t)t->order[mid] * ldx + split];
    const double saved_lo = lo[split], saved_hi = hi[split];
    hi[split] = at;
    const int32_t left = build_node(t, x, ldx, begin, mid, lo, hi);
    hi[split] = saved_hi;
    lo[split] = at;
    const int32_t right = build_node(t, x, ldx, mid, end, lo, hi);
    lo[split] = saved_lo;
    t->node[id].left = left;
    t->node[id].right = right;
    return id;
}

/* Tight boxes: leaves from their rows, inner nodes from their children
 * (which come after them in preorder). */
static void compute_boxes(kd_tree *t)
{
    const int64_t d = t->d;
    for (int64_t v = t->n_nodes - 1; v >= 0; v--) {
        float *lo = t->box + v * 2 * d, *hi = lo + d;
        const kd_node *nd = &t->node[v];
        if (nd->left < 0) {
            memcpy(lo, row(t, nd->begin), sizeof(float) * (size_t)d);
            memcpy(hi, lo, sizeof(float) * (size_t)d);
            for (int64_t p = nd->begin + 1; p < nd->end; p++)
                for (int64_t k = 0; k < d; k++) {
                    const float value = row(t, p)[k];
                    lo[k] = value < lo[k] ? value : lo[k];
                    hi[k] = value > hi[k] ? value : hi[k];
                }
            continue;
        }
        const float *a_lo = node_lo(t, nd->left), *a_hi = node_hi(t, nd->left);
        const float *b_lo = node_lo(t, nd->right), *b_hi = node_hi(t, nd->right);
        for (int64_t k = 0; k < d; k++) {
            lo[k] = a_lo[k] < b_lo[k] ? a_lo[k] : b_lo[k];
            hi[k] = a_hi[k] > b_hi[k] ? a_hi[k] : b_hi[k];
        }
    }
}

static void free_tree(kd_tree *t, rlcc__budget *budget)
{
    rlcc__free(budget, t->box, t->capacity * 2 * t->d, sizeof *t->box);
    rlcc__free(budget, t->node, t->capacity, sizeof *t->node);
    rlcc__free(budget, t->pts, t->n * t->d, sizeof *t->pts);
    rlcc__free(budget, t->order, t->n, sizeof *t->order);
}

static int build_tree(const float *x, int64_t ldx, int n_threads, rlcc__budget *budget,
                      kd_tree *t)
{
    const int64_t n = t->n, d = t->d;
    /* every leaf but a lone root holds more than LEAF_SIZE / 2 rows */
    t->capacity = 2 * (n / (LEAF_SIZE / 2) + 1);
    int err;
    t->order = rlcc__alloc(budget, n, sizeof *t->order, "tree order", &err);
    t->pts = t->order ? rlcc__alloc(budget, n * d, sizeof *t->pts, "tree points", &err) : NULL;
    t->node = t->pts ? rlcc__alloc(budget, t->capacity, sizeof *t->node, "tree nodes", &err)
                     : NULL;
    t->box = t->node ? rlcc__alloc(budget, t->capacity * 2 * d, sizeof *t->box, "tree boxes", &err)
                     : NULL;
    double *lo = t->box ? rlcc__alloc(budget, 2 * d, sizeof *lo, "tree region", &err) : NULL;
    if (lo == NULL)
        return err;
    double *hi = lo + d;
    for (int64_t k = 0; k < d; k++)
        lo[k] = hi[k] = x[k];
    for (int64_t i = 0; i < n; i++) {
        t->order[i] = (int32_t)i;
        for (int64_t k = 0; k < d; k++) {
            const double v = x[i * ldx + k];
            lo[k] = v < lo[k] ? v : lo[k];
            hi[k] = v > hi[k] ? v : hi[k];
        }
    }
    build_node(t, x, ldx, 0, n, lo, hi);
    rlcc__free(budget, lo, 2 * d, sizeof *lo);
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
    for (int64_t p = 0; p < n; p++)
        memcpy(t->pts + p * d, x + (int64_t)t->order[p] * ldx, sizeof(float) * (size_t)d);
    compute_boxes(t);
    return RLCC_OK;
}

/* ---- queries --------------------------------------------------------------- */

/* Neighbours of row p (itself included), counting up to limit. */
static int64_t count_neighbours(const kd_tree *t, int64_t p, int64_t limit)
{
    const float *xp = row(t, p);
    int32_t stack[STACK_SIZE];
    int top = 0;
    int64_t count = 0;
    stack[top++] = 0;
    while (top > 0 && count < limit) {
        const int32_t v = stack[--top];
        const kd_node *nd = &t->node[v];
        if (node_beyond(t, xp, v))
            continue;
        if (node_within(t, xp, v)) {
            count += nd->end - nd->begin;
        } else if (nd->left < 0) {
            for (int64_t q = nd->begin; q < nd->end; q++)
                count += is_neighbour(t, xp, row(t, q));
        } else {
            stack[top++] = nd->right;
            stack[top++] = nd->left;
        }
    }
    return count;
}

/* Joins core row p with each core neighbour after it in tree order. */
static void join_neighbours(const kd_tree *t, const uint8_t *core, const uint8_t *node_has_core,
                            rlcc__uf_node *parent, int64_t p)
{
    const float *xp = row(t, p);
    int32_t stack[STACK_SIZE];
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
        const int32_t v = stack[--top];
        const kd_node *nd = &t->node[v];
        if (nd->end <= p + 1 || !node_has_core[v] ||
            node_beyond(t, xp, v))
            continue;
        const int all_near = node_within(t, xp, v);
        if (!all_near && nd->left >= 0) {
            stack[top++] = nd->right;
            stack[top++] = nd->left;
            continue;
        }
        for (int64_t q = nd->begin > p + 1 ? nd->begin : p + 1; q < nd->end; q++)
            if (core[q] && rlcc__uf_find(parent, (int32_t)p) != rlcc__uf_find(parent, (int32_t)q) &&
                (all_near || is_neighbour(t, xp, row(t, q))))
                rlcc__uf_union(parent, (int32_t)p, (int32_t)q);
    }
}

/* The smallest cluster among the core neighbours of row p, or -1. */
static int32_t border_label(const kd_tree *t, const uint8_t *core, const int32_t *cluster,
                            const int32_t *node_min_cluster, int64_t p)
{
    const float *xp = row(t, p);
    int32_t stack[STACK_SIZE];
    int top = 0;
    int32_t best = INT32_MAX;
    stack[top++] = 0;
    while (top > 0) {
        const int32_t v = stack[--top];
        const kd_node *nd = &t->node[v];
        if (node_min_cluster[v] >= best ||
            node_beyond(t, xp, v))
            continue;
        if (node_within(t, xp, v)) {
            best = node_min_cluster[v]; /* every core point of v is a neighbour */
        } else if (nd->left < 0) {
            for (int64_t q = nd->begin; q < nd->end; q++)
                if (core[q] && cluster[q] < best &&
                    is_neighbour(t, xp, row(t, q)))
                    best = cluster[q];
        } else {
            stack[top++] = nd->right;
            stack[top++] = nd->left;
        }
    }
    return best == INT32_MAX ? -1 : best;
}

/* ---- the DBSCAN steps ---------------------------------------------------- */

/* Steps 2 to 4 on a built tree. */
static int cluster_tree(const kd_tree *t, int64_t min_samples, int n_threads,
                        rlcc__budget *budget, int32_t *labels, uint8_t *core,
                        int64_t *n_clusters, int64_t *n_neighbor_pairs)
{
    const int64_t n = t->n, n_nodes = t->n_nodes;
    int err;
    uint8_t *core_sorted = rlcc__alloc(budget, n, 1, "core flags", &err);
    uint8_t *node_has_core =
        core_sorted ? rlcc__alloc(budget, n_nodes, 1, "tree nodes", &err) : NULL;
    int32_t *node_min_cluster =
        node_has_core ? rlcc__alloc(budget, n_nodes, sizeof(int32_t), "tree nodes", &err) : NULL;
    rlcc__uf_node *parent =
        node_min_cluster ? rlcc__alloc(budget, n, sizeof *parent, "union-find", &err) : NULL;
    int32_t *cluster = parent ? rlcc__alloc(budget, n, sizeof *cluster, "clusters", &err) : NULL;
    if (cluster != NULL) {
        /* step 2 */
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 256)
        for (int64_t p = 0; p < n; p++)
            core_sorted[p] = min_samples <= n && count_neighbours(t, p, min_samples) >= min_samples;
        for (int64_t v = n_nodes - 1; v >= 0; v--) {
            const kd_node *nd = &t->node[v];
            if (nd->left >= 0) {
                node_has_core[v] = node_has_core[nd->left] | node_has_core[nd->right];
                continue;
            }
            node_has_core[v] = 0;
            for (int64_t p = nd->begin; p < nd->end; p++)
                node_has_core[v] |= core_sorted[p];
        }
        for (int64_t p = 0; p < n; p++)
            atomic_init(&parent[p], (int32_t)p);
        /* step 3 */
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 256)
        for (int64_t p = 0; p < n; p++)
            if (core_sorted[p])
                join_neighbours(t, core_sorted, node_has_core, parent, p);
        /* step 4: clusters of the core rows, then of the nodes */
        for (int64_t p = 0; p < n; p++)
            cluster[p] = core_sorted[p] ? t->order[p] : -1;
        *n_clusters = rlcc__uf_number_clusters(parent, n, cluster, n, labels);
        for (int64_t v = n_nodes - 1; v >= 0; v--) {
            const kd_node *nd = &t->node[v];
            int32_t smallest = INT32_MAX;
            if (nd->left >= 0) {
                const int32_t a = node_min_cluster[nd->left], b = node_min_cluster[nd->right];
                smallest = a < b ? a : b;
            } else {
                for (int64_t p = nd->begin; p < nd->end; p++)
                    if (core_sorted[p] && cluster[p] < smallest)
                        smallest = cluster[p];
            }
            node_min_cluster[v] = smallest;
        }
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 256)
        for (int64_t p = 0; p < n; p++)
            labels[t->order[p]] = core_sorted[p]
                                      ? cluster[p]
                                      : border_label(t, core_sorted, cluster, node_min_cluster, p);
        if (core != NULL)
            for (int64_t p = 0; p < n; p++)
                core[t->order[p]] = core_sorted[p];
        if (n_neighbor_pairs != NULL) {
            int64_t total = 0;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(dynamic, 256) \
    reduction(+ : total)
            for (int64_t p = 0; p < n; p++)
                total += count_neighbours(t, p, INT64_MAX);
            *n_neighbor_pairs = total;
        }
        err = RLCC_OK;
    }
    rlcc__free(budget, cluster, n, sizeof *cluster);
    rlcc__free(budget, parent, n, sizeof *parent);
    rlcc__free(budget, node_min_cluster, n_nodes, sizeof(int32_t));
    rlcc__free(budget, node_has_core, n_nodes, 1);
    rlcc__free(budget, core_sorted, n, 1);
    return err;
}

/* The rows a full neighbour count of row p examines one by one, stopping
 * once the count passes limit. */
static int64_t rows_examined(const kd_tree *t, int64_t p, int64_t limit)
{
    const float *xp = row(t, p);
    int32_t stack[STACK_SIZE];
    int top = 0;
    int64_t examined = 0;
    stack[top++] = 0;
    while (top > 0 && examined <= limit) {
        const int32_t v = stack[--top];
        const kd_node *nd = &t->node[v];
        if (node_beyond(t, xp, v) || node_within(t, xp, v))
            continue;
        if (nd->left < 0) {
            examined += nd->end - nd->begin;
        } else {
            stack[top++] = nd->right;
            stack[top++] = nd->left;
        }
    }
    return examined;
}

/* auto's probe: whether the neighbour counts of a fixed sample of rows
 * (256, spread evenly in tree order, so the answer is the same on every
 * run and thread count) examine at most max_share of the rows one by one.
 * Stops looking as soon as they cannot. */
static int tree_is_selective(const kd_tree *t, double max_share)
{
    const int64_t n = t->n, m = n < 256 ? n : 256;
    const int64_t allowed = (int64_t)(max_share * (double)n * (double)m);
    int64_t examined = 0;
    for (int64_t s = 0; s < m && examined <= allowed; s++)
        examined += rows_examined(t, s * n / m, allowed - examined);
    return examined <= allowed;
}

int rlcc__dbscan_tree(const float *x, int64_t n, int64_t d, int64_t ldx, double eps,
                      int64_t min_samples, int n_threads, double max_share,
                      rlcc__budget *budget, int32_t *labels, uint8_t *core, int64_t *n_clusters,
                      int64_t *n_neighbor_pairs, int *declined)
{
    kd_tree t = {.n = n, .d = d, .eps2 = eps * eps};
    t.screen = rlcc__make_eps_screen(t.eps2, d);
    int err = build_tree(x, ldx, n_threads, budget, &t);
    if (declined != NULL)
        *declined = 0;
    if (err == RLCC_OK && max_share > 0.0 && !tree_is_selective(&t, max_share)) {
        *declined = 1; /* the tree would do brute's work: nothing written */
        free_tree(&t, budget);
        return RLCC_OK;
    }
    if (err == RLCC_OK)
        err = cluster_tree(&t, min_samples, n_threads, budget, labels, core, n_clusters,
                           n_neighbor_pairs);
    free_tree(&t, budget);
    return err;
}
