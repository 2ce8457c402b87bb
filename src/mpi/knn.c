/*
 * knn.c - rlcc_mpi_knn: the exact kNN of rows held in blocks by the ranks
 * of a communicator, byte-identical to rlcc_knn() on the whole matrix.
 *
 * The schedule (docs/scale-out.md). P ranks, block b = rank b's rows, the
 * offsets from the row counts, each block cut in two halves (its first
 * count / 2 rows, the rest). Each rank keeps a librlcc block kNN state for
 * each half of its rows and offers them its own block (each half against
 * itself, then the two halves as a pair: the triangle once). Then, for
 * steps s = 1 .. floor(P / 2), rank r holds the visiting block (r - s) mod
 * P, received from rank r - 1, which got it the step before:
 *
 *   - rank r pairs its halves with the visiting halves
 *     (rlcc_knn_update_pair, one Gram block each), into a state per
 *     visiting half whose bytes (rlcc_knn_state_save) go straight to the
 *     block's owner, which loads and merges them into its own states;
 *   - at the middle step of an even ring (2 s == P) the two ranks half a
 *     ring apart see each other's block; they share its pairs: the lower
 *     one takes the visiting first half against its whole block, the upper
 *     one its own second half against the whole visiting block;
 *   - so each pair of rows is computed once, and every rank does the same
 *     share of the triangle;
 *   - the transfer of the next step's block is posted before this step's
 *     Gram work (two buffers take turns);
 *   - every step ends with a status all-gather: a rank that failed stops
 *     every rank at the same step.
 * Finally S's lists are finished. The block kNN contract of librlcc (any
 * blocking, any order of updates and merges: the same bytes) makes the
 * result rlcc_knn()'s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

/* Message tags: three kinds per ring step. */
enum { TAG_ROWS = 0, TAG_SIZE = 1, TAG_STATE = 2 };
static int tag_of(int64_t step, int kind)
{
    return (int)(4 * step + kind);
}

static int modulo(int64_t a, int p)
{
    const int64_t m = a % p;
    return (int)(m < 0 ? m + p : m);
}

int rlcc_mpi__check_shape(int64_t n_local, int64_t d)
{
    if (n_local < 0 || n_local > INT32_MAX)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "n_local: %lld must be in [0, INT32_MAX]",
                              (long long)n_local);
    if (d < 1 || d > INT32_MAX)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "d: %lld must be in [1, INT32_MAX]",
                              (long long)d);
    return RLCC_OK;
}

int rlcc_mpi__check_rows(const float *x, int64_t n_local, int64_t d, int64_t ldx)
{
    const int err = rlcc_mpi__check_shape(n_local, d);
    if (err != RLCC_OK)
        return err;
    if (ldx < d)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "ldx: %lld must be >= d = %lld",
                              (long long)ldx, (long long)d);
    if (n_local > 0 && x == NULL)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "x: is NULL");
    for (int64_t i = 0; i < n_local; i++)
        for (int64_t t = 0; t < d; t++) {
            const float v = x[i * ldx + t];
            if (v != v || v - v != 0.0f)
                return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "x: row %lld has %s at column %lld",
                                      (long long)i, v != v ? "NaN" : "Inf", (long long)t);
        }
    return RLCC_OK;
}

/* This rank's own checks, before anything is exchanged. */
static int check_local(const float *x, int64_t n_local, int64_t d, int64_t ldx, int64_t k,
                       const int64_t *indices, const float *sqdist)
{
    if (k < 1 || k > INT32_MAX)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "k: %lld must be in [1, INT32_MAX]",
                              (long long)k);
    if (n_local > 0 && indices == NULL)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "indices: is NULL");
    if (n_local > 0 && (const void *)indices == (const void *)sqdist)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "sqdist: is the indices buffer");
    return rlcc_mpi__check_rows(x, n_local, d, ldx);
}

/* The kNN's own verdict, after rlcc_mpi__check_start(): the same k on
 * every rank, at most N. */
static int check_k(const rlcc_mpi__run *run, const int64_t *k_of, int64_t n_total)
{
    for (int r = 1; r < run->size; r++)
        if (k_of[r] != k_of[0])
            return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                                  "k: rank %d has k = %lld, rank 0 has k = %lld (every rank "
                                  "passes the same k)",
                                  r, (long long)k_of[r], (long long)k_of[0]);
    if (k_of[0] > n_total)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "k: %lld must be in [1, N = %lld] (N: the rows of all %d ranks)",
                              (long long)k_of[0], (long long)n_total, run->size);
    return RLCC_OK;
}

