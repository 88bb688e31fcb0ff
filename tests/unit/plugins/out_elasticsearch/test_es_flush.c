#include "testutil.h"

/*
 * The flush state machine of out_elasticsearch end to end, with the HTTP
 * client, the loop clock/timers and the engine services replaced by fakes
 * defined in this file (the static library only pulls objects for symbols
 * nobody defines, so these stand in for src/http, src/loop and src/engine).
 * Each test drives requests and answers one by one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "config/config.h"
#include "event/event.h"
#include "http/http.h"
#include "json/json.h"
#include "loop/loop.h"
#include "out_elasticsearch/es.h"
#include "param/param.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

extern const struct sk_plugin sk_plugin_out_elasticsearch;

/* --- fakes ------------------------------------------------------------------------ */

struct sk_loop {
    int64_t now;
};

struct sk_timer {
    sk_timer_cb cb;
    void *arg;
    bool active;
    int64_t due;
    bool used;
};

#define MAX_TIMERS 32
#define MAX_REQS 64

static struct sk_loop fake_loop;
static struct sk_timer timers[MAX_TIMERS];

struct pending {
    const struct sk_http_request *req;
    sk_http_cb cb;
    void *arg;
    bool open;
};

struct sk_http {
    struct pending reqs[MAX_REQS];
    size_t n;
};

static struct sk_http *the_http;

struct done {
    int calls;
    enum sk_flush_result r;
    bool has_remaining;
    char remaining[1 << 16];
    size_t remaining_len;
    size_t remaining_count;
};

static struct done done;
static int errors_emitted;
static char last_error[512];

int64_t sk_loop_now_ms(struct sk_loop *loop)
{
    return loop->now;
}

int64_t sk_loop_update_now_ms(struct sk_loop *loop)
{
    return loop->now;
}

struct sk_timer *sk_timer_create(struct sk_loop *loop, sk_timer_cb cb, void *arg)
{
    (void)loop;
    for (int i = 0; i < MAX_TIMERS; i++) {
        if (!timers[i].used) {
            timers[i] = (struct sk_timer){cb, arg, false, 0, true};
            return &timers[i];
        }
    }
    return NULL;
}

void sk_timer_start(struct sk_timer *t, int64_t after_ms, int64_t repeat_ms)
{
    (void)repeat_ms;
    t->active = true;
    t->due = fake_loop.now + after_ms;
}

/* es_auth.c links the AWS credential provider, which also stops timers. */
void sk_timer_stop(struct sk_timer *t)
{
    t->active = false;
}

bool sk_timer_active(const struct sk_timer *t)
{
    return t->active;
}

void sk_timer_destroy(struct sk_timer *t)
{
    if (t != NULL) {
        t->used = false;
        t->active = false;
    }
}

static void fire_timers(void)
{
    for (int i = 0; i < MAX_TIMERS; i++) {
        if (timers[i].used && timers[i].active && timers[i].due <= fake_loop.now) {
            timers[i].active = false;
            timers[i].cb(&timers[i], timers[i].arg);
        }
    }
}

struct sk_http *sk_http_create(struct sk_loop *loop, long max_connections)
{
    (void)loop;
    (void)max_connections;
    the_http = calloc(1, sizeof(*the_http));
    return the_http;
}

int sk_http_submit(struct sk_http *h, const struct sk_http_request *req, sk_http_cb cb, void *arg)
{
    if (h->n >= MAX_REQS) {
        return SK_ENOMEM;
    }
    h->reqs[h->n++] = (struct pending){req, cb, arg, true};
    return 0;
}

static void answer(size_t i, int status, int err, const char *body, const char *retry_after)
{
    struct sk_http_response res;
    struct pending *p = &the_http->reqs[i];

    assert_true(i < the_http->n);
    assert_true(p->open);
    memset(&res, 0, sizeof(res));
    res.status = status;
    res.err = err;
    res.body.data = (char *)(body != NULL ? body : "");
    res.body.len = body != NULL ? strlen(body) : 0;
    res.retry_after = retry_after;
    p->open = false;
    p->cb(&res, p->arg);
}

