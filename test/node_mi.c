/*
 * test/node_mi.c: an MI operator's deployment.toml, unchanged but for
 * where its coordination datasource points, joins a cluster
 * (ccoord_config_load_mi(3), issue 11).  The file is
 * test/toml/mi-deployment.toml: the MI distribution's usual sections plus
 * the reference's cluster sections, with its JDBC URL, username, password
 * and Java driver class set to the test server of each backend
 * (jdbc:postgresql://, jdbc:mariadb://, jdbc:sqlite:).  Two nodes from it
 * share the task the reference tests with, "sample-task": one owner, and
 * it moves when that node leaves.  On PostgreSQL the URL asks for TLS
 * verified against the test CA (sslmode=verify-full&sslrootcert=...), and
 * a host list whose first host is down joins through the second.
 */
#include "cluster.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#define IV (100 * tc_time_scale)

typedef struct dsn {
    char host[128], port[16], user[128], password[128], dbname[128];
} dsn;

static void parse_dsn(const char *s, dsn *d)
{
    char buf[512], *tok, *save = NULL;
    memset(d, 0, sizeof *d);
    snprintf(buf, sizeof buf, "%s", s);
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq++ = '\0';
        if (!strcmp(tok, "host"))
            snprintf(d->host, sizeof d->host, "%s", eq);
        else if (!strcmp(tok, "port"))
            snprintf(d->port, sizeof d->port, "%s", eq);
        else if (!strcmp(tok, "username"))
            snprintf(d->user, sizeof d->user, "%s", eq);
        else if (!strcmp(tok, "password"))
            snprintf(d->password, sizeof d->password, "%s", eq);
        else if (!strcmp(tok, "dbname"))
            snprintf(d->dbname, sizeof d->dbname, "%s", eq);
    }
}

/* The test server's CA (test/db/servers.sh), or NULL. */
static const char *pg_ca(void)
{
    static char ca[512];
    const char *dir = getenv("CCOORD_TEST_PG_TLS_DIR");
    if (!dir || !*dir)
        return NULL;
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    return ca;
}

/* The JDBC URL and Java driver class of the backend.  PostgreSQL: TLS
 * verified against the test CA with the certificate's name, localhost
 * (hosts NULL), or sslmode=disable (a host list); more parameters in
 * url_query ("" or "name=value&..."). */
static void backend_url(const tc_cluster *c, const char *hosts, const char *url_query,
                        char *url, size_t len, const char **cls, dsn *d)
{
    parse_dsn(c->ns.dsn, d);
    if (!strcmp(c->ns.backend, "sqlite3")) {
        snprintf(url, len, "jdbc:sqlite:%s/clusterdb", c->ns.dir);
        *cls = "org.sqlite.JDBC";
    } else if (!strcmp(c->ns.backend, "pgsql")) {
        if (hosts || !pg_ca())
            snprintf(url, len, "jdbc:postgresql://%s/%s?sslmode=disable%s%s",
                     hosts ? hosts : "127.0.0.1", d->dbname, *url_query ? "&" : "", url_query);
        else
            snprintf(url, len, "jdbc:postgresql://localhost:%s/%s?sslmode=verify-full&"
                               "sslrootcert=%s%s%s",
                     d->port, d->dbname, pg_ca(), *url_query ? "&" : "", url_query);
        if (!hosts && !pg_ca()) /* without the CA: the plain form on the server's port */
            snprintf(url, len, "jdbc:postgresql://%s:%s/%s?sslmode=disable%s%s", d->host,
                     d->port, d->dbname, *url_query ? "&" : "", url_query);
        *cls = "org.postgresql.Driver";
    } else {
        snprintf(url, len, "jdbc:mariadb://%s:%s/%s%s%s", d->host, d->port, d->dbname,
                 *url_query ? "?" : "", url_query);
        *cls = "org.mariadb.jdbc.Driver";
    }
}

/* test/toml/mi-deployment.toml with its coordination datasource pointed
 * at this backend; written to out. */
