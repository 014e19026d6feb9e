/*
 * test/unit_config.c: tests lib/config.c (clustercoord.conf(5)).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define JAVA "org.wso2.micro.integrator.ntask.coordination.task.resolver."

static char tmpdir[256];

/* ---- fixtures and helpers ------------------------------------------- */

static int setup(void **state)
{
    ccoord_config *c = NULL;
    unsetenv("nodeId");
    if (ccoord_config_new(&c) != CCOORD_OK)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ccoord_config_free(*state);
    unsetenv("nodeId");
    unsetenv("CCOORD_TEST_PW");
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/unit_config.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes len bytes of data to tmpdir/name; the path goes to out. */
static void write_file_n(char *out, size_t outlen, const char *name, const char *data,
                         size_t len)
{
    FILE *f;
    snprintf(out, outlen, "%s/%s", tmpdir, name);
    f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_file(char *out, size_t outlen, const char *name, const char *data)
{
    write_file_n(out, outlen, name, data, strlen(data));
}

static int parse(ccoord_config *c, const char *text)
{
    return ccoord__config_parse_string(c, text, "t.conf");
}

/* The message starts with prefix ("file:line: section.key = value: ") and
 * contains allowed (the allowed range or list). */
static void check_error(const ccoord_config *c, const char *prefix, const char *allowed)
{
    const char *e = ccoord_config_error(c);
    if (strncmp(e, prefix, strlen(prefix)) != 0 || !strstr(e, allowed) ||
        !strstr(e, "; ")) {
        print_error("error text: %s\nwanted prefix: %s\nand: %s\n", e, prefix, allowed);
        fail();
    }
}

/* Parses text, expects CCOORD_ECONFIG with the message described. */
static void expect_bad(const char *text, const char *prefix, const char *allowed)
{
    ccoord_config *c = NULL;
    assert_int_equal(ccoord_config_new(&c), CCOORD_OK);
    if (parse(c, text) != CCOORD_ECONFIG) {
        print_error("accepted: %s\n", text);
        ccoord_config_free(c);
        fail();
    }
    check_error(c, prefix, allowed);
    ccoord_config_free(c);
}

static void expect_good(const char *text)
{
    ccoord_config *c = NULL;
    assert_int_equal(ccoord_config_new(&c), CCOORD_OK);
    if (parse(c, text) != CCOORD_OK) {
        print_error("rejected: %s\n%s\n", text, ccoord_config_error(c));
        ccoord_config_free(c);
        fail();
    }
    ccoord_config_free(c);
}

static void assert_defaults(const ccoord_config *c)
{
    const ccoord__settings *s = &c->s;
    assert_null(s->hostname);
    assert_null(s->node_id);
    assert_string_equal(s->group_id, "default");
    assert_int_equal(s->heartbeat_interval_ms, 1000);
    assert_int_equal(s->heartbeat_max_retry, 3);
    assert_string_equal(s->driver, "sqlite3");
    assert_string_equal(s->dbname, "clusterdb");
    assert_string_equal(s->dbdir, ".");
    assert_null(s->host);
    assert_int_equal(s->port, 0);
    assert_null(s->username);
    assert_null(s->password);
    assert_int_equal(s->connect_timeout_s, 5);
    assert_int_equal(s->connect_retry_s, 0);
    assert_string_equal(s->table_prefix, "ccoord_");
    assert_string_equal(s->resolver_class, "random");
    assert_string_equal(s->plugin_dir, CCOORD_RESOLVERDIR);
    assert_int_equal(s->resolving_period_s, 2);
    assert_int_equal(s->resolving_frequency, 5);
    assert_string_equal(s->task_group, "ESB_TASK");
    assert_int_equal(s->resolver_params.count, 0);
    assert_null(c->node_id_host);
    assert_null(c->node_id_file);
}

static const char FULL[] = "; a full configuration\n"
                           "[server]\n"
                           "hostname = host-a.example.org\n"
                           "\n"
                           "[cluster_config]\n"
                           "node_id = \"node-1\"\n"
                           "group_id = blue\n"
                           "heartbeat_interval = 250\n"
                           "heartbeat_max_retry = '4'\n"
                           "# comment\n"
                           "[datasource]\n"
                           "driver = pgsql\n"
                           "dbname = coord\n"
                           "host = db.example.org\n"
                           "port = 5432\n"
                           "username = ccoord\n"
                           "password = s3cret\n"
                           "connect_timeout = 7\n"
                           "connect_retry = 30\n"
                           "table_prefix = t1_\n"
                           "[task_handling]\n"
                           "resolver_class = roundrobin\n"
                           "plugin_dir = /opt/cc/resolvers\n"
                           "resolving_period = 3\n"
                           "resolving_frequency = 9\n"
                           "task_group = MY_TASKS\n"
                           "[task_resolver]\n"
                           "task_server_count = \"3\"\n"
                           "task_nodes = node-1,node-2\n";

static void assert_full_settings(const ccoord_config *c, const char *name)
{
    const ccoord__settings *s = &c->s;
    const ccoord__kv *kv;
    char origin[300];
    assert_string_equal(s->hostname, "host-a.example.org");
    assert_string_equal(c->node_id_file, "node-1");
    assert_string_equal(s->group_id, "blue");
    assert_int_equal(s->heartbeat_interval_ms, 250);
    assert_int_equal(s->heartbeat_max_retry, 4);
    assert_string_equal(s->driver, "pgsql");
    assert_string_equal(s->dbname, "coord");
    assert_string_equal(s->host, "db.example.org");
    assert_int_equal(s->port, 5432);
    assert_string_equal(s->username, "ccoord");
    assert_string_equal(s->password, "s3cret");
    assert_int_equal(s->connect_timeout_s, 7);
    assert_int_equal(s->connect_retry_s, 30);
    assert_string_equal(s->table_prefix, "t1_");
    assert_string_equal(s->resolver_class, "roundrobin");
    assert_string_equal(s->plugin_dir, "/opt/cc/resolvers");
    assert_int_equal(s->resolving_period_s, 3);
    assert_int_equal(s->resolving_frequency, 9);
    assert_string_equal(s->task_group, "MY_TASKS");
    assert_int_equal(s->resolver_params.count, 2);
    kv = ccoord__kvlist_find(&s->resolver_params, "task_server_count");
    assert_non_null(kv);
    assert_string_equal(kv->value, "3");
    snprintf(origin, sizeof origin, "%s:28", name);
    assert_string_equal(kv->origin, origin);
    kv = ccoord__kvlist_find(&s->resolver_params, "task_nodes");
    assert_non_null(kv);
    assert_string_equal(kv->value, "node-1,node-2");
    snprintf(origin, sizeof origin, "%s:29", name);
    assert_string_equal(kv->origin, origin);
}

static void assert_full(const ccoord_config *c, const char *name)
{
    assert_full_settings(c, name);
    assert_null(c->node_id_host);
}

/* ---- defaults and the happy path -------------------------------------- */

static void test_config_new_has_defaults(void **state)
{
    assert_defaults(*state);
    assert_string_equal(ccoord_config_error(*state), "");
}

static void test_config_empty_text_keeps_defaults(void **state)
{
    assert_int_equal(parse(*state, ""), CCOORD_OK);
    assert_int_equal(parse(*state, "\n; only a comment\n# another\n\n"), CCOORD_OK);
    assert_defaults(*state);
}

static void test_config_parses_every_key(void **state)
{
    assert_int_equal(parse(*state, FULL), CCOORD_OK);
    assert_full(*state, "t.conf");
    assert_string_equal(ccoord_config_error(*state), "");
}

static void test_config_strips_one_pair_of_quotes(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(parse(c, "[cluster_config]\n"
                              "group_id = \"g1\"\n"
                              "heartbeat_interval = '20'\n"
                              "[server]\n"
                              "hostname = \"'h'\"\n"
                              "[datasource]\ndriver = pgsql\n"
                              "password = \"\"\n"
                              "username = a\"b\"\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.group_id, "g1");
    assert_int_equal(c->s.heartbeat_interval_ms, 20);
    assert_string_equal(c->s.hostname, "'h'");
    assert_string_equal(c->s.password, "");
    assert_string_equal(c->s.username, "a\"b\"");
}

static void test_config_rejects_unbalanced_quote(void **state)
{
    (void)state;
    expect_bad("[cluster_config]\ngroup_id = \"g1\n", "t.conf:2: cluster_config.group_id = \"g1: ",
               "matching quotes");
    expect_bad("[cluster_config]\ngroup_id = 'g1\"\n",
               "t.conf:2: cluster_config.group_id = 'g1\": ", "matching quotes");
    expect_bad("[cluster_config]\ngroup_id = \"\n", "t.conf:2: cluster_config.group_id = \": ",
               "matching quotes");
    /* " ;" starts a comment, also inside quotes */
    expect_bad("[cluster_config]\ngroup_id = \"a ;b\"\n",
               "t.conf:2: cluster_config.group_id = \"a: ", "starts a comment");
}

static void test_config_accepts_indented_keys_without_continuation(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(parse(c, "  [datasource]\n"
                              "    driver = sqlite3\n"
                              "\tdbname = x.db\n"
                              "    dbdir = /var/lib/cc\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.dbname, "x.db");
    assert_string_equal(c->s.dbdir, "/var/lib/cc");
}

static void test_config_accepts_double_bracket_sections(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(parse(c, "[task_handling]\n"
                              "resolver_class = \"" JAVA "RoundRobinResolver\"\n"
                              "\n"
                              "[[task_resolver]]\n"
                              "task_server_count = \"3\"\n"
                              "[[datasource]] ; comment\n"
                              "dbname = d\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.resolver_class, JAVA "RoundRobinResolver");
    assert_string_equal(c->s.dbname, "d");
    assert_string_equal(ccoord__kvlist_find(&c->s.resolver_params, "task_server_count")->value,
                        "3");
}

static void test_config_rejects_malformed_section_header(void **state)
{
    (void)state;
    expect_bad("[[datasource]\ndbname = x\n", "t.conf:2: [datasource.dbname = x: ",
               "malformed section header");
    expect_bad("[server\nhostname = x\n", "t.conf:1: syntax error", "a line is [section]");
    /* inih ignores what follows the ']': the key on that line was lost */
    expect_bad("[cluster_config] enable = true\n", "t.conf:1: text after the section header's ']': ",
               "\"enable = true\"; a section line is [name] or [[name]], optionally followed "
               "by a # or ; comment");
    expect_bad("[server]\n[[datasource]] x\n", "t.conf:2: text after the section header's ']': ",
               "\"x\"");
    expect_good("[server]   # the host\nhostname = h\n[[datasource]]\t; the database\n");
}

static void test_config_handles_crlf_and_bom(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(parse(c, "\xef\xbb\xbf[cluster_config]\r\ngroup_id = g2\r\n"
                              "heartbeat_interval = 30\r\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.group_id, "g2");
    assert_int_equal(c->s.heartbeat_interval_ms, 30);
    expect_bad("\xef\xbb\xbf[cluster_config]\r\n\r\nheartbeat_interval = 3\r\n",
               "t.conf:3: cluster_config.heartbeat_interval = 3: ", "10 to 3600000");
}

static void test_config_colon_separator_works(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(parse(c, "[datasource]\ndriver: mysql\nport: 3306\n"), CCOORD_OK);
    assert_int_equal(c->s.port, 3306);
}

/* ---- structural errors ------------------------------------------------ */

static void test_config_rejects_unknown_section(void **state)
{
    (void)state;
    expect_bad("[server]\nhostname = h\n\n[bogus]\nx = 1\n", "t.conf:5: bogus.x = 1: ",
               "unknown section; sections are [server], [cluster_config], [datasource], "
               "[task_handling], [task_resolver]");
}

static void test_config_rejects_unknown_key(void **state)
{
    (void)state;
    expect_bad("[cluster_config]\nheartbeat = 5\n", "t.conf:2: cluster_config.heartbeat = 5: ",
               "unknown key; keys of [cluster_config] are node_id, group_id, "
               "heartbeat_interval, heartbeat_max_retry");
    /* the reference's JDBC keys are not ours */
    expect_bad("[[datasource]]\nid = \"WSO2_COORDINATION_DB\"\n",
               "t.conf:2: datasource.id = WSO2_COORDINATION_DB: ", "keys of [datasource] are");
    expect_bad("[server]\nHostname = h\n", "t.conf:2: server.Hostname = h: ", "hostname");
}

static void test_config_rejects_key_outside_section(void **state)
{
    (void)state;
    expect_bad("; c\nnode_id = n1\n", "t.conf:2: node_id = n1: ", "key outside any section");
}

static void test_config_rejects_syntax_error_with_line(void **state)
{
    ccoord_config *c = *state;
    expect_bad("[server]\nhostname = h\n[cluster_config]\nnode_id\n", "t.conf:4: syntax error",
               "key = value");
    expect_bad("[server]\n=x\n", "t.conf:2: syntax error", "key = value");
    /* the first error wins, syntax or value */
    assert_int_equal(parse(c, "[server]\njunk line\n[cluster_config]\nheartbeat_interval = 1\n"),
                     CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "t.conf:2: syntax error"));
    assert_int_equal(parse(c, "[cluster_config]\nheartbeat_interval = 1\njunk line\n"),
                     CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "t.conf:2: cluster_config.heartbeat"));
}

static void test_config_rejects_duplicate_key(void **state)
{
    (void)state;
    expect_bad("[cluster_config]\ngroup_id = a\n\n[cluster_config]\ngroup_id = b\n",
               "t.conf:5: cluster_config.group_id = b: ", "first at line 2");
    expect_bad("[task_resolver]\ntask_nodes = a\ntask_nodes = b\n",
               "t.conf:3: task_resolver.task_nodes = b: ", "first at line 2");
}

static void test_config_rejects_long_line(void **state)
{
    char text[600];
    (void)state;
    snprintf(text, sizeof text, "[server]\nhostname = %0300d\n", 1);
    expect_bad(text, "t.conf:2: line too long", "password_file");
    /* a long line never becomes two lines: this one would smuggle a key */
    snprintf(text, sizeof text, "[datasource]\ndbname = %0190d\nport = 0\n", 1);
    expect_bad(text, "t.conf:2: line too long", "bytes per line");
}

static void test_config_rejects_nul_byte_in_file(void **state)
{
    ccoord_config *c = *state;
    char path[512];
    static const char data[] = "[server]\nhostname = a\0b\n";
    write_file_n(path, sizeof path, "nul.conf", data, sizeof data - 1);
    assert_int_equal(ccoord_config_load(c, path), CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), ":2: contains a NUL byte"));
    assert_null(c->s.hostname);
}

static void test_config_rejects_bad_resolver_param_key(void **state)
{
    char text[200];
    (void)state;
    expect_bad("[task_resolver]\nbad/key = 1\n", "t.conf:2: task_resolver.bad/key = 1: ",
               "1 to 48 characters");
    snprintf(text, sizeof text, "[task_resolver]\n%.49s = 1\n",
             "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij");
    expect_bad(text, "t.conf:2: task_resolver.abcdefghij", "1 to 48 characters");
}

/* ---- values out of range ---------------------------------------------- */

typedef struct bad_case {
    const char *text, *prefix, *allowed;
} bad_case;

static void run_cases(const bad_case *cases, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        expect_bad(cases[i].text, cases[i].prefix, cases[i].allowed);
}

static void test_config_rejects_numbers_out_of_range(void **state)
{
    static const bad_case cases[] = {
        {"[cluster_config]\nheartbeat_interval = 9\n",
         "t.conf:2: cluster_config.heartbeat_interval = 9: out of range; ",
         "from 10 to 3600000 (milliseconds)"},
        {"[cluster_config]\nheartbeat_interval = 3600001\n",
         "t.conf:2: cluster_config.heartbeat_interval = 3600001: out of range; ",
         "from 10 to 3600000"},
        {"[cluster_config]\nheartbeat_max_retry = 1\n",
         "t.conf:2: cluster_config.heartbeat_max_retry = 1: out of range; ", "from 2 to 1000"},
        {"[cluster_config]\nheartbeat_max_retry = 1001\n",
         "t.conf:2: cluster_config.heartbeat_max_retry = 1001: ", "from 2 to 1000"},
        {"[datasource]\nport = 0\n", "t.conf:2: datasource.port = 0: ", "from 1 to 65535"},
        {"[datasource]\nport = 65536\n", "t.conf:2: datasource.port = 65536: ",
         "from 1 to 65535"},
        {"[datasource]\nport = -1\n", "t.conf:2: datasource.port = -1: ", "from 1 to 65535"},
        {"[datasource]\nconnect_timeout = 0\n", "t.conf:2: datasource.connect_timeout = 0: ",
         "from 1 to 3600 (seconds)"},
        {"[datasource]\nconnect_timeout = 3601\n",
         "t.conf:2: datasource.connect_timeout = 3601: ", "from 1 to 3600"},
        {"[datasource]\nconnect_retry = -1\n", "t.conf:2: datasource.connect_retry = -1: ",
         "from 0 (fail at once) to 86400 (seconds)"},
        {"[datasource]\nconnect_retry = 86401\n",
         "t.conf:2: datasource.connect_retry = 86401: ", "to 86400"},
        {"[datasource]\nconnect_retry = soon\n", "t.conf:2: datasource.connect_retry = soon: ",
         "not an integer"},
        {"[task_handling]\nresolving_period = 0\n",
         "t.conf:2: task_handling.resolving_period = 0: ", "from 1 to 86400 (seconds)"},
        {"[task_handling]\nresolving_period = 86401\n",
         "t.conf:2: task_handling.resolving_period = 86401: ", "from 1 to 86400"},
        {"[task_handling]\nresolving_frequency = 0\n",
         "t.conf:2: task_handling.resolving_frequency = 0: ", "from 1 to 100000"},
        {"[task_handling]\nresolving_frequency = 100001\n",
         "t.conf:2: task_handling.resolving_frequency = 100001: ", "from 1 to 100000"},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_config_rejects_non_integers(void **state)
{
    static const bad_case cases[] = {
        {"[cluster_config]\nheartbeat_interval = 1s\n",
         "t.conf:2: cluster_config.heartbeat_interval = 1s: not an integer; ",
         "from 10 to 3600000"},
        {"[cluster_config]\nheartbeat_interval = \"\"\n",
         "t.conf:2: cluster_config.heartbeat_interval = : not an integer; ", "from 10"},
        {"[cluster_config]\nheartbeat_interval = 0x10\n",
         "t.conf:2: cluster_config.heartbeat_interval = 0x10: not an integer; ", "from 10"},
        {"[datasource]\nport = +5432\n", "t.conf:2: datasource.port = +5432: not an integer",
         "from 1 to 65535"},
        {"[datasource]\nport = 99999999999999999999999\n",
         "t.conf:2: datasource.port = 99999999999999999999999: not an integer",
         "from 1 to 65535"},
        {"[task_handling]\nresolving_period = 1.5\n",
         "t.conf:2: task_handling.resolving_period = 1.5: not an integer", "from 1 to 86400"},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_config_checks_id_lengths(void **state)
{
    char text[600], prefix[600], id[200];
    memset(id, 'n', 190);
    id[190] = '\0';
    /* a line is at most 198 bytes (inih): "node_id=" + 190 fits */
    snprintf(text, sizeof text, "[cluster_config]\nnode_id=%s\n", id);
    expect_good(text);
    {
        ccoord_config *c = *state;
        assert_int_equal(ccoord_config_set(c, "cluster_config", "group_id", id), CCOORD_OK);
        assert_int_equal(ccoord_config_set(c, "task_handling", "task_group", id), CCOORD_OK);
    }
    memset(id, 'g', 191);
    id[191] = '\0';
    /* too long for a file line anyway; the host can try */
    assert_int_equal(ccoord_config_set(*state, "cluster_config", "group_id", id), CCOORD_ECONFIG);
    snprintf(prefix, sizeof prefix,
             "ccoord_config_set: cluster_config.group_id = %.64s...: too long (191 bytes)", id);
    check_error(*state, prefix, "1 to 190 bytes");
    assert_int_equal(ccoord_config_set(*state, "cluster_config", "node_id", id), CCOORD_ECONFIG);
    check_error(*state, "ccoord_config_set: cluster_config.node_id = ggg", "1 to 190 bytes");
    snprintf(text, sizeof text, "[cluster_config]\nnode_id=%s\n", id);
    expect_bad(text, "t.conf:2: line too long", "198 bytes per line");
    expect_bad("[cluster_config]\ngroup_id = \"\"\n", "t.conf:2: cluster_config.group_id = : empty",
               "1 to 190 bytes");
    expect_bad("[cluster_config]\nnode_id = a\x01z\n",
               "t.conf:2: cluster_config.node_id = a\\x01z: contains a control character",
               "no control characters");
    expect_bad("[task_handling]\ntask_group = ''\n", "t.conf:2: task_handling.task_group = : ",
               "1 to 190 bytes");
}

static void test_config_checks_strings(void **state)
{
    static const bad_case cases[] = {
        {"[server]\nhostname = \"a b\"\n", "t.conf:2: server.hostname = a b: contains a blank",
         "1 to 255 bytes"},
        {"[server]\nhostname = ''\n", "t.conf:2: server.hostname = : empty", "1 to 255 bytes"},
        {"[datasource]\nhost = \"\"\n", "t.conf:2: datasource.host = : empty", "1 to 255"},
        {"[datasource]\nusername = \"\"\n", "t.conf:2: datasource.username = : empty",
         "1 to 255"},
        {"[datasource]\ndbname = ''\n", "t.conf:2: datasource.dbname = : empty", "1 to 255"},
        {"[datasource]\ndbdir = ''\n", "t.conf:2: datasource.dbdir = : empty", "1 to 4095"},
        {"[task_handling]\nplugin_dir = ''\n", "t.conf:2: task_handling.plugin_dir = : empty",
         "1 to 4095"},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_config_checks_table_prefix(void **state)
{
    static const bad_case cases[] = {
        {"[datasource]\ntable_prefix = Cc_\n", "t.conf:2: datasource.table_prefix = Cc_: ",
         "1 to 32 characters [a-z0-9_]"},
        {"[datasource]\ntable_prefix = cc-\n", "t.conf:2: datasource.table_prefix = cc-: ",
         "[a-z0-9_]"},
        {"[datasource]\ntable_prefix = \"cc; drop\"\n",
         "t.conf:2: datasource.table_prefix = cc; drop: ", "[a-z0-9_]"},
        {"[datasource]\ntable_prefix = 1cc_\n", "t.conf:2: datasource.table_prefix = 1cc_: "
                                                "starts with a digit",
         "the first not a digit"},
        {"[datasource]\ntable_prefix = \"\"\n", "t.conf:2: datasource.table_prefix = : empty",
         "1 to 32"},
        {"[datasource]\ntable_prefix = abcdefghijabcdefghijabcdefghijabc\n",
         "t.conf:2: datasource.table_prefix = abcdefghijabcdefghijabcdefghijabc: too long",
         "1 to 32 characters"},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
    expect_good("[datasource]\ntable_prefix = abcdefghijabcdefghijabcdefghijab\n");
    expect_good("[datasource]\ntable_prefix = _x9\n");
}

static void test_config_checks_driver_is_installed(void **state)
{
    static const bad_case cases[] = {
        {"[datasource]\ndriver = nosuchdriver\n",
         "t.conf:2: datasource.driver = nosuchdriver: no such libdbi driver on this machine; ",
         "sqlite3"},
        {"[datasource]\ndriver = Pg\n", "t.conf:2: datasource.driver = Pg: ", "[a-z0-9_]"},
        {"[datasource]\ndriver = ../sqlite3\n", "t.conf:2: datasource.driver = ../sqlite3: ",
         "[a-z0-9_]"},
        {"[datasource]\ndriver = \"\"\n", "t.conf:2: datasource.driver = : ", "[a-z0-9_]"},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
    expect_good("[datasource]\ndriver = sqlite3\n");
}

static void test_config_checks_resolver_class(void **state)
{
    static const bad_case cases[] = {
        {"[task_handling]\nresolver_class = ../evil.so\n",
         "t.conf:2: task_handling.resolver_class = ../evil.so: ", "an absolute path to a .so"},
        {"[task_handling]\nresolver_class = lib/x.so\n",
         "t.conf:2: task_handling.resolver_class = lib/x.so: relative path", "a plugin name"},
        {"[task_handling]\nresolver_class = /opt/../x.so\n",
         "t.conf:2: task_handling.resolver_class = /opt/../x.so: path contains \"..\"",
         "without \"..\""},
        {"[task_handling]\nresolver_class = /opt/x\n",
         "t.conf:2: task_handling.resolver_class = /opt/x: path does not name a .so file",
         ".so"},
        {"[task_handling]\nresolver_class = /opt/.so\n",
         "t.conf:2: task_handling.resolver_class = /opt/.so: ", ".so"},
        {"[task_handling]\nresolver_class = " JAVA "CustomResolver\n",
         "t.conf:2: task_handling.resolver_class = " JAVA "Cust",
         "RoundRobinResolver or TaskNodeResolver"},
        {"[task_handling]\nresolver_class = Random\n",
         "t.conf:2: task_handling.resolver_class = Random: ", "[a-z0-9_]"},
        {"[task_handling]\nresolver_class = \"\"\n",
         "t.conf:2: task_handling.resolver_class = : empty", "a plugin name"},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
    expect_good("[task_handling]\nresolver_class = tasknode\n");
    expect_good("[task_handling]\nresolver_class = /usr/lib/cc/my_resolver.so\n");
    expect_good("[task_handling]\nresolver_class = " JAVA "ActivePassiveResolver\n");
    expect_good("[task_handling]\nresolver_class = " JAVA "TaskNodeResolver\n");
}

static void test_config_resolver_alias_maps_java_names(void **state)
{
    const char *other = "my_plugin";
    (void)state;
    assert_string_equal(ccoord__resolver_alias(JAVA "ActivePassiveResolver"), "random");
    assert_string_equal(ccoord__resolver_alias(JAVA "RoundRobinResolver"), "roundrobin");
    assert_string_equal(ccoord__resolver_alias(JAVA "TaskNodeResolver"), "tasknode");
    assert_ptr_equal(ccoord__resolver_alias(other), other);
    assert_string_equal(ccoord__resolver_alias(JAVA "Other"), JAVA "Other");
    assert_null(ccoord__resolver_alias(NULL));
}

/* ---- passwords -------------------------------------------------------- */

static void test_config_rejects_two_password_sources(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(parse(c, "[datasource]\npassword = hunter2\npassword_env = HOME\n"),
                     CCOORD_ECONFIG);
    check_error(c, "t.conf:3: datasource.password_env = HOME: conflicts with datasource.password "
                   "at line 2",
                "at most one of password, password_file, password_env");
    assert_int_equal(parse(c, "[datasource]\npassword_env = HOME\npassword = hunter2\n"),
                     CCOORD_ECONFIG);
    check_error(c, "t.conf:3: datasource.password = (hidden): conflicts", "at most one");
    assert_null(strstr(ccoord_config_error(c), "hunter2"));
    assert_null(c->s.password);
}

static void test_config_never_shows_password(void **state)
{
    ccoord_config *c = *state;
    char longpw[5000];
    assert_int_equal(parse(c, "[datasource]\npassword = \"hunter2\n"), CCOORD_ECONFIG);
    check_error(c, "t.conf:2: datasource.password = (hidden): unbalanced quote", "quotes");
    assert_null(strstr(ccoord_config_error(c), "hunter2"));
    assert_int_equal(parse(c, "[datasource]\npassword = hunter2\npassword = hunter3\n"),
                     CCOORD_ECONFIG);
    check_error(c, "t.conf:3: datasource.password = (hidden): given twice", "once");
    assert_null(strstr(ccoord_config_error(c), "hunter"));
    /* a misspelt key does not leak its value either */
    assert_int_equal(parse(c, "[datasource]\npasswd = hunter2\n"), CCOORD_ECONFIG);
    check_error(c, "t.conf:2: datasource.passwd = (hidden): unknown key", "password_file");
    assert_null(strstr(ccoord_config_error(c), "hunter2"));
    assert_int_equal(parse(c, "[task_resolver]\napi_token = hunter2\napi_token = x\n"),
                     CCOORD_ECONFIG);
    assert_null(strstr(ccoord_config_error(c), "hunter2"));
    /* nor the host's */
    memset(longpw, 'h', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    assert_int_equal(ccoord_config_set(c, "datasource", "password", longpw), CCOORD_ECONFIG);
    check_error(c, "ccoord_config_set: datasource.password = (hidden): too long", "one line");
    assert_null(strstr(ccoord_config_error(c), "hhhh"));
    assert_null(c->s.password);
}

static void test_config_reads_password_file(void **state)
{
    ccoord_config *c = *state;
    char path[512], text[1200];
    write_file(path, sizeof path, "pw1", "first line secret\nsecond line\n");
    snprintf(text, sizeof text, "[datasource]\ndriver = pgsql\npassword_file = %s\n", path);
    assert_int_equal(parse(c, text), CCOORD_OK);
    assert_string_equal(c->s.password, "first line secret");
    write_file(path, sizeof path, "pw2", "crlf\r\n");
    snprintf(text, sizeof text, "[datasource]\npassword_file = \"%s\"\n", path);
    assert_int_equal(parse(c, text), CCOORD_OK);
    assert_string_equal(c->s.password, "crlf");
    write_file(path, sizeof path, "pw3", "nonewline");
    snprintf(text, sizeof text, "[datasource]\ndriver = pgsql\npassword_file = %s\n", path);
    assert_int_equal(parse(c, text), CCOORD_OK);
    assert_string_equal(c->s.password, "nonewline");
    write_file(path, sizeof path, "pw4", "");
    assert_int_equal(ccoord_config_set(c, "datasource", "password_file", path), CCOORD_OK);
    assert_string_equal(c->s.password, "");
}

static void test_config_password_file_errors_name_file_not_content(void **state)
{
    ccoord_config *c = *state;
    char path[512], text[1200], prefix[1200], big[6000];
    snprintf(path, sizeof path, "%s/no-such-file", tmpdir);
    snprintf(text, sizeof text, "[datasource]\ndriver = pgsql\npassword_file = %s\n", path);
    assert_int_equal(parse(c, text), CCOORD_ECONFIG);
    snprintf(prefix, sizeof prefix, "t.conf:3: datasource.password_file = %s: cannot open: ",
             path);
    check_error(c, prefix, "first line");
    assert_non_null(strstr(ccoord_config_error(c), "No such file"));

    memset(big, 'S', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    write_file(path, sizeof path, "pwbig", big);
    snprintf(text, sizeof text, "[datasource]\npassword_file = %s\n", path);
    assert_int_equal(parse(c, text), CCOORD_ECONFIG);
    snprintf(prefix, sizeof prefix, "t.conf:2: datasource.password_file = %s: first line too "
                                    "long",
             path);
    check_error(c, prefix, "at most 4095 bytes");
    assert_null(strstr(ccoord_config_error(c), "SSS"));

    write_file_n(path, sizeof path, "pwnul", "ab\0cd\n", 6);
    snprintf(text, sizeof text, "[datasource]\npassword_file = %s\n", path);
    assert_int_equal(parse(c, text), CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "NUL"));

    assert_int_equal(parse(c, "[datasource]\npassword_file = ''\n"), CCOORD_ECONFIG);
    check_error(c, "t.conf:2: datasource.password_file = : empty", "readable file");
    assert_null(c->s.password);
}

static void test_config_reads_password_env(void **state)
{
    ccoord_config *c = *state;
    setenv("CCOORD_TEST_PW", "from env", 1);
    assert_int_equal(parse(c, "[datasource]\ndriver = pgsql\npassword_env = CCOORD_TEST_PW\n"), CCOORD_OK);
    assert_string_equal(c->s.password, "from env");
    /* read at load time: a later change does not show */
    setenv("CCOORD_TEST_PW", "changed", 1);
    assert_string_equal(c->s.password, "from env");

    unsetenv("CCOORD_TEST_PW");
    assert_int_equal(parse(c, "[datasource]\npassword_env = CCOORD_TEST_PW\n"), CCOORD_ECONFIG);
    check_error(c, "t.conf:2: datasource.password_env = CCOORD_TEST_PW: environment variable "
                   "CCOORD_TEST_PW is not set; ",
                "environment variable holding the password");
    assert_string_equal(c->s.password, "from env");
    assert_int_equal(parse(c, "[datasource]\npassword_env = 1BAD\n"), CCOORD_ECONFIG);
    check_error(c, "t.conf:2: datasource.password_env = 1BAD: not a valid environment variable "
                   "name",
                "[A-Za-z_][A-Za-z0-9_]*");
}

/* ---- node id ---------------------------------------------------------- */

static void test_config_node_id_precedence(void **state)
{
    ccoord_config *c = *state;
    char *id = NULL;
    size_t i;

    /* nothing set: a random UUID v4, different each time */
    assert_int_equal(ccoord__config_node_id(c, &id), CCOORD_OK);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4');
    for (i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(id[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", id[i]));
    {
        char *id2 = NULL;
        assert_int_equal(ccoord__config_node_id(c, &id2), CCOORD_OK);
        assert_string_not_equal(id, id2);
        ccoord__free_mem(id2);
    }
    ccoord__free_mem(id);

    /* file */
    assert_int_equal(parse(c, "[cluster_config]\nnode_id = from-file\n"), CCOORD_OK);
    assert_int_equal(ccoord__config_node_id(c, &id), CCOORD_OK);
    assert_string_equal(id, "from-file");
    ccoord__free_mem(id);

    /* env beats file; an empty env var counts as unset */
    setenv("nodeId", "", 1);
    assert_int_equal(ccoord__config_node_id(c, &id), CCOORD_OK);
    assert_string_equal(id, "from-file");
    ccoord__free_mem(id);
    setenv("nodeId", "from-env", 1);
    assert_int_equal(ccoord__config_node_id(c, &id), CCOORD_OK);
    assert_string_equal(id, "from-env");
    ccoord__free_mem(id);

    /* host beats env, also when the file is loaded after the set */
    assert_int_equal(ccoord_config_set(c, "cluster_config", "node_id", "from-host"), CCOORD_OK);
    assert_int_equal(parse(c, "[cluster_config]\nnode_id = file-2\n"), CCOORD_OK);
    assert_string_equal(c->node_id_file, "file-2");
    assert_string_equal(c->node_id_host, "from-host");
    assert_int_equal(ccoord__config_node_id(c, &id), CCOORD_OK);
    assert_string_equal(id, "from-host");
    ccoord__free_mem(id);
}

static void test_config_node_id_rejects_bad_env(void **state)
{
    ccoord_config *c = *state;
    char big[300];
    char *id = (char *)"untouched";
    memset(big, 'e', 191);
    big[191] = '\0';
    setenv("nodeId", big, 1);
    assert_int_equal(ccoord__config_node_id(c, &id), CCOORD_ECONFIG);
    assert_string_equal(id, "untouched");
    check_error(c, "environment variable nodeId = eee", "1 to 190 bytes");
    setenv("nodeId", "bad\tid", 1);
    assert_int_equal(ccoord__config_node_id(c, &id), CCOORD_ECONFIG);
    check_error(c, "environment variable nodeId = bad\\x09id: ",
                "no control characters");
    assert_int_equal(ccoord__config_node_id(NULL, &id), CCOORD_EINVAL);
    assert_int_equal(ccoord__config_node_id(c, NULL), CCOORD_EINVAL);
}

/* ---- host settings ---------------------------------------------------- */

static void test_config_host_set_beats_file(void **state)
{
    ccoord_config *c = *state;
    const ccoord__kv *kv;
    /* before the load */
    assert_int_equal(ccoord_config_set(c, "cluster_config", "heartbeat_interval", "50"),
                     CCOORD_OK);
    assert_int_equal(ccoord_config_set(c, "datasource", "password", "host-pw"), CCOORD_OK);
    assert_int_equal(ccoord_config_set(c, "task_resolver", "task_nodes", "h1"), CCOORD_OK);
    assert_int_equal(parse(c, "[cluster_config]\nheartbeat_interval = 700\ngroup_id = fg\n"
                              "[datasource]\ndriver = pgsql\npassword_env = NO_SUCH_VARIABLE_HERE\n"
                              "[task_resolver]\ntask_nodes = f1\ntask_server_count = 2\n"),
                     CCOORD_OK);
    assert_int_equal(c->s.heartbeat_interval_ms, 50);
    assert_string_equal(c->s.group_id, "fg");
    assert_string_equal(c->s.password, "host-pw");
    kv = ccoord__kvlist_find(&c->s.resolver_params, "task_nodes");
    assert_string_equal(kv->value, "h1");
    assert_string_equal(kv->origin, "ccoord_config_set");
    kv = ccoord__kvlist_find(&c->s.resolver_params, "task_server_count");
    assert_string_equal(kv->origin, "t.conf:9");
    /* the host's password is not kept in host_set */
    kv = ccoord__kvlist_find(&c->host_set, "datasource.password");
    assert_non_null(kv);
    assert_string_equal(kv->value, "(hidden)");

    /* after the load: host wins, and a later load keeps it */
    assert_int_equal(ccoord_config_set(c, "cluster_config", "group_id", "hg"), CCOORD_OK);
    assert_string_equal(c->s.group_id, "hg");
    assert_int_equal(parse(c, "[cluster_config]\ngroup_id = fg2\nheartbeat_max_retry = 9\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.group_id, "hg");
    assert_int_equal(c->s.heartbeat_max_retry, 9);
    /* a later file still overrides earlier file values */
    assert_int_equal(parse(c, "[cluster_config]\nheartbeat_max_retry = 8\n"), CCOORD_OK);
    assert_int_equal(c->s.heartbeat_max_retry, 8);
    /* and the host can change its own value again */
    assert_int_equal(ccoord_config_set(c, "cluster_config", "heartbeat_interval", "60"),
                     CCOORD_OK);
    assert_int_equal(c->s.heartbeat_interval_ms, 60);
}

static void test_config_set_checks_like_file(void **state)
{
    ccoord_config *c = *state;
    static const bad_case cases[] = {
        {"cluster_config\0heartbeat_interval\0" "5",
         "ccoord_config_set: cluster_config.heartbeat_interval = 5: out of range; ",
         "from 10 to 3600000"},
        {"bogus\0x\0" "1", "ccoord_config_set: bogus.x = 1: unknown section; ", "[server]"},
        {"server\0nodeid\0" "1", "ccoord_config_set: server.nodeid = 1: unknown key; ",
         "hostname"},
        {"datasource\0port\0" "\"5432\"", "ccoord_config_set: datasource.port = \"5432\": ",
         "from 1 to 65535"},
        {"\0port\0" "1", "ccoord_config_set: port = 1: key outside any section", "[datasource]"},
        {"datasource\0password_env\0" "NO_SUCH_VARIABLE_HERE",
         "ccoord_config_set: datasource.password_env = NO_SUCH_VARIABLE_HERE: ", "not set"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *sec = cases[i].text;
        const char *key = sec + strlen(sec) + 1;
        const char *val = key + strlen(key) + 1;
        assert_int_equal(ccoord_config_set(c, sec, key, val), CCOORD_ECONFIG);
        check_error(c, cases[i].prefix, cases[i].allowed);
    }
    assert_defaults(c);
    assert_int_equal(c->host_set.count, 0);
    /* a success clears the error */
    assert_int_equal(ccoord_config_set(c, "datasource", "port", "5432"), CCOORD_OK);
    assert_string_equal(ccoord_config_error(c), "");
    assert_int_equal(c->s.port, 5432);
}

static void test_config_failed_load_changes_nothing(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(parse(c, FULL), CCOORD_OK);
    assert_int_equal(ccoord_config_set(c, "cluster_config", "node_id", "host-id"), CCOORD_OK);
    /* many valid keys, then a bad one on the last line */
    assert_int_equal(parse(c, "[server]\nhostname = other\n"
                              "[cluster_config]\nnode_id = n2\ngroup_id = g2\n"
                              "[datasource]\ndriver = sqlite3\npassword = new\n"
                              "[task_resolver]\ntask_nodes = x\nnew_param = 1\n"
                              "[task_handling]\nresolving_period = 0\n"),
                     CCOORD_ECONFIG);
    check_error(c, "t.conf:13: task_handling.resolving_period = 0: ", "from 1 to 86400");
    assert_full_settings(c, "t.conf");
    assert_string_equal(c->node_id_host, "host-id");
    assert_int_equal(c->host_set.count, 1);
    /* a syntax error, too */
    assert_int_equal(parse(c, "[server]\nhostname = other\nbroken\n"), CCOORD_ECONFIG);
    assert_full_settings(c, "t.conf");
}

/* ---- files ------------------------------------------------------------ */

static void test_config_loads_file(void **state)
{
    ccoord_config *c = *state;
    char path[512];
    write_file(path, sizeof path, "full.conf", FULL);
    assert_int_equal(ccoord_config_load(c, path), CCOORD_OK);
    assert_full(c, path);
    assert_string_equal(ccoord_config_error(c), "");
}

static void test_config_file_errors_name_the_file(void **state)
{
    ccoord_config *c = *state;
    char path[512], prefix[700];
    write_file(path, sizeof path, "bad.conf",
               "[server]\nhostname = h\n\n[cluster_config]\nheartbeat_max_retry = 1\n");
    assert_int_equal(ccoord_config_load(c, path), CCOORD_ECONFIG);
    snprintf(prefix, sizeof prefix, "%s:5: cluster_config.heartbeat_max_retry = 1: ", path);
    check_error(c, prefix, "from 2 to 1000");
    assert_null(c->s.hostname);

    snprintf(path, sizeof path, "%s/missing.conf", tmpdir);
    assert_int_equal(ccoord_config_load(c, path), CCOORD_ECONFIG);
    snprintf(prefix, sizeof prefix, "%s: cannot open: No such file", path);
    assert_non_null(strstr(ccoord_config_error(c), prefix));

    assert_int_equal(ccoord_config_load(c, tmpdir), CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), tmpdir));
}

static void test_config_rejects_huge_file(void **state)
{
    ccoord_config *c = *state;
    char path[512];
    size_t n = 1024 * 1024 + 10;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '\n', n);
    write_file_n(path, sizeof path, "huge.conf", big, n);
    free(big);
    assert_int_equal(ccoord_config_load(c, path), CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "too large"));
}

/* ---- API edges -------------------------------------------------------- */

static void test_config_null_arguments(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(ccoord_config_new(NULL), CCOORD_EINVAL);
    assert_int_equal(ccoord_config_load(NULL, "x"), CCOORD_EINVAL);
    assert_int_equal(ccoord_config_load(c, NULL), CCOORD_EINVAL);
    assert_int_equal(ccoord_config_set(NULL, "a", "b", "c"), CCOORD_EINVAL);
    assert_int_equal(ccoord_config_set(c, NULL, "b", "c"), CCOORD_EINVAL);
    assert_int_equal(ccoord_config_set(c, "server", NULL, "c"), CCOORD_EINVAL);
    assert_int_equal(ccoord_config_set(c, "server", "hostname", NULL), CCOORD_EINVAL);
    assert_int_equal(ccoord__config_parse_string(NULL, "", "x"), CCOORD_EINVAL);
    assert_int_equal(ccoord__config_parse_string(c, NULL, "x"), CCOORD_EINVAL);
    assert_int_equal(ccoord__config_parse_string(c, "[server]\nhostname = n\n", NULL),
                     CCOORD_OK);
    assert_int_equal(ccoord__settings_copy(NULL, &c->s), CCOORD_EINVAL);
    assert_string_equal(ccoord_config_error(NULL), "");
    ccoord_config_free(NULL);
    ccoord__settings_free(NULL);
    assert_string_equal(c->s.hostname, "n");
}

static void test_config_settings_copy_is_deep(void **state)
{
    ccoord_config *c = *state;
    ccoord__settings copy;
    assert_int_equal(parse(c, FULL), CCOORD_OK);
    assert_int_equal(ccoord__settings_copy(&copy, &c->s), CCOORD_OK);
    assert_string_equal(copy.password, "s3cret");
    assert_ptr_not_equal(copy.password, c->s.password);
    assert_string_equal(copy.group_id, "blue");
    assert_int_equal(copy.port, 5432);
    assert_int_equal(copy.resolver_params.count, 2);
    assert_ptr_not_equal(copy.resolver_params.items, c->s.resolver_params.items);
    ccoord_config_free(c);
    *state = NULL;
    assert_string_equal(copy.task_group, "MY_TASKS");
    ccoord__settings_free(&copy);
}

/* ---- out of memory ---------------------------------------------------- */

static void test_config_new_survives_oom(void **state)
{
    long n;
    (void)state;
    for (n = 0;; n++) {
        ccoord_config *c = NULL;
        int rc;
        ccoord__fail_alloc_after(n);
        rc = ccoord_config_new(&c);
        ccoord__fail_alloc_after(-1);
        if (rc == CCOORD_OK) {
            assert_defaults(c);
            ccoord_config_free(c);
            break;
        }
        assert_int_equal(rc, CCOORD_ENOMEM);
        assert_null(c);
        assert_true(n < 1000);
    }
}

static void test_config_load_survives_oom(void **state)
{
    char path[512];
    long n, failures = 0;
    (void)state;
    write_file(path, sizeof path, "oom.conf", FULL);
    for (n = 0;; n++) {
        ccoord_config *c = NULL;
        int rc;
        assert_int_equal(ccoord_config_new(&c), CCOORD_OK);
        assert_int_equal(ccoord_config_set(c, "task_resolver", "task_nodes", "h"), CCOORD_OK);
        assert_int_equal(ccoord_config_set(c, "datasource", "username", "hu"), CCOORD_OK);
        ccoord__fail_alloc_after(n);
        rc = ccoord_config_load(c, path);
        ccoord__fail_alloc_after(-1);
        if (rc == CCOORD_OK) {
            assert_string_equal(c->s.username, "hu");
            assert_string_equal(c->s.password, "s3cret");
            assert_string_equal(c->node_id_file, "node-1");
            ccoord_config_free(c);
            break;
        }
        /* inih itself does not allocate here (stack line buffer); every
         * failure is ours and reported as such */
        assert_int_equal(rc, CCOORD_ENOMEM);
        assert_non_null(strstr(ccoord_config_error(c), "out of memory"));
        /* atomic: nothing changed */
        assert_string_equal(c->s.group_id, "default");
        assert_null(c->s.password);
        assert_null(c->node_id_file);
        assert_string_equal(c->s.username, "hu");
        assert_int_equal(c->s.resolver_params.count, 1);
        ccoord_config_free(c);
        failures++;
        assert_true(n < 10000);
    }
    assert_true(failures > 10);
}

static void test_config_set_and_node_id_survive_oom(void **state)
{
    long n;
    (void)state;
    for (n = 0;; n++) {
        ccoord_config *c = NULL;
        char *id = NULL;
        int rc;
        assert_int_equal(ccoord_config_new(&c), CCOORD_OK);
        assert_int_equal(parse(c, FULL), CCOORD_OK);
        ccoord__fail_alloc_after(n);
        rc = ccoord_config_set(c, "task_resolver", "task_nodes", "hn");
        if (rc == CCOORD_OK)
            rc = ccoord_config_set(c, "cluster_config", "node_id", "hostid");
        if (rc == CCOORD_OK)
            rc = ccoord__config_node_id(c, &id);
        ccoord__fail_alloc_after(-1);
        if (rc == CCOORD_OK) {
            assert_string_equal(id, "hostid");
            ccoord__free_mem(id);
            assert_string_equal(
                ccoord__kvlist_find(&c->s.resolver_params, "task_nodes")->value, "hn");
            ccoord_config_free(c);
            break;
        }
        assert_int_equal(rc, CCOORD_ENOMEM);
        assert_null(id);
        ccoord_config_free(c);
        assert_true(n < 10000);
    }
}

static void test_config_settings_copy_survives_oom(void **state)
{
    ccoord_config *c = *state;
    long n;
    assert_int_equal(parse(c, FULL), CCOORD_OK);
    for (n = 0;; n++) {
        ccoord__settings copy;
        int rc;
        ccoord__fail_alloc_after(n);
        rc = ccoord__settings_copy(&copy, &c->s);
        ccoord__fail_alloc_after(-1);
        if (rc == CCOORD_OK) {
            assert_string_equal(copy.password, "s3cret");
            ccoord__settings_free(&copy);
            break;
        }
        assert_int_equal(rc, CCOORD_ENOMEM);
        assert_true(n < 1000);
    }
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* Issue 15: a resolver that does not load is named with the file and
 * line (or the call) that chose it; before, the error began with
 * "task_handling.resolver_class = ..." and no place. */
static void test_config_resolver_error_names_where_it_was_set(void **state)
{
    char path[4096], text[4096 + 128], want[4096 + 128];
    ccoord_config *c = NULL;
    ccoord_node *n = NULL;
    (void)state;
    snprintf(text, sizeof text, "[cluster_config]\nnode_id = n1\n[task_handling]\n"
             "plugin_dir = %s\nresolver_class = nosuch\n", tmpdir);
    write_file(path, sizeof path, "resolver.conf", text);
    assert_int_equal(ccoord_config_new(&c), CCOORD_OK);
    assert_int_equal(ccoord_config_load(c, path), CCOORD_OK);
    assert_int_equal(ccoord_node_new(c, &n), CCOORD_EPLUGIN);
    snprintf(want, sizeof want, "%s:5: task_handling.resolver_class = nosuch: ", path);
    if (strncmp(ccoord_config_error(c), want, strlen(want)) != 0)
        fail_msg("got \"%s\", want it to begin with \"%s\"", ccoord_config_error(c), want);
    assert_int_equal(ccoord_config_set(c, "task_handling", "resolver_class", "nosuch2"),
                     CCOORD_OK);
    assert_int_equal(ccoord_node_new(c, &n), CCOORD_EPLUGIN);
    assert_non_null(strstr(ccoord_config_error(c),
                           "ccoord_config_set: task_handling.resolver_class = nosuch2: "));
    ccoord_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_resolver_error_names_where_it_was_set),
        T(test_config_new_has_defaults),
        T(test_config_empty_text_keeps_defaults),
        T(test_config_parses_every_key),
        T(test_config_strips_one_pair_of_quotes),
        T(test_config_rejects_unbalanced_quote),
        T(test_config_accepts_indented_keys_without_continuation),
        T(test_config_accepts_double_bracket_sections),
        T(test_config_rejects_malformed_section_header),
        T(test_config_handles_crlf_and_bom),
        T(test_config_colon_separator_works),
        T(test_config_rejects_unknown_section),
        T(test_config_rejects_unknown_key),
        T(test_config_rejects_key_outside_section),
        T(test_config_rejects_syntax_error_with_line),
        T(test_config_rejects_duplicate_key),
        T(test_config_rejects_long_line),
        T(test_config_rejects_nul_byte_in_file),
        T(test_config_rejects_bad_resolver_param_key),
        T(test_config_rejects_numbers_out_of_range),
        T(test_config_rejects_non_integers),
        T(test_config_checks_id_lengths),
        T(test_config_checks_strings),
        T(test_config_checks_table_prefix),
        T(test_config_checks_driver_is_installed),
        T(test_config_checks_resolver_class),
        T(test_config_resolver_alias_maps_java_names),
        T(test_config_rejects_two_password_sources),
        T(test_config_never_shows_password),
        T(test_config_reads_password_file),
        T(test_config_password_file_errors_name_file_not_content),
        T(test_config_reads_password_env),
        T(test_config_node_id_precedence),
        T(test_config_node_id_rejects_bad_env),
        T(test_config_host_set_beats_file),
        T(test_config_set_checks_like_file),
        T(test_config_failed_load_changes_nothing),
        T(test_config_loads_file),
        T(test_config_file_errors_name_the_file),
        T(test_config_rejects_huge_file),
        T(test_config_null_arguments),
        T(test_config_settings_copy_is_deep),
        T(test_config_new_survives_oom),
        T(test_config_load_survives_oom),
        T(test_config_set_and_node_id_survive_oom),
        T(test_config_settings_copy_survives_oom),
    };
    return cmocka_run_group_tests_name("config", tests, group_setup, group_teardown);
}
