/*
 * test/node_ctl.c: ccoordctl(1) against a running 3-node cluster (issue
 * 14 item 1): every subcommand, in text and --json (parsed by python3's
 * json module), the exit statuses (0 done, 1 not found or refused, 2
 * usage, 3 database), a pause, resume and complete from the command seen
 * by the nodes within their bounds, a frozen node's counter seen not
 * moving, and the view with every node gone.  Runs on every configured
 * backend; the command reads the configuration file a node would.
 */
#include "cluster.h"

#include <sys/wait.h>
#include <unistd.h>

#define IV (100 * tc_time_scale)
#define TASKS 4

static char conf_path[300];

/* The INI file ccoordctl reads: the test namespace's datasource. */
static void write_conf(const tu_ns *ns)
{
    char buf[1024], *tok, *save = NULL;
    FILE *f;
    snprintf(conf_path, sizeof conf_path, "/tmp/ccoord-ctl-%d.conf", (int)getpid());
    f = fopen(conf_path, "w");
    assert_non_null(f);
    fprintf(f, "# written by test/node_ctl\n[datasource]\ndriver = %s\ntable_prefix = %s\n",
            ns->backend, ns->prefix);
    if (strcmp(ns->backend, "sqlite3") == 0) {
        fprintf(f, "dbdir = %s\ndbname = cluster.db\n", ns->dir);
    } else {
        snprintf(buf, sizeof buf, "%s", ns->dsn);
        for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(tok, '=');
            assert_non_null(eq);
            *eq = '\0';
            fprintf(f, "%s = %s\n", tok, eq + 1);
        }
    }
    fprintf(f, "[cluster_config]\nheartbeat_interval = %d\n", IV);
    fclose(f);
}

/* Runs "ccoordctl -c FILE ARGS" (stderr into the output); returns its exit
 * status and copies the output to out. */
