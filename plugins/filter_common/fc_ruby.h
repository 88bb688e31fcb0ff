#ifndef SK_FILTER_COMMON_FC_RUBY_H
#define SK_FILTER_COMMON_FC_RUBY_H

/*
 * How Fluentd's filters see record values: Ruby's `to_s` (what grep
 * matches against and what "a${x}b" interpolates) and `inspect` (what
 * to_s gives for arrays and hashes), for msgpack values:
 *
 *   nil      ""        / nil          true/false  "true" / "false"
 *   1, -2    "1", "-2"                1.5, 1e20   "1.5", "1.0e+20"
 *   "a\"b"   a"b       / "a\"b"       [1, nil]    "[1, nil]"
 *   {"k"=>1} "{\"k\"=>1}" (Ruby 2.7 to 3.3, as td-agent 4 and fluent-package 5 ship)
 *
 * Strings are UTF-8 text: inspect keeps printable characters, escapes
 * control characters as \uXXXX and invalid bytes as \xNN; bin values show
 * every non-ASCII byte as \xNN, as Ruby's ASCII-8BIT strings do.
 */
#include <msgpack.h>

#include "util/buf.h"
#include "util/err.h"

/* Appends o.to_s. SK_ETOOBIG / SK_ENOMEM from `out`. */
int fc_ruby_to_s(struct sk_buf *out, const msgpack_object *o) SK_WUR;

/* Appends o.inspect. SK_ETOOBIG / SK_ENOMEM from `out`. */
int fc_ruby_inspect(struct sk_buf *out, const msgpack_object *o) SK_WUR;

/*
 * The bytes of a str or bin value, or NULL for any other type: callers
 * that only need a string's text use it without copying.
 */
const char *fc_ruby_str(const msgpack_object *o, size_t *len);

#endif
