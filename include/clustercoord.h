/*
 * clustercoord.h: public API of libclustercoord.
 *
 * Several instances of a host server ("nodes") form a cluster through a
 * shared SQL database: membership with crash detection, an elected leader,
 * and named tasks each owned by exactly one live node.  See
 * libclustercoord(7) for the concepts and one man page per function.
 *
 * Rules that hold for every function below unless its comment says
 * otherwise:
 *  - it returns an int status: CCOORD_OK (0) or a negative CCOORD_E* code;
 *  - out-parameters (ret_*) are written only on success;
 *  - input strings are copied before the call returns;
 *  - it is safe to call from any thread, also from inside a member or
 *    task callback (ccoord_node_free() of the callback's own node is the
 *    one exception);
 *  - it never aborts and never calls exit(); it prints nothing but the
 *    default logger's lines on stderr, until ccoord_on_log() sets a sink.
 *
 * The header compiles as C99 and C++.  No bool, enum-typed parameters,
 * structs by value or varargs, so FFIs such as Python ctypes can bind it.
 */
#ifndef CLUSTERCOORD_H
#define CLUSTERCOORD_H

#include <stddef.h>
#include <stdint.h>
#include <clustercoord/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4 && !defined(CCOORD_STATIC)
#define CCOORD_API __attribute__((visibility("default")))
#else
#define CCOORD_API
#endif

/* ---------------------------------------------------------------------
 * Status codes.  One list builds the constants, ccoord_strerror() and
 * ccoord_errname(), and the ccoord-errors(7) page is checked against it.
 * Append only; a value is never reused.
 */
#define CCOORD_STATUS_MAP(X)                                                  \
    X(OK, 0, "success")                                                       \
    X(EINVAL, -1, "invalid argument")                                         \
    X(ENOMEM, -2, "out of memory")                                            \
    X(ECONFIG, -3, "configuration error")                                     \
    X(EDB, -4, "database error")                                              \
    X(EPLUGIN, -5, "resolver plugin failed")                                  \
    X(EABI, -6, "resolver plugin ABI mismatch")                               \
    X(ENOTFOUND, -7, "not found")                                             \
    X(ECANCELED, -8, "canceled")                                              \
    X(EMISUSE, -9, "library used incorrectly")                                \
    X(EFORKED, -10, "used in a forked child")                                 \
    X(ENOTOWNER, -11, "this node does not own the task")                      \
    X(ENOTLEADER, -12, "this node is not the leader")                         \
    X(EDUPNODE, -13, "another live node uses this node id")                   \
    X(ENOTJOINED, -14, "the node has not joined the cluster")                 \
    X(ESCHEMA, -15, "database schema is newer than this library")             \
    X(ESTATE, -16, "task state does not allow this")

enum {
#define CCOORD__STATUS_ENUM(name, val, msg) CCOORD_##name = (val),
    CCOORD_STATUS_MAP(CCOORD__STATUS_ENUM)
#undef CCOORD__STATUS_ENUM
    CCOORD__STATUS_END_ = 1
};

/* Static English text for a status; never NULL ("unknown status" for a
 * value not in the list).  Since: 1.0 */
CCOORD_API const char *ccoord_strerror(int status);
/* The constant's name, e.g. "CCOORD_EDB"; never NULL.  Since: 1.0 */
CCOORD_API const char *ccoord_errname(int status);

/* Version of the loaded library: "1.0.0", static storage.  Compare with
 * CCOORD_VERSION_STRING to detect header/library skew.  Since: 1.0 */
CCOORD_API const char *ccoord_version(void);
/* Same as a number 0xMMmmpp, for ctypes users.  Since: 1.0 */
CCOORD_API unsigned ccoord_version_num(void);

/* Frees memory the library allocated and handed to the caller, where a
 * function says so.  Accepts NULL.  Since: 1.0 */
CCOORD_API void ccoord_free(void *p);

/* ---------------------------------------------------------------------
 * Configuration.  An INI file (clustercoord.conf(5)) and/or settings made
 * by the host program.  A config is not used by more than one thread at a
 * time (it is a builder); ccoord_node_new() copies what it needs.
 */
