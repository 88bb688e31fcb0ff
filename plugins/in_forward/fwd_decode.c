/* Forward protocol messages and their events, as pure functions. */
#include "in_forward/fwd_decode.h"

#include <string.h>

#include "in_forward/fwd_mp.h"

/* Reads the option map: chunk (raw, for the ack), size, compressed. */
static int decode_option(struct fwd_mp_cur *c, struct fwd_msg *m)
{
    struct fwd_mp_val opt;

    if (fwd_mp_next(c, &opt, true) < 0) {
        return SK_EPROTO;
    }
    if (opt.type == FWD_MP_NIL) {
        return 0;
    }
    if (opt.type != FWD_MP_MAP) {
        return SK_EPROTO;
    }
    for (uint32_t i = 0; i < opt.n; i++) {
        struct fwd_mp_val k;
        struct fwd_mp_val v;

        if (fwd_mp_next(c, &k, false) < 0 || fwd_mp_next(c, &v, false) < 0) {
            return SK_EPROTO;
        }
        if (fwd_mp_str_eq(&k, "chunk")) {
            bool none = v.type == FWD_MP_NIL || (v.type == FWD_MP_BOOL && !v.b);

            m->chunk = none ? NULL : v.raw;
            m->chunk_len = none ? 0 : v.raw_len;
        } else if (fwd_mp_str_eq(&k, "size") && v.type == FWD_MP_UINT && v.u <= INT64_MAX) {
            m->size = (int64_t)v.u;
        } else if (fwd_mp_str_eq(&k, "compressed")) {
            m->compress = fwd_mp_str_eq(&v, "gzip")   ? FWD_GZIP
                          : fwd_mp_str_eq(&v, "zstd") ? FWD_ZSTD
                                                      : FWD_TEXT;
        }
    }
    return 0;
}

/* The entries array of Forward mode: its elements without the header. */
static int forward_entries(const struct fwd_mp_val *arr, struct fwd_msg *m)
{
    struct fwd_mp_cur sub;
    struct fwd_mp_val hdr;

    fwd_mp_cur_init(&sub, arr->raw, arr->raw_len);
    if (fwd_mp_next(&sub, &hdr, true) < 0) {
        return SK_EPROTO;
    }
    m->mode = FWD_FORWARD;
    m->entries = arr->raw + hdr.raw_len;
    m->entries_len = arr->raw_len - hdr.raw_len;
    m->count = arr->n;
    return 0;
}

int fwd_msg_decode(const char *p, size_t len, struct fwd_msg *m)
{
    struct fwd_mp_cur c;
    struct fwd_mp_val top;
    struct fwd_mp_val tag;
    struct fwd_mp_val second;
    uint32_t next_index = 2;

    memset(m, 0, sizeof(*m));
    m->size = -1;
    fwd_mp_cur_init(&c, p, len);
    if (fwd_mp_next(&c, &top, true) < 0) {
        return SK_EPROTO;
    }
    if (top.type == FWD_MP_NIL) {
        m->mode = FWD_NIL;
        return 0;
    }
    if (top.type != FWD_MP_ARRAY || top.n < 2 || top.n > 4 ||
        fwd_mp_next(&c, &tag, false) < 0 || tag.type != FWD_MP_STR ||
        fwd_mp_next(&c, &second, false) < 0) {
        return SK_EPROTO;
    }
    m->tag = tag.body;
    m->tag_len = tag.body_len;
    if (second.type == FWD_MP_STR) {
        m->mode = FWD_PACKED;
        m->entries = second.body;
        m->entries_len = second.body_len;
    } else if (second.type == FWD_MP_ARRAY) {
        if (forward_entries(&second, m) < 0) {
            return SK_EPROTO;
        }
    } else {
        struct fwd_mp_val record;

        if (top.n < 3 || fwd_mp_next(&c, &record, false) < 0) {
            return SK_EPROTO;
        }
        m->mode = FWD_MESSAGE;
        m->entries = second.raw;
        m->entries_len = second.raw_len + record.raw_len;
        m->count = 1;
        next_index = 3;
    }
    if (top.n > next_index && decode_option(&c, m) < 0) {
        return SK_EPROTO;
    }
    return 0;
}

/* --- Events ---------------------------------------------------------------- */

enum ev_kind {
    EV_PASS,   /* hand on as it is */
    EV_FIX,    /* valid, but rewritten: new time, injected keys, odd header */
    EV_SKIP,   /* invalid: dropped and counted */
    EV_BROKEN, /* not msgpack: the rest of the stream is lost */
};

