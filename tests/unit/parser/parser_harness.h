#ifndef SK_TEST_PARSER_HARNESS_H
#define SK_TEST_PARSER_HARNESS_H

/*
 * Parser tests from configuration text: a <parse> section is read by the
 * real config reader, filled by the real parameter tables (the common
 * ones, then the plugin's), and handed to the plugin's init, as the engine
 * does. Records are rendered with record_render.h.
 *
 *   struct ph h;
 *   assert_int_equal(ph_open(&h, &sk_plugin_parser_ltsv, "label_delimiter ="), 0);
 *   ph_expect(&h, "a=1\tb=2", "{a=1|b=2}", -1, 0);
 *   ph_refuse(&h, "...");
 *   ph_close(&h);
 *
 * Include after testutil.h and record_render.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "param/param.h"
#include "parser/parser.h"
#include "plugin/plugin.h"
#include "util/alloc.h"

#define PH_NOW (-1)  /* ph_expect: the event time is "now" */
#define PH_ANY (-2)  /* ph_expect: any time */

struct ph {
    const struct sk_plugin *plugin;
    struct sk_conf *cf;
    struct sk_instance ins;
    struct sk_evbuf eb;
    struct sk_diag d;
};

/* Builds the parser from the parameter lines `body`; returns init's
 * result (or the parameter engine's SK_ECONFIG). h->d holds messages.
 * With fail_step > 0, allocation fail_step after the configuration text
 * was read fails (sk_alloc_fail_after); the caller resets it. */
static inline int ph_open_ex(struct ph *h, const struct sk_plugin *p, const char *body,
                             long fail_step)
{
    char text[16384];
    struct sk_conf_section *sec;
    int rc;

    memset(h, 0, sizeof(*h));
    h->plugin = p;
    sk_diag_init(&h->d);
    sk_evbuf_init(&h->eb, 1 << 24);
    snprintf(text, sizeof(text), "<parse>\n@type %s\n%s\n</parse>\n", p->name, body);
    h->cf = sk_conf_load_string("test.conf", text, strlen(text), &h->d);
    assert_non_null(h->cf);
    assert_int_equal(h->d.errors, 0);
    if (fail_step > 0) {
        sk_alloc_fail_after(fail_step, 0);
    }
    sec = h->cf->root->children[0];
    sec->params[0].used = true; /* @type */
    h->ins.plugin = p;
    h->ins.section = sec;
    h->ins.log_level = -1;
    h->ins.conf = calloc(1, p->conf_size);
    assert_non_null(h->ins.conf);
    rc = sk_param_apply(sk_parser_common_params, sec, h->ins.conf, &h->d);
    if (rc == 0 && p->params != NULL) {
        rc = sk_param_apply(p->params, sec, h->ins.conf, &h->d);
    }
    if (rc == 0) {
        rc = p->init(&h->ins, &h->d);
    }
    return rc;
}

static inline int ph_open(struct ph *h, const struct sk_plugin *p, const char *body)
{
    return ph_open_ex(h, p, body, 0);
}

static inline void ph_close(struct ph *h)
{
    if (h->plugin->destroy != NULL) {
        h->plugin->destroy(&h->ins);
    }
    sk_param_release(sk_parser_common_params, h->ins.conf);
    if (h->plugin->params != NULL) {
        sk_param_release(h->plugin->params, h->ins.conf);
    }
    free(h->ins.conf);
    sk_conf_destroy(h->cf);
    sk_evbuf_cleanup(&h->eb);
    sk_diag_cleanup(&h->d);
}

/* Prints every configuration message (for failing tests). */
static inline void ph_dump_diag(const struct ph *h)
{
    for (size_t i = 0; i < h->d.count; i++) {
        print_message("diag: %s\n", h->d.entries[i].text ? h->d.entries[i].text : "?");
    }
}

static inline int ph_parse_n(struct ph *h, const char *line, size_t len)
{
    return h->plugin->parse(&h->ins, line, len, &h->eb);
}

/* Parses line[0..len), expects one event with the record and time given
 * (sec PH_NOW: within a minute of now; PH_ANY: not checked). */
static inline void ph_expect_n(struct ph *h, const char *line, size_t len, const char *record,
                               int64_t sec, uint32_t nsec)
{
    char got[16384];
    struct sk_time t;
    struct sk_time now = sk_time_now();
    size_t before = h->eb.count;
    int rc = ph_parse_n(h, line, len);

    if (rc != 0) {
        fail_msg("refused (%d): %.*s", rc, (int)len, line);
    }
    assert_int_equal(h->eb.count, before + 1);
    rr_event(h->eb.buf.data, h->eb.buf.len, before, &t, got, sizeof(got));
    if (strcmp(got, record) != 0) {
        fail_msg("line   %.*s\nwant   %s\ngot    %s", (int)len, line, record, got);
    }
    if (sec == PH_NOW) {
        assert_true(t.sec >= now.sec - 60 && t.sec <= now.sec + 60);
    } else if (sec != PH_ANY) {
        if (t.sec != sec || t.nsec != nsec) {
            fail_msg("line %.*s\ntime want %lld.%09u got %lld.%09u", (int)len, line,
                     (long long)sec, nsec, (long long)t.sec, t.nsec);
        }
    }
}

static inline void ph_expect(struct ph *h, const char *line, const char *record, int64_t sec,
                             uint32_t nsec)
{
    ph_expect_n(h, line, strlen(line), record, sec, nsec);
}

/* Parses line, expects SK_EPARSE and nothing appended. */
static inline void ph_refuse_n(struct ph *h, const char *line, size_t len)
{
    size_t blen = h->eb.buf.len;
    size_t count = h->eb.count;
    int rc = ph_parse_n(h, line, len);

    if (rc != SK_EPARSE) {
        fail_msg("not refused (%d): %.*s", rc, (int)len, line);
    }
    assert_int_equal(h->eb.buf.len, blen);
    assert_int_equal(h->eb.count, count);
}

static inline void ph_refuse(struct ph *h, const char *line)
{
    ph_refuse_n(h, line, strlen(line));
}

#endif
