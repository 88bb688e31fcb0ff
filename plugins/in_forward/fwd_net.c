/*
 * in_forward sockets: the TCP listener, one struct fwd_conn per accepted
 * connection (non-blocking, driven by its fwd_sess), and the UDP
 * heartbeat socket on the same port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "in_forward/fwd.h"
#include "loop/loop.h"

/* Replies queued for a peer that does not read them: then it is gone. */
#define FWD_OUT_MAX (1u << 20)
/* Bytes read from one connection per loop iteration (fairness). */
#define FWD_READ_BUDGET (4u << 20)
/* Retry delay after a full buffer refused events, and after EMFILE. */
#define FWD_RETRY_MS 200
#define FWD_ACCEPT_PAUSE_MS 1000

struct fwd_conn {
    struct fwd *f;               /* borrowed */
    int fd;
    struct sk_io *io;
    struct sk_timer *retry;
    struct fwd_sess sess;
    struct sk_buf out;           /* replies not yet written */
    int io_events;               /* what io is armed for */
    bool blocked;                /* the session holds refused events */
    bool eof;                    /* the peer sent FIN */
    bool closing;                /* close once out is written */
    struct sockaddr_storage peer;
    char addr[INET6_ADDRSTRLEN];
    char host[NI_MAXHOST];
    struct fwd_conn *prev;
    struct fwd_conn *next;
};

static void conn_free(struct fwd_conn *c, bool graceful)
{
    struct fwd *f = c->f;
    const struct fwd_sess_stats *st = &c->sess.stats;

    if (c->fd >= 0 && graceful) {
        /* The last reply (PONG, ack) must not be cut by an RST. */
        struct linger lg = {0, 0};

        (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    f->totals.messages += st->messages;
    f->totals.events += st->events;
    f->totals.acks += st->acks;
    f->totals.invalid += st->invalid;
    f->totals.broken += st->broken;
    sk_io_destroy(c->io);
    sk_timer_destroy(c->retry);
    fwd_sess_cleanup(&c->sess);
    sk_buf_cleanup(&c->out);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else if (f->conns == c) {
        f->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    sk_free(c);
}

/* Arms the watcher for what the connection waits for now. */
static void conn_arm(struct fwd_conn *c)
{
    bool read = !c->blocked && !c->eof && !c->closing;
    int events = (read ? SK_IO_READ : 0) | (c->out.len > 0 ? SK_IO_WRITE : 0);

    if (events == c->io_events) {
        return;
    }
    sk_io_stop(c->io);
    if (events != 0) {
        sk_io_set(c->io, c->fd, events);
        sk_io_start(c->io);
    }
    c->io_events = events;
}

/* Writes what it can of c->out. 0, or SK_EIO when the peer is gone. */
static int conn_flush(struct fwd_conn *c)
{
    while (c->out.len > 0) {
        ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        }
        if (n <= 0) {
            return SK_EIO;
        }
        sk_buf_consume(&c->out, (size_t)n);
    }
    return 0;
}

static int conn_send(void *arg, const char *p, size_t n)
{
    struct fwd_conn *c = arg;
    int rc = sk_buf_append(&c->out, p, n);

    return rc < 0 ? rc : conn_flush(c);
}

static int conn_emit(void *arg, const char *tag, const struct sk_events *ev)
{
    struct fwd_conn *c = arg;

    return sk_emit(c->f->ins, tag, ev);
}

static const struct fwd_sess_ops conn_ops = {conn_emit, conn_send};

/* Acts on a session result. Returns false when c was freed. */
static bool conn_result(struct fwd_conn *c, enum fwd_sess_result r)
{
    if (r == FWD_SESS_MORE && c->eof) {
        r = fwd_sess_eof(&c->sess);
    }
    switch (r) {
    case FWD_SESS_MORE:
        break;
    case FWD_SESS_BLOCKED:
        c->blocked = true;
        sk_timer_start(c->retry, FWD_RETRY_MS, 0);
        break;
    case FWD_SESS_DONE:
        c->closing = true;
        break;
    case FWD_SESS_ERROR:
        c->f->totals.errors++;
        conn_free(c, false);
        return false;
    }
    if (c->closing && c->out.len == 0) {
        conn_free(c, true);
        return false;
    }
    conn_arm(c);
    return true;
}

/* Reads and processes until EAGAIN, EOF, a held message or the budget. */
static bool conn_read(struct fwd_conn *c)
{
    size_t budget = FWD_READ_BUDGET;
    enum fwd_sess_result r = FWD_SESS_MORE;

    while (r == FWD_SESS_MORE && budget > 0 && !c->eof) {
        char *p;
        size_t room;
        ssize_t n;
        int rc = fwd_sess_space(&c->sess, &p, &room);

        if (rc == SK_EAGAIN) {
            break;
        }
        if (rc < 0) {
            r = fwd_sess_process(&c->sess); /* reports the oversized message */
            r = r == FWD_SESS_MORE ? FWD_SESS_ERROR : r;
            break;
        }
        n = read(c->fd, p, room);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n < 0) {
            sk_log(SK_LOG_DEBUG, "%s: read from %s: %s", c->f->ins->id, c->addr, strerror(errno));
            conn_free(c, false);
            return false;
        }
        c->eof = n == 0;
        fwd_sess_filled(&c->sess, (size_t)n);
        budget -= (size_t)n < budget ? (size_t)n : budget;
        r = fwd_sess_process(&c->sess);
    }
    return conn_result(c, r);
}

static void on_conn_io(struct sk_io *w, int revents, void *arg)
{
    struct fwd_conn *c = arg;

    (void)w;
    if ((revents & SK_IO_WRITE) && conn_flush(c) < 0) {
        conn_free(c, false);
        return;
    }
    if ((revents & SK_IO_READ) && !c->blocked && !c->closing) {
        (void)conn_read(c);
        return;
    }
    (void)conn_result(c, FWD_SESS_MORE);
}

static void on_conn_retry(struct sk_timer *t, void *arg)
{
    struct fwd_conn *c = arg;

    (void)t;
    c->blocked = false;
    (void)conn_result(c, fwd_sess_process(&c->sess));
}

static void peer_names(struct fwd *f, struct fwd_conn *c)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->peer;
    const void *a = NULL;
    int family = sa->sa_family;

    if (family == AF_INET) {
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else if (family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

        a = a6;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            a = a6->s6_addr + 12;
            family = AF_INET;
        }
    }
    if (a == NULL || inet_ntop(family, a, c->addr, sizeof(c->addr)) == NULL) {
        snprintf(c->addr, sizeof(c->addr), "unknown");
    }
    snprintf(c->host, sizeof(c->host), "%s", c->addr);
    /* Blocking reverse lookup, once per connection, only when asked for
     * (source_hostname_key): as Fluentd does at accept time. */
    if (f->resolve && getnameinfo(sa, sizeof(c->peer), c->host, sizeof(c->host), NULL, 0,
                                  NI_NAMEREQD) != 0) {
        snprintf(c->host, sizeof(c->host), "%s", c->addr);
    }
}

