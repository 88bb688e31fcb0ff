/*
 * The bytes of a request head: request line (origin-form, or absolute-form
 * through a proxy), Host, basic authorisation, the caller's headers and
 * Content-Length. Also the CONNECT request that opens a proxy tunnel.
 */
#include <string.h>
#include <strings.h>

#include "http/http_int.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int append_base64(struct sk_buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    char quad[4];
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i += 3) {
        unsigned v = (unsigned)p[i] << 16;

        v |= i + 1 < n ? (unsigned)p[i + 1] << 8 : 0;
        v |= i + 2 < n ? (unsigned)p[i + 2] : 0;
        quad[0] = b64_alphabet[(v >> 18) & 63];
        quad[1] = b64_alphabet[(v >> 12) & 63];
        quad[2] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? b64_alphabet[v & 63] : '=';
        rc = sk_buf_append(out, quad, 4);
    }
    return rc;
}

static int append_basic(struct sk_buf *out, const char *name, const char *user,
                        const char *password)
{
    struct sk_buf cred;
    int rc;

    sk_buf_init(&cred, 4096);
    rc = sk_buf_printf(&cred, "%s:%s", user, password != NULL ? password : "");
    if (rc == 0) {
        rc = sk_buf_printf(out, "%s: Basic ", name);
    }
    if (rc == 0) {
        rc = append_base64(out, cred.data, cred.len);
    }
    if (rc == 0) {
        rc = sk_buf_append(out, "\r\n", 2);
    }
    /* The credentials do not linger in freed memory. */
    if (cred.data != NULL) {
        memset(cred.data, 0, cred.len);
    }
    sk_buf_cleanup(&cred);
    return rc;
}

static bool has_header(const struct sk_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* A header value with a line break would let one header smuggle another. */
static bool header_ok(const struct sk_http_header *hd)
{
    return strpbrk(hd->name, "\r\n:") == NULL && strpbrk(hd->value, "\r\n") == NULL;
}

static int append_request_line(struct sk_buf *out, const struct http_req *r, const char *method)
{
    int rc = sk_buf_printf(out, "%s ", method);

    if (rc == 0 && r->use_proxy && !r->tunnel) {
        rc = sk_buf_append_str(out, "http://");
        if (rc == 0) {
            rc = sk_url_append_authority(out, &r->url);
        }
    }
    if (rc == 0) {
        rc = sk_url_append_target(out, &r->url);
    }
    if (rc == 0) {
        rc = sk_buf_append_str(out, " HTTP/1.1\r\n");
    }
    return rc;
}

int http_req_build_head(struct http_req *r, const struct sk_http_request *req)
{
    struct sk_buf *out = &r->head;
    int rc = append_request_line(out, r, req->method);

    if (rc == 0 && !has_header(req, "Host")) {
        rc = sk_buf_append_str(out, "Host: ");
        if (rc == 0) {
            rc = sk_url_append_authority(out, &r->url);
        }
        if (rc == 0) {
            rc = sk_buf_append(out, "\r\n", 2);
        }
    }
    if (rc == 0 && req->user != NULL) {
        rc = append_basic(out, "Authorization", req->user, req->password);
    } else if (rc == 0 && r->url.has_userinfo) {
        rc = append_basic(out, "Authorization", r->url.user, r->url.password);
    }
    if (rc == 0 && r->use_proxy && !r->tunnel && r->proxy.has_userinfo) {
        rc = append_basic(out, "Proxy-Authorization", r->proxy.user, r->proxy.password);
    }
    for (size_t i = 0; i < req->nheaders && rc == 0; i++) {
        if (!header_ok(&req->headers[i])) {
            return SK_EINVAL;
        }
        rc = sk_buf_printf(out, "%s: %s\r\n", req->headers[i].name, req->headers[i].value);
    }
    if (rc == 0 && !r->head_method && (strcmp(req->method, "GET") != 0 || req->body_len > 0) &&
        !has_header(req, "Content-Length")) {
        rc = sk_buf_printf(out, "Content-Length: %zu\r\n", req->body_len);
    }
    if (rc == 0) {
        rc = sk_buf_append(out, "\r\n", 2);
    }
    return rc;
}

int http_tunnel_build(struct sk_buf *out, const struct http_req *r)
{
    struct sk_buf authority;
    int rc;

    sk_buf_init(&authority, 512);
    rc = sk_url_append_authority(&authority, &r->url);
    /* CONNECT always names the port, even the scheme's default. */
    if (rc == 0 && strchr(authority.data[0] == '[' ? strchr(authority.data, ']') : authority.data,
                          ':') == NULL) {
        rc = sk_buf_printf(&authority, ":%u", (unsigned)r->url.port);
    }
    if (rc == 0) {
        rc = sk_buf_printf(out, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", authority.data,
                           authority.data);
    }
    if (rc == 0 && r->proxy.has_userinfo) {
        rc = append_basic(out, "Proxy-Authorization", r->proxy.user, r->proxy.password);
    }
    if (rc == 0) {
        rc = sk_buf_append(out, "\r\n", 2);
    }
    sk_buf_cleanup(&authority);
    return rc;
}
