/*
 * lib/node.c: node lifecycle (new, join, leave, free), logging, errors,
 * membership queries and callback registration.
 */
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- errors ---------------------------------------------------------- */

static __thread const ccoord_node *err_node;
static __thread char err_text[1024];

int ccoord__fail(const ccoord_node *n, int status, const char *fmt, ...)
{
    va_list ap;
    err_node = n;
    va_start(ap, fmt);
    vsnprintf(err_text, sizeof err_text, fmt, ap);
    va_end(ap);
    return status;
}

void ccoord__clear_error(const ccoord_node *n)
{
    if (err_node == n)
        err_text[0] = '\0';
}

const char *ccoord_errmsg(const ccoord_node *node)
{
    if (!node || err_node != node)
        return "";
    return err_text;
}

/* 1 when s is 1..max bytes of well-formed UTF-8 (no overlong forms, no
 * surrogates) without control characters (C0, DEL, C1), and, unless
 * edge_space, without a leading or trailing space. */
static int valid_text(const char *s, size_t max, int edge_space)
{
    size_t len, i;
    const unsigned char *u = (const unsigned char *)s;
    if (!s)
        return 0;
    len = strlen(s);
    if (len == 0 || len > max || (!edge_space && (s[0] == ' ' || s[len - 1] == ' ')))
        return 0;
    for (i = 0; i < len;) {
        unsigned c = u[i];
        size_t k, extra;
        unsigned cp;
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (k = 1; k <= extra; k++) {
            if (i + k >= len || (u[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += extra + 1;
    }
    return 1;
}

int ccoord__valid_key(const char *s)
{
    return valid_text(s, CCOORD__MAX_KEY, 0);
}

/* Node ids, group ids and hostnames go into rows every backend must store
 * byte for byte; refuse what one of them would reject or alter. */
static int check_identity(ccoord_config *cfg, const char *what, const char *v, size_t max,
                          int edge_space)
{
    char shown[200];
    if (valid_text(v, max, edge_space))
        return CCOORD_OK;
    ccoord__printable(shown, sizeof shown, v ? v : "(null)", 100);
    ccoord__fmt(cfg->error, sizeof cfg->error,
                "%s = %s: not valid; allowed: 1 to %zu bytes of UTF-8 without control "
                "characters%s",
                what, shown, max, edge_space ? "" : " or leading/trailing spaces");
    return CCOORD_ECONFIG;
}

/* ---- logging --------------------------------------------------------- */

static void default_log(int level, const char *msg)
{
    struct timespec ts;
    struct tm tm;
    char when[32];
    static const char *names[] = {"", "ERROR", " WARN", " INFO", "DEBUG"};
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "[%s,%03ld] %s {clustercoord} - %s\n", when, ts.tv_nsec / 1000000,
            names[level >= 1 && level <= 4 ? level : 3], msg);
}

void ccoord__log(ccoord_node *n, int level, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    if (level > atomic_load(&n->log_level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&n->log_mu);
    if (n->log_cb)
        n->log_cb(n, level, msg, n->log_ud);
    else
        default_log(level, msg);
    pthread_mutex_unlock(&n->log_mu);
}

int ccoord_on_log(ccoord_node *node, ccoord_log_cb cb, void *user_data)
{
    if (!node)
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->log_mu);
    node->log_cb = cb;
    node->log_ud = user_data;
    pthread_mutex_unlock(&node->log_mu);
    return CCOORD_OK;
}

int ccoord_set_log_level(ccoord_node *node, int level)
{
    if (!node || level < CCOORD_LOG_NONE || level > CCOORD_LOG_DEBUG)
        return CCOORD_EINVAL;
    atomic_store(&node->log_level, level);
    return CCOORD_OK;
}

static void plugin_log(void *ctx, int level, const char *msg)
{
    ccoord__log(ctx, level, "%s", msg);
}

/* ---- events ---------------------------------------------------------- */

void ccoord__queue(ccoord_node *n, int kind, int event, const char *name, uint64_t fence)
{
    ccoord__events *q = &n->events;
    char *copy;
    if (q->count == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 16;
        ccoord__event *ni = ccoord__realloc(q->items, ncap * sizeof *ni);
        if (!ni)
            return; /* the callback is lost, the state is not */
        q->items = ni;
        q->cap = ncap;
    }
    copy = ccoord__strdup(name ? name : "");
    if (!copy)
        return;
    q->items[q->count].kind = kind;
    q->items[q->count].event = event;
    q->items[q->count].name = copy;
    q->items[q->count].fence = fence;
    q->count++;
}

/* Delivers queued events in order, one thread at a time: a thread that
 * finds another delivering leaves its events to that one, which loops
 * until the queue is empty.  No lock is held while a callback runs. */
void ccoord__fire(ccoord_node *n)
{
    ccoord__events q;
    size_t i;
    ccoord_member_cb mcb;
    ccoord_task_cb tcb;
    void *mud, *tud;
    pthread_mutex_lock(&n->mu);
    if (n->firing) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    n->firing = 1;
    while (n->events.count) {
        q = n->events;
        memset(&n->events, 0, sizeof n->events);
        mcb = n->member_cb;
        mud = n->member_ud;
        tcb = n->task_cb;
        tud = n->task_ud;
        pthread_mutex_unlock(&n->mu);
        for (i = 0; i < q.count; i++) {
            ccoord__event *e = &q.items[i];
            if (e->kind == 0 && mcb)
                mcb(n, e->event, e->name, mud);
            else if (e->kind == 1 && tcb)
                tcb(n, e->event, e->name, e->fence, tud);
            free(e->name);
        }
        free(q.items);
        pthread_mutex_lock(&n->mu);
    }
    n->firing = 0;
    pthread_mutex_unlock(&n->mu);
}

void ccoord__wake(ccoord_node *n)
{
    pthread_mutex_lock(&n->mu);
    n->wake = 1;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
}

int ccoord_on_member_change(ccoord_node *node, ccoord_member_cb cb, void *user_data)
{
    if (!node)
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->mu);
    node->member_cb = cb;
    node->member_ud = user_data;
    pthread_mutex_unlock(&node->mu);
    return CCOORD_OK;
}

int ccoord_on_task_change(ccoord_node *node, ccoord_task_cb cb, void *user_data)
{
    if (!node)
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->mu);
    node->task_cb = cb;
    node->task_ud = user_data;
    pthread_mutex_unlock(&node->mu);
    return CCOORD_OK;
}

/* ---- lifecycle ------------------------------------------------------- */

int ccoord_node_new(const ccoord_config *config, ccoord_node **ret_node)
{
    ccoord_node *n;
    ccoord_config *cfg = (ccoord_config *)config; /* error buffer only */
    char host[256];
    int rc;
    pthread_condattr_t ca;
    if (!config || !ret_node)
        return CCOORD_EINVAL;
    cfg->error[0] = '\0';
    n = ccoord__calloc(1, sizeof *n);
    if (!n)
        return CCOORD_ENOMEM;
    if (ccoord__settings_copy(&n->s, &config->s) != CCOORD_OK) {
        free(n);
        return CCOORD_ENOMEM;
    }
    rc = ccoord__config_node_id(config, &n->id);
    if (rc != CCOORD_OK) {
        ccoord__settings_free(&n->s);
        free(n);
        return rc;
    }
    rc = check_identity(cfg, "cluster_config.node_id", n->id, CCOORD__MAX_KEY, 0);
    if (!rc)
        rc = check_identity(cfg, "cluster_config.group_id", n->s.group_id, CCOORD__MAX_KEY, 0);
    if (!rc && n->s.hostname)
        rc = check_identity(cfg, "server.hostname", n->s.hostname, CCOORD__MAX_TEXT, 1);
    if (rc) {
        free(n->id);
        ccoord__settings_free(&n->s);
        free(n);
        return rc;
    }
    if (n->s.hostname) {
        n->hostname = ccoord__strdup(n->s.hostname);
    } else {
        if (gethostname(host, sizeof host) != 0)
            strcpy(host, "localhost");
        host[sizeof host - 1] = '\0';
        n->hostname = ccoord__strdup(host);
    }
    n->members = NULL;
    n->owned = ccoord__map_new();
    n->registered = ccoord__map_new();
    n->leader_id = ccoord__strdup("");
    if (!n->hostname || !n->owned || !n->registered || !n->leader_id) {
        rc = CCOORD_ENOMEM;
        goto fail;
    }
    n->interval_ns = n->s.heartbeat_interval_ms * 1000000LL;
    n->timeout_ns = n->interval_ns * n->s.heartbeat_max_retry;
    n->lease_ns = n->timeout_ns - n->interval_ns;
    n->version = -1;
    n->removals = -1;
    n->pid = getpid();
    atomic_store(&n->log_level, CCOORD_LOG_INFO);
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&n->api_mu, NULL);
    pthread_mutex_init(&n->log_mu, NULL);
    pthread_mutex_init(&n->resolve_mu, NULL);
    {
        char err[1024];
        rc = ccoord__resolver_load(n->s.resolver_class, n->s.plugin_dir, &n->s.resolver_params,
                                   plugin_log, n, &n->resolver, err, sizeof err);
        if (rc != CCOORD_OK) {
            ccoord__fmt(cfg->error, sizeof cfg->error, "task_handling.resolver_class = %s: %s",
                        n->s.resolver_class, err);
            goto fail_sync;
        }
    }
    {
        /* A statement may run at most this long before the watchdog breaks
         * it: long enough for a busy server, short enough to keep trying. */
        int64_t st = n->s.connect_timeout_s * 1000000000LL;
        /* The background thread's statements are cut sooner (the lease,
         * at least 1 s), so it gets back to firing REVOKED on time and to
         * reconnecting while a server stalls. */
        int64_t bg = n->lease_ns > 1000000000LL ? n->lease_ns : 1000000000LL;
        if (st < n->timeout_ns)
            st = n->timeout_ns;
        rc = ccoord__db_init(&n->bg_db, &n->s, bg);
        if (rc == CCOORD_OK) {
            rc = ccoord__db_init(&n->api_db, &n->s, st);
            if (rc != CCOORD_OK)
                ccoord__db_destroy(&n->bg_db);
        }
        if (rc != CCOORD_OK) {
            ccoord__fmt(cfg->error, sizeof cfg->error, "datasource.driver = %s: %s",
                        n->s.driver, n->bg_db.err[0] ? n->bg_db.err : n->api_db.err);
            ccoord__resolver_unload(n->resolver);
            goto fail_sync;
        }
    }
    *ret_node = n;
    return CCOORD_OK;
fail_sync:
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->api_mu);
    pthread_mutex_destroy(&n->log_mu);
    pthread_mutex_destroy(&n->resolve_mu);
