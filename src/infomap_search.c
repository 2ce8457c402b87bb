/*
 * infomap_search.c - librlcc's own two-level Infomap search (spec:
 * later-methods.md section 2 step 5; the algorithm of mapequation/infomap
 * v1.3.0 src/core/InfomapBase.cpp and InfomapOptimizer.h, written anew).
 *
 * One trial (InfomapBase::partition):
 *   1. find_top: every active node in a module of its own, then core loops
 *      (at most 10 at the leaf level, 20 above): the nodes in a random order
 *      each move to the neighbouring module (or an empty one) with the best
 *      codelength decrease, from the exit/enter flow deltas; a loop that
 *      moves nothing or gains < 1e-10 bits ends them. The modules become
 *      the nodes of a super network (aggregation) and this repeats until a
 *      level no longer shortens the code.
 *   2. tuning, alternately: fine-tune (the leaves start in their modules and
 *      move again) and coarse-tune (each module is split by a sub-search of
 *      its own, the sub-modules start in their modules and move), each
 *      followed by find_top, until an iteration gains less than 1e-10 bits
 *      or less than 1e-5 of the one-level codelength (after at least one
 *      coarse-tune).
 *   3. a partition longer than the one-level code becomes one module.
 * Trials run one after another from one generator; the shortest codelength
 * (as tracked by the search) wins, the first on ties.
 *
 * The generator: splitmix64 (Steele, Lea, Flood 2014) seeded with the
 * caller's seed; bounded integers by rejection (no modulo bias). Node orders
 * are Fisher-Yates shuffles (swap v[i], v[rand(i, n-1)]), the candidate
 * modules of a move are shuffled as Infomap does. Nothing depends on
 * threads or the budget: the search runs on the calling thread.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

#define MIN_IMPROVEMENT 1e-10        /* Infomap's minimumCodelengthImprovement */
#define MIN_NODE_IMPROVEMENT 1e-16   /* minimumSingleNodeCodelengthImprovement */
#define MIN_RELATIVE_TUNE 1e-5       /* minimumRelativeTuneIterationImprovement */
#define CORE_LOOP_LIMIT 10
#define AGGREGATE_LOOP_LIMIT 20

static inline double plogp(double p)
{
    return p > 0.0 ? p * log2(p) : 0.0;
}

/* ---- the generator ------------------------------------------------------- */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int64_t rng_int(rng *r, int64_t lo, int64_t hi)
{
    const uint64_t range = (uint64_t)(hi - lo) + 1;
    const uint64_t threshold = (0 - range) % range;
    uint64_t x;
    do
        x = rng_next(r);
    while (x < threshold);
    return lo + (int64_t)(x % range);
}

/* ---- active networks --------------------------------------------------------- */

typedef struct net {
    int64_t n, L;
    double *flow, *enter, *exit; /* n */
    int64_t *out_ptr, *in_ptr;   /* n + 1 */
    int32_t *out_dst, *in_src;   /* L */
    double *out_flow, *in_flow;  /* L */
} net;

static int net_alloc(net *g, int64_t n, int64_t L, rlcc__budget *b)
{
    int err = RLCC_OK;
    memset(g, 0, sizeof *g);
    if ((g->flow = rlcc__alloc(b, n, sizeof(double), "search network", &err)) &&
        (g->enter = rlcc__alloc(b, n, sizeof(double), "search network", &err)) &&
        (g->exit = rlcc__alloc(b, n, sizeof(double), "search network", &err)) &&
        (g->out_ptr = rlcc__alloc(b, n + 1, sizeof(int64_t), "search network", &err)) &&
        (g->in_ptr = rlcc__alloc(b, n + 1, sizeof(int64_t), "search network", &err)) &&
        (g->out_dst = rlcc__alloc(b, L, sizeof(int32_t), "search network", &err)) &&
        (g->in_src = rlcc__alloc(b, L, sizeof(int32_t), "search network", &err)) &&
        (g->out_flow = rlcc__alloc(b, L, sizeof(double), "search network", &err)) &&
        (g->in_flow = rlcc__alloc(b, L, sizeof(double), "search network", &err)))
        return RLCC_OK;
    return err;
}

