#include "sink_http.h"

#include <string.h>
#include <strings.h>

#include "bench_util.h"

static int header_is(const char *name, size_t nlen, const char *want)
{
    return nlen == strlen(want) && strncasecmp(name, want, nlen) == 0;
}

static int value_has(const char *v, size_t vlen, const char *token)
{
    size_t tl = strlen(token);
    for (size_t i = 0; i + tl <= vlen; i++) {
        if (strncasecmp(v + i, token, tl) == 0) {
            return 1;
        }
    }
    return 0;
}

int sink_http_parse_headers(struct sink_req *c, const char *data, size_t hdr_len)
{
    const char *p = data;
    const char *end = p + hdr_len;
    const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    /* Request line: METHOD SP TARGET SP VERSION */
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (sp2 == NULL || sp1 == p || sp2 == sp1 + 1 || sp1[1] != '/') {
        return -1;
    }
    c->method_len = (size_t)(sp1 - p);
    c->target_off = (size_t)(sp1 + 1 - p);
    c->target_len = (size_t)(sp2 - sp1 - 1);
    c->keep_alive = (size_t)(eol - sp2) == 9 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0;
    c->content_length = 0;
    c->chunked = c->gzip = c->expect_continue = 0;
    for (p = eol + 2; p < end - 2; p = eol + 2) {
        eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL) {
            return -1;
        }
        size_t nlen = (size_t)(colon - p);
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t')) {
            v++;
        }
        size_t vlen = (size_t)(eol - v);
        if (header_is(p, nlen, "content-length")) {
            char num[24];
            if (vlen == 0 || vlen >= sizeof(num)) {
                return -1;
            }
            memcpy(num, v, vlen);
            num[vlen] = '\0';
            if (bench_parse_u64(num, 0, &c->content_length) != 0) {
                return -1;
            }
        } else if (header_is(p, nlen, "transfer-encoding")) {
            c->chunked = value_has(v, vlen, "chunked");
        } else if (header_is(p, nlen, "content-encoding")) {
            c->gzip = value_has(v, vlen, "gzip") || value_has(v, vlen, "deflate");
        } else if (header_is(p, nlen, "connection")) {
            if (value_has(v, vlen, "close")) {
                c->keep_alive = 0;
            } else if (value_has(v, vlen, "keep-alive")) {
                c->keep_alive = 1;
            }
        } else if (header_is(p, nlen, "expect")) {
            c->expect_continue = value_has(v, vlen, "100-continue");
        }
    }
    c->hdr_len = hdr_len;
    c->ck = SINK_CK_SIZE;
    c->ck_rd = c->ck_wr = hdr_len;
    c->req_end = hdr_len + (size_t)c->content_length;
    return 0;
}

int sink_http_chunked_progress(struct sink_req *c, char *b, size_t len)
{
    while (c->ck != SINK_CK_DONE) {
        size_t avail = len - c->ck_rd;
        if (c->ck == SINK_CK_DATA) {
            size_t n = avail < c->ck_left ? avail : (size_t)c->ck_left;
            memmove(b + c->ck_wr, b + c->ck_rd, n);
            c->ck_wr += n;
            c->ck_rd += n;
            c->ck_left -= n;
            if (c->ck_left > 0) {
                return 0;
            }
            c->ck = SINK_CK_DATA_END;
            continue;
        }
        const char *eol = memmem(b + c->ck_rd, avail, "\r\n", 2);
        if (eol == NULL) {
            return avail > 1024 ? -1 : 0;
        }
        size_t line_len = (size_t)(eol - (b + c->ck_rd));
        if (c->ck == SINK_CK_SIZE) {
            uint64_t v = 0;
            size_t i = 0;
            for (; i < line_len && i < 16; i++) {
                char ch = b[c->ck_rd + i];
                int d = ch >= '0' && ch <= '9' ? ch - '0'
                      : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                      : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
                if (d < 0) {
                    break;
                }
                v = v * 16 + (uint64_t)d;
            }
            if (i == 0) {
                return -1;
            }
            c->ck_left = v;
            c->ck = v == 0 ? SINK_CK_TRAILER : SINK_CK_DATA;
        } else if (c->ck == SINK_CK_DATA_END) {
            if (line_len != 0) {
                return -1;
            }
            c->ck = SINK_CK_SIZE;
        } else if (line_len == 0) {
            c->ck = SINK_CK_DONE; /* the empty line after the (usually absent) trailers */
        }
        c->ck_rd += line_len + 2;
    }
    c->req_end = c->ck_rd;
    return 1;
}

