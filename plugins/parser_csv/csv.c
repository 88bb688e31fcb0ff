/*
 * parser_csv: Fluentd's `@type csv` (parser_csv.rb). `keys` names the
 * columns; the line is read by Ruby's CSV.parse_line (parser_engine
 * normal, the default) or by Fluentd's fast reader (parser_engine fast;
 * v1.x also accepts the older name parser_type). With normal, key i gets
 * value i or nil, extra values are dropped, and a malformed line is
 * refused; with fast, every column is kept and extra ones go under a nil
 * key, as Fluentd's Hash gets them. No time_key by default: the event time
 * is now. The readers are in csv_scan.c.
 */
#include "parser_csv/csv_int.h"

#include <string.h>

#include "parser/parser_record.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

#define CSV_MAX_VALUES (1u << 22)
#define CSV_MAX_SCRATCH ((size_t)1 << 30)

enum csv_engine {
    CSV_NORMAL,
    CSV_FAST,
};

struct csv_conf {
    struct sk_parser_common common;
    struct sk_strv keys;
    char *delimiter;
    int parser_engine; /* enum csv_engine */
};

struct csv_ctx {
    struct sk_parser_core core;
    const char *sep; /* borrowed from conf */
    size_t slen;
    struct csv_row row;
    struct sk_parser_field *fields; /* owned */
    size_t cap;
};

static const char *const csv_engines[] = {"normal", "fast", NULL};

static const struct sk_param_def csv_params[] = {
    {.name = "keys", .type = SK_PARAM_ARRAY, .flags = SK_PARAM_REQUIRED,
     .offset = offsetof(struct csv_conf, keys), .desc = "Field names, in column order."},
    {.name = "delimiter", .type = SK_PARAM_STRING, .def = ",",
     .offset = offsetof(struct csv_conf, delimiter), .desc = "Column separator."},
    {.name = "parser_engine", .alias = "parser_type", .type = SK_PARAM_ENUM, .def = "normal",
     .choices = csv_engines, .offset = offsetof(struct csv_conf, parser_engine),
     .desc = "normal: Ruby's CSV rules; fast: Fluentd's split-based reader."},
    SK_PARAM_END,
};

static const struct sk_parser_defaults csv_defaults = {
    .time_key = NULL,
    .time_format = NULL,
    .time_type = SK_TIME_TYPE_STRING,
};

static int csv_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct csv_conf *conf = ins->conf;
    struct csv_ctx *ctx = sk_calloc(1, sizeof(*ctx));

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    ctx->sep = conf->delimiter != NULL ? conf->delimiter : ",";
    ctx->slen = strlen(ctx->sep);
    csv_row_init(&ctx->row, CSV_MAX_VALUES, CSV_MAX_SCRATCH);
    if (ctx->slen == 0) {
        sk_parser_diag(d, SK_DIAG_WARN, ins->section,
                       "delimiter is empty: Ruby's CSV refuses every line");
    }
    return sk_parser_core_init(&ctx->core, &conf->common, &csv_defaults, ins->section, d);
}

static void csv_destroy(struct sk_instance *ins)
{
    struct csv_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_parser_core_cleanup(&ctx->core);
        csv_row_cleanup(&ctx->row);
        sk_free(ctx->fields);
        sk_free(ctx);
        ins->ctx = NULL;
    }
}

static int reserve_fields(struct csv_ctx *ctx, size_t n)
{
    struct sk_parser_field *f;

    if (n <= ctx->cap) {
        return 0;
    }
    f = sk_realloc(ctx->fields, n * sizeof(*f));
    if (f == NULL) {
        return SK_ENOMEM;
    }
    ctx->fields = f;
    ctx->cap = n;
    return 0;
}

static void set_field(struct csv_ctx *ctx, const struct sk_strv *keys, size_t i,
                      const char *line, const struct csv_value *v)
{
    struct sk_parser_field *f = &ctx->fields[i];

    f->key = i < keys->n ? keys->v[i] : NULL;
    f->klen = i < keys->n ? strlen(keys->v[i]) : 0;
    f->val = v != NULL ? csv_value_ptr(&ctx->row, line, v) : NULL;
    f->vlen = v != NULL ? v->len : 0;
}

static int csv_parse(struct sk_instance *ins, const char *line, size_t len, struct sk_evbuf *out)
{
    struct csv_ctx *ctx = ins->ctx;
    const struct csv_conf *conf = ins->conf;
    bool fast = conf->parser_engine == CSV_FAST;
    size_t n;
    int rc;

    rc = fast ? csv_read_fast(&ctx->row, line, len, ctx->sep, ctx->slen)
              : csv_read_normal(&ctx->row, line, len, ctx->sep, ctx->slen);
    n = fast ? ctx->row.n : conf->keys.n;
    if (rc == 0) {
        rc = reserve_fields(ctx, n);
    }
    if (rc < 0) {
        return rc == SK_ETOOBIG ? SK_EPARSE : rc;
    }
    for (size_t i = 0; i < n; i++) {
        set_field(ctx, &conf->keys, i, line, i < ctx->row.n ? &ctx->row.v[i] : NULL);
    }
    return sk_parser_emit_record(&ctx->core, ctx->fields, n, NULL, out);
}

const struct sk_plugin sk_plugin_parser_csv = {
    .name = "csv",
    .kind = SK_PLUGIN_PARSER,
    .api = SK_PLUGIN_API,
    .params = csv_params,
    .conf_size = sizeof(struct csv_conf),
    .desc = "comma-separated values named by `keys` (Ruby's CSV rules), as Fluentd's csv parser",
    .init = csv_init,
    .parse = csv_parse,
    .destroy = csv_destroy,
};
