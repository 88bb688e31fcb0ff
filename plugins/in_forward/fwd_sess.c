/* One forward connection's protocol: framing, handshake, emit, ack. */
#include "in_forward/fwd_sess.h"

#include <string.h>

#include <openssl/rand.h>

#include "json/json.h"

#define FWD_TAG_MAX (64u * 1024)
#define FWD_REPLY_MAX (64u * 1024)
#define FWD_READ_STEP (64u * 1024)
/* Buffers bigger than this are given back once a message is done, so
 * idle connections do not keep the memory of their largest message. */
#define FWD_KEEP_BYTES (1u << 20)

static int send_bytes(struct fwd_sess *s, const char *p, size_t n)
{
    return s->ops->send(s->arg, p, n);
}

int fwd_sess_init(struct fwd_sess *s, const struct fwd_sess_conf *conf,
                  const struct fwd_sess_ops *ops, void *arg, const struct sockaddr *peer,
                  const char *addr, const char *host)
{
    size_t json_max = conf->msg_max <= SIZE_MAX / 4 ? conf->msg_max * 4 : SIZE_MAX;
    size_t event_max = conf->msg_max > conf->inflate_max ? conf->msg_max : conf->inflate_max;
    int rc;

    memset(s, 0, sizeof(*s));
    s->conf = conf;
    s->ops = ops;
    s->arg = arg;
    s->peer = peer;
    s->addr = addr;
    s->host = host;
    sk_buf_init(&s->in, conf->msg_max);
    sk_buf_init(&s->json_mp, json_max);
    sk_buf_init(&s->inflated, conf->inflate_max);
    /* One rewritten event can be as big as a message, plus injected keys. */
    sk_evbuf_init(&s->scratch, event_max + conf->batch_bytes + FWD_TAG_MAX);
    sk_buf_init(&s->tag, FWD_TAG_MAX);
    sk_buf_init(&s->reply, FWD_REPLY_MAX);
    if (conf->security == NULL) {
        return 0;
    }
    if (RAND_bytes(s->nonce, sizeof(s->nonce)) != 1 ||
        RAND_bytes(s->auth_salt, sizeof(s->auth_salt)) != 1) {
        return SK_EIO;
    }
    rc = fwd_auth_helo(&s->reply, s->nonce, s->auth_salt, !conf->deny_keepalive);
    return rc < 0 ? rc : send_bytes(s, s->reply.data, s->reply.len);
}

void fwd_sess_cleanup(struct fwd_sess *s)
{
    sk_buf_cleanup(&s->in);
    sk_buf_cleanup(&s->json_mp);
    sk_buf_cleanup(&s->inflated);
    sk_evbuf_cleanup(&s->scratch);
    sk_buf_cleanup(&s->tag);
    sk_buf_cleanup(&s->reply);
    s->busy = false;
}

int fwd_sess_space(struct fwd_sess *s, char **p, size_t *room)
{
    size_t left = s->in.max - s->in.len;
    size_t usable;
    int rc;

    if (s->busy) {
        return SK_EAGAIN;
    }
    if (left == 0) {
        return SK_ETOOBIG;
    }
    rc = sk_buf_reserve(&s->in, left < FWD_READ_STEP ? left : FWD_READ_STEP);
    if (rc < 0) {
        return rc;
    }
    /* Read into all the capacity there is (one NUL byte stays reserved). */
    usable = s->in.cap - 1 - s->in.len;
    *p = s->in.data + s->in.len;
    *room = usable < left ? usable : left;
    return 0;
}

void fwd_sess_filled(struct fwd_sess *s, size_t n)
{
    s->in.len += n;
    s->in.data[s->in.len] = '\0';
}

static enum fwd_sess_result fail(struct fwd_sess *s, const char *what)
{
    sk_log_limited(s->conf->log, SK_LOG_WARN, "%s: closing the connection from %s: %s",
                   s->conf->id, s->addr, what);
    return FWD_SESS_ERROR;
}

