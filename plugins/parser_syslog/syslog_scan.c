/*
 * The four syslog readers of Fluentd's SyslogParser (see syslog_int.h),
 * step for step: where Ruby would index past the end, slice with a
 * negative length (nil) or call a method on nil, the comment says so and
 * the reader refuses the line or stores nil as Fluentd does.
 */
#include "parser_syslog/syslog_int.h"

#include <string.h>

#include "timefmt/timefmt.h"

#define NIL SIZE_MAX

/* Ruby's text.index(c, from): NIL when absent or from is past the end. */
static size_t find(const char *s, size_t len, char c, size_t from)
{
    const char *p;

    if (from >= len) {
        return NIL;
    }
    p = memchr(s + from, c, len - from);
    return p != NULL ? (size_t)(p - s) : NIL;
}

static char at(const char *s, size_t len, size_t i)
{
    return i < len ? s[i] : '\0';
}

static void put(struct syslog_record *r, const char *key, enum syslog_kind kind, const char *v,
                size_t vlen, int64_t iv)
{
    if (r->n < SYSLOG_MAX_FIELDS) {
        r->f[r->n++] = (struct syslog_field){key, kind, v, vlen, iv};
    }
}

/* String#chomp!: one trailing \r\n, \n or \r. */
static size_t chomp(const char *v, size_t len)
{
    if (len >= 2 && v[len - 2] == '\r' && v[len - 1] == '\n') {
        return len - 2;
    }
    if (len >= 1 && (v[len - 1] == '\n' || v[len - 1] == '\r')) {
        return len - 1;
    }
    return len;
}

/* text.slice(off, n) with n possibly negative: NULL for nil. */
static const char *slice(const char *s, size_t len, size_t off, long n, size_t *out)
{
    if (n < 0 || off > len) {
        return NULL;
    }
    *out = (size_t)n > len - off ? len - off : (size_t)n;
    return s + off;
}

static int64_t to_i(const char *s, size_t len)
{
    bool big;

    return sk_ruby_to_i(s, len, &big);
}

/*
 * The time's end by counting blanks, from idx: `spaces` times, skip a run
 * of ' ' (noting it in *sq), then find the next ' '. Ruby fails (a method
 * on nil) when a search comes back empty.
 */
static int cut_time(const struct syslog_time *st, const char *s, size_t len, size_t idx,
                    size_t *end, bool *sq)
{
    size_t next = idx; /* i + 1 in Fluentd's loop, i starting at idx - 1 */
    size_t i = NIL;

    *sq = false;
    for (int k = 0; k < st->spaces; k++) {
        while (at(s, len, next) == ' ') {
            *sq = true;
            next++;
        }
        i = find(s, len, ' ', next);
        if (i == NIL) {
            return SK_EPARSE;
        }
        next = i + 1;
    }
    *end = i;
    return 0;
}

/* time_str, squeezed of repeated blanks when *sq, into ctx->timebuf. */
static int time_text(struct syslog_ctx *ctx, const char *s, size_t from, size_t to, bool sq,
                     const char **t, size_t *tlen)
{
    sk_buf_reset(&ctx->timebuf);
    for (size_t i = from; i < to; i++) {
        if (sq && s[i] == ' ' && i > from && s[i - 1] == ' ') {
            continue;
        }
        if (sk_buf_putc(&ctx->timebuf, s[i]) < 0) {
            return SK_ENOMEM;
        }
    }
    *t = ctx->timebuf.data != NULL ? ctx->timebuf.data : "";
    *tlen = ctx->timebuf.len;
    return 0;
}

static int parse_time(const struct syslog_time *st, const char *t, size_t tlen,
                      struct sk_time *out)
{
    int rc = sk_timefmt_parse_prefix(st->tf, t, tlen, out, NULL);

    if (rc == SK_EPARSE && st->fallback != NULL) {
        rc = sk_timefmt_parse_prefix(st->fallback, t, tlen, out, NULL);
    }
    return rc == SK_ENOMEM ? rc : (rc < 0 ? SK_EPARSE : 0);
}

