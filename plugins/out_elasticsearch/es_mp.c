#include "out_elasticsearch/es_mp.h"

#include <string.h>

#include "util/alloc.h"

static uint64_t be(const char *p, int n)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = v << 8 | u[i];
    }
    return v;
}

static bool have(const struct es_mp_cur *c, size_t n)
{
    return (size_t)(c->end - c->p) >= n;
}

/* Reads an n-byte big-endian length after the type byte. */
static int read_len(struct es_mp_cur *c, int n, uint32_t *len)
{
    if (!have(c, (size_t)n)) {
        return SK_EPARSE;
    }
    *len = (uint32_t)be(c->p, n);
    c->p += n;
    return 0;
}

static int read_payload(struct es_mp_cur *c, struct es_mp_val *v)
{
    if (!have(c, v->len)) {
        return SK_EPARSE;
    }
    v->ptr = c->p;
    c->p += v->len;
    return 0;
}

static int read_ext(struct es_mp_cur *c, struct es_mp_val *v, int lenbytes, uint32_t fixed)
{
    v->type = ES_MP_EXT;
    if (lenbytes > 0) {
        if (read_len(c, lenbytes, &v->len) < 0) {
            return SK_EPARSE;
        }
    } else {
        v->len = fixed;
    }
    if (!have(c, 1)) {
        return SK_EPARSE;
    }
    v->ext_type = (int8_t)*c->p++;
    return read_payload(c, v);
}

static int read_num(struct es_mp_cur *c, struct es_mp_val *v, unsigned char t)
{
    static const int sizes[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8}; /* 0xca .. 0xd3 */
    int n = sizes[t - 0xca];
    uint64_t raw;

    if (!have(c, (size_t)n)) {
        return SK_EPARSE;
    }
    raw = be(c->p, n);
    c->p += n;
    if (t == 0xca) {
        uint32_t r32 = (uint32_t)raw;
        float f;

        memcpy(&f, &r32, sizeof(f));
        v->type = ES_MP_FLOAT;
        v->f = f;
    } else if (t == 0xcb) {
        memcpy(&v->f, &raw, sizeof(v->f));
        v->type = ES_MP_FLOAT;
    } else if (t <= 0xcf) {
        v->type = ES_MP_UINT;
        v->u = raw;
    } else {
        int64_t s = (int64_t)raw;

        if (n < 8) { /* sign-extend */
            s = (int64_t)(raw << (64 - 8 * n)) >> (64 - 8 * n);
        }
        v->type = s < 0 ? ES_MP_INT : ES_MP_UINT;
        v->i = s;
        v->u = (uint64_t)s;
    }
    return 0;
}

static int read_sized(struct es_mp_cur *c, struct es_mp_val *v, enum es_mp_type type, int lenbytes)
{
    v->type = type;
    if (read_len(c, lenbytes, &v->len) < 0) {
        return SK_EPARSE;
    }
    if (type == ES_MP_ARRAY || type == ES_MP_MAP) {
        v->n = v->len;
        return 0;
    }
    return read_payload(c, v);
}

