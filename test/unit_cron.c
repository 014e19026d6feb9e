/*
 * test/unit_cron.c: tests lib/cron.c against a table of Quartz cron
 * expressions (the examples of Quartz's CronTrigger tutorial and the
 * specials it documents) and their next fire times, written from Quartz's
 * documented semantics; the calendar facts (which day is a Friday) were
 * checked with another implementation (Python's datetime).  Also the
 * errors, which name the field and what it allows, and daylight saving
 * time through a zone of two offsets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cron.h"

/* "2026-12-06T20:00:00" -> seconds since the epoch (UTC). */
static int64_t at(const char *iso)
{
    ccoord__civil t;
    assert_int_equal(sscanf(iso, "%d-%d-%dT%d:%d:%d", &t.year, &t.month, &t.day, &t.hour, &t.min,
                            &t.sec),
                     6);
    return ccoord__civil_to_utc(&t);
}

static void iso(int64_t s, char *out, size_t len)
{
    ccoord__civil t;
    ccoord__utc_to_civil(s, &t);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day, t.hour, t.min,
             t.sec);
}

static const struct row {
    const char *expr, *after, *next; /* next NULL: never again */
} table[] = {
    /* the tutorial's examples */
    {"0 0 12 * * ?", "2026-12-06T20:00:00", "2026-12-07T12:00:00"},
    {"0 15 10 ? * *", "2026-12-06T20:00:00", "2026-12-07T10:15:00"},
    {"0 15 10 * * ?", "2026-12-07T10:15:00", "2026-12-08T10:15:00"},
    {"0 15 10 * * ? *", "2026-12-07T10:14:59", "2026-12-07T10:15:00"},
    {"0 15 10 * * ? 2005", "2026-12-06T20:00:00", NULL},
    {"0 15 10 * * ? 2005", "2004-12-31T11:00:00", "2005-01-01T10:15:00"},
    {"0 15 10 * * ? 2005", "2005-12-31T10:15:00", NULL},
    {"0 * 14 * * ?", "2026-12-06T20:00:00", "2026-12-07T14:00:00"},
    {"0 * 14 * * ?", "2026-12-07T14:00:00", "2026-12-07T14:01:00"},
    {"0 * 14 * * ?", "2026-12-07T14:59:00", "2026-12-08T14:00:00"},
    {"0 0/5 14 * * ?", "2026-12-07T14:52:00", "2026-12-07T14:55:00"},
    {"0 0/5 14 * * ?", "2026-12-07T14:55:00", "2026-12-08T14:00:00"},
    {"0 0/5 14,18 * * ?", "2026-12-07T14:57:00", "2026-12-07T18:00:00"},
    {"0 0-5 14 * * ?", "2026-12-07T14:04:00", "2026-12-07T14:05:00"},
    {"0 0-5 14 * * ?", "2026-12-07T14:05:00", "2026-12-08T14:00:00"},
    {"0 10,44 14 ? 3 WED", "2026-12-06T20:00:00", "2027-03-03T14:10:00"},
    {"0 10,44 14 ? 3 WED", "2027-03-03T14:10:00", "2027-03-03T14:44:00"},
    {"0 10,44 14 ? 3 WED", "2027-03-31T14:44:00", "2028-03-01T14:10:00"},
    {"0 15 10 ? * MON-FRI", "2026-12-06T20:00:00", "2026-12-07T10:15:00"},
    {"0 15 10 ? * MON-FRI", "2026-12-11T10:15:00", "2026-12-14T10:15:00"},
    {"0 15 10 15 * ?", "2026-12-06T20:00:00", "2026-12-15T10:15:00"},
    {"0 15 10 L * ?", "2026-12-06T20:00:00", "2026-12-31T10:15:00"},
    {"0 15 10 L * ?", "2027-01-31T10:15:00", "2027-02-28T10:15:00"},
    {"0 15 10 L * ?", "2028-02-01T00:00:00", "2028-02-29T10:15:00"},
    {"0 15 10 L-2 * ?", "2026-12-06T20:00:00", "2026-12-29T10:15:00"},
    {"0 15 10 ? * 6L", "2026-12-06T20:00:00", "2026-12-25T10:15:00"},
    {"0 15 10 ? * 6L 2002-2005", "2026-12-06T20:00:00", NULL},
    {"0 15 10 ? * 6#3", "2026-12-06T20:00:00", "2026-12-18T10:15:00"},
    {"0 0 12 1/5 * ?", "2026-12-06T20:00:00", "2026-12-11T12:00:00"},
    {"0 0 12 1/5 * ?", "2026-12-31T12:00:00", "2027-01-01T12:00:00"},
    {"0 11 11 11 11 ?", "2026-12-06T20:00:00", "2027-11-11T11:11:00"},
    /* W and LW: the nearest weekday, within the month */
    {"0 0 12 15W * ?", "2026-12-06T20:00:00", "2026-12-15T12:00:00"}, /* a Tuesday */
    {"0 0 12 15W * ?", "2027-04-20T00:00:00", "2027-05-14T12:00:00"}, /* Sat 15th: Fri */
    {"0 0 12 1W * ?", "2027-04-20T00:00:00", "2027-05-03T12:00:00"},  /* Sat 1st: Mon 3rd */
    {"0 0 12 LW * ?", "2027-01-01T00:00:00", "2027-01-29T12:00:00"},  /* ends on a Sunday */
    {"0 0 12 LW * ?", "2026-12-06T20:00:00", "2026-12-31T12:00:00"},  /* a Thursday */
    /* day-of-week L alone is Saturday; names, lists and wrapping ranges */
    {"0 0 9 ? * L", "2026-12-06T20:00:00", "2026-12-12T09:00:00"},
    {"0 0 9 ? * sat,sun", "2026-12-06T08:00:00", "2026-12-06T09:00:00"},
    {"0 0 9 ? * FRI-MON", "2026-12-07T09:00:00", "2026-12-11T09:00:00"},
    {"0 0 22-2 * * ?", "2026-12-06T23:00:00", "2026-12-07T00:00:00"},
    {"0 0 22-2 * * ?", "2026-12-07T02:00:00", "2026-12-07T22:00:00"},
    {"0 0 0 1 JAN-MAR,JUL ?", "2027-03-01T00:00:00", "2027-07-01T00:00:00"},
    /* steps */
    {"*/20 * * * * ?", "2026-12-06T20:00:00", "2026-12-06T20:00:20"},
    {"0/15 * * * * ?", "2026-12-06T20:00:45", "2026-12-06T20:01:00"},
    {"5/15 * * * * ?", "2026-12-06T20:00:50", "2026-12-06T20:01:05"},
    {"0 10-40/10 * * * ?", "2026-12-06T20:40:00", "2026-12-06T21:10:00"},
    {"0 0 0 29 2 ?", "2026-12-06T20:00:00", "2028-02-29T00:00:00"},
    {"0 0 0 31 4 ?", "2026-12-06T20:00:00", NULL}, /* April has 30 days */
    {"59 59 23 31 12 ? 2199", "2199-12-31T23:59:58", "2199-12-31T23:59:59"},
    {"59 59 23 31 12 ? 2199", "2199-12-31T23:59:59", NULL},
};

