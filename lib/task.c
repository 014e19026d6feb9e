/*
 * lib/task.c: coordinated tasks: registration, the in-memory ownership
 * table behind ccoord_acquire_task(), and cluster-wide state changes.
 */
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ccoord__insert_ignore(ccoord__db *db, ccoord__buf *b, const char *table_and_cols);
void ccoord__insert_ignore_end(ccoord__db *db, ccoord__buf *b);

static const char *state_name(int state)
{
    return state == CCOORD_TASK_PAUSED      ? "PAUSED"
           : state == CCOORD_TASK_COMPLETED ? "COMPLETED"
                                            : "ACTIVE";
}

static int state_of(const char *s)
{
    if (s && strcmp(s, "PAUSED") == 0)
        return CCOORD_TASK_PAUSED;
    if (s && strcmp(s, "COMPLETED") == 0)
        return CCOORD_TASK_COMPLETED;
    return CCOORD_TASK_ACTIVE;
}

static int where_group(ccoord__db *db, ccoord__buf *b, const ccoord_node *n)
{
    ccoord__buf_add(b, " WHERE group_id = ");
    return ccoord__q(db, b, n->s.group_id);
}

static int where_task(ccoord__db *db, ccoord__buf *b, const ccoord_node *n, const char *task)
{
    int rc = where_group(db, b, n);
    ccoord__buf_add(b, " AND name = ");
    return rc ? rc : ccoord__q(db, b, task);
}

/* ---- registrations --------------------------------------------------- */

#define ROWS_PER_INSERT 200

/* Inserts (unless present) the task rows and this node's task_nodes rows
 * for names, in multi-row statements, inside one transaction. */
static int write_names(ccoord_node *n, ccoord__db *db, const char *const *names, size_t count)
{
    ccoord__buf b;
    char t[160];
    size_t i, k;
    int rc, pass;
    const char *p = n->s.table_prefix;
    ccoord__buf_init(&b);
    rc = ccoord__db_begin(db);
    for (pass = 0; pass < 2 && !rc; pass++) {
        for (i = 0; i < count && !rc; i += ROWS_PER_INSERT) {
            ccoord__buf_reset(&b);
            if (pass == 0)
                ccoord__fmt(t, sizeof t, "%stasks (group_id, name, owner, epoch, state) VALUES ", p);
            else
                ccoord__fmt(t, sizeof t, "%stask_nodes (group_id, name, node_id) VALUES ", p);
            ccoord__insert_ignore(db, &b, t);
            for (k = i; k < count && k < i + ROWS_PER_INSERT && !rc; k++) {
                ccoord__buf_add(&b, k == i ? "(" : ", (");
                rc = ccoord__q(db, &b, n->s.group_id);
                ccoord__buf_add(&b, ", ");
                if (!rc)
                    rc = ccoord__q(db, &b, names[k]);
                if (pass == 0) {
                    ccoord__buf_add(&b, ", NULL, 0, 'ACTIVE')");
                } else {
                    ccoord__buf_add(&b, ", ");
                    if (!rc)
                        rc = ccoord__q(db, &b, n->id);
                    ccoord__buf_add(&b, ")");
                }
            }
            ccoord__insert_ignore_end(db, &b);
            if (!rc)
                rc = b.oom ? CCOORD_ENOMEM
                           : ccoord__db_exec(db, pass ? "register task node" : "create task",
                                             b.data, NULL);
        }
    }
    if (!rc)
        rc = ccoord__bump_version(db, n, 0);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    ccoord__buf_free(&b);
    return rc;
}

int ccoord__write_registrations(ccoord_node *n, ccoord__db *db)
{
    const char **names;
    size_t count, i = 0, k = 0;
    const char *key;
    int rc;
    pthread_mutex_lock(&n->mu);
    count = ccoord__map_count(n->registered);
    names = ccoord__calloc(count + 1, sizeof *names);
    while (names && ccoord__map_iter(n->registered, &i, &key, NULL))
        names[k] = ccoord__strdup(key), k++;
    pthread_mutex_unlock(&n->mu);
    if (!names)
        return CCOORD_ENOMEM;
    for (i = 0; i < k; i++)
        if (!names[i])
            break;
    rc = i < k ? CCOORD_ENOMEM : (k ? write_names(n, db, names, k) : CCOORD_OK);
    for (i = 0; i < k; i++)
        free((char *)names[i]);
    free(names);
    return rc;
}

