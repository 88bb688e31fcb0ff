/*
 * skiff's HTTP/1.1 client: requests, the keep-alive pool and the queue of
 * requests waiting for a connection. Connections themselves live in
 * http_conn.c. No libcurl: the whole client is what skiff needs (plain and
 * TLS, proxies with CONNECT, basic auth, timeouts), and it costs a few
 * hundred kilobytes less of shared libraries than curl's ~20 dependencies.
 *
 * A request is sent on an idle pooled connection with the same key (scheme,
 * host, port, proxy, TLS settings), else on a new connection while fewer
 * than max_connections are open, else it waits in a FIFO queue.
 */
#include "http/http.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "http/http_int.h"
#include "http/http_tls.h"
#include "loop/loop.h"
#include "util/alloc.h"

#define HTTP_DEFAULT_MAX_RESPONSE (64u << 20)

static void dispatch(struct http_req *r);

struct sk_http *sk_http_create(struct sk_loop *loop, long max_connections)
{
    struct sk_http *h = sk_calloc(1, sizeof(*h));

    if (h == NULL) {
        return NULL;
    }
    h->rbuf = sk_malloc(HTTP_RBUF_SIZE);
    if (h->rbuf == NULL) {
        sk_free(h);
        return NULL;
    }
    /* OpenSSL writes to sockets with write(): a peer's reset must come back
     * as EPIPE, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    h->loop = loop;
    h->max_conns = max_connections > 0 ? max_connections : 64;
    return h;
}

static void wait_remove(struct http_req *r)
{
    struct sk_http *h = r->h;
    struct http_req **pp = &h->wait_head;

    if (!r->waiting) {
        return;
    }
    while (*pp != r) {
        pp = &(*pp)->wait_next;
    }
    *pp = r->wait_next;
    if (h->wait_tail == r) {
        h->wait_tail = NULL;
        for (struct http_req *q = h->wait_head; q != NULL; q = q->wait_next) {
            h->wait_tail = q;
        }
    }
    r->wait_next = NULL;
    r->waiting = false;
}

static void wait_push(struct http_req *r)
{
    struct sk_http *h = r->h;

    r->waiting = true;
    r->wait_next = NULL;
    if (h->wait_tail != NULL) {
        h->wait_tail->wait_next = r;
    } else {
        h->wait_head = r;
    }
    h->wait_tail = r;
}

static void req_free(struct http_req *r)
{
    sk_timer_destroy(r->timer);
    sk_http_parser_cleanup(&r->parser);
    sk_buf_cleanup(&r->res.body);
    sk_buf_cleanup(&r->head);
    sk_free(r->url_text);
    sk_free(r->proxy_text);
    sk_free(r);
}

static void live_unlink(struct http_req *r)
{
    struct sk_http *h = r->h;

    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        h->live = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    h->nlive--;
}

static void really_destroy(struct sk_http *h);

void http_enter(struct sk_http *h)
{
    h->depth++;
}

void http_leave(struct sk_http *h)
{
    if (--h->depth == 0 && h->destroy_requested) {
        really_destroy(h);
    }
}

/* Hands the outcome to the caller and frees the request. */
static void complete(struct http_req *r)
{
    struct sk_http *h = r->h;

    wait_remove(r);
    if (r->conn != NULL) {
        /* Still on a connection (timeout, shutdown): its state is unknown. */
        r->conn->req = NULL;
        http_conn_close(r->conn);
        r->conn = NULL;
    }
    sk_timer_stop(r->timer);
    live_unlink(r);
    r->res.total_s = (double)(sk_loop_update_now_ms(h->loop) - r->start_ms) / 1000.0;
    r->cb(&r->res, r->arg);
    req_free(r);
}

void http_req_answered(struct http_req *r)
{
    r->res.status = r->parser.status;
    if (r->parser.retry_after[0] != '\0') {
        r->res.retry_after = r->parser.retry_after;
    }
    if (r->parser.content_type[0] != '\0') {
        r->res.content_type = r->parser.content_type;
    }
    complete(r);
}

void http_req_failed(struct http_req *r, bool may_retry, int err, const char *text)
{
    if (may_retry && r->retries == 0) {
        r->retries++;
        r->sent = 0;
        r->fresh_connect = true;
        sk_buf_reset(&r->res.body);
        sk_http_parser_cleanup(&r->parser);
        sk_http_parser_init(&r->parser, &r->res.body, r->head_method);
        dispatch(r);
        return;
    }
    snprintf(r->err, sizeof(r->err), "%s", text);
    r->res.err = err;
    r->res.err_text = r->err;
    complete(r);
}

static void request_timed_out(struct sk_timer *t, void *arg)
{
    struct http_req *r = arg;

    struct sk_http *h = r->h;

    (void)t;
    http_enter(h);
    snprintf(r->err, sizeof(r->err), "operation timed out after %.0f ms",
             (double)(sk_loop_update_now_ms(h->loop) - r->start_ms));
    r->res.err = SK_ETIMEOUT;
    r->res.err_text = r->err;
    complete(r);
    http_service_queue(h);
    http_leave(h);
}

static struct http_conn *idle_conn(struct sk_http *h, const char *key)
{
    for (struct http_conn *c = h->conns; c != NULL; c = c->next) {
        if (c->state == CONN_IDLE && (key == NULL || strcmp(c->key, key) == 0)) {
            return c;
        }
    }
    return NULL;
}

/* Sends r now if a connection can take it: 1 started, 0 must wait,
 * SK_ENOMEM could not open a connection. */
static int try_start(struct http_req *r)
{
    struct sk_http *h = r->h;
    struct http_conn *c = r->fresh_connect ? NULL : idle_conn(h, r->key);

    if (c != NULL) {
        http_conn_send_request(c, r);
        return 1;
    }
    if ((long)h->nconns >= h->max_conns) {
        /* At the cap: an idle connection to somewhere else makes room. */
        c = idle_conn(h, NULL);
        if (c == NULL) {
            return 0;
        }
        http_conn_close(c);
    }
    return http_conn_open(h, r) != NULL ? 1 : SK_ENOMEM;
}

/* Starts or queues a request that is already live. */
static void dispatch(struct http_req *r)
{
    int rc = try_start(r);

    if (rc == 0) {
        wait_push(r);
    } else if (rc < 0) {
        http_req_failed(r, false, rc, "cannot open a connection: out of memory");
    }
}

void http_service_queue(struct sk_http *h)
{
    int rc;

    while (h->wait_head != NULL && !h->destroy_requested) {
        struct http_req *r = h->wait_head;

        wait_remove(r);
        rc = try_start(r);
        if (rc < 0) {
            http_req_failed(r, false, rc, "cannot open a connection: out of memory");
        } else if (rc == 0) {
            /* Back to the front: order is kept. */
            r->waiting = true;
            r->wait_next = h->wait_head;
            h->wait_head = r;
            if (h->wait_tail == NULL) {
                h->wait_tail = r;
            }
            return;
        }
    }
}

/* Which proxy, if any, and the pool key. */
static int choose_route(struct http_req *r, const struct sk_http_request *req)
{
    const char *proxy = req->proxy != NULL ? req->proxy : sk_url_env_proxy(&r->url);
    int rc;

    if (proxy != NULL && *proxy != '\0') {
        r->proxy_text = sk_strdup(proxy);
        if (r->proxy_text == NULL) {
            return SK_ENOMEM;
        }
        rc = sk_url_parse_proxy(r->proxy_text, &r->proxy);
        if (rc < 0) {
            return rc;
        }
        r->use_proxy = true;
        r->tunnel = r->url.tls;
    }
    snprintf(r->key, sizeof(r->key), "%s://%s:%u|%s:%u|%p", r->url.tls ? "https" : "http",
             r->url.host, (unsigned)r->url.port, r->use_proxy ? r->proxy.host : "",
             r->use_proxy ? (unsigned)r->proxy.port : 0u, (const void *)r->tls);
    return 0;
}

int sk_http_submit(struct sk_http *h, const struct sk_http_request *req, sk_http_cb cb, void *arg)
{
    struct http_req *r = sk_calloc(1, sizeof(*r));
    int rc;

    if (h->destroy_requested) {
        sk_free(r);
        return SK_ECLOSED;
    }
    if (r == NULL) {
        return SK_ENOMEM;
    }
    r->h = h;
    r->cb = cb;
    r->arg = arg;
    r->body = req->body;
    r->body_len = req->body != NULL ? req->body_len : 0;
    r->head_method = strcmp(req->method, "HEAD") == 0;
    r->fresh_connect = req->fresh_connect;
    r->tls = req->tls;
    r->connect_timeout_ms = req->connect_timeout_ms;
    r->start_ms = sk_loop_update_now_ms(h->loop);
    sk_buf_init(&r->head, 1u << 20);
    sk_buf_init(&r->res.body, req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE);
    sk_http_parser_init(&r->parser, &r->res.body, r->head_method);
    r->url_text = sk_strdup(req->url);
    rc = r->url_text == NULL ? SK_ENOMEM : sk_url_parse(r->url_text, &r->url);
    if (rc == 0) {
        rc = choose_route(r, req);
    }
    if (rc == 0) {
        rc = http_req_build_head(r, req);
    }
    if (rc == 0) {
        r->timer = sk_timer_create(h->loop, request_timed_out, r);
        rc = r->timer == NULL ? SK_ENOMEM : 0;
    }
    if (rc < 0) {
        req_free(r);
        return rc == SK_ENOMEM ? SK_ENOMEM : SK_EINVAL;
    }
    if (req->timeout_ms > 0) {
        sk_timer_start(r->timer, req->timeout_ms, 0);
    }
    r->next = h->live;
    if (h->live != NULL) {
        h->live->prev = r;
    }
    h->live = r;
    h->nlive++;
    http_enter(h);
    rc = try_start(r);
    if (rc == 0) {
        wait_push(r);
    } else if (rc < 0) {
        /* Failing here, the callback must not run: unwind quietly. */
        live_unlink(r);
        req_free(r);
    }
    http_leave(h);
    return rc < 0 ? rc : 0;
}

size_t sk_http_pending(const struct sk_http *h)
{
    return h->nlive;
}

static void really_destroy(struct sk_http *h)
{
    while (h->conns != NULL) {
        http_conn_close(h->conns);
    }
    sk_tls_cache_destroy(h->tls_cache);
    sk_free(h->rbuf);
    sk_free(h);
}

void sk_http_destroy(struct sk_http *h)
{
    if (h == NULL) {
        return;
    }
    h->destroy_requested = true;
    http_enter(h);
    while (h->live != NULL) {
        struct http_req *r = h->live;

        r->res.err = SK_ECLOSED;
        r->res.err_text = "client shut down";
        complete(r);
    }
    http_leave(h);
}
