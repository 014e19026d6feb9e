/*
 * test/node_hostile.c: hostile input (issue 5).  Quotes, backslashes, SQL
 * fragments, LIKE wildcards, long strings, invalid UTF-8 and control
 * characters as node ids, group ids, task names and hostnames, on every
 * backend (sqlite3 always, pgsql/mysql when configured; see testutil.h).
 *
 * The library's rule (DESIGN.md section 2, clustercoord.h): node ids, group
 * ids and task names are 1 to 190 bytes of valid UTF-8 without control
 * characters (C0, DEL, C1) and without leading or trailing spaces.  Each
 * input below is classified by that rule and the test asserts which way it
 * goes:
 *  - valid: stored and read back verbatim, byte for byte: through the API
 *    (ccoord_node_id, ccoord_members, ccoord_owned_tasks, group
 *    membership) and in the database row itself (read with libdbi);
 *  - invalid: refused with CCOORD_ECONFIG (config_set / node_new, with
 *    ccoord_config_error naming the key) or CCOORD_EINVAL (task calls, with
 *    ccoord_errmsg naming the task), never a database error and never
 *    stored.
 * Hostnames: the config accepts 1 to 255 bytes without blanks or control
 * characters; an accepted one must reach the member row verbatim.
 *
 * Also: a database that cannot be reached at join gives CCOORD_EDB within
 * connect_timeout + 1 s and leaves no thread behind.
 */
#include "cluster.h"

#include <dbi/dbi.h>
#include <dirent.h>
#include <unistd.h>

/* generous: these tests are about bytes, not timing, and run under
 * sanitizers and valgrind on a loaded 2-core CI machine too */
#define IV (250 * tc_time_scale)

typedef struct hostile {
    const char *what;
    const char *s;
    int valid; /* by the library's rule for ids and task names */
} hostile;

static char long190[191], long191[192], long10k[10 * 1024 + 1], utf190[191];

static const hostile inputs[] = {
    {"single quote", "it's", 1},
    {"double quote", "say \"hi\"", 1},
    {"backslash", "back\\slash", 1},
    {"backslash quote", "\\'", 1},
    {"trailing backslash", "ends\\", 1},
    {"SQL injection", "'; DROP TABLE x; --", 1},
    {"SQL tautology", "x' OR '1'='1", 1},
    {"LIKE wildcards", "%_%", 1},
    {"inner space", "a b", 1},
    {"UTF-8 incl. 4-byte", "\xc3\xbc-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x8e\x89", 1},
    {"190 bytes", long190, 1},
    {"190 bytes of 2-byte UTF-8", utf190, 1},
    {"empty", "", 0},
    {"191 bytes", long191, 0},
    {"10 kB", long10k, 0},
    {"leading space", " lead", 0},
    {"trailing space", "trail ", 0},
    {"tab", "tab\there", 0},
    {"newline", "new\nline", 0},
    {"escape sequence", "\x1b[31mred", 0},
    {"DEL", "del\x7f", 0},
    {"C1 control (NEL)", "nel\xc2\x85", 0},
    {"invalid UTF-8 0xff", "\xff\xfe", 0},
    {"truncated UTF-8", "cut\xc3", 0},
    {"overlong UTF-8", "\xc0\xaf", 0},
    {"UTF-16 surrogate", "\xed\xa0\x80", 0},
};
#define NINPUTS (sizeof inputs / sizeof inputs[0])

static void init_inputs(void)
{
    size_t i;
    memset(long190, 'n', 190);
    memset(long191, 'n', 191);
    memset(long10k, 'k', sizeof long10k - 1);
    for (i = 0; i < 190; i += 2) {
        utf190[i] = (char)0xc3;
        utf190[i + 1] = (char)0xa9; /* é */
    }
}

