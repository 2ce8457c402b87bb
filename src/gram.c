/*
 * gram.c - the Gram panels that DBSCAN over features and the kNN share.
 *
 * A panel is rows [i0, i1) of X against every row j >= i0:
 * tile[r][j - i0] = x_{i0+r} . x_j for j >= i0 + r. Walking i0 over the
 * rows covers every pair (i, j), i <= j, exactly once: the work of one
 * SSYRK. The panel's diagonal block comes from SSYRK (its upper triangle;
 * the lower one is left unwritten and never read), the rest from SGEMM.
 */
#include <cblas.h>

#include "internal.h"

/* Bytes one tile may take. Larger panels mean fewer alternations between
 * OpenBLAS's threads and librlcc's OpenMP passes (measured: 1.36x the
 * SSYRK floor with 32 MiB tiles, 1.24x with 128 MiB, kNN + Jaccard at
 * N = 32,621); smaller ones, less memory. A caller's max_bytes shrinks
 * the tile to a quarter of what it leaves free. */
#define TILE_BYTES ((int64_t)128 << 20)

int64_t rlcc__panel_rows(int64_t n, const rlcc__budget *budget)
{
    int64_t bytes = (budget->limit - budget->used) / 4;
    if (bytes > TILE_BYTES)
        bytes = TILE_BYTES;
    int64_t rows = bytes / ((int64_t)sizeof(float) * n);
    if (rows > 2048)
        rows = 2048;
    if (rows < 16)
        rows = 16; /* SGEMM needs some height to be efficient */
    return rows < n ? rows : n;
}

void rlcc__gram_panel(const float *x, int64_t n, int64_t d, int64_t ldx, int64_t i0,
                      int64_t i1, float *tile)
{
    /* Every dimension fits BLAS's int: n, d and ldx are at most INT32_MAX
     * (checked at the boundary). */
    const int64_t cols = n - i0, rows = i1 - i0;
    const float *panel = x + i0 * ldx;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)rows, (int)d, 1.0f, panel,
                (int)ldx, 0.0f, tile, (int)cols);
    if (i1 < n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)(n - i1), (int)d,
                    1.0f, panel, (int)ldx, x + i1 * ldx, (int)ldx, 0.0f, tile + rows, (int)cols);
}

/* One SGEMM of rows [i0, n) against the panel's rows, the diagonal block
 * computed whole (1/64 more multiply-adds at 32 panels). OpenBLAS runs
 * this shape, the long side as the rows of C, faster than the SSYRK +
 * SGEMM of rlcc__gram_panel(): at N = 32,621, D = 2048, 1028-row panels,
 * 0.99x one SSYRK of the whole matrix against 1.04-1.07x (three
 * alternating runs each, docs/BENCHMARKS.md). */
void rlcc__gram_panel_columns(const float *x, int64_t n, int64_t d, int64_t ldx, int64_t i0,
                              int64_t i1, float *tile)
{
    const int64_t cols = n - i0, rows = i1 - i0;
    const float *panel = x + i0 * ldx;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cols, (int)rows, (int)d, 1.0f,
                panel, (int)ldx, panel, (int)ldx, 0.0f, tile, (int)rows);
}
