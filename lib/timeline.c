/*
 * lib/timeline.c: a database that went back in time.
 *
 * The group version only grows: every transaction that changes members,
 * registrations, tasks or the leader's assignments bumps it.  A node that
 * reads a lower version than one it read before is looking at a database
 * that lost acknowledged commits; so is a node whose own heartbeat counter
 * (PostgreSQL returns it with each heartbeat) did not grow, which later
 * commits of other nodes cannot hide.  What those lost commits may have done,
 * and why the steps below keep the rules (libclustercoord(7), FAILOVER
 * AND LOST COMMITS, has the whole argument):
 *  - handed a task to this node with a fence the database no longer
 *    has: the database's epoch of that task is now at most the fence, so
 *    the next assignment would hand out a fence that is not larger.  The
 *    node raises the task's epoch to its fence + 1 and unassigns it, so
 *    the next assignment hands out a larger fence than any this node saw;
 *  - moved a task away from a node whose row the database still shows as
 *    its owner: that node would own it again at its next refresh while
 *    the lost timeline's owner still runs it.  Every node that read the
 *    lost versions stops owning at its next poll and owns nothing for a
 *    timeout and an interval, by when every such node has polled (each
 *    polls at least once an interval) and stopped as well;
 *  - elected a leader: the database shows an older one; this node steps
 *    down and cannot lead during the hold, so no resolution pass of the
 *    lost timeline's leader runs on the database of the new one.
 */
#include "timeline.h"

#include "leader.h"
#include "member.h"
#include "rows.h"
#include "task.h"

#include <inttypes.h>
#include <string.h>

typedef struct held {
    char *name;
    uint64_t fence;
} held;

/* The tasks this node holds, with their fences (mu held). */
static held *collect_held(ccoord_node *n, size_t *ret_count)
{
    size_t i = 0, k = 0, count = ccoord__map_count(n->owned);
    const char *name;
    void *v;
    held *h = ccoord__calloc(count + 1, sizeof *h);
    if (!h) {
        *ret_count = 0;
        return NULL;
    }
    while (ccoord__map_iter(n->owned, &i, &name, &v)) {
        const ccoord__owned *o = v;
        if (!o->granted || !(h[k].name = ccoord__strdup(name)))
            continue;
        h[k++].fence = o->fence;
    }
    *ret_count = k;
    return h;
}

/* Epoch of each task above the fence this node held, in one
 * transaction; the group version bumped so every node re-reads. */
static int raise_epochs(ccoord_node *n, ccoord__db *db, const held *h, size_t count)
{
    unsigned long long rows = 0, total = 0;
    size_t i;
    int rc = count ? ccoord__db_begin(db) : CCOORD_OK;
    for (i = 0; !rc && i < count; i++) {
        rc = ccoord__row_task_raise_epoch(db, h[i].name, h[i].fence, &rows);
        total += rows;
    }
    if (!rc && total)
        rc = ccoord__row_group_bump(db, 0);
    if (count && !rc)
        rc = ccoord__db_commit(db);
    else if (count)
        ccoord__db_rollback(db);
    if (rc)
        ccoord__log(n, CCOORD_LOG_ERROR,
                    "Could not raise the epochs of %zu task(s) above their last fences: %s; "
                    "their next assignment may reuse a fence", count, db->err);
    else if (total)
        ccoord__log(n, CCOORD_LOG_WARN,
                    "Raised the epoch of %llu task(s) above the fence this node held and "
                    "unassigned them", total);
    return rc;
}

/* Stops owning and leading, holds off, re-reads, raises the epochs; what
 * says how the loss showed (for the ERROR line). */
static void went_back(ccoord_node *n, ccoord__db *db, long long version, const char *what)
{
    held *h = NULL;
    size_t count = 0, i;
    int64_t now = ccoord__now_ns();
    ccoord__lock(n);
    n->version_high = version; /* the database's history from now on */
    h = collect_held(n, &count);
    ccoord__lease_drop(n);
    atomic_store(&n->hold_until, now + n->timeout_ns + n->interval_ns);
    ccoord__tasks_revoke_all(n);
    ccoord__leader_step_down_local(n);
    n->version = -1;
    n->removals = -1;
    n->views_ready = 0;
    ccoord__request_refresh_locked(n);
    ccoord__unlock(n);
    ccoord__log(n, CCOORD_LOG_ERROR,
                "The coordination database went back in time: %s (commits were lost: was a "
                "standby without them promoted?); node [%s] stopped owning its %zu task(s) and "
                "leading, owns nothing for %" PRId64 " ms and re-reads everything",
                what, n->id, count, (n->timeout_ns + n->interval_ns) / 1000000);
    raise_epochs(n, db, h, count);
    for (i = 0; h && i < count; i++)
        ccoord__free_mem(h[i].name);
    ccoord__free_mem(h);
}

int ccoord__timeline_check(ccoord_node *n, ccoord__db *db, long long version)
{
    long long high;
    char what[160];
    ccoord__lock(n);
    high = n->version_high;
    if (version >= high) {
        n->version_high = version;
        ccoord__unlock(n);
        return 0;
    }
    ccoord__unlock(n);
    ccoord__fmt(what, sizeof what, "group version %lld read, %lld read before", version, high);
    went_back(n, db, version, what);
    return 1;
}

void ccoord__timeline_lost_heartbeat(ccoord_node *n, ccoord__db *db, long long wrote,
                                     long long read, long long version)
{
    char what[200];
    ccoord__fmt(what, sizeof what,
                "this node's heartbeat counter is %lld, and it had written %lld (group version "
                "%lld)",
                read, wrote, version);
    went_back(n, db, version, what);
}
