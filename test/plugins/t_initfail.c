/*
 * test/plugins/t_initfail.c: init allocates its state, hands it back
 * through *ret_state, then fails with CCOORD_ECONFIG (or the status the
 * "status" setting gives, a decimal integer) and a message from
 * host->mem_alloc.  The host must still call fini(state): fini creates the
 * file named by the "marker" setting (when set) and frees the state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clustercoord/resolver.h>

typedef struct tf_state {
    const ccoord_resolver_host *host;
    char marker[1024];
} tf_state;

static const char *const tf_keys[] = {"marker", "status", NULL};

static int tf_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    static const char text[] = "marker = ...: t_initfail always fails; allowed: nothing";
    tf_state *s = host->mem_alloc(sizeof *s);
    const char *v = NULL;
    if (!s)
        return CCOORD_ENOMEM;
    s->host = host;
    s->marker[0] = '\0';
    if (host->config_get(ctx, "marker", &v) == CCOORD_OK)
        snprintf(s->marker, sizeof s->marker, "%s", v);
    *ret_state = s;
    *err = host->mem_alloc(sizeof text);
    if (*err)
        memcpy(*err, text, sizeof text);
    if (host->config_get(ctx, "status", &v) == CCOORD_OK)
        return atoi(v);
    return CCOORD_ECONFIG;
}

static int tf_resolve(void *state, ccoord_resolver_batch *b)
{
    (void)state, (void)b;
    return CCOORD_OK;
}

static void tf_fini(void *state)
{
    tf_state *s = state;
    if (!s)
        return;
    if (s->marker[0]) {
        FILE *f = fopen(s->marker, "w");
        if (f) {
            fputs("fini ran\n", f);
            fclose(f);
        }
    }
    s->host->mem_free(s);
}

static const ccoord_resolver_ops tf_ops = {
    .struct_size = sizeof tf_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "t_initfail",
    .version = "0.1",
    .config_keys = tf_keys,
    .init = tf_init,
    .resolve = tf_resolve,
    .fini = tf_fini,
};

CCOORD_RESOLVER_DEFINE(tf_ops)
