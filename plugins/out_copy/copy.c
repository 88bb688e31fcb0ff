/*
 * out_copy: hands every event to each <store>. Each store has its own
 * buffer, so one slow or dead store does not hold the others back; a full
 * store makes the input wait (the others may then see events twice).
 */
#include "plugin/plugin.h"

#include <string.h>

static const char *const copy_modes[] = {"no_copy", "shallow", "deep", "marshal", NULL};

struct copy_conf {
    int copy_mode;
    bool deep_copy;
};

struct copy_store {
    struct sk_instance *out; /* engine-owned */
    bool ignore_error;
};

struct copy_ctx {
    struct copy_store *stores; /* owned */
    size_t n;
};

static const struct sk_param_def copy_params[] = {
    {.name = "copy_mode", .type = SK_PARAM_ENUM, .def = "no_copy", .choices = copy_modes,
     .offset = offsetof(struct copy_conf, copy_mode), .flags = SK_PARAM_IGNORED,
     .desc = "Accepted for compatibility: events are never shared mutable state here."},
    {.name = "deep_copy", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct copy_conf, deep_copy), .flags = SK_PARAM_IGNORED,
     .desc = "Accepted for compatibility."},
    SK_PARAM_END,
};

static int copy_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct copy_ctx *ctx = sk_calloc(1, sizeof(*ctx));
    struct sk_conf_section *sec = ins->section;
    int rc = 0;

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = ctx;
    for (size_t i = 0; i < sec->nchildren; i++) {
        struct sk_conf_section *child = sec->children[i];
        struct copy_store *grown;
        struct sk_instance *out;

        if (strcmp(child->name, "store") != 0) {
            continue;
        }
        out = sk_output_create(ins, child, d);
        if (out == NULL) {
            rc = SK_ECONFIG;
            continue;
        }
        grown = sk_realloc(ctx->stores, (ctx->n + 1) * sizeof(*grown));
        if (grown == NULL) {
            return SK_ENOMEM;
        }
        ctx->stores = grown;
        grown[ctx->n].out = out;
        /* <store ignore_error>: this store's failure does not stop the others. */
        grown[ctx->n].ignore_error = child->arg != NULL && strstr(child->arg, "ignore_error");
        ctx->n++;
    }
    if (rc == 0 && ctx->n == 0) {
        char where[256];

        sk_diag_add(d, SK_DIAG_ERROR, sec->file, sec->line,
                    sk_instance_where(ins, where, sizeof(where)),
                    "@type copy needs at least one <store>");
        rc = SK_ECONFIG;
    }
    return rc;
}

static int copy_emit(struct sk_instance *ins, const char *tag, const struct sk_events *ev)
{
    struct copy_ctx *ctx = ins->ctx;
    int result = 0;

    for (size_t i = 0; i < ctx->n; i++) {
        int rc = sk_output_write(ctx->stores[i].out, tag, ev);

        if (rc < 0 && !ctx->stores[i].ignore_error && result == 0) {
            result = rc;
        }
    }
    return result;
}

static void copy_destroy(struct sk_instance *ins)
{
    struct copy_ctx *ctx = ins->ctx;

    if (ctx != NULL) {
        sk_free(ctx->stores);
        sk_free(ctx);
    }
}

const struct sk_plugin sk_plugin_out_copy = {
    .name = "copy",
    .kind = SK_PLUGIN_OUTPUT,
    .api = SK_PLUGIN_API,
    .flags = SK_PLUGIN_NO_BUFFER,
    .params = copy_params,
    .conf_size = sizeof(struct copy_conf),
    .desc = "Send every event to each <store>.",
    .init = copy_init,
    .emit = copy_emit,
    .destroy = copy_destroy,
};