static int check_node(ccoord_node *n, const char *fn, const char *task)
{
    if (!n)
        return CCOORD_EINVAL;
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

static int joined(ccoord_node *n)
{
    int j;
    pthread_mutex_lock(&n->mu);
    j = n->joined;
    pthread_mutex_unlock(&n->mu);
    return j;
}

/* Runs f on the api connection; on a connection-level failure retries
 * once on a fresh connection.  Fills errmsg on failure. */
static int api_call(ccoord_node *n, const char *fn, const char *task,
                    int (*f)(ccoord_node *, ccoord__db *, const char *, void *), void *arg)
{
    int rc;
    pthread_mutex_lock(&n->api_mu);
    rc = f(n, &n->api_db, task, arg);
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
    int existed, rc = check_node(node, "ccoord_task_register", task);
    if (rc)
        return rc;
    pthread_mutex_lock(&node->mu);
    existed = ccoord__map_get(node->registered, task) != NULL;
    rc = ccoord__map_put(node->registered, task, (void *)1, NULL);
    pthread_mutex_unlock(&node->mu);
    if (rc)
        return rc;
    if (!joined(node))
        return CCOORD_OK; /* written at join */
    rc = api_call(node, "ccoord_task_register", task, do_register, NULL);
    if (rc == CCOORD_OK) {
        ccoord__wake(node);
    } else if (!existed) {
        /* not written: forget it, so memory and database agree */
        pthread_mutex_lock(&node->mu);
        ccoord__map_del(node->registered, task);
        pthread_mutex_unlock(&node->mu);
    }
    return rc;
}

static int do_unregister(ccoord_node *n, ccoord__db *db, const char *task, void *arg)
{
    ccoord__buf b;
    int rc;
    const char *p = n->s.table_prefix;
    (void)arg;
    ccoord__buf_init(&b);
    rc = ccoord__db_begin(db);
    if (!rc) {
        ccoord__buf_addf(&b, "DELETE FROM %stask_nodes", p);
        rc = where_task(db, &b, n, task);
        ccoord__buf_add(&b, " AND node_id = ");
        if (!rc)
            rc = ccoord__q(db, &b, n->id);
        if (!rc)
            rc = ccoord__db_exec(db, "unregister task", b.data, NULL);
    }
    if (!rc) {
        ccoord__buf_reset(&b);
        ccoord__buf_addf(&b, "UPDATE %stasks SET owner = NULL, epoch = epoch + 1", p);
        rc = where_task(db, &b, n, task);
        ccoord__buf_add(&b, " AND owner = ");
        if (!rc)
            rc = ccoord__q(db, &b, n->id);
        if (!rc)
            rc = ccoord__db_exec(db, "release task", b.data, NULL);
    }
    if (!rc)
        rc = ccoord__bump_version(db, n, 0);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    ccoord__buf_free(&b);
    return rc;
}

/* Stops owning task locally (mu held): REVOKED is queued if granted. */
static void drop_owned(ccoord_node *n, const char *task)
{
    ccoord__owned *o = ccoord__map_del(n->owned, task);
    if (o && o->granted)
        ccoord__queue(n, 1, CCOORD_TASK_REVOKED, task, o->fence);
    free(o);
}

int ccoord_task_unregister(ccoord_node *node, const char *task)
{
    int rc = check_node(node, "ccoord_task_unregister", task), was;
    if (rc)
        return rc;
    pthread_mutex_lock(&node->mu);
    was = ccoord__map_del(node->registered, task) != NULL;
    drop_owned(node, task); /* REVOKED goes out on the background thread */
    pthread_mutex_unlock(&node->mu);
    if (!was)
        return ccoord__fail(node, CCOORD_ENOTFOUND,
                            "ccoord_task_unregister: task %s is not registered on node %s", task,
                            node->id);
    if (!joined(node))
        return CCOORD_OK;
    rc = api_call(node, "ccoord_task_unregister", task, do_unregister, NULL);
    if (rc == CCOORD_OK)
        ccoord__wake(node);
    return rc;
}

/* ---- the ownership table --------------------------------------------- */

int ccoord_acquire_task(ccoord_node *node, const char *task, uint64_t *ret_fence)
{
    ccoord__owned *o;
    int rc = CCOORD_ENOTOWNER;
    uint64_t fence = 0;
    if (!node || !task)
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->mu);
    o = ccoord__map_get(node->owned, task);
    if (o && o->granted && o->state == CCOORD_TASK_ACTIVE &&
        ccoord__now_ns() < atomic_load(&node->lease_until)) {
        rc = CCOORD_OK;
        fence = o->fence;
    }
    pthread_mutex_unlock(&node->mu);
    if (rc == CCOORD_OK && ret_fence)
        *ret_fence = fence;
    return rc;
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
        return CCOORD_EINVAL;
    now = ccoord__now_ns();
    pthread_mutex_lock(&node->mu);
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
    pthread_mutex_unlock(&node->mu);
    if (!v)
        return CCOORD_ENOMEM;
    qsort(v, k, sizeof *v, cmp_str);
    *ret_names = v;
    *ret_count = k;
    return CCOORD_OK;
}

