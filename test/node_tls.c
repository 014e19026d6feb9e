/*
 * test/node_tls.c: TLS to the coordination database (issue 12, item 1).
 *
 * The test PostgreSQL server (test/db/servers.sh) has ssl = on with a
 * certificate for "localhost" signed by a throwaway CA
 * ($CCOORD_TEST_PG_TLS_DIR/ca.pem); the other tests connect with
 * ssl_mode=disable.  Here: verify-full against that CA joins, every
 * connection of every node is encrypted (pg_stat_ssl) and the join line
 * says TLS; a wrong CA, a wrong host name and a server without TLS under
 * require are join errors that say why.  On MariaDB, where libdbd-mysql
 * passes no TLS setting, asking for TLS is a configuration error.
 */
#include "cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define IV (100 * tc_time_scale)

static const char *tls_file(const char *name, char *out, size_t len)
{
    const char *dir = getenv("CCOORD_TEST_PG_TLS_DIR");
    if (!dir || !*dir) {
        if (tu_in_ci())
            fail_msg("CCOORD_TEST_PG_TLS_DIR is not set but CI=true (test/db/servers.sh "
                     "sets it)");
        skip();
    }
    snprintf(out, len, "%s/%s", dir, name);
    return out;
}

/* A node of c for TLS: host, port (NULL: the server's), ssl_mode, ssl_ca. */
static tc_node *add_tls(tc_cluster *c, const char *id, const char *host, const char *port,
                        const char *mode, const char *ca)
{
    tc_node *t = tc_slot(c, id);
    ccoord_config *cfg = tu_config(&c->ns, id, c->interval_ms);
    assert_int_equal(ccoord_config_set(cfg, "datasource", "host", host), CCOORD_OK);
    if (port)
        assert_int_equal(ccoord_config_set(cfg, "datasource", "port", port), CCOORD_OK);
    assert_int_equal(ccoord_config_set(cfg, "datasource", "ssl_mode", mode), CCOORD_OK);
    /* a TLS handshake under valgrind takes seconds */
    assert_int_equal(ccoord_config_set(cfg, "datasource", "connect_timeout", "30"), CCOORD_OK);
    if (ca && ccoord_config_set(cfg, "datasource", "ssl_ca", ca) != CCOORD_OK)
        fail_msg("%s", ccoord_config_error(cfg));
    return tc_add_config(c, t, cfg);
}

static void pg_only(void)
{
    if (strcmp(tc_backend, "pgsql") != 0)
        skip();
}

/* Connections of user ccoord other than the asking one, encrypted or not. */
static int conns(tc_cluster *c, int ssl)
{
    char v[32] = "";
    if (tu_sql_value(&c->ns, v, sizeof v,
                     "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                     "WHERE a.usename = current_user AND a.pid <> pg_backend_pid() AND %s s.ssl",
                     ssl ? "" : "NOT") != 0)
        return -1;
    return atoi(v);
}

static void test_tls_verify_full_encrypts_every_connection(void **state)
{
    tc_cluster c;
    char ca[512], line[256];
    int i;
    (void)state;
    pg_only();
    tc_init(&c, IV);
    tls_file("ca.pem", ca, sizeof ca);
    for (i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "tls-%d", i + 1);
        tc_join(add_tls(&c, id, "localhost", NULL, "verify-full", ca));
    }
    for (i = 0; i < 3; i++) {
        snprintf(line, sizeof line, "Successfully joined the cluster with id [tls-%d] (pgsql://",
                 i + 1);
        assert_true(TC_WAIT(2000, tc_logged(&c.nodes[i], line)) >= 0);
        assert_true(tc_logged(&c.nodes[i], "/ccoord, TLS)"));
    }
    assert_true(TC_WAIT(3000, tc_member_count(&c.nodes[0]) == 3) >= 0);
    assert_int_equal(ccoord_task_register(c.nodes[0].node, "tls-task"), CCOORD_OK);
    /* two connections per node, all encrypted (a connection the test
     * itself just closed may still be listed for a moment) */
    if (TC_WAIT(5000, conns(&c, 0) == 0 && conns(&c, 1) >= 6) < 0)
        fail_msg("%d encrypted and %d plain connections of the nodes", conns(&c, 1),
                 conns(&c, 0));
    tc_free(&c);
}

