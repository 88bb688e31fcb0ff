/*
 * The directive level of the Fluentd configuration language (Fluentd's
 * V1Parser): tags that open and close sections, "key value" parameters and
 * @include, built into the section tree of config.h.
 *
 * Unlike Fluentd, which stops at the first problem, every problem is added
 * to the diagnostics and reading goes on: a bad line is skipped, a tag
 * without '>' still opens its section, a closing tag for an outer section
 * closes the inner ones it skips over, so one run lists everything.
 */
#include "config/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/config_int.h"
#include "util/alloc.h"

#define SK_CONF_LABEL_MAX 256
#define SK_CONF_MSG_MAX 1024
#define SK_CONF_QUOTE_MAX 40

/*
 * Arrays in the tree keep no capacity field: they grow by doubling from 4,
 * so an array of n elements must grow exactly when n is 0 or a power of
 * two of at least 4.
 */
static int grow(void **arr, size_t n, size_t elem)
{
    size_t cap;
    void *p;

    if (n != 0 && (n < 4 || (n & (n - 1)) != 0)) {
        return 0;
    }
    cap = n == 0 ? 4 : n * 2;
    p = sk_realloc(*arr, cap * elem);
    if (p == NULL) {
        return SK_ENOMEM;
    }
    *arr = p;
    return 0;
}

void sk_conf_report(struct sk_conf_file *fx, enum sk_diag_level level, int line, const char *fmt,
                    ...)
{
    char where[SK_CONF_LABEL_MAX];
    char msg[SK_CONF_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (fx->cur->parent != NULL) {
        sk_conf_section_label(fx->cur, where, sizeof(where));
    }
    sk_diag_add(fx->ps->d, level, fx->name, line, fx->cur->parent != NULL ? where : NULL, "%s",
                msg);
}

void sk_conf_oom(struct sk_conf_parser *ps)
{
    if (!ps->oom) {
        ps->oom = true;
        sk_diag_add(ps->d, SK_DIAG_ERROR, NULL, 0, NULL, "out of memory reading the configuration");
    }
}

const char *sk_conf_add_file(struct sk_conf_parser *ps, const char *path)
{
    struct sk_conf *conf = ps->conf;
    char *copy;

    if (grow((void **)&conf->files, conf->nfiles, sizeof(*conf->files)) < 0) {
        return NULL;
    }
    copy = sk_strdup(path);
    if (copy == NULL) {
        return NULL;
    }
    conf->files[conf->nfiles++] = copy;
    return copy;
}

static struct sk_conf_section *section_new(struct sk_conf_file *fx, const char *name,
                                           size_t name_len, const char *arg, size_t arg_len,
                                           int line)
{
    struct sk_conf_section *parent = fx->cur;
    struct sk_conf_section *s = sk_calloc(1, sizeof(*s));

    if (s == NULL) {
        goto fail;
    }
    s->name = sk_strndup(name, name_len);
    s->arg = arg_len > 0 ? sk_strndup(arg, arg_len) : NULL;
    if (s->name == NULL || (arg_len > 0 && s->arg == NULL) ||
        grow((void **)&parent->children, parent->nchildren, sizeof(*parent->children)) < 0) {
        goto fail;
    }
    s->file = fx->name;
    s->line = line;
    s->parent = parent;
    parent->children[parent->nchildren++] = s;
    return s;

fail:
    if (s != NULL) {
        sk_free(s->name);
        sk_free(s->arg);
        sk_free(s);
    }
    sk_conf_oom(fx->ps);
    return NULL;
}

/* Adds key = value to the current section, taking the value's text. */
static void param_add(struct sk_conf_file *fx, const char *key, size_t key_len,
                      struct sk_conf_value *v, int line)
{
    struct sk_conf_section *s = fx->cur;
    struct sk_conf_param *p;
    char *k = sk_strndup(key, key_len);
    char *value = v->text.data != NULL ? sk_buf_take(&v->text, NULL) : sk_strdup("");

    if (k == NULL || value == NULL || grow((void **)&s->params, s->nparams, sizeof(*p)) < 0) {
        sk_free(k);
        sk_free(value);
        sk_conf_oom(fx->ps);
        return;
    }
    p = &s->params[s->nparams++];
    memset(p, 0, sizeof(*p));
    p->key = k;
    p->value = value;
    p->file = fx->name;
    p->line = line;
    p->quote = v->quote;
}

static size_t scan_name(struct sk_conf_lex *lx)
{
    const char *start = lx->p;

    while (lx->p < lx->end) {
        char c = *lx->p;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_')) {
            break;
        }
        lx->p++;
    }
    return (size_t)(lx->p - start);
}

