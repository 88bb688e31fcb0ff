#ifndef SK_TEST_RECORD_RENDER_H
#define SK_TEST_RECORD_RENDER_H

/*
 * Parser tests: render decoded events as short text, so expectations read
 * as "remote=1.2.3.4|code=i:200|size=nil". Strings are written raw, other
 * types with a tag: i: integer, f: float, b: bool, t: EventTime sec.nsec,
 * [a,b] arrays, {k=v} maps, nil. Include after testutil.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "event/event.h"

struct rr_out {
    char *p;
    size_t len;
    size_t size;
};

static inline void rr_put(struct rr_out *o, const char *s, size_t n)
{
    if (o->len + n + 1 < o->size) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
        o->p[o->len] = '\0';
    }
}

static inline void rr_fmt(struct rr_out *o, const char *fmt, ...) SK_PRINTF(2, 3);

static inline void rr_fmt(struct rr_out *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    rr_put(o, tmp, n > 0 ? (size_t)n : 0);
}

static inline void rr_object(struct rr_out *o, const msgpack_object *v)
{
    struct sk_time t;

    switch (v->type) {
    case MSGPACK_OBJECT_NIL: rr_put(o, "nil", 3); break;
    case MSGPACK_OBJECT_BOOLEAN: rr_fmt(o, "b:%s", v->via.boolean ? "true" : "false"); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: rr_fmt(o, "i:%" PRIu64, v->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: rr_fmt(o, "i:%" PRId64, v->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: rr_fmt(o, "f:%.17g", v->via.f64); break;
    case MSGPACK_OBJECT_STR: rr_put(o, v->via.str.ptr, v->via.str.size); break;
    case MSGPACK_OBJECT_EXT:
        if (sk_time_from_object(v, &t) == 0) {
            rr_fmt(o, "t:%" PRId64 ".%09u", t.sec, t.nsec);
        } else {
            rr_put(o, "ext", 3);
        }
        break;
    case MSGPACK_OBJECT_ARRAY:
        rr_put(o, "[", 1);
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            if (i > 0) {
                rr_put(o, ",", 1);
            }
            rr_object(o, &v->via.array.ptr[i]);
        }
        rr_put(o, "]", 1);
        break;
    case MSGPACK_OBJECT_MAP:
        rr_put(o, "{", 1);
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            if (i > 0) {
                rr_put(o, "|", 1);
            }
            rr_object(o, &v->via.map.ptr[i].key);
            rr_put(o, "=", 1);
            rr_object(o, &v->via.map.ptr[i].val);
        }
        rr_put(o, "}", 1);
        break;
    default: rr_put(o, "?", 1); break;
    }
}

/* Renders event `index` of the stream into out as "{k=v|k=v}" and its
 * time into *t; fails the test when there is no such event. */
static inline void rr_event(const char *data, size_t len, size_t index, struct sk_time *t, char *out,
                     size_t size)
{
    struct sk_event_iter it;
    const msgpack_object *rec = NULL;
    struct rr_out o = {out, 0, size};
    int rc = 0;

    out[0] = '\0';
    sk_event_iter_init(&it, data, len);
    for (size_t i = 0; i <= index; i++) {
        rc = sk_event_iter_next(&it, t, &rec);
        assert_int_equal(rc, 1);
    }
    rr_object(&o, rec);
    sk_event_iter_cleanup(&it);
}

/* Number of events in a stream (fails on bytes that are not events). */
static inline size_t rr_count(const char *data, size_t len)
{
    struct sk_event_iter it;
    const msgpack_object *rec;
    struct sk_time t;
    size_t n = 0;
    int rc;

    sk_event_iter_init(&it, data, len);
    for (;;) {
        rc = sk_event_iter_next(&it, &t, &rec);
        if (rc != 1) {
            break;
        }
        n++;
    }
    assert_int_equal(rc, 0);
    sk_event_iter_cleanup(&it);
    return n;
}

#endif
