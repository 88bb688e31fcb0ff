/* The parameter engine: types, defaults, bounds, aliases, errors. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "param/param.h"
#include "util/alloc.h"
#include "util/buf.h"

struct demo_conf {
    char *host;
    int64_t port;
    double ratio;
    bool ssl;
    uint64_t chunk;
    int64_t flush_ms;
    int mode;
    char *pattern;
    struct sk_strv hosts;
    struct sk_kvv headers;
    char *password;
};

static const char *const modes[] = {"index", "create", "update", NULL};

#define OFF(f) offsetof(struct demo_conf, f)
static const struct sk_param_def demo_params[] = {
    {.name = "host", .type = SK_PARAM_STRING, .def = "localhost", .offset = OFF(host), .desc = "h"},
    {.name = "port", .type = SK_PARAM_INT, .def = "9200", .min = "1", .max = "65535",
     .offset = OFF(port), .desc = "p"},
    {.name = "ratio", .type = SK_PARAM_FLOAT, .def = "0.5", .offset = OFF(ratio), .desc = "r"},
    {.name = "ssl", .type = SK_PARAM_BOOL, .def = "false", .offset = OFF(ssl), .desc = "s"},
    {.name = "chunk_limit_size", .alias = "buffer_chunk_limit", .type = SK_PARAM_SIZE,
     .def = "8m", .offset = OFF(chunk), .desc = "c"},
    {.name = "flush_interval", .type = SK_PARAM_TIME, .def = "60s", .min = "1s",
     .offset = OFF(flush_ms), .desc = "f"},
    {.name = "write_operation", .type = SK_PARAM_ENUM, .def = "index", .choices = modes,
     .offset = OFF(mode), .desc = "w"},
    {.name = "pattern", .type = SK_PARAM_REGEXP, .offset = OFF(pattern), .desc = "x"},
    {.name = "hosts", .type = SK_PARAM_ARRAY, .offset = OFF(hosts), .desc = "hs"},
    {.name = "custom_headers", .type = SK_PARAM_HASH, .offset = OFF(headers), .desc = "ch"},
    {.name = "password", .type = SK_PARAM_STRING, .offset = OFF(password),
     .flags = SK_PARAM_SECRET, .desc = "pw"},
    SK_PARAM_END,
};

struct fixture {
    struct sk_conf *conf;
    struct sk_diag diag;
    struct demo_conf out;
};

static struct sk_conf_section *load(struct fixture *fx, const char *text)
{
    memset(fx, 0, sizeof(*fx));
    sk_diag_init(&fx->diag);
    fx->conf = sk_conf_load_string("test.conf", text, strlen(text), &fx->diag);
    assert_non_null(fx->conf);
    assert_int_equal(fx->diag.errors, 0);
    assert_true(fx->conf->root->nchildren > 0);
    return fx->conf->root->children[0];
}

static void done(struct fixture *fx)
{
    sk_param_release(demo_params, &fx->out);
    sk_conf_destroy(fx->conf);
    sk_diag_cleanup(&fx->diag);
}

static void test_defaults(void **state)
{
    struct fixture fx;
    struct sk_conf_section *s = load(&fx, "<match a>\n  @type x\n</match>\n");

    (void)state;
    assert_int_equal(sk_param_apply(demo_params, s, &fx.out, &fx.diag), 0);
    assert_string_equal(fx.out.host, "localhost");
    assert_int_equal(fx.out.port, 9200);
    assert_true(fx.out.ratio == 0.5);
    assert_false(fx.out.ssl);
    assert_int_equal(fx.out.chunk, 8u << 20);
    assert_int_equal(fx.out.flush_ms, 60000);
    assert_int_equal(fx.out.mode, 0);
    assert_null(fx.out.pattern);
    done(&fx);
}

static void test_values(void **state)
{
    struct fixture fx;
    struct sk_conf_section *s = load(&fx,
        "<match a>\n"
        "  host es.local\n"
        "  port 9201\n"
        "  ratio 0.25\n"
        "  ssl\n"
        "  buffer_chunk_limit 2k\n"
        "  flush_interval 1.5\n"
        "  write_operation create\n"
        "  pattern /^GET (.*)$/\n"
        "  hosts http://a:9200, http://b:9200\n"
        "  custom_headers {\"X-A\":\"1\",\"X-B\":\"two\"}\n"
        "  password s3cret\n"
        "</match>\n");
    struct sk_buf dump;

    (void)state;
    assert_int_equal(sk_param_apply(demo_params, s, &fx.out, &fx.diag), 0);
    assert_string_equal(fx.out.host, "es.local");
    assert_int_equal(fx.out.port, 9201);
    assert_true(fx.out.ssl);
    assert_int_equal(fx.out.chunk, 2048);
    assert_int_equal(fx.out.flush_ms, 1500);
    assert_int_equal(fx.out.mode, 1);
    assert_string_equal(fx.out.pattern, "/^GET (.*)$/");
    assert_int_equal(fx.out.hosts.n, 2);
    assert_string_equal(fx.out.hosts.v[1], "http://b:9200");
    assert_int_equal(fx.out.headers.n, 2);
    assert_string_equal(fx.out.headers.v[1].key, "X-B");
    assert_string_equal(fx.out.headers.v[1].value, "two");
    for (size_t i = 0; i < s->nparams; i++) {
        assert_true(s->params[i].used);
    }
    sk_buf_init(&dump, 1 << 20);
    assert_int_equal(sk_param_dump(demo_params, &fx.out, 2, &dump), 0);
    assert_non_null(strstr(dump.data, "  password xxxxxx\n"));
    assert_null(strstr(dump.data, "s3cret"));
    assert_non_null(strstr(dump.data, "  flush_interval 1500ms\n"));
    sk_buf_cleanup(&dump);
    done(&fx);
}

struct error_case {
    const char *line;
    const char *message;
};

static const struct error_case error_cases[] = {
    {"port abc", "test.conf:2: <match a>: invalid value for parameter 'port': 'abc' (expected an integer)"},
    {"port 70000", "test.conf:2: <match a>: parameter 'port' value '70000' is out of range"},
    {"ssl maybe", "invalid value for parameter 'ssl': 'maybe' (expected true or false)"},
    {"write_operation upsertx", "(expected one of index, create, update)"},
    {"flush_interval 0.2s", "out of range (min 1s)"},
    {"buffer_chunk_limit 8x", "invalid value for parameter 'buffer_chunk_limit'"},
    {"pattern /(unclosed/", "invalid value for parameter 'pattern'"},
};

/* URLs with credentials (proxy, hosts) are shown without their password. */
static void test_dump_masks_url_passwords(void **state)
{
    struct fixture fx;
    struct sk_conf_section *s = load(&fx, "<x>\n  host http://u:pw1@proxy:3128\n"
                                          "  hosts https://a:pw2@es1:9200,http://es2:9200,"
                                          "https://b@es3,http://c:pw3@es4/p?q=a:b@c\n</x>\n");
    struct sk_buf dump;

    (void)state;
    assert_int_equal(sk_param_apply(demo_params, s, &fx.out, &fx.diag), 0);
    sk_buf_init(&dump, 1 << 20);
    assert_int_equal(sk_param_dump(demo_params, &fx.out, 0, &dump), 0);
    assert_non_null(strstr(dump.data, "host http://u:xxxxxx@proxy:3128\n"));
    assert_non_null(strstr(dump.data, "hosts https://a:xxxxxx@es1:9200,http://es2:9200,"
                                      "https://b@es3,http://c:xxxxxx@es4/p?q=a:b@c\n"));
    assert_null(strstr(dump.data, "pw1"));
    assert_null(strstr(dump.data, "pw2"));
    assert_null(strstr(dump.data, "pw3"));
    sk_buf_cleanup(&dump);
    done(&fx);
}

