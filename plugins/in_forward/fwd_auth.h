#ifndef SK_IN_FORWARD_FWD_AUTH_H
#define SK_IN_FORWARD_FWD_AUTH_H

/*
 * The shared-key handshake of <security> (always msgpack on the wire):
 *
 *   server -> ["HELO", {"nonce": bin16, "auth": bin16, "keepalive": bool}]
 *   client -> ["PING", hostname, salt, hex(sha512(salt + hostname + nonce + key)),
 *              username, hex(sha512(auth + username + password))]
 *   server -> ["PONG", true, "", self_hostname,
 *              hex(sha512(salt + self_hostname + nonce + key))]
 *          or ["PONG", false, reason, "", ""] and the connection closes.
 *
 * `key` is the <client>'s shared_key when the peer's address matches a
 * <client>, else the <security> shared_key. hex is lower case.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "param/param.h"
#include "util/buf.h"
#include "util/err.h"

#define FWD_SALT_LEN 16

struct sockaddr;

struct fwd_user {
    const char *username; /* borrowed from the config */
    const char *password;
};

/* One <client>: an address range with its own key and users. */
struct fwd_client {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned int prefix;        /* bits that must match */
    const char *shared_key;     /* borrowed: the client's or the global key */
    const struct sk_strv *users; /* borrowed: allowed usernames (n == 0: all) */
};

struct fwd_security {
    const char *self_hostname; /* borrowed */
    const char *shared_key;
    bool user_auth;
    bool allow_anonymous_source;
    struct fwd_user *users;     /* owned array */
    size_t nusers;
    struct fwd_client *clients; /* owned array */
    size_t nclients;
};

/* Appends the HELO message to out. 0 or SK_ETOOBIG/SK_ENOMEM. */
int fwd_auth_helo(struct sk_buf *out, const unsigned char nonce[FWD_SALT_LEN],
                  const unsigned char auth_salt[FWD_SALT_LEN], bool keepalive) SK_WUR;

/*
 * Checks the PING p[0..len) (one complete msgpack value) from `peer` and
 * appends the PONG to `pong` (msgpack). Returns 0 when the peer is
 * authenticated, SK_EPERM when it is not (the PONG says why, and so does
 * `reason`, NUL-terminated), or SK_ENOMEM/SK_ETOOBIG from `pong`.
 */
int fwd_auth_ping(const struct fwd_security *sec, const char *p, size_t len,
                  const struct sockaddr *peer, const unsigned char nonce[FWD_SALT_LEN],
                  const unsigned char auth_salt[FWD_SALT_LEN], struct sk_buf *pong,
                  char *reason, size_t reason_size) SK_WUR;

/* Lower-case hex SHA-512 of the concatenation of n parts into out[129]. */
void fwd_sha512_hex(const char *const *parts, const size_t *lens, size_t n, char out[129]);

/*
 * Parses "10.0.0.0/8", "::1" or "192.168.1.7" (a single address) into c's
 * family/addr/prefix. 0 or SK_EINVAL.
 */
int fwd_client_parse_network(const char *text, struct fwd_client *c) SK_WUR;

/* The <client> whose range holds `peer` (first match), or NULL. */
const struct fwd_client *fwd_client_find(const struct fwd_security *sec,
                                         const struct sockaddr *peer);

#endif
