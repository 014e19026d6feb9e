/*
 * lib/rows.c: floor 4, the statements on the five tables, one statement
 * per function (lib/rows.h).  Every string goes through the connection's
 * quoting; the group and the table prefix are the connection's settings.
 */
#include "rows.h"

#include <stdlib.h>
#include <string.h>

/* ---- building statements ----------------------------------------------- */

static const char *prefix(const ccoord__db *db)
{
    return db->s->table_prefix;
}

static int q(ccoord__db *db, ccoord__buf *b, const char *s)
{
    return ccoord__db_quote(db, b, s);
}

/* " WHERE group_id = 'g'" */
static int where_group(ccoord__db *db, ccoord__buf *b)
{
    ccoord__buf_add(b, " WHERE group_id = ");
    return q(db, b, db->s->group_id);
}

/* " WHERE group_id = 'g' AND <col> = 'v'" */
static int where_group_and(ccoord__db *db, ccoord__buf *b, const char *col, const char *v)
{
    int rc = where_group(db, b);
    ccoord__buf_addf(b, " AND %s = ", col);
    return rc ? rc : q(db, b, v);
}

/* Appends the quoted strings v[0, count), comma-separated. */
static int add_list(ccoord__db *db, ccoord__buf *b, const char *const *v, size_t count)
{
    size_t i;
    int rc = CCOORD_OK;
    for (i = 0; !rc && i < count; i++) {
        if (i)
            ccoord__buf_add(b, ", ");
        rc = q(db, b, v[i]);
    }
    return rc;
}

/* Runs b unless building it failed (rc), then frees b.  ret: a result
 * wanted; rows: the changed-row count wanted (else neither). */
static int run(ccoord__db *db, int rc, ccoord__buf *b, const char *what, dbi_result *ret,
               unsigned long long *rows)
{
    if (!rc && b->oom)
        rc = CCOORD_ENOMEM;
    if (!rc)
        rc = rows ? ccoord__db_exec_count(db, what, b->data, rows)
                  : ccoord__db_exec(db, what, b->data, ret);
    ccoord__buf_free(b);
    return rc;
}

/* ---- the group row and the leader row ------------------------------------ */

int ccoord__row_group_create(ccoord__db *db)
{
    ccoord__buf b;
    char t[128];
    int rc;
    ccoord__buf_init(&b);
    ccoord__fmt(t, sizeof t, "%sgroups (group_id, version) VALUES (", prefix(db));
    ccoord__db_insert_ignore(db, &b, t);
    rc = q(db, &b, db->s->group_id);
    ccoord__buf_add(&b, ", 0)");
    ccoord__db_insert_ignore_end(db, &b);
    rc = run(db, rc, &b, "create group row", NULL, NULL);
    if (rc)
        return rc;
    ccoord__buf_init(&b);
    ccoord__fmt(t, sizeof t, "%sleader (group_id, node_id, term, heartbeat) VALUES (",
                prefix(db));
    ccoord__db_insert_ignore(db, &b, t);
    rc = q(db, &b, db->s->group_id);
    ccoord__buf_add(&b, ", '', 0, 0)");
    ccoord__db_insert_ignore_end(db, &b);
    return run(db, rc, &b, "create leader row", NULL, NULL);
}

int ccoord__row_group_bump(ccoord__db *db, int removal)
{
    ccoord__buf b;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %sgroups SET version = version + 1%s", prefix(db),
                     removal ? ", removals = removals + 1" : "");
    return run(db, where_group(db, &b), &b, "bump group version", NULL, NULL);
}

int ccoord__row_group_version(ccoord__db *db, long long *ret_version)
{
    ccoord__buf b;
    dbi_result r;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT version FROM %sgroups", prefix(db));
    rc = run(db, where_group(db, &b), &b, "read group version", &r, NULL);
    if (rc)
        return rc;
    if (!dbi_result_next_row(r)) {
        dbi_result_free(r);
        ccoord__fmt(db->err, sizeof db->err, "group row of %s is missing", db->s->group_id);
        return CCOORD_EDB;
    }
    *ret_version = ccoord__res_ll(r, 1);
    dbi_result_free(r);
    return CCOORD_OK;
}

