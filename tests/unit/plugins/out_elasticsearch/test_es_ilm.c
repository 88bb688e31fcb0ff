#include "testutil.h"

/* Lifecycle policy bodies: ILM as written, ISM as written (+ ism_template),
 * ILM translated to ISM, and the refusals (es_ilm.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "json/json.h"
#include "out_elasticsearch/es_ilm.h"
#include "util/alloc.h"
#include "util/buf.h"

static const char *const nginx[] = {"nginx-*"};

/* The body for `json` on `lc`, or NULL with err filled. */
static char *body(const char *json, enum es_lifecycle lc, char *err, size_t size)
{
    struct sk_buf out;
    size_t len;
    int rc;

    sk_buf_init(&out, 1 << 20);
    rc = es_policy_body(json, strlen(json), lc, nginx, 1, &out, err, size);
    if (rc < 0) {
        sk_buf_cleanup(&out);
        return NULL;
    }
    return sk_buf_take(&out, &len);
}

static void test_paths_and_settings(void **state)
{
    (void)state;
    assert_string_equal(es_lifecycle_policy_path(ES_LIFECYCLE_ILM), "/_ilm/policy/");
    assert_string_equal(es_lifecycle_policy_path(ES_LIFECYCLE_ISM), "/_plugins/_ism/policies/");
    assert_string_equal(es_lifecycle_policy_path(ES_LIFECYCLE_OPENDISTRO),
                        "/_opendistro/_ism/policies/");
    assert_string_equal(es_lifecycle_alias_setting(ES_LIFECYCLE_ILM),
                        "index.lifecycle.rollover_alias");
    assert_string_equal(es_lifecycle_alias_setting(ES_LIFECYCLE_ISM),
                        "plugins.index_state_management.rollover_alias");
    assert_string_equal(es_lifecycle_alias_setting(ES_LIFECYCLE_OPENDISTRO),
                        "opendistro.index_state_management.rollover_alias");
}

struct body_case {
    const char *name;
    const char *in;
    enum es_lifecycle lc;
    const char *out; /* NULL: refused, `err` contains `want_err` */
    const char *want_err;
};

