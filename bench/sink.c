/*
 * skiff-bench-sink: a fast Elasticsearch `_bulk` sink for benchmarks.
 *
 * One thread, epoll, HTTP/1.1 keep-alive on 127.0.0.1. It answers like an
 * Elasticsearch 8 node as far as a shipper needs (GET / and HEAD /, _bulk
 * with correct per-item responses, templates and policies accepted) and
 * counts documents per index so a runner can check delivery. Control:
 *
 *   GET  /_sink/stats                 counters, per-index docs, latency
 *   POST /_sink/reset                 zero the counters
 *   POST /_sink/down?seconds=N[&mode=503|close]
 *        503: answer every ES request with 503 (no master) for N seconds;
 *        close: drop all connections and stop listening for N seconds.
 *   POST /_sink/up                    end an outage early
 *
 * `_bulk` answers are byte for byte what Elasticsearch 8.11 writes,
 * including `?filter_path=` (see struct sink_filter in sink_bulk.h).
 *
 * Request bodies: Content-Length or chunked; Content-Encoding: gzip.
 * Expect: 100-continue is honoured, because libcurl waits up to a second for
 * it on large POSTs and that wait would otherwise count against the shipper.
 */
#include "bench_util.h"
#include "sink_bulk.h"
#include "sink_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define HDR_MAX (64 * 1024)
/* Room kept in front of a response body for the bulk prefix and the HTTP
 * header, which are only known once the items are written. */
#define RESP_ROOM 512
#define READ_CHUNK (256 * 1024)
#define GUNZIP_MAX ((size_t)1 << 30)
#define OUT_MAX ((size_t)1 << 30)

struct conn {
    int fd;
    struct conn *prev, *next;
    struct sink_buf in;
    size_t scanned;            /* bytes of in searched for the end of the headers */
    struct sink_req req;       /* framing of the request at the start of in */
    int sent_continue;
    struct sink_buf out;
    size_t out_off;
    int want_out; /* EPOLLOUT is armed */
    int close_after;
};

struct sink {
    int ep;
    int lfd;
    uint16_t port;
    uint64_t max_body;
    struct sink_state state;
    struct sink_buf gunzip;
    struct conn *conns;
    uint64_t nconns;
    int down;         /* 1: 503 mode, 2: closed mode */
    int64_t down_until_ns;
    int close_all_pending;
    struct sink_buf filter_value; /* the last filter_path value, as received */
    struct sink_filter filter_cache; /* ... compiled */
    int filter_cache_valid;
};

static volatile sig_atomic_t stop_requested;
static char listener_tag; /* epoll data for the listening socket */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int open_listener(struct sink *k)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(k->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener_tag};
    if (epoll_ctl(k->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return -1;
    }
    k->lfd = fd;
    k->port = ntohs(sa.sin_port);
    return 0;
}

