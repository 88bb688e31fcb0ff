/*
 * in_forward decoding, as pure functions of bytes: framing, every mode
 * (Message, Forward, PackedForward, CompressedPackedForward, nil), the
 * option map, event checks (skip_invalid_event, time 0, nesting),
 * source address injection, JSON framing, gzip, and the handshake.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <zlib.h>

#include "in_forward/fwd_auth.h"
#include "in_forward/fwd_decode.h"
#include "in_forward/fwd_mp.h"

/* --- A tiny msgpack builder over an sk_buf --------------------------------- */

static struct sk_buf mb;
static msgpack_packer pk;

static void mp_reset(void)
{
    sk_buf_cleanup(&mb);
    sk_buf_init(&mb, 64u << 20);
    msgpack_packer_init(&pk, &mb, sk_buf_msgpack_write);
}

static void p_str(const char *s)
{
    assert_int_equal(sk_pack_str(&pk, s, strlen(s)), 0);
}

static void p_bin(const char *p, size_t n)
{
    assert_int_equal(msgpack_pack_bin(&pk, n), 0);
    assert_int_equal(msgpack_pack_bin_body(&pk, p, n), 0);
}

static void p_arr(uint32_t n)
{
    assert_int_equal(msgpack_pack_array(&pk, n), 0);
}

static void p_map(uint32_t n)
{
    assert_int_equal(msgpack_pack_map(&pk, n), 0);
}

static void p_int(int64_t v)
{
    assert_int_equal(msgpack_pack_int64(&pk, v), 0);
}

static void p_time(uint32_t sec, uint32_t nsec)
{
    struct sk_time t = {sec, nsec};

    assert_int_equal(sk_pack_time(&pk, t), 0);
}

static void p_nil(void)
{
    assert_int_equal(msgpack_pack_nil(&pk), 0);
}

static void p_raw(const void *p, size_t n)
{
    assert_int_equal(sk_buf_append(&mb, p, n), 0);
}

/* {"msg": v} */
static void p_record(const char *v)
{
    p_map(1);
    p_str("msg");
    p_str(v);
}

/* Appends a [time, {"msg": v}] event. */
static void p_event(uint32_t sec, const char *v)
{
    p_arr(2);
    p_time(sec, 500);
    p_record(v);
}

/* A copy of the builder's bytes (caller frees). */
static char *take(size_t *len)
{
    char *p = malloc(mb.len + 1);

    assert_non_null(p);
    memcpy(p, mb.data, mb.len);
    *len = mb.len;
    return p;
}

static void decode_ok(struct fwd_msg *m)
{
    struct fwd_mp_frame st = {0, 0};
    size_t n = 0;

    assert_int_equal(fwd_mp_frame(&st, mb.data, mb.len, &n), 0);
    assert_int_equal(n, mb.len);
    assert_int_equal(fwd_msg_decode(mb.data, mb.len, m), 0);
}

/* Walks events and checks each record's "msg" against want[] and times. */
static void check_events(const struct sk_events *ev, const char *const *want, size_t n)
{
    struct sk_event_iter it;
    struct sk_time t;
    const msgpack_object *rec;
    size_t i = 0;
    int rc;

    assert_int_equal(ev->count, n);
    sk_event_iter_init(&it, ev->data, ev->len);
    for (;;) {
        const msgpack_object *v;

        rc = sk_event_iter_next(&it, &t, &rec);
        if (rc != 1) {
            break;
        }
        v = sk_map_get(rec, "msg", 3);
        assert_true(i < n);
        assert_non_null(v);
        assert_int_equal(v->via.str.size, strlen(want[i]));
        assert_memory_equal(v->via.str.ptr, want[i], strlen(want[i]));
        i++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, n);
    sk_event_iter_cleanup(&it);
}

static const struct fwd_cvt cvt_default = {.skip_invalid = true, .now = {1700000999, 7}};

/* Drains entries with fwd_entries_next into one stream (copied). */
static size_t drain(const struct fwd_cvt *cv, const char *p, size_t len, size_t max_bytes,
                    struct sk_buf *all, struct fwd_skips *sk, size_t *calls)
{
    struct sk_evbuf scratch;
    size_t off = 0;
    size_t count = 0;

    sk_evbuf_init(&scratch, 64u << 20);
    *calls = 0;
    while (off < len) {
        struct sk_events ev = {NULL, NULL, 0, 0};
        size_t before = off;

        assert_int_equal(fwd_entries_next(cv, p, len, &off, max_bytes, &scratch, &ev, sk), 0);
        assert_true(off > before);
        assert_int_equal(sk_buf_append(all, ev.data, ev.len), 0);
        count += ev.count;
        (*calls)++;
    }
    sk_evbuf_cleanup(&scratch);
    return count;
}

/* --- Framing and the cursor ------------------------------------------------ */

