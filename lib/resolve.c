/*
 * lib/resolve.c: floor 8, one resolution pass: read the batch (batch.c),
 * run the resolver plugin, place the tasks being moved on their target,
 * write the placements by compare-and-set under the leader check, every
 * resolving_frequency-th pass clean up what departed nodes left, and with
 * [task_handling] rebalance = on ask the plugin which placed tasks should
 * move and start those moves.  Also when a pass is due, and
 * ccoord_resolve_tasks().
 */
#include "resolve.h"

#include "batch.h"
#include "job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ------------------------------------------------------------ */

static int cleanup_tx(ccoord_node *n, ccoord__db *db)
{
    unsigned long long a = 0, c = 0;
    int rc = ccoord__db_begin(db);
    if (!rc)
        rc = ccoord__leader_check(n, db);
    if (!rc)
        rc = ccoord__row_tasks_release_departed(db, &a);
    if (!rc)
        rc = ccoord__row_registrations_delete_departed(db, &c);
    if (!rc && (a || c))
        rc = ccoord__row_group_bump(db, 0);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    if (!rc && (a || c))
        ccoord__log(n, CCOORD_LOG_INFO,
                    "Cleanup: %llu task(s) of departed nodes un-assigned, %llu stale "
                    "registration(s) deleted", a, c);
    return rc;
}

#define CHUNK 200

/* Locks the member rows (so a member leaving or drained at the same time
 * sees, and releases, what it got) and marks the batch's members still
 * present and not drained. */
static int lock_members(ccoord__db *db, const ccoord__batch *ps, unsigned char *present)
{
    dbi_result r;
    int rc = ccoord__row_members_lock(db, &r);
    if (rc)
        return rc;
    while (dbi_result_next_row(r)) {
        long m = ccoord__batch_member_index(ps, ccoord__res_str(r, 1));
        if (m >= 0 && !ccoord__res_ll(r, 2))
            present[m] = 1; /* not drained since the batch was read */
    }
    dbi_result_free(r);
    return CCOORD_OK;
}

/* The placements on member m, CHUNK names a statement. */
static int assign_member(ccoord__db *db, const ccoord__batch *ps, size_t m, const char **chunk,
                         size_t *written)
{
    size_t t, k = 0;
    int rc = CCOORD_OK;
    for (t = 0; !rc && t <= ps->task_count; t++) {
        if (k && (t == ps->task_count || k == CHUNK)) {
            unsigned long long rows = 0;
            rc = ccoord__row_tasks_assign(db, ps->mids[m], chunk, k, &rows);
            *written += (size_t)rows;
            k = 0;
        }
        if (t < ps->task_count && ps->assign[t] == (long)m)
            chunk[k++] = ps->tnames[t];
    }
    return rc;
}

/* Writes the placements in one transaction under the leader check: per
 * member, chunks of names as one compare-and-set UPDATE (owner IS NULL
 * AND state = 'ACTIVE'). */
static int write_pass(ccoord_node *n, ccoord__db *db, ccoord__batch *ps, size_t *ret_written)
{
    size_t m, written = 0;
    unsigned char *present = ccoord__calloc(ps->member_count + 1, 1);
    const char **chunk = ccoord__calloc(CHUNK, sizeof *chunk);
    int rc = present && chunk ? ccoord__db_begin(db) : CCOORD_ENOMEM;
    if (!rc)
        rc = ccoord__leader_check(n, db);
    if (!rc)
        ccoord__test_in_tx(n, "leader row locked");
    if (!rc)
        rc = lock_members(db, ps, present);
    if (!rc)
        ccoord__test_in_tx(n, "member rows locked");
    for (m = 0; !rc && m < ps->member_count; m++)
        if (present[m])
            rc = assign_member(db, ps, m, chunk, &written);
    if (!rc && written)
        rc = ccoord__row_group_bump(db, 0);
    if (!rc)
        rc = ccoord__db_commit(db);
    else if (present && chunk)
        ccoord__db_rollback(db);
    free(present);
    free(chunk);
    if (!rc)
        *ret_written = written;
    return rc;
}

/* ---- a pass, on a thread of its own ---------------------------------------- */

