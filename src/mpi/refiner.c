/*
 * refiner.c - rlcc_mpi_refiner: RLCC across generations with collective
 * steps. Every rank holds the same librlcc refiner (the labels of all N
 * rows, the centroids, the consensus) and its own block of rows; a step and
 * a batch of targets are the bytes of one process on the concatenated rows.
 *
 * A step (docs/scale-out.md):
 *   1. the check: every rank's rows, and the generation every rank has
 *      committed (a step that failed on some ranks after others committed
 *      leaves them apart; every later call then refuses on every rank);
 *   2. the pseudo labels of rlcc_mpi_pseudo_labels() (its stages), with the
 *      threshold of the options at generation 0 and the refiner's after;
 *   3. the centroids in one process's float32 order: the per-class sums go
 *      from rank 0 to rank P - 1, each rank continuing them with its rows in
 *      row order (only the classes still open across a rank boundary
 *      travel), the rank holding a class's last member divides and
 *      normalises it as rlcc_centroids() does, and the finished rows are
 *      all-gathered;
 *   4. rlcc_refiner_step_labels() on every rank, and a copy of the rank's
 *      rows when later targets read them (beta < 1).
 * A batch of targets: the check (rows, out, generations); when the targets
 * read features (generation >= 2, beta < 1) the asked rows are fetched from
 * their owners (an all-to-all of counts, of row indices, of rows); then
 * rlcc_refiner_targets_rows() (or _targets_opts()) on the rank.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

struct rlcc_mpi_refiner {
    MPI_Comm comm;           /* the caller's; every call works on a duplicate */
    int size;
    int64_t n_local, d, n_total;
    int64_t *count;          /* every rank's rows, then their offsets (2 P) */
    rlcc_pseudo_options pseudo; /* read; every step's pseudo labels */
    float beta;              /* the refiner options' */
    rlcc_refiner *local;     /* the same state on every rank */
    int64_t generation;      /* what this rank committed; every call compares it */
    float *rows;             /* n_local x d: the rank's rows as the latest step saw
                              * them, when the targets read them; else NULL */
};

/* What rlcc_mpi_refiner_new() compares across ranks. */
typedef struct new_agreed {
    rlcc_mpi__pseudo_agreed pseudo;
    float refiner[4]; /* alpha, w, beta, scale */
} new_agreed;

/* ---- new ------------------------------------------------------------------- */

/* The caller's refiner options over the defaults, checked by librlcc itself
 * (a refiner of 1024 rows of width 1 with the default pseudo options: only
 * the handle is allocated). */
static int read_refiner_options(const rlcc_refiner_options *options, rlcc_refiner_options *o)
{
    rlcc_refiner_options_init(o, sizeof *o);
    rlcc_refiner *probe = NULL;
    const int rc = rlcc_refiner_new(1024, 1, NULL, options, &probe);
    if (rc != RLCC_OK)
        return rlcc_mpi__from_rlcc(rc);
    rlcc_refiner_free(probe);
    if (options != NULL)
        memcpy(o, options, options->struct_size < sizeof *o ? options->struct_size : sizeof *o);
    o->struct_size = sizeof *o;
    return RLCC_OK;
}

/* The refiner's own verdict after the pseudo options': its options alike on
 * every rank, and some rows. */
static int check_refiner_agreed(const rlcc_mpi__run *run, const uint8_t *all, int64_t n_total)
{
    static const char *const names[4] = {"alpha", "w", "beta", "scale"};
    new_agreed first, other;
    memcpy(&first, all, sizeof first);
    const float *a = first.refiner, *b = other.refiner;
    for (int r = 1; r < run->size; r++) {
        memcpy(&other, all + (size_t)r * sizeof other, sizeof other);
        for (int f = 0; f < 4; f++)
            if (memcmp(&a[f], &b[f], sizeof a[f]) != 0)
                return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                                      "options.%s: rank %d has %.9g, rank 0 has %.9g", names[f], r,
                                      (double)b[f], (double)a[f]);
    }
    if (n_total < 1)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "N: the %d ranks hold no rows; a refiner needs at least one",
                              run->size);
    return RLCC_OK;
}

void rlcc_mpi_refiner_free(rlcc_mpi_refiner *refiner)
{
    if (refiner == NULL)
        return;
    rlcc_refiner_free(refiner->local);
    free(refiner->rows);
    free(refiner->count);
    free(refiner);
}

/* The handle after a check every rank passed: librlcc's refiner of all N
 * rows on each rank, agreed on. */
