#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../filter_harness.h"

/*
 * Each case: the <filter> body, one incoming record (JSON) under `tag`,
 * and the line Fluentd v1 would emit ("sec.nsec JSON", JSON as
 * Fluentd's formatter writes it). "@HOST@" stands for the hostname.
 * Times print in UTC (TZ is set to UTC).
 */
struct rt_case {
    const char *name;
    const char *tag;
    const char *body;
    const char *record;
    const char *want;
};

#define T0 "1532167200.000000005 "

static const struct rt_case cases[] = {
    {"tag placeholders", "app.web.access",
     "<record>\n tag ${tag}\n p0 ${tag_parts[0]}\n p2 ${tag_parts[2]}\n pm1 ${tag_parts[-1]}\n"
     " pm3 ${tag_parts[-3]}\n pre ${tag_prefix[1]}\n prem1 ${tag_prefix[-1]}\n"
     " suf ${tag_suffix[1]}\n suf0 ${tag_suffix[0]}\n host ${hostname}\n t ${time}\n</record>\n",
     "{\"a\":1}",
     T0 "{\"a\":1,\"tag\":\"app.web.access\",\"p0\":\"app\",\"p2\":\"access\",\"pm1\":\"access\","
        "\"pm3\":\"app\",\"pre\":\"app.web\",\"prem1\":\"app.web.access\",\"suf\":\"web.access\","
        "\"suf0\":\"app.web.access\",\"host\":\"@HOST@\",\"t\":\"2018-07-21 10:00:00 +0000\"}\n"},
    {"placeholders inside text", "app.web",
     "<record>\n msg <${tag_parts[1]}> ${record[\"m\"]} on ${hostname}\n</record>\n",
     "{\"m\":\"hi\"}",
     T0 "{\"m\":\"hi\",\"msg\":\"<web> hi on @HOST@\"}\n"},
    {"auto_typecast keeps types of lone placeholders", "t",
     "<record>\n n ${record[\"n\"]}\n f ${record[\"f\"]}\n h ${record[\"h\"]}\n"
     " l ${record[\"l\"]}\n b ${record[\"b\"]}\n z ${record[\"z\"]}\n</record>\n",
     "{\"n\":1,\"f\":1.5,\"h\":{\"k\":\"v\"},\"l\":[1,\"a\"],\"b\":false,\"z\":null}",
     T0 "{\"n\":1,\"f\":1.5,\"h\":{\"k\":\"v\"},\"l\":[1,\"a\"],\"b\":false,\"z\":null}\n"},
    {"to_s inside text, Ruby inspect for hashes and arrays", "t",
     "remove_keys f\n<record>\n o n=${record[\"n\"]} f=${record[\"f\"]} h=${record[\"h\"]} l=${record[\"l\"]}"
     " z=${record[\"z\"]} b=${record[\"b\"]} e=${record[\"e\"]}\n</record>\n",
     "{\"n\":-7,\"f\":1e20,\"h\":{\"k\":\"v\\\"\",\"m\":null,\"i\":2.0},\"l\":[1,\"a\",null,[]],"
     "\"z\":null,\"b\":true,\"e\":\"\"}",
     T0 "{\"n\":-7,\"h\":{\"k\":\"v\\\"\",\"m\":null,\"i\":2.0},\"l\":[1,\"a\",null,[]],"
        "\"z\":null,\"b\":true,\"e\":\"\",\"o\":\"n=-7 f=1.0e+20 h={\\\"k\\\"=>\\\"v\\\\\\\"\\\", "
        "\\\"m\\\"=>nil, \\\"i\\\"=>2.0} l=[1, \\\"a\\\", nil, []] z= b=true e=\"}\n"},
    {"auto_typecast false makes every value a string", "t",
     "auto_typecast false\n<record>\n n ${record[\"n\"]}\n z ${record[\"z\"]}\n"
     " h ${record[\"h\"]}\n</record>\n",
     "{\"n\":1,\"z\":null,\"h\":{\"a\":[1]}}",
     T0 "{\"n\":\"1\",\"z\":\"\",\"h\":\"{\\\"a\\\"=>[1]}\"}\n"},
    {"unknown placeholders are nil, or nothing inside text", "a.b",
     "<record>\n u ${foo[1]}\n us a${foo[1]}b\n d __FOO__\n ds x__FOO__y\n"
     " p9 ${tag_parts[9]}\n p9s <${tag_parts[9]}>\n miss ${record[\"nope\"]}\n"
     " lead ${tag_parts[01]}\n under x_____y\n</record>\n",
     "{}",
     T0 "{\"u\":null,\"us\":\"ab\",\"d\":null,\"ds\":\"xy\",\"p9\":null,\"p9s\":\"<>\","
        "\"miss\":null,\"lead\":null,\"under\":\"xy\"}\n"},
    {"unclosed and empty braces stay text", "a",
     "<record>\n x ${tag\n y ${}\n z $tag\n</record>\n", "{}",
     T0 "{\"x\":\"${tag\",\"y\":\"${}\",\"z\":\"$tag\"}\n"},
    {"v0.12 shorthand ${key}; reserved names win", "app.x",
     "<record>\n m ${msg}\n t ${tag}\n both ${msg}/${tag_parts[1]}\n</record>\n",
     "{\"msg\":\"hello\",\"tag\":\"record tag\"}",
     T0 "{\"msg\":\"hello\",\"tag\":\"record tag\",\"m\":\"hello\",\"t\":\"app.x\","
        "\"both\":\"hello/x\"}\n"},
    {"keys expand to strings", "app.x",
     "<record>\n ${tag}_k v\n ${record[\"n\"]} n\n k_${tag_parts[5]} gone\n</record>\n",
     "{\"n\":1}",
     T0 "{\"n\":1,\"app.x_k\":\"v\",\"1\":\"n\",\"k_\":\"gone\"}\n"},
    {"existing keys change in place, new ones are appended", "t",
     "<record>\n b x\n d y\n</record>\n", "{\"a\":1,\"b\":2,\"c\":3}",
     T0 "{\"a\":1,\"b\":\"x\",\"c\":3,\"d\":\"y\"}\n"},
    {"a later <record> key replaces the earlier in its place", "t",
     "<record>\n a 1\n b 2\n</record>\n<record>\n a 3\n</record>\n", "{}",
     T0 "{\"a\":\"3\",\"b\":\"2\"}\n"},
    {"renew_record with keep_keys", "t",
     "renew_record true\nkeep_keys c,zz,a\n<record>\n n ${record[\"b\"]}\n</record>\n",
     "{\"a\":1,\"b\":2,\"c\":null}",
     T0 "{\"c\":null,\"a\":1,\"n\":2}\n"},
    {"renew_record alone", "t", "renew_record true\n<record>\n n 1\n</record>\n",
     "{\"a\":1}", T0 "{\"n\":\"1\"}\n"},
    {"remove_keys: top-level, nested, added, missing", "t",
     "remove_keys a,$.h.k,new,zz,$.l[0],$['h']['x y']\n<record>\n new 1\n keep 2\n</record>\n",
     "{\"a\":1,\"h\":{\"k\":1,\"j\":2,\"x y\":3},\"l\":[9,8]}",
     T0 "{\"h\":{\"j\":2},\"l\":[8],\"keep\":\"2\"}\n"},
    {"remove_keys through a string does nothing", "t", "remove_keys $.s.x,$.l.a\n",
     "{\"s\":\"str\",\"l\":[1]}", T0 "{\"s\":\"str\",\"l\":[1]}\n"},
    {"renew_time_key: float, then removed", "t",
     "renew_time_key ts\nremove_keys ts\n", "{\"ts\":1500000000.5,\"a\":1}",
     "1500000000.500000000 {\"a\":1}\n"},
    {"renew_time_key: string and exact nanoseconds", "t", "renew_time_key ts\n",
     "{\"ts\":\"1532167200.123\"}", "1532167200.122999906 {\"ts\":\"1532167200.123\"}\n"},
    {"renew_time_key: from a <record> field", "t",
     "renew_time_key ts\n<record>\n ts ${record[\"epoch\"]}\n</record>\n",
     "{\"epoch\":1400000000}", "1400000000.000000000 {\"epoch\":1400000000,\"ts\":1400000000}\n"},
    {"renew_time_key: nil is the epoch, absent keeps the time", "t",
     "renew_time_key ts\n", "{\"ts\":null}", "0.000000000 {\"ts\":null}\n"},
    {"renew_time_key absent", "t", "renew_time_key ts\n", "{\"a\":1}", T0 "{\"a\":1}\n"},
    {"JSON values expand inside", "app.web",
     "<record>\n j {\"a\":\"${tag}\",\"n\":[1,2.5,true,null,\"${record[\\\"n\\\"]}\"],"
     "\"${tag_parts[1]}\":\"k\"}\n</record>\n",
     "{\"n\":3}",
     T0 "{\"n\":3,\"j\":{\"a\":\"app.web\",\"n\":[1,2.5,true,null,3],\"web\":\"k\"}}\n"},
    {"JSON map keys that expand alike: last value, first place", "app",
     "<record>\n j {\"${tag}\":1,\"x\":2,\"app\":3}\n</record>\n", "{}",
     T0 "{\"j\":{\"app\":3,\"x\":2}}\n"},
    {"invalid JSON is a string", "t", "<record>\n j \"[1, ${tag}\"\n</record>\n", "{}",
     T0 "{\"j\":\"[1, t\"}\n"},
    {"tag with empty parts, as Ruby's split", "a..b.",
     "<record>\n l ${tag_parts[-1]}\n m ${tag_parts[1]}\n s ${tag_suffix[0]}\n"
     " p ${tag_prefix[2]}\n</record>\n",
     "{}", T0 "{\"l\":\"b\",\"m\":\"\",\"s\":\"a..b\",\"p\":\"a..b\"}\n"},
    {"enable_ruby with placeholder expressions", "app.web",
     "enable_ruby true\n<record>\n a ${tag_parts[1]}\n b ${record['n']}\n"
     " c ${record[\"h\"][\"k\"]}\n d x${record[\"n\"]}\\ty\n e ${ tag }\n"
     " f ${record[\"h\"][\"zz\"]}\n g a[${tag}]\n</record>\n",
     "{\"n\":1,\"h\":{\"k\":\"v\"}}",
     T0 "{\"n\":1,\"h\":{\"k\":\"v\"},\"a\":\"web\",\"b\":1,\"c\":\"v\",\"d\":\"x1\\ty\","
        "\"e\":\"app.web\",\"f\":null,\"g\":\"a[app.web]\"}\n"},
    {"enable_ruby: a string indexed by a string", "t",
     "enable_ruby true\n<record>\n a ${record[\"s\"][\"ell\"]}\n b ${record[\"s\"][\"x\"]}\n"
     "</record>\n",
     "{\"s\":\"hello\"}", T0 "{\"s\":\"hello\",\"a\":\"ell\",\"b\":null}\n"},
};

