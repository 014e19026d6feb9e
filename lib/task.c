/*
 * lib/task.c: floor 6, coordinated tasks on this node: registrations, the
 * in-memory ownership table behind ccoord_acquire_task(), its refresh from
 * the task table, the lease check that revokes everything when the lease
 * lapses, and cluster-wide state changes (pause, resume, complete).
 */
#include "task.h"
#include "taskstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- registrations --------------------------------------------------- */

/* One transaction: the task rows and this node's task_nodes rows for
 * names (each unless present), and the group version. */
static int write_names(ccoord_node *n, ccoord__db *db, const char *const *names, size_t count)
{
    int rc = ccoord__db_begin(db);
    if (!rc)
        rc = ccoord__row_tasks_create(db, names, count);
    if (!rc)
        rc = ccoord__row_registrations_insert(db, n->id, names, count);
    if (!rc)
        rc = ccoord__row_group_bump(db, 0);
    if (!rc)
        return ccoord__db_commit(db);
    ccoord__db_rollback(db);
    return rc;
}

int ccoord__tasks_write_registrations(ccoord_node *n, ccoord__db *db)
{
    const char **names;
    size_t count, i = 0, k = 0;
    const char *key;
    int rc;
    ccoord__lock(n);
    count = ccoord__map_count(n->registered);
    names = ccoord__calloc(count + 1, sizeof *names);
    while (names && ccoord__map_iter(n->registered, &i, &key, NULL))
        names[k++] = ccoord__strdup(key);
    ccoord__unlock(n);
    if (!names)
        return CCOORD_ENOMEM;
    for (i = 0; i < k; i++)
        if (!names[i])
            break;
    if (i < k) {
        rc = CCOORD_ENOMEM;
    } else {
        int tries = 0;
        do /* again after a conflict: the insert ignores rows already there */
            rc = k ? write_names(n, db, names, k) : CCOORD_OK;
        while (rc == CCOORD_EDB && ccoord__db_again(db, &tries));
    }
    for (i = 0; i < k; i++)
        free((char *)names[i]);
    free(names);
    return rc;
}

int ccoord__task_check(ccoord_node *n, const char *fn, const char *task)
{
    if (!n)
        return CCOORD_EINVAL;
    if (ccoord__check_process(n, fn))
        return CCOORD_EFORKED;
    if (!ccoord__valid_key(task)) {
        char shown[64];
        ccoord__printable(shown, sizeof shown, task ? task : "(null)", 40);
        return ccoord__fail(n, CCOORD_EINVAL,
                            "%s: task name \"%s\" is not valid; allowed: 1 to 190 bytes of "
                            "UTF-8 without control characters or leading/trailing spaces",
                            fn, shown);
    }
    return CCOORD_OK;
}

/* Runs f on the api connection; runs it again when the server rolled it
 * back for a conflict (a Galera certification conflict, say), and once
 * more on a fresh connection after a connection-level failure.  Fills
 * errmsg on failure. */
int ccoord__task_api_call(ccoord_node *n, const char *fn, const char *task,
                          int (*f)(ccoord_node *, ccoord__db *, const char *, void *), void *arg)
{
    int rc, tries = 0;
    pthread_mutex_lock(&n->api_mu);
    do
        rc = f(n, &n->api_db, task, arg);
    while (rc == CCOORD_EDB && ccoord__db_again(&n->api_db, &tries));
    if (rc == CCOORD_EDB && !n->api_db.conn) {
        ccoord__db_connect(&n->api_db, 1);
        rc = f(n, &n->api_db, task, arg);
    }
    if (rc == CCOORD_EDB || rc == CCOORD_ENOMEM)
        ccoord__fail(n, rc, "%s(%s): %s", fn, task ? task : "", n->api_db.err);
    pthread_mutex_unlock(&n->api_mu);
    return rc;
}

static int do_register(ccoord_node *n, ccoord__db *db, const char *task, void *arg)
{
    (void)arg;
    return write_names(n, db, &task, 1);
}

