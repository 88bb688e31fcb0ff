/* in_tail encoding / from_encoding: conversion as Ruby's String#encode with
 * invalid: :replace and undef: :replace; no line is dropped for its bytes. */
#include "testutil.h"

#include <string.h>

#include "in_tail/tail_conv.h"

struct conv_case {
    const char *name;
    const char *to;
    const char *from;
    const char *in;
    size_t in_len;
    const char *want;
    size_t want_len;
};

#define S(lit) lit, sizeof(lit) - 1

static const struct conv_case cases[] = {
    {"sjis to utf-8", "UTF-8", "Shift_JIS", S("\x93\xfa\x96\x7b\x8c\xea ok"),
     S("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e ok")},
    {"invalid sjis byte becomes U+FFFD", "UTF-8", "Shift_JIS", S("a\xff" "b"),
     S("a\xef\xbf\xbd" "b")},
    {"euc-jp cut short at the end", "UTF-8", "EUC-JP", S("a\xa4"), S("a\xef\xbf\xbd")},
    {"Ruby's name Windows-31J", "UTF-8", "Windows-31J", S("\x87\x40"), S("\xe2\x91\xa0")},
    {"unmappable character is one '?'", "ISO-8859-1", "UTF-8", S("x\xe2\x82\xacy"), S("x?y")},
    {"invalid utf-8 to latin-1 is '?'", "ISO-8859-1", "UTF-8", S("a\xff" "b"), S("a?b")},
    {"latin-1 to utf-8", "UTF-8", "ISO-8859-1", S("caf\xe9"), S("caf\xc3\xa9")},
    {"utf-16le to utf-8", "UTF-8", "UTF-16LE", S("h\0i\0"), S("hi")},
    {"odd utf-16le byte is replaced", "UTF-8", "UTF-16LE", S("h\0i"), S("h\xef\xbf\xbd")},
    {"utf-16le replacement", "UTF-16LE", "UTF-8", S("a\xff"), S("a\0\xfd\xff")},
    {"stateful target ends in its initial state", "ISO-2022-JP", "UTF-8",
     S("\xe6\x97\xa5"), S("\x1b$BF|\x1b(B")},
    {"binary (ASCII-8BIT) source", "UTF-8", "ASCII-8BIT", S("a\x80"), S("a\xef\xbf\xbd")},
    {"empty line", "UTF-8", "Shift_JIS", S(""), S("")},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct conv_case *c = &cases[i];
        struct tail_conv *conv = NULL;
        const char *out;
        size_t out_len;

        print_message("case: %s\n", c->name);
        assert_int_equal(tail_conv_create(c->to, c->from, 4096, &conv), 0);
        assert_int_equal(tail_conv_line(conv, c->in, c->in_len, &out, &out_len), 0);
        assert_int_equal(out_len, c->want_len);
        assert_memory_equal(out, c->want, c->want_len);
        assert_int_equal(out[out_len], '\n'); /* for multiline blocks */
        tail_conv_destroy(conv);
    }
}

static void test_line_terminator(void **state)
{
    struct tail_conv *conv = NULL;
    const char *eol;
    size_t len;

    (void)state;
    assert_int_equal(tail_conv_create("UTF-8", "UTF-16LE", 4096, &conv), 0);
    eol = tail_conv_eol(conv, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(eol, "\n\0", 2);
    tail_conv_destroy(conv);
    /* "UTF-16" writes a byte-order mark first: not part of the terminator. */
    assert_int_equal(tail_conv_create("UTF-8", "UTF-16", 4096, &conv), 0);
    eol = tail_conv_eol(conv, &len);
    assert_int_equal(len, 2);
    tail_conv_destroy(conv);
    assert_int_equal(tail_conv_create("UTF-8", "EUC-JP", 4096, &conv), 0);
    eol = tail_conv_eol(conv, &len);
    assert_int_equal(len, 1);
    assert_int_equal(eol[0], '\n');
    tail_conv_destroy(conv);
}

static void test_names(void **state)
{
    struct tail_conv *conv = (struct tail_conv *)&conv;

    (void)state;
    assert_true(tail_conv_known("UTF-8"));
    assert_true(tail_conv_known("shift_jis"));
    assert_true(tail_conv_known("ASCII-8BIT"));
    assert_true(tail_conv_known("eucJP-ms"));
    assert_false(tail_conv_known("no-such-encoding"));
    assert_true(tail_conv_same("utf-8", "UTF-8"));
    assert_true(tail_conv_same("BINARY", "ASCII-8BIT"));
    assert_false(tail_conv_same("UTF-8", "EUC-JP"));
    assert_int_equal(tail_conv_create("UTF-8", "no-such-encoding", 4096, &conv), SK_EINVAL);
    assert_null(conv);
}

/* A line that cannot grow into the output buffer is an error, not a crash. */
static void test_too_long(void **state)
{
    struct tail_conv *conv = NULL;
    static char in[100];
    const char *out;
    size_t out_len;

    (void)state;
    memset(in, 0xff, sizeof(in));
    assert_int_equal(tail_conv_create("UTF-8", "Shift_JIS", 10, &conv), 0);
    assert_int_equal(tail_conv_line(conv, in, sizeof(in), &out, &out_len), SK_ETOOBIG);
    assert_int_equal(tail_conv_line(conv, "ok", 2, &out, &out_len), 0);
    assert_memory_equal(out, "ok", 2);
    tail_conv_destroy(conv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_line_terminator),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_too_long),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
