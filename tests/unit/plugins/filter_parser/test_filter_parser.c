#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../filter_harness.h"

/*
 * Each case: the <filter> body, one record, the output Fluentd v1's parser
 * filter would give ("" when the event is dropped) and how many events go
 * to the error stream (router.emit_error_event).
 */
struct fp_case {
    const char *name;
    const char *body;
    const char *record;
    const char *want;
    unsigned long errors;
};

#define JSON_PARSE "<parse>\n @type json\n</parse>\n"
#define LOG_A "\"log\":\"{\\\"a\\\":1,\\\"time\\\":1500000000}\""
#define T1 "1500000000.000000000 "
#define T0 "1532167200.000000005 "

static const struct fp_case cases[] = {
    {"parsed values replace the record", "key_name log\n" JSON_PARSE, "{" LOG_A ",\"x\":2}",
     T1 "{\"a\":1}\n", 0},
    {"reserve_data", "key_name log\nreserve_data true\n" JSON_PARSE, "{" LOG_A ",\"x\":2}",
     T1 "{\"log\":\"{\\\"a\\\":1,\\\"time\\\":1500000000}\",\"x\":2,\"a\":1}\n", 0},
    {"reserve_data with remove_key_name_field",
     "key_name log\nreserve_data true\nremove_key_name_field true\n" JSON_PARSE,
     "{" LOG_A ",\"x\":2}", T1 "{\"x\":2,\"a\":1}\n", 0},
    {"remove_key_name_field alone", "key_name log\nremove_key_name_field true\n" JSON_PARSE,
     "{" LOG_A ",\"x\":2}", T1 "{\"a\":1}\n", 0},
    {"reserve_time", "key_name log\nreserve_time true\n" JSON_PARSE, "{" LOG_A "}",
     T0 "{\"a\":1}\n", 0},
    {"inject_key_prefix", "key_name log\ninject_key_prefix p_\n" JSON_PARSE, "{" LOG_A "}",
     T1 "{\"p_a\":1}\n", 0},
    {"hash_value_field", "key_name log\nhash_value_field parsed\n" JSON_PARSE, "{" LOG_A "}",
     T1 "{\"parsed\":{\"a\":1}}\n", 0},
    {"hash_value_field, prefix and reserve_data",
     "key_name log\nhash_value_field parsed\ninject_key_prefix p_\nreserve_data true\n"
     "remove_key_name_field true\n" JSON_PARSE,
     "{" LOG_A ",\"x\":2}", T1 "{\"x\":2,\"parsed\":{\"p_a\":1}}\n", 0},
    {"parsed keys replace record keys in place", "key_name log\nreserve_data true\n" JSON_PARSE,
     "{\"a\":0," LOG_A ",\"z\":3}",
     T1 "{\"a\":1,\"log\":\"{\\\"a\\\":1,\\\"time\\\":1500000000}\",\"z\":3}\n", 0},
    {"a parsed key named like key_name comes last after removal",
     "key_name log\nreserve_data true\nremove_key_name_field true\n" JSON_PARSE,
     "{\"log\":\"{\\\"log\\\":\\\"inner\\\",\\\"time\\\":1500000000}\",\"x\":1}",
     T1 "{\"x\":1,\"log\":\"inner\"}\n", 0},
    {"nested key_name", "key_name $.k.log\nreserve_data true\nremove_key_name_field true\n" JSON_PARSE,
     "{\"k\":{" LOG_A ",\"o\":1},\"x\":2}", T1 "{\"k\":{\"o\":1},\"x\":2,\"a\":1}\n", 0},
    {"no match: dropped, error event", "key_name log\n" JSON_PARSE, "{\"log\":\"not json\"}", "",
     1},
    {"no match with reserve_data: kept as it was", "key_name log\nreserve_data true\n" JSON_PARSE,
     "{\"log\":\"not json\",\"x\":1}", T0 "{\"log\":\"not json\",\"x\":1}\n", 1},
    {"no match with reserve_data and hash_value_field",
     "key_name log\nreserve_data true\nhash_value_field p\nremove_key_name_field true\n" JSON_PARSE,
     "{\"log\":\"nope\",\"x\":1}", T0 "{\"log\":\"nope\",\"x\":1,\"p\":{}}\n", 1},
    {"no match, emit_invalid_record_to_error false",
     "key_name log\nemit_invalid_record_to_error false\n" JSON_PARSE, "{\"log\":\"x\"}", "", 0},
    {"missing key", "key_name log\n" JSON_PARSE, "{\"x\":1}", "", 1},
    {"missing key with reserve_data", "key_name log\nreserve_data true\n" JSON_PARSE, "{\"x\":1}",
     T0 "{\"x\":1}\n", 1},
    {"nil is missing", "key_name log\nreserve_data true\nhash_value_field h\n" JSON_PARSE,
     "{\"log\":null}", T0 "{\"log\":null,\"h\":{}}\n", 1},
    {"missing key, no error event", "key_name log\nemit_invalid_record_to_error false\n" JSON_PARSE,
     "{\"x\":1}", "", 0},
    {"a value that is not a string is dropped even with reserve_data",
     "key_name log\nreserve_data true\n" JSON_PARSE, "{\"log\":42}", "", 1},
    {"digging into a string always raises",
     "key_name $.s.log\nreserve_data true\nemit_invalid_record_to_error false\n" JSON_PARSE,
     "{\"s\":\"str\"}", "", 1},
    {"v0.12 format and time_key in the filter", "key_name log\nformat json\ntime_key ts\n",
     "{\"log\":\"{\\\"ts\\\":1400000000,\\\"a\\\":1}\"}", "1400000000.000000000 {\"a\":1}\n", 0},
    {"none parser", "key_name log\nreserve_time true\n<parse>\n @type none\n message_key m\n</parse>\n",
     "{\"log\":\"raw text\"}", T0 "{\"m\":\"raw text\"}\n", 0},
    {"nginx parser", "key_name log\n<parse>\n @type nginx\n</parse>\n",
     "{\"log\":\"127.0.0.1 - - [21/Jul/2018:10:00:00 +0000] \\\"GET /index.html HTTP/1.1\\\" 200 "
     "612 \\\"-\\\" \\\"curl/7.58.0\\\"\"}",
     "1532167200.000000000 {\"remote\":\"127.0.0.1\",\"host\":\"-\",\"user\":\"-\",\"method\":\"GET\","
     "\"path\":\"/index.html\",\"code\":\"200\",\"size\":\"612\",\"referer\":\"-\","
     "\"agent\":\"curl/7.58.0\"}\n",
     0},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct fp_case *c = &cases[i];
        struct fh h;
        char *got;

        if (fh_open(&h, "parser", c->body) != 0) {
            fh_dump_diag(&h);
            fail_msg("case '%s': configuration refused", c->name);
        }
        got = fh_run1(&h, "t", c->record);
        if (strcmp(got, c->want) != 0 || fh_errors(&h) != c->errors) {
            fail_msg("case '%s':\n got: %s (%lu errors)\nwant: %s (%lu errors)", c->name, got,
                     fh_errors(&h), c->want, c->errors);
        }
        free(got);
        fh_close(&h);
    }
}