/* Printable form for failure messages. */
static const char *shown(const char *s)
{
    static __thread char bufs[4][400];
    static __thread unsigned next;
    char *buf = bufs[next++ % 4];
    const size_t size = sizeof bufs[0];
    size_t i, k = 0;
    for (i = 0; s[i] && k + 5 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            buf[k++] = (char)c;
        else
            k += (size_t)snprintf(buf + k, size - k, "\\x%02x", c);
    }
    if (s[i])
        snprintf(buf + k, size - k, "...");
    else
        buf[k] = '\0';
    return buf;
}

/* ---- direct database access, to see what was really stored ---------- */

typedef struct rawdb {
    dbi_inst inst;
    dbi_conn conn;
} rawdb;

static void raw_open(rawdb *r, const tu_ns *ns)
{
    memset(r, 0, sizeof *r);
    assert_true(dbi_initialize_r(NULL, &r->inst) > 0);
    r->conn = dbi_conn_new_r(ns->backend, r->inst);
    assert_non_null(r->conn);
    if (strcmp(ns->backend, "sqlite3") == 0) {
        dbi_conn_set_option(r->conn, "sqlite3_dbdir", ns->dir);
        dbi_conn_set_option(r->conn, "dbname", "cluster.db");
    } else {
        char buf[sizeof ns->dsn], *tok, *save = NULL;
        snprintf(buf, sizeof buf, "%s", ns->dsn);
        for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq)
                continue;
            *eq = '\0';
            if (strcmp(tok, "port") == 0)
                dbi_conn_set_option_numeric(r->conn, "port", atoi(eq + 1));
            else
                dbi_conn_set_option(r->conn, tok, eq + 1);
        }
    }
    if (dbi_conn_connect(r->conn) < 0) {
        const char *msg = NULL;
        dbi_conn_error(r->conn, &msg);
        fail_msg("[%s] direct connect failed: %s", ns->backend, msg ? msg : "?");
    }
    if (strcmp(ns->backend, "mysql") == 0)
        dbi_result_free(dbi_conn_query(r->conn, "SET NAMES utf8mb4"));
    else if (strcmp(ns->backend, "pgsql") == 0)
        dbi_result_free(dbi_conn_query(r->conn, "SET client_encoding = 'UTF8'"));
}

static void raw_close(rawdb *r)
{
    if (r->conn)
        dbi_conn_close(r->conn);
    if (r->inst)
        dbi_shutdown_r(r->inst);
}

/* Number of rows of SELECT <col> FROM <prefix><table> WHERE <keycol> = key
 * (key quoted by libdbi) whose <col> equals want byte for byte. */
static int raw_count_exact(rawdb *r, const tu_ns *ns, const char *table, const char *col,
                           const char *keycol, const char *key, const char *want)
{
    char *q = NULL, sql[12000];
    dbi_result res;
    int n = 0;
    assert_true(dbi_conn_quote_string_copy(r->conn, key, &q) > 0);
    snprintf(sql, sizeof sql, "SELECT %s FROM %s%s WHERE %s = %s", col, ns->prefix, table,
             keycol, q);
    free(q);
    res = dbi_conn_query(r->conn, sql);
    if (!res) /* e.g. PostgreSQL refuses invalid UTF-8 in the statement */
        return -1;
    while (dbi_result_next_row(res)) {
        const char *sv = dbi_result_get_string_idx(res, 1);
        if (sv && strcmp(sv, want) == 0)
            n++;
    }
    dbi_result_free(res);
    return n;
}

/* ---- helpers ---------------------------------------------------------- */

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int has_member(ccoord_node *n, const char *id)
{
    char **ids = NULL;
    size_t count = 0, i;
    int found = 0;
    if (ccoord_members(n, &ids, &count) != CCOORD_OK)
        return 0;
    for (i = 0; i < count; i++)
        if (strcmp(ids[i], id) == 0)
            found++;
    ccoord_free_list(ids, count);
    return found;
}

typedef struct mem_arg {
    ccoord_node *n;
    const char *id;
} mem_arg;

static int mem_pred(void *arg)
{
    mem_arg *m = arg;
    return has_member(m->n, m->id) > 0;
}

static void wait_member(ccoord_node *n, const char *id)
{
    mem_arg m;
    m.n = n;
    m.id = id;
    tu_wait(mem_pred, &m, 3000);
}

