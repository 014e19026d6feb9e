/*
 * test/node_bootorder.c: boot order.  With datasource.connect_retry a
 * node that starts before its database waits for it in ccoord_join
 * (logging each failed attempt once) and joins once it is up; without it,
 * or after it, the join fails with CCOORD_EDB naming the reason.  On
 * SQLite the database "starts" when its directory appears; on the
 * servers, when a TCP proxy in front of the test server starts listening
 * 5 s after the join began.  Runs on every configured backend.
 */
#include "cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define IV (100 * tc_time_scale)

typedef struct joiner {
    ccoord_node *node;
    pthread_t th;
    int rc;
    int64_t took_ms;
    char err[1024];
} joiner;

static void *join_main(void *arg)
{
    joiner *j = arg;
    int64_t t0 = tu_now_ms();
    j->rc = ccoord_join(j->node);
    j->took_ms = tu_now_ms() - t0;
    snprintf(j->err, sizeof j->err, "%s", ccoord_errmsg(j->node));
    return NULL;
}

/* Joins t: on this thread (background 0) or on a thread of its own. */
static void join_start(joiner *j, tc_node *t, int background)
{
    memset(j, 0, sizeof *j);
    j->node = t->node;
    if (background)
        assert_int_equal(pthread_create(&j->th, NULL, join_main, j), 0);
    else
        join_main(j);
}

/* A node of c (not joined) whose config gets extra [datasource] keys
 * "k=v" (NULL-terminated). */
static tc_node *add_with(tc_cluster *c, const char *id, const char *const *kv)
{
    tc_node *t = &c->nodes[c->count];
    ccoord_config *cfg = tu_config(&c->ns, id, c->interval_ms);
    size_t k;
    snprintf(t->id, sizeof t->id, "%s", id);
    pthread_mutex_init(&t->mu, NULL);
    t->ev = calloc(TC_MAX_EVENTS, sizeof *t->ev);
    assert_non_null(t->ev);
    for (k = 0; kv[k]; k++) {
        char key[64];
        const char *eq = strchr(kv[k], '=');
        assert_non_null(eq);
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv[k]), kv[k]);
        if (ccoord_config_set(cfg, "datasource", key, eq + 1) != CCOORD_OK)
            fail_msg("config: %s", ccoord_config_error(cfg));
    }
    if (ccoord_node_new(cfg, &t->node) != CCOORD_OK)
        fail_msg("ccoord_node_new: %s", ccoord_config_error(cfg));
    ccoord_config_free(cfg);
    ccoord_on_log(t->node, tc_log_cb, t);
    ccoord_on_member_change(t->node, tc_member_cb, t);
    c->count++;
    tc_live_count = c->count;
    return t;
}

static int warn_lines(tc_node *t, const char *text)
{
    size_t i;
    int k = 0;
    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->nev; i++)
        if (t->ev[i].kind == 2 && t->ev[i].event == CCOORD_LOG_WARN && strstr(t->ev[i].name, text))
            k++;
    pthread_mutex_unlock(&t->mu);
    return k;
}

/* ---- SQLite: the database directory appears late ---------------------- */

