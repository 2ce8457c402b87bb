/* check.c - argument checks shared by the public entry points, and the
 * options-struct reader. Each message starts with the argument's name, as
 * the bindings show it. */
#include <math.h>
#include <string.h>

#include "internal.h"

int rlcc__check_row_count(const char *name, int64_t n)
{
    if (n < 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: n = %lld is negative", name,
                          (long long)n);
    if (n > INT32_MAX)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: n = %lld exceeds INT32_MAX (labels are int32)", name,
                          (long long)n);
    return RLCC_OK;
}

int rlcc__check_matrix(const char *name, const void *p, int64_t n, int64_t d,
                       int64_t ld)
{
    int err = rlcc__check_row_count(name, n);
    if (err != RLCC_OK)
        return err;
    if (d < 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: d = %lld must be >= 1", name,
                          (long long)d);
    if (ld < d)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: leading dimension %lld is smaller than d = %lld", name,
                          (long long)ld, (long long)d);
    /* BLAS takes 32-bit dimensions; a leading dimension cannot be split. */
    if (ld > INT32_MAX)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: leading dimension %lld exceeds INT32_MAX", name,
                          (long long)ld);
    if (n > 0 && ld > INT64_MAX / n)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: n * ld = %lld * %lld overflows int64", name, (long long)n,
                          (long long)ld);
    if (n > 0 && p == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: is NULL", name);
    return RLCC_OK;
}

int rlcc__check_eps(double eps)
{
    if (isnan(eps))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "eps: is NaN");
    if (!(eps > 0.0))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "eps: %g must be > 0", eps);
    return RLCC_OK;
}

int rlcc__check_min_samples(int64_t min_samples)
{
    if (min_samples < 1)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "min_samples: %lld must be >= 1",
                          (long long)min_samples);
    return RLCC_OK;
}

int rlcc__check_threads(int32_t n_threads)
{
    if (n_threads < 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_threads: %d is negative",
                          (int)n_threads);
    return RLCC_OK;
}

int rlcc__check_max_bytes(int64_t max_bytes)
{
    if (max_bytes < 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "max_bytes: %lld is negative",
                          (long long)max_bytes);
    return RLCC_OK;
}

int rlcc__check_resources(int32_t n_threads, int64_t max_bytes)
{
    int err = rlcc__check_threads(n_threads);
    return err == RLCC_OK ? rlcc__check_max_bytes(max_bytes) : err;
}

int rlcc__init_struct(void *dst, size_t struct_size, const void *defaults,
                      size_t defaults_size, size_t min_size, const char *name)
{
    if (dst == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: is NULL", name);
    if (struct_size < min_size)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "struct_size: %zu is smaller than the first released %s (%zu)",
                          struct_size, name, min_size);
    /* Write no more than the caller's struct holds, nor than ours has; a
     * newer caller's extra tail is zeroed. */
    memcpy(dst, defaults, struct_size < defaults_size ? struct_size : defaults_size);
    if (struct_size > defaults_size)
        memset((char *)dst + defaults_size, 0, struct_size - defaults_size);
    *(size_t *)dst = struct_size;
    return RLCC_OK;
}

int rlcc__read_struct(void *dst, size_t dst_size, const void *src, size_t min_size,
                      const char *name)
{
    if (src == NULL)
        return RLCC_OK;
    const size_t src_size = *(const size_t *)src;
    int err = rlcc__check_struct_size(src_size, min_size, name);
    if (err != RLCC_OK)
        return err;
    /* A newer caller's tail holds fields this library does not know: zero
     * means "not used", so the call can go on as they asked; anything else
     * asks for behaviour this version cannot give, and is refused rather
     * than ignored (libbpf's rule). */
    const unsigned char *tail = (const unsigned char *)src;
    for (size_t at = dst_size; at < src_size; at++)
        if (tail[at] != 0)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "%s: byte %zu is not zero, but this librlcc (%s) knows only "
                              "the first %zu bytes of the struct (a field of a newer "
                              "release is set)",
                              name, at, RLCC_VERSION_STRING, dst_size);
    /* Read no more than the caller's struct holds: an older caller's
     * missing tail keeps the defaults already in dst. */
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
    *(size_t *)dst = dst_size;
    return RLCC_OK;
}

