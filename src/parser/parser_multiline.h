#ifndef SK_PARSER_PARSER_MULTILINE_H
#define SK_PARSER_PARSER_MULTILINE_H

/*
 * What in_tail needs from a `@type multiline` parser (Fluentd's
 * MultilineParser#has_firstline? and #firstline?). The parser itself is
 * an ordinary parser: sk_parser_parse takes one event's block, its lines
 * joined with "\n" and the final terminator removed. Implemented by
 * plugins/parser_multiline.
 *
 * in_tail's part, as Fluentd's in_tail#parse_multilines does it:
 *   with format_firstline: a line for which sk_parser_multiline_firstline
 *     is true flushes the pending block (if any) and starts a new one;
 *     other lines are appended to the pending block, or, with no block
 *     yet, dropped with a warning ("got incomplete line before first
 *     line", or emitted as unmatched with emit_unmatched_lines);
 *   without it: each line is appended and the block is parsed after every
 *     line; the first success emits it and empties the block;
 *   the pending block is flushed (parsed; unmatched if it fails) after
 *     multiline_flush_interval without new lines, and when the file is
 *     closed (rotation, shutdown).
 */
#include <stdbool.h>
#include <stddef.h>

struct sk_instance;

/* True when parser is a multiline parser. */
bool sk_parser_is_multiline(const struct sk_instance *parser);

/* True when parser is a multiline parser with format_firstline. */
bool sk_parser_multiline_has_firstline(const struct sk_instance *parser);

/* Whether line (one line, without its terminator) starts a new event:
 * format_firstline matches anywhere in it. False for other parsers. */
bool sk_parser_multiline_firstline(struct sk_instance *parser, const char *line, size_t len);

#endif
