/*
 * parser_apache2: Fluentd's `@type apache2` (parser_apache2.rb), a
 * hand-written parser around its own expression (apache2_int.h). The
 * record always has the 8 keys host, user, method, path, code, size,
 * referer, agent in that order: host, user, referer and agent are nil
 * when "-" (or absent), path nil when absent, code an integer (nil when
 * it reads as 0), size an integer (nil for "-"); with keep_time_key the
 * time text follows as `time`. The time is always read with
 * "%d/%b/%Y:%H:%M:%S %z": Fluentd ignores time_format, time_key, types
 * and the null rules here (they are still checked, and a warning says
 * they have no effect).
 */
#include "parser_apache2/apache2_int.h"

#include <stdint.h>
#include <string.h>

#include "parser/parser.h"
#include "parser/parser_record.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

struct apache2_conf {
    struct sk_parser_common common;
};

struct apache2_ctx {
    struct sk_parser_core core;
    struct sk_ruby_regex re;
};

static const struct sk_param_def apache2_params[] = {
    SK_PARAM_END,
};

static const struct sk_parser_defaults apache2_defaults = {
    .time_key = "time",
    .time_format = APACHE2_TIME_FORMAT,
    .time_type = SK_TIME_TYPE_STRING,
};

static void warn_ignored(const struct sk_conf_section *sec, struct sk_diag *d)
{
    static const char *const ignored[] = {
        "time_format", "time_key", "types", "null_value_pattern", "null_empty_string",
    };

    for (size_t i = 0; sec != NULL && i < sizeof(ignored) / sizeof(ignored[0]); i++) {
        if (sk_conf_find(sec, ignored[i]) != NULL) {
            sk_parser_diag(d, SK_DIAG_WARN, sec,
                           "'%s' has no effect on the apache2 parser (as in Fluentd)",
                           ignored[i]);
        }
    }
}

static int apache2_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct apache2_conf *conf = ins->conf;
    struct apache2_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    struct sk_parser_common fixed = conf->common;
    char err[256];
    int rc;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    warn_ignored(ins->section, d);
    fixed.time_format = NULL; /* always the parser's own format and key */
    fixed.time_key = NULL;
    rc = sk_parser_core_init(&ctx->core, &fixed, &apache2_defaults, ins->section, d);
    if (rc == 0) {
        rc = sk_ruby_regex_compile(&ctx->re, APACHE2_REGEX, 0, err, sizeof(err), NULL);
    }
    return rc;
}

