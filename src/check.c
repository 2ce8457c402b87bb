/* check.c - argument checks shared by the public entry points. Each
 * message starts with the argument's name, as the bindings show it. */
#include <math.h>

#include "internal.h"

int rlcc__check_rows(const char *name, int64_t n)
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
    int err = rlcc__check_rows(name, n);
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
