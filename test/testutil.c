/*
 * test/testutil.c: helpers shared by the tests; see test/testutil.h.
 *
 * Environment read here:
 *   CCOORD_TEST_PGSQL, CCOORD_TEST_MYSQL   "k=v k=v" [datasource] keys of a server
 *   CCOORD_TEST_BACKENDS                   optional comma list limiting the backends
 *                                          (e.g. "sqlite3" or "pgsql,mysql")
 *   CCOORD_TEST_DRIVERDIR                  plugin_dir for tu_config (default build/drivers)
 *   CCOORD_TEST_VERBOSE                    tu_quiet_log prints; 2 or more adds DEBUG
 *   CI                                     "true": tu_in_ci() returns 1
 */
#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <dbi/dbi.h>

static const char *const all_backends[TU_MAX_BACKENDS] = {"sqlite3", "pgsql", "mysql"};

/* The library's tables, without the prefix (lib/db.c). */
static const char *const tables[] = {"meta", "groups", "members", "leader", "tasks", "task_nodes"};

static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

int tu_backend_names(const char **names, int max)
{
    const char *only = getenv("CCOORD_TEST_BACKENDS");
    int i, n = 0;
    for (i = 0; i < TU_MAX_BACKENDS && n < max; i++)
        if (!only || !*only || listed(only, all_backends[i]))
            names[n++] = all_backends[i];
    return n;
}

static const char *dsn_env(const char *backend)
{
    if (strcmp(backend, "pgsql") == 0)
        return "CCOORD_TEST_PGSQL";
    if (strcmp(backend, "mysql") == 0)
        return "CCOORD_TEST_MYSQL";
    return NULL;
}

static uint32_t random32(void)
{
    uint32_t r;
    struct timespec ts;
    if (getrandom(&r, sizeof r, 0) == (ssize_t)sizeof r)
        return r;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)ts.tv_sec;
}

int tu_ns_setup(tu_ns *ns, const char *backend)
{
    static unsigned counter;
    unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    const char *tmp;

    memset(ns, 0, sizeof *ns);
    if (!backend || strlen(backend) >= sizeof ns->backend)
        return -1;
    snprintf(ns->backend, sizeof ns->backend, "%s", backend);
    /* [a-z0-9_], first not a digit, at most 32; the longest table name
     * (task_nodes) keeps it far below the 63 bytes PostgreSQL allows. */
    snprintf(ns->prefix, sizeof ns->prefix, "t%u_%u_%06x_", (unsigned)getpid() % 10000000u,
             n % 100000u, (unsigned)(random32() & 0xffffffu));

    if (strcmp(backend, "sqlite3") == 0) {
        tmp = getenv("TMPDIR");
        if (!tmp || !*tmp)
            tmp = "/tmp";
        if (snprintf(ns->dir, sizeof ns->dir, "%s/ccoord-test-XXXXXX", tmp) >=
            (int)sizeof ns->dir)
            return -1;
        if (!mkdtemp(ns->dir)) {
            fprintf(stderr, "testutil: mkdtemp %s: %s\n", ns->dir, strerror(errno));
            ns->dir[0] = '\0';
            return -1;
        }
        return 0;
    }
    if (dsn_env(backend)) {
        const char *dsn = getenv(dsn_env(backend));
        if (!dsn || !*dsn)
            return 1;
        if (strlen(dsn) >= sizeof ns->dsn) {
            fprintf(stderr, "testutil: %s is too long\n", dsn_env(backend));
            return -1;
        }
        snprintf(ns->dsn, sizeof ns->dsn, "%s", dsn);
        return 0;
    }
    fprintf(stderr, "testutil: unknown backend %s\n", backend);
    return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        fprintf(stderr, "testutil: remove %s: %s\n", path, strerror(errno));
    return 0;
}

/* Applies "k=v k=v" as libdbi connection options. */
static void dbi_apply_dsn(dbi_conn conn, const char *dsn)
{
    char buf[sizeof ((tu_ns *)0)->dsn], *tok, *save = NULL;
    snprintf(buf, sizeof buf, "%s", dsn);
    for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (strcmp(tok, "port") == 0)
            dbi_conn_set_option_numeric(conn, "port", atoi(eq + 1));
        else if (strcmp(tok, "ssl_mode") == 0) /* the library's key, libpq's option */
            dbi_conn_set_option(conn, "pgsql_sslmode", eq + 1);
        else
            dbi_conn_set_option(conn, tok, eq + 1);
    }
}

/* Opens a libdbi connection to ns's database (*inst set); NULL with a
 * message on stderr. */
