/* timing.h - wall-clock seconds and peak RSS, for the benchmarks and the
 * demo (header-only: each program uses a few of them). */
#ifndef RLCC_TIMING_H
#define RLCC_TIMING_H

#include <sys/resource.h>
#include <time.h>

static inline double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The process's peak resident set so far, in MB. */
static inline double peak_rss_mb(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_maxrss / 1024.0;
}

#endif
