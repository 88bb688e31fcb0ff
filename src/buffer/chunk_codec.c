/* Pure byte codecs of file chunks: the .meta map, gzip members, and the
 * walk over a chunk's content that tells whole events from a torn tail. */
#include "buffer/chunk_file.h"

#include <limits.h>
#include <string.h>

#include <msgpack.h>
#include <zlib.h>

#include "event/event.h"
#include "util/alloc.h"

#define META_MAX ((size_t)1 << 20) /* no sane meta map is larger */
#define INFLATE_STEP ((size_t)64 << 10)

/* --- .meta --------------------------------------------------------------- */

static int pack_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    int rc = msgpack_pack_str(pk, n);

    return rc != 0 ? rc : msgpack_pack_str_body(pk, k, n);
}

static int pack_fields(msgpack_packer *pk, struct sk_buf *out, const struct sk_chunk_meta *m)
{
    size_t tag_len = m->tag != NULL ? strlen(m->tag) : 0;
    int rc = msgpack_pack_map(pk, 8);

    /* Fluentd's order: Metadata#to_h (timekey, tag, variables, seq), then id, s, c, m.
     * Each step runs only while the previous ones succeeded. */
    rc = rc != 0 ? rc : pack_key(pk, "timekey");
    if (rc == 0) {
        rc = m->timekey < 0 ? msgpack_pack_nil(pk) : msgpack_pack_int64(pk, m->timekey);
    }
    rc = rc != 0 ? rc : pack_key(pk, "tag");
    if (rc == 0) {
        rc = m->tag == NULL ? msgpack_pack_nil(pk) : msgpack_pack_str(pk, tag_len);
    }
    if (rc == 0 && m->tag != NULL) {
        rc = msgpack_pack_str_body(pk, m->tag, tag_len);
    }
    rc = rc != 0 ? rc : pack_key(pk, "variables");
    if (rc == 0) {
        rc = m->variables == NULL ? msgpack_pack_nil(pk)
                                  : sk_buf_append(out, m->variables, m->variables_len);
    }
    rc = rc != 0 ? rc : pack_key(pk, "seq");
    rc = rc != 0 ? rc : msgpack_pack_uint64(pk, m->seq);
    rc = rc != 0 ? rc : pack_key(pk, "id");
    rc = rc != 0 ? rc : msgpack_pack_bin(pk, SK_CHUNK_ID_SIZE);
    rc = rc != 0 ? rc : msgpack_pack_bin_body(pk, m->id, SK_CHUNK_ID_SIZE);
    rc = rc != 0 ? rc : pack_key(pk, "s");
    rc = rc != 0 ? rc : msgpack_pack_uint64(pk, m->records);
    rc = rc != 0 ? rc : pack_key(pk, "c");
    rc = rc != 0 ? rc : msgpack_pack_int64(pk, m->created);
    rc = rc != 0 ? rc : pack_key(pk, "m");
    rc = rc != 0 ? rc : msgpack_pack_int64(pk, m->modified);
    return rc;
}

int sk_chunk_meta_encode(const struct sk_chunk_meta *m, struct sk_buf *out)
{
    static const char header[6] = {(char)0xc1, 0x00, 0, 0, 0, 0};
    size_t start = out->len;
    msgpack_packer pk;
    size_t n;
    int rc = sk_buf_append(out, header, sizeof(header));

    if (rc == 0) {
        msgpack_packer_init(&pk, out, sk_buf_msgpack_write);
        rc = pack_fields(&pk, out, m);
    }
    if (rc != 0) {
        out->len = start;
        if (out->data != NULL) {
            out->data[start] = '\0';
        }
        return rc < 0 ? rc : SK_ENOMEM;
    }
    n = out->len - start - sizeof(header);
    out->data[start + 2] = (char)(n >> 24);
    out->data[start + 3] = (char)(n >> 16);
    out->data[start + 4] = (char)(n >> 8);
    out->data[start + 5] = (char)n;
    return 0;
}

static bool key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);

    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, name, n) == 0;
}

static bool get_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX) {
        *v = (int64_t)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return true;
    }
    return false;
}

/* The 16-byte id: bin as Fluentd writes it, str as an old packer might. */
static bool get_id(const msgpack_object *v, uint8_t id[SK_CHUNK_ID_SIZE])
{
    if (v->type == MSGPACK_OBJECT_BIN && v->via.bin.size == SK_CHUNK_ID_SIZE) {
        memcpy(id, v->via.bin.ptr, SK_CHUNK_ID_SIZE);
        return true;
    }
    if (v->type == MSGPACK_OBJECT_STR && v->via.str.size == SK_CHUNK_ID_SIZE) {
        memcpy(id, v->via.str.ptr, SK_CHUNK_ID_SIZE);
        return true;
    }
    return false;
}

