/*
 * test/node_dispatch.c: host code never runs on the heartbeat thread.
 * Member and task callbacks that block for ten times the timeout on one
 * node of three delay only the events after them: nobody is removed, the
 * node keeps its tasks (acquire says yes throughout), the events arrive
 * afterwards in order.  The same with host dispatch (ccoord_event_fd,
 * ccoord_dispatch) and a host that does not dispatch for that long; host
 * dispatch delivers every event on the dispatching thread.  Runs on every
 * configured backend.
 *
 * The thread-dispatch tests compile against a library without host
 * dispatch too (the host-dispatch ones need 1.1): built against the
 * library before the dispatcher existed, both failed (see CHANGELOG).
 */
#include "cluster.h"

#include <poll.h>
#include <unistd.h>

#define IV (100 * tc_time_scale)
#define TIMEOUT (3 * IV)
#define BLOCK (10 * TIMEOUT)
#define NTASKS 6

/* ---- callbacks that block once when asked to --------------------------- */

static _Atomic int block_member, block_task; /* one-shot: the next such event blocks */
static _Atomic int64_t block_start_ms, block_end_ms;

static void block_now(void)
{
    atomic_store(&block_start_ms, tu_now_ms());
    tu_sleep_ms(BLOCK);
    atomic_store(&block_end_ms, tu_now_ms());
}

static void slow_member_cb(ccoord_node *n, int event, const char *id, void *ud)
{
    tc_member_cb(n, event, id, ud);
    if (atomic_exchange(&block_member, 0))
        block_now();
}

static void slow_task_cb(ccoord_node *n, int event, const char *task, uint64_t fence, void *ud)
{
    tc_task_cb(n, event, task, fence, ud);
    /* only only-here's ASSIGNED blocks: another task's event that comes
     * first (a late move of a job-N) must not start the block before
     * only-here is owned (seen under ASan: "lost only-here") */
    if (event == CCOORD_TASK_ASSIGNED && strcmp(task, "only-here") == 0 &&
        atomic_exchange(&block_task, 0))
        block_now();
}

static void arm(_Atomic int *which)
{
    atomic_store(&block_start_ms, 0);
    atomic_store(&block_end_ms, 0);
    atomic_store(which, 1);
}

static void task_name(char *buf, size_t len, int i)
{
    snprintf(buf, len, "job-%d", i);
}

/* Three nodes, NTASKS tasks registered everywhere, each owned once. */
static void start_three(tc_cluster *c)
{
    int i, k;
    char t[32];
    tc_start_settled(c, 3, 3000);
    for (k = 0; k < NTASKS; k++) {
        task_name(t, sizeof t, k);
        for (i = 0; i < 3; i++)
            assert_int_equal(ccoord_task_register(c->nodes[i].node, t), CCOORD_OK);
    }
    for (k = 0; k < NTASKS; k++) {
        int owners = 0;
        task_name(t, sizeof t, k);
        if (TC_WAIT(5000, tc_owner(c, t, &owners, NULL) >= 0 && owners == 1) < 0)
            fail_msg("[%s] %s is not owned once (%d owners)", tc_backend, t, owners);
    }
}

/* The node of the first three that owns most tasks. */
static int busiest(tc_cluster *c)
{
    int i, best = 0;
    size_t most = 0;
    for (i = 0; i < 3; i++) {
        char **names;
        size_t n;
        assert_int_equal(ccoord_owned_tasks(c->nodes[i].node, &names, &n), CCOORD_OK);
        if (n > most) {
            most = n;
            best = i;
        }
        ccoord_free_list(names, n);
    }
    assert_true(most > 0);
    return best;
}

/* While the sleeper's callback blocks: every task it owned when the block
 * began stays acquirable, no node sees fewer than `members` members,
 * nobody records REMOVED or SELF_EVICTED.  Fails at the first breach. */
