/*
 * quantile.c - the DBSCAN radius of SSG, DomainAdaptiveReID and MMT: the
 * mean of the smallest rho-quantile of the pairwise distances (spec:
 * later-methods.md section 5), and NumPy's float32 pairwise summation,
 * which that mean and the float32 centroid norm (pseudo.c) share.
 *
 * The reference (MMT examples/mmt_train_dbscan.py:175-184):
 *   tri = np.triu(dist, 1); tri = tri[np.nonzero(tri)]; tri = np.sort(tri)
 *   top = np.round(rho * tri.size); eps = tri[:top].mean()
 * The selection never materialises the triangle: a first pass checks and
 * counts the entries, a second keeps the `top` smallest in a bounded
 * max-heap (4 bytes per selected value, charged to max_bytes), which is
 * then sorted ascending, the order np.sort gives the pairwise sum.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define QUANTILE_OPTIONS_SIZE_1_7 sizeof(rlcc_quantile_options)

/* ---- NumPy's pairwise summation ----------------------------------------------
 * numpy/core/src/umath/loops_utils.h.src, @TYPE@_pairwise_sum, for float32
 * (PW_BLOCKSIZE 128): fewer than 8 values sequentially from 0; at most 128
 * in 8 interleaved accumulators started from the first 8 values, combined
 * ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the tail
 * sequentially; more: split at n / 2 rounded down to a multiple of 8 and
 * add the two halves' sums. Over blocks of 8192, below. Every operation rounds to float32 (the build
 * has -ffp-contract=off and FLT_EVAL_METHOD 0). square: each term is the
 * float32 product v * v first (NumPy's (x * x) temporary). */
static float pairwise(const float *v, int64_t n, int square)
{
    if (n < 8) {
        float res = 0.0f;
        for (int64_t i = 0; i < n; i++)
            res += square ? v[i] * v[i] : v[i];
        return res;
    }
    if (n <= 128) {
        float r[8];
        for (int j = 0; j < 8; j++)
            r[j] = square ? v[j] * v[j] : v[j];
        int64_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += square ? v[i + j] * v[i + j] : v[i + j];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += square ? v[i] * v[i] : v[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise(v, n2, square) + pairwise(v + n2, n - n2, square);
}

/* np.add.reduce runs its inner loop over at most NPY_BUFSIZE = 8192
 * elements at a time (the iterator's buffer size, np.getbufsize(), even
 * when nothing is cast): the result is 0 + pairwise(block 0) + pairwise(
 * block 1) + ..., the blocks' sums added sequentially from the reduction's
 * identity. Measured with Debian's NumPy 1.24 on sums of 10 to 200,001
 * values: pairwise alone differed from np.sum in 20 of 55 vectors longer
 * than 8192, the blocked sum in none. */
#define NUMPY_BUFSIZE 8192

static float blocked(const float *v, int64_t n, int square)
{
    float acc = 0.0f;
    for (int64_t at = 0; at < n; at += NUMPY_BUFSIZE)
        acc += pairwise(v + at, n - at < NUMPY_BUFSIZE ? n - at : NUMPY_BUFSIZE, square);
    return acc;
}

float rlcc__pairwise_sum_f32(const float *v, int64_t n)
{
    return blocked(v, n, 0);
}

float rlcc__pairwise_sumsq_f32(const float *v, int64_t n)
{
    return blocked(v, n, 1);
}

/* ---- options ---------------------------------------------------------------------- */

int rlcc_quantile_options_init(rlcc_quantile_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_quantile_options defaults = {.struct_size = sizeof defaults,
                                            .summation = RLCC_SUM_NUMPY};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             QUANTILE_OPTIONS_SIZE_1_7, "options");
}

static int read_options(const rlcc_quantile_options *options, rlcc_quantile_options *opts)
{
    rlcc_quantile_options_init(opts, sizeof *opts);
    int err = rlcc__read_struct(opts, sizeof *opts, options, QUANTILE_OPTIONS_SIZE_1_7,
                                "options");
    if (err == RLCC_OK && opts->summation != RLCC_SUM_NUMPY && opts->summation != RLCC_SUM_DOUBLE)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "options.summation: %d is neither RLCC_SUM_NUMPY (0) nor "
                         "RLCC_SUM_DOUBLE (1)",
                         (int)opts->summation);
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", opts->reserved);
    if (err == RLCC_OK)
        err = rlcc__check_max_bytes(opts->max_bytes);
    return err;
}

static int check_rho(double rho)
{
    if (!(rho > 0.0 && rho < 1.0))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "rho: %g must be in (0, 1)", rho);
    return RLCC_OK;
}

/* A distance of the upper triangle: finite and >= 0 (-0.0 is a zero). */
static int check_value(const char *name, float v, int64_t i, int64_t j)
{
    if (isnan(v))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: entry (%lld, %lld) is NaN", name,
                          (long long)i, (long long)j);
    if (isinf(v))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: entry (%lld, %lld) is infinite", name,
                          (long long)i, (long long)j);
    if (v < 0.0f)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: entry (%lld, %lld) = %g is negative (distances are >= 0)", name,
                          (long long)i, (long long)j, (double)v);
    return RLCC_OK;
}