static int create(rlcc_mpi__run *run, MPI_Comm comm, const int64_t *count, int64_t n_total,
                  int64_t d, const rlcc_pseudo_options *popts, const rlcc_refiner_options *ropts,
                  rlcc_mpi_refiner **out)
{
    run->stage = "the refiner's creation";
    const int p = run->size;
    rlcc_mpi_refiner *r = calloc(1, sizeof *r);
    int64_t *counts = malloc(sizeof *counts * 2 * (size_t)p);
    int local = r != NULL && counts != NULL
                    ? RLCC_OK
                    : rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory", run->rank);
    if (local == RLCC_OK) {
        memcpy(counts, count, sizeof *counts * 2 * (size_t)p);
        *r = (rlcc_mpi_refiner){.comm = comm, .size = p, .n_local = count[run->rank], .d = d,
                                .n_total = n_total, .count = counts, .pseudo = *popts,
                                .beta = ropts->beta};
        counts = NULL;
        const int rc = rlcc_refiner_new(n_total, d, popts, ropts, &r->local);
        if (rc != RLCC_OK)
            local = rlcc_mpi__fail(rc, "rank %d: %s", run->rank, rlcc_last_error());
    }
    const int err = rlcc_mpi__agree(run, local);
    free(counts);
    if (err == RLCC_OK)
        *out = r;
    else
        rlcc_mpi_refiner_free(r);
    return err;
}

int rlcc_mpi_refiner_new(MPI_Comm comm, int64_t n_local, int64_t d,
                         const rlcc_pseudo_options *pseudo, const rlcc_refiner_options *options,
                         const rlcc_mpi_options *mpi, rlcc_mpi_refiner **out)
{
    rlcc_mpi__clear_error();
    rlcc_pseudo_options popts;
    rlcc_refiner_options ropts;
    int code = out == NULL ? rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL") : RLCC_OK;
    if (code == RLCC_OK)
        code = rlcc_mpi__check_shape(n_local, d);
    if (code == RLCC_OK)
        code = rlcc_mpi__read_pseudo(pseudo, &popts);
    if (code == RLCC_OK)
        code = read_refiner_options(options, &ropts);
    new_agreed mine;
    memset(&mine, 0, sizeof mine);
    if (code == RLCC_OK) {
        mine.pseudo = rlcc_mpi__pseudo_agreed_of(&popts);
        const float refiner[4] = {ropts.alpha, ropts.w, ropts.beta, ropts.scale};
        memcpy(mine.refiner, refiner, sizeof refiner);
    }
    rlcc_mpi__run run;
    uint8_t *extras = NULL;
    int64_t *count = NULL, n_total = 0;
    int err = rlcc_mpi__begin(comm, mpi, code, n_local, d, &mine, sizeof mine, &run, &extras,
                              &count, &n_total);
    if (err == RLCC_OK)
        err = rlcc_mpi__check_pseudo_agreed(&run, extras, sizeof mine, n_total);
    if (err == RLCC_OK)
        err = check_refiner_agreed(&run, extras, n_total);
    if (err == RLCC_OK)
        err = create(&run, comm, count, n_total, d, &popts, &ropts, out);
    rlcc_mpi__end(&run, extras, count);
    return err;
}

const rlcc_refiner *rlcc_mpi_refiner_local(const rlcc_mpi_refiner *refiner)
{
    return refiner != NULL ? refiner->local : NULL;
}

/* The verdict every later call adds to the check: one generation on every
 * rank. */
static int check_generations(const rlcc_mpi__run *run, const uint8_t *all)
{
    int64_t first, other;
    memcpy(&first, all, sizeof first);
    for (int r = 1; r < run->size; r++) {
        memcpy(&other, all + (size_t)r * sizeof other, sizeof other);
        if (other != first)
            return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                                  "refiner: generations differ across ranks (rank %d has %lld, "
                                  "rank 0 has %lld): a step failed on some ranks after others "
                                  "had committed it; free the refiner on every rank and start "
                                  "again",
                                  r, (long long)other, (long long)first);
    }
    return RLCC_OK;
}

/* ---- the centroids ----------------------------------------------------------- */

/* What every rank knows of the classes from the labels of all N rows. */
typedef struct classes {
    int64_t *first, *last, *members; /* global rows; members > 0 or first N, last -1 */
    int32_t *owner;                  /* the rank holding the last member, or -1 */
    int64_t *slot;                   /* this rank's row of sums, or -1 */
} classes;