static void watch_liveness(tc_cluster *c, int sleeper, int members, const char *also_owned)
{
    char **mine;
    size_t nmine, i;
    int k, samples = 0;
    assert_int_equal(ccoord_owned_tasks(c->nodes[sleeper].node, &mine, &nmine), CCOORD_OK);
    assert_true(nmine > 0);
    while (atomic_load(&block_end_ms) == 0) {
        for (i = 0; i < nmine; i++)
            if (ccoord_acquire_task(c->nodes[sleeper].node, mine[i], NULL) != CCOORD_OK)
                fail_msg("[%s] %s lost %s %lld ms into a blocked callback", tc_backend,
                         c->nodes[sleeper].id, mine[i],
                         (long long)(tu_now_ms() - atomic_load(&block_start_ms)));
        if (also_owned && ccoord_acquire_task(c->nodes[sleeper].node, also_owned, NULL) != CCOORD_OK)
            fail_msg("[%s] %s lost %s during the blocked callback", tc_backend,
                     c->nodes[sleeper].id, also_owned);
        for (k = 0; k < c->count; k++) {
            int m = tc_member_count(&c->nodes[k]);
            if (m >= 0 && m < members)
                fail_msg("[%s] %s sees %d members (of %d) during the blocked callback",
                         tc_backend, c->nodes[k].id, m, members);
            if (tc_count(&c->nodes[k], 0, CCOORD_MEMBER_REMOVED, NULL) ||
                tc_count(&c->nodes[k], 0, CCOORD_MEMBER_SELF_EVICTED, NULL))
                fail_msg("[%s] %s recorded a removal during the blocked callback", tc_backend,
                         c->nodes[k].id);
        }
        samples++;
        tu_sleep_ms(10);
    }
    print_message("      [%s] %s blocked %lld ms (timeout %d ms): %d samples, %zu task(s) kept, "
                  "nobody removed\n",
                  tc_backend, c->nodes[sleeper].id,
                  (long long)(atomic_load(&block_end_ms) - atomic_load(&block_start_ms)),
                  TIMEOUT, samples, nmine);
    ccoord_free_list(mine, nmine);
}

/* Position of the first recorded event of kind/event/name on t, -1 none. */
static long position(tc_node *t, int kind, int event, const char *name)
{
    size_t i;
    long at = -1;
    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->nev && at < 0; i++)
        if (t->ev[i].kind == kind && t->ev[i].event == event && strcmp(t->ev[i].name, name) == 0)
            at = (long)i;
    pthread_mutex_unlock(&t->mu);
    return at;
}

static int64_t recorded_at(tc_node *t, long pos)
{
    int64_t at;
    pthread_mutex_lock(&t->mu);
    at = t->ev[pos].at_ms;
    pthread_mutex_unlock(&t->mu);
    return at;
}

/* ---- thread dispatch ----------------------------------------------------- */

static void test_dispatch_blocked_member_callback_keeps_node_alive(void **state)
{
    tc_cluster c;
    int s;
    long added, joined_later;
    (void)state;
    tc_init(&c, IV);
    start_three(&c);
    s = busiest(&c);
    ccoord_on_member_change(c.nodes[s].node, slow_member_cb, &c.nodes[s]);
    arm(&block_member);
    tc_join(tc_add(&c, "node-4")); /* ADDED on the sleeper: its callback blocks */
    if (TC_WAIT(3000, atomic_load(&block_start_ms) != 0) < 0)
        fail_msg("[%s] the member callback of %s never ran", tc_backend, c.nodes[s].id);
    /* an event queued behind the blocked callback */
    tc_join(tc_add(&c, "node-5"));
    watch_liveness(&c, s, 3, NULL);
    assert_true(TC_WAIT(3000, tc_count(&c.nodes[s], 0, CCOORD_MEMBER_ADDED, "node-5") == 1) >= 0);
    added = position(&c.nodes[s], 0, CCOORD_MEMBER_ADDED, "node-4");
    joined_later = position(&c.nodes[s], 0, CCOORD_MEMBER_ADDED, "node-5");
    assert_true(added >= 0 && joined_later > added);
    /* delayed, not lost: delivered once the callback returned */
    assert_true(recorded_at(&c.nodes[s], joined_later) >= atomic_load(&block_end_ms));
    assert_int_equal(tc_member_count(&c.nodes[s]), 5);
    tc_free(&c);
}

