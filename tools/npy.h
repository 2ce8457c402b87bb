/*
 * npy.h - reading and writing NumPy .npy files (format versions 1, 2, 3):
 * little-endian float32, float64, int32 or int64 arrays in C order, one or
 * two dimensions. Anything else is refused with a message.
 */
#ifndef RLCC_NPY_H
#define RLCC_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum npy_type { NPY_F4, NPY_F8, NPY_I4, NPY_I8 } npy_type;

typedef struct npy_array {
    npy_type type;
    int ndim;          /* 1 or 2 */
    int64_t rows, cols; /* cols is 1 for a 1-D array */
    void *data;        /* rows * cols elements, malloc'ed */
} npy_array;

/* Progress of a read or a write: the fraction of the data done, (0, 1]. */
typedef void (*npy_progress_fn)(double fraction, void *data);

/* Reads path; returns 0, or -1 with a message in error (size bytes) that
 * names the path and says why: the errno text when it cannot be opened or
 * read, "is a FIFO (named pipe), not a regular file" for anything but a
 * regular file (opened without blocking, so a FIFO with no writer never
 * hangs), or what is wrong with its contents. */
int npy_read(const char *path, npy_array *out, char *error, size_t size);
/* npy_read() reporting the data read to progress (may be NULL). */
int npy_read_progress(const char *path, npy_array *out, char *error, size_t size,
                      npy_progress_fn progress, void *progress_data);

/* The array as float32 (float64 converted; integers refused). */
int npy_as_float32(npy_array *a, char *error, size_t size);
/* The array as int32 labels (int64 converted when in range; floats refused). */
int npy_as_int32(npy_array *a, char *error, size_t size);

/* Writes a 1-D (cols == 0) or 2-D array of type to f and flushes it;
 * returns 0, or -1 with errno set by the write that failed. progress (may
 * be NULL) hears of the data written. */
int npy_write(FILE *f, npy_type type, int64_t rows, int64_t cols, const void *data,
              npy_progress_fn progress, void *progress_data);

void npy_free(npy_array *a);

#endif
