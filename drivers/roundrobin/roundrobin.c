/*
 * drivers/roundrobin/roundrobin.c: spreads tasks over the live members
 * ("RoundRobinResolver" of the reference).  Each task, in name order, goes
 * to the member that can run it and owns the fewest tasks so far (counting
 * this pass's placements), earliest in join order on a tie, so repeated
 * passes and new members keep the cluster balanced.
 *
 * task_server_count = N (optional, 1..1000000): place nothing while fewer
 * than N members are live; logged as the reference does.
 *
 * rebalance (ABI 1.1, [task_handling] rebalance = on): moves placed tasks
 * until the members' counts differ by at most one.
 */
#include "../resolver_util.h"

typedef struct rr_state {
    const ccoord_resolver_host *host;
    void *ctx;
    long server_count; /* 0: no gate */
} rr_state;

static const char *const rr_keys[] = {"task_server_count", NULL};

static int rr_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    rr_state *s;
    const char *v = NULL;
    long n = 0;
    if (host->config_get(ctx, "task_server_count", &v) == CCOORD_OK) {
        char *end = NULL, msg[256];
        n = strtol(v, &end, 10);
        if (v[0] < '0' || v[0] > '9' || !end || *end || n < 1 || n > 1000000) {
            snprintf(msg, sizeof msg,
                     "task_server_count = %.60s: not a whole number in range; allowed: an "
                     "integer from 1 to 1000000",
                     v);
            rs_errmsg(host, err, msg);
            return CCOORD_ECONFIG;
        }
    }
    s = calloc(1, sizeof *s);
    if (!s)
        return CCOORD_ENOMEM;
    s->host = host;
    s->ctx = ctx;
    s->server_count = n;
    *ret_state = s;
    return CCOORD_OK;
}

static int rr_resolve(void *state, ccoord_resolver_batch *b)
{
    rr_state *s = state;
    const ccoord_resolver_host *h = s->host;
    size_t t, tasks = h->task_count(b), members = h->member_count(b);
    rs_load l;
    if (s->server_count && members < (size_t)s->server_count) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Waiting for %ld nodes to resolve the tasks. Only %zu node(s) available",
                 s->server_count, members);
        h->log_msg(s->ctx, CCOORD_LOG_INFO, msg);
        return CCOORD_OK;
    }
    if (rs_load_init(&l, h, b))
        return CCOORD_ENOMEM;
    for (t = 0; t < tasks; t++) {
        long m = rs_least_loaded(h, b, t, &l, NULL);
        if (m >= 0 && h->assign(b, t, (size_t)m) == CCOORD_OK)
            l.n[m]++;
    }
    rs_load_free(&l);
    return CCOORD_OK;
}

/* Counts that differ by at most one (resolver_util.h), once the
 * task_server_count gate is open. */
static int rr_rebalance(void *state, ccoord_resolver_batch *b)
{
    rr_state *s = state;
    if (s->server_count && s->host->member_count(b) < (size_t)s->server_count)
        return CCOORD_OK;
    return rs_rebalance(s->host, b, NULL);
}

static void rr_fini(void *state)
{
    free(state);
}

static const ccoord_resolver_ops rr_ops = {
    .struct_size = sizeof rr_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "roundrobin",
    .version = "1.1.0",
    .config_keys = rr_keys,
    .init = rr_init,
    .resolve = rr_resolve,
    .fini = rr_fini,
    .rebalance = rr_rebalance,
};

CCOORD_RESOLVER_DEFINE(rr_ops)
