/*
 * lib/member.c: floor 6, this node's member row (join, heartbeat, the
 * lease it grants) and its view of the other members (the list, the diff
 * that makes ADDED and REMOVED events, the observation of each member's
 * counter that the leader's failure detection reads).
 *
 * Time: every duration here is measured on this node's CLOCK_BOOTTIME and
 * never compared with another node's clock or the database's.
 */
#include "member.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- join ------------------------------------------------------------ */

/* Another row has this node id: a live process or a dead one's leftover.
 * Watches its counter for the timeout.  Returns 1 when the row is still
 * there unchanged (take it over; *ret_hb is the counter to compare with), 0 when it went away, CCOORD_EDUPNODE
 * when its heartbeat moved, or another negative status.
 *
 * One move alone proves nothing: the last heartbeat of a process killed
 * while its statement was in flight can commit afterwards (a stalled
 * server, a Galera member that orders it late).  So a move of one starts
 * the watch again from the new value; a live process moves once more
 * within that timeout, a dead one never does.  Two moves (*moved counts
 * the first, across the join's attempts), or a new incarnation (another
 * process took the row), are a live process. */
static int watch_row(ccoord_node *n, ccoord__db *db, long long inc, long long *ret_hb,
                     int *moved)
{
    int64_t t0 = ccoord__now_ns(), began = t0;
    long long hb = *ret_hb, inc2 = inc, hb2 = hb, hb0 = hb;
    char host[300];
    int still = 1;
    ccoord__log(n, CCOORD_LOG_INFO,
                "Node id [%s] has a member row already; watching its heartbeat for %lld ms",
                n->id, (long long)(n->timeout_ns / 1000000));
    for (;;) {
        int64_t left = n->timeout_ns - (ccoord__now_ns() - t0);
        int64_t step = n->interval_ns / 2;
        if (left <= 0)
            break;
        /* the last look falls on the timeout, not up to a step past it */
        step = step > 5000000 ? step : 5000000;
        ccoord__sleep_ns(step < left ? step : left);
        still = ccoord__row_member_get(db, n->id, &inc2, &hb2, host, sizeof host);
        if (still <= 0)
            return still;
        if (inc2 == inc && hb2 == hb)
            continue;
        if (inc2 == inc && hb2 == hb + 1 && !*moved) {
            ccoord__log(n, CCOORD_LOG_INFO,
                        "Node id [%s]: its row's heartbeat moved once (%lld to %lld); watching "
                        "it for another %lld ms",
                        n->id, hb, hb2, (long long)(n->timeout_ns / 1000000));
            *moved = 1;
            hb = *ret_hb = hb2; /* what the takeover compares with */
            t0 = ccoord__now_ns();
            continue;
        }
        ccoord__fmt(db->err, sizeof db->err,
                    "node id [%s] is in use by a live member of group %s (on host %s: its "
                    "heartbeat moved from %lld to %lld within %lld ms); give each node its "
                    "own cluster_config.node_id",
                    n->id, n->s.group_id, host, hb0, hb2,
                    (long long)((ccoord__now_ns() - began) / 1000000));
        return CCOORD_EDUPNODE;
    }
    return 1;
}

/* One transaction: a join sequence (the group version, bumped), then the
 * row inserted, or taken over by compare-and-set with the tasks of the
 * dead process released (a new epoch: its fences are stale).  *ret_rows
 * is the rows written (a takeover that lost its CAS writes 0, and the
 * transaction is rolled back). */
static int write_member_tx(ccoord_node *n, ccoord__db *db, int takeover, long long old_inc,
                           long long old_hb, unsigned long long *ret_rows)
{
    long long seq = 0;
    int rc = ccoord__db_begin(db);
    *ret_rows = 1;
    if (!rc)
        rc = ccoord__row_group_bump(db, 0);
    if (!rc)
        rc = ccoord__row_group_version(db, &seq);
    if (!rc && !takeover)
        rc = ccoord__row_member_insert(db, n->id, n->incarnation, n->hostname, seq);
    if (!rc && takeover)
        rc = ccoord__row_member_takeover(db, n->id, n->incarnation, n->hostname, seq, old_inc,
                                         old_hb, ret_rows);
    if (!rc && takeover && *ret_rows == 1)
        rc = ccoord__row_tasks_release(db, n->id, NULL, NULL);
    if (!rc && *ret_rows == 1)
        return ccoord__db_commit(db);
    ccoord__db_rollback(db);
    return rc;
}

