/*
 * lib/db_sqlite.c: statements libdbi's sqlite3 driver cannot run quietly.
 *
 * The driver prints "no tables in statement !" to stderr for any statement
 * that returns rows without naming a table, such as PRAGMA journal_mode.
 * A library must not write to the host's stderr, so these pragmas go to
 * SQLite directly through the handle libdbi's driver interface exposes.
 */
#include <dbi/dbi-dev.h>
#include <sqlite3.h>
#include <stdio.h>

#include "internal.h"

int ccoord__sqlite_pragma(void *conn, const char *sql, int64_t timeout_ns, char *err,
                          size_t errlen);

/* Runs sql; while SQLite answers BUSY or LOCKED without waiting (switching
 * to WAL and WAL recovery can do so: the busy handler is not called when
 * waiting could deadlock) it tries again every 10 ms until timeout_ns. */
int ccoord__sqlite_pragma(void *conn, const char *sql, int64_t timeout_ns, char *err,
                          size_t errlen)
{
    dbi_conn_t *c = conn;
    sqlite3 *db = c ? (sqlite3 *)c->connection : NULL;
    int64_t end = ccoord__now_ns() + timeout_ns;
    if (!db) {
        ccoord__fmt(err, errlen, "%s: no sqlite3 handle", sql);
        return CCOORD_EDB;
    }
    for (;;) {
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            return CCOORD_OK;
        if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) ||
            ccoord__now_ns() >= end) {
            ccoord__fmt(err, errlen, "%s: %s", sql, msg ? msg : "failed");
            sqlite3_free(msg);
            return CCOORD_EDB;
        }
        sqlite3_free(msg);
        ccoord__sleep_ns(10000000);
    }
}
