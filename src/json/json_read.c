#include "json/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

/*
 * JSON -> msgpack, strict RFC 8259.
 *
 * msgpack puts the element count in front of a map or array, JSON does not
 * say it until the closing bracket. Output goes to a 4 KiB staging area on
 * the stack and reaches the packer's callback in large pieces, and the
 * count is found in one of two ways:
 *
 * - patch mode (first try): each container gets a 5-byte placeholder in
 *   the stage; at its closing bracket the minimal header (fixmap, map16,
 *   map32 as msgpack-c packs them) is written and the body slid left. One
 *   pass over the text. Nothing is flushed in this mode, so a value whose
 *   msgpack is over the stage size makes it give up (JR_RESTART);
 * - count mode (then): each container is first counted by a scan that only
 *   follows brackets, commas and string quotes, so its header can be
 *   emitted up front and the stage flushed freely. That scan touches the
 *   bytes of a container once per enclosing level; the depth limit bounds
 *   the worst case.
 *
 * Leaving map32/array32 placeholders in the output would be simpler, but
 * not canonical, and 4 bytes more per container in every chunk. A JSON
 * log line fits the stage, so parser_json gets one pass. On a parse error
 * nothing staged is flushed, so a value whose msgpack is under the stage
 * size leaves the packer untouched.
 */

#define JR_STAGE 4096
#define JR_RESTART 1 /* internal: patch mode ran out of stage */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

struct jr {
    const uint8_t *p;
    const uint8_t *end;
    msgpack_packer *pk;
    int max_depth;
    int patch; /* patch mode: headers patched in the stage, no flushing */
    size_t n;  /* bytes staged */
    uint8_t st[JR_STAGE];
};

static int jr_flush(struct jr *r)
{
    int rc = 0;

    if (r->n > 0) {
        rc = r->pk->callback(r->pk->data, (const char *)r->st, r->n);
        r->n = 0;
    }
    /* sk_buf_msgpack_write returns SK_E* codes: pass those on. */
    return rc < 0 ? rc : rc > 0 ? SK_EIO : 0;
}

/* Makes room for k <= JR_STAGE staged bytes. */
static inline int jr_room(struct jr *r, size_t k)
{
    if (r->n + k <= JR_STAGE) {
        return 0;
    }
    return r->patch ? JR_RESTART : jr_flush(r);
}

static int jr_bytes(struct jr *r, const void *s, size_t k)
{
    int rc;

    if (k > JR_STAGE / 2) {
        if (r->patch) {
            return JR_RESTART;
        }
        rc = jr_flush(r);
        if (rc == 0) {
            rc = r->pk->callback(r->pk->data, s, k);
            rc = rc < 0 ? rc : rc > 0 ? SK_EIO : 0;
        }
        return rc;
    }
    rc = jr_room(r, k);
    if (rc == 0 && k > 0) {
        memcpy(r->st + r->n, s, k);
        r->n += k;
    }
    return rc;
}

/* A header byte followed by an n-byte big-endian argument. */
static int jr_head(struct jr *r, uint8_t b, uint64_t v, unsigned n)
{
    uint8_t *d;
    int rc = jr_room(r, 1 + n);

    if (rc != 0) {
        return rc;
    }
    d = r->st + r->n;
    d[0] = b;
    for (unsigned i = n; i > 0; i--) {
        d[i] = (uint8_t)v;
        v >>= 8;
    }
    r->n += 1 + n;
    return 0;
}

/* Encodes a map (fix 0x80, b16 0xde) or array (0x90, 0xdc) header for v
 * elements at d; returns its length. */
static size_t enc_len_head(uint8_t *d, uint8_t fix, uint8_t b16, size_t v)
{
    unsigned n = v < 16 ? 0 : v <= 0xffff ? 2 : 4;

    d[0] = n == 0 ? (uint8_t)(fix | v) : (uint8_t)(b16 + (n == 4));
    for (unsigned i = n; i > 0; i--) {
        d[i] = (uint8_t)v;
        v >>= 8;
    }
    return 1 + n;
}

