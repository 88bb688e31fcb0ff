#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "../filter_harness.h"

/*
 * Cases from Fluentd's test_filter_grep.rb (same records, same configs,
 * same surviving records) plus skiff's own for Ruby regexp details, record
 * accessors and to_s. `keep` lists the indexes of the records that pass.
 */
struct grep_case {
    const char *name;
    const char *body;
    const char *keep; /* e.g. "0,2" */
};

#define REGEXP(k, p) "<regexp>\n key " k "\n pattern " p "\n</regexp>\n"
#define EXCLUDE(k, p) "<exclude>\n key " k "\n pattern " p "\n</exclude>\n"

static const char *const combo_records[] = {
    "{\"time\":\"2013/01/13T07:02:11.124202\",\"level\":\"INFO\",\"method\":\"GET\",\"path\":\"/ping\"}",
    "{\"time\":\"2013/01/13T07:02:13.232645\",\"level\":\"WARN\",\"method\":\"POST\",\"path\":\"/auth\"}",
    "{\"time\":\"2013/01/13T07:02:21.542145\",\"level\":\"WARN\",\"method\":\"GET\",\"path\":\"/favicon.ico\"}",
    "{\"time\":\"2013/01/13T07:02:43.632145\",\"level\":\"WARN\",\"method\":\"POST\",\"path\":\"/login\"}",
    "{\"time\":\"2013/01/13T07:02:44.959307\",\"level\":\"ERROR\",\"method\":\"POST\",\"path\":\"/login\"}",
    "{\"time\":\"2013/01/13T07:02:45.444992\",\"level\":\"ERROR\",\"method\":\"GET\",\"path\":\"/ping\"}",
    "{\"time\":\"2013/01/13T07:02:51.247941\",\"level\":\"WARN\",\"method\":\"GET\",\"path\":\"/info\"}",
    "{\"time\":\"2013/01/13T07:02:53.108366\",\"level\":\"WARN\",\"method\":\"POST\",\"path\":\"/ban\"}",
};

#define AND_RE "<and>\n" REGEXP("level", "^ERROR|WARN$") REGEXP("method", "^GET|POST$") "</and>\n"
#define OR_RE "<or>\n" REGEXP("level", "^ERROR|WARN$") REGEXP("method", "^GET|POST$") "</or>\n"
#define AND_EX "<and>\n" EXCLUDE("level", "^WARN$") EXCLUDE("method", "^GET$") "</and>\n"
#define OR_EX "<or>\n" EXCLUDE("level", "^WARN$") EXCLUDE("method", "^GET$") "</or>\n"

static const struct grep_case combo_cases[] = {
    {"empty config", "", "0,1,2,3,4,5,6,7"},
    {"basic and/regexp", "<and>\n" REGEXP("level", "^INFO$") REGEXP("method", "^GET$") "</and>\n",
     "0"},
    {"basic or/exclude", "<or>\n" EXCLUDE("level", "^INFO$") EXCLUDE("method", "^GET$") "</or>\n",
     "1,3,4,7"},
    {"basic or/regexp", "<or>\n" REGEXP("level", "^INFO$") REGEXP("method", "^GET$") "</or>\n",
     "0,2,5,6"},
    {"basic and/exclude", "<and>\n" EXCLUDE("level", "^INFO$") EXCLUDE("method", "^GET$") "</and>\n",
     "1,2,3,4,5,6,7"},
    {"and/regexp, or/exclude", AND_RE OR_EX, "4"},
    {"and/regexp, and/exclude", AND_RE AND_EX, "1,3,4,5,7"},
    {"or/regexp, and/exclude", OR_RE AND_EX, "0,1,3,4,5,7"},
    {"or/regexp, or/exclude", OR_RE OR_EX, "4"},
    {"regexp, and/regexp", AND_RE REGEXP("path", "^/login$"), "3,4"},
    {"regexp, or/exclude", REGEXP("level", "^ERROR|WARN$") REGEXP("method", "^GET|POST$") OR_EX,
     "4"},
    {"regexp, and/exclude",
     REGEXP("level", "^ERROR|WARN$") REGEXP("method", "^GET|POST$") AND_EX, "1,3,4,5,7"},
    {"regexpN (deprecated)", "regexp1 level WARN\n", "1,2,3,6,7"},
    {"excludeN (deprecated)", "exclude1 path favicon\n", "0,1,3,4,5,6,7"},
    {"regexpN with excludeN", "regexp1 method POST\nexclude1 level ^ERROR$\n", "1,3,7"},
    {"pattern in slashes with i", REGEXP("level", "/^warn$/i"), "1,2,3,6,7"},
    {"bare pattern is case sensitive", REGEXP("level", "^warn$"), ""},
    {"regexpN keeps slashes literally", "regexp1 path /login/\n", ""},
    {"top-level excludes are or", EXCLUDE("level", "WARN") EXCLUDE("path", "ping"), "4"},
};

