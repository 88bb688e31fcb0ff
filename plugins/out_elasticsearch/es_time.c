#include "out_elasticsearch/es_time.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * One zone state per thread-less process: flushes run on the loop thread.
 * Zones change offset only at quarter-hour instants (UTC), so one answer
 * serves a whole 15-minute block. tzset() stats /etc/localtime on every
 * call and getenv() walks the environment, so neither runs per event:
 * es_time_zone_refresh() does, once per chunk.
 */
static int64_t cached_block = INT64_MIN;
static int cached_off;
static char cached_tz[64];
static bool tz_known;

void es_time_zone_refresh(void)
{
    const char *tz = getenv("TZ");

    if (tz == NULL) {
        tz = "";
    }
    if (!tz_known || strncmp(tz, cached_tz, sizeof(cached_tz)) != 0) {
        tzset();
        snprintf(cached_tz, sizeof(cached_tz), "%s", tz);
        tz_known = true;
        cached_block = INT64_MIN;
    }
}

int es_local_offset(int64_t sec)
{
    int64_t block = sec >= 0 ? sec / 900 : -((-sec + 899) / 900);
    struct tm tm;
    time_t t = (time_t)sec;

    if (!tz_known) {
        es_time_zone_refresh();
    }
    if (block == cached_block) {
        return cached_off;
    }
    if (localtime_r(&t, &tm) == NULL) {
        return 0;
    }
    cached_block = block;
    cached_off = (int)tm.tm_gmtoff;
    return cached_off;
}

/* Howard Hinnant's civil_from_days. */
void es_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);

    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = m;
    *year = yoe + era * 400 + (m <= 2);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;
    int64_t doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

