/*
 * lib/node.c: floor 10, the public lifecycle of a node (new, join, leave,
 * free) and the membership queries.  Everything below it is reached
 * through the subsystems' headers; nothing below calls up into it.
 */
#include "loop.h"
#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- creating a node ------------------------------------------------- */

/* Node ids, group ids and hostnames go into rows every backend must store
 * byte for byte; refuse what one of them would reject or alter. */
static int check_identity(ccoord_config *cfg, const char *what, const char *v, size_t max,
                          int edge_space)
{
    char shown[200];
    if (ccoord__valid_text(v, max, edge_space))
        return CCOORD_OK;
    ccoord__printable(shown, sizeof shown, v ? v : "(null)", 100);
    ccoord__fmt(cfg->error, sizeof cfg->error,
                "%s = %s: not valid; allowed: 1 to %zu bytes of UTF-8 without control "
                "characters%s",
                what, shown, max, edge_space ? "" : " or leading/trailing spaces");
    return CCOORD_ECONFIG;
}

/* Settings, node id, identities and hostname (the first part of new). */
static int node_identity(ccoord_config *cfg, ccoord_node *n)
{
    char host[256];
    int rc;
    if (ccoord__settings_copy(&n->s, &cfg->s) != CCOORD_OK)
        return CCOORD_ENOMEM;
    rc = ccoord__config_node_id(cfg, &n->id);
    if (!rc)
        rc = check_identity(cfg, "cluster_config.node_id", n->id, CCOORD__MAX_KEY, 0);
    if (!rc)
        rc = check_identity(cfg, "cluster_config.group_id", n->s.group_id, CCOORD__MAX_KEY, 0);
    if (!rc && n->s.hostname)
        rc = check_identity(cfg, "server.hostname", n->s.hostname, CCOORD__MAX_TEXT, 1);
    if (rc)
        return rc;
    if (!n->s.hostname) {
        if (gethostname(host, sizeof host) != 0)
            strcpy(host, "localhost");
        host[sizeof host - 1] = '\0';
    }
    n->hostname = ccoord__strdup(n->s.hostname ? n->s.hostname : host);
    n->owned = ccoord__map_new();
    n->registered = ccoord__map_new();
    n->leader_id = ccoord__strdup("");
    if (!n->hostname || !n->owned || !n->registered || !n->leader_id)
        return CCOORD_ENOMEM;
    n->interval_ns = n->s.heartbeat_interval_ms * 1000000LL;
    n->timeout_ns = n->interval_ns * n->s.heartbeat_max_retry;
    n->lease_ns = n->timeout_ns - n->interval_ns;
    n->version = -1;
    n->version_high = -1;
    n->hb_wrote = -1;
    n->removals = -1;
    n->event_fd = -1;
    n->pid = getpid();
    atomic_store(&n->log_level, CCOORD_LOG_INFO);
    return CCOORD_OK;
}

static void node_sync_init(ccoord_node *n)
{
    pthread_condattr_t ca;
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&n->ev_mu, NULL);
    pthread_cond_init(&n->ev_cond, NULL);
    pthread_mutex_init(&n->api_mu, NULL);
    pthread_mutex_init(&n->log_mu, NULL);
    pthread_mutex_init(&n->resolve_mu, NULL);
}

static void node_sync_destroy(ccoord_node *n)
{
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->ev_mu);
    pthread_cond_destroy(&n->ev_cond);
    pthread_mutex_destroy(&n->api_mu);
    pthread_mutex_destroy(&n->log_mu);
    pthread_mutex_destroy(&n->resolve_mu);
}

