/*
 * The common parser layer (src/parser/): the parameter table through the
 * real engine, Fluentd's configure-time rules, the Ruby conversions the
 * `types` parameter rests on, numeric time types, and records built from
 * captures.
 */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "config/config.h"
#include "parser/parser.h"
#include "record_render.h"
#include "timefmt/timefmt.h"

/* Loads "<parse>...</parse>" and applies the common table to c. */
static struct sk_conf *load(const char *body, struct sk_parser_common *c, struct sk_diag *d)
{
    char text[1024];
    struct sk_conf *conf;
    struct sk_conf_section *sec;

    snprintf(text, sizeof(text), "<parse>\n%s\n</parse>\n", body);
    conf = sk_conf_load_string("test.conf", text, strlen(text), d);
    assert_non_null(conf);
    assert_int_equal(conf->root->nchildren, 1);
    sec = conf->root->children[0];
    memset(c, 0, sizeof(*c));
    assert_int_equal(sk_param_apply(sk_parser_common_params, sec, c, d), 0);
    return conf;
}

static void test_table(void **state)
{
    struct sk_parser_common c;
    struct sk_diag d;
    struct sk_conf *conf;

    (void)state;
    sk_diag_init(&d);
    conf = load("", &c, &d);
    assert_null(c.time_key);
    assert_null(c.time_format);
    assert_int_equal(c.time_type, SK_TIME_TYPE_STRING);
    assert_false(c.keep_time_key);
    assert_true(c.localtime);
    assert_false(c.utc);
    assert_null(c.timezone);
    assert_true(c.estimate_current_event);
    assert_int_equal(c.types.n, 0);
    assert_null(c.null_value_pattern);
    assert_false(c.null_empty_string);
    sk_param_release(sk_parser_common_params, &c);
    sk_conf_destroy(conf);

    conf = load("time_key ts\ntime_format %Y\ntime_type unixtime\nkeep_time_key true\n"
                "utc true\ntimezone +09:00\nestimate_current_event false\n"
                "types code:integer,size:integer\nnull_value_pattern ^-$\n"
                "null_empty_string true",
                &c, &d);
    assert_string_equal(c.time_key, "ts");
    assert_string_equal(c.time_format, "%Y");
    assert_int_equal(c.time_type, SK_TIME_TYPE_UNIXTIME);
    assert_true(c.keep_time_key);
    assert_true(c.utc);
    assert_string_equal(c.timezone, "+09:00");
    assert_false(c.estimate_current_event);
    assert_int_equal(c.types.n, 2);
    assert_string_equal(c.types.v[1].key, "size");
    assert_string_equal(c.types.v[1].value, "integer");
    assert_string_equal(c.null_value_pattern, "^-$");
    assert_true(c.null_empty_string);
    sk_param_release(sk_parser_common_params, &c);
    sk_conf_destroy(conf);
    assert_int_equal(d.errors, 0);
    sk_diag_cleanup(&d);
}

static const struct sk_parser_defaults json_like = {"time", NULL, SK_TIME_TYPE_FLOAT};
static const struct sk_parser_defaults regexp_like = {"time", NULL, SK_TIME_TYPE_STRING};

/* Effective time_type for a section body with json's defaults. */
static int time_type_for(const char *body)
{
    struct sk_parser_common c;
    struct sk_parser_core pc;
    struct sk_diag d;
    struct sk_conf *conf;
    int type;

    sk_diag_init(&d);
    conf = load(body, &c, &d);
    assert_int_equal(sk_parser_core_init(&pc, &c, &json_like, conf->root->children[0], &d), 0);
    type = pc.time_type;
    sk_parser_core_cleanup(&pc);
    sk_param_release(sk_parser_common_params, &c);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
    return type;
}

static void test_json_time_type_rule(void **state)
{
    (void)state;
    assert_int_equal(time_type_for(""), SK_TIME_TYPE_FLOAT);
    assert_int_equal(time_type_for("time_format %s"), SK_TIME_TYPE_STRING);
    assert_int_equal(time_type_for("time_format %s\ntime_type float"), SK_TIME_TYPE_FLOAT);
    assert_int_equal(time_type_for("time_type string"), SK_TIME_TYPE_STRING);
    assert_int_equal(time_type_for("time_type unixtime"), SK_TIME_TYPE_UNIXTIME);
}

