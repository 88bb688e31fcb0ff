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
 * JSON -> msgpack (and back through the writer). Every table row is its
 * own cmocka test, named after the row and built at run time in main().
 */

#define S(s) s, sizeof(s) - 1
#define BIG (1u << 22)

/* ---- helpers ---------------------------------------------------------- */

static int to_mp(const char *text, size_t len, struct sk_buf *mp)
{
    msgpack_packer pk;

    sk_buf_reset(mp);
    msgpack_packer_init(&pk, mp, sk_buf_msgpack_write);
    return sk_json_to_msgpack(text, len, &pk);
}

/* The msgpack must be one complete value msgpack-c reads to the end. */
static void check_unpacks(const struct sk_buf *mp)
{
    msgpack_unpacked up;
    size_t off = 0;

    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, mp->data, mp->len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, mp->len);
    msgpack_unpacked_destroy(&up);
}

/* JSON -> msgpack -> JSON; unless `lossy`, the output parses again to the
 * same msgpack (lossy: repaired UTF-8 reads back as a real U+FFFD, an
 * out-of-range number as null). */
static void round_trip(const char *text, size_t len, const char *want, int lossy)
{
    struct sk_buf mp;
    struct sk_buf mp2;
    struct sk_buf js;
    size_t used = 0;

    sk_buf_init(&mp, BIG);
    sk_buf_init(&mp2, BIG);
    sk_buf_init(&js, BIG);
    assert_int_equal(to_mp(text, len, &mp), 0);
    check_unpacks(&mp);
    assert_int_equal(sk_json_write_msgpack(&js, mp.data, mp.len, &used), 0);
    assert_int_equal(used, mp.len);
    assert_string_equal(js.data, want);
    if (!lossy) {
        assert_int_equal(to_mp(js.data, js.len, &mp2), 0);
        assert_int_equal(mp2.len, mp.len);
        assert_memory_equal(mp2.data, mp.data, mp.len);
    }
    sk_buf_cleanup(&mp);
    sk_buf_cleanup(&mp2);
    sk_buf_cleanup(&js);
}

/*
 * The reader has two modes (see json_read.c): small values are parsed in
 * one pass with headers patched in its stage, values whose msgpack is too
 * big for the stage are parsed again with element counts found first. A
 * string over half the stage forces the second mode, so each case also
 * runs as the second element of ["<PAD_LEN bytes>", case].
 */
#define PAD_LEN 3000

static char *padded(const char *text, size_t len, size_t *out_len)
{
    char *p = malloc(PAD_LEN + len + 8);

    assert_non_null(p);
    p[0] = '[';
    p[1] = '"';
    memset(p + 2, 'p', PAD_LEN);
    memcpy(p + 2 + PAD_LEN, "\",", 2);
    memcpy(p + 4 + PAD_LEN, text, len);
    p[4 + PAD_LEN + len] = ']';
    p[5 + PAD_LEN + len] = '\0';
    *out_len = 5 + PAD_LEN + len;
    return p;
}

/* ---- round trips ------------------------------------------------------ */

struct rt_case {
    const char *name;
    const char *json;
    size_t len;
    const char *want; /* NULL: the input itself */
    int lossy;
};

