/*
 * lib/core.c: floor 4, the node's shared services: error text, logging,
 * the state lock's deferred log lines, the event queue and its dispatcher
 * (its own thread, or the host's through ccoord_event_fd and
 * ccoord_dispatch), callback registration, the background thread's
 * wake-up and refresh door, and the test hooks.
 */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* ---- errors ---------------------------------------------------------- */

static __thread const ccoord_node *err_node;
static __thread char err_text[1024];
/* a detail written when it is read (ccoord__fail_later) */
static __thread const char *later_fmt;
static __thread char later_arg[CCOORD__MAX_KEY + 1];

int ccoord__fail(const ccoord_node *n, int status, const char *fmt, ...)
{
    va_list ap;
    err_node = n;
    later_fmt = NULL;
    va_start(ap, fmt);
    vsnprintf(err_text, sizeof err_text, fmt, ap);
    va_end(ap);
    return status;
}

int ccoord__fail_later(const ccoord_node *n, int status, const char *fmt, const char *arg)
{
    size_t len = strlen(arg);
    if (len >= sizeof later_arg)
        len = sizeof later_arg - 1;
    memcpy(later_arg, arg, len);
    later_arg[len] = '\0';
    err_node = n;
    later_fmt = fmt;
    return status;
}

int ccoord__null_arg(const ccoord_node *n, const char *fn, const char *arg)
{
    if (!n)
        return CCOORD_EINVAL;
    return ccoord__fail(n, CCOORD_EINVAL, "%s: %s is NULL", fn, arg);
}

int ccoord__check_process(const ccoord_node *n, const char *fn)
{
    if (getpid() == n->pid)
        return CCOORD_OK;
    return ccoord__fail(n, CCOORD_EFORKED, "%s: node created in process %ld, used in forked "
                        "child %ld", fn, (long)n->pid, (long)getpid());
}

void ccoord__clear_error(const ccoord_node *n)
{
    if (err_node == n) {
        err_text[0] = '\0';
        later_fmt = NULL;
    }
}

void ccoord__forget_error(const ccoord_node *n)
{
    if (err_node == n)
        err_node = NULL;
}

const char *ccoord_errmsg(const ccoord_node *node)
{
    if (!node || err_node != node)
        return "";
    if (later_fmt) {
        ccoord__fmt(err_text, sizeof err_text, later_fmt, node->id, later_arg);
        later_fmt = NULL;
    }
    return err_text;
}

/* ---- logging --------------------------------------------------------- */

/* The default sink, until ccoord_on_log sets one: one line on stderr,
 * with the node's id (one process may run several nodes). */
static void default_log(const ccoord_node *n, int level, const char *msg)
{
    struct timespec ts;
    struct tm tm;
    char when[32];
    static const char *names[] = {"", "ERROR", " WARN", " INFO", "DEBUG"};
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "[%s,%03ld] %s {clustercoord} [%s] - %s\n", when, ts.tv_nsec / 1000000,
            names[level >= 1 && level <= 4 ? level : 3], n->id, msg);
}

/* The sink set now, or the default (log_mu held). */
static void call_sink(ccoord_node *n, int level, const char *msg)
{
    if (n->log_cb)
        n->log_cb(n, level, msg, n->log_ud);
    else
        default_log(n, level, msg);
}

static int queue_log(ccoord_node *n, int level, const char *msg);

static void emit(ccoord_node *n, int level, const char *msg)
{
    int queued;
    pthread_mutex_lock(&n->log_mu);
    queued = n->log_cb && n->log_queued;
    if (!queued)
        call_sink(n, level, msg);
    pthread_mutex_unlock(&n->log_mu);
    if (queued && !queue_log(n, level, msg)) {
        /* nothing delivers now: the logging thread does */
        pthread_mutex_lock(&n->log_mu);
        call_sink(n, level, msg);
        pthread_mutex_unlock(&n->log_mu);
    }
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
    emit(n, level, msg);
}

