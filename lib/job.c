/*
 * lib/job.c: floor 1, one call on a thread of its own (job.h).
 *
 * The job is shared by the caller and the thread; its mutex guards done,
 * the notify target and the abandonment.  Whoever sees the other side
 * gone frees it: the caller in ccoord__job_finish (after joining) or in
 * ccoord__job_abandon when fn already returned, else the thread.
 */
#include "job.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct ccoord__job {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    void (*fn)(void *);
    void *arg;
    void (*notify)(void *);
    void *notify_ctx;
    void (*orphan)(void *); /* set by abandon */
    int done, abandoned;
    int64_t started_ns;
};

static void job_destroy(ccoord__job *j)
{
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

static void *job_main(void *arg)
{
    ccoord__job *j = arg;
    int abandoned;
    j->fn(j->arg);
    pthread_mutex_lock(&j->mu);
    j->done = 1;
    abandoned = j->abandoned;
    if (!abandoned) {
        pthread_cond_broadcast(&j->cond);
        if (j->notify)
            j->notify(j->notify_ctx);
    }
    pthread_mutex_unlock(&j->mu);
    if (abandoned) {
        /* nobody waits: the thread was detached */
        if (j->orphan)
            j->orphan(j->arg);
        job_destroy(j);
    }
    return NULL;
}

int ccoord__job_start(void (*fn)(void *arg), void *arg, void (*notify)(void *ctx),
                      void *notify_ctx, ccoord__job **ret_job)
{
    pthread_condattr_t ca;
    ccoord__job *j = ccoord__calloc(1, sizeof *j);
    if (!j)
        return CCOORD_ENOMEM;
    j->fn = fn;
    j->arg = arg;
    j->notify = notify;
    j->notify_ctx = notify_ctx;
    j->started_ns = ccoord__now_ns();
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        job_destroy(j);
        return CCOORD_ENOMEM;
    }
    *ret_job = j;
    return CCOORD_OK;
}

int ccoord__job_wait(ccoord__job *j, int64_t deadline_ns)
{
    int done;
    pthread_mutex_lock(&j->mu);
    while (!j->done) {
        int64_t left = deadline_ns - ccoord__now_ns();
        struct timespec ts;
        if (left <= 0)
            break;
        ccoord__mono_after(left, &ts);
        pthread_cond_timedwait(&j->cond, &j->mu, &ts);
    }
    done = j->done;
    pthread_mutex_unlock(&j->mu);
    return done;
}

int64_t ccoord__job_started_ns(const ccoord__job *j)
{
    return j->started_ns;
}

void ccoord__job_finish(ccoord__job *j)
{
    pthread_join(j->thread, NULL);
    job_destroy(j);
}

void ccoord__job_abandon(ccoord__job *j, void (*orphan)(void *arg))
{
    void *arg = j->arg;
    pthread_t thread = j->thread; /* j may be gone once the lock is let go */
    int done;
    pthread_mutex_lock(&j->mu);
    done = j->done;
    j->abandoned = !done;
    j->orphan = orphan;
    j->notify = NULL;
    pthread_mutex_unlock(&j->mu);
    if (done) {
        ccoord__job_finish(j);
        if (orphan)
            orphan(arg);
        return;
    }
    pthread_detach(thread);
}
