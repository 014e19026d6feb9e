/* test/plugins/t_nullresolve.c: the mandatory resolve is NULL; the host
 * refuses it with CCOORD_EPLUGIN. */
#include <clustercoord/resolver.h>

static int x_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    (void)host, (void)ctx, (void)ret_state, (void)err;
    return CCOORD_OK;
}

static void x_fini(void *state)
{
    (void)state;
}

static const ccoord_resolver_ops x_ops = {
    .struct_size = sizeof x_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "t_nullresolve",
    .init = x_init,
    .resolve = NULL,
    .fini = x_fini,
};

CCOORD_RESOLVER_DEFINE(x_ops)
