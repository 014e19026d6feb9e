/*
 * bench/common.h: helpers shared by the benchmark programs.
 *
 * Every program prints its results as lines
 *     ROW<TAB>benchmark<TAB>settings<TAB>figure<TAB>median<TAB>spread<TAB>target<TAB>verdict
 * which bench/run.sh gathers into the one table `make bench` prints.
 * Anything else a program prints goes to stderr (progress, raw samples).
 *
 * Environment read here:
 *   CCOORD_BENCH_PGSQL      "k=v ..." [datasource] keys of the bench PostgreSQL
 *                           (falls back to CCOORD_TEST_PGSQL)
 *   CCOORD_BENCH_PGSQL_LEAD the same for the role the leader node connects as
 *                           (server-side counts split leader / followers)
 *   CCOORD_BENCH_PGSQL_OBS  the same for the observer connection the benchmark
 *                           itself uses (reads pg_stat_statements; its own
 *                           statements are thus never counted as a node's)
 *   CCOORD_BENCH_TMP        directory for SQLite files (default /tmp)
 */
#ifndef CCOORD_BENCH_COMMON_H
#define CCOORD_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <dbi/dbi.h>
#include <clustercoord.h>

int64_t bn_now_ns(void); /* CLOCK_MONOTONIC */
void bn_sleep_ms(double ms);
void bn_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void bn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A node on backend ("pgsql" or "sqlite3"); role: 0 follower conninfo,
 * 1 leader conninfo (CCOORD_BENCH_PGSQL_LEAD, falls back to the plain one).
 * sqlite_file: the database file name for sqlite3 (in CCOORD_BENCH_TMP). */
ccoord_node *bn_node(const char *backend, const char *sqlite_file, const char *group,
                     const char *id, long interval_ms, int role);
/* Creates the tables as the follower role (joins and leaves a throwaway
 * group), so that the leader role, a member of it, can use them too. */
void bn_prepare_schema(const char *backend, const char *sqlite_file);
/* 1 when the leader role has its own conninfo. */
int bn_have_lead_role(void);

/* Statistics over n samples (sorted in place). */
typedef struct bn_stats {
    size_t n;
    double min, p10, median, p90, max, mean;
} bn_stats;
bn_stats bn_stats_of(double *v, size_t n);
/* "min..max" or "p10..p90 (min..max)" text with the given format. */
const char *bn_spread(const bn_stats *s, const char *fmt);

/* Prints one ROW line. */
void bn_row(const char *bench, const char *settings, const char *figure, const char *median,
            const char *spread, const char *target, const char *verdict);
const char *bn_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the observer connection (PostgreSQL: as the observer role; SQLite:
 * the same file) */
typedef struct bn_obs bn_obs;
/* Dies on failure. */
bn_obs *bn_obs_open(const char *backend, const char *sqlite_file);
void bn_obs_close(bn_obs *o);
/* Runs a statement; dies on error.  Returns the first column of the first
 * row as a long long (0 when no row). */
long long bn_obs_ll(bn_obs *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 when pg_stat_statements can be read. */
int bn_obs_have_pgss(bn_obs *o);
/* Statements counted by pg_stat_statements for the follower role and the
 * leader role (calls summed over the ccoord database). */
void bn_obs_counts(bn_obs *o, long long *followers, long long *leader);
/* Seconds of CPU used so far by the PostgreSQL server whose postmaster
 * pid is in $CCOORD_BENCH_PG_PID (all its children); -1 if unknown. */
double bn_pg_cpu_seconds(void);

/* ---- statement timing (linked with -Wl,--wrap=dbi_conn_query) */
/* Heartbeat statements (UPDATE <prefix>members SET heartbeat ...) timed
 * client-side: histogram with 50 us buckets up to 5 s. */
void bn_hb_reset(void);
/* Percentile (0..100) of the heartbeat round trips since the last reset,
 * in milliseconds; count through ret_n. */
double bn_hb_percentile(double pct, unsigned long long *ret_n);
/* Statements sent through libdbi by this process so far. */
unsigned long long bn_client_statements(void);

#endif
