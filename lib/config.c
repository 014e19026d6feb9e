/*
 * lib/config.c: configuration (DESIGN.md section 5, clustercoord.conf(5)).
 *
 * The INI text is parsed with inih through ini_parse_stream() and a reader
 * of our own over an in-memory copy of the file.  The reader
 *  - counts lines, so every message names the line (Debian's inih is built
 *    without INI_HANDLER_LINENO; inih calls the handler for a line before
 *    it reads the next one, so the reader's count is the handler's line);
 *  - refuses a line longer than inih's line buffer instead of letting inih
 *    split it into two lines (which would silently cut a value);
 *  - refuses NUL bytes;
 *  - drops a UTF-8 BOM and leading blanks, so indented keys work and inih
 *    never sees a continuation line (multi-line values are not supported);
 *  - rewrites a TOML array-of-tables header "[[name]]" (the reference's
 *    [[datasource]] and [[task_resolver]]) to "[name]".
 *
 * A load parses into a copy of the settings and swaps it in on success, so
 * a failed load changes nothing.  ccoord_config_set() works the same way.
 * No global mutable state: inih's run-time knobs (ini_max_line, ...) are
 * read, never written.
 */
#include "config.h"

#include <dbi/dbi.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Largest configuration file we read. */
#define CONFIG_MAX_FILE (1024 * 1024)
/* Longest first line of a password_file. */
#define PASSWORD_MAX 4096
/* How much of a value an error message shows. */
#define SHOW_MAX 64
/* inih keeps key names in a 50-byte buffer and silently truncates longer
 * ones, so a [task_resolver] key of 49 bytes may be a truncated one. */
#define PARAM_KEY_MAX 48

static const char JAVA_PREFIX[] = "org.wso2.micro.integrator.ntask.coordination.task.resolver.";

/* ---- key table ------------------------------------------------------- */

enum key_type {
    K_STR,           /* string field at off */
    K_LONG,          /* long field at off, in [min, max] */
    K_BOOL,          /* long field at off: on/true/yes/1 or off/false/no/0 */
    K_PORTS,         /* port, or a list of them in port_list */
    K_NODE_ID,       /* node_id_host / node_id_file */
    K_PASSWORD,      /* the password itself */
    K_PASSWORD_FILE, /* first line of a file */
    K_PASSWORD_ENV   /* an environment variable */
};

typedef struct keydef keydef;
/* Returns 0 when v is acceptable, else writes "what is wrong; what is
 * allowed" into msg and returns -1. */
typedef int (*check_fn)(const keydef *kd, const char *v, char *msg, size_t len);

struct keydef {
    const char *section;
    const char *key;
    int type;
    size_t off;
    long min, max; /* K_LONG: range; strings: length in bytes */
    check_fn check;
    const char *allowed;
};

static int check_text(const keydef *kd, const char *v, char *msg, size_t len);
static int check_host(const keydef *kd, const char *v, char *msg, size_t len);
static int check_driver(const keydef *kd, const char *v, char *msg, size_t len);
static int check_prefix(const keydef *kd, const char *v, char *msg, size_t len);
static int check_resolver(const keydef *kd, const char *v, char *msg, size_t len);
static int check_any(const keydef *kd, const char *v, char *msg, size_t len);
static int check_envname(const keydef *kd, const char *v, char *msg, size_t len);
static int check_hostlist(const keydef *kd, const char *v, char *msg, size_t len);
static int check_ssl_mode(const keydef *kd, const char *v, char *msg, size_t len);
static int check_readable(const keydef *kd, const char *v, char *msg, size_t len);

#define OFF(f) offsetof(ccoord__settings, f)
#define TEXT190 "1 to 190 bytes, no control characters"

static const keydef keys[] = {
    {"server", "hostname", K_STR, OFF(hostname), 1, 255, check_host,
     "a host name or address of 1 to 255 bytes, no blanks or control characters"},
    {"cluster_config", "node_id", K_NODE_ID, 0, 1, CCOORD__MAX_KEY, check_text, TEXT190},
    {"cluster_config", "group_id", K_STR, OFF(group_id), 1, CCOORD__MAX_KEY, check_text,
     TEXT190},
    {"cluster_config", "heartbeat_interval", K_LONG, OFF(heartbeat_interval_ms), 10, 3600000,
     NULL, "an integer from 10 to 3600000 (milliseconds)"},
    {"cluster_config", "heartbeat_max_retry", K_LONG, OFF(heartbeat_max_retry), 2, 1000, NULL,
     "an integer from 2 to 1000"},
    {"datasource", "driver", K_STR, OFF(driver), 1, 32, check_driver,
     "a libdbi driver name of 1 to 32 characters [a-z0-9_]"},
    {"datasource", "dbname", K_STR, OFF(dbname), 1, 255, check_text,
     "1 to 255 bytes, no control characters"},
    {"datasource", "dbdir", K_STR, OFF(dbdir), 1, 4095, check_text,
     "a directory of 1 to 4095 bytes, no control characters"},
    {"datasource", "host", K_STR, OFF(host), 1, 255, check_hostlist,
     "a host name or address (pgsql: or a comma-separated list of them, tried in turn for "
     "the read-write server) of 1 to 255 bytes, no blanks or control characters"},
    {"datasource", "port", K_PORTS, OFF(port), 1, 65535, NULL,
     "an integer from 1 to 65535 (pgsql: or a comma-separated list, one per host)"},
    {"datasource", "username", K_STR, OFF(username), 1, 255, check_text,
     "1 to 255 bytes, no control characters"},
    {"datasource", "password", K_PASSWORD, OFF(password), 0, PASSWORD_MAX - 1, check_any,
     "any text on one line"},
    {"datasource", "password_file", K_PASSWORD_FILE, OFF(password), 1, 4095, check_text,
     "the path of a readable file whose first line (at most 4095 bytes) is the password"},
    {"datasource", "password_env", K_PASSWORD_ENV, OFF(password), 1, 255, check_envname,
     "the name ([A-Za-z_][A-Za-z0-9_]*) of a set environment variable holding the password"},
    {"datasource", "connect_timeout", K_LONG, OFF(connect_timeout_s), 1, 3600, NULL,
     "an integer from 1 to 3600 (seconds)"},
    {"datasource", "connect_retry", K_LONG, OFF(connect_retry_s), 0, 86400, NULL,
     "an integer from 0 (fail at once) to 86400 (seconds)"},
    {"datasource", "ssl_mode", K_STR, OFF(ssl_mode), 1, 16, check_ssl_mode,
     "disable, prefer, require, verify-ca or verify-full"},
    {"datasource", "ssl_ca", K_STR, OFF(ssl_ca), 1, 4095, check_readable,
     "the path of a readable file of CA certificates (PEM)"},
    {"datasource", "ssl_cert", K_STR, OFF(ssl_cert), 1, 4095, check_readable,
     "the path of a readable client certificate file (PEM)"},
    {"datasource", "ssl_key", K_STR, OFF(ssl_key), 1, 4095, check_readable,
     "the path of a readable client key file (PEM)"},
    {"datasource", "table_prefix", K_STR, OFF(table_prefix), 1, 32, check_prefix,
     "1 to 32 characters [a-z0-9_], the first not a digit"},
    {"task_handling", "resolver_class", K_STR, OFF(resolver_class), 1, 4095, check_resolver,
     "a plugin name of 1 to 64 characters [a-z0-9_], an absolute path to a .so file "
     "without \"..\", or org.wso2.micro.integrator.ntask.coordination.task.resolver."
     "ActivePassiveResolver, RoundRobinResolver or TaskNodeResolver"},
    {"task_handling", "plugin_dir", K_STR, OFF(plugin_dir), 1, 4095, check_text,
     "a directory of 1 to 4095 bytes, no control characters"},
    {"task_handling", "resolving_period", K_LONG, OFF(resolving_period_s), 1, 86400, NULL,
     "an integer from 1 to 86400 (seconds)"},
    {"task_handling", "resolving_frequency", K_LONG, OFF(resolving_frequency), 1, 100000,
     NULL, "an integer from 1 to 100000 (passes)"},
    {"task_handling", "rebalance", K_BOOL, OFF(rebalance), 0, 1, NULL,
     "on or off (also true/false, yes/no, 1/0)"},
    {"task_handling", "rebalance_batch", K_LONG, OFF(rebalance_batch), 1, 10000, NULL,
     "an integer from 1 to 10000 (task moves in flight)"},
    {"task_handling", "task_group", K_STR, OFF(task_group), 1, CCOORD__MAX_KEY, check_text,
     TEXT190},
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const char *const sections[] = {"server", "cluster_config", "datasource",
                                       "task_handling", "task_resolver"};
#define NSECTIONS (sizeof sections / sizeof sections[0])
#define SECTIONS_ALLOWED \
    "sections are [server], [cluster_config], [datasource], [task_handling], [task_resolver]"

static const char PARAM_ALLOWED[] =
    "a key of 1 to 48 characters [A-Za-z0-9_.-], given once per file";

/* ---- small helpers --------------------------------------------------- */

static char **str_field(ccoord__settings *s, const keydef *kd)
{
    return (char **)((char *)s + kd->off);
}

static long *long_field(ccoord__settings *s, const keydef *kd)
{
    return (long *)((char *)s + kd->off);
}

static int is_password_key(const keydef *kd)
{
    return kd->type == K_PASSWORD || kd->type == K_PASSWORD_FILE ||
           kd->type == K_PASSWORD_ENV;
}

static int has_ctrl(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v == 0x7f)
            return 1;
    return 0;
}