static void net_free(net *g, int64_t n, int64_t L, rlcc__budget *b)
{
    rlcc__free(b, g->flow, n, sizeof(double));
    rlcc__free(b, g->enter, n, sizeof(double));
    rlcc__free(b, g->exit, n, sizeof(double));
    rlcc__free(b, g->out_ptr, n + 1, sizeof(int64_t));
    rlcc__free(b, g->in_ptr, n + 1, sizeof(int64_t));
    rlcc__free(b, g->out_dst, L, sizeof(int32_t));
    rlcc__free(b, g->in_src, L, sizeof(int32_t));
    rlcc__free(b, g->out_flow, L, sizeof(double));
    rlcc__free(b, g->in_flow, L, sizeof(double));
    memset(g, 0, sizeof *g);
}

/* The in-lists of g from its out-lists; fill: n int64 scratch. */
static void net_transpose(net *g, int64_t *fill)
{
    memset(g->in_ptr, 0, sizeof *g->in_ptr * (size_t)(g->n + 1));
    for (int64_t e = 0; e < g->L; e++)
        g->in_ptr[g->out_dst[e] + 1]++;
    for (int64_t v = 0; v < g->n; v++)
        g->in_ptr[v + 1] += g->in_ptr[v];
    for (int64_t v = 0; v < g->n; v++)
        fill[v] = g->in_ptr[v];
    for (int64_t u = 0; u < g->n; u++)
        for (int64_t e = g->out_ptr[u]; e < g->out_ptr[u + 1]; e++) {
            const int64_t q = fill[g->out_dst[e]]++;
            g->in_src[q] = (int32_t)u;
            g->in_flow[q] = g->out_flow[e];
        }
}

/* ---- one search over a leaf network ---------------------------------------- */

typedef struct work {
    int64_t cap_n, cap_L;
    net leafbuf; /* the leaf network (the main one, or a module's) */
    net A, B;    /* super networks, alternately */
    const net *top; /* the network whose nodes are the top modules; NULL: none yet */
    /* the optimiser, over the active network's nodes */
    int32_t *mod, *members, *empty;
    int64_t n_empty;
    double *mflow, *menter, *mexit;
    uint8_t *dirty;
    double *dx, *de;
    int64_t *stamp, round;
    int32_t *cand, *order;
    double enter_flow, enter_log_enter, exit_log_exit, flow_log_flow, L;
    double node_log_node, exit_net, exit_net_log;
    /* the hierarchy */
    int32_t *leaf_mod; /* top module of each leaf */
    int32_t *pre, *sub, *list;
    int64_t *list_ptr;
    double consolidated_L;
    /* aggregation scratch */
    int32_t *newid, *loc;
    int64_t *mark, *slot;
    int64_t n_modules; /* after partition(): modules in leaf_mod */
    int full, tune_index, tune_limit, coarse, agg;
    rng *rng;
} work;

static void work_free(work *w, rlcc__budget *b)
{
    const int64_t n = w->cap_n, L = w->cap_L;
    net_free(&w->leafbuf, n, L, b);
    net_free(&w->A, n, L, b);
    net_free(&w->B, n, L, b);
    int32_t **i32[] = {&w->mod, &w->members, &w->empty, &w->cand, &w->order, &w->leaf_mod,
                       &w->pre, &w->sub, &w->list, &w->newid, &w->loc};
    for (size_t i = 0; i < sizeof i32 / sizeof *i32; i++)
        rlcc__free(b, *i32[i], n, sizeof(int32_t));
    double **f64[] = {&w->mflow, &w->menter, &w->mexit, &w->dx, &w->de};
    for (size_t i = 0; i < sizeof f64 / sizeof *f64; i++)
        rlcc__free(b, *f64[i], n, sizeof(double));
    rlcc__free(b, w->stamp, n, sizeof(int64_t));
    rlcc__free(b, w->mark, n, sizeof(int64_t));
    rlcc__free(b, w->slot, n, sizeof(int64_t));
    rlcc__free(b, w->list_ptr, n + 1, sizeof(int64_t));
    rlcc__free(b, w->dirty, n, 1);
    memset(w, 0, sizeof *w);
}

