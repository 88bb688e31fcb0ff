#include "filter_elasticsearch_genid/genid_seed.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GENID_MAX_DEPTH 64

/* Shortest decimal digits of d that read back, and the position of the
 * decimal point relative to them (dtoa's decpt: 1.5 -> "15", 1). */
static void shortest_digits(double d, char *digits, size_t size, int *decpt)
{
    char tmp[40];
    char *e;
    size_t nd = 0;

    for (int prec = 0; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, fabs(d));
        if (strtod(tmp, NULL) == fabs(d)) {
            break;
        }
    }
    e = strchr(tmp, 'e');
    *decpt = (int)strtol(e + 1, NULL, 10) + 1;
    for (const char *p = tmp; p < e && nd + 1 < size; p++) {
        if (*p >= '0' && *p <= '9') {
            digits[nd++] = *p;
        }
    }
    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }
    digits[nd] = '\0';
}

/* Ruby's Float#to_s (flo_to_s). */
static int ruby_float(struct sk_buf *out, double d)
{
    char digits[32];
    int decpt;
    int nd;
    int rc = 0;

    if (isnan(d)) {
        return sk_buf_append_str(out, "NaN");
    }
    if (isinf(d)) {
        return sk_buf_append_str(out, d < 0 ? "-Infinity" : "Infinity");
    }
    if (d == 0) {
        return sk_buf_append_str(out, signbit(d) ? "-0.0" : "0.0");
    }
    shortest_digits(d, digits, sizeof(digits), &decpt);
    nd = (int)strlen(digits);
    if (d < 0) {
        rc = sk_buf_putc(out, '-');
    }
    if (rc == 0 && decpt > 0 && decpt <= DBL_DIG + 1) {
        /* 123.45, 100.0 */
        for (int i = 0; i < decpt && rc == 0; i++) {
            rc = sk_buf_putc(out, i < nd ? digits[i] : '0');
        }
        if (rc == 0) {
            rc = sk_buf_printf(out, ".%s", nd > decpt ? digits + decpt : "0");
        }
    } else if (rc == 0 && decpt <= 0 && decpt > -4) {
        /* 0.00123 */
        rc = sk_buf_append_str(out, "0.");
        for (int i = 0; i < -decpt && rc == 0; i++) {
            rc = sk_buf_putc(out, '0');
        }
        if (rc == 0) {
            rc = sk_buf_append_str(out, digits);
        }
    } else if (rc == 0) {
        /* 1.0e+16, 1.5e-05 */
        rc = sk_buf_printf(out, "%c.%se%c%02d", digits[0], nd > 1 ? digits + 1 : "0",
                           decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
    }
    return rc;
}

/* String#inspect: quotes and escapes; UTF-8 kept for text (non-ASCII code
 * points are assumed printable), \u00XX for control characters of text,
 * \xNN for bytes that are not valid UTF-8 and for binary. */
static int ruby_inspect_str(struct sk_buf *out, const char *s, size_t n, bool binary)
{
    int rc = sk_buf_putc(out, '"');

    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t seq = 0;

        switch (c) {
        case '"':
            rc = sk_buf_append_str(out, "\\\"");
            continue;
        case '\\':
            rc = sk_buf_append_str(out, "\\\\");
            continue;
        case '\n':
            rc = sk_buf_append_str(out, "\\n");
            continue;
        case '\t':
            rc = sk_buf_append_str(out, "\\t");
            continue;
        case '\r':
            rc = sk_buf_append_str(out, "\\r");
            continue;
        case '\f':
            rc = sk_buf_append_str(out, "\\f");
            continue;
        case '\v':
            rc = sk_buf_append_str(out, "\\v");
            continue;
        case '\b':
            rc = sk_buf_append_str(out, "\\b");
            continue;
        case '\a':
            rc = sk_buf_append_str(out, "\\a");
            continue;
        case 0x1b:
            rc = sk_buf_append_str(out, "\\e");
            continue;
        case '#':
            /* "#{", "#$", "#@" would interpolate: Ruby escapes the '#'. */
            rc = (i + 1 < n && (s[i + 1] == '{' || s[i + 1] == '$' || s[i + 1] == '@'))
                     ? sk_buf_append_str(out, "\\#")
                     : sk_buf_putc(out, '#');
            continue;
        default:
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            /* Text shows code points, binary shows bytes. */
            rc = binary ? sk_buf_printf(out, "\\x%02X", c) : sk_buf_printf(out, "\\u%04X", c);
            continue;
        }
        if (c < 0x80) {
            rc = sk_buf_putc(out, (char)c);
            continue;
        }
        if (!binary) {
            seq = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
            for (size_t k = 1; k < seq; k++) {
                if (i + k >= n || ((unsigned char)s[i + k] & 0xc0) != 0x80) {
                    seq = 0;
                }
            }
        }
        if (seq > 1) {
            rc = sk_buf_append(out, s + i, seq);
            i += seq - 1;
        } else {
            rc = sk_buf_printf(out, "\\x%02X", c);
        }
    }
    return rc == 0 ? sk_buf_putc(out, '"') : rc;
}