static void test_dispatch_blocked_task_callback_keeps_tasks(void **state)
{
    tc_cluster c;
    int s;
    long assigned, added;
    (void)state;
    tc_init(&c, IV);
    start_three(&c);
    s = busiest(&c);
    ccoord_on_task_change(c.nodes[s].node, slow_task_cb, &c.nodes[s]);
    arm(&block_task);
    /* a task only the sleeper can run: its ASSIGNED blocks the callback */
    assert_int_equal(ccoord_task_register(c.nodes[s].node, "only-here"), CCOORD_OK);
    if (TC_WAIT(5000, atomic_load(&block_start_ms) != 0) < 0)
        fail_msg("[%s] the task callback of %s never ran", tc_backend, c.nodes[s].id);
    tc_join(tc_add(&c, "node-4"));
    watch_liveness(&c, s, 3, "only-here");
    assert_true(TC_WAIT(3000, tc_count(&c.nodes[s], 0, CCOORD_MEMBER_ADDED, "node-4") == 1) >= 0);
    assigned = position(&c.nodes[s], 1, CCOORD_TASK_ASSIGNED, "only-here");
    added = position(&c.nodes[s], 0, CCOORD_MEMBER_ADDED, "node-4");
    assert_true(assigned >= 0 && added > assigned);
    assert_true(recorded_at(&c.nodes[s], added) >= atomic_load(&block_end_ms));
    assert_int_equal(ccoord_acquire_task(c.nodes[s].node, "only-here", NULL), CCOORD_OK);
    tc_free(&c);
}

/* A callback may call the library, ccoord_leave() included. */
static _Atomic int leave_rc = 1;
static void leave_from_cb(ccoord_node *n, int event, const char *id, void *ud)
{
    tc_member_cb(n, event, id, ud);
    if (event == CCOORD_MEMBER_ADDED && strcmp(id, "node-3") == 0) {
        char **ids;
        size_t k;
        assert_int_equal(ccoord_members(n, &ids, &k), CCOORD_OK);
        ccoord_free_list(ids, k);
        atomic_store(&leave_rc, ccoord_leave(n));
    }
}

static void test_dispatch_callback_may_leave_its_node(void **state)
{
    tc_cluster c;
    (void)state;
    tc_init(&c, IV);
    tc_start_settled(&c, 2, 3000);
    atomic_store(&leave_rc, 1);
    ccoord_on_member_change(c.nodes[0].node, leave_from_cb, &c.nodes[0]);
    tc_join(tc_add(&c, "node-3"));
    assert_true(TC_WAIT(3000, atomic_load(&leave_rc) != 1) >= 0);
    assert_int_equal(atomic_load(&leave_rc), CCOORD_OK);
    assert_true(TC_WAIT(3000, !tc_has_member(&c.nodes[1], c.nodes[0].id)) >= 0);
    tc_free(&c);
}

/* Issue 15: no callback runs before ccoord_join has returned.  A test
 * hook holds node-2's join at its very end for 30 intervals and joins
 * node-3 meanwhile; node-2's MEMBER_ADDED for it must come after its
 * join returned.  Before, it was delivered while join was still running
 * (as LEADER_CHANGED was in the issue). */
static _Atomic int in_join_end, cb_during_join, cb_after;
static tc_node *late_joiner;
static void join_end_hook(ccoord_node *n)
{
    (void)n;
    atomic_store(&in_join_end, 1);
    tc_join(late_joiner); /* node-2 sees it join while its own join runs */
    tu_sleep_ms(30 * IV);
    atomic_store(&in_join_end, 0);
}

static void join_order_cb(ccoord_node *n, int event, const char *id, void *ud)
{
    if (atomic_load(&in_join_end))
        atomic_fetch_add(&cb_during_join, 1);
    else
        atomic_fetch_add(&cb_after, 1);
    tc_member_cb(n, event, id, ud);
}

static void test_dispatch_no_callback_before_join_returns(void **state)
{
    tc_cluster c;
    tc_node *t;
    (void)state;
    atomic_store(&cb_during_join, 0);
    atomic_store(&cb_after, 0);
    tc_init(&c, IV);
    tc_start(&c, 1);
    t = tc_add(&c, NULL);
    late_joiner = tc_add(&c, NULL);
    ccoord_on_member_change(t->node, join_order_cb, t);
    ccoord__test_set_join_end(t->node, join_end_hook);
    tc_join(t);
    ccoord__test_set_join_end(t->node, NULL);
    assert_true(TC_WAIT(3000, atomic_load(&cb_after) > 0) >= 0);
    print_message("      [%s] callbacks during join: %d, after: %d\n", tc_backend,
                  atomic_load(&cb_during_join), atomic_load(&cb_after));
    assert_int_equal(atomic_load(&cb_during_join), 0);
    tc_free(&c);
}