static int take_variables(struct sk_chunk_meta *m, const msgpack_object *v)
{
    struct sk_buf b;
    msgpack_packer pk;
    int rc;

    sk_free(m->variables);
    m->variables = NULL;
    m->variables_len = 0;
    if (v->type != MSGPACK_OBJECT_MAP) {
        return 0;
    }
    sk_buf_init(&b, META_MAX);
    msgpack_packer_init(&pk, &b, sk_buf_msgpack_write);
    rc = msgpack_pack_object(&pk, *v);
    if (rc != 0) {
        sk_buf_cleanup(&b);
        return rc < 0 ? rc : SK_ENOMEM;
    }
    m->variables = sk_buf_take(&b, &m->variables_len);
    return 0;
}

/* Takes one key/value of the meta map; unknown keys and bad types are skipped. */
static int meta_field(struct sk_chunk_meta *m, const msgpack_object *k, const msgpack_object *v,
                      unsigned int *have)
{
    int64_t i = 0;
    bool is_int = get_int(v, &i);

    if (key_is(k, "timekey")) {
        m->timekey = is_int && i >= 0 ? i : -1;
    } else if (key_is(k, "tag")) {
        sk_free(m->tag);
        m->tag = NULL;
        if (v->type == MSGPACK_OBJECT_STR) {
            m->tag = sk_strndup(v->via.str.ptr, v->via.str.size);
            if (m->tag == NULL) {
                return SK_ENOMEM;
            }
        }
    } else if (key_is(k, "variables")) {
        return take_variables(m, v);
    } else if (key_is(k, "seq") && is_int && i >= 0) {
        m->seq = (uint64_t)i;
    } else if (key_is(k, "id") && get_id(v, m->id)) {
        *have |= SK_META_HAVE_ID;
    } else if (key_is(k, "s") && is_int && i >= 0) {
        m->records = (uint64_t)i;
        *have |= SK_META_HAVE_S;
    } else if (key_is(k, "c") && is_int && i > 0) {
        m->created = i;
        *have |= SK_META_HAVE_C;
    } else if (key_is(k, "m") && is_int && i > 0) {
        m->modified = i;
        *have |= SK_META_HAVE_M;
    }
    return 0;
}

int sk_chunk_meta_decode(const char *p, size_t len, struct sk_chunk_meta *m, unsigned int *have)
{
    const unsigned char *u = (const unsigned char *)p;
    const char *body = p;
    size_t blen = len;
    size_t whole;
    size_t off = 0;
    msgpack_unpacked up;
    struct sk_chunk_meta tmp;
    unsigned int got = 0;
    int rc = SK_EPARSE;

    *have = 0;
    /* restore_metadata: the 1.7 header when present, else one bare object. */
    if (len > 6 && u[0] == 0xc1 && u[1] == 0x00) {
        uint32_t n = (uint32_t)u[2] << 24 | (uint32_t)u[3] << 16 | (uint32_t)u[4] << 8 | u[5];

        if (n > len - 6) {
            return SK_EPARSE;
        }
        body = p + 6;
        blen = n;
    }
    /* sk_mp_skip first: it bounds every count by the bytes, so the unpacker
     * cannot be talked into a huge allocation by a damaged file. */
    whole = sk_mp_skip(body, blen);
    if (whole == 0) {
        return SK_EPARSE;
    }
    memset(&tmp, 0, sizeof(tmp));
    tmp.timekey = -1;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, body, whole, &off) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_MAP) {
        rc = 0;
        for (uint32_t i = 0; i < up.data.via.map.size && rc == 0; i++) {
            const msgpack_object_kv *kv = &up.data.via.map.ptr[i];

            rc = meta_field(&tmp, &kv->key, &kv->val, &got);
        }
    }
    msgpack_unpacked_destroy(&up);
    if (rc < 0) {
        sk_chunk_meta_cleanup(&tmp);
        return rc;
    }
    *m = tmp;
    *have = got;
    return 0;
}

void sk_chunk_meta_cleanup(struct sk_chunk_meta *m)
{
    sk_free(m->tag);
    sk_free(m->variables);
    m->tag = NULL;
    m->variables = NULL;
    m->variables_len = 0;
}

/* --- gzip members (compress gzip) ------------------------------------------ */

