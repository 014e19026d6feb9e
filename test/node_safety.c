/*
 * test/node_safety.c: the safety rule under adversarial use of the API
 * (issue 17).  Each test runs a safety checker (tc_sampler: every node
 * asked about every task every 1 ms; two yeses in one sample, or a yes
 * with a fence older than one already granted, fail the test) and ends
 * with the liveness rule (every task owned again within a bound).
 *
 *   api churn        3 nodes in one process, 12 threads calling acquire,
 *                    register, unregister, pause, resume and members at
 *                    random (every backend)
 *   reply latency    2 nodes re-registering one task every 100 / 170 ms
 *                    while one node's background connection's replies arrive 300 ms late
 *                    (through test/proxy.h; pgsql and mysql)
 *   slow refresh     the same race forced: the owner's refresh stalls
 *                    150 ms after its read (test hook) while the owner
 *                    unregisters and registers again (every backend)
 *   partitioned exit ccoord_leave and ccoord_node_free on a node whose
 *                    traffic is blackholed return within its statement
 *                    timeout and a bound (pgsql and mysql)
 *   stalled leader   the leader stopped resp. cut off inside its pass's
 *                    transaction: the others keep their tasks, one takes
 *                    over within a bound (pgsql and mysql)
 *   forked child     owns nothing, uses nothing of the parent's, frees
 *                    (every backend)
 *   latency          the leader 25 ms each way from its database keeps
 *                    its lease, leadership and tasks (pgsql and mysql)
 *   outage           the database stops answering every node for four
 *                    timeouts, the leader comes back half a timeout after
 *                    the others: nobody is evicted before its evictor has
 *                    watched it for a timeout again (pgsql and mysql)
 *   slow resolver    the leader's plugin sleeps 6 timeouts: it stays the
 *                    leader, the task is placed when it returns
 *   stuck resolver   the plugin never returns: leave and free return, the
 *                    next leader places the task, the plugin is unloaded
 *                    when it returns at last (both every backend)
 *
 * Both found two owners before a refresh that read "owner = me" was kept
 * from granting after an unregister raced it (lib/task.c, own_gen).
 * CCOORD_TEST_CHURN_S=N runs each churn N seconds (default 6).
 */
#include "cluster.h"
#include "proxy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define IV (100 * tc_time_scale)
#define NODES 3
#define TASKS 4
#define THREADS 12

static long churn_ms(void)
{
    const char *e = getenv("CCOORD_TEST_CHURN_S");
    long s = e && atoi(e) > 0 ? atoi(e) : 6;
    /* not scaled: a slower clock (valgrind) makes fewer calls, not a
     * longer test */
    return s * 1000;
}

/* After the churn: every task registered on every node and active again,
 * then owned by one node within the bound. */
static void settle(tc_cluster *c, const char *prefix, int tasks, long bound_ms)
{
    char name[64];
    int i, t, rc;
    int64_t t0 = tu_now_ms();
    for (t = 0; t < tasks; t++) {
        snprintf(name, sizeof name, "%s%d", prefix, t);
        for (i = 0; i < c->count; i++) {
            rc = ccoord_task_register(c->nodes[i].node, name);
            if (rc)
                fail_msg("register %s on %s: %s", name, c->nodes[i].id,
                         ccoord_errmsg(c->nodes[i].node));
        }
        rc = ccoord_task_resume(c->nodes[0].node, name);
        if (rc != CCOORD_OK && rc != CCOORD_ESTATE)
            fail_msg("resume %s: %s", name, ccoord_errmsg(c->nodes[0].node));
    }
    if (TC_WAIT(bound_ms, tc_all_owned(c, prefix, tasks)) < 0) {
        for (t = 0; t < tasks; t++) {
            char owner[128], st[32], epoch[32];
            int owners;
            snprintf(name, sizeof name, "%s%d", prefix, t);
            tu_sql_value(&c->ns, owner, sizeof owner,
                         "SELECT COALESCE(owner, '-') FROM %stasks WHERE name = '%s'",
                         c->ns.prefix, name);
            tu_sql_value(&c->ns, st, sizeof st, "SELECT state FROM %stasks WHERE name = '%s'",
                         c->ns.prefix, name);
            tu_sql_value(&c->ns, epoch, sizeof epoch,
                         "SELECT epoch FROM %stasks WHERE name = '%s'", c->ns.prefix, name);
            tc_owner(c, name, &owners, NULL);
            fprintf(stderr, "      %s: owner %s, state %s, epoch %s; %d node(s) say yes\n",
                    name, owner, st, epoch, owners);
        }
        fail_msg("not every task owned %ld ms after the churn stopped", bound_ms);
    }
    printf("      [%s] every task owned again %lld ms after the churn\n", tc_backend,
           (long long)(tu_now_ms() - t0));
}

/* ---- churn threads --------------------------------------------------------- */

/* One thread of a churn: its main makes calls until `until`, counts them,
 * and keeps the first failure's text (every call is legal in these tests:
 * a failure is a database error, and fails the test). */
typedef struct churner {
    tc_cluster *c;
    tc_node *t;     /* reregister_main: its node */
    unsigned seed;  /* churn_main: its random calls */
    long period_ms; /* reregister_main: between rounds */
    pthread_t th;
    int64_t until;
    long calls, errors;
    char err[256];
} churner;

/* Runs main on w[0..n-1] (their own fields filled in) for churn_ms(), joins
 * them all, fails on the first whose calls failed; returns the calls. */