static int ctl(char *out, size_t len, const char *args)
{
    char cmd[1200];
    size_t got;
    FILE *p;
    int st;
    snprintf(cmd, sizeof cmd, "build/bin/ccoordctl -c %s %s 2>&1", conf_path, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    got = fread(out, 1, len - 1, p);
    out[got] = '\0';
    st = pclose(p);
    if (getenv("CCOORD_TEST_VERBOSE"))
        printf("      $ ccoordctl %s  -> %d\n%s", args, WEXITSTATUS(st), out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ccoordctl --json ARGS | python3 -c CHECK: the output parses as JSON and
 * CHECK (an expression on j) holds. */
static void json_holds(const char *args, const char *check)
{
    char cmd[1200], out[8192];
    FILE *p;
    size_t got;
    int st;
    setenv("CCOORD_CTL_CHECK", check, 1); /* python evaluates it on j */
    snprintf(cmd, sizeof cmd,
             "build/bin/ccoordctl -c %s --json %s | /usr/bin/python3 -c 'import json, os, sys\n"
             "j = json.load(sys.stdin)\n"
             "c = os.environ[\"CCOORD_CTL_CHECK\"]\n"
             "sys.exit(0 if eval(c) else \"does not hold: \" + c + \"\\n\" + "
             "json.dumps(j, indent=1))' 2>&1",
             conf_path, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    st = pclose(p);
    if (st != 0)
        fail_msg("ccoordctl --json %s: %s", args, out);
}

static void expect(int got, int want, const char *out, const char *what)
{
    if (got != want)
        fail_msg("ccoordctl %s: exit %d, want %d; output:\n%s", what, got, want, out);
}

static void test_ctl_every_command_on_a_live_cluster(void **state)
{
    tc_cluster c;
    char out[16384], check[2048];
    int leader, i, rc;
    (void)state;
    tc_init(&c, IV);
    write_conf(&c.ns);
    leader = tc_start_settled(&c, 3, 30 * IV);
    tc_register_owned(&c, 0, "ctl-", TASKS, 60 * IV, "after the start");

    rc = ctl(out, sizeof out, "status");
    expect(rc, 0, out, "status");
    for (i = 0; i < 3; i++)
        assert_non_null(strstr(out, c.nodes[i].id));
    assert_non_null(strstr(out, "members (3):"));
    assert_non_null(strstr(out, "tasks (4):"));
    rc = ctl(out, sizeof out, "leader");
    expect(rc, 0, out, "leader");
    assert_non_null(strstr(out, c.nodes[leader].id));
    snprintf(check, sizeof check,
             "len(j[\"members\"]) == 3 and [m[\"id\"] for m in j[\"members\"] if m[\"leader\"]]"
             " == [\"%s\"] and all(m[\"moved\"] for m in j[\"members\"]) and "
             "len(j[\"tasks\"]) == 4 and all(t[\"owner\"] and t[\"state\"] == \"ACTIVE\" and "
             "len(t[\"registered\"]) == 3 for t in j[\"tasks\"]) and j[\"leader\"][\"id\"] == "
             "\"%s\"",
             c.nodes[leader].id, c.nodes[leader].id);
    json_holds("status", check);
    json_holds("tasks", "[t[\"name\"] for t in j] == [\"ctl-0\", \"ctl-1\", \"ctl-2\", \"ctl-3\"]"
                        " and all(t[\"fence\"] >= 1 for t in j)");
    json_holds("members", "len(j) == 3");

    /* pause, resume, complete: the nodes follow */
    rc = ctl(out, sizeof out, "pause ctl-1");
    expect(rc, 0, out, "pause ctl-1");
    if (TC_WAIT(30 * IV, tc_owner(&c, "ctl-1", NULL, NULL) < 0) < 0)
        fail_msg("ctl-1 still owned %d ms after ccoordctl pause", 30 * IV);
    rc = ctl(out, sizeof out, "pause ctl-1");
    expect(rc, 0, out, "pause ctl-1 (again)");
    assert_non_null(strstr(out, "already"));
    json_holds("tasks", "[t[\"state\"] for t in j if t[\"name\"] == \"ctl-1\"] == [\"PAUSED\"]");
    rc = ctl(out, sizeof out, "resume ctl-1");
    expect(rc, 0, out, "resume ctl-1");
    if (TC_WAIT(60 * IV, tc_owner(&c, "ctl-1", NULL, NULL) >= 0) < 0)
        fail_msg("ctl-1 not owned again %d ms after ccoordctl resume", 60 * IV);
    rc = ctl(out, sizeof out, "--json complete ctl-2");
    expect(rc, 0, out, "complete ctl-2");
    assert_non_null(strstr(out, "\"state\":\"COMPLETED\""));
    assert_true(TC_WAIT(30 * IV, tc_owner(&c, "ctl-2", NULL, NULL) < 0) >= 0);
    rc = ctl(out, sizeof out, "resume ctl-2");
    expect(rc, 1, out, "resume ctl-2 (completed)");
    assert_non_null(strstr(out, "refused: the task is COMPLETED"));
    rc = ctl(out, sizeof out, "pause no-such-task");
    expect(rc, 1, out, "pause no-such-task");
    assert_non_null(strstr(out, "no task named no-such-task"));

    /* usage */
    expect(ctl(out, sizeof out, "frobnicate"), 2, out, "frobnicate");
    assert_non_null(strstr(out, "unknown command \"frobnicate\""));
    expect(ctl(out, sizeof out, "pause"), 2, out, "pause (no task)");
    expect(ctl(out, sizeof out, "--watch soon members"), 2, out, "--watch soon");
    expect(ctl(out, sizeof out, "--set datasource.colour=blue members"), 2, out, "--set colour");
    assert_non_null(strstr(out, "datasource.colour"));

    /* a frozen node: its counter does not move during the watch */
    {
        int frozen = (leader + 1) % 3;
        ccoord__test_freeze(c.nodes[frozen].node, 1);
        snprintf(check, sizeof check,
                 "[m[\"id\"] for m in j if not m[\"moved\"]] == [\"%s\"] and "
                 "all(m[\"watched_ms\"] == %d for m in j)",
                 c.nodes[frozen].id, 3 * IV);
        {
            char args[64];
            snprintf(args, sizeof args, "--watch %d members", 3 * IV);
            json_holds(args, check);
        }
        ccoord__test_freeze(c.nodes[frozen].node, 0);
    }

    /* every node gone: the command still answers from the database */
    for (i = 0; i < 3; i++)
        assert_int_equal(ccoord_leave(c.nodes[i].node), CCOORD_OK);
    json_holds("status", "j[\"members\"] == [] and j[\"leader\"][\"id\"] is None and "
                         "len(j[\"tasks\"]) == 4 and all(t[\"owner\"] is None for t in j[\"tasks\"])");
    rc = ctl(out, sizeof out, "leader");
    expect(rc, 1, out, "leader (none)");
    printf("      [%s] ccoordctl: status, members, leader, tasks, pause, resume, complete and "
           "the refusals as documented\n",
           tc_backend);
    tc_free(&c);
    unlink(conf_path);
}

/* Registrations as they are: a node id with a comma in it (ids may have
 * one) is one entry, and tasks whose names a database collation may sort
 * unlike strcmp ("B-x", "a_x", "a-x") each keep their node.  On the
 * command before, the comma split the id in two in --json. */
static void test_ctl_registrations_as_they_are(void **state)
{
    tc_cluster c;
    tc_node *t;
    static const char *const names[] = {"B-x", "a_x", "a-x", "a.x"};
    size_t k;
    (void)state;
    tc_init(&c, IV);
    write_conf(&c.ns);
    t = tc_add(&c, "ops,eu-1");
    tc_join(t);
    for (k = 0; k < 4; k++)
        assert_int_equal(ccoord_task_register(t->node, names[k]), CCOORD_OK);
    json_holds("tasks", "len(j) == 4 and all(t[\"registered\"] == [\"ops,eu-1\"] for t in j)");
    tc_free(&c);
    unlink(conf_path);
}

/* A database the command cannot use: exit 3, the reason named. */
static void test_ctl_database_errors(void **state)
{
    tc_cluster c;
    char out[4096];
    (void)state;
    tc_init(&c, IV);
    write_conf(&c.ns);
    /* no node has joined: no file (SQLite), no tables (servers) */
    expect(ctl(out, sizeof out, "status"), 3, out, "status (no tables)");
    assert_non_null(strstr(out, "ccoordctl: database: "));
    if (strcmp(c.ns.backend, "sqlite3") == 0) {
        char path[400];
        assert_non_null(strstr(out, "no SQLite file"));
        snprintf(path, sizeof path, "%s/cluster.db", c.ns.dir);
        assert_int_equal(access(path, F_OK), -1); /* it only looked */
    } else {
        assert_non_null(strstr(out, "nodes create the tables when they join"));
    }
    if (strcmp(c.ns.backend, "sqlite3") != 0) {
        /* a server nobody answers at */
        expect(ctl(out, sizeof out, "--set datasource.port=1 --set datasource.connect_timeout=1 "
                                    "members"),
               3, out, "members (port 1)");
        assert_non_null(strstr(out, "ccoordctl: database: "));
    }
    tc_free(&c);
    unlink(conf_path);
}

/* The node of c that owns task now, or -1. */
static int owner_of(tc_cluster *c, const char *task)
{
    return tc_owner(c, task, NULL, NULL);
}

/* How many of the tasks "<prefix><0..count-1>" node i owns. */
static int owned_count(tc_cluster *c, int i, const char *prefix, int count)
{
    char name[64];
    int t, n = 0;
    for (t = 0; t < count; t++) {
        snprintf(name, sizeof name, "%s%d", prefix, t);
        n += owner_of(c, name) == i;
    }
    return n;
}

/* drain, undrain and move against a running cluster, under the safety
 * checker: the drained node stops owning first, its tasks are owned
 * elsewhere within the bound, it gets none while drained (a resolution
 * pass and a move to it are refused), and a move hands one task over to
 * the node named; with the refusals and their exit statuses. */
static void test_ctl_drain_and_move(void **state)
{
    tc_cluster c;
    tc_sampler smp;
    char out[16384], args[700], check[900];
    int leader, drained, target, t0, rc;
    uint64_t before = 0, after = 0;
    (void)state;
    tc_init(&c, IV);
    write_conf(&c.ns);
    leader = tc_start_settled(&c, 3, 30 * IV);
    tc_register_owned(&c, 0, "dm-", TASKS, 60 * IV, "after the start");
    tc_sampler_start(&smp, &c, "dm-", TASKS);

    /* drain the node that owns dm-0 (random placement keeps every task
     * on one node: it owns them all) */
    drained = owner_of(&c, "dm-0");
    assert_true(drained >= 0);
    assert_true(owned_count(&c, drained, "dm-", TASKS) > 0);
    snprintf(args, sizeof args, "--wait %d drain %s", 60 * IV, c.nodes[drained].id);
    rc = ctl(out, sizeof out, args);
    expect(rc, 0, out, args);
    assert_non_null(strstr(out, "drained"));
    assert_non_null(strstr(out, "handover done"));
    if (TC_WAIT(60 * IV, tc_all_owned(&c, "dm-", TASKS)) < 0)
        fail_msg("tasks not all owned again %d ms after the drain", 60 * IV);
    assert_int_equal(owned_count(&c, drained, "dm-", TASKS), 0);
    assert_true(TC_WAIT(30 * IV, tc_logged(&c.nodes[drained], "Node drained")) >= 0);
    assert_true(tc_logged(&c.nodes[drained], "Task given up: [ESB_TASK][dm-0] (this node is "
                                             "drained)."));
    snprintf(check, sizeof check, "[m[\"id\"] for m in j if m[\"drained\"]] == [\"%s\"]",
             c.nodes[drained].id);
    json_holds("members", check);
    /* no new task for a drained node, also from a pass of its own
     * (a leader may be drained: it places, but not on itself) */
    assert_int_equal(ccoord_task_register(c.nodes[drained].node, "dm-only-drained"), CCOORD_OK);
    assert_int_equal(ccoord_resolve_tasks(c.nodes[leader].node), CCOORD_OK);
    tu_sleep_ms(5 * IV);
    assert_int_equal(owner_of(&c, "dm-only-drained"), -1);
    target = (drained + 1) % 3;
    snprintf(args, sizeof args, "move dm-1 %s", c.nodes[drained].id);
    expect(ctl(out, sizeof out, args), 1, out, args);
    assert_non_null(strstr(out, "is drained (undrain it first)"));
    /* undrain: it may get tasks again */
    snprintf(args, sizeof args, "undrain %s", c.nodes[drained].id);
    expect(ctl(out, sizeof out, args), 0, out, args);
    if (TC_WAIT(60 * IV, owner_of(&c, "dm-only-drained") == drained) < 0)
        fail_msg("dm-only-drained not placed on %s after undrain", c.nodes[drained].id);
    assert_true(TC_WAIT(30 * IV, tc_logged(&c.nodes[drained], "Node undrained")) >= 0);
    json_holds("members", "not any(m[\"drained\"] for m in j)");

    /* move: to the node named, with a greater fence */
    t0 = owner_of(&c, "dm-2");
    assert_true(t0 >= 0);
    target = (t0 + 1) % 3;
    tc_owner(&c, "dm-2", NULL, &before);
    snprintf(args, sizeof args, "--json --wait %d move dm-2 %s", 60 * IV, c.nodes[target].id);
    rc = ctl(out, sizeof out, args);
    expect(rc, 0, out, args);
    assert_non_null(strstr(out, "\"done\":true"));
    /* the row is the target's; the target grants it at its next poll */
    if (TC_WAIT(30 * IV, owner_of(&c, "dm-2") == target) < 0)
        fail_msg("dm-2 not owned by %s %d ms after the move was done in the database",
                 c.nodes[target].id, 30 * IV);
    tc_owner(&c, "dm-2", NULL, &after);
    assert_true(after > before);
    assert_true(tc_logged(&c.nodes[t0], "Task given up: [ESB_TASK][dm-2] (it is being moved)."));
    snprintf(args, sizeof args, "move dm-2 %s", c.nodes[target].id);
    expect(ctl(out, sizeof out, args), 0, out, args);
    assert_non_null(strstr(out, "already owned by"));

    /* refusals */
    snprintf(args, sizeof args, "move dm-only-drained %s", c.nodes[(drained + 1) % 3].id);
    expect(ctl(out, sizeof out, args), 1, out, args);
    assert_non_null(strstr(out, "has not registered the task"));
    expect(ctl(out, sizeof out, "move dm-3 no-such-node"), 1, out, "move to no-such-node");
    assert_non_null(strstr(out, "no member named no-such-node"));
    expect(ctl(out, sizeof out, "move no-such-task node-1"), 1, out, "move no-such-task");
    assert_non_null(strstr(out, "no task named no-such-task"));
    expect(ctl(out, sizeof out, "pause dm-3"), 0, out, "pause dm-3");
    snprintf(args, sizeof args, "move dm-3 %s", c.nodes[target].id);
    expect(ctl(out, sizeof out, args), 1, out, args);
    assert_non_null(strstr(out, "the task is PAUSED; only an ACTIVE task moves"));
    expect(ctl(out, sizeof out, "resume dm-3"), 0, out, "resume dm-3");
    expect(ctl(out, sizeof out, "drain no-such-node"), 1, out, "drain no-such-node");
    assert_non_null(strstr(out, "no member named no-such-node"));
    expect(ctl(out, sizeof out, "move dm-1"), 2, out, "move (one argument)");
    assert_non_null(strstr(out, "move takes a task name and a node id"));
    expect(ctl(out, sizeof out, "drain"), 2, out, "drain (no node)");
    expect(ctl(out, sizeof out, "--wait forever drain node-1"), 2, out, "--wait forever");

    if (TC_WAIT(60 * IV, tc_all_owned(&c, "dm-", TASKS)) < 0)
        fail_msg("tasks not all owned at the end");
    tc_sampler_stop(&smp);
    printf("      [%s] ccoordctl drain, undrain and move: handed over, refusals as documented\n",
           tc_backend);
    tc_free(&c);
    unlink(conf_path);
}

#define RB_TASKS 12

/* [task_handling] rebalance = on with roundrobin: 12 tasks placed on the
 * first node, two nodes join, the leader moves tasks (at most
 * rebalance_batch = 3 in flight) until the counts are 4/4/4, under the
 * safety checker.  With rebalance off (the default) they stay 12/0/0. */
static void test_ctl_rebalance_on_join(void **state)
{
    tc_cluster c;
    tc_sampler smp;
    char name[64];
    int i, t, on;
    (void)state;
    for (on = 0; on <= 1; on++) {
        tc_init(&c, IV);
        c.resolver = "roundrobin";
        if (on) {
            c.settings[0] = "task_handling.rebalance=on";
            c.settings[1] = "task_handling.rebalance_batch=3";
        }
        tc_start_settled(&c, 1, 30 * IV);
        tc_register_owned(&c, 0, "rb-", RB_TASKS, 60 * IV, "on the first node");
        assert_int_equal(owned_count(&c, 0, "rb-", RB_TASKS), RB_TASKS);
        tc_sampler_start(&smp, &c, "rb-", RB_TASKS);
        for (i = 1; i < 3; i++) {
            tc_join(tc_add(&c, NULL));
            for (t = 0; t < RB_TASKS; t++) {
                snprintf(name, sizeof name, "rb-%d", t);
                assert_int_equal(ccoord_task_register(c.nodes[i].node, name), CCOORD_OK);
            }
        }
        if (on) {
            if (TC_WAIT(100 * IV, owned_count(&c, 0, "rb-", RB_TASKS) == 4 &&
                                      owned_count(&c, 1, "rb-", RB_TASKS) == 4 &&
                                      owned_count(&c, 2, "rb-", RB_TASKS) == 4) < 0)
                fail_msg("rebalance: counts %d/%d/%d after %d ms, want 4/4/4",
                         owned_count(&c, 0, "rb-", RB_TASKS), owned_count(&c, 1, "rb-", RB_TASKS),
                         owned_count(&c, 2, "rb-", RB_TASKS), 100 * IV);
            assert_true(tc_logged(&c.nodes[0], "Rebalancing: task [ESB_TASK][rb-"));
        } else {
            tu_sleep_ms(20 * IV);
            assert_int_equal(owned_count(&c, 0, "rb-", RB_TASKS), RB_TASKS);
        }
        assert_true(tc_all_owned(&c, "rb-", RB_TASKS));
        tc_sampler_stop(&smp);
        printf("      [%s] rebalance %s: %d/%d/%d\n", tc_backend, on ? "on" : "off",
               owned_count(&c, 0, "rb-", RB_TASKS), owned_count(&c, 1, "rb-", RB_TASKS),
               owned_count(&c, 2, "rb-", RB_TASKS));
        tc_free(&c);
    }
}

/* rebalance = on with a resolver that cannot plan moves (random, the
 * default) is refused when the node is made, naming the resolver. */
static void test_ctl_rebalance_needs_a_resolver_that_rebalances(void **state)
{
    tc_cluster c;
    ccoord_config *cfg;
    ccoord_node *n = NULL;
    (void)state;
    tc_init(&c, IV);
    cfg = tc_config(&c, "node-1");
    assert_int_equal(ccoord_config_set(cfg, "task_handling", "rebalance", "on"), CCOORD_OK);
    assert_int_equal(ccoord_node_new(cfg, &n), CCOORD_ECONFIG);
    assert_null(n);
    assert_non_null(strstr(ccoord_config_error(cfg), "task_handling.rebalance = on: resolver "
                                                     "random"));
    assert_non_null(strstr(ccoord_config_error(cfg), "no rebalance function"));
    assert_int_equal(ccoord_config_set(cfg, "task_handling", "rebalance", "sometimes"),
                     CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(cfg), "on or off"));
    ccoord_config_free(cfg);
    tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_every_command_on_a_live_cluster),
        cmocka_unit_test(test_ctl_registrations_as_they_are),
        cmocka_unit_test(test_ctl_database_errors),
        cmocka_unit_test(test_ctl_drain_and_move),
        cmocka_unit_test(test_ctl_rebalance_on_join),
        cmocka_unit_test(test_ctl_rebalance_needs_a_resolver_that_rebalances),
    };
    return tc_run_all("node_ctl", tests, sizeof tests / sizeof tests[0]);
}
