/*
 * knn_state.c - the block kNN (rlcc.h: "Block kNN"): a caller-owned state
 * for a range of query rows, fed blocks of reference rows (rlcc_knn_update),
 * pairs of blocks from one Gram block (rlcc_knn_update_pair), other states
 * (rlcc_knn_merge), and bytes (rlcc_knn_state_save, rlcc_knn_state_load), so
 * that rows held on other machines, GPUs or shards give the lists rlcc_knn()
 * gives the whole matrix. Every decision is knn.c's exact engine.
 *
 * Every call is transactional: it works on copies of the lists and swaps
 * them in only when everything succeeded.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "knn.h"

#define KNN_STATS_SIZE_1_3 (offsetof(rlcc_knn_stats, peak_bytes) + sizeof(int64_t))

struct rlcc_knn_state {
    int64_t n_queries, query_offset, d, k;
    int32_t n_threads;    /* as the options gave it: resolved by each call */
    rlcc__budget budget;  /* the state's lists, then each call's working memory */
    rlcc__knn_lists lists;
    int64_t n_updates, n_decided, n_fallback;
    atomic_int busy;     /* one call at a time */
};

int rlcc_knn_stats_init(rlcc_knn_stats *stats, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_knn_stats defaults = {.struct_size = sizeof defaults};
    return rlcc__init_struct(stats, struct_size, &defaults, sizeof defaults, KNN_STATS_SIZE_1_3,
                             "stats");
}

/* The checks of a state's shape (rlcc_knn_state_new, rlcc_knn_state_load). */
static int check_shape(int64_t n_queries, int64_t query_offset, int64_t d, int64_t k)
{
    if (n_queries < 0 || n_queries > INT32_MAX)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_queries: %lld must be in [0, INT32_MAX]",
                          (long long)n_queries);
    if (query_offset < 0 || query_offset > INT64_MAX - n_queries)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "query_offset: %lld must be >= 0 (and "
                          "query_offset + n_queries fit int64)", (long long)query_offset);
    if (d < 1 || d > INT32_MAX)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "d: %lld must be in [1, INT32_MAX]",
                          (long long)d);
    if (k < 1 || k > INT32_MAX)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld must be in [1, INT32_MAX]",
                          (long long)k);
    return RLCC_OK;
}

/* A new state with empty lists, its shape checked; NULL and err on failure. */
static rlcc_knn_state *state_make(int64_t n_queries, int64_t query_offset, int64_t d, int64_t k,
                                  const rlcc_knn_options *opts, int *err)
{
    rlcc_knn_state *s = rlcc__zalloc(sizeof *s);
    if (s == NULL) {
        *err = rlcc__fail(RLCC_E_OUT_OF_MEMORY, "state: out of memory");
        return NULL;
    }
    *s = (rlcc_knn_state){.n_queries = n_queries, .query_offset = query_offset, .d = d, .k = k,
                          .n_threads = opts->n_threads};
    atomic_init(&s->busy, 0);
    rlcc__budget_init(&s->budget, opts->max_bytes);
    *err = rlcc__knn_lists_init(&s->lists, n_queries, k, &s->budget);
    if (*err != RLCC_OK) {
        rlcc__system_free(s, sizeof *s);
        return NULL;
    }
    return s;
}

int rlcc_knn_state_new(int64_t n_queries, int64_t query_offset, int64_t d, int64_t k,
                       const rlcc_knn_options *options, rlcc_knn_state **state)
{
    rlcc__clear_error();
    rlcc_knn_options opts;
    int err = rlcc__knn_read_options(options, &opts);
    if (err == RLCC_OK && state == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "state: is NULL");
    if (err == RLCC_OK)
        err = check_shape(n_queries, query_offset, d, k);
    rlcc_knn_state *s = err == RLCC_OK ? state_make(n_queries, query_offset, d, k, &opts, &err)
                                       : NULL;
    if (s != NULL)
        *state = s;
    return err;
}

void rlcc_knn_state_free(rlcc_knn_state *state)
{
    if (state == NULL)
        return;
    rlcc__knn_lists_release(&state->lists, &state->budget);
    rlcc__system_free(state, sizeof *state);
}

/* Claims the state for one call, or refuses a concurrent one (never waits,
 * so two calls that each claim two states cannot deadlock). A read-only call
 * (a merge's source, the stats) claims too: only the flag is written. */