static void conn_close(struct sink *k, struct conn *c)
{
    epoll_ctl(k->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        k->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    sink_buf_free(&c->in);
    sink_buf_free(&c->out);
    free(c);
}

static void accept_all(struct sink *k)
{
    for (;;) {
        int fd = accept4(k->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return; /* EAGAIN, or an error we cannot do anything about here */
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->fd = fd;
        c->in.max = k->max_body + HDR_MAX + READ_CHUNK;
        c->out.max = OUT_MAX;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(k->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = k->conns;
        if (k->conns != NULL) {
            k->conns->prev = c;
        }
        k->conns = c;
        k->nconns++;
    }
}

/* ---- responses ------------------------------------------------------- */

static const char *reason_of(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Request Entity Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

/* Puts the status line and headers right in front of the body, which sits
 * at c->out.data + body_off (body_off <= RESP_ROOM). */
static void finish_response(struct conn *c, int status, size_t body_off, size_t body_len,
                            int head_only)
{
    char hdr[RESP_ROOM];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 %d %s\r\nX-Elastic-Product: Elasticsearch\r\n"
                     "content-type: application/json\r\ncontent-length: %zu\r\n%s\r\n",
                     status, reason_of(status), body_len,
                     c->close_after ? "connection: close\r\n" : "");
    c->out_off = body_off - (size_t)n;
    memcpy(c->out.data + c->out_off, hdr, (size_t)n);
    c->out.len = body_off + (head_only ? 0 : body_len);
}

/* A complete response with a small literal body. Returns 0 or -1. */
static int respond(struct conn *c, int status, const char *body, int head_only)
{
    size_t len = strlen(body);
    c->out.len = 0;
    if (sink_buf_reserve(&c->out, RESP_ROOM + len) != 0) {
        return -1;
    }
    memcpy(c->out.data + RESP_ROOM, body, len);
    finish_response(c, status, RESP_ROOM, len, head_only);
    return 0;
}

static const char root_body[] =
    "{\"name\":\"skiff-bench-sink\",\"cluster_name\":\"bench\","
    "\"cluster_uuid\":\"c2tpZmYtYmVuY2gtc2luaw\",\"version\":{\"number\":\"8.11.0\","
    "\"build_flavor\":\"default\",\"build_type\":\"docker\","
    "\"build_hash\":\"d9ec3fa628c7b0ba3d25692e277ba26814820b20\","
    "\"build_date\":\"2023-11-04T10:04:57.184859352Z\",\"build_snapshot\":false,"
    "\"lucene_version\":\"9.8.0\",\"minimum_wire_compatibility_version\":\"7.17.0\","
    "\"minimum_index_compatibility_version\":\"7.0.0\"},\"tagline\":\"You Know, for Search\"}";

static const char down_body[] =
    "{\"error\":{\"root_cause\":[{\"type\":\"cluster_block_exception\",\"reason\":\"blocked by: "
    "[SERVICE_UNAVAILABLE/2/no master];\"}],\"type\":\"cluster_block_exception\",\"reason\":"
    "\"blocked by: [SERVICE_UNAVAILABLE/2/no master];\"},\"status\":503}";

/* ---- request handling ------------------------------------------------ */

/* Returns the value of query parameter name in q (not NUL terminated). */
static const char *query_param(const char *q, size_t qlen, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *p = q;
    const char *end = q + qlen;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            *vlen = (size_t)(stop - p - (ptrdiff_t)nlen - 1);
            return p + nlen + 1;
        }
        p = stop + 1;
    }
    return NULL;
}

static int gunzip_body(struct sink *k, const char *src, size_t len, const char **out,
                       size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* 32 + MAX_WBITS detects the wrapper: gzip, or zlib for "deflate"; ES takes both. */
    if (inflateInit2(&z, 32 + MAX_WBITS) != Z_OK) {
        return -1;
    }
    k->gunzip.len = 0;
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)len;
    int zrc = Z_OK;
    while (zrc != Z_STREAM_END) {
        if (sink_buf_reserve(&k->gunzip, len * 4 + 65536) != 0) {
            zrc = Z_MEM_ERROR;
            break;
        }
        z.next_out = (Bytef *)k->gunzip.data + k->gunzip.len;
        z.avail_out = (uInt)(k->gunzip.cap - k->gunzip.len);
        zrc = inflate(&z, Z_NO_FLUSH);
        k->gunzip.len = k->gunzip.cap - z.avail_out;
        if (zrc != Z_OK && zrc != Z_STREAM_END) {
            break;
        }
        if (zrc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
            zrc = Z_DATA_ERROR; /* truncated stream */
            break;
        }
    }
    inflateEnd(&z);
    if (zrc != Z_STREAM_END) {
        return -1;
    }
    *out = k->gunzip.data;
    *out_len = k->gunzip.len;
    return 0;
}

/* The filter for this request's filter_path. Shippers send the same value
 * on every request, so the last one is kept compiled. */