fail:
    ccoord__map_free(n->owned, free);
    ccoord__map_free(n->registered, NULL);
    free(n->leader_id);
    free(n->hostname);
    free(n->id);
    ccoord__settings_free(&n->s);
    free(n);
    return rc;
}

const char *ccoord_node_id(const ccoord_node *node)
{
    return node ? node->id : "";
}

static int in_own_thread(ccoord_node *n)
{
    return n->thread_running && pthread_equal(pthread_self(), n->thread);
}

static void stop_threads(ccoord_node *n)
{
    pthread_mutex_lock(&n->mu);
    n->stop = 1;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
    if (n->thread_running) {
        pthread_join(n->thread, NULL);
        n->thread_running = 0;
    }
    if (n->wd_running) {
        pthread_join(n->wd_thread, NULL);
        n->wd_running = 0;
    }
    n->stop = 0;
}

int ccoord_join(ccoord_node *node)
{
    int rc;
    int64_t t0;
    if (!node)
        return CCOORD_EINVAL;
    if (getpid() != node->pid)
        return ccoord__fail(node, CCOORD_EFORKED, "ccoord_join: node created in process %ld, "
                            "used in forked child %ld", (long)node->pid, (long)getpid());
    pthread_mutex_lock(&node->mu);
    if (node->joined) {
        pthread_mutex_unlock(&node->mu);
        return ccoord__fail(node, CCOORD_EMISUSE, "ccoord_join: node %s has already joined",
                            node->id);
    }
    pthread_mutex_unlock(&node->mu);
    ccoord__clear_error(node);

    pthread_mutex_lock(&node->api_mu);
    t0 = ccoord__now_ns();
    rc = ccoord__db_ensure_schema(&node->api_db);
    if (rc == CCOORD_OK)
        rc = ccoord__join_row(node, &node->api_db);
    if (rc != CCOORD_OK) {
        char detail[800];
        ccoord__fmt(detail, sizeof detail, "%s", node->api_db.err);
        ccoord__db_disconnect(&node->api_db);
        pthread_mutex_unlock(&node->api_mu);
        if (rc == CCOORD_EDUPNODE)
            return ccoord__fail(node, rc, "ccoord_join: %s", detail);
        return ccoord__fail(node, rc, "ccoord_join: node %s, group %s: %s", node->id,
                            node->s.group_id, detail);
    }
    pthread_mutex_unlock(&node->api_mu);
    (void)t0;
    ccoord__log(node, CCOORD_LOG_INFO, "Successfully joined the cluster with id [%s]", node->id);

    pthread_mutex_lock(&node->mu);
    node->joined = 1;
    node->stop = 0;
    node->force_refresh = 1;
    node->version = -1;
    node->removals = -1;
    node->views_ready = 0;
    pthread_mutex_unlock(&node->mu);
    if (pthread_create(&node->wd_thread, NULL, ccoord__watchdog_main, node) == 0)
        node->wd_running = 1;
    if (pthread_create(&node->thread, NULL, ccoord__bg_main, node) != 0) {
        stop_threads(node);
        pthread_mutex_lock(&node->mu);
        node->joined = 0;
        pthread_mutex_unlock(&node->mu);
        return ccoord__fail(node, CCOORD_ENOMEM, "ccoord_join: cannot start the background thread");
    }
    node->thread_running = 1;
    /* Return with a view of the cluster in place (ccoord_members, the
     * leader), bounded by the timeout in case the database is slow. */
    {
        int64_t until = ccoord__now_ns() + node->timeout_ns;
        while (ccoord__now_ns() < until) {
            int ready;
            pthread_mutex_lock(&node->mu);
            ready = node->views_ready;
            pthread_mutex_unlock(&node->mu);
            if (ready)
                break;
            ccoord__sleep_ns(1000000);
        }
    }
    return CCOORD_OK;
}