static void write_mi(const tc_cluster *c, const char *hosts, const char *url_query, char *out,
                     size_t outlen)
{
    const char *tmpl = getenv("CCOORD_TEST_MI_TOML") ? getenv("CCOORD_TEST_MI_TOML")
                                                     : "test/toml/mi-deployment.toml";
    FILE *in = fopen(tmpl, "r"), *o;
    char line[1024], url[1024];
    const char *cls;
    dsn d;
    int sqlite = !strcmp(c->ns.backend, "sqlite3");
    if (!in)
        fail_msg("%s: %s (run from the source tree or set CCOORD_TEST_MI_TOML)", tmpl,
                 strerror(errno));
    backend_url(c, hosts, url_query, url, sizeof url, &cls, &d);
    snprintf(out, outlen, "%s/deployment-%s.toml", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             c->ns.prefix);
    o = fopen(out, "w");
    assert_non_null(o);
    while (fgets(line, sizeof line, in)) {
        if (!strcmp(line, "url= \"jdbc:postgresql://localhost:5432/clusterdb\"\n"))
            fprintf(o, "url= \"%s\"\n", url);
        else if (!strcmp(line, "username=\"root\"\n"))
            fprintf(o, sqlite ? "" : "username=\"%s\"\n", d.user);
        else if (!strcmp(line, "password=\"root\"\n"))
            fprintf(o, sqlite ? "" : "password=\"%s\"\n", d.password);
        else if (!strcmp(line, "driver=\"org.postgresql.Driver\"\n"))
            fprintf(o, "driver=\"%s\"\n", cls);
        else if (!strcmp(line, "pool_options.testOnBorrow = true\n"))
            fprintf(o, "%s# this library's own key, so tests do not share tables\n"
                       "table_prefix = \"%s\"\n",
                    line, c->ns.prefix);
        else
            fputs(line, o);
    }
    fclose(in);
    assert_int_equal(fclose(o), 0);
}

/* A node from the MI file: node_id from the host for all but node-1 (the
 * file's), the test's plugin directory. */
static tc_node *add_mi(tc_cluster *c, const char *path, const char *id)
{
    tc_node *t = tc_slot(c, id);
    ccoord_config *cfg = NULL;
    const char *dir = getenv("CCOORD_TEST_DRIVERDIR");
    char v[32];
    int rc;
    assert_int_equal(ccoord_config_new(&cfg), CCOORD_OK);
    if (strcmp(id, "node-1") != 0)
        assert_int_equal(ccoord_config_set(cfg, "cluster_config", "node_id", id), CCOORD_OK);
    assert_int_equal(ccoord_config_set(cfg, "task_handling", "plugin_dir",
                                       dir ? dir : "build/drivers"),
                     CCOORD_OK);
    /* heartBeatInterval as MI reads it, from the environment */
    snprintf(v, sizeof v, "%ld", (long)IV);
    setenv("heartBeatInterval", v, 1);
    rc = ccoord_config_load_mi(cfg, path);
    unsetenv("heartBeatInterval");
    if (rc)
        fail_msg("ccoord_config_load_mi(%s): %s: %s", path, ccoord_strerror(rc),
                 ccoord_config_error(cfg));
    return tc_add_config(c, t, cfg);
}

static int owners_of(tc_cluster *c, const char *task)
{
    int owners = 0;
    tc_owner(c, task, &owners, NULL);
    return owners;
}

static void expected_where(const tc_cluster *c, char *out, size_t len)
{
    dsn d;
    char real[PATH_MAX];
    parse_dsn(c->ns.dsn, &d);
    if (!strcmp(c->ns.backend, "sqlite3")) {
        assert_non_null(realpath(c->ns.dir, real));
        snprintf(out, len, "(sqlite3 database %s/clusterdb)", real);
    } else if (!strcmp(c->ns.backend, "pgsql") && pg_ca()) {
        snprintf(out, len, "(pgsql://%s@localhost:%s/%s, TLS)", d.user, d.port, d.dbname);
    } else {
        snprintf(out, len, "(%s://%s@%s:%s/%s, not encrypted)", c->ns.backend, d.user, d.host,
                 d.port, d.dbname);
    }
}

