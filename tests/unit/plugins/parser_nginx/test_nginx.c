/*
 * parser_nginx (plugins/parser_nginx/nginx.c): records as Fluentd builds
 * them, for ordinary and odd lines, with and without the common parser
 * parameters; refusals append nothing; buffer limits and allocation
 * failures leave the batch as it was. The scanner's agreement with the
 * regex on every byte is test_nginx_diff.c's job.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "../../parser/record_render.h"
#include "parser_nginx/nginx_int.h"
#include "util/alloc.h"

extern const struct sk_plugin sk_plugin_parser_nginx;

#define T0 1440938160 /* 30/Aug/2015:12:36:00 +0000 */

struct fx {
    struct nginx_conf conf;
    struct sk_instance ins;
    struct sk_evbuf eb;
    struct sk_diag d;
    struct sk_kv kv[4];
};

/* Zeroed conf with the table's defaults, as the engine would leave it. */
static void fx_conf(struct fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->conf.common.localtime = true;
    fx->conf.common.estimate_current_event = true;
}

static void fx_types(struct fx *fx, const char *k1, const char *v1, const char *k2,
                     const char *v2)
{
    fx->kv[0].key = (char *)k1;
    fx->kv[0].value = (char *)v1;
    fx->kv[1].key = (char *)k2;
    fx->kv[1].value = (char *)v2;
    fx->conf.common.types.v = fx->kv;
    fx->conf.common.types.n = k2 != NULL ? 2 : 1;
}

static int fx_start(struct fx *fx)
{
    fx->ins.plugin = &sk_plugin_parser_nginx;
    fx->ins.conf = &fx->conf;
    sk_diag_init(&fx->d);
    sk_evbuf_init(&fx->eb, 1 << 22);
    return sk_plugin_parser_nginx.init(&fx->ins, &fx->d);
}

static void fx_stop(struct fx *fx)
{
    sk_plugin_parser_nginx.destroy(&fx->ins);
    sk_evbuf_cleanup(&fx->eb);
    sk_diag_cleanup(&fx->d);
}

static int fx_parse(struct fx *fx, const char *line)
{
    return sk_plugin_parser_nginx.parse(&fx->ins, line, strlen(line), &fx->eb);
}

/* Parses line, expects success and the record/time given. */
static void expect(struct fx *fx, const char *line, const char *record, int64_t sec)
{
    char got[8192];
    struct sk_time t;
    size_t before = fx->eb.count;

    assert_int_equal(fx_parse(fx, line), 0);
    assert_int_equal(fx->eb.count, before + 1);
    rr_event(fx->eb.buf.data, fx->eb.buf.len, before, &t, got, sizeof(got));
    if (strcmp(got, record) != 0) {
        fail_msg("line   %s\nwant   %s\ngot    %s", line, record, got);
    }
    if (sec != -1) {
        assert_int_equal(t.sec, sec);
        assert_int_equal(t.nsec, 0);
    }
}

/* Parses line, expects SK_EPARSE and nothing appended. */
static void refuse(struct fx *fx, const char *line)
{
    size_t len = fx->eb.buf.len;
    size_t count = fx->eb.count;

    if (fx_parse(fx, line) != SK_EPARSE) {
        fail_msg("accepted: %s", line);
    }
    assert_int_equal(fx->eb.buf.len, len);
    assert_int_equal(fx->eb.count, count);
}

#define L(req_and_rest) "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] " req_and_rest
#define HEAD "{remote=1.2.3.4|host=-|user=-|"

/* ------------------------------------------------------------------ */

struct record_case {
    const char *name;
    const char *line;
    const char *record;
    int64_t sec;
};

