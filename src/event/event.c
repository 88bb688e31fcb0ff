#include "event/event.h"

#include <string.h>
#include <time.h>

struct sk_time sk_time_now(void)
{
    struct timespec ts;
    struct sk_time t;

    clock_gettime(CLOCK_REALTIME, &ts);
    t.sec = ts.tv_sec;
    t.nsec = (uint32_t)ts.tv_nsec;
    return t;
}

void sk_evbuf_init(struct sk_evbuf *eb, size_t max)
{
    sk_buf_init(&eb->buf, max);
    msgpack_packer_init(&eb->pk, &eb->buf, sk_buf_msgpack_write);
    eb->count = 0;
}

void sk_evbuf_cleanup(struct sk_evbuf *eb)
{
    sk_buf_cleanup(&eb->buf);
    eb->count = 0;
}

void sk_evbuf_reset(struct sk_evbuf *eb)
{
    sk_buf_reset(&eb->buf);
    eb->count = 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

int sk_pack_time(msgpack_packer *pk, struct sk_time t)
{
    unsigned char ext[10] = {0xd7, 0x00};

    put_be32(ext + 2, (uint32_t)t.sec);
    put_be32(ext + 6, t.nsec);
    return pk->callback(pk->data, (const char *)ext, sizeof(ext));
}

int sk_evbuf_begin(struct sk_evbuf *eb, struct sk_time t)
{
    int rc = sk_buf_putc(&eb->buf, (char)0x92);

    if (rc < 0) {
        return rc;
    }
    return sk_pack_time(&eb->pk, t);
}

void sk_evbuf_commit(struct sk_evbuf *eb)
{
    eb->count++;
}

void sk_evbuf_rollback(struct sk_evbuf *eb, size_t mark)
{
    if (mark < eb->buf.len) {
        eb->buf.len = mark;
        eb->buf.data[mark] = '\0';
    }
}

int sk_evbuf_map_open(struct sk_evbuf *eb, size_t *offset)
{
    static const char header[5] = {(char)0xdf, 0, 0, 0, 0};

    *offset = eb->buf.len;
    return sk_buf_append(&eb->buf, header, sizeof(header));
}

void sk_evbuf_map_close(struct sk_evbuf *eb, size_t offset, uint32_t count)
{
    put_be32((unsigned char *)eb->buf.data + offset + 1, count);
}

int sk_pack_str(msgpack_packer *pk, const char *s, size_t len)
{
    int rc = msgpack_pack_str(pk, len);

    if (rc != 0) {
        return rc < 0 ? rc : SK_ENOMEM;
    }
    rc = msgpack_pack_str_body(pk, s, len);
    return rc == 0 ? 0 : (rc < 0 ? rc : SK_ENOMEM);
}

int sk_pack_kv_str(msgpack_packer *pk, const char *k, size_t klen, const char *v, size_t vlen)
{
    int rc = sk_pack_str(pk, k, klen);

    return rc < 0 ? rc : sk_pack_str(pk, v, vlen);
}

void sk_event_iter_init(struct sk_event_iter *it, const char *data, size_t len)
{
    it->data = data;
    it->len = len;
    it->offset = 0;
    msgpack_unpacked_init(&it->result);
}

void sk_event_iter_cleanup(struct sk_event_iter *it)
{
    msgpack_unpacked_destroy(&it->result);
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int sk_time_from_object(const msgpack_object *o, struct sk_time *t)
{
    switch (o->type) {
    case MSGPACK_OBJECT_EXT:
        if (o->via.ext.type != 0 || o->via.ext.size != 8) {
            return SK_EPARSE;
        }
        t->sec = get_be32((const unsigned char *)o->via.ext.ptr);
        t->nsec = get_be32((const unsigned char *)o->via.ext.ptr + 4);
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        t->sec = (int64_t)o->via.u64;
        t->nsec = 0;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        t->sec = o->via.i64;
        t->nsec = 0;
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        t->sec = (int64_t)o->via.f64;
        t->nsec = (uint32_t)((o->via.f64 - (double)t->sec) * 1e9);
        return 0;
    default:
        return SK_EPARSE;
    }
}

int sk_event_iter_next(struct sk_event_iter *it, struct sk_time *time,
                       const msgpack_object **record)
{
    const msgpack_object *o;
    msgpack_unpack_return ret;
    size_t off = it->offset;

    if (it->offset >= it->len) {
        return 0;
    }
    /* A corrupt container count would make msgpack-c allocate for it
     * before noticing the bytes are missing: check the shape first. */
    if (sk_mp_skip(it->data + it->offset, it->len - it->offset) == 0) {
        return SK_EPARSE;
    }
    ret = msgpack_unpack_next(&it->result, it->data, it->len, &off);
    if (ret != MSGPACK_UNPACK_SUCCESS) {
        return SK_EPARSE;
    }
    o = &it->result.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
        o->via.array.ptr[1].type != MSGPACK_OBJECT_MAP ||
        sk_time_from_object(&o->via.array.ptr[0], time) < 0) {
        return SK_EPARSE;
    }
    it->offset = off;
    *record = &o->via.array.ptr[1];
    return 1;
}

const msgpack_object *sk_map_get(const msgpack_object *map, const char *key, size_t klen)
{
    if (map->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;

        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0) {
            return &map->via.map.ptr[i].val;
        }
    }
    return NULL;
}