static void test_frame_incremental(void **state)
{
    struct fwd_mp_frame st = {0, 0};
    size_t n = 0;
    size_t len;
    char *p;

    (void)state;
    mp_reset();
    p_arr(3);
    p_str("app.log");
    p_arr(2);
    p_event(1, "a");
    p_event(2, "b");
    p_map(1);
    p_str("chunk");
    p_str("xyz");
    p = take(&len);
    /* Byte by byte: SK_EAGAIN until the very last byte. */
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(fwd_mp_frame(&st, p, i, &n), SK_EAGAIN);
    }
    assert_int_equal(fwd_mp_frame(&st, p, len, &n), 0);
    assert_int_equal(n, len);
    /* Two values back to back: the first one's length only. */
    memset(&st, 0, sizeof(st));
    assert_int_equal(fwd_mp_frame(&st, "\xc0\x01", 2, &n), 0);
    assert_int_equal(n, 1);
    /* 0xc1 is never valid; neither inside a container. */
    memset(&st, 0, sizeof(st));
    assert_int_equal(fwd_mp_frame(&st, "\xc1", 1, &n), SK_EPROTO);
    memset(&st, 0, sizeof(st));
    assert_int_equal(fwd_mp_frame(&st, "\x92\x01\xc1", 3, &n), SK_EPROTO);
    /* A huge announced length is only "not yet". */
    memset(&st, 0, sizeof(st));
    assert_int_equal(fwd_mp_frame(&st, "\xdb\xff\xff\xff\xff", 5, &n), SK_EAGAIN);
    free(p);
}

static void test_cursor_scalars(void **state)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
        enum fwd_mp_type type;
        int64_t i;
    } cases[] = {
        {"fixint", "\x05", 1, FWD_MP_UINT, 5},
        {"negative fixint", "\xff", 1, FWD_MP_INT, -1},
        {"uint8", "\xcc\xfa", 2, FWD_MP_UINT, 250},
        {"uint32", "\xce\x65\x53\xf1\x00", 5, FWD_MP_UINT, 1700000000},
        {"int8", "\xd0\x80", 2, FWD_MP_INT, -128},
        {"int16 positive", "\xd1\x01\x00", 3, FWD_MP_UINT, 256},
        {"int32", "\xd2\xff\xff\xff\xfe", 5, FWD_MP_INT, -2},
        {"int64", "\xd3\xff\xff\xff\xff\xff\xff\xff\xff", 9, FWD_MP_INT, -1},
        {"nil", "\xc0", 1, FWD_MP_NIL, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fwd_mp_cur c;
        struct fwd_mp_val v;

        fwd_mp_cur_init(&c, cases[i].bytes, cases[i].len);
        assert_int_equal(fwd_mp_next(&c, &v, false), 0);
        if (v.type != cases[i].type) {
            fail_msg("case %s: type %d", cases[i].name, (int)v.type);
        }
        if (v.type == FWD_MP_UINT && (int64_t)v.u != cases[i].i) {
            fail_msg("case %s: %llu", cases[i].name, (unsigned long long)v.u);
        }
        if (v.type == FWD_MP_INT && v.i != cases[i].i) {
            fail_msg("case %s: %lld", cases[i].name, (long long)v.i);
        }
        assert_int_equal(v.raw_len, cases[i].len);
        assert_int_equal(c.off, cases[i].len);
    }
}

static void test_depth_limit(void **state)
{
    char buf[64];

    (void)state;
    /* 32 nested non-empty arrays is what msgpack-c can unpack; 33 is not. */
    memset(buf, 0x91, sizeof(buf));
    buf[32] = 0x01;
    assert_true(fwd_mp_depth_ok(buf, 33, FWD_MP_MAX_DEPTH));
    buf[32] = (char)0x91;
    buf[33] = 0x01;
    assert_false(fwd_mp_depth_ok(buf, 34, FWD_MP_MAX_DEPTH));
    /* Empty containers do not nest. */
    assert_true(fwd_mp_depth_ok("\x92\x90\x80", 3, 1));
    assert_false(fwd_mp_depth_ok("\x92\x91\x01\x80", 4, 1));
}

/* --- Modes ----------------------------------------------------------------- */

static void test_message_mode(void **state)
{
    static const char *const want[] = {"hello"};
    struct sk_evbuf scratch;
    struct fwd_msg m;
    struct sk_events ev = {NULL, NULL, 0, 0};
    struct fwd_skips sk = {0, 0};
    struct sk_time t;

    (void)state;
    mp_reset();
    p_arr(4);
    p_str("app.access");
    p_time(1700000000, 123);
    p_record("hello");
    p_map(2);
    p_str("chunk");
    p_str("Y2h1bmsK\n");
    p_str("size");
    p_int(1);
    decode_ok(&m);
    assert_int_equal(m.mode, FWD_MESSAGE);
    assert_int_equal(m.tag_len, 10);
    assert_memory_equal(m.tag, "app.access", 10);
    assert_int_equal(m.count, 1);
    assert_int_equal(m.size, 1);
    assert_non_null(m.chunk);
    assert_int_equal(m.chunk_len, 10); /* fixstr header + 9 bytes, echoed raw */
    assert_memory_equal(m.chunk, "\xa9Y2h1bmsK\n", 10);
    sk_evbuf_init(&scratch, 1 << 20);
    assert_int_equal(fwd_message_event(&cvt_default, &m, &scratch, &ev, &sk), 1);
    check_events(&ev, want, 1);
    assert_int_equal(sk_event_peek_time(ev.data, ev.len, &t), 0);
    assert_int_equal(t.sec, 1700000000);
    assert_int_equal(t.nsec, 123);

    /* Three elements, integer time 0: "now" in Message mode. */
    mp_reset();
    p_arr(3);
    p_str("t");
    p_int(0);
    p_record("hello");
    decode_ok(&m);
    assert_null(m.chunk);
    {
        struct fwd_cvt cv = cvt_default;

        cv.zero_is_now = true;
        assert_int_equal(fwd_message_event(&cv, &m, &scratch, &ev, &sk), 1);
    }
    assert_int_equal(sk_event_peek_time(ev.data, ev.len, &t), 0);
    assert_int_equal(t.sec, 1700000999);
    assert_int_equal(t.nsec, 7);
    sk_evbuf_cleanup(&scratch);
}

