/* Byte-level msgpack: framing, nesting check, and a read cursor. */
#include "in_forward/fwd_mp.h"

#include <string.h>

/* What one type byte announces: header bytes, payload bytes after the
 * header, and nested values that follow. */
struct mp_head {
    size_t hdr;
    uint64_t payload;
    uint64_t children;
};

static uint64_t be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Fixed-size types: payload bytes after the type byte, or -1. */
static int fixed_payload(unsigned char c)
{
    switch (c) {
    case 0xc0: case 0xc2: case 0xc3: return 0;
    case 0xcc: case 0xd0: return 1;
    case 0xcd: case 0xd1: return 2;
    case 0xca: case 0xce: case 0xd2: return 4;
    case 0xcb: case 0xcf: case 0xd3: return 8;
    case 0xd4: return 2;
    case 0xd5: return 3;
    case 0xd6: return 5;
    case 0xd7: return 9;
    case 0xd8: return 17;
    default: return -1;
    }
}

/* Width of the length field of sized types (str/bin/ext/array/map), or 0. */
static size_t len_width(unsigned char c)
{
    switch (c) {
    case 0xc4: case 0xc7: case 0xd9: return 1;
    case 0xc5: case 0xc8: case 0xda: case 0xdc: case 0xde: return 2;
    case 0xc6: case 0xc9: case 0xdb: case 0xdd: case 0xdf: return 4;
    default: return 0;
    }
}

/* 0, SK_EAGAIN when the header itself is cut, SK_EPROTO for 0xc1. */
static int head(const unsigned char *u, size_t avail, struct mp_head *h)
{
    unsigned char c = u[0];
    int fixed;
    size_t w;
    uint64_t n;

    h->hdr = 1;
    h->payload = 0;
    h->children = 0;
    if (c <= 0x7f || c >= 0xe0) {
        return 0;
    }
    if (c <= 0x8f) {
        h->children = (uint64_t)(c & 0x0f) * 2;
        return 0;
    }
    if (c <= 0x9f) {
        h->children = c & 0x0f;
        return 0;
    }
    if (c <= 0xbf) {
        h->payload = c & 0x1f;
        return 0;
    }
    fixed = fixed_payload(c);
    if (fixed >= 0) {
        h->payload = (uint64_t)fixed;
        return 0;
    }
    w = len_width(c);
    if (w == 0) {
        return SK_EPROTO; /* 0xc1: never used */
    }
    if (avail < 1 + w) {
        return SK_EAGAIN;
    }
    h->hdr = 1 + w;
    n = be(u + 1, w);
    if (c == 0xdc || c == 0xdd) {
        h->children = n;
    } else if (c == 0xde || c == 0xdf) {
        h->children = n * 2;
    } else if (c >= 0xc7 && c <= 0xc9) {
        h->payload = n + 1; /* the ext type byte */
    } else {
        h->payload = n;
    }
    return 0;
}

int fwd_mp_frame(struct fwd_mp_frame *st, const char *p, size_t len, size_t *n)
{
    const unsigned char *u = (const unsigned char *)p;

    if (st->pending == 0) {
        st->off = 0;
        st->pending = 1;
    }
    while (st->pending > 0) {
        struct mp_head h;
        int rc;

        if (st->off >= len) {
            return SK_EAGAIN;
        }
        rc = head(u + st->off, len - st->off, &h);
        if (rc < 0) {
            return rc;
        }
        if (h.hdr > len - st->off || h.payload > len - st->off - h.hdr) {
            return SK_EAGAIN; /* resume at the start of this value */
        }
        st->off += h.hdr + (size_t)h.payload;
        st->pending = st->pending - 1 + h.children;
    }
    *n = st->off;
    st->off = 0;
    return 0;
}

bool fwd_mp_depth_ok(const char *p, size_t len, unsigned int max_depth)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t left[FWD_MP_MAX_DEPTH];
    unsigned int d = 0;
    size_t off = 0;

    if (max_depth > FWD_MP_MAX_DEPTH) {
        max_depth = FWD_MP_MAX_DEPTH;
    }
    do {
        struct mp_head h;

        if (off >= len || head(u + off, len - off, &h) < 0 || h.hdr > len - off ||
            h.payload > len - off - h.hdr) {
            return false;
        }
        off += h.hdr + (size_t)h.payload;
        if (h.children > 0) {
            if (d >= max_depth) {
                return false;
            }
            left[d++] = h.children;
            continue;
        }
        while (d > 0 && --left[d - 1] == 0) {
            d--;
        }
    } while (d > 0);
    return true;
}

void fwd_mp_cur_init(struct fwd_mp_cur *c, const char *p, size_t len)
{
    c->p = p;
    c->len = len;
    c->off = 0;
}

