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
 *   mpi-tests refiner         rlcc_mpi_refiner_* against rlcc_refiner_step_matrix
 *                             and rlcc_refiner_targets of the whole matrix, run
 *                             by every rank: three generations, the state and
 *                             batches of targets byte-equal; refusals
 *   mpi-tests errors          refusals: each rank's bad input, input that
 *                             disagrees across ranks, a cancel, a memory bound:
 *                             the same code on every rank, outputs untouched
 *   mpi-tests die STAGE DIR   the last rank _exits at STAGE (check, ring,
 *                             finish of the kNN; jaccard, labels of the pseudo
 *                             labels; centroids of a refiner step, targets of
 *                             the refiner); every other rank must return an error
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

/* ---- the refiner ------------------------------------------------------------------ */

/* Unit rows around n / 12 identities fixed by seed, a generation's own
 * noise (the classes move a little from one generation to the next), some
 * rows duplicated, some far from any identity. */
static float *generation_rows(int64_t n, int64_t d, uint64_t seed, int generation)
{
    float *x = malloc(sizeof *x * (size_t)(n * d));
    int64_t *id = malloc(sizeof *id * (size_t)n);
    int *lone = malloc(sizeof *lone * (size_t)n);
    rng = seed;
    const int64_t ids = n / 12 + 1;
    for (int64_t i = 0; i < n; i++) {
        id[i] = (int64_t)(next_u32() % (uint32_t)ids);
        lone[i] = next_u32() % 10 == 0;
    }
    rng = seed * 7919 + (uint64_t)generation + 1;
    for (int64_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int64_t t = 0; t < d; t++) {
            const double noise = ((double)next_u32() / 4294967296.0 - 0.5) * (lone[i] ? 2.0 : 0.5);
            const double v = (t == id[i] % d || t == (id[i] * 7 + 3) % d ? 1.0 : 0.0) + noise;
            x[i * d + t] = (float)v;
            sum += v * v;
        }
        for (int64_t t = 0; t < d; t++)
            x[i * d + t] = (float)(x[i * d + t] / sqrt(sum));
        if (i % 17 == 5)
            memcpy(x + i * d, x + (i - 1) * d, sizeof(float) * (size_t)d);
    }
    free(id), free(lone);
    return x;
}

/* The same labels, class count, threshold and centroids, byte for byte. */
static int same_state(const rlcc_refiner *got, const rlcc_refiner *want, int64_t n, int64_t d)
{
    const int64_t k = rlcc_refiner_n_classes(want);
    const double t_got = rlcc_refiner_threshold(got), t_want = rlcc_refiner_threshold(want);
    if (rlcc_refiner_generation(got) != rlcc_refiner_generation(want)
        || rlcc_refiner_n_classes(got) != k || memcmp(&t_got, &t_want, sizeof t_got) != 0)
        return 0;
    int32_t *la = malloc(sizeof *la * (size_t)n), *lb = malloc(sizeof *lb * (size_t)n);
    float *ca = malloc(sizeof *ca * (size_t)(k * d + 1)), *cb = malloc(sizeof *cb * (size_t)(k * d + 1));
    int ok = rlcc_refiner_labels(got, la) == RLCC_OK && rlcc_refiner_labels(want, lb) == RLCC_OK
             && memcmp(la, lb, sizeof *la * (size_t)n) == 0
             && rlcc_refiner_centroids(got, ca, d) == RLCC_OK
             && rlcc_refiner_centroids(want, cb, d) == RLCC_OK
             && memcmp(ca, cb, sizeof *ca * (size_t)(k * d)) == 0;
    free(la), free(lb), free(ca), free(cb);
    return ok;
}

/* Batch b of generation g on this rank: its own size (0 on the last rank at
 * b = 1, on every rank at b = 3), rows of any rank, duplicates. */
static int64_t batch_rows(int64_t n, int g, int b, uint64_t seed, int64_t *rows)
{
    if (b == 3 || (b == 1 && rank == size - 1))
        return 0;
    const int64_t count = 3 + (rank * 5 + b * 7 + g) % 17 + (b == 2 ? 40 : 0);
    rng = seed * 131 + (uint64_t)(rank * 17 + b * 5 + g);
    for (int64_t q = 0; q < count; q++)
        rows[q] = q % 4 == 3 ? rows[q - 1] : (int64_t)(next_u32() % (uint32_t)n);
    if (count > 2)
        rows[count - 1] = rows[0];
    return count;
}

