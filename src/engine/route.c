/* Event routing: filters in order, then the first matching <match>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_int.h"
#include "json/json.h"
#include "log/log.h"

#define SK_ROUTE_SCRATCH_MAX (256u << 20)

int sk_output_write(struct sk_instance *out, const char *tag, const struct sk_events *ev)
{
    struct sk_core *core = out->core;

    if (core->buffer != NULL) {
        return sk_buffer_write(core->buffer, tag, ev->data, ev->len, ev->count);
    }
    if (out->plugin->emit == NULL) {
        return SK_EUNSUPPORTED;
    }
    return out->plugin->emit(out, tag, ev);
}

/* Logs the first record of a batch that nobody will take, as JSON. */
static void log_lost(struct sk_log_limit *lim, const char *what, const char *tag,
                     const struct sk_events *ev)
{
    struct sk_buf json;
    size_t used = 0;
    size_t first = ev->len > 0 ? sk_mp_skip(ev->data, ev->len) : 0;

    sk_buf_init(&json, 4096);
    if (first > 0 && sk_json_write_msgpack(&json, ev->data, first, &used) < 0) {
        sk_buf_reset(&json);
    }
    sk_log_limited(lim, SK_LOG_WARN, "%s: tag=\"%s\" events=%zu first=%s", what, tag, ev->count,
                   json.data != NULL ? json.data : "(none)");
    sk_buf_cleanup(&json);
}

int sk_route_events(struct sk_engine *eng, struct sk_label *label, struct sk_instance *from,
                    const char *tag, const struct sk_events *ev)
{
    struct sk_events cur = *ev;
    struct sk_evbuf nested[2];
    struct sk_evbuf *scratch = eng->scratch;
    int which = 0;
    int rc = 0;
    bool matched = false;

    /* A filter may route events again (sk_emit_error -> @ERROR label with
     * its own filters) while the outer scratch buffers hold its input and
     * output: nested routing gets buffers of its own. */
    if (eng->route_depth > 0) {
        sk_evbuf_init(&nested[0], SK_ROUTE_SCRATCH_MAX);
        sk_evbuf_init(&nested[1], SK_ROUTE_SCRATCH_MAX);
        scratch = nested;
    }
    eng->route_depth++;
    for (size_t i = 0; i < label->nroutes && !matched; i++) {
        struct sk_route *r = &label->routes[i];
        struct sk_evbuf *out;

        if (!sk_pattern_match(&r->pattern, tag)) {
            continue;
        }
        if (!r->is_filter) {
            rc = sk_output_write(r->ins, tag, &cur);
            matched = true;
            break;
        }
        /* Filters write into alternating scratch buffers. */
        out = &scratch[which];
        which ^= 1;
        sk_evbuf_reset(out);
        rc = r->ins->plugin->filter(r->ins, tag, &cur, out);
        if (rc < 0) {
            sk_log(SK_LOG_ERROR, "%s: filter failed: %s; events passed on unfiltered", r->ins->id,
                   sk_strerror(rc));
            rc = 0;
            continue;
        }
        cur.data = out->buf.data;
        cur.len = out->buf.len;
        cur.count = out->count;
        if (cur.count == 0) {
            matched = true; /* all filtered out (grep): that is the filter's purpose */
        }
    }
    if (!matched) {
        eng->unmatched_events += cur.count;
        log_lost(&eng->unmatched_log, "no patterns matched", tag, &cur);
    }
    eng->route_depth--;
    if (scratch == nested) {
        sk_evbuf_cleanup(&nested[0]);
        sk_evbuf_cleanup(&nested[1]);
    }
    (void)from;
    return rc;
}

int sk_emit(struct sk_instance *in, const char *tag, const struct sk_events *ev)
{
    struct sk_engine *eng = in->engine;
    struct sk_label *label = &eng->labels[0];

    if (ev->count == 0) {
        return 0;
    }
    if (in->label != NULL) {
        label = sk_engine_find_label(eng, in->label);
        if (label == NULL) {
            return SK_ENOENT;
        }
    }
    return sk_route_events(eng, label, in, tag, ev);
}

