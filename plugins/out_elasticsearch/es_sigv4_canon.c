/*
 * SigV4 canonical request: path, query and header canonical forms.
 * The rules are summed up in es_sigv4.h.
 */
#include "out_elasticsearch/es_sigv4_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

static const char hex_upper[] = "0123456789ABCDEF";

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Ends a line appended by a call that returned `rc`. */
static int end_line(int rc, struct sk_buf *out)
{
    return rc < 0 ? rc : sk_buf_putc(out, '\n');
}

/* Appends `len` bytes of `s`, unreserved bytes as they are and every other
 * byte as %XX. */
static int append_encoded(struct sk_buf *out, const char *s, size_t len)
{
    char esc[3];
    size_t i;
    int rc;

    rc = sk_buf_reserve(out, len);
    for (i = 0; i < len && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];

        if (is_unreserved(c)) {
            rc = sk_buf_putc(out, (char)c);
        } else {
            esc[0] = '%';
            esc[1] = hex_upper[c >> 4];
            esc[2] = hex_upper[c & 0x0f];
            rc = sk_buf_append(out, esc, sizeof(esc));
        }
    }
    return rc;
}

static int path_is_valid(const char *path)
{
    const unsigned char *p;

    if (path == NULL || path[0] != '/') {
        return 0;
    }
    for (p = (const unsigned char *)path; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '?' || *p == '#') {
            return 0;
        }
    }
    return 1;
}

/* Drops the last "/segment" appended after offset `base`. */
static void pop_segment(struct sk_buf *out, size_t base)
{
    size_t i = out->len;

    while (i > base && out->data[i - 1] != '/') {
        i--;
    }
    if (i > base) {
        i--; /* the '/' itself */
    }
    out->len = i;
    if (out->data != NULL) {
        out->data[i] = '\0';
    }
}

/*
 * Removes empty, "." and ".." segments as botocore and the AWS SDKs do
 * (RFC 3986 dot removal plus "//" collapsing); a trailing '/' survives.
 * Encoded segments hold no '/', so ".." can pop straight from the output.
 */
static int append_normalized(const char *path, struct sk_buf *out)
{
    size_t base = out->len;
    const char *seg = path;
    int rc = 0;

    while (*seg != '\0' && rc == 0) {
        const char *end;
        size_t len;

        while (*seg == '/') {
            seg++;
        }
        end = strchr(seg, '/');
        len = end != NULL ? (size_t)(end - seg) : strlen(seg);
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            pop_segment(out, base);
        } else if (len > 0 && !(len == 1 && seg[0] == '.')) {
            rc = sk_buf_putc(out, '/');
            if (rc == 0) {
                rc = append_encoded(out, seg, len);
            }
        }
        seg += len;
    }
    if (rc == 0 && (out->len == base || path[strlen(path) - 1] == '/')) {
        rc = sk_buf_putc(out, '/');
    }
    return rc;
}

int es_sigv4_canonical_path(const char *path, unsigned flags, struct sk_buf *out)
{
    const char *p;
    int rc = 0;

    if (!path_is_valid(path)) {
        return SK_EINVAL;
    }
    if (!(flags & ES_SIGV4_NO_NORMALIZE)) {
        return append_normalized(path, out);
    }
    /* Unnormalised: only the bytes between the slashes are encoded. */
    for (p = path; *p != '\0' && rc == 0; p++) {
        rc = *p == '/' ? sk_buf_putc(out, '/') : append_encoded(out, p, 1);
    }
    return rc;
}

struct query_param {
    size_t name_off, name_len; /* in the scratch buffer, encoded */
    size_t value_off, value_len;
    const char *base; /* scratch data, set once it stops moving */
};

/* Appends `len` wire bytes of a query name or value in canonical form:
 * %XX escapes decoded, then everything re-encoded. */