static void test_forward_mode_zero_copy(void **state)
{
    static const char *const want[] = {"a", "b", "c"};
    struct sk_evbuf scratch;
    struct fwd_msg m;
    struct sk_events ev = {NULL, NULL, 0, 0};
    struct fwd_skips sk = {0, 0};
    size_t off = 0;

    (void)state;
    mp_reset();
    p_arr(3);
    p_str("fwd");
    p_arr(3);
    p_event(1, "a");
    p_event(2, "b");
    p_arr(2); /* integer time is valid and kept */
    p_int(1700000003);
    p_record("c");
    p_map(1);
    p_str("chunk");
    p_bin("\x01\x02", 2);
    decode_ok(&m);
    assert_int_equal(m.mode, FWD_FORWARD);
    assert_int_equal(m.count, 3);
    assert_int_equal(m.chunk_len, 4);
    sk_evbuf_init(&scratch, 1 << 20);
    assert_int_equal(fwd_entries_next(&cvt_default, m.entries, m.entries_len, &off, 1 << 20,
                                      &scratch, &ev, &sk), 0);
    assert_int_equal(off, m.entries_len);
    /* Zero copy: the view is the message's own bytes. */
    assert_ptr_equal(ev.data, m.entries);
    assert_int_equal(ev.len, m.entries_len);
    check_events(&ev, want, 3);
    assert_int_equal(sk.invalid, 0);
    sk_evbuf_cleanup(&scratch);
}

static void test_packed_forward_str_and_bin(void **state)
{
    static const char *const want[] = {"one", "two"};
    struct fwd_msg m;
    char *payload;
    size_t plen;

    (void)state;
    mp_reset();
    p_event(10, "one");
    p_event(11, "two");
    payload = take(&plen);
    for (int bin = 0; bin < 2; bin++) {
        struct sk_evbuf scratch;
        struct sk_events ev = {NULL, NULL, 0, 0};
        struct fwd_skips sk = {0, 0};
        size_t off = 0;

        mp_reset();
        p_arr(3);
        p_str("packed");
        if (bin) {
            p_bin(payload, plen);
        } else {
            /* out_forward writes str32: 0xdb + uint32 length. */
            uint32_t be = htonl((uint32_t)plen);

            p_raw("\xdb", 1);
            p_raw(&be, 4);
            p_raw(payload, plen);
        }
        p_map(2);
        p_str("size");
        p_int(2);
        p_str("compressed");
        p_str("text");
        decode_ok(&m);
        assert_int_equal(m.mode, FWD_PACKED);
        assert_int_equal(m.compress, FWD_TEXT);
        assert_int_equal(m.size, 2);
        assert_int_equal(m.entries_len, plen);
        sk_evbuf_init(&scratch, 1 << 20);
        assert_int_equal(fwd_entries_next(&cvt_default, m.entries, m.entries_len, &off, 1 << 20,
                                          &scratch, &ev, &sk), 0);
        assert_ptr_equal(ev.data, m.entries);
        check_events(&ev, want, 2);
        sk_evbuf_cleanup(&scratch);
    }
    free(payload);
}

