/* Tag patterns, checked against the rules Fluentd documents for <match>. */
#include "testutil.h"

#include "router/pattern.h"

struct pattern_case {
    const char *pattern;
    const char *tag;
    bool match;
};

static const struct pattern_case cases[] = {
    {"a", "a", true},
    {"a", "b", false},
    {"a", "a.b", false},
    {"a.*", "a.b", true},
    {"a.*", "a", false},
    {"a.*", "a.b.c", false},
    {"a.**", "a", true},
    {"a.**", "a.b", true},
    {"a.**", "a.b.c", true},
    {"a.**", "ab", false},
    {"a.**", "b.a", false},
    {"**", "anything.at.all", true},
    {"**", "", true},
    {"*", "one", true},
    {"*", "one.two", false},
    {"**.b", "b", true},
    {"**.b", "a.b", true},
    {"**.b", "x.y.b", true},
    {"**.b", "ab", false},
    {"a.*.c", "a.b.c", true},
    {"a.*.c", "a.b.x.c", false},
    {"a.**.c", "a.c", true},
    {"a.**.c", "a.b.x.c", true},
    {"{a,b}.c", "a.c", true},
    {"{a,b}.c", "b.c", true},
    {"{a,b}.c", "ab.c", false},
    {"a.{b,c.**}", "a.c.d.e", true},
    {"a.{b,c.**}", "a.b", true},
    {"a.{b,c.**}", "a.d", false},
    {"nginx.** app.*", "app.web", true},
    {"nginx.** app.*", "nginx.access", true},
    {"nginx.** app.*", "other", false},
    {"a+b.c", "a+b.c", true},
    {"a+b.c", "aab.c", false},
    {"kubernetes.var.log.containers.**", "kubernetes.var.log.containers.x_y-z.log", true},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_pattern p;

        assert_int_equal(sk_pattern_init(&p, cases[i].pattern), 0);
        if (sk_pattern_match(&p, cases[i].tag) != cases[i].match) {
            fail_msg("pattern '%s' tag '%s': expected %s", cases[i].pattern, cases[i].tag,
                     cases[i].match ? "match" : "no match");
        }
        sk_pattern_cleanup(&p);
    }
}

static void test_default_matches_everything(void **state)
{
    struct sk_pattern p;

    (void)state;
    assert_int_equal(sk_pattern_init(&p, NULL), 0);
    assert_true(sk_pattern_match(&p, "x.y"));
    sk_pattern_cleanup(&p);
}

static void test_unbalanced_brace_is_error(void **state)
{
    struct sk_pattern p;

    (void)state;
    assert_int_equal(sk_pattern_init(&p, "{a,b.c"), SK_EPARSE);
    assert_int_equal(sk_pattern_init(&p, "a}"), SK_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_default_matches_everything),
        cmocka_unit_test(test_unbalanced_brace_is_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
