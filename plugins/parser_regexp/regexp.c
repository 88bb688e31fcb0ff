/*
 * parser_regexp: Fluentd's `@type regexp` (parser_regexp.rb). The line is
 * matched with `expression`, a Ruby regexp written /body/flags (i and m
 * count; Ruby's m lets '.' match '\n') and run by PCRE2 with JIT (see
 * parser/ruby_regex.h for what keeps its answers Ruby's). The record is
 * the named groups that took part, in the order they are written; `time`
 * (time_key) becomes the event time. v0.12's `format /.../` arrives here
 * as `expression`.
 */
#include "parser_regexp/regexp_int.h"

#include "parser/parser_regexp.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

static const struct sk_param_def regexp_params[] = {
    {.name = "expression", .type = SK_PARAM_STRING, .flags = SK_PARAM_REQUIRED,
     .offset = offsetof(struct regexp_conf, expression),
     .desc = "Ruby regexp with named groups, /.../ with optional flags i and m."},
    {.name = "ignorecase", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct regexp_conf, ignorecase), .flags = SK_PARAM_DEPRECATED,
     .desc = "No effect, as in Fluentd: use /pattern/i."},
    {.name = "multiline", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct regexp_conf, multiline), .flags = SK_PARAM_DEPRECATED,
     .desc = "No effect, as in Fluentd: use /pattern/m."},
    SK_PARAM_END,
};

static const struct sk_parser_defaults regexp_defaults = {
    .time_key = "time",
    .time_format = NULL,
    .time_type = SK_TIME_TYPE_STRING,
};

static int regexp_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct regexp_conf *conf = ins->conf;
    struct sk_regexp_parser *rp = sk_calloc(1, sizeof(*rp));

    if (rp == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = rp;
    return sk_regexp_parser_init(rp, &conf->common, &regexp_defaults,
                                 conf->expression != NULL ? conf->expression : "",
                                 SK_RUBY_RE_SLASHES, "expression", ins->section, d);
}

static void regexp_destroy(struct sk_instance *ins)
{
    if (ins->ctx != NULL) {
        sk_regexp_parser_cleanup(ins->ctx);
        sk_free(ins->ctx);
        ins->ctx = NULL;
    }
}

static int regexp_parse(struct sk_instance *ins, const char *line, size_t len,
                        struct sk_evbuf *out)
{
    return sk_regexp_parser_parse(ins->ctx, line, len, out);
}

const struct sk_plugin sk_plugin_parser_regexp = {
    .name = "regexp",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = regexp_params,
    .conf_size = sizeof(struct regexp_conf),
    .desc = "named groups of a Ruby regexp (PCRE2 with JIT), as Fluentd's regexp parser",
    .init = regexp_init,
    .parse = regexp_parse,
    .destroy = regexp_destroy,
};
