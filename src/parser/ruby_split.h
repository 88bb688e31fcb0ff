#ifndef SK_PARSER_RUBY_SPLIT_H
#define SK_PARSER_RUBY_SPLIT_H

/*
 * Ruby's String#split, as the ltsv, tsv and csv parsers call it, on the
 * byte strings in_tail reads:
 *
 *   split(" ")      awk style: runs of [ \t\n\v\f\r] separate, leading
 *                   ones are skipped
 *   split("")       one piece per byte
 *   split("sep")    every occurrence separates
 *   split(/re/)     every match separates; a match of nothing splits
 *                   between bytes; captures of the regexp are pieces too
 *
 * limit as in Ruby: 0 keeps no trailing empty pieces, a negative limit
 * keeps them, a positive one makes at most `limit` pieces (the last one
 * holding the rest).
 */
#include <stddef.h>

#include "parser/ruby_regex.h"
#include "util/err.h"

struct sk_ruby_piece {
    size_t off; /* into the split string */
    size_t len;
};

/* A reusable piece list with a hard maximum on its length. */
struct sk_ruby_pieces {
    struct sk_ruby_piece *v; /* owned */
    size_t n;
    size_t cap;
    size_t max;
};

void sk_ruby_pieces_init(struct sk_ruby_pieces *p, size_t max);
void sk_ruby_pieces_cleanup(struct sk_ruby_pieces *p);

/*
 * Splits s[0..len) by the string pat[0..plen) into p (emptied first).
 * Returns 0, SK_ENOMEM, or SK_ETOOBIG past p->max pieces.
 */
int sk_ruby_split(struct sk_ruby_pieces *p, const char *s, size_t len, const char *pat,
                  size_t plen, long limit) SK_WUR;

/* The same with a regexp separator. */
int sk_ruby_split_regex(struct sk_ruby_pieces *p, struct sk_ruby_regex *re, const char *s,
                        size_t len, long limit) SK_WUR;

#endif
