#include "json/json.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * msgpack -> JSON. This is the hot path of the Elasticsearch output, so it
 * writes through a raw cursor into the sk_buf instead of calling
 * sk_buf_append per token, and reserves space once per value.
 *
 * Reservation rule: a string of n bytes never produces fewer than n + 2
 * output bytes, so reserving n + 2 up front (and growing again only when an
 * escape expands) asks sk_buf for no more than the value really needs.
 * SK_ETOOBIG therefore means the JSON text does not fit, never that a
 * worst-case estimate did not.
 *
 * Decisions (the reasons are in the comments where they are applied):
 * - invalid UTF-8: each maximal subpart of an ill-formed sequence (Unicode
 *   ch. 3 "U+FFFD substitution of maximal subparts", the WHATWG decoder rule)
 *   becomes one "\ufffd" escape;
 * - EventTime (ext type 0, 8 bytes) is its integer seconds, as Fluentd's
 *   EventTime#to_json (`@sec.to_s`); other ext values are null;
 * - floats: shortest "%.{15,16,17}g" that reads back to the same double
 *   ("%.{6..9}g" for float32, from "%.1g" up for subnormals), ".0"
 *   appended to integral values so they stay floats (Ruby's Float#to_json
 *   does the same: ES maps 1.0 as a float, 1 as a long); NaN and Inf are
 *   null.
 *   snprintf/strtod are locale dependent: skiff never calls setlocale().
 */

/* A write cursor into an sk_buf: w is the next byte, lim the NUL slot. */
struct jw {
    struct sk_buf *out;
    char *w;
    char *lim;
};

static int jw_open(struct jw *j, struct sk_buf *out)
{
    int rc;

    j->out = out;
    if (out->data == NULL) {
        rc = sk_buf_reserve(out, 0); /* gives data a NUL slot */
        if (rc < 0) {
            return rc;
        }
    }
    j->w = out->data + out->len;
    j->lim = out->data + out->cap - 1;
    return 0;
}

static void jw_close(struct jw *j)
{
    j->out->len = (size_t)(j->w - j->out->data);
    *j->w = '\0';
}

static int jw_grow(struct jw *j, size_t n)
{
    int rc;

    j->out->len = (size_t)(j->w - j->out->data);
    rc = sk_buf_reserve(j->out, n);
    if (rc < 0) {
        return rc;
    }
    j->w = j->out->data + j->out->len;
    j->lim = j->out->data + j->out->cap - 1;
    return 0;
}

/* Makes room for n more bytes at j->w. */
static inline int jw_need(struct jw *j, size_t n)
{
    if ((size_t)(j->lim - j->w) >= n) {
        return 0;
    }
    return jw_grow(j, n);
}

static inline int jw_put(struct jw *j, const char *s, size_t n)
{
    int rc = jw_need(j, n);

    if (rc < 0) {
        return rc;
    }
    memcpy(j->w, s, n);
    j->w += n;
    return 0;
}

static inline int jw_putc(struct jw *j, char c)
{
    int rc = jw_need(j, 1);

    if (rc < 0) {
        return rc;
    }
    *j->w++ = c;
    return 0;
}

/* ---- strings ---------------------------------------------------------- */

/* 0: copied as is; 1: needs a JSON escape; 2: starts a non-ASCII sequence. */
static const uint8_t str_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50: '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xb0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xd0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xe0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xf0 */
};

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/*
 * Nonzero when one of the 8 bytes in v is not class 0 ("determine if a word
 * has a byte less than n", Bit Twiddling Hacks). A byte < 0x20, or equal to
 * '"' or '\\' after the xor, borrows into its high bit; bytes >= 0x80 have
 * it set already. A borrow only leaks upwards from a byte that matched, so
 * the test has no false positives on an all-ASCII word without matches.
 */
static inline uint64_t swar_special(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"');
    uint64_t b = v ^ (ONES * '\\');

    return ((v - ONES * 0x20) | (q - ONES) | (b - ONES) | v) & HIGHS;
}