/* Keys whose values are never shown in a message. */
static int looks_secret(const char *key)
{
    static const char *const words[] = {"pass", "secret", "token", "pwd", "credential",
                                        "private"};
    size_t i;
    for (i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasestr(key, words[i]))
            return 1;
    return 0;
}

static void wipe_free(char *p)
{
    if (p) {
        explicit_bzero(p, strlen(p));
        ccoord__free_mem(p);
    }
}

static const char *errno_text(int e, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(e, buf, len);
#else
    if (strerror_r(e, buf, len) != 0)
        ccoord__fmt(buf, len, "error %d", e);
    return buf;
#endif
}

/* ---- value checks ---------------------------------------------------- */

static int fail(char *msg, size_t len, const char *wrong, const keydef *kd)
{
    ccoord__fmt(msg, len, "%s; %s", wrong, kd->allowed);
    return -1;
}

static int check_text(const keydef *kd, const char *v, char *msg, size_t len)
{
    size_t n = strlen(v);
    char wrong[64];
    if (n == 0 && kd->min > 0)
        return fail(msg, len, "empty", kd);
    if (n > (size_t)kd->max) {
        ccoord__fmt(wrong, sizeof wrong, "too long (%zu bytes)", n);
        return fail(msg, len, wrong, kd);
    }
    if (has_ctrl(v))
        return fail(msg, len, "contains a control character", kd);
    return 0;
}

static int check_any(const keydef *kd, const char *v, char *msg, size_t len)
{
    size_t n = strlen(v);
    if (n > (size_t)kd->max)
        return fail(msg, len, "too long", kd);
    return 0;
}

static int check_host(const keydef *kd, const char *v, char *msg, size_t len)
{
    if (check_text(kd, v, msg, len) < 0)
        return -1;
    if (strpbrk(v, " \t"))
        return fail(msg, len, "contains a blank", kd);
    return 0;
}