/* A batch with good and bad records: order kept, the bad ones leave. */
static void test_batch(void **state)
{
    const char *records[] = {"{" LOG_A "}", "{\"log\":\"oops\"}", "{\"log\":\"{\\\"b\\\":2}\"}"};
    struct fh h;
    size_t count;
    char *got;

    (void)state;
    assert_int_equal(fh_open(&h, "parser", "key_name log\nreserve_time true\n" JSON_PARSE), 0);
    got = fh_run_n(&h, "t", records, 3, &count);
    assert_int_equal(count, 2);
    assert_string_equal(got, T0 "{\"a\":1}\n" T0 "{\"b\":2}\n");
    assert_int_equal(fh_errors(&h), 1);
    free(got);
    fh_close(&h);
}

static void test_conf_errors(void **state)
{
    static const struct {
        const char *name;
        const char *body;
        const char *want;
    } errs[] = {
        {"key_name is required", JSON_PARSE, "key_name"},
        {"a parser is required", "key_name log\n", "a <parse> section (or 'format') is required"},
        {"unknown parser", "key_name log\n<parse>\n @type nope\n</parse>\n", "nope"},
        {"bad accessor", "key_name $[\"a']\n" JSON_PARSE, "Mismatched quotes"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        struct fh h;

        if (fh_open(&h, "parser", errs[i].body) == 0) {
            fail_msg("case '%s': configuration accepted", errs[i].name);
        }
        if (!sk_diag_contains(&h.diag, errs[i].want)) {
            fh_dump_diag(&h);
            fail_msg("case '%s': no diagnostic '%s'", errs[i].name, errs[i].want);
        }
        fh_close(&h);
    }
}

/* v0.12 parameters beside `format` belong to the parser, not to warnings. */
static void test_v012_no_warnings(void **state)
{
    struct fh h;

    (void)state;
    assert_int_equal(fh_open(&h, "parser", "key_name log\nformat json\ntime_key ts\n"), 0);
    if (h.diag.count != 0) {
        fh_dump_diag(&h);
        fail_msg("unexpected diagnostics");
    }
    fh_close(&h);
}

/* Allocation failures: a clean SK_ENOMEM at every step, no leak. */
static void test_oom(void **state)
{
    const char *records[] = {"{" LOG_A ",\"x\":1}", "{\"log\":\"bad\"}"};
    const char *body = "key_name log\nreserve_data true\nhash_value_field p\ninject_key_prefix i_\n"
                       "emit_invalid_record_to_error false\n" JSON_PARSE;

    (void)state;
    assert_true(fh_oom_filter("parser", body, "t", records, 2) > 1);
    assert_true(fh_oom_open("parser", body) > 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_conf_errors),
        cmocka_unit_test(test_v012_no_warnings),
        cmocka_unit_test(test_oom),
    };

    setenv("TZ", "UTC", 1);
    tzset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