static long run_churners(churner *w, int n, void *(*main_fn)(void *))
{
    int64_t until = tu_now_ms() + churn_ms();
    long calls = 0;
    int i;
    for (i = 0; i < n; i++) {
        w[i].until = until;
        w[i].calls = w[i].errors = 0;
        w[i].err[0] = '\0';
        assert_int_equal(pthread_create(&w[i].th, NULL, main_fn, &w[i]), 0);
    }
    for (i = 0; i < n; i++)
        pthread_join(w[i].th, NULL);
    for (i = 0; i < n; i++) {
        calls += w[i].calls;
        if (w[i].errors)
            fail_msg("%ld call(s) of thread %d failed, first: %s", w[i].errors, i, w[i].err);
    }
    return calls;
}

/* ---- 12 threads, 3 nodes, every call at random ---------------------------- */

static void *churn_main(void *arg)
{
    churner *w = arg;
    char name[32];
    while (tu_now_ms() < w->until) {
        int node = (int)(rand_r(&w->seed) % (unsigned)w->c->count);
        ccoord_node *n = w->c->nodes[node].node;
        int op = (int)(rand_r(&w->seed) % 6), rc = CCOORD_OK;
        uint64_t f;
        char **ids;
        size_t k;
        snprintf(name, sizeof name, "ch-%u", rand_r(&w->seed) % TASKS);
        switch (op) {
        case 0:
            rc = ccoord_acquire_task(n, name, &f);
            rc = rc == CCOORD_ENOTOWNER ? CCOORD_OK : rc;
            break;
        case 1:
            rc = ccoord_task_register(n, name);
            break;
        case 2:
            rc = ccoord_task_unregister(n, name);
            rc = rc == CCOORD_ENOTFOUND ? CCOORD_OK : rc;
            break;
        case 3:
            rc = ccoord_task_pause(n, name);
            rc = rc == CCOORD_ESTATE || rc == CCOORD_ENOTFOUND ? CCOORD_OK : rc;
            break;
        case 4:
            rc = ccoord_task_resume(n, name);
            rc = rc == CCOORD_ESTATE || rc == CCOORD_ENOTFOUND ? CCOORD_OK : rc;
            break;
        default:
            rc = ccoord_members(n, &ids, &k);
            if (rc == CCOORD_OK)
                ccoord_free_list(ids, k);
            break;
        }
        w->calls++;
        if (rc != CCOORD_OK && !w->errors++)
            snprintf(w->err, sizeof w->err, "op %d on %.40s(%s): %s", op, w->c->nodes[node].id,
                     name, ccoord_strerror(rc));
        if (rand_r(&w->seed) % 4 == 0)
            tu_sleep_ms((long)(rand_r(&w->seed) % 3));
    }
    return NULL;
}

static void test_safety_api_churn_never_two_owners(void **state)
{
    tc_cluster c;
    tc_sampler s;
    churner w[THREADS];
    long calls;
    int i;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, NODES);
    tc_register_owned(&c, 0, "ch-", TASKS, 30 * IV, "before the churn");
    tc_sampler_start(&s, &c, "ch-", TASKS);
    memset(w, 0, sizeof w);
    for (i = 0; i < THREADS; i++) {
        w[i].c = &c;
        w[i].seed = (unsigned)(i * 7919 + tu_now_ms());
    }
    calls = run_churners(w, THREADS, churn_main);
    printf("      [%s] %ld calls by %d threads in %ld ms\n", tc_backend, calls, THREADS,
           churn_ms());
    settle(&c, "ch-", TASKS, 30 * IV);
    tu_sleep_ms(3 * IV);
    tc_sampler_stop(&s);
    tc_free(&c);
}

/* ---- re-registering while one node's replies are 300 ms late -------------- */

/* The port of the test server (its DSN's port=N). */
static int dsn_port(const tu_ns *ns)
{
    const char *p = strstr(ns->dsn, "port=");
    if (!p)
        fail_msg("no port= in the %s DSN", ns->backend);
    return atoi(p + 5);
}

/* tc_config(id) with the database traffic through px. */
static ccoord_config *proxied_config(tc_cluster *c, const char *id, tp_proxy *px)
{
    ccoord_config *cfg = tc_config(c, id);
    char port[16];
    snprintf(port, sizeof port, "%d", tp_port(px));
    assert_int_equal(ccoord_config_set(cfg, "datasource", "port", port), CCOORD_OK);
    return cfg;
}

/* Node id (not joined), its database traffic through px. */
static tc_node *add_proxied(tc_cluster *c, const char *id, tp_proxy *px)
{
    return tc_add_config(c, tc_slot(c, id), proxied_config(c, id, px));
}

static void *reregister_main(void *arg)
{
    churner *r = arg;
    while (tu_now_ms() < r->until) {
        int rc = ccoord_task_unregister(r->t->node, "rr-0");
        if (rc == CCOORD_OK)
            rc = ccoord_task_register(r->t->node, "rr-0");
        if (rc != CCOORD_OK && !r->errors++)
            snprintf(r->err, sizeof r->err, "%.40s: %.200s", r->t->id, ccoord_errmsg(r->t->node));
        r->calls++;
        tu_sleep_ms(r->period_ms);
    }
    return NULL;
}

