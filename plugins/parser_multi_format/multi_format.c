/*
 * parser_multi_format: the `@type multi_format` of
 * fluent-plugin-multi-format-parser. Each <pattern> sub-section
 * describes one parser by `format` (a parser name, or /regexp/) and that
 * parser's parameters; a line goes to them top to bottom and the first
 * that parses it wins. A line none of them parses is unmatched, as with
 * one parser. Sub-parsers are built by the engine (sk_parser_create), so
 * their parameters are checked and shown like any parser's.
 */
#include <string.h>

#include "parser/parser.h"
#include "parser/parser_record.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

struct multi_format_conf {
    struct sk_parser_common common;
};

struct multi_format_ctx {
    struct sk_parser_core core;     /* validation of the common parameters */
    struct sk_instance **parsers;   /* owned array; instances are the engine's */
    size_t n;
};

static const struct sk_param_def multi_format_params[] = {
    SK_PARAM_END,
};

static const struct sk_parser_defaults multi_format_defaults = {
    .time_key = NULL,
    .time_format = NULL,
    .time_type = SK_TIME_TYPE_STRING,
};

/* One <pattern>: a parser owned by a stand-in owner whose section it is. */
static int add_pattern(struct sk_instance *ins, struct multi_format_ctx *ctx,
                       struct sk_conf_section *pat, struct sk_diag *d)
{
    struct sk_instance owner = {.engine = ins->engine, .section = pat, .log_level = -1};
    struct sk_instance *p;

    pat->used = true;
    p = sk_parser_create(&owner, NULL, d);
    if (p == NULL) {
        return SK_ECONFIG;
    }
    ctx->parsers[ctx->n++] = p;
    return 0;
}

static int multi_format_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct multi_format_conf *conf = ins->conf;
    struct multi_format_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    struct sk_conf_section *sec = ins->section;
    int rc;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    rc = sk_parser_core_init(&ctx->core, &conf->common, &multi_format_defaults, sec, d);
    if (rc == 0 && (sec == NULL || ins->engine == NULL)) {
        sk_parser_diag(d, SK_DIAG_ERROR, sec, "multi_format needs its <pattern> sections");
        return SK_ECONFIG;
    }
    if (rc == 0) {
        ctx->parsers = sk_calloc(sec->nchildren + 1, sizeof(*ctx->parsers));
        rc = ctx->parsers == NULL ? SK_ENOMEM : 0;
    }
    for (size_t i = 0; rc == 0 && i < sec->nchildren; i++) {
        struct sk_conf_section *c = sec->children[i];

        if (strcmp(c->name, "pattern") == 0 || strcmp(c->name, "format") == 0) {
            rc = add_pattern(ins, ctx, c, d);
        }
    }
    if (rc == 0 && ctx->n == 0) {
        sk_parser_diag(d, SK_DIAG_WARN, sec, "multi_format without <pattern>: no line parses");
    }
    return rc;
}

static void multi_format_destroy(struct sk_instance *ins)
{
    struct multi_format_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_parser_core_cleanup(&ctx->core);
        sk_free(ctx->parsers);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

static int multi_format_parse(struct sk_instance *ins, const char *line, size_t len,
                              struct sk_evbuf *out)
{
    struct multi_format_ctx *ctx = ins->ctx;

    for (size_t i = 0; i < ctx->n; i++) {
        int rc = sk_parser_parse(ctx->parsers[i], line, len, out);

        if (rc != SK_EPARSE) {
            return rc; /* parsed, or a real error (memory, a full batch) */
        }
    }
    return SK_EPARSE;
}

const struct sk_plugin sk_plugin_parser_multi_format = {
    .name = "multi_format",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = multi_format_params,
    .conf_size = sizeof(struct multi_format_conf),
    .desc = "the first of several <pattern> parsers that parses the line",
    .init = multi_format_init,
    .parse = multi_format_parse,
    .destroy = multi_format_destroy,
};
