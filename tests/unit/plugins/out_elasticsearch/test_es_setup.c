#include "testutil.h"

/* Index management configuration and naming (es_setup.h): what td-agent
 * <match> blocks turn into, what is refused, the names of aliases, first
 * indices and templates, and the flush hooks that need no server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "out_elasticsearch/es.h"
#include "out_elasticsearch/es_setup_int.h"
#include "param/param.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

extern const struct sk_plugin sk_plugin_out_elasticsearch;
extern const struct sk_plugin sk_plugin_out_elasticsearch_data_stream;

struct fx {
    struct sk_conf *conf;
    struct sk_instance ins;
    struct sk_diag d;
    const struct sk_plugin *p;
};

static int init_with(struct fx *fx, const struct sk_plugin *p, const char *params)
{
    char text[8192];
    int rc;

    memset(fx, 0, sizeof(*fx));
    fx->p = p;
    snprintf(text, sizeof(text), "<match app.**>\n  @type %s\n%s</match>\n", p->name, params);
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

/* An empty template file of the test's own (customize_template supplies
 * the body): not /dev/null, which a broken machine may have as a file. */
static const char *empty_template(void)
{
    static char path[512];

    if (path[0] == '\0') {
        FILE *f;

        snprintf(path, sizeof(path), "%s/empty-template.json", sk_test_tmpdir());
        f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    return path;
}

static int init(struct fx *fx, const char *params)
{
    return init_with(fx, &sk_plugin_out_elasticsearch, params);
}

static void fini(struct fx *fx)
{
    fx->p->destroy(&fx->ins);
    assert_null(fx->ins.ctx);
    sk_param_release(fx->p->params, fx->ins.conf);
    free(fx->ins.conf);
    sk_conf_destroy(fx->conf);
    sk_diag_cleanup(&fx->d);
}

static struct es_ctx *ctx(struct fx *fx)
{
    return fx->ins.ctx;
}

struct refusal {
    const char *name;
    bool data_stream;
    const char *params;
    const char *want;
};

static const struct refusal refusals[] = {
    {"deflector_alias with enable_ilm", false, "  enable_ilm true\n  deflector_alias x\n",
     "deflector_alias is prohibited to use with enable_ilm at same time."},
    {"ilm_policy and ilm_policies", false,
     "  enable_ilm true\n  ilm_policy {\"policy\":{\"phases\":{}}}\n"
     "  ilm_policies {\"a\":{\"policy\":{\"phases\":{}}}}\n",
     "You can't specify ilm_policy and ilm_policies at the same time"},
    {"overwrite without a policy", false, "  enable_ilm true\n  ilm_policy_overwrite true\n",
     "ilm_policy_overwrite requires a non empty ilm_policy."},
    {"data stream parameter on the plain output", false, "  data_stream_name logs-a-b\n",
     "'data_stream_name' is a parameter of @type elasticsearch_data_stream"},
    {"data stream without a name", true, "", "'data_stream_name' parameter is required"},
    {"data stream name in upper case", true, "  data_stream_name Logs\n",
     "'data_stream_name' must be lowercase only: <Logs>"},
    {"data stream name with a space", true, "  data_stream_name \"a b\"\n",
     "'data_stream_name' must not contain invalid characters"},
    {"template file missing", false,
     "  template_name t\n  template_file /nonexistent/skiff/t.json\n",
     "If you specify a template_name you must specify a valid template file (checked "
     "'/nonexistent/skiff/t.json')"},
    {"policy that is neither ILM nor ISM", false,
     "  enable_ilm true\n  ilm_policy {\"policy\":{\"rules\":[]}}\n",
     "ilm_policy: the policy has neither \"phases\" (ILM) nor \"states\" (ISM)"},
    {"ILM-only action with ISM forced", false,
     "  enable_ilm true\n  lifecycle_api ism\n"
     "  ilm_policy {\"policy\":{\"phases\":{\"cold\":{\"actions\":{\"freeze\":{}}}}}}\n",
     "ilm_policy: ILM action [freeze] in phase [cold] has no ISM equivalent"},
    {"ISM policy with ILM forced", false,
     "  enable_ilm true\n  lifecycle_api ilm\n"
     "  ilm_policies {\"p\":{\"policy\":{\"states\":[]}}}\n",
     "ilm_policies['p']: an ISM policy (\"states\") cannot be installed"},
};

static void test_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        const struct refusal *r = &refusals[i];
        struct fx fx;
        int rc = init_with(&fx,
                           r->data_stream ? &sk_plugin_out_elasticsearch_data_stream
                                          : &sk_plugin_out_elasticsearch,
                           r->params);

        if (rc == 0 || !sk_diag_contains(&fx.d, r->want)) {
            sk_diag_log(&fx.d);
            fail_msg("case '%s': rc %d, want an error containing \"%s\"", r->name, rc, r->want);
        }
        fini(&fx);
    }
}

