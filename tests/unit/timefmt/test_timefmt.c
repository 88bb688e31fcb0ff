/*
 * timefmt (src/timefmt/): calendar arithmetic against timegm, the nginx
 * fast path against the interpreter, the strptime gem's lenient reading
 * rules (what Fluentd accepts), zones (fixed, IANA with DST gaps and
 * overlaps resolved as Ruby does, local time against mktime), guessing
 * for unset formats, and strftime.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt/timefmt.h"
#include "timefmt/timefmt_int.h"

#define CLF "%d/%b/%Y:%H:%M:%S %z"

static struct sk_timefmt *make(const char *format, const char *zone)
{
    int err = 0;
    struct sk_timefmt *f = sk_timefmt_create(format, zone, &err);

    if (f == NULL) {
        fail_msg("create(%s, %s): %d", format ? format : "NULL", zone ? zone : "NULL", err);
    }
    return f;
}

/* Parses s exactly; fails unless it gives sec/nsec. */
static void parses(struct sk_timefmt *f, const char *s, int64_t sec, uint32_t nsec)
{
    struct sk_time t = {0, 0};
    int rc = sk_timefmt_parse(f, s, strlen(s), &t);

    if (rc != 0 || t.sec != sec || t.nsec != nsec) {
        fail_msg("\"%s\": rc %d sec %lld.%09u, want %lld.%09u", s, rc, (long long)t.sec, t.nsec,
                 (long long)sec, nsec);
    }
}

static void rejects(struct sk_timefmt *f, const char *s)
{
    struct sk_time t;

    if (sk_timefmt_parse(f, s, strlen(s), &t) != SK_EPARSE) {
        fail_msg("accepted \"%s\"", s);
    }
}

/* ------------------------------------------------------------------ */

static void test_civil(void **state)
{
    (void)state;
    assert_int_equal(sk_time_from_civil(1970, 1, 1, 0, 0, 0), 0);
    assert_int_equal(sk_time_from_civil(1900, 1, 1, 0, 0, 0), -2208988800LL);
    assert_int_equal(sk_time_from_civil(2100, 2, 28, 0, 0, 0), 4107456000LL);
    assert_int_equal(sk_time_from_civil(9999, 12, 31, 23, 59, 59), 253402300799LL);
    assert_int_equal(sk_time_from_civil(2015, 2, 31, 0, 0, 0), 1425340800LL); /* rolls over */
    for (int64_t d = -1000000; d <= 1000000; d += 7) {
        int y;
        int m;
        int dd;

        tf_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(tf_days_from_civil(y, m, dd), d);
    }
    srand(7);
    for (int i = 0; i < 100000; i++) {
        struct tm tm = {0};

        tm.tm_year = rand() % 400;
        tm.tm_mon = rand() % 12;
        tm.tm_mday = 1 + rand() % 28;
        tm.tm_hour = rand() % 24;
        tm.tm_min = rand() % 60;
        tm.tm_sec = rand() % 60;
        assert_int_equal(sk_time_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                            tm.tm_hour, tm.tm_min, tm.tm_sec),
                         (int64_t)timegm(&tm));
    }
}

static void test_offsets(void **state)
{
    static const struct {
        const char *text;
        int off;
    } good[] = {
        {"UTC", 0}, {"gmt", 0}, {"Z", 0}, {"+09:00", 32400}, {"-0500", -18000},
        {"+9", 32400}, {"+09", 32400}, {"-03:30", -12600}, {"+0000", 0},
    };
    static const char *const bad[] = {"", "Asia/Tokyo", "9", "+25:00", "+09:0", "+09:60", "+",
                                      "+0900x", "+123"};
    int off;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(sk_tz_parse_offset(good[i].text, &off), 0);
        assert_int_equal(off, good[i].off);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sk_tz_parse_offset(bad[i], &off) != SK_EINVAL) {
            fail_msg("accepted %s", bad[i]);
        }
    }
}

/* ------------------------------------------------------------------ */