static size_t member_count(ccoord_node *n)
{
    char **ids = NULL;
    size_t count = 0;
    if (ccoord_members(n, &ids, &count) != CCOORD_OK)
        return 0;
    ccoord_free_list(ids, count);
    return count;
}

static int setup_ns(tu_ns *ns)
{
    int rc = tu_ns_setup(ns, tc_backend);
    if (rc == 1) {
        if (tu_in_ci())
            fail_msg("[%s] backend not configured under CI=true", tc_backend);
        skip();
    }
    assert_int_equal(rc, 0);
    return 0;
}

/* A node on ns with node id / group / hostname (NULL: default) or the
 * refusal.  Returns CCOORD_OK with *ret, or the status of the step that
 * refused, with the message in msg. */
static int make_node(const tu_ns *ns, const char *id, const char *group, const char *host,
                     ccoord_node **ret, char *msg, size_t msglen)
{
    ccoord_config *c = tu_config(ns, NULL, IV);
    int rc = CCOORD_OK;
    msg[0] = '\0';
    if (id && (rc = ccoord_config_set(c, "cluster_config", "node_id", id)) != CCOORD_OK)
        goto out;
    if (group && (rc = ccoord_config_set(c, "cluster_config", "group_id", group)) != CCOORD_OK)
        goto out;
    if (host && (rc = ccoord_config_set(c, "server", "hostname", host)) != CCOORD_OK)
        goto out;
    rc = ccoord_node_new(c, ret);
out:
    if (rc != CCOORD_OK)
        snprintf(msg, msglen, "%s", ccoord_config_error(c));
    ccoord_config_free(c);
    if (rc == CCOORD_OK)
        ccoord_on_log(*ret, tu_quiet_log, NULL);
    return rc;
}

static void join_or_fail(ccoord_node *n, const char *what)
{
    int rc = ccoord_join(n);
    if (rc != CCOORD_OK)
        fail_msg("[%s] %s: join: %s: %s", tc_backend, what, ccoord_errname(rc), ccoord_errmsg(n));
}

/* ---- tests ------------------------------------------------------------ */

static void test_hostile_node_ids(void **state)
{
    tu_ns ns;
    rawdb r;
    size_t i;
    (void)state;
    setup_ns(&ns);
    raw_open(&r, &ns);
    for (i = 0; i < NINPUTS; i++) {
        const hostile *h = &inputs[i];
        ccoord_node *n = NULL;
        char msg[1024];
        int rc = make_node(&ns, h->s, NULL, NULL, &n, msg, sizeof msg);
        if (!h->valid) {
            if (rc == CCOORD_OK) {
                int jr = ccoord_join(n);
                ccoord_node_free(n);
                fail_msg("[%s] node id %s (%s) is not valid but was accepted (join: %s)",
                         tc_backend, h->what, shown(h->s), ccoord_errname(jr));
            }
            if (rc != CCOORD_ECONFIG || !strstr(msg, "node_id"))
                fail_msg("[%s] node id %s: want CCOORD_ECONFIG naming node_id, got %s \"%s\"",
                         tc_backend, h->what, ccoord_errname(rc), msg);
            continue;
        }
        if (rc != CCOORD_OK)
            fail_msg("[%s] node id %s (%s) is valid but refused: %s %s", tc_backend, h->what,
                     shown(h->s), ccoord_errname(rc), msg);
        assert_string_equal(ccoord_node_id(n), h->s);
        join_or_fail(n, h->what);
        wait_member(n, h->s);
        if (has_member(n, h->s) != 1)
            fail_msg("[%s] node id %s: ccoord_members does not list it verbatim", tc_backend,
                     h->what);
        if (raw_count_exact(&r, &ns, "members", "node_id", "node_id", h->s, h->s) != 1)
            fail_msg("[%s] node id %s: the member row does not hold it verbatim", tc_backend,
                     h->what);
        assert_int_equal(ccoord_leave(n), CCOORD_OK);
        assert_int_equal(raw_count_exact(&r, &ns, "members", "node_id", "node_id", h->s, h->s), 0);
        ccoord_node_free(n);
    }
    raw_close(&r);
    tu_ns_teardown(&ns);
}

