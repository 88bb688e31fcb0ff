/*
 * Ruby regexps on PCRE2 (see ruby_regex.h): Fluentd's /body/flags
 * reading, the rewrite of Ruby spellings PCRE2 reads differently, JIT
 * compilation, and named captures in Ruby's order.
 */
#include "parser/ruby_regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "util/alloc.h"
#include "util/buf.h"

#define JIT_STACK_START (32 * 1024)
#define JIT_STACK_MAX (8 * 1024 * 1024)

/* --- Fluentd's regexp_value ---------------------------------------------- */

/*
 * `/body/flags`: body up to the last '/', at most two flag characters
 * (Fluentd: "invalid regexp: missing right slash" otherwise), `i` and `m`
 * honoured, the rest ignored. Sets *body and *blen, adds to *flags.
 */
static int split_slashes(const char *text, const char **body, size_t *blen, unsigned *flags,
                         char *err, size_t errsize, const char **warning)
{
    size_t len = strlen(text);
    const char *last = strrchr(text, '/');
    size_t r = (size_t)(last - text);

    if (r + 3 < len) {
        snprintf(err, errsize, "invalid regexp: missing right slash: %s", text);
        return SK_ECONFIG;
    }
    for (size_t i = r + 1; i < len; i++) {
        if (text[i] == 'i') {
            *flags |= SK_RUBY_RE_IGNORECASE;
        } else if (text[i] == 'm') {
            *flags |= SK_RUBY_RE_DOTALL;
        } else if (warning != NULL) {
            *warning = "regexp flags other than i and m are ignored (as Fluentd does); "
                       "write (?x) inside the pattern instead";
        }
    }
    *body = text + 1;
    *blen = r > 0 ? r - 1 : 0;
    return 0;
}

/* --- Ruby spelling -> PCRE2 spelling -------------------------------------- */

struct xlate {
    const char *s;
    size_t len;
    size_t i;
    struct sk_buf *out;
    char *err;
    size_t errsize;
    struct sk_ruby_regex *re; /* where aliases of group names go */
};

#define ALIAS_PREFIX "_sk_ruby_name_"

static int unsupported_note(struct xlate *x, const char *what, const char *note)
{
    snprintf(x->err, x->errsize, "Ruby regexp construct '%s' is not supported%s (at offset %zu)",
             what, note, x->i);
    return SK_ECONFIG;
}

static int unsupported(struct xlate *x, const char *what)
{
    return unsupported_note(x, what, "");
}

static char peek(const struct xlate *x, size_t ahead)
{
    return x->i + ahead < x->len ? x->s[x->i + ahead] : '\0';
}

/*
 * Ruby's \uHHHH and \u{H...}: an ASCII code point is that byte on any
 * string (Fluentd's documentation writes '#' as \u0023 since '#' starts a
 * comment in a config); others would make the regexp UTF-8 only.
 */
static int xlate_unicode(struct xlate *x)
{
    size_t j = x->i + 2;
    bool brace = peek(x, 2) == '{';
    unsigned long v = 0;
    size_t digits = 0;
    char hex[8];

    j += brace;
    while (j < x->len && digits < 6 && strchr("0123456789abcdefABCDEF", x->s[j]) != NULL &&
           (brace || digits < 4)) {
        v = v * 16 + (unsigned long)(x->s[j] <= '9' ? x->s[j] - '0' : (x->s[j] | 0x20) - 'a' + 10);
        digits++;
        j++;
    }
    if (brace && (j >= x->len || x->s[j] != '}')) {
        digits = 0;
    }
    if (digits == 0 || (!brace && digits != 4) || v >= 0x80) {
        return unsupported_note(x, "\\u", " beyond ASCII");
    }
    x->i = j + brace;
    snprintf(hex, sizeof(hex), "\\x{%02lx}", v);
    return sk_buf_append_str(x->out, hex);
}

/* --- group names ------------------------------------------------------- */

static bool pcre2_name_ok(const char *n, size_t len)
{
    if (len == 0 || len > 32 || (n[0] >= '0' && n[0] <= '9')) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = n[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_')) {
            return false;
        }
    }
    return true;
}