static void test_clf(void **state)
{
    struct sk_timefmt *f = make(CLF, NULL);
    struct sk_timefmt *g = make("%d/%b/%Y:%H:%M:%S  %z", NULL); /* interpreter only */

    (void)state;
    parses(f, "10/Oct/2000:13:55:36 -0700", 971211336, 0);
    parses(f, "30/Aug/2015:12:36:00 +0000", 1440938160, 0);
    parses(f, "30/Aug/2015:21:36:00 +0900", 1440938160, 0);
    /* the strptime gem's leniency, which Fluentd inherits */
    parses(f, "1/aug/2015:1:2:3 +0000", 1438390923, 0);
    parses(f, "30/August/2015:12:36:00 +0000", 1440938160, 0);
    parses(f, "30/AUG/2015:12:36:00 +00:00", 1440938160, 0);
    parses(f, "30/Aug/2015:12:36:00+0000", 1440938160, 0);
    parses(f, "30/Aug/2015:12:36:00   +0000", 1440938160, 0);
    parses(f, "30/Aug/2015:12:36:00 +9", 1440938160 - 9 * 3600, 0);
    parses(f, "30/Aug/2015:12:36:00 Z", 1440938160, 0);
    parses(f, "30/Aug/2015:12:36:60 +0000", 1440938220, 0);
    parses(f, "31/Feb/2015:00:00:00 +0000", 1425340800, 0);
    rejects(f, "30/Aug/2015:24:00:00 +0000");
    rejects(f, "32/Aug/2015:12:36:00 +0000");
    rejects(f, "30/Aug/2015:12:60:00 +0000");
    rejects(f, "30/Aug/2015:12:36:61 +0000");
    rejects(f, "30/Foo/2015:12:36:00 +0000");
    rejects(f, "30/Aug/2015:12:36:00 UTC");
    rejects(f, "30/Aug/2015:12:36:00");
    rejects(f, "");
    rejects(f, "30/Aug/2015:12:36:00 +0000 ");
    /* fast path and interpreter agree on every second of a sample */
    srand(11);
    for (int i = 0; i < 200000; i++) {
        struct sk_time a;
        struct sk_time b;
        struct sk_time t = {(int64_t)rand() * 3 - 1000000000LL, 0};
        char s[64];
        int off = (rand() % 53 - 26) * 1800;
        int n = sk_timefmt_format("%d/%b/%Y:%H:%M:%S ", (struct sk_time){t.sec + off, 0}, true, s,
                                  sizeof(s));

        assert_true(n > 0);
        snprintf(s + n, sizeof(s) - (size_t)n, "%c%02d%02d", off < 0 ? '-' : '+',
                 abs(off) / 3600, abs(off) / 60 % 60);
        assert_int_equal(sk_timefmt_parse(f, s, strlen(s), &a), 0);
        assert_int_equal(sk_timefmt_parse(g, s, strlen(s), &b), 0);
        assert_int_equal(a.sec, t.sec);
        assert_int_equal(b.sec, t.sec);
    }
    sk_timefmt_destroy(f);
    sk_timefmt_destroy(g);
}

/* Random edits of s: digits, separators, blanks, cuts. */
static void mutate(char *s, size_t *n, size_t cap)
{
    static const char pool[] = "0123456789 +-:.TZz\t/9";
    size_t pos = (size_t)rand() % (*n + 1);

    switch (rand() % 4) {
    case 0:
        if (pos < *n) {
            s[pos] = pool[rand() % (int)(sizeof(pool) - 1)];
        }
        break;
    case 1:
        if (*n + 1 < cap) {
            memmove(s + pos + 1, s + pos, *n - pos);
            s[pos] = pool[rand() % (int)(sizeof(pool) - 1)];
            (*n)++;
        }
        break;
    case 2:
        if (pos < *n) {
            memmove(s + pos, s + pos + 1, *n - pos - 1);
            (*n)--;
        }
        break;
    default:
        *n = pos;
        break;
    }
    s[*n] = '\0';
}

/* Fast paths against the interpreter on the same text: same answer, same
 * length consumed, same instant. */
