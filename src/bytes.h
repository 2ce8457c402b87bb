/*
 * bytes.h - fields written and read one by one, little-endian at a fixed
 * place, floats as their IEEE-754 bits, and the CRC-32C that seals them:
 * the byte formats of the refiner's checkpoints (checkpoint.c) and of the
 * block kNN state (knn_state.c), the same on every machine.
 */
#ifndef RLCC_BYTES_H
#define RLCC_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of size bytes. */
uint32_t rlcc__crc32c(const uint8_t *p, size_t size);

static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static inline void set_u32(uint8_t *p, uint32_t v)
{
    for (int b = 0; b < 4; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

/* Two's complement back to signed, without the implementation-defined
 * conversion of an out-of-range unsigned value. */
static inline int32_t as_i32(uint32_t v)
{
    return v <= (uint32_t)INT32_MAX ? (int32_t)v : (int32_t)(v - 0x80000000u) + INT32_MIN;
}

static inline int64_t as_i64(uint64_t v)
{
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : (int64_t)(v - UINT64_C(0x8000000000000000)) + INT64_MIN;
}

/* Writes fields one after the other. */
typedef struct writer {
    uint8_t *at;
} writer;

static inline void put_u32(writer *w, uint32_t v)
{
    set_u32(w->at, v);
    w->at += 4;
}

static inline void put_u64(writer *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static inline void put_i32(writer *w, int32_t v)
{
    put_u32(w, (uint32_t)v);
}

static inline void put_i64(writer *w, int64_t v)
{
    put_u64(w, (uint64_t)v);
}

static inline void put_f32(writer *w, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_u32(w, bits);
}

static inline void put_f64(writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_u64(w, bits);
}

/* Reads them back in the same order; the caller has checked the size. */
typedef struct reader {
    const uint8_t *at;
} reader;

static inline uint32_t take_u32(reader *rd)
{
    const uint32_t v = get_u32(rd->at);
    rd->at += 4;
    return v;
}

static inline uint64_t take_u64(reader *rd)
{
    const uint64_t v = get_u64(rd->at);
    rd->at += 8;
    return v;
}

static inline int32_t take_i32(reader *rd)
{
    return as_i32(take_u32(rd));
}

static inline int64_t take_i64(reader *rd)
{
    return as_i64(take_u64(rd));
}

static inline float take_f32(reader *rd)
{
    const uint32_t bits = take_u32(rd);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static inline double take_f64(reader *rd)
{
    const uint64_t bits = take_u64(rd);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

#endif
