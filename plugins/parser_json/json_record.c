/*
 * A JSON line, already turned into msgpack by the JSON reader, becomes an
 * event: the map's pairs are located without decoding (byte spans), the
 * time field is decoded, and the pairs are copied into the event as bytes
 * unless a conversion rule applies to them.
 */
#include "parser_json/json_int.h"

#include <string.h>

#include "util/alloc.h"

#define MP_MAX_DEPTH 128
#define SMALL_MAP 64 /* pairs compared one by one for duplicates */

/* One pair of the map: raw key bytes, key text, raw value bytes. */
struct pair {
    size_t ks;
    size_t vs;
    size_t ve;
    const char *key;
    size_t klen;
    long value; /* index of the pair whose value is used; -1: dropped duplicate */
};

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static size_t mp_len(const unsigned char *p, size_t len, int depth);

/* Length of `count` consecutive objects, or 0. */
static size_t mp_seq(const unsigned char *p, size_t len, uint64_t count, int depth)
{
    size_t off = 0;

    for (uint64_t i = 0; i < count; i++) {
        size_t n = mp_len(p + off, len - off, depth + 1);

        if (n == 0) {
            return 0;
        }
        off += n;
    }
    return off;
}

/* Header length and payload length for length-prefixed types. */
static size_t mp_sized(const unsigned char *p, size_t len, int width, size_t extra)
{
    uint64_t n;

    if (len < (size_t)(1 + width)) {
        return 0;
    }
    n = be(p + 1, width);
    if (n > len || 1 + width + extra + n > len) {
        return 0;
    }
    return 1 + (size_t)width + extra + (size_t)n;
}

static size_t mp_container(const unsigned char *p, size_t len, int width, uint64_t mult,
                           int depth)
{
    size_t body;
    uint64_t n;

    if (len < (size_t)(1 + width)) {
        return 0;
    }
    n = width == 0 ? (uint64_t)(p[0] & 0x0f) : be(p + 1, width);
    body = mp_seq(p + 1 + width, len - 1 - width, n * mult, depth);
    return n == 0 ? 1 + (size_t)width : (body == 0 ? 0 : 1 + (size_t)width + body);
}

/* Byte length of the msgpack object at p, or 0 when truncated/invalid. */
static size_t mp_len(const unsigned char *p, size_t len, int depth)
{
    static const unsigned char fixed[32] = {
        /* c0 */ 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 5, 9, 2, 3, 5, 9,
        /* d0 */ 2, 3, 5, 9, 3, 4, 6, 10, 18, 0, 0, 0, 0, 0, 0, 0,
    };
    unsigned char b;

    if (len == 0 || depth > MP_MAX_DEPTH) {
        return 0;
    }
    b = p[0];
    if (b <= 0x7f || b >= 0xe0) {
        return 1;
    }
    if (b <= 0x8f) {
        return mp_container(p, len, 0, 2, depth);
    }
    if (b <= 0x9f) {
        return mp_container(p, len, 0, 1, depth);
    }
    if (b <= 0xbf) {
        return (size_t)(b & 0x1f) + 1 <= len ? (size_t)(b & 0x1f) + 1 : 0;
    }
    switch (b) {
    case 0xc4: case 0xd9: return mp_sized(p, len, 1, 0);
    case 0xc5: case 0xda: return mp_sized(p, len, 2, 0);
    case 0xc6: case 0xdb: return mp_sized(p, len, 4, 0);
    case 0xc7: return mp_sized(p, len, 1, 1);
    case 0xc8: return mp_sized(p, len, 2, 1);
    case 0xc9: return mp_sized(p, len, 4, 1);
    case 0xdc: return mp_container(p, len, 2, 1, depth);
    case 0xdd: return mp_container(p, len, 4, 1, depth);
    case 0xde: return mp_container(p, len, 2, 2, depth);
    case 0xdf: return mp_container(p, len, 4, 2, depth);
    default: return fixed[b - 0xc0] != 0 && fixed[b - 0xc0] <= len ? fixed[b - 0xc0] : 0;
    }
}