/* Deletes the member row, releases the tasks and task_nodes rows, steps
 * down; as leader first hands the released tasks over. */
static int leave_db(ccoord_node *n, ccoord__db *db)
{
    ccoord__buf b;
    int rc, was_leader = ccoord__is_leader_now(n);
    const char *p = n->s.table_prefix;
    ccoord__buf_init(&b);
    rc = ccoord__db_begin(db);
    if (!rc) {
        ccoord__buf_addf(&b, "DELETE FROM %smembers WHERE group_id = ", p);
        rc = ccoord__q(db, &b, n->s.group_id);
        ccoord__buf_add(&b, " AND node_id = ");
        if (!rc)
            rc = ccoord__q(db, &b, n->id);
        ccoord__buf_addf(&b, " AND incarnation = %lld", n->incarnation);
        if (!rc)
            rc = ccoord__db_exec(db, "delete member row", b.data, NULL);
    }
    if (!rc) {
        ccoord__buf_reset(&b);
        ccoord__buf_addf(&b, "UPDATE %stasks SET owner = NULL, epoch = epoch + 1 WHERE group_id = ", p);
        rc = ccoord__q(db, &b, n->s.group_id);
        ccoord__buf_add(&b, " AND owner = ");
        if (!rc)
            rc = ccoord__q(db, &b, n->id);
        if (!rc)
            rc = ccoord__db_exec(db, "release tasks", b.data, NULL);
    }
    if (!rc) {
        ccoord__buf_reset(&b);
        ccoord__buf_addf(&b, "DELETE FROM %stask_nodes WHERE group_id = ", p);
        rc = ccoord__q(db, &b, n->s.group_id);
        ccoord__buf_add(&b, " AND node_id = ");
        if (!rc)
            rc = ccoord__q(db, &b, n->id);
        if (!rc)
            rc = ccoord__db_exec(db, "delete task registrations", b.data, NULL);
    }
    if (!rc)
        rc = ccoord__bump_version(db, n, 1);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    if (!rc && was_leader) {
        /* Hand the released tasks over before stepping down, so the new
         * owners only have to read them. */
        ccoord__resolve_pass(n, db, 0, n->id);
        ccoord__buf_reset(&b);
        ccoord__buf_addf(&b, "UPDATE %sleader SET node_id = '', heartbeat = heartbeat + 1 "
                             "WHERE group_id = ", p);
        if (ccoord__q(db, &b, n->s.group_id) == CCOORD_OK) {
            ccoord__buf_add(&b, " AND node_id = ");
            if (ccoord__q(db, &b, n->id) == CCOORD_OK) {
                ccoord__buf_addf(&b, " AND term = %lld", n->leader_term);
                if (ccoord__db_exec(db, "step down", b.data, NULL) == CCOORD_OK) {
                    ccoord__buf_reset(&b);
                    if (ccoord__db_begin(db) == CCOORD_OK) {
                        if (ccoord__bump_version(db, n, 0) == CCOORD_OK)
                            ccoord__db_commit(db);
                        else
                            ccoord__db_rollback(db);
                    }
                }
            }
        }
    }
    ccoord__buf_free(&b);
    return rc;
}

