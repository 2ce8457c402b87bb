/*
 * threads.c - per-call thread counts and libomp's block time.
 *
 * librlcc never calls omp_set_num_threads(): each parallel region carries
 * its own num_threads() clause, so the host's OpenMP state is left alone.
 */
#include <omp.h>

#include "internal.h"

int rlcc__resolve_threads(int32_t n_threads)
{
    if (n_threads > 0)
        return n_threads;
    int max = omp_get_max_threads();
    return max > 0 ? max : 1;
}

int rlcc__thread_index(void)
{
    return omp_get_thread_num();
}

/* Weak references: resolved with LLVM libomp, NULL with GCC's libgomp, so
 * both builds link and only libomp gets the block-time treatment. */
extern int kmp_get_blocktime(void) __attribute__((weak));
extern void kmp_set_blocktime(int) __attribute__((weak));

void rlcc__blocktime_enter(rlcc__blocktime_guard *guard)
{
    guard->active = kmp_get_blocktime != NULL && kmp_set_blocktime != NULL;
    if (!guard->active)
        return;
    guard->saved = kmp_get_blocktime();
    kmp_set_blocktime(0);
}

void rlcc__blocktime_leave(rlcc__blocktime_guard *guard)
{
    if (guard->active)
        kmp_set_blocktime(guard->saved);
}
