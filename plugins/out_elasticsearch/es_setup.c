/*
 * Index management, the side facing the rest of the output: parameters
 * (es_init), the names of each chunk, and the hooks on the flush path
 * (es_setup.h). The steps themselves run in es_setup_run.c.
 */
#include "out_elasticsearch/es_setup_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "json/json.h"
#include "util/alloc.h"

#define ES_SETUP_FILE_MAX (8u << 20)

static const char ds_plugin[] = "elasticsearch_data_stream";

/* --- helpers ---------------------------------------------------------------------- */

static void diag(struct sk_instance *ins, struct sk_diag *d, enum sk_diag_level level,
                 const char *fmt, ...) SK_PRINTF(4, 5);

static void diag(struct sk_instance *ins, struct sk_diag *d, enum sk_diag_level level,
                 const char *fmt, ...)
{
    char where[256];
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sk_diag_add(d, level, ins->section->file, ins->section->line,
                sk_instance_where(ins, where, sizeof(where)), "%s", msg);
}

/* Reads a whole file (at most ES_SETUP_FILE_MAX bytes). NULL: errno says why. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct sk_buf b;
    char chunk[4096];
    size_t n;
    int rc = 0;

    if (f == NULL) {
        return NULL;
    }
    sk_buf_init(&b, ES_SETUP_FILE_MAX);
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = sk_buf_append(&b, chunk, n);
    }
    if (ferror(f) || rc < 0) {
        fclose(f);
        sk_buf_cleanup(&b);
        errno = rc == SK_ETOOBIG ? EFBIG : EIO;
        return NULL;
    }
    fclose(f);
    if (b.data == NULL && sk_buf_reserve(&b, 1) < 0) {
        errno = ENOMEM;
        return NULL;
    }
    *len = b.len;
    return sk_buf_take(&b, len);
}

/* True when `text` parses as a JSON object. */
static bool json_object(const char *text, size_t len)
{
    struct sk_buf scratch;
    msgpack_unpacked up;
    bool ok;

    sk_buf_init(&scratch, ES_SETUP_FILE_MAX * 2);
    msgpack_unpacked_init(&up);
    ok = sk_json_parse(text, len, &scratch, &up) == 0 && up.data.type == MSGPACK_OBJECT_MAP;
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    return ok;
}

static int kvv_add(struct sk_kvv *v, const char *k, size_t klen, const char *val, size_t vlen)
{
    struct sk_kv *a = sk_realloc(v->v, (v->n + 1) * sizeof(*a));

    if (a == NULL) {
        return SK_ENOMEM;
    }
    v->v = a;
    a[v->n].key = sk_strndup(k, klen);
    a[v->n].value = sk_strndup(val, vlen);
    if (a[v->n].key == NULL || a[v->n].value == NULL) {
        sk_free(a[v->n].key);
        sk_free(a[v->n].value);
        return SK_ENOMEM;
    }
    v->n++;
    return 0;
}

/* ilm_policies' raw text ({"id": {policy}, ...}) into id => JSON text. */
static int split_policies(const char *text, struct sk_kvv *out)
{
    struct sk_buf scratch;
    struct sk_buf one;
    msgpack_unpacked up;
    int rc;

    sk_buf_init(&scratch, ES_SETUP_FILE_MAX * 2);
    sk_buf_init(&one, ES_SETUP_FILE_MAX);
    msgpack_unpacked_init(&up);
    rc = sk_json_parse(text, strlen(text), &scratch, &up);
    if (rc == 0 && up.data.type != MSGPACK_OBJECT_MAP) {
        rc = SK_EPARSE;
    }
    for (uint32_t i = 0; rc == 0 && i < up.data.via.map.size; i++) {
        const msgpack_object *k = &up.data.via.map.ptr[i].key;

        sk_buf_reset(&one);
        rc = k->type == MSGPACK_OBJECT_STR ? sk_json_write_object(&one, &up.data.via.map.ptr[i].val)
                                           : SK_EPARSE;
        if (rc == 0) {
            rc = kvv_add(out, k->via.str.ptr, k->via.str.size, one.data, one.len);
        }
    }
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    sk_buf_cleanup(&one);
    return rc;
}

static int compile(const char *text, struct es_tmpl **out)
{
    *out = NULL;
    return text != NULL ? es_tmpl_compile(text, out) : 0;
}

static bool dynamic(const struct es_tmpl *t)
{
    return t != NULL && es_tmpl_is_dynamic(t);
}

