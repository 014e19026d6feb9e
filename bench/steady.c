/*
 * bench/steady.c: database statements per node at steady state, and
 * statements per ccoord_acquire_task() call.
 *
 *   steady --backend pgsql|sqlite3 --members M --tasks T --interval MS
 *          [--windows K] [--window-s S] [--acquires A]
 *
 * M nodes in this process; node 0 joins first and so leads (on PostgreSQL
 * it connects as the leader role, so the server's pg_stat_statements
 * counts leader and followers apart).  Every node registers all T tasks
 * before it joins.  Once every task is owned and the cluster has been
 * quiet for a while, K windows of S seconds are counted: by the server
 * (pg_stat_statements, calls summed per role) and by the library's own
 * counter (ccoord__test_statements) as a cross-check.  Then all
 * background threads are frozen (test hook) and A acquires are made on a
 * follower: the statements counted meanwhile, over A.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static int owned_count(ccoord_node *n, char ***names)
{
    char **v;
    size_t c;
    if (ccoord_owned_tasks(n, &v, &c) != CCOORD_OK)
        return 0;
    if (names)
        *names = v;
    else
        ccoord_free_list(v, c);
    return (int)c;
}

int main(int argc, char **argv)
{
    const char *backend = "pgsql";
    int members = 3, tasks = 1, windows = 5, i, w;
    long interval_ms = 1000, acquires = 1000000;
    double window_s = 4;
    char group[96], dbfile[96], set[256], **tnames;
    ccoord_node **n;
    bn_obs *obs;
    int server;
    double *fs, *ls, *fc, *lc;
    int64_t t_all;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            backend = argv[++i];
        else if (!strcmp(argv[i], "--members") && i + 1 < argc)
            members = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tasks") && i + 1 < argc)
            tasks = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
            interval_ms = atol(argv[++i]);
        else if (!strcmp(argv[i], "--windows") && i + 1 < argc)
            windows = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--window-s") && i + 1 < argc)
            window_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--acquires") && i + 1 < argc)
            acquires = atol(argv[++i]);
        else
            bn_die("usage: steady --backend B --members M --tasks T --interval MS "
                   "[--windows K] [--window-s S] [--acquires A]");
    }
    if (members < 2)
        bn_die("--members: at least 2 (one leader, followers)");
    snprintf(group, sizeof group, "steady-%d-%d-%d", members, tasks, (int)getpid());
    snprintf(dbfile, sizeof dbfile, "ccoord-bench-steady-%d.db", (int)getpid());
    bn_prepare_schema(backend, dbfile);
    obs = strcmp(backend, "pgsql") == 0 ? bn_obs_open(backend, dbfile) : NULL;
    server = obs && bn_obs_have_pgss(obs) && bn_have_lead_role();
    if (obs && !server)
        bn_log("pg_stat_statements or the leader role is missing: client-side counts only");

    n = calloc((size_t)members, sizeof *n);
    tnames = calloc((size_t)tasks, sizeof *tnames);
    for (i = 0; i < tasks; i++) {
        char b[32];
        snprintf(b, sizeof b, "task-%05d", i);
        tnames[i] = strdup(b);
    }
    t_all = bn_now_ns();
    for (i = 0; i < members; i++) {
        char id[32];
        int k;
        snprintf(id, sizeof id, "m%03d", i);
        n[i] = bn_node(backend, dbfile, group, id, interval_ms, i == 0 ? 1 : 0);
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
    /* every task owned, then quiet */
    {
        int64_t end = bn_now_ns() + 300000000000LL;
        int total = 0;
        while (bn_now_ns() < end) {
            total = 0;
            for (i = 0; i < members; i++)
                total += owned_count(n[i], NULL);
            if (total == tasks)
                break;
            bn_sleep_ms(100);
        }
        if (total != tasks)
            bn_die("only %d of %d tasks owned after 300 s", total, tasks);
        if (!ccoord_is_leader(n[0]))
            bn_die("node 0 lost the leadership during setup");
    }
    bn_log("steady %s: %d members, %d tasks: set up in %.1f s; settling", backend, members, tasks,
           (double)(bn_now_ns() - t_all) / 1e9);
    /* quiet: no follower in fast polling, a resolution period passed */
    bn_sleep_ms(3.0 * (double)interval_ms + 2500);

    fs = calloc((size_t)windows, sizeof *fs);
    ls = calloc((size_t)windows, sizeof *ls);
    fc = calloc((size_t)windows, sizeof *fc);
    lc = calloc((size_t)windows, sizeof *lc);
    for (w = 0; w < windows; w++) {
        long long f0 = 0, l0 = 0, f1 = 0, l1 = 0;
        unsigned long cf0 = 0, cl0, cf1 = 0, cl1;
        int64_t t0, t1;
        if (server)
            bn_obs_counts(obs, &f0, &l0);
        for (i = 1; i < members; i++)
            cf0 += ccoord__test_statements(n[i]);
        cl0 = ccoord__test_statements(n[0]);
        t0 = bn_now_ns();
        bn_sleep_ms(window_s * 1000);
        t1 = bn_now_ns();
        if (server)
            bn_obs_counts(obs, &f1, &l1);
        for (i = 1; i < members; i++)
            cf1 += ccoord__test_statements(n[i]);
        cl1 = ccoord__test_statements(n[0]);
        {
            double secs = (double)(t1 - t0) / 1e9;
            fs[w] = (double)(f1 - f0) / (members - 1) / secs;
            ls[w] = (double)(l1 - l0) / secs;
            fc[w] = (double)(cf1 - cf0) / (members - 1) / secs;
            lc[w] = (double)(cl1 - cl0) / secs;
        }
        bn_log("window %d: followers %.2f/node/s (server) %.2f (client); leader %.2f/s (server) "
               "%.2f (client)", w + 1, fs[w], fc[w], ls[w], lc[w]);
    }
    if (!ccoord_is_leader(n[0]))
        bn_die("node 0 lost the leadership during the measurement");

    snprintf(set, sizeof set, "%s, %ld ms heartbeat, %d members, %d task%s (each registered on "
             "every member), %d windows of %g s",
             backend, interval_ms, members, tasks, tasks == 1 ? "" : "s", windows, window_s);
    {
        bn_stats sfs = bn_stats_of(fs, (size_t)windows), sfc = bn_stats_of(fc, (size_t)windows);
        bn_stats sls = bn_stats_of(ls, (size_t)windows), slc = bn_stats_of(lc, (size_t)windows);
        double target = 2.0 * 1000.0 / (double)interval_ms;
        const char *bench = "3 statements per node, steady";
        if (server) {
            bn_row(bench, set, bn_fmt("per follower per s (pg_stat_statements; client %.2f)",
                                      sfc.median),
                   bn_fmt("%.2f", sfs.median), bn_spread(&sfs, "%.2f"), bn_fmt("<= %.1f", target),
                   sfs.median <= target + 1e-9 ? "ok" : "MISS");
            bn_row(bench, set, bn_fmt("leader per s (pg_stat_statements; client %.2f)", slc.median),
                   bn_fmt("%.2f", sls.median), bn_spread(&sls, "%.2f"),
                   "- (target is for followers)", "-");
        } else {
            bn_row(bench, set, "per follower per s (library counter)", bn_fmt("%.2f", sfc.median),
                   bn_spread(&sfc, "%.2f"), bn_fmt("<= %.1f", target),
                   sfc.median <= target + 1e-9 ? "ok" : "MISS");
            bn_row(bench, set, "leader per s (library counter)", bn_fmt("%.2f", slc.median),
                   bn_spread(&slc, "%.2f"), "- (target is for followers)", "-");
        }
    }

    /* statements per acquire: every background thread frozen */
    if (acquires > 0) {
        char **own = NULL;
        int cnt, best = 1;
        for (i = 1; i < members; i++) /* the node owning most: acquires that say yes */
            if (owned_count(n[i], NULL) > owned_count(n[best], NULL))
                best = i;
        if (owned_count(n[best], NULL) == 0)
            best = 0;
        cnt = owned_count(n[best], &own);
        long long f0 = 0, l0 = 0, f1 = 0, l1 = 0;
        unsigned long c0 = 0, c1 = 0;
        long k, ok = 0;
        for (i = 0; i < members; i++)
            ccoord__test_freeze(n[i], 1);
        bn_sleep_ms(100); /* a statement in flight ends */
        if (server)
            bn_obs_counts(obs, &f0, &l0);
        for (i = 0; i < members; i++)
            c0 += ccoord__test_statements(n[i]);
        for (k = 0; k < acquires; k++) {
            const char *t = cnt ? own[k % cnt] : tnames[k % tasks];
            uint64_t fence;
            ok += ccoord_acquire_task(n[best], t, &fence) == CCOORD_OK;
        }
        if (server)
            bn_obs_counts(obs, &f1, &l1);
        for (i = 0; i < members; i++)
            c1 += ccoord__test_statements(n[i]);
        for (i = 0; i < members; i++)
            ccoord__test_freeze(n[i], 0);
        if (own)
            ccoord_free_list(own, (size_t)cnt);
        {
            double per = server ? (double)((f1 - f0) + (l1 - l0)) / (double)acquires
                                : (double)(c1 - c0) / (double)acquires;
            bn_row("3 statements per acquire",
                   bn_fmt("%s, %d members, %d tasks, %ld acquires on %s (%ld granted), "
                          "background threads frozen",
                          backend, members, tasks, acquires, best ? "a follower" : "the leader", ok),
                   server ? bn_fmt("statements per acquire (pg_stat_statements; client %lu)",
                                   c1 - c0)
                          : "statements per acquire (library counter)",
                   bn_fmt("%.6f", per), "single run (exact count)", "0",
                   per == 0 ? "ok" : "MISS");
        }
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
    free(fs);
    free(ls);
    free(fc);
    free(lc);
    return 0;
}
