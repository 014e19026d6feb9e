/*
 * lib/db.h: floor 3, the database layer over libdbi.  One ccoord__db is one
 * connection used by one thread at a time; a node has two (its background
 * thread's and the API callers', behind a mutex).  Each owns its dbi_inst.
 */
#ifndef CCOORD_DB_H
#define CCOORD_DB_H

#include <dbi/dbi.h>
#include <pthread.h>
#include <stdatomic.h>

#include "config.h"
#include "db_sqlite.h"
#include "internal.h"

enum { CCOORD__SQLITE = 1, CCOORD__PGSQL, CCOORD__MYSQL, CCOORD__GENERIC };

/* Schema version this library writes and understands. */
#define CCOORD__SCHEMA_VERSION 3

typedef struct ccoord__db {
    const ccoord__settings *s; /* borrowed from the node */
    int dialect;
    dbi_inst inst;
    dbi_conn conn;            /* NULL while disconnected */
    int64_t stmt_timeout_ns;  /* watchdog limit for one statement */
    int64_t next_connect_ns;  /* backoff: no connect attempt before this */
    int64_t backoff_ns;
    int in_tx;
    int connect_failed;       /* the last connection attempt failed */
    ccoord__turn *turn;       /* SQLite: the file's write turn */
    int has_turn;             /* held until COMMIT/ROLLBACK or the statement ends */
    _Atomic unsigned long connects;   /* connections made (ccoord_metrics) */
    _Atomic unsigned long statements; /* statements sent (read by tests and benchmarks
                                       * while the node runs) */
    /* Watchdog: guarded by wd_mu; the node's watchdog thread shuts the
     * socket down when a statement runs past its deadline. */
    pthread_mutex_t wd_mu;
    int64_t deadline_ns; /* 0: no statement running */
    int sock;            /* -1: none */
    int cut;             /* the watchdog cut the running statement */
    int closing;         /* ccoord__db_abort: no further statement or connect */
    int conflict;        /* the last failure: the server rolled the transaction
                          * back for a conflict (connection kept) */
    char err[768];       /* last error: "what: server message" */
} ccoord__db;

/* Prepares (no connection yet).  CCOORD_OK, CCOORD_EDB (libdbi missing
 * the driver) or CCOORD_ENOMEM. */
int ccoord__db_init(ccoord__db *db, const ccoord__settings *s, int64_t stmt_timeout_ns);
void ccoord__db_destroy(ccoord__db *db);
/* Connects if not connected.  Honors the reconnect backoff unless force.
 * CCOORD_OK or CCOORD_EDB (db->err set). */
int ccoord__db_connect(ccoord__db *db, int force);
/* Closes the connection (next use reconnects). */
void ccoord__db_disconnect(ccoord__db *db);
/* After a failed transaction: 1 when running it again at once may
 * succeed, because the server rolled it back for a conflict with a
 * concurrent one (MySQL/MariaDB error 1213: an InnoDB deadlock, or a
 * Galera certification conflict at commit) and *tries (0 before the
 * first retry) is below the limit; sleeps a short random time first.
 * The caller runs the whole transaction again. */
int ccoord__db_again(ccoord__db *db, int *tries);
/* From another thread: cuts the statement running on db now and makes
 * every further statement and connection attempt fail at once (the
 * thread that uses db is being stopped: a partitioned server would hold
 * it for a statement timeout per statement).  ccoord__db_reopen, once
 * that thread is gone, lets db be used again. */
void ccoord__db_abort(ccoord__db *db);
void ccoord__db_reopen(ccoord__db *db);
/* 1 when the last statement failed because it ran past its timeout (the
 * server, or the way to it, did not answer): retrying it would wait as
 * long again. */
int ccoord__db_timed_out(ccoord__db *db);
/* What the connection is, for the join line (never the password):
 * "sqlite3 database /abs/dir/file" or "driver://user@host:port/db, TLS"
 * (", not encrypted" when the server says so). */
void ccoord__db_describe(ccoord__db *db, char *buf, size_t len);
/* Called by the watchdog thread: breaks a statement past its deadline. */
void ccoord__db_watchdog(ccoord__db *db, int64_t now_ns);

/* Runs one statement.  On success *ret (if not NULL) holds the result, to
 * be freed with dbi_result_free; otherwise it is freed here.  On error the
 * connection is closed (a failed transaction is rolled back by the server
 * when the connection goes) and CCOORD_EDB returned with db->err set to
 * "what: message". */
int ccoord__db_exec(ccoord__db *db, const char *what, const char *sql, dbi_result *ret);
/* Runs a statement and returns the number of rows it changed. */
int ccoord__db_exec_count(ccoord__db *db, const char *what, const char *sql,
                          unsigned long long *ret_rows);
/* BEGIN (BEGIN IMMEDIATE on SQLite) / COMMIT / ROLLBACK. */
int ccoord__db_begin(ccoord__db *db);
int ccoord__db_commit(ccoord__db *db);
void ccoord__db_rollback(ccoord__db *db);

/* Appends s quoted for this connection's backend (with the quotes).
 * CCOORD_OK, CCOORD_EDB (not connected) or CCOORD_ENOMEM. */
int ccoord__db_quote(ccoord__db *db, ccoord__buf *b, const char *s);

/* Creates the tables if missing and checks the schema version, safely
 * when many nodes start at once on an empty database.  CCOORD_OK,
 * CCOORD_EDB, or CCOORD_ESCHEMA (newer schema). */
int ccoord__db_ensure_schema(ccoord__db *db);
/* The schema version the database records into *ret (0: none recorded);
 * CCOORD_EDB when the tables are missing. */
int ccoord__db_schema_version(ccoord__db *db, long *ret);

/* Pure SQL text of the schema (version CCOORD__SCHEMA_VERSION) for a
 * dialect and prefix.  Returns the statements one by one: i from 0 while
 * it returns 1. */
int ccoord__schema_sql(int dialect, const char *prefix, size_t i, ccoord__buf *out);
/* The dialect of a libdbi driver name. */
int ccoord__dialect_of(const char *driver);
/* " FOR UPDATE" where the backend has row locks, "" for SQLite. */
const char *ccoord__for_update(int dialect);
/* An INSERT that does nothing when the row's key exists, per dialect:
 * ccoord__db_insert_ignore writes "INSERT [OR IGNORE|IGNORE] INTO " and
 * table_and_cols, the caller the VALUES, ccoord__db_insert_ignore_end the
 * PostgreSQL " ON CONFLICT DO NOTHING". */
void ccoord__db_insert_ignore(const ccoord__db *db, ccoord__buf *b, const char *table_and_cols);
void ccoord__db_insert_ignore_end(const ccoord__db *db, ccoord__buf *b);

/* Result helpers (NULL-safe): a string column (NULL for SQL NULL, valid
 * until the row changes), an integer of any width (0 for NULL), NULL test. */
const char *ccoord__res_str(dbi_result r, unsigned idx);
long long ccoord__res_ll(dbi_result r, unsigned idx);
int ccoord__res_null(dbi_result r, unsigned idx);

#endif
