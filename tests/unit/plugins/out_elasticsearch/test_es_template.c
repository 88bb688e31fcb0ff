#include "testutil.h"

/* Index template bodies (es_template.h): the user's template with the
 * lifecycle settings, pattern and priority skiff owns, generated ones, and
 * customize_template. */
#include <stdlib.h>
#include <string.h>

#include "out_elasticsearch/es_template.h"
#include "util/alloc.h"
#include "util/buf.h"

static const struct es_template_setting ilm[] = {
    {"index.lifecycle.name", "logstash-policy"},
    {"index.lifecycle.rollover_alias", "nginx"},
};

struct body_case {
    const char *name;
    struct es_template_spec spec;
    const char *want;
};

#define LEGACY_FILE                                                                                \
    "{\"template\":\"old-*\",\"index_patterns\":[\"x-*\"],\"order\":5,\"settings\":{"              \
    "\"index.lifecycle.name\":\"theirs\",\"number_of_shards\":1},\"mappings\":{\"properties\":{"   \
    "\"code\":{\"type\":\"keyword\"}}}}"
#define COMPOSABLE_FILE                                                                            \
    "{\"index_patterns\":[\"x-*\"],\"composed_of\":[\"c\"],\"template\":{\"mappings\":{},"         \
    "\"settings\":{\"number_of_replicas\":0}},\"_meta\":{\"by\":\"me\"}}"

static const struct body_case cases[] = {
    {"generated legacy with ILM",
     {ES_TEMPLATE_LEGACY, NULL, 0, "nginx-*", ES_PRIO_BUMP, 0, ilm, 2, false},
     "{\"index_patterns\":[\"nginx-*\"],\"order\":51,\"settings\":{\"index.lifecycle.name\":"
     "\"logstash-policy\",\"index.lifecycle.rollover_alias\":\"nginx\"}}"},
    {"generated composable with ILM, prefix with separators",
     {ES_TEMPLATE_COMPOSABLE, NULL, 0, "a-b-*", ES_PRIO_BUMP, 1, ilm, 2, false},
     "{\"index_patterns\":[\"a-b-*\"],\"priority\":102,\"template\":{\"settings\":{"
     "\"index.lifecycle.name\":\"logstash-policy\",\"index.lifecycle.rollover_alias\":"
     "\"nginx\"}}}"},
    {"user legacy: pattern, order, settings replaced; the rest kept",
     {ES_TEMPLATE_LEGACY, LEGACY_FILE, sizeof(LEGACY_FILE) - 1, "nginx-*", ES_PRIO_BUMP, 0, ilm, 2,
      false},
     "{\"mappings\":{\"properties\":{\"code\":{\"type\":\"keyword\"}}},\"index_patterns\":["
     "\"nginx-*\"],\"order\":6,\"settings\":{\"number_of_shards\":1,\"index.lifecycle.name\":"
     "\"logstash-policy\",\"index.lifecycle.rollover_alias\":\"nginx\"}}"},
    {"user composable: template.settings merged, priority from default",
     {ES_TEMPLATE_COMPOSABLE, COMPOSABLE_FILE, sizeof(COMPOSABLE_FILE) - 1, "nginx-*", ES_PRIO_BUMP,
      0, ilm + 1, 1, false},
     "{\"composed_of\":[\"c\"],\"_meta\":{\"by\":\"me\"},\"index_patterns\":[\"nginx-*\"],"
     "\"priority\":101,\"template\":{\"mappings\":{},\"settings\":{\"number_of_replicas\":0,"
     "\"index.lifecycle.rollover_alias\":\"nginx\"}}}"},
    {"user template as written",
     {ES_TEMPLATE_LEGACY, LEGACY_FILE, sizeof(LEGACY_FILE) - 1, NULL, ES_PRIO_KEEP, 0, NULL, 0,
      false},
     LEGACY_FILE},
    {"data stream template",
     {ES_TEMPLATE_COMPOSABLE, NULL, 0, "logs-app*", ES_PRIO_SET, 208, ilm, 1, true},
     "{\"index_patterns\":[\"logs-app*\"],\"priority\":208,\"template\":{\"settings\":{"
     "\"index.lifecycle.name\":\"logstash-policy\"}},\"data_stream\":{}}"},
    {"data stream template without settings (ISM)",
     {ES_TEMPLATE_COMPOSABLE, NULL, 0, "d*", ES_PRIO_SET, 201, NULL, 0, true},
     "{\"index_patterns\":[\"d*\"],\"priority\":201,\"data_stream\":{}}"},
};

