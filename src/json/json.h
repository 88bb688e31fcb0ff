#ifndef SK_JSON_JSON_H
#define SK_JSON_JSON_H

#include <stddef.h>

#include <msgpack.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * JSON in and out, with msgpack as the only in-memory form.
 *
 * Writing walks msgpack bytes directly (no tree, no zone, no malloc per
 * value) and appends compact JSON to a bounded buffer: this is the hot path
 * of the Elasticsearch output. Output is always valid UTF-8 JSON: invalid
 * UTF-8 in strings becomes U+FFFD, control characters are escaped, binary
 * (bin) values are written as strings the same way, ext values other than
 * EventTime become null, float NaN/Inf become null, map keys that are not
 * strings are written as their JSON text in a string.
 *
 * Reading converts JSON text to msgpack (objects -> maps, arrays, strings,
 * integers that fit int64/uint64, other numbers -> float64, true/false/null),
 * so responses and JSON log lines are walked with the same msgpack tools.
 */

/* Appends one msgpack value starting at mp[0] as JSON; *used = its byte
 * length. SK_EPARSE for truncated or invalid msgpack, SK_ETOOBIG when the
 * buffer's maximum is reached (the buffer then holds a partial value: the
 * caller truncates back to its own mark). Nesting deeper than
 * SK_JSON_MAX_DEPTH is SK_EPARSE. */
int sk_json_write_msgpack(struct sk_buf *out, const char *mp, size_t len, size_t *used) SK_WUR;

/* Appends a msgpack object (from an unpacked tree) as JSON. */
int sk_json_write_object(struct sk_buf *out, const msgpack_object *o) SK_WUR;

/* Appends s as a quoted, escaped JSON string (same UTF-8 rules). */
int sk_json_write_string(struct sk_buf *out, const char *s, size_t len) SK_WUR;

/* Converts one JSON value (surrounding whitespace allowed, nothing else
 * after it) to msgpack through `pk`. SK_EPARSE on invalid JSON; invalid
 * escapes are errors, a lone surrogate escape becomes U+FFFD, raw invalid
 * UTF-8 bytes are copied as they are (the writer repairs them later). */
int sk_json_to_msgpack(const char *text, size_t len, msgpack_packer *pk) SK_WUR;

/* sk_json_to_msgpack with its own nesting limit (containers, root = 1).
 * Records that msgpack-c must unpack again later (sk_event_iter, chunk
 * readers) need max_depth <= SK_JSON_UNPACK_MAX_DEPTH minus the levels the
 * caller wraps around them. Errors from pk's write callback come back as
 * they are when negative (sk_buf_msgpack_write gives SK_ETOOBIG/SK_ENOMEM),
 * SK_EIO when positive. On any error pk may have received part of the
 * value (nothing when its msgpack form is under 4 KiB): roll back to a
 * mark. */
int sk_json_to_msgpack_depth(const char *text, size_t len, msgpack_packer *pk,
                             int max_depth) SK_WUR;

/*
 * Parses JSON into an unpacked msgpack tree: `scratch` receives the msgpack
 * bytes and `out` the tree, which stays valid while both live (the caller
 * owns both; msgpack_unpacked_destroy(out) and sk_buf_cleanup(scratch)).
 */
int sk_json_parse(const char *text, size_t len, struct sk_buf *scratch, msgpack_unpacked *out) SK_WUR;

#define SK_JSON_MAX_DEPTH 64

/* msgpack-c's unpacker (MSGPACK_EMBED_STACK_SIZE, fixed when libmsgpackc
 * was built) fails on more than 32 nested non-empty containers, with
 * MSGPACK_UNPACK_NOMEM_ERROR. sk_json_parse parses to this depth. */
#define SK_JSON_UNPACK_MAX_DEPTH 32

#endif
