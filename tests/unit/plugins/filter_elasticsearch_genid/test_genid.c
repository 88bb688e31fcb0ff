#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/diag.h"
#include "event/event.h"
#include "filter_elasticsearch_genid/genid_hash.h"
#include "filter_elasticsearch_genid/genid_seed.h"
#include "json/json.h"
#include "param/param.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

extern const struct sk_plugin sk_plugin_filter_elasticsearch_genid;

/* 2018-07-21T10:00:00Z */
#define T0 1532167200

struct seed_case {
    const char *name;
    const char *record; /* JSON */
    const char *keys;   /* comma list, or NULL */
    bool tag;
    bool time;
    bool entire;
    const char *want;
};

static const struct seed_case seed_cases[] = {
    {"two keys", "{\"a\":\"x\",\"b\":1}", "a,b", false, false, false, "x_1"},
    {"tag and time first", "{\"a\":\"x\",\"b\":1}", "a,b", true, true, false, "t.a_1532167200_x_1"},
    {"missing key is empty", "{\"a\":\"x\",\"b\":1}", "a,zz,b", false, false, false, "x__1"},
    {"null is empty", "{\"a\":null,\"b\":1}", "a,b", false, false, false, "_1"},
    {"Float#to_s",
     "{\"f1\":1.5,\"f2\":100.0,\"f3\":1e16,\"f4\":1e-5,\"f5\":0.0001,\"f6\":1e15,\"f7\":-2.5,"
     "\"f8\":0.1,\"f9\":123456.789}",
     "f1,f2,f3,f4,f5,f6,f7,f8,f9", false, false, false,
     "1.5_100.0_1.0e+16_1.0e-05_0.0001_1000000000000000.0_-2.5_0.1_123456.789"},
    {"arrays are joined flat", "{\"l\":[1,[2,\"x\"],[]]}", "l", false, false, false, "1_2_x_"},
    {"hash is inspected", "{\"h\":{\"k\":\"v\",\"n\":null,\"i\":-3}}", "h", false, false, false,
     "{\"k\"=>\"v\", \"n\"=>nil, \"i\"=>-3}"},
    {"booleans", "{\"t\":true,\"f\":false}", "t,f", false, false, false, "true_false"},
    {"integer range", "{\"u\":18446744073709551615,\"n\":-9223372036854775808}", "u,n", false,
     false, false, "18446744073709551615_-9223372036854775808"},
    {"entire record", "{\"a\":\"x\",\"b\":[1,\"y\"],\"c\":null,\"d\":true}", NULL, false, false,
     true, "|a|x|b|[1, \"y\"]|c||d|true"},
    {"entire record after tag", "{\"a\":\"x\"}", NULL, true, false, true, "t.a_|a|x"},
    {"inspect escapes",
     "{\"h\":{\"s\":\"q\\\"\\\\\\n#{x}\\u00e9\\u0001#a\"}}", "h", false, false, false,
     "{\"s\"=>\"q\\\"\\\\\\n\\#{x}\xc3\xa9\\u0001#a\"}"},
    {"strings as they are", "{\"s\":\"a\\\"b\\n\"}", "s", false, false, false, "a\"b\n"},
};

static void pack_json(struct sk_buf *buf, msgpack_unpacked *up, const char *json)
{
    assert_int_equal(sk_json_parse(json, strlen(json), buf, up), 0);
}

static void test_seed_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(seed_cases) / sizeof(seed_cases[0]); i++) {
        const struct seed_case *c = &seed_cases[i];
        struct sk_strv keys = {NULL, 0};
        struct genid_seed_opts o = {c->tag, c->time, c->entire, &keys, "_"};
        struct sk_time t = {T0, 5};
        struct sk_buf scratch;
        struct sk_buf out;
        msgpack_unpacked up;

        if (c->keys != NULL) {
            assert_int_equal(sk_param_parse_array(c->keys, &keys), 0);
        }
        sk_buf_init(&scratch, 1 << 16);
        sk_buf_init(&out, 1 << 16);
        msgpack_unpacked_init(&up);
        pack_json(&scratch, &up, c->record);
        assert_int_equal(genid_seed(&out, &o, "t.a", t, &up.data), 0);
        if (out.len != strlen(c->want) || memcmp(out.data != NULL ? out.data : "", c->want, out.len) != 0) {
            fail_msg("case '%s': got '%.*s', want '%s'", c->name, (int)out.len,
                     out.data != NULL ? out.data : "", c->want);
        }
        msgpack_unpacked_destroy(&up);
        sk_buf_cleanup(&scratch);
        sk_buf_cleanup(&out);
        sk_strv_free(&keys);
    }
}

