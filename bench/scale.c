/*
 * bench/scale.c: many members on one PostgreSQL.
 *
 *   scale --members M [--hold 300] [--interval 1000] [--probe]
 *
 * M nodes in this one process (two connections and two threads each);
 * node 0 joins first and leads.  The others join from 8 threads.  Once
 * the leader sees all M members and a few intervals have passed, the
 * hold starts: for --hold seconds nothing is done but heartbeating, and
 * the benchmark counts member-removed and self-evicted events (every
 * node is alive, so each one is a false eviction), times every heartbeat
 * statement client-side (round trip, through a wrapper around libdbi's
 * dbi_conn_query), reads the server's CPU time (/proc, the postmaster
 * and its children) and the statements pg_stat_statements counted.
 * The last ROW is the verdict: no false eviction during the hold.
 */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static ccoord_node **n;
static int members = 100;
static long interval_ms = 1000;
static char group[96];
static _Atomic int next_join = 1;
static int join_end; /* joiners stop before this index */
static _Atomic int join_failed;
static _Atomic unsigned long removed, self_evicted;

static void member_cb(ccoord_node *node, int event, const char *id, void *ud)
{
    (void)node;
    (void)id;
    (void)ud;
    if (event == CCOORD_MEMBER_REMOVED)
        atomic_fetch_add(&removed, 1);
    else if (event == CCOORD_MEMBER_SELF_EVICTED)
        atomic_fetch_add(&self_evicted, 1);
}

static void *joiner(void *arg)
{
    (void)arg;
    for (;;) {
        int i = atomic_fetch_add(&next_join, 1);
        if (i >= join_end)
            break;
        if (ccoord_join(n[i]) != CCOORD_OK) {
            bn_log("join m%04d: %s", i, ccoord_errmsg(n[i]));
            atomic_fetch_add(&join_failed, 1);
        }
    }
    return NULL;
}

static int leader_sees(void)
{
    char **v;
    size_t c = 0;
    if (ccoord_members(n[0], &v, &c) == CCOORD_OK)
        ccoord_free_list(v, c);
    return (int)c;
}

