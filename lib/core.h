/*
 * lib/core.h: floor 4, the node object and the services every subsystem
 * above uses (lib/core.c): error text, logging, the event queue and its
 * dispatcher, the wake-up of the background thread and the one door
 * through which any file asks it to re-read the cluster.
 *
 * The node's fields are grouped by the file that owns them (writes them);
 * other files read them only as the group's comment allows.
 *
 * Locks, in the only order in which they are ever nested (take a later
 * one while holding an earlier one, never the reverse):
 *
 *   resolve_mu  >  gate  >  api_mu  >  mu  >  ev_mu  >  log_mu
 *
 *   resolve_mu  the resolution pass in flight (one at a time); the
 *               background thread only tries it (never waits)
 *   gate        a pass's own (resolve.c): held while the pass reads or
 *               writes, so ccoord_node_free can give it up safely
 *   api_mu      serialises API callers and resolution passes on api_db
 *   mu          the node's in-memory state (views, ownership, lifecycle)
 *   ev_mu       the event queue and the callbacks
 *   log_mu      the log sink
 *
 * No library lock is held while a member or task callback runs: the
 * dispatcher takes events out of the queue under ev_mu and calls them
 * with no lock held.  The log callback never runs under mu or ev_mu
 * (lines logged under mu are deferred to ccoord__unlock); it may run
 * under api_mu or resolve_mu, and always under log_mu, which is why it
 * must not call back into the library.
 *
 * Threads of a joined node: the background thread (lib/loop.c: heartbeat,
 * lease, polls, leader work; the only user of bg_db), the watchdog
 * (lib/loop.c: cuts statements past their deadline), on the leader a
 * short-lived thread per resolution pass (lib/job.c, started by
 * lib/resolve.c: batch read and placements on api_db, the plugin in
 * between with no lock held), the dispatcher
 * (here: delivers events; in host-dispatch mode the host's thread calls
 * ccoord_dispatch instead), and the host's own threads calling the API.
 */
#ifndef CCOORD_CORE_H
#define CCOORD_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "config.h"
#include "db.h"
#include "internal.h"
#include "plugin.h"
#include "rows.h"
#include "stats.h"

/* A task this node owns as last read (lib/task.c). */
typedef struct ccoord__owned {
    uint64_t fence;
    int state;   /* CCOORD_TASK_* as stored */
    int granted; /* ASSIGNED queued and REVOKED not yet */
    int give_up; /* as read: being moved elsewhere, or this node is drained */
    long long last_slot; /* as read: the last slot its schedule fired; -1 none */
    long long fires;     /* as read: how many fired */
} ccoord__owned;

/* An event waiting for the dispatcher. */
typedef struct ccoord__event {
    int kind; /* CCOORD__EV_MEMBER, CCOORD__EV_TASK or CCOORD__EV_LOG (event: level) */
    int event;
    char *name;
    uint64_t fence;
    int64_t slot; /* CCOORD__EV_FIRE */
} ccoord__event;
enum { CCOORD__EV_MEMBER = 0, CCOORD__EV_TASK = 1, CCOORD__EV_LOG = 2, CCOORD__EV_FIRE = 3 };

typedef struct ccoord__events {
    ccoord__event *items;
    size_t count, cap;
} ccoord__events;

/* A log line written while mu was held, emitted by ccoord__unlock. */
typedef struct ccoord__deferred {
    int *levels;
    char **lines;
    size_t count, cap;
} ccoord__deferred;

struct ccoord_node {
    /* ---- node.c, at ccoord_node_new; read-only afterwards */
    ccoord__settings s;
    char *id;
    char *hostname;
    int64_t interval_ns, timeout_ns, lease_ns;
    pid_t pid;
    ccoord__resolver *resolver;

