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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_every_command_on_a_live_cluster),
        cmocka_unit_test(test_ctl_registrations_as_they_are),
        cmocka_unit_test(test_ctl_database_errors),
    };
    return tc_run_all("node_ctl", tests, sizeof tests / sizeof tests[0]);
}
