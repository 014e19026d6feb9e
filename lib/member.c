/*
 * lib/member.c: join, the background loop (heartbeat, lease, polling the
 * group row, member views and their events) and the statement watchdog.
 *
 * Time: every duration here is measured on this node's CLOCK_BOOTTIME and
 * never compared with another node's clock or the database's.
 */
#include "node.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ccoord__q(ccoord__db *db, ccoord__buf *b, const char *s)
{
    return ccoord__db_quote(db, b, s);
}

/* "WHERE group_id = 'g'" */
static int where_group(ccoord__db *db, ccoord__buf *b, const ccoord_node *n)
{
    ccoord__buf_add(b, " WHERE group_id = ");
    return ccoord__q(db, b, n->s.group_id);
}

int ccoord__bump_version(ccoord__db *db, const ccoord_node *n, int removal)
{
    ccoord__buf b;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %sgroups SET version = version + 1%s", n->s.table_prefix,
                     removal ? ", removals = removals + 1" : "");
    rc = where_group(db, &b, n);
    if (!rc)
        rc = b.oom ? CCOORD_ENOMEM : ccoord__db_exec(db, "bump group version", b.data, NULL);
    ccoord__buf_free(&b);
    return rc;
}

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

/* INSERT of a row unless its key exists, per dialect. */
static void insert_ignore(ccoord__buf *b, int dialect, const char *table_and_cols)
{
    if (dialect == CCOORD__SQLITE)
        ccoord__buf_addf(b, "INSERT OR IGNORE INTO %s", table_and_cols);
    else if (dialect == CCOORD__MYSQL)
        ccoord__buf_addf(b, "INSERT IGNORE INTO %s", table_and_cols);
    else
        ccoord__buf_addf(b, "INSERT INTO %s", table_and_cols);
}

static void insert_ignore_end(ccoord__buf *b, int dialect)
{
    if (dialect == CCOORD__PGSQL)
        ccoord__buf_add(b, " ON CONFLICT DO NOTHING");
}

/* Exported to task.c through node.h's helpers would be overkill: the two
 * insert-unless-present helpers are reused there via these wrappers. */
int ccoord__insert_ignore(ccoord__db *db, ccoord__buf *b, const char *table_and_cols);
int ccoord__insert_ignore(ccoord__db *db, ccoord__buf *b, const char *table_and_cols)
{
    insert_ignore(b, db->dialect, table_and_cols);
    return CCOORD_OK;
}
void ccoord__insert_ignore_end(ccoord__db *db, ccoord__buf *b);
void ccoord__insert_ignore_end(ccoord__db *db, ccoord__buf *b)
{
    insert_ignore_end(b, db->dialect);
}

static int ensure_group_rows(ccoord_node *n, ccoord__db *db)
{
    ccoord__buf b;
    char t[128];
    int rc;
    ccoord__buf_init(&b);
    ccoord__fmt(t, sizeof t, "%sgroups (group_id, version) VALUES (", n->s.table_prefix);
    insert_ignore(&b, db->dialect, t);
    rc = ccoord__q(db, &b, n->s.group_id);
    ccoord__buf_add(&b, ", 0)");
    insert_ignore_end(&b, db->dialect);
    if (!rc)
        rc = ccoord__db_exec(db, "create group row", b.data, NULL);
    if (!rc) {
        ccoord__buf_reset(&b);
        ccoord__fmt(t, sizeof t, "%sleader (group_id, node_id, term, heartbeat) VALUES (",
                    n->s.table_prefix);
        insert_ignore(&b, db->dialect, t);
        rc = ccoord__q(db, &b, n->s.group_id);
        ccoord__buf_add(&b, ", '', 0, 0)");
        insert_ignore_end(&b, db->dialect);
        if (!rc)
            rc = ccoord__db_exec(db, "create leader row", b.data, NULL);
    }
    ccoord__buf_free(&b);
    return rc;
}

/* Reads this node id's member row: 1 found, 0 none, <0 error. */
static int read_own_row(ccoord_node *n, ccoord__db *db, long long *inc, long long *hb,
                        char *host, size_t hostlen)
{
    ccoord__buf b;
    dbi_result r;
    int rc, found = 0;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT incarnation, heartbeat, hostname FROM %smembers",
                     n->s.table_prefix);
    rc = where_group(db, &b, n);
    ccoord__buf_add(&b, " AND node_id = ");
    if (!rc)
        rc = ccoord__q(db, &b, n->id);
    if (!rc)
        rc = ccoord__db_exec(db, "read member row", b.data, &r);
    ccoord__buf_free(&b);
    if (rc)
        return rc;
    if (dbi_result_next_row(r)) {
        const char *h = ccoord__res_str(r, 3);
        *inc = ccoord__res_ll(r, 1);
        *hb = ccoord__res_ll(r, 2);
        ccoord__fmt(host, hostlen, "%s", h ? h : "");
        found = 1;
    }
    dbi_result_free(r);
    return found;
}