/* The resolver plugin and the two connections (not connected yet). */
static int node_resources(ccoord_config *cfg, ccoord_node *n)
{
    char err[1024];
    /* A statement may run at most this long before the watchdog breaks
     * it: long enough for a busy server, short enough to keep trying.
     * The background thread's statements are cut sooner (the lease, at
     * least 1 s), so it gets back to its lease and to reconnecting while
     * a server stalls. */
    int64_t st = n->s.connect_timeout_s * 1000000000LL;
    int64_t bg = n->lease_ns > 1000000000LL ? n->lease_ns : 1000000000LL;
    int rc = ccoord__resolver_load(n->s.resolver_class, n->s.plugin_dir, &n->s.resolver_params,
                                   ccoord__plugin_log, n, &n->resolver, err, sizeof err);
    if (rc != CCOORD_OK) {
        if (n->s.resolver_class_where)
            ccoord__fmt(cfg->error, sizeof cfg->error, "%s = %s: %s", n->s.resolver_class_where,
                        n->s.resolver_class, err);
        else
            ccoord__fmt(cfg->error, sizeof cfg->error,
                        "task_handling.resolver_class = %s (the default): %s",
                        n->s.resolver_class ? n->s.resolver_class : "random", err);
        return rc;
    }
    if (n->s.rebalance && !ccoord__resolver_can_rebalance(n->resolver)) {
        /* rebalance = on asks for moves the plugin cannot plan: said now,
         * not found out when tasks never move */
        ccoord__fmt(cfg->error, sizeof cfg->error,
                    "task_handling.rebalance = on: resolver %s (%s) has no rebalance function "
                    "(resolver ABI 1.1); allowed: rebalance = off, or a resolver that "
                    "rebalances (roundrobin, tasknode)",
                    ccoord__resolver_name(n->resolver), ccoord__resolver_path(n->resolver));
        ccoord__resolver_unload(n->resolver);
        n->resolver = NULL;
        return CCOORD_ECONFIG;
    }
    if (st < n->timeout_ns)
        st = n->timeout_ns;
    rc = ccoord__db_init(&n->bg_db, &n->s, bg);
    if (rc == CCOORD_OK) {
        rc = ccoord__db_init(&n->api_db, &n->s, st);
        if (rc != CCOORD_OK)
            ccoord__db_destroy(&n->bg_db);
    }
    if (rc != CCOORD_OK) {
        ccoord__fmt(cfg->error, sizeof cfg->error, "datasource.driver = %s: %s", n->s.driver,
                    n->bg_db.err[0] ? n->bg_db.err : n->api_db.err);
        ccoord__resolver_unload(n->resolver);
        n->resolver = NULL;
    }
    return rc;
}

/* Frees what node_identity made. */
static void node_identity_free(ccoord_node *n)
{
    ccoord__map_free(n->owned, free);
    ccoord__map_free(n->registered, NULL);
    free(n->leader_id);
    free(n->seen_lm_id);
    free(n->hostname);
    free(n->id);
    ccoord__settings_free(&n->s);
}

int ccoord_node_new(const ccoord_config *config, ccoord_node **ret_node)
{
    ccoord_node *n;
    ccoord_config *cfg = (ccoord_config *)config; /* error buffer only */
    int rc;
    if (!config || !ret_node)
        return CCOORD_EINVAL;
    cfg->error[0] = '\0';
    /* the host program may have changed keys after its last load */
    if ((rc = ccoord__config_check(config)) != CCOORD_OK)
        return rc;
    if (!(n = ccoord__calloc(1, sizeof *n)))
        return CCOORD_ENOMEM;
    rc = node_identity(cfg, n);
    if (!rc) {
        node_sync_init(n);
        rc = ccoord__sched_init(n);
        if (!rc)
            rc = node_resources(cfg, n);
        if (rc) {
            ccoord__sched_free(n);
            node_sync_destroy(n);
        }
    }
    if (rc) {
        node_identity_free(n);
        free(n);
        return rc;
    }
    *ret_node = n;
    return CCOORD_OK;
}

const char *ccoord_node_id(const ccoord_node *node)
{
    return node ? node->id : "";
}

/* ---- joining and leaving ----------------------------------------------- */

/* Schema, member row and registrations on the api connection. */
static int join_db(ccoord_node *n)
{
    char detail[800];
    int rc;
    pthread_mutex_lock(&n->api_mu);
    rc = ccoord__db_connect(&n->api_db, 1);
    if (!rc)
        rc = ccoord__db_ensure_schema(&n->api_db);
    if (!rc)
        rc = ccoord__member_join(n, &n->api_db);
    if (!rc)
        rc = ccoord__tasks_write_registrations(n, &n->api_db);
    if (rc) {
        ccoord__fmt(detail, sizeof detail, "%s", n->api_db.err);
        ccoord__db_disconnect(&n->api_db);
    }
    pthread_mutex_unlock(&n->api_mu);
    if (rc == CCOORD_EDUPNODE)
        return ccoord__fail(n, rc, "ccoord_join: %s", detail);
    if (rc)
        return ccoord__fail(n, rc, "ccoord_join: node %s, group %s: %s", n->id, n->s.group_id,
                            detail);
    return CCOORD_OK;
}

