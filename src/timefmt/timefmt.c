/*
 * Compiled time formats: creation, the parse entry points (fast paths in
 * timefmt_fast.c, the interpreter in timefmt_scan.c), calendar arithmetic.
 */
#include "timefmt/timefmt.h"

#include <string.h>
#include <strings.h>

#include "timefmt/timefmt_int.h"
#include "util/alloc.h"

#define CLF_FORMAT "%d/%b/%Y:%H:%M:%S %z"

/* --- calendar ------------------------------------------------------------- */

/* Howard Hinnant's days_from_civil; linear in mday, so day overflow rolls
 * into the next month as the strptime gem's timegm does. */
int64_t tf_days_from_civil(int64_t y, int mon, int mday)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;
    int64_t doe;

    y -= mon <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (mon > 2 ? mon - 3 : mon + 9) + 2) / 5 + mday - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tf_civil_from_days(int64_t z, int *year, int *mon, int *mday)
{
    int64_t era;
    int64_t doe;
    int64_t yoe;
    int64_t doy;
    int64_t mp;
    int m;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    *mon = m;
    *year = (int)(yoe + era * 400 + (m <= 2));
}

int64_t sk_time_from_civil(int year, int mon, int day, int hour, int min, int sec)
{
    return tf_days_from_civil(year, mon, day) * 86400 + (int64_t)hour * 3600 + min * 60 + sec;
}

/* --- zones ---------------------------------------------------------------- */

int sk_tz_parse_offset(const char *text, int *offset_sec)
{
    const char *p = text;
    int sign;
    int h = 0;
    int m = 0;
    size_t nh = 0;

    if (strcasecmp(text, "UTC") == 0 || strcasecmp(text, "GMT") == 0 || strcmp(text, "Z") == 0) {
        *offset_sec = 0;
        return 0;
    }
    if (*p != '+' && *p != '-') {
        return SK_EINVAL;
    }
    sign = *p++ == '-' ? -1 : 1;
    while (nh < 2 && *p >= '0' && *p <= '9') {
        h = h * 10 + (*p++ - '0');
        nh++;
    }
    if (nh == 0) {
        return SK_EINVAL;
    }
    if (*p == ':') {
        p++;
    }
    if (*p != '\0') {
        if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] == '\0')) {
            return SK_EINVAL;
        }
        m = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (h > 23 || m > 59 || (nh == 1 && *p != '\0')) {
        return SK_EINVAL;
    }
    *offset_sec = sign * (h * 3600 + m * 60);
    return 0;
}

/* --- creation ------------------------------------------------------------- */

static int setup_zone(struct sk_timefmt *f, const char *zone)
{
    int off;
    int err = 0;

    f->zone_kind = TF_ZONE_FIXED;
    f->fixed_off = 0;
    if (zone != NULL && sk_tz_parse_offset(zone, &off) == 0) {
        f->fixed_off = off;
        return 0;
    }
    f->zone_kind = TF_ZONE_TABLE;
    f->wc.lo = 1;
    f->wc.hi = 0; /* empty cache */
    if (zone == NULL) {
        return 0; /* local time: its table is built on first use (no TZ switch) */
    }
    f->tz = tf_tz_get(zone, &err);
    return f->tz == NULL ? err : 0;
}

static int compile_format(struct sk_timefmt *f, const char *format)
{
    int rc;

    if (format == NULL) {
        f->mode = TF_MODE_GUESS;
        return tf_guess_init(f);
    }
    f->fmt = sk_strdup(format);
    if (f->fmt == NULL) {
        return SK_ENOMEM;
    }
    if (strcmp(format, "%iso8601") == 0) {
        f->mode = TF_MODE_ISO8601;
        return 0;
    }
    f->mode = strcmp(format, CLF_FORMAT) == 0 ? TF_MODE_CLF : TF_MODE_GENERIC;
    rc = tf_compile(f->fmt, &f->prog);
    if (rc == 0 && f->mode == TF_MODE_GENERIC && tf_fast_shape(&f->prog, &f->shape)) {
        f->mode = TF_MODE_FIXED;
    }
    return rc;
}

struct sk_timefmt *sk_timefmt_create(const char *format, const char *zone, int *err)
{
    struct sk_timefmt *f = sk_calloc(1, sizeof(*f));
    int rc;

    if (f == NULL) {
        *err = SK_ENOMEM;
        return NULL;
    }
    rc = compile_format(f, format);
    if (rc == 0) {
        rc = setup_zone(f, zone);
    }
    if (rc < 0) {
        sk_timefmt_destroy(f);
        *err = rc;
        return NULL;
    }
    return f;
}

void sk_timefmt_destroy(struct sk_timefmt *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->nguess; i++) {
        sk_free(f->guess[i].items);
    }
    sk_free(f->guess);
    sk_free(f->prog.items);
    sk_free(f->fmt);
    sk_free(f);
}

/* --- fields to instant ---------------------------------------------------- */

/* The local zone's table, built when a text first needs it. */
static int zone_table(struct sk_timefmt *f)
{
    int err = 0;

    if (f->tz == NULL) {
        f->tz = tf_tz_get(NULL, &err);
    }
    return f->tz == NULL ? err : 0;
}