int es_mp_read(struct es_mp_cur *c, struct es_mp_val *v)
{
    unsigned char t;

    memset(v, 0, sizeof(*v));
    if (!have(c, 1)) {
        return SK_EPARSE;
    }
    t = (unsigned char)*c->p++;
    if (t <= 0x7f) {
        v->type = ES_MP_UINT;
        v->u = t;
        v->i = t;
        return 0;
    }
    if (t >= 0xe0) {
        v->type = ES_MP_INT;
        v->i = (int8_t)t;
        v->u = (uint64_t)v->i;
        return 0;
    }
    if (t >= 0x80 && t <= 0x8f) {
        v->type = ES_MP_MAP;
        v->n = t & 0x0f;
        return 0;
    }
    if (t >= 0x90 && t <= 0x9f) {
        v->type = ES_MP_ARRAY;
        v->n = t & 0x0f;
        return 0;
    }
    if (t >= 0xa0 && t <= 0xbf) {
        v->type = ES_MP_STR;
        v->len = t & 0x1f;
        return read_payload(c, v);
    }
    switch (t) {
    case 0xc0:
        v->type = ES_MP_NIL;
        return 0;
    case 0xc2:
    case 0xc3:
        v->type = ES_MP_BOOL;
        v->b = t == 0xc3;
        return 0;
    case 0xc4:
        return read_sized(c, v, ES_MP_BIN, 1);
    case 0xc5:
        return read_sized(c, v, ES_MP_BIN, 2);
    case 0xc6:
        return read_sized(c, v, ES_MP_BIN, 4);
    case 0xc7:
        return read_ext(c, v, 1, 0);
    case 0xc8:
        return read_ext(c, v, 2, 0);
    case 0xc9:
        return read_ext(c, v, 4, 0);
    case 0xd4:
        return read_ext(c, v, 0, 1);
    case 0xd5:
        return read_ext(c, v, 0, 2);
    case 0xd6:
        return read_ext(c, v, 0, 4);
    case 0xd7:
        return read_ext(c, v, 0, 8);
    case 0xd8:
        return read_ext(c, v, 0, 16);
    case 0xd9:
        return read_sized(c, v, ES_MP_STR, 1);
    case 0xda:
        return read_sized(c, v, ES_MP_STR, 2);
    case 0xdb:
        return read_sized(c, v, ES_MP_STR, 4);
    case 0xdc:
        return read_sized(c, v, ES_MP_ARRAY, 2);
    case 0xdd:
        return read_sized(c, v, ES_MP_ARRAY, 4);
    case 0xde:
        return read_sized(c, v, ES_MP_MAP, 2);
    case 0xdf:
        return read_sized(c, v, ES_MP_MAP, 4);
    default:
        break;
    }
    if (t >= 0xca && t <= 0xd3) {
        return read_num(c, v, t);
    }
    return SK_EPARSE; /* 0xc1 */
}

/*
 * One element's header at *pp: how many bytes it takes besides its children
 * and how many children follow (2 per map pair). Only sizes, no values: the
 * encoder skips every event and most values this way, so it stays lean.
 * Works on plain pointers so the cursor lives in registers.
 */
static int skip_header(const char **pp, const char *end, uint64_t *children)
{
    const char *p = *pp;
    unsigned char t;
    size_t body;

    if (p >= end) {
        return SK_EPARSE;
    }
    t = (unsigned char)*p++;
    *children = 0;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
        *pp = p;
        return 0;
    }
    if (t >= 0xa0 && t <= 0xbf) {
        body = t & 0x1f;
    } else if (t >= 0x80 && t <= 0x8f) {
        *children = 2u * (t & 0x0f);
        *pp = p;
        return 0;
    } else if (t >= 0x90 && t <= 0x9f) {
        *children = t & 0x0f;
        *pp = p;
        return 0;
    } else {
        struct es_mp_cur tmp = {p - 1, end};
        struct es_mp_val v;

        /* The rarer wide forms: the full reader knows them all. */
        if (es_mp_read(&tmp, &v) < 0) {
            return SK_EPARSE;
        }
        *children = v.type == ES_MP_MAP ? 2 * (uint64_t)v.n : v.type == ES_MP_ARRAY ? v.n : 0;
        *pp = tmp.p;
        return 0;
    }
    if ((size_t)(end - p) < body) {
        return SK_EPARSE;
    }
    *pp = p + body;
    return 0;
}

int es_mp_skip(struct es_mp_cur *c)
{
    const char *p = c->p;
    const char *end = c->end;
    uint64_t pending = 1;

    while (pending > 0) {
        uint64_t children;

        if (skip_header(&p, end, &children) < 0) {
            return SK_EPARSE;
        }
        pending = pending - 1 + children;
        /* Every element takes at least one byte: more pending elements than
         * bytes left means truncated input, so give up early. */
        if (pending > (uint64_t)(end - p)) {
            return SK_EPARSE;
        }
    }
    c->p = p;
    return 0;
}