static void test_safety_reregister_with_reply_latency(void **state)
{
    tc_cluster c;
    tc_sampler s;
    churner r[2];
    tp_proxy *px = NULL;
    int i, slow = 1, slow_iv = 4 * IV, latency = 300 * tc_time_scale;
    (void)state;
    if (strcmp(tc_backend, "sqlite3") == 0)
        skip(); /* no network between a node and its file */
    /* heartbeats that take 300 ms need a longer interval than the others'
     * 100 ms to keep a lease (timeout - interval) at all */
    tc_init(&c, slow_iv);
    for (i = 0; i < 2; i++) {
        char id[16];
        snprintf(id, sizeof id, "node-%d", i + 1);
        if (i == slow) {
            px = tp_start("127.0.0.1", dsn_port(&c.ns));
            assert_non_null(px);
            tp_delay_from(px, 1); /* its background connection, not its API one */
            tp_delay(px, 0, latency);
            tc_join(add_proxied(&c, id, px));
        } else {
            tc_join(tc_add(&c, id));
        }
    }
    tc_register_owned(&c, 0, "rr-", 1, 30 * slow_iv, "before the churn");
    tc_sampler_start(&s, &c, "rr-", 1);
    memset(r, 0, sizeof r);
    for (i = 0; i < 2; i++) {
        r[i].c = &c;
        r[i].t = &c.nodes[i];
        r[i].period_ms = (i == slow ? 170 : 100) * tc_time_scale;
    }
    run_churners(r, 2, reregister_main);
    printf("      [%s] %ld and %ld rounds of unregister + register, %s's background "
           "replies %d ms late (%ld connections through the proxy)\n",
           tc_backend, r[0].calls, r[1].calls, c.nodes[slow].id, latency, tp_accepted(px));
    settle(&c, "rr-", 1, 30 * slow_iv);
    tc_sampler_stop(&s);
    tc_free(&c);
    tp_stop(px);
}

/* ---- an unregister + register inside one slow refresh --------------------- */

/* The window of issue 17 item 1, opened on purpose: the owner's refresh
 * reads "owner = me", stalls 150 ms (a late reply; test hook; shorter
 * than the lease, which the stalled thread cannot renew), and
 * meanwhile the owner unregisters and registers the task again over its
 * API connection.  The leader gives the task to either node under a new
 * epoch; the stalled read must not grant the old fence.  Without the
 * fix the sampler saw the old owner say yes beside the new one within a
 * few rounds (half of them go to the other node). */
static void test_safety_reregister_during_slow_refresh(void **state)
{
    tc_cluster c;
    tc_sampler s;
    int round, rounds = 10, owner, stall = 150 * tc_time_scale;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 2);
    for (owner = 0; owner < 2; owner++)
        assert_int_equal(ccoord_task_register(c.nodes[owner].node, "sr-0"), CCOORD_OK);
    tc_sampler_start(&s, &c, "sr-", 1);
    for (round = 0; round < rounds; round++) {
        ccoord_node *x;
        if (TC_WAIT(30 * IV, tc_all_owned(&c, "sr-", 1)) < 0)
            fail_msg("round %d: sr-0 not owned within %d ms", round, 30 * IV);
        owner = tc_owner(&c, "sr-0", NULL, NULL);
        x = c.nodes[owner].node;
        ccoord__test_refresh_stall(x, stall);
        ccoord__request_refresh(x);
        ccoord__wake(x);
        tu_sleep_ms(stall / 3); /* its read is done: the refresh stalls */
        assert_int_equal(ccoord_task_unregister(x, "sr-0"), CCOORD_OK);
        assert_int_equal(ccoord_task_register(x, "sr-0"), CCOORD_OK);
        tu_sleep_ms(stall + 3 * IV); /* the stalled apply, the leader's move */
        ccoord__test_refresh_stall(x, 0);
    }
    settle(&c, "sr-", 1, 30 * IV);
    tc_sampler_stop(&s);
    printf("      [%s] %d rounds of unregister + register inside a %d ms refresh\n", tc_backend,
           rounds, stall);
    tc_free(&c);
}

/* ---- leave and free while partitioned ------------------------------------ */

typedef struct leaver {
    ccoord_node *node;
    int free_too;
    int rc;
    _Atomic int done;
    int64_t took_ms;
} leaver;

static void *leave_main(void *arg)
{
    leaver *l = arg;
    int64_t t0 = tu_now_ms();
    l->rc = l->free_too ? CCOORD_OK : ccoord_leave(l->node);
    if (l->free_too)
        ccoord_node_free(l->node);
    l->took_ms = tu_now_ms() - t0;
    atomic_store(&l->done, 1);
    return NULL;
}

static int leaver_done(void *arg)
{
    return atomic_load(&((leaver *)arg)->done);
}

/* Issue 17 item 2: node-2's traffic blackholed (sockets open, nothing
 * answers, no RST), then ccoord_leave resp. ccoord_node_free on it.  Both
 * must return within twice its connect_timeout (2 s here: a connection
 * attempt of the background thread in flight, then leave's statement)
 * and a bound, and node-1 must own the tasks again after node-2's
 * timeout; never two owners.  On the library before, leave joined the
 * background thread while it sat in a read with no watchdog left to cut
 * it, and never returned while the partition lasted. */
