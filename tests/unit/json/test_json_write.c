#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "json/json.h"
#include "util/alloc.h"
#include "util/buf.h"

/*
 * msgpack -> JSON. Every table row is its own cmocka test (named after the
 * row), built at run time in main(). The same rows also go through
 * msgpack_unpack + sk_json_write_object, which must agree byte for byte.
 */

#define MP(s) s, sizeof(s) - 1
#define BIG (1u << 20)

struct mp_case {
    const char *name;
    const char *mp;
    size_t len;
    const char *json; /* NULL: an error is expected */
    int rc;
};

static const struct mp_case mp_cases[] = {
    /* scalars */
    { "nil", MP("\xc0"), "null", 0 },
    { "true", MP("\xc3"), "true", 0 },
    { "false", MP("\xc2"), "false", 0 },
    { "fixint_0", MP("\x00"), "0", 0 },
    { "fixint_127", MP("\x7f"), "127", 0 },
    { "uint8_255", MP("\xcc\xff"), "255", 0 },
    { "uint16_max", MP("\xcd\xff\xff"), "65535", 0 },
    { "uint32_max", MP("\xce\xff\xff\xff\xff"), "4294967295", 0 },
    { "uint64_max", MP("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), "18446744073709551615", 0 },
    { "uint64_small", MP("\xcf\x00\x00\x00\x00\x00\x00\x00\x07"), "7", 0 },
    { "negfixint_-1", MP("\xff"), "-1", 0 },
    { "negfixint_-32", MP("\xe0"), "-32", 0 },
    { "int8_min", MP("\xd0\x80"), "-128", 0 },
    { "int8_positive", MP("\xd0\x05"), "5", 0 },
    { "int16_min", MP("\xd1\x80\x00"), "-32768", 0 },
    { "int32_min", MP("\xd2\x80\x00\x00\x00"), "-2147483648", 0 },
    { "int64_min", MP("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"), "-9223372036854775808", 0 },
    { "int64_max", MP("\xd3\x7f\xff\xff\xff\xff\xff\xff\xff"), "9223372036854775807", 0 },
    { "int64_-100", MP("\xd3\xff\xff\xff\xff\xff\xff\xff\x9c"), "-100", 0 },
    /* strings */
    { "fixstr_empty", MP("\xa0"), "\"\"", 0 },
    { "fixstr_abc", MP("\xa3" "abc"), "\"abc\"", 0 },
    { "str8", MP("\xd9\x03" "abc"), "\"abc\"", 0 },
    { "str16", MP("\xda\x00\x03" "abc"), "\"abc\"", 0 },
    { "str32", MP("\xdb\x00\x00\x00\x03" "abc"), "\"abc\"", 0 },
    { "str_slash_not_escaped", MP("\xa3" "a/b"), "\"a/b\"", 0 },
    { "str_short_escapes", MP("\xa7" "\"\\\b\f\n\r\t"), "\"\\\"\\\\\\b\\f\\n\\r\\t\"", 0 },
    { "str_control_u", MP("\xa4\x01\x1f\x00\x7f"), "\"\\u0001\\u001f\\u0000\x7f\"", 0 },
    { "str_utf8_raw", MP("\xa9" "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", 0 },
    { "str_long_clean", MP("\xb4" "0123456789abcdefghij"), "\"0123456789abcdefghij\"", 0 },
    /* bin is written like a string, same UTF-8 rules */
    { "bin8", MP("\xc4\x02" "ab"), "\"ab\"", 0 },
    { "bin16", MP("\xc5\x00\x02" "a\n"), "\"a\\n\"", 0 },
    { "bin32_invalid_utf8", MP("\xc6\x00\x00\x00\x02" "a\xff"), "\"a\\ufffd\"", 0 },
    /* ext: EventTime is its integer seconds, the rest null */
    { "eventtime_fixext8", MP("\xd7\x00\x65\x53\xf1\x00\x00\x00\x01\xf4"), "1700000000", 0 },
    { "eventtime_ext8", MP("\xc7\x08\x00\x65\x53\xf1\x00\x00\x00\x01\xf4"), "1700000000", 0 },
    { "eventtime_max_sec", MP("\xd7\x00\xff\xff\xff\xff\x00\x00\x00\x00"), "4294967295", 0 },
    { "ext_timestamp32_null", MP("\xd6\xff\x65\x53\xf1\x00"), "null", 0 },
    { "fixext1_null", MP("\xd4\x05\x01"), "null", 0 },
    { "fixext2_null", MP("\xd5\x05\x01\x02"), "null", 0 },
    { "fixext16_type0_null", MP("\xd8\x00" "0123456789abcdef"), "null", 0 },
    { "ext8_len3_null", MP("\xc7\x03\x07" "abc"), "null", 0 },
    { "ext16_null", MP("\xc8\x00\x01\x07" "a"), "null", 0 },
    { "ext32_empty_null", MP("\xc9\x00\x00\x00\x00\x07"), "null", 0 },
    /* containers */
    { "fixmap_empty", MP("\x80"), "{}", 0 },
    { "fixarray_empty", MP("\x90"), "[]", 0 },
    { "map_one", MP("\x81\xa1" "a" "\x01"), "{\"a\":1}", 0 },
    { "map16", MP("\xde\x00\x02\xa1" "a" "\xc0\xa1" "b" "\xc3"), "{\"a\":null,\"b\":true}", 0 },
    { "map32", MP("\xdf\x00\x00\x00\x01\xa1" "a" "\x90"), "{\"a\":[]}", 0 },
    { "array16", MP("\xdc\x00\x03\x01\x02\x03"), "[1,2,3]", 0 },
    { "array32", MP("\xdd\x00\x00\x00\x02\xa1" "x" "\x80"), "[\"x\",{}]", 0 },
    { "nested", MP("\x82\xa1" "a" "\x81\xa1" "b" "\x93\x01\x92\x02\x03\x80\xa1" "c" "\xa0"),
      "{\"a\":{\"b\":[1,[2,3],{}]},\"c\":\"\"}", 0 },
    { "event_pair", MP("\x92\xd7\x00\x65\x53\xf1\x00\x00\x00\x01\xf4\x81\xa6" "remote" "\xa8" "10.0.0.1"),
      "[1700000000,{\"remote\":\"10.0.0.1\"}]", 0 },
    /* keys that are not strings become their JSON text in a string */
    { "key_int", MP("\x81\x01\x02"), "{\"1\":2}", 0 },
    { "key_negative", MP("\x81\xff\x02"), "{\"-1\":2}", 0 },
    { "key_nil", MP("\x81\xc0\x01"), "{\"null\":1}", 0 },
    { "key_bool", MP("\x81\xc3\x01"), "{\"true\":1}", 0 },
    { "key_bin", MP("\x81\xc4\x01" "k" "\x01"), "{\"k\":1}", 0 },
    { "key_str8", MP("\x81\xd9\x01" "k" "\x01"), "{\"k\":1}", 0 },
    { "key_array", MP("\x81\x92\x01\xa1" "a" "\x01"), "{\"[1,\\\"a\\\"]\":1}", 0 },
    { "key_map_with_escape", MP("\x81\x81\xa1" "k" "\xa2" "\"\\" "\x01"),
      "{\"{\\\"k\\\":\\\"\\\\\\\"\\\\\\\\\\\"}\":1}", 0 },
    { "key_eventtime", MP("\x81\xd7\x00\x00\x00\x00\x01\x00\x00\x00\x00\x01"), "{\"1\":1}", 0 },
    { "key_float", MP("\x81\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\x01"), "{\"1.5\":1}", 0 },
    { "key_invalid_utf8", MP("\x81\xa2\xc3\x28\x01"), "{\"\\ufffd(\":1}", 0 },
    /* invalid or truncated msgpack */
    { "empty_input", MP(""), NULL, SK_EPARSE },
    { "never_used_c1", MP("\xc1"), NULL, SK_EPARSE },
    { "trunc_uint16", MP("\xcd\x01"), NULL, SK_EPARSE },
    { "trunc_uint64", MP("\xcf\x01\x02\x03"), NULL, SK_EPARSE },
    { "trunc_int32", MP("\xd2\x01"), NULL, SK_EPARSE },
    { "trunc_float64", MP("\xcb\x3f\xf8"), NULL, SK_EPARSE },
    { "trunc_fixstr", MP("\xa5" "abc"), NULL, SK_EPARSE },
    { "trunc_str8_header", MP("\xd9"), NULL, SK_EPARSE },
    { "trunc_str32_len", MP("\xdb\xff\xff\xff\xff" "abc"), NULL, SK_EPARSE },
    { "trunc_bin8", MP("\xc4\x05" "ab"), NULL, SK_EPARSE },
    { "trunc_fixext8", MP("\xd7\x00\x01\x02"), NULL, SK_EPARSE },
    { "trunc_fixext_no_type", MP("\xd4"), NULL, SK_EPARSE },
    { "trunc_ext8", MP("\xc7\x08\x00\x01"), NULL, SK_EPARSE },
    { "trunc_map_value", MP("\x81\xa1" "a"), NULL, SK_EPARSE },
    { "trunc_map_key", MP("\x82\xa1" "a" "\x01"), NULL, SK_EPARSE },
    { "trunc_array", MP("\x93\x01\x02"), NULL, SK_EPARSE },
    { "huge_map32_count", MP("\xdf\xff\xff\xff\xff\x01\x01"), NULL, SK_EPARSE },
    { "huge_array32_count", MP("\xdd\xff\xff\xff\xff\xc0"), NULL, SK_EPARSE },
    { "bad_key_c1", MP("\x81\xc1\x01"), NULL, SK_EPARSE },
};

struct fp_case {
    const char *name;
    double d;
    const char *json;
};

static const struct fp_case f64_cases[] = {
    { "f64_0.1", 0.1, "0.1" },
    { "f64_1e300", 1e300, "1e+300" },
    { "f64_-1e-300", -1e-300, "-1e-300" },
    { "f64_zero", 0.0, "0.0" },
    { "f64_neg_zero", -0.0, "-0.0" },
    { "f64_one", 1.0, "1.0" },
    { "f64_-42", -42.0, "-42.0" },
    { "f64_1e15", 1e15, "1e+15" },
    { "f64_999999999999999", 999999999999999.0, "999999999999999.0" },
    { "f64_2^53", 9007199254740992.0, "9007199254740992.0" },
    { "f64_1e21", 1e21, "1e+21" },
    { "f64_123.456", 123.456, "123.456" },
    { "f64_0.1+0.2", 0.1 + 0.2, "0.30000000000000004" },
    { "f64_1/3", 1.0 / 3.0, "0.3333333333333333" },
    { "f64_min_subnormal", 5e-324, "5e-324" },
    { "f64_dbl_max", 1.7976931348623157e308, "1.7976931348623157e+308" },
    { "f64_request_time", 0.123, "0.123" },
    { "f64_fixed_small", 0.0001, "0.0001" },
    { "f64_below_fixed", 0.00001, "1e-05" },
    { "f64_neg_fixed", -2.5, "-2.5" },
    { "f64_fixed_15_digits", 12345.6789012345, "12345.6789012345" },
    { "f64_fixed_16_digits", 1234.567890123456, "1234.567890123456" },
    { "f64_near_1e15", 999999999999999.9, "999999999999999.9" },
    { "f64_nan", NAN, "null" },
    { "f64_inf", INFINITY, "null" },
    { "f64_-inf", -INFINITY, "null" },
};

static const struct fp_case f32_cases[] = {
    { "f32_0.1", 0.1, "0.1" },
    { "f32_1.5", 1.5, "1.5" },
    { "f32_one", 1.0, "1.0" },
    { "f32_16777217", 16777216.0, "16777216.0" },
    { "f32_1e30", 1e30, "1e+30" },
    { "f32_3.4028235e38", 3.4028234663852886e38, "3.4028235e+38" },
    { "f32_min_subnormal", 1.401298464324817e-45, "1e-45" },
    { "f32_neg_zero", -0.0, "-0.0" },
    { "f32_nan", NAN, "null" },
    { "f32_inf", INFINITY, "null" },
};

/* Invalid UTF-8: one \ufffd per maximal subpart (Unicode ch. 3, WHATWG). */
struct utf8_case {
    const char *name;
    const char *in;
    size_t len;
    const char *body; /* JSON string body expected */
};

#define R "\\ufffd"
static const struct utf8_case utf8_cases[] = {
    { "utf8_ff", MP("\xff"), R },
    { "utf8_fe", MP("a\xfe" "b"), "a" R "b" },
    { "utf8_lone_continuation", MP("\x80"), R },
    { "utf8_two_continuations", MP("\x80\xbf"), R R },
    { "utf8_overlong_c0", MP("\xc0\x80"), R R },
    { "utf8_overlong_c1", MP("\xc1\xbf"), R R },
    { "utf8_overlong_e0", MP("\xe0\x80\xaf"), R R R },
    { "utf8_overlong_f0", MP("\xf0\x80\x80\xaf"), R R R R },
    { "utf8_surrogate_d800", MP("\xed\xa0\x80"), R R R },
    { "utf8_surrogate_dfff", MP("\xed\xbf\xbf"), R R R },
    { "utf8_surrogate_pair", MP("\xed\xa0\xbd\xed\xb8\x80"), R R R R R R },
    { "utf8_above_10ffff", MP("\xf4\x90\x80\x80"), R R R R },
    { "utf8_f5", MP("\xf5\x80\x80\x80"), R R R R },
    { "utf8_trunc_2_at_end", MP("a\xc3"), "a" R },
    { "utf8_trunc_3_at_end", MP("\xe2\x82"), R },
    { "utf8_trunc_3_mid", MP("\xe2\x82" "A"), R "A" },
    { "utf8_trunc_4_at_end", MP("\xf0\x9f\x98"), R },
    { "utf8_trunc_4_mid", MP("\xf0\x9f" "x"), R "x" },
    { "utf8_bad_second", MP("\xc3\x28"), R "(" },
    { "utf8_unicode_table_3_8", MP("a\xf1\x80\x80\xe1\x80\xc2" "b\x80" "c\x80\xbf" "d"),
      "a" R R R "b" R "c" R R "d" },
    { "utf8_valid_edges", MP("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"),
      "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf" },
    { "utf8_bom_kept", MP("\xef\xbb\xbf" "x"), "\xef\xbb\xbf" "x" },
    { "utf8_invalid_then_escape", MP("\xff\n\xff\""), R "\\n" R "\\\"" },
    { "utf8_long_mixed", MP("0123456789\xff" "0123456789\xc3\xa9" "0123456789\x01" "01234567"),
      "0123456789" R "0123456789\xc3\xa9" "0123456789\\u0001" "01234567" },
};
#undef R

/* ---- helpers ---------------------------------------------------------- */

/* What the writer emits must be valid UTF-8 without raw control bytes;
 * checked here by a plain decoder independent of the writer's. */
static void check_valid_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned c = p[i];
        unsigned cp;
        size_t k;

        assert_true(c >= 0x20);
        if (c < 0x80) {
            i++;
            continue;
        }
        k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        assert_true(c >= 0xc2 && c <= 0xf4 && i + k <= n);
        cp = c & (0xff >> (k + 1));
        for (size_t j = 1; j < k; j++) {
            assert_int_equal(p[i + j] & 0xc0, 0x80);
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        assert_true(cp >= (k == 2 ? 0x80u : k == 3 ? 0x800u : 0x10000u));
        assert_true(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));
        i += k;
    }
}

static void expect_write(const char *mp, size_t len, const char *json, int want_rc)
{
    struct sk_buf b;
    size_t used = 0;
    int rc;

    sk_buf_init(&b, BIG);
    rc = sk_json_write_msgpack(&b, mp, len, &used);
    assert_int_equal(rc, want_rc);
    if (json != NULL) {
        assert_string_equal(b.data, json);
        assert_int_equal(b.len, strlen(json));
        assert_int_equal(used, len);
        check_valid_utf8(b.data, b.len);
    }
    sk_buf_cleanup(&b);
}

/* The same value through msgpack_unpack and sk_json_write_object. */
static void expect_write_object(const char *mp, size_t len, const char *json)
{
    msgpack_unpacked up;
    struct sk_buf b;
    size_t off = 0;

    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, mp, len, &off), MSGPACK_UNPACK_SUCCESS);
    sk_buf_init(&b, BIG);
    assert_int_equal(sk_json_write_object(&b, &up.data), 0);
    assert_string_equal(b.data, json);
    sk_buf_cleanup(&b);
    msgpack_unpacked_destroy(&up);
}

