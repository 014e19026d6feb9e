/*
 * lib/leader.h: floor 7, leadership (lib/leader.c): election, renewal,
 * observing the leader, step-down, eviction.  Calls member.c (the view it
 * watches, the lease) and the floors below.
 */
#ifndef CCOORD_LEADER_H
#define CCOORD_LEADER_H

#include "member.h"

/* What a poll says of the leader: records the leader as read (queues
 * LEADER_CHANGED), steps down when the row names another node or term,
 * and, while this node's lease holds, takes the row over when it is
 * vacant, names this node from an earlier life, or has not moved for the
 * timeout.  Takes mu. */
int ccoord__leader_observe(ccoord_node *n, ccoord__db *db, const ccoord__poll *poll);
/* This node's reads stopped for gap_ns past their normal spacing (an
 * outage of the database, a partition or stop of this node): the time it
 * could not watch is nobody's silence.  Every failure-detection timer
 * (the leader row's, the leader's member row's, each member's) moves
 * forward by gap_ns, no later than now (gap_ns = now: every timer
 * restarts now, so after an outage as long as the timeout nobody is
 * declared dead, nor the leader row taken, before this node has watched
 * for the timeout).  Takes mu. */
void ccoord__leader_unwatched(ccoord_node *n, int64_t now, int64_t gap_ns);
/* Takes the leader row over by compare-and-set on what was seen.
 * CCOORD_OK (leader now), CCOORD_ENOTLEADER (lost the race) or EDB. */
int ccoord__leader_takeover(ccoord_node *n, ccoord__db *db, const char *seen_node,
                            long long seen_term, long long seen_hb);
/* The leader's heartbeat: renews the leader lease from start (when the
 * member heartbeat began), or steps down when the row is no longer ours.
 * A database error is returned and the lease left to lapse. */
int ccoord__leader_renew(ccoord_node *n, ccoord__db *db, int64_t start);
/* Inside a transaction: locks the leader row and checks it still holds
 * this node and term.  CCOORD_OK, CCOORD_ENOTLEADER (db->err set) or EDB.
 * Safe from any thread. */
int ccoord__leader_check(ccoord_node *n, ccoord__db *db);
/* Evicts every member silent for the timeout (as this leader observed
 * it); returns how many were evicted. */
int ccoord__leader_evict_dead(ccoord_node *n, ccoord__db *db);
/* Steps down locally (mu held); no database work. */
void ccoord__leader_step_down_local(ccoord_node *n);
/* Steps down locally once the leader lease has lapsed at now (mu held). */
void ccoord__leader_lease_check(ccoord_node *n, int64_t now);
/* Empties the leader row if it still holds this node and term, and bumps
 * the group version (graceful leave). */
void ccoord__leader_vacate(ccoord_node *n, ccoord__db *db, long long term);

#endif