static const struct body_case body_cases[] = {
    {"default policy for ILM", es_ilm_default_policy, ES_LIFECYCLE_ILM,
     "{\"policy\":{\"phases\":{\"hot\":{\"min_age\":\"0ms\",\"actions\":{\"rollover\":"
     "{\"max_size\":\"50gb\",\"max_age\":\"30d\"}}}}}}",
     NULL},
    {"default policy for ISM", es_ilm_default_policy, ES_LIFECYCLE_ISM,
     "{\"policy\":{\"description\":\"translated by skiff from an ILM policy\","
     "\"default_state\":\"hot\",\"states\":[{\"name\":\"hot\",\"actions\":[{\"rollover\":"
     "{\"min_size\":\"50gb\",\"min_index_age\":\"30d\"}}],\"transitions\":[]}],"
     "\"ism_template\":[{\"index_patterns\":[\"nginx-*\"],\"priority\":100}]}}",
     NULL},
    {"bare ILM policy is wrapped",
     "{\"phases\":{\"delete\":{\"min_age\":\"1d\",\"actions\":"
     "{\"delete\":{}}}}}",
     ES_LIFECYCLE_ILM,
     "{\"policy\":{\"phases\":{\"delete\":{\"min_age\":\"1d\",\"actions\":{\"delete\":{}}}}}}",
     NULL},
    {"transitions carry the next phase's min_age",
     "{\"policy\":{\"phases\":{\"hot\":{\"actions\":{\"rollover\":{\"max_docs\":5}}},"
     "\"delete\":{\"min_age\":\"2d\",\"actions\":{\"delete\":{}}}}}}",
     ES_LIFECYCLE_OPENDISTRO,
     "{\"policy\":{\"description\":\"translated by skiff from an ILM policy\","
     "\"default_state\":\"hot\",\"states\":[{\"name\":\"hot\",\"actions\":[{\"rollover\":"
     "{\"min_doc_count\":5}}],\"transitions\":[{\"state_name\":\"delete\",\"conditions\":"
     "{\"min_index_age\":\"2d\"}}]},{\"name\":\"delete\",\"actions\":[{\"delete\":{}}],"
     "\"transitions\":[]}],\"ism_template\":[{\"index_patterns\":[\"nginx-*\"],"
     "\"priority\":100}]}}",
     NULL},
    {"zero min_age transitions at once, ILM action order",
     "{\"policy\":{\"phases\":{\"warm\":{\"actions\":{\"forcemerge\":{\"max_num_segments\":1},"
     "\"readonly\":{},\"set_priority\":{\"priority\":50},\"allocate\":{\"number_of_replicas\":0,"
     "\"include\":{\"box\":\"w\"}}}},\"cold\":{\"min_age\":\"0ms\",\"actions\":{}}}}}",
     ES_LIFECYCLE_ISM,
     "{\"policy\":{\"description\":\"translated by skiff from an ILM policy\","
     "\"default_state\":\"warm\",\"states\":[{\"name\":\"warm\",\"actions\":["
     "{\"index_priority\":{\"priority\":50}},{\"read_only\":{}},{\"replica_count\":"
     "{\"number_of_replicas\":0}},{\"allocation\":{\"include\":{\"box\":\"w\"},"
     "\"wait_for\":true}},{\"force_merge\":{\"max_num_segments\":1}}],\"transitions\":["
     "{\"state_name\":\"cold\"}]},{\"name\":\"cold\",\"actions\":[],\"transitions\":[]}],"
     "\"ism_template\":[{\"index_patterns\":[\"nginx-*\"],\"priority\":100}]}}",
     NULL},
    {"ISM as written gets an ism_template",
     "{\"policy\":{\"default_state\":\"a\",\"states\":[{\"name\":\"a\",\"actions\":[]}]}}",
     ES_LIFECYCLE_ISM,
     "{\"policy\":{\"default_state\":\"a\",\"states\":[{\"name\":\"a\",\"actions\":[]}],"
     "\"ism_template\":[{\"index_patterns\":[\"nginx-*\"],\"priority\":100}]}}",
     NULL},
    {"ISM keeps its own ism_template",
     "{\"default_state\":\"a\",\"states\":[],\"ism_template\":{\"index_patterns\":[\"x*\"]}}",
     ES_LIFECYCLE_ISM,
     "{\"policy\":{\"default_state\":\"a\",\"states\":[],\"ism_template\":{\"index_patterns\":"
     "[\"x*\"]}}}",
     NULL},
    {"ISM refused by Elasticsearch", "{\"policy\":{\"states\":[]}}", ES_LIFECYCLE_ILM, NULL,
     "cannot be installed as an Elasticsearch ILM policy"},
    {"searchable_snapshot",
     "{\"policy\":{\"phases\":{\"cold\":{\"actions\":{"
     "\"searchable_snapshot\":{\"snapshot_repository\":\"r\"}}}}}}",
     ES_LIFECYCLE_ISM, NULL, "ILM action [searchable_snapshot] in phase [cold] has no ISM"},
    {"freeze", "{\"policy\":{\"phases\":{\"cold\":{\"actions\":{\"freeze\":{}}}}}}",
     ES_LIFECYCLE_ISM, NULL, "action [freeze] in phase [cold]"},
    {"frozen phase", "{\"policy\":{\"phases\":{\"frozen\":{\"actions\":{}}}}}", ES_LIFECYCLE_ISM,
     NULL, "ILM phase [frozen] has no ISM equivalent"},
    {"unknown phase", "{\"policy\":{\"phases\":{\"lukewarm\":{}}}}", ES_LIFECYCLE_ISM, NULL,
     "ILM phase [lukewarm]"},
    {"max_primary_shard_docs",
     "{\"policy\":{\"phases\":{\"hot\":{\"actions\":{\"rollover\":{\"max_primary_shard_docs\":1"
     "}}}}}}",
     ES_LIFECYCLE_ISM, NULL, "setting [max_primary_shard_docs] of action [rollover]"},
    {"min_age rollover condition",
     "{\"policy\":{\"phases\":{\"hot\":{\"actions\":{\"rollover\":{\"max_age\":\"1d\","
     "\"min_docs\":1}}}}}}",
     ES_LIFECYCLE_ISM, NULL, "setting [min_docs] of action [rollover]"},
    {"total_shards_per_node",
     "{\"policy\":{\"phases\":{\"warm\":{\"actions\":{\"allocate\":{"
     "\"total_shards_per_node\":1}}}}}}",
     ES_LIFECYCLE_ISM, NULL, "setting [total_shards_per_node] of action [allocate]"},
    {"migrate", "{\"policy\":{\"phases\":{\"warm\":{\"actions\":{\"migrate\":{}}}}}}",
     ES_LIFECYCLE_ISM, NULL, "action [migrate] in phase [warm]"},
    {"unknown action", "{\"policy\":{\"phases\":{\"hot\":{\"actions\":{\"bananas\":{}}}}}}",
     ES_LIFECYCLE_ISM, NULL, "action [bananas] in phase [hot]"},
    {"not JSON", "{\"policy\":", ES_LIFECYCLE_ILM, NULL, "not a JSON object"},
    {"neither form", "{\"policy\":{\"x\":1}}", ES_LIFECYCLE_ILM, NULL,
     "neither \"phases\" (ILM) nor \"states\" (ISM)"},
};

static void test_body_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
        const struct body_case *c = &body_cases[i];
        char err[256] = "";
        char *got = body(c->in, c->lc, err, sizeof(err));

        if (c->out != NULL && (got == NULL || strcmp(got, c->out) != 0)) {
            fail_msg("case '%s':\n got  %s (%s)\n want %s", c->name, got != NULL ? got : "NULL",
                     err, c->out);
        }
        if (c->out == NULL && (got != NULL || strstr(err, c->want_err) == NULL)) {
            fail_msg("case '%s': got %s, err '%s', want '%s'", c->name, got != NULL ? got : "NULL",
                     err, c->want_err);
        }
        free(got);
    }
}