void sk_http_destroy(struct sk_http *h)
{
    if (h == NULL) {
        return;
    }
    for (size_t i = 0; i < h->n; i++) {
        if (h->reqs[i].open) {
            answer(i, 0, SK_ECLOSED, NULL, NULL);
        }
    }
    free(h);
    the_http = NULL;
}

struct sk_loop *sk_engine_loop(struct sk_engine *eng)
{
    (void)eng;
    return &fake_loop;
}

const char *sk_instance_where(const struct sk_instance *ins, char *out, size_t size)
{
    snprintf(out, size, "<match %s>", ins->section->arg != NULL ? ins->section->arg : "");
    return out;
}

int sk_emit_error(struct sk_instance *from, const char *tag, const struct sk_events *ev,
                  const char *reason)
{
    (void)from;
    (void)tag;
    errors_emitted += (int)ev->count;
    snprintf(last_error, sizeof(last_error), "%s", reason);
    return 1;
}

static size_t consumed_upto; /* the last sk_flush_consumed hint of this chunk */

void sk_flush_consumed(struct sk_flush *f, size_t upto)
{
    (void)f;
    assert_true(upto >= consumed_upto || upto == 0); /* only ever moves on within a chunk */
    consumed_upto = upto;
}

void sk_flush_done(struct sk_flush *f, enum sk_flush_result r, const struct sk_events *remaining)
{
    (void)f;
    consumed_upto = 0; /* the next chunk's hints start over */
    done.calls++;
    done.r = r;
    done.has_remaining = remaining != NULL;
    if (remaining != NULL) {
        assert_true(remaining->len <= sizeof(done.remaining));
        memcpy(done.remaining, remaining->data, remaining->len);
        done.remaining_len = remaining->len;
        done.remaining_count = remaining->count;
    }
}

/* --- harness ----------------------------------------------------------------------- */

struct fx {
    struct sk_conf *conf;
    struct sk_instance ins;
    struct sk_diag d;
    struct sk_evbuf chunk;
    struct sk_flush f;
    size_t ev_off[16]; /* event offsets in the chunk */
    size_t ev_len[16];
    size_t nev;
};

static struct fx fx;

static void setup_instance(const char *params)
{
    const struct sk_plugin *p = &sk_plugin_out_elasticsearch;
    char text[4096];

    memset(&fx, 0, sizeof(fx));
    memset(&done, 0, sizeof(done));
    memset(timers, 0, sizeof(timers));
    errors_emitted = 0;
    last_error[0] = '\0';
    fake_loop.now = 1000000;
    setenv("TZ", "UTC", 1);
    snprintf(text, sizeof(text), "<match app.**>\n  @type elasticsearch\n%s</match>\n", params);
    sk_diag_init(&fx.d);
    fx.conf = sk_conf_load_string("test.conf", text, strlen(text), &fx.d);
    assert_non_null(fx.conf);
    fx.ins.plugin = p;
    fx.ins.section = fx.conf->root->children[0];
    fx.ins.conf = calloc(1, p->conf_size);
    fx.ins.id = (char *)"es.0";
    fx.ins.log_level = -1;
    assert_int_equal(sk_param_apply(p->params, fx.ins.section, fx.ins.conf, &fx.d), 0);
    if (p->init(&fx.ins, &fx.d) != 0) {
        sk_diag_log(&fx.d);
        fail_msg("init failed");
    }
    assert_int_equal(p->start(&fx.ins), 0);
    sk_evbuf_init(&fx.chunk, 16u << 20);
}

static void teardown_instance(void)
{
    const struct sk_plugin *p = &sk_plugin_out_elasticsearch;

    p->stop(&fx.ins);
    p->destroy(&fx.ins);
    sk_param_release(p->params, fx.ins.conf);
    free(fx.ins.conf);
    sk_conf_destroy(fx.conf);
    sk_diag_cleanup(&fx.d);
    sk_evbuf_cleanup(&fx.chunk);
}