/* Sends a msgpack reply, as JSON on a JSON connection. */
static int send_reply(struct fwd_sess *s, const struct sk_buf *mp)
{
    struct sk_buf json;
    size_t used;
    int rc;

    if (s->fmt != FWD_FMT_JSON) {
        return send_bytes(s, mp->data, mp->len);
    }
    sk_buf_init(&json, FWD_REPLY_MAX * 2);
    rc = sk_json_write_msgpack(&json, mp->data, mp->len, &used);
    if (rc == 0) {
        rc = send_bytes(s, json.data, json.len);
    }
    sk_buf_cleanup(&json);
    return rc;
}

/* JSON connections: converts the framed JSON text to msgpack in json_mp. */
static int json_message(struct fwd_sess *s, const char *p, size_t n)
{
    msgpack_packer pk;
    int rc;

    sk_buf_reset(&s->json_mp);
    msgpack_packer_init(&pk, &s->json_mp, sk_buf_msgpack_write);
    rc = sk_json_to_msgpack_depth(p, n, &pk, SK_JSON_MAX_DEPTH);
    return rc == SK_ENOMEM ? rc : (rc < 0 ? SK_EPROTO : 0);
}

/* Frames the next message: its msgpack bytes in msg and len, and in raw its
 * length in `in`. */
static int next_message(struct fwd_sess *s, const char **msg, size_t *len, size_t *raw)
{
    const char *p = s->in.data + s->pos;
    size_t avail = s->in.len - s->pos;
    int rc;

    if (s->fmt == FWD_FMT_UNKNOWN) {
        if (avail == 0) {
            return SK_EAGAIN;
        }
        s->fmt = (p[0] == '{' || p[0] == '[') ? FWD_FMT_JSON : FWD_FMT_MSGPACK;
    }
    if (s->fmt == FWD_FMT_MSGPACK) {
        rc = fwd_mp_frame(&s->mframe, p, avail, raw);
        *msg = p;
        *len = *raw;
        return rc;
    }
    if (s->jframe.off == 0) {
        size_t ws = fwd_json_ws(p, avail);

        s->pos += ws; /* whitespace between values is simply consumed */
        p += ws;
        avail -= ws;
    }
    rc = fwd_json_frame(&s->jframe, p, avail, raw);
    if (rc == 0) {
        rc = json_message(s, p, *raw);
    }
    *msg = s->json_mp.data;
    *len = s->json_mp.len;
    return rc;
}

static enum fwd_sess_result handle_ping(struct fwd_sess *s, const char *msg, size_t len)
{
    char reason[160];
    int rc;

    sk_buf_reset(&s->reply);
    rc = fwd_auth_ping(s->conf->security, msg, len, s->peer, s->nonce, s->auth_salt, &s->reply,
                       reason, sizeof(reason));
    if (rc < 0 && rc != SK_EPERM) {
        return fail(s, sk_strerror(rc));
    }
    if (send_reply(s, &s->reply) < 0) {
        return fail(s, "cannot answer the PING");
    }
    if (rc == SK_EPERM) {
        sk_log_limited(s->conf->log, SK_LOG_WARN, "%s: authentication of %s failed: %s",
                       s->conf->id, s->addr, reason);
        return FWD_SESS_DONE;
    }
    s->authed = true;
    sk_log(SK_LOG_DEBUG, "%s: connection from %s established", s->conf->id, s->addr);
    return FWD_SESS_MORE;
}

static int build_tag(struct fwd_sess *s)
{
    int rc = 0;

    if (memchr(s->msg.tag, '\0', s->msg.tag_len) != NULL) {
        return SK_EPROTO;
    }
    sk_buf_reset(&s->tag);
    if (s->conf->tag_prefix != NULL) {
        rc = sk_buf_append_str(&s->tag, s->conf->tag_prefix);
        rc = rc < 0 ? rc : sk_buf_putc(&s->tag, '.');
    }
    rc = rc < 0 ? rc : sk_buf_append(&s->tag, s->msg.tag, s->msg.tag_len);
    return rc < 0 ? SK_EPROTO : 0;
}

/* Points ents at the events to emit: the message's, or inflated ones. */
static enum fwd_sess_result prepare_entries(struct fwd_sess *s)
{
    int rc;

