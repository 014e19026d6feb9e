/*
 * lib/loop.h: floor 9, the node's background and watchdog threads
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
/* Stops the background thread alone (its statement in flight cut); the
 * watchdog goes on guarding the API connection until ccoord__loop_stop. */
void ccoord__loop_stop_background(ccoord_node *n);

#endif