/* The examples of compat-formats.md (d), matched with Ruby's engine. */
static const struct record_case documented[] = {
    {"combined",
     "192.168.1.10 - - [30/Aug/2015:12:36:00 +0000] \"GET /index.html?q=1 HTTP/1.1\" 200 612 "
     "\"-\" \"curl/7.88.1\"",
     "{remote=192.168.1.10|host=-|user=-|method=GET|path=/index.html?q=1|code=200|size=612|"
     "referer=-|agent=curl/7.88.1}",
     T0},
    {"xff and +0900",
     "10.0.0.7 - alice [30/Aug/2015:12:36:01 +0900] \"POST /api/v1/items HTTP/2.0\" 201 18 "
     "\"https://example.com/\" \"Mozilla/5.0 (X11)\" \"203.0.113.9, 10.0.0.1\"",
     "{remote=10.0.0.7|host=-|user=alice|method=POST|path=/api/v1/items|code=201|size=18|"
     "referer=https://example.com/|agent=Mozilla/5.0 (X11)|"
     "http_x_forwarded_for=203.0.113.9, 10.0.0.1}",
     1440905761},
    {"request -", "10.0.0.8 - - [30/Aug/2015:12:36:02 +0000] \"-\" 400 0 \"-\" \"-\"",
     "{remote=10.0.0.8|host=-|user=-|method=-|code=400|size=0|referer=-|agent=-}", T0 + 2},
    {"no referer/agent",
     "10.0.0.9 - - [30/Aug/2015:12:36:03 +0000] \"GET /no-referer HTTP/1.0\" 304 -",
     "{remote=10.0.0.9|host=-|user=-|method=GET|path=/no-referer|code=304|size=-}", T0 + 3},
};

/* Odd lines; every expectation here also agrees with PCRE2 (see diff test). */
static const struct record_case odd[] = {
    {"ipv6 remote", "2001:db8::1 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"",
     "{remote=2001:db8::1|host=-|user=-|method=GET|path=/|code=200|size=5|referer=-|agent=-}", T0},
    {"xff unquoted", L("\"GET / HTTP/1.1\" 200 5 \"-\" \"curl\" 9.9.9.9"),
     HEAD "method=GET|path=/|code=200|size=5|referer=-|agent=curl|http_x_forwarded_for=9.9.9.9}",
     T0},
    {"xff dash", L("\"GET / HTTP/1.1\" 200 5 \"-\" \"curl\" \"-\""),
     HEAD "method=GET|path=/|code=200|size=5|referer=-|agent=curl|http_x_forwarded_for=-}", T0},
    {"nginx \\x22 escape", L("\"GET /a\\x22b HTTP/1.1\" 200 5 \"-\" \"x\\x22y\""),
     HEAD "method=GET|path=/a\\x22b|code=200|size=5|referer=-|agent=x\\x22y}", T0},
    {"binary request", L("\"\\x16\\x03\\x01\\x00\\xCA\" 400 157 \"-\" \"-\""),
     HEAD "method=\\x16\\x03\\x01\\x00\\xCA|code=400|size=157|referer=-|agent=-}", T0},
    {"space in uri", L("\"GET /a b c HTTP/1.1\" 200 5"),
     HEAD "method=GET|path=/a b c|code=200|size=5}", T0},
    {"empty user", "1.2.3.4 -  [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"c\"",
     "{remote=1.2.3.4|host=-|user=|method=GET|path=/|code=200|size=5|referer=-|agent=c}", T0},
    {"lowercase month", "1.2.3.4 - - [30/aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5",
     HEAD "method=GET|path=/|code=200|size=5}", T0},
    {"text after the offset", "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000 x] \"GET / HTTP/1.1\" 200 5",
     HEAD "method=GET|path=/|code=200|size=5}", T0},
    /* Surprises of the regex, as Fluentd records them. */
    {"request - with xff", L("\"-\" 400 0 \"-\" \"-\" \"-\""),
     HEAD "method=-\"|path=400 0|code=\"-\"|size=\"-\"}", T0},
    {"empty request with xff", L("\"\" 400 47 \"-\" \"-\" \"-\""),
     HEAD "method=\"|path=400 47|code=\"-\"|size=\"-\"}", T0},
    {"cr not chomped", L("\"GET / HTTP/1.1\" 200 5 \"-\" \"curl\"\r"),
     HEAD "method=GET|path=/|code=200|size=5|referer=-|agent=curl|http_x_forwarded_for=}", T0},
    {"two spaces then quotes", L("\"GET  a\"b\" 200 5 \"-\" \"c\""),
     HEAD "method=GET|path=|code=200|size=5|referer=-|agent=c}", T0},
    {"line after a newline", "junk\n" L("\"GET / HTTP/1.1\" 200 5"),
     "{remote=junk\n1.2.3.4|host=-|user=-|method=GET|path=/|code=200|size=5}", T0},
    {"newline after the line", L("\"GET / HTTP/1.1\" 200 5 \"-\" \"c\"\njunk"),
     HEAD "method=GET|path=/|code=200|size=5|referer=-|agent=c|http_x_forwarded_for=junk}", T0},
};