static void test_binary_inspect(void **state)
{
    /* A bin value inside a hash: Ruby shows its bytes as \xNN. */
    msgpack_object_kv kv;
    msgpack_object map;
    struct sk_buf out;

    (void)state;
    kv.key.type = MSGPACK_OBJECT_STR;
    kv.key.via.str.ptr = "b";
    kv.key.via.str.size = 1;
    kv.val.type = MSGPACK_OBJECT_BIN;
    kv.val.via.bin.ptr = "\xff\x01z";
    kv.val.via.bin.size = 3;
    map.type = MSGPACK_OBJECT_MAP;
    map.via.map.size = 1;
    map.via.map.ptr = &kv;
    sk_buf_init(&out, 256);
    assert_int_equal(genid_ruby_inspect(&out, &map), 0);
    assert_string_equal(out.data, "{\"b\"=>\"\\xFF\\x01z\"}");
    sk_buf_reset(&out);
    kv.val.type = MSGPACK_OBJECT_STR;
    kv.val.via.str.ptr = "a\xff";
    kv.val.via.str.size = 2;
    assert_int_equal(genid_ruby_inspect(&out, &map), 0);
    assert_string_equal(out.data, "{\"b\"=>\"a\\xFF\"}");
    sk_buf_cleanup(&out);
}

static void test_digests(void **state)
{
    static const struct {
        enum genid_hash h;
        const char *want;
    } cases[] = {
        {GENID_MD5, "qmh9oAhsHqBgqIOOJGETGQ=="},
        {GENID_SHA1, "WT9M/11CENRuFA21e6/E9pJJP3Y="},
        {GENID_SHA256, "2bFWelK7bEKIu39mddu3wGxWQf25MQcn5VOYmfm5lPU="},
        {GENID_SHA512, "raSeDidMGLPclfp5oY6x0q7qXxCNrtQWpVZ822DUMz4oYeE4y78c+EF1oejQ3TaQzSlCjKmhTWKRum"
                       "JfhsLFDA=="},
    };
    char out[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = genid_digest_b64(cases[i].h, "x_1", 3, out, sizeof(out));

        assert_int_equal(n, (int)strlen(cases[i].want));
        assert_string_equal(out, cases[i].want);
    }
    assert_int_equal(genid_digest_b64(GENID_SHA512, "x", 1, out, 20), SK_ETOOBIG);
}

