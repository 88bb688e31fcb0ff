#include "util/buf.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

void sk_buf_init(struct sk_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void sk_buf_cleanup(struct sk_buf *b)
{
    sk_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sk_buf_reset(struct sk_buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

int sk_buf_reserve(struct sk_buf *b, size_t extra)
{
    size_t need;
    size_t cap;
    char *p;

    if (extra > b->max || b->len > b->max - extra) {
        return SK_ETOOBIG;
    }
    need = b->len + extra + 1; /* room for the trailing NUL */
    if (need <= b->cap) {
        return 0;
    }
    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap = cap * 2 > cap ? cap * 2 : need;
    }
    if (cap > b->max + 1) {
        cap = b->max + 1;
    }
    p = sk_realloc(b->data, cap);
    if (p == NULL) {
        return SK_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int sk_buf_append(struct sk_buf *b, const void *p, size_t n)
{
    int rc = sk_buf_reserve(b, n);

    if (rc < 0) {
        return rc;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sk_buf_append_str(struct sk_buf *b, const char *s)
{
    return sk_buf_append(b, s, strlen(s));
}

int sk_buf_putc(struct sk_buf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return sk_buf_append(b, &c, 1);
}

int sk_buf_vprintf(struct sk_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    int n;
    int rc;

    va_copy(copy, ap);
    n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        return SK_EINVAL;
    }
    rc = sk_buf_reserve(b, (size_t)n);
    if (rc < 0) {
        return rc;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int sk_buf_printf(struct sk_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sk_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void sk_buf_consume(struct sk_buf *b, size_t n)
{
    if (n >= b->len) {
        sk_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *sk_buf_take(struct sk_buf *b, size_t *len)
{
    char *p = b->data;

    if (len != NULL) {
        *len = b->len;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

int sk_buf_msgpack_write(void *data, const char *p, size_t n)
{
    return sk_buf_append(data, p, n);
}