static int work_alloc(work *w, int64_t n, int64_t L, rlcc__budget *b)
{
    memset(w, 0, sizeof *w);
    w->cap_n = n;
    w->cap_L = L;
    int err = net_alloc(&w->leafbuf, n, L, b);
    if (err == RLCC_OK)
        err = net_alloc(&w->A, n, L, b);
    if (err == RLCC_OK)
        err = net_alloc(&w->B, n, L, b);
    int32_t **i32[] = {&w->mod, &w->members, &w->empty, &w->cand, &w->order, &w->leaf_mod,
                       &w->pre, &w->sub, &w->list, &w->newid, &w->loc};
    for (size_t i = 0; err == RLCC_OK && i < sizeof i32 / sizeof *i32; i++)
        *i32[i] = rlcc__alloc(b, n, sizeof(int32_t), "search", &err);
    double **f64[] = {&w->mflow, &w->menter, &w->mexit, &w->dx, &w->de};
    for (size_t i = 0; err == RLCC_OK && i < sizeof f64 / sizeof *f64; i++)
        *f64[i] = rlcc__alloc(b, n, sizeof(double), "search", &err);
    if (err == RLCC_OK)
        w->stamp = rlcc__alloc(b, n, sizeof(int64_t), "search", &err);
    if (err == RLCC_OK)
        w->mark = rlcc__alloc(b, n, sizeof(int64_t), "search", &err);
    if (err == RLCC_OK)
        w->slot = rlcc__alloc(b, n, sizeof(int64_t), "search", &err);
    if (err == RLCC_OK)
        w->list_ptr = rlcc__alloc(b, n + 1, sizeof(int64_t), "search", &err);
    if (err == RLCC_OK)
        w->dirty = rlcc__alloc(b, n, 1, "search", &err);
    if (err != RLCC_OK)
        work_free(w, b);
    return err;
}

static void objective_update(work *w)
{
    w->L = (plogp(w->enter_flow) - w->enter_log_enter - w->exit_net_log) +
           (-w->exit_log_exit + w->flow_log_flow - w->node_log_node);
}

static void objective_terms(work *w, const net *g)
{
    w->enter_log_enter = w->flow_log_flow = w->exit_log_exit = w->enter_flow = 0.0;
    for (int64_t m = 0; m < g->n; m++) {
        if (w->members[m] == 0)
            continue;
        w->flow_log_flow += plogp(w->mflow[m] + w->mexit[m]);
        w->enter_log_enter += plogp(w->menter[m]);
        w->exit_log_exit += plogp(w->mexit[m]);
        w->enter_flow += w->menter[m];
    }
    w->enter_flow += w->exit_net;
    objective_update(w);
}