static void test_errors_name_file_line_section(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        struct fixture fx;
        char text[256];
        struct sk_conf_section *s;
        int rc;

        snprintf(text, sizeof(text), "<match a>\n  %s\n</match>\n", error_cases[i].line);
        s = load(&fx, text);
        rc = sk_param_apply(demo_params, s, &fx.out, &fx.diag);
        assert_int_equal(rc, SK_ECONFIG);
        if (!sk_diag_contains(&fx.diag, error_cases[i].message)) {
            fail_msg("case '%s': no message containing '%s' (got '%s')", error_cases[i].line,
                     error_cases[i].message, fx.diag.count ? fx.diag.entries[0].text : "");
        }
        done(&fx);
    }
}

static void test_td_agent_differences_warn(void **state)
{
    struct fixture fx;
    struct sk_conf_section *s = load(&fx, "<match a>\n  flush_interval 10ms\n</match>\n");
    struct sk_param_def defs[] = {
        {.name = "flush_interval", .type = SK_PARAM_TIME, .offset = OFF(flush_ms), .desc = "f"},
        SK_PARAM_END,
    };

    (void)state;
    assert_int_equal(sk_param_apply(defs, s, &fx.out, &fx.diag), 0);
    assert_int_equal(fx.out.flush_ms, 10);
    assert_true(sk_diag_contains(&fx.diag, "td-agent reads the unit 'ms' as minutes"));
    sk_conf_destroy(fx.conf);
    sk_diag_cleanup(&fx.diag);
}

