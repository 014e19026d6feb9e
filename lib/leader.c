/*
 * lib/leader.c: leader election by compare-and-set on one row, eviction of
 * dead members, and task resolution through the resolver plugin.
 *
 * Every write made as leader runs in a transaction that first locks the
 * leader row and checks it still names this node and term, so a deposed
 * leader's late statement changes nothing.
 */
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ccoord__is_leader_now(const ccoord_node *n)
{
    int64_t until = atomic_load(&((ccoord_node *)n)->leader_until);
    return until && ccoord__now_ns() < until;
}

void ccoord__step_down_local(ccoord_node *n)
{
    if (!atomic_load(&n->leader_until))
        return;
    atomic_store(&n->leader_until, 0);
    n->leader_term = 0;
    ccoord__log(n, CCOORD_LOG_INFO, "Current node state changed from: COORDINATOR to: MEMBER");
}

static int where_group(ccoord__db *db, ccoord__buf *b, const ccoord_node *n)
{
    ccoord__buf_add(b, " WHERE group_id = ");
    return ccoord__q(db, b, n->s.group_id);
}

int ccoord__leader_takeover(ccoord_node *n, ccoord__db *db, const char *seen_node,
                            long long seen_term, long long seen_hb)
{
    ccoord__buf b;
    unsigned long long rows = 0;
    int64_t start = ccoord__now_ns();
    int rc;
    size_t i;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "UPDATE %sleader SET node_id = ", n->s.table_prefix);
    rc = ccoord__q(db, &b, n->id);
    ccoord__buf_add(&b, ", term = term + 1, heartbeat = 0");
    if (!rc)
        rc = where_group(db, &b, n);
    ccoord__buf_add(&b, " AND node_id = ");
    if (!rc)
        rc = ccoord__q(db, &b, seen_node);
    ccoord__buf_addf(&b, " AND term = %lld AND heartbeat = %lld", seen_term, seen_hb);
    if (!rc)
        rc = ccoord__db_exec_count(db, "take leadership", b.data, &rows);
    ccoord__buf_free(&b);
    if (rc || rows != 1)
        return rc ? rc : CCOORD_ENOTLEADER;
    pthread_mutex_lock(&n->mu);
    n->leader_term = seen_term + 1;
    atomic_store(&n->leader_until, start + n->lease_ns);
    n->leader_since_ns = ccoord__now_ns();
    /* Observe every member afresh: a new leader declares nobody dead
     * before it has watched its counter for the timeout itself.  The one
     * exception is its predecessor, whose member counter every follower
     * reads with the leader row: that past observation is as good as one
     * made now, so a dead leader is evicted without a second timeout. */
    for (i = 0; i < n->member_count; i++) {
        ccoord__member *m = &n->members[i];
        m->seen_ns = n->leader_since_ns;
        if (n->seen_lm_id && strcmp(m->id, n->seen_lm_id) == 0 && strcmp(m->id, n->id) != 0 &&
            m->incarnation == n->seen_lm_inc) {
            m->heartbeat = n->seen_lm_hb;
            m->seen_ns = n->seen_lm_ns;
        }
    }
    n->seen_leader_term = seen_term + 1;
    n->seen_leader_hb = 0;
    n->seen_leader_ns = n->leader_since_ns;
    if (strcmp(n->leader_id, n->id) != 0) {
        char *copy = ccoord__strdup(n->id);
        if (copy) {
            free(n->leader_id);
            n->leader_id = copy;
            ccoord__queue(n, 0, CCOORD_MEMBER_LEADER_CHANGED, n->id, 0);
        }
    }
    n->resolve_now = 1;
    n->force_refresh = 1;
    pthread_mutex_unlock(&n->mu);
    ccoord__log(n, CCOORD_LOG_INFO, "Current node state changed from: MEMBER to: COORDINATOR");
    return CCOORD_OK;
}

