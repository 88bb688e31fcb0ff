/*
 * parser_csv (plugins/parser_csv/): records as Fluentd's CSVParser builds
 * them, with Ruby's CSV.parse_line (parser_engine normal) and with
 * Fluentd's own fast reader (parser_engine fast). The table's records
 * were produced by Ruby 3.1 (csv 3.2.5) running both on the same bytes;
 * "nil" is no record (CSV raised MalformedCSVError or found no row).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "../../parser/record_render.h"
#include "../../parser/parser_harness.h"

extern const struct sk_plugin sk_plugin_parser_csv;

struct csv_case {
    const char *name;
    const char *conf;
    const char *line;
    const char *normal;
    const char *fast;
};

/* Generated with Ruby, keys a,b,c. */
static const struct csv_case cases[] = {
    {"plain", "",
     "1,2,3",
     "{a=1|b=2|c=3}",
     "{a=1|b=2|c=3}"},
    {"quoted with separator and escaped quote", "",
     "\"x,y\",\"say \"\"hi\"\"\",z",
     "{a=x,y|b=say \"hi\"|c=z}",
     "{a=x,y|b=say \"hi\"|c=z}"},
    {"empty fields: nil unquoted, empty quoted", "",
     ",\"\",",
     "{a=nil|b=|c=nil}",
     "{a=nil|b=|c=nil}"},
    {"missing values are nil", "",
     "1",
     "{a=1|b=nil|c=nil}",
     "{a=1}"},
    {"extra values", "",
     "1,2,3,4,5",
     "{a=1|b=2|c=3}",
     "{a=1|b=2|c=3|nil=5}"},
    {"trailing separator", "",
     "1,2,",
     "{a=1|b=2|c=nil}",
     "{a=1|b=2|c=nil}"},
    {"spaces are kept", "",
     " 1 , 2 ,3 ",
     "{a= 1 |b= 2 |c=3 }",
     "{a= 1 |b= 2 |c=3 }"},
    {"quote inside an unquoted field", "",
     "1,a\"b,3",
     "nil",
     "{a=1|b=a\"b|c=3}"}, /* Ruby raises: Illegal quoting in line 1. */
    {"text after a closing quote", "",
     "\"a\"b,2,3",
     "nil",
     "{a=\"a\"b|b=2|c=3}"}, /* Ruby raises: Any value after quoted field isn't allowed in line 1. */
    {"space before a quote", "",
     "1, \"b\",3",
     "nil",
     "{a=1|b= \"b\"|c=3}"}, /* Ruby raises: Illegal quoting in line 1. */
    {"unclosed quote", "",
     "\"abc,2,3",
     "nil",
     "{a=abc,2,}"}, /* Ruby raises: Unclosed quoted field in line 1. */
    {"only a quote", "",
     "\"",
     "nil",
     "{a=}"}, /* Ruby raises: Unclosed quoted field in line 1. */
    {"quoted newline", "",
     "\"a\nb\",2",
     "{a=a\nb|b=2|c=nil}",
     "{a=a\nb|b=2}"},
    {"row separator ends the row", "",
     "1,2\n3,4",
     "{a=1|b=2|c=nil}",
     "{a=1|b=2\n3|c=4}"},
    {"carriage return row separator", "",
     "1,2\r3,4",
     "{a=1|b=2|c=nil}",
     "{a=1|b=2\r3|c=4}"},
    {"stray carriage return", "",
     "1,a\rb\n",
     "{a=1|b=a|c=nil}",
     "{a=1|b=a\rb}"},
    {"empty line", "",
     "",
     "nil",
     "{}"},
    {"only separators", "",
     ",,",
     "{a=nil|b=nil|c=nil}",
     "{a=nil|b=nil|c=nil}"},
    {"tab delimiter", "delimiter \"\\t\"",
     "1\t\"2\t3\"\t4",
     "{a=1|b=2\t3|c=4}",
     "{a=1|b=2\t3|c=4}"},
    {"multi-byte delimiter", "delimiter \"::\"",
     "a::\"b::c\"::d",
     "{a=a|b=b::c|c=d}",
     "{a=a|b=b::c|c=d}"},
    {"postgres csvlog", "",
     "2024-01-02 03:04:05.678 UTC,\"postgres\",\"db\",1234,\"[local]\",65ab,1,\"idle\",2024-01-02 03:00:00 UTC,3/4,0,LOG,00000,\"statement: SELECT 1;\",,,,,,,,\"psql\"",
     "{a=2024-01-02 03:04:05.678 UTC|b=postgres|c=db}",
     "{a=2024-01-02 03:04:05.678 UTC|b=postgres|c=db|nil=psql}"},
};

static void run_engine(const char *engine, bool fast)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *want = fast ? cases[i].fast : cases[i].normal;
        char body[512];
        struct ph h;

        snprintf(body, sizeof(body), "keys a,b,c\nparser_engine %s\n%s", engine, cases[i].conf);
        assert_int_equal(ph_open(&h, &sk_plugin_parser_csv, body), 0);
        if (strcmp(want, "nil") == 0) {
            ph_refuse(&h, cases[i].line);
        } else {
            ph_expect(&h, cases[i].line, want, PH_NOW, 0);
        }
        ph_close(&h);
    }
}

static void test_normal(void **state)
{
    (void)state;
    run_engine("normal", false);
}

static void test_fast(void **state)
{
    (void)state;
    run_engine("fast", true);
}

static void test_params(void **state)
{
    struct ph h;

    (void)state;
    /* the v1.x name parser_type still works */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_csv, "keys a,b\nparser_type fast"), 0);
    ph_expect(&h, "1,2,3", "{a=1|b=2|nil=3}", PH_NOW, 0);
    ph_close(&h);
    /* time and types */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_csv,
                             "keys time,level,msg,ms\ntime_key time\n"
                             "time_format %Y-%m-%d %H:%M:%S.%L %Z\ntypes ms:float"),
                     0);
    ph_expect(&h, "2024-01-02 03:04:05.678 UTC,LOG,\"a, b\",1.5",
              "{level=LOG|msg=a, b|ms=f:1.5}", 1704164645, 678000000);
    ph_refuse(&h, ",LOG,x,1"); /* time nil */
    ph_close(&h);
    /* keys is required; parser_engine is one of two */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_csv, ""), SK_ECONFIG);
    ph_close(&h);
    assert_int_equal(ph_open(&h, &sk_plugin_parser_csv, "keys a\nparser_engine turbo"),
                     SK_ECONFIG);
    ph_close(&h);
}

static void test_alloc_failures(void **state)
{
    int done = 0;

    (void)state;
    for (long step = 1; step < 200 && !done; step++) {
        struct ph h;
        int rc = ph_open_ex(&h, &sk_plugin_parser_csv, "keys a,b,c", step);

        if (rc == 0) {
            rc = ph_parse_n(&h, cases[1].line, strlen(cases[1].line));
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
        cmocka_unit_test(test_normal),
        cmocka_unit_test(test_fast),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_alloc_failures),
    };

    setenv("TZ", "UTC", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