int ccoord_leave(ccoord_node *node)
{
    int rc;
    if (!node)
        return CCOORD_EINVAL;
    if (getpid() != node->pid)
        return ccoord__fail(node, CCOORD_EFORKED, "ccoord_leave: node created in process %ld, "
                            "used in forked child %ld", (long)node->pid, (long)getpid());
    if (in_own_thread(node))
        return ccoord__fail(node, CCOORD_EMISUSE,
                            "ccoord_leave: called from a callback of node %s", node->id);
    pthread_mutex_lock(&node->mu);
    if (!node->joined) {
        pthread_mutex_unlock(&node->mu);
        return ccoord__fail(node, CCOORD_ENOTJOINED, "ccoord_leave: node %s has not joined",
                            node->id);
    }
    pthread_mutex_unlock(&node->mu);
    stop_threads(node);

    /* Stop owning before anything is written: REVOKED fires first. */
    pthread_mutex_lock(&node->mu);
    atomic_store(&node->lease_until, 0);
    ccoord__revoke_all(node);
    pthread_mutex_unlock(&node->mu);
    ccoord__fire(node);

    pthread_mutex_lock(&node->api_mu);
    rc = leave_db(node, &node->api_db);
    if (rc != CCOORD_OK) {
        /* Retry once on a fresh connection; otherwise the leader evicts
         * us after the timeout, which is also safe. */
        ccoord__db_disconnect(&node->api_db);
        rc = leave_db(node, &node->api_db);
    }
    if (rc != CCOORD_OK)
        ccoord__fail(node, rc, "ccoord_leave: %s (the cluster will evict node %s after the timeout)",
                     node->api_db.err, node->id);
    ccoord__db_disconnect(&node->api_db);
    pthread_mutex_unlock(&node->api_mu);
    ccoord__db_disconnect(&node->bg_db);

    pthread_mutex_lock(&node->mu);
    ccoord__step_down_local(node);
    node->joined = 0;
    ccoord__members_free(node->members, node->member_count);
    node->members = NULL;
    node->member_count = 0;
    node->member_cap = 0;
    node->version = -1;
    free(node->leader_id);
    node->leader_id = ccoord__strdup("");
    pthread_mutex_unlock(&node->mu);
    ccoord__fire(node);
    if (rc == CCOORD_OK)
        ccoord__log(node, CCOORD_LOG_INFO, "Left the cluster (id [%s])", node->id);
    return rc;
}

