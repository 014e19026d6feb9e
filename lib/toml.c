/*
 * lib/toml.c: a TOML 1.0 reader (see toml.h).
 *
 * One pass over the text: a recursive descent over lines, values, arrays
 * and inline tables.  Every key and table defined so far is kept in a map
 * from its encoded path ("len:bytes[index]." per component, so no two
 * paths share a spelling) to what defined it, which is how redefinitions
 * are refused with the line of the first definition.
 */
#include "toml.h"

#include <stdint.h>
#include <string.h>

#define MAX_NEST 64  /* arrays and inline tables inside each other */
#define MAX_PATH 128 /* key components in one path */

enum def_kind {
    D_VALUE = 1,   /* a scalar or array */
    D_IMPLICIT,    /* a table named as a prefix of a header */
    D_EXPLICIT,    /* a table with a [header] */
    D_DOTTED,      /* a table made by dotted keys */
    D_AOT,         /* an array of tables */
    D_INLINE_OPEN, /* an inline table being read */
    D_INLINE       /* an inline table: closed */
};

typedef struct def {
    int kind;
    int line;
    long count; /* D_AOT: elements so far */
} def;

typedef struct tp {
    const char *s;
    size_t len, pos;
    int line;
    ccoord__toml_cb cb;
    void *user;
    char *err;
    size_t errlen;
    int *err_line;
    ccoord__map *defs;
    char *keys[MAX_PATH];
    long idx[MAX_PATH];
    size_t depth;
    int quiet; /* > 0 inside arrays: validate, report nothing */
    int nest;
} tp;

/* ---- errors, paths, definitions ---------------------------------------- */

static int fail_at(tp *p, int line, const char *why)
{
    ccoord__fmt(p->err, p->errlen, "%s", why);
    *p->err_line = line;
    return CCOORD_ECONFIG;
}

static int fail(tp *p, const char *why)
{
    return fail_at(p, p->line, why);
}

static int push(tp *p, char *key, long idx)
{
    if (p->depth >= MAX_PATH) {
        ccoord__free_mem(key);
        return fail(p, "too many key components (at most 128 in one path)");
    }
    p->keys[p->depth] = key;
    p->idx[p->depth] = idx;
    p->depth++;
    return CCOORD_OK;
}

static void pop_to(tp *p, size_t depth)
{
    while (p->depth > depth)
        ccoord__free_mem(p->keys[--p->depth]);
}

/* The encoded path of the first n components of the stack. */
static int encode(tp *p, size_t n, ccoord__buf *b)
{
    size_t i;
    ccoord__buf_reset(b);
    for (i = 0; i < n; i++) {
        ccoord__buf_addf(b, "%zu:", strlen(p->keys[i]));
        ccoord__buf_add(b, p->keys[i]);
        if (p->idx[i] >= 0)
            ccoord__buf_addf(b, "[%ld]", p->idx[i]);
        ccoord__buf_add(b, ".");
    }
    return b->oom ? CCOORD_ENOMEM : CCOORD_OK;
}

/* The definition of the first n components, or NULL. */
static int lookup(tp *p, size_t n, def **ret)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    rc = encode(p, n, &b);
    *ret = rc ? NULL : ccoord__map_get(p->defs, b.data);
    ccoord__buf_free(&b);
    return rc;
}

static int define(tp *p, size_t n, int kind, def **ret)
{
    ccoord__buf b;
    def *d = ccoord__calloc(1, sizeof *d);
    int rc;
    if (!d)
        return CCOORD_ENOMEM;
    d->kind = kind;
    d->line = p->line;
    ccoord__buf_init(&b);
    rc = encode(p, n, &b);
    if (!rc)
        rc = ccoord__map_put(p->defs, b.data, d, NULL);
    ccoord__buf_free(&b);
    if (rc) {
        ccoord__free_mem(d);
        return rc;
    }
    if (ret)
        *ret = d;
    return CCOORD_OK;
}

/* "a.b.c" for messages: the last n components up to depth, printable. */
static void show_path(tp *p, size_t from, size_t to, char *out, size_t len)
{
    ccoord__buf b;
    size_t i;
    ccoord__buf_init(&b);
    for (i = from; i < to; i++) {
        if (i > from)
            ccoord__buf_add(&b, ".");
        ccoord__buf_add(&b, p->keys[i][0] ? p->keys[i] : "\"\"");
    }
    ccoord__printable(out, len, b.data ? b.data : "", 96);
    ccoord__buf_free(&b);
}

