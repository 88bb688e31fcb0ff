/*
 * parser_multiline (plugins/parser_multiline/): a block of lines (joined
 * with "\n", as in_tail hands it over) parsed as Fluentd's
 * MultilineParser does, i.e. a regexp parser over format1..N joined with
 * Ruby's m flag; format_firstline for in_tail (parser/parser_multiline.h);
 * and Fluentd's configuration errors. The records were produced by Ruby
 * 3.1 running the same joined expressions on the same blocks (Fluentd's
 * documented Rails and Java examples, and the k8s glog format).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../parser/record_render.h"
#include "../../parser/parser_harness.h"
#include "parser/parser_multiline.h"
#include "timefmt/timefmt.h"

extern const struct sk_plugin sk_plugin_parser_multiline;
extern const struct sk_plugin sk_plugin_parser_regexp;

#define RAILS_CONF                                                                           \
    "format_firstline /^Started/\n"                                                          \
    "format1 /Started (?<method>[^ ]+) \"(?<path>[^\"]+)\" for (?<host>[^ ]+) at "           \
    "(?<time>[^ ]+ [^ ]+ [^ ]+)\\n/\n"                                                       \
    "format2 /Processing by (?<controller>[^\\u0023]+)\\u0023(?<controller_method>[^ ]+) as " \
    "(?<format>[^ ]+?)\\n/\n"                                                                \
    "format3 /(  Parameters: (?<parameters>[^ ]+)\\n)?/\n"                                   \
    "format4 /  Rendered (?<template>[^ ]+) within (?<layout>.+) \\([\\d\\.]+ms\\)\\n/\n"     \
    "format5 /Completed (?<code>[^ ]+) [^ ]+ in (?<runtime>[\\d\\.]+)ms \\(Views: "           \
    "(?<view_runtime>[\\d\\.]+)ms \\| ActiveRecord: (?<ar_runtime>[\\d\\.]+)ms\\)/"

#define RAILS_BLOCK                                                                          \
    "Started GET \"/users/123/\" for 127.0.0.1 at 2013-06-14 12:00:11 +0900\n"               \
    "Processing by UsersController#show as HTML\n"                                           \
    "  Parameters: {\"user_id\"=>\"123\"}\n"                                                 \
    "  Rendered users/show.html.erb within layouts/application (0.3ms)\n"                    \
    "Completed 200 OK in 4ms (Views: 3.2ms | ActiveRecord: 0.0ms)"

#define JAVA_CONF                                                                            \
    "format_firstline /\\d{4}-\\d{1,2}-\\d{1,2}/\n"                                          \
    "format1 /^(?<time>\\d{4}-\\d{1,2}-\\d{1,2} \\d{1,2}:\\d{1,2}:\\d{1,2}) \\[(?<thread>.*)\\] " \
    "(?<level>[^\\s]+)(?<message>.*)/"

#define JAVA_BLOCK                                                                           \
    "2013-3-03 14:27:33 [main] ERROR Main - Exception\n"                                     \
    "javax.management.RuntimeErrorException: null\n"                                         \
    "    at Main.main(Main.java:16) ~[bin/:na]"

#define GLOG_CONF                                                                            \
    "format_firstline /^\\w\\d{4}/\n"                                                        \
    "format1 /^(?<severity>\\w)(?<time>\\d{4} [^\\s]*)\\s+(?<pid>\\d+)\\s+(?<source>[^ \\]]+)\\] " \
    "(?<message>.*)/\n"                                                                      \
    "time_format %m%d %H:%M:%S.%N"

static void open_ml(struct ph *h, const char *body)
{
    if (ph_open(h, &sk_plugin_parser_multiline, body) != 0) {
        ph_dump_diag(h);
        fail_msg("init failed");
    }
}

/* Fluentd's documented examples (records from Ruby). */
static void test_documented(void **state)
{
    struct ph h;

    (void)state;
    open_ml(&h, RAILS_CONF);
    ph_expect(&h, RAILS_BLOCK,
              "{method=GET|path=/users/123/|host=127.0.0.1|controller=UsersController|"
              "controller_method=show|format=HTML|parameters={\"user_id\"=>\"123\"}|"
              "template=users/show.html.erb|layout=layouts/application|code=200|runtime=4|"
              "view_runtime=3.2|ar_runtime=0.0}",
              1371178811, 0);
    ph_close(&h);

    open_ml(&h, JAVA_CONF);
    ph_expect(&h, JAVA_BLOCK,
              "{thread=main|level=ERROR|message= Main - Exception\n"
              "javax.management.RuntimeErrorException: null\n"
              "    at Main.main(Main.java:16) ~[bin/:na]}",
              1362320853, 0);
    ph_expect(&h, "2013-3-03 14:27:33 [main] INFO  Main - End",
              "{thread=main|level=INFO|message=  Main - End}", 1362320853, 0);
    ph_refuse(&h, "javax.management.RuntimeErrorException: null");
    ph_close(&h);
}

