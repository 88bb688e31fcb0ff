/* The parameter engine: applies a plugin's declarative table to a section. */
#include "param/param.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "parser/ruby_regex.h"
#include "util/alloc.h"
#include "util/buf.h"

static const char *type_name(enum sk_param_type t)
{
    static const char *const names[] = {
        "a string", "an integer", "a number", "true or false", "a size such as 8m",
        "a time such as 60s", "one of", "a regular expression", "a JSON array or comma list",
        "a JSON hash or k:v,k:v list"};

    return names[t];
}

static void *field(void *conf, const struct sk_param_def *def)
{
    return (char *)conf + def->offset;
}

static const void *cfield(const void *conf, const struct sk_param_def *def)
{
    return (const char *)conf + def->offset;
}

/* Fluentd writes regexps as /.../flags: the text is kept as written (the
 * plugin compiles it with sk_ruby_regex_compile and SK_RUBY_RE_SLASHES) and
 * checked here so a bad one is a configuration error with file and line. */
static int parse_regexp(const char *text, char **out)
{
    struct sk_ruby_regex re;
    char err[256];
    const char *warning = NULL;

    if (sk_ruby_regex_compile(&re, text, SK_RUBY_RE_SLASHES, err, sizeof(err), &warning) < 0) {
        return SK_EPARSE;
    }
    sk_ruby_regex_cleanup(&re);
    *out = sk_strdup(text);
    return *out == NULL ? SK_ENOMEM : 0;
}

static int parse_enum(const struct sk_param_def *def, const char *text, int *out)
{
    for (int i = 0; def->choices != NULL && def->choices[i] != NULL; i++) {
        if (strcmp(def->choices[i], text) == 0) {
            *out = i;
            return 0;
        }
    }
    return SK_EPARSE;
}

/* Parses `text` per def->type into `dst` (a field of the def's type). */
static int parse_value(const struct sk_param_def *def, const char *text, void *dst,
                       const char **warning)
{
    char *s;

    switch (def->type) {
    case SK_PARAM_STRING:
        s = sk_strdup(text);
        if (s == NULL) {
            return SK_ENOMEM;
        }
        sk_free(*(char **)dst);
        *(char **)dst = s;
        return 0;
    case SK_PARAM_REGEXP:
        if (parse_regexp(text, &s) < 0) {
            return SK_EPARSE;
        }
        sk_free(*(char **)dst);
        *(char **)dst = s;
        return 0;
    case SK_PARAM_INT:
        return sk_param_parse_int(text, dst);
    case SK_PARAM_FLOAT:
        return sk_param_parse_float(text, dst);
    case SK_PARAM_BOOL:
        return sk_param_parse_bool(text, dst);
    case SK_PARAM_SIZE:
        return sk_param_parse_size(text, dst);
    case SK_PARAM_TIME:
        return sk_param_parse_time_ms(text, dst, warning);
    case SK_PARAM_ENUM:
        return parse_enum(def, text, dst);
    case SK_PARAM_ARRAY:
        sk_strv_free(dst);
        return sk_param_parse_array(text, dst);
    case SK_PARAM_HASH:
        sk_kvv_free(dst);
        return sk_param_parse_hash(text, dst);
    }
    return SK_EINVAL;
}

/* Compares a numeric field against a bound written as text. */
static int check_bound(const struct sk_param_def *def, const void *val, const char *bound,
                       int sign)
{
    union {
        int64_t i;
        double f;
        uint64_t u;
    } b = {0};
    const char *ignored = NULL;

    if (bound == NULL) {
        return 0;
    }
    switch (def->type) {
    case SK_PARAM_INT:
        if (sk_param_parse_int(bound, &b.i) == 0) {
            return sign * (*(const int64_t *)val > b.i ? 1 : *(const int64_t *)val < b.i ? -1 : 0) > 0;
        }
        break;
    case SK_PARAM_TIME:
        if (sk_param_parse_time_ms(bound, &b.i, &ignored) == 0) {
            return sign * (*(const int64_t *)val > b.i ? 1 : *(const int64_t *)val < b.i ? -1 : 0) > 0;
        }
        break;
    case SK_PARAM_FLOAT:
        if (sk_param_parse_float(bound, &b.f) == 0) {
            return sign * (*(const double *)val > b.f ? 1 : *(const double *)val < b.f ? -1 : 0) > 0;
        }
        break;
    case SK_PARAM_SIZE:
        if (sk_param_parse_size(bound, &b.u) == 0) {
            return sign * (*(const uint64_t *)val > b.u ? 1 : *(const uint64_t *)val < b.u ? -1 : 0) > 0;
        }
        break;
    default:
        break;
    }
    return 0;
}

static void expected_text(const struct sk_param_def *def, char *out, size_t size)
{
    size_t used;

    if (def->type != SK_PARAM_ENUM) {
        snprintf(out, size, "%s", type_name(def->type));
        return;
    }
    used = (size_t)snprintf(out, size, "one of");
    for (int i = 0; def->choices[i] != NULL && used < size; i++) {
        used += (size_t)snprintf(out + used, size - used, "%s %s", i ? "," : "", def->choices[i]);
    }
}

