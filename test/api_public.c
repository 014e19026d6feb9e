/*
 * test/api_public.c: every exported function through the shared library
 * only (no internals), on SQLite in a temporary directory: what a host
 * program or an FFI binding sees.
 */
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <clustercoord.h>

static char dir[256];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ccoord-api-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The suite's slower clock under valgrind and the sanitizers
 * (CCOORD_TEST_TIME_SCALE, as in test/cluster.h): intervals and waits
 * stretch by it, or a 100 ms lease lapses on a machine that valgrind
 * runs one thread at a time (CI saw the leader's ccoord_resolve_tasks
 * say ENOTLEADER). */
static long scale(void)
{
    const char *e = getenv("CCOORD_TEST_TIME_SCALE");
    long k = e ? atol(e) : 1;
    return k >= 1 && k <= 50 ? k : 1;
}

static ccoord_config *config_for(const char *id)
{
    ccoord_config *c = NULL;
    char iv[32];
    snprintf(iv, sizeof iv, "%ld", 50 * scale());
    assert_int_equal(ccoord_config_new(&c), CCOORD_OK);
    assert_int_equal(ccoord_config_set(c, "datasource", "dbdir", dir), CCOORD_OK);
    assert_int_equal(ccoord_config_set(c, "cluster_config", "node_id", id), CCOORD_OK);
    assert_int_equal(ccoord_config_set(c, "cluster_config", "heartbeat_interval", iv), CCOORD_OK);
    assert_int_equal(ccoord_config_set(c, "task_handling", "resolver_class", "roundrobin"),
                     CCOORD_OK);
    return c;
}

static void test_api_version_and_status_texts(void **state)
{
    int s;
    (void)state;
    assert_string_equal(ccoord_version(), CCOORD_VERSION_STRING);
    assert_int_equal(ccoord_version_num(), CCOORD_VERSION_NUM);
    assert_true(CCOORD_VERSION_AT_LEAST(1, 0, 0));
    for (s = 0; s >= CCOORD_ESTATE; s--) {
        assert_non_null(ccoord_strerror(s));
        assert_string_not_equal(ccoord_strerror(s), "unknown status");
        assert_memory_equal(ccoord_errname(s), "CCOORD_", 7);
    }
    assert_string_equal(ccoord_errname(CCOORD_EDB), "CCOORD_EDB");
    assert_string_equal(ccoord_strerror(12345), "unknown status");
    assert_string_equal(ccoord_errname(12345), "CCOORD_UNKNOWN");
    ccoord_free(NULL);
    ccoord_free_list(NULL, 0);
    ccoord_config_free(NULL);
    ccoord_node_free(NULL);
}

static void test_api_config_errors_name_key_and_value(void **state)
{
    ccoord_config *c = NULL;
    (void)state;
    assert_int_equal(ccoord_config_new(NULL), CCOORD_EINVAL);
    assert_int_equal(ccoord_config_new(&c), CCOORD_OK);
    assert_string_equal(ccoord_config_error(c), "");
    assert_int_equal(ccoord_config_set(c, "cluster_config", "heartbeat_interval", "fast"),
                     CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "cluster_config.heartbeat_interval"));
    assert_non_null(strstr(ccoord_config_error(c), "fast"));
    assert_int_equal(ccoord_config_set(c, "bogus", "x", "1"), CCOORD_ECONFIG);
    assert_int_equal(ccoord_config_load(c, "/nonexistent/clustercoord.conf"), CCOORD_ECONFIG);
    assert_non_null(strstr(ccoord_config_error(c), "/nonexistent/clustercoord.conf"));
    ccoord_config_free(c);
}

static _Atomic int events[8]; /* written by the nodes' threads, read by the test */

static void member_cb(ccoord_node *n, int event, const char *id, void *ud)
{
    (void)n;
    (void)id;
    (void)ud;
    if (event >= 0 && event < 8)
        events[event]++;
}

static _Atomic int assigned, revoked;

static void task_cb(ccoord_node *n, int event, const char *task, uint64_t fence, void *ud)
{
    (void)n;
    (void)fence;
    (void)ud;
    assert_string_equal(task, "api-task");
    if (event == CCOORD_TASK_ASSIGNED)
        assigned++;
    else if (event == CCOORD_TASK_REVOKED)
        revoked++;
}

