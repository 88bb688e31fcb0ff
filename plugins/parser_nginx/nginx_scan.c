/*
 * A hand-written matcher equivalent to Fluentd's nginx regex (see
 * nginx_int.h), including its backtracking outcome on odd lines.
 *
 * A backtracking engine returns the first successful path of a depth-first
 * search in which greedy parts try longer first and the lazy path tries
 * shorter first. The groups up to the request's opening quote are
 * deterministic ([^ ]* and [^\]]* must stop at the first delimiter). The
 * rest is searched below in that same order, but each step jumps straight
 * to the positions where the next literal could match, so a line costs
 * a few memchr calls instead of the engine's character-by-character walk:
 *
 *   request   "METHOD[ +PATH[ +TOKEN]]" : candidates for the closing quote,
 *             in the order the engine tries them (request())
 *   tail(q)   ' CODE SIZE[ "REF" "AGENT"[\s+"?XFF"?]]$' after that quote
 *
 * tail() depends only on its start, so the search is a sequence of tail()
 * attempts. Facts used throughout: [^ ]* followed by ' ' can only end at
 * the first space, [^"]* followed by '"' only at the first quote; '$'
 * holds at the end or before any '\n' (Ruby's multi-line anchors).
 */
#include "parser_nginx/nginx_int.h"

#include <stdint.h>
#include <string.h>

const char *const nginx_field_names[NGINX_NFIELDS] = {
    "remote", "host", "user", "time", "method", "path",
    "code", "size", "referer", "agent", "http_x_forwarded_for",
};

struct scan {
    const char *s;
    size_t len;
    struct nginx_match *m;
};

/* Onigmo's \s for a binary string: [ \t\n\v\f\r]. */
static const bool ws_table[256] = {
    ['\t'] = true, ['\n'] = true, ['\v'] = true, ['\f'] = true, ['\r'] = true, [' '] = true,
};