/* Bumps the version and returns its new value (inside a transaction). */
static int next_seq(ccoord_node *n, ccoord__db *db, long long *ret)
{
    ccoord__buf b;
    dbi_result r;
    int rc = ccoord__bump_version(db, n, 0);
    if (rc)
        return rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT version FROM %sgroups", n->s.table_prefix);
    rc = where_group(db, &b, n);
    if (!rc)
        rc = ccoord__db_exec(db, "read group version", b.data, &r);
    ccoord__buf_free(&b);
    if (rc)
        return rc;
    if (!dbi_result_next_row(r)) {
        dbi_result_free(r);
        ccoord__fmt(db->err, sizeof db->err, "group row of %s is missing", n->s.group_id);
        return CCOORD_EDB;
    }
    *ret = ccoord__res_ll(r, 1);
    dbi_result_free(r);
    return CCOORD_OK;
}

static int write_member(ccoord_node *n, ccoord__db *db, int takeover, long long old_inc,
                        long long old_hb, unsigned long long *ret_rows)
{
    ccoord__buf b;
    long long seq = 0;
    int rc;
    ccoord__buf_init(&b);
    rc = next_seq(n, db, &seq);
    if (rc)
        goto out;
    if (!takeover) {
        ccoord__buf_addf(&b, "INSERT INTO %smembers (group_id, node_id, incarnation, heartbeat, "
                             "hostname, metadata, joined_seq) VALUES (", n->s.table_prefix);
        rc = ccoord__q(db, &b, n->s.group_id);
        ccoord__buf_add(&b, ", ");
        if (!rc)
            rc = ccoord__q(db, &b, n->id);
        ccoord__buf_addf(&b, ", %lld, 0, ", n->incarnation);
        if (!rc)
            rc = ccoord__q(db, &b, n->hostname);
        ccoord__buf_addf(&b, ", '', %lld)", seq);
    } else {
        ccoord__buf_addf(&b, "UPDATE %smembers SET incarnation = %lld, heartbeat = 0, hostname = ",
                         n->s.table_prefix, n->incarnation);
        rc = ccoord__q(db, &b, n->hostname);
        ccoord__buf_addf(&b, ", joined_seq = %lld", seq);
        if (!rc)
            rc = where_group(db, &b, n);
        ccoord__buf_add(&b, " AND node_id = ");
        if (!rc)
            rc = ccoord__q(db, &b, n->id);
        ccoord__buf_addf(&b, " AND incarnation = %lld AND heartbeat = %lld", old_inc, old_hb);
    }
    if (!rc)
        rc = b.oom ? CCOORD_ENOMEM : ccoord__db_exec_count(db, "write member row", b.data, ret_rows);
    if (!rc && takeover && *ret_rows == 1) {
        /* The dead process's tasks: released with a new epoch, so whatever
         * it handed out as fences is stale. */
        ccoord__buf_reset(&b);
        ccoord__buf_addf(&b, "UPDATE %stasks SET owner = NULL, epoch = epoch + 1", n->s.table_prefix);
        rc = where_group(db, &b, n);
        ccoord__buf_add(&b, " AND owner = ");
        if (!rc)
            rc = ccoord__q(db, &b, n->id);
        if (!rc)
            rc = ccoord__db_exec(db, "release tasks of the previous process", b.data, NULL);
    }
out:
    ccoord__buf_free(&b);
    return rc;
}

