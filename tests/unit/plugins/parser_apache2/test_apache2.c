/*
 * parser_apache2 (plugins/parser_apache2/): records as Fluentd's
 * Apache2Parser builds them: always the 8 keys in order, "-" as nil for
 * host, user, referer and agent (and size), code and size integers (code
 * 0 is nil), path nil when absent, the time removed unless keep_time_key.
 * The table's records and times were produced by Ruby 3.1 running
 * Fluentd's parse method (v1.14.2+ expression) on the same bytes. The
 * matcher's agreement with the expression on every byte is
 * test_apache2_diff.c's job.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "../../parser/record_render.h"
#include "../../parser/parser_harness.h"
#include "parser_apache2/apache2_int.h"

extern const struct sk_plugin sk_plugin_parser_apache2;

#define T0 1440938160 /* 30/Aug/2015:12:36:00 +0000 */

struct record_case {
    const char *name;
    const char *line;
    const char *record;
    int64_t sec;
};

/* Generated with Ruby: Fluentd's Apache2Parser#parse. */
static const struct record_case cases[] = {
    {"documented",
     "192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] \"GET / HTTP/1.1\" 200 777 \"-\" \"Opera/12.0\"",
     "{host=192.168.0.1|user=nil|method=GET|path=/|code=i:200|size=i:777|referer=nil|agent=Opera/12.0}", 1362020400},
    {"without http version",
     "192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] \"GET /\" 200 777 \"-\" \"Opera/12.0\"",
     "{host=192.168.0.1|user=nil|method=GET|path=/|code=i:200|size=i:777|referer=nil|agent=Opera/12.0}", 1362020400},
    {"compat-formats example",
     "192.168.1.10 - - [30/Aug/2015:12:36:00 +0000] \"GET /index.html?q=1 HTTP/1.1\" 200 612 \"-\" \"curl/7.88.1\"",
     "{host=192.168.1.10|user=nil|method=GET|path=/index.html?q=1|code=i:200|size=i:612|referer=nil|agent=curl/7.88.1}", 1440938160},
    {"common log format",
     "10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326",
     "{host=10.0.0.1|user=frank|method=GET|path=/apache_pb.gif|code=i:200|size=i:2326|referer=nil|agent=nil}", 971211336},
    {"size -",
     "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"HEAD / HTTP/1.0\" 304 - \"http://ref/\" \"UA x\"",
     "{host=10.0.0.1|user=nil|method=HEAD|path=/|code=i:304|size=nil|referer=http://ref/|agent=UA x}", 971211336},
    {"request -",
     "10.0.0.8 - - [30/Aug/2015:12:36:02 +0000] \"-\" 408 - \"-\" \"-\"",
     "{host=10.0.0.8|user=nil|method=-|path=nil|code=i:408|size=nil|referer=nil|agent=nil}", 1440938162},
    {"code 0 and text",
     "10.0.0.8 - - [30/Aug/2015:12:36:02 +0000] \"GET / HTTP/1.1\" 0 abc",
     "{host=10.0.0.8|user=nil|method=GET|path=/|code=nil|size=i:0|referer=nil|agent=nil}", 1440938162},
    {"code with text after digits",
     "10.0.0.8 - - [30/Aug/2015:12:36:02 +0000] \"GET / HTTP/1.1\" 2xx 12kb",
     "{host=10.0.0.8|user=nil|method=GET|path=/|code=i:2|size=i:12|referer=nil|agent=nil}", 1440938162},
    {"escaped quote in agent",
     "1.1.1.1 - - [25/Feb/2020:18:55:34 +0000] \"GET / HTTP/1.1\" 302 5080 \"-\" \"\\\"Mozilla/5.0 (iPhone)\\\"\"",
     "{host=1.1.1.1|user=nil|method=GET|path=/|code=i:302|size=i:5080|referer=nil|agent=\\\"Mozilla/5.0 (iPhone)\\\"}", 1582656934},
    {"escaped quote in agent middle",
     "x.x.x.x - - [16/Apr/2018:16:19:20 +0000] \"POST /myURL HTTP/1.1\" 200 8073 \"-\" \"Dalvik/2.1.0 (Linux; U; Android 5.1; Alba 10\\\" Build/LMY47I)\"",
     "{host=x.x.x.x|user=nil|method=POST|path=/myURL|code=i:200|size=i:8073|referer=nil|agent=Dalvik/2.1.0 (Linux; U; Android 5.1; Alba 10\\\" Build/LMY47I)}", 1523895560},
    {"escaped quote in path",
     "::1 - - [07/Mar/2016:21:40:04 +0100] \"GET http://localhost:6081/\\\" HTTP/1.1\" 404 281 \"-\" \"\\\"\"",
     "{host=::1|user=nil|method=GET|path=http://localhost:6081/\\\"|code=i:404|size=i:281|referer=nil|agent=\\\"}", 1457383204},
    {"nginx \\x escapes",
     "195.54.160.135 - - [01/Jun/2020:10:25:09 +0000] \"GET /index.php?s=/Index/\\x5Cthink HTTP/1.1\" 301 194 \"-\" \"Mozilla/5.0\"",
     "{host=195.54.160.135|user=nil|method=GET|path=/index.php?s=/Index/\\x5Cthink|code=i:301|size=i:194|referer=nil|agent=Mozilla/5.0}", 1591007109},
    {"space in path",
     "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET /a b c HTTP/1.1\" 200 5",
     "{host=1.2.3.4|user=nil|method=GET|path=/a b c|code=i:200|size=i:5|referer=nil|agent=nil}", 1440938160},
    {"ident column skipped",
     "1.2.3.4 ident42 - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5",
     "{host=1.2.3.4|user=nil|method=GET|path=/|code=i:200|size=i:5|referer=nil|agent=nil}", 1440938160},
    {"empty user",
     "1.2.3.4 -  [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"c\"",
     "{host=1.2.3.4|user=|method=GET|path=/|code=i:200|size=i:5|referer=nil|agent=c}", 1440938160},
    {"ipv6 host and user",
     "2001:db8::1 - alice [30/Aug/2015:12:36:00 +0000] \"DELETE /x/1 HTTP/2.0\" 204 0 \"\" \"\"",
     "{host=2001:db8::1|user=alice|method=DELETE|path=/x/1|code=i:204|size=i:0|referer=|agent=}", 1440938160},
    {"method only",
     "12.34.56.78 - - [20/Jan/2015:19:54:28 +0100] \"HELP\" 400 47 \"-\" \"-\"",
     "{host=12.34.56.78|user=nil|method=HELP|path=nil|code=i:400|size=i:47|referer=nil|agent=nil}", 1421780068},
};