static int zone_offset_now(struct sk_timefmt *f, int64_t now, int32_t *off)
{
    int rc = f->zone_kind == TF_ZONE_FIXED ? 0 : zone_table(f);

    if (rc == 0) {
        *off = f->zone_kind == TF_ZONE_FIXED ? f->fixed_off : tf_tz_offset_at(f->tz, now);
    }
    return rc;
}

/* Without a year the strptime gem takes today's date (in the zone that
 * applies) and overwrites it from the first field given downwards. */
static int fill_date_from_now(struct sk_timefmt *f, struct tf_fields *fl)
{
    int64_t now = sk_time_now().sec;
    int32_t off = fl->off;
    int64_t wall;
    int64_t days;
    int y;
    int m;
    int d;
    int rc = (fl->set & TF_SET_OFF) ? 0 : zone_offset_now(f, now, &off);

    if (rc < 0) {
        return rc;
    }
    wall = now + off;
    days = wall >= 0 ? wall / 86400 : (wall - 86399) / 86400;
    tf_civil_from_days(days, &y, &m, &d);
    fl->year = y;
    if (!(fl->set & TF_SET_MON)) {
        fl->mon = m;
        if (!(fl->set & TF_SET_MDAY)) {
            fl->mday = d;
            fl->set |= TF_SET_MDAY;
        }
    }
    fl->set |= TF_SET_YEAR | TF_SET_MON;
    return 0;
}

int tf_fields_to_time(struct sk_timefmt *f, struct tf_fields *fl, struct sk_time *out)
{
    int64_t days;
    int64_t wall;
    int32_t off;
    int hour = (fl->set & TF_SET_HOUR) ? fl->hour : 0;

    if (fl->set & TF_SET_EPOCH) {
        out->sec = fl->epoch;
        out->nsec = fl->nsec;
        return 0;
    }
    if (fl->ampm >= 0) {
        hour = hour % 12 + 12 * fl->ampm;
    }
    if (!(fl->set & TF_SET_YEAR)) {
        int rc = fill_date_from_now(f, fl);

        if (rc < 0) {
            return rc;
        }
    }
    if ((fl->set & TF_SET_YDAY) && !(fl->set & (TF_SET_MON | TF_SET_MDAY))) {
        days = tf_days_from_civil(fl->year, 1, 1) + fl->yday - 1;
    } else {
        days = tf_days_from_civil(fl->year, (fl->set & TF_SET_MON) ? fl->mon : 1,
                                  (fl->set & TF_SET_MDAY) ? fl->mday : 1);
    }
    wall = days * 86400 + (int64_t)hour * 3600 + (int64_t)fl->min * 60 + fl->sec;
    if (fl->set & TF_SET_OFF) {
        off = fl->off;
    } else if (f->zone_kind == TF_ZONE_FIXED) {
        off = f->fixed_off;
    } else {
        int rc = zone_table(f);

        if (rc < 0) {
            return rc;
        }
        off = tf_tz_wall_offset(f->tz, wall, &f->wc);
    }
    out->sec = wall - off;
    out->nsec = fl->nsec;
    return 0;
}

/* --- entry points --------------------------------------------------------- */

static int parse_any(struct sk_timefmt *f, const char *s, size_t len, struct sk_time *out,
                     size_t *used)
{
    struct tf_fields fl;
    long n;

    if (f->mode == TF_MODE_CLF && tf_fast_clf(s, len, out)) {
        *used = len;
        return 0;
    }
    if (f->mode == TF_MODE_FIXED) {
        n = tf_fast_fixed(&f->shape, s, len, &fl);
        if (n > 0) {
            *used = (size_t)n;
            return tf_fields_to_time(f, &fl, out);
        }
    }
    if (f->mode == TF_MODE_GUESS) {
        *used = len;
        return tf_guess_parse(f, s, len, out);
    }
    memset(&fl, 0, sizeof(fl));
    fl.ampm = -1;
    n = f->mode == TF_MODE_ISO8601 ? tf_run_iso8601(s, len, &fl) : tf_run(&f->prog, s, len, &fl);
    if (n < 0) {
        return SK_EPARSE;
    }
    *used = (size_t)n;
    return tf_fields_to_time(f, &fl, out);
}

int sk_timefmt_parse(struct sk_timefmt *f, const char *s, size_t len, struct sk_time *out)
{
    size_t used = 0;
    int rc = parse_any(f, s, len, out, &used);

    if (rc == 0 && used != len) {
        return SK_EPARSE;
    }
    return rc;
}

int sk_timefmt_parse_prefix(struct sk_timefmt *f, const char *s, size_t len, struct sk_time *out,
                            size_t *used)
{
    size_t n = 0;
    int rc = parse_any(f, s, len, out, &n);

    if (rc == 0 && f->mode == TF_MODE_ISO8601 && n != len) {
        return SK_EPARSE; /* Time.iso8601 is anchored at both ends */
    }
    if (used != NULL) {
        *used = n;
    }
    return rc;
}
