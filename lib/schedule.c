/*
 * lib/schedule.c: floor 7, scheduled tasks (schedule.h).
 *
 * One slot fires once in the whole cluster: before a fire, the owner
 * records the slot in the task's row by compare-and-set on its fence
 * (ccoord__row_task_fire: owner and epoch as the fence says, and no slot
 * as late recorded), and fires only when that changed the row.  A new
 * owner reads last_slot with the task and goes on after it.  Slots are
 * wall-clock instants (what "every 5 minutes at :00" means); ownership
 * and fencing stay on the monotonic lease as everywhere else.
 *
 * Misfires: a slot is on time when its fire starts within the trigger's
 * grace (default 1 s) of it.  When several
 * slots are due at once (an outage, a failover, a fire that overran) the
 * policy decides: once fires the latest of them, skip fires one only when
 * it is on time, all fires them in order, at most max_catchup of the
 * latest.  A fire never overlaps the previous fire of the same task.
 */
#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskstate.h"
#include "trigger.h"

typedef struct sched {
    ccoord__trigger trig;
    ccoord_fire_cb cb;
    void *ud;
    uint64_t fence;      /* the ownership epoch the fields below belong to; 0 none */
    long long last_slot; /* the last slot recorded (ms), -1 none */
    long long fires;     /* fires recorded */
    long long skip_to;   /* slots up to this one were passed over (misfire), -1 none */
    int in_flight;       /* a fire is being recorded, queued or running */
    int completing;      /* the count is reached: COMPLETED is being written */
    int64_t retry_at;    /* after a failed statement: not before (wall ms) */
    int failing;         /* the failure was logged; logged again once it works */
} sched;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sched_free(void *p)
{
    sched *s = p;
    if (!s)
        return;
    ccoord__trigger_free(&s->trig);
    free(s);
}

static int64_t grace_ms(const sched *s)
{
    return s->trig.grace_ms;
}

static void iso_ms(int64_t ms, char *out, size_t len)
{
    ccoord__civil t;
    ccoord__utc_to_civil(ms / 1000, &t);
    ccoord__fmt(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.year, t.month, t.day, t.hour,
                t.min, t.sec, (int)(ms % 1000));
}

/* ---- which slot is due ------------------------------------------------------ */

/* The slots of s due at now, after base: the first, the latest, how many
 * (capped), and the one max_catchup from the end (misfire=all).
 * Returns 0 when none is due, with *ret_next the next slot (or -1: none
 * ever). */
typedef struct due {
    int64_t first, latest, nth, next;
    long long count;
} due;

static int find_due(const sched *s, int64_t base, int64_t now, due *d)
{
    const ccoord__trigger *t = &s->trig;
    int64_t x;
    long long k = 0, keep = s->trig.max_catchup > 0 ? s->trig.max_catchup : 1;
    memset(d, 0, sizeof *d);
    if (!ccoord__trigger_next(t, base, &d->first)) {
        d->next = -1;
        return 0;
    }
    if (d->first > now) {
        d->next = d->first;
        return 0;
    }
    if (!t->is_cron) {
        d->count = (now - d->first) / t->interval_ms + 1;
        d->latest = d->first + (d->count - 1) * t->interval_ms;
        d->nth = d->count > keep ? d->latest - (keep - 1) * t->interval_ms : d->first;
        return 1;
    }
    /* cron: walk them (a ring of the last keep), at most a million */
    {
        int64_t ring[64];
        long long cap = keep < 64 ? keep : 64;
        for (x = d->first; k < 1000000; k++) {
            int64_t nx;
            ring[k % cap] = x;
            d->latest = x;
            if (!ccoord__trigger_next(t, x, &nx) || nx > now)
                break;
            x = nx;
        }
        d->count = k + 1;
        d->nth = d->count > cap ? ring[(k + 1) % cap] : d->first;
    }
    return 1;
}

/* What s fires now (mu held): 1 and *ret_slot, or 0 and *ret_wait_ms
 * (when to look again).  Passes over the slots the policy does not fire. */
