/*
 * unionfind.h - a union-find that threads may share, for the grid and tree
 * DBSCAN paths (grid.c, kdtree.c).
 *
 * Nodes are int32 indices; parent[i] == i marks a root. A union links the
 * larger root under the smaller with one compare-and-swap, which succeeds
 * only while the larger is still a root, and retries otherwise; find halves
 * paths with compare-and-swaps that only ever point a node at one of its
 * own ancestors. Each thread may call both at any time: the sets that come
 * out are the connected components of the unions asked for, whatever the
 * interleaving, and the root of a set is its smallest node. So the result
 * does not depend on the number of threads or on their timing.
 */
#ifndef RLCC_UNIONFIND_H
#define RLCC_UNIONFIND_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic int32_t rlcc__uf_node;

static inline int32_t rlcc__uf_find(rlcc__uf_node *parent, int32_t x)
{
    for (;;) {
        int32_t p = atomic_load_explicit(&parent[x], memory_order_relaxed);
        if (p == x)
            return x;
        int32_t grandparent = atomic_load_explicit(&parent[p], memory_order_relaxed);
        if (grandparent == p)
            return p;
        /* path halving: x skips to its grandparent, if nobody moved it */
        atomic_compare_exchange_weak_explicit(&parent[x], &p, grandparent,
                                              memory_order_relaxed, memory_order_relaxed);
        x = grandparent;
    }
}

/* Joins the sets of a and b. */
static inline void rlcc__uf_union(rlcc__uf_node *parent, int32_t a, int32_t b)
{
    for (;;) {
        a = rlcc__uf_find(parent, a);
        b = rlcc__uf_find(parent, b);
        if (a == b)
            return;
        int32_t low = a < b ? a : b, high = a < b ? b : a;
        int32_t expected = high;
        if (atomic_compare_exchange_strong_explicit(&parent[high], &expected, low,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed))
            return;
        /* high stopped being a root meanwhile: find the roots again */
    }
}

/* Numbers the sets of n_units units as scikit-learn numbers clusters.
 * unit_first[u] is the smallest caller index (in [0, n)) of a core point in
 * unit u, or -1 when u holds none; units that hold core points and were
 * joined form one cluster. Clusters are numbered 0, 1, ... in the order of
 * their lowest-index core point; on return unit_first[u] is u's cluster
 * (-1 stays -1). scratch: n int32. Returns the number of clusters.
 * Sequential; call it after the unions are done. */
int64_t rlcc__uf_number_clusters(rlcc__uf_node *parent, int64_t n_units, int32_t *unit_first,
                                 int64_t n, int32_t *scratch);

#endif
