#include "testutil.h"

/*
 * skiff's HTTP client against a scripted HTTP/1.1 server on loopback (a
 * thread per connection, blocking sockets): keep-alive reuse, the retry of
 * a request that met a connection the server had just closed, answers that
 * end the connection, timeouts, refused connections, a name resolved off
 * the loop, the connection cap, large bodies, chunked answers, HEAD,
 * oversized answers and a client destroyed from its own callback.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"
#include "loop/loop.h"

enum action { ANSWER, ANSWER_CLOSE, CLOSE_SILENTLY, HANG, ANSWER_BEFORE_BODY };

struct step {
    enum action action;
    const char *answer;
};

#define MAX_CONNS 16

struct server {
    int lfd;
    int port;
    pthread_t acceptor;
    pthread_t conn_threads[MAX_CONNS];
    int conn_fds[MAX_CONNS];
    atomic_int nconns;
    atomic_int requests;
    atomic_int concurrent;
    atomic_int max_concurrent;
    atomic_bool stop;
    const struct step *script;
    int nsteps;
    pthread_mutex_t lock;
    char last_head[4096];
    size_t last_body_len;
    unsigned long last_body_sum;
};

static bool wait_readable(struct server *s, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (!atomic_load(&s->stop)) {
        if (poll(&p, 1, 20) > 0) {
            return true;
        }
    }
    return false;
}

/* Reads one request (only its head when !whole); false at the end of the
 * connection. */
static bool read_request(struct server *s, int fd, bool whole)
{
    static __thread char buf[1 << 16];
    size_t have = 0, body_len = 0, got = 0;
    unsigned long sum = 0;
    char *end = NULL;
    const char *cl;

    while (end == NULL) {
        ssize_t n;

        if (!wait_readable(s, fd)) {
            return false;
        }
        n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
        if (n <= 0) {
            return false;
        }
        have += (size_t)n;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    end += 4;
    cl = strcasestr(buf, "\r\nContent-Length: ");
    if (cl != NULL && cl < end) {
        body_len = strtoul(cl + 18, NULL, 10);
    }
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_head, sizeof(s->last_head), "%.*s", (int)(end - buf), buf);
    pthread_mutex_unlock(&s->lock);
    if (!whole) {
        return true;
    }
    for (const char *p = end; p < buf + have && got < body_len; p++, got++) {
        sum += (unsigned char)*p;
    }
    while (got < body_len) {
        ssize_t n;

        if (!wait_readable(s, fd)) {
            return false;
        }
        n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            return false;
        }
        for (ssize_t i = 0; i < n; i++) {
            sum += (unsigned char)buf[i];
        }
        got += (size_t)n;
    }
    pthread_mutex_lock(&s->lock);
    s->last_body_len = body_len;
    s->last_body_sum = sum;
    pthread_mutex_unlock(&s->lock);
    return true;
}

static void *serve_conn(void *arg)
{
    struct server *s = arg;
    int me = atomic_load(&s->nconns) - 1;
    int fd = s->conn_fds[me];
    int now = atomic_fetch_add(&s->concurrent, 1) + 1;

    if (now > atomic_load(&s->max_concurrent)) {
        atomic_store(&s->max_concurrent, now);
    }
    for (;;) {
        int next = atomic_load(&s->requests);
        const struct step *st = &s->script[next < s->nsteps ? next : s->nsteps - 1];
        int i;

        if (!read_request(s, fd, st->action != ANSWER_BEFORE_BODY)) {
            break;
        }
        i = atomic_fetch_add(&s->requests, 1);
        st = &s->script[i < s->nsteps ? i : s->nsteps - 1];
        if (st->action == ANSWER_BEFORE_BODY) {
            /* A front end refusing a body it will not read: it answers
             * and reads no more; the client's send buffer fills up. */
            if (send(fd, st->answer, strlen(st->answer), MSG_NOSIGNAL) < 0) {
                break;
            }
            while (!atomic_load(&s->stop)) {
                poll(NULL, 0, 10);
            }
            break;
        }

        if (st->action == CLOSE_SILENTLY) {
            break;
        }
        if (st->action == HANG) {
            while (!atomic_load(&s->stop)) {
                poll(NULL, 0, 10);
            }
            break;
        }
        if (send(fd, st->answer, strlen(st->answer), MSG_NOSIGNAL) < 0 ||
            st->action == ANSWER_CLOSE) {
            break;
        }
    }
    atomic_fetch_sub(&s->concurrent, 1);
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    struct server *s = arg;

    while (wait_readable(s, s->lfd)) {
        int fd = accept(s->lfd, NULL, NULL);
        int i;

        if (fd < 0) {
            continue;
        }
        i = atomic_load(&s->nconns);
        if (i >= MAX_CONNS) {
            close(fd);
            continue;
        }
        s->conn_fds[i] = fd;
        atomic_store(&s->nconns, i + 1);
        pthread_create(&s->conn_threads[i], NULL, serve_conn, s);
    }
    return NULL;
}

