#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>

static long fail_countdown;
static int fail_sticky;
static long alloc_calls;

static int should_fail(void)
{
    alloc_calls++;
    if (fail_countdown <= 0) {
        return 0;
    }
    if (fail_countdown == 1) {
        if (!fail_sticky) {
            fail_countdown = 0;
        }
        return 1;
    }
    fail_countdown--;
    return 0;
}

void *sk_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *sk_calloc(size_t count, size_t n)
{
    return should_fail() ? NULL : calloc(count ? count : 1, n ? n : 1);
}

void *sk_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void sk_free(void *p)
{
    free(p);
}

char *sk_strndup(const char *s, size_t n)
{
    char *copy = sk_malloc(n + 1);

    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *sk_strdup(const char *s)
{
    return sk_strndup(s, strlen(s));
}

void sk_alloc_fail_after(long n, int sticky)
{
    fail_countdown = n;
    fail_sticky = sticky;
}

long sk_alloc_count(void)
{
    return alloc_calls;
}
