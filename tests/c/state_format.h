/*
 * state_format.h - the checkpoint format as docs/stability.md documents it
 * ("Checkpoint format"), read and written by the tests' own code rather
 * than the library's: little-endian fields, a CRC-32C computed bit by bit,
 * and the offsets of format 1. Used by tests/c/test_checkpoint.c and
 * tests/fuzz/fuzz_checkpoint.c.
 */
#ifndef RLCC_TEST_STATE_FORMAT_H
#define RLCC_TEST_STATE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Documented offsets. */
enum {
    AT_FORMAT = 8, AT_WRITER = 12, AT_SIZE = 16, AT_FLAGS = 24, AT_RESERVED = 28, AT_N = 32,
    AT_D = 40, AT_DONE = 48, AT_K = 56, AT_K_PREV = 64, AT_THRESHOLD = 72, AT_ALPHA = 80,
    AT_BETA = 88, AT_METRIC = 96, AT_K1 = 100, AT_OUTLIERS = 116, AT_N_EPS = 132,
    AT_METHOD = 140, AT_EPS = 144, AT_PSEUDO_THRESHOLD = 168, AT_MAX_BYTES = 184,
    AT_ARRAYS = 192
};

/* CRC-32C bit by bit: independent of the library's table. */
static inline uint32_t crc32c_bitwise(const uint8_t *p, size_t size)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline void set_le32(uint8_t *p, uint32_t v)
{
    for (int b = 0; b < 4; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

static inline void set_le64(uint8_t *p, uint64_t v)
{
    set_le32(p, (uint32_t)v);
    set_le32(p + 4, (uint32_t)(v >> 32));
}

static inline float f32_at(const uint8_t *p)
{
    const uint32_t bits = le32(p);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* The checksum written again after an edit of bytes [0, size - 4). */
static inline void reseal(uint8_t *s, size_t size)
{
    if (size >= 28)
        set_le32(s + size - 4, crc32c_bitwise(s, size - 4));
}

#endif