static void test_nothing_to_manage(void **state)
{
    struct fx fx;

    (void)state;
    assert_int_equal(init(&fx, "  logstash_format true\n"), 0);
    assert_null(ctx(&fx)->setup);
    assert_string_equal(es_setup_bulk_params(ctx(&fx)), "");
    fini(&fx);
}

static void test_modes_and_redirects(void **state)
{
    struct fx fx;
    struct es_ctx *es;
    char params[1024];

    (void)state;
    assert_int_equal(init(&fx, "  rollover_index true\n  deflector_alias web\n"), 0);
    es = ctx(&fx);
    assert_non_null(es->setup);
    assert_true(es->setup->alias_mode);
    assert_false(es->setup->ilm);
    assert_string_equal(es->index_conf.index_name, "web");
    fini(&fx);

    assert_int_equal(init_with(&fx, &sk_plugin_out_elasticsearch_data_stream,
                               "  data_stream_name logs-nginx-${tag}\n  write_operation create\n"),
                     0);
    es = ctx(&fx);
    assert_true(es->setup->data_stream);
    assert_false(es->setup->alias_mode);
    assert_string_equal(es->index_conf.index_name, "logs-nginx-${tag}");
    assert_false(es->index_conf.logstash_format);
    assert_int_equal(es->bulk.op, ES_OP_INDEX);
    assert_true(es->bulk.add_timestamp);
    assert_int_equal(es->setup->legacy_param, 0);
    assert_int_equal(es_setup_response_op(es, ES_OP_INDEX), ES_OP_CREATE);
    fini(&fx);

    snprintf(params, sizeof(params),
             "  template_name t\n  template_file %s\n"
             "  customize_template {\"x\":\"y\"}\n  use_legacy_template false\n",
             empty_template());
    assert_int_equal(init(&fx, params), 0);
    assert_true(ctx(&fx)->setup->template_mode);
    assert_int_equal(ctx(&fx)->setup->legacy_param, 0);
    fini(&fx);
}

/* Names of one chunk and of the alias target built from them. */
struct naming {
    const char *name;
    const char *params;
    const char *tag;
    const char *index; /* the _index of a document */
    const char *bootstrap;
    const char *pattern;
    const char *ism;
    int64_t prio_count;
};

