/*
 * test/unit_rows.c: lib/rows.c (every statement on the five tables) and
 * lib/resolve.c (one resolution pass) against a temporary SQLite
 * database, without background threads: a node is created but never
 * joined, its API connection drives the statements, and leadership is
 * set up by hand through the leader row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"
#include "testutil.h"

typedef struct fixture {
    tu_ns ns;
    ccoord_node *node;
    ccoord__db *db;
} fixture;

static void quiet(ccoord_node *n, int level, const char *msg, void *ud)
{
    tu_quiet_log(n, level, msg, ud);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    ccoord_config *cfg;
    assert_non_null(f);
    assert_int_equal(tu_ns_setup(&f->ns, "sqlite3"), 0);
    cfg = tu_config(&f->ns, "me", 100);
    assert_int_equal(ccoord_node_new(cfg, &f->node), CCOORD_OK);
    ccoord_config_free(cfg);
    ccoord_on_log(f->node, quiet, NULL);
    f->db = &f->node->api_db;
    assert_int_equal(ccoord__db_ensure_schema(f->db), CCOORD_OK);
    assert_int_equal(ccoord__row_group_create(f->db), CCOORD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ccoord_node_free(f->node);
    tu_ns_teardown(&f->ns);
    free(f);
    return 0;
}

/* The first column of a query, as a string, through the test's own
 * connection. */
static const char *value(fixture *f, const char *fmt, const char *arg)
{
    static char out[256];
    char sql[512];
    snprintf(sql, sizeof sql, fmt, f->ns.prefix, arg ? arg : "");
    assert_int_equal(tu_sql_value(&f->ns, out, sizeof out, "%s", sql), 0);
    return out;
}

static void add_member(fixture *f, const char *id, long long inc, long long seq)
{
    assert_int_equal(ccoord__row_member_insert(f->db, id, inc, "host", seq), CCOORD_OK);
}

static void add_tasks(fixture *f, const char *node_id, const char *const *names, size_t n)
{
    assert_int_equal(ccoord__row_tasks_create(f->db, names, n), CCOORD_OK);
    assert_int_equal(ccoord__row_registrations_insert(f->db, node_id, names, n), CCOORD_OK);
}

/* ---- rows.c ------------------------------------------------------------ */

static void test_rows_group_and_poll(void **state)
{
    fixture *f = *state;
    ccoord__poll p;
    long long v = -1;
    assert_int_equal(ccoord__row_group_create(f->db), CCOORD_OK); /* twice: no error */
    assert_int_equal(ccoord__row_group_version(f->db, &v), CCOORD_OK);
    assert_int_equal(v, 0);
    assert_int_equal(ccoord__row_group_bump(f->db, 0), CCOORD_OK);
    assert_int_equal(ccoord__row_group_bump(f->db, 1), CCOORD_OK);
    assert_int_equal(ccoord__row_poll(f->db, &p), CCOORD_OK);
    assert_true(p.have && !p.group_missing && p.have_leader_row);
    assert_int_equal(p.version, 2);
    assert_int_equal(p.removals, 1);
    assert_string_equal(p.lnode, "");
    assert_int_equal(p.lterm, 0);
    /* a group with no row: missing, said so */
    assert_int_equal(tu_sql(&f->ns, "DELETE FROM %sgroups", f->ns.prefix), 0);
    assert_int_equal(ccoord__row_poll(f->db, &p), CCOORD_OK);
    assert_true(p.group_missing);
    assert_int_equal(ccoord__row_group_version(f->db, &v), CCOORD_EDB);
    assert_non_null(strstr(f->db->err, "group row of default is missing"));
}

