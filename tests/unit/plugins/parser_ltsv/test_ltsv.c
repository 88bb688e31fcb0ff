/*
 * parser_ltsv (plugins/parser_ltsv/, parser/ruby_split.c): records as
 * Fluentd's LabeledTSVParser builds them with Ruby's String#split. The
 * table's records were produced by Ruby 3.1 running that parse method on
 * the same bytes (time_key moved aside so "time" stays a field); then the
 * time, types, and configuration errors.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "../../parser/record_render.h"
#include "../../parser/parser_harness.h"

extern const struct sk_plugin sk_plugin_parser_ltsv;

#define T0 1440938160 /* 30/Aug/2015:12:36:00 +0000 */

struct ltsv_case {
    const char *name;
    const char *conf;
    const char *line;
    const char *record;
};

/* Generated with Ruby: LabeledTSVParser#parse's Hash. */
static const struct ltsv_case cases[] = {
    {"nginx ltsv", "",
     "time:30/Aug/2015:12:36:00 +0000\thost:192.168.1.10\treq:GET /index.html HTTP/1.1\tstatus:200\tsize:612\treferer:-\tua:curl/7.88.1\treqtime:0.005",
     "{time=30/Aug/2015:12:36:00 +0000|host=192.168.1.10|req=GET /index.html HTTP/1.1|status=200|size=612|referer=-|ua=curl/7.88.1|reqtime=0.005}"},
    {"value with the label delimiter", "",
     "url:http://example.com:8080/x\tk:a:b:c",
     "{url=http://example.com:8080/x|k=a:b:c}"},
    {"empty label and value", "",
     ":v\tk:\t:",
     "{=|k=}"},
    {"pieces without a label are skipped", "",
     "a:1\tgarbage\t\tb:2",
     "{a=1|b=2}"},
    {"repeated label: first place, last value", "",
     "a:1\tb:2\ta:3",
     "{a=3|b=2}"},
    {"trailing and leading tabs", "",
     "\t\ta:1\t\t",
     "{a=1}"},
    {"empty line", "",
     "",
     "{}"},
    {"custom delimiters", "delimiter \",\"\nlabel_delimiter \"=\"",
     "a=1,b=x=y,c",
     "{a=1|b=x=y}"},
    {"awk-style space delimiter", "delimiter \" \"",
     "  a:1   b:2\tc:3 ",
     "{a=1|b=2|c=3}"},
    {"regexp delimiter", "delimiter_pattern /\\s+/",
     "a:1  b:2\t \tc:3",
     "{a=1|b=2|c=3}"},
    {"regexp delimiter with a capture", "delimiter_pattern /(,)/",
     "a:1,b:2",
     "{a=1|b=2}"},
    {"regexp delimiter matching nothing", "delimiter_pattern /x*/\nlabel_delimiter \"a\"",
     "bab",
     "{=}"},
    {"label delimiter is a space (awk)", "label_delimiter \" \"",
     " a b\tc  d e\tf ",
     "{a=b|c=d e|f=}"},
    {"bytes", "",
     "k:\xff\xfe\tj:\xc3\xa9",
     "{k=\xff\xfe|j=\xc3\xa9}"},
    {"awk label, no value", "label_delimiter \" \"",
     "x y\t a",
     "{x=y|a=nil}"},
};

static void test_ruby_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512];
        struct ph h;

        snprintf(body, sizeof(body), "%s\ntime_key no_such_field", cases[i].conf);
        if (ph_open(&h, &sk_plugin_parser_ltsv, body) != 0) {
            ph_dump_diag(&h);
            fail_msg("init failed: %s", cases[i].name);
        }
        ph_expect(&h, cases[i].line, cases[i].record, PH_NOW, 0);
        ph_close(&h);
    }
}

static void test_time_and_types(void **state)
{
    struct ph h;

    (void)state;
    /* time_key "time", Time.parse-like without a format */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_ltsv, "types status:integer,reqtime:float"), 0);
    ph_expect(&h, cases[0].line,
              "{host=192.168.1.10|req=GET /index.html HTTP/1.1|status=i:200|size=612|referer=-|"
              "ua=curl/7.88.1|reqtime=f:0.0050000000000000001}",
              T0, 0);
    ph_refuse(&h, "time:not a time\ta:1"); /* a time that does not parse */
    ph_expect(&h, "a:1", "{a=1}", PH_NOW, 0); /* no time: now */
    ph_close(&h);

    assert_int_equal(ph_open(&h, &sk_plugin_parser_ltsv,
                             "time_format %d/%b/%Y:%H:%M:%S %z\nkeep_time_key true\n"
                             "null_value_pattern ^-$"),
                     0);
    ph_expect(&h, "time:30/Aug/2015:12:36:00 +0000\treferer:-",
              "{time=30/Aug/2015:12:36:00 +0000|referer=nil}", T0, 0);
    ph_close(&h);

    /* a label without a value: nil, and nil is no time */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_ltsv, "label_delimiter \" \""), 0);
    ph_refuse(&h, " time");
    ph_close(&h);
}

static void test_bad_config(void **state)
{
    struct ph h;

    (void)state;
    assert_int_equal(ph_open(&h, &sk_plugin_parser_ltsv, "delimiter_pattern /(/"), SK_ECONFIG);
    assert_true(sk_diag_contains(&h.d, "delimiter_pattern"));
    ph_close(&h);
}

static void test_many_fields(void **state)
{
    size_t n = 20000;
    char *line = malloc(n * 16);
    size_t len = 0;
    struct ph h;

    (void)state;
    assert_non_null(line);
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(line + len, 16, "k%zu:%zu\t", i % 5000, i);
    }
    assert_int_equal(ph_open(&h, &sk_plugin_parser_ltsv, ""), 0);
    assert_int_equal(ph_parse_n(&h, line, len), 0);
    {
        char *got = malloc(1 << 20);
        struct sk_time t;

        assert_non_null(got);
        rr_event(h.eb.buf.data, h.eb.buf.len, 0, &t, got, 1 << 20);
        /* 5000 keys, each with its last value (15000..19999) */
        assert_true(strncmp(got, "{k0=15000|k1=15001|", 19) == 0);
        assert_non_null(strstr(got, "|k4999=19999}"));
        free(got);
    }
    ph_close(&h);
    free(line);
}

static void test_alloc_failures(void **state)
{
    int done = 0;

    (void)state;
    for (long step = 1; step < 200 && !done; step++) {
        struct ph h;
        int rc = ph_open_ex(&h, &sk_plugin_parser_ltsv, "delimiter_pattern /\\t/", step);

        if (rc == 0) {
            rc = ph_parse_n(&h, cases[0].line, strlen(cases[0].line));
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
        cmocka_unit_test(test_ruby_cases),   cmocka_unit_test(test_time_and_types),
        cmocka_unit_test(test_bad_config),   cmocka_unit_test(test_many_fields),
        cmocka_unit_test(test_alloc_failures),
    };

    setenv("TZ", "UTC", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
