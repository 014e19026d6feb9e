/*
 * bench/resolve.c: one resolution pass of many unassigned tasks.
 *
 *   resolve --backend pgsql|sqlite3 [--members 100] [--tasks 10000]
 *           [--passes 5] [--interval 1000] [--resolver random]
 *
 * M nodes in this process, every one registering all T tasks before it
 * joins (T x M task_nodes rows: the batch the leader reads is as large as
 * it gets).  Node 0 leads, with background resolution held (test hook), so
 * the tasks stay unassigned until the timed ccoord_resolve_tasks() call.
 * Per pass: wall time of the call, statements it sent (the leader's API
 * connection, library counter; on PostgreSQL also the leader role's count
 * from pg_stat_statements, which includes the leader's background
 * heartbeat/poll statements meanwhile), and the time until every task is
 * acquirable on its new owner.  Between passes the benchmark's own
 * connection un-assigns every task (epoch + 1, version bump) and waits
 * until no node owns any.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static int total_owned(ccoord_node **n, int members)
{
    int i, t = 0;
    for (i = 0; i < members; i++) {
        char **v;
        size_t c;
        if (ccoord_owned_tasks(n[i], &v, &c) == CCOORD_OK) {
            t += (int)c;
            ccoord_free_list(v, c);
        }
    }
    return t;
}

int main(int argc, char **argv)
{
    const char *backend = "pgsql", *resolver = NULL;
    int members = 100, tasks = 10000, passes = 5, i, p;
    long interval_ms = 1000;
    char group[96], dbfile[96], set[300], **tnames;
    ccoord_node **n;
    bn_obs *obs;
    int server;
    double *wall, *stm, *srv, *until;
    int64_t t_setup;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            backend = argv[++i];
        else if (!strcmp(argv[i], "--members") && i + 1 < argc)
            members = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tasks") && i + 1 < argc)
            tasks = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--passes") && i + 1 < argc)
            passes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
            interval_ms = atol(argv[++i]);
        else if (!strcmp(argv[i], "--resolver") && i + 1 < argc)
            resolver = argv[++i];
        else
            bn_die("usage: resolve --backend B [--members M] [--tasks T] [--passes N] "
                   "[--interval MS]");
    }
    (void)resolver;
    snprintf(group, sizeof group, "resolve-%d-%d-%d", members, tasks, (int)getpid());
    snprintf(dbfile, sizeof dbfile, "ccoord-bench-resolve-%d.db", (int)getpid());
    bn_prepare_schema(backend, dbfile);
    obs = bn_obs_open(backend, dbfile);
    server = bn_obs_have_pgss(obs) && bn_have_lead_role();

    n = calloc((size_t)members, sizeof *n);
    tnames = calloc((size_t)tasks, sizeof *tnames);
    for (i = 0; i < tasks; i++) {
        char b[32];
        snprintf(b, sizeof b, "task-%05d", i);
        tnames[i] = strdup(b);
    }
    t_setup = bn_now_ns();
    for (i = 0; i < members; i++) {
        char id[32];
        int k;
        snprintf(id, sizeof id, "m%03d", i);
        n[i] = bn_node(backend, dbfile, group, id, interval_ms, i == 0 ? 1 : 0);
        if (i == 0)
            ccoord__test_hold_resolution(n[0], 1);
        for (k = 0; k < tasks; k++)
            if (ccoord_task_register(n[i], tnames[k]) != CCOORD_OK)
                bn_die("register: %s", ccoord_errmsg(n[i]));
        if (ccoord_join(n[i]) != CCOORD_OK)
            bn_die("join %s: %s", id, ccoord_errmsg(n[i]));
        if (i == 0) {
            int64_t end = bn_now_ns() + 30000000000LL;
            while (!ccoord_is_leader(n[0]) && bn_now_ns() < end)
                bn_sleep_ms(10);
            if (!ccoord_is_leader(n[0]))
                bn_die("the first node did not become leader");
        }
    }
    bn_log("resolve %s: %d members x %d tasks registered in %.1f s", backend, members, tasks,
           (double)(bn_now_ns() - t_setup) / 1e9);
    /* every member visible to the leader, joins settled */
    {
        int64_t end = bn_now_ns() + 120000000000LL;
        for (;;) {
            char **v;
            size_t c = 0;
            if (ccoord_members(n[0], &v, &c) == CCOORD_OK)
                ccoord_free_list(v, c);
            if ((int)c == members)
                break;
            if (bn_now_ns() > end)
                bn_die("the leader sees %zu of %d members", c, members);
            bn_sleep_ms(50);
        }
        bn_sleep_ms(2.0 * (double)interval_ms);
    }

    wall = calloc((size_t)passes, sizeof *wall);
    stm = calloc((size_t)passes, sizeof *stm);
    srv = calloc((size_t)passes, sizeof *srv);
    until = calloc((size_t)passes, sizeof *until);
    for (p = 0; p < passes; p++) {
        long long f0 = 0, l0 = 0, f1 = 0, l1 = 0;
        unsigned long s0, s1;
        int64_t t0, t1, t2, end;
        int rc;
        if (p > 0) {
            bn_obs_ll(obs, "UPDATE ccoord_tasks SET owner = NULL, epoch = epoch + 1 WHERE "
                           "group_id = '%s'", group);
            bn_obs_ll(obs, "UPDATE ccoord_groups SET version = version + 1 WHERE group_id = '%s'",
                      group);
            end = bn_now_ns() + 60000000000LL;
            while (total_owned(n, members) && bn_now_ns() < end)
                bn_sleep_ms(20);
            if (total_owned(n, members))
                bn_die("nodes still own tasks 60 s after they were un-assigned");
            bn_sleep_ms((double)interval_ms); /* fast polling after the change ends */
        }
        if (!ccoord_is_leader(n[0]))
            bn_die("node 0 is not the leader any more");
        if (server)
            bn_obs_counts(obs, &f0, &l0);
        s0 = n[0]->api_db.statements;
        t0 = bn_now_ns();
        rc = ccoord_resolve_tasks(n[0]);
        t1 = bn_now_ns();
        s1 = n[0]->api_db.statements;
        if (server)
            bn_obs_counts(obs, &f1, &l1);
        if (rc != CCOORD_OK)
            bn_die("pass %d: ccoord_resolve_tasks: %s: %s", p + 1, ccoord_strerror(rc),
                   ccoord_errmsg(n[0]));
        end = t0 + 120000000000LL;
        while (total_owned(n, members) != tasks && bn_now_ns() < end)
            bn_sleep_ms(2);
        t2 = bn_now_ns();
        if (total_owned(n, members) != tasks)
            bn_die("pass %d: %d of %d tasks owned after 120 s", p + 1, total_owned(n, members),
                   tasks);
        wall[p] = (double)(t1 - t0) / 1e6;
        stm[p] = (double)(s1 - s0);
        srv[p] = (double)(l1 - l0);
        until[p] = (double)(t2 - t0) / 1e6;
        bn_log("pass %d: %.0f ms, %.0f statements (server, leader role: %.0f); all owned after "
               "%.0f ms", p + 1, wall[p], stm[p], srv[p], until[p]);
    }
    snprintf(set, sizeof set, "%s, %d unassigned tasks x %d members (each task registered on every "
             "member), resolver random, %ld ms heartbeat, %d passes",
             backend, tasks, members, interval_ms, passes);
    {
        bn_stats sw = bn_stats_of(wall, (size_t)passes), ss = bn_stats_of(stm, (size_t)passes);
        bn_stats sv = bn_stats_of(srv, (size_t)passes), su = bn_stats_of(until, (size_t)passes);
        const char *b = "5 one resolution pass";
        bn_row(b, set, "ms wall time of ccoord_resolve_tasks()", bn_fmt("%.0f", sw.median),
               bn_spread(&sw, "%.0f"), "<= 1000", sw.median <= 1000 ? "ok" : "MISS");
        bn_row(b, set, "statements of the pass (library counter)", bn_fmt("%.0f", ss.median),
               bn_spread(&ss, "%.0f"), "-", "-");
        if (server)
            bn_row(b, set, "statements, leader role (pg_stat_statements; incl. its heartbeats)",
                   bn_fmt("%.0f", sv.median), bn_spread(&sv, "%.0f"), "-", "-");
        bn_row(b, set, "ms until every task is acquirable on its owner", bn_fmt("%.0f", su.median),
               bn_spread(&su, "%.0f"), "-", "-");
    }
    for (i = members - 1; i >= 0; i--)
        ccoord_node_free(n[i]);
    bn_obs_close(obs);
    if (strcmp(backend, "sqlite3") == 0) {
        char path[400];
        const char *t = getenv("CCOORD_BENCH_TMP");
        const char *suffix[] = {"", "-wal", "-shm"};
        for (i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s%s", t && *t ? t : "/tmp", dbfile, suffix[i]);
            unlink(path);
        }
    }
    for (i = 0; i < tasks; i++)
        free(tnames[i]);
    free(tnames);
    free(n);
    free(wall);
    free(stm);
    free(srv);
    free(until);
    return 0;
}
