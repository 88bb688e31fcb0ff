/*
 * One connection's life: resolve, connect (each address in turn), open a
 * tunnel through the proxy for https (CONNECT), shake hands (TLS), then
 * send requests and read answers, one at a time, keeping the connection
 * for the next request while the server allows it. One libev watcher per
 * connection, re-armed for what the current state waits for.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http/http_dns.h"
#include "http/http_int.h"
#include "http/http_tls.h"
#include "loop/loop.h"
#include "util/alloc.h"

static void conn_ready(struct sk_io *w, int revents, void *arg);
static void start_handshake(struct http_conn *c);
static void start_sending(struct http_conn *c);
static void try_connect(struct http_conn *c);

static void conn_watch(struct http_conn *c, int events)
{
    if (c->io_events == events) {
        return;
    }
    c->io_events = events;
    sk_io_stop(c->io);
    if (events != 0) {
        sk_io_set(c->io, c->fd, events);
        sk_io_start(c->io);
    }
}

void http_conn_close(struct http_conn *c)
{
    struct sk_http *h = c->h;

    sk_dns_cancel(c->dns);
    sk_timer_destroy(c->connect_timer);
    sk_io_destroy(c->io);
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    if (c->addrs != NULL) {
        freeaddrinfo(c->addrs);
    }
    sk_http_parser_cleanup(&c->tunnel_parser);
    sk_buf_cleanup(&c->tunnel);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        h->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    h->nconns--;
    sk_free(c);
}

/* The request in flight ends with an error and the connection with it. A
 * request that failed on a reused connection before any answer came may go
 * again on a new one: the server may have closed an idle connection just as
 * the request left (curl does the same). */
static void conn_fail(struct http_conn *c, int err, const char *text)
{
    struct http_req *r = c->req;
    bool may_retry = c->reused && !c->got_response_bytes;
    struct sk_http *h = c->h;
    char why[sizeof(c->err)];

    snprintf(why, sizeof(why), "%s", text); /* text may be c->err, freed below */
    if (r != NULL) {
        r->conn = NULL;
        c->req = NULL;
    }
    http_conn_close(c);
    if (r != NULL) {
        http_req_failed(r, may_retry, err, why);
    }
    http_service_queue(h);
}

static void conn_fail_errno(struct http_conn *c, const char *what, int errnum)
{
    snprintf(c->err, sizeof(c->err), "%s: %s", what, strerror(errnum));
    conn_fail(c, SK_EIO, c->err);
}

static void connect_timed_out(struct sk_timer *t, void *arg)
{
    struct http_conn *c = arg;
    struct sk_http *h = c->h;

    (void)t;
    http_enter(h);
    snprintf(c->err, sizeof(c->err), "connection timed out after %lld ms",
             c->req != NULL ? (long long)c->req->connect_timeout_ms : 0LL);
    conn_fail(c, SK_ETIMEOUT, c->err);
    http_leave(h);
}

static void set_socket_options(int fd)
{
    int one = 1;
    int idle = 60;

    /* Headers and body leave in one go; nothing to gain from Nagle. Keepalive
     * probes find a half-dead connection through a NAT or proxy (curl's
     * CURLOPT_TCP_KEEPALIVE, 60 s). */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle));
}

static const char *target_host(const struct http_req *r)
{
    return r->use_proxy ? r->proxy.host : r->url.host;
}

static unsigned target_port(const struct http_req *r)
{
    return r->use_proxy ? r->proxy.port : r->url.port;
}

static void connect_failed(struct http_conn *c, int errnum)
{
    struct http_req *r = c->req;

    close(c->fd);
    c->fd = -1;
    c->addr = c->addr->ai_next;
    if (c->addr != NULL) {
        try_connect(c);
        return;
    }
    snprintf(c->err, sizeof(c->err), "failed to connect to %s port %u: %s",
             r != NULL ? target_host(r) : "?", r != NULL ? target_port(r) : 0, strerror(errnum));
    conn_fail(c, SK_EIO, c->err);
}