/* The targets of a batch through the distributed refiner (ld = k + 2, the
 * padding untouched) against rlcc_refiner_targets() of the oracle. */
static int same_targets(const rlcc_mpi_refiner *mr, const rlcc_refiner *oracle, const int64_t *rows,
                        int64_t n_rows, const rlcc_mpi_options *o)
{
    const int64_t k = rlcc_refiner_n_classes(oracle), ld = k + 2;
    float *got = malloc(sizeof *got * (size_t)(n_rows * ld + 1));
    float *want = malloc(sizeof *want * (size_t)(n_rows * k + 1));
    memset(got, 0x5A, sizeof *got * (size_t)(n_rows * ld + 1));
    int ok = rlcc_mpi_refiner_targets(mr, rows, n_rows, o, n_rows > 0 ? got : NULL, ld) == RLCC_OK;
    if (ok && n_rows > 0)
        ok = rlcc_refiner_targets(oracle, rows, n_rows, want, k) == RLCC_OK;
    for (int64_t q = 0; ok && q < n_rows; q++) {
        ok &= memcmp(got + q * ld, want + q * k, sizeof *got * (size_t)k) == 0;
        uint32_t pad[2];
        memcpy(pad, got + q * ld + k, sizeof pad);
        ok &= pad[0] == 0x5A5A5A5Au && pad[1] == 0x5A5A5A5Au;
    }
    free(got), free(want);
    return ok;
}

/* Block boundaries with one empty block (rank 0, the last, or a middle one). */
static void blocking_with_empty(int64_t n, int which, uint64_t seed, int64_t *cut)
{
    blocking(n, 1, seed, cut);
    if (size < 2)
        return;
    if (which == 0)
        cut[1] = 0;
    else if (which == 1)
        cut[size - 1] = n;
    else if (size >= 3)
        cut[2] = cut[1];
    else
        cut[1] = 0;
}

static void refiner_pseudo(rlcc_pseudo_options *p, int trial)
{
    rlcc_pseudo_options_init(p, sizeof *p);
    p->k1 = 8 + 3 * (trial % 3);
    p->k2 = 2 + trial % 3;
    p->min_samples = 2 + trial % 2;
    p->eps[0] = 0.40, p->eps[1] = 0.45, p->eps[2] = 0.50;
    p->n_threads = 1;
    if (trial == 2) {
        p->reliability = 0;
        p->outliers = RLCC_OUTLIERS_KEEP;
        p->n_eps = 1;
    }
    if (trial == 3) {
        p->variant = RLCC_JACCARD_SQEUCLIDEAN;
        p->guard = 0;
    }
}

static void refiner_generations(void)
{
    static const float betas[5] = {0.0f, 1.0f, 0.5f, 0.0f, 1.0f};
    for (int trial = 0; trial < 5; trial++) {
        const int64_t n = 210 + 60 * trial, d = 16 + 4 * (trial % 3);
        int64_t cut[16];
        blocking_with_empty(n, trial % 3, 500 + (uint64_t)trial, cut);
        const int64_t mine = cut[rank + 1] - cut[rank];
        rlcc_pseudo_options p;
        refiner_pseudo(&p, trial);
        rlcc_refiner_options ro;
        rlcc_refiner_options_init(&ro, sizeof ro);
        ro.beta = betas[trial];
        if (trial == 4)
            ro.alpha = 0.7f, ro.w = 0.6f, ro.scale = 12.0f;
        rlcc_mpi_options o;
        rlcc_mpi_options_init(&o, sizeof o);
        o.timeout = 60;
        o.n_threads = 1 + trial % 2;
        rlcc_mpi_refiner *mr = NULL;
        rlcc_refiner *oracle = NULL;
        char what[160];
        snprintf(what, sizeof what, "refiner trial %d (n %lld, beta %g): new", trial, (long long)n,
                 (double)ro.beta);
        record(rlcc_mpi_refiner_new(MPI_COMM_WORLD, mine, d, &p, &ro, &o, &mr) == RLCC_OK
                   && rlcc_refiner_new(n, d, &p, &ro, &oracle) == RLCC_OK
                   && rlcc_refiner_generation(rlcc_mpi_refiner_local(mr)) == 0,
               what);
        int64_t *rows = malloc(sizeof *rows * 80);
        for (int g = 0; g < 3 && mr != NULL && oracle != NULL; g++) {
            float *x = generation_rows(n, d, 90 + (uint64_t)trial, g);
            /* a wider stride on odd ranks: the step packs what it keeps */
            const int64_t ld = rank % 2 ? d + 5 : d;
            float *block = calloc((size_t)(mine * ld + 1), sizeof *block);
            for (int64_t i = 0; i < mine; i++)
                memcpy(block + i * ld, x + (cut[rank] + i) * d, sizeof(float) * (size_t)d);
            const int rc = rlcc_mpi_refiner_step(mr, mine > 0 ? block : NULL, ld, &o);
            const int want_rc = rlcc_refiner_step_matrix(oracle, x, d, NULL);
            snprintf(what, sizeof what, "refiner trial %d generation %d: the state (%lld classes)",
                     trial, g, (long long)rlcc_refiner_n_classes(oracle));
            record(rc == RLCC_OK && want_rc == RLCC_OK && rlcc_refiner_n_classes(oracle) > 1
                       && same_state(rlcc_mpi_refiner_local(mr), oracle, n, d),
                   what);
            for (int b = 0; b < 4; b++) {
                const int64_t n_rows = batch_rows(n, g, b, 70 + (uint64_t)trial, rows);
                snprintf(what, sizeof what, "refiner trial %d generation %d: targets of batch %d",
                         trial, g, b);
                record(same_targets(mr, oracle, rows, n_rows, &o), what);
            }
            free(block), free(x);
        }
        free(rows);
        rlcc_refiner_free(oracle);
        rlcc_mpi_refiner_free(mr);
    }
}