/* The poll's select list and tables.  from_one_row: the group row is
 * joined to a one-row derived table (so a row comes back even without a
 * group row: the heartbeat's count must), else read FROM it.  The tables
 * go by their names, not by aliases: libdbd-sqlite3 0.9.0 guesses each
 * column's type by looking an alias up as a table, and loses what it
 * read for every column of every poll (the SQLite leader's RSS grew by
 * 3.3 MB a minute at a 100 ms heartbeat). */
static int add_poll_sql(ccoord__db *db, ccoord__buf *b, int from_one_row)
{
    const char *p = prefix(db);
    int rc = CCOORD_OK;
    ccoord__buf_addf(b, "%sgroups.version, %sleader.node_id, %sleader.term, %sleader.heartbeat, "
                        "%smembers.incarnation, %smembers.heartbeat, %sgroups.removals FROM ",
                     p, p, p, p, p, p, p);
    if (from_one_row) {
        ccoord__buf_addf(b, "(SELECT 1 AS one) o LEFT JOIN %sgroups ON %sgroups.group_id = ", p, p);
        rc = q(db, b, db->s->group_id);
    } else {
        ccoord__buf_addf(b, "%sgroups", p);
    }
    ccoord__buf_addf(b, " LEFT JOIN %sleader ON %sleader.group_id = %sgroups.group_id "
                        "LEFT JOIN %smembers ON %smembers.group_id = %sleader.group_id AND "
                        "%smembers.node_id = %sleader.node_id",
                     p, p, p, p, p, p, p, p);
    if (!rc && !from_one_row) {
        ccoord__buf_addf(b, " WHERE %sgroups.group_id = ", p);
        rc = q(db, b, db->s->group_id);
    }
    return rc;
}

/* Reads add_poll_sql's columns from column off + 1 on. */
static void parse_poll(dbi_result r, unsigned off, ccoord__poll *p)
{
    const char *ln = ccoord__res_str(r, off + 2);
    p->group_missing = ccoord__res_null(r, off + 1);
    if (p->group_missing)
        return;
    p->version = ccoord__res_ll(r, off + 1);
    p->removals = ccoord__res_ll(r, off + 7);
    if (!ccoord__res_null(r, off + 3)) {
        p->have_leader_row = 1;
        ccoord__fmt(p->lnode, sizeof p->lnode, "%s", ln ? ln : "");
        p->lterm = ccoord__res_ll(r, off + 3);
        p->lhb = ccoord__res_ll(r, off + 4);
        p->lminc = ccoord__res_ll(r, off + 5);
        p->lmhb = ccoord__res_ll(r, off + 6);
    }
}

/* Runs the poll statement in b; its row holds add_poll_sql's columns
 * from column off + 1 on, and column 1 goes to *first when off is 1.
 * No row: the group row is missing. */
/* With off 2 (the heartbeat): column 1 into *first, column 2 (NULL:
 * -1) into own_hb. */
static int run_poll(ccoord__db *db, int rc, ccoord__buf *b, const char *what, unsigned off,
                    ccoord__poll *p, long long *first)
{
    dbi_result r;
    rc = run(db, rc, b, what, &r, NULL);
    if (rc)
        return rc;
    memset(p, 0, sizeof *p);
    p->have = 1;
    p->group_missing = 1;
    p->own_hb = -1;
    if (dbi_result_next_row(r)) {
        if (first)
            *first = ccoord__res_ll(r, 1);
        if (off >= 2 && !ccoord__res_null(r, 2))
            p->own_hb = ccoord__res_ll(r, 2);
        parse_poll(r, off, p);
    }
    dbi_result_free(r);
    return CCOORD_OK;
}

