/*
 * examples/host_loop/host_loop.c: a single-threaded host with its own
 * poll() loop, in host-dispatch mode.  The node's member and task
 * callbacks run only inside ccoord_dispatch(), on this thread, when the
 * descriptor from ccoord_event_fd() is readable; the library keeps its own
 * heartbeat thread, so a slow turn of this loop delays events, never a
 * heartbeat.  The registered task runs every --task-interval-ms while
 * ccoord_acquire_task() says this node owns it (the authority: the
 * callbacks only tell what changed).
 *
 *   host_loop [--seconds N] [--task-interval-ms MS] CONFIG
 *
 * Prints one line per event and per task run; leaves gracefully after N
 * seconds (default: run until SIGINT or SIGTERM) and exits 0, or 1 when
 * something failed (with the library's message).
 */
#include <clustercoord.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;
static pthread_t loop_thread;
static int wrong_thread; /* callbacks seen on another thread: must stay 0 */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check_thread(void)
{
    if (!pthread_equal(pthread_self(), loop_thread))
        wrong_thread++;
}

static void on_member(ccoord_node *node, int event, const char *member, void *ud)
{
    static const char *names[] = {"", "member added", "member removed", "this node evicted",
                                  "leader is now"};
    (void)node;
    (void)ud;
    check_thread();
    printf("%s: event: %s [%s] (on the loop thread)\n", ccoord_node_id(node),
           event >= 1 && event <= 4 ? names[event] : "?", member);
}

static void on_task(ccoord_node *node, int event, const char *task, uint64_t fence, void *ud)
{
    (void)ud;
    check_thread();
    printf("%s: event: task %s %s (fence %llu, on the loop thread)\n", ccoord_node_id(node), task,
           event == CCOORD_TASK_ASSIGNED ? "ASSIGNED" : "REVOKED", (unsigned long long)fence);
}

static int usage(void)
{
    fprintf(stderr, "usage: host_loop [--seconds N] [--task-interval-ms MS] CONFIG\n");
    return 2;
}

static int fail(ccoord_node *node, const char *what, int rc)
{
    fprintf(stderr, "host_loop: %s: %s: %s\n", what, ccoord_strerror(rc),
            node ? ccoord_errmsg(node) : "");
    return 1;
}

/* Parses a whole number in [min, max] or returns -1. */
static long number(const char *s, long min, long max)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    return errno || end == s || *end || v < min || v > max ? -1 : v;
}

/* One turn of the loop: wait for events or the next task run. */
static int turn(ccoord_node *node, int fd, long long *next_run, long interval_ms, long *runs)
{
    struct pollfd p = {fd, POLLIN, 0};
    long long wait = *next_run - now_ms();
    int ready = poll(&p, 1, wait < 0 ? 0 : (int)wait);
    uint64_t fence;
    if (ready < 0 && errno != EINTR)
        return -1;
    if (ready > 0 && (p.revents & POLLIN)) {
        int ran = ccoord_dispatch(node);
        if (ran < 0)
            return ran;
    }
    if (now_ms() >= *next_run) {
        *next_run = now_ms() + interval_ms;
        if (ccoord_acquire_task(node, "sample-task", &fence) == CCOORD_OK)
            printf("%s: ran sample-task (run %ld, fence %llu)\n", ccoord_node_id(node),
                   ++*runs, (unsigned long long)fence);
    }
    return 0;
}

int main(int argc, char **argv)
{
    ccoord_config *cfg = NULL;
    ccoord_node *node = NULL;
    long seconds = 0, interval_ms = 500, runs = 0;
    long long until, next_run;
    int i, rc, fd = -1;
    const char *path = NULL;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            if ((seconds = number(argv[++i], 1, 86400)) < 0)
                return usage();
        } else if (strcmp(argv[i], "--task-interval-ms") == 0 && i + 1 < argc) {
            if ((interval_ms = number(argv[++i], 10, 3600000)) < 0)
                return usage();
        } else if (argv[i][0] == '-' || path) {
            return usage();
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return usage();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    loop_thread = pthread_self();
    if ((rc = ccoord_config_new(&cfg)) != CCOORD_OK)
        return fail(NULL, "ccoord_config_new", rc);
    if ((rc = ccoord_config_load(cfg, path)) != CCOORD_OK) {
        fprintf(stderr, "host_loop: %s\n", ccoord_config_error(cfg));
        ccoord_config_free(cfg);
        return 1;
    }
    rc = ccoord_node_new(cfg, &node);
    if (rc != CCOORD_OK) {
        fprintf(stderr, "host_loop: %s\n", ccoord_config_error(cfg));
        ccoord_config_free(cfg);
        return 1;
    }
    ccoord_config_free(cfg);
    ccoord_on_member_change(node, on_member, NULL);
    ccoord_on_task_change(node, on_task, NULL);
    if ((rc = ccoord_event_fd(node, &fd)) != CCOORD_OK)
        return fail(node, "ccoord_event_fd", rc);
    if ((rc = ccoord_task_register(node, "sample-task")) != CCOORD_OK)
        return fail(node, "ccoord_task_register", rc);
    if ((rc = ccoord_join(node)) != CCOORD_OK)
        return fail(node, "ccoord_join", rc);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("%s: joined; dispatching on the loop thread (descriptor %d)\n", ccoord_node_id(node),
           fd);
    until = seconds ? now_ms() + seconds * 1000 : 0;
    next_run = now_ms();
    while (!stop_requested && (!until || now_ms() < until))
        if ((rc = turn(node, fd, &next_run, interval_ms, &runs)) < 0)
            return fail(node, "ccoord_dispatch", rc);
    if ((rc = ccoord_leave(node)) != CCOORD_OK)
        return fail(node, "ccoord_leave", rc);
    /* the REVOKED events of the leave wait for one more dispatch */
    while (ccoord_dispatch(node) > 0)
        ;
    printf("%s: left after %ld task run(s); %d callback(s) off the loop thread\n",
           ccoord_node_id(node), runs, wrong_thread);
    ccoord_node_free(node);
    return wrong_thread ? 1 : 0;
}
