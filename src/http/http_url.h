#ifndef SK_HTTP_HTTP_URL_H
#define SK_HTTP_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/*
 * URLs as skiff's HTTP client needs them: the target (http/https), proxy
 * URLs, and curl's rules for choosing a proxy from the environment, which
 * td-agent users already rely on.
 */
struct sk_url {
    bool tls;                /* https */
    char host[256];          /* IPv6 without brackets; lower case */
    uint16_t port;           /* explicit or the scheme's default */
    const char *target;      /* into the parsed string: path and query, see below */
    size_t target_len;       /* bytes of target: it ends before '#' (or the string's end) */
    bool has_userinfo;
    char user[256];          /* percent-decoded */
    char password[256];
};

/* Parses "http(s)://[user[:password]@]host[:port][/path][?query][#frag]".
 * target/target_len is "/path?query" without the fragment (which stays in
 * the string, so target is not NUL-terminated where the request target
 * ends); "/" when path and query are empty; "?query" when the path alone
 * is (sk_url_append_target adds the '/'). SK_EINVAL for a malformed URL
 * (control characters or spaces, bad host or port, port 0 or over 65535, a
 * bad %XX in the userinfo), SK_EUNSUPPORTED for any other scheme. `url`
 * must outlive `out` (target points into it). */
int sk_url_parse(const char *url, struct sk_url *out) SK_WUR;

/* A proxy URL: "http://[user:password@]host[:port]" or "host[:port]" (http
 * assumed, as curl does); port 1080 when absent (curl's default). A path
 * ("http://proxy:3128/") is ignored; target is "/".
 * SK_EUNSUPPORTED for https://, socks*:// and other schemes. */
int sk_url_parse_proxy(const char *proxy, struct sk_url *out) SK_WUR;

/* The proxy the environment names for a request to `u`, or NULL for a
 * direct connection. curl's rules plus HTTP_PROXY: http URLs use
 * http_proxy, else HTTP_PROXY when http_proxy is not set at all; https URLs
 * use https_proxy, else HTTPS_PROXY; then all_proxy, ALL_PROXY. The first
 * of these that is set decides: an empty value means none (unlike curl,
 * which skips empty variables). no_proxy (else NO_PROXY, when no_proxy is
 * not set) exempts hosts. Returns getenv()'s storage: valid until the
 * environment changes. */
const char *sk_url_env_proxy(const struct sk_url *u);

/* The name of the variable sk_url_env_proxy takes the proxy from, or NULL. */
const char *sk_url_env_proxy_var(const struct sk_url *u);

/* curl's NO_PROXY matching: a comma (or space) separated list; "*" matches
 * every host; a name matches itself and its subdomains (a leading dot is
 * ignored, and a trailing one on either side), case-insensitively; an IP
 * address matches itself; a CIDR block (10.0.0.0/8, ::1/128) matches the
 * addresses inside it. A host that is an address is only compared with
 * address entries (no name resolution either way). */
bool sk_url_no_proxy_match(const char *no_proxy, const char *host);

/* Appends the Authority for a Host header: "host", "host:port" when the port
 * is not the scheme's default, brackets around IPv6. 0 or the sk_buf error. */
int sk_url_append_authority(struct sk_buf *out, const struct sk_url *u) SK_WUR;

/* Appends the origin-form request target: target_len bytes of target,
 * behind a '/' when the path is empty ("?q" -> "/?q"). 0 or the sk_buf
 * error. */
int sk_url_append_target(struct sk_buf *out, const struct sk_url *u) SK_WUR;

#endif