static char hostname[256];

static char *expect(const char *want)
{
    const char *mark = strstr(want, "@HOST@");
    size_t n = strlen(want) + strlen(hostname) + 1;
    char *out = malloc(n);

    assert_non_null(out);
    if (mark == NULL) {
        snprintf(out, n, "%s", want);
    } else {
        snprintf(out, n, "%.*s%s%s", (int)(mark - want), want, hostname, mark + 6);
    }
    return out;
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rt_case *c = &cases[i];
        struct fh h;
        char *got;
        char *want;

        if (fh_open(&h, "record_transformer", c->body) != 0) {
            fh_dump_diag(&h);
            fail_msg("case '%s': configuration refused", c->name);
        }
        got = fh_run1(&h, c->tag, c->record);
        want = expect(c->want);
        if (strcmp(got, want) != 0) {
            fail_msg("case '%s':\n got: %s\nwant: %s", c->name, got, want);
        }
        assert_int_equal(fh_errors(&h), 0);
        free(got);
        free(want);
        fh_close(&h);
    }
}

/* Where Fluentd raises for a record: the event goes to the error stream
 * and leaves the batch; the others pass. */
static void test_error_events(void **state)
{
    static const struct {
        const char *name;
        const char *body;
        const char *bad;
    } cases_err[] = {
        {"renew_time_key true", "renew_time_key ts\n", "{\"ts\":true}"},
        {"renew_time_key hash", "renew_time_key ts\n", "{\"ts\":{\"a\":1}}"},
        {"enable_ruby chain through nil", "enable_ruby true\n<record>\n x ${record[\"a\"][\"b\"]}\n</record>\n",
         "{\"z\":1}"},
        {"enable_ruby chain into an integer",
         "enable_ruby true\n<record>\n x ${record[\"a\"][\"b\"]}\n</record>\n", "{\"a\":1}"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases_err) / sizeof(cases_err[0]); i++) {
        const char *records[3] = {"{\"ts\":1,\"a\":{\"b\":2}}", cases_err[i].bad,
                                  "{\"ts\":2,\"a\":{\"b\":3}}"};
        struct fh h;
        size_t count = 0;
        char *got;

        assert_int_equal(fh_open(&h, "record_transformer", cases_err[i].body), 0);
        got = fh_run_n(&h, "t", records, 3, &count);
        if (count != 2 || fh_errors(&h) != 1) {
            fail_msg("case '%s': %zu events out, %lu errors: %s", cases_err[i].name, count,
                     fh_errors(&h), got);
        }
        free(got);
        fh_close(&h);
    }
}

