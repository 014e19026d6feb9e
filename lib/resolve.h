/*
 * lib/resolve.h: floor 7, task resolution (lib/resolve.c): one pass over
 * the unassigned tasks through the resolver plugin, and when one is due.
 */
#ifndef CCOORD_RESOLVE_H
#define CCOORD_RESOLVE_H

#include "leader.h"

/* One resolution pass (single flight, under resolve_mu), on db.  With
 * cleanup, first releases the tasks and deletes the registrations of
 * node ids without a member row.  exclude: a member id not to place on
 * (this node while it leaves) or NULL.  CCOORD_OK, CCOORD_ENOTLEADER,
 * CCOORD_EPLUGIN, CCOORD_EDB or CCOORD_ENOMEM (db->err set). */
int ccoord__resolve_pass(ccoord_node *n, ccoord__db *db, int cleanup, const char *exclude);
/* The background thread's leader work after a poll: a pass when the
 * cluster changed, a new term asked for one, or resolving_period has
 * passed since the last (every resolving_frequency-th with cleanup). */
void ccoord__resolve_if_due(ccoord_node *n, ccoord__db *db, int changed);

#endif
