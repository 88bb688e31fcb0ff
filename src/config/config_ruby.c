/*
 * The embedded Ruby that real td-agent.conf files use, and nothing more.
 * Fluentd evaluates "#{...}" in double-quoted values as Ruby; skiff has no
 * Ruby, so it understands the expressions found in practice (fluentd-
 * kubernetes-daemonset, the k8s addon configs, Docker images):
 *
 *   expr    := or [ '?' expr ':' expr ]
 *   or      := primary { '||' primary }
 *   primary := ENV '[' string ']' | ENV '.' fetch '(' string [ ',' expr ] ')'
 *            | Socket '.' gethostname | hostname | worker_id
 *            | File '.' join '(' expr { ',' expr } ')'
 *            | string | integer | true | false | nil | use_nil | use_default
 *            | '(' expr ')'
 *
 * Anything else is reported as unsupported with the code quoted, rather
 * than guessed at. Values are slices of one scratch buffer rather than
 * strings of their own, which keeps the allocation failure paths few.
 */
#include "config/config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SK_RUBY_MAX_DEPTH 16
#define SK_RUBY_HOST_MAX 256
#define SK_RUBY_QUOTE_MAX 160 /* longest code quoted in a message */

enum rb_tok {
    RB_EOF,
    RB_IDENT,
    RB_STRING,
    RB_INT,
    RB_PUNCT, /* one of [ ] ( ) , . ? : */
    RB_OROR,
    RB_BAD,
};

enum rb_kind {
    RB_NIL,
    RB_STR, /* text at scratch[off, off+len) */
    RB_TRUE,
    RB_FALSE,
    RB_USE_NIL,
    RB_USE_DEFAULT,
};

struct rb_val {
    enum rb_kind kind;
    size_t off;
    size_t len;
    const char *env; /* for RB_NIL from an unset ENV['X']: the name, in code */
    size_t env_len;
};

struct rb {
    const char *p;
    const char *end;
    enum rb_tok tok;
    const char *tok_start;
    size_t tok_len;
    size_t str_off; /* RB_STRING: decoded text in scratch */
    size_t str_len;
    struct sk_buf scratch;
    int err;      /* first failure: SK_EUNSUPPORTED, SK_EINVAL, SK_ENOMEM */
    char why[96]; /* SK_EINVAL: what went wrong */
    int depth;
};

static void rb_fail(struct rb *r, int err)
{
    if (r->err == 0) {
        r->err = err;
    }
}

static bool is_ident(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

static void rb_put(struct rb *r, char c)
{
    int rc = sk_buf_putc(&r->scratch, c);

    if (rc < 0) {
        rb_fail(r, rc);
    }
}

/* Decodes a Ruby string literal into scratch: '' knows \' and \\, "" the
 * usual escapes. Interpolation inside it is more Ruby than we speak. */
static void lex_string(struct rb *r, char q)
{
    r->str_off = r->scratch.len;
    r->p++;
    while (r->p < r->end && *r->p != q) {
        char c = *r->p++;

        if (c == '\\' && r->p < r->end) {
            char n = *r->p++;

            if (q == '"') {
                c = n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
            } else if (n == '\'' || n == '\\') {
                c = n;
            } else {
                rb_put(r, c);
                c = n;
            }
        } else if (q == '"' && c == '#' && r->p < r->end && *r->p == '{') {
            rb_fail(r, SK_EUNSUPPORTED);
        }
        rb_put(r, c);
    }
    if (r->p >= r->end) {
        r->tok = RB_BAD;
        return;
    }
    r->p++;
    r->str_len = r->scratch.len - r->str_off;
    r->tok = RB_STRING;
}

static void rb_next(struct rb *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t')) {
        r->p++;
    }
    r->tok_start = r->p;
    if (r->p >= r->end) {
        r->tok = RB_EOF;
    } else if (*r->p == '\'' || *r->p == '"') {
        lex_string(r, *r->p);
    } else if (is_ident(*r->p, true)) {
        while (r->p < r->end && is_ident(*r->p, false)) {
            r->p++;
        }
        r->tok = RB_IDENT;
    } else if ((*r->p >= '0' && *r->p <= '9') || *r->p == '-') {
        r->p++;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            r->p++;
        }
        r->tok = r->p - r->tok_start > 1 || *r->tok_start != '-' ? RB_INT : RB_BAD;
    } else if (r->end - r->p >= 2 && r->p[0] == '|' && r->p[1] == '|') {
        r->p += 2;
        r->tok = RB_OROR;
    } else if (strchr("[](),.?:", *r->p) != NULL) {
        r->p++;
        r->tok = RB_PUNCT;
    } else {
        r->p++;
        r->tok = RB_BAD;
    }
    r->tok_len = (size_t)(r->p - r->tok_start);
}

