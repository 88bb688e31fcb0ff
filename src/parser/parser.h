#ifndef SK_PARSER_PARSER_H
#define SK_PARSER_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/diag.h"
#include "event/event.h"
#include "param/param.h"
#include "util/err.h"

/*
 * What every parser shares, as Fluentd's Parser base class does: the time
 * field and its format, type conversion, null handling. Every parser's conf
 * struct starts with `struct sk_parser_common common;`; the engine applies
 * sk_parser_common_params to it before the parser's own table, so these
 * parameters are declared once.
 */
enum sk_time_type {
    SK_TIME_TYPE_STRING,
    SK_TIME_TYPE_UNIXTIME,
    SK_TIME_TYPE_FLOAT,
};

struct sk_parser_common {
    char *time_key;              /* NULL: the parser's own default */
    char *time_format;           /* NULL: the parser's own default */
    int time_type;               /* enum sk_time_type */
    bool keep_time_key;
    bool utc;
    char *timezone;
    bool estimate_current_event;
    struct sk_kvv types;         /* field -> "integer", "float", "bool", "string", "time", "array" */
    char *null_value_pattern;
    bool null_empty_string;
    bool localtime;              /* Fluentd's `localtime` (false = UTC) */
};

extern const struct sk_param_def sk_parser_common_params[];

/*
 * What a parser gives the common parameters by default (Fluentd's
 * config_set_default in each parser class).
 */
struct sk_parser_defaults {
    const char *time_key;    /* "time" (regexp, nginx, json), NULL (none) */
    const char *time_format; /* nginx: "%d/%b/%Y:%H:%M:%S %z"; NULL: Time.parse-like */
    int time_type;           /* json: SK_TIME_TYPE_FLOAT, else STRING */
};

struct sk_parser_conv;
struct sk_timefmt;

/*
 * The common parameters compiled for the data path (time parser, type
 * converters, null pattern). Lives in the parser's ctx; one per instance;
 * not thread-safe (the time parser caches).
 */
struct sk_parser_core {
    const char *time_key;         /* borrowed (conf or default); NULL: no time field */
    size_t time_key_len;
    int time_type;                /* in effect, after the parser's default */
    bool keep_time_key;
    bool estimate_current_event;
    struct sk_timefmt *timefmt;   /* owned; NULL for numeric time types */
    struct sk_parser_conv *convs; /* owned, one per `types` entry */
    size_t nconvs;
    void *null_re;                /* owned pcre2_code, or NULL */
    void *null_md;                /* owned pcre2_match_data, or NULL */
    bool null_empty_string;
    bool convert;                 /* a type or null rule exists: values need a look */
};

/*
 * Compiles `c` for a parser with defaults `defs`. `sec` (may be NULL, e.g.
 * in tests) is the parser's section: it tells whether time_type and
 * localtime/utc were written (Fluentd's json parser switches time_type to
 * string when only time_format is given; localtime and utc together are an
 * error). Without a section, time_type "string" counts as unset. Problems
 * go to d; returns 0 or SK_ECONFIG / SK_ENOMEM (pc is then safe to clean).
 */
int sk_parser_core_init(struct sk_parser_core *pc, const struct sk_parser_common *c,
                        const struct sk_parser_defaults *defs, const struct sk_conf_section *sec,
                        struct sk_diag *d) SK_WUR;

/* Frees what init built; accepts a zeroed or half-built core. */
void sk_parser_core_cleanup(struct sk_parser_core *pc);

/* True when no value needs a look (no types, no null rules) and the time
 * field is dropped from the record: parsers may take their fastest path. */
bool sk_parser_core_plain(const struct sk_parser_core *pc);

/* A (name, value) capture from which a record is built. */
struct sk_parser_field {
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
};

/*
 * Parses time text per the core's time_type and format (Fluentd's
 * TimeParser / NumericTimeParser). Returns 0 or SK_EPARSE.
 */
int sk_parser_time_text(struct sk_parser_core *pc, const char *s, size_t len,
                        struct sk_time *t) SK_WUR;

/*
 * The same for a decoded value (json): strings as above; numbers for the
 * unixtime and float types; anything else SK_EPARSE, as in Fluentd.
 */
int sk_parser_time_object(struct sk_parser_core *pc, const msgpack_object *o,
                          struct sk_time *t) SK_WUR;

/*
 * Appends one event built from string fields in order, as Fluentd's
 * parse_time + convert_values do: the field named time_key gives the time
 * and is dropped unless keep_time_key; without one the time is now
 * (estimate_current_event) or the line is refused with SK_EPARSE (in_tail
 * then drops it as unmatched). Values then get the null rules and types.
 * Returns 0; SK_EPARSE (time did not parse) or another SK_E* code, with
 * nothing appended.
 */
int sk_parser_emit_fields(struct sk_parser_core *pc, const struct sk_parser_field *f, size_t n,
                          struct sk_evbuf *out) SK_WUR;

/* Packs string value v of field key, after the null rules and types. */
int sk_parser_pack_value(struct sk_parser_core *pc, const char *key, size_t klen, const char *v,
                         size_t vlen, msgpack_packer *pk) SK_WUR;

/* Packs decoded value o of field key (json), after the null rules (strings
 * only) and types (Ruby's to_i/to_f/to_s semantics for non-strings). */
int sk_parser_pack_object(struct sk_parser_core *pc, const char *key, size_t klen,
                          const msgpack_object *o, msgpack_packer *pk) SK_WUR;

/* True when field key has a conversion or null rules exist. */
bool sk_parser_needs_conversion(const struct sk_parser_core *pc, const char *key, size_t klen);

/*
 * Ruby's String#to_i / #to_f, as Fluentd's `integer`/`float` types apply
 * them: leading blanks, sign, digits with single '_' between them, stop
 * at the first other byte; nothing numeric gives 0. to_i sets *big when
 * the value does not fit 64 bits (*out is then saturated).
 */
int64_t sk_ruby_to_i(const char *s, size_t len, bool *big);
double sk_ruby_to_f(const char *s, size_t len);

/* Ruby's Float#to_s ("1.0", "1.5e+20", "NaN"); returns the length. */
size_t sk_ruby_float_to_s(double v, char *out, size_t size);

#endif
