#include "testutil.h"

/* out_elasticsearch configuration: td-agent <match> blocks through the
 * parameter table and init (defaults, hosts, credentials, TLS, refusals). */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "out_elasticsearch/es.h"
#include "param/param.h"
#include "plugin/plugin.h"

extern const struct sk_plugin sk_plugin_out_elasticsearch;

struct fx {
    struct sk_conf *conf;
    struct sk_instance ins;
    struct sk_diag d;
};

static int init(struct fx *fx, const char *params)
{
    const struct sk_plugin *p = &sk_plugin_out_elasticsearch;
    char text[4096];
    int rc;

    memset(fx, 0, sizeof(*fx));
    snprintf(text, sizeof(text), "<match app.**>\n  @type elasticsearch\n%s</match>\n", params);
    sk_diag_init(&fx->d);
    fx->conf = sk_conf_load_string("test.conf", text, strlen(text), &fx->d);
    assert_non_null(fx->conf);
    fx->ins.plugin = p;
    fx->ins.section = fx->conf->root->children[0];
    fx->ins.conf = calloc(1, p->conf_size);
    fx->ins.id = (char *)"es.0";
    fx->ins.log_level = -1;
    rc = sk_param_apply(p->params, fx->ins.section, fx->ins.conf, &fx->d);
    if (rc == 0) {
        rc = p->init(&fx->ins, &fx->d);
    }
    return rc;
}

static void fini(struct fx *fx)
{
    const struct sk_plugin *p = &sk_plugin_out_elasticsearch;

    p->destroy(&fx->ins);
    assert_null(fx->ins.ctx);
    sk_param_release(p->params, fx->ins.conf);
    free(fx->ins.conf);
    sk_conf_destroy(fx->conf);
    sk_diag_cleanup(&fx->d);
}

static const char *header(const struct es_ctx *es, const char *name)
{
    for (size_t i = 0; i < es->nheaders; i++) {
        if (strcmp(es->headers[i].name, name) == 0) {
            return es->headers[i].value;
        }
    }
    return NULL;
}

static void test_defaults(void **state)
{
    struct fx fx;
    struct es_ctx *es;

    (void)state;
    assert_int_equal(init(&fx, ""), 0);
    es = fx.ins.ctx;
    assert_int_equal(es->pool.n, 1);
    assert_string_equal(es->pool.hosts[0]->base_url, "http://localhost:9200");
    assert_int_equal(es->limit, 5u << 20);
    assert_int_equal(es->reload_after, 10000);
    assert_false(es->sniff_on_failure);
    assert_int_equal(es->gzip_level, -1);
    assert_true(es->tls.verify);
    assert_int_equal(es->tls.min_version, 12);
    assert_string_equal(header(es, "Content-Type"), "application/json");
    assert_null(header(es, "Authorization"));
    assert_int_equal(es->bulk.op, ES_OP_INDEX);
    assert_int_equal(es->bulk.time_precision, 9);
    assert_false(es->bulk.add_timestamp);
    assert_string_equal(es->bulk.tag_key, "tag");
    assert_int_equal(es->version_state, ES_VERSION_UNKNOWN);
    assert_int_equal(es->pool.resurrect_after_ms, 60000);
    assert_int_equal(fx.d.errors, 0);
    fini(&fx);
}

/* The block from the story: an Amazon domain behind a VPC proxy. */
static void test_story_config(void **state)
{
    struct fx fx;
    struct es_ctx *es;

    (void)state;
    assert_int_equal(init(&fx, "  host vpc-logs-abc.eu-west-1.es.amazonaws.com\n  port 443\n"
                               "  scheme https\n  logstash_format true\n  logstash_prefix es-log\n"
                               "  reload_connections false\n  reload_on_failure false\n"
                               "  resurrect_after 60\n  request_timeout 30s\n"
                               "  include_tag_key true\n  type_name _doc\n"),
                     0);
    es = fx.ins.ctx;
    assert_string_equal(es->pool.hosts[0]->base_url,
                        "https://vpc-logs-abc.eu-west-1.es.amazonaws.com:443");
    assert_int_equal(es->reload_after, 0);
    assert_false(es->sniff_on_failure);
    assert_true(es->bulk.add_timestamp);
    assert_true(es->bulk.include_tag_key);
    assert_int_equal(es->conf->request_timeout_ms, 30000);
    assert_string_equal(es->index_conf.logstash_prefix, "es-log");
    fini(&fx);
}

static void test_hosts_and_credentials(void **state)
{
    struct fx fx;
    struct es_ctx *es;

    (void)state;
    assert_int_equal(init(&fx, "  hosts es1:9201,https://u2:p2@es2:9243/prefix\n  user elastic\n"
                               "  password %{p@ss}\n  path /base/\n"),
                     0);
    es = fx.ins.ctx;
    assert_int_equal(es->pool.n, 2);
    assert_string_equal(es->pool.hosts[0]->base_url, "http://es1:9201/base");
    assert_string_equal(es->pool.hosts[0]->user, "elastic");
    assert_string_equal(es->pool.hosts[0]->password, "p@ss");
    assert_string_equal(es->pool.hosts[1]->base_url, "https://es2:9243/prefix");
    assert_string_equal(es->pool.hosts[1]->user, "u2");
    fini(&fx);
}