static void add(const char *json)
{
    struct sk_time t = {1532167200, 0};

    fx.ev_off[fx.nev] = fx.chunk.buf.len;
    assert_int_equal(sk_evbuf_begin(&fx.chunk, t), 0);
    assert_int_equal(sk_json_to_msgpack(json, strlen(json), &fx.chunk.pk), 0);
    sk_evbuf_commit(&fx.chunk);
    fx.ev_len[fx.nev] = fx.chunk.buf.len - fx.ev_off[fx.nev];
    fx.nev++;
}

/* An event the tests do not look at one by one (no offset kept). */
static void add_unlisted(const char *json)
{
    struct sk_time t = {1532167200, 0};

    assert_int_equal(sk_evbuf_begin(&fx.chunk, t), 0);
    assert_int_equal(sk_json_to_msgpack(json, strlen(json), &fx.chunk.pk), 0);
    sk_evbuf_commit(&fx.chunk);
}

static void flush(void)
{
    memset(&fx.f, 0, sizeof(fx.f));
    fx.f.ins = &fx.ins;
    fx.f.tag = "app.web";
    fx.f.timekey = -1;
    fx.f.events.tag = "app.web";
    fx.f.events.data = fx.chunk.buf.data;
    fx.f.events.len = fx.chunk.buf.len;
    fx.f.events.count = fx.chunk.count;
    snprintf(fx.f.chunk_id, sizeof(fx.f.chunk_id), "%s", "0123456789abcdef0123456789abcdef");
    assert_int_equal(sk_plugin_out_elasticsearch.flush(&fx.f), 0);
}

static const struct sk_http_request *req(size_t i)
{
    assert_true(i < the_http->n);
    return the_http->reqs[i].req;
}

static size_t nreqs(void)
{
    return the_http->n;
}

static const char *header(size_t i, const char *name)
{
    const struct sk_http_request *r = req(i);

    for (size_t k = 0; k < r->nheaders; k++) {
        if (strcasecmp(r->headers[k].name, name) == 0) {
            return r->headers[k].value;
        }
    }
    return NULL;
}

static char body_copy[1 << 16];

static const char *body(size_t i)
{
    const struct sk_http_request *r = req(i);

    assert_true(r->body_len < sizeof(body_copy));
    memcpy(body_copy, r->body, r->body_len);
    body_copy[r->body_len] = '\0';
    return body_copy;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

/* The remaining events must be exactly the listed events of the chunk.
 * Every event, in order, may also come back as no list at all: the whole
 * chunk again, as it is. */
static void assert_remaining(const int *events, size_t n)
{
    size_t off = 0;

    if (!done.has_remaining) {
        assert_int_equal(done.r, SK_FLUSH_RETRY);
        assert_int_equal(n, fx.nev);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(events[i], (int)i);
        }
        return;
    }
    assert_int_equal(done.remaining_count, n);
    for (size_t i = 0; i < n; i++) {
        size_t e = (size_t)events[i];

        assert_memory_equal(done.remaining + off, fx.chunk.buf.data + fx.ev_off[e], fx.ev_len[e]);
        off += fx.ev_len[e];
    }
    assert_int_equal(off, done.remaining_len);
}

static char items_buf[8192];

/* {"errors":..,"items":[{"index":{"status":S}}, ...]} from a status list. */
static const char *items(const int *statuses, size_t n)
{
    size_t used = (size_t)snprintf(items_buf, sizeof(items_buf), "{\"errors\":true,\"items\":[");

    for (size_t i = 0; i < n; i++) {
        const char *err = "";

        if (statuses[i] == 400) {
            err = ",\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"failed to parse "
                  "field [code]\"}";
        } else if (statuses[i] == 429) {
            err = ",\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"queue "
                  "full\"}";
        } else if (statuses[i] == 409) {
            err = ",\"error\":{\"type\":\"version_conflict_engine_exception\",\"reason\":\"exists\"}";
        }
        used += (size_t)snprintf(items_buf + used, sizeof(items_buf) - used,
                                 "%s{\"index\":{\"status\":%d%s}}", i ? "," : "", statuses[i], err);
    }
    snprintf(items_buf + used, sizeof(items_buf) - used, "]}");
    return items_buf;
}

