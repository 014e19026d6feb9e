/*
 * lib/loop.c: floor 9, the node's background threads.  The background
 * thread runs one step after another, each calling one subsystem:
 *
 *   leases      task.c and leader.c: revoke / step down once a lease lapsed
 *   rejoin      member.c, task.c: after an eviction, a fresh member row
 *   heartbeat   member.c (and leader.c's renewal) once an interval
 *   poll        the group row; leader.c observes the leader row
 *   refresh     member.c's view and task.c's ownership, when the group moved
 *   leader      leader.c evicts the dead, resolve.c places tasks when due
 *   sleep       until the next heartbeat, poll, lease end or wake-up
 *
 * It never runs host code: events go to the dispatcher (core.c).  The
 * watchdog thread cuts statements that run past their deadline.
 */
#include "loop.h"

#include "timeline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* A failed statement of the background thread: one WARN line per 5 s. */
static void db_trouble(ccoord_node *n, ccoord__db *db, const char *what)
{
    int64_t now = ccoord__now_ns();
    if (now >= n->log_db_error_ns) {
        ccoord__log(n, CCOORD_LOG_WARN, "%s failed: %s (retrying)", what, db->err);
        n->log_db_error_ns = now + 5000000000LL;
    } else {
        ccoord__log(n, CCOORD_LOG_DEBUG, "%s failed: %s (retrying)", what, db->err);
    }
}

/* Sleeps until deadline (CLOCK_BOOTTIME), a wake-up or stop. */
static void wait_until(ccoord_node *n, int64_t deadline)
{
    struct timespec ts;
    int64_t delta = deadline - ccoord__now_ns();
    if (delta <= 0)
        return;
    ccoord__mono_after(delta, &ts);
    pthread_mutex_lock(&n->mu);
    while (!n->stop && !n->wake) {
        if (pthread_cond_timedwait(&n->cond, &n->mu, &ts) != 0)
            break;
    }
    n->wake = 0;
    pthread_mutex_unlock(&n->mu);
}

typedef struct loop_state {
    int64_t next_hb;
    int need_rejoin;
    int hb_tick;       /* this step heartbeated */
    ccoord__poll poll; /* what the heartbeat's statement polled, or the poll */
    int failed;        /* a statement of this step failed */
    int64_t read_ns;   /* when the last poll succeeded */
} loop_state;

/* ---- the steps ----------------------------------------------------------- */

static void step_leases(ccoord_node *n)
{
    int64_t now = ccoord__now_ns();
    ccoord__lock(n);
    ccoord__tasks_lease_check(n, now);
    ccoord__leader_lease_check(n, now);
    ccoord__unlock(n);
}

/* After an eviction: a fresh member row and the registrations.  0 when
 * joined, -1 to wait an interval and try again. */
static int step_rejoin(ccoord_node *n, ccoord__db *db, loop_state *ls)
{
    int rc = ccoord__member_join(n, db);
    if (!rc)
        rc = ccoord__tasks_write_registrations(n, db);
    if (rc) {
        db_trouble(n, db, "Rejoin");
        return -1;
    }
    ls->need_rejoin = 0;
    ccoord__log(n, CCOORD_LOG_INFO, "Successfully joined the cluster with id [%s]", n->id);
    ccoord__request_refresh(n);
    return 0;
}

/* The member row was deleted: stop owning and leading at once, tell the
 * host, and rejoin. */
static void evicted(ccoord_node *n, loop_state *ls)
{
    ccoord__count(&n->stats.self_evictions);
    ccoord__lock(n);
    ccoord__lease_drop(n);
    ccoord__tasks_revoke_all(n);
    ccoord__leader_step_down_local(n);
    ccoord__queue(n, CCOORD__EV_MEMBER, CCOORD_MEMBER_SELF_EVICTED, n->id, 0);
    ccoord__request_refresh_locked(n);
    ccoord__unlock(n);
    ccoord__log(n, CCOORD_LOG_WARN,
                "Node [%s] was removed from the cluster (missed heartbeats); rejoining", n->id);
    ls->need_rejoin = 1;
}