static void run_cases(const struct record_case *c, size_t n)
{
    struct fx fx;

    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    for (size_t i = 0; i < n; i++) {
        expect(&fx, c[i].line, c[i].record, c[i].sec);
    }
    assert_int_equal(rr_count(fx.eb.buf.data, fx.eb.buf.len), n);
    fx_stop(&fx);
}

static void test_documented(void **state)
{
    (void)state;
    run_cases(documented, sizeof(documented) / sizeof(documented[0]));
}

static void test_odd_lines(void **state)
{
    (void)state;
    run_cases(odd, sizeof(odd) / sizeof(odd[0]));
}

static void test_refused(void **state)
{
    static const char *const lines[] = {
        "",
        "hello",
        "# failJSON: { \"match\": true }",
        L("\"GET / HTTP/1.1\" 200 5 \"-\" \"Mozilla \\\"quoted\\\" x\""), /* Apache's \" */
        L("\"GET /a\\\"b HTTP/1.1\" 200 5 \"-\" \"curl\""),
        L("\"GET / HTTP/1.1\" 200 5 \"-\" \"curl\" \"a\" \"b\""),
        L("\"\" 400 0 \"-\" \"-\""),
        "1.2.3.4 - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5",
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] GET / HTTP/1.1 200 5",
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200",
        /* matches the regex, but the time does not parse: dropped */
        "1.2.3.4 - - [30/Foo/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5",
        "1.2.3.4 - - [30/Aug/2015:24:00:00 +0000] \"GET / HTTP/1.1\" 200 5",
        "1.2.3.4 - - [] \"GET / HTTP/1.1\" 200 5",
    };
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, documented[0].line, documented[0].record, T0);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        refuse(&fx, lines[i]);
    }
    assert_int_equal(rr_count(fx.eb.buf.data, fx.eb.buf.len), 1);
    fx_stop(&fx);
}

static void test_long_line(void **state)
{
    size_t n = 1 << 20;
    char *line = malloc(n + 200);
    char *want = malloc(n + 200);
    struct fx fx;
    size_t len;

    (void)state;
    assert_non_null(line);
    assert_non_null(want);
    len = (size_t)snprintf(line, 100, "%s", L("\"GET /"));
    memset(line + len, 'a', n);
    len += n;
    len += (size_t)snprintf(line + len, 100, " HTTP/1.1\" 200 5 \"-\" \"c\"");
    snprintf(want, 100, HEAD "method=GET|path=/");
    memset(want + strlen(want), 'a', n);
    snprintf(want + strlen(HEAD "method=GET|path=/") + n, 100,
             "|code=200|size=5|referer=-|agent=c}");
    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    {
        char *got = malloc(n + 400);
        struct sk_time t;

        assert_int_equal(sk_plugin_parser_nginx.parse(&fx.ins, line, len, &fx.eb), 0);
        rr_event(fx.eb.buf.data, fx.eb.buf.len, 0, &t, got, n + 400);
        assert_string_equal(got, want);
        free(got);
    }
    /* the same line without the request's closing quote: no match */
    line[len - strlen(" 200 5 \"-\" \"c\"") - 1] = 'x';
    assert_int_equal(sk_plugin_parser_nginx.parse(&fx.ins, line, len, &fx.eb), SK_EPARSE);
    assert_int_equal(fx.eb.count, 1);
    fx_stop(&fx);
    free(line);
    free(want);
}

/* Values with many '\n' (possible through filter_parser) are matched line
 * start by line start, as Onigmo does; none of these may take quadratic
 * time (the ctest timeout would catch it). */
static void test_many_newlines(void **state)
{
    static const char *const units[] = {
        "x\n",                                   /* no space at all */
        "x y z [\n",                              /* no ']' */
        "a b c [t] \"G /p\n",                     /* requests that never close */
        "q r s [\n",                              /* one far ']' (added below) */
    };
    size_t reps = 200000;
    size_t cap = reps * 16 + 200;
    char *line = malloc(cap);
    struct nginx_match m;

    (void)state;
    assert_non_null(line);
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        size_t n = 0;
        size_t ul = strlen(units[u]);

        for (size_t i = 0; i < reps; i++) {
            memcpy(line + n, units[u], ul);
            n += ul;
        }
        if (u == 3) {
            n += (size_t)snprintf(line + n, 100, "] \"x");
        }
        assert_false(nginx_scan(line, n, &m));
    }
    /* junk lines before a real one: remote spans them all (first start) */
    {
        size_t n = 0;

        for (size_t i = 0; i < reps; i++) {
            memcpy(line + n, "z\n", 2);
            n += 2;
        }
        n += (size_t)snprintf(line + n, 200, "%s", L("\"GET / HTTP/1.1\" 200 5"));
        assert_true(nginx_scan(line, n, &m));
        assert_int_equal(m.f[NGINX_REMOTE].off, 0);
        assert_int_equal(m.f[NGINX_REMOTE].len, reps * 2 + 7);
        assert_int_equal(m.f[NGINX_SIZE].len, 1);
    }
    free(line);
}

