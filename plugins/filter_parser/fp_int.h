#ifndef SK_FILTER_PARSER_FP_INT_H
#define SK_FILTER_PARSER_FP_INT_H

/*
 * filter parser internals: the conf, and the record Fluentd's
 * ParserFilter#handle_parsed builds from the incoming record and the
 * parsed values:
 *
 *   values = inject_key_prefix ? values with prefixed keys : values
 *   r      = hash_value_field ? {hash_value_field => values} : values
 *   r      = record.merge(r)          with reserve_data (record without
 *                                     key_name when remove_key_name_field
 *                                     and parsing succeeded)
 */
#include <stdbool.h>

#include <msgpack.h>

#include "filter_common/fc_accessor.h"
#include "plugin/plugin.h"

struct fp_conf {
    char *key_name;
    bool reserve_data;
    bool reserve_time;
    bool remove_key_name_field;
    char *inject_key_prefix;
    bool replace_invalid_sequence;
    char *hash_value_field;
    bool emit_invalid_record_to_error;
};

/* One key/value of the record being built. */
struct fp_entry {
    const msgpack_object *kobj; /* a record or parsed key, or NULL for hash_value_field */
    bool prefixed;              /* kobj gets inject_key_prefix */
    const msgpack_object *vobj; /* NULL: the hash_value_field map of the parsed values */
    bool prune;                 /* a nested key_name is deleted from vobj when packed */
    bool removed;
};

struct fp_build {
    const struct fp_conf *conf;
    const struct fc_accessor *key; /* key_name */
    const msgpack_object *record;  /* the incoming record */
    const msgpack_object *values;  /* parsed map, or NULL for {} */
    bool remove_key;               /* remove_key_name_field applies (success) */
    struct fp_entry *entries;      /* caller's storage, reused */
    size_t n;
    size_t cap;
};

/*
 * Appends the event (t, handle_parsed(...)) to out. Returns 0, or
 * SK_ENOMEM / SK_ETOOBIG with nothing appended.
 */
int fp_emit(struct fp_build *b, struct sk_time t, struct sk_evbuf *out) SK_WUR;

#endif