/* Every rank's code is want (or, where remote_ok, RLCC_MPI_E_REMOTE), the
 * message holds text. */
static int refused_as(int rc, int want, int remote_ok, const char *text)
{
    return (rc == want || (remote_ok && rc == RLCC_MPI_E_REMOTE))
           && (text == NULL || strstr(rlcc_mpi_last_error(), text) != NULL);
}

static int cancel_at_centroids(const char *stage, int64_t done, int64_t total, void *user)
{
    (void)done, (void)total, (void)user;
    return strcmp(stage, "centroids") == 0 && done == 1;
}

static void refiner_refusals(void)
{
    const int64_t per = 40, n = per * size, d = 12;
    const int last = size - 1;
    float *x = generation_rows(n, d, 11, 0);
    const float *block = x + rank * per * d;
    rlcc_pseudo_options p;
    refiner_pseudo(&p, 0);
    rlcc_refiner_options ro;
    rlcc_refiner_options_init(&ro, sizeof ro);
    rlcc_mpi_options o;
    rlcc_mpi_options_init(&o, sizeof o);
    o.timeout = 30;
    rlcc_mpi_refiner *mr = (rlcc_mpi_refiner *)&o; /* a sentinel: refusals leave it */
    char text[96];
    /* new: d, refiner options, pseudo options that differ; NULL out; no rows */
    if (size > 1) {
        int rc = rlcc_mpi_refiner_new(MPI_COMM_WORLD, per, rank == last ? d + 1 : d, &p, &ro, &o, &mr);
        record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "d: rank") && mr == (void *)&o,
               "refiner new: d differs");
        rlcc_refiner_options other = ro;
        if (rank == last)
            other.beta = 0.25f;
        rc = rlcc_mpi_refiner_new(MPI_COMM_WORLD, per, d, &p, &other, &o, &mr);
        snprintf(text, sizeof text, "options.beta: rank %d has 0.25", last);
        record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, text) && mr == (void *)&o,
               "refiner new: beta differs");
        rlcc_pseudo_options q = p;
        if (rank == last)
            q.eps[1] = 0.47;
        rc = rlcc_mpi_refiner_new(MPI_COMM_WORLD, per, d, &q, &ro, &o, &mr);
        record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "options.eps[1]: rank") && mr == (void *)&o,
               "refiner new: eps differs");
    }
    rlcc_refiner_options bad = ro;
    if (rank == last)
        bad.alpha = 1.5f;
    int rc = rlcc_mpi_refiner_new(MPI_COMM_WORLD, per, d, &p, &bad, &o, &mr);
    snprintf(text, sizeof text, "rank %d: alpha", last);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, text) && mr == (void *)&o,
           "refiner new: librlcc's own option checks");
    rc = rlcc_mpi_refiner_new(MPI_COMM_WORLD, per, d, &p, &ro, &o, rank == 0 ? NULL : &mr);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "rank 0: out: is NULL") && mr == (void *)&o,
           "refiner new: NULL out on rank 0");
    rc = rlcc_mpi_refiner_new(MPI_COMM_WORLD, 0, d, &p, &ro, &o, &mr);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "N: the") && mr == (void *)&o,
           "refiner new: no rows at all");
    rc = rlcc_mpi_refiner_new(MPI_COMM_WORLD, per, d, &p, &ro, &o, &mr);
    record(rc == RLCC_OK && mr != (void *)&o && rlcc_mpi_refiner_local(mr) != NULL,
           "refiner new");
    if (rc != RLCC_OK) {
        free(x);
        return;
    }
    /* NULL handles: this rank alone, no MPI call */
    float out[64 * 8];
    int64_t rows[8] = {0, 1, n - 1, 2, 3, 4, 5, 6};
    record(rlcc_mpi_refiner_step(NULL, block, d, &o) == RLCC_E_INVALID_ARGUMENT
               && rlcc_mpi_refiner_targets(NULL, rows, 2, &o, out, 8) == RLCC_E_INVALID_ARGUMENT
               && rlcc_mpi_refiner_local(NULL) == NULL,
           "refiner: NULL handles");
    rlcc_mpi_refiner_free(NULL);
    memset(out, 0x5A, sizeof out);
    rc = rlcc_mpi_refiner_targets(mr, rows, 2, &o, out, 8);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "refiner: no generation yet")
               && ((uint32_t *)(void *)out)[0] == 0x5A5A5A5Au,
           "refiner targets before a step");
    /* step: NULL x and NaN on one rank; a cancel before the commit */
    rc = rlcc_mpi_refiner_step(mr, rank == last ? NULL : block, d, &o);
    snprintf(text, sizeof text, "rank %d: x: is NULL", last);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, text), "refiner step: NULL x on the last rank");
    float *nan_block = malloc(sizeof *nan_block * (size_t)(per * d));
    memcpy(nan_block, block, sizeof *nan_block * (size_t)(per * d));
    if (rank == last)
        nan_block[3 * d + 1] = NAN;
    rc = rlcc_mpi_refiner_step(mr, nan_block, d, &o);
    snprintf(text, sizeof text, "rank %d: x: row 3 has NaN", last);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, text), "refiner step: NaN on the last rank");
    free(nan_block);
    rlcc_mpi_options cancel = o;
    if (rank == last)
        cancel.progress = cancel_at_centroids;
    rc = rlcc_mpi_refiner_step(mr, block, d, &cancel);
    record(rc == (rank == last ? RLCC_E_CANCELED : RLCC_MPI_E_REMOTE)
               && rlcc_refiner_generation(rlcc_mpi_refiner_local(mr)) == 0,
           "refiner step: a cancel before the commit changes no rank");
    rc = rlcc_mpi_refiner_step(mr, block, d, &o);
    record(rc == RLCC_OK && rlcc_refiner_generation(rlcc_mpi_refiner_local(mr)) == 1,
           "refiner step after refusals");
    const int64_t k = rlcc_refiner_n_classes(rlcc_mpi_refiner_local(mr));
    /* targets: a bad row on one rank, ld, NULL out */
    int64_t bad_rows[3] = {0, rank == last ? n : 1, 2};
    memset(out, 0x5A, sizeof out);
    rc = rlcc_mpi_refiner_targets(mr, bad_rows, 3, &o, out, k);
    snprintf(text, sizeof text, "rank %d: rows: entry 1 is %lld", last, (long long)n);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, text) && ((uint32_t *)(void *)out)[0] == 0x5A5A5A5Au,
           "refiner targets: a row out of range on the last rank");
    bad_rows[1] = rank == 0 ? -1 : 1;
    rc = rlcc_mpi_refiner_targets(mr, bad_rows, 3, &o, out, k);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "rank 0: rows: entry 1 is -1"),
           "refiner targets: a negative row on rank 0");
    rc = rlcc_mpi_refiner_targets(mr, rows, 3, &o, out, rank == last ? k - 1 : k);
    snprintf(text, sizeof text, "rank %d: ld", last);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, text), "refiner targets: ld below n_classes");
    rc = rlcc_mpi_refiner_targets(mr, rows, 3, &o, rank == 0 ? NULL : out, k);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "rank 0: out: is NULL"),
           "refiner targets: NULL out on rank 0");
    rc = rlcc_mpi_refiner_targets(mr, rank == 0 ? NULL : rows, 3, &o, out, k);
    record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "rank 0: rows: is NULL"),
           "refiner targets: NULL rows on rank 0");
    rlcc_mpi_refiner_free(mr);
    /* a step whose librlcc part fails on one rank after the others committed
     * (the last rank's refiner budget, pseudo.max_bytes, is its own): every
     * later call refuses on every rank */
    rlcc_pseudo_options small = p;
    if (rank == last)
        small.max_bytes = 64;
    mr = NULL;
    rc = rlcc_mpi_refiner_new(MPI_COMM_WORLD, per, d, &small, &ro, &o, &mr);
    record(rc == RLCC_OK, "refiner new: a small budget on the last rank");
    if (size > 1 && rc == RLCC_OK) {
        rc = rlcc_mpi_refiner_step(mr, block, d, &o);
        const int64_t g = rlcc_refiner_generation(rlcc_mpi_refiner_local(mr));
        record(rank == last ? rc == RLCC_E_MEMORY_LIMIT && g == 0
                            : rc == RLCC_MPI_E_REMOTE && g == 1
                                  && strstr(rlcc_mpi_last_error(), "committed generation 1"),
               "refiner step: librlcc's step fails on the last rank alone");
        const int64_t k_now = rank == last ? 1 : rlcc_refiner_n_classes(rlcc_mpi_refiner_local(mr));
        float *wide = malloc(sizeof *wide * (size_t)(2 * k_now));
        memset(wide, 0x5A, sizeof *wide * (size_t)(2 * k_now));
        rc = rlcc_mpi_refiner_targets(mr, rows, 2, &o, wide, k_now);
        record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "refiner: generations differ across ranks")
                   && ((uint32_t *)(void *)wide)[0] == 0x5A5A5A5Au,
               "refiner targets refused after generations differ");
        free(wide);
        rc = rlcc_mpi_refiner_step(mr, block, d, &o);
        record(refused_as(rc, RLCC_E_INVALID_ARGUMENT, 0, "refiner: generations differ across ranks"),
               "refiner step refused after generations differ");
    }
    rlcc_mpi_refiner_free(mr);
    free(x);
}