static bool tok_is(const struct rb *r, enum rb_tok t, const char *text)
{
    return r->tok == t && r->tok_len == strlen(text) && memcmp(r->tok_start, text, r->tok_len) == 0;
}

/* Consumes the expected token or fails as unsupported. */
static bool expect(struct rb *r, enum rb_tok t, const char *text)
{
    if (!tok_is(r, t, text)) {
        rb_fail(r, SK_EUNSUPPORTED);
        return false;
    }
    rb_next(r);
    return true;
}

static struct rb_val str_val(size_t off, size_t len)
{
    struct rb_val v = { .kind = RB_STR, .off = off, .len = len };

    return v;
}

static struct rb_val store(struct rb *r, const char *s, size_t n)
{
    size_t off = r->scratch.len;
    int rc = sk_buf_append(&r->scratch, s, n);

    if (rc < 0) {
        rb_fail(r, rc);
    }
    return str_val(off, n);
}

static bool truthy(const struct rb_val *v)
{
    return v->kind != RB_NIL && v->kind != RB_FALSE;
}

static struct rb_val expr(struct rb *r);

/* Looks up the variable named by the string token just read. */
static struct rb_val env_lookup(struct rb *r)
{
    struct rb_val v = { .kind = RB_NIL };
    char name[256];
    const char *value;

    if (r->tok != RB_STRING || r->str_len >= sizeof(name)) {
        rb_fail(r, SK_EUNSUPPORTED);
        return v;
    }
    if (r->str_len > 0) {
        memcpy(name, r->scratch.data + r->str_off, r->str_len);
    }
    name[r->str_len] = '\0';
    value = getenv(name);
    if (value != NULL) {
        return store(r, value, strlen(value));
    }
    /* The name as written in the code, for a warning about the empty value. */
    v.env = r->tok_start + 1;
    v.env_len = r->tok_len - 2;
    return v;
}

/* ENV['X'] or ENV.fetch('X'[, default]), after "ENV". */
static struct rb_val env_expr(struct rb *r)
{
    struct rb_val v = { .kind = RB_NIL };

    if (tok_is(r, RB_PUNCT, "[")) {
        rb_next(r);
        v = env_lookup(r);
        rb_next(r);
        expect(r, RB_PUNCT, "]");
        return v;
    }
    if (!expect(r, RB_PUNCT, ".") || !expect(r, RB_IDENT, "fetch") || !expect(r, RB_PUNCT, "(")) {
        return v;
    }
    v = env_lookup(r);
    rb_next(r);
    if (tok_is(r, RB_PUNCT, ",")) {
        struct rb_val def;

        rb_next(r);
        def = expr(r);
        if (v.kind == RB_NIL) {
            v = def;
        }
    } else if (v.kind == RB_NIL && r->err == 0) {
        /* Ruby raises KeyError here; so do we, with a message. */
        snprintf(r->why, sizeof(r->why), "ENV.fetch: %.*s is not set and has no default",
                 (int)v.env_len, v.env);
        rb_fail(r, SK_EINVAL);
    }
    expect(r, RB_PUNCT, ")");
    v.env = NULL;
    return v;
}