static _Atomic int log_lines; /* the nodes' threads log too */

static void log_cb(ccoord_node *n, int level, const char *msg, void *ud)
{
    (void)n;
    (void)level;
    (void)ud;
    assert_non_null(msg);
    log_lines++;
}

static void test_api_two_nodes_lifecycle(void **state)
{
    ccoord_config *c1 = config_for("api-1"), *c2 = config_for("api-2");
    ccoord_node *a = NULL, *b = NULL;
    char **ids = NULL, *leader = NULL;
    size_t n = 0;
    uint64_t fence = 0;
    int i, st = 0, a_owns = 0, b_owns = 0;
    (void)state;
    assert_int_equal(ccoord_node_new(c1, &a), CCOORD_OK);
    assert_int_equal(ccoord_node_new(c2, &b), CCOORD_OK);
    ccoord_config_free(c1);
    ccoord_config_free(c2);
    assert_string_equal(ccoord_node_id(a), "api-1");
    assert_int_equal(ccoord_on_log(a, log_cb, NULL), CCOORD_OK);
    assert_int_equal(ccoord_on_log(b, log_cb, NULL), CCOORD_OK);
    assert_int_equal(ccoord_set_log_level(a, CCOORD_LOG_DEBUG), CCOORD_OK);
    assert_int_equal(ccoord_on_member_change(a, member_cb, NULL), CCOORD_OK);
    assert_int_equal(ccoord_on_task_change(a, task_cb, NULL), CCOORD_OK);
    assert_int_equal(ccoord_on_task_change(b, task_cb, NULL), CCOORD_OK);
    assert_int_equal(ccoord_task_register(a, "api-task"), CCOORD_OK);
    assert_int_equal(ccoord_task_register(b, "api-task"), CCOORD_OK);
    assert_int_equal(ccoord_join(a), CCOORD_OK);
    assert_int_equal(ccoord_join(b), CCOORD_OK);
    for (i = 0; i < 400 * scale() && !(events[CCOORD_MEMBER_ADDED] >= 1 && ccoord_is_leader(a) + ccoord_is_leader(b) == 1); i++)
        sleep_ms(5);
    assert_int_equal(events[CCOORD_MEMBER_ADDED], 1);
    assert_int_equal(ccoord_members(a, &ids, &n), CCOORD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "api-1");
    assert_string_equal(ids[1], "api-2");
    ccoord_free_list(ids, n);
    assert_int_equal(ccoord_leader(a, &leader), CCOORD_OK);
    assert_true(strcmp(leader, "api-1") == 0 || strcmp(leader, "api-2") == 0);
    ccoord_free(leader);
    for (i = 0; i < 400 * scale(); i++) {
        a_owns = ccoord_acquire_task(a, "api-task", &fence) == CCOORD_OK;
        b_owns = ccoord_acquire_task(b, "api-task", NULL) == CCOORD_OK;
        if (a_owns || b_owns)
            break;
        sleep_ms(5);
    }
    assert_int_equal(a_owns + b_owns, 1);
    assert_int_equal(ccoord_owned_tasks(a_owns ? a : b, &ids, &n), CCOORD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "api-task");
    ccoord_free_list(ids, n);
    assert_int_equal(ccoord_task_state(a, "api-task", &st), CCOORD_OK);
    assert_int_equal(st, CCOORD_TASK_ACTIVE);
    assert_int_equal(ccoord_resolve_tasks(ccoord_is_leader(a) ? b : a), CCOORD_ENOTLEADER);
    assert_string_not_equal(ccoord_errmsg(ccoord_is_leader(a) ? b : a), "");
    assert_int_equal(ccoord_resolve_tasks(ccoord_is_leader(a) ? a : b), CCOORD_OK);
    assert_int_equal(ccoord_task_pause(b, "api-task"), CCOORD_OK);
    for (i = 0; i < 400 * scale() && (ccoord_acquire_task(a, "api-task", NULL) == CCOORD_OK ||
                            ccoord_acquire_task(b, "api-task", NULL) == CCOORD_OK); i++)
        sleep_ms(5);
    assert_int_equal(ccoord_acquire_task(a, "api-task", NULL), CCOORD_ENOTOWNER);
    assert_int_equal(ccoord_task_resume(a, "api-task"), CCOORD_OK);
    assert_int_equal(ccoord_task_complete(a, "api-task"), CCOORD_OK);
    assert_int_equal(ccoord_task_state(b, "api-task", &st), CCOORD_OK);
    assert_int_equal(st, CCOORD_TASK_COMPLETED);
    assert_int_equal(ccoord_task_unregister(a, "api-task"), CCOORD_OK);
    assert_int_equal(ccoord_leave(b), CCOORD_OK);
    for (i = 0; i < 400 * scale() && events[CCOORD_MEMBER_REMOVED] == 0; i++)
        sleep_ms(5);
    assert_int_equal(events[CCOORD_MEMBER_REMOVED], 1);
    assert_true(assigned >= 1);
    assert_true(revoked >= 1);
    assert_true(log_lines > 0);
    ccoord_node_free(a); /* leaves first */
    ccoord_node_free(b);
}

