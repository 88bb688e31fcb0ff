/*
 * parser_multi_format (plugins/parser_multi_format/): <pattern> parsers
 * tried top to bottom through a real engine (dry run), as
 * fluent-plugin-multi-format-parser does: the first that parses the line
 * wins, a line none parses is refused, real errors (a full batch) are not
 * taken for "no match", and configuration problems name the pattern.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../parser/record_render.h"
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "plugin/plugin.h"

extern const struct sk_plugin sk_plugin_parser_multi_format;

struct eh {
    struct sk_engine *eng;
    struct sk_instance *parser;
    struct sk_diag d;
    char path[512];
};

/* An in_tail source whose <parse> is `parse`; returns 0 when it loads. */
static int eh_open(struct eh *h, const char *parse)
{
    FILE *f;

    memset(h, 0, sizeof(*h));
    sk_diag_init(&h->d);
    snprintf(h->path, sizeof(h->path), "%s/mf.conf", sk_test_tmpdir());
    f = fopen(h->path, "w");
    assert_non_null(f);
    fprintf(f,
            "<source>\n  @type tail\n  path /nonexistent/x.log\n  tag x\n  <parse>\n%s"
            "  </parse>\n</source>\n<match **>\n  @type null\n</match>\n",
            parse);
    assert_int_equal(fclose(f), 0);
    h->eng = sk_engine_create(h->path, true, &h->d);
    for (size_t i = 0; h->eng != NULL && i < h->eng->ninstances; i++) {
        if (h->eng->instances[i]->plugin == &sk_plugin_parser_multi_format) {
            h->parser = h->eng->instances[i];
        }
    }
    return h->eng != NULL && h->parser != NULL ? 0 : -1;
}

static void eh_close(struct eh *h)
{
    if (h->eng != NULL) {
        sk_engine_destroy(h->eng);
    }
    sk_diag_cleanup(&h->d);
    unlink(h->path);
}

static void eh_dump(const struct eh *h)
{
    for (size_t i = 0; i < h->d.count; i++) {
        print_message("diag: %s\n", h->d.entries[i].text ? h->d.entries[i].text : "?");
    }
}

static void expect(struct eh *h, struct sk_evbuf *eb, const char *line, const char *record)
{
    char got[4096];
    struct sk_time t;
    size_t before = eb->count;

    assert_int_equal(sk_parser_parse(h->parser, line, strlen(line), eb), 0);
    rr_event(eb->buf.data, eb->buf.len, before, &t, got, sizeof(got));
    if (strcmp(got, record) != 0) {
        fail_msg("line %s\nwant %s\ngot  %s", line, record, got);
    }
}

#define PATTERNS                                                                             \
    "    @type multi_format\n"                                                               \
    "    <pattern>\n      format apache2\n    </pattern>\n"                                  \
    "    <pattern>\n      format json\n      time_key timestamp\n    </pattern>\n"           \
    "    <pattern>\n      format /^(?<level>[A-Z]+): (?<msg>.*)$/\n    </pattern>\n"

static void test_first_match_wins(void **state)
{
    struct eh h;
    struct sk_evbuf eb;

    (void)state;
    if (eh_open(&h, PATTERNS "    <pattern>\n      format none\n    </pattern>\n") != 0) {
        eh_dump(&h);
        fail();
    }
    sk_evbuf_init(&eb, 1 << 20);
    expect(&h, &eb,
           "10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326",
           "{host=10.0.0.1|user=frank|method=GET|path=/apache_pb.gif|code=i:200|size=i:2326|"
           "referer=nil|agent=nil}");
    expect(&h, &eb, "{\"timestamp\":1500000000,\"a\":1}", "{a=i:1}");
    expect(&h, &eb, "ERROR: disk full", "{level=ERROR|msg=disk full}");
    expect(&h, &eb, "anything else", "{message=anything else}");
    assert_int_equal(eb.count, 4);
    sk_evbuf_cleanup(&eb);
    eh_close(&h);
}

static void test_none_matches(void **state)
{
    struct eh h;
    struct sk_evbuf eb;

    (void)state;
    assert_int_equal(eh_open(&h, PATTERNS), 0);
    sk_evbuf_init(&eb, 1 << 20);
    assert_int_equal(sk_parser_parse(h.parser, "lower: case", 11, &eb), SK_EPARSE);
    assert_int_equal(eb.count, 0);
    assert_int_equal(eb.buf.len, 0);
    /* a full batch is an error to report, not a reason to try the next */
    sk_evbuf_cleanup(&eb);
    sk_evbuf_init(&eb, 16);
    assert_int_equal(sk_parser_parse(h.parser, "ERROR: disk full", 16, &eb), SK_ETOOBIG);
    sk_evbuf_cleanup(&eb);
    eh_close(&h);
}

static void test_bad_config(void **state)
{
    struct eh h;

    (void)state;
    assert_int_equal(eh_open(&h, "    @type multi_format\n    <pattern>\n      time_key t\n"
                                 "    </pattern>\n"),
                     -1);
    assert_true(sk_diag_contains(&h.d, "a <parse> section (or 'format') is required"));
    eh_close(&h);
    assert_int_equal(eh_open(&h, "    @type multi_format\n    <pattern>\n      format nosuch\n"
                                 "    </pattern>\n"),
                     -1);
    assert_true(sk_diag_contains(&h.d, "unknown parser type 'nosuch'"));
    eh_close(&h);
    assert_int_equal(eh_open(&h, "    @type multi_format\n    <pattern>\n      format /(/\n"
                                 "    </pattern>\n"),
                     -1);
    assert_true(sk_diag_contains(&h.d, "expression"));
    eh_close(&h);
    /* a parameter no pattern parser knows is reported, as anywhere */
    assert_int_equal(eh_open(&h, "    @type multi_format\n    <pattern>\n      format json\n"
                                 "      no_such_param 1\n    </pattern>\n"),
                     0);
    assert_true(sk_diag_contains(&h.d, "parameter 'no_such_param' in <pattern> is not used"));
    eh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_match_wins),
        cmocka_unit_test(test_none_matches),
        cmocka_unit_test(test_bad_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
