#ifndef SK_EVENT_EVENT_H
#define SK_EVENT_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * Events travel as Fluentd's chunk format: a msgpack stream of
 * [time, record] pairs, with time a Fluent EventTime and record a map.
 *
 *   +------+-------------------------------+------------------+
 *   | 0x92 | d7 00 SSSSSSSS NNNNNNNN       | map {k: v, ...}  |  one event
 *   +------+-------------------------------+------------------+
 *    array(2)  fixext8 type 0: sec, nsec BE   record
 *
 * Inputs build such a stream in an sk_evbuf, the router hands the bytes
 * to filters and outputs, the buffer appends them to chunks unchanged.
 */
struct sk_time {
    int64_t sec;
    uint32_t nsec;
};

/* Current wall-clock time. */
struct sk_time sk_time_now(void);

/* A batch of events under construction (owned storage) or borrowed bytes. */
struct sk_evbuf {
    struct sk_buf buf;
    msgpack_packer pk; /* writes into buf */
    size_t count;      /* complete events in buf */
};

/* Prepares an empty batch that may hold up to `max` bytes. */
void sk_evbuf_init(struct sk_evbuf *eb, size_t max);
void sk_evbuf_cleanup(struct sk_evbuf *eb);
void sk_evbuf_reset(struct sk_evbuf *eb);

/*
 * Starts one event: packs array(2) and the EventTime. The caller then packs
 * exactly one map (the record) with eb->pk and calls sk_evbuf_commit. On
 * any error, sk_evbuf_rollback(eb, mark) removes the partial event; `mark`
 * is eb->buf.len taken before sk_evbuf_begin.
 */
int sk_evbuf_begin(struct sk_evbuf *eb, struct sk_time t) SK_WUR;
void sk_evbuf_commit(struct sk_evbuf *eb);
void sk_evbuf_rollback(struct sk_evbuf *eb, size_t mark);

/*
 * A map whose size is only known at the end (json parser, filters):
 * sk_evbuf_map_open packs a map32 header with a placeholder and returns
 * its offset; sk_evbuf_map_close patches the count in.
 */
int sk_evbuf_map_open(struct sk_evbuf *eb, size_t *offset) SK_WUR;
void sk_evbuf_map_close(struct sk_evbuf *eb, size_t offset, uint32_t count);

/*
 * Adds key = value (strings) to the record of the event that starts at
 * `mark` and ends the buffer (one just appended by a parser), fixing the
 * map's count; the header grows in place when it must. 0 or SK_E*.
 */
int sk_evbuf_add_field(struct sk_evbuf *eb, size_t mark, const char *key, size_t klen,
                       const char *val, size_t vlen) SK_WUR;

/* Packs a str key and a str value (both with explicit lengths). */
int sk_pack_kv_str(msgpack_packer *pk, const char *k, size_t klen, const char *v, size_t vlen) SK_WUR;
int sk_pack_str(msgpack_packer *pk, const char *s, size_t len) SK_WUR;
int sk_pack_time(msgpack_packer *pk, struct sk_time t) SK_WUR;

/* A read-only view of a stream of events. */
struct sk_events {
    const char *tag; /* borrowed */
    const char *data; /* borrowed */
    size_t len;
    size_t count;
};

/*
 * Walks a stream one event at a time without a zone: each call decodes the
 * next [time, record] pair into `time` and `record` (a msgpack object that
 * lives in `zone` until the next call or sk_event_iter_cleanup).
 * Returns 1 for an event, 0 at the end, SK_EPARSE for bytes that are not a
 * valid event (the iterator then stops; `offset` says where).
 */
struct sk_event_iter {
    const char *data;
    size_t len;
    size_t offset;
    msgpack_unpacked result;
};

void sk_event_iter_init(struct sk_event_iter *it, const char *data, size_t len);
int sk_event_iter_next(struct sk_event_iter *it, struct sk_time *time,
                       const msgpack_object **record) SK_WUR;
void sk_event_iter_cleanup(struct sk_event_iter *it);

/* Decodes an EventTime ext, an int, or a float into *t. SK_EPARSE otherwise. */
int sk_time_from_object(const msgpack_object *o, struct sk_time *t) SK_WUR;

/*
 * Length in bytes of the one msgpack value at p[0..len), without decoding
 * it into objects: 0 when it is truncated or invalid. Nested containers
 * are walked iteratively (no recursion, no depth limit needed).
 */
size_t sk_mp_skip(const char *p, size_t len);

/* Reads the time of the event at p[0..len) (an [EventTime|int, map] pair)
 * without unpacking it. SK_EPARSE when it is not an event. */
int sk_event_peek_time(const char *p, size_t len, struct sk_time *t) SK_WUR;

/* Looks a str key up in a map object; NULL when absent. */
const msgpack_object *sk_map_get(const msgpack_object *map, const char *key, size_t klen);

#endif
