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
 * N = 32,621); smaller ones, less memory. 112 MiB leaves room for
 * OpenBLAS's packed copy of a strip (STRIP_COLUMNS below), so that the two
 * together hold about what 1.8.0's 128 MiB tile alone did. A caller's
 * max_bytes shrinks the tile to a quarter of what it leaves free. */
#define TILE_BYTES ((int64_t)112 << 20)

/* Columns j of a panel per SGEMM in rlcc__gram_panel_columns() (rows of
 * its column-layout tile). OpenBLAS packs the long side of that SGEMM into
 * a buffer of its own that grows with it, up to its block size (measured at
 * N = 32,621, D = 2048, 1,028-row panels, resident above the caller: 40 MB
 * for one call over all 32,621 columns, 20 MB in strips of 16,384, 10 MB in
 * strips of 8,192, 5 MB of 4,096; the 8,192 strips took 2.19 s for three
 * panels against 2.12 s; Zen 3, OpenBLAS 0.3.21). That buffer is
 * OpenBLAS's, kept for the process, so max_bytes cannot charge it; the
 * strips bound it. */
#define STRIP_COLUMNS ((int64_t)8192)

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

/* Rows [i0, n) against the panel's rows by SGEMM, in strips of
 * STRIP_COLUMNS columns j, the diagonal block computed whole (about
 * 1/64 more multiply-adds at 32 panels). OpenBLAS runs this shape, the long
 * side as the rows of C, faster than the SSYRK + SGEMM of
 * rlcc__gram_panel(): at N = 32,621, D = 2048, 1028-row panels, 0.99x one
 * SSYRK of the whole matrix against 1.04-1.07x (three alternating runs
 * each, docs/BENCHMARKS.md). Every entry is still one dot product computed
 * by BLAS, so the strips change no bit that the kNN's screen bound does not
 * already cover. */
void rlcc__gram_panel_columns(const float *x, int64_t n, int64_t d, int64_t ldx, int64_t i0,
                              int64_t i1, float *tile)
{
    const int64_t cols = n - i0, rows = i1 - i0;
    const float *panel = x + i0 * ldx;
    for (int64_t c0 = 0; c0 < cols; c0 += STRIP_COLUMNS) {
        const int64_t width = cols - c0 < STRIP_COLUMNS ? cols - c0 : STRIP_COLUMNS;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)width, (int)rows, (int)d,
                    1.0f, panel + c0 * ldx, (int)ldx, panel, (int)ldx, 0.0f, tile + c0 * rows,
                    (int)rows);
    }
}
