#include "http/http_url.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_chars.h"
#include "util/err.h"

#define HTTP_PORT 80
#define HTTPS_PORT 443
#define PROXY_PORT 1080 /* curl's default proxy port */

/* Enough for an IPv6 or IPv4 address in text, without brackets. */
#define IP_TEXT_MAX 46

/* Spaces and control characters have no place in a URL: a request line or
 * header built from one could be split. */
static bool has_bad_char(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c == 0x7f) {
            return true;
        }
    }
    return false;
}

/* The length of "scheme" in "scheme://...", or 0 when s does not start so. */
static size_t scheme_length(const char *s)
{
    size_t n = 0;

    if (!is_alpha(s[0])) {
        return 0;
    }
    while (is_alpha(s[n]) || is_digit(s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.') {
        n++;
    }
    return strncmp(s + n, "://", 3) == 0 ? n : 0;
}

/* %XX-decodes [s, end) into dst (NUL-terminated). A NUL byte, a bad escape
 * or too long a result is SK_EINVAL. */
static int percent_decode(char *dst, size_t size, const char *s, const char *end)
{
    size_t n = 0;

    while (s < end) {
        char c = *s++;

        if (c == '%') {
            if (end - s < 2 || hex_value(s[0]) < 0 || hex_value(s[1]) < 0) {
                return SK_EINVAL;
            }
            c = (char)(hex_value(s[0]) * 16 + hex_value(s[1]));
            s += 2;
            if (c == '\0') {
                return SK_EINVAL;
            }
        }
        if (n + 1 >= size) {
            return SK_EINVAL;
        }
        dst[n++] = c;
    }
    dst[n] = '\0';
    return 0;
}

/* "user[:password]", split at the first ':'. */
static int parse_userinfo(const char *s, const char *end, struct sk_url *out)
{
    const char *colon = memchr(s, ':', (size_t)(end - s));
    int rc;

    out->has_userinfo = true;
    rc = percent_decode(out->user, sizeof(out->user), s, colon != NULL ? colon : end);
    if (rc == 0 && colon != NULL) {
        rc = percent_decode(out->password, sizeof(out->password), colon + 1, end);
    }
    return rc;
}

/* An IPv6 literal, from between the brackets. Zone ids are not supported. */
static int copy_ipv6(const char *s, const char *end, char *host)
{
    char text[IP_TEXT_MAX];
    unsigned char addr[16];
    size_t len = (size_t)(end - s);
    size_t i;

    if (len == 0 || len >= sizeof(text)) {
        return SK_EINVAL;
    }
    memcpy(text, s, len);
    text[len] = '\0';
    if (inet_pton(AF_INET6, text, addr) != 1) {
        return SK_EINVAL;
    }
    for (i = 0; i <= len; i++) {
        host[i] = ascii_lower(text[i]);
    }
    return 0;
}

/* A host name or IPv4 address: letters, digits, '-', '.', '_'. */
static int copy_name(const char *s, const char *end, char *host, size_t size)
{
    size_t len = (size_t)(end - s);
    size_t i;

    if (len == 0 || len >= size) {
        return SK_EINVAL;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_') {
            return SK_EINVAL;
        }
        host[i] = ascii_lower(c);
    }
    host[len] = '\0';
    return 0;
}

/* Digits for 1..65535; an empty port keeps the default (RFC 3986 3.2.3). */
static int parse_port(const char *s, const char *end, uint16_t *port)
{
    unsigned long v = 0;

    if (s == end) {
        return 0;
    }
    if (end - s > 5) {
        return SK_EINVAL;
    }
    for (; s < end; s++) {
        if (!is_digit(*s)) {
            return SK_EINVAL;
        }
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v == 0 || v > 65535) {
        return SK_EINVAL;
    }
    *port = (uint16_t)v;
    return 0;
}

static int parse_hostport(const char *s, const char *end, struct sk_url *out)
{
    const char *port = NULL;
    const char *close;
    const char *colon;
    int rc;

    if (s < end && *s == '[') {
        close = memchr(s, ']', (size_t)(end - s));
        if (close == NULL || (close + 1 < end && close[1] != ':')) {
            return SK_EINVAL;
        }
        rc = copy_ipv6(s + 1, close, out->host);
        port = close + 1 < end ? close + 2 : NULL;
    } else {
        colon = memchr(s, ':', (size_t)(end - s));
        rc = copy_name(s, colon != NULL ? colon : end, out->host, sizeof(out->host));
        port = colon != NULL ? colon + 1 : NULL;
    }
    if (rc == 0 && port != NULL) {
        rc = parse_port(port, end, &out->port);
    }
    return rc;
}