static int init_error(const char *body, const struct sk_parser_defaults *defs, const char *msg)
{
    struct sk_parser_common c;
    struct sk_parser_core pc;
    struct sk_diag d;
    struct sk_conf *conf;
    int rc;

    sk_diag_init(&d);
    conf = load(body, &c, &d);
    rc = sk_parser_core_init(&pc, &c, defs, conf->root->children[0], &d);
    if (msg != NULL && !sk_diag_contains(&d, msg)) {
        fail_msg("no \"%s\" for: %s", msg, body);
    }
    if (msg != NULL && !sk_diag_contains(&d, "test.conf:1")) {
        fail_msg("no location for: %s", body);
    }
    sk_parser_core_cleanup(&pc);
    sk_param_release(sk_parser_common_params, &c);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
    return rc;
}

static void test_config_errors(void **state)
{
    (void)state;
    assert_int_equal(init_error("utc true\nlocaltime true", &regexp_like,
                                "both of utc and localtime are specified"),
                     SK_ECONFIG);
    assert_int_equal(init_error("utc true", &regexp_like,
                                "specifying timezone requires time format"),
                     SK_ECONFIG);
    assert_int_equal(init_error("timezone Asia/Tokyo", &regexp_like,
                                "specifying timezone requires time format"),
                     SK_ECONFIG);
    assert_int_equal(init_error("time_format %Y\ntimezone Nowhere/Land", &regexp_like,
                                "Unsupported timezone 'Nowhere/Land'"),
                     SK_ECONFIG);
    assert_int_equal(init_error("time_format %Q", &regexp_like, "invalid time format"),
                     SK_ECONFIG);
    assert_int_equal(init_error("types a:integer,b:number", &regexp_like,
                                "unknown value conversion for key:'b', type:'number'"),
                     SK_ECONFIG);
    assert_int_equal(init_error("null_value_pattern a(", &regexp_like, "null_value_pattern"),
                     SK_ECONFIG);
    assert_int_equal(init_error("time_format %Y\nutc true\ntypes t:time:Asia/Tokyo:%Y-%m-%d",
                                &regexp_like, NULL),
                     0);
    assert_int_equal(init_error("time_format %Y\ntimezone Asia/Tokyo", &regexp_like, NULL), 0);
}

/* ------------------------------------------------------------------ */

static void test_ruby_to_i(void **state)
{
    static const struct {
        const char *s;
        int64_t v;
        bool big;
    } cases[] = {
        {"12", 12, false}, {" \t12", 12, false}, {"+5", 5, false}, {"-5", -5, false},
        {"1_000", 1000, false}, {"1__0", 1, false}, {"_1", 0, false}, {"1_", 1, false},
        {"0d12", 12, false}, {"0x1A", 0, false}, {"", 0, false}, {"-", 0, false},
        {"abc", 0, false}, {"12abc", 12, false}, {"- 1", 0, false}, {"007", 7, false},
        {"9223372036854775807", INT64_MAX, false}, {"-9223372036854775808", INT64_MIN, false},
        {"9223372036854775808", INT64_MAX, true}, {"99999999999999999999", INT64_MAX, true},
    };
    bool big;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = sk_ruby_to_i(cases[i].s, strlen(cases[i].s), &big);

        if (v != cases[i].v || big != cases[i].big) {
            fail_msg("\"%s\".to_i = %lld (big %d)", cases[i].s, (long long)v, big);
        }
    }
}

static void test_ruby_to_f(void **state)
{
    static const struct {
        const char *s;
        double v;
    } cases[] = {
        {"1.5", 1.5}, {" -2.5e3x", -2500}, {".5", 0.5}, {"5.", 5}, {"1e5", 100000},
        {"1e", 1}, {"1e+", 1}, {"1_000.5", 1000.5}, {"inf", 0}, {"0x10", 0}, {"", 0},
        {"-", 0}, {"1.2.3", 1.2}, {"-.5", -0.5}, {"1.5_5", 1.55},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double v = sk_ruby_to_f(cases[i].s, strlen(cases[i].s));

        if (v != cases[i].v) {
            fail_msg("\"%s\".to_f = %.17g", cases[i].s, v);
        }
    }
    assert_true(isinf(sk_ruby_to_f("1e400", 5)));
}

