/*
 * lib/db_sqlite.c: statements libdbi's sqlite3 driver cannot run quietly.
 *
 * The driver prints "no tables in statement !" to stderr for any statement
 * that returns rows without naming a table, such as PRAGMA journal_mode.
 * A library must not write to the host's stderr, so these pragmas go to
 * SQLite directly through the handle libdbi's driver interface exposes.
 */
#include <dbi/dbi-dev.h>
#include <sqlite3.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db_sqlite.h"
#include "internal.h"

/* Runs sql; while SQLite answers BUSY or LOCKED without waiting (switching
 * to WAL and WAL recovery can do so: the busy handler is not called when
 * waiting could deadlock) it tries again every 10 ms until timeout_ns. */
int ccoord__sqlite_pragma(void *conn, const char *sql, int64_t timeout_ns, char *err,
                          size_t errlen)
{
    dbi_conn_t *c = conn;
    sqlite3 *db = c ? (sqlite3 *)c->connection : NULL;
    int64_t end = ccoord__now_ns() + timeout_ns;
    if (!db) {
        ccoord__fmt(err, errlen, "%s: no sqlite3 handle", sql);
        return CCOORD_EDB;
    }
    for (;;) {
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            return CCOORD_OK;
        if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) ||
            ccoord__now_ns() >= end) {
            ccoord__fmt(err, errlen, "%s: %s", sql, msg ? msg : "failed");
            sqlite3_free(msg);
            return CCOORD_EDB;
        }
        sqlite3_free(msg);
        ccoord__sleep_ns(10000000);
    }
}

/*
 * The write turn.  SQLite lets one connection write at a time and makes
 * the others poll (its busy handler sleeps up to 100 ms between tries), so
 * a thread that writes in a loop, such as a host registering a thousand
 * tasks, takes the lock again before a waiting heartbeat wakes up: the
 * heartbeat can miss its lease and the node lose its leadership or be
 * evicted.  Within one process that is avoidable: every connection of this
 * library to one database file takes a first-come, first-served turn
 * before it writes (BEGIN IMMEDIATE until COMMIT or ROLLBACK, or one
 * writing statement), so a waiter waits for at most the transactions
 * queued before it.  Across processes SQLite's busy handler still decides.
 *
 * Turns live in a process-wide list keyed by the file's resolved path.  A
 * forked child skips its parent's turns (their holders are threads it does
 * not have) and makes its own.
 */

typedef struct turn_waiter {
    pthread_cond_t cv;
    int granted;
    struct turn_waiter *next;
} turn_waiter;

struct ccoord__turn {
    char *key;
    pid_t pid;
    int refs;
    int held;
    turn_waiter *head, *tail;
    pthread_mutex_t mu;
    struct ccoord__turn *next;
};

static pthread_mutex_t turns_mu = PTHREAD_MUTEX_INITIALIZER;
static ccoord__turn *turns;
static pthread_once_t turns_once = PTHREAD_ONCE_INIT;

static void turns_prepare(void)
{
    pthread_mutex_lock(&turns_mu);
}

static void turns_parent(void)
{
    pthread_mutex_unlock(&turns_mu);
}

static void turns_child(void)
{
    pthread_mutex_init(&turns_mu, NULL);
}

static void turns_setup(void)
{
    pthread_atfork(turns_prepare, turns_parent, turns_child);
}

ccoord__turn *ccoord__turn_get(const char *dir, const char *name)
{
    char real[PATH_MAX];
    ccoord__buf key;
    ccoord__turn *t;
    pid_t me = getpid();
    pthread_once(&turns_once, turns_setup);
    ccoord__buf_init(&key);
    ccoord__buf_add(&key, realpath(dir, real) ? real : dir);
    ccoord__buf_add(&key, "/");
    ccoord__buf_add(&key, name);
    if (key.oom) {
        ccoord__buf_free(&key);
        return NULL;
    }
    pthread_mutex_lock(&turns_mu);
    for (t = turns; t; t = t->next)
        if (t->pid == me && strcmp(t->key, key.data) == 0)
            break;
    if (t) {
        t->refs++;
        ccoord__buf_free(&key);
    } else if ((t = calloc(1, sizeof *t)) != NULL) {
        t->key = key.data; /* the buffer's memory now belongs to the turn */
        t->pid = me;
        t->refs = 1;
        pthread_mutex_init(&t->mu, NULL);
        t->next = turns;
        turns = t;
    } else {
        ccoord__buf_free(&key);
    }
    pthread_mutex_unlock(&turns_mu);
    return t;
}

void ccoord__turn_put(ccoord__turn *t)
{
    ccoord__turn **pp;
    if (!t)
        return;
    pthread_mutex_lock(&turns_mu);
    if (--t->refs > 0 || t->pid != getpid()) {
        /* still used, or a parent's turn copied by fork: left alone */
        pthread_mutex_unlock(&turns_mu);
        return;
    }
    for (pp = &turns; *pp && *pp != t; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = t->next;
    pthread_mutex_unlock(&turns_mu);
    pthread_mutex_destroy(&t->mu);
    free(t->key);
    free(t);
}

int ccoord__turn_take(ccoord__turn *t, int64_t timeout_ns)
{
    turn_waiter w, **pp;
    pthread_condattr_t ca;
    struct timespec ts;
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    if (!t->held && !t->head) {
        t->held = 1;
        pthread_mutex_unlock(&t->mu);
        return 0;
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cv, &ca);
    pthread_condattr_destroy(&ca);
    w.granted = 0;
    w.next = NULL;
    if (t->tail)
        t->tail->next = &w;
    else
        t->head = &w;
    t->tail = &w;
    ccoord__mono_after(timeout_ns, &ts);
    while (!w.granted && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w.cv, &t->mu, &ts);
    if (!w.granted) {
        /* gave up: leave the queue so the turn passes over this waiter */
        turn_waiter *prev = NULL;
        for (pp = &t->head; *pp != &w; prev = *pp, pp = &(*pp)->next)
            ;
        *pp = w.next;
        if (t->tail == &w)
            t->tail = prev;
    }
    pthread_mutex_unlock(&t->mu);
    pthread_cond_destroy(&w.cv);
    return w.granted ? 0 : -1;
}

void ccoord__turn_give(ccoord__turn *t)
{
    turn_waiter *w;
    if (t->pid != getpid())
        return; /* a parent's turn copied by fork: not ours to pass on */
    pthread_mutex_lock(&t->mu);
    w = t->head;
    if (w) {
        /* handed to the first waiter: the turn stays held */
        t->head = w->next;
        if (!t->head)
            t->tail = NULL;
        w->granted = 1;
        pthread_cond_signal(&w->cv);
    } else {
        t->held = 0;
    }
    pthread_mutex_unlock(&t->mu);
}