/* Writes the PCRE2 spelling of group name n[0..len): itself, or an alias
 * (the same one for every use of a name). Names Ruby refuses too (empty,
 * starting with a digit or sign: also numeric references) are left for
 * PCRE2 to read or report. */
static int spell_name(struct xlate *x, const char *n, size_t len)
{
    struct sk_ruby_regex *re = x->re;
    char alias[48];
    char **grown;
    size_t k;

    if (pcre2_name_ok(n, len) || len == 0 || strchr("0123456789+-", n[0]) != NULL) {
        return sk_buf_append(x->out, n, len);
    }
    for (k = 0; k < re->naliases; k++) {
        if (strlen(re->aliases[k]) == len && memcmp(re->aliases[k], n, len) == 0) {
            break;
        }
    }
    if (k == re->naliases) {
        grown = sk_realloc(re->aliases, (k + 1) * sizeof(*grown));
        if (grown == NULL) {
            return SK_ENOMEM;
        }
        re->aliases = grown;
        re->aliases[k] = sk_strndup(n, len);
        if (re->aliases[k] == NULL) {
            return SK_ENOMEM;
        }
        re->naliases++;
    }
    snprintf(alias, sizeof(alias), ALIAS_PREFIX "%zu_", k);
    return sk_buf_append_str(x->out, alias);
}

/*
 * A name in <...> or '...' starting at x->i + skip (the opening bracket):
 * writes `head`, "<", the name's spelling, ">". False (nothing written)
 * when there is no closing bracket: the text is copied as it is.
 */
static bool xlate_named(struct xlate *x, size_t skip, const char *head, int *rc)
{
    char open = peek(x, skip);
    char close = open == '<' ? '>' : '\'';
    const char *start = x->s + x->i + skip + 1;
    const char *end = memchr(start, close, x->len - (x->i + skip + 1));

    if ((open != '<' && open != '\'') || end == NULL) {
        return false;
    }
    *rc = sk_buf_append_str(x->out, head);
    if (*rc == 0) {
        *rc = sk_buf_putc(x->out, '<');
    }
    if (*rc == 0) {
        *rc = spell_name(x, start, (size_t)(end - start));
    }
    if (*rc == 0) {
        *rc = sk_buf_putc(x->out, '>');
    }
    x->i = (size_t)(end - x->s) + 1;
    return true;
}

/* A backslash escape at x->i, inside a class or not. */
static int xlate_escape(struct xlate *x, bool in_class)
{
    char n = peek(x, 1);

    if (x->i + 1 >= x->len) {
        x->i++;
        return sk_buf_putc(x->out, '\\'); /* PCRE2 reports it */
    }
    if (n == 'h' || n == 'H') { /* Ruby: hex digit; PCRE2: horizontal space */
        x->i += 2;
        if (in_class) {
            return sk_buf_append_str(x->out, n == 'h' ? "[:xdigit:]" : "[:^xdigit:]");
        }
        return sk_buf_append_str(x->out, n == 'h' ? "[[:xdigit:]]" : "[[:^xdigit:]]");
    }
    if ((n == 'C' || n == 'M') && peek(x, 2) == '-') {
        return unsupported(x, n == 'C' ? "\\C-" : "\\M-");
    }
    if (n == 'u') {
        return xlate_unicode(x);
    }
    if (!in_class && (n == 'k' || n == 'g')) { /* \k<name>, \g<name> */
        int rc = 0;

        if (xlate_named(x, 2, n == 'k' ? "\\k" : "\\g", &rc)) {
            return rc;
        }
    }
    x->i += 2;
    return sk_buf_append(x->out, x->s + x->i - 2, 2);
}

