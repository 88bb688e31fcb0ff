#ifndef SK_HTTP_HTTP_H
#define SK_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * Asynchronous HTTP/1.1 client on the event loop (skiff's own, no libcurl):
 * http and https, proxies (CONNECT for https), basic auth, keep-alive
 * connections reused across requests, several requests in flight, names
 * resolved off the loop. No call blocks the loop.
 *
 * A request is described by struct sk_http_request (borrowed until the
 * completion callback), and completes exactly once through its callback,
 * never from inside sk_http_submit, unless sk_http_submit fails (then the
 * callback never runs).
 */
struct sk_loop;
struct sk_http;

struct sk_http_header {
    const char *name;
    const char *value;
};

struct sk_http_tls {
    bool verify;             /* verify peer and host name */
    const char *ca_file;     /* NULL: system store */
    const char *client_cert; /* NULL: none */
    const char *client_key;
    const char *client_key_pass;
    int min_version;         /* 0 default, else 10, 11, 12, 13 (TLSv1.x) */
};

struct sk_http_request {
    const char *method;      /* "GET", "POST", "PUT", "HEAD", "DELETE" */
    const char *url;         /* full URL: scheme://host:port/path?query */
    const struct sk_http_header *headers;
    size_t nheaders;
    const void *body;        /* borrowed until completion; may be NULL */
    size_t body_len;
    const char *user;        /* basic auth, or NULL */
    const char *password;
    const char *proxy;       /* NULL: environment (HTTP(S)_PROXY/NO_PROXY); "" none */
    const struct sk_http_tls *tls;
    int64_t timeout_ms;      /* whole request; 0 = none */
    int64_t connect_timeout_ms;
    size_t max_response;     /* bytes kept of the body; more is an error */
    bool fresh_connect;      /* a new connection, not one from the keep-alive cache */
};

struct sk_http_response {
    int status;              /* HTTP status; 0 when no response (see err) */
    int err;                 /* 0, or SK_ETIMEOUT / SK_EIO (connect, reset) / SK_ETOOBIG */
    const char *err_text;    /* what went wrong, for the log; NULL if err is 0 */
    struct sk_buf body;      /* owned by the client; valid during the callback */
    const char *retry_after; /* Retry-After header value or NULL (valid during callback) */
    const char *content_type;
    double total_s;          /* request time */
};

typedef void (*sk_http_cb)(const struct sk_http_response *res, void *arg);

/* Creates the client for `loop`. `max_connections` caps open sockets. */
struct sk_http *sk_http_create(struct sk_loop *loop, long max_connections);

/* Cancels every request in flight (their callbacks run with SK_ECLOSED)
 * and frees the client. Accepts NULL. */
void sk_http_destroy(struct sk_http *h);

/* Starts a request. 0 or SK_ENOMEM/SK_EINVAL (then cb never runs). */
int sk_http_submit(struct sk_http *h, const struct sk_http_request *req, sk_http_cb cb,
                   void *arg) SK_WUR;

/* Requests in flight. */
size_t sk_http_pending(const struct sk_http *h);

#endif
