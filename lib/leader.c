/*
 * lib/leader.c: floor 7, leadership: election by compare-and-set on the
 * leader row, renewal, observing the leader from the poll, step-down, and
 * failure detection with eviction of dead members.
 *
 * Every write made as leader runs in a transaction that first locks the
 * leader row and checks it still names this node and term
 * (ccoord__leader_check), so a deposed leader's late statement changes
 * nothing.
 */
#include "leader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ccoord__leader_step_down_local(ccoord_node *n)
{
    if (!atomic_load(&n->leader_until))
        return;
    atomic_store(&n->leader_until, 0);
    n->leader_term = 0;
    ccoord__log_locked(n, CCOORD_LOG_INFO,
                       "Current node state changed from: COORDINATOR to: MEMBER");
}

void ccoord__leader_lease_check(ccoord_node *n, int64_t now)
{
    int64_t until = atomic_load(&n->leader_until);
    if (until && now >= until)
        ccoord__leader_step_down_local(n);
}

/* Records lnode as the leader as read; LEADER_CHANGED when it differs
 * (mu held). */
static void set_leader_id(ccoord_node *n, const char *lnode)
{
    char *copy;
    if (strcmp(lnode, n->leader_id ? n->leader_id : "") == 0 || !(copy = ccoord__strdup(lnode)))
        return;
    free(n->leader_id);
    n->leader_id = copy;
    ccoord__queue(n, CCOORD__EV_MEMBER, CCOORD_MEMBER_LEADER_CHANGED, lnode, 0);
}

/* The leader row is now this node's, term seen_term + 1 (mu held). */
static void became_leader(ccoord_node *n, long long seen_term, int64_t start)
{
    n->leader_term = seen_term + 1;
    atomic_store(&n->leader_until, start + n->lease_ns);
    n->leader_since_ns = ccoord__now_ns();
    /* Observe every member afresh: a new leader declares nobody dead
     * before it has watched its counter for the timeout itself.  The one
     * exception is its predecessor (see ccoord__members_observe_afresh). */
    ccoord__members_observe_afresh(n, n->leader_since_ns, n->seen_lm_id, n->seen_lm_inc,
                                   n->seen_lm_hb, n->seen_lm_ns);
    n->seen_leader_term = seen_term + 1;
    n->seen_leader_hb = 0;
    n->seen_leader_ns = n->leader_since_ns;
    set_leader_id(n, n->id);
    n->resolve_now = 1;
    ccoord__request_refresh_locked(n);
    ccoord__log_locked(n, CCOORD_LOG_INFO,
                       "Current node state changed from: MEMBER to: COORDINATOR");
}

int ccoord__leader_takeover(ccoord_node *n, ccoord__db *db, const char *seen_node,
                            long long seen_term, long long seen_hb)
{
    unsigned long long rows = 0;
    int64_t start = ccoord__now_ns();
    int rc = ccoord__row_leader_take(db, n->id, seen_node, seen_term, seen_hb, &rows);
    if (rc || rows != 1)
        return rc ? rc : CCOORD_ENOTLEADER;
    ccoord__lock(n);
    became_leader(n, seen_term, start);
    ccoord__unlock(n);
    return CCOORD_OK;
}

int ccoord__leader_renew(ccoord_node *n, ccoord__db *db, int64_t start)
{
    unsigned long long rows = 0;
    long long term;
    int rc;
    ccoord__lock(n);
    term = n->leader_term;
    ccoord__unlock(n);
    rc = ccoord__row_leader_renew(db, n->id, term, &rows);
    if (rc)
        return rc;
    ccoord__lock(n);
    if (rows == 1 && n->leader_term == term && atomic_load(&n->leader_until))
        atomic_store(&n->leader_until, start + n->lease_ns);
    else
        ccoord__leader_step_down_local(n);
    ccoord__unlock(n);
    return CCOORD_OK;
}

int ccoord__leader_check(ccoord_node *n, ccoord__db *db)
{
    long long term;
    int rc, holds = 0;
    /* the term is the background thread's to write: read it under mu,
     * since resolution also runs on API threads */
    ccoord__lock(n);
    term = n->leader_term;
    ccoord__unlock(n);
    if (!ccoord__is_leader_now(n))
        return CCOORD_ENOTLEADER;
    rc = ccoord__row_leader_lock(db, n->id, term, &holds);
    if (rc)
        return rc;
    if (!holds) {
        ccoord__fmt(db->err, sizeof db->err, "leader row no longer holds node %s, term %lld",
                    n->id, term);
        return CCOORD_ENOTLEADER;
    }
    return CCOORD_OK;
}

