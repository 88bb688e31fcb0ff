/*
 * parser_apache_error (plugins/parser_apache_error/): Apache 2.2 and 2.4
 * error lines as Fluentd's ApacheErrorParser (a RegexpParser) reads them:
 * level, pid, client, message, with the time read by Time.parse in local
 * time (UTC here). The table's records and times were produced by Ruby
 * 3.1 running that expression and Time.parse on the same lines.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "../../parser/record_render.h"
#include "../../parser/parser_harness.h"

extern const struct sk_plugin sk_plugin_parser_apache_error;

struct record_case {
    const char *name;
    const char *line;
    const char *record;
    int64_t sec;
    uint32_t nsec;
};

/* Generated with Ruby (TZ=UTC). */
static const struct record_case cases[] = {
    {"documented 2.2",
     "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration",
     "{level=error|client=127.0.0.1|message=client denied by server configuration}", 971274772, 0},
    {"2.4 with pid and client",
     "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 1234:tid 140236] [client 203.0.113.9:52044] AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1",
     "{level=core:error|pid=1234:tid 140236|client=203.0.113.9:52044|message=AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1}", 971274772, 123456000},
    {"2.4 without client",
     "[Sun Mar 03 10:15:32.451931 2024] [mpm_event:notice] [pid 1:tid 140542] AH00489: Apache/2.4.58 (Unix) configured -- resuming normal operations",
     "{level=mpm_event:notice|pid=1:tid 140542|message=AH00489: Apache/2.4.58 (Unix) configured -- resuming normal operations}", 1709460932, 451931000},
    {"2.2 notice, no client",
     "[Mon Jan 01 00:00:01 2024] [notice] Apache/2.2.22 (Ubuntu) configured -- resuming normal operations",
     "{level=notice|message=Apache/2.2.22 (Ubuntu) configured -- resuming normal operations}", 1704067201, 0},
    {"php message with brackets",
     "[Tue Feb 06 09:01:02.000001 2024] [php:warn] [pid 77] [client 10.0.0.5:41234] PHP Warning:  Undefined variable $x in /var/www/a.php on line 3, referer: http://example.com/",
     "{level=php:warn|pid=77|client=10.0.0.5:41234|message=PHP Warning:  Undefined variable $x in /var/www/a.php on line 3, referer: http://example.com/}", 1707210062, 1000},
};

static void open_ae(struct ph *h, const char *body)
{
    if (ph_open(h, &sk_plugin_parser_apache_error, body) != 0) {
        ph_dump_diag(h);
        fail_msg("init failed");
    }
}

static void test_ruby_cases(void **state)
{
    struct ph h;

    (void)state;
    open_ae(&h, "");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ph_expect(&h, cases[i].line, cases[i].record, cases[i].sec, cases[i].nsec);
    }
    ph_close(&h);
}

static void test_refused(void **state)
{
    static const char *const lines[] = {
        "", "no brackets", "[Wed Oct 11 14:32:52 2000] error client denied", "[x] [error]",
        /* matches, but Time.parse finds no date: dropped */
        "[Wed someday] [error] x",
    };
    struct ph h;

    (void)state;
    open_ae(&h, "");
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        ph_refuse(&h, lines[i]);
    }
    ph_close(&h);
}

static void test_params(void **state)
{
    struct ph h;

    (void)state;
    /* a time_format replaces Time.parse; keep_time_key keeps the text */
    open_ae(&h, "time_format %b %d %H:%M:%S %Y\nkeep_time_key true\ntimezone +09:00");
    ph_expect(&h, cases[0].line,
              "{time=Oct 11 14:32:52 2000|level=error|client=127.0.0.1|"
              "message=client denied by server configuration}",
              cases[0].sec - 9 * 3600, 0);
    ph_close(&h);
    /* the expression can be replaced, as in Fluentd */
    open_ae(&h, "expression /^\\[(?<time>[^\\]]*)\\] (?<message>.*)$/\ntime_format %Y-%m-%d");
    ph_expect(&h, "[2024-01-02] hi", "{message=hi}", 1704153600, 0);
    ph_close(&h);
    /* utc without a time_format: Fluentd refuses (Time.parse takes no zone) */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_apache_error, "utc true"), SK_ECONFIG);
    ph_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ruby_cases),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_params),
    };

    setenv("TZ", "UTC", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
