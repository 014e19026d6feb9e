/*
 * test/fuzz/fuzz_keys.c: libFuzzer target for the validator of node ids,
 * group ids and task names (ccoord__valid_key, lib/node.c): outside input
 * from host programs, config files and other nodes' database rows.
 *
 * Differential: the library's answer must equal a plain reference
 * implementation of the documented rule (DESIGN.md, clustercoord.h):
 * 1 to 190 bytes of well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), no C0 control character, no DEL,
 * no C1 control (U+0080..U+009F), no leading or trailing space.
 * Also checks that ccoord__printable() never overruns its buffer and
 * always terminates it.
 *
 *   make fuzz            (mk/fuzz.mk; FUZZ_SECONDS per target)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes one scalar value at s[i]; returns its length or 0 if malformed. */
static size_t ref_decode(const unsigned char *s, size_t n, size_t i, unsigned long *cp)
{
    unsigned char c = s[i];
    size_t len, k;
    unsigned long v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > n)
        return 0;
    for (k = 1; k < len; k++) {
        if ((s[i + k] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i + k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static int ref_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    if (n < 1 || n > 190 || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    while (i < n) {
        unsigned long cp;
        size_t len = ref_decode(s, n, i, &cp);
        if (!len || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += len;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, out[64];
    int lib, ref;
    size_t max;
    if (size > 4096)
        return 0;
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    /* an embedded NUL ends the C string: the library sees the prefix */
    lib = ccoord__valid_key(s);
    ref = ref_valid((const unsigned char *)s, strlen(s));
    if (lib != ref)
        abort();
    max = size ? data[0] % 80 : 0;
    memset(out, 'Z', sizeof out);
    ccoord__printable(out, sizeof out, s, max);
    if (!memchr(out, '\0', sizeof out))
        abort();
    free(s);
    return 0;
}