static const struct sink_filter *bulk_filter(struct sink *k, const char *q, size_t qlen)
{
    size_t vl = 0;
    const char *v = query_param(q, qlen, "filter_path", &vl);
    if (v == NULL) {
        static struct sink_filter full;
        if (!full.full) {
            sink_filter_full(&full);
        }
        return &full;
    }
    if (k->filter_cache_valid && vl == k->filter_value.len &&
        memcmp(v, k->filter_value.data, vl) == 0) {
        return &k->filter_cache;
    }
    k->filter_value.len = 0;
    k->filter_cache_valid = sink_buf_reserve(&k->filter_value, vl + 1) == 0 &&
                            sink_filter_compile(&k->filter_cache, v, vl) == 0;
    if (k->filter_cache_valid) {
        memcpy(k->filter_value.data, v, vl);
        k->filter_value.len = vl;
    } else {
        sink_filter_full(&k->filter_cache); /* out of memory: answer in full */
    }
    return &k->filter_cache;
}

/* Wraps the items already in c->out (from RESP_ROOM on) into the answer
 * {"errors":B,"took":N,"items":[...]} (ES >= 8.10 puts errors first,
 * elastic/elasticsearch#98303), leaving out what the filter dropped, and
 * adds the HTTP header. */
static int finish_bulk(struct conn *c, const struct sink_filter *f, int errors, uint64_t items,
                       long took_ms)
{
    char pre[128];
    size_t n = 0;
    const char *sep = "";
    pre[n++] = '{';
    if (f->top & SINK_TOP_ERRORS) {
        n += (size_t)snprintf(pre + n, sizeof(pre) - n, "\"errors\":%s", errors ? "true" : "false");
        sep = ",";
    }
    if (f->top & SINK_TOP_TOOK) {
        n += (size_t)snprintf(pre + n, sizeof(pre) - n, "%s\"took\":%ld", sep, took_ms);
        sep = ",";
    }
    /* Without a filter an empty array would still be written, but a bulk
     * request always has items; with one, an empty array is dropped. */
    int with_items = items > 0 || f->full;
    if (with_items) {
        n += (size_t)snprintf(pre + n, sizeof(pre) - n, "%s\"items\":[", sep);
    }
    if (sink_buf_reserve(&c->out, 4) != 0) {
        return -1;
    }
    size_t body_off = RESP_ROOM - n;
    memcpy(c->out.data + body_off, pre, n);
    memcpy(c->out.data + c->out.len, with_items ? "]}" : "}", with_items ? 2 : 1);
    c->out.len += with_items ? 2 : 1;
    finish_response(c, 200, body_off, c->out.len - body_off, 0);
    return 0;
}

static int handle_bulk(struct sink *k, struct conn *c, const char *path, size_t plen,
                       const char *q, size_t qlen, const char *body, size_t blen)
{
    int64_t t0 = bench_mono_ns();
    struct sink_stats *st = &k->state.st;
    if (k->down) {
        st->rejected++;
        return respond(c, 503, down_body, 0);
    }
    size_t wire = blen;
    if (c->req.gzip) {
        if (gunzip_body(k, body, blen, &body, &blen) != 0) {
            st->rejected++;
            return respond(c, 400, "{\"error\":{\"type\":\"parse_exception\",\"reason\":"
                                   "\"failed to decompress the request body\"},\"status\":400}",
                           0);
        }
        st->gzip_requests++;
    }
    /* POST /<index>/_bulk names the default index. */
    const char *def = NULL;
    size_t def_len = 0;
    const char *slash = plen > 7 ? memchr(path + 1, '/', plen - 1) : NULL;
    if (slash != NULL) {
        def = path + 1;
        def_len = (size_t)(slash - def);
    }
    const struct sink_filter *f = bulk_filter(k, q, qlen);
    c->out.len = 0;
    if (sink_buf_reserve(&c->out, RESP_ROOM + 65536) != 0) {
        return -1;
    }
    c->out.len = RESP_ROOM;
    int errors = 0;
    uint64_t items = 0;
    int status = sink_bulk_handle(&k->state, body, blen, def, def_len, f, bench_real_ns(),
                                  &c->out, &errors, &items);
    if (status < 0) {
        return -1;
    }
    if (status != 200) {
        st->rejected++;
        finish_response(c, status, RESP_ROOM, c->out.len - RESP_ROOM, 0);
        return 0;
    }
    st->requests++;
    st->bytes += blen;
    st->wire_bytes += wire;
    st->last_bulk_ns = bench_real_ns();
    if (st->first_bulk_ns == 0) {
        st->first_bulk_ns = st->last_bulk_ns;
    }
    return finish_bulk(c, f, errors, items, (long)((bench_mono_ns() - t0) / 1000000));
}