/* The log callback never runs while the node's state lock is held by the
 * logging thread (glibc records the owner's thread id in the mutex). */
static _Atomic int under_lock, log_lines;
static void lock_checking_log(ccoord_node *n, int level, const char *msg, void *ud)
{
    if (n->mu.__data.__owner == (int)gettid()) {
        atomic_fetch_add(&under_lock, 1);
        fprintf(stderr, "      log line under the state lock: %s\n", msg);
    }
    atomic_fetch_add(&log_lines, 1);
    tc_log_cb(n, level, msg, ud);
}

static void test_dispatch_log_callback_never_under_state_lock(void **state)
{
    tc_cluster c;
    int i, leader, owner, owners = 0;
    (void)state;
    atomic_store(&under_lock, 0);
    atomic_store(&log_lines, 0);
    tc_init(&c, IV);
    for (i = 0; i < 3; i++)
        ccoord_on_log(tc_add(&c, NULL)->node, lock_checking_log, &c.nodes[i]);
    for (i = 0; i < 3; i++)
        tc_join(&c.nodes[i]);
    for (i = 0; i < 3; i++)
        assert_int_equal(ccoord_task_register(c.nodes[i].node, "logged"), CCOORD_OK);
    assert_true(TC_WAIT(5000, (owner = tc_owner(&c, "logged", &owners, NULL)) >= 0) >= 0);
    assert_int_equal(ccoord_task_pause(c.nodes[owner].node, "logged"), CCOORD_OK);
    assert_true(TC_WAIT(3000, tc_logged(&c.nodes[owner], "Task paused")) >= 0);
    assert_int_equal(ccoord_task_resume(c.nodes[owner].node, "logged"), CCOORD_OK);
    assert_true(TC_WAIT(3000, (leader = tc_leader(&c, NULL)) >= 0) >= 0);
    assert_int_equal(ccoord_leave(c.nodes[leader].node), CCOORD_OK); /* steps down */
    assert_true(TC_WAIT(3000, tc_logged(&c.nodes[(leader + 1) % 3], "Member removed")) >= 0);
    print_message("      [%s] %d log lines, %d under the state lock\n", tc_backend,
                  atomic_load(&log_lines), atomic_load(&under_lock));
    assert_int_equal(atomic_load(&under_lock), 0);
    assert_true(atomic_load(&log_lines) >= 8);
    tc_free(&c);
}

#if CCOORD_VERSION_AT_LEAST(1, 1, 0)

/* ---- host dispatch ------------------------------------------------------- */

static int fd_readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Adds a node in host dispatch; returns its descriptor. */
static int add_host_node(tc_cluster *c, const char *id)
{
    tc_node *t = tc_add(c, id);
    int fd = -1, fd2 = -1;
    assert_int_equal(ccoord_event_fd(t->node, &fd), CCOORD_OK);
    assert_true(fd >= 0);
    assert_int_equal(ccoord_event_fd(t->node, &fd2), CCOORD_OK);
    assert_int_equal(fd2, fd);
    return fd;
}