/* One pass runs on a job thread (job.c) from start to end: it reads the
 * batch and writes the placements on the API connection (api_mu held for
 * each of those two steps only) and runs the plugin in between with no
 * lock held.  So neither a plugin that sleeps or loops nor the pass's
 * round trips to a distant database hold up the background thread's
 * heartbeat, and leave and ccoord_node_free() stop waiting for a pass
 * after a bound.  gate lets ccoord__resolve_stop() give a pass up: after
 * that it touches the node no more. */
typedef struct run {
    ccoord__batch ps;
    ccoord__batch rb; /* rebalancing: the placed tasks */
    ccoord_node *n;
    ccoord__resolver *r;
    char *exclude;
    int cleanup;
    pthread_mutex_t gate;
    int abandoned; /* gate */
    int rc;
    size_t written;
    long budget;   /* rebalancing: moves it may start */
    char err[512]; /* when rc */
} run;

static void run_free(run *ru)
{
    ccoord__batch_free(&ru->ps);
    ccoord__batch_free(&ru->rb);
    pthread_mutex_destroy(&ru->gate);
    free(ru->exclude);
    free(ru);
}

/* 1 with the gate held, or 0: the node gave the pass up. */
static int gate_enter(run *ru)
{
    pthread_mutex_lock(&ru->gate);
    if (!ru->abandoned)
        return 1;
    pthread_mutex_unlock(&ru->gate);
    return 0;
}

/* Runs fn on the API connection while this node leads (gate held, api_mu
 * taken for fn only), so that neither a plugin nor a slow database holds
 * the lock between the reads and writes of a pass; db->err into ru->err
 * on failure. */
static int on_api(run *ru, int (*fn)(run *, ccoord__db *))
{
    ccoord_node *n = ru->n;
    ccoord__db *db = &n->api_db;
    int rc;
    pthread_mutex_lock(&n->api_mu);
    rc = ccoord__is_leader_now(n) ? fn(ru, db) : CCOORD_ENOTLEADER;
    if (rc)
        ccoord__fmt(ru->err, sizeof ru->err, "%s", db->err);
    pthread_mutex_unlock(&n->api_mu);
    return rc;
}

/* The cleanup when due, then the batch of unassigned tasks. */
static int read_unassigned(run *ru, ccoord__db *db)
{
    int rc = ru->cleanup ? cleanup_tx(ru->n, db) : CCOORD_OK;
    return rc ? rc : ccoord__batch_read(db, &ru->ps, 0, ru->exclude);
}

/* The placements, by compare-and-set under the leader check: a batch
 * read long ago places nothing on a member that left or a task placed
 * since. */
static int write_placements(run *ru, ccoord__db *db)
{
    return write_pass(ru->n, db, &ru->ps, &ru->written);
}

/* Tasks being moved (ccoordctl move, rebalancing) go to their target
 * when it is in the batch and registered them; otherwise where the
 * resolver put them (the placement clears move_to either way). */
static void place_moves(ccoord_node *n, ccoord__batch *ps)
{
    size_t t;
    for (t = 0; t < ps->task_count; t++) {
        const char *to = ps->place[t].move_to;
        long m = ccoord__batch_member_index(ps, to);
        if (!to)
            continue;
        if (ccoord__batch_can_run(ps, t, m))
            ps->assign[t] = m;
        else
            ccoord__log(n, CCOORD_LOG_WARN,
                        "Task [%s][%s] was being moved to node %s, which is not a live, "
                        "undrained member that registered it; the resolver places it",
                        n->s.task_group, ps->tnames[t], to);
    }
}

/* Placing the unassigned tasks: the plugin's resolve(), the moves, the
 * write (gate held on return, or 0 when the node gave the pass up). */