static void open_apache2(struct ph *h, const char *body)
{
    if (ph_open(h, &sk_plugin_parser_apache2, body) != 0) {
        ph_dump_diag(h);
        fail_msg("init failed");
    }
}

static void test_ruby_cases(void **state)
{
    struct ph h;

    (void)state;
    open_apache2(&h, "");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ph_expect(&h, cases[i].line, cases[i].record, cases[i].sec, 0);
    }
    assert_int_equal(rr_count(h.eb.buf.data, h.eb.buf.len), sizeof(cases) / sizeof(cases[0]));
    ph_close(&h);
}

static void test_refused(void **state)
{
    static const char *const lines[] = {
        /* nginx's trailing X-Forwarded-For: apache2 does not take it */
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\" "
        "\"10.0.0.1\"",
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200",
        "1.2.3.4 - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5",
        "",
        "hello",
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] GET / 200 5",
        "12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] \"\" 400 47 \"-\" \"-\"",
        /* matches, but the time does not parse: dropped */
        "1.2.3.4 - - [30/Foo/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 5",
        "1.2.3.4 - - [] \"GET / HTTP/1.1\" 200 5",
        "1.2.3.4 - - [30/Aug/2015:12:36:00] \"GET / HTTP/1.1\" 200 5",
    };
    struct ph h;

    (void)state;
    open_apache2(&h, "");
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        ph_refuse(&h, lines[i]);
    }
    ph_close(&h);
}

static void test_keep_time_key(void **state)
{
    struct ph h;

    (void)state;
    open_apache2(&h, "keep_time_key true");
    ph_expect(&h, cases[2].line,
              "{host=192.168.1.10|user=nil|method=GET|path=/index.html?q=1|code=i:200|size=i:612|"
              "referer=nil|agent=curl/7.88.1|time=30/Aug/2015:12:36:00 +0000}",
              T0, 0);
    ph_close(&h);
}

/* Fluentd's apache2 ignores time_format, time_key, types and null rules
 * (a warning says so); timezone cannot matter (the text has an offset). */
static void test_ignored_params(void **state)
{
    struct ph h;

    (void)state;
    open_apache2(&h, "time_format %Y\ntime_key other\ntypes code:string\nnull_value_pattern ^GET$\n"
                     "timezone +09:00");
    assert_true(sk_diag_contains(&h.d, "'time_format' has no effect on the apache2 parser"));
    assert_true(sk_diag_contains(&h.d, "'types' has no effect on the apache2 parser"));
    ph_expect(&h, cases[2].line, cases[2].record, T0, 0);
    ph_close(&h);
    /* ... but they are still checked, as Fluentd's configure does */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_apache2, "types code:number"), SK_ECONFIG);
    ph_close(&h);
}