int ccoord__join_row(ccoord_node *n, ccoord__db *db)
{
    int attempt, rc;
    long long inc = 0, hb = 0;
    char host[300];
    rc = ensure_group_rows(n, db);
    if (rc)
        return rc;
    for (attempt = 0; attempt < 5; attempt++) {
        int found, takeover = 0;
        unsigned long long rows = 0;
        int64_t start;
        n->incarnation = (long long)(ccoord__random_u64() >> 2) + 1;
        found = read_own_row(n, db, &inc, &hb, host, sizeof host);
        if (found < 0)
            return found;
        if (found) {
            /* Another row with this id: live process or a dead one's
             * leftover.  Watch its counter for the timeout. */
            int64_t t0 = ccoord__now_ns();
            long long inc2 = inc, hb2 = hb;
            int still = 1;
            ccoord__log(n, CCOORD_LOG_INFO,
                        "Node id [%s] has a member row already; watching its heartbeat for %lld ms",
                        n->id, (long long)(n->timeout_ns / 1000000));
            while (ccoord__now_ns() - t0 < n->timeout_ns) {
                int64_t step = n->interval_ns / 2;
                ccoord__sleep_ns(step > 5000000 ? step : 5000000);
                still = read_own_row(n, db, &inc2, &hb2, host, sizeof host);
                if (still < 0)
                    return still;
                if (!still)
                    break;
                if (inc2 != inc || hb2 != hb) {
                    ccoord__fmt(db->err, sizeof db->err,
                                "node id [%s] is in use by a live member of group %s (on host %s: "
                                "its heartbeat moved from %lld to %lld within %lld ms); give each "
                                "node its own cluster_config.node_id",
                                n->id, n->s.group_id, host, hb, hb2,
                                (long long)((ccoord__now_ns() - t0) / 1000000));
                    return CCOORD_EDUPNODE;
                }
            }
            if (!still)
                continue; /* the row went away: plain insert */
            takeover = 1;
        }
        start = ccoord__now_ns();
        rc = ccoord__db_begin(db);
        if (!rc)
            rc = write_member(n, db, takeover, inc, hb, &rows);
        if (!rc && takeover && rows != 1) {
            /* The row changed between the watch and the takeover.  Gone
             * (the leader evicted the dead process meanwhile): insert.
             * Still there: another process renewed or took it. */
            long long inc3 = inc, hb3 = hb;
            ccoord__db_rollback(db);
            found = read_own_row(n, db, &inc3, &hb3, host, sizeof host);
            if (found < 0)
                return found;
            if (!found)
                continue;
            ccoord__fmt(db->err, sizeof db->err,
                        "node id [%s] is in use: its member row changed while taking it over "
                        "(heartbeat %lld to %lld)", n->id, hb, hb3);
            return CCOORD_EDUPNODE;
        }
        if (!rc)
            rc = ccoord__db_commit(db);
        else
            ccoord__db_rollback(db);
        if (rc == CCOORD_OK) {
            atomic_store(&n->lease_until, start + n->lease_ns);
            if (takeover)
                ccoord__log(n, CCOORD_LOG_INFO,
                            "Took over the member row of node id [%s] from a process that "
                            "stopped heartbeating", n->id);
            return ccoord__write_registrations(n, db);
        }
        if (rc == CCOORD_ENOMEM)
            return rc;
        /* an insert that lost a race with another process: look again */
        if (!db->conn && ccoord__db_connect(db, 1) != CCOORD_OK)
            return CCOORD_EDB;
    }
    return rc ? rc : CCOORD_EDB;
}

/* ---- lease, leadership, events ---------------------------------------- */

void ccoord__revoke_all(ccoord_node *n)
{
    size_t i = 0;
    const char *name;
    void *v;
    while (ccoord__map_iter(n->owned, &i, &name, &v)) {
        ccoord__owned *o = v;
        if (o->granted) {
            ccoord__queue(n, 1, CCOORD_TASK_REVOKED, name, o->fence);
            o->granted = 0;
        }
    }
    ccoord__map_free(n->owned, free);
    n->owned = ccoord__map_new();
}

/* Fires REVOKED for everything once the lease has lapsed (mu held). */
static void check_lease(ccoord_node *n, int64_t now)
{
    size_t i = 0;
    const char *name;
    void *v;
    int any = 0;
    if (now < atomic_load(&n->lease_until))
        return;
    while (ccoord__map_iter(n->owned, &i, &name, &v))
        if (((ccoord__owned *)v)->granted)
            any = 1;
    if (any) {
        ccoord__revoke_all(n);
        n->refresh_after_hb = 1;
    }
    if (atomic_load(&n->leader_until) && now >= atomic_load(&n->leader_until))
        ccoord__step_down_local(n);
}

/* ---- heartbeat and poll ---------------------------------------------- */

static void db_trouble(ccoord_node *n, ccoord__db *db, const char *what)
{
    int64_t now = ccoord__now_ns();
    if (now >= n->log_db_error_ns) {
        ccoord__log(n, CCOORD_LOG_WARN, "%s failed: %s (retrying)", what, db->err);
        n->log_db_error_ns = now + 5000000000LL;
    }
}

static void handle_eviction(ccoord_node *n)
{
    pthread_mutex_lock(&n->mu);
    atomic_store(&n->lease_until, 0);
    ccoord__revoke_all(n);
    ccoord__step_down_local(n);
    ccoord__queue(n, 0, CCOORD_MEMBER_SELF_EVICTED, n->id, 0);
    n->force_refresh = 1;
    pthread_mutex_unlock(&n->mu);
    ccoord__log(n, CCOORD_LOG_WARN,
                "Node [%s] was removed from the cluster (missed heartbeats); rejoining", n->id);
    ccoord__fire(n);
}

/* What a poll read: the group row, the leader row and the leader's
 * member row. */
typedef struct poll_row {
    int have;          /* read by the heartbeat's statement already */
    int group_missing; /* no group row */
    int have_leader_row;
    char lnode[CCOORD__MAX_KEY + 1];
    long long version, removals, lterm, lhb, lminc, lmhb;
} poll_row;

/* The poll's select list and tables; source is what the group row is
 * joined to: "" (FROM the group row) or a one-row derived table. */
