#ifndef SK_HTTP_HTTP_URL_H
#define SK_HTTP_HTTP_URL_H

#include <stdbool.h>
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
    const char *target;      /* into the parsed string: "/path?query"; "/" when empty */
    bool has_userinfo;
    char user[256];          /* percent-decoded */
    char password[256];
};

/* Parses "http(s)://[user[:password]@]host[:port][/path][?query][#frag]"
 * (the fragment is dropped from target... it stays in the string; target
 * ends before '#'). SK_EINVAL for a malformed URL, SK_EUNSUPPORTED for any
 * other scheme. `url` must outlive `out` (target points into it). */
int sk_url_parse(const char *url, struct sk_url *out);

/* A proxy URL: "http://[user:password@]host[:port]" or "host[:port]" (http
 * assumed, as curl does); port 1080 when absent (curl's default).
 * SK_EUNSUPPORTED for https://, socks*:// and other schemes. */
int sk_url_parse_proxy(const char *proxy, struct sk_url *out);

/* The proxy the environment names for a request to `u`, or NULL for a
 * direct connection. curl's rules plus HTTP_PROXY: http URLs use
 * http_proxy, else HTTP_PROXY when http_proxy is not set at all; https URLs
 * use https_proxy, else HTTPS_PROXY; then all_proxy, ALL_PROXY. An empty
 * value means none. no_proxy (else NO_PROXY) exempts hosts. */
const char *sk_url_env_proxy(const struct sk_url *u);

/* curl's NO_PROXY matching: a comma (or space) separated list; "*" matches
 * every host; a name matches itself and its subdomains (a leading dot is
 * ignored), case-insensitively; an IP address matches itself; a CIDR block
 * (10.0.0.0/8, ::1/128) matches the addresses inside it. */
bool sk_url_no_proxy_match(const char *no_proxy, const char *host);

/* Appends the Authority for a Host header: "host", "host:port" when the port
 * is not the scheme's default, brackets around IPv6. */
int sk_url_append_authority(struct sk_buf *out, const struct sk_url *u);

#endif
