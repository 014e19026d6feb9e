/*
 * lib/cron.c: floor 1, Quartz cron expressions (cron.h).  No Debian
 * package parses Quartz's dialect (seconds first, ?, L, W, #), so this is
 * the smallest parser and search that does, fuzzed by
 * test/fuzz/fuzz_cron.c and checked against a table of Quartz's
 * documented examples in test/unit_cron.c.
 */
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- civil time ------------------------------------------------------------ */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ccoord__days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int ccoord__weekday(int y, int m, int d)
{
    int64_t z = days_from_civil(y, m, d); /* 1970-01-01 was a Thursday (5) */
    int w = (int)((z % 7 + 7 + 4) % 7); /* 0 = Sunday */
    return w + 1;
}

int64_t ccoord__civil_to_utc(const ccoord__civil *t)
{
    return days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600 + t->min * 60 +
           t->sec;
}

void ccoord__utc_to_civil(int64_t s, ccoord__civil *t)
{
    int64_t z = (s >= 0 ? s : s - 86399) / 86400, sod = s - z * 86400, era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    t->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    t->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    t->year = (int)(yoe + era * 400 + (t->month <= 2));
    t->hour = (int)(sod / 3600);
    t->min = (int)(sod % 3600 / 60);
    t->sec = (int)(sod % 60);
}

/* ---- parsing ---------------------------------------------------------------- */

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW, F_YEAR, F_COUNT };

static const struct field {
    const char *name;
    int min, max;
    const char *allowed;
} fields[F_COUNT] = {
    {"seconds", 0, 59, "0-59, *, a-b, a,b, a/n"},
    {"minutes", 0, 59, "0-59, *, a-b, a,b, a/n"},
    {"hours", 0, 23, "0-23, *, a-b, a,b, a/n"},
    {"day-of-month", 1, 31, "1-31, *, ?, a-b, a,b, a/n, L, L-n, LW, nW"},
    {"month", 1, 12, "1-12 or JAN-DEC, *, a-b, a,b, a/n"},
    {"day-of-week", 1, 7, "1-7 or SUN-SAT (1 = SUN), *, ?, a-b, a,b, a/n, L, nL, n#k"},
    {"year", CCOORD__CRON_YEAR_MIN, CCOORD__CRON_YEAR_MAX, "1970-2199, *, a-b, a,b, a/n"},
};

