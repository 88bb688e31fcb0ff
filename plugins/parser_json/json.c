/*
 * parser_json: Fluentd's `@type json` (parser_json.rb). The line must be
 * one JSON object; it becomes the record. The time comes from time_key
 * ("time"), read as float seconds unless time_format is set (then as text)
 * or time_type says otherwise, and is removed unless keep_time_key. A JSON
 * array (Fluentd: one event per object) or scalar is refused: a parser
 * here yields exactly one event per line.
 */
#include "parser_json/json_int.h"

#include <string.h>

#include "json/json.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

/* JSON text becomes at most this many times its length in msgpack
 * ("1" -> 1 byte, "1.5" -> 9 bytes). */
#define SCRATCH_FACTOR 4
#define SCRATCH_SLACK 64

struct json_ctx {
    struct sk_parser_core core;
    struct sk_buf scratch; /* msgpack of the current line */
};

static const char *const json_parsers[] = {"oj", "yajl", "json", NULL};

static const struct sk_param_def json_params[] = {
    {.name = "json_parser", .type = SK_PARAM_ENUM, .def = "oj", .choices = json_parsers,
     .offset = offsetof(struct json_conf, json_parser), .flags = SK_PARAM_IGNORED,
     .desc = "Fluentd's JSON library choice; skiff has one reader."},
    {.name = "stream_buffer_size", .type = SK_PARAM_INT, .def = "8192",
     .offset = offsetof(struct json_conf, stream_buffer_size), .flags = SK_PARAM_IGNORED,
     .desc = "Yajl streaming buffer; unused."},
    SK_PARAM_END,
};

static const struct sk_parser_defaults json_defaults = {
    .time_key = "time",
    .time_format = NULL,
    .time_type = SK_TIME_TYPE_FLOAT,
};

static int json_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct json_conf *conf = ins->conf;
    struct json_ctx *ctx = sk_calloc(1, sizeof(*ctx));

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    sk_buf_init(&ctx->scratch, SCRATCH_SLACK);
    return sk_parser_core_init(&ctx->core, &conf->common, &json_defaults, ins->section, d);
}

static void json_destroy(struct sk_instance *ins)
{
    struct json_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_parser_core_cleanup(&ctx->core);
        sk_buf_cleanup(&ctx->scratch);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

static int json_parse(struct sk_instance *ins, const char *line, size_t len,
                      struct sk_evbuf *out)
{
    struct json_ctx *ctx = ins->ctx;
    msgpack_packer pk;
    int rc;

    sk_buf_reset(&ctx->scratch);
    ctx->scratch.max = len > (SIZE_MAX - SCRATCH_SLACK) / SCRATCH_FACTOR
                           ? SIZE_MAX
                           : len * SCRATCH_FACTOR + SCRATCH_SLACK;
    msgpack_packer_init(&pk, &ctx->scratch, sk_buf_msgpack_write);
    /* One level less than msgpack-c unpacks: the event wraps the record. */
    rc = sk_json_to_msgpack_depth(line, len, &pk, SK_JSON_UNPACK_MAX_DEPTH - 1);
    if (rc == SK_ETOOBIG) {
        rc = SK_EPARSE;
    }
    if (rc < 0) {
        return rc;
    }
    return json_emit_record(&ctx->core, ctx->scratch.data, ctx->scratch.len, out);
}

const struct sk_plugin sk_plugin_parser_json = {
    .name = "json",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = json_params,
    .conf_size = sizeof(struct json_conf),
    .desc = "one JSON object per line, time from the `time` field",
    .init = json_init,
    .parse = json_parse,
    .destroy = json_destroy,
};