static void after_connect(struct http_conn *c)
{
    struct http_req *r = c->req;

    if (r->tunnel) {
        sk_buf_reset(&c->tunnel);
        if (http_tunnel_build(&c->tunnel, r) < 0) {
            conn_fail(c, SK_ENOMEM, "out of memory");
            return;
        }
        c->tunnel_sent = 0;
        c->state = CONN_TUNNEL_SEND;
        conn_watch(c, SK_IO_WRITE);
    } else if (r->url.tls) {
        start_handshake(c);
    } else {
        start_sending(c);
    }
}

static void try_connect(struct http_conn *c)
{
    struct addrinfo *a = c->addr;

    c->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (c->fd < 0) {
        conn_fail_errno(c, "socket", errno);
        return;
    }
    set_socket_options(c->fd);
    c->state = CONN_CONNECTING;
    c->io_events = 0;
    if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0) {
        after_connect(c);
    } else if (errno == EINPROGRESS) {
        conn_watch(c, SK_IO_WRITE);
    } else {
        connect_failed(c, errno);
    }
}

static void resolved(struct addrinfo *res, int err, const char *text, void *arg)
{
    struct http_conn *c = arg;
    struct sk_http *h = c->h;

    http_enter(h);
    if (err != 0) {
        snprintf(c->err, sizeof(c->err), "%s", text);
        conn_fail(c, err == SK_ENOENT ? SK_EIO : err, c->err);
    } else {
        c->addrs = res;
        c->addr = res;
        try_connect(c);
    }
    http_leave(h);
}

struct http_conn *http_conn_open(struct sk_http *h, struct http_req *r)
{
    struct http_conn *c = sk_calloc(1, sizeof(*c));
    int rc;

    if (c == NULL) {
        return NULL;
    }
    c->h = h;
    c->fd = -1;
    memcpy(c->key, r->key, sizeof(c->key));
    sk_buf_init(&c->tunnel, 65536);
    c->io = sk_io_create(h->loop, -1, 0, conn_ready, c);
    c->connect_timer = sk_timer_create(h->loop, connect_timed_out, c);
    c->next = h->conns;
    if (h->conns != NULL) {
        h->conns->prev = c;
    }
    h->conns = c;
    h->nconns++;
    if (c->io == NULL || c->connect_timer == NULL) {
        http_conn_close(c);
        return NULL;
    }
    c->req = r;
    r->conn = c;
    c->state = CONN_RESOLVING;
    if (r->connect_timeout_ms > 0) {
        sk_timer_start(c->connect_timer, r->connect_timeout_ms, 0);
    }
    rc = sk_dns_resolve(h->loop, target_host(r), target_port(r), resolved, c, &c->dns);
    if (rc < 0) {
        r->conn = NULL;
        c->req = NULL;
        http_conn_close(c);
        return NULL;
    }
    return c;
}

/* ---- proxy tunnel ---- */

static void tunnel_send(struct http_conn *c)
{
    while (c->tunnel_sent < c->tunnel.len) {
        ssize_t n = send(c->fd, c->tunnel.data + c->tunnel_sent, c->tunnel.len - c->tunnel_sent,
                         MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return;
            }
            conn_fail_errno(c, "sending CONNECT to the proxy", errno);
            return;
        }
        c->tunnel_sent += (size_t)n;
    }
    sk_buf_reset(&c->tunnel);
    sk_http_parser_init(&c->tunnel_parser, &c->tunnel, true);
    c->state = CONN_TUNNEL_RECV;
    conn_watch(c, SK_IO_READ);
}

