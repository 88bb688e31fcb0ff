/*
 * Differential test of the apache2 matcher (plugins/parser_apache2/
 * apache2_scan.c) against Fluentd's apache2 expression compiled with PCRE2
 * exactly as documented (compat-formats.md (d)).
 *
 * PCRE2 with PCRE2_MULTILINE and LF newlines answers as Onigmo does for
 * this expression: same backtracking order (the alternation
 * (?:[^"]|\\")*? included), ^ and $ as line anchors, \s = [ \t\n\v\f\r],
 * bytes for binary lines. Two things are checked for every input:
 * - the fast path, when it decides (MATCH or NOMATCH), agrees with PCRE2
 *   on matching and on every group's span;
 * - the whole matcher (fast path, then the plugin's PCRE2 fallback built
 *   through parser/ruby_regex.c) agrees on everything.
 *
 * Inputs: every line under $SKIFF_SHARED/testdata/nginx-logs (as read and
 * chomped), Apache-style lines with \" escapes, seeded random mutations
 * (quotes, backslashes, blanks, brackets, newlines, cuts, splices) and
 * lines assembled from hostile fragments.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "parser_apache2/apache2_int.h"

#define LOG_DIR "testdata/nginx-logs"
#define MUTATIONS 300000
#define ASSEMBLED 200000
#define MAX_REPORT 15

struct corpus {
    char **line;
    size_t *len;
    size_t n;
    size_t cap;
};

struct diff {
    pcre2_code *re; /* the documented expression, as is */
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    int group[APACHE2_NFIELDS];
    struct sk_ruby_regex fallback; /* the plugin's */
    size_t cases;
    size_t matched;
    size_t fast;      /* decided by the fast path */
    size_t undecided; /* PCRE2 gave up (match limit): not compared */
    size_t mismatches;
};

/* ------------------------------------------------------------------ */

static void corpus_add(struct corpus *c, const char *p, size_t len)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->line = realloc(c->line, c->cap * sizeof(*c->line));
        c->len = realloc(c->len, c->cap * sizeof(*c->len));
        assert_non_null(c->line);
        assert_non_null(c->len);
    }
    c->line[c->n] = malloc(len + 1);
    assert_non_null(c->line[c->n]);
    memcpy(c->line[c->n], p, len);
    c->line[c->n][len] = '\0';
    c->len[c->n] = len;
    c->n++;
}

static void corpus_free(struct corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->line[i]);
    }
    free(c->line);
    free(c->len);
}

static void load_file(struct corpus *c, const char *path)
{
    size_t len;
    char *data = sk_test_read_file(path, &len);
    size_t start = 0;

    assert_non_null(data);
    for (size_t i = 0; i <= len; i++) {
        if (i == len || data[i] == '\n') {
            if (i > start || i < len) {
                corpus_add(c, data + start, i - start);
            }
            start = i + 1;
        }
    }
    free(data);
}

static void load_dir(struct corpus *c, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;

        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            load_dir(c, path);
        } else if (strstr(e->d_name, ".log") != NULL) {
            load_file(c, path);
        }
    }
    closedir(d);
}

/* Apache writes \" and \\ inside %r and %{...}i (mod_log_config). */
static const char *const apache_lines[] = {
    "192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] \"GET / HTTP/1.1\" 200 777 \"-\" \"Opera/12.0\"",
    "192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] \"GET /\" 200 777 \"-\" \"Opera/12.0\"",
    "10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326",
    "1.1.1.1 - - [25/Feb/2020:18:55:34 +0000] \"GET / HTTP/1.1\" 302 5080 \"-\" "
    "\"\\\"Mozilla/5.0 (iPhone; CPU iPhone OS 11_0 like Mac OS X)\\\"\"",
    "x.x.x.x - - [16/Apr/2018:16:19:20 +0000] \"POST /myURL HTTP/1.1\" 200 8073 \"-\" "
    "\"Dalvik/2.1.0 (Linux; U; Android 5.1; Alba 10\\\" Build/LMY47I)\"",
    "127.0.0.1 - - [07/Mar/2016:13:20:15 +0000] \"GET /hello HTTP/1.1\" 404 203 \"-\" "
    "\"\\\"echocrawl 2.0\\\"\"",
    "::1 - - [07/Mar/2016:21:40:04 +0100] \"GET http://localhost:6081/\\\" HTTP/1.1\" 404 281 "
    "\"-\" \"\\\"\"",
    "10.1.1.1 - - [01/Jan/2024:00:00:00 +0000] \"GET /a\\\\b HTTP/1.1\" 200 1 \"-\" \"c\\\\\"",
    "10.1.1.1 - - [01/Jan/2024:00:00:00 +0000] \"\\x16\\x03\\x01\" 400 0 \"-\" \"-\"",
    "10.1.1.1 - - [01/Jan/2024:00:00:00 +0000] \"-\" 408 - \"-\" \"-\"",
};