/* The time part of the regexp engine from idx; *next is where the
 * regexp search starts. */
static int regexp_time(struct syslog_ctx *ctx, const struct syslog_time *st, const char *s,
                       size_t len, size_t idx, struct syslog_record *r, size_t *next)
{
    const char *t;
    size_t tlen;
    size_t end = 0;
    bool sq;
    int rc = cut_time(st, s, len, idx, &end, &sq);

    if (rc == 0) {
        rc = time_text(ctx, s, idx, end, sq, &t, &tlen);
    }
    if (rc == 0) {
        rc = parse_time(st, t, tlen, &r->t);
    }
    if (rc == 0 && ctx->core.keep_time_key) {
        put(r, "time", SL_STR, t, tlen, 0);
    }
    *next = end + 1;
    return rc;
}

/* parse_plain: the regexp searched from idx; its named groups that took
 * part, the message chomped. */
static int regexp_rest(struct sk_ruby_regex *re, const char *s, size_t len, size_t idx,
                       struct syslog_record *r)
{
    if (!sk_ruby_regex_search(re, s, len, idx)) {
        return SK_EPARSE;
    }
    for (size_t k = 0; k < re->nnames; k++) {
        size_t off;
        size_t vlen;

        if (sk_ruby_regex_group(re, re->groups[re->names[k].first], &off, &vlen)) {
            bool msg = strcmp(re->names[k].name, "message") == 0;

            put(r, re->names[k].name, SL_STR, s + off, msg ? chomp(s + off, vlen) : vlen, 0);
        }
    }
    return 0;
}

/* RFC3164_PRI_REGEXP.match?: "<" 1-3 digits ">" at a line start. */
static bool pri3164_matches(const char *s, size_t len)
{
    for (size_t p = 0; p < len; p++) {
        size_t d = p + 1;

        if (p > 0 && s[p - 1] != '\n') {
            continue;
        }
        while (d < len && d - p <= 3 && s[d] >= '0' && s[d] <= '9') {
            d++;
        }
        if (s[p] == '<' && d > p + 1 && d < len && s[d] == '>') {
            return true;
        }
    }
    return false;
}

int syslog_rfc3164_regexp(struct syslog_ctx *ctx, const char *s, size_t len,
                          struct syslog_record *r)
{
    size_t idx = 0;
    size_t next;
    int rc;

    r->n = 0;
    if (ctx->conf->with_priority) {
        size_t v;

        if (!pri3164_matches(s, len)) {
            return SK_EPARSE;
        }
        v = find(s, len, '>', 0);
        put(r, "pri", SL_INT, NULL, 0, to_i(s + 1, v)); /* text[1..v].to_i */
        idx = v + 1;
    }
    rc = regexp_time(ctx, &ctx->t3164, s, len, idx, r, &next);
    return rc == 0 ? regexp_rest(&ctx->re3164, s, len, next, r) : rc;
}

int syslog_rfc5424_regexp(struct syslog_ctx *ctx, const char *s, size_t len,
                          struct syslog_record *r)
{
    size_t idx = 0;
    size_t next;
    int rc;

    r->n = 0;
    if (ctx->conf->with_priority) {
        size_t off;
        size_t plen;

        if (!sk_ruby_regex_search(&ctx->pri5424, s, len, 0)) {
            return SK_EPARSE;
        }
        (void)sk_ruby_regex_group(&ctx->pri5424, ctx->pri5424.groups[0], &off, &plen);
        put(r, "pri", SL_INT, NULL, 0, to_i(s + off, plen));
        (void)sk_ruby_regex_group(&ctx->pri5424, 0, &off, &plen);
        idx = off + plen;
    }
    rc = regexp_time(ctx, &ctx->t5424, s, len, idx, r, &next);
    return rc == 0 ? regexp_rest(&ctx->re5424, s, len, next, r) : rc;
}