static struct rb_val host_val(struct rb *r)
{
    char host[SK_RUBY_HOST_MAX];

    if (gethostname(host, sizeof(host)) != 0) {
        return store(r, "localhost", 9);
    }
    host[sizeof(host) - 1] = '\0';
    return store(r, host, strlen(host));
}

/* Text of a value for joining: nil is empty, booleans spell themselves. */
static void val_text(const struct rb *r, const struct rb_val *v, const char **s, size_t *n)
{
    *s = v->kind == RB_TRUE ? "true" : v->kind == RB_FALSE ? "false" : "";
    *n = strlen(*s);
    if (v->kind == RB_STR && v->len > 0) {
        *s = r->scratch.data + v->off;
        *n = v->len;
    }
}

/*
 * File.join: one '/' between parts, whatever slashes they bring. Each part
 * is evaluated before the result grows, so its text is copied from below
 * the result's start.
 */
static struct rb_val file_join(struct rb *r)
{
    struct sk_buf out;
    struct rb_val v = { .kind = RB_NIL };

    sk_buf_init(&out, SK_CONF_MAX_VALUE);
    if (!expect(r, RB_PUNCT, "(")) {
        return v;
    }
    for (bool first = true; r->err == 0; first = false) {
        struct rb_val part = expr(r);
        const char *s;
        size_t n;
        int rc = 0;

        val_text(r, &part, &s, &n);
        if (!first && out.len > 0 && out.data[out.len - 1] == '/') {
            while (n > 0 && *s == '/') {
                s++;
                n--;
            }
        } else if (!first && (n == 0 || *s != '/')) {
            rc = sk_buf_putc(&out, '/');
        }
        rc = rc < 0 ? rc : sk_buf_append(&out, s, n);
        if (rc < 0) {
            rb_fail(r, rc);
        }
        if (!tok_is(r, RB_PUNCT, ",")) {
            break;
        }
        rb_next(r);
    }
    expect(r, RB_PUNCT, ")");
    if (r->err == 0) {
        v = store(r, out.data != NULL ? out.data : "", out.len);
    }
    sk_buf_cleanup(&out);
    return v;
}

/* A method call on a constant: Socket.gethostname, File.join(...). */
static struct rb_val const_call(struct rb *r, const char *recv)
{
    struct rb_val v = { .kind = RB_NIL };

    if (!expect(r, RB_PUNCT, ".")) {
        return v;
    }
    if (strcmp(recv, "Socket") == 0 && tok_is(r, RB_IDENT, "gethostname")) {
        rb_next(r);
        return host_val(r);
    }
    if (strcmp(recv, "File") == 0 && tok_is(r, RB_IDENT, "join")) {
        rb_next(r);
        return file_join(r);
    }
    rb_fail(r, SK_EUNSUPPORTED);
    return v;
}

static struct rb_val ident(struct rb *r)
{
    static const struct {
        const char *name;
        enum rb_kind kind;
    } words[] = {
        { "nil", RB_NIL },
        { "true", RB_TRUE },
        { "false", RB_FALSE },
        { "use_nil", RB_USE_NIL },
        { "use_default", RB_USE_DEFAULT },
    };
    struct rb_val v = { .kind = RB_NIL };

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (tok_is(r, RB_IDENT, words[i].name)) {
            rb_next(r);
            v.kind = words[i].kind;
            return v;
        }
    }
    if (tok_is(r, RB_IDENT, "ENV")) {
        rb_next(r);
        return env_expr(r);
    }
    if (tok_is(r, RB_IDENT, "hostname")) {
        rb_next(r);
        return host_val(r);
    }
    if (tok_is(r, RB_IDENT, "worker_id")) {
        /* skiff runs one worker; Fluentd's worker_id comes from this too. */
        const char *id = getenv("SERVERENGINE_WORKER_ID");

        rb_next(r);
        return store(r, id != NULL ? id : "0", id != NULL ? strlen(id) : 1);
    }
    if (tok_is(r, RB_IDENT, "Socket") || tok_is(r, RB_IDENT, "File")) {
        const char *recv = *r->tok_start == 'S' ? "Socket" : "File";

        rb_next(r);
        return const_call(r, recv);
    }
    rb_fail(r, SK_EUNSUPPORTED);
    return v;
}

