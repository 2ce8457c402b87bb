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
    if (rlcc__mul(n, ld) < 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "%s: n * ld = %lld * %lld overflows int64", name, (long long)n,
                          (long long)ld);
    if (n > 0 && p == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "%s: is NULL", name);
    return RLCC_OK;
}

int64_t rlcc__mul(int64_t a, int64_t b)
{
    int64_t product;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &product))
        return -1;
    return product;
}

rlcc__span rlcc__matrix_span(const char *name, const void *p, int64_t rows, int64_t cols,
                             int64_t ld, size_t size)
{
    /* sizes were validated; a count the caller misstated saturates */
    const int64_t row_bytes = rlcc__mul(cols, (int64_t)size), stride = rlcc__mul(ld, (int64_t)size);
    const rlcc__span span = {.name = name, .p = p, .rows = p != NULL && cols > 0 ? rows : 0,
                             .row_bytes = row_bytes < 0 ? INT64_MAX : row_bytes,
                             .stride = stride < 0 ? INT64_MAX : stride};
    return span;
}

rlcc__span rlcc__vector_span(const char *name, const void *p, int64_t n, size_t size)
{
    return rlcc__matrix_span(name, p, 1, n, n, size);
}

/* a + b * c in addresses, saturating: only a caller that misstates its
 * sizes reaches the top of the address space. */
static uint64_t address_at(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t bc, sum;
    if (__builtin_mul_overflow(b, c, &bc) || __builtin_add_overflow(a, bc, &sum))
        return UINT64_MAX;
    return sum;
}

/* A span's first and one-past-last byte; a span without gaps between rows
 * (or of one row) becomes a single row. */
typedef struct flat_span {
    uint64_t start, end, rows, row_bytes, stride;
} flat_span;

static flat_span flatten(const rlcc__span *s)
{
    flat_span f = {.start = (uint64_t)(uintptr_t)s->p, .rows = (uint64_t)s->rows,
                   .row_bytes = (uint64_t)s->row_bytes, .stride = (uint64_t)s->stride};
    f.end = address_at(address_at(f.start, f.rows - 1, f.stride), 1, f.row_bytes);
    if (f.rows == 1 || f.stride <= f.row_bytes) {
        f.rows = 1;
        f.row_bytes = f.stride = f.end - f.start;
    }
    return f;
}

/* Whether bytes [s, e) meet a row of b: the first row of b that ends after
 * s must start before e. */
static int row_meets(uint64_t s, uint64_t e, const flat_span *b)
{
    uint64_t j = 0;
    if (s >= b->start + b->row_bytes)
        j = (s - b->start - b->row_bytes) / b->stride + 1;
    return j < b->rows && address_at(b->start, j, b->stride) < e;
}

/* Whether two spans share a byte. */
static int spans_meet(const rlcc__span *x, const rlcc__span *y)
{
    if (x->rows <= 0 || y->rows <= 0 || x->row_bytes <= 0 || y->row_bytes <= 0)
        return 0;
    flat_span a = flatten(x), b = flatten(y);
    /* a claimed array that would run past the end of the address space is
     * no array at all: nothing can be decided from it (the memory budget
     * refuses such sizes) */
    if (a.end == UINT64_MAX || b.end == UINT64_MAX)
        return 0;
    if (a.end <= b.start || b.end <= a.start)
        return 0; /* the usual case: apart */
    if (a.rows > b.rows) { /* walk the rows of the one with fewer */
        const flat_span t = a;
        a = b;
        b = t;
    }
    for (uint64_t i = 0; i < a.rows; i++) {
        const uint64_t row = address_at(a.start, i, a.stride);
        if (row_meets(row, row + a.row_bytes, &b))
            return 1;
    }
    return 0;
}

static int overlap_error(const rlcc__span *a, const rlcc__span *b)
{
    return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                      "%s and %s overlap: an output must not share memory with an input or "
                      "another output",
                      a->name, b->name);
}

