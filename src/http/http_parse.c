#include "http/http_parse.h"

#include <limits.h>
#include <string.h>

#include "http/http_chars.h"
#include "util/err.h"

/*
 * The parser is a loop over small steps, each consuming at least one byte:
 * a line (status, header, chunk size, trailer) gathered with memchr, or a
 * run of body bytes appended in one piece. Lines that arrive whole are
 * parsed in place; only a line split across feeds is copied into p->line.
 */

/* Bytes of the status line and header section (interim 1xx responses
 * included), of one chunk-size line, and of the trailer section. */
#define HEADER_MAX (64 * 1024)

enum framing {
    FRAMING_NONE,    /* no body: HEAD, 204, 304 */
    FRAMING_LENGTH,  /* Content-Length */
    FRAMING_CHUNKED, /* Transfer-Encoding: ..., chunked */
    FRAMING_CLOSE    /* until the peer closes */
};

enum chunk_state {
    CHUNK_SIZE,     /* hex size [;ext] CRLF */
    CHUNK_DATA,     /* `remaining` bytes of data */
    CHUNK_DATA_END, /* the CRLF (or LF) after the data */
    CHUNK_DATA_LF,  /* its LF, after a CR */
    CHUNK_TRAILER   /* trailer lines up to an empty one */
};

/* RFC 9110 tchar: what a header name may hold. */
static bool is_tchar(char c)
{
    if (is_alpha(c) || is_digit(c)) {
        return true;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **start, const char **end)
{
    while (*start < *end && is_space(**start)) {
        (*start)++;
    }
    while (*end > *start && is_space((*end)[-1])) {
        (*end)--;
    }
}

/* Steps through a comma-separated list: the next non-empty element,
 * trimmed. False at the end of the list. */
static bool next_element(const char **pos, const char *end, const char **elem, size_t *elen)
{
    const char *s = *pos;

    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *a = s;
        const char *b = comma != NULL ? comma : end;

        trim(&a, &b);
        s = comma != NULL ? comma + 1 : end;
        if (a < b) {
            *elem = a;
            *elen = (size_t)(b - a);
            *pos = s;
            return true;
        }
    }
    *pos = end;
    return false;
}