/* gzip-compresses p into a new heap buffer (one member). */
static char *gzip(const char *p, size_t len, size_t *out_len)
{
    z_stream z;
    size_t cap = compressBound((uLong)len) + 64;
    char *out = malloc(cap);

    assert_non_null(out);
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static void test_compressed_packed_forward(void **state)
{
    static const char *const want[] = {"x", "y", "z"};
    struct fwd_msg m;
    struct sk_buf inflated;
    struct sk_evbuf scratch;
    struct sk_events ev = {NULL, NULL, 0, 0};
    struct fwd_skips sk = {0, 0};
    size_t off = 0;
    char *part1;
    char *part2;
    char *gz1;
    char *gz2;
    size_t l1, l2, g1, g2;

    (void)state;
    /* Two gzip members, as out_forward appends one per write. */
    mp_reset();
    p_event(1, "x");
    p_event(2, "y");
    part1 = take(&l1);
    mp_reset();
    p_event(3, "z");
    part2 = take(&l2);
    gz1 = gzip(part1, l1, &g1);
    gz2 = gzip(part2, l2, &g2);
    mp_reset();
    p_arr(3);
    p_str("gz");
    assert_int_equal(msgpack_pack_bin(&pk, g1 + g2), 0);
    p_raw(gz1, g1);
    p_raw(gz2, g2);
    p_map(1);
    p_str("compressed");
    p_str("gzip");
    decode_ok(&m);
    assert_int_equal(m.mode, FWD_PACKED);
    assert_int_equal(m.compress, FWD_GZIP);
    sk_buf_init(&inflated, 1 << 20);
    assert_int_equal(fwd_gunzip(m.entries, m.entries_len, &inflated), 0);
    assert_int_equal(inflated.len, l1 + l2);
    sk_evbuf_init(&scratch, 1 << 20);
    assert_int_equal(fwd_entries_next(&cvt_default, inflated.data, inflated.len, &off, 1 << 20,
                                      &scratch, &ev, &sk), 0);
    check_events(&ev, want, 3);

    /* Cut short, not gzip, too big: refused, buffer unchanged. */
    sk_buf_reset(&inflated);
    assert_int_equal(fwd_gunzip(gz1, g1 - 3, &inflated), SK_EPARSE);
    assert_int_equal(inflated.len, 0);
    assert_int_equal(fwd_gunzip("not gzip", 8, &inflated), SK_EPARSE);
    assert_int_equal(fwd_gunzip("", 0, &inflated), SK_EPARSE);
    sk_buf_cleanup(&inflated);
    sk_buf_init(&inflated, l1 - 1);
    assert_int_equal(fwd_gunzip(gz1, g1, &inflated), SK_ETOOBIG);
    assert_int_equal(inflated.len, 0);

    /* zstd is recognised (and refused by the session). */
    mp_reset();
    p_arr(3);
    p_str("z");
    p_bin("", 0);
    p_map(1);
    p_str("compressed");
    p_str("zstd");
    decode_ok(&m);
    assert_int_equal(m.compress, FWD_ZSTD);
    sk_buf_cleanup(&inflated);
    sk_evbuf_cleanup(&scratch);
    free(part1);
    free(part2);
    free(gz1);
    free(gz2);
}

static void test_nil_and_option_edge_cases(void **state)
{
    struct fwd_msg m;

    (void)state;
    mp_reset();
    p_nil();
    decode_ok(&m);
    assert_int_equal(m.mode, FWD_NIL);

    /* option nil, chunk nil / false: no ack requested. */
    mp_reset();
    p_arr(3);
    p_str("t");
    p_arr(0);
    p_nil();
    decode_ok(&m);
    assert_int_equal(m.mode, FWD_FORWARD);
    assert_int_equal(m.entries_len, 0);
    assert_null(m.chunk);
    assert_int_equal(m.size, -1);
    mp_reset();
    p_arr(3);
    p_str("t");
    p_arr(0);
    p_map(2);
    p_str("chunk");
    assert_int_equal(msgpack_pack_false(&pk), 0);
    p_str("other");
    p_int(5);
    decode_ok(&m);
    assert_null(m.chunk);
}

static void test_invalid_messages(void **state)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } cases[] = {
        {"not an array", "\x81\xa1k\xa1v", 5},
        {"array of one", "\x91\xa1t", 3},
        {"array of five", "\x95\xa1t\x01\x80\xc0\xc0", 7},
        {"tag not a string", "\x93\x01\x01\x80", 4},
        {"message without record", "\x92\xa1t\x01", 4},
        {"option not a map", "\x94\xa1t\x01\x80\x01", 6},
        {"integer", "\x01", 1},
        {"truncated", "\x93\xa1t\x01", 4},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fwd_msg m;

        if (fwd_msg_decode(cases[i].bytes, cases[i].len, &m) != SK_EPROTO) {
            fail_msg("case '%s' was accepted", cases[i].name);
        }
    }
}

/* --- Event checks ---------------------------------------------------------- */

/* A stream mixing valid and invalid entries, and how each is treated. */
static void build_mixed(void)
{
    mp_reset();
    p_event(1, "ok1");
    p_arr(2); /* float time: invalid when skipping, kept otherwise */
    assert_int_equal(msgpack_pack_double(&pk, 1700000000.25), 0);
    p_record("float");
    p_arr(2); /* nil time: invalid when skipping, now otherwise */
    p_nil();
    p_record("niltime");
    p_arr(2); /* record not a map: always dropped */
    p_time(3, 0);
    p_str("string record");
    p_arr(2); /* nil record: always dropped */
    p_time(3, 0);
    p_nil();
    p_str("not an entry"); /* always dropped */
    p_arr(3); /* extra element: the pair is kept */
    p_time(4, 0);
    p_record("three");
    p_int(9);
    p_event(5, "ok2");
}