int ccoord_task_register(ccoord_node *node, const char *task)
{
    int existed, rc = ccoord__task_check(node, "ccoord_task_register", task);
    if (rc)
        return rc;
    ccoord__lock(node);
    existed = ccoord__map_get(node->registered, task) != NULL;
    rc = ccoord__map_put(node->registered, task, (void *)1, NULL);
    ccoord__unlock(node);
    if (rc)
        return rc;
    if (!ccoord__joined(node))
        return CCOORD_OK; /* written at join */
    rc = ccoord__task_api_call(node, "ccoord_task_register", task, do_register, NULL);
    if (rc == CCOORD_OK) {
        ccoord__wake(node);
    } else if (!existed) {
        /* not written: forget it, so memory and database agree */
        ccoord__lock(node);
        ccoord__map_del(node->registered, task);
        ccoord__unlock(node);
    }
    return rc;
}

/* One transaction: this node's registration of task deleted, the task
 * released if this node owns it, the group version bumped. */
static int do_unregister(ccoord_node *n, ccoord__db *db, const char *task, void *arg)
{
    int rc = ccoord__db_begin(db);
    (void)arg;
    if (!rc)
        rc = ccoord__row_registrations_delete(db, n->id, task);
    if (!rc)
        rc = ccoord__row_tasks_release(db, n->id, task, NULL);
    if (!rc)
        rc = ccoord__row_group_bump(db, 0);
    if (!rc)
        return ccoord__db_commit(db);
    ccoord__db_rollback(db);
    return rc;
}

/* A statement that makes this node stop owning a task (an unregister's
 * release, a pause, a completion) runs between these two (mu held).
 * A refresh that read "owner = this node" before such a statement
 * committed must not grant from that read: a register may follow the
 * unregister at once, and meanwhile the leader may have given the task
 * away under a new epoch.  The refresh grants nothing while one is in
 * flight or when one began or ended since its read began; it reads
 * again.  (Also after a failed statement: its commit may have gone
 * through.) */
static void release_begin_locked(ccoord_node *n)
{
    n->releasing++;
    n->own_gen++;
}

static void release_end_locked(ccoord_node *n)
{
    n->releasing--;
    n->own_gen++;
}

/* Stops owning task locally (mu held): REVOKED is queued if granted. */
static void drop_owned(ccoord_node *n, const char *task)
{
    ccoord__owned *o = ccoord__map_del(n->owned, task);
    if (o && o->granted)
        ccoord__queue(n, CCOORD__EV_TASK, CCOORD_TASK_REVOKED, task, o->fence);
    free(o);
}

int ccoord_task_unregister(ccoord_node *node, const char *task)
{
    int rc = ccoord__task_check(node, "ccoord_task_unregister", task), was, joined;
    if (rc)
        return rc;
    ccoord__lock(node);
    was = ccoord__map_del(node->registered, task) != NULL;
    drop_owned(node, task); /* acquire says no at once; REVOKED is dispatched */
    joined = was && node->joined;
    if (joined)
        release_begin_locked(node);
    ccoord__unlock(node);
    if (!was)
        return ccoord__fail(node, CCOORD_ENOTFOUND,
                            "ccoord_task_unregister: task %s is not registered on node %s", task,
                            node->id);
    if (!joined)
        return CCOORD_OK;
    rc = ccoord__task_api_call(node, "ccoord_task_unregister", task, do_unregister, NULL);
    ccoord__lock(node);
    release_end_locked(node);
    ccoord__unlock(node);
    if (rc == CCOORD_OK)
        ccoord__wake(node);
    return rc;
}

/* ---- the ownership table --------------------------------------------- */

