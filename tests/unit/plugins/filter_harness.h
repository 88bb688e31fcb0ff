#ifndef SK_TESTS_FILTER_HARNESS_H
#define SK_TESTS_FILTER_HARNESS_H

/*
 * Runs one filter the way skiff does: a real engine (dry run: init, no
 * start) built from a configuration file, so parameters, <parse> parsers
 * and the error stream are the real ones. Records go in as JSON, come out
 * as "sec.nsec JSON" lines, byte for byte what Fluentd's JSON would be.
 *
 *   struct fh h;
 *   fh_open(&h, "grep", "<regexp>\n key a\n pattern x\n</regexp>\n");
 *   out = fh_run(&h, "app.web", records, n);     (free() it)
 *   fh_close(&h);
 *
 * The configuration is "<filter **>" on line 1, "@type <type>" on line 2,
 * the body from line 3, then "</filter>". Include testutil.h first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/engine_int.h"
#include "json/json.h"
#include "util/alloc.h"

/* 2018-07-21T10:00:00Z, 5 ns */
#define FH_T0 1532167200
#define FH_T0_NSEC 5

struct fh {
    struct sk_engine *eng;
    struct sk_instance *ins; /* the first filter */
    struct sk_diag diag;
    char dir[256];
    char path[512];
};

static inline void fh_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Builds the engine around a whole configuration text. Returns 0, or -1
 * when the configuration was refused (h->diag says why). */
static inline int fh_open_conf(struct fh *h, const char *conf)
{
    memset(h, 0, sizeof(*h));
    sk_diag_init(&h->diag);
    snprintf(h->dir, sizeof(h->dir), "%s", sk_test_tmpdir());
    snprintf(h->path, sizeof(h->path), "%s/t.conf", h->dir);
    fh_write(h->path, conf);
    h->eng = sk_engine_create(h->path, true, &h->diag);
    for (size_t i = 0; h->eng != NULL && i < h->eng->ninstances; i++) {
        if (h->eng->instances[i]->plugin->kind == SK_PLUGIN_FILTER && h->ins == NULL) {
            h->ins = h->eng->instances[i];
        }
    }
    return h->eng != NULL && h->ins != NULL ? 0 : -1;
}

static inline int fh_open(struct fh *h, const char *type, const char *body)
{
    char conf[8192];

    snprintf(conf, sizeof(conf), "<filter **>\n  @type %s\n%s</filter>\n", type, body);
    return fh_open_conf(h, conf);
}

static inline void fh_close(struct fh *h)
{
    if (h->eng != NULL) {
        sk_engine_destroy(h->eng);
    }
    sk_diag_cleanup(&h->diag);
    unlink(h->path);
    rmdir(h->dir);
}

/* Prints every diagnostic (for failing tests). */
static inline void fh_dump_diag(const struct fh *h)
{
    for (size_t i = 0; i < h->diag.count; i++) {
        print_message("diag: %s\n", h->diag.entries[i].text ? h->diag.entries[i].text : "?");
    }
}

/* Appends one event (t, record given as JSON). */
static inline void fh_add(struct sk_evbuf *eb, struct sk_time t, const char *json)
{
    assert_int_equal(sk_evbuf_begin(eb, t), 0);
    assert_int_equal(sk_json_to_msgpack(json, strlen(json), &eb->pk), 0);
    sk_evbuf_commit(eb);
}

/* "sec.nsec JSON\n" for every event of a stream; malloc'd. */
static inline char *fh_render(const char *data, size_t len)
{
    struct sk_buf out;
    size_t off = 0;
    char *text;

    sk_buf_init(&out, 1 << 24);
    assert_int_equal(sk_buf_append_str(&out, ""), 0);
    while (off < len) {
        size_t n = sk_mp_skip(data + off, len - off);
        size_t tlen;
        size_t used;
        struct sk_time t;

        assert_true(n > 0);
        assert_int_equal(sk_event_peek_time(data + off, n, &t), 0);
        tlen = sk_mp_skip(data + off + 1, n - 1);
        assert_int_equal(sk_buf_printf(&out, "%lld.%09u ", (long long)t.sec, (unsigned)t.nsec), 0);
        assert_int_equal(sk_json_write_msgpack(&out, data + off + 1 + tlen, n - 1 - tlen, &used), 0);
        assert_int_equal(sk_buf_putc(&out, '\n'), 0);
        off += n;
    }
    text = strdup(out.data != NULL ? out.data : "");
    sk_buf_cleanup(&out);
    return text;
}

