/*
 * test/unit_tzif.c: tests lib/tzif.c against glibc's localtime_r (the
 * process's TZ set to the same zone, one at a time: this test is single
 * threaded) at many instants from 1970 to 2100 in zones with and without
 * daylight saving time, southern ones, 30- and 45-minute offsets; the
 * refusals of bad names and files; and a cron search in a named zone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "tzif.h"

static long glibc_offset(int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    assert_non_null(localtime_r(&tt, &tm));
    return tm.tm_gmtoff;
}

/* 1 after checking that both say the same offset at t. */
static int agree(const char *zone, const ccoord__tz *z, int64_t t)
{
    long g = glibc_offset(t);
    if (g != ccoord__tz_offset(z, t))
        fail_msg("%s at %lld: glibc %ld, ours %ld", zone, (long long)t, g, ccoord__tz_offset(z, t));
    return 1;
}

static void test_tzif_matches_glibc(void **state)
{
    static const char *const zones[] = {"Europe/Berlin",   "America/New_York", "Australia/Sydney",
                                        "Asia/Kolkata",    "UTC",              "Pacific/Chatham",
                                        "America/Sao_Paulo", "Europe/London",  "Asia/Tokyo",
                                        "America/Santiago"};
    size_t i;
    long checked = 0, transitions = 0;
    (void)state;
    for (i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        ccoord__tz *z = NULL;
        char err[512];
        int64_t t;
        if (ccoord__tz_load(zones[i], &z, err, sizeof err) != CCOORD_OK)
            fail_msg("%s: %s", zones[i], err);
        setenv("TZ", zones[i], 1);
        tzset();
        /* every 3 days (and 7 s) from 1970 to 2100, and where glibc's
         * offset changed between two samples, the transition found by
         * bisection and the seconds around it */
        long prev = glibc_offset(0), now;
        for (t = 0; t < 4102444800LL; t += 259207, prev = now) {
            now = glibc_offset(t);
            checked += agree(zones[i], z, t);
            if (now != prev) {
                int64_t lo = t - 259207, hi = t; /* offset(lo) = prev, offset(hi) differs */
                while (hi - lo > 1) {
                    int64_t mid = lo + (hi - lo) / 2;
                    if (glibc_offset(mid) == prev)
                        lo = mid;
                    else
                        hi = mid;
                }
                checked += agree(zones[i], z, hi - 1) + agree(zones[i], z, hi) +
                           agree(zones[i], z, hi + 1);
                transitions++;
            }
        }
        ccoord__tz_free(z);
    }
    unsetenv("TZ");
    tzset();
    print_message("      %ld instants in %zu zones agree with glibc, %ld transitions to the "
                  "second\n", checked, sizeof zones / sizeof zones[0], transitions);
}

static void test_tzif_refusals(void **state)
{
    static const struct {
        const char *name, *want;
    } bad[] = {
        {"", "is not a time zone name"},
        {"../etc/passwd", "is not a time zone name"},
        {"/etc/localtime", "is not a time zone name"},
        {"Europe//Berlin", "is not a time zone name"},
        {"Europe/Berlin ", "is not a time zone name"},
        {"Mars/Olympus_Mons", "No such file or directory (package tzdata)"},
        {"Europe", "Is a directory"},
    };
    static const unsigned char junk[] = "TZif2 but not really";
    ccoord__tz *z = NULL;
    char err[512];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (ccoord__tz_load(bad[i].name, &z, err, sizeof err) != CCOORD_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i].name);
        if (!strstr(err, bad[i].want))
            fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i].name, err, bad[i].want);
    }
    assert_int_equal(ccoord__tz_parse(junk, sizeof junk, &z, err, sizeof err), CCOORD_EINVAL);
    assert_non_null(strstr(err, "not a TZif time zone file"));
}

/* A cron expression in Europe/Berlin: 09:00 local is 08:00 UTC in
 * winter, 07:00 in summer, also in 2040 (the footer's rule). */
static void test_tzif_cron_in_a_zone(void **state)
{
    ccoord__tz *z = NULL;
    ccoord__cron c;
    ccoord__cron_zone cz;
    char err[512];
    int64_t next;
    ccoord__civil t;
    static const struct {
        ccoord__civil after;
        int want_hour;
    } k[] = {{{2027, 1, 10, 12, 0, 0}, 8}, {{2027, 7, 10, 12, 0, 0}, 7},
             {{2040, 1, 10, 12, 0, 0}, 8}, {{2040, 7, 10, 12, 0, 0}, 7}};
    size_t i;
    (void)state;
    assert_int_equal(ccoord__tz_load("Europe/Berlin", &z, err, sizeof err), CCOORD_OK);
    cz.offset_s = ccoord__tz_offset_cb;
    cz.ctx = z;
    assert_int_equal(ccoord__cron_parse("0 0 9 * * ?", &c, err, sizeof err), CCOORD_OK);
    for (i = 0; i < sizeof k / sizeof k[0]; i++) {
        assert_int_equal(ccoord__cron_next(&c, &cz, ccoord__civil_to_utc(&k[i].after), &next), 1);
        ccoord__utc_to_civil(next, &t);
        assert_int_equal(t.day, k[i].after.day + 1);
        assert_int_equal(t.hour, k[i].want_hour);
    }
    ccoord__tz_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tzif_matches_glibc),
        cmocka_unit_test(test_tzif_refusals),
        cmocka_unit_test(test_tzif_cron_in_a_zone),
    };
    return cmocka_run_group_tests_name("tzif", tests, NULL, NULL);
}
