/* <security>: HELO, PING check, PONG, and client address ranges. */
#include "in_forward/fwd_auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <msgpack.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "in_forward/fwd_mp.h"

static int pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    int rc = msgpack_pack_str(pk, n);

    return rc < 0 ? rc : msgpack_pack_str_body(pk, s, n);
}

static int pack_bin(msgpack_packer *pk, const unsigned char *p, size_t n)
{
    int rc = msgpack_pack_bin(pk, n);

    return rc < 0 ? rc : msgpack_pack_bin_body(pk, p, n);
}

int fwd_auth_helo(struct sk_buf *out, const unsigned char nonce[FWD_SALT_LEN],
                  const unsigned char auth_salt[FWD_SALT_LEN], bool keepalive)
{
    msgpack_packer pk;
    int rc;

    msgpack_packer_init(&pk, out, sk_buf_msgpack_write);
    rc = msgpack_pack_array(&pk, 2);
    rc = rc < 0 ? rc : pack_str(&pk, "HELO", 4);
    rc = rc < 0 ? rc : msgpack_pack_map(&pk, 3);
    rc = rc < 0 ? rc : pack_str(&pk, "nonce", 5);
    rc = rc < 0 ? rc : pack_bin(&pk, nonce, FWD_SALT_LEN);
    rc = rc < 0 ? rc : pack_str(&pk, "auth", 4);
    rc = rc < 0 ? rc : pack_bin(&pk, auth_salt, FWD_SALT_LEN);
    rc = rc < 0 ? rc : pack_str(&pk, "keepalive", 9);
    rc = rc < 0 ? rc : (keepalive ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
    return rc < 0 ? rc : 0;
}

void fwd_sha512_hex(const char *const *parts, const size_t *lens, size_t n, char out[129])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1;

    for (size_t i = 0; i < n && ok; i++) {
        ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 64;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        /* Cannot happen with a working libcrypto; an empty digest matches nothing. */
        out[0] = '\0';
        return;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[128] = '\0';
}

/* True when the received digest equals the expected hex, in constant time. */
static bool digest_eq(const struct fwd_mp_val *got, const char expected[129])
{
    return expected[0] != '\0' && got->body_len == 128 &&
           CRYPTO_memcmp(got->body, expected, 128) == 0;
}

int fwd_client_parse_network(const char *text, struct fwd_client *c)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
    unsigned int max;

    if (alen == 0 || alen >= sizeof(addr)) {
        return SK_EINVAL;
    }
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    memset(c->addr, 0, sizeof(c->addr));
    if (inet_pton(AF_INET, addr, c->addr) == 1) {
        c->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
        c->family = AF_INET6;
        max = 128;
    } else {
        return SK_EINVAL;
    }
    c->prefix = max;
    if (slash != NULL) {
        char *end = NULL;
        unsigned long bits = strtoul(slash + 1, &end, 10);

        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits > max) {
            return SK_EINVAL;
        }
        c->prefix = (unsigned int)bits;
    }
    return 0;
}

/* The peer as family + bytes; IPv4-mapped IPv6 counts as IPv4. */
static int peer_bytes(const struct sockaddr *sa, unsigned char out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(out, a->s6_addr + 12, 4);
            return AF_INET;
        }
        memcpy(out, a->s6_addr, 16);
        return AF_INET6;
    }
    return -1;
}

