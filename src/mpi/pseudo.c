/*
 * pseudo.c - rlcc_mpi_pseudo_labels: the pseudo labels of rows held in
 * blocks by the ranks of a communicator, byte-identical on every rank to
 * rlcc_pseudo_labels() of the whole matrix in one process.
 *
 * The stages (docs/scale-out.md), each ending with a status all-gather:
 *   1. the check: every rank's row count, width and the options that must
 *      agree; a refusal is the same on every rank;
 *   2. the kNN ring of rlcc_mpi_knn() with k = k1, each rank's lists of
 *      its rows, then all-gathered: every rank holds the N x k1 lists;
 *   3. a Jaccard plan for the rank's rows (rlcc_jaccard_plan_new: steps 2
 *      and 3 from the lists), offered its own block and then every other
 *      block as the blocks go once around the ring (P - 1 steps; the next
 *      transfer is posted before the current block is offered);
 *   4. the plan's weight rows, all-gathered in rank order into V;
 *   5. the Jaccard rows of the rank's rows (rlcc_jaccard_rows), all-gathered
 *      in rank order into the graph;
 *   6. rlcc_pseudo_labels_graph() of the graph on every rank.
 * librlcc's block contract makes each stage's gathered matrix the one
 * rlcc_pseudo_labels() builds, so the labels are its labels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

typedef rlcc_mpi__pseudo_agreed agreed;

/* The caller's options over the defaults (an older caller's shorter struct
 * included), checked by librlcc itself; then what the distributed run
 * supports. */
int rlcc_mpi__read_pseudo(const rlcc_pseudo_options *options, rlcc_pseudo_options *opts)
{
    rlcc_pseudo_options_init(opts, sizeof *opts);
    /* librlcc checks them itself: rlcc_pseudo_labels() of 0 rows */
    if (rlcc_pseudo_labels(NULL, 0, 1, 1, options, NULL, NULL, NULL) != RLCC_OK)
        return rlcc_mpi__from_rlcc(RLCC_E_INVALID_ARGUMENT);
    if (options != NULL)
        memcpy(opts, options,
               options->struct_size < sizeof *opts ? options->struct_size : sizeof *opts);
    opts->struct_size = sizeof *opts;
    if (opts->method != RLCC_PSEUDO_DBSCAN || opts->metric != RLCC_METRIC_JACCARD)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "options: librlcc_mpi %s labels by DBSCAN over the Jaccard "
                              "distance (method RLCC_PSEUDO_DBSCAN, metric RLCC_METRIC_JACCARD)",
                              RLCC_MPI_VERSION_STRING);
    if (opts->normalize)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "options.normalize: librlcc_mpi %s takes the rows as they are; "
                              "L2-normalise them first and set normalize = 0",
                              RLCC_MPI_VERSION_STRING);
    if (opts->knn != NULL)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "options.knn: librlcc_mpi computes the kNN lists itself");
    return RLCC_OK;
}

agreed rlcc_mpi__pseudo_agreed_of(const rlcc_pseudo_options *o)
{
    return (agreed){.method = o->method, .metric = o->metric, .k1 = o->k1, .k2 = o->k2,
                    .variant = o->variant, .normalize = o->normalize, .outliers = o->outliers,
                    .reliability = o->reliability, .guard = o->guard, .n_eps = o->n_eps,
                    .cutoff = o->cutoff, .eps = {o->eps[0], o->eps[1], o->eps[2]},
                    .threshold = o->threshold, .min_samples = o->min_samples};
}

