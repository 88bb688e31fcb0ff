#ifndef SK_PARSER_PARSER_MULTILINE_H
#define SK_PARSER_PARSER_MULTILINE_H

/*
 * What in_tail needs from a `@type multiline` parser (Fluentd's
 * MultilineParser#has_firstline? and #firstline?). The parser itself is
 * an ordinary parser: sk_parser_parse takes one event's block. Implemented
 * by plugins/parser_multiline.
 *
 * in_tail's part, as Fluentd's in_tail#parse_multilines does it (lines are
 * the raw lines read, each with its terminator):
 *   - with format_firstline: a line for which sk_parser_multiline_firstline
 *     is true (asked with the raw line, terminator included) parses the
 *     pending block, if any, and starts a new one; another line is
 *     appended to the pending block, or, with no block yet, is dropped with
 *     a warning ("got incomplete line before first line") or, with
 *     emit_unmatched_lines, goes through the normal unmatched path;
 *   - without it: each raw line is appended and the block is parsed after
 *     every line; Fluentd tests the block with its final terminator and
 *     then parses it again without it: the first success emits the event
 *     and empties the block;
 *   - "parsing a block" is Fluentd's convert_line_to_event: one final
 *     terminator (\n, \r\n or \r) is removed, the inner ones stay as they
 *     were in the file ("a\nb", or "a\r\nb" for CRLF files); SK_EPARSE is
 *     "pattern not matched" (unmatched_line / @ERROR as for single lines);
 *   - the pending block is also parsed after multiline_flush_interval
 *     without new lines, and when the file is closed (rotation, shutdown):
 *     Fluentd's flush_buffer, which warns "got incomplete line at shutdown"
 *     when it does not parse.
 */
#include <stdbool.h>
#include <stddef.h>

struct sk_instance;

/* True when parser is a multiline parser. */
bool sk_parser_is_multiline(const struct sk_instance *parser);

/* True when parser is a multiline parser with format_firstline. */
bool sk_parser_multiline_has_firstline(const struct sk_instance *parser);

/* Whether line (as read, terminator included) starts a new event:
 * format_firstline (no flags) matches anywhere in it. False for other
 * parsers and without format_firstline. */
bool sk_parser_multiline_firstline(struct sk_instance *parser, const char *line, size_t len);

#endif