static struct sk_conf_param *find_param(struct sk_conf_section *sec, const struct sk_param_def *def)
{
    struct sk_conf_param *p = sk_conf_find(sec, def->name);

    if (p == NULL && def->alias != NULL) {
        p = sk_conf_find(sec, def->alias);
    }
    return p;
}

static void mark_all(struct sk_conf_section *sec, const char *name)
{
    for (size_t i = 0; i < sec->nparams; i++) {
        if (strcmp(sec->params[i].key, name) == 0) {
            sec->params[i].used = true;
        }
    }
}

static int apply_one(const struct sk_param_def *def, struct sk_conf_section *sec, void *conf,
                     struct sk_diag *d, const char *where)
{
    struct sk_conf_param *p = find_param(sec, def);
    const char *warning = NULL;
    char expected[256];
    int rc;

    mark_all(sec, def->name);
    if (def->alias != NULL) {
        mark_all(sec, def->alias);
    }
    if (p != NULL && p->value[0] == '\0' && def->type != SK_PARAM_BOOL &&
        (def->type != SK_PARAM_STRING || def->def != NULL) &&
        !(def->flags & SK_PARAM_REQUIRED)) {
        /* Usually "#{ENV['X']}" with X unset: as if the line were not there.
         * A string without a default (a password) may well be empty. */
        if (def->def != NULL) {
            sk_diag_add(d, SK_DIAG_WARN, p->file, p->line, where,
                        "parameter '%s' is empty (an unset environment variable?); "
                        "using the default '%s'", p->key,
                        (def->flags & SK_PARAM_SECRET) ? "xxxxxx" : def->def);
        }
        p = NULL;
    }
    if (p == NULL) {
        if (def->flags & SK_PARAM_REQUIRED) {
            sk_diag_add(d, SK_DIAG_ERROR, sec->file, sec->line, where,
                        "'%s' parameter is required", def->name);
            return SK_ECONFIG;
        }
        if (def->def == NULL) {
            return 0;
        }
        rc = parse_value(def, def->def, field(conf, def), NULL);
        SK_BUG_ON(rc == SK_EPARSE); /* a table default that does not parse */
        return rc == 0 ? 0 : SK_ECONFIG;
    }
    if (def->flags & SK_PARAM_OBSOLETE) {
        sk_diag_add(d, SK_DIAG_WARN, p->file, p->line, where,
                    "parameter '%s' is obsolete and ignored: %s", p->key, def->desc);
        return 0;
    }
    if (def->flags & SK_PARAM_NOT_YET) {
        sk_diag_add(d, SK_DIAG_WARN, p->file, p->line, where,
                    "parameter '%s' is accepted but not implemented yet: it has no effect",
                    p->key);
    }
    if (def->flags & SK_PARAM_DEPRECATED) {
        sk_diag_add(d, SK_DIAG_WARN, p->file, p->line, where, "parameter '%s' is deprecated: %s",
                    p->key, def->desc);
    }
    rc = parse_value(def, p->value, field(conf, def), &warning);
    if (rc == SK_ENOMEM) {
        sk_diag_add(d, SK_DIAG_ERROR, p->file, p->line, where, "out of memory");
        return SK_ECONFIG;
    }
    if (rc < 0) {
        expected_text(def, expected, sizeof(expected));
        sk_diag_add(d, SK_DIAG_ERROR, p->file, p->line, where,
                    "invalid value for parameter '%s': '%s' (expected %s)", p->key,
                    (def->flags & SK_PARAM_SECRET) ? "xxxxxx" : p->value, expected);
        return SK_ECONFIG;
    }
    if (warning != NULL) {
        sk_diag_add(d, SK_DIAG_WARN, p->file, p->line, where, "parameter '%s' value '%s': %s",
                    p->key, p->value, warning);
    }
    if (check_bound(def, field(conf, def), def->min, -1) ||
        check_bound(def, field(conf, def), def->max, 1)) {
        sk_diag_add(d, SK_DIAG_ERROR, p->file, p->line, where,
                    "parameter '%s' value '%s' is out of range (%s%s%s%s)", p->key, p->value,
                    def->min ? "min " : "", def->min ? def->min : "", def->max ? " max " : "",
                    def->max ? def->max : "");
        return SK_ECONFIG;
    }
    return 0;
}

int sk_param_apply(const struct sk_param_def *defs, struct sk_conf_section *sec, void *conf,
                   struct sk_diag *d)
{
    char where[512];
    int result = 0;

    sk_conf_section_label(sec, where, sizeof(where));
    for (const struct sk_param_def *def = defs; def->name != NULL; def++) {
        if (apply_one(def, sec, conf, d, where) < 0) {
            result = SK_ECONFIG;
        }
    }
    return result;
}

void sk_param_release(const struct sk_param_def *defs, void *conf)
{
    if (conf == NULL) {
        return;
    }
    for (const struct sk_param_def *def = defs; def->name != NULL; def++) {
        void *dst = field(conf, def);

        switch (def->type) {
        case SK_PARAM_STRING:
        case SK_PARAM_REGEXP:
            sk_free(*(char **)dst);
            *(char **)dst = NULL;
            break;
        case SK_PARAM_ARRAY:
            sk_strv_free(dst);
            break;
        case SK_PARAM_HASH:
            sk_kvv_free(dst);
            break;
        default:
            break;
        }
    }
}

