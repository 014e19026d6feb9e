/*
 * lib/db_sqlite.h: floor 2, what lib/db.c needs of SQLite beyond libdbi
 * (lib/db_sqlite.c): the write turn shared by this process's connections
 * to one file, and pragmas run on the SQLite handle itself.
 */
#ifndef CCOORD_DB_SQLITE_H
#define CCOORD_DB_SQLITE_H

#include <stddef.h>
#include <stdint.h>

/* SQLite's write turn, shared by this process's connections to one file
 * (lib/db_sqlite.c): first come, first served. */
typedef struct ccoord__turn ccoord__turn;
/* The turn of dir/name (one reference more); NULL when out of memory. */
ccoord__turn *ccoord__turn_get(const char *dir, const char *name);
void ccoord__turn_put(ccoord__turn *t);
/* 0 once this thread holds the turn; -1 after timeout_ns of waiting. */
int ccoord__turn_take(ccoord__turn *t, int64_t timeout_ns);
void ccoord__turn_give(ccoord__turn *t);
/* Runs sql straight on the SQLite handle of conn, retrying BUSY/LOCKED
 * every 10 ms until timeout_ns (lib/db_sqlite.c). */
int ccoord__sqlite_pragma(void *conn, const char *sql, int64_t timeout_ns, char *err,
                          size_t errlen);

#endif