/* The active nodes of g start in the modules pre[] (NULL: one each). */
static void set_modules(work *w, const net *g, const int32_t *pre)
{
    const int64_t n = g->n;
    for (int64_t m = 0; m < n; m++) {
        w->members[m] = 0;
        w->mflow[m] = w->menter[m] = w->mexit[m] = 0.0;
        w->stamp[m] = -1;
    }
    for (int64_t u = 0; u < n; u++) {
        const int32_t m = pre ? pre[u] : (int32_t)u;
        w->mod[u] = m;
        w->members[m]++;
        w->mflow[m] += g->flow[u];
        w->menter[m] += g->enter[u];
        w->mexit[m] += g->exit[u];
        w->dirty[u] = 1;
    }
    if (pre != NULL)
        for (int64_t u = 0; u < n; u++)
            for (int64_t e = g->out_ptr[u]; e < g->out_ptr[u + 1]; e++)
                if (w->mod[g->out_dst[e]] == w->mod[u]) {
                    w->mexit[w->mod[u]] -= g->out_flow[e];
                    w->menter[w->mod[u]] -= g->out_flow[e];
                }
    w->n_empty = 0;
    for (int64_t m = n - 1; m >= 0; m--)
        if (w->members[m] == 0)
            w->empty[w->n_empty++] = (int32_t)m;
    objective_terms(w, g);
}

static inline void delta_add(work *w, int64_t *count, int32_t m, double dexit, double denter)
{
    if (w->stamp[m] != w->round) {
        w->stamp[m] = w->round;
        w->dx[m] = w->de[m] = 0.0;
        w->cand[(*count)++] = m;
    }
    w->dx[m] += dexit;
    w->de[m] += denter;
}

/* MapEquation::getDeltaCodelengthOnMovingNode */
static double delta_codelength(const work *w, const net *g, int64_t u, int32_t old_m,
                               int32_t new_m)
{
    const double d_old = w->de[old_m] + w->dx[old_m];
    const double d_new = w->de[new_m] + w->dx[new_m];
    const double delta_enter = plogp(w->enter_flow + d_old - d_new) - plogp(w->enter_flow);
    const double delta_enter_log_enter =
        -plogp(w->menter[old_m]) - plogp(w->menter[new_m]) +
        plogp(w->menter[old_m] - g->enter[u] + d_old) + plogp(w->menter[new_m] + g->enter[u] - d_new);
    const double delta_exit_log_exit =
        -plogp(w->mexit[old_m]) - plogp(w->mexit[new_m]) +
        plogp(w->mexit[old_m] - g->exit[u] + d_old) + plogp(w->mexit[new_m] + g->exit[u] - d_new);
    const double delta_flow_log_flow =
        -plogp(w->mexit[old_m] + w->mflow[old_m]) - plogp(w->mexit[new_m] + w->mflow[new_m]) +
        plogp(w->mexit[old_m] + w->mflow[old_m] - g->exit[u] - g->flow[u] + d_old) +
        plogp(w->mexit[new_m] + w->mflow[new_m] + g->exit[u] + g->flow[u] - d_new);
    return delta_enter - delta_enter_log_enter - delta_exit_log_exit + delta_flow_log_flow;
}

/* MapEquation::updateCodelengthOnMovingNode */
static void move_node(work *w, const net *g, int64_t u, int32_t old_m, int32_t new_m)
{
    const double d_old = w->de[old_m] + w->dx[old_m];
    const double d_new = w->de[new_m] + w->dx[new_m];
    w->enter_flow -= w->menter[old_m] + w->menter[new_m];
    w->enter_log_enter -= plogp(w->menter[old_m]) + plogp(w->menter[new_m]);
    w->exit_log_exit -= plogp(w->mexit[old_m]) + plogp(w->mexit[new_m]);
    w->flow_log_flow -= plogp(w->mexit[old_m] + w->mflow[old_m]) +
                        plogp(w->mexit[new_m] + w->mflow[new_m]);
    w->mflow[old_m] -= g->flow[u];
    w->menter[old_m] -= g->enter[u];
    w->mexit[old_m] -= g->exit[u];
    w->mflow[new_m] += g->flow[u];
    w->menter[new_m] += g->enter[u];
    w->mexit[new_m] += g->exit[u];
    w->menter[old_m] += d_old;
    w->mexit[old_m] += d_old;
    w->menter[new_m] -= d_new;
    w->mexit[new_m] -= d_new;
    w->enter_flow += w->menter[old_m] + w->menter[new_m];
    w->enter_log_enter += plogp(w->menter[old_m]) + plogp(w->menter[new_m]);
    w->exit_log_exit += plogp(w->mexit[old_m]) + plogp(w->mexit[new_m]);
    w->flow_log_flow += plogp(w->mexit[old_m] + w->mflow[old_m]) +
                        plogp(w->mexit[new_m] + w->mflow[new_m]);
    objective_update(w);
}

