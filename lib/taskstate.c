/*
 * lib/taskstate.c: floor 5, a task's cluster-wide state change as one
 * transaction (taskstate.h).
 */
#include "taskstate.h"

int ccoord__task_state_change(ccoord__db *db, const char *task, int to, int *ret_state)
{
    unsigned long long rows = 0;
    int rc = ccoord__db_begin(db);
    if (!rc)
        rc = ccoord__row_task_set_state(db, task, to, &rows);
    if (!rc && rows)
        rc = ccoord__row_group_bump(db, 0);
    if (!rc)
        rc = ccoord__db_commit(db);
    else
        ccoord__db_rollback(db);
    *ret_state = to;
    if (!rc && !rows) {
        /* nothing moved: not there, already there, or not allowed */
        rc = ccoord__row_task_state(db, task, ret_state);
        if (rc == CCOORD_OK && *ret_state != to)
            rc = CCOORD_ESTATE;
        else if (rc == CCOORD_OK)
            *ret_state = -1;
    }
    return rc;
}
