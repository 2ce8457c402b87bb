/*
 * flow.c - Infomap's flow model and the two-level map equation (spec:
 * later-methods.md section 2 step 5; mapequation/infomap v1.3.0
 * src/utils/FlowCalculator.cpp and src/core/MapEquation.cpp).
 *
 * The network: the nodes that are the end of some link, ascending by id;
 * the links sorted by (source, target), repeated pairs merged (their
 * weights added in the caller's order), as Infomap's StateNetwork holds
 * them. Every sum below runs in an order fixed here, so the codelength is
 * the same bits on every machine:
 *   - W = sum of the weights in link order; teleport rate tau_u and
 *     out-weight out(u) accumulated in link order;
 *   - the power iteration visits nodes in Infomap's order: dangling nodes
 *     (no out-link) first, ascending, then the others, ascending; link
 *     terms in link order;
 *   - module sums: members in ascending node order, crossing links in link
 *     order, modules in the order of their smallest member (node id), so
 *     the codelength does not depend on the ids a partition uses.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

static inline double plogp(double p)
{
    return p > 0.0 ? p * log2(p) : 0.0;
}

void rlcc__flow_net_free(rlcc__flow_net *net, rlcc__budget *budget)
{
    rlcc__free(budget, net->id, net->n > 0 ? net->n : 1, sizeof *net->id);
    rlcc__free(budget, net->out_ptr, net->n + 1, sizeof *net->out_ptr);
    rlcc__free(budget, net->out_dst, net->cap_links, sizeof *net->out_dst);
    rlcc__free(budget, net->weight, net->cap_links, sizeof *net->weight);
    rlcc__free(budget, net->link_flow, net->cap_links, sizeof *net->link_flow);
    rlcc__free(budget, net->flow, net->n > 0 ? net->n : 1, sizeof *net->flow);
    memset(net, 0, sizeof *net);
}

/* The PageRank of Infomap 1.x --directed (teleportation to links,
 * unrecorded), into net->flow and net->link_flow. */
