/*
 * clustercoord/resolver.h: the resolver plugin ABI of libclustercoord.
 *
 * A resolver decides which live member runs each unassigned task.  It is a
 * shared object that exports one function, ccoord_resolver_entry(),
 * returning a constant descriptor.  Everything the plugin needs from the
 * host comes through the services table handed to init(), so a plugin
 * never links libclustercoord: it works whether the host links the library
 * dynamically, statically, or loads it through an FFI.
 *
 * Versioning: appending members to ccoord_resolver_host or
 * ccoord_resolver_ops bumps CCOORD_RESOLVER_ABI_MINOR; any other change
 * bumps the major.  The host refuses a plugin of another major or of a
 * newer minor, and reads members past the plugin's struct_size as NULL.
 * See clustercoord-resolver(7) for the guide and the ABI history.
 */
#ifndef CLUSTERCOORD_RESOLVER_H
#define CLUSTERCOORD_RESOLVER_H

#include <stddef.h>
#include <clustercoord.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CCOORD_RESOLVER_ABI_MAJOR 1
#define CCOORD_RESOLVER_ABI_MINOR 1

/* One resolution pass: the live members in join order, the unassigned
 * ACTIVE tasks, who can run what, and how many tasks each member owns.
 * In a rebalancing pass (ABI 1.1, ops->rebalance) the tasks are instead
 * the ACTIVE tasks placed on a live member, and task_owner says where.
 * Drained members (ccoordctl drain) are never in a batch.  Opaque; read
 * it through the host table.  Valid during the call it is handed to. */
typedef struct ccoord_resolver_batch ccoord_resolver_batch;

/* Host -> plugin services.  Append only.  Since ABI 1.0 unless noted. */
typedef struct ccoord_resolver_host {
    size_t struct_size; /* sizeof as compiled into the host */
    unsigned abi_major, abi_minor;

    /* Memory for ret_errmsg and anything else handed to the host. */
    void *(*mem_alloc)(size_t n);
    void (*mem_free)(void *p);
    /* Logs one line through the node's log sink (CCOORD_LOG_* level). */
    void (*log_msg)(void *host_ctx, int level, const char *msg);
    /* A [task_resolver] setting: CCOORD_OK and *ret_value (borrowed, valid
     * until fini) or CCOORD_ENOTFOUND. */
    int (*config_get)(void *host_ctx, const char *key, const char **ret_value);

    /* Batch readers.  Indexes are 0 .. count - 1; members come in join
     * order; strings are borrowed for the duration of resolve(). */
    size_t (*member_count)(const ccoord_resolver_batch *batch);
    const char *(*member_id)(const ccoord_resolver_batch *batch, size_t member);
    const char *(*member_hostname)(const ccoord_resolver_batch *batch, size_t member);
    const char *(*member_metadata)(const ccoord_resolver_batch *batch, size_t member);
    /* Tasks the member owns now (assigned before this pass, any state). */
    size_t (*member_load)(const ccoord_resolver_batch *batch, size_t member);
    size_t (*task_count)(const ccoord_resolver_batch *batch);
    const char *(*task_name)(const ccoord_resolver_batch *batch, size_t task);
    /* 1 when member registered task (may run it), else 0. */
    int (*task_can_run)(const ccoord_resolver_batch *batch, size_t task, size_t member);
    /* Places task on member; a later call for the same task replaces the
     * earlier one.  CCOORD_EINVAL for an index out of range or a member
     * that cannot run the task.  A task never placed stays unassigned. */
    int (*assign)(ccoord_resolver_batch *batch, size_t task, size_t member);

    /* ABI 1.1: the member that owns task now, or -1 (every task of a
     * resolve() batch; in a rebalance() batch never). */
    long (*task_owner)(const ccoord_resolver_batch *batch, size_t task);
    /* ABI 1.2+ members go below this line. */
} ccoord_resolver_host;

/* Plugin -> host descriptor.  Append only.  Since ABI 1.0 unless noted. */
typedef struct ccoord_resolver_ops {
    size_t struct_size;            /* sizeof as compiled into the plugin */
    unsigned abi_major, abi_minor; /* CCOORD_RESOLVER_ABI_* as compiled */
    const char *name;              /* [a-z0-9_]+, the file's basename */
    const char *version;           /* the plugin's own version, free form */
    /* NULL-terminated list of the [task_resolver] keys the plugin reads;
     * the host refuses any other key with a configuration error.  NULL
     * means the plugin takes any key. */
    const char *const *config_keys;
    /* Mandatory.  Reads settings through host->config_get and keeps host
     * and host_ctx for later use.  On failure returns a CCOORD_E* code and
     * may set *ret_errmsg (allocated with host->mem_alloc) to
     * "key = value: what is wrong; what is allowed". */
    int (*init)(const ccoord_resolver_host *host, void *host_ctx, void **ret_state,
                char **ret_errmsg);
    /* Mandatory.  Places the batch's tasks (host->assign).  Runs on one
     * thread at a time per state.  Returns CCOORD_OK or a CCOORD_E* code;
     * on error no placement of this pass is written. */
    int (*resolve)(void *state, ccoord_resolver_batch *batch);
    /* Mandatory; must accept NULL. */
    void (*fini)(void *state);

    /* ABI 1.1, optional ([task_handling] rebalance = on needs it): the
     * batch holds every ACTIVE task placed on a live member; assign()
     * says where a task should be instead (its own owner, or no call:
     * it stays).  The host moves at most rebalance_batch of them a pass,
     * each by the same handover as ccoordctl move (the owner gives the
     * task up first, then the leader places it), and calls again after
     * the next change, so a plugin places toward its target from where
     * things are, not from scratch.  Returns as resolve() does. */
    int (*rebalance)(void *state, ccoord_resolver_batch *batch);
    /* ABI 1.2+ members go below this line. */
} ccoord_resolver_ops;

#define CCOORD_RESOLVER_ENTRY_SYMBOL "ccoord_resolver_entry"
typedef const ccoord_resolver_ops *(*ccoord_resolver_entry_fn)(void);

#if defined(__GNUC__) && __GNUC__ >= 4
#define CCOORD_RESOLVER_EXPORT __attribute__((visibility("default")))
#else
#define CCOORD_RESOLVER_EXPORT
#endif

/* In the plugin: CCOORD_RESOLVER_DEFINE(my_ops) exports the entry point. */
#define CCOORD_RESOLVER_DEFINE(ops)                                             \
    CCOORD_RESOLVER_EXPORT const ccoord_resolver_ops *ccoord_resolver_entry(void); \
    CCOORD_RESOLVER_EXPORT const ccoord_resolver_ops *ccoord_resolver_entry(void) \
    {                                                                           \
        return &(ops);                                                          \
    }

#ifdef __cplusplus
}
#endif
#endif /* CLUSTERCOORD_RESOLVER_H */
