/*
 * test_mpi.c - librlcc_mpi under mpirun (scripts/check-mpi.sh runs it at 2,
 * 3 and 4 ranks). Every rank makes the same matrices from fixed seeds and
 * passes its block; rank 0 gathers every rank's result and compares it,
 * byte for byte, with rlcc_knn() on the whole matrix.
 *
 *   mpi-tests exact           random and adversarial rows, uneven blockings
 *                             (empty blocks too), 1 to 3 threads
 *   mpi-tests pseudo          rlcc_mpi_pseudo_labels against rlcc_pseudo_labels
 *                             of the whole matrix: labels, class count and
 *                             threshold on every rank; refusals
 *   mpi-tests errors          refusals: each rank's bad input, input that
 *                             disagrees across ranks, a cancel, a memory bound:
 *                             the same code on every rank, outputs untouched
 *   mpi-tests die STAGE DIR   the last rank _exits at STAGE (check, ring,
 *                             finish of the kNN; jaccard, labels of the pseudo
 *                             labels); every other rank must return an error
 *                             naming it within the timeout, and writes what it
 *                             got to DIR/rank-R (the script reads them)
 * Rank 0 prints "mpi-npP-MODE: N passed, M failed".
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rlcc_mpi.h"

static int rank, size, passed, failed;

/* Every rank's verdict on a check, counted once on rank 0. */
static void record(int ok, const char *what)
{
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (rank == 0) {
        if (all_ok)
            passed++;
        else {
            failed++;
            printf("not ok - %s\n", what);
        }
    }
    if (!ok)
        fprintf(stderr, "rank %d: failed: %s (%s)\n", rank, what, rlcc_mpi_last_error());
}

static uint64_t rng;
static uint32_t next_u32(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33);
}

enum { GAUSSIAN, INTEGER_GRID, DUPLICATES, LAST_BIT, OFFSET, KINDS };

static float *make_rows(int kind, int64_t n, int64_t d, uint64_t seed)
{
    float *x = malloc(sizeof *x * (size_t)(n * d));
    rng = seed;
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < d; t++) {
            const float g = ((float)next_u32() / 4294967296.0f - 0.5f) * 2.0f;
            switch (kind) {
            case GAUSSIAN: x[i * d + t] = g; break;
            case INTEGER_GRID: x[i * d + t] = (float)(next_u32() % 3); break;
            case DUPLICATES: x[i * d + t] = i % 5 == 0 || i < 5 ? g : x[(i - i % 5) * d + t]; break;
            case LAST_BIT: x[i * d + t] = i % 2 ? nextafterf(x[(i - 1) * d + t], INFINITY) : g; break;
            default: x[i * d + t] = 4096.0f + (float)(next_u32() % 5) * 0x1p-10f; break;
            }
        }
    return x;
}

/* Block boundaries of n rows over size ranks, the same on every rank:
 * random cuts (so some blocks are empty) or even ones. */
static void blocking(int64_t n, int uneven, uint64_t seed, int64_t *cut)
{
    rng = seed;
    cut[0] = 0, cut[size] = n;
    for (int r = 1; r < size; r++)
        cut[r] = uneven ? (int64_t)(next_u32() % (uint32_t)(n + 1)) : n * r / size;
    for (int a = 1; a < size; a++)
        for (int b = a; b > 1 && cut[b] < cut[b - 1]; b--) {
            const int64_t t = cut[b];
            cut[b] = cut[b - 1], cut[b - 1] = t;
        }
}

