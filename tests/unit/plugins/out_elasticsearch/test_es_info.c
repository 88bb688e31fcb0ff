#include "testutil.h"

#include <string.h>

#include "out_elasticsearch/es_info.h"

struct version_case {
    const char *name;
    const char *body;
    int rc;
    bool opensearch;
    int major;
    int minor;
};

static const struct version_case version_cases[] = {
    {"elasticsearch 7.17", "{\"name\":\"es01\",\"version\":{\"number\":\"7.17.9\",\"build_flavor\":"
                           "\"default\"},\"tagline\":\"You Know, for Search\"}",
     0, false, 7, 17},
    {"elasticsearch 8", "{\"version\":{\"number\":\"8.13.4\"},\"tagline\":\"You Know, for Search\"}",
     0, false, 8, 13},
    {"aws oss 7.10", "{\"cluster_name\":\"1234:logs\",\"version\":{\"number\":\"7.10.2\","
                     "\"build_flavor\":\"oss\",\"build_hash\":\"unknown\"},\"tagline\":\"You "
                     "Know, for Search\"}",
     0, false, 7, 10},
    {"opensearch 2", "{\"version\":{\"distribution\":\"opensearch\",\"number\":\"2.19.1\"},"
                     "\"tagline\":\"The OpenSearch Project: https://opensearch.org/\"}",
     0, true, 2, 19},
    {"opensearch compatibility mode", "{\"version\":{\"number\":\"7.10.2\",\"build_type\":\"tar\"},"
                                      "\"tagline\":\"The OpenSearch Project: "
                                      "https://opensearch.org/\"}",
     0, true, 7, 10},
    {"elasticsearch 6", "{\"version\":{\"number\":\"6.8.23\"}}", 0, false, 6, 8},
    {"no version", "{\"name\":\"x\"}", SK_EPARSE, false, 0, 0},
    {"number not a string", "{\"version\":{\"number\":7}}", SK_EPARSE, false, 0, 0},
    {"html", "<html>", SK_EPARSE, false, 0, 0},
};

static void test_version_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(version_cases) / sizeof(version_cases[0]); i++) {
        const struct version_case *c = &version_cases[i];
        struct es_version v;
        int rc = es_info_parse_version(c->body, strlen(c->body), &v);

        if (rc != c->rc) {
            fail_msg("case '%s': rc %d want %d", c->name, rc, c->rc);
        }
        if (rc == 0 && (v.opensearch != c->opensearch || v.major != c->major || v.minor != c->minor)) {
            fail_msg("case '%s': got os=%d %d.%d", c->name, v.opensearch, v.major, v.minor);
        }
    }
}

struct dialect_case {
    const char *name;
    bool opensearch;
    int major;
    bool suppress;
    const char *type;
    const char *routing;
};

static const struct dialect_case dialect_cases[] = {
    {"es5 uses type_name", false, 5, false, "fluentd", "_routing"},
    {"es6 uses type_name", false, 6, false, "fluentd", "_routing"},
    {"es6 ignores suppress_type_name", false, 6, true, "fluentd", "_routing"},
    {"es7 forces _doc", false, 7, false, "_doc", "routing"},
    {"es7 suppressed", false, 7, true, NULL, "routing"},
    {"es8 no type", false, 8, false, NULL, "routing"},
    {"opensearch 1 no type", true, 1, false, NULL, "routing"},
    {"opensearch compat 7.10 no type", true, 7, false, NULL, "routing"},
};

static void test_dialect_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(dialect_cases) / sizeof(dialect_cases[0]); i++) {
        const struct dialect_case *c = &dialect_cases[i];
        struct es_dialect d;

        es_dialect_for(c->opensearch, c->major, "fluentd", c->suppress, &d);
        if ((c->type == NULL) != (d.type_name == NULL) ||
            (c->type != NULL && strcmp(c->type, d.type_name) != 0) ||
            strcmp(c->routing, d.routing) != 0) {
            fail_msg("case '%s': type %s routing %s", c->name, d.type_name ? d.type_name : "(none)",
                     d.routing);
        }
    }
}

struct addr_case {
    const char *text;
    int rc;
    const char *host;
    int port;
};

static const struct addr_case addr_cases[] = {
    {"10.0.0.5:9200", 0, "10.0.0.5", 9200},
    {"es02.internal/10.0.0.6:9200", 0, "es02.internal", 9200},
    {"[::1]:9200", 0, "[::1]", 9200},
    {"inet[/10.0.0.5:9200]", 0, "10.0.0.5", 9200},
    {"inet[es01/10.0.0.5:9201]", 0, "es01", 9201},
    {"127.0.0.2:9", 0, "127.0.0.2", 9},
    {"10.0.0.5", SK_EINVAL, NULL, 0},
    {"10.0.0.5:http", SK_EINVAL, NULL, 0},
    {":9200", SK_EINVAL, NULL, 0},
    {"10.0.0.5:70000", SK_EINVAL, NULL, 0},
};

