/* lib/error.c: status texts and names, version. */
#include "internal.h"

#include <stdlib.h>

const char *ccoord_strerror(int status)
{
    switch (status) {
#define CCOORD__MSG(name, val, msg) \
    case (val):                     \
        return msg;
        CCOORD_STATUS_MAP(CCOORD__MSG)
#undef CCOORD__MSG
    default:
        return "unknown status";
    }
}

const char *ccoord_errname(int status)
{
    switch (status) {
#define CCOORD__NAME(name, val, msg) \
    case (val):                      \
        return "CCOORD_" #name;
        CCOORD_STATUS_MAP(CCOORD__NAME)
#undef CCOORD__NAME
    default:
        return "CCOORD_UNKNOWN";
    }
}

const char *ccoord_version(void)
{
    return CCOORD_VERSION_STRING;
}

unsigned ccoord_version_num(void)
{
    return CCOORD_VERSION_NUM;
}

void ccoord_free(void *p)
{
    free(p);
}

void ccoord_free_list(char **ids, size_t count)
{
    size_t i;
    if (!ids)
        return;
    for (i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
}