/* "[userinfo@]host[:port]": the last '@' ends the userinfo, so an
 * unescaped '@' in a password still works. */
static int parse_authority(const char *s, const char *end, struct sk_url *out)
{
    const char *at = NULL;
    const char *p;
    int rc;

    for (p = s; p < end; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    if (at != NULL) {
        rc = parse_userinfo(s, at, out);
        if (rc < 0) {
            return rc;
        }
        s = at + 1;
    }
    return parse_hostport(s, end, out);
}

static void set_target(struct sk_url *out, const char *rest)
{
    const char *hash = strchr(rest, '#');
    size_t len = hash != NULL ? (size_t)(hash - rest) : strlen(rest);

    if (len == 0) {
        out->target = "/";
        out->target_len = 1;
    } else {
        out->target = rest;
        out->target_len = len;
    }
}

int sk_url_parse(const char *url, struct sk_url *out)
{
    size_t slen;
    const char *auth;
    const char *auth_end;
    int rc;

    memset(out, 0, sizeof(*out));
    slen = scheme_length(url);
    if (has_bad_char(url) || slen == 0) {
        return SK_EINVAL;
    }
    if (equals_lower(url, slen, "https")) {
        out->tls = true;
        out->port = HTTPS_PORT;
    } else if (equals_lower(url, slen, "http")) {
        out->port = HTTP_PORT;
    } else {
        return SK_EUNSUPPORTED;
    }
    auth = url + slen + 3;
    auth_end = auth + strcspn(auth, "/?#");
    rc = parse_authority(auth, auth_end, out);
    if (rc == 0) {
        set_target(out, auth_end);
    }
    return rc;
}

int sk_url_parse_proxy(const char *proxy, struct sk_url *out)
{
    size_t slen;
    const char *auth = proxy;
    int rc;

    memset(out, 0, sizeof(*out));
    if (has_bad_char(proxy)) {
        return SK_EINVAL;
    }
    slen = scheme_length(proxy);
    if (slen > 0) {
        if (!equals_lower(proxy, slen, "http")) {
            return SK_EUNSUPPORTED; /* https and socks proxies are not implemented */
        }
        auth = proxy + slen + 3;
    }
    out->port = PROXY_PORT;
    rc = parse_authority(auth, auth + strcspn(auth, "/?#"), out);
    out->target = "/";
    out->target_len = 1;
    return rc;
}

/* The first of the names that is set (empty or not), or NULL. */
static const char *first_set(const char *const *names)
{
    for (; *names != NULL; names++) {
        if (getenv(*names) != NULL) {
            return *names;
        }
    }
    return NULL;
}

const char *sk_url_env_proxy_var(const struct sk_url *u)
{
    static const char *const for_http[] = { "http_proxy", "HTTP_PROXY", "all_proxy",
                                            "ALL_PROXY", NULL };
    static const char *const for_https[] = { "https_proxy", "HTTPS_PROXY", "all_proxy",
                                             "ALL_PROXY", NULL };
    static const char *const no_proxy[] = { "no_proxy", "NO_PROXY", NULL };
    const char *var = first_set(u->tls ? for_https : for_http);
    const char *exempt = first_set(no_proxy);

    if (var == NULL || getenv(var)[0] == '\0') {
        return NULL;
    }
    if (exempt != NULL && sk_url_no_proxy_match(getenv(exempt), u->host)) {
        return NULL;
    }
    return var;
}

const char *sk_url_env_proxy(const struct sk_url *u)
{
    const char *var = sk_url_env_proxy_var(u);

    return var != NULL ? getenv(var) : NULL;
}

/* ---- NO_PROXY ------------------------------------------------------- */

struct ip_addr {
    int family; /* AF_INET, AF_INET6, or 0: not an address */
    unsigned char bytes[16];
};

/* Parses [s, s + len) (brackets allowed around IPv6) as `family`, or as
 * either when family is 0. False when it is no address. */
static bool parse_ip(const char *s, size_t len, int family, struct ip_addr *out)
{
    char text[IP_TEXT_MAX];

    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(text)) {
        return false;
    }
    memcpy(text, s, len);
    text[len] = '\0';
    if ((family == 0 || family == AF_INET) && inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = AF_INET;
        return true;
    }
    if ((family == 0 || family == AF_INET6) && inet_pton(AF_INET6, text, out->bytes) == 1) {
        out->family = AF_INET6;
        return true;
    }
    return false;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned whole = bits / 8;
    unsigned rest = bits % 8;
    unsigned char mask;

    if (memcmp(a, b, whole) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    mask = (unsigned char)(0xff << (8 - rest));
    return ((a[whole] ^ b[whole]) & mask) == 0;
}

/* "addr" or "addr/bits" against an address host of the same family. */
static bool ip_entry_matches(const char *tok, size_t len, const struct ip_addr *host)
{
    const char *slash = memchr(tok, '/', len);
    unsigned max_bits = host->family == AF_INET ? 32 : 128;
    unsigned bits = max_bits;
    struct ip_addr net;
    const char *s;

    if (!parse_ip(tok, slash != NULL ? (size_t)(slash - tok) : len, host->family, &net)) {
        return false;
    }
    if (slash != NULL) {
        if (slash + 1 == tok + len || tok + len - slash > 4) {
            return false;
        }
        bits = 0;
        for (s = slash + 1; s < tok + len; s++) {
            if (!is_digit(*s)) {
                return false;
            }
            bits = bits * 10 + (unsigned)(*s - '0');
        }
        if (bits > max_bits) {
            return false;
        }
    }
    return prefix_equal(host->bytes, net.bytes, bits);
}

/* "example.com" (or ".example.com") matches example.com and its
 * subdomains, never notexample.com. */
static bool name_entry_matches(const char *tok, size_t len, const char *host, size_t hlen)
{
    const char *tail;
    size_t i;

    if (len > 0 && tok[0] == '.') {
        tok++;
        len--;
    }
    if (len > 0 && tok[len - 1] == '.') {
        len--;
    }
    if (len == 0 || len > hlen) {
        return false;
    }
    tail = host + hlen - len;
    if (len < hlen && tail[-1] != '.') {
        return false;
    }
    for (i = 0; i < len; i++) {
        if (ascii_lower(tail[i]) != ascii_lower(tok[i])) {
            return false;
        }
    }
    return true;
}

static bool is_separator(char c)
{
    return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool sk_url_no_proxy_match(const char *no_proxy, const char *host)
{
    size_t hlen;
    struct ip_addr addr = { 0 };
    bool is_ip;
    const char *s = no_proxy;

    if (no_proxy == NULL || host == NULL) {
        return false;
    }
    hlen = strlen(host);
    if (hlen > 0 && host[hlen - 1] == '.') {
        hlen--; /* "example.com." is example.com */
    }
    if (hlen == 0) {
        return false;
    }
    is_ip = parse_ip(host, hlen, 0, &addr);
    while (*s != '\0') {
        size_t len;

        while (is_separator(*s)) {
            s++;
        }
        len = 0;
        while (s[len] != '\0' && !is_separator(s[len])) {
            len++;
        }
        if (len == 1 && s[0] == '*') {
            return true;
        }
        if (len > 0 && (is_ip ? ip_entry_matches(s, len, &addr)
                              : name_entry_matches(s, len, host, hlen))) {
            return true;
        }
        s += len;
    }
    return false;
}

int sk_url_append_authority(struct sk_buf *out, const struct sk_url *u)
{
    uint16_t default_port = u->tls ? HTTPS_PORT : HTTP_PORT;
    int rc;

    if (strchr(u->host, ':') != NULL) {
        rc = sk_buf_printf(out, "[%s]", u->host);
    } else {
        rc = sk_buf_append_str(out, u->host);
    }
    if (rc == 0 && u->port != default_port) {
        rc = sk_buf_printf(out, ":%u", (unsigned)u->port);
    }
    return rc;
}

int sk_url_append_target(struct sk_buf *out, const struct sk_url *u)
{
    int rc = 0;

    if (u->target[0] != '/') {
        rc = sk_buf_putc(out, '/');
    }
    if (rc == 0) {
        rc = sk_buf_append(out, u->target, u->target_len);
    }
    return rc;
}