static int quote_len(size_t n)
{
    return (int)(n > SK_CONF_QUOTE_MAX ? SK_CONF_QUOTE_MAX : n);
}

/* "<name arg>" on its own line opens a section; "<name arg" without '>'
 * is reported but still opens it, so its body and closing tag read well. */
static void parse_open(struct sk_conf_file *fx)
{
    struct sk_conf_lex *lx = &fx->lx;
    struct sk_conf_section *s;
    const char *name;
    const char *arg;
    const char *arg_end;
    size_t name_len;
    int line = lx->line;
    bool closed;

    lx->p++;
    name = lx->p;
    name_len = scan_name(lx);
    if (name_len == 0) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "expected a section name after '<': <%.*s",
                       quote_len(sk_conf_lex_rest(lx)), lx->p);
        sk_conf_lex_skip_line(lx);
        return;
    }
    sk_conf_lex_blanks(lx);
    arg = lx->p;
    while (lx->p < lx->end && *lx->p != '>' && *lx->p != '\n' && *lx->p != '\r') {
        lx->p++;
    }
    for (arg_end = lx->p; arg_end > arg && (arg_end[-1] == ' ' || arg_end[-1] == '\t');) {
        arg_end--;
    }
    closed = lx->p < lx->end && *lx->p == '>';
    lx->p += closed;
    s = section_new(fx, name, name_len, arg, (size_t)(arg_end - arg), line);
    if (s == NULL) {
        return;
    }
    fx->cur = s;
    if (!closed) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "missing '>' at the end of the tag");
        (void)sk_conf_lex_line_end(lx);
    } else if (!sk_conf_lex_line_end(lx)) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "unexpected text after the tag: %.*s",
                       quote_len(sk_conf_lex_rest(lx)), lx->p);
        sk_conf_lex_skip_line(lx);
    }
}

/* Closes every section from the current one up to `target`, which the
 * closing tag at `line` names, reporting those left open. */
static void close_up_to(struct sk_conf_file *fx, struct sk_conf_section *target, int line)
{
    while (fx->cur != target) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "missing </%s> before </%s> (opened at line %d)",
                       fx->cur->name, target->name, fx->cur->line);
        fx->cur = fx->cur->parent;
    }
    fx->cur = target->parent;
}

static void parse_close(struct sk_conf_file *fx)
{
    struct sk_conf_lex *lx = &fx->lx;
    struct sk_conf_section *s;
    const char *name;
    size_t name_len;
    int line = lx->line;

    lx->p += 2;
    name = lx->p;
    name_len = scan_name(lx);
    sk_conf_lex_blanks(lx);
    if (lx->p >= lx->end || *lx->p != '>') {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "malformed closing tag: </%.*s%.*s", (int)name_len,
                       name, quote_len(sk_conf_lex_rest(lx)), lx->p);
        sk_conf_lex_skip_line(lx);
    } else {
        lx->p++;
        if (!sk_conf_lex_line_end(lx)) {
            sk_conf_report(fx, SK_DIAG_ERROR, line, "unexpected text after </%.*s>: %.*s",
                           (int)name_len, name, quote_len(sk_conf_lex_rest(lx)), lx->p);
            sk_conf_lex_skip_line(lx);
        }
    }
    if (name_len == 0) {
        return;
    }
    if (fx->cur == fx->base) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "unexpected </%.*s>: %s", (int)name_len, name,
                       fx->base->parent == NULL
                           ? "no section is open"
                           : "a section opened in another file cannot be closed here");
        return;
    }
    for (s = fx->cur; s != fx->base; s = s->parent) {
        if (strlen(s->name) == name_len && memcmp(s->name, name, name_len) == 0) {
            close_up_to(fx, s, line);
            return;
        }
    }
    /* Most likely a typo in the name: close the current section anyway. */
    sk_conf_report(fx, SK_DIAG_ERROR, line,
                   "mismatched closing tag </%.*s>: expected </%s> (opened at line %d)",
                   (int)name_len, name, fx->cur->name, fx->cur->line);
    fx->cur = fx->cur->parent;
}