typedef struct ccoord_config ccoord_config;

/* New configuration with every default.  Since: 1.0 */
CCOORD_API int ccoord_config_new(ccoord_config **ret_config);
/* Reads an INI file on top of the current settings.  Settings made with
 * ccoord_config_set() before or after keep precedence over the file.
 * CCOORD_ECONFIG on any bad input; then ccoord_config_error() tells
 * "file:line: section.key = value: what is wrong; what is allowed" and
 * the config keeps the settings it had before the call.  Since: 1.0 */
CCOORD_API int ccoord_config_load(ccoord_config *config, const char *path);
/* Reads a WSO2 Micro Integrator deployment.toml unchanged: the
 * [[datasource]] with id = "WSO2_COORDINATION_DB" (its JDBC URL, Java
 * driver class, username, password, pool_options), [server] hostname,
 * [cluster_config] node_id, [task_handling], the first [[task_resolver]],
 * and the environment variables heartBeatInterval (MI's default 5000 ms),
 * heartbeatMaxRetry and localGroupId; every other section is ignored and
 * listed once at INFO when the node joins.  No coordination datasource, a
 * JDBC URL without a libdbi driver (Oracle, Db2), a driver class that does
 * not match the URL or a $secret{} password are CCOORD_ECONFIG with
 * ccoord_config_error() naming file:line, key and value (passwords
 * hidden).  Same precedence and all-or-nothing rule as
 * ccoord_config_load(); the two may be mixed.  Since: 1.1 */
CCOORD_API int ccoord_config_load_mi(ccoord_config *config, const char *path);
/* Sets one key as the host program; same names and checks as the file.
 * CCOORD_ECONFIG (with ccoord_config_error()) on a bad section, key or
 * value.  Since: 1.0 */
CCOORD_API int ccoord_config_set(ccoord_config *config, const char *section,
                                 const char *key, const char *value);
/* The last error of load/set on this config, "" if none.  Valid until the
 * next call on config.  Never contains a password.  Since: 1.0 */
CCOORD_API const char *ccoord_config_error(const ccoord_config *config);
/* Accepts NULL.  Since: 1.0 */
CCOORD_API void ccoord_config_free(ccoord_config *config);

/* ---------------------------------------------------------------------
 * Nodes.
 */
typedef struct ccoord_node ccoord_node;

/* Creates a node from a validated config (copied; config may be freed at
 * once).  Resolves the node id (ccoord_config_set, env "nodeId", file,
 * random UUID v4) and loads the resolver plugin.  No database work yet.
 * CCOORD_ECONFIG, CCOORD_EPLUGIN, CCOORD_EABI, CCOORD_EDB (libdbi cannot
 * start) or CCOORD_ENOMEM on failure; the detail is then written to the
 * config's error buffer (ccoord_config_error(config)), so like every
 * config call this one must not run on one config from two threads at
 * once.  Since: 1.0 */
CCOORD_API int ccoord_node_new(const ccoord_config *config, ccoord_node **ret_node);
/* Leaves first if joined, stops the node's threads (the dispatcher after
 * delivering what is queued; in host dispatch, what waits is dropped),
 * frees everything.  Accepts NULL.  Must not be called from one of this
 * node's callbacks (logged and ignored).  Since: 1.0 */
CCOORD_API void ccoord_node_free(ccoord_node *node);
/* The node id, valid as long as the node.  Since: 1.0 */
CCOORD_API const char *ccoord_node_id(const ccoord_node *node);
/* Detail of the last failure of a call on this node from the calling
 * thread ("" if none): names the database, statement kind, and server
 * message.  Valid until that thread's next call on the node.  Never
 * contains a password.  Since: 1.0 */
CCOORD_API const char *ccoord_errmsg(const ccoord_node *node);

/* Connects, creates or migrates the schema, joins the group and starts the
 * background thread (and the dispatcher thread, unless ccoord_event_fd()
 * chose host dispatch).  Returns once the member row is written.
 * CCOORD_EDUPNODE when another live process uses this node id (found by
 * watching its heartbeat for up to the timeout), CCOORD_EDB when the
 * database cannot be reached within connect_timeout, CCOORD_ESCHEMA when
 * the schema is newer than this library, CCOORD_EMISUSE when already
 * joined.  Since: 1.0 */