static void server_start(struct server *s, const struct step *script, int nsteps)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->script = script;
    s->nsteps = nsteps;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->acceptor, NULL, accept_loop, s);
}

static void server_stop(struct server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->acceptor, NULL);
    for (int i = 0; i < atomic_load(&s->nconns); i++) {
        pthread_join(s->conn_threads[i], NULL);
    }
    close(s->lfd);
    pthread_mutex_destroy(&s->lock);
}

/* ---- the client side ---- */

struct result {
    bool done;
    int status;
    int err;
    char body[256];
    size_t body_len;
    char retry_after[64];
    char content_type[64];
    char err_text[320];
};

struct fx {
    struct sk_loop *loop;
    struct sk_http *http;
    struct server srv;
    int expected;
    int done;
    struct sk_timer *guard;
    bool destroy_in_callback;
};

static void on_answer(const struct sk_http_response *res, void *arg);

struct call {
    struct fx *fx;
    struct result r;
};

static void on_answer(const struct sk_http_response *res, void *arg)
{
    struct call *c = arg;

    assert_false(c->r.done);
    c->r.done = true;
    c->r.status = res->status;
    c->r.err = res->err;
    c->r.body_len = res->body.len;
    snprintf(c->r.body, sizeof(c->r.body), "%.*s", (int)res->body.len,
             res->body.data != NULL ? res->body.data : "");
    snprintf(c->r.retry_after, sizeof(c->r.retry_after), "%s",
             res->retry_after != NULL ? res->retry_after : "");
    snprintf(c->r.content_type, sizeof(c->r.content_type), "%s",
             res->content_type != NULL ? res->content_type : "");
    snprintf(c->r.err_text, sizeof(c->r.err_text), "%s", res->err_text ? res->err_text : "");
    if (c->fx->destroy_in_callback) {
        c->fx->destroy_in_callback = false;
        sk_http_destroy(c->fx->http);
        c->fx->http = NULL;
    }
    if (++c->fx->done == c->fx->expected) {
        sk_loop_stop(c->fx->loop);
    }
}

static void guard_fired(struct sk_timer *t, void *arg)
{
    struct fx *fx = arg;

    (void)t;
    sk_loop_stop(fx->loop);
}

static void fx_start(struct fx *fx, const struct step *script, int nsteps, long max_conns)
{
    memset(fx, 0, sizeof(*fx));
    server_start(&fx->srv, script, nsteps);
    fx->loop = sk_loop_create();
    assert_non_null(fx->loop);
    fx->http = sk_http_create(fx->loop, max_conns);
    assert_non_null(fx->http);
    fx->guard = sk_timer_create(fx->loop, guard_fired, fx);
}

/* Runs the loop until `n` more answers came (or 20 s passed: a failure). */
static void fx_wait(struct fx *fx, int n)
{
    fx->expected = fx->done + n;
    sk_timer_start(fx->guard, 20000, 0);
    sk_loop_run(fx->loop);
    sk_timer_stop(fx->guard);
    assert_int_equal(fx->done, fx->expected);
}

struct until {
    struct fx *fx;
    int requests;
};

static void check_requests(struct sk_timer *t, void *arg)
{
    struct until *u = arg;

    (void)t;
    if (atomic_load(&u->fx->srv.requests) >= u->requests) {
        sk_loop_stop(u->fx->loop);
    }
}

/* Runs the loop until the server has read `n` requests (or 20 s passed). */
static void fx_wait_requests(struct fx *fx, int n)
{
    struct until u = {fx, n};
    struct sk_timer *poll_timer = sk_timer_create(fx->loop, check_requests, &u);

    sk_timer_start(poll_timer, 1, 1);
    sk_timer_start(fx->guard, 20000, 0);
    sk_loop_run(fx->loop);
    sk_timer_stop(fx->guard);
    sk_timer_destroy(poll_timer);
    assert_true(atomic_load(&fx->srv.requests) >= n);
}

