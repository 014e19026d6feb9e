/*
 * lib/resolve.h: floor 7, task resolution (lib/resolve.c): one pass over
 * the unassigned tasks through the resolver plugin, and when one is due.
 */
#ifndef CCOORD_RESOLVE_H
#define CCOORD_RESOLVE_H

#include "leader.h"

/* One resolution pass now, on db (single flight, under resolve_mu): a
 * plugin call still running from an earlier pass is waited for and its
 * placements written, then a fresh batch is read and placed (with
 * cleanup, after releasing the tasks and deleting the registrations of
 * node ids without a member row).  exclude: a
 * member id not to place on (this node while it leaves) or NULL.  Waits
 * for the plugin until deadline_ns at most: then CCOORD_EPLUGIN, with
 * db->err saying the plugin has not returned (its placements are written
 * by whoever collects it).  CCOORD_OK, CCOORD_ENOTLEADER, CCOORD_EPLUGIN,
 * CCOORD_EDB or CCOORD_ENOMEM (db->err set). */
int ccoord__resolve_pass(ccoord_node *n, ccoord__db *db, int cleanup, const char *exclude,
                         int64_t deadline_ns);
/* The background thread's leader work after a poll: a pass when the
 * cluster changed, a new term asked for one, or resolving_period has
 * passed since the last (every resolving_frequency-th with cleanup). */
void ccoord__resolve_if_due(ccoord_node *n, ccoord__db *db, int changed);
/* At ccoord_node_free: a plugin call that returned is freed; one still
 * running is abandoned with the resolver (its log cut off, unloaded by
 * the call's thread when it returns) and n->resolver becomes NULL. */
void ccoord__resolve_stop(ccoord_node *n);

#endif
