/*
 * test/node_membership.c: several nodes in one process on one database:
 * join, events, leader election, failure detection and self-fencing,
 * graceful leave, duplicate ids, rejoin, concurrent start on an empty
 * database.  Runs on every configured backend (see testutil.h).
 *
 * Bounds: the design's figures (one interval, timeout + intervals) plus a
 * fixed slack for scheduling and database latency on a loaded 2-core CI
 * machine; the measured figures are printed.
 */
#include "cluster.h"

#include <dirent.h>

#define IV (100 * tc_time_scale) /* heartbeat interval in ms */
#define TIMEOUT (3 * IV) /* heartbeat_max_retry 3 */
#define SLACK (150 * tc_time_scale) /* scheduling + database latency allowance */

static void test_membership_three_nodes_see_each_other(void **state)
{
    tc_cluster c;
    int i, j;
    char **ids;
    size_t n;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 3);
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            if (i == j)
                continue;
            if (TC_WAIT(5000, tc_count(&c.nodes[i], 0, CCOORD_MEMBER_ADDED, c.nodes[j].id) == 1) < 0)
                fail_msg("%s never saw %s added", c.nodes[i].id, c.nodes[j].id);
        }
        assert_true(tc_logged(&c.nodes[i], "Successfully joined the cluster with id ["));
    }
    /* nobody sees itself added, and nothing is added twice */
    for (i = 0; i < 3; i++) {
        assert_int_equal(tc_count(&c.nodes[i], 0, CCOORD_MEMBER_ADDED, c.nodes[i].id), 0);
        assert_int_equal(tc_count(&c.nodes[i], 0, CCOORD_MEMBER_ADDED, NULL), 2);
    }
    /* members in join order on every node */
    for (i = 0; i < 3; i++) {
        assert_int_equal(TC_WAIT(2000, tc_member_count(&c.nodes[i]) == 3) >= 0, 1);
        assert_int_equal(ccoord_members(c.nodes[i].node, &ids, &n), CCOORD_OK);
        assert_int_equal(n, 3);
        assert_string_equal(ids[0], "node-1");
        assert_string_equal(ids[1], "node-2");
        assert_string_equal(ids[2], "node-3");
        ccoord_free_list(ids, n);
    }
    /* log lines of the reference */
    assert_true(tc_logged(&c.nodes[0], "Member added [node-2]"));
    tc_free(&c);
}

static void test_membership_one_leader_at_a_time(void **state)
{
    tc_cluster c;
    int64_t start;
    int leaders, max_leaders = 0, samples = 0, leader;
    char *lid = NULL;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 3);
    assert_true(TC_WAIT(3000, tc_leader(&c, NULL) >= 0) >= 0);
    start = tu_now_ms();
    while (tu_now_ms() - start < 1500 * tc_time_scale) {
        tc_leader(&c, &leaders);
        if (leaders > max_leaders)
            max_leaders = leaders;
        samples++;
        tu_sleep_ms(1);
    }
    assert_int_equal(max_leaders, 1);
    assert_true(samples > 100);
    leader = tc_leader(&c, NULL);
    assert_true(leader >= 0);
    assert_true(tc_logged(&c.nodes[leader], "Current node state changed from: MEMBER to: COORDINATOR"));
    /* every node knows who leads */
    assert_true(TC_WAIT(2000, ccoord_leader(c.nodes[(leader + 1) % 3].node, &lid) == CCOORD_OK &&
                                  (strcmp(lid, c.nodes[leader].id) == 0 || (ccoord_free(lid), 0))) >= 0);
    ccoord_free(lid);
    tc_free(&c);
}

static void test_membership_leader_leave_hands_over_within_one_interval(void **state)
{
    tc_cluster c;
    int leader, leaders;
    int64_t took;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 3);
    assert_true(TC_WAIT(3000, tc_leader(&c, NULL) >= 0) >= 0);
    leader = tc_leader(&c, NULL);
    assert_int_equal(ccoord_leave(c.nodes[leader].node), CCOORD_OK);
    took = TC_WAIT(3000, tc_leader(&c, &leaders) >= 0 && tc_leader(&c, NULL) != leader);
    print_message("      [%s] new leader %lld ms after the leader left (interval %d ms)\n",
                  tc_backend, (long long)took, IV);
    assert_true(took >= 0);
    assert_true(took <= IV + SLACK);
    tc_leader(&c, &leaders);
    assert_int_equal(leaders, 1);
    tc_free(&c);
}

