#ifndef SK_PARSER_JSON_JSON_INT_H
#define SK_PARSER_JSON_JSON_INT_H

/* parser_json internals: conf (tests fill it by hand) and record building. */
#include <stdint.h>

#include "parser/parser.h"
#include "util/buf.h"

struct json_conf {
    struct sk_parser_common common;
    int json_parser;            /* oj / yajl / json: accepted, one reader here */
    int64_t stream_buffer_size; /* accepted, unused */
};

/*
 * Appends the event for `mp` (one msgpack value, from the JSON reader) the
 * way Fluentd's JSONParser#parse_one_record builds it: a map only
 * (anything else SK_EPARSE), duplicate keys collapsed as a Ruby Hash does
 * (first position, last value), time from the core's time_key, then the
 * null rules and types. Nothing is appended on failure.
 */
int json_emit_record(struct sk_parser_core *pc, const char *mp, size_t len,
                     struct sk_evbuf *out) SK_WUR;

#endif