/* errmsg begins with fn (the failing call named itself). */
static void expect_detail(ccoord_node *n, const char *fn, const char *part)
{
    const char *m = ccoord_errmsg(n);
    if (strncmp(m, fn, strlen(fn)) != 0 || (part && !strstr(m, part)))
        fail_msg("after a failed %s, ccoord_errmsg says \"%s\" (want \"%s: ...%s...\")", fn, m,
                 fn, part ? part : "");
}

/* Issue 15: every call that fails on a node sets its own detail; one that
 * succeeds leaves the last.  Before, ccoord_set_log_level(node, 9) left
 * the previous failure's text, ccoord_leader before join showed
 * ccoord_members' message, and ccoord_acquire_task before join said "". */
static void test_api_every_failure_sets_its_detail(void **state)
{
    ccoord_config *c = config_for("api-e");
    ccoord_node *a = NULL;
    char **ids = NULL, *leader = NULL;
    size_t n = 0;
    int st = 0;
    (void)state;
    assert_int_equal(ccoord_node_new(c, &a), CCOORD_OK);
    ccoord_config_free(c);
    assert_int_equal(ccoord_members(a, &ids, &n), CCOORD_ENOTJOINED);
    expect_detail(a, "ccoord_members", "has not joined");
    assert_int_equal(ccoord_set_log_level(a, 9), CCOORD_EINVAL);
    expect_detail(a, "ccoord_set_log_level", "9");
    assert_int_equal(ccoord_leader(a, &leader), CCOORD_ENOTJOINED);
    expect_detail(a, "ccoord_leader", "has not joined");
    assert_int_equal(ccoord_acquire_task(a, "t", NULL), CCOORD_ENOTOWNER);
    expect_detail(a, "ccoord_acquire_task", "has not joined");
    assert_int_equal(ccoord_members(a, NULL, &n), CCOORD_EINVAL);
    expect_detail(a, "ccoord_members", "ret_ids is NULL");
    assert_int_equal(ccoord_set_log_level(a, CCOORD_LOG_INFO), CCOORD_OK);
    expect_detail(a, "ccoord_members", "ret_ids is NULL"); /* a success leaves it */
    assert_int_equal(ccoord_join(a), CCOORD_OK);
    assert_int_equal(ccoord_acquire_task(a, "not-mine", NULL), CCOORD_ENOTOWNER);
    expect_detail(a, "ccoord_acquire_task", "does not own task not-mine");
    assert_int_equal(ccoord_task_state(a, "t", NULL), CCOORD_EINVAL);
    expect_detail(a, "ccoord_task_state", NULL);
    assert_int_equal(ccoord_task_state(a, "never-registered", &st), CCOORD_ENOTFOUND);
    expect_detail(a, "ccoord_task_state", NULL);
    assert_int_equal(ccoord_owned_tasks(a, NULL, &n), CCOORD_EINVAL);
    expect_detail(a, "ccoord_owned_tasks", "ret_names is NULL");
    ccoord_node_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_version_and_status_texts),
        cmocka_unit_test(test_api_config_errors_name_key_and_value),
        cmocka_unit_test_setup_teardown(test_api_two_nodes_lifecycle, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_api_every_failure_sets_its_detail, make_dir,
                                        remove_dir),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
