/*
 * Small helpers shared by the benchmark tools (generator, sink, replay).
 * Standalone libc code: the bench tools must never link the skiff library,
 * so that a half-built tree still yields working baselines.
 */
#ifndef SK_BENCH_BENCH_UTIL_H
#define SK_BENCH_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Nanoseconds from CLOCK_MONOTONIC (intervals) and CLOCK_REALTIME (stamps
 * that cross process boundaries, e.g. line written -> document received). */
int64_t bench_mono_ns(void);
int64_t bench_real_ns(void);

/* Parses a decimal unsigned integer with an optional k/m/g suffix
 * (powers of 1024 when binary is nonzero, of 1000 otherwise).
 * Returns 0 and sets *out, or -1 if text is not a complete number. */
int bench_parse_u64(const char *text, int binary, uint64_t *out);

/* Parses "YYYY-MM-DD" as midnight UTC. Returns 0 or -1. */
int bench_parse_date(const char *text, int64_t *epoch_out);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back.
 * Pure arithmetic (no gmtime), so callers can format dates per line. */
int64_t bench_days_from_civil(int64_t y, unsigned m, unsigned d);
void bench_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);

/* Writes the decimal form of v at dst (no NUL) and returns its length.
 * dst needs 20 bytes. */
size_t bench_fmt_u64(char *dst, uint64_t v);

/* Writes v as exactly width digits, zero padded (v must fit). */
void bench_fmt_pad(char *dst, unsigned v, unsigned width);

/* Writes "<prefix>-YYYY.MM.DD" for the UTC day of epoch second t into dst
 * (cap bytes, NUL terminated). Returns the length, or 0 if it does not fit. */
size_t bench_index_name(char *dst, size_t cap, const char *prefix, int64_t t);

/* write(2) until all of buf is out or an error other than EINTR happens.
 * Returns 0 or -1 with errno set. */
int bench_write_all(int fd, const void *buf, size_t len);

/* Writes text to path atomically (temp file + rename), so a reader polling
 * for the file never sees it half written. Returns 0 or -1 with errno set. */
int bench_write_file_atomic(const char *path, const char *text, size_t len);

/* splitmix64: tiny, fast, good enough for log synthesis, and fully
 * determined by the seed so runs are repeatable. */
struct bench_rng {
    uint64_t state;
};

static inline uint64_t bench_rng_next(struct bench_rng *r)
{
    r->state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = r->state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform integer in [0, n); n > 0. The multiply-shift avoids a division. */
static inline uint32_t bench_rng_below(struct bench_rng *r, uint32_t n)
{
    return (uint32_t)(((bench_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

#endif
