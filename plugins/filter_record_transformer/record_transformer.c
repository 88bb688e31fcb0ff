/*
 * filter record_transformer: adds, rewrites and removes record fields, as
 * Fluentd's filter of the same name does (templates: rt_int.h).
 *
 *   <filter nginx.**>
 *     @type record_transformer
 *     remove_keys $.kubernetes.pod_id,referer
 *     <record>
 *       hostname ${hostname}
 *       service  ${tag_parts[1]}
 *       message  [${record["code"]}] ${record["path"]}
 *     </record>
 *   </filter>
 *
 * Where Fluentd would raise for a record (renew_time_key holding true,
 * enable_ruby chains through nil) the event goes to the error stream
 * (fc_errors, then sk_emit_error) and leaves the batch, as
 * router.emit_error_event does.
 */
#include "filter_record_transformer/rt_int.h"

#include <string.h>
#include <unistd.h>

#include "util/alloc.h"

#define RT_SCRATCH_MAX (64u << 20)
#define RT_TEXT_MAX (16u << 20)

static const struct sk_param_def rt_params[] = {
    {.name = "remove_keys", .type = SK_PARAM_ARRAY,
     .offset = offsetof(struct rt_conf, remove_keys),
     .desc = "Keys to delete (record accessors such as $.a.b), after the <record> fields."},
    {.name = "keep_keys", .type = SK_PARAM_ARRAY, .offset = offsetof(struct rt_conf, keep_keys),
     .desc = "With renew_record: keys of the incoming record to keep."},
    {.name = "renew_record", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct rt_conf, renew_record),
     .desc = "Start from an empty record instead of the incoming one."},
    {.name = "renew_time_key", .type = SK_PARAM_STRING,
     .offset = offsetof(struct rt_conf, renew_time_key),
     .desc = "Field whose value (unix time) becomes the event time."},
    {.name = "enable_ruby", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct rt_conf, enable_ruby),
     .desc = "Read ${...} as Ruby; only placeholder expressions are supported."},
    {.name = "auto_typecast", .type = SK_PARAM_BOOL, .def = "true",
     .offset = offsetof(struct rt_conf, auto_typecast),
     .desc = "A value that is one placeholder keeps the type of what it names."},
    SK_PARAM_END,
};

static void field_free(struct rt_field *f)
{
    sk_free(f->name);
    rt_str_free(&f->key);
    rt_node_free(&f->value);
}

/* One <record> parameter; a key given again replaces the earlier value
 * in its place, as Fluentd's map[k] = v does. */
static int add_field(struct rt_ctx *ctx, struct sk_conf_param *p, const struct rt_compile_opts *o,
                     struct sk_diag *d)
{
    struct rt_field f = {0};
    struct rt_field *grown;
    int rc;

    p->used = true;
    f.name = sk_strdup(p->key);
    rc = f.name == NULL ? SK_ENOMEM : rt_compile_key(&f.key, p->key, o, d);
    if (rc == 0) {
        rc = rt_compile_value(&f.value, p->value, o, d);
    }
    for (size_t i = 0; rc == 0 && i < ctx->nfields; i++) {
        if (strcmp(ctx->fields[i].name, f.name) == 0) {
            field_free(&ctx->fields[i]);
            ctx->fields[i] = f;
            return 0;
        }
    }
    grown = rc == 0 ? sk_realloc(ctx->fields, (ctx->nfields + 1) * sizeof(*grown)) : NULL;
    if (grown == NULL) {
        field_free(&f);
        return rc < 0 ? rc : SK_ENOMEM;
    }
    ctx->fields = grown;
    ctx->fields[ctx->nfields++] = f;
    return 0;
}

static int add_records(struct sk_instance *ins, struct sk_diag *d)
{
    const struct rt_conf *conf = ins->conf;
    struct sk_conf_section *sec = ins->section;
    char where[256];
    int result = 0;

    sk_instance_where(ins, where, sizeof(where));
    for (size_t i = 0; i < sec->nchildren; i++) {
        struct sk_conf_section *rec = sec->children[i];

        if (strcmp(rec->name, "record") != 0) {
            continue;
        }
        rec->used = true;
        for (size_t j = 0; j < rec->nparams; j++) {
            struct rt_compile_opts o = {conf->auto_typecast, conf->enable_ruby,
                                        rec->params[j].file, rec->params[j].line, where};
            int rc = add_field(ins->ctx, &rec->params[j], &o, d);

            if (rc == SK_ENOMEM) {
                return rc;
            }
            result = rc < 0 ? rc : result;
        }
    }
    return result;
}