int main(int argc, char **argv)
{
    int hold = 300, probe = 0, i, nthreads = 8, batch = 50;
    pthread_t th[8];
    bn_obs *obs;
    int server;
    struct rlimit rl;
    int64_t t0, t_ramp;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--members") && i + 1 < argc)
            members = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
            hold = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
            interval_ms = atol(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--probe"))
            probe = 1;
        else
            bn_die("usage: scale --members M [--hold S] [--interval MS] [--batch N] [--probe]");
    }
    if (members < 2)
        bn_die("--members: at least 2");
    /* two sockets per node, and some */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)(members * 3 + 64)) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)(members * 2 + 64))
            bn_die("open file limit %lu is too low for %d members", (unsigned long)rl.rlim_cur,
                   members);
    }
    snprintf(group, sizeof group, "scale-%d-%d", members, (int)getpid());
    setenv("CCOORD_BENCH_CONNECT_TIMEOUT", "30", 0); /* connects queue while joins settle */
    bn_prepare_schema("pgsql", NULL);
    obs = bn_obs_open("pgsql", NULL);
    server = bn_obs_have_pgss(obs) && bn_have_lead_role();

    n = calloc((size_t)members, sizeof *n);
    for (i = 0; i < members; i++) {
        char id[32];
        snprintf(id, sizeof id, "m%04d", i);
        n[i] = bn_node("pgsql", NULL, group, id, interval_ms, i == 0 ? 1 : 0);
        ccoord_on_member_change(n[i], member_cb, NULL);
        if (ccoord_task_register(n[i], "t") != CCOORD_OK)
            bn_die("register: %s", ccoord_errmsg(n[i]));
    }
    t0 = bn_now_ns();
    if (ccoord_join(n[0]) != CCOORD_OK)
        bn_die("join m0000: %s", ccoord_errmsg(n[0]));
    {
        int64_t end = bn_now_ns() + 30000000000LL;
        while (!ccoord_is_leader(n[0]) && bn_now_ns() < end)
            bn_sleep_ms(10);
        if (!ccoord_is_leader(n[0]))
            bn_die("the first node did not become leader");
    }
    /* Ramp in batches: every join still costs every node a read of the
     * new member row at its next poll (and two connects and the join's
     * statements), so joining all at once would starve the 2 cores this
     * process shares with the server; between batches the cluster
     * settles. */
    if (nthreads > members - 1)
        nthreads = members - 1;
    if (batch < 1)
        batch = 1;
    while (atomic_load(&next_join) < members) {
        int64_t end;
        join_end = atomic_load(&next_join) + batch;
        if (join_end > members)
            join_end = members;
        for (i = 0; i < nthreads; i++)
            pthread_create(&th[i], NULL, joiner, NULL);
        for (i = 0; i < nthreads; i++)
            pthread_join(th[i], NULL);
        atomic_store(&next_join, join_end);
        if (atomic_load(&join_failed))
            bn_die("%d node(s) failed to join (%d joined so far)", atomic_load(&join_failed),
                   join_end);
        end = bn_now_ns() + 600000000000LL;
        while (leader_sees() != join_end && bn_now_ns() < end)
            bn_sleep_ms(100);
        if (leader_sees() != join_end)
            bn_die("the leader sees %d of %d members 600 s after the joins", leader_sees(),
                   join_end);
        bn_log("scale: %d joined, %.1f s", join_end, (double)(bn_now_ns() - t0) / 1e9);
        if (join_end < members)
            bn_sleep_ms(2.0 * (double)interval_ms);
    }
    t_ramp = bn_now_ns();
    bn_log("scale: %d members joined and seen by the leader in %.1f s (ramp: %lu removed, %lu "
           "self-evicted events)", members, (double)(t_ramp - t0) / 1e9, atomic_load(&removed),
           atomic_load(&self_evicted));
    bn_sleep_ms(4.0 * (double)interval_ms); /* every follower out of fast polling */

    {
        unsigned long r0 = atomic_load(&removed), e0 = atomic_load(&self_evicted);
        unsigned long r1, e1;
        long long f0 = 0, l0 = 0, f1 = 0, l1 = 0;
        double cpu0, cpu1, secs;
        int64_t h0, h1, next_report;
        unsigned long long hbn;
        double p50, p90, p99, pmax;
        int min_seen = members;
        char set[256];
        const char *b = "6 scale";
        bn_hb_reset();
        if (server)
            bn_obs_counts(obs, &f0, &l0);
        cpu0 = bn_pg_cpu_seconds();
        h0 = bn_now_ns();
        next_report = h0 + 30000000000LL;
        while (bn_now_ns() - h0 < (int64_t)hold * 1000000000LL) {
            int s;
            bn_sleep_ms(500);
            s = leader_sees();
            if (s < min_seen)
                min_seen = s;
            if (bn_now_ns() >= next_report) {
                bn_log("scale %d: %.0f s held; removed %lu, self-evicted %lu; hb p99 %.1f ms",
                       members, (double)(bn_now_ns() - h0) / 1e9, atomic_load(&removed) - r0,
                       atomic_load(&self_evicted) - e0, bn_hb_percentile(99, NULL));
                next_report += 30000000000LL;
            }
        }
        h1 = bn_now_ns();
        cpu1 = bn_pg_cpu_seconds();
        if (server)
            bn_obs_counts(obs, &f1, &l1);
        r1 = atomic_load(&removed);
        e1 = atomic_load(&self_evicted);
        secs = (double)(h1 - h0) / 1e9;
        p50 = bn_hb_percentile(50, &hbn);
        p90 = bn_hb_percentile(90, NULL);
        p99 = bn_hb_percentile(99, NULL);
        pmax = bn_hb_percentile(100, NULL);
        snprintf(set, sizeof set, "pgsql, %ld ms heartbeat, %d members in one process (2 "
                 "connections each), %s hold of %d s",
                 interval_ms, members, probe ? "probe" : "full", hold);
        bn_row(b, set, "heartbeat round trip ms, p50 (client side, every heartbeat)",
               bn_fmt("%.2f", p50), bn_fmt("p90 %.2f, p99 %.2f, max %.2f (n=%llu)", p90, p99, pmax, hbn),
               "-", "-");
        bn_row(b, set, "heartbeats per member per s", bn_fmt("%.2f", (double)hbn / members / secs),
               "mean over the hold", bn_fmt("%.2f", 1000.0 / (double)interval_ms), "-");
        if (cpu0 >= 0 && cpu1 >= 0)
            bn_row(b, set, "PostgreSQL CPU, cores busy (of this machine's)",
                   bn_fmt("%.2f of %ld", (cpu1 - cpu0) / secs, sysconf(_SC_NPROCESSORS_ONLN)),
                   "mean over the hold", "-", "-");
        if (server)
            bn_row(b, set, "statements per s, all members (pg_stat_statements)",
                   bn_fmt("%.0f", (double)((f1 - f0) + (l1 - l0)) / secs),
                   bn_fmt("%.2f per member per s", (double)((f1 - f0) + (l1 - l0)) / secs / members),
                   "-", "-");
        bn_row(b, set, "false evictions during the hold (removed + self-evicted events)",
               bn_fmt("%lu", (r1 - r0) + (e1 - e0)),
               bn_fmt("leader saw >= %d of %d members throughout", min_seen, members), "0",
               (r1 - r0) + (e1 - e0) == 0 && min_seen == members ? "ok" : "MISS");
    }
    /* leaving 1000 nodes one by one takes a while; the process exit does
     * the same for the server (connections close, rows stay behind in a
     * throwaway database) */
    bn_obs_close(obs);
    fflush(NULL);
    _exit(0);
}