/* InfomapOptimizer::tryMoveEachNodeIntoBestModule */
static int64_t move_each_node(work *w, const net *g)
{
    const int64_t n = g->n;
    for (int64_t i = 0; i < n; i++)
        w->order[i] = (int32_t)i;
    for (int64_t i = 0; i + 1 < n; i++) {
        const int64_t j = rng_int(w->rng, i, n - 1);
        const int32_t t = w->order[i];
        w->order[i] = w->order[j];
        w->order[j] = t;
    }
    const int first_loop = w->tune_index == 0 && w->full && w->tune_limit != 1;
    int64_t moved = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t u = w->order[i];
        if (!w->dirty[u])
            continue;
        const int32_t cur = w->mod[u];
        if (w->members[cur] > 1 && first_loop)
            continue;
        w->round++;
        int64_t count = 0;
        for (int64_t e = g->out_ptr[u]; e < g->out_ptr[u + 1]; e++)
            delta_add(w, &count, w->mod[g->out_dst[e]], g->out_flow[e], 0.0);
        for (int64_t e = g->in_ptr[u]; e < g->in_ptr[u + 1]; e++)
            delta_add(w, &count, w->mod[g->in_src[e]], 0.0, g->in_flow[e]);
        delta_add(w, &count, cur, 0.0, 0.0);
        if (w->members[cur] > 1 && w->n_empty > 0)
            delta_add(w, &count, w->empty[w->n_empty - 1], 0.0, 0.0);
        if (count > 2)
            for (int64_t j = 0; j < count - 2; j++) {
                const int64_t r = rng_int(w->rng, j + 1, count - 1);
                const int32_t t = w->cand[j];
                w->cand[j] = w->cand[r];
                w->cand[r] = t;
            }
        int32_t best = cur, strongest = cur;
        double best_delta = 0.0, strongest_delta = 0.0, strongest_exit = w->dx[cur];
        for (int64_t j = 0; j < count; j++) {
            const int32_t m = w->cand[j];
            if (m == cur)
                continue;
            const double delta = delta_codelength(w, g, u, cur, m);
            if (delta < best_delta - MIN_NODE_IMPROVEMENT) {
                best = m;
                best_delta = delta;
            }
            if (w->dx[m] > strongest_exit) {
                strongest = m;
                strongest_exit = w->dx[m];
                strongest_delta = delta;
            }
        }
        if (strongest != best && strongest_delta <= best_delta + MIN_NODE_IMPROVEMENT)
            best = strongest;
        if (best != cur) {
            if (w->members[best] == 0)
                w->n_empty--;
            if (w->members[cur] == 1)
                w->empty[w->n_empty++] = cur;
            move_node(w, g, u, cur, best);
            w->members[cur]--;
            w->members[best]++;
            w->mod[u] = best;
            moved++;
            for (int64_t e = g->out_ptr[u]; e < g->out_ptr[u + 1]; e++)
                w->dirty[g->out_dst[e]] = 1;
            for (int64_t e = g->in_ptr[u]; e < g->in_ptr[u + 1]; e++)
                w->dirty[g->in_src[e]] = 1;
        } else {
            w->dirty[u] = 0;
        }
    }
    return moved;
}

/* InfomapOptimizer::optimizeActiveNetwork: the effective loops. */
static int64_t optimize(work *w, const net *g, int64_t limit)
{
    int64_t loops = 0, effective = 0;
    double old = w->L;
    do {
        ++loops;
        const int64_t moved = move_each_node(w, g);
        if (moved == 0 || w->L >= old - MIN_IMPROVEMENT)
            break;
        ++effective;
        old = w->L;
    } while (loops != limit);
    return effective;
}