static void apache2_destroy(struct sk_instance *ins)
{
    struct apache2_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_parser_core_cleanup(&ctx->core);
        sk_ruby_regex_cleanup(&ctx->re);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

/* --- the record, written straight into the batch --------------------------
 *
 * One reservation, then the bytes msgpack-c would produce (fixmap,
 * shortest str headers, shortest int encodings, 0xc0 for nil), as the
 * nginx parser does: packing call by call cost more than matching.
 */

/* Room for one value beyond its text: a str header or an int/float. */
#define VALUE_SLACK 9

static unsigned char *put_str(unsigned char *p, const char *s, size_t n)
{
    if (n < 32) {
        *p++ = (unsigned char)(0xa0 | n);
    } else if (n < 256) {
        *p++ = 0xd9;
        *p++ = (unsigned char)n;
    } else if (n < 65536) {
        *p++ = 0xda;
        *p++ = (unsigned char)(n >> 8);
        *p++ = (unsigned char)n;
    } else {
        *p++ = 0xdb;
        for (int sh = 24; sh >= 0; sh -= 8) {
            *p++ = (unsigned char)(n >> sh);
        }
    }
    memcpy(p, s, n);
    return p + n;
}

static unsigned char *put_be(unsigned char *p, unsigned char tag, uint64_t v, int bytes)
{
    *p++ = tag;
    for (int sh = (bytes - 1) * 8; sh >= 0; sh -= 8) {
        *p++ = (unsigned char)(v >> sh);
    }
    return p;
}

/* msgpack-c's msgpack_pack_int64 encoding choices. */
static unsigned char *put_int(unsigned char *p, int64_t v)
{
    if (v >= 0) {
        uint64_t u = (uint64_t)v;

        if (u < 128) {
            *p++ = (unsigned char)u;
            return p;
        }
        return u < 256 ? put_be(p, 0xcc, u, 1)
               : u < 65536 ? put_be(p, 0xcd, u, 2)
               : u < 4294967296ULL ? put_be(p, 0xce, u, 4)
                                   : put_be(p, 0xcf, u, 8);
    }
    if (v >= -32) {
        *p++ = (unsigned char)(int8_t)v;
        return p;
    }
    return v >= -128 ? put_be(p, 0xd0, (uint64_t)v, 1)
           : v >= -32768 ? put_be(p, 0xd1, (uint64_t)v, 2)
           : v >= -2147483648LL ? put_be(p, 0xd2, (uint64_t)v, 4)
                                : put_be(p, 0xd3, (uint64_t)v, 8);
}

static bool is_dash(const char *line, const struct apache2_span *sp)
{
    return sp->set && sp->len == 1 && line[sp->off] == '-';
}

/* A string value; nil when absent or (dash_nil) "-". */
static unsigned char *put_text(unsigned char *p, const char *line, const struct apache2_span *sp,
                               bool dash_nil)
{
    if (!sp->set || (dash_nil && is_dash(line, sp))) {
        *p++ = 0xc0;
        return p;
    }
    return put_str(p, line + sp->off, sp->len);
}

/* String#to_i; nil for "-" (size) or for 0 (code); past 64 bits a float. */
static unsigned char *put_number(unsigned char *p, const char *line,
                                 const struct apache2_span *sp, bool zero_nil)
{
    bool big;
    int64_t v;
    double f;
    uint64_t bits;

    if (!sp->set || (!zero_nil && is_dash(line, sp))) {
        *p++ = 0xc0;
        return p;
    }
    v = sk_ruby_to_i(line + sp->off, sp->len, &big);
    if (big) {
        f = sk_ruby_to_f(line + sp->off, sp->len);
        memcpy(&bits, &f, sizeof(bits));
        return put_be(p, 0xcb, bits, 8);
    }
    if (zero_nil && v == 0) {
        *p++ = 0xc0;
        return p;
    }
    return put_int(p, v);
}

static const struct {
    enum apache2_field f;
    const char *key; /* msgpack fixstr: header and name */
    size_t klen;
    char how;        /* n: nil for "-", s: string, c: code, z: size */
} record_order[] = {
    {APACHE2_HOST, "\xa4host", 5, 'n'},       {APACHE2_USER, "\xa4user", 5, 'n'},
    {APACHE2_METHOD, "\xa6method", 7, 's'},   {APACHE2_PATH, "\xa4path", 5, 's'},
    {APACHE2_CODE, "\xa4" "code", 5, 'c'},     {APACHE2_SIZE, "\xa4size", 5, 'z'},
    {APACHE2_REFERER, "\xa7referer", 8, 'n'}, {APACHE2_AGENT, "\xa5" "agent", 6, 'n'},
};

static int write_record(const struct apache2_ctx *ctx, const char *line,
                        const struct apache2_match *m, struct sk_buf *b)
{
    const struct apache2_span *ts = &m->f[APACHE2_TIME];
    bool keep = ctx->core.keep_time_key;
    size_t need = 1 + (keep ? 5 + VALUE_SLACK + ts->len : 0);
    unsigned char *p;
    int rc;

    for (size_t i = 0; i < sizeof(record_order) / sizeof(record_order[0]); i++) {
        need += record_order[i].klen + VALUE_SLACK + m->f[record_order[i].f].len;
    }
    rc = sk_buf_reserve(b, need);
    if (rc < 0) {
        return rc;
    }
    p = (unsigned char *)b->data + b->len;
    *p++ = (unsigned char)(0x80 | (keep ? 9 : 8));
    for (size_t i = 0; i < sizeof(record_order) / sizeof(record_order[0]); i++) {
        const struct apache2_span *sp = &m->f[record_order[i].f];
        char how = record_order[i].how;

        memcpy(p, record_order[i].key, record_order[i].klen);
        p += record_order[i].klen;
        p = how == 'c' || how == 'z' ? put_number(p, line, sp, how == 'c')
                                     : put_text(p, line, sp, how == 'n');
    }
    if (keep) {
        p = put_str(p, "time", 4);
        p = put_str(p, line + ts->off, ts->len);
    }
    b->len = (size_t)((char *)p - b->data);
    b->data[b->len] = '\0';
    return 0;
}

static int apache2_parse(struct sk_instance *ins, const char *line, size_t len,
                         struct sk_evbuf *out)
{
    struct apache2_ctx *ctx = ins->ctx;
    const struct apache2_span *ts;
    struct apache2_match m;
    size_t mark = out->buf.len;
    struct sk_time t;
    int rc;

    if (!apache2_match(&ctx->re, line, len, &m)) {
        return SK_EPARSE;
    }
    ts = &m.f[APACHE2_TIME];
    rc = sk_parser_time_text(&ctx->core, line + ts->off, ts->len, &t);
    if (rc < 0) {
        return rc == SK_ENOMEM ? rc : SK_EPARSE;
    }
    rc = sk_evbuf_begin(out, t);
    if (rc == 0) {
        rc = write_record(ctx, line, &m, &out->buf);
    }
    if (rc < 0) {
        sk_evbuf_rollback(out, mark);
        return rc;
    }
    sk_evbuf_commit(out);
    return 0;
}

const struct sk_plugin sk_plugin_parser_apache2 = {
    .name = "apache2",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = apache2_params,
    .conf_size = sizeof(struct apache2_conf),
    .desc = "Apache combined/common access log, typed as Fluentd's apache2 parser",
    .init = apache2_init,
    .parse = apache2_parse,
    .destroy = apache2_destroy,
};
