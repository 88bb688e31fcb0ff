/*
 * filter grep: keeps or drops events by regular expressions on record
 * values, as Fluentd's grep filter does (conditions: grep_int.h).
 *
 *   <filter nginx.**>
 *     @type grep
 *     <regexp>
 *       key $.kubernetes.namespace
 *       pattern /^prod-/
 *     </regexp>
 *     <exclude>
 *       key path
 *       pattern /\.(css|js|png)$/
 *     </exclude>
 *   </filter>
 *
 * A value is matched as Ruby's value.to_s: a missing key is "" (so
 * /^$/ matches it), numbers in decimal, hashes and arrays as #inspect.
 * Patterns are Ruby regexps (parser/ruby_regex.h), matched byte-wise as
 * Ruby matches the ASCII-8BIT strings in_tail produces.
 * When Ruby would raise (a key that digs into a string), Fluentd logs
 * "failed to grep events" and keeps the event; so does skiff. Kept events
 * are copied byte for byte.
 */
#include "filter_grep/grep_int.h"

#include <string.h>

#include "filter_common/fc_ruby.h"
#include "util/alloc.h"

#define GREP_TEXT_MAX (64u << 20)

struct grep_conf {
    char unused; /* every grep setting is a sub-section or a regexpN/excludeN */
};

static const struct sk_param_def grep_params[] = {
    SK_PARAM_END,
};

static int grep_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct grep_ctx *ctx = sk_calloc(1, sizeof(*ctx));

    if (ctx == NULL) {
        return SK_ENOMEM;
    }
    sk_buf_init(&ctx->text, GREP_TEXT_MAX);
    ctx->warn = (struct sk_log_limit)SK_LOG_LIMIT_INIT(60000, 5);
    ins->ctx = ctx;
    return grep_conf_build(ctx, ins, d);
}

static void grep_destroy(struct sk_instance *ins)
{
    struct grep_ctx *ctx = ins->ctx;

    if (ctx == NULL) {
        return;
    }
    grep_conf_cleanup(ctx);
    sk_buf_cleanup(&ctx->text);
    sk_free(ctx);
    ins->ctx = NULL;
}

/* Expression#match?: 1, 0, or a negative code where Ruby would raise. */
static int expr_match(struct grep_ctx *ctx, struct grep_expr *e, const msgpack_object *record)
{
    const msgpack_object *v = NULL;
    const char *s;
    size_t len = 0;
    int rc = fc_accessor_get(&e->key, record, &v);

    if (rc < 0) {
        return rc;
    }
    s = rc == 1 ? fc_ruby_str(v, &len) : "";
    if (s == NULL) {
        sk_buf_reset(&ctx->text);
        rc = fc_ruby_to_s(&ctx->text, v);
        if (rc < 0) {
            return rc;
        }
        s = ctx->text.data != NULL ? ctx->text.data : "";
        len = ctx->text.len;
    }
    return sk_ruby_regex_search(&e->re, s, len, 0) ? 1 : 0;
}

/* Ruby's any?/all? over one list, stopping where Ruby stops: 1 when the
 * quantifier holds, 0 when not, negative when a match raised. `want` is
 * the result that decides early (any?: a match, all?: a miss). */
static int quantify(struct grep_ctx *ctx, struct grep_list *l, const msgpack_object *record,
                    int want)
{
    for (size_t i = 0; i < l->n; i++) {
        int m = expr_match(ctx, &l->v[i], record);

        if (m < 0 || m == want) {
            return m < 0 ? m : want;
        }
    }
    return !want;
}

/* 1 to keep the event, 0 to drop it, negative when Fluentd would have
 * rescued an error (the event is then kept). */
static int grep_keep(struct grep_ctx *ctx, const msgpack_object *record)
{
    struct grep_list *l = ctx->lists;
    int r;

    if (l[GREP_REGEXP_AND].n > 0) {
        /* any? { !match } : some regexp fails. */
        r = quantify(ctx, &l[GREP_REGEXP_AND], record, 0);
        if (r <= 0) {
            return r;
        }
    }
    if (l[GREP_REGEXP_OR].n > 0) {
        r = quantify(ctx, &l[GREP_REGEXP_OR], record, 1);
        if (r <= 0) {
            return r;
        }
    }
    if (l[GREP_EXCLUDE_AND].n > 0) {
        r = quantify(ctx, &l[GREP_EXCLUDE_AND], record, 0);
        if (r != 0) {
            return r < 0 ? r : 0;
        }
    }
    if (l[GREP_EXCLUDE_OR].n > 0) {
        r = quantify(ctx, &l[GREP_EXCLUDE_OR], record, 1);
        if (r != 0) {
            return r < 0 ? r : 0;
        }
    }
    return 1;
}

static int grep_filter(struct sk_instance *ins, const char *tag, const struct sk_events *in,
                       struct sk_evbuf *out)
{
    struct grep_ctx *ctx = ins->ctx;
    struct sk_event_iter it;
    const msgpack_object *record;
    struct sk_time t;
    int rc;

    sk_event_iter_init(&it, in->data, in->len);
    for (;;) {
        size_t start = it.offset;
        int keep;

        rc = sk_event_iter_next(&it, &t, &record);
        if (rc != 1) {
            break;
        }
        keep = grep_keep(ctx, record);
        if (keep == SK_ENOMEM || keep == SK_ETOOBIG) {
            rc = keep;
            break;
        }
        if (keep < 0) {
            sk_log_limited(&ctx->warn, SK_LOG_WARN,
                           "%s: failed to grep events (tag=\"%s\"), event kept: TypeError: a key "
                           "digs into a value that is not a hash or an array",
                           ins->id, tag);
        }
        if (keep != 0) {
            rc = sk_buf_append(&out->buf, in->data + start, it.offset - start);
            if (rc < 0) {
                break;
            }
            sk_evbuf_commit(out);
        }
    }
    sk_event_iter_cleanup(&it);
    return rc < 0 ? rc : 0;
}

const struct sk_plugin sk_plugin_filter_grep = {
    .name = "grep",
    .kind = SK_PLUGIN_FILTER,
    .api = SK_PLUGIN_API,
    .params = grep_params,
    .conf_size = sizeof(struct grep_conf),
    .desc = "Keep or drop events by regular expressions on record values.",
    .init = grep_init,
    .destroy = grep_destroy,
    .filter = grep_filter,
};