CCOORD_API int ccoord_join(ccoord_node *node);
/* Graceful leave: releases this node's tasks (owner cleared, epoch + 1),
 * steps down as leader (handing the released tasks over first), deletes
 * the member row and bumps the group version, so survivors react within
 * one heartbeat interval.  Stops the background thread; the node may join
 * again.  The REVOKED events go out before anything is written; in
 * thread dispatch it waits (at most the failure timeout) for their
 * delivery, except when called from a callback.  CCOORD_ENOTJOINED if not
 * joined.  Since: 1.0 (may be called from a callback since 1.1) */
CCOORD_API int ccoord_leave(ccoord_node *node);

/* Log levels, syslog-like.  A message is passed on when its level is at
 * most the node's log level (default CCOORD_LOG_INFO). */
#define CCOORD_LOG_NONE 0
#define CCOORD_LOG_ERROR 1
#define CCOORD_LOG_WARN 2
#define CCOORD_LOG_INFO 3
#define CCOORD_LOG_DEBUG 4

/* msg is one line without newline, valid during the call. */
typedef void (*ccoord_log_cb)(ccoord_node *node, int level, const char *msg,
                              void *user_data);
/* Sets the log sink (NULL: the default, which writes
 * "[YYYY-MM-DD HH:MM:SS,mmm]  INFO {clustercoord} [node-id] - msg" to
 * stderr; the node id since 1.1).
 * The callback runs on the thread that logs (the background thread, the
 * dispatcher or an API caller), one call at a time.  It never runs while
 * the node's state lock is held, but it may run while a call holds the
 * node's database connection: unlike the member and task callbacks it
 * must not call back into the library (format, queue or write the line,
 * nothing more).  Since: 1.0 */
CCOORD_API int ccoord_on_log(ccoord_node *node, ccoord_log_cb cb, void *user_data);
/* Like ccoord_on_log(), but the lines travel with the member and task
 * events: the dispatcher thread calls cb (or, in host dispatch, the
 * thread calling ccoord_dispatch()), in order with the events, never the
 * thread that logged.  For a sink that takes a lock the library's own
 * threads must not wait for (a language runtime's global lock: a Python
 * main thread holding the GIL would otherwise stall the heartbeat).  cb
 * may call the library as a member callback may.  Lines logged while
 * nothing delivers (before ccoord_join() in thread dispatch, and once
 * ccoord_node_free() has stopped the dispatcher) go to cb on the logging
 * thread.  NULL cb: the default sink.  Since: 1.1 */
CCOORD_API int ccoord_on_log_dispatched(ccoord_node *node, ccoord_log_cb cb, void *user_data);
/* CCOORD_LOG_NONE .. CCOORD_LOG_DEBUG; CCOORD_EINVAL otherwise.  Since: 1.0 */
CCOORD_API int ccoord_set_log_level(ccoord_node *node, int level);

/* ---------------------------------------------------------------------
 * Membership.
 */
#define CCOORD_MEMBER_ADDED 1          /* member_id joined */
#define CCOORD_MEMBER_REMOVED 2        /* member_id left or was evicted */
#define CCOORD_MEMBER_SELF_EVICTED 3   /* this node was evicted; it rejoins */
#define CCOORD_MEMBER_LEADER_CHANGED 4 /* member_id leads now ("" none known) */

typedef void (*ccoord_member_cb)(ccoord_node *node, int event, const char *member_id,
                                 void *user_data);
/* Sets (replaces; NULL removes) the membership callback.  It runs on the
 * node's dispatcher thread, never on the thread that heartbeats (in host
 * dispatch, see ccoord_event_fd(), on the thread that calls
 * ccoord_dispatch()), never with a library lock held, one event at a time
 * in the order the changes were observed.  It may call any function of
 * the library but ccoord_node_free() on its own node.  A callback that
 * blocks delays the events after it, never a heartbeat or the lease.
 * Since: 1.0 */
CCOORD_API int ccoord_on_member_change(ccoord_node *node, ccoord_member_cb cb,
                                       void *user_data);
