/* test/plugins/t_major2.c: built for resolver ABI 2.0; the host refuses it
 * with CCOORD_EABI. */
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
    .struct_size = sizeof x_ops,
    .abi_major = 2,
    .abi_minor = 0,
    .name = "t_major2",
    .init = x_init,
    .resolve = x_resolve,
    .fini = x_fini,
};

CCOORD_RESOLVER_DEFINE(x_ops)
