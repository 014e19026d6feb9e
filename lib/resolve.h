/*
 * lib/resolve.h: floor 8, task resolution (lib/resolve.c): one pass over
 * the unassigned tasks through the resolver plugin, and when one is due.
 */
#ifndef CCOORD_RESOLVE_H
#define CCOORD_RESOLVE_H

#include "leader.h"

/* One resolution pass now (single flight, under resolve_mu), on a thread
 * of its own that reads and writes on the API connection: a pass still
 * running (the background thread's) is waited for first, then a fresh
 * batch is read and placed (with cleanup, after releasing the tasks and
 * deleting the registrations of node ids without a member row).  exclude:
 * a member id not to place on (this node while it leaves) or NULL.
 * Waits until deadline_ns at most: then CCOORD_EPLUGIN, err saying the
 * pass has not ended (it goes on).  The caller must not hold api_mu.
 * CCOORD_OK, CCOORD_ENOTLEADER, CCOORD_EPLUGIN, CCOORD_EDB or
 * CCOORD_ENOMEM, with err set on failure. */
int ccoord__resolve_pass(ccoord_node *n, int cleanup, const char *exclude, int64_t deadline_ns,
                         char *err, size_t errlen);
/* The background thread's leader work after a poll: collects a pass that
 * ended, and starts one (it does not wait for it) when the cluster
 * changed, a new term asked for one, or resolving_period has passed since
 * the last (every resolving_frequency-th with cleanup).  Never waits on a
 * lock a pass or an API caller holds. */
void ccoord__resolve_if_due(ccoord_node *n, int changed);
/* At ccoord_node_free: a pass that ended is collected; one still running
 * is abandoned with the resolver (after its read or write in progress, if
 * any; its log cut off; the resolver unloaded by the pass's thread when
 * the plugin returns) and n->resolver becomes NULL. */
void ccoord__resolve_stop(ccoord_node *n);

#endif