static void test_fast_paths_agree(void **state)
{
    static const char *const formats[] = {
        CLF,
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S.%N%z",
        "%Y-%m-%dT%H:%M:%S.%L %z",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S.%3N",
        "%Y/%m/%d %H:%M:%S %z",
        "%FT%T%z",
    };

    (void)state;
    srand(5);
    for (size_t k = 0; k < sizeof(formats) / sizeof(formats[0]); k++) {
        struct sk_timefmt *fast = make(formats[k], "+02:00");
        struct sk_timefmt *slow = make(formats[k], "+02:00");

        assert_int_not_equal(fast->mode, TF_MODE_GENERIC);
        slow->mode = TF_MODE_GENERIC;
        for (int i = 0; i < 100000; i++) {
            struct sk_time t = {(int64_t)rand() * 2 - 500000000LL, (uint32_t)(rand() % 1000000000)};
            struct sk_time a = {0, 0};
            struct sk_time b = {0, 0};
            size_t ua = 0;
            size_t ub = 0;
            char s[96];
            /* text in the format itself (strftime spells %z "+0000") */
            const char *out = k == 0 ? "%d/%b/%Y:%H:%M:%S +0000"
                              : strcmp(formats[k], "%FT%T%z") == 0 ? "%Y-%m-%dT%H:%M:%S%:z"
                                                                   : formats[k];
            int n = sk_timefmt_format(out, t, true, s, sizeof(s));
            size_t len;
            int ra;
            int rb;

            assert_true(n > 0);
            len = (size_t)n;
            for (int e = rand() % 3; e > 0; e--) {
                mutate(s, &len, sizeof(s));
            }
            ra = sk_timefmt_parse_prefix(fast, s, len, &a, &ua);
            rb = sk_timefmt_parse_prefix(slow, s, len, &b, &ub);
            if (ra != rb || (ra == 0 && (ua != ub || a.sec != b.sec || a.nsec != b.nsec))) {
                fail_msg("%s on \"%s\": fast rc %d used %zu %lld.%09u, interpreter rc %d used %zu "
                         "%lld.%09u", formats[k], s, ra, ua, (long long)a.sec, a.nsec, rb, ub,
                         (long long)b.sec, b.nsec);
            }
        }
        sk_timefmt_destroy(fast);
        sk_timefmt_destroy(slow);
    }
}

static void test_prefix(void **state)
{
    struct sk_timefmt *f = make("%Y-%m-%d %H:%M:%S", "UTC");
    struct sk_time t;
    size_t used = 0;
    const char *s = "2020-05-11 01:23:45 [ERROR] invalid argument";

    (void)state;
    rejects(f, s);
    assert_int_equal(sk_timefmt_parse_prefix(f, s, strlen(s), &t, &used), 0);
    assert_int_equal(used, 19);
    assert_int_equal(t.sec, 1589160225);
    assert_int_equal(sk_timefmt_parse_prefix(f, s, 10, &t, NULL), SK_EPARSE);
    sk_timefmt_destroy(f);
}

static void test_directives(void **state)
{
    struct sk_timefmt *f;

    (void)state;
    f = make("%Y-%m-%dT%H:%M:%S%z", NULL);
    parses(f, "2024-05-01T12:00:00+09:00", 1714532400, 0);
    parses(f, "2024-05-01T03:00:00Z", 1714532400, 0);
    sk_timefmt_destroy(f);

    f = make("%Y-%m-%dT%H:%M:%S.%N%z", NULL);
    parses(f, "2024-05-01T03:00:00.123Z", 1714532400, 123000000);
    parses(f, "2024-05-01T03:00:00.123456789+00:00", 1714532400, 123456789);
    parses(f, "2024-05-01T03:00:00.1234567891Z", 1714532400, 123456789);
    rejects(f, "2024-05-01T03:00:00.Z");
    sk_timefmt_destroy(f);

    f = make("%Y-%m-%d %H:%M:%S.%L", "UTC");
    parses(f, "2024-05-01 03:00:00.5", 1714532400, 500000000);
    sk_timefmt_destroy(f);

    f = make("%H:%M:%S.%3N|", "UTC");
    rejects(f, "03:00:00.1234|");
    sk_timefmt_destroy(f);

    f = make("%s", NULL);
    parses(f, "1714532400", 1714532400, 0);
    parses(f, "-5", -5, 0);
    sk_timefmt_destroy(f);

    f = make("%a, %e %b %y %I:%M:%S %p %Z", NULL);
    parses(f, "Wed,  1 May 24 03:00:00 am GMT", 1714532400, 0);
    parses(f, "wednesday, 1 may 24 12:00:00 PM EST", 1714532400 + 14 * 3600, 0);
    sk_timefmt_destroy(f);

    f = make("%Y %j %T", "+01:00");
    parses(f, "2024 100 01:00:00", 1712620800, 0);
    sk_timefmt_destroy(f);

    f = make("%F %R %%", "-02:00");
    parses(f, "2024-05-01 01:00 %", 1714532400, 0);
    sk_timefmt_destroy(f);
}

