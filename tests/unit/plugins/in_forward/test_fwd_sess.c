/*
 * in_forward's per-connection protocol without sockets: bytes in pieces,
 * events out through a fake router (which can refuse with SK_EFULL),
 * replies through a fake socket. Acks follow accepted events only.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "in_forward/fwd_sess.h"
#include "util/alloc.h"

struct fake {
    struct sk_buf events; /* every accepted event, in order */
    size_t count;
    struct sk_buf tags;   /* accepted tags, one per line */
    struct sk_buf sent;   /* replies */
    int refuse_after;     /* accept this many emits, then ... */
    int refuse;           /* ... refuse this many with SK_EFULL */
    int accepted;
    int emits;            /* emits attempted */
    int fail_with;        /* non-zero: emit returns it */
};

static struct fake fk;

static int fake_emit(void *arg, const char *tag, const struct sk_events *ev)
{
    (void)arg;
    fk.emits++;
    if (fk.fail_with != 0) {
        return fk.fail_with;
    }
    if (fk.refuse > 0 && fk.accepted >= fk.refuse_after) {
        fk.refuse--;
        return SK_EFULL;
    }
    fk.accepted++;
    assert_int_equal(sk_buf_append(&fk.events, ev->data, ev->len), 0);
    assert_int_equal(sk_buf_printf(&fk.tags, "%s\n", tag), 0);
    fk.count += ev->count;
    return 0;
}

static int fake_send(void *arg, const char *p, size_t n)
{
    (void)arg;
    return sk_buf_append(&fk.sent, p, n);
}

static const struct fwd_sess_ops ops = {fake_emit, fake_send};
static struct sk_log_limit lim = SK_LOG_LIMIT_INIT(1000, 1000);
static struct sockaddr_in peer;

static struct fwd_sess_conf base_conf(void)
{
    struct fwd_sess_conf c;

    memset(&c, 0, sizeof(c));
    c.id = "forward.test";
    c.skip_invalid = true;
    c.msg_max = 1 << 20;
    c.inflate_max = 1 << 20;
    c.batch_bytes = 1 << 20;
    c.log = &lim;
    return c;
}

static int setup(void **state)
{
    (void)state;
    memset(&fk, 0, sizeof(fk));
    sk_buf_init(&fk.events, 64u << 20);
    sk_buf_init(&fk.tags, 1 << 20);
    sk_buf_init(&fk.sent, 1 << 20);
    memset(&peer, 0, sizeof(peer));
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = htonl(0x7f000001);
    sk_log_set_level(SK_LOG_FATAL); /* the malformed cases warn on purpose */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sk_buf_cleanup(&fk.events);
    sk_buf_cleanup(&fk.tags);
    sk_buf_cleanup(&fk.sent);
    return 0;
}

/* --- msgpack builder -------------------------------------------------------- */

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

static void p_event(uint32_t sec, const char *v)
{
    struct sk_time t = {sec, 0};

    assert_int_equal(msgpack_pack_array(&pk, 2), 0);
    assert_int_equal(sk_pack_time(&pk, t), 0);
    assert_int_equal(msgpack_pack_map(&pk, 1), 0);
    p_str("msg");
    p_str(v);
}

static void p_chunk_option(const char *id)
{
    assert_int_equal(msgpack_pack_map(&pk, 1), 0);
    p_str("chunk");
    p_str(id);
}

/* [tag, time, {"msg": v}, {"chunk": id}] */
static void p_message(const char *tag, const char *v, const char *id)
{
    struct sk_time t = {1700000000, 0};

    assert_int_equal(msgpack_pack_array(&pk, id != NULL ? 4 : 3), 0);
    p_str(tag);
    assert_int_equal(sk_pack_time(&pk, t), 0);
    assert_int_equal(msgpack_pack_map(&pk, 1), 0);
    p_str("msg");
    p_str(v);
    if (id != NULL) {
        p_chunk_option(id);
    }
}

/* --- helpers ------------------------------------------------------------------ */

/* Feeds p[0..len) in pieces of `step`, processing after each; returns
 * the last result. */
