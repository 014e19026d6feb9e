/*
 * lib/db.c: connections, dialects, quoting, schema and statement watchdog.
 *
 * libdbi has no prepared statements, so every string that reaches SQL goes
 * through ccoord__db_quote (dbi_conn_quote_string_copy: the backend's own
 * escaping) and every identifier (the table prefix) is [a-z0-9_] only.
 */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* libdbi's instance set-up scans and dlopens every driver; the MySQL
 * client library's initialisation is not safe to run twice at once, so
 * instance creation and shutdown are serialised. */
static pthread_mutex_t inst_mu = PTHREAD_MUTEX_INITIALIZER;

int ccoord__dialect_of(const char *driver)
{
    if (strcmp(driver, "sqlite3") == 0)
        return CCOORD__SQLITE;
    if (strcmp(driver, "pgsql") == 0)
        return CCOORD__PGSQL;
    if (strcmp(driver, "mysql") == 0)
        return CCOORD__MYSQL;
    return CCOORD__GENERIC;
}

void ccoord__db_insert_ignore(const ccoord__db *db, ccoord__buf *b, const char *table_and_cols)
{
    if (db->dialect == CCOORD__SQLITE)
        ccoord__buf_addf(b, "INSERT OR IGNORE INTO %s", table_and_cols);
    else if (db->dialect == CCOORD__MYSQL)
        ccoord__buf_addf(b, "INSERT IGNORE INTO %s", table_and_cols);
    else
        ccoord__buf_addf(b, "INSERT INTO %s", table_and_cols);
}

void ccoord__db_insert_ignore_end(const ccoord__db *db, ccoord__buf *b)
{
    if (db->dialect == CCOORD__PGSQL)
        ccoord__buf_add(b, " ON CONFLICT DO NOTHING");
}

const char *ccoord__for_update(int dialect)
{
    return dialect == CCOORD__PGSQL || dialect == CCOORD__MYSQL ? " FOR UPDATE" : "";
}

int ccoord__db_init(ccoord__db *db, const ccoord__settings *s, int64_t stmt_timeout_ns)
{
    int rc;
    memset(db, 0, sizeof *db);
    db->s = s;
    db->dialect = ccoord__dialect_of(s->driver);
    db->stmt_timeout_ns = stmt_timeout_ns;
    db->sock = -1;
    pthread_mutex_init(&db->wd_mu, NULL);
    pthread_mutex_lock(&inst_mu);
    rc = dbi_initialize_r(NULL, &db->inst);
    pthread_mutex_unlock(&inst_mu);
    if (rc < 0 || !db->inst) {
        ccoord__fmt(db->err, sizeof db->err, "libdbi: cannot initialise (no drivers found)");
        pthread_mutex_destroy(&db->wd_mu);
        db->inst = NULL;
        return CCOORD_EDB;
    }
    if (db->dialect == CCOORD__SQLITE &&
        !(db->turn = ccoord__turn_get(s->dbdir ? s->dbdir : ".", s->dbname))) {
        ccoord__db_destroy(db);
        return CCOORD_ENOMEM;
    }
    return CCOORD_OK;
}

/* Takes the SQLite write turn for what (see lib/db_sqlite.c). */
static int take_turn(ccoord__db *db, const char *what)
{
    if (!db->turn || db->has_turn)
        return CCOORD_OK;
    if (ccoord__turn_take(db->turn, db->stmt_timeout_ns) != 0) {
        ccoord__fmt(db->err, sizeof db->err,
                    "%s: database is locked: other connections of this process to %s/%s "
                    "kept writing for %lld ms",
                    what, db->s->dbdir ? db->s->dbdir : ".", db->s->dbname,
                    (long long)(db->stmt_timeout_ns / 1000000));
        return CCOORD_EDB;
    }
    db->has_turn = 1;
    return CCOORD_OK;
}

static void give_turn(ccoord__db *db)
{
    if (db->has_turn) {
        db->has_turn = 0;
        ccoord__turn_give(db->turn);
    }
}

/* Whether sql only reads (a WAL reader never waits for a writer). */
static int reads_only(const char *sql)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    return strncasecmp(sql, "SELECT", 6) == 0;
}

void ccoord__db_disconnect(ccoord__db *db)
{
    dbi_conn c;
    pthread_mutex_lock(&db->wd_mu);
    c = db->conn;
    db->conn = NULL;
    db->sock = -1;
    db->deadline_ns = 0;
    pthread_mutex_unlock(&db->wd_mu);
    db->in_tx = 0;
    give_turn(db);
    if (c)
        dbi_conn_close(c);
}

void ccoord__db_destroy(ccoord__db *db)
{
    if (!db->s)
        return;
    ccoord__db_disconnect(db);
    ccoord__turn_put(db->turn);
    db->turn = NULL;
    if (db->inst) {
        pthread_mutex_lock(&inst_mu);
        dbi_shutdown_r(db->inst);
        pthread_mutex_unlock(&inst_mu);
    }
    pthread_mutex_destroy(&db->wd_mu);
    db->inst = NULL;
    db->s = NULL;
}

/* A server message on one line: every run of white space (libpq's
 * messages span lines, with tabs) becomes one space, none at the ends. */
static void one_line(char *out, size_t len, const char *msg)
{
    size_t k = 0;
    int space = 0;
    for (; *msg && k + 1 < len; msg++) {
        if (*msg == ' ' || *msg == '\n' || *msg == '\t' || *msg == '\r') {
            space = k > 0;
            continue;
        }
        if (space && k + 2 < len)
            out[k++] = ' ';
        space = 0;
        out[k++] = *msg;
    }
    out[k] = '\0';
}

