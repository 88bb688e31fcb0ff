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
    int status;              /* final status code, 200..999 (1xx are skipped) */
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
    unsigned long long content_length;
    bool saw_te;             /* Transfer-Encoding named at least one coding */
    bool te_chunked;         /* ... and the last one was chunked */
    bool conn_close;         /* Connection: close */
    bool conn_keep_alive;    /* Connection: keep-alive (matters for HTTP/1.0) */
    int error;               /* sticky: the first error, returned by every later call */
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
 * SK_ETOOBIG (body over the buffer's max, headers over 64 KiB), SK_ENOMEM.
 * An error is final: later calls return it again. After a body error
 * (SK_ETOOBIG, SK_ENOMEM) the state is BODY and the results are valid. */
ssize_t sk_http_parser_feed(struct sk_http_parser *p, const char *data, size_t n) SK_WUR;

/* The peer closed the connection. Completes a response whose body runs to
 * the end of the connection (returns 0, state DONE); 0 as well when the
 * response was already complete; SK_EPROTO when it was cut short (or never
 * began), or the error feed returned. */
int sk_http_parser_eof(struct sk_http_parser *p) SK_WUR;

#endif
