#ifndef SK_OUT_ELASTICSEARCH_ES_TIME_H
#define SK_OUT_ELASTICSEARCH_ES_TIME_H

/*
 * Time values as fluent-plugin-elasticsearch sees them: an instant plus the
 * UTC offset it is expressed in (Ruby's DateTime keeps both). The offset
 * matters twice: `@timestamp` is written in it, and with `utc_index false`
 * the index date is the date in that offset.
 *
 *   event time, no time field    instant = event time, offset = local zone
 *                                (Time.at(time).to_datetime)
 *   "2024-05-01T23:30:00+09:00"  instant = 14:30Z, offset = +09:00
 *   "2024-05-01 23:30:00"        instant = 23:30Z, offset = +00:00
 *                                (DateTime.parse without a zone is UTC)
 *   1714600000.5 (a number)      instant = that epoch, offset = local zone
 *
 * Pure functions; the local zone comes from localtime_r (so TZ applies).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "util/err.h"

struct es_timeval {
    struct sk_time t;
    int offset_sec; /* seconds east of UTC */
};

/* Seconds east of UTC of the local zone at epoch second `sec`, as of the
 * last es_time_zone_refresh() (or the first call). */
int es_local_offset(int64_t sec);

/* Re-reads TZ (tzset() if it changed): called once per chunk, not per event. */
void es_time_zone_refresh(void);

/*
 * Writes `tv` the way Ruby's DateTime#iso8601(precision) does:
 * "2018-07-21T10:00:00.000000000+09:00" (precision 9; the fraction is
 * truncated, not rounded; precision 0 has no fraction; UTC is "+00:00").
 * Returns the length, or SK_ETOOBIG when `size` is too small (36 bytes
 * always suffice for years 0-9999), SK_ERANGE for other years.
 */
int es_time_iso8601(const struct es_timeval *tv, int precision, char *out, size_t size) SK_WUR;

/* Proleptic Gregorian date of a day number (days since 1970-01-01). */
void es_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

/*
 * Parses a time string without a format, accepting what DateTime.parse
 * accepts in logs: ISO 8601 / RFC 3339 ("2024-05-01T12:00:00.123Z",
 * "2024-05-01 12:00:00 +0900", "2024-05-01T12:00", "2024-05-01", '/' as
 * date separator), and the common-log form "01/May/2024:12:00:00 +0000".
 * Zones: Z, UTC, GMT, +hh:mm, +hhmm, +hh. No zone means +00:00. Returns 0
 * or SK_EPARSE.
 */
int es_time_parse_any(const char *s, size_t len, struct es_timeval *out) SK_WUR;

/* Finds a zone designator at the end of s ("Z", "+09:00", "-0500", "+09",
 * "UTC", "GMT"), as a format with %z would have parsed it. Returns true
 * and the offset, or false when s does not end with one. */
bool es_time_trailing_zone(const char *s, size_t len, int *offset_sec);

#endif