static const char *const misc_records[] = {
    "{\"m\":\"hello world\",\"n\":500,\"f\":1.5,\"h\":{\"k\":\"deep\",\"l\":[\"x\",\"y\"]},"
    "\"b\":true,\"z\":null,\"s\":\"a\\nb\",\"hex\":\"deadBEEF\"}",
    "{\"m\":\"bye\",\"n\":404,\"h\":{\"k\":\"shallow\"},\"s\":\"ab\",\"hex\":\"xyz\"}",
    "{\"m\":\"\\u00e9t\\u00e9\",\"h\":\"not a hash\",\"s\":\"a\\n\",\"hex\":\"\"}",
};

static const struct grep_case misc_cases[] = {
    {"integer to_s", REGEXP("n", "^5\\d\\d$"), "0"},
    {"float to_s", REGEXP("f", "^1\\.5$"), "0"},
    {"true to_s", REGEXP("b", "^true$"), "0"},
    {"missing key is the empty string", REGEXP("n", "^$"), "2"},
    {"nil is the empty string", EXCLUDE("z", "."), "0,1,2"},
    {"hash to_s is inspect", REGEXP("h", "^\\{\"k\"=>\"deep\", \"l\"=>\\[\"x\", \"y\"\\]\\}$"), "0"},
    {"nested key in dot notation", REGEXP("$.h.k", "^deep$"), "0,2"},
    {"nested key in bracket notation", REGEXP("$['h'][\"k\"]", "low"), "1,2"},
    {"array index", REGEXP("$.h.l[1]", "^y$"), "0,2"},
    {"negative array index", REGEXP("$.h.l[-2]", "^x$"), "0,2"},
    /* Ruby raises TypeError digging into a string: Fluentd logs and keeps the event. */
    {"digging into a string keeps the event", REGEXP("$.h.k", "^deep$"), "0,2"},
    {"^ and $ match at lines", REGEXP("s", "^b$"), "0"},
    {"dot does not match a newline", REGEXP("s", "a.b"), ""},
    {"m lets dot match a newline", REGEXP("s", "/a.b/m"), "0"},
    {"inline (?m) is Ruby's", REGEXP("s", "(?m)a.b"), "0"},
    {"\\z is the very end", REGEXP("s", "a\\z"), ""},
    {"\\Z allows a final newline", REGEXP("s", "a\\Z"), "2"},
    {"\\h is a hex digit", REGEXP("hex", "^\\h+$"), "0"},
    /* Bytes, as Ruby matches in_tail's ASCII-8BIT strings: "\u00e9" is two. */
    {"multibyte characters are bytes", REGEXP("m", "^..t..$"), "2"},
    {"regexpN pattern may start with spaces", "regexp1 m  world\n", "0"},
};

/* Parses "0,2" into flags. */
static void want_flags(const char *keep, bool *want, size_t n)
{
    memset(want, 0, n * sizeof(*want));
    for (const char *p = keep; *p != '\0';) {
        char *end;
        long i = strtol(p, &end, 10);

        assert_true(end != p && i >= 0 && (size_t)i < n);
        want[i] = true;
        p = *end == ',' ? end + 1 : end;
    }
}