int es_mp_time(const struct es_mp_val *v, struct sk_time *t)
{
    uint64_t x;

    switch (v->type) {
    case ES_MP_UINT:
        t->sec = (int64_t)v->u;
        t->nsec = 0;
        return 0;
    case ES_MP_INT:
        t->sec = v->i;
        t->nsec = 0;
        return 0;
    case ES_MP_FLOAT:
        if (!(v->f > -9.2e18 && v->f < 9.2e18)) {
            return SK_EPARSE;
        }
        t->sec = (int64_t)v->f;
        if ((double)t->sec > v->f) {
            t->sec--;
        }
        t->nsec = (uint32_t)((v->f - (double)t->sec) * 1e9);
        if (t->nsec >= 1000000000u) {
            t->nsec = 999999999u;
        }
        return 0;
    case ES_MP_EXT:
        if (v->ext_type == 0 && v->len == 8) {
            t->sec = (int64_t)be(v->ptr, 4);
            t->nsec = (uint32_t)be(v->ptr + 4, 4);
            return 0;
        }
        if (v->ext_type == -1 && v->len == 4) {
            t->sec = (int64_t)be(v->ptr, 4);
            t->nsec = 0;
            return 0;
        }
        if (v->ext_type == -1 && v->len == 8) {
            x = be(v->ptr, 8);
            t->nsec = (uint32_t)(x >> 34);
            t->sec = (int64_t)(x & 0x3ffffffffULL);
            return 0;
        }
        if (v->ext_type == -1 && v->len == 12) {
            t->nsec = (uint32_t)be(v->ptr, 4);
            t->sec = (int64_t)be(v->ptr + 4, 8);
            return 0;
        }
        return SK_EPARSE;
    default:
        return SK_EPARSE;
    }
}

int es_mp_next_event(struct es_mp_cur *c, struct es_mp_event *ev)
{
    struct es_mp_cur whole = *c;
    int head;

    if (c->p >= c->end) {
        return 0;
    }
    if (es_mp_skip(&whole) < 0) {
        return SK_EPARSE;
    }
    head = es_mp_event_head(c, ev);
    ev->len = (size_t)(whole.p - ev->start);
    if (head == 1) {
        ev->record_len = (size_t)(whole.p - ev->record);
    }
    *c = whole;
    return head == 1 ? 1 : 2;
}

int es_mp_event_head(const struct es_mp_cur *c, struct es_mp_event *ev)
{
    struct es_mp_cur cur = *c;
    struct es_mp_val v;
    const char *rec;

    if (cur.p >= cur.end) {
        return 0;
    }
    ev->start = cur.p;
    ev->len = 0;
    ev->record_len = 0;
    if (es_mp_read(&cur, &v) < 0 || v.type != ES_MP_ARRAY || v.n != 2 ||
        es_mp_read(&cur, &v) < 0 || es_mp_time(&v, &ev->time) < 0) {
        return -1;
    }
    rec = cur.p;
    if (es_mp_read(&cur, &v) < 0 || v.type != ES_MP_MAP) {
        return -1;
    }
    ev->npairs = v.n;
    ev->record = rec;
    return 1;
}

int es_mp_map_find(const char *map, size_t map_len, const char *key, size_t klen,
                   const char **val, size_t *val_len)
{
    struct es_mp_cur c;
    struct es_mp_val v;
    uint32_t n;

    es_mp_cur_init(&c, map, map_len);
    if (es_mp_read(&c, &v) < 0) {
        return SK_EPARSE;
    }
    if (v.type != ES_MP_MAP) {
        return 0;
    }
    n = v.n;
    for (uint32_t i = 0; i < n; i++) {
        const char *vstart;

        if (es_mp_read(&c, &v) < 0) {
            return SK_EPARSE;
        }
        if (v.type == ES_MP_ARRAY || v.type == ES_MP_MAP) {
            /* A container key: skip its elements, it never matches. */
            uint64_t extra = v.type == ES_MP_MAP ? 2 * (uint64_t)v.n : v.n;

            for (uint64_t k = 0; k < extra; k++) {
                if (es_mp_skip(&c) < 0) {
                    return SK_EPARSE;
                }
            }
            v.type = ES_MP_NIL;
        }
        vstart = c.p;
        if (es_mp_skip(&c) < 0) {
            return SK_EPARSE;
        }
        if (v.type == ES_MP_STR && v.len == klen && memcmp(v.ptr, key, klen) == 0) {
            *val = vstart;
            *val_len = (size_t)(c.p - vstart);
            return 1;
        }
    }
    return 0;
}

static int array_index(const char *arr, size_t len, uint32_t index, const char **val,
                       size_t *val_len)
{
    struct es_mp_cur c;
    struct es_mp_val v;

    es_mp_cur_init(&c, arr, len);
    if (es_mp_read(&c, &v) < 0) {
        return SK_EPARSE;
    }
    if (v.type != ES_MP_ARRAY || index >= v.n) {
        return 0;
    }
    for (uint32_t i = 0; i < index; i++) {
        if (es_mp_skip(&c) < 0) {
            return SK_EPARSE;
        }
    }
    *val = c.p;
    if (es_mp_skip(&c) < 0) {
        return SK_EPARSE;
    }
    *val_len = (size_t)(c.p - *val);
    return 1;
}

