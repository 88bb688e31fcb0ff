#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "out_elasticsearch/es_time.h"

/* 2018-07-21T10:00:00Z */
#define T_20180721_10 1532167200

struct iso_case {
    const char *name;
    int64_t sec;
    uint32_t nsec;
    int offset;
    int precision;
    const char *want;
};

static const struct iso_case iso_cases[] = {
    {"fluentd default precision 9, utc", T_20180721_10, 0, 0, 9,
     "2018-07-21T10:00:00.000000000+00:00"},
    {"nanoseconds kept", T_20180721_10, 123456789, 0, 9, "2018-07-21T10:00:00.123456789+00:00"},
    {"precision 3 truncates, never rounds", T_20180721_10, 999999999, 0, 3,
     "2018-07-21T10:00:00.999+00:00"},
    {"precision 0 has no fraction", T_20180721_10, 500000000, 0, 0, "2018-07-21T10:00:00+00:00"},
    {"positive offset shifts the wall clock", T_20180721_10, 0, 9 * 3600, 9,
     "2018-07-21T19:00:00.000000000+09:00"},
    {"negative half-hour offset", T_20180721_10, 0, -(3 * 3600 + 1800), 0,
     "2018-07-21T06:30:00-03:30"},
    {"offset crosses midnight", T_20180721_10 + 14 * 3600, 0, 9 * 3600, 0,
     "2018-07-22T09:00:00+09:00"},
    {"epoch", 0, 1, 0, 9, "1970-01-01T00:00:00.000000001+00:00"},
    {"before the epoch", -1, 0, 0, 0, "1969-12-31T23:59:59+00:00"},
    {"leap day", 951782400, 0, 0, 0, "2000-02-29T00:00:00+00:00"},
};

static void test_iso8601_table(void **state)
{
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(iso_cases) / sizeof(iso_cases[0]); i++) {
        const struct iso_case *c = &iso_cases[i];
        struct es_timeval tv = {{c->sec, c->nsec}, c->offset};
        int n = es_time_iso8601(&tv, c->precision, out, sizeof(out));

        if (n < 0 || strcmp(out, c->want) != 0 || (size_t)n != strlen(c->want)) {
            fail_msg("case '%s': got '%s' (%d), want '%s'", c->name, n < 0 ? "" : out, n, c->want);
        }
    }
}

static void test_iso8601_small_buffer(void **state)
{
    struct es_timeval tv = {{T_20180721_10, 0}, 0};
    char out[10];

    (void)state;
    assert_int_equal(es_time_iso8601(&tv, 9, out, sizeof(out)), SK_ETOOBIG);
}

struct parse_case {
    const char *name;
    const char *text;
    int rc;
    int64_t sec;
    uint32_t nsec;
    int offset;
};

static const struct parse_case parse_cases[] = {
    {"rfc3339 Z", "2018-07-21T10:00:00Z", 0, T_20180721_10, 0, 0},
    {"fraction and offset", "2018-07-21T19:00:00.5+09:00", 0, T_20180721_10, 500000000, 32400},
    {"compact offset", "2018-07-21 05:00:00 -0500", 0, T_20180721_10, 0, -18000},
    {"hour-only offset", "2018-07-21T19:00:00+09", 0, T_20180721_10, 0, 32400},
    {"no zone is UTC", "2018-07-21 10:00:00", 0, T_20180721_10, 0, 0},
    {"minutes only", "2018-07-21T10:00", 0, T_20180721_10, 0, 0},
    {"date only", "2018-07-21", 0, T_20180721_10 - 36000, 0, 0},
    {"slashes", "2018/07/21 10:00:00", 0, T_20180721_10, 0, 0},
    {"common log", "21/Jul/2018:19:00:00 +0900", 0, T_20180721_10, 0, 32400},
    {"UTC word", "2018-07-21T10:00:00 UTC", 0, T_20180721_10, 0, 0},
    {"surrounding blanks", "  2018-07-21T10:00:00Z ", 0, T_20180721_10, 0, 0},
    {"garbage", "yesterday", SK_EPARSE, 0, 0, 0},
    {"bad month", "2018-13-01", SK_EPARSE, 0, 0, 0},
    {"trailing junk", "2018-07-21T10:00:00Zulu", SK_EPARSE, 0, 0, 0},
    {"empty", "", SK_EPARSE, 0, 0, 0},
};

static void test_parse_any_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct es_timeval tv = {{0, 0}, 0};
        int rc = es_time_parse_any(c->text, strlen(c->text), &tv);

        if (rc != c->rc) {
            fail_msg("case '%s': rc %d, want %d", c->name, rc, c->rc);
        }
        if (rc == 0 && (tv.t.sec != c->sec || tv.t.nsec != c->nsec || tv.offset_sec != c->offset)) {
            fail_msg("case '%s': got %lld.%09u %+d", c->name, (long long)tv.t.sec, tv.t.nsec,
                     tv.offset_sec);
        }
    }
}

static void test_trailing_zone(void **state)
{
    static const struct {
        const char *text;
        bool found;
        int offset;
    } cases[] = {
        {"2018-07-21T10:00:00Z", true, 0},
        {"2018-07-21T10:00:00+09:00", true, 32400},
        {"2018-07-21T10:00:00-0530", true, -19800},
        {"2018-07-21T10:00:00 UTC", true, 0},
        {"2018-07-21T10:00:00", false, 0},
        {"10:00:09", false, 0},
    };
    int off;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        off = 12345;
        if (es_time_trailing_zone(cases[i].text, strlen(cases[i].text), &off) != cases[i].found ||
            (cases[i].found && off != cases[i].offset)) {
            fail_msg("'%s': found/offset mismatch (%d)", cases[i].text, off);
        }
    }
}

static void test_local_offset_follows_tz(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    es_time_zone_refresh();
    assert_int_equal(es_local_offset(T_20180721_10), 9 * 3600);
    setenv("TZ", "UTC", 1);
    es_time_zone_refresh();
    assert_int_equal(es_local_offset(T_20180721_10), 0);
    setenv("TZ", "America/New_York", 1);
    es_time_zone_refresh();
    assert_int_equal(es_local_offset(T_20180721_10), -4 * 3600); /* EDT */
    assert_int_equal(es_local_offset(1515000000), -5 * 3600);    /* EST, January */
    unsetenv("TZ");
    es_time_zone_refresh();
}

static void test_civil_roundtrip(void **state)
{
    (void)state;
    /* Every day from 1900 to 2100 maps to a valid, increasing date. */
    int64_t py = 0;
    int pm = 0;
    int pd = 0;

    for (int64_t d = -25567; d < 47482; d++) {
        int64_t y;
        int m;
        int dd;

        es_civil_from_days(d, &y, &m, &dd);
        assert_true(m >= 1 && m <= 12 && dd >= 1 && dd <= 31);
        if (d > -25567) {
            assert_true(y > py || (y == py && (m > pm || (m == pm && dd == pd + 1))));
        }
        py = y;
        pm = m;
        pd = dd;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso8601_table),
        cmocka_unit_test(test_iso8601_small_buffer),
        cmocka_unit_test(test_parse_any_table),
        cmocka_unit_test(test_trailing_zone),
        cmocka_unit_test(test_local_offset_follows_tz),
        cmocka_unit_test(test_civil_roundtrip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