void ccoord_node_free(ccoord_node *node)
{
    if (!node)
        return;
    if (in_own_thread(node)) {
        /* Freeing from one of its own callbacks would join the thread we
         * are on: refuse loudly rather than deadlock or free under it. */
        ccoord__log(node, CCOORD_LOG_ERROR,
                    "ccoord_node_free called from a callback of node %s; ignored", node->id);
        return;
    }
    if (getpid() != node->pid) {
        /* A forked child shares the parent's connections and has none of
         * its threads: touch neither, free only this process's memory. */
        node->thread_running = node->wd_running = 0;
        node->bg_db.conn = node->api_db.conn = NULL;
    } else if (node->joined) {
        ccoord_leave(node);
    }
    stop_threads(node);
    ccoord__db_destroy(&node->bg_db);
    ccoord__db_destroy(&node->api_db);
    ccoord__resolver_unload(node->resolver);
    ccoord__map_free(node->owned, free);
    ccoord__map_free(node->registered, NULL);
    ccoord__members_free(node->members, node->member_count);
    {
        size_t i;
        for (i = 0; i < node->events.count; i++)
            free(node->events.items[i].name);
        free(node->events.items);
    }
    free(node->leader_id);
    free(node->seen_lm_id);
    free(node->hostname);
    free(node->id);
    ccoord__settings_free(&node->s);
    pthread_mutex_destroy(&node->mu);
    pthread_cond_destroy(&node->cond);
    pthread_mutex_destroy(&node->api_mu);
    pthread_mutex_destroy(&node->log_mu);
    pthread_mutex_destroy(&node->resolve_mu);
    if (err_node == node)
        err_node = NULL;
    free(node);
}