/* Fills db->err; returns the driver's error number (MySQL: the server's
 * error code; 0 when there is none). */
static int conn_error(ccoord__db *db, dbi_conn c, const char *what)
{
    const char *msg = NULL;
    char clean[512];
    char line[512];
    int num = c ? dbi_conn_error(c, &msg) : 0;
    one_line(line, sizeof line, msg && *msg ? msg : "no detail from the driver");
    ccoord__printable(clean, sizeof clean, line, 400);
    ccoord__fmt(db->err, sizeof db->err, "%s: %s", what, clean);
    return num;
}

/* MySQL/MariaDB ER_LOCK_DEADLOCK: the server rolled the whole transaction
 * back (an InnoDB deadlock, or on Galera a certification conflict at
 * commit or a brute-force abort by a replicated write); the connection
 * is fine. */
#define MYSQL_ER_LOCK_DEADLOCK 1213

/* Retries of a transaction rolled back for a conflict.  A conflict needs
 * a concurrent writer of the same row; on Galera every structural
 * transaction writes the group row, and a retried transaction may lose
 * again to a fresh one from another member.  Measured with three members
 * each calling the task API in a tight loop (node_galera): about one
 * attempt in seven conflicts, and one call in 250 needs more than eight
 * tries, a few more than ten.  32 tries with the sleep below stay under
 * about half a second in all. */
#define TX_TRIES 32
#define TX_SLEEP_MAX_MS 16

int ccoord__db_again(ccoord__db *db, int *tries)
{
    unsigned span;
    if (!db->conflict || *tries >= TX_TRIES)
        return 0;
    ++*tries;
    /* spread the retries of the two sides of a conflict apart */
    span = (unsigned)(2 * *tries < TX_SLEEP_MAX_MS ? 2 * *tries : TX_SLEEP_MAX_MS);
    ccoord__sleep_ns((int64_t)(1 + ccoord__random_u64() % span) * 1000000);
    return 1;
}

static int set_opt(dbi_conn c, const char *k, const char *v)
{
    return v ? dbi_conn_set_option(c, k, v) : 0;
}

/* How long the server lets a session sit idle inside a transaction
 * before it ends the session (rolling back, releasing its row locks):
 * half an interval, at least 50 ms, and at least four round trips of
 * this connection (rtt_ns, the slowest statement of its set-up).  Every
 * transaction here runs its statements back to back, so only a stopped
 * or cut-off node gets there; meanwhile the others wait on its locks (a
 * leader's lock of the member rows holds up every heartbeat), and their
 * leases, renewed each interval, must outlast the wait.  A node far from
 * its database spends a round trip idle between two statements of any
 * transaction: under a limit shorter than that it could never commit one
 * (with 25 ms each way and a 100 ms interval every join failed). */
static long idle_tx_ms(const ccoord__db *db, int64_t rtt_ns)
{
    long ms = db->s->heartbeat_interval_ms / 2, trips = (long)(4 * rtt_ns / 1000000);
    if (ms < trips)
        ms = trips;
    return ms < 50 ? 50 : ms;
}

/* Runs sql (no result) and raises *slowest to how long it took. */
static int exec_timed(ccoord__db *db, const char *what, const char *sql, int64_t *slowest)
{
    int64_t t0 = ccoord__now_ns();
    int rc = ccoord__db_exec(db, what, sql, NULL);
    int64_t took = ccoord__now_ns() - t0;
    if (took > *slowest)
        *slowest = took;
    return rc;
}

/* 1 when the MySQL-protocol server is MariaDB (VERSION() says so). */
static int is_mariadb(ccoord__db *db)
{
    dbi_result r;
    int yes = 0;
    if (ccoord__db_exec(db, "read the server version", "SELECT VERSION()", &r))
        return 0;
    if (dbi_result_next_row(r)) {
        const char *v = dbi_result_get_string_idx(r, 1);
        yes = v && strstr(v, "MariaDB") != NULL;
    }
    dbi_result_free(r);
    return yes;
}

/* 1 when this MariaDB server is a Galera member (wsrep_on). */
static int wsrep_on(ccoord__db *db)
{
    dbi_result r;
    int yes = 0;
    if (ccoord__db_exec(db, "read wsrep_on", "SHOW VARIABLES LIKE 'wsrep_on'", &r))
        return -1;
    if (dbi_result_next_row(r)) {
        const char *v = dbi_result_get_string_idx(r, 2);
        yes = v && strcmp(v, "ON") == 0;
    }
    dbi_result_free(r);
    return yes;
}