static const struct rt_case rt_cases[] = {
    { "empty_object", S("{}"), NULL, 0 },
    { "empty_array", S("[]"), NULL, 0 },
    { "empty_with_ws", S("{ \n\t\r }"), "{}", 0 },
    { "empty_array_ws", S("[ ]"), "[]", 0 },
    { "object_one", S("{\"a\":1}"), NULL, 0 },
    { "object_ws", S(" { \"a\" : [ 1 , 2 ] } \r\n"), "{\"a\":[1,2]}", 0 },
    { "nested", S("{\"a\":{\"b\":[1,[2,[]],{}],\"c\":{\"d\":null}},\"e\":[true,false]}"), NULL, 0 },
    { "array_of_empties", S("[[],{},[[]],[{}],\"\"]"), NULL, 0 },
    { "top_string", S("\"s\""), NULL, 0 },
    { "top_true", S("true"), NULL, 0 },
    { "top_false", S("false"), NULL, 0 },
    { "top_null", S(" null "), "null", 0 },
    { "zero", S("0"), NULL, 0 },
    { "minus_zero_int", S("-0"), "0", 0 },
    { "minus_zero_float", S("-0.0"), NULL, 0 },
    { "int_one", S("1"), NULL, 0 },
    { "int_neg", S("-1"), NULL, 0 },
    { "int_max_fixint", S("[127,128,255,256,65535,65536,-32,-33,-128,-129]"), NULL, 0 },
    { "uint64_max", S("18446744073709551615"), NULL, 0 },
    { "uint64_max_plus_1", S("18446744073709551616"), "1.8446744073709552e+19", 0 },
    { "int64_min", S("-9223372036854775808"), NULL, 0 },
    { "int64_min_minus_1", S("-9223372036854775809"), "-9.223372036854776e+18", 0 },
    { "int_30_digits", S("123456789012345678901234567890"), "1.2345678901234568e+29", 0 },
    { "float_1.5", S("1.5"), NULL, 0 },
    { "float_0.1", S("0.1"), NULL, 0 },
    { "float_exp", S("1e5"), "100000.0", 0 },
    { "float_exp_upper_plus", S("1E+2"), "100.0", 0 },
    { "float_neg_exp", S("-1.5e-3"), "-0.0015", 0 },
    { "float_1e300", S("1e300"), "1e+300", 0 },
    { "float_1e22", S("1e22"), "1e+22", 0 },
    { "float_1e23_slow", S("1e23"), "1e+23", 0 },
    { "float_overflow_null", S("[1e400,-1e400]"), "[null,null]", 1 },
    { "float_underflow_zero", S("1e-400"), "0.0", 0 },
    { "float_exp_huge", S("1e99999999999999999999"), "null", 1 },
    { "float_exp_leading_zeros", S("1e007"), "10000000.0", 0 },
    { "float_long_digits", S("0.1000000000000000055511151231257827021181583404541015625"), "0.1", 0 },
    { "float_many_zeros", S("0.000000000000000000000000000001"), "1e-30", 0 },
    { "float_17_digits", S("0.30000000000000004"), NULL, 0 },
    { "float_min_subnormal", S("5e-324"), NULL, 0 },
    { "float_request_time", S("{\"request_time\":0.123}"), NULL, 0 },
    { "escape_short", S("\"\\\"\\\\\\b\\f\\n\\r\\t\""), NULL, 0 },
    { "escape_slash", S("\"a\\/b\""), "\"a/b\"", 0 },
    { "escape_u_ascii", S("\"\\u0041\\u007a\""), "\"Az\"", 0 },
    { "escape_u_nul", S("\"a\\u0000b\""), NULL, 0 },
    { "escape_u_control_upper", S("\"\\u001F\""), "\"\\u001f\"", 0 },
    { "escape_u_2byte", S("\"\\u00e9\""), "\"\xc3\xa9\"", 0 },
    { "escape_u_3byte", S("\"\\u20AC\""), "\"\xe2\x82\xac\"", 0 },
    { "escape_u_fffd", S("\"\\ufffd\""), "\"\xef\xbf\xbd\"", 0 },
    { "escape_pair", S("\"\\ud83d\\ude00\""), "\"\xf0\x9f\x98\x80\"", 0 },
    { "escape_pair_upper", S("\"\\uD83D\\uDE00!\""), "\"\xf0\x9f\x98\x80!\"", 0 },
    { "escape_pair_max", S("\"\\udbff\\udfff\""), "\"\xf4\x8f\xbf\xbf\"", 0 },
    { "lone_high_surrogate", S("\"\\ud800\""), "\"\xef\xbf\xbd\"", 0 },
    { "lone_low_surrogate", S("\"\\udc00x\""), "\"\xef\xbf\xbdx\"", 0 },
    { "high_then_ascii_escape", S("\"\\ud800\\u0041\""), "\"\xef\xbf\xbd" "A\"", 0 },
    { "high_high_low", S("\"\\ud800\\ud800\\udc00\""), "\"\xef\xbf\xbd\xf0\x90\x80\x80\"", 0 },
    { "high_at_end_of_string", S("\"a\\ud83d\""), "\"a\xef\xbf\xbd\"", 0 },
    { "raw_utf8", S("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""), NULL, 0 },
    { "raw_invalid_utf8_repaired", S("{\"k\xff\":\"v\xc0\x80\"}"), "{\"k\\ufffd\":\"v\\ufffd\\ufffd\"}", 1 },
    { "raw_del", S("\"\x7f\""), NULL, 0 },
    { "duplicate_keys_kept", S("{\"a\":1,\"a\":2}"), NULL, 0 },
    { "brackets_in_strings", S("{\"a\":\"[,]{\\\"}\",\"b\":[1,[2,3],{\"c\":\",\"}],\"d\":\"}\"}"), NULL, 0 },
    { "backslash_before_quote", S("{\"a\":\"\\\\\",\"b\":\"\\\\\\\"\",\"c\":1}"), NULL, 0 },
    { "commas_in_nested", S("[[1,2,3],{\"a\":[4,5],\"b\":6},7]"), NULL, 0 },
    { "nginx_line",
      S("{\"remote\":\"203.0.113.7\",\"host\":\"-\",\"user\":\"-\",\"time\":\"10/Oct/2023:13:55:36 +0000\","
        "\"method\":\"GET\",\"path\":\"/index.html?q=a%20b\",\"code\":200,\"size\":5123,"
        "\"referer\":\"https://example.com/\",\"agent\":\"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101\","
        "\"request_time\":0.004}"),
      NULL, 0 },
};

static void run_rt_case(void **state)
{
    const struct rt_case *c = *state;

    const char *want = c->want != NULL ? c->want : c->json;
    size_t plen;
    size_t wlen;
    char *pin;
    char *pwant;

    round_trip(c->json, c->len, want, c->lossy);
    pin = padded(c->json, c->len, &plen);
    pwant = padded(want, strlen(want), &wlen);
    round_trip(pin, plen, pwant, c->lossy);
    free(pin);
    free(pwant);
}

/* ---- canonical msgpack ------------------------------------------------ */

struct mp_case {
    const char *name;
    const char *json;
    const char *mp;
    size_t len;
};

static const struct mp_case mp_cases[] = {
    { "mp_object", "{\"a\":1}", S("\x81\xa1" "a" "\x01") },
    { "mp_empty_object", "{}", S("\x80") },
    { "mp_empty_array", "[]", S("\x90") },
    { "mp_nested_empty", "[[]]", S("\x91\x90") },
    { "mp_nil_bools", "[null,true,false]", S("\x93\xc0\xc3\xc2") },
    { "mp_fixint", "127", S("\x7f") },
    { "mp_uint8", "128", S("\xcc\x80") },
    { "mp_uint8_max", "255", S("\xcc\xff") },
    { "mp_uint16", "256", S("\xcd\x01\x00") },
    { "mp_uint32", "65536", S("\xce\x00\x01\x00\x00") },
    { "mp_uint64", "4294967296", S("\xcf\x00\x00\x00\x01\x00\x00\x00\x00") },
    { "mp_uint64_max", "18446744073709551615", S("\xcf\xff\xff\xff\xff\xff\xff\xff\xff") },
    { "mp_negfixint", "-32", S("\xe0") },
    { "mp_int8", "-33", S("\xd0\xdf") },
    { "mp_int8_min", "-128", S("\xd0\x80") },
    { "mp_int16", "-129", S("\xd1\xff\x7f") },
    { "mp_int32", "-32769", S("\xd2\xff\xff\x7f\xff") },
    { "mp_int64", "-2147483649", S("\xd3\xff\xff\xff\xff\x7f\xff\xff\xff") },
    { "mp_int64_min", "-9223372036854775808", S("\xd3\x80\x00\x00\x00\x00\x00\x00\x00") },
    { "mp_minus_zero_int", "-0", S("\x00") },
    { "mp_float", "1.5", S("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00") },
    { "mp_float_minus_zero", "-0.0", S("\xcb\x80\x00\x00\x00\x00\x00\x00\x00") },
    { "mp_float_integral", "2.0", S("\xcb\x40\x00\x00\x00\x00\x00\x00\x00") },
    { "mp_uint64_overflow_float", "18446744073709551616", S("\xcb\x43\xf0\x00\x00\x00\x00\x00\x00") },
    { "mp_str_empty", "\"\"", S("\xa0") },
    { "mp_str_escaped_len", "\"\\u00e9\\n\"", S("\xa3\xc3\xa9\n") },
    { "mp_str_nul", "\"\\u0000\"", S("\xa1\x00") },
};

static void run_mp_case(void **state)
{
    const struct mp_case *c = *state;
    struct sk_buf mp;

    sk_buf_init(&mp, BIG);
    assert_int_equal(to_mp(c->json, strlen(c->json), &mp), 0);
    assert_int_equal(mp.len, c->len);
    assert_memory_equal(mp.data, c->mp, c->len);
    check_unpacks(&mp);
    sk_buf_cleanup(&mp);
}

/* ---- invalid JSON ----------------------------------------------------- */

struct bad_case {
    const char *name;
    const char *json;
    size_t len;
};

static const struct bad_case bad_cases[] = {
    { "empty", S("") },
    { "only_ws", S(" \n\t ") },
    { "nul_byte", S("\0") },
    { "vertical_tab_ws", S("\v1") },
    { "form_feed_ws", S("\f1") },
    { "bom", S("\xef\xbb\xbf[1]") },
    { "open_brace", S("{") },
    { "close_brace", S("}") },
    { "open_bracket", S("[") },
    { "close_bracket", S("]") },
    { "mismatch_array_brace", S("[}") },
    { "mismatch_object_bracket", S("{]") },
    { "mismatch_nested", S("[{]}") },
    { "unterminated_array", S("[1,2") },
    { "unterminated_object", S("{\"a\":1") },
    { "trailing_comma_object", S("{\"a\":1,}") },
    { "trailing_comma_array", S("[1,]") },
    { "trailing_comma_nested", S("{\"a\":[1,2,],\"b\":1}") },
    { "leading_comma", S("[,1]") },
    { "double_comma", S("[1,,2]") },
    { "only_comma_object", S("{,}") },
    { "missing_comma", S("[1 2]") },
    { "missing_comma_object", S("{\"a\":1 \"b\":2}") },
    { "unquoted_key", S("{a:1}") },
    { "single_quoted_key", S("{'a':1}") },
    { "single_quoted_string", S("['a']") },
    { "number_key", S("{1:2}") },
    { "missing_colon", S("{\"a\" 1}") },
    { "missing_value", S("{\"a\":}") },
    { "key_only", S("{\"a\"}") },
    { "unterminated_string", S("\"abc") },
    { "unterminated_after_escaped_quote", S("\"\\\"") },
    { "backslash_at_end", S("\"\\") },
    { "bad_escape_x", S("\"\\x41\"") },
    { "bad_escape_U", S("\"\\U0041\"") },
    { "bad_escape_apostrophe", S("\"\\'\"") },
    { "bad_escape_u_short", S("\"\\u12\"") },
    { "bad_escape_u_nonhex", S("\"\\u12G4\"") },
    { "bad_escape_u_truncated", S("\"\\u12") },
    { "bad_escape_after_high", S("\"\\ud800\\u12\"") },
    { "bad_escape_nul", S("\"\\\0\"") },
    { "control_char_01", S("\"a\x01" "b\"") },
    { "control_char_raw_newline", S("\"a\nb\"") },
    { "control_char_raw_tab", S("\"a\tb\"") },
    { "control_char_in_key", S("{\"a\x1f\":1}") },
    { "control_char_nul", S("\"a\0b\"") },
    { "leading_zero", S("01") },
    { "leading_zero_neg", S("-01") },
    { "double_zero", S("00") },
    { "leading_zero_in_array", S("[0,01]") },
    { "minus_only", S("-") },
    { "minus_space", S("- 1") },
    { "dot_no_frac", S("1.") },
    { "dot_no_int", S(".5") },
    { "dot_exp", S("1.e5") },
    { "exp_no_digits", S("1e") },
    { "exp_sign_no_digits", S("1e+") },
    { "plus_sign", S("+1") },
    { "hex_number", S("0x10") },
    { "minus_letter", S("-a") },
    { "nan", S("NaN") },
    { "infinity", S("Infinity") },
    { "minus_infinity", S("-Infinity") },
    { "literal_short_null", S("nul") },
    { "literal_short_true", S("tru") },
    { "literal_long_true", S("truex") },
    { "literal_long_null", S("nulll") },
    { "literal_caps", S("True") },
    { "trailing_value", S("1 2") },
    { "trailing_garbage_object", S("{}x") },
    { "trailing_bracket", S("[]]") },
    { "two_documents", S("{} {}") },
    { "comment_block", S("/* c */ 1") },
    { "comment_line", S("1 // c") },
    { "comment_after", S("[1]//") },
    { "trailing_nul", S("[1]\0") },
};

/* An invalid document is SK_EPARSE and, being small, writes nothing; as
 * an array element after a long string it is SK_EPARSE too. */
static void run_bad_case(void **state)
{
    const struct bad_case *c = *state;
    struct sk_buf mp;

    size_t plen;
    char *pin;

    sk_buf_init(&mp, BIG);
    assert_int_equal(to_mp(c->json, c->len, &mp), SK_EPARSE);
    assert_int_equal(mp.len, 0);
    pin = padded(c->json, c->len, &plen);
    assert_int_equal(to_mp(pin, plen, &mp), SK_EPARSE);
    free(pin);
    sk_buf_cleanup(&mp);
}

/* ---- single tests ----------------------------------------------------- */

/* Nested arrays `levels` deep around a 1, as JSON. */
static size_t nest_json(char *s, int levels)
{
    size_t n = 0;

    for (int i = 0; i < levels; i++) {
        s[n++] = (i % 2) ? '[' : '{';
        if (i % 2 == 0) {
            memcpy(s + n, "\"k\":", 4);
            n += 4;
        }
    }
    s[n++] = '1';
    for (int i = levels - 1; i >= 0; i--) {
        s[n++] = (i % 2) ? ']' : '}';
    }
    return n;
}

static void test_depth_limit(void **state)
{
    char s[SK_JSON_MAX_DEPTH * 8];
    struct sk_buf mp;
    msgpack_packer pk;

    (void)state;
    sk_buf_init(&mp, BIG);
    assert_int_equal(to_mp(s, nest_json(s, SK_JSON_MAX_DEPTH), &mp), 0);
    assert_int_equal(to_mp(s, nest_json(s, SK_JSON_MAX_DEPTH + 1), &mp), SK_EPARSE);
    msgpack_packer_init(&pk, &mp, sk_buf_msgpack_write);
    sk_buf_reset(&mp);
    assert_int_equal(sk_json_to_msgpack_depth(s, nest_json(s, 3), &pk, 3), 0);
    sk_buf_reset(&mp);
    assert_int_equal(sk_json_to_msgpack_depth(s, nest_json(s, 4), &pk, 3), SK_EPARSE);
    sk_buf_reset(&mp);
    assert_int_equal(sk_json_to_msgpack_depth(S("1"), &pk, 0), 0);
    assert_int_equal(sk_json_to_msgpack_depth(S("[]"), &pk, 0), SK_EPARSE);
    sk_buf_cleanup(&mp);
}

/*
 * Why sk_json_parse stops at SK_JSON_UNPACK_MAX_DEPTH: msgpack-c's own
 * unpacker gives up one level deeper. If this test fails, libmsgpackc was
 * built with another MSGPACK_EMBED_STACK_SIZE and the constant can move.
 */
static void test_parse_depth_matches_msgpack_c(void **state)
{
    char s[SK_JSON_MAX_DEPTH * 8];
    struct sk_buf scratch;
    struct sk_buf mp;
    msgpack_unpacked up;
    size_t off = 0;

    (void)state;
    sk_buf_init(&scratch, BIG);
    sk_buf_init(&mp, BIG);
    msgpack_unpacked_init(&up);
    assert_int_equal(sk_json_parse(s, nest_json(s, SK_JSON_UNPACK_MAX_DEPTH), &scratch, &up), 0);
    assert_int_equal(sk_json_parse(s, nest_json(s, SK_JSON_UNPACK_MAX_DEPTH + 1), &scratch, &up),
                     SK_EPARSE);
    assert_int_equal(to_mp(s, nest_json(s, SK_JSON_UNPACK_MAX_DEPTH + 1), &mp), 0);
    assert_int_equal(msgpack_unpack_next(&up, mp.data, mp.len, &off), MSGPACK_UNPACK_NOMEM_ERROR);
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    sk_buf_cleanup(&mp);
}

/* 15 and 16 elements: fixmap/fixarray, then map16/array16; 31/32-byte and
 * 255/256/65535/65536-byte strings: fixstr, str8, str16, str32. */
static void test_header_boundaries(void **state)
{
    static const struct {
        size_t count;
        unsigned char obj, arr;
    } counts[] = { { 15, 0x8f, 0x9f }, { 16, 0xde, 0xdc }, { 65535, 0xde, 0xdc }, { 65536, 0xdf, 0xdd } };
    static const struct {
        size_t len;
        unsigned char head;
        size_t hlen;
    } strs[] = { { 31, 0xbf, 1 }, { 32, 0xd9, 2 }, { 255, 0xd9, 2 }, { 256, 0xda, 3 },
                 { 65535, 0xda, 3 }, { 65536, 0xdb, 5 } };
    struct sk_buf js;
    struct sk_buf mp;

    (void)state;
    sk_buf_init(&js, BIG);
    sk_buf_init(&mp, BIG);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        for (int obj = 0; obj <= 1; obj++) {
            sk_buf_reset(&js);
            assert_int_equal(sk_buf_putc(&js, obj ? '{' : '['), 0);
            for (size_t k = 0; k < counts[i].count; k++) {
                assert_int_equal(obj ? sk_buf_printf(&js, "%s\"%zu\":%zu", k ? "," : "", k, k)
                                     : sk_buf_printf(&js, "%s%zu", k ? "," : "", k),
                                 0);
            }
            assert_int_equal(sk_buf_putc(&js, obj ? '}' : ']'), 0);
            assert_int_equal(to_mp(js.data, js.len, &mp), 0);
            assert_int_equal((unsigned char)mp.data[0], obj ? counts[i].obj : counts[i].arr);
            check_unpacks(&mp);
            round_trip(js.data, js.len, js.data, 0);
        }
    }
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        sk_buf_reset(&js);
        assert_int_equal(sk_buf_putc(&js, '"'), 0);
        for (size_t k = 0; k < strs[i].len; k++) {
            assert_int_equal(sk_buf_putc(&js, (char)('a' + k % 26)), 0);
        }
        assert_int_equal(sk_buf_putc(&js, '"'), 0);
        assert_int_equal(to_mp(js.data, js.len, &mp), 0);
        assert_int_equal((unsigned char)mp.data[0], strs[i].head);
        assert_int_equal(mp.len, strs[i].hlen + strs[i].len);
        check_unpacks(&mp);
    }
    sk_buf_cleanup(&js);
    sk_buf_cleanup(&mp);
}