static void test_missing_year(void **state)
{
    struct sk_timefmt *f = make("%b %d %H:%M:%S", "UTC");
    struct sk_time t;
    int y;
    int m;
    int d;
    int ny;

    (void)state;
    assert_int_equal(sk_timefmt_parse(f, "Jan  2 03:04:05", 15, &t), 0);
    tf_civil_from_days(t.sec / 86400, &y, &m, &d);
    tf_civil_from_days(sk_time_now().sec / 86400, &ny, &m, &d);
    assert_int_equal(y, ny);
    assert_int_equal(t.sec % 86400, 3 * 3600 + 4 * 60 + 5);
    sk_timefmt_destroy(f);
}

static void test_bad_formats(void **state)
{
    static const char *const formats[] = {"%Q", "%", "%5d", "%10N", "abc %E"};
    int err;

    (void)state;
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        err = 0;
        assert_null(sk_timefmt_create(formats[i], "UTC", &err));
        assert_int_equal(err, SK_EINVAL);
    }
    err = 0;
    assert_null(sk_timefmt_create("%Y", "Mars/Olympus", &err));
    assert_int_equal(err, SK_EINVAL);
    assert_null(sk_timefmt_create("%Y", "../../etc/passwd", &err));
    assert_null(sk_timefmt_create("%Y", "EST5EDT,M3.2.0,M11.1.0", &err));
}

/* ------------------------------------------------------------------ */

static void test_iana_zones(void **state)
{
    const char *tz_before = getenv("TZ");
    struct sk_timefmt *ny = make("%Y-%m-%d %H:%M:%S", "America/New_York");
    struct sk_timefmt *tokyo = make("%Y-%m-%d %H:%M:%S", "Asia/Tokyo");
    struct sk_timefmt *london = make("%Y-%m-%d %H:%M:%S", "Europe/London");
    struct sk_timefmt *z = make("%Y-%m-%d %H:%M:%S%z", "Asia/Tokyo");

    (void)state;
    parses(ny, "2023-07-01 12:00:00", 1688227200, 0);
    parses(ny, "2023-01-15 12:00:00", 1673802000, 0);
    parses(ny, "2023-03-12 02:30:00", 1678606200, 0); /* gap: read with EST, as Ruby */
    parses(ny, "2023-11-05 01:30:00", 1699162200, 0); /* overlap: the earlier (EDT) */
    parses(ny, "2023-11-05 02:30:00", 1699162200 + 2 * 3600, 0);
    parses(tokyo, "2024-05-01 12:00:00", 1714532400, 0);
    parses(london, "2024-07-01 12:00:00", 1719831600, 0);
    parses(z, "2024-05-01 12:00:00+0000", 1714564800, 0); /* %z wins */
    sk_timefmt_destroy(ny);
    sk_timefmt_destroy(tokyo);
    sk_timefmt_destroy(london);
    sk_timefmt_destroy(z);
    /* sampling switched TZ and put it back */
    if (tz_before == NULL) {
        assert_null(getenv("TZ"));
    } else {
        assert_string_equal(getenv("TZ"), tz_before);
    }
}

/* Local time: the table built from the process's zone agrees with mktime
 * wherever the wall time is unambiguous. */
static void test_local_zone(void **state)
{
    struct sk_timefmt *f;
    char s[64];

    (void)state;
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    f = make("%Y-%m-%d %H:%M:%S", NULL);
    srand(3);
    for (int i = 0; i < 20000; i++) {
        struct tm tm = {0};
        struct tm back;
        struct sk_time t;
        time_t want;

        tm.tm_year = 70 + rand() % 100;
        tm.tm_mon = rand() % 12;
        tm.tm_mday = 1 + rand() % 28;
        tm.tm_hour = rand() % 24;
        tm.tm_min = rand() % 60;
        tm.tm_isdst = -1;
        want = mktime(&tm);
        localtime_r(&want, &back);
        if (back.tm_hour != tm.tm_hour) {
            continue; /* skipped by a DST change */
        }
        strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm);
        assert_int_equal(sk_timefmt_parse(f, s, strlen(s), &t), 0);
        if (t.sec != (int64_t)want) {
            /* only an autumn overlap may differ: Ruby takes the earlier */
            assert_int_equal(t.sec, (int64_t)want - 3600);
        }
    }
    parses(f, "2024-07-01 12:00:00", 1719831600 - 3600, 0);
    sk_timefmt_destroy(f);
    unsetenv("TZ");
    tzset();
}