/* The chain's buffers on one rank. */
typedef struct chain {
    rlcc_mpi__run *run;
    const int64_t *count, *offset;
    int64_t n_total, d, k;
    classes c;
    int64_t n_touched, n_in, n_out, n_owned, n_finished;
    float *sums;      /* n_touched x d: the classes this rank continues */
    float *in, *out;  /* n_in, n_out x d: the open sums from the left, to the right */
    float *mine;      /* n_owned x d: the classes whose last member is here, finished */
    float *gathered;  /* n_finished x d: every rank's finished rows, in rank order */
    size_t *bytes;    /* P: the gather's block sizes */
    int64_t *next;    /* P: each rank's next row in gathered */
    MPI_Datatype row_type; /* d floats */
} chain;

/* Classes with members before global row at and at or after it: the sums
 * open across the boundary before row at. */
static int open_at(const classes *c, int64_t k, int64_t at)
{
    return c->first[k] < at && c->last[k] >= at;
}

/* first, last, members, owner of every class; this rank's slots. */
static void describe(chain *g, const int32_t *labels)
{
    const int p = g->run->size, me = g->run->rank;
    classes *c = &g->c;
    for (int64_t k = 0; k < g->k; k++)
        c->first[k] = g->n_total, c->last[k] = -1, c->members[k] = 0, c->owner[k] = -1,
        c->slot[k] = -1;
    for (int q = 0; q < p; q++)
        for (int64_t i = g->offset[q]; i < g->offset[q] + g->count[q]; i++) {
            const int32_t k = labels[i];
            if (k < 0)
                continue;
            if (c->members[k]++ == 0)
                c->first[k] = i;
            c->last[k] = i;
            c->owner[k] = q;
        }
    const int64_t lo = g->offset[me], hi = lo + g->count[me];
    for (int64_t i = lo; i < hi; i++)
        if (labels[i] >= 0)
            c->slot[labels[i]] = 0;
    g->n_touched = g->n_in = g->n_out = g->n_owned = g->n_finished = 0;
    for (int64_t k = 0; k < g->k; k++) {
        g->n_in += open_at(c, k, lo);
        g->n_out += open_at(c, k, hi);
        g->n_owned += c->owner[k] == me;
        g->n_finished += c->members[k] > 0;
        if (c->slot[k] == 0 || open_at(c, k, lo))
            c->slot[k] = g->n_touched++;
    }
}

static void chain_free(chain *g)
{
    free(g->c.first), free(g->c.last), free(g->c.members), free(g->c.owner), free(g->c.slot);
    free(g->sums), free(g->mine), free(g->next);
    if (g->row_type != MPI_DATATYPE_NULL)
        MPI_Type_free(&g->row_type);
    if (!g->run->broken) /* else MPI may still read or write them */
        free(g->in), free(g->out), free(g->gathered), free(g->bytes);
}

static float *rows_of(int64_t rows, int64_t d)
{
    return malloc(sizeof(float) * (size_t)(rows > 0 ? rows : 1) * (size_t)d);
}

/* The classes described and the buffers allocated (the output's too:
 * have_output), agreed on. */
static int chain_setup(chain *g, const int32_t *labels, int have_output)
{
    const int64_t k = g->k > 0 ? g->k : 1;
    classes *c = &g->c;
    c->first = malloc(sizeof *c->first * (size_t)k);
    c->last = malloc(sizeof *c->last * (size_t)k);
    c->members = malloc(sizeof *c->members * (size_t)k);
    c->owner = malloc(sizeof *c->owner * (size_t)k);
    c->slot = malloc(sizeof *c->slot * (size_t)k);
    int local = c->first && c->last && c->members && c->owner && c->slot ? RLCC_OK : RLCC_E_OUT_OF_MEMORY;
    if (local == RLCC_OK) {
        describe(g, labels);
        g->sums = calloc((size_t)(g->n_touched > 0 ? g->n_touched : 1) * (size_t)g->d, sizeof(float));
        g->in = rows_of(g->n_in, g->d);
        g->out = rows_of(g->n_out, g->d);
        g->mine = rows_of(g->n_owned, g->d);
        g->gathered = rows_of(g->n_finished, g->d);
        g->bytes = malloc(sizeof *g->bytes * (size_t)g->run->size);
        g->next = malloc(sizeof *g->next * (size_t)g->run->size);
        if (!g->sums || !g->in || !g->out || !g->mine || !g->gathered || !g->bytes || !g->next
            || !have_output)
            local = RLCC_E_OUT_OF_MEMORY;
    }
    if (local != RLCC_OK)
        rlcc_mpi__fail(local, "rank %d: out of memory for the centroid sums of %lld classes",
                       g->run->rank, (long long)g->k);
    if (local == RLCC_OK && (MPI_Type_contiguous((int)g->d, MPI_FLOAT, &g->row_type) != MPI_SUCCESS
                             || MPI_Type_commit(&g->row_type) != MPI_SUCCESS))
        local = rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: MPI_Type_contiguous failed", g->run->rank);
    if (local == RLCC_OK)
        local = rlcc_mpi__progress(g->run, "centroids", 0, 1);
    return rlcc_mpi__agree(g->run, local);
}

