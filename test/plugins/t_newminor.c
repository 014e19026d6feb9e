/* test/plugins/t_newminor.c: built for resolver ABI minor
 * CCOORD_RESOLVER_ABI_MINOR + 1, newer than the host; the host refuses it
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
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR + 1,
    .name = "t_newminor",
    .init = x_init,
    .resolve = x_resolve,
    .fini = x_fini,
};

CCOORD_RESOLVER_DEFINE(x_ops)