static void test_dispatch_host_that_does_not_dispatch_keeps_node_alive(void **state)
{
    tc_cluster c;
    int fd, k, i, ran;
    char t[32];
    long added, assigned;
    (void)state;
    tc_init(&c, IV);
    fd = add_host_node(&c, "node-1");
    tc_join(&c.nodes[0]);
    assert_true(TC_WAIT(1000, fd_readable(fd)) >= 0); /* LEADER_CHANGED at least */
    tc_join(tc_add(&c, "node-2"));
    tc_join(tc_add(&c, "node-3"));
    for (k = 0; k < NTASKS; k++) {
        task_name(t, sizeof t, k);
        for (i = 0; i < 3; i++)
            assert_int_equal(ccoord_task_register(c.nodes[i].node, t), CCOORD_OK);
    }
    assert_int_equal(ccoord_task_register(c.nodes[0].node, "only-here"), CCOORD_OK);
    assert_true(TC_WAIT(5000, ccoord_acquire_task(c.nodes[0].node, "only-here", NULL) ==
                                  CCOORD_OK) >= 0);
    /* the host does not dispatch for BLOCK while node-4 joins */
    atomic_store(&block_end_ms, 0);
    atomic_store(&block_start_ms, tu_now_ms());
    tc_join(tc_add(&c, "node-4"));
    {
        int64_t until = tu_now_ms() + BLOCK;
        while (tu_now_ms() < until) {
            assert_int_equal(ccoord_acquire_task(c.nodes[0].node, "only-here", NULL), CCOORD_OK);
            for (i = 0; i < c.count; i++)
                assert_int_equal(tc_count(&c.nodes[i], 0, CCOORD_MEMBER_REMOVED, NULL), 0);
            assert_true(tc_member_count(&c.nodes[0]) >= 3);
            tu_sleep_ms(10);
        }
    }
    assert_int_equal(c.nodes[0].nev - (size_t)tc_count(&c.nodes[0], 2, -1, NULL), 0);
    assert_true(fd_readable(fd));
    ran = ccoord_dispatch(c.nodes[0].node);
    print_message("      [%s] host did not dispatch for %d ms (timeout %d ms): nobody removed, "
                  "then %d callback(s) ran\n", tc_backend, BLOCK, TIMEOUT, ran);
    assert_true(ran >= 4);
    added = position(&c.nodes[0], 0, CCOORD_MEMBER_ADDED, "node-4");
    assigned = position(&c.nodes[0], 1, CCOORD_TASK_ASSIGNED, "only-here");
    assert_true(position(&c.nodes[0], 0, CCOORD_MEMBER_ADDED, "node-2") <
                position(&c.nodes[0], 0, CCOORD_MEMBER_ADDED, "node-3"));
    assert_true(assigned >= 0 && added > assigned);
    tc_free(&c);
}

/* The host's loop: poll the descriptor, dispatch, until told to stop. */
typedef struct host_loop {
    ccoord_node *node;
    int fd;
    _Atomic int stop;
    pthread_t self;
    _Atomic int ran, wrong_thread;
} host_loop;

static host_loop *the_loop;

static void *host_loop_main(void *arg)
{
    host_loop *h = arg;
    while (!atomic_load(&h->stop)) {
        struct pollfd p = {h->fd, POLLIN, 0};
        if (poll(&p, 1, 20) == 1) {
            int ran = ccoord_dispatch(h->node);
            assert_true(ran >= 0);
            atomic_fetch_add(&h->ran, ran);
        }
    }
    return NULL;
}

/* node-1 in host dispatch, the loop not started yet (the_loop = h). */
static void host_loop_setup(tc_cluster *c, host_loop *h)
{
    memset(h, 0, sizeof *h);
    the_loop = h;
    h->fd = add_host_node(c, "node-1");
    h->node = c->nodes[0].node;
}

/* Starts the loop; its id is known before any event exists (they start
 * at join). */
static pthread_t host_loop_start(host_loop *h)
{
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, host_loop_main, h), 0);
    h->self = th;
    return th;
}

static void note_thread(void)
{
    if (!pthread_equal(pthread_self(), the_loop->self))
        atomic_fetch_add(&the_loop->wrong_thread, 1);
}

static void thread_member_cb(ccoord_node *n, int event, const char *id, void *ud)
{
    note_thread();
    tc_member_cb(n, event, id, ud);
}

static void thread_task_cb(ccoord_node *n, int event, const char *task, uint64_t fence, void *ud)
{
    note_thread();
    tc_task_cb(n, event, task, fence, ud);
}

