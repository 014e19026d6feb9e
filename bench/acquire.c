/*
 * bench/acquire.c: cost of ccoord_acquire_task() (answered from memory).
 *
 *   acquire [--threads 1,8] [--duration-ms 500] [--repeats 7] [--tasks 100]
 *
 * One node on SQLite (the database plays no part in the call) owns all
 * --tasks tasks.  For each thread count, --repeats runs of --duration-ms:
 * every thread calls acquire in a loop over the task names (all owned, so
 * every call is a "yes" with its fence) and counts its calls.  Reported:
 *   ns per call  = (sum over threads of their loop time) / total calls,
 *                  the latency one caller sees (with 8 threads on a 2-core
 *                  machine this includes waiting for a CPU and the lock);
 *   throughput   = wall time / total calls (whole process).
 */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static ccoord_node *node;
static char **names;
static int ntasks = 100;
static _Atomic int go, stop;

typedef struct worker {
    pthread_t th;
    unsigned long long calls, granted;
    int64_t ns, cpu_ns;
    int off;
} worker;

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *work(void *arg)
{
    worker *w = arg;
    unsigned long long calls = 0, granted = 0;
    int i = w->off % ntasks;
    int64_t t0, c0;
    while (!atomic_load(&go))
        ;
    t0 = bn_now_ns();
    c0 = thread_cpu_ns();
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int k;
        for (k = 0; k < 1024; k++) {
            uint64_t fence;
            granted += ccoord_acquire_task(node, names[i], &fence) == CCOORD_OK;
            if (++i == ntasks)
                i = 0;
        }
        calls += 1024;
    }
    w->ns = bn_now_ns() - t0;
    w->cpu_ns = thread_cpu_ns() - c0;
    w->calls = calls;
    w->granted = granted;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *threads_list = "1,8";
    double duration_ms = 500;
    int repeats = 7, i;
    char dbfile[96], group[64], *list, *save = NULL, *tok;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads_list = argv[++i];
        else if (!strcmp(argv[i], "--duration-ms") && i + 1 < argc)
            duration_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tasks") && i + 1 < argc)
            ntasks = atoi(argv[++i]);
        else
            bn_die("usage: acquire [--threads 1,8] [--duration-ms MS] [--repeats N] [--tasks N]");
    }
    snprintf(dbfile, sizeof dbfile, "ccoord-bench-acquire-%d.db", (int)getpid());
    snprintf(group, sizeof group, "acquire-%d", (int)getpid());
    node = bn_node("sqlite3", dbfile, group, "a0", 1000, 0);
    names = calloc((size_t)ntasks, sizeof *names);
    for (i = 0; i < ntasks; i++) {
        char b[32];
        snprintf(b, sizeof b, "task-%05d", i);
        names[i] = strdup(b);
        if (ccoord_task_register(node, names[i]) != CCOORD_OK)
            bn_die("register: %s", ccoord_errmsg(node));
    }
    if (ccoord_join(node) != CCOORD_OK)
        bn_die("join: %s", ccoord_errmsg(node));
    {
        int64_t end = bn_now_ns() + 30000000000LL;
        int owned = 0;
        while (bn_now_ns() < end) {
            owned = 0;
            for (i = 0; i < ntasks; i++)
                owned += ccoord_acquire_task(node, names[i], NULL) == CCOORD_OK;
            if (owned == ntasks)
                break;
            bn_sleep_ms(20);
        }
        if (owned != ntasks)
            bn_die("the node owns %d of %d tasks after 30 s", owned, ntasks);
    }

    list = strdup(threads_list);
    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int nt = atoi(tok), r;
        double *lat = calloc((size_t)repeats, sizeof *lat), *thr = calloc((size_t)repeats, sizeof *thr);
        double *cpu = calloc((size_t)repeats, sizeof *cpu);
        unsigned long long misses = 0;
        worker *w = calloc((size_t)nt, sizeof *w);
        char set[200];
        for (r = 0; r < repeats; r++) {
            unsigned long long calls = 0;
            int64_t busy = 0, cpus = 0, t0, t1;
            atomic_store(&go, 0);
            atomic_store(&stop, 0);
            for (i = 0; i < nt; i++) {
                w[i].off = i * 7;
                pthread_create(&w[i].th, NULL, work, &w[i]);
            }
            t0 = bn_now_ns();
            atomic_store(&go, 1);
            bn_sleep_ms(duration_ms);
            atomic_store(&stop, 1);
            for (i = 0; i < nt; i++)
                pthread_join(w[i].th, NULL);
            t1 = bn_now_ns();
            for (i = 0; i < nt; i++) {
                calls += w[i].calls;
                busy += w[i].ns;
                cpus += w[i].cpu_ns;
                misses += w[i].calls - w[i].granted;
            }
            lat[r] = (double)busy / (double)calls;
            thr[r] = (double)(t1 - t0) / (double)calls;
            cpu[r] = (double)cpus / (double)calls;
            bn_log("acquire %d thread(s) run %d: %.1f ns CPU/call, %.1f ns/call per caller (wall), "
                   "%.1f ns/call throughput", nt, r + 1, cpu[r], lat[r], thr[r]);
        }
        if (misses)
            bn_die("%llu acquires said no (the node lost its tasks?)", misses);
        snprintf(set, sizeof set, "%d thread%s, %d owned tasks, %d runs of %.0f ms, %ld CPUs",
                 nt, nt == 1 ? "" : "s", ntasks, repeats, duration_ms, sysconf(_SC_NPROCESSORS_ONLN));
        {
            bn_stats sl = bn_stats_of(lat, (size_t)repeats), st = bn_stats_of(thr, (size_t)repeats);
            bn_stats sc = bn_stats_of(cpu, (size_t)repeats);
            bn_row("4 ccoord_acquire_task", set, "ns of CPU per call (thread CPU time / calls)",
                   bn_fmt("%.1f", sc.median), bn_spread(&sc, "%.1f"), "<= 100",
                   sc.median <= 100 ? "ok" : "MISS");
            bn_row("4 ccoord_acquire_task", set, "ns per call, one caller's wall time / its calls",
                   bn_fmt("%.1f", sl.median), bn_spread(&sl, "%.1f"),
                   nt <= sysconf(_SC_NPROCESSORS_ONLN) ? "<= 100" : "- (more threads than CPUs)",
                   nt <= sysconf(_SC_NPROCESSORS_ONLN) ? (sl.median <= 100 ? "ok" : "MISS") : "-");
            bn_row("4 ccoord_acquire_task", set, "ns per call, process throughput",
                   bn_fmt("%.1f", st.median), bn_spread(&st, "%.1f"), "-", "-");
        }
        free(lat);
        free(thr);
        free(cpu);
        free(w);
    }
    free(list);
    ccoord_node_free(node);
    {
        char path[400];
        const char *t = getenv("CCOORD_BENCH_TMP");
        const char *suffix[] = {"", "-wal", "-shm"};
        for (i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s%s", t && *t ? t : "/tmp", dbfile, suffix[i]);
            unlink(path);
        }
    }
    for (i = 0; i < ntasks; i++)
        free(names[i]);
    free(names);
    return 0;
}
