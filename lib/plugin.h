/*
 * lib/plugin.h: loading resolver plugins and running one resolution batch.
 */
#ifndef CCOORD_PLUGIN_H
#define CCOORD_PLUGIN_H

#include "internal.h"
#include <clustercoord/resolver.h>

typedef struct ccoord__resolver ccoord__resolver;

/* Sink for the plugin's log_msg (the node's logger). */
typedef void (*ccoord__log_fn)(void *log_ctx, int level, const char *msg);

/* Loads and initialises the resolver named by resolver_class:
 *  - a reference Java class name (see ccoord__resolver_alias) or a plain
 *    name [a-z0-9_]+: plugin_dir/<name>.so; when that file does not exist
 *    and the name is a stock resolver (random, roundrobin, tasknode), the
 *    copy built into the library is used;
 *  - an absolute path ending in .so: that file.
 * Refuses, with a message in err naming the file and both ABI versions
 * where they apply: a name with '/' or "..", a relative path, a missing
 * file, a dlopen failure (dlerror text), a missing entry symbol, another
 * ABI major, a newer minor, a descriptor smaller than the 1.0 layout, a
 * NULL mandatory function, a name that differs from the file's basename,
 * a file or any directory up to / (on the path as written and on the real
 * path) writable by group or others, except sticky directories owned by
 * root or this user above the plugin's own directory (such as /tmp), a
 * [task_resolver] key the plugin does not list, a failing init (whose
 * message is passed on).  Failure leaves nothing loaded.
 * Returns CCOORD_OK, CCOORD_EPLUGIN, CCOORD_EABI, CCOORD_ECONFIG or
 * CCOORD_ENOMEM.  params is copied. */
int ccoord__resolver_load(const char *resolver_class, const char *plugin_dir,
                          const ccoord__kvlist *params, ccoord__log_fn log_fn,
                          void *log_ctx, ccoord__resolver **ret, char *err, size_t errlen);
/* fini + dlclose.  Accepts NULL.  Not while resolve runs. */
void ccoord__resolver_unload(ccoord__resolver *r);
/* Cuts the plugin's log_msg off its sink (it then goes nowhere), for a
 * resolver whose resolve still runs after its node is freed: log_ctx is
 * not used again once this returns. */
void ccoord__resolver_orphan(ccoord__resolver *r);
/* The plugin's name and version, for log lines. */
const char *ccoord__resolver_name(const ccoord__resolver *r);
const char *ccoord__resolver_version(const ccoord__resolver *r);
/* The file it was loaded from, or "built into libclustercoord". */
const char *ccoord__resolver_path(const ccoord__resolver *r);

/* One member of a batch. */
typedef struct ccoord__batch_member {
    const char *id;
    const char *hostname;
    const char *metadata;
    size_t load; /* tasks owned now */
} ccoord__batch_member;

/* One unassigned task of a batch and the members (indexes into the member
 * array, ascending) that can run it. */
typedef struct ccoord__batch_task {
    const char *name;
    const size_t *can_run;
    size_t can_run_count;
    long owner; /* member index, or -1 (unassigned) */
} ccoord__batch_task;

/* Runs resolve() over the batch.  On CCOORD_OK, ret_assign[t] is the
 * member index chosen for task t or -1 (unassigned).  Never assigns a task
 * to a member that cannot run it.  On error err names the plugin. */
int ccoord__resolver_run(ccoord__resolver *r, const ccoord__batch_member *members,
                         size_t member_count, const ccoord__batch_task *tasks,
                         size_t task_count, long *ret_assign, char *err, size_t errlen);
/* 1 when the plugin has rebalance() (ABI 1.1). */
int ccoord__resolver_can_rebalance(const ccoord__resolver *r);
/* Runs rebalance() over a batch of placed tasks: on CCOORD_OK,
 * ret_assign[t] is the member task t should move to, or -1 (it stays:
 * also when the plugin named its owner). */
int ccoord__resolver_rebalance(ccoord__resolver *r, const ccoord__batch_member *members,
                               size_t member_count, const ccoord__batch_task *tasks,
                               size_t task_count, long *ret_assign, char *err, size_t errlen);

#endif
