#ifndef SK_REGEX_RREGEX_H
#define SK_REGEX_RREGEX_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * Ruby regexps as users write them in td-agent.conf, made ready for PCRE2.
 * CRuby accepts group names PCRE2 refuses ("(?<log-level>...)": any
 * character but '>' after a letter), so such groups are renamed
 * "(?<_sk0>...)", "(?<_sk1>...)", ... and the original names are kept so
 * records get the names the user wrote.
 */
struct sk_rregex_names {
    char **orig;    /* owned: original name per renamed group */
    char **alias;   /* owned: the PCRE2 name it got */
    size_t n;
};

/* Appends the PCRE2 version of `src` (len bytes) to `out` and records the
 * renamed groups in `names` (caller zeroes it; sk_rregex_names_free). */
int sk_rregex_translate(const char *src, size_t len, struct sk_buf *out,
                        struct sk_rregex_names *names) SK_WUR;

/* The name the user wrote for a PCRE2 group name (itself when not renamed). */
const char *sk_rregex_original(const struct sk_rregex_names *names, const char *pcre_name);

void sk_rregex_names_free(struct sk_rregex_names *names);

#endif