/* fluent-plugin-elasticsearch's data stream name rules. */
static const char *bad_ds_name(const char *v)
{
    if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
        return "must not be . or ..";
    }
    if (strchr("-_+.", v[0]) != NULL && v[0] != '\0') {
        return "must not start with -,_,+,.";
    }
    if (strpbrk(v, "\\/*?\"<>| ,#:") != NULL) {
        return "must not contain invalid characters \\,/,*,?,\",<,>,|, ,,,#,:";
    }
    for (const char *p = v; *p != '\0'; p++) {
        if (tolower((unsigned char)*p) != *p) {
            return "must be lowercase only";
        }
    }
    return strlen(v) > 255 ? "must not be longer than 255 bytes" : NULL;
}

/* --- es_init ------------------------------------------------------------------------ */

static int check_params(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d, bool ds)
{
    const struct es_conf *c = es->conf;
    static const char *const ds_only[] = {"data_stream_name",
                                          "data_stream_template_name",
                                          "data_stream_ilm_name",
                                          "data_stream_ilm_policy",
                                          "data_stream_ilm_policy_overwrite",
                                          "data_stream_template_use_index_patterns_wildcard",
                                          NULL};
    const char *pol = sk_conf_get(ins->section, "ilm_policy");
    int rc = 0;

    for (size_t i = 0; !ds && ds_only[i] != NULL; i++) {
        if (sk_conf_get(ins->section, ds_only[i]) != NULL) {
            diag(ins, d, SK_DIAG_ERROR, "'%s' is a parameter of @type %s", ds_only[i], ds_plugin);
            rc = SK_ECONFIG;
        }
    }
    if (ds && c->data_stream_name == NULL) {
        diag(ins, d, SK_DIAG_ERROR, "'data_stream_name' parameter is required");
        rc = SK_ECONFIG;
    }
    if (c->enable_ilm && c->deflector_alias != NULL) {
        diag(ins, d, SK_DIAG_ERROR,
             "deflector_alias is prohibited to use with enable_ilm at same "
             "time.");
        rc = SK_ECONFIG;
    }
    if (c->ilm_policy.n > 0 && c->ilm_policies.n > 0) {
        diag(ins, d, SK_DIAG_ERROR,
             "You can't specify ilm_policy and ilm_policies at the same "
             "time");
        rc = SK_ECONFIG;
    }
    if (c->ilm_policy_overwrite && c->ilm_policy.n == 0 && c->ilm_policies.n == 0) {
        diag(ins, d, SK_DIAG_ERROR, "ilm_policy_overwrite requires a non empty ilm_policy.");
        rc = SK_ECONFIG;
    }
    if ((c->template_name == NULL) != (c->template_file == NULL)) {
        diag(ins, d, SK_DIAG_WARN,
             "template_name and template_file go together: without both "
             "no template is installed from a file");
    }
    if (c->logstash_format && c->deflector_alias != NULL && c->rollover_index) {
        diag(ins, d, SK_DIAG_WARN,
             "deflector_alias is ignored with logstash_format: each day's "
             "index name is its own rollover alias");
    }
    if (pol != NULL && c->ilm_policy.n > 0 && !json_object(pol, strlen(pol))) {
        diag(ins, d, SK_DIAG_ERROR, "ilm_policy is not a JSON object");
        rc = SK_ECONFIG;
    }
    return rc;
}

static int load_template_file(struct es_setup *s, struct sk_instance *ins, struct sk_diag *d)
{
    const struct es_conf *c = s->conf;

    s->template_text = read_file(c->template_file, &s->template_len);
    if (s->template_text == NULL) {
        diag(ins, d, SK_DIAG_ERROR,
             "If you specify a template_name you must specify a valid template file (checked "
             "'%s'): %s",
             c->template_file, strerror(errno));
        return SK_ECONFIG;
    }
    if (c->customize_template.n == 0 && !json_object(s->template_text, s->template_len)) {
        diag(ins, d, SK_DIAG_ERROR, "template_file '%s' is not a JSON object", c->template_file);
        return SK_ECONFIG;
    }
    return 0;
}

static int load_templates(struct es_setup *s, struct sk_instance *ins, struct sk_diag *d)
{
    const struct sk_kvv *t = &s->conf->templates;

    s->files = sk_calloc(t->n + 1, sizeof(*s->files));
    if (s->files == NULL) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; i < t->n; i++) {
        struct es_setup_file *f = &s->files[s->nfiles];

        f->name = sk_strdup(t->v[i].key);
        f->text = read_file(t->v[i].value, &f->len);
        if (f->name == NULL || f->text == NULL) {
            sk_free(f->name);
            diag(ins, d, SK_DIAG_ERROR, "templates: cannot read '%s' for template '%s': %s",
                 t->v[i].value, t->v[i].key, strerror(errno));
            return SK_ECONFIG;
        }
        s->nfiles++;
        if (!json_object(f->text, f->len)) {
            diag(ins, d, SK_DIAG_ERROR, "templates: '%s' is not a JSON object", t->v[i].value);
            return SK_ECONFIG;
        }
    }
    return 0;
}

