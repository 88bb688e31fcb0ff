/*
 * Null rules and `types` conversions (Fluentd's convert_values), and
 * building a record from string captures.
 *
 * Order per field, as in Fluentd: a string that is null-like becomes nil
 * (every field, typed or not); otherwise the field's converter runs. The
 * converters are Ruby's: integer = to_i ("-" is 0, not null), float =
 * to_f, bool = one of "true" "yes" "1" (any case) else false, time = the
 * time parser or nil, array = String#split (trailing empty pieces
 * dropped, " " splits on blank runs), string = to_s.
 */
#include "parser/parser.h"

#include <math.h>
#include <string.h>
#include <strings.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "json/json.h"
#include "parser/parser_int.h"
#include "timefmt/timefmt.h"
#include "util/alloc.h"

#define TO_S_MAX (1u << 20) /* bound on a map rendered as text */

const struct sk_parser_conv *sk_parser_find_conv(const struct sk_parser_core *pc,
                                                 const char *key, size_t klen)
{
    for (size_t i = 0; i < pc->nconvs; i++) {
        if (pc->convs[i].klen == klen && memcmp(pc->convs[i].key, key, klen) == 0) {
            return &pc->convs[i];
        }
    }
    return NULL;
}

bool sk_parser_needs_conversion(const struct sk_parser_core *pc, const char *key, size_t klen)
{
    return pc->null_re != NULL || pc->null_empty_string ||
           sk_parser_find_conv(pc, key, klen) != NULL;
}

bool sk_parser_is_null(const struct sk_parser_core *pc, const char *v, size_t vlen)
{
    if (pc->null_empty_string && vlen == 0) {
        return true;
    }
    if (pc->null_re == NULL) {
        return false;
    }
    return pcre2_match(pc->null_re, (PCRE2_SPTR)v, vlen, 0, 0, pc->null_md, NULL) >= 0;
}

static int mp(int rc)
{
    return rc == 0 ? 0 : (rc < 0 ? rc : SK_ENOMEM);
}

/* --- String#split --------------------------------------------------------- */

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Length of the UTF-8 character at s (1 for a stray byte). */
static size_t char_len(const char *s, size_t avail)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf8 ? 4 : 1;

    for (size_t i = 1; i < n; i++) {
        if (i >= avail || ((unsigned char)s[i] & 0xc0) != 0x80) {
            return 1;
        }
    }
    return n;
}

/* Next piece from *pos; returns false at the end. */
static bool next_piece(const char *s, size_t len, const char *d, size_t dlen, size_t *pos,
                       size_t *from, size_t *plen)
{
    const char *hit;

    if (dlen == 1 && d[0] == ' ') {
        while (*pos < len && blank(s[*pos])) {
            (*pos)++;
        }
        if (*pos >= len) {
            return false;
        }
        *from = *pos;
        while (*pos < len && !blank(s[*pos])) {
            (*pos)++;
        }
        *plen = *pos - *from;
        return true;
    }
    if (dlen == 0) {
        if (*pos >= len) {
            return false;
        }
        *from = *pos;
        *plen = char_len(s + *pos, len - *pos);
        *pos += *plen;
        return true;
    }
    if (*pos > len) {
        return false; /* len + 1 marks "after the last piece" */
    }
    *from = *pos;
    hit = *pos < len ? memmem(s + *pos, len - *pos, d, dlen) : NULL;
    *plen = hit != NULL ? (size_t)(hit - (s + *pos)) : len - *pos;
    *pos = hit != NULL ? *pos + *plen + dlen : len + 1;
    return true;
}

static int pack_split(msgpack_packer *pk, const char *s, size_t len, const char *d, size_t dlen)
{
    size_t pos = 0;
    size_t from;
    size_t plen;
    size_t count = 0;
    size_t keep = 0;
    int rc;

    while (next_piece(s, len, d, dlen, &pos, &from, &plen)) {
        count++;
        if (plen > 0) {
            keep = count; /* trailing empty pieces are dropped */
        }
    }
    rc = mp(msgpack_pack_array(pk, keep));
    pos = 0;
    for (size_t i = 0; rc == 0 && i < keep; i++) {
        if (next_piece(s, len, d, dlen, &pos, &from, &plen)) {
            rc = sk_pack_str(pk, s + from, plen);
        }
    }
    return rc;
}