/* The first option rank r gives otherwise than rank 0, named; 0 if none. */
static int options_differ(const agreed *a, const agreed *b, char *what, size_t size)
{
#define INT_FIELD(f)                                                                    \
    if (a->f != b->f) {                                                                 \
        snprintf(what, size, "options.%s: rank %%d has %lld, rank 0 has %lld", #f,      \
                 (long long)b->f, (long long)a->f);                                     \
        return 1;                                                                       \
    }
    INT_FIELD(method) INT_FIELD(metric) INT_FIELD(k1) INT_FIELD(k2) INT_FIELD(variant)
    INT_FIELD(normalize) INT_FIELD(outliers) INT_FIELD(reliability) INT_FIELD(guard)
    INT_FIELD(n_eps) INT_FIELD(min_samples)
#undef INT_FIELD
    const double mine[5] = {a->cutoff, a->eps[0], a->eps[1], a->eps[2], a->threshold};
    const double theirs[5] = {b->cutoff, b->eps[0], b->eps[1], b->eps[2], b->threshold};
    static const char *const names[5] = {"cutoff", "eps[0]", "eps[1]", "eps[2]", "threshold"};
    for (int f = 0; f < 5; f++)
        if (memcmp(&mine[f], &theirs[f], sizeof mine[f]) != 0) {
            snprintf(what, size, "options.%s: rank %%d has %.17g, rank 0 has %.17g", names[f],
                     theirs[f], mine[f]);
            return 1;
        }
    return 0;
}

/* The pseudo labels' own verdict, after rlcc_mpi__check_start(): the
 * options alike on every rank, N within librlcc's graphs, k1 at most N. */
int rlcc_mpi__check_pseudo_agreed(const rlcc_mpi__run *run, const uint8_t *all, size_t stride,
                                  int64_t n_total)
{
    agreed first, other;
    memcpy(&first, all, sizeof first);
    for (int r = 1; r < run->size; r++) {
        char format[200];
        memcpy(&other, all + (size_t)r * stride, sizeof other);
        if (options_differ(&first, &other, format, sizeof format))
            return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, format, r);
    }
    if (n_total > INT32_MAX)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "N: the %d ranks hold %lld rows; librlcc's graphs index at most "
                              "INT32_MAX", run->size, (long long)n_total);
    if (n_total > 0 && first.k1 > n_total)
        return rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT,
                              "k1: %d must be in [1, N = %lld] (N: the rows of all %d ranks)",
                              (int)first.k1, (long long)n_total, run->size);
    return RLCC_OK;
}

/* A CSR gathered from every rank's rows in rank order. */
typedef struct gathered {
    int64_t *indptr;  /* N + 1 */
    int32_t *indices;
    float *data;
} gathered;

static void gathered_free(gathered *g)
{
    free(g->indptr), free(g->indices), free(g->data);
    *g = (gathered){0};
}

/* Every rank's CSR rows (part: this rank's count[rank] rows) into *all. */
static int gather_csr(rlcc_mpi__run *run, const rlcc_csr *part, const int64_t *count,
                      int64_t n_total, gathered *all)
{
    const int p = run->size;
    const int64_t rows = rlcc_csr_rows(part), nnz = rlcc_csr_nnz(part);
    const int64_t *ptr = rlcc_csr_indptr(part);
    int64_t *nnz_of = malloc(sizeof *nnz_of * (size_t)p);
    size_t *bytes = malloc(sizeof *bytes * (size_t)p);
    int64_t *lengths = malloc(sizeof *lengths * (size_t)(rows > 0 ? rows : 1));
    int err = nnz_of && bytes && lengths ? RLCC_OK
                                         : rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of "
                                                          "memory", run->rank);
    for (int q = 0; err == RLCC_OK && q < p; q++)
        bytes[q] = sizeof(int64_t);
    if (err == RLCC_OK)
        err = rlcc_mpi__allgatherv(run, &nnz, nnz_of, bytes);
    int64_t total = 0;
    for (int q = 0; err == RLCC_OK && q < p; q++)
        total += nnz_of[q];
    if (err == RLCC_OK) {
        all->indptr = malloc(sizeof *all->indptr * (size_t)(n_total + 1));
        all->indices = malloc(sizeof *all->indices * (size_t)(total > 0 ? total : 1));
        all->data = malloc(sizeof *all->data * (size_t)(total > 0 ? total : 1));
        if (!all->indptr || !all->indices || !all->data)
            err = rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory for a gathered "
                                 "matrix of %lld entries", run->rank, (long long)total);
    }
    /* the row lengths, then the columns and the values, each in rank order */
    for (int64_t r = 0; err == RLCC_OK && r < rows; r++)
        lengths[r] = ptr[r + 1] - ptr[r];
    for (int q = 0; err == RLCC_OK && q < p; q++)
        bytes[q] = sizeof(int64_t) * (size_t)count[q];
    if (err == RLCC_OK)
        err = rlcc_mpi__allgatherv(run, lengths, all->indptr + 1, bytes);
    for (int q = 0; err == RLCC_OK && q < p; q++)
        bytes[q] = sizeof(int32_t) * (size_t)nnz_of[q];
    if (err == RLCC_OK)
        err = rlcc_mpi__allgatherv(run, rlcc_csr_indices(part), all->indices, bytes);
    for (int q = 0; err == RLCC_OK && q < p; q++)
        bytes[q] = sizeof(float) * (size_t)nnz_of[q];
    if (err == RLCC_OK)
        err = rlcc_mpi__allgatherv(run, rlcc_csr_data(part), all->data, bytes);
    if (err == RLCC_OK) {
        all->indptr[0] = 0;
        for (int64_t i = 0; i < n_total; i++)
            all->indptr[i + 1] += all->indptr[i];
    }
    if (!run->broken) {
        free(lengths), free(bytes), free(nnz_of);
        if (err != RLCC_OK)
            gathered_free(all);
    }
    return err;
}