static void test_bootorder_sqlite_waits_for_its_directory(void **state)
{
    tc_cluster c;
    char later[300], kv_dir[320], retry[32];
    const char *kv[3];
    joiner j;
    tc_node *t;
    (void)state;
    if (strcmp(tc_backend, "sqlite3") != 0)
        skip();
    tc_init(&c, IV);
    snprintf(later, sizeof later, "%s/later", c.ns.dir);
    snprintf(kv_dir, sizeof kv_dir, "dbdir=%s", later);
    snprintf(retry, sizeof retry, "connect_retry=%d", 30 * tc_time_scale);
    /* without connect_retry: at once, naming the directory */
    kv[0] = kv_dir;
    kv[1] = NULL;
    t = add_with(&c, "no-retry", kv);
    join_start(&j, t, 0);
    assert_int_equal(j.rc, CCOORD_EDB);
    assert_true(j.took_ms < 1000 * tc_time_scale);
    assert_non_null(strstr(j.err, "directory"));
    /* with it: waits, joins once the directory is there */
    kv[1] = retry;
    kv[2] = NULL;
    t = add_with(&c, "waits", kv);
    join_start(&j, t, 1);
    tu_sleep_ms(2000 * tc_time_scale);
    assert_int_equal(mkdir(later, 0700), 0);
    pthread_join(j.th, NULL);
    if (j.rc != CCOORD_OK)
        fail_msg("join: %s: %s", ccoord_strerror(j.rc), j.err);
    print_message("      [%s] joined %lld ms after it began, the directory made after %d ms; "
                  "%d WARN line(s)\n", tc_backend, (long long)j.took_ms, 2000 * tc_time_scale,
                  warn_lines(t, "Database not reachable"));
    assert_true(j.took_ms >= 2000 * tc_time_scale);
    assert_true(warn_lines(t, "Database not reachable (attempt 1;") == 1);
    assert_true(warn_lines(t, "datasource.connect_retry") >= 1);
    assert_true(TC_WAIT(3000, tc_member_count(t) == 1) >= 0);
    tc_free(&c);
}

static void test_bootorder_gives_up_after_connect_retry(void **state)
{
    tc_cluster c;
    char kv_dir[320];
    const char *kv[] = {kv_dir, "connect_retry=1", NULL};
    joiner j;
    tc_node *t;
    (void)state;
    if (strcmp(tc_backend, "sqlite3") != 0)
        skip();
    tc_init(&c, IV);
    snprintf(kv_dir, sizeof kv_dir, "dbdir=%s/never", c.ns.dir);
    t = add_with(&c, "gives-up", kv);
    join_start(&j, t, 0);
    assert_int_equal(j.rc, CCOORD_EDB);
    assert_true(j.took_ms >= 1000 && j.took_ms < 5000 * tc_time_scale);
    assert_non_null(strstr(j.err, "gave up after"));
    assert_non_null(strstr(j.err, "datasource.connect_retry = 1"));
    assert_non_null(strstr(j.err, "never"));
    tc_free(&c);
}

/* ---- servers: a proxy that starts listening late -------------------------- */

typedef struct proxy {
    int port, target_port;
    char target_host[64];
    int lfd;
    _Atomic int stop;
    pthread_t th;
    int fds[64];
    _Atomic int nfds;
} proxy;

typedef struct pipe_pair {
    int a, b;
} pipe_pair;

static void *shuttle(void *arg)
{
    pipe_pair *pp = arg;
    char buf[16384];
    for (;;) {
        struct pollfd p[2] = {{pp->a, POLLIN, 0}, {pp->b, POLLIN, 0}};
        int i;
        if (poll(p, 2, 200) < 0)
            break;
        for (i = 0; i < 2; i++) {
            if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = read(i ? pp->b : pp->a, buf, sizeof buf);
                if (n <= 0 || write(i ? pp->a : pp->b, buf, (size_t)n) != n)
                    goto out;
            }
        }
    }
out:
    shutdown(pp->a, SHUT_RDWR);
    shutdown(pp->b, SHUT_RDWR);
    close(pp->a);
    close(pp->b);
    free(pp);
    return NULL;
}

