/*
 * test/plugins/t_good.c: a valid resolver for test/unit_resolver.c.  Places
 * every task on member 0 when member 0 can run it (others stay
 * unassigned) and logs one INFO line per pass: "t_good: placed P of T
 * task(s)".  State and a per-pass scratch array come from host->mem_alloc,
 * so allocation-failure tests reach its error paths.
 */
#include <stdio.h>

#include <clustercoord/resolver.h>

typedef struct tg_state {
    const ccoord_resolver_host *host;
    void *ctx;
} tg_state;

static int tg_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    tg_state *s = host->mem_alloc(sizeof *s);
    (void)err;
    if (!s)
        return CCOORD_ENOMEM;
    s->host = host;
    s->ctx = ctx;
    *ret_state = s;
    return CCOORD_OK;
}

static int tg_resolve(void *state, ccoord_resolver_batch *b)
{
    tg_state *s = state;
    const ccoord_resolver_host *h = s->host;
    size_t t, tasks = h->task_count(b), placed = 0;
    char msg[128];
    unsigned char *scratch = h->mem_alloc(tasks ? tasks : 1);
    if (!scratch)
        return CCOORD_ENOMEM;
    for (t = 0; t < tasks; t++) {
        scratch[t] = h->member_count(b) > 0 && h->task_can_run(b, t, 0);
        if (scratch[t] && h->assign(b, t, 0) == CCOORD_OK)
            placed++;
    }
    h->mem_free(scratch);
    snprintf(msg, sizeof msg, "t_good: placed %zu of %zu task(s)", placed, tasks);
    h->log_msg(s->ctx, CCOORD_LOG_INFO, msg);
    return CCOORD_OK;
}

static void tg_fini(void *state)
{
    tg_state *s = state;
    if (s)
        s->host->mem_free(s);
}

static const ccoord_resolver_ops tg_ops = {
    .struct_size = sizeof tg_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "t_good",
    .version = "0.1",
    .config_keys = NULL,
    .init = tg_init,
    .resolve = tg_resolve,
    .fini = tg_fini,
};

CCOORD_RESOLVER_DEFINE(tg_ops)
