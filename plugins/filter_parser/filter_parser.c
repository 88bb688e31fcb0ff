/*
 * filter parser: parses one field of each record with a parser plugin and
 * replaces the record with the result, as Fluentd's parser filter does.
 *
 *   <filter docker.**>
 *     @type parser
 *     key_name log
 *     reserve_data true
 *     <parse>
 *       @type json
 *     </parse>
 *   </filter>
 *
 * The v0.12 form (`format json` and time_format ... in the filter itself)
 * reaches the same parser through sk_parser_create. Records that cannot be
 * parsed follow ParserFilter#filter_with_time:
 *
 *   key_name missing or nil   error event "<key> does not exist" (when
 *                             emit_invalid_record_to_error); the record is
 *                             kept with reserve_data, else dropped
 *   no match / invalid JSON   error event "pattern not matched with data
 *                             '...'", then the same
 *   value not a string        error event "parse failed ...", dropped
 *   key digs into a scalar    error event (TypeError), dropped
 */
#include "filter_parser/fp_int.h"

#include <stdio.h>
#include <string.h>

#include "filter_common/fc_errors.h"
#include "filter_common/fc_ruby.h"
#include "util/alloc.h"

#define FP_PARSED_MAX (64u << 20)
#define FP_QUOTE_MAX 256 /* bytes of a value quoted in an error reason */

struct fp_ctx {
    struct sk_instance *parser; /* engine-owned */
    struct fc_accessor key;
    struct sk_evbuf parsed;     /* the parser's event for the current record */
    msgpack_unpacked up;        /* that event, read back */
    struct fp_build build;
    struct fc_errors errors;    /* events for the error stream, per batch */
};

static const struct sk_param_def fp_params[] = {
    {.name = "key_name", .type = SK_PARAM_STRING, .flags = SK_PARAM_REQUIRED,
     .offset = offsetof(struct fp_conf, key_name),
     .desc = "Field to parse (a record accessor such as $.a.b works too)."},
    {.name = "reserve_data", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct fp_conf, reserve_data),
     .desc = "Keep the original fields beside the parsed ones."},
    {.name = "reserve_time", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct fp_conf, reserve_time),
     .desc = "Keep the original event time instead of the parsed one."},
    {.name = "remove_key_name_field", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct fp_conf, remove_key_name_field),
     .desc = "Drop key_name from the record when parsing succeeded."},
    {.name = "inject_key_prefix", .type = SK_PARAM_STRING,
     .offset = offsetof(struct fp_conf, inject_key_prefix),
     .desc = "Prefix for the parsed keys."},
    {.name = "replace_invalid_sequence", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct fp_conf, replace_invalid_sequence), .flags = SK_PARAM_IGNORED,
     .desc = "Accepted: skiff's parsers read bytes, so invalid UTF-8 never fails a parse."},
    {.name = "hash_value_field", .type = SK_PARAM_STRING,
     .offset = offsetof(struct fp_conf, hash_value_field),
     .desc = "Put the parsed values in a map under this key."},
    {.name = "emit_invalid_record_to_error", .type = SK_PARAM_BOOL, .def = "true",
     .offset = offsetof(struct fp_conf, emit_invalid_record_to_error),
     .desc = "Send records that cannot be parsed to the error stream (@ERROR)."},
    SK_PARAM_END,
};

static int fp_init(struct sk_instance *ins, struct sk_diag *d)
{
    const struct fp_conf *conf = ins->conf;
    struct fp_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    struct sk_conf_param *p = sk_conf_find(ins->section, "key_name");
    char err[256] = "";
    char where[256];
    int rc;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    sk_evbuf_init(&ctx->parsed, FP_PARSED_MAX);
    msgpack_unpacked_init(&ctx->up);
    fc_errors_init(&ctx->errors);
    ctx->build.conf = conf;
    ctx->build.key = &ctx->key;
    rc = fc_accessor_parse(&ctx->key, conf->key_name, err, sizeof(err));
    if (rc == SK_ECONFIG) {
        sk_diag_add(d, SK_DIAG_ERROR, p ? p->file : NULL, p ? p->line : 0,
                    sk_instance_where(ins, where, sizeof(where)), "key_name: %s", err);
    }
    if (rc < 0) {
        return rc;
    }
    ctx->parser = sk_parser_create(ins, NULL, d);
    return ctx->parser == NULL ? SK_ECONFIG : 0;
}

static void fp_destroy(struct sk_instance *ins)
{
    struct fp_ctx *ctx = ins->ctx;

    if (ctx == NULL) {
        return;
    }
    if (ctx->parser != NULL) {
        sk_parser_destroy(ctx->parser);
    }
    fc_accessor_cleanup(&ctx->key);
    sk_evbuf_cleanup(&ctx->parsed);
    msgpack_unpacked_destroy(&ctx->up);
    sk_free(ctx->build.entries);
    fc_errors_cleanup(&ctx->errors);
    sk_free(ctx);
    ins->ctx = NULL;
}