/* The Jaccard options of the pseudo options, for this rank's work. */
static rlcc_jaccard_options jaccard_of(const rlcc_pseudo_options *o, int32_t n_threads)
{
    rlcc_jaccard_options j;
    rlcc_jaccard_options_init(&j, sizeof j);
    j.k1 = o->k1, j.k2 = o->k2, j.variant = o->variant, j.normalize = o->normalize;
    j.cutoff = o->cutoff, j.n_threads = n_threads;
    return j;
}

/* Stage 3: the plan offered every block, its own first, the others as
 * they come around the ring; then its weight rows. */
static int plan_weights(rlcc_mpi__run *run, const int64_t *count, const int64_t *offset,
                        const int64_t *knn, int64_t n_total, const float *x, int64_t ldx,
                        int64_t d, const rlcc_jaccard_options *jopts, rlcc_csr **weights)
{
    const int p = run->size, r = run->rank;
    const int64_t mine = count[r];
    run->stage = "the Jaccard ring";
    int64_t largest = 0;
    for (int q = 0; q < p; q++)
        largest = count[q] > largest ? count[q] : largest;
    /* own rows packed (they are sent), two visiting buffers taking turns */
    float *own = malloc(sizeof *own * (size_t)((mine > 0 ? mine : 1) * d));
    float *visiting[2] = {malloc(sizeof(float) * (size_t)((largest > 0 ? largest : 1) * d)),
                          malloc(sizeof(float) * (size_t)((largest > 0 ? largest : 1) * d))};
    MPI_Datatype row_type = MPI_DATATYPE_NULL;
    rlcc_jaccard_plan *plan = NULL;
    int err = own && visiting[0] && visiting[1] ? RLCC_OK
                                                : rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: "
                                                                 "out of memory", r);
    if (err == RLCC_OK && (MPI_Type_contiguous((int)d, MPI_FLOAT, &row_type) != MPI_SUCCESS
                           || MPI_Type_commit(&row_type) != MPI_SUCCESS))
        err = rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: MPI_Type_contiguous failed", r);
    for (int64_t i = 0; err == RLCC_OK && i < mine; i++)
        memcpy(own + i * d, x + i * ldx, sizeof(float) * (size_t)d);
    if (err == RLCC_OK)
        err = rlcc_jaccard_plan_new(knn, n_total, offset[r], offset[r] + mine, d, jopts, &plan);
    if (err == RLCC_OK)
        err = rlcc_jaccard_plan_offer(plan, own, d, own, mine, d, offset[r]);
    if (err != RLCC_OK && err != RLCC_MPI_E_MPI && rlcc_last_error()[0] != '\0')
        rlcc_mpi__fail(err, "rank %d: %s", r, rlcc_last_error());
    err = rlcc_mpi__agree(run, err);
    MPI_Request flight[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL}; /* recv, send */
    const int left = (r - 1 + p) % p, right = (r + 1) % p;
    /* step s: block (r - s) mod P arrives from the left into visiting[s % 2];
     * the block held at step s - 1 (own at s = 1) goes to the right */
    for (int64_t s = 1; err == RLCC_OK && s < p; s++) {
        const int b = (int)(((r - s) % p + p) % p);
        const float *out = s == 1 ? own : visiting[(s - 1) % 2];
        const int64_t out_rows = count[((r - s + 1) % p + p) % p];
        if (MPI_Irecv(visiting[s % 2], (int)count[b], row_type, left, (int)(4 * s), run->comm,
                      &flight[0]) != MPI_SUCCESS
            || MPI_Isend(out, (int)out_rows, row_type, right, (int)(4 * s), run->comm,
                         &flight[1]) != MPI_SUCCESS) {
            run->broken = 1;
            err = rlcc_mpi__fail(RLCC_MPI_E_MPI, "rank %d: posting the rows of step %lld failed",
                                 r, (long long)s);
            break;
        }
        const int peers[2] = {left, right};
        err = rlcc_mpi__wait_peers(run, flight, 2, peers, left);
        if (err != RLCC_OK)
            break;
        int local = rlcc_jaccard_plan_offer(plan, own, d, visiting[s % 2], count[b], d, offset[b]);
        if (local != RLCC_OK)
            rlcc_mpi__fail(local, "rank %d: %s", r, rlcc_last_error());
        if (local == RLCC_OK)
            local = rlcc_mpi__progress(run, "jaccard", s, p - 1);
        err = rlcc_mpi__agree(run, local);
    }
    if (err == RLCC_OK) {
        int local = rlcc_jaccard_plan_weights(plan, weights);
        if (local != RLCC_OK)
            rlcc_mpi__fail(local, "rank %d: %s", r, rlcc_last_error());
        err = rlcc_mpi__agree(run, local);
    }
    rlcc_jaccard_plan_free(plan);
    if (row_type != MPI_DATATYPE_NULL)
        MPI_Type_free(&row_type);
    if (!run->broken) /* else MPI may still read or write them */
        free(own), free(visiting[0]), free(visiting[1]);
    return err;
}

