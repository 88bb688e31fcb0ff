#ifndef SK_TIMEFMT_TIMEFMT_H
#define SK_TIMEFMT_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "util/err.h"

/*
 * Time parsing and formatting at log speed. A format is compiled once;
 * parsing a line never calls strptime, and converting broken-down time to
 * epoch seconds is pure arithmetic (days-from-civil) plus, for local and
 * IANA zones, a table lookup behind a one-period cache, so nothing calls
 * mktime per line. nginx's "%d/%b/%Y:%H:%M:%S %z" and the ISO layouts
 * ("%Y-%m-%dT%H:%M:%S[.%N][%z]", "%Y-%m-%d %H:%M:%S") have fixed-width
 * fast paths; everything else runs through a compiled interpreter.
 *
 * Formats are Ruby strptime/strftime style as Fluentd users write them:
 * %Y %m %d %H %M %S %b %B %h %a %A %y %j %e %k %I %l %p %z (+hhmm, +hh:mm,
 * Z) %Z (UTC, GMT, Z, common US/JST/CET abbreviations, or an offset) %N %L
 * %3N %6N %9N (fractions) %s %T %D %F %R %n %t %% and literal text;
 * strftime also takes the flags - 0 ^ and %:z.
 * A zone from %z wins; otherwise the compiled zone applies: UTC, a fixed
 * offset "+09:00", or an IANA name / local time (through localtime_r).
 *
 * Local and IANA zones become a table of offset periods (1900..2100),
 * built once per zone and process by sampling localtime_r (~10-20 ms). An
 * IANA zone is sampled inside sk_timefmt_create with TZ switched to it and
 * restored, so create such formats while configuring, before other
 * threads format local times; the local zone's table is built on first
 * use from the TZ of that moment. Parsing then never calls into libc.
 * An ambiguous local time (autumn) is the earlier instant, a skipped one
 * (spring) is read with the offset before the change, as Ruby does.
 */
struct sk_timefmt;

/*
 * Compiles `format`. `zone` is NULL for local time (Fluentd's default when
 * neither utc nor timezone is given), "UTC", "+09:00"/"-0500", or an IANA
 * name ("Asia/Tokyo"). Returns NULL and sets *err (SK_EINVAL for an
 * unknown directive or zone, SK_ENOMEM).
 */
struct sk_timefmt *sk_timefmt_create(const char *format, const char *zone, int *err);
void sk_timefmt_destroy(struct sk_timefmt *f);

/*
 * Parses exactly `len` bytes of `s` (trailing text is an error). Fields
 * are read as the strptime gem (Fluentd's parser) reads them: 1..N digits,
 * per-field ranges (%d 1..31 in any month, rolled over like timegm),
 * month/day names in any case, a blank in the format matching any run of
 * blanks. A NULL format guesses common layouts (ISO 8601, CLF, RFC 2822,
 * syslog) as Ruby's Time.parse would for them; "%iso8601" is Ruby's
 * Time.iso8601. A compiled format caches and is not thread-safe.
 * Returns 0, SK_EPARSE, or SK_ENOMEM when the local zone's table (built on
 * first use) cannot be allocated.
 */
int sk_timefmt_parse(struct sk_timefmt *f, const char *s, size_t len, struct sk_time *out) SK_WUR;

/*
 * Like sk_timefmt_parse, but text after the format is ignored, as
 * Fluentd's strptime does ("%Y-%m-%d %H:%M:%S" accepts "2020-05-11
 * 01:23:45 [ERROR] x"). *used (may be NULL) receives the bytes consumed.
 * Parsers use this one to behave as td-agent does.
 */
int sk_timefmt_parse_prefix(struct sk_timefmt *f, const char *s, size_t len, struct sk_time *out,
                            size_t *used) SK_WUR;

/*
 * strftime for event times: writes `t` per `format` in UTC (utc = true) or
 * in local time (the process's TZ), into out (NUL-terminated, truncating
 * is an error: SK_ETOOBIG). Returns the length written, or SK_EINVAL for
 * an unknown directive. Supports the same directives plus %N/%L/%3N
 * fractions. Local time is broken down once per second per thread.
 */
int sk_timefmt_format(const char *format, struct sk_time t, bool utc, char *out, size_t size) SK_WUR;

/* Days-from-civil: broken-down UTC date to epoch seconds (no tz, no mktime). */
int64_t sk_time_from_civil(int year, int mon, int day, int hour, int min, int sec);

/* Parses "UTC", "+09:00", "-0500", "+9" into seconds east of UTC;
 * SK_EINVAL when the text is not a fixed offset. */
int sk_tz_parse_offset(const char *text, int *offset_sec) SK_WUR;

#endif