static void go_down(struct sink *k, int mode, uint64_t seconds)
{
    k->down = mode;
    k->down_until_ns = bench_mono_ns() + (int64_t)seconds * 1000000000;
    if (mode == 2) {
        k->close_all_pending = 1; /* done after this event batch, see main loop */
    }
}

static int handle_control(struct sink *k, struct conn *c, int is_post, const char *path,
                          size_t plen, const char *q, size_t qlen)
{
    if (!is_post && plen == 12 && memcmp(path, "/_sink/stats", 12) == 0) {
        c->out.len = 0;
        if (sink_buf_reserve(&c->out, RESP_ROOM) != 0) {
            return -1;
        }
        c->out.len = RESP_ROOM;
        if (sink_stats_json(&k->state, k->down != 0, k->nconns, &c->out) != 0) {
            return -1;
        }
        finish_response(c, 200, RESP_ROOM, c->out.len - RESP_ROOM, 0);
        return 0;
    }
    if (is_post && plen == 12 && memcmp(path, "/_sink/reset", 12) == 0) {
        sink_state_reset(&k->state);
        return respond(c, 200, "{\"acknowledged\":true}", 0);
    }
    if (is_post && plen == 11 && memcmp(path, "/_sink/down", 11) == 0) {
        size_t vl = 0, ml = 0;
        const char *v = query_param(q, qlen, "seconds", &vl);
        const char *m = query_param(q, qlen, "mode", &ml);
        char num[24] = "";
        uint64_t secs = 0;
        if (v != NULL && vl < sizeof(num)) {
            memcpy(num, v, vl);
            num[vl] = '\0';
        }
        if (bench_parse_u64(num, 0, &secs) != 0) {
            return respond(c, 400, "{\"error\":\"seconds=N is required\",\"status\":400}", 0);
        }
        int mode = (m != NULL && ml == 5 && memcmp(m, "close", 5) == 0) ? 2 : 1;
        go_down(k, mode, secs);
        if (mode == 2) {
            c->close_after = 1;
        }
        return respond(c, 200, "{\"acknowledged\":true}", 0);
    }
    if (is_post && plen == 9 && memcmp(path, "/_sink/up", 9) == 0) {
        k->down_until_ns = 0; /* the main loop brings it up */
        return respond(c, 200, "{\"acknowledged\":true}", 0);
    }
    return respond(c, 404, "{\"error\":\"unknown sink control\",\"status\":404}", 0);
}

/* Everything a shipper may call: answered like an ES 8 node. */
static int handle_es_request(struct sink *k, struct conn *c, const char *line, size_t mlen,
                             const char *target, size_t plen, const char *q, size_t qlen,
                             const char *body, size_t blen)
{
    int is_get = mlen == 3 && memcmp(line, "GET", 3) == 0;
    int is_head = mlen == 4 && memcmp(line, "HEAD", 4) == 0;
    int is_post = mlen == 4 && memcmp(line, "POST", 4) == 0;
    int is_put = mlen == 3 && memcmp(line, "PUT", 3) == 0;
    if ((is_post || is_put) && plen >= 6 && memcmp(target + plen - 6, "/_bulk", 6) == 0) {
        return handle_bulk(k, c, target, plen, q, qlen, body, blen);
    }
    if (k->down) {
        return respond(c, 503, down_body, is_head);
    }
    if ((is_get || is_head) && plen == 1) {
        return respond(c, 200, root_body, is_head);
    }
    if (is_get && plen >= 16 && memcmp(target, "/_cluster/health", 16) == 0) {
        return respond(c, 200, "{\"cluster_name\":\"bench\",\"status\":\"green\","
                               "\"timed_out\":false,\"number_of_nodes\":1}", 0);
    }
    if (is_put || is_post || (mlen == 6 && memcmp(line, "DELETE", 6) == 0)) {
        /* Templates, policies, aliases: accept, so shipper start-up proceeds. */
        return respond(c, 200, "{\"acknowledged\":true}", 0);
    }
    /* GET/HEAD of templates, aliases, policies: absent, so clients create them. */
    return respond(c, 404, "{\"error\":{\"root_cause\":[{\"type\":\"resource_not_found_exception\","
                           "\"reason\":\"not found\"}],\"type\":\"resource_not_found_exception\","
                           "\"reason\":\"not found\"},\"status\":404}", is_head);
}