int rlcc__check_no_overlap(const rlcc__span *outputs, int n_outputs, const rlcc__span *inputs,
                           int n_inputs)
{
    for (int o = 0; o < n_outputs; o++) {
        for (int i = 0; i < n_inputs; i++)
            if (spans_meet(&outputs[o], &inputs[i]))
                return overlap_error(&outputs[o], &inputs[i]);
        for (int p = o + 1; p < n_outputs; p++)
            if (spans_meet(&outputs[o], &outputs[p]))
                return overlap_error(&outputs[o], &outputs[p]);
    }
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

void rlcc__write_struct(void *dst, const void *src, size_t src_size)
{
    const size_t dst_size = *(const size_t *)dst;
    const size_t size = dst_size < src_size ? dst_size : src_size;
    if (size > sizeof(size_t))
        memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t),
               size - sizeof(size_t));
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
    /* bounded before the list is read: each listed row is a row of an output */
    if (n_rows > INT32_MAX)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_rows: %lld exceeds INT32_MAX",
                          (long long)n_rows);
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

void rlcc__normalize_rows(const float *x, int64_t n, int64_t d, int64_t ldx,
                          const double *norm2, float *out, double *out_norm2)
{
    for (int64_t i = 0; i < n; i++) {
        const double scale = 1.0 / sqrt(norm2[i]);
        double sum = 0.0;
        for (int64_t k = 0; k < d; k++) {
            out[i * d + k] = (float)(x[i * ldx + k] * scale);
            sum += (double)out[i * d + k] * (double)out[i * d + k];
        }
        if (out_norm2 != NULL)
            out_norm2[i] = sum;
    }
}

float *rlcc__normalized_copy(const char *name, const float *x, int64_t n, int64_t d,
                             int64_t ldx, int n_threads, rlcc__budget *budget, int *err)
{
    double *norm2 = rlcc__alloc(budget, n, sizeof *norm2, "row norms", err);
    if (norm2 == NULL)
        return NULL;
    float *copy = NULL;
    *err = rlcc__row_norms(name, x, n, d, ldx, n_threads, norm2);
    for (int64_t i = 0; *err == RLCC_OK && i < n; i++)
        if (!(norm2[i] > 0.0))
            *err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "%s: row %lld is all zeros and cannot be normalised", name,
                              (long long)i);
    if (*err == RLCC_OK)
        copy = rlcc__alloc(budget, n * d, sizeof *copy, "normalised rows", err);
    if (copy != NULL)
        rlcc__normalize_rows(x, n, d, ldx, norm2, copy, NULL);
    rlcc__free(budget, norm2, n, sizeof *norm2);
    return copy;
}

int rlcc__check_csr_structure(int64_t n, const int64_t *indptr, const int32_t *indices,
                              const float *data)
{
    if (n == 0 && indptr == NULL)
        return RLCC_OK; /* nothing stored, nothing to check */
    if (indptr == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "indptr: is NULL");
    if (indptr[0] != 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "indptr: indptr[0] = %lld, must be 0",
                          (long long)indptr[0]);
    for (int64_t i = 0; i < n; i++)
        if (indptr[i + 1] < indptr[i])
            return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                              "indptr: decreases at row %lld (%lld > %lld)", (long long)i,
                              (long long)indptr[i], (long long)indptr[i + 1]);
    if (indptr[n] > 0 && indices == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "indices: is NULL");
    if (indptr[n] > 0 && data == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "data: is NULL");
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = indptr[i]; e < indptr[i + 1]; e++) {
            const int32_t j = indices[e];
            if (j < 0 || j >= n)
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                  "indices: column %d out of range [0, %lld) in row %lld",
                                  (int)j, (long long)n, (long long)i);
            if (e > indptr[i] && j <= indices[e - 1])
                return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                  j == indices[e - 1]
                                      ? "indices: duplicate column %d in row %lld"
                                      : "indices: column %d unsorted in row %lld",
                                  (int)j, (long long)i);
        }
    return RLCC_OK;
}
