#ifndef SK_TIMEFMT_TIMEFMT_INT_H
#define SK_TIMEFMT_TIMEFMT_INT_H

/*
 * Internals shared by timefmt.c (compiling, parsing), timefmt_zone.c (zone
 * tables) and timefmt_format.c (strftime). Not for other modules.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timefmt/timefmt.h"

/*
 * A zone as a table of periods: period i starts at the UTC instant
 * start[i] (start[0] is INT64_MIN) and has offset off[i] seconds east of
 * UTC. wall_lo[i] is the first local wall-clock second (expressed as if it
 * were UTC) that resolves to period i: the ranges tile the wall-clock line,
 * an ambiguous wall time (autumn) resolves to the earlier instant and a
 * skipped one (spring) to the offset in force before the change, which is
 * what Ruby's Time.local (hence Fluentd) does.
 *
 *   instants:  ----[start[i] ........ start[i+1])----
 *   wall:      ----[wall_lo[i] ...... wall_lo[i+1])---   off[i]
 *
 * Tables are built once per zone and process (timefmt_zone.c) and shared,
 * read-only, by every compiled format; they are never freed.
 */
struct sk_tz {
    char *name;       /* owned; NULL for the process's local time */
    size_t n;         /* number of periods, >= 1 */
    int64_t *start;   /* owned */
    int64_t *wall_lo; /* owned */
    int32_t *off;     /* owned */
    struct sk_tz *next;
};

/* The zone a format falls back to when the text carries no offset. */
enum tf_zone_kind {
    TF_ZONE_FIXED, /* UTC or "+09:00": fixed_off */
    TF_ZONE_TABLE, /* local time or an IANA name: tz */
};

/* Compiled directives. */
enum tf_op {
    TF_LIT,   /* literal bytes: fmt[arg .. arg+len) */
    TF_WS,    /* zero or more whitespace characters */
    TF_YEAR,  /* %Y */
    TF_YEAR2, /* %y */
    TF_MON,   /* %m */
    TF_MONN,  /* %b %B %h */
    TF_MDAY,  /* %d */
    TF_MDAYS, /* %e: optional leading space */
    TF_YDAY,  /* %j */
    TF_WDAYN, /* %a %A (checked, value unused) */
    TF_HOUR,  /* %H */
    TF_HOURS, /* %k */
    TF_HOUR12,  /* %I */
    TF_HOUR12S, /* %l */
    TF_AMPM,  /* %p %P */
    TF_MIN,   /* %M */
    TF_SEC,   /* %S */
    TF_FRAC,  /* %N %L %3N ...: arg = max digits, len = 1 to skip extra digits */
    TF_ZONE,  /* %z */
    TF_ZNAME, /* %Z */
    TF_EPOCH, /* %s */
};

struct tf_item {
    uint8_t op;    /* enum tf_op */
    uint8_t len;   /* TF_LIT: length; TF_FRAC: skip extra digits */
    uint16_t arg;  /* TF_LIT: offset into fmt; TF_FRAC: width */
};

/* How a compiled format is executed. */
enum tf_mode {
    TF_MODE_GENERIC, /* the item interpreter */
    TF_MODE_CLF,     /* "%d/%b/%Y:%H:%M:%S %z" with a fixed-width fast path */
    TF_MODE_GUESS,   /* no format: Ruby Time.parse-like guessing */
    TF_MODE_ISO8601, /* Fluentd's "%iso8601": Ruby Time.iso8601 */
    TF_MODE_FIXED,   /* ISO-like fixed-width layout: fast path, then interpreter */
};

/*
 * The layouts the fixed-width fast path knows: "%Y<a>%m<b>%d<c>%H:%M:%S",
 * then optionally ".%N"/".%L" (or %3N, %6N, %9N), then optionally %z with
 * or without one blank before it. Anything that does not fit exactly
 * (other widths, signs, blanks) goes to the interpreter.
 */
struct tf_shape {
    char sep[3];    /* after the year, the month, the day ('T', ' ', '-', '/') */
    bool blank_day; /* sep[2] is a blank (the interpreter's TF_WS) */
    uint8_t frac;   /* 0: none, else the digit limit */
    bool frac_all;  /* %N/%L: extra digits are read too */
    bool zone;
    bool zone_blank; /* a blank item before %z */
};

/* The last wall-clock period used, so that most lines skip the search. */
struct tf_wall_cache {
    int64_t lo;
    int64_t hi;
    int32_t off;
};

/* A compiled format: items whose literals point into fmt. */
struct tf_prog {
    const char *fmt;         /* the format text (owned by whoever built the prog) */
    struct tf_item *items;   /* owned */
    size_t n;
};