static struct rb_val primary(struct rb *r)
{
    struct rb_val v = { .kind = RB_NIL };

    if (r->err != 0) {
        return v;
    }
    if (r->tok == RB_STRING) {
        v = str_val(r->str_off, r->str_len);
        rb_next(r);
    } else if (r->tok == RB_INT) {
        v = store(r, r->tok_start, r->tok_len);
        rb_next(r);
    } else if (r->tok == RB_IDENT) {
        v = ident(r);
    } else if (tok_is(r, RB_PUNCT, "(")) {
        rb_next(r);
        v = expr(r);
        expect(r, RB_PUNCT, ")");
    } else {
        rb_fail(r, SK_EUNSUPPORTED);
    }
    return v;
}

static struct rb_val or_expr(struct rb *r)
{
    struct rb_val v = primary(r);

    while (r->err == 0 && r->tok == RB_OROR) {
        struct rb_val rhs;

        rb_next(r);
        rhs = primary(r);
        if (!truthy(&v)) {
            v = rhs;
        }
    }
    return v;
}

static struct rb_val expr(struct rb *r)
{
    struct rb_val v = { .kind = RB_NIL };

    if (++r->depth > SK_RUBY_MAX_DEPTH) {
        rb_fail(r, SK_EUNSUPPORTED);
    } else {
        v = or_expr(r);
        if (r->err == 0 && tok_is(r, RB_PUNCT, "?")) {
            struct rb_val a;
            struct rb_val b;
            bool cond = truthy(&v);

            rb_next(r);
            a = expr(r);
            expect(r, RB_PUNCT, ":");
            b = expr(r);
            v = cond ? a : b;
        }
    }
    r->depth--;
    return v;
}

static void report(struct sk_conf_file *fx, const struct rb *r, const char *code, size_t len,
                   int line)
{
    if (r->err == SK_EINVAL) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "%s", r->why);
    } else if (r->err == SK_EUNSUPPORTED) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "embedded Ruby code is not supported: #{%.*s%s}",
                       (int)(len > SK_RUBY_QUOTE_MAX ? SK_RUBY_QUOTE_MAX : len), code,
                       len > SK_RUBY_QUOTE_MAX ? " ..." : "");
    }
}

int sk_conf_ruby_eval(struct sk_conf_file *fx, const char *code, size_t len, int line,
                      struct sk_buf *out, enum sk_conf_special *special)
{
    struct rb r = { .p = code, .end = code + len };
    struct rb_val v;
    const char *s;
    size_t n;
    int rc = 0;

    sk_buf_init(&r.scratch, SK_CONF_MAX_VALUE);
    rb_next(&r);
    v = expr(&r);
    if (r.err == 0 && r.tok != RB_EOF) {
        rb_fail(&r, SK_EUNSUPPORTED);
    }
    if (r.err != 0) {
        rc = r.err;
        report(fx, &r, code, len, line);
        goto cleanup;
    }
    if (v.kind == RB_USE_NIL || v.kind == RB_USE_DEFAULT) {
        *special = v.kind == RB_USE_NIL ? SK_CONF_SPECIAL_USE_NIL : SK_CONF_SPECIAL_USE_DEFAULT;
        goto cleanup;
    }
    if (v.kind == RB_NIL && v.env != NULL) {
        /* Fluentd silently makes this empty; say so, it is often a typo. */
        sk_conf_report(fx, SK_DIAG_WARN, line,
                       "environment variable %.*s is not set: the value is empty", (int)v.env_len,
                       v.env);
    }
    val_text(&r, &v, &s, &n);
    rc = sk_buf_append(out, s, n);

cleanup:
    sk_buf_cleanup(&r.scratch);
    return rc;
}