static void tunnel_recv(struct http_conn *c)
{
    /* Read byte-wise bounded: nothing past the proxy's answer may be taken
     * from the socket, it belongs to the TLS session. The answer is short. */
    char buf[512];

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);
        ssize_t used;

        if (n == 0) {
            conn_fail(c, SK_EIO, "the proxy closed the connection during CONNECT");
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                conn_fail_errno(c, "reading the proxy's CONNECT answer", errno);
            }
            return;
        }
        used = sk_http_parser_feed(&c->tunnel_parser, buf, (size_t)n);
        if (used < 0) {
            conn_fail(c, SK_EIO, "the proxy's answer to CONNECT is not HTTP");
            return;
        }
        if (recv(c->fd, buf, (size_t)used, 0) != used) {
            conn_fail_errno(c, "reading the proxy's CONNECT answer", errno);
            return;
        }
        if (c->tunnel_parser.state == SK_HTTP_PARSE_DONE) {
            break;
        }
    }
    if (c->tunnel_parser.status / 100 != 2) {
        snprintf(c->err, sizeof(c->err), "the proxy answered %d to CONNECT",
                 c->tunnel_parser.status);
        conn_fail(c, SK_EIO, c->err);
        return;
    }
    sk_http_parser_cleanup(&c->tunnel_parser);
    sk_buf_cleanup(&c->tunnel);
    start_handshake(c);
}

/* ---- TLS ---- */

static void handshake_step(struct http_conn *c)
{
    int rc;

    ERR_clear_error();
    rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        start_sending(c);
        return;
    }
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        conn_watch(c, SK_IO_READ);
        return;
    case SSL_ERROR_WANT_WRITE:
        conn_watch(c, SK_IO_WRITE);
        return;
    default:
        sk_tls_describe_error(c->ssl, SSL_get_error(c->ssl, rc), c->req->url.host, c->err,
                              sizeof(c->err));
        conn_fail(c, SK_EIO, c->err);
    }
}

static void start_handshake(struct http_conn *c)
{
    struct http_req *r = c->req;
    struct ssl_ctx_st *ctx = sk_tls_ctx(&c->h->tls_cache, r->tls, c->err, sizeof(c->err));
    bool verify = r->tls == NULL || r->tls->verify;

    if (ctx == NULL) {
        conn_fail(c, SK_EIO, c->err);
        return;
    }
    c->ssl = sk_tls_session(ctx, c->fd, r->url.host, verify, c->err, sizeof(c->err));
    if (c->ssl == NULL) {
        conn_fail(c, SK_EIO, c->err);
        return;
    }
    c->state = CONN_HANDSHAKE;
    handshake_step(c);
}

/* ---- requests ---- */

/* Sends what the socket takes: 1 done, 0 more later, -1 failed (c is gone). */
static int send_plain(struct http_conn *c, struct http_req *r)
{
    size_t total = r->head.len + r->body_len;

    while (r->sent < total) {
        struct iovec iov[2];
        int n = 0;
        ssize_t w;

        if (r->sent < r->head.len) {
            iov[n].iov_base = r->head.data + r->sent;
            iov[n++].iov_len = r->head.len - r->sent;
        }
        if (r->body_len > 0) {
            size_t off = r->sent > r->head.len ? r->sent - r->head.len : 0;

            iov[n].iov_base = (void *)(r->body + off);
            iov[n++].iov_len = r->body_len - off;
        }
        w = sendmsg(c->fd, &(struct msghdr){.msg_iov = iov, .msg_iovlen = (size_t)n},
                    MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return 0;
            }
            conn_fail_errno(c, "sending the request", errno);
            return -1;
        }
        r->sent += (size_t)w;
    }
    return 1;
}

static int send_tls(struct http_conn *c, struct http_req *r)
{
    size_t total = r->head.len + r->body_len;

    while (r->sent < total) {
        const char *p;
        size_t len;
        int w;

        if (r->sent < r->head.len) {
            p = r->head.data + r->sent;
            len = r->head.len - r->sent;
        } else {
            p = r->body + (r->sent - r->head.len);
            len = total - r->sent;
        }
        ERR_clear_error();
        w = SSL_write(c->ssl, p, len > (1u << 30) ? (1 << 30) : (int)len);
        if (w <= 0) {
            int e = SSL_get_error(c->ssl, w);

            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                /* Readable too: an answer may come before the body is out. */
                conn_watch(c, e == SSL_ERROR_WANT_READ ? SK_IO_READ
                                                       : SK_IO_WRITE | SK_IO_READ);
                return 0;
            }
            sk_tls_describe_error(c->ssl, e, r->url.host, c->err, sizeof(c->err));
            conn_fail(c, SK_EIO, c->err);
            return -1;
        }
        r->sent += (size_t)w;
    }
    return 1;
}

