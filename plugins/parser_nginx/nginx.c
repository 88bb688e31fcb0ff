/*
 * parser_nginx: Fluentd's `@type nginx` parser (parser_nginx.rb), i.e. a
 * regexp parser with the nginx expression and time format. The match is
 * done by nginx_scan (nginx_scan.c), which gives the regex's captures
 * without a regex engine; the record is the named groups that took part,
 * in their order, with `time` parsed with "%d/%b/%Y:%H:%M:%S %z" and
 * removed. All values stay strings unless `types` says otherwise.
 */
#include "parser_nginx/nginx_int.h"

#include <string.h>

#include "util/alloc.h"

struct nginx_ctx {
    struct sk_parser_core core;
    bool fast; /* no conversion, time_key "time" dropped: pack spans directly */
};

static const struct sk_parser_defaults nginx_defaults = {
    .time_key = "time",
    .time_format = NGINX_TIME_FORMAT,
    .time_type = SK_TIME_TYPE_STRING,
};

static const struct sk_param_def nginx_params[] = {
    SK_PARAM_END,
};

/* The record keys as msgpack fixstr bytes (header and name). */
static const struct {
    const char *bytes;
    size_t len;
} key_bytes[NGINX_NFIELDS] = {
    {"\xa6remote", 7}, {"\xa4host", 5}, {"\xa4user", 5}, {"\xa4time", 5},
    {"\xa6method", 7}, {"\xa4path", 5}, {"\xa4" "code", 5}, {"\xa4size", 5},
    {"\xa7referer", 8}, {"\xa5" "agent", 6}, {"\xb4http_x_forwarded_for", 21},
};

static int nginx_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct nginx_conf *conf = ins->conf;
    struct nginx_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    int rc;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    rc = sk_parser_core_init(&ctx->core, &conf->common, &nginx_defaults, ins->section, d);
    if (rc < 0) {
        return rc;
    }
    ctx->fast = sk_parser_core_plain(&ctx->core) && ctx->core.time_key != NULL &&
                strcmp(ctx->core.time_key, "time") == 0;
    return 0;
}

static void nginx_destroy(struct sk_instance *ins)
{
    struct nginx_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_parser_core_cleanup(&ctx->core);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

/* Writes a msgpack str header for n bytes at p; returns its length. */
static size_t str_head(unsigned char *p, size_t n)
{
    if (n < 32) {
        p[0] = (unsigned char)(0xa0 | n);
        return 1;
    }
    if (n < 256) {
        p[0] = 0xd9;
        p[1] = (unsigned char)n;
        return 2;
    }
    if (n < 65536) {
        p[0] = 0xda;
        p[1] = (unsigned char)(n >> 8);
        p[2] = (unsigned char)n;
        return 3;
    }
    p[0] = 0xdb;
    p[1] = (unsigned char)(n >> 24);
    p[2] = (unsigned char)(n >> 16);
    p[3] = (unsigned char)(n >> 8);
    p[4] = (unsigned char)n;
    return 5;
}

/*
 * The default record: every captured group but time, as strings, written
 * straight into the batch after one reservation (the same bytes msgpack-c
 * would produce: fixmap, fixstr keys, shortest str headers).
 */
static int emit_fast(struct nginx_ctx *ctx, const char *line, const struct nginx_match *m,
                     struct sk_evbuf *out)
{
    const struct nginx_span *ts = &m->f[NGINX_TIME];
    size_t mark = out->buf.len;
    size_t need = 1;
    unsigned n = 0;
    unsigned char *p;
    struct sk_time t;
    int rc;

    rc = sk_parser_time_text(&ctx->core, line + ts->off, ts->len, &t);
    if (rc < 0) {
        return rc == SK_ENOMEM ? rc : SK_EPARSE;
    }
    for (int i = 0; i < NGINX_NFIELDS; i++) {
        if (m->f[i].set && i != NGINX_TIME) {
            need += key_bytes[i].len + 5 + m->f[i].len;
            n++;
        }
    }
    rc = sk_evbuf_begin(out, t);
    if (rc == 0) {
        rc = sk_buf_reserve(&out->buf, need);
    }
    if (rc < 0) {
        sk_evbuf_rollback(out, mark);
        return rc;
    }
    p = (unsigned char *)out->buf.data + out->buf.len;
    *p++ = (unsigned char)(0x80 | n); /* fixmap: n <= 10 */
    for (int i = 0; i < NGINX_NFIELDS; i++) {
        if (m->f[i].set && i != NGINX_TIME) {
            memcpy(p, key_bytes[i].bytes, key_bytes[i].len);
            p += key_bytes[i].len;
            p += str_head(p, m->f[i].len);
            memcpy(p, line + m->f[i].off, m->f[i].len);
            p += m->f[i].len;
        }
    }
    out->buf.len = (size_t)((char *)p - out->buf.data);
    out->buf.data[out->buf.len] = '\0';
    sk_evbuf_commit(out);
    return 0;
}

static int nginx_parse(struct sk_instance *ins, const char *line, size_t len,
                       struct sk_evbuf *out)
{
    struct nginx_ctx *ctx = ins->ctx;
    struct sk_parser_field fields[NGINX_NFIELDS];
    struct nginx_match m;
    size_t n = 0;

    if (!nginx_scan(line, len, &m)) {
        return SK_EPARSE;
    }
    if (ctx->fast) {
        return emit_fast(ctx, line, &m, out);
    }
    for (int i = 0; i < NGINX_NFIELDS; i++) {
        if (m.f[i].set) {
            fields[n].key = nginx_field_names[i];
            fields[n].klen = strlen(nginx_field_names[i]);
            fields[n].val = line + m.f[i].off;
            fields[n].vlen = m.f[i].len;
            n++;
        }
    }
    return sk_parser_emit_fields(&ctx->core, fields, n, out);
}

const struct sk_plugin sk_plugin_parser_nginx = {
    .name = "nginx",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = nginx_params,
    .conf_size = sizeof(struct nginx_conf),
    .desc = "nginx access log (combined, optional X-Forwarded-For), as Fluentd parses it",
    .init = nginx_init,
    .parse = nginx_parse,
    .destroy = nginx_destroy,
};