/* rlcc_mpi_knn of every block, gathered on rank 0: equal to rlcc_knn? */
static int knn_case(const float *x, int64_t n, int64_t d, int64_t k, const int64_t *cut,
                    int n_threads, int with_dist)
{
    const int64_t mine = cut[rank + 1] - cut[rank];
    int64_t *idx = malloc(sizeof *idx * (size_t)(mine * k + 1));
    float *sq = malloc(sizeof *sq * (size_t)(mine * k + 1));
    rlcc_mpi_options o;
    rlcc_mpi_options_init(&o, sizeof o);
    o.n_threads = n_threads;
    o.timeout = 60;
    /* a leading dimension wider than d on odd ranks: the ring packs them */
    const int64_t ld = rank % 2 ? d + 3 : d;
    float *block = calloc((size_t)(mine * ld + 1), sizeof *block);
    for (int64_t i = 0; i < mine; i++)
        memcpy(block + i * ld, x + (cut[rank] + i) * d, sizeof(float) * (size_t)d);
    const int rc = rlcc_mpi_knn(MPI_COMM_WORLD, block, mine, d, ld, k, &o, idx,
                                with_dist ? sq : NULL);
    int ok = rc == RLCC_OK;
    int *counts = malloc(sizeof *counts * (size_t)size), *displs = malloc(sizeof *displs * (size_t)size);
    for (int r = 0; r < size; r++)
        counts[r] = (int)((cut[r + 1] - cut[r]) * k), displs[r] = (int)(cut[r] * k);
    int64_t *all_idx = rank == 0 ? malloc(sizeof *all_idx * (size_t)(n * k)) : NULL;
    float *all_sq = rank == 0 ? malloc(sizeof *all_sq * (size_t)(n * k)) : NULL;
    MPI_Gatherv(idx, (int)(mine * k), MPI_INT64_T, all_idx, counts, displs, MPI_INT64_T, 0, MPI_COMM_WORLD);
    MPI_Gatherv(sq, (int)(mine * k), MPI_FLOAT, all_sq, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
    if (rank == 0 && ok) {
        int64_t *want = malloc(sizeof *want * (size_t)(n * k));
        float *want_sq = malloc(sizeof *want_sq * (size_t)(n * k));
        ok = rlcc_knn(x, n, d, d, k, NULL, want, want_sq) == RLCC_OK
             && memcmp(want, all_idx, sizeof *want * (size_t)(n * k)) == 0
             && (!with_dist || memcmp(want_sq, all_sq, sizeof *want_sq * (size_t)(n * k)) == 0);
        free(want), free(want_sq);
    }
    free(all_idx), free(all_sq), free(counts), free(displs), free(idx), free(sq), free(block);
    return ok;
}

static void exact(void)
{
    int cases = 0;
    for (int kind = 0; kind < KINDS; kind++)
        for (int trial = 0; trial < 8; trial++) {
            const int64_t n = 40 + 37 * trial, d = 1 + 9 * trial, k = 1 + (5 * trial + kind) % 24;
            float *x = make_rows(kind, n, d, 100 + 13 * (uint64_t)trial + (uint64_t)kind);
            int64_t cut[16];
            blocking(n, trial % 2, 700 + (uint64_t)trial * 3 + (uint64_t)kind, cut);
            char what[96];
            snprintf(what, sizeof what, "kind %d trial %d (n %lld d %lld k %lld)", kind, trial,
                     (long long)n, (long long)d, (long long)k);
            record(knn_case(x, n, d, k, cut, 1 + trial % 3, trial % 4 != 3), what);
            free(x);
            cases++;
        }
    /* k = N: every row's list is every row */
    float *x = make_rows(GAUSSIAN, 9, 4, 5);
    int64_t cut[16];
    blocking(9, 1, 99, cut);
    record(knn_case(x, 9, 4, 9, cut, 1, 1), "k = N");
    free(x);
}

/* One refused call: every rank's code is want (REMOTE allowed where
 * remote_ok), outputs untouched. */
static void refused(const char *what, MPI_Comm comm, const float *x, int64_t n_local, int64_t d,
                    int64_t ld, int64_t k, const rlcc_mpi_options *o, int want, int remote_ok,
                    const char *text)
{
    int64_t idx[64];
    float sq[64];
    memset(idx, 0x5A, sizeof idx), memset(sq, 0x5A, sizeof sq);
    if (getenv("MPI_TEST_VERBOSE"))
        fprintf(stderr, "rank %d: %s\n", rank, what);
    const int rc = rlcc_mpi_knn(comm, x, n_local, d, ld, k, o, idx, sq);
    int ok = rc == want || (remote_ok && rc == RLCC_MPI_E_REMOTE);
    ok &= text == NULL || strstr(rlcc_mpi_last_error(), text) != NULL;
    for (int i = 0; i < 64; i++)
        ok &= idx[i] == (int64_t)0x5A5A5A5A5A5A5A5A;
    record(ok, what);
}

static int cancel_at_ring(const char *stage, int64_t done, int64_t total, void *user)
{
    (void)done, (void)total, (void)user;
    return strcmp(stage, "ring") == 0;
}

static void errors(void)
{
    const int64_t d = 3, k = 2, n = 4;
    float x[4 * 8];
    for (int i = 0; i < 32; i++)
        x[i] = (float)((i * 7 + rank) % 11);
    rlcc_mpi_options o;
    rlcc_mpi_options_init(&o, sizeof o);
    o.timeout = 30;
    const int last = size - 1;
    /* this rank's own bad input: the same code and the rank on every rank */
    float bad[12];
    memcpy(bad, x, sizeof bad);
    if (rank == last)
        bad[4] = NAN;
    char text[64];
    snprintf(text, sizeof text, "rank %d: x: row 1 has NaN", last);
    refused("NaN on the last rank", MPI_COMM_WORLD, bad, n, d, d, k, &o, RLCC_E_INVALID_ARGUMENT, 0, text);
    refused("d disagrees", MPI_COMM_WORLD, x, n, rank == last ? d + 1 : d, d + 1, k, &o,
            RLCC_E_INVALID_ARGUMENT, 0, "d: rank");
    refused("k disagrees", MPI_COMM_WORLD, x, n, d, d, rank == last ? k + 1 : k, &o,
            RLCC_E_INVALID_ARGUMENT, 0, "k: rank");
    refused("k above N", MPI_COMM_WORLD, x, n, d, d, n * size + 1, &o, RLCC_E_INVALID_ARGUMENT, 0,
            "N = ");
    refused("ldx below d", MPI_COMM_WORLD, x, n, d, rank == 0 ? d - 1 : d, k, &o,
            RLCC_E_INVALID_ARGUMENT, 0, "rank 0: ldx");
    rlcc_mpi_options bad_opts = o;
    if (rank == last)
        bad_opts.timeout = -1;
    refused("a rank's bad options", MPI_COMM_WORLD, x, n, d, d, k, &bad_opts, RLCC_E_INVALID_ARGUMENT,
            0, "options.timeout");
    {
        int64_t spare[8];
        const int rc = rlcc_mpi_knn(MPI_COMM_WORLD, x, n, d, d, k, &o, rank == 0 ? NULL : spare, NULL);
        record(rc == RLCC_E_INVALID_ARGUMENT && strstr(rlcc_mpi_last_error(), "rank 0: indices: is NULL"),
               "NULL indices on rank 0");
    }
    rlcc_mpi_options cancel = o;
    if (rank == last)
        cancel.progress = cancel_at_ring;
    if (size >= 2) {
        const int want = rank == last ? RLCC_E_CANCELED : RLCC_MPI_E_REMOTE;
        refused("a cancel at the ring", MPI_COMM_WORLD, x, n, d, d, k, &cancel, want, 0, NULL);
    }
    rlcc_mpi_options tight = o;
    if (rank == 0)
        tight.max_bytes = 100;
    refused("a memory bound on rank 0", MPI_COMM_WORLD, x, n, d, d, k, &tight,
            rank == 0 ? RLCC_E_MEMORY_LIMIT : RLCC_MPI_E_REMOTE, 0, NULL);
    refused("MPI_COMM_NULL", MPI_COMM_NULL, x, n, d, d, k, &o, RLCC_E_INVALID_ARGUMENT, 0, "comm");
    /* a rank with zero rows, and then the call works again */
    int64_t idx[8];
    const int rc = rlcc_mpi_knn(MPI_COMM_WORLD, x, rank == 0 ? 0 : n, d, d, k, &o, idx, NULL);
    record(rc == RLCC_OK, "a zero-row rank, after refusals");
    record(strcmp(rlcc_mpi_version_string(), RLCC_MPI_VERSION_STRING) == 0
               && rlcc_mpi_version_number() == RLCC_MPI_VERSION_NUMBER, "version");
    record(strcmp(rlcc_mpi_strerror(RLCC_MPI_E_TIMEOUT), "a rank did not answer in time") == 0
               && strcmp(rlcc_mpi_strerror(RLCC_E_INVALID_ARGUMENT), "invalid argument") == 0,
           "strerror");
    rlcc_mpi_options small;
    record(rlcc_mpi_options_init(&small, 8) == RLCC_E_INVALID_ARGUMENT, "options_init size");
}

/* ---- pseudo labels ---------------------------------------------------------- */

/* Unit rows around n / 12 identities with noise (DBSCAN finds clusters),
 * some rows duplicated, some far from any identity. */
static float *reid_rows(int64_t n, int64_t d, uint64_t seed)
{
    float *x = malloc(sizeof *x * (size_t)(n * d));
    rng = seed;
    const int64_t ids = n / 12 + 1;
    for (int64_t i = 0; i < n; i++) {
        const int64_t id = (int64_t)(next_u32() % (uint32_t)ids);
        const int lone = next_u32() % 10 == 0;
        double sum = 0.0;
        for (int64_t t = 0; t < d; t++) {
            const double noise = ((double)next_u32() / 4294967296.0 - 0.5) * (lone ? 2.0 : 0.5);
            const double v = (t == id % d || t == (id * 7 + 3) % d ? 1.0 : 0.0) + noise;
            x[i * d + t] = (float)v;
            sum += v * v;
        }
        for (int64_t t = 0; t < d; t++)
            x[i * d + t] = (float)(x[i * d + t] / sqrt(sum));
        if (i % 17 == 5)
            memcpy(x + i * d, x + (i - 1) * d, sizeof(float) * (size_t)d);
    }
    return x;
}

static void pseudo(void)
{
    for (int trial = 0; trial < 10; trial++) {
        const int64_t n = 150 + 45 * trial, d = 16 + 8 * (trial % 3);
        float *x = reid_rows(n, d, 40 + (uint64_t)trial);
        int64_t cut[16];
        blocking(n, trial % 2, 300 + (uint64_t)trial, cut);
        rlcc_pseudo_options p;
        rlcc_pseudo_options_init(&p, sizeof p);
        p.k1 = 8 + 3 * (trial % 4);
        p.k2 = 1 + trial % 5;
        p.min_samples = 2 + trial % 3;
        p.eps[0] = 0.40, p.eps[1] = 0.45, p.eps[2] = 0.50;
        if (trial % 3 == 1) {
            p.reliability = 0;
            p.outliers = RLCC_OUTLIERS_KEEP;
            p.n_eps = 1;
        }
        if (trial % 4 == 3)
            p.variant = RLCC_JACCARD_SQEUCLIDEAN;
        if (trial % 5 == 4)
            p.guard = 0;
        int32_t *want = malloc(sizeof *want * (size_t)n), *got = malloc(sizeof *got * (size_t)n);
        int64_t want_k = -1, got_k = -2;
        double want_t = -1, got_t = -2;
        rlcc_pseudo_options one = p;
        one.n_threads = 1;
        const int want_rc = rlcc_pseudo_labels(x, n, d, d, &one, want, &want_k, &want_t);
        rlcc_mpi_options o;
        rlcc_mpi_options_init(&o, sizeof o);
        o.timeout = 60;
        o.n_threads = 1 + trial % 2;
        const int rc = rlcc_mpi_pseudo_labels(MPI_COMM_WORLD, x + cut[rank] * d,
                                              cut[rank + 1] - cut[rank], d, d, &p, &o, got,
                                              &got_k, &got_t);
        char what[128];
        snprintf(what, sizeof what, "pseudo labels trial %d (n %lld, %lld classes)", trial,
                 (long long)n, (long long)want_k);
        record(want_rc == RLCC_OK && rc == RLCC_OK && want_k == got_k && want_t == got_t
                   && memcmp(want, got, sizeof *want * (size_t)n) == 0 && want_k > 1,
               what);
        free(want), free(got), free(x);
    }
    /* refusals: options that differ, what the distributed run does not do */
    float *x = reid_rows(60, 8, 3);
    int32_t labels[60];
    memset(labels, 0x5A, sizeof labels);
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    rlcc_mpi_options o;
    rlcc_mpi_options_init(&o, sizeof o);
    o.timeout = 30;
    const int64_t per = 60 / size;
    if (rank == size - 1 && size > 1)
        p.eps[1] = 0.61;
    int rc = size > 1 ? rlcc_mpi_pseudo_labels(MPI_COMM_WORLD, x + rank * per * 8, per, 8, 8, &p, &o, labels, NULL, NULL)
                      : RLCC_E_INVALID_ARGUMENT;
    record(rc == RLCC_E_INVALID_ARGUMENT && (size == 1 || strstr(rlcc_mpi_last_error(), "options.eps[1]: rank"))
               && labels[0] == 0x5A5A5A5A, "eps that differ across ranks");
    rlcc_pseudo_options_init(&p, sizeof p);
    p.normalize = rank == 0;
    rc = rlcc_mpi_pseudo_labels(MPI_COMM_WORLD, x + rank * per * 8, per, 8, 8, &p, &o, labels, NULL, NULL);
    record(rc == RLCC_E_INVALID_ARGUMENT && strstr(rlcc_mpi_last_error(), "rank 0: options.normalize"), "normalize refused");
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = 0;
    rc = rlcc_mpi_pseudo_labels(MPI_COMM_WORLD, x + rank * per * 8, per, 8, 8, &p, &o, labels, NULL, NULL);
    record(rc == RLCC_E_INVALID_ARGUMENT && strstr(rlcc_mpi_last_error(), "rank 0: k1"), "librlcc's own option checks");
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = 61;
    rc = rlcc_mpi_pseudo_labels(MPI_COMM_WORLD, x + rank * per * 8, per, 8, 8, &p, &o, labels, NULL, NULL);
    record(rc == RLCC_E_INVALID_ARGUMENT && strstr(rlcc_mpi_last_error(), "N = "), "k1 above N");
    record(labels[0] == 0x5A5A5A5A, "refusals write no labels");
    free(x);
}

/* ---- a rank that dies -------------------------------------------------------- */

static const char *die_stage;
static int die_at(const char *stage, int64_t done, int64_t total, void *user)
{
    (void)done, (void)total, (void)user;
    if (rank == size - 1 && strcmp(stage, die_stage) == 0)
        _exit(3);
    return 0;
}

static void die(const char *stage, const char *dir)
{
    die_stage = stage;
    const int64_t n = 300, d = 16, k = 5;
    float *x = make_rows(GAUSSIAN, n * size, d, 31);
    rlcc_mpi_options o;
    rlcc_mpi_options_init(&o, sizeof o);
    o.timeout = 3;
    o.progress = die_at;
    int64_t *idx = malloc(sizeof *idx * (size_t)(n * k));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* the stages of rlcc_mpi_pseudo_labels after the kNN, or rlcc_mpi_knn's */
    int32_t *labels = malloc(sizeof *labels * (size_t)(n * size));
    rlcc_pseudo_options p;
    rlcc_pseudo_options_init(&p, sizeof p);
    p.k1 = 10, p.k2 = 3;
    for (int64_t i = 0; i < n * size; i++) { /* unit rows for the dot variant */
        double sum = 0.0;
        for (int64_t t = 0; t < d; t++)
            sum += (double)x[i * d + t] * x[i * d + t];
        for (int64_t t = 0; t < d; t++)
            x[i * d + t] = (float)(x[i * d + t] / sqrt(sum));
    }
    const int later = strcmp(stage, "jaccard") == 0 || strcmp(stage, "labels") == 0;
    const int rc = later ? rlcc_mpi_pseudo_labels(MPI_COMM_WORLD, x + rank * n * d, n, d, d, &p, &o,
                                                  labels, NULL, NULL)
                         : rlcc_mpi_knn(MPI_COMM_WORLD, x + rank * n * d, n, d, d, k, &o, idx, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(labels);
    char path[512];
    snprintf(path, sizeof path, "%s/rank-%d", dir, rank);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, "%d %.3f %s\n", rc, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
                rlcc_mpi_last_error());
        fclose(f);
    }
    free(idx), free(x);
    _exit(0); /* MPI_Finalize could wait for the dead rank */
}

int main(int argc, char **argv)
{
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *mode = argc > 1 ? argv[1] : "exact";
    if (strcmp(mode, "die") == 0 && argc > 3)
        die(argv[2], argv[3]);
    else if (strcmp(mode, "errors") == 0)
        errors();
    else if (strcmp(mode, "pseudo") == 0)
        pseudo();
    else
        exact();
    if (rank == 0)
        printf("mpi-np%d-%s: %d passed, %d failed\n", size, mode, passed, failed);
    MPI_Finalize();
    return failed != 0;
}
