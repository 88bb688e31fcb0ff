/*
 * Index management on the flush path: the names of a chunk, which targets
 * a bulk request needs, and what the answer says about them (es_setup.h).
 */
#include "out_elasticsearch/es_setup_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define ES_SETUP_NAME_MAX 4096
#define ES_SETUP_REWRITE_MAX (ES_BULK_BODY_MAX + (16u << 20))

/* --- names of a chunk -------------------------------------------------------------- */

static void lower(char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        *s = (char)tolower((unsigned char)*s);
    }
}

/* Expands t (NULL: *out = NULL) into a new string. */
static int expand(const struct es_tmpl *t, struct es_tmpl_ctx *ctx, bool low, char **out)
{
    struct sk_buf b;
    size_t len;
    int rc;

    *out = NULL;
    if (t == NULL) {
        return 0;
    }
    sk_buf_init(&b, ES_SETUP_NAME_MAX);
    rc = es_tmpl_expand(t, ctx, &b);
    if (rc == 0 && b.data == NULL) {
        rc = sk_buf_reserve(&b, 1);
    }
    if (rc < 0) {
        sk_buf_cleanup(&b);
        return rc;
    }
    *out = sk_buf_take(&b, &len);
    if (low) {
        lower(*out);
    }
    return 0;
}

static char *concat(const char *a, const char *b, const char *c, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 1;
    char *s = sk_malloc(n);

    if (s != NULL) {
        snprintf(s, n, "%s%s%s%s", a, b, c, d);
    }
    return s;
}

void es_setup_names_free(struct es_setup_names *n)
{
    if (n == NULL) {
        return;
    }
    sk_free(n->alias);
    sk_free(n->prefix);
    sk_free(n->ls_head);
    sk_free(n->app);
    sk_free(n->policy);
    sk_free(n->template_name);
    sk_kvv_free(&n->customize);
    sk_free(n->ds);
    sk_free(n->ds_policy);
    sk_free(n->ds_template);
    sk_buf_cleanup(&n->scratch);
    sk_free(n);
}

static int expand_customize(const struct es_setup *s, struct es_tmpl_ctx *ctx,
                            struct es_setup_names *n)
{
    const struct sk_kvv *kv = &s->conf->customize_template;
    int rc = 0;

    if (s->ncustomize == 0) {
        return 0;
    }
    n->customize.v = sk_calloc(s->ncustomize, sizeof(*n->customize.v));
    if (n->customize.v == NULL) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; i < s->ncustomize && rc == 0; i++) {
        n->customize.v[i].key = sk_strdup(kv->v[i].key);
        rc = n->customize.v[i].key == NULL
                 ? SK_ENOMEM
                 : expand(s->customize_t[i], ctx, false, &n->customize.v[i].value);
        n->customize.n++;
    }
    return rc;
}

static int expand_ds(const struct es_setup *s, struct es_tmpl_ctx *ctx, struct es_setup_names *n)
{
    int rc = expand(s->ds_t, ctx, false, &n->ds);

    rc = rc == 0 ? expand(s->ds_policy_t, ctx, false, &n->ds_policy) : rc;
    rc = rc == 0 ? expand(s->ds_template_t, ctx, false, &n->ds_template) : rc;
    if (rc == 0 && n->ds_policy == NULL) {
        n->ds_policy = concat(n->ds, "_policy", "", "");
        rc = n->ds_policy == NULL ? SK_ENOMEM : 0;
    }
    if (rc == 0 && n->ds_template == NULL) {
        n->ds_template = concat(n->ds, "_template", "", "");
        rc = n->ds_template == NULL ? SK_ENOMEM : 0;
    }
    return rc;
}

