/* test/plugins/t_keys.c: takes exactly one [task_resolver] key, "alpha";
 * the loader refuses any other key with CCOORD_ECONFIG. */
#include <clustercoord/resolver.h>

static const char *const tk_keys[] = {"alpha", NULL};

static int tk_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    (void)host, (void)ctx, (void)ret_state, (void)err;
    return CCOORD_OK;
}

static int tk_resolve(void *state, ccoord_resolver_batch *b)
{
    (void)state, (void)b;
    return CCOORD_OK;
}

static void tk_fini(void *state)
{
    (void)state;
}

static const ccoord_resolver_ops tk_ops = {
    .struct_size = sizeof tk_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "t_keys",
    .version = "0.1",
    .config_keys = tk_keys,
    .init = tk_init,
    .resolve = tk_resolve,
    .fini = tk_fini,
};

CCOORD_RESOLVER_DEFINE(tk_ops)
