/*
 * libFuzzer target for the msgpack -> JSON writer (src/json/json_write.c).
 *
 * Build by hand from the repository root, and run:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=c11 \
 *     -Isrc tests/fuzz/fuzz_json_write.c src/json/json_read.c src/json/json_write.c \
 *     src/util/buf.c src/util/alloc.c src/util/err.c -lmsgpackc -lm -o fuzz_json_write
 *   mkdir -p corpus && ./fuzz_json_write -max_len=4096 -max_total_time=120 corpus
 *
 * (seed it with msgpack values, e.g. the test tables' inputs, one per file).
 *
 * Properties: any bytes either fail cleanly (SK_EPARSE) or give valid
 * UTF-8 without raw control characters that the reader accepts as JSON;
 * whatever msgpack-c unpacks, the walker accepts too, consumes the same
 * number of bytes and writes the same text as sk_json_write_object; one
 * byte less of buffer maximum is SK_ETOOBIG, never a success or a crash.
 *
 * msgpack-c (the reference here, not the code under test) allocates
 * count * sizeof(msgpack_object) for an array/map header before it checks
 * that the elements are there: 5 bytes can ask it for 128 GiB. So it only
 * sees inputs where no byte that could be a 16/32-bit container header
 * claims more elements than the input has bytes (a conservative scan that
 * shares no code with the walker), or that the walker accepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "json/json.h"
#include "util/buf.h"

#define MAX_OUT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int counts_plausible(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = p[i] == 0xdc || p[i] == 0xde ? 2 : p[i] == 0xdd || p[i] == 0xdf ? 4 : 0;
        size_t count = 0;

        for (size_t j = 1; j <= k; j++) {
            count = count << 8 | (i + j < n ? p[i + j] : 0xff);
        }
        if (k > 0 && count > n) {
            return 0;
        }
    }
    return 1;
}

static void check_utf8(const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = p[i];
        unsigned cp;
        size_t k;

        if (c < 0x20) {
            abort();
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (c < 0xc2 || c > 0xf4 || i + k > n) {
            abort();
        }
        cp = c & (0xffu >> (k + 1));
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) {
                abort();
            }
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if (cp < (k == 2 ? 0x80u : k == 3 ? 0x800u : 0x10000u) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            abort();
        }
        i += k;
    }
}

static void check_json(const struct sk_buf *js)
{
    struct sk_buf mp;
    msgpack_packer pk;

    sk_buf_init(&mp, MAX_OUT);
    msgpack_packer_init(&pk, &mp, sk_buf_msgpack_write);
    if (sk_json_to_msgpack(js->data, js->len, &pk) != 0) {
        abort();
    }
    sk_buf_cleanup(&mp);
}

static void check_tight_max(const char *mp, size_t size, size_t len)
{
    struct sk_buf b;
    size_t used;

    sk_buf_init(&b, len - 1);
    if (sk_json_write_msgpack(&b, mp, size, &used) != SK_ETOOBIG || b.len > len - 1) {
        abort();
    }
    sk_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *mp = (const char *)data;
    struct sk_buf js;
    struct sk_buf js2;
    msgpack_unpacked up;
    size_t used = 0;
    size_t off = 0;
    int rc;
    msgpack_unpack_return ret;

    sk_buf_init(&js, MAX_OUT);
    sk_buf_init(&js2, MAX_OUT);
    rc = sk_json_write_msgpack(&js, mp, size, &used);
    if (rc != 0 && rc != SK_EPARSE && rc != SK_ETOOBIG) {
        abort();
    }
    if (rc == 0) {
        check_utf8((const unsigned char *)js.data, js.len);
        check_json(&js);
        check_tight_max(mp, size, js.len);
    }
    msgpack_unpacked_init(&up);
    if (rc != 0 && !counts_plausible(data, size)) {
        goto out;
    }
    ret = msgpack_unpack_next(&up, mp, size, &off);
    if (ret == MSGPACK_UNPACK_SUCCESS) {
        /* Map keys inside map keys double their escapes per level: a
         * small input can outgrow MAX_OUT. */
        if (rc == SK_ETOOBIG) {
            goto out;
        }
        if (rc != 0 || used != off) {
            abort();
        }
        if (sk_json_write_object(&js2, &up.data) != 0 || js2.len != js.len ||
            memcmp(js2.data, js.data, js.len) != 0) {
            abort();
        }
    }
out:
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&js);
    sk_buf_cleanup(&js2);
    return 0;
}
