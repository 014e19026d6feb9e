/*
 * test/cluster.h: an in-process cluster for node_* tests: several nodes on
 * one database namespace, with every callback event recorded and
 * timestamped on CLOCK_BOOTTIME.  Header-only (static functions), so each
 * test program includes it once.
 */
#ifndef CCOORD_TEST_CLUSTER_H
#define CCOORD_TEST_CLUSTER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clustercoord.h>

#include "core.h"
#include "testutil.h"

#define TC_MAX_NODES 32
#define TC_MAX_EVENTS 4096

typedef struct tc_event {
    int kind; /* 0 member, 1 task, 2 log */
    int event;
    char name[256];
    uint64_t fence;
    int64_t at_ms;
} tc_event;

typedef struct tc_node {
    ccoord_node *node;
    char id[256];
    pthread_mutex_t mu;
    tc_event *ev; /* TC_MAX_EVENTS, heap: a cluster lives on the stack */
    size_t nev;
} tc_node;

typedef struct tc_cluster {
    tu_ns ns;
    long interval_ms;
    const char *resolver;           /* NULL: default */
    const char *resolver_params[8]; /* "key=value" */
    int max_retry;                  /* heartbeat_max_retry; 0: tu_config's */
    const char *settings[8];        /* more settings, "section.key=value" */
    tc_node *nodes; /* TC_MAX_NODES, heap: callbacks point into it */
    int count;
} tc_cluster;

/* The nodes of the cluster a test has not freed yet.  A failing assertion
 * leaves its test by longjmp, past tc_free(): the nodes' threads would go
 * on calling back into the test's dead stack.  So the nodes live on the
 * heap, and the next tc_init() (or the end of tc_run_all) frees what a
 * failed test left behind. */
static tc_node *tc_live_nodes;
static _Atomic int tc_live_count;
/* Stops a sampler a failed test left running (set by tc_sampler_start). */
static void (*tc_reap_sampler)(void);

static inline void tc_free_nodes(tc_node *nodes, int count)
{
    int i;
    for (i = 0; i < count; i++) {
        if (nodes[i].node) {
            ccoord__test_freeze(nodes[i].node, 0);
            ccoord_node_free(nodes[i].node);
        }
        nodes[i].node = NULL;
        pthread_mutex_destroy(&nodes[i].mu);
        free(nodes[i].ev);
        nodes[i].ev = NULL;
    }
    free(nodes);
}

static inline void tc_reap(void)
{
    if (tc_reap_sampler)
        tc_reap_sampler(); /* a failed test's sampler still asks its nodes */
    if (tc_live_nodes)
        tc_free_nodes(tc_live_nodes, tc_live_count);
    tc_live_nodes = NULL;
    tc_live_count = 0;
}

/* Every interval, bound and wait of the multi-node tests is multiplied by
 * this: CCOORD_TEST_TIME_SCALE (1 to 50, default 1).  The sanitizer runs
 * set it (mk/sanitize.mk: valgrind 4, ASan 2, TSan 4), since they run the
 * code several times slower and memcheck serializes its threads: the same
 * scenarios and assertions, on a slower clock. */
static int tc_time_scale = 1;

/* The backend the current group runs on (set by main). */
static const char *tc_backend = "sqlite3";

static inline void tc_record(tc_node *t, int kind, int event, const char *name, uint64_t fence)
{
    pthread_mutex_lock(&t->mu);
    if (t->nev < TC_MAX_EVENTS) {
        tc_event *e = &t->ev[t->nev++];
        e->kind = kind;
        e->event = event;
        snprintf(e->name, sizeof e->name, "%s", name ? name : "");
        e->fence = fence;
        e->at_ms = tu_now_ms();
    }
    pthread_mutex_unlock(&t->mu);
}

static inline void tc_member_cb(ccoord_node *n, int event, const char *id, void *ud)
{
    (void)n;
    tc_record(ud, 0, event, id, 0);
}

static inline void tc_task_cb(ccoord_node *n, int event, const char *task, uint64_t fence, void *ud)
{
    (void)n;
    tc_record(ud, 1, event, task, fence);
}

static inline void tc_log_cb(ccoord_node *n, int level, const char *msg, void *ud)
{
    tc_record(ud, 2, level, msg, 0);
    tu_quiet_log(n, level, msg, NULL);
}

/* Sets up the namespace; skips the test when the backend is not
 * configured (fails under CI=true). */