static int decide(ccoord_node *n, const char *name, sched *s, int64_t now, int64_t *ret_slot,
                  int64_t *ret_wake)
{
    int64_t base = s->last_slot >= 0 ? s->last_slot : now - grace_ms(s) - 1;
    due d;
    if (s->skip_to > base)
        base = s->skip_to;
    if (!find_due(s, base, now, &d)) {
        *ret_wake = d.next < 0 ? now + 60000 : d.next;
        return 0;
    }
    if (s->trig.misfire == CCOORD__MISFIRE_ALL) {
        *ret_slot = d.nth;
        if (d.nth != d.first)
            s->skip_to = d.nth - 1;
    } else if (s->trig.misfire == CCOORD__MISFIRE_SKIP && now - d.latest > grace_ms(s)) {
        s->skip_to = d.latest;
        atomic_fetch_add(&n->stats.skipped_slots, (unsigned long long)d.count);
        ccoord__log_locked(n, CCOORD_LOG_INFO,
                           "Task [%s][%s]: %lld slot(s) missed, not fired (misfire=skip)",
                           n->s.task_group, name, d.count);
        *ret_wake = now + 1;
        return 0;
    } else {
        *ret_slot = d.latest;
    }
    if (d.count > 1) {
        long long passed = s->trig.misfire == CCOORD__MISFIRE_ALL
                               ? (d.nth == d.first ? 0 : d.count - s->trig.max_catchup)
                               : d.count - 1;
        char when[40];
        iso_ms(d.first, when, sizeof when);
        if (passed > 0) {
            atomic_fetch_add(&n->stats.skipped_slots, (unsigned long long)passed);
            ccoord__log_locked(n, CCOORD_LOG_INFO,
                               "Task [%s][%s]: %lld slot(s) missed since %s; %lld not fired "
                               "(misfire=%s)",
                               n->s.task_group, name, d.count, when, passed,
                               s->trig.misfire == CCOORD__MISFIRE_ALL ? "all, max_catchup"
                                                                      : "once");
        }
    }
    return 1;
}

/* ---- the thread ------------------------------------------------------------- */

typedef struct work {
    char *name;
    uint64_t fence;
    int64_t slot;
    long long count, grace; /* the trigger's */
    int complete;           /* write COMPLETED instead of a fire */
} work;

/* Brings s up to date with the ownership table (mu held): 1 when this
 * node may fire it now (granted, ACTIVE, lease valid). */
static int owned_now(ccoord_node *n, const char *name, sched *s)
{
    ccoord__owned *o = ccoord__map_get(n->owned, name);
    if (!o || !o->granted || o->state != CCOORD_TASK_ACTIVE ||
        ccoord__now_ns() >= atomic_load(&n->lease_until)) {
        if (!s->in_flight)
            s->fence = 0;
        return 0;
    }
    if (s->fence != o->fence) {
        /* a new ownership: what the row said when it was granted */
        s->fence = o->fence;
        s->last_slot = o->last_slot;
        s->fires = o->fires;
        s->skip_to = -1;
        s->completing = 0;
    } else {
        if (o->last_slot > s->last_slot)
            s->last_slot = o->last_slot;
        if (o->fires > s->fires)
            s->fires = o->fires;
    }
    return 1;
}

/* Collects what is due (mu held) into *w (at most cap); *ret_wake: when
 * to look again (wall ms). */
static size_t collect(ccoord_node *n, work *w, size_t cap, int64_t *ret_wake)
{
    size_t i = 0, k = 0;
    const char *name;
    void *v;
    int64_t now = wall_ms(), wake = now + 1000;
    if (atomic_load(&n->frozen)) { /* test hook: the node's threads do nothing */
        *ret_wake = now + 5;
        return 0;
    }
    while (k < cap && ccoord__map_iter(n->schedules, &i, &name, &v)) {
        sched *s = v;
        int64_t slot = 0, when = wake;
        if (!owned_now(n, name, s) || s->in_flight || s->completing)
            continue;
        if (now < s->retry_at) {
            if (s->retry_at < wake)
                wake = s->retry_at;
            continue;
        }
        if (s->trig.count && s->fires >= s->trig.count) {
            s->completing = 1;
            w[k] = (work){ccoord__strdup(name), s->fence, 0, s->trig.count, 0, 1};
        } else if (decide(n, name, s, now, &slot, &when)) {
            s->in_flight = 1;
            w[k] = (work){ccoord__strdup(name), s->fence, slot, s->trig.count, grace_ms(s), 0};
        } else {
            if (when < wake)
                wake = when;
            continue;
        }
        if (!w[k].name) { /* out of memory: again at the next look */
            s->in_flight = s->completing = 0;
            continue;
        }
        k++;
    }
    *ret_wake = wake;
    return k;
}

struct fire_arg {
    uint64_t fence;
    int64_t slot;
    long long count, grace;
    unsigned long long rows;
};

static int do_fire(ccoord_node *n, ccoord__db *db, const char *task, void *arg)
{
    struct fire_arg *f = arg;
    return ccoord__row_task_fire(db, task, n->id, (long long)f->fence, f->slot, f->count,
                                 f->grace, &f->rows);
}