void ccoord__log_locked(ccoord_node *n, int level, const char *fmt, ...)
{
    ccoord__deferred *d = &n->deferred;
    char msg[1200], *copy;
    va_list ap;
    if (level > atomic_load(&n->log_level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (d->count == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        int *lv = ccoord__realloc(d->levels, ncap * sizeof *lv);
        char **ln;
        if (!lv)
            return; /* the line is lost, nothing else */
        d->levels = lv;
        if (!(ln = ccoord__realloc(d->lines, ncap * sizeof *ln)))
            return;
        d->lines = ln;
        d->cap = ncap;
    }
    if (!(copy = ccoord__strdup(msg)))
        return;
    d->levels[d->count] = level;
    d->lines[d->count++] = copy;
}

/* A resolver says the same thing at every pass while nothing changes
 * ("Waiting for 2 nodes...", "No task node ... is live"), once a second
 * or more.  The line it said last is logged at its level once, and again
 * after PLUGIN_REPEAT_NS while it keeps saying it; the repeats in between
 * go to DEBUG.  A different line (a new count, another state) is logged
 * at once. */
#define PLUGIN_REPEAT_NS (60 * 1000000000LL)

void ccoord__plugin_log(void *ctx, int level, const char *msg)
{
    ccoord_node *n = ctx;
    uint64_t h = ccoord__hash_str(msg);
    int64_t now = ccoord__now_ns();
    int repeat;
    pthread_mutex_lock(&n->log_mu);
    repeat = h == n->plugin_line && level == n->plugin_line_level &&
             now - n->plugin_line_ns < PLUGIN_REPEAT_NS;
    if (!repeat) {
        n->plugin_line = h;
        n->plugin_line_level = level;
        n->plugin_line_ns = now;
    }
    pthread_mutex_unlock(&n->log_mu);
    if (repeat && level < CCOORD_LOG_DEBUG)
        ccoord__log(n, CCOORD_LOG_DEBUG, "%s (repeated)", msg);
    else
        ccoord__log(n, level, "%s", msg);
}

static int set_log(ccoord_node *node, ccoord_log_cb cb, void *user_data, int queued)
{
    if (!node)
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->log_mu);
    node->log_cb = cb;
    node->log_ud = user_data;
    node->log_queued = queued;
    pthread_mutex_unlock(&node->log_mu);
    return CCOORD_OK;
}

int ccoord_on_log(ccoord_node *node, ccoord_log_cb cb, void *user_data)
{
    return set_log(node, cb, user_data, 0);
}

int ccoord_on_log_dispatched(ccoord_node *node, ccoord_log_cb cb, void *user_data)
{
    return set_log(node, cb, user_data, 1);
}

int ccoord_set_log_level(ccoord_node *node, int level)
{
    if (!node)
        return CCOORD_EINVAL;
    if (level < CCOORD_LOG_NONE || level > CCOORD_LOG_DEBUG)
        return ccoord__fail(node, CCOORD_EINVAL,
                            "ccoord_set_log_level: level %d is not one of CCOORD_LOG_NONE (0) .. "
                            "CCOORD_LOG_DEBUG (4)", level);
    atomic_store(&node->log_level, level);
    return CCOORD_OK;
}

/* ---- the state lock -------------------------------------------------- */

void ccoord__lock(ccoord_node *n)
{
    pthread_mutex_lock(&n->mu);
}

void ccoord__unlock(ccoord_node *n)
{
    ccoord__deferred d = n->deferred;
    size_t i;
    if (!d.count) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    memset(&n->deferred, 0, sizeof n->deferred);
    pthread_mutex_unlock(&n->mu);
    for (i = 0; i < d.count; i++) {
        emit(n, d.levels[i], d.lines[i]);
        free(d.lines[i]);
    }
    free(d.lines);
    free(d.levels);
}

/* ---- events ---------------------------------------------------------- */

/* The node whose callback this thread runs now (NULL: none). */
static __thread const ccoord_node *in_cb_node;

int ccoord__in_callback(const ccoord_node *n)
{
    return in_cb_node == n;
}

/* Makes the event fd readable (ev_mu held; the queue just became
 * non-empty) or drains it (the queue is empty). */
static void fd_signal(ccoord_node *n, int readable)
{
    uint64_t v = 1;
    ssize_t r;
    if (n->event_fd < 0)
        return;
    do
        r = readable ? write(n->event_fd, &v, sizeof v) : read(n->event_fd, &v, sizeof v);
    while (r < 0 && errno == EINTR);
}

/* Appends an event (ev_mu held; takes copy, freed on failure). */
static void queue_locked(ccoord_node *n, int kind, int event, char *copy, uint64_t fence,
                         int64_t slot)
{
    ccoord__events *q = &n->events;
    if (copy)
        (void)ccoord__grow(&q->items, &q->cap, q->count, sizeof *q->items, 16);
    if (!copy || q->count == q->cap) {
        /* out of memory: the callback is lost, the state is not */
        free(copy);
        return;
    }
    q->items[q->count].kind = kind;
    q->items[q->count].event = event;
    q->items[q->count].name = copy;
    q->items[q->count].fence = fence;
    q->items[q->count].slot = slot;
    if (q->count++ == 0 && !n->ev_hold)
        fd_signal(n, 1);
    n->ev_queued++;
    pthread_cond_broadcast(&n->ev_cond);
}

void ccoord__queue(ccoord_node *n, int kind, int event, const char *name, uint64_t fence)
{
    char *copy = ccoord__strdup(name ? name : "");
    pthread_mutex_lock(&n->ev_mu);
    queue_locked(n, kind, event, copy, fence, 0);
    pthread_mutex_unlock(&n->ev_mu);
}

void ccoord__queue_fire(ccoord_node *n, const char *task, uint64_t fence, int64_t slot)
{
    char *copy = ccoord__strdup(task);
    pthread_mutex_lock(&n->ev_mu);
    queue_locked(n, CCOORD__EV_FIRE, 0, copy, fence, slot);
    pthread_mutex_unlock(&n->ev_mu);
}

/* A log line into the queue when something delivers it (the dispatcher
 * runs, or host dispatch); 0 otherwise. */
static int queue_log(ccoord_node *n, int level, const char *msg)
{
    int ok;
    pthread_mutex_lock(&n->ev_mu);
    ok = (n->ev_running && !n->ev_stop) || n->host_dispatch;
    if (ok)
        queue_locked(n, CCOORD__EV_LOG, level, ccoord__strdup(msg), 0, 0);
    pthread_mutex_unlock(&n->ev_mu);
    return ok;
}

/* Takes the whole queue as one batch (ev_mu held) for a deliverer; 0 when
 * empty or when another thread is delivering (events stay in order: one
 * batch at a time). */
static int take_batch(ccoord_node *n, ccoord__events *batch)
{
    if (n->delivering || n->ev_hold || n->events.count == 0)
        return 0;
    *batch = n->events;
    memset(&n->events, 0, sizeof n->events);
    fd_signal(n, 0);
    n->delivering = 1;
    return 1;
}

/* A queued log line, to the sink set now (no lock held: a dispatched sink
 * may call the library). */
static void deliver_log(ccoord_node *n, int level, const char *msg)
{
    ccoord_log_cb cb;
    void *ud;
    int queued;
    pthread_mutex_lock(&n->log_mu);
    cb = n->log_cb;
    ud = n->log_ud;
    queued = cb && n->log_queued;
    if (!queued)
        call_sink(n, level, msg);
    pthread_mutex_unlock(&n->log_mu);
    if (queued)
        cb(n, level, msg, ud);
}

/* Delivers a batch with no lock held, one event at a time, each with the
 * callback set when its turn comes; returns how many callbacks ran. */
static int deliver(ccoord_node *n, ccoord__events *batch)
{
    const ccoord_node *outer = in_cb_node;
    size_t i;
    int ran = 0;
    in_cb_node = n;
    for (i = 0; i < batch->count; i++) {
        ccoord__event *e = &batch->items[i];
        ccoord_member_cb mcb;
        ccoord_task_cb tcb;
        void *mud, *tud;
        pthread_mutex_lock(&n->ev_mu);
        mcb = n->member_cb;
        mud = n->member_ud;
        tcb = n->task_cb;
        tud = n->task_ud;
        pthread_mutex_unlock(&n->ev_mu);
        if (e->kind == CCOORD__EV_LOG) {
            deliver_log(n, e->event, e->name);
        } else if (e->kind == CCOORD__EV_MEMBER && mcb) {
            mcb(n, e->event, e->name, mud);
            ran++;
        } else if (e->kind == CCOORD__EV_TASK && tcb) {
            tcb(n, e->event, e->name, e->fence, tud);
            ran++;
        } else if (e->kind == CCOORD__EV_FIRE && n->fire_hook) {
            n->fire_hook(n, e->name, e->fence, e->slot);
            ran++;
        }
        free(e->name);
        pthread_mutex_lock(&n->ev_mu);
        n->ev_done++;
        pthread_cond_broadcast(&n->ev_cond);
        pthread_mutex_unlock(&n->ev_mu);
    }
    in_cb_node = outer;
    free(batch->items);
    return ran;
}

/* A batch is delivered (ev_mu held): the next one may start; the event
 * fd stays readable while events wait. */
static void finish_batch(ccoord_node *n)
{
    n->delivering = 0;
    if (n->events.count)
        fd_signal(n, 1);
    pthread_cond_broadcast(&n->ev_cond);
}

static void *dispatcher_main(void *arg)
{
    ccoord_node *n = arg;
    ccoord__events batch;
    pthread_mutex_lock(&n->ev_mu);
    for (;;) {
        if (take_batch(n, &batch)) {
            pthread_mutex_unlock(&n->ev_mu);
            deliver(n, &batch);
            pthread_mutex_lock(&n->ev_mu);
            finish_batch(n);
            continue;
        }
        if (n->ev_stop && n->events.count == 0)
            break;
        pthread_cond_wait(&n->ev_cond, &n->ev_mu);
    }
    pthread_mutex_unlock(&n->ev_mu);
    return NULL;
}

void ccoord__dispatch_hold(ccoord_node *n, int on)
{
    pthread_mutex_lock(&n->ev_mu);
    n->ev_hold = on;
    if (!on && n->events.count && !n->delivering)
        fd_signal(n, 1);
    pthread_cond_broadcast(&n->ev_cond);
    pthread_mutex_unlock(&n->ev_mu);
}

int ccoord__dispatch_start(ccoord_node *n)
{
    int rc = CCOORD_OK;
    pthread_mutex_lock(&n->ev_mu);
    if (!n->host_dispatch && !n->ev_running) {
        n->ev_stop = 0;
        if (pthread_create(&n->ev_thread, NULL, dispatcher_main, n) == 0)
            n->ev_running = 1;
        else
            rc = CCOORD_ENOMEM;
    }
    pthread_mutex_unlock(&n->ev_mu);
    return rc;
}

void ccoord__dispatch_stop(ccoord_node *n)
{
    int running;
    pthread_mutex_lock(&n->ev_mu);
    running = n->ev_running;
    n->ev_stop = 1;
    pthread_cond_broadcast(&n->ev_cond);
    pthread_mutex_unlock(&n->ev_mu);
    if (running)
        pthread_join(n->ev_thread, NULL);
    n->ev_running = 0;
}

int ccoord__dispatch_drain(ccoord_node *n, int64_t until_ns)
{
    unsigned long long target;
    int drained;
    if (ccoord__in_callback(n))
        return 1; /* the events follow when this callback returns */
    pthread_mutex_lock(&n->ev_mu);
    target = n->ev_queued;
    if (n->host_dispatch || !n->ev_running) {
        drained = n->ev_done >= target;
        pthread_mutex_unlock(&n->ev_mu);
        return drained;
    }
    while (n->ev_done < target) {
        struct timespec ts;
        int64_t left = until_ns - ccoord__now_ns();
        if (left <= 0)
            break;
        if (left > 50000000)
            left = 50000000; /* ev_cond runs on CLOCK_REALTIME: re-check often */
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)left;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&n->ev_cond, &n->ev_mu, &ts);
    }
    drained = n->ev_done >= target;
    pthread_mutex_unlock(&n->ev_mu);
    return drained;
}

