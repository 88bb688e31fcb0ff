#ifndef SK_IN_FORWARD_FWD_DECODE_H
#define SK_IN_FORWARD_FWD_DECODE_H

/*
 * The Forward protocol's event messages, decoded as pure functions of
 * their bytes (no sockets, no engine): the connection code, the unit
 * tests and the fuzz target all go through here.
 *
 * A connection carries a stream of msgpack values; each is one message.
 * The type of the second element decides the mode:
 *
 *   Message        [ tag, time, record (, option) ]
 *   Forward        [ tag, [ [time, record], [time, record], ... ] (, option) ]
 *   PackedForward  [ tag, str|bin <[time, record][time, record]...> (, option) ]
 *   Compressed     PackedForward with option.compressed == "gzip": the
 *                  payload is gzip members whose inflated concatenation is
 *                  the PackedForward payload
 *   nil            keep-alive: ignored
 *
 *   tag     str (bin accepted)
 *   time    EventTime ext 0: d7 00 | sec u32 BE | nsec u32 BE   (or c7 08 00 ...)
 *           or an integer (seconds)
 *   record  map
 *   option  { "size": n, "chunk": <ack id>, "compressed": "text"|"gzip"|"zstd" }
 *
 * The entries of Forward and PackedForward are exactly skiff's event
 * format (event/event.h), so valid runs are handed on without copying.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "util/err.h"

enum fwd_mode {
    FWD_NIL,
    FWD_MESSAGE,
    FWD_FORWARD,
    FWD_PACKED,
};

enum fwd_compress {
    FWD_TEXT,
    FWD_GZIP,
    FWD_ZSTD,
};

/* One decoded message. Every pointer borrows the message bytes. */
struct fwd_msg {
    enum fwd_mode mode;
    const char *tag;
    size_t tag_len;
    /* MESSAGE: the time value and the record value back to back;
     * FORWARD: the entries array's elements; PACKED: the payload. */
    const char *entries;
    size_t entries_len;
    uint32_t count;    /* MESSAGE 1, FORWARD the array size, PACKED 0 (unknown) */
    const char *chunk; /* option.chunk as raw msgpack, NULL when absent/nil/false */
    size_t chunk_len;
    int64_t size;      /* option.size, -1 when absent */
    enum fwd_compress compress;
};

/*
 * Decodes the complete message p[0..len) (framed with fwd_mp_frame).
 * Returns 0 and fills *m; SK_EPROTO when it is not a forward message
 * (not an array of 2..4, tag not a string, option not a map).
 */
int fwd_msg_decode(const char *p, size_t len, struct fwd_msg *m) SK_WUR;

/* How events are checked and rewritten on their way in. */
struct fwd_cvt {
    bool skip_invalid;      /* skip_invalid_event */
    bool zero_is_now;       /* a time of 0 means "now" (Message mode, Fluentd) */
    struct sk_time now;     /* the time used for "now" */
    const char *addr_key;   /* source_address_key or NULL */
    const char *addr;       /* the peer's address */
    const char *host_key;   /* source_hostname_key or NULL */
    const char *host;       /* the peer's host name */
};

/* What a call skipped; the caller adds it to its counters once the
 * events it returned were accepted. */
struct fwd_skips {
    uint64_t invalid; /* bad time, record not a map, nesting too deep */
    uint64_t broken;  /* PackedForward bytes that are not msgpack: events lost */
};

/*
 * Takes the next events of a Forward/PackedForward entries stream,
 * starting at entries[*off], stopping once about max_bytes were taken.
 * A run that needs no change is returned as a view into `entries`
 * (zero copy); otherwise the events are rewritten into `scratch` (reset
 * first) and `out` views it. On return *off is past what was consumed;
 * out->count may be 0 when only skipped entries were consumed. Invalid
 * entries are counted in *sk, and a broken stream tail (not msgpack)
 * is consumed and counted as broken. Returns 0, or SK_ENOMEM/SK_ETOOBIG
 * from scratch (then *off is unchanged).
 */
int fwd_entries_next(const struct fwd_cvt *cv, const char *entries, size_t len, size_t *off,
                     size_t max_bytes, struct sk_evbuf *scratch, struct sk_events *out,
                     struct fwd_skips *sk) SK_WUR;

/*
 * Builds the one event of a Message-mode message (m->entries) into
 * scratch (reset first). Returns 1 with out viewing it, 0 when the event
 * is skipped (counted in *sk), or SK_ENOMEM/SK_ETOOBIG.
 */
int fwd_message_event(const struct fwd_cvt *cv, const struct fwd_msg *m,
                      struct sk_evbuf *scratch, struct sk_events *out,
                      struct fwd_skips *sk) SK_WUR;

/*
 * Inflates the concatenated gzip members p[0..len) into out (appending;
 * out's maximum bounds the result). Returns 0, SK_EPARSE for data that is
 * not gzip or is cut short, SK_ETOOBIG past the maximum, SK_ENOMEM. On
 * failure out is back to its length before the call.
 */
int fwd_gunzip(const char *p, size_t len, struct sk_buf *out) SK_WUR;

/*
 * JSON connections (first byte '{' or '['): a stream of JSON arrays
 * (objects are accepted as values too), each one message in the shapes
 * above, converted to msgpack before decoding. Framing is resumable:
 * zero st before each value, call again with more bytes after SK_EAGAIN.
 */
struct fwd_json_frame {
    size_t off;
    size_t depth;
    bool in_str;
    bool esc;
};

/* Number of JSON whitespace bytes at the start of p[0..len). */
size_t fwd_json_ws(const char *p, size_t len);

/* Finds the end of the JSON array/object starting at p[0]. Returns 0 and
 * *n = its length, SK_EAGAIN, or SK_EPROTO when p[0] starts no array or
 * object. Only brackets and strings are checked here; the JSON reader
 * validates the rest. */
int fwd_json_frame(struct fwd_json_frame *st, const char *p, size_t len, size_t *n) SK_WUR;

#endif
