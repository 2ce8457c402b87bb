/* fuzz_dbscan.c - DBSCAN over features, dense and CSR distances. Checks:
 * a refused call leaves the outputs untouched; an accepted one gives labels
 * in [-1, k) with every cluster used, core points labelled, and the same
 * result for 1 and 2 threads; over features, rlcc_pseudo_labels() with
 * three radii around eps (one Gram pass) gives the same normal run, and
 * (1.5) the grid, the tree and auto give the brute path's labels, core
 * flags, cluster count and pair count, or its error code. */
#include <stdlib.h>

#include "fuzz_input.h"
#include "rlcc.h"

enum { MAX_N = 48, MAX_D = 6 };

/* Every algorithm against brute, on the same features (1.5). */
static int check_algorithms(const float *values, int64_t n, int64_t d, double eps, int64_t ms,
                            int32_t metric)
{
    int32_t want[MAX_N], labels[MAX_N];
    uint8_t want_core[MAX_N], core[MAX_N];
    int64_t want_k = -1, k = -1;
    rlcc_dbscan_options o;
    rlcc_dbscan_options_init(&o, sizeof o);
    o.metric = metric;
    o.algorithm = RLCC_DBSCAN_BRUTE;
    rlcc_dbscan_stats want_stats, stats;
    rlcc_dbscan_stats_init(&want_stats, sizeof want_stats);
    const int want_rc =
        rlcc_dbscan_features(values, n, d, d, eps, ms, &o, want, &want_k, want_core, &want_stats);
    for (int32_t a = RLCC_DBSCAN_AUTO; a <= RLCC_DBSCAN_TREE; a++) {
        const int refused = metric == RLCC_METRIC_COSINE
                                ? a >= RLCC_DBSCAN_GRID
                                : a == RLCC_DBSCAN_GRID && d > RLCC_DBSCAN_GRID_MAX_DIM;
        o.algorithm = a;
        o.n_threads = 1 + (a & 1);
        rlcc_dbscan_stats_init(&stats, sizeof stats);
        const int rc = rlcc_dbscan_features(values, n, d, d, eps, ms, &o, labels, &k, core, &stats);
        if (refused) {
            if (rc != RLCC_E_INVALID_ARGUMENT)
                return 1;
            continue;
        }
        if (rc != want_rc)
            return rc == RLCC_E_MEMORY_LIMIT || rc == RLCC_E_OUT_OF_MEMORY ? 0 : 1;
        if (rc != RLCC_OK)
            continue;
        if (k != want_k || memcmp(labels, want, sizeof(int32_t) * (size_t)n) != 0 ||
            memcmp(core, want_core, (size_t)n) != 0 ||
            stats.n_neighbor_pairs != want_stats.n_neighbor_pairs ||
            stats.n_core != want_stats.n_core || stats.n_noise != want_stats.n_noise)
            return 1;
    }
    return 0;
}

static int run(int kind, const float *values, int64_t n, int64_t d, const int64_t *indptr,
               const int32_t *indices, double eps, int64_t ms, int32_t metric, int threads,
               int32_t *labels, int64_t *k, uint8_t *core)
{
    rlcc_dbscan_options o;
    rlcc_dbscan_options_init(&o, sizeof o);
    o.n_threads = threads;
    o.metric = metric;
    if (kind == 0)
        return rlcc_dbscan_features(values, n, d, d, eps, ms, &o, labels, k, core, NULL);
    if (kind == 1)
        return rlcc_dbscan_dense(values, n, n, eps, ms, &o, labels, k, core, NULL);
    return rlcc_dbscan_csr(n, indptr, indices, values, eps, ms, &o, labels, k, core, NULL);
}

