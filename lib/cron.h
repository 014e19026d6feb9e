/*
 * lib/cron.h: floor 1, Quartz cron expressions (lib/cron.c): parsing, with
 * an error that names the field and what it allows, and the next fire
 * time after a given one.  Pure computation on broken-down civil time
 * (no clock, no locale, no process time zone): the caller says which
 * offset from UTC a civil time has (ccoord__cron_zone), so one parsed
 * expression serves any zone.
 *
 * The syntax is Quartz's CronExpression, as WSO2 Micro Integrator's
 * triggers use it: "sec min hour day-of-month month day-of-week [year]".
 *   sec, min 0-59; hour 0-23; day-of-month 1-31; month 1-12 or JAN-DEC;
 *   day-of-week 1-7 or SUN-SAT (1 = Sunday); year 1970-2199 (optional).
 *   * every value; ? no specific value (day-of-month or day-of-week: one
 *   of the two must be ?); a-b a range (wrapping when a > b: FRI-MON);
 *   a,b lists; a/n and a-b/n and * /n steps; L the last day of the month
 *   (L-3 three days before it), LW its last weekday, 15W the weekday
 *   nearest the 15th (within the month), in day-of-week L alone Saturday,
 *   6L the last Friday, 6#3 the third Friday.  Names are case-blind.
 */
#ifndef CCOORD_CRON_H
#define CCOORD_CRON_H

#include <stdint.h>

#include "internal.h"

#define CCOORD__CRON_YEAR_MIN 1970
#define CCOORD__CRON_YEAR_MAX 2199

typedef struct ccoord__cron {
    uint64_t sec, min; /* bit v: value v matches */
    uint32_t hour;
    uint32_t dom;   /* bits 1..31 */
    uint16_t month; /* bits 1..12 */
    uint8_t dow;    /* bits 1..7, 1 = Sunday */
    uint64_t year[4]; /* bit y - 1970 */
    int use_dom;    /* day-of-month decides (day-of-week is ?), else day-of-week */
    int dom_last;   /* L, L-n: 1 + n; 0 none */
    int dom_lastwd; /* LW */
    int dom_near;   /* nW: n; 0 none */
    int dow_last;   /* nL: weekday n; 0 none */
    int dow_nth, dow_nth_day; /* n#k: weekday n, k-th of the month */
} ccoord__cron;

/* Parses expr into *c.  CCOORD_OK, or CCOORD_EINVAL with err set to
 * "<field> field \"<item>\": <what is wrong>; allowed: <what>" (or what
 * is wrong with the whole expression). */
int ccoord__cron_parse(const char *expr, ccoord__cron *c, char *err, size_t errlen);

/* A civil (wall clock) time in a zone. */
typedef struct ccoord__civil {
    int year, month, day, hour, min, sec; /* month 1-12, day 1-31 */
} ccoord__civil;

/* A time zone for the search: offset_s(ctx, utc_s) is the zone's offset
 * from UTC in seconds at that instant (NULL: UTC). */
typedef struct ccoord__cron_zone {
    long (*offset_s)(void *ctx, int64_t utc_s);
    void *ctx;
} ccoord__cron_zone;

/* The first fire time strictly after after_s (seconds since the epoch,
 * UTC), into *ret_s: 1 found, 0 none (the years ran out).  In a zone with
 * daylight saving time, a civil time that does not exist (the hour
 * skipped in spring) fires at the instant the clock jumps past it, and
 * one that occurs twice (autumn) fires once, at its first occurrence, as
 * Quartz does. */
int ccoord__cron_next(const ccoord__cron *c, const ccoord__cron_zone *zone, int64_t after_s,
                      int64_t *ret_s);

/* Civil time <-> seconds since the epoch, both in UTC (no zone). */
int64_t ccoord__civil_to_utc(const ccoord__civil *t);
void ccoord__utc_to_civil(int64_t s, ccoord__civil *t);
/* 1 (Sunday) to 7 (Saturday). */
int ccoord__weekday(int year, int month, int day);
int ccoord__days_in_month(int year, int month);

#endif