static void partitioned_exit(int free_too)
{
    tc_cluster c;
    tc_sampler s;
    tp_proxy *px;
    ccoord_config *cfg;
    tc_node *t2;
    leaver l;
    pthread_t th;
    char ct[16];
    int stmt_s = 2 * tc_time_scale;
    /* the background thread may be inside a connection attempt (cut by
     * connect_timeout only: libdbi hands out no socket before it returns),
     * then leave's transaction waits one statement timeout */
    long bound = 2 * stmt_s * 1000 + 1000 * tc_time_scale;
    if (strcmp(tc_backend, "sqlite3") == 0)
        skip(); /* no network between a node and its file */
    tc_init(&c, IV);
    tc_start(&c, 1);
    px = tp_start("127.0.0.1", dsn_port(&c.ns));
    assert_non_null(px);
    cfg = proxied_config(&c, "node-2", px);
    snprintf(ct, sizeof ct, "%d", stmt_s);
    assert_int_equal(ccoord_config_set(cfg, "datasource", "connect_timeout", ct), CCOORD_OK);
    t2 = tc_add_config(&c, tc_slot(&c, "node-2"), cfg);
    tc_join(t2);
    tc_register_owned(&c, 0, "pt-", TASKS, 30 * IV, "before the partition");
    tc_sampler_start(&s, &c, "pt-", TASKS);
    tp_hold(px, 1);
    tu_sleep_ms(3 * IV); /* node-2's background thread now waits on a reply */
    memset(&l, 0, sizeof l);
    l.node = t2->node;
    l.free_too = free_too;
    if (free_too) {
        /* the sampler must not ask a node being freed: it stops, and a
         * new one watches node-1's takeover */
        tc_sampler_stop(&s);
        t2->node = NULL;
    }
    assert_int_equal(pthread_create(&th, NULL, leave_main, &l), 0);
    if (tu_wait(leaver_done, &l, bound) < 0) {
        tp_hold(px, 0); /* let it finish, to report and clean up */
        pthread_join(th, NULL);
        fail_msg("%s did not return within %ld ms of a partition (it returned once the "
                 "partition ended, %lld ms after the call)",
                 free_too ? "ccoord_node_free" : "ccoord_leave", bound, (long long)l.took_ms);
    }
    pthread_join(th, NULL);
    if (free_too)
        tc_sampler_start(&s, &c, "pt-", TASKS);
    printf("      [%s] %s returned in %lld ms while partitioned (rc %d; bound %ld ms)\n",
           tc_backend, free_too ? "ccoord_node_free" : "ccoord_leave", (long long)l.took_ms,
           l.rc, bound);
    if (!free_too)
        assert_int_not_equal(l.rc, CCOORD_OK); /* nothing could be written */
    /* node-1 evicts node-2 after its timeout and owns every task */
    if (TC_WAIT(40 * IV, tc_all_owned(&c, "pt-", TASKS)) < 0)
        fail_msg("pt-* not owned again after node-2 left while partitioned");
    tc_sampler_stop(&s);
    tp_hold(px, 0);
    tc_free(&c);
    tp_stop(px);
}

static void test_safety_leave_while_partitioned(void **state)
{
    (void)state;
    partitioned_exit(0);
}

static void test_safety_free_while_partitioned(void **state)
{
    (void)state;
    partitioned_exit(1);
}

/* ---- a leader stopped or cut off inside its transaction ------------------ */

static tp_proxy *lk_px;
static const char *lk_where;
static int lk_stop_ms; /* > 0: the hook sleeps (a stopped node); 0: partition */
static _Atomic int lk_fired;
static _Atomic int64_t lk_fired_at;

static void lk_hook(ccoord_node *n, const char *where)
{
    if (strcmp(where, lk_where) != 0 || atomic_exchange(&lk_fired, 1))
        return;
    atomic_store(&lk_fired_at, tu_now_ms());
    if (lk_stop_ms > 0) {
        /* stopped: nothing sent, nothing read, by any thread of it (the
         * pass runs on a thread of its own) */
        ccoord__test_freeze(n, 1);
        tu_sleep_ms(lk_stop_ms);
        ccoord__test_freeze(n, 0);
    } else
        tp_hold(lk_px, 1); /* cut off: the next statement waits */
}

/* Issue 17 item 3: the leader (node-1, through test/proxy.h) stops or is
 * cut off right after a lock its resolution pass takes (the leader row,
 * or every member row: that one holds up every heartbeat).  The server
 * must end the idle transaction soon enough that node-2 and node-3 keep
 * their leases and tasks (no REVOKED), and one of them must take over the
 * leadership and place a new task within the timeout and a bound.  On the
 * library before, the others' heartbeats waited on the lock until their
 * statement timeout: every task lost, unowned for seconds. */