static void run_cases(const struct grep_case *cases, size_t ncases, const char *const *records,
                      size_t nrec)
{
    for (size_t i = 0; i < ncases; i++) {
        const struct grep_case *c = &cases[i];
        bool want[16];
        char expected[4096] = "";
        char *got;
        struct fh h;

        if (fh_open(&h, "grep", c->body) != 0) {
            fh_dump_diag(&h);
            fail_msg("case '%s': configuration refused", c->name);
        }
        want_flags(c->keep, want, nrec);
        for (size_t r = 0; r < nrec; r++) {
            if (want[r]) {
                char *one = fh_unfiltered(records[r]);

                strncat(expected, one, sizeof(expected) - strlen(expected) - 1);
                free(one);
            }
        }
        got = fh_run_n(&h, "filter.test", records, nrec, NULL);
        if (strcmp(got, expected) != 0) {
            fail_msg("case '%s':\n got: %s\nwant: %s", c->name, got, expected);
        }
        free(got);
        fh_close(&h);
    }
}

static void test_and_or(void **state)
{
    (void)state;
    run_cases(combo_cases, sizeof(combo_cases) / sizeof(combo_cases[0]), combo_records,
              sizeof(combo_records) / sizeof(combo_records[0]));
}

static void test_values(void **state)
{
    (void)state;
    run_cases(misc_cases, sizeof(misc_cases) / sizeof(misc_cases[0]), misc_records,
              sizeof(misc_records) / sizeof(misc_records[0]));
}

/* Kept events are the incoming bytes, whatever their time encoding. */
static void test_bytes_unchanged(void **state)
{
    struct fh h;
    struct sk_evbuf in;
    struct sk_evbuf out;
    struct sk_events ev;
    /* [1500000000 (int), {"a":"x"}] then [EventTime, {"a":"y"}] */
    static const char raw[] = "\x92\xce\x59\x68\x2f\x00\x81\xa1\x61\xa1\x78"
                              "\x92\xd7\x00\x59\x68\x2f\x00\x00\x00\x00\x07\x81\xa1\x61\xa1\x79";

    (void)state;
    assert_int_equal(fh_open(&h, "grep", REGEXP("a", "x")), 0);
    sk_evbuf_init(&in, 1024);
    sk_evbuf_init(&out, 1024);
    assert_int_equal(sk_buf_append(&in.buf, raw, sizeof(raw) - 1), 0);
    ev = (struct sk_events){"t", in.buf.data, in.buf.len, 2};
    assert_int_equal(h.ins->plugin->filter(h.ins, "t", &ev, &out), 0);
    assert_int_equal(out.count, 1);
    assert_int_equal(out.buf.len, 11);
    assert_memory_equal(out.buf.data, raw, 11);
    sk_evbuf_cleanup(&in);
    sk_evbuf_cleanup(&out);
    fh_close(&h);
}

/* Bytes that are not UTF-8 are matched as they are. */
static void test_invalid_utf8(void **state)
{
    struct fh h;
    struct sk_evbuf in;
    struct sk_evbuf out;
    struct sk_events ev;
    /* {"a": "x\xff\xe3\x81y"} */
    static const char raw[] = "\x92\xce\x59\x68\x2f\x00\x81\xa1\x61\xa5x\xff\xe3\x81y";

    (void)state;
    assert_int_equal(fh_open(&h, "grep", REGEXP("a", "^x...y$")), 0);
    sk_evbuf_init(&in, 1024);
    sk_evbuf_init(&out, 1024);
    assert_int_equal(sk_buf_append(&in.buf, raw, sizeof(raw) - 1), 0);
    ev = (struct sk_events){"t", in.buf.data, in.buf.len, 1};
    assert_int_equal(h.ins->plugin->filter(h.ins, "t", &ev, &out), 0);
    assert_int_equal(out.count, 1);
    sk_evbuf_cleanup(&in);
    sk_evbuf_cleanup(&out);
    fh_close(&h);
}

struct conf_case {
    const char *name;
    const char *body;
    const char *want;
};

