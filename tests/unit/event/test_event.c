/* Event batches: the Fluentd chunk format, built and walked. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "event/event.h"
#include "util/buf.h"

static void build(struct sk_evbuf *eb, int64_t sec, const char *key, const char *val)
{
    size_t mark = eb->buf.len;

    assert_int_equal(sk_evbuf_begin(eb, (struct sk_time){sec, 500}), 0);
    if (msgpack_pack_map(&eb->pk, 1) != 0 ||
        sk_pack_kv_str(&eb->pk, key, strlen(key), val, strlen(val)) != 0) {
        sk_evbuf_rollback(eb, mark);
        fail_msg("pack failed");
    }
    sk_evbuf_commit(eb);
}

static void test_bytes_match_fluentd_chunk_format(void **state)
{
    /* compat-formats.md: 92 d7 00 <sec BE> <nsec BE> then the map. */
    static const unsigned char expected[] = {0x92, 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x00,
                                             0x00, 0x01, 0xf4, 0x81, 0xa1, 'k', 0xa1, 'v'};
    struct sk_evbuf eb;

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    build(&eb, 1700000000, "k", "v");
    assert_int_equal(eb.buf.len, sizeof(expected));
    assert_memory_equal(eb.buf.data, expected, sizeof(expected));
    sk_evbuf_cleanup(&eb);
}

static void test_iterate_skip_and_peek(void **state)
{
    struct sk_evbuf eb;
    struct sk_event_iter it;
    struct sk_time t;
    const msgpack_object *rec;
    size_t off = 0;
    int n = 0;

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    build(&eb, 100, "a", "1");
    build(&eb, 200, "b", "22");
    build(&eb, 300, "c", "333");
    assert_int_equal(eb.count, 3);
    sk_event_iter_init(&it, eb.buf.data, eb.buf.len);
    while (sk_event_iter_next(&it, &t, &rec) == 1) {
        n++;
        assert_int_equal(t.sec, n * 100);
        assert_int_equal(t.nsec, 500);
        assert_non_null(sk_map_get(rec, (const char[]){(char)('a' + n - 1)}, 1));
    }
    sk_event_iter_cleanup(&it);
    assert_int_equal(n, 3);
    n = 0;
    while (off < eb.buf.len) {
        size_t len = sk_mp_skip(eb.buf.data + off, eb.buf.len - off);

        assert_true(len > 0);
        assert_int_equal(sk_event_peek_time(eb.buf.data + off, len, &t), 0);
        assert_int_equal(t.sec, ++n * 100);
        off += len;
    }
    assert_int_equal(off, eb.buf.len);
    /* Every truncation of the stream is detected, never overread. */
    for (size_t cut = 1; cut < eb.buf.len; cut++) {
        size_t len = sk_mp_skip(eb.buf.data, cut);

        assert_true(len == 0 || len <= cut);
    }
    sk_evbuf_cleanup(&eb);
}

static void test_map_placeholder(void **state)
{
    struct sk_evbuf eb;
    msgpack_unpacked up;
    size_t off;
    size_t used = 0;

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    assert_int_equal(sk_evbuf_map_open(&eb, &off), 0);
    assert_int_equal(sk_pack_kv_str(&eb.pk, "x", 1, "y", 1), 0);
    assert_int_equal(sk_pack_kv_str(&eb.pk, "z", 1, "w", 1), 0);
    sk_evbuf_map_close(&eb, off, 2);
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, eb.buf.data, eb.buf.len, &used),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(up.data.via.map.size, 2);
    msgpack_unpacked_destroy(&up);
    sk_evbuf_cleanup(&eb);
}

static void test_add_field_grows_header(void **state)
{
    /* 14 -> 15 stays a fixmap, 15 -> 16 becomes a map16, then 17. */
    struct sk_evbuf eb;
    struct sk_event_iter it;
    struct sk_time t;
    const msgpack_object *rec;

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    assert_int_equal(sk_evbuf_begin(&eb, (struct sk_time){7, 0}), 0);
    assert_int_equal(msgpack_pack_map(&eb.pk, 14), 0);
    for (int i = 0; i < 14; i++) {
        char k[8];

        snprintf(k, sizeof(k), "k%02d", i);
        assert_int_equal(sk_pack_kv_str(&eb.pk, k, 3, "v", 1), 0);
    }
    sk_evbuf_commit(&eb);
    assert_int_equal(sk_evbuf_add_field(&eb, 0, "p1", 2, "/a", 2), 0);
    assert_int_equal(sk_evbuf_add_field(&eb, 0, "p2", 2, "/b", 2), 0);
    assert_int_equal(sk_evbuf_add_field(&eb, 0, "p3", 2, "/c", 2), 0);
    sk_event_iter_init(&it, eb.buf.data, eb.buf.len);
    assert_int_equal(sk_event_iter_next(&it, &t, &rec), 1);
    assert_int_equal(t.sec, 7);
    assert_int_equal(rec->via.map.size, 17);
    assert_non_null(sk_map_get(rec, "k13", 3));
    assert_non_null(sk_map_get(rec, "p3", 2));
    assert_int_equal(sk_event_iter_next(&it, &t, &rec), 0);
    sk_event_iter_cleanup(&it);
    sk_evbuf_cleanup(&eb);
}

static void test_buf_limit(void **state)
{
    struct sk_buf b;

    (void)state;
    sk_buf_init(&b, 8);
    assert_int_equal(sk_buf_append(&b, "12345678", 8), 0);
    assert_int_equal(sk_buf_append(&b, "9", 1), SK_ETOOBIG);
    assert_int_equal(b.len, 8);
    sk_buf_consume(&b, 3);
    assert_string_equal(b.data, "45678");
    assert_int_equal(sk_buf_printf(&b, "%d", 12), 0);
    assert_string_equal(b.data, "4567812");
    sk_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_match_fluentd_chunk_format),
        cmocka_unit_test(test_iterate_skip_and_peek),
        cmocka_unit_test(test_map_placeholder),
        cmocka_unit_test(test_add_field_grows_header),
        cmocka_unit_test(test_buf_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
