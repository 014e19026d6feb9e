/*
 * leastloaded.c: a libclustercoord resolver plugin, written the way a user
 * of the installed library writes one (see clustercoord-resolver(7)).
 *
 * Policy: each unassigned task goes to the live member that can run it and
 * owns the fewest tasks, counting the tasks this pass has already placed;
 * ties go to the member that joined first.  Over a run of passes the
 * members end up with loads that differ by at most one (where every
 * member can run every task), whatever the order tasks arrive in.
 *
 * Settings ([task_resolver] in the node's configuration):
 *   min_members = N         place a task only once at least N live members
 *                           can run it (default 1), so the first node to
 *                           start does not collect every task
 *   max_tasks_per_node = N  never give a member more than N tasks; 0 (the
 *                           default) means no limit
 *
 * Build and install (only the headers and pkg-config are needed; a plugin
 * never links libclustercoord):
 *   make && make install
 * then set, in the node's configuration:
 *   [task_handling]
 *   resolver_class = leastloaded
 */
#include <clustercoord/resolver.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ll_state {
    const ccoord_resolver_host *host;
    void *host_ctx;
    unsigned long min_members;
    unsigned long max_per_node; /* 0: no limit */
} ll_state;

/* The only keys the host accepts for this plugin; any other key in
 * [task_resolver] is a configuration error naming it. */
static const char *const ll_keys[] = {"min_members", "max_tasks_per_node", NULL};

/* A message for the host, in memory the host frees. */
static char *ll_errmsg(const ccoord_resolver_host *host, const char *key, const char *value,
                       const char *allowed)
{
    size_t n = strlen(key) + strlen(value) + strlen(allowed) + 32;
    char *msg = host->mem_alloc(n);
    if (msg)
        snprintf(msg, n, "%s = %s: not allowed; %s", key, value, allowed);
    return msg;
}

/* Reads an optional integer setting in [min, max]. */
static int ll_setting(const ccoord_resolver_host *host, void *host_ctx, const char *key,
                      unsigned long min, unsigned long max, unsigned long *ret,
                      char **ret_errmsg)
{
    const char *value;
    char *end, allowed[96];
    unsigned long v;
    if (host->config_get(host_ctx, key, &value) != CCOORD_OK)
        return CCOORD_OK; /* not set: keep the default */
    errno = 0;
    v = strtoul(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end || errno || v < min || v > max) {
        snprintf(allowed, sizeof allowed, "an integer from %lu to %lu", min, max);
        *ret_errmsg = ll_errmsg(host, key, value, allowed);
        return CCOORD_ECONFIG;
    }
    *ret = v;
    return CCOORD_OK;
}

static int ll_init(const ccoord_resolver_host *host, void *host_ctx, void **ret_state,
                   char **ret_errmsg)
{
    ll_state *s;
    int rc;
    /* Members this plugin calls must exist in the host's table. */
    if (host->struct_size < offsetof(ccoord_resolver_host, assign) + sizeof host->assign)
        return CCOORD_EABI;
    s = calloc(1, sizeof *s);
    if (!s)
        return CCOORD_ENOMEM;
    s->host = host;
    s->host_ctx = host_ctx;
    s->min_members = 1;
    rc = ll_setting(host, host_ctx, "min_members", 1, 100000, &s->min_members, ret_errmsg);
    if (rc == CCOORD_OK)
        rc = ll_setting(host, host_ctx, "max_tasks_per_node", 0, 100000000, &s->max_per_node,
                        ret_errmsg);
    if (rc != CCOORD_OK) {
        free(s);
        return rc;
    }
    *ret_state = s;
    return CCOORD_OK;
}

static int ll_resolve(void *state, ccoord_resolver_batch *batch)
{
    ll_state *s = state;
    const ccoord_resolver_host *h = s->host;
    size_t members = h->member_count(batch), tasks = h->task_count(batch);
    size_t m, t, placed = 0;
    size_t *load;
    char msg[160];

    if (members == 0 || tasks == 0)
        return CCOORD_OK;
    load = malloc(members * sizeof *load);
    if (!load)
        return CCOORD_ENOMEM;
    for (m = 0; m < members; m++)
        load[m] = h->member_load(batch, m);

    for (t = 0; t < tasks; t++) {
        size_t best = members, capable = 0;
        int rc;
        for (m = 0; m < members; m++) {
            if (!h->task_can_run(batch, t, m))
                continue;
            capable++;
            if (s->max_per_node && load[m] >= s->max_per_node)
                continue;
            if (best == members || load[m] < load[best]) /* strict: first joined wins ties */
                best = m;
        }
        if (capable < s->min_members || best == members)
            continue; /* stays unassigned; a later pass looks again */
        rc = h->assign(batch, t, best);
        if (rc != CCOORD_OK) {
            free(load);
            return rc;
        }
        load[best]++;
        placed++;
    }
    free(load);
    snprintf(msg, sizeof msg, "leastloaded: placed %zu of %zu task(s) on %zu member(s)", placed,
             tasks, members);
    h->log_msg(s->host_ctx, CCOORD_LOG_DEBUG, msg);
    return CCOORD_OK;
}

static void ll_fini(void *state)
{
    free(state); /* accepts NULL */
}

static const ccoord_resolver_ops ll_ops = {
    .struct_size = sizeof ll_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "leastloaded", /* must equal the file name: leastloaded.so */
    .version = "1.0.0",
    .config_keys = ll_keys,
    .init = ll_init,
    .resolve = ll_resolve,
    .fini = ll_fini,
};

CCOORD_RESOLVER_DEFINE(ll_ops)