static const char *kind_text(int kind)
{
    switch (kind) {
    case D_VALUE:
        return "a value";
    case D_EXPLICIT:
        return "a table";
    case D_IMPLICIT:
        return "a table";
    case D_DOTTED:
        return "a table made by dotted keys";
    case D_AOT:
        return "an array of tables";
    default:
        return "an inline table";
    }
}

static int redefined(tp *p, const def *d, const char *what)
{
    char path[512], why[768];
    show_path(p, 0, p->depth, path, sizeof path);
    ccoord__fmt(why, sizeof why, "%s %s: already defined as %s at line %d; TOML defines each "
                                 "key and table once",
                what, path, kind_text(d->kind), d->line);
    return fail(p, why);
}

/* ---- characters -------------------------------------------------------- */

static int peek(const tp *p, size_t ahead)
{
    return p->pos + ahead < p->len ? (unsigned char)p->s[p->pos + ahead] : -1;
}

static int starts(const tp *p, const char *lit)
{
    size_t n = strlen(lit);
    return p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0;
}

static void skip_ws(tp *p)
{
    while (peek(p, 0) == ' ' || peek(p, 0) == '\t')
        p->pos++;
}

/* Consumes a newline if one is here: 1, 0 if none, -1 on a lone CR. */
static int newline(tp *p)
{
    if (peek(p, 0) == '\n') {
        p->pos++;
        p->line++;
        return 1;
    }
    if (peek(p, 0) == '\r') {
        if (peek(p, 1) != '\n')
            return -1;
        p->pos += 2;
        p->line++;
        return 1;
    }
    return 0;
}

