#ifndef SK_IN_FORWARD_FWD_SESS_H
#define SK_IN_FORWARD_FWD_SESS_H

/*
 * One forward connection's protocol, without the socket: bytes go in
 * (fwd_sess_space / fwd_sess_filled), events go out through ops->emit,
 * replies (HELO, PONG, acks) through ops->send. fwd_net.c drives it from
 * the event loop; the fuzz target drives it directly.
 *
 *   state PING (with <security>) --PING ok--> OPEN --message--> emit, ack
 *         \--PING refused: PONG false, DONE   \--malformed: ERROR
 *
 * A message is acknowledged only after all its events were accepted. When
 * ops->emit answers SK_EFULL the session keeps the message (and every
 * byte after it) and returns FWD_SESS_BLOCKED; the caller stops reading
 * and calls fwd_sess_process again later, which resumes at the first
 * event not yet accepted.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "in_forward/fwd_auth.h"
#include "in_forward/fwd_decode.h"
#include "in_forward/fwd_mp.h"
#include "log/log.h"
#include "util/buf.h"

struct sockaddr;

struct fwd_sess_ops {
    /* Routes events: 0, SK_EFULL (hold them, retry later), or another
     * negative code (the connection is given up, nothing acked). */
    int (*emit)(void *arg, const char *tag, const struct sk_events *ev);
    /* Queues bytes for the peer: 0, or negative (the connection closes). */
    int (*send)(void *arg, const char *p, size_t n);
};

/* Settings shared by every connection of one in_forward (borrowed). */
struct fwd_sess_conf {
    const char *id;                      /* plugin instance, for logs */
    const struct fwd_security *security; /* NULL: no handshake */
    const char *tag_prefix;              /* add_tag_prefix or NULL */
    const char *addr_key;                /* source_address_key or NULL */
    const char *host_key;                /* source_hostname_key or NULL */
    bool skip_invalid;
    bool deny_keepalive;
    uint64_t warn_limit;                 /* chunk_size_warn_limit, 0: none */
    size_t msg_max;                      /* largest message accepted */
    size_t inflate_max;                  /* largest inflated gzip payload */
    size_t batch_bytes;                  /* events per emit, roughly */
    struct sk_log_limit *log;            /* shared rate limit for per-message warnings */
};

struct fwd_sess_stats {
    uint64_t messages;
    uint64_t events;
    uint64_t acks;
    uint64_t invalid; /* events skipped (skip_invalid_event) */
    uint64_t broken;  /* PackedForward payloads with a broken tail */
};

enum fwd_sess_result {
    FWD_SESS_MORE,    /* wants more input */
    FWD_SESS_BLOCKED, /* an emit was refused: call fwd_sess_process later */
    FWD_SESS_DONE,    /* close once the queued replies are sent */
    FWD_SESS_ERROR,   /* close now (logged) */
};

enum fwd_sess_fmt {
    FWD_FMT_UNKNOWN,
    FWD_FMT_MSGPACK,
    FWD_FMT_JSON,
};

struct fwd_sess {
    const struct fwd_sess_conf *conf;    /* borrowed */
    const struct fwd_sess_ops *ops;      /* borrowed */
    void *arg;
    const struct sockaddr *peer;         /* borrowed */
    const char *addr;                    /* borrowed: peer address text */
    const char *host;                    /* borrowed: peer host name (or address) */
    enum fwd_sess_fmt fmt;
    bool authed;
    unsigned char nonce[FWD_SALT_LEN];
    unsigned char auth_salt[FWD_SALT_LEN];

    struct sk_buf in;                    /* received, not yet processed */
    size_t pos;                          /* first byte of the current message in `in` */
    struct fwd_mp_frame mframe;
    struct fwd_json_frame jframe;
    struct sk_buf json_mp;               /* JSON message as msgpack */
    struct sk_buf inflated;              /* gzip payload, inflated */
    struct sk_evbuf scratch;             /* rewritten events */
    struct sk_buf tag;                   /* NUL-terminated tag, prefix added */
    struct sk_buf reply;

    /* The message being emitted (busy): pointers into in/json_mp/inflated. */
    bool busy;
    struct fwd_msg msg;
    size_t msg_raw_len;                  /* its bytes in `in` */
    const char *ents;
    size_t ents_len;
    size_t ents_off;
    struct fwd_cvt cvt;
    struct fwd_skips skips;

    struct fwd_sess_stats stats;
};

/*
 * Prepares a session; peer/addr/host stay borrowed for its lifetime.
 * With conf->security it sends HELO through ops->send. Returns 0, or a
 * negative code (then call fwd_sess_cleanup).
 */
int fwd_sess_init(struct fwd_sess *s, const struct fwd_sess_conf *conf,
                  const struct fwd_sess_ops *ops, void *arg, const struct sockaddr *peer,
                  const char *addr, const char *host) SK_WUR;

/* Frees what the session holds; accepts a zeroed or half-initialised one. */
void fwd_sess_cleanup(struct fwd_sess *s);

/*
 * Room to read into: *p and *room. Returns 0; SK_EAGAIN while a message
 * is held (BLOCKED: do not read); SK_ETOOBIG when the buffer is full.
 */
int fwd_sess_space(struct fwd_sess *s, char **p, size_t *room) SK_WUR;

/* Accounts n bytes just written at the pointer from fwd_sess_space. */
void fwd_sess_filled(struct fwd_sess *s, size_t n);

/* Processes every complete message buffered (or the held one first). */
enum fwd_sess_result fwd_sess_process(struct fwd_sess *s);

/* The peer sent EOF: DONE when nothing is left, ERROR (logged) when a
 * message was cut short. Call after the last fwd_sess_process. */
enum fwd_sess_result fwd_sess_eof(struct fwd_sess *s);

#endif
