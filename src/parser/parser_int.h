#ifndef SK_PARSER_PARSER_INT_H
#define SK_PARSER_PARSER_INT_H

/* Internals shared by parser.c, parser_time.c and parser_types.c. */
#include "parser/parser.h"

enum sk_conv_type {
    SK_CONV_STRING,
    SK_CONV_INTEGER,
    SK_CONV_FLOAT,
    SK_CONV_BOOL,
    SK_CONV_TIME,
    SK_CONV_ARRAY,
};

/* One `types` entry: key borrowed from the conf's hash. */
struct sk_parser_conv {
    const char *key;
    size_t klen;
    enum sk_conv_type type;
    const char *delim;          /* array: borrowed, may be "" */
    size_t dlen;
    int time_type;              /* time: enum sk_time_type */
    struct sk_timefmt *timefmt; /* time, string type: owned */
};

/* parser_time.c: time from text for a type/format pair. */
int sk_parser_time_parse(int time_type, struct sk_timefmt *tf, const char *s, size_t len,
                         struct sk_time *t);

/* parser_time.c: time from a decoded value for a type/format pair. */
int sk_parser_time_parse_object(int time_type, struct sk_timefmt *tf, const msgpack_object *o,
                                struct sk_time *t);

/* parser_types.c: the conversion for key, or NULL. */
const struct sk_parser_conv *sk_parser_find_conv(const struct sk_parser_core *pc,
                                                 const char *key, size_t klen);

/* parser_types.c: whether a string value is "null-like" (empty with
 * null_empty_string, or matching null_value_pattern). */
bool sk_parser_is_null(const struct sk_parser_core *pc, const char *v, size_t vlen);

#endif