static int do_complete(ccoord_node *n, ccoord__db *db, const char *task, void *arg)
{
    int found = 0;
    (void)n, (void)arg;
    return ccoord__task_state_change(db, task, CCOORD_TASK_COMPLETED, &found);
}

/* Records one fire and queues it, or writes COMPLETED (no lock held). */
static void run_work(ccoord_node *n, work *w)
{
    struct fire_arg f = {w->fence, w->slot, w->count, w->grace, 0};
    uint64_t fence = 0;
    sched *s;
    int rc;
    if (w->complete) {
        rc = ccoord__task_api_call(n, "schedule", w->name, do_complete, NULL);
        if (rc == CCOORD_OK)
            ccoord__log(n, CCOORD_LOG_INFO, "Task completed: [%s][%s] after %lld fire(s).",
                        n->s.task_group, w->name, w->count);
        ccoord__lock(n);
        if (rc && (s = ccoord__map_get(n->schedules, w->name)))
            s->completing = 0; /* again at the next look */
        ccoord__unlock(n);
        ccoord__request_refresh(n);
        return;
    }
    /* the fence is still this node's, and its lease holds */
    rc = ccoord_acquire_task(n, w->name, &fence) == CCOORD_OK && fence == w->fence
             ? ccoord__task_api_call(n, "schedule", w->name, do_fire, &f)
             : CCOORD_ENOTOWNER;
    ccoord__lock(n);
    s = ccoord__map_get(n->schedules, w->name);
    if (s && rc != CCOORD_ENOTOWNER) {
        int was = s->failing;
        s->failing = rc != CCOORD_OK;
        s->retry_at = rc != CCOORD_OK ? wall_ms() + 200 : 0;
        if (rc != CCOORD_OK && !was)
            ccoord__log_locked(n, CCOORD_LOG_WARN,
                               "Task [%s][%s]: recording the fire of a slot failed (%s); "
                               "trying again every 200 ms",
                               n->s.task_group, w->name, ccoord_errmsg(n));
        else if (rc == CCOORD_OK && was)
            ccoord__log_locked(n, CCOORD_LOG_INFO, "Task [%s][%s]: recording fires works again",
                               n->s.task_group, w->name);
    }
    if (rc == CCOORD_OK && f.rows == 1) {
        int64_t late = wall_ms() - w->slot;
        if (s && s->fence == w->fence) {
            s->last_slot = w->slot;
            s->fires++;
        }
        ccoord__count(&n->stats.fires);
        if (s && late > grace_ms(s))
            ccoord__count(&n->stats.late_fires);
        if (atomic_load(&n->log_level) >= CCOORD_LOG_DEBUG) {
            char when[40];
            iso_ms(w->slot, when, sizeof when);
            ccoord__log_locked(n, CCOORD_LOG_DEBUG,
                               "Task fired: [%s][%s] slot %s, fence %llu, %lld ms after it",
                               n->s.task_group, w->name, when, (unsigned long long)w->fence,
                               (long long)late);
        }
        ccoord__unlock(n);
        ccoord__queue_fire(n, w->name, w->fence, w->slot);
        return;
    }
    if (s) {
        s->in_flight = 0;
        /* the row refused the slot (a slot as late recorded, another
         * epoch, the count reached, or a slot ahead of the server's clock):
         * this slot is passed over, and the row read again */
        if (rc == CCOORD_OK && s->fence == w->fence && w->slot > s->skip_to)
            s->skip_to = w->slot;
    }
    ccoord__unlock(n);
    if (rc == CCOORD_OK)
        ccoord__request_refresh(n);
}

static void *sched_main(void *arg)
{
    ccoord_node *n = arg;
    work w[16];
    ccoord__lock(n);
    while (!n->sched_stop) {
        int64_t wake;
        size_t k = collect(n, w, 16, &wake), i;
        if (k) {
            ccoord__unlock(n);
            for (i = 0; i < k; i++) {
                run_work(n, &w[i]);
                free(w[i].name);
            }
            ccoord__lock(n);
            continue;
        }
        {
            /* slots are wall-clock; the wait is monotonic and at most a
             * second, so a clock step is noticed within one */
            struct timespec ts;
            int64_t delta = wake - wall_ms();
            if (delta > 1000)
                delta = 1000;
            if (delta < 1)
                delta = 1;
            ccoord__mono_after(delta * 1000000, &ts);
            pthread_cond_timedwait(&n->sched_cond, &n->mu, &ts);
        }
    }
    ccoord__unlock(n);
    return NULL;
}

/* On the dispatcher (no lock held): the callback of the fire, then the
 * next slot may be looked at. */
