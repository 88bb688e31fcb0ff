/*
 * parser_json (plugins/parser_json/): records as Fluentd's JSONParser
 * builds them: the object as is, time from "time" read as float seconds
 * unless time_format is set, duplicate keys collapsed like a Ruby Hash,
 * types/null rules on decoded values, anything but an object refused.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "../../parser/record_render.h"
#include "parser_json/json_int.h"
#include "plugin/plugin.h"

extern const struct sk_plugin sk_plugin_parser_json;

struct fx {
    struct json_conf conf;
    struct sk_instance ins;
    struct sk_evbuf eb;
    struct sk_diag d;
    struct sk_kv kv[4];
};

static void fx_conf(struct fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->conf.common.localtime = true;
    fx->conf.common.estimate_current_event = true;
}

static void fx_type(struct fx *fx, const char *k, const char *v)
{
    fx->kv[fx->conf.common.types.n].key = (char *)k;
    fx->kv[fx->conf.common.types.n].value = (char *)v;
    fx->conf.common.types.v = fx->kv;
    fx->conf.common.types.n++;
}

static int fx_start(struct fx *fx)
{
    fx->ins.plugin = &sk_plugin_parser_json;
    fx->ins.conf = &fx->conf;
    sk_diag_init(&fx->d);
    sk_evbuf_init(&fx->eb, 1 << 20);
    return sk_plugin_parser_json.init(&fx->ins, &fx->d);
}

static void fx_stop(struct fx *fx)
{
    sk_plugin_parser_json.destroy(&fx->ins);
    sk_evbuf_cleanup(&fx->eb);
    sk_diag_cleanup(&fx->d);
}

/* sec -1: "about now". */
static void expect(struct fx *fx, const char *line, const char *record, int64_t sec,
                   uint32_t nsec)
{
    char got[4096];
    struct sk_time t;
    size_t before = fx->eb.count;
    int64_t now = sk_time_now().sec;
    int rc = sk_plugin_parser_json.parse(&fx->ins, line, strlen(line), &fx->eb);

    if (rc != 0) {
        fail_msg("rc %d for %s", rc, line);
    }
    rr_event(fx->eb.buf.data, fx->eb.buf.len, before, &t, got, sizeof(got));
    if (strcmp(got, record) != 0) {
        fail_msg("line %s\nwant %s\ngot  %s", line, record, got);
    }
    if (sec == -1) {
        assert_true(t.sec >= now && t.sec <= now + 60);
    } else {
        assert_int_equal(t.sec, sec);
        assert_int_equal(t.nsec, nsec);
    }
}

static void refuse(struct fx *fx, const char *line)
{
    size_t len = fx->eb.buf.len;

    if (sk_plugin_parser_json.parse(&fx->ins, line, strlen(line), &fx->eb) != SK_EPARSE) {
        fail_msg("accepted: %s", line);
    }
    assert_int_equal(fx->eb.buf.len, len);
}

/* ------------------------------------------------------------------ */

static void test_default_float_time(void **state)
{
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, "{\"a\":\"x\",\"time\":1700000000,\"n\":5}", "{a=x|n=i:5}", 1700000000, 0);
    expect(&fx, "{\"time\":1700000000.5}", "{}", 1700000000, 500000000);
    expect(&fx, " {\"time\":\"1700000000.123\"} ", "{}", 1700000000, 123000000);
    expect(&fx, "{\"time\":\"1700000000.1234567891\"}", "{}", 1700000000, 123456789);
    /* Fluentd's float type reads a text time with to_i: "14/May/..." is 14
     * (set time_format to parse it) */
    expect(&fx, "{\"time\":\"14/May/2020:13:41:20 +0300\",\"m\":1}", "{m=i:1}", 14, 0);
    expect(&fx, "{\"time\":\"2024-05-01T12:00:00Z\"}", "{}", 2024, 0);
    /* no time field: now */
    expect(&fx, "{\"nested\":{\"a\":[1,2.5,null,true]},\"s\":\"\\u00e9\\n\"}",
           "{nested={a=[i:1,f:2.5,nil,b:true]}|s=\xc3\xa9\n}", -1, 0);
    fx_stop(&fx);
}

static void test_time_format_switches_to_string(void **state)
{
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    fx.conf.common.time_format = (char *)"%d/%b/%Y:%H:%M:%S %z";
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, "{\"time\":\"30/Aug/2015:12:36:00 +0000\",\"a\":1}", "{a=i:1}", 1440938160, 0);
    /* a number is not a string: Fluentd drops the line */
    refuse(&fx, "{\"time\":1440938160}");
    fx_stop(&fx);

    fx_conf(&fx);
    fx.conf.common.time_format = (char *)"%Y-%m-%dT%H:%M:%S.%N%z";
    fx.conf.common.keep_time_key = true;
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, "{\"time\":\"2024-05-01T12:00:00.25+09:00\"}",
           "{time=2024-05-01T12:00:00.25+09:00}", 1714532400, 250000000);
    fx_stop(&fx);
}

static void test_time_types(void **state)
{
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    fx.conf.common.time_type = SK_TIME_TYPE_UNIXTIME;
    fx.conf.common.time_key = (char *)"ts";
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, "{\"ts\":1700000000.9,\"time\":\"kept\"}", "{time=kept}", 1700000000, 0);
    expect(&fx, "{\"ts\":\"1700000001\"}", "{}", 1700000001, 0);
    refuse(&fx, "{\"ts\":null}");
    refuse(&fx, "{\"ts\":true}");
    refuse(&fx, "{\"ts\":[1]}");
    fx_stop(&fx);

    fx_conf(&fx);
    fx.conf.common.estimate_current_event = false;
    assert_int_equal(fx_start(&fx), 0);
    refuse(&fx, "{\"a\":1}");
    fx_stop(&fx);
}