static int jr_len_head(struct jr *r, uint8_t fix, uint8_t b16, size_t v)
{
    int rc = jr_room(r, 5);

    if (rc == 0) {
        r->n += enc_len_head(r->st + r->n, fix, b16, v);
    }
    return rc;
}

static int jr_str_head(struct jr *r, size_t v)
{
    if (v < 32) {
        return jr_head(r, (uint8_t)(0xa0 | v), 0, 0);
    }
    if (v <= 0xff) {
        return jr_head(r, 0xd9, v, 1);
    }
    return v <= 0xffff ? jr_head(r, 0xda, v, 2) : jr_head(r, 0xdb, v, 4);
}

static int jr_uint(struct jr *r, uint64_t v)
{
    if (v < 0x80) {
        return jr_head(r, (uint8_t)v, 0, 0);
    }
    if (v <= 0xff) {
        return jr_head(r, 0xcc, v, 1);
    }
    if (v <= 0xffff) {
        return jr_head(r, 0xcd, v, 2);
    }
    return v <= 0xffffffff ? jr_head(r, 0xce, v, 4) : jr_head(r, 0xcf, v, 8);
}

static int jr_neg(struct jr *r, int64_t v)
{
    if (v >= -32) {
        return jr_head(r, (uint8_t)v, 0, 0);
    }
    if (v >= INT8_MIN) {
        return jr_head(r, 0xd0, (uint64_t)v, 1);
    }
    if (v >= INT16_MIN) {
        return jr_head(r, 0xd1, (uint64_t)v, 2);
    }
    return v >= INT32_MIN ? jr_head(r, 0xd2, (uint64_t)v, 4) : jr_head(r, 0xd3, (uint64_t)v, 8);
}

static int jr_double(struct jr *r, double d)
{
    uint64_t v;

    memcpy(&v, &d, 8);
    return jr_head(r, 0xcb, v, 8);
}

/* ---- scanning ----------------------------------------------------------- */

static inline void jr_ws(struct jr *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) {
        r->p++;
    }
}

/* Past the closing quote of a string whose body starts at p, or NULL.
 * Log strings are short: an inline 8-byte scan beats a memchr call. */
static const uint8_t *skip_string(const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        while (end - p >= 8) {
            uint64_t v;
            uint64_t q;
            uint64_t b;

            memcpy(&v, p, 8);
            q = v ^ (ONES * '"');
            b = v ^ (ONES * '\\');
            if (((q - ONES) & ~q & HIGHS) | ((b - ONES) & ~b & HIGHS)) {
                break;
            }
            p += 8;
        }
        while (p < end && *p != '"' && *p != '\\') {
            p++;
        }
        if (p >= end) {
            return NULL;
        }
        if (*p == '"') {
            return p + 1;
        }
        p += 2; /* an escape: the next byte cannot close the string */
    }
    return NULL;
}

/* 1 for bytes the count scan stops at. */
static const uint8_t scan_stop[256] = {
    ['"'] = 1, [','] = 1, ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1,
};

/*
 * Counts the elements of the non-empty container whose body starts at p:
 * commas on its own level, plus one. Invalid JSON may be miscounted; the
 * parser then fails anyway, and checks the count it finds against it.
 */
static size_t count_elements(const uint8_t *p, const uint8_t *end)
{
    size_t level = 0;
    size_t commas = 0;

    while (p < end) {
        uint8_t c = *p++;

        if (scan_stop[c] == 0) {
            continue;
        }
        if (c == '"') {
            p = skip_string(p, end);
            if (p == NULL) {
                break;
            }
        } else if (c == ',') {
            commas += level == 0;
        } else if (c == '[' || c == '{') {
            level++;
        } else if (level-- == 0) {
            break;
        }
    }
    return commas + 1;
}

/* ---- strings ------------------------------------------------------------ */

/* Nonzero when one of the 8 bytes in v is a control character, '"' or
 * '\\' (bytes >= 0x80 are copied as they are). See json_write.c. */
static inline uint64_t swar_stop(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"');
    uint64_t b = v ^ (ONES * '\\');

    return ((v - ONES * 0x20) | (q - ONES) | (b - ONES)) & ~v & HIGHS;
}

