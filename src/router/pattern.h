#ifndef SK_ROUTER_PATTERN_H
#define SK_ROUTER_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/*
 * Fluentd tag patterns: "a.*" (exactly one part), "a.**" (zero or more
 * parts, so it also matches "a"), "**.b", "{a,b}.c" (alternatives, may
 * nest), and several patterns separated by spaces in one directive
 * (<match a.** b.*>: any may match). Each directive's patterns are
 * translated once into one anchored PCRE2 expression, as Fluentd turns them
 * into a Ruby Regexp.
 */
struct sk_pattern {
    void *code; /* owned pcre2_code */
    void *md;   /* owned pcre2_match_data */
};

/* Compiles `text` (NULL or "" means "**"). SK_EPARSE for unbalanced braces. */
int sk_pattern_init(struct sk_pattern *p, const char *text) SK_WUR;
void sk_pattern_cleanup(struct sk_pattern *p);
bool sk_pattern_match(const struct sk_pattern *p, const char *tag);

/* Writes the regex a pattern becomes (tests and --dry-run); SK_ETOOBIG. */
int sk_pattern_to_regex(const char *text, char *out, size_t size) SK_WUR;

#endif