static const char es8[] = "{\"version\":{\"number\":\"8.13.4\"},\"tagline\":\"You Know, for Search\"}";
static const char es7[] = "{\"version\":{\"number\":\"7.17.9\"},\"tagline\":\"You Know, for Search\"}";

/* --- tests ------------------------------------------------------------------------------ */

static void test_version_then_bulk(void **state)
{
    static const int ok[] = {201, 201};

    (void)state;
    setup_instance("");
    assert_int_equal(nreqs(), 1);
    assert_string_equal(req(0)->method, "GET");
    assert_string_equal(req(0)->url, "http://localhost:9200/");
    add("{\"a\":1}");
    add("{\"a\":2}");
    flush();
    assert_int_equal(nreqs(), 1); /* waits for the version */
    answer(0, 200, 0, es8, NULL);
    assert_int_equal(nreqs(), 2);
    assert_string_equal(req(1)->method, "POST");
    assert_string_equal(req(1)->url,
                        "http://localhost:9200/_bulk?filter_path=errors,items.*.status,items.*.error,error,status");
    assert_string_equal(header(1, "Content-Type"), "application/json");
    assert_null(header(1, "Content-Encoding"));
    assert_string_equal(body(1), "{\"index\":{\"_index\":\"fluentd\"}}\n{\"a\":1}\n"
                                 "{\"index\":{\"_index\":\"fluentd\"}}\n{\"a\":2}\n");
    assert_int_equal(req(1)->timeout_ms, 5000);
    answer(1, 200, 0, items(ok, 2), NULL);
    assert_int_equal(done.calls, 1);
    assert_int_equal(done.r, SK_FLUSH_OK);
    assert_false(done.has_remaining);
    teardown_instance();
}

static void test_encoded_in_steps_pages_given_back(void **state)
{
    /* 5000 records of ~1 KB and a 3 MB request limit: each request is
     * encoded 1 MB of body at a time. The requests are what one pass gives
     * (cut only at the limit, every record once, in order), and the chunk
     * bytes behind a request are handed back before it is answered. */
    enum { N = 5000 };
    char rec[1100];
    size_t ev_size, next = 0, limit = 3u << 20;
    char *ok = malloc(N * 32 + 64);

    (void)state;
    setup_instance("  bulk_message_request_threshold 3m\n");
    answer(0, 200, 0, es8, NULL);
    for (int i = 0; i < N; i++) {
        snprintf(rec, sizeof(rec), "{\"n\":\"%05d\",\"pad\":\"%01000d\"}", i, 0);
        add_unlisted(rec);
    }
    ev_size = fx.chunk.buf.len / N;
    assert_int_equal(fx.chunk.buf.len % N, 0); /* all events the same size */
    flush();
    while (done.calls == 0) {
        const struct sk_http_request *r = req(nreqs() - 1);
        size_t docs = 0, used;
        char first[32];

        for (size_t i = 0; i < r->body_len; i++) {
            docs += ((const char *)r->body)[i] == '\n';
        }
        docs /= 2;
        assert_true(docs > 0);
        assert_true(r->body_len <= limit);
        /* Cut at the limit: one more record would not have fitted. */
        if (next + docs < N) {
            assert_true(r->body_len + r->body_len / docs > limit);
        }
        snprintf(first, sizeof(first), "{\"n\":\"%05zu\",", next);
        assert_non_null(memmem(r->body, r->body_len, first, strlen(first)));
        next += docs;
        assert_int_equal(consumed_upto, next * ev_size);
        used = (size_t)sprintf(ok, "{\"errors\":false,\"items\":[");
        for (size_t i = 0; i < docs; i++) {
            used += (size_t)sprintf(ok + used, "%s{\"index\":{\"status\":201}}", i ? "," : "");
        }
        sprintf(ok + used, "]}");
        answer(nreqs() - 1, 200, 0, ok, NULL);
    }
    assert_int_equal(next, N);
    assert_int_equal(done.r, SK_FLUSH_OK);
    free(ok);
    teardown_instance();
}

