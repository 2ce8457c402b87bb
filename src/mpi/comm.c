/*
 * comm.c - one collective call's communicator, deadline and status.
 *
 * Every transfer is nonblocking and waited for by polling MPI_Test with
 * a deadline, so a rank that stops answering becomes RLCC_MPI_E_TIMEOUT on
 * the others, never a hang. Every stage ends with rlcc_mpi__agree(), an
 * all-gather of each rank's status: a rank that failed tells the others,
 * which stop at the same stage with its rank and message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_internal.h"

#define OPTIONS_SIZE_1_0 (offsetof(rlcc_mpi_options, user) + sizeof(void *))

static const rlcc_mpi_options defaults = {
    .struct_size = sizeof(rlcc_mpi_options),
    .timeout = 600.0,
};

int rlcc_mpi_options_init(rlcc_mpi_options *options, size_t struct_size)
{
    rlcc_mpi__clear_error();
    if (options == NULL)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "options: is NULL");
    if (struct_size < OPTIONS_SIZE_1_0)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "options: struct_size %zu is below %zu, the size in 1.0",
                              struct_size, (size_t)OPTIONS_SIZE_1_0);
    memset(options, 0, struct_size);
    memcpy(options, &defaults, sizeof defaults < struct_size ? sizeof defaults : struct_size);
    options->struct_size = struct_size < sizeof defaults ? struct_size : sizeof defaults;
    return RLCC_OK;
}

/* The checks of options read over the defaults. */
static int check_options(const rlcc_mpi_options *o)
{
    if (o->reserved != 0)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "options.reserved: %d must be 0",
                              (int)o->reserved);
    if (o->n_threads < 0)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "options.n_threads: %d must be >= 0",
                              (int)o->n_threads);
    if (o->max_bytes < 0)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "options.max_bytes: %lld must be >= 0",
                              (long long)o->max_bytes);
    if (!(o->timeout > 0.0) || isinf(o->timeout))
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "options.timeout: %g must be > 0 and finite (seconds)", o->timeout);
    return RLCC_OK;
}

int rlcc_mpi__read_options(const rlcc_mpi_options *options, rlcc_mpi_options *opts)
{
    /* on a refusal *opts stays the defaults: the call still takes part in
     * the collective check, to tell the other ranks */
    *opts = defaults;
    if (options == NULL)
        return RLCC_OK;
    const size_t size = options->struct_size;
    if (size < OPTIONS_SIZE_1_0)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "options: struct_size %zu is below %zu (fill it with "
                              "rlcc_mpi_options_init())", size, (size_t)OPTIONS_SIZE_1_0);
    /* a later caller's longer struct: what this version does not know must be 0 */
    for (size_t b = sizeof *opts; b < size; b++)
        if (((const unsigned char *)options)[b] != 0)
            return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                                  "options: byte %zu is set, past what librlcc_mpi %s knows", b,
                                  RLCC_MPI_VERSION_STRING);
    rlcc_mpi_options read = defaults;
    memcpy(&read, options, size < sizeof read ? size : sizeof read);
    read.struct_size = sizeof read;
    const int err = check_options(&read);
    if (err == RLCC_OK)
        *opts = read;
    return err;
}

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int mpi_failed(rlcc_mpi__run *run, int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", rc);
    run->broken = 1;
    return rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: %s failed during %s: %s", run->rank, what,
                          run->stage, text);
}

int rlcc_mpi__wait(rlcc_mpi__run *run, MPI_Request *requests, int count, int peer)
{
    return rlcc_mpi__wait_peers(run, requests, count, NULL, peer);
}