/* A class from x->i ('['); nested non-negated classes are flattened. */
static int xlate_class(struct xlate *x)
{
    int depth = 0;
    int rc = 0;

    while (rc == 0 && x->i < x->len) {
        char c = x->s[x->i];
        bool opening = c == '[' && (depth == 0 || peek(x, 1) != ':');

        if (c == '\\') {
            rc = xlate_escape(x, true);
        } else if (c == '[' && !opening) { /* POSIX bracket: copy to ":]" */
            const char *end = strstr(x->s + x->i + 2, ":]");
            size_t n = end != NULL && end < x->s + x->len ? (size_t)(end - (x->s + x->i)) + 2 : 1;

            rc = sk_buf_append(x->out, x->s + x->i, n);
            x->i += n;
        } else if (opening && depth > 0 && peek(x, 1) == '^') {
            rc = unsupported(x, "[^...] nested in a class");
        } else if (opening) {
            rc = depth == 0 ? sk_buf_putc(x->out, '[') : 0;
            x->i++;
            depth++;
            if (depth == 1 && peek(x, 0) == '^') {
                rc = rc == 0 ? sk_buf_putc(x->out, '^') : rc;
                x->i++;
            }
            if (peek(x, 0) == ']') { /* "[]" / "[^]": ']' first is literal */
                rc = rc == 0 ? sk_buf_putc(x->out, ']') : rc;
                x->i++;
            }
        } else if (c == ']') {
            depth--;
            x->i++;
            if (depth == 0) {
                return sk_buf_putc(x->out, ']');
            }
        } else if (c == '&' && peek(x, 1) == '&') {
            rc = unsupported(x, "&&");
        } else {
            rc = sk_buf_putc(x->out, c);
            x->i++;
        }
    }
    return rc; /* unterminated: PCRE2 reports it */
}

/* "(?imx-imx)" or "(?imx-imx:" at x->i: Ruby's m is PCRE2's s. */
static bool xlate_options(struct xlate *x, int *rc)
{
    size_t j = x->i + 2;

    while (j < x->len && strchr("imx-", x->s[j]) != NULL) {
        j++;
    }
    if (j == x->i + 2 || j >= x->len || (x->s[j] != ')' && x->s[j] != ':')) {
        return false;
    }
    *rc = sk_buf_append(x->out, "(?", 2);
    for (size_t k = x->i + 2; k <= j && *rc == 0; k++) {
        *rc = sk_buf_putc(x->out, x->s[k] == 'm' ? 's' : x->s[k]);
    }
    x->i = j + 1;
    return true;
}

/* "{,n}" (Ruby: {0,n}) at x->i. */
static bool xlate_brace(struct xlate *x, int *rc)
{
    size_t j = x->i + 2;

    if (peek(x, 1) != ',') {
        return false;
    }
    while (j < x->len && x->s[j] >= '0' && x->s[j] <= '9') {
        j++;
    }
    if (j == x->i + 2 || j >= x->len || x->s[j] != '}') {
        return false;
    }
    *rc = sk_buf_append(x->out, "{0", 2);
    if (*rc == 0) {
        *rc = sk_buf_append(x->out, x->s + x->i + 1, j - x->i);
    }
    x->i = j + 1;
    return true;
}

static int translate(struct sk_ruby_regex *re, const char *s, size_t len, struct sk_buf *out,
                     char *err, size_t errsize)
{
    struct xlate x = {s, len, 0, out, err, errsize, re};
    int rc = 0;

    while (rc == 0 && x.i < len) {
        char c = s[x.i];

        if (c == '\\') {
            rc = xlate_escape(&x, false);
        } else if (c == '[') {
            rc = xlate_class(&x);
        } else if (c == '(' && peek(&x, 1) == '?' && peek(&x, 2) == '~') {
            rc = unsupported(&x, "(?~");
        } else if (c == '(' && peek(&x, 1) == '?' && xlate_options(&x, &rc)) {
            continue;
        } else if (c == '(' && peek(&x, 1) == '?' && peek(&x, 3) != '=' && peek(&x, 3) != '!' &&
                   xlate_named(&x, 2, "(?", &rc)) {
            continue;
        } else if (c == '{' && xlate_brace(&x, &rc)) {
            continue;
        } else {
            rc = sk_buf_putc(out, c);
            x.i++;
        }
    }
    return rc == SK_ETOOBIG ? SK_ENOMEM : rc;
}

/* --- compile ---------------------------------------------------------------- */

