#ifndef SK_PARSER_PARSER_REGEXP_H
#define SK_PARSER_PARSER_REGEXP_H

/*
 * Fluentd's RegexpParser as a building block: a Ruby regexp, the common
 * parameters, and the record made of the named groups that took part
 * (parse_time + convert_values). The regexp, apache_error and multiline
 * parsers are this with different expressions, as they are subclasses or
 * wrappers of RegexpParser in Fluentd.
 */
#include <stdbool.h>
#include <stddef.h>

#include "parser/parser.h"
#include "parser/ruby_regex.h"

struct sk_regexp_parser {
    struct sk_parser_core core;
    struct sk_ruby_regex re;
    struct sk_parser_field *fields; /* owned, re.nnames entries */
};

/*
 * Compiles `expression` (flags as sk_ruby_regex_compile) and the common
 * parameters c with defaults defs. Problems go to d, located at sec and
 * naming the parameter `param`. Returns 0, SK_ECONFIG or SK_ENOMEM; rp is
 * safe to clean up either way.
 */
int sk_regexp_parser_init(struct sk_regexp_parser *rp, const struct sk_parser_common *c,
                          const struct sk_parser_defaults *defs, const char *expression,
                          unsigned flags, const char *param, const struct sk_conf_section *sec,
                          struct sk_diag *d) SK_WUR;

void sk_regexp_parser_cleanup(struct sk_regexp_parser *rp);

/*
 * Matches line and fills rp->fields with the named groups that took part
 * (values point into line). Returns their number, or -1 when the line
 * does not match.
 */
long sk_regexp_parser_match(struct sk_regexp_parser *rp, const char *line, size_t len);

/* Match, then the record: one event appended, or SK_EPARSE (no match, or
 * a time that does not parse) or another SK_E* with nothing appended. */
int sk_regexp_parser_parse(struct sk_regexp_parser *rp, const char *line, size_t len,
                           struct sk_evbuf *out) SK_WUR;

#endif
