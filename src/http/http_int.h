#ifndef SK_HTTP_HTTP_INT_H
#define SK_HTTP_HTTP_INT_H

/*
 * Private to src/http/: the request and connection objects shared by the
 * client (http.c: requests, the keep-alive pool, the wait queue, timeouts)
 * and the connection state machine (http_conn.c: connect, proxy tunnel,
 * TLS, send, receive).
 */
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"
#include "http/http_parse.h"
#include "http/http_url.h"

struct sk_dns_query;
struct sk_io;
struct sk_timer;
struct sk_tls_cache;
struct ssl_st;

#define HTTP_KEY_MAX 640

struct http_req {
    struct sk_http *h;
    struct http_req *next, *prev;   /* every live request */
    struct http_req *wait_next;     /* the queue for a free connection */
    bool waiting;
    sk_http_cb cb;
    void *arg;
    char *url_text;                 /* owned; url.target points into it */
    struct sk_url url;
    bool use_proxy;
    char *proxy_text;               /* owned */
    struct sk_url proxy;
    bool tunnel;                    /* https through the proxy: CONNECT */
    const struct sk_http_tls *tls;  /* borrowed until completion */
    char key[HTTP_KEY_MAX];         /* which pooled connections can carry it */
    struct sk_buf head;             /* the request line and headers */
    const char *body;               /* borrowed until completion */
    size_t body_len;
    size_t sent;                    /* of head + body */
    bool head_method;
    bool fresh_connect;
    int retries;
    int64_t start_ms;
    int64_t connect_timeout_ms;
    struct sk_timer *timer;         /* the whole request's timeout */
    struct http_conn *conn;
    struct sk_http_parser parser;
    struct sk_http_response res;
    char err[320];
};

enum http_conn_state {
    CONN_RESOLVING,
    CONN_CONNECTING,
    CONN_TUNNEL_SEND,
    CONN_TUNNEL_RECV,
    CONN_HANDSHAKE,
    CONN_SEND,
    CONN_RECV,
    CONN_IDLE
};

struct http_conn {
    struct sk_http *h;
    struct http_conn *next, *prev;
    enum http_conn_state state;
    char key[HTTP_KEY_MAX];
    int fd;
    struct sk_io *io;
    int io_events;
    struct sk_timer *connect_timer;
    struct sk_dns_query *dns;
    struct addrinfo *addrs;         /* owned */
    struct addrinfo *addr;          /* the one being tried */
    struct ssl_st *ssl;
    struct http_req *req;
    bool reused;                    /* has carried a request before */
    bool got_response_bytes;
    struct sk_buf tunnel;           /* the CONNECT request, then its answer */
    size_t tunnel_sent;
    struct sk_http_parser tunnel_parser;
    char err[320];
};

struct sk_http {
    struct sk_loop *loop;
    struct http_req *live;
    size_t nlive;
    struct http_req *wait_head, *wait_tail;
    struct http_conn *conns;
    size_t nconns;
    long max_conns;
    struct sk_tls_cache *tls_cache;
    char *rbuf;                     /* socket reads land here */
    int depth;                      /* entry points on the stack */
    bool destroy_requested;         /* sk_http_destroy ran inside a callback */
};

#define HTTP_RBUF_SIZE 65536

/* http_conn.c */
struct http_conn *http_conn_open(struct sk_http *h, struct http_req *r);
void http_conn_send_request(struct http_conn *c, struct http_req *r);
void http_conn_close(struct http_conn *c);

/* Every entry from the loop brackets its work with these, so a client
 * destroyed from inside a completion callback is freed only once nothing of
 * it is on the stack any more. */
void http_enter(struct sk_http *h);
void http_leave(struct sk_http *h);

/* http.c, called by the connection when the request it carries ends:
 * answered (err 0, the parser holds the answer) or failed. The connection
 * is already idle or closed. */
void http_req_answered(struct http_req *r);
void http_req_failed(struct http_req *r, bool may_retry, int err, const char *text);
/* A connection closed or went idle: queued requests may go now. */
void http_service_queue(struct sk_http *h);

/* http_req.c: the request head; base64 for the auth headers. */
int http_req_build_head(struct http_req *r, const struct sk_http_request *req);
int http_tunnel_build(struct sk_buf *out, const struct http_req *r);

#endif
