/*
 * lib/trigger.c: floor 3, a schedule's trigger (trigger.h).
 */
#include "trigger.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTERVAL_MAX_MS 2678400000LL /* 31 days */

typedef struct tparse {
    const char *text;
    char *err;
    size_t errlen;
} tparse;

static int refuse(tparse *p, const char *part, const char *what, const char *allowed)
{
    char shown[120];
    ccoord__printable(shown, sizeof shown, p->text, 100);
    ccoord__fmt(p->err, p->errlen, "trigger \"%s\": %s: %s; allowed: %s", shown, part, what,
                allowed);
    return CCOORD_EINVAL;
}

static int whole(const char *v, long long lo, long long hi, long long *ret)
{
    long long x = 0;
    const char *s = v;
    if (!isdigit((unsigned char)*s))
        return -1;
    while (isdigit((unsigned char)*s)) {
        if (x > hi / 10 + 1)
            return -1;
        x = x * 10 + (*s++ - '0');
    }
    if (*s || x < lo || x > hi)
        return -1;
    *ret = x;
    return 0;
}

static const char KEYS[] = "interval=MS, cron=EXPR, tz=ZONE, count=N, start=MS, "
                           "misfire=once|skip|all, max_catchup=N, grace=MS, separated by ';'";

/* One "key=value" part (trimmed, in buf). */
static int part(tparse *p, ccoord__trigger *t, char *kv, unsigned *seen)
{
    static const char *const keys[] = {"interval", "cron", "tz", "count", "start",
                                       "misfire", "max_catchup", "grace"};
    char *eq = strchr(kv, '='), *v, shown[160];
    long long x = 0;
    unsigned k;
    ccoord__printable(shown, sizeof shown, kv, 140);
    if (!eq)
        return refuse(p, shown, "not key=value", KEYS);
    *eq = '\0';
    v = eq + 1;
    for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (strcmp(kv, keys[k]) == 0)
            break;
    if (k == sizeof keys / sizeof keys[0])
        return refuse(p, shown, "unknown key", KEYS);
    if (*seen >> k & 1)
        return refuse(p, shown, "given twice", "each key once");
    *seen |= 1u << k;
    switch (k) {
    case 0:
        if (whole(v, 10, INTERVAL_MAX_MS, &x))
            return refuse(p, shown, "not a whole number of ms in range",
                          "interval=10 to interval=2678400000 (31 days)");
        t->interval_ms = x;
        return CCOORD_OK;
    case 1: {
        char why[400];
        t->is_cron = 1;
        if (ccoord__cron_parse(v, &t->cron, why, sizeof why) != CCOORD_OK)
            return refuse(p, shown, why, "a Quartz cron expression, e.g. cron=0 0/5 * * * ?");
        return CCOORD_OK;
    }
    case 2: {
        char why[600];
        int rc = ccoord__tz_load(v, &t->tz, why, sizeof why);
        if (rc == CCOORD_ENOMEM)
            return rc;
        if (rc)
            return refuse(p, shown, why, "tz=<a zone of the time zone database>, e.g. "
                                         "tz=Europe/Berlin");
        return CCOORD_OK;
    }
    case 3:
        if (whole(v, 1, 2147483647LL, &x))
            return refuse(p, shown, "not a whole number in range", "count=1 to count=2147483647");
        t->count = x;
        return CCOORD_OK;
    case 4:
        if (whole(v, 0, 253402300799999LL, &x))
            return refuse(p, shown, "not ms since the epoch",
                          "start=0 to start=253402300799999 (ms since 1970, UTC)");
        t->start_ms = x;
        return CCOORD_OK;
    case 5:
        if (!strcmp(v, "once"))
            t->misfire = CCOORD__MISFIRE_ONCE;
        else if (!strcmp(v, "skip"))
            t->misfire = CCOORD__MISFIRE_SKIP;
        else if (!strcmp(v, "all"))
            t->misfire = CCOORD__MISFIRE_ALL;
        else
            return refuse(p, shown, "not a misfire policy", "misfire=once, skip or all");
        return CCOORD_OK;
    case 7:
        if (whole(v, 1, 86400000, &x))
            return refuse(p, shown, "not a whole number of ms in range",
                          "grace=1 to grace=86400000");
        t->grace_ms = x;
        return CCOORD_OK;
    default:
        if (whole(v, 1, 1000000, &x))
            return refuse(p, shown, "not a whole number in range",
                          "max_catchup=1 to max_catchup=1000000");
        t->max_catchup = (long)x;
        return CCOORD_OK;
    }
}

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

int ccoord__trigger_parse(const char *text, ccoord__trigger *t, char *err, size_t errlen)
{
    tparse p = {text ? text : "", err, errlen};
    char *buf, *s, *next;
    unsigned seen = 0;
    int rc = CCOORD_OK;
    memset(t, 0, sizeof *t);
    t->max_catchup = 100;
    t->grace_ms = 1000;
    if (!text || !*text || strlen(text) > 1000)
        return refuse(&p, "the whole", "empty or longer than 1000 bytes", KEYS);
    if (!(buf = ccoord__strdup(text)) || !(t->text = ccoord__strdup(text))) {
        free(buf);
        return CCOORD_ENOMEM;
    }
    for (s = buf; !rc && s; s = next) {
        char *kv;
        next = strchr(s, ';');
        if (next)
            *next++ = '\0';
        kv = trim(s);
        if (!*kv) {
            rc = refuse(&p, "an empty part", "nothing between two ';'", KEYS);
            break;
        }
        rc = part(&p, t, kv, &seen);
    }
    free(buf);
    if (!rc && !(seen & 1) == !(seen & 2))
        rc = refuse(&p, "the whole", (seen & 1) ? "both interval and cron" : "neither interval "
                    "nor cron", "exactly one of interval=MS and cron=EXPR");
    if (!rc && (seen & 4) && !(seen & 2))
        rc = refuse(&p, "tz", "only a cron expression has a zone (an interval is the same "
                    "everywhere)", "tz= with cron=");
    if (!rc && (seen & 64) && t->misfire != CCOORD__MISFIRE_ALL)
        rc = refuse(&p, "max_catchup", "only misfire=all catches up", "max_catchup= with "
                    "misfire=all");
    if (rc)
        ccoord__trigger_free(t);
    return rc;
}

void ccoord__trigger_free(ccoord__trigger *t)
{
    ccoord__tz_free(t->tz);
    ccoord__free_mem(t->text);
    memset(t, 0, sizeof *t);
}

int ccoord__trigger_next(const ccoord__trigger *t, int64_t after_ms, int64_t *ret_ms)
{
    if (t->start_ms && after_ms < t->start_ms - 1)
        after_ms = t->start_ms - 1;
    if (t->is_cron) {
        ccoord__cron_zone z = {t->tz ? ccoord__tz_offset_cb : NULL, t->tz};
        int64_t s, sec = after_ms >= 0 ? after_ms / 1000 : -((-after_ms + 999) / 1000);
        if (!ccoord__cron_next(&t->cron, &z, sec, &s))
            return 0;
        *ret_ms = s * 1000;
        return 1;
    }
    if (after_ms < t->start_ms)
        *ret_ms = t->start_ms;
    else
        *ret_ms = t->start_ms + ((after_ms - t->start_ms) / t->interval_ms + 1) * t->interval_ms;
    return 1;
}
