/*
 * parser_regexp (plugins/parser_regexp/, parser/ruby_regex.c): records as
 * Fluentd's RegexpParser builds them from Ruby regexps. The expected
 * records of the table were produced by Ruby 3.1 (Onigmo) running
 * Fluentd's regexp_value and RegexpParser#parse on the same bytes (as
 * binary strings, as in_tail reads them). Then the common parameters,
 * configuration errors, the v0.12 `format /.../` path, limits and
 * allocation failures.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../parser/record_render.h"
#include "../../parser/parser_harness.h"
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "util/alloc.h"

extern const struct sk_plugin sk_plugin_parser_regexp;

#define T0 1440938160 /* 30/Aug/2015:12:36:00 +0000 */

struct regexp_case {
    const char *name;
    const char *expression;
    const char *line;
    const char *record; /* "nil": no match */
};

/* Generated with Ruby: the record of Fluentd's RegexpParser, "time" left in. */
static const struct regexp_case cases[] = {
    {"plain names", "/^(?<a>\\w+) (?<b>\\w+)$/",
     "hello world",
     "{a=hello|b=world}"},
    {"order of writing", "/(?<z>\\d+)-(?<a>\\d+)-(?<m>\\d+)/",
     "x 1-2-3 y",
     "{z=1|a=2|m=3}"},
    {"group not taking part is left out", "/^(?<a>\\d+)(?: (?<b>\\w+))?$/",
     "42",
     "{a=42}"},
    {"empty capture is kept", "/^(?<a>\\d*)-(?<b>.*)$/",
     "-x",
     "{a=|b=x}"},
    {"search anywhere", "/(?<word>w\\w+)/",
     "hello world wide",
     "{word=world}"},
    {"repeated name, last that took part", "/(?<a>x)(?<b>1)|(?<a>y)(?<b>2)/",
     "y2",
     "{a=y|b=2}"},
    {"repeated name, first alternative", "/(?<a>x)|(?<a>y)/",
     "x",
     "{a=x}"},
    {"nginx custom log_format", "/^(?<remote>[^ ]*) - (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] \"(?<method>\\S+)(?: +(?<path>[^\\\"]*?)(?: +\\S*)?)?\" (?<code>[^ ]*) (?<size>[^ ]*) \"(?<referer>[^\\\"]*)\" \"(?<agent>[^\\\"]*)\" (?<request_time>[^ ]*) (?<upstream_response_time>[^ ]*)$/",
     "203.0.113.7 - - [30/Aug/2015:12:36:00 +0000] \"GET /api/v1/items?page=2 HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" 0.005 0.004",
     "{remote=203.0.113.7|user=-|time=30/Aug/2015:12:36:00 +0000|method=GET|path=/api/v1/items?page=2|code=200|size=5120|referer=-|agent=Mozilla/5.0 (X11; Linux x86_64)|request_time=0.005|upstream_response_time=0.004}"},
    {"nginx custom, no upstream", "/^(?<remote>[^ ]*) - (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] \"(?<method>\\S+)(?: +(?<path>[^\\\"]*?)(?: +\\S*)?)?\" (?<code>[^ ]*) (?<size>[^ ]*) \"(?<referer>[^\\\"]*)\" \"(?<agent>[^\\\"]*)\" (?<request_time>[^ ]*) (?<upstream_response_time>[^ ]*)$/",
     "203.0.113.7 - bob [30/Aug/2015:12:36:00 +0000] \"POST /login HTTP/2.0\" 302 0 \"https://example.com/\" \"curl/8.4.0\" 0.000 -",
     "{remote=203.0.113.7|user=bob|time=30/Aug/2015:12:36:00 +0000|method=POST|path=/login|code=302|size=0|referer=https://example.com/|agent=curl/8.4.0|request_time=0.000|upstream_response_time=-}"},
    {"k8s glog", "/^(?<severity>\\w)(?<time>\\d{4} [^\\s]*)\\s+(?<pid>\\d+)\\s+(?<source>[^ \\]]+)\\] (?<message>.*)/",
     "I0204 06:55:31.872680       5 server.go:123] Starting kube-apiserver",
     "{severity=I|time=0204 06:55:31.872680|pid=5|source=server.go:123|message=Starting kube-apiserver}"},
    {"logrus with $< typo", "/^time=\"(?<time>[^)]*)\" level=(?<severity>[^ ]*) msg=\"(?<message>[^\"]*)\"( err=\"(?<error>[^\"]*)\")?( statusCode=($<status_code>\\d+))?/",
     "time=\"2019-02-04T06:55:31Z\" level=error msg=\"request failed\" err=\"timeout\"",
     "{time=2019-02-04T06:55:31Z|severity=error|message=request failed|error=timeout}"},
    {"^ and $ are line anchors", "/^(?<a>\\d+)$/",
     "x\n123\ny",
     "{a=123}"},
    {". stops at a newline", "/(?<a>a.*)/",
     "xab\ncd",
     "{a=ab}"},
    {"m flag: . takes newlines", "/(?<a>a.*)/m",
     "xab\ncd",
     "{a=ab\ncd}"},
    {"i flag", "/^(?<a>get) (?<b>[a-z]+)$/i",
     "GET Index",
     "{a=GET|b=Index}"},
    {"inline (?m) is dotall", "/(?m)(?<a>a.*)/",
     "a\nb",
     "{a=a\nb}"},
    {"inline (?i:...)", "/^(?i:(?<a>abc))d$/",
     "ABCd",
     "{a=ABC}"},
    {"\\h is a hex digit", "/(?<h>\\h+)/",
     "xyz deadBEEF42 q",
     "{h=deadBEEF42}"},
    {"\\H is not one", "/(?<h>\\H+)/",
     "00zz-11",
     "{h=zz-}"},
    {"\\h in a class", "/(?<h>[\\h:]+)/",
     "ip fe80::1a:ffff end",
     "{h=fe80::1a:ffff}"},
    {"{,n} means {0,n}", "/^(?<a>x{,2})(?<b>x*)$/",
     "xxxx",
     "{a=xx|b=xx}"},
    {"nested class", "/(?<a>[a[0-9]]+)/",
     "zz a1a2b",
     "{a=a1a2}"},
    {"bytes, not characters", "/^(?<a>.)(?<b>.*)$/",
     "\xc3\xa9t\xc3\xa9",
     "{a=\xc3|b=\xa9t\xc3\xa9}"},
    {"ignore case is ASCII only", "/^(?<a>\\xc3\\xa9)$/i",
     "\xc3\x89",
     "nil"},
    {"\\s includes \\v", "/^(?<a>\\S+)\\s(?<b>\\S+)$/",
     "a\x0b" "b",
     "{a=a|b=b}"},
    {"lookbehind", "/(?<!\\\\)\"(?<q>[^\"]*)\"/",
     "a \\\"x\\\" \"y\"",
     "{q=y}"},
    {"possessive and atomic", "/^(?<a>(?>\\d+))(?<b>\\w*+)$/",
     "123abc",
     "{a=123|b=abc}"},
    {"\\z and \\A", "/\\A(?<a>.+)\\z/",
     "one line",
     "{a=one line}"},
    {"\\Z before a final newline", "/(?<a>\\w+)\\Z/",
     "abc\n",
     "{a=abc}"},
    {"bare expression, no slashes", "^(?<a>[^ ]+) (?<b>.*)$",
     "key value with spaces",
     "{a=key|b=value with spaces}"},
    {"unknown flag ignored", "/^(?<a> x)$/x",
     " x",
     "{a= x}"},
    {"slash inside", "/^(?<p>\\/[^ ]*) (?<q>.*)$/",
     "/a/b/c rest",
     "{p=/a/b/c|q=rest}"},
    {"\\u for ASCII", "/(?<c>[^\\u0023]+)\\u0023(?<m>[^ ]+) as (?<f>\\w+)/",
     "Processing by UsersController#show as HTML",
     "{c=Processing by UsersController|m=show|f=HTML}"},
    {"\\u{...} for ASCII", "/(?<a>\\u{41}+)/",
     "xAAy",
     "{a=AA}"},
    {"names PCRE2 cannot spell", "/(?<logtime>[^ ]*) \\((?<application>[^ ]*)\\) (?<log-level>[^ ]*): (?<message>[^.]*)/",
     "2024-01-02T03:04:05Z (web) WARN: disk almost full. retrying",
     "{logtime=2024-01-02T03:04:05Z|application=web|log-level=WARN|message=disk almost full}"},
    {"@ and dots in names, quotes", "/^(?<@timestamp>\\S+) (?'a.b'\\w+) (?<a.b2>\\w+)$/",
     "t1 x y",
     "{@timestamp=t1|a.b=x|a.b2=y}"},
    {"backreference by name", "/^(?<q>[\"'])(?<s>.*?)\\k<q>$/",
     "'it'",
     "{q='|s=it}"},
};