/* ------------------------------------------------------------------ */

static void test_types(void **state)
{
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    fx_types(&fx, "code", "integer", "size", "integer");
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, documented[0].line,
           "{remote=192.168.1.10|host=-|user=-|method=GET|path=/index.html?q=1|code=i:200|"
           "size=i:612|referer=-|agent=curl/7.88.1}",
           T0);
    /* "-".to_i is 0: Fluentd does not make it null */
    expect(&fx, documented[3].line,
           "{remote=10.0.0.9|host=-|user=-|method=GET|path=/no-referer|code=i:304|size=i:0}",
           T0 + 3);
    fx_stop(&fx);

    fx_conf(&fx);
    fx_types(&fx, "path", "array:/", "code", "float");
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, L("\"GET /a/b//c/ HTTP/1.1\" 200 5"),
           HEAD "method=GET|path=[,a,b,,c]|code=f:200|size=5}", T0);
    fx_stop(&fx);

    fx_conf(&fx);
    fx_types(&fx, "agent", "bool", "size", "time:unixtime");
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, L("\"GET / HTTP/1.1\" 200 1500000000 \"-\" \"YES\""),
           HEAD "method=GET|path=/|code=200|size=t:1500000000.000000000|referer=-|agent=b:true}",
           T0);
    fx_stop(&fx);
}

static void test_null_rules(void **state)
{
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    fx.conf.common.null_value_pattern = (char *)"^-$";
    fx_types(&fx, "size", "integer", NULL, NULL);
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, documented[3].line,
           "{remote=10.0.0.9|host=nil|user=nil|method=GET|path=/no-referer|code=304|size=nil}",
           T0 + 3);
    fx_stop(&fx);

    fx_conf(&fx);
    fx.conf.common.null_empty_string = true;
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, "1.2.3.4 -  [30/Aug/2015:12:36:00 +0000] \"GET  HTTP/1.1\" 200 5",
           "{remote=1.2.3.4|host=-|user=nil|method=GET|path=HTTP/1.1|code=200|size=5}", T0);
    fx_stop(&fx);
}

static void test_time_params(void **state)
{
    struct fx fx;
    struct sk_time now = sk_time_now();
    struct sk_time t;
    char got[512];

    (void)state;
    fx_conf(&fx);
    fx.conf.common.keep_time_key = true;
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, L("\"GET / HTTP/1.1\" 200 5"),
           "{remote=1.2.3.4|host=-|user=-|time=30/Aug/2015:12:36:00 +0000|method=GET|path=/|"
           "code=200|size=5}",
           T0);
    fx_stop(&fx);

    /* time_key names no group: the time stays a field and the event is now */
    fx_conf(&fx);
    fx.conf.common.time_key = (char *)"date";
    assert_int_equal(fx_start(&fx), 0);
    assert_int_equal(fx_parse(&fx, L("\"GET / HTTP/1.1\" 200 5")), 0);
    rr_event(fx.eb.buf.data, fx.eb.buf.len, 0, &t, got, sizeof(got));
    assert_string_equal(got, "{remote=1.2.3.4|host=-|user=-|time=30/Aug/2015:12:36:00 +0000|"
                             "method=GET|path=/|code=200|size=5}");
    assert_true(t.sec >= now.sec && t.sec <= now.sec + 60);
    fx_stop(&fx);

    /* ... and without estimate_current_event in_tail drops the line */
    fx_conf(&fx);
    fx.conf.common.time_key = (char *)"date";
    fx.conf.common.estimate_current_event = false;
    assert_int_equal(fx_start(&fx), 0);
    refuse(&fx, L("\"GET / HTTP/1.1\" 200 5"));
    fx_stop(&fx);

    /* time_key on another group: its text is parsed as the time */
    fx_conf(&fx);
    fx.conf.common.time_key = (char *)"code";
    fx.conf.common.time_type = SK_TIME_TYPE_UNIXTIME;
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, L("\"GET / HTTP/1.1\" 1700000000 5"),
           HEAD "time=30/Aug/2015:12:36:00 +0000|method=GET|path=/|size=5}", 1700000000);
    fx_stop(&fx);

    /* a format without %z: the zone comes from timezone (text after it is
     * ignored, as by Fluentd's strptime) */
    fx_conf(&fx);
    fx.conf.common.time_format = (char *)"%d/%b/%Y:%H:%M:%S";
    fx.conf.common.timezone = (char *)"+09:00";
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, L("\"GET / HTTP/1.1\" 200 5"), HEAD "method=GET|path=/|code=200|size=5}",
           T0 - 9 * 3600);
    fx_stop(&fx);
}

