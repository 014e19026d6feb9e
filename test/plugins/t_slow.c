/*
 * test/plugins/t_slow.c: a resolver that is slow or stuck, for
 * test/node_safety.c (issue 17 item 4).  [task_resolver] keys:
 *   sleep_ms   resolve sleeps this long first (default 0)
 *   hold_file  resolve then waits until this file exists (a plugin that
 *              never returns, until the test lets it)
 *   fini_file  fini creates this file (the test sees the unload)
 * Then it places each task on the first member that can run it, and logs
 * "t_slow: placed P of T task(s)".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <clustercoord/resolver.h>

typedef struct ts_state {
    const ccoord_resolver_host *host;
    void *ctx;
    long sleep_ms;
    char hold[512], fini[512];
} ts_state;

static const char *const ts_keys[] = {"sleep_ms", "hold_file", "fini_file", NULL};

static void ts_sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int ts_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    ts_state *s = host->mem_alloc(sizeof *s);
    const char *v;
    (void)err;
    if (!s)
        return CCOORD_ENOMEM;
    memset(s, 0, sizeof *s);
    s->host = host;
    s->ctx = ctx;
    if (host->config_get(ctx, "sleep_ms", &v) == CCOORD_OK)
        s->sleep_ms = atol(v);
    if (host->config_get(ctx, "hold_file", &v) == CCOORD_OK)
        snprintf(s->hold, sizeof s->hold, "%s", v);
    if (host->config_get(ctx, "fini_file", &v) == CCOORD_OK)
        snprintf(s->fini, sizeof s->fini, "%s", v);
    *ret_state = s;
    return CCOORD_OK;
}

static int ts_resolve(void *state, ccoord_resolver_batch *b)
{
    ts_state *s = state;
    const ccoord_resolver_host *h = s->host;
    size_t t, m, tasks = h->task_count(b), members = h->member_count(b), placed = 0;
    char msg[128];
    if (s->sleep_ms > 0)
        ts_sleep_ms(s->sleep_ms);
    while (s->hold[0] && access(s->hold, F_OK) != 0)
        ts_sleep_ms(10);
    for (t = 0; t < tasks; t++)
        for (m = 0; m < members; m++)
            if (h->task_can_run(b, t, m)) {
                if (h->assign(b, t, m) == CCOORD_OK)
                    placed++;
                break;
            }
    snprintf(msg, sizeof msg, "t_slow: placed %zu of %zu task(s)", placed, tasks);
    h->log_msg(s->ctx, CCOORD_LOG_INFO, msg);
    return CCOORD_OK;
}

static void ts_fini(void *state)
{
    ts_state *s = state;
    if (!s)
        return;
    if (s->fini[0]) {
        int fd = open(s->fini, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            close(fd);
    }
    s->host->mem_free(s);
}

static const ccoord_resolver_ops ts_ops = {
    .struct_size = sizeof ts_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "t_slow",
    .version = "0.1",
    .config_keys = ts_keys,
    .init = ts_init,
    .resolve = ts_resolve,
    .fini = ts_fini,
};

CCOORD_RESOLVER_DEFINE(ts_ops)