/* ------------------------------------------------------------------ */

static void diff_init(struct diff *df)
{
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    char err[256];
    int e;
    PCRE2_SIZE off;

    memset(df, 0, sizeof(*df));
    assert_non_null(cc);
    assert_int_equal(pcre2_set_newline(cc, PCRE2_NEWLINE_LF), 0);
    df->re = pcre2_compile((PCRE2_SPTR)APACHE2_REGEX, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE, &e,
                           &off, cc);
    pcre2_compile_context_free(cc);
    assert_non_null(df->re);
    assert_int_equal(pcre2_jit_compile(df->re, PCRE2_JIT_COMPLETE), 0);
    df->md = pcre2_match_data_create_from_pattern(df->re, NULL);
    df->mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(df->mctx, 50000000);
    for (int i = 0; i < APACHE2_NFIELDS; i++) {
        df->group[i] = pcre2_substring_number_from_name(df->re,
                                                        (PCRE2_SPTR)apache2_field_names[i]);
        assert_true(df->group[i] > 0);
    }
    assert_int_equal(sk_ruby_regex_compile(&df->fallback, APACHE2_REGEX, 0, err, sizeof(err),
                                           NULL),
                     0);
}

static void diff_cleanup(struct diff *df)
{
    sk_ruby_regex_cleanup(&df->fallback);
    pcre2_match_context_free(df->mctx);
    pcre2_match_data_free(df->md);
    pcre2_code_free(df->re);
}

static void print_escaped(const char *what, const char *s, size_t len)
{
    fprintf(stderr, "%s\"", what);
    for (size_t i = 0; i < len && i < 2000; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            fprintf(stderr, "\\%c", c);
        } else if (c < 0x20 || c >= 0x7f) {
            fprintf(stderr, "\\x%02x", c);
        } else {
            fputc(c, stderr);
        }
    }
    fprintf(stderr, "\"%s\n", len > 2000 ? "..." : "");
}

static void report(const char *what, const char *line, size_t len, int rc, const PCRE2_SIZE *ov,
                   const struct diff *df, bool ok, const struct apache2_match *m)
{
    fprintf(stderr, "MISMATCH (%s) ", what);
    print_escaped("line ", line, len);
    fprintf(stderr, "  regex %s, matcher %s\n", rc > 0 ? "matches" : "no match",
            ok ? "matches" : "no match");
    for (int i = 0; i < APACHE2_NFIELDS; i++) {
        int g = df->group[i];
        bool rset = rc > 0 && g < rc && ov[2 * g] != PCRE2_UNSET;

        fprintf(stderr, "  %-10s", apache2_field_names[i]);
        if (rset) {
            print_escaped("regex=", line + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        } else {
            fprintf(stderr, "regex=(unset)\n");
        }
        if (ok && m->f[i].set) {
            print_escaped("            scan =", line + m->f[i].off, m->f[i].len);
        } else {
            fprintf(stderr, "            scan =(unset)\n");
        }
    }
}

static bool same_groups(const struct diff *df, int rc, const PCRE2_SIZE *ov,
                        const struct apache2_match *m)
{
    for (int i = 0; i < APACHE2_NFIELDS; i++) {
        int g = df->group[i];
        bool rset = g < rc && ov[2 * g] != PCRE2_UNSET;

        if (rset != m->f[i].set ||
            (rset && (ov[2 * g] != m->f[i].off || ov[2 * g + 1] - ov[2 * g] != m->f[i].len))) {
            return false;
        }
    }
    return true;
}

static void mismatch(struct diff *df, const char *what, const char *line, size_t len, int rc,
                     const PCRE2_SIZE *ov, bool ok, const struct apache2_match *m)
{
    if (df->mismatches < MAX_REPORT) {
        report(what, line, len, rc, ov, df, ok, m);
    }
    df->mismatches++;
}

/* Runs one input through the expression, the fast path and the matcher. */
static void check(struct diff *df, const char *line, size_t len)
{
    struct apache2_match fast;
    struct apache2_match full;
    enum apache2_verdict v = apache2_scan(line, len, &fast);
    bool ok = apache2_match(&df->fallback, line, len, &full);
    int rc = pcre2_match(df->re, (PCRE2_SPTR)line, len, 0, 0, df->md, df->mctx);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(df->md);

    df->cases++;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        df->undecided++;
        return;
    }
    assert_true(rc > 0 || rc == PCRE2_ERROR_NOMATCH);
    df->matched += rc > 0;
    if (v != APACHE2_UNSURE) {
        df->fast++;
        if ((v == APACHE2_MATCH) != (rc > 0) ||
            (v == APACHE2_MATCH && !same_groups(df, rc, ov, &fast))) {
            mismatch(df, "fast path", line, len, rc, ov, v == APACHE2_MATCH, &fast);
            return;
        }
    }
    if (ok != (rc > 0) || (ok && !same_groups(df, rc, ov, &full))) {
        mismatch(df, "matcher", line, len, rc, ov, ok, &full);
    }
}

