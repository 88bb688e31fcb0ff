/*
 * The value syntax of the Fluentd configuration language, as Fluentd's
 * LiteralParser reads it:
 *
 *   key bare words to the end of the line   # a comment needs a blank before '#'
 *   key 'literal: only \' and \\ are escapes'
 *   key "escapes \n \t \" \\ \# and #{ENV['X']}, may continue over lines"
 *   key ["a JSON array", "or hash, which may span lines",
 *        "until its brackets balance"]   # comments allowed between lines
 *
 * The cursor never moves backwards except to recover from a multi-line
 * value that reaches the end of the file: reading restarts on the line after
 * the value began, so one missing quote costs one parameter, not the rest of
 * the file. A JSON value also stops at the first line that cannot continue
 * it (a tag, a "key value" line).
 */
#include "config/config_int.h"

#include <string.h>

#include "util/alloc.h"

/* Longest piece of offending text quoted in a message. */
#define SK_CONF_QUOTE_MAX 40

void sk_conf_lex_init(struct sk_conf_lex *lx, const char *text, size_t len)
{
    lx->p = text;
    lx->end = text + len;
    lx->line = 1;
    /* A UTF-8 byte order mark, as some editors write, is not content. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        lx->p += 3;
    }
}

bool sk_conf_lex_eof(const struct sk_conf_lex *lx)
{
    return lx->p >= lx->end;
}

static void skip_comment(struct sk_conf_lex *lx)
{
    while (lx->p < lx->end && *lx->p != '\n') {
        lx->p++;
    }
}

void sk_conf_lex_spacing(struct sk_conf_lex *lx)
{
    while (lx->p < lx->end) {
        char c = *lx->p;

        if (c == ' ' || c == '\t' || c == '\r') {
            lx->p++;
        } else if (c == '\n') {
            lx->p++;
            lx->line++;
        } else if (c == '#') {
            skip_comment(lx);
        } else {
            return;
        }
    }
}

void sk_conf_lex_blanks(struct sk_conf_lex *lx)
{
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t')) {
        lx->p++;
    }
}

bool sk_conf_lex_line_end(struct sk_conf_lex *lx)
{
    sk_conf_lex_blanks(lx);
    if (lx->p < lx->end && *lx->p == '#') {
        skip_comment(lx);
    }
    if (lx->p >= lx->end) {
        return true;
    }
    if (*lx->p == '\r') {
        lx->p++;
        if (lx->p < lx->end && *lx->p == '\n') {
            lx->p++;
            lx->line++;
        }
        return true;
    }
    if (*lx->p == '\n') {
        lx->p++;
        lx->line++;
        return true;
    }
    return false;
}

void sk_conf_lex_skip_line(struct sk_conf_lex *lx)
{
    skip_comment(lx);
    if (lx->p < lx->end) {
        lx->p++;
        lx->line++;
    }
}

size_t sk_conf_lex_rest(const struct sk_conf_lex *lx)
{
    const char *q = lx->p;

    while (q < lx->end && *q != '\n' && *q != '\r') {
        q++;
    }
    return (size_t)(q - lx->p);
}

void sk_conf_value_init(struct sk_conf_value *v)
{
    sk_buf_init(&v->text, SK_CONF_MAX_VALUE);
    v->quote = SK_CONF_BARE;
    v->special = SK_CONF_SPECIAL_NONE;
}

void sk_conf_value_cleanup(struct sk_conf_value *v)
{
    sk_buf_cleanup(&v->text);
}

/* Reports a failed append: too long a value is the writer's problem, no
 * memory is ours. Returns the code for the caller to pass on. */
static int append_failed(struct sk_conf_file *fx, int rc, int line)
{
    if (rc == SK_ETOOBIG) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "value is longer than %u bytes", SK_CONF_MAX_VALUE);
        sk_conf_lex_skip_line(&fx->lx);
        return SK_EPARSE;
    }
    return SK_ENOMEM;
}