static bool is_ws(char c)
{
    return ws_table[(unsigned char)c];
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/*
 * First c at or after `from`, or len. Fields are mostly short (an address,
 * "-", a status), where memchr's setup costs more than the search: the
 * first 32 bytes are tested 8 at a time (a zero byte of word ^ pattern;
 * the lowest flagged byte is exact on little-endian), then memchr.
 */
static size_t find(const struct scan *sc, size_t from, char c)
{
    size_t stop = from + 32 < sc->len ? from + 32 : sc->len;
    const char *p;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t pat = ONES * (unsigned char)c;

    for (; from + 8 <= stop; from += 8) {
        uint64_t w;
        uint64_t z;

        memcpy(&w, sc->s + from, 8);
        w ^= pat;
        z = (w - ONES) & ~w & HIGHS;
        if (z != 0) {
            return from + (size_t)(__builtin_ctzll(z) >> 3);
        }
    }
#endif
    for (; from < stop; from++) {
        if (sc->s[from] == c) {
            return from;
        }
    }
    if (from >= sc->len) {
        return sc->len;
    }
    p = memchr(sc->s + from, c, sc->len - from);
    return p != NULL ? (size_t)(p - sc->s) : sc->len;
}

/* Last c in [from, to), or SIZE_MAX. */
static size_t rfind(const struct scan *sc, size_t from, size_t to, char c)
{
    const char *p;

    if (from >= to) {
        return SIZE_MAX;
    }
    p = memrchr(sc->s + from, c, to - from);
    return p != NULL ? (size_t)(p - sc->s) : SIZE_MAX;
}

/* End of the run of `c` starting at from. */
static size_t skip_char(const struct scan *sc, size_t from, char c)
{
    while (from < sc->len && sc->s[from] == c) {
        from++;
    }
    return from;
}

/* End of the \S run starting at from (first \s, or len). */
static size_t skip_nonws(const struct scan *sc, size_t from)
{
    while (from < sc->len && !is_ws(sc->s[from])) {
        from++;
    }
    return from;
}

/* Ruby's $: end of text, or before a newline. */
static bool eol(const struct scan *sc, size_t pos)
{
    return pos == sc->len || (pos < sc->len && sc->s[pos] == '\n');
}

static void set(const struct scan *sc, enum nginx_field f, size_t from, size_t to)
{
    sc->m->f[f].off = from;
    sc->m->f[f].len = to - from;
    sc->m->f[f].set = true;
}

/*
 * `"?(?<xff>[^"]*)"?$` from p1 (after the optional opening quote): xff
 * greedy to the next quote f1, then shorter. Longest first: the closing
 * quote then '$'; '$' at the end; '$' before the last '\n' of the run.
 */
static bool xff_end(const struct scan *sc, size_t p1)
{
    size_t f1 = find(sc, p1, '"');
    size_t nl;

    if (f1 == sc->len) {
        set(sc, NGINX_XFF, p1, f1);
        return true;
    }
    if (eol(sc, f1 + 1)) {
        set(sc, NGINX_XFF, p1, f1);
        return true;
    }
    nl = rfind(sc, p1, f1, '\n');
    if (nl != SIZE_MAX) {
        set(sc, NGINX_XFF, p1, nl);
        return true;
    }
    return false;
}

/*
 * `(?:\s+\"?(?<xff>[^\"]*)\"?)?$` at r, the optional part tried first.
 * \s+ is greedy: at its longest end w the quote is taken or not; a shorter
 * \s+ ends inside the blank run, where nothing new can match except an
 * empty xff right before a '\n' of that run (its last one wins).
 */
static bool xff(const struct scan *sc, size_t r)
{
    size_t w = r;
    size_t nl;

    while (w < sc->len && is_ws(sc->s[w])) {
        w++;
    }
    if (w == r) {
        return false;
    }
    if (w < sc->len && sc->s[w] == '"' && xff_end(sc, w + 1)) {
        return true;
    }
    if (xff_end(sc, w)) {
        return true;
    }
    nl = rfind(sc, r + 1, w, '\n');
    if (nl != SIZE_MAX) {
        set(sc, NGINX_XFF, nl, nl);
        return true;
    }
    return false;
}

/* ` "(?<referer>[^"]*)" "(?<agent>[^"]*)"` then the xff part and '$',
 * at e where line[e] == ' '. Deterministic up to the agent's quote. */
static bool ref_agent(const struct scan *sc, size_t e)
{
    size_t r0 = e + 2;
    size_t r1;
    size_t a0;
    size_t a1;

    if (e + 1 >= sc->len || sc->s[e + 1] != '"') {
        return false;
    }
    r1 = find(sc, r0, '"');
    if (r1 + 2 >= sc->len || sc->s[r1 + 1] != ' ' || sc->s[r1 + 2] != '"') {
        return false;
    }
    a0 = r1 + 3;
    a1 = find(sc, a0, '"');
    if (a1 == sc->len) {
        return false;
    }
    if (!xff(sc, a1 + 1) && !eol(sc, a1 + 1)) {
        return false;
    }
    set(sc, NGINX_REFERER, r0, r1);
    set(sc, NGINX_AGENT, a0, a1);
    return true;
}

/*
 * Everything after the request's closing quote, from q:
 * ` (?<code>[^ ]*) (?<size>[^ ]*)(?: "..." "..."...)?$`.
 * size is greedy: at its longest end z1 the optional group is tried, then
 * '$'; a shorter size can only be followed by '$' before a '\n'.
 */
static bool tail(const struct scan *sc, size_t q)
{
    size_t c1;
    size_t z0;
    size_t z1;
    size_t nl;

    if (q >= sc->len || sc->s[q] != ' ') {
        return false;
    }
    c1 = find(sc, q + 1, ' ');
    if (c1 == sc->len) {
        return false;
    }
    z0 = c1 + 1;
    z1 = find(sc, z0, ' ');
    if (z1 < sc->len && ref_agent(sc, z1)) {
        set(sc, NGINX_SIZE, z0, z1);
    } else if (z1 == sc->len) {
        set(sc, NGINX_SIZE, z0, z1);
    } else {
        nl = rfind(sc, z0, z1, '\n');
        if (nl == SIZE_MAX) {
            return false;
        }
        set(sc, NGINX_SIZE, z0, nl);
    }
    set(sc, NGINX_CODE, q + 1, c1);
    return true;
}

/*
 * The optional ` +\S*` after the path, at a run of spaces ending at s2:
 * \S* is greedy, so the closing quote is the last '"' of the \S run, then
 * the one before... but tail() needs a space right after the quote, and
 * inside the run only its last byte has one. A shorter ` +` leaves \S* at
 * a space: no quote there. So one candidate: the run's last byte.
 */
static bool token_quote(const struct scan *sc, size_t s2)
{
    size_t w2 = skip_nonws(sc, s2);

    return w2 > s2 && sc->s[w2 - 1] == '"' && tail(sc, w2);
}

/*
 * The lazy path from sp: it grows one byte at a time up to the first
 * quote q1 (it cannot cross one). At each length the optional token is
 * tried (only possible on a space), then the closing quote (only at q1).
 * A space right after a space leads to the same token as its predecessor,
 * which already failed, so only the first space of a run is tried; spaces
 * are found with memchr, the bytes between them cannot close anything.
 */
static bool path_from(const struct scan *sc, size_t sp)
{
    size_t q1 = find(sc, sp, '"');
    size_t pe = sp;

    while (pe < q1) {
        const char *hit = memchr(sc->s + pe, ' ', q1 - pe);
        size_t s2;

        if (hit == NULL) {
            break;
        }
        pe = (size_t)(hit - sc->s);
        s2 = skip_char(sc, pe, ' ');
        if (token_quote(sc, s2)) {
            set(sc, NGINX_PATH, sp, pe);
            return true;
        }
        pe = s2; /* the rest of this run of spaces leads to the same token */
    }
    if (q1 < sc->len && tail(sc, q1 + 1)) {
        set(sc, NGINX_PATH, sp, q1);
        return true;
    }
    return false;
}

/*
 * ` +(?<path>...)` after the method, at M (a space). ` +` is greedy: the
 * path first starts after every space (ps). With one space less the path
 * starts with a space, where the token group sees the first \S run R1
 * whole, quotes after q1 included: those are the only new candidates
 * (and the path is then empty). Shorter ` +` repeat what failed.
 */
static bool path_group(const struct scan *sc, size_t M)
{
    size_t ps = skip_char(sc, M, ' ');

    if (path_from(sc, ps)) {
        return true;
    }
    if (ps - 1 >= M + 1 && token_quote(sc, ps)) {
        set(sc, NGINX_PATH, ps - 1, ps - 1);
        return true;
    }
    return false;
}

/*
 * `"(?<method>\S+)(?: +PATH...)?"` from m0 (after the opening quote).
 * \S+ (quotes included) is greedy: at its longest end M the path group is
 * tried if a space follows; then shorter methods closed by a quote inside
 * the \S run with no path. As for the token, only a quote that is the
 * run's last byte has the space tail() needs (and the method keeps at
 * least one byte).
 */
static bool request(const struct scan *sc, size_t m0)
{
    size_t M = skip_nonws(sc, m0);

    if (M == m0) {
        return false;
    }
    if (M < sc->len && sc->s[M] == ' ' && path_group(sc, M)) {
        set(sc, NGINX_METHOD, m0, M);
        return true;
    }
    if (M >= m0 + 2 && sc->s[M - 1] == '"' && tail(sc, M)) {
        set(sc, NGINX_METHOD, m0, M - 1);
        return true;
    }
    return false;
}

/*
 * What one attempt at a line start learnt, so the next start skips work a
 * backtracking engine would redo (a value with many '\n' could otherwise
 * cost time quadratic in its length):
 * - remote is [^ ]*, '\n' included, so every start before the first space
 *   a ends at that same space and fails the same way: the next start worth
 *   trying follows a '\n' after a;
 * - the time group's ']' is found once for every c before it;
 * - a start that reaches the ']' of a failed attempt runs the very same
 *   request search: it fails too.
 */
struct attempt {
    size_t a;           /* end of remote */
    size_t bracket_from; /* ']' search cache: no ']' in [bracket_from, bracket) */
    size_t bracket;
    size_t failed_d;    /* ']' whose request part did not match */
};

enum outcome {
    ATTEMPT_MATCH,
    ATTEMPT_FAIL,
    ATTEMPT_STOP, /* no later start can match either */
};

static size_t find_bracket(const struct scan *sc, size_t from, struct attempt *at)
{
    if (from < at->bracket_from || from > at->bracket) {
        at->bracket_from = from;
        at->bracket = find(sc, from, ']');
    }
    return at->bracket;
}

/* The whole expression anchored at line start s0. */
static enum outcome match_at(const struct scan *sc, size_t s0, struct attempt *at)
{
    size_t a = find(sc, s0, ' ');
    size_t b = find(sc, a + 1, ' ');
    size_t c = find(sc, b + 1, ' ');
    size_t d;

    at->a = a;
    if (c >= sc->len) {
        return ATTEMPT_STOP; /* fewer than three spaces left */
    }
    if (c + 1 >= sc->len || sc->s[c + 1] != '[') {
        return ATTEMPT_FAIL;
    }
    d = find_bracket(sc, c + 2, at);
    if (d == sc->len) {
        return ATTEMPT_STOP;
    }
    if (d + 2 >= sc->len || sc->s[d + 1] != ' ' || sc->s[d + 2] != '"' || d == at->failed_d ||
        !request(sc, d + 3)) {
        at->failed_d = d;
        return ATTEMPT_FAIL;
    }
    set(sc, NGINX_REMOTE, s0, a);
    set(sc, NGINX_HOST, a + 1, b);
    set(sc, NGINX_USER, b + 1, c);
    set(sc, NGINX_TIME, c + 2, d);
    return ATTEMPT_MATCH;
}

bool nginx_scan(const char *line, size_t len, struct nginx_match *m)
{
    struct scan sc = {line, len, m};
    struct attempt at = {0, 1, 0, SIZE_MAX};
    size_t s0 = 0;

    for (;;) {
        enum outcome r;

        memset(m, 0, sizeof(*m));
        r = match_at(&sc, s0, &at);
        if (r == ATTEMPT_MATCH) {
            return true;
        }
        s0 = r == ATTEMPT_STOP ? len : find(&sc, at.a, '\n');
        if (s0 + 1 >= len) {
            memset(m, 0, sizeof(*m));
            return false; /* Onigmo's ^ does not match after a final '\n' */
        }
        s0++;
    }
}
