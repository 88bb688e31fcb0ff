#ifndef SK_HTTP_HTTP_PARSE_H
#define SK_HTTP_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"

/*
 * Incremental HTTP/1.1 response parser: the status line, the headers skiff
 * reads, and the body framed by Content-Length, chunked transfer coding or
 * the end of the connection (RFC 9112). Bytes are fed as they arrive from
 * the socket, in pieces of any size. Interim 1xx responses are skipped.
 * Pure: no I/O, no allocation except into `body` and the header line buffer.
 */
enum sk_http_parse_state {
    SK_HTTP_PARSE_STATUS,   /* reading the status line */
    SK_HTTP_PARSE_HEADERS,
    SK_HTTP_PARSE_BODY,
    SK_HTTP_PARSE_DONE      /* a complete response */
};

struct sk_http_parser {
    /* Results, valid once state >= SK_HTTP_PARSE_BODY (all of them at DONE). */
    int status;              /* final status code, 100..999 */
    int minor;               /* HTTP/1.<minor> */
    bool keep_alive;         /* the connection may carry another request */
    char retry_after[64];    /* Retry-After value, "" when absent */
    char content_type[128];  /* Content-Type value, "" when absent */
    enum sk_http_parse_state state;

    /* Private. */
    struct sk_buf *body;     /* borrowed: the body goes here, bounded by its max */
    bool head;               /* the answer to a HEAD request: no body */
    struct sk_buf line;      /* a status/header/chunk-size line split across feeds */
    int framing;             /* none, length, chunked, close */
    unsigned long long remaining; /* body or chunk bytes left */
    int chunk_state;
    size_t header_bytes;     /* bounded: a peer cannot make skiff buffer forever */
    bool saw_length;
};

/* Prepares a parser for one response. The body is appended to `body`
 * (caller-owned; its max bounds the body: more is SK_ETOOBIG). `head`: the
 * request was HEAD, so no body follows whatever the headers say. */
void sk_http_parser_init(struct sk_http_parser *p, struct sk_buf *body, bool head);

/* Frees the line buffer (not the body). */
void sk_http_parser_cleanup(struct sk_http_parser *p);

/* Consumes bytes of the response. Returns how many were used (fewer than n
 * only once the response is complete: state DONE; the rest belongs to no
 * request and makes the connection unusable), or SK_EPROTO (malformed),
 * SK_ETOOBIG (body over the buffer's max, headers over 64 KiB), SK_ENOMEM. */
ssize_t sk_http_parser_feed(struct sk_http_parser *p, const char *data, size_t n);

/* The peer closed the connection. Completes a response whose body runs to
 * the end of the connection (returns 0, state DONE); SK_EPROTO when the
 * response was cut short (or never began). */
int sk_http_parser_eof(struct sk_http_parser *p);

#endif