static void run_mp_case(void **state)
{
    const struct mp_case *c = *state;

    expect_write(c->mp, c->len, c->json, c->rc);
    if (c->json != NULL) {
        expect_write_object(c->mp, c->len, c->json);
    }
}

static void run_f64_case(void **state)
{
    const struct fp_case *c = *state;
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_double(&pk, c->d), 0);
    expect_write(sb.data, sb.size, c->json, 0);
    expect_write_object(sb.data, sb.size, c->json);
    if (isfinite(c->d)) {
        assert_true(strtod(c->json, NULL) == c->d); /* round trip */
    }
    msgpack_sbuffer_destroy(&sb);
}

static void run_f32_case(void **state)
{
    const struct fp_case *c = *state;
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_float(&pk, (float)c->d), 0);
    assert_int_equal((unsigned char)sb.data[0], 0xca);
    expect_write(sb.data, sb.size, c->json, 0);
    expect_write_object(sb.data, sb.size, c->json);
    if (isfinite(c->d)) {
        assert_true(strtof(c->json, NULL) == (float)c->d);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* Each UTF-8 case as a str value, a map key and a bin value. */
static void run_utf8_case(void **state)
{
    const struct utf8_case *c = *state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char want[512];

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_str_with_body(&pk, c->in, c->len), 0);
    snprintf(want, sizeof want, "\"%s\"", c->body);
    expect_write(sb.data, sb.size, want, 0);
    expect_write_object(sb.data, sb.size, want);

    msgpack_sbuffer_clear(&sb);
    assert_int_equal(msgpack_pack_map(&pk, 1), 0);
    assert_int_equal(msgpack_pack_str_with_body(&pk, c->in, c->len), 0);
    assert_int_equal(msgpack_pack_bin_with_body(&pk, c->in, c->len), 0);
    snprintf(want, sizeof want, "{\"%s\":\"%s\"}", c->body, c->body);
    expect_write(sb.data, sb.size, want, 0);
    expect_write_object(sb.data, sb.size, want);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- single tests ----------------------------------------------------- */

/* Every special byte at every offset of a 24-byte string, so each one is
 * met by the 8-byte scan, the byte loop and the tail. */
static void test_escape_every_position(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } sp[] = {
        { MP("\""), "\\\"" }, { MP("\\"), "\\\\" }, { MP("\n"), "\\n" },
        { MP("\x01"), "\\u0001" }, { MP("\x1f"), "\\u001f" }, { MP("\x7f"), "\x7f" },
        { MP("\xff"), "\\ufffd" }, { MP("\xc3\xa9"), "\xc3\xa9" }, { MP("\xe2\x82"), "\\ufffd" },
    };
    char in[64];
    char want[128];
    struct sk_buf b;

    (void)state;
    sk_buf_init(&b, BIG);
    /* Every length up to 40: the 8-byte fast path, its tail, and both. */
    for (size_t s = 0; s < sizeof sp / sizeof sp[0]; s++) {
        for (size_t n = sp[s].len; n <= 40; n++) {
            for (size_t pos = 0; pos + sp[s].len <= n; pos++) {
                memset(in, 'x', n);
                memcpy(in + pos, sp[s].in, sp[s].len);
                snprintf(want, sizeof want, "\"%.*s%s%.*s\"", (int)pos, in, sp[s].out,
                         (int)(n - pos - sp[s].len), in + pos + sp[s].len);
                sk_buf_reset(&b);
                assert_int_equal(sk_json_write_string(&b, in, n), 0);
                assert_string_equal(b.data, want);
            }
        }
    }
    sk_buf_cleanup(&b);
}

