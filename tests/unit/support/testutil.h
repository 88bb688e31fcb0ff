#ifndef SK_TESTUTIL_H
#define SK_TESTUTIL_H

/* cmocka needs these before its header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Path of a file under tests/data (from $SKIFF_TEST_DATA); static storage. */
const char *sk_test_data(const char *name);

/* Path under ../shared (from $SKIFF_SHARED); static storage. */
const char *sk_test_shared(const char *name);

/* Reads a whole file into a NUL-terminated heap buffer (free()); NULL on error. */
char *sk_test_read_file(const char *path, size_t *len);

/* Makes a fresh temporary directory; returns its path (static storage). */
const char *sk_test_tmpdir(void);

#endif
