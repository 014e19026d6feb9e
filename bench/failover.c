/*
 * bench/failover.c: failover after SIGKILL and handover after a graceful
 * leave, measured across processes.
 *
 *   failover --mode kill|leave --backend pgsql|sqlite3 --interval MS --runs N
 *            [--nodes 3] [--task-nodes-wait]
 *
 * The parent forks --nodes node processes (no library state in the
 * parent); each joins, registers task "t" and checks ccoord_acquire_task
 * every 200 us, publishing in shared memory whether it owns the task and
 * when (CLOCK_MONOTONIC, one clock for every process on the machine) it
 * started owning it.  For each run the parent waits for a settled cluster
 * (every node sees every member, exactly one owner), sleeps a random part
 * of an interval (so the kill falls anywhere in the heartbeat cycle), then
 *   kill:  t0 = now; SIGKILL the owner;
 *   leave: tells the owner to call ccoord_leave(), which records t0 just
 *          before the call;
 * and measures until another node's first successful acquire.  The dead
 * or departed node is replaced by a fresh process (new node id).
 */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_NODES 16

typedef struct slot {
    _Atomic int state; /* 0 none, 1 starting, 2 joined, 3 gone, 4 failed */
    _Atomic int pid;
    _Atomic int owns;
    _Atomic int leader;
    _Atomic int members;
    _Atomic int cmd; /* 1: leave */
    _Atomic int64_t acq_ns;   /* when it last started owning "t" */
    _Atomic int64_t leave_ns; /* just before ccoord_leave() */
    _Atomic int64_t left_ns;  /* ccoord_leave() returned */
    int gen;
} slot;

static slot *slots;
static const char *backend = "pgsql";
static char group[128], dbfile[160];
static long interval_ms = 1000;

static void child(int i, int gen)
{
    slot *s = &slots[i];
    char id[64];
    ccoord_node *n;
    int owned = 0, k = 0;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    snprintf(id, sizeof id, "node-%d-%d", i, gen);
    n = bn_node(backend, dbfile, group, id, interval_ms, 0);
    if (ccoord_task_register(n, "t") != CCOORD_OK)
        _exit(3);
    if (ccoord_join(n) != CCOORD_OK) {
        fprintf(stderr, "bench: %s: join: %s\n", id, ccoord_errmsg(n));
        atomic_store(&s->state, 4);
        _exit(4);
    }
    atomic_store(&s->state, 2);
    for (;;) {
        int o;
        if (atomic_load(&s->cmd) == 1) {
            atomic_store(&s->leave_ns, bn_now_ns());
            ccoord_leave(n);
            atomic_store(&s->left_ns, bn_now_ns());
            atomic_store(&s->owns, 0);
            atomic_store(&s->state, 3);
            _exit(0); /* no node_free: the measurement is over; exit is enough */
        }
        o = ccoord_acquire_task(n, "t", NULL) == CCOORD_OK;
        if (o && !owned)
            atomic_store(&s->acq_ns, bn_now_ns());
        owned = o;
        atomic_store(&s->owns, o);
        if ((k++ & 255) == 0) {
            char **ids;
            size_t cnt;
            atomic_store(&s->leader, ccoord_is_leader(n));
            if (ccoord_members(n, &ids, &cnt) == CCOORD_OK) {
                atomic_store(&s->members, (int)cnt);
                ccoord_free_list(ids, cnt);
            }
        }
        usleep(200);
    }
}

static void spawn(int i)
{
    pid_t p;
    slot *s = &slots[i];
    s->gen++;
    atomic_store(&s->state, 1);
    atomic_store(&s->owns, 0);
    atomic_store(&s->leader, 0);
    atomic_store(&s->members, 0);
    atomic_store(&s->cmd, 0);
    atomic_store(&s->acq_ns, 0);
    fflush(NULL);
    p = fork();
    if (p < 0)
        bn_die("fork: %s", strerror(errno));
    if (p == 0)
        child(i, s->gen);
    atomic_store(&s->pid, p);
}

static int nodes = 3;

/* Waits for every slot joined and seeing all members and exactly one
 * owner; returns the owner's index, or -1 after limit_ms. */
