#ifndef SK_IN_TAIL_TAIL_CONV_H
#define SK_IN_TAIL_TAIL_CONV_H

/*
 * in_tail's `encoding` / `from_encoding`: lines are converted with glibc
 * iconv before they are parsed, as Fluentd's String#encode does. Bytes that
 * are invalid in the source, or characters the target cannot hold, become
 * the replacement (U+FFFD for a Unicode target, '?' otherwise): a line is
 * never dropped for its bytes. Names are Ruby's (Fluentd's) where glibc
 * spells them differently (ASCII-8BIT, Windows-31J, eucJP-ms, CP51932).
 */
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct tail_conv;

/* True when iconv (or the alias table) knows `name`. */
bool tail_conv_known(const char *name);

/* True when both names denote the same encoding (then there is nothing to convert). */
bool tail_conv_same(const char *a, const char *b);

/*
 * Prepares the conversion of lines from `from` to `to`; lines may be up to
 * `max_line` bytes. Returns 0 and the converter in *out (the caller owns
 * it: tail_conv_destroy), SK_EINVAL when iconv knows one of the names (the
 * caller checks which with tail_conv_known), or SK_ENOMEM.
 */
int tail_conv_create(const char *to, const char *from, size_t max_line,
                     struct tail_conv **out) SK_WUR;
void tail_conv_destroy(struct tail_conv *c);

/* The line terminator in the source encoding: "\n", or e.g. "\n\0" for
 * UTF-16LE. Its length is also the source's code unit. */
const char *tail_conv_eol(const struct tail_conv *c, size_t *len);

/*
 * Converts one line given without its terminator. *out is followed by one
 * '\n' (not counted in *out_len) and stays valid until the next call.
 * Returns 0, or SK_ETOOBIG / SK_ENOMEM (then the caller keeps the raw line).
 */
int tail_conv_line(struct tail_conv *c, const char *in, size_t len, const char **out,
                   size_t *out_len) SK_WUR;

#endif