/* zlib allocates through skiff's allocator, so tests can fail it too. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size != 0 && items > SIZE_MAX / size) {
        return Z_NULL;
    }
    return sk_malloc((size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    sk_free(p);
}

int sk_chunk_gzip(const char *p, size_t n, struct sk_buf *out)
{
    z_stream z;
    size_t bound;
    int zr;
    int rc;

    if (n > UINT_MAX) {
        return SK_ETOOBIG;
    }
    memset(&z, 0, sizeof(z));
    z.zalloc = z_alloc;
    z.zfree = z_free;
    /* 15 + 16: a gzip wrapper, as Ruby's Zlib::GzipWriter writes. */
    zr = deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (zr != Z_OK) {
        return zr == Z_MEM_ERROR ? SK_ENOMEM : SK_EINVAL;
    }
    bound = deflateBound(&z, (uLong)n) + 32;
    rc = sk_buf_reserve(out, bound);
    if (rc == 0) {
        z.next_in = (Bytef *)(uintptr_t)p;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)bound;
        zr = deflate(&z, Z_FINISH);
        if (zr == Z_STREAM_END) {
            out->len += bound - z.avail_out;
            out->data[out->len] = '\0';
        } else {
            rc = zr == Z_MEM_ERROR ? SK_ENOMEM : SK_EIO;
        }
    }
    deflateEnd(&z);
    return rc;
}

/* Inflates until the member ends; 0, SK_EAGAIN (cut short), SK_EPARSE, ... */
static int inflate_member(z_stream *z, struct sk_buf *out)
{
    for (;;) {
        size_t room = out->max - out->len;
        size_t step = room < INFLATE_STEP ? room : INFLATE_STEP;
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
        if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR) {
            return SK_EPARSE;
        }
        if (z->avail_out != 0) {
            return SK_EAGAIN; /* inflate stopped for input: the member is cut short */
        }
    }
}

int sk_chunk_gunzip_member(const char *p, size_t len, struct sk_buf *out, size_t *used)
{
    z_stream z;
    size_t start = out->len;
    int zr;
    int rc;

    *used = 0;
    if (len > UINT_MAX) {
        return SK_ETOOBIG;
    }
    memset(&z, 0, sizeof(z));
    z.zalloc = z_alloc;
    z.zfree = z_free;
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)len;
    zr = inflateInit2(&z, 15 + 16);
    if (zr != Z_OK) {
        return zr == Z_MEM_ERROR ? SK_ENOMEM : SK_EINVAL;
    }
    rc = inflate_member(&z, out);
    if (rc == 0) {
        *used = len - z.avail_in;
    } else {
        out->len = start;
        if (out->data != NULL) {
            out->data[start] = '\0';
        }
    }
    inflateEnd(&z);
    return rc;
}

/* --- Chunk content --------------------------------------------------------- */

static bool is_map_head(unsigned char b)
{
    return (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf;
}

/* A time Fluentd may write: EventTime (fixext 8 or ext 8, type 0), int, float. */
static bool is_time_head(const unsigned char *u, size_t n)
{
    if (u[0] <= 0x7f || u[0] >= 0xe0 || (u[0] >= 0xca && u[0] <= 0xd3)) {
        return true;
    }
    return (n >= 10 && u[0] == 0xd7 && u[1] == 0x00) ||
           (n >= 11 && u[0] == 0xc7 && u[1] == 0x08 && u[2] == 0x00);
}

/* Length of the whole [time, map] event at p, or 0. */
static size_t event_len(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t n;
    size_t t;

    if (len < 3 || u[0] != 0x92) {
        return 0;
    }
    n = sk_mp_skip(p, len);
    if (n == 0) {
        return 0;
    }
    t = sk_mp_skip(p + 1, n - 1);
    if (t == 0 || 1 + t >= n || !is_time_head(u + 1, t) || !is_map_head(u[1 + t])) {
        return 0;
    }
    return n;
}

/* Bytes of the length field of a bin/ext/str/array/map header byte. */
static size_t len_bytes(unsigned char b)
{
    switch (b) {
    case 0xc4: /* bin8 */
    case 0xc7: /* ext8 */
    case 0xd9: /* str8 */
        return 1;
    case 0xc5:
    case 0xc8:
    case 0xda:
    case 0xdc: /* array16 */
    case 0xde: /* map16 */
        return 2;
    default: /* c6 c9 db dd df */
        return 4;
    }
}

/*
 * Reads the msgpack header at u: *hdr bytes, then *payload bytes, then
 * *children values. Returns 1, 0 when the header itself is cut short, -1
 * for 0xc1 (a byte msgpack never uses). sk_mp_skip cannot tell "cut
 * short" from "invalid", which is what deciding torn or garbage needs.
 */
static int mp_head(const unsigned char *u, size_t len, size_t *hdr, uint64_t *payload,
                   uint64_t *children)
{
    static const unsigned char fixed[] = {1, 2, 4, 8}; /* cc..d3 by the low bits */
    unsigned char b = u[0];
    size_t lb;
    uint64_t v = 0;

    *hdr = 1;
    *payload = 0;
    *children = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        return 1;
    }
    if (b <= 0x9f) { /* fixmap, fixarray */
        *children = b <= 0x8f ? 2u * (b & 0x0f) : (b & 0x0f);
        return 1;
    }
    if (b <= 0xbf) { /* fixstr */
        *payload = b & 0x1f;
        return 1;
    }
    if (b == 0xc1) {
        return -1;
    }
    if (b >= 0xca && b <= 0xd3) { /* float32/64, uint8..64, int8..64 */
        *payload = b == 0xca ? 4 : b == 0xcb ? 8 : fixed[(b - 0xcc) & 3];
        return 1;
    }
    if (b >= 0xd4 && b <= 0xd8) { /* fixext 1..16: type byte, data */
        *hdr = 2;
        *payload = (uint64_t)1 << (b - 0xd4);
        return len >= 2 ? 1 : 0;
    }
    lb = len_bytes(b);
    if (len < 1 + lb) {
        return 0;
    }
    for (size_t i = 0; i < lb; i++) {
        v = v << 8 | u[1 + i];
    }
    *hdr = 1 + lb;
    if (b == 0xdc || b == 0xdd) {
        *children = v;
    } else if (b == 0xde || b == 0xdf) {
        *children = 2 * v;
    } else {
        *payload = v;
    }
    if (b >= 0xc7 && b <= 0xc9) { /* ext: a type byte follows the length */
        *hdr += 1;
        return len >= *hdr ? 1 : 0;
    }
    return 1;
}

