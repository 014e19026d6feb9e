/* test/plugins/t_fail.c: resolve places every task it can (each on the
 * first member able to run it), then returns CCOORD_EPLUGIN: the host must
 * report an error and drop every placement of the pass. */
#include <clustercoord/resolver.h>

static int tx_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    (void)ctx, (void)err;
    *ret_state = (void *)host;
    return CCOORD_OK;
}

static int tx_resolve(void *state, ccoord_resolver_batch *b)
{
    const ccoord_resolver_host *h = state;
    size_t t, m;
    for (t = 0; t < h->task_count(b); t++)
        for (m = 0; m < h->member_count(b); m++)
            if (h->assign(b, t, m) == CCOORD_OK)
                break;
    return CCOORD_EPLUGIN;
}

static void tx_fini(void *state)
{
    (void)state;
}

static const ccoord_resolver_ops tx_ops = {
    .struct_size = sizeof tx_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "t_fail",
    .version = "0.1",
    .init = tx_init,
    .resolve = tx_resolve,
    .fini = tx_fini,
};

CCOORD_RESOLVER_DEFINE(tx_ops)