/* Records what the poll says of the leader row and of the leader's
 * member row; steps down when the row no longer names this node and
 * term (mu held). */
static void note_leader(ccoord_node *n, const ccoord__poll *pr, int64_t now)
{
    set_leader_id(n, pr->lnode);
    if (pr->lterm != n->seen_leader_term || pr->lhb != n->seen_leader_hb) {
        n->seen_leader_term = pr->lterm;
        n->seen_leader_hb = pr->lhb;
        n->seen_leader_ns = now;
    }
    if (!n->seen_lm_id || strcmp(n->seen_lm_id, pr->lnode) != 0 ||
        pr->lminc != n->seen_lm_inc || pr->lmhb != n->seen_lm_hb) {
        char *copy = ccoord__strdup(pr->lnode);
        if (copy) {
            free(n->seen_lm_id);
            n->seen_lm_id = copy;
            n->seen_lm_inc = pr->lminc;
            n->seen_lm_hb = pr->lmhb;
            n->seen_lm_ns = now;
        }
    }
    if (atomic_load(&n->leader_until) &&
        (strcmp(pr->lnode, n->id) != 0 || pr->lterm != n->leader_term))
        ccoord__leader_step_down_local(n);
}

void ccoord__leader_unwatched(ccoord_node *n, int64_t now, int64_t gap_ns)
{
    ccoord__lock(n);
    n->seen_leader_ns = ccoord__seen_after_gap(n->seen_leader_ns, gap_ns, now);
    n->seen_lm_ns = ccoord__seen_after_gap(n->seen_lm_ns, gap_ns, now);
    ccoord__members_unwatched(n, now, gap_ns);
    ccoord__unlock(n);
}

int ccoord__leader_observe(ccoord_node *n, ccoord__db *db, const ccoord__poll *pr)
{
    int64_t now = ccoord__now_ns();
    int vacant, stale_self, lapsed;
    ccoord__lock(n);
    note_leader(n, pr, now);
    lapsed = now - n->seen_leader_ns >= n->timeout_ns;
    ccoord__unlock(n);
    if (atomic_load(&n->leader_until) || !ccoord__lease_valid(n, now))
        return CCOORD_OK;
    vacant = pr->lnode[0] == '\0';
    stale_self = strcmp(pr->lnode, n->id) == 0;
    if (vacant || stale_self || lapsed)
        ccoord__leader_takeover(n, db, pr->lnode, pr->lterm, pr->lhb);
    return CCOORD_OK;
}

/* Evicts one member by compare-and-set on its heartbeat, in one
 * transaction with its tasks released and its registrations deleted.
 * *ret_evicted = 1 when the row was deleted. */
static int evict(ccoord_node *n, ccoord__db *db, const ccoord__silent *v, int *ret_evicted)
{
    unsigned long long rows = 0;
    int rc = ccoord__db_begin(db);
    if (!rc)
        rc = ccoord__leader_check(n, db);
    if (!rc)
        rc = ccoord__row_member_delete(db, v->id, v->inc, v->hb, &rows);
    if (!rc && rows == 1)
        rc = ccoord__row_tasks_release(db, v->id, NULL, NULL);
    if (!rc && rows == 1)
        rc = ccoord__row_registrations_delete(db, v->id, NULL);
    if (!rc && rows == 1)
        rc = ccoord__row_group_bump(db, 1);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    *ret_evicted = !rc && rows == 1;
    if (*ret_evicted) {
        ccoord__count(&n->stats.evictions);
        ccoord__log(n, CCOORD_LOG_INFO, "Evicted member [%s]: no heartbeat for %lld ms", v->id,
                    (long long)(v->silent_ns / 1000000));
    }
    return rc;
}

int ccoord__leader_evict_dead(ccoord_node *n, ccoord__db *db)
{
    ccoord__silent *v;
    size_t i, count;
    int evicted = 0;
    if (ccoord__members_silent(n, ccoord__now_ns(), &v, &count) != CCOORD_OK)
        return 0;
    for (i = 0; i < count; i++) {
        int one = 0;
        if (ccoord__is_leader_now(n))
            evict(n, db, &v[i], &one);
        evicted += one;
    }
    ccoord__silent_free(v, count);
    if (evicted)
        ccoord__request_refresh(n);
    return evicted;
}

void ccoord__leader_vacate(ccoord_node *n, ccoord__db *db, long long term)
{
    if (ccoord__row_leader_vacate(db, n->id, term) != CCOORD_OK)
        return;
    if (ccoord__db_begin(db) != CCOORD_OK)
        return;
    if (ccoord__row_group_bump(db, 0) == CCOORD_OK)
        ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
}