/*
 * Length of the well-formed UTF-8 sequence at p (2..4), or 0 with *bad set
 * to the length of its maximal subpart (1..3): the bytes that one U+FFFD
 * replaces. Ranges from the Unicode table of well-formed byte sequences.
 */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end, size_t *bad)
{
    uint8_t b0 = p[0];
    uint8_t lo = 0x80;
    uint8_t hi = 0xbf;
    size_t need;
    size_t avail = (size_t)(end - p);

    if (b0 >= 0xc2 && b0 <= 0xdf) {
        need = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        need = 3;
        lo = b0 == 0xe0 ? 0xa0 : 0x80; /* overlong */
        hi = b0 == 0xed ? 0x9f : 0xbf; /* UTF-16 surrogates */
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        need = 4;
        lo = b0 == 0xf0 ? 0x90 : 0x80; /* overlong */
        hi = b0 == 0xf4 ? 0x8f : 0xbf; /* past U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    if (avail < 2 || p[1] < lo || p[1] > hi) {
        *bad = 1;
        return 0;
    }
    for (size_t i = 2; i < need; i++) {
        if (i >= avail || (p[i] & 0xc0) != 0x80) {
            *bad = i;
            return 0;
        }
    }
    return need;
}

/* Writes the escape for an ASCII byte of class 1 (room already made). */
static inline char *put_escape(char *w, uint8_t c)
{
    static const char hex[] = "0123456789abcdef";
    char s = 0;

    switch (c) {
    case '"': s = '"'; break;
    case '\\': s = '\\'; break;
    case '\b': s = 'b'; break;
    case '\f': s = 'f'; break;
    case '\n': s = 'n'; break;
    case '\r': s = 'r'; break;
    case '\t': s = 't'; break;
    default: break;
    }
    *w++ = '\\';
    if (s != 0) {
        *w++ = s;
        return w;
    }
    memcpy(w, "u00", 3);
    w[3] = hex[c >> 4];
    w[4] = hex[c & 15];
    return w + 5;
}

/*
 * Writes the body of s (no quotes). On entry there is room for n + 1
 * bytes; on success there is still room for one more (the closing quote).
 */
static int jw_str_body(struct jw *j, const uint8_t *p, size_t n)
{
    const uint8_t *end;
    char *w = j->w;
    size_t skip;
    size_t need;
    size_t k;
    int rc;

    if (n == 0) {
        return 0; /* p may be NULL (msgpack-c's empty str) */
    }
    end = p + n;
    while (p < end) {
        while (end - p >= 8) {
            uint64_t v;

            memcpy(&v, p, 8);
            if (swar_special(v)) {
                break;
            }
            memcpy(w, p, 8);
            w += 8;
            p += 8;
        }
        if (p < end && end - p < 8 && n >= 8) {
            /* The tail, as the last 8 bytes of the string: when all of them
             * are plain, the bytes before p were copied as they are, so one
             * overlapping copy finishes the string. */
            uint64_t v;
            size_t rem = (size_t)(end - p);

            memcpy(&v, end - 8, 8);
            if (!swar_special(v)) {
                memcpy(w - (8 - rem), end - 8, 8);
                w += rem;
                p = end;
                break;
            }
        }
        while (p < end && str_class[*p] == 0) {
            *w++ = (char)*p++;
        }
        if (p == end) {
            break;
        }
        skip = 1;
        if (str_class[*p] == 2) {
            k = utf8_seq(p, end, &skip);
            if (k > 0) {
                memcpy(w, p, k);
                w += k;
                p += k;
                continue;
            }
        }
        /* An escape of up to 6 bytes, the rest of the input, the quote. */
        need = 6 + (size_t)(end - p) - skip + 1;
        if ((size_t)(j->lim - w) < need) {
            j->w = w;
            rc = jw_grow(j, need);
            if (rc < 0) {
                return rc;
            }
            w = j->w;
        }
        if (str_class[*p] == 2) {
            memcpy(w, "\\ufffd", 6);
            w += 6;
        } else {
            w = put_escape(w, *p);
        }
        p += skip;
    }
    j->w = w;
    return 0;
}

static int jw_string(struct jw *j, const char *s, size_t n)
{
    int rc = jw_need(j, n + 2);

    if (rc < 0) {
        return rc;
    }
    *j->w++ = '"';
    rc = jw_str_body(j, (const uint8_t *)s, n);
    if (rc < 0) {
        return rc;
    }
    *j->w++ = '"';
    return 0;
}

/*
 * Finishes a JSON string whose opening quote is already written and whose
 * contents, the JSON text of a map key that is not a string, were written
 * raw since `mark`. That text is valid JSON, so only '"' and '\\' need
 * escaping (control characters are already escaped). Keys nested in such
 * keys are escaped once per level, so their backslashes double per level:
 * the buffer maximum is what bounds a hostile record, not the input size.
 */
static int jw_quote_since(struct jw *j, size_t mark)
{
    size_t extra = 1;
    char *src;
    char *dst;
    int rc;

    for (src = j->out->data + mark; src < j->w; src++) {
        extra += (*src == '"' || *src == '\\');
    }
    rc = jw_need(j, extra);
    if (rc < 0) {
        return rc;
    }
    src = j->w;
    dst = j->w + extra;
    *--dst = '"';
    while (src > j->out->data + mark) {
        char c = *--src;

        *--dst = c;
        if (c == '"' || c == '\\') {
            *--dst = '\\';
        }
    }
    j->w += extra;
    return 0;
}

/* ---- numbers ---------------------------------------------------------- */

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* Writes v in decimal ending just before `end`; returns the first digit. */
static char *u64_digits(uint64_t v, char *end)
{
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);

        v /= 100;
        end -= 2;
        memcpy(end, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        end -= 2;
        memcpy(end, digit_pairs + 2 * v, 2);
    } else {
        *--end = (char)('0' + v);
    }
    return end;
}

static int jw_uint(struct jw *j, uint64_t v)
{
    char tmp[24];
    char *s = u64_digits(v, tmp + sizeof tmp);

    return jw_put(j, s, (size_t)(tmp + sizeof tmp - s));
}

static int jw_int(struct jw *j, int64_t v)
{
    char tmp[24];
    char *s;

    if (v >= 0) {
        return jw_uint(j, (uint64_t)v);
    }
    s = u64_digits(0 - (uint64_t)v, tmp + sizeof tmp);
    *--s = '-';
    return jw_put(j, s, (size_t)(tmp + sizeof tmp - s));
}

/* Appends ".0" when text holds only an integer, so a float stays a float. */
static size_t keep_float(char *s, size_t n)
{
    if (strpbrk(s, ".e") == NULL) {
        memcpy(s + n, ".0", 3);
        n += 2;
    }
    return n;
}

static const double pow10_f[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
};

/*
 * The common float (a duration, a ratio) without snprintf: the smallest k
 * such that m = round(a * 10^k) gives m / 10^k == a. That division is
 * correctly rounded (m < 2^53 and 10^k exact: Clinger), so the round trip
 * check is exact, and the smallest k is the shortest form. With m below
 * 10^15 the product's rounding error cannot pick the wrong m. For
 * 1e-4 <= a < 1e15, where "%.15g" prints fixed notation, the text is the
 * same as the slow path's. Returns 0 when there is no such form.
 */
static int short_fixed(double a, uint64_t *m, unsigned *k)
{
    for (unsigned i = 1; i < sizeof pow10_f / sizeof pow10_f[0]; i++) {
        double x = nearbyint(a * pow10_f[i]);

        if (x >= 1e15) {
            return 0;
        }
        if (x / pow10_f[i] == a) {
            *m = (uint64_t)x;
            *k = i;
            return 1;
        }
    }
    return 0;
}

/* Writes m / 10^k in fixed notation, k >= 1 digits after the point. */
static int jw_fixed(struct jw *j, int neg, uint64_t m, unsigned k)
{
    char tmp[48];
    char *s = tmp + sizeof tmp;

    for (unsigned i = 0; i < k; i++) {
        *--s = (char)('0' + m % 10);
        m /= 10;
    }
    *--s = '.';
    s = u64_digits(m, s);
    if (neg) {
        *--s = '-';
    }
    return jw_put(j, s, (size_t)(tmp + sizeof tmp - s));
}

static int jw_double(struct jw *j, double d)
{
    uint64_t m;
    unsigned k;
    char tmp[40];
    int n = 0;

    if (!isfinite(d)) {
        return jw_put(j, "null", 4);
    }
    /* Integral values (not -0.0) skip snprintf: digits and ".0". */
    if (fabs(d) < 1e15 && d == (double)(int64_t)d && !(d == 0.0 && signbit(d))) {
        char *s;

        memcpy(tmp + 30, ".0", 2);
        s = tmp + 30;
        if (d < 0) {
            s = u64_digits(0 - (uint64_t)(int64_t)d, s);
            *--s = '-';
        } else {
            s = u64_digits((uint64_t)d, s);
        }
        return jw_put(j, s, (size_t)(tmp + 32 - s));
    }
    if (fabs(d) >= 1e-4 && fabs(d) < 1e15 && short_fixed(fabs(d), &m, &k)) {
        return jw_fixed(j, d < 0, m, k);
    }
    /* %.15g is the shortest form whenever one of <= 15 digits exists: the
     * 15-digit grid is coarser than the double's rounding interval. Not so
     * for subnormals, which have fewer bits: try every precision there. */
    for (int prec = fabs(d) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp - 3, "%.*g", prec, d);
        if (prec == 17 || strtod(tmp, NULL) == d) {
            break;
        }
    }
    return jw_put(j, tmp, keep_float(tmp, (size_t)n));
}

