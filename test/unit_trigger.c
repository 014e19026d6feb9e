/*
 * test/unit_trigger.c: tests lib/trigger.c, the trigger strings of
 * ccoord_task_schedule(3): every part, the slots they give, and errors
 * that name the part and what it allows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "trigger.h"

static ccoord__trigger parse_ok(const char *text)
{
    ccoord__trigger t;
    char err[1024];
    if (ccoord__trigger_parse(text, &t, err, sizeof err) != CCOORD_OK)
        fail_msg("\"%s\": %s", text, err);
    return t;
}

static int64_t next(const ccoord__trigger *t, int64_t after)
{
    int64_t s = -1;
    assert_int_equal(ccoord__trigger_next(t, after, &s), 1);
    return s;
}

static void test_trigger_slots(void **state)
{
    ccoord__trigger t;
    ccoord__civil c = {2027, 7, 10, 12, 0, 0};
    int64_t noon = ccoord__civil_to_utc(&c) * 1000;
    (void)state;
    /* interval: the grid of multiples since the epoch, or since start */
    t = parse_ok("interval=5000");
    assert_int_equal(t.is_cron, 0);
    assert_int_equal(t.misfire, CCOORD__MISFIRE_ONCE);
    assert_int_equal(next(&t, 12000), 15000);
    assert_int_equal(next(&t, 14999), 15000);
    assert_int_equal(next(&t, 15000), 20000);
    ccoord__trigger_free(&t);
    t = parse_ok(" interval=5000 ; count=10;start=1001 ;misfire=skip");
    assert_int_equal(t.count, 10);
    assert_int_equal(t.misfire, CCOORD__MISFIRE_SKIP);
    assert_int_equal(next(&t, 0), 1001);
    assert_int_equal(next(&t, 1001), 6001);
    ccoord__trigger_free(&t);
    /* cron, in seconds; with a zone; start */
    t = parse_ok("cron=0 0/5 * * * ?");
    assert_int_equal(next(&t, noon), noon + 300000);
    assert_int_equal(next(&t, noon - 1), noon);
    assert_int_equal(next(&t, noon + 1), noon + 300000);
    ccoord__trigger_free(&t);
    t = parse_ok("cron=0 0 14 * * ?;tz=Europe/Berlin");
    assert_int_equal(next(&t, noon - 3600000), noon); /* 14:00 CEST is 12:00 UTC */
    ccoord__trigger_free(&t);
    {
        char text[80];
        snprintf(text, sizeof text, "cron=0 0 12 * * ?;start=%lld", (long long)noon + 1);
        t = parse_ok(text);
        assert_int_equal(next(&t, 0), noon + 86400000); /* not noon: before the start */
        ccoord__trigger_free(&t);
    }
    t = parse_ok("interval=100;misfire=all;max_catchup=7;grace=50");
    assert_int_equal(t.max_catchup, 7);
    assert_int_equal(t.grace_ms, 50);
    ccoord__trigger_free(&t);
    /* a cron year range that ended has no slot */
    {
        int64_t s;
        t = parse_ok("cron=0 0 12 * * ? 2005");
        assert_int_equal(ccoord__trigger_next(&t, noon, &s), 0);
        ccoord__trigger_free(&t);
    }
}

static void test_trigger_errors_name_the_part(void **state)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", "the whole: empty"},
        {"interval=5000;", "an empty part"},
        {"interval", "interval: not key=value"},
        {"every=5000", "every=5000: unknown key; allowed: interval=MS, cron=EXPR"},
        {"interval=5", "interval=5: not a whole number of ms in range; allowed: interval=10 to"},
        {"interval=5s", "interval=5s: not a whole number"},
        {"interval=99999999999999999999", "not a whole number of ms in range"},
        {"interval=5000;interval=6000", "interval=6000: given twice"},
        {"count=3", "neither interval nor cron"},
        {"interval=5000;cron=0 * * * * ?", "both interval and cron"},
        {"interval=5000;count=0", "count=0: not a whole number in range"},
        {"interval=5000;misfire=later", "misfire=later: not a misfire policy; allowed: "
                                        "misfire=once, skip or all"},
        {"interval=5000;max_catchup=3", "max_catchup: only misfire=all catches up"},
        {"interval=5000;tz=Europe/Berlin", "tz: only a cron expression has a zone"},
        {"cron=0 0 12 * * *", "cron=0 0 12 * * *: day-of-month field \"*\" and day-of-week"},
        {"cron=0 0 25 * * ?", "hours field \"25\""},
        {"cron=0 0 12 * * ?;tz=Mars/Base", "tz=Mars/Base: time zone Mars/Base"},
        {"cron=0 0 12 * * ?;tz=../../etc/passwd", "is not a time zone name"},
        {"interval=5000;start=-1", "start=-1: not ms since the epoch"},
        {"interval=5000;grace=0", "grace=0: not a whole number of ms in range"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccoord__trigger t;
        char err[1024] = "";
        if (ccoord__trigger_parse(bad[i].text, &t, err, sizeof err) != CCOORD_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i].text);
        if (!strstr(err, bad[i].want))
            fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i].text, err, bad[i].want);
        if (strncmp(err, "trigger \"", 9) != 0)
            fail_msg("\"%s\": \"%s\" does not start with the trigger", bad[i].text, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trigger_slots),
        cmocka_unit_test(test_trigger_errors_name_the_part),
    };
    return cmocka_run_group_tests_name("trigger", tests, NULL, NULL);
}
