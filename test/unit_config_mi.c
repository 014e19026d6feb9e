/*
 * test/unit_config_mi.c: tests lib/config_mi.c (ccoord_config_load_mi(3))
 * and lib/toml.c, and the checks across keys of lib/config.c (a sqlite3
 * datasource with a host or password, host lists, TLS on mysql).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "toml.h"

#define COORD "[[datasource]]\nid = \"WSO2_COORDINATION_DB\"\n"
#define PG_URL "url = \"jdbc:postgresql://localhost:5432/clusterdb\"\n"
#define JAVA "org.wso2.micro.integrator.ntask.coordination.task.resolver."

static const char *const env_vars[] = {"nodeId", "heartBeatInterval", "heartbeatMaxRetry",
                                       "localGroupId", NULL};

static int setup(void **state)
{
    ccoord_config *c = NULL;
    size_t i;
    for (i = 0; env_vars[i]; i++)
        unsetenv(env_vars[i]);
    if (ccoord_config_new(&c) != CCOORD_OK)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    size_t i;
    ccoord_config_free(*state);
    for (i = 0; env_vars[i]; i++)
        unsetenv(env_vars[i]);
    return 0;
}

/* A fresh config in *state (a load layers on what a config holds). */
static ccoord_config *fresh(void **state)
{
    teardown(state);
    assert_int_equal(setup(state), 0);
    return *state;
}

static int mi(ccoord_config *c, const char *text)
{
    return ccoord__config_parse_mi_string(c, text, "t.toml");
}

/* The load fails with ECONFIG, the message starts with prefix and holds
 * every further fragment; the config is unchanged. */
static void expect_bad(ccoord_config *c, const char *text, const char *prefix, ...)
{
    va_list ap;
    const char *frag, *err;
    long hb = c->s.heartbeat_interval_ms;
    assert_int_equal(mi(c, text), CCOORD_ECONFIG);
    err = ccoord_config_error(c);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
    va_start(ap, prefix);
    while ((frag = va_arg(ap, const char *)) != NULL)
        if (!strstr(err, frag))
            fail_msg("error \"%s\" lacks \"%s\"", err, frag);
    va_end(ap);
    assert_int_equal(c->s.heartbeat_interval_ms, hb);
}

static const char *note_with(const ccoord_config *c, const char *frag)
{
    size_t i;
    for (i = 0; i < c->s.notes.count; i++)
        if (strstr(c->s.notes.items[i].key, frag))
            return c->s.notes.items[i].key;
    return NULL;
}

/* The reference's own datasource blocks (clustered-deployment.txt). */
#define REF_MYSQL                                                                           \
    "[[datasource]]\n"                                                                      \
    "id = \"WSO2_COORDINATION_DB\"\n" \
    "url= \"jdbc:mysql://localhost:3306/clusterdb\"\n" \
    "username=\"root\"\n" \
    "password=\"root\"\n" \
    "driver=\"com.mysql.jdbc.Driver\"\n" \
    "pool_options.maxActive=50\n" \
    "pool_options.maxWait = 60000\n" \
    "pool_options.testOnBorrow = true\n"

static void test_mi_reference_mysql_block(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(mi(c, REF_MYSQL), CCOORD_OK);
    assert_string_equal(c->s.driver, "mysql");
    assert_string_equal(c->s.host, "localhost");
    assert_int_equal(c->s.port, 3306);
    assert_string_equal(c->s.dbname, "clusterdb");
    assert_string_equal(c->s.username, "root");
    assert_string_equal(c->s.password, "root");
    assert_int_equal(c->s.connect_timeout_s, 60); /* maxWait 60000 ms */
    assert_int_equal(c->s.heartbeat_interval_ms, 5000); /* MI's default */
    assert_non_null(note_with(c, "pool_options maxActive, maxWait, testOnBorrow recorded"));
    assert_non_null(note_with(c, "two connections per node"));
}

