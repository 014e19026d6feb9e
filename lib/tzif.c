/*
 * lib/tzif.c: floor 2, named time zones from TZif files (tzif.h).  glibc
 * converts only in the process's one zone (TZ), and no Debian C library
 * short of ICU reads a named zone on its own, so this reads the files:
 * the 64-bit block of a version 2+ file (or the 32-bit one of version 1)
 * and the POSIX TZ footer for instants after the last transition.
 * Checked against glibc's localtime_r in test/unit_tzif.c.
 */
#include "tzif.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h" /* civil time */

/* A POSIX TZ rule: std offset, and optionally dst with its offset and
 * the two dates it starts and ends (local time of day in seconds). */
typedef struct rule_date {
    char kind;            /* 'M' month.week.day, 'J' Julian 1-365, 'D' day 0-365 */
    int month, week, day; /* M: 1-12, 1-5, 0-6 (Sunday 0); J, D: day */
    long time;            /* seconds after local midnight (may be < 0 or > 24 h) */
} rule_date;

typedef struct posix_tz {
    int have;
    long std_off, dst_off; /* seconds east of UTC */
    int has_dst;
    rule_date start, end;
} posix_tz;

struct ccoord__tz {
    size_t count;   /* transitions */
    int64_t *when;  /* ascending */
    long *off;      /* offset from when[i] on */
    long first_off; /* before the first transition */
    posix_tz footer;
};

void ccoord__tz_free(ccoord__tz *z)
{
    if (!z)
        return;
    free(z->when);
    free(z->off);
    free(z);
}

/* ---- the POSIX TZ footer -------------------------------------------------- */

/* [+-]hh[:mm[:ss]] into seconds; hh up to 167 (RFC 8536 for times). */
static int hms(const char **s, long *ret)
{
    const char *p = *s;
    long sign = 1, v[3] = {0, 0, 0};
    int i;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    for (i = 0; i < 3; i++) {
        int digits = 0;
        if (i && *p != ':')
            break;
        if (i)
            p++;
        while (isdigit((unsigned char)*p) && digits < 3)
            v[i] = v[i] * 10 + (*p++ - '0'), digits++;
        if (!digits || (i && v[i] > 59) || v[0] > 167)
            return -1;
    }
    *ret = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    *s = p;
    return 0;
}

/* A zone abbreviation: letters, or <...> of [A-Za-z0-9+-]. */
static int abbrev(const char **s)
{
    const char *p = *s;
    if (*p == '<') {
        for (p++; *p && *p != '>'; p++)
            if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-')
                return -1;
        if (*p != '>')
            return -1;
        *s = p + 1;
        return 0;
    }
    while (isalpha((unsigned char)*p))
        p++;
    if (p - *s < 3)
        return -1;
    *s = p;
    return 0;
}

static int num(const char **s, int lo, int hi, int *ret)
{
    long v = 0;
    const char *p = *s;
    if (!isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p) && v <= hi)
        v = v * 10 + (*p++ - '0');
    if (v < lo || v > hi)
        return -1;
    *ret = (int)v;
    *s = p;
    return 0;
}

static int date(const char **s, rule_date *d)
{
    const char *p = *s;
    d->time = 7200; /* 02:00 */
    if (*p == 'M') {
        p++;
        d->kind = 'M';
        if (num(&p, 1, 12, &d->month) || *p++ != '.' || num(&p, 1, 5, &d->week) ||
            *p++ != '.' || num(&p, 0, 6, &d->day))
            return -1;
    } else if (*p == 'J') {
        p++;
        d->kind = 'J';
        if (num(&p, 1, 365, &d->day))
            return -1;
    } else {
        d->kind = 'D';
        if (num(&p, 0, 365, &d->day))
            return -1;
    }
    if (*p == '/') {
        p++;
        if (hms(&p, &d->time))
            return -1;
    }
    *s = p;
    return 0;
}

/* "CET-1CEST,M3.5.0,M10.5.0/3" (POSIX offsets are west of UTC). */
static int parse_posix(const char *s, posix_tz *r)
{
    long off;
    memset(r, 0, sizeof *r);
    if (abbrev(&s) || hms(&s, &off))
        return -1;
    r->std_off = -off;
    if (*s) {
        r->has_dst = 1;
        if (abbrev(&s))
            return -1;
        r->dst_off = r->std_off + 3600;
        if (*s && *s != ',') {
            if (hms(&s, &off))
                return -1;
            r->dst_off = -off;
        }
        if (*s++ != ',' || date(&s, &r->start) || *s++ != ',' || date(&s, &r->end) || *s)
            return -1;
    }
    r->have = 1;
    return 0;
}

