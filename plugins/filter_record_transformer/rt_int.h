#ifndef SK_FILTER_RECORD_TRANSFORMER_RT_INT_H
#define SK_FILTER_RECORD_TRANSFORMER_RT_INT_H

/*
 * record_transformer internals. Every <record> value is compiled once into
 * a template; each event then expands it (rt_expand.c) the way Fluentd's
 * PlaceholderExpander does:
 *
 *   "${tag}"                 the tag            "${hostname}"  Socket.gethostname
 *   "${tag_parts[N]}"        tag.split('.')[N], N also negative (-1: the last)
 *   "${tag_prefix[N]}"       parts 0..N joined  "${tag_suffix[N]}"  parts N.. joined
 *   "${time}"                Time.at(time).to_s, "2018-07-21 10:00:00 +0000"
 *   "${record[\"key\"]}"     a top-level value of the incoming record
 *   "${key}"                 v0.12 shorthand for ${record["key"]} (skiff extension)
 *   "__NAME__" or another ${...}   unknown: nil (Fluentd warns)
 *
 * A string that is exactly one placeholder keeps the value's type when
 * auto_typecast is on (the default); otherwise placeholders are replaced
 * by value.to_s. Keys are always strings. Values starting with '{' or '['
 * are JSON whose strings are templates too.
 *
 * With enable_ruby the text between ${ and } is Ruby: the same names are
 * evaluated natively (plus record['k'] and record["a"]["b"]); anything
 * else is a configuration error, and the literal text is read as Ruby's
 * %Q[...] (backslash escapes).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "filter_common/fc_accessor.h"
#include "filter_common/fc_errors.h"
#include "log/log.h"
#include "plugin/plugin.h"

enum rt_seg_kind {
    RT_SEG_TEXT,
    RT_SEG_TAG,
    RT_SEG_TAG_PARTS,
    RT_SEG_TAG_PREFIX,
    RT_SEG_TAG_SUFFIX,
    RT_SEG_HOSTNAME,
    RT_SEG_TIME,
    RT_SEG_RECORD,
    RT_SEG_UNKNOWN,
};

struct rt_key {
    char *name; /* owned */
    size_t len;
};

struct rt_seg {
    enum rt_seg_kind kind;
    char *text;          /* owned: literal bytes, or the placeholder as written */
    size_t len;
    int64_t index;       /* RT_SEG_TAG_PARTS/PREFIX/SUFFIX */
    struct rt_key *keys; /* owned: RT_SEG_RECORD, record[k0][k1]... */
    size_t nkeys;
};

/* One string template: segments in order. `typed`: a lone placeholder
 * whose value keeps its type. `ruby`: from enable_ruby (no unknown-
 * placeholder warnings, Ruby's errors for chains through nil). */
struct rt_str {
    struct rt_seg *segs; /* owned */
    size_t n;
    bool typed;
    bool ruby;
};

enum rt_node_kind {
    RT_NODE_STR,
    RT_NODE_VALUE, /* a JSON number, true, false or null: packed bytes */
    RT_NODE_ARRAY,
    RT_NODE_MAP,
};

struct rt_node {
    enum rt_node_kind kind;
    struct rt_str str;      /* RT_NODE_STR */
    char *mp;               /* owned: RT_NODE_VALUE */
    size_t mplen;
    struct rt_node *items;  /* owned: array items or map values */
    struct rt_str *keys;    /* owned: map keys */
    size_t n;
};

/* One <record> entry. */
struct rt_field {
    char *name; /* owned: the key as written (a later duplicate replaces the value) */
    struct rt_str key;
    struct rt_node value;
};

struct rt_compile_opts {
    bool auto_typecast;
    bool enable_ruby;
    const char *file; /* where the value was written, for messages */
    int line;
    const char *where;
};

/*
 * Compiles the <record> value `text` (JSON when it starts with '{' or
 * '['). Problems go to d (the enable_ruby error, warnings for unknown
 * placeholders, JSON that falls back to a string); returns 0, SK_ECONFIG
 * or SK_ENOMEM. The node is safe to free either way.
 */
int rt_compile_value(struct rt_node *node, const char *text, const struct rt_compile_opts *o,
                     struct sk_diag *d) SK_WUR;

/* Compiles a key (always a string). As rt_compile_value. */
int rt_compile_key(struct rt_str *s, const char *text, const struct rt_compile_opts *o,
                   struct sk_diag *d) SK_WUR;

void rt_node_free(struct rt_node *node);
void rt_str_free(struct rt_str *s);

struct rt_conf {
    struct sk_strv remove_keys;
    struct sk_strv keep_keys;
    bool renew_record;
    char *renew_time_key;
    bool enable_ruby;
    bool auto_typecast;
};

/* A tag split for one batch: part i is tag[start[i], end[i]). */
#define RT_TAG_PARTS_MAX 128

struct rt_tag {
    const char *tag;
    size_t start[RT_TAG_PARTS_MAX];
    size_t end[RT_TAG_PARTS_MAX];
    size_t n;
};

/* One entry of the record under construction. The key is a record key
 * object, borrowed bytes, or bytes in rt_ctx.scratch; the value a record
 * object or packed bytes in rt_ctx.scratch. */
struct rt_entry {
    const msgpack_object *kobj;
    const char *kptr;
    size_t koff;
    size_t klen;
    const msgpack_object *vobj;
    size_t voff;
    size_t vlen;
    bool removed;
};

struct rt_ctx {
    struct rt_field *fields; /* owned, <record> entries in order */
    size_t nfields;
    struct fc_accessor *removers; /* owned, remove_keys */
    size_t nremovers;
    char hostname[256];
    struct rt_entry *entries; /* owned, reused per event */
    size_t nentries;
    size_t cap;
    struct sk_buf scratch;   /* expanded keys and packed values, per event */
    msgpack_packer spk;      /* writes into scratch */
    struct sk_buf text;      /* one string being expanded */
    struct sk_buf tmp;       /* a value being re-read */
    struct sk_buf keys;      /* expanded keys of nested maps, as a stack */
    int64_t time_sec;        /* ${time} cache */
    char time_str[48];
    size_t time_len;
    struct sk_log_limit warn;
    struct fc_errors errors; /* events for the error stream, per batch */
};

/*
 * Builds the transformed event for (t, record) into out (begin, map,
 * commit). Returns 0; 1 when Ruby would have raised for this record (out
 * untouched; *why says why, for the error stream); SK_ENOMEM/SK_ETOOBIG.
 */
int rt_transform(struct sk_instance *ins, const struct rt_tag *tag, struct sk_time t,
                 const msgpack_object *record, struct sk_evbuf *out, const char **why) SK_WUR;

/* Splits a tag as Ruby's tag.split('.') (trailing empty parts dropped). */
void rt_tag_split(struct rt_tag *rt, const char *tag);

#endif