struct conf_case {
    const char *name;
    const char *body;
    const char *want; /* in some diagnostic */
};

static const struct conf_case conf_errors[] = {
    {"enable_ruby with Ruby code",
     "enable_ruby true\n<record>\n ok ${tag}\n avg ${record[\"total\"] / record[\"count\"]}\n"
     "</record>\n",
     "t.conf:6: <filter **>: embedded Ruby in record_transformer is not supported: "
     "${record[\"total\"] / record[\"count\"]}"},
    {"enable_ruby with a method call", "enable_ruby\n<record>\n x ${time.to_i}\n</record>\n",
     "t.conf:5: <filter **>: embedded Ruby in record_transformer is not supported: ${time.to_i}"},
    {"enable_ruby with Ruby code in a key",
     "enable_ruby true\n<record>\n ${tag.upcase} 1\n</record>\n",
     "embedded Ruby in record_transformer is not supported: ${tag.upcase}"},
    {"enable_ruby with interpolation", "enable_ruby true\n<record>\n x a#{1}b\n</record>\n",
     "embedded Ruby in record_transformer is not supported: a#{1}b (Ruby interpolation)"},
    {"enable_ruby with an unbalanced bracket", "enable_ruby true\n<record>\n x a]b\n</record>\n",
     "embedded Ruby in record_transformer is not supported: a]b"},
    {"keep_keys without renew_record", "keep_keys a\n",
     "t.conf:3: <filter **>: `renew_record` must be true to use `keep_keys`"},
    {"bad remove_keys accessor", "remove_keys $.a[x]\n",
     "remove_keys: invalid value for Integer(): \"x\""},
    {"remove_keys with blanks in dot notation", "remove_keys [\"$.a b\"]\n",
     "whitespace character is not allowed in dot notation"},
};

