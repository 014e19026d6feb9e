/*
 * test/fuzz/fuzz_cron.c: libFuzzer target for the Quartz cron parser and
 * search (lib/cron.c), whose input comes from users' triggers.
 *
 * Any input either parses or is refused with a message that names a
 * field or the field count; for one that parses, from a few starting
 * instants (UTC, and a zone with daylight saving time): a next fire time
 * is after the start, the search from just before it finds it again (it
 * is a match, and the first), and the one after it is later still.
 *
 *   make fuzz            (mk/fuzz.mk; FUZZ_SECONDS per target)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* CET/CEST as in 2027, repeating every year from 1970 on (good enough
 * to exercise gaps and repeated hours anywhere in the range). */
static long zone(void *ctx, int64_t s)
{
    int64_t y = s % 31556952; /* an average Gregorian year */
    (void)ctx;
    return y >= 7516800 && y < 25660800 ? 7200 : 3600;
}

static void check(const ccoord__cron *c, const ccoord__cron_zone *z, int64_t after)
{
    int64_t r = 0, again = 0, later = 0;
    if (ccoord__cron_next(c, z, after, &r) != 1)
        return;
    if (r <= after)
        abort();
    if (ccoord__cron_next(c, z, r - 1, &again) != 1 || again != r)
        abort();
    if (ccoord__cron_next(c, z, r, &later) == 1 && later <= r)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t starts[] = {0, 951825600, 1796587200, 7258118300};
    char expr[300], err[300];
    ccoord__cron c;
    ccoord__cron_zone z = {zone, NULL};
    size_t i;
    if (size >= sizeof expr)
        return 0;
    memcpy(expr, data, size);
    expr[size] = '\0';
    err[0] = '\0';
    if (ccoord__cron_parse(expr, &c, err, sizeof err) != CCOORD_OK) {
        if (!strstr(err, "field") && !strstr(err, "cron expression"))
            abort();
        return 0;
    }
    for (i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        check(&c, NULL, starts[i]);
        check(&c, &z, starts[i]);
    }
    return 0;
}