int sk_emit_label(struct sk_instance *from, const char *name, const char *tag,
                  const struct sk_events *ev)
{
    struct sk_label *label = sk_engine_find_label(from->engine, name);

    if (label == NULL) {
        return SK_ENOENT;
    }
    return sk_route_events(from->engine, label, from, tag, ev);
}

/* Where events that can never be delivered are kept when no @ERROR label
 * takes them: beside the output's file buffer, else under root_dir. */
static int dead_letter_path(const struct sk_instance *from, char *out, size_t size)
{
    const struct sk_core *core = from->core;
    const char *dir = core != NULL && core->buffer != NULL ? sk_buffer_dir(core->buffer) : NULL;
    int n;

    if (dir == NULL) {
        dir = from->engine->system.root_dir;
    }
    if (dir == NULL) {
        return SK_ENOENT;
    }
    n = snprintf(out, size, "%s/dead-letter.%s.jsonl", dir, from->id);
    return n > 0 && (size_t)n < size ? 0 : SK_ETOOBIG;
}

/* Appends one JSON line per event: time, tag, reason, record. */
static int dead_letter_write(const struct sk_instance *from, const char *tag,
                             const struct sk_events *ev, const char *reason)
{
    char path[4096];
    struct sk_buf line;
    size_t off = 0;
    int rc = dead_letter_path(from, path, sizeof(path));
    int fd;

    if (rc < 0) {
        return rc;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return sk_err_from_errno(errno);
    }
    sk_buf_init(&line, 64u << 20);
    while (off < ev->len && rc == 0) {
        size_t len = sk_mp_skip(ev->data + off, ev->len - off);
        size_t tlen = len > 1 ? sk_mp_skip(ev->data + off + 1, len - 1) : 0;
        struct sk_time t = {0, 0};
        size_t used;

        if (len == 0 || tlen == 0 || sk_event_peek_time(ev->data + off, len, &t) < 0) {
            rc = SK_EPARSE;
            break;
        }
        sk_buf_reset(&line);
        rc = sk_buf_printf(&line, "{\"time\":%lld,\"tag\":", (long long)t.sec);
        rc = rc == 0 ? sk_json_write_string(&line, tag, strlen(tag)) : rc;
        rc = rc == 0 ? sk_buf_append_str(&line, ",\"reason\":") : rc;
        rc = rc == 0 ? sk_json_write_string(&line, reason, strlen(reason)) : rc;
        rc = rc == 0 ? sk_buf_append_str(&line, ",\"record\":") : rc;
        rc = rc == 0 ? sk_json_write_msgpack(&line, ev->data + off + 1 + tlen, len - 1 - tlen,
                                             &used)
                     : rc;
        rc = rc == 0 ? sk_buf_append_str(&line, "}\n") : rc;
        if (rc == 0 && write(fd, line.data, line.len) != (ssize_t)line.len) {
            rc = SK_EIO;
        }
        off += len;
    }
    sk_buf_cleanup(&line);
    close(fd);
    return rc;
}

int sk_emit_error(struct sk_instance *from, const char *tag, const struct sk_events *ev,
                  const char *reason)
{
    struct sk_engine *eng = from->engine;
    struct sk_label *label = sk_engine_find_label(eng, "@ERROR");
    char what[4600];
    char path[4096];

    eng->error_events += ev->count;
    if (label != NULL && sk_route_events(eng, label, from, tag, ev) == 0) {
        return 1;
    }
    if (dead_letter_write(from, tag, ev, reason) == 0 &&
        dead_letter_path(from, path, sizeof(path)) == 0) {
        snprintf(what, sizeof(what), "%.200s: %.200s (kept in %s)", from->id, reason, path);
    } else {
        snprintf(what, sizeof(what), "%.200s: %.200s", from->id, reason);
    }
    log_lost(&eng->error_log, what, tag, ev);
    return 0;
}
