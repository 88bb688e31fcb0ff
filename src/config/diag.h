#ifndef SK_CONFIG_DIAG_H
#define SK_CONFIG_DIAG_H

#include <stddef.h>

#include "util/err.h"

/*
 * Collected configuration problems. Loading a configuration reports every
 * problem it finds in one run instead of stopping at the first, like a
 * compiler. Each entry reads "file:line: <section arg>: message".
 */
enum sk_diag_level {
    SK_DIAG_WARN,
    SK_DIAG_ERROR,
};

struct sk_diag_entry {
    enum sk_diag_level level;
    char *text; /* owned: the whole formatted line, without a newline */
};

struct sk_diag {
    struct sk_diag_entry *entries; /* owned */
    size_t count;
    size_t cap;
    size_t errors;
};

void sk_diag_init(struct sk_diag *d);
void sk_diag_cleanup(struct sk_diag *d);

/*
 * Adds one entry. `file` may be NULL (then no location is printed), `line`
 * 0 for "no line". `where` is the section context ("<match nginx.**>") or
 * NULL. Allocation failure is remembered as an error count without text.
 */
void sk_diag_add(struct sk_diag *d, enum sk_diag_level level, const char *file, int line,
                 const char *where, const char *fmt, ...) SK_PRINTF(6, 7);

/* Logs every entry through the skiff log (warn or error level). */
void sk_diag_log(const struct sk_diag *d);

/* True when some entry contains `needle`: tests use it. */
int sk_diag_contains(const struct sk_diag *d, const char *needle);

#endif