struct ev_parts {
    struct fwd_mp_val time;
    struct fwd_mp_val record;
    struct sk_time new_time;
    bool set_time; /* write new_time instead of the time bytes */
};

static uint32_t be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;

    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Fluentd's rules: Integer or EventTime is valid (time 0 may mean now);
 * without skip_invalid_event, nil becomes now and a float is kept. */
static enum ev_kind classify_time(const struct fwd_cvt *cv, struct ev_parts *e)
{
    const struct fwd_mp_val *t = &e->time;

    switch (t->type) {
    case FWD_MP_EXT:
        if (t->ext_type != 0 || t->body_len != 8) {
            return EV_SKIP;
        }
        e->set_time = cv->zero_is_now && be32(t->body) == 0;
        break;
    case FWD_MP_UINT:
    case FWD_MP_INT:
        e->set_time = cv->zero_is_now && t->u == 0;
        break;
    case FWD_MP_FLOAT:
        if (cv->skip_invalid || !(t->f > -1e15 && t->f < 1e15)) {
            return EV_SKIP;
        }
        e->new_time.sec = (int64_t)t->f;
        e->new_time.nsec = (uint32_t)((t->f - (double)e->new_time.sec) * 1e9);
        if (t->f < 0 || (cv->zero_is_now && e->new_time.sec == 0)) {
            e->new_time = cv->now;
        }
        e->set_time = true;
        return EV_FIX;
    case FWD_MP_NIL:
        if (cv->skip_invalid) {
            return EV_SKIP;
        }
        e->set_time = true;
        break;
    default:
        return EV_SKIP;
    }
    if (e->set_time) {
        e->new_time = cv->now;
        return EV_FIX;
    }
    return EV_PASS;
}

/* Classifies the [time, record] pair whose time and record are in e. */
static enum ev_kind classify_pair(const struct fwd_cvt *cv, struct ev_parts *e)
{
    enum ev_kind k;

    if (e->record.type != FWD_MP_MAP ||
        !fwd_mp_depth_ok(e->record.raw, e->record.raw_len, FWD_MP_MAX_DEPTH - 1)) {
        return EV_SKIP;
    }
    k = classify_time(cv, e);
    if (k == EV_PASS && (cv->addr_key != NULL || cv->host_key != NULL)) {
        k = EV_FIX;
    }
    return k;
}

/* Classifies the entry at p[0..len); *n = its length. */
static enum ev_kind classify_entry(const struct fwd_cvt *cv, const char *p, size_t len,
                                   size_t *n, struct ev_parts *e)
{
    struct fwd_mp_frame st = {0, 0};
    struct fwd_mp_cur c;
    struct fwd_mp_val arr;
    enum ev_kind k;

    memset(e, 0, sizeof(*e));
    if (fwd_mp_frame(&st, p, len, n) < 0) {
        return EV_BROKEN;
    }
    fwd_mp_cur_init(&c, p, *n);
    if (fwd_mp_next(&c, &arr, true) < 0 || arr.type != FWD_MP_ARRAY || arr.n < 2 ||
        fwd_mp_next(&c, &e->time, false) < 0 || fwd_mp_next(&c, &e->record, false) < 0) {
        return EV_SKIP;
    }
    k = classify_pair(cv, e);
    /* Extra elements, or an array16 header: keep the pair, rewrite it. */
    if (k == EV_PASS && (unsigned char)p[0] != 0x92) {
        k = EV_FIX;
    }
    return k;
}

static bool is_injected(const struct fwd_cvt *cv, const struct fwd_mp_val *k)
{
    return (cv->addr_key != NULL && fwd_mp_str_eq(k, cv->addr_key)) ||
           (cv->host_key != NULL && fwd_mp_str_eq(k, cv->host_key));
}

/* Copies a record, replacing or adding the source address/host keys. */
static int put_record_injected(struct sk_evbuf *eb, const struct fwd_cvt *cv,
                               const struct fwd_mp_val *rec)
{
    struct fwd_mp_cur c;
    struct fwd_mp_val map;
    struct fwd_mp_val k;
    struct fwd_mp_val v;
    uint32_t keep = 0;
    int rc;

    for (int pass = 0; pass < 2; pass++) {
        fwd_mp_cur_init(&c, rec->raw, rec->raw_len);
        if (fwd_mp_next(&c, &map, true) < 0) {
            return SK_EPROTO;
        }
        if (pass == 1) {
            rc = msgpack_pack_map(&eb->pk, keep + (cv->addr_key != NULL) + (cv->host_key != NULL));
            if (rc < 0) {
                return rc;
            }
        }
        for (uint32_t i = 0; i < map.n; i++) {
            if (fwd_mp_next(&c, &k, false) < 0 || fwd_mp_next(&c, &v, false) < 0) {
                return SK_EPROTO;
            }
            if (is_injected(cv, &k)) {
                continue;
            }
            if (pass == 0) {
                keep++;
                continue;
            }
            /* The pair's key and value are adjacent bytes. */
            rc = sk_buf_append(&eb->buf, k.raw, k.raw_len + v.raw_len);
            if (rc < 0) {
                return rc;
            }
        }
    }
    rc = 0;
    if (cv->addr_key != NULL) {
        rc = sk_pack_kv_str(&eb->pk, cv->addr_key, strlen(cv->addr_key), cv->addr,
                            strlen(cv->addr));
    }
    if (rc == 0 && cv->host_key != NULL) {
        rc = sk_pack_kv_str(&eb->pk, cv->host_key, strlen(cv->host_key), cv->host,
                            strlen(cv->host));
    }
    return rc;
}