static void test_dispatch_host_events_only_on_dispatching_thread(void **state)
{
    tc_cluster c;
    host_loop h;
    pthread_t th;
    int leader;
    (void)state;
    tc_init(&c, IV);
    host_loop_setup(&c, &h);
    ccoord_on_member_change(h.node, thread_member_cb, &c.nodes[0]);
    ccoord_on_task_change(h.node, thread_task_cb, &c.nodes[0]);
    th = host_loop_start(&h);
    tc_join(&c.nodes[0]);
    tc_join(tc_add(&c, "node-2"));
    tc_join(tc_add(&c, "node-3"));
    assert_int_equal(ccoord_task_register(h.node, "t-1"), CCOORD_OK);
    assert_int_equal(ccoord_task_register(h.node, "t-2"), CCOORD_OK);
    assert_true(TC_WAIT(5000, tc_count(&c.nodes[0], 1, CCOORD_TASK_ASSIGNED, NULL) == 2) >= 0);
    /* a leave (REMOVED) and this node's own leave (REVOKED): still on the loop */
    leader = tc_leader(&c, NULL);
    assert_int_equal(ccoord_leave(c.nodes[leader == 1 ? 2 : 1].node), CCOORD_OK);
    assert_true(TC_WAIT(3000, tc_count(&c.nodes[0], 0, CCOORD_MEMBER_REMOVED, NULL) == 1) >= 0);
    assert_int_equal(ccoord_leave(h.node), CCOORD_OK);
    assert_true(TC_WAIT(3000, tc_count(&c.nodes[0], 1, CCOORD_TASK_REVOKED, NULL) == 2) >= 0);
    atomic_store(&h.stop, 1);
    pthread_join(th, NULL);
    print_message("      [%s] %d callback(s) ran, %d on another thread than the host's loop\n",
                  tc_backend, atomic_load(&h.ran), atomic_load(&h.wrong_thread));
    assert_true(atomic_load(&h.ran) >= 7); /* 2 ADDED, LEADER_CHANGED, 2 ASSIGNED, REMOVED, 2 REVOKED */
    assert_int_equal(atomic_load(&h.wrong_thread), 0);
    tc_free(&c);
}

/* ccoord_on_log_dispatched in host dispatch: every line, also those the
 * background thread logs ("Member added"), reaches the sink on the
 * host's loop. */
static _Atomic int log_seen_added;
static void thread_log_cb(ccoord_node *n, int level, const char *msg, void *ud)
{
    note_thread();
    atomic_fetch_add(&the_loop->ran, 1);
    if (strstr(msg, "Member added [node-2]"))
        atomic_store(&log_seen_added, 1);
    tc_log_cb(n, level, msg, ud);
}

static void test_dispatch_log_lines_on_the_host_loop(void **state)
{
    tc_cluster c;
    host_loop h;
    pthread_t th;
    (void)state;
    tc_init(&c, IV);
    atomic_store(&log_seen_added, 0);
    host_loop_setup(&c, &h);
    assert_int_equal(ccoord_on_log_dispatched(h.node, thread_log_cb, &c.nodes[0]), CCOORD_OK);
    th = host_loop_start(&h);
    tc_join(&c.nodes[0]);
    tc_join(tc_add(&c, "node-2"));
    assert_true(TC_WAIT(5000, atomic_load(&log_seen_added)) >= 0);
    assert_int_equal(ccoord_leave(h.node), CCOORD_OK);
    atomic_store(&h.stop, 1);
    pthread_join(th, NULL);
    print_message("      [%s] %d log line(s) through the host's loop, %d on another thread\n",
                  tc_backend, atomic_load(&h.ran), atomic_load(&h.wrong_thread));
    assert_true(tc_logged(&c.nodes[0], "Successfully joined"));
    assert_int_equal(atomic_load(&h.wrong_thread), 0);
    tc_free(&c);
}

/* A dispatched log sink that blocks for ten timeouts (a Python main
 * thread holding the GIL) delays lines, not the heartbeat: the node keeps
 * its tasks and membership, and the lines come afterwards. */
static _Atomic int block_log;
static void slow_log_cb(ccoord_node *n, int level, const char *msg, void *ud)
{
    tc_log_cb(n, level, msg, ud);
    if (strstr(msg, "Member added [node-4]") && atomic_exchange(&block_log, 0))
        block_now();
}

static void test_dispatch_blocked_log_sink_keeps_node_alive(void **state)
{
    tc_cluster c;
    int s;
    (void)state;
    tc_init(&c, IV);
    start_three(&c);
    s = busiest(&c);
    ccoord_on_log_dispatched(c.nodes[s].node, slow_log_cb, &c.nodes[s]);
    arm(&block_log);
    tc_join(tc_add(&c, "node-4")); /* node s's background thread logs "Member added" */
    if (TC_WAIT(3000, atomic_load(&block_start_ms) != 0) < 0)
        fail_msg("[%s] the log sink of %s never got the line", tc_backend, c.nodes[s].id);
    tc_join(tc_add(&c, "node-5"));
    /* the three first members stay (the others may not have read node-4
     * yet when the block begins) */
    watch_liveness(&c, s, 3, NULL);
    /* delayed, not lost */
    assert_true(TC_WAIT(3000, tc_logged(&c.nodes[s], "Member added [node-5]")) >= 0);
    assert_true(tc_logged_at(&c.nodes[s], "Member added [node-5]") >= atomic_load(&block_end_ms));
    tc_free(&c);
}