static int owns_exactly(ccoord_node *n, const char *const *want, size_t nwant)
{
    char **names = NULL;
    size_t count = 0, i, j;
    int ok = 1;
    if (ccoord_owned_tasks(n, &names, &count) != CCOORD_OK)
        return 0;
    if (count != nwant)
        ok = 0;
    for (i = 0; ok && i < nwant; i++) {
        int found = 0;
        for (j = 0; j < count; j++)
            if (strcmp(names[j], want[i]) == 0)
                found = 1;
        ok = found;
    }
    ccoord_free_list(names, count);
    return ok;
}

typedef struct own_arg {
    ccoord_node *n;
    const char *const *want;
    size_t nwant;
} own_arg;

static int owns_pred(void *arg)
{
    own_arg *a = arg;
    ccoord_resolve_tasks(a->n);
    return owns_exactly(a->n, a->want, a->nwant);
}

typedef struct acq_arg {
    ccoord_node *n;
    const char *task;
    uint64_t fence;
} acq_arg;

static int acq_pred(void *arg)
{
    acq_arg *a = arg;
    return ccoord_acquire_task(a->n, a->task, &a->fence) == CCOORD_OK;
}

static void test_hostile_task_names(void **state)
{
    tu_ns ns;
    rawdb r;
    ccoord_node *n = NULL;
    char msg[1024];
    const char *valid[NINPUTS];
    size_t nvalid = 0, i;
    own_arg oa;
    (void)state;
    setup_ns(&ns);
    raw_open(&r, &ns);
    assert_int_equal(make_node(&ns, "hostile-tasks", NULL, NULL, &n, msg, sizeof msg), CCOORD_OK);
    join_or_fail(n, "task names");
    for (i = 0; i < NINPUTS; i++) {
        const hostile *h = &inputs[i];
        int rc = ccoord_task_register(n, h->s);
        if (h->valid) {
            if (rc != CCOORD_OK)
                fail_msg("[%s] task name %s (%s) is valid but refused: %s %s", tc_backend,
                         h->what, shown(h->s), ccoord_errname(rc), ccoord_errmsg(n));
            valid[nvalid++] = h->s;
        } else {
            if (rc == CCOORD_OK)
                fail_msg("[%s] task name %s (%s) is not valid but was accepted", tc_backend,
                         h->what, shown(h->s));
            if (rc != CCOORD_EINVAL || !strstr(ccoord_errmsg(n), "task name"))
                fail_msg("[%s] task name %s: want CCOORD_EINVAL naming the task name, got %s "
                         "\"%s\"", tc_backend, h->what, ccoord_errname(rc), ccoord_errmsg(n));
            assert_int_equal(ccoord_acquire_task(n, h->s, NULL), CCOORD_ENOTOWNER);
        }
    }
    /* every valid one is placed on the only node and comes back verbatim */
    oa.n = n;
    oa.want = valid;
    oa.nwant = nvalid;
    if (tu_wait(owns_pred, &oa, 10000) < 0)
        fail_msg("[%s] ccoord_owned_tasks does not return the %zu hostile task names verbatim",
                 tc_backend, nvalid);
    for (i = 0; i < nvalid; i++) {
        acq_arg aa;
        aa.n = n;
        aa.task = valid[i];
        aa.fence = 0;
        /* a lease may lapse for a moment on a loaded machine: wait */
        if (tu_wait(acq_pred, &aa, 5000) < 0)
            fail_msg("[%s] task name %s: ccoord_acquire_task does not grant it", tc_backend,
                     shown(valid[i]));
        assert_true(aa.fence >= 1);
        if (raw_count_exact(&r, &ns, "tasks", "name", "name", valid[i], valid[i]) != 1)
            fail_msg("[%s] task name %s: the task row does not hold it verbatim", tc_backend,
                     shown(valid[i]));
        /* state changes through the hostile name too */
        assert_int_equal(ccoord_task_pause(n, valid[i]), CCOORD_OK);
        assert_int_equal(ccoord_task_resume(n, valid[i]), CCOORD_OK);
    }
    /* no row with an invalid name was written */
    for (i = 0; i < NINPUTS; i++)
        if (!inputs[i].valid && inputs[i].s[0])
            assert_true(raw_count_exact(&r, &ns, "tasks", "name", "name", inputs[i].s,
                                        inputs[i].s) <= 0);
    for (i = 0; i < nvalid; i++)
        assert_int_equal(ccoord_task_unregister(n, valid[i]), CCOORD_OK);
    ccoord_node_free(n);
    raw_close(&r);
    tu_ns_teardown(&ns);
}

