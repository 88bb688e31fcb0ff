/*
 * The nginx examples shipped in conf/ parse what nginx writes with those
 * log_format lines: nginx-custom-regexp.conf (combined plus
 * $request_time $upstream_response_time, @type regexp) and nginx-json.conf
 * (escape=json, @type json). Each config is loaded by the real engine (dry
 * run) and its parser fed lines in that nginx format.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../parser/record_render.h"
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "plugin/plugin.h"

#define T0 1440938160 /* 30/Aug/2015:12:36:00 +0000 */

struct example {
    struct sk_engine *eng;
    struct sk_instance *parser;
    struct sk_diag d;
    struct sk_evbuf eb;
};

static void load(struct example *ex, const char *name)
{
    char path[4096];

    /* SKIFF_TEST_DATA is tests/data: conf/ is two levels up */
    snprintf(path, sizeof(path), "%s/../../conf/%s", sk_test_data(""), name);
    memset(ex, 0, sizeof(*ex));
    sk_diag_init(&ex->d);
    sk_evbuf_init(&ex->eb, 1 << 20);
    ex->eng = sk_engine_create(path, true, &ex->d);
    assert_non_null(ex->eng);
    assert_int_equal(ex->d.errors, 0);
    for (size_t i = 0; i < ex->eng->ninstances; i++) {
        if (ex->eng->instances[i]->plugin->kind == SK_PLUGIN_PARSER) {
            ex->parser = ex->eng->instances[i];
        }
    }
    assert_non_null(ex->parser);
}

static void unload(struct example *ex)
{
    sk_engine_destroy(ex->eng);
    sk_evbuf_cleanup(&ex->eb);
    sk_diag_cleanup(&ex->d);
}

static void expect(struct example *ex, const char *line, const char *record, int64_t sec,
                   uint32_t nsec)
{
    char got[4096];
    struct sk_time t;
    size_t before = ex->eb.count;

    assert_int_equal(sk_parser_parse(ex->parser, line, strlen(line), &ex->eb), 0);
    rr_event(ex->eb.buf.data, ex->eb.buf.len, before, &t, got, sizeof(got));
    if (strcmp(got, record) != 0) {
        fail_msg("line %s\nwant %s\ngot  %s", line, record, got);
    }
    assert_int_equal(t.sec, sec);
    assert_int_equal(t.nsec, nsec);
}

static void test_custom_regexp(void **state)
{
    struct example ex;

    (void)state;
    load(&ex, "nginx-custom-regexp.conf");
    expect(&ex,
           "203.0.113.7 - - [30/Aug/2015:12:36:00 +0000] \"GET /api/items?page=2 HTTP/1.1\" 200 "
           "5120 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" 0.005 0.004",
           "{remote=203.0.113.7|user=-|method=GET|path=/api/items?page=2|code=i:200|size=i:5120|"
           "referer=-|agent=Mozilla/5.0 (X11; Linux x86_64)|request_time=f:0.0050000000000000001|"
           "upstream_response_time=f:0.0040000000000000001}",
           T0, 0);
    /* no upstream (a static file): "-" reads as 0.0 */
    expect(&ex,
           "10.0.0.2 - bob [30/Aug/2015:12:36:00 +0000] \"GET /favicon.ico HTTP/2.0\" 404 153 "
           "\"https://example.com/\" \"curl/8.4.0\" 0.000 -",
           "{remote=10.0.0.2|user=bob|method=GET|path=/favicon.ico|code=i:404|size=i:153|"
           "referer=https://example.com/|agent=curl/8.4.0|request_time=f:0|"
           "upstream_response_time=f:0}",
           T0, 0);
    /* two upstreams tried: the first time */
    expect(&ex,
           "10.0.0.3 - - [30/Aug/2015:12:36:00 +0000] \"POST /api HTTP/1.1\" 502 0 \"-\" \"c\" "
           "1.250 1.000, 0.250",
           "{remote=10.0.0.3|user=-|method=POST|path=/api|code=i:502|size=i:0|referer=-|agent=c|"
           "request_time=f:1.25|upstream_response_time=f:1}",
           T0, 0);
    /* plain combined lines lack the timings: unmatched */
    assert_int_equal(sk_parser_parse(ex.parser, "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / "
                                                "HTTP/1.1\" 200 5 \"-\" \"c\"",
                                     68, &ex.eb),
                     SK_EPARSE);
    unload(&ex);
}

static void test_json(void **state)
{
    struct example ex;

    (void)state;
    load(&ex, "nginx-json.conf");
    expect(&ex,
           "{\"time\":\"2015-08-30T12:36:00+00:00\",\"remote_addr\":\"203.0.113.7\","
           "\"remote_user\":\"\",\"request\":\"GET /search?q=\\\"x\\\" HTTP/1.1\",\"status\":200,"
           "\"body_bytes_sent\":5120,\"request_time\":0.005,\"upstream_response_time\":\"0.004\","
           "\"http_referer\":\"\",\"http_user_agent\":\"curl/8.4.0\\u0001\","
           "\"http_x_forwarded_for\":\"198.51.100.2, 10.0.0.1\"}",
           "{remote_addr=203.0.113.7|remote_user=|request=GET /search?q=\"x\" HTTP/1.1|"
           "status=i:200|body_bytes_sent=i:5120|request_time=f:0.0050000000000000001|"
           "upstream_response_time=0.004|http_referer=|http_user_agent=curl/8.4.0\x01|"
           "http_x_forwarded_for=198.51.100.2, 10.0.0.1}",
           T0, 0);
    expect(&ex, "{\"time\":\"2015-08-30T21:36:00+09:00\",\"status\":499}", "{status=i:499}", T0,
           0);
    unload(&ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_custom_regexp),
        cmocka_unit_test(test_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