static void test_cron_table(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        ccoord__cron c;
        char err[256], got[32];
        int64_t next = 0;
        int found;
        if (ccoord__cron_parse(table[i].expr, &c, err, sizeof err) != CCOORD_OK)
            fail_msg("\"%s\": %s", table[i].expr, err);
        found = ccoord__cron_next(&c, NULL, at(table[i].after), &next);
        iso(next, got, sizeof got);
        if (!table[i].next && found)
            fail_msg("\"%s\" after %s: %s, want none", table[i].expr, table[i].after, got);
        if (table[i].next && (!found || next != at(table[i].next)))
            fail_msg("\"%s\" after %s: %s, want %s", table[i].expr, table[i].after,
                     found ? got : "none", table[i].next);
    }
    print_message("      %zu expressions and their next fire times\n",
                  sizeof table / sizeof table[0]);
}

/* Every bad part is named, with what the field allows. */
static void test_cron_errors_name_the_part(void **state)
{
    static const struct {
        const char *expr, *want;
    } bad[] = {
        {"0 0 12 * *", "5 field(s); allowed: 6 or 7"},
        {"0 0 12 * * ? 2030 x", "more than 7 field(s)"},
        {"", "0 field(s)"},
        {"60 0 12 * * ?", "seconds field \"60\": 60 is out of range; allowed: 0-59"},
        {"0 61 12 * * ?", "minutes field \"61\""},
        {"0 0 24 * * ?", "hours field \"24\": 24 is out of range; allowed: 0-23"},
        {"0 0 12 0 * ?", "day-of-month field \"0\""},
        {"0 0 12 * 13 ?", "month field \"13\""},
        {"0 0 12 * FOO ?", "month field \"FOO\": not a name; allowed: 1-12 or JAN-DEC"},
        {"0 0 12 ? * 8", "day-of-week field \"8\""},
        {"0 0 12 ? * 1 1969", "year field \"1969\""},
        {"0 0 12 * * *", "exactly one of them must be ?"},
        {"0 0 12 ? * ?", "exactly one of them must be ?"},
        {"? 0 12 * * ?", "seconds field \"?\": ? is for day-of-month or day-of-week"},
        {"0/0 0 12 * * ?", "the step is 1 to 60"},
        {"0/61 0 12 * * ?", "the step is 1 to 60"},
        {"0 0 12 L,1 * ?", "day-of-month field \"L,1\""},
        {"0 0 12 1,L * ?", "L, W, # and ? stand alone in their field"},
        {"0 0 12 L-31 * ?", "L-n: n is 0 to 30"},
        {"0 0 12 15W,1 * ?", "nW takes one day"},
        {"0 0 12 ? * 6#6", "n#k: k is 1 to 5"},
        {"0 0 12 ? * 6X", "unexpected text"},
        {"0 0 12 1,,2 * ?", "an empty item"},
        {"0 0 12 - * ?", "day-of-month field \"-\": expected a number"},
        {"0 0 12 5- * ?", "a value is missing"},
        {"0 0 12 * * ? 2030#2", "? and # are for day-of-month and day-of-week"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccoord__cron c;
        char err[256] = "";
        if (ccoord__cron_parse(bad[i].expr, &c, err, sizeof err) != CCOORD_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i].expr);
        if (!strstr(err, bad[i].want))
            fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i].expr, err, bad[i].want);
    }
}

