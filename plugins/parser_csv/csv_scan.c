/*
 * The two CSV line readers (see csv_int.h): Ruby's CSV.parse_line, strict,
 * and Fluentd's fast split-and-rejoin reader.
 */
#include "parser_csv/csv_int.h"

#include <string.h>

#include "util/alloc.h"

#define QUOTE '"'

void csv_row_init(struct csv_row *r, size_t max_values, size_t max_scratch)
{
    memset(r, 0, sizeof(*r));
    r->max = max_values;
    sk_buf_init(&r->scratch, max_scratch);
    sk_ruby_pieces_init(&r->cols, max_values);
}

void csv_row_cleanup(struct csv_row *r)
{
    if (r == NULL) {
        return;
    }
    sk_free(r->v);
    sk_buf_cleanup(&r->scratch);
    sk_ruby_pieces_cleanup(&r->cols);
    memset(r, 0, sizeof(*r));
}

const char *csv_value_ptr(const struct csv_row *r, const char *line, const struct csv_value *v)
{
    if (v->nil) {
        return NULL;
    }
    if (v->scratch) {
        return r->scratch.data != NULL ? r->scratch.data + v->off : "";
    }
    return line + v->off;
}

static int add(struct csv_row *r, bool nil, bool scratch, size_t off, size_t len)
{
    if (r->n == r->cap) {
        size_t cap = r->cap != 0 ? r->cap * 2 : 16;
        struct csv_value *v;

        if (r->n >= r->max) {
            return SK_ETOOBIG;
        }
        if (cap > r->max) {
            cap = r->max;
        }
        v = sk_realloc(r->v, cap * sizeof(*v));
        if (v == NULL) {
            return SK_ENOMEM;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = (struct csv_value){nil, scratch, off, len};
    return 0;
}

static bool at(const char *s, size_t len, size_t pos, const char *t, size_t tlen)
{
    return tlen > 0 && pos + tlen <= len && memcmp(s + pos, t, tlen) == 0;
}

/* --- CSV.parse_line --------------------------------------------------------- */

struct csv_in {
    const char *s;
    size_t len;
    const char *sep;
    size_t slen;
    char rs[2]; /* the row separator Ruby's CSV detects */
    size_t rslen;
};

/* The first \r\n, \r or \n of the text; "\n" when there is none. */
static void detect_row_sep(struct csv_in *in)
{
    const char *lf = memchr(in->s, '\n', in->len);
    size_t before = lf != NULL ? (size_t)(lf - in->s) : in->len;
    const char *cr = memchr(in->s, '\r', before);

    in->rs[0] = cr != NULL ? '\r' : '\n';
    in->rslen = 1;
    if (cr != NULL && lf != NULL && cr + 1 == lf) {
        in->rs[1] = '\n';
        in->rslen = 2;
    }
}

static bool at_end(const struct csv_in *in, size_t pos)
{
    return pos >= in->len ||
           (in->s[pos] == in->rs[0] && at(in->s, in->len, pos, in->rs, in->rslen));
}

static bool at_sep(const struct csv_in *in, size_t pos)
{
    return pos < in->len && in->s[pos] == in->sep[0] && at(in->s, in->len, pos, in->sep, in->slen);
}

/* A quoted value from pos (the opening quote); *pos ends after the
 * closing one. "" inside stands for one quote. */
static int read_quoted(struct csv_row *r, const struct csv_in *in, size_t *pos)
{
    size_t p = *pos + 1;
    size_t from = r->scratch.len;
    bool escaped = false;
    int rc = 0;

    for (;;) {
        const char *q = memchr(in->s + p, QUOTE, in->len - p);
        size_t qi;

        if (q == NULL) {
            return SK_EPARSE; /* Unclosed quoted field */
        }
        qi = (size_t)(q - in->s);
        if (qi + 1 < in->len && in->s[qi + 1] == QUOTE) {
            rc = sk_buf_append(&r->scratch, in->s + (escaped ? p : *pos + 1),
                               qi + 1 - (escaped ? p : *pos + 1));
            escaped = true;
            p = qi + 2;
        } else {
            if (escaped) {
                rc = sk_buf_append(&r->scratch, in->s + p, qi - p);
            }
            if (rc == 0) {
                rc = escaped ? add(r, false, true, from, r->scratch.len - from)
                             : add(r, false, false, *pos + 1, qi - *pos - 1);
            }
            *pos = qi + 1;
            return rc;
        }
        if (rc < 0) {
            return rc;
        }
    }
}

/* An unquoted value from pos: up to a separator or the row's end; a
 * quote or a stray \r / \n inside is malformed. */
static int read_bare(struct csv_row *r, const struct csv_in *in, size_t *pos)
{
    size_t p = *pos;
    int rc;

    while (p < in->len && !at_sep(in, p) && !at_end(in, p)) {
        char c = in->s[p];

        if (c == QUOTE || c == '\r' || c == '\n') {
            return SK_EPARSE;
        }
        p++;
    }
    rc = add(r, false, false, *pos, p - *pos);
    *pos = p;
    return rc;
}

int csv_read_normal(struct csv_row *r, const char *line, size_t len, const char *sep, size_t slen)
{
    struct csv_in in = {line, len, sep, slen, {0, 0}, 0};
    size_t pos = 0;
    int rc = 0;

    r->n = 0;
    sk_buf_reset(&r->scratch);
    if (len == 0 || slen == 0) {
        return SK_EPARSE; /* no row; Ruby refuses an empty col_sep */
    }
    detect_row_sep(&in);
    if (at_end(&in, 0)) {
        return 0; /* an empty first row: [] */
    }
    while (rc == 0) {
        if (at_sep(&in, pos)) {
            rc = add(r, true, false, 0, 0);
            pos += slen;
            continue;
        }
        if (at_end(&in, pos)) {
            return add(r, true, false, 0, 0);
        }
        if (line[pos] == QUOTE) {
            rc = read_quoted(r, &in, &pos);
        } else {
            rc = read_bare(r, &in, &pos);
        }
        if (rc < 0 || at_end(&in, pos)) {
            return rc;
        }
        if (!at_sep(&in, pos)) {
            return SK_EPARSE; /* Any value after quoted field isn't allowed */
        }
        pos += slen;
        if (at_end(&in, pos)) {
            return add(r, true, false, 0, 0); /* a separator ends the row: one more nil */
        }
    }
    return rc;
}

/* --- Fluentd's parse_fast_internal ---------------------------------------- */

static size_t count_quotes(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        n += s[i] == QUOTE;
    }
    return n;
}

static bool quoted_both(const char *s, size_t len)
{
    return len > 0 && s[0] == QUOTE && s[len - 1] == QUOTE;
}

/* column[1..-2] of a Ruby string (empty for one byte). */
static void strip_ends(size_t *off, size_t *len)
{
    if (*len <= 2) {
        *off += *len > 0 ? 1 : 0;
        *len = 0;
        return;
    }
    *off += 1;
    *len -= 2;
}

/* `to_merge.join(delimiter)[1..-2]` for columns first..last. */
static int merge_columns(struct csv_row *r, const char *line, size_t first, size_t last,
                         const char *sep, size_t slen)
{
    size_t from = r->scratch.len;
    size_t off;
    size_t len;
    int rc = 0;

    for (size_t k = first; rc == 0 && k <= last; k++) {
        if (k > first) {
            rc = sk_buf_append(&r->scratch, sep, slen);
        }
        if (rc == 0) {
            rc = sk_buf_append(&r->scratch, line + r->cols.v[k].off, r->cols.v[k].len);
        }
    }
    off = from;
    len = r->scratch.len - from;
    strip_ends(&off, &len);
    return rc == 0 ? add(r, false, true, off, len) : rc;
}

/* `column.gsub('""', '"')` after stripping the outer quotes if any. */
static int unescape_column(struct csv_row *r, const char *s, size_t len)
{
    size_t from = r->scratch.len;
    size_t off = 0;
    int rc = 0;

    if (quoted_both(s, len)) {
        strip_ends(&off, &len);
    }
    for (size_t i = off; rc == 0 && i < off + len; i++) {
        rc = sk_buf_putc(&r->scratch, s[i]);
        i += s[i] == QUOTE && i + 1 < off + len && s[i + 1] == QUOTE;
    }
    return rc == 0 ? add(r, false, true, from, r->scratch.len - from) : rc;
}

static int fast_column(struct csv_row *r, const char *line, size_t *j, const char *sep,
                       size_t slen)
{
    size_t off = r->cols.v[*j].off;
    size_t len = r->cols.v[*j].len;
    const char *s = line + off;
    size_t quotes = count_quotes(s, len);

    if (quotes == 0) {
        return add(r, len == 0, false, off, len);
    }
    if (quotes == 1 && s[0] == QUOTE) {
        size_t first = *j;

        for ((*j)++; *j < r->cols.n; (*j)++) {
            const struct sk_ruby_piece *m = &r->cols.v[*j];

            if (m->len > 0 && line[m->off + m->len - 1] == QUOTE) {
                break;
            }
        }
        return merge_columns(r, line, first, *j < r->cols.n ? *j : r->cols.n - 1, sep, slen);
    }
    if (quotes <= 2) {
        if (quotes == 2 && quoted_both(s, len)) {
            strip_ends(&off, &len);
        }
        return add(r, false, false, off, len);
    }
    return unescape_column(r, s, len);
}

int csv_read_fast(struct csv_row *r, const char *line, size_t len, const char *sep, size_t slen)
{
    int rc;

    r->n = 0;
    sk_buf_reset(&r->scratch);
    if (len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n') { /* chomp! */
        len -= 2;
    } else if (len >= 1 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len -= 1;
    }
    if (len == 0) {
        return 0; /* {} */
    }
    rc = sk_ruby_split(&r->cols, line, len, sep, slen, -1);
    for (size_t j = 0; rc == 0 && j < r->cols.n; j++) {
        rc = fast_column(r, line, &j, sep, slen);
    }
    return rc;
}