    s->ents = s->msg.entries;
    s->ents_len = s->msg.entries_len;
    if (s->msg.mode != FWD_PACKED || s->msg.compress == FWD_TEXT) {
        return FWD_SESS_MORE;
    }
    if (s->msg.compress == FWD_ZSTD) {
        sk_log(SK_LOG_ERROR, "%s: %s sent a zstd-compressed chunk, which skiff does not support; "
               "use compress gzip (or text) in out_forward", s->conf->id, s->addr);
        return FWD_SESS_ERROR;
    }
    sk_buf_reset(&s->inflated);
    rc = fwd_gunzip(s->msg.entries, s->msg.entries_len, &s->inflated);
    if (rc == SK_EPARSE) {
        /* Retrying cannot repair it: acknowledged, counted, logged. */
        s->skips.broken++;
        s->ents_len = 0;
        return FWD_SESS_MORE;
    }
    if (rc < 0) {
        sk_log(SK_LOG_ERROR, "%s: cannot inflate a chunk from %s: %s (limit %zu bytes)",
               s->conf->id, s->addr, sk_strerror(rc), s->inflated.max);
        return FWD_SESS_ERROR;
    }
    s->ents = s->inflated.data;
    s->ents_len = s->inflated.len;
    return FWD_SESS_MORE;
}

static enum fwd_sess_result start_message(struct fwd_sess *s, const char *msg, size_t len,
                                          size_t raw)
{
    const struct fwd_sess_conf *conf = s->conf;

    if (fwd_msg_decode(msg, len, &s->msg) < 0) {
        return fail(s, "not a forward protocol message");
    }
    if (s->msg.mode == FWD_NIL) {
        s->pos += raw; /* keep-alive */
        return FWD_SESS_MORE;
    }
    if (build_tag(s) < 0) {
        return fail(s, "invalid tag");
    }
    if (conf->warn_limit > 0 && raw > conf->warn_limit) {
        sk_log_limited(conf->log, SK_LOG_WARN,
                       "%s: input chunk size is larger than 'chunk_size_warn_limit': tag=\"%s\" "
                       "host=%s limit=%llu size=%zu", conf->id, s->tag.data, s->addr,
                       (unsigned long long)conf->warn_limit, raw);
    }
    memset(&s->cvt, 0, sizeof(s->cvt));
    s->cvt.skip_invalid = conf->skip_invalid;
    /* Fluentd: time 0 is "now" in Message mode, and in Forward mode
     * without skip_invalid_event; PackedForward keeps times as sent. */
    s->cvt.zero_is_now = s->msg.mode == FWD_MESSAGE ||
                         (s->msg.mode == FWD_FORWARD && !conf->skip_invalid);
    s->cvt.now = sk_time_now();
    s->cvt.addr_key = conf->addr_key;
    s->cvt.addr = s->addr;
    s->cvt.host_key = conf->host_key;
    s->cvt.host = s->host;
    memset(&s->skips, 0, sizeof(s->skips));
    s->msg_raw_len = raw;
    s->ents_off = 0;
    s->busy = true;
    return prepare_entries(s);
}

/* Emits the held message's events from ents_off on. */
static enum fwd_sess_result emit_held(struct fwd_sess *s)
{
    while (s->ents_off < s->ents_len) {
        struct sk_events ev = {NULL, NULL, 0, 0};
        struct fwd_skips sk = {0, 0};
        size_t off = s->ents_off;
        int rc;

        if (s->msg.mode == FWD_MESSAGE) {
            rc = fwd_message_event(&s->cvt, &s->msg, &s->scratch, &ev, &sk);
            off = s->ents_len;
        } else {
            rc = fwd_entries_next(&s->cvt, s->ents, s->ents_len, &off, s->conf->batch_bytes,
                                  &s->scratch, &ev, &sk);
        }
        if (rc < 0) {
            sk_log(SK_LOG_ERROR, "%s: cannot prepare events from %s: %s", s->conf->id, s->addr,
                   sk_strerror(rc));
            return FWD_SESS_ERROR;
        }
        if (ev.count > 0) {
            ev.tag = s->tag.data;
            rc = s->ops->emit(s->arg, s->tag.data, &ev);
            if (rc == SK_EFULL) {
                return FWD_SESS_BLOCKED;
            }
            if (rc < 0) {
                sk_log(SK_LOG_ERROR, "%s: cannot route events from %s: %s; closing without ack",
                       s->conf->id, s->addr, sk_strerror(rc));
                return FWD_SESS_ERROR;
            }
        }
        s->ents_off = off;
        s->skips.invalid += sk.invalid;
        s->skips.broken += sk.broken;
        s->stats.events += ev.count;
    }
    return FWD_SESS_MORE;
}

