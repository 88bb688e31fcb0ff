#ifndef SK_HTTP_HTTP_CHARS_H
#define SK_HTTP_HTTP_CHARS_H

/* Private to src/http/: ASCII character helpers for the parsers of
 * responses and URLs (never the locale's idea of a letter). */
#include <stdbool.h>
#include <stddef.h>

static inline bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* 0..15, or -1 for a byte that is not a hex digit. */
static inline int hex_value(char c)
{
    if (is_digit(c)) {
        return c - '0';
    }
    c = ascii_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0, len) equals the lower-case literal `lower`, ignoring ASCII case. */
static inline bool equals_lower(const char *s, size_t len, const char *lower)
{
    for (size_t i = 0; i < len; i++) {
        if (lower[i] == '\0' || ascii_lower(s[i]) != lower[i]) {
            return false;
        }
    }
    return lower[len] == '\0';
}

#endif