static void test_write_string_all_bytes(void **state)
{
    char in[256];
    struct sk_buf b;

    (void)state;
    for (int i = 0; i < 256; i++) {
        in[i] = (char)i;
    }
    sk_buf_init(&b, BIG);
    assert_int_equal(sk_json_write_string(&b, in, sizeof in), 0);
    assert_non_null(strstr(b.data, "\\u0000\\u0001"));
    assert_non_null(strstr(b.data, "\\u001f !\\\"#$%&'()*+,-./0123"));
    assert_non_null(strstr(b.data, "[\\\\]^_`abc"));
    /* From 0x80 up, no byte is followed by one that could continue it:
     * each of the 128 is its own maximal subpart, one U+FFFD each. */
    {
        size_t n = 0;
        const char *p = b.data;

        while ((p = strstr(p, "\\ufffd")) != NULL) {
            n++;
            p++;
        }
        assert_int_equal(n, 128);
    }
    sk_buf_cleanup(&b);
}

static void test_appends_to_existing(void **state)
{
    struct sk_buf b;
    size_t used = 0;

    (void)state;
    sk_buf_init(&b, BIG);
    assert_int_equal(sk_buf_append_str(&b, "{\"index\":{}}\n"), 0);
    assert_int_equal(sk_json_write_msgpack(&b, MP("\x81\xa1" "a" "\x01"), &used), 0);
    assert_string_equal(b.data, "{\"index\":{}}\n{\"a\":1}");
    sk_buf_cleanup(&b);
}