static int scalar(struct sk_buf *out, const msgpack_object *o, bool inspect)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return inspect ? sk_buf_append_str(out, "nil") : 0;
    case MSGPACK_OBJECT_BOOLEAN:
        return sk_buf_append_str(out, o->via.boolean ? "true" : "false");
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return sk_buf_printf(out, "%" PRIu64, o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return sk_buf_printf(out, "%" PRId64, o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return ruby_float(out, o->via.f64);
    case MSGPACK_OBJECT_STR:
        return inspect ? ruby_inspect_str(out, o->via.str.ptr, o->via.str.size, false)
                       : sk_buf_append(out, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return inspect ? ruby_inspect_str(out, o->via.bin.ptr, o->via.bin.size, true)
                       : sk_buf_append(out, o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        /* An EventTime shows its seconds; other extensions have no Ruby form. */
        if (o->via.ext.type == 0 && o->via.ext.size == 8) {
            const unsigned char *p = (const unsigned char *)o->via.ext.ptr;

            return sk_buf_printf(out, "%" PRIu32,
                                 (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        }
        return inspect ? sk_buf_append_str(out, "nil") : 0;
    default:
        return 0;
    }
}

static int inspect_depth(struct sk_buf *out, const msgpack_object *o, int depth)
{
    int rc = 0;

    if (depth > GENID_MAX_DEPTH) {
        return SK_ETOOBIG;
    }
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        rc = sk_buf_putc(out, '[');
        for (uint32_t i = 0; i < o->via.array.size && rc == 0; i++) {
            rc = i > 0 ? sk_buf_append_str(out, ", ") : 0;
            if (rc == 0) {
                rc = inspect_depth(out, &o->via.array.ptr[i], depth + 1);
            }
        }
        return rc == 0 ? sk_buf_putc(out, ']') : rc;
    }
    if (o->type == MSGPACK_OBJECT_MAP) {
        rc = sk_buf_putc(out, '{');
        for (uint32_t i = 0; i < o->via.map.size && rc == 0; i++) {
            rc = i > 0 ? sk_buf_append_str(out, ", ") : 0;
            if (rc == 0) {
                rc = inspect_depth(out, &o->via.map.ptr[i].key, depth + 1);
            }
            if (rc == 0) {
                rc = sk_buf_append_str(out, "=>");
            }
            if (rc == 0) {
                rc = inspect_depth(out, &o->via.map.ptr[i].val, depth + 1);
            }
        }
        return rc == 0 ? sk_buf_putc(out, '}') : rc;
    }
    return scalar(out, o, true);
}

int genid_ruby_inspect(struct sk_buf *out, const msgpack_object *o)
{
    return inspect_depth(out, o, 0);
}

int genid_ruby_to_s(struct sk_buf *out, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP) {
        return inspect_depth(out, o, 0); /* Array#to_s and Hash#to_s are #inspect */
    }
    return scalar(out, o, false);
}

/* One element of Array#join(sep): a nested array is joined with the same
 * separator (none before its own first element), anything else is to_s. */
static int join_elem(struct sk_buf *out, const msgpack_object *o, const char *sep, int depth)
{
    int rc = 0;

    if (depth > GENID_MAX_DEPTH) {
        return SK_ETOOBIG;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        return genid_ruby_to_s(out, o);
    }
    for (uint32_t i = 0; i < o->via.array.size && rc == 0; i++) {
        rc = i > 0 ? sk_buf_append_str(out, sep) : 0;
        if (rc == 0) {
            rc = join_elem(out, &o->via.array.ptr[i], sep, depth + 1);
        }
    }
    return rc;
}

int genid_seed(struct sk_buf *out, const struct genid_seed_opts *o, const char *tag,
               struct sk_time t, const msgpack_object *record)
{
    int rc = 0;

    if (o->include_tag) {
        rc = sk_buf_printf(out, "%s%s", tag != NULL ? tag : "", o->separator);
    }
    if (rc == 0 && o->include_time) {
        rc = sk_buf_printf(out, "%" PRId64 "%s", t.sec, o->separator);
    }
    if (rc < 0) {
        return rc;
    }
    if (o->use_entire_record) {
        for (uint32_t i = 0; i < record->via.map.size && rc == 0; i++) {
            rc = sk_buf_putc(out, '|');
            if (rc == 0) {
                rc = genid_ruby_to_s(out, &record->via.map.ptr[i].key);
            }
            if (rc == 0) {
                rc = sk_buf_putc(out, '|');
            }
            if (rc == 0) {
                rc = genid_ruby_to_s(out, &record->via.map.ptr[i].val);
            }
        }
        return rc;
    }
    for (size_t i = 0; o->record_keys != NULL && i < o->record_keys->n && rc == 0; i++) {
        const char *k = o->record_keys->v[i];
        const msgpack_object *v = sk_map_get(record, k, strlen(k));

        rc = i > 0 ? sk_buf_append_str(out, o->separator) : 0;
        if (rc == 0 && v != NULL) {
            rc = join_elem(out, v, o->separator, 0);
        }
    }
    return rc;
}
