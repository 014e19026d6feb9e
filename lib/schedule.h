/*
 * lib/schedule.h: floor 7, scheduled tasks (lib/schedule.c): the
 * schedules of this node, the thread that finds their slots due on the
 * tasks this node owns, records each slot by compare-and-set on the
 * task's fence (one statement per fire) and queues the fire for the
 * dispatcher, and ccoord_task_schedule / ccoord_task_unschedule.  Calls
 * task.c (registrations, acquire), taskstate.c (COMPLETED after the last
 * of a count) and the floors below; beside leader.c, which it does not
 * call.
 */
#ifndef CCOORD_SCHEDULE_H
#define CCOORD_SCHEDULE_H

#include "task.h"

/* Sets up the node's schedule table and the dispatcher's fire hook (node
 * creation).  CCOORD_OK or CCOORD_ENOMEM. */
int ccoord__sched_init(ccoord_node *n);
/* Starts the schedule thread (after join).  CCOORD_OK or CCOORD_ENOMEM. */
int ccoord__sched_start(ccoord_node *n);
/* Stops it (leave, free); a fire queued or running is not waited for. */
void ccoord__sched_stop(ccoord_node *n);
/* Frees the schedules (node free, after stop). */
void ccoord__sched_free(ccoord_node *n);

#endif
