/* Event routing: filters in order, then the first matching <match>. */
#include <stdio.h>
#include <string.h>

#include "engine/engine_int.h"
#include "json/json.h"
#include "log/log.h"

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
    int which = 0;

    for (size_t i = 0; i < label->nroutes; i++) {
        struct sk_route *r = &label->routes[i];
        struct sk_evbuf *out;
        int rc;

        if (!sk_pattern_match(&r->pattern, tag)) {
            continue;
        }
        if (!r->is_filter) {
            return sk_output_write(r->ins, tag, &cur);
        }
        /* Filters write into alternating scratch buffers. */
        out = &eng->scratch[which];
        which ^= 1;
        sk_evbuf_reset(out);
        rc = r->ins->plugin->filter(r->ins, tag, &cur, out);
        if (rc < 0) {
            sk_log(SK_LOG_ERROR, "%s: filter failed: %s; events passed on unfiltered", r->ins->id,
                   sk_strerror(rc));
            continue;
        }
        cur.data = out->buf.data;
        cur.len = out->buf.len;
        cur.count = out->count;
        if (cur.count == 0) {
            return 0; /* all filtered out (grep): that is the filter's purpose */
        }
    }
    eng->unmatched_events += cur.count;
    log_lost(&eng->unmatched_log, "no patterns matched", tag, &cur);
    (void)from;
    return 0;
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

int sk_emit_error(struct sk_instance *from, const char *tag, const struct sk_events *ev,
                  const char *reason)
{
    struct sk_engine *eng = from->engine;
    struct sk_label *label = sk_engine_find_label(eng, "@ERROR");
    char what[512];

    eng->error_events += ev->count;
    if (label != NULL && sk_route_events(eng, label, from, tag, ev) == 0) {
        return 1;
    }
    snprintf(what, sizeof(what), "%s: %s", from->id, reason);
    log_lost(&eng->error_log, what, tag, ev);
    return 0;
}
