/*
 * output.h - output files that appear whole or not at all.
 *
 * out_open() creates a temporary file beside the target (mkstemp in the
 * target's folder, so the final rename stays within one file system);
 * out_commit() flushes it, fsyncs it and renames it onto the target, which
 * until then keeps its old contents; any failure (a full disk, a file size
 * limit, an I/O error, a signal) removes the temporary file and leaves the
 * target as it was. A target that exists and is not a regular file (/dev/null,
 * /dev/stdout on a pipe, a FIFO, a terminal) cannot be replaced: it is written
 * in place, and what a failed write already sent there stays there.
 */
#ifndef RLCC_OUTPUT_H
#define RLCC_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

typedef struct out_file {
    FILE *f;          /* write here */
    const char *path; /* as the user gave it, for messages */
    char *target;     /* what is renamed onto: path, symbolic links resolved */
    char *temp;       /* the temporary file; NULL when writing in place */
    int existed;      /* the target was there before */
} out_file;

/* Opens path for writing; 0, or -1 with "cannot write PATH: why" in error. */
int out_open(out_file *o, const char *path, char *error, size_t size);

/* Makes the output final; 0, or -1 with a message (the temporary file
 * removed, the target unchanged). Frees o either way. */
int out_commit(out_file *o, char *error, size_t size);

/* Gives up: the message for a write that failed with errno_value (0: none),
 * the temporary file removed, the target unchanged. Frees o. */
void out_abort(out_file *o, int errno_value, char *error, size_t size);

/* Once, at start: SIGINT, SIGTERM and SIGHUP (unless ignored) remove the
 * temporary file being written before they end the process as they would
 * have; SIGXFSZ is ignored, so a file size limit (RLIMIT_FSIZE) is a write
 * error (EFBIG) that is cleaned up, not a core dump. */
void out_install_cleanup(void);

#endif