static const char *const months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const days[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

typedef struct parse {
    int f;          /* field index */
    const char *item; /* the whole field as written, for messages */
    char *err;
    size_t errlen;
} parse;

static int bad(parse *p, const char *what)
{
    ccoord__fmt(p->err, p->errlen, "%s field \"%s\": %s; allowed: %s", fields[p->f].name, p->item,
                what, fields[p->f].allowed);
    return CCOORD_EINVAL;
}

/* A number or (month, day-of-week) a name at *s; advances *s. */
static int value(parse *p, const char **s, int *ret)
{
    const char *q = *s;
    long v = 0;
    char msg[96];
    if ((p->f == F_MONTH || p->f == F_DOW) && isalpha((unsigned char)*q)) {
        const char *const *names = p->f == F_MONTH ? months : days;
        int n = p->f == F_MONTH ? 12 : 7, i;
        for (i = 0; i < n; i++)
            if (strncasecmp(q, names[i], 3) == 0 && !isalpha((unsigned char)q[3])) {
                *ret = i + 1;
                *s = q + 3;
                return CCOORD_OK;
            }
        return bad(p, "not a name");
    }
    if (!isdigit((unsigned char)*q))
        return bad(p, *q ? "expected a number" : "a value is missing");
    while (isdigit((unsigned char)*q) && v < 100000)
        v = v * 10 + (*q++ - '0');
    if (isdigit((unsigned char)*q) || v < fields[p->f].min || v > fields[p->f].max) {
        ccoord__fmt(msg, sizeof msg, "%.20s is out of range", *s);
        return bad(p, msg);
    }
    *ret = (int)v;
    *s = q;
    return CCOORD_OK;
}

static void set_bit(ccoord__cron *c, int f, int v)
{
    switch (f) {
    case F_SEC: c->sec |= 1ULL << v; break;
    case F_MIN: c->min |= 1ULL << v; break;
    case F_HOUR: c->hour |= 1U << v; break;
    case F_DOM: c->dom |= 1U << v; break;
    case F_MONTH: c->month |= (uint16_t)(1U << v); break;
    case F_DOW: c->dow |= (uint8_t)(1U << v); break;
    default: c->year[(v - CCOORD__CRON_YEAR_MIN) / 64] |= 1ULL << ((v - CCOORD__CRON_YEAR_MIN) % 64);
    }
}

/* Values a..b (wrapping past max when a > b) every step-th. */
static void set_range(ccoord__cron *c, int f, int a, int b, int step)
{
    int lo = fields[f].min, hi = fields[f].max, size = hi - lo + 1;
    int len = a <= b ? b - a + 1 : (hi - a + 1) + (b - lo + 1), i;
    for (i = 0; i < len; i += step)
        set_bit(c, f, a + i <= hi ? a + i : lo + (a + i - hi - 1) % size);
}

/* The specials of day-of-month and day-of-week, alone in their field:
 * 1 taken, 0 not a special, <0 error. */
static int special(parse *p, ccoord__cron *c, const char *s)
{
    int v = 0;
    const char *q = s;
    if (p->f == F_DOM) {
        if (strcasecmp(s, "LW") == 0)
            return c->dom_lastwd = 1;
        if (toupper((unsigned char)s[0]) == 'L') {
            if (!s[1])
                return c->dom_last = 1;
            if (s[1] != '-')
                return bad(p, "L takes only -n after it (L-3: three days before the last)");
            q = s + 2;
            if (!isdigit((unsigned char)*q))
                return bad(p, "L- needs a number of days");
            while (isdigit((unsigned char)*q) && v < 100)
                v = v * 10 + (*q++ - '0');
            if (*q || v > 30)
                return bad(p, "L-n: n is 0 to 30");
            c->dom_last = 1 + v;
            return 1;
        }
        if (strpbrk(s, "Ww")) {
            if (value(p, &q, &v))
                return CCOORD_EINVAL;
            if (toupper((unsigned char)*q) != 'W' || q[1])
                return bad(p, "nW takes one day of the month (15W)");
            c->dom_near = v;
            return 1;
        }
        return 0;
    }
    if (strcasecmp(s, "L") == 0) {
        c->dow |= 1U << 7; /* Saturday */
        return 1;
    }
    if (strpbrk(s, "Ll#")) {
        if (value(p, &q, &v))
            return CCOORD_EINVAL;
        if (toupper((unsigned char)*q) == 'L' && !q[1]) {
            c->dow_last = v;
            return 1;
        }
        if (*q == '#') {
            int k = 0;
            q++;
            if (!isdigit((unsigned char)*q) || q[1])
                return bad(p, "n#k: k is 1 to 5");
            k = *q - '0';
            if (k < 1 || k > 5)
                return bad(p, "n#k: k is 1 to 5");
            c->dow_nth = v;
            c->dow_nth_day = k;
            return 1;
        }
        return bad(p, "L and # stand after one day of the week (6L, 6#3)");
    }
    return 0;
}

/* One item of a list: *, a, a-b, with /n after any of them. */
static int item(parse *p, ccoord__cron *c, const char *s)
{
    int a = fields[p->f].min, b = fields[p->f].max, step = 1, ranged = 0;
    const char *q = s;
    if (*q == '*') {
        q++;
        ranged = 1;
    } else {
        if (value(p, &q, &a))
            return CCOORD_EINVAL;
        if (*q == '-') {
            q++;
            if (value(p, &q, &b))
                return CCOORD_EINVAL;
            ranged = 1;
        }
    }
    if (*q == '/') {
        int size = fields[p->f].max - fields[p->f].min + 1;
        long v = 0;
        q++;
        if (!isdigit((unsigned char)*q))
            return bad(p, "/ needs a step");
        while (isdigit((unsigned char)*q) && v < 100000)
            v = v * 10 + (*q++ - '0');
        if (v < 1 || v > size) {
            char msg[64];
            ccoord__fmt(msg, sizeof msg, "the step is 1 to %d", size);
            return bad(p, msg);
        }
        step = (int)v;
        ranged = 1; /* a/n: from a to the end */
    } else if (!ranged) {
        b = a;
    }
    if (*q)
        return bad(p, "unexpected text in an item");
    set_range(c, p->f, a, b, step);
    return CCOORD_OK;
}

static int parse_field(parse *p, ccoord__cron *c, const char *text)
{
    char buf[128], *tok, *save = NULL;
    int rc, any = !strcmp(text, "?");
    p->item = text;
    if (strlen(text) >= sizeof buf)
        return bad(p, "too long");
    if (any)
        return p->f == F_DOM || p->f == F_DOW ? CCOORD_OK
                                              : bad(p, "? is for day-of-month or day-of-week");
    if (p->f == F_DOM || p->f == F_DOW) {
        rc = special(p, c, text);
        if (rc)
            return rc < 0 ? rc : CCOORD_OK;
    }
    snprintf(buf, sizeof buf, "%s", text);
    if (!buf[0] || buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
        return bad(p, "an empty item");
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        /* (month names have L in them: JUL; day names W: WED) */
        const char *specials = p->f == F_DOM ? "LlWw#?" : p->f == F_DOW ? "Ll#?" : "#?";
        if (strpbrk(tok, specials))
            return bad(p, p->f == F_DOM || p->f == F_DOW
                              ? "L, W, # and ? stand alone in their field"
                              : "? and # are for day-of-month and day-of-week");
        if ((rc = item(p, c, tok)) != CCOORD_OK)
            return rc;
    }
    return CCOORD_OK;
}

int ccoord__cron_parse(const char *expr, ccoord__cron *c, char *err, size_t errlen)
{
    char buf[512], *tok[F_COUNT + 1], *save = NULL, *t;
    int n = 0, f, rc;
    parse p = {0, "", err, errlen};
    memset(c, 0, sizeof *c);
    if (!expr || strlen(expr) >= sizeof buf) {
        ccoord__fmt(err, errlen, "a cron expression of 1 to %zu bytes is expected",
                    sizeof buf - 1);
        return CCOORD_EINVAL;
    }
    snprintf(buf, sizeof buf, "%s", expr);
    for (t = strtok_r(buf, " \t", &save); t && n <= F_COUNT; t = strtok_r(NULL, " \t", &save))
        tok[n++] = t;
    if (n < 6 || n > 7) {
        ccoord__fmt(err, errlen,
                    "%s%d field(s); allowed: 6 or 7 separated by blanks: seconds minutes hours "
                    "day-of-month month day-of-week [year] (Quartz syntax, e.g. "
                    "\"0 0/5 * * * ?\")",
                    n > F_COUNT ? "more than " : "", n > F_COUNT ? F_COUNT : n);
        return CCOORD_EINVAL;
    }
    for (f = 0; f < n; f++) {
        p.f = f;
        if ((rc = parse_field(&p, c, tok[f])) != CCOORD_OK)
            return rc;
    }
    if (n == 6)
        for (f = CCOORD__CRON_YEAR_MIN; f <= CCOORD__CRON_YEAR_MAX; f++)
            set_bit(c, F_YEAR, f);
    if ((strcmp(tok[F_DOM], "?") == 0) == (strcmp(tok[F_DOW], "?") == 0)) {
        ccoord__fmt(err, errlen,
                    "day-of-month field \"%s\" and day-of-week field \"%s\": exactly one of "
                    "them must be ? (Quartz does not combine the two)",
                    tok[F_DOM], tok[F_DOW]);
        return CCOORD_EINVAL;
    }
    c->use_dom = strcmp(tok[F_DOW], "?") == 0;
    return CCOORD_OK;
}

/* ---- the search ------------------------------------------------------------- */

static int year_set(const ccoord__cron *c, int y)
{
    int i = y - CCOORD__CRON_YEAR_MIN;
    return i >= 0 && y <= CCOORD__CRON_YEAR_MAX && (c->year[i / 64] >> (i % 64) & 1);
}

/* The weekday (Mon-Fri) nearest day d of the month, within the month. */
static int nearest_weekday(int y, int m, int d)
{
    int dim = ccoord__days_in_month(y, m), w = ccoord__weekday(y, m, d);
    if (w == 7) /* Saturday: Friday, or Monday when d is the 1st */
        return d == 1 ? d + 2 : d - 1;
    if (w == 1) /* Sunday: Monday, or Friday when d is the last */
        return d == dim ? d - 2 : d + 1;
    return d;
}

static int day_matches(const ccoord__cron *c, int y, int m, int d)
{
    int dim = ccoord__days_in_month(y, m), w;
    if (c->use_dom) {
        if (c->dom_last)
            return d == dim - (c->dom_last - 1);
        if (c->dom_lastwd)
            return d == nearest_weekday(y, m, dim);
        if (c->dom_near)
            return c->dom_near <= dim && d == nearest_weekday(y, m, c->dom_near);
        return c->dom >> d & 1;
    }
    w = ccoord__weekday(y, m, d);
    if (c->dow_last)
        return w == c->dow_last && d + 7 > dim;
    if (c->dow_nth)
        return w == c->dow_nth && (d - 1) / 7 + 1 == c->dow_nth_day;
    return c->dow >> w & 1;
}

/* The first value >= v in mask (bits lo..hi), or -1. */
static int next_bit(uint64_t mask, int v, int hi)
{
    for (; v <= hi; v++)
        if (mask >> v & 1)
            return v;
    return -1;
}

/* Carries in civil time (hours, minutes, seconds back to 0). */
static void next_month(ccoord__civil *t)
{
    if (++t->month > 12) {
        t->year++;
        t->month = 1;
    }
    t->day = 1;
    t->hour = t->min = t->sec = 0;
}

static void next_day(ccoord__civil *t)
{
    t->hour = t->min = t->sec = 0;
    if (++t->day > ccoord__days_in_month(t->year, t->month))
        next_month(t);
}

static void next_hour(ccoord__civil *t)
{
    t->min = t->sec = 0;
    if (++t->hour > 23)
        next_day(t);
}

/* The first matching civil time at or after *t (in place): 1, or 0 when
 * the years run out. */
static int civil_next(const ccoord__cron *c, ccoord__civil *t)
{
    for (;;) {
        int v;
        if (t->year > CCOORD__CRON_YEAR_MAX)
            return 0;
        if (!year_set(c, t->year) || (v = next_bit(c->month, t->month, 12)) < 0) {
            t->year++;
            t->month = t->day = 1;
            t->hour = t->min = t->sec = 0;
            continue;
        }
        if (v != t->month) {
            t->month = v;
            t->day = 1;
            t->hour = t->min = t->sec = 0;
        }
        while (t->day <= ccoord__days_in_month(t->year, t->month) &&
               !day_matches(c, t->year, t->month, t->day)) {
            t->day++;
            t->hour = t->min = t->sec = 0;
        }
        if (t->day > ccoord__days_in_month(t->year, t->month)) {
            next_month(t);
            continue;
        }
        if ((v = next_bit(c->hour, t->hour, 23)) < 0) {
            next_day(t);
            continue;
        }
        if (v != t->hour) {
            t->hour = v;
            t->min = t->sec = 0;
        }
        if ((v = next_bit(c->min, t->min, 59)) < 0) {
            next_hour(t);
            continue;
        }
        if (v != t->min) {
            t->min = v;
            t->sec = 0;
        }
        if ((v = next_bit(c->sec, t->sec, 59)) < 0) {
            t->sec = 0;
            if (++t->min > 59)
                next_hour(t);
            continue;
        }
        t->sec = v;
        return 1;
    }
}

static long zone_offset(const ccoord__cron_zone *z, int64_t utc_s)
{
    return z && z->offset_s ? z->offset_s(z->ctx, utc_s) : 0;
}

int ccoord__cron_next(const ccoord__cron *c, const ccoord__cron_zone *zone, int64_t after_s,
                      int64_t *ret_s)
{
    ccoord__civil t;
    int64_t from = after_s + 1;
    /* a search spans at most a few years of misses (Feb 30 never
     * matches: the years run out); the bound keeps a pathological zone
     * from looping */
    int guard;
    long o_now = zone_offset(zone, from), o_before = zone_offset(zone, from - 86400);
    /* the search starts at the earlier of the civil times "from" has
     * under today's and yesterday's offsets: just after the clock jumped
     * forward, a civil time in the skipped hour still fires (late, past
     * the jump); matches before "from" are passed over below */
    ccoord__utc_to_civil(from + (o_before < o_now ? o_before : o_now), &t);
    for (guard = 0; guard < 1000000; guard++) {
        int64_t local, best = INT64_MAX;
        long o1, o2;
        if (!civil_next(c, &t))
            return 0;
        local = ccoord__civil_to_utc(&t);
        if (!zone || !zone->offset_s) {
            *ret_s = local;
            return 1;
        }
        /* the instants whose civil time this is: one, two (the hour that
         * repeats in autumn) or none (the hour skipped in spring) */
        o1 = zone_offset(zone, local - 86400);
        o2 = zone_offset(zone, local + 86400);
        if (local - o1 + zone_offset(zone, local - o1) == local)
            best = local - o1;
        if (local - o2 + zone_offset(zone, local - o2) == local && local - o2 < best)
            best = local - o2;
        if (best == INT64_MAX)
            best = local - o1; /* skipped: as far past the jump as it was into the gap */
        if (best >= from) {
            *ret_s = best;
            return 1;
        }
        /* its first occurrence is past (a repeated hour's second pass) */
        ccoord__utc_to_civil(local + 1, &t);
    }
    return 0;
}
