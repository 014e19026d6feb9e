/*
 * lib/rows.h: floor 4, the statements on the five tables (groups, leader,
 * members, tasks, task_nodes), one statement per function.  rows.c knows
 * no node state: the group and the table prefix come from the connection's
 * settings (db->s), everything else is a parameter.  Transactions are the
 * callers' (BEGIN, the statements, COMMIT), so a caller decides what one
 * change writes together.
 *
 * Every function returns CCOORD_OK, CCOORD_ENOMEM or CCOORD_EDB (db->err
 * set, as ccoord__db_exec does); *ret_rows, where there is one, is the
 * number of rows the statement changed.  A dbi_result handed back is the
 * caller's to free with dbi_result_free.
 */
#ifndef CCOORD_ROWS_H
#define CCOORD_ROWS_H

#include "db.h"

/* ---- the group row and the leader row */

/* Creates the group row (version 0) and the empty leader row of the
 * group unless they exist. */
int ccoord__row_group_create(ccoord__db *db);
/* version + 1 (and, with removal, removals + 1: every statement sequence
 * that deletes a member row bumps it in its transaction, so a follower
 * that sees the same count may read only the members that joined). */
int ccoord__row_group_bump(ccoord__db *db, int removal);
/* The group's version (inside the caller's transaction). */
int ccoord__row_group_version(ccoord__db *db, long long *ret_version);

/* What one poll reads: the group row, the leader row, the leader's
 * member row (its counter lets a follower that becomes leader judge its
 * predecessor on its own past observation). */
typedef struct ccoord__poll {
    int have;          /* filled by a statement */
    int group_missing; /* no group row */
    int have_leader_row;
    char lnode[CCOORD__MAX_KEY + 1];
    long long version, removals, lterm, lhb, lminc, lmhb;
    long long own_hb; /* PostgreSQL heartbeat: the counter it wrote; -1 unknown */
} ccoord__poll;

/* One SELECT of the poll. */
int ccoord__row_poll(ccoord__db *db, ccoord__poll *ret);
/* The member row's heartbeat: heartbeat + 1 where node_id and
 * incarnation match (0 rows: the row is gone, the node was evicted).  On
 * PostgreSQL the same statement carries the poll (a data-modifying WITH),
 * into *ret_poll, with the counter it wrote in own_hb; elsewhere
 * ret_poll->have is 0. */
int ccoord__row_heartbeat(ccoord__db *db, const char *node_id, long long incarnation,
                          ccoord__poll *ret_poll, unsigned long long *ret_rows);

/* Takes the leader row over by compare-and-set on what the caller saw
 * (node, term, heartbeat): node_id = me, term + 1, heartbeat 0. */
int ccoord__row_leader_take(ccoord__db *db, const char *me, const char *seen_node,
                            long long seen_term, long long seen_hb, unsigned long long *ret_rows);
/* Leader heartbeat + 1 where the row holds me and term. */
int ccoord__row_leader_renew(ccoord__db *db, const char *me, long long term,
                             unsigned long long *ret_rows);
/* Locks the leader row and sets *ret_holds to 1 when it holds me and
 * term.  By writing it (the renewal's heartbeat + 1), not by SELECT ...
 * FOR UPDATE: the write takes the same row lock, and on Galera, whose
 * row locks are each member's own, it also puts the row in the
 * transaction's write set, so that a transaction of this leader that
 * overlaps a takeover on another member fails certification instead of
 * committing under a term that has ended. */
int ccoord__row_leader_lock(ccoord__db *db, const char *me, long long term, int *ret_holds);
/* Empties the leader row if it holds me and term (graceful step-down). */
int ccoord__row_leader_vacate(ccoord__db *db, const char *me, long long term);

/* ---- member rows */

/* One member row as read. */
typedef struct ccoord__member {
    char *id;
    char *hostname;
    char *metadata;
    long long incarnation;
    long long heartbeat;
    long long joined_seq;
    int drained;     /* ccoordctl drain: gives its tasks up, gets no new ones */
    int64_t seen_ns; /* not a column: when this heartbeat value was first read */
} ccoord__member;
void ccoord__members_free(ccoord__member *m, size_t count);

/* The row of node_id: 1 found (incarnation, heartbeat, hostname copied
 * out), 0 none, or a negative status. */
int ccoord__row_member_get(ccoord__db *db, const char *node_id, long long *ret_inc,
                           long long *ret_hb, char *host, size_t hostlen);
/* Inserts a fresh row (heartbeat 0, no metadata, joined_seq seq). */
int ccoord__row_member_insert(ccoord__db *db, const char *node_id, long long inc,
                              const char *hostname, long long seq);
/* Takes over the row of a stopped process with the same id, by
 * compare-and-set on the incarnation and heartbeat watched. */
int ccoord__row_member_takeover(ccoord__db *db, const char *node_id, long long inc,
                                const char *hostname, long long seq, long long old_inc,
                                long long old_hb, unsigned long long *ret_rows);
/* Deletes the row of node_id with incarnation inc; with hb >= 0 only
 * while its heartbeat is still hb (eviction by compare-and-set). */
int ccoord__row_member_delete(ccoord__db *db, const char *node_id, long long inc, long long hb,
                              unsigned long long *ret_rows);
/* Member rows in join order (joined_seq, node_id) into a new array:
 * every row (since < 0) or the rows that joined after sequence since. */
int ccoord__row_members_read(ccoord__db *db, long long since, ccoord__member **ret,
                             size_t *ret_count);