/* A str object at p: its text. */
static bool mp_str(const unsigned char *p, size_t len, const char **s, size_t *slen)
{
    size_t head;

    if (len == 0) {
        return false;
    }
    if (p[0] >= 0xa0 && p[0] <= 0xbf) {
        head = 1;
    } else if (p[0] == 0xd9 || p[0] == 0xda || p[0] == 0xdb) {
        head = p[0] == 0xd9 ? 2 : p[0] == 0xda ? 3 : 5;
    } else {
        return false;
    }
    *s = (const char *)p + head;
    *slen = mp_len(p, len, 0) - head;
    return true;
}

/* Locates every pair of the top-level map. */
static int read_pairs(const unsigned char *p, size_t len, struct pair **out, size_t *np,
                      struct pair *small)
{
    size_t off;
    uint64_t n;
    struct pair *pairs;

    if (len == 0 || !((p[0] >= 0x80 && p[0] <= 0x8f) || p[0] == 0xde || p[0] == 0xdf)) {
        return SK_EPARSE; /* arrays and scalars are not records */
    }
    off = p[0] <= 0x8f ? 1 : p[0] == 0xde ? 3 : 5;
    n = p[0] <= 0x8f ? (uint64_t)(p[0] & 0x0f) : be(p + 1, p[0] == 0xde ? 2 : 4);
    if (off > len || n > len) {
        return SK_EPARSE;
    }
    pairs = n <= SMALL_MAP ? small : sk_malloc((size_t)n * sizeof(*pairs));
    if (pairs == NULL) {
        return SK_ENOMEM;
    }
    for (uint64_t i = 0; i < n; i++) {
        size_t kl = mp_len(p + off, len - off, 1);
        size_t vl = kl != 0 ? mp_len(p + off + kl, len - off - kl, 1) : 0;

        if (vl == 0 || !mp_str(p + off, kl, &pairs[i].key, &pairs[i].klen)) {
            if (pairs != small) {
                sk_free(pairs);
            }
            return SK_EPARSE;
        }
        pairs[i].ks = off;
        pairs[i].vs = off + kl;
        pairs[i].ve = off + kl + vl;
        pairs[i].value = (long)i;
        off += kl + vl;
    }
    *out = pairs;
    *np = (size_t)n;
    return 0;
}

static bool same_key(const struct pair *a, const struct pair *b)
{
    return a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0;
}

static uint64_t key_hash(const struct pair *a)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < a->klen; i++) {
        h = (h ^ (unsigned char)a->key[i]) * 1099511628211ULL;
    }
    return h;
}

/* Ruby Hash semantics for duplicate keys: the first pair keeps its place
 * and takes the last value; the later pairs disappear. */
static int collapse_duplicates(struct pair *pairs, size_t n)
{
    size_t cap = 128;
    long *slot;

    if (n <= SMALL_MAP) {
        for (size_t i = 1; i < n; i++) {
            for (size_t j = 0; j < i; j++) {
                if (pairs[j].value >= 0 && same_key(&pairs[j], &pairs[i])) {
                    pairs[j].value = (long)i;
                    pairs[i].value = -1;
                    break;
                }
            }
        }
        return 0;
    }
    while (cap < n * 2) {
        cap *= 2;
    }
    slot = sk_malloc(cap * sizeof(*slot));
    if (slot == NULL) {
        return SK_ENOMEM;
    }
    memset(slot, 0xff, cap * sizeof(*slot)); /* -1: empty */
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)key_hash(&pairs[i]) & (cap - 1);

        while (slot[h] >= 0 && !same_key(&pairs[slot[h]], &pairs[i])) {
            h = (h + 1) & (cap - 1);
        }
        if (slot[h] >= 0) {
            pairs[slot[h]].value = (long)i;
            pairs[i].value = -1;
        } else {
            slot[h] = (long)i;
        }
    }
    sk_free(slot);
    return 0;
}