static int hex4(const uint8_t *p)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];

        if (c >= '0' && c <= '9') {
            v = v << 4 | (c - '0');
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v = v << 4 | ((c | 0x20) - 'a' + 10);
        } else {
            return -1;
        }
    }
    return v;
}

static size_t utf8_put(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * Decodes the escape at p (p[0] == '\\') into o (up to 4 bytes, *olen).
 * Returns how many text bytes it takes, 0 for an invalid escape. A
 * surrogate pair becomes one code point, a lone surrogate U+FFFD.
 */
static size_t jr_escape(const uint8_t *p, const uint8_t *end, uint8_t *o, size_t *olen)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *e;
    int cp;
    int lo;

    if (end - p < 2) {
        return 0;
    }
    e = p[1] != 0 ? strchr(from, p[1]) : NULL;
    if (e != NULL) {
        o[0] = (uint8_t)to[e - from];
        *olen = 1;
        return 2;
    }
    if (p[1] != 'u' || end - p < 6) {
        return 0;
    }
    cp = hex4(p + 2);
    if (cp < 0) {
        return 0;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 12 && p[6] == '\\' && p[7] == 'u') {
        lo = hex4(p + 8);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
            *olen = utf8_put(0x10000 + ((uint32_t)(cp - 0xd800) << 10) + (uint32_t)(lo - 0xdc00), o);
            return 12;
        }
    }
    *olen = utf8_put(cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : (uint32_t)cp, o);
    return 6;
}

/* Second pass over a string body with escapes, known to be valid. */
static int jr_unescape(struct jr *r, const uint8_t *s, const uint8_t *end)
{
    uint8_t o[4];
    size_t olen = 0;
    int rc = 0;

    while (rc == 0 && s < end) {
        const uint8_t *bs = memchr(s, '\\', (size_t)(end - s));

        if (bs == NULL) {
            bs = end;
        }
        rc = jr_bytes(r, s, (size_t)(bs - s));
        if (rc == 0 && bs < end) {
            s = bs + jr_escape(bs, end, o, &olen);
            rc = jr_bytes(r, o, olen);
        } else {
            s = bs;
        }
    }
    return rc;
}

/* A string at r->p (the opening quote). Raw bytes >= 0x80 are copied as
 * they are, whatever their UTF-8 validity. */
static int jr_string(struct jr *r)
{
    const uint8_t *s = r->p + 1;
    const uint8_t *q = s;
    size_t shrink = 0;
    uint8_t o[4];
    size_t olen;
    size_t k;
    int rc;

    for (;;) {
        while (r->end - q >= 8) {
            uint64_t v;

            memcpy(&v, q, 8);
            if (swar_stop(v)) {
                break;
            }
            q += 8;
        }
        while (q < r->end && *q >= 0x20 && *q != '"' && *q != '\\') {
            q++;
        }
        if (q >= r->end || *q < 0x20) {
            return SK_EPARSE;
        }
        if (*q == '"') {
            break;
        }
        k = jr_escape(q, r->end, o, &olen);
        if (k == 0) {
            return SK_EPARSE;
        }
        shrink += k - olen;
        q += k;
    }
    if ((size_t)(q - s) - shrink > UINT32_MAX) {
        return SK_ETOOBIG;
    }
    rc = jr_str_head(r, (size_t)(q - s) - shrink);
    if (rc == 0) {
        rc = shrink == 0 ? jr_bytes(r, s, (size_t)(q - s)) : jr_unescape(r, s, q);
    }
    r->p = q + 1;
    return rc;
}

/* ---- numbers ------------------------------------------------------------ */