/* ------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static size_t rndn(size_t n)
{
    return n == 0 ? 0 : (size_t)(rnd() % n);
}

static const char *const fragments[] = {
    "\"", "\\", "\\\"", "\\\\", " ", "  ", "[", "]", "\n", "\t", "\r", "-", "\" \"", "\"-\"",
    "\\x22", "\" ", " \"", "\"\"", "x", "GET", "/", "HTTP/1.1", "\v", "\f", " - ", "\\\" ",
    " \\\"",
};

/* One random edit of b (capacity cap) of length *n. */
static void mutate_once(char *b, size_t *n, size_t cap, const struct corpus *c)
{
    size_t pos = rndn(*n + 1);
    const char *frag;
    size_t fl;

    switch (rndn(7)) {
    case 0:
    case 1:
        frag = fragments[rndn(sizeof(fragments) / sizeof(fragments[0]))];
        fl = strlen(frag);
        if (*n + fl < cap) {
            memmove(b + pos + fl, b + pos, *n - pos);
            memcpy(b + pos, frag, fl);
            *n += fl;
        }
        break;
    case 2:
        fl = 1 + rndn(4);
        if (pos + fl <= *n) {
            memmove(b + pos, b + pos + fl, *n - pos - fl);
            *n -= fl;
        }
        break;
    case 3:
        *n = pos;
        break;
    case 4:
        if (pos < *n) {
            b[pos] = "\" []\\\n\t-"[rndn(8)];
        }
        break;
    case 5: {
        size_t k = rndn(c->n);
        size_t from = rndn(c->len[k] + 1);
        size_t take = rndn(c->len[k] - from + 1);

        if (*n + take < cap) {
            memmove(b + pos + take, b + pos, *n - pos);
            memcpy(b + pos, c->line[k] + from, take);
            *n += take;
        }
        break;
    }
    default:
        fl = rndn(*n - pos + 1);
        if (fl > 40) {
            fl = 40;
        }
        if (*n + fl < cap) {
            memmove(b + pos + fl, b + pos, *n - pos);
            *n += fl;
        }
        break;
    }
}

static const char *const pieces[] = {
    "1.2.3.4", "::1", "-", "alice", "", "x\"y", "[", "]", "a b", "\\\"", "\"", "\" \"",
};
static const char *const requests[] = {
    "GET / HTTP/1.1", "-", "", "GET", "GET  /a  HTTP/1.0", "GET /a\"b HTTP/1.1",
    "GET /a\\\"b\\\" HTTP/1.1", "\\x16\\x03\\x01", "POST /x HTTP/1.1\" 200 \"", "GET /a b c",
    "\"", "\"\"", "GET \" HTTP/1.1", "G\"E\"T /", "GET /x HTTP/1.1\"x", " GET /",
    "GET  a\"b", "GET   /x\"y\"z", "GET  \"", "GET\"", "GET /a HTTP/1.1\" 200 1 \"x",
    "GET /a \"b\"", "\\x16\\x03\" 400 0 \"-\" \"-", "GET\t/a", "GET /a\\", "GET /\\\\\" x",
    "GET /a\\\" HTTP/1.1\\", "GET \\\"",
};
static const char *const quoted[] = {
    "-", "", "Mozilla/5.0 (X11)", "a\\\"b", "x\" \"y", "\\\"", "curl/8", "\\\\", "a\\",
    "\\\"x\\\" \\\"y",
};