static int add_poll_sql(ccoord_node *n, ccoord__db *db, ccoord__buf *b, int from_one_row)
{
    const char *p = n->s.table_prefix;
    int rc;
    ccoord__buf_add(b, "g.version, l.node_id, l.term, l.heartbeat, m.incarnation, m.heartbeat, "
                       "g.removals FROM ");
    if (from_one_row)
        ccoord__buf_addf(b, "(SELECT 1 AS one) o LEFT JOIN %sgroups g ON g.group_id = ", p);
    else
        ccoord__buf_addf(b, "%sgroups g", p);
    rc = from_one_row ? ccoord__q(db, b, n->s.group_id) : CCOORD_OK;
    ccoord__buf_addf(b, " LEFT JOIN %sleader l ON l.group_id = g.group_id LEFT JOIN %smembers m "
                        "ON m.group_id = l.group_id AND m.node_id = l.node_id", p, p);
    if (!rc && !from_one_row) {
        ccoord__buf_add(b, " WHERE g.group_id = ");
        rc = ccoord__q(db, b, n->s.group_id);
    }
    return rc;
}

/* Reads add_poll_sql's columns, from column off + 1 on. */
static void parse_poll(dbi_result r, unsigned off, poll_row *p)
{
    const char *ln = ccoord__res_str(r, off + 2);
    memset(p, 0, sizeof *p);
    p->have = 1;
    if (ccoord__res_null(r, off + 1)) {
        p->group_missing = 1;
        return;
    }
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

/* Runs the statement in b (and frees b) whose row holds add_poll_sql's
 * columns from column off + 1 on; column 1 goes to *first when off is 1.
 * No row: the group row is missing. */
static int run_poll(ccoord__db *db, const char *what, ccoord__buf *b, unsigned off, poll_row *p,
                    long long *first)
{
    dbi_result r;
    int rc = b->oom ? CCOORD_ENOMEM : ccoord__db_exec(db, what, b->data, &r);
    ccoord__buf_free(b);
    if (rc)
        return rc;
    memset(p, 0, sizeof *p);
    p->have = 1;
    p->group_missing = 1;
    if (dbi_result_next_row(r)) {
        if (first)
            *first = ccoord__res_ll(r, 1);
        parse_poll(r, off, p);
    }
    dbi_result_free(r);
    return CCOORD_OK;
}

/* The heartbeat UPDATE.  On PostgreSQL it carries the poll too, in one
 * statement (a data-modifying WITH): a follower sends one statement an
 * interval instead of two, which halves the server's work for a large
 * cluster (the scale benchmark).  Sets *rows to the rows updated. */
static int heartbeat_sql(ccoord_node *n, ccoord__db *db, poll_row *poll, unsigned long long *rows)
{
    ccoord__buf b;
    long long updated = -1;
    int pg = db->dialect == CCOORD__PGSQL, rc;
    ccoord__buf_init(&b);
    if (pg)
        ccoord__buf_add(&b, "WITH hb AS (");
    ccoord__buf_addf(&b, "UPDATE %smembers SET heartbeat = heartbeat + 1", n->s.table_prefix);
    rc = where_group(db, &b, n);
    ccoord__buf_add(&b, " AND node_id = ");
    if (!rc)
        rc = ccoord__q(db, &b, n->id);
    ccoord__buf_addf(&b, " AND incarnation = %lld", n->incarnation);
    if (!pg) {
        if (!rc)
            rc = b.oom ? CCOORD_ENOMEM : ccoord__db_exec_count(db, "heartbeat", b.data, rows);
        ccoord__buf_free(&b);
        return rc;
    }
    ccoord__buf_add(&b, " RETURNING 1) SELECT (SELECT COUNT(*) FROM hb), ");
    if (!rc)
        rc = add_poll_sql(n, db, &b, 1);
    if (rc) {
        ccoord__buf_free(&b);
        return rc;
    }
    rc = run_poll(db, "heartbeat", &b, 1, poll, &updated);
    if (!rc && updated < 0) {
        /* the one-row table in FROM always gives a row */
        ccoord__fmt(db->err, sizeof db->err, "heartbeat of %s returned no row", n->id);
        rc = CCOORD_EDB;
    }
    if (!rc)
        *rows = (unsigned long long)updated;
    return rc;
}

/* The heartbeat: one UPDATE (two as leader; on PostgreSQL with the poll
 * in it, into *poll).  Returns 1 when evicted. */
static int heartbeat(ccoord_node *n, ccoord__db *db, poll_row *poll)
{
    ccoord__buf b;
    unsigned long long rows = 0;
    int64_t start = ccoord__now_ns();
    int rc;
    poll->have = 0;
    rc = heartbeat_sql(n, db, poll, &rows);
    if (rc) {
        poll->have = 0;
        db_trouble(n, db, "Heartbeat");
        return 0;
    }
    if (rows == 0)
        return 1;
    ccoord__buf_init(&b);
    atomic_store(&n->lease_until, start + n->lease_ns);
    pthread_mutex_lock(&n->mu);
    if (n->refresh_after_hb) {
        n->refresh_after_hb = 0;
        n->force_refresh = 1;
    }
    pthread_mutex_unlock(&n->mu);
    if (atomic_load(&n->leader_until)) {
        ccoord__buf_reset(&b);
        ccoord__buf_addf(&b, "UPDATE %sleader SET heartbeat = heartbeat + 1", n->s.table_prefix);
        rc = where_group(db, &b, n);
        ccoord__buf_add(&b, " AND node_id = ");
        if (!rc)
            rc = ccoord__q(db, &b, n->id);
        ccoord__buf_addf(&b, " AND term = %lld", n->leader_term);
        if (!rc)
            rc = ccoord__db_exec_count(db, "renew leadership", b.data, &rows);
        if (!rc && rows == 1) {
            atomic_store(&n->leader_until, start + n->lease_ns);
        } else if (!rc) {
            pthread_mutex_lock(&n->mu);
            ccoord__step_down_local(n);
            pthread_mutex_unlock(&n->mu);
        } else {
            db_trouble(n, db, "Leader renewal");
        }
    }
    ccoord__buf_free(&b);
    return 0;
}

/* Index of member (id, inc) in m, through ix (id -> index + 1 of m;
 * node ids are unique in a group), or -1. */
static long find_member(const ccoord__map *ix, const ccoord__member *m, const char *id,
                        long long inc)
{
    uintptr_t v = (uintptr_t)ccoord__map_get(ix, id);
    return v && m[v - 1].incarnation == inc ? (long)(v - 1) : -1;
}

/* id -> index + 1 of every member of m; NULL when out of memory. */
static ccoord__map *index_members(const ccoord__member *m, size_t count)
{
    ccoord__map *ix = ccoord__map_new();
    size_t i;
    for (i = 0; ix && i < count; i++)
        if (ccoord__map_put(ix, m[i].id, (void *)(uintptr_t)(i + 1), NULL) != CCOORD_OK) {
            ccoord__map_free(ix, NULL);
            ix = NULL;
        }
    return ix;
}

/* Reads member rows in join order into a new array: every row (since
 * < 0), or the rows that joined after the join sequence since. */
static int read_member_rows(ccoord_node *n, ccoord__db *db, long long since,
                            ccoord__member **ret, size_t *ret_count)
{
    const char *p = n->s.table_prefix;
    ccoord__buf b;
    dbi_result r;
    ccoord__member *nm = NULL;
    size_t count = 0, cap = 0;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT node_id, incarnation, heartbeat, hostname, metadata, "
                         "joined_seq FROM %smembers", p);
    rc = where_group(db, &b, n);
    if (since >= 0)
        ccoord__buf_addf(&b, " AND joined_seq > %lld", since);
    ccoord__buf_add(&b, " ORDER BY joined_seq, node_id");
    if (!rc)
        rc = b.oom ? CCOORD_ENOMEM
                   : ccoord__db_exec(db, since < 0 ? "read members" : "read new members", b.data,
                                     &r);
    ccoord__buf_free(&b);
    if (rc)
        return rc;
    while (dbi_result_next_row(r)) {
        const char *id = ccoord__res_str(r, 1), *h = ccoord__res_str(r, 4),
                   *md = ccoord__res_str(r, 5);
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            ccoord__member *x = ccoord__realloc(nm, ncap * sizeof *x);
            if (!x) {
                rc = CCOORD_ENOMEM;
                break;
            }
            nm = x;
            cap = ncap;
        }
        memset(&nm[count], 0, sizeof nm[count]);
        nm[count].id = ccoord__strdup(id ? id : "");
        nm[count].hostname = ccoord__strdup(h ? h : "");
        nm[count].metadata = ccoord__strdup(md ? md : "");
        nm[count].incarnation = ccoord__res_ll(r, 2);
        nm[count].heartbeat = ccoord__res_ll(r, 3);
        nm[count].joined_seq = ccoord__res_ll(r, 6);
        count++;
        if (!nm[count - 1].id || !nm[count - 1].hostname || !nm[count - 1].metadata) {
            rc = CCOORD_ENOMEM;
            break;
        }
    }
    dbi_result_free(r);
    atomic_fetch_add(&n->member_rows, (unsigned long)count);
    if (rc) {
        ccoord__members_free(nm, count);
        return rc;
    }
    *ret = nm;
    *ret_count = count;
    return CCOORD_OK;
}