static inline void tc_init(tc_cluster *c, long interval_ms)
{
    int rc;
    tc_reap();
    memset(c, 0, sizeof *c);
    c->interval_ms = interval_ms;
    c->nodes = calloc(TC_MAX_NODES, sizeof *c->nodes);
    assert_non_null(c->nodes);
    tc_live_nodes = c->nodes;
    rc = tu_ns_setup(&c->ns, tc_backend);
    if (rc == 1) {
        if (tu_in_ci())
            fail_msg("backend %s is not configured but CI=true: a skipped database test "
                     "is a failure", tc_backend);
        skip();
    }
    assert_int_equal(rc, 0);
}

/* Prepares slot c->count for node id. */
static tc_node *tc_slot(tc_cluster *c, const char *id)
{
    tc_node *t = &c->nodes[c->count];
    assert_true(c->count < TC_MAX_NODES);
    snprintf(t->id, sizeof t->id, "%s", id);
    pthread_mutex_init(&t->mu, NULL);
    t->nev = 0;
    t->ev = calloc(TC_MAX_EVENTS, sizeof *t->ev);
    assert_non_null(t->ev);
    return t;
}

/* Creates the node of slot t from cfg (freed here) with the recording
 * callbacks. */
static tc_node *tc_add_config(tc_cluster *c, tc_node *t, ccoord_config *cfg)
{
    int rc = ccoord_node_new(cfg, &t->node);
    if (rc)
        fail_msg("ccoord_node_new: %s: %s", ccoord_strerror(rc), ccoord_config_error(cfg));
    ccoord_config_free(cfg);
    snprintf(t->id, sizeof t->id, "%s", ccoord_node_id(t->node));
    ccoord_on_log(t->node, tc_log_cb, t);
    if (getenv("CCOORD_TEST_VERBOSE") && atoi(getenv("CCOORD_TEST_VERBOSE")) >= 2)
        ccoord_set_log_level(t->node, CCOORD_LOG_DEBUG);
    ccoord_on_member_change(t->node, tc_member_cb, t);
    ccoord_on_task_change(t->node, tc_task_cb, t);
    c->count++;
    tc_live_count = c->count;
    return t;
}

/* The configuration tc_add() gives node id: the test's database, the
 * cluster's interval, resolver and retry count. */
static ccoord_config *tc_config(tc_cluster *c, const char *id)
{
    ccoord_config *cfg;
    size_t k;
    int rc;
    cfg = tu_config(&c->ns, id, c->interval_ms);
    if (c->resolver)
        assert_int_equal(ccoord_config_set(cfg, "task_handling", "resolver_class", c->resolver),
                         CCOORD_OK);
    for (k = 0; k < 8 && c->resolver_params[k]; k++) {
        char kv[256], *eq;
        snprintf(kv, sizeof kv, "%s", c->resolver_params[k]);
        eq = strchr(kv, '=');
        assert_non_null(eq);
        *eq = '\0';
        rc = ccoord_config_set(cfg, "task_resolver", kv, eq + 1);
        if (rc)
            fail_msg("config: %s", ccoord_config_error(cfg));
    }
    for (k = 0; k < 8 && c->settings[k]; k++) {
        char kv[256], *eq, *dot;
        snprintf(kv, sizeof kv, "%s", c->settings[k]);
        eq = strchr(kv, '=');
        dot = strchr(kv, '.');
        assert_true(eq && dot && dot < eq);
        *eq = *dot = '\0';
        if (ccoord_config_set(cfg, kv, dot + 1, eq + 1))
            fail_msg("config: %s", ccoord_config_error(cfg));
    }
    if (c->max_retry) {
        char v[16];
        snprintf(v, sizeof v, "%d", c->max_retry);
        assert_int_equal(ccoord_config_set(cfg, "cluster_config", "heartbeat_max_retry", v),
                         CCOORD_OK);
    }
    return cfg;
}

/* Creates node i (not joined). id NULL: "node-<i+1>". */
static tc_node *tc_add(tc_cluster *c, const char *id)
{
    char def[32];
    if (!id) {
        snprintf(def, sizeof def, "node-%d", c->count + 1);
        id = def;
    }
    return tc_add_config(c, tc_slot(c, id), tc_config(c, id));
}

static inline void tc_join(tc_node *t)
{
    int rc = ccoord_join(t->node);
    if (rc)
        fail_msg("ccoord_join(%s): %s: %s", t->id, ccoord_strerror(rc), ccoord_errmsg(t->node));
}