static void open_expr(struct ph *h, const char *expression, const char *more)
{
    char body[4096];

    snprintf(body, sizeof(body), "expression %s\n%s", expression, more);
    if (ph_open(h, &sk_plugin_parser_regexp, body) != 0) {
        ph_dump_diag(h);
        fail_msg("init failed: %s", expression);
    }
}

static void test_ruby_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ph h;

        /* time_key elsewhere: "time" stays a field, the event time is now */
        open_expr(&h, cases[i].expression, "time_key no_such_field");
        if (strcmp(cases[i].record, "nil") == 0) {
            ph_refuse(&h, cases[i].line);
        } else {
            ph_expect(&h, cases[i].line, cases[i].record, PH_NOW, 0);
        }
        ph_close(&h);
    }
}

#define NGINX_EXPR                                                                           \
    "/^(?<remote>[^ ]*) - (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] \"(?<method>\\S+)(?: "       \
    "+(?<path>[^\\\"]*?)(?: +\\S*)?)?\" (?<code>[^ ]*) (?<size>[^ ]*) \"(?<referer>[^\\\"]*)\" " \
    "\"(?<agent>[^\\\"]*)\" (?<request_time>[^ ]*) (?<upstream_response_time>[^ ]*)$/"
#define NGINX_LINE                                                                           \
    "203.0.113.7 - - [30/Aug/2015:12:36:00 +0000] \"GET /a HTTP/1.1\" 200 512 \"-\" \"curl\" " \
    "0.005 -"

