/*
 * lib/member.h: floor 6, this node's member row, its lease and its view
 * of the members (lib/member.c).  Beside lib/task.h on the same floor:
 * neither calls the other.
 */
#ifndef CCOORD_MEMBER_H
#define CCOORD_MEMBER_H

#include "core.h"

/* Writes the member row with a fresh incarnation (creating the group
 * rows first if missing).  A row with the same id is refused with
 * CCOORD_EDUPNODE when its heartbeat moves within the timeout, else taken
 * over (its tasks released).  Grants the lease.  Uses db (mu not held). */
int ccoord__member_join(ccoord_node *n, ccoord__db *db);
/* The heartbeat (on PostgreSQL with the poll, into *poll).  On success
 * renews the lease from the statement's start; *evicted = 1 when the row
 * is gone; *ret_lost_hb >= 0 (the counter written before, no lease
 * renewed) when the counter did not grow: the database lost commits.  A
 * database error is returned, the lease left to lapse. */
int ccoord__member_heartbeat(ccoord_node *n, ccoord__db *db, ccoord__poll *poll, int *evicted,
                            long long *ret_lost_hb);
/* 1 while the lease granted by the last heartbeat holds at now. */
int ccoord__lease_valid(ccoord_node *n, int64_t now);
/* Ends the lease at once (eviction, leave). */
void ccoord__lease_drop(ccoord_node *n);

/* Re-reads the member list (incremental: only the rows that joined since
 * the view's newest), diffs it against the view, queues ADDED/REMOVED.
 * *joined = 1 when an incremental read found new members.  Takes mu. */
int ccoord__members_refresh(ccoord_node *n, ccoord__db *db, int incremental, int *joined);
/* Empties the view (mu held). */
void ccoord__members_clear(ccoord_node *n);
/* A new leader's failure detection starts now for every member (mu
 * held), except its predecessor prev_id, whose counter the followers read
 * with the leader row: that past observation (prev_hb first seen at
 * prev_ns) is as good as one made now. */
void ccoord__members_observe_afresh(ccoord_node *n, int64_t now, const char *prev_id,
                                    long long prev_inc, long long prev_hb, int64_t prev_ns);
/* A first-seen time moved forward by gap_ns, no later than now. */
int64_t ccoord__seen_after_gap(int64_t seen_ns, int64_t gap_ns, int64_t now);
/* This node could not read for gap_ns past its normal spacing (an outage,
 * a partition of its own, a stop): that time is not silence of the
 * members it watches.  Moves each first-seen time forward by gap_ns, no
 * later than now (mu held). */
void ccoord__members_unwatched(ccoord_node *n, int64_t now, int64_t gap_ns);

/* A member whose counter has not moved for the timeout. */
typedef struct ccoord__silent {
    char *id;
    long long inc, hb;
    int64_t silent_ns;
} ccoord__silent;
/* The members other than this node silent for the timeout at now, as
 * observed since the view's times were set.  Takes mu. */
int ccoord__members_silent(ccoord_node *n, int64_t now, ccoord__silent **ret, size_t *ret_count);
void ccoord__silent_free(ccoord__silent *v, size_t count);

#endif
