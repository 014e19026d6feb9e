/*
 * drivers/tasknode/tasknode.c: places tasks only on a predefined set of
 * nodes ("TaskNodeResolver" of the reference), round robin over those of
 * them that are live (the least loaded first, join order on a tie).  When
 * none of them is live the tasks stay unassigned, and that is logged.
 *
 * task_nodes = node-1,node-2 ,node-3 (mandatory; comma-separated node ids,
 * white space around each trimmed; no empty entry).
 *
 * A pass that leaves tasks unassigned logs one WARN line, the list as
 * configured:
 *   "No task node of [<list>] is live; N task(s) left unassigned"
 *   "No live task node of [<list>] can run N task(s); left unassigned"
 */
#include "../resolver_util.h"

typedef struct tn_state {
    const ccoord_resolver_host *host;
    void *ctx;
    char **nodes;
    size_t count;
    char *list; /* as configured, for log lines */
} tn_state;

static const char *const tn_keys[] = {"task_nodes", NULL};

static void tn_fini(void *state)
{
    tn_state *s = state;
    size_t i;
    if (!s)
        return;
    for (i = 0; i < s->count; i++)
        free(s->nodes[i]);
    free(s->nodes);
    free(s->list);
    free(s);
}

static int tn_fail(const ccoord_resolver_host *host, char **err, tn_state *s, const char *v,
                   const char *why)
{
    char msg[400];
    snprintf(msg, sizeof msg,
             "task_nodes = %.200s: %s; allowed: comma-separated node ids, e.g. "
             "\"node-1,node-2\"",
             v ? v : "(not set)", why);
    rs_errmsg(host, err, msg);
    tn_fini(s);
    return CCOORD_ECONFIG;
}

static int tn_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    tn_state *s = calloc(1, sizeof *s);
    const char *v = NULL, *p;
    if (!s)
        return CCOORD_ENOMEM;
    s->host = host;
    s->ctx = ctx;
    if (host->config_get(ctx, "task_nodes", &v) != CCOORD_OK)
        return tn_fail(host, err, s, NULL, "mandatory for the tasknode resolver");
    s->list = strdup(v);
    if (!s->list) {
        tn_fini(s);
        return CCOORD_ENOMEM;
    }
    for (p = v;;) {
        const char *end = strchr(p, ','), *a = p, *z;
        char **grown;
        if (!end)
            end = p + strlen(p);
        z = end;
        while (a < z && (*a == ' ' || *a == '\t'))
            a++;
        while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
            z--;
        if (z == a)
            return tn_fail(host, err, s, v, "empty node id in the list");
        if (z - a > 190)
            return tn_fail(host, err, s, v, "a node id is longer than 190 bytes");
        grown = realloc(s->nodes, (s->count + 1) * sizeof *grown);
        if (!grown) {
            tn_fini(s);
            return CCOORD_ENOMEM;
        }
        s->nodes = grown;
        s->nodes[s->count] = strndup(a, (size_t)(z - a));
        if (!s->nodes[s->count]) {
            tn_fini(s);
            return CCOORD_ENOMEM;
        }
        s->count++;
        if (!*end)
            break;
        p = end + 1;
    }
    *ret_state = s;
    return CCOORD_OK;
}

/* ok[m] = 1 for the members of b that are task nodes; *ret_live counts
 * them. */
static unsigned char *tn_ok(const tn_state *s, const ccoord_resolver_batch *b, size_t *ret_live)
{
    const ccoord_resolver_host *h = s->host;
    size_t m, i, count = h->member_count(b);
    unsigned char *ok = calloc(count ? count : 1, 1);
    *ret_live = 0;
    for (m = 0; ok && m < count; m++)
        for (i = 0; i < s->count; i++)
            if (strcmp(h->member_id(b, m), s->nodes[i]) == 0) {
                ok[m] = 1;
                (*ret_live)++;
                break;
            }
    return ok;
}

/* Counts that differ by at most one over the live task nodes, and a task
 * on another node (placed before task_nodes changed) back on one. */
static int tn_rebalance(void *state, ccoord_resolver_batch *b)
{
    tn_state *s = state;
    size_t live;
    unsigned char *ok = tn_ok(s, b, &live);
    int rc = ok ? CCOORD_OK : CCOORD_ENOMEM;
    if (ok && live)
        rc = rs_rebalance(s->host, b, ok);
    free(ok);
    return rc;
}

static int tn_resolve(void *state, ccoord_resolver_batch *b)
{
    tn_state *s = state;
    const ccoord_resolver_host *h = s->host;
    size_t t, tasks = h->task_count(b), left = 0, live = 0;
    unsigned char *ok;
    rs_load l;
    if (rs_load_init(&l, h, b))
        return CCOORD_ENOMEM;
    ok = tn_ok(s, b, &live);
    if (!ok) {
        rs_load_free(&l);
        return CCOORD_ENOMEM;
    }
    for (t = 0; t < tasks; t++) {
        long best = live ? rs_least_loaded(h, b, t, &l, ok) : -1;
        if (best >= 0 && h->assign(b, t, (size_t)best) == CCOORD_OK)
            l.n[best]++;
        else
            left++;
    }
    if (left) {
        char msg[400];
        if (live)
            snprintf(msg, sizeof msg,
                     "No live task node of [%.200s] can run %zu task(s); left unassigned",
                     s->list, left);
        else
            snprintf(msg, sizeof msg,
                     "No task node of [%.200s] is live; %zu task(s) left unassigned", s->list,
                     left);
        h->log_msg(s->ctx, CCOORD_LOG_WARN, msg);
    }
    free(ok);
    rs_load_free(&l);
    return CCOORD_OK;
}

static const ccoord_resolver_ops tn_ops = {
    .struct_size = sizeof tn_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "tasknode",
    .version = "1.1.0",
    .config_keys = tn_keys,
    .init = tn_init,
    .resolve = tn_resolve,
    .fini = tn_fini,
    .rebalance = tn_rebalance,
};

CCOORD_RESOLVER_DEFINE(tn_ops)
