/*
 * test/node_failover.c: the nodes follow a PostgreSQL failover (issue 12,
 * item 2).  A primary and a standby of the test's own (test/db/servers.sh
 * pair-*), 3 nodes listing both hosts (libpq asks for the read-write one),
 * 6 tasks.  The primary is killed with SIGKILL and the standby promoted:
 *  - synchronous standby: every task is owned again within the timeout,
 *    two intervals and the promotion time (plus a second for reconnects),
 *    no two owners at any sample (every 2 ms), fences only grow;
 *  - a standby that stopped receiving WAL at a known moment, after which
 *    node-3 left and its tasks moved: promoting it loses those commits.
 *    Every remaining node logs that the database went back in time, and
 *    still no two owners, fences only grow, every task owned again.
 * PostgreSQL only (CCOORD_TEST_PAIR_PORT, default 25441, and the next port).
 */
#include "cluster.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define IV (100 * tc_time_scale)
#define NODES 3
#define TASKS 6

typedef struct pair {
    char dir[256];
    char dsn[512];
} pair;

static int pair_cmd(const pair *p, const char *what, const char *arg)
{
    char cmd[1024];
    int st;
    snprintf(cmd, sizeof cmd, "sh test/db/servers.sh %s %s %s", what, p->dir, arg ? arg : "");
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The pair of the running test, outside its stack: a failing assertion
 * leaves the test by longjmp, and the teardown stops it. */
static pair the_pair;
static pair *live_pair;

static int pair_teardown(void **state)
{
    (void)state;
    if (live_pair && live_pair->dir[0] && !getenv("CCOORD_TEST_KEEP_PAIR"))
        pair_cmd(live_pair, "pair-stop", NULL);
    live_pair = NULL;
    return 0;
}

static void pair_start(pair *p)
{
    const char *port = getenv("CCOORD_TEST_PAIR_PORT");
    FILE *f;
    char path[300];
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "%s/ccoord-pair-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(p->dir));
    live_pair = p;
    /* below the ephemeral port range (32768 on): a client socket of the
     * tests may hold a port up there when the server binds it */
    if (pair_cmd(p, "pair-start", port && *port ? port : "25441") != 0)
        fail_msg("servers.sh pair-start failed");
    snprintf(path, sizeof path, "%s/dsn", p->dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(p->dsn, sizeof p->dsn, f));
    fclose(f);
    p->dsn[strcspn(p->dsn, "\n")] = '\0';
}

/* 3 nodes on the pair, 6 tasks registered on all, all owned. */
static void start_cluster(tc_cluster *c, const pair *p)
{
    int i;
    for (i = 0; i < NODES; i++) {
        char id[16];
        tc_node *n;
        ccoord_config *cfg;
        snprintf(id, sizeof id, "node-%d", i + 1);
        n = tc_slot(c, id);
        cfg = tu_config(&c->ns, id, IV);
        /* the pair instead of the shared server: both hosts, read-write */
        if (tu_apply_dsn(cfg, p->dsn) != 0)
            fail_msg("pair dsn: %s", ccoord_config_error(cfg));
        tc_join(tc_add_config(c, n, cfg));
    }
    tc_register_owned(c, 0, "fo-", TASKS, 30 * IV, "on the primary");
}

/* Kills the primary, promotes the standby; returns when every task is
 * owned again, with the promotion's and the whole's time in ms. */
static void fail_over(tc_cluster *c, pair *p, long bound_extra_ms, long *ret_promote_ms,
                      long *ret_ms)
{
    int64_t t0 = tu_now_ms(), tp;
    long promote_ms, bound;
    if (pair_cmd(p, "pair-kill-primary", NULL) != 0)
        fail_msg("pair-kill-primary failed");
    tp = tu_now_ms();
    if (pair_cmd(p, "pair-promote", NULL) != 0)
        fail_msg("pair-promote failed");
    promote_ms = (long)(tu_now_ms() - tp);
    /* timeout + 2 intervals + the promotion, and a second for the
     * reconnects (libpq's backoff) and the resolution pass */
    bound = 3 * IV + 2 * IV + promote_ms + 1000 * tc_time_scale + bound_extra_ms;
    /* the leases granted before the kill (timeout - interval) are over
     * then: what is owned after it was renewed on the promoted standby */
    while (tu_now_ms() - t0 < 2 * IV + 10)
        tu_sleep_ms(2);
    while (!tc_all_owned(c, "fo-", TASKS)) {
        if (tu_now_ms() - t0 > bound)
            fail_msg("not every task owned again %lld ms after the kill (bound %ld ms, "
                     "promotion %ld ms)",
                     (long long)(tu_now_ms() - t0), bound, promote_ms);
        tu_sleep_ms(5);
    }
    *ret_promote_ms = promote_ms;
    *ret_ms = (long)(tu_now_ms() - t0);
}

static void test_failover_synchronous_standby(void **state)
{
    tc_cluster c;
    pair *pp = &the_pair;
    tc_sampler s;
    long promote_ms, ms;
    (void)state;
    if (strcmp(tc_backend, "pgsql") != 0)
        skip();
    tc_init(&c, IV);
    pair_start(pp);
    if (pair_cmd(pp, "pair-standby", "sync") != 0)
        fail_msg("pair-standby sync failed");
    start_cluster(&c, pp);
    tc_sampler_start(&s, &c, "fo-", TASKS);
    tu_sleep_ms(3 * IV);
    fail_over(&c, pp, 0, &promote_ms, &ms);
    printf("      [pgsql] primary killed, standby promoted in %ld ms: every task owned, on "
           "leases renewed on the new primary, %ld ms after the kill (timeout + 2 intervals + "
           "the promotion: %ld ms)\n",
           promote_ms, ms, (long)(5 * IV + promote_ms));
    tu_sleep_ms(5 * IV); /* and it stays so */
    tc_sampler_stop(&s);
    assert_true(tc_all_owned(&c, "fo-", TASKS));
    tc_free(&c);
    pair_teardown(NULL);
}

static void test_failover_standby_without_the_last_commits(void **state)
{
    tc_cluster c;
    pair *pp = &the_pair;
    tc_sampler s;
    long promote_ms, ms;
    int i;
    (void)state;
    if (strcmp(tc_backend, "pgsql") != 0)
        skip();
    tc_init(&c, IV);
    pair_start(pp);
    start_cluster(&c, pp);
    /* the standby's copy ends here */
    if (pair_cmd(pp, "pair-standby", "detached") != 0)
        fail_msg("pair-standby detached failed");
    tc_sampler_start(&s, &c, "fo-", TASKS);
    /* commits the standby will not have: node-3 leaves, its tasks move */
    assert_int_equal(ccoord_leave(c.nodes[2].node), CCOORD_OK);
    if (TC_WAIT(30 * IV, tc_all_owned(&c, "fo-", TASKS)) < 0)
        fail_msg("node-3's tasks did not move");
    tu_sleep_ms(3 * IV);
    /* the restored database still has node-3's row: it is evicted after a
     * timeout, and the nodes hold off for a timeout and an interval */
    fail_over(&c, pp, 3 * IV + 4 * IV, &promote_ms, &ms);
    for (i = 0; i < 2; i++)
        if (TC_WAIT(10 * IV, tc_logged(&c.nodes[i], "went back in time")) < 0)
            fail_msg("%s did not log that the database went back in time", c.nodes[i].id);
    printf("      [pgsql] commits lost with the promotion (%ld ms): noticed by both nodes, "
           "every task owned again %ld ms after the kill\n",
           promote_ms, ms);
    tu_sleep_ms(5 * IV);
    tc_sampler_stop(&s);
    assert_true(tc_all_owned(&c, "fo-", TASKS));
    tc_free(&c);
    pair_teardown(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_failover_synchronous_standby, pair_teardown),
        cmocka_unit_test_teardown(test_failover_standby_without_the_last_commits, pair_teardown),
    };
    return tc_run_all("failover", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
