/*
 * lib/taskstate.h: floor 5, a task's cluster-wide state change (pause,
 * resume, complete) as one transaction, on any connection: the task API
 * (task.c) runs it on a node's connection, ccoordctl on its own.
 */
#ifndef CCOORD_TASKSTATE_H
#define CCOORD_TASKSTATE_H

#include "rows.h"

/* Moves task to state to (CCOORD_TASK_*) and bumps the group version, in
 * one transaction.  CCOORD_OK when it moved (*ret_state = to) or was
 * there already (*ret_state = -1); CCOORD_ESTATE when its state does not
 * allow the move (*ret_state = the state it has: a completed task is
 * never paused or resumed); CCOORD_ENOTFOUND when there is no such task;
 * CCOORD_EDB (db->conflict set when running it again may succeed). */
int ccoord__task_state_change(ccoord__db *db, const char *task, int to, int *ret_state);

#endif
