/*
 * parser_multiline: Fluentd's `@type multiline` (parser_multiline.rb).
 * format1..format20, each /.../, are joined (without their slashes) into
 * one regexp compiled with Ruby's m flag ('.' matches '\n') and used as a
 * regexp parser over a whole block of lines; format_firstline (/.../, no
 * flags) tells in_tail where a block starts (see parser/parser_multiline.h
 * for the contract). Fluentd's configuration errors are kept: a format
 * not written /.../, a gap in the numbering, N outside 1..20, no named
 * group at all.
 */
#include "parser/parser_multiline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser/parser_record.h"
#include "parser/parser_regexp.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

#define FORMAT_MAX_NUM 20

struct multiline_conf {
    struct sk_parser_common common;
    char *format_firstline;
    char *format[FORMAT_MAX_NUM];
};

struct multiline_ctx {
    struct sk_regexp_parser rp;
    struct sk_ruby_regex firstline;
    bool has_firstline;
};

#define FORMAT_N(n)                                                                          \
    {.name = "format" #n, .type = SK_PARAM_STRING,                                           \
     .offset = offsetof(struct multiline_conf, format[(n) - 1]),                             \
     .desc = "Part " #n " of the event regexp, /.../; the parts are joined in order."}

static const struct sk_param_def multiline_params[] = {
    {.name = "format_firstline", .type = SK_PARAM_STRING,
     .offset = offsetof(struct multiline_conf, format_firstline),
     .desc = "Regexp (/.../) matching the first line of an event."},
    FORMAT_N(1),  FORMAT_N(2),  FORMAT_N(3),  FORMAT_N(4),  FORMAT_N(5),
    FORMAT_N(6),  FORMAT_N(7),  FORMAT_N(8),  FORMAT_N(9),  FORMAT_N(10),
    FORMAT_N(11), FORMAT_N(12), FORMAT_N(13), FORMAT_N(14), FORMAT_N(15),
    FORMAT_N(16), FORMAT_N(17), FORMAT_N(18), FORMAT_N(19), FORMAT_N(20),
    SK_PARAM_END,
};

static const struct sk_parser_defaults multiline_defaults = {
    .time_key = "time",
    .time_format = NULL,
    .time_type = SK_TIME_TYPE_STRING,
};

extern const struct sk_plugin sk_plugin_parser_multiline;

/* check_format_regexp: the value must be written /.../ */
static bool slashed(const char *v)
{
    size_t len = strlen(v);

    return len >= 2 && v[0] == '/' && v[len - 1] == '/';
}

/* check_format_range: formatN keys with N outside 1..20. */
static int check_range(struct sk_conf_section *sec, struct sk_diag *d)
{
    int rc = 0;

    for (size_t i = 0; sec != NULL && i < sec->nparams; i++) {
        const char *k = sec->params[i].key;
        char *end;
        long n;

        if (strncmp(k, "format", 6) != 0 || k[6] < '0' || k[6] > '9') {
            continue;
        }
        n = strtol(k + 6, &end, 10);
        if (*end == '\0' && (n < 1 || n > FORMAT_MAX_NUM)) {
            sk_parser_diag(d, SK_DIAG_ERROR, sec,
                           "Invalid formatN found. N should be 1 - %d: %s", FORMAT_MAX_NUM, k);
            sec->params[i].used = true;
            rc = SK_ECONFIG;
        }
    }
    return rc;
}

/* parse_formats: format1..N in order, checked, joined without slashes. */
static int join_formats(const struct multiline_conf *conf, const struct sk_conf_section *sec,
                        struct sk_diag *d, struct sk_buf *out)
{
    int rc = 0;

    for (int i = 0; i < FORMAT_MAX_NUM && rc == 0; i++) {
        const char *f = conf->format[i];

        if (f == NULL) {
            continue;
        }
        if (i > 0 && conf->format[i - 1] == NULL) {
            sk_parser_diag(d, SK_DIAG_ERROR, sec,
                           "Jump of format index found. format%d is missing.", i);
            return SK_ECONFIG;
        }
        if (!slashed(f)) {
            sk_parser_diag(d, SK_DIAG_ERROR, sec,
                           "format should be Regexp, need //, in format%d: '%s'", i + 1, f);
            return SK_ECONFIG;
        }
        rc = sk_buf_append(out, f + 1, strlen(f) - 2);
    }
    return rc == SK_ETOOBIG ? SK_ENOMEM : rc;
}

static int compile_firstline(struct multiline_ctx *ctx, const char *fl,
                             const struct sk_conf_section *sec, struct sk_diag *d)
{
    char err[512];
    char *body;
    int rc;

    if (!slashed(fl)) {
        sk_parser_diag(d, SK_DIAG_ERROR, sec,
                       "format should be Regexp, need //, in format_firstline: '%s'", fl);
        return SK_ECONFIG;
    }
    body = sk_strndup(fl + 1, strlen(fl) - 2);
    if (body == NULL) {
        return SK_ENOMEM;
    }
    rc = sk_ruby_regex_compile(&ctx->firstline, body, 0, err, sizeof(err), NULL);
    if (rc == SK_ECONFIG) {
        sk_parser_diag(d, SK_DIAG_ERROR, sec, "Invalid regexp in format_firstline: %s", err);
    }
    sk_free(body);
    ctx->has_firstline = rc == 0;
    return rc;
}

static int multiline_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct multiline_conf *conf = ins->conf;
    struct multiline_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    struct sk_buf joined;
    int rc;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    sk_buf_init(&joined, (size_t)1 << 20);
    rc = check_range(ins->section, d);
    if (rc == 0) {
        rc = join_formats(conf, ins->section, d, &joined);
    }
    if (rc == 0) {
        rc = sk_regexp_parser_init(&ctx->rp, &conf->common, &multiline_defaults,
                                   joined.data != NULL ? joined.data : "", SK_RUBY_RE_DOTALL,
                                   "format", ins->section, d);
    }
    if (rc == 0 && ctx->rp.re.nnames == 0) {
        sk_parser_diag(d, SK_DIAG_ERROR, ins->section, "Invalid regexp '%s': No named captures",
                       joined.data != NULL ? joined.data : "");
        rc = SK_ECONFIG;
    }
    if (rc == 0 && conf->format_firstline != NULL) {
        rc = compile_firstline(ctx, conf->format_firstline, ins->section, d);
    }
    sk_buf_cleanup(&joined);
    return rc;
}

