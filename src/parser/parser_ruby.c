/*
 * The Ruby core methods Fluentd's type conversions rest on, reproduced
 * byte for byte where records can show the difference: String#to_i,
 * String#to_f, Float#to_s.
 */
#include "parser/parser.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool rb_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool rb_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Copies the digits of a Ruby number run starting at p (digits with
 * single underscores between them) to out; returns the bytes consumed.
 */
static size_t digit_run(const char *p, const char *pe, char *out, size_t cap, size_t *olen)
{
    const char *p0 = p;

    while (p < pe && rb_digit(*p)) {
        if (*olen < cap) {
            out[(*olen)++] = *p;
        }
        p++;
        if (p + 1 < pe && *p == '_' && rb_digit(p[1])) {
            p++;
        }
    }
    return (size_t)(p - p0);
}

int64_t sk_ruby_to_i(const char *s, size_t len, bool *big)
{
    const char *p = s;
    const char *pe = s + len;
    bool neg = false;
    uint64_t v = 0;

    *big = false;
    while (p < pe && rb_space(*p)) {
        p++;
    }
    if (p < pe && (*p == '+' || *p == '-')) {
        neg = *p++ == '-';
    }
    if (p + 2 < pe && p[0] == '0' && (p[1] == 'd' || p[1] == 'D') && rb_digit(p[2])) {
        p += 2; /* Ruby accepts a "0d" decimal prefix */
    }
    while (p < pe && rb_digit(*p)) {
        unsigned d = (unsigned)(*p - '0');

        if (v > (UINT64_MAX - d) / 10) {
            *big = true;
            v = UINT64_MAX;
        } else if (!*big) {
            v = v * 10 + d;
        }
        p++;
        if (p + 1 < pe && *p == '_' && rb_digit(p[1])) {
            p++;
        }
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) {
            *big = true;
            return INT64_MIN;
        }
        return v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    }
    if (v > (uint64_t)INT64_MAX) {
        *big = true;
        return INT64_MAX;
    }
    return (int64_t)v;
}

double sk_ruby_to_f(const char *s, size_t len)
{
    const char *p = s;
    const char *pe = s + len;
    char buf[400];
    size_t n = 0;
    size_t d;

    while (p < pe && rb_space(*p)) {
        p++;
    }
    if (p < pe && (*p == '+' || *p == '-')) {
        buf[n++] = *p++;
    }
    d = digit_run(p, pe, buf, 320, &n);
    p += d;
    if (p + 1 < pe && *p == '.' && rb_digit(p[1])) {
        buf[n++] = '.';
        p += 1 + digit_run(p + 1, pe, buf, 340, &n);
        d = 1;
    }
    if (d > 0 && p + 1 < pe && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        size_t mark = n;

        buf[n++] = 'e';
        if (q < pe && (*q == '+' || *q == '-')) {
            buf[n++] = *q++;
        }
        if (q < pe && rb_digit(*q)) {
            digit_run(q, pe, buf, 390, &n);
        } else {
            n = mark;
        }
    }
    buf[n] = '\0';
    return d > 0 ? strtod(buf, NULL) : 0.0;
}

/* Shortest digits that read back as v (Ruby's dtoa mode 0); returns the
 * decimal exponent of the first digit. v is finite and not zero. */
static int shortest_digits(double v, char *digits, int *nd)
{
    int exp10 = 0;

    *nd = 0;
    for (int prec = 1; prec <= 17; prec++) {
        char tmp[40];

        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v || prec == 17) {
            char *e = strchr(tmp, 'e');

            exp10 = (int)strtol(e + 1, NULL, 10);
            for (char *q = tmp; q < e; q++) {
                if (rb_digit(*q)) {
                    digits[(*nd)++] = *q;
                }
            }
            break;
        }
    }
    while (*nd > 1 && digits[*nd - 1] == '0') {
        (*nd)--;
    }
    return exp10;
}

/* Appends c to out if room remains (one byte is kept for the NUL). */
static void put(char *out, size_t size, size_t *o, char c)
{
    if (*o + 1 < size) {
        out[(*o)++] = c;
    }
}

size_t sk_ruby_float_to_s(double v, char *out, size_t size)
{
    char digits[32];
    int nd;
    int decpt;
    size_t o = 0;

    if (isnan(v) || isinf(v)) {
        return (size_t)snprintf(out, size, "%s", isnan(v) ? "NaN" : v < 0 ? "-Infinity" :
                                "Infinity");
    }
    if (v == 0) {
        return (size_t)snprintf(out, size, "%s", signbit(v) ? "-0.0" : "0.0");
    }
    decpt = shortest_digits(v, digits, &nd) + 1;
    if (v < 0) {
        put(out, size, &o, '-');
    }
    if (decpt > 0 && (decpt < nd || decpt <= 15)) { /* Ruby: fixed up to DBL_DIG */
        for (int i = 0; i < decpt; i++) {
            put(out, size, &o, i < nd ? digits[i] : '0');
        }
        put(out, size, &o, '.');
        for (int i = decpt; i < nd || i == decpt; i++) {
            put(out, size, &o, i < nd ? digits[i] : '0');
        }
    } else if (decpt <= 0 && decpt > -4) {
        put(out, size, &o, '0');
        put(out, size, &o, '.');
        for (int i = decpt; i < 0; i++) {
            put(out, size, &o, '0');
        }
        for (int i = 0; i < nd; i++) {
            put(out, size, &o, digits[i]);
        }
    } else {
        put(out, size, &o, digits[0]);
        put(out, size, &o, '.');
        for (int i = 1; i < nd || i == 1; i++) {
            put(out, size, &o, i < nd ? digits[i] : '0');
        }
        o += (size_t)snprintf(out + o, size > o ? size - o : 0, "e%+03d", decpt - 1);
    }
    if (o >= size) {
        o = size - 1;
    }
    out[o] = '\0';
    return o;
}
