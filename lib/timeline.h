/*
 * lib/timeline.h: a database that went back in time (floor 8, beside
 * resolve.c; calls member.c, task.c, leader.c, rows.c, core.c).
 */
#ifndef CCOORD_TIMELINE_H
#define CCOORD_TIMELINE_H

#include "core.h"

/* Compares a group version the background thread just read with the
 * highest one this node has read.  Lower means the database lost commits
 * it had acknowledged (an asynchronous standby promoted, a backup
 * restored): the node stops owning and leading at once, logs an ERROR that
 * names both versions, raises the epoch of every task it owned above the
 * fence it held (unassigning the task), holds off owning and leading for
 * a timeout and an interval, and re-reads everything.  Returns 1 when that
 * happened, 0 otherwise. */
int ccoord__timeline_check(ccoord_node *n, ccoord__db *db, long long version);

/* The same when this node's own heartbeat counter did not grow (wrote
 * before, read now; PostgreSQL, where the heartbeat returns it): only
 * this node writes it, so later commits of others cannot hide the loss.
 * version: the group version the same statement read. */
void ccoord__timeline_lost_heartbeat(ccoord_node *n, ccoord__db *db, long long wrote,
                                     long long read, long long version);

#endif
