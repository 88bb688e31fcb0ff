/*
 * parser_apache_error: Fluentd's `@type apache_error`
 * (parser_apache_error.rb), a regexp parser whose expression defaults to
 * Apache's error log layout (2.2 and 2.4: optional [pid ...] and
 * [client ...]). The time has no time_format, so Fluentd reads it with
 * Ruby's Time.parse; Apache writes it as "Oct 11 14:32:52 2000" or, in
 * 2.4, "Oct 11 14:32:52.123456 2000" (the weekday is outside the group),
 * which skiff's Time.parse-like guesser does not take: those two layouts
 * (and with a weekday) are tried after it, in the same zone.
 */
#include <stdbool.h>
#include <string.h>

#include "parser/parser_record.h"
#include "parser/parser_regexp.h"
#include "plugin/plugin.h"
#include "timefmt/timefmt.h"
#include "util/alloc.h"

#define APACHE_ERROR_REGEX                                                                      \
    "/^\\[[^ ]* (?<time>[^\\]]*)\\] \\[(?<level>[^\\]]*)\\](?: \\[pid (?<pid>[^\\]]*)\\])?"      \
    "( \\[client (?<client>[^\\]]*)\\])? (?<message>.*)$/"

static const char *const time_layouts[] = {
    "%b %d %H:%M:%S %Y",
    "%b %d %H:%M:%S.%N %Y",
    "%a %b %d %H:%M:%S.%N %Y",
};

#define NLAYOUTS (sizeof(time_layouts) / sizeof(time_layouts[0]))

struct apache_error_conf {
    struct sk_parser_common common;
    char *expression;
    bool ignorecase;
    bool multiline;
};

struct apache_error_ctx {
    struct sk_regexp_parser rp;
    struct sk_timefmt *layouts[NLAYOUTS]; /* owned; set only for the Time.parse case */
    bool guess;
};

static const struct sk_param_def apache_error_params[] = {
    {.name = "expression", .type = SK_PARAM_STRING, .def = APACHE_ERROR_REGEX,
     .offset = offsetof(struct apache_error_conf, expression),
     .desc = "Ruby regexp with named groups (Apache's error log layout by default)."},
    {.name = "ignorecase", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct apache_error_conf, ignorecase), .flags = SK_PARAM_DEPRECATED,
     .desc = "No effect, as in Fluentd: use /pattern/i."},
    {.name = "multiline", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct apache_error_conf, multiline), .flags = SK_PARAM_DEPRECATED,
     .desc = "No effect, as in Fluentd: use /pattern/m."},
    SK_PARAM_END,
};

static const struct sk_parser_defaults apache_error_defaults = {
    .time_key = "time",
    .time_format = NULL,
    .time_type = SK_TIME_TYPE_STRING,
};

static void apache_error_destroy(struct sk_instance *ins)
{
    struct apache_error_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_regexp_parser_cleanup(&ctx->rp);
        for (size_t i = 0; i < NLAYOUTS; i++) {
            sk_timefmt_destroy(ctx->layouts[i]);
        }
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

static int apache_error_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct apache_error_conf *conf = ins->conf;
    struct apache_error_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    int rc;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    rc = sk_regexp_parser_init(&ctx->rp, &conf->common, &apache_error_defaults,
                               conf->expression != NULL ? conf->expression : APACHE_ERROR_REGEX,
                               SK_RUBY_RE_SLASHES, "expression", ins->section, d);
    ctx->guess = rc == 0 && conf->common.time_format == NULL &&
                 ctx->rp.core.time_type == SK_TIME_TYPE_STRING;
    for (size_t i = 0; rc == 0 && ctx->guess && i < NLAYOUTS; i++) {
        rc = sk_parser_timefmt_create(&conf->common, time_layouts[i], ins->section, d,
                                      &ctx->layouts[i]);
    }
    return rc;
}

/* The time field's text by Time.parse-like guessing, then Apache's layouts. */
static int guess_time(struct apache_error_ctx *ctx, const char *s, size_t len, struct sk_time *t)
{
    int rc = sk_parser_time_text(&ctx->rp.core, s, len, t);

    for (size_t i = 0; rc == SK_EPARSE && i < NLAYOUTS; i++) {
        rc = sk_timefmt_parse_prefix(ctx->layouts[i], s, len, t, NULL);
    }
    return rc;
}

static int apache_error_parse(struct sk_instance *ins, const char *line, size_t len,
                              struct sk_evbuf *out)
{
    struct apache_error_ctx *ctx = ins->ctx;
    const struct sk_parser_core *pc = &ctx->rp.core;
    long n = sk_regexp_parser_match(&ctx->rp, line, len);
    struct sk_time t;
    int rc;

    if (n < 0) {
        return SK_EPARSE;
    }
    for (long i = n - 1; ctx->guess && pc->time_key != NULL && i >= 0; i--) {
        const struct sk_parser_field *f = &ctx->rp.fields[i];

        if (f->klen == pc->time_key_len && memcmp(f->key, pc->time_key, f->klen) == 0) {
            rc = guess_time(ctx, f->val, f->vlen, &t);
            if (rc < 0) {
                return rc == SK_ENOMEM ? rc : SK_EPARSE;
            }
            return sk_parser_emit_record(&ctx->rp.core, ctx->rp.fields, (size_t)n, &t, out);
        }
    }
    return sk_parser_emit_record(&ctx->rp.core, ctx->rp.fields, (size_t)n, NULL, out);
}

const struct sk_plugin sk_plugin_parser_apache_error = {
    .name = "apache_error",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = apache_error_params,
    .conf_size = sizeof(struct apache_error_conf),
    .desc = "Apache error log (2.2 and 2.4 layouts), as Fluentd's apache_error parser",
    .init = apache_error_init,
    .parse = apache_error_parse,
    .destroy = apache_error_destroy,
};