static int claim(const rlcc_knn_state *state, const char *name)
{
    if (state == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: is NULL", name);
    int expected = 0;
    if (!atomic_compare_exchange_strong((atomic_int *)&state->busy, &expected, 1))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: in use by another call", name);
    return RLCC_OK;
}

static void release(const rlcc_knn_state *state)
{
    atomic_store((atomic_int *)&state->busy, 0);
}

int rlcc_knn_update(rlcc_knn_state *state, const float *queries, int64_t ldq, const float *refs,
                    int64_t n_refs, int64_t ldr, int64_t ref_offset)
{
    rlcc__clear_error();
    int err = claim(state, "state");
    if (err != RLCC_OK)
        return err;
    const int64_t nq = state->n_queries, d = state->d;
    err = rlcc__check_matrix("queries", queries, nq, d, ldq);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("refs", refs, n_refs, d, ldr);
    if (err == RLCC_OK && (ref_offset < 0 || ref_offset > INT64_MAX - n_refs))
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "ref_offset: %lld must be >= 0 (and "
                         "ref_offset + n_refs fit int64)", (long long)ref_offset);
    if (err != RLCC_OK || nq == 0 || n_refs == 0) {
        release(state);
        return err;
    }
    /* the same rows as queries and references: the triangle once */
    const int symmetric = refs == queries && ldr == ldq && n_refs == nq
                          && ref_offset == state->query_offset;
    const int n_threads = rlcc__resolve_threads(state->n_threads);
    rlcc__budget *budget = &state->budget;
    double *qn2 = rlcc__alloc(budget, nq, sizeof *qn2, "query norms", &err);
    double *rn2 = qn2 && !symmetric ? rlcc__alloc(budget, n_refs, sizeof *rn2, "reference norms", &err)
                                    : qn2;
    if (rn2 != NULL) {
        err = rlcc__row_norms("queries", queries, nq, d, ldq, n_threads, qn2);
        if (err == RLCC_OK && !symmetric)
            err = rlcc__row_norms("refs", refs, n_refs, d, ldr, n_threads, rn2);
    }
    if (rn2 != NULL && err == RLCC_OK) {
        /* the lists change only if the whole update succeeds */
        rlcc__knn_lists work;
        err = rlcc__knn_lists_copy(&work, &state->lists, budget);
        if (err == RLCC_OK) {
            int64_t decided = 0, fallback = 0;
            err = rlcc__knn_update_lists(&work, queries, nq, ldq, qn2, refs, n_refs, ldr, ref_offset, rn2, d,
                             symmetric, 0, n_threads, budget, &decided, &fallback);
            if (err == RLCC_OK) {
                rlcc__knn_lists old = state->lists;
                state->lists = work;
                work = old;
                state->n_updates++;
                state->n_decided += decided;
                state->n_fallback += fallback;
            }
            rlcc__knn_lists_release(&work, budget);
        }
    }
    if (!symmetric)
        rlcc__free(budget, rn2, n_refs, sizeof *rn2);
    rlcc__free(budget, qn2, nq, sizeof *qn2);
    release(state);
    return err;
}

/* The two states' query rows, checked for a pair update. */
static int check_pair(const rlcc_knn_state *a, const float *rows_a, int64_t lda,
                      const rlcc_knn_state *b, const float *rows_b, int64_t ldb)
{
    if (a->d != b->d)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "b: rows of width d = %lld; a's are %lld",
                          (long long)b->d, (long long)a->d);
    int err = rlcc__check_matrix("rows_a", rows_a, a->n_queries, a->d, lda);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("rows_b", rows_b, b->n_queries, b->d, ldb);
    const int64_t a1 = a->query_offset + a->n_queries, b1 = b->query_offset + b->n_queries;
    if (err == RLCC_OK && a->n_queries > 0 && b->n_queries > 0 && a->query_offset < b1
        && b->query_offset < a1)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "b: its rows %lld .. %lld overlap a's rows %lld .. %lld (a pair update "
                         "is for two different blocks; offer a block to itself with "
                         "rlcc_knn_update)",
                         (long long)b->query_offset, (long long)(b1 - 1),
                         (long long)a->query_offset, (long long)(a1 - 1));
    return err;
}

