/*
 * parser_syslog: Fluentd's `@type syslog` (parser_syslog.rb). RFC 3164
 * ("Feb 28 12:00:00 host ident[pid]: message"), RFC 5424 ("<16>1
 * 2013-02-28T12:00:00.003Z host app pid msgid [sd] message") or auto
 * (5424 when the line starts "<pri>version"), with or without the "<pri>"
 * prefix (with_priority), read by Fluentd's regexp or string engine
 * (parser_engine, also spelled parser_type). The readers are in
 * syslog_scan.c.
 */
#include "parser_syslog/syslog_int.h"

#include <string.h>

#include "parser/parser_record.h"
#include "plugin/plugin.h"
#include "timefmt/timefmt.h"
#include "util/alloc.h"

#define TIME_3164 "%b %d %H:%M:%S"
#define TIME_5424 "%Y-%m-%dT%H:%M:%S.%L%z"
#define TIME_5424_NOSUB "%Y-%m-%dT%H:%M:%S%z"

/* Fluentd's regexps, in Ruby syntax. */
#define RE_3164                                                                              \
    "(?<host>[^ ]*) (?<ident>[^ :\\[]*)(?:\\[(?<pid>[0-9]+)\\])?(?:[^\\:]*\\:)? *"           \
    "(?<message>.*)$"
#define RE_5424                                                                              \
    "/(?<host>[!-~]{1,255}) (?<ident>[!-~]{1,48}) (?<pid>[!-~]{1,128}) "                     \
    "(?<msgid>[!-~]{1,32}) (?<extradata>(?:\\-|(?:\\[.*?(?<!\\\\)\\])+))"                     \
    "(?: (?<message>.+))?\\z/m"
#define RE_PRI_5424 "^<(?<pri>\\d{1,3})>\\d\\d{0,2}\\s"
#define RE_DETECT_5424 "^\\<[0-9]{1,3}\\>[1-9]\\d{0,2}"

static const char *const formats[] = {"rfc3164", "rfc5424", "auto", NULL};
static const char *const engines[] = {"regexp", "string", NULL};

static const struct sk_param_def syslog_params[] = {
    {.name = "with_priority", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct syslog_conf, with_priority),
     .desc = "Lines start with a <pri> prefix."},
    {.name = "message_format", .type = SK_PARAM_ENUM, .def = "rfc3164", .choices = formats,
     .offset = offsetof(struct syslog_conf, message_format),
     .desc = "rfc3164, rfc5424, or auto (per line)."},
    {.name = "rfc5424_time_format", .type = SK_PARAM_STRING, .def = TIME_5424,
     .offset = offsetof(struct syslog_conf, rfc5424_time_format),
     .desc = "Time format of RFC 5424 lines."},
    {.name = "parser_engine", .alias = "parser_type", .type = SK_PARAM_ENUM, .def = "regexp",
     .choices = engines, .offset = offsetof(struct syslog_conf, parser_engine),
     .desc = "Fluentd's regexp or string reader."},
    {.name = "support_colonless_ident", .type = SK_PARAM_BOOL, .def = "true",
     .offset = offsetof(struct syslog_conf, support_colonless_ident),
     .desc = "string engine: a word before the first blank is the ident even without ':'."},
    SK_PARAM_END,
};

static const struct sk_parser_defaults syslog_defaults = {
    .time_key = "time",
    .time_format = TIME_3164,
    .time_type = SK_TIME_TYPE_STRING,
};

/* Blanks of a format once runs are squeezed, plus one. */
static int count_spaces(const char *fmt)
{
    int n = 1;

    for (size_t i = 0; fmt[i] != '\0'; i++) {
        n += fmt[i] == ' ' && (i == 0 || fmt[i - 1] != ' ');
    }
    return n;
}

static int setup_time(struct syslog_time *st, const struct syslog_conf *conf, const char *fmt,
                      bool rfc5424, const struct sk_conf_section *sec, struct sk_diag *d)
{
    int rc = sk_parser_timefmt_create(&conf->common, fmt, sec, d, &st->tf);

    st->spaces = count_spaces(fmt);
    if (rfc5424) {
        st->skip = strchr(fmt, ' ') == NULL;
        if (rc == 0) {
            rc = sk_parser_timefmt_create(&conf->common, TIME_5424_NOSUB, sec, d, &st->fallback);
        }
    } else {
        st->skip = strcmp(fmt, TIME_3164) == 0 || strcmp(fmt, TIME_3164 ".%N") == 0;
    }
    return rc;
}

static int compile(struct sk_ruby_regex *re, const char *text, unsigned flags)
{
    char err[256];

    return sk_ruby_regex_compile(re, text, flags, err, sizeof(err), NULL) == SK_ENOMEM
               ? SK_ENOMEM
               : 0;
}