int ccoord__row_poll(ccoord__db *db, ccoord__poll *ret)
{
    ccoord__buf b;
    ccoord__buf_init(&b);
    ccoord__buf_add(&b, "SELECT ");
    return run_poll(db, add_poll_sql(db, &b, 0), &b, "poll group version", 0, ret, NULL);
}

/* On PostgreSQL the heartbeat carries the poll in one statement: a
 * follower sends one statement an interval instead of two, which halves
 * the server's work for a large cluster (the scale benchmark). */
int ccoord__row_heartbeat(ccoord__db *db, const char *node_id, long long incarnation,
                          ccoord__poll *ret_poll, unsigned long long *ret_rows)
{
    ccoord__buf b;
    long long updated = -1;
    int pg = db->dialect == CCOORD__PGSQL, rc;
    ret_poll->have = 0;
    ccoord__buf_init(&b);
    if (pg)
        ccoord__buf_add(&b, "WITH hb AS (");
    ccoord__buf_addf(&b, "UPDATE %smembers SET heartbeat = heartbeat + 1", prefix(db));
    rc = where_group_and(db, &b, "node_id", node_id);
    ccoord__buf_addf(&b, " AND incarnation = %lld", incarnation);
    if (!pg)
        return run(db, rc, &b, "heartbeat", NULL, ret_rows);
    ccoord__buf_add(&b, " RETURNING heartbeat) SELECT (SELECT COUNT(*) FROM hb), "
                        "(SELECT MAX(heartbeat) FROM hb), ");
    if (!rc)
        rc = add_poll_sql(db, &b, 1);
    rc = run_poll(db, rc, &b, "heartbeat", 2, ret_poll, &updated);
    if (!rc && updated < 0) {
        /* the one-row table in FROM always gives a row */
        ccoord__fmt(db->err, sizeof db->err, "heartbeat of %s returned no row", node_id);
        rc = CCOORD_EDB;
    }
    if (rc)
        ret_poll->have = 0;
    else
        *ret_rows = (unsigned long long)updated;
    return rc;
}

int ccoord__row_leader_take(ccoord__db *db, const char *me, const char *seen_node,
                            long long seen_term, long long seen_hb, unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %sleader SET node_id = ", prefix(db));
    rc = q(db, &b, me);
    ccoord__buf_add(&b, ", term = term + 1, heartbeat = 0");
    if (!rc)
        rc = where_group_and(db, &b, "node_id", seen_node);
    ccoord__buf_addf(&b, " AND term = %lld AND heartbeat = %lld", seen_term, seen_hb);
    return run(db, rc, &b, "take leadership", NULL, ret_rows);
}

int ccoord__row_leader_renew(ccoord__db *db, const char *me, long long term,
                             unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %sleader SET heartbeat = heartbeat + 1", prefix(db));
    rc = where_group_and(db, &b, "node_id", me);
    ccoord__buf_addf(&b, " AND term = %lld", term);
    return run(db, rc, &b, "renew leadership", NULL, ret_rows);
}

int ccoord__row_leader_lock(ccoord__db *db, const char *me, long long term, int *ret_holds)
{
    unsigned long long rows = 0;
    int rc = ccoord__row_leader_renew(db, me, term, &rows);
    if (rc == CCOORD_OK)
        *ret_holds = rows == 1;
    return rc;
}

int ccoord__row_leader_vacate(ccoord__db *db, const char *me, long long term)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %sleader SET node_id = '', heartbeat = heartbeat + 1",
                     prefix(db));
    rc = where_group_and(db, &b, "node_id", me);
    ccoord__buf_addf(&b, " AND term = %lld", term);
    return run(db, rc, &b, "step down", NULL, NULL);
}

/* ---- member rows ---------------------------------------------------------- */