int es_time_iso8601(const struct es_timeval *tv, int precision, char *out, size_t size)
{
    int64_t local = tv->t.sec + tv->offset_sec;
    int64_t days = floor_div(local, 86400);
    int rem = (int)(local - days * 86400);
    int off = tv->offset_sec < 0 ? -tv->offset_sec : tv->offset_sec;
    uint32_t nsec = tv->t.nsec % 1000000000u;
    /* Events come in time order: the date part rarely changes. */
    static _Thread_local int64_t cached_days = INT64_MIN;
    static _Thread_local char cached_date[10];
    char *p = out;
    if (precision > 9) {
        precision = 9;
    }
    if (precision < 0) {
        precision = 0;
    }
    /* "YYYY-MM-DDTHH:MM:SS" [".fffffffff"] "+HH:MM" NUL */
    if (size < (size_t)(19 + (precision > 0 ? precision + 1 : 0) + 6 + 1)) {
        return SK_ETOOBIG;
    }
    if (days != cached_days) {
        int64_t year;
        int month;
        int day;
        char *d = cached_date;

        es_civil_from_days(days, &year, &month, &day);
        if (year < 0 || year > 9999) {
            return SK_ERANGE;
        }
        d = put2(d, (int)(year / 100));
        d = put2(d, (int)(year % 100));
        *d++ = '-';
        d = put2(d, month);
        *d++ = '-';
        (void)put2(d, day);
        cached_days = days;
    }
    memcpy(p, cached_date, sizeof(cached_date));
    p += sizeof(cached_date);
    *p++ = 'T';
    p = put2(p, rem / 3600);
    *p++ = ':';
    p = put2(p, rem / 60 % 60);
    *p++ = ':';
    p = put2(p, rem % 60);
    if (precision > 0) {
        static const uint32_t scale[10] = {1000000000, 100000000, 10000000, 1000000, 100000,
                                           10000, 1000, 100, 10, 1};
        uint32_t frac = nsec / scale[precision]; /* only the digits shown */

        *p++ = '.';
        for (int i = precision - 1; i >= 0; i--) {
            p[i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        p += precision;
    }
    *p++ = tv->offset_sec < 0 ? '-' : '+';
    p = put2(p, off / 3600 % 100);
    *p++ = ':';
    p = put2(p, off / 60 % 60);
    *p = '\0';
    return (int)(p - out);
}

/* --- parsing ---------------------------------------------------------------- */

struct scan {
    const char *p;
    const char *end;
};

static bool digits(struct scan *s, int min, int max, int64_t *v)
{
    int n = 0;

    *v = 0;
    while (s->p < s->end && n < max && isdigit((unsigned char)*s->p)) {
        *v = *v * 10 + (*s->p - '0');
        s->p++;
        n++;
    }
    return n >= min;
}

static bool lit(struct scan *s, char c)
{
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

static bool zone_text(const char *p, size_t n, int *off)
{
    int64_t hh = 0;
    int64_t mm = 0;
    struct scan s = {p, p + n};
    int sign;

    if ((n == 1 && (p[0] == 'Z' || p[0] == 'z')) ||
        (n == 3 && (strncasecmp(p, "UTC", 3) == 0 || strncasecmp(p, "GMT", 3) == 0))) {
        *off = 0;
        return true;
    }
    if (n < 3 || (p[0] != '+' && p[0] != '-')) {
        return false;
    }
    sign = p[0] == '-' ? -1 : 1;
    s.p++;
    if (!digits(&s, 2, 2, &hh)) {
        return false;
    }
    if (s.p < s.end) {
        lit(&s, ':');
        if (!digits(&s, 2, 2, &mm) || s.p != s.end) {
            return false;
        }
    }
    if (hh > 23 || mm > 59) {
        return false;
    }
    *off = sign * (int)(hh * 3600 + mm * 60);
    return true;
}

bool es_time_trailing_zone(const char *s, size_t len, int *offset_sec)
{
    /* Longest designator first: "+09:00" (6), "+0900" (5), "+09"/"UTC" (3), "Z". */
    static const size_t widths[] = {6, 5, 3, 1};

    for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        size_t w = widths[i];

        if (len >= w && zone_text(s + len - w, w, offset_sec)) {
            /* "+09" must not be the tail of a longer number ("12:00:09"). */
            if (w == 3 && (s[len - 3] == '+' || s[len - 3] == '-') && len > 3 &&
                s[len - 4] == ':') {
                continue;
            }
            return true;
        }
    }
    return false;
}

static int month_from_name(const char *p, size_t n)
{
    static const char *const names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};

    if (n < 3) {
        return 0;
    }
    for (int i = 0; i < 12; i++) {
        if (strncasecmp(p, names[i], 3) == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* "HH:MM[:SS[.frac]]" */
static bool clock_part(struct scan *s, int64_t *h, int64_t *mi, int64_t *se, uint32_t *nsec)
{
    *se = 0;
    *nsec = 0;
    if (!digits(s, 2, 2, h) || !lit(s, ':') || !digits(s, 2, 2, mi)) {
        return false;
    }
    if (lit(s, ':')) {
        if (!digits(s, 2, 2, se)) {
            return false;
        }
        if (s->p < s->end && (*s->p == '.' || *s->p == ',')) {
            uint32_t scale = 100000000u;

            s->p++;
            if (s->p >= s->end || !isdigit((unsigned char)*s->p)) {
                return false;
            }
            while (s->p < s->end && isdigit((unsigned char)*s->p)) {
                *nsec += (uint32_t)(*s->p - '0') * scale;
                scale /= 10;
                s->p++;
            }
        }
    }
    return *h <= 24 && *mi <= 59 && *se <= 60;
}

static bool date_part(struct scan *s, int64_t *y, int64_t *mo, int64_t *d)
{
    const char *start = s->p;
    char sep;

    /* YYYY-MM-DD or YYYY/MM/DD */
    if (digits(s, 4, 4, y) && s->p < s->end && (*s->p == '-' || *s->p == '/')) {
        sep = *s->p++;
        return digits(s, 1, 2, mo) && lit(s, sep) && digits(s, 1, 2, d);
    }
    /* DD/Mon/YYYY: (common log) */
    s->p = start;
    if (digits(s, 1, 2, d) && lit(s, '/')) {
        const char *m = s->p;

        while (s->p < s->end && isalpha((unsigned char)*s->p)) {
            s->p++;
        }
        *mo = month_from_name(m, (size_t)(s->p - m));
        return *mo > 0 && lit(s, '/') && digits(s, 4, 4, y);
    }
    return false;
}

int es_time_parse_any(const char *str, size_t len, struct es_timeval *out)
{
    struct scan s = {str, str + len};
    int64_t y;
    int64_t mo;
    int64_t d;
    int64_t h = 0;
    int64_t mi = 0;
    int64_t se = 0;
    uint32_t nsec = 0;
    int off = 0;

    while (s.p < s.end && isspace((unsigned char)*s.p)) {
        s.p++;
    }
    while (s.end > s.p && isspace((unsigned char)s.end[-1])) {
        s.end--;
    }
    if (!date_part(&s, &y, &mo, &d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
        return SK_EPARSE;
    }
    if (s.p < s.end && (*s.p == 'T' || *s.p == 't' || *s.p == ' ' || *s.p == ':')) {
        s.p++;
        if (!clock_part(&s, &h, &mi, &se, &nsec)) {
            return SK_EPARSE;
        }
    }
    while (s.p < s.end && *s.p == ' ') {
        s.p++;
    }
    if (s.p < s.end && !zone_text(s.p, (size_t)(s.end - s.p), &off)) {
        return SK_EPARSE;
    }
    out->t.sec = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 + se - off;
    out->t.nsec = nsec;
    out->offset_sec = off;
    return 0;
}