/* Stages 2 to 6 for a checked input; labels (N) written on success. */
int rlcc_mpi__pseudo_labels(rlcc_mpi__run *run, const int64_t *count, const int64_t *offset,
                            int64_t n_total, const float *x, int64_t ldx, int64_t d,
                            const rlcc_pseudo_options *popts, int32_t *labels, int64_t *n_classes,
                            double *threshold)
{
    const int p = run->size, r = run->rank;
    const int64_t mine = count[r], k1 = popts->k1;
    const rlcc_jaccard_options jopts = jaccard_of(popts, run->opts.n_threads);
    int64_t *local_knn = malloc(sizeof *local_knn * (size_t)((mine > 0 ? mine : 1) * k1));
    int64_t *knn = malloc(sizeof *knn * (size_t)(n_total * k1));
    size_t *bytes = malloc(sizeof *bytes * (size_t)p);
    int err = local_knn && knn && bytes ? RLCC_OK
                                        : rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of "
                                                         "memory for the kNN lists", r);
    err = rlcc_mpi__agree(run, err);
    if (err == RLCC_OK)
        err = rlcc_mpi__knn(run, count, offset, x, mine, d, ldx, k1, local_knn, NULL);
    run->stage = "the gather of the kNN lists";
    for (int q = 0; err == RLCC_OK && q < p; q++)
        bytes[q] = sizeof(int64_t) * (size_t)(count[q] * k1);
    if (err == RLCC_OK)
        err = rlcc_mpi__allgatherv(run, local_knn, knn, bytes);
    rlcc_csr *weights = NULL, *rows = NULL;
    gathered V = {0}, graph = {0};
    if (err == RLCC_OK)
        err = plan_weights(run, count, offset, knn, n_total, x, ldx, d, &jopts, &weights);
    run->stage = "the gather of the weights";
    if (err == RLCC_OK)
        err = gather_csr(run, weights, count, n_total, &V);
    run->stage = "the Jaccard rows";
    if (err == RLCC_OK) {
        int local = rlcc_jaccard_rows(n_total, V.indptr, V.indices, V.data, knn, offset[r],
                                      offset[r] + mine, &jopts, &rows);
        if (local != RLCC_OK)
            rlcc_mpi__fail(local, "rank %d: %s", r, rlcc_last_error());
        err = rlcc_mpi__agree(run, local);
    }
    if (!run->broken)
        gathered_free(&V);
    run->stage = "the gather of the Jaccard rows";
    if (err == RLCC_OK)
        err = gather_csr(run, rows, count, n_total, &graph);
    run->stage = "the labels";
    int32_t *got = NULL;
    int64_t classes = 0;
    double used = 0.0;
    if (err == RLCC_OK) {
        got = malloc(sizeof *got * (size_t)(n_total > 0 ? n_total : 1));
        rlcc_pseudo_options graph_opts = *popts;
        graph_opts.n_threads = run->opts.n_threads;
        graph_opts.max_bytes = 0;
        int local = got == NULL ? rlcc_mpi__fail(RLCC_E_OUT_OF_MEMORY, "rank %d: out of memory", r)
                                : rlcc_pseudo_labels_graph(n_total, graph.indptr, graph.indices,
                                                           graph.data, &graph_opts, got, &classes,
                                                           &used);
        if (local != RLCC_OK && got != NULL)
            rlcc_mpi__fail(local, "rank %d: %s", r, rlcc_last_error());
        if (local == RLCC_OK)
            local = rlcc_mpi__progress(run, "labels", 1, 1);
        err = rlcc_mpi__agree(run, local);
    }
    if (err == RLCC_OK) {
        memcpy(labels, got, sizeof *got * (size_t)n_total);
        if (n_classes != NULL)
            *n_classes = classes;
        if (threshold != NULL)
            *threshold = used;
    }
    free(got);
    rlcc_csr_free(rows);
    rlcc_csr_free(weights);
    if (!run->broken) {
        gathered_free(&graph);
        free(bytes), free(knn), free(local_knn);
    }
    return err;
}