void ccoord__members_free(ccoord__member *m, size_t count)
{
    size_t i;
    if (!m)
        return;
    for (i = 0; i < count; i++) {
        free(m[i].id);
        free(m[i].hostname);
        free(m[i].metadata);
    }
    free(m);
}

int ccoord__row_member_get(ccoord__db *db, const char *node_id, long long *ret_inc,
                           long long *ret_hb, char *host, size_t hostlen)
{
    ccoord__buf b;
    dbi_result r;
    int rc, found = 0;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT incarnation, heartbeat, hostname FROM %smembers", prefix(db));
    rc = run(db, where_group_and(db, &b, "node_id", node_id), &b, "read member row", &r, NULL);
    if (rc)
        return rc;
    if (dbi_result_next_row(r)) {
        const char *h = ccoord__res_str(r, 3);
        *ret_inc = ccoord__res_ll(r, 1);
        *ret_hb = ccoord__res_ll(r, 2);
        ccoord__fmt(host, hostlen, "%s", h ? h : "");
        found = 1;
    }
    dbi_result_free(r);
    return found;
}

int ccoord__row_member_insert(ccoord__db *db, const char *node_id, long long inc,
                              const char *hostname, long long seq)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "INSERT INTO %smembers (group_id, node_id, incarnation, heartbeat, "
                         "hostname, metadata, joined_seq) VALUES (", prefix(db));
    rc = q(db, &b, db->s->group_id);
    ccoord__buf_add(&b, ", ");
    if (!rc)
        rc = q(db, &b, node_id);
    ccoord__buf_addf(&b, ", %lld, 0, ", inc);
    if (!rc)
        rc = q(db, &b, hostname);
    ccoord__buf_addf(&b, ", '', %lld)", seq);
    return run(db, rc, &b, "write member row", NULL, NULL);
}

int ccoord__row_member_takeover(ccoord__db *db, const char *node_id, long long inc,
                                const char *hostname, long long seq, long long old_inc,
                                long long old_hb, unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %smembers SET incarnation = %lld, heartbeat = 0, hostname = ",
                     prefix(db), inc);
    rc = q(db, &b, hostname);
    ccoord__buf_addf(&b, ", joined_seq = %lld, drained = 0", seq);
    if (!rc)
        rc = where_group_and(db, &b, "node_id", node_id);
    ccoord__buf_addf(&b, " AND incarnation = %lld AND heartbeat = %lld", old_inc, old_hb);
    return run(db, rc, &b, "write member row", NULL, ret_rows);
}

int ccoord__row_member_delete(ccoord__db *db, const char *node_id, long long inc, long long hb,
                              unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "DELETE FROM %smembers", prefix(db));
    rc = where_group_and(db, &b, "node_id", node_id);
    ccoord__buf_addf(&b, " AND incarnation = %lld", inc);
    if (hb >= 0)
        ccoord__buf_addf(&b, " AND heartbeat = %lld", hb);
    return run(db, rc, &b, hb >= 0 ? "evict member" : "delete member row", NULL, ret_rows);
}

/* Appends the current row of r to *m (count, cap), copying its strings. */
static int add_member(dbi_result r, ccoord__member **m, size_t *count, size_t *cap)
{
    const char *id = ccoord__res_str(r, 1), *h = ccoord__res_str(r, 4),
               *md = ccoord__res_str(r, 5);
    ccoord__member *x;
    if (ccoord__grow(m, cap, *count, sizeof **m, 16) != CCOORD_OK)
        return CCOORD_ENOMEM;
    x = &(*m)[(*count)++];
    memset(x, 0, sizeof *x);
    x->id = ccoord__strdup(id ? id : "");
    x->hostname = ccoord__strdup(h ? h : "");
    x->metadata = ccoord__strdup(md ? md : "");
    x->incarnation = ccoord__res_ll(r, 2);
    x->heartbeat = ccoord__res_ll(r, 3);
    x->joined_seq = ccoord__res_ll(r, 6);
    x->drained = ccoord__res_ll(r, 7) != 0;
    return x->id && x->hostname && x->metadata ? CCOORD_OK : CCOORD_ENOMEM;
}