    /* ---- the state lock (mu) and the background thread's wake-up */
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* wakes the background and watchdog threads */
    int joined;               /* node.c */
    int stop;                 /* loop.c: the background thread should exit */
    int wd_stop;              /* loop.c: the watchdog should exit */
    int wake;                 /* core.c: something asks for an early loop */
    int force_refresh;        /* core.c door: re-read members and tasks */
    int views_ready;          /* loop.c: the cluster was read once since join */
    ccoord__deferred deferred;/* core.c: log lines to emit after unlock */

    /* ---- loop.c: the background and watchdog threads */
    pthread_t thread;
    int thread_running;
    pthread_t wd_thread;
    int wd_running;
    int64_t fast_until_ns;   /* poll four times an interval until then */
    int64_t log_db_error_ns; /* rate limit of database WARN lines */
    ccoord__stats stats;     /* counted where it happens; metrics.c reads */

    /* ---- member.c (mu; lease_until is atomic, read by acquire) */
    long long incarnation;
    _Atomic int64_t lease_until; /* this node owns its tasks while now < lease_until */
    long long hb_wrote; /* the member row's counter as the last heartbeat wrote it; -1 */
    ccoord__member *members;     /* the view, in join order */
    size_t member_count, member_cap;
    long long version;  /* group version last read; -1 unknown */
    long long removals; /* the group's count of member rows deleted, then */
    _Atomic unsigned long member_rows; /* member rows read (test hook) */
    int drained; /* this node's row says drained (ccoordctl drain), as last read */
    int drained_said; /* task.c: the drained state the log last said */
    /* ---- timeline.c (mu; hold_until is atomic, read by the heartbeat) */
    long long version_high;       /* highest group version read; -1 none */
    _Atomic int64_t hold_until;   /* no lease before this (lost commits) */

    /* ---- leader.c (mu; leader_until is atomic, read by ccoord_is_leader) */
    _Atomic int64_t leader_until; /* 0: not leader */
    long long leader_term;
    int64_t leader_since_ns;
    char *leader_id; /* as last read ("" none) */
    long long seen_leader_term, seen_leader_hb;
    int64_t seen_leader_ns;
    /* the leader's member-row counter, read with the leader row: lets a
     * new leader evict a dead predecessor on its own past observation */
    char *seen_lm_id;
    long long seen_lm_inc, seen_lm_hb;
    int64_t seen_lm_ns;

    /* ---- task.c (mu) */
    ccoord__map *owned;      /* task -> ccoord__owned*, tasks this node owns */
    ccoord__map *registered; /* task -> (void*)1 */
    /* Bumped (under mu) whenever this node stops owning a task on its own
     * (unregister, pause, complete: before and after its statement;
     * revoke_all).  releasing counts those statements in flight.  A
     * refresh whose read began under another own_gen, or that applies
     * while releasing > 0, grants nothing: what it read may predate that
     * release (task.c). */
    unsigned long own_gen;
    int releasing;
    int refresh_after_hb;    /* re-read tasks once a heartbeat succeeds again */
    int64_t lapsed_ns;       /* when the lease was found lapsed (0: not lapsed) */
    size_t lapsed_tasks;     /* how many tasks that stopped */

    /* ---- resolve.c (resolve_mu; resolve_now under mu) */
    pthread_mutex_t resolve_mu;
    _Atomic unsigned long passes; /* written under resolve_mu, read without */
    int64_t next_resolve_ns;
    int resolve_now;
    struct ccoord__job *rjob; /* the pass in flight, running or not collected */
    void *rjob_run;           /* its batch and result (resolve.c) */
    int rjob_warned;          /* "has not returned" logged for it */
    _Atomic int hold_resolution; /* test hook: no background passes */
    _Atomic int refresh_stall_ms; /* test hook: a slow read of the owned tasks */
    /* test hook (mu): called inside the resolution's transaction */
    void (*test_in_tx)(ccoord_node *n, const char *where);
    void (*test_join_end)(ccoord_node *n); /* test hook (mu) */

