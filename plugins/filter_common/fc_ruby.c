#include "filter_common/fc_ruby.h"

#include <inttypes.h>
#include <stdbool.h>

#include "parser/parser.h"

/* Deeper values than msgpack-c can unpack never reach a filter; this only
 * bounds the recursion for hand-built objects. */
#define FC_RUBY_MAX_DEPTH 64

const char *fc_ruby_str(const msgpack_object *o, size_t *len)
{
    if (o->type == MSGPACK_OBJECT_STR) {
        *len = o->via.str.size;
        return o->via.str.size > 0 ? o->via.str.ptr : "";
    }
    if (o->type == MSGPACK_OBJECT_BIN) {
        *len = o->via.bin.size;
        return o->via.bin.size > 0 ? o->via.bin.ptr : "";
    }
    return NULL;
}

/* Lead byte ranges: sequence length and the second byte's bounds. */
static size_t utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        *lo = c == 0xe0 ? 0xa0 : 0x80;
        *hi = c == 0xed ? 0x9f : 0xbf;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        *lo = c == 0xf0 ? 0x90 : 0x80;
        *hi = c == 0xf4 ? 0x8f : 0xbf;
        return 4;
    }
    return 0;
}

/* How many bytes of the sequence at s[0..n) are well formed. */
static size_t utf8_prefix(const unsigned char *s, size_t n, size_t *need)
{
    unsigned char lo;
    unsigned char hi;
    size_t ok = 1;

    *need = utf8_lead(s[0], &lo, &hi);
    if (*need == 0) {
        return 0;
    }
    if (ok < n && s[1] >= lo && s[1] <= hi) {
        ok++;
        while (ok < *need && ok < n && s[ok] >= 0x80 && s[ok] <= 0xbf) {
            ok++;
        }
    }
    return ok;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_valid(const char *s, size_t n)
{
    size_t need;
    size_t ok;

    if (n == 0) {
        return 0;
    }
    if ((unsigned char)s[0] < 0x80) {
        return 1;
    }
    ok = utf8_prefix((const unsigned char *)s, n, &need);
    return need > 0 && ok == need ? need : 0;
}

/* Escapes Ruby's inspect uses for one ASCII byte, or NULL. */
static const char *ascii_escape(const unsigned char *s, size_t i, size_t n)
{
    switch (s[i]) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\f':
        return "\\f";
    case '\v':
        return "\\v";
    case '\b':
        return "\\b";
    case '\a':
        return "\\a";
    case 0x1b:
        return "\\e";
    case '#':
        /* "#{", "#$" and "#@" would interpolate if read back. */
        return i + 1 < n && (s[i + 1] == '{' || s[i + 1] == '$' || s[i + 1] == '@') ? "\\#" : NULL;
    default:
        return NULL;
    }
}

/* U+0080..U+009F and the line/paragraph separators are not printable. */
static bool unicode_unprintable(const unsigned char *s, size_t len, uint32_t *cp)
{
    if (len == 2) {
        *cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
        return *cp < 0xa0;
    }
    if (len == 3) {
        *cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
        return *cp == 0x2028 || *cp == 0x2029;
    }
    return false;
}

/* String#inspect for text (UTF-8) or binary (ASCII-8BIT) bytes. */
static int inspect_str(struct sk_buf *out, const char *p, size_t n, bool binary)
{
    const unsigned char *s = (const unsigned char *)p;
    int rc = sk_buf_putc(out, '"');

    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *esc = ascii_escape(s, i, n);
        size_t seq = binary || s[i] < 0x80 ? 0 : utf8_valid(p + i, n - i);
        uint32_t cp;

        if (esc != NULL) {
            rc = sk_buf_append_str(out, esc);
        } else if (s[i] >= 0x20 && s[i] < 0x7f) {
            rc = sk_buf_putc(out, (char)s[i]);
        } else if (s[i] < 0x80) {
            rc = binary ? sk_buf_printf(out, "\\x%02X", s[i]) : sk_buf_printf(out, "\\u%04X", s[i]);
        } else if (seq == 0) {
            rc = sk_buf_printf(out, "\\x%02X", s[i]);
        } else if (unicode_unprintable(s + i, seq, &cp)) {
            rc = sk_buf_printf(out, "\\u%04X", (unsigned)cp);
            i += seq - 1;
        } else {
            rc = sk_buf_append(out, s + i, seq);
            i += seq - 1;
        }
    }
    return rc < 0 ? rc : sk_buf_putc(out, '"');
}

/* Fluent::EventTime#to_s: its seconds. */
static int event_time_to_s(struct sk_buf *out, const msgpack_object *o)
{
    struct sk_time t;

    if (sk_time_from_object(o, &t) < 0) {
        return 0;
    }
    return sk_buf_printf(out, "%" PRId64, t.sec);
}

static int scalar(struct sk_buf *out, const msgpack_object *o, bool inspect)
{
    char num[64];
    size_t n;

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
        n = sk_ruby_float_to_s(o->via.f64, num, sizeof(num));
        return sk_buf_append(out, num, n);
    case MSGPACK_OBJECT_STR:
        return inspect ? inspect_str(out, o->via.str.ptr, o->via.str.size, false)
                       : sk_buf_append(out, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return inspect ? inspect_str(out, o->via.bin.ptr, o->via.bin.size, true)
                       : sk_buf_append(out, o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return o->via.ext.type == 0 ? event_time_to_s(out, o)
                                    : (inspect ? sk_buf_append_str(out, "nil") : 0);
    default:
        return 0;
    }
}

static int inspect_depth(struct sk_buf *out, const msgpack_object *o, int depth)
{
    int rc = 0;

    if (depth > FC_RUBY_MAX_DEPTH) {
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
        return rc < 0 ? rc : sk_buf_putc(out, ']');
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
        return rc < 0 ? rc : sk_buf_putc(out, '}');
    }
    return scalar(out, o, true);
}

int fc_ruby_inspect(struct sk_buf *out, const msgpack_object *o)
{
    return inspect_depth(out, o, 0);
}

int fc_ruby_to_s(struct sk_buf *out, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP) {
        return inspect_depth(out, o, 0);
    }
    return scalar(out, o, false);
}