/* Adds and joins n nodes named node-1.. */
static inline void tc_start(tc_cluster *c, int n)
{
    int i;
    for (i = 0; i < n; i++)
        tc_join(tc_add(c, NULL));
}

static inline void tc_free(tc_cluster *c)
{
    tc_free_nodes(c->nodes, c->count);
    if (tc_live_nodes == c->nodes) {
        tc_live_nodes = NULL;
        tc_live_count = 0;
    }
    c->nodes = NULL;
    c->count = 0;
    tu_ns_teardown(&c->ns);
}

/* Number of recorded events of kind/event (name NULL: any). */
static inline int tc_count(tc_node *t, int kind, int event, const char *name)
{
    size_t i;
    int k = 0;
    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->nev; i++)
        if (t->ev[i].kind == kind && (event < 0 || t->ev[i].event == event) &&
            (!name || strcmp(t->ev[i].name, name) == 0))
            k++;
    pthread_mutex_unlock(&t->mu);
    return k;
}

/* Time of the first event matching at or after since_ms; -1 if none. */
static inline int64_t tc_first(tc_node *t, int kind, int event, const char *name, int64_t since_ms)
{
    size_t i;
    int64_t at = -1;
    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->nev; i++)
        if (t->ev[i].kind == kind && t->ev[i].event == event && t->ev[i].at_ms >= since_ms &&
            (!name || strcmp(t->ev[i].name, name) == 0)) {
            at = t->ev[i].at_ms;
            break;
        }
    pthread_mutex_unlock(&t->mu);
    return at;
}

/* When (tu_now_ms) the first log line containing text was recorded, or
 * -1 when none was. */
static inline int64_t tc_logged_at(tc_node *t, const char *text)
{
    size_t i;
    int64_t at = -1;
    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->nev && at < 0; i++)
        if (t->ev[i].kind == 2 && strstr(t->ev[i].name, text))
            at = t->ev[i].at_ms;
    pthread_mutex_unlock(&t->mu);
    return at;
}

/* How many log lines of level (-1: any) containing text were recorded. */
static inline int tc_count_logged_level(tc_node *t, int level, const char *text)
{
    size_t i;
    int k = 0;
    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->nev; i++)
        if (t->ev[i].kind == 2 && (level < 0 || t->ev[i].event == level) &&
            strstr(t->ev[i].name, text))
            k++;
    pthread_mutex_unlock(&t->mu);
    return k;
}

/* How many log lines containing text were recorded. */
static inline int tc_count_logged(tc_node *t, const char *text)
{
    return tc_count_logged_level(t, -1, text);
}

/* 1 when a log line containing text was recorded. */
static inline int tc_logged(tc_node *t, const char *text)
{
    return tc_logged_at(t, text) >= 0;
}

static inline int tc_member_count(tc_node *t)
{
    char **ids;
    size_t n;
    if (ccoord_members(t->node, &ids, &n) != CCOORD_OK)
        return -1;
    ccoord_free_list(ids, n);
    return (int)n;
}

