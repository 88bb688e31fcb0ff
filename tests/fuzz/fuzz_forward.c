/*
 * libFuzzer target for in_forward: the input is one connection's bytes,
 * fed to a fwd_sess in pieces whose sizes come from the input, with a
 * fake router that sometimes answers SK_EFULL. The first byte picks the
 * settings (security, skip_invalid_event, tag prefix, source keys, a small
 * chunk_size_limit, deny_keepalive). Invariants: no crash, no leak, and
 * every batch handed to the router is a valid event stream that
 * msgpack-c can unpack (what the buffer and outputs rely on). The same
 * bytes also go through the pure decoders directly.
 *
 * Build by hand from the repository root and run for a couple of minutes:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=c11 \
 *     -Isrc -Iplugins tests/fuzz/fuzz_forward.c plugins/in_forward/fwd_sess.c \
 *     plugins/in_forward/fwd_decode.c plugins/in_forward/fwd_mp.c \
 *     plugins/in_forward/fwd_json.c plugins/in_forward/fwd_gzip.c \
 *     plugins/in_forward/fwd_auth.c src/event/event.c src/json/json_read.c \
 *     src/json/json_write.c src/util/alloc.c src/util/buf.c src/util/err.c \
 *     src/log/log.c -lmsgpackc -lz -lcrypto -lm -o fuzz_forward
 *   mkdir -p corpus && cp -r tests/fuzz/corpus/fuzz_forward corpus/
 *   ./fuzz_forward -max_len=65536 -max_total_time=120 corpus/fuzz_forward
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "in_forward/fwd_sess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    unsigned int emits;
    unsigned int refuse_mask; /* refuse emit i when bit (i % 8) is set */
    size_t events;
} router;

/* Every batch must be a stream of [time, map] events msgpack-c can read. */
static void check_batch(const struct sk_events *ev)
{
    struct sk_event_iter it;
    size_t n = 0;
    int rc;

    sk_event_iter_init(&it, ev->data, ev->len);
    for (;;) {
        struct sk_time t;
        const msgpack_object *rec;

        rc = sk_event_iter_next(&it, &t, &rec);
        if (rc != 1) {
            break;
        }
        n++;
    }
    sk_event_iter_cleanup(&it);
    if (rc != 0 || n != ev->count || n == 0 || ev->tag == NULL) {
        abort();
    }
}

static int fake_emit(void *arg, const char *tag, const struct sk_events *ev)
{
    (void)arg;
    (void)tag;
    check_batch(ev);
    if (router.refuse_mask & (1u << (router.emits++ % 8))) {
        return SK_EFULL;
    }
    router.events += ev->count;
    return 0;
}

static int fake_send(void *arg, const char *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return 0;
}

static const struct fwd_sess_ops ops = {fake_emit, fake_send};

static void drive(const uint8_t *data, size_t size, const struct fwd_sess_conf *conf,
                  const struct sockaddr *peer)
{
    struct fwd_sess s;
    size_t off = 0;
    enum fwd_sess_result r = FWD_SESS_MORE;
    unsigned int piece = 1;

    if (fwd_sess_init(&s, conf, &ops, NULL, peer, "127.0.0.1", "localhost") < 0) {
        fwd_sess_cleanup(&s);
        return;
    }
    while (off < size && (r == FWD_SESS_MORE || r == FWD_SESS_BLOCKED)) {
        char *dst;
        size_t room;
        size_t n;
        int tries = 0;

        while (r == FWD_SESS_BLOCKED && tries++ < 16) {
            r = fwd_sess_process(&s);
        }
        if (r == FWD_SESS_BLOCKED) {
            router.refuse_mask = 0; /* the buffer drained */
            r = fwd_sess_process(&s);
        }
        if (r != FWD_SESS_MORE || fwd_sess_space(&s, &dst, &room) < 0) {
            break;
        }
        /* Piece sizes vary with the data: 1, 2, ... bytes, reset by 0x00. */
        piece = data[off] == 0 ? 1 : piece + 1;
        n = size - off < piece ? size - off : piece;
        n = n < room ? n : room;
        memcpy(dst, data + off, n);
        fwd_sess_filled(&s, n);
        off += n;
        r = fwd_sess_process(&s);
    }
    if (r == FWD_SESS_MORE) {
        (void)fwd_sess_eof(&s);
    }
    fwd_sess_cleanup(&s);
}