/* What happened to one record. */
enum fp_outcome {
    FP_PARSED,  /* ctx->up holds the parser's [time, values] */
    FP_MISSING, /* "does not exist": reserve_data may keep it */
    FP_NOMATCH, /* "pattern not matched": reserve_data may keep it */
    FP_FAILED,  /* Fluentd raises: dropped, error event when enabled */
    FP_RAISED,  /* raised outside the rescue: always an error event */
};

static enum fp_outcome parse_one(struct sk_instance *ins, const msgpack_object *record,
                                 char *why, size_t whysize, int *err)
{
    const struct fp_conf *conf = ins->conf;
    struct fp_ctx *ctx = ins->ctx;
    const msgpack_object *v = NULL;
    const char *s;
    size_t len = 0;
    size_t off = 0;
    int rc = fc_accessor_get(&ctx->key, record, &v);

    *err = 0;
    if (rc < 0) {
        snprintf(why, whysize, "TypeError: %s digs into a value that is not a hash or an array",
                 conf->key_name);
        return FP_RAISED;
    }
    if (rc == 0 || v->type == MSGPACK_OBJECT_NIL) {
        snprintf(why, whysize, "%s does not exist", conf->key_name);
        return FP_MISSING;
    }
    s = fc_ruby_str(v, &len);
    if (s == NULL) {
        snprintf(why, whysize, "parse failed: the value of %s is not a string", conf->key_name);
        return FP_FAILED;
    }
    sk_evbuf_reset(&ctx->parsed);
    rc = sk_parser_parse(ctx->parser, s, len, &ctx->parsed);
    if (rc == SK_EPARSE) {
        snprintf(why, whysize, "pattern not matched with data '%.*s'",
                 (int)(len > FP_QUOTE_MAX ? FP_QUOTE_MAX : len), s);
        return FP_NOMATCH;
    }
    if (rc == 0 && msgpack_unpack_next(&ctx->up, ctx->parsed.buf.data, ctx->parsed.buf.len,
                                       &off) != MSGPACK_UNPACK_SUCCESS) {
        rc = SK_EPARSE;
    }
    if (rc < 0) {
        *err = rc == SK_ENOMEM ? rc : 0;
        snprintf(why, whysize, "parse failed %s", sk_strerror(rc));
        return FP_FAILED;
    }
    return FP_PARSED;
}

/* Handles one event; 0 or SK_ENOMEM / SK_ETOOBIG. */
static int filter_one(struct sk_instance *ins, const char *tag, struct sk_time t,
                      const msgpack_object *record, const struct sk_events *raw,
                      struct sk_evbuf *out)
{
    const struct fp_conf *conf = ins->conf;
    struct fp_ctx *ctx = ins->ctx;
    struct fp_build *b = &ctx->build;
    char why[FP_QUOTE_MAX + 128];
    int err;
    enum fp_outcome r = parse_one(ins, record, why, sizeof(why), &err);
    struct sk_time pt;

    if (err < 0) {
        return err;
    }
    if (r == FP_RAISED || (r != FP_PARSED && conf->emit_invalid_record_to_error)) {
        err = fc_errors_add(&ctx->errors, raw->data, raw->len, why);
        if (err < 0) {
            return err;
        }
    }
    if (r == FP_FAILED || r == FP_RAISED || (r != FP_PARSED && !conf->reserve_data)) {
        return 0;
    }
    b->record = record;
    b->values = NULL;
    b->remove_key = false;
    if (r == FP_PARSED) {
        const msgpack_object *ev = &ctx->up.data;

        b->values = &ev->via.array.ptr[1];
        b->remove_key = conf->remove_key_name_field;
        if (!conf->reserve_time && sk_time_from_object(&ev->via.array.ptr[0], &pt) == 0) {
            t = pt;
        }
    }
    return fp_emit(b, t, out);
}

static int fp_filter(struct sk_instance *ins, const char *tag, const struct sk_events *in,
                     struct sk_evbuf *out)
{
    struct fp_ctx *ctx = ins->ctx;
    struct sk_event_iter it;
    const msgpack_object *record;
    struct sk_time t;
    int rc;

    fc_errors_clear(&ctx->errors);
    sk_event_iter_init(&it, in->data, in->len);
    for (;;) {
        size_t start = it.offset;
        struct sk_events raw;

        rc = sk_event_iter_next(&it, &t, &record);
        if (rc != 1) {
            break;
        }
        raw = (struct sk_events){tag, in->data + start, it.offset - start, 1};
        rc = filter_one(ins, tag, t, record, &raw, out);
        if (rc < 0) {
            break;
        }
    }
    sk_event_iter_cleanup(&it);
    if (rc >= 0) {
        rc = fc_errors_flush(&ctx->errors, ins, tag, out);
    }
    return rc < 0 ? rc : 0;
}

const struct sk_plugin sk_plugin_filter_parser = {
    .name = "parser",
    .kind = SK_PLUGIN_FILTER,
    .api = SK_PLUGIN_API,
    .params = fp_params,
    .conf_size = sizeof(struct fp_conf),
    .desc = "Parse one field of each record (<parse> or v0.12 format) into the record.",
    .init = fp_init,
    .destroy = fp_destroy,
    .filter = fp_filter,
};