/* Routes one complete request whose body is body[0..blen). */
static int handle_request(struct sink *k, struct conn *c, const char *body, size_t blen)
{
    const char *line = c->in.data;
    const char *target = line + c->req.target_off;
    const char *tend = target + c->req.target_len;
    size_t mlen = c->req.method_len;
    size_t tlen = c->req.target_len;
    const char *qm = memchr(target, '?', tlen);
    size_t plen = qm ? (size_t)(qm - target) : tlen;
    const char *q = qm ? qm + 1 : tend;
    size_t qlen = qm ? (size_t)(tend - q) : 0;
    int is_post = mlen == 4 && memcmp(line, "POST", 4) == 0;

    if (plen >= 6 && memcmp(target, "/_sink", 6) == 0) {
        return handle_control(k, c, is_post, target, plen, q, qlen);
    }
    int rc = handle_es_request(k, c, line, mlen, target, plen, q, qlen, body, blen);
    k->state.st.resp_bytes += c->out.len - c->out_off;
    return rc;
}

/* ---- HTTP framing ---------------------------------------------------- */

static int flush_out(struct sink *k, struct conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                /* Stop reading until the response is out: backpressure. */
                if (!c->want_out) {
                    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
                    epoll_ctl(k->ep, EPOLL_CTL_MOD, c->fd, &ev);
                    c->want_out = 1;
                }
                return 0;
            }
            return -1;
        }
        c->out_off += (size_t)n;
    }
    c->out.len = c->out_off = 0;
    if (c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(k->ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = 0;
    }
    return 1;
}

/* Drops the finished request from the input, keeping pipelined bytes. */
static void consume_request(struct conn *c)
{
    size_t rest = c->in.len - c->req.req_end;
    if (rest > 0) {
        memmove(c->in.data, c->in.data + c->req.req_end, rest);
    }
    c->in.len = rest;
    c->scanned = 0;
    c->req.hdr_len = 0;
}

/* Looks for a complete header block and parses it. Returns 1 when the
 * request's body can be awaited, 0 for more header bytes, -1 to close. */
static int start_request(struct sink *k, struct conn *c)
{
    size_t from = c->scanned >= 3 ? c->scanned - 3 : 0;
    const char *e = memmem(c->in.data + from, c->in.len - from, "\r\n\r\n", 4);
    if (e == NULL) {
        c->scanned = c->in.len;
        return c->in.len > HDR_MAX ? -1 : 0;
    }
    c->sent_continue = 0;
    if (sink_http_parse_headers(&c->req, c->in.data, (size_t)(e - c->in.data) + 4) != 0) {
        /* Best effort: say why, then drop the connection. */
        c->close_after = 1;
        if (respond(c, 400, "{\"error\":\"malformed request\",\"status\":400}", 0) == 0) {
            (void)flush_out(k, c);
        }
        return -1;
    }
    if (c->req.content_length > k->max_body) {
        /* Like ES (Netty's aggregator): 413, empty body, then close. */
        k->state.st.rejected++;
        c->close_after = 1;
        if (respond(c, 413, "", 0) != 0 || flush_out(k, c) != 0) {
            return -1; /* sent (or failed): close now */
        }
        return 0; /* conn_event closes once the answer is out */
    }
    return 1;
}

