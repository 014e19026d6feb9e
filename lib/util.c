/*
 * lib/util.c: allocation, strings, time, random numbers, a hash map and a
 * key/value list.  Everything here is thread-safe except the test hook.
 */
#include "internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---- allocation ------------------------------------------------------ */

/* < 0: off; otherwise the number of allocations that still succeed. */
static _Atomic long fail_after = -1;

void ccoord__fail_alloc_after(long n)
{
    atomic_store(&fail_after, n < 0 ? -1 : n);
}

static int alloc_allowed(void)
{
    long n = atomic_load_explicit(&fail_after, memory_order_relaxed);
    while (n >= 0) {
        if (n == 0)
            return 0;
        if (atomic_compare_exchange_weak(&fail_after, &n, n - 1))
            return 1;
    }
    return 1;
}

void *ccoord__malloc(size_t n)
{
    if (!alloc_allowed())
        return NULL;
    return malloc(n ? n : 1);
}

void *ccoord__calloc(size_t n, size_t size)
{
    if (!alloc_allowed())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *ccoord__realloc(void *p, size_t n)
{
    if (!alloc_allowed())
        return NULL;
    return realloc(p, n ? n : 1);
}

char *ccoord__strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = ccoord__malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *ccoord__strdup(const char *s)
{
    return ccoord__strndup(s, (size_t)-1);
}

void ccoord__free_mem(void *p)
{
    free(p);
}

int ccoord__grow(void *items, size_t *cap, size_t count, size_t size, size_t first)
{
    void *old, *n;
    size_t ncap;
    if (count < *cap)
        return CCOORD_OK;
    ncap = *cap ? *cap * 2 : first;
    /* the pointer is copied, not read through a void ** (strict aliasing) */
    memcpy(&old, items, sizeof old);
    if (ncap < *cap || ncap > SIZE_MAX / size || !(n = ccoord__realloc(old, ncap * size)))
        return CCOORD_ENOMEM;
    memcpy(items, &n, sizeof n);
    *cap = ncap;
    return CCOORD_OK;
}

/* ---- strings --------------------------------------------------------- */

void ccoord__fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (!len)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

void ccoord__buf_init(ccoord__buf *b)
{
    memset(b, 0, sizeof *b);
}

static int buf_reserve(ccoord__buf *b, size_t extra)
{
    size_t need, cap;
    char *d;
    if (b->oom)
        return -1;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    d = ccoord__realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void ccoord__buf_addn(ccoord__buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ccoord__buf_add(ccoord__buf *b, const char *s)
{
    ccoord__buf_addn(b, s, strlen(s));
}

void ccoord__buf_addf(ccoord__buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    char small[256];
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        ccoord__buf_addn(b, small, (size_t)n);
        return;
    }
    if (buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ccoord__buf_reset(ccoord__buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ccoord__buf_free(ccoord__buf *b)
{
    free(b->data);
    ccoord__buf_init(b);
}

void ccoord__printable(char *out, size_t outlen, const char *s, size_t max)
{
    size_t o = 0, i;
    if (!outlen)
        return;
    if (!s)
        s = "(null)";
    for (i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            if (o + 1 >= outlen)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 4 >= outlen)
                break;
            snprintf(out + o, outlen - o, "\\x%02x", c);
            o += 4;
        }
    }
    if (s[i] && o + 3 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

int ccoord__is_ident(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

uint64_t ccoord__random_u64(void)
{
    uint64_t v = 0;
    size_t got = 0;
    while (got < sizeof v) {
        ssize_t n = getrandom((char *)&v + got, sizeof v - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* No kernel entropy source: fall back on time and address. */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            v ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&v;
            break;
        }
        got += (size_t)n;
    }
    return v;
}

int ccoord__uuid_v4(char out[37])
{
    unsigned char b[16];
    uint64_t a = ccoord__random_u64(), c = ccoord__random_u64();
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
             b[12], b[13], b[14], b[15]);
    return CCOORD_OK;
}

int ccoord__parse_long(const char *s, long min, long max, long *ret)
{
    char *end;
    long v;
    if (!s || !*s)
        return CCOORD_EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        return CCOORD_EINVAL;
    /* strtol accepts leading blanks and '+'; we do not. */
    if (!(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
        return CCOORD_EINVAL;
    *ret = v;
    return CCOORD_OK;
}

/* ---- time ------------------------------------------------------------ */

int64_t ccoord__now_ns(void)
{
    struct timespec ts;
#ifdef CLOCK_BOOTTIME
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
#endif
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ccoord__sleep_ns(int64_t ns)
{
    struct timespec ts;
    if (ns <= 0)
        return;
    ts.tv_sec = (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void ccoord__mono_after(int64_t delta_ns, struct timespec *ts)
{
    int64_t mono;
    clock_gettime(CLOCK_MONOTONIC, ts);
    mono = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + delta_ns;
    ts->tv_sec = (time_t)(mono / 1000000000);
    ts->tv_nsec = (long)(mono % 1000000000);
}

/* ---- hash map -------------------------------------------------------- */

typedef struct map_slot {
    char *key; /* NULL: empty; TOMBSTONE: deleted */
    void *value;
    uint64_t hash;
} map_slot;

struct ccoord__map {
    map_slot *slots;
    size_t cap;   /* power of two */
    size_t count; /* live entries */
    size_t used;  /* live + tombstones */
};

static char tombstone_mark;
#define TOMBSTONE (&tombstone_mark)

uint64_t ccoord__hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

ccoord__map *ccoord__map_new(void)
{
    ccoord__map *m = ccoord__calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 16;
    m->slots = ccoord__calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void ccoord__map_free(ccoord__map *m, void (*free_value)(void *))
{
    size_t i;
    if (!m)
        return;
    for (i = 0; i < m->cap; i++) {
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE) {
            free(m->slots[i].key);
            if (free_value)
                free_value(m->slots[i].value);
        }
    }
    free(m->slots);
    free(m);
}

static map_slot *map_find(const ccoord__map *m, const char *key, uint64_t h)
{
    size_t i = (size_t)h & (m->cap - 1);
    for (;;) {
        map_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMBSTONE && s->hash == h && strcmp(s->key, key) == 0)
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

void *ccoord__map_get(const ccoord__map *m, const char *key)
{
    map_slot *s = map_find(m, key, ccoord__hash_str(key));
    return s ? s->value : NULL;
}

static int map_grow(ccoord__map *m)
{
    size_t ncap = m->count * 4 >= m->cap ? m->cap * 2 : m->cap, i;
    map_slot *ns = ccoord__calloc(ncap, sizeof *ns);
    if (!ns)
        return CCOORD_ENOMEM;
    for (i = 0; i < m->cap; i++) {
        map_slot *s = &m->slots[i];
        if (s->key && s->key != TOMBSTONE) {
            size_t j = (size_t)s->hash & (ncap - 1);
            while (ns[j].key)
                j = (j + 1) & (ncap - 1);
            ns[j] = *s;
        }
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->used = m->count;
    return CCOORD_OK;
}

int ccoord__map_put(ccoord__map *m, const char *key, void *value, void **ret_old)
{
    uint64_t h = ccoord__hash_str(key);
    map_slot *s = map_find(m, key, h);
    size_t i;
    char *k;
    if (s) {
        if (ret_old)
            *ret_old = s->value;
        s->value = value;
        return CCOORD_OK;
    }
    if ((m->used + 1) * 4 >= m->cap * 3 && map_grow(m) != CCOORD_OK)
        return CCOORD_ENOMEM;
    k = ccoord__strdup(key);
    if (!k)
        return CCOORD_ENOMEM;
    i = (size_t)h & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != TOMBSTONE)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = k;
    m->slots[i].value = value;
    m->slots[i].hash = h;
    m->count++;
    if (ret_old)
        *ret_old = NULL;
    return CCOORD_OK;
}

void *ccoord__map_del(ccoord__map *m, const char *key)
{
    map_slot *s = map_find(m, key, ccoord__hash_str(key));
    void *v;
    if (!s)
        return NULL;
    v = s->value;
    free(s->key);
    s->key = TOMBSTONE;
    s->value = NULL;
    m->count--;
    return v;
}

size_t ccoord__map_count(const ccoord__map *m)
{
    return m ? m->count : 0;
}

int ccoord__map_iter(const ccoord__map *m, size_t *i, const char **ret_key, void **ret_value)
{
    for (; *i < m->cap; (*i)++) {
        map_slot *s = &m->slots[*i];
        if (s->key && s->key != TOMBSTONE) {
            if (ret_key)
                *ret_key = s->key;
            if (ret_value)
                *ret_value = s->value;
            (*i)++;
            return 1;
        }
    }
    return 0;
}

/* ---- key/value list -------------------------------------------------- */

const ccoord__kv *ccoord__kvlist_find(const ccoord__kvlist *l, const char *key)
{
    size_t i;
    for (i = 0; i < l->count; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return &l->items[i];
    return NULL;
}

int ccoord__kvlist_set(ccoord__kvlist *l, const char *key, const char *value,
                       const char *origin)
{
    char *k = NULL, *v, *o;
    ccoord__kv *item = (ccoord__kv *)ccoord__kvlist_find(l, key);
    v = ccoord__strdup(value ? value : "");
    o = ccoord__strdup(origin ? origin : "");
    if (!item)
        k = ccoord__strdup(key);
    if (!v || !o || (!item && !k))
        goto oom;
    if (!item) {
        if (ccoord__grow(&l->items, &l->cap, l->count, sizeof *l->items, 8) != CCOORD_OK)
            goto oom;
        item = &l->items[l->count++];
        item->key = k;
    } else {
        free(item->value);
        free(item->origin);
    }
    item->value = v;
    item->origin = o;
    return CCOORD_OK;
oom:
    free(k);
    free(v);
    free(o);
    return CCOORD_ENOMEM;
}

int ccoord__kvlist_copy(ccoord__kvlist *dst, const ccoord__kvlist *src)
{
    size_t i;
    memset(dst, 0, sizeof *dst);
    for (i = 0; i < src->count; i++) {
        if (ccoord__kvlist_set(dst, src->items[i].key, src->items[i].value,
                               src->items[i].origin) != CCOORD_OK) {
            ccoord__kvlist_free(dst);
            return CCOORD_ENOMEM;
        }
    }
    return CCOORD_OK;
}

void ccoord__kvlist_free(ccoord__kvlist *l)
{
    size_t i;
    for (i = 0; i < l->count; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
        free(l->items[i].origin);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* ---- keys and texts stored in rows ------------------------------------ */

/* 1 when s is 1..max bytes of well-formed UTF-8 (no overlong forms, no
 * surrogates) without control characters (C0, DEL, C1), and, unless
 * edge_space, without a leading or trailing space. */
int ccoord__valid_text(const char *s, size_t max, int edge_space)
{
    size_t len, i;
    const unsigned char *u = (const unsigned char *)s;
    if (!s)
        return 0;
    len = strlen(s);
    if (len == 0 || len > max || (!edge_space && (s[0] == ' ' || s[len - 1] == ' ')))
        return 0;
    for (i = 0; i < len;) {
        unsigned c = u[i];
        size_t k, extra;
        unsigned cp;
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (k = 1; k <= extra; k++) {
            if (i + k >= len || (u[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += extra + 1;
    }
    return 1;
}

int ccoord__valid_key(const char *s)
{
    return ccoord__valid_text(s, CCOORD__MAX_KEY, 0);
}
