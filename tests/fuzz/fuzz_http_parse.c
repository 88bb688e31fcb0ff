/*
 * libFuzzer target for the HTTP/1.1 response parser (src/http/http_parse.c).
 *
 * Build by hand from the repository root, and run:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=c11 \
 *     -Isrc tests/fuzz/fuzz_http_parse.c src/http/http_parse.c \
 *     src/util/buf.c src/util/alloc.c src/util/err.c -o fuzz_http_parse
 *   mkdir -p corpus && ./fuzz_http_parse -max_len=4096 -max_total_time=60 corpus
 *
 * (seed it with responses behind two zero bytes, e.g. printf '\0\0HTTP/1.1
 * 200 OK\r\nContent-Length: 2\r\n\r\nok' > corpus/length).
 *
 * Input: byte 0 holds flags (bit 0: the request was HEAD; bit 1: the peer
 * closes after the input; bits 2-4: the body buffer's max, from max_table);
 * byte 1 the count k (mod 8) of piece sizes that follow; then k bytes, each
 * a piece size minus one, used in turn; the rest is the response.
 *
 * Properties: nothing crashes or leaks; feed returns an error or 0..n, fewer
 * than n only at DONE; the response fed in those pieces gives what it gives
 * fed whole (error, bytes consumed, status, keep-alive, headers, body); an
 * error sticks; at DONE the status is 200..999, the minor 0 or 1, the body
 * within the max, and a response completed only by the close is not
 * keep-alive.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parse.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t max_table[8] = { 0, 1, 5, 16, 100, 1024, 65536, 1u << 20 };

struct run {
    int rc;
    size_t used;
    bool done_before_eof;
    struct sk_http_parser p;
    struct sk_buf body;
};

static void check_feed(const struct sk_http_parser *p, ssize_t k, size_t n)
{
    if (k > (ssize_t)n || (k >= 0 && (size_t)k < n && p->state != SK_HTTP_PARSE_DONE)) {
        abort();
    }
}

/* Feeds text in pieces of the sizes in `sizes` (cycled; none: whole). */
static void run_parser(struct run *r, const char *text, size_t len, const uint8_t *sizes,
                       size_t nsizes, uint8_t flags)
{
    size_t off = 0;
    size_t i = 0;

    memset(r, 0, sizeof(*r));
    sk_buf_init(&r->body, max_table[(flags >> 2) & 7]);
    sk_http_parser_init(&r->p, &r->body, (flags & 1) != 0);
    do {
        size_t n = nsizes > 0 ? (size_t)sizes[i % nsizes] + 1 : len;
        ssize_t k;

        if (n > len - off) {
            n = len - off;
        }
        i++;
        k = sk_http_parser_feed(&r->p, text + off, n);
        check_feed(&r->p, k, n);
        if (k < 0) {
            r->rc = (int)k;
            /* The error sticks. */
            if (sk_http_parser_feed(&r->p, text, len) != k || sk_http_parser_eof(&r->p) != k) {
                abort();
            }
            return;
        }
        r->used += (size_t)k;
        off += n;
        if ((size_t)k < n) {
            break;
        }
    } while (off < len);
    r->done_before_eof = r->p.state == SK_HTTP_PARSE_DONE;
    if ((flags & 2) != 0) {
        r->rc = sk_http_parser_eof(&r->p);
    }
}

static void check_done(const struct run *r)
{
    const struct sk_http_parser *p = &r->p;

    if (r->rc != 0 || p->state != SK_HTTP_PARSE_DONE) {
        return;
    }
    if (p->status < 200 || p->status > 999 || (p->minor != 0 && p->minor != 1)) {
        abort();
    }
    if (r->body.len > r->body.max) {
        abort();
    }
    if (!r->done_before_eof && p->keep_alive) {
        abort();
    }
    if (strlen(p->retry_after) >= sizeof(p->retry_after) ||
        strlen(p->content_type) >= sizeof(p->content_type)) {
        abort();
    }
}

/* Pieces must not change what the parser sees. */
static void check_same(const struct run *a, const struct run *b)
{
    if (a->rc != b->rc) {
        abort();
    }
    if (a->rc != 0) {
        return;
    }
    if (a->used != b->used || a->p.state != b->p.state || a->p.status != b->p.status ||
        a->p.minor != b->p.minor || a->p.keep_alive != b->p.keep_alive ||
        strcmp(a->p.retry_after, b->p.retry_after) != 0 ||
        strcmp(a->p.content_type, b->p.content_type) != 0 || a->body.len != b->body.len ||
        (a->body.len > 0 && memcmp(a->body.data, b->body.data, a->body.len) != 0)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run whole;
    struct run pieces;
    const uint8_t *sizes;
    size_t nsizes;
    uint8_t flags;

    if (size < 2) {
        return 0;
    }
    flags = data[0];
    nsizes = data[1] % 8;
    if (size < 2 + nsizes) {
        return 0;
    }
    sizes = data + 2;
    data += 2 + nsizes;
    size -= 2 + nsizes;
    run_parser(&whole, (const char *)data, size, NULL, 0, flags);
    run_parser(&pieces, (const char *)data, size, sizes, nsizes, flags);
    check_done(&whole);
    check_done(&pieces);
    check_same(&whole, &pieces);
    sk_http_parser_cleanup(&whole.p);
    sk_http_parser_cleanup(&pieces.p);
    sk_buf_cleanup(&whole.body);
    sk_buf_cleanup(&pieces.body);
    return 0;
}