    /* ---- core.c: events and their delivery (ev_mu) */
    pthread_mutex_t ev_mu;
    pthread_cond_t ev_cond; /* the dispatcher waits here; so do drain waiters */
    ccoord__events events;
    unsigned long long ev_queued, ev_done; /* events queued / delivered or dropped */
    int delivering;       /* a thread is delivering a batch (one at a time) */
    int host_dispatch;    /* ccoord_event_fd switched the node to the host's thread */
    int event_fd;         /* host dispatch: eventfd, readable while events wait; else -1 */
    int ev_stop;          /* the dispatcher thread should exit once the queue is empty */
    int ev_hold;          /* ccoord_join has not returned: nothing is delivered yet */
    pthread_t ev_thread;
    int ev_running;
    ccoord_member_cb member_cb;
    void *member_ud;
    ccoord_task_cb task_cb;
    void *task_ud;

    /* ---- schedule.c (mu; its thread waits on sched_cond with mu) */
    ccoord__map *schedules; /* task -> its schedule */
    pthread_cond_t sched_cond;
    pthread_t sched_thread;
    int sched_running, sched_stop;
    /* delivers a fire (set by schedule.c; core.c calls it for
     * CCOORD__EV_FIRE on the dispatcher, no lock held) */
    void (*fire_hook)(ccoord_node *n, const char *task, uint64_t fence, int64_t slot);

    /* ---- core.c: the log sink (log_mu) */
    pthread_mutex_t log_mu;
    ccoord_log_cb log_cb;
    void *log_ud;
    int log_queued; /* ccoord_on_log_dispatched: lines go through the event queue */
    _Atomic int log_level;
    uint64_t plugin_line;     /* the resolver's last line: hash of its text, */
    int plugin_line_level;    /* and its level */
    int64_t plugin_line_ns;   /* when it was last logged at its own level */

    /* ---- connections: bg_db is the background thread's alone; api_db
     * is used under api_mu */
    ccoord__db bg_db;
    pthread_mutex_t api_mu;
    ccoord__db api_db;

    /* ---- test hooks */
    _Atomic int frozen; /* the background thread does nothing while set */
};

/* ---- errors: the text behind ccoord_errmsg(), per thread */
/* Records a failure of a call on n for this thread; returns status. */
int ccoord__fail(const ccoord_node *n, int status, const char *fmt, ...) CCOORD__PRINTF(3, 4);
/* CCOORD_OK in the process that created n; in a forked child
 * CCOORD_EFORKED with errmsg set (fn names the call).  Checked before any
 * lock of n is touched: a parent's thread may have held it at the fork. */
int ccoord__check_process(const ccoord_node *n, const char *fn);
/* CCOORD_EINVAL for a NULL argument of fn, with the detail "fn: arg is
 * NULL" when n is not NULL (a NULL node has nowhere to keep one). */
int ccoord__null_arg(const ccoord_node *n, const char *fn, const char *arg);
/* Like ccoord__fail, for a hot path: the detail is formatted only when
 * ccoord_errmsg() reads it, from fmt (a string literal with two %s: the
 * node id, then arg; arg is copied, at most CCOORD__MAX_KEY bytes). */
int ccoord__fail_later(const ccoord_node *n, int status, const char *fmt, const char *arg);
void ccoord__clear_error(const ccoord_node *n);
/* Forgets n's error text (node freed). */
void ccoord__forget_error(const ccoord_node *n);

/* ---- logging */
/* Logs one line now.  Must not be called with mu or ev_mu held. */
void ccoord__log(ccoord_node *n, int level, const char *fmt, ...) CCOORD__PRINTF(3, 4);
/* Logs one line once mu is released (mu held): see ccoord__unlock. */
void ccoord__log_locked(ccoord_node *n, int level, const char *fmt, ...) CCOORD__PRINTF(3, 4);
/* The sink for resolver plugins' log_msg (ctx is the node). */
void ccoord__plugin_log(void *ctx, int level, const char *msg);

/* ---- the state lock: ccoord__unlock releases mu and then emits the
 * lines logged with ccoord__log_locked meanwhile */
void ccoord__lock(ccoord_node *n);
void ccoord__unlock(ccoord_node *n);

