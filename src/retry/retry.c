#include "retry/retry.h"

#include <math.h>

static double next_unit(uint64_t *seed)
{
    uint64_t x = *seed ? *seed : 0x9e3779b97f4a7c15ull;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *seed = x;
    return (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
}

int64_t sk_retry_wait_ms(const struct sk_retry_policy *p, unsigned int attempt, uint64_t *seed)
{
    double wait = (double)p->wait_ms;

    if (p->type == SK_RETRY_EXPONENTIAL && attempt > 1) {
        wait *= pow(p->base, (double)(attempt - 1));
    }
    if (p->max_interval_ms > 0 && wait > (double)p->max_interval_ms) {
        wait = (double)p->max_interval_ms;
    }
    if (p->randomize) {
        wait *= 0.875 + next_unit(seed) * 0.25;
    }
    if (wait > 9.0e15) {
        wait = 9.0e15;
    }
    return (int64_t)wait;
}

bool sk_retry_exhausted(const struct sk_retry_policy *p, unsigned int attempts,
                        int64_t first_fail_ms, int64_t now_ms)
{
    if (p->forever) {
        return false;
    }
    if (p->max_times > 0 && (int64_t)attempts > p->max_times) {
        return true;
    }
    return p->timeout_ms > 0 && now_ms - first_fail_ms >= p->timeout_ms;
}