static int jw_float(struct jw *j, float f)
{
    char tmp[40];
    int n = 0;

    if (!isfinite(f)) {
        return jw_put(j, "null", 4);
    }
    for (int prec = fabs(f) < FLT_MIN ? 1 : 6; prec <= 9; prec++) {
        n = snprintf(tmp, sizeof tmp - 3, "%.*g", prec, (double)f);
        if (prec == 9 || strtof(tmp, NULL) == f) {
            break;
        }
    }
    return jw_put(j, tmp, keep_float(tmp, (size_t)n));
}

/* An ext value: EventTime (type 0, BE u32 sec + BE u32 nsec) is written as
 * its integer seconds like Fluentd's EventTime#to_json; anything else null. */
static int jw_ext(struct jw *j, int8_t type, const uint8_t *d, size_t n)
{
    if (type == 0 && n == 8) {
        return jw_uint(j, (uint64_t)d[0] << 24 | (uint64_t)d[1] << 16 | (uint64_t)d[2] << 8 | d[3]);
    }
    return jw_put(j, "null", 4);
}

/* ---- msgpack bytes ---------------------------------------------------- */

struct mw {
    struct jw j;
    const uint8_t *p;
    const uint8_t *end;
};

static inline uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Consumes a header of 1 + n bytes and returns its big-endian argument. */
static inline int take(struct mw *m, unsigned n, uint64_t *v)
{
    if ((size_t)(m->end - m->p) < 1 + (size_t)n) {
        return SK_EPARSE;
    }
    *v = be(m->p + 1, n);
    m->p += 1 + n;
    return 0;
}