/* ---- membership queries ---------------------------------------------- */

int ccoord_is_leader(const ccoord_node *node)
{
    return node && ccoord__is_leader_now(node) ? 1 : 0;
}

static void free_strv(char **v, size_t count)
{
    size_t i;
    if (!v)
        return;
    for (i = 0; i < count; i++)
        free(v[i]);
    free(v);
}

void ccoord_free_list(char **ids, size_t count)
{
    free_strv(ids, count);
}

int ccoord_members(ccoord_node *node, char ***ret_ids, size_t *ret_count)
{
    char **v;
    size_t i, count;
    if (!node || !ret_ids || !ret_count)
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->mu);
    if (!node->joined) {
        pthread_mutex_unlock(&node->mu);
        return ccoord__fail(node, CCOORD_ENOTJOINED, "ccoord_members: node %s has not joined",
                            node->id);
    }
    count = node->member_count;
    v = ccoord__calloc(count + 1, sizeof *v);
    for (i = 0; v && i < count; i++) {
        v[i] = ccoord__strdup(node->members[i].id);
        if (!v[i]) {
            free_strv(v, i);
            v = NULL;
        }
    }
    pthread_mutex_unlock(&node->mu);
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
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->mu);
    if (!node->joined)
        rc = CCOORD_ENOTJOINED;
    else if (!node->leader_id || !node->leader_id[0])
        rc = CCOORD_ENOTFOUND;
    else if (!(id = ccoord__strdup(node->leader_id)))
        rc = CCOORD_ENOMEM;
    pthread_mutex_unlock(&node->mu);
    if (rc == CCOORD_OK)
        *ret_id = id;
    return rc;
}

void ccoord__test_freeze(ccoord_node *n, int frozen)
{
    atomic_store(&n->frozen, frozen ? 1 : 0);
    ccoord__wake(n);
}

void ccoord__test_hold_resolution(ccoord_node *n, int hold)
{
    atomic_store(&n->hold_resolution, hold ? 1 : 0);
}

unsigned long ccoord__test_member_rows(ccoord_node *n)
{
    return atomic_load(&n->member_rows);
}

unsigned long ccoord__test_statements(ccoord_node *n)
{
    return atomic_load(&n->bg_db.statements) + atomic_load(&n->api_db.statements);
}