/* --- converting text ------------------------------------------------------ */

static bool truthy(const char *v, size_t vlen)
{
    return (vlen == 4 && strncasecmp(v, "true", 4) == 0) ||
           (vlen == 3 && strncasecmp(v, "yes", 3) == 0) || (vlen == 1 && v[0] == '1');
}

static int pack_integer_text(msgpack_packer *pk, const char *v, size_t vlen)
{
    bool big;
    int64_t i = sk_ruby_to_i(v, vlen, &big);

    if (big) {
        /* A Bignum: Fluentd would fail to pack it; keep its magnitude. */
        return mp(msgpack_pack_double(pk, sk_ruby_to_f(v, vlen)));
    }
    return mp(msgpack_pack_int64(pk, i));
}

static int pack_text(const struct sk_parser_conv *cv, const char *v, size_t vlen,
                     msgpack_packer *pk)
{
    struct sk_time t;

    switch (cv->type) {
    case SK_CONV_INTEGER: return pack_integer_text(pk, v, vlen);
    case SK_CONV_FLOAT: return mp(msgpack_pack_double(pk, sk_ruby_to_f(v, vlen)));
    case SK_CONV_BOOL:
        return mp(truthy(v, vlen) ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    case SK_CONV_TIME:
        if (sk_parser_time_parse(cv->time_type, cv->timefmt, v, vlen, &t) < 0) {
            return mp(msgpack_pack_nil(pk));
        }
        return mp(sk_pack_time(pk, t));
    case SK_CONV_ARRAY: return pack_split(pk, v, vlen, cv->delim, cv->dlen);
    default: return sk_pack_str(pk, v, vlen);
    }
}

int sk_parser_pack_value(struct sk_parser_core *pc, const char *key, size_t klen, const char *v,
                         size_t vlen, msgpack_packer *pk)
{
    const struct sk_parser_conv *cv;

    if (sk_parser_is_null(pc, v, vlen)) {
        return mp(msgpack_pack_nil(pk));
    }
    cv = sk_parser_find_conv(pc, key, klen);
    return cv != NULL ? pack_text(cv, v, vlen, pk) : sk_pack_str(pk, v, vlen);
}

/* --- converting decoded values (json) ------------------------------------- */

/* Ruby's to_s of a decoded value; maps and arrays are written as JSON
 * (Ruby would write its inspect form, {"a"=>1}). */
static int object_to_s(const msgpack_object *o, struct sk_buf *b)
{
    char tmp[64];
    size_t n;

    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return sk_buf_printf(b, "%llu", (unsigned long long)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return sk_buf_printf(b, "%lld", (long long)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        n = sk_ruby_float_to_s(o->via.f64, tmp, sizeof(tmp));
        return sk_buf_append(b, tmp, n);
    case MSGPACK_OBJECT_BOOLEAN:
        return sk_buf_append_str(b, o->via.boolean ? "true" : "false");
    case MSGPACK_OBJECT_STR:
        return sk_buf_append(b, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_NIL:
        return 0;
    default:
        return sk_json_write_object(b, o);
    }
}

static int pack_object_number(const msgpack_object *o, bool integer, msgpack_packer *pk)
{
    double f;

    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return mp(integer ? msgpack_pack_uint64(pk, o->via.u64)
                          : msgpack_pack_double(pk, (double)o->via.u64));
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return mp(integer ? msgpack_pack_int64(pk, o->via.i64)
                          : msgpack_pack_double(pk, (double)o->via.i64));
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        f = o->via.f64;
        if (!integer) {
            return mp(msgpack_pack_double(pk, f));
        }
        if (!isfinite(f)) {
            return mp(msgpack_pack_int64(pk, 0)); /* "NaN".to_i */
        }
        return mp(fabs(f) < 9.2e18 ? msgpack_pack_int64(pk, (int64_t)f)
                                   : msgpack_pack_double(pk, trunc(f)));
    default:
        /* true.to_i raises; Fluentd retries with to_s.to_i: "true" -> 0 */
        return mp(integer ? msgpack_pack_int64(pk, 0) : msgpack_pack_double(pk, 0.0));
    }
}

int sk_parser_pack_object(struct sk_parser_core *pc, const char *key, size_t klen,
                          const msgpack_object *o, msgpack_packer *pk)
{
    const struct sk_parser_conv *cv;
    struct sk_buf text;
    struct sk_time t;
    int rc;

    if (o->type == MSGPACK_OBJECT_STR) {
        return sk_parser_pack_value(pc, key, klen, o->via.str.ptr, o->via.str.size, pk);
    }
    cv = sk_parser_find_conv(pc, key, klen);
    if (cv == NULL || o->type == MSGPACK_OBJECT_NIL) {
        return mp(msgpack_pack_object(pk, *o));
    }
    switch (cv->type) {
    case SK_CONV_INTEGER:
    case SK_CONV_FLOAT:
        return pack_object_number(o, cv->type == SK_CONV_INTEGER, pk);
    case SK_CONV_TIME:
        if (sk_parser_time_parse_object(cv->time_type, cv->timefmt, o, &t) < 0) {
            return mp(msgpack_pack_nil(pk));
        }
        return mp(sk_pack_time(pk, t));
    default:
        sk_buf_init(&text, TO_S_MAX);
        rc = object_to_s(o, &text);
        if (rc == 0) {
            rc = pack_text(cv, text.data != NULL ? text.data : "", text.len, pk);
        }
        sk_buf_cleanup(&text);
        return rc;
    }
}

/* --- records from captures ------------------------------------------------ */

/* Index of the time field in f, or -1. */
static long find_time_field(const struct sk_parser_core *pc, const struct sk_parser_field *f,
                            size_t n)
{
    for (size_t i = 0; pc->time_key != NULL && i < n; i++) {
        if (f[i].klen == pc->time_key_len && memcmp(f[i].key, pc->time_key, f[i].klen) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static int pack_fields(struct sk_parser_core *pc, const struct sk_parser_field *f, size_t n,
                       long skip, msgpack_packer *pk)
{
    int rc = mp(msgpack_pack_map(pk, n - (skip >= 0 ? 1 : 0)));

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((long)i == skip) {
            continue;
        }
        rc = sk_pack_str(pk, f[i].key, f[i].klen);
        if (rc == 0) {
            rc = pc->convert ? sk_parser_pack_value(pc, f[i].key, f[i].klen, f[i].val, f[i].vlen, pk)
                             : sk_pack_str(pk, f[i].val, f[i].vlen);
        }
    }
    return rc;
}

int sk_parser_emit_fields(struct sk_parser_core *pc, const struct sk_parser_field *f, size_t n,
                          struct sk_evbuf *out)
{
    size_t mark = out->buf.len;
    long ti = find_time_field(pc, f, n);
    struct sk_time t;
    int rc;

    if (ti >= 0) {
        rc = sk_parser_time_text(pc, f[ti].val, f[ti].vlen, &t);
        if (rc < 0) {
            return rc == SK_ENOMEM ? rc : SK_EPARSE;
        }
    } else if (pc->estimate_current_event) {
        t = sk_time_now();
    } else {
        return SK_EPARSE; /* no time: in_tail reports "pattern not matched" */
    }
    rc = sk_evbuf_begin(out, t);
    if (rc == 0) {
        rc = pack_fields(pc, f, n, pc->keep_time_key ? -1 : ti, &out->pk);
    }
    if (rc < 0) {
        sk_evbuf_rollback(out, mark);
        return rc;
    }
    sk_evbuf_commit(out);
    return 0;
}