static void test_membership_graceful_leave_seen_within_one_interval(void **state)
{
    tc_cluster c;
    int64_t t0, a, b;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 3);
    assert_true(TC_WAIT(3000, tc_member_count(&c.nodes[0]) == 3 && tc_member_count(&c.nodes[2]) == 3) >= 0);
    tu_sleep_ms(3 * IV);
    t0 = tu_now_ms();
    assert_int_equal(ccoord_leave(c.nodes[1].node), CCOORD_OK);
    assert_true(TC_WAIT(3000, tc_first(&c.nodes[0], 0, CCOORD_MEMBER_REMOVED, "node-2", t0) >= 0 &&
                                  tc_first(&c.nodes[2], 0, CCOORD_MEMBER_REMOVED, "node-2", t0) >= 0) >= 0);
    a = tc_first(&c.nodes[0], 0, CCOORD_MEMBER_REMOVED, "node-2", t0) - t0;
    b = tc_first(&c.nodes[2], 0, CCOORD_MEMBER_REMOVED, "node-2", t0) - t0;
    print_message("      [%s] graceful leave -> Member removed: %lld ms, %lld ms (interval %d ms)\n",
                  tc_backend, (long long)a, (long long)b, IV);
    assert_true(a <= IV + SLACK && b <= IV + SLACK);
    assert_true(tc_logged(&c.nodes[0], "Member removed [node-2]"));
    /* leaving again is a misuse that says so */
    assert_int_equal(ccoord_leave(c.nodes[1].node), CCOORD_ENOTJOINED);
    assert_non_null(strstr(ccoord_errmsg(c.nodes[1].node), "not joined"));
    tc_free(&c);
}

static void test_membership_stopped_node_removed_after_its_lease_lapsed(void **state)
{
    tc_cluster c;
    int64_t t0, gone0, gone2;
    ccoord_node *x;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 3);
    assert_true(TC_WAIT(3000, tc_leader(&c, NULL) >= 0) >= 0);
    /* stop a follower's thread as SIGSTOP would */
    x = c.nodes[tc_leader(&c, NULL) == 1 ? 2 : 1].node;
    assert_true(TC_WAIT(3000, tc_member_count(&c.nodes[0]) == 3) >= 0);
    tu_sleep_ms(2 * IV);
    ccoord__test_freeze(x, 1);
    t0 = tu_now_ms();
    {
        const char *xid = ccoord_node_id(x);
        int a = x == c.nodes[1].node ? 0 : 0, b = x == c.nodes[1].node ? 2 : 1;
        /* the member list changes before the callback runs: wait for both */
        TC_WAIT(5000, !tc_has_member(&c.nodes[a], xid) && !tc_has_member(&c.nodes[b], xid) &&
                          tc_first(&c.nodes[a], 0, CCOORD_MEMBER_REMOVED, xid, t0) >= 0 &&
                          tc_first(&c.nodes[b], 0, CCOORD_MEMBER_REMOVED, xid, t0) >= 0);
        assert_false(tc_has_member(&c.nodes[a], xid));
        assert_false(tc_has_member(&c.nodes[b], xid));
        gone0 = tc_first(&c.nodes[a], 0, CCOORD_MEMBER_REMOVED, xid, t0);
        gone2 = tc_first(&c.nodes[b], 0, CCOORD_MEMBER_REMOVED, xid, t0);
        if (gone0 < 0 || gone2 < 0)
            fail_msg("%s removed from %s at %lld, from %s at %lld (t0 %lld); added events %d %d",
                     xid, c.nodes[a].id, (long long)gone0, c.nodes[b].id, (long long)gone2,
                     (long long)t0, tc_count(&c.nodes[a], 0, CCOORD_MEMBER_ADDED, xid),
                     tc_count(&c.nodes[b], 0, CCOORD_MEMBER_ADDED, xid));
        /* its own lease had lapsed before anybody removed it: the lease
         * (timeout - interval after its last heartbeat began) ends before
         * the observers' timeout can */
        assert_true(ccoord__now_ns() >= atomic_load(&x->lease_until));
        assert_true(atomic_load(&x->lease_until) / 1000000 <= (gone0 < gone2 ? gone0 : gone2));
        print_message("      [%s] stopped node removed after %lld / %lld ms (timeout %d ms, "
                      "interval %d ms)\n",
                      tc_backend, (long long)(gone0 - t0), (long long)(gone2 - t0), TIMEOUT, IV);
        /* heartbeat stopped at most one interval before t0 */
        assert_true(gone0 - t0 <= TIMEOUT + 2 * IV + SLACK);
        assert_true(gone2 - t0 <= TIMEOUT + 2 * IV + SLACK);
        assert_true(tc_logged(&c.nodes[a], "Member removed ["));
    }
    tc_free(&c);
}

