/*
 * lib/internal.h: floor 1, helpers every file of the library may use
 * (lib/util.c: memory, strings, keys, time, maps, key/value lists;
 * lib/error.c: status texts).  Names with the ccoord__ prefix are hidden
 * (not in the version script); unit tests reach them through the static
 * archive.  The floors are drawn in libclustercoord(7), ARCHITECTURE.
 */
#ifndef CCOORD_INTERNAL_H
#define CCOORD_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <clustercoord.h>

#if defined(__GNUC__)
#define CCOORD__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CCOORD__PRINTF(a, b)
#endif

/* Longest node id, group id, task name (bytes); keeps utf8mb4 keys short. */
#define CCOORD__MAX_KEY 190
/* Longest hostname and metadata stored in a member row. */
#define CCOORD__MAX_TEXT 1024

/* ---- allocation: every allocation goes through these, so unit tests can
 * make the n-th one fail (ccoord__fail_alloc_after). */
void *ccoord__malloc(size_t n);
void *ccoord__calloc(size_t n, size_t size);
void *ccoord__realloc(void *p, size_t n);
char *ccoord__strdup(const char *s);
char *ccoord__strndup(const char *s, size_t n);
void ccoord__free_mem(void *p);
/* Makes room for one more element in the array *items of *cap elements
 * of size bytes when count == *cap: doubles it (first: first elements).
 * CCOORD_OK (also when there was room) or CCOORD_ENOMEM (the array is
 * unchanged).  items is the address of the array pointer. */
int ccoord__grow(void *items, size_t *cap, size_t count, size_t size, size_t first);
/* Test hook: after n more successful allocations, every allocation fails;
 * n < 0 turns failure injection off.  Process-wide, tests only. */
void ccoord__fail_alloc_after(long n);

/* ---- strings */
/* snprintf into a fixed buffer; always terminated, truncates. */
void ccoord__fmt(char *buf, size_t len, const char *fmt, ...) CCOORD__PRINTF(3, 4);
/* Growable string; on allocation failure it sets oom and stays valid. */
typedef struct ccoord__buf {
    char *data;
    size_t len, cap;
    int oom;
} ccoord__buf;
void ccoord__buf_init(ccoord__buf *b);
void ccoord__buf_add(ccoord__buf *b, const char *s);
void ccoord__buf_addn(ccoord__buf *b, const char *s, size_t n);
void ccoord__buf_addf(ccoord__buf *b, const char *fmt, ...) CCOORD__PRINTF(2, 3);
void ccoord__buf_reset(ccoord__buf *b);
void ccoord__buf_free(ccoord__buf *b);
/* Copies s into a printable form for error messages: control characters
 * and bytes >= 0x7f become \xNN, at most max bytes then "...". */
void ccoord__printable(char *out, size_t outlen, const char *s, size_t max);
/* 1 if s matches [a-z0-9_]+ (non-empty), else 0. */
int ccoord__is_ident(const char *s);
/* Random UUID v4 into out (37 bytes). CCOORD_OK or CCOORD_EINVAL. */
int ccoord__uuid_v4(char out[37]);
/* Uniform random 64-bit value from the kernel (getrandom). */
uint64_t ccoord__random_u64(void);
/* 1 when s is 1..max bytes of well-formed UTF-8 (no overlong forms, no
 * surrogates) without control characters (C0, DEL, C1) and, unless
 * edge_space, without a leading or trailing space; else 0. */
int ccoord__valid_text(const char *s, size_t max, int edge_space);
/* 1 when s is a valid id or task name: ccoord__valid_text(s,
 * CCOORD__MAX_KEY, 0). */
int ccoord__valid_key(const char *s);
/* Parses a decimal integer in [min, max]; CCOORD_OK or CCOORD_EINVAL. */
int ccoord__parse_long(const char *s, long min, long max, long *ret);

/* ---- time: CLOCK_BOOTTIME, nanoseconds; never compared across nodes. */
int64_t ccoord__now_ns(void);
void ccoord__sleep_ns(int64_t ns);
struct timespec;
/* *ts = CLOCK_MONOTONIC now + delta_ns: the absolute time for a
 * pthread_cond_timedwait on a condition variable set to that clock. */
void ccoord__mono_after(int64_t delta_ns, struct timespec *ts);

/* ---- a string -> value hash map (owned keys), open addressing. */
/* The string hash the map uses (FNV-1a, folded). */
uint64_t ccoord__hash_str(const char *s);
typedef struct ccoord__map ccoord__map;
ccoord__map *ccoord__map_new(void);
void ccoord__map_free(ccoord__map *m, void (*free_value)(void *));
/* Returns the stored value or NULL. */
void *ccoord__map_get(const ccoord__map *m, const char *key);
/* Inserts or replaces (the old value is returned through ret_old if not
 * NULL). CCOORD_OK or CCOORD_ENOMEM. */
int ccoord__map_put(ccoord__map *m, const char *key, void *value, void **ret_old);
/* Removes key; returns its value or NULL. */
void *ccoord__map_del(ccoord__map *m, const char *key);
size_t ccoord__map_count(const ccoord__map *m);
/* Iteration: i from 0 while ccoord__map_iter returns 1. */
int ccoord__map_iter(const ccoord__map *m, size_t *i, const char **ret_key, void **ret_value);

/* ---- key/value list (the [task_resolver] section), keeps file:line. */
typedef struct ccoord__kv {
    char *key;
    char *value;
    char *origin; /* "path:line" or "ccoord_config_set" */
} ccoord__kv;
typedef struct ccoord__kvlist {
    ccoord__kv *items;
    size_t count, cap;
} ccoord__kvlist;
/* Sets key (replacing an earlier value). CCOORD_OK or CCOORD_ENOMEM. */
int ccoord__kvlist_set(ccoord__kvlist *l, const char *key, const char *value,
                       const char *origin);
const ccoord__kv *ccoord__kvlist_find(const ccoord__kvlist *l, const char *key);
int ccoord__kvlist_copy(ccoord__kvlist *dst, const ccoord__kvlist *src);
void ccoord__kvlist_free(ccoord__kvlist *l);

#endif
