#ifndef SK_PARSER_CSV_CSV_INT_H
#define SK_PARSER_CSV_CSV_INT_H

/*
 * parser_csv's two line readers, shared by the plugin and its tests.
 *
 * normal: Ruby's CSV.parse_line(text, col_sep: delimiter), strict:
 *   "a,""b"",,\"\"" gives a, "b", nil, "". The row separator is detected
 *   as Ruby's CSV does (the first \r\n, \r or \n in the text; \n when
 *   none), and only the first row counts. Malformed text (a quote inside
 *   an unquoted field, anything after a closing quote, an unclosed quote,
 *   a bare \r or \n inside an unquoted field) is refused, as Ruby raises
 *   MalformedCSVError; an empty text is no row at all.
 * fast: Fluentd's parse_fast_internal, a split on the delimiter that
 *   rejoins quoted pieces, with its own answers for odd lines (kept).
 */
#include <stdbool.h>
#include <stddef.h>

#include "parser/ruby_split.h"
#include "util/buf.h"

/* A value: nil, or text in the line (scratch false) or in the scratch
 * buffer (unescaped). */
struct csv_value {
    bool nil;
    bool scratch;
    size_t off;
    size_t len;
};

/* Values of one line, with storage reused from line to line. */
struct csv_row {
    struct csv_value *v; /* owned */
    size_t n;
    size_t cap;
    size_t max;
    struct sk_buf scratch;
    struct sk_ruby_pieces cols; /* fast reader's split */
};

void csv_row_init(struct csv_row *r, size_t max_values, size_t max_scratch);
void csv_row_cleanup(struct csv_row *r);

/* Reads line per CSV.parse_line. Returns 0, SK_EPARSE (malformed or
 * empty: no row), SK_ENOMEM, SK_ETOOBIG. */
int csv_read_normal(struct csv_row *r, const char *line, size_t len, const char *sep,
                    size_t slen) SK_WUR;

/* Reads line per Fluentd's parse_fast_internal. Returns 0, SK_ENOMEM,
 * SK_ETOOBIG. */
int csv_read_fast(struct csv_row *r, const char *line, size_t len, const char *sep,
                  size_t slen) SK_WUR;

/* The bytes of value v (NULL for nil). */
const char *csv_value_ptr(const struct csv_row *r, const char *line, const struct csv_value *v);

#endif