int ccoord__row_members_read(ccoord__db *db, long long since, ccoord__member **ret,
                             size_t *ret_count)
{
    ccoord__buf b;
    dbi_result r;
    ccoord__member *m = NULL;
    size_t count = 0, cap = 0;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT node_id, incarnation, heartbeat, hostname, metadata, "
                         "joined_seq, drained FROM %smembers", prefix(db));
    rc = where_group(db, &b);
    if (since >= 0)
        ccoord__buf_addf(&b, " AND joined_seq > %lld", since);
    ccoord__buf_add(&b, " ORDER BY joined_seq, node_id");
    rc = run(db, rc, &b, since < 0 ? "read members" : "read new members", &r, NULL);
    if (rc)
        return rc;
    while (!rc && dbi_result_next_row(r))
        rc = add_member(r, &m, &count, &cap);
    dbi_result_free(r);
    if (rc) {
        ccoord__members_free(m, count);
        return rc;
    }
    *ret = m;
    *ret_count = count;
    return CCOORD_OK;
}

int ccoord__row_members_lock(ccoord__db *db, dbi_result *ret)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT node_id, drained FROM %smembers", prefix(db));
    rc = where_group(db, &b);
    ccoord__buf_add(&b, ccoord__for_update(db->dialect));
    return run(db, rc, &b, "lock members", ret, NULL);
}

/* ---- tasks and registrations --------------------------------------------- */

const char *ccoord__task_state_name(int state)
{
    return state == CCOORD_TASK_PAUSED      ? "PAUSED"
           : state == CCOORD_TASK_COMPLETED ? "COMPLETED"
                                            : "ACTIVE";
}

int ccoord__task_state_of(const char *s)
{
    if (s && strcmp(s, "PAUSED") == 0)
        return CCOORD_TASK_PAUSED;
    if (s && strcmp(s, "COMPLETED") == 0)
        return CCOORD_TASK_COMPLETED;
    return CCOORD_TASK_ACTIVE;
}

int ccoord__row_tasks_release(ccoord__db *db, const char *owner, const char *task,
                              unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %stasks SET owner = NULL, epoch = epoch + 1", prefix(db));
    rc = where_group_and(db, &b, "owner", owner);
    if (task) {
        ccoord__buf_add(&b, " AND name = ");
        if (!rc)
            rc = q(db, &b, task);
    }
    return run(db, rc, &b, task ? "release task" : "release tasks", NULL, ret_rows);
}

int ccoord__row_task_raise_epoch(ccoord__db *db, const char *task, uint64_t fence,
                                 unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %stasks SET owner = NULL, epoch = %llu", prefix(db),
                     (unsigned long long)fence + 1);
    rc = where_group_and(db, &b, "name", task);
    ccoord__buf_addf(&b, " AND epoch <= %llu", (unsigned long long)fence);
    return run(db, rc, &b, "raise a task's epoch", NULL, ret_rows);
}

int ccoord__row_registrations_delete(ccoord__db *db, const char *node_id, const char *task)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "DELETE FROM %stask_nodes", prefix(db));
    rc = where_group_and(db, &b, "node_id", node_id);
    if (task) {
        ccoord__buf_add(&b, " AND name = ");
        if (!rc)
            rc = q(db, &b, task);
    }
    return run(db, rc, &b, task ? "unregister task" : "delete task registrations", NULL, NULL);
}

#define ROWS_PER_INSERT 200