int rlcc_knn_update_pair(rlcc_knn_state *a, const float *rows_a, int64_t lda, rlcc_knn_state *b,
                         const float *rows_b, int64_t ldb)
{
    rlcc__clear_error();
    if (b != NULL && a == b)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "b: is the same state as a");
    int err = claim(a, "a");
    if (err != RLCC_OK)
        return err;
    if ((err = claim(b, "b")) != RLCC_OK) {
        release(a);
        return err;
    }
    err = check_pair(a, rows_a, lda, b, rows_b, ldb);
    const int64_t na = a->n_queries, nb = b->n_queries, d = a->d;
    const int n_threads = rlcc__resolve_threads(a->n_threads);
    rlcc__budget *budget = &a->budget;
    double *an2 = NULL, *bn2 = NULL;
    if (err == RLCC_OK && na > 0 && nb > 0) {
        an2 = rlcc__alloc(budget, na, sizeof *an2, "query norms", &err);
        bn2 = an2 ? rlcc__alloc(budget, nb, sizeof *bn2, "reference norms", &err) : NULL;
    }
    if (bn2 != NULL) {
        err = rlcc__row_norms("rows_a", rows_a, na, d, lda, n_threads, an2);
        if (err == RLCC_OK)
            err = rlcc__row_norms("rows_b", rows_b, nb, d, ldb, n_threads, bn2);
    }
    if (bn2 != NULL && err == RLCC_OK) {
        /* both lists change only if the whole update succeeds */
        rlcc__knn_lists work_a = {0}, work_b = {0};
        err = rlcc__knn_lists_copy(&work_a, &a->lists, budget);
        if (err == RLCC_OK)
            err = rlcc__knn_lists_copy(&work_b, &b->lists, &b->budget);
        int64_t decided[2] = {0, 0}, fallback[2] = {0, 0};
        if (err == RLCC_OK)
            err = rlcc__knn_update_pair(&work_a, rows_a, na, lda, an2, a->query_offset, &work_b,
                                        rows_b, nb, ldb, bn2, b->query_offset, d, n_threads,
                                        budget, decided, fallback);
        if (err == RLCC_OK) {
            rlcc__knn_lists old_a = a->lists, old_b = b->lists;
            a->lists = work_a, b->lists = work_b;
            work_a = old_a, work_b = old_b;
            a->n_updates++, b->n_updates++;
            a->n_decided += decided[0], b->n_decided += decided[1];
            a->n_fallback += fallback[0], b->n_fallback += fallback[1];
        }
        rlcc__knn_lists_release(&work_b, &b->budget);
        rlcc__knn_lists_release(&work_a, budget);
    }
    rlcc__free(budget, bn2, nb, sizeof *bn2);
    rlcc__free(budget, an2, na, sizeof *an2);
    release(b);
    release(a);
    return err;
}

int rlcc_knn_merge(rlcc_knn_state *into, const rlcc_knn_state *from)
{
    rlcc__clear_error();
    if (from == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "from: is NULL");
    if (from == into)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "from: is the same state as into");
    int err = claim(into, "into");
    if (err != RLCC_OK)
        return err;
    if ((err = claim(from, "from")) != RLCC_OK) {
        release(into);
        return err;
    }
    if (from->n_queries != into->n_queries || from->query_offset != into->query_offset
             || from->d != into->d || from->k != into->k)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "from: a state for %lld query rows at %lld, d = %lld, k = %lld; into is "
                         "for %lld at %lld, d = %lld, k = %lld",
                         (long long)from->n_queries, (long long)from->query_offset,
                         (long long)from->d, (long long)from->k, (long long)into->n_queries,
                         (long long)into->query_offset, (long long)into->d, (long long)into->k);
    if (err == RLCC_OK) {
        rlcc__knn_lists *l = &into->lists;
        const int64_t k = l->k;
        const int n_threads = rlcc__resolve_threads(into->n_threads);
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
        for (int64_t q = 0; q < l->n; q++)
            for (int32_t e = 0; e < from->lists.size[q]; e++)
                rlcc__knn_lists_add(l, q, from->lists.dist[q * k + e], from->lists.index[q * k + e]);
        into->n_updates += from->n_updates;
        into->n_decided += from->n_decided;
        into->n_fallback += from->n_fallback;
    }
    release(from);
    release(into);
    return err;
}