/* One transfer of rows of sums with a neighbour, waited for. */
static int chain_transfer(chain *g, float *rows, int64_t n_rows, int peer, int send)
{
    rlcc_mpi__run *run = g->run;
    char stage[64];
    snprintf(stage, sizeof stage, "the centroid sums %s rank %d", send ? "to" : "from", peer);
    run->stage = stage;
    MPI_Request request = MPI_REQUEST_NULL;
    const int rc = send ? MPI_Isend(rows, (int)n_rows, g->row_type, peer, RLCC_MPI__TAG_CHAIN,
                                    run->comm, &request)
                        : MPI_Irecv(rows, (int)n_rows, g->row_type, peer, RLCC_MPI__TAG_CHAIN,
                                    run->comm, &request);
    int err = RLCC_OK;
    if (rc != MPI_SUCCESS) {
        run->broken = 1;
        err = rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: posting the centroid sums failed",
                             run->rank);
    } else {
        err = rlcc_mpi__wait(run, &request, 1, peer);
    }
    run->stage = "the centroids";
    return err;
}

/* The sums of this rank's classes: those open from the left, continued
 * with the rank's rows in row order (rlcc_centroids()'s float32 sums). */
static void add_rows(chain *g, const float *x, int64_t ldx, const int32_t *labels)
{
    const int64_t lo = g->offset[g->run->rank], d = g->d;
    int64_t at = 0;
    for (int64_t k = 0; k < g->k; k++)
        if (open_at(&g->c, k, lo))
            memcpy(g->sums + g->c.slot[k] * d, g->in + at++ * d, sizeof(float) * (size_t)d);
    for (int64_t i = 0; i < g->count[g->run->rank]; i++) {
        const int32_t k = labels[lo + i];
        if (k < 0)
            continue;
        float *row = g->sums + g->c.slot[k] * d;
        const float *xi = x + i * ldx;
        for (int64_t j = 0; j < d; j++)
            row[j] += xi[j];
    }
    const int64_t hi = lo + g->count[g->run->rank];
    at = 0;
    for (int64_t k = 0; k < g->k; k++)
        if (open_at(&g->c, k, hi))
            memcpy(g->out + at++ * d, g->sums + g->c.slot[k] * d, sizeof(float) * (size_t)d);
}

/* The classes whose last member is here: rlcc__centroids_norm()'s ending
 * (RLCC_CENTROID_NORM_DOUBLE), the float32 mean, its squared norm summed in
 * double in column order, one scale. */
static void finish_owned(chain *g)
{
    const int64_t d = g->d;
    int64_t at = 0;
    for (int64_t k = 0; k < g->k; k++) {
        if (g->c.owner[k] != g->run->rank)
            continue;
        const float *sum = g->sums + g->c.slot[k] * d;
        float *row = g->mine + at++ * d;
        const float count = (float)g->c.members[k];
        double norm2 = 0.0;
        for (int64_t j = 0; j < d; j++) {
            row[j] = sum[j] / count;
            norm2 += (double)row[j] * (double)row[j];
        }
        const double scale = norm2 > 0.0 ? 1.0 / sqrt(norm2) : 0.0;
        for (int64_t j = 0; j < d; j++)
            row[j] = (float)(row[j] * scale);
    }
}

/* Every rank's finished rows into the k x d centroids (a class without
 * members, possible without the guard, a zero row, as librlcc's). */
static int gather_finished(chain *g, float *centroids)
{
    const int p = g->run->size;
    for (int q = 0; q < p; q++)
        g->bytes[q] = 0;
    for (int64_t k = 0; k < g->k; k++)
        if (g->c.owner[k] >= 0)
            g->bytes[g->c.owner[k]] += sizeof(float) * (size_t)g->d;
    g->run->stage = "the gather of the centroids";
    const int err = rlcc_mpi__allgatherv(g->run, g->mine, g->gathered, g->bytes);
    if (err != RLCC_OK)
        return err;
    int64_t *next = g->next, at = 0;
    for (int q = 0; q < p; q++) {
        next[q] = at;
        at += (int64_t)(g->bytes[q] / (sizeof(float) * (size_t)g->d));
    }
    for (int64_t k = 0; k < g->k; k++) {
        float *row = centroids + k * g->d;
        if (g->c.owner[k] < 0)
            memset(row, 0, sizeof(float) * (size_t)g->d);
        else
            memcpy(row, g->gathered + next[g->c.owner[k]]++ * g->d, sizeof(float) * (size_t)g->d);
    }
    return RLCC_OK;
}

