/*
 * fuzz_input.h - structure-aware decoding of fuzzer bytes: small integers,
 * choices, and floats that are ordinary most of the time and NaN, inf,
 * subnormal, huge or negative zero some of the time. Running out of bytes
 * yields zeros, so every input decodes to something.
 */
#ifndef RLCC_FUZZ_INPUT_H
#define RLCC_FUZZ_INPUT_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fuzz_input {
    const uint8_t *data;
    size_t size, at;
} fuzz_input;

static inline uint8_t fuzz_byte(fuzz_input *in)
{
    return in->at < in->size ? in->data[in->at++] : 0;
}

/* an integer in [lo, hi] */
static inline int64_t fuzz_int(fuzz_input *in, int64_t lo, int64_t hi)
{
    uint32_t v = (uint32_t)fuzz_byte(in) | (uint32_t)fuzz_byte(in) << 8;
    return lo + (int64_t)(v % (uint32_t)(hi - lo + 1));
}

/* a float: mostly in [-2, 2] on a coarse grid (so ties happen), sometimes
 * special */
static inline float fuzz_float(fuzz_input *in)
{
    uint8_t kind = fuzz_byte(in);
    switch (kind % 64) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return FLT_MIN / 8.0f; /* subnormal */
    case 4: return 1e30f;
    case 5: return -0.0f;
    default: return (float)((int)fuzz_byte(in) - 128) / 64.0f;
    }
}

/* a float that is never special, for inputs that must be valid */
static inline float fuzz_plain_float(fuzz_input *in)
{
    return (float)((int)fuzz_byte(in) - 128) / 64.0f;
}

#endif

#include <stdio.h>
#include <stdlib.h>

/* Each harness writes `static int check_input(data, size)`, non-zero when a
 * property is violated, and FUZZ_ENTRY turns that into an abort: libFuzzer
 * ignores return values, and the replay driver sees a crash as a failure. */
#define FUZZ_ENTRY(check_input)                                                   \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                \
    {                                                                             \
        if (check_input(data, size) != 0) {                                       \
            fprintf(stderr, "%s: property violated\n", #check_input);            \
            abort();                                                              \
        }                                                                         \
        return 0;                                                                 \
    }
