/* test/plugins/t_abi10.c: a plugin as built for resolver ABI 1.0: its
 * descriptor ends before rebalance (ABI 1.1).  The member past its
 * struct_size holds a function that fails, so a host that read past the
 * size would call it; the host must read it as NULL (no rebalance), and
 * load and run the plugin as before. */
#include <clustercoord/resolver.h>

static const ccoord_resolver_host *h;

static int x_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    (void)ctx, (void)ret_state, (void)err;
    h = host;
    return CCOORD_OK;
}

/* every task on member 0 */
static int x_resolve(void *state, ccoord_resolver_batch *b)
{
    size_t t;
    (void)state;
    for (t = 0; t < h->task_count(b); t++)
        h->assign(b, t, 0);
    return CCOORD_OK;
}

static int x_not_in_abi_10(void *state, ccoord_resolver_batch *b)
{
    (void)state, (void)b;
    return CCOORD_EPLUGIN;
}

static void x_fini(void *state)
{
    (void)state;
}

static const ccoord_resolver_ops x_ops = {
    .struct_size = offsetof(ccoord_resolver_ops, rebalance),
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = 0,
    .name = "t_abi10",
    .version = "1.0",
    .init = x_init,
    .resolve = x_resolve,
    .fini = x_fini,
    .rebalance = x_not_in_abi_10,
};

CCOORD_RESOLVER_DEFINE(x_ops)