/* Decodes the value at pv (its zone lives in u) into *o. */
static int with_value(const char *mp, const struct pair *pv, msgpack_unpacked *u,
                      const msgpack_object **o)
{
    size_t off = pv->vs;

    if (msgpack_unpack_next(u, mp, pv->ve, &off) != MSGPACK_UNPACK_SUCCESS) {
        return SK_EPARSE;
    }
    *o = &u->data;
    return 0;
}

static int record_time(struct sk_parser_core *pc, const char *mp, const struct pair *pairs,
                       size_t n, long *ti, struct sk_time *t)
{
    msgpack_unpacked u;
    const msgpack_object *o;
    int rc;

    *ti = -1;
    for (size_t i = 0; pc->time_key != NULL && i < n; i++) {
        if (pairs[i].value >= 0 && pairs[i].klen == pc->time_key_len &&
            memcmp(pairs[i].key, pc->time_key, pc->time_key_len) == 0) {
            *ti = (long)i;
        }
    }
    if (*ti < 0) {
        if (!pc->estimate_current_event) {
            return SK_EPARSE; /* in_tail drops records without a time */
        }
        *t = sk_time_now();
        return 0;
    }
    msgpack_unpacked_init(&u);
    rc = with_value(mp, &pairs[pairs[*ti].value], &u, &o);
    if (rc == 0) {
        rc = sk_parser_time_object(pc, o, t);
        rc = rc < 0 && rc != SK_ENOMEM ? SK_EPARSE : rc;
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

static int pack_pair(struct sk_parser_core *pc, const char *mp, const struct pair *pairs, size_t i,
                     struct sk_evbuf *out)
{
    const struct pair *pv = &pairs[pairs[i].value];
    msgpack_unpacked u;
    const msgpack_object *o;
    int rc = sk_buf_append(&out->buf, mp + pairs[i].ks, pairs[i].vs - pairs[i].ks);

    if (rc < 0 || !pc->convert || !sk_parser_needs_conversion(pc, pairs[i].key, pairs[i].klen)) {
        return rc < 0 ? rc : sk_buf_append(&out->buf, mp + pv->vs, pv->ve - pv->vs);
    }
    msgpack_unpacked_init(&u);
    rc = with_value(mp, pv, &u, &o);
    if (rc == 0) {
        rc = sk_parser_pack_object(pc, pairs[i].key, pairs[i].klen, o, &out->pk);
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

static int emit(struct sk_parser_core *pc, const char *mp, const struct pair *pairs, size_t n,
                struct sk_evbuf *out)
{
    size_t mark = out->buf.len;
    size_t count = 0;
    struct sk_time t;
    long ti;
    int rc = record_time(pc, mp, pairs, n, &ti, &t);

    if (rc < 0) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        count += pairs[i].value >= 0 && (pc->keep_time_key || (long)i != ti);
    }
    rc = sk_evbuf_begin(out, t);
    if (rc == 0) {
        rc = msgpack_pack_map(&out->pk, count);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (pairs[i].value >= 0 && (pc->keep_time_key || (long)i != ti)) {
            rc = pack_pair(pc, mp, pairs, i, out);
        }
    }
    if (rc < 0) {
        sk_evbuf_rollback(out, mark);
        return rc;
    }
    sk_evbuf_commit(out);
    return 0;
}

int json_emit_record(struct sk_parser_core *pc, const char *mp, size_t len, struct sk_evbuf *out)
{
    struct pair small[SMALL_MAP];
    struct pair *pairs = NULL;
    size_t n = 0;
    int rc = read_pairs((const unsigned char *)mp, len, &pairs, &n, small);

    if (rc == 0) {
        rc = collapse_duplicates(pairs, n);
    }
    if (rc == 0) {
        rc = emit(pc, mp, pairs, n, out);
    }
    if (pairs != small) {
        sk_free(pairs);
    }
    return rc;
}