typedef struct two {
    ccoord_node *a, *b;
} two;

static int see_each_other(void *arg)
{
    two *t = arg;
    return member_count(t->a) == 2 && member_count(t->b) == 2;
}

static void test_hostile_group_ids(void **state)
{
    static char bad[8192];
    int nbad = 0;
    tu_ns ns;
    rawdb r;
    size_t i;
    bad[0] = '\0';
    (void)state;
    setup_ns(&ns);
    raw_open(&r, &ns);
    for (i = 0; i < NINPUTS; i++) {
        const hostile *h = &inputs[i];
        ccoord_node *a = NULL, *b = NULL, *c = NULL;
        char msg[1024], other[300];
        int rc = make_node(&ns, "ga", h->s, NULL, &a, msg, sizeof msg);
        two t;
        if (!h->valid) {
            /* collected, so one run lists every input that slips through */
            size_t used = strlen(bad);
            if (rc == CCOORD_OK) {
                rc = ccoord_join(a);
                snprintf(msg, sizeof msg, "%s", ccoord_errmsg(a));
                ccoord_node_free(a);
                snprintf(bad + used, sizeof bad - used, "\n    %s (%s): accepted by config_set "
                         "and node_new; join: %s %.200s", h->what, shown(h->s),
                         ccoord_errname(rc), msg);
                nbad++;
            } else if (rc != CCOORD_ECONFIG || !strstr(msg, "group_id")) {
                snprintf(bad + used, sizeof bad - used, "\n    %s: want CCOORD_ECONFIG naming "
                         "group_id, got %s \"%.200s\"", h->what, ccoord_errname(rc), msg);
                nbad++;
            }
            continue;
        }
        if (rc != CCOORD_OK)
            fail_msg("[%s] group id %s (%s) is valid but refused: %s %s", tc_backend, h->what,
                     shown(h->s), ccoord_errname(rc), msg);
        assert_int_equal(make_node(&ns, "gb", h->s, NULL, &b, msg, sizeof msg), CCOORD_OK);
        /* a neighbour group: the same text without its last byte (or
         * with one more), so a quoting slip that merges them shows */
        snprintf(other, sizeof other, "%s", h->s);
        if (strlen(other) > 1 && (unsigned char)other[strlen(other) - 1] < 0x80 &&
            other[strlen(other) - 2] != ' ')
            other[strlen(other) - 1] = '\0';
        else
            snprintf(other, sizeof other, "%sx", strlen(h->s) < 189 ? h->s : "y");
        assert_int_equal(make_node(&ns, "gc", other, NULL, &c, msg, sizeof msg), CCOORD_OK);
        join_or_fail(a, h->what);
        join_or_fail(b, h->what);
        join_or_fail(c, "neighbour group");
        t.a = a;
        t.b = b;
        if (tu_wait(see_each_other, &t, 5000) < 0)
            fail_msg("[%s] group id %s: two nodes of the group do not see each other",
                     tc_backend, h->what);
        wait_member(c, "gc");
        tu_sleep_ms(3 * IV);
        if (member_count(c) != 1 || has_member(a, "gc") || has_member(c, "ga"))
            fail_msg("[%s] group id %s: the neighbour group \"%s\" is mixed up with it "
                     "(its node sees %zu members%s; the group's node %s it)",
                     tc_backend, h->what, shown(other), member_count(c),
                     has_member(c, "ga") ? " incl. ga" : "",
                     has_member(a, "gc") ? "sees" : "does not see");
        if (raw_count_exact(&r, &ns, "members", "group_id", "node_id", "ga", h->s) != 1)
            fail_msg("[%s] group id %s: the member row does not hold it verbatim", tc_backend,
                     h->what);
        ccoord_node_free(c);
        ccoord_node_free(b);
        ccoord_node_free(a);
    }
    raw_close(&r);
    tu_ns_teardown(&ns);
    if (nbad)
        fail_msg("[%s] %d invalid group ids (rule: 1 to 190 bytes of UTF-8, no control "
                 "characters, no leading/trailing space) were not refused with CCOORD_ECONFIG:%s",
                 tc_backend, nbad, bad);
}

