/*
 * record_transformer templates: <record> values compiled at start-up into
 * segments (rt_int.h), with Fluentd's placeholder syntax, the v0.12
 * ${key} shorthand, and the subset of enable_ruby that is only placeholders.
 */
#include "filter_record_transformer/rt_int.h"

#include <stdio.h>
#include <string.h>

#include "json/json.h"
#include "util/alloc.h"

#define RT_JSON_MAX (16u << 20)
#define RT_QUOTE_MAX 200 /* longest value quoted in a message */

static int seg_add(struct rt_str *s, enum rt_seg_kind kind, const char *text, size_t len)
{
    struct rt_seg *grown = sk_realloc(s->segs, (s->n + 1) * sizeof(*grown));
    struct rt_seg *g;

    if (grown == NULL) {
        return SK_ENOMEM;
    }
    s->segs = grown;
    g = &grown[s->n++];
    memset(g, 0, sizeof(*g));
    g->kind = kind;
    g->len = len;
    g->text = sk_strndup(text, len);
    return g->text == NULL ? SK_ENOMEM : 0;
}

static int key_add(struct rt_seg *g, const char *name, size_t len)
{
    struct rt_key *grown = sk_realloc(g->keys, (g->nkeys + 1) * sizeof(*grown));

    if (grown == NULL) {
        return SK_ENOMEM;
    }
    g->keys = grown;
    grown[g->nkeys].len = len;
    grown[g->nkeys].name = sk_strndup(name, len);
    if (grown[g->nkeys].name == NULL) {
        return SK_ENOMEM;
    }
    g->nkeys++;
    return 0;
}

/* Appends literal bytes, merging with a previous literal. */
static int text_add(struct rt_str *s, const char *text, size_t len)
{
    struct rt_seg *last = s->n > 0 ? &s->segs[s->n - 1] : NULL;
    char *grown;

    if (len == 0) {
        return 0;
    }
    if (last == NULL || last->kind != RT_SEG_TEXT) {
        return seg_add(s, RT_SEG_TEXT, text, len);
    }
    grown = sk_realloc(last->text, last->len + len + 1);
    if (grown == NULL) {
        return SK_ENOMEM;
    }
    memcpy(grown + last->len, text, len);
    last->text = grown;
    last->len += len;
    grown[last->len] = '\0';
    return 0;
}

static bool starts(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);

    return len >= n && memcmp(s, prefix, n) == 0;
}

/* Integer#to_s form only: "0", "7", "-1" (what Fluentd stores as keys). */
static bool canonical_int(const char *s, size_t len, int64_t *out)
{
    size_t i = len > 0 && s[0] == '-' ? 1 : 0;
    int64_t v = 0;

    if (i == len || (s[i] == '0' && (len - i > 1 || i == 1)) || len - i > 18) {
        return false;
    }
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = s[0] == '-' ? -v : v;
    return true;
}

static const struct {
    const char *name;
    enum rt_seg_kind kind;
} tag_arrays[] = {
    {"tag_parts", RT_SEG_TAG_PARTS},
    {"tag_prefix", RT_SEG_TAG_PREFIX},
    {"tag_suffix", RT_SEG_TAG_SUFFIX},
};

/* A name alone: tag, hostname, time. */
static bool plain_name(struct rt_seg *g, const char *x, size_t len)
{
    if (len == 3 && memcmp(x, "tag", 3) == 0) {
        g->kind = RT_SEG_TAG;
    } else if (len == 8 && memcmp(x, "hostname", 8) == 0) {
        g->kind = RT_SEG_HOSTNAME;
    } else if (len == 4 && memcmp(x, "time", 4) == 0) {
        g->kind = RT_SEG_TIME;
    } else {
        return false;
    }
    return true;
}

/* v0.12's ${key}: a bare record key (no brackets, quotes or blanks). */
static bool shorthand_key(const char *x, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (strchr("[]\"'(){}$ \t\r\n", x[i]) != NULL) {
            return false;
        }
    }
    return len > 0;
}