/* Returns 1 when the body is complete, 0 if not yet, -1 if malformed.
 * Honours Expect: 100-continue while waiting. */
static int body_complete(struct sink *k, struct conn *c)
{
    int complete;
    if (c->req.chunked) {
        complete = sink_http_chunked_progress(&c->req, c->in.data, c->in.len);
    } else {
        complete = c->in.len >= c->req.req_end;
    }
    if (complete == 0 && c->req.expect_continue && !c->sent_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        c->sent_continue = 1;
        if (send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL) < 0) {
            return -1;
        }
        k->state.st.resp_bytes += sizeof(cont) - 1;
    }
    return complete;
}

/* Handles every complete request in the input, one at a time: a response
 * must be fully sent before the next request is looked at. Returns -1 when
 * the connection must be closed. */
static int process(struct sink *k, struct conn *c)
{
    while (c->out.len == 0 && c->in.len > 0 && !c->close_after) {
        if (c->req.hdr_len == 0) {
            int rc = start_request(k, c);
            if (rc <= 0) {
                return rc;
            }
        }
        int complete = body_complete(k, c);
        if (complete <= 0) {
            return complete;
        }
        const char *body = c->in.data + c->req.hdr_len;
        size_t blen = c->req.chunked ? c->req.ck_wr - c->req.hdr_len
                                     : (size_t)c->req.content_length;
        if (!c->req.keep_alive) {
            c->close_after = 1;
        }
        if (handle_request(k, c, body, blen) != 0) {
            return -1;
        }
        consume_request(c);
        int f = flush_out(k, c);
        if (f < 0 || (f == 1 && c->close_after)) {
            return -1;
        }
    }
    return 0;
}

/* Reads what the socket has. Returns 0, 1 at end of stream, -1 on error. */
static int conn_read(struct conn *c)
{
    for (;;) {
        size_t want = READ_CHUNK;
        if (c->req.hdr_len != 0 && !c->req.chunked && c->req.req_end > c->in.len) {
            want = c->req.req_end - c->in.len; /* room for the whole body at once */
        }
        if (sink_buf_reserve(&c->in, want) != 0 && sink_buf_reserve(&c->in, 1) != 0) {
            return -1;
        }
        ssize_t n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (n == 0) {
            return 1;
        }
        if (n < 0) {
            return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        }
        c->in.len += (size_t)n;
        if ((size_t)n < want) {
            return 0; /* drained for now; level-triggered epoll tells us about more */
        }
    }
}

static void conn_event(struct sink *k, struct conn *c, uint32_t events)
{
    if (events & EPOLLOUT) {
        int f = flush_out(k, c);
        if (f < 0 || (f == 1 && c->close_after)) {
            conn_close(k, c);
            return;
        }
    }
    int eof = 0;
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->out.len == 0) {
        eof = conn_read(c);
        if (eof < 0) {
            conn_close(k, c);
            return;
        }
    }
    /* At end of stream, still answer what fully arrived (best effort). */
    if (process(k, c) != 0 || eof) {
        conn_close(k, c);
    }
}

/* ---- main ------------------------------------------------------------ */

static void outage_tick(struct sink *k)
{
    if (k->close_all_pending) {
        k->close_all_pending = 0;
        while (k->conns != NULL) {
            conn_close(k, k->conns);
        }
        epoll_ctl(k->ep, EPOLL_CTL_DEL, k->lfd, NULL);
        close(k->lfd);
        k->lfd = -1;
    }
    if (k->down && bench_mono_ns() >= k->down_until_ns) {
        if (k->lfd < 0 && open_listener(k) != 0) {
            return; /* port still busy: try again on the next tick */
        }
        k->down = 0;
    }
}