/* Multi-row insert-unless-present of (group, name[, node_id]) rows. */
static int insert_names(ccoord__db *db, const char *table_and_cols, const char *node_id,
                        const char *const *names, size_t count, const char *what)
{
    ccoord__buf b;
    size_t i, k;
    int rc = CCOORD_OK;
    for (i = 0; i < count && !rc; i += ROWS_PER_INSERT) {
        ccoord__buf_init(&b);
        ccoord__db_insert_ignore(db, &b, table_and_cols);
        for (k = i; k < count && k < i + ROWS_PER_INSERT && !rc; k++) {
            ccoord__buf_add(&b, k == i ? "(" : ", (");
            rc = q(db, &b, db->s->group_id);
            ccoord__buf_add(&b, ", ");
            if (!rc)
                rc = q(db, &b, names[k]);
            if (node_id) {
                ccoord__buf_add(&b, ", ");
                if (!rc)
                    rc = q(db, &b, node_id);
                ccoord__buf_add(&b, ")");
            } else {
                ccoord__buf_add(&b, ", NULL, 0, 'ACTIVE')");
            }
        }
        ccoord__db_insert_ignore_end(db, &b);
        rc = run(db, rc, &b, what, NULL, NULL);
    }
    return rc;
}

int ccoord__row_tasks_create(ccoord__db *db, const char *const *names, size_t count)
{
    char t[160];
    ccoord__fmt(t, sizeof t, "%stasks (group_id, name, owner, epoch, state) VALUES ", prefix(db));
    return insert_names(db, t, NULL, names, count, "create task");
}

int ccoord__row_registrations_insert(ccoord__db *db, const char *node_id,
                                     const char *const *names, size_t count)
{
    char t[160];
    ccoord__fmt(t, sizeof t, "%stask_nodes (group_id, name, node_id) VALUES ", prefix(db));
    return insert_names(db, t, node_id, names, count, "register task node");
}

int ccoord__row_tasks_owned(ccoord__db *db, const char *owner, dbi_result *ret)
{
    ccoord__buf b;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT name, epoch, state, move_to, last_slot, fires FROM %stasks",
                     prefix(db));
    return run(db, where_group_and(db, &b, "owner", owner), &b, "read own tasks", ret, NULL);
}

int ccoord__row_task_state(ccoord__db *db, const char *task, int *ret_state)
{
    ccoord__buf b;
    dbi_result r;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT state FROM %stasks", prefix(db));
    rc = run(db, where_group_and(db, &b, "name", task), &b, "read task state", &r, NULL);
    if (rc)
        return rc;
    if (!dbi_result_next_row(r)) {
        dbi_result_free(r);
        return CCOORD_ENOTFOUND;
    }
    *ret_state = ccoord__task_state_of(ccoord__res_str(r, 1));
    dbi_result_free(r);
    return CCOORD_OK;
}

/* "SELECT cols FROM <prefix>table WHERE group_id = 'g' ORDER BY order" */
static int read_group_rows(ccoord__db *db, const char *cols, const char *table,
                           const char *order, const char *what, dbi_result *ret)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT %s FROM %s%s", cols, prefix(db), table);
    rc = where_group(db, &b);
    ccoord__buf_addf(&b, " ORDER BY %s", order);
    return run(db, rc, &b, what, ret, NULL);
}

int ccoord__row_tasks_all(ccoord__db *db, dbi_result *ret)
{
    return read_group_rows(db, "name, owner, epoch, state, move_to, last_slot, fires", "tasks",
                           "name", "read tasks", ret);
}

int ccoord__row_registrations_all(ccoord__db *db, dbi_result *ret)
{
    return read_group_rows(db, "name, node_id", "task_nodes", "name, node_id",
                           "read registrations", ret);
}

int ccoord__row_task_set_state(ccoord__db *db, const char *task, int to,
                               unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %stasks SET state = '%s', epoch = epoch + 1, move_to = NULL%s",
                     prefix(db),
                     ccoord__task_state_name(to),
                     to == CCOORD_TASK_COMPLETED ? ", owner = NULL" : "");
    rc = where_group_and(db, &b, "name", task);
    ccoord__buf_add(&b, to == CCOORD_TASK_PAUSED   ? " AND state = 'ACTIVE'"
                        : to == CCOORD_TASK_ACTIVE ? " AND state = 'PAUSED'"
                                                   : " AND state <> 'COMPLETED'");
    return run(db, rc, &b, "change task state", NULL, ret_rows);
}