static void fire_hook(ccoord_node *n, const char *task, uint64_t fence, int64_t slot)
{
    ccoord_fire_cb cb = NULL;
    void *ud = NULL;
    sched *s;
    ccoord__lock(n);
    if ((s = ccoord__map_get(n->schedules, task))) {
        cb = s->cb;
        ud = s->ud;
    }
    ccoord__unlock(n);
    if (cb)
        cb(n, task, fence, slot, ud);
    ccoord__lock(n);
    if ((s = ccoord__map_get(n->schedules, task)))
        s->in_flight = 0;
    pthread_cond_broadcast(&n->sched_cond);
    ccoord__unlock(n);
}

/* ---- lifecycle ---------------------------------------------------------------- */

int ccoord__sched_init(ccoord_node *n)
{
    pthread_condattr_t ca;
    if (!(n->schedules = ccoord__map_new()))
        return CCOORD_ENOMEM;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->sched_cond, &ca);
    pthread_condattr_destroy(&ca);
    n->fire_hook = fire_hook;
    return CCOORD_OK;
}

int ccoord__sched_start(ccoord_node *n)
{
    int rc = CCOORD_OK;
    ccoord__lock(n);
    if (!n->sched_running) {
        n->sched_stop = 0;
        if (pthread_create(&n->sched_thread, NULL, sched_main, n) != 0)
            rc = CCOORD_ENOMEM;
        else
            n->sched_running = 1;
    }
    ccoord__unlock(n);
    return rc;
}

void ccoord__sched_stop(ccoord_node *n)
{
    int running;
    ccoord__lock(n);
    running = n->sched_running;
    n->sched_stop = 1;
    pthread_cond_broadcast(&n->sched_cond);
    ccoord__unlock(n);
    if (running)
        pthread_join(n->sched_thread, NULL);
    ccoord__lock(n);
    n->sched_running = 0;
    ccoord__unlock(n);
}

void ccoord__sched_free(ccoord_node *n)
{
    if (!n->schedules)
        return;
    ccoord__map_free(n->schedules, sched_free);
    n->schedules = NULL;
    pthread_cond_destroy(&n->sched_cond);
}

/* ---- the API -------------------------------------------------------------------- */

int ccoord_task_schedule(ccoord_node *node, const char *task, const char *trigger,
                         ccoord_fire_cb cb, void *user_data)
{
    static const char fn[] = "ccoord_task_schedule";
    char err[1024];
    sched *s;
    int rc = ccoord__task_check(node, fn, task), exists;
    if (rc)
        return rc;
    if (!trigger)
        return ccoord__null_arg(node, fn, "trigger");
    if (!cb)
        return ccoord__null_arg(node, fn, "cb");
    if (!(s = ccoord__calloc(1, sizeof *s)))
        return CCOORD_ENOMEM;
    if ((rc = ccoord__trigger_parse(trigger, &s->trig, err, sizeof err)) != CCOORD_OK) {
        free(s);
        return rc == CCOORD_EINVAL ? ccoord__fail(node, rc, "%s(%s): %s", fn, task, err) : rc;
    }
    s->cb = cb;
    s->ud = user_data;
    s->last_slot = s->skip_to = -1;
    ccoord__lock(node);
    exists = ccoord__map_get(node->schedules, task) != NULL;
    ccoord__unlock(node);
    if (exists) {
        sched_free(s);
        return ccoord__fail(node, CCOORD_EMISUSE, "%s: task %s is scheduled already on node %s "
                            "(ccoord_task_unschedule it first)", fn, task, node->id);
    }
    if ((rc = ccoord_task_register(node, task)) != CCOORD_OK) {
        sched_free(s);
        return rc;
    }
    ccoord__lock(node);
    rc = ccoord__map_put(node->schedules, task, s, NULL);
    pthread_cond_broadcast(&node->sched_cond);
    ccoord__unlock(node);
    if (rc) {
        sched_free(s);
        return rc;
    }
    /* the thread, from the first schedule on (a node without one has
     * none: a process may hold hundreds of nodes) */
    return ccoord__sched_start(node);
}

int ccoord_task_unschedule(ccoord_node *node, const char *task)
{
    sched *s;
    int rc = ccoord__task_check(node, "ccoord_task_unschedule", task);
    if (rc)
        return rc;
    ccoord__lock(node);
    s = ccoord__map_del(node->schedules, task);
    ccoord__unlock(node);
    if (!s)
        return ccoord__fail(node, CCOORD_ENOTFOUND,
                            "ccoord_task_unschedule: task %s is not scheduled on node %s", task,
                            node->id);
    sched_free(s);
    rc = ccoord_task_unregister(node, task);
    return rc == CCOORD_ENOTFOUND ? CCOORD_OK : rc;
}