static int check_input(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    const int kind = (int)fuzz_int(&in, 0, 2);
    const int64_t n = fuzz_int(&in, 0, MAX_N), d = fuzz_int(&in, 1, MAX_D);
    const int32_t metric = (int32_t)fuzz_int(&in, 0, 1);
    const double eps = fuzz_int(&in, 0, 40) / 16.0 - (fuzz_byte(&in) == 7 ? 1.0 : 0.0);
    const int64_t ms = fuzz_int(&in, 0, 8);
    static float values[MAX_N * MAX_N];
    static int64_t indptr[MAX_N + 1];
    static int32_t indices[MAX_N * MAX_N];
    const int64_t count = kind == 0 ? n * d : n * n;
    for (int64_t e = 0; e < count; e++)
        values[e] = kind == 0 ? fuzz_float(&in) : fabsf(fuzz_float(&in));
    if (kind == 2) { /* a CSR graph: some entries per row, sometimes malformed */
        int64_t nnz = 0;
        indptr[0] = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t c = 0;
            for (int64_t j = 0; j < n; j++)
                if (fuzz_byte(&in) % 3 == 0)
                    indices[nnz + c++] = (int32_t)j;
            if (c > 1 && fuzz_byte(&in) == 9) /* an unsorted or duplicate column */
                indices[nnz] = indices[nnz + 1];
            nnz += c;
            indptr[i + 1] = nnz;
        }
    }
    int32_t labels[MAX_N], labels2[MAX_N];
    uint8_t core[MAX_N], core2[MAX_N];
    int64_t k = -77, k2 = -77;
    memset(labels, 0x5A, sizeof labels);
    if (kind == 0 && check_algorithms(values, n, d, eps, ms, metric) != 0)
        return 1;
    int rc = run(kind, values, n, d, indptr, indices, eps, ms, metric, 1, labels, &k, core);
    if (rc == RLCC_E_INVALID_ARGUMENT) { /* untouched */
        for (int64_t i = 0; i < n; i++)
            if (labels[i] != 0x5A5A5A5A)
                return 1;
        return k == -77 ? 0 : 1;
    }
    if (rc != RLCC_OK)
        return rc == RLCC_E_MEMORY_LIMIT || rc == RLCC_E_OUT_OF_MEMORY ? 0 : 1;
    if (run(kind, values, n, d, indptr, indices, eps, ms, metric, 2, labels2, &k2, core2) != RLCC_OK)
        return 1;
    if (k != k2 || memcmp(labels, labels2, sizeof(int32_t) * (size_t)n) != 0 ||
        memcmp(core, core2, (size_t)n) != 0)
        return 1;
    int used[MAX_N + 1] = {0};
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < -1 || labels[i] >= k || (core[i] && labels[i] < 0))
            return 1;
        if (labels[i] >= 0)
            used[labels[i]] = 1;
    }
    for (int64_t c = 0; c < k; c++)
        if (!used[c])
            return 1;
    if (kind == 0) { /* the shared-pass runs of pseudo labels, eps in the middle */
        rlcc_pseudo_options p;
        rlcc_pseudo_options_init(&p, sizeof p);
        p.metric = metric;
        p.outliers = RLCC_OUTLIERS_KEEP;
        p.reliability = 0;
        p.min_samples = ms;
        p.n_threads = 1 + (int32_t)fuzz_int(&in, 0, 1);
        const double below = eps - fuzz_int(&in, 0, 8) / 32.0, above = eps + fuzz_int(&in, 0, 8) / 32.0;
        const int order = (int)fuzz_int(&in, 0, 2); /* the library sorts them */
        p.eps[order] = eps;
        p.eps[(order + 1) % 3] = above;
        p.eps[(order + 2) % 3] = below > 0.0 ? below : eps;
        rc = rlcc_pseudo_labels(values, n, d, d, &p, labels2, &k2, NULL);
        if (rc == RLCC_OK)
            return k2 != k || memcmp(labels, labels2, sizeof(int32_t) * (size_t)n) != 0;
        return rc == RLCC_E_MEMORY_LIMIT || rc == RLCC_E_OUT_OF_MEMORY ? 0 : 1;
    }
    return 0;
}
FUZZ_ENTRY(check_input)
