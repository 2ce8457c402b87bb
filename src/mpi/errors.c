/* errors.c - librlcc_mpi's version, error codes and per-thread detail. */
#include <stdarg.h>
#include <stdio.h>

#include "mpi_internal.h"

static _Thread_local char last_error[512];

unsigned rlcc_mpi_version_number(void)
{
    return RLCC_MPI_VERSION_NUMBER;
}

const char *rlcc_mpi_version_string(void)
{
    return RLCC_MPI_VERSION_STRING;
}

const char *rlcc_mpi_strerror(int code)
{
    switch (code) {
    case RLCC_MPI_E_REMOTE: return "another rank failed";
    case RLCC_MPI_E_TIMEOUT: return "a rank did not answer in time";
    case RLCC_MPI_E_MPI: return "MPI error";
    default: return rlcc_strerror(code);
    }
}

const char *rlcc_mpi_last_error(void)
{
    return last_error;
}

void rlcc_mpi__clear_error(void)
{
    last_error[0] = '\0';
}

int rlcc_mpi__fail(int code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, args);
    va_end(args);
    return code;
}

int rlcc_mpi__from_rlcc(int code)
{
    return rlcc_mpi__fail(code, "%s", rlcc_last_error());
}
