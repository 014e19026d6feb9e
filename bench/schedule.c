/*
 * bench/schedule.c: scheduled tasks (ccoord_task_schedule): statements per
 * fire, fire jitter, and late and duplicate fires after a failover, next
 * to Quartz's figures measured on this machine (issue 13: 7-18 missed
 * slots fired in a burst of 0.15-0.4 s after a failover, about 15
 * database statements per fire).
 *
 *   schedule --backend pgsql|sqlite3|mysql [--window-s 5] [--tasks 4]
 *            [--failovers 5]
 *
 * Steady: one node owns --tasks tasks at interval=100 for --window-s;
 * statements per fire = the node's statements on its API connection (the
 * one the fires use; the heartbeat's are its own and counted by
 * bench/steady) over the fires; jitter = the callback's start minus its
 * slot (wall clock), median and p99.
 *
 * Failover, per misfire policy (once, skip): three nodes in this process
 * schedule one task at interval=2000 with grace=100; once the owner has
 * fired a slot, its threads are frozen (a stopped process as far as the
 * others can tell) 50 ms before the next, so that slot falls in the
 * failover; the new owner's fires are counted: late (a slot of the
 * outage) and duplicate (a slot that fired twice anywhere: must be 0).
 */
#include "common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

#define MAX_FIRES 100000

typedef struct fire {
    int64_t slot, at;
    int node;
    char task[32];
} fire;

static fire fires[MAX_FIRES];
static size_t nfires;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t wall_ms_f(double *frac)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (frac)
        *frac = (double)(ts.tv_nsec % 1000000) / 1e6;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_fire(ccoord_node *n, const char *task, uint64_t fence, int64_t slot, void *ud)
{
    (void)n, (void)fence;
    pthread_mutex_lock(&mu);
    if (nfires < MAX_FIRES) {
        fires[nfires].slot = slot;
        fires[nfires].at = wall_ms_f(NULL);
        fires[nfires].node = (int)(intptr_t)ud;
        snprintf(fires[nfires].task, sizeof fires[nfires].task, "%s", task);
        nfires++;
    }
    pthread_mutex_unlock(&mu);
}

static int owner_of(ccoord_node **nodes, int count, const char *task)
{
    int i;
    for (i = 0; i < count; i++)
        if (nodes[i] && ccoord_acquire_task(nodes[i], task, NULL) == CCOORD_OK)
            return i;
    return -1;
}

static void steady(const char *backend, double window_s, int ntasks)
{
    ccoord_node *n = bn_node(backend, "sched-steady.db", "bench-sched-steady", "s-0", 1000, 0);
    unsigned long long st0, st1;
    size_t f0, f1, i, k = 0;
    double *jit;
    char name[32], set[160];
    int t;
    for (t = 0; t < ntasks; t++) {
        snprintf(name, sizeof name, "steady-%d", t);
        if (ccoord_task_schedule(n, name, "interval=100", on_fire, (void *)0) != CCOORD_OK)
            bn_die("schedule: %s", ccoord_errmsg(n));
    }
    if (ccoord_join(n) != CCOORD_OK)
        bn_die("join: %s", ccoord_errmsg(n));
    /* every task owned and firing */
    for (t = 0; t < 200; t++) {
        char **v;
        size_t c = 0;
        if (ccoord_owned_tasks(n, &v, &c) == CCOORD_OK)
            ccoord_free_list(v, c);
        if ((int)c == ntasks)
            break;
        bn_sleep_ms(50);
    }
    bn_sleep_ms(500);
    pthread_mutex_lock(&mu);
    f0 = nfires;
    pthread_mutex_unlock(&mu);
    st0 = atomic_load(&n->api_db.statements);
    bn_sleep_ms(window_s * 1000);
    st1 = atomic_load(&n->api_db.statements);
    pthread_mutex_lock(&mu);
    f1 = nfires;
    jit = calloc(f1 - f0 + 1, sizeof *jit);
    for (i = f0; i < f1; i++)
        jit[k++] = (double)(fires[i].at - fires[i].slot);
    pthread_mutex_unlock(&mu);
    ccoord_node_free(n);
    snprintf(set, sizeof set, "%s, 1 node, %d tasks at interval=100, %.0f s", backend, ntasks,
             window_s);
    if (f1 == f0)
        bn_die("no fire in %.1f s", window_s);
    bn_row("7 schedule", set, "statements per fire (API connection / fires)",
           bn_fmt("%.2f", (double)(st1 - st0) / (double)(f1 - f0)),
           bn_fmt("%zu fires, %llu statements", f1 - f0, st1 - st0), "1 (Quartz: about 15)",
           (double)(st1 - st0) / (double)(f1 - f0) <= 1.05 ? "ok" : "MISS");
    {
        bn_stats s = bn_stats_of(jit, k);
        double p99 = jit[(size_t)((double)(k - 1) * 0.99)];
        bn_row("7 schedule", set, "fire jitter, ms from the slot to the callback (median)",
               bn_fmt("%.0f", s.median), bn_fmt("p99 %.0f, max %.0f", p99, s.max), "<= 5",
               s.median <= 5 ? "ok" : "MISS");
    }
    free(jit);
}

