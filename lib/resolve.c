/*
 * lib/resolve.c: floor 8, one resolution pass: read the batch (live
 * members in join order, unassigned tasks, who can run what, loads), run
 * the resolver plugin, write its placements by compare-and-set under the
 * leader check, and every resolving_frequency-th pass clean up what
 * departed nodes left.  Also when a pass is due, and
 * ccoord_resolve_tasks().
 */
#include "resolve.h"

#include "job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pass {
    ccoord__member *rows;         /* live members as read, join order */
    size_t row_count;
    ccoord__batch_member *members; /* the live members handed to the plugin */
    const char **mids;
    size_t member_count;
    ccoord__batch_task *tasks;
    char **tnames;
    size_t task_count;
    size_t **can;        /* per task: member indexes (or all_members) */
    size_t *can_count, *can_cap;
    size_t *all_members; /* 0..member_count-1, shared by tasks every member registered */
    long *assign;
    ccoord__map *midx, *tidx; /* id -> index + 1 */
} pass;

static void pass_free(pass *p)
{
    size_t i;
    for (i = 0; i < p->task_count; i++) {
        free(p->tnames[i]);
        if (p->can && p->can[i] != p->all_members)
            free(p->can[i]);
    }
    ccoord__members_free(p->rows, p->row_count);
    free(p->members);
    free(p->mids);
    free(p->tasks);
    free(p->tnames);
    free(p->can);
    free(p->can_count);
    free(p->can_cap);
    free(p->all_members);
    free(p->assign);
    ccoord__map_free(p->midx, NULL);
    ccoord__map_free(p->tidx, NULL);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- reading the batch -------------------------------------------------- */

/* The unassigned ACTIVE tasks' names and their index. */
static int read_unassigned(ccoord__db *db, pass *ps)
{
    dbi_result r;
    size_t cap = 0, i;
    int rc = ccoord__row_tasks_unassigned(db, &r);
    if (rc)
        return rc;
    while (!rc && dbi_result_next_row(r)) {
        const char *name = ccoord__res_str(r, 1);
        if (ccoord__grow(&ps->tnames, &cap, ps->task_count, sizeof *ps->tnames, 64) !=
            CCOORD_OK) {
            rc = CCOORD_ENOMEM;
            break;
        }
        if (!(ps->tnames[ps->task_count] = ccoord__strdup(name ? name : "")))
            rc = CCOORD_ENOMEM;
        else
            ps->task_count++;
    }
    dbi_result_free(r);
    if (!rc && !(ps->tidx = ccoord__map_new()))
        rc = CCOORD_ENOMEM;
    for (i = 0; !rc && i < ps->task_count; i++)
        if (ccoord__map_put(ps->tidx, ps->tnames[i], (void *)(uintptr_t)(i + 1), NULL))
            rc = CCOORD_ENOMEM;
    return rc;
}

/* The live members in join order but exclude, their batch entries and
 * their index. */
static int read_members(ccoord__db *db, pass *ps, const char *exclude)
{
    size_t i;
    int rc = ccoord__row_members_read(db, -1, &ps->rows, &ps->row_count);
    if (rc)
        return rc;
    ps->members = ccoord__calloc(ps->row_count + 1, sizeof *ps->members);
    ps->mids = ccoord__calloc(ps->row_count + 1, sizeof *ps->mids);
    ps->midx = ccoord__map_new();
    if (!ps->members || !ps->mids || !ps->midx)
        return CCOORD_ENOMEM;
    for (i = 0; i < ps->row_count; i++) {
        const ccoord__member *m = &ps->rows[i];
        size_t k = ps->member_count;
        if (exclude && strcmp(m->id, exclude) == 0)
            continue;
        ps->members[k].id = ps->mids[k] = m->id;
        ps->members[k].hostname = m->hostname;
        ps->members[k].metadata = m->metadata;
        if (ccoord__map_put(ps->midx, m->id, (void *)(uintptr_t)(k + 1), NULL))
            return CCOORD_ENOMEM;
        ps->member_count++;
    }
    return CCOORD_OK;
}

/* How many tasks each live member owns now. */
static int read_loads(ccoord__db *db, pass *ps)
{
    dbi_result r;
    int rc = ccoord__row_task_loads(db, &r);
    if (rc)
        return rc;
    while (dbi_result_next_row(r)) {
        const char *o = ccoord__res_str(r, 1);
        uintptr_t m = o ? (uintptr_t)ccoord__map_get(ps->midx, o) : 0;
        if (m)
            ps->members[m - 1].load = (size_t)ccoord__res_ll(r, 2);
    }
    dbi_result_free(r);
    return CCOORD_OK;
}

/* Index of the task named by column 1 of r's row, or -1. */
static long task_of(const pass *ps, dbi_result r)
{
    const char *tn = ccoord__res_str(r, 1);
    uintptr_t t = tn ? (uintptr_t)ccoord__map_get(ps->tidx, tn) : 0;
    return t ? (long)(t - 1) : -1;
}

/* A count row: a task every live member registered shares all_members;
 * one with a smaller non-zero count keeps it in can_cap for the pairs. */
static void take_count(pass *ps, dbi_result r)
{
    long t = task_of(ps, r);
    long long c = ccoord__res_ll(r, 2);
    if (t < 0)
        return;
    if (c >= (long long)ps->member_count) {
        ps->can[t] = ps->all_members;
        ps->can_count[t] = ps->can_cap[t] = ps->member_count;
    } else if (c > 0) {
        ps->can_cap[t] = (size_t)c;
    }
}

/* A pair row (task, node): the node joins the task's list. */
static int take_pair(pass *ps, dbi_result r)
{
    long t = task_of(ps, r);
    const char *nid = ccoord__res_str(r, 2);
    uintptr_t mi = nid ? (uintptr_t)ccoord__map_get(ps->midx, nid) : 0;
    if (t < 0 || !mi || ps->can[t] == ps->all_members)
        return CCOORD_OK;
    if (!ps->can[t] || ps->can_count[t] == ps->can_cap[t]) {
        /* the count is exact unless a registration came between the two
         * reads: then grow */
        size_t ncap = ps->can[t] ? ps->can_cap[t] * 2 : ps->can_cap[t];
        size_t *x = ccoord__realloc(ps->can[t], (ncap ? ncap : 1) * sizeof *x);
        if (!x)
            return CCOORD_ENOMEM;
        ps->can[t] = x;
        ps->can_cap[t] = ncap ? ncap : 1;
    }
    ps->can[t][ps->can_count[t]++] = mi - 1;
    return CCOORD_OK;
}

#define CAN_CHUNK 500

/* One kind of registration read, in chunks of CAN_CHUNK task names:
 * counts (every task) or pairs (the tasks some but not all live members
 * registered). */
static int read_can_run(ccoord__db *db, pass *ps, int counts)
{
    const char **chunk = ccoord__calloc(CAN_CHUNK, sizeof *chunk);
    size_t i = 0;
    int rc = chunk ? CCOORD_OK : CCOORD_ENOMEM;
    while (!rc && i < ps->task_count) {
        size_t k = 0;
        dbi_result r;
        for (; i < ps->task_count && k < CAN_CHUNK; i++)
            if (counts || (!ps->can[i] && ps->can_cap[i] != 0))
                chunk[k++] = ps->tnames[i];
        if (k == 0)
            break;
        rc = counts ? ccoord__row_registration_counts(db, chunk, k, ps->mids, ps->member_count,
                                                      &r)
                    : ccoord__row_registration_pairs(db, chunk, k, &r);
        if (rc)
            break;
        while (!rc && dbi_result_next_row(r)) {
            if (counts)
                take_count(ps, r);
            else
                rc = take_pair(ps, r);
        }
        dbi_result_free(r);
    }
    free(chunk);
    return rc;
}

/* Who can run what.  First, per chunk of names, how many of the live
 * members registered each task (counted by the server): a task every
 * member registered shares one "all members" list, so the common case
 * (every node registers the same tasks) moves one row per task instead of
 * one per task and member.  The pairs are then read only for the tasks
 * some members did not register.  Both are lookups by the task_nodes
 * primary key (no join, so no plan that depends on table statistics). */
static int read_who_can_run(ccoord__db *db, pass *ps)
{
    size_t i;
    int rc;
    ps->tasks = ccoord__calloc(ps->task_count, sizeof *ps->tasks);
    ps->can = ccoord__calloc(ps->task_count, sizeof *ps->can);
    ps->can_count = ccoord__calloc(ps->task_count, sizeof *ps->can_count);
    ps->can_cap = ccoord__calloc(ps->task_count, sizeof *ps->can_cap);
    ps->assign = ccoord__calloc(ps->task_count, sizeof *ps->assign);
    ps->all_members = ccoord__calloc(ps->member_count + 1, sizeof *ps->all_members);
    if (!ps->tasks || !ps->can || !ps->can_count || !ps->can_cap || !ps->assign ||
        !ps->all_members)
        return CCOORD_ENOMEM;
    for (i = 0; i < ps->member_count; i++)
        ps->all_members[i] = i;
    rc = ps->member_count ? read_can_run(db, ps, 1) : CCOORD_OK;
    if (!rc)
        rc = read_can_run(db, ps, 0);
    if (rc)
        return rc;
    for (i = 0; i < ps->task_count; i++) {
        if (ps->can_count[i] > 1 && ps->can[i] != ps->all_members)
            qsort(ps->can[i], ps->can_count[i], sizeof(size_t), cmp_size);
        ps->tasks[i].name = ps->tnames[i];
        ps->tasks[i].can_run = ps->can[i];
        ps->tasks[i].can_run_count = ps->can_count[i];
    }
    return CCOORD_OK;
}

static int read_batch(ccoord__db *db, pass *ps, const char *exclude)
{
    int rc = read_unassigned(db, ps);
    if (rc || ps->task_count == 0)
        return rc;
    rc = read_members(db, ps, exclude);
    if (!rc)
        rc = read_loads(db, ps);
    if (!rc)
        rc = read_who_can_run(db, ps);
    return rc;
}

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

/* Locks the member rows (so a member leaving at the same time sees, and
 * releases, what it got) and marks the batch's members still present. */
static int lock_members(ccoord__db *db, const pass *ps, unsigned char *present)
{
    dbi_result r;
    int rc = ccoord__row_members_lock(db, &r);
    if (rc)
        return rc;
    while (dbi_result_next_row(r)) {
        const char *id = ccoord__res_str(r, 1);
        uintptr_t m = id ? (uintptr_t)ccoord__map_get(ps->midx, id) : 0;
        if (m)
            present[m - 1] = 1;
    }
    dbi_result_free(r);
    return CCOORD_OK;
}

/* The placements on member m, CHUNK names a statement. */
static int assign_member(ccoord__db *db, const pass *ps, size_t m, const char **chunk,
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
static int write_pass(ccoord_node *n, ccoord__db *db, pass *ps, size_t *ret_written)
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
    pass ps;
    ccoord_node *n;
    ccoord__resolver *r;
    char *exclude;
    int cleanup;
    pthread_mutex_t gate;
    int abandoned; /* gate */
    int rc;
    size_t written;
    char err[512]; /* when rc */
} run;

static void run_free(run *ru)
{
    pass_free(&ru->ps);
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

/* Reads the batch on the API connection (gate held). */
static int pass_read(run *ru)
{
    ccoord_node *n = ru->n;
    ccoord__db *db = &n->api_db;
    int rc;
    pthread_mutex_lock(&n->api_mu);
    rc = ccoord__is_leader_now(n) ? CCOORD_OK : CCOORD_ENOTLEADER;
    if (!rc && ru->cleanup)
        rc = cleanup_tx(n, db);
    if (!rc)
        rc = read_batch(db, &ru->ps, ru->exclude);
    if (rc)
        ccoord__fmt(ru->err, sizeof ru->err, "%s", db->err);
    pthread_mutex_unlock(&n->api_mu);
    return rc;
}

/* Writes the placements on the API connection (gate held), by
 * compare-and-set under the leader check: a batch read long ago places
 * nothing on a member that left or a task placed since. */
static int pass_write(run *ru)
{
    ccoord_node *n = ru->n;
    ccoord__db *db = &n->api_db;
    int rc;
    pthread_mutex_lock(&n->api_mu);
    rc = ccoord__is_leader_now(n) ? write_pass(n, db, &ru->ps, &ru->written) : CCOORD_ENOTLEADER;
    if (rc)
        ccoord__fmt(ru->err, sizeof ru->err, "%s", db->err);
    pthread_mutex_unlock(&n->api_mu);
    return rc;
}

static void run_pass(void *arg)
{
    run *ru = arg;
    ccoord_node *n = ru->n;
    char err[512];
    int rc;
    int64_t start = ccoord__now_ns();
    if (!gate_enter(ru))
        return;
    rc = pass_read(ru);
    pthread_mutex_unlock(&ru->gate);
    if (!rc && ru->ps.task_count && ru->ps.member_count) {
        rc = ccoord__resolver_run(ru->r, ru->ps.members, ru->ps.member_count, ru->ps.tasks,
                                  ru->ps.task_count, ru->ps.assign, err, sizeof err);
        if (!gate_enter(ru))
            return;
        if (rc) {
            ccoord__fmt(ru->err, sizeof ru->err, "resolver %s: %s",
                        ccoord__resolver_name(ru->r), err);
            ccoord__log(n, CCOORD_LOG_ERROR, "Task resolution failed: %s", ru->err);
        } else {
            rc = pass_write(ru);
        }
        if (!rc && ru->written) {
            ccoord__log(n, CCOORD_LOG_DEBUG,
                        "Resolved %zu of %zu unassigned task(s) with resolver %s", ru->written,
                        ru->ps.task_count, ccoord__resolver_name(ru->r));
            ccoord__request_refresh(n);
        }
        pthread_mutex_unlock(&ru->gate);
    }
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
