#ifndef SK_FILTER_ELASTICSEARCH_GENID_GENID_SEED_H
#define SK_FILTER_ELASTICSEARCH_GENID_GENID_SEED_H

/*
 * The seed fluent-plugin-elasticsearch's elasticsearch_genid filter hashes,
 * byte for byte, so that skiff and td-agent compute the same _id for the
 * same record (a migration can re-ship without duplicates):
 *
 *   [tag + separator]             include_tag_in_seed
 *   [time.to_s + separator]       include_time_in_seed (whole seconds)
 *   use_entire_record:  "|k|v.to_s" for every pair, in record order
 *   otherwise:          record_keys.map { |k| record[k] }.join(separator)
 *
 * with Ruby's conversions: nil -> "", strings as their bytes, integers in
 * decimal, floats as Float#to_s ("1.0", "1.0e+16"), true/false, arrays
 * inside join flattened with the separator, arrays and hashes elsewhere as
 * #inspect ("[1, \"a\"]", "{\"k\"=>1}", Ruby 2.7-3.3 style).
 */
#include <stdbool.h>

#include <msgpack.h>

#include "event/event.h"
#include "param/param.h"
#include "util/buf.h"
#include "util/err.h"

struct genid_seed_opts {
    bool include_tag;
    bool include_time;
    bool use_entire_record;
    const struct sk_strv *record_keys; /* borrowed */
    const char *separator;             /* borrowed */
};

/* Appends the seed for one event. SK_ETOOBIG / SK_ENOMEM from `out`. */
int genid_seed(struct sk_buf *out, const struct genid_seed_opts *o, const char *tag,
               struct sk_time t, const msgpack_object *record) SK_WUR;

/* Ruby's value.to_s and value.inspect for a msgpack value. */
int genid_ruby_to_s(struct sk_buf *out, const msgpack_object *o) SK_WUR;
int genid_ruby_inspect(struct sk_buf *out, const msgpack_object *o) SK_WUR;

#endif
