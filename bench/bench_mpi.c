/*
 * bench_mpi.c - rlcc_mpi_knn against rlcc_knn in one process (make bench-mpi).
 *
 *   mpirun -np P build/bench/bench_mpi N D K
 *
 * Every rank makes the same N x D rows (fixed seed) and passes its even
 * block. Rank 0 times rlcc_knn on the whole matrix alone (one thread, the
 * others idle at a barrier), then every rank times rlcc_mpi_knn (one thread
 * each), three runs, the median. It prints both, their ratio, and the
 * ring's share of the single-process Gram work per rank (1/P of the pairs,
 * plus the diagonal block).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rlcc_mpi.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int64_t n = argc > 1 ? atoll(argv[1]) : 8000, d = argc > 2 ? atoll(argv[2]) : 512,
                  k = argc > 3 ? atoll(argv[3]) : 30;
    float *x = malloc(sizeof *x * (size_t)(n * d));
    uint64_t s = 12345;
    for (int64_t e = 0; e < n * d; e++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[e] = (float)((double)(s >> 40) / 16777216.0 - 0.5);
    }
    const int64_t r0 = n * rank / size, r1 = n * (rank + 1) / size;
    int64_t *idx = malloc(sizeof *idx * (size_t)(n * k));
    double single[3] = {0, 0, 0}, ring[3];
    rlcc_knn_options ko;
    rlcc_knn_options_init(&ko, sizeof ko);
    ko.n_threads = 1;
    for (int t = 0; t < 3; t++) {
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            const double t0 = now();
            if (rlcc_knn(x, n, d, d, k, &ko, idx, NULL) != RLCC_OK)
                return 1;
            single[t] = now() - t0;
        }
        MPI_Barrier(MPI_COMM_WORLD);
    }
    rlcc_mpi_options o;
    rlcc_mpi_options_init(&o, sizeof o);
    o.n_threads = 1;
    for (int t = 0; t < 3; t++) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = now();
        const int rc = rlcc_mpi_knn(MPI_COMM_WORLD, x + r0 * d, r1 - r0, d, d, k, &o, idx, NULL);
        double mine = now() - t0, slowest = 0;
        if (rc != RLCC_OK) {
            fprintf(stderr, "rank %d: %s\n", rank, rlcc_mpi_last_error());
            return 1;
        }
        MPI_Reduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        ring[t] = slowest;
    }
    if (rank == 0) {
        qsort(single, 3, sizeof *single, by_value);
        qsort(ring, 3, sizeof *ring, by_value);
        /* pairs per rank: floor(P/2) blocks of (N/P)^2 (half of them at the
         * last step of an even ring) plus the diagonal's half */
        const double b = (double)n / size;
        const double pairs = (size % 2 ? (size - 1) / 2.0 : size / 2.0 - 0.5) * b * b + b * b / 2;
        const double share = pairs / ((double)n * n / 2);
        printf("| %d | %lld | %lld | %lld | %.2f | %.2f | %.2f | %.3f |\n", size, (long long)n,
               (long long)d, (long long)k, single[1], ring[1], single[1] / ring[1], share);
    }
    free(idx), free(x);
    MPI_Finalize();
    return 0;
}