static void test_hostile_hostnames(void **state)
{
    static const struct {
        const char *what, *s;
        int ok; /* config rule: 1..255 bytes, no blanks, no control chars */
    } hosts[] = {
        {"quote", "it's", 1},
        {"SQL injection", "';DROP_TABLE_x;--", 1},
        {"backslash", "host\\name\\", 1},
        {"UTF-8", "h\xc3\xb6st.example", 1},
        {"255 bytes", NULL, 1},
        {"invalid UTF-8", "h\xff\xfest", 2}, /* 2: refused (ECONFIG) or stored verbatim */
        {"10 kB", long10k, 0},
        {"blank", "a host", 0},
        {"newline", "host\nname", 0},
        {"empty", "", 0},
    };
    static char h255[256], bad[4096];
    int nbad = 0;
    tu_ns ns;
    rawdb r;
    size_t i;
    (void)state;
    memset(h255, 'h', 255);
    bad[0] = '\0';
    setup_ns(&ns);
    raw_open(&r, &ns);
    for (i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        const char *s = hosts[i].s ? hosts[i].s : h255;
        ccoord_node *n = NULL;
        char msg[1024];
        int rc = make_node(&ns, "hostile-host", NULL, s, &n, msg, sizeof msg);
        if (hosts[i].ok == 2 && rc == CCOORD_ECONFIG && strstr(msg, "hostname"))
            continue;
        if (!hosts[i].ok) {
            if (rc == CCOORD_OK)
                ccoord_node_free(n);
            if (rc != CCOORD_ECONFIG || !strstr(msg, "hostname"))
                fail_msg("[%s] hostname %s: want CCOORD_ECONFIG naming hostname, got %s \"%s\"",
                         tc_backend, hosts[i].what, ccoord_errname(rc), msg);
            continue;
        }
        if (rc != CCOORD_OK)
            fail_msg("[%s] hostname %s is valid but refused: %s %s", tc_backend, hosts[i].what,
                     ccoord_errname(rc), msg);
        rc = ccoord_join(n);
        if (rc != CCOORD_OK) {
            /* collected: the test fails at the end, after cleaning up */
            size_t used = strlen(bad);
            snprintf(msg, sizeof msg, "%s", ccoord_errmsg(n));
            ccoord_node_free(n);
            snprintf(bad + used, sizeof bad - used,
                     "\n    %s (%s) was accepted by the config but join failed: %s %.300s "
                     "(want: refused with CCOORD_ECONFIG, or stored verbatim)",
                     hosts[i].what, shown(s), ccoord_errname(rc), shown(msg));
            nbad++;
            continue;
        }
        if (raw_count_exact(&r, &ns, "members", "hostname", "node_id", "hostile-host", s) != 1)
            fail_msg("[%s] hostname %s: the member row does not hold it verbatim", tc_backend,
                     hosts[i].what);
        ccoord_node_free(n);
    }
    raw_close(&r);
    tu_ns_teardown(&ns);
    if (nbad)
        fail_msg("[%s] %d hostnames went wrong:%s", tc_backend, nbad, bad);
}