/* Output well past the 4 KiB staging area: many tokens, a long string with
 * escapes (decoded in pieces) and a long one without. */
static void test_large_document(void **state)
{
    struct sk_buf js;
    struct sk_buf want;

    (void)state;
    sk_buf_init(&js, BIG);
    sk_buf_init(&want, BIG);
    assert_int_equal(sk_buf_append_str(&js, "{\"items\":["), 0);
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(sk_buf_printf(&js, "%s{\"i\":%d,\"s\":\"v%d\"}", i ? "," : "", i, i), 0);
    }
    assert_int_equal(sk_buf_append_str(&js, "],\"esc\":\""), 0);
    assert_int_equal(sk_buf_append_str(&want, js.data), 0);
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(sk_buf_append_str(&js, "ab\\n\\u00e9"), 0);
        assert_int_equal(sk_buf_append_str(&want, "ab\\n\xc3\xa9"), 0);
    }
    assert_int_equal(sk_buf_append_str(&js, "\",\"raw\":\""), 0);
    assert_int_equal(sk_buf_append_str(&want, "\",\"raw\":\""), 0);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(sk_buf_putc(&js, (char)('a' + i % 26)), 0);
        assert_int_equal(sk_buf_putc(&want, (char)('a' + i % 26)), 0);
    }
    assert_int_equal(sk_buf_append_str(&js, "\"}"), 0);
    assert_int_equal(sk_buf_append_str(&want, "\"}"), 0);
    round_trip(js.data, js.len, want.data, 0);
    sk_buf_cleanup(&js);
    sk_buf_cleanup(&want);
}

