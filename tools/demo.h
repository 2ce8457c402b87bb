/* demo.h - the `rlcc demo` simulated training run (demo.c). */
#ifndef RLCC_DEMO_H
#define RLCC_DEMO_H

#include <stdint.h>

/* Runs generations generations on n images; prints a table; returns the
 * process exit code. */
int rlcc_demo(int64_t n, int generations);

#endif