/* Seconds from 1 January 00:00 local of year y to the rule's date. */
static int64_t rule_at(const rule_date *d, int y)
{
    int64_t day;
    if (d->kind == 'J') {
        /* 1-365, February 29 never counted */
        day = d->day - 1;
        if (d->day >= 60 && ccoord__days_in_month(y, 2) == 29)
            day++;
    } else if (d->kind == 'D') {
        day = d->day;
    } else {
        ccoord__civil first = {y, d->month, 1, 0, 0, 0}, jan = {y, 1, 1, 0, 0, 0};
        int w = ccoord__weekday(y, d->month, 1) - 1; /* 0 = Sunday */
        int dom = 1 + (d->day - w + 7) % 7 + (d->week - 1) * 7;
        while (dom > ccoord__days_in_month(y, d->month))
            dom -= 7;
        day = (ccoord__civil_to_utc(&first) - ccoord__civil_to_utc(&jan)) / 86400 + dom - 1;
    }
    return day * 86400 + d->time;
}

static long posix_offset(const posix_tz *r, int64_t utc_s)
{
    ccoord__civil t;
    int64_t jan, start, end;
    if (!r->has_dst)
        return r->std_off;
    ccoord__utc_to_civil(utc_s + r->std_off, &t);
    {
        ccoord__civil j = {t.year, 1, 1, 0, 0, 0};
        jan = ccoord__civil_to_utc(&j);
    }
    /* the start is given in standard time, the end in daylight time */
    start = jan + rule_at(&r->start, t.year) - r->std_off;
    end = jan + rule_at(&r->end, t.year) - r->dst_off;
    if (start < end)
        return utc_s >= start && utc_s < end ? r->dst_off : r->std_off;
    return utc_s >= end && utc_s < start ? r->std_off : r->dst_off;
}

/* ---- TZif ----------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int not_tzif(char *err, size_t errlen, const char *why)
{
    ccoord__fmt(err, errlen, "not a TZif time zone file (%s)", why);
    return CCOORD_EINVAL;
}

int ccoord__tz_parse(const unsigned char *data, size_t len, ccoord__tz **ret, char *err,
                     size_t errlen)
{
    const unsigned char *h = data, *p;
    uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
    size_t tsize = 4, block, i;
    ccoord__tz *z;
    if (len < 44 || memcmp(h, "TZif", 4) != 0)
        return not_tzif(err, errlen, "no TZif header");
    isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28);
    timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
    if (timecnt > 100000 || typecnt > 256 || typecnt == 0 || charcnt > 10000 || leap > 10000 ||
        isut > typecnt || isstd > typecnt)
        return not_tzif(err, errlen, "counts out of range");
    block = (size_t)timecnt * 5 + (size_t)typecnt * 6 + charcnt + (size_t)leap * 8 + isstd + isut;
    if (h[4] >= '2') {
        /* skip the 32-bit block: the 64-bit one follows with its header */
        if (len < 44 + block + 44)
            return not_tzif(err, errlen, "truncated");
        h = data + 44 + block;
        if (memcmp(h, "TZif", 4) != 0)
            return not_tzif(err, errlen, "no second header");
        isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28);
        timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
        if (timecnt > 100000 || typecnt > 256 || typecnt == 0 || charcnt > 10000 ||
            leap > 10000 || isut > typecnt || isstd > typecnt)
            return not_tzif(err, errlen, "counts out of range");
        tsize = 8;
        block = (size_t)timecnt * 9 + (size_t)typecnt * 6 + charcnt + (size_t)leap * 12 + isstd +
                isut;
    }
    if ((size_t)(h - data) + 44 + block > len)
        return not_tzif(err, errlen, "truncated");
    if (!(z = ccoord__calloc(1, sizeof *z)))
        return CCOORD_ENOMEM;
    z->count = timecnt;
    z->when = ccoord__calloc(timecnt ? timecnt : 1, sizeof *z->when);
    z->off = ccoord__calloc(timecnt ? timecnt : 1, sizeof *z->off);
    if (!z->when || !z->off) {
        ccoord__tz_free(z);
        return CCOORD_ENOMEM;
    }
    p = h + 44;
    for (i = 0; i < timecnt; i++) {
        const unsigned char *q = p + i * tsize;
        z->when[i] = tsize == 8 ? be64(q) : (int64_t)(int32_t)be32(q);
        if (i && z->when[i] <= z->when[i - 1]) {
            ccoord__tz_free(z);
            return not_tzif(err, errlen, "transitions out of order");
        }
    }
    for (i = 0; i < timecnt; i++) {
        unsigned t = p[timecnt * tsize + i];
        if (t >= typecnt) {
            ccoord__tz_free(z);
            return not_tzif(err, errlen, "a type index out of range");
        }
        z->off[i] = (long)(int32_t)be32(p + timecnt * (tsize + 1) + t * 6);
    }
    z->first_off = (long)(int32_t)be32(p + timecnt * (tsize + 1));
    if (tsize == 8) {
        /* the footer: "\n<POSIX TZ>\n" (empty: none) */
        const unsigned char *f = p + block, *end = data + len;
        if (f < end && *f == '\n') {
            char tz[128];
            size_t n = 0;
            for (f++; f < end && *f != '\n' && n < sizeof tz - 1; f++)
                tz[n++] = (char)*f;
            tz[n] = '\0';
            if (n && parse_posix(tz, &z->footer) != 0) {
                ccoord__tz_free(z);
                return not_tzif(err, errlen, "a footer that is not a POSIX TZ rule");
            }
        }
    }
    *ret = z;
    return CCOORD_OK;
}

