/*
 * bench_mpi.c - librlcc_mpi measured, and the numbers its scale model is
 * built from (make bench-mpi; bench/scale_model.py reads the output).
 *
 *   mpirun -np P build/bench/bench_mpi N D K1
 *
 * Every rank makes the same N x D unit rows around N / 20 identities (fixed
 * seed) and passes its even block; one thread per rank. Printed, as
 * "key value" lines on rank 0 (seconds, medians of three):
 *   ranks, n, d, k1, block (rows per rank)
 *   mpi_knn, mpi_pseudo      the two calls, wall time of the slowest rank
 *   single_knn, single_pseudo  rlcc_knn / rlcc_pseudo_labels of the whole
 *                            matrix on rank 0 alone (others wait)
 * and the primitives, timed on rank 0 alone at this run's block size b:
 *   t_self      rlcc_knn_update of a block against itself (b^2 d / 2)
 *   t_pair      rlcc_knn_update_pair of two blocks (b^2 d)
 *   t_offer     rlcc_jaccard_plan_offer of one block to a plan of b rows
 *   t_weights   rlcc_jaccard_plan_weights (b rows)
 *   t_rows      rlcc_jaccard_rows for b rows (with the whole V)
 *   t_graph     rlcc_pseudo_labels_graph of the whole graph
 *   t_plan      rlcc_jaccard_plan_new for b rows
 * and between ranks 0 and 1 (when P > 1): bandwidth (bytes/s of a block of
 * rows sent and answered), latency (s per 8-byte round trip / 2).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlcc_mpi.h"
#include "timing.h"

static float *reid_rows(int64_t n, int64_t d)
{
    float *x = malloc(sizeof *x * (size_t)(n * d));
    uint64_t s = 12345;
    for (int64_t i = 0; i < n; i++) {
        const int64_t id = i % (n / 20 + 1);
        double sum = 0.0;
        for (int64_t t = 0; t < d; t++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            const double v = (double)(s >> 40) / 16777216.0 - 0.5 + (t == id % d ? 4.0 : 0.0);
            x[i * d + t] = (float)v;
            sum += v * v;
        }
        for (int64_t t = 0; t < d; t++)
            x[i * d + t] = (float)(x[i * d + t] / sqrt(sum));
    }
    return x;
}

static rlcc_pseudo_options pseudo_options(int64_t k1)
{
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = (int32_t)k1;
    p.n_threads = 1;
    return p;
}

/* The primitives at block size b, on this rank alone. */
static void primitives(const float *x, int64_t n, int64_t d, int64_t k1, int64_t b)
{
    rlcc_knn_options ko;
    rlcc_knn_options_init(&ko, sizeof ko);
    ko.n_threads = 1;
    double t[3];
    for (int r = 0; r < 3; r++) {
        rlcc_knn_state *s = NULL;
        rlcc_knn_state_new(b, 0, d, k1, &ko, &s);
        const double t0 = now_seconds();
        rlcc_knn_update(s, x, d, x, b, d, 0);
        t[r] = now_seconds() - t0;
        rlcc_knn_state_free(s);
    }
    printf("t_self %.6f\n", median_seconds(t, 3));
    const int64_t b2 = n - b < b ? n - b : b;
    for (int r = 0; r < 3; r++) {
        rlcc_knn_state *a = NULL, *c = NULL;
        rlcc_knn_state_new(b, 0, d, k1, &ko, &a);
        rlcc_knn_state_new(b2, b, d, k1, &ko, &c);
        const double t0 = now_seconds();
        rlcc_knn_update_pair(a, x, d, c, x + b * d, d);
        t[r] = (now_seconds() - t0) * (double)b / (double)(b2 > 0 ? b2 : 1); /* scaled to b x b */
        rlcc_knn_state_free(a);
        rlcc_knn_state_free(c);
    }
    printf("t_pair %.6f\n", b2 > 0 ? median_seconds(t, 3) : 0.0);
    /* the Jaccard stages on the whole matrix's lists */
    int64_t *knn = malloc(sizeof *knn * (size_t)(n * k1));
    rlcc_knn(x, n, d, d, k1, &ko, knn, NULL);
    rlcc_jaccard_options jo;
    rlcc_jaccard_options_init(&jo, sizeof jo);
    jo.k1 = (int32_t)k1, jo.cutoff = 0.9f, jo.n_threads = 1;
    rlcc_jaccard_plan *plan = NULL;
    double t0 = now_seconds();
    rlcc_jaccard_plan_new(knn, n, 0, b, d, &jo, &plan);
    printf("t_plan %.6f\n", now_seconds() - t0);
    t0 = now_seconds();
    rlcc_jaccard_plan_offer(plan, x, d, x, b, d, 0);
    printf("t_offer %.6f\n", now_seconds() - t0);
    rlcc_jaccard_plan_offer(plan, x, d, x, n, d, 0);
    rlcc_csr *w = NULL;
    t0 = now_seconds();
    rlcc_jaccard_plan_weights(plan, &w);
    printf("t_weights %.6f\n", now_seconds() - t0);
    rlcc_csr_free(w);
    rlcc_jaccard_plan_free(plan);
    rlcc_jaccard_plan_new(knn, n, 0, n, d, &jo, &plan);
    rlcc_jaccard_plan_offer(plan, x, d, x, n, d, 0);
    rlcc_jaccard_plan_weights(plan, &w);
    rlcc_csr *rows = NULL;
    t0 = now_seconds();
    rlcc_jaccard_rows(n, rlcc_csr_indptr(w), rlcc_csr_indices(w), rlcc_csr_data(w), knn, 0, b, &jo,
                      &rows);
    printf("t_rows %.6f\n", now_seconds() - t0);
    rlcc_csr_free(rows);
    rlcc_jaccard_rows(n, rlcc_csr_indptr(w), rlcc_csr_indices(w), rlcc_csr_data(w), knn, 0, n, &jo,
                      &rows);
    printf("nnz_weights %lld\nnnz_graph %lld\n", (long long)rlcc_csr_nnz(w),
           (long long)rlcc_csr_nnz(rows));
    rlcc_pseudo_options p = pseudo_options(k1);
    int32_t *labels = malloc(sizeof *labels * (size_t)n);
    t0 = now_seconds();
    rlcc_pseudo_labels_graph(n, rlcc_csr_indptr(rows), rlcc_csr_indices(rows), rlcc_csr_data(rows),
                             &p, labels, NULL, NULL);
    printf("t_graph %.6f\n", now_seconds() - t0);
    free(labels);
    rlcc_csr_free(rows);
    rlcc_csr_free(w);
    rlcc_jaccard_plan_free(plan);
    free(knn);
}

