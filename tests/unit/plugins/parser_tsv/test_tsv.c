/*
 * parser_tsv (plugins/parser_tsv/): records as Fluentd's TSVParser builds
 * them with split(delimiter, keys.length). The table's records were
 * produced by Ruby 3.1 running that parse method on the same bytes.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "../../parser/record_render.h"
#include "../../parser/parser_harness.h"

extern const struct sk_plugin sk_plugin_parser_tsv;

struct tsv_case {
    const char *name;
    const char *conf;
    const char *line;
    const char *record;
};

/* Generated with Ruby, keys a,b,c. */
static const struct tsv_case cases[] = {
    {"three columns", "",
     "x\ty\tz",
     "{a=x|b=y|c=z}"},
    {"last key takes the rest", "",
     "x\ty\tz\tw\tv",
     "{a=x|b=y|c=z\tw\tv}"},
    {"missing columns are nil", "",
     "x",
     "{a=x|b=nil|c=nil}"},
    {"empty columns stay empty strings", "",
     "\t\t",
     "{a=|b=|c=}"},
    {"trailing empty kept by the limit", "",
     "x\t\t",
     "{a=x|b=|c=}"},
    {"empty line", "",
     "",
     "{a=nil|b=nil|c=nil}"},
    {"comma delimiter", "delimiter \",\"",
     "1,2,3,4",
     "{a=1|b=2|c=3,4}"},
    {"space delimiter is awk style", "delimiter \" \"",
     "  x   y  z  w ",
     "{a=x|b=y|c=z  w }"},
    {"multi-byte delimiter", "delimiter \"||\"",
     "a||b|c||d",
     "{a=a|b=b|c|c=d}"},
};

static void test_ruby_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512];
        struct ph h;

        snprintf(body, sizeof(body), "keys a,b,c\n%s", cases[i].conf);
        assert_int_equal(ph_open(&h, &sk_plugin_parser_tsv, body), 0);
        ph_expect(&h, cases[i].line, cases[i].record, PH_NOW, 0);
        ph_close(&h);
    }
}

static void test_params(void **state)
{
    struct ph h;

    (void)state;
    assert_int_equal(ph_open(&h, &sk_plugin_parser_tsv,
                             "keys [\"time\",\"host\",\"code\"]\ntime_key time\n"
                             "time_format %Y-%m-%dT%H:%M:%S%z\ntypes code:integer"),
                     0);
    ph_expect(&h, "2015-08-30T12:36:00+0000\tweb1\t200", "{host=web1|code=i:200}", 1440938160, 0);
    ph_refuse(&h, "garbage\tweb1\t200"); /* the time does not parse */
    ph_refuse(&h, "");                   /* the time is nil */
    ph_close(&h);
    /* a key given twice: first place, last value */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_tsv, "keys a,b,a"), 0);
    ph_expect(&h, "1\t2\t3", "{a=3|b=2}", PH_NOW, 0);
    ph_close(&h);
    /* one key: the whole line */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_tsv, "keys all"), 0);
    ph_expect(&h, "x\ty", "{all=x\ty}", PH_NOW, 0);
    ph_expect(&h, "", "{all=nil}", PH_NOW, 0);
    ph_close(&h);
    /* keys is required */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_tsv, ""), SK_ECONFIG);
    assert_true(sk_diag_contains(&h.d, "keys"));
    ph_close(&h);
    /* an empty key list: an empty record */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_tsv, "keys []"), 0);
    ph_expect(&h, "x\ty", "{}", PH_NOW, 0);
    ph_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ruby_cases),
        cmocka_unit_test(test_params),
    };

    setenv("TZ", "UTC", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
