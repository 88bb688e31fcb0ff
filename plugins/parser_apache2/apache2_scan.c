/*
 * The apache2 fast path (see apache2_int.h) and the PCRE2 fallback.
 *
 * Why the fast path's answer is the engine's. Up to the request's opening
 * quote every group is forced: [^ ]* followed by ' ' ends at the first
 * space, [^\]]* followed by ']' at the first ']'; without a '\n' the
 * only start is 0. So a failure there is NOMATCH, and the request starts
 * at m0 after `] "`. With no backslash-quote pair from m0 on, the
 * alternative \\" can never match and the rest reads
 *
 *   "(?<method>\S+)(?: +(?<path>[^"]*?)(?: +\S*)?)?" (?<code>[^ ]*)
 *   (?<size>[^ ]*)(?: "(?<referer>[^"]*)" "(?<agent>[^"]*)")?$
 *
 * and the depth-first search goes: method as long as possible (to the
 * first blank M, which must come before the first quote q1, else see
 * no_close()), ` +` to the last of its spaces (ps), then the lazy path one
 * byte at a time. At each length the token ` +\S*` is tried, then the
 * closing quote. Between ps and q1 there are only spaces and non-blank
 * non-quote bytes, so:
 * - at a space run followed by a \S run that ends before q1, the token
 *   has no quote to stop at: nothing;
 * - at the last space run before q1, the \S run reaches q1; when a space
 *   follows q1 the run ends there and the quote closes the request
 *   (path = [ps, that space run));
 * - without any space run, the path grows to q1 and the quote closes it.
 * That first closing candidate is then followed by the tail, which is
 * forced too: code to the next space, size to the next space or the end,
 * then either the end or ` "REF" "AGENT"` exactly to the end. If the tail
 * fails there the engine goes on backtracking; no_close() then tells
 * whether any other closing quote could lead to a match (UNSURE: PCRE2
 * decides which) or none can (NOMATCH).
 */
#include "parser_apache2/apache2_int.h"

#include <string.h>

const char *const apache2_field_names[APACHE2_NFIELDS] = {
    "host", "user", "time", "method", "path", "code", "size", "referer", "agent",
};

#define NONE ((size_t)-1)

static size_t find(const char *s, size_t len, size_t from, char c)
{
    const char *p;

    if (from >= len) {
        return NONE;
    }
    p = memchr(s + from, c, len - from);
    return p != NULL ? (size_t)(p - s) : NONE;
}

