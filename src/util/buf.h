#ifndef SK_UTIL_BUF_H
#define SK_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util/err.h"

/*
 * A growable byte buffer with a hard maximum (curl's dynbuf). Every line,
 * record, bulk body and HTTP response in skiff lives in one of these, so no
 * input can make skiff grow without bound. The data is always followed by a
 * NUL byte (not counted in len) so it can be handed to C string functions.
 */
struct sk_buf {
    char *data; /* owned */
    size_t len;
    size_t cap;
    size_t max;
};

/* Prepares an empty buffer that may grow up to `max` bytes. No allocation. */
void sk_buf_init(struct sk_buf *b, size_t max);

/* Frees the storage; the buffer is empty and reusable afterwards. */
void sk_buf_cleanup(struct sk_buf *b);

/* Empties the buffer but keeps its storage. */
void sk_buf_reset(struct sk_buf *b);

/* Makes room for `extra` more bytes. SK_ETOOBIG past max, SK_ENOMEM. */
int sk_buf_reserve(struct sk_buf *b, size_t extra) SK_WUR;

int sk_buf_append(struct sk_buf *b, const void *p, size_t n) SK_WUR;
int sk_buf_append_str(struct sk_buf *b, const char *s) SK_WUR;
int sk_buf_putc(struct sk_buf *b, char c) SK_WUR;
int sk_buf_printf(struct sk_buf *b, const char *fmt, ...) SK_WUR SK_PRINTF(2, 3);
int sk_buf_vprintf(struct sk_buf *b, const char *fmt, va_list ap) SK_WUR;

/* Drops the first n bytes, moving the rest to the front. */
void sk_buf_consume(struct sk_buf *b, size_t n);

/* Hands the storage to the caller (to sk_free); the buffer becomes empty.
 * Returns NULL for an empty buffer that never allocated. */
char *sk_buf_take(struct sk_buf *b, size_t *len);

/* msgpack-c write callback: msgpack_packer_init(&pk, buf, sk_buf_msgpack_write). */
int sk_buf_msgpack_write(void *data, const char *p, size_t n);

#endif