static pcre2_code *compile_once(const char *p, size_t len, uint32_t opts, char *err,
                                size_t errsize)
{
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    pcre2_code *code;
    int errcode = 0;
    PCRE2_SIZE erroff = 0;

    if (cc == NULL) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    (void)pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    code = pcre2_compile((PCRE2_SPTR)p, len, opts, &errcode, &erroff, cc);
    pcre2_compile_context_free(cc);
    if (code == NULL) {
        PCRE2_UCHAR msg[160];

        pcre2_get_error_message(errcode, msg, sizeof(msg));
        snprintf(err, errsize, "invalid regexp: %s at offset %zu", (const char *)msg,
                 (size_t)erroff);
    }
    return code;
}

struct name_entry {
    const char *name;
    size_t len;
    int group;
};

static int by_group(const void *a, const void *b)
{
    const struct name_entry *x = a;
    const struct name_entry *y = b;

    return x->group - y->group;
}

/* The Ruby name behind a name of the compiled pattern. */
static const char *ruby_name(const struct sk_ruby_regex *re, const char *name)
{
    size_t plen = strlen(ALIAS_PREFIX);
    char *end;
    unsigned long k;

    if (strncmp(name, ALIAS_PREFIX, plen) != 0) {
        return name;
    }
    k = strtoul(name + plen, &end, 10);
    return k < re->naliases && strcmp(end, "_") == 0 ? re->aliases[k] : name;
}

/* The name table (sorted by name in PCRE2) regrouped in Ruby's order. */
static int load_names(struct sk_ruby_regex *re)
{
    uint32_t count = 0;
    uint32_t esize = 0;
    PCRE2_SPTR table = NULL;
    struct name_entry *e;

    (void)pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count);
    (void)pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &esize);
    (void)pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
    if (count == 0) {
        return 0;
    }
    e = sk_calloc(count, sizeof(*e));
    re->names = sk_calloc(count, sizeof(*re->names));
    re->groups = sk_calloc(count, sizeof(*re->groups));
    if (e == NULL || re->names == NULL || re->groups == NULL) {
        sk_free(e);
        return SK_ENOMEM;
    }
    for (uint32_t i = 0; i < count; i++) {
        PCRE2_SPTR row = table + (size_t)i * esize;

        e[i].group = (row[0] << 8) | row[1];
        e[i].name = ruby_name(re, (const char *)row + 2);
        e[i].len = strlen(e[i].name);
    }
    qsort(e, count, sizeof(*e), by_group);
    for (uint32_t i = 0; i < count; i++) {
        size_t k = 0;

        while (k < re->nnames &&
               !(re->names[k].len == e[i].len && memcmp(re->names[k].name, e[i].name, e[i].len) == 0)) {
            k++;
        }
        if (k == re->nnames) {
            re->names[k].name = e[i].name;
            re->names[k].len = e[i].len;
            re->nnames++;
        }
        re->names[k].count++;
    }
    /* groups[] holds each name's numbers contiguously, in name order. */
    for (size_t k = 0, at = 0; k < re->nnames; k++) {
        re->names[k].first = at;
        re->names[k].count = 0;
        for (uint32_t i = 0; i < count; i++) {
            if (re->names[k].len == e[i].len && memcmp(re->names[k].name, e[i].name, e[i].len) == 0) {
                re->groups[at++] = e[i].group;
                re->names[k].count++;
            }
        }
    }
    sk_free(e);
    return 0;
}

static int prepare_match(struct sk_ruby_regex *re)
{
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
    re->mctx = pcre2_match_context_create(NULL);
    if (re->md == NULL || re->mctx == NULL) {
        return SK_ENOMEM;
    }
    if (re->jit) {
        re->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
        if (re->jit_stack == NULL) {
            return SK_ENOMEM;
        }
        pcre2_jit_stack_assign(re->mctx, NULL, re->jit_stack);
    }
    return 0;
}

