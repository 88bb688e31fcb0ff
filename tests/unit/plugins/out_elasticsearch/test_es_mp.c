#include "testutil.h"

#include <string.h>

#include "json/json.h"
#include "out_elasticsearch/es_mp.h"
#include "util/buf.h"

/* JSON -> msgpack bytes in buf. */
static void mp(struct sk_buf *buf, const char *json)
{
    msgpack_packer pk;

    sk_buf_reset(buf);
    msgpack_packer_init(&pk, buf, sk_buf_msgpack_write);
    assert_int_equal(sk_json_to_msgpack(json, strlen(json), &pk), 0);
}

struct path_case {
    const char *name;
    const char *path;
    bool split_dots;
    int parse_rc;
    const char *record;
    int found;
    const char *want_json; /* the value found, as JSON */
};

static const struct path_case path_cases[] = {
    {"top level", "id", true, 0, "{\"id\":\"a\",\"x\":1}", 1, "\"a\""},
    {"dotted means nested", "a.b", true, 0, "{\"a\":{\"b\":7}}", 1, "7"},
    {"dots kept without split", "a.b", false, 0, "{\"a.b\":1,\"a\":{\"b\":2}}", 1, "1"},
    {"dollar dot", "$.a.b", false, 0, "{\"a\":{\"b\":[1]}}", 1, "[1]"},
    {"brackets with dots in keys", "$['a']['b.c']", false, 0, "{\"a\":{\"b.c\":true}}", 1, "true"},
    {"double quotes", "$[\"a\"]", false, 0, "{\"a\":null}", 1, "null"},
    {"array index", "$.list[1].k", false, 0, "{\"list\":[{\"k\":1},{\"k\":2}]}", 1, "2"},
    {"index out of range", "$.list[5]", false, 0, "{\"list\":[1]}", 0, NULL},
    {"absent", "$.a.zz", false, 0, "{\"a\":{\"b\":1}}", 0, NULL},
    {"through a scalar", "$.a.b", false, 0, "{\"a\":5}", 0, NULL},
    {"non-string keys are skipped", "k", true, 0, "{\"1\":2,\"k\":3}", 1, "3"},
    {"empty", "", true, SK_EINVAL, NULL, 0, NULL},
    {"dollar alone", "$.", false, SK_EINVAL, NULL, 0, NULL},
    {"unterminated bracket", "$['a'", false, SK_EINVAL, NULL, 0, NULL},
    {"empty segment", "a..b", true, SK_EINVAL, NULL, 0, NULL},
};

static void test_path_table(void **state)
{
    struct sk_buf rec;
    struct sk_buf out;

    (void)state;
    sk_buf_init(&rec, 1 << 16);
    sk_buf_init(&out, 1 << 16);
    for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
        const struct path_case *c = &path_cases[i];
        struct es_path p;
        const char *v = NULL;
        size_t vlen = 0;
        size_t used;
        int rc = es_path_parse(c->path, c->split_dots, &p);

        if (rc != c->parse_rc) {
            fail_msg("case '%s': parse rc %d want %d", c->name, rc, c->parse_rc);
        }
        if (rc != 0) {
            continue;
        }
        mp(&rec, c->record);
        rc = es_path_lookup(&p, rec.data, rec.len, &v, &vlen);
        if (rc != c->found) {
            fail_msg("case '%s': lookup %d want %d", c->name, rc, c->found);
        }
        if (rc == 1) {
            sk_buf_reset(&out);
            assert_int_equal(sk_json_write_msgpack(&out, v, vlen, &used), 0);
            assert_int_equal(used, vlen);
            assert_string_equal(out.data, c->want_json);
        }
        es_path_free(&p);
    }
    sk_buf_cleanup(&rec);
    sk_buf_cleanup(&out);
}

static void test_path_depth_limit(void **state)
{
    char deep[256] = "$";
    struct es_path p;

    (void)state;
    for (int i = 0; i < ES_PATH_MAX_SEGS + 1; i++) {
        strcat(deep, ".a");
    }
    assert_int_equal(es_path_parse(deep, false, &p), SK_EINVAL);
}