int ccoord_acquire_task(ccoord_node *node, const char *task, uint64_t *ret_fence)
{
    ccoord__owned *o;
    const char *why = NULL;
    uint64_t fence = 0;
    if (!node || !task)
        return ccoord__null_arg(node, "ccoord_acquire_task", "task");
    /* a forked child's copy of the lease is not its own: it owns nothing */
    if (ccoord__check_process(node, "ccoord_acquire_task"))
        return CCOORD_EFORKED;
    pthread_mutex_lock(&node->mu);
    o = ccoord__map_get(node->owned, task);
    if (!node->joined)
        why = "ccoord_acquire_task: node %s has not joined (task %s)";
    else if (!o)
        why = "ccoord_acquire_task: node %s does not own task %s";
    else if (!o->granted)
        why = "ccoord_acquire_task: node %s is re-reading whether it owns task %s";
    else if (o->state != CCOORD_TASK_ACTIVE)
        why = "ccoord_acquire_task: node %s owns task %s, which is paused or completed";
    else if (ccoord__now_ns() >= atomic_load(&node->lease_until))
        why = "ccoord_acquire_task: node %s owns task %s but its lease has lapsed (no heartbeat "
              "succeeded in time)";
    else
        fence = o->fence;
    pthread_mutex_unlock(&node->mu);
    if (why)
        return ccoord__fail_later(node, CCOORD_ENOTOWNER, why, task);
    if (ret_fence)
        *ret_fence = fence;
    return CCOORD_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ccoord_owned_tasks(ccoord_node *node, char ***ret_names, size_t *ret_count)
{
    char **v;
    size_t i = 0, k = 0, count;
    const char *name;
    void *val;
    int64_t now;
    if (!node || !ret_names || !ret_count)
        return ccoord__null_arg(node, "ccoord_owned_tasks", !ret_names ? "ret_names" : "ret_count");
    if (ccoord__check_process(node, "ccoord_owned_tasks"))
        return CCOORD_EFORKED;
    now = ccoord__now_ns();
    ccoord__lock(node);
    count = ccoord__map_count(node->owned);
    v = ccoord__calloc(count + 1, sizeof *v);
    if (v && now < atomic_load(&node->lease_until)) {
        while (ccoord__map_iter(node->owned, &i, &name, &val)) {
            ccoord__owned *o = val;
            if (!o->granted || o->state != CCOORD_TASK_ACTIVE)
                continue;
            if (!(v[k] = ccoord__strdup(name))) {
                ccoord_free_list(v, k);
                v = NULL;
                break;
            }
            k++;
        }
    }
    ccoord__unlock(node);
    if (!v)
        return CCOORD_ENOMEM;
    qsort(v, k, sizeof *v, cmp_str);
    *ret_names = v;
    *ret_count = k;
    return CCOORD_OK;
}

void ccoord__tasks_revoke_all(ccoord_node *n)
{
    size_t i = 0;
    const char *name;
    void *v;
    while (ccoord__map_iter(n->owned, &i, &name, &v)) {
        ccoord__owned *o = v;
        if (o->granted) {
            ccoord__queue(n, CCOORD__EV_TASK, CCOORD_TASK_REVOKED, name, o->fence);
            o->granted = 0;
        }
    }
    ccoord__map_free(n->owned, free);
    n->owned = ccoord__map_new();
    n->own_gen++;
}

/* How many tasks of the ownership table are granted (mu held). */
static size_t granted_count(ccoord_node *n)
{
    size_t i = 0, granted = 0;
    const char *name;
    void *v;
    while (ccoord__map_iter(n->owned, &i, &name, &v))
        if (((ccoord__owned *)v)->granted)
            granted++;
    return granted;
}

void ccoord__tasks_lease_check(ccoord_node *n, int64_t now)
{
    size_t granted;
    int64_t until = atomic_load(&n->lease_until);
    int first; /* this lapse is news (until 0: no lease to lapse: not joined,
                * left, evicted, each logged where it happens) */
    if (now < until)
        return;
    granted = granted_count(n);
    first = until && !n->lapsed_ns;
    if (granted)
        ccoord__tasks_revoke_all(n);
    if (granted || first)
        n->refresh_after_hb = 1; /* after a lapse, for owning_again's line too */
    if (first) {
        ccoord__count(&n->stats.lease_lapses);
        n->lapsed_ns = now;
        n->lapsed_tasks = granted;
        ccoord__log_locked(n, CCOORD_LOG_WARN,
                           "Lease lapsed after %lld ms without a successful heartbeat; "
                           "stopped owning %zu task(s)",
                           (long long)((now - (until - n->lease_ns)) / 1000000), granted);
    }
}

/* The first refresh under a valid lease after a lapse (mu held). */
static void owning_again(ccoord_node *n)
{
    size_t granted = granted_count(n);
    ccoord__log_locked(n, CCOORD_LOG_INFO,
                       "Lease renewed %lld ms after it lapsed; owning %zu task(s) again "
                       "(%zu before)",
                       (long long)((ccoord__now_ns() - n->lapsed_ns) / 1000000), granted,
                       n->lapsed_tasks);
    n->lapsed_ns = 0;
}

void ccoord__tasks_after_heartbeat(ccoord_node *n)
{
    ccoord__lock(n);
    if (n->refresh_after_hb) {
        n->refresh_after_hb = 0;
        ccoord__request_refresh_locked(n);
    }
    ccoord__unlock(n);
}

/* ---- refreshing the ownership table ------------------------------------ */

/* The tasks owned by this node as stored: name -> ccoord__owned (not
 * granted yet; give_up when the row is being moved to another node, or
 * this node is drained). */
static int read_owned(ccoord_node *n, ccoord__db *db, int drained, ccoord__map **ret)
{
    dbi_result r;
    ccoord__map *fresh;
    int rc = ccoord__row_tasks_owned(db, n->id, &r);
    if (rc)
        return rc;
    if (!(fresh = ccoord__map_new())) {
        dbi_result_free(r);
        return CCOORD_ENOMEM;
    }
    while (dbi_result_next_row(r)) {
        const char *tn = ccoord__res_str(r, 1);
        ccoord__owned *o = ccoord__calloc(1, sizeof *o);
        if (!o || !tn || ccoord__map_put(fresh, tn, o, NULL)) {
            free(o);
            rc = CCOORD_ENOMEM;
            break;
        }
        o->fence = (uint64_t)ccoord__res_ll(r, 2);
        o->state = ccoord__task_state_of(ccoord__res_str(r, 3));
        o->give_up = drained || (!ccoord__res_null(r, 4) &&
                                 strcmp(ccoord__res_str(r, 4), n->id) != 0);
        o->last_slot = ccoord__res_null(r, 5) ? -1 : ccoord__res_ll(r, 5);
        o->fires = ccoord__res_ll(r, 6);
    }
    dbi_result_free(r);
    if (rc) {
        ccoord__map_free(fresh, free);
        return rc;
    }
    *ret = fresh;
    return CCOORD_OK;
}

/* REVOKED for every granted task that fresh no longer gives this node
 * with the same fence, ACTIVE, and not to be given up.  The rest stays granted: carried over into
 * fresh, or, for a stale read (one that may predate a release of this
 * node's), left as it is here (mu held). */
static void revoke_changed(ccoord_node *n, ccoord__map *fresh, int stale)
{
    size_t i = 0;
    const char *name;
    void *val;
    while (ccoord__map_iter(n->owned, &i, &name, &val)) {
        ccoord__owned *old = val, *now = ccoord__map_get(fresh, name);
        if (!old->granted)
            continue;
        if (!now || now->fence != old->fence || now->state != CCOORD_TASK_ACTIVE ||
            now->give_up) {
            ccoord__queue(n, CCOORD__EV_TASK, CCOORD_TASK_REVOKED, name, old->fence);
            old->granted = 0;
            if (now && now->state == CCOORD_TASK_PAUSED)
                ccoord__log_locked(n, CCOORD_LOG_INFO, "Task paused: [%s][%s].",
                                   n->s.task_group, name);
        } else if (!stale) {
            now->granted = 1; /* unchanged */
        }
    }
}

/* A name list that grows by one (mu held; out of memory: the name is
 * skipped and a refresh asked for, which finds it again). */
static void strv_push(ccoord_node *n, char ***v, size_t *count, const char *s)
{
    char **x = ccoord__realloc(*v, (*count + 1) * sizeof *x);
    if (x)
        *v = x;
    if (x && (x[*count] = ccoord__strdup(s)))
        (*count)++;
    else
        ccoord__request_refresh_locked(n);
}

/* ASSIGNED for every ACTIVE task of fresh not yet granted that this node
 * registers; those it does not register go to *stray, those it gives up
 * to *leave (mu held). */
static void grant_new(ccoord_node *n, ccoord__map *fresh, char ***stray, size_t *nstray,
                      char ***leave, size_t *nleave)
{
    size_t i = 0;
    const char *name;
    void *val;
    while (ccoord__map_iter(fresh, &i, &name, &val)) {
        ccoord__owned *o = val;
        if (o->give_up) {
            strv_push(n, leave, nleave, name);
            continue;
        }
        if (o->granted || o->state != CCOORD_TASK_ACTIVE)
            continue;
        if (!ccoord__map_get(n->registered, name)) {
            strv_push(n, stray, nstray, name);
            continue;
        }
        o->granted = 1;
        /* a schedule of it may have slots due now */
        if (n->sched_running)
            pthread_cond_broadcast(&n->sched_cond);
        ccoord__queue(n, CCOORD__EV_TASK, CCOORD_TASK_ASSIGNED, name, o->fence);
        ccoord__log_locked(n, CCOORD_LOG_INFO, "Task scheduled: [%s][%s].", n->s.task_group,
                           name);
    }
}

/* One transaction: this node's ownership of the tasks names[0, count)
 * released (owner NULL, epoch + 1; move_to stays, so the leader places
 * them on the target), the group version bumped.  Only after this node
 * stopped owning them (revoke_changed): never two owners. */
static int give_up(ccoord_node *n, ccoord__db *db, char *const *names, size_t count,
                   unsigned long long *ret_rows)
{
    size_t i;
    int rc = ccoord__db_begin(db);
    *ret_rows = 0;
    for (i = 0; !rc && i < count; i++) {
        unsigned long long rows = 0;
        rc = ccoord__row_tasks_release(db, n->id, names[i], &rows);
        *ret_rows += rows;
    }
    if (!rc && *ret_rows)
        rc = ccoord__row_group_bump(db, 0);
    if (!rc)
        return ccoord__db_commit(db);
    ccoord__db_rollback(db);
    return rc;
}

/* The tasks this node stopped owning to be moved, or because it is
 * drained, released in the database (a failure: the next refresh reads
 * them again and tries once more). */
static void give_up_all(ccoord_node *n, ccoord__db *db, char **leave, size_t nleave,
                        int drained)
{
    unsigned long long rows = 0;
    size_t i;
    int rc;
    ccoord__lock(n);
    release_begin_locked(n);
    ccoord__unlock(n);
    rc = give_up(n, db, leave, nleave, &rows);
    ccoord__lock(n);
    release_end_locked(n);
    if (rc)
        ccoord__request_refresh_locked(n);
    ccoord__unlock(n);
    for (i = 0; !rc && rows && i < nleave; i++)
        ccoord__log(n, CCOORD_LOG_INFO, "Task given up: [%s][%s] (%s).", n->s.task_group,
                    leave[i], drained ? "this node is drained" : "it is being moved");
    if (rc)
        ccoord__log(n, CCOORD_LOG_WARN, "Giving up %zu task(s) failed: %s; trying again at the "
                    "next poll", nleave, db->err);
}

/* A drain or undrain of this node, said once (mu held). */
static void note_drained(ccoord_node *n, int drained)
{
    if (drained == n->drained_said)
        return;
    n->drained_said = drained;
    ccoord__log_locked(n, CCOORD_LOG_INFO,
                       drained ? "Node drained: giving up its tasks and taking no new ones "
                                 "until undrained"
                               : "Node undrained: it may be given tasks again");
}

int ccoord__tasks_refresh(ccoord_node *n, ccoord__db *db)
{
    ccoord__map *fresh;
    char **stray = NULL, **leave = NULL;
    size_t nstray = 0, nleave = 0, i;
    unsigned long gen;
    int rc, stall_ms, drained;
    ccoord__lock(n);
    gen = n->own_gen;
    drained = n->drained;
    note_drained(n, drained);
    ccoord__unlock(n);
    rc = read_owned(n, db, drained, &fresh);
    if (rc)
        return rc;
    if ((stall_ms = atomic_load(&n->refresh_stall_ms)) > 0)
        ccoord__sleep_ns((int64_t)stall_ms * 1000000);
    ccoord__lock(n);
    if (gen != n->own_gen || n->releasing) {
        /* The read may predate a release of this node's (see
         * release_begin_locked): keep only its revocations, read again. */
        revoke_changed(n, fresh, 1);
        ccoord__request_refresh_locked(n);
        ccoord__unlock(n);
        ccoord__map_free(fresh, free);
        return CCOORD_OK;
    }
    if (ccoord__now_ns() >= atomic_load(&n->lease_until)) {
        /* Not owning anything now; look again once a heartbeat succeeds
         * (not at once: that would spin on the database). */
        n->refresh_after_hb = 1;
        ccoord__unlock(n);
        ccoord__map_free(fresh, free);
        return CCOORD_OK;
    }
    revoke_changed(n, fresh, 0);
    grant_new(n, fresh, &stray, &nstray, &leave, &nleave);
    ccoord__map_free(n->owned, free);
    n->owned = fresh;
    if (n->lapsed_ns)
        owning_again(n);
    ccoord__unlock(n);
    /* tasks it stopped owning to be moved, or because it is drained */
    if (nleave)
        give_up_all(n, db, leave, nleave, drained);
    ccoord_free_list(leave, nleave);
    /* tasks placed on this node that it no longer registers: released */
    for (i = 0; i < nstray; i++) {
        if (do_unregister(n, db, stray[i], NULL) != CCOORD_OK)
            ccoord__request_refresh(n);
        free(stray[i]);
    }
    free(stray);
    return CCOORD_OK;
}

/* ---- cluster-wide state changes ----------------------------------------- */

struct state_change {
    int to;
    int result_state; /* state found when nothing changed; -1 already there */
};

static int do_change(ccoord_node *n, ccoord__db *db, const char *task, void *arg)
{
    struct state_change *sc = arg;
    (void)n;
    return ccoord__task_state_change(db, task, sc->to, &sc->result_state);
}

static int change_state(ccoord_node *node, const char *fn, const char *task, int to)
{
    struct state_change sc = {to, 0};
    static const char *done[] = {"", "resumed", "paused", "completed"};
    int rc = ccoord__task_check(node, fn, task);
    if (rc)
        return rc;
    if (!ccoord__joined(node))
        return ccoord__fail(node, CCOORD_ENOTJOINED, "%s: node %s has not joined", fn, node->id);
    if (to != CCOORD_TASK_ACTIVE) {
        ccoord__lock(node);
        release_begin_locked(node);
        ccoord__unlock(node);
    }
    rc = ccoord__task_api_call(node, fn, task, do_change, &sc);
    if (to != CCOORD_TASK_ACTIVE) {
        /* This node stops running it at once, before the next poll. */
        ccoord__owned *o;
        ccoord__lock(node);
        o = rc == CCOORD_OK ? ccoord__map_get(node->owned, task) : NULL;
        if (o)
            o->state = to;
        release_end_locked(node);
        ccoord__request_refresh_locked(node);
        ccoord__unlock(node);
    }
    if (rc == CCOORD_ENOTFOUND)
        return ccoord__fail(node, rc, "%s: no task named %s in group %s", fn, task,
                            node->s.group_id);
    if (rc == CCOORD_ESTATE)
        return ccoord__fail(node, rc, "%s: task %s is %s; cannot make it %s", fn, task,
                            ccoord__task_state_name(sc.result_state),
                            ccoord__task_state_name(to));
    if (rc)
        return rc;
    if (sc.result_state != -1)
        ccoord__log(node, CCOORD_LOG_INFO, "Task %s: [%s][%s].", done[to], node->s.task_group,
                    task);
    ccoord__wake(node);
    return CCOORD_OK;
}

int ccoord_task_pause(ccoord_node *node, const char *task)
{
    return change_state(node, "ccoord_task_pause", task, CCOORD_TASK_PAUSED);
}

int ccoord_task_resume(ccoord_node *node, const char *task)
{
    return change_state(node, "ccoord_task_resume", task, CCOORD_TASK_ACTIVE);
}

int ccoord_task_complete(ccoord_node *node, const char *task)
{
    return change_state(node, "ccoord_task_complete", task, CCOORD_TASK_COMPLETED);
}

static int do_read_state(ccoord_node *n, ccoord__db *db, const char *task, void *arg)
{
    (void)n;
    return ccoord__row_task_state(db, task, arg);
}

int ccoord_task_state(ccoord_node *node, const char *task, int *ret_state)
{
    int st = 0, rc = ccoord__task_check(node, "ccoord_task_state", task);
    if (rc)
        return rc;
    if (!ret_state)
        return ccoord__null_arg(node, "ccoord_task_state", "ret_state");
    if (!ccoord__joined(node))
        return ccoord__fail(node, CCOORD_ENOTJOINED, "ccoord_task_state: node %s has not joined",
                            node->id);
    rc = ccoord__task_api_call(node, "ccoord_task_state", task, do_read_state, &st);
    if (rc == CCOORD_ENOTFOUND)
        return ccoord__fail(node, rc, "ccoord_task_state: no task named %s in group %s", task,
                            node->s.group_id);
    if (rc == CCOORD_OK)
        *ret_state = st;
    return rc;
}