static void test_form(void **state)
{
    enum es_policy_form f;
    char err[128];

    (void)state;
    assert_int_equal(es_policy_form("{\"phases\":{}}", 13, &f, err, sizeof(err)), 0);
    assert_int_equal(f, ES_POLICY_ILM);
    assert_int_equal(es_policy_form("{\"policy\":{\"states\":[]}}", 24, &f, err, sizeof(err)), 0);
    assert_int_equal(f, ES_POLICY_ISM);
    assert_int_equal(es_policy_form("[1]", 3, &f, err, sizeof(err)), SK_EINVAL);
}

/* The compact JSON of policy.<key> in `json`. */
static char *member(const char *json, size_t len, const char *key)
{
    struct sk_buf scratch;
    struct sk_buf out;
    msgpack_unpacked up;
    const msgpack_object *pol = NULL;
    size_t n;
    char *r = NULL;

    sk_buf_init(&scratch, 1 << 20);
    sk_buf_init(&out, 1 << 20);
    msgpack_unpacked_init(&up);
    assert_int_equal(sk_json_parse(json, len, &scratch, &up), 0);
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        if (strncmp(up.data.via.map.ptr[i].key.via.str.ptr, "policy", 6) == 0) {
            pol = &up.data.via.map.ptr[i].val;
        }
    }
    assert_non_null(pol);
    for (uint32_t i = 0; i < pol->via.map.size; i++) {
        const msgpack_object *k = &pol->via.map.ptr[i].key;

        if (k->via.str.size == strlen(key) && memcmp(k->via.str.ptr, key, strlen(key)) == 0) {
            assert_int_equal(sk_json_write_object(&out, &pol->via.map.ptr[i].val), 0);
            r = sk_buf_take(&out, &n);
        }
    }
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    sk_buf_cleanup(&out);
    assert_non_null(r);
    return r;
}

/* conf/ilm/hot-warm-cold.ism.json is exactly what skiff makes of
 * conf/ilm/hot-warm-cold.ilm.json for OpenSearch: the two cannot drift. */
static void test_shipped_policies_agree(void **state)
{
    size_t ilm_len;
    size_t ism_len;
    char *ilm = sk_test_read_file(sk_test_data("../../conf/ilm/hot-warm-cold.ilm.json"), &ilm_len);
    char *ism = sk_test_read_file(sk_test_data("../../conf/ilm/hot-warm-cold.ism.json"), &ism_len);
    char err[256] = "";
    char *got;

    (void)state;
    assert_non_null(ilm);
    assert_non_null(ism);
    got = body(ilm, ES_LIFECYCLE_ISM, err, sizeof(err));
    if (got == NULL) {
        fail_msg("translation failed: %s", err);
    }
    for (size_t i = 0; i < 3; i++) {
        static const char *const keys[] = {"default_state", "states", "ism_template"};
        char *a = member(got, strlen(got), keys[i]);
        char *b = member(ism, ism_len, keys[i]);

        if (strcmp(a, b) != 0) {
            fail_msg("policy.%s differs:\n translated %s\n shipped    %s", keys[i], a, b);
        }
        free(a);
        free(b);
    }
    /* And the ILM file goes to Elasticsearch as written. */
    free(got);
    got = body(ilm, ES_LIFECYCLE_ILM, err, sizeof(err));
    assert_non_null(got);
    assert_non_null(strstr(got, "\"allocate\":{\"require\":{\"data\":\"warm\"}}"));
    free(got);
    free(ilm);
    free(ism);
}

static void test_out_of_room(void **state)
{
    struct sk_buf out;
    char err[64];

    (void)state;
    sk_buf_init(&out, 16);
    assert_int_equal(es_policy_body(es_ilm_default_policy, strlen(es_ilm_default_policy),
                                    ES_LIFECYCLE_ISM, nginx, 1, &out, err, sizeof(err)),
                     SK_ETOOBIG);
    sk_buf_cleanup(&out);
}

/* Every allocation failure is a clean SK_ENOMEM (ASan checks for leaks). */
static void test_allocation_failures(void **state)
{
    size_t len;
    char *ilm = sk_test_read_file(sk_test_data("../../conf/ilm/hot-warm-cold.ilm.json"), &len);
    int rc = SK_ENOMEM;

    (void)state;
    assert_non_null(ilm);
    for (long n = 1; rc == SK_ENOMEM && n < 10000; n++) {
        struct sk_buf out;
        char err[128];

        sk_buf_init(&out, 1 << 20);
        sk_alloc_fail_after(n, 0);
        rc = es_policy_body(ilm, len, ES_LIFECYCLE_ISM, nginx, 1, &out, err, sizeof(err));
        sk_alloc_fail_after(0, 0);
        sk_buf_cleanup(&out);
        if (rc != 0 && rc != SK_ENOMEM) {
            fail_msg("allocation %ld: rc %d (%s)", n, rc, err);
        }
    }
    assert_int_equal(rc, 0);
    free(ilm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_and_settings),
        cmocka_unit_test(test_body_table),
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_shipped_policies_agree),
        cmocka_unit_test(test_out_of_room),
        cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