static void test_tls_verify_ca_does_not_check_the_name(void **state)
{
    tc_cluster c;
    char ca[512];
    (void)state;
    pg_only();
    tc_init(&c, IV);
    tls_file("ca.pem", ca, sizeof ca);
    tc_join(add_tls(&c, "tls-ca", "127.0.0.1", NULL, "verify-ca", ca));
    assert_true(TC_WAIT(2000, tc_logged(&c.nodes[0], "/ccoord, TLS)")) >= 0);
    tc_free(&c);
}

static void expect_join_error(tc_node *t, const char *frag1, const char *frag2)
{
    int rc = ccoord_join(t->node);
    const char *msg = ccoord_errmsg(t->node);
    if (rc != CCOORD_EDB || !strstr(msg, frag1) || !strstr(msg, frag2))
        fail_msg("join: %s: %s (wanted \"%s\" and \"%s\")", ccoord_strerror(rc), msg, frag1,
                 frag2);
    printf("      [%s] %s\n", tc_backend, msg);
}

static void test_tls_wrong_ca_is_a_join_error(void **state)
{
    tc_cluster c;
    char other[512];
    (void)state;
    pg_only();
    tc_init(&c, IV);
    tls_file("other-ca.pem", other, sizeof other);
    expect_join_error(add_tls(&c, "tls-wrong-ca", "localhost", NULL, "verify-full", other),
                      "connect to pgsql database", "certificate verify failed");
    tc_free(&c);
}

static void test_tls_wrong_host_name_is_a_join_error(void **state)
{
    tc_cluster c;
    char ca[512];
    (void)state;
    pg_only();
    tc_init(&c, IV);
    tls_file("ca.pem", ca, sizeof ca);
    expect_join_error(add_tls(&c, "tls-wrong-name", "127.0.0.1", NULL, "verify-full", ca),
                      "on 127.0.0.1", "does not match host name");
    tc_free(&c);
}

/* A PostgreSQL "server" without TLS: answers the client's SSLRequest
 * with 'N', as a server with ssl = off does. */
typedef struct plain_server {
    int fd, port;
    pthread_t th;
} plain_server;

static void *plain_main(void *arg)
{
    plain_server *ps = arg;
    int c;
    while ((c = accept(ps->fd, NULL, NULL)) >= 0) {
        unsigned char req[8];
        if (read(c, req, sizeof req) == (ssize_t)sizeof req && write(c, "N", 1) == 1)
            tu_sleep_ms(200); /* libpq gives up on its own */
        close(c);
    }
    return NULL;
}

static void test_tls_require_on_a_server_without_tls(void **state)
{
    tc_cluster c;
    plain_server ps;
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    char port[16];
    (void)state;
    pg_only();
    tc_init(&c, IV);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ps.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ps.fd >= 0);
    assert_int_equal(bind(ps.fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(ps.fd, 8), 0);
    assert_int_equal(getsockname(ps.fd, (struct sockaddr *)&a, &len), 0);
    ps.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&ps.th, NULL, plain_main, &ps), 0);
    snprintf(port, sizeof port, "%d", ps.port);
    expect_join_error(add_tls(&c, "tls-plain", "127.0.0.1", port, "require", NULL),
                      "connect to pgsql database", "server does not support SSL");
    shutdown(ps.fd, SHUT_RDWR);
    close(ps.fd);
    pthread_join(ps.th, NULL);
    tc_free(&c);
}

static void test_tls_mysql_refused_at_configuration(void **state)
{
    tc_cluster c;
    ccoord_config *cfg;
    ccoord_node *n = NULL;
    (void)state;
    if (strcmp(tc_backend, "mysql") != 0)
        skip();
    tc_init(&c, IV);
    cfg = tu_config(&c.ns, "tls-my", IV);
    assert_int_equal(ccoord_config_set(cfg, "datasource", "ssl_mode", "require"), CCOORD_OK);
    assert_int_equal(ccoord_node_new(cfg, &n), CCOORD_ECONFIG);
    assert_null(n);
    assert_non_null(strstr(ccoord_config_error(cfg), "libdbi's mysql driver (libdbd-mysql) "
                                                     "passes no TLS settings"));
    printf("      [mysql] %s\n", ccoord_config_error(cfg));
    ccoord_config_free(cfg);
    tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_verify_full_encrypts_every_connection),
        cmocka_unit_test(test_tls_verify_ca_does_not_check_the_name),
        cmocka_unit_test(test_tls_wrong_ca_is_a_join_error),
        cmocka_unit_test(test_tls_wrong_host_name_is_a_join_error),
        cmocka_unit_test(test_tls_require_on_a_server_without_tls),
        cmocka_unit_test(test_tls_mysql_refused_at_configuration),
    };
    return tc_run_all("tls", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
