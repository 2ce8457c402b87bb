/* fuzz_jaccard.c - kNN and the Jaccard distance, with computed or fuzzed
 * caller lists. Checks: kNN lists sorted by distance, self at distance 0,
 * the block kNN over a fuzzed split equal to them byte for byte;
 * the Jaccard result symmetric, in [0, 1), rows sorted, equal to the dense
 * result, and the same for 1 and 2 threads; refusals leave *out alone. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "rlcc.h"

enum { MAX_N = 40, MAX_D = 5, MAX_K = 12 };

static int check_input(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    const int64_t n = fuzz_int(&in, 0, MAX_N), d = fuzz_int(&in, 1, MAX_D);
    rlcc_jaccard_options o;
    rlcc_jaccard_options_init(&o, sizeof o);
    o.k1 = (int32_t)fuzz_int(&in, 0, MAX_K);
    o.k2 = (int32_t)fuzz_int(&in, 0, MAX_K);
    o.variant = (int32_t)fuzz_int(&in, 0, 1);
    o.normalize = (int32_t)fuzz_int(&in, 0, 1);
    o.cutoff = (float)fuzz_int(&in, 0, 17) / 16.0f;
    const int own_lists = fuzz_byte(&in) % 2;
    static float x[MAX_N * MAX_D];
    static int64_t lists[MAX_N * MAX_K];
    for (int64_t e = 0; e < n * d; e++)
        x[e] = fuzz_byte(&in) == 3 ? fuzz_float(&in) : fuzz_plain_float(&in);
    for (int64_t e = 0; e < n * MAX_K; e++)
        lists[e] = fuzz_int(&in, -1, MAX_N);

    /* kNN */
    if (o.k1 >= 1 && o.k1 <= n) {
        static int64_t idx[MAX_N * MAX_K];
        static float dist[MAX_N * MAX_K];
        int rc = rlcc_knn(x, n, d, d, o.k1, NULL, idx, dist);
        if (rc == RLCC_OK)
            for (int64_t i = 0; i < n; i++)
                for (int64_t r = 0; r < o.k1; r++) {
                    if (idx[i * o.k1 + r] < 0 || idx[i * o.k1 + r] >= n)
                        return 1;
                    if (r > 0 && dist[i * o.k1 + r] < dist[i * o.k1 + r - 1])
                        return 1;
                }
        /* the block kNN over a fuzzed split of queries and references, the
         * second block first and offered twice: the same bytes */
        const int64_t cut = n > 0 ? fuzz_int(&in, 0, n) : 0;
        rlcc_knn_state *s = NULL;
        static int64_t bidx[MAX_N * MAX_K];
        static float bdist[MAX_N * MAX_K];
        if (rc == RLCC_OK && n > 0 && rlcc_knn_state_new(n, 0, d, o.k1, NULL, &s) == RLCC_OK) {
            int brc = rlcc_knn_update(s, x, d, x + cut * d, n - cut, d, cut);
            brc |= rlcc_knn_update(s, x, d, x + cut * d, n - cut, d, cut);
            brc |= rlcc_knn_update(s, x, d, x, cut, d, 0);
            brc |= rlcc_knn_finish(s, bidx, bdist);
            rlcc_knn_state_free(s);
            if (brc != RLCC_OK || memcmp(bidx, idx, sizeof(int64_t) * (size_t)(n * o.k1)) != 0
                || memcmp(bdist, dist, sizeof(float) * (size_t)(n * o.k1)) != 0)
                return 1;
        }
    }
    rlcc_csr *sentinel = (rlcc_csr *)(void *)&in, *out = sentinel;
    const int64_t *given = own_lists ? lists : NULL;
    int rc = rlcc_jaccard(x, n, d, d, given, &o, &out);
    if (rc != RLCC_OK)
        return out == sentinel && rc != RLCC_E_CANCELED ? 0 : 1;
    const int64_t *ip = rlcc_csr_indptr(out);
    const int32_t *ix = rlcc_csr_indices(out);
    const float *v = rlcc_csr_data(out);
    static float dense[MAX_N * MAX_N];
    int bad = rlcc_jaccard_dense(x, n, d, d, given, &o, dense, n > 0 ? n : 1) != RLCC_OK;
    for (int64_t i = 0; i < n && !bad; i++) {
        int64_t stored = 0;
        for (int64_t e = ip[i]; e < ip[i + 1]; e++) {
            bad |= !(v[e] >= 0.0f && v[e] < o.cutoff);
            bad |= e > ip[i] && ix[e] <= ix[e - 1];
            bad |= dense[i * n + ix[e]] != v[e];
            bad |= dense[(int64_t)ix[e] * n + i] != v[e]; /* symmetric */
        }
        for (int64_t m = 0; m < n; m++)
            stored += dense[i * n + m] < o.cutoff;
        bad |= stored != ip[i + 1] - ip[i];
    }
    o.n_threads = 2;
    rlcc_csr *two = NULL;
    if (!bad && rlcc_jaccard(x, n, d, d, given, &o, &two) == RLCC_OK) {
        bad |= rlcc_csr_nnz(two) != rlcc_csr_nnz(out);
        bad |= !bad && memcmp(rlcc_csr_data(two), v, sizeof(float) * (size_t)rlcc_csr_nnz(out)) != 0;
    } else {
        bad = 1;
    }
    rlcc_csr_free(two);
    rlcc_csr_free(out);
    return bad;
}
FUZZ_ENTRY(check_input)
