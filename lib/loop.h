/*
 * lib/loop.h: floor 8, the node's background and watchdog threads
 * (lib/loop.c).
 */
#ifndef CCOORD_LOOP_H
#define CCOORD_LOOP_H

#include "resolve.h"
#include "task.h"

/* Starts the watchdog and the background thread (joined node).
 * CCOORD_OK or CCOORD_ENOMEM (no thread left running). */
int ccoord__loop_start(ccoord_node *n);
/* Stops both and waits for them.  Must not run on either. */
void ccoord__loop_stop(ccoord_node *n);

#endif
