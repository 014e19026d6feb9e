/*
 * test/fuzz/fuzz_toml.c: libFuzzer target for the TOML reader (lib/toml.c)
 * and the MI loader on top of it (lib/config_mi.c).  make fuzz builds and
 * runs it (mk/fuzz.mk); its seeds are test/fuzz/corpus_toml/.
 *
 * Each input is read twice:
 *  - by ccoord__toml_parse: the result is OK or ECONFIG with a message and
 *    a line inside the input, and every item it reports has a path, a key
 *    per level, a value exactly for scalars, and valid UTF-8 text;
 *  - by ccoord__config_parse_mi_string on a fresh config: OK or ECONFIG
 *    with a message, and a loaded config keeps the settings' invariants.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lines_in(const uint8_t *data, size_t size)
{
    int n = 1;
    size_t i;
    for (i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

/* Well-formed UTF-8, as the reader promises for every value. */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
                : (*p & 0xf8) == 0xf0                ? 3
                                                     : -1;
        if (n < 0)
            return 0;
        for (p++; n > 0; n--, p++)
            if ((*p & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

static int check_item(void *user, const ccoord__toml_item *it)
{
    size_t i;
    int max_line = *(int *)user;
    if (it->depth == 0 || !it->keys || !it->index || it->line < 1 || it->line > max_line)
        abort();
    for (i = 0; i < it->depth; i++)
        if (!it->keys[i])
            abort();
    if (it->value && !utf8_ok(it->value))
        abort();
    if ((it->kind == CCOORD__TOML_TABLE || it->kind == CCOORD__TOML_AOT ||
         it->kind == CCOORD__TOML_ARRAY) != (it->value == NULL))
        abort();
    if (it->kind == CCOORD__TOML_AOT && it->index[it->depth - 1] < 0)
        abort();
    return CCOORD_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ccoord_config *c = NULL;
    char *text, err[512];
    int rc, line = 0, lines;

    if (size > 64 * 1024)
        return 0;
    lines = lines_in(data, size);
    rc = ccoord__toml_parse((const char *)data, size, check_item, &lines, err, sizeof err, &line);
    if (rc != CCOORD_OK && rc != CCOORD_ECONFIG)
        abort();
    if (rc == CCOORD_ECONFIG && (!err[0] || line < 1 || line > lines))
        abort();

    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (ccoord_config_new(&c) != CCOORD_OK) {
        free(text);
        return 0;
    }
    rc = ccoord__config_parse_mi_string(c, text, "deployment.toml");
    if (rc != CCOORD_OK && rc != CCOORD_ECONFIG)
        abort();
    if (rc == CCOORD_ECONFIG && ccoord_config_error(c)[0] == '\0')
        abort();
    if (rc == CCOORD_OK) {
        const ccoord__settings *s = &c->s;
        if (s->heartbeat_interval_ms < 10 || s->heartbeat_max_retry < 2 ||
            s->connect_timeout_s < 1 || s->port < 0 || s->port > 65535 || !s->driver ||
            !s->dbname || !s->group_id)
            abort();
        if (strcmp(s->driver, "sqlite3") == 0 && (s->host || s->username || s->password))
            abort(); /* the trap issue 11 closed */
    }
    ccoord_config_free(c);
    free(text);
    return 0;
}