static void test_bad_config(void **state)
{
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    fx_types(&fx, "code", "int", NULL, NULL);
    assert_int_equal(fx_start(&fx), SK_ECONFIG);
    assert_true(sk_diag_contains(&fx.d, "unknown value conversion for key:'code', type:'int'"));
    fx_stop(&fx);

    fx_conf(&fx);
    fx.conf.common.timezone = (char *)"Mars/Olympus";
    assert_int_equal(fx_start(&fx), SK_ECONFIG);
    assert_true(sk_diag_contains(&fx.d, "Unsupported timezone 'Mars/Olympus'"));
    fx_stop(&fx);

    fx_conf(&fx);
    fx.conf.common.null_value_pattern = (char *)"(";
    assert_int_equal(fx_start(&fx), SK_ECONFIG);
    assert_true(sk_diag_contains(&fx.d, "null_value_pattern"));
    fx_stop(&fx);
}

/* ------------------------------------------------------------------ */

static void test_buffer_full(void **state)
{
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    sk_evbuf_cleanup(&fx.eb);
    sk_evbuf_init(&fx.eb, 200);
    expect(&fx, documented[0].line, documented[0].record, T0);
    {
        size_t len = fx.eb.buf.len;

        assert_int_equal(fx_parse(&fx, documented[1].line), SK_ETOOBIG);
        assert_int_equal(fx.eb.buf.len, len);
        assert_int_equal(fx.eb.count, 1);
    }
    fx_stop(&fx);
}

/* Every allocation of init and parse may fail: clean errors, nothing half
 * appended, and success once allocations work again. */
static void test_alloc_failures(void **state)
{
    const char *plain = documented[1].line;
    int done = 0;

    (void)state;
    for (long step = 1; step < 200 && !done; step++) {
        struct fx fx;
        int rc;

        fx_conf(&fx);
        fx_types(&fx, "code", "integer", "path", "array:/");
        fx.conf.common.null_value_pattern = (char *)"^$";
        sk_alloc_fail_after(step, 0);
        rc = fx_start(&fx);
        if (rc == 0) {
            rc = fx_parse(&fx, plain);
            if (rc == 0) {
                done = 1;
            } else {
                assert_int_equal(fx.eb.count, 0);
                assert_int_equal(fx.eb.buf.len, 0);
            }
        }
        assert_true(rc == 0 || rc == SK_ENOMEM);
        sk_alloc_fail_after(0, 0);
        fx_stop(&fx);
    }
    assert_true(done);
}

static void test_real_files_parse(void **state)
{
    size_t len;
    char *data = sk_test_read_file(sk_test_shared("testdata/nginx-logs/roadmap-sh-nginx-access.log"),
                                   &len);
    struct fx fx;
    size_t ok = 0;
    size_t start = 0;

    (void)state;
    assert_non_null(data);
    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            struct nginx_match m;
            bool match = nginx_scan(data + start, i - start, &m);
            int rc = sk_plugin_parser_nginx.parse(&fx.ins, data + start, i - start, &fx.eb);

            assert_int_equal(rc, match ? 0 : SK_EPARSE);
            ok += rc == 0;
            start = i + 1;
        }
    }
    assert_int_equal(ok, 7607);
    assert_int_equal(rr_count(fx.eb.buf.data, fx.eb.buf.len), ok);
    fx_stop(&fx);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented),
        cmocka_unit_test(test_odd_lines),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_many_newlines),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_null_rules),
        cmocka_unit_test(test_time_params),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_buffer_full),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_real_files_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
