#ifndef SK_OUT_ELASTICSEARCH_ES_INDEX_H
#define SK_OUT_ELASTICSEARCH_ES_INDEX_H

/*
 * Where documents go: index names as fluent-plugin-elasticsearch 5.x
 * computes them.
 *
 *   logstash_format true:   <logstash_prefix><separator><strftime(logstash_dateformat)>
 *                           the date from the record's @timestamp / time_key
 *                           value or the event time, in UTC (utc_index true)
 *                           or in that time's own offset (utc_index false)
 *   logstash_format false:  index_name
 *   then lower-cased (Elasticsearch forbids upper case).
 *
 * Placeholders, expanded once per chunk (Fluentd's extract_placeholders),
 * in index_name, logstash_prefix, logstash_dateformat, pipeline, type_name:
 *   ${tag}             the chunk's tag
 *   ${tag[N]}          the Nth dot-separated part; negative N from the end
 *   ${key}             a chunk key's value (<buffer tag, key>)
 *   ${chunk_id}        the chunk id (hex)
 *   %Y %m %d ...       strftime of the chunk's timekey (UTC) when `time`
 *                      is a chunk key. Without one, index_name's directives
 *                      are applied to each event's time instead (Fluentd
 *                      would leave them literally in the name, which no
 *                      one wants); that is the one deliberate difference.
 * Unknown placeholders stay as written (and a warning is reported).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "param/param.h"
#include "util/buf.h"
#include "util/err.h"

#define ES_INDEX_NAME_MAX 1024

struct es_tmpl; /* a compiled template */

/* What a template is expanded with. */
struct es_tmpl_ctx {
    const char *tag;            /* NULL: no tag chunk key */
    int64_t timekey;            /* -1: no time chunk key */
    const struct sk_kvv *vars;  /* other chunk keys, or NULL */
    const char *chunk_id;       /* hex, or NULL */
    char warning[160];          /* out: the first problem met, "" if none */
};

/* Compiles `text`. Returns 0, SK_EINVAL (an unterminated "${"), SK_ENOMEM. */
int es_tmpl_compile(const char *text, struct es_tmpl **out) SK_WUR;
void es_tmpl_free(struct es_tmpl *t);

/* True when the template has placeholders or strftime directives. */
bool es_tmpl_is_dynamic(const struct es_tmpl *t);

/* Appends the expansion to `out`. SK_ETOOBIG / SK_ENOMEM from `out`,
 * SK_EINVAL for a strftime directive the formatter rejects. */
int es_tmpl_expand(const struct es_tmpl *t, struct es_tmpl_ctx *ctx, struct sk_buf *out) SK_WUR;

/* --- index names -------------------------------------------------------------- */

struct es_index_conf {
    bool logstash_format;
    const char *logstash_prefix;           /* borrowed */
    const char *logstash_prefix_separator; /* borrowed */
    const char *logstash_dateformat;       /* borrowed */
    const char *index_name;                /* borrowed */
    bool utc_index;
};

struct es_index {
    bool logstash_format;
    bool utc_index;
    char *separator;              /* owned */
    struct es_tmpl *prefix;       /* owned */
    struct es_tmpl *dateformat;   /* owned */
    struct es_tmpl *index_name;   /* owned */
    /* Per chunk (es_index_begin_chunk). */
    struct sk_buf head;           /* logstash: "<prefix><sep>"; else the index name */
    struct sk_buf fmt;            /* logstash: the date format; else "" */
    bool per_event;               /* the name depends on each event's time */
    /* One-entry cache: events in a burst share their second. */
    int64_t cache_sec;
    bool cache_valid;
    char cache[ES_INDEX_NAME_MAX];
    size_t cache_len;
};

/* Compiles the templates. Returns 0, SK_EINVAL (err says which), SK_ENOMEM. */
int es_index_init(struct es_index *ix, const struct es_index_conf *c, char *err,
                  size_t err_size) SK_WUR;
void es_index_cleanup(struct es_index *ix);

/* Expands the templates for one chunk. ctx->warning reports leftovers. */
int es_index_begin_chunk(struct es_index *ix, struct es_tmpl_ctx *ctx) SK_WUR;

/*
 * The index for an event whose time is `tv_sec` with UTC offset
 * `offset_sec` (ignored with utc_index true). *name stays valid until the
 * next call. Returns 0, SK_ETOOBIG (longer than ES_INDEX_NAME_MAX),
 * SK_EINVAL (strftime failed).
 */
int es_index_name(struct es_index *ix, int64_t tv_sec, int offset_sec, const char **name,
                  size_t *len) SK_WUR;

#endif