/* The modules of the active network g become the nodes of a new top
 * network; the leaves follow. */
static void consolidate(work *w, const net *g)
{
    net *h = g == &w->A ? &w->B : &w->A;
    int64_t M = 0;
    for (int64_t m = 0; m < g->n; m++)
        w->newid[m] = w->members[m] > 0 ? (int32_t)M++ : -1;
    h->n = M;
    for (int64_t m = 0; m < g->n; m++)
        if (w->newid[m] >= 0) {
            h->flow[w->newid[m]] = w->mflow[m];
            h->enter[w->newid[m]] = w->menter[m];
            h->exit[w->newid[m]] = w->mexit[m];
        }
    memset(h->out_ptr, 0, sizeof *h->out_ptr * (size_t)(M + 1));
    for (int64_t u = 0; u < g->n; u++)
        for (int64_t e = g->out_ptr[u]; e < g->out_ptr[u + 1]; e++) {
            const int32_t a = w->newid[w->mod[u]], c = w->newid[w->mod[g->out_dst[e]]];
            if (a != c)
                h->out_ptr[a + 1]++;
        }
    for (int64_t a = 0; a < M; a++)
        h->out_ptr[a + 1] += h->out_ptr[a];
    for (int64_t a = 0; a < M; a++)
        w->slot[a] = h->out_ptr[a];
    /* the crossing links, by new source, into the in-arrays as scratch */
    for (int64_t u = 0; u < g->n; u++)
        for (int64_t e = g->out_ptr[u]; e < g->out_ptr[u + 1]; e++) {
            const int32_t a = w->newid[w->mod[u]], c = w->newid[w->mod[g->out_dst[e]]];
            if (a != c) {
                const int64_t q = w->slot[a]++;
                h->in_src[q] = c;
                h->in_flow[q] = g->out_flow[e];
            }
        }
    for (int64_t a = 0; a < M; a++)
        w->mark[a] = -1;
    int64_t q = 0, start = 0;
    for (int64_t a = 0; a < M; a++) {
        const int64_t end = h->out_ptr[a + 1];
        h->out_ptr[a] = q;
        for (int64_t i = start; i < end; i++) {
            const int32_t c = h->in_src[i];
            if (w->mark[c] != a) {
                w->mark[c] = a;
                w->slot[c] = q;
                h->out_dst[q] = c;
                h->out_flow[q] = h->in_flow[i];
                q++;
            } else {
                h->out_flow[w->slot[c]] += h->in_flow[i];
            }
        }
        start = end;
    }
    h->out_ptr[M] = q;
    h->L = q;
    net_transpose(h, w->slot);
    const int64_t n_leaves = w->leafbuf.n;
    if (g == &w->leafbuf)
        for (int64_t l = 0; l < n_leaves; l++)
            w->leaf_mod[l] = w->newid[w->mod[l]];
    else
        for (int64_t l = 0; l < n_leaves; l++)
            w->leaf_mod[l] = w->newid[w->mod[w->leaf_mod[l]]];
    w->top = h;
    w->consolidated_L = w->L;
}

static int64_t n_top(const work *w)
{
    return w->top ? w->top->n : w->leafbuf.n;
}

/* InfomapBase::findTopModulesRepeatedly */
static void find_top(work *w)
{
    w->agg = 0;
    while (n_top(w) > 1) {
        const net *g = w->top ? w->top : &w->leafbuf;
        set_modules(w, g, NULL);
        optimize(w, g, w->agg > 0 || w->coarse ? AGGREGATE_LOOP_LIMIT : CORE_LOOP_LIMIT);
        if (w->top != NULL && w->L >= w->consolidated_L - MIN_NODE_IMPROVEMENT) {
            w->L = w->consolidated_L;
            break;
        }
        consolidate(w, g);
        w->agg++;
    }
    w->agg = 0;
}