void sk_param_warn_unused(const struct sk_conf_section *sec, struct sk_diag *d)
{
    char where[512];

    sk_conf_section_label(sec, where, sizeof(where));
    for (size_t i = 0; i < sec->nparams; i++) {
        if (!sec->params[i].used) {
            sk_diag_add(d, SK_DIAG_WARN, sec->params[i].file, sec->params[i].line, NULL,
                        "parameter '%s' in %s is not used.", sec->params[i].key, where);
        }
    }
    for (size_t i = 0; i < sec->nchildren; i++) {
        sk_param_warn_unused(sec->children[i], d);
    }
}

/*
 * Appends s with the password of any URL in it ("http://user:pw@host",
 * as in proxy or hosts) shown as xxxxxx: the dump is for sharing.
 */
static int append_masked(struct sk_buf *out, const char *s)
{
    int rc = 0;

    while (rc == 0 && *s != '\0') {
        const char *scheme = strstr(s, "://");
        const char *user = scheme != NULL ? scheme + 3 : NULL;
        size_t auth = user != NULL ? strcspn(user, "/?#,@ ") : 0;
        const char *colon = user != NULL ? memchr(user, ':', auth) : NULL;

        if (scheme == NULL) {
            return sk_buf_append_str(out, s);
        }
        if (user[auth] != '@' || colon == NULL) { /* no password here: go on after it */
            rc = sk_buf_append(out, s, (size_t)(user + auth - s));
            s = user + auth;
            continue;
        }
        rc = sk_buf_append(out, s, (size_t)(colon + 1 - s));
        if (rc == 0) {
            rc = sk_buf_append_str(out, "xxxxxx");
        }
        s = user + auth; /* from the '@' on */
    }
    return rc;
}

static int dump_value(const struct sk_param_def *def, const void *val, struct sk_buf *out)
{
    const struct sk_strv *sv;
    const struct sk_kvv *kv;
    int rc = 0;

    switch (def->type) {
    case SK_PARAM_STRING:
        return append_masked(out, *(char *const *)val);
    case SK_PARAM_REGEXP:
        return sk_buf_append_str(out, *(char *const *)val);
    case SK_PARAM_INT:
        return sk_buf_printf(out, "%" PRId64, *(const int64_t *)val);
    case SK_PARAM_FLOAT:
        return sk_buf_printf(out, "%g", *(const double *)val);
    case SK_PARAM_BOOL:
        return sk_buf_append_str(out, *(const bool *)val ? "true" : "false");
    case SK_PARAM_SIZE:
        return sk_buf_printf(out, "%" PRIu64, *(const uint64_t *)val);
    case SK_PARAM_TIME:
        if (*(const int64_t *)val % 1000 == 0) {
            return sk_buf_printf(out, "%" PRId64 "s", *(const int64_t *)val / 1000);
        }
        return sk_buf_printf(out, "%" PRId64 "ms", *(const int64_t *)val);
    case SK_PARAM_ENUM:
        return sk_buf_append_str(out, def->choices[*(const int *)val]);
    case SK_PARAM_ARRAY:
        sv = val;
        for (size_t i = 0; i < sv->n && rc == 0; i++) {
            rc = i ? sk_buf_putc(out, ',') : 0;
            if (rc == 0) {
                rc = append_masked(out, sv->v[i]);
            }
        }
        return rc;
    case SK_PARAM_HASH:
        kv = val;
        for (size_t i = 0; i < kv->n && rc == 0; i++) {
            rc = sk_buf_printf(out, "%s%s:%s", i ? "," : "", kv->v[i].key, kv->v[i].value);
        }
        return rc;
    }
    return 0;
}

int sk_param_dump(const struct sk_param_def *defs, const void *conf, int indent,
                  struct sk_buf *out)
{
    int rc = 0;

    for (const struct sk_param_def *def = defs; def->name != NULL && rc == 0; def++) {
        const void *val = cfield(conf, def);

        if (def->flags & SK_PARAM_OBSOLETE) {
            continue;
        }
        if ((def->type == SK_PARAM_STRING || def->type == SK_PARAM_REGEXP) &&
            *(char *const *)val == NULL) {
            continue;
        }
        if ((def->type == SK_PARAM_ARRAY && ((const struct sk_strv *)val)->n == 0) ||
            (def->type == SK_PARAM_HASH && ((const struct sk_kvv *)val)->n == 0)) {
            continue;
        }
        rc = sk_buf_printf(out, "%*s%s ", indent, "", def->name);
        if (rc == 0 && (def->flags & SK_PARAM_SECRET)) {
            rc = sk_buf_append_str(out, "xxxxxx");
        } else if (rc == 0) {
            rc = dump_value(def, val, out);
        }
        if (rc == 0) {
            rc = sk_buf_putc(out, '\n');
        }
    }
    return rc;
}
