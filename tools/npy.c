/* npy.c - see npy.h. The header is a Python dict literal; only the three
 * keys NumPy writes are read, and anything unexpected is refused. */
#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t element_size(npy_type type)
{
    return type == NPY_F4 || type == NPY_I4 ? 4 : 8;
}

static int fail(char *error, size_t size, const char *path, const char *what)
{
    snprintf(error, size, "%s: %s", path, what);
    return -1;
}

/* Finds 'key': in the header and returns what follows it. */
static const char *field(const char *header, const char *key)
{
    const char *at = strstr(header, key);
    if (at == NULL)
        return NULL;
    at += strlen(key);
    while (*at == ' ' || *at == ':')
        at++;
    return at;
}

/* What a path that is not a regular file is, for the message. */
static const char *file_kind(mode_t mode)
{
    return S_ISFIFO(mode)   ? "a FIFO (named pipe)"
           : S_ISDIR(mode)  ? "a directory"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "a special file";
}

/* Reads bytes into buffer in chunks, reporting progress; 0, or -1 with a
 * message (a read error's errno text, or truncation). */
static int read_data(FILE *f, void *buffer, size_t bytes, npy_progress_fn progress, void *data,
                     char *error, size_t size, const char *path)
{
    const size_t chunk = (size_t)8 << 20;
    for (size_t done = 0; done < bytes;) {
        const size_t want = bytes - done < chunk ? bytes - done : chunk;
        const size_t got = fread((char *)buffer + done, 1, want, f);
        done += got;
        if (got != want) {
            char what[200] = "truncated data (fewer bytes than the shape says)";
            if (ferror(f))
                snprintf(what, sizeof what, "read error: %s", strerror(errno));
            return fail(error, size, path, what);
        }
        if (progress != NULL)
            progress((double)done / (double)bytes, data);
    }
    return 0;
}

int npy_read(const char *path, npy_array *out, char *error, size_t size)
{
    return npy_read_progress(path, out, error, size, NULL, NULL);
}

int npy_read_progress(const char *path, npy_array *out, char *error, size_t size,
                      npy_progress_fn progress, void *progress_data)
{
    memset(out, 0, sizeof *out);
    /* O_NONBLOCK: a FIFO with no writer must not block the open; only a
     * regular file is read (a pipe has no size to check the shape against) */
    const int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        char what[200];
        snprintf(what, sizeof what, "cannot open: %s", strerror(errno));
        return fail(error, size, path, what);
    }
    struct stat st;
    char what[200] = "";
    if (fstat(fd, &st) != 0)
        snprintf(what, sizeof what, "cannot stat: %s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(what, sizeof what,
                 "is %s, not a regular file (rlcc reads .npy input from regular files only)",
                 file_kind(st.st_mode));
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        snprintf(what, sizeof what, "cannot read: %s", strerror(errno));
    if (what[0] != '\0') {
        close(fd);
        return fail(error, size, path, what);
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        close(fd);
        return fail(error, size, path, "out of memory");
    }
    unsigned char magic[8];
    int ok = fread(magic, 1, 8, f) == 8 && memcmp(magic, "\x93NUMPY", 6) == 0;
    uint32_t header_len = 0;
    if (ok && magic[6] == 1) {
        unsigned char b[2];
        ok = fread(b, 1, 2, f) == 2;
        header_len = (uint32_t)b[0] | (uint32_t)b[1] << 8;
    } else if (ok && (magic[6] == 2 || magic[6] == 3)) {
        unsigned char b[4];
        ok = fread(b, 1, 4, f) == 4;
        header_len = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    } else {
        ok = 0;
    }
    if (!ok || header_len == 0 || header_len > (1u << 20)) {
        fclose(f);
        return fail(error, size, path, "not a .npy file (bad magic, version or header)");
    }
    char *header = calloc(1, header_len + 1);
    if (header == NULL || fread(header, 1, header_len, f) != header_len) {
        free(header);
        fclose(f);
        return fail(error, size, path, "truncated .npy header");
    }
    const char *descr = field(header, "'descr'");
    const char *order = field(header, "'fortran_order'");
    const char *shape = field(header, "'shape'");
    int rc = 0;
    if (descr == NULL || order == NULL || shape == NULL)
        rc = fail(error, size, path, "header lacks descr, fortran_order or shape");
    else if (strncmp(order, "False", 5) != 0)
        rc = fail(error, size, path, "Fortran-order arrays are not supported (save C order)");
    else if (strncmp(descr, "'<f4'", 5) == 0)
        out->type = NPY_F4;
    else if (strncmp(descr, "'<f8'", 5) == 0)
        out->type = NPY_F8;
    else if (strncmp(descr, "'<i4'", 5) == 0)
        out->type = NPY_I4;
    else if (strncmp(descr, "'<i8'", 5) == 0)
        out->type = NPY_I8;
    else
        rc = fail(error, size, path, "dtype must be little-endian float32, float64, int32 or int64");
    long long dims[3] = {0, 0, 0};
    int ndim = 0;
    if (rc == 0) {
        const char *p = shape;
        if (*p++ != '(')
            rc = fail(error, size, path, "malformed shape");
        while (rc == 0 && *p != ')') {
            char *end;
            errno = 0;
            long long v = strtoll(p, &end, 10);
            if (end == p || v < 0 || errno == ERANGE || ndim == 3) {
                rc = fail(error, size, path, "malformed shape");
                break;
            }
            dims[ndim++] = v;
            p = end;
            while (*p == ',' || *p == ' ')
                p++;
        }
        if (rc == 0 && (ndim < 1 || ndim > 2))
            rc = fail(error, size, path, "only 1-D and 2-D arrays are supported");
    }
    if (rc == 0) {
        out->ndim = ndim;
        out->rows = dims[0];
        out->cols = ndim == 2 ? dims[1] : 1;
        const size_t es = element_size(out->type);
        if (out->cols != 0 && (uint64_t)out->rows > (UINT64_MAX / es) / (uint64_t)out->cols)
            rc = fail(error, size, path, "shape too large");
    }
    if (rc == 0) {
        /* the data must be in the file: never allocate what a header merely
         * claims (a corrupt shape would otherwise ask for terabytes) */
        size_t bytes = (size_t)(out->rows * out->cols) * element_size(out->type);
        long here = ftell(f);
        if (here < 0 || here > st.st_size || (uint64_t)(st.st_size - here) < bytes)
            rc = fail(error, size, path, "truncated data (fewer bytes than the shape says)");
        if (rc == 0) {
            out->data = malloc(bytes > 0 ? bytes : 1);
            if (out->data == NULL)
                rc = fail(error, size, path, "out of memory");
            else
                rc = read_data(f, out->data, bytes, progress, progress_data, error, size, path);
        }
    }
    free(header);
    fclose(f);
    if (rc != 0)
        npy_free(out);
    return rc;
}