static void send_step(struct http_conn *c)
{
    struct http_req *r = c->req;
    int rc = c->ssl != NULL ? send_tls(c, r) : send_plain(c, r);

    if (rc == 0 && c->ssl == NULL) {
        conn_watch(c, SK_IO_WRITE | SK_IO_READ);
    }
    if (rc == 1) {
        c->state = CONN_RECV;
        conn_watch(c, SK_IO_READ);
    }
}

static void start_sending(struct http_conn *c)
{
    sk_timer_stop(c->connect_timer);
    c->state = CONN_SEND;
    c->got_response_bytes = false;
    send_step(c);
}

void http_conn_send_request(struct http_conn *c, struct http_req *r)
{
    c->req = r;
    r->conn = c;
    c->reused = true;
    /* Sent from the loop, not from here: sk_http_submit never fails a
     * request (nor calls its callback) before it returns. */
    c->state = CONN_SEND;
    c->got_response_bytes = false;
    conn_watch(c, SK_IO_WRITE | SK_IO_READ);
}

/* The answer is complete: the connection goes back to the pool (or closes),
 * then the request completes. */
static void answered(struct http_conn *c, bool clean_end)
{
    struct http_req *r = c->req;
    struct sk_http *h = c->h;

    c->req = NULL;
    r->conn = NULL;
    if (clean_end && r->parser.keep_alive) {
        c->state = CONN_IDLE;
        conn_watch(c, SK_IO_READ);
    } else {
        http_conn_close(c);
    }
    http_req_answered(r);
    http_service_queue(h);
}

/* Reads into buf: >0 bytes, 0 the peer closed, -1 nothing now, -2 failed (c gone). */
static ssize_t conn_read(struct http_conn *c, char *buf, size_t size)
{
    if (c->ssl != NULL) {
        int n;

        ERR_clear_error();
        n = SSL_read(c->ssl, buf, (int)size);
        if (n > 0) {
            return n;
        }
        switch (SSL_get_error(c->ssl, n)) {
        case SSL_ERROR_WANT_READ:
            conn_watch(c, SK_IO_READ);
            return -1;
        case SSL_ERROR_WANT_WRITE:
            conn_watch(c, SK_IO_WRITE);
            return -1;
        case SSL_ERROR_ZERO_RETURN:
            return 0;
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) {
                return 0; /* closed without close_notify: as curl, an end */
            }
            /* fall through */
        default:
            sk_tls_describe_error(c->ssl, SSL_get_error(c->ssl, n), c->req->url.host, c->err,
                                  sizeof(c->err));
            conn_fail(c, SK_EIO, c->err);
            return -2;
        }
    }
    for (;;) {
        ssize_t n = recv(c->fd, buf, size, 0);

        if (n >= 0) {
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            return -1;
        }
        conn_fail_errno(c, "reading the answer", errno);
        return -2;
    }
}

/* Hands n bytes of the answer to the parser. 0: more to come; 1: the answer
 * is complete and delivered; -1: failed. Unless 0 the request is over and c
 * may be gone. Without `whole_body_sent` the connection is spent after it. */
