/*
 * parser_tsv: Fluentd's `@type tsv` (parser_tsv.rb). The line is split
 * with Ruby's `split(delimiter, keys.length)`: at most one piece per key,
 * the last key taking the rest of the line; keys without a piece are nil.
 * No time_key by default (the event time is now), as in Fluentd.
 */
#include <string.h>

#include "parser/parser_record.h"
#include "parser/ruby_split.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

struct tsv_conf {
    struct sk_parser_common common;
    struct sk_strv keys;
    char *delimiter;
};

struct tsv_ctx {
    struct sk_parser_core core;
    const char *delim; /* borrowed from conf */
    size_t dlen;
    struct sk_ruby_pieces values;
    struct sk_parser_field *fields; /* owned, one per key */
};

static const struct sk_param_def tsv_params[] = {
    {.name = "keys", .type = SK_PARAM_ARRAY, .flags = SK_PARAM_REQUIRED,
     .offset = offsetof(struct tsv_conf, keys), .desc = "Field names, in column order."},
    {.name = "delimiter", .type = SK_PARAM_STRING, .def = "\t",
     .offset = offsetof(struct tsv_conf, delimiter),
     .desc = "Column separator (\" \" splits on blank runs)."},
    SK_PARAM_END,
};

static const struct sk_parser_defaults tsv_defaults = {
    .time_key = NULL,
    .time_format = NULL,
    .time_type = SK_TIME_TYPE_STRING,
};

static int tsv_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct tsv_conf *conf = ins->conf;
    struct tsv_ctx *ctx = sk_calloc(1, sizeof(*ctx));

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    ctx->delim = conf->delimiter != NULL ? conf->delimiter : "\t";
    ctx->dlen = strlen(ctx->delim);
    sk_ruby_pieces_init(&ctx->values, conf->keys.n + 1);
    ctx->fields = sk_calloc(conf->keys.n + 1, sizeof(*ctx->fields));
    if (ctx->fields == NULL) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; i < conf->keys.n; i++) {
        ctx->fields[i].key = conf->keys.v[i];
        ctx->fields[i].klen = strlen(conf->keys.v[i]);
    }
    return sk_parser_core_init(&ctx->core, &conf->common, &tsv_defaults, ins->section, d);
}

static void tsv_destroy(struct sk_instance *ins)
{
    struct tsv_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_parser_core_cleanup(&ctx->core);
        sk_ruby_pieces_cleanup(&ctx->values);
        sk_free(ctx->fields);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

static int tsv_parse(struct sk_instance *ins, const char *line, size_t len, struct sk_evbuf *out)
{
    struct tsv_ctx *ctx = ins->ctx;
    const struct tsv_conf *conf = ins->conf;
    size_t nkeys = conf->keys.n;
    int rc = 0;

    /* split(d, 0) would be unbounded; with no key nothing of it is kept */
    ctx->values.n = 0;
    if (nkeys > 0) {
        rc = sk_ruby_split(&ctx->values, line, len, ctx->delim, ctx->dlen, (long)nkeys);
    }
    if (rc < 0) {
        return rc;
    }
    for (size_t i = 0; i < nkeys; i++) {
        bool have = i < ctx->values.n;

        ctx->fields[i].val = have ? line + ctx->values.v[i].off : NULL;
        ctx->fields[i].vlen = have ? ctx->values.v[i].len : 0;
    }
    return sk_parser_emit_record(&ctx->core, ctx->fields, nkeys, NULL, out);
}

const struct sk_plugin sk_plugin_parser_tsv = {
    .name = "tsv",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = tsv_params,
    .conf_size = sizeof(struct tsv_conf),
    .desc = "tab-separated values named by `keys`, as Fluentd's tsv parser",
    .init = tsv_init,
    .parse = tsv_parse,
    .destroy = tsv_destroy,
};