static void test_es7_sends_doc_type(void **state)
{
    static const int ok[] = {201};

    (void)state;
    setup_instance("  logstash_format true\n  time_precision 0\n");
    answer(0, 200, 0, es7, NULL);
    add("{\"a\":1}");
    flush();
    assert_string_equal(body(1), "{\"index\":{\"_index\":\"logstash-2018.07.21\",\"_type\":\"_doc\"}}\n"
                                 "{\"a\":1,\"@timestamp\":\"2018-07-21T10:00:00+00:00\"}\n");
    answer(1, 200, 0, items(ok, 1), NULL);
    assert_int_equal(done.r, SK_FLUSH_OK);
    teardown_instance();
}

static void test_partial_failure_retries_only_failed(void **state)
{
    static const int st[] = {201, 400, 429, 201, 503};
    static const int owed[] = {2, 4};

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n");
    for (int i = 0; i < 5; i++) {
        add("{\"code\":\"abc\"}");
    }
    flush();
    assert_int_equal(nreqs(), 1);
    answer(0, 200, 0, items(st, 5), NULL);
    assert_int_equal(done.calls, 1);
    assert_int_equal(done.r, SK_FLUSH_RETRY);
    assert_remaining(owed, 2);
    assert_int_equal(errors_emitted, 1);
    assert_non_null(strstr(last_error, "mapper_parsing_exception"));
    teardown_instance();
}

static void test_create_conflict_is_done(void **state)
{
    static const int st[] = {409, 201};

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n"
                   "  write_operation create\n  id_key id\n");
    add("{\"id\":\"a\"}");
    add("{\"id\":\"b\"}");
    add("{\"no\":\"id\"}"); /* dropped, counted */
    flush();
    assert_int_equal(count_lines(body(0)), 4);
    assert_non_null(strstr(body(0), "{\"create\":{\"_index\":\"fluentd\",\"_id\":\"a\"}}"));
    answer(0, 200, 0, items(st, 2), NULL);
    assert_int_equal(done.r, SK_FLUSH_OK);
    assert_int_equal(errors_emitted, 0);
    teardown_instance();
}

static void test_413_halves_and_remembers(void **state)
{
    static const int ok2[] = {201, 201};
    static const int ok4[] = {201, 201, 201, 201};

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n");
    for (int i = 0; i < 4; i++) {
        add("{\"msg\":\"0123456789\"}");
    }
    flush();
    assert_int_equal(count_lines(body(0)), 8);
    answer(0, 413, 0, "{\"Message\":\"Request size exceeded 10485760 bytes\"}", NULL);
    assert_int_equal(nreqs(), 2);
    assert_int_equal(count_lines(body(1)), 4);
    answer(1, 200, 0, items(ok2, 2), NULL);
    assert_int_equal(count_lines(body(2)), 4);
    answer(2, 200, 0, items(ok2, 2), NULL);
    assert_int_equal(done.r, SK_FLUSH_OK);
    /* The next chunk starts at the size that worked. */
    memset(&done, 0, sizeof(done));
    flush();
    assert_int_equal(count_lines(body(3)), 4);
    answer(3, 200, 0, items(ok2, 2), NULL);
    answer(4, 200, 0, items(ok2, 2), NULL);
    assert_int_equal(done.r, SK_FLUSH_OK);
    (void)ok4;
    teardown_instance();
}