static void test_membership_rejoin_after_eviction(void **state)
{
    tc_cluster c;
    int64_t t0;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 2);
    assert_true(TC_WAIT(3000, tc_leader(&c, NULL) >= 0 && tc_member_count(&c.nodes[0]) == 2 &&
                                  tc_member_count(&c.nodes[1]) == 2) >= 0);
    {
        int f = tc_leader(&c, NULL) == 0 ? 1 : 0, l = 1 - f;
        t0 = tu_now_ms();
        ccoord__test_freeze(c.nodes[f].node, 1);
        assert_true(TC_WAIT(5000, tc_first(&c.nodes[l], 0, CCOORD_MEMBER_REMOVED, c.nodes[f].id, t0) >= 0) >= 0);
        ccoord__test_freeze(c.nodes[f].node, 0);
        /* it finds itself evicted, says so, rejoins; the other sees it added */
        assert_true(TC_WAIT(5000, tc_count(&c.nodes[f], 0, CCOORD_MEMBER_SELF_EVICTED, NULL) == 1) >= 0);
        assert_true(TC_WAIT(5000, tc_first(&c.nodes[l], 0, CCOORD_MEMBER_ADDED, c.nodes[f].id, t0) >= 0) >= 0);
        assert_true(TC_WAIT(3000, tc_member_count(&c.nodes[f]) == 2 && tc_member_count(&c.nodes[l]) == 2) >= 0);
    }
    tc_free(&c);
}

static void test_membership_duplicate_live_id_refused(void **state)
{
    tc_cluster c;
    tc_node *dup;
    int rc;
    int64_t t0, took;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 1);
    dup = tc_add(&c, "node-1");
    t0 = tu_now_ms();
    rc = ccoord_join(dup->node);
    took = tu_now_ms() - t0;
    assert_int_equal(rc, CCOORD_EDUPNODE);
    assert_non_null(strstr(ccoord_errmsg(dup->node), "node-1"));
    assert_true(took <= TIMEOUT + SLACK);
    /* the live node is undisturbed */
    tu_sleep_ms(2 * IV);
    assert_int_equal(tc_count(&c.nodes[0], 0, CCOORD_MEMBER_SELF_EVICTED, NULL), 0);
    assert_int_equal(tc_member_count(&c.nodes[0]), 1);
    tc_free(&c);
}

static void test_membership_dead_process_row_taken_over(void **state)
{
    tc_cluster c;
    tc_node *again;
    int64_t t0, took;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 1);
    /* the only node (the leader, so nobody evicts it) stops dead */
    assert_true(TC_WAIT(3000, tc_leader(&c, NULL) == 0) >= 0);
    ccoord__test_freeze(c.nodes[0].node, 1);
    again = tc_add(&c, "node-1");
    t0 = tu_now_ms();
    assert_int_equal(ccoord_join(again->node), CCOORD_OK);
    took = tu_now_ms() - t0;
    assert_true(took >= TIMEOUT - 10); /* it watched for the timeout */
    assert_true(TC_WAIT(3000, ccoord_is_leader(again->node)) >= 0);
    assert_int_equal(tc_member_count(again), 1);
    tc_free(&c);
}

struct starter {
    tc_cluster *c;
    int i;
    int rc;
    char err[1024];
};

static void *start_one(void *arg)
{
    struct starter *s = arg;
    s->rc = ccoord_join(s->c->nodes[s->i].node);
    /* ccoord_errmsg() is per thread */
    snprintf(s->err, sizeof s->err, "%s", ccoord_errmsg(s->c->nodes[s->i].node));
    return NULL;
}