int npy_as_float32(npy_array *a, char *error, size_t size)
{
    const int64_t count = a->rows * a->cols;
    if (a->type == NPY_F4)
        return 0;
    if (a->type != NPY_F8) {
        snprintf(error, size, "expected floating-point features, got integers");
        return -1;
    }
    float *out = malloc(sizeof(float) * (size_t)(count > 0 ? count : 1));
    if (out == NULL) {
        snprintf(error, size, "out of memory");
        return -1;
    }
    for (int64_t e = 0; e < count; e++)
        out[e] = (float)((double *)a->data)[e];
    free(a->data);
    a->data = out;
    a->type = NPY_F4;
    return 0;
}

int npy_as_int32(npy_array *a, char *error, size_t size)
{
    const int64_t count = a->rows * a->cols;
    if (a->type == NPY_I4)
        return 0;
    if (a->type != NPY_I8) {
        snprintf(error, size, "expected integer labels, got floating-point values");
        return -1;
    }
    int32_t *out = malloc(sizeof(int32_t) * (size_t)(count > 0 ? count : 1));
    if (out == NULL) {
        snprintf(error, size, "out of memory");
        return -1;
    }
    for (int64_t e = 0; e < count; e++) {
        int64_t v = ((int64_t *)a->data)[e];
        if (v < INT32_MIN || v > INT32_MAX) {
            free(out);
            snprintf(error, size, "label %lld at %lld does not fit int32", (long long)v, (long long)e);
            return -1;
        }
        out[e] = (int32_t)v;
    }
    free(a->data);
    a->data = out;
    a->type = NPY_I4;
    return 0;
}

int npy_write(FILE *f, npy_type type, int64_t rows, int64_t cols, const void *data,
              npy_progress_fn progress, void *progress_data)
{
    static const char *descr[] = {"<f4", "<f8", "<i4", "<i8"};
    char header[256];
    int len = cols > 0 ? snprintf(header, sizeof header,
                                  "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }",
                                  descr[type], (long long)rows, (long long)cols)
                       : snprintf(header, sizeof header,
                                  "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }",
                                  descr[type], (long long)rows);
    /* pad with spaces so that the data starts on a 64-byte boundary */
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    uint16_t hl = (uint16_t)(len + pad + 1);
    preamble[8] = (unsigned char)(hl & 0xff);
    preamble[9] = (unsigned char)(hl >> 8);
    int ok = fwrite(preamble, 1, 10, f) == 10 && fwrite(header, 1, (size_t)len, f) == (size_t)len;
    for (int p = 0; ok && p < pad; p++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    const size_t bytes = (size_t)(rows * (cols > 0 ? cols : 1)) * element_size(type);
    const size_t chunk = (size_t)8 << 20;
    for (size_t done = 0; ok && done < bytes;) {
        const size_t want = bytes - done < chunk ? bytes - done : chunk;
        ok = fwrite((const char *)data + done, 1, want, f) == want;
        done += want;
        if (ok && progress != NULL)
            progress((double)done / (double)bytes, progress_data);
    }
    return ok && fflush(f) == 0 ? 0 : -1;
}

void npy_free(npy_array *a)
{
    free(a->data);
    a->data = NULL;
}
