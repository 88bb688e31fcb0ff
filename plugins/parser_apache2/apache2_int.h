#ifndef SK_PARSER_APACHE2_APACHE2_INT_H
#define SK_PARSER_APACHE2_APACHE2_INT_H

/*
 * The apache2 matcher, shared by the plugin, its tests and the
 * differential test.
 *
 * Fluentd's apache2 parser (parser_apache2.rb, v1.14.2 and later) matches
 * this expression (Onigmo; one line in the source, split here):
 *
 *   ^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \[(?<time>[^\]]*)\]
 *   "(?<method>\S+)(?: +(?<path>(?:[^\"]|\\")*?)(?: +\S*)?)?"
 *   (?<code>[^ ]*) (?<size>[^ ]*)
 *   (?: "(?<referer>(?:[^\"]|\\")*)" "(?<agent>(?:[^\"]|\\")*)")?$
 *
 * apache2_scan answers ordinary lines without a regex engine: when the
 * line has no '\n' and no backslash-quote pair from the request on,
 * `(?:[^"]|\\")` is just [^"]; then for a request "METHOD PATH... TOKEN"
 * whose only blanks are spaces, followed by `" CODE SIZE` and an optional
 * `"REF" "AGENT"` to the end, the first match a backtracking engine finds
 * is the obvious split, and a line none of whose possible closing quotes
 * is followed by a valid tail cannot match at all (see apache2_scan.c for
 * why). Anything else is APACHE2_UNSURE and goes to PCRE2 with the
 * expression itself, which answers as Onigmo does (test_apache2_diff.c
 * checks both on every byte).
 */
#include <stdbool.h>
#include <stddef.h>

#include "parser/ruby_regex.h"

#define APACHE2_REGEX                                                                        \
    "^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] "                           \
    "\"(?<method>\\S+)(?: +(?<path>(?:[^\\\"]|\\\\\")*?)(?: +\\S*)?)?\" "                     \
    "(?<code>[^ ]*) (?<size>[^ ]*)"                                                          \
    "(?: \"(?<referer>(?:[^\\\"]|\\\\\")*)\" \"(?<agent>(?:[^\\\"]|\\\\\")*)\")?$"

#define APACHE2_TIME_FORMAT "%d/%b/%Y:%H:%M:%S %z"

enum apache2_field {
    APACHE2_HOST,
    APACHE2_USER,
    APACHE2_TIME,
    APACHE2_METHOD,
    APACHE2_PATH,
    APACHE2_CODE,
    APACHE2_SIZE,
    APACHE2_REFERER,
    APACHE2_AGENT,
    APACHE2_NFIELDS,
};

extern const char *const apache2_field_names[APACHE2_NFIELDS];

struct apache2_span {
    size_t off;
    size_t len;
    bool set; /* false: the group did not take part */
};

struct apache2_match {
    struct apache2_span f[APACHE2_NFIELDS];
};

enum apache2_verdict {
    APACHE2_NOMATCH,
    APACHE2_MATCH,
    APACHE2_UNSURE,
};

/* The fast path: MATCH (m filled) or NOMATCH when certain, else UNSURE.
 * Never allocates. */
enum apache2_verdict apache2_scan(const char *line, size_t len, struct apache2_match *m);

/* The whole matcher: the fast path, then the expression by PCRE2
 * (re compiled from APACHE2_REGEX). */
bool apache2_match(struct sk_ruby_regex *re, const char *line, size_t len,
                   struct apache2_match *m);

#endif