int ccoord__member_join(ccoord_node *n, ccoord__db *db)
{
    int attempt, moved = 0, rc = ccoord__row_group_create(db);
    char host[300];
    for (attempt = 0; !rc && attempt < 5; attempt++) {
        long long inc = 0, hb = 0;
        unsigned long long rows = 0;
        int64_t start;
        int found, takeover = 0;
        n->incarnation = (long long)(ccoord__random_u64() >> 2) + 1;
        n->hb_wrote = -1;
        found = ccoord__row_member_get(db, n->id, &inc, &hb, host, sizeof host);
        if (found > 0)
            found = watch_row(n, db, inc, &hb, &moved);
        if (found < 0)
            return found;
        takeover = found;
        start = ccoord__now_ns();
        rc = write_member_tx(n, db, takeover, inc, hb, &rows);
        if (!rc && rows != 1) {
            /* The row changed between the watch and the takeover.  Gone
             * (the leader evicted the dead process meanwhile): insert.
             * Moved by one, the first move: perhaps a dead process's late
             * heartbeat (see watch_row), watch it again.  Else another
             * process renewed or took it. */
            long long hb3 = hb, inc3 = inc;
            found = ccoord__row_member_get(db, n->id, &inc3, &hb3, host, sizeof host);
            if (found < 0)
                return found;
            if (!found)
                continue;
            if (inc3 == inc && hb3 == hb + 1 && !moved) {
                moved = 1;
                continue;
            }
            ccoord__fmt(db->err, sizeof db->err,
                        "node id [%s] is in use: its member row changed while taking it over "
                        "(heartbeat %lld to %lld)", n->id, hb, hb3);
            return CCOORD_EDUPNODE;
        }
        if (rc == CCOORD_OK) {
            atomic_store(&n->lease_until, start + n->lease_ns);
            if (takeover)
                ccoord__log(n, CCOORD_LOG_INFO,
                            "Took over the member row of node id [%s] from a process that "
                            "stopped heartbeating", n->id);
            return CCOORD_OK;
        }
        if (rc == CCOORD_ENOMEM)
            return rc;
        /* an insert that lost a race with another process: look again */
        rc = !db->conn && ccoord__db_connect(db, 1) != CCOORD_OK ? CCOORD_EDB : CCOORD_OK;
    }
    return rc ? rc : CCOORD_EDB;
}

/* ---- heartbeat and lease ------------------------------------------------ */

int ccoord__member_heartbeat(ccoord_node *n, ccoord__db *db, ccoord__poll *poll, int *evicted,
                            long long *ret_lost_hb)
{
    unsigned long long rows = 0;
    int64_t start = ccoord__now_ns();
    int rc = ccoord__row_heartbeat(db, n->id, n->incarnation, poll, &rows);
    *evicted = 0;
    *ret_lost_hb = -1;
    if (rc)
        return rc;
    if (rows == 0) {
        *evicted = 1;
        return CCOORD_OK;
    }
    /* only this node writes its counter: one that did not grow means the
     * database lost heartbeats it had acknowledged (no lease then) */
    if (poll->have && poll->own_hb >= 0) {
        long long before = n->hb_wrote;
        n->hb_wrote = poll->own_hb;
        if (before >= 0 && poll->own_hb <= before) {
            *ret_lost_hb = before;
            return CCOORD_OK;
        }
    }
    /* no lease while timeline.c holds off after lost commits */
    if (start >= atomic_load(&n->hold_until))
        atomic_store(&n->lease_until, start + n->lease_ns);
    return CCOORD_OK;
}

int ccoord__lease_valid(ccoord_node *n, int64_t now)
{
    return now < atomic_load(&n->lease_until);
}

void ccoord__lease_drop(ccoord_node *n)
{
    atomic_store(&n->lease_until, 0);
}

