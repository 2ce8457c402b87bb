/*
 * args.h - the command line of `rlcc`, parsed without any I/O: cli_parse()
 * reads argv into a cli_args or refuses it with a message, and never prints,
 * exits or opens a file, so tests/fuzz/fuzz_cli.c can run it on any argv.
 *
 * Options are parsed with getopt_long: `--opt value` and `--opt=value`,
 * long options abbreviated to a unique prefix, `-o FILE` / `-oFILE`, and
 * `--` ending the options. A number is refused, never truncated, clamped or
 * partly read, when it is malformed (empty, surrounding spaces, trailing
 * characters, NaN, an empty field in a list) or outside the option's range
 * (the ranges are the CLI_* constants below and the table in docs/rlcc.1).
 */
#ifndef RLCC_ARGS_H
#define RLCC_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "rlcc.h"

enum { CLI_EXIT_USAGE = 2 };

enum cli_command { CLI_NONE, CLI_CLUSTER, CLI_REFINE, CLI_DEMO, CLI_PROXIES };

/* --quiet / --progress; the last one given wins */
enum cli_progress_mode { CLI_PROGRESS_AUTO, CLI_PROGRESS_OFF, CLI_PROGRESS_ON };

/* Ranges of the options the library would take wider than is sensible */
#define CLI_MAX_THREADS 1024          /* --threads: 0 (all) to this */
#define CLI_DEMO_MIN_N 100            /* demo --n */
#define CLI_DEMO_MAX_N 1048576        /* 2^20 images of D = 2048: 8 GiB of features */
#define CLI_DEMO_MAX_GENERATIONS 1000 /* demo --generations: 1 to this */

typedef struct cli_args {
    int command;     /* enum cli_command; CLI_NONE with help or version */
    int help;        /* --help: print the usage of command (or the main one) */
    int version;     /* rlcc --version */
    int progress;    /* enum cli_progress_mode */
    /* cluster */
    const char *input, *output; /* output: -o, for refine too */
    rlcc_pseudo_options pseudo; /* metric, eps, n_eps, min_samples, k1, k2,
                                 * outliers, n_threads, reliability, normalize */
    int32_t algorithm;          /* RLCC_DBSCAN_* */
    /* refine */
    const char *prev, *cur, *probs;
    float alpha, w, beta;
    /* demo */
    int64_t n, generations;
    /* proxies (output: -o, the proxy ids) */
    const char *labels, *cameras, *features, *centroids, *table;
    int32_t order; /* RLCC_PROXIES_* */
    int32_t norm;  /* RLCC_CENTROID_NORM_* */
} cli_args;

/*
 * Parses argv[0..argc) (argv[0] the program, argv[1] the command) into
 * *args. Returns 0 when accepted (args->help or args->version may be set:
 * the caller prints and exits 0), or CLI_EXIT_USAGE with a one-line message
 * in message (size bytes, NUL-terminated) that names the option and quotes
 * the value (control bytes escaped, long values shortened). The strings in
 * *args point into argv. getopt_long's state is reset first, so it may be
 * called any number of times; argv's order may be changed. Not thread-safe
 * (getopt's globals).
 */
int cli_parse(int argc, char **argv, cli_args *args, char *message, size_t size);

/* The command's name ("cluster", ...), or "rlcc" for CLI_NONE. */
const char *cli_command_name(int command);

#endif