static const struct naming namings[] = {
    {"index_name with a tag, application_name",
     "  index_name Nginx-${tag}\n"
     "  application_name App\n",
     "web", "nginx-web", "<nginx-web-app-{now/d}-000001>", "nginx-web-*", "nginx-web-*", 1},
    {"no date pattern", "  index_name nginx\n  index_date_pattern \"\"\n", "t", "nginx",
     "<nginx-default-000001>", "nginx-*", "nginx-*", 0},
    {"date pattern with a format and a zone",
     "  index_name nginx\n  index_date_pattern \"now/M{yyyy.MM|+09:00}\"\n  index_separator _\n",
     "t", "nginx", "<nginx_default-{now/M{yyyy.MM|+09:00}}-000001>", "nginx_*", "nginx_*", 0},
    {"logstash_format: the day's index is the alias",
     "  logstash_format true\n  logstash_prefix Logs-${tag}\n", "web", "logs-web-2024.05.01",
     "<logs-web-default-2024.05.01-000001>", "logs-web-default-2024.05.01-*", "logs-web-default-*",
     3},
    {"index_prefix (deprecated) names the first index", "  index_name nginx\n  index_prefix old\n",
     "t", "nginx", "<old-default-{now/d}-000001>", "old-*", "old-*", 0},
    {"an index named by the record (target_index_key)",
     "  index_name nginx\n  target_index_key idx\n", "t", "other", "<other-default-{now/d}-000001>",
     "other-*", "other-*", 0},
};

static void test_naming_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(namings) / sizeof(namings[0]); i++) {
        const struct naming *c = &namings[i];
        char params[1024];
        struct es_tmpl_ctx tctx = {.tag = c->tag, .timekey = -1};
        struct es_setup_names *n = NULL;
        struct es_target t;
        struct fx fx;

        snprintf(params, sizeof(params), "  enable_ilm true\n%s", c->params);
        if (init(&fx, params) != 0) {
            sk_diag_log(&fx.d);
            fail_msg("case '%s': init failed", c->name);
        }
        memset(&t, 0, sizeof(t));
        assert_int_equal(es_setup_begin_chunk(ctx(&fx), &tctx, &n), 0);
        assert_non_null(n);
        assert_int_equal(es_setup_alias_names(ctx(&fx)->setup, n, c->index, &t), 0);
        if (strcmp(t.bootstrap, c->bootstrap) != 0 || strcmp(t.pattern, c->pattern) != 0 ||
            strcmp(t.ism_patterns[0], c->ism) != 0 || t.prio_count != c->prio_count) {
            fail_msg("case '%s': got %s %s %s %lld", c->name, t.bootstrap, t.pattern,
                     t.ism_patterns[0], (long long)t.prio_count);
        }
        free(t.bootstrap);
        free(t.pattern);
        free(t.ism_patterns[0]);
        es_setup_names_free(n);
        fini(&fx);
    }
}

static void test_data_stream_names_and_create(void **state)
{
    static const char body[] = "{\"index\":{\"_index\":\"logs-a\"}}\n{\"index\":{\"x\":1}}\n"
                               "{\"index\":{\"_index\":\"logs-a\",\"_id\":\"7\"}}\n{\"y\":2}\n";
    struct es_tmpl_ctx tctx = {.tag = "web", .timekey = -1};
    struct es_setup_names *n = NULL;
    struct es_bulk_req req;
    struct fx fx;

    (void)state;
    assert_int_equal(init_with(&fx, &sk_plugin_out_elasticsearch_data_stream,
                               "  data_stream_name logs-${tag}\n"
                               "  data_stream_ilm_name ${tag}-ilm\n"),
                     0);
    assert_int_equal(es_setup_begin_chunk(ctx(&fx), &tctx, &n), 0);
    assert_string_equal(n->ds, "logs-web");
    assert_string_equal(n->ds_policy, "web-ilm");
    assert_string_equal(n->ds_template, "logs-web_template");
    es_bulk_req_init(&req);
    assert_int_equal(sk_buf_append(&req.body, body, sizeof(body) - 1), 0);
    assert_int_equal(es_setup_rewrite_create(n, &req), 0);
    /* Action lines only: a source that looks like an action stays. */
    assert_string_equal(req.body.data,
                        "{\"create\":{\"_index\":\"logs-a\"}}\n{\"index\":{\"x\":1}}\n"
                        "{\"create\":{\"_index\":\"logs-a\",\"_id\":\"7\"}}\n{\"y\":2}\n");
    es_bulk_req_cleanup(&req);
    es_setup_names_free(n);
    fini(&fx);
}

