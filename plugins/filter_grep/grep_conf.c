/*
 * filter grep's configuration, with Fluentd's order, duplicate-key rules
 * and messages (filter_grep.rb#configure).
 */
#include "filter_grep/grep_int.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define GREP_REGEXP_MAX_NUM 20

struct grep_rule_conf {
    char *key;
    char *pattern;
};

/* <regexp> and <exclude>: key and pattern, both required. The pattern is
 * read as a string because the param engine's regexp type drops /.../i
 * flags; sk_ruby_regex_compile applies Fluentd's :regexp rules. */
static const struct sk_param_def grep_rule_params[] = {
    {.name = "key", .type = SK_PARAM_STRING, .flags = SK_PARAM_REQUIRED,
     .offset = offsetof(struct grep_rule_conf, key),
     .desc = "The field name to which the regular expression is applied."},
    {.name = "pattern", .type = SK_PARAM_STRING, .flags = SK_PARAM_REQUIRED,
     .offset = offsetof(struct grep_rule_conf, pattern), .desc = "The regular expression."},
    SK_PARAM_END,
};

/* Where a rule comes from, for messages. */
struct grep_src {
    const char *file;
    int line;
    const char *where;
};

static bool list_has(const struct grep_list *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].key.text, key) == 0) {
            return true;
        }
    }
    return false;
}

/* Compiles one rule into list `l`; `dup_msg` is Fluentd's duplicate-key
 * message prefix, `slashes` selects the :regexp type (/re/flags) over
 * Regexp.compile of the text as it is. */
static int add_rule(struct grep_list *l, const char *key, const char *pattern, bool slashes,
                    const char *dup_msg, const struct grep_src *src, struct sk_diag *d)
{
    const char *warning = NULL;
    struct grep_expr *grown;
    struct grep_expr *e;
    char err[512] = "";
    int rc;

    if (list_has(l, key)) {
        sk_diag_add(d, SK_DIAG_ERROR, src->file, src->line, src->where, "%s%s", dup_msg, key);
        return SK_ECONFIG;
    }
    grown = sk_realloc(l->v, (l->n + 1) * sizeof(*grown));
    if (grown == NULL) {
        return SK_ENOMEM;
    }
    l->v = grown;
    e = &l->v[l->n];
    memset(e, 0, sizeof(*e));
    l->n++;
    rc = fc_accessor_parse(&e->key, key, err, sizeof(err));
    if (rc == 0) {
        rc = sk_ruby_regex_compile(&e->re, pattern, slashes ? SK_RUBY_RE_SLASHES : 0, err,
                                   sizeof(err), &warning);
    }
    if (rc == SK_ECONFIG) {
        sk_diag_add(d, SK_DIAG_ERROR, src->file, src->line, src->where, "%s", err);
    }
    if (rc == 0 && warning != NULL) {
        sk_diag_add(d, SK_DIAG_WARN, src->file, src->line, src->where, "%s", warning);
    }
    return rc;
}

/* regexp1..20 or exclude1..20: "key pattern", split at the first space. */
static int add_numbered(struct sk_instance *ins, const char *prefix, struct grep_list *l,
                        const char *where, struct sk_diag *d)
{
    int result = 0;

    for (int i = 1; i <= GREP_REGEXP_MAX_NUM; i++) {
        char name[32];
        char dup[64];
        struct sk_conf_param *p;
        const char *space;
        struct grep_src src;
        char *key;
        int rc;

        snprintf(name, sizeof(name), "%s%d", prefix, i);
        p = sk_conf_find(ins->section, name);
        if (p == NULL) {
            continue;
        }
        p->used = true;
        src = (struct grep_src){p->file, p->line, where};
        sk_diag_add(d, SK_DIAG_WARN, p->file, p->line, where,
                    "'%s' parameter is deprecated: Use <%s> section", name, prefix);
        space = strchr(p->value, ' ');
        if (space == NULL) {
            sk_diag_add(d, SK_DIAG_ERROR, p->file, p->line, where,
                        "%s does not contain 2 parameters", name);
            result = SK_ECONFIG;
            continue;
        }
        key = sk_strndup(p->value, (size_t)(space - p->value));
        if (key == NULL) {
            return SK_ENOMEM;
        }
        snprintf(dup, sizeof(dup), "%s contains a duplicated key, ", name);
        rc = add_rule(l, key, space + 1, false, dup, &src, d);
        sk_free(key);
        if (rc == SK_ENOMEM) {
            return rc;
        }
        result = rc < 0 ? rc : result;
    }
    return result;
}

/* One <regexp> or <exclude> section. */
static int add_section(struct sk_conf_section *sec, struct grep_list *l, const char *dup_msg,
                       const char *where, struct sk_diag *d)
{
    struct grep_rule_conf rc_conf = {NULL, NULL};
    struct grep_src src = {sec->file, sec->line, where};
    int rc;

    sec->used = true;
    rc = sk_param_apply(grep_rule_params, sec, &rc_conf, d);
    if (rc == 0) {
        rc = add_rule(l, rc_conf.key, rc_conf.pattern, true, dup_msg, &src, d);
    }
    sk_param_release(grep_rule_params, &rc_conf);
    return rc;
}