/* Bandwidth and latency between ranks 0 and 1: a block's rows there and back. */
static void link(int rank, const float *x, int64_t b, int64_t d)
{
    float *buf = malloc(sizeof *buf * (size_t)(b * d));
    const int count = (int)(b * d);
    double best = INFINITY, lat = INFINITY;
    for (int r = 0; r < 5; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = now_seconds();
        if (rank == 0) {
            MPI_Send(x, count, MPI_FLOAT, 1, 7, MPI_COMM_WORLD);
            MPI_Recv(buf, count, MPI_FLOAT, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(buf, count, MPI_FLOAT, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, count, MPI_FLOAT, 0, 7, MPI_COMM_WORLD);
        }
        const double t = (now_seconds() - t0) / 2;
        best = t < best ? t : best;
        int64_t one = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        const double t1 = now_seconds();
        if (rank == 0) {
            MPI_Send(&one, 1, MPI_INT64_T, 1, 8, MPI_COMM_WORLD);
            MPI_Recv(&one, 1, MPI_INT64_T, 1, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(&one, 1, MPI_INT64_T, 0, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(&one, 1, MPI_INT64_T, 0, 8, MPI_COMM_WORLD);
        }
        const double l = (now_seconds() - t1) / 2;
        lat = l < lat ? l : lat;
    }
    if (rank == 0)
        printf("bandwidth %.1f\nlatency %.9f\n", (double)count * sizeof(float) / best, lat);
    free(buf);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int64_t n = argc > 1 ? atoll(argv[1]) : 8000, d = argc > 2 ? atoll(argv[2]) : 512,
                  k1 = argc > 3 ? atoll(argv[3]) : 30;
    float *x = reid_rows(n, d);
    const int64_t r0 = n * rank / size, r1 = n * (rank + 1) / size, b = (n + size - 1) / size;
    int64_t *idx = malloc(sizeof *idx * (size_t)(n * k1));
    int32_t *labels = malloc(sizeof *labels * (size_t)n);
    rlcc_pseudo_options p = pseudo_options(k1);
    rlcc_knn_options ko;
    rlcc_knn_options_init(&ko, sizeof ko);
    ko.n_threads = 1;
    double single[2][3] = {{0}}, ring[2][3];
    for (int t = 0; t < 3; t++) {
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            double t0 = now_seconds();
            rlcc_knn(x, n, d, d, k1, &ko, idx, NULL);
            single[0][t] = now_seconds() - t0;
            t0 = now_seconds();
            rlcc_pseudo_labels(x, n, d, d, &p, labels, NULL, NULL);
            single[1][t] = now_seconds() - t0;
        }
        MPI_Barrier(MPI_COMM_WORLD);
    }
    rlcc_mpi_options o;
    rlcc_mpi_options_init(&o, sizeof o);
    o.n_threads = 1;
    for (int t = 0; t < 3; t++)
        for (int which = 0; which < 2; which++) {
            MPI_Barrier(MPI_COMM_WORLD);
            const double t0 = now_seconds();
            const int rc = which == 0
                               ? rlcc_mpi_knn(MPI_COMM_WORLD, x + r0 * d, r1 - r0, d, d, k1, &o, idx, NULL)
                               : rlcc_mpi_pseudo_labels(MPI_COMM_WORLD, x + r0 * d, r1 - r0, d, d, &p, &o,
                                                        labels, NULL, NULL);
            double mine = now_seconds() - t0, slowest = 0;
            if (rc != RLCC_OK) {
                fprintf(stderr, "rank %d: %s\n", rank, rlcc_mpi_last_error());
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            MPI_Reduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
            ring[which][t] = slowest;
        }
    if (rank == 0) {
        printf("ranks %d\nn %lld\nd %lld\nk1 %lld\nblock %lld\n", size, (long long)n, (long long)d,
               (long long)k1, (long long)b);
        printf("single_knn %.6f\nsingle_pseudo %.6f\n", median_seconds(single[0], 3),
               median_seconds(single[1], 3));
        printf("mpi_knn %.6f\nmpi_pseudo %.6f\n", median_seconds(ring[0], 3),
               median_seconds(ring[1], 3));
        primitives(x, n, d, k1, b);
    }
    if (size > 1)
        link(rank, x, b, d);
    free(labels), free(idx), free(x);
    MPI_Finalize();
    return 0;
}