/* conf/nginx-custom-regexp.conf's parser: time, types, null rules. */
static void test_time_and_types(void **state)
{
    struct ph h;

    (void)state;
    open_expr(&h, NGINX_EXPR,
              "time_format %d/%b/%Y:%H:%M:%S %z\n"
              "types code:integer,size:integer,request_time:float,upstream_response_time:float");
    ph_expect(&h, NGINX_LINE,
              "{remote=203.0.113.7|user=-|method=GET|path=/a|code=i:200|size=i:512|referer=-|"
              "agent=curl|request_time=f:0.0050000000000000001|upstream_response_time=f:0}",
              T0, 0);
    ph_close(&h);

    open_expr(&h, NGINX_EXPR,
              "time_format %d/%b/%Y:%H:%M:%S %z\nnull_value_pattern ^-$\nkeep_time_key true\n"
              "types upstream_response_time:float");
    ph_expect(&h, NGINX_LINE,
              "{remote=203.0.113.7|user=nil|time=30/Aug/2015:12:36:00 +0000|method=GET|path=/a|"
              "code=200|size=512|referer=nil|agent=curl|request_time=0.005|"
              "upstream_response_time=nil}",
              T0, 0);
    ph_close(&h);

    /* no time_format: Time.parse-like guessing */
    open_expr(&h, "/^(?<time>\\S+) (?<msg>.*)$/", "");
    ph_expect(&h, "2015-08-30T12:36:00.250Z hello", "{msg=hello}", T0, 250000000);
    ph_expect(&h, "2015-08-30T21:36:00+09:00 hi", "{msg=hi}", T0, 0);
    ph_refuse(&h, "yesterday hi"); /* matches, but no time: dropped */
    ph_close(&h);

    /* time_type and a timezone for offset-less text */
    open_expr(&h, "/^(?<time>\\d+) (?<msg>.*)$/", "time_type unixtime");
    ph_expect(&h, "1440938160 ok", "{msg=ok}", T0, 0);
    ph_close(&h);
    open_expr(&h, "/^(?<time>[^|]+)\\|(?<msg>.*)$/",
              "time_format %Y-%m-%d %H:%M:%S\ntimezone +09:00");
    ph_expect(&h, "2015-08-30 21:36:00|x", "{msg=x}", T0, 0);
    ph_close(&h);

    /* no time group: now, or refused without estimate_current_event */
    open_expr(&h, "/^(?<a>.*)$/", "");
    ph_expect(&h, "abc", "{a=abc}", PH_NOW, 0);
    ph_close(&h);
    open_expr(&h, "/^(?<a>.*)$/", "estimate_current_event false");
    ph_refuse(&h, "abc");
    ph_close(&h);
}

