/*
 * parser_none: Fluentd's `@type none` (parser_none.rb). The whole line is
 * one field, `message_key` ("message"); the time is now. Like Fluentd it
 * neither looks for a time field nor applies `types` or null rules (they
 * are still checked at init, where Fluentd checks them too). With
 * estimate_current_event false Fluentd yields no time, and in_tail then
 * drops the line as unmatched: so does this parser (SK_EPARSE).
 */
#include "parser_none/none_int.h"

#include <string.h>

#include "plugin/plugin.h"
#include "util/alloc.h"

struct none_ctx {
    struct sk_parser_core core; /* validation only */
    const char *key;            /* borrowed from conf */
    size_t klen;
};

static const struct sk_param_def none_params[] = {
    {.name = "message_key", .type = SK_PARAM_STRING, .def = "message",
     .offset = offsetof(struct none_conf, message_key), .desc = "Field that receives the line."},
    SK_PARAM_END,
};

static const struct sk_parser_defaults none_defaults = {
    .time_key = NULL,
    .time_format = NULL,
    .time_type = SK_TIME_TYPE_STRING,
};

static int none_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct none_conf *conf = ins->conf;
    struct none_ctx *ctx = sk_calloc(1, sizeof(*ctx));

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    ctx->key = conf->message_key != NULL ? conf->message_key : "message";
    ctx->klen = strlen(ctx->key);
    return sk_parser_core_init(&ctx->core, &conf->common, &none_defaults, ins->section, d);
}

static void none_destroy(struct sk_instance *ins)
{
    struct none_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_parser_core_cleanup(&ctx->core);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

static int none_parse(struct sk_instance *ins, const char *line, size_t len,
                      struct sk_evbuf *out)
{
    struct none_ctx *ctx = ins->ctx;
    size_t mark = out->buf.len;
    int rc;

    if (!ctx->core.estimate_current_event) {
        return SK_EPARSE;
    }
    rc = sk_evbuf_begin(out, sk_time_now());
    if (rc == 0) {
        rc = sk_buf_putc(&out->buf, (char)0x81); /* fixmap of one */
    }
    if (rc == 0) {
        rc = sk_pack_kv_str(&out->pk, ctx->key, ctx->klen, line, len);
    }
    if (rc < 0) {
        sk_evbuf_rollback(out, mark);
        return rc;
    }
    sk_evbuf_commit(out);
    return 0;
}

const struct sk_plugin sk_plugin_parser_none = {
    .name = "none",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = none_params,
    .conf_size = sizeof(struct none_conf),
    .desc = "the whole line as one field, time now",
    .init = none_init,
    .parse = none_parse,
    .destroy = none_destroy,
};