/* Everything one call of the ring holds. Each block is two halves (the
 * first count / 2 rows, the rest): a rank's lists are two states, and the
 * states sent home are for half blocks, so that the middle step of an even
 * ring can be shared by its two ranks. */
typedef struct ring {
    rlcc_mpi__run *run;
    int64_t d, k;
    const int64_t *count, *offset;
    const float *own;          /* this rank's rows, contiguous (d floats per row) */
    float *packed;             /* the copy of them when the caller's ldx != d */
    float *visiting[2];        /* two buffers of max-count rows, taking turns */
    uint8_t *out_bytes[2];     /* the bytes of the two half states sent home */
    uint8_t *in_bytes;         /* a half state received */
    size_t bytes_cap;
    rlcc_knn_state *own_state[2]; /* the lists of this rank's two halves */
    MPI_Datatype row_type;
    MPI_Request forward[2];    /* the rows sent to the right and received from the left */
    MPI_Request state_send[4]; /* the two sizes, then the two states */
    int64_t out_size[2];       /* what state_send[0..1] send */
    int64_t in_size[2];        /* what the owner's size receives take */
} ring;

/* The rows of half h of a block of count rows: [*first, *first + return). */
static int64_t half_rows(int64_t count, int h, int64_t *first)
{
    *first = h == 0 ? 0 : count / 2;
    return h == 0 ? count / 2 : count - count / 2;
}

/* Which half pairs rank r computes at step s: visiting half vh against own
 * half oh. Every pair of blocks is computed once: at a step 2 s < P all
 * four; at the middle step of an even ring (2 s == P, the two ranks see
 * each other's block) the lower rank takes the visiting block's first half
 * against its whole block, the upper rank its own second half against the
 * whole visiting block. */
static int computes_half(int64_t s, int r, int p, int vh, int oh)
{
    if (2 * s < p)
        return 1;
    return 2 * r < p ? vh == 0 : oh == 1;
}

/* The bytes of a state of rows x k full lists (rlcc_knn_state_save's format):
 * 84 header and checksum bytes, 4 per row, 16 per entry. */
static size_t state_bytes(int64_t rows, int64_t k)
{
    return 84 + (size_t)rows * (4 + 16 * (size_t)k);
}

/* Bytes the ring holds beside the states: the packed rows, two visiting
 * blocks, three half states' bytes, a half state's lists twice (they are
 * copied during its update). */
static int64_t ring_bytes(const ring *g, int64_t n_local, int64_t largest, int need_pack)
{
    const int64_t rows = (need_pack ? n_local : 0) + 2 * largest;
    return rows * g->d * (int64_t)sizeof(float) + 3 * (int64_t)g->bytes_cap
           + 2 * (largest - largest / 2) * (g->k * 16 + 4);
}

static int post_rows(ring *g, const float *rows, int64_t n_rows, int peer, int64_t step, int send,
                     MPI_Request *request)
{
    const int rc = send ? MPI_Isend(rows, (int)n_rows, g->row_type, peer, tag_of(step, TAG_ROWS),
                                    g->run->comm, request)
                        : MPI_Irecv((float *)rows, (int)n_rows, g->row_type, peer,
                                    tag_of(step, TAG_ROWS), g->run->comm, request);
    if (rc != MPI_SUCCESS) {
        g->run->broken = 1;
        return rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: posting the rows of step %lld failed",
                              g->run->rank, (long long)step);
    }
    return RLCC_OK;
}

/* Posts the transfer of the block the ranks hold at step s: from the left
 * into buffer s % 2, and the block held at step s - 1 (its own rows at
 * s = 1) to the right. */
static int post_step_rows(ring *g, int64_t s)
{
    rlcc_mpi__run *run = g->run;
    const int p = run->size, r = run->rank, left = modulo(r - 1, p), right = modulo(r + 1, p);
    int err = post_rows(g, g->visiting[s % 2], g->count[modulo(r - s, p)], left, s, 0,
                        &g->forward[1]);
    if (err == RLCC_OK) {
        const float *rows = s == 1 ? g->own : g->visiting[(s - 1) % 2];
        err = post_rows(g, rows, g->count[modulo(r - s + 1, p)], right, s, 1, &g->forward[0]);
    }
    return err;
}

