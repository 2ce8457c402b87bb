/*
 * bytes.c - the CRC-32C that seals librlcc's byte formats (bytes.h).
 */
#include "bytes.h"

/* The table is built on the stack for each call (256 entries, 2048 shifts):
 * no global state, and nothing next to the bytes it checks. */
uint32_t rlcc__crc32c(const uint8_t *p, size_t size)
{
    uint32_t table[256];
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[b] = c;
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++)
        crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