/* Onigmo's \s on bytes: [ \t\n\v\f\r]. */
static bool is_ws(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static void set(struct apache2_match *m, enum apache2_field f, size_t from, size_t to)
{
    m->f[f].off = from;
    m->f[f].len = to - from;
    m->f[f].set = true;
}

/* ` CODE SIZE[ "REF" "AGENT"]$` at q (a space), on a line without '\n'
 * or backslash there. */
static enum apache2_verdict tail(const char *s, size_t len, size_t q, struct apache2_match *m)
{
    size_t c1 = find(s, len, q + 1, ' ');
    size_t z1;
    size_t r1;
    size_t a1;

    if (c1 == NONE) {
        return APACHE2_UNSURE;
    }
    set(m, APACHE2_CODE, q + 1, c1);
    z1 = find(s, len, c1 + 1, ' ');
    if (z1 == NONE) {
        set(m, APACHE2_SIZE, c1 + 1, len);
        return APACHE2_MATCH;
    }
    set(m, APACHE2_SIZE, c1 + 1, z1);
    if (z1 + 1 >= len || s[z1 + 1] != '"') {
        return APACHE2_UNSURE;
    }
    r1 = find(s, len, z1 + 2, '"');
    if (r1 == NONE || r1 + 2 >= len || s[r1 + 1] != ' ' || s[r1 + 2] != '"') {
        return APACHE2_UNSURE;
    }
    a1 = find(s, len, r1 + 3, '"');
    if (a1 != len - 1) {
        return APACHE2_UNSURE;
    }
    set(m, APACHE2_REFERER, z1 + 2, r1);
    set(m, APACHE2_AGENT, r1 + 3, a1);
    return APACHE2_MATCH;
}

/*
 * When the obvious split is not the answer. The quotes the search could
 * close the request with: inside the method's \S run from m0 (a shorter
 * method closed by a quote), or, when a space follows that run, in the
 * path up to the first quote qq after it or in a token (a \S run after a
 * space) starting before qq: all in [m0 + 1, w), w the end of the run
 * holding qq (or of the method's run without one). Each needs a space
 * after it, and the tail after it is forced: if it fails for every such
 * quote, nothing matches.
 */
static enum apache2_verdict no_close(const char *s, size_t len, size_t m0)
{
    struct apache2_match scratch;
    size_t w = m0;
    size_t qq;

    while (w < len && !is_ws(s[w])) {
        w++;
    }
    qq = w < len && s[w] == ' ' ? find(s, len, w, '"') : NONE;
    while (qq != NONE && qq < len && !is_ws(s[qq])) {
        qq++;
    }
    w = qq != NONE ? qq : w;
    for (size_t k = find(s, len, m0 + 1, '"'); k != NONE && k < w; k = find(s, len, k + 1, '"')) {
        if (k + 1 < len && s[k + 1] == ' ' && tail(s, len, k + 1, &scratch) != APACHE2_UNSURE) {
            return APACHE2_UNSURE; /* a match exists; which one is PCRE2's question */
        }
    }
    return APACHE2_NOMATCH;
}

/* The request from m0 (after the opening quote). */
static enum apache2_verdict request(const char *s, size_t len, size_t m0, struct apache2_match *m)
{
    size_t q1 = find(s, len, m0, '"');
    size_t M = m0;
    size_t ps;
    size_t run = NONE; /* start of the last space run in [ps, q1) */
    enum apache2_verdict v;

    if (q1 == NONE) {
        return APACHE2_NOMATCH; /* the request can never close */
    }
    while (M < q1 && !is_ws(s[M])) {
        M++;
    }
    if (M == m0 || M >= q1 || s[M] != ' ') {
        return no_close(s, len, m0);
    }
    ps = M;
    while (ps < q1 && s[ps] == ' ') {
        ps++;
    }
    if (ps >= q1 || q1 + 1 >= len || s[q1 + 1] != ' ') {
        return no_close(s, len, m0);
    }
    for (size_t k = ps; k < q1; k++) {
        if (s[k] == ' ' && s[k - 1] != ' ') {
            run = k;
        } else if (is_ws(s[k]) && s[k] != ' ') {
            return no_close(s, len, m0);
        }
    }
    set(m, APACHE2_METHOD, m0, M);
    set(m, APACHE2_PATH, ps, run != NONE ? run : q1);
    v = tail(s, len, q1 + 1, m);
    return v == APACHE2_UNSURE ? no_close(s, len, m0) : v;
}

enum apache2_verdict apache2_scan(const char *s, size_t len, struct apache2_match *m)
{
    size_t a;
    size_t b;
    size_t c;
    size_t d;
    enum apache2_verdict v;

    memset(m, 0, sizeof(*m));
    if (memchr(s, '\n', len) != NULL) {
        return APACHE2_UNSURE; /* ^ and $ could match inside */
    }
    a = find(s, len, 0, ' ');
    b = a != NONE ? find(s, len, a + 1, ' ') : NONE;
    c = b != NONE ? find(s, len, b + 1, ' ') : NONE;
    if (c == NONE || c + 1 >= len || s[c + 1] != '[') {
        return APACHE2_NOMATCH;
    }
    d = find(s, len, c + 2, ']');
    if (d == NONE || d + 2 >= len || s[d + 1] != ' ' || s[d + 2] != '"') {
        return APACHE2_NOMATCH;
    }
    for (size_t k = find(s, len, d + 3, '\\'); k != NONE; k = find(s, len, k + 1, '\\')) {
        if (k + 1 < len && s[k + 1] == '"') {
            return APACHE2_UNSURE; /* the \\" alternatives are in play */
        }
    }
    v = request(s, len, d + 3, m);
    if (v != APACHE2_MATCH) {
        memset(m, 0, sizeof(*m));
        return v;
    }
    set(m, APACHE2_HOST, 0, a);
    set(m, APACHE2_USER, b + 1, c);
    set(m, APACHE2_TIME, c + 2, d);
    return APACHE2_MATCH;
}

bool apache2_match(struct sk_ruby_regex *re, const char *line, size_t len,
                   struct apache2_match *m)
{
    enum apache2_verdict v = apache2_scan(line, len, m);

    if (v != APACHE2_UNSURE) {
        return v == APACHE2_MATCH;
    }
    if (!sk_ruby_regex_search(re, line, len, 0)) {
        return false;
    }
    for (size_t k = 0; k < re->nnames; k++) {
        const struct sk_ruby_regex_name *nm = &re->names[k];

        for (int f = 0; f < APACHE2_NFIELDS; f++) {
            if (strlen(apache2_field_names[f]) == nm->len &&
                memcmp(apache2_field_names[f], nm->name, nm->len) == 0) {
                m->f[f].set = sk_ruby_regex_group(re, re->groups[nm->first], &m->f[f].off,
                                                  &m->f[f].len);
            }
        }
    }
    return true;
}