static void test_conf_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(conf_errors) / sizeof(conf_errors[0]); i++) {
        struct fh h;

        if (fh_open(&h, "record_transformer", conf_errors[i].body) == 0) {
            fail_msg("case '%s': configuration accepted", conf_errors[i].name);
        }
        if (!sk_diag_contains(&h.diag, conf_errors[i].want)) {
            fh_dump_diag(&h);
            fail_msg("case '%s': no diagnostic '%s'", conf_errors[i].name, conf_errors[i].want);
        }
        fh_close(&h);
    }
}

/* Configuration warnings Fluentd gives at run time, given once here. */
static void test_conf_warnings(void **state)
{
    struct fh h;

    (void)state;
    assert_int_equal(fh_open(&h, "record_transformer",
                             "<record>\n a ${msg}\n b ${foo[1]}\n c \"[1,\"\n</record>\n"),
                     0);
    assert_true(sk_diag_contains(&h.diag, "t.conf:4: <filter **>: ${msg} is the v0.12 shorthand"));
    assert_true(sk_diag_contains(&h.diag, "t.conf:5: <filter **>: unknown placeholder `${foo[1]}`"));
    assert_true(sk_diag_contains(&h.diag, "failed to parse [1, as json"));
    fh_close(&h);
}

/* Many events in one batch: each gets its own record values. */
static void test_batch(void **state)
{
    const char *records[] = {"{\"n\":1}", "{\"n\":2}", "{\"m\":3}"};
    struct fh h;
    size_t count;
    char *got;

    (void)state;
    assert_int_equal(fh_open(&h, "record_transformer", "<record>\n x <${record[\"n\"]}>\n</record>\n"), 0);
    got = fh_run_n(&h, "t", records, 3, &count);
    assert_int_equal(count, 3);
    assert_string_equal(got, T0 "{\"n\":1,\"x\":\"<1>\"}\n" T0 "{\"n\":2,\"x\":\"<2>\"}\n" T0
                             "{\"m\":3,\"x\":\"<>\"}\n");
    free(got);
    fh_close(&h);
}

/* Allocation failures: a clean SK_ENOMEM at every step, no leak. */
static void test_oom(void **state)
{
    const char *records[] = {"{\"a\":1,\"h\":{\"k\":1,\"j\":[1,2]},\"ts\":\"7\"}", "{\"b\":2}"};
    const char *body = "remove_keys a,$.h.k\nrenew_time_key ts\n<record>\n x ${tag}-${record[\"a\"]}\n"
                       " ${tag_parts[0]} {\"k\":[\"${hostname}\",1],\"${tag}\":2}\n</record>\n";

    (void)state;
    assert_true(fh_oom_filter("record_transformer", body, "app.web", records, 2) > 1);
    assert_true(fh_oom_open("record_transformer", body) > 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_error_events),
        cmocka_unit_test(test_conf_errors),
        cmocka_unit_test(test_conf_warnings),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_oom),
    };

    setenv("TZ", "UTC", 1);
    tzset();
    if (gethostname(hostname, sizeof(hostname) - 1) != 0) {
        hostname[0] = '\0';
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