/* The heartbeat, when due.  -1 when the node was evicted (the step ends). */
static int step_heartbeat(ccoord_node *n, ccoord__db *db, loop_state *ls, int64_t now)
{
    int64_t start = ccoord__now_ns();
    int gone = 0;
    long long lost_hb = -1;
    ls->hb_tick = 0;
    ls->poll.have = 0;
    if (now < ls->next_hb)
        return 0;
    ls->hb_tick = 1;
    ls->next_hb += n->interval_ns;
    if (ls->next_hb <= now)
        ls->next_hb = now + n->interval_ns;
    ccoord__count(&n->stats.heartbeats);
    if (ccoord__member_heartbeat(n, db, &ls->poll, &gone, &lost_hb) != CCOORD_OK) {
        ccoord__count(&n->stats.heartbeat_failures);
        ls->poll.have = 0;
        db_trouble(n, db, "Heartbeat");
        return 0;
    }
    ccoord__hist_observe(&n->stats.heartbeat, ccoord__now_ns() - start);
    if (gone) {
        evicted(n, ls);
        return -1;
    }
    if (lost_hb >= 0) {
        ccoord__timeline_lost_heartbeat(n, db, lost_hb, ls->poll.own_hb, ls->poll.version);
        return 0;
    }
    ccoord__tasks_after_heartbeat(n);
    if (atomic_load(&n->leader_until) && ccoord__leader_renew(n, db, start) != CCOORD_OK)
        db_trouble(n, db, "Leader renewal");
    return 0;
}

/* The poll (unless the heartbeat's statement carried it) and what it
 * says of the leader. */
static int step_poll(ccoord_node *n, ccoord__db *db, loop_state *ls)
{
    int rc = ls->hb_tick && ls->poll.have ? CCOORD_OK : ccoord__row_poll(db, &ls->poll);
    int64_t now = ccoord__now_ns();
    if (rc)
        return rc;
    /* reads come at least once an interval: a longer gap is time this
     * node did not watch (its own outage, partition or stop); after one
     * of a whole timeout it watches everybody for a timeout afresh */
    if (ls->read_ns && now - ls->read_ns > n->interval_ns)
        ccoord__leader_unwatched(n, now,
                                 now - ls->read_ns >= n->timeout_ns
                                     ? now
                                     : now - ls->read_ns - n->interval_ns);
    ls->read_ns = now;
    if (ls->poll.group_missing) {
        ccoord__fmt(db->err, sizeof db->err, "group row of %s is missing", n->s.group_id);
        return CCOORD_EDB;
    }
    if (!ls->poll.have_leader_row)
        return ccoord__row_group_create(db);
    /* lost commits: the node stopped owning and leading; this loop's
     * refresh re-reads everything */
    if (ccoord__timeline_check(n, db, ls->poll.version))
        return CCOORD_OK;
    return ccoord__leader_observe(n, db, &ls->poll);
}

/* Re-reads members and tasks when the group version moved or a refresh
 * was asked for (and the leader's whole member list once an interval, to
 * watch every counter).  Returns 1 when the group changed. */
static int step_refresh(ccoord_node *n, ccoord__db *db, loop_state *ls)
{
    long long version = ls->poll.version, removals = ls->poll.removals;
    int force = ccoord__take_refresh(n), changed, incremental, joined = 0, rc;
    int leader_tick = ls->hb_tick && atomic_load(&n->leader_until);
    ccoord__lock(n);
    changed = version != n->version;
    /* a node whose view is current but for joins (no member row deleted
     * since: the removals count is the same) reads only the members that
     * joined since */
    incremental = changed && !force && n->views_ready && version > n->version &&
                  removals == n->removals && !leader_tick;
    ccoord__unlock(n);
    if (!changed && !force && !leader_tick)
        return 0;
    rc = ccoord__members_refresh(n, db, incremental, &joined);
    if (!rc && (changed || force))
        rc = ccoord__tasks_refresh(n, db);
    ccoord__lock(n);
    if (!rc) {
        /* after a change, poll every quarter interval for an interval: a
         * leave, an eviction or a task change is often followed by the
         * leader's assignments.  Not after joins alone: they move no
         * task, and while members join every node would poll four times
         * as often as in the steady state */
        if (changed && !joined)
            n->fast_until_ns = ccoord__now_ns() + n->interval_ns;
        n->version = version;
        n->removals = removals;
        n->views_ready = 1;
    } else {
        ccoord__request_refresh_locked(n);
    }
    ccoord__unlock(n);
    if (rc) {
        ls->failed = 1;
        db_trouble(n, db, "Reading the cluster state");
    }
    return changed || force;
}

static void step_leader(ccoord_node *n, ccoord__db *db, int changed)
{
    int evicted_any;
    if (!ccoord__is_leader_now(n))
        return;
    evicted_any = ccoord__leader_evict_dead(n, db);
    ccoord__resolve_if_due(n, changed || evicted_any);
}

/* Sleeps until the next heartbeat or poll, the lease's end (so REVOKED
 * is queued on time), or a wake-up. */