static void test_require_alias_items(void **state)
{
    struct es_item gone = {.outcome = ES_ITEM_REJECT, .status = 404};
    struct es_item other = {.outcome = ES_ITEM_REJECT, .status = 404};
    struct fx fx;

    (void)state;
    gone.reason = "404 index_not_found_exception: no such index [nginx] and [require_alias] "
                  "request flag is [true] and [nginx] is not an alias";
    other.reason = "404 index_not_found_exception: no such index";
    assert_int_equal(init(&fx, "  enable_ilm true\n  index_name nginx\n"), 0);
    es_setup_item(ctx(&fx), &gone);
    es_setup_item(ctx(&fx), &other);
    assert_int_equal(gone.outcome, ES_ITEM_RETRY);
    assert_int_equal(other.outcome, ES_ITEM_REJECT);
    fini(&fx);
}

static void test_policy_sources(void **state)
{
    struct fx fx;
    struct es_setup *s;

    (void)state;
    assert_int_equal(init(&fx, "  enable_ilm true\n"
                               "  ilm_policies {\"a\":{\"policy\":{\"phases\":{}}},"
                               "\"b\":{\"phases\":{\"hot\":{}}}}\n"),
                     0);
    s = ctx(&fx)->setup;
    assert_int_equal(s->ilm_policies.n, 2);
    assert_string_equal(s->ilm_policies.v[0].key, "a");
    assert_string_equal(s->ilm_policies.v[1].value, "{\"phases\":{\"hot\":{}}}");
    assert_null(s->ilm_policy);
    fini(&fx);
    /* Multi-line JSON in the configuration, as conf/ ships it. */
    assert_int_equal(init(&fx, "  enable_ilm true\n  ilm_policy {\n    \"policy\": {\n"
                               "      \"phases\": {}\n    }\n  }\n"),
                     0);
    assert_non_null(ctx(&fx)->setup->ilm_policy);
    assert_non_null(strstr(ctx(&fx)->setup->ilm_policy, "\"phases\""));
    fini(&fx);
}

/* The names of a chunk under every allocation failure: SK_ENOMEM, no leak. */
static void test_allocation_failures(void **state)
{
    struct es_tmpl_ctx tctx = {.tag = "web", .timekey = -1};
    struct fx fx;
    int rc = SK_ENOMEM;
    char params[1024];

    (void)state;
    snprintf(params, sizeof(params),
             "  enable_ilm true\n  logstash_format true\n"
             "  logstash_prefix l-${tag}\n  ilm_policy_id p-${tag}\n"
             "  customize_template {\"a\":\"${tag}\"}\n"
             "  template_name t\n  template_file %s\n",
             empty_template());
    assert_int_equal(init(&fx, params), 0);
    for (long n = 1; rc == SK_ENOMEM && n < 10000; n++) {
        struct es_setup_names *names = NULL;
        struct es_target t;

        memset(&t, 0, sizeof(t));
        sk_alloc_fail_after(n, 0);
        rc = es_setup_begin_chunk(ctx(&fx), &tctx, &names);
        if (rc == 0) {
            rc = es_setup_alias_names(ctx(&fx)->setup, names, "l-web-2024.05.01", &t);
        }
        sk_alloc_fail_after(0, 0);
        if (rc != 0 && rc != SK_ENOMEM) {
            fail_msg("allocation %ld: rc %d", n, rc);
        }
        free(t.bootstrap);
        free(t.pattern);
        free(t.ism_patterns[0]);
        es_setup_names_free(names);
    }
    assert_int_equal(rc, 0);
    fini(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_nothing_to_manage),
        cmocka_unit_test(test_modes_and_redirects),
        cmocka_unit_test(test_naming_table),
        cmocka_unit_test(test_data_stream_names_and_create),
        cmocka_unit_test(test_require_alias_items),
        cmocka_unit_test(test_policy_sources),
        cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
