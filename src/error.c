/* error.c - pinned error codes, their text, and the per-thread detail. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* One message per thread: a caller on another thread never sees ours. */
static _Thread_local char last_error[512];

const char *rlcc_strerror(int code)
{
    switch (code) {
    case RLCC_OK: return "ok";
    case RLCC_E_INVALID_ARGUMENT: return "invalid argument";
    case RLCC_E_OUT_OF_MEMORY: return "out of memory";
    case RLCC_E_MEMORY_LIMIT: return "memory limit exceeded";
    case RLCC_E_CANCELED: return "canceled";
    case RLCC_E_CALLBACK: return "callback failed";
    default: return "unknown error";
    }
}

const char *rlcc_last_error(void)
{
    return last_error;
}

void rlcc__clear_error(void)
{
    last_error[0] = '\0';
}

int rlcc__fail_prefixed(int code, const char *prefix)
{
    char message[sizeof last_error];
    snprintf(message, sizeof message, "%s", last_error);
    snprintf(last_error, sizeof last_error, "%s%s", prefix, message);
    return code;
}

int rlcc__fail(int code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, args);
    va_end(args);
    return code;
}