/* The k x d centroids of the labels over every rank's rows (*centroids, to
 * free()), the bytes of rlcc_centroids() on the concatenated rows, on every
 * rank. */
static int centroids_chain(rlcc_mpi__run *run, const int64_t *count, const int64_t *offset,
                           int64_t n_total, const float *x, int64_t ldx, int64_t d,
                           const int32_t *labels, int64_t k, float **centroids)
{
    run->stage = "the centroids";
    chain g = {.run = run, .count = count, .offset = offset, .n_total = n_total, .d = d, .k = k,
               .row_type = MPI_DATATYPE_NULL};
    *centroids = rows_of(k, d);
    int err = chain_setup(&g, labels, *centroids != NULL);
    if (err == RLCC_OK && g.n_in > 0)
        err = chain_transfer(&g, g.in, g.n_in, run->rank - 1, 0);
    if (err == RLCC_OK) {
        add_rows(&g, x, ldx, labels);
        if (g.n_out > 0)
            err = chain_transfer(&g, g.out, g.n_out, run->rank + 1, 1);
    }
    if (err == RLCC_OK) {
        finish_owned(&g);
        err = gather_finished(&g, *centroids);
    }
    chain_free(&g);
    return err;
}

/* ---- a step ------------------------------------------------------------------ */

/* The message of a rank that committed while another failed, with what that
 * means. */
static int committed_alone(int err, int64_t generation)
{
    char detail[400];
    snprintf(detail, sizeof detail, "%s", rlcc_mpi_last_error());
    return rlcc_mpi__fail(err, "%s (this rank committed generation %lld: the ranks' refiners "
                          "now differ, and every later call refuses)", detail,
                          (long long)generation);
}

/* librlcc's step on this rank from the agreed labels and centroids, with
 * the copy of the rank's rows the later targets read; agreed on. */
static int step_local(rlcc_mpi_refiner *r, rlcc_mpi__run *run, const float *x, int64_t ldx,
                      const int32_t *labels, int64_t k, const float *centroids, double threshold)
{
    const int keep = r->generation >= 1 && r->beta < 1.0f;
    float *fresh = NULL;
    int local = RLCC_OK;
    if (keep && r->n_local > 0) {
        fresh = malloc(sizeof *fresh * (size_t)(r->n_local * r->d));
        if (fresh == NULL)
            local = rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory for a copy of "
                                   "its %lld rows", run->rank, (long long)r->n_local);
        for (int64_t i = 0; fresh != NULL && i < r->n_local; i++)
            memcpy(fresh + i * r->d, x + i * ldx, sizeof *fresh * (size_t)r->d);
    }
    /* the last point where a stop leaves every rank as it was */
    if (local == RLCC_OK)
        local = rlcc_mpi__progress(run, "centroids", 1, 1);
    int err = rlcc_mpi__agree(run, local);
    if (err != RLCC_OK) {
        free(fresh);
        return err;
    }
    run->stage = "the refiner's step";
    rlcc_step_options so;
    rlcc_step_options_init(&so, sizeof so);
    so.n_threads = run->opts.n_threads;
    so.max_bytes = run->opts.max_bytes;
    local = rlcc_refiner_step_labels(r->local, labels, k, centroids, r->d, threshold, &so);
    if (local == RLCC_OK) {
        free(r->rows);
        r->rows = fresh;
        r->generation++;
    } else {
        free(fresh);
        rlcc_mpi__fail(local, "rank %d: %s", run->rank, rlcc_last_error());
    }
    err = rlcc_mpi__agree(run, local);
    if (err != RLCC_OK && local == RLCC_OK)
        err = committed_alone(err, r->generation);
    return err;
}