void ccoord__events_free(ccoord_node *n)
{
    size_t i;
    for (i = 0; i < n->events.count; i++)
        free(n->events.items[i].name);
    free(n->events.items);
    memset(&n->events, 0, sizeof n->events);
    if (n->event_fd >= 0)
        close(n->event_fd);
    n->event_fd = -1;
}

int ccoord_event_fd(ccoord_node *node, int *ret_fd)
{
    int fd, joined;
    if (!node || !ret_fd)
        return ccoord__null_arg(node, "ccoord_event_fd", "ret_fd");
    joined = ccoord__joined(node);
    pthread_mutex_lock(&node->ev_mu);
    if (node->host_dispatch) {
        fd = node->event_fd;
        pthread_mutex_unlock(&node->ev_mu);
        *ret_fd = fd;
        return CCOORD_OK;
    }
    if (joined || node->ev_running) {
        pthread_mutex_unlock(&node->ev_mu);
        return ccoord__fail(node, CCOORD_EMISUSE,
                            "ccoord_event_fd: node %s %s: it delivers its events on its own "
                            "dispatcher thread; call ccoord_event_fd before the first "
                            "ccoord_join", node->id,
                            joined ? "has joined" : "started its dispatcher at an earlier join");
    }
    fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        pthread_mutex_unlock(&node->ev_mu);
        return ccoord__fail(node, e == ENOMEM ? CCOORD_ENOMEM : CCOORD_EINVAL,
                            "ccoord_event_fd: eventfd: %s", strerror(e));
    }
    node->event_fd = fd;
    node->host_dispatch = 1;
    if (node->events.count)
        fd_signal(node, 1);
    pthread_mutex_unlock(&node->ev_mu);
    *ret_fd = fd;
    return CCOORD_OK;
}