static enum fwd_sess_result feed(struct fwd_sess *s, const char *p, size_t len, size_t step)
{
    enum fwd_sess_result r = FWD_SESS_MORE;
    size_t off = 0;

    while (off < len && r == FWD_SESS_MORE) {
        char *dst;
        size_t room;
        size_t n;

        assert_int_equal(fwd_sess_space(s, &dst, &room), 0);
        n = len - off < step ? len - off : step;
        n = n < room ? n : room;
        memcpy(dst, p + off, n);
        fwd_sess_filled(s, n);
        off += n;
        r = fwd_sess_process(s);
    }
    return r;
}

/* The "msg" values of every accepted event, joined with ','. */
static const char *msgs(void)
{
    static char out[65536];
    struct sk_event_iter it;
    size_t used = 0;

    out[0] = '\0';
    sk_event_iter_init(&it, fk.events.data, fk.events.len);
    for (;;) {
        struct sk_time t;
        const msgpack_object *rec;
        const msgpack_object *v;

        if (sk_event_iter_next(&it, &t, &rec) != 1) {
            break;
        }
        v = sk_map_get(rec, "msg", 3);
        assert_non_null(v);
        used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%.*s", used ? "," : "",
                                 (int)v->via.str.size, v->via.str.ptr);
    }
    sk_event_iter_cleanup(&it);
    return out;
}

static const char ack_prefix[] = "\x81\xa3" "ack";

/* Checks fk.sent is exactly the msgpack acks for the given ids. */
static void check_acks(const char *const *ids, size_t n)
{
    struct sk_buf want;

    sk_buf_init(&want, 1 << 20);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sk_buf_append(&want, ack_prefix, 5), 0);
        assert_int_equal(sk_buf_putc(&want, (char)(0xa0 | strlen(ids[i]))), 0);
        assert_int_equal(sk_buf_append_str(&want, ids[i]), 0);
    }
    assert_int_equal(fk.sent.len, want.len);
    if (want.len > 0) {
        assert_memory_equal(fk.sent.data, want.data, want.len);
    }
    sk_buf_cleanup(&want);
}

static void session(struct fwd_sess *s, const struct fwd_sess_conf *c)
{
    assert_int_equal(fwd_sess_init(s, c, &ops, NULL, (struct sockaddr *)&peer, "127.0.0.1",
                                   "localhost"), 0);
}

/* --- tests --------------------------------------------------------------------- */

static void test_stream_byte_by_byte(void **state)
{
    static const char *const ids[] = {"c1", "c2"};
    struct fwd_sess_conf c = base_conf();
    struct fwd_sess s;

    (void)state;
    mp_reset();
    p_message("app.one", "m1", "c1");
    assert_int_equal(msgpack_pack_nil(&pk), 0); /* keep-alive */
    p_message("app.two", "m2", NULL);
    assert_int_equal(msgpack_pack_array(&pk, 3), 0);
    p_str("app.three");
    assert_int_equal(msgpack_pack_array(&pk, 2), 0);
    p_event(1, "f1");
    p_event(2, "f2");
    p_chunk_option("c2");
    session(&s, &c);
    assert_int_equal(feed(&s, mb.data, mb.len, 1), FWD_SESS_MORE);
    assert_string_equal(msgs(), "m1,m2,f1,f2");
    assert_string_equal(fk.tags.data, "app.one\napp.two\napp.three\n");
    check_acks(ids, 2);
    assert_int_equal(s.stats.messages, 3);
    assert_int_equal(s.stats.events, 4);
    assert_int_equal(fwd_sess_eof(&s), FWD_SESS_DONE);
    fwd_sess_cleanup(&s);
}

/* Builds [tag, bin(n events), {"chunk": id}] into mb. */
static void build_packed(const char *tag, int n, const char *id)
{
    struct sk_buf payload;
    char v[32];

    mp_reset();
    for (int i = 0; i < n; i++) {
        snprintf(v, sizeof(v), "e%d", i);
        p_event((uint32_t)i, v);
    }
    payload = mb;
    sk_buf_init(&mb, 64u << 20);
    msgpack_packer_init(&pk, &mb, sk_buf_msgpack_write);
    assert_int_equal(msgpack_pack_array(&pk, 3), 0);
    p_str(tag);
    assert_int_equal(msgpack_pack_bin(&pk, payload.len), 0);
    assert_int_equal(msgpack_pack_bin_body(&pk, payload.data, payload.len), 0);
    p_chunk_option(id);
    sk_buf_cleanup(&payload);
}

