/*
 * bench/common.c: see common.h.
 */
#include "common.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h" /* ccoord__res_ll: typed getter that copes with every integer width */

int64_t bn_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bn_sleep_ms(double ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void bn_die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bench: error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    /* not exit(): the nodes' threads are still running, and the exit
     * handlers of the database client libraries under them crash (the
     * scale benchmark, dying with 600 nodes joined, got SIGSEGV) */
    fflush(NULL);
    _exit(1);
}

void bn_log(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

const char *bn_fmt(const char *fmt, ...)
{
    static __thread char ring[8][256];
    static __thread int k;
    char *b = ring[k++ & 7];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, 256, fmt, ap);
    va_end(ap);
    return b;
}

static const char *pg_conninfo(int role)
{
    const char *v = NULL;
    if (role == 1)
        v = getenv("CCOORD_BENCH_PGSQL_LEAD");
    else if (role == 2)
        v = getenv("CCOORD_BENCH_PGSQL_OBS");
    if (!v || !*v)
        v = getenv("CCOORD_BENCH_PGSQL");
    if (!v || !*v)
        v = getenv("CCOORD_TEST_PGSQL");
    if (!v || !*v)
        bn_die("no PostgreSQL: set CCOORD_BENCH_PGSQL (bench/run.sh does)");
    return v;
}

int bn_have_lead_role(void)
{
    const char *v = getenv("CCOORD_BENCH_PGSQL_LEAD");
    return v && *v;
}

/* Calls f(key, value, arg) for each "k=v" of a conninfo string. */
static void each_kv(const char *conninfo, void (*f)(const char *, const char *, void *), void *arg)
{
    char *copy = strdup(conninfo), *save = NULL, *tok;
    if (!copy)
        bn_die("out of memory");
    for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        f(tok, eq + 1, arg);
    }
    free(copy);
}

static void set_ds(const char *k, const char *v, void *arg)
{
    ccoord_config *c = arg;
    if (ccoord_config_set(c, "datasource", k, v) != CCOORD_OK)
        bn_die("datasource.%s: %s", k, ccoord_config_error(c));
}

static void quiet_log(ccoord_node *n, int level, const char *msg, void *ud)
{
    (void)n;
    (void)ud;
    if (level <= CCOORD_LOG_ERROR && getenv("CCOORD_BENCH_VERBOSE"))
        fprintf(stderr, "bench: library: %s\n", msg);
}

static const char *tmpdir(void)
{
    const char *t = getenv("CCOORD_BENCH_TMP");
    return t && *t ? t : "/tmp";
}

static void cset(ccoord_config *c, const char *sec, const char *key, const char *val)
{
    if (ccoord_config_set(c, sec, key, val) != CCOORD_OK)
        bn_die("%s.%s = %s: %s", sec, key, val, ccoord_config_error(c));
}

ccoord_node *bn_node(const char *backend, const char *sqlite_file, const char *group,
                     const char *id, long interval_ms, int role)
{
    ccoord_config *c;
    ccoord_node *n;
    char buf[64];
    if (ccoord_config_new(&c) != CCOORD_OK)
        bn_die("ccoord_config_new failed");
    if (strcmp(backend, "pgsql") == 0) {
        cset(c, "datasource", "driver", "pgsql");
        each_kv(pg_conninfo(role), set_ds, c);
    } else {
        cset(c, "datasource", "driver", "sqlite3");
        cset(c, "datasource", "dbdir", tmpdir());
        cset(c, "datasource", "dbname", sqlite_file);
    }
    cset(c, "cluster_config", "group_id", group);
    cset(c, "cluster_config", "node_id", id);
    snprintf(buf, sizeof buf, "%ld", interval_ms);
    cset(c, "cluster_config", "heartbeat_interval", buf);
    if (getenv("CCOORD_BENCH_CONNECT_TIMEOUT"))
        cset(c, "datasource", "connect_timeout", getenv("CCOORD_BENCH_CONNECT_TIMEOUT"));
    if (ccoord_node_new(c, &n) != CCOORD_OK)
        bn_die("ccoord_node_new(%s): %s", id, ccoord_config_error(c));
    ccoord_config_free(c);
    ccoord_on_log(n, quiet_log, NULL);
    ccoord_set_log_level(n, CCOORD_LOG_ERROR);
    return n;
}

/* ---- statistics ------------------------------------------------------ */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct_sorted(const double *v, size_t n, double p)
{
    double pos, frac;
    size_t i;
    if (n == 0)
        return NAN;
    pos = p / 100.0 * (double)(n - 1);
    i = (size_t)pos;
    frac = pos - (double)i;
    return i + 1 < n ? v[i] + frac * (v[i + 1] - v[i]) : v[n - 1];
}