int rlcc_mpi__wait_peers(rlcc_mpi__run *run, MPI_Request *requests, int count, const int *peers,
                         int peer)
{
    const double deadline = seconds_now() + run->timeout;
    /* a short sleep between polls: a ring step's transfer takes milliseconds
     * to seconds, so 0.1 ms costs nothing and leaves the cores to the work */
    const struct timespec pause = {0, 100000};
    for (;;) {
        /* one by one, not MPI_Testall, which completes none until all are:
         * a finished transfer becomes MPI_REQUEST_NULL, so the ones left
         * name who is missing */
        int done = 1;
        for (int r = 0; r < count; r++) {
            int flag = 1;
            const int rc = requests[r] == MPI_REQUEST_NULL
                               ? MPI_SUCCESS
                               : MPI_Test(&requests[r], &flag, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS)
                return mpi_failed(run, rc, "MPI_Test");
            done &= flag;
        }
        if (done)
            return RLCC_OK;
        if (seconds_now() > deadline)
            break;
        nanosleep(&pause, NULL);
    }
    /* Nothing handed to MPI is cancelled (a collective cannot be) or freed
     * after this: a transfer that completes late must find its buffer.
     * Callers leak the buffers of a broken run (rlcc_mpi.h says so). */
    run->broken = 1;
    for (int r = 0; peers != NULL && r < count; r++)
        if (requests[r] != MPI_REQUEST_NULL) { /* the first transfer still waiting */
            peer = peers[r];
            break;
        }
    if (peer >= 0)
        return rlcc_mpi__fail(RLCC_MPI_E_TIMEOUT,
                              "rank %d: rank %d did not answer within %g s during %s (it may "
                              "have died or stopped calling)", run->rank, peer, run->timeout,
                              run->stage);
    return rlcc_mpi__fail(RLCC_MPI_E_TIMEOUT,
                          "rank %d: not every rank of the %d answered within %g s during %s "
                          "(one may have died or stopped calling)", run->rank, run->size,
                          run->timeout, run->stage);
}

int rlcc_mpi__open(MPI_Comm comm, const rlcc_mpi_options *opts, rlcc_mpi__run *run)
{
    *run = (rlcc_mpi__run){.comm = MPI_COMM_NULL, .timeout = opts->timeout, .opts = *opts,
                           .stage = "the start"};
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "comm: MPI is not initialised (or already finalised): the caller "
                              "calls MPI_Init");
    if (comm == MPI_COMM_NULL)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "comm: is MPI_COMM_NULL");
    int is_inter = 0;
    if (MPI_Comm_test_inter(comm, &is_inter) != MPI_SUCCESS || is_inter)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "comm: must be an intra-communicator");
    MPI_Comm_rank(comm, &run->rank);
    MPI_Comm_size(comm, &run->size);
    MPI_Request request = MPI_REQUEST_NULL;
    int rc = MPI_Comm_idup(comm, &run->comm, &request);
    if (rc != MPI_SUCCESS)
        return mpi_failed(run, rc, "MPI_Comm_idup");
    rc = rlcc_mpi__wait(run, &request, 1, -1);
    if (rc != RLCC_OK) {
        run->comm = MPI_COMM_NULL;
        return rc;
    }
    MPI_Comm_set_errhandler(run->comm, MPI_ERRORS_RETURN);
    return RLCC_OK;
}

void rlcc_mpi__close(rlcc_mpi__run *run)
{
    /* MPI_Comm_free is collective in effect on a broken run: leave it */
    if (run->comm != MPI_COMM_NULL && !run->broken)
        MPI_Comm_free(&run->comm);
}

/* The tags of the all-gathers and the all-to-all: apart from the ring's (4
 * per step, and a ring has fewer than 8,000 steps within MPI's smallest tag
 * bound) and from RLCC_MPI__TAG_CHAIN. */
enum { TAG_GATHER = 32000, TAG_ALLTOALL = 32002 };

