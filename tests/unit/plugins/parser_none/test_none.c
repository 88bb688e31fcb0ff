/*
 * parser_none (plugins/parser_none/none.c): the line as one field, time
 * now; Fluentd's quirks: no time field lookup, no types, and no event at
 * all when estimate_current_event is false.
 */
#include "testutil.h"

#include <string.h>

#include "../../parser/record_render.h"
#include "parser_none/none_int.h"
#include "plugin/plugin.h"

extern const struct sk_plugin sk_plugin_parser_none;

struct fx {
    struct none_conf conf;
    struct sk_instance ins;
    struct sk_evbuf eb;
    struct sk_diag d;
};

static void fx_conf(struct fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->conf.common.localtime = true;
    fx->conf.common.estimate_current_event = true;
    fx->conf.message_key = (char *)"message";
}

static int fx_start(struct fx *fx)
{
    fx->ins.plugin = &sk_plugin_parser_none;
    fx->ins.conf = &fx->conf;
    sk_diag_init(&fx->d);
    sk_evbuf_init(&fx->eb, 1 << 20);
    return sk_plugin_parser_none.init(&fx->ins, &fx->d);
}

static void fx_stop(struct fx *fx)
{
    sk_plugin_parser_none.destroy(&fx->ins);
    sk_evbuf_cleanup(&fx->eb);
    sk_diag_cleanup(&fx->d);
}

static void test_whole_line(void **state)
{
    static const char line[] = "time=2015 {\"a\":1} \"quoted\" \\x22 \xff\0tail";
    struct fx fx;
    struct sk_time before = sk_time_now();
    struct sk_time t;
    char got[256];

    (void)state;
    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    assert_int_equal(sk_plugin_parser_none.parse(&fx.ins, line, sizeof(line) - 1, &fx.eb), 0);
    assert_int_equal(sk_plugin_parser_none.parse(&fx.ins, "", 0, &fx.eb), 0);
    assert_int_equal(fx.eb.count, 2);
    {
        /* every byte kept, NUL and invalid UTF-8 included */
        struct sk_event_iter it;
        const msgpack_object *rec;
        const msgpack_object *v;

        sk_event_iter_init(&it, fx.eb.buf.data, fx.eb.buf.len);
        assert_int_equal(sk_event_iter_next(&it, &t, &rec), 1);
        assert_int_equal(rec->via.map.size, 1);
        v = sk_map_get(rec, "message", 7);
        assert_non_null(v);
        assert_int_equal(v->type, MSGPACK_OBJECT_STR);
        assert_int_equal(v->via.str.size, sizeof(line) - 1);
        assert_memory_equal(v->via.str.ptr, line, sizeof(line) - 1);
        sk_event_iter_cleanup(&it);
    }
    assert_true(t.sec >= before.sec && t.sec <= before.sec + 60);
    rr_event(fx.eb.buf.data, fx.eb.buf.len, 1, &t, got, sizeof(got));
    assert_string_equal(got, "{message=}");
    fx_stop(&fx);
}

static void test_message_key_and_ignored_params(void **state)
{
    struct sk_kv kv = {(char *)"log", (char *)"integer"};
    struct fx fx;
    struct sk_time t;
    char got[256];

    (void)state;
    fx_conf(&fx);
    fx.conf.message_key = (char *)"log";
    fx.conf.common.types.v = &kv;
    fx.conf.common.types.n = 1;
    fx.conf.common.null_value_pattern = (char *)".*";
    fx.conf.common.time_key = (char *)"log";
    assert_int_equal(fx_start(&fx), 0);
    assert_int_equal(sk_plugin_parser_none.parse(&fx.ins, "42", 2, &fx.eb), 0);
    rr_event(fx.eb.buf.data, fx.eb.buf.len, 0, &t, got, sizeof(got));
    assert_string_equal(got, "{log=42}");
    fx_stop(&fx);
}

static void test_no_estimate(void **state)
{
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    fx.conf.common.estimate_current_event = false;
    assert_int_equal(fx_start(&fx), 0);
    assert_int_equal(sk_plugin_parser_none.parse(&fx.ins, "x", 1, &fx.eb), SK_EPARSE);
    assert_int_equal(fx.eb.buf.len, 0);
    assert_int_equal(fx.eb.count, 0);
    fx_stop(&fx);
}

static void test_config_checked(void **state)
{
    struct sk_kv kv = {(char *)"a", (char *)"nope"};
    struct fx fx;

    (void)state;
    fx_conf(&fx);
    fx.conf.common.types.v = &kv;
    fx.conf.common.types.n = 1;
    assert_int_equal(fx_start(&fx), SK_ECONFIG);
    fx_stop(&fx);

    /* Fluentd: utc without a time_format is "specifying timezone requires time format" */
    fx_conf(&fx);
    fx.conf.common.utc = true;
    assert_int_equal(fx_start(&fx), SK_ECONFIG);
    assert_true(sk_diag_contains(&fx.d, "specifying timezone requires time format"));
    fx_stop(&fx);
}

static void test_buffer_full(void **state)
{
    struct fx fx;
    char line[300];

    (void)state;
    memset(line, 'x', sizeof(line));
    fx_conf(&fx);
    assert_int_equal(fx_start(&fx), 0);
    sk_evbuf_cleanup(&fx.eb);
    sk_evbuf_init(&fx.eb, 256);
    assert_int_equal(sk_plugin_parser_none.parse(&fx.ins, line, 100, &fx.eb), 0);
    assert_int_equal(sk_plugin_parser_none.parse(&fx.ins, line, sizeof(line), &fx.eb), SK_ETOOBIG);
    assert_int_equal(fx.eb.count, 1);
    assert_int_equal(rr_count(fx.eb.buf.data, fx.eb.buf.len), 1);
    fx_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_line),
        cmocka_unit_test(test_message_key_and_ignored_params),
        cmocka_unit_test(test_no_estimate),
        cmocka_unit_test(test_config_checked),
        cmocka_unit_test(test_buffer_full),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