bn_stats bn_stats_of(double *v, size_t n)
{
    bn_stats s;
    size_t i;
    double sum = 0;
    memset(&s, 0, sizeof s);
    s.n = n;
    if (n == 0) {
        s.min = s.p10 = s.median = s.p90 = s.max = s.mean = NAN;
        return s;
    }
    qsort(v, n, sizeof *v, cmp_d);
    for (i = 0; i < n; i++)
        sum += v[i];
    s.min = v[0];
    s.max = v[n - 1];
    s.p10 = pct_sorted(v, n, 10);
    s.median = pct_sorted(v, n, 50);
    s.p90 = pct_sorted(v, n, 90);
    s.mean = sum / (double)n;
    return s;
}

const char *bn_spread(const bn_stats *s, const char *fmt)
{
    static __thread char ring[4][160];
    static __thread int k;
    char *b = ring[k++ & 3], f[64];
    if (s->n >= 10) {
        snprintf(f, sizeof f, "p10-p90 %s-%s", fmt, fmt);
        snprintf(b, 160, f, s->p10, s->p90);
        snprintf(f, sizeof f, " (min-max %s-%s, n=%%zu)", fmt, fmt);
        snprintf(b + strlen(b), 160 - strlen(b), f, s->min, s->max, s->n);
    } else {
        snprintf(f, sizeof f, "min-max %s-%s (n=%%zu)", fmt, fmt);
        snprintf(b, 160, f, s->min, s->max, s->n);
    }
    return b;
}

void bn_row(const char *bench, const char *settings, const char *figure, const char *median,
            const char *spread, const char *target, const char *verdict)
{
    printf("ROW\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", bench, settings, figure, median, spread,
           target ? target : "-", verdict ? verdict : "-");
    fflush(stdout);
}

/* ---- observer connection ---------------------------------------------- */

struct bn_obs {
    dbi_inst inst;
    dbi_conn conn;
    char follower_role[128];
    char lead_role[128];
    int pg;
};

static void set_obs(const char *k, const char *v, void *arg)
{
    dbi_conn c = arg;
    if (strcmp(k, "port") == 0)
        dbi_conn_set_option_numeric(c, "port", atoi(v));
    else
        dbi_conn_set_option(c, k, v);
}

struct user_of {
    char *out;
    size_t len;
};

static void get_user(const char *k, const char *v, void *arg)
{
    struct user_of *u = arg;
    if (strcmp(k, "username") == 0)
        snprintf(u->out, u->len, "%s", v);
}

bn_obs *bn_obs_open(const char *backend, const char *sqlite_file)
{
    bn_obs *o;
    struct user_of u;
    int pg = strcmp(backend, "pgsql") == 0;
    o = calloc(1, sizeof *o);
    if (!o || dbi_initialize_r(NULL, &o->inst) < 0)
        bn_die("libdbi initialisation failed");
    o->conn = dbi_conn_new_r(pg ? "pgsql" : "sqlite3", o->inst);
    if (!o->conn)
        bn_die("libdbi has no %s driver", backend);
    if (pg) {
        each_kv(pg_conninfo(2), set_obs, o->conn);
    } else {
        dbi_conn_set_option(o->conn, "sqlite3_dbdir", tmpdir());
        dbi_conn_set_option(o->conn, "dbname", sqlite_file);
        dbi_conn_set_option_numeric(o->conn, "sqlite3_timeout", 10000);
    }
    if (dbi_conn_connect(o->conn) < 0) {
        const char *m = NULL;
        dbi_conn_error(o->conn, &m);
        bn_die("observer connection: %s", m ? m : "?");
    }
    o->pg = pg;
    if (pg) {
        u.len = sizeof o->follower_role;
        u.out = o->follower_role;
        each_kv(pg_conninfo(0), get_user, &u);
        u.out = o->lead_role;
        each_kv(pg_conninfo(1), get_user, &u);
    }
    return o;
}

void bn_obs_close(bn_obs *o)
{
    if (!o)
        return;
    dbi_conn_close(o->conn);
    dbi_shutdown_r(o->inst);
    free(o);
}

static dbi_result obs_query(bn_obs *o, const char *sql)
{
    dbi_result r = dbi_conn_query(o->conn, sql);
    if (!r) {
        const char *m = NULL;
        dbi_conn_error(o->conn, &m);
        bn_die("observer: %s: %s", sql, m ? m : "?");
    }
    return r;
}

long long bn_obs_ll(bn_obs *o, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    dbi_result r;
    long long v = 0;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    r = obs_query(o, sql);
    if (dbi_result_get_numfields(r) > 0 && dbi_result_next_row(r))
        v = ccoord__res_ll(r, 1);
    dbi_result_free(r);
    return v;
}

int bn_obs_have_pgss(bn_obs *o)
{
    dbi_result r;
    int ok;
    if (!o || !o->pg)
        return 0;
    r = dbi_conn_query(o->conn, "SELECT count(*) FROM pg_stat_statements");
    ok = r != NULL;
    if (r)
        dbi_result_free(r);
    return ok;
}