static void test_ruby_float_to_s(void **state)
{
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {1.0, "1.0"}, {1.5, "1.5"}, {100.0, "100.0"}, {-0.0, "-0.0"}, {0.0, "0.0"},
        {1e15, "1.0e+15"}, {1e14, "100000000000000.0"}, {1e16, "1.0e+16"},
        {123456789012345.6, "123456789012345.6"}, {0.0001, "0.0001"}, {0.00001, "1.0e-05"},
        {1700000000.5, "1700000000.5"}, {0.1, "0.1"}, {1.0 / 3, "0.3333333333333333"},
        {2.5e-300, "2.5e-300"}, {-1.25e20, "-1.25e+20"},
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = sk_ruby_float_to_s(cases[i].v, out, sizeof(out));

        assert_int_equal(n, strlen(out));
        if (strcmp(out, cases[i].s) != 0) {
            fail_msg("%.17g.to_s = %s, want %s", cases[i].v, out, cases[i].s);
        }
    }
    sk_ruby_float_to_s(NAN, out, sizeof(out));
    assert_string_equal(out, "NaN");
    sk_ruby_float_to_s(-INFINITY, out, sizeof(out));
    assert_string_equal(out, "-Infinity");
}

/* ------------------------------------------------------------------ */

/* A core from a hand-filled conf. */
static void core(struct sk_parser_core *pc, struct sk_parser_common *c, int time_type,
                 const char *format)
{
    struct sk_parser_defaults defs = {"time", format, SK_TIME_TYPE_STRING};

    c->time_type = time_type;
    c->localtime = true;
    c->estimate_current_event = true;
    assert_int_equal(sk_parser_core_init(pc, c, &defs, NULL, NULL), 0);
}

static void time_is(struct sk_parser_core *pc, const char *s, int64_t sec, uint32_t nsec)
{
    struct sk_time t = {-1, 0};

    assert_int_equal(sk_parser_time_text(pc, s, strlen(s), &t), 0);
    if (t.sec != sec || t.nsec != nsec) {
        fail_msg("\"%s\": %lld.%09u, want %lld.%09u", s, (long long)t.sec, t.nsec,
                 (long long)sec, nsec);
    }
}

static void test_numeric_time_types(void **state)
{
    struct sk_parser_common c = {0};
    struct sk_parser_core pc;

    (void)state;
    core(&pc, &c, SK_TIME_TYPE_UNIXTIME, NULL);
    time_is(&pc, "1700000000", 1700000000, 0);
    time_is(&pc, "1700000000.9", 1700000000, 0);
    time_is(&pc, "garbage", 0, 0); /* String#to_i never fails */
    sk_parser_core_cleanup(&pc);

    memset(&c, 0, sizeof(c));
    core(&pc, &c, SK_TIME_TYPE_FLOAT, NULL);
    time_is(&pc, "1700000000.5", 1700000000, 500000000);
    time_is(&pc, "1700000000.000000001", 1700000000, 1);
    time_is(&pc, "1700000000.123.456", 1700000000, 123000000);
    time_is(&pc, ".25", 0, 250000000);
    time_is(&pc, "12.", 12, 0);
    time_is(&pc, "12.5abc", 12, 5);   /* "5abc0000" padded, then to_i: Fluentd's arithmetic */
    time_is(&pc, "", 0, 0);
    sk_parser_core_cleanup(&pc);

    memset(&c, 0, sizeof(c));
    core(&pc, &c, SK_TIME_TYPE_STRING, "%Y-%m-%d %H:%M:%S %z");
    time_is(&pc, "2024-05-01 12:00:00 +0900", 1714532400, 0);
    time_is(&pc, "2024-05-01 12:00:00 +0900 trailing text", 1714532400, 0);
    {
        struct sk_time t;

        assert_int_equal(sk_parser_time_text(&pc, "2024-05-01", 10, &t), SK_EPARSE);
    }
    sk_parser_core_cleanup(&pc);
}