static void test_failover_to_next_host(void **state)
{
    static const int ok[] = {201};

    (void)state;
    setup_instance("  hosts 127.0.0.1:9201,127.0.0.1:9202\n  verify_es_version_at_startup false\n"
                   "  default_elasticsearch_version 8\n");
    add("{\"a\":1}");
    flush();
    assert_string_equal(req(0)->url,
                        "http://127.0.0.1:9201/_bulk?filter_path=errors,items.*.status,items.*.error,error,status");
    answer(0, 0, SK_EIO, NULL, NULL);
    assert_int_equal(nreqs(), 2);
    assert_string_equal(req(1)->url,
                        "http://127.0.0.1:9202/_bulk?filter_path=errors,items.*.status,items.*.error,error,status");
    assert_string_equal(body(1), "{\"index\":{\"_index\":\"fluentd\"}}\n{\"a\":1}\n");
    answer(1, 200, 0, items(ok, 1), NULL);
    assert_int_equal(done.r, SK_FLUSH_OK);
    /* The dead host is skipped until resurrect_after. */
    memset(&done, 0, sizeof(done));
    flush();
    assert_non_null(strstr(req(2)->url, ":9202/"));
    answer(2, 200, 0, items(ok, 1), NULL);
    fake_loop.now += 60000;
    memset(&done, 0, sizeof(done));
    flush();
    assert_non_null(strstr(req(3)->url, ":9201/")); /* resurrected: tried again */
    answer(3, 200, 0, items(ok, 1), NULL);
    teardown_instance();
}

static void test_all_hosts_down_retries_chunk(void **state)
{
    static const int all[] = {0, 1};

    (void)state;
    setup_instance("  hosts 127.0.0.1:9201,127.0.0.1:9202\n  verify_es_version_at_startup false\n"
                   "  default_elasticsearch_version 8\n");
    add("{\"a\":1}");
    add("{\"a\":2}");
    flush();
    answer(0, 502, 0, "Bad Gateway", NULL);
    answer(1, 0, SK_ETIMEOUT, NULL, NULL);
    assert_int_equal(nreqs(), 2);
    assert_int_equal(done.r, SK_FLUSH_RETRY);
    assert_remaining(all, 2);
    /* Nothing of it got through: the chunk as it is, not a copy of it. */
    assert_false(done.has_remaining);
    /* Never "no connection": the longest-dead host is tried next time. */
    memset(&done, 0, sizeof(done));
    flush();
    assert_non_null(strstr(req(2)->url, ":9201/"));
    answer(2, 0, SK_EIO, NULL, NULL);
    teardown_instance();
}

static void test_retry_after_backs_off(void **state)
{
    static const int ok[] = {201};
    static const int all[] = {0};

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n");
    add("{\"a\":1}");
    flush();
    answer(0, 429,
           0, "{\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"busy\"},\"status\":429}",
           "30");
    assert_int_equal(done.r, SK_FLUSH_RETRY);
    assert_remaining(all, 1);
    memset(&done, 0, sizeof(done));
    flush();
    assert_int_equal(nreqs(), 1); /* held back */
    fake_loop.now += 29999;
    fire_timers();
    assert_int_equal(nreqs(), 1);
    fake_loop.now += 1;
    fire_timers();
    assert_int_equal(nreqs(), 2);
    answer(1, 200, 0, items(ok, 1), NULL);
    assert_int_equal(done.r, SK_FLUSH_OK);
    teardown_instance();
}

static void test_auth_failure_retries(void **state)
{
    static const int all[] = {0};

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n"
                   "  user elastic\n  password s3cret\n");
    add("{\"a\":1}");
    flush();
    assert_string_equal(req(0)->user, "elastic");
    assert_string_equal(req(0)->password, "s3cret");
    answer(0, 401, 0,
           "{\"error\":{\"type\":\"security_exception\",\"reason\":\"unable to authenticate user "
           "[elastic]\"},\"status\":401}",
           NULL);
    assert_int_equal(done.r, SK_FLUSH_RETRY);
    assert_remaining(all, 1);
    assert_int_equal(errors_emitted, 0);
    teardown_instance();
}

