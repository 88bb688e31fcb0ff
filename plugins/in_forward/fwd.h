#ifndef SK_IN_FORWARD_FWD_H
#define SK_IN_FORWARD_FWD_H

/* in_forward internals shared by fwd.c, fwd_conf.c and fwd_net.c. */
#include <stdbool.h>
#include <stdint.h>

#include "in_forward/fwd_auth.h"
#include "in_forward/fwd_sess.h"
#include "plugin/plugin.h"

struct sk_io;
struct sk_loop;
struct sk_timer;
struct fwd_conn;

/* Largest message when chunk_size_limit is not set: a file buffer's
 * default chunk_limit_size, the biggest chunk out_forward sends. */
#define FWD_MSG_MAX_DEFAULT (256u << 20)
/* Largest inflated CompressedPackedForward payload. */
#define FWD_INFLATE_MAX (256u << 20)
/* Events handed to the router per sk_emit, roughly. */
#define FWD_BATCH_BYTES (1u << 20)

struct fwd_conf {
    int64_t port;
    char *bind;
    int64_t backlog;
    int64_t linger_timeout;
    int64_t blocking_timeout_ms;
    bool resolve_hostname;
    bool deny_keepalive;
    bool send_keepalive_packet;
    uint64_t chunk_size_warn_limit; /* 0: unset */
    uint64_t chunk_size_limit;      /* 0: unset */
    bool skip_invalid_event;
    char *source_address_key;
    char *source_hostname_key;
    char *add_tag_prefix;
};

/* <security>, <user>, <client>: filled by the parameter engine. */
struct fwd_security_conf {
    char *self_hostname;
    char *shared_key;
    bool user_auth;
    bool allow_anonymous_source;
};

struct fwd_user_conf {
    char *username;
    char *password;
};

struct fwd_client_conf {
    char *host;
    char *network;
    char *shared_key;
    struct sk_strv users;
};

struct fwd_totals {
    uint64_t connections;
    uint64_t messages;
    uint64_t events;
    uint64_t acks;
    uint64_t invalid;
    uint64_t broken;
    uint64_t heartbeats;
    uint64_t errors;  /* connections closed on malformed input or errors */
};

struct fwd {
    struct sk_instance *ins;         /* borrowed */
    const struct fwd_conf *conf;     /* borrowed from the engine */
    struct sk_loop *loop;            /* borrowed */

    bool has_security;
    struct fwd_security_conf sec_conf;   /* owned strings (param engine) */
    struct fwd_user_conf *user_confs;    /* owned array */
    size_t nuser_confs;
    struct fwd_client_conf *client_confs; /* owned array */
    size_t nclient_confs;
    struct fwd_security security;        /* owned arrays, borrowed strings */

    struct fwd_sess_conf sess_conf;
    struct sk_log_limit log;
    bool resolve;                    /* reverse-resolve peers (source_hostname_key) */

    int tcp_fd;
    int udp_fd;
    struct sk_io *tcp_io;
    struct sk_io *udp_io;
    struct sk_timer *accept_timer;   /* accepting paused (out of fds) */
    struct fwd_conn *conns;          /* owned list */
    struct fwd_totals totals;
};

/* fwd_conf.c: reads <security> (with <user>/<client>) and <transport>.
 * Problems go to d; returns 0 or SK_ECONFIG/SK_ENOMEM. */
int fwd_conf_sections(struct fwd *f, struct sk_diag *d) SK_WUR;
void fwd_conf_cleanup(struct fwd *f);

/* fwd_net.c: listening sockets and connections. start returns 0 or a
 * negative code (logged); stop closes everything and accepts a
 * half-started state. */
int fwd_net_start(struct fwd *f) SK_WUR;
void fwd_net_stop(struct fwd *f);

#endif