static int check_hostlist(const keydef *kd, const char *v, char *msg, size_t len)
{
    const char *p = v;
    if (check_host(kd, v, msg, len) < 0)
        return -1;
    for (;;) {
        const char *comma = strchr(p, ',');
        if (comma == p || !*p)
            return fail(msg, len, "empty host name in the list", kd);
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int check_ssl_mode(const keydef *kd, const char *v, char *msg, size_t len)
{
    static const char *const modes[] = {"disable", "prefer", "require", "verify-ca",
                                        "verify-full"};
    size_t i;
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(v, modes[i]) == 0)
            return 0;
    return fail(msg, len, "not a TLS mode", kd);
}

/* Checked when the file is read, so a typo is a load error, not a join
 * error minutes later. */
static int check_readable(const keydef *kd, const char *v, char *msg, size_t len)
{
    char eb[128], wrong[256];
    FILE *f;
    if (check_text(kd, v, msg, len) < 0)
        return -1;
    if (strpbrk(v, "'\\"))
        return fail(msg, len, "contains a quote or backslash", kd);
    if (!(f = fopen(v, "re"))) {
        int e = errno;
        ccoord__fmt(wrong, sizeof wrong, "cannot open: %s", errno_text(e, eb, sizeof eb));
        return fail(msg, len, wrong, kd);
    }
    fclose(f);
    return 0;
}

static int check_envname(const keydef *kd, const char *v, char *msg, size_t len)
{
    const char *p;
    if (check_text(kd, v, msg, len) < 0)
        return -1;
    for (p = v; *p; p++) {
        int c = (unsigned char)*p;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
                 (p != v && c >= '0' && c <= '9');
        if (!ok)
            return fail(msg, len, "not a valid environment variable name", kd);
    }
    return 0;
}

static int check_prefix(const keydef *kd, const char *v, char *msg, size_t len)
{
    size_t n = strlen(v);
    if (n == 0)
        return fail(msg, len, "empty", kd);
    if (n > (size_t)kd->max)
        return fail(msg, len, "too long", kd);
    if (!ccoord__is_ident(v))
        return fail(msg, len, "contains a character other than [a-z0-9_]", kd);
    if (v[0] >= '0' && v[0] <= '9')
        return fail(msg, len, "starts with a digit", kd);
    return 0;
}

static int check_resolver(const keydef *kd, const char *v, char *msg, size_t len)
{
    size_t n = strlen(v);
    if (n == 0)
        return fail(msg, len, "empty", kd);
    if (ccoord__is_ident(v))
        return n <= 64 ? 0 : fail(msg, len, "plugin name too long", kd);
    if (ccoord__resolver_alias(v) != v)
        return 0;
    if (v[0] == '/') {
        if (n > (size_t)kd->max)
            return fail(msg, len, "path too long", kd);
        if (has_ctrl(v))
            return fail(msg, len, "contains a control character", kd);
        if (strstr(v, ".."))
            return fail(msg, len, "path contains \"..\"", kd);
        if (n < 4 || strcmp(v + n - 3, ".so") != 0 || v[n - 4] == '/')
            return fail(msg, len, "path does not name a .so file", kd);
        return 0;
    }
    if (strncmp(v, JAVA_PREFIX, sizeof JAVA_PREFIX - 1) == 0)
        return fail(msg, len, "not a resolver this library provides", kd);
    if (strchr(v, '/'))
        return fail(msg, len, "relative path", kd);
    return fail(msg, len, "not a plugin name, .so path or known class name", kd);
}

/* The drivers libdbi finds on this machine, on a private instance. */
int ccoord__dbi_drivers(const char *want, char *avail, size_t len)
{
    dbi_inst inst = NULL;
    dbi_driver d = NULL;
    size_t used = 0;
    int found = 0, n;
    avail[0] = '\0';
    n = dbi_initialize_r(NULL, &inst);
    if (n > 0 && inst) {
        while ((d = dbi_driver_list_r(d, inst)) != NULL) {
            const char *name = dbi_driver_get_name(d);
            if (!name)
                continue;
            if (want && strcmp(name, want) == 0)
                found = 1;
            if (used < len) {
                int w = snprintf(avail + used, len - used, "%s%s", used ? ", " : "", name);
                if (w > 0)
                    used += (size_t)w;
            }
        }
    }
    if (inst)
        dbi_shutdown_r(inst);
    return found;
}

static int check_driver(const keydef *kd, const char *v, char *msg, size_t len)
{
    char avail[256];
    if (strlen(v) > (size_t)kd->max)
        return fail(msg, len, "too long", kd);
    if (!ccoord__is_ident(v))
        return fail(msg, len, "contains a character other than [a-z0-9_]", kd);
    if (ccoord__dbi_drivers(v, avail, sizeof avail))
        return 0;
    if (!avail[0])
        ccoord__fmt(msg, len,
                    "no libdbi driver is installed on this machine; install libdbi "
                    "drivers (Debian: libdbd-sqlite3, libdbd-pgsql, libdbd-mysql)");
    else
        ccoord__fmt(msg, len, "no such libdbi driver on this machine; one of: %s", avail);
    return -1;
}

static int check_param_key(const char *k)
{
    size_t n = strlen(k);
    const char *p;
    if (n == 0 || n > PARAM_KEY_MAX)
        return -1;
    for (p = k; *p; p++) {
        int c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return -1;
    }
    return 0;
}

/* ---- working state --------------------------------------------------- */

/* Everything a load or set may change; built as a copy, swapped in on
 * success. */
typedef struct cfg_state {
    ccoord__settings s;
    char *node_id_host;
    char *node_id_file;
    ccoord__kvlist host_set;
} cfg_state;

static void state_free(cfg_state *st)
{
    ccoord__settings_free(&st->s);
    ccoord__free_mem(st->node_id_host);
    ccoord__free_mem(st->node_id_file);
    ccoord__kvlist_free(&st->host_set);
    memset(st, 0, sizeof *st);
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = ccoord__strdup(src);
    return *dst ? 0 : -1;
}

static int state_copy(cfg_state *st, const ccoord_config *c)
{
    memset(st, 0, sizeof *st);
    if (ccoord__settings_copy(&st->s, &c->s) != CCOORD_OK)
        return CCOORD_ENOMEM;
    if (dup_opt(&st->node_id_host, c->node_id_host) < 0 ||
        dup_opt(&st->node_id_file, c->node_id_file) < 0 ||
        ccoord__kvlist_copy(&st->host_set, &c->host_set) != CCOORD_OK) {
        state_free(st);
        return CCOORD_ENOMEM;
    }
    return CCOORD_OK;
}

/* Moves st into c; st is left empty. */
static void state_commit(ccoord_config *c, cfg_state *st)
{
    ccoord__settings_free(&c->s);
    ccoord__free_mem(c->node_id_host);
    ccoord__free_mem(c->node_id_file);
    ccoord__kvlist_free(&c->host_set);
    c->s = st->s;
    c->node_id_host = st->node_id_host;
    c->node_id_file = st->node_id_file;
    c->host_set = st->host_set;
    memset(st, 0, sizeof *st);
}

/* ---- applying one key ------------------------------------------------ */

/* Where a value comes from.  line 0 and no label: ccoord_config_set(). */
typedef struct origin {
    const char *name;
    int line;
    const char *label;       /* where, when there is no line */
    int raw;                 /* the value is unquoted already */
    const char *shown;       /* the key as the user wrote it, or NULL */
    const char *shown_value; /* the value as the user wrote it, or NULL */
} origin;

/* Per-file bookkeeping (NULL for ccoord_config_set). */
typedef struct seen_set {
    int line[NKEYS];
    int password_line; /* any of password, password_file, password_env */
    const char *password_key;
    ccoord__kvlist params; /* [task_resolver] keys of this file: value = line */
    /* a loader's entries: the key and value as the user wrote them */
    const char *shown[NKEYS], *shown_value[NKEYS];
} seen_set;

static void where(char *buf, size_t len, const origin *o)
{
    if (o->line > 0)
        ccoord__fmt(buf, len, "%s:%d", o->name, o->line);
    else if (o->label)
        ccoord__fmt(buf, len, "%s", o->label);
    else
        ccoord__fmt(buf, len, "ccoord_config_set");
}

/* "where: section.key = value: why" into err. */
static void report(char *err, size_t errlen, const origin *o, const char *section,
                   const char *key, const char *value, int hide, const char *why)
{
    char w[512], sec[SHOW_MAX * 4 + 8], k[SHOW_MAX * 4 + 8], val[SHOW_MAX * 4 + 8];
    where(w, sizeof w, o);
    ccoord__printable(sec, sizeof sec, section, SHOW_MAX);
    ccoord__printable(k, sizeof k, key, SHOW_MAX);
    if (hide)
        ccoord__fmt(val, sizeof val, "(hidden)");
    else
        ccoord__printable(val, sizeof val, o->shown_value ? o->shown_value : value, SHOW_MAX);
    if (o->shown) {
        ccoord__printable(k, sizeof k, o->shown, SHOW_MAX);
        ccoord__fmt(err, errlen, "%s: %s = %s: %s", w, k, val, why);
    } else if (section[0])
        ccoord__fmt(err, errlen, "%s: %s.%s = %s: %s", w, sec, k, val, why);
    else
        ccoord__fmt(err, errlen, "%s: %s = %s: %s", w, k, val, why);
}

static const keydef *find_key(const char *section, const char *key)
{
    size_t i;
    for (i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static int known_section(const char *section)
{
    size_t i;
    for (i = 0; i < NSECTIONS; i++)
        if (strcmp(sections[i], section) == 0)
            return 1;
    return 0;
}

static void key_list(char *buf, size_t len, const char *section)
{
    size_t i, used = 0;
    buf[0] = '\0';
    for (i = 0; i < NKEYS && used < len; i++) {
        int w;
        if (strcmp(keys[i].section, section) != 0)
            continue;
        w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", keys[i].key);
        if (w > 0)
            used += (size_t)w;
    }
}

static int host_has(const cfg_state *st, const char *section, const char *key)
{
    char name[128];
    ccoord__fmt(name, sizeof name, "%s.%s", section, key);
    return ccoord__kvlist_find(&st->host_set, name) != NULL;
}

static int host_has_password(const cfg_state *st)
{
    return host_has(st, "datasource", "password") ||
           host_has(st, "datasource", "password_file") ||
           host_has(st, "datasource", "password_env");
}

/* Reads the first line of path into *ret (CCOORD_OK), or writes why. */
static int read_password_file(const char *path, char **ret, char *why, size_t len,
                              const char *allowed)
{
    char buf[PASSWORD_MAX + 1], eb[128];
    size_t n = 0, linelen;
    FILE *f = fopen(path, "re");
    char *nl, *p;
    if (!f) {
        int e = errno;
        ccoord__fmt(why, len, "cannot open: %s; %s", errno_text(e, eb, sizeof eb), allowed);
        return CCOORD_ECONFIG;
    }
    while (n < sizeof buf) {
        size_t r = fread(buf + n, 1, sizeof buf - n, f);
        if (r == 0)
            break;
        n += r;
        if (memchr(buf, '\n', n))
            break;
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        explicit_bzero(buf, sizeof buf);
        ccoord__fmt(why, len, "cannot read: %s; %s", errno_text(e, eb, sizeof eb), allowed);
        return CCOORD_ECONFIG;
    }
    fclose(f);
    nl = memchr(buf, '\n', n);
    linelen = nl ? (size_t)(nl - buf) : n;
    if (linelen > PASSWORD_MAX - 1) {
        explicit_bzero(buf, sizeof buf);
        ccoord__fmt(why, len, "first line too long; %s", allowed);
        return CCOORD_ECONFIG;
    }
    if (memchr(buf, '\0', linelen)) {
        explicit_bzero(buf, sizeof buf);
        ccoord__fmt(why, len, "first line contains a NUL byte; %s", allowed);
        return CCOORD_ECONFIG;
    }
    if (linelen && buf[linelen - 1] == '\r')
        linelen--;
    p = ccoord__strndup(buf, linelen);
    explicit_bzero(buf, sizeof buf);
    if (!p)
        return CCOORD_ENOMEM;
    *ret = p;
    return CCOORD_OK;
}

/* Applies section.key = value to st.  err receives the message on
 * CCOORD_ECONFIG (and a short one on CCOORD_ENOMEM). */
/* One key being applied: where it comes from and where errors go. */
typedef struct apply_ctx {
    cfg_state *st;
    const origin *o;
    seen_set *seen; /* NULL: not from a file */
    const char *section, *key;
    const keydef *kd;  /* NULL: not a key of the table */
    const char *value; /* unquoted */
    int hide, from_file;
    char *err;
    size_t errlen;
} apply_ctx;

/* Reports why for the key being applied; returns CCOORD_ECONFIG. */
static int refuse(const apply_ctx *a, const char *why)
{
    report(a->err, a->errlen, a->o, a->section, a->key, a->value, a->hide, why);
    return CCOORD_ECONFIG;
}

static int check_section(const apply_ctx *a)
{
    char why[768];
    const char *section = a->section;
    if (known_section(section))
        return CCOORD_OK;
    if (!section[0])
        ccoord__fmt(why, sizeof why, "key outside any section; put it under its section (%s)",
                    SECTIONS_ALLOWED);
    else if (section[0] == '[')
        ccoord__fmt(why, sizeof why, "malformed section header; write [name] (or [[name]]); %s",
                    SECTIONS_ALLOWED);
    else
        ccoord__fmt(why, sizeof why, "unknown section; %s", SECTIONS_ALLOWED);
    return refuse(a, why);
}

/* Quotes, as in the reference's TOML: "3" or '3'.  Only in files.
 * *copy is the unquoted value when there were quotes. */
static int unquote(apply_ctx *a, char **copy)
{
    const char *raw = a->value;
    size_t n = strlen(raw);
    if (a->o->line <= 0 || a->o->raw || (raw[0] != '"' && raw[0] != '\''))
        return CCOORD_OK;
    if (n < 2 || raw[n - 1] != raw[0])
        return refuse(a, "unbalanced quote; put matching quotes around the whole value "
                         "(note that \" ;\" starts a comment)");
    if (!(*copy = ccoord__strndup(raw + 1, n - 2)))
        return CCOORD_ENOMEM;
    a->value = *copy;
    return CCOORD_OK;
}

/* A [task_resolver] key: handed to the plugin as written. */
static int apply_param(const apply_ctx *a)
{
    char full[128], buf[512], why[768];
    const ccoord__kv *prev;
    cfg_state *st = a->st;
    if (check_param_key(a->key) < 0)
        return refuse(a, "invalid resolver parameter name; a key of 1 to 48 characters "
                         "[A-Za-z0-9_.-]");
    if (a->seen && (prev = ccoord__kvlist_find(&a->seen->params, a->key)) != NULL) {
        ccoord__fmt(why, sizeof why, "given twice in this file (first at line %s); %s",
                    prev->value, PARAM_ALLOWED);
        return refuse(a, why);
    }
    if (a->seen) {
        ccoord__fmt(buf, sizeof buf, "%d", a->o->line);
        if (ccoord__kvlist_set(&a->seen->params, a->key, buf, NULL) != CCOORD_OK)
            return CCOORD_ENOMEM;
    }
    ccoord__fmt(full, sizeof full, "task_resolver.%s", a->key);
    if (a->from_file && ccoord__kvlist_find(&st->host_set, full))
        return CCOORD_OK; /* the host program's value wins */
    if (a->from_file)
        ccoord__fmt(buf, sizeof buf, "%s:%d", a->o->name, a->o->line);
    else
        ccoord__fmt(buf, sizeof buf, "ccoord_config_set");
    if (ccoord__kvlist_set(&st->s.resolver_params, a->key, a->value, buf) != CCOORD_OK ||
        (!a->from_file && ccoord__kvlist_set(&st->host_set, full, a->hide ? "(hidden)" : a->value,
                                             "ccoord_config_set") != CCOORD_OK))
        return CCOORD_ENOMEM;
    return CCOORD_OK;
}

/* Once per file; at most one password source per file. */
static int note_seen(const apply_ctx *a, const keydef *kd)
{
    seen_set *seen = a->seen;
    size_t idx = (size_t)(kd - keys);
    char why[768];
    if (!seen)
        return CCOORD_OK;
    if (seen->line[idx]) {
        ccoord__fmt(why, sizeof why, "given twice in this file (first at line %d); give each "
                                     "key once", seen->line[idx]);
        return refuse(a, why);
    }
    if (is_password_key(kd) && seen->password_line) {
        ccoord__fmt(why, sizeof why, "conflicts with datasource.%s at line %d; at most one of "
                                     "password, password_file, password_env",
                    seen->password_key, seen->password_line);
        return refuse(a, why);
    }
    seen->line[idx] = a->o->line;
    if (is_password_key(kd)) {
        seen->password_line = a->o->line;
        seen->password_key = kd->key;
    }
    return CCOORD_OK;
}

/* "5432" into port, "5432,5433" into *nv (for port_list). */
static int convert_ports(const apply_ctx *a, const keydef *kd, char **nv)
{
    char why[768];
    const char *p = a->value;
    long v;
    if (!strchr(p, ',')) {
        if (ccoord__parse_long(p, LONG_MIN, LONG_MAX, &v) != CCOORD_OK)
            return fail(why, sizeof why, "not an integer", kd), refuse(a, why);
        if (v < kd->min || v > kd->max)
            return fail(why, sizeof why, "out of range", kd), refuse(a, why);
        a->st->s.port = v;
        return CCOORD_OK;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        char one[16];
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || n >= sizeof one)
            return fail(why, sizeof why, "not a list of ports", kd), refuse(a, why);
        memcpy(one, p, n);
        one[n] = '\0';
        if (ccoord__parse_long(one, kd->min, kd->max, &v) != CCOORD_OK)
            return fail(why, sizeof why, "a port in the list is out of range or not an integer",
                        kd),
                   refuse(a, why);
        if (!comma)
            break;
        p = comma + 1;
    }
    a->st->s.port = 0;
    *nv = ccoord__strdup(a->value);
    return *nv ? CCOORD_OK : CCOORD_ENOMEM;
}

/* Checks and converts the value of a known key: integers into the
 * settings at once, strings (a password read from its file or
 * environment variable) into *nv. */
static int convert(const apply_ctx *a, const keydef *kd, char **nv)
{
    char why[768];
    if (kd->type == K_LONG) {
        long v;
        if (ccoord__parse_long(a->value, LONG_MIN, LONG_MAX, &v) != CCOORD_OK)
            return fail(why, sizeof why, "not an integer", kd), refuse(a, why);
        if (v < kd->min || v > kd->max)
            return fail(why, sizeof why, "out of range", kd), refuse(a, why);
        *long_field(&a->st->s, kd) = v;
        return CCOORD_OK;
    }
    if (kd->type == K_BOOL) {
        static const char *const yes[] = {"on", "true", "yes", "1"}, *const no[] = {"off",
                                                                                  "false", "no",
                                                                                  "0"};
        size_t i;
        for (i = 0; i < 4; i++)
            if (strcasecmp(a->value, yes[i]) == 0 || strcasecmp(a->value, no[i]) == 0) {
                *long_field(&a->st->s, kd) = strcasecmp(a->value, yes[i]) == 0;
                return CCOORD_OK;
            }
        return fail(why, sizeof why, "not on or off", kd), refuse(a, why);
    }
    if (kd->type == K_PORTS)
        return convert_ports(a, kd, nv);
    if (kd->check(kd, a->value, why, sizeof why) < 0)
        return refuse(a, why);
    if (kd->type == K_PASSWORD_FILE) {
        int rc = read_password_file(a->value, nv, why, sizeof why, kd->allowed);
        return rc == CCOORD_ECONFIG ? refuse(a, why) : rc;
    }
    if (kd->type == K_PASSWORD_ENV) {
        const char *e = getenv(a->value);
        if (!e) {
            ccoord__fmt(why, sizeof why, "environment variable %s is not set; %s", a->value,
                        kd->allowed);
            return refuse(a, why);
        }
        *nv = ccoord__strdup(e);
    } else {
        *nv = ccoord__strdup(a->value);
    }
    return *nv ? CCOORD_OK : CCOORD_ENOMEM;
}

/* "where: key" of the key being applied into *ret (replaced). */
static int note_where(const apply_ctx *a, char **ret)
{
    char w[512], buf[768];
    where(w, sizeof w, a->o);
    if (a->o->shown)
        ccoord__fmt(buf, sizeof buf, "%s: %s", w, a->o->shown);
    else
        ccoord__fmt(buf, sizeof buf, "%s: %s.%s", w, a->section, a->key);
    ccoord__free_mem(*ret);
    *ret = ccoord__strdup(buf);
    return *ret ? CCOORD_OK : CCOORD_ENOMEM;
}

/* Records a host program's key and stores the converted string (takes
 * *nv). */
static int store(const apply_ctx *a, const keydef *kd, char **nv)
{
    char buf[512], **dst;
    if (!a->from_file) {
        ccoord__fmt(buf, sizeof buf, "%s.%s", a->section, a->key);
        if (ccoord__kvlist_set(&a->st->host_set, buf, a->hide ? "(hidden)" : a->value,
                               "ccoord_config_set") != CCOORD_OK)
            return CCOORD_ENOMEM;
    }
    if (kd->type == K_LONG || kd->type == K_BOOL)
        return CCOORD_OK;
    if (kd->type == K_NODE_ID)
        dst = a->from_file ? &a->st->node_id_file : &a->st->node_id_host;
    else if (kd->type == K_PORTS)
        dst = &a->st->s.port_list;
    else
        dst = str_field(&a->st->s, kd);
    if (dst == &a->st->s.resolver_class && note_where(a, &a->st->s.resolver_class_where))
        return CCOORD_ENOMEM;
    if (is_password_key(kd))
        wipe_free(*dst);
    else
        ccoord__free_mem(*dst);
    *dst = *nv;
    *nv = NULL;
    return CCOORD_OK;
}

/* A known key of a known section, after the quotes. */
static int apply_key(apply_ctx *a)
{
    char why[768], list[512], *nv = NULL;
    const keydef *kd = a->kd;
    cfg_state *st = a->st;
    int rc;
    if (!kd) {
        key_list(list, sizeof list, a->section);
        ccoord__fmt(why, sizeof why, "unknown key; keys of [%s] are %s", a->section, list);
        return refuse(a, why);
    }
    if ((rc = note_seen(a, kd)))
        return rc;
    /* Keys the host program set are not read from files (node_id keeps
     * both, for the precedence rule). */
    if (a->from_file && kd->type != K_NODE_ID &&
        (is_password_key(kd) ? host_has_password(st) : host_has(st, a->section, a->key)))
        return CCOORD_OK;
    rc = convert(a, kd, &nv);
    if (!rc)
        rc = store(a, kd, &nv);
    if (nv)
        wipe_free(nv);
    return rc;
}

static int apply(cfg_state *st, const origin *o, seen_set *seen, const char *section,
                 const char *key, const char *raw, char *err, size_t errlen)
{
    apply_ctx a;
    const keydef *kd = find_key(section, key);
    char *copy = NULL;
    int rc;
    a.st = st;
    a.o = o;
    a.seen = seen;
    a.section = section;
    a.key = key;
    a.kd = kd;
    a.value = raw;
    a.hide = kd && is_password_key(kd) ? kd->type == K_PASSWORD : looks_secret(key);
    a.from_file = o->line > 0 || o->label != NULL;
    a.err = err;
    a.errlen = errlen;
    rc = check_section(&a);
    if (!rc)
        rc = unquote(&a, &copy);
    if (!rc)
        rc = strcmp(section, "task_resolver") == 0 ? apply_param(&a) : apply_key(&a);
    if (copy)
        wipe_free(copy);
    if (rc == CCOORD_ENOMEM)
        ccoord__fmt(err, errlen, "%s: out of memory",
                    o->line > 0 || o->label ? o->name : "ccoord_config_set");
    return rc;
}

/* ---- checks across keys ---------------------------------------------- */

/* Where key was given: "file:line", "ccoord_config_set", or "" when it
 * was not (the default). */
static void key_where(const cfg_state *st, const seen_set *seen, const char *name,
                      const char *key, char *buf, size_t len)
{
    const keydef *kd = find_key("datasource", key);
    buf[0] = '\0';
    if (host_has(st, "datasource", key))
        ccoord__fmt(buf, len, "ccoord_config_set");
    else if (seen && kd && seen->line[kd - keys])
        ccoord__fmt(buf, len, "%s:%d", name, seen->line[kd - keys]);
}

static size_t count_list(const char *v)
{
    size_t n = 1;
    for (; *v; v++)
        n += *v == ',';
    return n;
}

/* "where: datasource.key = value: why" for a key that does not fit the
 * others. */
static int cross_fail(const cfg_state *st, const seen_set *seen, const char *name,
                      const char *key, const char *value, const char *why, char *err,
                      size_t errlen)
{
    char w[512], val[SHOW_MAX * 4 + 8], k[SHOW_MAX * 4 + 8];
    const keydef *kd = find_key("datasource", key);
    size_t idx = kd ? (size_t)(kd - keys) : 0;
    key_where(st, seen, name, key, w, sizeof w);
    ccoord__fmt(k, sizeof k, "datasource.%s", key);
    if (kd && seen && seen->shown[idx]) {
        ccoord__printable(k, sizeof k, seen->shown[idx], SHOW_MAX);
        value = seen->shown_value[idx] ? seen->shown_value[idx] : value;
    }
    ccoord__printable(val, sizeof val, value, SHOW_MAX);
    ccoord__fmt(err, errlen, "%s: %s = %s: %s", w[0] ? w : name, k, val, why);
    return CCOORD_ECONFIG;
}

/* A sqlite3 datasource is a local file: a host, port, user or password
 * means the operator expected a server (and every node would otherwise
 * form a cluster of one). */
static int check_sqlite_trap(const cfg_state *st, const seen_set *seen, const char *name,
                             char *err, size_t errlen)
{
    const ccoord__settings *s = &st->s;
    char why[768], port[32];
    const char *key = NULL, *value = NULL, *given;
    if (strcmp(s->driver, "sqlite3") != 0)
        return CCOORD_OK;
    ccoord__fmt(port, sizeof port, "%ld", s->port);
    if (s->host)
        key = "host", value = s->host;
    else if (s->port > 0 || s->port_list)
        key = "port", value = s->port_list ? s->port_list : port;
    else if (s->username)
        key = "username", value = s->username;
    else if (s->password)
        key = seen && seen->password_key ? seen->password_key : "password", value = "(hidden)";
    else if (s->ssl_mode || s->ssl_ca || s->ssl_cert || s->ssl_key)
        key = s->ssl_mode ? "ssl_mode" : s->ssl_ca ? "ssl_ca" : s->ssl_cert ? "ssl_cert" : "ssl_key",
        value = s->ssl_mode ? s->ssl_mode : "(a file)";
    if (!key)
        return CCOORD_OK;
    given = host_has(st, "datasource", "driver") ||
                    (seen && seen->line[find_key("datasource", "driver") - keys])
                ? "driver is sqlite3"
                : "driver is sqlite3 (the default when datasource.driver is not given)";
    ccoord__fmt(why, sizeof why,
                "set, but %s: a sqlite3 database is a local file (dbdir/dbname) that uses no "
                "host, port, username, password or TLS; set driver = pgsql or mysql for a "
                "database server, or remove the key",
                given);
    return cross_fail(st, seen, name, key, value, why, err, errlen);
}

static int check_lists(const cfg_state *st, const seen_set *seen, const char *name, char *err,
                       size_t errlen)
{
    const ccoord__settings *s = &st->s;
    size_t hosts = s->host ? count_list(s->host) : 1;
    char why[768];
    if (hosts > 1 && strcmp(s->driver, "pgsql") != 0) {
        ccoord__fmt(why, sizeof why, "a list of hosts needs driver = pgsql (libpq tries them "
                                     "in turn for the read-write server); driver %s takes one "
                                     "host",
                    s->driver);
        return cross_fail(st, seen, name, "host", s->host, why, err, errlen);
    }
    if (s->port_list && strcmp(s->driver, "pgsql") != 0) {
        ccoord__fmt(why, sizeof why, "a list of ports needs driver = pgsql; driver %s takes "
                                     "one port",
                    s->driver);
        return cross_fail(st, seen, name, "port", s->port_list, why, err, errlen);
    }
    if (s->port_list && count_list(s->port_list) != hosts) {
        ccoord__fmt(why, sizeof why, "%zu ports for %zu host%s; give one port, or one per host",
                    count_list(s->port_list), hosts, hosts == 1 ? "" : "s");
        return cross_fail(st, seen, name, "port", s->port_list, why, err, errlen);
    }
    return CCOORD_OK;
}

/* libdbd-mysql passes no TLS option to the client library, so a mysql
 * connection cannot be encrypted: refuse rather than connect in clear. */
static int check_tls(const cfg_state *st, const seen_set *seen, const char *name, char *err,
                     size_t errlen)
{
    const ccoord__settings *s = &st->s;
    const char *key = NULL, *value = NULL;
    if (strcmp(s->driver, "mysql") != 0)
        return CCOORD_OK;
    if (s->ssl_mode && strcmp(s->ssl_mode, "disable") != 0)
        key = "ssl_mode", value = s->ssl_mode;
    else if (s->ssl_ca || s->ssl_cert || s->ssl_key)
        key = s->ssl_ca ? "ssl_ca" : s->ssl_cert ? "ssl_cert" : "ssl_key",
        value = s->ssl_ca ? s->ssl_ca : s->ssl_cert ? s->ssl_cert : s->ssl_key;
    if (!key)
        return CCOORD_OK;
    return cross_fail(st, seen, name, key, value,
                      "libdbi's mysql driver (libdbd-mysql) passes no TLS settings to the "
                      "MySQL/MariaDB client library, so this connection cannot be encrypted or "
                      "verified; use driver = pgsql for TLS, or ssl_mode = disable on a trusted "
                      "network",
                      err, errlen);
}

static int cross_check(const cfg_state *st, const seen_set *seen, const char *name, char *err,
                       size_t errlen)
{
    int rc = check_sqlite_trap(st, seen, name, err, errlen);
    if (!rc)
        rc = check_lists(st, seen, name, err, errlen);
    if (!rc)
        rc = check_tls(st, seen, name, err, errlen);
    return rc;
}

/* ---- parsing --------------------------------------------------------- */

typedef struct parse_ctx {
    cfg_state *st;
    const char *name;
    const char *text;
    size_t len, pos;
    int lineno;
    int status;   /* CCOORD_OK, CCOORD_ECONFIG, CCOORD_ENOMEM */
    int err_line; /* line of the first handler or reader error */
    seen_set seen;
    char *err;
    size_t errlen;
} parse_ctx;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void reader_fail(parse_ctx *c, const char *why)
{
    ccoord__fmt(c->err, c->errlen, "%s:%d: %s", c->name, c->lineno, why);
    c->status = CCOORD_ECONFIG;
    c->err_line = c->lineno;
}

/* A section line "[name]" or "[[name]]" may be followed by blanks and a
 * comment (# or ;), nothing else: inih ignores what follows the ']', so
 * "[cluster_config] enable = true" would silently lose its key.  0 (the
 * error set) when something else follows; a line without its ']' is left
 * to inih's own error. */
static int section_tail_ok(parse_ctx *c, const char *p, size_t n)
{
    int dbl = n >= 2 && p[1] == '[';
    size_t i = dbl ? 2 : 1;
    char why[200], shown[SHOW_MAX + 1];
    for (; i < n; i++)
        if (p[i] == ']' && (!dbl || (i + 1 < n && p[i + 1] == ']')))
            break;
    if (i >= n)
        return 1;
    for (i += dbl ? 2 : 1; i < n && is_blank(p[i]); i++)
        ;
    if (i >= n || p[i] == '#' || p[i] == ';' || p[i] == '\r')
        return 1;
    ccoord__fmt(shown, sizeof shown, "%.*s", (int)(n - i), p + i);
    ccoord__fmt(why, sizeof why,
                "text after the section header's ']': \"%s\"; a section line is [name] or "
                "[[name]], optionally followed by a # or ; comment",
                shown);
    reader_fail(c, why);
    return 0;
}

/* ini_reader: hands inih one line at a time (see the top of the file). */
static char *reader(char *str, int num, void *stream)
{
    parse_ctx *c = stream;
    const char *p, *nl;
    size_t n;

    if (c->status != CCOORD_OK || c->pos >= c->len || num < 3)
        return NULL;
    p = c->text + c->pos;
    nl = memchr(p, '\n', c->len - c->pos);
    n = nl ? (size_t)(nl - p) : c->len - c->pos;
    c->pos += n + (nl ? 1 : 0);
    c->lineno++;
    if (memchr(p, '\0', n)) {
        reader_fail(c, "contains a NUL byte; a configuration file is text");
        return NULL;
    }
    if (c->lineno == 1 && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        n -= 3;
    }
    while (n && is_blank(*p)) {
        p++;
        n--;
    }
    if (n + 2 > (size_t)num) {
        char why[160];
        ccoord__fmt(why, sizeof why,
                    "line too long (%zu bytes); at most %d bytes per line (put a long "
                    "password in password_file)",
                    n, num - 2);
        reader_fail(c, why);
        return NULL;
    }
    if (n && p[0] == '[' && !section_tail_ok(c, p, n))
        return NULL;
    if (n >= 4 && p[0] == '[' && p[1] == '[') {
        /* "[[name]] rest" -> "[name] rest" */
        const char *close = NULL;
        size_t i;
        for (i = 2; i + 1 < n; i++)
            if (p[i] == ']' && p[i + 1] == ']') {
                close = p + i;
                break;
            }
        if (close) {
            size_t inner = (size_t)(close - (p + 2)), rest = n - (inner + 4);
            str[0] = '[';
            memcpy(str + 1, p + 2, inner);
            str[1 + inner] = ']';
            memcpy(str + 2 + inner, close + 2, rest);
            n = inner + 2 + rest;
            str[n] = '\n';
            str[n + 1] = '\0';
            return str;
        }
    }
    memcpy(str, p, n);
    str[n] = '\n'; /* always a newline: inih never tries to extend the line */
    str[n + 1] = '\0';
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *c = user;
    origin o;
    int rc;
    if (c->status != CCOORD_OK)
        return 0;
    if (!section || !name)
        return 1; /* INI_CALL_HANDLER_ON_NEW_SECTION builds */
    if (!value || !name[0]) {
        /* "= value", or a bare name in ini_allow_no_value builds */
        ccoord__fmt(c->err, c->errlen, "%s:%d: syntax error; a line is [section], "
                                       "key = value, a comment or blank",
                    c->name, c->lineno);
        c->status = CCOORD_ECONFIG;
        c->err_line = c->lineno;
        return 0;
    }
    memset(&o, 0, sizeof o);
    o.name = c->name;
    o.line = c->lineno;
    rc = apply(c->st, &o, &c->seen, section, name, value, c->err, c->errlen);
    if (rc != CCOORD_OK) {
        c->status = rc;
        c->err_line = c->lineno;
        return 0;
    }
    return 1;
}

/* Parses text[0..len) (no NUL needed) from a file called name on top of
 * config; swaps in the result on success. */
static int parse_buffer(ccoord_config *config, const char *text, size_t len,
                        const char *name)
{
    cfg_state st;
    parse_ctx c;
    int r;

    if (state_copy(&st, config) != CCOORD_OK) {
        ccoord__fmt(config->error, sizeof config->error, "%s: out of memory", name);
        return CCOORD_ENOMEM;
    }
    memset(&c, 0, sizeof c);
    c.st = &st;
    c.name = name;
    c.text = text;
    c.len = len;
    c.err = config->error;
    c.errlen = sizeof config->error;
    r = ini_parse_stream(reader, &c, handler, &c);
    ccoord__kvlist_free(&c.seen.params);
    if (c.status == CCOORD_ENOMEM || r == -2) {
        state_free(&st);
        ccoord__fmt(config->error, sizeof config->error, "%s: out of memory", name);
        return CCOORD_ENOMEM;
    }
    if (r > 0 && (c.status == CCOORD_OK || r < c.err_line)) {
        ccoord__fmt(config->error, sizeof config->error,
                    "%s:%d: syntax error; a line is [section], key = value, a comment or blank",
                    name, r);
        c.status = CCOORD_ECONFIG;
    } else if (r < 0 && c.status == CCOORD_OK) {
        ccoord__fmt(config->error, sizeof config->error, "%s: cannot parse", name);
        c.status = CCOORD_ECONFIG;
    }
    if (c.status == CCOORD_OK)
        c.status = cross_check(&st, &c.seen, name, config->error, sizeof config->error);
    if (c.status != CCOORD_OK) {
        state_free(&st);
        return c.status;
    }
    state_commit(config, &st);
    config->error[0] = '\0';
    return CCOORD_OK;
}

int ccoord__config_apply_entries(ccoord_config *config, const char *name,
                                 const ccoord__config_entry *e, size_t n,
                                 const ccoord__kvlist *notes)
{
    cfg_state st;
    seen_set seen;
    size_t i;
    int rc = CCOORD_OK;
    if (state_copy(&st, config) != CCOORD_OK) {
        ccoord__fmt(config->error, sizeof config->error, "%s: out of memory", name);
        return CCOORD_ENOMEM;
    }
    memset(&seen, 0, sizeof seen);
    for (i = 0; i < n && rc == CCOORD_OK; i++) {
        origin o = {name, e[i].line, e[i].line > 0 ? NULL : e[i].label, 1, e[i].shown,
                    e[i].shown_value};
        const keydef *kd = find_key(e[i].section, e[i].key);
        if (!o.line && !o.label)
            o.label = name;
        rc = apply(&st, &o, NULL, e[i].section, e[i].key, e[i].value, config->error,
                   sizeof config->error);
        if (kd && e[i].line > 0) {
            seen.line[kd - keys] = e[i].line;
            seen.shown[kd - keys] = e[i].shown;
            seen.shown_value[kd - keys] = e[i].shown_value;
            if (is_password_key(kd)) {
                seen.password_line = e[i].line;
                seen.password_key = kd->key;
            }
        }
    }
    for (i = 0; notes && i < notes->count && rc == CCOORD_OK; i++)
        if (ccoord__kvlist_set(&st.s.notes, notes->items[i].key, notes->items[i].value,
                               notes->items[i].origin) != CCOORD_OK) {
            ccoord__fmt(config->error, sizeof config->error, "%s: out of memory", name);
            rc = CCOORD_ENOMEM;
        }
    if (rc == CCOORD_OK)
        rc = cross_check(&st, &seen, name, config->error, sizeof config->error);
    if (rc != CCOORD_OK) {
        state_free(&st);
        return rc;
    }
    state_commit(config, &st);
    config->error[0] = '\0';
    return CCOORD_OK;
}

int ccoord__config_check(const ccoord_config *config)
{
    cfg_state st;
    int rc;
    /* the error buffer is the one part written (see ccoord__config_node_id) */
    char *err = ((ccoord_config *)config)->error;
    memset(&st, 0, sizeof st);
    st.s = config->s;
    st.host_set = config->host_set;
    rc = cross_check(&st, NULL, "configuration", err, sizeof config->error);
    return rc;
}

/* ---- settings -------------------------------------------------------- */

void ccoord__settings_free(ccoord__settings *s)
{
    if (!s)
        return;
    ccoord__free_mem(s->hostname);
    ccoord__free_mem(s->node_id);
    ccoord__free_mem(s->group_id);
    ccoord__free_mem(s->driver);
    ccoord__free_mem(s->dbname);
    ccoord__free_mem(s->dbdir);
    ccoord__free_mem(s->host);
    ccoord__free_mem(s->username);
    wipe_free(s->password);
    ccoord__free_mem(s->table_prefix);
    ccoord__free_mem(s->port_list);
    ccoord__free_mem(s->ssl_mode);
    ccoord__free_mem(s->ssl_ca);
    ccoord__free_mem(s->ssl_cert);
    ccoord__free_mem(s->ssl_key);
    ccoord__kvlist_free(&s->notes);
    ccoord__free_mem(s->resolver_class);
    ccoord__free_mem(s->resolver_class_where);
    ccoord__free_mem(s->plugin_dir);
    ccoord__free_mem(s->task_group);
    ccoord__kvlist_free(&s->resolver_params);
    memset(s, 0, sizeof *s);
}

int ccoord__settings_copy(ccoord__settings *dst, const ccoord__settings *src)
{
    if (!dst || !src)
        return CCOORD_EINVAL;
    memset(dst, 0, sizeof *dst);
    dst->heartbeat_interval_ms = src->heartbeat_interval_ms;
    dst->heartbeat_max_retry = src->heartbeat_max_retry;
    dst->port = src->port;
    dst->connect_timeout_s = src->connect_timeout_s;
    dst->connect_retry_s = src->connect_retry_s;
    dst->resolving_period_s = src->resolving_period_s;
    dst->resolving_frequency = src->resolving_frequency;
    dst->rebalance = src->rebalance;
    dst->rebalance_batch = src->rebalance_batch;
    if (dup_opt(&dst->hostname, src->hostname) < 0 || dup_opt(&dst->node_id, src->node_id) < 0 ||
        dup_opt(&dst->group_id, src->group_id) < 0 || dup_opt(&dst->driver, src->driver) < 0 ||
        dup_opt(&dst->dbname, src->dbname) < 0 || dup_opt(&dst->dbdir, src->dbdir) < 0 ||
        dup_opt(&dst->host, src->host) < 0 || dup_opt(&dst->username, src->username) < 0 ||
        dup_opt(&dst->password, src->password) < 0 ||
        dup_opt(&dst->table_prefix, src->table_prefix) < 0 ||
        dup_opt(&dst->port_list, src->port_list) < 0 ||
        dup_opt(&dst->ssl_mode, src->ssl_mode) < 0 || dup_opt(&dst->ssl_ca, src->ssl_ca) < 0 ||
        dup_opt(&dst->ssl_cert, src->ssl_cert) < 0 || dup_opt(&dst->ssl_key, src->ssl_key) < 0 ||
        ccoord__kvlist_copy(&dst->notes, &src->notes) != CCOORD_OK ||
        dup_opt(&dst->resolver_class, src->resolver_class) < 0 ||
        dup_opt(&dst->resolver_class_where, src->resolver_class_where) < 0 ||
        dup_opt(&dst->plugin_dir, src->plugin_dir) < 0 ||
        dup_opt(&dst->task_group, src->task_group) < 0 ||
        ccoord__kvlist_copy(&dst->resolver_params, &src->resolver_params) != CCOORD_OK) {
        ccoord__settings_free(dst);
        return CCOORD_ENOMEM;
    }
    return CCOORD_OK;
}

static int settings_defaults(ccoord__settings *s)
{
    memset(s, 0, sizeof *s);
    s->heartbeat_interval_ms = 1000;
    s->heartbeat_max_retry = 3;
    s->port = 0;
    s->connect_timeout_s = 5;
    s->resolving_period_s = 2;
    s->resolving_frequency = 5;
    s->rebalance = 0;
    s->rebalance_batch = 10;
    if (dup_opt(&s->group_id, "default") < 0 || dup_opt(&s->driver, "sqlite3") < 0 ||
        dup_opt(&s->dbname, "clusterdb") < 0 || dup_opt(&s->dbdir, ".") < 0 ||
        dup_opt(&s->table_prefix, "ccoord_") < 0 || dup_opt(&s->resolver_class, "random") < 0 ||
        dup_opt(&s->plugin_dir, CCOORD_RESOLVERDIR) < 0 ||
        dup_opt(&s->task_group, "ESB_TASK") < 0) {
        ccoord__settings_free(s);
        return CCOORD_ENOMEM;
    }
    return CCOORD_OK;
}

/* ---- public API ------------------------------------------------------ */

int ccoord_config_new(ccoord_config **ret_config)
{
    ccoord_config *c;
    if (!ret_config)
        return CCOORD_EINVAL;
    c = ccoord__calloc(1, sizeof *c);
    if (!c)
        return CCOORD_ENOMEM;
    if (settings_defaults(&c->s) != CCOORD_OK) {
        ccoord__free_mem(c);
        return CCOORD_ENOMEM;
    }
    *ret_config = c;
    return CCOORD_OK;
}

void ccoord_config_free(ccoord_config *config)
{
    if (!config)
        return;
    ccoord__settings_free(&config->s);
    ccoord__free_mem(config->node_id_host);
    ccoord__free_mem(config->node_id_file);
    ccoord__kvlist_free(&config->host_set);
    ccoord__free_mem(config);
}

const char *ccoord_config_error(const ccoord_config *config)
{
    return config ? config->error : "";
}

int ccoord__config_parse_text(ccoord_config *config, const char *text, const char *name,
                              ccoord__config_parser parse)
{
    if (!config)
        return CCOORD_EINVAL;
    config->error[0] = '\0';
    if (!text) {
        ccoord__fmt(config->error, sizeof config->error, "no configuration text (NULL)");
        return CCOORD_EINVAL;
    }
    return parse(config, text, strlen(text), name ? name : "(string)");
}

int ccoord__config_parse_string(ccoord_config *config, const char *text, const char *name)
{
    return ccoord__config_parse_text(config, text, name, parse_buffer);
}

/* Reads a whole configuration file (at most 1 MiB) into *ret (NUL-
 * terminated) and *ret_len; errors into config->error. */
static int read_file(ccoord_config *config, const char *path, char **ret, size_t *ret_len)
{
    FILE *f;
    char *data;
    size_t n = 0;
    char eb[128];

    f = fopen(path, "re");
    if (!f) {
        int e = errno;
        ccoord__fmt(config->error, sizeof config->error, "%s: cannot open: %s", path,
                    errno_text(e, eb, sizeof eb));
        return CCOORD_ECONFIG;
    }
    data = ccoord__malloc(CONFIG_MAX_FILE + 1);
    if (!data) {
        fclose(f);
        ccoord__fmt(config->error, sizeof config->error, "%s: out of memory", path);
        return CCOORD_ENOMEM;
    }
    for (;;) {
        size_t r = fread(data + n, 1, CONFIG_MAX_FILE + 1 - n, f);
        n += r;
        if (r == 0 || n > CONFIG_MAX_FILE)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        ccoord__free_mem(data);
        ccoord__fmt(config->error, sizeof config->error, "%s: cannot read: %s", path,
                    errno_text(e, eb, sizeof eb));
        return CCOORD_ECONFIG;
    }
    fclose(f);
    if (n > CONFIG_MAX_FILE) {
        ccoord__free_mem(data);
        ccoord__fmt(config->error, sizeof config->error,
                    "%s: file too large; at most %d bytes", path, CONFIG_MAX_FILE);
        return CCOORD_ECONFIG;
    }
    data[n] = '\0';
    *ret = data;
    *ret_len = n;
    return CCOORD_OK;
}

int ccoord__config_load_file(ccoord_config *config, const char *path, const char *caller,
                             ccoord__config_parser parse)
{
    char *data;
    size_t n;
    int rc;

    if (!config)
        return CCOORD_EINVAL;
    config->error[0] = '\0';
    if (!path) {
        ccoord__fmt(config->error, sizeof config->error, "%s: path is NULL", caller);
        return CCOORD_EINVAL;
    }
    if ((rc = read_file(config, path, &data, &n)) != CCOORD_OK)
        return rc;
    rc = parse(config, data, n, path);
    explicit_bzero(data, n); /* may hold a password */
    ccoord__free_mem(data);
    return rc;
}

int ccoord_config_load(ccoord_config *config, const char *path)
{
    return ccoord__config_load_file(config, path, "ccoord_config_load", parse_buffer);
}

int ccoord_config_set(ccoord_config *config, const char *section, const char *key,
                      const char *value)
{
    cfg_state st;
    origin o = {"ccoord_config_set", 0, NULL, 0, NULL, NULL};
    int rc;

    if (!config)
        return CCOORD_EINVAL;
    config->error[0] = '\0';
    if (!section || !key || !value) {
        ccoord__fmt(config->error, sizeof config->error,
                    "ccoord_config_set: section, key and value must not be NULL");
        return CCOORD_EINVAL;
    }
    if (state_copy(&st, config) != CCOORD_OK) {
        ccoord__fmt(config->error, sizeof config->error, "ccoord_config_set: out of memory");
        return CCOORD_ENOMEM;
    }
    rc = apply(&st, &o, NULL, section, key, value, config->error, sizeof config->error);
    if (rc != CCOORD_OK) {
        state_free(&st);
        return rc;
    }
    state_commit(config, &st);
    return CCOORD_OK;
}

/* ---- node id and resolver aliases ------------------------------------ */

int ccoord__config_node_id(const ccoord_config *config, char **ret)
{
    const char *v;
    char uuid[37];
    char *d;

    if (!config || !ret)
        return CCOORD_EINVAL;
    v = config->node_id_host;
    if (!v) {
        const char *env = getenv("nodeId");
        if (env && *env) {
            const keydef *kd = find_key("cluster_config", "node_id");
            char why[256];
            if (kd->check(kd, env, why, sizeof why) < 0) {
                /* The error buffer is the one mutable part of a config
                 * that is otherwise read-only here; configs are always
                 * heap objects, so writing through the cast is defined. */
                char *err = ((ccoord_config *)config)->error;
                char val[SHOW_MAX * 4 + 8];
                ccoord__printable(val, sizeof val, env, SHOW_MAX);
                ccoord__fmt(err, sizeof config->error,
                            "environment variable nodeId = %s: %s", val, why);
                return CCOORD_ECONFIG;
            }
            v = env;
        }
    }
    if (!v)
        v = config->node_id_file;
    if (!v) {
        ccoord__uuid_v4(uuid);
        v = uuid;
    }
    d = ccoord__strdup(v);
    if (!d)
        return CCOORD_ENOMEM;
    *ret = d;
    return CCOORD_OK;
}

const char *ccoord__resolver_alias(const char *resolver_class)
{
    static const struct {
        const char *java, *name;
    } aliases[] = {
        {"ActivePassiveResolver", "random"},
        {"RoundRobinResolver", "roundrobin"},
        {"TaskNodeResolver", "tasknode"},
    };
    size_t i;
    if (!resolver_class || strncmp(resolver_class, JAVA_PREFIX, sizeof JAVA_PREFIX - 1) != 0)
        return resolver_class;
    for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(resolver_class + sizeof JAVA_PREFIX - 1, aliases[i].java) == 0)
            return aliases[i].name;
    return resolver_class;
}