static void test_type_rejected_switches_typeless(void **state)
{
    static const int ok[] = {201};

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n");
    add("{\"a\":1}");
    flush();
    assert_string_equal(body(0), "{\"index\":{\"_index\":\"fluentd\",\"_type\":\"fluentd\"}}\n{\"a\":1}\n");
    answer(0, 400, 0,
           "{\"error\":{\"type\":\"illegal_argument_exception\",\"reason\":\"Action/metadata line [1] "
           "contains an unknown parameter [_type]\"},\"status\":400}",
           NULL);
    assert_int_equal(nreqs(), 2);
    assert_string_equal(body(1), "{\"index\":{\"_index\":\"fluentd\"}}\n{\"a\":1}\n");
    answer(1, 200, 0, items(ok, 1), NULL);
    assert_int_equal(done.r, SK_FLUSH_OK);
    assert_int_equal(errors_emitted, 0);
    teardown_instance();
}

static void test_bad_request_isolates_event(void **state)
{
    static const char bad[] =
        "{\"error\":{\"type\":\"x_content_parse_exception\",\"reason\":\"bad\"},\"status\":400}";
    static const int ok[] = {201, 201, 201, 201};
    int rounds = 0;

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n");
    add("{\"n\":0}");
    add("{\"n\":1}");
    add("{\"n\":2}");
    add("{\"n\":3}");
    flush();
    /* The server refuses any request holding event 1: halving isolates it. */
    while (done.calls == 0 && rounds++ < 20) {
        size_t last = nreqs() - 1;
        const char *b = body(last);

        if (strstr(b, "{\"n\":1}") != NULL) {
            answer(last, 400, 0, bad, NULL);
        } else {
            answer(last, 200, 0, items(ok, count_lines(b) / 2), NULL);
        }
    }
    assert_int_equal(done.r, SK_FLUSH_OK);
    assert_int_equal(errors_emitted, 1);
    assert_non_null(strstr(last_error, "x_content_parse_exception"));
    assert_true(nreqs() <= 8);
    teardown_instance();
}

static void test_garbage_answer_retries_request(void **state)
{
    static const int all[] = {0, 1};

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n");
    add("{\"a\":1}");
    add("{\"a\":2}");
    flush();
    answer(0, 200, 0, "{\"took\":1,\"errors\":false,\"items\":[{\"index\":{\"status\":201}}]}", NULL);
    assert_int_equal(done.r, SK_FLUSH_RETRY);
    assert_remaining(all, 2);
    teardown_instance();
}

static void test_stop_with_request_in_flight(void **state)
{
    static const int all[] = {0};
    const struct sk_plugin *p = &sk_plugin_out_elasticsearch;

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n");
    add("{\"a\":1}");
    flush();
    assert_int_equal(done.calls, 0);
    p->stop(&fx.ins);
    assert_int_equal(done.calls, 1);
    assert_int_equal(done.r, SK_FLUSH_RETRY);
    assert_remaining(all, 1);
    /* After stop, flushes are refused (the engine retries them later). */
    memset(&fx.f, 0, sizeof(fx.f));
    fx.f.ins = &fx.ins;
    assert_int_not_equal(p->flush(&fx.f), 0);
    p->destroy(&fx.ins);
    sk_param_release(p->params, fx.ins.conf);
    free(fx.ins.conf);
    sk_conf_destroy(fx.conf);
    sk_diag_cleanup(&fx.d);
    sk_evbuf_cleanup(&fx.chunk);
}

static void test_stop_while_waiting_for_version(void **state)
{
    (void)state;
    setup_instance("");
    add("{\"a\":1}");
    flush();
    teardown_instance(); /* stop cancels GET /: the chunk is handed back whole */
    assert_int_equal(done.calls, 1);
    assert_int_equal(done.r, SK_FLUSH_RETRY);
}

