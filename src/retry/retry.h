#ifndef SK_RETRY_RETRY_H
#define SK_RETRY_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Fluentd's retry schedule, as a pure function so tests can pin it down.
 *
 *   exponential_backoff: wait_n = retry_wait * base^(n-1), capped at
 *                        max_interval (0 = no cap)
 *   periodic:            wait_n = retry_wait
 *
 * With randomize, each wait is multiplied by a factor in [0.875, 1.125)
 * (Fluentd's width), drawn from the caller's seed so the schedule is
 * reproducible in tests.
 */
enum sk_retry_type {
    SK_RETRY_EXPONENTIAL,
    SK_RETRY_PERIODIC,
};

struct sk_retry_policy {
    enum sk_retry_type type;
    int64_t wait_ms;
    double base;
    int64_t max_interval_ms; /* 0: none */
    bool randomize;
    int64_t timeout_ms;      /* give up after this long since the first failure; 0: never */
    int64_t max_times;       /* give up after this many retries; 0: no limit */
    bool forever;            /* never give up (overrides timeout and max_times) */
};

/* Milliseconds to wait before retry number `attempt` (1 = first retry).
 * `seed` is advanced (xorshift) when randomize is on. */
int64_t sk_retry_wait_ms(const struct sk_retry_policy *p, unsigned int attempt, uint64_t *seed);

/* True when a chunk that first failed at `first_fail_ms` and has failed
 * `attempts` times must not be retried at `now_ms` any more. */
bool sk_retry_exhausted(const struct sk_retry_policy *p, unsigned int attempts,
                        int64_t first_fail_ms, int64_t now_ms);

#endif