/* After a closing quote or bracket only a comment may follow. */
static int expect_line_end(struct sk_conf_file *fx, int start_line, const char *what)
{
    struct sk_conf_lex *lx = &fx->lx;
    size_t n;

    if (sk_conf_lex_line_end(lx)) {
        return 0;
    }
    n = sk_conf_lex_rest(lx);
    if (lx->line != start_line) {
        sk_conf_report(fx, SK_DIAG_ERROR, lx->line,
                       "unexpected text after the %s of a value that started at line %d "
                       "(missing closing quote?): %.*s",
                       what, start_line, (int)(n > SK_CONF_QUOTE_MAX ? SK_CONF_QUOTE_MAX : n),
                       lx->p);
    } else {
        sk_conf_report(fx, SK_DIAG_ERROR, lx->line, "unexpected text after the %s: %.*s", what,
                       (int)(n > SK_CONF_QUOTE_MAX ? SK_CONF_QUOTE_MAX : n), lx->p);
    }
    sk_conf_lex_skip_line(lx);
    return SK_EPARSE;
}

/* Restarts on the line after `line`, which began at or before `from`. */
static void restart_after(struct sk_conf_lex *lx, const char *from, int line)
{
    lx->p = from;
    lx->line = line;
    sk_conf_lex_skip_line(lx);
}

/*
 * A bare value ends at the line end; '#' starts a comment only after a
 * blank, so "a#b" and "http://x/#frag" keep theirs. Trailing blanks go.
 */
static int scan_bare(struct sk_conf_file *fx, struct sk_conf_value *v)
{
    struct sk_conf_lex *lx = &fx->lx;
    const char *start = lx->p;
    const char *q = start;
    const char *stop;
    int rc;

    while (q < lx->end && *q != '\n' && *q != '\r') {
        if (*q == '#' && q > start && (q[-1] == ' ' || q[-1] == '\t')) {
            break;
        }
        q++;
    }
    stop = q;
    while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t')) {
        stop--;
    }
    rc = sk_buf_append(&v->text, start, (size_t)(stop - start));
    if (rc < 0) {
        return append_failed(fx, rc, lx->line);
    }
    lx->p = stop;
    v->quote = SK_CONF_BARE;
    /* Only blanks, a comment and the line end are left: this cannot fail. */
    (void)sk_conf_lex_line_end(lx);
    return 0;
}

/* 'literal': Fluentd unescapes only \' and \\, and the value must close on
 * its own line. */
static int scan_single(struct sk_conf_file *fx, struct sk_conf_value *v)
{
    struct sk_conf_lex *lx = &fx->lx;
    int line = lx->line;
    int rc = 0;

    lx->p++;
    v->quote = SK_CONF_SINGLE;
    for (;;) {
        char c;

        if (lx->p >= lx->end || *lx->p == '\n') {
            sk_conf_report(fx, SK_DIAG_ERROR, line,
                           "unterminated single-quoted value (a ' value must end on its line)");
            sk_conf_lex_skip_line(lx);
            return SK_EPARSE;
        }
        c = *lx->p;
        if (c == '\'') {
            lx->p++;
            break;
        }
        if (c == '\\' && lx->p + 1 < lx->end && (lx->p[1] == '\'' || lx->p[1] == '\\')) {
            c = lx->p[1];
            lx->p++;
        }
        lx->p++;
        rc = sk_buf_putc(&v->text, c);
        if (rc < 0) {
            return append_failed(fx, rc, line);
        }
    }
    return expect_line_end(fx, line, "closing quote");
}

/* The escapes Fluentd knows in "double" values; letters and digits other
 * than these are errors there, every other character stands for itself. */
static int double_escape(char n)
{
    switch (n) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case 'f':
        return '\f';
    case 'b':
        return '\b';
    case '0':
        return -1; /* a NUL cannot live in a C string value */
    default:
        break;
    }
    if ((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9')) {
        return -1;
    }
    return (unsigned char)n;
}

/*
 * Finds the end of embedded code starting after "#{": the matching '}',
 * skipping Ruby string literals and nested braces. The code must end on
 * its line. Returns the position of the '}', or NULL.
 */
static const char *embedded_end(const char *p, const char *end)
{
    int depth = 0;

    while (p < end && *p != '\n') {
        char c = *p;

        if (c == '\'' || c == '"') {
            p++;
            while (p < end && *p != c && *p != '\n') {
                p += (*p == '\\' && p + 1 < end && p[1] != '\n') ? 2 : 1;
            }
            if (p >= end || *p == '\n') {
                return NULL;
            }
        } else if (c == '{') {
            depth++;
        } else if (c == '}') {
            if (depth == 0) {
                return p;
            }
            depth--;
        }
        p++;
    }
    return NULL;
}

