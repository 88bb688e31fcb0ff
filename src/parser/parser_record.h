#ifndef SK_PARSER_PARSER_RECORD_H
#define SK_PARSER_PARSER_RECORD_H

/*
 * Helpers for parsers whose records are Ruby Hashes built field by field
 * (regexp, ltsv, csv, tsv, apache_error, multiline): a key written twice
 * keeps its first position and its last value, a value may be nil, and
 * the time may come from elsewhere than the record. Also the per-parser
 * time parsers and configuration messages those parsers need.
 */
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "config/diag.h"
#include "event/event.h"
#include "parser/parser.h"
#include "util/err.h"

struct sk_timefmt;

/*
 * Appends one event built from f[0..n) as Fluentd's parse_time and
 * convert_values do with a Hash: repeated keys collapse (first position,
 * last value); a field with val NULL is nil (left alone by the null rules
 * and types, as in Ruby) and a field with key NULL has a nil key. The time
 * is *t when t is not NULL; otherwise the time_key field's value parsed
 * per the core (nil or unparsable: SK_EPARSE), or now without such a
 * field (SK_EPARSE without estimate_current_event). The time_key field is
 * dropped unless keep_time_key. Returns 0 or SK_E*, nothing appended on
 * failure.
 */
int sk_parser_emit_record(struct sk_parser_core *pc, const struct sk_parser_field *f, size_t n,
                          const struct sk_time *t, struct sk_evbuf *out) SK_WUR;

/*
 * A time parser for `format` with the zone rules of c (timezone, else
 * local time unless utc or localtime false), as Fluentd's
 * time_parser_create(format: ...) makes for parsers with more than one
 * format. NULL format: Time.parse-like (needs local time). Returns 0,
 * SK_ECONFIG (reason added to d, located at sec) or SK_ENOMEM.
 */
int sk_parser_timefmt_create(const struct sk_parser_common *c, const char *format,
                             const struct sk_conf_section *sec, struct sk_diag *d,
                             struct sk_timefmt **out) SK_WUR;

/* Adds a configuration message located at the parser's section (sec may
 * be NULL, e.g. in tests; d may be NULL). */
void sk_parser_diag(struct sk_diag *d, enum sk_diag_level level,
                    const struct sk_conf_section *sec, const char *fmt, ...) SK_PRINTF(4, 5);

#endif