static void usage(void)
{
    fputs("usage: skiff-bench-sink [--port N] [--port-file F] [--latency] [--stats-file F]\n"
          "                        [--max-body 100m]\n"
          "  --port 0 picks a free port; --port-file receives it (written atomically) once ready.\n"
          "  --latency reads bench_seq=/bench_t= markers from documents (generator live mode).\n"
          "  --stats-file writes the final /_sink/stats JSON there on SIGTERM/SIGINT.\n",
          stderr);
}

static int parse_args(int argc, char **argv, struct sink *k, const char **port_file,
                      const char **stats_file, int *latency)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--latency") == 0) {
            *latency = 1;
            continue;
        }
        if (i + 1 >= argc) {
            return -1;
        }
        const char *v = argv[++i];
        uint64_t n = 0;
        if (strcmp(a, "--port") == 0) {
            if (bench_parse_u64(v, 0, &n) != 0 || n > 65535) {
                return -1;
            }
            k->port = (uint16_t)n;
        } else if (strcmp(a, "--port-file") == 0) {
            *port_file = v;
        } else if (strcmp(a, "--stats-file") == 0) {
            *stats_file = v;
        } else if (strcmp(a, "--max-body") == 0) {
            if (bench_parse_u64(v, 1, &k->max_body) != 0) {
                return -1;
            }
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct sink k;
    const char *port_file = NULL, *stats_file = NULL;
    int latency = 0;
    int rc = 1;
    k.lfd = -1;
    k.max_body = 100u << 20; /* ES http.max_content_length default */
    k.gunzip.max = GUNZIP_MAX;
    k.filter_value.max = 1u << 20;
    if (parse_args(argc, argv, &k, &port_file, &stats_file, &latency) != 0) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    k.ep = epoll_create1(EPOLL_CLOEXEC);
    if (k.ep < 0 || sink_state_init(&k.state, latency) != 0 || open_listener(&k) != 0) {
        fprintf(stderr, "skiff-bench-sink: start: %s\n", strerror(errno));
        goto cleanup;
    }
    if (port_file != NULL) {
        char txt[16];
        int n = snprintf(txt, sizeof(txt), "%u\n", (unsigned)k.port);
        if (bench_write_file_atomic(port_file, txt, (size_t)n) != 0) {
            fprintf(stderr, "skiff-bench-sink: %s: %s\n", port_file, strerror(errno));
            goto cleanup;
        }
    }
    fprintf(stderr, "skiff-bench-sink: listening on 127.0.0.1:%u\n", (unsigned)k.port);

    struct epoll_event evs[64];
    while (!stop_requested) {
        int timeout = k.down ? 50 : 1000;
        int n = epoll_wait(k.ep, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "skiff-bench-sink: epoll_wait: %s\n", strerror(errno));
            goto cleanup;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &listener_tag) {
                if (k.lfd >= 0) {
                    accept_all(&k);
                }
            } else {
                conn_event(&k, evs[i].data.ptr, evs[i].events);
            }
        }
        outage_tick(&k);
    }
    rc = 0;

cleanup:
    if (stats_file != NULL && k.state.indices != NULL) {
        struct sink_buf b = {.max = 1u << 24};
        if (sink_stats_json(&k.state, k.down != 0, k.nconns, &b) != 0 ||
            bench_write_file_atomic(stats_file, b.data, b.len) != 0) {
            fprintf(stderr, "skiff-bench-sink: %s: %s\n", stats_file, strerror(errno));
            rc = 1;
        }
        sink_buf_free(&b);
    }
    fprintf(stderr, "skiff-bench-sink: %llu docs in %llu requests, %llu NDJSON bytes\n",
            (unsigned long long)k.state.st.docs, (unsigned long long)k.state.st.requests,
            (unsigned long long)k.state.st.bytes);
    while (k.conns != NULL) {
        conn_close(&k, k.conns);
    }
    if (k.lfd >= 0) {
        close(k.lfd);
    }
    if (k.ep >= 0) {
        close(k.ep);
    }
    sink_buf_free(&k.gunzip);
    sink_buf_free(&k.filter_value);
    sink_state_cleanup(&k.state);
    return rc;
}
