#ifndef SK_FILTER_COMMON_FC_ACCESSOR_H
#define SK_FILTER_COMMON_FC_ACCESSOR_H

/*
 * Fluentd's record accessor (plugin_helper/record_accessor.rb), which
 * grep's keys, parser's key_name and record_transformer's remove_keys use:
 *
 *   message             the top-level key "message"
 *   $.a.b               record["a"]["b"]           (dot notation)
 *   $.a[0].b            record["a"][0]["b"]
 *   $['a']["b c"][1]    record["a"]["b c"][1]      (bracket notation)
 *
 * Reading is Ruby's Hash#dig: a missing key or a nil on the way gives nil;
 * stepping into a string, number or boolean, or indexing an array with a
 * key (or a hash with an index, which finds nothing) follows Ruby: the
 * first raises TypeError, which callers turn into Fluentd's reaction.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "util/err.h"

struct fc_akey {
    char *name;    /* owned; NULL for an array index */
    size_t len;
    int64_t index; /* when name is NULL */
};

struct fc_accessor {
    char *text;           /* owned: the parameter as written, for messages */
    struct fc_akey *keys; /* owned */
    size_t n;
};

/*
 * Parses `param` as Fluentd does. Returns 0; SK_ECONFIG with Fluentd's
 * message in err[0..errsize) (e.g. "'[' found but ']' not found. Invalid
 * syntax: $.a[0"); SK_ENOMEM. On failure `a` is safe to clean up.
 */
int fc_accessor_parse(struct fc_accessor *a, const char *param, char *err, size_t errsize) SK_WUR;

void fc_accessor_cleanup(struct fc_accessor *a);

/* True for a plain top-level key (no dig). */
bool fc_accessor_is_top(const struct fc_accessor *a);

/*
 * Looks the value up in `record` (a map). Returns 1 and sets *out when
 * found (the value may be nil), 0 when the dig finds nothing (Ruby: nil),
 * SK_EINVAL when Ruby would raise TypeError (a step into a scalar, or a
 * string key on an array).
 */
int fc_accessor_get(const struct fc_accessor *a, const msgpack_object *record,
                    const msgpack_object **out) SK_WUR;

/* Hash lookup with Ruby's semantics for duplicate keys: the last wins. */
const msgpack_object *fc_map_find(const msgpack_object *map, const char *key, size_t klen);

/* True when map key `key` is the accessor's key number `i` (Ruby's ==). */
bool fc_akey_matches(const struct fc_accessor *a, size_t i, const msgpack_object *key);

/*
 * Packs `o`, the value reached by the accessor's first `depth` keys (the
 * record itself for depth 0), with the accessor's target removed, as
 * Accessor#delete does: Hash#delete of the last key, Array#delete_at of
 * the last index, nothing when the path leads nowhere or Ruby would raise
 * (the accessor rescues). *removed is set when something went. Returns 0
 * or the packer's error as a negative code.
 */
int fc_accessor_pack_deleted(const struct fc_accessor *a, size_t depth, const msgpack_object *o,
                             msgpack_packer *pk, bool *removed) SK_WUR;

#endif
