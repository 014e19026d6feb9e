/*
 * test/plugins/t_liar.c: tries placements the host must refuse.  Each task
 * first goes, validly, to the first member that can run it; then the
 * plugin tries to move it to every member that cannot run it, and to
 * indexes out of range.  Each such assign() must return CCOORD_EINVAL and
 * leave the valid placement in place.  Logs "t_liar: refused R accepted A"
 * (A counts bad placements the host took: it must be 0) and returns OK.
 */
#include <stdio.h>

#include <clustercoord/resolver.h>

typedef struct tl_state {
    const ccoord_resolver_host *host;
    void *ctx;
} tl_state;

static int tl_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    tl_state *s = host->mem_alloc(sizeof *s);
    (void)err;
    if (!s)
        return CCOORD_ENOMEM;
    s->host = host;
    s->ctx = ctx;
    *ret_state = s;
    return CCOORD_OK;
}

static void tl_try(const ccoord_resolver_host *h, ccoord_resolver_batch *b, size_t t, size_t m,
                   size_t *refused, size_t *accepted)
{
    if (h->assign(b, t, m) == CCOORD_EINVAL)
        (*refused)++;
    else
        (*accepted)++;
}

static int tl_resolve(void *state, ccoord_resolver_batch *b)
{
    tl_state *s = state;
    const ccoord_resolver_host *h = s->host;
    size_t t, m, tasks = h->task_count(b), members = h->member_count(b);
    size_t refused = 0, accepted = 0;
    char msg[128];
    for (t = 0; t < tasks; t++) {
        for (m = 0; m < members; m++)
            if (h->task_can_run(b, t, m)) {
                h->assign(b, t, m);
                break;
            }
        for (m = 0; m < members; m++)
            if (!h->task_can_run(b, t, m))
                tl_try(h, b, t, m, &refused, &accepted);
        tl_try(h, b, t, members, &refused, &accepted);
        tl_try(h, b, t, (size_t)-1, &refused, &accepted);
    }
    tl_try(h, b, tasks, 0, &refused, &accepted);
    snprintf(msg, sizeof msg, "t_liar: refused %zu accepted %zu", refused, accepted);
    h->log_msg(s->ctx, CCOORD_LOG_INFO, msg);
    return CCOORD_OK;
}

static void tl_fini(void *state)
{
    tl_state *s = state;
    if (s)
        s->host->mem_free(s);
}

static const ccoord_resolver_ops tl_ops = {
    .struct_size = sizeof tl_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "t_liar",
    .version = "0.1",
    .init = tl_init,
    .resolve = tl_resolve,
    .fini = tl_fini,
};

CCOORD_RESOLVER_DEFINE(tl_ops)