static int compute_flow(rlcc__flow_net *net, rlcc__budget *budget)
{
    const int64_t n = net->n, L = net->n_links;
    const double alpha0 = 0.15;
    int err;
    /* order[r] = the node at position r of Infomap's node order */
    int64_t *order = rlcc__alloc(budget, n, sizeof *order, "flow order", &err);
    int64_t *pos = order ? rlcc__alloc(budget, n, sizeof *pos, "flow order", &err) : NULL;
    double *p = pos ? rlcc__alloc(budget, n, sizeof *p, "node flow", &err) : NULL;
    double *tmp = p ? rlcc__alloc(budget, n, sizeof *tmp, "node flow", &err) : NULL;
    double *tau = tmp ? rlcc__calloc(budget, n, sizeof *tau, "teleport rates", &err) : NULL;
    double *out = tau ? rlcc__calloc(budget, n, sizeof *out, "out-weights", &err) : NULL;
    double *P = out ? rlcc__alloc(budget, L, sizeof *P, "transition rates", &err) : NULL;
    int32_t *src = P ? rlcc__alloc(budget, L, sizeof *src, "link sources", &err) : NULL;
    if (src == NULL)
        goto done;
    err = RLCC_OK;
    int64_t n_dangling = 0, r = 0;
    for (int64_t u = 0; u < n; u++)
        if (net->out_ptr[u + 1] == net->out_ptr[u])
            order[r++] = u;
    n_dangling = r;
    for (int64_t u = 0; u < n; u++)
        if (net->out_ptr[u + 1] != net->out_ptr[u])
            order[r++] = u;
    for (r = 0; r < n; r++)
        pos[order[r]] = r;
    for (int64_t u = 0; u < n; u++)
        for (int64_t e = net->out_ptr[u]; e < net->out_ptr[u + 1]; e++)
            src[e] = (int32_t)pos[u];

    double W = 0.0;
    for (int64_t e = 0; e < L; e++)
        W += net->weight[e];
    const double undirected = 2.0 * W; /* no self-links */
    for (r = 0; r < n; r++)
        p[r] = 0.0;
    for (int64_t e = 0; e < L; e++) {
        const int64_t s = src[e], t = pos[net->out_dst[e]];
        out[s] += net->weight[e];
        p[s] += net->weight[e] / undirected;
        p[t] += net->weight[e] / undirected;
    }
    for (int64_t e = 0; e < L; e++)
        tau[src[e]] += net->weight[e] / W;
    for (int64_t e = 0; e < L; e++)
        P[e] = net->weight[e] / out[src[e]];

    double alpha = alpha0, beta = 1.0 - alpha, error = 0.0, dangling = 0.0;
    int iterations = 0;
    do {
        const double old_error = error;
        dangling = 0.0;
        for (r = 0; r < n_dangling; r++)
            dangling += p[r];
        const double teleport = alpha + beta * dangling;
        for (r = 0; r < n; r++)
            tmp[r] = teleport * tau[r];
        for (int64_t e = 0; e < L; e++)
            tmp[pos[net->out_dst[e]]] += beta * P[e] * p[src[e]];
        double diff = -1.0;
        error = 0.0;
        for (r = 0; r < n; r++) {
            diff += tmp[r];
            error += fabs(tmp[r] - p[r]);
        }
        memcpy(p, tmp, sizeof *p * (size_t)n);
        if (fabs(diff) > 1.0e-10)
            for (r = 0; r < n; r++)
                p[r] /= diff + 1.0;
        if (fabs(error - old_error) < 1e-15) {
            alpha += 1.0e-10;
            beta = 1.0 - alpha;
        }
        ++iterations;
    } while (iterations < 200 && (error > 1.0e-15 || iterations < 50));

    /* unrecorded teleportation: one more step along the links only */
    const double rank = 1.0 - dangling;
    for (r = 0; r < n; r++)
        p[r] = 0.0;
    for (int64_t e = 0; e < L; e++)
        p[pos[net->out_dst[e]]] += P[e] * tmp[src[e]] / rank;
    for (int64_t e = 0; e < L; e++)
        net->link_flow[e] = P[e] * (1.0 * tmp[src[e]] / rank);
    for (int64_t u = 0; u < n; u++)
        net->flow[u] = p[pos[u]];
done:
    rlcc__free(budget, src, L, sizeof *src);
    rlcc__free(budget, P, L, sizeof *P);
    rlcc__free(budget, out, n, sizeof *out);
    rlcc__free(budget, tau, n, sizeof *tau);
    rlcc__free(budget, tmp, n, sizeof *tmp);
    rlcc__free(budget, p, n, sizeof *p);
    rlcc__free(budget, pos, n, sizeof *pos);
    rlcc__free(budget, order, n, sizeof *order);
    return err;
}