static void test_backpressure_resumes_without_duplicates(void **state)
{
    static const char *const ids[] = {"big", "after"};
    struct fwd_sess_conf c = base_conf();
    struct fwd_sess s;
    struct sk_buf stream;
    char expect[65536];
    size_t used = 0;
    char *p;
    size_t room;

    (void)state;
    c.batch_bytes = 200; /* about 10 events per emit */
    build_packed("big", 100, "big");
    sk_buf_init(&stream, 1 << 20);
    assert_int_equal(sk_buf_append(&stream, mb.data, mb.len), 0);
    mp_reset();
    p_message("small", "after", "after");
    assert_int_equal(sk_buf_append(&stream, mb.data, mb.len), 0);
    session(&s, &c);
    assert_int_equal(fwd_sess_space(&s, &p, &room), 0);
    assert_true(room >= stream.len);
    memcpy(p, stream.data, stream.len);
    fwd_sess_filled(&s, stream.len);

    /* Three batches go through, then the router refuses twice. */
    fk.refuse_after = 3;
    fk.refuse = 2;
    assert_int_equal(fwd_sess_process(&s), FWD_SESS_BLOCKED);
    assert_int_equal(fk.accepted, 3);
    assert_true(fk.count > 0 && fk.count < 100);
    assert_int_equal(fk.sent.len, 0);                          /* nothing acked yet */
    assert_int_equal(fwd_sess_space(&s, &p, &room), SK_EAGAIN); /* stop reading */
    assert_int_equal(fwd_sess_process(&s), FWD_SESS_BLOCKED);
    assert_int_equal(fwd_sess_process(&s), FWD_SESS_MORE);
    /* Every event exactly once, in order, then both acks. */
    for (int i = 0; i < 100; i++) {
        used += (size_t)snprintf(expect + used, sizeof(expect) - used, "e%d,", i);
    }
    snprintf(expect + used, sizeof(expect) - used, "after");
    assert_string_equal(msgs(), expect);
    check_acks(ids, 2);
    assert_int_equal(fwd_sess_space(&s, &p, &room), 0);
    fwd_sess_cleanup(&s);
    sk_buf_cleanup(&stream);
}

static void test_json_connection(void **state)
{
    static const char text[] =
        "[\"json.tag\", 1700000000, {\"msg\": \"j1\"}, {\"chunk\": \"c-1\"}]\n"
        "  [\"json.tag\", [[1700000001, {\"msg\": \"j2\"}], [1700000002, {\"msg\": \"j3\"}]]]\n";
    struct fwd_sess_conf c = base_conf();
    struct fwd_sess s;

    (void)state;
    session(&s, &c);
    assert_int_equal(feed(&s, text, strlen(text), 7), FWD_SESS_MORE);
    assert_string_equal(msgs(), "j1,j2,j3");
    assert_int_equal(fk.sent.len, strlen("{\"ack\":\"c-1\"}"));
    assert_memory_equal(fk.sent.data, "{\"ack\":\"c-1\"}", fk.sent.len);
    assert_int_equal(fwd_sess_eof(&s), FWD_SESS_DONE);
    fwd_sess_cleanup(&s);
}

static void test_malformed_input_closes(void **state)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } cases[] = {
        {"never-used byte", "\xc1", 1},
        {"not an array", "\x01", 1},
        {"tag not a string", "\x93\x01\x01\x80", 4},
        {"bad JSON", "[\"t\", 1, {\"a\": }]", 18},
        {"tag with NUL", "\x93\xa2t\x00\x01\x80", 6},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fwd_sess_conf c = base_conf();
        struct fwd_sess s;

        session(&s, &c);
        if (feed(&s, cases[i].bytes, cases[i].len, 64) != FWD_SESS_ERROR) {
            fail_msg("case '%s' did not close the connection", cases[i].name);
        }
        fwd_sess_cleanup(&s);
    }
}

