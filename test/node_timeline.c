/*
 * test/node_timeline.c: the coordination database goes back in time
 * (issue 12, item 2).  A promoted asynchronous standby, or a restored
 * backup, lacks commits the nodes saw: here the test lowers the group
 * version by hand and takes one epoch off every task, as if the last
 * assignments were lost.  Every node must notice (an ERROR naming both
 * versions), stop owning at once, own nothing while it re-reads, and then
 * every task must be owned again with a fence larger than any handed out
 * before; never two owners.  Runs on every configured backend.
 */
#include "cluster.h"

#define IV (100 * tc_time_scale)
#define NODES 3
#define TASKS 6

/* Fails on two owners; returns how many tasks have an owner. */
static int owned_count(tc_cluster *c)
{
    int t, owners, k = 0;
    char name[32];
    for (t = 0; t < TASKS; t++) {
        snprintf(name, sizeof name, "tl-%d", t);
        tc_owner(c, name, &owners, NULL);
        if (owners > 1)
            fail_msg("%s has %d owners", name, owners);
        k += owners;
    }
    return k;
}

static void test_timeline_lost_commits_detected(void **state)
{
    tc_cluster c;
    uint64_t before[TASKS];
    char name[32], v[128];
    long long version;
    int i, t, seen_empty = 0;
    int64_t t0;
    (void)state;
    tc_init(&c, IV);
    tc_start(&c, NODES);
    tc_register_owned(&c, 0, "tl-", TASKS, 30 * IV, "before the loss");
    for (t = 0; t < TASKS; t++) {
        snprintf(name, sizeof name, "tl-%d", t);
        tc_owner(&c, name, NULL, &before[t]);
    }
    tu_sleep_ms(3 * IV); /* every node has polled the last version */
    assert_int_equal(tu_sql_value(&c.ns, v, sizeof v,
                                  "SELECT version FROM %sgroups WHERE group_id = 'default'",
                                  c.ns.prefix),
                     0);
    version = atoll(v);
    assert_true(version > 5);
    /* the database loses its last commits */
    assert_int_equal(tu_sql(&c.ns, "UPDATE %sgroups SET version = version - 5 WHERE group_id = "
                                   "'default'",
                            c.ns.prefix),
                     0);
    assert_int_equal(tu_sql(&c.ns, "UPDATE %stasks SET epoch = epoch - 1 WHERE group_id = "
                                   "'default' AND epoch > 1",
                            c.ns.prefix),
                     0);
    t0 = tu_now_ms();
    /* each names the version it read (the first to notice raises the
     * epochs, which bumps it by one) and the one it had read before */
    snprintf(v, sizeof v, "read, %lld read before", version);
    for (i = 0; i < NODES; i++)
        if (TC_WAIT(5 * IV, tc_logged(&c.nodes[i], v) &&
                                tc_logged(&c.nodes[i], "went back in time: group version ")) < 0)
            fail_msg("%s did not log \"...went back in time: group version N %s\"",
                     c.nodes[i].id, v);
    printf("      [%s] every node noticed within %lld ms\n", tc_backend,
           (long long)(tu_now_ms() - t0));
    /* all stopped: a moment with no owner at all, then all owned again */
    for (;;) {
        int k = owned_count(&c);
        if (k == 0)
            seen_empty = 1;
        if (seen_empty && k == TASKS && tc_all_owned(&c, "tl-", TASKS))
            break;
        if (tu_now_ms() - t0 > 60 * IV * tc_time_scale)
            fail_msg("not every task owned again %lld ms after the loss (%d owned, none "
                     "owned seen: %d)",
                     (long long)(tu_now_ms() - t0), k, seen_empty);
        tu_sleep_ms(2);
    }
    printf("      [%s] every task owned again %lld ms after the loss\n", tc_backend,
           (long long)(tu_now_ms() - t0));
    /* fences only grow */
    for (t = 0; t < TASKS; t++) {
        uint64_t f = 0;
        snprintf(name, sizeof name, "tl-%d", t);
        tc_owner(&c, name, NULL, &f);
        if (f <= before[t])
            fail_msg("%s: fence %llu after the loss, %llu before", name, (unsigned long long)f,
                     (unsigned long long)before[t]);
    }
    /* and it stays one owner each */
    for (i = 0; i < 20; i++) {
        assert_int_equal(owned_count(&c), TASKS);
        tu_sleep_ms(IV / 4);
    }
    tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeline_lost_commits_detected),
    };
    return tc_run_all("timeline", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
