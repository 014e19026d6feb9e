/*
 * lib/node.h: the node object shared by node.c (lifecycle, public calls),
 * member.c (background loop: heartbeat, views, events), leader.c
 * (election, eviction, resolution) and task.c (tasks).
 *
 * Locking: mu guards the in-memory state below it (views, owned tasks,
 * callbacks).  api_mu serialises API callers on the api connection.  The
 * background thread alone uses bg_db.  No lock is held while a user
 * callback runs; events are queued under mu and fired after unlock.
 */
#ifndef CCOORD_NODE_H
#define CCOORD_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "config.h"
#include "db.h"
#include "internal.h"
#include "plugin.h"

typedef struct ccoord__member {
    char *id;
    char *hostname;
    char *metadata;
    long long incarnation;
    long long heartbeat;
    long long joined_seq;
    int64_t seen_ns; /* leader: when this heartbeat value was first read */
} ccoord__member;

typedef struct ccoord__owned {
    uint64_t fence;
    int state;   /* CCOORD_TASK_* as stored */
    int granted; /* ASSIGNED fired and REVOKED not yet */
} ccoord__owned;

/* An event to fire after the lock is released. */
typedef struct ccoord__event {
    int kind; /* 0 member, 1 task */
    int event;
    char *name;
    uint64_t fence;
} ccoord__event;

typedef struct ccoord__events {
    ccoord__event *items;
    size_t count, cap;
} ccoord__events;

struct ccoord_node {
    ccoord__settings s;
    char *id;
    char *hostname;
    int64_t interval_ns, timeout_ns, lease_ns;
    pid_t pid;
    ccoord__resolver *resolver;

    pthread_mutex_t mu;
    pthread_cond_t cond; /* wakes the background thread */
    /* lifecycle */
    int joined;
    int stop;         /* background thread should exit */
    int wake;         /* something asks for an early loop */
    int force_refresh;/* re-read members and tasks on the next loop */
    int refresh_after_hb; /* re-read tasks once a heartbeat succeeds again */
    int resolve_now;  /* leader: resolve on the next loop */
    pthread_t thread;
    int thread_running;
    pthread_t wd_thread;
    int wd_running;
    long long incarnation;
    /* lease: this node owns its tasks while now < lease_until */
    _Atomic int64_t lease_until;
    /* leadership */
    _Atomic int64_t leader_until; /* 0: not leader */
    long long leader_term;
    int64_t leader_since_ns;
    char *leader_id;          /* as last read ("" none) */
    long long seen_leader_term, seen_leader_hb;
    int64_t seen_leader_ns;
    /* the leader's member-row counter, read with the leader row: lets a
     * new leader evict a dead predecessor on its own past observation */
    char *seen_lm_id;
    long long seen_lm_inc, seen_lm_hb;
    int64_t seen_lm_ns;
    /* views */
    ccoord__member *members;
    size_t member_count;
    size_t member_cap; /* allocated entries of members */
    long long version;  /* group version last read; -1 unknown */
    long long removals; /* the group's count of member rows deleted, then */
    ccoord__map *owned;      /* task -> ccoord__owned*, tasks this node owns */
    ccoord__map *registered; /* task -> (void*)1 */
    ccoord__events events;
    int firing;      /* a thread is delivering events (one at a time) */
    int views_ready; /* the background thread has read the cluster once */
    /* resolution */
    pthread_mutex_t resolve_mu; /* single flight */
    _Atomic unsigned long passes; /* written under resolve_mu, read without */
    int64_t next_resolve_ns;
    /* callbacks */
    ccoord_member_cb member_cb;
    void *member_ud;
    ccoord_task_cb task_cb;
    void *task_ud;
    pthread_mutex_t log_mu;
    ccoord_log_cb log_cb;
    void *log_ud;
    _Atomic int log_level;
    /* connections */
    ccoord__db bg_db;
    pthread_mutex_t api_mu;
    ccoord__db api_db;
    /* test hooks */
    _Atomic int frozen; /* background thread does nothing while set */
    _Atomic unsigned long member_rows; /* member rows read (test hook) */
    _Atomic int hold_resolution; /* no background resolution passes */
    int64_t fast_until_ns;
    int64_t log_db_error_ns; /* rate limit for DB error log lines */
};