/* ---- the view ----------------------------------------------------------- */

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

/* Queues and logs a member event about another node (mu held). */
static void member_event(ccoord_node *n, int event, const char *id)
{
    if (strcmp(id, n->id) == 0)
        return;
    ccoord__queue(n, CCOORD__EV_MEMBER, event, id, 0);
    ccoord__log_locked(n, CCOORD_LOG_INFO, "Member %s [%s]",
                       event == CCOORD_MEMBER_ADDED ? "added" : "removed", id);
}

/* Room for count members in the view (mu held). */
static int reserve_view(ccoord_node *n, size_t count)
{
    size_t cap;
    ccoord__member *x;
    if (count <= n->member_cap)
        return CCOORD_OK;
    cap = n->member_cap * 2 > count ? n->member_cap * 2 : count + 16;
    if (!(x = ccoord__realloc(n->members, cap * sizeof *x)))
        return CCOORD_ENOMEM;
    n->members = x;
    n->member_cap = cap;
    return CCOORD_OK;
}

/* Removes from the view the older incarnations of ids in add (a rejoin):
 * REMOVED for each; the new row comes at the end (join order). */
static void drop_rejoined(ccoord_node *n, const ccoord__member *add, size_t nadd)
{
    size_t i, j, k = 0;
    for (j = 0; j < n->member_count; j++) {
        ccoord__member *o = &n->members[j];
        for (i = 0; i < nadd; i++)
            if (strcmp(o->id, add[i].id) == 0)
                break;
        if (i < nadd) {
            member_event(n, CCOORD_MEMBER_REMOVED, o->id);
            free(o->id);
            free(o->hostname);
            free(o->metadata);
            continue;
        }
        n->members[k++] = *o;
    }
    n->member_count = k;
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
    size_t i, j, present = 0;
    /* a linear search per new row: new rows are few (one per join), and
     * an index of the view would cost as much to keep as the search */
    for (i = 0; i < nadd; i++)
        for (j = 0; j < n->member_count; j++)
            if (strcmp(n->members[j].id, add[i].id) == 0) {
                present++;
                break;
            }
    if (reserve_view(n, n->member_count - present + nadd) != CCOORD_OK)
        return CCOORD_ENOMEM;
    if (present)
        drop_rejoined(n, add, nadd);
    for (i = 0; i < nadd; i++) {
        ccoord__member *m = &n->members[n->member_count++];
        *m = add[i];
        m->seen_ns = now;
        member_event(n, CCOORD_MEMBER_ADDED, m->id);
    }
    free(add);
    return CCOORD_OK;
}

/* Replaces the view with the whole list nm (mu held): REMOVED for the
 * members gone, ADDED for the new ones; a member whose counter has not
 * moved keeps the time it was first seen with that value.  Takes nm. */
static int replace_view(ccoord_node *n, ccoord__member *nm, size_t count, int64_t now)
{
    ccoord__map *new_ix = index_members(nm, count), *old_ix;
    size_t i;
    /* The diff goes through hash indexes: with hundreds of members a
     * linear search per member made every refresh O(members^2) on each
     * node, which saturated the CPU while members joined (bench scale). */
    old_ix = new_ix ? index_members(n->members, n->member_count) : NULL;
    if (!old_ix) {
        ccoord__map_free(new_ix, NULL);
        ccoord__members_free(nm, count);
        return CCOORD_ENOMEM;
    }
    for (i = 0; i < n->member_count; i++) {
        ccoord__member *o = &n->members[i];
        if (find_member(new_ix, nm, o->id, o->incarnation) < 0)
            member_event(n, CCOORD_MEMBER_REMOVED, o->id);
    }
    for (i = 0; i < count; i++) {
        long j = find_member(old_ix, n->members, nm[i].id, nm[i].incarnation);
        nm[i].seen_ns = j >= 0 && n->members[j].heartbeat == nm[i].heartbeat
                            ? n->members[j].seen_ns : now;
        if (j < 0)
            member_event(n, CCOORD_MEMBER_ADDED, nm[i].id);
    }
    ccoord__members_free(n->members, n->member_count);
    n->members = nm;
    n->member_count = count;
    n->member_cap = count;
    ccoord__map_free(old_ix, NULL);
    ccoord__map_free(new_ix, NULL);
    return CCOORD_OK;
}

