#include "filter_common/fc_errors.h"

#include <string.h>

#define FC_ERRORS_MAX (64u << 20)
#define FC_REASONS_MAX (4u << 20)
#define FC_SAVE_MAX (256u << 20) /* the engine's filter scratch limit */

void fc_errors_init(struct fc_errors *e)
{
    sk_buf_init(&e->events, FC_ERRORS_MAX);
    sk_buf_init(&e->reasons, FC_REASONS_MAX);
    sk_buf_init(&e->save, FC_SAVE_MAX);
    e->n = 0;
}

void fc_errors_cleanup(struct fc_errors *e)
{
    sk_buf_cleanup(&e->events);
    sk_buf_cleanup(&e->reasons);
    sk_buf_cleanup(&e->save);
    e->n = 0;
}

void fc_errors_clear(struct fc_errors *e)
{
    sk_buf_reset(&e->events);
    sk_buf_reset(&e->reasons);
    e->n = 0;
}

static void truncate_buf(struct sk_buf *b, size_t len)
{
    if (b->len > len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

int fc_errors_add(struct fc_errors *e, const char *ev, size_t len, const char *reason)
{
    size_t emark = e->events.len;
    size_t rmark = e->reasons.len;
    int rc = sk_buf_append(&e->events, ev, len);

    if (rc == 0) {
        rc = sk_buf_append(&e->reasons, reason, strlen(reason) + 1);
    }
    if (rc < 0) {
        truncate_buf(&e->events, emark);
        truncate_buf(&e->reasons, rmark);
        return rc;
    }
    e->n++;
    return 0;
}

int fc_errors_flush(struct fc_errors *e, struct sk_instance *ins, const char *tag,
                    struct sk_evbuf *out)
{
    size_t count = out->count;
    size_t off = 0;
    const char *reason;
    int rc;

    if (e->n == 0) {
        return 0;
    }
    sk_buf_reset(&e->save);
    rc = out->buf.len > 0 ? sk_buf_append(&e->save, out->buf.data, out->buf.len) : 0;
    if (rc < 0) {
        return rc;
    }
    reason = e->reasons.data;
    while (off < e->events.len) {
        size_t len = sk_mp_skip(e->events.data + off, e->events.len - off);
        struct sk_events one = {tag, e->events.data + off, len, 1};

        if (len == 0) {
            break;
        }
        (void)sk_emit_error(ins, tag, &one, reason);
        reason += strlen(reason) + 1;
        off += len;
    }
    /* Put the output back: the router may have used its buffer meanwhile.
     * It never shrinks below what it held, so this cannot fail. */
    sk_evbuf_reset(out);
    rc = e->save.len > 0 ? sk_buf_append(&out->buf, e->save.data, e->save.len) : 0;
    out->count = count;
    fc_errors_clear(e);
    return rc;
}