static dbi_conn ns_connect(const tu_ns *ns, dbi_inst *inst)
{
    dbi_conn conn;
    const char *msg = NULL;
    *inst = NULL;
    if (dbi_initialize_r(NULL, inst) < 0) {
        fprintf(stderr, "testutil: dbi_initialize_r failed\n");
        return NULL;
    }
    conn = dbi_conn_new_r(ns->backend, *inst);
    if (!conn) {
        fprintf(stderr, "testutil: no libdbi driver %s\n", ns->backend);
        dbi_shutdown_r(*inst);
        return NULL;
    }
    if (strcmp(ns->backend, "sqlite3") == 0) {
        dbi_conn_set_option(conn, "sqlite3_dbdir", ns->dir);
        dbi_conn_set_option(conn, "dbname", "cluster.db");
        /* the nodes write all the time: wait for their write turn instead
         * of failing at once with "database is locked" (seen under
         * valgrind, where a node's transaction takes long) */
        dbi_conn_set_option_numeric(conn, "sqlite3_timeout", 30000);
    } else {
        dbi_apply_dsn(conn, ns->dsn);
    }
    dbi_conn_set_option_numeric(conn, "timeout", 5);
    if (dbi_conn_connect(conn) < 0) {
        dbi_conn_error(conn, &msg);
        fprintf(stderr, "testutil: connect to %s: %s\n", ns->backend, msg ? msg : "?");
        dbi_conn_close(conn);
        dbi_shutdown_r(*inst);
        return NULL;
    }
    return conn;
}

static void ns_close(dbi_conn conn, dbi_inst inst)
{
    dbi_conn_close(conn);
    dbi_shutdown_r(inst);
}

/* Runs one statement on ns's database; with out, copies the first
 * column of the first row there ("" when no row). */
static int ns_sql(const tu_ns *ns, char *out, size_t outlen, const char *fmt, va_list ap)
{
    dbi_inst inst;
    dbi_conn conn;
    dbi_result res;
    const char *msg = NULL;
    char sql[2048];
    int rc = 0;
    vsnprintf(sql, sizeof sql, fmt, ap);
    if (out && outlen)
        out[0] = '\0';
    if (!(conn = ns_connect(ns, &inst)))
        return -1;
    res = dbi_conn_query(conn, sql);
    if (!res) {
        dbi_conn_error(conn, &msg);
        fprintf(stderr, "testutil: %s: %s: %s\n", ns->backend, sql, msg ? msg : "?");
        rc = -1;
    } else {
        if (out && outlen && dbi_result_next_row(res)) {
            const char *v = NULL;
            char num[32];
            if (dbi_result_get_field_type_idx(res, 1) == DBI_TYPE_INTEGER) {
                snprintf(num, sizeof num, "%lld", dbi_result_get_as_longlong_idx(res, 1));
                v = num;
            } else {
                v = dbi_result_get_string_idx(res, 1);
            }
            snprintf(out, outlen, "%s", v ? v : "");
        }
        dbi_result_free(res);
    }
    ns_close(conn, inst);
    return rc;
}

int tu_sql(const tu_ns *ns, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = ns_sql(ns, NULL, 0, fmt, ap);
    va_end(ap);
    return rc;
}

int tu_sql_value(const tu_ns *ns, char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = ns_sql(ns, out, outlen, fmt, ap);
    va_end(ap);
    return rc;
}

static void drop_tables(const tu_ns *ns)
{
    dbi_inst inst;
    dbi_conn conn;
    dbi_result res;
    const char *msg = NULL;
    char sql[256];
    size_t i;

    if (!(conn = ns_connect(ns, &inst))) {
        fprintf(stderr, "testutil: tables %s* left behind\n", ns->prefix);
        return;
    }
    /* Never hang on a lock a leftover connection holds; no NOTICE on
     * PostgreSQL for a table that is not there (libpq prints notices). */
    if (strcmp(ns->backend, "pgsql") == 0)
        res = dbi_conn_query(conn, "SET client_min_messages = warning; SET lock_timeout = '10s'");
    else if (strcmp(ns->backend, "mysql") == 0)
        res = dbi_conn_query(conn, "SET SESSION lock_wait_timeout = 10");
    else
        res = NULL;
    if (res)
        dbi_result_free(res);
    for (i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s%s", ns->prefix, tables[i]);
        res = dbi_conn_query(conn, sql);
        if (res) {
            dbi_result_free(res);
        } else {
            dbi_conn_error(conn, &msg);
            fprintf(stderr, "testutil: %s: %s: %s\n", ns->backend, sql, msg ? msg : "?");
        }
    }
    ns_close(conn, inst);
}