static int feed_answer(struct http_conn *c, const char *buf, ssize_t n, bool whole_body_sent)
{
    struct http_req *r = c->req;
    ssize_t used;

    c->got_response_bytes = true;
    used = sk_http_parser_feed(&r->parser, buf, (size_t)n);
    if (used < 0) {
        conn_fail(c, used == SK_ETOOBIG ? SK_ETOOBIG : SK_EIO,
                  used == SK_ETOOBIG ? "the answer is larger than allowed"
                                     : "the answer is not valid HTTP/1.1");
        return -1;
    }
    if (r->parser.state != SK_HTTP_PARSE_DONE) {
        return 0;
    }
    /* Bytes past the answer belong to no request: do not reuse. */
    answered(c, whole_body_sent && used == n && (c->ssl == NULL || SSL_pending(c->ssl) == 0));
    return 1;
}

static void recv_step(struct http_conn *c)
{
    struct http_req *r = c->req;
    char *buf = c->h->rbuf;

    for (;;) {
        ssize_t n = conn_read(c, buf, HTTP_RBUF_SIZE);

        if (n == -1 || n == -2) {
            return;
        }
        if (n == 0) {
            if (sk_http_parser_eof(&r->parser) == 0) {
                answered(c, false);
            } else {
                conn_fail(c, SK_EIO, c->got_response_bytes
                                         ? "the server closed the connection mid-answer"
                                         : "the server closed the connection without answering");
            }
            return;
        }
        if (feed_answer(c, buf, n, true) != 0) {
            return;
        }
    }
}

/* An idle pooled connection became readable: the server closed it (or sent
 * something unasked for). Either way it cannot carry a request any more. */
static void idle_readable(struct http_conn *c)
{
    struct sk_http *h = c->h;

    if (c->ssl != NULL) {
        /* TLS 1.3 servers send session tickets after the handshake; reading
         * them consumes no application data and leaves the connection good. */
        char b[1];
        int n;

        ERR_clear_error();
        n = SSL_read(c->ssl, b, sizeof(b));
        if (n <= 0 && SSL_get_error(c->ssl, n) == SSL_ERROR_WANT_READ) {
            return;
        }
    }
    http_conn_close(c);
    http_service_queue(h);
}

/*
 * The server answers while the body is still going out: typically a 413
 * from a front end that will not read a body that large, followed by a
 * close. Reads that answer (curl does the same) so the caller sees the 413
 * rather than a reset. Returns true while the request is still sending,
 * false once it ended (answered or failed; c may be gone).
 */
static bool early_answer(struct http_conn *c)
{
    char *buf = c->h->rbuf;

    for (;;) {
        ssize_t n = conn_read(c, buf, HTTP_RBUF_SIZE);

        if (n == -2) {
            return false;
        }
        if (n == -1) {
            if (c->ssl == NULL || c->io_events == SK_IO_READ) {
                conn_watch(c, SK_IO_WRITE | SK_IO_READ);
            }
            return true;
        }
        if (n == 0) {
            conn_fail(c, SK_EIO, "the server closed the connection while the request was sent");
            return false;
        }
        if (feed_answer(c, buf, n, false) != 0) {
            return false; /* answered (the connection is spent) or failed */
        }
    }
}

static void conn_step(struct http_conn *c, int revents)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    switch (c->state) {
    case CONN_RESOLVING:
        break;
    case CONN_CONNECTING:
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
            soerr = errno;
        }
        if (soerr == EINPROGRESS) {
            return;
        }
        if (soerr != 0) {
            connect_failed(c, soerr);
        } else {
            after_connect(c);
        }
        break;
    case CONN_TUNNEL_SEND:
        tunnel_send(c);
        break;
    case CONN_TUNNEL_RECV:
        tunnel_recv(c);
        break;
    case CONN_HANDSHAKE:
        handshake_step(c);
        break;
    case CONN_SEND:
        if ((revents & SK_IO_READ) && !early_answer(c)) {
            break;
        }
        send_step(c);
        break;
    case CONN_RECV:
        recv_step(c);
        break;
    case CONN_IDLE:
        idle_readable(c);
        break;
    }
}

static void conn_ready(struct sk_io *w, int revents, void *arg)
{
    struct http_conn *c = arg;
    struct sk_http *h = c->h;

    (void)w;
    http_enter(h);
    conn_step(c, revents);
    http_leave(h);
}