static void test_skip_invalid_event(void **state)
{
    static const char *const skip_want[] = {"ok1", "three", "ok2"};
    static const char *const keep_want[] = {"ok1", "float", "niltime", "three", "ok2"};
    struct sk_buf all;
    struct fwd_skips sk = {0, 0};
    struct fwd_cvt cv = cvt_default;
    struct sk_events ev;
    size_t calls;
    size_t n;
    char *p;
    size_t len;

    (void)state;
    build_mixed();
    p = take(&len);
    sk_buf_init(&all, 1 << 20);
    n = drain(&cv, p, len, 1 << 20, &all, &sk, &calls);
    assert_int_equal(n, 3);
    assert_int_equal(sk.invalid, 5);
    assert_int_equal(sk.broken, 0);
    ev = (struct sk_events){"t", all.data, all.len, n};
    check_events(&ev, skip_want, 3);

    sk_buf_reset(&all);
    memset(&sk, 0, sizeof(sk));
    cv.skip_invalid = false;
    n = drain(&cv, p, len, 1 << 20, &all, &sk, &calls);
    assert_int_equal(n, 5);
    assert_int_equal(sk.invalid, 3);
    ev = (struct sk_events){"t", all.data, all.len, n};
    check_events(&ev, keep_want, 5);
    {
        /* The float time became an EventTime; nil became "now". */
        struct sk_event_iter it;
        struct sk_time t;
        const msgpack_object *rec;

        sk_event_iter_init(&it, all.data, all.len);
        assert_int_equal(sk_event_iter_next(&it, &t, &rec), 1);
        assert_int_equal(sk_event_iter_next(&it, &t, &rec), 1);
        assert_int_equal(t.sec, 1700000000);
        assert_int_equal(t.nsec, 250000000);
        assert_int_equal(sk_event_iter_next(&it, &t, &rec), 1);
        assert_int_equal(t.sec, 1700000999);
        sk_event_iter_cleanup(&it);
    }
    sk_buf_cleanup(&all);
    free(p);
}

static void test_zero_copy_runs_split_around_rewrites(void **state)
{
    struct sk_evbuf scratch;
    struct fwd_skips sk = {0, 0};
    struct fwd_cvt cv = cvt_default;
    struct sk_events ev = {NULL, NULL, 0, 0};
    size_t off = 0;
    char *p;
    size_t len;

    (void)state;
    cv.zero_is_now = true;
    mp_reset();
    p_event(1, "a");
    p_event(2, "b");
    p_arr(2);
    p_int(0); /* rewritten: time 0 -> now */
    p_record("zero");
    p_event(3, "c");
    p = take(&len);
    sk_evbuf_init(&scratch, 1 << 20);
    /* First call: the clean run a, b as a view. */
    assert_int_equal(fwd_entries_next(&cv, p, len, &off, 1 << 20, &scratch, &ev, &sk), 0);
    assert_ptr_equal(ev.data, p);
    assert_int_equal(ev.count, 2);
    /* Second: copying from the rewritten event on. */
    assert_int_equal(fwd_entries_next(&cv, p, len, &off, 1 << 20, &scratch, &ev, &sk), 0);
    assert_ptr_equal(ev.data, scratch.buf.data);
    assert_int_equal(ev.count, 2);
    assert_int_equal(off, len);
    sk_evbuf_cleanup(&scratch);
    free(p);
}

static void test_batches_bounded(void **state)
{
    struct sk_buf all;
    struct fwd_skips sk = {0, 0};
    size_t calls;
    char *p;
    size_t len;

    (void)state;
    mp_reset();
    for (int i = 0; i < 100; i++) {
        p_event((uint32_t)i, "0123456789");
    }
    p = take(&len);
    sk_buf_init(&all, 1 << 20);
    /* Each event is 27 bytes: about 4 per 100-byte batch. */
    assert_int_equal(drain(&cvt_default, p, len, 100, &all, &sk, &calls), 100);
    assert_int_equal(calls, 25);
    assert_int_equal(all.len, len);
    assert_memory_equal(all.data, p, len);
    sk_buf_cleanup(&all);
    free(p);
}

static void test_broken_packed_tail(void **state)
{
    static const char *const want[] = {"good"};
    struct sk_buf all;
    struct fwd_skips sk = {0, 0};
    struct sk_events ev;
    size_t calls;
    size_t n;

    (void)state;
    mp_reset();
    p_event(1, "good");
    p_raw("\xc1\x00\x00", 3);
    sk_buf_init(&all, 1 << 20);
    n = drain(&cvt_default, mb.data, mb.len, 1 << 20, &all, &sk, &calls);
    assert_int_equal(n, 1);
    assert_int_equal(sk.broken, 1);
    ev = (struct sk_events){"t", all.data, all.len, n};
    check_events(&ev, want, 1);
    /* A truncated last event is broken too. */
    mp_reset();
    p_event(1, "good");
    p_raw("\x92\xd7\x00", 3);
    sk_buf_reset(&all);
    memset(&sk, 0, sizeof(sk));
    assert_int_equal(drain(&cvt_default, mb.data, mb.len, 1 << 20, &all, &sk, &calls), 1);
    assert_int_equal(sk.broken, 1);
    sk_buf_cleanup(&all);
}