static bool word_is(const char *p, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(p, word, n) == 0;
}

/* "key value", "key" alone (value ""), or @include. */
static void parse_param(struct sk_conf_file *fx)
{
    struct sk_conf_lex *lx = &fx->lx;
    struct sk_conf_value v;
    const char *key = lx->p;
    size_t key_len;
    int line = lx->line;
    bool include;
    int rc;

    while (lx->p < lx->end && *lx->p != ' ' && *lx->p != '\t' && *lx->p != '\r' && *lx->p != '\n') {
        lx->p++;
    }
    key_len = (size_t)(lx->p - key);
    /* Like Fluentd, bare "include" works only at a file's top level. */
    include = word_is(key, key_len, "@include") ||
              (fx->cur == fx->base && word_is(key, key_len, "include"));
    sk_conf_value_init(&v);
    sk_conf_lex_blanks(lx);
    if (sk_conf_lex_line_end(lx)) {
        if (include) {
            sk_conf_report(fx, SK_DIAG_ERROR, line, "%.*s needs a file path or glob", (int)key_len,
                           key);
        } else {
            param_add(fx, key, key_len, &v, line);
        }
        goto cleanup;
    }
    rc = sk_conf_lex_value(fx, &v, !include);
    if (rc == SK_ENOMEM) {
        sk_conf_oom(fx->ps);
    } else if (rc < 0) {
        goto cleanup;
    } else if (include && v.special != SK_CONF_SPECIAL_NONE) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "use_nil and use_default cannot name a file");
    } else if (include) {
        if (*key != '@') {
            sk_conf_report(fx, SK_DIAG_WARN, line, "'include' is deprecated: use '@include'");
        }
        sk_conf_include(fx, v.text.data != NULL ? v.text.data : "", line);
    } else if (v.special == SK_CONF_SPECIAL_NONE) {
        param_add(fx, key, key_len, &v, line);
    }
    /* use_nil and use_default leave the parameter out, so its default applies. */

cleanup:
    sk_conf_value_cleanup(&v);
}

void sk_conf_parse_text(struct sk_conf_file *fx)
{
    struct sk_conf_lex *lx = &fx->lx;

    while (!fx->ps->oom) {
        sk_conf_lex_spacing(lx);
        if (sk_conf_lex_eof(lx)) {
            break;
        }
        if (*lx->p == '<' && lx->p + 1 < lx->end && lx->p[1] == '/') {
            parse_close(fx);
        } else if (*lx->p == '<') {
            parse_open(fx);
        } else {
            parse_param(fx);
        }
    }
    /* Sections cannot span files: whatever is still open is unterminated. */
    while (!fx->ps->oom && fx->cur != fx->base) {
        sk_conf_report(fx, SK_DIAG_ERROR, fx->cur->line,
                       "missing </%s>: reached the end of the file", fx->cur->name);
        fx->cur = fx->cur->parent;
    }
}

static struct sk_conf *conf_new(void)
{
    struct sk_conf *conf = sk_calloc(1, sizeof(*conf));