int rlcc_knn_finish(rlcc_knn_state *state, int64_t *indices, float *sqdist)
{
    rlcc__clear_error();
    int err = claim(state, "state");
    if (err != RLCC_OK)
        return err;
    const int64_t nq = state->n_queries;
    if (nq > 0 && indices == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "indices: is NULL");
    if (err == RLCC_OK)
        err = rlcc__knn_lists_full(&state->lists);
    /* each row sorted in a thread's scratch: the state keeps its heaps for
     * more updates, and holds one row per thread more, not a copy */
    rlcc__knn_lists scratch = {0};
    const int n_threads = rlcc__resolve_threads(state->n_threads);
    if (err == RLCC_OK && nq > 0)
        err = rlcc__knn_outputs_apart(nq, state->k, indices, sqdist, NULL);
    if (err == RLCC_OK && nq > 0)
        err = rlcc__knn_lists_init(&scratch, n_threads, state->k, &state->budget);
    if (err == RLCC_OK && nq > 0)
        rlcc__knn_lists_write(&state->lists, &scratch, n_threads, indices, NULL, sqdist);
    rlcc__knn_lists_release(&scratch, &state->budget);
    release(state);
    return err;
}

int rlcc_knn_state_stats(const rlcc_knn_state *state, rlcc_knn_stats *stats)
{
    rlcc__clear_error();
    if (state == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "state: is NULL");
    if (stats == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "stats: is NULL");
    int err = rlcc__check_struct_size(stats->struct_size, KNN_STATS_SIZE_1_3, "stats");
    if (err == RLCC_OK)
        err = claim(state, "state");
    if (err != RLCC_OK)
        return err;
    const rlcc_knn_stats out = {.struct_size = sizeof out, .n_updates = state->n_updates,
                                .n_redecided = state->n_decided,
                                .n_fallback_rows = state->n_fallback,
                                .peak_bytes = state->budget.peak};
    rlcc__write_struct(stats, &out, sizeof out);
    release(state);
    return RLCC_OK;
}

/* ---- a state as bytes ----------------------------------------------------------
 * The envelope of the refiner's checkpoints with its own magic: magic,
 * format, the writer's RLCC_VERSION_NUMBER, the total size; then the shape
 * and the counts, each row's list size, each row's entries (D as its double
 * bits, the global index) in the heap order they are held in, and a
 * CRC-32C of everything before it. */

static const uint8_t knn_magic[8] = {0x89, 'R', 'L', 'C', 'C', 'K', 'S', 0x1A};
enum {
    KNN_FORMAT = 1,
    KNN_HEADER = 24 + 7 * 8, /* the envelope, the shape, the counts */
    KNN_CHECKSUM = 4,
};

/* The bytes a state with these list sizes takes, or 0 past 64 bits (every
 * count is at most INT32_MAX, so each term fits). */
static uint64_t knn_bytes(int64_t n, const int32_t *size)
{
    uint64_t total = KNN_HEADER + KNN_CHECKSUM + 4 * (uint64_t)n;
    for (int64_t q = 0; q < n; q++) {
        const uint64_t row = 16 * (uint64_t)size[q];
        if (row > UINT64_MAX - total)
            return 0;
        total += row;
    }
    return total;
}

int rlcc_knn_state_save(const rlcc_knn_state *state, void *buffer, size_t capacity,
                        size_t *size)
{
    rlcc__clear_error();
    if (size == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "size: is NULL");
    int err = claim(state, "state");
    if (err != RLCC_OK)
        return err;
    const rlcc__knn_lists *l = &state->lists;
    const uint64_t total = knn_bytes(l->n, l->size);
    if (total == 0 || total > SIZE_MAX)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "state: larger than size_t can count");
    if (err == RLCC_OK && buffer != NULL && capacity < total)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "capacity: %zu bytes; the state needs %llu", capacity,
                         (unsigned long long)total);
    if (total != 0 && total <= SIZE_MAX)
        *size = (size_t)total;
    if (err == RLCC_OK && buffer != NULL) {
        uint8_t *out = buffer;
        memcpy(out, knn_magic, sizeof knn_magic);
        writer w = {out + sizeof knn_magic};
        put_u32(&w, KNN_FORMAT);
        put_u32(&w, RLCC_VERSION_NUMBER);
        put_u64(&w, total);
        const int64_t fields[7] = {state->n_queries, state->query_offset, state->d, state->k,
                                   state->n_updates, state->n_decided, state->n_fallback};
        for (int f = 0; f < 7; f++)
            put_i64(&w, fields[f]);
        for (int64_t q = 0; q < l->n; q++)
            put_i32(&w, l->size[q]);
        for (int64_t q = 0; q < l->n; q++)
            for (int32_t e = 0; e < l->size[q]; e++) {
                put_f64(&w, l->dist[q * l->k + e]);
                put_i64(&w, l->index[q * l->k + e]);
            }
        put_u32(&w, rlcc__crc32c(out, (size_t)(total - KNN_CHECKSUM)));
    }
    release(state);
    return err;
}