static void test_not_objects(void **state)
{
    static const char *const lines[] = {
        "", "   ", "[{\"a\":1}]", "1", "\"x\"", "null", "{\"a\":1} x", "{\"a\":", "{a:1}",
        "{\"a\":1}{\"b\":2}",
    };
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        refuse(&fx, lines[i]);
    }
    assert_int_equal(fx.eb.count, 0);
    fx_stop(&fx);
}

static void test_duplicate_keys(void **state)
{
    struct fx fx;
    char *big = malloc(200 * 20 + 100);
    size_t n = 0;

    (void)state;
    assert_non_null(big);
    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, "{\"a\":1,\"b\":2,\"a\":3,\"time\":5,\"time\":6}", "{a=i:3|b=i:2}", 6, 0);
    /* the same with more keys than the pairwise check handles */
    n += (size_t)snprintf(big + n, 20, "{");
    for (int i = 0; i < 200; i++) {
        n += (size_t)snprintf(big + n, 20, "\"k%d\":%d,", i % 100, i);
    }
    big[n - 1] = '}';
    {
        char got[8192];
        struct sk_time t;

        assert_int_equal(sk_plugin_parser_json.parse(&fx.ins, big, n, &fx.eb), 0);
        rr_event(fx.eb.buf.data, fx.eb.buf.len, 1, &t, got, sizeof(got));
        assert_true(strncmp(got, "{k0=i:100|k1=i:101|", 19) == 0);
        assert_non_null(strstr(got, "|k99=i:199}"));
    }
    fx_stop(&fx);
    free(big);
}

static void test_types_on_values(void **state)
{
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    fx_type(&fx, "i", "integer");
    fx_type(&fx, "f", "float");
    fx_type(&fx, "s", "string");
    fx_type(&fx, "b", "bool");
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, "{\"i\":\"12abc\",\"f\":\"1_000.5e1x\",\"s\":1.0e20,\"b\":\"Yes\"}",
           "{i=i:12|f=f:10005|s=1.0e+20|b=b:true}", -1, 0);
    expect(&fx, "{\"i\":2.9,\"f\":3,\"s\":{\"a\":1},\"b\":1}", "{i=i:2|f=f:3|s={\"a\":1}|b=b:true}",
           -1, 0);
    expect(&fx, "{\"i\":true,\"f\":[1],\"s\":false,\"b\":1.0}", "{i=i:0|f=f:0|s=false|b=b:false}",
           -1, 0);
    expect(&fx, "{\"i\":null,\"s\":-7}", "{i=nil|s=-7}", -1, 0);
    fx_stop(&fx);

    fx_conf(&fx);
    fx_type(&fx, "tags", "array:,");
    fx_type(&fx, "at", "time:%Y-%m-%d");
    fx.conf.common.null_value_pattern = (char *)"^(-|none)$";
    fx.conf.common.utc = true;
    assert_int_equal(fx_start(&fx), 0);
    expect(&fx, "{\"tags\":\"a,,b,,\",\"at\":\"2024-05-01\",\"x\":\"none\",\"y\":\"-x\",\"z\":7}",
           "{tags=[a,,b]|at=t:1714521600.000000000|x=nil|y=-x|z=i:7}", -1, 0);
    expect(&fx, "{\"tags\":\"\",\"at\":\"bad\"}", "{tags=[]|at=nil}", -1, 0);
    fx_stop(&fx);
}

static void test_alloc_failures(void **state)
{
    char line[4000];
    size_t n = 0;
    int done = 0;

    (void)state;
    n += (size_t)snprintf(line + n, sizeof(line) - n, "{\"time\":1.5");
    for (int i = 0; i < 100; i++) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"k%d\":\"v\"", i % 90);
    }
    n += (size_t)snprintf(line + n, sizeof(line) - n, "}");
    for (long step = 1; step < 100 && !done; step++) {
        struct fx fx;
        int rc;

        fx_conf(&fx);
        fx_type(&fx, "k1", "integer");
        sk_alloc_fail_after(step, 0);
        rc = fx_start(&fx);
        if (rc == 0) {
            rc = sk_plugin_parser_json.parse(&fx.ins, line, n, &fx.eb);
            done = rc == 0;
            assert_int_equal(fx.eb.count, done ? 1 : 0);
        }
        assert_true(rc == 0 || rc == SK_ENOMEM);
        sk_alloc_fail_after(0, 0);
        fx_stop(&fx);
    }
    assert_true(done);
}

static void test_shared_samples(void **state)
{
    static const char *const files[] = {
        "testdata/nginx-logs/matomo-nginx-json.log",
        "testdata/nginx-logs/fantasticmao-access-json.log",
    };
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    fx.conf.common.time_key = (char *)"time_local";
    fx.conf.common.time_format = (char *)"%d/%b/%Y:%H:%M:%S %z";
    assert_int_equal(fx_start(&fx), 0);
    for (size_t f = 0; f < 2; f++) {
        size_t len;
        char *data = sk_test_read_file(sk_test_shared(files[f]), &len);
        size_t start = 0;

        assert_non_null(data);
        for (size_t i = 0; i < len; i++) {
            if (data[i] == '\n') {
                assert_int_equal(sk_plugin_parser_json.parse(&fx.ins, data + start, i - start,
                                                             &fx.eb), 0);
                start = i + 1;
            }
        }
        free(data);
    }
    assert_int_equal(rr_count(fx.eb.buf.data, fx.eb.buf.len), 10);
    fx_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_float_time),
        cmocka_unit_test(test_time_format_switches_to_string),
        cmocka_unit_test(test_time_types),
        cmocka_unit_test(test_not_objects),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_types_on_values),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_shared_samples),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
