/*
 * The HTTP client: curl multi in socket-action mode on libev, the shape of
 * curl's docs/examples/evhiperfifo.c. curl tells us which sockets to watch
 * (socket_cb) and when to time out (timer_cb); libev tells curl when a
 * socket is ready. Easy handles are reused from a free list so keep-alive
 * connections (held by the multi handle's connection cache) stay warm.
 */
#include "http/http.h"

#include <curl/curl.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loop/loop.h"
#include "util/alloc.h"

#define SK_HTTP_FREE_HANDLES 16

struct sk_http_sock {
    ev_io w;
    struct sk_http *h;
    curl_socket_t fd;
};

struct sk_http_req {
    struct sk_http *h;
    CURL *easy;
    struct curl_slist *headers;
    sk_http_cb cb;
    void *arg;
    size_t max_response;
    struct sk_http_response res;
    char retry_after[64];
    char content_type[128];
    char errbuf[CURL_ERROR_SIZE];
    struct sk_http_req *next; /* pending list */
    struct sk_http_req *prev;
};

struct sk_http {
    struct sk_loop *loop;
    struct ev_loop *ev;
    CURLM *multi;
    ev_timer timer;
    struct sk_http_req *pending;
    size_t npending;
    CURL *free_easy[SK_HTTP_FREE_HANDLES];
    int nfree;
};

static int curl_global_ready;

static void check_done(struct sk_http *h);

static void req_unlink(struct sk_http_req *r)
{
    struct sk_http *h = r->h;

    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        h->pending = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    h->npending--;
}

static void release_easy(struct sk_http *h, CURL *easy)
{
    if (h->nfree < SK_HTTP_FREE_HANDLES) {
        curl_easy_reset(easy);
        h->free_easy[h->nfree++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

static void req_free(struct sk_http_req *r)
{
    curl_slist_free_all(r->headers);
    sk_buf_cleanup(&r->res.body);
    sk_free(r);
}

static void finish(struct sk_http_req *r, CURLcode code)
{
    struct sk_http *h = r->h;
    long status = 0;
    double total = 0;

    curl_multi_remove_handle(h->multi, r->easy);
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &total);
    r->res.status = (int)status;
    r->res.total_s = total;
    if (code != CURLE_OK && r->res.err == 0) {
        r->res.err = code == CURLE_OPERATION_TIMEDOUT ? SK_ETIMEOUT : SK_EIO;
        r->res.err_text = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
        if (code == CURLE_WRITE_ERROR) {
            r->res.err = SK_ETOOBIG;
        }
    }
    release_easy(h, r->easy);
    r->easy = NULL;
    req_unlink(r);
    r->cb(&r->res, r->arg);
    req_free(r);
}

static void check_done(struct sk_http *h)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct sk_http_req *r = NULL;

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        finish(r, msg->data.result);
    }
}

static void sock_ready(struct ev_loop *ev, ev_io *w, int revents)
{
    struct sk_http_sock *s = (struct sk_http_sock *)w;
    struct sk_http *h = s->h; /* s may be freed by socket_cb inside the action */
    int action = ((revents & EV_READ) ? CURL_CSELECT_IN : 0) |
                 ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;

    (void)ev;
    curl_multi_socket_action(h->multi, s->fd, action, &running);
    check_done(h);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct sk_http *h = userp;
    struct sk_http_sock *s = sockp;
    int events;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            ev_io_stop(h->ev, &s->w);
            sk_free(s);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = sk_calloc(1, sizeof(*s));
        if (s == NULL) {
            return -1;
        }
        s->h = h;
        s->fd = fd;
        ev_init(&s->w, sock_ready);
        curl_multi_assign(h->multi, fd, s);
    }
    events = ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    ev_io_stop(h->ev, &s->w);
    ev_io_set(&s->w, fd, events);
    ev_io_start(h->ev, &s->w);
    return 0;
}

static void timer_fire(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct sk_http *h = (struct sk_http *)((char *)w - offsetof(struct sk_http, timer));
    int running;

    (void)ev;
    (void)revents;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct sk_http *h = userp;

    (void)multi;
    ev_timer_stop(h->ev, &h->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&h->timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(h->ev, &h->timer);
    }
    return 0;
}

struct sk_http *sk_http_create(struct sk_loop *loop, long max_connections)
{
    struct sk_http *h;

    if (!curl_global_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            return NULL;
        }
        curl_global_ready = 1;
    }
    h = sk_calloc(1, sizeof(*h));
    if (h == NULL) {
        return NULL;
    }
    h->loop = loop;
    h->ev = sk_loop_ev(loop);
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        sk_free(h);
        return NULL;
    }
    ev_init(&h->timer, timer_fire);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    if (max_connections > 0) {
        curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections);
        curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, max_connections);
    }
    return h;
}