int rlcc__flow_net_build(int64_t n_nodes, const int64_t *src, const int64_t *dst,
                         const double *weight, int64_t n_links, rlcc__budget *budget,
                         rlcc__flow_net *net)
{
    int err;
    memset(net, 0, sizeof *net);
    const int64_t L = n_links > 0 ? n_links : 1;
    int32_t *cid = rlcc__alloc(budget, n_nodes > 0 ? n_nodes : 1, sizeof *cid, "node map", &err);
    int64_t *count = cid ? rlcc__alloc(budget, n_nodes + 1, sizeof *count, "link sort", &err) : NULL;
    int64_t *perm = count ? rlcc__alloc(budget, L, sizeof *perm, "link sort", &err) : NULL;
    int64_t *perm2 = perm ? rlcc__alloc(budget, L, sizeof *perm2, "link sort", &err) : NULL;
    if (perm2 == NULL)
        goto done;
    for (int64_t v = 0; v < n_nodes; v++)
        cid[v] = -1;
    for (int64_t e = 0; e < n_links; e++)
        cid[src[e]] = cid[dst[e]] = 0;
    int64_t n = 0;
    for (int64_t v = 0; v < n_nodes; v++)
        if (cid[v] == 0)
            cid[v] = (int32_t)n++;
    /* stable counting sorts: by target, then by source */
    for (int pass = 0; pass < 2; pass++) {
        const int64_t *key = pass == 0 ? dst : src;
        const int64_t *in = pass == 0 ? NULL : perm;
        int64_t *outp = pass == 0 ? perm : perm2;
        memset(count, 0, sizeof *count * (size_t)(n + 1));
        for (int64_t e = 0; e < n_links; e++)
            count[cid[key[e]] + 1]++;
        for (int64_t v = 0; v < n; v++)
            count[v + 1] += count[v];
        for (int64_t i = 0; i < n_links; i++) {
            const int64_t e = in ? in[i] : i;
            outp[count[cid[key[e]]]++] = e;
        }
    }
    int64_t distinct = 0;
    for (int64_t i = 0; i < n_links; i++)
        if (i == 0 || src[perm2[i]] != src[perm2[i - 1]] || dst[perm2[i]] != dst[perm2[i - 1]])
            distinct++;
    net->n = n;
    net->cap_links = distinct > 0 ? distinct : 1;
    net->id = rlcc__alloc(budget, n > 0 ? n : 1, sizeof *net->id, "network nodes", &err);
    net->out_ptr = net->id ? rlcc__calloc(budget, n + 1, sizeof *net->out_ptr, "network links", &err) : NULL;
    net->out_dst = net->out_ptr ? rlcc__alloc(budget, net->cap_links, sizeof *net->out_dst, "network links", &err) : NULL;
    net->weight = net->out_dst ? rlcc__alloc(budget, net->cap_links, sizeof *net->weight, "network links", &err) : NULL;
    net->link_flow = net->weight ? rlcc__alloc(budget, net->cap_links, sizeof *net->link_flow, "link flow", &err) : NULL;
    net->flow = net->link_flow ? rlcc__alloc(budget, n > 0 ? n : 1, sizeof *net->flow, "node flow", &err) : NULL;
    if (net->flow == NULL) {
        /* free what was allocated, with the sizes it was allocated with */
        rlcc__free(budget, net->link_flow, net->cap_links, sizeof *net->link_flow);
        rlcc__free(budget, net->weight, net->cap_links, sizeof *net->weight);
        rlcc__free(budget, net->out_dst, net->cap_links, sizeof *net->out_dst);
        rlcc__free(budget, net->out_ptr, n + 1, sizeof *net->out_ptr);
        rlcc__free(budget, net->id, n > 0 ? n : 1, sizeof *net->id);
        memset(net, 0, sizeof *net);
        goto done;
    }
    err = RLCC_OK;
    for (int64_t v = 0; v < n_nodes; v++)
        if (cid[v] >= 0)
            net->id[cid[v]] = v;
    int64_t m = -1;
    for (int64_t i = 0; i < n_links; i++) {
        const int64_t e = perm2[i];
        if (i == 0 || src[e] != src[perm2[i - 1]] || dst[e] != dst[perm2[i - 1]]) {
            m++;
            net->out_dst[m] = cid[dst[e]];
            net->weight[m] = weight[e];
            net->out_ptr[cid[src[e]] + 1]++;
        } else {
            net->weight[m] += weight[e];
        }
    }
    net->n_links = distinct;
    for (int64_t u = 0; u < n; u++)
        net->out_ptr[u + 1] += net->out_ptr[u];
    if (n > 0)
        err = compute_flow(net, budget);
    if (err != RLCC_OK)
        rlcc__flow_net_free(net, budget);
done:
    rlcc__free(budget, perm2, L, sizeof *perm2);
    rlcc__free(budget, perm, L, sizeof *perm);
    rlcc__free(budget, count, n_nodes + 1, sizeof *count);
    rlcc__free(budget, cid, n_nodes > 0 ? n_nodes : 1, sizeof *cid);
    return err;
}

/* Compact modules: mod_of[u] in [0, *n_modules) for every network node,
 * numbered in the order of their smallest member (so that no sum depends
 * on the caller's ids); module[] is indexed by the caller's node id. */