/* 1 when this node is the leader and its leader lease is valid, else 0.
 * Since: 1.0 */
CCOORD_API int ccoord_is_leader(const ccoord_node *node);
/* The live members as this node last read them, in join order (read once
 * before ccoord_join() returns).  Free the array with ccoord_free_list().
 * CCOORD_ENOTJOINED before join.  Since: 1.0 */
CCOORD_API int ccoord_members(ccoord_node *node, char ***ret_ids, size_t *ret_count);
/* Frees what ccoord_members() and ccoord_owned_tasks() returned; accepts
 * NULL.  Since: 1.0 */
CCOORD_API void ccoord_free_list(char **ids, size_t count);
/* The current leader's id as last read, to be freed with ccoord_free();
 * CCOORD_ENOTFOUND when there is none.  Since: 1.0 */
CCOORD_API int ccoord_leader(ccoord_node *node, char **ret_id);

/* ---------------------------------------------------------------------
 * Coordinated tasks.
 */
#define CCOORD_TASK_ASSIGNED 1 /* this node owns task now, with fence */
#define CCOORD_TASK_REVOKED 2  /* this node stopped owning task */

#define CCOORD_TASK_ACTIVE 1
#define CCOORD_TASK_PAUSED 2
#define CCOORD_TASK_COMPLETED 3

typedef void (*ccoord_task_cb)(ccoord_node *node, int event, const char *task,
                               uint64_t fence, void *user_data);
/* Sets (replaces; NULL removes) the task callback; runs like the member
 * callback.  The events tell the host what changed; the authority is
 * ccoord_acquire_task(), checked on the clock at every call: a REVOKED
 * queued behind a callback that blocks arrives late, but acquire says no
 * from the moment the node stops owning the task (its lease lapsing
 * included), before another node can be told ASSIGNED.  Since: 1.0 */
CCOORD_API int ccoord_on_task_change(ccoord_node *node, ccoord_task_cb cb,
                                     void *user_data);
/* This node can run task (1 to 190 bytes); creates the task if new.  May
 * be called before join (recorded at join).  Since: 1.0 */
CCOORD_API int ccoord_task_register(ccoord_node *node, const char *task);
/* This node can no longer run task; releases it if owned (acquire says
 * no at once; REVOKED follows from the dispatcher).
 * CCOORD_ENOTFOUND when this node had not registered task.  Since: 1.0 */
CCOORD_API int ccoord_task_unregister(ccoord_node *node, const char *task);
/* CCOORD_OK with *ret_fence = the task's epoch when this node owns task
 * now: its last read says so, the task is ACTIVE and this node's lease has
 * not lapsed.  CCOORD_ENOTOWNER otherwise.  Answered from memory, no
 * database round trip.  ret_fence may be NULL.  Since: 1.0 */
CCOORD_API int ccoord_acquire_task(ccoord_node *node, const char *task,
                                   uint64_t *ret_fence);
/* The tasks this node owns and may run now, sorted by name.  Free with
 * ccoord_free_list().  Since: 1.0 */
CCOORD_API int ccoord_owned_tasks(ccoord_node *node, char ***ret_names, size_t *ret_count);
/* One resolution pass now.  CCOORD_ENOTLEADER on a follower.  Since: 1.0 */
CCOORD_API int ccoord_resolve_tasks(ccoord_node *node);
/* Cluster-wide state changes, from any joined node.  Pause keeps the owner
 * but its acquire says no; resume makes it ACTIVE again; a COMPLETED task
 * is never assigned again (CCOORD_ESTATE on pause/resume of it).
 * CCOORD_ENOTFOUND for an unknown task.  Since: 1.0 */
CCOORD_API int ccoord_task_pause(ccoord_node *node, const char *task);
CCOORD_API int ccoord_task_resume(ccoord_node *node, const char *task);
CCOORD_API int ccoord_task_complete(ccoord_node *node, const char *task);
/* The task's state as stored now (a database read): CCOORD_TASK_*.
 * Since: 1.0 */
CCOORD_API int ccoord_task_state(ccoord_node *node, const char *task, int *ret_state);