/* One visiting half against this rank's halves as the schedule says, into
 * a state for that half, saved into out_bytes[vh]; *size 0 when there was
 * nothing to compute. */
static int compute_half(ring *g, int64_t s, int vh, size_t *size)
{
    rlcc_mpi__run *run = g->run;
    const int p = run->size, r = run->rank, b = modulo(r - s, p);
    int64_t first;
    const int64_t rows = half_rows(g->count[b], vh, &first);
    *size = 0;
    if (rows == 0 || g->count[r] == 0 || (!computes_half(s, r, p, vh, 0)
                                          && !computes_half(s, r, p, vh, 1)))
        return RLCC_OK;
    rlcc_knn_options kopts;
    rlcc_knn_options_init(&kopts, sizeof kopts);
    kopts.n_threads = run->opts.n_threads;
    rlcc_knn_state *t = NULL;
    int err = rlcc_knn_state_new(rows, g->offset[b] + first, g->d, g->k, &kopts, &t);
    for (int oh = 0; oh < 2 && err == RLCC_OK; oh++) {
        int64_t own_first;
        const int64_t own_rows = half_rows(g->count[r], oh, &own_first);
        if (own_rows > 0 && computes_half(s, r, p, vh, oh))
            err = rlcc_knn_update_pair(g->own_state[oh], g->own + own_first * g->d, g->d, t,
                                       g->visiting[s % 2] + first * g->d, g->d);
    }
    if (err == RLCC_OK)
        err = rlcc_knn_state_save(t, g->out_bytes[vh], g->bytes_cap, size);
    rlcc_knn_state_free(t);
    return err;
}

/* Step s's pairs on this rank, the two half states sent to the visiting
 * block's owner: two sizes, then the bytes of those that are not empty. A
 * size of 0 is also what a failed step sends, so the owner never waits for
 * bytes that will not come (the status says why). */
static int compute_step(ring *g, int64_t s)
{
    rlcc_mpi__run *run = g->run;
    const int b = modulo(run->rank - s, run->size);
    int err = RLCC_OK;
    for (int vh = 0; vh < 2; vh++) {
        size_t size = 0;
        if (err == RLCC_OK)
            err = compute_half(g, s, vh, &size);
        g->out_size[vh] = (int64_t)size;
    }
    if (err != RLCC_OK) {
        rlcc_mpi__fail(err, "rank %d: %s", run->rank, rlcc_last_error());
        g->out_size[0] = g->out_size[1] = 0;
    }
    int rc = MPI_SUCCESS;
    for (int vh = 0; vh < 2 && rc == MPI_SUCCESS; vh++)
        rc = MPI_Isend(&g->out_size[vh], 1, MPI_INT64_T, b, tag_of(s, TAG_SIZE), run->comm,
                       &g->state_send[vh]);
    for (int vh = 0; vh < 2 && rc == MPI_SUCCESS; vh++)
        if (g->out_size[vh] > 0)
            rc = MPI_Isend(g->out_bytes[vh], (int)g->out_size[vh], MPI_BYTE, b,
                           tag_of(s, TAG_STATE), run->comm, &g->state_send[2 + vh]);
    if (rc != MPI_SUCCESS) {
        run->broken = 1;
        return rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: sending a state to rank %d failed",
                              run->rank, b);
    }
    return err;
}

/* Step s's half states for this rank's rows, from the rank that computed
 * them, merged into the matching own state. */