static void step_sleep(ccoord_node *n, loop_state *ls)
{
    int64_t now = ccoord__now_ns(), deadline, lease = atomic_load(&n->lease_until);
    int64_t period = ccoord__is_leader_now(n) || now < n->fast_until_ns ? n->interval_ns / 4
                                                                       : n->interval_ns;
    deadline = min64(ls->next_hb, now + period);
    if (lease > now)
        deadline = min64(deadline, lease);
    /* a refresh asked for during this loop runs at once, unless this loop
     * failed: then it waits for the next poll (no busy loop) */
    pthread_mutex_lock(&n->mu);
    if (n->force_refresh && !ls->failed)
        deadline = now;
    pthread_mutex_unlock(&n->mu);
    wait_until(n, deadline);
}

static int stopping(ccoord_node *n)
{
    int s;
    pthread_mutex_lock(&n->mu);
    s = n->stop;
    pthread_mutex_unlock(&n->mu);
    return s;
}

static void *loop_main(void *arg)
{
    ccoord_node *n = arg;
    ccoord__db *db = &n->bg_db;
    loop_state ls;
    memset(&ls, 0, sizeof ls);
    ls.next_hb = ccoord__now_ns();
    while (!stopping(n)) {
        if (atomic_load(&n->frozen)) {
            wait_until(n, ccoord__now_ns() + 5000000);
            continue;
        }
        ls.failed = 0;
        step_leases(n);
        if (ls.need_rejoin && step_rejoin(n, db, &ls) < 0) {
            wait_until(n, ccoord__now_ns() + n->interval_ns);
            continue;
        }
        if (step_heartbeat(n, db, &ls, ccoord__now_ns()) < 0)
            continue;
        if (step_poll(n, db, &ls) == CCOORD_OK) {
            step_leader(n, db, step_refresh(n, db, &ls));
        } else {
            ls.failed = 1;
            db_trouble(n, db, "Polling the group");
        }
        step_sleep(n, &ls);
    }
    return NULL;
}

/* ---- the watchdog -------------------------------------------------------- */

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

static void *watchdog_main(void *arg)
{
    ccoord_node *n = arg;
    struct timespec ts;
    int64_t period = watchdog_period(n);
    pthread_mutex_lock(&n->mu);
    while (!n->wd_stop) {
        int64_t now = ccoord__now_ns();
        pthread_mutex_unlock(&n->mu);
        ccoord__db_watchdog(&n->bg_db, now);
        ccoord__db_watchdog(&n->api_db, now);
        ccoord__mono_after(period, &ts);
        pthread_mutex_lock(&n->mu);
        if (!n->wd_stop)
            pthread_cond_timedwait(&n->cond, &n->mu, &ts);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* ---- starting and stopping ----------------------------------------------- */

int ccoord__loop_start(ccoord_node *n)
{
    pthread_mutex_lock(&n->mu);
    n->stop = n->wd_stop = 0;
    pthread_mutex_unlock(&n->mu);
    ccoord__db_reopen(&n->bg_db);
    if (pthread_create(&n->wd_thread, NULL, watchdog_main, n) == 0)
        n->wd_running = 1;
    if (pthread_create(&n->thread, NULL, loop_main, n) != 0) {
        ccoord__loop_stop(n);
        return CCOORD_ENOMEM;
    }
    n->thread_running = 1;
    return CCOORD_OK;
}

/* The background thread first: its statement in flight is cut and its
 * connection refuses further work (a partitioned server would hold each
 * statement for its timeout, the join for ever); the watchdog keeps
 * watching the API connection, on which ccoord_leave then writes. */
void ccoord__loop_stop_background(ccoord_node *n)
{
    pthread_mutex_lock(&n->mu);
    n->stop = 1;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
    if (n->thread_running) {
        ccoord__db_abort(&n->bg_db);
        pthread_join(n->thread, NULL);
        n->thread_running = 0;
    }
    /* a transaction the refused statements left open (its ROLLBACK was
     * refused too) ends with the connection: on SQLite it held the file's
     * write lock, and leave's own transaction waited it out */
    ccoord__db_disconnect(&n->bg_db);
    ccoord__db_reopen(&n->bg_db);
}

void ccoord__loop_stop(ccoord_node *n)
{
    ccoord__loop_stop_background(n);
    pthread_mutex_lock(&n->mu);
    n->wd_stop = 1;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
    if (n->wd_running) {
        pthread_join(n->wd_thread, NULL);
        n->wd_running = 0;
    }
    pthread_mutex_lock(&n->mu);
    n->stop = n->wd_stop = 0;
    pthread_mutex_unlock(&n->mu);
}