/* top = round_half_even(rho x count), the product in double (np.round). */
static int selected_count(double rho, int64_t count, int64_t *top)
{
    const double t = nearbyint(rho * (double)count); /* the default mode: ties to even */
    if (t < 1.0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "rho: round(rho x count) = round(%g x %lld) = 0: no value is "
                          "selected (the reference's mean of nothing is NaN)",
                          rho, (long long)count);
    *top = (int64_t)t; /* t <= count: rho < 1 */
    return RLCC_OK;
}

/* ---- the selection ------------------------------------------------------------------
 * A max-heap of at most top floats: once full, a value below the root
 * replaces it. Distances are >= 0 and finite, so comparing floats is a
 * total order here (and -0.0 never enters: zeros are not selected). */
typedef struct heap {
    float *v;
    int64_t size, cap;
} heap;

static void sift_down(float *v, int64_t size, int64_t at)
{
    const float x = v[at];
    for (;;) {
        int64_t c = 2 * at + 1;
        if (c >= size)
            break;
        if (c + 1 < size && v[c + 1] > v[c])
            c++;
        if (!(v[c] > x))
            break;
        v[at] = v[c];
        at = c;
    }
    v[at] = x;
}

static void heap_offer(heap *h, float x)
{
    if (h->size < h->cap) {
        int64_t at = h->size++;
        while (at > 0) {
            const int64_t parent = (at - 1) / 2;
            if (!(x > h->v[parent]))
                break;
            h->v[at] = h->v[parent];
            at = parent;
        }
        h->v[at] = x;
    } else if (x < h->v[0]) {
        h->v[0] = x;
        sift_down(h->v, h->size, 0);
    }
}

/* Heapsort in place: ascending. */
static void heap_sort(heap *h)
{
    for (int64_t end = h->size - 1; end > 0; end--) {
        const float top = h->v[0];
        h->v[0] = h->v[end];
        h->v[end] = top;
        sift_down(h->v, end, 0);
    }
}

/* The mean of the sorted selection v[0 .. top) by the chosen summation. */
static int mean_of(const float *v, int64_t top, int32_t summation, double *eps)
{
    float mean;
    if (summation == RLCC_SUM_NUMPY) {
        /* MMT: tri[:top].mean() = float32 pairwise sum, then the scalar
         * np.float32 / np.intp divide, which NumPy promotes to double,
         * stored back as float32 */
        const float sum = rlcc__pairwise_sum_f32(v, top);
        mean = (float)((double)sum / (double)top);
    } else {
        double sum = 0.0;
        for (int64_t i = 0; i < top; i++)
            sum += (double)v[i];
        mean = (float)(sum / (double)top);
    }
    if (!isfinite(mean))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "dist: the float32 sum of the %lld selected values overflows "
                          "(use RLCC_SUM_DOUBLE)",
                          (long long)top);
    *eps = (double)mean;
    return RLCC_OK;
}

/* ---- dense ------------------------------------------------------------------------- */

int rlcc_eps_from_quantile(const float *dist, int64_t n, int64_t ld, double rho,
                           const rlcc_quantile_options *options, double *eps)
{
    rlcc__clear_error();
    rlcc_quantile_options opts;
    int err = read_options(options, &opts);
    if (err == RLCC_OK)
        err = check_rho(rho);
    if (err == RLCC_OK && n > 0 && ld < n)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "dist: leading dimension %lld is smaller than n = %lld", (long long)ld,
                         (long long)n);
    if (err == RLCC_OK)
        err = rlcc__check_matrix("dist", dist, n, n > 0 ? n : 1, n > 0 ? ld : 1);
    if (err == RLCC_OK && eps == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "eps: is NULL");
    if (err == RLCC_OK) {
        const rlcc__span output = rlcc__vector_span("eps", eps, 1, sizeof *eps);
        const rlcc__span input = rlcc__matrix_span("dist", dist, n, n, ld, sizeof *dist);
        err = rlcc__check_no_overlap(&output, 1, &input, 1);
    }
    /* pass 1: every upper entry checked, the nonzero ones counted */
    int64_t count = 0;
    for (int64_t i = 0; i < n && err == RLCC_OK; i++) {
        const float *row = dist + i * ld;
        for (int64_t j = i + 1; j < n; j++) {
            const float v = row[j];
            if (!(v > 0.0f) || isinf(v)) {
                if (v == 0.0f)
                    continue;
                err = check_value("dist", v, i, j);
                break;
            }
            count++;
        }
    }
    int64_t top = 0;
    if (err == RLCC_OK)
        err = selected_count(rho, count, &top);
    if (err != RLCC_OK)
        return err;

    /* pass 2: the top smallest */
    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    heap h = {.v = rlcc__alloc(&budget, top, sizeof(float), "selection", &err), .cap = top};
    if (h.v == NULL)
        return err;
    for (int64_t i = 0; i < n; i++) {
        const float *row = dist + i * ld;
        for (int64_t j = i + 1; j < n; j++)
            if (row[j] > 0.0f)
                heap_offer(&h, row[j]);
    }
    heap_sort(&h);
    err = h.size == top ? mean_of(h.v, top, opts.summation, eps)
                        : rlcc__fail(RLCC_E_INVALID_ARGUMENT, "dist: changed during the call");
    rlcc__free(&budget, h.v, top, sizeof(float));
    return err;
}

