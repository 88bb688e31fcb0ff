#ifndef SK_UTIL_ALLOC_H
#define SK_UTIL_ALLOC_H

#include <stddef.h>

/*
 * The allocator every skiff module uses. It is plain malloc, with one seam:
 * tests can make the Nth allocation from now fail, to step through every
 * failure path of a call (see tests/unit/support/testutil.h).
 */
void *sk_malloc(size_t n);
void *sk_calloc(size_t count, size_t n);
void *sk_realloc(void *p, size_t n);
void sk_free(void *p);

/* Returns a copy of s (or of its first n bytes) for the caller to sk_free. */
char *sk_strdup(const char *s);
char *sk_strndup(const char *s, size_t n);

/* Test seam: fail the allocation that comes `n` calls from now (1 = the
 * next one), and every one after it while `sticky`; 0 turns failing off. */
void sk_alloc_fail_after(long n, int sticky);

/* Number of allocations made since start: lets tests size their stepping. */
long sk_alloc_count(void);

#endif