static void test_unmatched(void **state)
{
    static const char *const lines[] = {
        "", "no match here", "203.0.113.7 - - [30/Aug/2015:12:36:00 +0000] \"GET /a\" 200",
        /* matches, but the time does not parse */
        "203.0.113.7 - - [30/Foo/2015:12:36:00 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"c\" 1 2",
    };
    struct ph h;

    (void)state;
    open_expr(&h, NGINX_EXPR, "time_format %d/%b/%Y:%H:%M:%S %z");
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        ph_refuse(&h, lines[i]);
    }
    ph_expect(&h, NGINX_LINE,
              "{remote=203.0.113.7|user=-|method=GET|path=/a|code=200|size=512|referer=-|"
              "agent=curl|request_time=0.005|upstream_response_time=-}",
              T0, 0);
    assert_int_equal(rr_count(h.eb.buf.data, h.eb.buf.len), 1);
    ph_close(&h);
}

/* A regexp without named groups matches, and gives an empty record. */
static void test_no_names(void **state)
{
    struct ph h;

    (void)state;
    open_expr(&h, "/^(\\d+) (x)$/", "");
    ph_expect(&h, "12 x", "{}", PH_NOW, 0);
    ph_refuse(&h, "12 y");
    ph_close(&h);
}

struct bad_case {
    const char *expression;
    const char *message;
};

static void test_bad_config(void **state)
{
    static const struct bad_case bad[] = {
        {"/(?<a>x/", "missing closing parenthesis"},
        {"/abc/xyz", "invalid regexp: missing right slash: /abc/xyz"},
        {"/(?~abc)(?<a>x)/", "'(?~' is not supported"},
        {"/(?<a>[a-z&&[^aeiou]])/", "'&&' is not supported"},
        {"/(?<a>[a[^b]])/", "is not supported"},
        {"/(?<a>\\u00e9)/", "'\\u' is not supported beyond ASCII"},
        {"/(?<a>\\C-a)/", "'\\C-' is not supported"},
    };
    struct ph h;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[256];

        snprintf(body, sizeof(body), "expression %s", bad[i].expression);
        assert_int_equal(ph_open(&h, &sk_plugin_parser_regexp, body), SK_ECONFIG);
        if (!sk_diag_contains(&h.d, bad[i].message)) {
            ph_dump_diag(&h);
            fail_msg("no '%s' for %s", bad[i].message, bad[i].expression);
        }
        ph_close(&h);
    }
    /* expression is required */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_regexp, "time_format %s"), SK_ECONFIG);
    assert_true(sk_diag_contains(&h.d, "expression"));
    ph_close(&h);
    /* flags other than i and m: ignored as Fluentd does, with a warning */
    open_expr(&h, "/^(?<a>a b)$/x", "");
    assert_true(sk_diag_contains(&h.d, "flags other than i and m are ignored"));
    ph_expect(&h, "a b", "{a=a b}", PH_NOW, 0);
    ph_close(&h);
    /* bad types and time zone are the common parameters' errors */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_regexp,
                             "expression /(?<a>.)/\ntypes a:int"),
                     SK_ECONFIG);
    assert_true(sk_diag_contains(&h.d, "unknown value conversion for key:'a', type:'int'"));
    ph_close(&h);
}