static void conn_options(struct fwd *f, int fd)
{
    struct linger lg = {1, (int)f->conf->linger_timeout};
    int one = 1;

    /* Fluentd sets SO_LINGER {1, linger_timeout}: with 0, a close sends
     * RST and leaves no TIME_WAIT behind. */
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (f->conf->send_keepalive_packet) {
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    }
}

static void conn_open(struct fwd *f, int fd, const struct sockaddr_storage *peer)
{
    struct fwd_conn *c = sk_calloc(1, sizeof(*c));

    if (c == NULL) {
        close(fd);
        return;
    }
    c->f = f;
    c->fd = fd;
    c->peer = *peer;
    sk_buf_init(&c->out, FWD_OUT_MAX);
    c->next = f->conns;
    if (f->conns != NULL) {
        f->conns->prev = c;
    }
    f->conns = c;
    f->totals.connections++;
    conn_options(f, fd);
    peer_names(f, c);
    c->io = sk_io_create(f->loop, fd, SK_IO_READ, on_conn_io, c);
    c->retry = sk_timer_create(f->loop, on_conn_retry, c);
    if (c->io == NULL || c->retry == NULL ||
        fwd_sess_init(&c->sess, &f->sess_conf, &conn_ops, c,
                      (const struct sockaddr *)&c->peer, c->addr, c->host) < 0) {
        sk_log(SK_LOG_ERROR, "%s: cannot set up the connection from %s", f->ins->id, c->addr);
        conn_free(c, false);
        return;
    }
    sk_log(SK_LOG_TRACE, "%s: accepted a connection from %s", f->ins->id, c->addr);
    (void)conn_result(c, FWD_SESS_MORE);
}

static void on_accept_resume(struct sk_timer *t, void *arg)
{
    struct fwd *f = arg;

    (void)t;
    sk_io_start(f->tcp_io);
}

