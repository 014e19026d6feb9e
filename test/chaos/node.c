/*
 * test/chaos/node.c: one cluster node process for the chaos harness
 * (test/chaos/chaos.py).  It joins, registers M tasks and polls
 * ccoord_acquire_task() for each of them every --poll-ms (default 10 ms),
 * like a host server asking before every fire, and records what the
 * answers were.
 *
 *   chaos-node --id ID --log FILE [--state FILE] [--tasks M] [--task-prefix P]
 *              [--config FILE] [--set section.key=value]... [--poll-ms MS]
 *              [--schedule TRIGGER] [--count-task TRIGGER] [--no-retry]
 *
 * With --schedule the tasks are scheduled (ccoord_task_schedule) with that
 * trigger instead of registered, and every fire is logged.  --count-task
 * also schedules the task "count-00" with a trigger that has a count (its
 * fires are logged; it is not polled: it ends COMPLETED).
 *
 * Exit codes: 0 clean exit after SIGTERM/SIGINT (left the group, freed
 * everything), 2 usage or configuration error, 3 ccoord_join() said
 * CCOORD_EDUPNODE (another live process has this id), 4 join failed
 * otherwise with --no-retry, 5 other error.  Without --no-retry a join
 * that fails with CCOORD_EDB is retried every 200 ms (a host restarted
 * while the database is down keeps trying), until SIGTERM.
 *
 * The shared clock.  Every timestamp is read with the raw clock_gettime
 * system call (syscall(SYS_clock_gettime, ...)), not through libc: the
 * harness runs nodes under libfaketime (LD_PRELOAD), which intercepts the
 * libc clock functions and the vDSO path, but cannot intercept a raw
 * system call.  So the times here are the host's, whatever the node's
 * faked wall clock says.  The checker uses CLOCK_BOOTTIME (shared by
 * every process on the host, never stepped by NTP or by hand); the host's
 * CLOCK_REALTIME is logged next to it for people reading the logs.
 *
 * Log file (text, one line per write(2), O_APPEND, so a SIGKILL loses
 * nothing already written).  Times are CLOCK_BOOTTIME nanoseconds:
 *   S <boot> <real> <pid> <id>             started
 *   J <boot> <rc> <errname> <message>      join result (every attempt)
 *   B <task> <fence> <t0> <t1>             first "yes" of an ownership interval:
 *                                          the acquire call ran within [t0, t1]
 *   E <task> <fence> <t0> <t1> <no>        last "yes" of the interval ran within
 *                                          [t0, t1]; <no>: start of the first
 *                                          call that said no (or of the leave)
 *   F <boot> <task> <slot> <fence>          a fire of a slot (ms since the epoch,
 *                                          the node's wall clock) began
 *   L <boot> <0|1>                         ccoord_is_leader() changed
 *   C <boot> <event> <name> <fence>        member (event 1-4) / task (event
 *                                          11, 12 = ASSIGNED, REVOKED) callback
 *   M <boot> <level> <message>             library log line
 *   X <boot> <real> <rc> <leave-rc>        clean exit
 *
 * State file (--state): per task one record of 7 little-endian int64
 *   seq, owned, fence, first_t0, first_t1, last_t0, last_t1
 * in a MAP_SHARED mapping, updated at every poll.  It survives SIGKILL (the
 * pages belong to the file), so the checker knows up to when a killed
 * node said yes although the E line was never written.  seq is odd while a
 * new interval is being written (then the record is not used); within an
 * interval only last_t0/last_t1 move, each value a valid sample bound.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <clustercoord.h>

#define MAX_TASKS 1024
#define MAX_SETS 64

static volatile sig_atomic_t stop_flag;
static int log_fd = -1;

typedef struct rec {
    int64_t seq, owned, fence, first_t0, first_t1, last_t0, last_t1;
} rec;

typedef struct tstate {
    char name[200];
    int owned;
    uint64_t fence;
    int64_t first_t0, first_t1, last_t0, last_t1;
} tstate;

static int64_t raw_clock(clockid_t c)
{
    struct timespec ts;
    if (syscall(SYS_clock_gettime, c, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t now_boot(void)
{
    return raw_clock(CLOCK_BOOTTIME);
}

static void logline(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (log_fd >= 0) {
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = write(log_fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += w;
        }
    }
}

/* One token for the log: spaces and control characters replaced. */
static void clean(char *dst, size_t size, const char *src)
{
    size_t i;
    for (i = 0; src && src[i] && i + 1 < size; i++)
        dst[i] = ((unsigned char)src[i] <= ' ' || src[i] == 0x7f) ? '_' : src[i];
    dst[i] = '\0';
    if (i == 0 && size > 1)
        snprintf(dst, size, "-");
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void log_cb(ccoord_node *n, int level, const char *msg, void *ud)
{
    char one[1500];
    size_t i;
    (void)n;
    (void)ud;
    for (i = 0; msg[i] && i + 1 < sizeof one; i++)
        one[i] = (msg[i] == '\n' || msg[i] == '\r') ? ' ' : msg[i];
    one[i] = '\0';
    logline("M %lld %d %s", (long long)now_boot(), level, one);
}

static void member_cb(ccoord_node *n, int event, const char *id, void *ud)
{
    char c[256];
    (void)n;
    (void)ud;
    clean(c, sizeof c, id);
    logline("C %lld %d %s 0", (long long)now_boot(), event, c);
}

static void task_cb(ccoord_node *n, int event, const char *task, uint64_t fence, void *ud)
{
    char c[256];
    (void)n;
    (void)ud;
    clean(c, sizeof c, task);
    logline("C %lld %d %s %llu", (long long)now_boot(), 10 + event, c,
            (unsigned long long)fence);
}

static void fire_cb(ccoord_node *n, const char *task, uint64_t fence, int64_t slot, void *ud)
{
    char c[256];
    (void)n;
    (void)ud;
    clean(c, sizeof c, task);
    logline("F %lld %s %lld %llu", (long long)now_boot(), c, (long long)slot,
            (unsigned long long)fence);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: chaos-node --id ID --log FILE [--state FILE] [--tasks M] "
            "[--task-prefix P]\n"
            "                  [--config FILE] [--set section.key=value]... "
            "[--poll-ms MS] [--schedule TRIGGER] [--count-task TRIGGER] "
            "[--no-retry]\n");
}