int ccoord_dispatch(ccoord_node *node)
{
    ccoord__events batch;
    int ran;
    if (!node)
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->ev_mu);
    if (!node->host_dispatch) {
        pthread_mutex_unlock(&node->ev_mu);
        return ccoord__fail(node, CCOORD_EMISUSE,
                            "ccoord_dispatch: node %s delivers its events on its own thread; "
                            "call ccoord_event_fd before ccoord_join to dispatch them yourself",
                            node->id);
    }
    if (!take_batch(node, &batch)) {
        /* nothing waits, or a callback of this node is running (a call
         * from inside it, or another thread's dispatch): the events wait
         * their turn, in order */
        pthread_mutex_unlock(&node->ev_mu);
        return 0;
    }
    pthread_mutex_unlock(&node->ev_mu);
    ran = deliver(node, &batch);
    pthread_mutex_lock(&node->ev_mu);
    finish_batch(node);
    pthread_mutex_unlock(&node->ev_mu);
    return ran;
}

int ccoord_on_member_change(ccoord_node *node, ccoord_member_cb cb, void *user_data)
{
    if (!node)
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->ev_mu);
    node->member_cb = cb;
    node->member_ud = user_data;
    pthread_mutex_unlock(&node->ev_mu);
    return CCOORD_OK;
}