static int mw_value(struct mw *m, int depth);

static int mw_str(struct mw *m, uint64_t n)
{
    const char *s = (const char *)m->p;

    if (n > (size_t)(m->end - m->p)) {
        return SK_EPARSE;
    }
    m->p += n;
    return jw_string(&m->j, s, (size_t)n);
}

/* An ext body: type byte then n bytes of data. */
static int mw_ext(struct mw *m, uint64_t n)
{
    const uint8_t *d;

    if (m->p >= m->end || n > (size_t)(m->end - m->p) - 1) {
        return SK_EPARSE;
    }
    d = m->p + 1;
    m->p += 1 + n;
    return jw_ext(&m->j, (int8_t)d[-1], d, (size_t)n);
}

/* Map keys: strings (and bin) as strings, anything else as its JSON text
 * inside a string. */
static int mw_key(struct mw *m, int depth)
{
    uint8_t c;
    size_t mark;
    int rc;

    if (m->p >= m->end) {
        return SK_EPARSE;
    }
    c = *m->p;
    if ((c & 0xe0) == 0xa0) {
        m->p++;
        return mw_str(m, c & 0x1f);
    }
    if (c == 0xc4 || c == 0xd9 || c == 0xc5 || c == 0xda || c == 0xc6 || c == 0xdb) {
        return mw_value(m, depth);
    }
    rc = jw_putc(&m->j, '"');
    if (rc < 0) {
        return rc;
    }
    mark = (size_t)(m->j.w - m->j.out->data);
    rc = mw_value(m, depth);
    if (rc < 0) {
        return rc;
    }
    return jw_quote_since(&m->j, mark);
}

