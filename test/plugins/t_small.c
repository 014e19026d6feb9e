/* test/plugins/t_small.c: struct_size stops before fini, smaller than the
 * ABI 1.0 layout; the host refuses it with CCOORD_EABI. */
#include <clustercoord/resolver.h>

static int x_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    (void)host, (void)ctx, (void)ret_state, (void)err;
    return CCOORD_OK;
}

static int x_resolve(void *state, ccoord_resolver_batch *b)
{
    (void)state, (void)b;
    return CCOORD_OK;
}

static void x_fini(void *state)
{
    (void)state;
}

static const ccoord_resolver_ops x_ops = {
    .struct_size = offsetof(ccoord_resolver_ops, fini),
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = 0,
    .name = "t_small",
    .init = x_init,
    .resolve = x_resolve,
    .fini = x_fini,
};

CCOORD_RESOLVER_DEFINE(x_ops)