static void test_nesting_too_deep_skipped(void **state)
{
    struct sk_buf all;
    struct fwd_skips sk = {0, 0};
    size_t calls;

    (void)state;
    for (int depth = 30; depth <= 31; depth++) {
        mp_reset();
        p_arr(2);
        p_time(1, 0);
        /* record {"k": [[[...1...]]]}: the event nests depth + 2 containers */
        p_map(1);
        p_str("k");
        for (int i = 0; i < depth; i++) {
            p_arr(1);
        }
        p_int(1);
        sk_buf_init(&all, 1 << 20);
        memset(&sk, 0, sizeof(sk));
        assert_int_equal(drain(&cvt_default, mb.data, mb.len, 1 << 20, &all, &sk, &calls),
                         depth == 30 ? 1 : 0);
        assert_int_equal(sk.invalid, depth == 30 ? 0 : 1);
        if (depth == 30) {
            /* What was accepted can be unpacked by msgpack-c. */
            struct sk_event_iter it;
            struct sk_time t;
            const msgpack_object *rec;

            sk_event_iter_init(&it, all.data, all.len);
            assert_int_equal(sk_event_iter_next(&it, &t, &rec), 1);
            sk_event_iter_cleanup(&it);
        }
        sk_buf_cleanup(&all);
    }
}

static void test_source_address_injection(void **state)
{
    struct sk_evbuf scratch;
    struct fwd_skips sk = {0, 0};
    struct fwd_cvt cv = cvt_default;
    struct sk_events ev = {NULL, NULL, 0, 0};
    struct sk_event_iter it;
    struct sk_time t;
    const msgpack_object *rec;
    const msgpack_object *v;
    size_t off = 0;

    (void)state;
    cv.addr_key = "src";
    cv.addr = "127.0.0.1";
    cv.host_key = "host";
    cv.host = "localhost";
    mp_reset();
    p_arr(2);
    p_time(1, 0);
    p_map(2);
    p_str("src"); /* replaced, not duplicated */
    p_str("spoofed");
    p_str("msg");
    p_str("m");
    sk_evbuf_init(&scratch, 1 << 20);
    assert_int_equal(fwd_entries_next(&cv, mb.data, mb.len, &off, 1 << 20, &scratch, &ev, &sk), 0);
    assert_int_equal(ev.count, 1);
    sk_event_iter_init(&it, ev.data, ev.len);
    assert_int_equal(sk_event_iter_next(&it, &t, &rec), 1);
    assert_int_equal(rec->via.map.size, 3);
    v = sk_map_get(rec, "src", 3);
    assert_non_null(v);
    assert_memory_equal(v->via.str.ptr, "127.0.0.1", 9);
    v = sk_map_get(rec, "host", 4);
    assert_non_null(v);
    assert_memory_equal(v->via.str.ptr, "localhost", 9);
    assert_non_null(sk_map_get(rec, "msg", 3));
    sk_event_iter_cleanup(&it);
    sk_evbuf_cleanup(&scratch);
}

/* --- JSON framing ---------------------------------------------------------- */

static void test_json_frame(void **state)
{
    static const struct {
        const char *name;
        const char *text;
        int rc;
        size_t n;
    } cases[] = {
        {"array", "[\"t\", 1, {\"a\": 1}] [", 0, 18},
        {"brackets inside strings", "[\"]\", \"\\\"]\"]x", 0, 12},
        {"object", "{\"a\": [1, {}]}", 0, 14},
        {"incomplete", "[\"t\", [", SK_EAGAIN, 0},
        {"not a container", "\"str\"", SK_EPROTO, 0},
        {"number", "12", SK_EPROTO, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fwd_json_frame st;
        size_t n = 0;
        int rc;

        memset(&st, 0, sizeof(st));
        rc = fwd_json_frame(&st, cases[i].text, strlen(cases[i].text), &n);
        if (rc != cases[i].rc || (rc == 0 && n != cases[i].n)) {
            fail_msg("case '%s': rc %d n %zu", cases[i].name, rc, n);
        }
    }
    /* Resumable: one byte at a time. */
    {
        const char *text = "[\"a\\\\\", {\"b\": \"}\"}]";
        struct fwd_json_frame st;
        size_t n = 0;

        memset(&st, 0, sizeof(st));
        for (size_t i = 1; i < strlen(text); i++) {
            assert_int_equal(fwd_json_frame(&st, text, i, &n), SK_EAGAIN);
        }
        assert_int_equal(fwd_json_frame(&st, text, strlen(text), &n), 0);
        assert_int_equal(n, strlen(text));
    }
    assert_int_equal(fwd_json_ws(" \r\n\t[", 5), 4);
}

/* --- Handshake ------------------------------------------------------------- */

static const unsigned char nonce[FWD_SALT_LEN] = "0123456789abcdef";
static const unsigned char salt[FWD_SALT_LEN] = "fedcba9876543210";

static void hex512(char out[129], const char *a, const char *b, const char *c, size_t clen,
                   const char *d)
{
    const char *parts[4] = {a, b, c, d};
    size_t lens[4] = {strlen(a), strlen(b), clen, strlen(d)};

    fwd_sha512_hex(parts, lens, 4, out);
}

static void build_ping(const char *host, const char *key, const char *user, const char *pass)
{
    char digest[129];
    char pdigest[129] = "";

    hex512(digest, "pingsalt", host, (const char *)nonce, FWD_SALT_LEN, key);
    if (pass != NULL) {
        const char *parts[3] = {(const char *)salt, user, pass};
        size_t lens[3] = {FWD_SALT_LEN, strlen(user), strlen(pass)};

        fwd_sha512_hex(parts, lens, 3, pdigest);
    }
    mp_reset();
    p_arr(6);
    p_str("PING");
    p_str(host);
    p_str("pingsalt");
    p_str(digest);
    p_str(user);
    p_str(pdigest);
}

/* Reads the PONG: ok flag, reason, hostname, digest (static copies). */
static bool read_pong(const struct sk_buf *b, char *reason, char *digest)
{
    msgpack_unpacked up;
    size_t off = 0;
    bool ok;
    const msgpack_object *a;

    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, b->data, b->len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, b->len);
    a = up.data.via.array.ptr;
    assert_int_equal(up.data.via.array.size, 5);
    assert_memory_equal(a[0].via.str.ptr, "PONG", 4);
    ok = a[1].via.boolean;
    snprintf(reason, 160, "%.*s", (int)a[2].via.str.size, a[2].via.str.ptr);
    snprintf(digest, 200, "%.*s", (int)a[4].via.str.size, a[4].via.str.ptr);
    msgpack_unpacked_destroy(&up);
    return ok;
}