/* InfomapBase::fineTune */
static int64_t fine_tune(work *w)
{
    const net *g = &w->leafbuf;
    set_modules(w, g, w->leaf_mod);
    const int64_t effective = optimize(w, g, CORE_LOOP_LIMIT);
    if (effective == 0)
        w->L = w->consolidated_L;
    else
        consolidate(w, g);
    return effective;
}

static void partition(work *w, work *sub);

/* The leaves of top module m as the leaf network of sub. */
static void sub_network(work *w, work *sub, int64_t m)
{
    const net *g = &w->leafbuf;
    net *s = &sub->leafbuf;
    const int64_t first = w->list_ptr[m], size = w->list_ptr[m + 1] - first;
    s->n = size;
    for (int64_t i = 0; i < size; i++)
        w->loc[w->list[first + i]] = (int32_t)i;
    int64_t q = 0;
    sub->node_log_node = 0.0;
    for (int64_t i = 0; i < size; i++) {
        const int32_t u = w->list[first + i];
        s->flow[i] = g->flow[u];
        s->enter[i] = g->enter[u];
        s->exit[i] = g->exit[u];
        sub->node_log_node += plogp(g->flow[u]);
        s->out_ptr[i] = q;
        for (int64_t e = g->out_ptr[u]; e < g->out_ptr[u + 1]; e++)
            if (w->leaf_mod[g->out_dst[e]] == m) {
                s->out_dst[q] = w->loc[g->out_dst[e]];
                s->out_flow[q] = g->out_flow[e];
                q++;
            }
    }
    s->out_ptr[size] = q;
    s->L = q;
    net_transpose(s, sub->slot);
    sub->exit_net = w->top->exit[m];
    sub->exit_net_log = plogp(sub->exit_net);
    sub->full = 0;
    sub->tune_limit = 1;
    sub->rng = w->rng;
}

/* InfomapBase::coarseTune */
static int64_t coarse_tune(work *w, work *sub)
{
    const net *leaf = &w->leafbuf;
    const int64_t M = w->top->n, n = leaf->n;
    /* the leaves of each top module, ascending */
    memset(w->list_ptr, 0, sizeof *w->list_ptr * (size_t)(M + 1));
    for (int64_t l = 0; l < n; l++)
        w->list_ptr[w->leaf_mod[l] + 1]++;
    for (int64_t m = 0; m < M; m++)
        w->list_ptr[m + 1] += w->list_ptr[m];
    for (int64_t m = 0; m < M; m++)
        w->slot[m] = w->list_ptr[m];
    for (int64_t l = 0; l < n; l++)
        w->list[w->slot[w->leaf_mod[l]]++] = (int32_t)l;
    int64_t offset = 0;
    for (int64_t m = 0; m < M; m++) {
        const int64_t first = w->list_ptr[m], size = w->list_ptr[m + 1] - first;
        if (size < 2) {
            for (int64_t i = 0; i < size; i++)
                w->sub[w->list[first + i]] = (int32_t)offset;
            w->pre[offset] = (int32_t)m;
            offset++;
            continue;
        }
        sub_network(w, sub, m);
        partition(sub, NULL);
        const int64_t S = sub->n_modules;
        for (int64_t i = 0; i < size; i++)
            w->sub[w->list[first + i]] = (int32_t)offset + sub->leaf_mod[i];
        for (int64_t s = 0; s < S; s++)
            w->pre[offset + s] = (int32_t)m;
        offset += S;
    }
    /* the sub-modules as nodes (every one is non-empty: ids stay), each
     * starting in its former module */
    set_modules(w, leaf, w->sub);
    consolidate(w, leaf);
    const net *g = w->top;
    set_modules(w, g, w->pre);
    w->coarse = 1;
    const int64_t effective = optimize(w, g, AGGREGATE_LOOP_LIMIT);
    w->coarse = 0;
    consolidate(w, g);
    return effective;
}