static int compact_modules(const rlcc__flow_net *net, const int32_t *module, rlcc__budget *budget,
                           int32_t *mod_of, int64_t *n_modules)
{
    const int64_t n = net->n;
    int err;
    int64_t *key = rlcc__alloc(budget, n > 0 ? n : 1, sizeof *key, "module ids", &err);
    if (key == NULL)
        return err;
    for (int64_t u = 0; u < n; u++)
        key[u] = ((int64_t)module[net->id[u]] << 31) | u;
    /* radix sort on the 62-bit keys, 16 bits at a time */
    int64_t *tmp = rlcc__alloc(budget, n > 0 ? n : 1, sizeof *tmp, "module ids", &err);
    int64_t *cnt = tmp ? rlcc__alloc(budget, 65536 + 1, sizeof *cnt, "module ids", &err) : NULL;
    if (cnt == NULL) {
        rlcc__free(budget, tmp, n > 0 ? n : 1, sizeof *tmp);
        rlcc__free(budget, key, n > 0 ? n : 1, sizeof *key);
        return err;
    }
    for (int shift = 0; shift < 64; shift += 16) {
        memset(cnt, 0, sizeof *cnt * 65537);
        for (int64_t i = 0; i < n; i++)
            cnt[((key[i] >> shift) & 0xffff) + 1]++;
        for (int b = 0; b < 65536; b++)
            cnt[b + 1] += cnt[b];
        for (int64_t i = 0; i < n; i++)
            tmp[cnt[(key[i] >> shift) & 0xffff]++] = key[i];
        int64_t *s = key;
        key = tmp;
        tmp = s;
    }
    int64_t m = -1, prev = -1;
    for (int64_t i = 0; i < n; i++) {
        const int64_t id = key[i] >> 31, u = key[i] & 0x7fffffff;
        if (id != prev) {
            m++;
            prev = id;
        }
        mod_of[u] = (int32_t)m;
    }
    *n_modules = m + 1;
    /* renumbered by smallest member: the sums do not depend on the ids */
    int64_t *renum = tmp;
    for (int64_t c = 0; c <= m; c++)
        renum[c] = -1;
    int64_t next = 0;
    for (int64_t u = 0; u < n; u++) {
        if (renum[mod_of[u]] < 0)
            renum[mod_of[u]] = next++;
        mod_of[u] = (int32_t)renum[mod_of[u]];
    }
    rlcc__free(budget, cnt, 65537, sizeof *cnt);
    rlcc__free(budget, tmp, n > 0 ? n : 1, sizeof *tmp);
    rlcc__free(budget, key, n > 0 ? n : 1, sizeof *key);
    return RLCC_OK;
}