static int parse_decimal(const char *s, size_t len, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;

    if (len == 0) {
        return SK_EPROTO;
    }
    for (i = 0; i < len; i++) {
        unsigned long long digit = (unsigned long long)(s[i] - '0');

        if (!is_digit(s[i]) || v > (ULLONG_MAX - digit) / 10) {
            return SK_EPROTO;
        }
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

/* The results and framing facts of one response; a 1xx's are forgotten. */
static void reset_response(struct sk_http_parser *p)
{
    p->status = 0;
    p->minor = 0;
    p->keep_alive = false;
    p->retry_after[0] = '\0';
    p->content_type[0] = '\0';
    p->framing = FRAMING_NONE;
    p->remaining = 0;
    p->saw_length = false;
    p->content_length = 0;
    p->saw_te = false;
    p->te_chunked = false;
    p->conn_close = false;
    p->conn_keep_alive = false;
}

void sk_http_parser_init(struct sk_http_parser *p, struct sk_buf *body, bool head)
{
    memset(p, 0, sizeof(*p));
    p->body = body;
    p->head = head;
    sk_buf_init(&p->line, HEADER_MAX);
    p->state = SK_HTTP_PARSE_STATUS;
    p->chunk_state = CHUNK_SIZE;
    reset_response(p);
}

void sk_http_parser_cleanup(struct sk_http_parser *p)
{
    sk_buf_cleanup(&p->line);
}

/*
 * Gathers the next line. Returns 1 when one is complete, with *line and *len
 * set (its CRLF or bare LF removed; it points into `data` or into p->line,
 * valid until p->line is reset); 0 when the input ran out first (the piece
 * is kept in p->line); or an error. *used: bytes consumed. Every line byte
 * counts against HEADER_MAX, so a peer cannot make skiff buffer forever.
 */
static int take_line(struct sk_http_parser *p, const char *data, size_t n, size_t *used,
                     const char **line, size_t *len)
{
    const char *lf = memchr(data, '\n', n);
    size_t take = lf != NULL ? (size_t)(lf - data) + 1 : n;
    int rc;

    if (take > HEADER_MAX - p->header_bytes) {
        return SK_ETOOBIG;
    }
    p->header_bytes += take;
    *used = take;
    if (lf == NULL) {
        return sk_buf_append(&p->line, data, n);
    }
    if (p->line.len == 0) {
        *line = data;
        *len = take - 1;
    } else {
        rc = sk_buf_append(&p->line, data, take - 1);
        if (rc < 0) {
            return rc;
        }
        *line = p->line.data;
        *len = p->line.len;
    }
    if (*len > 0 && (*line)[*len - 1] == '\r') {
        (*len)--;
    }
    /* A CR or NUL inside a line is how responses get split or smuggled. */
    if (memchr(*line, '\r', *len) != NULL || memchr(*line, '\0', *len) != NULL) {
        return SK_EPROTO;
    }
    return 1;
}

/* "HTTP/1.x NNN[ reason]" */
static int parse_status_line(struct sk_http_parser *p, const char *s, size_t len)
{
    static const char prefix[] = "HTTP/1.";
    const size_t plen = sizeof(prefix) - 1;
    const char *code = s + plen + 2;

    reset_response(p);
    if (len < plen + 5 || memcmp(s, prefix, plen) != 0) {
        return SK_EPROTO;
    }
    if ((s[plen] != '0' && s[plen] != '1') || s[plen + 1] != ' ') {
        return SK_EPROTO;
    }
    if (code[0] < '1' || code[0] > '9' || !is_digit(code[1]) || !is_digit(code[2])) {
        return SK_EPROTO;
    }
    if (len > plen + 5 && code[3] != ' ') {
        return SK_EPROTO;
    }
    p->minor = s[plen] - '0';
    p->status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (p->status == 101) {
        return SK_EPROTO; /* skiff never asks to switch protocols */
    }
    p->state = SK_HTTP_PARSE_HEADERS;
    return 0;
}

/* Repeated values (in one field or several) must agree. */
static int on_content_length(struct sk_http_parser *p, const char *v, const char *end)
{
    const char *elem;
    size_t elen;
    unsigned long long value;
    bool any = false;

    while (next_element(&v, end, &elem, &elen)) {
        if (parse_decimal(elem, elen, &value) < 0) {
            return SK_EPROTO;
        }
        if (p->saw_length && value != p->content_length) {
            return SK_EPROTO;
        }
        p->saw_length = true;
        p->content_length = value;
        any = true;
    }
    return any ? 0 : SK_EPROTO;
}

/* Only the last coding matters for framing (RFC 9112 6.3). */
static void on_transfer_encoding(struct sk_http_parser *p, const char *v, const char *end)
{
    const char *elem;
    size_t elen;

    while (next_element(&v, end, &elem, &elen)) {
        const char *semi = memchr(elem, ';', elen);
        const char *coding_end = semi != NULL ? semi : elem + elen;

        trim(&elem, &coding_end);
        p->saw_te = true;
        p->te_chunked = equals_lower(elem, (size_t)(coding_end - elem), "chunked");
    }
}

static void on_connection(struct sk_http_parser *p, const char *v, const char *end)
{
    const char *elem;
    size_t elen;

    while (next_element(&v, end, &elem, &elen)) {
        if (equals_lower(elem, elen, "close")) {
            p->conn_close = true;
        } else if (equals_lower(elem, elen, "keep-alive")) {
            p->conn_keep_alive = true;
        }
    }
}

static void copy_value(char *dst, size_t size, const char *v, const char *end)
{
    size_t len = (size_t)(end - v);

    if (len > size - 1) {
        len = size - 1;
    }
    memcpy(dst, v, len);
    dst[len] = '\0';
}

/* "Name: value". A line starting with a space (obsolete folding) fails the
 * name check. */
static int parse_header_line(struct sk_http_parser *p, const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    const char *v;
    const char *end = s + len;
    size_t nlen;
    size_t i;

    if (colon == NULL || colon == s) {
        return SK_EPROTO;
    }
    nlen = (size_t)(colon - s);
    for (i = 0; i < nlen; i++) {
        if (!is_tchar(s[i])) {
            return SK_EPROTO;
        }
    }
    v = colon + 1;
    trim(&v, &end);
    if (equals_lower(s, nlen, "content-length")) {
        return on_content_length(p, v, end);
    }
    if (equals_lower(s, nlen, "transfer-encoding")) {
        on_transfer_encoding(p, v, end);
    } else if (equals_lower(s, nlen, "connection")) {
        on_connection(p, v, end);
    } else if (equals_lower(s, nlen, "retry-after")) {
        copy_value(p->retry_after, sizeof(p->retry_after), v, end);
    } else if (equals_lower(s, nlen, "content-type")) {
        copy_value(p->content_type, sizeof(p->content_type), v, end);
    }
    return 0;
}

static bool wants_keep_alive(const struct sk_http_parser *p)
{
    bool alive = p->minor == 1 ? !p->conn_close : p->conn_keep_alive && !p->conn_close;

    /* Transfer-Encoding in HTTP/1.0, or beside Content-Length, means the
     * framing is suspect (RFC 9112 6.1, 6.3): use it once, then close. */
    if (p->saw_te && (p->minor == 0 || p->saw_length)) {
        alive = false;
    }
    return alive;
}

static int start_length_body(struct sk_http_parser *p)
{
    struct sk_buf *body = p->body;

    if (p->content_length == 0) {
        p->state = SK_HTTP_PARSE_DONE;
        return 0;
    }
    if (p->content_length > body->max - body->len) {
        return SK_ETOOBIG;
    }
    p->remaining = p->content_length;
    /* One allocation for the whole body, not a doubling series. */
    return sk_buf_reserve(body, (size_t)p->content_length);
}

/* The empty line after the headers: skip an interim response, or choose
 * how the body is framed (RFC 9112 6.3). */
static int end_of_headers(struct sk_http_parser *p)
{
    if (p->status < 200) {
        reset_response(p);
        p->state = SK_HTTP_PARSE_STATUS;
        return 0;
    }
    p->keep_alive = wants_keep_alive(p);
    p->state = SK_HTTP_PARSE_BODY;
    p->header_bytes = 0;
    if (p->head || p->status == 204 || p->status == 304) {
        p->framing = FRAMING_NONE;
        p->state = SK_HTTP_PARSE_DONE;
        return 0;
    }
    if (p->saw_te && p->te_chunked) {
        p->framing = FRAMING_CHUNKED;
        p->chunk_state = CHUNK_SIZE;
        return 0;
    }
    if (!p->saw_te && p->saw_length) {
        p->framing = FRAMING_LENGTH;
        return start_length_body(p);
    }
    p->framing = FRAMING_CLOSE;
    p->keep_alive = false;
    return 0;
}

static ssize_t feed_head(struct sk_http_parser *p, const char *data, size_t n)
{
    const char *line = NULL;
    size_t len = 0;
    size_t used = 0;
    int rc = take_line(p, data, n, &used, &line, &len);

    if (rc == 1) {
        if (p->state == SK_HTTP_PARSE_STATUS) {
            rc = parse_status_line(p, line, len);
        } else if (len == 0) {
            rc = end_of_headers(p);
        } else {
            rc = parse_header_line(p, line, len);
        }
        sk_buf_reset(&p->line);
    }
    return rc < 0 ? rc : (ssize_t)used;
}

/* hex-size [BWS ";" extension] */
static int parse_chunk_size(const char *s, size_t len, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i = 0;

    while (i < len && hex_value(s[i]) >= 0) {
        if (v > ULLONG_MAX >> 4) {
            return SK_EPROTO;
        }
        v = (v << 4) | (unsigned long long)hex_value(s[i]);
        i++;
    }
    if (i == 0) {
        return SK_EPROTO;
    }
    while (i < len && is_space(s[i])) {
        i++;
    }
    if (i < len && s[i] != ';') {
        return SK_EPROTO;
    }
    *out = v;
    return 0;
}

static int on_chunk_size(struct sk_http_parser *p, const char *line, size_t len)
{
    struct sk_buf *body = p->body;
    unsigned long long size;

    if (parse_chunk_size(line, len, &size) < 0) {
        return SK_EPROTO;
    }
    p->header_bytes = 0; /* each chunk-size line, and the trailers, get the budget */
    if (size == 0) {
        p->chunk_state = CHUNK_TRAILER;
        return 0;
    }
    if (size > body->max - body->len) {
        return SK_ETOOBIG;
    }
    p->remaining = size;
    p->chunk_state = CHUNK_DATA;
    return sk_buf_reserve(body, (size_t)size);
}

static ssize_t feed_chunk_line(struct sk_http_parser *p, const char *data, size_t n)
{
    const char *line = NULL;
    size_t len = 0;
    size_t used = 0;
    int rc = take_line(p, data, n, &used, &line, &len);

    if (rc == 1) {
        if (p->chunk_state == CHUNK_SIZE) {
            rc = on_chunk_size(p, line, len);
        } else if (len == 0) {
            p->state = SK_HTTP_PARSE_DONE; /* trailer fields are ignored */
        }
        sk_buf_reset(&p->line);
    }
    return rc < 0 ? rc : (ssize_t)used;
}

/* Appends up to `remaining` bytes; returns how many, or an error. */
static ssize_t append_counted(struct sk_http_parser *p, const char *data, size_t n)
{
    size_t take = n < p->remaining ? n : (size_t)p->remaining;
    int rc = sk_buf_append(p->body, data, take);

    if (rc < 0) {
        return rc;
    }
    p->remaining -= take;
    return (ssize_t)take;
}

static ssize_t feed_chunked(struct sk_http_parser *p, const char *data, size_t n)
{
    ssize_t used;

    switch (p->chunk_state) {
    case CHUNK_DATA:
        used = append_counted(p, data, n);
        if (used > 0 && p->remaining == 0) {
            p->chunk_state = CHUNK_DATA_END;
        }
        return used;
    case CHUNK_DATA_END:
        if (data[0] != '\r' && data[0] != '\n') {
            return SK_EPROTO;
        }
        p->chunk_state = data[0] == '\r' ? CHUNK_DATA_LF : CHUNK_SIZE;
        return 1;
    case CHUNK_DATA_LF:
        if (data[0] != '\n') {
            return SK_EPROTO;
        }
        p->chunk_state = CHUNK_SIZE;
        return 1;
    default:
        return feed_chunk_line(p, data, n);
    }
}

static ssize_t feed_body(struct sk_http_parser *p, const char *data, size_t n)
{
    ssize_t used;
    int rc;

    switch (p->framing) {
    case FRAMING_CHUNKED:
        return feed_chunked(p, data, n);
    case FRAMING_LENGTH:
        used = append_counted(p, data, n);
        if (used > 0 && p->remaining == 0) {
            p->state = SK_HTTP_PARSE_DONE;
        }
        return used;
    default:
        rc = sk_buf_append(p->body, data, n);
        return rc < 0 ? rc : (ssize_t)n;
    }
}

ssize_t sk_http_parser_feed(struct sk_http_parser *p, const char *data, size_t n)
{
    size_t used = 0;
    ssize_t step;

    if (p->error != 0) {
        return p->error;
    }
    while (used < n && p->state != SK_HTTP_PARSE_DONE) {
        if (p->state == SK_HTTP_PARSE_BODY) {
            step = feed_body(p, data + used, n - used);
        } else {
            step = feed_head(p, data + used, n - used);
        }
        if (step < 0) {
            p->error = (int)step;
            return step;
        }
        used += (size_t)step;
    }
    return (ssize_t)used;
}

int sk_http_parser_eof(struct sk_http_parser *p)
{
    if (p->error != 0) {
        return p->error;
    }
    if (p->state == SK_HTTP_PARSE_BODY && p->framing == FRAMING_CLOSE) {
        p->state = SK_HTTP_PARSE_DONE;
    }
    if (p->state != SK_HTTP_PARSE_DONE) {
        p->error = SK_EPROTO;
    }
    return p->error;
}