static void stalled_leader(const char *where, int stop)
{
    tc_cluster c;
    tc_sampler s;
    tc_node *t1;
    int i, revoked[3];
    /* MariaDB's idle_transaction_timeout counts whole seconds: its
     * clusters need an interval of 2 s for it to stay within half one */
    long iv = (strcmp(tc_backend, "mysql") == 0 ? 2000 : 300) * tc_time_scale;
    long timeout = 3 * iv, took, bound = timeout + 4 * iv;
    if (strcmp(tc_backend, "sqlite3") == 0)
        skip(); /* one writer at a time: no row locks to hold */
    tc_init(&c, iv);
    lk_px = tp_start("127.0.0.1", dsn_port(&c.ns));
    assert_non_null(lk_px);
    t1 = add_proxied(&c, "node-1", lk_px);
    tc_join(t1);
    tc_join(tc_add(&c, NULL));
    tc_join(tc_add(&c, NULL));
    if (TC_WAIT(30 * iv, ccoord_is_leader(t1->node)) < 0)
        fail_msg("node-1 did not lead");
    tc_register_owned(&c, 1, "lk-", TASKS, 30 * iv, "before the stall"); /* not node-1's */
    tc_sampler_start(&s, &c, "lk-", TASKS);
    for (i = 0; i < 3; i++)
        revoked[i] = tc_count(&c.nodes[i], 1, CCOORD_TASK_REVOKED, NULL);
    lk_where = where;
    lk_stop_ms = stop ? (int)(4 * timeout) : 0;
    atomic_store(&lk_fired, 0);
    ccoord__test_set_in_tx(t1->node, lk_hook);
    /* a new task: node-1's next pass places it, and stalls */
    for (i = 1; i < 3; i++)
        assert_int_equal(ccoord_task_register(c.nodes[i].node, "lk-new"), CCOORD_OK);
    if (TC_WAIT(10 * iv, atomic_load(&lk_fired)) < 0)
        fail_msg("node-1's pass never reached \"%s\"", where);
    if (TC_WAIT(bound, tc_owner(&c, "lk-new", NULL, NULL) > 0) < 0)
        fail_msg("lk-new not placed within %ld ms of node-1 stalling (%s, %s)", bound, where,
                 stop ? "stopped" : "partitioned");
    took = (long)(tu_now_ms() - atomic_load(&lk_fired_at));
    printf("      [%s] leader %s after \"%s\": lk-new placed %ld ms later (bound %ld); "
           "REVOKED on node-2/node-3: %d/%d\n",
           tc_backend, stop ? "stopped" : "partitioned", where, took, bound,
           tc_count(&c.nodes[1], 1, CCOORD_TASK_REVOKED, NULL) - revoked[1],
           tc_count(&c.nodes[2], 1, CCOORD_TASK_REVOKED, NULL) - revoked[2]);
    for (i = 1; i < 3; i++)
        if (tc_count(&c.nodes[i], 1, CCOORD_TASK_REVOKED, NULL) != revoked[i])
            fail_msg("%s lost a task while node-1 held its lock", c.nodes[i].id);
    assert_true(tc_all_owned(&c, "lk-", TASKS));
    tc_sampler_stop(&s);
    ccoord__test_set_in_tx(t1->node, NULL);
    tp_hold(lk_px, 0);
    tc_free(&c);
    tp_stop(lk_px);
    lk_px = NULL;
}

static void test_safety_leader_stopped_holding_leader_row(void **state)
{
    (void)state;
    stalled_leader("leader row locked", 1);
}

static void test_safety_leader_cut_off_holding_member_rows(void **state)
{
    (void)state;
    stalled_leader("member rows locked", 0);
}

/* ---- a forked child --------------------------------------------------------- */

/* In the child: what each call must say; the exit code names the first
 * that did not (0: all as they must be).  Frees both nodes at the end:
 * on the library before, that deadlocked in pthread_cond_destroy (the
 * alarm kills it then). */
static int child_checks(tc_cluster *c, int owner)
{
    uint64_t f;
    char **ids = NULL;
    size_t n = 0;
    int i;
    alarm((unsigned)(10 * tc_time_scale));
    if (ccoord_acquire_task(c->nodes[owner].node, "fk-0", &f) != CCOORD_EFORKED)
        return 10; /* the child saw the parent's lease and said yes */
    for (i = 0; i < c->count; i++)
        if (ccoord_is_leader(c->nodes[i].node))
            return 11;
    if (ccoord_task_register(c->nodes[owner].node, "fk-child") != CCOORD_EFORKED)
        return 12; /* would have gone over the parent's connection */
    if (ccoord_members(c->nodes[owner].node, &ids, &n) != CCOORD_EFORKED)
        return 13;
    if (!strstr(ccoord_errmsg(c->nodes[owner].node), "forked child"))
        return 14;
    for (i = 0; i < c->count; i++)
        ccoord_node_free(c->nodes[i].node);
    return 0;
}

/* Issue 17 item 5: a process that forks while its node owns a task.  The
 * child must own nothing and reach the database over nothing of the
 * parent's; its ccoord_node_free must return; the parent's node goes on
 * as before. */
static void test_safety_forked_child_owns_nothing(void **state)
{
    tc_cluster c;
    pid_t pid;
    int i, owner, st = -1, fds[2];
    unsigned char res = 0xff;
    ssize_t got;
    int64_t until;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 2);
    tc_register_owned(&c, 0, "fk-", 1, 30 * IV, "before the fork");
    owner = tc_owner(&c, "fk-0", NULL, NULL);
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child reports over the pipe and ends in an exec, as a
         * forked child of a host usually does: what it holds is a copy of
         * the parent's threads' memory, which memcheck would count as
         * lost at an exit (those threads are not here). */
        unsigned char r = (unsigned char)child_checks(&c, owner);
        close(fds[0]);
        if (write(fds[1], &r, 1) != 1)
            _exit(2);
        execl("/bin/true", "true", (char *)NULL);
        _exit(3);
    }
    close(fds[1]);
    until = tu_now_ms() + 20000L * tc_time_scale;
    while (waitpid(pid, &st, WNOHANG) == 0 && tu_now_ms() < until)
        tu_sleep_ms(10);
    if (tu_now_ms() >= until) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        close(fds[0]);
        fail_msg("the forked child did not finish");
    }
    got = read(fds[0], &res, 1);
    close(fds[0]);
    if (got != 1)
        fail_msg("the forked child reported nothing (%s %d: SIGALRM means ccoord_node_free "
                 "hung)", WIFSIGNALED(st) ? "signal" : "exit",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    if (res != 0)
        fail_msg("the forked child: check %d failed (10 acquire said yes, 11 is_leader, 12 "
                 "register, 13 members, 14 errmsg)", res);
    /* the parent's node is untouched */
    assert_int_equal(tc_owner(&c, "fk-0", NULL, NULL), owner);
    for (i = 0; i < 2; i++)
        assert_int_equal(ccoord_task_register(c.nodes[i].node, "fk-1"), CCOORD_OK);
    if (TC_WAIT(30 * IV, tc_all_owned(&c, "fk-", 2)) < 0)
        fail_msg("fk-1 not owned after the child exited");
    printf("      [%s] forked child: owns nothing, no call reached the parent's connection, "
           "node_free returned\n", tc_backend);
    tc_free(&c);
}