static int receive_step(ring *g, int64_t s)
{
    rlcc_mpi__run *run = g->run;
    const int from = modulo(run->rank + s, run->size);
    MPI_Request request[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    int err = RLCC_OK;
    for (int h = 0; h < 2 && err == RLCC_OK; h++)
        if (MPI_Irecv(&g->in_size[h], 1, MPI_INT64_T, from, tag_of(s, TAG_SIZE), run->comm,
                      &request[h]) != MPI_SUCCESS)
            err = rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: receiving from rank %d failed",
                                 run->rank, from);
    if (err == RLCC_OK)
        err = rlcc_mpi__wait(run, request, 2, from);
    rlcc_knn_options kopts;
    rlcc_knn_options_init(&kopts, sizeof kopts);
    kopts.n_threads = run->opts.n_threads;
    for (int h = 0; h < 2 && err == RLCC_OK; h++) {
        const int64_t size = g->in_size[h];
        if (size == 0) /* nothing for this half, or the sender failed: its status says */
            continue;
        if (size < 0 || (uint64_t)size > g->bytes_cap) {
            run->broken = 1; /* the bytes that follow are not ours to take */
            return rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: rank %d announced %lld bytes; at "
                                  "most %zu fit", run->rank, from, (long long)size, g->bytes_cap);
        }
        MPI_Request bytes = MPI_REQUEST_NULL;
        if (MPI_Irecv(g->in_bytes, (int)size, MPI_BYTE, from, tag_of(s, TAG_STATE), run->comm,
                      &bytes) != MPI_SUCCESS)
            return rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: receiving from rank %d failed",
                                  run->rank, from);
        err = rlcc_mpi__wait(run, &bytes, 1, from);
        if (err != RLCC_OK)
            return err;
        rlcc_knn_state *t = NULL;
        err = rlcc_knn_state_load(g->in_bytes, (size_t)size, &kopts, &t);
        if (err == RLCC_OK)
            err = rlcc_knn_merge(g->own_state[h], t);
        rlcc_knn_state_free(t);
        if (err != RLCC_OK)
            rlcc_mpi__fail(err, "rank %d: %s", run->rank, rlcc_last_error());
    }
    return err;
}

/* Waits for what is in flight (the call's end, or a step that failed on
 * some rank, when every rank had posted the same transfers). */
static int drain(ring *g)
{
    MPI_Request all[6] = {g->forward[0], g->forward[1], g->state_send[0], g->state_send[1],
                          g->state_send[2], g->state_send[3]};
    const int err = rlcc_mpi__wait(g->run, all, 6, -1);
    for (int i = 0; i < 2; i++)
        g->forward[i] = all[i];
    for (int i = 0; i < 4; i++)
        g->state_send[i] = all[2 + i];
    return err;
}

/* The own block against itself: each half against itself, and the two
 * halves as a pair. */
static int own_block(ring *g)
{
    const int r = g->run->rank;
    int64_t first[2], rows[2];
    for (int h = 0; h < 2; h++)
        rows[h] = half_rows(g->count[r], h, &first[h]);
    int err = RLCC_OK;
    for (int h = 0; h < 2 && err == RLCC_OK; h++)
        if (rows[h] > 0) {
            const float *x = g->own + first[h] * g->d;
            err = rlcc_knn_update(g->own_state[h], x, g->d, x, rows[h], g->d,
                                  g->offset[r] + first[h]);
        }
    if (err == RLCC_OK && rows[0] > 0 && rows[1] > 0)
        err = rlcc_knn_update_pair(g->own_state[0], g->own, g->d, g->own_state[1],
                                   g->own + first[1] * g->d, g->d);
    return err == RLCC_OK ? err : rlcc_mpi__fail(err, "rank %d: %s", r, rlcc_last_error());
}

/* The steps of the ring; the own states end up holding every block's rows. */
static int run_ring(ring *g)
{
    rlcc_mpi__run *run = g->run;
    const int p = run->size, r = run->rank;
    const int64_t steps = p / 2;
    run->stage = "the ring";
    int err = steps >= 1 ? post_step_rows(g, 1) : RLCC_OK;
    /* the own block against itself, while step 1's block travels */
    if (err == RLCC_OK)
        err = own_block(g);
    if (!run->broken)
        err = rlcc_mpi__agree(run, err);
    for (int64_t s = 1; err == RLCC_OK && s <= steps; s++) {
        /* this step's block is in; the left one's old buffer is free once the
         * forward of step s - 1 is done */
        MPI_Request arrived[2] = {g->forward[1], g->forward[0]};
        err = rlcc_mpi__wait(run, arrived, 2, modulo(r - 1, p));
        g->forward[1] = arrived[0], g->forward[0] = arrived[1];
        if (err == RLCC_OK && s < steps)
            err = post_step_rows(g, s + 1);
        if (err == RLCC_OK) /* the last step's state bytes are out of their buffers */
            err = rlcc_mpi__wait(run, g->state_send, 4, modulo(r - s + 1, p));
        int local = err;
        if (err == RLCC_OK)
            local = compute_step(g, s);
        if (!run->broken) {
            const int got = receive_step(g, s);
            local = local == RLCC_OK ? got : local;
        }
        if (run->broken)
            return local;
        /* the callback's stop is agreed on like a failure: every rank stops */
        if (local == RLCC_OK)
            local = rlcc_mpi__progress(run, "ring", s, steps);
        err = rlcc_mpi__agree(run, local);
    }
    if (!run->broken) {
        const int drained = drain(g);
        err = err == RLCC_OK ? drained : err;
    }
    return err;
}