static int append_requoted(struct sk_buf *out, const char *s, size_t len)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < len && rc == 0; i++) {
        char c = s[i];

        if (c == '%') {
            int hi = i + 2 < len ? hex_value((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value((unsigned char)s[i + 2]) : -1;

            if (lo < 0) {
                return SK_EINVAL;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        rc = append_encoded(out, &c, 1);
    }
    return rc;
}

static int compare_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : alen > blen;
}

static int compare_params(const void *x, const void *y)
{
    const struct query_param *a = x;
    const struct query_param *b = y;
    int c = compare_bytes(a->base + a->name_off, a->name_len, b->base + b->name_off,
                          b->name_len);

    if (c != 0) {
        return c;
    }
    return compare_bytes(a->base + a->value_off, a->value_len, b->base + b->value_off,
                         b->value_len);
}

/* Splits `query` into params, encoded into `scratch`. Returns the count. */
static int split_query(const char *query, struct query_param *params, struct sk_buf *scratch,
                       size_t *count)
{
    const char *item = query;
    size_t n = 0;
    int rc = 0;

    while (rc == 0 && *item != '\0') {
        size_t len = strcspn(item, "&");
        const char *eq = memchr(item, '=', len);
        size_t name_len = eq != NULL ? (size_t)(eq - item) : len;

        if (len > 0) {
            params[n].name_off = scratch->len;
            rc = append_requoted(scratch, item, name_len);
            params[n].name_len = scratch->len - params[n].name_off;
            params[n].value_off = scratch->len;
            if (rc == 0 && eq != NULL) {
                rc = append_requoted(scratch, eq + 1, len - name_len - 1);
            }
            params[n].value_len = scratch->len - params[n].value_off;
            n++;
        }
        item += len;
        if (*item == '&') {
            item++;
        }
    }
    *count = n;
    return rc;
}

int es_sigv4_canonical_query(const char *query, struct sk_buf *out)
{
    struct query_param *params = NULL;
    struct sk_buf scratch;
    size_t max = 1;
    size_t n = 0;
    size_t i;
    int rc;

    if (query == NULL || query[0] == '\0') {
        return 0;
    }
    for (i = 0; query[i] != '\0'; i++) {
        max += query[i] == '&';
    }
    sk_buf_init(&scratch, out->max);
    params = sk_calloc(max, sizeof(*params));
    rc = params != NULL ? split_query(query, params, &scratch, &n) : SK_ENOMEM;
    if (rc < 0) {
        goto out;
    }
    for (i = 0; i < n; i++) {
        params[i].base = scratch.data;
    }
    qsort(params, n, sizeof(*params), compare_params);
    for (i = 0; i < n && rc == 0; i++) {
        if (i > 0) {
            rc = sk_buf_putc(out, '&');
        }
        if (rc == 0) {
            rc = sk_buf_append(out, scratch.data + params[i].name_off, params[i].name_len);
        }
        if (rc == 0) {
            rc = sk_buf_putc(out, '=');
        }
        if (rc == 0) {
            rc = sk_buf_append(out, scratch.data + params[i].value_off, params[i].value_len);
        }
    }
out:
    sk_free(params);
    sk_buf_cleanup(&scratch);
    return rc;
}

/* Headers never signed: hop-by-hop ones, and ones that clients, proxies
 * and load balancers add or rewrite (the AWS SDKs' lists, merged). */
static const char *const unsigned_headers[] = {
    "connection", "expect",           "keep-alive", "proxy-authorization", "proxy-connection",
    "te",         "trailer",          "transfer-encoding", "upgrade",      "user-agent",
    "x-amzn-trace-id",
};

static int name_equals(const char *a, const char *lower_b)
{
    for (; *a != '\0' && *lower_b != '\0'; a++, lower_b++) {
        if (lower((unsigned char)*a) != (unsigned char)*lower_b) {
            return 0;
        }
    }
    return *a == *lower_b;
}

static int header_is_signed(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(unsigned_headers) / sizeof(unsigned_headers[0]); i++) {
        if (name_equals(name, unsigned_headers[i])) {
            return 0;
        }
    }
    return 1;
}

/* RFC 9110 token characters. */
static int is_tchar(unsigned char c)
{
    return is_unreserved(c) || (c != '\0' && strchr("!#$%&'*+^`|", c) != NULL);
}

static int header_is_valid(const struct es_sigv4_header *h)
{
    const char *p;

    if (h->name == NULL || h->name[0] == '\0' || h->value == NULL) {
        return 0;
    }
    for (p = h->name; *p != '\0'; p++) {
        if (!is_tchar((unsigned char)*p)) {
            return 0;
        }
    }
    return strpbrk(h->value, "\r\n") == NULL;
}

struct canon_header {
    const struct es_sigv4_header *h;
    size_t order; /* input position: keeps repeated names in sent order */
};

static int compare_names(const char *a, const char *b)
{
    for (; *a != '\0' && lower((unsigned char)*a) == lower((unsigned char)*b); a++, b++) {
    }
    return (int)lower((unsigned char)*a) - (int)lower((unsigned char)*b);
}

static int compare_headers(const void *x, const void *y)
{
    const struct canon_header *a = x;
    const struct canon_header *b = y;
    int c = compare_names(a->h->name, b->h->name);

    if (c != 0) {
        return c;
    }
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Appends `value` trimmed, each inner run of blanks as one space. */
static int append_trimmed(struct sk_buf *out, const char *value)
{
    const char *p = value;
    int rc = 0;

    while (is_blank(*p)) {
        p++;
    }
    while (*p != '\0' && rc == 0) {
        if (is_blank(*p)) {
            while (is_blank(*p)) {
                p++;
            }
            if (*p != '\0') {
                rc = sk_buf_putc(out, ' ');
            }
        } else {
            rc = sk_buf_putc(out, *p++);
        }
    }
    return rc;
}

static int append_lower(struct sk_buf *out, const char *s)
{
    int rc = 0;

    for (; *s != '\0' && rc == 0; s++) {
        rc = sk_buf_putc(out, (char)lower((unsigned char)*s));
    }
    return rc;
}

/* Collects the headers to sign from both lists; SK_EINVAL if one is bad
 * or Host is missing. */
static int collect_headers(const struct es_sigv4_request *req, const struct es_sigv4_header *extra,
                           size_t nextra, struct canon_header *hs, size_t *count)
{
    size_t n = 0;
    size_t i;
    int host = 0;

    for (i = 0; i < req->nheaders + nextra; i++) {
        const struct es_sigv4_header *h =
            i < req->nheaders ? &req->headers[i] : &extra[i - req->nheaders];

        if (!header_is_valid(h)) {
            return SK_EINVAL;
        }
        host |= name_equals(h->name, "host");
        if (header_is_signed(h->name)) {
            hs[n].h = h;
            hs[n].order = i;
            n++;
        }
    }
    *count = n;
    return host ? 0 : SK_EINVAL;
}

/* Appends the "name:v1,v2\n" lines and the "name;name" list. */
static int append_headers(const struct canon_header *hs, size_t n, struct sk_buf *creq,
                          struct sk_buf *signed_headers)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        int repeat = i > 0 && compare_names(hs[i - 1].h->name, hs[i].h->name) == 0;

        if (repeat) {
            rc = sk_buf_putc(creq, ',');
        } else {
            if (i > 0) {
                rc = sk_buf_putc(creq, '\n');
                if (rc == 0) {
                    rc = sk_buf_putc(signed_headers, ';');
                }
            }
            if (rc == 0) {
                rc = append_lower(creq, hs[i].h->name);
            }
            if (rc == 0) {
                rc = append_lower(signed_headers, hs[i].h->name);
            }
            if (rc == 0) {
                rc = sk_buf_putc(creq, ':');
            }
        }
        if (rc == 0) {
            rc = append_trimmed(creq, hs[i].h->value);
        }
    }
    return end_line(rc, creq);
}