void sk_http_destroy(struct sk_http *h)
{
    if (h == NULL) {
        return;
    }
    while (h->pending != NULL) {
        struct sk_http_req *r = h->pending;

        curl_multi_remove_handle(h->multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
        r->res.err = SK_ECLOSED;
        r->res.err_text = "client shut down";
        req_unlink(r);
        r->cb(&r->res, r->arg);
        req_free(r);
    }
    for (int i = 0; i < h->nfree; i++) {
        curl_easy_cleanup(h->free_easy[i]);
    }
    ev_timer_stop(h->ev, &h->timer);
    curl_multi_cleanup(h->multi);
    sk_free(h);
}

size_t sk_http_pending(const struct sk_http *h)
{
    return h->npending;
}

static size_t on_body(char *p, size_t size, size_t n, void *userp)
{
    struct sk_http_req *r = userp;

    if (sk_buf_append(&r->res.body, p, size * n) < 0) {
        return 0; /* curl turns this into CURLE_WRITE_ERROR */
    }
    return size * n;
}

static void copy_header_value(const char *line, size_t len, size_t name_len, char *dst, size_t size)
{
    const char *v = line + name_len;
    size_t vlen = len - name_len;

    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ')) {
        vlen--;
    }
    if (vlen >= size) {
        vlen = size - 1;
    }
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *userp)
{
    struct sk_http_req *r = userp;
    size_t len = size * n;

    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        copy_header_value(p, len, 12, r->retry_after, sizeof(r->retry_after));
        r->res.retry_after = r->retry_after;
    } else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
        copy_header_value(p, len, 13, r->content_type, sizeof(r->content_type));
        r->res.content_type = r->content_type;
    }
    return len;
}

static int setup_tls(CURL *e, const struct sk_http_tls *tls)
{
    static const long versions[] = {CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_TLSv1_1,
                                    CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_TLSv1_3};

    if (tls == NULL) {
        return 0;
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, tls->verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, tls->verify ? 2L : 0L);
    if (tls->ca_file != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, tls->ca_file);
    }
    if (tls->client_cert != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, tls->client_cert);
    }
    if (tls->client_key != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, tls->client_key);
    }
    if (tls->client_key_pass != NULL) {
        curl_easy_setopt(e, CURLOPT_KEYPASSWD, tls->client_key_pass);
    }
    if (tls->min_version >= 10 && tls->min_version <= 13) {
        curl_easy_setopt(e, CURLOPT_SSLVERSION, versions[tls->min_version - 10]);
    }
    return 0;
}

static int build_headers(struct sk_http_req *r, const struct sk_http_request *req)
{
    struct sk_buf line;
    int rc = 0;

    sk_buf_init(&line, 16384);
    /* curl adds "Expect: 100-continue" to large POSTs: one more round trip. */
    r->headers = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < req->nheaders && r->headers != NULL && rc == 0; i++) {
        struct curl_slist *next;

        sk_buf_reset(&line);
        rc = sk_buf_printf(&line, "%s: %s", req->headers[i].name, req->headers[i].value);
        if (rc < 0) {
            break;
        }
        next = curl_slist_append(r->headers, line.data);
        if (next == NULL) {
            rc = SK_ENOMEM;
            break;
        }
        r->headers = next;
    }
    sk_buf_cleanup(&line);
    if (r->headers == NULL) {
        return SK_ENOMEM;
    }
    return rc;
}

/*
 * curl reads only the lower-case http_proxy for http:// URLs (a CGI
 * "httpoxy" precaution). skiff is no CGI program, and td-agent (Ruby)
 * honours HTTP_PROXY too, as systemd units and /etc/environment often spell
 * it: use it when http_proxy is not set at all (an empty http_proxy still
 * means none). curl still applies NO_PROXY to it.
 */
static const char *env_http_proxy(const char *url)
{
    const char *lower = getenv("http_proxy");
    const char *upper = getenv("HTTP_PROXY");

    if (strncasecmp(url, "http://", 7) != 0 || lower != NULL || upper == NULL || *upper == '\0') {
        return NULL;
    }
    return upper;
}

static CURL *take_easy(struct sk_http *h)
{
    if (h->nfree > 0) {
        return h->free_easy[--h->nfree];
    }
    return curl_easy_init();
}

int sk_http_submit(struct sk_http *h, const struct sk_http_request *req, sk_http_cb cb, void *arg)
{
    struct sk_http_req *r = sk_calloc(1, sizeof(*r));
    CURL *e;
    int rc;

    if (r == NULL) {
        return SK_ENOMEM;
    }
    r->h = h;
    r->cb = cb;
    r->arg = arg;
    sk_buf_init(&r->res.body, req->max_response ? req->max_response : (64u << 20));
    rc = build_headers(r, req);
    if (rc < 0) {
        req_free(r);
        return rc;
    }
    e = take_easy(h);
    if (e == NULL) {
        req_free(r);
        return SK_ENOMEM;
    }
    r->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (req->fresh_connect) {
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    }
    if (req->timeout_ms > 0) {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    }
    if (req->connect_timeout_ms > 0) {
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
    }
    if (req->user != NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, req->password != NULL ? req->password : "");
    }
    if (req->proxy != NULL) {
        curl_easy_setopt(e, CURLOPT_PROXY, req->proxy);
        /* A configured proxy is used for every host (curl would otherwise
         * let a NO_PROXY in the environment bypass it). */
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    } else if (env_http_proxy(req->url) != NULL) {
        curl_easy_setopt(e, CURLOPT_PROXY, env_http_proxy(req->url));
    }
    setup_tls(e, req->tls);
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    r->next = h->pending;
    if (h->pending != NULL) {
        h->pending->prev = r;
    }
    h->pending = r;
    h->npending++;
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        req_unlink(r);
        release_easy(h, e);
        req_free(r);
        return SK_ENOMEM;
    }
    return 0;
}