/* Join against a database nobody serves: pgsql/mysql on the closed port 1
 * of 127.0.0.1, sqlite3 in a directory that does not exist.  No server is
 * needed, so this runs for every backend whose libdbi driver is installed. */
static void test_unreachable_database_at_join(void **state)
{
    ccoord_config *c = NULL;
    ccoord_node *n = NULL;
    int before, after, rc, i;
    int64_t t0, took;
    const long connect_timeout = 2;
    char num[16];
    (void)state;
    before = count_threads();
    assert_int_equal(ccoord_config_new(&c), CCOORD_OK);
    assert_int_equal(ccoord_config_set(c, "datasource", "driver", tc_backend), CCOORD_OK);
    if (strcmp(tc_backend, "sqlite3") == 0) {
        assert_int_equal(ccoord_config_set(c, "datasource", "dbdir",
                                           "/nonexistent/ccoord-hostile/dir"), CCOORD_OK);
    } else {
        assert_int_equal(ccoord_config_set(c, "datasource", "host", "127.0.0.1"), CCOORD_OK);
        assert_int_equal(ccoord_config_set(c, "datasource", "port", "1"), CCOORD_OK);
        assert_int_equal(ccoord_config_set(c, "datasource", "username", "nobody"), CCOORD_OK);
        assert_int_equal(ccoord_config_set(c, "datasource", "password", "x"), CCOORD_OK);
    }
    snprintf(num, sizeof num, "%ld", connect_timeout);
    assert_int_equal(ccoord_config_set(c, "datasource", "connect_timeout", num), CCOORD_OK);
    assert_int_equal(ccoord_config_set(c, "cluster_config", "node_id", "unreachable"), CCOORD_OK);
    {
        const char *plugins = getenv("CCOORD_TEST_DRIVERDIR");
        assert_int_equal(ccoord_config_set(c, "task_handling", "plugin_dir",
                                           plugins && *plugins ? plugins : "build/drivers"),
                         CCOORD_OK);
    }
    rc = ccoord_node_new(c, &n);
    if (rc != CCOORD_OK)
        fail_msg("[%s] node_new: %s: %s", tc_backend, ccoord_errname(rc), ccoord_config_error(c));
    ccoord_config_free(c);
    ccoord_on_log(n, tu_quiet_log, NULL);
    t0 = tu_now_ms();
    rc = ccoord_join(n);
    took = tu_now_ms() - t0;
    print_message("      [%s] unreachable database: %s after %lld ms: %s\n", tc_backend,
                  ccoord_errname(rc), (long long)took, ccoord_errmsg(n));
    if (rc == CCOORD_EPLUGIN)
        fail_msg("[%s] join: %s", tc_backend, ccoord_errmsg(n));
    assert_int_equal(rc, CCOORD_EDB);
    assert_true(ccoord_errmsg(n)[0] != '\0');
    if (strcmp(tc_backend, "sqlite3") == 0) /* names the directory and why */
        assert_non_null(strstr(ccoord_errmsg(n),
                               "directory /nonexistent/ccoord-hostile/dir: No such file"));
    assert_true(took <= (connect_timeout + 1) * 1000);
    /* a second attempt behaves the same */
    assert_int_equal(ccoord_join(n), CCOORD_EDB);
    assert_int_equal(ccoord_leave(n), CCOORD_ENOTJOINED);
    ccoord_node_free(n);
    /* no thread left behind (allow a moment for a detached one to end) */
    for (i = 0; i < 100 && (after = count_threads()) != before; i++)
        tu_sleep_ms(10);
    if (after != before)
        fail_msg("[%s] %d threads before join, %d after node_free", tc_backend, before, after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unreachable_database_at_join),
        cmocka_unit_test(test_hostile_node_ids),
        cmocka_unit_test(test_hostile_task_names),
        cmocka_unit_test(test_hostile_group_ids),
        cmocka_unit_test(test_hostile_hostnames),
    };
    init_inputs();
    return tc_run_all("hostile", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
