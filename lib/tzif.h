/*
 * lib/tzif.h: floor 2 (calls cron.c's civil time), named time zones
 * (lib/tzif.c) for schedules: a zone of the system's time zone database
 * (TZif files, RFC 8536, Debian package tzdata) loaded by name, and its
 * offset from UTC at any instant, without the process-wide TZ variable
 * (which localtime_r would need and which another thread may change).  Instants past the file's last
 * transition follow its POSIX TZ footer ("CET-1CEST,M3.5.0,M10.5.0/3").
 */
#ifndef CCOORD_TZIF_H
#define CCOORD_TZIF_H

#include <stdint.h>

#include "internal.h"

typedef struct ccoord__tz ccoord__tz;

/* Loads zone name ("Europe/Berlin", "UTC") from $TZDIR or
 * /usr/share/zoneinfo.  CCOORD_OK; CCOORD_EINVAL with err set for a name
 * that is not a zone name ([A-Za-z0-9_+-] parts separated by /, no ".."),
 * a missing file, or a file that is not TZif; CCOORD_ENOMEM. */
int ccoord__tz_load(const char *name, ccoord__tz **ret, char *err, size_t errlen);
/* Parses a TZif image (for tests and the fuzzer); same errors. */
int ccoord__tz_parse(const unsigned char *data, size_t len, ccoord__tz **ret, char *err,
                     size_t errlen);
void ccoord__tz_free(ccoord__tz *z);
/* The zone's offset from UTC (seconds east) at utc_s. */
long ccoord__tz_offset(const ccoord__tz *z, int64_t utc_s);
/* As ccoord__cron_zone's offset_s: ctx is a ccoord__tz. */
long ccoord__tz_offset_cb(void *ctx, int64_t utc_s);

#endif