static int names_for(const struct es_setup *s, struct es_tmpl_ctx *ctx, struct es_setup_names *n)
{
    int rc = 0;

    sk_buf_init(&n->scratch, ES_SETUP_REWRITE_MAX);
    if (s->data_stream) {
        return expand_ds(s, ctx, n);
    }
    rc = expand(s->alias_t, ctx, true, &n->alias);
    rc = rc == 0 ? expand(s->prefix_t, ctx, true, &n->prefix) : rc;
    rc = rc == 0 ? expand(s->app_t, ctx, true, &n->app) : rc;
    rc = rc == 0 && s->ilm ? expand(s->policy_t, ctx, false, &n->policy) : rc;
    rc = rc == 0 ? expand(s->template_t, ctx, false, &n->template_name) : rc;
    rc = rc == 0 ? expand_customize(s, ctx, n) : rc;
    if (rc == 0 && s->logstash) {
        char *p = NULL;

        rc = expand(s->ls_prefix_t, ctx, false, &p);
        n->ls_head = rc == 0 ? concat(p, s->conf->logstash_prefix_separator, "", "") : NULL;
        rc = rc == 0 && n->ls_head == NULL ? SK_ENOMEM : rc;
        lower(n->ls_head);
        sk_free(p);
    }
    return rc;
}

