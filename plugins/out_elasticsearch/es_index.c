#include "out_elasticsearch/es_index.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "timefmt/timefmt.h"
#include "util/alloc.h"

enum seg_kind {
    SEG_LIT,
    SEG_TAG,
    SEG_TAG_PART,
    SEG_KEY,
    SEG_CHUNK_ID,
};

struct seg {
    enum seg_kind kind;
    char *text;   /* owned: literal text, or the key name; the raw "${...}" for SEG_TAG_PART */
    size_t len;
    int index;    /* SEG_TAG_PART */
    bool has_pct; /* SEG_LIT holds a strftime directive */
};

struct es_tmpl {
    struct seg *segs; /* owned */
    size_t n;
    bool dynamic;
};

#define ES_TMPL_PART_MAX 4096

void es_tmpl_free(struct es_tmpl *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        sk_free(t->segs[i].text);
    }
    sk_free(t->segs);
    sk_free(t);
}

static int push_seg(struct es_tmpl *t, enum seg_kind kind, const char *s, size_t len, int index)
{
    struct seg *segs = sk_realloc(t->segs, (t->n + 1) * sizeof(*segs));

    if (segs == NULL) {
        return SK_ENOMEM;
    }
    t->segs = segs;
    segs[t->n].kind = kind;
    segs[t->n].len = len;
    segs[t->n].index = index;
    segs[t->n].has_pct = kind == SEG_LIT && memchr(s, '%', len) != NULL;
    segs[t->n].text = sk_strndup(s, len);
    if (segs[t->n].text == NULL) {
        return SK_ENOMEM;
    }
    if (kind != SEG_LIT || segs[t->n].has_pct) {
        t->dynamic = true;
    }
    t->n++;
    return 0;
}

/* ${tag[N]}: parses N (may be negative). */
static bool tag_index(const char *name, size_t len, int *index)
{
    long v = 0;
    size_t i = 4;
    bool neg = false;

    if (len < 6 || memcmp(name, "tag[", 4) != 0 || name[len - 1] != ']') {
        return false;
    }
    if (name[i] == '-') {
        neg = true;
        i++;
    }
    if (i >= len - 1) {
        return false;
    }
    for (; i < len - 1; i++) {
        if (!isdigit((unsigned char)name[i]) || v > 100000) {
            return false;
        }
        v = v * 10 + (name[i] - '0');
    }
    *index = (int)(neg ? -v : v);
    return true;
}

/* Fluentd's chunk key names: [-_.@$a-zA-Z0-9]+ */
static bool key_name(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && strchr("-_.@$", s[i]) == NULL) {
            return false;
        }
    }
    return len > 0;
}

static int compile_placeholder(struct es_tmpl *t, const char *p, size_t len)
{
    const char *name = p + 2;
    size_t nlen = len - 3;
    int index;

    if (nlen == 3 && memcmp(name, "tag", 3) == 0) {
        return push_seg(t, SEG_TAG, name, nlen, 0);
    }
    if (nlen == 8 && memcmp(name, "chunk_id", 8) == 0) {
        return push_seg(t, SEG_CHUNK_ID, name, nlen, 0);
    }
    if (tag_index(name, nlen, &index)) {
        return push_seg(t, SEG_TAG_PART, p, len, index);
    }
    if (key_name(name, nlen)) {
        return push_seg(t, SEG_KEY, name, nlen, 0);
    }
    return push_seg(t, SEG_LIT, p, len, 0); /* not a placeholder: literal */
}