static int send_ack(struct fwd_sess *s)
{
    static const char head[5] = {(char)0x81, (char)0xa3, 'a', 'c', 'k'};
    int rc;

    sk_buf_reset(&s->reply);
    rc = sk_buf_append(&s->reply, head, sizeof(head));
    rc = rc < 0 ? rc : sk_buf_append(&s->reply, s->msg.chunk, s->msg.chunk_len);
    return rc < 0 ? rc : send_reply(s, &s->reply);
}

static void log_skips(struct fwd_sess *s)
{
    if (s->skips.invalid > 0) {
        sk_log_limited(s->conf->log, SK_LOG_WARN,
                       "%s: skipped %llu invalid events (time not an integer/EventTime, record "
                       "not a map, or nested too deep): tag=\"%s\" host=%s", s->conf->id,
                       (unsigned long long)s->skips.invalid, s->tag.data, s->addr);
    }
    if (s->skips.broken > 0) {
        sk_log_limited(s->conf->log, SK_LOG_WARN,
                       "%s: broken PackedForward payload (not msgpack or bad gzip) from %s, "
                       "tag=\"%s\": the events after the break are lost", s->conf->id, s->addr,
                       s->tag.data);
    }
}

static void shrink(struct sk_buf *b)
{
    if (b->cap > FWD_KEEP_BYTES) {
        sk_buf_cleanup(b);
    }
}

static enum fwd_sess_result finish_message(struct fwd_sess *s)
{
    s->busy = false;
    s->pos += s->msg_raw_len;
    s->stats.messages++;
    s->stats.invalid += s->skips.invalid;
    s->stats.broken += s->skips.broken;
    log_skips(s);
    shrink(&s->inflated);
    shrink(&s->scratch.buf);
    shrink(&s->json_mp);
    if (s->msg.chunk != NULL) {
        if (send_ack(s) < 0) {
            return fail(s, "cannot send the ack");
        }
        s->stats.acks++;
    }
    return s->conf->deny_keepalive ? FWD_SESS_DONE : FWD_SESS_MORE;
}

enum fwd_sess_result fwd_sess_process(struct fwd_sess *s)
{
    enum fwd_sess_result r = FWD_SESS_MORE;

    while (r == FWD_SESS_MORE) {
        const char *msg = NULL;
        size_t len = 0;
        size_t raw = 0;
        int rc;

        if (s->busy) {
            r = emit_held(s);
            r = r == FWD_SESS_MORE ? finish_message(s) : r;
            continue;
        }
        rc = next_message(s, &msg, &len, &raw);
        if (rc == SK_EAGAIN) {
            break;
        }
        if (rc < 0) {
            r = fail(s, rc == SK_ENOMEM ? "out of memory" : "malformed data");
        } else if (s->conf->security != NULL && !s->authed) {
            r = handle_ping(s, msg, len);
            s->pos += raw;
        } else {
            r = start_message(s, msg, len, raw);
        }
    }
    if (!s->busy && s->pos > 0) {
        sk_buf_consume(&s->in, s->pos);
        s->pos = 0;
    }
    if (!s->busy && s->in.len == 0) {
        shrink(&s->in);
    }
    if (r == FWD_SESS_MORE && s->in.len >= s->in.max) {
        sk_log_limited(s->conf->log, SK_LOG_ERROR,
                       "%s: closing the connection from %s: a message is larger than %zu bytes "
                       "(chunk_size_limit); it is dropped unacknowledged", s->conf->id, s->addr,
                       s->in.max);
        r = FWD_SESS_ERROR;
    }
    return r;
}

enum fwd_sess_result fwd_sess_eof(struct fwd_sess *s)
{
    size_t left = s->in.len - s->pos;

    if (s->fmt == FWD_FMT_JSON) {
        left -= fwd_json_ws(s->in.data + s->pos, left);
    }
    if (s->busy || left > 0) {
        sk_log_limited(s->conf->log, SK_LOG_WARN,
                       "%s: connection from %s closed inside a message (%zu bytes dropped)",
                       s->conf->id, s->addr, left);
        return FWD_SESS_ERROR;
    }
    return FWD_SESS_DONE;
}