static int mw_map(struct mw *m, uint64_t n, int depth)
{
    int rc;

    if (depth >= SK_JSON_MAX_DEPTH || n > (size_t)(m->end - m->p) / 2) {
        return SK_EPARSE;
    }
    rc = jw_putc(&m->j, '{');
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        if (i > 0) {
            rc = jw_putc(&m->j, ',');
        }
        if (rc == 0) {
            rc = mw_key(m, depth + 1);
        }
        if (rc == 0) {
            rc = jw_putc(&m->j, ':');
        }
        if (rc == 0) {
            rc = mw_value(m, depth + 1);
        }
    }
    return rc < 0 ? rc : jw_putc(&m->j, '}');
}

static int mw_array(struct mw *m, uint64_t n, int depth)
{
    int rc;

    if (depth >= SK_JSON_MAX_DEPTH || n > (size_t)(m->end - m->p)) {
        return SK_EPARSE;
    }
    rc = jw_putc(&m->j, '[');
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        if (i > 0) {
            rc = jw_putc(&m->j, ',');
        }
        if (rc == 0) {
            rc = mw_value(m, depth + 1);
        }
    }
    return rc < 0 ? rc : jw_putc(&m->j, ']');
}

static int mw_float(struct mw *m, uint8_t c)
{
    uint64_t v;
    int rc = take(m, c == 0xca ? 4 : 8, &v);

    if (rc < 0) {
        return rc;
    }
    if (c == 0xca) {
        uint32_t u = (uint32_t)v;
        float f;

        memcpy(&f, &u, 4);
        return jw_float(&m->j, f);
    }
    {
        double d;

        memcpy(&d, &v, 8);
        return jw_double(&m->j, d);
    }
}

/* uint8..uint64 (0xcc..0xcf) and int8..int64 (0xd0..0xd3). */
static int mw_int(struct mw *m, uint8_t c)
{
    unsigned n = 1u << ((c - 0xcc) & 3);
    uint64_t v;
    int rc = take(m, n, &v);

    if (rc < 0) {
        return rc;
    }
    if (c <= 0xcf) {
        return jw_uint(&m->j, v);
    }
    if (n < 8 && (v >> (8 * n - 1)) != 0) {
        v |= ~UINT64_C(0) << (8 * n); /* sign extension */
    }
    return jw_int(&m->j, (int64_t)v);
}

/* Everything from 0xc0 to 0xdf except str and containers. */
static int mw_other(struct mw *m, uint8_t c)
{
    uint64_t v = 0;
    int rc;

    if (c >= 0xcc && c <= 0xd3) {
        return mw_int(m, c);
    }
    if (c == 0xca || c == 0xcb) {
        return mw_float(m, c);
    }
    if (c >= 0xd4 && c <= 0xd8) { /* fixext 1, 2, 4, 8, 16 */
        m->p++;
        return mw_ext(m, 1u << (c - 0xd4));
    }
    if (c >= 0xc4 && c <= 0xc9) { /* bin 8/16/32 (written like str), ext 8/16/32 */
        rc = take(m, 1u << ((c - 0xc4) % 3), &v);
        if (rc < 0) {
            return rc;
        }
        return c <= 0xc6 ? mw_str(m, v) : mw_ext(m, v);
    }
    m->p++;
    switch (c) {
    case 0xc0:
        return jw_put(&m->j, "null", 4);
    case 0xc2:
        return jw_put(&m->j, "false", 5);
    case 0xc3:
        return jw_put(&m->j, "true", 4);
    default: /* 0xc1 is never used */
        return SK_EPARSE;
    }
}

static int mw_value(struct mw *m, int depth)
{
    uint8_t c;
    uint64_t n;
    int rc;

    if (m->p >= m->end) {
        return SK_EPARSE;
    }
    c = *m->p;
    if (c <= 0x7f) {
        m->p++;
        return jw_uint(&m->j, c);
    }
    if (c >= 0xe0) {
        m->p++;
        return jw_int(&m->j, (int8_t)c);
    }
    if (c >= 0xa0 && c <= 0xbf) {
        m->p++;
        return mw_str(m, c & 0x1f);
    }
    if (c <= 0x8f) {
        m->p++;
        return mw_map(m, c & 0x0f, depth);
    }
    if (c <= 0x9f) {
        m->p++;
        return mw_array(m, c & 0x0f, depth);
    }
    switch (c) {
    case 0xd9: case 0xda: case 0xdb:
        rc = take(m, 1u << (c - 0xd9), &n);
        return rc < 0 ? rc : mw_str(m, n);
    case 0xdc: case 0xdd:
        rc = take(m, c == 0xdc ? 2 : 4, &n);
        return rc < 0 ? rc : mw_array(m, n, depth);
    case 0xde: case 0xdf:
        rc = take(m, c == 0xde ? 2 : 4, &n);
        return rc < 0 ? rc : mw_map(m, n, depth);
    default:
        return mw_other(m, c);
    }
}