static void test_time_objects(void **state)
{
    struct sk_parser_common c = {0};
    struct sk_parser_core pc;
    msgpack_object o;
    struct sk_time t;

    (void)state;
    core(&pc, &c, SK_TIME_TYPE_FLOAT, NULL);
    o.type = MSGPACK_OBJECT_FLOAT64;
    o.via.f64 = 1700000000.25;
    assert_int_equal(sk_parser_time_object(&pc, &o, &t), 0);
    assert_int_equal(t.sec, 1700000000);
    assert_int_equal(t.nsec, 250000000);
    o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    o.via.i64 = -5;
    assert_int_equal(sk_parser_time_object(&pc, &o, &t), 0);
    assert_int_equal(t.sec, -5);
    o.type = MSGPACK_OBJECT_BOOLEAN;
    o.via.boolean = true;
    assert_int_equal(sk_parser_time_object(&pc, &o, &t), SK_EPARSE);
    o.type = MSGPACK_OBJECT_FLOAT64;
    o.via.f64 = NAN;
    assert_int_equal(sk_parser_time_object(&pc, &o, &t), SK_EPARSE);
    sk_parser_core_cleanup(&pc);

    memset(&c, 0, sizeof(c));
    core(&pc, &c, SK_TIME_TYPE_STRING, "%s");
    o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o.via.u64 = 1700000000;
    assert_int_equal(sk_parser_time_object(&pc, &o, &t), SK_EPARSE); /* not a string */
    sk_parser_core_cleanup(&pc);
}

/* ------------------------------------------------------------------ */

static void emit_is(struct sk_parser_core *pc, const struct sk_parser_field *f, size_t n,
                    const char *want, int64_t sec)
{
    struct sk_evbuf eb;
    struct sk_time t;
    char got[1024];

    sk_evbuf_init(&eb, 1 << 16);
    assert_int_equal(sk_parser_emit_fields(pc, f, n, &eb), 0);
    rr_event(eb.buf.data, eb.buf.len, 0, &t, got, sizeof(got));
    assert_string_equal(got, want);
    if (sec >= 0) {
        assert_int_equal(t.sec, sec);
    }
    sk_evbuf_cleanup(&eb);
}

#define F(k, v) {k, sizeof(k) - 1, v, sizeof(v) - 1}

static void test_emit_fields(void **state)
{
    static const struct sk_parser_field f[] = {
        F("a", "1_000"), F("time", "2024-05-01 03:00:00"), F("b", " yes"), F("c", "YES"),
        F("d", ""), F("e", "a b  c "), F("g", "x,y,,"), F("h", "1.5e3"), F("i", "-"),
    };
    struct sk_kv kv[] = {
        {(char *)"a", (char *)"integer"}, {(char *)"b", (char *)"bool"},
        {(char *)"c", (char *)"bool"}, {(char *)"e", (char *)"array: "},
        {(char *)"g", (char *)"array"}, {(char *)"h", (char *)"float"},
        {(char *)"i", (char *)"integer"}, {(char *)"d", (char *)"string"},
    };
    struct sk_parser_common c = {0};
    struct sk_parser_core pc;
    struct sk_evbuf eb;

    (void)state;
    c.types.v = kv;
    c.types.n = sizeof(kv) / sizeof(kv[0]);
    c.utc = true;
    core(&pc, &c, SK_TIME_TYPE_STRING, "%Y-%m-%d %H:%M:%S");
    emit_is(&pc, f, sizeof(f) / sizeof(f[0]),
            "{a=i:1000|b=b:false|c=b:true|d=|e=[a,b,c]|g=[x,y]|h=f:1500|i=i:0}", 1714532400);
    sk_parser_core_cleanup(&pc);

    /* keep_time_key with a null rule: the time still parses, the field is nil */
    memset(&c, 0, sizeof(c));
    c.keep_time_key = true;
    c.null_value_pattern = (char *)"^2024";
    c.null_empty_string = true;
    c.utc = true;
    core(&pc, &c, SK_TIME_TYPE_STRING, "%Y-%m-%d %H:%M:%S");
    emit_is(&pc, f, 5, "{a=1_000|time=nil|b= yes|c=YES|d=nil}", 1714532400);
    /* a time that does not parse: nothing appended */
    {
        static const struct sk_parser_field bad[] = {F("time", "2024-05")};

        sk_evbuf_init(&eb, 1 << 16);
        assert_int_equal(sk_parser_emit_fields(&pc, bad, 1, &eb), SK_EPARSE);
        assert_int_equal(eb.buf.len, 0);
        assert_int_equal(eb.count, 0);
        sk_evbuf_cleanup(&eb);
    }
    sk_parser_core_cleanup(&pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_json_time_type_rule),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_ruby_to_i),
        cmocka_unit_test(test_ruby_to_f),
        cmocka_unit_test(test_ruby_float_to_s),
        cmocka_unit_test(test_numeric_time_types),
        cmocka_unit_test(test_time_objects),
        cmocka_unit_test(test_emit_fields),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
