/*
 * test/fuzz/fuzz_config.c: libFuzzer target for the configuration parser.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Ilib \
 *     $(pkg-config --cflags dbi) test/fuzz/fuzz_config.c lib/config.c lib/util.c \
 *     lib/error.c $(pkg-config --libs dbi inih) -ldl -lpthread -o build/fuzz_config
 *   build/fuzz_config -max_total_time=60 /tmp/corpus test/fuzz/corpus_config </dev/null
 *
 * (stdin from /dev/null: an input may say "password_file = /dev/stdin",
 * which the parser reads like any other file).
 * Each input is parsed on a fresh config; the result must be OK or
 * ECONFIG with a non-empty message, and a successful parse must leave
 * settings that pass the documented invariants.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ccoord_config *c = NULL;
    char *text;
    int rc;

    if (size > 64 * 1024)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (ccoord_config_new(&c) != CCOORD_OK) {
        free(text);
        return 0;
    }
    rc = ccoord__config_parse_string(c, text, "fuzz.conf");
    if (rc != CCOORD_OK && rc != CCOORD_ECONFIG)
        abort();
    if (rc == CCOORD_ECONFIG && ccoord_config_error(c)[0] == '\0')
        abort();
    if (rc == CCOORD_OK) {
        const ccoord__settings *s = &c->s;
        char *id = NULL;
        if (s->heartbeat_interval_ms < 10 || s->heartbeat_max_retry < 2 ||
            s->connect_timeout_s < 1 || s->resolving_period_s < 1 ||
            s->resolving_frequency < 1 || s->port < 0 || s->port > 65535)
            abort();
        if (!s->group_id || !s->driver || !s->table_prefix || !s->resolver_class)
            abort();
        if (strlen(s->group_id) > CCOORD__MAX_KEY || strlen(s->table_prefix) > 32)
            abort();
        if (ccoord__config_node_id(c, &id) == CCOORD_OK)
            ccoord__free_mem(id);
    }
    ccoord_config_free(c);
    free(text);
    return 0;
}