/* The pure decoders on the raw bytes, as one message. */
static void decode_direct(const uint8_t *data, size_t size, const struct fwd_cvt *cv)
{
    struct fwd_msg m;
    struct sk_evbuf scratch;
    struct sk_buf inflated;
    struct fwd_skips sk = {0, 0};
    size_t off = 0;

    if (fwd_msg_decode((const char *)data, size, &m) < 0) {
        return;
    }
    sk_evbuf_init(&scratch, 1 << 20);
    sk_buf_init(&inflated, 1 << 20);
    if (m.mode == FWD_PACKED && m.compress == FWD_GZIP &&
        fwd_gunzip(m.entries, m.entries_len, &inflated) == 0) {
        m.entries = inflated.data;
        m.entries_len = inflated.len;
    }
    if (m.mode == FWD_MESSAGE) {
        struct sk_events ev = {"t", NULL, 0, 0};

        if (fwd_message_event(cv, &m, &scratch, &ev, &sk) == 1) {
            check_batch(&ev);
        }
    }
    while ((m.mode == FWD_FORWARD || m.mode == FWD_PACKED) && off < m.entries_len) {
        struct sk_events ev = {"t", NULL, 0, 0};
        size_t before = off;

        if (fwd_entries_next(cv, m.entries, m.entries_len, &off, 4096, &scratch, &ev, &sk) < 0 ||
            off <= before) {
            abort(); /* no progress would loop forever in the session */
        }
        if (ev.count > 0) {
            check_batch(&ev);
        }
    }
    sk_evbuf_cleanup(&scratch);
    sk_buf_cleanup(&inflated);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sk_log_limit lim = SK_LOG_LIMIT_INIT(1000, 0);
    static struct fwd_user users[1] = {{"user", "pass"}};
    static struct fwd_security sec = {"server", "key", true, true, users, 1, NULL, 0};
    struct fwd_sess_conf conf;
    struct fwd_cvt cv;
    struct sockaddr_in peer;
    uint8_t sel;

    if (size < 2) {
        return 0;
    }
    sk_log_set_level(SK_LOG_FATAL);
    sel = data[0];
    memset(&conf, 0, sizeof(conf));
    conf.id = "fuzz";
    conf.security = (sel & 0x01) ? &sec : NULL;
    conf.skip_invalid = !(sel & 0x02);
    conf.tag_prefix = (sel & 0x04) ? "pre" : NULL;
    conf.addr_key = (sel & 0x08) ? "src" : NULL;
    conf.host_key = (sel & 0x08) ? "host" : NULL;
    conf.deny_keepalive = (sel & 0x10) != 0;
    conf.msg_max = (sel & 0x20) ? 512 : 1 << 20;
    conf.inflate_max = 1 << 20;
    conf.batch_bytes = (sel & 0x40) ? 64 : 1 << 16;
    conf.warn_limit = 128;
    conf.log = &lim;
    memset(&peer, 0, sizeof(peer));
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = htonl(0x7f000001);
    router.emits = 0;
    router.refuse_mask = (sel & 0x80) ? 0x25 : 0;
    drive(data + 1, size - 1, &conf, (const struct sockaddr *)&peer);

    memset(&cv, 0, sizeof(cv));
    cv.skip_invalid = conf.skip_invalid;
    cv.zero_is_now = (sel & 0x04) != 0;
    cv.addr_key = conf.addr_key;
    cv.addr = "127.0.0.1";
    cv.host_key = conf.host_key;
    cv.host = "localhost";
    decode_direct(data + 1, size - 1, &cv);
    return 0;
}
