#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "out_elasticsearch/es_index.h"
#include "out_elasticsearch/es_time.h"

/* 2024-05-01T23:30:00Z */
#define T0 1714606200
#define DAY 86400

struct index_case {
    const char *name;
    bool logstash;
    const char *prefix;
    const char *sep;
    const char *datefmt;
    const char *index_name;
    bool utc_index;
    const char *tag;
    int64_t timekey;
    int64_t sec;
    int offset;
    const char *want;
    const char *warning; /* substring of ctx.warning, or NULL for none */
};

static const struct index_case cases[] = {
    {"logstash defaults", true, "logstash", "-", "%Y.%m.%d", "fluentd", true, "nginx", -1, T0, 0,
     "logstash-2024.05.01", NULL},
    {"utc_index ignores the offset", true, "logstash", "-", "%Y.%m.%d", "fluentd", true, "nginx",
     -1, T0, 9 * 3600, "logstash-2024.05.01", NULL},
    {"utc_index false uses the event's offset", true, "logstash", "-", "%Y.%m.%d", "fluentd",
     false, "nginx", -1, T0, 9 * 3600, "logstash-2024.05.02", NULL},
    {"negative offset goes back a day", true, "logstash", "-", "%Y.%m.%d", "fluentd", false,
     "nginx", -1, T0 + 3600, -5 * 3600, "logstash-2024.05.01", NULL},
    {"utc rollover: last second of the day", true, "es-log", "-", "%Y.%m.%d", "x", true, "t", -1,
     1714607999, 0, "es-log-2024.05.01", NULL},
    {"utc rollover: first second of the next day", true, "es-log", "-", "%Y.%m.%d", "x", true, "t",
     -1, 1714608000, 0, "es-log-2024.05.02", NULL},
    {"separator and monthly format", true, "mylogs", "_", "%Y%m", "x", true, "t", -1, T0, 0,
     "mylogs_202405", NULL},
    {"prefix placeholder and lower case", true, "App-${tag}", "-", "%Y.%m.%d", "x", true,
     "Nginx.Access", -1, T0, 0, "app-nginx.access-2024.05.01", NULL},
    {"dateformat from the chunk's timekey", true, "logstash", "-", "%Y.%m.%d", "x", true, "t",
     T0 - DAY, T0, 0, "logstash-2024.04.30", NULL},
    {"index_name static", false, "logstash", "-", "%Y.%m.%d", "fluentd", true, "t", -1, T0, 0,
     "fluentd", NULL},
    {"index_name lower-cased", false, "", "-", "", "Fluentd-APP", true, "t", -1, T0, 0,
     "fluentd-app", NULL},
    {"index_name ${tag}", false, "", "-", "", "elastic.${tag}", true, "test.tag", -1, T0, 0,
     "elastic.test.tag", NULL},
    {"tag parts", false, "", "-", "", "${tag[0]}-${tag[1]}-${tag[-1]}-${tag[-3]}", true, "a.b.c",
     -1, T0, 0, "a-b-c-a", NULL},
    {"tag part out of range stays", false, "", "-", "", "x-${tag[3]}", true, "a.b.c", -1, T0, 0,
     "x-${tag[3]}", "tag placeholder '${tag[3]}'"},
    {"negative tag part out of range", false, "", "-", "", "x-${tag[-4]}", true, "a.b.c", -1, T0,
     0, "x-${tag[-4]}", "${tag[-4]}"},
    {"no tag chunk key leaves ${tag}", false, "", "-", "", "x-${tag}", true, NULL, -1, T0, 0,
     "x-${tag}", "tag placeholder"},
    {"index_name strftime with timekey", false, "", "-", "", "elastic.%Y%m%d", true, "t",
     T0 - 2 * DAY, T0, 0, "elastic.20240429", NULL},
    {"index_name strftime per event without timekey", false, "", "-", "", "elastic.%Y%m%d", true,
     "t", -1, T0, 0, "elastic.20240501", NULL},
    {"index_name per event honours utc_index false", false, "", "-", "", "elastic.%Y%m%d", false,
     "t", -1, T0, 3600, "elastic.20240502", NULL},
    {"chunk key without variables stays", false, "", "-", "", "a.${key1}", true, "t", -1, T0, 0,
     "a.${key1}", "chunk key placeholder '${key1}'"},
    {"not a placeholder is literal", false, "", "-", "", "a${b c}d", true, "t", -1, T0, 0,
     "a${b c}d", NULL},
};

static void run_case(const struct index_case *c)
{
    struct es_index_conf conf = {c->logstash, c->prefix, c->sep, c->datefmt, c->index_name,
                                 c->utc_index};
    struct es_tmpl_ctx ctx = {.tag = c->tag, .timekey = c->timekey};
    struct es_index ix;
    char err[128] = "";
    const char *name;
    size_t len;

    assert_int_equal(es_index_init(&ix, &conf, err, sizeof(err)), 0);
    assert_int_equal(es_index_begin_chunk(&ix, &ctx), 0);
    assert_int_equal(es_index_name(&ix, c->sec, c->offset, &name, &len), 0);
    if (len != strlen(c->want) || memcmp(name, c->want, len) != 0) {
        fail_msg("case '%s': got '%.*s', want '%s'", c->name, (int)len, name, c->want);
    }
    if (c->warning == NULL && ctx.warning[0] != '\0') {
        fail_msg("case '%s': unexpected warning '%s'", c->name, ctx.warning);
    }
    if (c->warning != NULL && strstr(ctx.warning, c->warning) == NULL) {
        fail_msg("case '%s': warning '%s' lacks '%s'", c->name, ctx.warning, c->warning);
    }
    es_index_cleanup(&ix);
}

static void test_index_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i]);
    }
}

