/* test/plugins/t_noentry.c: a shared object with a valid descriptor that
 * exports no ccoord_resolver_entry (only a function of another name); the
 * host refuses it with CCOORD_EPLUGIN. */
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
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "t_noentry",
    .init = x_init,
    .resolve = x_resolve,
    .fini = x_fini,
};

CCOORD_RESOLVER_EXPORT const ccoord_resolver_ops *t_noentry_entry(void);
CCOORD_RESOLVER_EXPORT const ccoord_resolver_ops *t_noentry_entry(void)
{
    return &x_ops;
}