static void multiline_destroy(struct sk_instance *ins)
{
    struct multiline_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_regexp_parser_cleanup(&ctx->rp);
        sk_ruby_regex_cleanup(&ctx->firstline);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

static int multiline_parse(struct sk_instance *ins, const char *block, size_t len,
                           struct sk_evbuf *out)
{
    struct multiline_ctx *ctx = ins->ctx;

    return sk_regexp_parser_parse(&ctx->rp, block, len, out);
}

bool sk_parser_is_multiline(const struct sk_instance *parser)
{
    return parser != NULL && parser->plugin == &sk_plugin_parser_multiline;
}

bool sk_parser_multiline_has_firstline(const struct sk_instance *parser)
{
    const struct multiline_ctx *ctx = sk_parser_is_multiline(parser) ? parser->ctx : NULL;

    return ctx != NULL && ctx->has_firstline;
}

bool sk_parser_multiline_firstline(struct sk_instance *parser, const char *line, size_t len)
{
    struct multiline_ctx *ctx = sk_parser_is_multiline(parser) ? parser->ctx : NULL;

    return ctx != NULL && ctx->has_firstline &&
           sk_ruby_regex_search(&ctx->firstline, line, len, 0);
}

const struct sk_plugin sk_plugin_parser_multiline = {
    .name = "multiline",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = multiline_params,
    .conf_size = sizeof(struct multiline_conf),
    .desc = "events of several lines (format_firstline, format1..20), as Fluentd's multiline",
    .init = multiline_init,
    .parse = multiline_parse,
    .destroy = multiline_destroy,
};