static int resolve_batch(run *ru, int *rc)
{
    ccoord_node *n = ru->n;
    char err[512];
    *rc = ccoord__resolver_run(ru->r, ru->ps.members, ru->ps.member_count, ru->ps.tasks,
                               ru->ps.task_count, ru->ps.assign, err, sizeof err);
    if (!gate_enter(ru))
        return 0;
    if (*rc) {
        ccoord__fmt(ru->err, sizeof ru->err, "resolver %s: %s", ccoord__resolver_name(ru->r),
                    err);
        ccoord__log(n, CCOORD_LOG_ERROR, "Task resolution failed: %s", ru->err);
        return 1;
    }
    place_moves(n, &ru->ps);
    *rc = on_api(ru, write_placements);
    if (!*rc && ru->written) {
        ccoord__log(n, CCOORD_LOG_DEBUG, "Resolved %zu of %zu unassigned task(s) with resolver %s",
                    ru->written, ru->ps.task_count, ccoord__resolver_name(ru->r));
        ccoord__request_refresh(n);
    }
    return 1;
}

/* ---- rebalancing ---------------------------------------------------------- */

/* The batch of placed tasks. */
static int read_placed(run *ru, ccoord__db *db)
{
    return ccoord__batch_read(db, &ru->rb, 1, NULL);
}

/* Starts up to ru->budget of the moves the plugin asked for, each by
 * compare-and-set on the owner and epoch read, in one transaction under
 * the leader check. */
static int rebalance_write(run *ru, ccoord__db *db)
{
    ccoord_node *n = ru->n;
    ccoord__batch *b = &ru->rb;
    long budget = ru->budget;
    size_t t, started = 0;
    int rc = ccoord__db_begin(db);
    if (!rc)
        rc = ccoord__leader_check(n, db);
    for (t = 0; !rc && t < b->task_count && (long)started < budget; t++) {
        unsigned long long rows = 0;
        long m = b->assign[t]; /* assign() placed only on members that can run it */
        if (m < 0 || b->tasks[t].owner < 0)
            continue;
        rc = ccoord__row_task_move(db, b->tnames[t], b->mids[m], b->place[t].owner,
                                   b->place[t].epoch, &rows);
        if (!rc && rows) {
            started++;
            ccoord__log(n, CCOORD_LOG_INFO, "Rebalancing: task [%s][%s] moves from node %s to "
                        "node %s", n->s.task_group, b->tnames[t], b->place[t].owner, b->mids[m]);
        }
    }
    if (!rc && started)
        rc = ccoord__row_group_bump(db, 0);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    return rc;
}

/* With rebalance = on, after the placements: the plugin's rebalance()
 * over the placed tasks, while fewer than rebalance_batch moves are in
 * flight.  Returns like resolve_batch (gate held on 1). */
static int rebalance(run *ru, int *rc)
{
    ccoord_node *n = ru->n;
    ccoord__batch *b = &ru->rb;
    char err[512];
    size_t t;
    ru->budget = n->s.rebalance_batch;
    *rc = on_api(ru, read_placed);
    for (t = 0; !*rc && t < b->task_count; t++)
        if (b->place[t].move_to)
            ru->budget--;
    if (*rc || ru->budget <= 0 || b->member_count < 2)
        return 1;
    pthread_mutex_unlock(&ru->gate);
    *rc = ccoord__resolver_rebalance(ru->r, b->members, b->member_count, b->tasks, b->task_count,
                                     b->assign, err, sizeof err);
    if (!gate_enter(ru))
        return 0;
    if (*rc) {
        ccoord__fmt(ru->err, sizeof ru->err, "resolver %s: %s", ccoord__resolver_name(ru->r),
                    err);
        ccoord__log(n, CCOORD_LOG_ERROR, "Rebalancing failed: %s", ru->err);
        return 1;
    }
    *rc = on_api(ru, rebalance_write);
    return 1;
}

static void run_pass(void *arg)
{
    run *ru = arg;
    ccoord_node *n = ru->n;
    int rc;
    int64_t start = ccoord__now_ns();
    if (!gate_enter(ru))
        return;
    rc = on_api(ru, read_unassigned);
    if (!rc && ru->ps.task_count && ru->ps.member_count) {
        pthread_mutex_unlock(&ru->gate);
        if (!resolve_batch(ru, &rc))
            return;
    }
    if (!rc && n->s.rebalance && !rebalance(ru, &rc))
        return;
    pthread_mutex_unlock(&ru->gate);
    ru->rc = rc;
    ccoord__hist_observe(&n->stats.resolution, ccoord__now_ns() - start);
    atomic_fetch_add(&n->passes, 1);
}

