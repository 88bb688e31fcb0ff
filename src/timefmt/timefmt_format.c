/*
 * strftime for event times (Ruby's Time#strftime subset): index names,
 * formatted time fields. UTC is pure arithmetic; local time goes through
 * localtime_r once per distinct second per thread.
 */
#include "timefmt/timefmt.h"

#include <string.h>
#include <time.h>

#include "timefmt/timefmt_int.h"

static const char *const month_full[] = {
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
};

static const char *const day_full[] = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};

/* Broken-down time plus what struct tm lacks. */
struct bd {
    int year, mon, mday, yday, wday, hour, min, sec;
    int32_t off;
    const char *zone;
};

struct out {
    char *p;
    size_t len;
    size_t size;
};

static _Thread_local struct {
    int64_t sec;
    bool valid;
    struct tm tm;
} local_cache;

static void breakdown_utc(int64_t t, struct bd *b)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t rem = t - days * 86400;

    tf_civil_from_days(days, &b->year, &b->mon, &b->mday);
    b->yday = (int)(days - tf_days_from_civil(b->year, 1, 1)) + 1;
    b->wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    b->hour = (int)(rem / 3600);
    b->min = (int)(rem / 60 % 60);
    b->sec = (int)(rem % 60);
    b->off = 0;
    b->zone = "UTC";
}

static int breakdown_local(int64_t t, struct bd *b)
{
    if (!local_cache.valid || local_cache.sec != t) {
        time_t tt = (time_t)t;

        if (localtime_r(&tt, &local_cache.tm) == NULL) {
            return SK_ERANGE;
        }
        local_cache.sec = t;
        local_cache.valid = true;
    }
    b->year = local_cache.tm.tm_year + 1900;
    b->mon = local_cache.tm.tm_mon + 1;
    b->mday = local_cache.tm.tm_mday;
    b->yday = local_cache.tm.tm_yday + 1;
    b->wday = local_cache.tm.tm_wday;
    b->hour = local_cache.tm.tm_hour;
    b->min = local_cache.tm.tm_min;
    b->sec = local_cache.tm.tm_sec;
    b->off = (int32_t)local_cache.tm.tm_gmtoff;
    b->zone = local_cache.tm.tm_zone != NULL ? local_cache.tm.tm_zone : "";
    return 0;
}

static int put_bytes(struct out *o, const char *s, size_t n)
{
    if (o->len + n >= o->size) {
        return SK_ETOOBIG;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    return 0;
}

/* Decimal with padding: width digits padded with `pad` ('0', ' ', or 0
 * for none); upper/lower case does not apply. */
static int put_num(struct out *o, int64_t v, int width, char pad)
{
    char tmp[24];
    size_t n = 0;
    bool neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (pad != 0 && (int)n < width - (neg ? 1 : 0)) {
        tmp[n++] = pad;
    }
    if (neg) {
        tmp[n++] = '-';
    }
    for (size_t i = 0; i < n / 2; i++) {
        char c = tmp[i];

        tmp[i] = tmp[n - 1 - i];
        tmp[n - 1 - i] = c;
    }
    return put_bytes(o, tmp, n);
}

static int put_name(struct out *o, const char *name, size_t n, bool upper)
{
    char tmp[16];

    if (n > sizeof(tmp)) {
        n = sizeof(tmp);
    }
    for (size_t i = 0; i < n; i++) {
        tmp[i] = upper && name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 32) : name[i];
    }
    return put_bytes(o, tmp, n);
}

static int put_offset(struct out *o, int32_t off, bool colon)
{
    char tmp[8];
    int32_t a = off < 0 ? -off : off;
    size_t n = 0;

    tmp[n++] = off < 0 ? '-' : '+';
    tmp[n++] = (char)('0' + a / 36000);
    tmp[n++] = (char)('0' + a / 3600 % 10);
    if (colon) {
        tmp[n++] = ':';
    }
    tmp[n++] = (char)('0' + a / 600 % 6);
    tmp[n++] = (char)('0' + a / 60 % 10);
    return put_bytes(o, tmp, n);
}

static int put_frac(struct out *o, uint32_t nsec, int width)
{
    char tmp[9];

    for (int i = 8; i >= 0; i--) {
        tmp[i] = (char)('0' + nsec % 10);
        nsec /= 10;
    }
    return put_bytes(o, tmp, (size_t)(width > 9 ? 9 : width));
}