void tu_ns_teardown(tu_ns *ns)
{
    if (!ns)
        return;
    if (ns->dir[0]) {
        nftw(ns->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        ns->dir[0] = '\0';
    }
    if (ns->dsn[0] && dsn_env(ns->backend)) {
        drop_tables(ns);
        ns->dsn[0] = '\0';
    }
}

int tu_apply_dsn(ccoord_config *config, const char *dsn)
{
    char buf[1024], *tok, *save = NULL;
    if (!config || !dsn || strlen(dsn) >= sizeof buf)
        return -1;
    snprintf(buf, sizeof buf, "%s", dsn);
    for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok)
            return -1;
        *eq = '\0';
        if (ccoord_config_set(config, "datasource", tok, eq + 1) != CCOORD_OK)
            return -1;
    }
    return 0;
}

static void set_or_abort(ccoord_config *c, const char *section, const char *key, const char *v)
{
    if (ccoord_config_set(c, section, key, v) != CCOORD_OK) {
        fprintf(stderr, "testutil: config %s.%s = %s: %s\n", section, key, v,
                ccoord_config_error(c) ? ccoord_config_error(c) : "?");
        abort();
    }
}

ccoord_config *tu_config(const tu_ns *ns, const char *node_id, long interval_ms)
{
    ccoord_config *c = NULL;
    const char *plugins = getenv("CCOORD_TEST_DRIVERDIR");
    char num[32];
    int rc = ccoord_config_new(&c);

    if (rc != CCOORD_OK || !c) {
        fprintf(stderr, "testutil: ccoord_config_new: %s\n", ccoord_strerror(rc));
        abort();
    }
    set_or_abort(c, "datasource", "driver", ns->backend);
    if (strcmp(ns->backend, "sqlite3") == 0) {
        set_or_abort(c, "datasource", "dbdir", ns->dir);
        set_or_abort(c, "datasource", "dbname", "cluster.db");
    } else if (tu_apply_dsn(c, ns->dsn) != 0) {
        fprintf(stderr, "testutil: bad %s datasource \"%s\": %s\n", ns->backend, ns->dsn,
                ccoord_config_error(c) ? ccoord_config_error(c) : "malformed (want k=v k=v)");
        abort();
    }
    set_or_abort(c, "datasource", "table_prefix", ns->prefix);
    snprintf(num, sizeof num, "%ld", interval_ms);
    set_or_abort(c, "cluster_config", "heartbeat_interval", num);
    if (node_id)
        set_or_abort(c, "cluster_config", "node_id", node_id);
    set_or_abort(c, "task_handling", "plugin_dir", plugins && *plugins ? plugins : "build/drivers");
    {
        /* on the slower clock of CCOORD_TEST_TIME_SCALE (test/cluster.h)
         * the connect timeout (default 5 s) stretches too: under valgrind
         * 20 simultaneous password handshakes take longer than 5 s */
        const char *sc = getenv("CCOORD_TEST_TIME_SCALE");
        long scale = sc ? atol(sc) : 1;
        if (scale > 1 && scale <= 50) {
            snprintf(num, sizeof num, "%ld", 5 * scale);
            set_or_abort(c, "datasource", "connect_timeout", num);
        }
    }
    return c;
}

int64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tu_sleep_ms(long ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

long tu_wait(int (*pred)(void *arg), void *arg, long timeout_ms)
{
    int64_t t0 = tu_now_ms(), now;
    for (;;) {
        if (pred(arg))
            return (long)(tu_now_ms() - t0);
        now = tu_now_ms();
        if (now - t0 >= timeout_ms)
            return -1;
        tu_sleep_ms(5);
    }
}

void tu_quiet_log(ccoord_node *node, int level, const char *msg, void *user_data)
{
    const char *v = getenv("CCOORD_TEST_VERBOSE");
    const char *id = node ? ccoord_node_id(node) : NULL;
    int verbosity;
    (void)user_data;
    if (!v || !*v)
        return;
    verbosity = atoi(v);
    if (verbosity == 0 && strcmp(v, "0") == 0)
        return;
    if (level >= CCOORD_LOG_DEBUG && verbosity < 2)
        return;
    {
        static int64_t t0;
        int64_t now = tu_now_ms();
        if (!t0)
            t0 = now;
        fprintf(stderr, "[%7lld ms] [%s] %s\n", (long long)(now - t0), id ? id : "?",
                msg ? msg : "");
    }
}

int tu_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}