/* The rendering of a record as it goes in (time FH_T0.FH_T0_NSEC), for
 * filters that pass events unchanged; malloc'd. */
static inline char *fh_unfiltered(const char *record)
{
    struct sk_evbuf in;
    struct sk_time t = {FH_T0, FH_T0_NSEC};
    char *text;

    sk_evbuf_init(&in, 1 << 24);
    fh_add(&in, t, record);
    text = fh_render(in.buf.data, in.buf.len);
    sk_evbuf_cleanup(&in);
    return text;
}

/* Runs the filter on records (JSON, all at time FH_T0.FH_T0_NSEC) under
 * `tag`; returns the rendered output (malloc'd). *count: events out. */
static inline char *fh_run_n(struct fh *h, const char *tag, const char *const *records, size_t n,
                             size_t *count)
{
    struct sk_evbuf in;
    struct sk_evbuf out;
    struct sk_events ev;
    struct sk_time t = {FH_T0, FH_T0_NSEC};
    char *text;

    sk_evbuf_init(&in, 1 << 24);
    sk_evbuf_init(&out, 1 << 24);
    for (size_t i = 0; i < n; i++) {
        fh_add(&in, t, records[i]);
    }
    ev = (struct sk_events){tag, in.buf.data, in.buf.len, in.count};
    assert_int_equal(h->ins->plugin->filter(h->ins, tag, &ev, &out), 0);
    text = fh_render(out.buf.data, out.buf.len);
    if (count != NULL) {
        *count = out.count;
    }
    sk_evbuf_cleanup(&in);
    sk_evbuf_cleanup(&out);
    return text;
}

static inline char *fh_run1(struct fh *h, const char *tag, const char *record)
{
    return fh_run_n(h, tag, &record, 1, NULL);
}

/*
 * Steps a failing allocation through one filter call (a fresh engine each
 * step, so no buffer is already grown): every step must end in 0 or
 * SK_ENOMEM with well-formed output, and the last in 0. Returns the number
 * of steps. Leaks show under ASan/valgrind.
 */
static inline long fh_oom_filter(const char *type, const char *body, const char *tag,
                                 const char *const *records, size_t n)
{
    for (long step = 1;; step++) {
        struct sk_evbuf in;
        struct sk_evbuf out;
        struct sk_events ev;
        struct sk_time t = {FH_T0, FH_T0_NSEC};
        struct fh h;
        char *text;
        int rc;

        assert_int_equal(fh_open(&h, type, body), 0);
        sk_evbuf_init(&in, 1 << 24);
        sk_evbuf_init(&out, 1 << 24);
        for (size_t i = 0; i < n; i++) {
            fh_add(&in, t, records[i]);
        }
        ev = (struct sk_events){tag, in.buf.data, in.buf.len, in.count};
        sk_alloc_fail_after(step, 1);
        rc = h.ins->plugin->filter(h.ins, tag, &ev, &out);
        sk_alloc_fail_after(0, 0);
        if (rc != 0 && rc != SK_ENOMEM) {
            fail_msg("step %ld: %s", step, sk_strerror(rc));
        }
        text = fh_render(out.buf.data, out.buf.len);
        free(text);
        sk_evbuf_cleanup(&in);
        sk_evbuf_cleanup(&out);
        fh_close(&h);
        if (rc == 0) {
            return step;
        }
    }
}

/* The same for building the filter: refused cleanly until it builds. */
static inline long fh_oom_open(const char *type, const char *body)
{
    for (long step = 1;; step++) {
        struct fh h;
        int rc;

        sk_alloc_fail_after(step, 1);
        rc = fh_open(&h, type, body);
        sk_alloc_fail_after(0, 0);
        fh_close(&h);
        if (rc == 0) {
            return step;
        }
    }
}

/* Events the engine counted as errors (sk_emit_error) so far. */
static inline unsigned long fh_errors(const struct fh *h)
{
    return (unsigned long)h->eng->error_events;
}

#endif