/* A parse error deep in a large document: SK_EPARSE, whatever was flushed. */
static void test_large_document_error(void **state)
{
    struct sk_buf js;
    struct sk_buf mp;

    (void)state;
    sk_buf_init(&js, BIG);
    sk_buf_init(&mp, BIG);
    assert_int_equal(sk_buf_putc(&js, '['), 0);
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(sk_buf_printf(&js, "\"%d\",", i), 0);
    }
    assert_int_equal(sk_buf_append_str(&js, "]"), 0);
    assert_int_equal(to_mp(js.data, js.len, &mp), SK_EPARSE);
    sk_buf_cleanup(&js);
    sk_buf_cleanup(&mp);
}

/* The exact fast path (Clinger) and strtod must agree on every number. */
static void test_float_fast_path_matches_strtod(void **state)
{
    struct sk_buf mp;
    char text[64];
    unsigned long long x = 88172645463325252ULL;

    (void)state;
    sk_buf_init(&mp, BIG);
    for (int i = 0; i < 20000; i++) {
        double d;
        uint64_t bits;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (i % 2 == 0) { /* up to 15 digits: mostly the fast path */
            snprintf(text, sizeof text, "%s%llu.%llue%d", (x & 1) ? "-" : "", (x >> 8) % 100000000ULL,
                     (x >> 20) % 10000000ULL, (int)((x >> 40) % 60) - 30);
        } else { /* 17 to 19 digits: past 2^53, exact only through strtod */
            snprintf(text, sizeof text, "%llu%07llu.%llue%d", 1 + (x >> 4) % 999999999999ULL,
                     (x >> 24) % 10000000ULL, (x >> 3) % 100ULL, (int)((x >> 50) % 20) - 10);
        }
        assert_int_equal(to_mp(text, strlen(text), &mp), 0);
        assert_int_equal((unsigned char)mp.data[0], 0xcb);
        bits = 0;
        for (int k = 1; k <= 8; k++) {
            bits = bits << 8 | (unsigned char)mp.data[k];
        }
        memcpy(&d, &bits, 8);
        if (d != strtod(text, NULL)) {
            fail_msg("%s: got %.17g, strtod %.17g", text, d, strtod(text, NULL));
        }
    }
    sk_buf_cleanup(&mp);
}

