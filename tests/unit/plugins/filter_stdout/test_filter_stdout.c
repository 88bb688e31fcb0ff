#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../filter_harness.h"

/*
 * What filter stdout prints for two events (tag "app.web", time
 * 2018-07-21 10:00:00.000000005 UTC), as Fluentd's formatters write it,
 * and that the events pass on byte for byte.
 */
struct fs_case {
    const char *name;
    const char *body;
    const char *want;
};

#define LINE_PREFIX "2018-07-21 10:00:00.000000005 +0000 app.web: "

static const char *const records[] = {
    "{\"a\":1,\"s\":\"x\\\"y\",\"h\":{\"k\":[1.5,null,true]}}",
    "{\"message\":\"hello\",\"n\":-2}",
};

static const struct fs_case cases[] = {
    {"default: time, tag, JSON", "",
     LINE_PREFIX "{\"a\":1,\"s\":\"x\\\"y\",\"h\":{\"k\":[1.5,null,true]}}\n" LINE_PREFIX
                 "{\"message\":\"hello\",\"n\":-2}\n"},
    {"output_type hash", "output_type hash\n",
     LINE_PREFIX "{\"a\"=>1, \"s\"=>\"x\\\"y\", \"h\"=>{\"k\"=>[1.5, nil, true]}}\n" LINE_PREFIX
                 "{\"message\"=>\"hello\", \"n\"=>-2}\n"},
    {"<format> stdout with output_type hash", "<format>\n @type stdout\n output_type hash\n</format>\n",
     LINE_PREFIX "{\"a\"=>1, \"s\"=>\"x\\\"y\", \"h\"=>{\"k\"=>[1.5, nil, true]}}\n" LINE_PREFIX
                 "{\"message\"=>\"hello\", \"n\"=>-2}\n"},
    {"<format> json", "<format>\n @type json\n</format>\n",
     "{\"a\":1,\"s\":\"x\\\"y\",\"h\":{\"k\":[1.5,null,true]}}\n{\"message\":\"hello\",\"n\":-2}\n"},
    {"<format> single_value", "<format>\n @type single_value\n</format>\n", "\nhello\n"},
    {"v0.12 format hash", "format hash\n",
     "{\"a\"=>1, \"s\"=>\"x\\\"y\", \"h\"=>{\"k\"=>[1.5, nil, true]}}\n"
     "{\"message\"=>\"hello\", \"n\"=>-2}\n"},
};

/* Runs the filter with stdout sent to a file; returns what was printed
 * (malloc'd) and checks the events came out unchanged. */
static char *printed(struct fh *h)
{
    struct sk_evbuf in;
    struct sk_evbuf out;
    struct sk_events ev;
    struct sk_time t = {FH_T0, FH_T0_NSEC};
    char path[600];
    char *text;
    int saved;
    int fd;

    sk_evbuf_init(&in, 1 << 20);
    sk_evbuf_init(&out, 1 << 20);
    for (size_t i = 0; i < 2; i++) {
        fh_add(&in, t, records[i]);
    }
    ev = (struct sk_events){"app.web", in.buf.data, in.buf.len, in.count};
    snprintf(path, sizeof(path), "%s/out.txt", h->dir);
    fflush(stdout);
    saved = dup(1);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 1), 1);
    assert_int_equal(h->ins->plugin->filter(h->ins, "app.web", &ev, &out), 0);
    fflush(stdout);
    assert_int_equal(dup2(saved, 1), 1);
    close(fd);
    close(saved);
    assert_int_equal(out.count, 2);
    assert_int_equal(out.buf.len, in.buf.len);
    assert_memory_equal(out.buf.data, in.buf.data, in.buf.len);
    text = sk_test_read_file(path, NULL);
    assert_non_null(text);
    unlink(path);
    sk_evbuf_cleanup(&in);
    sk_evbuf_cleanup(&out);
    return text;
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fh h;
        char *got;

        if (fh_open(&h, "stdout", cases[i].body) != 0) {
            fh_dump_diag(&h);
            fail_msg("case '%s': configuration refused", cases[i].name);
        }
        got = printed(&h);
        if (strcmp(got, cases[i].want) != 0) {
            fail_msg("case '%s':\n got: %s\nwant: %s", cases[i].name, got, cases[i].want);
        }
        free(got);
        fh_close(&h);
    }
}

static void test_conf_errors(void **state)
{
    struct fh h;

    (void)state;
    assert_int_not_equal(fh_open(&h, "stdout", "format ltsv\n"), 0);
    assert_true(sk_diag_contains(&h.diag, "t.conf:3: <filter **>: format 'ltsv' is not supported"));
    fh_close(&h);
    assert_int_not_equal(fh_open(&h, "stdout", "<format>\n @type csv\n</format>\n"), 0);
    assert_true(sk_diag_contains(&h.diag, "csv"));
    fh_close(&h);
}

/* A filter stdout before a match: the match still gets every event. */
static void test_in_a_chain(void **state)
{
    struct fh h;

    (void)state;
    assert_int_equal(fh_open_conf(&h, "<filter **>\n @type stdout\n</filter>\n"
                                      "<filter **>\n @type grep\n <regexp>\n  key a\n  pattern 1\n"
                                      " </regexp>\n</filter>\n<match **>\n @type null\n</match>\n"),
                     0);
    assert_string_equal(h.ins->plugin->name, "stdout");
    fh_close(&h);
}

/* Allocation failures while building the filter. */
static void test_oom(void **state)
{
    (void)state;
    assert_true(fh_oom_open("stdout", "<format>\n @type json\n</format>\n") > 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_conf_errors),
        cmocka_unit_test(test_in_a_chain),
        cmocka_unit_test(test_oom),
    };

    setenv("TZ", "UTC", 1);
    tzset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