int es_path_lookup(const struct es_path *p, const char *obj, size_t obj_len, const char **val,
                   size_t *val_len)
{
    const char *cur = obj;
    size_t cur_len = obj_len;
    int rc;

    for (size_t i = 0; i < p->n; i++) {
        const struct es_path_seg *s = &p->seg[i];

        if (s->key != NULL) {
            rc = es_mp_map_find(cur, cur_len, s->key, s->klen, &cur, &cur_len);
        } else {
            rc = array_index(cur, cur_len, s->index, &cur, &cur_len);
        }
        if (rc <= 0) {
            return rc;
        }
    }
    *val = cur;
    *val_len = cur_len;
    return 1;
}

bool es_mp_is_falsy(const char *v, size_t len)
{
    return len >= 1 && ((unsigned char)v[0] == 0xc0 || (unsigned char)v[0] == 0xc2);
}

void es_path_free(struct es_path *p)
{
    for (size_t i = 0; i < p->n; i++) {
        sk_free(p->seg[i].key);
        p->seg[i].key = NULL;
    }
    p->n = 0;
}

static int push_key(struct es_path *p, const char *k, size_t len)
{
    if (p->n >= ES_PATH_MAX_SEGS) {
        return SK_EINVAL;
    }
    p->seg[p->n].key = sk_strndup(k, len);
    if (p->seg[p->n].key == NULL) {
        return SK_ENOMEM;
    }
    p->seg[p->n].klen = len;
    p->n++;
    return 0;
}

static int push_index(struct es_path *p, uint32_t index)
{
    if (p->n >= ES_PATH_MAX_SEGS) {
        return SK_EINVAL;
    }
    p->seg[p->n].key = NULL;
    p->seg[p->n].index = index;
    p->n++;
    return 0;
}

/* Parses one "[...]" at *s: ['key'] / ["key"] / [123]. */
static int parse_bracket(const char **s, struct es_path *p)
{
    const char *q = *s + 1;
    const char *close;
    uint64_t idx = 0;
    int rc;

    if (*q == '\'' || *q == '"') {
        close = strchr(q + 1, *q);
        if (close == NULL || close[1] != ']') {
            return SK_EINVAL;
        }
        rc = push_key(p, q + 1, (size_t)(close - q - 1));
        *s = close + 2;
        return rc;
    }
    if (*q < '0' || *q > '9') {
        return SK_EINVAL;
    }
    while (*q >= '0' && *q <= '9') {
        idx = idx * 10 + (uint64_t)(*q - '0');
        if (idx > UINT32_MAX) {
            return SK_EINVAL;
        }
        q++;
    }
    if (*q != ']') {
        return SK_EINVAL;
    }
    *s = q + 1;
    return push_index(p, (uint32_t)idx);
}

/* The "$..." forms. */
static int parse_dollar(const char *s, struct es_path *p)
{
    int rc = 0;

    s++; /* '$' */
    if (*s == '\0') {
        return SK_EINVAL;
    }
    while (*s != '\0' && rc == 0) {
        if (*s == '.') {
            size_t n = strcspn(s + 1, ".[");

            if (n == 0) {
                return SK_EINVAL;
            }
            rc = push_key(p, s + 1, n);
            s += 1 + n;
        } else if (*s == '[') {
            rc = parse_bracket(&s, p);
        } else {
            return SK_EINVAL;
        }
    }
    return rc;
}

int es_path_parse(const char *text, bool split_dots, struct es_path *out)
{
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (text == NULL || *text == '\0') {
        return SK_EINVAL;
    }
    if (text[0] == '$' && (text[1] == '.' || text[1] == '[')) {
        rc = parse_dollar(text, out);
    } else if (split_dots) {
        const char *s = text;

        while (rc == 0) {
            size_t n = strcspn(s, ".");

            rc = n == 0 ? SK_EINVAL : push_key(out, s, n);
            if (s[n] == '\0') {
                break;
            }
            s += n + 1;
        }
    } else {
        rc = push_key(out, text, strlen(text));
    }
    if (rc < 0) {
        es_path_free(out);
    }
    return rc;
}
