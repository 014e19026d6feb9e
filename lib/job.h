/*
 * lib/job.h: floor 1, one call on a thread of its own that the caller can
 * wait for with a deadline, and give up on.  The resolver plugin runs
 * this way (resolve.c), so a plugin that sleeps or loops delays only
 * placement, never the heartbeat, a leave or ccoord_node_free().
 */
#ifndef CCOORD_JOB_H
#define CCOORD_JOB_H

#include "internal.h"

typedef struct ccoord__job ccoord__job;

/* Runs fn(arg) on a new thread.  When fn returns, notify(notify_ctx) is
 * called (unless the job was abandoned first), so the owner can wake the
 * thread that collects it.  CCOORD_OK or CCOORD_ENOMEM (no thread: fn
 * did not run). */
int ccoord__job_start(void (*fn)(void *arg), void *arg, void (*notify)(void *ctx),
                      void *notify_ctx, ccoord__job **ret_job);
/* Waits until fn returned or deadline_ns (ccoord__now_ns() clock) passed.
 * 1 when it returned, else 0.  A deadline in the past only looks. */
int ccoord__job_wait(ccoord__job *job, int64_t deadline_ns);
/* When the job started (ccoord__now_ns() clock). */
int64_t ccoord__job_started_ns(const ccoord__job *job);
/* The job returned (ccoord__job_wait said 1): joins its thread and frees
 * the job (not arg). */
void ccoord__job_finish(ccoord__job *job);
/* Gives up on a job that may still run: nothing waits for it any more,
 * notify is never called again, and when fn returns the thread calls
 * orphan(arg) (which frees what arg holds) and frees the job.  When fn
 * already returned, orphan(arg) runs here. */
void ccoord__job_abandon(ccoord__job *job, void (*orphan)(void *arg));

#endif