/* Sets up the ring's buffers within max_bytes; frees nothing on failure
 * (ring_free() does). */
static int ring_alloc(ring *g, const float *x, int64_t n_local, int64_t ldx)
{
    rlcc_mpi__run *run = g->run;
    int64_t largest = 0;
    for (int q = 0; q < run->size; q++)
        largest = g->count[q] > largest ? g->count[q] : largest;
    g->bytes_cap = state_bytes(largest - largest / 2, g->k);
    if (g->bytes_cap > INT32_MAX)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "rank %d: a block of %lld rows with k = %lld needs %zu bytes of "
                              "lists in one message, above the 2 GiB MPI counts allow (use "
                              "more ranks)", run->rank, (long long)largest, (long long)g->k,
                              g->bytes_cap);
    const int need_pack = ldx != g->d && n_local > 0;
    const int64_t held = ring_bytes(g, n_local, largest, need_pack);
    const int64_t budget = run->opts.max_bytes;
    if (budget > 0 && held >= budget)
        return rlcc_mpi__fail(RLCC_E_MEMORY_LIMIT,
                              "rank %d: the ring's buffers need %lld bytes, max_bytes is %lld",
                              run->rank, (long long)held, (long long)budget);
    const size_t block = (size_t)(largest > 0 ? largest : 1) * (size_t)g->d * sizeof(float);
    g->visiting[0] = malloc(block);
    g->visiting[1] = malloc(block);
    g->out_bytes[0] = malloc(g->bytes_cap);
    g->out_bytes[1] = malloc(g->bytes_cap);
    g->in_bytes = malloc(g->bytes_cap);
    g->packed = need_pack ? malloc((size_t)n_local * (size_t)g->d * sizeof(float)) : NULL;
    if (g->visiting[0] == NULL || g->visiting[1] == NULL || g->out_bytes[0] == NULL
        || g->out_bytes[1] == NULL || g->in_bytes == NULL || (need_pack && g->packed == NULL))
        return rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory for the ring's "
                              "buffers (%lld bytes)", run->rank, (long long)held);
    if (need_pack)
        for (int64_t i = 0; i < n_local; i++)
            memcpy(g->packed + i * g->d, x + i * ldx, sizeof(float) * (size_t)g->d);
    g->own = need_pack ? g->packed : x;
    rlcc_knn_options kopts;
    rlcc_knn_options_init(&kopts, sizeof kopts);
    kopts.n_threads = run->opts.n_threads;
    kopts.max_bytes = budget > 0 ? (budget - held) / 2 : 0;
    int err = RLCC_OK;
    for (int h = 0; h < 2 && err == RLCC_OK; h++) {
        int64_t first;
        const int64_t rows = half_rows(n_local, h, &first);
        err = rlcc_knn_state_new(rows, g->offset[run->rank] + first, g->d, g->k, &kopts,
                                 &g->own_state[h]);
    }
    return err == RLCC_OK ? RLCC_OK : rlcc_mpi__fail(err, "rank %d: %s", run->rank,
                                                     rlcc_last_error());
}

static void ring_free(ring *g)
{
    rlcc_knn_state_free(g->own_state[0]);
    rlcc_knn_state_free(g->own_state[1]);
    free(g->packed);
    if (!g->run->broken) { /* else MPI may still read or write them */
        free(g->visiting[0]);
        free(g->visiting[1]);
        free(g->out_bytes[0]);
        free(g->out_bytes[1]);
        free(g->in_bytes);
    }
}

