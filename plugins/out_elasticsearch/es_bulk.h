#ifndef SK_OUT_ELASTICSEARCH_ES_BULK_H
#define SK_OUT_ELASTICSEARCH_ES_BULK_H

/*
 * Chunk -> `_bulk` body. A pure function of the chunk's bytes and the
 * settings: it walks the msgpack stream in place and writes NDJSON into one
 * bounded buffer (no JSON tree, no allocation per record once the scratch
 * buffers have grown), and records for every action which event (byte
 * range of the chunk) it came from, so that failed items become the
 * `remaining` events of a retry.
 *
 * For each event, as fluent-plugin-elasticsearch 5.x's process_message:
 *
 *   {"<op>":{"_index":"<index>"[,"_type":"<t>"][,"pipeline":"<p>"]
 *            [,"_id":<id_key value>][,"_parent":<parent_key value>]
 *            [,"<routing|_routing>":<routing_key value>]}}\n
 *   <source>\n
 *
 *   op index, create:  source = the record, edited:
 *                      + "@timestamp" (logstash_format/include_timestamp,
 *                        when absent; from time_key's value if present)
 *                      - target_index_key / target_type_key (when used)
 *                      ~ tag_key set to the tag (include_tag_key)
 *                      - remove_keys
 *   op update:         {"doc":<record - remove_keys_on_update>}
 *   op upsert:         {"doc":<record>,"doc_as_upsert":true}, or when keys
 *                      were removed {"doc":<reduced>,"upsert":<record>}
 *   suppress_doc_wrap: the (reduced) record alone.
 *
 * create/update/upsert need an _id: events without one are dropped (or
 * rejected with emit_error_for_missing_id), like Fluentd does.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out_elasticsearch/es_index.h"
#include "out_elasticsearch/es_mp.h"
#include "out_elasticsearch/es_response.h"
#include "util/buf.h"
#include "util/err.h"

struct sk_timefmt;

/* Elasticsearch refuses bodies above http.max_content_length (100mb by
 * default): no request is built bigger than this. */
#define ES_BULK_BODY_MAX (100u << 20)

/* A key as bytes (not NUL-terminated when it points into a chunk). */
struct es_key {
    const char *p;
    size_t n;
};

/* Settings, resolved once (and the dialect once the version is known).
 * Everything is borrowed for the encoder's lifetime. */
struct es_bulk_conf {
    enum es_write_op op;
    const char *type_name;    /* NULL: no _type */
    const char *routing_name; /* "routing" or "_routing" */
    const char *pipeline;     /* NULL: none (set per chunk when it has placeholders) */

    const struct es_path *id_key;      /* NULL when unset */
    const struct es_path *parent_key;
    const struct es_path *routing_key;
    const struct es_path *target_index_key;
    const struct es_path *target_type_key;

    bool include_tag_key;
    const char *tag_key;
    const struct es_key *remove_keys;
    size_t nremove_keys;
    const struct es_key *remove_keys_on_update;
    size_t nremove_keys_on_update;
    const char *remove_keys_on_update_key; /* NULL when unset */
    bool suppress_doc_wrap;
    bool emit_error_for_missing_id;

    bool add_timestamp;  /* logstash_format || include_timestamp */
    const char *time_key; /* NULL when unset */
    bool time_key_exclude_timestamp;
    int time_precision;
    struct sk_timefmt *time_key_format; /* NULL: parse like DateTime.parse */
    bool time_key_format_has_zone;      /* the format has %z */
};

/* One action of a request and the event it came from. */
struct es_action {
    size_t ev_off; /* offset of the event in the chunk */
    size_t ev_len;
};

/* A request under construction. */
struct es_bulk_req {
    struct sk_buf body;          /* NDJSON */
    struct es_action *actions;   /* owned */
    size_t nactions;
    size_t cap;
    size_t first_off;            /* chunk offset where this request starts */
    size_t end_off;              /* chunk offset after its last event */
};

void es_bulk_req_init(struct es_bulk_req *r);
void es_bulk_req_reset(struct es_bulk_req *r);
void es_bulk_req_cleanup(struct es_bulk_req *r);

/* What the encoder reports about single events while encoding. */
enum es_bulk_note {
    ES_NOTE_REJECT, /* can never be indexed: goes to @ERROR (reason given) */
    ES_NOTE_DROP,   /* missing _id for create/update/upsert: dropped as Fluentd does */
    ES_NOTE_TIME,   /* time field unreadable: the event time was used instead */
};

typedef void (*es_bulk_note_cb)(void *arg, enum es_bulk_note note, const char *ev, size_t ev_len,
                                const char *reason);

struct es_bulk {
    const struct es_bulk_conf *conf; /* borrowed */
    struct es_index *index;          /* borrowed */
    /* Per chunk. */
    const char *tag;                 /* borrowed; NULL: none */
    struct sk_buf tag_json;          /* the tag as a JSON string */
    /* Scratch, reused for every event. */
    struct es_key *skip;
    size_t nskip;
    size_t skip_cap;
    const struct es_path *nested[2];
    size_t nnested;
    struct sk_buf append;            /* ,"@timestamp":"...","tag":"..." */
    struct sk_buf tmp;
    struct sk_buf target_index;      /* target_index_key's value, lower-cased */
};

/* Prepares an encoder. No allocation. */
void es_bulk_init(struct es_bulk *b, const struct es_bulk_conf *conf, struct es_index *index);
void es_bulk_cleanup(struct es_bulk *b);

/* Starts a chunk (tag may be NULL). SK_ENOMEM. */
int es_bulk_begin_chunk(struct es_bulk *b, const char *tag) SK_WUR;

/*
 * Appends events of data[*off..len) to `req` until the body would pass
 * `limit` bytes (the first event is always taken, however big, up to
 * ES_BULK_BODY_MAX) or the data ends; advances *off past every event
 * consumed, including those reported through `cb` instead of encoded.
 * Entries that are msgpack but not [time, map] events are reported as
 * rejected and skipped (Fluentd skips them silently). Returns 0; SK_EPARSE
 * when the bytes at *off are not msgpack (*off stays there: the rest of the
 * chunk cannot be delimited); SK_ENOMEM.
 */
int es_bulk_encode(struct es_bulk *b, const char *data, size_t len, size_t *off, size_t limit,
                   struct es_bulk_req *req, es_bulk_note_cb cb, void *arg) SK_WUR;

#endif
