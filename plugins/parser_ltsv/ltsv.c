/*
 * parser_ltsv: Fluentd's `@type ltsv` (parser_ltsv.rb). The line is split
 * with Ruby's String#split by `delimiter` (or the regexp
 * `delimiter_pattern`), and every piece holding `label_delimiter` is split
 * once more into label and value (split(label_delimiter, 2)); pieces
 * without it are skipped. A label seen twice keeps its first place and
 * its last value, as a Ruby Hash does. `time` is the event time.
 */
#include <string.h>

#include "parser/parser_record.h"
#include "parser/ruby_split.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

#define LTSV_MAX_FIELDS (1u << 22)

struct ltsv_conf {
    struct sk_parser_common common;
    char *delimiter;
    char *delimiter_pattern; /* /re/ or NULL */
    char *label_delimiter;
};

struct ltsv_ctx {
    struct sk_parser_core core;
    struct sk_ruby_regex re;   /* delimiter_pattern, when given */
    bool use_re;
    const char *delim;         /* borrowed from conf */
    size_t dlen;
    const char *ldelim;        /* borrowed from conf */
    size_t ldlen;
    struct sk_ruby_pieces pairs;
    struct sk_ruby_pieces kv;
    struct sk_parser_field *fields; /* owned, cap entries */
    size_t cap;
};

static const struct sk_param_def ltsv_params[] = {
    {.name = "delimiter", .type = SK_PARAM_STRING, .def = "\t",
     .offset = offsetof(struct ltsv_conf, delimiter),
     .desc = "Separator between label:value pairs (\" \" splits on blank runs)."},
    {.name = "delimiter_pattern", .type = SK_PARAM_STRING,
     .offset = offsetof(struct ltsv_conf, delimiter_pattern),
     .desc = "Regexp separator (/.../); wins over delimiter."},
    {.name = "label_delimiter", .type = SK_PARAM_STRING, .def = ":",
     .offset = offsetof(struct ltsv_conf, label_delimiter),
     .desc = "Separator between a label and its value."},
    SK_PARAM_END,
};

static const struct sk_parser_defaults ltsv_defaults = {
    .time_key = "time",
    .time_format = NULL,
    .time_type = SK_TIME_TYPE_STRING,
};

static int ltsv_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct ltsv_conf *conf = ins->conf;
    struct ltsv_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    char err[512];
    int rc;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    ctx->delim = conf->delimiter != NULL ? conf->delimiter : "\t";
    ctx->dlen = strlen(ctx->delim);
    ctx->ldelim = conf->label_delimiter != NULL ? conf->label_delimiter : ":";
    ctx->ldlen = strlen(ctx->ldelim);
    sk_ruby_pieces_init(&ctx->pairs, LTSV_MAX_FIELDS);
    sk_ruby_pieces_init(&ctx->kv, 4);
    rc = sk_parser_core_init(&ctx->core, &conf->common, &ltsv_defaults, ins->section, d);
    if (rc == 0 && conf->delimiter_pattern != NULL) {
        ctx->use_re = true;
        rc = sk_ruby_regex_compile(&ctx->re, conf->delimiter_pattern, SK_RUBY_RE_SLASHES, err,
                                   sizeof(err), NULL);
        if (rc == SK_ECONFIG) {
            sk_parser_diag(d, SK_DIAG_ERROR, ins->section, "delimiter_pattern: %s", err);
        }
    }
    return rc;
}

static void ltsv_destroy(struct sk_instance *ins)
{
    struct ltsv_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_parser_core_cleanup(&ctx->core);
        sk_ruby_regex_cleanup(&ctx->re);
        sk_ruby_pieces_cleanup(&ctx->pairs);
        sk_ruby_pieces_cleanup(&ctx->kv);
        sk_free(ctx->fields);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

static int reserve_fields(struct ltsv_ctx *ctx, size_t n)
{
    struct sk_parser_field *f;

    if (n <= ctx->cap) {
        return 0;
    }
    f = sk_realloc(ctx->fields, n * sizeof(*f));
    if (f == NULL) {
        return SK_ENOMEM;
    }
    ctx->fields = f;
    ctx->cap = n;
    return 0;
}

/* `key, value = pair.split(label_delimiter, 2)`: either may be nil. */
static int split_pair(struct ltsv_ctx *ctx, const char *p, size_t len, struct sk_parser_field *f)
{
    int rc = sk_ruby_split(&ctx->kv, p, len, ctx->ldelim, ctx->ldlen, 2);

    if (rc < 0) {
        return rc;
    }
    f->key = ctx->kv.n > 0 ? p + ctx->kv.v[0].off : NULL;
    f->klen = ctx->kv.n > 0 ? ctx->kv.v[0].len : 0;
    f->val = ctx->kv.n > 1 ? p + ctx->kv.v[1].off : NULL;
    f->vlen = ctx->kv.n > 1 ? ctx->kv.v[1].len : 0;
    return 0;
}

static int ltsv_parse(struct sk_instance *ins, const char *line, size_t len,
                      struct sk_evbuf *out)
{
    struct ltsv_ctx *ctx = ins->ctx;
    size_t n = 0;
    int rc;

    rc = ctx->use_re ? sk_ruby_split_regex(&ctx->pairs, &ctx->re, line, len, 0)
                     : sk_ruby_split(&ctx->pairs, line, len, ctx->delim, ctx->dlen, 0);
    if (rc == 0) {
        rc = reserve_fields(ctx, ctx->pairs.n);
    }
    for (size_t i = 0; rc == 0 && i < ctx->pairs.n; i++) {
        const char *p = line + ctx->pairs.v[i].off;
        size_t plen = ctx->pairs.v[i].len;

        if (ctx->ldlen == 0 || memmem(p, plen, ctx->ldelim, ctx->ldlen) != NULL) {
            rc = split_pair(ctx, p, plen, &ctx->fields[n++]);
        }
    }
    if (rc < 0) {
        return rc == SK_ETOOBIG ? SK_EPARSE : rc;
    }
    return sk_parser_emit_record(&ctx->core, ctx->fields, n, NULL, out);
}

const struct sk_plugin sk_plugin_parser_ltsv = {
    .name = "ltsv",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = ltsv_params,
    .conf_size = sizeof(struct ltsv_conf),
    .desc = "Labeled Tab-separated Values (label:value pairs), as Fluentd's ltsv parser",
    .init = ltsv_init,
    .parse = ltsv_parse,
    .destroy = ltsv_destroy,
};