static int is_ctrl(int c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* A comment, if one starts here, up to (not including) its newline. */
static int comment(tp *p)
{
    if (peek(p, 0) != '#')
        return CCOORD_OK;
    for (p->pos++; p->pos < p->len; p->pos++) {
        int c = peek(p, 0);
        if (c == '\n' || (c == '\r' && peek(p, 1) == '\n'))
            break;
        if (is_ctrl(c))
            return fail(p, "control character in a comment");
    }
    return CCOORD_OK;
}

/* Blanks, comments and newlines (inside arrays). */
static int skip_space(tp *p)
{
    for (;;) {
        int rc, nl;
        skip_ws(p);
        if ((rc = comment(p)) != CCOORD_OK)
            return rc;
        nl = newline(p);
        if (nl < 0)
            return fail(p, "carriage return not followed by a newline");
        if (!nl)
            return CCOORD_OK;
    }
}

/* After a header or key/value: blanks, a comment, then the end of line. */
static int end_of_line(tp *p, const char *after)
{
    char why[160];
    int rc, nl;
    skip_ws(p);
    if ((rc = comment(p)) != CCOORD_OK)
        return rc;
    if (p->pos >= p->len)
        return CCOORD_OK;
    nl = newline(p);
    if (nl > 0)
        return CCOORD_OK;
    ccoord__fmt(why, sizeof why, "unexpected '%c' after %s; expected a comment or the end of "
                                 "the line",
                peek(p, 0) >= 0x20 && peek(p, 0) < 0x7f ? peek(p, 0) : '?', after);
    return fail(p, why);
}

static int check_utf8(tp *p)
{
    size_t i = 0;
    int line = 1;
    while (i < p->len) {
        unsigned char c = (unsigned char)p->s[i];
        size_t n, k;
        uint32_t cp;
        if (c == '\n')
            line++;
        if (c == 0)
            return fail_at(p, line, "contains a NUL byte; a TOML file is UTF-8 text");
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return fail_at(p, line, "invalid UTF-8; a TOML file is UTF-8 text");
        if (i + n >= p->len)
            return fail_at(p, line, "truncated UTF-8 sequence; a TOML file is UTF-8 text");
        for (k = 1; k <= n; k++) {
            unsigned char cc = (unsigned char)p->s[i + k];
            if ((cc & 0xc0) != 0x80)
                return fail_at(p, line, "invalid UTF-8; a TOML file is UTF-8 text");
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return fail_at(p, line, "invalid UTF-8; a TOML file is UTF-8 text");
        i += n + 1;
    }
    return CCOORD_OK;
}

static void put_utf8(ccoord__buf *b, uint32_t cp)
{
    char o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        o[0] = (char)(0xf0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    ccoord__buf_addn(b, o, n);
}

/* ---- strings ----------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* An escape after the backslash (p->pos at the letter). */
static int escape(tp *p, ccoord__buf *b)
{
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    int c = peek(p, 0);
    const char *hit = c > 0 ? strchr(from, c) : NULL;
    if (hit && *hit) {
        ccoord__buf_addn(b, &to[hit - from], 1);
        p->pos++;
        return CCOORD_OK;
    }
    if (c == 'u' || c == 'U') {
        size_t n = c == 'u' ? 4 : 8, i;
        uint32_t cp = 0;
        for (i = 1; i <= n; i++) {
            int h = hexval(peek(p, i));
            if (h < 0)
                return fail(p, c == 'u' ? "\\u needs 4 hexadecimal digits"
                                        : "\\U needs 8 hexadecimal digits");
            cp = (cp << 4) | (uint32_t)h;
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return fail(p, "escape is not a Unicode scalar value");
        if (cp == 0)
            return fail(p, "\\u0000 (NUL) is not supported in strings");
        put_utf8(b, cp);
        p->pos += n + 1;
        return CCOORD_OK;
    }
    return fail(p, "invalid escape in a string; TOML has \\b \\t \\n \\f \\r \\\" \\\\ "
                   "\\uXXXX \\UXXXXXXXX");
}

/* A line-ending backslash in a multi-line basic string: at the backslash.
 * 1 when it was one (and everything up to the next text is skipped). */
static int line_ending_backslash(tp *p)
{
    size_t save = p->pos + 1;
    size_t q = save;
    while (q < p->len && (p->s[q] == ' ' || p->s[q] == '\t'))
        q++;
    if (!(q < p->len && (p->s[q] == '\n' || (p->s[q] == '\r' && q + 1 < p->len &&
                                             p->s[q + 1] == '\n'))))
        return 0;
    p->pos = q;
    for (;;) {
        int nl;
        skip_ws(p);
        nl = newline(p);
        if (nl <= 0)
            return 1;
    }
}

/* A string of any of the four kinds; p->pos at the first quote. */
static int string(tp *p, ccoord__buf *b, int allow_multi)
{
    int q = peek(p, 0), basic = q == '"';
    int multi = (basic && starts(p, "\"\"\"")) || (!basic && starts(p, "'''"));
    int start = p->line;
    if (multi && !allow_multi)
        return fail(p, "a key cannot be a multi-line string");
    p->pos += multi ? 3 : 1;
    if (multi && newline(p) < 0)
        return fail(p, "carriage return not followed by a newline");
    for (;;) {
        int c = peek(p, 0), rc;
        if (c < 0)
            return fail_at(p, start, multi ? "unterminated multi-line string"
                                           : "unterminated string");
        if (c == q && (!multi || (peek(p, 1) == q && peek(p, 2) == q))) {
            size_t extra = 0;
            p->pos += multi ? 3 : 1;
            while (multi && peek(p, 0) == q && extra < 3) {
                extra++;
                p->pos++;
            }
            if (extra > 2)
                return fail(p, "too many quotes at the end of a multi-line string");
            while (extra--)
                ccoord__buf_addn(b, q == '"' ? "\"" : "'", 1);
            return b->oom ? CCOORD_ENOMEM : CCOORD_OK;
        }
        if (c == '\n' || c == '\r') {
            int nl;
            if (!multi)
                return fail(p, "newline in a single-line string");
            if ((nl = newline(p)) < 0)
                return fail(p, "carriage return not followed by a newline");
            ccoord__buf_add(b, "\n");
            continue;
        }
        if (is_ctrl(c))
            return fail(p, "control character in a string; write it as an escape");
        if (basic && c == '\\') {
            if (multi && line_ending_backslash(p))
                continue;
            p->pos++;
            if ((rc = escape(p, b)) != CCOORD_OK)
                return rc;
            continue;
        }
        ccoord__buf_addn(b, &p->s[p->pos], 1);
        p->pos++;
    }
}

/* ---- keys -------------------------------------------------------------- */

static int is_bare(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* One key component into *ret (owned). */
static int simple_key(tp *p, char **ret)
{
    ccoord__buf b;
    int c = peek(p, 0), rc = CCOORD_OK;
    ccoord__buf_init(&b);
    if (c == '"' || c == '\'') {
        rc = string(p, &b, 0);
    } else if (c >= 0 && is_bare(c)) {
        size_t s = p->pos;
        while (peek(p, 0) >= 0 && is_bare(peek(p, 0)))
            p->pos++;
        ccoord__buf_addn(&b, p->s + s, p->pos - s);
    } else {
        rc = fail(p, "expected a key (letters, digits, '_', '-', or a quoted string)");
    }
    if (!rc && b.oom)
        rc = CCOORD_ENOMEM;
    if (!rc)
        *ret = b.data ? b.data : ccoord__strdup("");
    else
        ccoord__buf_free(&b);
    if (!rc && !*ret)
        rc = CCOORD_ENOMEM;
    return rc;
}

/* A dotted key, pushed onto the path. */
static int key(tp *p)
{
    for (;;) {
        char *k = NULL;
        int rc;
        skip_ws(p);
        if ((rc = simple_key(p, &k)) != CCOORD_OK)
            return rc;
        if ((rc = push(p, k, -1)) != CCOORD_OK)
            return rc;
        skip_ws(p);
        if (peek(p, 0) != '.')
            return CCOORD_OK;
        p->pos++;
    }
}

/* ---- scalars ----------------------------------------------------------- */

static int digits_ok(const char *s, size_t n, int base, int allow_underscore)
{
    size_t i;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        int h = hexval(c);
        if (c == '_' && allow_underscore) {
            if (i == 0 || i + 1 == n || s[i + 1] == '_')
                return 0;
            continue;
        }
        if (h < 0 || h >= base)
            return 0;
    }
    return 1;
}

/* Integer token to decimal text in out (>= 24 bytes); 0, -1 when it is
 * not an integer, -2 when it is one beyond 64 bits. */
static int integer(const char *t, size_t n, char *out, size_t outlen)
{
    int neg = 0, base = 10;
    uint64_t v = 0, lim;
    size_t i;
    if (n && (t[0] == '+' || t[0] == '-')) {
        neg = t[0] == '-';
        t++, n--;
        if (n > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b'))
            return -1; /* no sign on prefixed integers */
    }
    if (n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b')) {
        base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
        t += 2, n -= 2;
    } else if (n > 1 && t[0] == '0') {
        return -1; /* leading zero */
    }
    if (!digits_ok(t, n, base, 1))
        return -1;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (i = 0; i < n; i++) {
        uint64_t d;
        if (t[i] == '_')
            continue;
        d = (uint64_t)hexval((unsigned char)t[i]);
        if (v > (lim - d) / (uint64_t)base)
            return -2; /* TOML: never silently lossy */
        v = v * (uint64_t)base + d;
    }
    if (neg)
        ccoord__fmt(out, outlen, "-%llu", (unsigned long long)v);
    else
        ccoord__fmt(out, outlen, "%llu", (unsigned long long)v);
    if (neg && v == 0)
        ccoord__fmt(out, outlen, "0");
    return 0;
}

static int is_float(const char *t, size_t n)
{
    size_t i = 0, s;
    if (n && (t[0] == '+' || t[0] == '-'))
        i++;
    if (n - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0))
        return 1;
    s = i;
    while (i < n && t[i] != '.' && t[i] != 'e' && t[i] != 'E')
        i++;
    if (!digits_ok(t + s, i - s, 10, 1) || (i - s > 1 && t[s] == '0') || i == n)
        return 0;
    if (t[i] == '.') {
        size_t f = ++i;
        while (i < n && t[i] != 'e' && t[i] != 'E')
            i++;
        if (!digits_ok(t + f, i - f, 10, 1))
            return 0;
        if (i == n)
            return 1;
    }
    i++; /* e or E */
    if (i < n && (t[i] == '+' || t[i] == '-'))
        i++;
    return digits_ok(t + i, n - i, 10, 1);
}

static int num2(const char *t, int lo, int hi, int *ret)
{
    int v;
    if (t[0] < '0' || t[0] > '9' || t[1] < '0' || t[1] > '9')
        return 0;
    v = (t[0] - '0') * 10 + (t[1] - '0');
    *ret = v;
    return v >= lo && v <= hi;
}

static int is_time(const char *t, size_t n, size_t *used)
{
    int h, m, s;
    size_t i = 8;
    if (n < 8 || t[2] != ':' || t[5] != ':' || !num2(t, 0, 23, &h) || !num2(t + 3, 0, 59, &m) ||
        !num2(t + 6, 0, 59, &s))
        return 0;
    if (i < n && t[i] == '.') {
        size_t f = ++i;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
        if (i == f)
            return 0;
    }
    *used = i;
    return 1;
}

static int is_date(const char *t, size_t n)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 0, mo, d, i;
    if (n < 10 || t[4] != '-' || t[7] != '-')
        return 0;
    for (i = 0; i < 4; i++) {
        if (t[i] < '0' || t[i] > '9')
            return 0;
        y = y * 10 + (t[i] - '0');
    }
    if (!num2(t + 5, 1, 12, &mo) || !num2(t + 8, 1, mdays[mo - 1], &d))
        return 0;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    return 1;
}

static int is_datetime(const char *t, size_t n)
{
    size_t used = 0;
    int h, m;
    if (is_time(t, n, &used))
        return used == n;
    if (!is_date(t, n))
        return 0;
    if (n == 10)
        return 1;
    if (t[10] != 'T' && t[10] != 't' && t[10] != ' ')
        return 0;
    t += 11, n -= 11;
    if (!is_time(t, n, &used))
        return 0;
    t += used, n -= used;
    if (n == 0)
        return 1;
    if (n == 1)
        return t[0] == 'Z' || t[0] == 'z';
    return n == 6 && (t[0] == '+' || t[0] == '-') && t[3] == ':' && num2(t + 1, 0, 23, &h) &&
           num2(t + 4, 0, 59, &m);
}

static int is_token(int c)
{
    return c >= 0 && (is_bare(c) || c == '+' || c == '.' || c == ':');
}

static int emit(tp *p, int kind, const char *value, int line)
{
    ccoord__toml_item it;
    if (p->quiet)
        return CCOORD_OK;
    it.kind = kind;
    it.depth = p->depth;
    it.keys = (const char *const *)p->keys;
    it.index = p->idx;
    it.value = value;
    it.line = line;
    return p->cb(p->user, &it);
}

/* A number, boolean or date-time (a bare token). */
static int bare_value(tp *p)
{
    size_t s = p->pos, n, i, j = 0;
    char out[32], *clean;
    int rc, line = p->line;
    while (is_token(peek(p, 0)))
        p->pos++;
    n = p->pos - s;
    /* "1979-05-27 07:32:00": a date, a blank, a time */
    if (n == 10 && is_date(p->s + s, n) && peek(p, 0) == ' ' && peek(p, 1) >= '0' &&
        peek(p, 1) <= '9' && peek(p, 2) >= '0' && peek(p, 2) <= '9' && peek(p, 3) == ':') {
        p->pos++;
        while (is_token(peek(p, 0)))
            p->pos++;
        n = p->pos - s;
    }
    if (n == 0)
        return fail(p, "expected a value (a string, number, boolean, date, array or inline "
                       "table)");
    if ((n == 4 && memcmp(p->s + s, "true", 4) == 0) ||
        (n == 5 && memcmp(p->s + s, "false", 5) == 0)) {
        ccoord__fmt(out, sizeof out, "%.*s", (int)n, p->s + s);
        return emit(p, CCOORD__TOML_BOOL, out, line);
    }
    rc = integer(p->s + s, n, out, sizeof out);
    if (rc == 0)
        return emit(p, CCOORD__TOML_INTEGER, out, line);
    if (rc == -2)
        return fail(p, "integer out of range; TOML integers are 64-bit signed "
                       "(-9223372036854775808 to 9223372036854775807)");
    if (is_datetime(p->s + s, n)) {
        if (!(clean = ccoord__strndup(p->s + s, n)))
            return CCOORD_ENOMEM;
        rc = emit(p, CCOORD__TOML_DATETIME, clean, line);
        ccoord__free_mem(clean);
        return rc;
    }
    if (!is_float(p->s + s, n))
        return fail(p, "not a valid value: a string must be quoted; numbers, booleans (true, "
                       "false) and dates are written as in TOML 1.0");
    if (!(clean = ccoord__malloc(n + 1)))
        return CCOORD_ENOMEM;
    for (i = 0; i < n; i++)
        if (p->s[s + i] != '_')
            clean[j++] = p->s[s + i];
    clean[j] = '\0';
    rc = emit(p, CCOORD__TOML_FLOAT, clean, line);
    ccoord__free_mem(clean);
    return rc;
}

/* ---- values, arrays, inline tables ------------------------------------- */

static int keyval(tp *p, size_t base);

static int value(tp *p);

static int array(tp *p)
{
    long n = 0;
    int rc, line = p->line;
    size_t depth = p->depth;
    p->pos++; /* [ */
    p->quiet++;
    for (;;) {
        char *slot;
        if ((rc = skip_space(p)) != CCOORD_OK)
            break;
        if (peek(p, 0) == ']')
            break;
        if (!(slot = ccoord__strdup(""))) {
            rc = CCOORD_ENOMEM;
            break;
        }
        if ((rc = push(p, slot, n++)) != CCOORD_OK)
            break;
        rc = value(p);
        pop_to(p, depth);
        if (rc || (rc = skip_space(p)) != CCOORD_OK)
            break;
        if (peek(p, 0) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p, 0) != ']')
            rc = fail(p, peek(p, 0) < 0 ? "unterminated array; expected ']'"
                                        : "expected ',' or ']' in an array");
        break;
    }
    p->quiet--;
    if (rc)
        return rc;
    p->pos++; /* ] */
    return emit(p, CCOORD__TOML_ARRAY, NULL, line);
}

static int inline_table(tp *p)
{
    size_t depth = p->depth;
    def *self = NULL;
    int rc;
    if ((rc = lookup(p, depth, &self)) != CCOORD_OK)
        return rc;
    if (self)
        self->kind = D_INLINE_OPEN;
    p->pos++; /* { */
    skip_ws(p);
    if (peek(p, 0) == '}') {
        p->pos++;
    } else {
        for (;;) {
            if ((rc = keyval(p, depth)) != CCOORD_OK)
                return rc;
            skip_ws(p);
            if (peek(p, 0) == ',') {
                p->pos++;
                skip_ws(p);
                if (peek(p, 0) == '}')
                    return fail(p, "trailing comma in an inline table");
                continue;
            }
            if (peek(p, 0) == '}') {
                p->pos++;
                break;
            }
            return fail(p, peek(p, 0) == '\n' || peek(p, 0) == '\r'
                               ? "newline in an inline table; TOML 1.0 keeps an inline table "
                                 "on one line"
                               : "expected ',' or '}' in an inline table");
        }
    }
    if (self)
        self->kind = D_INLINE;
    return CCOORD_OK;
}

static int value(tp *p)
{
    int c = peek(p, 0), rc;
    if (c == '"' || c == '\'') {
        ccoord__buf b;
        int line = p->line;
        ccoord__buf_init(&b);
        rc = string(p, &b, 1);
        if (!rc)
            rc = emit(p, CCOORD__TOML_STRING, b.data ? b.data : "", line);
        if (b.data)
            explicit_bzero(b.data, b.len); /* may be a password */
        ccoord__buf_free(&b);
        return rc;
    }
    if (c == '[' || c == '{') {
        if (p->nest >= MAX_NEST)
            return fail(p, "arrays and inline tables nested too deep (at most 64)");
        p->nest++;
        rc = c == '[' ? array(p) : inline_table(p);
        p->nest--;
        return rc;
    }
    return bare_value(p);
}

/* key = value, the key relative to the first base components. */
static int keyval(tp *p, size_t base)
{
    size_t i, end;
    int rc, is_table;
    def *d;
    if ((rc = key(p)) != CCOORD_OK)
        return rc;
    end = p->depth;
    for (i = base + 1; i < end; i++) {
        if ((rc = lookup(p, i, &d)) != CCOORD_OK)
            return rc;
        if (!d) {
            if ((rc = define(p, i, D_DOTTED, NULL)) != CCOORD_OK)
                return rc;
        } else if (d->kind != D_DOTTED && d->kind != D_INLINE_OPEN) {
            size_t keep = p->depth;
            p->depth = i; /* show the prefix */
            rc = redefined(p, d, "key");
            p->depth = keep;
            return rc;
        }
    }
    if ((rc = lookup(p, end, &d)) != CCOORD_OK)
        return rc;
    if (d)
        return redefined(p, d, "key");
    skip_ws(p);
    if (peek(p, 0) != '=')
        return fail(p, "expected '=' after the key");
    p->pos++;
    skip_ws(p);
    is_table = peek(p, 0) == '{';
    if ((rc = define(p, end, is_table ? D_INLINE_OPEN : D_VALUE, NULL)) != CCOORD_OK)
        return rc;
    rc = value(p);
    pop_to(p, base);
    return rc;
}

/* [a.b] or [[a.b]]; p->pos at the first '['. */
static int header(tp *p)
{
    int aot = peek(p, 1) == '[', rc, line = p->line;
    size_t i, n;
    def *d;
    pop_to(p, 0);
    p->pos += aot ? 2 : 1;
    if ((rc = key(p)) != CCOORD_OK)
        return rc;
    if (!(aot ? starts(p, "]]") : peek(p, 0) == ']'))
        return fail(p, aot ? "expected ']]' to close the header" : "expected ']' to close the "
                                                                   "header");
    p->pos += aot ? 2 : 1;
    n = p->depth;
    for (i = 1; i <= n; i++) {
        if ((rc = lookup(p, i, &d)) != CCOORD_OK)
            return rc;
        if (i < n) {
            if (!d) {
                if ((rc = define(p, i, D_IMPLICIT, NULL)) != CCOORD_OK)
                    return rc;
            } else if (d->kind == D_AOT) {
                p->idx[i - 1] = d->count - 1;
            } else if (d->kind == D_VALUE || d->kind == D_INLINE) {
                size_t keep = p->depth;
                p->depth = i;
                rc = redefined(p, d, "table");
                p->depth = keep;
                return rc;
            }
            continue;
        }
        if (aot) {
            if (!d && (rc = define(p, i, D_AOT, &d)) != CCOORD_OK)
                return rc;
            if (d->kind != D_AOT)
                return redefined(p, d, "array of tables");
            p->idx[i - 1] = d->count++;
        } else if (!d) {
            if ((rc = define(p, i, D_EXPLICIT, NULL)) != CCOORD_OK)
                return rc;
        } else if (d->kind == D_IMPLICIT) {
            d->kind = D_EXPLICIT;
            d->line = line;
        } else {
            return redefined(p, d, "table");
        }
    }
    if ((rc = emit(p, aot ? CCOORD__TOML_AOT : CCOORD__TOML_TABLE, NULL, line)) != CCOORD_OK)
        return rc;
    return end_of_line(p, "the header");
}

static int document(tp *p)
{
    int rc;
    if (starts(p, "\xef\xbb\xbf"))
        p->pos += 3;
    while (p->pos < p->len) {
        int nl;
        skip_ws(p);
        if ((rc = comment(p)) != CCOORD_OK)
            return rc;
        if ((nl = newline(p)) < 0)
            return fail(p, "carriage return not followed by a newline");
        if (nl || p->pos >= p->len)
            continue;
        if (peek(p, 0) == '[') {
            if ((rc = header(p)) != CCOORD_OK)
                return rc;
            continue;
        }
        /* the current table is what the last header left on the path */
        if ((rc = keyval(p, p->depth)) != CCOORD_OK)
            return rc;
        if ((rc = end_of_line(p, "the value")) != CCOORD_OK)
            return rc;
    }
    return CCOORD_OK;
}

static void free_def(void *d)
{
    ccoord__free_mem(d);
}

int ccoord__toml_parse(const char *text, size_t len, ccoord__toml_cb cb, void *user, char *err,
                       size_t errlen, int *err_line)
{
    tp p;
    int rc, dummy;
    memset(&p, 0, sizeof p);
    p.s = text;
    p.len = len;
    p.line = 1;
    p.cb = cb;
    p.user = user;
    p.err = err;
    p.errlen = errlen;
    p.err_line = err_line ? err_line : &dummy;
    *p.err_line = 0;
    if (errlen)
        err[0] = '\0';
    if (!text || !cb)
        return CCOORD_EINVAL;
    if ((rc = check_utf8(&p)) != CCOORD_OK)
        return rc;
    if (!(p.defs = ccoord__map_new()))
        return CCOORD_ENOMEM;
    rc = document(&p);
    pop_to(&p, 0);
    ccoord__map_free(p.defs, free_def);
    if (rc == CCOORD_ENOMEM && errlen) {
        ccoord__fmt(err, errlen, "out of memory");
        *p.err_line = p.line;
    }
    return rc;
}
