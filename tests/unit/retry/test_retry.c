/* The retry schedule is a pure function: pin it down exactly. */
#include "testutil.h"

#include "retry/retry.h"

static void test_exponential_without_jitter(void **state)
{
    struct sk_retry_policy p = {SK_RETRY_EXPONENTIAL, 1000, 2.0, 0, false, 0, 0, false};
    static const int64_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000};
    uint64_t seed = 1;

    (void)state;
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(sk_retry_wait_ms(&p, i + 1, &seed), expected[i]);
    }
}

static void test_cap_and_periodic(void **state)
{
    struct sk_retry_policy p = {SK_RETRY_EXPONENTIAL, 1000, 2.0, 5000, false, 0, 0, false};
    uint64_t seed = 1;

    (void)state;
    assert_int_equal(sk_retry_wait_ms(&p, 3, &seed), 4000);
    assert_int_equal(sk_retry_wait_ms(&p, 4, &seed), 5000);
    assert_int_equal(sk_retry_wait_ms(&p, 40, &seed), 5000);
    p.type = SK_RETRY_PERIODIC;
    assert_int_equal(sk_retry_wait_ms(&p, 7, &seed), 1000);
}

static void test_jitter_is_seeded_and_bounded(void **state)
{
    struct sk_retry_policy p = {SK_RETRY_EXPONENTIAL, 1000, 2.0, 0, true, 0, 0, false};
    uint64_t a = 42;
    uint64_t b = 42;
    int distinct = 0;
    int64_t last = -1;

    (void)state;
    for (unsigned i = 1; i <= 200; i++) {
        int64_t wa = sk_retry_wait_ms(&p, 1, &a);
        int64_t wb = sk_retry_wait_ms(&p, 1, &b);

        assert_int_equal(wa, wb); /* same seed, same schedule */
        assert_true(wa >= 875 && wa < 1125);
        distinct += wa != last;
        last = wa;
    }
    assert_true(distinct > 100); /* it really varies */
}

static void test_exhausted(void **state)
{
    struct sk_retry_policy p = {SK_RETRY_EXPONENTIAL, 1000, 2.0, 0, false, 10000, 3, false};

    (void)state;
    assert_false(sk_retry_exhausted(&p, 3, 0, 5000));
    assert_true(sk_retry_exhausted(&p, 4, 0, 5000));
    assert_true(sk_retry_exhausted(&p, 1, 0, 10000));
    p.forever = true;
    assert_false(sk_retry_exhausted(&p, 100, 0, 1000000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponential_without_jitter),
        cmocka_unit_test(test_cap_and_periodic),
        cmocka_unit_test(test_jitter_is_seeded_and_bounded),
        cmocka_unit_test(test_exhausted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
