/* version.c - the version of the library that is actually loaded. */
#include "internal.h"

unsigned rlcc_version_number(void)
{
    return RLCC_VERSION_NUMBER;
}

const char *rlcc_version_string(void)
{
    return RLCC_VERSION_STRING;
}