/* `used` is the length of the first value of a stream. */
static void test_used_in_stream(void **state)
{
    static const char two[] = "\x92\x01\xa1" "a" "\x81\xa1" "b" "\xc0";
    struct sk_buf b;
    size_t used = 0;

    (void)state;
    sk_buf_init(&b, BIG);
    assert_int_equal(sk_json_write_msgpack(&b, two, sizeof two - 1, &used), 0);
    assert_int_equal(used, 4);
    assert_int_equal(sk_json_write_msgpack(&b, two + used, sizeof two - 1 - used, &used), 0);
    assert_int_equal(used, 4);
    assert_string_equal(b.data, "[1,\"a\"]{\"b\":null}");
    sk_buf_cleanup(&b);
}

/* A medium record: nginx fields, escapes, invalid UTF-8, nesting, floats. */
static void pack_medium(msgpack_packer *pk)
{
    static const char *kv[] = {
        "remote", "203.0.113.7", "host", "-", "user", "-", "method", "GET",
        "path", "/search?q=\"caf\xc3\xa9\"&x=\\1", "code", "200", "size", "5123",
        "referer", "https://example.com/a/b/c", "agent",
        "Mozilla/5.0 (X11; Linux x86_64)\tbroken\xff\xfe",
        "http_x_forwarded_for", "198.51.100.1, 198.51.100.2",
    };

    assert_int_equal(msgpack_pack_map(pk, 13), 0);
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i += 2) {
        assert_int_equal(msgpack_pack_str_with_body(pk, kv[i], strlen(kv[i])), 0);
        assert_int_equal(msgpack_pack_str_with_body(pk, kv[i + 1], strlen(kv[i + 1])), 0);
    }
    assert_int_equal(msgpack_pack_str_with_body(pk, "rt", 2), 0);
    assert_int_equal(msgpack_pack_double(pk, 0.123), 0);
    assert_int_equal(msgpack_pack_str_with_body(pk, "n", 1), 0);
    assert_int_equal(msgpack_pack_int64(pk, INT64_MIN), 0);
    assert_int_equal(msgpack_pack_str_with_body(pk, "tags", 4), 0);
    assert_int_equal(msgpack_pack_array(pk, 3), 0);
    assert_int_equal(msgpack_pack_str_with_body(pk, "a", 1), 0);
    assert_int_equal(msgpack_pack_map(pk, 1), 0);
    assert_int_equal(msgpack_pack_int(pk, 7), 0);
    assert_int_equal(msgpack_pack_true(pk), 0);
    assert_int_equal(msgpack_pack_nil(pk), 0);
}