int es_setup_begin_chunk(struct es_ctx *es, struct es_tmpl_ctx *ctx, struct es_setup_names **out)
{
    struct es_setup_names *n;
    int rc;

    *out = NULL;
    if (es->setup == NULL) {
        return 0;
    }
    n = sk_calloc(1, sizeof(*n));
    if (n == NULL) {
        return SK_ENOMEM;
    }
    rc = names_for(es->setup, ctx, n);
    if (rc < 0) {
        es_setup_names_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* --- targets for names -------------------------------------------------------------- */

static const char *policy_json(const struct es_setup *s, const char *id)
{
    for (size_t i = 0; i < s->ilm_policies.n; i++) {
        if (strcmp(s->ilm_policies.v[i].key, id) == 0) {
            return s->ilm_policies.v[i].value;
        }
    }
    return s->ilm_policy != NULL ? s->ilm_policy : es_ilm_default_policy;
}

/* The user's template file, customized for this chunk (owned), or NULL. */
static int template_text(const struct es_setup *s, const struct es_setup_names *n, char **out)
{
    struct sk_buf b;
    size_t len;
    int rc;

    *out = NULL;
    if (s->template_text == NULL) {
        return 0;
    }
    sk_buf_init(&b, ES_SETUP_REWRITE_MAX);
    rc = es_template_customize(s->template_text, s->template_len, &n->customize, &b);
    if (rc == 0 && b.data == NULL) {
        rc = sk_buf_reserve(&b, 1);
    }
    if (rc < 0) {
        sk_buf_cleanup(&b);
        return rc;
    }
    *out = sk_buf_take(&b, &len);
    return 0;
}

static int64_t count_of(const char *s, const char *sep)
{
    size_t n = strlen(sep);
    int64_t k = 0;

    for (const char *p = n > 0 ? strstr(s, sep) : NULL; p != NULL; p = strstr(p + n, sep)) {
        k++;
    }
    return k;
}

int es_setup_alias_names(const struct es_setup *s, const struct es_setup_names *n, const char *name,
                         struct es_target *t)
{
    const struct es_conf *c = s->conf;
    const char *sep = c->index_separator;
    char *base;

    if (s->logstash && n->ls_head != NULL && strncmp(name, n->ls_head, strlen(n->ls_head)) == 0) {
        const char *date = name + strlen(n->ls_head);
        char *head = concat(n->ls_head, n->app, c->logstash_prefix_separator, "");

        base = head != NULL ? concat(head, date, "", "") : NULL;
        lower(base);
        t->bootstrap = base != NULL ? concat("<", base, "-000001>", "") : NULL;
        t->pattern = base != NULL ? concat(base, sep, "*", "") : NULL;
        t->ism_patterns[0] = head != NULL ? concat(head, "*", "", "") : NULL;
        t->prio_count = base != NULL ? count_of(base, sep) : 0;
        sk_free(head);
    } else {
        const char *prefix = n->alias != NULL && strcmp(name, n->alias) == 0 ? n->prefix : name;
        const char *dp = c->index_date_pattern != NULL ? c->index_date_pattern : "now/d";

        base = concat(prefix, sep, n->app, "");
        if (base != NULL && dp[0] != '\0') {
            t->bootstrap = concat("<", base, "-{", dp);
            if (t->bootstrap != NULL) {
                char *b = concat(t->bootstrap, "}-000001>", "", "");

                sk_free(t->bootstrap);
                t->bootstrap = b;
            }
        } else if (base != NULL) {
            t->bootstrap = concat("<", base, "-000001>", "");
        }
        t->pattern = concat(prefix, sep, "*", "");
        t->ism_patterns[0] = concat(prefix, sep, "*", "");
        t->prio_count = count_of(prefix, sep);
    }
    t->nism = 1;
    sk_free(base);
    return t->bootstrap != NULL && t->pattern != NULL && t->ism_patterns[0] != NULL ? 0 : SK_ENOMEM;
}

static struct es_target *new_alias(struct es_setup *s, const struct es_setup_names *n,
                                   const char *name)
{
    const struct es_conf *c = s->conf;
    struct es_target *t = sk_calloc(1, sizeof(*t));
    int rc;

    if (t == NULL) {
        return NULL;
    }
    t->kind = ES_TARGET_ALIAS;
    t->name = sk_strdup(name);
    rc = t->name != NULL ? es_setup_alias_names(s, n, name, t) : SK_ENOMEM;
    if (rc == 0 && s->ilm && n->policy != NULL) {
        t->policy = sk_strdup(n->policy);
        t->policy_json = policy_json(s, n->policy);
        t->policy_overwrite = c->ilm_policy_overwrite;
        rc = t->policy == NULL ? SK_ENOMEM : 0;
    }
    if (rc == 0 && (s->ilm || n->template_name != NULL)) {
        /* With ILM the template carries the lifecycle settings and is
         * named after the alias (fluent-plugin's get_template_name). */
        t->template_name = sk_strdup(s->ilm ? name : n->template_name);
        t->template_ilm = s->ilm;
        t->template_overwrite = c->template_overwrite;
        rc = t->template_name == NULL ? SK_ENOMEM : template_text(s, n, &t->template_json);
    }
    if (rc < 0) {
        es_target_free(t);
        return NULL;
    }
    return t;
}

static struct es_target *new_data_stream(struct es_setup *s, const struct es_setup_names *n)
{
    const struct es_conf *c = s->conf;
    struct es_target *t = sk_calloc(1, sizeof(*t));
    bool wild = c->data_stream_template_use_index_patterns_wildcard;

    if (t == NULL) {
        return NULL;
    }
    t->kind = ES_TARGET_DATA_STREAM;
    t->name = sk_strdup(n->ds);
    t->policy = sk_strdup(n->ds_policy);
    t->policy_json = s->ilm_policy != NULL ? s->ilm_policy : es_ilm_default_policy;
    t->policy_overwrite = c->data_stream_ilm_policy_overwrite;
    t->template_name = sk_strdup(n->ds_template);
    t->template_overwrite = c->template_overwrite;
    t->pattern = concat(n->ds, wild ? "*" : "", "", "");
    t->ism_patterns[0] = concat(n->ds, wild ? "*" : "", "", "");
    t->ism_patterns[1] = concat(".ds-", n->ds, "-*", "");
    t->nism = 2;
    if (t->name == NULL || t->policy == NULL || t->template_name == NULL || t->pattern == NULL ||
        t->ism_patterns[0] == NULL || t->ism_patterns[1] == NULL) {
        es_target_free(t);
        return NULL;
    }
    return t;
}

static struct es_target *new_template(const char *name, const char *text, size_t len,
                                      bool overwrite)
{
    struct es_target *t = sk_calloc(1, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    t->kind = ES_TARGET_TEMPLATE;
    t->name = sk_strdup(name);
    t->template_name = sk_strdup(name);
    t->template_json = sk_strndup(text, len);
    t->template_overwrite = overwrite;
    if (t->name == NULL || t->template_name == NULL || t->template_json == NULL) {
        es_target_free(t);
        return NULL;
    }
    return t;
}

/* Ready, or started now / still under way (false). NULL t: out of memory. */
static bool usable(struct es_setup *s, struct es_target *t, bool created)
{
    if (t == NULL) {
        return false;
    }
    if (created) {
        t = es_target_add(s, t);
        if (t == NULL) {
            return false;
        }
        sk_info("%s: setting up %s '%s' before documents go to it", s->es->ins->id,
                t->kind == ES_TARGET_ALIAS         ? "rollover alias"
                : t->kind == ES_TARGET_DATA_STREAM ? "data stream"
                                                   : "index template",
                t->name);
    }
    if (t->state == ES_TARGET_IDLE) {
        es_target_run(t);
    }
    return t->state == ES_TARGET_READY;
}

static bool alias_ready(struct es_setup *s, const struct es_setup_names *n, const char *name)
{
    struct es_target *t = es_target_find(s, ES_TARGET_ALIAS, name);

    return t != NULL ? usable(s, t, false) : usable(s, new_alias(s, n, name), true);
}

static bool data_stream_ready(struct es_setup *s, const struct es_setup_names *n)
{
    struct es_target *t = es_target_find(s, ES_TARGET_DATA_STREAM, n->ds);

    return t != NULL ? usable(s, t, false) : usable(s, new_data_stream(s, n), true);
}

static bool template_ready(struct es_setup *s, const struct es_setup_names *n)
{
    struct es_target *t = es_target_find(s, ES_TARGET_TEMPLATE, n->template_name);
    char *text = NULL;

    if (t != NULL) {
        return usable(s, t, false);
    }
    if (template_text(s, n, &text) < 0) {
        return false;
    }
    t = new_template(n->template_name, text, strlen(text), s->conf->template_overwrite);
    sk_free(text);
    return usable(s, t, true);
}

/* --- the flush hooks ------------------------------------------------------------------- */

/* Calls ready() for each distinct _index of the request's action lines
 * (every other line of the NDJSON, starting with the first). */
static bool request_aliases_ready(struct es_setup *s, const struct es_setup_names *n,
                                  const struct sk_buf *body)
{
    static const char key[] = "\"_index\":\"";
    const char *p = body->data;
    const char *end = p != NULL ? p + body->len : NULL;
    char name[ES_INDEX_NAME_MAX + 1];
    char last[ES_INDEX_NAME_MAX + 1] = "";
    bool action = true;
    bool all = true;

    while (p != NULL && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        const char *k = action ? memmem(p, (size_t)(eol - p), key, sizeof(key) - 1) : NULL;

        if (k != NULL) {
            const char *v = k + sizeof(key) - 1;
            const char *q = memchr(v, '"', (size_t)(eol - v));
            size_t len = q != NULL ? (size_t)(q - v) : 0;

            /* A name with escapes is no valid index name: ES says so per item. */
            if (len > 0 && len <= ES_INDEX_NAME_MAX && memchr(v, '\\', len) == NULL) {
                memcpy(name, v, len);
                name[len] = '\0';
                if (strcmp(name, last) != 0) {
                    all &= alias_ready(s, n, name);
                    memcpy(last, name, len + 1);
                }
            }
        }
        action = !action;
        p = eol + 1;
    }
    return all;
}

int es_setup_rewrite_create(struct es_setup_names *n, struct es_bulk_req *req)
{
    static const char from[] = "{\"index\":{";
    const char *p = req->body.data;
    const char *end = p != NULL ? p + req->body.len : NULL;
    struct sk_buf swap;
    bool action = true;
    int rc = 0;

    sk_buf_reset(&n->scratch);
    n->scratch.max = ES_SETUP_REWRITE_MAX;
    while (p != NULL && p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);

        if (action && len >= sizeof(from) - 1 && memcmp(p, from, sizeof(from) - 1) == 0) {
            rc = sk_buf_append_str(&n->scratch, "{\"create\":{");
            rc = rc == 0
                     ? sk_buf_append(&n->scratch, p + sizeof(from) - 1, len - (sizeof(from) - 1))
                     : rc;
        } else {
            rc = sk_buf_append(&n->scratch, p, len);
        }
        action = !action;
        p += len;
    }
    if (rc == 0) {
        swap = req->body;
        req->body = n->scratch;
        n->scratch = swap;
    }
    return rc;
}

int es_setup_prepare(struct es_ctx *es, struct es_setup_names *n, struct es_bulk_req *req)
{
    struct es_setup *s = es->setup;
    bool ready = true;

    if (s == NULL || n == NULL) {
        return 0;
    }
    if (!s->version_known || !s->started) {
        return SK_EAGAIN;
    }
    for (struct es_target *t = s->targets; t != NULL; t = t->next) {
        if (t->is_static && t->kind == ES_TARGET_TEMPLATE) {
            ready &= usable(s, t, false);
        }
    }
    if (s->template_mode && n->template_name != NULL) {
        ready &= template_ready(s, n);
    }
    if (s->data_stream && n->ds != NULL) {
        ready &= data_stream_ready(s, n);
    }
    if (s->alias_mode) {
        ready &= request_aliases_ready(s, n, &req->body);
    }
    if (!ready) {
        return SK_EAGAIN;
    }
    return s->data_stream ? es_setup_rewrite_create(n, req) : 0;
}

const char *es_setup_bulk_params(const struct es_ctx *es)
{
    return es->setup != NULL && es->setup->require_alias ? "&require_alias=true" : "";
}

enum es_write_op es_setup_response_op(const struct es_ctx *es, enum es_write_op op)
{
    return es->setup != NULL && es->setup->data_stream ? ES_OP_CREATE : op;
}

void es_setup_item(struct es_ctx *es, struct es_item *it)
{
    static const char pre[] = "no such index [";
    struct es_setup *s = es->setup;
    const char *p;
    const char *q;
    char name[ES_INDEX_NAME_MAX + 1];
    struct es_target *t;

    if (s == NULL || !s->alias_mode || it->status != 404 ||
        strstr(it->reason, "require_alias") == NULL) {
        return;
    }
    it->outcome = ES_ITEM_RETRY;
    p = strstr(it->reason, pre);
    q = p != NULL ? strchr(p + sizeof(pre) - 1, ']') : NULL;
    if (q == NULL || (size_t)(q - p) - (sizeof(pre) - 1) > ES_INDEX_NAME_MAX) {
        return;
    }
    snprintf(name, sizeof(name), "%.*s", (int)((size_t)(q - p) - (sizeof(pre) - 1)),
             p + sizeof(pre) - 1);
    t = es_target_find(s, ES_TARGET_ALIAS, name);
    if (t != NULL && t->state == ES_TARGET_READY) {
        sk_warn("%s: alias '%s' is gone (documents refused with require_alias); setting it up "
                "again, its documents are retried",
                es->ins->id, name);
        t->state = ES_TARGET_IDLE;
    }
}

/* --- life cycle ----------------------------------------------------------------------------- */

static bool dynamic(const struct es_tmpl *t)
{
    return t != NULL && es_tmpl_is_dynamic(t);
}

static void mark_static(struct es_setup *s, enum es_target_kind kind, const char *name)
{
    struct es_target *t = es_target_find(s, kind, name);

    if (t != NULL) {
        t->is_static = true;
    }
}

static bool names_static(const struct es_setup *s)
{
    bool dyn = dynamic(s->alias_t) || dynamic(s->prefix_t) || dynamic(s->app_t) ||
               dynamic(s->policy_t) || dynamic(s->template_t) || dynamic(s->ds_t) ||
               dynamic(s->ds_template_t) || dynamic(s->ds_policy_t);

    for (size_t i = 0; i < s->ncustomize; i++) {
        dyn |= dynamic(s->customize_t[i]);
    }
    return !dyn && !s->logstash;
}

/* At start: the targets whose names need no chunk, in the order a
 * td-agent would have created them (templates, then the output's own). */
static void start_static(struct es_setup *s)
{
    struct es_tmpl_ctx ctx = {.tag = NULL, .timekey = -1};
    struct es_setup_names *n = NULL;

    for (size_t i = 0; i < s->nfiles; i++) {
        struct es_target *t = es_target_find(s, ES_TARGET_TEMPLATE, s->files[i].name);

        if (t == NULL) {
            t = new_template(s->files[i].name, s->files[i].text, s->files[i].len,
                             s->conf->template_overwrite);
            t = t != NULL ? es_target_add(s, t) : NULL;
        }
        if (t != NULL) {
            t->is_static = true;
            (void)usable(s, t, false);
        }
    }
    if (!names_static(s) || es_setup_begin_chunk(s->es, &ctx, &n) < 0 || n == NULL) {
        es_setup_names_free(n);
        return;
    }
    if (s->template_mode && n->template_name != NULL) {
        (void)template_ready(s, n);
        mark_static(s, ES_TARGET_TEMPLATE, n->template_name);
    } else if (s->data_stream && n->ds != NULL) {
        (void)data_stream_ready(s, n);
        mark_static(s, ES_TARGET_DATA_STREAM, n->ds);
    } else if (s->alias_mode && n->alias != NULL && strchr(n->alias, '%') == NULL) {
        (void)alias_ready(s, n, n->alias);
        mark_static(s, ES_TARGET_ALIAS, n->alias);
    }
    es_setup_names_free(n);
}

void es_setup_version_ready(struct es_ctx *es, bool ok)
{
    struct es_setup *s = es->setup;
    const struct es_version *v = &es->version;
    bool managed = false;

    if (s == NULL || !ok) {
        return;
    }
    if (!s->version_known) {
        s->version_known = true;
        for (size_t i = 0; i < es->pool.n; i++) {
            managed |= es_host_is_managed(es->pool.hosts[i]->host);
        }
        switch (s->conf->lifecycle_api) {
        case 1:
            s->lc = ES_LIFECYCLE_ILM;
            break;
        case 2:
            s->lc = ES_LIFECYCLE_ISM;
            break;
        case 3:
            s->lc = ES_LIFECYCLE_OPENDISTRO;
            break;
        default:
            s->lc = v->opensearch ? ES_LIFECYCLE_ISM
                                  : (managed ? ES_LIFECYCLE_OPENDISTRO : ES_LIFECYCLE_ILM);
            break;
        }
        s->composable_ok = v->opensearch || v->major > 7 || (v->major == 7 && v->minor >= 8);
        s->require_alias =
            s->alias_mode && (v->opensearch || v->major > 7 || (v->major == 7 && v->minor >= 10));
        sk_info("%s: index management on %s %s: %s policies, %s templates%s", es->ins->id,
                v->opensearch ? "OpenSearch" : "Elasticsearch", v->number,
                s->lc == ES_LIFECYCLE_ILM ? "ILM" : "ISM",
                s->legacy_param == 1 || (s->legacy_param < 0 && !s->composable_ok)
                    ? "legacy (_template)"
                    : "composable (_index_template)",
                s->require_alias ? ", bulk requests with require_alias=true" : "");
    }
    if (s->started) {
        start_static(s);
    }
}

void es_setup_start(struct es_ctx *es)
{
    struct es_setup *s = es->setup;

    if (s == NULL) {
        return;
    }
    s->started = true;
    if (es->version_state == ES_VERSION_KNOWN) {
        es_setup_version_ready(es, true);
    }
}

void es_setup_stop(struct es_ctx *es)
{
    if (es->setup != NULL) {
        es->setup->started = false;
        es_targets_stop(es->setup);
    }
}