int ccoord__leader_check(ccoord_node *n, ccoord__db *db)
{
    ccoord__buf b;
    dbi_result r;
    int rc, ok;
    long long term = n->leader_term;
    if (!ccoord__is_leader_now(n))
        return CCOORD_ENOTLEADER;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT term FROM %sleader", n->s.table_prefix);
    rc = where_group(db, &b, n);
    ccoord__buf_add(&b, " AND node_id = ");
    if (!rc)
        rc = ccoord__q(db, &b, n->id);
    ccoord__buf_addf(&b, " AND term = %lld%s", term, ccoord__for_update(db->dialect));
    if (!rc)
        rc = ccoord__db_exec(db, "check leadership", b.data, &r);
    ccoord__buf_free(&b);
    if (rc)
        return rc;
    ok = dbi_result_next_row(r) ? 1 : 0;
    dbi_result_free(r);
    if (!ok) {
        ccoord__fmt(db->err, sizeof db->err, "leader row no longer holds node %s, term %lld",
                    n->id, term);
        return CCOORD_ENOTLEADER;
    }
    return CCOORD_OK;
}

/* Evicts one member by CAS on its heartbeat; un-assigns its tasks. */
static int evict(ccoord_node *n, ccoord__db *db, const char *id, long long inc, long long hb,
                 int64_t silent_ns)
{
    ccoord__buf b;
    unsigned long long rows = 0;
    const char *p = n->s.table_prefix;
    int rc;
    ccoord__buf_init(&b);
    rc = ccoord__db_begin(db);
    if (!rc)
        rc = ccoord__leader_check(n, db);
    if (!rc) {
        ccoord__buf_addf(&b, "DELETE FROM %smembers", p);
        rc = where_group(db, &b, n);
        ccoord__buf_add(&b, " AND node_id = ");
        if (!rc)
            rc = ccoord__q(db, &b, id);
        ccoord__buf_addf(&b, " AND incarnation = %lld AND heartbeat = %lld", inc, hb);
        if (!rc)
            rc = ccoord__db_exec_count(db, "evict member", b.data, &rows);
    }
    if (!rc && rows == 1) {
        ccoord__buf_reset(&b);
        ccoord__buf_addf(&b, "UPDATE %stasks SET owner = NULL, epoch = epoch + 1", p);
        rc = where_group(db, &b, n);
        ccoord__buf_add(&b, " AND owner = ");
        if (!rc)
            rc = ccoord__q(db, &b, id);
        if (!rc)
            rc = ccoord__db_exec(db, "un-assign tasks of evicted member", b.data, NULL);
        if (!rc) {
            ccoord__buf_reset(&b);
            ccoord__buf_addf(&b, "DELETE FROM %stask_nodes", p);
            rc = where_group(db, &b, n);
            ccoord__buf_add(&b, " AND node_id = ");
            if (!rc)
                rc = ccoord__q(db, &b, id);
            if (!rc)
                rc = ccoord__db_exec(db, "delete registrations of evicted member", b.data, NULL);
        }
        if (!rc)
            rc = ccoord__bump_version(db, n, 1);
    }
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    ccoord__buf_free(&b);
    if (!rc && rows == 1)
        ccoord__log(n, CCOORD_LOG_INFO, "Evicted member [%s]: no heartbeat for %lld ms", id,
                    (long long)(silent_ns / 1000000));
    return rc;
}

void ccoord__leader_step(ccoord_node *n, ccoord__db *db, int changed)
{
    int64_t now = ccoord__now_ns();
    int evicted = 0, due;
    size_t i, count = 0;
    struct victim {
        char *id;
        long long inc, hb;
        int64_t silent;
    } *v = NULL;

    /* Failure detection: a member whose counter has not moved for the
     * timeout, as observed by this leader since it took over. */
    pthread_mutex_lock(&n->mu);
    if (n->member_count) {
        v = ccoord__calloc(n->member_count, sizeof *v);
        for (i = 0; v && i < n->member_count; i++) {
            ccoord__member *m = &n->members[i];
            if (strcmp(m->id, n->id) == 0 || now - m->seen_ns < n->timeout_ns)
                continue;
            v[count].id = ccoord__strdup(m->id);
            v[count].inc = m->incarnation;
            v[count].hb = m->heartbeat;
            v[count].silent = now - m->seen_ns;
            if (v[count].id)
                count++;
        }
    }
    pthread_mutex_unlock(&n->mu);
    for (i = 0; i < count; i++) {
        if (ccoord__is_leader_now(n) &&
            evict(n, db, v[i].id, v[i].inc, v[i].hb, v[i].silent) == CCOORD_OK)
            evicted = 1;
        free(v[i].id);
    }
    free(v);

    pthread_mutex_lock(&n->mu);
    due = changed || evicted || n->resolve_now || now >= n->next_resolve_ns;
    n->resolve_now = 0;
    if (due)
        n->next_resolve_ns = now + n->s.resolving_period_s * 1000000000LL;
    pthread_mutex_unlock(&n->mu);
    if (due && ccoord__is_leader_now(n) && !atomic_load(&n->hold_resolution)) {
        unsigned long next = atomic_load(&n->passes) + 1;
        int cleanup = next % (unsigned long)n->s.resolving_frequency == 0;
        ccoord__resolve_pass(n, db, cleanup, NULL);
    }
    if (evicted) {
        pthread_mutex_lock(&n->mu);
        n->force_refresh = 1;
        pthread_mutex_unlock(&n->mu);
    }
}