/* join_db, and with datasource.connect_retry, again while the database
 * cannot be reached (boot order: nodes that start before it), with a
 * backoff from 100 ms to 1 s; each failed attempt is logged once. */
/* The reference's line, and which database it is (issue 11: a node that
 * silently used a local file formed a cluster of one). */
static void log_join(ccoord_node *n)
{
    char what[4200];
    size_t i;
    for (i = 0; i < n->s.notes.count; i++)
        ccoord__log(n, CCOORD_LOG_INFO, "%s (%s)", n->s.notes.items[i].key,
                    n->s.notes.items[i].origin ? n->s.notes.items[i].origin : "configuration");
    ccoord__db_describe(&n->api_db, what, sizeof what);
    ccoord__log(n, CCOORD_LOG_INFO, "Successfully joined the cluster with id [%s] (%s)", n->id,
                what);
}

static int join_db_retrying(ccoord_node *n)
{
    int64_t start = ccoord__now_ns(), deadline = start + n->s.connect_retry_s * 1000000000LL;
    int64_t pause = 100000000;
    int attempt = 1, rc;
    while ((rc = join_db(n)) == CCOORD_EDB && n->api_db.connect_failed &&
           ccoord__now_ns() < deadline) {
        int64_t left = deadline - ccoord__now_ns();
        ccoord__log(n, CCOORD_LOG_WARN, "Database not reachable (attempt %d; retrying for %lld "
                    "more s, datasource.connect_retry): %s", attempt++,
                    (long long)((left + 999999999) / 1000000000), ccoord_errmsg(n));
        ccoord__sleep_ns(pause < left ? pause : left);
        pause = pause * 2 < 1000000000 ? pause * 2 : 1000000000;
    }
    if (rc == CCOORD_EDB && n->api_db.connect_failed && n->s.connect_retry_s > 0) {
        char detail[1024];
        ccoord__fmt(detail, sizeof detail, "%s", ccoord_errmsg(n));
        return ccoord__fail(n, rc, "%s (gave up after %d attempts in %lld s, "
                            "datasource.connect_retry = %ld)", detail, attempt,
                            (long long)((ccoord__now_ns() - start) / 1000000000), n->s.connect_retry_s);
    }
    return rc;
}

static int join_held(ccoord_node *node)
{
    int rc;
    int64_t until;
    if (ccoord__dispatch_start(node) != CCOORD_OK)
        return ccoord__fail(node, CCOORD_ENOMEM, "ccoord_join: cannot start the dispatcher thread");
    if ((rc = join_db_retrying(node)))
        return rc;
    log_join(node);
    ccoord__lock(node);
    node->joined = 1;
    node->force_refresh = 1;
    node->version = -1;
    node->removals = -1;
    node->views_ready = 0;
    ccoord__unlock(node);
    if (ccoord__loop_start(node) != CCOORD_OK) {
        ccoord__lock(node);
        node->joined = 0;
        ccoord__unlock(node);
        return ccoord__fail(node, CCOORD_ENOMEM, "ccoord_join: cannot start the background thread");
    }
    /* Return with a view of the cluster in place (ccoord_members, the
     * leader), bounded by the timeout in case the database is slow. */
    until = ccoord__now_ns() + node->timeout_ns;
    while (ccoord__now_ns() < until) {
        int ready;
        ccoord__lock(node);
        ready = node->views_ready;
        ccoord__unlock(node);
        if (ready)
            break;
        ccoord__sleep_ns(1000000);
    }
    ccoord__test_join_end(node);
    return CCOORD_OK;
}

int ccoord_join(ccoord_node *node)
{
    int rc;
    if (!node)
        return CCOORD_EINVAL;
    if ((rc = ccoord__check_process(node, "ccoord_join")))
        return rc;
    if (ccoord__joined(node))
        return ccoord__fail(node, CCOORD_EMISUSE, "ccoord_join: node %s has already joined",
                            node->id);
    ccoord__clear_error(node);
    /* what happens while joining (the leader, members, tasks) is told
     * once the host has the OK */
    ccoord__dispatch_hold(node, 1);
    rc = join_held(node);
    ccoord__dispatch_hold(node, 0);
    return rc;
}