/* One failover under policy; adds its late and duplicate fires. */
static void failover_once(const char *backend, const char *policy, int run, long *late,
                          long *dups, double *takeover_ms)
{
    ccoord_node *nodes[3];
    char group[64], trig[96], db[64];
    int i, owner, other;
    int64_t iv = 2000, frozen_at, took = -1, t0;
    size_t from, j, k;
    snprintf(group, sizeof group, "bench-sched-%s-%d-%d", policy, run, (int)getpid());
    snprintf(db, sizeof db, "sched-fo-%s-%d.db", policy, run);
    snprintf(trig, sizeof trig, "interval=%lld;grace=100;misfire=%s", (long long)iv, policy);
    for (i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "f-%d", i);
        nodes[i] = bn_node(backend, db, group, id, 200, 0);
        if (ccoord_task_schedule(nodes[i], "fo", trig, on_fire, (void *)(intptr_t)i) !=
            CCOORD_OK)
            bn_die("schedule: %s", ccoord_errmsg(nodes[i]));
        if (ccoord_join(nodes[i]) != CCOORD_OK)
            bn_die("join: %s", ccoord_errmsg(nodes[i]));
    }
    t0 = bn_now_ns();
    while ((owner = owner_of(nodes, 3, "fo")) < 0 && bn_now_ns() - t0 < 10000000000LL)
        bn_sleep_ms(10);
    if (owner < 0)
        bn_die("nobody owns the task");
    /* a slot fired by the owner (a task that never fired starts afresh at
     * its next owner: nothing of it was missed), then freeze the owner 50
     * ms before the next slot */
    pthread_mutex_lock(&mu);
    from = nfires;
    pthread_mutex_unlock(&mu);
    t0 = bn_now_ns();
    for (;;) {
        size_t now_n;
        pthread_mutex_lock(&mu);
        now_n = nfires;
        pthread_mutex_unlock(&mu);
        if (now_n > from)
            break;
        if (bn_now_ns() - t0 > 10000000000LL)
            bn_die("the owner did not fire within 10 s");
        bn_sleep_ms(5);
    }
    while ((wall_ms_f(NULL) % iv) != iv - 50)
        bn_sleep_ms(0.5);
    pthread_mutex_lock(&mu);
    from = nfires;
    pthread_mutex_unlock(&mu);
    frozen_at = wall_ms_f(NULL);
    ccoord__test_freeze(nodes[owner], 1);
    /* the new owner's first acquire, and two more slots */
    t0 = bn_now_ns();
    while (bn_now_ns() - t0 < 10000000000LL) {
        other = owner_of(nodes, 3, "fo");
        if (other >= 0 && other != owner) {
            took = wall_ms_f(NULL);
            break;
        }
        bn_sleep_ms(1);
    }
    if (took < 0)
        bn_die("no takeover within 10 s");
    *takeover_ms = (double)(took - frozen_at);
    bn_sleep_ms(2 * iv + 300);
    pthread_mutex_lock(&mu);
    for (j = from; j < nfires; j++) {
        if (strcmp(fires[j].task, "fo") != 0)
            continue;
        bn_log("%s run %d: node %d fired slot %+lld ms at %+lld ms from the stop (owner %d, "
               "takeover at %+lld)", policy, run, fires[j].node,
               (long long)(fires[j].slot - frozen_at), (long long)(fires[j].at - frozen_at),
               owner, (long long)(took - frozen_at));
        /* a slot of the outage, fired by the new owner (when the bench
         * noticed its first acquire does not matter) */
        if (fires[j].node != owner && fires[j].slot >= frozen_at && fires[j].slot < took)
            (*late)++;
        for (k = 0; k < nfires; k++)
            if (k != j && strcmp(fires[k].task, "fo") == 0 && fires[k].slot == fires[j].slot &&
                k < j)
                (*dups)++;
    }
    pthread_mutex_unlock(&mu);
    ccoord__test_freeze(nodes[owner], 0);
    for (i = 0; i < 3; i++)
        ccoord_node_free(nodes[i]);
    /* the next run's fires are counted apart */
}

static void failovers(const char *backend, int runs)
{
    static const char *const policies[] = {"once", "skip"};
    size_t p;
    for (p = 0; p < 2; p++) {
        long late = 0, dups = 0;
        double *take = calloc((size_t)runs, sizeof *take);
        char set[160];
        int r;
        for (r = 0; r < runs; r++)
            failover_once(backend, policies[p], r, &late, &dups, &take[r]);
        snprintf(set, sizeof set, "%s, 3 nodes, interval=2000;grace=100;misfire=%s, heartbeat "
                                  "200 ms x 3, %d failovers", backend, policies[p], runs);
        bn_row("7 schedule", set, "late fires per failover (a slot of the outage)",
               bn_fmt("%.2f", (double)late / runs), bn_fmt("%ld in %d", late, runs),
               bn_fmt("%s (Quartz: 7-18 in a burst)", p == 0 ? "1" : "0"),
               (double)late / runs == (p == 0 ? 1.0 : 0.0) ? "ok" : "MISS");
        bn_row("7 schedule", set, "slots fired twice", bn_fmt("%ld", dups), "-", "0",
               dups == 0 ? "ok" : "MISS");
        {
            bn_stats s = bn_stats_of(take, (size_t)runs);
            bn_row("7 schedule", set, "ms from the owner's stop to the new owner's acquire",
                   bn_fmt("%.0f", s.median), bn_spread(&s, "%.0f"), "-", "-");
        }
        free(take);
    }
}

int main(int argc, char **argv)
{
    const char *backend = "sqlite3";
    double window_s = 5;
    int ntasks = 4, runs = 5, i;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--backend"))
            backend = argv[i + 1];
        else if (!strcmp(argv[i], "--window-s"))
            window_s = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--tasks"))
            ntasks = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--failovers"))
            runs = atoi(argv[i + 1]);
        else
            bn_die("usage: schedule --backend B [--window-s S] [--tasks N] [--failovers R]");
    }
    if (i != argc || runs < 1 || ntasks < 1 || window_s <= 0)
        bn_die("usage: schedule --backend B [--window-s S] [--tasks N] [--failovers R]");
    bn_prepare_schema(backend, "sched-steady.db");
    steady(backend, window_s, ntasks);
    failovers(backend, runs);
    return 0;
}
