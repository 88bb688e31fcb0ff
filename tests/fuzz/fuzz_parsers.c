/*
 * libFuzzer target for the Fluentd-compatible parsers added with the
 * regexp family: every input is one line (or multiline block).
 * - apache2: the fast path, when it decides, must agree with Fluentd's
 *   expression compiled with PCRE2 (differential: a disagreement aborts);
 * - every parser (apache2, apache_error, regexp, ltsv, csv normal/fast,
 *   tsv, syslog in its engines and formats, multiline) must append exactly
 *   one event or nothing, and never read or write out of bounds.
 *
 * Built with the others by cmake -DSKIFF_FUZZ=ON (clang). Run:
 *   ./fuzz_parsers -max_len=4096 -max_total_time=120 tests/fuzz/corpus/fuzz_parsers
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "config/config.h"
#include "param/param.h"
#include "parser/parser.h"
#include "parser_apache2/apache2_int.h"
#include "plugin/plugin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct target {
    const char *type;
    const char *body;
    struct sk_instance ins;
    struct sk_conf *cf; /* kept: the parser borrows from it */
};

static struct target targets[] = {
    {.type = "apache2", .body = ""},
    {.type = "apache_error", .body = ""},
    {.type = "regexp",
     .body = "expression /^(?<host>[^ ]*) (?<log-level>\\w+)(?: \\[(?<pid>\\h+)\\])? (?<msg>.*)$/m\n"
             "time_key nx\ntypes pid:integer"},
    {.type = "ltsv", .body = "types status:integer"},
    {.type = "ltsv", .body = "delimiter_pattern /\\s+|(,)/\nlabel_delimiter ="},
    {.type = "csv", .body = "keys a,b,c\ntime_key a\ntime_format %Y"},
    {.type = "csv", .body = "keys a,b,c\nparser_engine fast"},
    {.type = "tsv", .body = "keys a,b,c"},
    {.type = "syslog", .body = "with_priority true\nmessage_format auto"},
    {.type = "syslog",
     .body = "with_priority true\nmessage_format auto\nparser_engine string\nkeep_time_key true"},
    {.type = "syslog", .body = "parser_engine string\nsupport_colonless_ident false"},
    {.type = "multiline",
     .body = "format_firstline /^\\d/\nformat1 /^(?<time>\\d+) (?<msg>.*)/\ntime_type unixtime"},
};

#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static pcre2_code *re;
static pcre2_match_data *md;
static pcre2_match_context *mctx;
static int group[APACHE2_NFIELDS];
static struct sk_evbuf eb;

static void init_target(struct target *t)
{
    char text[2048];
    struct sk_diag d;
    const struct sk_plugin *p = sk_plugin_find(SK_PLUGIN_PARSER, t->type);

    snprintf(text, sizeof(text), "<parse>\n@type %s\n%s\n</parse>\n", t->type, t->body);
    sk_diag_init(&d);
    t->cf = sk_conf_load_string("fuzz.conf", text, strlen(text), &d);
    if (p == NULL || t->cf == NULL) {
        abort();
    }
    t->ins.plugin = p;
    t->ins.section = t->cf->root->children[0];
    t->ins.conf = calloc(1, p->conf_size);
    if (t->ins.conf == NULL || sk_param_apply(sk_parser_common_params, t->ins.section, t->ins.conf, &d) != 0 ||
        (p->params != NULL && sk_param_apply(p->params, t->ins.section, t->ins.conf, &d) != 0) ||
        p->init(&t->ins, &d) != 0) {
        abort();
    }
    sk_diag_cleanup(&d);
}

static void setup(void)
{
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    int err;
    PCRE2_SIZE off;

    setenv("TZ", "UTC", 1);
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    re = pcre2_compile((PCRE2_SPTR)APACHE2_REGEX, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE, &err,
                       &off, cc);
    pcre2_compile_context_free(cc);
    if (re == NULL || pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0) {
        abort();
    }
    md = pcre2_match_data_create_from_pattern(re, NULL);
    mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(mctx, 10000000);
    for (int i = 0; i < APACHE2_NFIELDS; i++) {
        group[i] = pcre2_substring_number_from_name(re, (PCRE2_SPTR)apache2_field_names[i]);
    }
    for (size_t i = 0; i < NTARGETS; i++) {
        init_target(&targets[i]);
    }
    sk_evbuf_init(&eb, 1 << 24);
}

static void apache2_differential(const char *s, size_t n)
{
    struct apache2_match m;
    enum apache2_verdict v = apache2_scan(s, n, &m);
    int rc;
    const PCRE2_SIZE *ov;

    if (v == APACHE2_UNSURE) {
        return;
    }
    rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, mctx);
    if (rc == PCRE2_ERROR_MATCHLIMIT) {
        return;
    }
    if ((rc > 0) != (v == APACHE2_MATCH)) {
        fprintf(stderr, "apache2 fast path and regex differ on matching\n");
        abort();
    }
    ov = pcre2_get_ovector_pointer(md);
    for (int i = 0; rc > 0 && i < APACHE2_NFIELDS; i++) {
        int g = group[i];
        bool set = g < rc && ov[2 * g] != PCRE2_UNSET;

        if (set != m.f[i].set ||
            (set && (ov[2 * g] != m.f[i].off || ov[2 * g + 1] - ov[2 * g] != m.f[i].len))) {
            fprintf(stderr, "apache2 fast path and regex differ on %s\n", apache2_field_names[i]);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char *line = malloc(size + 1); /* exact size: ASan sees overreads */

    if (line == NULL) {
        return 0;
    }
    if (!ready) {
        setup();
        ready = 1;
    }
    memcpy(line, data, size);
    apache2_differential(line, size);
    for (size_t i = 0; i < NTARGETS; i++) {
        size_t before = eb.count;
        size_t len = eb.buf.len;
        int rc = targets[i].ins.plugin->parse(&targets[i].ins, line, size, &eb);

        if ((rc == 0 && eb.count != before + 1) || (rc != 0 && (eb.count != before || eb.buf.len != len)) ||
            (rc != 0 && rc != SK_EPARSE)) {
            fprintf(stderr, "%s: rc %d, events %zu -> %zu\n", targets[i].type, rc, before, eb.count);
            abort();
        }
    }
    sk_evbuf_reset(&eb);
    free(line);
    return 0;
}
