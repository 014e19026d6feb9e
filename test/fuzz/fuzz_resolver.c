/*
 * test/fuzz/fuzz_resolver.c: libFuzzer target for the stock resolvers'
 * parameter parsing ([task_resolver] task_nodes, task_server_count: text
 * from the config file) and for their resolve() over arbitrary batches.
 *
 * Input: byte 0 picks the resolver (r: roundrobin, t: tasknode, else
 * random); bytes up to the first '\n' are the parameter's value; the rest
 * shapes one batch (member count, task count, who can run what).
 * Asserts: load gives OK or a refusal with a message; resolve never
 * places a task on a member that cannot run it; nothing leaks or crashes.
 * The built-in copies are used (plugin_dir does not exist).
 *
 *   make fuzz            (mk/fuzz.mk)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *ctx, int level, const char *msg)
{
    (void)ctx;
    (void)level;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ccoord__kvlist params = {0};
    ccoord__resolver *r = NULL;
    char err[512], value[512], ids[16][16], tnames[32][16];
    const char *name, *key = NULL;
    const uint8_t *rest;
    size_t vlen, restlen, nm, nt, i, j, k = 0;
    ccoord__batch_member m[16];
    ccoord__batch_task t[32];
    size_t can[32][16];
    long assign[32];
    int rc;

    if (size < 1 || size > 4096)
        return 0;
    name = data[0] == 'r' ? "roundrobin" : data[0] == 't' ? "tasknode" : "random";
    if (data[0] == 'r')
        key = "task_server_count";
    else if (data[0] == 't')
        key = "task_nodes";
    rest = memchr(data + 1, '\n', size - 1);
    vlen = rest ? (size_t)(rest - data - 1) : size - 1;
    if (vlen >= sizeof value)
        vlen = sizeof value - 1;
    memcpy(value, data + 1, vlen);
    value[vlen] = '\0';
    rest = rest ? rest + 1 : data + size;
    restlen = (size_t)(data + size - rest);
    if (key && strlen(value) == vlen && ccoord__kvlist_set(&params, key, value, "fuzz") != CCOORD_OK)
        return 0;
    err[0] = '\0';
    rc = ccoord__resolver_load(name, "/nonexistent/fuzz/plugins", &params, quiet, NULL, &r, err,
                               sizeof err);
    if (rc != CCOORD_OK) {
        if (r || !err[0])
            abort();
        ccoord__kvlist_free(&params);
        return 0;
    }
    nm = restlen ? rest[k++] % 17 : 3;
    nt = k < restlen ? rest[k++] % 33 : 4;
    for (i = 0; i < nm; i++) {
        snprintf(ids[i], sizeof ids[i], "node-%zu", i);
        m[i].id = ids[i];
        m[i].hostname = "h";
        m[i].metadata = "";
        m[i].load = k < restlen ? rest[k++] % 5 : 0;
    }
    for (i = 0; i < nt; i++) {
        unsigned bits = k < restlen ? rest[k++] : 0xff;
        size_t c = 0;
        for (j = 0; j < nm; j++)
            if (bits & (1u << (j % 8)))
                can[i][c++] = j;
        snprintf(tnames[i], sizeof tnames[i], "task-%zu", i);
        t[i].name = tnames[i];
        t[i].can_run = can[i];
        t[i].can_run_count = c;
        assign[i] = -2;
    }
    rc = ccoord__resolver_run(r, m, nm, t, nt, assign, err, sizeof err);
    if (rc == CCOORD_OK) {
        for (i = 0; i < nt; i++) {
            int ok = assign[i] == -1;
            for (j = 0; j < t[i].can_run_count; j++)
                if ((long)t[i].can_run[j] == assign[i])
                    ok = 1;
            if (!ok)
                abort();
        }
    }
    ccoord__resolver_unload(r);
    ccoord__kvlist_free(&params);
    return 0;
}