static void test_falsy(void **state)
{
    (void)state;
    assert_true(es_mp_is_falsy("\xc0", 1));
    assert_true(es_mp_is_falsy("\xc2", 1));
    assert_false(es_mp_is_falsy("\xc3", 1));
    assert_false(es_mp_is_falsy("\x00", 1)); /* 0 is truthy in Ruby */
    assert_false(es_mp_is_falsy("\xa0", 1)); /* so is "" */
}

static void test_times(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        int rc;
        int64_t sec;
        uint32_t nsec;
    } cases[] = {
        {"\xd7\x00\x5b\x53\x04\x20\x00\x00\x01\xf4", 10, 0, 1532167200, 500}, /* EventTime */
        {"\xc7\x08\x00\x5b\x53\x04\x20\x00\x00\x00\x01", 11, 0, 1532167200, 1}, /* ext 8 form */
        {"\xce\x5b\x53\x04\x20", 5, 0, 1532167200, 0},                         /* uint32 */
        {"\xd6\xff\x5b\x53\x04\x20", 6, 0, 1532167200, 0},                     /* timestamp32 */
        {"\xcb\x41\xd6\xd4\xc1\x08\x20\x00\x00", 9, 0, 1532167200, 500000000}, /* 1532167200.5 */
        {"\xa3" "abc", 4, SK_EPARSE, 0, 0},
        {"\xd7\x01\x00\x00\x00\x00\x00\x00\x00\x00", 10, SK_EPARSE, 0, 0}, /* ext type 1 */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct es_mp_cur c;
        struct es_mp_val v;
        struct sk_time t = {0, 0};

        es_mp_cur_init(&c, cases[i].bytes, cases[i].len);
        assert_int_equal(es_mp_read(&c, &v), 0);
        assert_int_equal(es_mp_time(&v, &t), cases[i].rc);
        if (cases[i].rc == 0 && (t.sec != cases[i].sec || t.nsec != cases[i].nsec)) {
            fail_msg("time case %zu: %lld.%09u", i, (long long)t.sec, t.nsec);
        }
    }
}

static void test_truncated_and_invalid(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\xc1", 1},                 /* never used */
        {"\xa5" "ab", 3},            /* str shorter than its header */
        {"\x92\x01", 2},             /* array missing an element */
        {"\xdd\xff\xff\xff\xff", 5}, /* huge array, no elements */
        {"\xde\x00", 2},             /* truncated header */
        {"\xcb\x00\x00", 3},         /* truncated float */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct es_mp_cur c;

        es_mp_cur_init(&c, bad[i].bytes, bad[i].len);
        if (es_mp_skip(&c) != SK_EPARSE) {
            fail_msg("bad case %zu accepted", i);
        }
    }
}

static void test_next_event_kinds(void **state)
{
    /* event, [1,"s"] (not an event), nil, then garbage */
    static const char data[] = "\x92\x01\x80"
                               "\x92\x01\xa1s"
                               "\xc0"
                               "\xc1";
    struct es_mp_cur c;
    struct es_mp_event ev;

    (void)state;
    es_mp_cur_init(&c, data, sizeof(data) - 1);
    assert_int_equal(es_mp_next_event(&c, &ev), 1);
    assert_int_equal(ev.len, 3);
    assert_int_equal(ev.npairs, 0);
    assert_int_equal(es_mp_next_event(&c, &ev), 2);
    assert_int_equal(ev.len, 4);
    assert_int_equal(es_mp_next_event(&c, &ev), 2);
    assert_int_equal(ev.len, 1);
    assert_int_equal(es_mp_next_event(&c, &ev), SK_EPARSE);
    assert_ptr_equal(c.p, data + 8);
    c.p++;
    assert_int_equal(es_mp_next_event(&c, &ev), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_table),
        cmocka_unit_test(test_path_depth_limit),
        cmocka_unit_test(test_falsy),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_truncated_and_invalid),
        cmocka_unit_test(test_next_event_kinds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