/* Session settings after connect: encodings, statement timeouts, WAL. */
static int session_setup(ccoord__db *db)
{
    char sql[160];
    long ms = (long)(db->stmt_timeout_ns / 1000000);
    long secs = ms / 1000 > 0 ? ms / 1000 : 1;
    int64_t rtt = 0; /* the slowest set-up statement: a round trip at least */
    int galera;      /* MariaDB: the server is a Galera member (wsrep_on) */
    switch (db->dialect) {
    case CCOORD__SQLITE:
        /* WAL: readers never block the writer; several processes may share
         * the file.  Run directly, see db_sqlite.c. */
        if (ccoord__sqlite_pragma(db->conn, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                                  db->stmt_timeout_ns, db->err, sizeof db->err))
            return CCOORD_EDB;
        break;
    case CCOORD__PGSQL:
        ccoord__fmt(sql, sizeof sql, "SET statement_timeout = %ld", ms);
        /* libpq prints server notices to stderr; a library must not */
        if (exec_timed(db, "silence notices", "SET client_min_messages = WARNING", &rtt) ||
            exec_timed(db, "set client encoding", "SET client_encoding = 'UTF8'", &rtt) ||
            exec_timed(db, "set statement timeout", sql, &rtt))
            return CCOORD_EDB;
        ccoord__fmt(sql, sizeof sql, "SET lock_timeout = %ld", ms);
        if (exec_timed(db, "set lock timeout", sql, &rtt))
            return CCOORD_EDB;
        ccoord__fmt(sql, sizeof sql, "SET idle_in_transaction_session_timeout = %ld",
                    idle_tx_ms(db, rtt));
        if (ccoord__db_exec(db, "set idle-in-transaction timeout", sql, NULL))
            return CCOORD_EDB;
        break;
    case CCOORD__MYSQL:
        if (exec_timed(db, "set names", "SET NAMES utf8mb4 COLLATE utf8mb4_bin", &rtt))
            return CCOORD_EDB;
        ccoord__fmt(sql, sizeof sql, "SET SESSION innodb_lock_wait_timeout = %ld", secs);
        if (exec_timed(db, "set lock wait timeout", sql, &rtt))
            return CCOORD_EDB;
        if (ccoord__db_exec(db, "set transaction isolation",
                            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", NULL))
            return CCOORD_EDB;
        if (is_mariadb(db)) {
            /* whole seconds only (MySQL has no such limit) */
            ccoord__fmt(sql, sizeof sql, "SET SESSION idle_transaction_timeout = %ld",
                        (idle_tx_ms(db, rtt) + 999) / 1000);
            if (ccoord__db_exec(db, "set idle transaction timeout", sql, NULL))
                return CCOORD_EDB;
            /* Galera applies other members' commits asynchronously: without
             * a causality wait a read here may miss a heartbeat, eviction
             * or assignment that committed on another member before the
             * read began.  7 = reads, UPDATE/DELETE and INSERT each first
             * wait until this member has applied every write set ordered
             * before them (libclustercoord(7), Galera). */
            galera = wsrep_on(db);
            if (galera < 0)
                return CCOORD_EDB;
            if (galera &&
                ccoord__db_exec(db, "set wsrep_sync_wait", "SET SESSION wsrep_sync_wait = 7", NULL))
                return CCOORD_EDB;
        }
        break;
    default:
        break;
    }
    return CCOORD_OK;
}

/* After a failed connect: exponential backoff 50 ms .. 2 s. */
static void back_off(ccoord__db *db, int64_t now)
{
    db->backoff_ns = db->backoff_ns ? db->backoff_ns * 2 : 50000000;
    if (db->backoff_ns > 2000000000)
        db->backoff_ns = 2000000000;
    db->next_connect_ns = now + db->backoff_ns;
}

/* SQLite: the directory is checked here, not left to the driver:
 * libdbd-sqlite3 leaks the handle of a failed sqlite3_open, and its
 * message does not name the directory. */
static int check_sqlite_dir(ccoord__db *db)
{
    const ccoord__settings *s = db->s;
    const char *dir = s->dbdir ? s->dbdir : ".";
    struct stat st;
    char eb[128];
    const char *why = NULL;
    if (stat(dir, &st) != 0)
        why = strerror_r(errno, eb, sizeof eb);
    else if (!S_ISDIR(st.st_mode))
        why = "not a directory";
    else if (access(dir, W_OK | X_OK) != 0)
        why = "not writable by this process (SQLite needs to create its journal files there)";
    if (!why)
        return CCOORD_OK;
    ccoord__fmt(db->err, sizeof db->err, "connect to sqlite3 database %s/%s: directory %s: %s",
                dir, s->dbname, dir, why);
    return CCOORD_EDB;
}

/* The driver options of a connection, per dialect. */
static void set_options(ccoord__db *db, dbi_conn c)
{
    const ccoord__settings *s = db->s;
    char num[32];
    if (db->dialect == CCOORD__SQLITE) {
        set_opt(c, "sqlite3_dbdir", s->dbdir ? s->dbdir : ".");
        set_opt(c, "dbname", s->dbname);
        dbi_conn_set_option_numeric(c, "sqlite3_timeout", (int)(db->stmt_timeout_ns / 1000000));
        return;
    }
    set_opt(c, "host", s->host);
    if (s->port_list) {
        set_opt(c, "pgsql_port", s->port_list); /* config.c: lists are pgsql only */
    } else if (s->port > 0 && db->dialect == CCOORD__MYSQL) {
        dbi_conn_set_option_numeric(c, "port", (int)s->port);
    } else if (s->port > 0) {
        ccoord__fmt(num, sizeof num, "%ld", s->port);
        set_opt(c, "port", num);
    }
    set_opt(c, "username", s->username);
    set_opt(c, "password", s->password);
    set_opt(c, "dbname", s->dbname);
    dbi_conn_set_option_numeric(c, "timeout", (int)s->connect_timeout_s);
    if (db->dialect == CCOORD__PGSQL) {
        ccoord__fmt(num, sizeof num, "%ld", s->connect_timeout_s);
        set_opt(c, "pgsql_connect_timeout", num);
        set_opt(c, "pgsql_keepalives", "1");
        set_opt(c, "pgsql_keepalives_idle", "5");
        set_opt(c, "pgsql_keepalives_interval", "2");
        set_opt(c, "pgsql_keepalives_count", "3");
        /* several hosts: the primary, wherever it is now (libpq tries
         * each in turn) */
        if (s->host && strchr(s->host, ','))
            set_opt(c, "pgsql_target_session_attrs", "read-write");
        set_opt(c, "pgsql_sslmode", s->ssl_mode);
        set_opt(c, "pgsql_sslrootcert", s->ssl_ca);
        set_opt(c, "pgsql_sslcert", s->ssl_cert);
        set_opt(c, "pgsql_sslkey", s->ssl_key);
    }
    if (db->dialect == CCOORD__MYSQL)
        dbi_conn_set_option_numeric(c, "mysql_client_found_rows", 1);
}

/* Whether this PostgreSQL session is encrypted: 1, 0, or -1 when it
 * cannot tell (pg_stat_ssl is there since PostgreSQL 9.5). */
static int pg_tls(ccoord__db *db)
{
    dbi_result r = NULL;
    int tls = -1;
    if (ccoord__db_exec(db, "read the TLS state",
                        "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl "
                        "WHERE pid = pg_backend_pid()",
                        &r) == CCOORD_OK &&
        r && dbi_result_next_row(r))
        tls = (int)ccoord__res_ll(r, 1);
    if (r)
        dbi_result_free(r);
    return tls;
}

void ccoord__db_describe(ccoord__db *db, char *buf, size_t len)
{
    const ccoord__settings *s = db->s;
    char port[32] = "", dir[4096];
    const char *tls = "";
    if (db->dialect == CCOORD__SQLITE) {
        const char *d = s->dbdir ? s->dbdir : ".";
        if (!realpath(d, dir))
            ccoord__fmt(dir, sizeof dir, "%s", d);
        ccoord__fmt(buf, len, "sqlite3 database %s/%s", dir, s->dbname);
        return;
    }
    if (s->port_list)
        ccoord__fmt(port, sizeof port, ":%s", s->port_list);
    else if (s->port > 0)
        ccoord__fmt(port, sizeof port, ":%ld", s->port);
    if (db->dialect == CCOORD__PGSQL && db->conn) {
        int t = pg_tls(db);
        tls = t == 1 ? ", TLS" : t == 0 ? ", not encrypted" : "";
    } else if (db->dialect == CCOORD__MYSQL) {
        tls = ", not encrypted";
    }
    ccoord__fmt(buf, len, "%s://%s%s%s%s/%s%s", s->driver, s->username ? s->username : "",
                s->username ? "@" : "", s->host ? s->host : "localhost", port, s->dbname, tls);
}

/* "connect to ..." naming the database, for errors (never the password). */
static void connect_what(const ccoord__db *db, char *what, size_t len)
{
    const ccoord__settings *s = db->s;
    if (db->dialect == CCOORD__SQLITE)
        ccoord__fmt(what, len, "connect to sqlite3 database %s/%s", s->dbdir ? s->dbdir : ".",
                    s->dbname);
    else
        ccoord__fmt(what, len, "connect to %s database \"%s\" on %s:%ld as %s", s->driver,
                    s->dbname, s->host ? s->host : "(default host)", s->port,
                    s->username ? s->username : "(default user)");
}

/* 1 (db->err set) once ccoord__db_abort closed db. */
static int closing(ccoord__db *db)
{
    int c;
    pthread_mutex_lock(&db->wd_mu);
    c = db->closing;
    pthread_mutex_unlock(&db->wd_mu);
    if (c)
        ccoord__fmt(db->err, sizeof db->err, "the connection is closing (the node stops)");
    return c;
}

int ccoord__db_connect(ccoord__db *db, int force)
{
    dbi_conn c;
    char what[300];
    int64_t now = ccoord__now_ns();
    if (db->conn)
        return CCOORD_OK;
    if (!db->inst) {
        ccoord__fmt(db->err, sizeof db->err, "libdbi is not initialised");
        return CCOORD_EDB;
    }
    if (!force && now < db->next_connect_ns)
        return CCOORD_EDB; /* keep the last error; still backing off */
    if (closing(db))
        return CCOORD_EDB;
    db->connect_failed = 1;
    if (db->dialect == CCOORD__SQLITE && check_sqlite_dir(db) != CCOORD_OK) {
        back_off(db, now);
        return CCOORD_EDB;
    }
    if (!(c = dbi_conn_new_r(db->s->driver, db->inst))) {
        ccoord__fmt(db->err, sizeof db->err,
                    "connect: libdbi has no driver \"%s\" (install its libdbd package)",
                    db->s->driver);
        return CCOORD_EDB;
    }
    set_options(db, c);
    if (dbi_conn_connect(c) < 0) {
        connect_what(db, what, sizeof what);
        conn_error(db, c, what);
        dbi_conn_close(c);
        back_off(db, now);
        return CCOORD_EDB;
    }
    pthread_mutex_lock(&db->wd_mu);
    db->conn = c;
    db->sock = db->dialect == CCOORD__SQLITE ? -1 : dbi_conn_get_socket(c);
    pthread_mutex_unlock(&db->wd_mu);
    db->in_tx = 0;
    if (session_setup(db) != CCOORD_OK) {
        char keep[sizeof db->err];
        memcpy(keep, db->err, sizeof keep);
        ccoord__db_disconnect(db);
        memcpy(db->err, keep, sizeof keep);
        back_off(db, now);
        return CCOORD_EDB;
    }
    db->backoff_ns = 0;
    db->next_connect_ns = 0;
    db->connect_failed = 0;
    atomic_fetch_add_explicit(&db->connects, 1, memory_order_relaxed);
    return CCOORD_OK;
}

/* (wd_mu held) The blocked call returns an error; the owner thread then
 * closes the connection.  The fd stays open until then, so it cannot be
 * reused under us. */
static void cut_locked(ccoord__db *db)
{
    shutdown(db->sock, SHUT_RDWR);
    db->deadline_ns = 0;
    db->cut = 1;
}

void ccoord__db_watchdog(ccoord__db *db, int64_t now_ns)
{
    pthread_mutex_lock(&db->wd_mu);
    if (db->deadline_ns && now_ns > db->deadline_ns && db->sock >= 0)
        cut_locked(db);
    pthread_mutex_unlock(&db->wd_mu);
}

void ccoord__db_abort(ccoord__db *db)
{
    pthread_mutex_lock(&db->wd_mu);
    db->closing = 1;
    if (db->deadline_ns && db->sock >= 0)
        cut_locked(db);
    pthread_mutex_unlock(&db->wd_mu);
}

void ccoord__db_reopen(ccoord__db *db)
{
    pthread_mutex_lock(&db->wd_mu);
    db->closing = 0;
    pthread_mutex_unlock(&db->wd_mu);
}

int ccoord__db_timed_out(ccoord__db *db)
{
    int cut;
    pthread_mutex_lock(&db->wd_mu);
    cut = db->cut;
    pthread_mutex_unlock(&db->wd_mu);
    return cut;
}

int ccoord__db_exec(ccoord__db *db, const char *what, const char *sql, dbi_result *ret)
{
    dbi_result r;
    int own_turn = 0; /* a writing statement outside a transaction */
    int cut;
    db->conflict = 0;
    if (!db->conn) {
        int rc = ccoord__db_connect(db, 0);
        if (rc)
            return rc;
    }
    if (db->turn && !db->has_turn && !reads_only(sql)) {
        if (take_turn(db, what))
            return CCOORD_EDB;
        own_turn = 1;
    }
    pthread_mutex_lock(&db->wd_mu);
    if (db->closing) {
        pthread_mutex_unlock(&db->wd_mu);
        if (own_turn)
            give_turn(db);
        ccoord__fmt(db->err, sizeof db->err, "%s: not sent, the connection is closing (the node "
                    "stops)", what);
        return CCOORD_EDB;
    }
    db->deadline_ns = ccoord__now_ns() + db->stmt_timeout_ns;
    db->cut = 0;
    pthread_mutex_unlock(&db->wd_mu);
    r = dbi_conn_query(db->conn, sql);
    atomic_fetch_add_explicit(&db->statements, 1, memory_order_relaxed);
    pthread_mutex_lock(&db->wd_mu);
    db->deadline_ns = 0;
    cut = db->cut;
    pthread_mutex_unlock(&db->wd_mu);
    if (own_turn)
        give_turn(db);
    if (!r) {
        int num = conn_error(db, db->conn, what);
        db->conflict = db->dialect == CCOORD__MYSQL && num == MYSQL_ER_LOCK_DEADLOCK && !cut;
        if (db->conflict)
            return CCOORD_EDB; /* rolled back by the server; the connection stays */
        if (cut) {
            char keep[sizeof db->err];
            memcpy(keep, db->err, sizeof keep);
            ccoord__fmt(db->err, sizeof db->err, "%.600s (cut: no answer within %lld ms)", keep,
                        (long long)(db->stmt_timeout_ns / 1000000));
        }
        ccoord__db_disconnect(db);
        return CCOORD_EDB;
    }
    if (ret)
        *ret = r;
    else
        dbi_result_free(r);
    return CCOORD_OK;
}

int ccoord__db_exec_count(ccoord__db *db, const char *what, const char *sql,
                          unsigned long long *ret_rows)
{
    dbi_result r;
    int rc = ccoord__db_exec(db, what, sql, &r);
    if (rc)
        return rc;
    *ret_rows = dbi_result_get_numrows_affected(r);
    dbi_result_free(r);
    return CCOORD_OK;
}

int ccoord__db_begin(ccoord__db *db)
{
    const char *sql = db->dialect == CCOORD__SQLITE  ? "BEGIN IMMEDIATE"
                      : db->dialect == CCOORD__MYSQL ? "START TRANSACTION"
                                                     : "BEGIN";
    /* SQLite: the turn is held from BEGIN IMMEDIATE to COMMIT/ROLLBACK
     * (ccoord__db_exec connects; a failed connect gives the turn back) */
    int rc = take_turn(db, "begin transaction");
    if (rc != CCOORD_OK)
        return rc;
    rc = ccoord__db_exec(db, "begin transaction", sql, NULL);
    if (rc == CCOORD_OK)
        db->in_tx = 1;
    else
        give_turn(db);
    return rc;
}

int ccoord__db_commit(ccoord__db *db)
{
    int rc = ccoord__db_exec(db, "commit", "COMMIT", NULL);
    db->in_tx = 0;
    give_turn(db);
    return rc;
}

void ccoord__db_rollback(ccoord__db *db)
{
    if (db->conn && db->in_tx) {
        /* the failure that led here stays the one reported */
        char keep[sizeof db->err];
        int conflict = db->conflict;
        memcpy(keep, db->err, sizeof keep);
        if (ccoord__db_exec(db, "rollback", "ROLLBACK", NULL) != CCOORD_OK)
            ccoord__db_disconnect(db);
        memcpy(db->err, keep, sizeof keep);
        db->conflict = conflict;
    }
    db->in_tx = 0;
    give_turn(db);
}

int ccoord__db_quote(ccoord__db *db, ccoord__buf *b, const char *s)
{
    char *q = NULL;
    size_t n;
    if (!db->conn) {
        int rc = ccoord__db_connect(db, 0);
        if (rc)
            return rc;
    }
    n = dbi_conn_quote_string_copy(db->conn, s, &q);
    if (!n || !q) {
        free(q);
        ccoord__fmt(db->err, sizeof db->err, "quote a string: the driver refused it");
        return CCOORD_EDB;
    }
    ccoord__buf_addn(b, q, n);
    free(q);
    return b->oom ? CCOORD_ENOMEM : CCOORD_OK;
}

const char *ccoord__res_str(dbi_result r, unsigned idx)
{
    const char *s;
    if (dbi_result_field_is_null_idx(r, idx))
        return NULL;
    s = dbi_result_get_string_idx(r, idx);
    if (s && strcmp(s, "ERROR") == 0 && dbi_result_get_field_type_idx(r, idx) != DBI_TYPE_STRING)
        return NULL;
    return s;
}

long long ccoord__res_ll(dbi_result r, unsigned idx)
{
    if (dbi_result_field_is_null_idx(r, idx))
        return 0;
    return dbi_result_get_as_longlong_idx(r, idx);
}

int ccoord__res_null(dbi_result r, unsigned idx)
{
    return dbi_result_field_is_null_idx(r, idx) ? 1 : 0;
}

/* ---- schema ---------------------------------------------------------- */

/* Column types per dialect.  Keys are at most 190 characters so that a
 * utf8mb4 MySQL primary key over three of them fits InnoDB's limit; MySQL
 * keys use a binary collation so ids compare byte for byte. */
int ccoord__schema_sql(int dialect, const char *p, size_t i, ccoord__buf *o)
{
    const char *key = dialect == CCOORD__MYSQL
                          ? "VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                          : "VARCHAR(190)";
    const char *text = dialect == CCOORD__MYSQL
                           ? "VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                           : "VARCHAR(1024)";
    const char *tail = dialect == CCOORD__MYSQL ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : "";
    ccoord__buf_reset(o);
    switch (i) {
    case 0:
        ccoord__buf_addf(o,
                         "CREATE TABLE IF NOT EXISTS %smeta (meta_key VARCHAR(64) NOT NULL, "
                         "meta_value VARCHAR(255) NOT NULL, PRIMARY KEY (meta_key))%s",
                         p, tail);
        break;
    case 1:
        ccoord__buf_addf(o,
                         "CREATE TABLE IF NOT EXISTS %sgroups (group_id %s NOT NULL, "
                         "version BIGINT NOT NULL, removals BIGINT NOT NULL DEFAULT 0, "
                         "PRIMARY KEY (group_id))%s",
                         p, key, tail);
        break;
    case 2:
        ccoord__buf_addf(o,
                         "CREATE TABLE IF NOT EXISTS %smembers (group_id %s NOT NULL, "
                         "node_id %s NOT NULL, incarnation BIGINT NOT NULL, "
                         "heartbeat BIGINT NOT NULL, hostname %s NOT NULL, metadata %s NOT NULL, "
                         "joined_seq BIGINT NOT NULL, drained INT NOT NULL DEFAULT 0, "
                         "PRIMARY KEY (group_id, node_id)%s)%s",
                         p, key, key, text, text,
                         dialect == CCOORD__MYSQL ? ", INDEX (group_id, joined_seq)" : "", tail);
        break;
    case 3:
        ccoord__buf_addf(o,
                         "CREATE TABLE IF NOT EXISTS %sleader (group_id %s NOT NULL, "
                         "node_id %s NOT NULL, term BIGINT NOT NULL, heartbeat BIGINT NOT NULL, "
                         "PRIMARY KEY (group_id))%s",
                         p, key, key, tail);
        break;
    case 4:
        ccoord__buf_addf(o,
                         "CREATE TABLE IF NOT EXISTS %stasks (group_id %s NOT NULL, "
                         "name %s NOT NULL, owner %s NULL, epoch BIGINT NOT NULL, "
                         "state VARCHAR(16) NOT NULL, move_to %s NULL, last_slot BIGINT NULL, "
                         "fires BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (group_id, name)%s)%s",
                         p, key, key, key, key,
                         dialect == CCOORD__MYSQL ? ", INDEX (group_id, owner)" : "", tail);
        break;
    case 5:
        ccoord__buf_addf(o,
                         "CREATE TABLE IF NOT EXISTS %stask_nodes (group_id %s NOT NULL, "
                         "name %s NOT NULL, node_id %s NOT NULL, "
                         "PRIMARY KEY (group_id, name, node_id)%s)%s",
                         p, key, key, key,
                         dialect == CCOORD__MYSQL ? ", INDEX (group_id, node_id)" : "", tail);
        break;
    case 6:
        if (dialect == CCOORD__MYSQL)
            ccoord__buf_addf(o, "SELECT 1");
        else
            ccoord__buf_addf(o,
                             "CREATE INDEX IF NOT EXISTS %stasks_owner ON %stasks (group_id, owner)",
                             p, p);
        break;
    case 7:
        if (dialect == CCOORD__MYSQL)
            ccoord__buf_addf(o, "SELECT 1");
        else
            ccoord__buf_addf(o,
                             "CREATE INDEX IF NOT EXISTS %stask_nodes_node ON %stask_nodes "
                             "(group_id, node_id)",
                             p, p);
        break;
    case 8:
        if (dialect == CCOORD__MYSQL)
            ccoord__buf_addf(o, "SELECT 1");
        else
            ccoord__buf_addf(o,
                             "CREATE INDEX IF NOT EXISTS %smembers_seq ON %smembers "
                             "(group_id, joined_seq)",
                             p, p);
        break;
    default:
        return 0;
    }
    return 1;
}

/* 1 when MySQL's table p<table> has a column (column) or an index over
 * column (index), 0 when not, <0 on error.  MySQL has no ADD COLUMN IF
 * NOT EXISTS, and its DDL commits at once, so a migration cut short half
 * way is finished by looking first. */
/* Runs the SELECT COUNT(*) in b (freed here): 1 when above 0, 0 when
 * not, <0 on error. */
static int schema_count(ccoord__db *db, ccoord__buf *b)
{
    dbi_result r;
    int rc = b->oom ? CCOORD_ENOMEM : ccoord__db_exec(db, "read the schema", b->data, &r);
    int found = 0;
    ccoord__buf_free(b);
    if (rc)
        return rc;
    if (dbi_result_next_row(r))
        found = ccoord__res_ll(r, 1) > 0;
    dbi_result_free(r);
    return found;
}

static int mysql_has(ccoord__db *db, const char *table, const char *column, int index)
{
    ccoord__buf b;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT COUNT(*) FROM information_schema.%s WHERE table_schema = "
                         "DATABASE() AND table_name = '%s%s' AND column_name = '%s'",
                     index ? "statistics" : "columns", db->s->table_prefix, table, column);
    return schema_count(db, &b);
}

/* The last step of a migration from version from: from + 1 recorded,
 * unless another node's migration recorded it first (b is a scratch
 * buffer). */
static int stamp_version(ccoord__db *db, ccoord__buf *b, int from)
{
    char what[40];
    ccoord__fmt(what, sizeof what, "migrate schema %d to %d", from, from + 1);
    ccoord__buf_reset(b);
    ccoord__buf_addf(b, "UPDATE %smeta SET meta_value = '%d' WHERE meta_key = "
                        "'schema_version' AND meta_value = '%d'", db->s->table_prefix, from + 1,
                     from);
    return b->oom ? CCOORD_ENOMEM : ccoord__db_exec(db, what, b->data, NULL);
}

/* Schema 1 to 2 (under the schema lock, in the transaction where DDL has
 * one): the groups row counts member rows deleted (removals), so that a
 * follower reads only the rows that joined since its last read unless a
 * member left; members get an index on (group_id, joined_seq) for that
 * read. */
static int migrate_1_to_2(ccoord__db *db)
{
    const char *p = db->s->table_prefix;
    ccoord__buf b;
    int rc = CCOORD_OK, has = 0;
    ccoord__buf_init(&b);
    if (db->dialect == CCOORD__MYSQL && (has = mysql_has(db, "groups", "removals", 0)) < 0)
        rc = has;
    if (!rc && !has) {
        ccoord__buf_addf(&b, "ALTER TABLE %sgroups ADD COLUMN removals BIGINT NOT NULL DEFAULT 0",
                         p);
        rc = b.oom ? CCOORD_ENOMEM : ccoord__db_exec(db, "migrate schema 1 to 2", b.data, NULL);
    }
    if (!rc && db->dialect == CCOORD__MYSQL) {
        if ((has = mysql_has(db, "members", "joined_seq", 1)) < 0)
            rc = has;
        if (!rc && !has) {
            ccoord__buf_reset(&b);
            ccoord__buf_addf(&b, "ALTER TABLE %smembers ADD INDEX %smembers_seq (group_id, "
                                 "joined_seq)", p, p);
            rc = b.oom ? CCOORD_ENOMEM
                       : ccoord__db_exec(db, "migrate schema 1 to 2", b.data, NULL);
        }
    }
    if (!rc)
        rc = stamp_version(db, &b, 1);
    ccoord__buf_free(&b);
    return rc;
}

/* Schema 2 to 3 (under the schema lock): a member row says whether the
 * member is drained (ccoordctl drain: it gives its tasks up and gets no
 * new ones), a task row where it is being moved (ccoordctl move and
 * rebalancing: its owner gives it up, the leader places it there), the
 * last slot of its schedule that fired and how many fired
 * (ccoord_task_schedule: one fire per slot, cluster-wide). */
/* 1 when table p<table> has column, 0 when not, <0 on error: the
 * migration adds only what is missing (a table CREATE TABLE IF NOT EXISTS
 * just made has it already, and MySQL's DDL commits at once, so a
 * migration cut short is finished by looking first). */
static int has_column(ccoord__db *db, const char *table, const char *column)
{
    ccoord__buf b;
    if (db->dialect == CCOORD__MYSQL)
        return mysql_has(db, table, column, 0);
    ccoord__buf_init(&b);
    if (db->dialect == CCOORD__SQLITE)
        ccoord__buf_addf(&b, "SELECT COUNT(*) FROM pragma_table_info('%s%s') WHERE name = '%s'",
                         db->s->table_prefix, table, column);
    else
        ccoord__buf_addf(&b, "SELECT COUNT(*) FROM information_schema.columns WHERE "
                             "table_schema = current_schema() AND table_name = '%s%s' AND "
                             "column_name = '%s'", db->s->table_prefix, table, column);
    return schema_count(db, &b);
}

static int migrate_2_to_3(ccoord__db *db)
{
    static const struct {
        const char *table, *column, *type;
    } add[] = {{"members", "drained", "INT NOT NULL DEFAULT 0"},
               {"tasks", "move_to", "VARCHAR(190) NULL"},
               {"tasks", "last_slot", "BIGINT NULL"},
               {"tasks", "fires", "BIGINT NOT NULL DEFAULT 0"}};
    const char *p = db->s->table_prefix;
    ccoord__buf b;
    size_t i;
    int rc = CCOORD_OK, has = 0;
    ccoord__buf_init(&b);
    for (i = 0; !rc && i < sizeof add / sizeof add[0]; i++) {
        if ((has = has_column(db, add[i].table, add[i].column)) < 0)
            rc = has;
        if (rc || has)
            continue;
        ccoord__buf_reset(&b);
        ccoord__buf_addf(&b, "ALTER TABLE %s%s ADD COLUMN %s %s%s", p, add[i].table,
                         add[i].column, add[i].type,
                         db->dialect == CCOORD__MYSQL && add[i].type[0] == 'V'
                             ? " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" : "");
        rc = b.oom ? CCOORD_ENOMEM : ccoord__db_exec(db, "migrate schema 2 to 3", b.data, NULL);
    }
    if (!rc)
        rc = stamp_version(db, &b, 2);
    ccoord__buf_free(&b);
    return rc;
}

int ccoord__db_schema_version(ccoord__db *db, long *ret)
{
    char sql[200];
    dbi_result r;
    int rc;
    ccoord__fmt(sql, sizeof sql, "SELECT meta_value FROM %smeta WHERE meta_key = 'schema_version'",
                db->s->table_prefix);
    rc = ccoord__db_exec(db, "read schema version", sql, &r);
    if (rc)
        return rc;
    *ret = 0;
    if (dbi_result_next_row(r)) {
        const char *v = ccoord__res_str(r, 1);
        *ret = v ? strtol(v, NULL, 10) : 0;
    }
    dbi_result_free(r);
    return CCOORD_OK;
}

static int create_schema(ccoord__db *db)
{
    const char *p = db->s->table_prefix;
    ccoord__buf b;
    char sql[300];
    size_t i;
    int rc = CCOORD_OK, locked = 0;
    ccoord__buf_init(&b);
    if (db->dialect == CCOORD__PGSQL) {
        /* DDL is transactional; an advisory lock keyed by the prefix keeps
         * concurrent CREATE TABLE IF NOT EXISTS from colliding in pg_type. */
        rc = ccoord__db_begin(db);
        if (!rc) {
            ccoord__buf_add(&b, "SELECT pg_advisory_xact_lock(hashtext(");
            rc = ccoord__db_quote(db, &b, p);
            ccoord__buf_add(&b, "))");
            if (!rc)
                rc = b.oom ? CCOORD_ENOMEM : ccoord__db_exec(db, "lock schema", b.data, NULL);
        }
    } else if (db->dialect == CCOORD__MYSQL) {
        ccoord__fmt(sql, sizeof sql, "SELECT GET_LOCK('%sschema', %ld)", p,
                    db->s->connect_timeout_s * 2);
        rc = ccoord__db_exec(db, "lock schema", sql, NULL);
        locked = rc == CCOORD_OK;
    } else {
        rc = ccoord__db_begin(db);
    }
    for (i = 0; !rc && ccoord__schema_sql(db->dialect, p, i, &b); i++)
        rc = b.oom ? CCOORD_ENOMEM : ccoord__db_exec(db, "create schema", b.data, NULL);
    /* the tables of an older schema were there already: migrate them */
    if (!rc) {
        long v = 0;
        rc = ccoord__db_schema_version(db, &v);
        if (!rc && v == 1 && !(rc = migrate_1_to_2(db)))
            v = 2;
        if (!rc && v == 2)
            rc = migrate_2_to_3(db);
    }
    if (!rc) {
        if (db->dialect == CCOORD__SQLITE)
            ccoord__fmt(sql, sizeof sql,
                        "INSERT OR IGNORE INTO %smeta (meta_key, meta_value) VALUES "
                        "('schema_version', '%d')", p, CCOORD__SCHEMA_VERSION);
        else if (db->dialect == CCOORD__MYSQL)
            ccoord__fmt(sql, sizeof sql,
                        "INSERT IGNORE INTO %smeta (meta_key, meta_value) VALUES "
                        "('schema_version', '%d')", p, CCOORD__SCHEMA_VERSION);
        else
            ccoord__fmt(sql, sizeof sql,
                        "INSERT INTO %smeta (meta_key, meta_value) VALUES ('schema_version', "
                        "'%d') ON CONFLICT DO NOTHING", p, CCOORD__SCHEMA_VERSION);
        rc = ccoord__db_exec(db, "record schema version", sql, NULL);
    }
    if (db->dialect == CCOORD__MYSQL) {
        if (locked && db->conn) {
            ccoord__fmt(sql, sizeof sql, "SELECT RELEASE_LOCK('%sschema')", p);
            if (ccoord__db_exec(db, "unlock schema", sql, NULL) && !rc)
                rc = CCOORD_EDB;
        }
    } else if (db->in_tx) {
        if (rc)
            ccoord__db_rollback(db);
        else
            rc = ccoord__db_commit(db);
    }
    ccoord__buf_free(&b);
    return rc;
}

int ccoord__db_ensure_schema(ccoord__db *db)
{
    long v = 0;
    int rc, attempt;
    for (attempt = 0; attempt < 5; attempt++) {
        rc = ccoord__db_connect(db, 1);
        if (rc)
            return rc;
        rc = ccoord__db_schema_version(db, &v);
        if (rc == CCOORD_OK && v == CCOORD__SCHEMA_VERSION)
            return CCOORD_OK;
        if (rc == CCOORD_OK && v > CCOORD__SCHEMA_VERSION) {
            ccoord__fmt(db->err, sizeof db->err,
                        "database schema version %ld (tables %s*) is newer than this "
                        "library's %d; upgrade libclustercoord",
                        v, db->s->table_prefix, CCOORD__SCHEMA_VERSION);
            return CCOORD_ESCHEMA;
        }
        /* missing tables (error) or no version row yet: create */
        rc = create_schema(db);
        if (rc == CCOORD_ENOMEM)
            return rc;
        if (rc == CCOORD_OK) {
            rc = ccoord__db_schema_version(db, &v);
            if (rc == CCOORD_OK && v == CCOORD__SCHEMA_VERSION)
                return CCOORD_OK;
        }
        /* another node may have been creating the same tables: retry */
        ccoord__sleep_ns((int64_t)(20 + attempt * 50) * 1000000);
    }
    return rc ? rc : CCOORD_EDB;
}
