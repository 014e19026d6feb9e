/*
 * lib/trigger.h: floor 3 (calls cron.c and tzif.c), a schedule's trigger
 * (lib/trigger.c): the string ccoord_task_schedule(3) takes, parsed with
 * an error that names the part and what it allows, and its slots (the
 * wall-clock instants, in ms since the epoch, at which the task fires).
 *
 *   interval=MS       every MS ms (10 to 2678400000), on the grid
 *                     start + k * MS (start defaults to 0: multiples of
 *                     MS since the epoch, the same on every node)
 *   cron=EXPR         a Quartz cron expression (cron.h)
 *   tz=ZONE           cron only: the zone its fields are in (default UTC)
 *   count=N           at most N fires in all, then COMPLETED (1 to 2^31-1)
 *   start=MS          no slot before MS (ms since the epoch)
 *   misfire=once|skip|all   what a late start does (default once)
 *   max_catchup=N     misfire=all: at most N late fires in a row (default 100)
 *   grace=MS          a fire that starts within MS of its slot is on time,
 *                     later is a misfire (1 to 86400000, default 1000; as
 *                     Quartz's misfireThreshold, per trigger)
 *
 * Parts are separated by ';', each key once, in any order; blanks around
 * a part are ignored.
 */
#ifndef CCOORD_TRIGGER_H
#define CCOORD_TRIGGER_H

#include "cron.h"
#include "tzif.h"

enum { CCOORD__MISFIRE_ONCE = 0, CCOORD__MISFIRE_SKIP, CCOORD__MISFIRE_ALL };

typedef struct ccoord__trigger {
    int is_cron;
    int64_t interval_ms;
    long long count;  /* 0: no limit */
    int64_t start_ms; /* 0: none */
    int misfire;
    long max_catchup;
    int64_t grace_ms;
    ccoord__cron cron;
    ccoord__tz *tz;   /* NULL: UTC */
    char *text;       /* as given, for log lines */
} ccoord__trigger;

/* Parses text into *t (zeroed here).  CCOORD_OK; CCOORD_EINVAL with err
 * "trigger \"...\": <part>: <what is wrong>; allowed: <what>";
 * CCOORD_ENOMEM. */
int ccoord__trigger_parse(const char *text, ccoord__trigger *t, char *err, size_t errlen);
void ccoord__trigger_free(ccoord__trigger *t);
/* The first slot strictly after after_ms, into *ret_ms: 1, or 0 when the
 * schedule has no slot after it (a cron year range that ended). */
int ccoord__trigger_next(const ccoord__trigger *t, int64_t after_ms, int64_t *ret_ms);

#endif