static void fx_stop(struct fx *fx)
{
    sk_http_destroy(fx->http);
    sk_timer_destroy(fx->guard);
    server_stop(&fx->srv);
    sk_loop_destroy(fx->loop);
}

static void submit(struct fx *fx, struct call *c, const char *method, const char *path,
                   const void *body, size_t len, int64_t timeout_ms)
{
    char url[128];
    struct sk_http_request req = {.method = method, .url = url, .body = body, .body_len = len,
                                  .proxy = "", .timeout_ms = timeout_ms, .max_response = 1024};

    c->fx = fx;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fx->srv.port, path);
    assert_int_equal(sk_http_submit(fx->http, &req, on_answer, c), 0);
}

#define OK_KEEP "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

static void test_get_and_headers(void **state)
{
    static const struct step script[] = {
        {ANSWER, "HTTP/1.1 429 Too Many Requests\r\nRetry-After:  7 \r\nContent-Type: "
                 "text/plain\r\nContent-Length: 4\r\n\r\nslow"}};
    struct fx fx;
    struct call c = {0};

    (void)state;
    fx_start(&fx, script, 1, 4);
    submit(&fx, &c, "GET", "/a?b=c", NULL, 0, 5000);
    fx_wait(&fx, 1);
    assert_int_equal(c.r.err, 0);
    assert_int_equal(c.r.status, 429);
    assert_string_equal(c.r.body, "slow");
    assert_string_equal(c.r.retry_after, "7");
    assert_string_equal(c.r.content_type, "text/plain");
    assert_non_null(strstr(fx.srv.last_head, "GET /a?b=c HTTP/1.1\r\n"));
    assert_non_null(strstr(fx.srv.last_head, "\r\nHost: 127.0.0.1:"));
    assert_null(strstr(fx.srv.last_head, "Content-Length"));
    fx_stop(&fx);
}

static void test_keep_alive_reuses_the_connection(void **state)
{
    static const struct step script[] = {{ANSWER, OK_KEEP}};
    struct fx fx;
    struct call c[3] = {0};

    (void)state;
    fx_start(&fx, script, 1, 4);
    for (int i = 0; i < 3; i++) {
        submit(&fx, &c[i], "POST", "/_bulk", "x\n", 2, 5000);
        fx_wait(&fx, 1);
        assert_int_equal(c[i].r.status, 200);
    }
    assert_int_equal(atomic_load(&fx.srv.requests), 3);
    assert_int_equal(atomic_load(&fx.srv.nconns), 1);
    fx_stop(&fx);
}

