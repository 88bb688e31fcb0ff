#ifndef SK_PARSER_RUBY_REGEX_H
#define SK_PARSER_RUBY_REGEX_H

/*
 * Ruby (Onigmo) regexps as Fluentd configurations write them, run by
 * PCRE2 with JIT. What keeps the answers Ruby's:
 *
 * - `/body/flags` is read as Fluentd's regexp_value reads it: the body up
 *   to the last '/', then at most two flag letters of which only `i`
 *   (ignore case) and `m` (Ruby's m: '.' also matches '\n', PCRE2's
 *   DOTALL) count; anything else is ignored (`x` included), as in Fluentd.
 * - ^ and $ are always line anchors (Ruby has no single-line mode): PCRE2
 *   MULTILINE with LF newlines. Matching is byte-wise, as Ruby matches the
 *   ASCII-8BIT lines in_tail reads.
 * - Ruby spellings PCRE2 reads differently are rewritten: `\h`/`\H` (hex
 *   digit, not horizontal space), inline `(?m)` (DOTALL), `{,n}`, nested
 *   classes `[a[bc]]`. Constructs PCRE2 cannot express (`&&` in classes,
 *   `(?~...)`, `\C-x`, `\M-x`, `\u`) are refused at configuration time
 *   rather than silently matched differently.
 * - Group names PCRE2 cannot spell but Ruby takes ("log-level", "@ts",
 *   "a.b") are given an alias in the pattern and keep their Ruby name in
 *   the records.
 * - With named groups, plain (...) groups do not capture (NO_AUTO_CAPTURE),
 *   as in Ruby; a name used twice answers with its last group that took
 *   part, and names come in order of first appearance (MatchData#names).
 */
#include <stdbool.h>
#include <stddef.h>

#include "parser/parser.h"

enum sk_ruby_regex_flags {
    SK_RUBY_RE_SLASHES = 1 << 0,    /* text may be /body/flags (Fluentd's :regexp type) */
    SK_RUBY_RE_IGNORECASE = 1 << 1, /* as /i */
    SK_RUBY_RE_DOTALL = 1 << 2,     /* as /m */
};

struct sk_ruby_regex_name {
    const char *name; /* borrowed from the compiled pattern's name table */
    size_t len;
    size_t first;     /* index of its first group number in groups[] */
    size_t count;     /* group numbers with this name (ascending) */
};

struct sk_ruby_regex {
    void *code;                       /* owned pcre2_code */
    void *md;                         /* owned pcre2_match_data */
    void *mctx;                       /* owned pcre2_match_context (JIT stack) */
    void *jit_stack;                  /* owned pcre2_jit_stack, or NULL */
    bool jit;                         /* JIT compiled: pcre2_jit_match is used */
    int rc;                           /* result of the last match (> 0: matched) */
    struct sk_ruby_regex_name *names; /* owned, in order of first appearance */
    size_t nnames;
    int *groups;                      /* owned */
    char **aliases;                   /* owned: Ruby names PCRE2 cannot spell ("log-level") */
    size_t naliases;
};

/*
 * Compiles `text` (NUL-terminated) per flags. Returns 0; SK_ECONFIG with
 * the reason in err (the message says "not supported" for Ruby constructs
 * PCRE2 lacks); SK_ENOMEM. *warning (may be NULL) is set to a static text
 * when a flag letter was ignored. re is safe to clean up on failure.
 */
int sk_ruby_regex_compile(struct sk_ruby_regex *re, const char *text, unsigned flags, char *err,
                          size_t errsize, const char **warning) SK_WUR;

/* Frees what compile built; accepts a zeroed or half-built regex. */
void sk_ruby_regex_cleanup(struct sk_ruby_regex *re);

/*
 * Searches s[start..len) as Ruby's Regexp#match(s, start): the match may
 * begin anywhere at or after start, and lookbehinds and ^ see the bytes
 * before it. Returns true on a match; the captures stay valid until the
 * next call. A search PCRE2 gives up on (match or JIT stack limit) counts
 * as no match.
 */
bool sk_ruby_regex_search(struct sk_ruby_regex *re, const char *s, size_t len, size_t start);

/* Span of group g (0 = whole match) of the last match; false when it did
 * not take part. */
bool sk_ruby_regex_group(const struct sk_ruby_regex *re, int g, size_t *off, size_t *glen);

/* Number of capture groups (Ruby's num_regs - 1). */
int sk_ruby_regex_ngroups(const struct sk_ruby_regex *re);

/*
 * The named groups of the last match on s that took part, as Fluentd's
 * RegexpParser builds its Hash: in MatchData#names order, value of the
 * last group of a repeated name that took part. Writes at most
 * re->nnames fields to f (values point into s); returns how many.
 */
size_t sk_ruby_regex_fields(const struct sk_ruby_regex *re, const char *s,
                            struct sk_parser_field *f);

#endif