/* ---- an outage of the database for every node ---------------------------- */

/* Issue 17 item 5: the database stops answering every node for four
 * timeouts; then it answers node-2 and node-3 again, and the leader,
 * node-1, half a timeout later (its reconnect is slower).  No node may
 * declare another dead before it has watched it for a timeout after its
 * own reads came back: the others were as cut off as it was.  On the
 * library before, node-2 took the leader row over at its first read and
 * evicted node-1 at once, counting the outage as node-1's silence ("no
 * heartbeat for 898 ms" in the issue). */
static void test_safety_outage_no_eviction_before_watching(void **state)
{
    tc_cluster c;
    tc_sampler s;
    tp_proxy *px1, *px23;
    long timeout = 3 * IV, outage = 4 * timeout;
    int64_t released, first = -1;
    int i, evictions = 0;
    (void)state;
    if (strcmp(tc_backend, "sqlite3") == 0)
        skip(); /* no network between a node and its file */
    tc_init(&c, IV);
    px1 = tp_start("127.0.0.1", dsn_port(&c.ns));
    px23 = tp_start("127.0.0.1", dsn_port(&c.ns));
    assert_true(px1 && px23);
    tc_join(add_proxied(&c, "node-1", px1));
    if (TC_WAIT(30 * IV, ccoord_is_leader(c.nodes[0].node)) < 0)
        fail_msg("node-1 did not lead");
    tc_join(add_proxied(&c, "node-2", px23));
    tc_join(add_proxied(&c, "node-3", px23));
    tc_register_owned(&c, 0, "ou-", TASKS, 30 * IV, "before the outage");
    tc_sampler_start(&s, &c, "ou-", TASKS);
    tp_hold(px1, 1);
    tp_hold(px23, 1);
    tu_sleep_ms(outage);
    tp_hold(px23, 0);
    released = tu_now_ms();
    tu_sleep_ms(timeout / 2);
    tp_hold(px1, 0);
    if (TC_WAIT(40 * IV, tc_all_owned(&c, "ou-", TASKS)) < 0)
        fail_msg("ou-* not owned again after the outage");
    tu_sleep_ms(2 * timeout); /* an eviction after watching may still come */
    tc_sampler_stop(&s);
    for (i = 0; i < c.count; i++) {
        int64_t at = tc_logged_at(&c.nodes[i], "Evicted member");
        if (at >= 0) {
            evictions++;
            if (first < 0 || at < first)
                first = at;
        }
    }
    if (evictions)
        printf("      [%s] outage of %ld ms (timeout %ld): %d node(s) evicted a member, the "
               "first %lld ms after the outage ended\n",
               tc_backend, outage, timeout, evictions, (long long)(first - released));
    else
        printf("      [%s] outage of %ld ms (timeout %ld), the leader back %ld ms after the "
               "others: nobody evicted\n",
               tc_backend, outage, timeout, timeout / 2);
    if (evictions && first - released < timeout)
        fail_msg("a member was evicted %lld ms after the outage ended, before its evictor "
                 "had watched it for the timeout (%ld ms)",
                 (long long)(first - released), timeout);
    tc_free(&c);
    tp_stop(px1);
    tp_stop(px23);
}

/* ---- a leader far from its database ------------------------------------- */

/* Issue 17 item 5: the leader's every statement takes 25 ms each way
 * (all its connections; interval 300 ms); it places and then owns 8
 * tasks.  It must keep its lease and its leadership from its join on:
 * no step-down, nobody evicts it, acquire says yes nearly all the time.
 * On the library before, each resolution pass ran its dozen round trips
 * on the heartbeat thread: node-1 stepped down three times while it
 * placed its tasks and was evicted ("no heartbeat for 900 ms"). */