/* "<pri>" at the start for the string engine; *cursor after '>'. */
static int string_pri(const char *s, size_t len, int64_t *pri, size_t *cursor)
{
    size_t i;

    if (len == 0 || s[0] != '<') {
        return SK_EPARSE;
    }
    i = find(s, len, '>', 1);
    if (i == NIL || i < 2) {
        return SK_EPARSE;
    }
    *pri = to_i(s + 1, i - 1);
    *cursor = i + 1;
    return 0;
}

/* The string engine's time cut for formats other than the fixed ones;
 * Fluentd then refers to an undefined variable when blanks repeat. */
static int string_time_by_spaces(const struct syslog_time *st, const char *s, size_t len,
                                 size_t *cursor, size_t *tfrom, size_t *tto)
{
    size_t end;
    bool sq;
    int rc = cut_time(st, s, len, *cursor, &end, &sq);

    if (rc < 0 || sq) {
        return SK_EPARSE;
    }
    *tfrom = *cursor;
    *tto = end;
    *cursor = end + 1;
    return 0;
}

static int string_time_3164(const struct syslog_time *st, const char *s, size_t len,
                            size_t *cursor, size_t *tfrom, size_t *tto)
{
    char time_end;

    if (!st->skip) {
        return string_time_by_spaces(st, s, len, cursor, tfrom, tto);
    }
    time_end = at(s, len, *cursor + 15); /* Mmm dd hh:mm:ss */
    if (time_end == ' ') {
        *tfrom = *cursor;
        *tto = *cursor + 15;
        *cursor += 16;
        return 0;
    }
    if (time_end == '.') {
        size_t i = find(s, len, ' ', 15); /* from 15, not from the cursor */

        if (i == NIL || i < *cursor) {
            return SK_EPARSE;
        }
        *tfrom = *cursor;
        *tto = i;
        *cursor = i + 1;
        return 0;
    }
    return SK_EPARSE;
}

/* ident[pid] before the blank at i (with ':' or, colonless, without). */
static int string_ident(const struct syslog_ctx *ctx, const char *s, size_t len, size_t cursor,
                        size_t i, struct syslog_record *r, size_t *msg)
{
    bool colon = s[i - 1] == ':';
    size_t tail = colon ? 1 : 0;
    size_t lb;
    size_t n;
    const char *v;

    if (!colon && !ctx->conf->support_colonless_ident) {
        *msg = cursor;
        return 0;
    }
    *msg = i + 1;
    if (s[i - 1 - tail] != ']') {
        put(r, "ident", SL_STR, s + cursor, i - cursor - tail, 0);
        return 0;
    }
    lb = find(s, len, '[', cursor);
    if (lb == NIL) {
        return SK_EPARSE;
    }
    put(r, "ident", SL_STR, s + cursor, lb - cursor, 0);
    v = slice(s, len, lb + 1, (long)i - (long)lb - 2 - (long)tail, &n);
    put(r, "pid", v != NULL ? SL_STR : SL_NIL, v, v != NULL ? n : 0, 0);
    return 0;
}

int syslog_rfc3164_string(struct syslog_ctx *ctx, const char *s, size_t len,
                          struct syslog_record *r)
{
    int64_t pri = 0;
    size_t cursor = 0;
    size_t tfrom;
    size_t tto;
    size_t i;
    size_t msg;
    int rc = 0;

    r->n = 0;
    if (ctx->conf->with_priority) {
        rc = string_pri(s, len, &pri, &cursor);
    }
    if (rc == 0) {
        rc = string_time_3164(&ctx->t3164, s, len, &cursor, &tfrom, &tto);
    }
    i = rc == 0 ? find(s, len, ' ', cursor) : NIL;
    if (rc < 0 || i == NIL) {
        return SK_EPARSE;
    }
    put(r, "host", SL_STR, s + cursor, i - cursor, 0);
    if (ctx->conf->with_priority) {
        put(r, "pri", SL_INT, NULL, 0, pri);
    }
    cursor = i + 1;
    i = find(s, len, ' ', cursor);
    msg = cursor;
    if (i != NIL && string_ident(ctx, s, len, cursor, i, r, &msg) < 0) {
        return SK_EPARSE;
    }
    put(r, "message", SL_STR, s + msg, chomp(s + msg, len - msg), 0);
    rc = parse_time(&ctx->t3164, s + tfrom, tto - tfrom, &r->t);
    if (rc == 0 && ctx->core.keep_time_key) {
        put(r, "time", SL_STR, s + tfrom, tto - tfrom, 0);
    }
    return rc;
}