static void refiner(void)
{
    refiner_generations();
    refiner_refusals();
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

/* The refiner's step (stage "centroids"), or its targets after two steps
 * (stage "targets": they fetch rows then), with the dying callback; *t0 is
 * when that call started. */
static int die_refiner(const char *stage, const float *block, int64_t n, int64_t d,
                       const rlcc_mpi_options *o, struct timespec *t0)
{
    rlcc_pseudo_options p;
    refiner_pseudo(&p, 0);
    rlcc_mpi_options quiet = *o;
    quiet.progress = NULL;
    rlcc_mpi_refiner *mr = NULL;
    int rc = rlcc_mpi_refiner_new(MPI_COMM_WORLD, n, d, &p, NULL, &quiet, &mr);
    const int targets = strcmp(stage, "targets") == 0;
    for (int g = 0; rc == RLCC_OK && targets && g < 2; g++)
        rc = rlcc_mpi_refiner_step(mr, block, d, &quiet);
    float out[8 * 1024];
    const int64_t rows[4] = {0, n * size - 1, n + 1, 5};
    const int64_t k = rc == RLCC_OK ? rlcc_refiner_n_classes(rlcc_mpi_refiner_local(mr)) : 0;
    clock_gettime(CLOCK_MONOTONIC, t0);
    if (rc == RLCC_OK)
        rc = targets ? rlcc_mpi_refiner_targets(mr, rows, k <= 2048 ? 4 : 0, o, out, k)
                     : rlcc_mpi_refiner_step(mr, block, d, o);
    /* not freed: a broken run may leave MPI holding its buffers */
    return rc;
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
    const int refining = strcmp(stage, "centroids") == 0 || strcmp(stage, "targets") == 0;
    int rc;
    if (refining)
        rc = die_refiner(stage, x + rank * n * d, n, d, &o, &t0);
    else if (later)
        rc = rlcc_mpi_pseudo_labels(MPI_COMM_WORLD, x + rank * n * d, n, d, d, &p, &o, labels, NULL,
                                    NULL);
    else
        rc = rlcc_mpi_knn(MPI_COMM_WORLD, x + rank * n * d, n, d, d, k, &o, idx, NULL);
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
    else if (strcmp(mode, "refiner") == 0)
        refiner();
    else
        exact();
    if (rank == 0)
        printf("mpi-np%d-%s: %d passed, %d failed\n", size, mode, passed, failed);
    MPI_Finalize();
    return failed != 0;
}