/* Policies: JSON that is either ILM or ISM; with lifecycle_api forcing
 * ISM, an ILM policy must translate now rather than fail in production. */
static int check_policy(struct es_setup *s, struct sk_instance *ins, struct sk_diag *d,
                        const char *what, const char *json)
{
    static const enum es_lifecycle forced[] = {ES_LIFECYCLE_ILM, ES_LIFECYCLE_ILM, ES_LIFECYCLE_ISM,
                                               ES_LIFECYCLE_OPENDISTRO};
    enum es_policy_form form;
    struct sk_buf out;
    char err[256];
    int rc = es_policy_form(json, strlen(json), &form, err, sizeof(err));

    if (rc == 0 && s->conf->lifecycle_api > 0) {
        sk_buf_init(&out, ES_SETUP_FILE_MAX * 2);
        rc = es_policy_body(json, strlen(json), forced[s->conf->lifecycle_api], NULL, 0, &out, err,
                            sizeof(err));
        sk_buf_cleanup(&out);
    }
    if (rc == SK_EINVAL) {
        diag(ins, d, SK_DIAG_ERROR, "%s: %s", what, err);
        return SK_ECONFIG;
    }
    return rc;
}

static int load_policies(struct es_setup *s, struct sk_instance *ins, struct sk_diag *d, bool ds)
{
    const struct es_conf *c = s->conf;
    const char *raw = sk_conf_get(ins->section, ds ? "data_stream_ilm_policy" : "ilm_policy");
    const char *many = sk_conf_get(ins->section, "ilm_policies");
    int rc = 0;

    if (raw != NULL && (ds || c->ilm_policy.n > 0)) {
        s->ilm_policy = sk_strdup(raw);
        rc = s->ilm_policy == NULL
                 ? SK_ENOMEM
                 : check_policy(s, ins, d, ds ? "data_stream_ilm_policy" : "ilm_policy",
                                s->ilm_policy);
    }
    if (rc == 0 && !ds && many != NULL && c->ilm_policies.n > 0) {
        rc = split_policies(many, &s->ilm_policies);
        if (rc == SK_EPARSE) {
            diag(ins, d, SK_DIAG_ERROR, "ilm_policies is not a JSON object of policies");
            rc = SK_ECONFIG;
        }
        for (size_t i = 0; rc == 0 && i < s->ilm_policies.n; i++) {
            char what[320];

            snprintf(what, sizeof(what), "ilm_policies['%s']", s->ilm_policies.v[i].key);
            rc = check_policy(s, ins, d, what, s->ilm_policies.v[i].value);
        }
    }
    return rc;
}

static int compile_names(struct es_setup *s, struct es_ctx *es)
{
    const struct es_conf *c = s->conf;
    int rc;

    rc = compile(s->data_stream
                     ? c->data_stream_name
                     : (c->deflector_alias != NULL && !c->logstash_format ? c->deflector_alias
                                                                          : c->index_name),
                 &s->alias_t);
    rc = rc == 0 ? compile(c->index_prefix != NULL ? c->index_prefix : c->index_name, &s->prefix_t)
                 : rc;
    rc = rc == 0 ? compile(c->logstash_prefix, &s->ls_prefix_t) : rc;
    rc = rc == 0 ? compile(c->application_name, &s->app_t) : rc;
    rc = rc == 0 ? compile(c->ilm_policy_id, &s->policy_t) : rc;
    rc = rc == 0 ? compile(c->template_file != NULL ? c->template_name : NULL, &s->template_t) : rc;
    rc = rc == 0 ? compile(s->data_stream ? c->data_stream_name : NULL, &s->ds_t) : rc;
    rc = rc == 0 ? compile(s->data_stream ? c->data_stream_template_name : NULL, &s->ds_template_t)
                 : rc;
    rc = rc == 0 ? compile(s->data_stream ? c->data_stream_ilm_name : NULL, &s->ds_policy_t) : rc;
    if (rc == 0 && c->customize_template.n > 0) {
        s->customize_t = sk_calloc(c->customize_template.n, sizeof(*s->customize_t));
        rc = s->customize_t == NULL ? SK_ENOMEM : 0;
        for (size_t i = 0; rc == 0 && i < c->customize_template.n; i++) {
            rc = compile(c->customize_template.v[i].value, &s->customize_t[i]);
            s->ncustomize += rc == 0;
        }
    }
    (void)es;
    return rc;
}