static int settled(double limit_ms)
{
    int64_t end = bn_now_ns() + (int64_t)(limit_ms * 1e6);
    int64_t stable_since = 0;
    while (bn_now_ns() < end) {
        int i, owner = -1, owners = 0, ok = 1;
        for (i = 0; i < nodes; i++) {
            if (atomic_load(&slots[i].state) == 4)
                bn_die("node %d failed to join", i);
            if (atomic_load(&slots[i].state) != 2 || atomic_load(&slots[i].members) != nodes)
                ok = 0;
            if (atomic_load(&slots[i].owns)) {
                owners++;
                owner = i;
            }
        }
        if (ok && owners == 1) {
            if (!stable_since)
                stable_since = bn_now_ns();
            /* one more interval with no change: refreshes have settled */
            if (bn_now_ns() - stable_since >= (int64_t)interval_ms * 1000000)
                return owner;
        } else {
            stable_since = 0;
        }
        bn_sleep_ms(2);
    }
    return -1;
}

int main(int argc, char **argv)
{
    const char *mode = "kill";
    int runs = 20, i, r;
    double *dt, *dt_leader, *dt_follower;
    size_t nd = 0, nl = 0, nf = 0;
    double timeout_ms;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            backend = argv[++i];
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
            interval_ms = atol(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
            nodes = atoi(argv[++i]);
        else
            bn_die("usage: failover --mode kill|leave --backend B --interval MS --runs N [--nodes N]");
    }
    if (nodes < 2 || nodes > MAX_NODES)
        bn_die("--nodes: 2..%d", MAX_NODES);
    timeout_ms = 3.0 * (double)interval_ms; /* heartbeat_max_retry default 3 */
    snprintf(group, sizeof group, "bench-%s-%ld-%d", mode, interval_ms, (int)getpid());
    snprintf(dbfile, sizeof dbfile, "ccoord-bench-%d.db", (int)getpid());
    slots = mmap(NULL, sizeof(slot) * MAX_NODES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);
    if (slots == MAP_FAILED)
        bn_die("mmap: %s", strerror(errno));
    memset(slots, 0, sizeof(slot) * MAX_NODES);
    dt = calloc((size_t)runs, sizeof *dt);
    dt_leader = calloc((size_t)runs, sizeof *dt);
    dt_follower = calloc((size_t)runs, sizeof *dt);
    srand((unsigned)getpid());
    /* the first node alone (it becomes leader and owner), then the rest */
    spawn(0);
    while (atomic_load(&slots[0].state) == 1)
        bn_sleep_ms(5);
    for (i = 1; i < nodes; i++)
        spawn(i);

    for (r = 0; r < runs; r++) {
        int owner = settled(30.0 * (double)interval_ms + 20000), was_leader, got = -1;
        int64_t t0, t1 = 0, limit;
        if (owner < 0)
            bn_die("run %d: the cluster did not settle (one owner, %d members seen by all)", r,
                   nodes);
        bn_sleep_ms((double)(rand() % 1000) / 1000.0 * (double)interval_ms);
        if (!atomic_load(&slots[owner].owns)) {
            r--; /* moved meanwhile: should not happen in a settled cluster */
            continue;
        }
        was_leader = atomic_load(&slots[owner].leader);
        if (!strcmp(mode, "kill")) {
            t0 = bn_now_ns();
            kill(atomic_load(&slots[owner].pid), SIGKILL);
        } else {
            atomic_store(&slots[owner].cmd, 1);
            while (!atomic_load(&slots[owner].leave_ns))
                bn_sleep_ms(0.05);
            t0 = atomic_load(&slots[owner].leave_ns);
        }
        limit = t0 + (int64_t)(timeout_ms * 10 * 1e6) + 10000000000LL;
        while (got < 0 && bn_now_ns() < limit) {
            for (i = 0; i < nodes; i++) {
                int64_t a;
                if (i == owner)
                    continue;
                a = atomic_load(&slots[i].acq_ns);
                if (atomic_load(&slots[i].owns) && a > t0) {
                    got = i;
                    t1 = a;
                }
            }
            bn_sleep_ms(0.2);
        }
        if (got < 0)
            bn_die("run %d: no other node acquired the task within %.0f ms", r,
                   (double)(limit - t0) / 1e6);
        dt[nd++] = (double)(t1 - t0) / 1e6;
        if (was_leader)
            dt_leader[nl++] = dt[nd - 1];
        else
            dt_follower[nf++] = dt[nd - 1];
        fprintf(stderr, "bench: %s %s %ld ms run %d: %.1f ms (owner was %s)\n", mode, backend,
                interval_ms, r + 1, dt[nd - 1], was_leader ? "leader" : "follower");
        waitpid(atomic_load(&slots[owner].pid), NULL, 0);
        atomic_store(&slots[owner].leave_ns, 0);
        spawn(owner);
    }
    for (i = 0; i < nodes; i++)
        kill(atomic_load(&slots[i].pid), SIGKILL);
    for (i = 0; i < nodes; i++)
        waitpid(atomic_load(&slots[i].pid), NULL, 0);
    if (strcmp(backend, "sqlite3") == 0) {
        char path[400];
        const char *t = getenv("CCOORD_BENCH_TMP");
        snprintf(path, sizeof path, "%s/%s", t && *t ? t : "/tmp", dbfile);
        unlink(path);
        strcat(path, "-wal");
        unlink(path);
        path[strlen(path) - 4] = '\0';
        strcat(path, "-shm");
        unlink(path);
    }

    {
        bn_stats s = bn_stats_of(dt, nd);
        char set[200];
        snprintf(set, sizeof set, "%s, %ld ms heartbeat, timeout %.0f ms, %d nodes, %d %s",
                 backend, interval_ms, timeout_ms, nodes, runs,
                 !strcmp(mode, "kill") ? "SIGKILLs" : "leaves");
        double target = !strcmp(mode, "kill") ? timeout_ms + (double)interval_ms
                                              : (double)interval_ms;
        const char *bench = !strcmp(mode, "kill") ? "1 failover (SIGKILL owner)"
                                                  : "2 graceful leave";
        double *x = calloc(nd, sizeof *x);
        bn_stats si, st;
        size_t k;
        bn_row(bench, set, "ms to first acquire elsewhere", bn_fmt("%.0f", s.median),
               bn_spread(&s, "%.0f"), bn_fmt("<= %.0f", target),
               s.median <= target ? (s.max <= target ? "ok" : "ok (median; max over)") : "MISS");
        for (k = 0; k < nd; k++)
            x[k] = dt[k] / (double)interval_ms;
        si = bn_stats_of(x, nd);
        bn_row(bench, set, "x heartbeat interval", bn_fmt("%.2f", si.median),
               bn_spread(&si, "%.2f"),
               !strcmp(mode, "kill") ? "<= 4.00" : "<= 1.00", si.median <= target / (double)interval_ms ? "ok" : "MISS");
        for (k = 0; k < nd; k++)
            x[k] = dt[k] / timeout_ms;
        st = bn_stats_of(x, nd);
        bn_row(bench, set, "x timeout", bn_fmt("%.2f", st.median), bn_spread(&st, "%.2f"),
               !strcmp(mode, "kill") ? "<= 1.33" : "<= 0.33", st.median <= target / timeout_ms ? "ok" : "MISS");
        if (!strcmp(mode, "kill")) {
            bn_stats sl = bn_stats_of(dt_leader, nl), sf = bn_stats_of(dt_follower, nf);
            if (nl)
                bn_row(bench, set, "  ms, owner was the leader", bn_fmt("%.0f", sl.median),
                       bn_spread(&sl, "%.0f"), bn_fmt("<= %.0f", target),
                       sl.median <= target ? "ok" : "MISS");
            if (nf)
                bn_row(bench, set, "  ms, owner was a follower", bn_fmt("%.0f", sf.median),
                       bn_spread(&sf, "%.0f"), bn_fmt("<= %.0f", target),
                       sf.median <= target ? "ok" : "MISS");
        }
        free(x);
    }
    return 0;
}