static void test_safety_leader_with_latency_keeps_its_tasks(void **state)
{
    tc_cluster c;
    tp_proxy *px;
    long iv = 3 * IV, run_ms = 3000L * tc_time_scale;
    int t, oneway = 25, downs; /* a network's, not scaled with the clock */
    long asked = 0, yes = 0;
    int64_t until;
    char name[32];
    (void)state;
    if (strcmp(tc_backend, "sqlite3") == 0)
        skip(); /* no network between a node and its file */
    tc_init(&c, iv);
    px = tp_start("127.0.0.1", dsn_port(&c.ns));
    assert_non_null(px);
    tp_delay(px, oneway, oneway);
    tc_join(add_proxied(&c, "node-1", px));
    if (TC_WAIT(30 * iv, ccoord_is_leader(c.nodes[0].node)) < 0)
        fail_msg("node-1 did not lead");
    tc_join(tc_add(&c, NULL));
    tc_join(tc_add(&c, NULL));
    for (t = 0; t < 8; t++) {
        snprintf(name, sizeof name, "lt-%d", t);
        assert_int_equal(ccoord_task_register(c.nodes[0].node, name), CCOORD_OK);
    }
    if (TC_WAIT(60 * iv, tc_all_owned(&c, "lt-", 8)) < 0)
        fail_msg("lt-* not owned by node-1");
    until = tu_now_ms() + run_ms;
    while (tu_now_ms() < until) {
        for (t = 0; t < 8; t++) {
            snprintf(name, sizeof name, "lt-%d", t);
            asked++;
            yes += ccoord_acquire_task(c.nodes[0].node, name, NULL) == CCOORD_OK;
        }
        tu_sleep_ms(5);
    }
    downs = tc_count_logged(&c.nodes[0], "COORDINATOR to: MEMBER");
    printf("      [%s] leader 2 x %d ms from its database (interval %ld): acquire yes %.1f %% "
           "of %ld, %d step-down(s)\n",
           tc_backend, oneway, iv, 100.0 * yes / asked, asked, downs);
    if (downs > 0 || tc_count(&c.nodes[0], 0, CCOORD_MEMBER_SELF_EVICTED, NULL) > 0)
        fail_msg("node-1 stepped down %d time(s) (evicted: %d)", downs,
                 tc_count(&c.nodes[0], 0, CCOORD_MEMBER_SELF_EVICTED, NULL));
    if (!ccoord_is_leader(c.nodes[0].node))
        fail_msg("node-1 no longer leads");
    if (yes < asked * 9 / 10)
        fail_msg("node-1 said yes to %.1f %% of acquires only", 100.0 * yes / asked);
    tc_free(&c);
    tp_stop(px);
}

/* ---- a slow or stuck resolver plugin ------------------------------------ */

/* node-1's configuration with test/plugins/t_slow and its keys. */
static ccoord_config *slow_config(tc_cluster *c, const char *const *keys)
{
    const char *pd = getenv("CCOORD_TEST_PLUGINDIR");
    ccoord_config *cfg = tc_config(c, "node-1");
    int k;
    assert_int_equal(ccoord_config_set(cfg, "task_handling", "plugin_dir",
                                       pd && *pd ? pd : "build/test/plugins"),
                     CCOORD_OK);
    assert_int_equal(ccoord_config_set(cfg, "task_handling", "resolver_class", "t_slow"),
                     CCOORD_OK);
    for (k = 0; keys[k]; k += 2)
        if (ccoord_config_set(cfg, "task_resolver", keys[k], keys[k + 1]) != CCOORD_OK)
            fail_msg("config: %s", ccoord_config_error(cfg));
    return cfg;
}

/* Issue 17 item 4: the leader's plugin sleeps six timeouts in every
 * pass.  The leader keeps its heartbeat and its leadership (nobody evicts
 * it, nobody else leads) and the tasks are placed when the plugin
 * returns.  On the library before, the plugin ran on the heartbeat
 * thread: the leader was evicted while it slept, again at every pass. */
static void test_safety_slow_resolver_keeps_the_leader(void **state)
{
    tc_cluster c;
    tc_node *t1;
    char ms[32];
    long timeout = 3 * IV, sleep_ms = 6 * timeout, bound = sleep_ms + 20 * IV;
    const char *keys[] = {"sleep_ms", ms, NULL};
    int i, removed[3];
    int64_t t0;
    (void)state;
    snprintf(ms, sizeof ms, "%ld", sleep_ms);
    tc_init(&c, IV);
    t1 = tc_add_config(&c, tc_slot(&c, "node-1"), slow_config(&c, keys));
    tc_join(t1);
    if (TC_WAIT(30 * IV, ccoord_is_leader(t1->node)) < 0)
        fail_msg("node-1 did not lead");
    tc_join(tc_add(&c, NULL));
    tc_join(tc_add(&c, NULL));
    for (i = 0; i < 3; i++)
        removed[i] = tc_count(&c.nodes[i], 0, CCOORD_MEMBER_REMOVED, NULL) +
                     tc_count(&c.nodes[i], 0, CCOORD_MEMBER_SELF_EVICTED, NULL);
    t0 = tu_now_ms();
    for (i = 1; i < 3; i++)
        assert_int_equal(ccoord_task_register(c.nodes[i].node, "sr-0"), CCOORD_OK);
    /* the leader stays the leader and a member while its plugin sleeps */
    while (tc_owner(&c, "sr-0", NULL, NULL) < 0 && tu_now_ms() - t0 < bound) {
        if (!ccoord_is_leader(t1->node))
            fail_msg("node-1 lost the leadership %lld ms into its plugin's %ld ms sleep",
                     (long long)(tu_now_ms() - t0), sleep_ms);
        tu_sleep_ms(5);
    }
    if (tc_owner(&c, "sr-0", NULL, NULL) < 0)
        fail_msg("sr-0 not placed within %ld ms (the plugin sleeps %ld ms)", bound, sleep_ms);
    printf("      [%s] plugin sleeping %ld ms (timeout %ld): sr-0 placed after %lld ms, "
           "node-1 led throughout\n",
           tc_backend, sleep_ms, timeout, (long long)(tu_now_ms() - t0));
    for (i = 0; i < 3; i++)
        if (tc_count(&c.nodes[i], 0, CCOORD_MEMBER_REMOVED, NULL) +
                tc_count(&c.nodes[i], 0, CCOORD_MEMBER_SELF_EVICTED, NULL) !=
            removed[i])
            fail_msg("%s saw a member removed while the plugin slept", c.nodes[i].id);
    if (!tc_logged(t1, "has not returned after") || !tc_logged(t1, "returned after"))
        fail_msg("node-1 did not log the slow plugin (\"has not returned after\", \"Resolver "
                 "t_slow returned after\")");
    tc_free(&c);
}

