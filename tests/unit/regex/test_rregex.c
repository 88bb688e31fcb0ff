/* Ruby group names PCRE2 refuses are renamed, and mapped back. */
#include "testutil.h"

#include <string.h>

#include "regex/rregex.h"

static void test_translate(void **state)
{
    static const struct {
        const char *in;
        const char *out;
        size_t renamed;
    } cases[] = {
        {"(?<a>x)", "(?<a>x)", 0},
        {"(?<log-level>[^ ]*) (?<message>.*)", "(?<_sk0>[^ ]*) (?<message>.*)", 1},
        {"\\(?<no>x)", "\\(?<no>x)", 0},
        {"(?<=look)(?<!no)", "(?<=look)(?<!no)", 0},
        {"(?<a.b>1)(?<c d>2)", "(?<_sk0>1)(?<_sk1>2)", 2},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_buf out;
        struct sk_rregex_names names = {0};

        sk_buf_init(&out, 4096);
        assert_int_equal(sk_rregex_translate(cases[i].in, strlen(cases[i].in), &out, &names), 0);
        assert_string_equal(out.data, cases[i].out);
        assert_int_equal(names.n, cases[i].renamed);
        if (names.n > 0) {
            assert_string_equal(sk_rregex_original(&names, "_sk0"),
                                i == 1 ? "log-level" : "a.b");
        }
        assert_string_equal(sk_rregex_original(&names, "message"), "message");
        sk_rregex_names_free(&names);
        sk_buf_cleanup(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