int rlcc__check_reserved(const char *name, int64_t value)
{
    if (value != 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: is %lld; reserved fields must be 0 (a later release may give "
                          "them a meaning)",
                          name, (long long)value);
    return RLCC_OK;
}

int rlcc__check_sample_rows(const int64_t *rows, int64_t n_rows, int64_t n)
{
    if (n_rows < 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_rows: %lld is negative", (long long)n_rows);
    if (rows == NULL && n_rows != n)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "n_rows: %lld must be n = %lld when rows is NULL", (long long)n_rows,
                          (long long)n);
    for (int64_t r = 0; rows != NULL && r < n_rows; r++)
        if (rows[r] < 0 || rows[r] >= n)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "rows: entry %lld is %lld, outside [0, %lld)",
                              (long long)r, (long long)rows[r], (long long)n);
    return RLCC_OK;
}

int rlcc__check_unit_interval(const char *name, float v)
{
    if (!(v >= 0.0f && v <= 1.0f))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: %g must be in [0, 1]", name, (double)v);
    return RLCC_OK;
}

int rlcc__check_finite(const char *name, const float *m, int64_t rows, int64_t cols, int64_t ld)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            if (!isfinite(m[r * ld + c]))
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: %s at row %lld, column %lld",
                                  name, isnan(m[r * ld + c]) ? "NaN" : "inf", (long long)r,
                                  (long long)c);
    return RLCC_OK;
}

int rlcc__check_labels(const char *name, const int32_t *labels, int64_t n, int64_t *k)
{
    if (n > 0 && labels == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: is NULL", name);
    int64_t top = -1;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < -1)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: label %d of sample %lld is below -1",
                              name, (int)labels[i], (long long)i);
        if (*k > 0 && labels[i] >= *k)
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "%s: label %d of sample %lld is not below the class count %lld",
                              name, (int)labels[i], (long long)i, (long long)*k);
        top = labels[i] > top ? labels[i] : top;
    }
    if (*k < 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: class count %lld is negative", name,
                          (long long)*k);
    if (*k == 0)
        *k = top + 1;
    return RLCC_OK;
}

int rlcc__check_struct_size(size_t struct_size, size_t min_size, const char *name)
{
    if (struct_size < min_size)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: struct_size %zu is too small (call its _init function)", name,
                          struct_size);
    return RLCC_OK;
}

/* Rows are independent, so threads split them freely; the first bad row is
 * found with a min-reduction, so the message does not depend on threads. */
int rlcc__row_norms(const char *name, const float *x, int64_t n, int64_t d, int64_t ldx,
                    int n_threads, double *norm2)
{
    int64_t first_bad = INT64_MAX;
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static) \
    reduction(min : first_bad)
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * ldx;
        double sum = 0.0;
        int finite = 1;
        for (int64_t k = 0; k < d; k++) {
            finite &= isfinite(row[k]) != 0;
            sum += (double)row[k] * (double)row[k];
        }
        norm2[i] = sum;
        if (!finite && i < first_bad)
            first_bad = i;
    }
    if (first_bad == INT64_MAX) {
        for (int64_t i = 0; i < n; i++)
            if (norm2[i] > RLCC_MAX_SQUARED_NORM)
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                  "%s: row %lld has squared norm %g, above the 2^120 that "
                                  "float32 Gram entries allow",
                                  name, (long long)i, norm2[i]);
        return RLCC_OK;
    }
    const float *row = x + first_bad * ldx;
    int64_t k = 0;
    while (k < d && isfinite(row[k]))
        k++;
    return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: row %lld has %s at column %lld", name,
                      (long long)first_bad, isnan(row[k]) ? "NaN" : "inf", (long long)k);
}

int rlcc__check_feature_values(const char *name, const float *x, int64_t n, int64_t d,
                               int64_t ldx, int n_threads, rlcc__budget *budget)
{
    int err;
    double *norm2 = rlcc__alloc(budget, n, sizeof *norm2, "row norms", &err);
    if (norm2 == NULL)
        return err;
    err = rlcc__row_norms(name, x, n, d, ldx, n_threads, norm2);
    rlcc__free(budget, norm2, n, sizeof *norm2);
    return err;
}