/* A pass its node gave up on returned at last: the resolver ends with it. */
static void run_orphan(void *arg)
{
    run *ru = arg;
    ccoord__resolver_unload(ru->r);
    run_free(ru);
}

static void wake_node(void *ctx)
{
    ccoord__wake(ctx);
}

/* How long the pass in flight has run, in ms (resolve_mu held). */
static long long rjob_ms(const ccoord_node *n)
{
    return (long long)((ccoord__now_ns() - ccoord__job_started_ns(n->rjob)) / 1000000);
}

/* A pass is due once the one in flight, or the API's, is done (the
 * background thread does not wait for either). */
static void resolve_later(ccoord_node *n)
{
    ccoord__lock(n);
    n->resolve_now = 1;
    ccoord__unlock(n);
}

/* Starts a pass (resolve_mu held, none running). */
static int start_pass(ccoord_node *n, int cleanup, const char *exclude, char *err, size_t errlen)
{
    run *ru = ccoord__calloc(1, sizeof *ru);
    if (!ru || (exclude && !(ru->exclude = ccoord__strdup(exclude)))) {
        free(ru);
        ccoord__fmt(err, errlen, "out of memory");
        return CCOORD_ENOMEM;
    }
    ru->n = n;
    ru->r = n->resolver;
    ru->cleanup = cleanup;
    pthread_mutex_init(&ru->gate, NULL);
    if (ccoord__job_start(run_pass, ru, wake_node, n, &n->rjob) != CCOORD_OK) {
        run_free(ru);
        ccoord__fmt(err, errlen, "cannot start a thread for a resolution pass");
        return CCOORD_ENOMEM;
    }
    n->rjob_run = ru;
    n->rjob_warned = 0;
    return CCOORD_OK;
}

/* The pass in flight returned (resolve_mu held): its status and detail. */
static int collect(ccoord_node *n, char *err, size_t errlen)
{
    run *ru = n->rjob_run;
    int rc = ru->rc;
    if (n->rjob_warned)
        ccoord__log(n, CCOORD_LOG_INFO, "Resolver %s returned after %lld ms",
                    ccoord__resolver_name(n->resolver), rjob_ms(n));
    ccoord__job_finish(n->rjob);
    if (rc && err)
        ccoord__fmt(err, errlen, "%s", ru->err);
    run_free(ru);
    n->rjob = NULL;
    n->rjob_run = NULL;
    n->rjob_warned = 0;
    return rc;
}

/* Waits for the pass in flight until deadline_ns (resolve_mu held):
 * collected, or CCOORD_EPLUGIN with err saying it still runs. */
static int wait_pass(ccoord_node *n, int64_t deadline_ns, char *err, size_t errlen)
{
    if (ccoord__job_wait(n->rjob, deadline_ns))
        return collect(n, err, errlen);
    ccoord__fmt(err, errlen,
                "a resolution pass has not ended after %lld ms (resolver %s; what it places is "
                "written when it returns)",
                rjob_ms(n), ccoord__resolver_name(n->resolver));
    return CCOORD_EPLUGIN;
}

int ccoord__resolve_pass(ccoord_node *n, int cleanup, const char *exclude, int64_t deadline_ns,
                         char *err, size_t errlen)
{
    int rc = CCOORD_OK;
    if (!ccoord__is_leader_now(n))
        return CCOORD_ENOTLEADER;
    pthread_mutex_lock(&n->resolve_mu);
    /* the background thread's pass first: the plugin runs one call at a
     * time, and that batch had this node as a member */
    if (n->rjob)
        rc = wait_pass(n, deadline_ns, err, errlen);
    if (rc != CCOORD_EPLUGIN) {
        rc = start_pass(n, cleanup, exclude, err, errlen);
        if (!rc)
            rc = wait_pass(n, deadline_ns, err, errlen);
    }
    pthread_mutex_unlock(&n->resolve_mu);
    return rc;
}

