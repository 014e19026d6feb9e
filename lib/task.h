/*
 * lib/task.h: floor 6, this node's side of the coordinated tasks: the
 * ownership table, its refresh and its lease check, registrations
 * (lib/task.c).  Beside lib/member.h on the same floor: neither calls the
 * other.
 */
#ifndef CCOORD_TASK_H
#define CCOORD_TASK_H

#include "core.h"

/* CCOORD_OK when task is a valid name and node n usable (not NULL, not
 * a forked child's copy); otherwise the status, with errmsg naming fn. */
int ccoord__task_check(ccoord_node *n, const char *fn, const char *task);
/* Runs f on the API connection (api_mu held): again when the server
 * rolled it back for a conflict, once more on a fresh connection after a
 * connection-level failure; errmsg names fn and task on failure. */
int ccoord__task_api_call(ccoord_node *n, const char *fn, const char *task,
                          int (*f)(ccoord_node *, ccoord__db *, const char *, void *), void *arg);
/* Writes the registered tasks' rows (join, rejoin).  Takes mu. */
int ccoord__tasks_write_registrations(ccoord_node *n, ccoord__db *db);
/* Re-reads the tasks this node owns and updates the ownership table:
 * REVOKED for what changed, ASSIGNED for what is new and registered;
 * a task placed here that this node no longer registers is released.
 * Takes mu.  CCOORD_OK, CCOORD_EDB or CCOORD_ENOMEM. */
int ccoord__tasks_refresh(ccoord_node *n, ccoord__db *db);
/* Stops owning everything (mu held): REVOKED for every granted task. */
void ccoord__tasks_revoke_all(ccoord_node *n);
/* Revokes everything once the lease has lapsed at now (mu held), and
 * then re-reads the tasks after the next successful heartbeat. */
void ccoord__tasks_lease_check(ccoord_node *n, int64_t now);
/* After a successful heartbeat: the re-read the lease check asked for.
 * Takes mu. */
void ccoord__tasks_after_heartbeat(ccoord_node *n);

#endif
