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

/* The median of count >= 1 timings (the mean of the middle two when count
 * is even), values left as they are: the k-th smallest is the value with
 * fewer than k + 1 below it and at least k + 1 at or below it. */
static inline double median_seconds(const double *values, int count)
{
    double middle[2];
    for (int m = 0; m < 2; m++) {
        const int k = m == 0 ? (count - 1) / 2 : count / 2;
        for (int i = 0; i < count; i++) {
            int below = 0, at_or_below = 0;
            for (int j = 0; j < count; j++) {
                below += values[j] < values[i];
                at_or_below += values[j] <= values[i];
            }
            if (below <= k && k < at_or_below) {
                middle[m] = values[i];
                break;
            }
        }
    }
    return 0.5 * (middle[0] + middle[1]);
}

/* The process's peak resident set so far, in MB. */
static inline double peak_rss_mb(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_maxrss / 1024.0;
}

#endif