static void on_accept(struct sk_io *w, int revents, void *arg)
{
    struct fwd *f = arg;

    (void)w;
    (void)revents;
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(f->tcp_fd, (struct sockaddr *)&peer, &plen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd >= 0) {
            conn_open(f, fd, &peer);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Out of descriptors: pause instead of spinning on the listener. */
            sk_log_limited(&f->log, SK_LOG_ERROR, "%s: accept: %s; pausing for %d ms",
                           f->ins->id, strerror(errno), FWD_ACCEPT_PAUSE_MS);
            sk_io_stop(f->tcp_io);
            sk_timer_start(f->accept_timer, FWD_ACCEPT_PAUSE_MS, 0);
        }
        return;
    }
}

/* Heartbeat: any datagram is answered with one 0x00 byte. */
static void on_udp(struct sk_io *w, int revents, void *arg)
{
    struct fwd *f = arg;

    (void)w;
    (void)revents;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        char buf[1024];
        ssize_t n = recvfrom(f->udp_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

        if (n < 0) {
            return;
        }
        f->totals.heartbeats++;
        (void)sendto(f->udp_fd, "\0", 1, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
    }
}

/* A bound non-blocking socket of `type` on bind:port, or -1 (logged). */
static int listen_socket(struct fwd *f, int type)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    char port[16];
    int one = 1;
    int fd = -1;
    int gai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = type;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof(port), "%d", (int)f->conf->port);
    gai = getaddrinfo(f->conf->bind, port, &hints, &res);
    if (gai != 0) {
        sk_log(SK_LOG_ERROR, "%s: cannot resolve bind address %s: %s", f->ins->id, f->conf->bind,
               gai_strerror(gai));
        return -1;
    }
    fd = socket(res->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && type == SOCK_STREAM) {
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        (type == SOCK_STREAM &&
         listen(fd, f->conf->backlog > 0 ? (int)f->conf->backlog : SOMAXCONN) < 0)) {
        int err = errno;

        sk_log(SK_LOG_ERROR, "%s: cannot listen on %s:%s (%s): %s", f->ins->id, f->conf->bind,
               port, type == SOCK_STREAM ? "tcp" : "udp", strerror(err));
        if (fd >= 0) {
            close(fd);
        }
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int fwd_net_start(struct fwd *f)
{
    f->loop = sk_engine_loop(f->ins->engine);
    f->tcp_fd = listen_socket(f, SOCK_STREAM);
    f->udp_fd = f->tcp_fd >= 0 ? listen_socket(f, SOCK_DGRAM) : -1;
    if (f->tcp_fd < 0 || f->udp_fd < 0) {
        return SK_EIO;
    }
    f->tcp_io = sk_io_create(f->loop, f->tcp_fd, SK_IO_READ, on_accept, f);
    f->udp_io = sk_io_create(f->loop, f->udp_fd, SK_IO_READ, on_udp, f);
    f->accept_timer = sk_timer_create(f->loop, on_accept_resume, f);
    if (f->tcp_io == NULL || f->udp_io == NULL || f->accept_timer == NULL) {
        return SK_ENOMEM;
    }
    sk_io_start(f->tcp_io);
    sk_io_start(f->udp_io);
    sk_log(SK_LOG_INFO, "%s: listening port port=%d bind=\"%s\" (tcp, udp heartbeat)",
           f->ins->id, (int)f->conf->port, f->conf->bind);
    return 0;
}

void fwd_net_stop(struct fwd *f)
{
    const struct fwd_totals *t = &f->totals;
    bool started = f->tcp_io != NULL;

    /* Connections still holding events never acked them: clients resend. */
    while (f->conns != NULL) {
        conn_free(f->conns, false);
    }
    sk_io_destroy(f->tcp_io);
    sk_io_destroy(f->udp_io);
    sk_timer_destroy(f->accept_timer);
    f->tcp_io = f->udp_io = NULL;
    f->accept_timer = NULL;
    if (f->tcp_fd >= 0) {
        close(f->tcp_fd);
    }
    if (f->udp_fd >= 0) {
        close(f->udp_fd);
    }
    f->tcp_fd = f->udp_fd = -1;
    if (started) {
        sk_log(SK_LOG_INFO, "%s: stopped: %llu connections, %llu messages, %llu events, "
               "%llu acks, %llu invalid events skipped, %llu broken payloads, "
               "%llu connections closed on errors, %llu heartbeats", f->ins->id,
               (unsigned long long)t->connections, (unsigned long long)t->messages,
               (unsigned long long)t->events, (unsigned long long)t->acks,
               (unsigned long long)t->invalid, (unsigned long long)t->broken,
               (unsigned long long)t->errors, (unsigned long long)t->heartbeats);
    }
}