int rlcc_mpi__allgather(rlcc_mpi__run *run, const void *mine, void *all, int bytes)
{
    /* Point to point, not MPI_Iallgather: a rank that does not answer is
     * then known by name. MPI reads a copy of ours that outlives a broken
     * call (the caller's may be on its stack). */
    const int p = run->size;
    void *copy = malloc((size_t)bytes);
    MPI_Request *requests = malloc(sizeof *requests * 2 * (size_t)p);
    int *peers = malloc(sizeof *peers * 2 * (size_t)p);
    if (copy == NULL || requests == NULL || peers == NULL) {
        free(copy), free(requests), free(peers);
        return rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory", run->rank);
    }
    memcpy(copy, mine, (size_t)bytes);
    memcpy((char *)all + (size_t)run->rank * (size_t)bytes, mine, (size_t)bytes);
    int count = 0, rc = MPI_SUCCESS;
    for (int q = 0; q < p && rc == MPI_SUCCESS; q++)
        if (q != run->rank) {
            peers[count] = q;
            rc = MPI_Irecv((char *)all + (size_t)q * (size_t)bytes, bytes, MPI_BYTE, q, TAG_GATHER,
                           run->comm, &requests[count++]);
        }
    for (int q = 0; q < p && rc == MPI_SUCCESS; q++)
        if (q != run->rank) {
            peers[count] = q;
            rc = MPI_Isend(copy, bytes, MPI_BYTE, q, TAG_GATHER, run->comm, &requests[count++]);
        }
    const int err = rc != MPI_SUCCESS ? mpi_failed(run, rc, "posting an all-gather")
                                      : rlcc_mpi__wait_peers(run, requests, count, peers, -1);
    if (!run->broken)
        free(copy), free(requests);
    free(peers);
    return err;
}

/* Messages of an all-gather of blocks: at most 1 GiB each (MPI counts are
 * int), a block split into as many as it needs, in order. */
#define GATHER_CHUNK ((size_t)1 << 30)

static size_t chunks_of(size_t bytes)
{
    return bytes == 0 ? 0 : (bytes + GATHER_CHUNK - 1) / GATHER_CHUNK;
}

/* Posts one block's messages to or from rank q, chunk by chunk. */
static int post_block(rlcc_mpi__run *run, int q, char *block, size_t bytes, int send, int tag,
                      MPI_Request *requests, int *peers, int *count)
{
    int rc = MPI_SUCCESS;
    for (size_t c = 0; rc == MPI_SUCCESS && c < chunks_of(bytes); c++) {
        const size_t off = c * GATHER_CHUNK;
        const int len = (int)(bytes - off < GATHER_CHUNK ? bytes - off : GATHER_CHUNK);
        peers[*count] = q;
        rc = send ? MPI_Isend(block + off, len, MPI_BYTE, q, tag, run->comm, &requests[*count])
                  : MPI_Irecv(block + off, len, MPI_BYTE, q, tag, run->comm, &requests[*count]);
        (*count)++;
    }
    return rc;
}

/* The exchange both block collectives are, within the deadline: from every
 * other rank q, recv_bytes[q] bytes into its place in recv (the blocks in
 * rank order); to it, with one_block, the one block send of send_bytes[0]
 * bytes, else its block of send (blocks in rank order, send_bytes[q] each).
 * This rank's own block is the caller's to place. The block sent is read in
 * place: it outlives the call on success, and a broken run leaves the
 * requests allocated, since MPI may still read it. */
