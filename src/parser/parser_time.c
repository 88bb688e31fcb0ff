/*
 * The event time from a record's time field, per time_type, as Fluentd's
 * TimeParser (string) and NumericTimeParser (unixtime, float) compute it.
 * The numeric parsers never fail on text: "abc" is epoch 0, as
 * String#to_i makes it.
 */
#include "parser/parser.h"

#include <math.h>
#include <string.h>

#include "parser/parser_int.h"
#include "timefmt/timefmt.h"

/*
 * NumericTimeParser#parse_float on text: `sec_s, nsec_s, _ =
 * value.to_s.split('.', 3)`, sec = sec_s.to_i, nsec = first 10 chars of
 * nsec_s right-padded with '0' to 9, then to_i. Where Fluentd would
 * produce an nsec that is not 0..999999999 (a 10th fraction digit, a
 * sign) skiff keeps the first 9 digits or 0.
 */
static void float_time_text(const char *s, size_t len, struct sk_time *t)
{
    const char *dot = memchr(s, '.', len);
    char frac[10];
    size_t flen = 0;
    bool big;
    int64_t nsec;

    t->sec = sk_ruby_to_i(s, dot != NULL ? (size_t)(dot - s) : len, &big);
    t->nsec = 0;
    if (dot == NULL) {
        return;
    }
    for (const char *p = dot + 1; p < s + len && *p != '.' && flen < sizeof(frac); p++) {
        frac[flen++] = *p;
    }
    while (flen < 9) {
        frac[flen++] = '0';
    }
    nsec = sk_ruby_to_i(frac, flen, &big);
    while (nsec > 999999999) {
        nsec /= 10;
    }
    t->nsec = nsec < 0 ? 0 : (uint32_t)nsec;
}

int sk_parser_time_parse(int time_type, struct sk_timefmt *tf, const char *s, size_t len,
                         struct sk_time *t)
{
    bool big;

    switch (time_type) {
    case SK_TIME_TYPE_UNIXTIME:
        t->sec = sk_ruby_to_i(s, len, &big);
        t->nsec = 0;
        return 0;
    case SK_TIME_TYPE_FLOAT:
        float_time_text(s, len, t);
        return 0;
    default:
        return sk_timefmt_parse_prefix(tf, s, len, t, NULL);
    }
}

int sk_parser_time_parse_object(int time_type, struct sk_timefmt *tf, const msgpack_object *o,
                                struct sk_time *t)
{
    char text[64];
    size_t n;

    if (o->type == MSGPACK_OBJECT_STR) {
        return sk_parser_time_parse(time_type, tf, o->via.str.ptr, o->via.str.size, t);
    }
    if (time_type == SK_TIME_TYPE_STRING) {
        return SK_EPARSE; /* "value must be string" */
    }
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        t->sec = o->via.u64 > INT64_MAX ? INT64_MAX : (int64_t)o->via.u64;
        t->nsec = 0;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        t->sec = o->via.i64;
        t->nsec = 0;
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64)) {
            return SK_EPARSE; /* Float#to_i raises FloatDomainError */
        }
        if (time_type == SK_TIME_TYPE_UNIXTIME) {
            t->sec = fabs(o->via.f64) < 9.2e18 ? (int64_t)o->via.f64 : 0;
            t->nsec = 0;
            return 0;
        }
        n = sk_ruby_float_to_s(o->via.f64, text, sizeof(text));
        float_time_text(text, n, t);
        return 0;
    default:
        return SK_EPARSE; /* "value must be a string or a number" */
    }
}

int sk_parser_time_text(struct sk_parser_core *pc, const char *s, size_t len, struct sk_time *t)
{
    return sk_parser_time_parse(pc->time_type, pc->timefmt, s, len, t);
}

int sk_parser_time_object(struct sk_parser_core *pc, const msgpack_object *o, struct sk_time *t)
{
    return sk_parser_time_parse_object(pc->time_type, pc->timefmt, o, t);
}