int ccoord__members_refresh(ccoord_node *n, ccoord__db *db, int incremental, int *joined)
{
    ccoord__member *nm = NULL;
    size_t count = 0, i;
    long long since = -1;
    int rc;
    *joined = 0;
    if (incremental) {
        /* only this thread changes n->members: the view is still the one
         * since is taken from when the rows are applied */
        since = 0;
        ccoord__lock(n);
        for (i = 0; i < n->member_count; i++)
            if (n->members[i].joined_seq > since)
                since = n->members[i].joined_seq;
        ccoord__unlock(n);
    }
    rc = ccoord__row_members_read(db, since, &nm, &count);
    if (rc)
        return rc;
    atomic_fetch_add(&n->member_rows, (unsigned long)count);
    ccoord__lock(n);
    if (incremental) {
        rc = apply_new_members(n, nm, count, ccoord__now_ns());
        *joined = rc == CCOORD_OK && count > 0;
    } else {
        /* a full read also says whether this node is drained (a drain
         * counts as a removal, so every node reads in full) */
        n->drained = 0;
        for (i = 0; i < count; i++)
            if (nm[i].drained && strcmp(nm[i].id, n->id) == 0)
                n->drained = 1;
        rc = replace_view(n, nm, count, ccoord__now_ns());
        nm = NULL;
    }
    ccoord__unlock(n);
    if (rc && nm)
        ccoord__members_free(nm, count);
    return rc;
}

void ccoord__members_clear(ccoord_node *n)
{
    ccoord__members_free(n->members, n->member_count);
    n->members = NULL;
    n->member_count = 0;
    n->member_cap = 0;
    n->version = -1;
    n->removals = -1;
}

void ccoord__members_observe_afresh(ccoord_node *n, int64_t now, const char *prev_id,
                                    long long prev_inc, long long prev_hb, int64_t prev_ns)
{
    size_t i;
    for (i = 0; i < n->member_count; i++) {
        ccoord__member *m = &n->members[i];
        m->seen_ns = now;
        if (prev_id && strcmp(m->id, prev_id) == 0 && strcmp(m->id, n->id) != 0 &&
            m->incarnation == prev_inc) {
            m->heartbeat = prev_hb;
            m->seen_ns = prev_ns;
        }
    }
}

int64_t ccoord__seen_after_gap(int64_t seen_ns, int64_t gap_ns, int64_t now)
{
    return seen_ns + gap_ns < now ? seen_ns + gap_ns : now;
}

void ccoord__members_unwatched(ccoord_node *n, int64_t now, int64_t gap_ns)
{
    size_t i;
    for (i = 0; i < n->member_count; i++)
        n->members[i].seen_ns = ccoord__seen_after_gap(n->members[i].seen_ns, gap_ns, now);
}

int ccoord__members_silent(ccoord_node *n, int64_t now, ccoord__silent **ret, size_t *ret_count)
{
    ccoord__silent *v;
    size_t i, count = 0;
    *ret = NULL;
    *ret_count = 0;
    ccoord__lock(n);
    v = n->member_count ? ccoord__calloc(n->member_count, sizeof *v) : NULL;
    for (i = 0; v && i < n->member_count; i++) {
        ccoord__member *m = &n->members[i];
        if (strcmp(m->id, n->id) == 0 || now - m->seen_ns < n->timeout_ns)
            continue;
        if (!(v[count].id = ccoord__strdup(m->id)))
            continue;
        v[count].inc = m->incarnation;
        v[count].hb = m->heartbeat;
        v[count].silent_ns = now - m->seen_ns;
        count++;
    }
    ccoord__unlock(n);
    if (n->member_count && !v)
        return CCOORD_ENOMEM;
    *ret = v;
    *ret_count = count;
    return CCOORD_OK;
}

void ccoord__silent_free(ccoord__silent *v, size_t count)
{
    size_t i;
    for (i = 0; v && i < count; i++)
        free(v[i].id);
    free(v);
}