/* Numeric directives: value, default width and pad. */
static int numeric(char c, const struct bd *b, int64_t *v, int *width, char *pad)
{
    *width = 2;
    *pad = '0';
    switch (c) {
    case 'Y': *v = b->year; *width = 4; return 0;
    case 'C': *v = b->year / 100; return 0;
    case 'y': *v = ((b->year % 100) + 100) % 100; return 0;
    case 'm': *v = b->mon; return 0;
    case 'd': *v = b->mday; return 0;
    case 'e': *v = b->mday; *pad = ' '; return 0;
    case 'j': *v = b->yday; *width = 3; return 0;
    case 'H': *v = b->hour; return 0;
    case 'k': *v = b->hour; *pad = ' '; return 0;
    case 'I': *v = (b->hour + 11) % 12 + 1; return 0;
    case 'l': *v = (b->hour + 11) % 12 + 1; *pad = ' '; return 0;
    case 'M': *v = b->min; return 0;
    case 'S': *v = b->sec; return 0;
    case 'u': *v = b->wday == 0 ? 7 : b->wday; *width = 1; return 0;
    case 'w': *v = b->wday; *width = 1; return 0;
    default: return SK_EINVAL;
    }
}

/* Writes one directive (with its flag and width) for b and t. */
static int directive(struct out *o, char c, char flag, int width, const struct bd *b,
                     struct sk_time t);

static int composite(struct out *o, const char *fmt, const struct bd *b, struct sk_time t)
{
    int rc = 0;

    for (const char *p = fmt; rc == 0 && *p != '\0'; p++) {
        rc = *p == '%' ? directive(o, *++p, 0, 0, b, t) : put_bytes(o, p, 1);
    }
    return rc;
}

static int directive(struct out *o, char c, char flag, int width, const struct bd *b,
                     struct sk_time t)
{
    int64_t v;
    int w;
    char pad;
    bool up = flag == '^';

    switch (c) {
    case 'b': case 'h': return put_name(o, month_full[b->mon - 1], 3, up);
    case 'B': return put_name(o, month_full[b->mon - 1], strlen(month_full[b->mon - 1]), up);
    case 'a': return put_name(o, day_full[b->wday], 3, up);
    case 'A': return put_name(o, day_full[b->wday], strlen(day_full[b->wday]), up);
    case 'p': return put_name(o, b->hour < 12 ? "AM" : "PM", 2, false);
    case 'P': return put_name(o, b->hour < 12 ? "am" : "pm", 2, false);
    case 'z': return put_offset(o, b->off, flag == ':');
    case 'Z': return put_name(o, b->zone, strlen(b->zone), up);
    case 's': return put_num(o, t.sec, 1, 0);
    case 'N': return put_frac(o, t.nsec, width ? width : 9);
    case 'L': return put_frac(o, t.nsec, width ? width : 3);
    case 'T': return composite(o, "%H:%M:%S", b, t);
    case 'D': return composite(o, "%m/%d/%y", b, t);
    case 'F': return composite(o, "%Y-%m-%d", b, t);
    case 'R': return composite(o, "%H:%M", b, t);
    case 'n': return put_bytes(o, "\n", 1);
    case 't': return put_bytes(o, "\t", 1);
    case '%': return put_bytes(o, "%", 1);
    default:
        if (numeric(c, b, &v, &w, &pad) < 0) {
            return SK_EINVAL;
        }
        if (flag == '-') {
            pad = 0;
        } else if (flag == '0') {
            pad = '0';
        }
        return put_num(o, v, width ? width : w, pad);
    }
}

int sk_timefmt_format(const char *format, struct sk_time t, bool utc, char *out, size_t size)
{
    struct out o = {out, 0, size};
    struct bd b;
    int rc = 0;

    if (size == 0) {
        return SK_ETOOBIG;
    }
    if (utc) {
        breakdown_utc(t.sec, &b);
    } else {
        rc = breakdown_local(t.sec, &b);
    }
    for (const char *p = format; rc == 0 && *p != '\0'; p++) {
        char flag = 0;
        int width = 0;

        if (*p != '%') {
            rc = put_bytes(&o, p, 1);
            continue;
        }
        p++;
        if (*p == '-' || *p == '0' || *p == '^' || *p == ':') {
            flag = *p++;
        }
        while (*p >= '0' && *p <= '9' && width < 100) {
            width = width * 10 + (*p++ - '0');
        }
        rc = *p == '\0' ? SK_EINVAL : directive(&o, *p, flag, width, &b, t);
    }
    out[o.len < size ? o.len : size - 1] = '\0';
    return rc < 0 ? rc : (int)o.len;
}