static size_t count_children(const struct sk_conf_section *sec, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < sec->nchildren; i++) {
        n += strcmp(sec->children[i]->name, name) == 0;
    }
    return n;
}

/* <and> or <or>: regexps into `re`, excludes into `ex`, not both. */
static int add_group(struct sk_conf_section *grp, struct grep_list *re, struct grep_list *ex,
                     struct sk_diag *d)
{
    char where[128];
    char dup[64];
    int result = 0;

    grp->used = true;
    sk_conf_section_label(grp, where, sizeof(where));
    if (count_children(grp, "regexp") > 0 && count_children(grp, "exclude") > 0) {
        sk_diag_add(d, SK_DIAG_ERROR, grp->file, grp->line, where,
                    "Do not specify both <regexp> and <exclude> in <%s>", grp->name);
        return SK_ECONFIG;
    }
    snprintf(dup, sizeof(dup), "Duplicate key in <%s>: ", grp->name);
    for (size_t i = 0; i < grp->nchildren; i++) {
        struct sk_conf_section *c = grp->children[i];
        bool is_re = strcmp(c->name, "regexp") == 0;
        int rc;

        if (!is_re && strcmp(c->name, "exclude") != 0) {
            continue;
        }
        rc = add_section(c, is_re ? re : ex, dup, where, d);
        if (rc == SK_ENOMEM) {
            return rc;
        }
        result = rc < 0 ? rc : result;
    }
    return result;
}

/* Top-level sections named `name` into `l`. */
static int add_top(struct sk_conf_section *sec, const char *name, struct grep_list *l,
                   const char *where, struct sk_diag *d)
{
    int result = 0;

    for (size_t i = 0; i < sec->nchildren; i++) {
        int rc;

        if (strcmp(sec->children[i]->name, name) != 0) {
            continue;
        }
        rc = add_section(sec->children[i], l, "Duplicate key: ", where, d);
        if (rc == SK_ENOMEM) {
            return rc;
        }
        result = rc < 0 ? rc : result;
    }
    return result;
}

/* Every <and> (re/ex: the and-lists) or every <or>, in order. */
static int add_groups(struct sk_conf_section *sec, const char *name, struct grep_list *re,
                      struct grep_list *ex, struct sk_diag *d)
{
    int result = 0;

    for (size_t i = 0; i < sec->nchildren && result != SK_ENOMEM; i++) {
        if (strcmp(sec->children[i]->name, name) == 0) {
            int rc = add_group(sec->children[i], re, ex, d);

            result = rc < 0 ? rc : result;
        }
    }
    return result;
}

/* Keeps going after configuration errors (to report them all), not after
 * running out of memory. */
static int worst(int a, int b)
{
    return a == SK_ENOMEM || b == SK_ENOMEM ? SK_ENOMEM : (a < 0 ? a : b);
}

int grep_conf_build(struct grep_ctx *ctx, struct sk_instance *ins, struct sk_diag *d)
{
    struct grep_list *l = ctx->lists;
    struct sk_conf_section *sec = ins->section;
    char where[256];
    int rc;

    sk_instance_where(ins, where, sizeof(where));
    rc = add_numbered(ins, "regexp", &l[GREP_REGEXP_AND], where, d);
    if (rc != SK_ENOMEM) {
        rc = worst(rc, add_numbered(ins, "exclude", &l[GREP_EXCLUDE_OR], where, d));
    }
    if (rc != SK_ENOMEM) {
        rc = worst(rc, add_top(sec, "regexp", &l[GREP_REGEXP_AND], where, d));
    }
    if (rc != SK_ENOMEM) {
        rc = worst(rc, add_top(sec, "exclude", &l[GREP_EXCLUDE_OR], where, d));
    }
    if (rc != SK_ENOMEM) {
        rc = worst(rc, add_groups(sec, "and", &l[GREP_REGEXP_AND], &l[GREP_EXCLUDE_AND], d));
    }
    if (rc != SK_ENOMEM) {
        rc = worst(rc, add_groups(sec, "or", &l[GREP_REGEXP_OR], &l[GREP_EXCLUDE_OR], d));
    }
    return rc;
}

void grep_conf_cleanup(struct grep_ctx *ctx)
{
    for (size_t i = 0; i < GREP_NLISTS; i++) {
        struct grep_list *l = &ctx->lists[i];

        for (size_t j = 0; j < l->n; j++) {
            fc_accessor_cleanup(&l->v[j].key);
            sk_ruby_regex_cleanup(&l->v[j].re);
        }
        sk_free(l->v);
        l->v = NULL;
        l->n = 0;
    }
}