static const double pow10_exact[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* strtod on a copy: the text is not NUL-terminated. strtod follows
 * LC_NUMERIC, which skiff leaves at "C" (it never calls setlocale). */
static int jr_strtod(struct jr *r, const uint8_t *s, size_t n)
{
    char local[64];
    char *copy = local;
    double d;

    if (n >= sizeof local) {
        copy = sk_malloc(n + 1);
        if (copy == NULL) {
            return SK_ENOMEM;
        }
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    /* Past the double range this is +-HUGE_VAL: written back as null. */
    d = strtod(copy, NULL);
    if (copy != local) {
        sk_free(copy);
    }
    return jr_double(r, d);
}

struct num {
    uint64_t m;   /* the digits as an integer, while they fit */
    int64_t e10;  /* value = m * 10^e10 */
    int over;     /* m overflowed: only strtod can say */
    int is_int;   /* no fraction, no exponent */
};

static const uint8_t *digits(const uint8_t *s, const uint8_t *end, struct num *n, int frac)
{
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = *s++ - '0';

        if (n->m > (UINT64_MAX - d) / 10) {
            n->over = 1;
        } else {
            n->m = n->m * 10 + d;
            n->e10 -= frac;
        }
    }
    return s;
}

/* RFC 8259: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static int jr_number(struct jr *r)
{
    const uint8_t *start = r->p;
    const uint8_t *s = r->p;
    const uint8_t *end = r->end;
    struct num n = { 0, 0, 0, 1 };
    int neg = *s == '-';
    int64_t exp = 0;
    int eneg;

    s += neg;
    if (s >= end || *s < '0' || *s > '9') {
        return SK_EPARSE;
    }
    s = *s == '0' ? s + 1 : digits(s, end, &n, 0);
    if (s < end && *s == '.') {
        n.is_int = 0;
        if (++s >= end || *s < '0' || *s > '9') {
            return SK_EPARSE;
        }
        s = digits(s, end, &n, 1);
    }
    if (s < end && (*s | 0x20) == 'e') {
        n.is_int = 0;
        s++;
        eneg = s < end && *s == '-';
        s += s < end && (*s == '-' || *s == '+');
        if (s >= end || *s < '0' || *s > '9') {
            return SK_EPARSE;
        }
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
            exp = exp < 100000 ? exp * 10 + (*s - '0') : exp;
        }
        n.e10 += eneg ? -exp : exp;
    }
    r->p = s;
    if (n.is_int && !n.over && (!neg || n.m <= (uint64_t)INT64_MAX + 1)) {
        return neg && n.m > 0 ? jr_neg(r, (int64_t)(0 - n.m)) : jr_uint(r, n.m);
    }
    /* Clinger's fast path: both operands exact, one correctly rounded op. */
    if (!n.over && n.m <= (UINT64_C(1) << 53) && n.e10 >= -22 && n.e10 <= 22) {
        double d = (double)n.m;

        d = n.e10 < 0 ? d / pow10_exact[-n.e10] : d * pow10_exact[n.e10];
        return jr_double(r, neg ? -d : d);
    }
    return jr_strtod(r, start, (size_t)(s - start));
}

/* ---- values ------------------------------------------------------------- */

static int jr_value(struct jr *r, int depth);

/* The elements after an opening bracket, through the closing one. */
static int jr_elements(struct jr *r, uint8_t close, int depth, size_t *seen)
{
    uint8_t c;
    int rc;

    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (r->p >= r->end || *r->p != '"') {
                return SK_EPARSE;
            }
            rc = jr_string(r);
            if (rc != 0) {
                return rc;
            }
            jr_ws(r);
            if (r->p >= r->end || *r->p++ != ':') {
                return SK_EPARSE;
            }
            jr_ws(r);
        }
        rc = jr_value(r, depth + 1);
        if (rc != 0) {
            return rc;
        }
        ++*seen;
        jr_ws(r);
        if (r->p >= r->end) {
            return SK_EPARSE;
        }
        c = *r->p++;
        if (c == close) {
            return 0;
        }
        if (c != ',') {
            return SK_EPARSE;
        }
        jr_ws(r);
    }
}

/* In patch mode: replaces the placeholder at `at` by the real header. */
static void jr_patch_head(struct jr *r, size_t at, uint8_t fix, uint8_t b16, size_t count)
{
    uint8_t h[5];
    size_t hl = enc_len_head(h, fix, b16, count);

    memmove(r->st + at + hl, r->st + at + 5, r->n - at - 5);
    memcpy(r->st + at, h, hl);
    r->n -= 5 - hl;
}