int rlcc__map_codelength(const rlcc__flow_net *net, const int32_t *module, rlcc__budget *budget,
                         double *codelength, int32_t *mod_of, double *module_flow,
                         int64_t *n_modules)
{
    const int64_t n = net->n;
    int err;
    int own = mod_of == NULL;
    if (own && (mod_of = rlcc__alloc(budget, n > 0 ? n : 1, sizeof *mod_of, "modules", &err)) == NULL)
        return err;
    int64_t M = 0;
    err = compact_modules(net, module, budget, mod_of, &M);
    double *mf = NULL, *me = NULL, *mx = NULL;
    if (err == RLCC_OK)
        mf = rlcc__calloc(budget, M > 0 ? M : 1, sizeof *mf, "module flow", &err);
    if (mf != NULL)
        me = rlcc__calloc(budget, M > 0 ? M : 1, sizeof *me, "module flow", &err);
    if (me != NULL)
        mx = rlcc__calloc(budget, M > 0 ? M : 1, sizeof *mx, "module flow", &err);
    if (mx != NULL) {
        err = RLCC_OK;
        for (int64_t u = 0; u < n; u++)
            mf[mod_of[u]] += net->flow[u];
        for (int64_t u = 0; u < n; u++)
            for (int64_t e = net->out_ptr[u]; e < net->out_ptr[u + 1]; e++) {
                const int32_t a = mod_of[u], b = mod_of[net->out_dst[e]];
                if (a != b) {
                    mx[a] += net->link_flow[e];
                    me[b] += net->link_flow[e];
                }
            }
        double enter = 0.0, enter_log_enter = 0.0, exit_log_exit = 0.0, flow_log_flow = 0.0;
        double node_log_node = 0.0;
        for (int64_t m = 0; m < M; m++) {
            flow_log_flow += plogp(mf[m] + mx[m]);
            enter_log_enter += plogp(me[m]);
            exit_log_exit += plogp(mx[m]);
            enter += me[m];
        }
        for (int64_t u = 0; u < n; u++)
            node_log_node += plogp(net->flow[u]);
        const double index = plogp(enter) - enter_log_enter - 0.0;
        const double mod = -exit_log_exit + flow_log_flow - node_log_node;
        *codelength = index + mod;
        if (module_flow != NULL)
            memcpy(module_flow, mf, sizeof *mf * (size_t)M);
        if (n_modules != NULL)
            *n_modules = M;
    }
    rlcc__free(budget, mx, M > 0 ? M : 1, sizeof *mx);
    rlcc__free(budget, me, M > 0 ? M : 1, sizeof *me);
    rlcc__free(budget, mf, M > 0 ? M : 1, sizeof *mf);
    if (own)
        rlcc__free(budget, mod_of, n > 0 ? n : 1, sizeof *mod_of);
    return err;
}

int rlcc__check_links(int64_t n_nodes, const int64_t *src, const int64_t *dst,
                      const double *weight, int64_t n_links)
{
    for (int64_t e = 0; e < n_links; e++) {
        if (src[e] < 0 || src[e] >= n_nodes)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "src: link %lld has node %lld, outside [0, %lld)", (long long)e,
                              (long long)src[e], (long long)n_nodes);
        if (dst[e] < 0 || dst[e] >= n_nodes)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "dst: link %lld has node %lld, outside [0, %lld)", (long long)e,
                              (long long)dst[e], (long long)n_nodes);
        if (src[e] == dst[e])
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "src, dst: link %lld is a self-link (node %lld)", (long long)e,
                              (long long)src[e]);
        if (!(weight[e] > 0.0) || !isfinite(weight[e]))
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "weight: link %lld has weight %g, not finite and > 0",
                              (long long)e, weight[e]);
    }
    return RLCC_OK;
}

int rlcc_map_codelength(int64_t n_nodes, const int64_t *src, const int64_t *dst,
                        const double *weight, int64_t n_links, const int32_t *modules,
                        double *codelength)
{
    rlcc__clear_error();
    int err = rlcc__check_row_count("n_nodes", n_nodes);
    if (err == RLCC_OK && n_links < 0)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_links: %lld is negative", (long long)n_links);
    if (err == RLCC_OK && n_links > 0 && (src == NULL || dst == NULL || weight == NULL))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: is NULL",
                         src == NULL ? "src" : dst == NULL ? "dst" : "weight");
    if (err == RLCC_OK && n_nodes > 0 && modules == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "modules: is NULL");
    if (err == RLCC_OK && codelength == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "codelength: is NULL");
    if (err == RLCC_OK)
        err = rlcc__check_links(n_nodes, src, dst, weight, n_links);
    for (int64_t v = 0; err == RLCC_OK && v < n_nodes; v++)
        if (modules[v] < 0)
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "modules: node %lld has module %d, not >= 0",
                             (long long)v, (int)modules[v]);
    if (err != RLCC_OK)
        return err;
    rlcc__budget budget;
    rlcc__budget_init(&budget, 0);
    rlcc__flow_net net;
    err = rlcc__flow_net_build(n_nodes, src, dst, weight, n_links, &budget, &net);
    if (err != RLCC_OK)
        return err;
    double L = 0.0;
    err = rlcc__map_codelength(&net, modules, &budget, &L, NULL, NULL, NULL);
    rlcc__flow_net_free(&net, &budget);
    if (err == RLCC_OK)
        *codelength = L;
    return err;
}