/* Handles "#{...}" at the cursor. Returns 0, SK_EPARSE (string abandoned,
 * cursor on the next line), SK_EINVAL (reported; scanning goes on),
 * SK_ENOMEM. */
static int scan_embedded(struct sk_conf_file *fx, struct sk_conf_value *v)
{
    struct sk_conf_lex *lx = &fx->lx;
    const char *code = lx->p + 2;
    const char *close = embedded_end(code, lx->end);
    int rc;

    if (close == NULL) {
        size_t n = sk_conf_lex_rest(lx);

        sk_conf_report(fx, SK_DIAG_ERROR, lx->line,
                       "unterminated embedded Ruby code (no closing '}' on the line): %.*s",
                       (int)(n > SK_CONF_QUOTE_MAX ? SK_CONF_QUOTE_MAX : n), lx->p);
        sk_conf_lex_skip_line(lx);
        return SK_EPARSE;
    }
    rc = sk_conf_ruby_eval(fx, code, (size_t)(close - code), lx->line, &v->text, &v->special);
    lx->p = close + 1;
    if (rc == SK_ENOMEM || rc == SK_ETOOBIG) {
        return append_failed(fx, rc, lx->line);
    }
    return rc < 0 ? SK_EINVAL : 0;
}

/* One step inside a "double" value at a backslash. Returns 0, 1 (bad escape,
 * reported), or a negative append error. */
static int scan_escape(struct sk_conf_file *fx, struct sk_conf_value *v)
{
    struct sk_conf_lex *lx = &fx->lx;
    char n = lx->p[1];
    int c;

    if (n == '\n' || (n == '\r' && lx->p + 2 < lx->end && lx->p[2] == '\n')) {
        /* A backslash at the end of a line joins the next line. */
        lx->p += n == '\n' ? 2 : 3;
        lx->line++;
        return 0;
    }
    lx->p += 2;
    c = double_escape(n);
    if (c < 0) {
        sk_conf_report(fx, SK_DIAG_ERROR, lx->line,
                       "unknown escape '\\%c' in a double-quoted value "
                       "(write '\\\\%c', or use single quotes)",
                       n, n);
        return 1;
    }
    return sk_buf_putc(&v->text, (char)c);
}

static int double_unterminated(struct sk_conf_file *fx, const char *open, int line)
{
    sk_conf_report(fx, SK_DIAG_ERROR, line,
                   "unterminated double-quoted value (no closing '\"' before the end of the "
                   "file)");
    restart_after(&fx->lx, open, line);
    return SK_EPARSE;
}

static int scan_double(struct sk_conf_file *fx, struct sk_conf_value *v)
{
    struct sk_conf_lex *lx = &fx->lx;
    const char *open = lx->p;
    int line = lx->line;
    bool bad = false;
    size_t pieces = 0;
    int rc = 0;

    lx->p++;
    v->quote = SK_CONF_DOUBLE;
    for (;; pieces++) {
        char c;

        if (lx->p >= lx->end || (*lx->p == '\\' && lx->p + 1 >= lx->end)) {
            return double_unterminated(fx, open, line);
        }
        c = *lx->p;
        if (c == '"') {
            lx->p++;
            break;
        }
        if (c == '\\') {
            rc = scan_escape(fx, v);
            bad = bad || rc == 1;
        } else if (c == '#' && lx->p + 1 < lx->end && lx->p[1] == '{') {
            rc = scan_embedded(fx, v);
            if (rc == SK_EPARSE || rc == SK_ENOMEM) {
                return rc;
            }
            bad = bad || rc == SK_EINVAL;
            rc = 0;
        } else if (c == '\r' && lx->p + 1 < lx->end && lx->p[1] == '\n') {
            /* A value over several lines keeps its line breaks as "\n". */
            lx->p += 2;
            lx->line++;
            rc = sk_buf_putc(&v->text, '\n');
        } else {
            lx->p++;
            lx->line += c == '\n';
            rc = sk_buf_putc(&v->text, c);
        }
        if (rc < 0) {
            return append_failed(fx, rc, lx->line);
        }
    }
    if (v->special != SK_CONF_SPECIAL_NONE && pieces != 1) {
        /* use_nil / use_default stand for the whole value, not for text. */
        sk_conf_report(fx, SK_DIAG_ERROR, line,
                       "use_nil and use_default must be the whole quoted value");
        bad = true;
    }
    rc = expect_line_end(fx, line, "closing quote");
    return bad && rc == 0 ? SK_EPARSE : rc;
}

