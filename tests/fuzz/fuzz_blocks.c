/* fuzz_blocks.c - the block primitives of 1.8 over arbitrary input.
 *
 * The first byte chooses:
 *   0 mod 3: rlcc_knn_state_load() of the rest (resealed first when the
 *            second byte is even, so the fuzzer reaches the checks behind
 *            the checksum). A refused state gives RLCC_E_INVALID_ARGUMENT
 *            and leaves *state alone; an accepted one saves back to the
 *            same bytes (this librlcc as the writer), merges into a fresh
 *            state of its shape, and finishes or refuses to.
 *   1 mod 3: rows decoded from the bytes (NaN, Inf, ties, duplicates) cut
 *            into blocks composed by updates, pair updates and states sent
 *            through bytes: the lists of rlcc_knn() on the whole matrix, or
 *            the same refusal (a refused call changes no state).
 *   2 mod 3: unit rows and blocks through the block Jaccard: the
 *            concatenated rows equal rlcc_jaccard()'s, byte for byte, and
 *            rlcc_pseudo_labels_graph() of them rlcc_pseudo_labels(). */
#include <stdlib.h>

#include "../c/state_format.h"
#include "fuzz_input.h"
#include "rlcc.h"

enum { MAX_N = 48, MAX_D = 6, MAX_BLOCKS = 4 };
#define BOUND ((int64_t)64 << 20)

static int load_bytes(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    const size_t n = size - 1;
    if (data[0] % 2 == 0 && n >= 28) {
        set_le64(s + 16, n);
        reseal(s, n);
    }
    rlcc_knn_options o;
    rlcc_knn_options_init(&o, sizeof o);
    o.max_bytes = BOUND;
    rlcc_knn_state *st = (rlcc_knn_state *)(void *)s; /* a sentinel */
    int bad = 0;
    const int rc = rlcc_knn_state_load(s, n, &o, &st);
    if (rc != RLCC_OK) {
        bad = (rc != RLCC_E_INVALID_ARGUMENT && rc != RLCC_E_MEMORY_LIMIT) || st != (void *)s;
        free(s);
        return bad;
    }
    size_t again = 0;
    bad |= rlcc_knn_state_save(st, NULL, 0, &again) != RLCC_OK || again != n;
    uint8_t *copy = malloc(again ? again : 1);
    if (!bad && rlcc_knn_state_save(st, copy, again, &again) == RLCC_OK) {
        set_le32(s + 12, le32(copy + 12)); /* the writer's version is this librlcc's */
        reseal(s, n);
        bad |= memcmp(copy, s, n) != 0;
    }
    rlcc_knn_stats stats;
    rlcc_knn_stats_init(&stats, sizeof stats);
    bad |= rlcc_knn_state_stats(st, &stats) != RLCC_OK;
    /* shape from the header: n_queries, offset, d, k */
    const int64_t nq = (int64_t)le64(s + 24), off = (int64_t)le64(s + 32), d = (int64_t)le64(s + 40),
                  k = (int64_t)le64(s + 48);
    rlcc_knn_state *fresh = NULL;
    if (nq <= 4096 && k <= 4096 && rlcc_knn_state_new(nq, off, d, k, &o, &fresh) == RLCC_OK) {
        const int m = rlcc_knn_merge(fresh, st);
        bad |= m != RLCC_OK && m != RLCC_E_MEMORY_LIMIT;
        int64_t *idx = malloc(sizeof *idx * (size_t)(nq * k + 1));
        const int f = rlcc_knn_finish(fresh, idx, NULL);
        bad |= f != RLCC_OK && f != RLCC_E_INVALID_ARGUMENT && f != RLCC_E_MEMORY_LIMIT;
        free(idx);
        rlcc_knn_state_free(fresh);
    }
    rlcc_knn_state_free(st);
    free(copy);
    free(s);
    return bad;
}

/* Sorted random cuts of n rows into blocks. */
static int cuts(fuzz_input *in, int64_t n, int64_t *cut)
{
    const int blocks = (int)fuzz_int(in, 1, MAX_BLOCKS);
    cut[0] = 0, cut[blocks] = n;
    for (int b = 1; b < blocks; b++)
        cut[b] = fuzz_int(in, 0, n);
    for (int a = 1; a < blocks; a++)
        for (int b = a; b > 1 && cut[b] < cut[b - 1]; b--) {
            const int64_t t = cut[b];
            cut[b] = cut[b - 1], cut[b - 1] = t;
        }
    return blocks;
}