static void store_rec(rec *r, const tstate *t, int new_interval)
{
    if (!r)
        return;
    if (new_interval) {
        __atomic_store_n(&r->seq, r->seq + 1, __ATOMIC_SEQ_CST); /* odd */
        __atomic_store_n(&r->owned, t->owned, __ATOMIC_RELEASE);
        __atomic_store_n(&r->fence, (int64_t)t->fence, __ATOMIC_RELEASE);
        __atomic_store_n(&r->first_t0, t->first_t0, __ATOMIC_RELEASE);
        __atomic_store_n(&r->first_t1, t->first_t1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&r->last_t0, t->last_t0, __ATOMIC_RELEASE);
    __atomic_store_n(&r->last_t1, t->last_t1, __ATOMIC_RELEASE);
    if (new_interval)
        __atomic_store_n(&r->seq, r->seq + 1, __ATOMIC_SEQ_CST); /* even */
}

static void end_interval(tstate *t, rec *r, int64_t no_t0)
{
    logline("E %s %llu %lld %lld %lld", t->name, (unsigned long long)t->fence,
            (long long)t->last_t0, (long long)t->last_t1, (long long)no_t0);
    t->owned = 0;
    store_rec(r, t, 1);
}

int main(int argc, char **argv)
{
    const char *id = NULL, *log_path = NULL, *state_path = NULL, *config_path = NULL;
    const char *prefix = "task-", *trigger = NULL, *count_trigger = NULL;
    const char *sets[MAX_SETS];
    int nsets = 0, ntasks = 8, retry = 1, i, rc, leave_rc = 0, leader = -1;
    long poll_ms = 10;
    ccoord_config *cfg = NULL;
    ccoord_node *node = NULL;
    tstate *ts;
    rec *recs = NULL;
    struct sigaction sa;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-retry") == 0) {
            retry = 0;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--id") == 0)
            id = v;
        else if (strcmp(a, "--log") == 0)
            log_path = v;
        else if (strcmp(a, "--state") == 0)
            state_path = v;
        else if (strcmp(a, "--tasks") == 0)
            ntasks = atoi(v);
        else if (strcmp(a, "--task-prefix") == 0)
            prefix = v;
        else if (strcmp(a, "--config") == 0)
            config_path = v;
        else if (strcmp(a, "--poll-ms") == 0)
            poll_ms = atol(v);
        else if (strcmp(a, "--schedule") == 0)
            trigger = v;
        else if (strcmp(a, "--count-task") == 0)
            count_trigger = v;
        else if (strcmp(a, "--set") == 0 && nsets < MAX_SETS)
            sets[nsets++] = v;
        else {
            usage();
            return 2;
        }
    }
    if (!log_path || ntasks < 1 || ntasks > MAX_TASKS || poll_ms < 1) {
        usage();
        return 2;
    }
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        fprintf(stderr, "chaos-node: %s: %s\n", log_path, strerror(errno));
        return 2;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    ts = calloc((size_t)ntasks, sizeof *ts);
    if (!ts)
        return 5;
    for (i = 0; i < ntasks; i++)
        snprintf(ts[i].name, sizeof ts[i].name, "%s%02d", prefix, i);

    if (state_path) {
        size_t size = (size_t)ntasks * sizeof(rec);
        int fd = open(state_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
            fprintf(stderr, "chaos-node: %s: %s\n", state_path, strerror(errno));
            return 2;
        }
        recs = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (recs == MAP_FAILED) {
            fprintf(stderr, "chaos-node: mmap %s: %s\n", state_path, strerror(errno));
            return 2;
        }
    }

    if (ccoord_config_new(&cfg) != CCOORD_OK)
        return 5;
    if (config_path && ccoord_config_load(cfg, config_path) != CCOORD_OK) {
        fprintf(stderr, "chaos-node: %s\n", ccoord_config_error(cfg));
        return 2;
    }
    for (i = 0; i < nsets; i++) {
        char sec[64], key[64];
        const char *dot = strchr(sets[i], '.'), *eq = strchr(sets[i], '=');
        if (!dot || !eq || dot > eq || (size_t)(dot - sets[i]) >= sizeof sec ||
            (size_t)(eq - dot - 1) >= sizeof key) {
            fprintf(stderr, "chaos-node: --set %s: want section.key=value\n", sets[i]);
            return 2;
        }
        memcpy(sec, sets[i], (size_t)(dot - sets[i]));
        sec[dot - sets[i]] = '\0';
        memcpy(key, dot + 1, (size_t)(eq - dot - 1));
        key[eq - dot - 1] = '\0';
        if (ccoord_config_set(cfg, sec, key, eq + 1) != CCOORD_OK) {
            fprintf(stderr, "chaos-node: %s\n", ccoord_config_error(cfg));
            return 2;
        }
    }
    if (id && ccoord_config_set(cfg, "cluster_config", "node_id", id) != CCOORD_OK) {
        fprintf(stderr, "chaos-node: %s\n", ccoord_config_error(cfg));
        return 2;
    }
    rc = ccoord_node_new(cfg, &node);
    if (rc != CCOORD_OK) {
        fprintf(stderr, "chaos-node: ccoord_node_new: %s: %s\n", ccoord_errname(rc),
                ccoord_config_error(cfg));
        return 2;
    }
    ccoord_config_free(cfg);
    ccoord_on_log(node, log_cb, NULL);
    ccoord_on_member_change(node, member_cb, NULL);
    ccoord_on_task_change(node, task_cb, NULL);

    {
        char c[256];
        clean(c, sizeof c, ccoord_node_id(node));
        logline("S %lld %lld %ld %s", (long long)now_boot(),
                (long long)raw_clock(CLOCK_REALTIME), (long)getpid(), c);
    }
    for (i = 0; i < ntasks; i++) {
        rc = trigger ? ccoord_task_schedule(node, ts[i].name, trigger, fire_cb, NULL)
                     : ccoord_task_register(node, ts[i].name);
        if (rc != CCOORD_OK) {
            fprintf(stderr, "chaos-node: register %s: %s: %s\n", ts[i].name,
                    ccoord_errname(rc), ccoord_errmsg(node));
            return 5;
        }
    }

    if (count_trigger &&
        (rc = ccoord_task_schedule(node, "count-00", count_trigger, fire_cb, NULL)) != CCOORD_OK) {
        fprintf(stderr, "chaos-node: schedule count-00: %s: %s\n", ccoord_errname(rc),
                ccoord_errmsg(node));
        return 5;
    }
    for (;;) {
        char c[1100];
        rc = ccoord_join(node);
        clean(c, sizeof c, ccoord_errmsg(node));
        logline("J %lld %d %s %s", (long long)now_boot(), rc, ccoord_errname(rc), c);
        if (rc == CCOORD_OK)
            break;
        if (rc == CCOORD_EDUPNODE) {
            fprintf(stderr, "chaos-node: join refused: %s\n", ccoord_errmsg(node));
            ccoord_node_free(node);
            logline("X %lld %lld 3 0", (long long)now_boot(), (long long)raw_clock(CLOCK_REALTIME));
            return 3;
        }
        if (!retry || rc != CCOORD_EDB || stop_flag) {
            fprintf(stderr, "chaos-node: join: %s: %s\n", ccoord_errname(rc), ccoord_errmsg(node));
            ccoord_node_free(node);
            if (stop_flag && rc == CCOORD_EDB) {
                logline("X %lld %lld 0 %d", (long long)now_boot(),
                        (long long)raw_clock(CLOCK_REALTIME), rc);
                return 0;
            }
            return 4;
        }
        {
            struct timespec d = {0, 200 * 1000000L};
            nanosleep(&d, NULL);
        }
    }

    while (!stop_flag) {
        struct timespec d;
        int l = ccoord_is_leader(node);
        if (l != leader) {
            leader = l;
            logline("L %lld %d", (long long)now_boot(), l);
        }
        for (i = 0; i < ntasks; i++) {
            tstate *t = &ts[i];
            uint64_t fence = 0;
            int64_t t0 = now_boot();
            int r = ccoord_acquire_task(node, t->name, &fence);
            int64_t t1 = now_boot();
            if (r == CCOORD_OK) {
                if (t->owned && t->fence != fence)
                    end_interval(t, recs ? &recs[i] : NULL, t0);
                t->last_t0 = t0;
                t->last_t1 = t1;
                if (!t->owned) {
                    t->owned = 1;
                    t->fence = fence;
                    t->first_t0 = t0;
                    t->first_t1 = t1;
                    store_rec(recs ? &recs[i] : NULL, t, 1);
                    logline("B %s %llu %lld %lld", t->name, (unsigned long long)fence,
                            (long long)t0, (long long)t1);
                } else {
                    store_rec(recs ? &recs[i] : NULL, t, 0);
                }
            } else if (r == CCOORD_ENOTOWNER) {
                if (t->owned)
                    end_interval(t, recs ? &recs[i] : NULL, t0);
            } else {
                logline("M %lld 1 acquire %s: %s", (long long)now_boot(), t->name,
                        ccoord_errname(r));
                if (t->owned)
                    end_interval(t, recs ? &recs[i] : NULL, t0);
            }
        }
        d.tv_sec = poll_ms / 1000;
        d.tv_nsec = (poll_ms % 1000) * 1000000L;
        nanosleep(&d, NULL);
    }

    /* SIGTERM: the host stops firing first, then leaves. */
    {
        int64_t t = now_boot();
        for (i = 0; i < ntasks; i++)
            if (ts[i].owned)
                end_interval(&ts[i], recs ? &recs[i] : NULL, t);
    }
    leave_rc = ccoord_leave(node);
    if (leave_rc != CCOORD_OK) {
        char c[1100];
        clean(c, sizeof c, ccoord_errmsg(node));
        logline("M %lld 1 leave: %s %s", (long long)now_boot(), ccoord_errname(leave_rc), c);
    }
    ccoord_node_free(node);
    free(ts);
    if (recs)
        munmap(recs, (size_t)ntasks * sizeof(rec));
    logline("X %lld %lld 0 %d", (long long)now_boot(), (long long)raw_clock(CLOCK_REALTIME),
            leave_rc);
    close(log_fd);
    return 0;
}