static inline int tc_has_member(tc_node *t, const char *id)
{
    char **ids;
    size_t n, i;
    int found = 0;
    if (ccoord_members(t->node, &ids, &n) != CCOORD_OK)
        return 0;
    for (i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            found = 1;
    ccoord_free_list(ids, n);
    return found;
}

/* Index of the node whose acquire says yes for task (-1 none), and the
 * number of such nodes through ret_owners. */
static inline int tc_owner(tc_cluster *c, const char *task, int *ret_owners, uint64_t *ret_fence)
{
    int i, owner = -1, owners = 0;
    for (i = 0; i < c->count; i++) {
        uint64_t f;
        if (c->nodes[i].node && ccoord_acquire_task(c->nodes[i].node, task, &f) == CCOORD_OK) {
            owner = i;
            owners++;
            if (ret_fence)
                *ret_fence = f;
        }
    }
    if (ret_owners)
        *ret_owners = owners;
    return owner;
}

/* 1 when each of the tasks "<prefix><0..count-1>" has exactly one node
 * whose acquire says yes. */
static inline int tc_all_owned(tc_cluster *c, const char *prefix, int count)
{
    int t, owners;
    char name[128];
    for (t = 0; t < count; t++) {
        snprintf(name, sizeof name, "%s%d", prefix, t);
        if (tc_owner(c, name, &owners, NULL) < 0 || owners != 1)
            return 0;
    }
    return 1;
}

/* The safety checker of the fault tests.  A thread asks every node about
 * each of the tasks "<prefix><0..count-1>" every 1 ms and flags
 *   - two nodes saying yes in one pass, and
 *   - any yes with a fence older than one some node said yes with before
 *     (a node still running a task after the cluster gave it a new
 *     epoch, however briefly the two overlapped).
 * tc_sampler_stop() fails the test on the first violation, named.  Stop it
 * before freeing a node. */
#define TC_SAMPLER_TASKS 64
/* On the heap, apart from the test's stack: a failed assertion leaves the
 * test by longjmp with the sampler still running, and tc_reap() stops it
 * before it frees the nodes the sampler asks. */
typedef struct tc_sampler_run {
    tc_node *nodes; /* tc_live_nodes; tc_live_count of them */
    char prefix[64];
    int count;
    pthread_t th;
    _Atomic int stop;
    int bad;
    char what[512];
    uint64_t fence[TC_SAMPLER_TASKS]; /* highest fence said yes with */
    long samples, yes;
} tc_sampler_run;

typedef struct tc_sampler {
    tc_sampler_run *r;
} tc_sampler;

static tc_sampler_run *tc_live_sampler;

static inline void tc_sampler_flag(tc_sampler_run *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void tc_sampler_flag(tc_sampler_run *s, const char *fmt, ...)
{
    va_list ap;
    if (s->bad)
        return;
    s->bad = 1;
    va_start(ap, fmt);
    vsnprintf(s->what, sizeof s->what, fmt, ap);
    va_end(ap);
}

static inline void *tc_sampler_main(void *arg)
{
    tc_sampler_run *s = arg;
    char name[128];
    int t, i;
    while (!s->stop) {
        int nodes = tc_live_count;
        for (t = 0; t < s->count; t++) {
            int owners = 0, first = -1;
            uint64_t first_f = 0;
            snprintf(name, sizeof name, "%s%d", s->prefix, t);
            for (i = 0; i < nodes; i++) {
                uint64_t f = 0;
                ccoord_node *n = s->nodes[i].node;
                if (!n || ccoord_acquire_task(n, name, &f) != CCOORD_OK)
                    continue;
                s->yes++;
                if (owners++ == 0) {
                    first = i;
                    first_f = f;
                } else {
                    tc_sampler_flag(s, "%s: %s (fence %llu) and %s (fence %llu) both said yes "
                                       "in one sample", name, s->nodes[first].id,
                                    (unsigned long long)first_f, s->nodes[i].id,
                                    (unsigned long long)f);
                }
                if (f < s->fence[t])
                    tc_sampler_flag(s, "%s: %s said yes with fence %llu after fence %llu had "
                                       "been granted", name, s->nodes[i].id,
                                    (unsigned long long)f, (unsigned long long)s->fence[t]);
                else
                    s->fence[t] = f;
            }
        }
        s->samples++;
        tu_sleep_ms(1);
    }
    return NULL;
}

/* Ends the sampler's thread and frees it; returns what it flagged (into
 * what) and its counts. */
static inline int tc_sampler_end(tc_sampler_run *r, char *what, size_t len, long *samples,
                                 long *yes)
{
    int bad;
    r->stop = 1;
    pthread_join(r->th, NULL);
    bad = r->bad;
    snprintf(what, len, "%s", r->what);
    *samples = r->samples;
    *yes = r->yes;
    if (tc_live_sampler == r)
        tc_live_sampler = NULL;
    free(r);
    return bad;
}

static inline void tc_sampler_reap(void)
{
    char what[512];
    long samples, yes;
    if (tc_live_sampler)
        tc_sampler_end(tc_live_sampler, what, sizeof what, &samples, &yes);
}

static inline void tc_sampler_start(tc_sampler *s, tc_cluster *c, const char *prefix, int count)
{
    tc_sampler_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_true(count <= TC_SAMPLER_TASKS);
    assert_null(tc_live_sampler); /* one at a time */
    r->nodes = c->nodes;
    snprintf(r->prefix, sizeof r->prefix, "%s", prefix);
    r->count = count;
    s->r = r;
    tc_live_sampler = r;
    tc_reap_sampler = tc_sampler_reap;
    assert_int_equal(pthread_create(&r->th, NULL, tc_sampler_main, r), 0);
}

/* Stops the sampler; fails the test if it flagged anything. */
static inline void tc_sampler_stop(tc_sampler *s)
{
    char what[512];
    long samples, yes;
    int count = s->r->count;
    int bad = tc_sampler_end(s->r, what, sizeof what, &samples, &yes);
    s->r = NULL;
    if (bad)
        fail_msg("safety: %s", what);
    printf("      [%s] %ld samples of %d task(s), %ld yes: never two owners, fences only "
           "grew\n",
           tc_backend, samples, count, yes);
}

static inline int tc_leader(tc_cluster *c, int *ret_leaders)
{
    int i, leader = -1, n = 0;
    for (i = 0; i < c->count; i++)
        if (c->nodes[i].node && ccoord_is_leader(c->nodes[i].node)) {
            leader = i;
            n++;
        }
    if (ret_leaders)
        *ret_leaders = n;
    return leader;
}

/* Polls cond every 2 ms for up to timeout_ms (times tc_time_scale);
 * returns elapsed ms or -1. */
#define TC_WAIT(timeout_ms, cond)                                   \
    ({                                                              \
        int64_t tc_t0_ = tu_now_ms(), tc_r_ = -1;                   \
        for (;;) {                                                  \
            if (cond) {                                             \
                tc_r_ = tu_now_ms() - tc_t0_;                       \
                break;                                              \
            }                                                       \
            if (tu_now_ms() - tc_t0_ > (timeout_ms) * tc_time_scale) \
                break;                                              \
            tu_sleep_ms(2);                                         \
        }                                                           \
        tc_r_;                                                      \
    })

/* Registers the tasks "<prefix><0..count-1>" on nodes from .. c->count-1,
 * then waits up to wait_ms (TC_WAIT) for each to have exactly one owner;
 * fails the test otherwise, saying when. */
static inline void tc_register_owned(tc_cluster *c, int from, const char *prefix, int count,
                                     long wait_ms, const char *when)
{
    char name[128];
    int i, t;
    for (i = from; i < c->count; i++)
        for (t = 0; t < count; t++) {
            snprintf(name, sizeof name, "%s%d", prefix, t);
            assert_int_equal(ccoord_task_register(c->nodes[i].node, name), CCOORD_OK);
        }
    if (TC_WAIT(wait_ms, tc_all_owned(c, prefix, count)) < 0)
        fail_msg("%s0..%d not all owned %s", prefix, count - 1, when);
}

/* Adds and joins n nodes (tc_start), waits until each sees all n members
 * (up to wait_ms per node) and until there is a leader (up to 3 s);
 * returns the leader's index. */
static inline int tc_start_settled(tc_cluster *c, int n, long wait_ms)
{
    int i;
    tc_start(c, n);
    for (i = 0; i < n; i++)
        if (TC_WAIT(wait_ms, tc_member_count(&c->nodes[i]) == n) < 0)
            fail_msg("%s sees %d members of %d", c->nodes[i].id, tc_member_count(&c->nodes[i]),
                     n);
    assert_true(TC_WAIT(3000, tc_leader(c, NULL) >= 0) >= 0);
    return tc_leader(c, NULL);
}

/* Runs the given tests once per backend, as groups "<name>/<backend>". */
static inline int tc_run_all(const char *name, const struct CMUnitTest *tests, size_t count)
{
    const char *names[TU_MAX_BACKENDS];
    int nb = tu_backend_names(names, TU_MAX_BACKENDS), i, failed = 0;
    char group[64];
    /* CCOORD_TEST_FILTER="*leave*" runs only the matching tests */
    const char *scale = getenv("CCOORD_TEST_TIME_SCALE");
    if (getenv("CCOORD_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CCOORD_TEST_FILTER"));
    if (scale && *scale) {
        char *end;
        long v = strtol(scale, &end, 10);
        if (*end || v < 1 || v > 50) {
            fprintf(stderr, "CCOORD_TEST_TIME_SCALE = %s: not a whole number from 1 to 50\n",
                    scale);
            return 1;
        }
        tc_time_scale = (int)v;
    }
    for (i = 0; i < nb; i++) {
        tc_backend = names[i];
        snprintf(group, sizeof group, "%s/%s", name, names[i]);
        failed += _cmocka_run_group_tests(group, tests, count, NULL, NULL);
        tc_reap();
    }
    return failed;
}

#endif