/* Releases tasks placed on this node that it no longer registers. */
static void release_unregistered(ccoord_node *n, ccoord__db *db, char **names, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (do_unregister(n, db, names[i], NULL) != CCOORD_OK)
            pthread_mutex_lock(&n->mu), n->force_refresh = 1, pthread_mutex_unlock(&n->mu);
}

int ccoord__refresh_tasks(ccoord_node *n, ccoord__db *db)
{
    ccoord__buf b;
    dbi_result r;
    ccoord__map *fresh;
    char **stray = NULL;
    size_t nstray = 0, i;
    int rc;
    const char *name;
    void *val;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT name, epoch, state FROM %stasks", n->s.table_prefix);
    rc = where_group(db, &b, n);
    ccoord__buf_add(&b, " AND owner = ");
    if (!rc)
        rc = ccoord__q(db, &b, n->id);
    if (!rc)
        rc = ccoord__db_exec(db, "read own tasks", b.data, &r);
    ccoord__buf_free(&b);
    if (rc)
        return rc;
    fresh = ccoord__map_new();
    if (!fresh) {
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
        o->state = state_of(ccoord__res_str(r, 3));
    }
    dbi_result_free(r);
    if (rc) {
        ccoord__map_free(fresh, free);
        return rc;
    }

    pthread_mutex_lock(&n->mu);
    if (ccoord__now_ns() >= atomic_load(&n->lease_until)) {
        /* Not owning anything now; look again once a heartbeat succeeds
         * (not at once: that would spin on the database). */
        n->refresh_after_hb = 1;
        pthread_mutex_unlock(&n->mu);
        ccoord__map_free(fresh, free);
        return CCOORD_OK;
    }
    /* revocations first */
    i = 0;
    while (ccoord__map_iter(n->owned, &i, &name, &val)) {
        ccoord__owned *old = val, *now = ccoord__map_get(fresh, name);
        if (!old->granted)
            continue;
        if (!now || now->fence != old->fence || now->state != CCOORD_TASK_ACTIVE) {
            ccoord__queue(n, 1, CCOORD_TASK_REVOKED, name, old->fence);
            if (now && now->state == CCOORD_TASK_PAUSED)
                ccoord__log(n, CCOORD_LOG_INFO, "Task paused: [%s][%s].", n->s.task_group, name);
        } else {
            now->granted = 1; /* unchanged */
        }
    }
    /* then assignments */
    i = 0;
    while (ccoord__map_iter(fresh, &i, &name, &val)) {
        ccoord__owned *o = val;
        if (o->granted || o->state != CCOORD_TASK_ACTIVE)
            continue;
        if (!ccoord__map_get(n->registered, name)) {
            char **x = ccoord__realloc(stray, (nstray + 1) * sizeof *x);
            if (x) {
                stray = x;
                if ((stray[nstray] = ccoord__strdup(name)))
                    nstray++;
            }
            continue;
        }
        o->granted = 1;
        ccoord__queue(n, 1, CCOORD_TASK_ASSIGNED, name, o->fence);
        ccoord__log(n, CCOORD_LOG_INFO, "Task scheduled: [%s][%s].", n->s.task_group, name);
    }
    ccoord__map_free(n->owned, free);
    n->owned = fresh;
    pthread_mutex_unlock(&n->mu);
    if (nstray) {
        release_unregistered(n, db, stray, nstray);
        for (i = 0; i < nstray; i++)
            free(stray[i]);
    }
    free(stray);
    return CCOORD_OK;
}

/* ---- resolution and state changes -------------------------------------- */

int ccoord_resolve_tasks(ccoord_node *node)
{
    int rc;
    if (!node)
        return CCOORD_EINVAL;
    if (!joined(node))
        return ccoord__fail(node, CCOORD_ENOTJOINED, "ccoord_resolve_tasks: node %s has not joined",
                            node->id);
    if (!ccoord__is_leader_now(node))
        return ccoord__fail(node, CCOORD_ENOTLEADER,
                            "ccoord_resolve_tasks: node %s is not the leader", node->id);
    pthread_mutex_lock(&node->api_mu);
    rc = ccoord__resolve_pass(node, &node->api_db, 0, NULL);
    if (rc == CCOORD_EDB || rc == CCOORD_EPLUGIN || rc == CCOORD_ENOMEM)
        ccoord__fail(node, rc, "ccoord_resolve_tasks: %s", node->api_db.err);
    else if (rc == CCOORD_ENOTLEADER)
        ccoord__fail(node, rc, "ccoord_resolve_tasks: node %s lost the leadership", node->id);
    pthread_mutex_unlock(&node->api_mu);
    ccoord__wake(node);
    return rc;
}

struct state_change {
    int to;
    int result_state; /* state found when nothing changed */
};