/* Big numbers: beyond 64 bits the value is kept as a float. */
static void test_numbers(void **state)
{
    struct ph h;

    (void)state;
    open_apache2(&h, "");
    ph_expect(&h,
              "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" -200 "
              "99999999999999999999",
              "{host=1.2.3.4|user=nil|method=GET|path=/|code=i:-200|size=f:1e+20|referer=nil|"
              "agent=nil}",
              T0, 0);
    ph_close(&h);
}

/* The record bytes are what msgpack-c writes for the same values. */
static void test_bytes_as_msgpack_c(void **state)
{
    static const char *const lines[] = {
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 127",
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" 200 128",
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" -5 65535",
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" -129 65536",
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" -40000 4294967296",
        "1.2.3.4 - - [30/Aug/2015:12:36:00 +0000] \"GET / HTTP/1.1\" -3000000000 99999999999999999999",
    };
    struct ph h;

    (void)state;
    open_apache2(&h, "keep_time_key true");
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        size_t off = h.eb.buf.len;
        size_t tlen;
        size_t rlen;
        msgpack_unpacked u;
        msgpack_sbuffer sb;
        msgpack_packer pk;

        assert_int_equal(ph_parse_n(&h, lines[i], strlen(lines[i])), 0);
        tlen = sk_mp_skip(h.eb.buf.data + off + 1, h.eb.buf.len - off - 1);
        rlen = h.eb.buf.len - off - 1 - tlen;
        msgpack_unpacked_init(&u);
        assert_int_equal(msgpack_unpack_next(&u, h.eb.buf.data + off + 1 + tlen, rlen, NULL),
                         MSGPACK_UNPACK_SUCCESS);
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        assert_int_equal(msgpack_pack_object(&pk, u.data), 0);
        assert_int_equal(sb.size, rlen);
        assert_memory_equal(sb.data, h.eb.buf.data + off + 1 + tlen, rlen);
        msgpack_sbuffer_destroy(&sb);
        msgpack_unpacked_destroy(&u);
    }
    ph_close(&h);
}

static void test_real_file(void **state)
{
    size_t len;
    char *data = sk_test_read_file(sk_test_shared("testdata/nginx-logs/roadmap-sh-nginx-access.log"),
                                   &len);
    struct ph h;
    size_t ok = 0;
    size_t start = 0;

    (void)state;
    assert_non_null(data);
    open_apache2(&h, "");
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            int rc = ph_parse_n(&h, data + start, i - start);

            assert_true(rc == 0 || rc == SK_EPARSE);
            ok += rc == 0;
            start = i + 1;
        }
    }
    assert_true(ok > 7000);
    assert_int_equal(rr_count(h.eb.buf.data, h.eb.buf.len), ok);
    ph_close(&h);
    free(data);
}

static void test_buffer_full(void **state)
{
    struct ph h;

    (void)state;
    open_apache2(&h, "");
    sk_evbuf_cleanup(&h.eb);
    sk_evbuf_init(&h.eb, 260);
    ph_expect(&h, cases[3].line, cases[3].record, cases[3].sec, 0);
    {
        size_t blen = h.eb.buf.len;

        assert_int_equal(ph_parse_n(&h, cases[2].line, strlen(cases[2].line)), SK_ETOOBIG);
        assert_int_equal(h.eb.buf.len, blen);
        assert_int_equal(h.eb.count, 1);
    }
    ph_close(&h);
}

static void test_alloc_failures(void **state)
{
    int done = 0;

    (void)state;
    for (long step = 1; step < 200 && !done; step++) {
        struct ph h;
        int rc = ph_open_ex(&h, &sk_plugin_parser_apache2, "", step);

        if (rc == 0) {
            /* an escaped quote: the PCRE2 fallback runs too */
            rc = ph_parse_n(&h, cases[8].line, strlen(cases[8].line));
            if (rc == 0) {
                done = 1;
            } else {
                assert_int_equal(h.eb.count, 0);
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
        cmocka_unit_test(test_ruby_cases),     cmocka_unit_test(test_refused),
        cmocka_unit_test(test_keep_time_key),  cmocka_unit_test(test_ignored_params),
        cmocka_unit_test(test_numbers),        cmocka_unit_test(test_bytes_as_msgpack_c),
        cmocka_unit_test(test_real_file),
        cmocka_unit_test(test_buffer_full),    cmocka_unit_test(test_alloc_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