int sk_ruby_regex_compile(struct sk_ruby_regex *re, const char *text, unsigned flags, char *err,
                          size_t errsize, const char **warning)
{
    const char *body = text;
    size_t blen = strlen(text);
    uint32_t opts = PCRE2_MULTILINE | PCRE2_DUPNAMES | PCRE2_NEVER_BACKSLASH_C;
    uint32_t names = 0;
    struct sk_buf pat;
    int rc = 0;

    memset(re, 0, sizeof(*re));
    err[0] = '\0';
    if ((flags & SK_RUBY_RE_SLASHES) && text[0] == '/') {
        rc = split_slashes(text, &body, &blen, &flags, err, errsize, warning);
    }
    sk_buf_init(&pat, blen * 16 + 64);
    if (rc == 0) {
        rc = translate(re, body, blen, &pat, err, errsize);
    }
    opts |= (flags & SK_RUBY_RE_IGNORECASE) ? PCRE2_CASELESS : 0;
    opts |= (flags & SK_RUBY_RE_DOTALL) ? PCRE2_DOTALL : 0;
    if (rc == 0) {
        re->code = compile_once(pat.data != NULL ? pat.data : "", pat.len, opts, err, errsize);
        rc = re->code == NULL ? SK_ECONFIG : 0;
    }
    if (rc == 0) {
        (void)pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &names);
    }
    if (rc == 0 && names > 0) { /* Ruby: with names, (...) does not capture */
        pcre2_code_free(re->code);
        re->code = compile_once(pat.data != NULL ? pat.data : "", pat.len,
                                opts | PCRE2_NO_AUTO_CAPTURE, err, errsize);
        rc = re->code == NULL ? SK_ECONFIG : 0;
    }
    if (rc == 0) {
        rc = load_names(re);
    }
    if (rc == 0) {
        rc = prepare_match(re);
    }
    if (rc == SK_ENOMEM) {
        snprintf(err, errsize, "out of memory");
    }
    sk_buf_cleanup(&pat);
    return rc;
}

void sk_ruby_regex_cleanup(struct sk_ruby_regex *re)
{
    if (re == NULL) {
        return;
    }
    pcre2_jit_stack_free(re->jit_stack);
    pcre2_match_context_free(re->mctx);
    pcre2_match_data_free(re->md);
    pcre2_code_free(re->code);
    sk_free(re->names);
    sk_free(re->groups);
    for (size_t k = 0; k < re->naliases; k++) {
        sk_free(re->aliases[k]);
    }
    sk_free(re->aliases);
    memset(re, 0, sizeof(*re));
}

/* --- match ------------------------------------------------------------------ */

bool sk_ruby_regex_search(struct sk_ruby_regex *re, const char *s, size_t len, size_t start)
{
    if (start > len) {
        re->rc = PCRE2_ERROR_NOMATCH;
        return false;
    }
    if (re->jit) {
        re->rc = pcre2_jit_match(re->code, (PCRE2_SPTR)s, len, start, 0, re->md, re->mctx);
        if (re->rc == PCRE2_ERROR_JIT_STACKLIMIT) {
            /* Deep backtracking on a long line: the interpreter keeps its
             * frames on the heap (up to PCRE2's heap limit). */
            re->rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, PCRE2_NO_JIT, re->md,
                                 re->mctx);
        }
    } else {
        re->rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, 0, re->md, re->mctx);
    }
    return re->rc > 0;
}

bool sk_ruby_regex_group(const struct sk_ruby_regex *re, int g, size_t *off, size_t *glen)
{
    const PCRE2_SIZE *ov;

    if (re->rc <= 0 || g < 0 || g >= re->rc) {
        return false;
    }
    ov = pcre2_get_ovector_pointer(re->md);
    if (ov[2 * g] == PCRE2_UNSET) {
        return false;
    }
    *off = ov[2 * g];
    *glen = ov[2 * g + 1] - ov[2 * g];
    return true;
}

int sk_ruby_regex_ngroups(const struct sk_ruby_regex *re)
{
    uint32_t n = 0;

    (void)pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &n);
    return (int)n;
}

size_t sk_ruby_regex_fields(const struct sk_ruby_regex *re, const char *s,
                            struct sk_parser_field *f)
{
    size_t n = 0;

    for (size_t k = 0; k < re->nnames; k++) {
        const struct sk_ruby_regex_name *nm = &re->names[k];

        for (size_t j = nm->count; j > 0; j--) {
            size_t off;
            size_t len;

            if (sk_ruby_regex_group(re, re->groups[nm->first + j - 1], &off, &len)) {
                f[n].key = nm->name;
                f[n].klen = nm->len;
                f[n].val = s + off;
                f[n].vlen = len;
                n++;
                break;
            }
        }
    }
    return n;
}