/* A step after the check: the pseudo labels, the centroids, librlcc's step. */
static int step_stages(rlcc_mpi_refiner *r, rlcc_mpi__run *run, const float *x, int64_t ldx)
{
    const int64_t *count = r->count, *offset = r->count + run->size;
    run->stage = "the refiner's set-up";
    int32_t *labels = malloc(sizeof *labels * (size_t)r->n_total);
    int err = rlcc_mpi__agree(run, labels != NULL ? RLCC_OK
                                                  : rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank "
                                                                   "%d: out of memory", run->rank));
    rlcc_pseudo_options popts = r->pseudo;
    if (r->generation > 0)
        popts.threshold = rlcc_refiner_threshold(r->local);
    int64_t k = 0;
    double threshold = 0.0;
    if (err == RLCC_OK)
        err = rlcc_mpi__pseudo_labels(run, count, offset, r->n_total, x, ldx, r->d, &popts,
                                      labels, &k, &threshold);
    /* librlcc's step takes generation 0's threshold, then the kept one */
    if (r->generation > 0)
        threshold = popts.threshold;
    float *centroids = NULL;
    if (err == RLCC_OK)
        err = centroids_chain(run, count, offset, r->n_total, x, ldx, r->d, labels, k, &centroids);
    if (err == RLCC_OK)
        err = step_local(r, run, x, ldx, labels, k, centroids, threshold);
    free(centroids);
    free(labels);
    return err;
}

/* The start of a step or a targets call: the run opened with this rank's
 * verdict on its arguments, then the generations compared; the caller ends
 * it with rlcc_mpi__end(run, *generations, *count) whatever this returns. */
static int begin_call(const rlcc_mpi_refiner *r, const rlcc_mpi_options *mpi, int code,
                      rlcc_mpi__run *run, uint8_t **generations, int64_t **count)
{
    int64_t n_total = 0;
    int err = rlcc_mpi__begin(r->comm, mpi, code, r->n_local, r->d, &r->generation,
                              sizeof r->generation, run, generations, count, &n_total);
    if (err == RLCC_OK)
        err = check_generations(run, *generations);
    return err;
}

int rlcc_mpi_refiner_step(rlcc_mpi_refiner *refiner, const float *x, int64_t ldx,
                          const rlcc_mpi_options *mpi)
{
    rlcc_mpi__clear_error();
    if (refiner == NULL) /* no communicator: this rank cannot tell the others */
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    const int code = rlcc_mpi__check_rows(x, refiner->n_local, refiner->d, ldx);
    rlcc_mpi__run run;
    uint8_t *generations = NULL;
    int64_t *count = NULL;
    int err = begin_call(refiner, mpi, code, &run, &generations, &count);
    if (err == RLCC_OK)
        err = step_stages(refiner, &run, x, ldx);
    rlcc_mpi__end(&run, generations, count);
    return err;
}

/* ---- targets ------------------------------------------------------------------ */

/* This rank's own checks of a batch. */
static int check_batch(const rlcc_mpi_refiner *r, const int64_t *rows, int64_t n_rows,
                       const float *out, int64_t ld)
{
    if (n_rows < 0)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "n_rows: %lld must be >= 0",
                              (long long)n_rows);
    if (n_rows == 0)
        return RLCC_OK;
    if (rows == NULL)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "rows: is NULL");
    for (int64_t q = 0; q < n_rows; q++)
        if (rows[q] < 0 || rows[q] >= r->n_total)
            return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                                  "rows: entry %lld is %lld, outside [0, N = %lld)", (long long)q,
                                  (long long)rows[q], (long long)r->n_total);
    const int64_t k = rlcc_refiner_n_classes(r->local);
    if (out == NULL)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL");
    if (ld < k)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "ld: %lld must be >= n_classes = %lld",
                              (long long)ld, (long long)k);
    /* the bytes of out, and of the batch's rows when they are fetched */
    const int64_t widest = ld > r->d ? ld : r->d;
    if (n_rows > INT64_MAX / 4 / widest)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "n_rows: %lld rows of %lld floats overflow int64", (long long)n_rows,
                              (long long)widest);
    return RLCC_OK;
}

/* An asked row and its place in the batch. */
typedef struct asked {
    int64_t row, at;
} asked;

static int by_row(const void *a, const void *b)
{
    const asked *x = a, *y = b;
    return x->row != y->row ? (x->row < y->row ? -1 : 1) : (x->at < y->at ? -1 : x->at > y->at);
}

/* What one fetch of a batch's rows holds. */
typedef struct fetch {
    rlcc_mpi__run *run;
    const rlcc_mpi_refiner *r;
    int64_t n_rows, n_unique, n_served;
    asked *order;       /* n_rows, by row */
    int64_t *unique;    /* n_unique asked rows, ascending: grouped by owner */
    int64_t *where;     /* n_rows: each batch row's place in unique */
    int64_t *ask;       /* P: rows asked of each rank */
    int64_t *asked_of;  /* P: rows each rank asks of this one */
    size_t *send_bytes, *recv_bytes; /* P each */
    int64_t *wanted;    /* n_served rows the others (and this rank) ask of this one */
    float *served;      /* n_served x d: their rows */
    float *fetched;     /* n_unique x d: the asked rows, from their owners */
} fetch;

