/*
 * String#split (see ruby_split.h), following the branches of Ruby's
 * rb_str_split_m for a binary string: awk, chars, string, regexp, then the
 * common tail (the rest of the string as the last piece, trailing empty
 * pieces dropped when no limit was given).
 */
#include "parser/ruby_split.h"

#include <string.h>

#include "util/alloc.h"

void sk_ruby_pieces_init(struct sk_ruby_pieces *p, size_t max)
{
    memset(p, 0, sizeof(*p));
    p->max = max;
}

void sk_ruby_pieces_cleanup(struct sk_ruby_pieces *p)
{
    if (p != NULL) {
        sk_free(p->v);
        memset(p, 0, sizeof(*p));
    }
}

static int push(struct sk_ruby_pieces *p, size_t off, size_t len)
{
    if (p->n == p->cap) {
        size_t cap = p->cap != 0 ? p->cap * 2 : 32;
        struct sk_ruby_piece *v;

        if (p->n >= p->max) {
            return SK_ETOOBIG;
        }
        if (cap > p->max) {
            cap = p->max;
        }
        v = sk_realloc(p->v, cap * sizeof(*v));
        if (v == NULL) {
            return SK_ENOMEM;
        }
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n].off = off;
    p->v[p->n].len = len;
    p->n++;
    return 0;
}

static bool rb_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Ruby's ending: the rest of the string, then trailing empties dropped. */
static int finish(struct sk_ruby_pieces *p, size_t len, size_t beg, long limit)
{
    int rc = 0;

    if (len > 0 && (limit != 0 || len > beg)) {
        rc = push(p, beg, len - beg);
    }
    while (rc == 0 && limit == 0 && p->n > 0 && p->v[p->n - 1].len == 0) {
        p->n--;
    }
    return rc;
}

/* Ruby: split(x, 1) is [str] (or [] for ""). Returns true when done. */
static bool limit_one(struct sk_ruby_pieces *p, size_t len, long limit, int *rc)
{
    p->n = 0;
    *rc = 0;
    if (limit != 1) {
        return false;
    }
    if (len > 0) {
        *rc = push(p, 0, len);
    }
    return true;
}

static int split_awk(struct sk_ruby_pieces *p, const char *s, size_t len, long limit)
{
    size_t beg = 0;
    size_t end = 0;
    bool skip = true;
    long i = 1;
    int rc = 0;

    for (size_t ptr = 0; ptr < len && rc == 0; ptr++) {
        if (skip) {
            if (rb_space(s[ptr])) {
                beg = ptr + 1;
            } else {
                end = ptr + 1;
                skip = false;
                if (limit > 0 && limit <= i) {
                    break;
                }
            }
        } else if (rb_space(s[ptr])) {
            rc = push(p, beg, end - beg);
            skip = true;
            beg = ptr + 1;
            i += limit > 0;
        } else {
            end = ptr + 1;
        }
    }
    return rc == 0 ? finish(p, len, beg, limit) : rc;
}

int sk_ruby_split(struct sk_ruby_pieces *p, const char *s, size_t len, const char *pat,
                  size_t plen, long limit)
{
    size_t ptr = 0;
    long i = 1;
    int rc;

    if (limit_one(p, len, limit, &rc)) {
        return rc;
    }
    if (plen == 1 && pat[0] == ' ') {
        return split_awk(p, s, len, limit);
    }
    if (plen == 0) {
        while (ptr < len && rc == 0) {
            rc = push(p, ptr, 1);
            ptr++;
            if (limit > 0 && limit <= ++i) {
                break;
            }
        }
        return rc == 0 ? finish(p, len, ptr, limit) : rc;
    }
    while (ptr < len && rc == 0) {
        const char *hit = memmem(s + ptr, len - ptr, pat, plen);

        if (hit == NULL) {
            break;
        }
        rc = push(p, ptr, (size_t)(hit - (s + ptr)));
        ptr = (size_t)(hit - s) + plen;
        if (limit > 0 && limit <= ++i) {
            break;
        }
    }
    return rc == 0 ? finish(p, len, ptr, limit) : rc;
}

/* The captures of the last match, as pieces ("" for an empty one). */
static int push_captures(struct sk_ruby_pieces *p, const struct sk_ruby_regex *re, int ngroups)
{
    int rc = 0;

    for (int g = 1; g <= ngroups && rc == 0; g++) {
        size_t off;
        size_t glen;

        if (sk_ruby_regex_group(re, g, &off, &glen)) {
            rc = push(p, off, glen);
        }
    }
    return rc;
}

int sk_ruby_split_regex(struct sk_ruby_pieces *p, struct sk_ruby_regex *re, const char *s,
                        size_t len, long limit)
{
    int ngroups = sk_ruby_regex_ngroups(re);
    size_t beg = 0;
    size_t start = 0;
    bool last_null = false;
    long i = 1;
    int rc;

    if (limit_one(p, len, limit, &rc)) {
        return rc;
    }
    while (rc == 0 && sk_ruby_regex_search(re, s, len, start)) {
        size_t mb;
        size_t mlen;

        (void)sk_ruby_regex_group(re, 0, &mb, &mlen);
        if (start == mb && mlen == 0) {
            if (len == 0) {
                rc = push(p, 0, 0);
                break;
            }
            if (!last_null) {
                start++; /* one byte on (past the end when at it) */
                last_null = true;
                continue;
            }
            rc = push(p, beg, 1);
            beg = start;
        } else {
            rc = push(p, beg, mb - beg);
            beg = start = mb + mlen;
        }
        last_null = false;
        if (rc == 0) {
            rc = push_captures(p, re, ngroups);
        }
        if (limit > 0 && limit <= ++i) {
            break;
        }
    }
    return rc == 0 ? finish(p, len, beg, limit) : rc;
}
