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

/* Rebalancing toward even counts (ABI 1.1 rebalance()): tasks on a
 * member that may not take tasks (ok[m] == 0) move to the least loaded
 * one that may; then, while the most loaded allowed member has at least
 * two tasks more than the least loaded one that can run one of them, one
 * such task moves (name order, each task at most once a call).  Loads
 * count the batch's tasks only (the ACTIVE placed ones).  So the result
 * differs by at most one per member wherever registrations allow, and
 * only as many tasks move as that needs. */
static inline int rs_rebalance(const ccoord_resolver_host *h, ccoord_resolver_batch *b,
                               const unsigned char *ok)
{
    size_t t, m, tasks = h->task_count(b), members = h->member_count(b);
    size_t *load = calloc(members ? members : 1, sizeof *load);
    unsigned char *moved = calloc(tasks ? tasks : 1, 1), *stuck = calloc(members ? members : 1, 1);
    int rc = load && moved && stuck ? CCOORD_OK : CCOORD_ENOMEM;
    rs_load l = {load, members};
    for (t = 0; !rc && t < tasks; t++) {
        long o = h->task_owner(b, t);
        if (o >= 0 && (size_t)o < members)
            load[o]++;
    }
    /* off the members that may not have them */
    for (t = 0; !rc && ok && t < tasks; t++) {
        long o = h->task_owner(b, t), to;
        if (o < 0 || ok[o] || (to = rs_least_loaded(h, b, t, &l, ok)) < 0)
            continue;
        if (h->assign(b, t, (size_t)to) == CCOORD_OK) {
            load[o]--;
            load[to]++;
            moved[t] = 1;
        }
    }
    while (!rc) {
        long hi = -1, found = -1, to = -1;
        for (m = 0; m < members; m++)
            if ((!ok || ok[m]) && !stuck[m] && (hi < 0 || load[m] > load[hi]))
                hi = (long)m;
        if (hi < 0)
            break;
        /* a task of hi's that a member at least two below can run, the
         * least loaded such member */
        for (t = 0; t < tasks; t++) {
            long c;
            if (moved[t] || h->task_owner(b, t) != hi)
                continue;
            for (c = 0; (size_t)c < members; c++)
                if ((!ok || ok[c]) && load[c] + 2 <= load[hi] &&
                    h->task_can_run(b, t, (size_t)c) && (to < 0 || load[c] < load[to])) {
                    found = (long)t;
                    to = c;
                }
            if (found >= 0)
                break;
        }
        if (found < 0) {
            stuck[hi] = 1; /* nothing of hi's can go anywhere lower */
            continue;
        }
        if (h->assign(b, (size_t)found, (size_t)to) == CCOORD_OK) {
            load[hi]--;
            load[to]++;
        }
        moved[found] = 1;
    }
    free(load);
    free(moved);
    free(stuck);
    return rc;
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