static void fetch_free(fetch *f)
{
    free(f->order), free(f->where);
    if (!f->run->broken) /* else MPI may still read or write them */
        free(f->unique), free(f->ask), free(f->asked_of), free(f->send_bytes),
            free(f->recv_bytes), free(f->wanted), free(f->served), free(f->fetched);
}

/* The batch's distinct rows and how many each rank owns (this rank's
 * part: the caller agrees on it). */
static int fetch_plan(fetch *f, const int64_t *rows)
{
    const int p = f->run->size;
    const int64_t n = f->n_rows > 0 ? f->n_rows : 1;
    f->order = malloc(sizeof *f->order * (size_t)n);
    f->unique = malloc(sizeof *f->unique * (size_t)n);
    f->where = malloc(sizeof *f->where * (size_t)n);
    f->ask = calloc((size_t)p, sizeof *f->ask);
    f->asked_of = calloc((size_t)p, sizeof *f->asked_of);
    f->send_bytes = malloc(sizeof *f->send_bytes * (size_t)p);
    f->recv_bytes = malloc(sizeof *f->recv_bytes * (size_t)p);
    int local = f->order && f->unique && f->where && f->ask && f->asked_of && f->send_bytes
                        && f->recv_bytes
                    ? RLCC_OK
                    : rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory for a batch "
                                     "of %lld rows", f->run->rank, (long long)f->n_rows);
    if (local == RLCC_OK) {
        for (int64_t q = 0; q < f->n_rows; q++)
            f->order[q] = (asked){rows[q], q};
        qsort(f->order, (size_t)f->n_rows, sizeof *f->order, by_row);
        const int64_t *count = f->r->count, *offset = f->r->count + p;
        int owner = 0;
        for (int64_t q = 0; q < f->n_rows; q++) {
            const int64_t row = f->order[q].row;
            if (q == 0 || row != f->order[q - 1].row) {
                while (row >= offset[owner] + count[owner])
                    owner++;
                f->ask[owner]++;
                f->unique[f->n_unique++] = row;
            }
            f->where[f->order[q].at] = f->n_unique - 1;
        }
    }
    return local;
}

/* The buffers of the exchange, once the counts are known; agreed on. */
static int fetch_buffers(fetch *f)
{
    rlcc_mpi__run *run = f->run;
    const int64_t d = f->r->d;
    f->n_served = 0;
    for (int q = 0; q < run->size; q++)
        f->n_served += f->asked_of[q];
    const int64_t held = (8 + 4 * d) * (f->n_served + f->n_unique) + 4 * d * f->n_rows;
    int local = RLCC_OK;
    if (run->opts.max_bytes > 0 && held >= run->opts.max_bytes)
        local = rlcc_mpi__fail(RLCC_E_MEMORY_LIMIT, "rank %d: the exchange of the batch's rows "
                               "needs %lld bytes, max_bytes is %lld", run->rank, (long long)held,
                               (long long)run->opts.max_bytes);
    if (local == RLCC_OK) {
        f->wanted = malloc(sizeof *f->wanted * (size_t)(f->n_served > 0 ? f->n_served : 1));
        f->served = rows_of(f->n_served, d);
        f->fetched = rows_of(f->n_unique, d);
        if (f->wanted == NULL || f->served == NULL || f->fetched == NULL)
            local = rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory for the "
                                   "exchange of the batch's rows (%lld bytes)", run->rank,
                                   (long long)held);
    }
    return rlcc_mpi__agree(run, local);
}

/* The rows asked of this rank, from its copy of the latest step's rows. */
static void serve(fetch *f)
{
    const int64_t d = f->r->d, first = f->r->count[f->run->size + f->run->rank];
    for (int64_t m = 0; m < f->n_served; m++)
        memcpy(f->served + m * d, f->r->rows + (f->wanted[m] - first) * d,
               sizeof(float) * (size_t)d);
}

/* The batch's feature rows (n_rows x d into x), planned on every rank,
 * fetched from the ranks that own them: counts, row indices and rows, each
 * an all-to-all. */