int es_tmpl_compile(const char *text, struct es_tmpl **out)
{
    struct es_tmpl *t = sk_calloc(1, sizeof(*t));
    const char *p = text;
    int rc = 0;

    *out = NULL;
    if (t == NULL) {
        return SK_ENOMEM;
    }
    while (*p != '\0' && rc == 0) {
        const char *open = strstr(p, "${");
        const char *close;

        if (open == NULL) {
            rc = push_seg(t, SEG_LIT, p, strlen(p), 0);
            break;
        }
        if (open > p) {
            rc = push_seg(t, SEG_LIT, p, (size_t)(open - p), 0);
        }
        close = strchr(open, '}');
        if (rc == 0 && close == NULL) {
            rc = SK_EINVAL;
        }
        if (rc == 0) {
            rc = compile_placeholder(t, open, (size_t)(close - open) + 1);
            p = close + 1;
        }
    }
    if (rc < 0) {
        es_tmpl_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

bool es_tmpl_is_dynamic(const struct es_tmpl *t)
{
    return t->dynamic;
}

static void warn_once(struct es_tmpl_ctx *ctx, const char *what, const char *text, size_t len)
{
    if (ctx->warning[0] == '\0') {
        snprintf(ctx->warning, sizeof(ctx->warning), "%s placeholder '%.*s' not replaced", what,
                 (int)len, text);
    }
}

static int append_tag_part(const struct seg *s, struct es_tmpl_ctx *ctx, struct sk_buf *out)
{
    const char *tag = ctx->tag;
    size_t nparts = 1;
    size_t want;
    const char *part = tag;

    for (const char *q = tag; *q; q++) {
        nparts += *q == '.';
    }
    if (s->index >= 0 ? (size_t)s->index >= nparts : (size_t)(-(long)s->index) > nparts) {
        warn_once(ctx, "tag", s->text, s->len);
        return sk_buf_append(out, s->text, s->len);
    }
    want = s->index >= 0 ? (size_t)s->index : nparts - (size_t)(-(long)s->index);
    for (size_t i = 0; i < want; i++) {
        part = strchr(part, '.') + 1;
    }
    return sk_buf_append(out, part, strcspn(part, "."));
}

static int append_key(const struct seg *s, struct es_tmpl_ctx *ctx, struct sk_buf *out)
{
    char raw[ES_TMPL_PART_MAX];

    snprintf(raw, sizeof(raw), "${%s}", s->text);
    if (ctx->vars == NULL) {
        warn_once(ctx, "chunk key", raw, strlen(raw));
        return sk_buf_append_str(out, raw);
    }
    for (size_t i = 0; i < ctx->vars->n; i++) {
        if (strcmp(ctx->vars->v[i].key, s->text) == 0) {
            return sk_buf_append_str(out, ctx->vars->v[i].value);
        }
    }
    warn_once(ctx, "chunk key", raw, strlen(raw));
    return 0; /* Fluentd replaces an unknown chunk key with "" */
}

static int append_lit(const struct seg *s, struct es_tmpl_ctx *ctx, struct sk_buf *out)
{
    char tmp[ES_TMPL_PART_MAX];
    struct sk_time t;
    int n;

    if (!s->has_pct || ctx->timekey < 0) {
        return sk_buf_append(out, s->text, s->len);
    }
    t.sec = ctx->timekey;
    t.nsec = 0;
    n = sk_timefmt_format(s->text, t, true, tmp, sizeof(tmp));
    if (n < 0) {
        return n;
    }
    return sk_buf_append(out, tmp, (size_t)n);
}

int es_tmpl_expand(const struct es_tmpl *t, struct es_tmpl_ctx *ctx, struct sk_buf *out)
{
    int rc = 0;

    for (size_t i = 0; i < t->n && rc == 0; i++) {
        const struct seg *s = &t->segs[i];

        switch (s->kind) {
        case SEG_LIT:
            rc = append_lit(s, ctx, out);
            break;
        case SEG_TAG:
            if (ctx->tag == NULL) {
                warn_once(ctx, "tag", "${tag}", 6);
                rc = sk_buf_append_str(out, "${tag}");
            } else {
                rc = sk_buf_append_str(out, ctx->tag);
            }
            break;
        case SEG_TAG_PART:
            if (ctx->tag == NULL) {
                warn_once(ctx, "tag", s->text, s->len);
                rc = sk_buf_append(out, s->text, s->len);
            } else {
                rc = append_tag_part(s, ctx, out);
            }
            break;
        case SEG_KEY:
            rc = append_key(s, ctx, out);
            break;
        case SEG_CHUNK_ID:
            rc = ctx->chunk_id != NULL ? sk_buf_append_str(out, ctx->chunk_id)
                                       : sk_buf_append_str(out, "${chunk_id}");
            break;
        }
    }
    return rc;
}

/* --- index names -------------------------------------------------------------- */

int es_index_init(struct es_index *ix, const struct es_index_conf *c, char *err, size_t err_size)
{
    int rc;

    memset(ix, 0, sizeof(*ix));
    ix->logstash_format = c->logstash_format;
    ix->utc_index = c->utc_index;
    sk_buf_init(&ix->head, ES_INDEX_NAME_MAX);
    sk_buf_init(&ix->fmt, ES_INDEX_NAME_MAX);
    ix->separator = sk_strdup(c->logstash_prefix_separator != NULL ? c->logstash_prefix_separator : "");
    if (ix->separator == NULL) {
        return SK_ENOMEM;
    }
    rc = es_tmpl_compile(c->logstash_prefix != NULL ? c->logstash_prefix : "", &ix->prefix);
    if (rc == SK_EINVAL) {
        snprintf(err, err_size, "logstash_prefix '%s': unterminated ${", c->logstash_prefix);
    }
    if (rc == 0) {
        rc = es_tmpl_compile(c->logstash_dateformat != NULL ? c->logstash_dateformat : "",
                             &ix->dateformat);
        if (rc == SK_EINVAL) {
            snprintf(err, err_size, "logstash_dateformat '%s': unterminated ${",
                     c->logstash_dateformat);
        }
    }
    if (rc == 0) {
        rc = es_tmpl_compile(c->index_name != NULL ? c->index_name : "", &ix->index_name);
        if (rc == SK_EINVAL) {
            snprintf(err, err_size, "index_name '%s': unterminated ${", c->index_name);
        }
    }
    return rc;
}

void es_index_cleanup(struct es_index *ix)
{
    sk_free(ix->separator);
    es_tmpl_free(ix->prefix);
    es_tmpl_free(ix->dateformat);
    es_tmpl_free(ix->index_name);
    sk_buf_cleanup(&ix->head);
    sk_buf_cleanup(&ix->fmt);
    memset(ix, 0, sizeof(*ix));
}

static void lower(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s[i] = (char)tolower((unsigned char)s[i]);
    }
}

int es_index_begin_chunk(struct es_index *ix, struct es_tmpl_ctx *ctx)
{
    int rc;

    sk_buf_reset(&ix->head);
    sk_buf_reset(&ix->fmt);
    ix->cache_valid = false;
    if (ix->logstash_format) {
        rc = es_tmpl_expand(ix->prefix, ctx, &ix->head);
        if (rc == 0) {
            rc = sk_buf_append_str(&ix->head, ix->separator);
        }
        if (rc == 0) {
            rc = es_tmpl_expand(ix->dateformat, ctx, &ix->fmt);
        }
        ix->per_event = true;
        return rc;
    }
    rc = es_tmpl_expand(ix->index_name, ctx, &ix->head);
    if (rc < 0) {
        return rc;
    }
    /* Directives left after the chunk's expansion (no time chunk key) are
     * applied per event: the name's date follows the event's time. */
    ix->per_event = memchr(ix->head.data != NULL ? ix->head.data : "", '%', ix->head.len) != NULL;
    if (ix->per_event) {
        rc = sk_buf_append(&ix->fmt, ix->head.data, ix->head.len);
        sk_buf_reset(&ix->head);
        return rc;
    }
    lower(ix->head.data, ix->head.len);
    return 0;
}

int es_index_name(struct es_index *ix, int64_t tv_sec, int offset_sec, const char **name,
                  size_t *len)
{
    struct sk_time t;
    size_t room;
    int n;

    if (!ix->per_event) {
        *name = ix->head.data != NULL ? ix->head.data : "";
        *len = ix->head.len;
        return 0;
    }
    t.sec = tv_sec + (ix->utc_index ? 0 : offset_sec);
    t.nsec = 0;
    if (ix->cache_valid && ix->cache_sec == t.sec) {
        *name = ix->cache;
        *len = ix->cache_len;
        return 0;
    }
    ix->cache_valid = false;
    if (ix->head.len >= sizeof(ix->cache)) {
        return SK_ETOOBIG;
    }
    if (ix->head.len > 0) {
        memcpy(ix->cache, ix->head.data, ix->head.len);
    }
    room = sizeof(ix->cache) - ix->head.len;
    if (ix->fmt.len == 0) {
        ix->cache[ix->head.len] = '\0';
        n = 0;
    } else {
        /* The zone is applied by shifting the instant: format as UTC. */
        n = sk_timefmt_format(ix->fmt.data, t, true, ix->cache + ix->head.len, room);
        if (n < 0) {
            return n == SK_ETOOBIG ? SK_ETOOBIG : SK_EINVAL;
        }
    }
    ix->cache_len = ix->head.len + (size_t)n;
    lower(ix->cache, ix->cache_len);
    ix->cache_sec = t.sec;
    ix->cache_valid = true;
    *name = ix->cache;
    *len = ix->cache_len;
    return 0;
}