/* ---- what a resolution pass reads and writes ------------------------------ */

int ccoord__row_tasks_active(ccoord__db *db, int placed, dbi_result *ret)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT name, owner, epoch, move_to FROM %stasks", prefix(db));
    rc = where_group(db, &b);
    ccoord__buf_addf(&b, " AND owner IS %sNULL AND state = 'ACTIVE' ORDER BY name",
                     placed ? "NOT " : "");
    return run(db, rc, &b, placed ? "read placed tasks" : "read unassigned tasks", ret, NULL);
}

int ccoord__row_task_loads(ccoord__db *db, dbi_result *ret)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT owner, COUNT(*) FROM %stasks", prefix(db));
    rc = where_group(db, &b);
    ccoord__buf_add(&b, " AND owner IS NOT NULL GROUP BY owner");
    return run(db, rc, &b, "read task counts", ret, NULL);
}

int ccoord__row_registration_counts(ccoord__db *db, const char *const *tasks, size_t ntasks,
                                    const char *const *members, size_t nmembers,
                                    dbi_result *ret)
{
    ccoord__buf b;
    int rc = CCOORD_OK, lite = db->dialect == CCOORD__SQLITE;
    ccoord__buf_init(&b);
    if (lite) {
        /* SQLite: the filter in WHERE (SQLite probes the primary key with
         * both lists).  The derived-table form below makes libdbd-sqlite3
         * leak a string per statement while it guesses the column types. */
        ccoord__buf_addf(&b, "SELECT name, COUNT(*) FROM %stask_nodes", prefix(db));
    } else {
        /* The live-member test is in the select list, not in WHERE: there
         * PostgreSQL trades the primary key lookup by name for the node_id
         * index and scans the whole table (130 ms a chunk against 24 ms).
         * In a derived table, so that the outer select list stays short. */
        ccoord__buf_add(&b, "SELECT name, SUM(live) AS n FROM (SELECT name, CASE WHEN node_id IN (");
        rc = add_list(db, &b, members, nmembers);
        ccoord__buf_addf(&b, ") THEN 1 ELSE 0 END AS live FROM %stask_nodes", prefix(db));
    }
    if (!rc)
        rc = where_group(db, &b);
    ccoord__buf_add(&b, " AND name IN (");
    if (!rc)
        rc = add_list(db, &b, tasks, ntasks);
    if (lite) {
        ccoord__buf_add(&b, ") AND node_id IN (");
        if (!rc)
            rc = add_list(db, &b, members, nmembers);
        ccoord__buf_add(&b, ") GROUP BY name");
    } else {
        ccoord__buf_add(&b, ")) AS r GROUP BY name");
    }
    return run(db, rc, &b, "count task registrations", ret, NULL);
}

int ccoord__row_registration_pairs(ccoord__db *db, const char *const *tasks, size_t ntasks,
                                   dbi_result *ret)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT name, node_id FROM %stask_nodes", prefix(db));
    rc = where_group(db, &b);
    ccoord__buf_add(&b, " AND name IN (");
    if (!rc)
        rc = add_list(db, &b, tasks, ntasks);
    ccoord__buf_add(&b, ")");
    return run(db, rc, &b, "read task registrations", ret, NULL);
}

int ccoord__row_tasks_assign(ccoord__db *db, const char *member, const char *const *tasks,
                             size_t count, unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %stasks SET owner = ", prefix(db));
    rc = q(db, &b, member);
    ccoord__buf_add(&b, ", epoch = epoch + 1, move_to = NULL");
    if (!rc)
        rc = where_group(db, &b);
    ccoord__buf_add(&b, " AND owner IS NULL AND state = 'ACTIVE' AND name IN (");
    if (!rc)
        rc = add_list(db, &b, tasks, count);
    ccoord__buf_add(&b, ")");
    return run(db, rc, &b, "assign tasks", NULL, ret_rows);
}