/* InfomapBase::partition for w's leaf network; sub: the work of coarse
 * tuning (NULL in a sub-search, whose tune_limit is 1). */
static void partition(work *w, work *sub)
{
    const net *leaf = &w->leafbuf;
    const int64_t n = leaf->n;
    for (int64_t l = 0; l < n; l++)
        w->pre[l] = 0;
    set_modules(w, leaf, w->pre);
    const double one_level = w->L;
    w->top = NULL;
    w->tune_index = 0;
    w->coarse = 0;
    find_top(w);
    double old = w->L;
    int fine = 1, coarse_tuned = 0;
    while (n_top(w) > 1 && w->tune_index + 1 != w->tune_limit && sub != NULL) {
        ++w->tune_index;
        if (fine) {
            if (fine_tune(w) > 0)
                find_top(w);
        } else {
            coarse_tuned = 1;
            if (coarse_tune(w, sub) > 0)
                find_top(w);
        }
        const double now = w->L;
        const int better = now <= old - MIN_IMPROVEMENT && now < old - one_level * MIN_RELATIVE_TUNE;
        if (!better) {
            if (coarse_tuned)
                break;
        } else {
            old = now;
        }
        fine = !fine;
    }
    if (w->top == NULL)
        for (int64_t l = 0; l < n; l++)
            w->leaf_mod[l] = (int32_t)l;
    w->n_modules = n_top(w);
    if (w->n_modules > 1 && w->L > one_level) {
        for (int64_t l = 0; l < n; l++)
            w->leaf_mod[l] = 0;
        w->L = one_level;
        w->n_modules = 1;
    }
}

int rlcc__infomap_search(const rlcc__flow_net *fn, uint64_t seed, int32_t trials,
                         rlcc__budget *budget, int32_t *module)
{
    const int64_t n = fn->n, L = fn->n_links > 0 ? fn->n_links : 1;
    if (n == 0)
        return RLCC_OK;
    work w, sub;
    int err = work_alloc(&w, n, L, budget);
    if (err != RLCC_OK)
        return err;
    err = work_alloc(&sub, n, L, budget);
    if (err != RLCC_OK) {
        work_free(&w, budget);
        return err;
    }
    rng r = {seed};
    w.rng = &r;
    w.full = 1;
    w.tune_limit = 0;
    net *g = &w.leafbuf;
    g->n = n;
    g->L = fn->n_links;
    for (int64_t u = 0; u <= n; u++)
        g->out_ptr[u] = fn->out_ptr[u];
    for (int64_t e = 0; e < fn->n_links; e++) {
        g->out_dst[e] = fn->out_dst[e];
        g->out_flow[e] = fn->link_flow[e];
    }
    net_transpose(g, w.slot);
    w.node_log_node = 0.0;
    for (int64_t u = 0; u < n; u++) {
        g->flow[u] = fn->flow[u];
        g->exit[u] = g->enter[u] = 0.0;
        w.node_log_node += plogp(fn->flow[u]);
    }
    for (int64_t u = 0; u < n; u++)
        for (int64_t e = g->out_ptr[u]; e < g->out_ptr[u + 1]; e++) {
            g->exit[u] += g->out_flow[e];
            g->enter[g->out_dst[e]] += g->out_flow[e];
        }
    w.exit_net = w.exit_net_log = 0.0;
    double best = 0.0;
    for (int32_t t = 0; t < trials; t++) {
        partition(&w, &sub);
        if (t == 0 || w.L < best) {
            best = w.L;
            memcpy(module, w.leaf_mod, sizeof *module * (size_t)n);
        }
    }
    work_free(&sub, budget);
    work_free(&w, budget);
    return RLCC_OK;
}