/* Locks every member row of the group (FOR UPDATE where the backend has
 * row locks): node_id, drained. */
int ccoord__row_members_lock(ccoord__db *db, dbi_result *ret);

/* ---- tasks and registrations */

/* Releases the tasks owned by owner (owner NULL, epoch + 1, so whatever
 * it handed out as fences is stale): all of them, or only task. */
int ccoord__row_tasks_release(ccoord__db *db, const char *owner, const char *task,
                              unsigned long long *ret_rows);
/* Deletes node_id's registrations: all of them, or only task's. */
/* The database lost commits: task unassigned, its epoch fence + 1, unless
 * its epoch is above fence already.  *ret_rows: 1 when it changed. */
int ccoord__row_task_raise_epoch(ccoord__db *db, const char *task, uint64_t fence,
                                 unsigned long long *ret_rows);
int ccoord__row_registrations_delete(ccoord__db *db, const char *node_id, const char *task);
/* Inserts, unless present, the task rows (ACTIVE, unowned) of names
 * [0, count), at most 200 a statement. */
int ccoord__row_tasks_create(ccoord__db *db, const char *const *names, size_t count);
/* Inserts, unless present, node_id's registrations of names [0, count). */
int ccoord__row_registrations_insert(ccoord__db *db, const char *node_id,
                                     const char *const *names, size_t count);
/* The tasks owned by owner: name, epoch, state, move_to, last_slot,
 * fires. */
int ccoord__row_tasks_owned(ccoord__db *db, const char *owner, dbi_result *ret);
/* The state of task: CCOORD_TASK_*; CCOORD_ENOTFOUND when no such task. */
int ccoord__row_task_state(ccoord__db *db, const char *task, int *ret_state);
/* Every task of the group (name, owner, epoch, state, move_to, last_slot,
 * fires), by name; for
 * ccoordctl, which reads the cluster from the database alone. */
int ccoord__row_tasks_all(ccoord__db *db, dbi_result *ret);
/* Every registration of the group (name, node_id), by name and node. */
int ccoord__row_registrations_all(ccoord__db *db, dbi_result *ret);
/* Moves task to state to (CCOORD_TASK_*), epoch + 1, move_to cleared, from the states that
 * allow it (PAUSED from ACTIVE, ACTIVE from PAUSED, COMPLETED from any
 * other, which also clears the owner). */
int ccoord__row_task_set_state(ccoord__db *db, const char *task, int to,
                               unsigned long long *ret_rows);
/* "ACTIVE", "PAUSED", "COMPLETED"; and back (anything else is ACTIVE). */
const char *ccoord__task_state_name(int state);
int ccoord__task_state_of(const char *name);

/* ---- what a resolution pass reads and writes */

/* The ACTIVE tasks, sorted: the unassigned ones, or with placed those
 * placed on a node; name, owner, epoch, move_to. */
int ccoord__row_tasks_active(ccoord__db *db, int placed, dbi_result *ret);
/* owner, COUNT(*) of the assigned tasks. */
int ccoord__row_task_loads(ccoord__db *db, dbi_result *ret);
/* For tasks [0, ntasks): name and how many of members [0, nmembers)
 * registered it (tasks no live member registered are missing). */
int ccoord__row_registration_counts(ccoord__db *db, const char *const *tasks, size_t ntasks,
                                    const char *const *members, size_t nmembers,
                                    dbi_result *ret);
/* For tasks [0, ntasks): name and node_id of every registration. */
int ccoord__row_registration_pairs(ccoord__db *db, const char *const *tasks, size_t ntasks,
                                   dbi_result *ret);
/* owner = member, epoch + 1, move_to cleared for those of tasks [0, count)
 * that are still unowned and ACTIVE (a placement's compare-and-set). */
int ccoord__row_tasks_assign(ccoord__db *db, const char *member, const char *const *tasks,
                             size_t count, unsigned long long *ret_rows);
/* A move of task to node to (ccoordctl move, rebalancing): move_to = to
 * by compare-and-set on the ACTIVE task's owner (NULL: unowned) and
 * epoch as seen; its owner gives it up, the leader places it on to (the
 * placement clears move_to, as does a state change). */
int ccoord__row_task_move(ccoord__db *db, const char *task, const char *to, const char *owner,
                          long long epoch, unsigned long long *ret_rows);
/* A fire of a schedule's slot (ms since the epoch), by compare-and-set:
 * last_slot = slot, fires + 1 where owner and epoch are as the fire's
 * fence says, the task is ACTIVE, no slot as late has fired, (count > 0)
 * fewer than count have, and (servers) the slot is not more than grace_ms
 * ahead of the server's clock.  *ret_rows 1: this slot fires, nowhere
 * else ever. */
int ccoord__row_task_fire(ccoord__db *db, const char *task, const char *owner, long long epoch,
                          long long slot, long long count, long long grace_ms,
                          unsigned long long *ret_rows);
/* Sets or clears the drained flag of node_id's member row. */
int ccoord__row_member_drain(ccoord__db *db, const char *node_id, int drained,
                             unsigned long long *ret_rows);
/* Releases tasks whose owner has no member row. */
int ccoord__row_tasks_release_departed(ccoord__db *db, unsigned long long *ret_rows);
/* Deletes registrations of node ids that have no member row. */
int ccoord__row_registrations_delete_departed(ccoord__db *db, unsigned long long *ret_rows);

#endif