static int knn_blocks(fuzz_input *in)
{
    const int64_t n = fuzz_int(in, 1, MAX_N), d = fuzz_int(in, 1, MAX_D), k = fuzz_int(in, 1, n);
    float x[MAX_N * MAX_D];
    for (int64_t e = 0; e < n * d; e++)
        x[e] = fuzz_byte(in) % 4 == 0 && e >= d ? x[e - d] : fuzz_float(in);
    int64_t want[MAX_N * MAX_N], got[MAX_N * MAX_N];
    float want_sq[MAX_N * MAX_N], got_sq[MAX_N * MAX_N];
    const int want_rc = rlcc_knn(x, n, d, d, k, NULL, want, want_sq);
    int64_t cut[MAX_BLOCKS + 1];
    const int blocks = cuts(in, n, cut);
    rlcc_knn_options o;
    rlcc_knn_options_init(&o, sizeof o);
    o.n_threads = 1 + (int32_t)fuzz_int(in, 0, 1);
    o.max_bytes = BOUND;
    rlcc_knn_state *s[MAX_BLOCKS] = {NULL};
    int rc = RLCC_OK, bad = 0;
    for (int b = 0; b < blocks; b++) {
        if (rlcc_knn_state_new(cut[b + 1] - cut[b], cut[b], d, k, &o, &s[b]) != RLCC_OK)
            return 1;
        const int u = rlcc_knn_update(s[b], x + cut[b] * d, d, x + cut[b] * d, cut[b + 1] - cut[b], d, cut[b]);
        rc = rc == RLCC_OK ? u : rc;
    }
    for (int a = 0; a < blocks; a++)
        for (int b = a + 1; b < blocks; b++) {
            const int swap = fuzz_byte(in) % 2;
            const int p = swap ? b : a, q = swap ? a : b;
            const int u = rlcc_knn_update_pair(s[p], x + cut[p] * d, d, s[q], x + cut[q] * d, d);
            rc = rc == RLCC_OK ? u : rc;
        }
    for (int b = 0; b < blocks && rc == RLCC_OK; b++) {
        const int64_t nq = cut[b + 1] - cut[b];
        if (fuzz_byte(in) % 2) { /* through bytes into a fresh state */
            size_t size = 0;
            bad |= rlcc_knn_state_save(s[b], NULL, 0, &size) != RLCC_OK;
            uint8_t *bytes = malloc(size ? size : 1);
            rlcc_knn_state *loaded = NULL, *fresh = NULL;
            bad |= rlcc_knn_state_save(s[b], bytes, size, &size) != RLCC_OK;
            bad |= rlcc_knn_state_load(bytes, size, &o, &loaded) != RLCC_OK;
            bad |= rlcc_knn_state_new(nq, cut[b], d, k, &o, &fresh) != RLCC_OK;
            bad |= !bad && rlcc_knn_merge(fresh, loaded) != RLCC_OK;
            rlcc_knn_state_free(loaded);
            rlcc_knn_state_free(s[b]);
            s[b] = fresh;
            free(bytes);
            if (bad)
                break;
        }
        if (nq > 0) {
            const int f = rlcc_knn_finish(s[b], got + cut[b] * k, got_sq + cut[b] * k);
            rc = rc == RLCC_OK ? f : rc;
        }
    }
    for (int b = 0; b < blocks; b++)
        rlcc_knn_state_free(s[b]);
    if (bad)
        return 1;
    /* the same refusal (NaN, Inf: both refuse the rows), or the same lists */
    if ((want_rc == RLCC_OK) != (rc == RLCC_OK))
        return !(want_rc == RLCC_OK && rc == RLCC_E_MEMORY_LIMIT);
    return want_rc == RLCC_OK && (memcmp(want, got, sizeof *got * (size_t)(n * k)) != 0 ||
                                  memcmp(want_sq, got_sq, sizeof *got_sq * (size_t)(n * k)) != 0);
}

/* Appends the rows of part, the rows of the whole from first_row on, to
 * the whole's CSR arrays (ptr already holds the rows before them). */
static void append_rows(const rlcc_csr *part, int64_t first_row, int64_t *ptr, int32_t *idx,
                        float *val)
{
    const int64_t *p = rlcc_csr_indptr(part), base = ptr[first_row];
    memcpy(idx + base, rlcc_csr_indices(part), sizeof(int32_t) * (size_t)p[rlcc_csr_rows(part)]);
    memcpy(val + base, rlcc_csr_data(part), sizeof(float) * (size_t)p[rlcc_csr_rows(part)]);
    for (int64_t r = 0; r < rlcc_csr_rows(part); r++)
        ptr[first_row + r + 1] = base + p[r + 1];
}

