/*
 * unionfind.c - scikit-learn's cluster numbering over the sets of a
 * union-find (unionfind.h), for the grid and tree DBSCAN paths.
 */
#include "internal.h"
#include "unionfind.h"

int64_t rlcc__uf_number_clusters(rlcc__uf_node *parent, int64_t n_units, int32_t *unit_first,
                                 int64_t n, int32_t *scratch)
{
    /* 1. Each root learns the smallest caller index of its set's core
     *    points. A root is the smallest unit of its set, so it comes before
     *    every other unit of the set and still holds its own value when
     *    they fold theirs into it. */
    for (int64_t u = 0; u < n_units; u++) {
        if (unit_first[u] < 0)
            continue;
        const int32_t root = rlcc__uf_find(parent, (int32_t)u);
        if (root != u && unit_first[u] < unit_first[root])
            unit_first[root] = unit_first[u];
    }
    /* 2. Mark each set at its lowest-index core point. */
    for (int64_t i = 0; i < n; i++)
        scratch[i] = -1;
    for (int64_t u = 0; u < n_units; u++)
        if (unit_first[u] >= 0 && rlcc__uf_find(parent, (int32_t)u) == u)
            scratch[unit_first[u]] = (int32_t)u;
    /* 3. Number the sets in the order of those points: scikit-learn starts
     *    cluster c at the c-th core point (by index) not yet labelled, and
     *    that is the lowest-index core point of a set not yet numbered. */
    int32_t next = 0;
    for (int64_t i = 0; i < n; i++)
        if (scratch[i] >= 0)
            unit_first[scratch[i]] = next++;
    /* 4. Every other unit takes its root's number; roots come first. */
    for (int64_t u = 0; u < n_units; u++) {
        if (unit_first[u] < 0)
            continue;
        const int32_t root = rlcc__uf_find(parent, (int32_t)u);
        if (root != u)
            unit_first[u] = unit_first[root];
    }
    return next;
}