static int read_state(ccoord_node *n, ccoord__db *db, const char *task, int *ret)
{
    ccoord__buf b;
    dbi_result r;
    int rc;
    ccoord__buf_init(&b);
    ccoord__buf_addf(&b, "SELECT state FROM %stasks", n->s.table_prefix);
    rc = where_task(db, &b, n, task);
    if (!rc)
        rc = ccoord__db_exec(db, "read task state", b.data, &r);
    ccoord__buf_free(&b);
    if (rc)
        return rc;
    if (!dbi_result_next_row(r)) {
        dbi_result_free(r);
        return CCOORD_ENOTFOUND;
    }
    *ret = state_of(ccoord__res_str(r, 1));
    dbi_result_free(r);
    return CCOORD_OK;
}

static int do_change(ccoord_node *n, ccoord__db *db, const char *task, void *arg)
{
    struct state_change *sc = arg;
    ccoord__buf b;
    unsigned long long rows = 0;
    int rc;
    ccoord__buf_init(&b);
    rc = ccoord__db_begin(db);
    if (!rc) {
        ccoord__buf_addf(&b, "UPDATE %stasks SET state = '%s', epoch = epoch + 1%s",
                         n->s.table_prefix, state_name(sc->to),
                         sc->to == CCOORD_TASK_COMPLETED ? ", owner = NULL" : "");
        rc = where_task(db, &b, n, task);
        ccoord__buf_add(&b, sc->to == CCOORD_TASK_PAUSED   ? " AND state = 'ACTIVE'"
                            : sc->to == CCOORD_TASK_ACTIVE ? " AND state = 'PAUSED'"
                                                           : " AND state <> 'COMPLETED'");
        if (!rc)
            rc = ccoord__db_exec_count(db, "change task state", b.data, &rows);
    }
    if (!rc && rows)
        rc = ccoord__bump_version(db, n, 0);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    ccoord__buf_free(&b);
    if (!rc && !rows) {
        rc = read_state(n, db, task, &sc->result_state);
        if (rc == CCOORD_OK && sc->result_state != sc->to)
            rc = CCOORD_ESTATE;
        else if (rc == CCOORD_OK)
            sc->result_state = -1; /* already there */
    }
    return rc;
}

static int change_state(ccoord_node *node, const char *fn, const char *task, int to)
{
    struct state_change sc = {to, 0};
    int rc = check_node(node, fn, task);
    if (rc)
        return rc;
    if (!joined(node))
        return ccoord__fail(node, CCOORD_ENOTJOINED, "%s: node %s has not joined", fn, node->id);
    rc = api_call(node, fn, task, do_change, &sc);
    if (rc == CCOORD_ENOTFOUND)
        return ccoord__fail(node, rc, "%s: no task named %s in group %s", fn, task,
                            node->s.group_id);
    if (rc == CCOORD_ESTATE)
        return ccoord__fail(node, rc, "%s: task %s is %s; cannot make it %s", fn, task,
                            state_name(sc.result_state), state_name(to));
    if (rc)
        return rc;
    if (to != CCOORD_TASK_ACTIVE) {
        /* This node stops running it at once, before the next poll. */
        ccoord__owned *o;
        pthread_mutex_lock(&node->mu);
        o = ccoord__map_get(node->owned, task);
        if (o)
            o->state = to;
        node->force_refresh = 1;
        pthread_mutex_unlock(&node->mu);
    }
    if (sc.result_state != -1) {
        if (to == CCOORD_TASK_PAUSED)
            ccoord__log(node, CCOORD_LOG_INFO, "Task paused: [%s][%s].", node->s.task_group, task);
        else if (to == CCOORD_TASK_ACTIVE)
            ccoord__log(node, CCOORD_LOG_INFO, "Task resumed: [%s][%s].", node->s.task_group, task);
        else
            ccoord__log(node, CCOORD_LOG_INFO, "Task completed: [%s][%s].", node->s.task_group,
                        task);
    }
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
    return read_state(n, db, task, arg);
}

int ccoord_task_state(ccoord_node *node, const char *task, int *ret_state)
{
    int st = 0, rc = check_node(node, "ccoord_task_state", task);
    if (rc)
        return rc;
    if (!ret_state)
        return CCOORD_EINVAL;
    if (!joined(node))
        return ccoord__fail(node, CCOORD_ENOTJOINED, "ccoord_task_state: node %s has not joined",
                            node->id);
    rc = api_call(node, "ccoord_task_state", task, do_read_state, &st);
    if (rc == CCOORD_ENOTFOUND)
        return ccoord__fail(node, rc, "ccoord_task_state: no task named %s in group %s", task,
                            node->s.group_id);
    if (rc == CCOORD_OK)
        *ret_state = st;
    return rc;
}