/* ---- events */
/* Queues an event (any lock but ev_mu and log_mu may be held): the
 * dispatcher delivers it after those queued before it. */
void ccoord__queue(ccoord_node *n, int kind, int event, const char *name, uint64_t fence);
/* Queues a fire of task's slot with fence (schedule.c): delivered through
 * n->fire_hook. */
void ccoord__queue_fire(ccoord_node *n, const char *task, uint64_t fence, int64_t slot);
/* While on, events wait in the queue: neither the dispatcher nor
 * ccoord_dispatch delivers them, and the event fd does not become
 * readable.  ccoord_join holds them until it returns, so no callback runs
 * before the host has its OK. */
void ccoord__dispatch_hold(ccoord_node *n, int on);
/* Starts the dispatcher thread unless the node is in host dispatch or
 * has one.  CCOORD_OK or CCOORD_ENOMEM. */
int ccoord__dispatch_start(ccoord_node *n);
/* Delivers what is queued, then stops the dispatcher thread (node free). */
void ccoord__dispatch_stop(ccoord_node *n);
/* Waits until every event queued before the call has been delivered, or
 * until until_ns.  Returns 1 when drained, 0 on timeout; returns 1 at
 * once on a thread that delivers n's events (a callback) and 0 at once
 * in host dispatch, where only the host's dispatch can drain.  Takes no
 * lock of the caller's. */
int ccoord__dispatch_drain(ccoord_node *n, int64_t until_ns);
/* 1 while the calling thread runs one of n's callbacks. */
int ccoord__in_callback(const ccoord_node *n);
/* Drops queued events (node free) and closes the event fd. */
void ccoord__events_free(ccoord_node *n);

/* ---- the background thread's doors */
/* Wakes the background thread for an early loop. */
void ccoord__wake(ccoord_node *n);
/* Asks the background thread to re-read members and tasks on its next
 * loop.  With mu held: ccoord__request_refresh_locked. */
void ccoord__request_refresh(ccoord_node *n);
void ccoord__request_refresh_locked(ccoord_node *n);
/* Reads and clears the request (mu not held). */
int ccoord__take_refresh(ccoord_node *n);

/* ---- small shared reads */
/* 1 while this node is leader and its leader lease has not lapsed. */
int ccoord__is_leader_now(const ccoord_node *n);
/* 1 once the node has joined (and not left). */
int ccoord__joined(ccoord_node *n);

/* ---- test hooks (tests reach them through the static archive) */
/* Freeze (1) or thaw (0) the background thread, as if the process were
 * stopped.  The API keeps answering. */
void ccoord__test_freeze(ccoord_node *n, int frozen);
/* Hold (1) or allow (0) the leader's background resolution passes;
 * ccoord_resolve_tasks() still runs one. */
void ccoord__test_hold_resolution(ccoord_node *n, int hold);
/* The background refresh waits ms between reading this node's tasks and
 * applying what it read (a reply that arrives late); 0 ends it. */
void ccoord__test_refresh_stall(ccoord_node *n, int ms);
/* hook(n, where) runs on the thread writing a resolution pass, inside its
 * transaction: where is "leader row locked" or "member rows locked".
 * NULL removes it.  ccoord__test_in_tx calls it (no lock held). */
void ccoord__test_set_in_tx(ccoord_node *n, void (*hook)(ccoord_node *n, const char *where));
void ccoord__test_in_tx(ccoord_node *n, const char *where);
/* hook(n) runs in ccoord_join just before it returns OK (events still
 * held).  NULL removes it. */
void ccoord__test_set_join_end(ccoord_node *n, void (*hook)(ccoord_node *n));
void ccoord__test_join_end(ccoord_node *n);
/* Statements sent on both connections so far. */
unsigned long ccoord__test_statements(ccoord_node *n);
/* Member rows the background thread has read so far (whole lists and
 * the rows of members that joined since the last read). */
unsigned long ccoord__test_member_rows(ccoord_node *n);

#endif