static const struct conf_case conf_errors[] = {
    {"regexpN duplicate", "regexp1 message test\nregexp2 message test2\n",
     "t.conf:4: <filter **>: regexp2 contains a duplicated key, message"},
    {"excludeN duplicate", "exclude1 message test\nexclude2 message test2\n",
     "exclude2 contains a duplicated key, message"},
    {"regexpN without a pattern", "regexp1 message\n",
     "t.conf:3: <filter **>: regexp1 does not contain 2 parameters"},
    {"section duplicate", REGEXP("message", "test") REGEXP("message", "test2"),
     "Duplicate key: message"},
    {"mix duplicate", "regexp1 message test\n" REGEXP("message", "test"),
     "Duplicate key: message"},
    {"and/regexp duplicate",
     "<and>\n" REGEXP("message", "test") REGEXP("message", "test") "</and>\n",
     "Duplicate key in <and>: message"},
    {"and/regexp, and/regexp",
     "<and>\n" REGEXP("message", "test") "</and>\n<and>\n" REGEXP("message", "test") "</and>\n",
     "Duplicate key in <and>: message"},
    {"regexp, and/regexp", REGEXP("message", "test") "<and>\n" REGEXP("message", "test") "</and>\n",
     "Duplicate key in <and>: message"},
    {"and/exclude, and/exclude",
     "<and>\n" EXCLUDE("message", "test") "</and>\n<and>\n" EXCLUDE("message", "test") "</and>\n",
     "Duplicate key in <and>: message"},
    {"exclude, or/exclude", EXCLUDE("message", "test") "<or>\n" EXCLUDE("message", "test") "</or>\n",
     "Duplicate key in <or>: message"},
    {"<and> with both", "<and>\n" REGEXP("message", "/test/") EXCLUDE("level", "/debug/") "</and>\n",
     "t.conf:3: <and>: Do not specify both <regexp> and <exclude> in <and>"},
    {"<or> with both", "<or>\n" REGEXP("message", "/test/") EXCLUDE("level", "/debug/") "</or>\n",
     "Do not specify both <regexp> and <exclude> in <or>"},
    {"missing right slash", REGEXP("message", "/test"),
     "invalid regexp: missing right slash: /test"},
    {"invalid regexp", REGEXP("message", "(unclosed"), "invalid regexp: missing closing parenthesis"},
    {"Ruby construct PCRE2 lacks", REGEXP("message", "\\u00e9"), "'\\u' is not supported"},
    {"missing pattern", "<regexp>\n key message\n</regexp>\n", "pattern"},
    {"bad accessor", REGEXP("$.a[0", "x"), "'[' found but ']' not found. Invalid syntax: $.a[0"},
};

static void test_conf_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(conf_errors) / sizeof(conf_errors[0]); i++) {
        struct fh h;

        if (fh_open(&h, "grep", conf_errors[i].body) == 0) {
            fail_msg("case '%s': configuration accepted", conf_errors[i].name);
        }
        if (!sk_diag_contains(&h.diag, conf_errors[i].want)) {
            fh_dump_diag(&h);
            fail_msg("case '%s': no diagnostic '%s'", conf_errors[i].name, conf_errors[i].want);
        }
        fh_close(&h);
    }
}

static void test_deprecation_warning(void **state)
{
    struct fh h;

    (void)state;
    assert_int_equal(fh_open(&h, "grep", "regexp1 a b\n"), 0);
    assert_true(sk_diag_contains(&h.diag, "'regexp1' parameter is deprecated: Use <regexp> section"));
    fh_close(&h);
}

/* Allocation failures: a clean SK_ENOMEM at every step, no leak. */
static void test_oom(void **state)
{
    static const char *const records[] = {"{\"a\":{\"b\":[1,\"x\"]},\"c\":\"y\"}", "{\"c\":\"z\"}"};
    const char *body = REGEXP("$.a.b", "x") "<or>\n" EXCLUDE("c", "z") EXCLUDE("d", "q") "</or>\n";

    (void)state;
    assert_true(fh_oom_filter("grep", body, "t", records, 2) >= 1);
    assert_true(fh_oom_open("grep", body) > 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_and_or),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_bytes_unchanged),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_conf_errors),
        cmocka_unit_test(test_deprecation_warning),
        cmocka_unit_test(test_oom),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
