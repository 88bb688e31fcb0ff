#ifndef SK_OUT_ELASTICSEARCH_ES_MP_H
#define SK_OUT_ELASTICSEARCH_ES_MP_H

/*
 * A zero-allocation msgpack reader for the Elasticsearch output's hot path:
 * it walks the chunk's bytes in place (no zone, no object tree), so turning
 * a chunk into NDJSON costs no malloc per record. Also the record-accessor
 * paths used by id_key, routing_key, target_index_key ("$.a.b",
 * "$['a']['b']", "a.b", "$.list[0]").
 *
 * Every reader checks bounds: truncated or malformed input is SK_EPARSE,
 * never a read past `end`.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "util/err.h"

enum es_mp_type {
    ES_MP_NIL,
    ES_MP_BOOL,
    ES_MP_UINT,
    ES_MP_INT, /* negative only */
    ES_MP_FLOAT,
    ES_MP_STR,
    ES_MP_BIN,
    ES_MP_ARRAY,
    ES_MP_MAP,
    ES_MP_EXT,
};

/* One value's header. For STR/BIN/EXT `ptr`/`len` is the payload; for
 * ARRAY/MAP `n` is the element (pair) count and the elements follow. */
struct es_mp_val {
    enum es_mp_type type;
    bool b;
    uint64_t u;
    int64_t i;
    double f;
    const char *ptr; /* borrowed from the input */
    uint32_t len;
    uint32_t n;
    int8_t ext_type;
};

/* A read position inside borrowed bytes. */
struct es_mp_cur {
    const char *p;
    const char *end;
};

static inline void es_mp_cur_init(struct es_mp_cur *c, const char *p, size_t len)
{
    c->p = p;
    c->end = p + len;
}

/* Reads one header (the whole value for scalars/str/bin/ext) and advances
 * past it. SK_EPARSE for truncated input or the never-used byte 0xc1. */
int es_mp_read(struct es_mp_cur *c, struct es_mp_val *v) SK_WUR;

/* Advances past one complete value (containers included, iteratively, no
 * recursion). SK_EPARSE as above. */
int es_mp_skip(struct es_mp_cur *c) SK_WUR;

/*
 * One event of a chunk: the raw span of the whole [time, record] pair, its
 * time, and the raw span of the record map (which starts with its header).
 */
struct es_mp_event {
    const char *start; /* the 0x92 byte */
    size_t len;        /* the whole event */
    struct sk_time time;
    const char *record; /* the map header */
    size_t record_len;
    uint32_t npairs;
};

/* Reads the next event at c. Returns 1 for an event, 0 at the end of input,
 * 2 for a well-formed msgpack value that is not a [time, map] event (c is
 * advanced past it; ev->start/len span it: Fluentd skips such entries),
 * SK_EPARSE for bytes that are not msgpack at all (c is then unchanged). */
int es_mp_next_event(struct es_mp_cur *c, struct es_mp_event *ev) SK_WUR;

/* The start of a [time, map] event at c without walking its record: 1 with
 * ev->start, time, record and npairs set (len and record_len unknown, 0);
 * 0 at the end of input; -1 for anything else (then use es_mp_next_event).
 * c is not advanced. */
int es_mp_event_head(const struct es_mp_cur *c, struct es_mp_event *ev) SK_WUR;

/* Decodes a time value (EventTime ext 0, msgpack timestamp ext -1, integer,
 * float) into t. SK_EPARSE for anything else. */
int es_mp_time(const struct es_mp_val *v, struct sk_time *t) SK_WUR;

/* Finds `key` among the pairs of the map whose header starts at `map`.
 * On success *val points at the value's first byte and *val_len is its
 * length. Returns 1 found, 0 absent (or not a map), SK_EPARSE. */
int es_mp_map_find(const char *map, size_t map_len, const char *key, size_t klen,
                   const char **val, size_t *val_len) SK_WUR;

/* --- Record accessor paths ----------------------------------------------- */

#define ES_PATH_MAX_SEGS 16

struct es_path_seg {
    char *key;     /* owned; NULL for an array index */
    size_t klen;
    uint32_t index;
};

struct es_path {
    struct es_path_seg seg[ES_PATH_MAX_SEGS];
    size_t n;
};

/*
 * Parses a Fluentd record_accessor text: "key" (top level, dots included
 * when `split_dots` is false), "$.a.b", "$['a']['b']", "$.a[0]". With
 * `split_dots` a plain "a.b" means $.a.b, as id_key/routing_key/
 * target_index_key do. Returns 0, SK_EINVAL (syntax, or deeper than
 * ES_PATH_MAX_SEGS), SK_ENOMEM. es_path_free accepts a zeroed path.
 */
int es_path_parse(const char *text, bool split_dots, struct es_path *out) SK_WUR;
void es_path_free(struct es_path *p);

/* Resolves `p` in the map (or array) at `obj`: 1 found (*val, *val_len),
 * 0 absent, SK_EPARSE. */
int es_path_lookup(const struct es_path *p, const char *obj, size_t obj_len, const char **val,
                   size_t *val_len) SK_WUR;

/* True when the value at `v` (len bytes) is nil or false: Ruby's "falsy". */
bool es_mp_is_falsy(const char *v, size_t len);

#endif