static int jaccard_blocks(fuzz_input *in)
{
    const int64_t n = fuzz_int(in, 2, MAX_N), d = fuzz_int(in, 1, MAX_D);
    float x[MAX_N * MAX_D];
    for (int64_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int64_t t = 0; t < d; t++) {
            x[i * d + t] = i > 0 && fuzz_byte(in) % 5 == 0 ? x[(i - 1) * d + t] : fuzz_plain_float(in);
            sum += (double)x[i * d + t] * x[i * d + t];
        }
        if (sum == 0.0)
            x[i * d] = 1.0f, sum = 1.0;
        for (int64_t t = 0; t < d; t++)
            x[i * d + t] = (float)(x[i * d + t] / sqrt(sum));
    }
    rlcc_jaccard_options o;
    rlcc_jaccard_options_init(&o, sizeof o);
    o.k1 = (int32_t)fuzz_int(in, 1, n);
    o.k2 = (int32_t)fuzz_int(in, 1, o.k1);
    o.variant = fuzz_byte(in) % 2 ? RLCC_JACCARD_SQEUCLIDEAN : RLCC_JACCARD_DOT;
    o.cutoff = (float)fuzz_int(in, 1, 8) / 8.0f;
    o.max_bytes = BOUND;
    int64_t *knn = malloc(sizeof *knn * (size_t)(n * o.k1));
    if (rlcc_knn(x, n, d, d, o.k1, NULL, knn, NULL) != RLCC_OK) {
        free(knn);
        return 0; /* rows the norm check of DOT refuses are rlcc_jaccard's business */
    }
    rlcc_csr *want = NULL;
    const int want_rc = rlcc_jaccard(x, n, d, d, knn, &o, &want);
    int64_t cut[MAX_BLOCKS + 1];
    const int blocks = cuts(in, n, cut);
    int64_t v_ptr[MAX_N + 1] = {0}, j_ptr[MAX_N + 1] = {0};
    int32_t *v_idx = malloc(sizeof(int32_t) * MAX_N * MAX_N), *j_idx = malloc(sizeof(int32_t) * MAX_N * MAX_N);
    float *v_val = malloc(sizeof(float) * MAX_N * MAX_N), *j_val = malloc(sizeof(float) * MAX_N * MAX_N);
    int rc = RLCC_OK, bad = 0;
    for (int b = 0; b < blocks && rc == RLCC_OK; b++) {
        rlcc_jaccard_plan *plan = NULL;
        rc = rlcc_jaccard_plan_new(knn, n, cut[b], cut[b + 1], d, &o, &plan);
        for (int f = blocks - 1; f >= 0 && rc == RLCC_OK; f--)
            rc = rlcc_jaccard_plan_offer(plan, x + cut[b] * d, d, x + cut[f] * d, cut[f + 1] - cut[f], d, cut[f]);
        rlcc_csr *w = NULL;
        if (rc == RLCC_OK)
            rc = rlcc_jaccard_plan_weights(plan, &w);
        if (rc == RLCC_OK)
            append_rows(w, cut[b], v_ptr, v_idx, v_val);
        rlcc_csr_free(w);
        rlcc_jaccard_plan_free(plan);
    }
    for (int b = 0; b < blocks && rc == RLCC_OK; b++) {
        rlcc_csr *part = NULL;
        rc = rlcc_jaccard_rows(n, v_ptr, v_idx, v_val, knn, cut[b], cut[b + 1], &o, &part);
        if (rc == RLCC_OK)
            append_rows(part, cut[b], j_ptr, j_idx, j_val);
        rlcc_csr_free(part);
    }
    if ((want_rc == RLCC_OK) != (rc == RLCC_OK))
        bad = 1;
    if (!bad && rc == RLCC_OK) {
        const int64_t nnz = rlcc_csr_nnz(want);
        bad = memcmp(j_ptr, rlcc_csr_indptr(want), sizeof(int64_t) * (size_t)(n + 1)) != 0
              || memcmp(j_idx, rlcc_csr_indices(want), sizeof(int32_t) * (size_t)nnz) != 0
              || memcmp(j_val, rlcc_csr_data(want), sizeof(float) * (size_t)nnz) != 0;
        rlcc_pseudo_options p;
        rlcc_pseudo_options_init(&p, sizeof p);
        p.k1 = o.k1, p.k2 = o.k2, p.variant = o.variant, p.cutoff = o.cutoff, p.knn = knn;
        p.eps[0] = o.cutoff * 0.25, p.eps[1] = o.cutoff * 0.5, p.eps[2] = o.cutoff * 0.75;
        p.min_samples = fuzz_int(in, 1, 4);
        p.max_bytes = BOUND;
        int32_t want_l[MAX_N], got_l[MAX_N];
        int64_t wk = -1, gk = -2;
        double wt = -1, gt = -2;
        const int a = rlcc_pseudo_labels(x, n, d, d, &p, want_l, &wk, &wt);
        const int g = rlcc_pseudo_labels_graph(n, j_ptr, j_idx, j_val, &p, got_l, &gk, &gt);
        bad |= a != g || (a == RLCC_OK && (wk != gk || wt != gt || memcmp(want_l, got_l, sizeof(int32_t) * (size_t)n) != 0));
    }
    rlcc_csr_free(want);
    free(v_idx), free(v_val), free(j_idx), free(j_val), free(knn);
    return bad;
}

static int check_input(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 3 == 0)
        return load_bytes(data + 1, size - 1);
    fuzz_input in = {data + 1, size - 1, 0};
    return data[0] % 3 == 1 ? knn_blocks(&in) : jaccard_blocks(&in);
}
FUZZ_ENTRY(check_input)