static const char medium_json[] =
    "{\"remote\":\"203.0.113.7\",\"host\":\"-\",\"user\":\"-\",\"method\":\"GET\","
    "\"path\":\"/search?q=\\\"caf\xc3\xa9\\\"&x=\\\\1\",\"code\":\"200\",\"size\":\"5123\","
    "\"referer\":\"https://example.com/a/b/c\","
    "\"agent\":\"Mozilla/5.0 (X11; Linux x86_64)\\tbroken\\ufffd\\ufffd\","
    "\"http_x_forwarded_for\":\"198.51.100.1, 198.51.100.2\",\"rt\":0.123,"
    "\"n\":-9223372036854775808,\"tags\":[\"a\",{\"7\":true},null]}";

static void test_medium_record(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_medium(&pk);
    expect_write(sb.data, sb.size, medium_json, 0);
    expect_write_object(sb.data, sb.size, medium_json);
    msgpack_sbuffer_destroy(&sb);
}

/* Every proper prefix of a valid value is truncated msgpack. */
static void test_every_prefix_is_eparse(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct sk_buf b;
    size_t used;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_medium(&pk);
    sk_buf_init(&b, BIG);
    for (size_t n = 0; n < sb.size; n++) {
        sk_buf_reset(&b);
        assert_int_equal(sk_json_write_msgpack(&b, sb.data, n, &used), SK_EPARSE);
        assert_true(b.len == 0 || b.data[b.len] == '\0');
    }
    msgpack_sbuffer_destroy(&sb);
    sk_buf_cleanup(&b);
}