/* Appends [time, record] rewritten as e says; the batch is unchanged on error. */
static int put_event(struct sk_evbuf *eb, const struct fwd_cvt *cv, const struct ev_parts *e)
{
    size_t mark = eb->buf.len;
    int rc = sk_buf_putc(&eb->buf, (char)0x92);

    if (rc == 0) {
        rc = e->set_time ? sk_pack_time(&eb->pk, e->new_time)
                         : sk_buf_append(&eb->buf, e->time.raw, e->time.raw_len);
    }
    if (rc == 0) {
        rc = (cv->addr_key != NULL || cv->host_key != NULL)
                 ? put_record_injected(eb, cv, &e->record)
                 : sk_buf_append(&eb->buf, e->record.raw, e->record.raw_len);
    }
    if (rc < 0) {
        sk_evbuf_rollback(eb, mark);
        return rc;
    }
    sk_evbuf_commit(eb);
    return 0;
}

int fwd_entries_next(const struct fwd_cvt *cv, const char *entries, size_t len, size_t *off,
                     size_t max_bytes, struct sk_evbuf *scratch, struct sk_events *out,
                     struct fwd_skips *sk)
{
    size_t pos = *off;
    size_t start = pos; /* first byte of the zero-copy run */
    size_t count = 0;
    bool copying = false;
    struct fwd_skips local = {0, 0};

    sk_evbuf_reset(scratch);
    while (pos < len) {
        size_t taken = copying ? scratch->buf.len : pos - start;
        struct ev_parts e;
        size_t n;
        enum ev_kind k;
        int rc;

        if (count > 0 && taken >= max_bytes) {
            break;
        }
        k = classify_entry(cv, entries + pos, len - pos, &n, &e);
        if ((k == EV_BROKEN || k == EV_SKIP) && count > 0 && !copying) {
            break; /* hand the clean run on first */
        }
        if (k == EV_BROKEN) {
            local.broken++;
            pos = len;
            break;
        }
        if (k == EV_SKIP) {
            local.invalid++;
            pos += n;
            start = copying ? start : pos;
            continue;
        }
        if (k == EV_FIX && !copying && count > 0) {
            break;
        }
        if (k == EV_FIX || copying) {
            copying = true;
            rc = put_event(scratch, cv, &e);
            if (rc == SK_ETOOBIG && count > 0) {
                break; /* the batch is full: this event starts the next one */
            }
            if (rc < 0) {
                sk_evbuf_reset(scratch);
                return rc;
            }
        }
        count++;
        pos += n;
    }
    out->data = copying ? scratch->buf.data : entries + start;
    out->len = copying ? scratch->buf.len : (count > 0 ? pos - start : 0);
    out->count = count;
    sk->invalid += local.invalid;
    sk->broken += local.broken;
    *off = pos;
    return 0;
}

int fwd_message_event(const struct fwd_cvt *cv, const struct fwd_msg *m,
                      struct sk_evbuf *scratch, struct sk_events *out, struct fwd_skips *sk)
{
    struct fwd_mp_cur c;
    struct ev_parts e;
    int rc;

    memset(&e, 0, sizeof(e));
    sk_evbuf_reset(scratch);
    fwd_mp_cur_init(&c, m->entries, m->entries_len);
    if (fwd_mp_next(&c, &e.time, false) < 0 || fwd_mp_next(&c, &e.record, false) < 0 ||
        classify_pair(cv, &e) == EV_SKIP) {
        sk->invalid++;
        return 0;
    }
    rc = put_event(scratch, cv, &e);
    if (rc < 0) {
        return rc;
    }
    out->data = scratch->buf.data;
    out->len = scratch->buf.len;
    out->count = scratch->count;
    return 1;
}