/* ---- resolution ------------------------------------------------------ */

typedef struct pass {
    ccoord__batch_member *members;
    char **mids, **mhosts, **mmeta;
    size_t member_count;
    ccoord__batch_task *tasks;
    char **tnames;
    size_t task_count;
    size_t **can;      /* per task: member indexes (or all_members) */
    size_t *can_count, *can_cap;
    size_t *all_members; /* 0..member_count-1, shared by tasks every member registered */
    long *assign;
} pass;

static void pass_free(pass *p)
{
    size_t i;
    for (i = 0; i < p->member_count; i++) {
        free(p->mids[i]);
        free(p->mhosts[i]);
        free(p->mmeta[i]);
    }
    for (i = 0; i < p->task_count; i++) {
        free(p->tnames[i]);
        if (p->can && p->can[i] != p->all_members)
            free(p->can[i]);
    }
    free(p->members);
    free(p->mids);
    free(p->mhosts);
    free(p->mmeta);
    free(p->tasks);
    free(p->tnames);
    free(p->can);
    free(p->can_count);
    free(p->can_cap);
    free(p->all_members);
    free(p->assign);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

#define CAN_CHUNK 500

/* Appends the live members' ids, quoted, comma-separated. */
static int add_members(ccoord__db *db, ccoord__buf *b, const pass *ps)
{
    size_t m;
    int rc = CCOORD_OK;
    for (m = 0; !rc && m < ps->member_count; m++) {
        if (m)
            ccoord__buf_add(b, ", ");
        rc = ccoord__q(db, b, ps->mids[m]);
    }
    return rc;
}

/* One kind of registration read for the pass's unassigned tasks, in
 * chunks of CAN_CHUNK names.  counts: per task, how many of its
 * registrations are of live members; a task whose count is every live
 * member gets ps->all_members, one with a smaller non-zero count keeps
 * that count in can_cap (can stays NULL) for the pairs read.  !counts:
 * "SELECT name, node_id" for those tasks only. */
static int read_can_run(ccoord_node *n, ccoord__db *db, pass *ps, ccoord__map *tidx,
                        ccoord__map *midx, int counts)
{
    ccoord__buf b;
    dbi_result r;
    size_t i = 0;
    int rc = CCOORD_OK;
    const char *p = n->s.table_prefix;
    ccoord__buf_init(&b);
    while (!rc && i < ps->task_count) {
        size_t in_chunk = 0;
        ccoord__buf_reset(&b);
        if (counts && db->dialect == CCOORD__SQLITE) {
            /* SQLite: the filter in WHERE (SQLite probes the primary key
             * with both lists).  The derived-table form below makes
             * libdbd-sqlite3 leak a string per statement while it guesses
             * the column types. */
            ccoord__buf_addf(&b, "SELECT name, COUNT(*) FROM %stask_nodes", p);
        } else if (counts) {
            /* the live-member test is in the select list, not in WHERE:
             * there PostgreSQL trades the primary key lookup by name for
             * the node_id index and scans the whole table (130 ms a chunk
             * against 24 ms).  In a derived table, so that the outer
             * select list stays short. */
            ccoord__buf_add(&b, "SELECT name, SUM(live) AS n FROM (SELECT name, CASE WHEN node_id IN (");
            rc = add_members(db, &b, ps);
            ccoord__buf_addf(&b, ") THEN 1 ELSE 0 END AS live FROM %stask_nodes", p);
        } else {
            ccoord__buf_addf(&b, "SELECT name, node_id FROM %stask_nodes", p);
        }
        if (!rc)
            rc = where_group(db, &b, n);
        ccoord__buf_add(&b, " AND name IN (");
        for (; !rc && i < ps->task_count && in_chunk < CAN_CHUNK; i++) {
            if (!counts && (ps->can[i] || ps->can_cap[i] == 0))
                continue;
            if (in_chunk++)
                ccoord__buf_add(&b, ", ");
            rc = ccoord__q(db, &b, ps->tnames[i]);
        }
        if (counts && db->dialect == CCOORD__SQLITE) {
            ccoord__buf_add(&b, ") AND node_id IN (");
            if (!rc)
                rc = add_members(db, &b, ps);
            ccoord__buf_add(&b, ") GROUP BY name");
        } else {
            ccoord__buf_add(&b, counts ? ")) AS r GROUP BY name" : ")");
        }
        if (rc || in_chunk == 0)
            break;
        rc = b.oom ? CCOORD_ENOMEM
                   : ccoord__db_exec(db, counts ? "count task registrations"
                                                : "read task registrations", b.data, &r);
        if (rc)
            break;
        while (dbi_result_next_row(r)) {
            const char *tn = ccoord__res_str(r, 1);
            uintptr_t t = tn ? (uintptr_t)ccoord__map_get(tidx, tn) : 0;
            size_t ti;
            if (!t)
                continue;
            ti = t - 1;
            if (counts) {
                long long c = ccoord__res_ll(r, 2);
                if (c >= (long long)ps->member_count) {
                    ps->can[ti] = ps->all_members;
                    ps->can_count[ti] = ps->can_cap[ti] = ps->member_count;
                } else if (c > 0) {
                    ps->can_cap[ti] = (size_t)c;
                }
            } else {
                const char *nid = ccoord__res_str(r, 2);
                uintptr_t mi = nid ? (uintptr_t)ccoord__map_get(midx, nid) : 0;
                if (!mi || ps->can[ti] == ps->all_members)
                    continue;
                if (!ps->can[ti] || ps->can_count[ti] == ps->can_cap[ti]) {
                    /* the count is exact unless a registration came between
                     * the two reads: then grow */
                    size_t ncap = ps->can[ti] ? ps->can_cap[ti] * 2 : ps->can_cap[ti];
                    size_t *x = ccoord__realloc(ps->can[ti], ncap * sizeof *x);
                    if (!x) {
                        rc = CCOORD_ENOMEM;
                        break;
                    }
                    ps->can[ti] = x;
                    ps->can_cap[ti] = ncap;
                }
                ps->can[ti][ps->can_count[ti]++] = mi - 1;
            }
        }
        dbi_result_free(r);
    }
    ccoord__buf_free(&b);
    return rc;
}

/* Reads members (join order), unassigned tasks, who can run them, loads. */
static int read_batch(ccoord_node *n, ccoord__db *db, pass *ps, const char *exclude)
{
    ccoord__buf b;
    dbi_result r;
    int rc;
    size_t cap = 0, i;
    ccoord__map *midx = NULL, *tidx = NULL;
    const char *p = n->s.table_prefix;
    ccoord__buf_init(&b);

    /* unassigned ACTIVE tasks */
    ccoord__buf_addf(&b, "SELECT name FROM %stasks", p);
    rc = where_group(db, &b, n);
    ccoord__buf_add(&b, " AND owner IS NULL AND state = 'ACTIVE' ORDER BY name");
    if (!rc)
        rc = ccoord__db_exec(db, "read unassigned tasks", b.data, &r);
    if (rc)
        goto out;
    while (dbi_result_next_row(r)) {
        const char *name = ccoord__res_str(r, 1);
        if (ps->task_count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **x = ccoord__realloc(ps->tnames, ncap * sizeof *x);
            if (!x) {
                rc = CCOORD_ENOMEM;
                break;
            }
            ps->tnames = x;
            cap = ncap;
        }
        ps->tnames[ps->task_count] = ccoord__strdup(name ? name : "");
        if (!ps->tnames[ps->task_count]) {
            rc = CCOORD_ENOMEM;
            break;
        }
        ps->task_count++;
    }
    dbi_result_free(r);
    if (rc || ps->task_count == 0)
        goto out;

    /* live members in join order */
    ccoord__buf_reset(&b);
    ccoord__buf_addf(&b, "SELECT node_id, hostname, metadata FROM %smembers", p);
    rc = where_group(db, &b, n);
    ccoord__buf_add(&b, " ORDER BY joined_seq, node_id");
    if (!rc)
        rc = ccoord__db_exec(db, "read members", b.data, &r);
    if (rc)
        goto out;
    cap = 0;
    while (dbi_result_next_row(r)) {
        const char *id = ccoord__res_str(r, 1), *h = ccoord__res_str(r, 2),
                   *md = ccoord__res_str(r, 3);
        if (exclude && id && strcmp(id, exclude) == 0)
            continue;
        if (ps->member_count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **a = ccoord__realloc(ps->mids, ncap * sizeof *a);
            if (a)
                ps->mids = a;
            char **bb = a ? ccoord__realloc(ps->mhosts, ncap * sizeof *bb) : NULL;
            if (bb)
                ps->mhosts = bb;
            char **c = bb ? ccoord__realloc(ps->mmeta, ncap * sizeof *c) : NULL;
            if (c)
                ps->mmeta = c;
            if (!a || !bb || !c) {
                rc = CCOORD_ENOMEM;
                break;
            }
            cap = ncap;
        }
        ps->mids[ps->member_count] = ccoord__strdup(id ? id : "");
        ps->mhosts[ps->member_count] = ccoord__strdup(h ? h : "");
        ps->mmeta[ps->member_count] = ccoord__strdup(md ? md : "");
        ps->member_count++;
        if (!ps->mids[ps->member_count - 1] || !ps->mhosts[ps->member_count - 1] ||
            !ps->mmeta[ps->member_count - 1]) {
            rc = CCOORD_ENOMEM;
            break;
        }
    }
    dbi_result_free(r);
    if (rc)
        goto out;
    ps->members = ccoord__calloc(ps->member_count + 1, sizeof *ps->members);
    ps->tasks = ccoord__calloc(ps->task_count, sizeof *ps->tasks);
    ps->can = ccoord__calloc(ps->task_count, sizeof *ps->can);
    ps->can_count = ccoord__calloc(ps->task_count, sizeof *ps->can_count);
    ps->can_cap = ccoord__calloc(ps->task_count, sizeof *ps->can_cap);
    ps->assign = ccoord__calloc(ps->task_count, sizeof *ps->assign);
    midx = ccoord__map_new();
    tidx = ccoord__map_new();
    if (!ps->members || !ps->tasks || !ps->can || !ps->can_count || !ps->can_cap ||
        !ps->assign || !midx || !tidx) {
        rc = CCOORD_ENOMEM;
        goto out;
    }
    for (i = 0; i < ps->member_count; i++) {
        ps->members[i].id = ps->mids[i];
        ps->members[i].hostname = ps->mhosts[i];
        ps->members[i].metadata = ps->mmeta[i];
        if (ccoord__map_put(midx, ps->mids[i], (void *)(uintptr_t)(i + 1), NULL)) {
            rc = CCOORD_ENOMEM;
            goto out;
        }
    }
    for (i = 0; i < ps->task_count; i++)
        if (ccoord__map_put(tidx, ps->tnames[i], (void *)(uintptr_t)(i + 1), NULL)) {
            rc = CCOORD_ENOMEM;
            goto out;
        }

    /* loads */
    ccoord__buf_reset(&b);
    ccoord__buf_addf(&b, "SELECT owner, COUNT(*) FROM %stasks", p);
    rc = where_group(db, &b, n);
    ccoord__buf_add(&b, " AND owner IS NOT NULL GROUP BY owner");
    if (!rc)
        rc = ccoord__db_exec(db, "read task counts", b.data, &r);
    if (rc)
        goto out;
    while (dbi_result_next_row(r)) {
        const char *o = ccoord__res_str(r, 1);
        uintptr_t m = o ? (uintptr_t)ccoord__map_get(midx, o) : 0;
        if (m)
            ps->members[m - 1].load = (size_t)ccoord__res_ll(r, 2);
    }
    dbi_result_free(r);

    /* Who can run what.  First, per chunk of names, how many of the live
     * members registered each task (counted by the server): a task every
     * member registered shares one "all members" list, so the common case
     * (every node registers the same tasks) moves one row per task instead
     * of one per task and member.  The pairs are then read only for the
     * tasks some members did not register.  Both are lookups by the
     * task_nodes primary key (no join, so no plan that depends on table
     * statistics). */
    ps->all_members = ccoord__calloc(ps->member_count + 1, sizeof *ps->all_members);
    if (!ps->all_members) {
        rc = CCOORD_ENOMEM;
        goto out;
    }
    for (i = 0; i < ps->member_count; i++)
        ps->all_members[i] = i;
    if (ps->member_count)
        rc = read_can_run(n, db, ps, tidx, midx, 1);
    if (!rc)
        rc = read_can_run(n, db, ps, tidx, midx, 0);
    if (rc)
        goto out;
    for (i = 0; i < ps->task_count; i++) {
        if (ps->can_count[i] > 1 && ps->can[i] != ps->all_members)
            qsort(ps->can[i], ps->can_count[i], sizeof(size_t), cmp_size);
        ps->tasks[i].name = ps->tnames[i];
        ps->tasks[i].can_run = ps->can[i];
        ps->tasks[i].can_run_count = ps->can_count[i];
    }
out:
    ccoord__map_free(midx, NULL);
    ccoord__map_free(tidx, NULL);
    ccoord__buf_free(&b);
    return rc;
}

static int cleanup_tx(ccoord_node *n, ccoord__db *db)
{
    ccoord__buf b;
    unsigned long long a = 0, c = 0;
    const char *p = n->s.table_prefix;
    int rc;
    ccoord__buf_init(&b);
    rc = ccoord__db_begin(db);
    if (!rc)
        rc = ccoord__leader_check(n, db);
    if (!rc) {
        ccoord__buf_addf(&b, "UPDATE %stasks SET owner = NULL, epoch = epoch + 1", p);
        rc = where_group(db, &b, n);
        ccoord__buf_addf(&b, " AND owner IS NOT NULL AND owner NOT IN (SELECT node_id FROM "
                             "%smembers WHERE group_id = ", p);
        if (!rc)
            rc = ccoord__q(db, &b, n->s.group_id);
        ccoord__buf_add(&b, ")");
        if (!rc)
            rc = ccoord__db_exec_count(db, "un-assign tasks of non-members", b.data, &a);
    }
    if (!rc) {
        ccoord__buf_reset(&b);
        ccoord__buf_addf(&b, "DELETE FROM %stask_nodes", p);
        rc = where_group(db, &b, n);
        ccoord__buf_addf(&b, " AND node_id NOT IN (SELECT node_id FROM %smembers WHERE "
                             "group_id = ", p);
        if (!rc)
            rc = ccoord__q(db, &b, n->s.group_id);
        ccoord__buf_add(&b, ")");
        if (!rc)
            rc = ccoord__db_exec_count(db, "delete registrations of non-members", b.data, &c);
    }
    if (!rc && (a || c))
        rc = ccoord__bump_version(db, n, 0);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    ccoord__buf_free(&b);
    if (!rc && (a || c))
        ccoord__log(n, CCOORD_LOG_INFO,
                    "Cleanup: %llu task(s) of departed nodes un-assigned, %llu stale "
                    "registration(s) deleted", a, c);
    return rc;
}

#define CHUNK 200

/* Writes the placements: per member, chunks of names as one CAS UPDATE
 * (owner IS NULL AND state = 'ACTIVE'), after locking the member rows so
 * a member leaving at the same time sees (and releases) what it got. */
static int write_pass(ccoord_node *n, ccoord__db *db, pass *ps, size_t *ret_written)
{
    ccoord__buf b;
    const char *p = n->s.table_prefix;
    int rc;
    size_t m, t, written = 0;
    unsigned char *present = NULL;
    dbi_result r;
    ccoord__buf_init(&b);
    present = ccoord__calloc(ps->member_count + 1, 1);
    if (!present)
        return CCOORD_ENOMEM;
    rc = ccoord__db_begin(db);
    if (!rc)
        rc = ccoord__leader_check(n, db);
    if (!rc) {
        ccoord__buf_addf(&b, "SELECT node_id FROM %smembers", p);
        rc = where_group(db, &b, n);
        ccoord__buf_add(&b, ccoord__for_update(db->dialect));
        if (!rc)
            rc = ccoord__db_exec(db, "lock members", b.data, &r);
        if (!rc) {
            while (dbi_result_next_row(r)) {
                const char *id = ccoord__res_str(r, 1);
                for (m = 0; id && m < ps->member_count; m++)
                    if (strcmp(ps->mids[m], id) == 0)
                        present[m] = 1;
            }
            dbi_result_free(r);
        }
    }
    for (m = 0; !rc && m < ps->member_count; m++) {
        size_t in_chunk = 0;
        if (!present[m])
            continue;
        for (t = 0; !rc && t <= ps->task_count; t++) {
            int flush = t == ps->task_count || in_chunk == CHUNK;
            if (flush && in_chunk) {
                unsigned long long rows = 0;
                ccoord__buf_add(&b, ")");
                rc = b.oom ? CCOORD_ENOMEM
                           : ccoord__db_exec_count(db, "assign tasks", b.data, &rows);
                written += (size_t)rows;
                in_chunk = 0;
            }
            if (rc || t == ps->task_count)
                break;
            if (ps->assign[t] != (long)m)
                continue;
            if (in_chunk == 0) {
                ccoord__buf_reset(&b);
                ccoord__buf_addf(&b, "UPDATE %stasks SET owner = ", p);
                rc = ccoord__q(db, &b, ps->mids[m]);
                ccoord__buf_add(&b, ", epoch = epoch + 1");
                if (!rc)
                    rc = where_group(db, &b, n);
                ccoord__buf_add(&b, " AND owner IS NULL AND state = 'ACTIVE' AND name IN (");
            } else {
                ccoord__buf_add(&b, ", ");
            }
            if (!rc)
                rc = ccoord__q(db, &b, ps->tnames[t]);
            in_chunk++;
        }
    }
    if (!rc && written)
        rc = ccoord__bump_version(db, n, 0);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    free(present);
    ccoord__buf_free(&b);
    if (!rc)
        *ret_written = written;
    return rc;
}

int ccoord__resolve_pass(ccoord_node *n, ccoord__db *db, int cleanup, const char *exclude)
{
    pass ps;
    int rc;
    size_t written = 0;
    char err[512];
    if (!ccoord__is_leader_now(n))
        return CCOORD_ENOTLEADER;
    pthread_mutex_lock(&n->resolve_mu);
    memset(&ps, 0, sizeof ps);
    rc = cleanup ? cleanup_tx(n, db) : CCOORD_OK;
    if (!rc)
        rc = read_batch(n, db, &ps, exclude);
    if (!rc && ps.task_count && ps.member_count) {
        rc = ccoord__resolver_run(n->resolver, ps.members, ps.member_count, ps.tasks,
                                  ps.task_count, ps.assign, err, sizeof err);
        if (rc) {
            ccoord__fmt(db->err, sizeof db->err, "resolver %s: %s",
                        ccoord__resolver_name(n->resolver), err);
            ccoord__log(n, CCOORD_LOG_ERROR, "Task resolution failed: %s", db->err);
        } else {
            rc = write_pass(n, db, &ps, &written);
        }
    }
    atomic_fetch_add(&n->passes, 1);
    pthread_mutex_unlock(&n->resolve_mu);
    if (!rc && written) {
        ccoord__log(n, CCOORD_LOG_DEBUG, "Resolved %zu of %zu unassigned task(s) with resolver %s",
                    written, ps.task_count, ccoord__resolver_name(n->resolver));
        pthread_mutex_lock(&n->mu);
        n->force_refresh = 1;
        pthread_mutex_unlock(&n->mu);
    }
    pass_free(&ps);
    return rc;
}