static void test_membership_twenty_nodes_start_at_once_on_empty_database(void **state)
{
    tc_cluster c;
    pthread_t th[20];
    struct starter st[20];
    int i, leaders;
    (void)state;
    tc_init(&c, IV);
    for (i = 0; i < 20; i++)
        tc_add(&c, NULL);
    for (i = 0; i < 20; i++) {
        st[i].c = &c;
        st[i].i = i;
        st[i].rc = -100;
        assert_int_equal(pthread_create(&th[i], NULL, start_one, &st[i]), 0);
    }
    /* every join has returned before anything is asserted: a failure must
     * not leave joins running on nodes that the next test frees */
    for (i = 0; i < 20; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < 20; i++)
        if (st[i].rc != CCOORD_OK)
            fail_msg("node %d: %s: %s", i, ccoord_strerror(st[i].rc), st[i].err);
    for (i = 0; i < 20; i++)
        if (TC_WAIT(10000, tc_member_count(&c.nodes[i]) == 20) < 0)
            fail_msg("node %d sees %d members", i, tc_member_count(&c.nodes[i]));
    assert_true(TC_WAIT(5000, tc_leader(&c, &leaders) >= 0) >= 0);
    tc_leader(&c, &leaders);
    assert_int_equal(leaders, 1);
    tc_free(&c);
}

/* 1 when nodes a and b list the same members in the same order. */
static int same_members(tc_node *a, tc_node *b)
{
    char **x = NULL, **y = NULL;
    size_t nx = 0, ny = 0, i;
    int same;
    if (ccoord_members(a->node, &x, &nx) != CCOORD_OK)
        return 0;
    if (ccoord_members(b->node, &y, &ny) != CCOORD_OK) {
        ccoord_free_list(x, nx);
        return 0;
    }
    same = nx == ny;
    for (i = 0; same && i < nx; i++)
        same = strcmp(x[i], y[i]) == 0;
    ccoord_free_list(x, nx);
    ccoord_free_list(y, ny);
    return same;
}

/* Followers read only the member rows that joined since their last read:
 * with the whole list re-read on every join, a cluster of N members
 * reads N^2 rows per join (bench/README.md, scale). */
static void test_membership_followers_read_only_new_members(void **state)
{
    tc_cluster c;
    unsigned long before[8];
    int i, j, leader;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, 8);
    for (i = 0; i < 8; i++)
        if (TC_WAIT(10000, tc_member_count(&c.nodes[i]) == 8) < 0)
            fail_msg("%s sees %d members of 8", c.nodes[i].id, tc_member_count(&c.nodes[i]));
    assert_true(TC_WAIT(3000, tc_leader(&c, NULL) >= 0) >= 0);
    leader = tc_leader(&c, NULL);
    tu_sleep_ms(2 * IV);
    for (i = 0; i < 8; i++)
        before[i] = ccoord__test_member_rows(c.nodes[i].node);
    for (j = 8; j < 12; j++) {
        tc_join(tc_add(&c, NULL));
        for (i = 0; i <= j; i++)
            if (TC_WAIT(10000, tc_member_count(&c.nodes[i]) == j + 1) < 0)
                fail_msg("%s sees %d members of %d", c.nodes[i].id,
                         tc_member_count(&c.nodes[i]), j + 1);
    }
    tu_sleep_ms(2 * IV);
    assert_int_equal(tc_leader(&c, NULL), leader);
    for (i = 0; i < 8; i++) {
        unsigned long rows = ccoord__test_member_rows(c.nodes[i].node) - before[i];
        if (i == leader)
            continue; /* the leader reads every heartbeat */
        if (i == (leader + 1) % 8)
            print_message("      [%s] %s read %lu member rows while 4 members joined a group "
                          "of 8\n", tc_backend, c.nodes[i].id, rows);
        /* the 4 new rows; reading the whole list once is 9 rows or more */
        if (rows != 4)
            fail_msg("%s read %lu member rows while 4 members joined (the new rows are 4; "
                     "whole lists re-read on every join are 9 + 10 + 11 + 12)",
                     c.nodes[i].id, rows);
        assert_true(same_members(&c.nodes[i], &c.nodes[leader]));
    }
    tc_free(&c);
}