static void add(char *b, size_t *n, size_t cap, const char *s)
{
    size_t l = strlen(s);

    if (*n + l < cap) {
        memcpy(b + *n, s, l);
        *n += l;
    }
}

/* A line assembled from the format's parts with hostile values. */
static void assemble(char *b, size_t *n, size_t cap)
{
    static const char *const seps[] = {" ", "  ", "\t", " \"", "\" ", "\n", ""};

    *n = 0;
    add(b, n, cap, pieces[rndn(3)]);
    add(b, n, cap, rndn(10) ? " - " : " ");
    add(b, n, cap, pieces[rndn(sizeof(pieces) / sizeof(pieces[0]))]);
    add(b, n, cap, rndn(8) ? " [10/Oct/2000:13:55:36 -0700] \"" : " [x] y \"");
    add(b, n, cap, requests[rndn(sizeof(requests) / sizeof(requests[0]))]);
    add(b, n, cap, rndn(10) ? "\" " : "\"");
    add(b, n, cap, rndn(5) ? "200" : "\"-\"");
    add(b, n, cap, rndn(10) ? " " : "  ");
    add(b, n, cap, rndn(5) ? "612" : "-");
    for (int k = 0; k < 3 && rndn(4) != 0; k++) {
        add(b, n, cap, k == 2 ? seps[rndn(sizeof(seps) / sizeof(seps[0]))] : " \"");
        add(b, n, cap, rndn(3) ? "\"" : "");
        add(b, n, cap, quoted[rndn(sizeof(quoted) / sizeof(quoted[0]))]);
        add(b, n, cap, rndn(6) ? "\"" : "");
    }
    if (rndn(10) == 0) {
        add(b, n, cap, seps[rndn(sizeof(seps) / sizeof(seps[0]))]);
    }
}

static void load_all(struct corpus *c)
{
    char dir[4096];

    snprintf(dir, sizeof(dir), "%s", sk_test_shared(LOG_DIR));
    load_dir(c, dir);
    for (size_t i = 0; i < sizeof(apache_lines) / sizeof(apache_lines[0]); i++) {
        corpus_add(c, apache_lines[i], strlen(apache_lines[i]));
    }
}

/* ------------------------------------------------------------------ */

static void test_real_lines(void **state)
{
    struct corpus c = {0};
    struct diff df;

    (void)state;
    load_all(&c);
    assert_true(c.n > 10000);
    diff_init(&df);
    for (size_t i = 0; i < c.n; i++) {
        size_t len = c.len[i];

        check(&df, c.line[i], len);
        if (len > 0 && c.line[i][len - 1] == '\r') {
            check(&df, c.line[i], len - 1); /* in_tail's chomp */
        }
    }
    fprintf(stderr,
            "real lines: %zu inputs, %zu matched, %zu decided by the fast path, "
            "%zu undecided, %zu mismatches\n",
            df.cases, df.matched, df.fast, df.undecided, df.mismatches);
    assert_true(df.matched > 9000);
    assert_true(df.fast * 100 > df.cases * 95); /* ordinary lines take the fast path */
    assert_int_equal(df.mismatches, 0);
    diff_cleanup(&df);
    corpus_free(&c);
}

static void test_mutations(void **state)
{
    struct corpus c = {0};
    struct diff df;
    static char b[65536];

    (void)state;
    load_all(&c);
    diff_init(&df);
    rng_state = 0xa9ac4e2a9ac4e2ULL;
    for (size_t i = 0; i < MUTATIONS; i++) {
        size_t k = rndn(c.n);
        size_t n = c.len[k] < sizeof(b) / 2 ? c.len[k] : sizeof(b) / 2;
        size_t edits = 1 + rndn(4);

        memcpy(b, c.line[k], n);
        for (size_t e = 0; e < edits; e++) {
            mutate_once(b, &n, sizeof(b), &c);
        }
        check(&df, b, n);
    }
    for (size_t i = 0; i < ASSEMBLED; i++) {
        size_t n;

        assemble(b, &n, sizeof(b));
        check(&df, b, n);
    }
    fprintf(stderr,
            "generated: %zu inputs, %zu matched, %zu decided by the fast path, "
            "%zu undecided, %zu mismatches\n",
            df.cases, df.matched, df.fast, df.undecided, df.mismatches);
    assert_int_equal(df.mismatches, 0);
    assert_true(df.undecided * 1000 < df.cases);
    diff_cleanup(&df);
    corpus_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_lines),
        cmocka_unit_test(test_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
