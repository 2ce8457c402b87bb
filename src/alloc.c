/*
 * alloc.c - the one place librlcc allocates working memory.
 *
 * Each call owns an rlcc__budget: every allocation is checked against the
 * caller's max_bytes *before* it is made, so a request that would not fit
 * (a huge eps, a dense result) fails with RLCC_E_MEMORY_LIMIT instead of
 * getting the host killed by the kernel's OOM killer.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

/* ---- the one allocation hook ------------------------------------------
 * Every allocation librlcc makes goes through system_alloc(). A test build
 * (-DRLCC_FAULT_INJECTION) can make the k-th one fail, to show that every
 * entry point returns RLCC_E_OUT_OF_MEMORY and leaks nothing whichever
 * allocation fails. Allocations inside OpenBLAS and libomp are outside it. */
#ifdef RLCC_FAULT_INJECTION
static _Atomic int64_t fault_countdown; /* > 0: fail when it reaches 0 */
static _Atomic int64_t fault_seen;      /* allocations since arming */
static _Atomic int64_t live_bytes;      /* bytes librlcc holds now */
static _Atomic int64_t peak_bytes;      /* high-water mark since the last reset */

void rlcc__fault_arm(int64_t k)
{
    fault_seen = 0;
    fault_countdown = k;
}

int64_t rlcc__fault_seen(void)
{
    return fault_seen;
}

int64_t rlcc__alloc_live(void)
{
    return live_bytes;
}

int64_t rlcc__alloc_peak(void)
{
    return peak_bytes;
}

void rlcc__alloc_peak_reset(void)
{
    peak_bytes = live_bytes;
}

static int fault_now(void)
{
    fault_seen++;
    return fault_countdown > 0 && --fault_countdown == 0;
}

/* The counting allocator: what librlcc really holds, beside what its
 * budgets say it holds, so a test can show the two agree. */
static void count_bytes(int64_t delta)
{
    const int64_t now = atomic_fetch_add(&live_bytes, delta) + delta;
    int64_t peak = peak_bytes;
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
}
#else
static int fault_now(void)
{
    return 0;
}

static void count_bytes(int64_t delta)
{
    (void)delta;
}
#endif

/* Every request asks for at least one byte: malloc(0) may return NULL. */
static size_t request_size(size_t bytes)
{
    return bytes > 0 ? bytes : 1;
}

static void *system_alloc(size_t bytes, int zero)
{
    if (fault_now())
        return NULL;
    void *p = zero ? calloc(1, request_size(bytes)) : malloc(request_size(bytes));
    if (p != NULL)
        count_bytes((int64_t)bytes);
    return p;
}

static void *system_realloc(void *p, size_t old_bytes, size_t new_bytes)
{
    if (fault_now())
        return NULL;
    void *q = realloc(p, request_size(new_bytes));
    if (q != NULL)
        count_bytes((int64_t)new_bytes - (int64_t)old_bytes);
    return q;
}

void rlcc__system_free(void *p, size_t bytes)
{
    if (p == NULL)
        return;
    count_bytes(-(int64_t)bytes);
    free(p);
}

void *rlcc__zalloc(size_t bytes)
{
    return system_alloc(bytes, 1);
}

void rlcc__budget_init(rlcc__budget *budget, int64_t max_bytes)
{
    if (max_bytes <= 0) {
        /* Default: half of physical memory, or 4 GiB when unknown. */
        long pages = sysconf(_SC_PHYS_PAGES);
        long page_size = sysconf(_SC_PAGESIZE);
        if (pages > 0 && page_size > 0)
            max_bytes = (int64_t)pages / 2 * (int64_t)page_size;
        else
            max_bytes = (int64_t)4 << 30;
    }
    budget->limit = max_bytes;
    budget->used = 0;
    budget->peak = 0;
}

/* Bytes for count elements of size, or -1 on overflow or negative count. */
static int64_t byte_count(int64_t count, size_t size)
{
    if (count < 0 || size == 0 || (uint64_t)count > (uint64_t)INT64_MAX / size)
        return -1;
    return count * (int64_t)size;
}

/* Charges bytes to the budget, or records why not. */
static int charge(rlcc__budget *budget, int64_t bytes, const char *what)
{
    if (bytes < 0)
        return rlcc__fail(RLCC_E_MEMORY_LIMIT, "%s: size overflows 64 bits", what);
    if (bytes > budget->limit - budget->used)
        return rlcc__fail(RLCC_E_MEMORY_LIMIT,
                          "%s: needs %lld bytes more, %lld of max_bytes %lld already in use",
                          what, (long long)bytes, (long long)budget->used,
                          (long long)budget->limit);
    budget->used += bytes;
    if (budget->used > budget->peak)
        budget->peak = budget->used;
    return RLCC_OK;
}

static void *allocate(rlcc__budget *budget, int64_t count, size_t size,
                      const char *what, int *err, int zero)
{
    int64_t bytes = byte_count(count, size);
    *err = charge(budget, bytes, what);
    if (*err != RLCC_OK)
        return NULL;
    void *p = system_alloc((size_t)bytes, zero);
    if (p == NULL) {
        budget->used -= bytes;
        *err = rlcc__fail(RLCC_E_OUT_OF_MEMORY, "%s: could not allocate %lld bytes",
                          what, (long long)bytes);
    }
    return p;
}

void *rlcc__alloc(rlcc__budget *budget, int64_t count, size_t size,
                  const char *what, int *err)
{
    return allocate(budget, count, size, what, err, 0);
}

void *rlcc__calloc(rlcc__budget *budget, int64_t count, size_t size,
                   const char *what, int *err)
{
    return allocate(budget, count, size, what, err, 1);
}

void *rlcc__realloc(rlcc__budget *budget, void *p, int64_t old_count,
                    int64_t new_count, size_t size, const char *what, int *err)
{
    int64_t old_bytes = byte_count(old_count, size);
    int64_t new_bytes = byte_count(new_count, size);
    if (new_bytes < 0) {
        *err = charge(budget, -1, what);
        return NULL;
    }
    /* Growing is charged first; shrinking only gives bytes back. */
    const int64_t delta = new_bytes - old_bytes;
    *err = delta > 0 ? charge(budget, delta, what) : RLCC_OK;
    if (*err != RLCC_OK)
        return NULL;
    void *q = system_realloc(p, (size_t)old_bytes, (size_t)new_bytes);
    if (q == NULL) {
        if (delta > 0)
            budget->used -= delta;
        *err = rlcc__fail(RLCC_E_OUT_OF_MEMORY, "%s: could not grow to %lld bytes",
                          what, (long long)new_bytes);
    } else if (delta < 0) {
        budget->used += delta;
    }
    return q;
}

void rlcc__free(rlcc__budget *budget, void *p, int64_t count, size_t size)
{
    if (p == NULL)
        return;
    const int64_t bytes = byte_count(count, size);
    budget->used -= bytes;
    rlcc__system_free(p, (size_t)bytes);
}