static void test_address_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
        const struct addr_case *c = &addr_cases[i];
        struct es_sniff_addr a;
        int rc = es_sniff_parse_address(c->text, strlen(c->text), &a);

        if (rc != c->rc || (rc == 0 && (strcmp(a.host, c->host) != 0 || a.port != c->port))) {
            fail_msg("'%s': rc %d host '%s' port %d", c->text, rc, rc == 0 ? a.host : "", a.port);
        }
    }
}

/* es-api.md §4: two nodes, two address forms. */
static const char nodes_good[] =
    "{\"_nodes\":{\"total\":2,\"successful\":2,\"failed\":0},\"cluster_name\":\"es-cluster\","
    "\"nodes\":{\"Xr6u\":{\"name\":\"es01\",\"host\":\"10.0.0.5\",\"http\":{\"bound_address\":"
    "[\"[::]:9200\"],\"publish_address\":\"127.0.0.5:9200\",\"max_content_length_in_bytes\":"
    "104857600}},\"k0nR\":{\"name\":\"es02\",\"http\":{\"publish_address\":"
    "\"es02.internal/127.0.0.6:9200\"}}}}";

/* Amazon: nodes without an http section (elasticsearch-js #1178). */
static const char nodes_aws[] =
    "{\"_nodes\":{\"total\":3,\"successful\":3,\"failed\":0},\"cluster_name\":\"1234:logs\","
    "\"nodes\":{\"a\":{\"name\":\"a1\",\"version\":\"7.4.2\",\"build_flavor\":\"oss\","
    "\"build_type\":\"tar\",\"build_hash\":\"unknown\",\"roles\":[\"ingest\",\"master\",\"data\"]},"
    "\"b\":{\"name\":\"b1\",\"version\":\"7.4.2\",\"roles\":[\"data\"]}}}";

static const char nodes_mixed[] =
    "{\"nodes\":{\"a\":{\"http\":{\"publish_address\":\"garbage\"}},\"b\":{\"http\":{}},"
    "\"c\":{\"http\":{\"publish_address\":\"127.0.0.7:9200\"}},\"d\":\"x\"}}";

static void test_sniff_parse(void **state)
{
    struct es_sniff_addr a[4];

    (void)state;
    assert_int_equal(es_sniff_parse(nodes_good, strlen(nodes_good), a, 4), 2);
    assert_string_equal(a[0].host, "127.0.0.5");
    assert_int_equal(a[0].port, 9200);
    assert_string_equal(a[1].host, "es02.internal");
    assert_int_equal(es_sniff_parse(nodes_aws, strlen(nodes_aws), a, 4), 0);
    assert_int_equal(es_sniff_parse(nodes_mixed, strlen(nodes_mixed), a, 4), 1);
    assert_string_equal(a[0].host, "127.0.0.7");
    assert_int_equal(es_sniff_parse(nodes_good, strlen(nodes_good), a, 1), 1);
    assert_int_equal(es_sniff_parse("{}", 2, a, 4), SK_EPARSE);
    assert_int_equal(es_sniff_parse("not json", 8, a, 4), SK_EPARSE);
}

/* The whole Amazon story: a sniff of an AWS endpoint leaves the pool as it was. */
static void test_aws_sniff_keeps_pool(void **state)
{
    struct es_sniff_addr a[4];
    struct es_pool pool;
    int n;

    (void)state;
    es_pool_init(&pool, 60000, NULL, NULL);
    assert_non_null(es_pool_add(&pool, "https", "vpc-logs-x.eu-west-1.es.amazonaws.com", 443, NULL,
                                NULL, NULL, true));
    n = es_sniff_parse(nodes_aws, strlen(nodes_aws), a, 4);
    assert_int_equal(n, 0);
    assert_int_equal(es_pool_merge_sniffed(&pool, a, (size_t)n, 0), 0);
    assert_int_equal(pool.n, 1);
    assert_non_null(es_pool_pick(&pool, 0));
    es_pool_cleanup(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_table),
        cmocka_unit_test(test_dialect_table),
        cmocka_unit_test(test_address_table),
        cmocka_unit_test(test_sniff_parse),
        cmocka_unit_test(test_aws_sniff_keeps_pool),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