/* Where documents go: the deflector alias, or the data stream. */
static void adjust_output(struct es_setup *s, struct es_ctx *es)
{
    const struct es_conf *c = s->conf;

    if (s->data_stream) {
        es->index_conf.logstash_format = false;
        es->index_conf.index_name = c->data_stream_name;
        /* es_bulk drops id-less `create`s; es_setup_prepare turns these
         * `index` actions into `create` ones, which data streams need. */
        es->bulk.op = ES_OP_INDEX;
        es->bulk.add_timestamp = true;
        es->bulk.target_index_key = NULL;
    } else if (s->alias_mode && !c->logstash_format && c->deflector_alias != NULL) {
        es->index_conf.index_name = c->deflector_alias;
    }
}

int es_setup_create(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d)
{
    const struct es_conf *c = es->conf;
    bool ds = strcmp(ins->plugin->name, ds_plugin) == 0;
    struct es_setup *s;
    int rc = check_params(es, ins, d, ds);

    if (rc < 0) {
        return rc;
    }
    if (!ds && !c->enable_ilm && !c->rollover_index && c->templates.n == 0 &&
        (c->template_name == NULL || c->template_file == NULL)) {
        return 0; /* nothing to manage */
    }
    s = sk_calloc(1, sizeof(*s));
    if (s == NULL) {
        return SK_ENOMEM;
    }
    es->setup = s;
    s->es = es;
    s->conf = c;
    s->data_stream = ds;
    s->ilm = !ds && c->enable_ilm;
    s->alias_mode = !ds && (c->enable_ilm || c->rollover_index);
    s->template_mode =
        !ds && !s->alias_mode && c->template_name != NULL && c->template_file != NULL;
    s->logstash = !ds && c->logstash_format;
    s->legacy_param = ds ? 0
                         : (sk_conf_get(ins->section, "use_legacy_template") != NULL
                                ? (c->use_legacy_template ? 1 : 0)
                                : -1);
    rc = compile_names(s, es);
    if (rc == SK_EINVAL) {
        diag(ins, d, SK_DIAG_ERROR, "an index management name has an unterminated ${");
        return SK_ECONFIG;
    }
    if (rc == 0 && ds && !dynamic(s->ds_t) && bad_ds_name(c->data_stream_name) != NULL) {
        diag(ins, d, SK_DIAG_ERROR, "'data_stream_name' %s: <%s>", bad_ds_name(c->data_stream_name),
             c->data_stream_name);
        return SK_ECONFIG;
    }
    if (rc == 0 && !ds && c->template_name != NULL && c->template_file != NULL) {
        rc = load_template_file(s, ins, d);
    }
    if (rc == 0 && !ds) {
        rc = load_templates(s, ins, d);
    }
    if (rc == 0 && (s->ilm || ds)) {
        rc = load_policies(s, ins, d, ds);
    }
    if (rc == 0) {
        adjust_output(s, es);
    }
    return rc;
}

void es_setup_destroy(struct es_ctx *es)
{
    struct es_setup *s = es->setup;

    if (s == NULL) {
        return;
    }
    while (s->targets != NULL) {
        struct es_target *t = s->targets;

        s->targets = t->next;
        es_target_free(t);
    }
    es_tmpl_free(s->alias_t);
    es_tmpl_free(s->prefix_t);
    es_tmpl_free(s->ls_prefix_t);
    es_tmpl_free(s->app_t);
    es_tmpl_free(s->policy_t);
    es_tmpl_free(s->template_t);
    es_tmpl_free(s->ds_t);
    es_tmpl_free(s->ds_template_t);
    es_tmpl_free(s->ds_policy_t);
    for (size_t i = 0; i < s->ncustomize; i++) {
        es_tmpl_free(s->customize_t[i]);
    }
    sk_free(s->customize_t);
    sk_free(s->ilm_policy);
    sk_kvv_free(&s->ilm_policies);
    sk_free(s->template_text);
    for (size_t i = 0; i < s->nfiles; i++) {
        sk_free(s->files[i].name);
        sk_free(s->files[i].text);
    }
    sk_free(s->files);
    sk_strv_free(&s->overwritten);
    sk_free(s);
    es->setup = NULL;
}
