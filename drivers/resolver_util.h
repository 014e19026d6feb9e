/*
 * drivers/resolver_util.h: small helpers shared by the stock resolvers
 * (header-only, so each plugin stays one self-contained shared object).
 */
#ifndef CCOORD_DRIVERS_RESOLVER_UTIL_H
#define CCOORD_DRIVERS_RESOLVER_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clustercoord/resolver.h>

/* Per-pass load: tasks owned before the pass plus those placed in it. */
typedef struct rs_load {
    size_t *n;
    size_t count;
} rs_load;

static inline int rs_load_init(rs_load *l, const ccoord_resolver_host *h,
                               const ccoord_resolver_batch *b)
{
    size_t m, count = h->member_count(b);
    l->count = count;
    l->n = calloc(count ? count : 1, sizeof *l->n);
    if (!l->n)
        return CCOORD_ENOMEM;
    for (m = 0; m < count; m++)
        l->n[m] = h->member_load(b, m);
    return CCOORD_OK;
}

static inline void rs_load_free(rs_load *l)
{
    free(l->n);
}

/* The member that can run task t (and passes ok(), if given) with the
 * smallest load, earliest in join order on a tie; -1 if none. */
static inline long rs_least_loaded(const ccoord_resolver_host *h, const ccoord_resolver_batch *b,
                                   size_t t, const rs_load *l, const unsigned char *ok)
{
    size_t m;
    long best = -1;
    for (m = 0; m < l->count; m++) {
        if ((ok && !ok[m]) || !h->task_can_run(b, t, m))
            continue;
        if (best < 0 || l->n[m] < l->n[best])
            best = (long)m;
    }
    return best;
}

/* Copies a message for *ret_errmsg with host->mem_alloc. */
static inline void rs_errmsg(const ccoord_resolver_host *h, char **ret, const char *msg)
{
    size_t n = strlen(msg) + 1;
    char *p = ret ? h->mem_alloc(n) : NULL;
    if (p) {
        memcpy(p, msg, n);
        *ret = p;
    }
}

#endif