static void test_mi_reference_postgresql_block(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(mi(c, COORD PG_URL "username=\"root\"\npassword=\"root\"\n"
                                        "driver=\"org.postgresql.Driver\"\n"
            "pool_options.maxActive=50\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.driver, "pgsql");
    assert_string_equal(c->s.host, "localhost");
    assert_int_equal(c->s.port, 5432);
    assert_null(c->s.port_list);
    assert_string_equal(c->s.dbname, "clusterdb");
}

static void test_mi_reference_sqlserver_oracle_db2_blocks(void **state)
{
    ccoord_config *c = *state;
    char avail[256];
    if (!ccoord__dbi_drivers("freetds", avail, sizeof avail))
        expect_bad(c,
                   COORD "url= \"jdbc:sqlserver://<IP>:1433;databaseName=clusterdb;"
                         "SendStringParametersAsUnicode=false\"\n"
                         "driver=\"com.microsoft.sqlserver.jdbc.SQLServerDriver\"\n",
                   "t.toml:3: datasource.url = jdbc:sqlserver://", "libdbd-freetds", NULL);
    expect_bad(c,
               COORD "url= \"jdbc:oracle:thin:@SERVER_NAME:PORT/SID\"\n"
                     "driver=\"oracle.jdbc.OracleDriver\"\n",
               "t.toml:3: datasource.url = jdbc:oracle:thin:@SERVER_NAME:PORT/SID: ",
               "libdbi has no driver for Oracle", "installed here: ", "sqlite3", NULL);
    expect_bad(c,
               COORD "url=\"jdbc:db2://SERVER_NAME:PORT/clusterdb\"\n"
                     "driver=\"com.ibm.db2.jcc.DB2Driver\"\n",
               "t.toml:3: datasource.url = jdbc:db2://", "libdbi has no driver for IBM Db2", NULL);
}

static void test_mi_sqlserver_maps_to_freetds_when_installed(void **state)
{
    ccoord_config *c = *state;
    char avail[256];
    if (!ccoord__dbi_drivers("freetds", avail, sizeof avail))
        skip();
    assert_int_equal(mi(c, COORD "url= \"jdbc:sqlserver://db:1433;databaseName=cdb\"\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.driver, "freetds");
    assert_string_equal(c->s.dbname, "cdb");
}

static void test_mi_java_driver_must_match_url(void **state)
{
    ccoord_config *c = *state;
    static const char *const ok[][2] = {
        {"jdbc:mysql://h/db", "com.mysql.jdbc.Driver"},
        {"jdbc:mysql://h/db", "com.mysql.cj.jdbc.Driver"},
        {"jdbc:mysql://h/db", "org.mariadb.jdbc.Driver"},
        {"jdbc:mariadb://h/db", "org.mariadb.jdbc.Driver"},
        {"jdbc:postgresql://h/db", "org.postgresql.Driver"},
        {"jdbc:sqlite:/tmp/c.db", "org.sqlite.JDBC"},
    };
    char text[512];
    size_t i;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(text, sizeof text, COORD "url = \"%s\"\ndriver = \"%s\"\n", ok[i][0], ok[i][1]);
        c = fresh(state);
        if (mi(c, text) != CCOORD_OK)
            fail_msg("%s with %s: %s", ok[i][0], ok[i][1], ccoord_config_error(c));
    }
    expect_bad(c, COORD PG_URL "driver = \"com.mysql.jdbc.Driver\"\n",
               "t.toml:4: datasource.driver = com.mysql.jdbc.Driver: ",
               "does not drive the url's database (jdbc:postgresql at line 3)", NULL);
    expect_bad(c, COORD "url = \"jdbc:mariadb://h/db\"\ndriver = \"com.mysql.cj.jdbc.Driver\"\n",
               "t.toml:4: datasource.driver = com.mysql.cj.jdbc.Driver: ", "jdbc:mariadb", NULL);
    expect_bad(c, COORD PG_URL "driver = \"org.h2.Driver\"\n",
               "t.toml:4: datasource.driver = org.h2.Driver: ",
               "not a JDBC driver class of the reference", "org.postgresql.Driver", NULL);
}

static void test_mi_needs_the_coordination_datasource(void **state)
{
    ccoord_config *c = *state;
    expect_bad(c, "[server]\nhostname = \"h\"\n",
               "t.toml: no [[datasource]] with id = \"WSO2_COORDINATION_DB\" (there is no "
               "[[datasource]])",
               "must not fall back to a local database", NULL);
    expect_bad(c,
               "[[datasource]]\nid = \"WSO2_CARBON_DB\"\nurl = \"jdbc:h2:./x\"\n"
               "[[datasource]]\nid = \"WSO2_SHARED_DB\"\n",
               "t.toml: no [[datasource]] with id = \"WSO2_COORDINATION_DB\"",
               "the ids here are \"WSO2_CARBON_DB\", \"WSO2_SHARED_DB\"", NULL);
    expect_bad(c, COORD PG_URL COORD PG_URL, "t.toml:5: datasource.id = WSO2_COORDINATION_DB: ",
               "a second [[datasource]] with this id (the first at line 1)", NULL);
    expect_bad(c, COORD "username = \"u\"\n", "t.toml:1: datasource.id = WSO2_COORDINATION_DB: ",
               "no url", NULL);
    /* the other datasources are not read at all */
    assert_int_equal(mi(c, "[[datasource]]\nid = \"WSO2_CARBON_DB\"\nurl = \"jdbc:h2:./x\"\n"
                           "driver = \"org.h2.Driver\"\n" COORD PG_URL),
                     CCOORD_OK);
    assert_string_equal(c->s.driver, "pgsql");
}

static void test_mi_secret_password_refused(void **state)
{
    ccoord_config *c = *state;
    expect_bad(c, COORD PG_URL "password = \"$secret{coord_pw}\"\n",
               "t.toml:4: datasource.password = $secret{coord_pw}: ", "secure vault",
               "password_file", NULL);
    expect_bad(c, COORD PG_URL "password = 12\n", "t.toml:4: datasource.password = (hidden): ",
               "not a string", NULL);
    expect_bad(c, COORD PG_URL "password = \"a\"\npassword_env = \"HOME\"\n",
               "t.toml:1: datasource = ", "more than one of password", NULL);
}

static void test_mi_pool_options(void **state)
{
    ccoord_config *c = *state;
    /* every Tomcat JDBC pool attribute MI passes through */
    static const char *const keys[] = {
        "maxActive", "maxIdle", "minIdle", "initialSize", "testOnBorrow", "testOnReturn",
        "testWhileIdle", "testOnConnect", "validationQuery", "validationQueryTimeout",
        "validatorClassName", "validationInterval", "timeBetweenEvictionRunsMillis",
        "numTestsPerEvictionRun", "minEvictableIdleTimeMillis", "removeAbandoned",
        "removeAbandonedTimeout", "logAbandoned", "abandonWhenPercentageFull", "suspectTimeout",
        "maxAge", "defaultAutoCommit", "defaultReadOnly", "defaultTransactionIsolation",
        "defaultCatalog", "connectionProperties", "initSQL", "jdbcInterceptors", "jmxEnabled",
        "fairQueue", "useEquals", "rollbackOnReturn", "commitOnReturn",
        "alternateUsernameAllowed", "useDisposableConnectionFacade", "logValidationErrors",
        "propagateInterruptState", "ignoreExceptionOnPreLoad", "useStatementFacade",
        "accessToUnderlyingConnectionAllowed", "poolPreparedStatements",
        "maxOpenPreparedStatements", "dataSourceClassName", "dataSourceProps"};
    char text[512];
    size_t i;
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        snprintf(text, sizeof text, COORD PG_URL "pool_options.%s = \"x\"\n", keys[i]);
        if (mi(c, text) != CCOORD_OK)
            fail_msg("pool_options.%s: %s", keys[i], ccoord_config_error(c));
        assert_non_null(note_with(c, keys[i]));
    }
    assert_int_equal(mi(c, COORD PG_URL "pool_options.maxWait = 1500\n"), CCOORD_OK);
    assert_int_equal(c->s.connect_timeout_s, 2);
    assert_int_equal(mi(c, COORD PG_URL "[datasource.pool_options]\nmaxWait = \"9000\"\n"),
                     CCOORD_OK);
    assert_int_equal(c->s.connect_timeout_s, 9);
    expect_bad(c, COORD PG_URL "pool_options.maxWait = \"soon\"\n",
               "t.toml:4: datasource.pool_options.maxWait = soon: ", "milliseconds", NULL);
    expect_bad(c, COORD PG_URL "pool_options.maxActiv = 5\n",
               "t.toml:4: datasource.pool_options.maxActiv = 5: ",
               "not a connection pool option MI documents", "maxActive", NULL);
}

static void test_mi_postgresql_url_parameters(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(mi(c, COORD "url = \"jdbc:postgresql://h/db?sslmode=require&"
                                 "connectTimeout=7&targetServerType=primary\"\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.ssl_mode, "require");
    assert_int_equal(c->s.connect_timeout_s, 7);
    assert_null(c->s.port_list);
    assert_int_equal(c->s.port, 0); /* libpq's default */
    assert_int_equal(mi(c, COORD "url = \"jdbc:postgresql://h/db?ssl=true\"\n"), CCOORD_OK);
    assert_string_equal(c->s.ssl_mode, "verify-full"); /* what pgjdbc means by it */
    assert_int_equal(mi(c, COORD "url = \"jdbc:postgresql://h/db?user=u&password=p%26q\"\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.username, "u");
    assert_string_equal(c->s.password, "p&q");
    expect_bad(c, COORD "url = \"jdbc:postgresql://h/db?sslmode=allow\"\n",
               "t.toml:3: datasource.url = jdbc:postgresql://h/db?sslmode=allow: ",
               "URL parameter sslmode = allow", "verify-full", NULL);
    expect_bad(c, COORD "url = \"jdbc:postgresql://h/db?targetServerType=secondary\"\n",
               "t.toml:3: datasource.url = ", "needs the primary", NULL);
    expect_bad(c, COORD "url = \"jdbc:postgresql://h/db?connectTimeout=0\"\n",
               "t.toml:3: datasource.url = ", "waits for ever", NULL);
    expect_bad(c, COORD "url = \"jdbc:postgresql://h/db?currentSchema=s&password=topsecret\"\n",
               "t.toml:3: datasource.url = jdbc:postgresql://h/db?currentSchema=s&password="
               "(hidden): ",
               "URL parameter currentSchema has no equivalent here", "sslmode", NULL);
    assert_null(strstr(ccoord_config_error(c), "topsecret"));
}

static void test_mi_postgresql_host_lists(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(mi(c, COORD "url = \"jdbc:postgresql://db1:5432,db2:5433/clusterdb?"
                                 "targetServerType=primary\"\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.host, "db1,db2");
    assert_string_equal(c->s.port_list, "5432,5433");
    assert_int_equal(mi(c, COORD "url = \"jdbc:postgresql://db1,db2:6000/clusterdb\"\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.port_list, "5432,6000");
    assert_int_equal(mi(c, COORD "url = \"jdbc:postgresql://[::1]:5433/clusterdb\"\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.host, "::1");
    assert_int_equal(c->s.port, 5433);
    expect_bad(c, COORD "url = \"jdbc:mysql://db1,db2/clusterdb\"\n",
               "t.toml:3: datasource.url = jdbc:mysql://db1,db2/clusterdb: ",
               "a list of hosts needs driver = pgsql", NULL);
}

static void test_mi_mysql_url_parameters(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(mi(c, COORD "url = \"jdbc:mysql://h:3307/db?useSSL=false&"
                                 "characterEncoding=UTF-8&connectTimeout=2500\"\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.ssl_mode, "disable");
    assert_int_equal(c->s.connect_timeout_s, 3);
    assert_int_equal(c->s.port, 3307);
    expect_bad(c, COORD "url = \"jdbc:mysql://h/db?useSSL=true\"\n",
               "t.toml:3: datasource.url = jdbc:mysql://h/db?useSSL=true: ",
               "libdbd-mysql", "cannot be encrypted", NULL);
    expect_bad(c, COORD "url = \"jdbc:mysql://h/db?sslMode=VERIFY_IDENTITY\"\n",
               "t.toml:3: datasource.url = ", "cannot be encrypted or verified", NULL);
    expect_bad(c, COORD "url = \"jdbc:mysql://h/db?characterEncoding=latin1\"\n",
               "t.toml:3: datasource.url = ", "UTF-8 only", NULL);
    expect_bad(c, COORD "url = \"jdbc:mariadb://h/db?pinGlobalTxToPhysicalConnection=true\"\n",
               "t.toml:3: datasource.url = ", "pinGlobalTxToPhysicalConnection has no equivalent",
               "useSSL", NULL);
}

static void test_mi_sqlite_and_bad_urls(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(mi(c, COORD "url = \"jdbc:sqlite:/var/lib/mi/cluster.db\"\n"), CCOORD_OK);
    assert_string_equal(c->s.driver, "sqlite3");
    assert_string_equal(c->s.dbdir, "/var/lib/mi");
    assert_string_equal(c->s.dbname, "cluster.db");
    expect_bad(c, COORD "url = \"jdbc:sqlite::memory:\"\n", "t.toml:3: datasource.url = ",
               "a file that every node opens", NULL);
    expect_bad(c, COORD "url = \"jdbc:sqlite:/tmp/c.db\"\nusername = \"root\"\n",
               "t.toml:4: datasource.username = root: ", "driver is sqlite3", NULL);
    expect_bad(c, COORD "url = \"jdbc:h2:./x\"\n", "t.toml:3: datasource.url = jdbc:h2:./x: ",
               "jdbc:postgresql://host[:port]", NULL);
    expect_bad(c, COORD "url = \"jdbc:postgresql:/db\"\n", "t.toml:3: datasource.url = ",
               "expected //", NULL);
    expect_bad(c, COORD "url = \"jdbc:postgresql://h\"\n", "t.toml:3: datasource.url = ",
               "no /database", NULL);
    expect_bad(c, COORD "url = 5\n", "t.toml:3: datasource.url = 5: ", "not a string", NULL);
}

static void test_mi_sections_and_keys(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(mi(c, "top.level = 1\n"
                           "[server]\nhostname = \"mi-1.example.com\"  # comment\n"
                           "offset = 10\n"
                           "[cluster_config]\nnode_id = \"node-1\"\ngroup_id = \"g\"\n"
                           "[task_handling]\nresolver_class = \"" JAVA "TaskNodeResolver\"\n"
                           "resolving_period = \"6\"\nresolving_frequency = 3\n"
                           "[[task_resolver]]\ntask_nodes = \"node-1,node-2 ,node-3\"\n"
                           "[[task_resolver]]\ntask_nodes = \"other\"\n"
                           "[keystore.tls]\nfile_name = 'a\\b.jks'\n"
                           "[transport.http]\nports = [8290,\n  8291]\n"
                           "[[management_api.handler]]\nx = { a = 1 }\n"
                           COORD PG_URL "description = \"coordination\"\n"),
                     CCOORD_OK);
    assert_string_equal(c->s.hostname, "mi-1.example.com");
    assert_string_equal(c->node_id_file, "node-1");
    assert_string_equal(c->s.group_id, "g");
    assert_string_equal(c->s.resolver_class, JAVA "TaskNodeResolver");
    assert_int_equal(c->s.resolving_period_s, 6);
    assert_int_equal(c->s.resolving_frequency, 3);
    assert_int_equal(c->s.resolver_params.count, 1);
    assert_string_equal(c->s.resolver_params.items[0].value, "node-1,node-2 ,node-3");
    assert_string_equal(c->s.resolver_params.items[0].origin, "t.toml:13");
    assert_non_null(note_with(c, "ignored, not part of RDBMS coordination: top, "
                                 "[keystore.tls], [transport.http], [management_api.handler], "
                                 "server.offset, datasource.description"));
    assert_non_null(note_with(c, "only the first [[task_resolver]] is read"));
    expect_bad(c, COORD PG_URL "[task_handling]\nresolving_period = [6]\n",
               "t.toml:5: task_handling.resolving_period = [...]: ", "an array", NULL);
    expect_bad(c, COORD PG_URL "[task_handling]\nresolving_period = 0\n",
               "t.toml:5: task_handling.resolving_period = 0: ", "out of range", NULL);
    expect_bad(c, "server = 1\n" COORD PG_URL, "t.toml:1: server: ", "table", NULL);
}

static void test_mi_toml_errors_name_the_line(void **state)
{
    ccoord_config *c = *state;
    expect_bad(c, "[server]\nhostname = \"localhost  # no end\n",
               "t.toml:2: newline in a single-line string (TOML 1.0)", NULL);
    expect_bad(c, "[server]\nhostname = 'localhost\n", "t.toml:2: newline in a single-line",
               NULL);
    expect_bad(c, "[server]\nhostname = \"\"\"localhost\n", "t.toml:2: unterminated multi-line",
               NULL);
    expect_bad(c, "[server]\nhostname = localhost\n", "t.toml:2: not a valid value", NULL);
    expect_bad(c, "[server]\n[server]\n", "t.toml:2: table server: already defined as a table "
                                          "at line 1",
               NULL);
    expect_bad(c, "a = 1\na = 2\n", "t.toml:2: key a: already defined as a value at line 1",
               NULL);
    expect_bad(c, "a = \"\\q\"\n", "t.toml:1: invalid escape", NULL);
    expect_bad(c, "a = \"\xff\"\n", "t.toml:1: invalid UTF-8", NULL);
}

static void test_mi_precedence_host_env_file_default(void **state)
{
    ccoord_config *c = *state;
    /* MI's default */
    assert_int_equal(mi(c, COORD PG_URL), CCOORD_OK);
    assert_int_equal(c->s.heartbeat_interval_ms, 5000);
    /* the file (this library's own key) */
    assert_int_equal(mi(c, "[cluster_config]\nheartbeat_interval = 700\n" COORD PG_URL),
                     CCOORD_OK);
    assert_int_equal(c->s.heartbeat_interval_ms, 700);
    /* the environment, as MI reads it */
    setenv("heartBeatInterval", "900", 1);
    setenv("heartbeatMaxRetry", "4", 1);
    setenv("localGroupId", "env-group", 1);
    assert_int_equal(mi(c, "[cluster_config]\nheartbeat_interval = 700\n" COORD PG_URL),
                     CCOORD_OK);
    assert_int_equal(c->s.heartbeat_interval_ms, 900);
    assert_int_equal(c->s.heartbeat_max_retry, 4);
    assert_string_equal(c->s.group_id, "env-group");
    setenv("heartBeatInterval", "fast", 1);
    expect_bad(c, COORD PG_URL, "environment variable heartBeatInterval: heartBeatInterval = "
                                "fast: ",
               "not an integer", NULL);
    /* the host program */
    unsetenv("heartBeatInterval");
    assert_int_equal(ccoord_config_set(c, "cluster_config", "heartbeat_interval", "60"),
                     CCOORD_OK);
    setenv("heartBeatInterval", "900", 1);
    assert_int_equal(mi(c, COORD PG_URL), CCOORD_OK);
    assert_int_equal(c->s.heartbeat_interval_ms, 60);
}

/* ---- issue 11, item 2: the INI loader is no longer a trap ------------ */

static void test_ini_sqlite_with_server_keys_is_an_error(void **state)
{
    ccoord_config *c = *state;
    static const char *const cases[][3] = {
        {"[datasource]\nhost = db1\n", "t.conf:2: datasource.host = db1: ",
         "driver is sqlite3 (the default when datasource.driver is not given)"},
        {"[datasource]\nport = 5432\n", "t.conf:2: datasource.port = 5432: ", "local file"},
        {"[datasource]\nusername = root\n", "t.conf:2: datasource.username = root: ", "server"},
        {"[datasource]\npassword = secret\n", "t.conf:2: datasource.password = (hidden): ",
         "set driver = pgsql or mysql"},
        {"[datasource]\ndriver = sqlite3\n\nhost = db1\n", "t.conf:4: datasource.host = db1: ",
         "driver is sqlite3:"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *err;
        assert_int_equal(ccoord__config_parse_string(c, cases[i][0], "t.conf"), CCOORD_ECONFIG);
        err = ccoord_config_error(c);
        if (strncmp(err, cases[i][1], strlen(cases[i][1])) != 0 || !strstr(err, cases[i][2]))
            fail_msg("case %zu: \"%s\"", i, err);
        assert_null(strstr(err, "secret"));
    }
    /* a server driver takes them */
    assert_int_equal(ccoord__config_parse_string(c, "[datasource]\ndriver = pgsql\nhost = db1\n"
                                                    "username = u\npassword = p\n",
                                                 "t.conf"),
                     CCOORD_OK);
}

static void test_node_new_checks_keys_set_after_the_load(void **state)
{
    ccoord_config *c = *state;
    ccoord_node *n = NULL;
    assert_int_equal(ccoord_config_set(c, "datasource", "host", "db1"), CCOORD_OK);
    assert_int_equal(ccoord_node_new(c, &n), CCOORD_ECONFIG);
    assert_null(n);
    assert_non_null(strstr(ccoord_config_error(c), "ccoord_config_set: datasource.host = db1: "
                                                   "set, but driver is sqlite3"));
}

static void test_lists_and_tls_checks(void **state)
{
    ccoord_config *c = *state;
    assert_int_equal(ccoord__config_parse_string(c = fresh(state), "[datasource]\ndriver = pgsql\n"
                                                    "host = a,b\nport = 1,2\n",
                                                 "t.conf"),
                     CCOORD_OK);
    assert_string_equal(c->s.port_list, "1,2");
    assert_int_equal(ccoord__config_parse_string(c = fresh(state), "[datasource]\ndriver = pgsql\n"
                                                    "host = a,b,c\nport = 1,2\n",
                                                 "t.conf"),
                     CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "t.conf:4: datasource.port = 1,2: 2 ports "
                                                   "for 3 hosts"));
    assert_int_equal(ccoord__config_parse_string(c = fresh(state), "[datasource]\ndriver = pgsql\nhost = a,,b\n",
                                                 "t.conf"),
                     CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "empty host name"));
    assert_int_equal(ccoord__config_parse_string(c = fresh(state), "[datasource]\ndriver = pgsql\n"
                                                    "ssl_mode = verify-all\n",
                                                 "t.conf"),
                     CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "t.conf:3: datasource.ssl_mode = verify-all: "
                                                   "not a TLS mode; disable, prefer"));
    assert_int_equal(ccoord__config_parse_string(c = fresh(state), "[datasource]\ndriver = pgsql\n"
                                                    "ssl_ca = /no/such/ca.pem\n",
                                                 "t.conf"),
                     CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "t.conf:3: datasource.ssl_ca = "
                                                   "/no/such/ca.pem: cannot open: No such file"));
    assert_int_equal(ccoord__config_parse_string(c = fresh(state), "[datasource]\ndriver = mysql\n"
                                                    "ssl_mode = require\n",
                                                 "t.conf"),
                     CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "t.conf:3: datasource.ssl_mode = require: "
                                                   "libdbi's mysql driver"));
    assert_int_equal(ccoord__config_parse_string(c = fresh(state), "[datasource]\ndriver = mysql\n"
                                                    "ssl_mode = disable\n",
                                                 "t.conf"),
                     CCOORD_OK);
}

static void test_mi_load_from_file_and_null_args(void **state)
{
    ccoord_config *c = *state;
    char path[] = "/tmp/unit_config_mi.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, REF_MYSQL, strlen(REF_MYSQL)), (ssize_t)strlen(REF_MYSQL));
    close(fd);
    assert_int_equal(ccoord_config_load_mi(c, path), CCOORD_OK);
    assert_string_equal(c->s.driver, "mysql");
    unlink(path);
    assert_int_equal(ccoord_config_load_mi(c, path), CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "cannot open"));
    assert_int_equal(ccoord_config_load_mi(c, NULL), CCOORD_EINVAL);
    assert_int_equal(ccoord_config_load_mi(NULL, path), CCOORD_EINVAL);
}

static void test_mi_survives_oom(void **state)
{
    long i;
    (void)state;
    for (i = 0; i < 400; i++) {
        ccoord_config *c = NULL;
        int rc;
        if (ccoord_config_new(&c) != CCOORD_OK)
            continue;
        ccoord__fail_alloc_after(i);
        rc = mi(c, REF_MYSQL "[server]\nhostname = \"h\"\n[keystore.tls]\na = 1\n"
                             "[[task_resolver]]\nx = \"1\"\n");
        ccoord__fail_alloc_after(-1);
        assert_true(rc == CCOORD_OK || rc == CCOORD_ENOMEM);
        ccoord_config_free(c);
        if (rc == CCOORD_OK)
            break;
    }
    assert_true(i < 400);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_mi_reference_mysql_block),
        T(test_mi_reference_postgresql_block),
        T(test_mi_reference_sqlserver_oracle_db2_blocks),
        T(test_mi_sqlserver_maps_to_freetds_when_installed),
        T(test_mi_java_driver_must_match_url),
        T(test_mi_needs_the_coordination_datasource),
        T(test_mi_secret_password_refused),
        T(test_mi_pool_options),
        T(test_mi_postgresql_url_parameters),
        T(test_mi_postgresql_host_lists),
        T(test_mi_mysql_url_parameters),
        T(test_mi_sqlite_and_bad_urls),
        T(test_mi_sections_and_keys),
        T(test_mi_toml_errors_name_the_line),
        T(test_mi_precedence_host_env_file_default),
        T(test_ini_sqlite_with_server_keys_is_an_error),
        T(test_node_new_checks_keys_set_after_the_load),
        T(test_lists_and_tls_checks),
        T(test_mi_load_from_file_and_null_args),
        T(test_mi_survives_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