int sk_json_write_msgpack(struct sk_buf *out, const char *mp, size_t len, size_t *used)
{
    struct mw m;
    int rc = jw_open(&m.j, out);

    if (rc < 0) {
        return rc;
    }
    if (len == 0) {
        jw_close(&m.j);
        return SK_EPARSE;
    }
    m.p = (const uint8_t *)mp;
    m.end = m.p + len;
    rc = mw_value(&m, 0);
    jw_close(&m.j);
    if (rc == 0 && used != NULL) {
        *used = (size_t)(m.p - (const uint8_t *)mp);
    }
    return rc;
}

/* ---- msgpack_object trees --------------------------------------------- */

static int ow_value(struct jw *j, const msgpack_object *o, int depth);

static int ow_key(struct jw *j, const msgpack_object *k, int depth)
{
    size_t mark;
    int rc;

    if (k->type == MSGPACK_OBJECT_STR || k->type == MSGPACK_OBJECT_BIN) {
        return ow_value(j, k, depth);
    }
    rc = jw_putc(j, '"');
    if (rc < 0) {
        return rc;
    }
    mark = (size_t)(j->w - j->out->data);
    rc = ow_value(j, k, depth);
    return rc < 0 ? rc : jw_quote_since(j, mark);
}

static int ow_container(struct jw *j, const msgpack_object *o, int depth)
{
    int is_map = o->type == MSGPACK_OBJECT_MAP;
    uint32_t n = is_map ? o->via.map.size : o->via.array.size;
    int rc;

    if (depth >= SK_JSON_MAX_DEPTH) {
        return SK_EPARSE;
    }
    rc = jw_putc(j, is_map ? '{' : '[');
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (i > 0) {
            rc = jw_putc(j, ',');
        }
        if (rc == 0 && is_map) {
            rc = ow_key(j, &o->via.map.ptr[i].key, depth + 1);
            if (rc == 0) {
                rc = jw_putc(j, ':');
            }
        }
        if (rc == 0) {
            rc = ow_value(j, is_map ? &o->via.map.ptr[i].val : &o->via.array.ptr[i], depth + 1);
        }
    }
    return rc < 0 ? rc : jw_putc(j, is_map ? '}' : ']');
}

static int ow_value(struct jw *j, const msgpack_object *o, int depth)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return jw_put(j, "null", 4);
    case MSGPACK_OBJECT_BOOLEAN:
        return o->via.boolean ? jw_put(j, "true", 4) : jw_put(j, "false", 5);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return jw_uint(j, o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return jw_int(j, o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
        return jw_float(j, (float)o->via.f64);
    case MSGPACK_OBJECT_FLOAT64:
        return jw_double(j, o->via.f64);
    case MSGPACK_OBJECT_STR:
        return jw_string(j, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return jw_string(j, o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return jw_ext(j, o->via.ext.type, (const uint8_t *)o->via.ext.ptr, o->via.ext.size);
    case MSGPACK_OBJECT_ARRAY:
    case MSGPACK_OBJECT_MAP:
        return ow_container(j, o, depth);
    default:
        return SK_EINVAL;
    }
}

int sk_json_write_object(struct sk_buf *out, const msgpack_object *o)
{
    struct jw j;
    int rc = jw_open(&j, out);

    if (rc < 0) {
        return rc;
    }
    rc = ow_value(&j, o, 0);
    jw_close(&j);
    return rc;
}

int sk_json_write_string(struct sk_buf *out, const char *s, size_t len)
{
    struct jw j;
    int rc = jw_open(&j, out);

    if (rc < 0) {
        return rc;
    }
    rc = jw_string(&j, s, len);
    jw_close(&j);
    return rc;
}