/* ---------------------------------------------------------------------
 * Scheduled tasks: the library fires a callback on the task's owner at
 * each slot of a trigger, each slot once in the whole cluster (also
 * across failover, pause/resume and clock jumps).  See
 * ccoord_task_schedule(3).
 */

/* One fire of task's slot (ms since the epoch, UTC) with the task's fence,
 * on the dispatcher (or the host's thread in host dispatch), one fire of
 * a task at a time.  A long job checks ccoord_acquire_task() with its
 * fence as it goes: when that says no, the cluster has given the task to
 * another node (or paused it) and the job should stop.  Since: 1.1 */
typedef void (*ccoord_fire_cb)(ccoord_node *node, const char *task, uint64_t fence,
                               int64_t slot_ms, void *user_data);
/* Registers task (as ccoord_task_register) with a trigger:
 * "interval=MS[;count=N][;start=MS]", or "cron=EXPR[;tz=ZONE]" (Quartz
 * syntax, seconds first), each with an optional ";misfire=once|skip|all"
 * (default once) and, with all, ";max_catchup=N".  cb runs on the owner
 * only, at each slot.  CCOORD_EINVAL for a bad trigger (ccoord_errmsg()
 * names the part and what it allows), CCOORD_EMISUSE when task is
 * scheduled already.  May be called before join.  Since: 1.1 */
CCOORD_API int ccoord_task_schedule(ccoord_node *node, const char *task, const char *trigger,
                                    ccoord_fire_cb cb, void *user_data);
/* Stops firing task and unregisters it (as ccoord_task_unregister).  A
 * fire in progress runs to its end.  CCOORD_ENOTFOUND when task is not
 * scheduled on this node.  Since: 1.1 */
CCOORD_API int ccoord_task_unschedule(ccoord_node *node, const char *task);

/* ---------------------------------------------------------------------
 * Host dispatch: member and task callbacks on the host's own thread, for
 * hosts with an event loop (libuv, libevent, epoll, asyncio).  The
 * library keeps its own heartbeat thread in both modes.
 */

/* Switches node to host dispatch and returns in *ret_fd a descriptor that
 * is readable while events wait: add it to the host's poll set (POLLIN)
 * and call ccoord_dispatch() when it is readable.  The descriptor belongs
 * to the node (do not read, write or close it; it closes with
 * ccoord_node_free()) and stays the same for the node's life: a second
 * call returns it again.  Must be called before the node's first
 * ccoord_join(): after that the node delivers on its own dispatcher
 * thread and this is CCOORD_EMISUSE.  Events wait, in order, until the
 * host dispatches them; ccoord_leave() does not wait for them.
 * Since: 1.1 */
CCOORD_API int ccoord_event_fd(ccoord_node *node, int *ret_fd);
/* Runs the callbacks of the events waiting now on the calling thread, in
 * order, one at a time, with no library lock held, and returns how many
 * callbacks ran (0 when none waited, or when a callback of this node is
 * running: called from inside one, or from two threads at once).  Events
 * queued meanwhile wait for the next call (the descriptor stays
 * readable).  CCOORD_EMISUSE when the node is not in host dispatch.
 * Since: 1.1 */
CCOORD_API int ccoord_dispatch(ccoord_node *node);

/* ---------------------------------------------------------------------
 * Metrics.
 */

/* The node's counters, gauges and histograms (heartbeats sent and
 * failed, heartbeat round trip, lease remaining, leader flag and term,
 * members, tasks owned and placed by state, resolution passes and their
 * duration, evictions, connects, statements, events waiting) as
 * Prometheus text exposition (version 0.0.4), every sample labelled
 * node="<id>",group="<group_id>"; *ret_text is NUL-terminated and freed
 * with ccoord_free().  Reads memory only (no database statement), so it
 * may be called as often as a scraper likes and answers while the
 * database is away; works before ccoord_join() and after
 * ccoord_leave().  CCOORD_EINVAL (NULL argument), CCOORD_ENOMEM.
 * Since: 1.1 */
CCOORD_API int ccoord_metrics(ccoord_node *node, char **ret_text);

#ifdef __cplusplus
}
#endif
#endif /* CLUSTERCOORD_H */