/* A zone of two offsets, as Europe/Berlin in 2027: CET (+1 h), CEST (+2 h)
 * from 2027-03-28T01:00Z to 2027-10-31T01:00Z. */
static long berlin_2027(void *ctx, int64_t utc_s)
{
    static int64_t on = 0, off = 0;
    (void)ctx;
    if (!on) {
        on = at("2027-03-28T01:00:00");
        off = at("2027-10-31T01:00:00");
    }
    return utc_s >= on && utc_s < off ? 7200 : 3600;
}

/* Daylight saving time: 02:30 does not exist on 2027-03-28 (fires at
 * 03:30 CEST, as a lenient calendar makes it, once); on 2027-10-31 it
 * occurs twice and fires once, at the first. */
static void test_cron_daylight_saving(void **state)
{
    ccoord__cron c;
    ccoord__cron_zone z = {berlin_2027, NULL};
    char err[256], got[32];
    int64_t next;
    (void)state;
    assert_int_equal(ccoord__cron_parse("0 30 2 * * ?", &c, err, sizeof err), CCOORD_OK);
    assert_int_equal(ccoord__cron_next(&c, &z, at("2027-03-27T12:00:00"), &next), 1);
    iso(next, got, sizeof got);
    assert_string_equal(got, "2027-03-28T01:30:00"); /* 03:30 CEST */
    assert_int_equal(ccoord__cron_next(&c, &z, next, &next), 1);
    iso(next, got, sizeof got);
    assert_string_equal(got, "2027-03-29T00:30:00"); /* 02:30 CEST */
    assert_int_equal(ccoord__cron_next(&c, &z, at("2027-10-30T12:00:00"), &next), 1);
    iso(next, got, sizeof got);
    assert_string_equal(got, "2027-10-31T00:30:00"); /* the first 02:30 (CEST) */
    assert_int_equal(ccoord__cron_next(&c, &z, next, &next), 1);
    iso(next, got, sizeof got);
    assert_string_equal(got, "2027-11-01T01:30:00"); /* not the second 02:30 (CET) */
    /* every minute through the repeated hour: 60 fires for 02:00-02:59, not 120 */
    {
        int n = 0;
        int64_t t = at("2027-10-31T00:00:00") - 1;
        assert_int_equal(ccoord__cron_parse("0 * 2 * * ?", &c, err, sizeof err), CCOORD_OK);
        while (ccoord__cron_next(&c, &z, t, &t) == 1 && t < at("2027-10-31T03:00:00"))
            n++;
        assert_int_equal(n, 60);
    }
    /* a zone: midnight local is 23:00 UTC the day before in winter */
    assert_int_equal(ccoord__cron_parse("0 0 0 * * ?", &c, err, sizeof err), CCOORD_OK);
    assert_int_equal(ccoord__cron_next(&c, &z, at("2027-01-10T12:00:00"), &next), 1);
    iso(next, got, sizeof got);
    assert_string_equal(got, "2027-01-10T23:00:00");
}

/* The civil-time conversions against known instants, both ways. */
static void test_cron_civil_time(void **state)
{
    static const struct {
        const char *iso;
        int64_t s;
        int wd;
    } k[] = {{"1970-01-01T00:00:00", 0, 5},         {"2000-02-29T12:00:00", 951825600, 3},
             {"2026-12-06T20:00:00", 1796587200, 1}, {"2199-12-31T23:59:59", 7258118399, 3}};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof k / sizeof k[0]; i++) {
        char got[32];
        ccoord__civil t;
        assert_int_equal(at(k[i].iso), k[i].s);
        iso(k[i].s, got, sizeof got);
        assert_string_equal(got, k[i].iso);
        ccoord__utc_to_civil(k[i].s, &t);
        assert_int_equal(ccoord__weekday(t.year, t.month, t.day), k[i].wd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cron_table),
        cmocka_unit_test(test_cron_errors_name_the_part),
        cmocka_unit_test(test_cron_daylight_saving),
        cmocka_unit_test(test_cron_civil_time),
    };
    return cmocka_run_group_tests_name("cron", tests, NULL, NULL);
}