static void test_oversized_message_closes(void **state)
{
    struct fwd_sess_conf c = base_conf();
    struct fwd_sess s;

    (void)state;
    c.msg_max = 1024;
    build_packed("t", 100, "id");
    assert_true(mb.len > 1024);
    session(&s, &c);
    assert_int_equal(feed(&s, mb.data, mb.len, 4096), FWD_SESS_ERROR);
    assert_int_equal(fk.count, 0);
    fwd_sess_cleanup(&s);
}

static void test_eof_inside_message(void **state)
{
    struct fwd_sess_conf c = base_conf();
    struct fwd_sess s;

    (void)state;
    mp_reset();
    p_message("t", "m", "id");
    session(&s, &c);
    assert_int_equal(feed(&s, mb.data, mb.len - 1, 64), FWD_SESS_MORE);
    assert_int_equal(fwd_sess_eof(&s), FWD_SESS_ERROR);
    assert_int_equal(fk.count, 0);
    fwd_sess_cleanup(&s);
}

static void test_prefix_deny_keepalive_and_router_error(void **state)
{
    struct fwd_sess_conf c = base_conf();
    struct fwd_sess s;

    (void)state;
    c.tag_prefix = "remote";
    c.deny_keepalive = true;
    mp_reset();
    p_message("app", "m1", "id1");
    p_message("app", "m2", "id2");
    session(&s, &c);
    assert_int_equal(feed(&s, mb.data, mb.len, 4096), FWD_SESS_DONE);
    assert_string_equal(fk.tags.data, "remote.app\n");
    assert_string_equal(msgs(), "m1");
    fwd_sess_cleanup(&s);

    /* A router error is not SK_EFULL: close without ack. */
    c = base_conf();
    sk_buf_reset(&fk.sent);
    fk.fail_with = SK_ENOENT;
    session(&s, &c);
    mp_reset();
    p_message("app", "m", "id");
    assert_int_equal(feed(&s, mb.data, mb.len, 4096), FWD_SESS_ERROR);
    assert_int_equal(fk.sent.len, 0);
    fk.fail_with = 0;
    fwd_sess_cleanup(&s);
}

static void test_zstd_refused_without_ack(void **state)
{
    struct fwd_sess_conf c = base_conf();
    struct fwd_sess s;

    (void)state;
    mp_reset();
    assert_int_equal(msgpack_pack_array(&pk, 3), 0);
    p_str("z");
    assert_int_equal(msgpack_pack_bin(&pk, 4), 0);
    assert_int_equal(msgpack_pack_bin_body(&pk, "\x28\xb5\x2f\xfd", 4), 0);
    assert_int_equal(msgpack_pack_map(&pk, 2), 0);
    p_str("compressed");
    p_str("zstd");
    p_str("chunk");
    p_str("id");
    sk_log_set_level(SK_LOG_FATAL);
    session(&s, &c);
    assert_int_equal(feed(&s, mb.data, mb.len, 4096), FWD_SESS_ERROR);
    assert_int_equal(fk.sent.len, 0);
    fwd_sess_cleanup(&s);
}