/* One transaction: the member row deleted, this node's tasks released
 * and registrations deleted, the group version and removals bumped. */
static int leave_db(ccoord_node *n, ccoord__db *db)
{
    int rc = ccoord__db_begin(db);
    if (!rc)
        rc = ccoord__row_member_delete(db, n->id, n->incarnation, -1, NULL);
    if (!rc)
        rc = ccoord__row_tasks_release(db, n->id, NULL, NULL);
    if (!rc)
        rc = ccoord__row_registrations_delete(db, n->id, NULL);
    if (!rc)
        rc = ccoord__row_group_bump(db, 1);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    return rc;
}

/* As leader, after leave_db: hands the released tasks over before
 * stepping down, so the new owners only have to read them.  A pass that
 * has not ended within the timeout is left behind (the next leader
 * places the tasks).  api_mu not held. */
static void leave_hand_over(ccoord_node *n, long long term)
{
    char err[512];
    int rc = ccoord__resolve_pass(n, 0, n->id, ccoord__now_ns() + n->timeout_ns, err, sizeof err);
    if (rc != CCOORD_OK && rc != CCOORD_ENOTLEADER)
        ccoord__log(n, CCOORD_LOG_WARN,
                    "Leaving without handing the tasks over (the next leader places them): %s", err);
    pthread_mutex_lock(&n->api_mu);
    ccoord__leader_vacate(n, &n->api_db, term);
    pthread_mutex_unlock(&n->api_mu);
}

/* Stops owning before anything is written: REVOKED goes out first.  In
 * thread dispatch, waits (up to the timeout) for the host to have been
 * told; acquire says no from here on whatever the callbacks do. */
static void leave_revoke(ccoord_node *n)
{
    ccoord__lock(n);
    ccoord__lease_drop(n);
    ccoord__tasks_revoke_all(n);
    ccoord__unlock(n);
    if (!ccoord__dispatch_drain(n, ccoord__now_ns() + n->timeout_ns) && !n->host_dispatch)
        ccoord__log(n, CCOORD_LOG_WARN,
                    "Leaving while a callback of node [%s] still runs: its REVOKED events "
                    "follow when it returns (ccoord_acquire_task already says no)", n->id);
}

int ccoord_leave(ccoord_node *node)
{
    int rc, was_leader, tries = 0;
    long long term;
    if (!node)
        return CCOORD_EINVAL;
    if ((rc = ccoord__check_process(node, "ccoord_leave")))
        return rc;
    if (!ccoord__joined(node))
        return ccoord__fail(node, CCOORD_ENOTJOINED, "ccoord_leave: node %s has not joined",
                            node->id);
    ccoord__loop_stop_background(node);
    leave_revoke(node);
    ccoord__lock(node);
    was_leader = ccoord__is_leader_now(node);
    term = node->leader_term;
    ccoord__unlock(node);

    pthread_mutex_lock(&node->api_mu);
    do
        rc = leave_db(node, &node->api_db);
    while (rc == CCOORD_EDB && ccoord__db_again(&node->api_db, &tries));
    if (rc != CCOORD_OK && !ccoord__db_timed_out(&node->api_db)) {
        /* Retry once on a fresh connection (not after a statement that got
         * no answer in time: a partition would hold the retry as long);
         * otherwise the leader evicts us after the timeout, which is also
         * safe. */
        ccoord__db_disconnect(&node->api_db);
        rc = leave_db(node, &node->api_db);
    }
    if (rc != CCOORD_OK)
        ccoord__fail(node, rc, "ccoord_leave: %s (the cluster will evict node %s after the timeout)",
                     node->api_db.err, node->id);
    pthread_mutex_unlock(&node->api_mu);
    if (rc == CCOORD_OK && was_leader)
        leave_hand_over(node, term);
    pthread_mutex_lock(&node->api_mu);
    ccoord__db_disconnect(&node->api_db);
    pthread_mutex_unlock(&node->api_mu);
    ccoord__loop_stop(node); /* the watchdog, now that no statement runs */

    ccoord__lock(node);
    ccoord__leader_step_down_local(node);
    node->joined = 0;
    ccoord__members_clear(node);
    free(node->leader_id);
    node->leader_id = ccoord__strdup("");
    ccoord__unlock(node);
    if (rc == CCOORD_OK)
        ccoord__log(node, CCOORD_LOG_INFO, "Left the cluster (id [%s])", node->id);
    return rc;
}