static int failing_write(void *data, const char *p, size_t n)
{
    (void)data;
    (void)p;
    (void)n;
    return 1;
}

static void test_callback_errors(void **state)
{
    msgpack_packer pk;
    struct sk_buf small;

    (void)state;
    msgpack_packer_init(&pk, NULL, failing_write);
    assert_int_equal(sk_json_to_msgpack(S("[1]"), &pk), SK_EIO);
    sk_buf_init(&small, 2);
    msgpack_packer_init(&pk, &small, sk_buf_msgpack_write);
    assert_int_equal(sk_json_to_msgpack(S("[1,2,3]"), &pk), SK_ETOOBIG);
    sk_buf_cleanup(&small);
}

static void test_parse_tree(void **state)
{
    static const char doc[] = "{\"took\":3,\"errors\":true,\"items\":[{\"index\":{\"status\":429,"
                              "\"error\":{\"type\":\"es_rejected_execution_exception\"}}}]}";
    struct sk_buf scratch;
    msgpack_unpacked up;
    const msgpack_object *o;

    (void)state;
    sk_buf_init(&scratch, BIG);
    msgpack_unpacked_init(&up);
    for (int round = 0; round < 2; round++) { /* reusing `up` frees the old tree */
        assert_int_equal(sk_json_parse(doc, sizeof doc - 1, &scratch, &up), 0);
        o = &up.data;
        assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
        assert_int_equal(o->via.map.size, 3);
        assert_int_equal(o->via.map.ptr[0].val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        assert_int_equal(o->via.map.ptr[0].val.via.u64, 3);
        assert_int_equal(o->via.map.ptr[1].val.type, MSGPACK_OBJECT_BOOLEAN);
        o = &o->via.map.ptr[2].val.via.array.ptr[0].via.map.ptr[0].val;
        assert_int_equal(o->via.map.ptr[0].val.via.u64, 429);
    }
    assert_int_equal(sk_json_parse(S("{\"a\":"), &scratch, &up), SK_EPARSE);
    assert_null(up.zone);
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);

    sk_buf_init(&scratch, 8);
    msgpack_unpacked_init(&up);
    assert_int_equal(sk_json_parse(doc, sizeof doc - 1, &scratch, &up), SK_ETOOBIG);
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
}