static int file_exists(void *path)
{
    return access(path, F_OK) == 0;
}

/* Issue 17 item 4: the leader's plugin never returns.  Its heartbeat goes
 * on, ccoord_leave returns after the timeout (the tasks go to the next
 * leader), ccoord_node_free returns at once, and when the plugin returns
 * at last its thread unloads it (fini runs; its log line goes nowhere).
 * On the library before, ccoord_leave waited for the background thread,
 * which sat in the plugin, for ever. */
static void test_safety_stuck_resolver_leave_and_free(void **state)
{
    tc_cluster c;
    tc_node *t1;
    leaver l;
    pthread_t th;
    char dir[] = "/tmp/ccoord-stuck.XXXXXX", hold[64], fini[64];
    const char *keys[] = {"hold_file", hold, "fini_file", fini, NULL};
    long timeout = 3 * IV, bound = timeout + 20 * IV;
    int64_t t0;
    int fd;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(hold, sizeof hold, "%s/release", dir);
    snprintf(fini, sizeof fini, "%s/unloaded", dir);
    tc_init(&c, IV);
    t1 = tc_add_config(&c, tc_slot(&c, "node-1"), slow_config(&c, keys));
    tc_join(t1);
    if (TC_WAIT(30 * IV, ccoord_is_leader(t1->node)) < 0)
        fail_msg("node-1 did not lead");
    tc_join(tc_add(&c, NULL)); /* the stock resolver */
    assert_int_equal(ccoord_task_register(c.nodes[1].node, "st-0"), CCOORD_OK);
    if (TC_WAIT(4 * timeout + 20 * IV, tc_logged(t1, "has not returned after")) < 0)
        fail_msg("node-1 did not log its stuck plugin");
    assert_true(ccoord_is_leader(t1->node));
    assert_int_equal(tc_owner(&c, "st-0", NULL, NULL), -1);
    assert_int_equal(tc_count(&c.nodes[1], 0, CCOORD_MEMBER_REMOVED, NULL), 0);

    memset(&l, 0, sizeof l);
    l.node = t1->node;
    assert_int_equal(pthread_create(&th, NULL, leave_main, &l), 0);
    if (tu_wait(leaver_done, &l, bound) < 0) {
        fd = open(hold, O_WRONLY | O_CREAT, 0600); /* let it finish, to clean up */
        close(fd);
        pthread_join(th, NULL);
        fail_msg("ccoord_leave did not return within %ld ms of a stuck plugin (it returned "
                 "%lld ms after the call, once the plugin did)",
                 bound, (long long)l.took_ms);
    }
    pthread_join(th, NULL);
    assert_int_equal(l.rc, CCOORD_OK);
    assert_true(tc_logged(t1, "Leaving without handing the tasks over"));
    if (TC_WAIT(30 * IV, tc_owner(&c, "st-0", NULL, NULL) == 1) < 0)
        fail_msg("st-0 not placed by node-2 after node-1 left");
    t0 = tu_now_ms();
    ccoord_node_free(t1->node);
    t1->node = NULL;
    printf("      [%s] stuck plugin: ccoord_leave %lld ms (timeout %ld), ccoord_node_free "
           "%lld ms\n",
           tc_backend, (long long)l.took_ms, timeout, (long long)(tu_now_ms() - t0));
    assert_true(tu_now_ms() - t0 < 10 * IV);
    assert_true(tc_logged(t1, "it is unloaded when it returns"));
    assert_false(file_exists(fini));
    fd = open(hold, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    if (tu_wait(file_exists, fini, 30 * IV) < 0)
        fail_msg("the abandoned plugin was not unloaded when it returned (no %s)", fini);
    unlink(fini);
    unlink(hold);
    rmdir(dir);
    tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safety_api_churn_never_two_owners),
        cmocka_unit_test(test_safety_reregister_with_reply_latency),
        cmocka_unit_test(test_safety_reregister_during_slow_refresh),
        cmocka_unit_test(test_safety_leave_while_partitioned),
        cmocka_unit_test(test_safety_free_while_partitioned),
        cmocka_unit_test(test_safety_leader_stopped_holding_leader_row),
        cmocka_unit_test(test_safety_leader_cut_off_holding_member_rows),
        cmocka_unit_test(test_safety_forked_child_owns_nothing),
        cmocka_unit_test(test_safety_outage_no_eviction_before_watching),
        cmocka_unit_test(test_safety_leader_with_latency_keeps_its_tasks),
        cmocka_unit_test(test_safety_slow_resolver_keeps_the_leader),
        cmocka_unit_test(test_safety_stuck_resolver_leave_and_free),
    };
    return tc_run_all("safety", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
