/*
 * graph.c - the neighbour graph every DBSCAN input is reduced to.
 *
 * CSR with int64 row pointers and int32 columns (n <= INT32_MAX), grown
 * geometrically through the call's memory budget as row blocks arrive.
 */
#include "internal.h"

int rlcc__graph_init(rlcc__graph *g, int64_t n, rlcc__budget *budget)
{
    int err;
    g->n = n;
    g->rows = 0;
    g->capacity = 0;
    g->indices = NULL;
    g->indptr = rlcc__alloc(budget, n + 1, sizeof *g->indptr, "neighbour graph rows", &err);
    if (g->indptr == NULL)
        return err;
    g->indptr[0] = 0;
    /* Start with room for one entry per row (at least one), so indices is
     * never NULL, even for a graph without a single pair. */
    err = rlcc__graph_reserve(g, n > 0 ? n : 1, budget);
    if (err != RLCC_OK)
        rlcc__graph_free(g, budget);
    return err;
}

int rlcc__graph_reserve(rlcc__graph *g, int64_t extra, rlcc__budget *budget)
{
    int64_t used = g->indptr[g->rows];
    if (extra <= g->capacity - used)
        return RLCC_OK;
    int64_t need = used + extra;
    /* Grow by half again, but never ask for more than the budget allows
     * when the exact need would still fit. */
    int64_t grown = g->capacity + g->capacity / 2;
    int64_t room = (budget->limit - budget->used) / (int64_t)sizeof *g->indices + g->capacity;
    int64_t want = grown > need ? grown : need;
    if (want > room && need <= room)
        want = room;
    int err;
    int32_t *p = rlcc__realloc(budget, g->indices, g->capacity, want, sizeof *g->indices,
                               "neighbour pairs", &err);
    if (p == NULL)
        return err;
    g->indices = p;
    g->capacity = want;
    return RLCC_OK;
}

void rlcc__graph_free(rlcc__graph *g, rlcc__budget *budget)
{
    rlcc__free(budget, g->indices, g->capacity, sizeof *g->indices);
    rlcc__free(budget, g->indptr, g->n + 1, sizeof *g->indptr);
    g->indices = NULL;
    g->indptr = NULL;
}