/* A follower that misses several changes (its process stopped for less
 * than its lease) catches up right: a member that left and joined again
 * under its id is removed and added; a leave hidden behind a join (the
 * member count is unchanged) is seen; the view ends equal to the
 * leader's. */
static void test_membership_follower_catches_up_on_missed_leaves_and_joins(void **state)
{
    tc_cluster c;
    tc_node *w, *f, *again;
    unsigned long rows0;
    int fi, leader;
    int64_t t0;
    (void)state;
    tc_init(&c, IV);
    c.max_retry = 30; /* a lease of 29 intervals: the freezes stay well inside it */
    tc_start(&c, 4);
    for (fi = 0; fi < 4; fi++)
        if (TC_WAIT(5000, tc_member_count(&c.nodes[fi]) == 4) < 0)
            fail_msg("%s sees %d members of 4", c.nodes[fi].id, tc_member_count(&c.nodes[fi]));
    assert_true(TC_WAIT(3000, tc_leader(&c, NULL) >= 0) >= 0);
    leader = tc_leader(&c, NULL);
    /* the follower f is node-1 or node-4, the one not leading; w the other */
    fi = leader == 0 ? 3 : 0;
    f = &c.nodes[fi];
    w = &c.nodes[fi == 0 ? 3 : 0];
    tu_sleep_ms(2 * IV);

    /* node-2 leaves and joins again (a new incarnation under its id);
     * node-5 joins: 5 rows, and f's 4 plus 2 new ones less node-2's old */
    t0 = tu_now_ms();
    ccoord__test_freeze(f->node, 1);
    assert_int_equal(ccoord_leave(c.nodes[1].node), CCOORD_OK);
    again = tc_add(&c, "node-2");
    tc_join(again);
    tc_join(tc_add(&c, "node-5"));
    if (TC_WAIT(5000, tc_member_count(w) == 5 && tc_has_member(w, "node-5") &&
                          tc_first(w, 0, CCOORD_MEMBER_ADDED, "node-2", t0) >= 0) < 0)
        fail_msg("%s did not see node-2 again and node-5", w->id);
    rows0 = ccoord__test_member_rows(f->node);
    ccoord__test_freeze(f->node, 0);
    if (TC_WAIT(5000, tc_first(f, 0, CCOORD_MEMBER_ADDED, "node-5", t0) >= 0 &&
                          tc_first(f, 0, CCOORD_MEMBER_ADDED, "node-2", t0) >= 0) < 0)
        fail_msg("%s did not catch up after its freeze", f->id);
    assert_true(tc_first(f, 0, CCOORD_MEMBER_REMOVED, "node-2", t0) >= 0);
    assert_true(tc_first(f, 0, CCOORD_MEMBER_REMOVED, "node-2", t0) <=
                tc_first(f, 0, CCOORD_MEMBER_ADDED, "node-2", t0));
    assert_int_equal(tc_count(f, 0, CCOORD_MEMBER_REMOVED, NULL), 1);
    assert_true(TC_WAIT(2000, same_members(f, w)) >= 0);
    /* it read the two new rows, not the list */
    assert_true(ccoord__test_member_rows(f->node) - rows0 < 5);

    /* node-3 leaves and node-6 joins: the count stays 5, so f must notice
     * the leave by the count of the rows it already had */
    t0 = tu_now_ms();
    ccoord__test_freeze(f->node, 1);
    assert_int_equal(ccoord_leave(c.nodes[2].node), CCOORD_OK);
    tc_join(tc_add(&c, "node-6"));
    if (TC_WAIT(5000, tc_member_count(w) == 5 && tc_has_member(w, "node-6") &&
                          !tc_has_member(w, "node-3")) < 0)
        fail_msg("%s did not see node-3 leave and node-6 join", w->id);
    ccoord__test_freeze(f->node, 0);
    if (TC_WAIT(5000, tc_first(f, 0, CCOORD_MEMBER_REMOVED, "node-3", t0) >= 0 &&
                          tc_first(f, 0, CCOORD_MEMBER_ADDED, "node-6", t0) >= 0) < 0)
        fail_msg("%s did not see node-3 removed and node-6 added after its freeze", f->id);
    assert_true(TC_WAIT(2000, same_members(f, w)) >= 0);
    assert_int_equal(tc_member_count(f), 5);
    /* nobody was evicted on the way */
    assert_int_equal(tc_count(f, 0, CCOORD_MEMBER_SELF_EVICTED, NULL), 0);
    assert_int_equal(tc_count(w, 0, CCOORD_MEMBER_REMOVED, f->id), 0);
    tc_free(&c);
}

