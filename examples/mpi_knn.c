/*
 * mpi_knn.c - the exact kNN of rows held by the ranks of an MPI job
 * (librlcc_mpi). Each rank makes its own block of synthetic re-ID-like rows
 * (in a trainer: the features of its share of the images, in rank order),
 * and gets the 5 nearest rows of each of its rows among all ranks' rows,
 * with global indices: what rlcc_knn() gives on the whole matrix.
 *
 *   cc examples/mpi_knn.c $(pkg-config --cflags --libs rlcc_mpi) -o mpi_knn
 *   mpirun -np 3 ./mpi_knn
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <rlcc_mpi.h>

enum { ROWS_PER_RANK = 200, D = 64, K = 5 };

int main(int argc, char **argv)
{
    int provided = 0, rank = 0, size = 1;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    /* unit rows around 20 identities; row i of rank r is global row
     * r * ROWS_PER_RANK + i */
    float *x = malloc(sizeof *x * ROWS_PER_RANK * D);
    for (int i = 0; i < ROWS_PER_RANK; i++) {
        const int global = rank * ROWS_PER_RANK + i, identity = global % 20;
        double norm = 0.0;
        for (int t = 0; t < D; t++) {
            const double noise = 0.05 * sin(1.7 * global + 3.1 * t);
            x[i * D + t] = (float)((t % 20 == identity ? 1.0 : 0.0) + noise);
            norm += (double)x[i * D + t] * x[i * D + t];
        }
        for (int t = 0; t < D; t++)
            x[i * D + t] = (float)(x[i * D + t] / sqrt(norm));
    }

    rlcc_mpi_options options;
    rlcc_mpi_options_init(&options, sizeof options);
    options.timeout = 60; /* seconds a rank waits for another */
    int64_t *indices = malloc(sizeof *indices * ROWS_PER_RANK * K);
    float *sqdist = malloc(sizeof *sqdist * ROWS_PER_RANK * K);
    const int rc = rlcc_mpi_knn(MPI_COMM_WORLD, x, ROWS_PER_RANK, D, D, K, &options, indices,
                                sqdist);
    if (rc != RLCC_OK) {
        /* the same refusal on every rank, or the rank that failed */
        fprintf(stderr, "rank %d: %s: %s\n", rank, rlcc_mpi_strerror(rc), rlcc_mpi_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    /* every neighbour of a row shares its identity (global index mod 20) */
    int same = 0;
    for (int i = 0; i < ROWS_PER_RANK * K; i++)
        same += indices[i] % 20 == (rank * ROWS_PER_RANK + i / K) % 20;
    int all_same = 0;
    MPI_Reduce(&same, &all_same, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("%d ranks: row 0's neighbours %lld %lld %lld %lld %lld; %d of %d neighbours share "
               "their row's identity\n", size, (long long)indices[0], (long long)indices[1],
               (long long)indices[2], (long long)indices[3], (long long)indices[4], all_same,
               size * ROWS_PER_RANK * K);
    free(sqdist), free(indices), free(x);
    MPI_Finalize();
    return 0;
}