static void test_guess(void **state)
{
    struct sk_timefmt *f = make(NULL, "UTC");
    struct sk_timefmt *iso = make("%iso8601", "UTC");

    (void)state;
    parses(f, "2024-05-01T03:00:00Z", 1714532400, 0);
    parses(f, "2024-05-01T12:00:00.25+09:00", 1714532400, 250000000);
    parses(f, "2024-05-01 03:00:00", 1714532400, 0);
    parses(f, "2024-05-01 12:00:00 +0900", 1714532400, 0);
    parses(f, "2024-05-01 03:00:00 UTC", 1714532400, 0);
    parses(f, "01/May/2024:12:00:00 +0900", 1714532400, 0);
    parses(f, "Wed, 01 May 2024 03:00:00 GMT", 1714532400, 0);
    parses(f, "Wed May  1 03:00:00 2024", 1714532400, 0);
    parses(f, "2024/05/01 03:00:00", 1714532400, 0);
    parses(f, "2024-05-01", 1714521600, 0);
    parses(f, " 2024-05-01T03:00:00Z ", 1714532400, 0);
    rejects(f, "yesterday");
    rejects(f, "1714532400");
    parses(iso, "2024-05-01T03:00:00Z", 1714532400, 0);
    parses(iso, "2024-05-01T12:00:00.5+09:00", 1714532400, 500000000);
    parses(iso, "2024-05-01", 1714521600, 0);
    rejects(iso, "2024-05-01 03:00:00");
    rejects(iso, "2024-05-01T03:00:00Zx");
    sk_timefmt_destroy(f);
    sk_timefmt_destroy(iso);
}

/* ------------------------------------------------------------------ */

static void formats(const char *fmt, struct sk_time t, const char *want)
{
    char out[128];
    int n = sk_timefmt_format(fmt, t, true, out, sizeof(out));

    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
}

static void test_format(void **state)
{
    struct sk_time t = {1440938160, 123456789};
    char out[16];

    (void)state;
    formats("%Y-%m-%dT%H:%M:%S.%L%z", t, "2015-08-30T12:36:00.123+0000");
    formats("%Y.%m.%d", t, "2015.08.30");
    formats("%N %3N %6N %9N", t, "123456789 123 123456 123456789");
    formats("%a %A %b %B %j %e %-d %^a %:z %Z %s %%", t,
            "Sun Sunday Aug August 242 30 30 SUN +00:00 UTC 1440938160 %");
    formats("%F %T %D %R %y %C %I %l %p %P %u %w %k", t,
            "2015-08-30 12:36:00 08/30/15 12:36 15 20 12 12 PM pm 7 0 12");
    formats("%d/%b/%Y:%H:%M:%S %z", (struct sk_time){-1, 0}, "31/Dec/1969:23:59:59 +0000");
    assert_int_equal(sk_timefmt_format("%Y-%m-%dT%H:%M:%S", t, true, out, sizeof(out)),
                     SK_ETOOBIG);
    assert_int_equal(sk_timefmt_format("%Q", t, true, out, sizeof(out)), SK_EINVAL);
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    {
        char local[64];

        assert_true(sk_timefmt_format("%H:%M %z %Z", t, false, local, sizeof(local)) > 0);
        assert_string_equal(local, "21:36 +0900 JST");
    }
    unsetenv("TZ");
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_clf),
        cmocka_unit_test(test_fast_paths_agree),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_missing_year),
        cmocka_unit_test(test_bad_formats),
        cmocka_unit_test(test_iana_zones),
        cmocka_unit_test(test_local_zone),
        cmocka_unit_test(test_guess),
        cmocka_unit_test(test_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