/* Applies to a follower's view the rows that joined since its last read
 * (add, in join order), in place: a join costs each node O(new rows) of
 * statement and memory work, not a copy of the list.  The caller has seen
 * no member row deleted since the view was read (the group row's removals
 * count).  A join sequence is the group version its join transaction
 * wrote; the version row stays locked until that commit, so sequences are
 * unique and commit in order, and one statement that sees a row sees
 * every row of a smaller sequence.  A row gets a new sequence only by a
 * rejoin (a new incarnation under its id): the old one is replaced.
 * Called with mu held; takes add's strings and array. */
static int apply_new_members(ccoord_node *n, ccoord__member *add, size_t nadd, int64_t now)
{
    size_t i, j, present = 0, count;
    /* a linear search per new row: new rows are few (one per join), and
     * an index of the view would cost as much to keep as the search */
    for (i = 0; i < nadd; i++)
        for (j = 0; j < n->member_count; j++)
            if (strcmp(n->members[j].id, add[i].id) == 0) {
                present++;
                break;
            }
    count = n->member_count - present + nadd;
    if (count > n->member_cap) {
        size_t cap = n->member_cap * 2 > count ? n->member_cap * 2 : count + 16;
        ccoord__member *x = ccoord__realloc(n->members, cap * sizeof *x);
        if (!x)
            return CCOORD_ENOMEM;
        n->members = x;
        n->member_cap = cap;
    }
    if (present) {
        /* rejoined ids: the old incarnation is removed, its row moves to
         * the end (join order) */
        size_t k = 0;
        for (j = 0; j < n->member_count; j++) {
            ccoord__member *o = &n->members[j];
            for (i = 0; i < nadd; i++)
                if (strcmp(o->id, add[i].id) == 0)
                    break;
            if (i < nadd) {
                if (strcmp(o->id, n->id) != 0) {
                    ccoord__queue(n, 0, CCOORD_MEMBER_REMOVED, o->id, 0);
                    ccoord__log(n, CCOORD_LOG_INFO, "Member removed [%s]", o->id);
                }
                free(o->id);
                free(o->hostname);
                free(o->metadata);
                continue;
            }
            n->members[k++] = *o;
        }
        n->member_count = k;
    }
    for (i = 0; i < nadd; i++) {
        ccoord__member *m = &n->members[n->member_count++];
        *m = add[i];
        m->seen_ns = now;
        if (strcmp(m->id, n->id) != 0) {
            ccoord__queue(n, 0, CCOORD_MEMBER_ADDED, m->id, 0);
            ccoord__log(n, CCOORD_LOG_INFO, "Member added [%s]", m->id);
        }
    }
    free(add);
    return CCOORD_OK;
}