/* JSON text is kept compact, as Fluentd re-dumps it: blanks and line
 * breaks go unless they separate two plain tokens. */
static int json_put(struct sk_buf *b, char c, bool *space)
{
    bool structural = strchr("[]{},:", c) != NULL;
    int rc = 0;

    if (*space && !structural && b->len > 0 && strchr("[{,:", b->data[b->len - 1]) == NULL) {
        rc = sk_buf_putc(b, ' ');
    }
    *space = false;
    return rc < 0 ? rc : sk_buf_putc(b, c);
}

/* True when the line at p can go on with a JSON value. One that meets a
 * tag or a "key value" line instead has lost its closing bracket. */
static bool json_continues(const char *p, const char *end)
{
    static const char *const words[] = { "true", "false", "null" };

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p >= end || (*p >= '0' && *p <= '9') || strchr("\"[]{},:-#\r\n", *p) != NULL) {
        return true;
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);

        if ((size_t)(end - p) >= n && memcmp(p, words[i], n) == 0) {
            return true;
        }
    }
    return false;
}

/* Reading goes on at the line that stopped the value (`stop`, the cursor is
 * there), or after the first line when the file ended. */
static int json_unterminated(struct sk_conf_file *fx, const char *open, int line, char kind,
                             int stop)
{
    const char *name = kind == '[' ? "array" : "hash";
    char close = kind == '[' ? ']' : '}';

    if (stop > 0) {
        sk_conf_report(fx, SK_DIAG_ERROR, line,
                       "unterminated JSON %s: no closing '%c' before line %d", name, close, stop);
    } else {
        sk_conf_report(fx, SK_DIAG_ERROR, line,
                       "unterminated JSON %s: no closing '%c' before the end of the file", name,
                       close);
        restart_after(&fx->lx, open, line);
    }
    return SK_EPARSE;
}

static int scan_json(struct sk_conf_file *fx, struct sk_conf_value *v)
{
    struct sk_conf_lex *lx = &fx->lx;
    const char *open = lx->p;
    char kind = *open;
    int line = lx->line;
    int depth = 0;
    bool in_str = false;
    bool space = false;
    int rc = 0;

    v->quote = SK_CONF_BARE;
    do {
        char c;

        if (lx->p >= lx->end) {
            return json_unterminated(fx, open, line, kind, 0);
        }
        c = *lx->p++;
        if (in_str) {
            in_str = c != '"';
            rc = sk_buf_putc(&v->text, c);
            if (c == '\\' && rc == 0 && lx->p < lx->end && *lx->p != '\n') {
                rc = sk_buf_putc(&v->text, *lx->p++);
            }
            lx->line += c == '\n';
        } else if (c == '#') {
            skip_comment(lx);
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = true;
            if (c == '\n') {
                lx->line++;
                if (!json_continues(lx->p, lx->end)) {
                    return json_unterminated(fx, open, line, kind, lx->line);
                }
            }
        } else {
            in_str = c == '"';
            depth += (c == '[' || c == '{') - (c == ']' || c == '}');
            rc = json_put(&v->text, c, &space);
        }
        if (rc < 0) {
            return append_failed(fx, rc, line);
        }
    } while (depth > 0);
    return expect_line_end(fx, line, kind == '[' ? "JSON array" : "JSON hash");
}

int sk_conf_lex_value(struct sk_conf_file *fx, struct sk_conf_value *v, bool json)
{
    char c = *fx->lx.p;

    if (c == '"') {
        return scan_double(fx, v);
    }
    if (c == '\'') {
        return scan_single(fx, v);
    }
    if (json && (c == '[' || c == '{')) {
        return scan_json(fx, v);
    }
    return scan_bare(fx, v);
}