/* A small base64 decoder for the assertions. */
static int unb64(unsigned char *out, const char *s)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned int acc = 0;
    int bits = 0;
    int n = 0;

    for (; *s != '\0' && *s != '='; s++) {
        acc = acc << 6 | (unsigned int)(strchr(chars, *s) - chars);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

static void test_uuid(void **state)
{
    char a[64];
    char b[64];
    unsigned char dec[64];

    (void)state;
    assert_int_equal(genid_uuid_b64(a, sizeof(a)), 48);
    assert_int_equal(genid_uuid_b64(b, sizeof(b)), 48);
    assert_string_not_equal(a, b);
    /* It is the base64 of a version-4 UUID string. */
    assert_int_equal(unb64(dec, a), 36);
    assert_int_equal(dec[8], '-');
    assert_int_equal(dec[14], '4');
    assert_non_null(strchr("89ab", dec[19]));
}

/* --- the plugin through its parameter table ------------------------------------- */

struct fixture {
    struct sk_conf *conf;
    struct sk_instance ins;
    struct sk_diag d;
};

static int make_instance(struct fixture *fx, const char *text)
{
    const struct sk_plugin *p = &sk_plugin_filter_elasticsearch_genid;
    struct sk_conf_section *sec;
    int rc;

    memset(fx, 0, sizeof(*fx));
    sk_diag_init(&fx->d);
    fx->conf = sk_conf_load_string("test.conf", text, strlen(text), &fx->d);
    assert_non_null(fx->conf);
    assert_true(fx->conf->root->nchildren == 1);
    sec = fx->conf->root->children[0];
    fx->ins.plugin = p;
    fx->ins.section = sec;
    fx->ins.conf = calloc(1, p->conf_size);
    fx->ins.id = (char *)"genid.0";
    fx->ins.log_level = -1;
    rc = sk_param_apply(p->params, sec, fx->ins.conf, &fx->d);
    if (rc == 0) {
        rc = p->init(&fx->ins, &fx->d);
    }
    return rc;
}

static void free_instance(struct fixture *fx)
{
    const struct sk_plugin *p = &sk_plugin_filter_elasticsearch_genid;

    p->destroy(&fx->ins);
    sk_param_release(p->params, fx->ins.conf);
    free(fx->ins.conf);
    sk_conf_destroy(fx->conf);
    sk_diag_cleanup(&fx->d);
}

static void add_event(struct sk_evbuf *eb, const char *json)
{
    struct sk_time t = {T0, 0};

    assert_int_equal(sk_evbuf_begin(eb, t), 0);
    assert_int_equal(sk_json_to_msgpack(json, strlen(json), &eb->pk), 0);
    sk_evbuf_commit(eb);
}

/* Runs the filter over the JSON records and returns the output records as
 * JSON lines (for the caller to free). */
static char *run_filter(struct fixture *fx, const char *const *records, size_t n)
{
    struct sk_evbuf in;
    struct sk_evbuf out;
    struct sk_events ev;
    struct sk_event_iter it;
    const msgpack_object *rec;
    struct sk_time t;
    struct sk_buf text;

    sk_evbuf_init(&in, 1 << 20);
    sk_evbuf_init(&out, 1 << 20);
    sk_buf_init(&text, 1 << 20);
    for (size_t i = 0; i < n; i++) {
        add_event(&in, records[i]);
    }
    ev.tag = "t.a";
    ev.data = in.buf.data;
    ev.len = in.buf.len;
    ev.count = in.count;
    assert_int_equal(fx->ins.plugin->filter(&fx->ins, "t.a", &ev, &out), 0);
    assert_int_equal(out.count, n);
    sk_event_iter_init(&it, out.buf.data, out.buf.len);
    while (sk_event_iter_next(&it, &t, &rec) == 1) {
        assert_int_equal(t.sec, T0);
        assert_int_equal(sk_json_write_object(&text, rec), 0);
        assert_int_equal(sk_buf_putc(&text, '\n'), 0);
    }
    sk_event_iter_cleanup(&it);
    sk_evbuf_cleanup(&in);
    sk_evbuf_cleanup(&out);
    return sk_buf_take(&text, NULL);
}

static void test_filter_record_seed(void **state)
{
    struct fixture fx;
    static const char *const recs[] = {"{\"a\":\"x\",\"b\":1}",
                                       "{\"_id\":\"old\",\"a\":\"x\",\"b\":1}"};
    char *got;

    (void)state;
    assert_int_equal(make_instance(&fx, "<filter **>\n  @type elasticsearch_genid\n"
                                        "  use_record_as_seed true\n  record_keys a,b\n"
                                        "  hash_id_key _id\n</filter>\n"),
                     0);
    got = run_filter(&fx, recs, 2);
    assert_string_equal(got, "{\"a\":\"x\",\"b\":1,\"_id\":\"WT9M/11CENRuFA21e6/E9pJJP3Y=\"}\n"
                             "{\"_id\":\"WT9M/11CENRuFA21e6/E9pJJP3Y=\",\"a\":\"x\",\"b\":1}\n");
    sk_free(got);
    free_instance(&fx);
}

static void test_filter_entire_record_md5(void **state)
{
    struct fixture fx;
    static const char *const recs[] = {"{\"a\":\"x\",\"b\":[1,\"y\"],\"c\":null,\"d\":true}"};
    char *got;

    (void)state;
    assert_int_equal(make_instance(&fx, "<filter **>\n  @type elasticsearch_genid\n"
                                        "  use_record_as_seed true\n  use_entire_record true\n"
                                        "</filter>\n"),
                     0);
    got = run_filter(&fx, recs, 1);
    assert_string_equal(got, "{\"a\":\"x\",\"b\":[1,\"y\"],\"c\":null,\"d\":true,"
                             "\"_hash\":\"Qod4z7BXUg1BDDCER63ds5gKeRU=\"}\n");
    sk_free(got);
    free_instance(&fx);
}

static void test_filter_random_default(void **state)
{
    struct fixture fx;
    static const char *const recs[] = {"{\"a\":1}", "{\"a\":1}"};
    char *got;
    char *second;

    (void)state;
    assert_int_equal(make_instance(&fx, "<filter **>\n  @type elasticsearch_genid\n</filter>\n"), 0);
    got = run_filter(&fx, recs, 2);
    /* {"a":1,"_hash":"<48 chars>"} twice, different ids. */
    second = strchr(got, '\n') + 1;
    assert_int_equal(second - got, (long)strlen("{\"a\":1,\"_hash\":\"\"}\n") + 48);
    assert_memory_not_equal(got, second, strlen("{\"a\":1,\"_hash\":\"\"}\n") + 48);
    sk_free(got);
    free_instance(&fx);
}

static void test_config_error_without_keys(void **state)
{
    struct fixture fx;

    (void)state;
    assert_int_not_equal(make_instance(&fx, "<filter **>\n  @type elasticsearch_genid\n"
                                            "  use_record_as_seed true\n</filter>\n"),
                         0);
    assert_true(sk_diag_contains(&fx.d, "record_keys"));
    free_instance(&fx);
}

static void test_bad_hash_type(void **state)
{
    struct fixture fx;

    (void)state;
    assert_int_not_equal(make_instance(&fx, "<filter **>\n  @type elasticsearch_genid\n"
                                            "  hash_type crc32\n</filter>\n"),
                         0);
    assert_true(sk_diag_contains(&fx.d, "hash_type"));
    free_instance(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_table),
        cmocka_unit_test(test_binary_inspect),
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_filter_record_seed),
        cmocka_unit_test(test_filter_entire_record_md5),
        cmocka_unit_test(test_filter_random_default),
        cmocka_unit_test(test_config_error_without_keys),
        cmocka_unit_test(test_bad_hash_type),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
