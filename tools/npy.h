/*
 * npy.h - reading and writing NumPy .npy files (format versions 1, 2, 3):
 * little-endian float32, float64, int32 or int64 arrays in C order, one or
 * two dimensions. Anything else is refused with a message.
 */
#ifndef RLCC_NPY_H
#define RLCC_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef enum npy_type { NPY_F4, NPY_F8, NPY_I4, NPY_I8 } npy_type;

typedef struct npy_array {
    npy_type type;
    int ndim;          /* 1 or 2 */
    int64_t rows, cols; /* cols is 1 for a 1-D array */
    void *data;        /* rows * cols elements, malloc'ed */
} npy_array;

/* Reads path; returns 0, or -1 with a message in error (size bytes). */
int npy_read(const char *path, npy_array *out, char *error, size_t size);

/* The array as float32 (float64 converted; integers refused). */
int npy_as_float32(npy_array *a, char *error, size_t size);
/* The array as int32 labels (int64 converted when in range; floats refused). */
int npy_as_int32(npy_array *a, char *error, size_t size);

/* Writes a 1-D (cols == 0) or 2-D array of type; returns 0 or -1. */
int npy_write(const char *path, npy_type type, int64_t rows, int64_t cols, const void *data);

void npy_free(npy_array *a);

#endif