/* Step the failing allocation through sk_json_parse of a medium document
 * (scratch growth, and the heap copy of a number too long for the stack):
 * each step fails cleanly with SK_ENOMEM, then one succeeds. */
static void test_alloc_failure_stepping(void **state)
{
    struct sk_buf js;
    struct sk_buf scratch;
    msgpack_unpacked up;
    int rc = SK_ENOMEM;
    long n;

    (void)state;
    sk_buf_init(&js, BIG);
    assert_int_equal(sk_buf_append_str(&js, "{\"long\":0.1000000000000000055511151231257827021181583404541015625000000000000000000000,"
                                            "\"arr\":["), 0);
    for (int i = 0; i < 400; i++) {
        assert_int_equal(sk_buf_printf(&js, "%s{\"k%d\":\"v\\u00e9%d\",\"n\":%d.5}", i ? "," : "", i, i, i), 0);
    }
    assert_int_equal(sk_buf_append_str(&js, "]}"), 0);
    for (n = 1; rc == SK_ENOMEM && n < 1000; n++) {
        sk_buf_init(&scratch, BIG);
        msgpack_unpacked_init(&up);
        sk_alloc_fail_after(n, 0);
        rc = sk_json_parse(js.data, js.len, &scratch, &up);
        sk_alloc_fail_after(0, 0);
        if (rc == 0) {
            assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
            assert_int_equal(up.data.via.map.ptr[1].val.via.array.size, 400);
        } else {
            assert_int_equal(rc, SK_ENOMEM);
        }
        msgpack_unpacked_destroy(&up);
        sk_buf_cleanup(&scratch);
    }
    assert_int_equal(rc, 0);
    assert_true(n > 3);
    sk_buf_cleanup(&js);
}