/* The finished lists into the outputs, once every rank has them. */
static int finish(ring *g, int64_t n_local, int64_t *indices, float *sqdist)
{
    rlcc_mpi__run *run = g->run;
    run->stage = "the finish";
    int err = RLCC_OK;
    int64_t *idx = NULL;
    float *sq = NULL;
    if (n_local > 0) {
        idx = malloc(sizeof *idx * (size_t)(n_local * g->k));
        sq = sqdist ? malloc(sizeof *sq * (size_t)(n_local * g->k)) : NULL;
        if (idx == NULL || (sqdist != NULL && sq == NULL))
            err = rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory for the lists",
                                 run->rank);
        for (int h = 0; h < 2 && err == RLCC_OK; h++) {
            int64_t first;
            if (half_rows(n_local, h, &first) == 0)
                continue;
            err = rlcc_knn_finish(g->own_state[h], idx + first * g->k,
                                  sq ? sq + first * g->k : NULL);
            if (err != RLCC_OK)
                rlcc_mpi__fail(err, "rank %d: %s", run->rank, rlcc_last_error());
        }
    }
    if (err == RLCC_OK)
        err = rlcc_mpi__progress(run, "finish", 1, 1);
    err = rlcc_mpi__agree(run, err);
    if (err == RLCC_OK && n_local > 0) {
        memcpy(indices, idx, sizeof *idx * (size_t)(n_local * g->k));
        if (sqdist != NULL)
            memcpy(sqdist, sq, sizeof *sq * (size_t)(n_local * g->k));
    }
    free(sq);
    free(idx);
    return err;
}

int rlcc_mpi__knn(rlcc_mpi__run *run, const int64_t *count, const int64_t *offset,
                  const float *x, int64_t n_local, int64_t d, int64_t ldx, int64_t k,
                  int64_t *indices, float *sqdist)
{
    int err = RLCC_OK;
    /* on the heap: MPI holds pointers into it (the sizes in flight), and a
     * broken call leaves it to them */
    ring *g = calloc(1, sizeof *g);
    if (g == NULL && err == RLCC_OK)
        err = rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory", run->rank);
    if (g != NULL)
        *g = (ring){.run = run, .d = d, .k = k, .count = count, .offset = offset,
                    .row_type = MPI_DATATYPE_NULL,
                    .forward = {MPI_REQUEST_NULL, MPI_REQUEST_NULL},
                    .state_send = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL,
                                   MPI_REQUEST_NULL}};
    if (err == RLCC_OK) { /* from here on a failure is one rank's: agree on it */
        int local = MPI_Type_contiguous((int)d, MPI_FLOAT, &g->row_type) == MPI_SUCCESS
                            && MPI_Type_commit(&g->row_type) == MPI_SUCCESS
                        ? ring_alloc(g, x, n_local, ldx)
                        : rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: MPI_Type_contiguous failed",
                                         run->rank);
        if (local == RLCC_OK)
            local = rlcc_mpi__progress(run, "check", 1, 1);
        run->stage = "the set-up";
        err = rlcc_mpi__agree(run, local);
    }
    if (err == RLCC_OK)
        err = run_ring(g);
    if (err == RLCC_OK)
        err = finish(g, n_local, indices, sqdist);
    if (g != NULL) {
        ring_free(g);
        if (g->row_type != MPI_DATATYPE_NULL)
            MPI_Type_free(&g->row_type);
        if (!run->broken)
            free(g);
    }
    return err;
}

int rlcc_mpi_knn(MPI_Comm comm, const float *x, int64_t n_local, int64_t d, int64_t ldx,
                 int64_t k, const rlcc_mpi_options *options, int64_t *indices, float *sqdist)
{
    rlcc_mpi__clear_error();
    const int code = check_local(x, n_local, d, ldx, k, indices, sqdist);
    rlcc_mpi__run run;
    uint8_t *k_of = NULL;
    int64_t *count = NULL, n_total = 0;
    int err = rlcc_mpi__begin(comm, options, code, n_local, d, &k, sizeof k, &run, &k_of, &count,
                              &n_total);
    if (err == RLCC_OK)
        err = check_k(&run, (const int64_t *)(const void *)k_of, n_total);
    if (err == RLCC_OK)
        err = rlcc_mpi__knn(&run, count, count + run.size, x, n_local, d, ldx, k, indices, sqdist);
    rlcc_mpi__end(&run, k_of, count);
    return err;
}