int es_sigv4_canonical_request(const struct es_sigv4_request *req,
                               const struct es_sigv4_header *extra, size_t nextra,
                               unsigned flags, const char *payload_hash, struct sk_buf *creq,
                               struct sk_buf *signed_headers)
{
    struct canon_header *hs = NULL;
    size_t list_start = signed_headers->len;
    size_t n = 0;
    int rc;

    if (req == NULL || req->method == NULL || req->method[0] == '\0' || payload_hash == NULL ||
        (req->headers == NULL && req->nheaders > 0) || (extra == NULL && nextra > 0) ||
        strpbrk(req->method, " \t\r\n") != NULL) {
        return SK_EINVAL;
    }
    hs = sk_calloc(req->nheaders + nextra, sizeof(*hs));
    if (hs == NULL) {
        return SK_ENOMEM;
    }
    rc = collect_headers(req, extra, nextra, hs, &n);
    if (rc < 0) {
        goto out;
    }
    /* qsort is not stable; `order` breaks ties so "a:1,2" keeps sent order. */
    qsort(hs, n, sizeof(*hs), compare_headers);
    rc = end_line(sk_buf_append_str(creq, req->method), creq);
    if (rc < 0) {
        goto out;
    }
    rc = end_line(es_sigv4_canonical_path(req->path, flags, creq), creq);
    if (rc < 0) {
        goto out;
    }
    rc = end_line(es_sigv4_canonical_query(req->query, creq), creq);
    if (rc < 0) {
        goto out;
    }
    /* Each header line ends in '\n'; one more makes the blank line. */
    rc = end_line(append_headers(hs, n, creq, signed_headers), creq);
    if (rc < 0) {
        goto out;
    }
    rc = sk_buf_append(creq, signed_headers->data + list_start, signed_headers->len - list_start);
    if (rc == 0) {
        rc = sk_buf_printf(creq, "\n%s", payload_hash);
    }
out:
    sk_free(hs);
    return rc;
}