int ccoord_on_task_change(ccoord_node *node, ccoord_task_cb cb, void *user_data)
{
    if (!node)
        return CCOORD_EINVAL;
    pthread_mutex_lock(&node->ev_mu);
    node->task_cb = cb;
    node->task_ud = user_data;
    pthread_mutex_unlock(&node->ev_mu);
    return CCOORD_OK;
}

/* ---- the background thread's doors ------------------------------------ */

void ccoord__wake(ccoord_node *n)
{
    pthread_mutex_lock(&n->mu);
    n->wake = 1;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
}

void ccoord__request_refresh_locked(ccoord_node *n)
{
    n->force_refresh = 1;
}

void ccoord__request_refresh(ccoord_node *n)
{
    pthread_mutex_lock(&n->mu);
    n->force_refresh = 1;
    pthread_mutex_unlock(&n->mu);
}

int ccoord__take_refresh(ccoord_node *n)
{
    int f;
    pthread_mutex_lock(&n->mu);
    f = n->force_refresh;
    n->force_refresh = 0;
    pthread_mutex_unlock(&n->mu);
    return f;
}

int ccoord__is_leader_now(const ccoord_node *n)
{
    int64_t until = atomic_load(&((ccoord_node *)n)->leader_until);
    return until && ccoord__now_ns() < until;
}

int ccoord__joined(ccoord_node *n)
{
    int j;
    pthread_mutex_lock(&n->mu);
    j = n->joined;
    pthread_mutex_unlock(&n->mu);
    return j;
}

/* ---- test hooks ------------------------------------------------------- */

void ccoord__test_freeze(ccoord_node *n, int frozen)
{
    atomic_store(&n->frozen, frozen ? 1 : 0);
    ccoord__wake(n);
}

void ccoord__test_hold_resolution(ccoord_node *n, int hold)
{
    atomic_store(&n->hold_resolution, hold ? 1 : 0);
}

void ccoord__test_refresh_stall(ccoord_node *n, int ms)
{
    atomic_store(&n->refresh_stall_ms, ms > 0 ? ms : 0);
}

void ccoord__test_set_in_tx(ccoord_node *n, void (*hook)(ccoord_node *n, const char *where))
{
    pthread_mutex_lock(&n->mu);
    n->test_in_tx = hook;
    pthread_mutex_unlock(&n->mu);
}

void ccoord__test_in_tx(ccoord_node *n, const char *where)
{
    void (*hook)(ccoord_node *, const char *);
    pthread_mutex_lock(&n->mu);
    hook = n->test_in_tx;
    pthread_mutex_unlock(&n->mu);
    if (hook)
        hook(n, where);
}

void ccoord__test_set_join_end(ccoord_node *n, void (*hook)(ccoord_node *n))
{
    pthread_mutex_lock(&n->mu);
    n->test_join_end = hook;
    pthread_mutex_unlock(&n->mu);
}

void ccoord__test_join_end(ccoord_node *n)
{
    void (*hook)(ccoord_node *);
    pthread_mutex_lock(&n->mu);
    hook = n->test_join_end;
    pthread_mutex_unlock(&n->mu);
    if (hook)
        hook(n);
}

unsigned long ccoord__test_member_rows(ccoord_node *n)
{
    return atomic_load(&n->member_rows);
}

unsigned long ccoord__test_statements(ccoord_node *n)
{
    return atomic_load(&n->bg_db.statements) + atomic_load(&n->api_db.statements);
}
