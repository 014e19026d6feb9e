/*
 * lib/task.h: floor 6, this node's side of the coordinated tasks: the
 * ownership table, its refresh and its lease check, registrations
 * (lib/task.c).  Beside lib/member.h on the same floor: neither calls the
 * other.
 */
#ifndef CCOORD_TASK_H
#define CCOORD_TASK_H

#include "core.h"

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