static void test_ipv6_host(void **state)
{
    struct fx fx;
    struct es_ctx *es;

    (void)state;
    assert_int_equal(init(&fx, "  host 2404:7a80:d440:3000:192a:a292:bd7f:ca10\n"), 0);
    es = fx.ins.ctx;
    assert_string_equal(es->pool.hosts[0]->base_url,
                        "http://[2404:7a80:d440:3000:192a:a292:bd7f:ca10]:9200");
    fini(&fx);
}

static void test_cloud_id(void **state)
{
    struct fx fx;
    struct es_ctx *es;

    (void)state;
    /* base64("europe-west1.gcp.cloud.es.io$abc123$kib456") */
    assert_int_equal(init(&fx, "  cloud_id test-dep:ZXVyb3BlLXdlc3QxLmdjcC5jbG91ZC5lcy5pbyRhYmMxMjMka2liNDU2\n"
                               "  cloud_auth elastic:pw\n"),
                     0);
    es = fx.ins.ctx;
    assert_int_equal(es->pool.n, 1);
    assert_string_equal(es->pool.hosts[0]->base_url,
                        "https://abc123.europe-west1.gcp.cloud.es.io:443");
    assert_string_equal(es->pool.hosts[0]->user, "elastic");
    assert_string_equal(es->pool.hosts[0]->password, "pw");
    fini(&fx);
}

static void test_api_key_and_headers(void **state)
{
    struct fx fx;
    struct es_ctx *es;

    (void)state;
    assert_int_equal(init(&fx, "  api_key VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw\n"
                               "  custom_headers {\"X-Org\":\"ops\"}\n"
                               "  content_type application/x-ndjson\n"),
                     0);
    es = fx.ins.ctx;
    assert_string_equal(header(es, "Authorization"),
                        "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
    assert_string_equal(header(es, "X-Org"), "ops");
    assert_string_equal(header(es, "Content-Type"), "application/x-ndjson");
    fini(&fx);
}

struct limit_case {
    const char *text;
    int rc;
    size_t limit;
};

static void test_threshold_table(void **state)
{
    static const struct limit_case cases[] = {
        {"  bulk_message_request_threshold 10m\n", 0, 10u << 20},
        {"  bulk_message_request_threshold 20MB\n", 0, 20u << 20},
        {"  bulk_message_request_threshold 512k\n", 0, 512u << 10},
        {"  bulk_message_request_threshold -1\n", 0, ES_BULK_BODY_MAX},
        {"  bulk_message_request_threshold 1g\n", 0, ES_BULK_BODY_MAX},
        {"  bulk_message_request_threshold lots\n", SK_ECONFIG, 0},
        {"  bulk_message_request_threshold 0\n", SK_ECONFIG, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx fx;
        int rc = init(&fx, cases[i].text);

        if (rc != cases[i].rc) {
            fail_msg("'%s': rc %d want %d", cases[i].text, rc, cases[i].rc);
        }
        if (rc == 0) {
            assert_int_equal(((struct es_ctx *)fx.ins.ctx)->limit, cases[i].limit);
        } else {
            assert_true(sk_diag_contains(&fx.d, "bulk_message_request_threshold"));
        }
        fini(&fx);
    }
}

struct error_case {
    const char *name;
    const char *text;
    const char *diag;
};

static const struct error_case error_cases[] = {
    {"user without password", "  user elastic\n", "`password` must be present"},
    {"cloud_id without cloud_auth", "  cloud_id x:eHl6JGFiYw==\n", "cloud_auth"},
    {"bad cloud_id", "  cloud_id x:!!!!\n  cloud_auth a:b\n", "cloud_id"},
    {"bad hosts entry", "  hosts es1:9201,ftp://x\n", "ftp://x"},
    {"bad port", "  port 70000\n", "port"},
    {"bad scheme", "  scheme gopher\n", "scheme"},
    {"bad write_operation", "  write_operation delete\n", "write_operation"},
    {"ssl_min_version alone", "  ssl_min_version TLSv1_2\n", "ssl_max_version"},
    {"flatten_hashes refused", "  flatten_hashes true\n", "flatten_hashes"},
    {"include_index_in_url refused", "  include_index_in_url true\n", "include_index_in_url"},
    {"unterminated placeholder", "  index_name logs-${tag\n", "index_name"},
    {"bad id_key", "  id_key $.\n", "id_key"},
    {"time_precision too big", "  time_precision 10\n", "time_precision"},
    {"socks proxy", "  proxy socks5://127.0.0.1:1080\n", "only http:// proxies"},
    {"https proxy", "  proxy https://proxy.example:3128\n", "only http:// proxies"},
    {"bad proxy", "  proxy http://[::1\n", "not a proxy URL"},
};

static void test_error_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        struct fx fx;
        int rc = init(&fx, error_cases[i].text);

        if (rc == 0) {
            fail_msg("case '%s': accepted", error_cases[i].name);
        }
        if (!sk_diag_contains(&fx.d, error_cases[i].diag)) {
            sk_diag_log(&fx.d);
            fail_msg("case '%s': no diagnostic mentions '%s'", error_cases[i].name,
                     error_cases[i].diag);
        }
        fini(&fx);
    }
}