static void test_membership_hostile_ids_stored_verbatim(void **state)
{
    static const char *ids[] = {"o'brien", "back\\slash", "semi;colon", "'; DROP TABLE x; --",
                                "\"quoted\"", "ünïcødé-节点"};
    tc_cluster c;
    size_t i, n, k;
    char **got;
    (void)state;
    tc_init(&c, IV);
    for (i = 0; i < sizeof ids / sizeof ids[0]; i++)
        tc_join(tc_add(&c, ids[i]));
    assert_true(TC_WAIT(5000, tc_member_count(&c.nodes[0]) == (int)(sizeof ids / sizeof ids[0])) >= 0);
    assert_int_equal(ccoord_members(c.nodes[0].node, &got, &n), CCOORD_OK);
    for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int found = 0;
        for (k = 0; k < n; k++)
            if (strcmp(got[k], ids[i]) == 0)
                found = 1;
        if (!found)
            fail_msg("id %s not read back verbatim", ids[i]);
    }
    ccoord_free_list(got, n);
    tc_free(&c);
}

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_membership_leave_and_free_leave_no_thread(void **state)
{
    tc_cluster c;
    int before;
    (void)state;
    tc_init(&c, IV);
    before = count_threads();
    tc_start(&c, 2);
    assert_true(count_threads() > before);
    assert_int_equal(ccoord_leave(c.nodes[0].node), CCOORD_OK);
    ccoord_node_free(c.nodes[0].node);
    c.nodes[0].node = NULL;
    ccoord_node_free(c.nodes[1].node); /* leaves first */
    c.nodes[1].node = NULL;
    assert_int_equal(count_threads(), before);
    tc_free(&c);
}

static void test_membership_api_misuse_errors(void **state)
{
    tc_cluster c;
    char **ids;
    size_t n;
    char *lid;
    (void)state;
    tc_init(&c, IV);
    tc_add(&c, NULL);
    assert_int_equal(ccoord_members(c.nodes[0].node, &ids, &n), CCOORD_ENOTJOINED);
    assert_int_equal(ccoord_leader(c.nodes[0].node, &lid), CCOORD_ENOTJOINED);
    assert_int_equal(ccoord_members(NULL, &ids, &n), CCOORD_EINVAL);
    assert_int_equal(ccoord_join(NULL), CCOORD_EINVAL);
    tc_join(&c.nodes[0]);
    assert_int_equal(ccoord_join(c.nodes[0].node), CCOORD_EMISUSE);
    assert_int_equal(ccoord_set_log_level(c.nodes[0].node, 9), CCOORD_EINVAL);
    assert_string_equal(ccoord_node_id(c.nodes[0].node), "node-1");
    tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_membership_three_nodes_see_each_other),
        cmocka_unit_test(test_membership_one_leader_at_a_time),
        cmocka_unit_test(test_membership_leader_leave_hands_over_within_one_interval),
        cmocka_unit_test(test_membership_graceful_leave_seen_within_one_interval),
        cmocka_unit_test(test_membership_stopped_node_removed_after_its_lease_lapsed),
        cmocka_unit_test(test_membership_rejoin_after_eviction),
        cmocka_unit_test(test_membership_duplicate_live_id_refused),
        cmocka_unit_test(test_membership_dead_process_row_taken_over),
        cmocka_unit_test(test_membership_twenty_nodes_start_at_once_on_empty_database),
        cmocka_unit_test(test_membership_followers_read_only_new_members),
        cmocka_unit_test(test_membership_follower_catches_up_on_missed_leaves_and_joins),
        cmocka_unit_test(test_membership_hostile_ids_stored_verbatim),
        cmocka_unit_test(test_membership_leave_and_free_leave_no_thread),
        cmocka_unit_test(test_membership_api_misuse_errors),
    };
    return tc_run_all("membership", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
