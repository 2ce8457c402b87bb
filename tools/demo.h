/* demo.h - the `rlcc demo` simulated training run (demo.c). */
#ifndef RLCC_DEMO_H
#define RLCC_DEMO_H

#include <stdint.h>

#include "progress.h"

/* Runs generations generations on n images; prints a table on stdout and
 * its progress on progress (through the refiner's progress callback);
 * returns the process exit code. */
int rlcc_demo(int64_t n, int generations, cli_progress *progress);

#endif
