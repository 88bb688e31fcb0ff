/*
 * libFuzzer target for the JSON reader (src/json/json_read.c), checked
 * against the writer.
 *
 * Build by hand from the repository root, and run:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=c11 \
 *     -Isrc tests/fuzz/fuzz_json_read.c src/json/json_read.c src/json/json_write.c \
 *     src/util/buf.c src/util/alloc.c src/util/err.c -lmsgpackc -lm -o fuzz_json_read
 *   mkdir -p corpus && ./fuzz_json_read -max_len=8192 -max_total_time=120 corpus
 *
 * (seed it with JSON documents, e.g. the test tables' inputs, one per file).
 *
 * Properties: any input either fails cleanly or gives one msgpack value
 * that msgpack-c reads to its end; the writer turns it into JSON that the
 * reader accepts again; after one more round the text is a fixed point
 * (the first round may repair invalid UTF-8 into \ufffd); sk_json_parse
 * and sk_json_write_object agree with the byte walker; the reader's two
 * modes agree: behind a string too long for its stage (count mode) the
 * input gives the same msgpack as alone (patch mode, for short inputs).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "json/json.h"
#include "util/buf.h"

#define MAX_OUT (8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int to_mp(const char *text, size_t len, struct sk_buf *mp)
{
    msgpack_packer pk;

    sk_buf_reset(mp);
    msgpack_packer_init(&pk, mp, sk_buf_msgpack_write);
    return sk_json_to_msgpack_depth(text, len, &pk, SK_JSON_UNPACK_MAX_DEPTH);
}

static int to_json(const struct sk_buf *mp, struct sk_buf *js)
{
    size_t used = 0;
    int rc;

    sk_buf_reset(js);
    rc = sk_json_write_msgpack(js, mp->data, mp->len, &used);
    if (rc == 0 && used != mp->len) {
        abort();
    }
    return rc;
}

static void check_tree(const char *text, size_t len, const struct sk_buf *js)
{
    struct sk_buf scratch;
    struct sk_buf out;
    msgpack_unpacked up;

    sk_buf_init(&scratch, MAX_OUT);
    sk_buf_init(&out, MAX_OUT);
    msgpack_unpacked_init(&up);
    if (sk_json_parse(text, len, &scratch, &up) != 0) {
        abort();
    }
    if (sk_json_write_object(&out, &up.data) != 0 || out.len != js->len ||
        memcmp(out.data, js->data, js->len) != 0) {
        abort();
    }
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    sk_buf_cleanup(&out);
}

#define PAD_LEN 3000

/* ["<PAD_LEN x>", text] must be array(2), the pad str, then text's msgpack. */
static void check_count_mode(const char *text, size_t len, const struct sk_buf *mp)
{
    static const uint8_t head[] = { 0x92, 0xda, PAD_LEN >> 8, PAD_LEN & 0xff };
    struct sk_buf in;
    struct sk_buf out;
    msgpack_packer pk;

    sk_buf_init(&in, MAX_OUT);
    sk_buf_init(&out, MAX_OUT);
    if (sk_buf_append(&in, "[\"", 2) != 0 || sk_buf_reserve(&in, PAD_LEN + len + 3) != 0) {
        abort();
    }
    memset(in.data + in.len, 'x', PAD_LEN);
    in.len += PAD_LEN;
    if (sk_buf_append(&in, "\",", 2) != 0 || sk_buf_append(&in, text, len) != 0 ||
        sk_buf_putc(&in, ']') != 0) {
        abort();
    }
    msgpack_packer_init(&pk, &out, sk_buf_msgpack_write);
    if (sk_json_to_msgpack_depth(in.data, in.len, &pk, SK_JSON_UNPACK_MAX_DEPTH + 1) != 0 ||
        out.len != sizeof head + PAD_LEN + mp->len || memcmp(out.data, head, sizeof head) != 0 ||
        memcmp(out.data + sizeof head + PAD_LEN, mp->data, mp->len) != 0) {
        abort();
    }
    sk_buf_cleanup(&in);
    sk_buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct sk_buf mp;
    struct sk_buf js;
    struct sk_buf js2;
    struct sk_buf js3;
    msgpack_unpacked up;
    size_t off = 0;

    sk_buf_init(&mp, MAX_OUT);
    sk_buf_init(&js, MAX_OUT);
    sk_buf_init(&js2, MAX_OUT);
    sk_buf_init(&js3, MAX_OUT);
    if (to_mp(text, size, &mp) == 0) {
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, mp.data, mp.len, &off) != MSGPACK_UNPACK_SUCCESS ||
            off != mp.len) {
            abort();
        }
        msgpack_unpacked_destroy(&up);
        check_count_mode(text, size, &mp);
        if (to_json(&mp, &js) != 0) {
            abort();
        }
        check_tree(text, size, &js);
        if (to_mp(js.data, js.len, &mp) != 0 || to_json(&mp, &js2) != 0) {
            abort();
        }
        if (to_mp(js2.data, js2.len, &mp) != 0 || to_json(&mp, &js3) != 0) {
            abort();
        }
        if (js2.len != js3.len || memcmp(js2.data, js3.data, js2.len) != 0) {
            abort();
        }
    }
    sk_buf_cleanup(&mp);
    sk_buf_cleanup(&js);
    sk_buf_cleanup(&js2);
    sk_buf_cleanup(&js3);
    return 0;
}
