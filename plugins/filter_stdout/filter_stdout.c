/*
 * filter stdout: prints every event as Fluentd's stdout filter does and
 * passes the events on unchanged.
 *
 *   <filter **>
 *     @type stdout
 *   </filter>
 *
 *   2018-07-21 10:00:00.000000000 +0000 nginx.access: {"remote":"..."}
 *
 * Fluentd writes these lines to its own log, which is standard output
 * when it runs in the foreground; skiff writes them to standard output,
 * beside out_stdout's, and keeps its log for its own messages.
 */
#include "filter_stdout/fs_int.h"

#include <stdio.h>
#include <string.h>

#include "log/log.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

#define FS_LINE_MAX (64u << 20)

static const char *const output_types[] = {"json", "hash", NULL};

/* Formatter types; only the first four are formatted here. */
static const char *const format_types[] = {"stdout", "json", "hash", "single_value", NULL};

struct fs_conf {
    char *format;    /* v0.12: the formatter type */
    int output_type; /* v0.12 spelling in the filter itself */
};

/* <format> */
struct fs_format_conf {
    int type;
    int output_type;
    char *message_key;
    bool add_newline;
};

struct fs_ctx {
    struct fs_format fmt;
    struct fs_format_conf fconf; /* owned values of the <format> table */
    struct sk_buf line;
    struct sk_log_limit warn;
};

static const struct sk_param_def fs_params[] = {
    {.name = "format", .type = SK_PARAM_STRING, .offset = offsetof(struct fs_conf, format),
     .desc = "v0.12: formatter type (stdout, json, hash, single_value); use <format>."},
    {.name = "output_type", .type = SK_PARAM_ENUM, .def = "json", .choices = output_types,
     .offset = offsetof(struct fs_conf, output_type),
     .desc = "Record after the time and tag: json, or hash (Ruby inspect)."},
    SK_PARAM_END,
};

static const struct sk_param_def fs_format_params[] = {
    {.name = "@type", .type = SK_PARAM_ENUM, .def = "stdout", .choices = format_types,
     .offset = offsetof(struct fs_format_conf, type),
     .desc = "Formatter: stdout, json, hash or single_value."},
    {.name = "output_type", .type = SK_PARAM_ENUM, .def = "json", .choices = output_types,
     .offset = offsetof(struct fs_format_conf, output_type),
     .desc = "stdout formatter: the record as json or hash."},
    {.name = "message_key", .type = SK_PARAM_STRING, .def = "message",
     .offset = offsetof(struct fs_format_conf, message_key),
     .desc = "single_value formatter: the field to print."},
    {.name = "add_newline", .type = SK_PARAM_BOOL, .def = "true",
     .offset = offsetof(struct fs_format_conf, add_newline),
     .desc = "single_value formatter: end each value with a newline."},
    SK_PARAM_END,
};

static struct sk_conf_section *find_format(struct sk_conf_section *sec)
{
    for (size_t i = 0; i < sec->nchildren; i++) {
        if (strcmp(sec->children[i]->name, "format") == 0) {
            return sec->children[i];
        }
    }
    return NULL;
}

/* v0.12 `format X` in the filter: X must be one of the types above. */
static int v012_format(struct sk_instance *ins, struct fs_ctx *ctx, struct sk_diag *d)
{
    const struct fs_conf *conf = ins->conf;
    struct sk_conf_param *p = sk_conf_find(ins->section, "format");
    char where[256];

    for (int i = 0; format_types[i] != NULL; i++) {
        if (strcmp(conf->format, format_types[i]) == 0) {
            ctx->fmt.type = (enum fs_type)i;
            return 0;
        }
    }
    sk_diag_add(d, SK_DIAG_ERROR, p ? p->file : NULL, p ? p->line : 0,
                sk_instance_where(ins, where, sizeof(where)),
                "format '%s' is not supported by filter stdout (stdout, json, hash, single_value)",
                conf->format);
    return SK_ECONFIG;
}

static int fs_init(struct sk_instance *ins, struct sk_diag *d)
{
    const struct fs_conf *conf = ins->conf;
    struct sk_conf_section *fsec = find_format(ins->section);
    struct fs_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    int rc = 0;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    sk_buf_init(&ctx->line, FS_LINE_MAX);
    ctx->warn = (struct sk_log_limit)SK_LOG_LIMIT_INIT(60000, 5);
    ctx->fmt.output = (enum fs_output)conf->output_type;
    ctx->fmt.message_key = "message";
    ctx->fmt.add_newline = true;
    if (fsec != NULL) {
        fsec->used = true;
        rc = sk_param_apply(fs_format_params, fsec, &ctx->fconf, d);
        ctx->fmt.type = (enum fs_type)ctx->fconf.type;
        ctx->fmt.message_key = ctx->fconf.message_key;
        ctx->fmt.add_newline = ctx->fconf.add_newline;
        if (sk_conf_find(fsec, "output_type") != NULL) {
            ctx->fmt.output = (enum fs_output)ctx->fconf.output_type;
        }
    } else if (conf->format != NULL) {
        rc = v012_format(ins, ctx, d);
    }
    return rc;
}

static void fs_destroy(struct sk_instance *ins)
{
    struct fs_ctx *ctx = ins->ctx;

    if (ctx == NULL) {
        return;
    }
    sk_param_release(fs_format_params, &ctx->fconf);
    sk_buf_cleanup(&ctx->line);
    sk_free(ctx);
    ins->ctx = NULL;
}

/* Prints one event; a record that cannot be printed is only logged. */
static void print_event(struct sk_instance *ins, const char *tag, const char *ev, size_t len)
{
    struct fs_ctx *ctx = ins->ctx;
    struct sk_time t;
    size_t tlen;
    int rc;

    sk_buf_reset(&ctx->line);
    rc = sk_event_peek_time(ev, len, &t);
    /* The record follows the array header and the time. */
    tlen = rc == 0 ? sk_mp_skip(ev + 1, len - 1) : 0;
    if (rc == 0 && tlen > 0) {
        rc = fs_format_event(&ctx->line, &ctx->fmt, tag, t, ev + 1 + tlen, len - 1 - tlen);
    }
    if (rc == 0 && fwrite(ctx->line.data, 1, ctx->line.len, stdout) != ctx->line.len) {
        rc = SK_EIO;
    }
    if (rc < 0) {
        sk_log_limited(&ctx->warn, SK_LOG_WARN, "%s: cannot print an event of tag \"%s\": %s",
                       ins->id, tag, sk_strerror(rc));
    }
}

static int fs_filter(struct sk_instance *ins, const char *tag, const struct sk_events *in,
                     struct sk_evbuf *out)
{
    size_t off = 0;
    int rc;

    while (off < in->len) {
        size_t len = sk_mp_skip(in->data + off, in->len - off);

        if (len == 0) {
            break;
        }
        print_event(ins, tag, in->data + off, len);
        off += len;
    }
    fflush(stdout);
    rc = sk_buf_append(&out->buf, in->data, in->len);
    if (rc < 0) {
        return rc;
    }
    out->count += in->count;
    return 0;
}

const struct sk_plugin sk_plugin_filter_stdout = {
    .name = "stdout",
    .kind = SK_PLUGIN_FILTER,
    .api = SK_PLUGIN_API,
    .params = fs_params,
    .conf_size = sizeof(struct fs_conf),
    .desc = "Print events as Fluentd's stdout filter does and pass them on unchanged.",
    .init = fs_init,
    .destroy = fs_destroy,
    .filter = fs_filter,
};