int ccoord__row_task_move(ccoord__db *db, const char *task, const char *to, const char *owner,
                          long long epoch, unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %stasks SET move_to = ", prefix(db));
    rc = q(db, &b, to);
    if (!rc)
        rc = where_group_and(db, &b, "name", task);
    ccoord__buf_add(&b, " AND state = 'ACTIVE' AND ");
    if (owner) {
        ccoord__buf_add(&b, "owner = ");
        if (!rc)
            rc = q(db, &b, owner);
    } else {
        ccoord__buf_add(&b, "owner IS NULL");
    }
    ccoord__buf_addf(&b, " AND epoch = %lld", epoch);
    return run(db, rc, &b, "move task", NULL, ret_rows);
}

int ccoord__row_task_fire(ccoord__db *db, const char *task, const char *owner, long long epoch,
                          long long slot, long long count, long long grace_ms,
                          unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %stasks SET last_slot = %lld, fires = fires + 1", prefix(db),
                     slot);
    rc = where_group_and(db, &b, "name", task);
    ccoord__buf_add(&b, " AND owner = ");
    if (!rc)
        rc = q(db, &b, owner);
    ccoord__buf_addf(&b, " AND epoch = %lld AND state = 'ACTIVE' AND (last_slot IS NULL OR "
                         "last_slot < %lld)", epoch, slot);
    if (count > 0)
        ccoord__buf_addf(&b, " AND fires < %lld", count);
    /* not a slot in the server's future: a node whose clock runs ahead
     * must not record slots that every other node would then wait for */
    if (db->dialect == CCOORD__PGSQL)
        ccoord__buf_addf(&b, " AND %lld <= EXTRACT(EPOCH FROM clock_timestamp()) * 1000 + %lld",
                         slot, grace_ms);
    else if (db->dialect == CCOORD__MYSQL)
        ccoord__buf_addf(&b, " AND %lld <= UNIX_TIMESTAMP(NOW(3)) * 1000 + %lld", slot,
                         grace_ms);
    return run(db, rc, &b, "record a fire", NULL, ret_rows);
}

int ccoord__row_member_drain(ccoord__db *db, const char *node_id, int drained,
                             unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %smembers SET drained = %d", prefix(db), drained ? 1 : 0);
    rc = where_group_and(db, &b, "node_id", node_id);
    return run(db, rc, &b, drained ? "drain member" : "undrain member", NULL, ret_rows);
}

/* " AND <col> NOT IN (SELECT node_id FROM members WHERE group_id = 'g')" */
static int and_departed(ccoord__db *db, ccoord__buf *b, const char *col)
{
    int rc;
    ccoord__buf_addf(b, " AND %s NOT IN (SELECT node_id FROM %smembers WHERE group_id = ", col,
                     prefix(db));
    rc = q(db, b, db->s->group_id);
    ccoord__buf_add(b, ")");
    return rc;
}

int ccoord__row_tasks_release_departed(ccoord__db *db, unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %stasks SET owner = NULL, epoch = epoch + 1", prefix(db));
    rc = where_group(db, &b);
    ccoord__buf_add(&b, " AND owner IS NOT NULL");
    if (!rc)
        rc = and_departed(db, &b, "owner");
    return run(db, rc, &b, "un-assign tasks of non-members", NULL, ret_rows);
}

int ccoord__row_registrations_delete_departed(ccoord__db *db, unsigned long long *ret_rows)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "DELETE FROM %stask_nodes", prefix(db));
    rc = where_group(db, &b);
    if (!rc)
        rc = and_departed(db, &b, "node_id");
    return run(db, rc, &b, "delete registrations of non-members", NULL, ret_rows);
}
