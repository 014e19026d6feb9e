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

int ccoord__sqlite_pragma(void *conn, const char *sql, char *err, size_t errlen);

int ccoord__sqlite_pragma(void *conn, const char *sql, char *err, size_t errlen)
{
    dbi_conn_t *c = conn;
    char *msg = NULL;
    sqlite3 *db = c ? (sqlite3 *)c->connection : NULL;
    if (!db) {
        ccoord__fmt(err, errlen, "%s: no sqlite3 handle", sql);
        return CCOORD_EDB;
    }
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ccoord__fmt(err, errlen, "%s: %s", sql, msg ? msg : "failed");
        sqlite3_free(msg);
        return CCOORD_EDB;
    }
    return CCOORD_OK;
}