static void test_rows_member_row_cas(void **state)
{
    fixture *f = *state;
    long long inc = 0, hb = 0;
    char host[64];
    unsigned long long rows = 9;
    ccoord__poll p;
    ccoord__member *m = NULL;
    size_t n = 0;
    assert_int_equal(ccoord__row_member_get(f->db, "it's", &inc, &hb, host, sizeof host), 0);
    add_member(f, "it's", 7, 1);
    add_member(f, "other", 8, 2);
    assert_int_equal(ccoord__row_member_get(f->db, "it's", &inc, &hb, host, sizeof host), 1);
    assert_int_equal(inc, 7);
    assert_int_equal(hb, 0);
    assert_string_equal(host, "host");
    assert_int_equal(ccoord__row_heartbeat(f->db, "it's", 7, &p, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_false(p.have); /* SQLite: the poll is a statement of its own */
    assert_int_equal(ccoord__row_heartbeat(f->db, "it's", 6, &p, &rows), CCOORD_OK);
    assert_int_equal(rows, 0); /* another incarnation: evicted */
    /* takeover by CAS on the heartbeat seen */
    assert_int_equal(ccoord__row_member_takeover(f->db, "it's", 9, "h2", 3, 7, 0, &rows),
                     CCOORD_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(ccoord__row_member_takeover(f->db, "it's", 9, "h2", 3, 7, 1, &rows),
                     CCOORD_OK);
    assert_int_equal(rows, 1);
    /* join order; since */
    assert_int_equal(ccoord__row_members_read(f->db, -1, &m, &n), CCOORD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].id, "other");
    assert_string_equal(m[1].id, "it's");
    assert_int_equal(m[1].incarnation, 9);
    assert_int_equal(m[1].joined_seq, 3);
    ccoord__members_free(m, n);
    assert_int_equal(ccoord__row_members_read(f->db, 2, &m, &n), CCOORD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].id, "it's");
    ccoord__members_free(m, n);
    /* eviction CAS: the counter moved, nothing deleted */
    assert_int_equal(ccoord__row_member_delete(f->db, "it's", 9, 5, &rows), CCOORD_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(ccoord__row_member_delete(f->db, "it's", 9, 0, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(ccoord__row_member_delete(f->db, "other", 8, -1, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_string_equal(value(f, "SELECT COUNT(*) FROM %smembers%s", NULL), "0");
}

static void test_rows_tasks_registrations_and_states(void **state)
{
    fixture *f = *state;
    const char *names[] = {"a", "b'c", "d"};
    unsigned long long rows = 0;
    int st = 0;
    dbi_result r;
    size_t count = 0;
    add_tasks(f, "me", names, 3);
    add_tasks(f, "me", names, 3); /* unless present: no error, no duplicate */
    assert_string_equal(value(f, "SELECT COUNT(*) FROM %stasks%s", NULL), "3");
    assert_string_equal(value(f, "SELECT COUNT(*) FROM %stask_nodes%s", NULL), "3");
    assert_int_equal(ccoord__row_tasks_assign(f->db, "me", names, 2, &rows), CCOORD_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(ccoord__row_tasks_assign(f->db, "x", names, 3, &rows), CCOORD_OK);
    assert_int_equal(rows, 1); /* only the unowned one: a CAS */
    assert_int_equal(ccoord__row_tasks_owned(f->db, "me", &r), CCOORD_OK);
    while (dbi_result_next_row(r)) {
        assert_int_equal(ccoord__res_ll(r, 2), 1);
        assert_string_equal(ccoord__res_str(r, 3), "ACTIVE");
        count++;
    }
    dbi_result_free(r);
    assert_int_equal(count, 2);
    /* release one, then all: epoch + 1 each time */
    assert_int_equal(ccoord__row_tasks_release(f->db, "me", "b'c", &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_string_equal(value(f, "SELECT epoch FROM %stasks WHERE name = 'b''c'%s", NULL), "2");
    assert_int_equal(ccoord__row_tasks_release(f->db, "me", NULL, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_string_equal(value(f, "SELECT COUNT(*) FROM %stasks WHERE owner = 'x'%s", NULL), "1");
    /* states: only the allowed moves change a row */
    assert_int_equal(ccoord__row_task_set_state(f->db, "a", CCOORD_TASK_ACTIVE, &rows), CCOORD_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(ccoord__row_task_set_state(f->db, "a", CCOORD_TASK_PAUSED, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(ccoord__row_task_state(f->db, "a", &st), CCOORD_OK);
    assert_int_equal(st, CCOORD_TASK_PAUSED);
    assert_int_equal(ccoord__row_task_set_state(f->db, "d", CCOORD_TASK_COMPLETED, &rows),
                     CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_string_equal(value(f, "SELECT COALESCE(owner, 'none') FROM %stasks WHERE name = 'd'%s",
                              NULL), "none");
    assert_int_equal(ccoord__row_task_set_state(f->db, "d", CCOORD_TASK_PAUSED, &rows), CCOORD_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(ccoord__row_task_state(f->db, "nope", &st), CCOORD_ENOTFOUND);
    /* registrations: one, then all */
    assert_int_equal(ccoord__row_registrations_delete(f->db, "me", "a"), CCOORD_OK);
    assert_string_equal(value(f, "SELECT COUNT(*) FROM %stask_nodes%s", NULL), "2");
    assert_int_equal(ccoord__row_registrations_delete(f->db, "me", NULL), CCOORD_OK);
    assert_string_equal(value(f, "SELECT COUNT(*) FROM %stask_nodes%s", NULL), "0");
}

/* Drains and moves: the drained flag on the member row (a takeover
 * writes 0), a move by compare-and-set on owner and epoch, kept by the
 * owner's release, cleared by the placement and by a state change. */
static void test_rows_drain_and_move(void **state)
{
    fixture *f = *state;
    const char *names[] = {"t"};
    unsigned long long rows = 0;
    ccoord__member *m = NULL;
    size_t n = 0;
    dbi_result r;
    add_member(f, "a", 1, 1);
    assert_int_equal(ccoord__row_member_drain(f->db, "a", 1, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(ccoord__row_member_drain(f->db, "nobody", 1, &rows), CCOORD_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(ccoord__row_members_read(f->db, -1, &m, &n), CCOORD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].drained, 1);
    ccoord__members_free(m, n);
    assert_int_equal(ccoord__row_member_takeover(f->db, "a", 2, "h", 2, 1, 0, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_string_equal(value(f, "SELECT drained FROM %smembers%s", NULL), "0");

    add_tasks(f, "a", names, 1);
    assert_int_equal(ccoord__row_tasks_assign(f->db, "a", names, 1, &rows), CCOORD_OK);
    /* epoch 1 now: a move that saw another owner or epoch changes nothing */
    assert_int_equal(ccoord__row_task_move(f->db, "t", "b", "x", 1, &rows), CCOORD_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(ccoord__row_task_move(f->db, "t", "b", "a", 0, &rows), CCOORD_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(ccoord__row_task_move(f->db, "t", "b", NULL, 1, &rows), CCOORD_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(ccoord__row_task_move(f->db, "t", "b", "a", 1, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(ccoord__row_tasks_owned(f->db, "a", &r), CCOORD_OK);
    assert_true(dbi_result_next_row(r));
    assert_string_equal(ccoord__res_str(r, 4), "b");
    dbi_result_free(r);
    assert_int_equal(ccoord__row_tasks_active(f->db, 1, &r), CCOORD_OK);
    assert_true(dbi_result_next_row(r));
    assert_string_equal(ccoord__res_str(r, 2), "a");
    assert_string_equal(ccoord__res_str(r, 4), "b");
    dbi_result_free(r);
    /* the owner's release keeps it; the placement clears it */
    assert_int_equal(ccoord__row_tasks_release(f->db, "a", "t", &rows), CCOORD_OK);
    assert_string_equal(value(f, "SELECT move_to FROM %stasks%s", NULL), "b");
    assert_int_equal(ccoord__row_tasks_assign(f->db, "b", names, 1, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_string_equal(value(f, "SELECT COALESCE(move_to, 'none') FROM %stasks%s", NULL),
                        "none");
    assert_string_equal(value(f, "SELECT epoch FROM %stasks%s", NULL), "3");
    /* a state change clears a move, and only an ACTIVE task moves */
    assert_int_equal(ccoord__row_task_move(f->db, "t", "a", "b", 3, &rows), CCOORD_OK);
    assert_int_equal(ccoord__row_task_set_state(f->db, "t", CCOORD_TASK_PAUSED, &rows),
                     CCOORD_OK);
    assert_string_equal(value(f, "SELECT COALESCE(move_to, 'none') FROM %stasks%s", NULL),
                        "none");
    assert_int_equal(ccoord__row_task_move(f->db, "t", "a", "b", 4, &rows), CCOORD_OK);
    assert_int_equal(rows, 0);
}

static void test_rows_leader_row_cas(void **state)
{
    fixture *f = *state;
    unsigned long long rows = 0;
    int holds = -1;
    ccoord__poll p;
    assert_int_equal(ccoord__row_leader_take(f->db, "me", "", 0, 1, &rows), CCOORD_OK);
    assert_int_equal(rows, 0); /* the heartbeat seen is stale */
    assert_int_equal(ccoord__row_leader_take(f->db, "me", "", 0, 0, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(ccoord__row_leader_renew(f->db, "me", 1, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(ccoord__row_leader_renew(f->db, "me", 2, &rows), CCOORD_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(ccoord__row_leader_lock(f->db, "me", 1, &holds), CCOORD_OK);
    assert_int_equal(holds, 1);
    assert_int_equal(ccoord__row_leader_lock(f->db, "you", 1, &holds), CCOORD_OK);
    assert_int_equal(holds, 0);
    add_member(f, "me", 5, 1);
    assert_int_equal(ccoord__row_poll(f->db, &p), CCOORD_OK);
    assert_string_equal(p.lnode, "me");
    assert_int_equal(p.lterm, 1);
    assert_int_equal(p.lhb, 2); /* the lock wrote the row (a renewal) */
    assert_int_equal(p.lminc, 5); /* the leader's member row, in the same read */
    assert_int_equal(ccoord__row_leader_vacate(f->db, "me", 1), CCOORD_OK);
    assert_int_equal(ccoord__row_poll(f->db, &p), CCOORD_OK);
    assert_string_equal(p.lnode, "");
    assert_int_equal(p.lterm, 1); /* the term is kept: never reused */
}

static void test_rows_resolution_reads_and_cleanup(void **state)
{
    fixture *f = *state;
    const char *all[] = {"t1", "t2", "t3"}, *members[] = {"a", "b"}, *one[] = {"t3"};
    unsigned long long rows = 0;
    dbi_result r;
    int seen = 0;
    add_member(f, "a", 1, 1);
    add_member(f, "b", 2, 2);
    add_tasks(f, "a", all, 3);
    add_tasks(f, "b", all, 2);
    add_tasks(f, "gone", one, 1);
    assert_int_equal(ccoord__row_tasks_assign(f->db, "gone", one, 1, &rows), CCOORD_OK);
    assert_int_equal(ccoord__row_tasks_active(f->db, 0, &r), CCOORD_OK);
    while (dbi_result_next_row(r))
        seen++;
    dbi_result_free(r);
    assert_int_equal(seen, 2);
    assert_int_equal(ccoord__row_registration_counts(f->db, all, 3, members, 2, &r), CCOORD_OK);
    seen = 0;
    while (dbi_result_next_row(r)) {
        const char *t = ccoord__res_str(r, 1);
        long long c = ccoord__res_ll(r, 2);
        assert_int_equal(c, strcmp(t, "t3") == 0 ? 1 : 2); /* gone does not count */
        seen++;
    }
    dbi_result_free(r);
    assert_int_equal(seen, 3);
    assert_int_equal(ccoord__row_registration_pairs(f->db, one, 1, &r), CCOORD_OK);
    seen = 0;
    while (dbi_result_next_row(r))
        seen++;
    dbi_result_free(r);
    assert_int_equal(seen, 2); /* a and gone */
    assert_int_equal(ccoord__row_task_loads(f->db, &r), CCOORD_OK);
    assert_true(dbi_result_next_row(r));
    assert_string_equal(ccoord__res_str(r, 1), "gone");
    dbi_result_free(r);
    assert_int_equal(ccoord__row_tasks_release_departed(f->db, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(ccoord__row_registrations_delete_departed(f->db, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
}

/* ---- resolve.c ------------------------------------------------------------ */

/* Makes the fixture's node leader by hand: the leader row holds it. */
static void make_leader(fixture *f)
{
    unsigned long long rows = 0;
    assert_int_equal(ccoord__row_leader_take(f->db, "me", "", 0, 0, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    f->node->leader_term = 1;
    atomic_store(&f->node->leader_until, ccoord__now_ns() + 60000000000LL);
}

static int owner_count(fixture *f, const char *owner)
{
    return atoi(value(f, "SELECT COUNT(*) FROM %stasks WHERE owner = '%s'", owner));
}

/* A pass that waits up to 10 s for the plugin. */
static int pass_now(fixture *f, int cleanup, const char *exclude)
{
    char err[512];
    return ccoord__resolve_pass(f->node, cleanup, exclude, ccoord__now_ns() + 10000000000LL, err,
                                sizeof err);
}

static void test_resolve_pass_places_on_registering_members_only(void **state)
{
    fixture *f = *state;
    const char *both[] = {"x1", "x2", "x3", "x4"}, *only_b[] = {"y1", "y2"};
    add_member(f, "me", 1, 1);
    add_member(f, "b", 2, 2);
    add_tasks(f, "me", both, 4);
    add_tasks(f, "b", both, 4);
    add_tasks(f, "b", only_b, 2);
    assert_int_equal(pass_now(f, 0, NULL), CCOORD_ENOTLEADER);
    assert_int_equal(owner_count(f, "me") + owner_count(f, "b"), 0);
    make_leader(f);
    assert_int_equal(pass_now(f, 0, NULL), CCOORD_OK);
    assert_int_equal(owner_count(f, "me") + owner_count(f, "b"), 6);
    assert_string_equal(value(f, "SELECT owner FROM %stasks WHERE name = '%s'", "y1"), "b");
    assert_string_equal(value(f, "SELECT owner FROM %stasks WHERE name = '%s'", "y2"), "b");
    /* every placement is a new epoch, and the version moved */
    assert_string_equal(value(f, "SELECT MIN(epoch) FROM %stasks%s", NULL), "1");
    assert_int_equal(atomic_load(&f->node->passes), 1);
}

static void test_resolve_pass_excludes_and_cleans_up(void **state)
{
    fixture *f = *state;
    const char *tasks[] = {"z1", "z2", "z3"};
    unsigned long long rows = 0;
    add_member(f, "me", 1, 1);
    add_member(f, "b", 2, 2);
    add_tasks(f, "me", tasks, 3);
    add_tasks(f, "b", tasks, 3);
    add_tasks(f, "dead", tasks, 3);
    assert_int_equal(ccoord__row_tasks_assign(f->db, "dead", tasks, 1, &rows), CCOORD_OK);
    make_leader(f);
    /* a leaving leader places nothing on itself */
    assert_int_equal(pass_now(f, 0, "me"), CCOORD_OK);
    assert_int_equal(owner_count(f, "me"), 0);
    assert_int_equal(owner_count(f, "b"), 2);
    assert_int_equal(owner_count(f, "dead"), 1);
    /* cleanup: the task of a node without member row is released and placed */
    assert_int_equal(pass_now(f, 1, "me"), CCOORD_OK);
    assert_int_equal(owner_count(f, "dead"), 0);
    assert_int_equal(owner_count(f, "b"), 3);
    assert_string_equal(value(f, "SELECT COUNT(*) FROM %stask_nodes WHERE node_id = 'dead'%s",
                              NULL), "0");
}

static void test_resolve_pass_fenced_by_leader_row(void **state)
{
    fixture *f = *state;
    const char *tasks[] = {"w1"};
    unsigned long long rows = 0;
    add_member(f, "me", 1, 1);
    add_tasks(f, "me", tasks, 1);
    make_leader(f);
    /* another node took the row: this node still believes it leads */
    assert_int_equal(ccoord__row_leader_take(f->db, "other", "me", 1, 0, &rows), CCOORD_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(pass_now(f, 0, NULL), CCOORD_ENOTLEADER);
    assert_non_null(strstr(f->db->err, "leader row no longer holds node me, term 1"));
    assert_int_equal(owner_count(f, "me"), 0); /* nothing written */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_group_and_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_member_row_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_tasks_registrations_and_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_drain_and_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_leader_row_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_resolution_reads_and_cleanup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_pass_places_on_registering_members_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_pass_excludes_and_cleans_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resolve_pass_fenced_by_leader_row, setup, teardown),
    };
    return cmocka_run_group_tests_name("rows", tests, NULL, NULL);
}