/* Classifies ${x} for the non-Ruby expander. 0, or SK_ENOMEM. */
static int classify(struct rt_seg *g, const char *x, size_t len, bool *shorthand)
{
    *shorthand = false;
    if (plain_name(g, x, len)) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(tag_arrays) / sizeof(tag_arrays[0]); i++) {
        size_t nl = strlen(tag_arrays[i].name);

        if (starts(x, len, tag_arrays[i].name) && len > nl + 2 && x[nl] == '[' &&
            x[len - 1] == ']' && canonical_int(x + nl + 1, len - nl - 2, &g->index)) {
            g->kind = tag_arrays[i].kind;
            return 0;
        }
    }
    if (starts(x, len, "record[\"") && len >= 10 && x[len - 2] == '"' && x[len - 1] == ']') {
        g->kind = RT_SEG_RECORD;
        return key_add(g, x + 8, len - 10);
    }
    if (shorthand_key(x, len)) {
        *shorthand = true;
        g->kind = RT_SEG_RECORD;
        return key_add(g, x, len);
    }
    g->kind = RT_SEG_UNKNOWN;
    return 0;
}

static void skip_blank(const char **p, const char *e)
{
    while (*p < e && (**p == ' ' || **p == '\t')) {
        (*p)++;
    }
}

/* A Ruby string literal without escapes or interpolation: "k" or 'k'. */
static bool ruby_str_lit(const char **p, const char *e, const char **s, size_t *len)
{
    char q = *p < e ? **p : '\0';
    const char *c;

    if (q != '"' && q != '\'') {
        return false;
    }
    for (c = *p + 1; c < e && *c != q; c++) {
        if (*c == '\\' || (q == '"' && *c == '#' && c + 1 < e && strchr("{$@", c[1]) != NULL)) {
            return false;
        }
    }
    if (c == e) {
        return false;
    }
    *s = *p + 1;
    *len = (size_t)(c - *p - 1);
    *p = c + 1;
    return true;
}

/* "[" blank* <item> blank* "]" where item is read by the caller. */
static bool open_bracket(const char **p, const char *e)
{
    skip_blank(p, e);
    if (*p >= e || **p != '[') {
        return false;
    }
    (*p)++;
    skip_blank(p, e);
    return true;
}

static bool close_bracket(const char **p, const char *e)
{
    skip_blank(p, e);
    if (*p >= e || **p != ']') {
        return false;
    }
    (*p)++;
    return true;
}

/* record["a"]["b"]...: 1 when it is one, 0 when not, SK_ENOMEM. */
static int ruby_record_chain(struct rt_seg *g, const char *x, const char *e)
{
    const char *p = x + 6;

    if (!starts(x, (size_t)(e - x), "record")) {
        return 0;
    }
    while (p < e) {
        const char *k;
        size_t klen;
        int rc;

        if (!open_bracket(&p, e) || !ruby_str_lit(&p, e, &k, &klen) || !close_bracket(&p, e)) {
            return 0;
        }
        rc = key_add(g, k, klen);
        if (rc < 0) {
            return rc;
        }
        skip_blank(&p, e);
    }
    g->kind = RT_SEG_RECORD;
    return g->nkeys > 0;
}

/* tag_parts[N] and friends as Ruby: N a decimal literal. */
static bool ruby_tag_array(struct rt_seg *g, const char *x, const char *e)
{
    for (size_t i = 0; i < sizeof(tag_arrays) / sizeof(tag_arrays[0]); i++) {
        const char *p = x + strlen(tag_arrays[i].name);
        const char *num;

        if (!starts(x, (size_t)(e - x), tag_arrays[i].name) || !open_bracket(&p, e)) {
            continue;
        }
        num = p;
        p += p < e && *p == '-';
        while (p < e && *p >= '0' && *p <= '9') {
            p++;
        }
        if (canonical_int(num, (size_t)(p - num), &g->index) && close_bracket(&p, e)) {
            skip_blank(&p, e);
            if (p == e) {
                g->kind = tag_arrays[i].kind;
                return true;
            }
        }
    }
    return false;
}

