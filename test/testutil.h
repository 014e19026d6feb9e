/*
 * test/testutil.h: helpers shared by the tests (linked into unit_*, node_*
 * and prog_* programs).
 *
 * Database backends.  "sqlite3" always runs (a file in a fresh temporary
 * directory).  "pgsql" and "mysql" run when the environment names a
 * server (test/run-tests.sh sets these after starting throwaway servers):
 *   CCOORD_TEST_PGSQL="host=127.0.0.1 port=54329 username=u password=p dbname=d
 *                      ssl_mode=disable"
 *   CCOORD_TEST_MYSQL="host=127.0.0.1 port=33069 username=u password=p dbname=d"
 * (space-separated [datasource] keys; for the tests' own SQL, ssl_mode is
 * passed to libpq as sslmode).  CCOORD_TEST_PG_TLS_DIR names the test
 * server's throwaway CA and certificates (test/node_tls.c).  Without one, a test of that backend
 * is skipped, except under CI=true where a skipped database test fails.
 * CCOORD_TEST_BACKENDS=sqlite3,pgsql limits the backends.  Each
 * tu_ns_setup() picks a fresh table_prefix, so tests never see each
 * other's rows and the schema is created anew every time.
 */
#ifndef CCOORD_TESTUTIL_H
#define CCOORD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <clustercoord.h>

#define TU_MAX_BACKENDS 3

/* Names of the backends this run covers, in order; returns the count
 * (including ones that will be skipped). */
int tu_backend_names(const char **names, int max);

/* Prepares a namespace on backend (sqlite3, pgsql, mysql): returns 0, or
 * 1 when the backend is not configured (the caller calls cmocka's skip(),
 * or fails under CI=true, as test/cluster.h's tc_init does). */
typedef struct tu_ns {
    char backend[16];
    char prefix[64];  /* table_prefix, unique per call */
    char dir[256];    /* sqlite3: temporary directory ("" otherwise) */
    char dsn[512];    /* server backends: the env string */
} tu_ns;
int tu_ns_setup(tu_ns *ns, const char *backend);
/* Removes the temporary directory and, on servers, drops the tables. */
void tu_ns_teardown(tu_ns *ns);
/* Runs one SQL statement (printf format) on ns's database, outside the
 * library; 0 or -1 (the error on stderr).  tu_sql_value also copies the
 * first column of the first row to out ("" when there is no row). */
int tu_sql(const tu_ns *ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tu_sql_value(const tu_ns *ns, char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A config on ns for node_id (NULL: random) with the given heartbeat
 * interval in ms; plugin_dir is build/drivers (or $CCOORD_TEST_DRIVERDIR).
 * Aborts the test on failure. */
ccoord_config *tu_config(const tu_ns *ns, const char *node_id, long interval_ms);

/* Sets one [datasource] key list "k=v k=v" on config; 0 or -1. */
int tu_apply_dsn(ccoord_config *config, const char *dsn);

/* Monotonic milliseconds (CLOCK_BOOTTIME). */
int64_t tu_now_ms(void);
void tu_sleep_ms(long ms);

/* Waits up to timeout_ms for pred(arg) to return non-zero, polling every
 * 5 ms; returns the elapsed ms, or -1 on timeout. */
long tu_wait(int (*pred)(void *arg), void *arg, long timeout_ms);

/* A log sink that drops DEBUG lines and keeps the rest quiet unless
 * CCOORD_TEST_VERBOSE is set; for nodes in tests. */
void tu_quiet_log(ccoord_node *node, int level, const char *msg, void *user_data);

/* 1 when running under CI=true. */
int tu_in_ci(void);

#endif