static void test_helo(void **state)
{
    struct sk_buf b;
    msgpack_unpacked up;
    size_t off = 0;
    const msgpack_object *opt;
    const msgpack_object *v;

    (void)state;
    sk_buf_init(&b, 4096);
    assert_int_equal(fwd_auth_helo(&b, nonce, salt, true), 0);
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, b.data, b.len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.via.array.size, 2);
    assert_memory_equal(up.data.via.array.ptr[0].via.str.ptr, "HELO", 4);
    opt = &up.data.via.array.ptr[1];
    v = sk_map_get(opt, "nonce", 5);
    assert_non_null(v);
    assert_int_equal(v->type, MSGPACK_OBJECT_BIN);
    assert_memory_equal(v->via.bin.ptr, nonce, FWD_SALT_LEN);
    v = sk_map_get(opt, "auth", 4);
    assert_memory_equal(v->via.bin.ptr, salt, FWD_SALT_LEN);
    v = sk_map_get(opt, "keepalive", 9);
    assert_true(v->via.boolean);
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&b);
}

static void test_ping_pong(void **state)
{
    struct fwd_user users[1] = {{"alice", "s3cret"}};
    struct sk_strv only_bob = {NULL, 0};
    static char bob[] = "bob";
    char *bobp = bob;
    struct fwd_client clients[1];
    struct fwd_security sec = {"server.example", "global-key", false, true, users, 1, clients, 0};
    struct sockaddr_in peer;
    char expect[129];
    char reason[160];
    char digest[200];
    char why[160];
    struct sk_buf pong;

    (void)state;
    memset(&peer, 0, sizeof(peer));
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = htonl(0x7f000001);
    sk_buf_init(&pong, 4096);

    /* Success: the PONG digest uses salt + self_hostname + nonce + key. */
    build_ping("client.example", "global-key", "", NULL);
    assert_int_equal(fwd_auth_ping(&sec, mb.data, mb.len, (struct sockaddr *)&peer, nonce, salt,
                                   &pong, why, sizeof(why)), 0);
    assert_true(read_pong(&pong, reason, digest));
    hex512(expect, "pingsalt", "server.example", (const char *)nonce, FWD_SALT_LEN, "global-key");
    assert_string_equal(digest, expect);

    /* Wrong key. */
    sk_buf_reset(&pong);
    build_ping("client.example", "other-key", "", NULL);
    assert_int_equal(fwd_auth_ping(&sec, mb.data, mb.len, (struct sockaddr *)&peer, nonce, salt,
                                   &pong, why, sizeof(why)), SK_EPERM);
    assert_false(read_pong(&pong, reason, digest));
    assert_string_equal(reason, "shared_key mismatch");

    /* Not a PING. */
    sk_buf_reset(&pong);
    mp_reset();
    p_arr(2);
    p_str("PING");
    p_str("x");
    assert_int_equal(fwd_auth_ping(&sec, mb.data, mb.len, (struct sockaddr *)&peer, nonce, salt,
                                   &pong, why, sizeof(why)), SK_EPERM);
    assert_false(read_pong(&pong, reason, digest));
    assert_string_equal(reason, "invalid ping message");

    /* user_auth: right and wrong password. */
    sec.user_auth = true;
    sk_buf_reset(&pong);
    build_ping("c", "global-key", "alice", "s3cret");
    assert_int_equal(fwd_auth_ping(&sec, mb.data, mb.len, (struct sockaddr *)&peer, nonce, salt,
                                   &pong, why, sizeof(why)), 0);
    sk_buf_reset(&pong);
    build_ping("c", "global-key", "alice", "wrong");
    assert_int_equal(fwd_auth_ping(&sec, mb.data, mb.len, (struct sockaddr *)&peer, nonce, salt,
                                   &pong, why, sizeof(why)), SK_EPERM);
    assert_string_equal(why, "username/password mismatch");

    /* A <client> with its own key and user list; anonymous sources denied. */
    assert_int_equal(fwd_client_parse_network("127.0.0.0/8", &clients[0]), 0);
    only_bob.v = &bobp;
    only_bob.n = 1;
    clients[0].shared_key = "client-key";
    clients[0].users = &only_bob;
    sec.nclients = 1;
    sec.allow_anonymous_source = false;
    sk_buf_reset(&pong);
    build_ping("c", "client-key", "alice", "s3cret");
    assert_int_equal(fwd_auth_ping(&sec, mb.data, mb.len, (struct sockaddr *)&peer, nonce, salt,
                                   &pong, why, sizeof(why)), SK_EPERM);
    assert_string_equal(why, "username/password mismatch"); /* alice is not allowed here */
    sec.user_auth = false;
    sk_buf_reset(&pong);
    assert_int_equal(fwd_auth_ping(&sec, mb.data, mb.len, (struct sockaddr *)&peer, nonce, salt,
                                   &pong, why, sizeof(why)), 0);
    peer.sin_addr.s_addr = htonl(0x0a000001); /* 10.0.0.1: no <client> matches */
    sk_buf_reset(&pong);
    assert_int_equal(fwd_auth_ping(&sec, mb.data, mb.len, (struct sockaddr *)&peer, nonce, salt,
                                   &pong, why, sizeof(why)), SK_EPERM);
    assert_string_equal(why, "anonymous source host '10.0.0.1' denied");
    sk_buf_cleanup(&pong);
}