static void test_sniff_never_empties_pool(void **state)
{
    static const int ok[] = {201};
    struct es_ctx *es;

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n"
                   "  reload_after 2\n");
    es = fx.ins.ctx;
    add("{\"a\":1}");
    for (int i = 0; i < 2; i++) {
        memset(&done, 0, sizeof(done));
        flush();
        answer(nreqs() - 1, 200, 0, items(ok, 1), NULL);
    }
    /* Two requests: a sniff went out. */
    assert_string_equal(req(nreqs() - 1)->url, "http://localhost:9200/_nodes/http");
    answer(nreqs() - 1, 200, 0,
           "{\"nodes\":{\"a\":{\"http\":{\"publish_address\":\"127.0.0.9:1\"}},\"b\":{\"name\":\"x\"}}}",
           NULL);
    assert_string_equal(req(nreqs() - 1)->method, "HEAD");
    assert_string_equal(req(nreqs() - 1)->url, "http://127.0.0.9:1/");
    assert_int_equal(es->pool.n, 2);
    answer(nreqs() - 1, 0, SK_EIO, NULL, NULL); /* unreachable: removed again */
    assert_int_equal(es->pool.n, 1);
    assert_string_equal(es->pool.hosts[0]->host, "localhost");
    teardown_instance();
}

static void test_gzip_and_api_key(void **state)
{
    static const int ok[] = {201};
    unsigned char out[4096];
    uLongf outlen = sizeof(out);
    z_stream zs;

    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n"
                   "  compression_level best_speed\n  api_key id:key\n"
                   "  custom_headers {\"X-Token\":\"t\"}\n  content_type application/x-ndjson\n");
    add("{\"a\":1}");
    flush();
    assert_string_equal(header(0, "Content-Encoding"), "gzip");
    assert_string_equal(header(0, "Authorization"), "ApiKey aWQ6a2V5");
    assert_string_equal(header(0, "X-Token"), "t");
    assert_string_equal(header(0, "Content-Type"), "application/x-ndjson");
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)req(0)->body;
    zs.avail_in = (uInt)req(0)->body_len;
    zs.next_out = out;
    zs.avail_out = (uInt)outlen;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    out[zs.total_out] = '\0';
    inflateEnd(&zs);
    assert_string_equal((char *)out, "{\"index\":{\"_index\":\"fluentd\"}}\n{\"a\":1}\n");
    answer(0, 200, 0, items(ok, 1), NULL);
    assert_int_equal(done.r, SK_FLUSH_OK);
    teardown_instance();
}

static void test_garbage_chunk_is_dropped(void **state)
{
    (void)state;
    setup_instance("  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n");
    assert_int_equal(sk_buf_append(&fx.chunk.buf, "\xc1\xc1\xc1", 3), 0);
    fx.chunk.count = 1;
    flush();
    assert_int_equal(nreqs(), 0);
    assert_int_equal(done.r, SK_FLUSH_DROP);
    teardown_instance();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_then_bulk),
        cmocka_unit_test(test_es7_sends_doc_type),
        cmocka_unit_test(test_encoded_in_steps_pages_given_back),
        cmocka_unit_test(test_partial_failure_retries_only_failed),
        cmocka_unit_test(test_create_conflict_is_done),
        cmocka_unit_test(test_413_halves_and_remembers),
        cmocka_unit_test(test_failover_to_next_host),
        cmocka_unit_test(test_all_hosts_down_retries_chunk),
        cmocka_unit_test(test_retry_after_backs_off),
        cmocka_unit_test(test_auth_failure_retries),
        cmocka_unit_test(test_type_rejected_switches_typeless),
        cmocka_unit_test(test_bad_request_isolates_event),
        cmocka_unit_test(test_garbage_answer_retries_request),
        cmocka_unit_test(test_stop_with_request_in_flight),
        cmocka_unit_test(test_stop_while_waiting_for_version),
        cmocka_unit_test(test_sniff_never_empties_pool),
        cmocka_unit_test(test_gzip_and_api_key),
        cmocka_unit_test(test_garbage_chunk_is_dropped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