void bn_obs_counts(bn_obs *o, long long *followers, long long *leader)
{
    char sql[1024];
    dbi_result r;
    snprintf(sql, sizeof sql,
             "SELECT COALESCE(SUM(CASE WHEN r.rolname = '%s' THEN s.calls END), 0)::bigint, "
             "COALESCE(SUM(CASE WHEN r.rolname = '%s' THEN s.calls END), 0)::bigint "
             "FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
             "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()",
             o->follower_role, o->lead_role);
    r = obs_query(o, sql);
    *followers = *leader = 0;
    if (dbi_result_next_row(r)) {
        *followers = ccoord__res_ll(r, 1);
        *leader = strcmp(o->lead_role, o->follower_role) ? ccoord__res_ll(r, 2) : 0;
    }
    dbi_result_free(r);
}

double bn_pg_cpu_seconds(void)
{
    const char *p = getenv("CCOORD_BENCH_PG_PID");
    long pm, ticks = sysconf(_SC_CLK_TCK);
    DIR *d;
    struct dirent *e;
    double total = 0;
    if (!p || !*p)
        return -1;
    pm = atol(p);
    d = opendir("/proc");
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], line[1024], *q;
        FILE *f;
        long pid, ppid;
        unsigned long ut, st;
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(line, sizeof line, f)) {
            fclose(f);
            continue;
        }
        fclose(f);
        pid = atol(line);
        q = strrchr(line, ')');
        if (!q)
            continue;
        /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
         * majflt cmajflt utime stime */
        if (sscanf(q + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ppid, &ut,
                   &st) != 3)
            continue;
        if (pid == pm || ppid == pm)
            total += (double)(ut + st) / (double)ticks;
    }
    closedir(d);
    return total;
}

/* ---- statement timing -------------------------------------------------- */

#define HB_BUCKET_US 50
#define HB_BUCKETS 100000 /* 5 s */

static _Atomic unsigned long long hb_hist[HB_BUCKETS + 1];
static _Atomic unsigned long long client_stmts;

dbi_result __real_dbi_conn_query(dbi_conn c, const char *sql);
dbi_result __wrap_dbi_conn_query(dbi_conn c, const char *sql);

dbi_result __wrap_dbi_conn_query(dbi_conn c, const char *sql)
{
    atomic_fetch_add_explicit(&client_stmts, 1, memory_order_relaxed);
    /* the heartbeat: "UPDATE <p>members SET heartbeat ...", on PostgreSQL
     * inside "WITH hb AS (...) SELECT <the poll>" */
    if (sql && (strncmp(sql, "UPDATE ", 7) == 0 || strncmp(sql, "WITH hb AS (UPDATE ", 19) == 0) &&
        strstr(sql, "members SET heartbeat = heartbeat + 1")) {
        int64_t t0 = bn_now_ns();
        dbi_result r = __real_dbi_conn_query(c, sql);
        int64_t us = (bn_now_ns() - t0) / 1000;
        size_t b = (size_t)(us / HB_BUCKET_US);
        if (b > HB_BUCKETS)
            b = HB_BUCKETS;
        atomic_fetch_add_explicit(&hb_hist[b], 1, memory_order_relaxed);
        return r;
    }
    return __real_dbi_conn_query(c, sql);
}

void bn_hb_reset(void)
{
    size_t i;
    for (i = 0; i <= HB_BUCKETS; i++)
        atomic_store(&hb_hist[i], 0);
}

double bn_hb_percentile(double pct, unsigned long long *ret_n)
{
    unsigned long long total = 0, want, acc = 0;
    size_t i;
    for (i = 0; i <= HB_BUCKETS; i++)
        total += atomic_load(&hb_hist[i]);
    if (ret_n)
        *ret_n = total;
    if (!total)
        return NAN;
    want = (unsigned long long)ceil(pct / 100.0 * (double)total);
    if (want < 1)
        want = 1;
    for (i = 0; i <= HB_BUCKETS; i++) {
        acc += atomic_load(&hb_hist[i]);
        if (acc >= want)
            return (double)(i + 1) * HB_BUCKET_US / 1000.0; /* bucket's upper edge */
    }
    return (double)HB_BUCKETS * HB_BUCKET_US / 1000.0;
}

unsigned long long bn_client_statements(void)
{
    return atomic_load(&client_stmts);
}

void bn_prepare_schema(const char *backend, const char *sqlite_file)
{
    char id[64];
    ccoord_node *n;
    snprintf(id, sizeof id, "schema-%d", (int)getpid());
    n = bn_node(backend, sqlite_file, "bench-schema", id, 1000, 0);
    if (ccoord_join(n) != CCOORD_OK)
        bn_die("creating the schema: %s", ccoord_errmsg(n));
    ccoord_node_free(n); /* leaves */
}