/* Evaluates-natively check for enable_ruby: 0 when supported (g filled),
 * SK_EUNSUPPORTED when not, SK_ENOMEM. */
static int ruby_expr(struct rt_seg *g, const char *x, size_t len)
{
    const char *e = x + len;
    int rc;

    skip_blank(&x, e);
    while (e > x && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }
    if (plain_name(g, x, (size_t)(e - x)) || ruby_tag_array(g, x, e)) {
        return 0;
    }
    rc = ruby_record_chain(g, x, e);
    return rc < 0 ? rc : (rc == 1 ? 0 : SK_EUNSUPPORTED);
}

static void ruby_error(const struct rt_compile_opts *o, struct sk_diag *d, const char *what,
                       size_t len, const char *why)
{
    sk_diag_add(d, SK_DIAG_ERROR, o->file, o->line, o->where,
                "embedded Ruby in record_transformer is not supported: %.*s%s%s",
                (int)(len > RT_QUOTE_MAX ? RT_QUOTE_MAX : len), what, why ? " " : "",
                why ? why : "");
}

/* Adds ${x} (placeholder text p[0..plen)) to s for the non-Ruby expander. */
static int add_placeholder(struct rt_str *s, const char *p, size_t plen,
                           const struct rt_compile_opts *o, struct sk_diag *d)
{
    bool shorthand;
    int rc = seg_add(s, RT_SEG_UNKNOWN, p, plen);

    if (rc == 0 && p[0] == '$') {
        rc = classify(&s->segs[s->n - 1], p + 2, plen - 3, &shorthand);
        if (rc == 0 && shorthand) {
            sk_diag_add(d, SK_DIAG_WARN, o->file, o->line, o->where,
                        "%.*s is the v0.12 shorthand for ${record[\"%.*s\"]}: skiff expands it "
                        "as td-agent 2 did (Fluentd v1 expands it to nothing)",
                        (int)plen, p, (int)(plen - 3), p + 2);
        }
    }
    if (rc == 0 && s->segs[s->n - 1].kind == RT_SEG_UNKNOWN) {
        sk_diag_add(d, SK_DIAG_WARN, o->file, o->line, o->where,
                    "unknown placeholder `%.*s` found: it expands to nil (nothing inside text)", (int)plen, p);
    }
    return rc;
}

/* The length of a __[A-Z_]+__ match at p (greedy, as Ruby), or 0. */
static size_t dunder(const char *p, size_t len)
{
    size_t run = 2;

    if (len < 5 || p[0] != '_' || p[1] != '_') {
        return 0;
    }
    while (run < len && ((p[run] >= 'A' && p[run] <= 'Z') || p[run] == '_')) {
        run++;
    }
    for (size_t e = run; e >= 5; e--) {
        if (p[e - 1] == '_' && p[e - 2] == '_') {
            return e;
        }
    }
    return 0;
}

/* Fluentd's gsub(/(\${[^}]+}|__[A-Z_]+__)/) split into segments. */
static int compile_plain(struct rt_str *s, const char *text, size_t len,
                         const struct rt_compile_opts *o, struct sk_diag *d)
{
    size_t lit = 0;
    size_t i = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        size_t m = 0;

        if (text[i] == '$' && i + 1 < len && text[i + 1] == '{') {
            const char *close = memchr(text + i + 2, '}', len - i - 2);

            m = close != NULL && close > text + i + 2 ? (size_t)(close - text - i) + 1 : 0;
        } else if (text[i] == '_') {
            m = dunder(text + i, len - i);
        }
        if (m == 0) {
            i++;
            continue;
        }
        rc = text_add(s, text + lit, i - lit);
        if (rc == 0) {
            rc = add_placeholder(s, text + i, m, o, d);
        }
        i += m;
        lit = i;
    }
    return rc == 0 ? text_add(s, text + lit, len - lit) : rc;
}

