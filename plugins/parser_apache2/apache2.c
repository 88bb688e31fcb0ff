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

static int mp(int rc)
{
    return rc == 0 ? 0 : (rc < 0 ? rc : SK_ENOMEM);
}

static bool is_dash(const char *line, const struct apache2_span *sp)
{
    return sp->set && sp->len == 1 && line[sp->off] == '-';
}

/* A string value; nil when absent or (dash_nil) "-". */
static int pack_text(msgpack_packer *pk, const char *line, const struct apache2_span *sp,
                     bool dash_nil)
{
    if (!sp->set || (dash_nil && is_dash(line, sp))) {
        return mp(msgpack_pack_nil(pk));
    }
    return sk_pack_str(pk, line + sp->off, sp->len);
}

/* String#to_i; nil for "-" (size) or for 0 (code). */
static int pack_int(msgpack_packer *pk, const char *line, const struct apache2_span *sp,
                    bool zero_nil)
{
    bool big;
    int64_t v;

    if (!sp->set || (!zero_nil && is_dash(line, sp))) {
        return mp(msgpack_pack_nil(pk));
    }
    v = sk_ruby_to_i(line + sp->off, sp->len, &big);
    if (big) {
        return mp(msgpack_pack_double(pk, sk_ruby_to_f(line + sp->off, sp->len)));
    }
    if (zero_nil && v == 0) {
        return mp(msgpack_pack_nil(pk));
    }
    return mp(msgpack_pack_int64(pk, v));
}

static int pack_record(const struct apache2_ctx *ctx, const char *line,
                       const struct apache2_match *m, msgpack_packer *pk)
{
    static const struct {
        enum apache2_field f;
        char how; /* s: string, n: string or nil for "-", c: code, z: size */
    } order[] = {
        {APACHE2_HOST, 'n'}, {APACHE2_USER, 'n'}, {APACHE2_METHOD, 's'},
        {APACHE2_PATH, 's'}, {APACHE2_CODE, 'c'}, {APACHE2_SIZE, 'z'},
        {APACHE2_REFERER, 'n'}, {APACHE2_AGENT, 'n'},
    };
    int rc = mp(msgpack_pack_map(pk, 8 + (ctx->core.keep_time_key ? 1 : 0)));

    for (size_t i = 0; rc == 0 && i < sizeof(order) / sizeof(order[0]); i++) {
        const char *key = apache2_field_names[order[i].f];
        const struct apache2_span *sp = &m->f[order[i].f];

        rc = sk_pack_str(pk, key, strlen(key));
        if (rc == 0) {
            rc = order[i].how == 'c'   ? pack_int(pk, line, sp, true)
                 : order[i].how == 'z' ? pack_int(pk, line, sp, false)
                                       : pack_text(pk, line, sp, order[i].how == 'n');
        }
    }
    if (rc == 0 && ctx->core.keep_time_key) {
        rc = sk_pack_kv_str(pk, "time", 4, line + m->f[APACHE2_TIME].off,
                            m->f[APACHE2_TIME].len);
    }
    return rc;
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
        rc = pack_record(ctx, line, &m, &out->pk);
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
