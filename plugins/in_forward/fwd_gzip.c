/* CompressedPackedForward: concatenated gzip members, inflated with a bound. */
#include "in_forward/fwd_decode.h"

#include <limits.h>
#include <string.h>

#include <zlib.h>

#include "util/alloc.h"

#define FWD_INFLATE_STEP (256u * 1024)

/* zlib allocates through skiff's allocator (tests can make it fail). */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return sk_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    sk_free(p);
}

/* Inflates one member from z into out. 0 at the member's end. */
static int inflate_member(z_stream *z, struct sk_buf *out)
{
    for (;;) {
        size_t room = out->max - out->len;
        size_t step = room < FWD_INFLATE_STEP ? room : FWD_INFLATE_STEP;
        int zr;
        int rc;

        if (step == 0) {
            return SK_ETOOBIG;
        }
        rc = sk_buf_reserve(out, step);
        if (rc < 0) {
            return rc;
        }
        z->next_out = (Bytef *)out->data + out->len;
        z->avail_out = (uInt)step;
        zr = inflate(z, Z_NO_FLUSH);
        out->len += step - z->avail_out;
        out->data[out->len] = '\0';
        if (zr == Z_STREAM_END) {
            return 0;
        }
        if (zr == Z_MEM_ERROR) {
            return SK_ENOMEM;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            return SK_EPARSE;
        }
        if (z->avail_out != 0) {
            return SK_EPARSE; /* input ended inside the member */
        }
    }
}

int fwd_gunzip(const char *p, size_t len, struct sk_buf *out)
{
    size_t start = out->len;
    z_stream z;
    int rc = 0;

    if (len > UINT_MAX) {
        return SK_ETOOBIG;
    }
    memset(&z, 0, sizeof(z));
    z.zalloc = z_alloc;
    z.zfree = z_free;
    if (inflateInit2(&z, 15 + 16) != Z_OK) {
        return SK_ENOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)len;
    if (len == 0) {
        rc = SK_EPARSE;
    }
    while (rc == 0 && z.avail_in > 0) {
        rc = inflate_member(&z, out);
        if (rc == 0 && z.avail_in > 0 && inflateReset(&z) != Z_OK) {
            rc = SK_EPARSE;
        }
    }
    inflateEnd(&z);
    if (rc < 0) {
        out->len = start;
        if (out->data != NULL) {
            out->data[start] = '\0';
        }
    }
    return rc;
}