/* True when p[0..len) is the start of an event cut short (a torn write),
 * false when it is something else (garbage, another format). */
static bool is_torn_event(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t off = 0;
    uint64_t pending = 1;

    if (len == 0 || u[0] != 0x92) {
        return false;
    }
    while (pending > 0) {
        size_t hdr;
        uint64_t payload;
        uint64_t children;
        int h;

        if (off >= len) {
            return true;
        }
        h = mp_head(u + off, len - off, &hdr, &payload, &children);
        if (h < 0) {
            return false;
        }
        if (h == 0 || payload > len - off - hdr) {
            return true;
        }
        off += hdr + (size_t)payload;
        pending = pending - 1 + children;
    }
    return false; /* a whole value that is not an event */
}

static void scan_plain(const char *p, size_t len, struct sk_chunk_scan *s)
{
    size_t off = 0;

    while (off < len) {
        size_t n = event_len(p + off, len - off);

        if (n == 0) {
            break;
        }
        off += n;
        s->records++;
    }
    s->keep = off;
    if (off < len) {
        s->torn = is_torn_event(p + off, len - off);
        s->garbage = !s->torn;
    }
}

/* Members hold whole events (each append is one member), so the cut is
 * always at a member boundary. SK_ENOMEM is the only error returned. */
static int scan_gzip(const char *p, size_t len, size_t max, struct sk_chunk_scan *s)
{
    struct sk_buf plain;
    int rc = 0;

    sk_buf_init(&plain, max);
    s->gzip = true;
    while (s->keep < len && rc == 0) {
        size_t used = 0;
        size_t off = 0;
        uint64_t n = 0;

        sk_buf_reset(&plain);
        rc = sk_chunk_gunzip_member(p + s->keep, len - s->keep, &plain, &used);
        if (rc == SK_EAGAIN) {
            s->torn = true;
            rc = 0;
            break;
        }
        if (rc == SK_EPARSE || rc == SK_ETOOBIG) {
            s->garbage = true;
            rc = 0;
            break;
        }
        while (rc == 0 && off < plain.len) {
            size_t ev = event_len(plain.data + off, plain.len - off);

            if (ev == 0) {
                break;
            }
            off += ev;
            n++;
        }
        if (rc == 0 && off != plain.len) {
            s->garbage = true;
            break;
        }
        if (rc == 0) {
            s->keep += used;
            s->records += n;
        }
    }
    sk_buf_cleanup(&plain);
    return rc;
}

int sk_chunk_scan(const char *p, size_t len, size_t max, struct sk_chunk_scan *s)
{
    const unsigned char *u = (const unsigned char *)p;

    memset(s, 0, sizeof(*s));
    /* gzip magic 1f 8b (a lone 1f is a member cut after one byte); no event
     * stream starts with 1f, the integer 31. */
    if (len >= 1 && u[0] == 0x1f && (len == 1 || u[1] == 0x8b)) {
        return scan_gzip(p, len, max, s);
    }
    scan_plain(p, len, s);
    return 0;
}