static void test_version_without_verification(void **state)
{
    static const struct {
        const char *text;
        const char *type;
        const char *routing;
    } cases[] = {
        {"  verify_es_version_at_startup false\n", "fluentd", "_routing"},
        {"  verify_es_version_at_startup false\n  default_elasticsearch_version 7\n", "_doc",
         "routing"},
        {"  verify_es_version_at_startup false\n  default_elasticsearch_version 7\n"
         "  suppress_type_name true\n",
         NULL, "routing"},
        {"  verify_es_version_at_startup false\n  default_elasticsearch_version 8\n", NULL,
         "routing"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx fx;
        struct es_ctx *es;

        assert_int_equal(init(&fx, cases[i].text), 0);
        es = fx.ins.ctx;
        assert_int_equal(es->version_state, ES_VERSION_KNOWN);
        if (cases[i].type == NULL) {
            assert_null(es->dialect.type_name);
        } else {
            assert_string_equal(es->dialect.type_name, cases[i].type);
        }
        assert_string_equal(es->dialect.routing, cases[i].routing);
        fini(&fx);
    }
}

static void test_simple_sniffer_turns_sniffing_off(void **state)
{
    struct fx fx;

    (void)state;
    assert_int_equal(init(&fx, "  reload_on_failure true\n  reload_after 100\n"
                               "  sniffer_class_name Fluent::Plugin::ElasticsearchSimpleSniffer\n"),
                     0);
    assert_int_equal(((struct es_ctx *)fx.ins.ctx)->reload_after, 0);
    assert_false(((struct es_ctx *)fx.ins.ctx)->sniff_on_failure);
    fini(&fx);
    assert_int_equal(init(&fx, "  reload_on_failure true\n  reload_after 100\n"), 0);
    assert_int_equal(((struct es_ctx *)fx.ins.ctx)->reload_after, 100);
    assert_true(((struct es_ctx *)fx.ins.ctx)->sniff_on_failure);
    fini(&fx);
}

static void test_unimplemented_features_warn(void **state)
{
    struct fx fx;

    (void)state;
    assert_int_equal(init(&fx, "  target_index_affinity true\n"
                               "  unrecoverable_error_types [\"out_of_memory_error\","
                               "\"es_rejected_execution_exception\"]\n"),
                     0);
    assert_true(sk_diag_contains(&fx.d, "'target_index_affinity' is not implemented yet"));
    assert_true(sk_diag_contains(&fx.d, "go to @ERROR instead of being retried"));
    assert_int_equal(fx.d.errors, 0);
    fini(&fx);
}

static void test_record_settings(void **state)
{
    struct fx fx;
    struct es_ctx *es;

    (void)state;
    assert_int_equal(init(&fx, "  write_operation upsert\n  id_key $.req.id\n  routing_key user\n"
                               "  remove_keys a, b ,c\n  remove_keys_on_update x,y\n"
                               "  time_key vtm\n  time_key_format %Y-%m-%dT%H:%M:%S%z\n"
                               "  target_index_key meta.index\n  ssl_verify false\n"
                               "  compression_level best_compression\n"
                               "  ssl_min_version TLSv1_3\n  ssl_max_version TLSv1_3\n"),
                     0);
    es = fx.ins.ctx;
    assert_int_equal(es->bulk.op, ES_OP_UPSERT);
    assert_non_null(es->bulk.id_key);
    assert_int_equal(es->bulk.id_key->n, 2);
    assert_int_equal(es->bulk.nremove_keys, 3);
    assert_int_equal(es->bulk.remove_keys[1].n, 1);
    assert_memory_equal(es->bulk.remove_keys[1].p, "b", 1);
    assert_int_equal(es->bulk.nremove_keys_on_update, 2);
    assert_non_null(es->bulk.time_key_format);
    assert_true(es->bulk.time_key_format_has_zone);
    assert_int_equal(es->bulk.target_index_key->n, 2);
    assert_false(es->tls.verify);
    assert_int_equal(es->tls.min_version, 13);
    assert_int_equal(es->gzip_level, 9);
    fini(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_story_config),
        cmocka_unit_test(test_hosts_and_credentials),
        cmocka_unit_test(test_ipv6_host),
        cmocka_unit_test(test_cloud_id),
        cmocka_unit_test(test_api_key_and_headers),
        cmocka_unit_test(test_threshold_table),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_version_without_verification),
        cmocka_unit_test(test_simple_sniffer_turns_sniffing_off),
        cmocka_unit_test(test_unimplemented_features_warn),
        cmocka_unit_test(test_record_settings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
