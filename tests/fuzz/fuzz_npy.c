/* fuzz_npy.c - the CLI's .npy reader on arbitrary bytes: never crashes,
 * and an accepted file has a shape that matches its data. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "npy.h"

static int check_input(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/rlcc-fuzz-npy-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "wb");
    fwrite(data, 1, size, f);
    fclose(f);
    npy_array a;
    char error[256];
    int bad = 0;
    if (npy_read(path, &a, error, sizeof error) == 0) {
        size_t element = a.type == NPY_F4 || a.type == NPY_I4 ? 4 : 8;
        bad |= (a.ndim != 1 && a.ndim != 2) || a.rows < 0 || a.cols < 0;
        bad |= (size_t)(a.rows * a.cols) * element > size; /* the data was there */
        if (npy_as_float32(&a, error, sizeof error) == 0)
            bad |= a.type != NPY_F4;
        else if (npy_as_int32(&a, error, sizeof error) == 0)
            bad |= a.type != NPY_I4;
        npy_free(&a);
    }
    unlink(path);
    return bad;
}
FUZZ_ENTRY(check_input)