/* Fills the scalar fields of v from its type byte and payload. */
static void scalar(struct fwd_mp_val *v, unsigned char c, const unsigned char *pl, size_t w)
{
    if (c <= 0x7f) {
        v->type = FWD_MP_UINT;
        v->u = c;
    } else if (c >= 0xe0) {
        v->type = FWD_MP_INT;
        v->i = (int8_t)c;
    } else if (c == 0xc0) {
        v->type = FWD_MP_NIL;
    } else if (c == 0xc2 || c == 0xc3) {
        v->type = FWD_MP_BOOL;
        v->b = c == 0xc3;
    } else if (c >= 0xcc && c <= 0xcf) {
        v->type = FWD_MP_UINT;
        v->u = be(pl, w);
    } else if (c >= 0xd0 && c <= 0xd3) {
        uint64_t raw = be(pl, w);

        /* Sign-extend the w-byte two's complement value. */
        v->i = w == 1   ? (int8_t)raw
               : w == 2 ? (int16_t)raw
               : w == 4 ? (int32_t)raw
                        : (int64_t)raw;
        v->type = v->i < 0 ? FWD_MP_INT : FWD_MP_UINT;
        v->u = (uint64_t)v->i;
    } else if (c == 0xca) {
        uint32_t bits = (uint32_t)be(pl, 4);
        float fl;

        memcpy(&fl, &bits, sizeof(fl));
        v->type = FWD_MP_FLOAT;
        v->f = fl;
    } else if (c == 0xcb) {
        uint64_t bits = be(pl, 8);

        memcpy(&v->f, &bits, sizeof(v->f));
        v->type = FWD_MP_FLOAT;
    } else { /* fixext 0xd4..0xd8 */
        v->type = FWD_MP_EXT;
        v->ext_type = (int8_t)pl[0];
        v->body = (const char *)pl + 1;
        v->body_len = w - 1;
    }
}

/* str/bin/ext/array/map with an explicit length field, and fix types. */
static void sized(struct fwd_mp_val *v, unsigned char c, const unsigned char *u,
                  const struct mp_head *h)
{
    if ((c >= 0xa0 && c <= 0xbf) || c == 0xd9 || c == 0xda || c == 0xdb || c == 0xc4 ||
        c == 0xc5 || c == 0xc6) {
        v->type = FWD_MP_STR;
        v->is_bin = c >= 0xc4 && c <= 0xc6;
        v->body = (const char *)u + h->hdr;
        v->body_len = (size_t)h->payload;
    } else if (c >= 0xc7 && c <= 0xc9) {
        v->type = FWD_MP_EXT;
        v->ext_type = (int8_t)u[h->hdr];
        v->body = (const char *)u + h->hdr + 1;
        v->body_len = (size_t)h->payload - 1;
    } else if ((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf) {
        v->type = FWD_MP_MAP;
        v->n = (uint32_t)(h->children / 2);
    } else {
        v->type = FWD_MP_ARRAY;
        v->n = (uint32_t)h->children;
    }
}

static bool is_container(unsigned char t)
{
    return (t >= 0x80 && t <= 0x9f) || (t >= 0xdc && t <= 0xdf);
}

int fwd_mp_next(struct fwd_mp_cur *c, struct fwd_mp_val *v, bool enter)
{
    const unsigned char *u = (const unsigned char *)c->p + c->off;
    size_t avail = c->len - c->off;
    struct mp_head h;
    unsigned char t;

    if (c->off >= c->len || head(u, avail, &h) < 0 || h.hdr > avail ||
        h.payload > avail - h.hdr) {
        return SK_EPROTO;
    }
    memset(v, 0, sizeof(*v));
    t = u[0];
    v->raw = (const char *)u;
    v->raw_len = h.hdr + (size_t)h.payload;
    if (!is_container(t)) {
        if ((t >= 0xa0 && t <= 0xbf) || len_width(t) > 0) {
            sized(v, t, u, &h);
        } else {
            scalar(v, t, u + 1, (size_t)h.payload);
        }
        c->off += v->raw_len;
        return 0;
    }
    sized(v, t, u, &h);
    if (!enter) {
        struct fwd_mp_frame st = {0, 0};

        if (fwd_mp_frame(&st, (const char *)u, avail, &v->raw_len) < 0) {
            return SK_EPROTO;
        }
    }
    c->off += v->raw_len;
    return 0;
}

bool fwd_mp_str_eq(const struct fwd_mp_val *v, const char *s)
{
    size_t n = strlen(s);

    return v->type == FWD_MP_STR && v->body_len == n && memcmp(v->body, s, n) == 0;
}