static int refuse_bytes(const char *what)
{
    return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "buffer: not a block kNN state of this "
                      "librlcc (%s)", what);
}

/* Row q's decoded entries: D finite and >= 0, indices >= 0 and distinct,
 * held as a max-heap on (D, index), as only the engine leaves them. */
static int check_row(const rlcc__knn_lists *l, int64_t q)
{
    const double *hd = l->dist + q * l->k;
    const int64_t *hi = l->index + q * l->k;
    for (int32_t e = 0; e < l->size[q]; e++) {
        if (!(hd[e] >= 0.0) || isinf(hd[e]) || hi[e] < 0)
            return refuse_bytes("an entry with a negative or non-finite distance or index");
        for (int32_t f = 0; f < e; f++)
            if (hi[f] == hi[e])
                return refuse_bytes("a row that holds an index twice");
        const int32_t parent = (e - 1) / 2;
        if (e > 0 && (hd[parent] < hd[e] || (hd[parent] == hd[e] && hi[parent] < hi[e])))
            return refuse_bytes("a row not in the heap order librlcc writes");
    }
    return RLCC_OK;
}

int rlcc_knn_state_load(const void *buffer, size_t size, const rlcc_knn_options *options,
                        rlcc_knn_state **state)
{
    rlcc__clear_error();
    rlcc_knn_options opts;
    int err = rlcc__knn_read_options(options, &opts);
    if (err == RLCC_OK && state == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "state: is NULL");
    if (err == RLCC_OK && buffer == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "buffer: is NULL");
    if (err != RLCC_OK)
        return err;
    const uint8_t *in = buffer;
    if (size < KNN_HEADER + KNN_CHECKSUM || memcmp(in, knn_magic, sizeof knn_magic) != 0)
        return refuse_bytes("no block kNN magic");
    reader rd = {in + sizeof knn_magic};
    const uint32_t format = take_u32(&rd);
    (void)take_u32(&rd); /* the writer's version: informative */
    const uint64_t declared = take_u64(&rd);
    if (format != KNN_FORMAT)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "buffer: block kNN format %u; this librlcc "
                          "reads format %d", format, KNN_FORMAT);
    if (declared != size)
        return refuse_bytes("its size field disagrees with size");
    if (get_u32(in + size - KNN_CHECKSUM) != rlcc__crc32c(in, size - KNN_CHECKSUM))
        return refuse_bytes("checksum mismatch: damaged bytes");
    int64_t f[7];
    for (int i = 0; i < 7; i++)
        f[i] = take_i64(&rd);
    err = check_shape(f[0], f[1], f[2], f[3]);
    if (err == RLCC_OK && (f[4] < 0 || f[5] < 0 || f[6] < 0))
        err = refuse_bytes("negative counts");
    /* the list sizes must fit before anything is allocated for them */
    if (err == RLCC_OK && (uint64_t)f[0] > (size - KNN_HEADER - KNN_CHECKSUM) / 4)
        err = refuse_bytes("more rows than its bytes hold");
    rlcc_knn_state *s = err == RLCC_OK ? state_make(f[0], f[1], f[2], f[3], &opts, &err) : NULL;
    if (s == NULL)
        return err;
    rlcc__knn_lists *l = &s->lists;
    for (int64_t q = 0; q < l->n; q++) {
        l->size[q] = take_i32(&rd);
        if (l->size[q] < 0 || l->size[q] > l->k)
            err = refuse_bytes("a row's list size outside [0, k]");
    }
    if (err == RLCC_OK && knn_bytes(l->n, l->size) != size)
        err = refuse_bytes("its list sizes disagree with its size");
    for (int64_t q = 0; err == RLCC_OK && q < l->n; q++) {
        for (int32_t e = 0; e < l->size[q]; e++) {
            l->dist[q * l->k + e] = take_f64(&rd);
            l->index[q * l->k + e] = take_i64(&rd);
        }
        err = check_row(l, q);
    }
    if (err != RLCC_OK) {
        rlcc_knn_state_free(s);
        return err;
    }
    s->n_updates = f[4], s->n_decided = f[5], s->n_fallback = f[6];
    *state = s;
    return RLCC_OK;
}