static bool in_range(const struct fwd_client *c, int family, const unsigned char *a)
{
    unsigned int full = c->prefix / 8;
    unsigned int rest = c->prefix % 8;

    if (c->family != family || memcmp(c->addr, a, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    return ((c->addr[full] ^ a[full]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

const struct fwd_client *fwd_client_find(const struct fwd_security *sec,
                                         const struct sockaddr *peer)
{
    unsigned char a[16];
    int family = peer != NULL ? peer_bytes(peer, a) : -1;

    for (size_t i = 0; i < sec->nclients && family >= 0; i++) {
        if (in_range(&sec->clients[i], family, a)) {
            return &sec->clients[i];
        }
    }
    return NULL;
}

static void peer_text(const struct sockaddr *peer, char *out, size_t size)
{
    unsigned char a[16];
    int family = peer != NULL ? peer_bytes(peer, a) : -1;

    if (family < 0 || inet_ntop(family, a, out, (socklen_t)size) == NULL) {
        snprintf(out, size, "unknown");
    }
}

static bool user_allowed(const struct fwd_client *node, const char *name)
{
    if (node == NULL || node->users == NULL || node->users->n == 0) {
        return true;
    }
    for (size_t i = 0; i < node->users->n; i++) {
        if (strcmp(node->users->v[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Fluentd's select_authenticate_users + password digest check. */
static bool user_ok(const struct fwd_security *sec, const struct fwd_client *node,
                    const struct fwd_mp_val *user, const struct fwd_mp_val *digest,
                    const unsigned char auth_salt[FWD_SALT_LEN])
{
    bool ok = false;

    for (size_t i = 0; i < sec->nusers; i++) {
        const struct fwd_user *u = &sec->users[i];
        const char *parts[3] = {(const char *)auth_salt, user->body, u->password};
        size_t lens[3] = {FWD_SALT_LEN, user->body_len, strlen(u->password)};
        char hex[129];

        if (!fwd_mp_str_eq(user, u->username) || !user_allowed(node, u->username)) {
            continue;
        }
        fwd_sha512_hex(parts, lens, 3, hex);
        ok = ok || digest_eq(digest, hex);
    }
    return ok;
}

static int pong(struct sk_buf *out, bool ok, const char *reason, const char *host,
                const char *digest)
{
    msgpack_packer pk;
    int rc;

    msgpack_packer_init(&pk, out, sk_buf_msgpack_write);
    rc = msgpack_pack_array(&pk, 5);
    rc = rc < 0 ? rc : pack_str(&pk, "PONG", 4);
    rc = rc < 0 ? rc : (ok ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
    rc = rc < 0 ? rc : pack_str(&pk, reason, strlen(reason));
    rc = rc < 0 ? rc : pack_str(&pk, host, strlen(host));
    rc = rc < 0 ? rc : pack_str(&pk, digest, strlen(digest));
    return rc < 0 ? rc : 0;
}

/* Reads ["PING", hostname, salt, digest, username, password_digest]. */
static bool read_ping(const char *p, size_t len, struct fwd_mp_val f[6])
{
    struct fwd_mp_cur c;
    struct fwd_mp_val arr;

    fwd_mp_cur_init(&c, p, len);
    if (fwd_mp_next(&c, &arr, true) < 0 || arr.type != FWD_MP_ARRAY || arr.n != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        if (fwd_mp_next(&c, &f[i], false) < 0 || f[i].type != FWD_MP_STR) {
            return false;
        }
    }
    return fwd_mp_str_eq(&f[0], "PING");
}

int fwd_auth_ping(const struct fwd_security *sec, const char *p, size_t len,
                  const struct sockaddr *peer, const unsigned char nonce[FWD_SALT_LEN],
                  const unsigned char auth_salt[FWD_SALT_LEN], struct sk_buf *out,
                  char *reason, size_t reason_size)
{
    struct fwd_mp_val f[6];
    const struct fwd_client *node;
    const char *key;
    char expected[129];
    int rc;

    snprintf(reason, reason_size, "invalid ping message");
    if (!read_ping(p, len, f)) {
        rc = pong(out, false, reason, "", "");
        return rc < 0 ? rc : SK_EPERM;
    }
    node = fwd_client_find(sec, peer);
    if (node == NULL && !sec->allow_anonymous_source) {
        char addr[INET6_ADDRSTRLEN];

        peer_text(peer, addr, sizeof(addr));
        snprintf(reason, reason_size, "anonymous source host '%s' denied", addr);
        rc = pong(out, false, reason, "", "");
        return rc < 0 ? rc : SK_EPERM;
    }
    key = node != NULL ? node->shared_key : sec->shared_key;
    {
        const char *parts[4] = {f[2].body, f[1].body, (const char *)nonce, key};
        size_t lens[4] = {f[2].body_len, f[1].body_len, FWD_SALT_LEN, strlen(key)};

        fwd_sha512_hex(parts, lens, 4, expected);
    }
    if (!digest_eq(&f[3], expected)) {
        snprintf(reason, reason_size, "shared_key mismatch");
    } else if (sec->user_auth && !user_ok(sec, node, &f[4], &f[5], auth_salt)) {
        snprintf(reason, reason_size, "username/password mismatch");
    } else {
        const char *parts[4] = {f[2].body, sec->self_hostname, (const char *)nonce, key};
        size_t lens[4] = {f[2].body_len, strlen(sec->self_hostname), FWD_SALT_LEN, strlen(key)};

        reason[0] = '\0';
        fwd_sha512_hex(parts, lens, 4, expected);
        return pong(out, true, "", sec->self_hostname, expected);
    }
    rc = pong(out, false, reason, "", "");
    return rc < 0 ? rc : SK_EPERM;
}