/* ---- main ------------------------------------------------------------- */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_parse_depth_matches_msgpack_c),
        cmocka_unit_test(test_header_boundaries),
        cmocka_unit_test(test_large_document),
        cmocka_unit_test(test_large_document_error),
        cmocka_unit_test(test_float_fast_path_matches_strtod),
        cmocka_unit_test(test_callback_errors),
        cmocka_unit_test(test_parse_tree),
        cmocka_unit_test(test_alloc_failure_stepping),
    };
    size_t total = NELEM(fixed) + NELEM(rt_cases) + NELEM(mp_cases) + NELEM(bad_cases);
    struct CMUnitTest *t = calloc(total, sizeof *t);
    size_t n = 0;
    int failed;

    assert_non_null(t);
    for (size_t i = 0; i < NELEM(rt_cases); i++) {
        t[n++] = (struct CMUnitTest){ rt_cases[i].name, run_rt_case, NULL, NULL, (void *)&rt_cases[i] };
    }
    for (size_t i = 0; i < NELEM(mp_cases); i++) {
        t[n++] = (struct CMUnitTest){ mp_cases[i].name, run_mp_case, NULL, NULL, (void *)&mp_cases[i] };
    }
    for (size_t i = 0; i < NELEM(bad_cases); i++) {
        t[n++] = (struct CMUnitTest){ bad_cases[i].name, run_bad_case, NULL, NULL, (void *)&bad_cases[i] };
    }
    for (size_t i = 0; i < NELEM(fixed); i++) {
        t[n++] = fixed[i];
    }
    failed = _cmocka_run_group_tests("json_read", t, n, NULL, NULL);
    free(t);
    return failed;
}
