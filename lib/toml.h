/*
 * lib/toml.h: a TOML 1.0 reader (floor 1: calls util.c only).
 *
 * Debian packages no TOML parser for C (tomlc99 and toml++ are not in its
 * archive), so this is the smallest reader that accepts what TOML 1.0
 * accepts and refuses the rest, fuzzed by test/fuzz/fuzz_toml.c.
 *
 * It validates the whole document (UTF-8, syntax, every value, duplicate
 * keys and tables) and reports, in document order, one item per table
 * header and per scalar value.  Keys inside an inline table are reported
 * as dotted keys of the table they sit in (a = {b = 1} is a.b = 1); an
 * array is reported once, as CCOORD__TOML_ARRAY, without its elements.
 * Limits: a string or key holding U+0000 is refused (values are C
 * strings); arrays and inline tables nest at most 64 deep.
 */
#ifndef CCOORD_TOML_H
#define CCOORD_TOML_H

#include "internal.h"

enum ccoord__toml_kind {
    CCOORD__TOML_TABLE = 1, /* a [header] */
    CCOORD__TOML_AOT,       /* a [[header]]: a new element of an array of tables */
    CCOORD__TOML_STRING,
    CCOORD__TOML_INTEGER,  /* value in decimal, without '+' or '_' */
    CCOORD__TOML_FLOAT,    /* value as written, without '_' */
    CCOORD__TOML_BOOL,     /* "true" or "false" */
    CCOORD__TOML_DATETIME, /* as written */
    CCOORD__TOML_ARRAY     /* value NULL */
};

typedef struct ccoord__toml_item {
    int kind;
    size_t depth;            /* number of key components */
    const char *const *keys; /* the full path from the root, unquoted */
    const long *index;       /* per component: element index (from 0) of an
                              * array of tables, else -1 */
    const char *value;       /* scalars: the value as text; else NULL */
    int line;                /* where the item starts, from 1 */
} ccoord__toml_item;

/* Returns CCOORD_OK to go on; anything else stops the parse and is
 * returned by ccoord__toml_parse. */
typedef int (*ccoord__toml_cb)(void *user, const ccoord__toml_item *item);

/* Parses text[0..len) (no NUL needed).  CCOORD_OK; CCOORD_ECONFIG with
 * "what is wrong" in err and its line in *err_line; CCOORD_ENOMEM; or
 * what cb returned. */
int ccoord__toml_parse(const char *text, size_t len, ccoord__toml_cb cb, void *user, char *err,
                       size_t errlen, int *err_line);

#endif