/* Midnight in the event's own zone (utc_index false, event time in local
 * time, as Time.at(time) gives it): Asia/Tokyo flips at 15:00Z. */
static void test_local_midnight_rollover(void **state)
{
    struct es_index_conf conf = {true, "logstash", "-", "%Y.%m.%d", "x", false};
    struct es_tmpl_ctx ctx = {.tag = "t", .timekey = -1};
    struct es_index ix;
    const char *name;
    size_t len;
    char err[64];
    int64_t before = 1714575599; /* 2024-05-01T14:59:59Z = 23:59:59 JST */

    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    assert_int_equal(es_index_init(&ix, &conf, err, sizeof(err)), 0);
    assert_int_equal(es_index_begin_chunk(&ix, &ctx), 0);
    assert_int_equal(es_index_name(&ix, before, es_local_offset(before), &name, &len), 0);
    assert_string_equal(name, "logstash-2024.05.01");
    assert_int_equal(es_index_name(&ix, before + 1, es_local_offset(before + 1), &name, &len), 0);
    assert_string_equal(name, "logstash-2024.05.02");
    es_index_cleanup(&ix);
    unsetenv("TZ");
    tzset();
}

static void test_chunk_variables(void **state)
{
    struct sk_kv kv[2] = {{"key1", "value1"}, {"key2", "Value2"}};
    struct sk_kvv vars = {kv, 2};
    struct es_index_conf conf = {false, "", "-", "", "elastic.${key1}.${key2}.${missing}", true};
    struct es_tmpl_ctx ctx = {.tag = "t", .timekey = -1, .vars = &vars};
    struct es_index ix;
    const char *name;
    size_t len;
    char err[64];

    (void)state;
    assert_int_equal(es_index_init(&ix, &conf, err, sizeof(err)), 0);
    assert_int_equal(es_index_begin_chunk(&ix, &ctx), 0);
    assert_int_equal(es_index_name(&ix, T0, 0, &name, &len), 0);
    assert_string_equal(name, "elastic.value1.value2.");
    assert_non_null(strstr(ctx.warning, "${missing}") != NULL ? ctx.warning : NULL);
    es_index_cleanup(&ix);
}

static void test_chunk_id_placeholder(void **state)
{
    struct es_tmpl *t;
    struct es_tmpl_ctx ctx = {.tag = "t", .timekey = -1, .chunk_id = "5f0c"};
    struct sk_buf out;

    (void)state;
    sk_buf_init(&out, 256);
    assert_int_equal(es_tmpl_compile("p-${chunk_id}", &t), 0);
    assert_true(es_tmpl_is_dynamic(t));
    assert_int_equal(es_tmpl_expand(t, &ctx, &out), 0);
    assert_string_equal(out.data, "p-5f0c");
    es_tmpl_free(t);
    sk_buf_cleanup(&out);
}

static void test_static_template(void **state)
{
    struct es_tmpl *t;

    (void)state;
    assert_int_equal(es_tmpl_compile("my_pipeline", &t), 0);
    assert_false(es_tmpl_is_dynamic(t));
    es_tmpl_free(t);
}

static void test_unterminated_placeholder(void **state)
{
    struct es_index_conf conf = {false, "logstash", "-", "%Y", "idx-${tag", true};
    struct es_index ix;
    char err[128] = "";

    (void)state;
    assert_int_equal(es_index_init(&ix, &conf, err, sizeof(err)), SK_EINVAL);
    assert_non_null(strstr(err, "index_name"));
    es_index_cleanup(&ix);
}

static void test_cache_hits_same_second(void **state)
{
    struct es_index_conf conf = {true, "logstash", "-", "%Y.%m.%d", "x", true};
    struct es_tmpl_ctx ctx = {.tag = "t", .timekey = -1};
    struct es_index ix;
    const char *a;
    const char *b;
    size_t len;
    char err[64];

    (void)state;
    assert_int_equal(es_index_init(&ix, &conf, err, sizeof(err)), 0);
    assert_int_equal(es_index_begin_chunk(&ix, &ctx), 0);
    assert_int_equal(es_index_name(&ix, T0, 0, &a, &len), 0);
    assert_int_equal(es_index_name(&ix, T0, 0, &b, &len), 0);
    assert_ptr_equal(a, b);
    assert_string_equal(b, "logstash-2024.05.01");
    /* A new chunk drops the cache: its prefix may differ. */
    ctx.tag = "u";
    assert_int_equal(es_index_begin_chunk(&ix, &ctx), 0);
    assert_false(ix.cache_valid);
    es_index_cleanup(&ix);
}

static void test_too_long_name(void **state)
{
    char prefix[ES_INDEX_NAME_MAX + 8];
    struct es_index_conf conf = {true, prefix, "-", "%Y", "x", true};
    struct es_tmpl_ctx ctx = {.tag = "t", .timekey = -1};
    struct es_index ix;
    const char *name;
    size_t len;
    char err[64];

    (void)state;
    memset(prefix, 'a', sizeof(prefix) - 1);
    prefix[sizeof(prefix) - 1] = '\0';
    assert_int_equal(es_index_init(&ix, &conf, err, sizeof(err)), 0);
    assert_int_not_equal(es_index_begin_chunk(&ix, &ctx), 0); /* SK_ETOOBIG from the buffer */
    es_index_cleanup(&ix);
    (void)name;
    (void)len;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_table),
        cmocka_unit_test(test_local_midnight_rollover),
        cmocka_unit_test(test_chunk_variables),
        cmocka_unit_test(test_chunk_id_placeholder),
        cmocka_unit_test(test_static_template),
        cmocka_unit_test(test_unterminated_placeholder),
        cmocka_unit_test(test_cache_hits_same_second),
        cmocka_unit_test(test_too_long_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