static void test_mi_deployment_toml_forms_a_cluster(void **state)
{
    tc_cluster c;
    tc_node *a, *b, *owner, *other;
    char path[512], line[4400], where[4200];
    int i;
    (void)state;
    tc_init(&c, IV);
    write_mi(&c, NULL, "", path, sizeof path);
    a = add_mi(&c, path, "node-1");
    b = add_mi(&c, path, "node-2");
    assert_string_equal(ccoord_node_id(a->node), "node-1"); /* [cluster_config] node_id */
    tc_join(a);
    tc_join(b);
    /* the join line names the database it uses, never the password */
    expected_where(&c, where, sizeof where);
    snprintf(line, sizeof line, "Successfully joined the cluster with id [node-1] %s", where);
    if (TC_WAIT(2000, tc_logged(a, line)) < 0)
        fail_msg("no log line \"%s\"", line);
    assert_true(TC_WAIT(2000, tc_logged(a, "MI configuration: ignored, not part of RDBMS "
                                           "coordination: [user_store], [keystore.primary]")) >=
                0);
    assert_true(tc_logged(a, "MI configuration: pool_options maxActive, maxWait, testOnBorrow"));
    assert_true(tc_logged(a, "only the first [[task_resolver]] is read"));
    if (strcmp(c.ns.backend, "sqlite3") != 0) {
        dsn d;
        parse_dsn(c.ns.dsn, &d);
        assert_false(tc_logged(a, d.password));
    }
    assert_true(TC_WAIT(3000, tc_member_count(a) == 2 && tc_member_count(b) == 2) >= 0);
    /* the reference's test: one sample-task, run on one node only */
    assert_int_equal(ccoord_task_register(a->node, "sample-task"), CCOORD_OK);
    assert_int_equal(ccoord_task_register(b->node, "sample-task"), CCOORD_OK);
    if (TC_WAIT(20 * IV, owners_of(&c, "sample-task") == 1) < 0)
        fail_msg("sample-task has %d owners", owners_of(&c, "sample-task"));
    for (i = 0; i < 10; i++) {
        assert_int_equal(owners_of(&c, "sample-task"), 1);
        tu_sleep_ms(IV / 2);
    }
    owner = ccoord_acquire_task(a->node, "sample-task", NULL) == CCOORD_OK ? a : b;
    other = owner == a ? b : a;
    /* graceful leave: the other node has it within the resolving period
     * (6 s in the file) plus an interval or two */
    assert_int_equal(ccoord_leave(owner->node), CCOORD_OK);
    if (TC_WAIT(6000 + 4 * IV,
                ccoord_acquire_task(other->node, "sample-task", NULL) == CCOORD_OK) < 0)
        fail_msg("sample-task did not move to %s", other->id);
    tc_free(&c);
    unlink(path);
}

static void test_mi_postgresql_host_list_finds_the_server(void **state)
{
    tc_cluster c;
    tc_node *a;
    char path[512], hosts[300], line[600];
    dsn d;
    (void)state;
    if (strcmp(tc_backend, "pgsql") != 0)
        skip();
    tc_init(&c, IV);
    parse_dsn(c.ns.dsn, &d);
    /* port 1 on loopback: nothing listens there */
    snprintf(hosts, sizeof hosts, "%s:1,%s:%s", d.host, d.host, d.port);
    write_mi(&c, hosts, "targetServerType=primary", path, sizeof path);
    a = add_mi(&c, path, "node-1");
    tc_join(a);
    snprintf(line, sizeof line, "(pgsql://%s@%s,%s:1,%s/%s", d.user, d.host, d.host, d.port,
             d.dbname);
    if (TC_WAIT(2000, tc_logged(a, line)) < 0)
        fail_msg("no join line with %s", line);
    tc_free(&c);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mi_deployment_toml_forms_a_cluster),
        cmocka_unit_test(test_mi_postgresql_host_list_finds_the_server),
    };
    return tc_run_all("mi", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