/*
 * SK_ETOOBIG exactly when the output does not fit: for every max below the
 * JSON length the call fails (buffer still within max and terminated), at
 * the length it succeeds. Covers the grow-on-escape path.
 */
static void test_toobig_is_exact(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct sk_buf b;
    size_t used;
    size_t want = strlen(medium_json);

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_medium(&pk);
    for (size_t max = 0; max <= want + 1; max++) {
        sk_buf_init(&b, max);
        int rc = sk_json_write_msgpack(&b, sb.data, sb.size, &used);

        if (max < want) {
            assert_int_equal(rc, SK_ETOOBIG);
            assert_true(b.len <= max);
            assert_int_equal(b.data[b.len], '\0');
            assert_memory_equal(b.data, medium_json, b.len); /* a clean prefix */
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(b.data, medium_json);
        }
        sk_buf_cleanup(&b);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_toobig_string_and_object(void **state)
{
    static const char s[] = "a\"b\xff" "c";
    static const char want[] = "\"a\\\"b\\ufffdc\"";
    msgpack_object o;
    struct sk_buf b;

    (void)state;
    for (size_t max = 0; max < sizeof want; max++) {
        sk_buf_init(&b, max);
        assert_int_equal(sk_json_write_string(&b, s, sizeof s - 1),
                         max + 1 < sizeof want ? SK_ETOOBIG : 0);
        sk_buf_cleanup(&b);
    }
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = s;
    o.via.str.size = sizeof s - 1;
    sk_buf_init(&b, sizeof want - 2);
    assert_int_equal(sk_json_write_object(&b, &o), SK_ETOOBIG);
    sk_buf_cleanup(&b);
}

/* The reference float format, independent of the writer's fast paths:
 * the first of %.15g, %.16g, %.17g (from %.1g for subnormals) that reads
 * back, ".0" added when it looks like an integer. */
static void ref_double(double d, char *out, size_t size)
{
    for (int prec = fabs(d) < 2.2250738585072014e-308 ? 1 : 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, d);
        if (strtod(out, NULL) == d) {
            break;
        }
    }
    if (strpbrk(out, ".e") == NULL) {
        strncat(out, ".0", size - strlen(out) - 1);
    }
}

/* Doubles of every kind (short decimals around each power of ten, random
 * bit patterns) are written exactly as the reference writes them. */
static void test_double_matches_reference(void **state)
{
    unsigned long long x = 0x9e3779b97f4a7c15ULL;
    char want[64];
    struct sk_buf b;
    size_t used;
    char mp[9];

    (void)state;
    sk_buf_init(&b, BIG);
    for (int i = 0; i < 200000; i++) {
        double d;
        uint64_t bits;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (i % 3 == 0) { /* raw bits: mostly 17 digits, all magnitudes */
            bits = x;
            memcpy(&d, &bits, 8);
        } else { /* short decimals from 1e-7 to 1e17 */
            d = (double)(x % 100000000ULL) / pow(10, (double)((x >> 32) % 16));
            d *= pow(10, (double)((int)((x >> 40) % 18) - 7));
            if (x >> 63) {
                d = -d;
            }
        }
        if (!isfinite(d)) {
            continue;
        }
        memcpy(&bits, &d, 8);
        mp[0] = (char)0xcb;
        for (int k = 0; k < 8; k++) {
            mp[1 + k] = (char)(bits >> (56 - 8 * k));
        }
        ref_double(d, want, sizeof want);
        sk_buf_reset(&b);
        assert_int_equal(sk_json_write_msgpack(&b, mp, sizeof mp, &used), 0);
        if (strcmp(b.data, want) != 0) {
            fail_msg("%.17g: wrote %s, reference %s", d, b.data, want);
        }
    }
    sk_buf_cleanup(&b);
}

/* Nested arrays (maps) `levels` deep around a 1. */
static size_t nest(char *mp, int levels, int maps)
{
    size_t n = 0;

    for (int i = 0; i < levels; i++) {
        mp[n++] = maps ? '\x81' : '\x91';
        if (maps) {
            mp[n++] = '\xa1';
            mp[n++] = 'k';
        }
    }
    mp[n++] = 1;
    return n;
}

static void test_depth_limit(void **state)
{
    char mp[SK_JSON_MAX_DEPTH * 3 + 8];
    struct sk_buf b;
    size_t used;

    (void)state;
    sk_buf_init(&b, BIG);
    for (int maps = 0; maps <= 1; maps++) {
        sk_buf_reset(&b);
        assert_int_equal(sk_json_write_msgpack(&b, mp, nest(mp, SK_JSON_MAX_DEPTH, maps), &used), 0);
        sk_buf_reset(&b);
        assert_int_equal(sk_json_write_msgpack(&b, mp, nest(mp, SK_JSON_MAX_DEPTH + 1, maps), &used),
                         SK_EPARSE);
    }
    /* A container used as a key counts as one level deeper. */
    mp[0] = '\x81';
    size_t n = 1 + nest(mp + 1, SK_JSON_MAX_DEPTH, 0);
    mp[n++] = 1;
    sk_buf_reset(&b);
    assert_int_equal(sk_json_write_msgpack(&b, mp, n, &used), SK_EPARSE);
    sk_buf_cleanup(&b);
}

static void test_object_depth_limit(void **state)
{
    msgpack_object o[SK_JSON_MAX_DEPTH + 2];
    struct sk_buf b;

    (void)state;
    for (int i = 0; i <= SK_JSON_MAX_DEPTH; i++) {
        o[i].type = MSGPACK_OBJECT_ARRAY;
        o[i].via.array.size = 1;
        o[i].via.array.ptr = &o[i + 1];
    }
    o[SK_JSON_MAX_DEPTH + 1].type = MSGPACK_OBJECT_NIL;
    sk_buf_init(&b, BIG);
    assert_int_equal(sk_json_write_object(&b, &o[1]), 0); /* 64 levels */
    sk_buf_reset(&b);
    assert_int_equal(sk_json_write_object(&b, &o[0]), SK_EPARSE); /* 65 */
    sk_buf_cleanup(&b);
}

/* Step the failing allocation through a write into an empty buffer: each
 * step fails cleanly (SK_ENOMEM), then one succeeds. No leak (valgrind). */
static void test_alloc_failure_stepping(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct sk_buf b;
    size_t used;
    int rc = SK_ENOMEM;
    long n;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_medium(&pk);
    for (n = 1; rc == SK_ENOMEM && n < 100; n++) {
        sk_buf_init(&b, BIG);
        sk_alloc_fail_after(n, 0);
        rc = sk_json_write_msgpack(&b, sb.data, sb.size, &used);
        sk_alloc_fail_after(0, 0);
        if (rc == 0) {
            assert_string_equal(b.data, medium_json);
        } else {
            assert_int_equal(rc, SK_ENOMEM);
        }
        sk_buf_cleanup(&b);
    }
    assert_int_equal(rc, 0);
    assert_true(n > 2); /* at least one failing step happened */
    msgpack_sbuffer_destroy(&sb);
}

/* ---- main ------------------------------------------------------------- */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_escape_every_position),
        cmocka_unit_test(test_write_string_all_bytes),
        cmocka_unit_test(test_appends_to_existing),
        cmocka_unit_test(test_used_in_stream),
        cmocka_unit_test(test_medium_record),
        cmocka_unit_test(test_every_prefix_is_eparse),
        cmocka_unit_test(test_toobig_is_exact),
        cmocka_unit_test(test_toobig_string_and_object),
        cmocka_unit_test(test_double_matches_reference),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_object_depth_limit),
        cmocka_unit_test(test_alloc_failure_stepping),
    };
    size_t total = NELEM(fixed) + NELEM(mp_cases) + NELEM(f64_cases) + NELEM(f32_cases) +
                   NELEM(utf8_cases);
    struct CMUnitTest *t = calloc(total, sizeof *t);
    size_t n = 0;
    int failed;

    assert_non_null(t);
    for (size_t i = 0; i < NELEM(mp_cases); i++) {
        t[n++] = (struct CMUnitTest){ mp_cases[i].name, run_mp_case, NULL, NULL, (void *)&mp_cases[i] };
    }
    for (size_t i = 0; i < NELEM(f64_cases); i++) {
        t[n++] = (struct CMUnitTest){ f64_cases[i].name, run_f64_case, NULL, NULL, (void *)&f64_cases[i] };
    }
    for (size_t i = 0; i < NELEM(f32_cases); i++) {
        t[n++] = (struct CMUnitTest){ f32_cases[i].name, run_f32_case, NULL, NULL, (void *)&f32_cases[i] };
    }
    for (size_t i = 0; i < NELEM(utf8_cases); i++) {
        t[n++] = (struct CMUnitTest){ utf8_cases[i].name, run_utf8_case, NULL, NULL,
                                      (void *)&utf8_cases[i] };
    }
    for (size_t i = 0; i < NELEM(fixed); i++) {
        t[n++] = fixed[i];
    }
    failed = _cmocka_run_group_tests("json_write", t, n, NULL, NULL);
    free(t);
    return failed;
}