static void test_handshake(void **state)
{
    struct fwd_security sec = {"server", "key", false, true, NULL, 0, NULL, 0};
    struct fwd_sess_conf c = base_conf();
    struct fwd_sess s;
    msgpack_unpacked up;
    size_t off = 0;
    const msgpack_object *nonce;
    char digest[129];
    char bad[129];
    size_t helo_len;

    (void)state;
    c.security = &sec;
    session(&s, &c);
    /* HELO went out at once. */
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, fk.sent.data, fk.sent.len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    helo_len = off;
    nonce = sk_map_get(&up.data.via.array.ptr[1], "nonce", 5);
    assert_non_null(nonce);
    {
        const char *parts[4] = {"salt", "client", nonce->via.bin.ptr, "key"};
        size_t lens[4] = {4, 6, FWD_SALT_LEN, 3};

        fwd_sha512_hex(parts, lens, 4, digest);
        parts[3] = "nope";
        lens[3] = 4;
        fwd_sha512_hex(parts, lens, 4, bad);
    }
    msgpack_unpacked_destroy(&up);

    /* PING, then an event: PONG true, then the event is accepted. */
    mp_reset();
    assert_int_equal(msgpack_pack_array(&pk, 6), 0);
    p_str("PING");
    p_str("client");
    p_str("salt");
    p_str(digest);
    p_str("");
    p_str("");
    p_message("sec", "m", NULL);
    assert_int_equal(feed(&s, mb.data, mb.len, 5), FWD_SESS_MORE);
    assert_true(s.authed);
    assert_string_equal(msgs(), "m");
    assert_int_equal((unsigned char)fk.sent.data[helo_len], 0x95); /* PONG array */
    assert_int_equal(fk.sent.data[helo_len + 6], (char)0xc3);     /* true */
    fwd_sess_cleanup(&s);

    /* A wrong key: PONG false and DONE; no event accepted. */
    sk_buf_reset(&fk.sent);
    sk_buf_reset(&fk.events);
    session(&s, &c);
    mp_reset();
    assert_int_equal(msgpack_pack_array(&pk, 6), 0);
    p_str("PING");
    p_str("client");
    p_str("salt");
    p_str(bad);
    p_str("");
    p_str("");
    p_message("sec", "m", NULL);
    assert_int_equal(feed(&s, mb.data, mb.len, 4096), FWD_SESS_DONE);
    assert_false(s.authed);
    assert_int_equal(fk.events.len, 0);
    fwd_sess_cleanup(&s);

    /* Events without a PING first are an invalid ping. */
    sk_buf_reset(&fk.sent);
    session(&s, &c);
    mp_reset();
    p_message("sec", "m", "id");
    assert_int_equal(feed(&s, mb.data, mb.len, 4096), FWD_SESS_DONE);
    assert_int_equal(fk.events.len, 0);
    fwd_sess_cleanup(&s);
}

/* Every allocation failure ends in a clean error, never a crash or a
 * half-state (run under ASan to see leaks). */
static void test_allocation_failures(void **state)
{
    bool completed = false;
    long n;

    (void)state;
    build_packed("t", 50, "id");
    for (n = 1; n < 200 && !completed; n++) {
        struct fwd_sess_conf c = base_conf();
        struct fwd_sess s;
        enum fwd_sess_result r = FWD_SESS_ERROR;
        char *dst;
        size_t room;

        c.addr_key = "src"; /* forces copies into scratch */
        sk_buf_reset(&fk.events);
        sk_buf_reset(&fk.tags);
        sk_buf_reset(&fk.sent);
        /* The fake router must not be the one that fails. */
        assert_int_equal(sk_buf_reserve(&fk.events, 1 << 16), 0);
        assert_int_equal(sk_buf_reserve(&fk.tags, 1 << 10), 0);
        assert_int_equal(sk_buf_reserve(&fk.sent, 1 << 10), 0);
        fk.count = 0;
        sk_alloc_fail_after(n, 0);
        if (fwd_sess_init(&s, &c, &ops, NULL, (struct sockaddr *)&peer, "127.0.0.1", "h") == 0 &&
            fwd_sess_space(&s, &dst, &room) == 0 && room >= mb.len) {
            memcpy(dst, mb.data, mb.len);
            fwd_sess_filled(&s, mb.len);
            r = fwd_sess_process(&s);
        }
        sk_alloc_fail_after(0, 0);
        completed = r == FWD_SESS_MORE && fk.count == 50;
        if (r == FWD_SESS_MORE) {
            assert_int_equal(fk.count, 50);
        }
        fwd_sess_cleanup(&s);
    }
    assert_true(completed);
    assert_true(n > 3); /* some allocations did fail on the way */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_resumes_without_duplicates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_input_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_message_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eof_inside_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_deny_keepalive_and_router_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zstd_refused_without_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    sk_buf_cleanup(&mb);
    return rc;
}