static int add_removers(struct sk_instance *ins, struct sk_diag *d)
{
    const struct rt_conf *conf = ins->conf;
    struct rt_ctx *ctx = ins->ctx;
    struct sk_conf_param *p = sk_conf_find(ins->section, "remove_keys");
    char where[256];

    ctx->removers = sk_calloc(conf->remove_keys.n + 1, sizeof(*ctx->removers));
    if (ctx->removers == NULL) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; i < conf->remove_keys.n; i++) {
        char err[256] = "";
        int rc = fc_accessor_parse(&ctx->removers[i], conf->remove_keys.v[i], err, sizeof(err));

        ctx->nremovers = i + 1;
        if (rc == SK_ECONFIG) {
            sk_diag_add(d, SK_DIAG_ERROR, p ? p->file : NULL, p ? p->line : 0,
                        sk_instance_where(ins, where, sizeof(where)), "remove_keys: %s", err);
        }
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static int rt_init(struct sk_instance *ins, struct sk_diag *d)
{
    const struct rt_conf *conf = ins->conf;
    struct sk_conf_param *keep = sk_conf_find(ins->section, "keep_keys");
    struct rt_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    char where[256];
    int rc;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    sk_buf_init(&ctx->scratch, RT_SCRATCH_MAX);
    sk_buf_init(&ctx->text, RT_TEXT_MAX);
    sk_buf_init(&ctx->tmp, RT_SCRATCH_MAX);
    sk_buf_init(&ctx->keys, RT_TEXT_MAX);
    msgpack_packer_init(&ctx->spk, &ctx->scratch, sk_buf_msgpack_write);
    fc_errors_init(&ctx->errors);
    ctx->warn = (struct sk_log_limit)SK_LOG_LIMIT_INIT(60000, 5);
    if (gethostname(ctx->hostname, sizeof(ctx->hostname) - 1) != 0) {
        ctx->hostname[0] = '\0';
    }
    if (keep != NULL && !conf->renew_record) {
        sk_diag_add(d, SK_DIAG_ERROR, keep->file, keep->line,
                    sk_instance_where(ins, where, sizeof(where)),
                    "`renew_record` must be true to use `keep_keys`");
        return SK_ECONFIG;
    }
    rc = add_removers(ins, d);
    if (rc == 0) {
        rc = add_records(ins, d);
    }
    return rc;
}

static void rt_destroy(struct sk_instance *ins)
{
    struct rt_ctx *ctx = ins->ctx;

    if (ctx == NULL) {
        return;
    }
    for (size_t i = 0; i < ctx->nfields; i++) {
        field_free(&ctx->fields[i]);
    }
    for (size_t i = 0; i < ctx->nremovers; i++) {
        fc_accessor_cleanup(&ctx->removers[i]);
    }
    sk_free(ctx->fields);
    sk_free(ctx->removers);
    sk_free(ctx->entries);
    sk_buf_cleanup(&ctx->scratch);
    sk_buf_cleanup(&ctx->text);
    sk_buf_cleanup(&ctx->tmp);
    sk_buf_cleanup(&ctx->keys);
    fc_errors_cleanup(&ctx->errors);
    sk_free(ctx);
    ins->ctx = NULL;
}

static int rt_filter(struct sk_instance *ins, const char *tag, const struct sk_events *in,
                     struct sk_evbuf *out)
{
    struct rt_ctx *ctx = ins->ctx;
    struct rt_tag rtag;
    struct sk_event_iter it;
    const msgpack_object *record;
    struct sk_time t;
    int rc;

    rt_tag_split(&rtag, tag);
    fc_errors_clear(&ctx->errors);
    sk_event_iter_init(&it, in->data, in->len);
    for (;;) {
        size_t start = it.offset;
        const char *why = NULL;

        rc = sk_event_iter_next(&it, &t, &record);
        if (rc != 1) {
            break;
        }
        rc = rt_transform(ins, &rtag, t, record, out, &why);
        if (rc < 0) {
            break;
        }
        if (rc == 1) {
            rc = fc_errors_add(&ctx->errors, in->data + start, it.offset - start, why);
            if (rc < 0) {
                break;
            }
        }
    }
    sk_event_iter_cleanup(&it);
    if (rc >= 0) {
        rc = fc_errors_flush(&ctx->errors, ins, tag, out);
    }
    return rc < 0 ? rc : 0;
}

const struct sk_plugin sk_plugin_filter_record_transformer = {
    .name = "record_transformer",
    .kind = SK_PLUGIN_FILTER,
    .api = SK_PLUGIN_API,
    .params = rt_params,
    .conf_size = sizeof(struct rt_conf),
    .desc = "Add, rewrite and remove record fields with ${tag}, ${record[\"k\"]}, ... placeholders.",
    .init = rt_init,
    .destroy = rt_destroy,
    .filter = rt_filter,
};