static int utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* One backslash escape of a Ruby double-quoted string at p[0] == '\\':
 * writes its bytes to out (room for 4) and returns the length consumed,
 * or 0 for escapes skiff does not read (\C-, \M-, \c, \u{...} lists). */
static size_t ruby_escape(const char *p, size_t len, char *out, int *outlen)
{
    static const char simple[] = "n\nt\tr\rf\fv\va\ab\be\033s ";
    const char *hit;
    uint32_t v = 0;
    size_t i = 1;

    *outlen = 0;
    if (len < 2) {
        return 0;
    }
    if (p[1] == '\n') {
        return 2; /* line continuation */
    }
    hit = strchr(simple, p[1]);
    if (hit != NULL && (hit - simple) % 2 == 0) {
        out[0] = hit[1];
        *outlen = 1;
        return 2;
    }
    if (p[1] >= '0' && p[1] <= '7') {
        for (; i < 4 && i < len && p[i] >= '0' && p[i] <= '7'; i++) {
            v = v * 8 + (uint32_t)(p[i] - '0');
        }
        out[0] = (char)(v & 0xff);
        *outlen = 1;
        return i;
    }
    if (p[1] == 'x') {
        for (i = 2; i < 4 && i < len && hexval(p[i]) >= 0; i++) {
            v = v * 16 + (uint32_t)hexval(p[i]);
        }
        out[0] = (char)v;
        *outlen = 1;
        return i > 2 ? i : 0;
    }
    if (p[1] == 'u') {
        for (i = 2; i < 6 && i < len && hexval(p[i]) >= 0; i++) {
            v = v * 16 + (uint32_t)hexval(p[i]);
        }
        *outlen = utf8_put(out, v);
        return i == 6 ? i : 0;
    }
    if (p[1] == 'c' || p[1] == 'C' || p[1] == 'M') {
        return 0;
    }
    out[0] = p[1];
    *outlen = 1;
    return 2;
}

/* Literal text of a %Q[...] string: escapes applied, nesting brackets
 * counted in *depth. NULL on success, else why it is not supported. */
static const char *ruby_literal(struct rt_str *s, const char *p, size_t len, int *depth, int *rc)
{
    size_t i = 0;

    *rc = 0;
    while (i < len && *rc == 0) {
        char buf[4];
        int n = 1;
        size_t used = 1;

        buf[0] = p[i];
        if (p[i] == '\\') {
            used = ruby_escape(p + i, len - i, buf, &n);
            if (used == 0) {
                return "(a backslash escape skiff does not read)";
            }
        } else if (p[i] == '#' && i + 1 < len && strchr("{$@", p[i + 1]) != NULL) {
            return "(Ruby interpolation)";
        } else if (p[i] == '[') {
            (*depth)++;
        } else if (p[i] == ']' && --(*depth) < 0) {
            return "(an unbalanced ']' ends Ruby's %Q[...] early)";
        }
        *rc = text_add(s, buf, (size_t)n);
        i += used;
    }
    return NULL;
}