static void *proxy_main(void *arg)
{
    proxy *px = arg;
    while (!atomic_load(&px->stop)) {
        struct pollfd p = {px->lfd, POLLIN, 0};
        struct sockaddr_in to;
        pthread_t th;
        pipe_pair *pp;
        int c, s;
        if (poll(&p, 1, 50) != 1)
            continue;
        if ((c = accept(px->lfd, NULL, NULL)) < 0)
            continue;
        s = socket(AF_INET, SOCK_STREAM, 0);
        memset(&to, 0, sizeof to);
        to.sin_family = AF_INET;
        to.sin_port = htons((uint16_t)px->target_port);
        inet_pton(AF_INET, px->target_host, &to.sin_addr);
        if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) != 0) {
            close(c);
            if (s >= 0)
                close(s);
            continue;
        }
        pp = malloc(sizeof *pp);
        pp->a = c;
        pp->b = s;
        if (atomic_load(&px->nfds) < 62) {
            px->fds[atomic_fetch_add(&px->nfds, 1)] = c;
        }
        pthread_create(&th, NULL, shuttle, pp);
        pthread_detach(th);
    }
    return NULL;
}

/* A loopback port nobody listens on (yet). */
static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void proxy_start(proxy *px)
{
    struct sockaddr_in a;
    int one = 1;
    px->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(px->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)px->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(px->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(px->lfd, 16), 0);
    assert_int_equal(pthread_create(&px->th, NULL, proxy_main, px), 0);
}

static void proxy_stop(proxy *px)
{
    int i;
    atomic_store(&px->stop, 1);
    pthread_join(px->th, NULL);
    close(px->lfd);
    for (i = 0; i < atomic_load(&px->nfds); i++)
        shutdown(px->fds[i], SHUT_RDWR);
}

/* The test server's host and port, from the backend's dsn. */
static void dsn_target(const tu_ns *ns, char *host, size_t hostlen, int *port)
{
    const char *h = strstr(ns->dsn, "host="), *p = strstr(ns->dsn, "port=");
    assert_non_null(h);
    assert_non_null(p);
    snprintf(host, hostlen, "%.*s", (int)strcspn(h + 5, " "), h + 5);
    *port = atoi(p + 5);
}

static void test_bootorder_server_starts_5s_after_join(void **state)
{
    tc_cluster c;
    proxy px;
    joiner j;
    tc_node *t;
    char kv_port[32], kv_retry[32];
    const char *kv[] = {"host=127.0.0.1", kv_port, kv_retry, NULL};
    (void)state;
    if (strcmp(tc_backend, "sqlite3") == 0)
        skip();
    tc_init(&c, IV);
    memset(&px, 0, sizeof px);
    dsn_target(&c.ns, px.target_host, sizeof px.target_host, &px.target_port);
    if (strcmp(px.target_host, "localhost") == 0)
        snprintf(px.target_host, sizeof px.target_host, "127.0.0.1");
    px.port = free_port();
    snprintf(kv_port, sizeof kv_port, "port=%d", px.port);
    snprintf(kv_retry, sizeof kv_retry, "connect_retry=%d", 30 * tc_time_scale);
    t = add_with(&c, "early", kv);
    join_start(&j, t, 1);
    tu_sleep_ms(5000);
    proxy_start(&px); /* the database is up */
    pthread_join(j.th, NULL);
    if (j.rc != CCOORD_OK)
        fail_msg("join: %s: %s", ccoord_strerror(j.rc), j.err);
    print_message("      [%s] joined %lld ms after it began (the server came up after 5000 ms); "
                  "%d WARN line(s)\n", tc_backend, (long long)j.took_ms,
                  warn_lines(t, "Database not reachable"));
    assert_true(j.took_ms >= 5000);
    assert_true(warn_lines(t, "Database not reachable (attempt 1;") == 1);
    /* one line, not libpq's "\x0a\x09" */
    assert_int_equal(warn_lines(t, "\\x0a"), 0);
    assert_true(TC_WAIT(3000, tc_member_count(t) == 1) >= 0);
    assert_int_equal(ccoord_leave(t->node), CCOORD_OK);
    tc_free(&c);
    proxy_stop(&px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootorder_sqlite_waits_for_its_directory),
        cmocka_unit_test(test_bootorder_gives_up_after_connect_retry),
        cmocka_unit_test(test_bootorder_server_starts_5s_after_join),
    };
    return tc_run_all("bootorder", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