    if (conf == NULL) {
        return NULL;
    }
    conf->root = sk_calloc(1, sizeof(*conf->root));
    if (conf->root == NULL) {
        sk_free(conf);
        return NULL;
    }
    conf->root->name = sk_strdup("ROOT");
    if (conf->root->name == NULL) {
        sk_free(conf->root);
        sk_free(conf);
        return NULL;
    }
    return conf;
}

/* The shared tail of both loads: parse `text` as file `name`. */
static struct sk_conf *load(const char *name, bool is_path, const char *text, size_t len,
                            const struct sk_conf_incl *id, struct sk_diag *d)
{
    struct sk_conf_parser ps = { .d = d };
    struct sk_conf *conf = conf_new();

    if (conf == NULL) {
        sk_conf_oom(&ps);
        return NULL;
    }
    ps.conf = conf;
    if (id != NULL) {
        ps.stack[ps.depth++] = *id;
    }
    sk_conf_parse_file(&ps, name, is_path, text, len, conf->root);
    if (ps.oom) {
        sk_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

struct sk_conf *sk_conf_load(const char *path, struct sk_diag *d)
{
    struct sk_conf_incl id;
    struct sk_conf *conf = NULL;
    char *text = NULL;
    size_t len = 0;
    int errnum = 0;
    int rc = sk_conf_read_file(path, &text, &len, &id, &errnum);

    if (rc == SK_ENOMEM) {
        sk_diag_add(d, SK_DIAG_ERROR, NULL, 0, NULL, "out of memory reading the configuration");
    } else if (rc == SK_ETOOBIG) {
        sk_diag_add(d, SK_DIAG_ERROR, path, 0, NULL, "file is larger than %u bytes",
                    SK_CONF_MAX_FILE_SIZE);
    } else if (rc < 0) {
        sk_diag_add(d, SK_DIAG_ERROR, path, 0, NULL, "cannot read the configuration file: %s",
                    strerror(errnum));
    } else {
        conf = load(path, true, text, len, &id, d);
    }
    sk_free(text);
    return conf;
}

struct sk_conf *sk_conf_load_string(const char *name, const char *text, size_t len,
                                    struct sk_diag *d)
{
    return load(name, false, text, len, NULL, d);
}

/* Frees a section and everything under it without recursion, so no input
 * can exhaust the stack however deep it nests. */
static void section_free_tree(struct sk_conf_section *top)
{
    struct sk_conf_section *s = top;

    while (s != NULL) {
        struct sk_conf_section *parent;

        if (s->nchildren > 0) {
            s = s->children[--s->nchildren];
            continue;
        }
        parent = s == top ? NULL : s->parent;
        for (size_t i = 0; i < s->nparams; i++) {
            sk_free(s->params[i].key);
            sk_free(s->params[i].value);
        }
        sk_free(s->params);
        sk_free(s->children);
        sk_free(s->name);
        sk_free(s->arg);
        sk_free(s);
        s = parent;
    }
}

void sk_conf_destroy(struct sk_conf *conf)
{
    if (conf == NULL) {
        return;
    }
    section_free_tree(conf->root);
    for (size_t i = 0; i < conf->nfiles; i++) {
        sk_free(conf->files[i]);
    }
    sk_free(conf->files);
    sk_free(conf);
}

struct sk_conf_param *sk_conf_find(const struct sk_conf_section *s, const char *key)
{
    for (size_t i = s->nparams; i > 0; i--) {
        if (strcmp(s->params[i - 1].key, key) == 0) {
            return &s->params[i - 1];
        }
    }
    return NULL;
}

const char *sk_conf_get(const struct sk_conf_section *s, const char *key)
{
    const struct sk_conf_param *p = sk_conf_find(s, key);

    return p != NULL ? p->value : NULL;
}

const char *sk_conf_section_label(const struct sk_conf_section *s, char *out, size_t size)
{
    if (size == 0) {
        return out;
    }
    if (s->arg != NULL) {
        snprintf(out, size, "<%s %s>", s->name, s->arg);
    } else {
        snprintf(out, size, "<%s>", s->name);
    }
    return out;
}