static void test_dispatch_mode_misuse_refused(void **state)
{
    tc_cluster c;
    int fd = -1;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 1);
    assert_int_equal(ccoord_event_fd(NULL, &fd), CCOORD_EINVAL);
    assert_int_equal(ccoord_event_fd(c.nodes[0].node, NULL), CCOORD_EINVAL);
    assert_int_equal(ccoord_dispatch(NULL), CCOORD_EINVAL);
    assert_int_equal(ccoord_event_fd(c.nodes[0].node, &fd), CCOORD_EMISUSE);
    assert_non_null(strstr(ccoord_errmsg(c.nodes[0].node), "call ccoord_event_fd before"));
    assert_int_equal(fd, -1);
    assert_int_equal(ccoord_dispatch(c.nodes[0].node), CCOORD_EMISUSE);
    assert_non_null(strstr(ccoord_errmsg(c.nodes[0].node), "own thread"));
    /* after a leave the node still has its dispatcher: still refused */
    assert_int_equal(ccoord_leave(c.nodes[0].node), CCOORD_OK);
    assert_int_equal(ccoord_event_fd(c.nodes[0].node, &fd), CCOORD_EMISUSE);
    /* a host-dispatch node with nothing waiting: 0, descriptor not readable */
    fd = add_host_node(&c, "node-2");
    assert_int_equal(ccoord_dispatch(c.nodes[1].node), 0);
    assert_false(fd_readable(fd));
    tc_free(&c);
}

#endif

/* Issue 14 item 4: the default sink's line names the node (one process
 * may run several).  Standard error goes to a file while one node, with
 * no log callback, joins and leaves. */
static void test_dispatch_default_log_line_names_the_node(void **state)
{
    tc_cluster c;
    ccoord_config *cfg;
    ccoord_node *n = NULL;
    char path[] = "/tmp/ccoord-stderr-XXXXXX", buf[8192];
    int fd, saved, rc;
    ssize_t got;
    (void)state;
    tc_init(&c, IV);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    saved = dup(2);
    assert_true(saved >= 0 && dup2(fd, 2) == 2);
    cfg = tc_config(&c, "dl-1");
    rc = ccoord_node_new(cfg, &n);
    ccoord_config_free(cfg);
    if (rc == CCOORD_OK) {
        rc = ccoord_join(n);
        if (rc == CCOORD_OK)
            rc = ccoord_leave(n);
        ccoord_node_free(n);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc, CCOORD_OK);
    got = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    assert_true(got > 0);
    buf[got] = '\0';
    if (!strstr(buf, " INFO {clustercoord} [dl-1] - Successfully joined the cluster with id "
                     "[dl-1]") ||
        !strstr(buf, " INFO {clustercoord} [dl-1] - Left the cluster"))
        fail_msg("the default sink's lines do not name the node:\n%s", buf);
    tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_blocked_member_callback_keeps_node_alive),
        cmocka_unit_test(test_dispatch_blocked_task_callback_keeps_tasks),
        cmocka_unit_test(test_dispatch_callback_may_leave_its_node),
        cmocka_unit_test(test_dispatch_no_callback_before_join_returns),
        cmocka_unit_test(test_dispatch_log_callback_never_under_state_lock),
#if CCOORD_VERSION_AT_LEAST(1, 1, 0)
        cmocka_unit_test(test_dispatch_host_that_does_not_dispatch_keeps_node_alive),
        cmocka_unit_test(test_dispatch_host_events_only_on_dispatching_thread),
        cmocka_unit_test(test_dispatch_log_lines_on_the_host_loop),
        cmocka_unit_test(test_dispatch_blocked_log_sink_keeps_node_alive),
        cmocka_unit_test(test_dispatch_mode_misuse_refused),
        cmocka_unit_test(test_dispatch_default_log_line_names_the_node),
#endif
    };
    return tc_run_all("dispatch", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