struct sk_timefmt {
    char *fmt;               /* owned copy of the format; NULL in guess mode */
    struct tf_prog prog;     /* prog.fmt == fmt */
    struct tf_prog *guess;   /* owned, guess mode only: candidates tried in order */
    size_t nguess;
    enum tf_mode mode;
    struct tf_shape shape;   /* TF_MODE_FIXED */
    enum tf_zone_kind zone_kind;
    int32_t fixed_off;
    const struct sk_tz *tz;  /* shared table (TF_ZONE_TABLE); local: NULL until used */
    struct tf_wall_cache wc;
};

/* Fields gathered while parsing, before they become an instant. */
struct tf_fields {
    int year;
    int mon;  /* 1..12 */
    int mday; /* 1..31 */
    int yday; /* 1..366 */
    int hour;
    int min;
    int sec;
    uint32_t nsec;
    int32_t off;
    int64_t epoch;
    int ampm; /* -1 none, 0 am, 1 pm */
    unsigned int set; /* TF_SET_* */
};

enum {
    TF_SET_YEAR = 1 << 0,
    TF_SET_MON = 1 << 1,
    TF_SET_MDAY = 1 << 2,
    TF_SET_YDAY = 1 << 3,
    TF_SET_HOUR = 1 << 4,
    TF_SET_MIN = 1 << 5,
    TF_SET_SEC = 1 << 6,
    TF_SET_OFF = 1 << 7,
    TF_SET_EPOCH = 1 << 8,
    TF_SET_HOUR12 = 1 << 9,
};

/* timefmt_scan.c: compiles fmt into p (p->fmt = fmt, borrowed). Returns 0,
 * SK_EINVAL for an unknown directive, SK_ENOMEM. */
int tf_compile(const char *fmt, struct tf_prog *p);

/* timefmt_scan.c: runs a program over s[0..len) into fl (zeroed by the
 * caller, ampm = -1). Returns the bytes consumed, or -1 when s does not
 * match. Trailing text is left to the caller. */
long tf_run(const struct tf_prog *p, const char *s, size_t len, struct tf_fields *fl);

/* timefmt_scan.c: the byte of a one-byte literal item. */
bool tf_item_char(const struct tf_prog *p, const struct tf_item *it, char *c);

/* timefmt_scan.c: parses an ISO 8601 / RFC 3339 timestamp the way Ruby's
 * Time.iso8601 does (date, optional time, fraction and zone). Returns the
 * bytes consumed or -1. */
long tf_run_iso8601(const char *s, size_t len, struct tf_fields *fl);

/* timefmt.c: turns gathered fields into an instant using f's zone.
 * Returns 0, or SK_ENOMEM when the local zone's table cannot be built. */
int tf_fields_to_time(struct sk_timefmt *f, struct tf_fields *fl, struct sk_time *out);

/* timefmt_fast.c: "dd/Mon/yyyy:HH:MM:SS +hhmm" exactly as nginx writes it;
 * returns 1 when handled, 0 to leave the text to the interpreter. */
int tf_fast_clf(const char *s, size_t len, struct sk_time *out);

/* timefmt_fast.c: whether p is a layout the fixed-width path knows. */
bool tf_fast_shape(const struct tf_prog *p, struct tf_shape *shape);

/* timefmt_fast.c: reads text of layout `shape` into fl (zeroed here);
 * returns the bytes consumed, or 0 to leave the text to the interpreter. */
long tf_fast_fixed(const struct tf_shape *shape, const char *s, size_t len,
                   struct tf_fields *fl);

/* timefmt_guess.c: builds the candidate programs of guess mode. */
int tf_guess_init(struct sk_timefmt *f);

/* timefmt_guess.c: Time.parse-like parsing for formats left unset: the
 * first candidate that matches with nothing but blanks after it wins. */
int tf_guess_parse(struct sk_timefmt *f, const char *s, size_t len, struct sk_time *out);

/* timefmt_zone.c: the shared table for `name` (NULL: local time), built on
 * first use. Returns NULL and sets *err (SK_EINVAL unknown zone, SK_ENOMEM). */
const struct sk_tz *tf_tz_get(const char *name, int *err);

/* timefmt_zone.c: offset east of UTC in force at UTC instant t. */
int32_t tf_tz_offset_at(const struct sk_tz *z, int64_t t);

/* timefmt_zone.c: resolves a wall-clock second (as if UTC) to the offset
 * that applies, through the caller's one-period cache. */
int32_t tf_tz_wall_offset(const struct sk_tz *z, int64_t wall, struct tf_wall_cache *wc);

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
void tf_civil_from_days(int64_t days, int *year, int *mon, int *mday);

/* Days since 1970-01-01 for a civil date; mon 1..12, any mday (overflow
 * rolls into the next month, as the strptime gem's timegm does). */
int64_t tf_days_from_civil(int64_t year, int mon, int mday);

#endif