static void test_glog(void **state)
{
    time_t now = time(NULL);
    struct tm tm;
    struct ph h;

    (void)state;
    gmtime_r(&now, &tm);
    open_ml(&h, GLOG_CONF);
    ph_expect(&h,
              "E0204 06:55:31.872680       5 server.go:123] panic: runtime error\n"
              "goroutine 1 [running]:\nmain.main()",
              "{severity=E|pid=5|source=server.go:123|message=panic: runtime error\n"
              "goroutine 1 [running]:\nmain.main()}",
              sk_time_from_civil(tm.tm_year + 1900, 2, 4, 6, 55, 31), 872680000);
    ph_close(&h);
}

/* What in_tail asks: is it multiline, has it a first line, is this one. */
static void test_firstline(void **state)
{
    struct ph h;

    (void)state;
    open_ml(&h, GLOG_CONF);
    assert_true(sk_parser_is_multiline(&h.ins));
    assert_true(sk_parser_multiline_has_firstline(&h.ins));
    assert_true(sk_parser_multiline_firstline(&h.ins, "E0204 06:55:31.8 1 x] y", 23));
    assert_false(sk_parser_multiline_firstline(&h.ins, "goroutine 1 [running]:", 22));
    assert_false(sk_parser_multiline_firstline(&h.ins, "", 0));
    ph_close(&h);

    /* format_firstline is matched anywhere in the line, without flags */
    open_ml(&h, JAVA_CONF);
    assert_true(sk_parser_multiline_firstline(&h.ins, "x 2013-3-03 y", 13));
    ph_close(&h);

    /* without format_firstline in_tail parses after every line */
    open_ml(&h, "format1 /^(?<a>a+)\\n(?<b>b+)$/");
    assert_true(sk_parser_is_multiline(&h.ins));
    assert_false(sk_parser_multiline_has_firstline(&h.ins));
    assert_false(sk_parser_multiline_firstline(&h.ins, "aaa", 3));
    ph_refuse(&h, "aaa");
    ph_expect(&h, "aaa\nbb", "{a=aaa|b=bb}", PH_NOW, 0);
    ph_close(&h);

    /* another parser is not multiline */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_regexp, "expression /(?<a>.)/"), 0);
    assert_false(sk_parser_is_multiline(&h.ins));
    assert_false(sk_parser_multiline_has_firstline(&h.ins));
    assert_false(sk_parser_multiline_firstline(&h.ins, "a", 1));
    ph_close(&h);
}

struct bad_case {
    const char *conf;
    const char *message;
};

static void test_bad_config(void **state)
{
    static const struct bad_case bad[] = {
        {"format1 ^(?<a>.*)$", "format should be Regexp, need //, in format1: '^(?<a>.*)$'"},
        {"format1 /(?<a>x)/\nformat3 /(?<b>y)/", "Jump of format index found. format2 is missing."},
        {"format2 /(?<a>x)/", "Jump of format index found. format1 is missing."},
        {"format1 /(?<a>x)/\nformat21 /y/", "Invalid formatN found. N should be 1 - 20: format21"},
        {"format1 /(?<a>x)/\nformat0 /y/", "Invalid formatN found. N should be 1 - 20: format0"},
        {"format1 /(x)/", "No named captures"},
        {"", "No named captures"},
        {"format1 /(?<a>x/", "missing closing parenthesis"},
        {"format1 /(?<a>x)/\nformat_firstline ^x", "need //, in format_firstline"},
        {"format1 /(?<a>x)/\nformat_firstline /(/", "Invalid regexp in format_firstline"},
    };
    struct ph h;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ph_open(&h, &sk_plugin_parser_multiline, bad[i].conf), SK_ECONFIG);
        if (!sk_diag_contains(&h.d, bad[i].message)) {
            ph_dump_diag(&h);
            fail_msg("no '%s' for %s", bad[i].message, bad[i].conf);
        }
        ph_close(&h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented),
        cmocka_unit_test(test_glog),
        cmocka_unit_test(test_firstline),
        cmocka_unit_test(test_bad_config),
    };

    setenv("TZ", "UTC", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