int rlcc_mpi_pseudo_labels(MPI_Comm comm, const float *x, int64_t n_local, int64_t d,
                           int64_t ldx, const rlcc_pseudo_options *pseudo,
                           const rlcc_mpi_options *options, int32_t *labels,
                           int64_t *n_classes, double *threshold)
{
    rlcc_mpi__clear_error();
    rlcc_pseudo_options popts;
    int code = rlcc_mpi__read_pseudo(pseudo, &popts);
    if (code == RLCC_OK)
        code = rlcc_mpi__check_rows(x, n_local, d, ldx);
    if (code == RLCC_OK && labels == NULL)
        code = rlcc_mpi__fail(RLCC_E_INVALID_ARGUMENT, "labels: is NULL (N int32: a label for "
                              "every row of every rank)");
    const agreed mine = code == RLCC_OK ? rlcc_mpi__pseudo_agreed_of(&popts) : (agreed){0};
    rlcc_mpi__run run;
    uint8_t *options_of = NULL;
    int64_t *count = NULL, n_total = 0;
    int err = rlcc_mpi__begin(comm, options, code, n_local, d, &mine, sizeof mine, &run,
                              &options_of, &count, &n_total);
    if (err == RLCC_OK)
        err = rlcc_mpi__check_pseudo_agreed(&run, options_of, sizeof mine, n_total);
    if (err == RLCC_OK && n_total == 0) {
        if (n_classes != NULL)
            *n_classes = 0;
        if (threshold != NULL)
            *threshold = 0.0;
    } else if (err == RLCC_OK) {
        err = rlcc_mpi__pseudo_labels(&run, count, count + run.size, n_total, x, ldx, d, &popts,
                                      labels, n_classes, threshold);
    }
    rlcc_mpi__end(&run, options_of, count);
    return err;
}