static void test_client_networks(void **state)
{
    static const struct {
        const char *network;
        const char *peer; /* IPv4 or IPv6 text */
        int parse_rc;
        bool match;
    } cases[] = {
        {"192.168.1.0/24", "192.168.1.77", 0, true},
        {"192.168.1.0/24", "192.168.2.1", 0, false},
        {"10.0.0.0/9", "10.127.255.255", 0, true},
        {"10.0.0.0/9", "10.128.0.0", 0, false},
        {"127.0.0.1", "127.0.0.1", 0, true},
        {"127.0.0.1", "::ffff:127.0.0.1", 0, true}, /* v4-mapped counts as v4 */
        {"::1", "::1", 0, true},
        {"fd00::/8", "fd12::1", 0, true},
        {"0.0.0.0/0", "203.0.113.9", 0, true},
        {"10.0.0.0/33", NULL, SK_EINVAL, false},
        {"10.0.0.0/x", NULL, SK_EINVAL, false},
        {"not-an-ip", NULL, SK_EINVAL, false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fwd_client c;
        struct fwd_security sec;
        struct sockaddr_storage ss;

        memset(&c, 0, sizeof(c));
        memset(&sec, 0, sizeof(sec));
        memset(&ss, 0, sizeof(ss));
        if (fwd_client_parse_network(cases[i].network, &c) != cases[i].parse_rc) {
            fail_msg("case %s: parse", cases[i].network);
        }
        if (cases[i].peer == NULL) {
            continue;
        }
        sec.clients = &c;
        sec.nclients = 1;
        if (strchr(cases[i].peer, ':') != NULL) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

            s6->sin6_family = AF_INET6;
            assert_int_equal(inet_pton(AF_INET6, cases[i].peer, &s6->sin6_addr), 1);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

            s4->sin_family = AF_INET;
            assert_int_equal(inet_pton(AF_INET, cases[i].peer, &s4->sin_addr), 1);
        }
        if ((fwd_client_find(&sec, (struct sockaddr *)&ss) != NULL) != cases[i].match) {
            fail_msg("case %s vs %s", cases[i].network, cases[i].peer);
        }
    }
}

static int teardown(void **state)
{
    (void)state;
    sk_buf_cleanup(&mb);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_incremental),
        cmocka_unit_test(test_cursor_scalars),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_message_mode),
        cmocka_unit_test(test_forward_mode_zero_copy),
        cmocka_unit_test(test_packed_forward_str_and_bin),
        cmocka_unit_test(test_compressed_packed_forward),
        cmocka_unit_test(test_nil_and_option_edge_cases),
        cmocka_unit_test(test_invalid_messages),
        cmocka_unit_test(test_skip_invalid_event),
        cmocka_unit_test(test_zero_copy_runs_split_around_rewrites),
        cmocka_unit_test(test_batches_bounded),
        cmocka_unit_test(test_broken_packed_tail),
        cmocka_unit_test(test_nesting_too_deep_skipped),
        cmocka_unit_test(test_source_address_injection),
        cmocka_unit_test(test_json_frame),
        cmocka_unit_test(test_helo),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_client_networks),
    };

    return cmocka_run_group_tests(tests, NULL, teardown);
}