long ccoord__tz_offset(const ccoord__tz *z, int64_t utc_s)
{
    size_t lo = 0, hi;
    if (!z)
        return 0;
    if (!z->count || utc_s < z->when[0])
        return z->count || !z->footer.have ? z->first_off : posix_offset(&z->footer, utc_s);
    if (utc_s >= z->when[z->count - 1] && z->footer.have)
        return posix_offset(&z->footer, utc_s);
    hi = z->count;
    while (hi - lo > 1) { /* the last transition at or before utc_s */
        size_t mid = lo + (hi - lo) / 2;
        if (z->when[mid] <= utc_s)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}

long ccoord__tz_offset_cb(void *ctx, int64_t utc_s)
{
    return ccoord__tz_offset(ctx, utc_s);
}

static int zone_name_ok(const char *n)
{
    const char *p = n;
    size_t part = 0;
    if (!*n || strlen(n) > 200 || *n == '/')
        return 0;
    for (; *p; p++) {
        if (*p == '/') {
            if (!part)
                return 0;
            part = 0;
            continue;
        }
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '+' && *p != '-' && *p != '.')
            return 0;
        part++;
    }
    return part && !strstr(n, "..");
}

int ccoord__tz_load(const char *name, ccoord__tz **ret, char *err, size_t errlen)
{
    const char *dir = getenv("TZDIR");
    char path[1024];
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    FILE *f;
    int rc;
    if (!name || !zone_name_ok(name)) {
        ccoord__fmt(err, errlen, "\"%.60s\" is not a time zone name; allowed: a name of the "
                    "time zone database such as Europe/Berlin or UTC", name ? name : "");
        return CCOORD_EINVAL;
    }
    ccoord__fmt(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    if (!(f = fopen(path, "rbe"))) {
        int e = errno;
        ccoord__fmt(err, errlen, "time zone %s: %s: %s (package tzdata)", name, path,
                    strerror(e));
        return CCOORD_EINVAL;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            unsigned char *x = cap > (1u << 20) ? NULL : ccoord__realloc(buf, cap ? cap * 2 : 4096);
            if (!x) {
                fclose(f);
                free(buf);
                if (cap > (1u << 20)) {
                    ccoord__fmt(err, errlen, "time zone %s: %s is larger than 1 MiB", name, path);
                    return CCOORD_EINVAL;
                }
                return CCOORD_ENOMEM;
            }
            buf = x;
            cap = cap ? cap * 2 : 4096;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        ccoord__fmt(err, errlen, "time zone %s: %s: %s", name, path, strerror(e));
        return CCOORD_EINVAL;
    }
    fclose(f);
    rc = ccoord__tz_parse(buf, len, ret, err, errlen);
    free(buf);
    if (rc == CCOORD_EINVAL) {
        char why[200];
        ccoord__fmt(why, sizeof why, "%s", err);
        ccoord__fmt(err, errlen, "time zone %s: %s: %s", name, path, why);
    }
    return rc;
}