void ccoord__resolve_if_due(ccoord_node *n, int changed)
{
    int64_t now = ccoord__now_ns();
    int due;
    /* never wait here for a pass of the API: the heartbeat is this
     * thread's */
    if (pthread_mutex_trylock(&n->resolve_mu) != 0) {
        if (changed)
            resolve_later(n);
        return;
    }
    if (n->rjob && ccoord__job_wait(n->rjob, 0))
        collect(n, NULL, 0); /* the pass logged its failure itself */
    if (n->rjob) {
        if (!n->rjob_warned && now - ccoord__job_started_ns(n->rjob) >= n->timeout_ns) {
            n->rjob_warned = 1;
            ccoord__log(n, CCOORD_LOG_WARN,
                        "Resolver %s has not returned after %lld ms; tasks wait for placement "
                        "(the heartbeat goes on)",
                        ccoord__resolver_name(n->resolver),
                        rjob_ms(n));
        }
        if (changed)
            resolve_later(n);
        pthread_mutex_unlock(&n->resolve_mu);
        return;
    }
    ccoord__lock(n);
    due = changed || n->resolve_now || now >= n->next_resolve_ns;
    n->resolve_now = 0;
    if (due)
        n->next_resolve_ns = now + n->s.resolving_period_s * 1000000000LL;
    ccoord__unlock(n);
    if (due && ccoord__is_leader_now(n) && !atomic_load(&n->hold_resolution)) {
        unsigned long next = atomic_load(&n->passes) + 1;
        char err[256];
        if (start_pass(n, next % (unsigned long)n->s.resolving_frequency == 0, NULL, err,
                       sizeof err) != CCOORD_OK)
            ccoord__log(n, CCOORD_LOG_WARN, "Task resolution: %s", err);
    }
    pthread_mutex_unlock(&n->resolve_mu);
}

void ccoord__resolve_stop(ccoord_node *n)
{
    run *ru;
    pthread_mutex_lock(&n->resolve_mu);
    ru = n->rjob_run;
    if (n->rjob && ccoord__job_wait(n->rjob, 0)) {
        collect(n, NULL, 0);
    } else if (n->rjob) {
        ccoord__log(n, CCOORD_LOG_WARN,
                    "Resolver %s has not returned after %lld ms; it is unloaded when it returns",
                    ccoord__resolver_name(n->resolver), rjob_ms(n));
        /* waits for a read or write of the pass in progress (bounded by
         * the statement timeout), then the pass touches the node no more */
        pthread_mutex_lock(&ru->gate);
        ru->abandoned = 1;
        pthread_mutex_unlock(&ru->gate);
        ccoord__resolver_orphan(n->resolver);
        ccoord__job_abandon(n->rjob, run_orphan);
        n->resolver = NULL;
        n->rjob = NULL;
        n->rjob_run = NULL;
    }
    pthread_mutex_unlock(&n->resolve_mu);
}

int ccoord_resolve_tasks(ccoord_node *node)
{
    char err[512];
    int rc;
    if (!node)
        return CCOORD_EINVAL;
    if (ccoord__check_process(node, "ccoord_resolve_tasks"))
        return CCOORD_EFORKED;
    if (!ccoord__joined(node))
        return ccoord__fail(node, CCOORD_ENOTJOINED, "ccoord_resolve_tasks: node %s has not joined",
                            node->id);
    if (!ccoord__is_leader_now(node))
        return ccoord__fail(node, CCOORD_ENOTLEADER,
                            "ccoord_resolve_tasks: node %s is not the leader", node->id);
    err[0] = '\0';
    rc = ccoord__resolve_pass(node, 0, NULL, ccoord__now_ns() + node->timeout_ns, err, sizeof err);
    if (rc == CCOORD_EDB || rc == CCOORD_EPLUGIN || rc == CCOORD_ENOMEM)
        ccoord__fail(node, rc, "ccoord_resolve_tasks: %s", err);
    else if (rc == CCOORD_ENOTLEADER)
        ccoord__fail(node, rc, "ccoord_resolve_tasks: node %s lost the leadership", node->id);
    ccoord__wake(node);
    return rc;
}