/* enable_ruby: "%Q[text#{expr}text]", or a lone ${expr} kept typed. */
static int compile_ruby(struct rt_str *s, const char *text, size_t len,
                        const struct rt_compile_opts *o, struct sk_diag *d)
{
    size_t lit = 0;
    int depth = 0;
    int rc = 0;
    const char *why = NULL;

    s->ruby = true;
    for (size_t i = 0; i + 1 < len && rc == 0 && why == NULL; i++) {
        const char *close;

        if (text[i] != '$' || text[i + 1] != '{') {
            continue;
        }
        why = ruby_literal(s, text + lit, i - lit, &depth, &rc);
        close = memchr(text + i + 2, '}', len - i - 2);
        if (why != NULL || rc < 0) {
            break;
        }
        if (close == NULL) {
            ruby_error(o, d, text + i, len - i, "(no closing '}')");
            return SK_ECONFIG;
        }
        rc = seg_add(s, RT_SEG_UNKNOWN, text + i, (size_t)(close - text - i) + 1);
        if (rc == 0) {
            rc = ruby_expr(&s->segs[s->n - 1], text + i + 2, (size_t)(close - text - i) - 2);
        }
        if (rc == SK_EUNSUPPORTED) {
            ruby_error(o, d, text + i, (size_t)(close - text - i) + 1, NULL);
            return SK_ECONFIG;
        }
        i = (size_t)(close - text);
        lit = i + 1;
    }
    if (why == NULL && rc == 0) {
        why = ruby_literal(s, text + lit, len - lit, &depth, &rc);
    }
    if (why == NULL && rc == 0 && depth > 0) {
        why = "(an unclosed '[' leaves Ruby's %Q[...] open)";
    }
    if (why != NULL) {
        ruby_error(o, d, text, len, why);
        return SK_ECONFIG;
    }
    return rc;
}

/* Ruby mode's typed form: exactly one "${", at the start, "}" at the end. */
static bool ruby_single(const char *text, size_t len)
{
    size_t count = 0;

    for (size_t i = 0; i + 1 < len; i++) {
        count += text[i] == '$' && text[i + 1] == '{';
    }
    return count == 1 && len >= 3 && text[0] == '$' && text[1] == '{' && text[len - 1] == '}';
}

static int compile_str(struct rt_str *s, const char *text, size_t len, bool force_str,
                       const struct rt_compile_opts *o, struct sk_diag *d)
{
    int rc;

    memset(s, 0, sizeof(*s));
    if (o->enable_ruby && o->auto_typecast && !force_str && ruby_single(text, len)) {
        rc = seg_add(s, RT_SEG_UNKNOWN, text, len);
        if (rc == 0) {
            rc = ruby_expr(&s->segs[0], text + 2, len - 3);
        }
        if (rc == SK_EUNSUPPORTED) {
            ruby_error(o, d, text, len, NULL);
            return SK_ECONFIG;
        }
        s->typed = true;
        s->ruby = true;
        return rc;
    }
    rc = o->enable_ruby ? compile_ruby(s, text, len, o, d)
                        : compile_plain(s, text, len, o, d);
    /* Fluentd: /\A(\${[^}]+}|__[A-Z_]+__)\z/ returns the value itself. */
    s->typed = rc == 0 && !o->enable_ruby && o->auto_typecast && !force_str && s->n == 1 &&
               s->segs[0].kind != RT_SEG_TEXT;
    return rc;
}

int rt_compile_key(struct rt_str *s, const char *text, const struct rt_compile_opts *o,
                   struct sk_diag *d)
{
    return compile_str(s, text, strlen(text), true, o, d);
}

static int node_from_object(struct rt_node *node, const msgpack_object *obj,
                            const struct rt_compile_opts *o, struct sk_diag *d);

static int node_children(struct rt_node *node, const msgpack_object *obj,
                         const struct rt_compile_opts *o, struct sk_diag *d)
{
    bool map = obj->type == MSGPACK_OBJECT_MAP;
    uint32_t n = map ? obj->via.map.size : obj->via.array.size;
    int rc = 0;

    node->kind = map ? RT_NODE_MAP : RT_NODE_ARRAY;
    node->items = sk_calloc(n > 0 ? n : 1, sizeof(*node->items));
    node->keys = map ? sk_calloc(n > 0 ? n : 1, sizeof(*node->keys)) : NULL;
    if (node->items == NULL || (map && node->keys == NULL)) {
        return SK_ENOMEM;
    }
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const msgpack_object *v = map ? &obj->via.map.ptr[i].val : &obj->via.array.ptr[i];

        node->n = i + 1;
        if (map) {
            const msgpack_object *k = &obj->via.map.ptr[i].key;

            rc = compile_str(&node->keys[i], k->via.str.ptr, k->via.str.size, true, o, d);
        }
        if (rc == 0) {
            rc = node_from_object(&node->items[i], v, o, d);
        }
    }
    return rc;
}

