/*
 * One thread per lookup, detached. The query is shared by two owners, the
 * loop and the thread, counted in `refs`; whoever lets go last frees it.
 * The thread writes its answer into the query, then signals the eventfd:
 * the loop reads the answer only after that signal.
 */
#include "http/http_dns.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop/loop.h"
#include "util/alloc.h"

struct sk_dns_query {
    atomic_int refs;
    int efd;
    struct sk_io *io;            /* loop side */
    sk_dns_cb cb;
    void *arg;
    struct sk_dns_query **handle; /* cleared when the callback runs */
    char host[256];
    char port[8];
    struct addrinfo *res;        /* the thread's answer */
    int gai_rc;
};

static void query_release(struct sk_dns_query *q)
{
    if (atomic_fetch_sub(&q->refs, 1) == 1) {
        if (q->res != NULL) {
            freeaddrinfo(q->res);
        }
        if (q->efd >= 0) {
            close(q->efd);
        }
        sk_free(q);
    }
}

static void *lookup_thread(void *arg)
{
    struct sk_dns_query *q = arg;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_ADDRCONFIG};
    uint64_t one = 1;

    q->gai_rc = getaddrinfo(q->host, q->port, &hints, &q->res);
    if (write(q->efd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
        /* an eventfd write of 1 cannot fail short of a closed fd; nothing to tell */
    }
    query_release(q);
    return NULL;
}

static void answer_ready(struct sk_io *w, int revents, void *arg)
{
    struct sk_dns_query *q = arg;
    struct addrinfo *res = q->res;
    char text[320];
    int err = 0;

    (void)w;
    (void)revents;
    q->res = NULL;
    text[0] = '\0';
    if (q->gai_rc != 0) {
        err = q->gai_rc == EAI_NONAME || q->gai_rc == EAI_NODATA ? SK_ENOENT : SK_EIO;
        snprintf(text, sizeof(text), "could not resolve host %s: %s", q->host,
                 gai_strerror(q->gai_rc));
    }
    sk_io_destroy(q->io);
    q->io = NULL;
    *q->handle = NULL;
    q->cb(res, err, err ? text : NULL, q->arg);
    query_release(q);
}

/* A numeric address needs no thread and no DNS. */
static struct addrinfo *numeric(const char *host, unsigned port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char p[8];

    snprintf(p, sizeof(p), "%u", port);
    if (getaddrinfo(host, p, &hints, &res) != 0) {
        return NULL;
    }
    return res;
}

int sk_dns_resolve(struct sk_loop *loop, const char *host, unsigned port, sk_dns_cb cb, void *arg,
                   struct sk_dns_query **out)
{
    struct sk_dns_query *q;
    struct addrinfo *res = numeric(host, port);
    pthread_attr_t attr;
    pthread_t tid;
    int rc;

    *out = NULL;
    q = sk_calloc(1, sizeof(*q));
    if (q == NULL) {
        if (res != NULL) {
            freeaddrinfo(res);
        }
        return SK_ENOMEM;
    }
    /* A numeric answer still comes through the loop, so callers see one order. */
    q->res = res;
    atomic_init(&q->refs, 1);
    snprintf(q->host, sizeof(q->host), "%s", host);
    snprintf(q->port, sizeof(q->port), "%u", port);
    q->cb = cb;
    q->arg = arg;
    q->handle = out;
    q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->efd < 0) {
        q->efd = -1;
        query_release(q);
        return SK_EIO;
    }
    q->io = sk_io_create(loop, q->efd, SK_IO_READ, answer_ready, q);
    if (q->io == NULL) {
        query_release(q);
        return SK_ENOMEM;
    }
    sk_io_start(q->io);
    if (res != NULL) {
        uint64_t one = 1;

        rc = write(q->efd, &one, sizeof(one)) == (ssize_t)sizeof(one) ? 0 : SK_EIO;
    } else {
        atomic_fetch_add(&q->refs, 1);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&tid, &attr, lookup_thread, q) == 0 ? 0 : SK_EIO;
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            atomic_fetch_sub(&q->refs, 1);
        }
    }
    if (rc != 0) {
        sk_io_destroy(q->io);
        query_release(q);
        return rc;
    }
    *out = q;
    return 0;
}

void sk_dns_cancel(struct sk_dns_query *q)
{
    if (q == NULL) {
        return;
    }
    sk_io_destroy(q->io);
    q->io = NULL;
    *q->handle = NULL;
    query_release(q);
}