static int syslog_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct syslog_conf *conf = ins->conf;
    struct syslog_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    const char *f3164 = conf->common.time_format != NULL ? conf->common.time_format : TIME_3164;
    const char *r5424 = conf->rfc5424_time_format != NULL ? conf->rfc5424_time_format : TIME_5424;
    const char *f5424 = r5424;
    int rc;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    ctx->conf = conf;
    sk_buf_init(&ctx->timebuf, 1 << 16);
    sk_buf_init(&ctx->edbuf, (size_t)1 << 30);
    if (conf->message_format == SYSLOG_RFC5424 && conf->common.time_format != NULL) {
        f5424 = conf->common.time_format;
    }
    rc = sk_parser_core_init(&ctx->core, &conf->common, &syslog_defaults, ins->section, d);
    /* Fluentd sets up only the time parsers of the format(s) in use. */
    if (rc == 0 && conf->message_format != SYSLOG_RFC5424) {
        rc = setup_time(&ctx->t3164, conf, f3164, false, ins->section, d);
    }
    if (rc == 0 && conf->message_format != SYSLOG_RFC3164) {
        rc = setup_time(&ctx->t5424, conf, f5424, true, ins->section, d);
    }
    if (rc == 0) {
        rc = compile(&ctx->re3164, RE_3164, 0);
    }
    if (rc == 0) {
        rc = compile(&ctx->re5424, RE_5424, SK_RUBY_RE_SLASHES);
    }
    if (rc == 0) {
        rc = compile(&ctx->pri5424, RE_PRI_5424, 0);
    }
    if (rc == 0) {
        rc = compile(&ctx->detect, RE_DETECT_5424, 0);
    }
    return rc;
}

static void time_cleanup(struct syslog_time *st)
{
    sk_timefmt_destroy(st->tf);
    sk_timefmt_destroy(st->fallback);
}

static void syslog_destroy(struct sk_instance *ins)
{
    struct syslog_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_parser_core_cleanup(&ctx->core);
        time_cleanup(&ctx->t3164);
        time_cleanup(&ctx->t5424);
        sk_ruby_regex_cleanup(&ctx->re3164);
        sk_ruby_regex_cleanup(&ctx->re5424);
        sk_ruby_regex_cleanup(&ctx->pri5424);
        sk_ruby_regex_cleanup(&ctx->detect);
        sk_buf_cleanup(&ctx->timebuf);
        sk_buf_cleanup(&ctx->edbuf);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

static int mp(int rc)
{
    return rc == 0 ? 0 : (rc < 0 ? rc : SK_ENOMEM);
}

static int emit(const struct syslog_record *r, struct sk_evbuf *out)
{
    size_t mark = out->buf.len;
    int rc = sk_evbuf_begin(out, r->t);

    if (rc == 0) {
        rc = mp(msgpack_pack_map(&out->pk, r->n));
    }
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        const struct syslog_field *f = &r->f[i];

        rc = sk_pack_str(&out->pk, f->key, strlen(f->key));
        if (rc == 0) {
            rc = f->kind == SL_STR   ? sk_pack_str(&out->pk, f->v, f->len)
                 : f->kind == SL_INT ? mp(msgpack_pack_int64(&out->pk, f->i))
                                     : mp(msgpack_pack_nil(&out->pk));
        }
    }
    if (rc < 0) {
        sk_evbuf_rollback(out, mark);
        return rc;
    }
    sk_evbuf_commit(out);
    return 0;
}

static int syslog_parse(struct sk_instance *ins, const char *line, size_t len,
                        struct sk_evbuf *out)
{
    struct syslog_ctx *ctx = ins->ctx;
    const struct syslog_conf *conf = ctx->conf;
    bool string = conf->parser_engine == SYSLOG_STRING;
    bool rfc5424 = conf->message_format == SYSLOG_RFC5424;
    struct syslog_record r;
    int rc;

    if (conf->message_format == SYSLOG_AUTO) {
        rfc5424 = sk_ruby_regex_search(&ctx->detect, line, len, 0);
    }
    if (rfc5424) {
        rc = string ? syslog_rfc5424_string(ctx, line, len, &r)
                    : syslog_rfc5424_regexp(ctx, line, len, &r);
    } else {
        rc = string ? syslog_rfc3164_string(ctx, line, len, &r)
                    : syslog_rfc3164_regexp(ctx, line, len, &r);
    }
    return rc == 0 ? emit(&r, out) : rc;
}

const struct sk_plugin sk_plugin_parser_syslog = {
    .name = "syslog",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = syslog_params,
    .conf_size = sizeof(struct syslog_conf),
    .desc = "syslog lines (RFC 3164, RFC 5424 or auto), as Fluentd's syslog parser",
    .init = syslog_init,
    .parse = syslog_parse,
    .destroy = syslog_destroy,
};