/* Reads the member list (all of it, or on a follower whose view is
 * current but for joins, only the rows that joined since); diffs it
 * against the view; queues events.  *joined is set when the read found
 * only new members (at least one). */
static int refresh_members(ccoord_node *n, ccoord__db *db, int incremental, int *joined)
{
    ccoord__member *nm = NULL;
    ccoord__map *new_ix, *old_ix;
    size_t count = 0, i;
    int rc;
    int64_t now;
    if (incremental) {
        long long since = 0;
        ccoord__member *add = NULL;
        size_t nadd = 0;
        pthread_mutex_lock(&n->mu);
        for (i = 0; i < n->member_count; i++)
            if (n->members[i].joined_seq > since)
                since = n->members[i].joined_seq;
        pthread_mutex_unlock(&n->mu);
        rc = read_member_rows(n, db, since, &add, &nadd);
        if (rc)
            return rc;
        /* only this thread changes n->members: the view is still the one
         * since was taken from */
        pthread_mutex_lock(&n->mu);
        rc = apply_new_members(n, add, nadd, ccoord__now_ns());
        pthread_mutex_unlock(&n->mu);
        *joined = rc == CCOORD_OK && nadd > 0;
        if (rc)
            ccoord__members_free(add, nadd);
        return rc;
    }
    rc = read_member_rows(n, db, -1, &nm, &count);
    if (rc)
        return rc;
    /* The diff goes through hash indexes: with hundreds of members a
     * linear search per member made every refresh O(members^2) on each
     * node, which saturated the CPU while members joined (bench scale). */
    if (!(new_ix = index_members(nm, count))) {
        ccoord__members_free(nm, count);
        return CCOORD_ENOMEM;
    }
    now = ccoord__now_ns();
    pthread_mutex_lock(&n->mu);
    if (!(old_ix = index_members(n->members, n->member_count))) {
        pthread_mutex_unlock(&n->mu);
        ccoord__map_free(new_ix, NULL);
        ccoord__members_free(nm, count);
        return CCOORD_ENOMEM;
    }
    for (i = 0; i < n->member_count; i++) {
        ccoord__member *o = &n->members[i];
        if (find_member(new_ix, nm, o->id, o->incarnation) < 0 && strcmp(o->id, n->id) != 0) {
            ccoord__queue(n, 0, CCOORD_MEMBER_REMOVED, o->id, 0);
            ccoord__log(n, CCOORD_LOG_INFO, "Member removed [%s]", o->id);
        }
    }
    for (i = 0; i < count; i++) {
        long j = find_member(old_ix, n->members, nm[i].id, nm[i].incarnation);
        if (j >= 0 && n->members[j].heartbeat == nm[i].heartbeat)
            nm[i].seen_ns = n->members[j].seen_ns;
        else
            nm[i].seen_ns = now;
        if (j < 0 && strcmp(nm[i].id, n->id) != 0) {
            ccoord__queue(n, 0, CCOORD_MEMBER_ADDED, nm[i].id, 0);
            ccoord__log(n, CCOORD_LOG_INFO, "Member added [%s]", nm[i].id);
        }
    }
    ccoord__members_free(n->members, n->member_count);
    n->members = nm;
    n->member_count = count;
    n->member_cap = count;
    pthread_mutex_unlock(&n->mu);
    ccoord__map_free(old_ix, NULL);
    ccoord__map_free(new_ix, NULL);
    return CCOORD_OK;
}