/* v0.12's `format /.../` in a <source> reaches the regexp parser. */
static void test_v012_format(void **state)
{
    static const char conf[] =
        "<source>\n  @type tail\n  path /nonexistent/x.log\n  tag x\n"
        "  format /^(?<host>[^ ]*) (?<msg>.*)$/i\n  time_key no_such_field\n</source>\n"
        "<match **>\n  @type null\n</match>\n";
    char path[512];
    struct sk_diag d;
    struct sk_engine *eng;
    struct sk_instance *parser = NULL;
    struct sk_evbuf eb;
    FILE *f;
    char got[256];
    struct sk_time t;

    (void)state;
    snprintf(path, sizeof(path), "%s/v012.conf", sk_test_tmpdir());
    f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(conf, f) >= 0);
    assert_int_equal(fclose(f), 0);
    sk_diag_init(&d);
    eng = sk_engine_create(path, true, &d);
    assert_non_null(eng);
    for (size_t i = 0; i < eng->ninstances; i++) {
        if (eng->instances[i]->plugin == &sk_plugin_parser_regexp) {
            parser = eng->instances[i];
        }
    }
    assert_non_null(parser);
    sk_evbuf_init(&eb, 1 << 16);
    assert_int_equal(sk_parser_parse(parser, "web1 Hello", 10, &eb), 0);
    rr_event(eb.buf.data, eb.buf.len, 0, &t, got, sizeof(got));
    assert_string_equal(got, "{host=web1|msg=Hello}");
    sk_evbuf_cleanup(&eb);
    sk_engine_destroy(eng);
    sk_diag_cleanup(&d);
    unlink(path);
}

/* Long values: the JIT stack grows, nothing is quadratic. */
static void test_long_lines(void **state)
{
    size_t n = 4 << 20;
    char *line = malloc(n + 16);
    struct ph h;

    (void)state;
    assert_non_null(line);
    memset(line, 'a', n);
    memcpy(line + n, " end", 4);
    open_expr(&h, "/^(?<first>(?:a|b)*) (?<rest>.*)$/", "");
    assert_int_equal(ph_parse_n(&h, line, n + 4), 0);
    {
        char *got = malloc(n + 64);
        struct sk_time t;

        assert_non_null(got);
        rr_event(h.eb.buf.data, h.eb.buf.len, 0, &t, got, n + 64);
        assert_int_equal(strlen(got), n + strlen("{first=|rest=end}"));
        assert_int_equal(memcmp(got + 7 + n, "|rest=end}", 10), 0);
        free(got);
    }
    ph_close(&h);
    free(line);
}

static void test_buffer_full(void **state)
{
    struct ph h;

    (void)state;
    open_expr(&h, "/^(?<a>.*)$/", "");
    sk_evbuf_cleanup(&h.eb);
    sk_evbuf_init(&h.eb, 64);
    ph_expect(&h, "short", "{a=short}", PH_NOW, 0);
    {
        size_t len = h.eb.buf.len;

        assert_int_equal(ph_parse_n(&h, "a line far too long to fit in what is left of the "
                                        "batch, which is only sixty-four bytes",
                                    90),
                         SK_ETOOBIG);
        assert_int_equal(h.eb.buf.len, len);
        assert_int_equal(h.eb.count, 1);
    }
    ph_close(&h);
}

static void test_alloc_failures(void **state)
{
    int done = 0;

    (void)state;
    for (long step = 1; step < 400 && !done; step++) {
        struct ph h;
        int rc;

        rc = ph_open_ex(&h, &sk_plugin_parser_regexp,
                        "expression " NGINX_EXPR "\ntime_format %d/%b/%Y:%H:%M:%S %z\n"
                        "types code:integer\nnull_value_pattern ^-$",
                        step);
        if (rc == 0) {
            rc = ph_parse_n(&h, NGINX_LINE, strlen(NGINX_LINE));
            if (rc == 0) {
                done = 1;
            } else {
                assert_int_equal(h.eb.count, 0);
                assert_int_equal(h.eb.buf.len, 0);
            }
        }
        assert_true(rc == 0 || rc == SK_ENOMEM || rc == SK_ECONFIG);
        sk_alloc_fail_after(0, 0);
        ph_close(&h);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ruby_cases),     cmocka_unit_test(test_time_and_types),
        cmocka_unit_test(test_unmatched),      cmocka_unit_test(test_no_names),
        cmocka_unit_test(test_bad_config),     cmocka_unit_test(test_v012_format),
        cmocka_unit_test(test_long_lines),     cmocka_unit_test(test_buffer_full),
        cmocka_unit_test(test_alloc_failures),
    };

    setenv("TZ", "UTC", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