static void test_connection_close_answer_is_not_reused(void **state)
{
    static const struct step script[] = {
        {ANSWER_CLOSE, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"}};
    struct fx fx;
    struct call c[2] = {0};

    (void)state;
    fx_start(&fx, script, 1, 4);
    for (int i = 0; i < 2; i++) {
        submit(&fx, &c[i], "GET", "/", NULL, 0, 5000);
        fx_wait(&fx, 1);
        assert_string_equal(c[i].r.body, "ok");
    }
    assert_int_equal(atomic_load(&fx.srv.nconns), 2);
    fx_stop(&fx);
}

static void test_request_on_a_connection_the_server_dropped_goes_again(void **state)
{
    /* Request 2 meets a reused connection the server closes without an
     * answer; it goes again, once, on a new connection. */
    static const struct step script[] = {{ANSWER, OK_KEEP}, {CLOSE_SILENTLY, NULL},
                                         {ANSWER, OK_KEEP}};
    struct fx fx;
    struct call c[2] = {0};

    (void)state;
    fx_start(&fx, script, 3, 4);
    submit(&fx, &c[0], "POST", "/_bulk", "a\n", 2, 5000);
    fx_wait(&fx, 1);
    submit(&fx, &c[1], "POST", "/_bulk", "b\n", 2, 5000);
    fx_wait(&fx, 1);
    assert_int_equal(c[1].r.err, 0);
    assert_int_equal(c[1].r.status, 200);
    assert_int_equal(atomic_load(&fx.srv.requests), 3);
    assert_int_equal(atomic_load(&fx.srv.nconns), 2);
    fx_stop(&fx);
}

static void test_new_connection_closed_without_answer_fails_once(void **state)
{
    static const struct step script[] = {{CLOSE_SILENTLY, NULL}};
    struct fx fx;
    struct call c = {0};

    (void)state;
    fx_start(&fx, script, 1, 4);
    submit(&fx, &c, "POST", "/_bulk", "a\n", 2, 5000);
    fx_wait(&fx, 1);
    assert_int_equal(c.r.err, SK_EIO);
    assert_int_equal(c.r.status, 0);
    assert_non_null(strstr(c.r.err_text, "closed"));
    assert_int_equal(atomic_load(&fx.srv.requests), 1);
    fx_stop(&fx);
}

static void test_timeout(void **state)
{
    static const struct step script[] = {{HANG, NULL}};
    struct fx fx;
    struct call c = {0};

    (void)state;
    fx_start(&fx, script, 1, 4);
    submit(&fx, &c, "GET", "/", NULL, 0, 200);
    fx_wait(&fx, 1);
    assert_int_equal(c.r.err, SK_ETIMEOUT);
    assert_non_null(strstr(c.r.err_text, "timed out"));
    fx_stop(&fx);
}

static void test_refused_connection(void **state)
{
    static const struct step script[] = {{ANSWER, OK_KEEP}};
    struct fx fx;
    struct call c = {0};
    struct sk_http_request req = {.method = "GET", .proxy = "", .timeout_ms = 5000};
    char url[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);

    (void)state;
    /* A port that was just free: bound, then closed, so nothing listens. */
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    fx_start(&fx, script, 1, 4);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
    req.url = url;
    c.fx = &fx;
    assert_int_equal(sk_http_submit(fx.http, &req, on_answer, &c), 0);
    fx_wait(&fx, 1);
    assert_int_equal(c.r.err, SK_EIO);
    assert_non_null(strstr(c.r.err_text, "refused"));
    fx_stop(&fx);
}

static void test_name_resolved_off_the_loop(void **state)
{
    static const struct step script[] = {{ANSWER, OK_KEEP}};
    struct fx fx;
    struct call c = {0};
    struct sk_http_request req = {.method = "GET", .proxy = "", .timeout_ms = 5000};
    char url[64];

    (void)state;
    fx_start(&fx, script, 1, 4);
    /* localhost may come back as ::1 first, where nothing listens: the
     * client goes on to the next address. */
    snprintf(url, sizeof(url), "http://localhost:%d/", fx.srv.port);
    req.url = url;
    c.fx = &fx;
    assert_int_equal(sk_http_submit(fx.http, &req, on_answer, &c), 0);
    fx_wait(&fx, 1);
    assert_int_equal(c.r.err, 0);
    assert_int_equal(c.r.status, 200);
    assert_non_null(strstr(fx.srv.last_head, "\r\nHost: localhost:"));
    fx_stop(&fx);
}

static void test_connection_cap_queues_requests(void **state)
{
    static const struct step script[] = {{ANSWER, OK_KEEP}};
    struct fx fx;
    struct call c[5] = {0};

    (void)state;
    fx_start(&fx, script, 1, 1);
    for (int i = 0; i < 5; i++) {
        submit(&fx, &c[i], "POST", "/_bulk", "x\n", 2, 5000);
    }
    assert_int_equal(sk_http_pending(fx.http), 5);
    fx_wait(&fx, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(c[i].r.status, 200);
    }
    assert_int_equal(atomic_load(&fx.srv.max_concurrent), 1);
    assert_int_equal(atomic_load(&fx.srv.nconns), 1);
    assert_int_equal(sk_http_pending(fx.http), 0);
    fx_stop(&fx);
}

static void test_large_body_arrives_whole(void **state)
{
    static const struct step script[] = {{ANSWER, OK_KEEP}};
    struct fx fx;
    struct call c = {0};
    size_t len = 5u << 20;
    char *body = malloc(len);
    unsigned long sum = 0;

    (void)state;
    for (size_t i = 0; i < len; i++) {
        body[i] = (char)('a' + i % 26);
        sum += (unsigned char)body[i];
    }
    fx_start(&fx, script, 1, 4);
    submit(&fx, &c, "POST", "/_bulk", body, len, 10000);
    fx_wait(&fx, 1);
    assert_int_equal(c.r.status, 200);
    assert_int_equal(fx.srv.last_body_len, len);
    assert_int_equal(fx.srv.last_body_sum, sum);
    fx_stop(&fx);
    free(body);
}

static void test_answer_before_the_body_is_sent(void **state)
{
    /* A 413 arrives while 8 MB of body are still going out: the caller gets
     * the 413, not a broken connection, and the next request goes on a
     * new connection. */
    static const struct step script[] = {
        {ANSWER_BEFORE_BODY, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n"},
        {ANSWER, OK_KEEP}};
    struct fx fx;
    struct call c[2] = {0};
    size_t len = 8u << 20;
    char *body = calloc(1, len);

    (void)state;
    fx_start(&fx, script, 2, 4);
    submit(&fx, &c[0], "POST", "/_bulk", body, len, 5000);
    fx_wait(&fx, 1);
    assert_int_equal(c[0].r.err, 0);
    assert_int_equal(c[0].r.status, 413);
    submit(&fx, &c[1], "POST", "/_bulk", "x\n", 2, 10000);
    fx_wait(&fx, 1);
    assert_int_equal(c[1].r.status, 200);
    assert_int_equal(atomic_load(&fx.srv.nconns), 2);
    fx_stop(&fx);
    free(body);
}

static void test_chunked_answer_and_head(void **state)
{
    static const struct step script[] = {
        {ANSWER, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n"
                 "0\r\n\r\n"},
        {ANSWER, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"},
        {ANSWER, OK_KEEP}};
    struct fx fx;
    struct call c[3] = {0};

    (void)state;
    fx_start(&fx, script, 3, 4);
    submit(&fx, &c[0], "GET", "/", NULL, 0, 5000);
    fx_wait(&fx, 1);
    assert_string_equal(c[0].r.body, "abcde");
    /* HEAD: Content-Length describes a body that does not follow. */
    submit(&fx, &c[1], "HEAD", "/idx", NULL, 0, 5000);
    fx_wait(&fx, 1);
    assert_int_equal(c[1].r.status, 200);
    assert_int_equal(c[1].r.body_len, 0);
    submit(&fx, &c[2], "GET", "/", NULL, 0, 5000);
    fx_wait(&fx, 1);
    assert_string_equal(c[2].r.body, "{}");
    assert_int_equal(atomic_load(&fx.srv.nconns), 1);
    fx_stop(&fx);
}

static void test_oversized_answer(void **state)
{
    static char answer[4096];
    static const struct step script[] = {{ANSWER, answer}};
    struct fx fx;
    struct call c = {0};
    int n = snprintf(answer, sizeof(answer), "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n");

    (void)state;
    memset(answer + n, 'z', 2000);
    answer[n + 2000] = '\0';
    fx_start(&fx, script, 1, 4);
    submit(&fx, &c, "GET", "/", NULL, 0, 5000); /* max_response 1024 */
    fx_wait(&fx, 1);
    assert_int_equal(c.r.err, SK_ETOOBIG);
    fx_stop(&fx);
}

static void test_destroy_from_a_callback(void **state)
{
    /* Request 2 hangs on the reused connection; request 3 goes on a new one,
     * is answered, and its callback destroys the client: request 2 ends as
     * closed, from inside that callback, and nothing is used after free. */
    static const struct step script[] = {{ANSWER, OK_KEEP}, {HANG, NULL}, {ANSWER, OK_KEEP}};
    struct fx fx;
    struct call c[3] = {0};
    struct sk_http_request req = {.method = "GET", .proxy = "", .fresh_connect = true};
    char url[64];

    (void)state;
    fx_start(&fx, script, 3, 4);
    submit(&fx, &c[0], "GET", "/", NULL, 0, 5000);
    fx_wait(&fx, 1);
    submit(&fx, &c[1], "GET", "/hang", NULL, 0, 0);
    fx_wait_requests(&fx, 2); /* it holds the script's HANG step */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", fx.srv.port);
    req.url = url;
    c[2].fx = &fx;
    fx.destroy_in_callback = true;
    assert_int_equal(sk_http_submit(fx.http, &req, on_answer, &c[2]), 0);
    fx_wait(&fx, 2);
    assert_null(fx.http);
    assert_int_equal(c[2].r.status, 200);
    assert_true(c[1].r.done);
    assert_int_equal(c[1].r.err, SK_ECLOSED);
    fx_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_headers),
        cmocka_unit_test(test_keep_alive_reuses_the_connection),
        cmocka_unit_test(test_connection_close_answer_is_not_reused),
        cmocka_unit_test(test_request_on_a_connection_the_server_dropped_goes_again),
        cmocka_unit_test(test_new_connection_closed_without_answer_fails_once),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_refused_connection),
        cmocka_unit_test(test_name_resolved_off_the_loop),
        cmocka_unit_test(test_connection_cap_queues_requests),
        cmocka_unit_test(test_large_body_arrives_whole),
        cmocka_unit_test(test_answer_before_the_body_is_sent),
        cmocka_unit_test(test_chunked_answer_and_head),
        cmocka_unit_test(test_oversized_answer),
        cmocka_unit_test(test_destroy_from_a_callback),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