static int node_from_object(struct rt_node *node, const msgpack_object *obj,
                            const struct rt_compile_opts *o, struct sk_diag *d)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    memset(node, 0, sizeof(*node));
    if (obj->type == MSGPACK_OBJECT_STR) {
        node->kind = RT_NODE_STR;
        return compile_str(&node->str, obj->via.str.ptr, obj->via.str.size, false, o, d);
    }
    if (obj->type == MSGPACK_OBJECT_MAP || obj->type == MSGPACK_OBJECT_ARRAY) {
        return node_children(node, obj, o, d);
    }
    node->kind = RT_NODE_VALUE;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, *obj) != 0) {
        msgpack_sbuffer_destroy(&sb);
        return SK_ENOMEM;
    }
    node->mplen = sb.size;
    node->mp = sk_malloc(sb.size);
    if (node->mp != NULL) {
        memcpy(node->mp, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    return node->mp == NULL ? SK_ENOMEM : 0;
}

/* JSON.parse(text) into a node; 1 when the text is not JSON. */
static int compile_json(struct rt_node *node, const char *text, const struct rt_compile_opts *o,
                        struct sk_diag *d)
{
    struct sk_buf mp;
    msgpack_packer pk;
    msgpack_unpacked up;
    size_t off = 0;
    int rc;

    sk_buf_init(&mp, RT_JSON_MAX);
    msgpack_packer_init(&pk, &mp, sk_buf_msgpack_write);
    msgpack_unpacked_init(&up);
    rc = sk_json_to_msgpack_depth(text, strlen(text), &pk, SK_JSON_UNPACK_MAX_DEPTH);
    if (rc == SK_EPARSE) {
        rc = 1;
    } else if (rc == 0 && msgpack_unpack_next(&up, mp.data, mp.len, &off) != MSGPACK_UNPACK_SUCCESS) {
        rc = SK_ENOMEM;
    } else if (rc == 0) {
        rc = node_from_object(node, &up.data, o, d);
    }
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&mp);
    return rc;
}

int rt_compile_value(struct rt_node *node, const char *text, const struct rt_compile_opts *o,
                     struct sk_diag *d)
{
    int rc;

    memset(node, 0, sizeof(*node));
    if (text[0] == '{' || text[0] == '[') {
        rc = compile_json(node, text, o, d);
        if (rc != 1) {
            return rc;
        }
        sk_diag_add(d, SK_DIAG_WARN, o->file, o->line, o->where,
                    "failed to parse %.*s as json. Assuming %.*s is a string", RT_QUOTE_MAX, text,
                    RT_QUOTE_MAX, text);
    }
    node->kind = RT_NODE_STR;
    return compile_str(&node->str, text, strlen(text), false, o, d);
}

void rt_str_free(struct rt_str *s)
{
    for (size_t i = 0; s->segs != NULL && i < s->n; i++) {
        for (size_t k = 0; k < s->segs[i].nkeys; k++) {
            sk_free(s->segs[i].keys[k].name);
        }
        sk_free(s->segs[i].keys);
        sk_free(s->segs[i].text);
    }
    sk_free(s->segs);
    memset(s, 0, sizeof(*s));
}

void rt_node_free(struct rt_node *node)
{
    rt_str_free(&node->str);
    for (size_t i = 0; node->items != NULL && i < node->n; i++) {
        rt_node_free(&node->items[i]);
        if (node->keys != NULL) {
            rt_str_free(&node->keys[i]);
        }
    }
    sk_free(node->items);
    sk_free(node->keys);
    sk_free(node->mp);
    memset(node, 0, sizeof(*node));
}