void ccoord_node_free(ccoord_node *node)
{
    if (!node)
        return;
    if (ccoord__in_callback(node)) {
        /* Freeing from one of its own callbacks would free the node under
         * the dispatcher that runs it: refuse loudly. */
        ccoord__log(node, CCOORD_LOG_ERROR,
                    "ccoord_node_free called from a callback of node %s; ignored", node->id);
        return;
    }
    if (getpid() != node->pid) {
        /* A forked child has copies of the parent's connections, locks and
         * libdbi instance and none of its threads: a lock may have been
         * held at the fork, a condition variable may count the parent's
         * waiters (pthread_cond_destroy would wait for them for ever), and
         * closing a connection would end the parent's session on the
         * shared socket.  Touch nothing: the copy goes with the child's
         * exit or exec (freeing only the plain memory would still lose
         * the connections' objects, which cannot be closed here). */
        ccoord__forget_error(node);
        return;
    }
    if (ccoord__joined(node)) {
        ccoord_leave(node);
    }
    ccoord__loop_stop(node);
    ccoord__resolve_stop(node);
    ccoord__sched_stop(node);
    ccoord__dispatch_stop(node); /* a fire still queued runs here: schedules live on */
    ccoord__sched_free(node);
    ccoord__db_destroy(&node->bg_db);
    ccoord__db_destroy(&node->api_db);
    ccoord__resolver_unload(node->resolver);
    ccoord__members_clear(node);
    ccoord__events_free(node);
    node_identity_free(node);
    node_sync_destroy(node);
    ccoord__forget_error(node);
    free(node);
}

/* ---- membership queries ---------------------------------------------- */

int ccoord_is_leader(const ccoord_node *node)
{
    /* a forked child's copy of the leader lease is not its own */
    return node && getpid() == node->pid && ccoord__is_leader_now(node) ? 1 : 0;
}

int ccoord_members(ccoord_node *node, char ***ret_ids, size_t *ret_count)
{
    char **v;
    size_t i, count;
    if (!node || !ret_ids || !ret_count)
        return ccoord__null_arg(node, "ccoord_members", !ret_ids ? "ret_ids" : "ret_count");
    if (ccoord__check_process(node, "ccoord_members"))
        return CCOORD_EFORKED;
    ccoord__lock(node);
    if (!node->joined) {
        ccoord__unlock(node);
        return ccoord__fail(node, CCOORD_ENOTJOINED, "ccoord_members: node %s has not joined",
                            node->id);
    }
    count = node->member_count;
    v = ccoord__calloc(count + 1, sizeof *v);
    for (i = 0; v && i < count; i++) {
        v[i] = ccoord__strdup(node->members[i].id);
        if (!v[i]) {
            ccoord_free_list(v, i);
            v = NULL;
        }
    }
    ccoord__unlock(node);
    if (!v)
        return CCOORD_ENOMEM;
    *ret_ids = v;
    *ret_count = count;
    return CCOORD_OK;
}

int ccoord_leader(ccoord_node *node, char **ret_id)
{
    char *id = NULL;
    int rc = CCOORD_OK;
    if (!node || !ret_id)
        return ccoord__null_arg(node, "ccoord_leader", "ret_id");
    if (ccoord__check_process(node, "ccoord_leader"))
        return CCOORD_EFORKED;
    ccoord__lock(node);
    if (!node->joined)
        rc = CCOORD_ENOTJOINED;
    else if (!node->leader_id || !node->leader_id[0])
        rc = CCOORD_ENOTFOUND;
    else if (!(id = ccoord__strdup(node->leader_id)))
        rc = CCOORD_ENOMEM;
    ccoord__unlock(node);
    if (rc == CCOORD_ENOTJOINED)
        return ccoord__fail(node, rc, "ccoord_leader: node %s has not joined", node->id);
    if (rc == CCOORD_ENOTFOUND)
        return ccoord__fail(node, rc, "ccoord_leader: no leader is known to node %s yet",
                            node->id);
    if (rc == CCOORD_ENOMEM)
        return ccoord__fail(node, rc, "ccoord_leader: out of memory");
    *ret_id = id;
    return rc;
}