static int jr_container(struct jr *r, int depth)
{
    uint8_t close = *r->p == '{' ? '}' : ']';
    uint8_t fix = close == '}' ? 0x80 : 0x90;
    uint8_t b16 = close == '}' ? 0xde : 0xdc;
    size_t count = 0;
    size_t seen = 0;
    size_t at = r->n;
    int rc;

    if (depth >= r->max_depth) {
        return SK_EPARSE;
    }
    r->p++;
    jr_ws(r);
    if (r->patch) {
        rc = jr_room(r, 5); /* never flushes in patch mode: `at` holds */
        r->n += rc == 0 ? 5 : 0;
    } else {
        if (r->p < r->end && *r->p != close) {
            count = count_elements(r->p, r->end);
        }
        rc = count > UINT32_MAX ? SK_ETOOBIG : jr_len_head(r, fix, b16, count);
    }
    if (rc == 0) {
        rc = jr_elements(r, close, depth, &seen);
    }
    if (rc != 0) {
        return rc;
    }
    if (r->patch) {
        jr_patch_head(r, at, fix, b16, seen);
        return 0;
    }
    /* Only invalid JSON can be miscounted, and it fails before this. */
    return seen == count ? 0 : SK_EPARSE;
}

static int jr_literal(struct jr *r, const char *word, size_t n, uint8_t byte)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) {
        return SK_EPARSE;
    }
    r->p += n;
    return jr_head(r, byte, 0, 0);
}

static int jr_value(struct jr *r, int depth)
{
    if (r->p >= r->end) {
        return SK_EPARSE;
    }
    switch (*r->p) {
    case '{':
    case '[':
        return jr_container(r, depth);
    case '"':
        return jr_string(r);
    case 't':
        return jr_literal(r, "true", 4, 0xc3);
    case 'f':
        return jr_literal(r, "false", 5, 0xc2);
    case 'n':
        return jr_literal(r, "null", 4, 0xc0);
    default:
        return jr_number(r);
    }
}

/* One value with optional whitespace around it, then the final flush. */
static int jr_top(struct jr *r)
{
    int rc;

    jr_ws(r);
    rc = jr_value(r, 0);
    if (rc != 0) {
        return rc;
    }
    jr_ws(r);
    return r->p == r->end ? jr_flush(r) : SK_EPARSE;
}

int sk_json_to_msgpack_depth(const char *text, size_t len, msgpack_packer *pk, int max_depth)
{
    struct jr r;
    int rc;

    if (len == 0) {
        return SK_EPARSE;
    }
    r.p = (const uint8_t *)text;
    r.end = r.p + len;
    r.pk = pk;
    r.max_depth = max_depth;
    r.patch = 1;
    r.n = 0;
    rc = jr_top(&r);
    if (rc == JR_RESTART) {
        r.p = (const uint8_t *)text;
        r.patch = 0;
        r.n = 0;
        rc = jr_top(&r);
    }
    return rc;
}

int sk_json_to_msgpack(const char *text, size_t len, msgpack_packer *pk)
{
    return sk_json_to_msgpack_depth(text, len, pk, SK_JSON_MAX_DEPTH);
}

int sk_json_parse(const char *text, size_t len, struct sk_buf *scratch, msgpack_unpacked *out)
{
    msgpack_packer pk;
    msgpack_unpack_return ret;
    size_t off = 0;
    int rc;

    /* Like msgpack_unpack_next: `out` was initialized, any old tree goes. */
    msgpack_unpacked_destroy(out);
    sk_buf_reset(scratch);
    msgpack_packer_init(&pk, scratch, sk_buf_msgpack_write);
    rc = sk_json_to_msgpack_depth(text, len, &pk, SK_JSON_UNPACK_MAX_DEPTH);
    if (rc != 0) {
        return rc;
    }
    ret = msgpack_unpack_next(out, scratch->data, scratch->len, &off);
    if (ret == MSGPACK_UNPACK_SUCCESS && off == scratch->len) {
        return 0;
    }
    msgpack_unpacked_destroy(out);
    return ret == MSGPACK_UNPACK_NOMEM_ERROR ? SK_ENOMEM : SK_EPARSE;
}