/* One blank-terminated header field of RFC 5424. */
static int string_word(const char *s, size_t len, size_t *cursor, const char *key,
                       struct syslog_record *r)
{
    size_t i = find(s, len, ' ', *cursor);

    if (i == NIL) {
        return SK_EPARSE;
    }
    put(r, key, SL_STR, s + *cursor, i - *cursor, 0);
    *cursor = i + 1;
    return 0;
}

/* STRUCTURED-DATA: "-" or up to the first "] "; backslashes removed. */
static int string_extradata(struct syslog_ctx *ctx, const char *s, size_t len, size_t *cursor,
                            struct syslog_record *r)
{
    size_t start = *cursor;
    const char *hit;
    size_t end;

    if (at(s, len, start) == '-' && start < len) {
        put(r, "extradata", SL_STR, "-", 1, 0);
        (*cursor)++;
        return 0;
    }
    hit = start < len ? memmem(s + start, len - start, "] ", 2) : NULL;
    end = hit != NULL ? (size_t)(hit - s) + 1 : len;
    *cursor = end;
    sk_buf_reset(&ctx->edbuf);
    for (size_t k = start; k < end; k++) {
        if (s[k] != '\\' && sk_buf_putc(&ctx->edbuf, s[k]) < 0) {
            return SK_ENOMEM;
        }
    }
    put(r, "extradata", SL_STR, ctx->edbuf.data != NULL ? ctx->edbuf.data : "", ctx->edbuf.len,
        0);
    return 0;
}

int syslog_rfc5424_string(struct syslog_ctx *ctx, const char *s, size_t len,
                          struct syslog_record *r)
{
    static const char *const words[] = {"host", "ident", "pid", "msgid"};
    int64_t pri = 0;
    size_t cursor = 0;
    size_t tfrom;
    size_t tto;
    int rc = 0;

    r->n = 0;
    if (ctx->conf->with_priority) {
        rc = string_pri(s, len, &pri, &cursor);
        cursor = rc == 0 ? find(s, len, ' ', cursor - 1) : NIL; /* index(' ', i) */
        rc = cursor == NIL ? SK_EPARSE : rc;
        cursor++;
    }
    if (rc == 0 && ctx->t5424.skip) {
        size_t i = find(s, len, ' ', cursor);

        rc = i == NIL ? SK_EPARSE : 0;
        tfrom = cursor;
        tto = i;
        cursor = i + 1;
    } else if (rc == 0) {
        rc = string_time_by_spaces(&ctx->t5424, s, len, &cursor, &tfrom, &tto);
    }
    for (size_t w = 0; rc == 0 && w < 4; w++) {
        rc = string_word(s, len, &cursor, words[w], r);
    }
    if (rc == 0 && ctx->conf->with_priority) {
        put(r, "pri", SL_INT, NULL, 0, pri);
    }
    if (rc == 0) {
        rc = string_extradata(ctx, s, len, &cursor, r);
    }
    if (rc == 0 && cursor != len) {
        put(r, "message", SL_STR, s + cursor + 1, chomp(s + cursor + 1, len - cursor - 1), 0);
    }
    if (rc == 0) {
        rc = parse_time(&ctx->t5424, s + tfrom, tto - tfrom, &r->t);
    }
    if (rc == 0 && ctx->core.keep_time_key) {
        put(r, "time", SL_STR, s + tfrom, tto - tfrom, 0);
    }
    return rc;
}