/* Reads the group row with the leader row (one statement).  Returns the
 * version through ret_version; handles leader observation/takeover. */
static int poll_group(ccoord_node *n, ccoord__db *db, const poll_row *pre,
                      long long *ret_version, long long *ret_removals)
{
    ccoord__buf b;
    int rc;
    poll_row own;
    const poll_row *pr = pre;
    const char *lnode;
    int64_t now;
    if (!pr || !pr->have) {
        ccoord__buf_init(&b);
        ccoord__buf_add(&b, "SELECT ");
        rc = add_poll_sql(n, db, &b, 0);
        if (rc) {
            ccoord__buf_free(&b);
            return rc;
        }
        rc = run_poll(db, "poll group version", &b, 0, &own, NULL);
        if (rc)
            return rc;
        pr = &own;
    }
    if (pr->group_missing) {
        ccoord__fmt(db->err, sizeof db->err, "group row of %s is missing", n->s.group_id);
        return CCOORD_EDB;
    }
    lnode = pr->lnode;
    *ret_removals = pr->removals;
    *ret_version = pr->version;
    if (!pr->have_leader_row)
        return ensure_group_rows(n, db);

    now = ccoord__now_ns();
    pthread_mutex_lock(&n->mu);
    if (strcmp(lnode, n->leader_id ? n->leader_id : "") != 0) {
        char *copy = ccoord__strdup(lnode);
        if (copy) {
            free(n->leader_id);
            n->leader_id = copy;
            ccoord__queue(n, 0, CCOORD_MEMBER_LEADER_CHANGED, lnode, 0);
        }
    }
    if (pr->lterm != n->seen_leader_term || pr->lhb != n->seen_leader_hb) {
        n->seen_leader_term = pr->lterm;
        n->seen_leader_hb = pr->lhb;
        n->seen_leader_ns = now;
    }
    if (!n->seen_lm_id || strcmp(n->seen_lm_id, lnode) != 0 || pr->lminc != n->seen_lm_inc ||
        pr->lmhb != n->seen_lm_hb) {
        char *copy = ccoord__strdup(lnode);
        if (copy) {
            free(n->seen_lm_id);
            n->seen_lm_id = copy;
            n->seen_lm_inc = pr->lminc;
            n->seen_lm_hb = pr->lmhb;
            n->seen_lm_ns = now;
        }
    }
    if (atomic_load(&n->leader_until) &&
        (strcmp(lnode, n->id) != 0 || pr->lterm != n->leader_term))
        ccoord__step_down_local(n);
    pthread_mutex_unlock(&n->mu);

    if (!atomic_load(&n->leader_until) && now < atomic_load(&n->lease_until)) {
        int vacant = lnode[0] == '\0';
        int stale_self = strcmp(lnode, n->id) == 0;
        int lapsed = now - n->seen_leader_ns >= n->timeout_ns;
        if (vacant || stale_self || lapsed)
            ccoord__leader_takeover(n, db, lnode, pr->lterm, pr->lhb);
    }
    return CCOORD_OK;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void wait_until(ccoord_node *n, int64_t deadline)
{
    int64_t now = ccoord__now_ns();
    struct timespec ts;
    int64_t mono, delta = deadline - now;
    if (delta <= 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    mono = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + delta;
    ts.tv_sec = (time_t)(mono / 1000000000);
    ts.tv_nsec = (long)(mono % 1000000000);
    pthread_mutex_lock(&n->mu);
    while (!n->stop && !n->wake) {
        if (pthread_cond_timedwait(&n->cond, &n->mu, &ts) != 0)
            break;
    }
    n->wake = 0;
    pthread_mutex_unlock(&n->mu);
}

void *ccoord__bg_main(void *arg)
{
    ccoord_node *n = arg;
    ccoord__db *db = &n->bg_db;
    int64_t next_hb = ccoord__now_ns(), next_poll = next_hb;
    int need_rejoin = 0;
    for (;;) {
        int64_t now, deadline, poll_period;
        int force, hb_tick = 0, changed = 0, failed = 0, incremental, joined = 0;
        long long version = -1, removals = -1;
        poll_row hbpoll;
        pthread_mutex_lock(&n->mu);
        if (n->stop) {
            pthread_mutex_unlock(&n->mu);
            break;
        }
        pthread_mutex_unlock(&n->mu);
        if (atomic_load(&n->frozen)) {
            wait_until(n, ccoord__now_ns() + 5000000);
            continue;
        }
        now = ccoord__now_ns();
        pthread_mutex_lock(&n->mu);
        check_lease(n, now);
        pthread_mutex_unlock(&n->mu);
        ccoord__fire(n);

        if (need_rejoin) {
            if (ccoord__join_row(n, db) == CCOORD_OK) {
                need_rejoin = 0;
                ccoord__log(n, CCOORD_LOG_INFO, "Successfully joined the cluster with id [%s]",
                            n->id);
                pthread_mutex_lock(&n->mu);
                n->force_refresh = 1;
                pthread_mutex_unlock(&n->mu);
            } else {
                db_trouble(n, db, "Rejoin");
                wait_until(n, ccoord__now_ns() + n->interval_ns);
                continue;
            }
        }
        if (now >= next_hb) {
            hb_tick = 1;
            next_hb += n->interval_ns;
            if (next_hb <= now)
                next_hb = now + n->interval_ns;
            if (heartbeat(n, db, &hbpoll)) {
                handle_eviction(n);
                need_rejoin = 1;
                continue;
            }
        }
        if (poll_group(n, db, hb_tick ? &hbpoll : NULL, &version, &removals) == CCOORD_OK) {
            pthread_mutex_lock(&n->mu);
            force = n->force_refresh;
            n->force_refresh = 0;
            changed = version != n->version;
            /* a node whose view is current but for joins (no member row
             * deleted since: the removals count is the same) reads only
             * the members that joined since; the leader reads them all
             * once an interval, with its heartbeat, to watch every
             * member's counter */
            incremental = changed && !force && n->views_ready && version > n->version &&
                          removals == n->removals &&
                          !(hb_tick && atomic_load(&n->leader_until));
            pthread_mutex_unlock(&n->mu);
            if (changed || force || (hb_tick && atomic_load(&n->leader_until))) {
                int rc = refresh_members(n, db, incremental, &joined);
                if (!rc && (changed || force))
                    rc = ccoord__refresh_tasks(n, db);
                pthread_mutex_lock(&n->mu);
                if (!rc) {
                    /* after a change, poll every quarter interval for an
                     * interval: a leave, an eviction or a task change is
                     * often followed by the leader's assignments.  Not
                     * after joins alone: they move no task, and while
                     * members join (a node a second in a cluster of
                     * hundreds) every node would poll four times as often
                     * as in the steady state */
                    if (changed && !joined)
                        n->fast_until_ns = ccoord__now_ns() + n->interval_ns;
                    n->version = version;
                    n->removals = removals;
                    n->views_ready = 1;
                } else {
                    n->force_refresh = 1;
                }
                pthread_mutex_unlock(&n->mu);
                if (rc) {
                    failed = 1;
                    db_trouble(n, db, "Reading the cluster state");
                }
            }
            ccoord__fire(n);
            if (ccoord__is_leader_now(n))
                ccoord__leader_step(n, db, changed || force);
        } else {
            failed = 1;
            db_trouble(n, db, "Polling the group");
        }
        ccoord__fire(n);

        /* Sleep until the next heartbeat or poll, the lease's end (so
         * REVOKED fires on time), or a wake-up. */
        now = ccoord__now_ns();
        poll_period = ccoord__is_leader_now(n) || now < n->fast_until_ns ? n->interval_ns / 4
                                                                         : n->interval_ns;
        next_poll = now + poll_period;
        deadline = min64(next_hb, next_poll);
        if (atomic_load(&n->lease_until) > now)
            deadline = min64(deadline, atomic_load(&n->lease_until));
        /* a refresh asked for during this loop runs at once, unless this
         * loop failed: then it waits for the next poll (no busy loop) */
        pthread_mutex_lock(&n->mu);
        if (n->force_refresh && !failed)
            deadline = now;
        pthread_mutex_unlock(&n->mu);
        wait_until(n, deadline);
    }
    return NULL;
}

/* The watchdog looks at the statements every eighth of the shorter
 * statement timeout (50 ms to 1 s): a hung statement is cut at most an
 * eighth of its timeout late.  A fixed 50 ms made every node's watchdog
 * wake 20 times a second, the bulk of a process's wake-ups with hundreds
 * of nodes in it (the scale benchmark). */
static int64_t watchdog_period(const ccoord_node *n)
{
    int64_t t = min64(n->bg_db.stmt_timeout_ns, n->api_db.stmt_timeout_ns) / 8;
    return t < 50000000 ? 50000000 : t > 1000000000 ? 1000000000 : t;
}

void *ccoord__watchdog_main(void *arg)
{
    ccoord_node *n = arg;
    struct timespec ts;
    int64_t period = watchdog_period(n);
    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        int64_t now = ccoord__now_ns();
        pthread_mutex_unlock(&n->mu);
        ccoord__db_watchdog(&n->bg_db, now);
        ccoord__db_watchdog(&n->api_db, now);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(period / 1000000000);
        ts.tv_nsec += (long)(period % 1000000000);
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&n->mu);
        if (!n->stop)
            pthread_cond_timedwait(&n->cond, &n->mu, &ts);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}
