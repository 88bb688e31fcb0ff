/*
 * libFuzzer target for the nginx parser: every input is one line given to
 * the scanner and to Fluentd's regex compiled with PCRE2 (differential: any
 * disagreement aborts), then to the plugin's parse, which must append one
 * event or nothing.
 *
 * Build by hand from the repository root and run on a few real lines:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=c11 \
 *     -Isrc -Iplugins tests/fuzz/fuzz_nginx.c plugins/parser_nginx/nginx.c \
 *     plugins/parser_nginx/nginx_scan.c src/parser/parser.c \
 *     src/parser/parser_time.c src/parser/parser_ruby.c src/parser/parser_types.c \
 *     src/timefmt/timefmt.c src/timefmt/timefmt_scan.c src/timefmt/timefmt_zone.c \
 *     src/timefmt/timefmt_guess.c src/timefmt/timefmt_format.c src/timefmt/timefmt_fast.c \
 *     src/event/event.c \
 *     src/util/alloc.c src/util/buf.c src/util/err.c src/config/diag.c src/log/log.c \
 *     src/json/json_write.c src/json/json_read.c \
 *     -lpcre2-8 -lmsgpackc -lm -lpthread -o fuzz_nginx
 *   mkdir corpus && split -l 1 -a 4 ../shared/testdata/nginx-logs/lnav-zanbil-shop-access.log corpus/
 *   ./fuzz_nginx -max_len=4096 -max_total_time=120 corpus
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "parser_nginx/nginx_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct sk_plugin sk_plugin_parser_nginx;

static pcre2_code *re;
static pcre2_match_data *md;
static pcre2_match_context *mctx;
static int group[NGINX_NFIELDS];
static struct nginx_conf conf;
static struct sk_instance ins;
static struct sk_evbuf eb;

static void setup(void)
{
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    struct sk_diag d;
    int err;
    PCRE2_SIZE off;

    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    re = pcre2_compile((PCRE2_SPTR)NGINX_REGEX, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE, &err, &off,
                       cc);
    pcre2_compile_context_free(cc);
    if (re == NULL || pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0) {
        abort();
    }
    md = pcre2_match_data_create_from_pattern(re, NULL);
    mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(mctx, 10000000);
    for (int i = 0; i < NGINX_NFIELDS; i++) {
        group[i] = pcre2_substring_number_from_name(re, (PCRE2_SPTR)nginx_field_names[i]);
    }
    conf.common.localtime = true;
    conf.common.estimate_current_event = true;
    ins.plugin = &sk_plugin_parser_nginx;
    ins.conf = &conf;
    sk_diag_init(&d);
    if (sk_plugin_parser_nginx.init(&ins, &d) != 0) {
        abort();
    }
    sk_diag_cleanup(&d);
    sk_evbuf_init(&eb, 1 << 24);
}

static void differ(const char *what, int field)
{
    fprintf(stderr, "nginx scanner and regex differ: %s %s\n", what,
            field >= 0 ? nginx_field_names[field] : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    struct nginx_match m;
    bool ok;
    int rc;
    PCRE2_SIZE *ov;

    if (re == NULL) {
        setup();
    }
    ok = nginx_scan(line, size, &m);
    rc = pcre2_match(re, (PCRE2_SPTR)line, size, 0, 0, md, mctx);
    ov = pcre2_get_ovector_pointer(md);
    if (rc != PCRE2_ERROR_MATCHLIMIT && rc != PCRE2_ERROR_JIT_STACKLIMIT) {
        if ((rc > 0) != ok) {
            differ("match", -1);
        }
        for (int i = 0; ok && i < NGINX_NFIELDS; i++) {
            int g = group[i];
            bool set = g < rc && ov[2 * g] != PCRE2_UNSET;

            if (set != m.f[i].set ||
                (set && (ov[2 * g] != m.f[i].off || ov[2 * g + 1] - ov[2 * g] != m.f[i].len))) {
                differ("group", i);
            }
        }
    }
    sk_evbuf_reset(&eb);
    rc = sk_plugin_parser_nginx.parse(&ins, line, size, &eb);
    if ((rc == 0) != (eb.count == 1) || (rc != 0 && eb.buf.len != 0) || (rc == 0 && !ok)) {
        differ("parse outcome", -1);
    }
    return 0;
}