static int fetch_rows(fetch *f, float *x)
{
    rlcc_mpi__run *run = f->run;
    const int p = run->size;
    const int64_t d = f->r->d;
    run->stage = "the exchange of the batch's row counts";
    for (int q = 0; q < p; q++)
        f->send_bytes[q] = f->recv_bytes[q] = sizeof(int64_t);
    int err = rlcc_mpi__alltoallv(run, f->ask, f->send_bytes, f->asked_of, f->recv_bytes);
    if (err == RLCC_OK)
        err = fetch_buffers(f);
    run->stage = "the exchange of the batch's row indices";
    for (int q = 0; err == RLCC_OK && q < p; q++) {
        f->send_bytes[q] = sizeof(int64_t) * (size_t)f->ask[q];
        f->recv_bytes[q] = sizeof(int64_t) * (size_t)f->asked_of[q];
    }
    if (err == RLCC_OK)
        err = rlcc_mpi__alltoallv(run, f->unique, f->send_bytes, f->wanted, f->recv_bytes);
    run->stage = "the exchange of the batch's rows";
    if (err == RLCC_OK) {
        serve(f);
        for (int q = 0; q < p; q++) {
            f->send_bytes[q] = sizeof(float) * (size_t)(f->asked_of[q] * d);
            f->recv_bytes[q] = sizeof(float) * (size_t)(f->ask[q] * d);
        }
        err = rlcc_mpi__alltoallv(run, f->served, f->send_bytes, f->fetched, f->recv_bytes);
    }
    for (int64_t q = 0; err == RLCC_OK && q < f->n_rows; q++)
        memcpy(x + q * d, f->fetched + f->where[q] * d, sizeof(float) * (size_t)d);
    return err;
}

/* The targets of a checked batch on every rank; out written once every rank
 * has its own. Without features to fetch, one status exchange. */
static int batch_targets(const rlcc_mpi_refiner *r, rlcc_mpi__run *run, const int64_t *rows,
                         int64_t n_rows, float *out, int64_t ld)
{
    const int64_t k = rlcc_refiner_n_classes(r->local), d = r->d;
    const int reads = r->generation >= 2 && r->beta < 1.0f;
    run->stage = "the targets' set-up";
    fetch f = {.run = run, .r = r, .n_rows = n_rows};
    float *got = n_rows > 0 ? malloc(sizeof *got * (size_t)(n_rows * k)) : NULL;
    float *x = reads && n_rows > 0 ? malloc(sizeof *x * (size_t)(n_rows * d)) : NULL;
    int local = n_rows == 0 || (got != NULL && (!reads || x != NULL))
                    ? RLCC_OK
                    : rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory for a batch "
                                     "of %lld rows", run->rank, (long long)n_rows);
    if (local == RLCC_OK && reads)
        local = fetch_plan(&f, rows);
    if (local == RLCC_OK)
        local = rlcc_mpi__progress(run, "targets", 0, 1);
    int err = RLCC_OK;
    if (reads) { /* the exchange needs every rank ready for it */
        err = rlcc_mpi__agree(run, local);
        if (err == RLCC_OK)
            err = fetch_rows(&f, x);
    }
    if (err == RLCC_OK) {
        run->stage = "the targets";
        rlcc_targets_options to;
        rlcc_targets_options_init(&to, sizeof to);
        to.n_threads = run->opts.n_threads;
        to.max_bytes = run->opts.max_bytes;
        if (local == RLCC_OK && n_rows > 0) {
            local = reads ? rlcc_refiner_targets_rows(r->local, rows, n_rows, x, d, &to, got, k)
                          : rlcc_refiner_targets_opts(r->local, rows, n_rows, &to, got, k);
            if (local != RLCC_OK)
                rlcc_mpi__fail(local, "rank %d: %s", run->rank, rlcc_last_error());
        }
        if (local == RLCC_OK)
            local = rlcc_mpi__progress(run, "targets", 1, 1);
        err = rlcc_mpi__agree(run, local);
    }
    for (int64_t q = 0; err == RLCC_OK && q < n_rows; q++)
        memcpy(out + q * ld, got + q * k, sizeof *got * (size_t)k);
    fetch_free(&f);
    free(x);
    free(got);
    return err;
}

int rlcc_mpi_refiner_targets(const rlcc_mpi_refiner *refiner, const int64_t *rows,
                             int64_t n_rows, const rlcc_mpi_options *mpi, float *out, int64_t ld)
{
    rlcc_mpi__clear_error();
    if (refiner == NULL) /* no communicator: this rank cannot tell the others */
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    const int code = check_batch(refiner, rows, n_rows, out, ld);
    rlcc_mpi__run run;
    uint8_t *generations = NULL;
    int64_t *count = NULL;
    int err = begin_call(refiner, mpi, code, &run, &generations, &count);
    if (err == RLCC_OK && refiner->generation < 1) /* the same on every rank */
        err = rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                             "refiner: no generation yet (call rlcc_mpi_refiner_step)");
    if (err == RLCC_OK)
        err = batch_targets(refiner, &run, rows, n_rows, out, ld);
    rlcc_mpi__end(&run, generations, count);
    return err;
}