static int exchange(rlcc_mpi__run *run, char *recv, const size_t *recv_bytes, const char *send,
                    const size_t *send_bytes, int one_block, int tag, const char *what)
{
    const int p = run->size, me = run->rank;
    size_t requests_needed = 0;
    for (int q = 0; q < p; q++)
        if (q != me)
            requests_needed += chunks_of(recv_bytes[q]) + chunks_of(send_bytes[one_block ? 0 : q]);
    MPI_Request *requests = malloc(sizeof *requests * (requests_needed + 1));
    int *peers = malloc(sizeof *peers * (requests_needed + 1));
    if (requests == NULL || peers == NULL) {
        free(requests), free(peers);
        return rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory", run->rank);
    }
    int count = 0, rc = MPI_SUCCESS;
    size_t at = 0;
    for (int q = 0; q < p && rc == MPI_SUCCESS; at += recv_bytes[q], q++)
        if (q != me)
            rc = post_block(run, q, recv + at, recv_bytes[q], 0, tag, requests, peers, &count);
    at = 0;
    for (int q = 0; q < p && rc == MPI_SUCCESS; q++) {
        const size_t bytes = send_bytes[one_block ? 0 : q];
        if (q != me)
            rc = post_block(run, q, (char *)(send + (one_block ? 0 : at)), bytes, 1, tag, requests,
                            peers, &count);
        at += one_block ? 0 : bytes;
    }
    char posting[64];
    snprintf(posting, sizeof posting, "posting %s", what);
    const int err = rc != MPI_SUCCESS ? mpi_failed(run, rc, posting)
                                      : rlcc_mpi__wait_peers(run, requests, count, peers, -1);
    if (!run->broken)
        free(requests);
    free(peers);
    return err;
}

int rlcc_mpi__allgatherv(rlcc_mpi__run *run, const void *mine, void *all, const size_t *bytes)
{
    size_t at_me = 0;
    for (int q = 0; q < run->rank; q++)
        at_me += bytes[q];
    memcpy((char *)all + at_me, mine, bytes[run->rank]);
    return exchange(run, all, bytes, (const char *)all + at_me, bytes + run->rank, 1,
                    TAG_GATHER + 1, "an all-gather");
}

int rlcc_mpi__alltoallv(rlcc_mpi__run *run, const void *send, const size_t *send_bytes,
                        void *recv, const size_t *recv_bytes)
{
    size_t send_at = 0, recv_at = 0;
    for (int q = 0; q < run->rank; q++)
        send_at += send_bytes[q], recv_at += recv_bytes[q];
    memcpy((char *)recv + recv_at, (const char *)send + send_at, send_bytes[run->rank]);
    return exchange(run, recv, recv_bytes, send, send_bytes, 0, TAG_ALLTOALL, "an all-to-all");
}

/* One rank's status, as every rank gathers it. */
typedef struct status_record {
    int32_t code;
    int32_t reserved;
    char message[RLCC_MPI__MESSAGE];
} status_record;

int rlcc_mpi__agree(rlcc_mpi__run *run, int code)
{
    if (run->broken)
        return code;
    status_record mine = {.code = code};
    if (code != RLCC_OK)
        snprintf(mine.message, sizeof mine.message, "%s", rlcc_mpi_last_error());
    status_record *all = malloc(sizeof *all * (size_t)run->size);
    if (all == NULL) /* we cannot learn the others' status: our failure is theirs */
        return rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory for the status of "
                              "%d ranks", run->rank, run->size);
    const int rc = rlcc_mpi__allgather(run, &mine, all, (int)sizeof mine);
    int result = rc != RLCC_OK ? rc : code;
    for (int r = 0; rc == RLCC_OK && code == RLCC_OK && r < run->size; r++)
        if (all[r].code != RLCC_OK) {
            all[r].message[sizeof all[r].message - 1] = '\0';
            result = rlcc_mpi__fail(RLCC_MPI_E_REMOTE, "rank %d failed during %s (%s): %s", r,
                                    run->stage, rlcc_mpi_strerror(all[r].code),
                                    all[r].message);
            break;
        }
    if (!run->broken)
        free(all);
    return result;
}

int rlcc_mpi__progress(rlcc_mpi__run *run, const char *stage, int64_t done, int64_t total)
{
    if (run->opts.progress == NULL || run->opts.progress(stage, done, total, run->opts.user) == 0)
        return RLCC_OK;
    return rlcc_mpi__fail(RLCC_E_CANCELED, "rank %d: the progress callback stopped the call "
                          "during %s", run->rank, stage);
}