/* ---- sparse ------------------------------------------------------------------------ */

/* What the counting pass learns of the strict upper triangle. */
typedef struct upper_counts {
    int64_t stored;  /* entries (i, j), j > i */
    int64_t zeros;   /* of them exact zeros */
    int64_t at_most_one; /* nonzero and <= 1 */
} upper_counts;

/* The structure as rlcc_dbscan_csr() requires it, the upper entries'
 * values, and their counts. */
static int check_csr(int64_t n, const int64_t *indptr, const int32_t *indices, const float *data,
                     upper_counts *c)
{
    *c = (upper_counts){0, 0, 0};
    int err = rlcc__check_csr_structure(n, indptr, indices, data);
    if (err != RLCC_OK)
        return err;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t e = indptr[i]; e < indptr[i + 1]; e++) {
            const int32_t j = indices[e];
            if (j <= i)
                continue; /* the lower triangle and the diagonal are not read */
            const float v = data[e];
            err = check_value("data", v, i, j);
            if (err != RLCC_OK)
                return err;
            c->stored++;
            if (v == 0.0f)
                c->zeros++;
            else if (v <= 1.0f)
                c->at_most_one++;
        }
    }
    return RLCC_OK;
}

int rlcc_eps_from_quantile_csr(int64_t n, const int64_t *indptr, const int32_t *indices,
                               const float *data, double rho,
                               const rlcc_quantile_options *options, double *eps)
{
    rlcc__clear_error();
    rlcc_quantile_options opts;
    upper_counts c = {0, 0, 0};
    int err = read_options(options, &opts);
    if (err == RLCC_OK)
        err = check_rho(rho);
    if (err == RLCC_OK)
        err = rlcc__check_row_count("csr", n);
    if (err == RLCC_OK && eps == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "eps: is NULL");
    if (err == RLCC_OK)
        err = check_csr(n, indptr, indices, data, &c);
    if (err == RLCC_OK && indptr != NULL) {
        const int64_t nnz = indptr[n];
        const rlcc__span output = rlcc__vector_span("eps", eps, 1, sizeof *eps);
        const rlcc__span inputs[] = {rlcc__vector_span("indptr", indptr, n + 1, sizeof *indptr),
                                     rlcc__vector_span("indices", indices, nnz, sizeof *indices),
                                     rlcc__vector_span("data", data, nnz, sizeof *data)};
        err = rlcc__check_no_overlap(&output, 1, inputs, 3);
    }
    /* n <= INT32_MAX: the pair count fits int64 */
    const int64_t pairs = n * (n - 1) / 2;
    const int64_t missing = pairs - c.stored, count = pairs - c.zeros;
    int64_t top = 0;
    if (err == RLCC_OK)
        err = selected_count(rho, count, &top);
    /* the selection: stored values below 1, then the 1.0s (stored and
     * missing alike), then stored values above 1. A missing entry is 1 only
     * in a matrix that was not cut below 1; when the selection would reach
     * one, the matrix may have been cut (rlcc_jaccard()'s cutoff), and the
     * answer would be wrong: refused. */
    if (err == RLCC_OK && missing > 0 && top > c.at_most_one)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "csr: the %lld smallest of %lld nonzero upper-triangle distances "
                         "reach the missing entries (distance 1): only %lld stored values "
                         "are <= 1, so a matrix cut below 1 would give a wrong eps (store "
                         "more entries or the dense matrix)",
                         (long long)top, (long long)count, (long long)c.at_most_one);
    if (err != RLCC_OK)
        return err;

    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    heap h = {.v = rlcc__alloc(&budget, top, sizeof(float), "selection", &err), .cap = top};
    if (h.v == NULL)
        return err;
    /* top <= the stored nonzero upper values: by the refusal when some are
     * missing, by count == stored - zeros otherwise */
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = indptr[i]; e < indptr[i + 1]; e++)
            if (indices[e] > i && data[e] > 0.0f)
                heap_offer(&h, data[e]);
    heap_sort(&h);
    err = h.size == top ? mean_of(h.v, top, opts.summation, eps)
                        : rlcc__fail(RLCC_E_INVALID_ARGUMENT, "data: changed during the call");
    rlcc__free(&budget, h.v, top, sizeof(float));
    return err;
}