static void test_body_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_buf out;
        char err[128] = "";
        int rc;

        sk_buf_init(&out, 1 << 16);
        rc = es_template_body(&cases[i].spec, &out, err, sizeof(err));
        if (rc != 0 || strcmp(out.data, cases[i].want) != 0) {
            fail_msg("case '%s': rc %d (%s)\n got  %s\n want %s", cases[i].name, rc, err,
                     out.data != NULL ? out.data : "", cases[i].want);
        }
        sk_buf_cleanup(&out);
    }
}

static void test_not_an_object(void **state)
{
    struct es_template_spec s = {
        ES_TEMPLATE_LEGACY, "[1]", 3, NULL, ES_PRIO_KEEP, 0, NULL, 0, false};
    struct sk_buf out;
    char err[128] = "";

    (void)state;
    sk_buf_init(&out, 1 << 16);
    assert_int_equal(es_template_body(&s, &out, err, sizeof(err)), SK_EINVAL);
    assert_non_null(strstr(err, "not a JSON object"));
    sk_buf_cleanup(&out);
}

struct shape_case {
    const char *json;
    int rc;
    enum es_template_api api;
};

static const struct shape_case shapes[] = {
    {LEGACY_FILE, 1, ES_TEMPLATE_LEGACY},
    {COMPOSABLE_FILE, 1, ES_TEMPLATE_COMPOSABLE},
    {"{\"index_patterns\":[\"a\"],\"template\":{\"settings\":{}}}", 1, ES_TEMPLATE_COMPOSABLE},
    {"{\"template\":\"a-*\"}", 1, ES_TEMPLATE_LEGACY},
    {"{\"index_patterns\":[\"a\"],\"data_stream\":{}}", 1, ES_TEMPLATE_COMPOSABLE},
    {"{\"index_patterns\":[\"a\"],\"version\":3}", 0, ES_TEMPLATE_LEGACY},
    {"nope", SK_EINVAL, ES_TEMPLATE_LEGACY},
};

static void test_shape_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        enum es_template_api api = ES_TEMPLATE_LEGACY;
        char err[64];
        int rc = es_template_shape(shapes[i].json, strlen(shapes[i].json), &api, err, sizeof(err));

        if (rc != shapes[i].rc || (rc == 1 && api != shapes[i].api)) {
            fail_msg("shape %zu (%s): rc %d api %d", i, shapes[i].json, rc, (int)api);
        }
    }
}

static void test_customize(void **state)
{
    struct sk_kv kv[] = {{(char *)"<<TAG>>", (char *)"Nginx.Access"},
                         {(char *)"nginx.access", (char *)"WEB"},
                         {(char *)"<<SHARDS>>", (char *)"3"}};
    struct sk_kvv pairs = {kv, 3};
    const char *text = "{\"index_patterns\":[\"<<TAG>>-*\"],\"settings\":{\"s\":<<SHARDS>>}}";
    struct sk_buf out;

    (void)state;
    sk_buf_init(&out, 1 << 16);
    /* In order, like Ruby's successive gsubs; values are lower-cased. */
    assert_int_equal(es_template_customize(text, strlen(text), &pairs, &out), 0);
    assert_string_equal(out.data, "{\"index_patterns\":[\"web-*\"],\"settings\":{\"s\":3}}");
    sk_buf_reset(&out);
    pairs.n = 1;
    assert_int_equal(es_template_customize(text, strlen(text), &pairs, &out), 0);
    assert_string_equal(
        out.data, "{\"index_patterns\":[\"nginx.access-*\"],\"settings\":{\"s\":<<SHARDS>>}}");
    sk_buf_cleanup(&out);
    sk_buf_init(&out, 8);
    assert_int_equal(es_template_customize(text, strlen(text), &pairs, &out), SK_ETOOBIG);
    sk_buf_cleanup(&out);
}

/* Every allocation failure is a clean SK_ENOMEM (ASan checks for leaks). */
static void test_allocation_failures(void **state)
{
    struct sk_kv kv[] = {{(char *)"x-*", (char *)"Y-*"}};
    struct sk_kvv pairs = {kv, 1};
    int rc = SK_ENOMEM;

    (void)state;
    for (long n = 1; rc == SK_ENOMEM && n < 10000; n++) {
        struct sk_buf out;
        char err[128];

        sk_buf_init(&out, 1 << 16);
        sk_alloc_fail_after(n, 0);
        rc = es_template_body(&cases[2].spec, &out, err, sizeof(err));
        if (rc == 0) {
            rc = es_template_customize(LEGACY_FILE, sizeof(LEGACY_FILE) - 1, &pairs, &out);
        }
        sk_alloc_fail_after(0, 0);
        sk_buf_cleanup(&out);
        if (rc != 0 && rc != SK_ENOMEM) {
            fail_msg("allocation %ld: rc %d (%s)", n, rc, err);
        }
    }
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_table),          cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_shape_table),         cmocka_unit_test(test_customize),
        cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