static void test_empty_value_means_default(void **state)
{
    struct fixture fx;
    struct sk_conf_section *s = load(&fx, "<match a>\n  port \"\"\n  host\n</match>\n");

    (void)state;
    assert_int_equal(sk_param_apply(demo_params, s, &fx.out, &fx.diag), 0);
    assert_int_equal(fx.out.port, 9200);
    assert_string_equal(fx.out.host, "localhost");
    assert_true(sk_diag_contains(&fx.diag, "test.conf:2: <match a>: parameter 'port' is empty"));
    done(&fx);
}

static void test_unused_warning(void **state)
{
    struct fixture fx;
    struct sk_conf_section *s = load(&fx, "<match a>\n  host x\n  hostt y\n</match>\n");

    (void)state;
    assert_int_equal(sk_param_apply(demo_params, s, &fx.out, &fx.diag), 0);
    sk_param_warn_unused(fx.conf->root, &fx.diag);
    assert_true(sk_diag_contains(&fx.diag, "test.conf:3: parameter 'hostt' in <match a> is not used."));
    assert_false(sk_diag_contains(&fx.diag, "'host' in"));
    done(&fx);
}

struct scalar_case {
    const char *text;
    int64_t ms;
    uint64_t bytes;
};

static void test_time_and_size(void **state)
{
    static const struct scalar_case cases[] = {
        {"30", 30000, 30}, {"2m", 120000, 2u << 20}, {"1h", 3600000, 0}, {"1d", 86400000, 0},
        {"1.5s", 1500, 0}, {"4k", 0, 4096}, {"1g", 0, 1u << 30}, {"500ms", 500, 0},
        {"64MB", 0, 64u << 20}, {"8KiB", 0, 8192},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms;
        uint64_t bytes;
        const char *warning = NULL;

        if (cases[i].ms) {
            assert_int_equal(sk_param_parse_time_ms(cases[i].text, &ms, &warning), 0);
            assert_int_equal(ms, cases[i].ms);
        }
        if (cases[i].bytes) {
            assert_int_equal(sk_param_parse_size(cases[i].text, &bytes), 0);
            assert_int_equal(bytes, cases[i].bytes);
        }
    }
    assert_int_equal(sk_param_parse_size("-1", &(uint64_t){0}), SK_EPARSE);
    assert_int_equal(sk_param_parse_time_ms("soon", &(int64_t){0}, NULL), SK_EPARSE);
}

static void test_array_and_hash_forms(void **state)
{
    struct sk_strv v;
    struct sk_kvv h;

    (void)state;
    assert_int_equal(sk_param_parse_array("[\"a\", \"b,c\", 3]", &v), 0);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.v[1], "b,c");
    assert_string_equal(v.v[2], "3");
    sk_strv_free(&v);
    assert_int_equal(sk_param_parse_array(" x , ,y ", &v), 0);
    assert_int_equal(v.n, 2);
    sk_strv_free(&v);
    assert_int_equal(sk_param_parse_array("[\"a\"", &v), SK_EPARSE);
    assert_int_equal(sk_param_parse_hash("code:integer, size:integer", &h), 0);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.v[0].key, "code");
    assert_string_equal(h.v[0].value, "integer");
    sk_kvv_free(&h);
    assert_int_equal(sk_param_parse_hash("{\"a\":{\"b\":1}}", &h), 0);
    assert_string_equal(h.v[0].value, "{\"b\":1}");
    sk_kvv_free(&h);
    assert_int_equal(sk_param_parse_hash("novalue", &h), SK_EPARSE);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    for (long n = 1; n < 200; n++) {
        struct fixture fx;
        struct sk_conf_section *s = load(&fx,
            "<match a>\n  host h\n  hosts a,b,c\n  custom_headers {\"a\":\"b\"}\n</match>\n");
        int rc;

        sk_alloc_fail_after(n, 0);
        rc = sk_param_apply(demo_params, s, &fx.out, &fx.diag);
        sk_alloc_fail_after(0, 0);
        done(&fx);
        if (rc == 0) {
            return;
        }
    }
    fail_msg("never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_dump_masks_url_passwords),
        cmocka_unit_test(test_errors_name_file_line_section),
        cmocka_unit_test(test_td_agent_differences_warn),
        cmocka_unit_test(test_empty_value_means_default),
        cmocka_unit_test(test_unused_warning),
        cmocka_unit_test(test_time_and_size),
        cmocka_unit_test(test_array_and_hash_forms),
        cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