/* Header size and the number of nested values that follow, per type byte. */
static int mp_header(const unsigned char *p, size_t len, size_t *hdr, uint64_t *payload,
                     uint64_t *children)
{
    unsigned char c = p[0];
    size_t need;

    *payload = 0;
    *children = 0;
    *hdr = 1;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
        return 0;
    }
    if ((c & 0xf0) == 0x80) {
        *children = (uint64_t)(c & 0x0f) * 2;
        return 0;
    }
    if ((c & 0xf0) == 0x90) {
        *children = c & 0x0f;
        return 0;
    }
    if ((c & 0xe0) == 0xa0) {
        *payload = c & 0x1f;
        return 0;
    }
    switch (c) {
    case 0xcc: case 0xd0: *payload = 1; return 0;
    case 0xcd: case 0xd1: *payload = 2; return 0;
    case 0xca: case 0xce: case 0xd2: *payload = 4; return 0;
    case 0xcb: case 0xcf: case 0xd3: *payload = 8; return 0;
    case 0xd4: *payload = 2; return 0;
    case 0xd5: *payload = 3; return 0;
    case 0xd6: *payload = 5; return 0;
    case 0xd7: *payload = 9; return 0;
    case 0xd8: *payload = 17; return 0;
    default: break;
    }
    need = (c == 0xc4 || c == 0xd9 || c == 0xc7) ? 2
         : (c == 0xc5 || c == 0xda || c == 0xc8 || c == 0xdc || c == 0xde) ? 3
         : (c == 0xc6 || c == 0xdb || c == 0xc9 || c == 0xdd || c == 0xdf) ? 5 : 0;
    if (need == 0 || len < need) {
        return -1;
    }
    *hdr = need;
    {
        uint64_t n = 0;

        for (size_t i = 1; i < need; i++) {
            n = n << 8 | p[i];
        }
        if (c == 0xdc || c == 0xdd) {
            *children = n;
        } else if (c == 0xde || c == 0xdf) {
            *children = n * 2;
        } else if (c == 0xc7 || c == 0xc8 || c == 0xc9) {
            *payload = n + 1; /* the ext type byte */
        } else {
            *payload = n;
        }
    }
    return 0;
}

size_t sk_mp_skip(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t off = 0;
    uint64_t pending = 1;

    while (pending > 0) {
        size_t hdr;
        uint64_t payload;
        uint64_t children;

        if (off >= len || mp_header(u + off, len - off, &hdr, &payload, &children) < 0) {
            return 0;
        }
        if (payload > len - off - hdr) {
            return 0;
        }
        off += hdr + (size_t)payload;
        pending = pending - 1 + children;
        if (pending > len - off) {
            return 0; /* more values announced than bytes left: each needs one */
        }
    }
    return off;
}

int sk_event_peek_time(const char *p, size_t len, struct sk_time *t)
{
    const unsigned char *u = (const unsigned char *)p;
    msgpack_unpacked up;
    size_t off = 0;
    int rc = SK_EPARSE;

    /* Fast path: what skiff and Fluentd write, 92 d7 00 SSSS NNNN. */
    if (len >= 11 && u[0] == 0x92 && u[1] == 0xd7 && u[2] == 0x00) {
        t->sec = get_be32(u + 3);
        t->nsec = get_be32(u + 7);
        return 0;
    }
    if (len < 2 || u[0] != 0x92) {
        return SK_EPARSE;
    }
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, p + 1, len - 1, &off) == MSGPACK_UNPACK_SUCCESS) {
        rc = sk_time_from_object(&up.data, t);
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}

int sk_evbuf_add_field(struct sk_evbuf *eb, size_t mark, const char *key, size_t klen,
                       const char *val, size_t vlen)
{
    size_t tlen;
    size_t at;
    unsigned char *h;
    uint32_t n;
    int rc;

    if (eb->buf.len <= mark + 1) {
        return SK_EINVAL;
    }
    tlen = sk_mp_skip(eb->buf.data + mark + 1, eb->buf.len - mark - 1);
    at = mark + 1 + tlen; /* the map header */
    if (tlen == 0 || at >= eb->buf.len) {
        return SK_EPARSE;
    }
    h = (unsigned char *)eb->buf.data + at;
    if ((*h & 0xf0) == 0x80 && (*h & 0x0f) < 15) {
        *h = (unsigned char)(*h + 1);
    } else if ((*h & 0xf0) == 0x80) {
        /* fixmap(15) -> map16(16): two more header bytes. */
        rc = sk_buf_reserve(&eb->buf, 2);
        if (rc < 0) {
            return rc;
        }
        h = (unsigned char *)eb->buf.data + at;
        memmove(h + 3, h + 1, eb->buf.len - at - 1);
        eb->buf.len += 2;
        h[0] = 0xde;
        h[1] = 0;
        h[2] = 16;
    } else if (*h == 0xde) {
        n = (uint32_t)h[1] << 8 | h[2];
        if (n == 0xffff) {
            return SK_ETOOBIG;
        }
        n++;
        h[1] = (unsigned char)(n >> 8);
        h[2] = (unsigned char)n;
    } else if (*h == 0xdf) {
        put_be32(h + 1, get_be32(h + 1) + 1);
    } else {
        return SK_EPARSE;
    }
    return sk_pack_kv_str(&eb->pk, key, klen, val, vlen);
}