int rlcc_mpi__check_start(rlcc_mpi__run *run, int code, int64_t n_local, int64_t d,
                          const void *extra, size_t extra_size, uint8_t **extras,
                          int64_t **counts, int64_t *n_total)
{
    const int p = run->size;
    const size_t record = sizeof(rlcc_mpi__header) + extra_size;
    uint8_t *mine = calloc(1, record), *all = malloc(record * (size_t)p);
    int64_t *count = malloc(sizeof *count * 2 * (size_t)p);
    *extras = NULL, *counts = NULL;
    if (mine == NULL || all == NULL || count == NULL) {
        free(mine), free(all), free(count);
        return rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory for %d headers",
                              run->rank, p);
    }
    rlcc_mpi__header head = {.code = code, .n_local = n_local, .d = d};
    if (code != RLCC_OK)
        snprintf(head.message, sizeof head.message, "%s", rlcc_mpi_last_error());
    memcpy(mine, &head, sizeof head);
    if (extra_size > 0)
        memcpy(mine + sizeof head, extra, extra_size);
    int err = rlcc_mpi__allgather(run, mine, all, (int)record);
    free(mine);
    if (err != RLCC_OK) {
        if (!run->broken) /* else MPI may still write them */
            free(all), free(count);
        return err;
    }
    /* the verdict, from the same bytes on every rank */
    rlcc_mpi__header first;
    memcpy(&first, all, sizeof first);
    int64_t total = 0;
    for (int r = 0; r < p && err == RLCC_OK; r++) {
        rlcc_mpi__header h;
        memcpy(&h, all + (size_t)r * record, sizeof h);
        h.message[sizeof h.message - 1] = '\0';
        if (h.code != RLCC_OK)
            err = rlcc_mpi__fail(h.code, "rank %d: %s", r, h.message);
        count[r] = h.n_local;
        count[p + r] = total;
        total += h.n_local;
    }
    for (int r = 1; r < p && err == RLCC_OK; r++) {
        const int64_t dr = ((const rlcc_mpi__header *)(const void *)(all + (size_t)r * record))->d;
        if (dr != first.d)
            err = rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                                 "d: rank %d has d = %lld, rank 0 has d = %lld (every rank "
                                 "passes rows of the same width)",
                                 r, (long long)dr, (long long)first.d);
    }
    if (err != RLCC_OK) {
        free(all), free(count);
        return err;
    }
    /* the extras, packed one after the other for the caller */
    for (int r = 0; r < p; r++)
        memmove(all + (size_t)r * extra_size, all + (size_t)r * record + sizeof(rlcc_mpi__header),
                extra_size);
    *extras = all, *counts = count, *n_total = total;
    return RLCC_OK;
}

int rlcc_mpi__begin(MPI_Comm comm, const rlcc_mpi_options *options, int code, int64_t n_local,
                    int64_t d, const void *extra, size_t extra_size, rlcc_mpi__run *run,
                    uint8_t **extras, int64_t **counts, int64_t *n_total)
{
    *extras = NULL, *counts = NULL, *n_total = 0;
    rlcc_mpi_options opts;
    /* a refusal of the options is this rank's verdict (its message replaces
     * the input's); the rank still takes part, to tell the others */
    const int opts_err = rlcc_mpi__read_options(options, &opts);
    if (opts_err != RLCC_OK)
        code = opts_err;
    const int err = rlcc_mpi__open(comm, &opts, run);
    if (err != RLCC_OK)
        return err;
    run->stage = "the input check";
    return rlcc_mpi__check_start(run, code, n_local, d, extra, extra_size, extras, counts,
                                 n_total);
}

void rlcc_mpi__end(rlcc_mpi__run *run, void *extras, void *counts)
{
    if (!run->broken) /* else MPI may still write them */
        free(extras), free(counts);
    rlcc_mpi__close(run);
}