/* ---- node.c */
void ccoord__log(ccoord_node *n, int level, const char *fmt, ...) CCOORD__PRINTF(3, 4);
/* Records a failure for ccoord_errmsg() on this thread; returns status. */
int ccoord__fail(const ccoord_node *n, int status, const char *fmt, ...) CCOORD__PRINTF(3, 4);
void ccoord__clear_error(const ccoord_node *n);
/* 1 when s is a valid id/task name: 1..190 bytes of UTF-8, no control
 * characters, no leading or trailing white space. */
int ccoord__valid_key(const char *s);
/* Queues an event (mu held). */
void ccoord__queue(ccoord_node *n, int kind, int event, const char *name, uint64_t fence);
/* Fires queued events (mu NOT held). */
void ccoord__fire(ccoord_node *n);
void ccoord__wake(ccoord_node *n);

/* ---- member.c */
/* Writes the member row (fresh incarnation), handling a row with the same
 * id: refused when its heartbeat moves within the timeout, else taken
 * over.  Then records registered tasks.  Uses db. */
int ccoord__join_row(ccoord_node *n, ccoord__db *db);
void *ccoord__bg_main(void *arg);
void *ccoord__watchdog_main(void *arg);
/* Revokes every granted task locally (mu held): queues REVOKED. */
void ccoord__revoke_all(ccoord_node *n);
/* Appends "WHERE group_id = '<g>'"-style quoted group to b. */
int ccoord__q(ccoord__db *db, ccoord__buf *b, const char *s);
/* Bumps the group version inside the current statement sequence; with
 * removal, also the count of member rows deleted (every statement that
 * deletes a member row bumps it in its transaction: followers read only
 * new members while it stays the same). */
int ccoord__bump_version(ccoord__db *db, const ccoord_node *n, int removal);
void ccoord__members_free(ccoord__member *m, size_t count);

/* ---- leader.c */
/* One loop step of leader work: takeover check is in member.c; this does
 * failure detection and resolution when due. */
void ccoord__leader_step(ccoord_node *n, ccoord__db *db, int changed);
/* Tries to take the leader row over (CAS on seen term/heartbeat/node). */
int ccoord__leader_takeover(ccoord_node *n, ccoord__db *db, const char *seen_node,
                            long long seen_term, long long seen_hb);
/* One resolution pass (single flight).  CCOORD_ENOTLEADER when not
 * leader. exclude: a member id not to place on (leaving node) or NULL. */
int ccoord__resolve_pass(ccoord_node *n, ccoord__db *db, int cleanup, const char *exclude);
/* Locks the leader row and checks it still holds this node and term
 * (inside a transaction).  CCOORD_OK or CCOORD_ENOTLEADER. */
int ccoord__leader_check(ccoord_node *n, ccoord__db *db);
int ccoord__is_leader_now(const ccoord_node *n);
void ccoord__step_down_local(ccoord_node *n);

/* ---- task.c */
/* Re-reads this node's tasks and updates the owned map (mu not held;
 * takes it).  CCOORD_OK or CCOORD_EDB. */
int ccoord__refresh_tasks(ccoord_node *n, ccoord__db *db);
/* Writes the registered tasks' rows (join, rejoin). */
int ccoord__write_registrations(ccoord_node *n, ccoord__db *db);

/* Test hook: freeze (1) or thaw (0) the background thread, as if the
 * process were stopped.  The API keeps answering. */
void ccoord__test_freeze(ccoord_node *n, int frozen);
/* Test hook: hold (1) or allow (0) the leader's background resolution
 * passes; ccoord_resolve_tasks() still runs one. */
void ccoord__test_hold_resolution(ccoord_node *n, int hold);
/* Statements sent on both connections so far. */
unsigned long ccoord__test_statements(ccoord_node *n);
/* Member rows the background thread has read so far (whole lists and
 * the rows of members that joined since the last read). */
unsigned long ccoord__test_member_rows(ccoord_node *n);

#endif
