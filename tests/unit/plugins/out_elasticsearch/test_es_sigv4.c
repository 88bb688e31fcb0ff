/*
 * AWS SigV4 signer (plugins/out_elasticsearch/es_sigv4*.c).
 *
 * Runs every vector in $SKIFF_SHARED/testdata/sigv4/ (read there at run
 * time, see its README.md): the classic AWS suite, the AWS CRT suite (header
 * and query-string signing) and the es/aoss vectors; plus named cases for
 * the canonical forms, the key cache, errors and allocation failure.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <zlib.h>

#include "out_elasticsearch/es_sigv4.h"
#include "out_elasticsearch/es_sigv4_int.h"
#include "util/alloc.h"
#include "util/buf.h"

#define SUITE_DIR "testdata/sigv4"
#define CLASSIC_DIR SUITE_DIR "/aws-sig-v4-test-suite"
#define CRT_DIR SUITE_DIR "/aws-signing-test-suite/v4"
#define ES_DIR SUITE_DIR "/es-service"

#define SUITE_AKID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME ((time_t)1440938160) /* 2015-08-30T12:36:00Z */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ------------------------------------------------------------------ */
/* Vector files                                                        */
/* ------------------------------------------------------------------ */

/* Reads $SKIFF_SHARED/<rel>; fails the test when it is missing. */
static char *load(const char *rel, size_t *len)
{
    const char *path = sk_test_shared(rel);
    char *data = sk_test_read_file(path, len);

    if (data == NULL) {
        fail_msg("cannot read %s (is SKIFF_SHARED right?)", path);
    }
    return data;
}

static char *load_case(const char *suite, const char *dir, const char *file, size_t *len)
{
    char rel[512];
    const char *base = strrchr(dir, '/') != NULL ? strrchr(dir, '/') + 1 : dir;

    if (file[0] == '.') { /* classic layout: <dir>/<base>.<ext> */
        snprintf(rel, sizeof(rel), "%s/%s/%s%s", suite, dir, base, file);
    } else {
        snprintf(rel, sizeof(rel), "%s/%s/%s", suite, dir, file);
    }
    return load(rel, len);
}

/* Whether the folding continuation of a header is a new value of the same
 * header (classic suite: "value1,value2") or joins it with a space (CRT). */
enum fold { FOLD_LIST, FOLD_SPACE };

#define MAX_HEADERS 32

/* A request parsed from a suite's .req / request.txt. */
struct vreq {
    const char *method;
    const char *path;
    const char *query; /* NULL without '?' */
    struct es_sigv4_header hdr[MAX_HEADERS];
    size_t nhdr;
    const char *body;
    size_t body_len;
    char pool[16384];
    size_t used;
};

static char *pool_dup(struct vreq *v, const char *s, size_t n)
{
    char *p = v->pool + v->used;

    assert_true(v->used + n + 1 <= sizeof(v->pool));
    memcpy(p, s, n);
    p[n] = '\0';
    v->used += n + 1;
    return p;
}

static char *pool_cat(struct vreq *v, const char *a, const char *sep, const char *b, size_t blen)
{
    size_t alen = strlen(a);
    size_t slen = strlen(sep);
    char *p = v->pool + v->used;

    assert_true(v->used + alen + slen + blen + 1 <= sizeof(v->pool));
    memcpy(p, a, alen);
    memcpy(p + alen, sep, slen);
    memcpy(p + alen + slen, b, blen);
    p[alen + slen + blen] = '\0';
    v->used += alen + slen + blen + 1;
    return p;
}

static void parse_request_line(struct vreq *v, const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    const char *end;
    const char *q;

    assert_non_null(sp);
    assert_true(len > 6);
    end = line + len - 6;
    v->method = pool_dup(v, line, (size_t)(sp - line));
    /* The target may hold spaces (get-space): cut at the last " HTTP/". */
    while (end > sp && memcmp(end, " HTTP/", 6) != 0) {
        end--;
    }
    assert_true(end > sp + 1);
    sp++;
    q = memchr(sp, '?', (size_t)(end - sp));
    v->path = pool_dup(v, sp, (size_t)((q != NULL ? q : end) - sp));
    v->query = q != NULL ? pool_dup(v, q + 1, (size_t)(end - q - 1)) : NULL;
}

static void parse_header_line(struct vreq *v, const char *line, size_t len, enum fold fold)
{
    const char *colon;

    if (line[0] == ' ' || line[0] == '\t') { /* obsolete line folding */
        struct es_sigv4_header *prev;

        assert_true(v->nhdr > 0);
        prev = &v->hdr[v->nhdr - 1];
        if (fold == FOLD_SPACE) {
            prev->value = pool_cat(v, prev->value, " ", line, len);
            return;
        }
        assert_true(v->nhdr < MAX_HEADERS);
        v->hdr[v->nhdr].name = prev->name;
        v->hdr[v->nhdr].value = pool_dup(v, line, len);
        v->nhdr++;
        return;
    }
    colon = memchr(line, ':', len);
    assert_non_null(colon);
    assert_true(v->nhdr < MAX_HEADERS);
    v->hdr[v->nhdr].name = pool_dup(v, line, (size_t)(colon - line));
    v->hdr[v->nhdr].value = pool_dup(v, colon + 1, (size_t)(line + len - colon - 1));
    v->nhdr++;
}

/* Parses HTTP/1.1 request text; the body, if any, points into `text`. */
static void parse_request(struct vreq *v, const char *text, size_t len, enum fold fold)
{
    const char *p = text;
    const char *end = text + len;
    int first = 1;

    memset(v, 0, sizeof(*v));
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl != NULL ? nl : end) - p);

        if (first) {
            parse_request_line(v, p, n);
            first = 0;
        } else if (n == 0) {
            v->body = nl + 1;
            v->body_len = (size_t)(end - v->body);
            return;
        } else {
            parse_header_line(v, p, n, fold);
        }
        p = nl != NULL ? nl + 1 : end;
    }
}

/* Removes header `name` (any case) and returns its value, or NULL. */
static const char *take_header(struct vreq *v, const char *name)
{
    size_t i;

    for (i = 0; i < v->nhdr; i++) {
        if (strcasecmp(v->hdr[i].name, name) == 0) {
            const char *value = v->hdr[i].value;

            memmove(&v->hdr[i], &v->hdr[i + 1], (v->nhdr - i - 1) * sizeof(v->hdr[0]));
            v->nhdr--;
            return value;
        }
    }
    return NULL;
}

static struct es_sigv4_request to_request(const struct vreq *v)
{
    struct es_sigv4_request r = {
        .method = v->method,
        .path = v->path,
        .query = v->query,
        .headers = v->hdr,
        .nheaders = v->nhdr,
        .body = v->body,
        .body_len = v->body_len,
    };
    return r;
}

/* True when `text` (a signed request) has the line "name:value", with
 * any case of name and optional blanks after the colon. */
static int has_header_line(const char *text, const char *name, const char *value)
{
    const char *line = text;
    size_t nlen = strlen(name);
    size_t vlen = strlen(value);

    while (line != NULL && *line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);

        if (len > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;

            while (*v == ' ') {
                v++;
            }
            if ((size_t)(line + len - v) == vlen && memcmp(v, value, vlen) == 0) {
                return 1;
            }
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    return 0;
}

static void assert_bytes(const char *what, const char *got, size_t got_len, const char *want,
                         size_t want_len)
{
    if (got_len != want_len || memcmp(got, want, got_len) != 0) {
        print_error("%s differs.\n--- expected (%zu bytes)\n%.*s\n--- got (%zu bytes)\n%.*s\n",
                    what, want_len, (int)want_len, want, got_len, (int)got_len,
                    got != NULL ? got : "");
        fail();
    }
}

static void assert_buf_file(const char *what, const struct sk_buf *b, const char *want,
                            size_t want_len)
{
    assert_bytes(what, b->data, b->len, want, want_len);
}

/* ------------------------------------------------------------------ */
/* context.json (flat enough for a key search)                         */
/* ------------------------------------------------------------------ */

static const char *json_value(const char *json, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\"", key);
    p = strstr(json, pat);
    if (p == NULL) {
        return NULL;
    }
    p += strlen(pat);
    while (*p == ' ' || *p == '\n') {
        p++;
    }
    if (*p != ':') {
        return NULL;
    }
    p++;
    while (*p == ' ' || *p == '\n') {
        p++;
    }
    return p;
}

/* Copies the string value of `key` into `out`; 0 when absent. */
static int json_string(const char *json, const char *key, char *out, size_t n)
{
    const char *p = json_value(json, key);
    size_t i = 0;

    if (p == NULL || *p != '"') {
        return 0;
    }
    for (p++; *p != '"' && *p != '\0'; p++) {
        if (*p == '\\') {
            p++;
        }
        assert_true(i + 1 < n);
        out[i++] = *p;
    }
    out[i] = '\0';
    return 1;
}

static int json_bool(const char *json, const char *key)
{
    const char *p = json_value(json, key);

    return p != NULL && strncmp(p, "true", 4) == 0;
}

static long json_long(const char *json, const char *key)
{
    const char *p = json_value(json, key);

    assert_non_null(p);
    return strtol(p, NULL, 10);
}

/* "2015-08-30T12:36:00Z" or "20150830T123600Z" as seconds since the epoch. */
static time_t parse_time(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6 &&
        sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6) {
        fail_msg("bad timestamp %s", s);
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

/* The pieces of a context.json used here. */
struct vctx {
    char akid[128];
    char secret[128];
    char token[1024];
    char region[64];
    char service[64];
    char timestamp[32];
    int has_token;
};

static void read_context(const char *json, const char *token_key, struct vctx *c)
{
    memset(c, 0, sizeof(*c));
    assert_true(json_string(json, "access_key_id", c->akid, sizeof(c->akid)));
    assert_true(json_string(json, "secret_access_key", c->secret, sizeof(c->secret)));
    assert_true(json_string(json, "region", c->region, sizeof(c->region)));
    assert_true(json_string(json, "service", c->service, sizeof(c->service)));
    assert_true(json_string(json, "timestamp", c->timestamp, sizeof(c->timestamp)));
    c->has_token = json_string(json, token_key, c->token, sizeof(c->token));
}

/* Every header the signer adds must be in the suite's signed request. */
static void assert_added_in(const struct es_sigv4_result *r, const char *signed_request)
{
    size_t i;

    for (i = 0; i < r->nheaders; i++) {
        if (!has_header_line(signed_request, r->headers[i].name, r->headers[i].value)) {
            fail_msg("signed request lacks %s: %s", r->headers[i].name, r->headers[i].value);
        }
    }
}

static const char *added_value(const struct es_sigv4_result *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->nheaders; i++) {
        if (strcmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Suite runners; the tables of cases are at the bottom                */
/* ------------------------------------------------------------------ */

struct vcase {
    const char *dir;
    /* The request path to sign instead of the file's (see the table). */
    const char *path_override;
};

/* Classic suite: sign .req (less the X-Amz-Date and token lines, which the
 * signer adds), compare .creq, .sts, .authz, and the added lines to .sreq. */
static void run_classic(void **state)
{
    const struct vcase *c = *state;
    struct es_sigv4_creds creds = { SUITE_AKID, SUITE_SECRET, NULL };
    struct es_sigv4_config cfg = { "us-east-1", "service", 0 };
    struct es_sigv4_request req;
    struct es_sigv4_result r;
    struct vreq *v = calloc(1, sizeof(*v));
    struct vreq *sv = calloc(1, sizeof(*sv));
    size_t len, creq_len, sts_len, authz_len, sreq_len;
    char *text = load_case(CLASSIC_DIR, c->dir, ".req", &len);
    char *creq = load_case(CLASSIC_DIR, c->dir, ".creq", &creq_len);
    char *sts = load_case(CLASSIC_DIR, c->dir, ".sts", &sts_len);
    char *authz = load_case(CLASSIC_DIR, c->dir, ".authz", &authz_len);
    char *sreq = load_case(CLASSIC_DIR, c->dir, ".sreq", &sreq_len);
    const char *date;

    assert_non_null(v);
    assert_non_null(sv);
    parse_request(v, text, len, FOLD_LIST);
    date = take_header(v, "X-Amz-Date");
    assert_non_null(date);
    creds.session_token = take_header(v, "X-Amz-Security-Token");
    if (creds.session_token == NULL) {
        /* post-sts-header-after: the token is added after signing. */
        parse_request(sv, sreq, sreq_len, FOLD_LIST);
        creds.session_token = take_header(sv, "X-Amz-Security-Token");
        cfg.flags |= creds.session_token != NULL ? ES_SIGV4_TOKEN_UNSIGNED : 0;
    }
    req = to_request(v);
    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, parse_time(date), NULL, &r), 0);
    assert_string_equal(r.amz_date, date);
    assert_buf_file("canonical request", &r.canonical_request, creq, creq_len);
    assert_buf_file("string to sign", &r.string_to_sign, sts, sts_len);
    assert_buf_file("authorization", &r.authorization, authz, authz_len);
    assert_added_in(&r, sreq);
    es_sigv4_result_cleanup(&r);
    free(v);
    free(sv);
    free(text);
    free(creq);
    free(sts);
    free(authz);
    free(sreq);
}

struct crt_vector {
    struct vctx ctx;
    struct vreq req;
    unsigned flags;
    int omit_token;
    long expires;
    char *json;
    char *text;
};

static struct crt_vector *crt_load(const struct vcase *c)
{
    struct crt_vector *t = calloc(1, sizeof(*t));
    size_t len;

    assert_non_null(t);
    t->json = load_case(CRT_DIR, c->dir, "context.json", &len);
    t->text = load_case(CRT_DIR, c->dir, "request.txt", &len);
    read_context(t->json, "token", &t->ctx);
    parse_request(&t->req, t->text, len, FOLD_SPACE);
    if (c->path_override != NULL) {
        t->req.path = c->path_override;
    }
    t->flags = (json_bool(t->json, "normalize") ? 0 : ES_SIGV4_NO_NORMALIZE) |
               (json_bool(t->json, "sign_body") ? ES_SIGV4_CONTENT_SHA256 : 0);
    t->omit_token = json_bool(t->json, "omit_session_token");
    if (t->ctx.has_token && t->omit_token) {
        t->flags |= ES_SIGV4_TOKEN_UNSIGNED;
    }
    t->expires = json_long(t->json, "expiration_in_seconds");
    return t;
}

static void crt_free(struct crt_vector *t)
{
    free(t->json);
    free(t->text);
    free(t);
}

static void assert_file_equals(const struct vcase *c, const char *file, const char *got,
                               size_t got_len)
{
    size_t len;
    char *want = load_case(CRT_DIR, c->dir, file, &len);

    assert_bytes(file, got, got_len, want, len);
    free(want);
}

/* CRT suite, Authorization-header signing. */
static void run_crt_header(void **state)
{
    const struct vcase *c = *state;
    struct crt_vector *t = crt_load(c);
    struct es_sigv4_creds creds = { t->ctx.akid, t->ctx.secret,
                                    t->ctx.has_token ? t->ctx.token : NULL };
    struct es_sigv4_config cfg = { t->ctx.region, t->ctx.service, t->flags };
    struct es_sigv4_request req = to_request(&t->req);
    struct es_sigv4_result r;
    size_t len;
    char *signed_req;

    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, parse_time(t->ctx.timestamp), NULL, &r),
                     0);
    assert_file_equals(c, "header-canonical-request.txt", r.canonical_request.data,
                       r.canonical_request.len);
    assert_file_equals(c, "header-string-to-sign.txt", r.string_to_sign.data,
                       r.string_to_sign.len);
    assert_file_equals(c, "header-signature.txt", r.signature, strlen(r.signature));
    signed_req = load_case(CRT_DIR, c->dir, "header-signed-request.txt", &len);
    assert_added_in(&r, signed_req);
    free(signed_req);
    es_sigv4_result_cleanup(&r);
    crt_free(t);
}

/*
 * CRT suite, query-string ("presigned URL") signing. skiff does not
 * presign, so this builds the presigned query here and runs it through the
 * signer's own canonicalisation, string-to-sign and key steps.
 */
static void run_crt_query(void **state)
{
    const struct vcase *c = *state;
    struct crt_vector *t = crt_load(c);
    struct es_sigv4_request req = to_request(&t->req);
    struct sk_buf creq, names, sts, query;
    char amz_date[17], date[9], hash[65], sig[65], scope[160];
    unsigned char key[32];
    time_t now = parse_time(t->ctx.timestamp);

    sk_buf_init(&creq, ES_SIGV4_CANON_MAX);
    sk_buf_init(&names, ES_SIGV4_HEADERS_MAX);
    sk_buf_init(&sts, 1024);
    sk_buf_init(&query, ES_SIGV4_CANON_MAX);
    assert_int_equal(es_sigv4_format_date(now, amz_date), 0);
    snprintf(scope, sizeof(scope), "%.8s/%s/%s/aws4_request", amz_date, t->ctx.region,
             t->ctx.service);
    assert_int_equal(es_sigv4_sha256_hex(req.body, req.body_len, hash), 0);
    /* First pass: only for the SignedHeaders list. */
    assert_int_equal(es_sigv4_canonical_request(&req, NULL, 0, t->flags, hash, &creq, &names), 0);
    assert_int_equal(sk_buf_printf(&query,
                                   "%s%sX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s/%s"
                                   "&X-Amz-Date=%s&X-Amz-Expires=%ld&X-Amz-SignedHeaders=%s",
                                   req.query != NULL ? req.query : "",
                                   req.query != NULL ? "&" : "", t->ctx.akid, scope, amz_date,
                                   t->expires, names.data),
                     0);
    if (t->ctx.has_token && !t->omit_token) {
        assert_int_equal(sk_buf_printf(&query, "&X-Amz-Security-Token=%s", t->ctx.token), 0);
    }
    req.query = query.data;
    sk_buf_reset(&creq);
    sk_buf_reset(&names);
    assert_int_equal(es_sigv4_canonical_request(&req, NULL, 0, t->flags, hash, &creq, &names), 0);
    assert_file_equals(c, "query-canonical-request.txt", creq.data, creq.len);
    assert_int_equal(es_sigv4_string_to_sign(amz_date, scope, creq.data, creq.len, &sts), 0);
    assert_file_equals(c, "query-string-to-sign.txt", sts.data, sts.len);
    date[8] = '\0';
    memcpy(date, amz_date, 8);
    assert_int_equal(es_sigv4_derive_key(t->ctx.secret, date, t->ctx.region, t->ctx.service, key),
                     0);
    assert_int_equal(es_sigv4_hmac_hex(key, sts.data, sts.len, sig), 0);
    assert_file_equals(c, "query-signature.txt", sig, strlen(sig));
    sk_buf_cleanup(&creq);
    sk_buf_cleanup(&names);
    sk_buf_cleanup(&sts);
    sk_buf_cleanup(&query);
    crt_free(t);
}

/* es-service vectors: JSON / NDJSON / gzip bodies for "es" and "aoss". */
static void run_es(void **state)
{
    const struct vcase *c = *state;
    struct vctx ctx;
    struct vreq *v = calloc(1, sizeof(*v));
    struct es_sigv4_creds creds;
    struct es_sigv4_config cfg = { NULL, NULL, 0 };
    struct es_sigv4_request req;
    struct es_sigv4_result r;
    size_t len, body_len, creq_len, sts_len, authz_len, sreq_len;
    char *json = load_case(ES_DIR, c->dir, "context.json", &len);
    char *text = load_case(ES_DIR, c->dir, ".req", &len);
    char *body = load_case(ES_DIR, c->dir, ".body", &body_len);
    char *creq = load_case(ES_DIR, c->dir, ".creq", &creq_len);
    char *sts = load_case(ES_DIR, c->dir, ".sts", &sts_len);
    char *authz = load_case(ES_DIR, c->dir, ".authz", &authz_len);
    char *sreq = load_case(ES_DIR, c->dir, ".sreq", &sreq_len);
    char body_sha[65];
    const char *date;
    const char *content_sha;

    assert_non_null(v);
    read_context(json, "session_token", &ctx);
    assert_true(json_string(json, "body_sha256", body_sha, sizeof(body_sha)));
    assert_int_equal(json_long(json, "body_bytes"), (long)body_len);
    parse_request(v, text, len, FOLD_LIST);
    v->body = body; /* the exact bytes; .req leaves binary bodies out */
    v->body_len = body_len;
    date = take_header(v, "X-Amz-Date");
    assert_non_null(date);
    assert_int_equal(parse_time(date), parse_time(ctx.timestamp));
    assert_true((take_header(v, "X-Amz-Security-Token") != NULL) == ctx.has_token);
    content_sha = take_header(v, "X-Amz-Content-Sha256");
    creds.access_key_id = ctx.akid;
    creds.secret_access_key = ctx.secret;
    creds.session_token = ctx.has_token ? ctx.token : NULL;
    cfg.region = ctx.region;
    cfg.service = ctx.service;
    cfg.flags = content_sha != NULL ? ES_SIGV4_CONTENT_SHA256 : 0;
    req = to_request(v);
    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, parse_time(date), NULL, &r), 0);
    assert_string_equal(r.payload_hash, body_sha);
    if (content_sha != NULL) {
        assert_string_equal(added_value(&r, "X-Amz-Content-Sha256"), content_sha);
    }
    assert_buf_file("canonical request", &r.canonical_request, creq, creq_len);
    assert_buf_file("string to sign", &r.string_to_sign, sts, sts_len);
    assert_buf_file("authorization", &r.authorization, authz, authz_len);
    assert_added_in(&r, sreq);
    es_sigv4_result_cleanup(&r);
    free(v);
    free(json);
    free(text);
    free(body);
    free(creq);
    free(sts);
    free(authz);
    free(sreq);
}

/* ------------------------------------------------------------------ */
/* Canonical forms                                                     */
/* ------------------------------------------------------------------ */

struct canon_case {
    const char *name;
    const char *in;
    unsigned flags;
    const char *want; /* NULL: SK_EINVAL */
};

static const struct canon_case path_cases[] = {
    { "root", "/", 0, "/" },
    { "plain", "/logs-2024.05.01/_bulk", 0, "/logs-2024.05.01/_bulk" },
    { "trailing_slash_kept", "/a/b/", 0, "/a/b/" },
    { "dot_segments", "/a/./b/../c", 0, "/a/c" },
    { "dotdot_above_root", "/../../a", 0, "/a" },
    { "dotdot_to_root", "/a/..", 0, "/" },
    { "dotdot_no_trailing", "/a/b/..", 0, "/a" },
    { "empty_segments", "//a///b//", 0, "/a/b/" },
    { "only_slashes", "///", 0, "/" },
    { "dot_in_name_kept", "/.kibana/..x/.../_doc", 0, "/.kibana/..x/.../_doc" },
    { "unreserved_kept", "/-._~AZaz09", 0, "/-._~AZaz09" },
    { "space_encoded", "/a b", 0, "/a%20b" },
    { "utf8_encoded", "/\xe1\x88\xb4", 0, "/%E1%88%B4" },
    /* Double encoding: the wire escapes are encoded again. */
    { "percent_double_encoded", "/a%20b", 0, "/a%2520b" },
    { "date_math_double_encoded", "/%3Clogs-%7Bnow%2Fd%7D-000001%3E/_bulk", 0,
      "/%253Clogs-%257Bnow%252Fd%257D-000001%253E/_bulk" },
    { "encoded_slash_is_not_a_separator", "/a%2F../b", 0, "/a%252F../b" },
    { "reserved_encoded", "/a:b,c;d=e+f*g@h", 0, "/a%3Ab%2Cc%3Bd%3De%2Bf%2Ag%40h" },
    { "no_normalize_keeps_all", "//a/./b/../", ES_SIGV4_NO_NORMALIZE, "//a/./b/../" },
    { "no_normalize_still_encodes", "/a b/%41", ES_SIGV4_NO_NORMALIZE, "/a%20b/%2541" },
    { "empty_rejected", "", 0, NULL },
    { "relative_rejected", "a/b", 0, NULL },
    { "query_in_path_rejected", "/a?b=c", 0, NULL },
    { "fragment_rejected", "/a#b", 0, NULL },
    { "control_rejected", "/a\r\nb", 0, NULL },
};

static void test_canonical_path(void **state)
{
    size_t i;

    for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
        const struct canon_case *c = &path_cases[i];
        struct sk_buf b;
        int rc;

        sk_buf_init(&b, 1024);
        rc = es_sigv4_canonical_path(c->in, c->flags, &b);
        if (c->want == NULL) {
            if (rc != SK_EINVAL) {
                fail_msg("%s: rc %d, want SK_EINVAL", c->name, rc);
            }
        } else if (rc != 0 || strcmp(b.data, c->want) != 0) {
            fail_msg("%s: rc %d, got \"%s\", want \"%s\"", c->name, rc,
                     b.data != NULL ? b.data : "", c->want);
        }
        sk_buf_cleanup(&b);
    }
    assert_int_equal(es_sigv4_canonical_path(NULL, 0, NULL), SK_EINVAL);
}

static const struct canon_case query_cases[] = {
    { "null_is_empty", NULL, 0, "" },
    { "empty", "", 0, "" },
    { "es_bulk_params_sorted", "require_alias=true&refresh=false", 0,
      "refresh=false&require_alias=true" },
    { "no_value", "pretty", 0, "pretty=" },
    { "empty_value", "a=", 0, "a=" },
    { "empty_items_skipped", "&a=1&&b=2&", 0, "a=1&b=2" },
    { "same_name_by_value", "a=2&a=10&a=1", 0, "a=1&a=10&a=2" },
    { "name_before_value", "Param-3=Value3&Param=Value2", 0, "Param=Value2&Param-3=Value3" },
    { "upper_before_lower", "b=1&B=2&a=3", 0, "B=2&a=3&b=1" },
    { "sort_after_encoding", "~=1&%7E=0&.=2", 0, ".=2&~=0&~=1" },
    { "escape_normalised", "a=%2f%7e%41", 0, "a=%2F~A" },
    { "plus_is_literal", "q=a+b", 0, "q=a%2Bb" },
    { "space_encoded", "q=a b", 0, "q=a%20b" },
    { "second_equals_in_value", "q=a=b", 0, "q=a%3Db" },
    { "empty_name", "=v", 0, "=v" },
    { "utf8", "\xe1\x88\xb4=bar", 0, "%E1%88%B4=bar" },
    { "filter_path", "filter_path=items.*.error,took", 0,
      "filter_path=items.%2A.error%2Ctook" },
    { "bad_escape", "a=%zz", 0, NULL },
    { "short_escape", "a=%4", 0, NULL },
    { "trailing_percent", "a=%", 0, NULL },
};

static void test_canonical_query(void **state)
{
    size_t i;

    for (i = 0; i < sizeof(query_cases) / sizeof(query_cases[0]); i++) {
        const struct canon_case *c = &query_cases[i];
        struct sk_buf b;
        int rc;

        sk_buf_init(&b, 1024);
        rc = es_sigv4_canonical_query(c->in, &b);
        if (c->want == NULL) {
            if (rc != SK_EINVAL) {
                fail_msg("%s: rc %d, want SK_EINVAL", c->name, rc);
            }
        } else if (rc != 0 || strcmp(b.data != NULL ? b.data : "", c->want) != 0) {
            fail_msg("%s: rc %d, got \"%s\", want \"%s\"", c->name, rc,
                     b.data != NULL ? b.data : "", c->want);
        }
        sk_buf_cleanup(&b);
    }
}

struct header_case {
    const char *name;
    struct es_sigv4_header h[8];
    size_t n;
    const char *want_lines; /* canonical header lines; NULL: SK_EINVAL */
    const char *want_signed;
};

static const struct header_case header_cases[] = {
    { "lower_and_sorted", { { "Host", "h" }, { "X-B", "2" }, { "Content-Type", "t" } }, 3,
      "content-type:t\nhost:h\nx-b:2\n", "content-type;host;x-b" },
    { "trim_and_collapse", { { "Host", "h" }, { "X-A", " \t a  \t b   c \t" } }, 2,
      "host:h\nx-a:a b c\n", "host;x-a" },
    { "quoted_collapse_too", { { "Host", "h" }, { "X-A", " \"a   b\" " } }, 2,
      "host:h\nx-a:\"a b\"\n", "host;x-a" },
    { "repeats_joined_in_sent_order",
      { { "X-A", "3" }, { "Host", "h" }, { "x-a", " 1" }, { "X-a", "2 " } }, 4,
      "host:h\nx-a:3,1,2\n", "host;x-a" },
    { "empty_value", { { "Host", "h" }, { "X-E", "" }, { "X-F", "   " } }, 3,
      "host:h\nx-e:\nx-f:\n", "host;x-e;x-f" },
    { "prefix_names_sorted", { { "X-AB", "1" }, { "Host", "h" }, { "X-A", "2" } }, 3,
      "host:h\nx-a:2\nx-ab:1\n", "host;x-a;x-ab" },
    { "never_signed",
      { { "Host", "h" },
        { "User-Agent", "skiff/0.1" },
        { "Expect", "100-continue" },
        { "Connection", "keep-alive" },
        { "Transfer-Encoding", "chunked" },
        { "X-Amzn-Trace-Id", "Root=1" },
        { "X-Amz-User-Agent", "signed" } },
      7, "host:h\nx-amz-user-agent:signed\n", "host;x-amz-user-agent" },
    { "host_required", { { "Content-Type", "t" } }, 1, NULL, NULL },
    { "host_required_even_if_empty_list", { { NULL, NULL } }, 0, NULL, NULL },
    { "crlf_in_value", { { "Host", "h" }, { "X-A", "a\r\nX-Evil: 1" } }, 2, NULL, NULL },
    { "lf_in_value", { { "Host", "h" }, { "X-A", "a\nb" } }, 2, NULL, NULL },
    { "space_in_name", { { "Host", "h" }, { "X A", "1" } }, 2, NULL, NULL },
    { "colon_in_name", { { "Host", "h" }, { "X:A", "1" } }, 2, NULL, NULL },
    { "empty_name", { { "Host", "h" }, { "", "1" } }, 2, NULL, NULL },
    { "null_value", { { "Host", "h" }, { "X-A", NULL } }, 2, NULL, NULL },
};

static void test_canonical_headers(void **state)
{
    size_t i;

    for (i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
        const struct header_case *c = &header_cases[i];
        struct es_sigv4_request req = { "GET", "/", NULL, c->h, c->n, NULL, 0 };
        struct sk_buf creq, names, want;
        int rc;

        sk_buf_init(&creq, 4096);
        sk_buf_init(&names, 4096);
        sk_buf_init(&want, 4096);
        rc = es_sigv4_canonical_request(&req, NULL, 0, 0, EMPTY_SHA256, &creq, &names);
        if (c->want_lines == NULL) {
            if (rc != SK_EINVAL) {
                fail_msg("%s: rc %d, want SK_EINVAL", c->name, rc);
            }
        } else {
            assert_int_equal(sk_buf_printf(&want, "GET\n/\n\n%s\n%s\n%s", c->want_lines,
                                           c->want_signed, EMPTY_SHA256),
                             0);
            if (rc != 0 || strcmp(creq.data, want.data) != 0 ||
                strcmp(names.data, c->want_signed) != 0) {
                fail_msg("%s: rc %d, got\n%s\nwant\n%s", c->name, rc,
                         creq.data != NULL ? creq.data : "", want.data);
            }
        }
        sk_buf_cleanup(&creq);
        sk_buf_cleanup(&names);
        sk_buf_cleanup(&want);
    }
}

static void test_format_date(void **state)
{
    static const struct {
        time_t t;
        const char *want; /* NULL: SK_ERANGE */
    } cases[] = {
        { 0, "19700101T000000Z" },
        { SUITE_TIME, "20150830T123600Z" },
        { 1709251199, "20240229T235959Z" },
        { 253402300799, "99991231T235959Z" },
        { 253402300800, NULL },
        { -1, NULL },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[17] = "";
        int rc = es_sigv4_format_date(cases[i].t, out);

        if (cases[i].want == NULL) {
            assert_int_equal(rc, SK_ERANGE);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(out, cases[i].want);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Whole requests                                                      */
/* ------------------------------------------------------------------ */

static const char ndjson[] = "{\"index\":{}}\n{\"message\":\"hello\"}\n";

/*
 * A bulk request to a date-math index with the query skiff sends. Expected
 * values from botocore 1.43.11 SigV4Auth("es", "eu-west-1") at
 * 2024-05-01T12:00:00Z on the same request, whose URL was
 * https://search-logs-abc.eu-west-1.es.amazonaws.com
 *   /%3Clogs-%7Bnow%2Fd%7D-000001%3E/_bulk?require_alias=true&refresh=false
 */
static void test_es_date_math_bulk(void **state)
{
    static const struct es_sigv4_header h[] = {
        { "Host", "search-logs-abc.eu-west-1.es.amazonaws.com" },
        { "Content-Type", "application/x-ndjson" },
    };
    struct es_sigv4_creds creds = { SUITE_AKID, SUITE_SECRET, NULL };
    struct es_sigv4_config cfg = { "eu-west-1", "es", 0 };
    struct es_sigv4_request req = { "POST", "/%3Clogs-%7Bnow%2Fd%7D-000001%3E/_bulk",
                                    "require_alias=true&refresh=false", h, 2,
                                    ndjson, sizeof(ndjson) - 1 };
    struct es_sigv4_result r;

    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, 1714564800, NULL, &r), 0);
    assert_string_equal(r.canonical_request.data,
                        "POST\n"
                        "/%253Clogs-%257Bnow%252Fd%257D-000001%253E/_bulk\n"
                        "refresh=false&require_alias=true\n"
                        "content-type:application/x-ndjson\n"
                        "host:search-logs-abc.eu-west-1.es.amazonaws.com\n"
                        "x-amz-date:20240501T120000Z\n"
                        "\n"
                        "content-type;host;x-amz-date\n"
                        "96e19f67ef0ec9d737dbe3f9438d2b04aade443cc9f0c296c29bbc5a672a90a9");
    assert_string_equal(r.authorization.data,
                        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/eu-west-1/es/"
                        "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                        "Signature="
                        "e130acaacf9cd280dad1831e75f2df1946acde983908007cb65d3f4634f2a2c4");
    assert_int_equal(r.nheaders, 2);
    assert_string_equal(r.headers[0].name, "X-Amz-Date");
    assert_string_equal(r.headers[0].value, "20240501T120000Z");
    assert_string_equal(r.headers[1].name, "Authorization");
    assert_ptr_equal(r.headers[1].value, r.authorization.data);
    es_sigv4_result_cleanup(&r);
}

/* OpenSearch Serverless with temporary credentials. Expected values from
 * botocore 1.43.11 SigV4Auth("aoss", "eu-west-1") at 2024-05-01T12:00:00Z,
 * given X-Amz-Content-SHA256 as opensearch-py adds it. */
static void test_aoss_session_token(void **state)
{
    static const struct es_sigv4_header h[] = {
        { "Host", "abc123.eu-west-1.aoss.amazonaws.com" },
        { "Content-Type", "application/x-ndjson" },
    };
    struct es_sigv4_creds creds = { SUITE_AKID, SUITE_SECRET, "FQoGZXIvYXdzEXAMPLETOKEN+/=" };
    struct es_sigv4_config cfg = { "eu-west-1", "aoss", ES_SIGV4_CONTENT_SHA256 };
    struct es_sigv4_request req = { "POST", "/_bulk", NULL, h, 2, ndjson, sizeof(ndjson) - 1 };
    struct es_sigv4_result r;

    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, 1714564800, NULL, &r), 0);
    assert_string_equal(r.signed_headers.data,
                        "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
    assert_string_equal(r.signature,
                        "d471812582eaac0835a8ba932932d6b691b5dc98c873339abc06f591d9ec9758");
    assert_int_equal(r.nheaders, 4);
    assert_string_equal(r.headers[0].name, "X-Amz-Date");
    assert_string_equal(r.headers[1].name, "X-Amz-Security-Token");
    assert_ptr_equal(r.headers[1].value, creds.session_token);
    assert_string_equal(r.headers[2].name, "X-Amz-Content-Sha256");
    assert_string_equal(r.headers[2].value,
                        "96e19f67ef0ec9d737dbe3f9438d2b04aade443cc9f0c296c29bbc5a672a90a9");
    assert_string_equal(r.headers[3].name, "Authorization");
    es_sigv4_result_cleanup(&r);
}

/* The token is signed by default, and only added with TOKEN_UNSIGNED;
 * the two signatures are the classic suite's post-sts-header-before/after. */
static void test_session_token_signed_or_not(void **state)
{
    static const struct es_sigv4_header h[] = { { "Host", "example.amazonaws.com" } };
    static const char token[] =
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwA"
        "eMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8p"
        "hUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT"
        "38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabI"
        "Qwj2ICCR/oLxBA==";
    struct es_sigv4_creds creds = { SUITE_AKID, SUITE_SECRET, token };
    struct es_sigv4_config cfg = { "us-east-1", "service", 0 };
    struct es_sigv4_request req = { "POST", "/", NULL, h, 1, NULL, 0 };
    struct es_sigv4_result r;

    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, SUITE_TIME, NULL, &r), 0);
    assert_string_equal(r.signed_headers.data, "host;x-amz-date;x-amz-security-token");
    assert_string_equal(r.signature,
                        "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
    assert_string_equal(added_value(&r, "X-Amz-Security-Token"), token);

    cfg.flags = ES_SIGV4_TOKEN_UNSIGNED;
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, SUITE_TIME, NULL, &r), 0);
    assert_string_equal(r.signed_headers.data, "host;x-amz-date");
    assert_string_equal(r.signature,
                        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    assert_string_equal(added_value(&r, "X-Amz-Security-Token"), token);
    assert_string_equal(r.headers[r.nheaders - 1].name, "Authorization");

    /* An empty token is no token. */
    creds.session_token = "";
    cfg.flags = 0;
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, SUITE_TIME, NULL, &r), 0);
    assert_null(added_value(&r, "X-Amz-Security-Token"));
    assert_string_equal(r.signed_headers.data, "host;x-amz-date");
    es_sigv4_result_cleanup(&r);
}

/* Inflates a gzip member into `out`; returns the length. */
static size_t gunzip(const char *in, size_t in_len, char *out, size_t out_max)
{
    z_stream zs;
    size_t n;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)out_max;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    n = zs.total_out;
    inflateEnd(&zs);
    return n;
}

/* The payload hash is over the bytes sent: the gzip vector's body inflates
 * to the plain NDJSON vector's body, and signing that instead changes the
 * hash (to the NDJSON vector's) and the signature. */
static void test_gzip_body_signed_as_sent(void **state)
{
    static const struct es_sigv4_header h[] = {
        { "Host", "search-logs-abcdefghijklmnopqrstuvwxyz.us-east-1.es.amazonaws.com" },
        { "Content-Encoding", "gzip" },
        { "Content-Type", "application/x-ndjson" },
    };
    struct es_sigv4_creds creds = { SUITE_AKID, SUITE_SECRET, NULL };
    struct es_sigv4_config cfg = { "us-east-1", "es", 0 };
    struct es_sigv4_request req = { "POST", "/_bulk", NULL, h, 3, NULL, 0 };
    struct es_sigv4_result r;
    size_t gz_len, plain_len, n;
    char *gz = load(ES_DIR "/es-post-bulk-gzip-session-token/es-post-bulk-gzip-session-token.body",
                    &gz_len);
    char *plain = load(ES_DIR "/es-post-bulk-ndjson/es-post-bulk-ndjson.body", &plain_len);
    char inflated[4096];
    char sig_gz[65];

    n = gunzip(gz, gz_len, inflated, sizeof(inflated));
    assert_bytes("inflated body", inflated, n, plain, plain_len);
    es_sigv4_result_init(&r);
    req.body = gz;
    req.body_len = gz_len;
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, SUITE_TIME, NULL, &r), 0);
    assert_string_equal(r.payload_hash,
                        "c88b366942e0ac16399f60217e2d6a95fff359c3175e2484078bc6aabbd7c9a5");
    memcpy(sig_gz, r.signature, sizeof(sig_gz));
    req.body = inflated;
    req.body_len = n;
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, SUITE_TIME, NULL, &r), 0);
    assert_string_equal(r.payload_hash,
                        "8afd9e9c4c678cade1b97f3a46048e53b81147b86e8c0d7c7120d24b5baaff23");
    assert_string_not_equal(r.signature, sig_gz);
    es_sigv4_result_cleanup(&r);
    free(gz);
    free(plain);
}

/* The CRT copy of get-space-normalized carries "/example%20space/" where
 * aws-c-auth has "/example space/" (the table signs the latter). Taken as
 * the wire path, as es_sigv4_sign() takes paths, "%20" is encoded again,
 * which is what botocore and AWS do for every service but S3. */
static void test_crt_space_as_stored_double_encodes(void **state)
{
    static const struct es_sigv4_header h[] = { { "Host", "example.amazonaws.com" } };
    struct es_sigv4_creds creds = { SUITE_AKID, SUITE_SECRET, NULL };
    struct es_sigv4_config cfg = { "us-east-1", "service", 0 };
    struct es_sigv4_request req = { "GET", "/example%20space/", NULL, h, 1, NULL, 0 };
    struct es_sigv4_result r;

    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, SUITE_TIME, NULL, &r), 0);
    assert_non_null(strstr(r.canonical_request.data, "GET\n/example%2520space/\n"));
    assert_string_not_equal(r.signature,
                            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
    es_sigv4_result_cleanup(&r);
}

/* ------------------------------------------------------------------ */
/* Key cache                                                           */
/* ------------------------------------------------------------------ */

static const struct es_sigv4_header vanilla_headers[] = { { "Host", "example.amazonaws.com" } };

static void sign_vanilla(const struct es_sigv4_creds *creds, const struct es_sigv4_config *cfg,
                         time_t now, struct es_sigv4_key_cache *cache, char sig[65])
{
    struct es_sigv4_request req = { "GET", "/", NULL, vanilla_headers, 1, NULL, 0 };
    struct es_sigv4_result r;
    char uncached[65];

    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(cfg, creds, &req, now, NULL, &r), 0);
    memcpy(uncached, r.signature, sizeof(uncached));
    assert_int_equal(es_sigv4_sign(cfg, creds, &req, now, cache, &r), 0);
    assert_string_equal(r.signature, uncached);
    memcpy(sig, r.signature, 65);
    es_sigv4_result_cleanup(&r);
}

static void test_key_cache_reuse_and_rollover(void **state)
{
    struct es_sigv4_creds creds = { SUITE_AKID, SUITE_SECRET, NULL };
    struct es_sigv4_creds rotated = { "AKIDROTATED", "rotated-secret", "token" };
    struct es_sigv4_config cfg = { "us-east-1", "service", 0 };
    struct es_sigv4_key_cache cache;
    time_t midnight = 1440979200; /* 2015-08-31T00:00:00Z */
    char sig[65];

    es_sigv4_key_cache_init(&cache);
    sign_vanilla(&creds, &cfg, SUITE_TIME, &cache, sig);
    /* The classic suite's get-vanilla signature, through the cache. */
    assert_string_equal(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    assert_int_equal(cache.derivations, 1);
    assert_int_equal(cache.hits, 0);
    assert_string_equal(cache.date, "20150830");

    sign_vanilla(&creds, &cfg, SUITE_TIME + 3600, &cache, sig);
    sign_vanilla(&creds, &cfg, midnight - 1, &cache, sig);
    assert_int_equal(cache.derivations, 1);
    assert_int_equal(cache.hits, 2);

    sign_vanilla(&creds, &cfg, midnight, &cache, sig); /* day rollover */
    assert_int_equal(cache.derivations, 2);
    assert_string_equal(cache.date, "20150831");
    sign_vanilla(&creds, &cfg, midnight + 60, &cache, sig);
    assert_int_equal(cache.hits, 3);

    sign_vanilla(&rotated, &cfg, midnight + 60, &cache, sig); /* credentials rotated */
    assert_int_equal(cache.derivations, 3);
    cfg.region = "eu-west-1";
    sign_vanilla(&rotated, &cfg, midnight + 60, &cache, sig);
    assert_int_equal(cache.derivations, 4);
    cfg.service = "es";
    sign_vanilla(&rotated, &cfg, midnight + 60, &cache, sig);
    assert_int_equal(cache.derivations, 5);
    sign_vanilla(&rotated, &cfg, midnight + 61, &cache, sig);
    assert_int_equal(cache.derivations, 5);
    assert_int_equal(cache.hits, 4);

    sign_vanilla(&creds, &cfg, SUITE_TIME, &cache, sig); /* clock stepped back a day */
    assert_int_equal(cache.derivations, 6);

    es_sigv4_key_cache_cleanup(&cache);
    assert_string_equal(cache.date, "");
    sign_vanilla(&creds, &cfg, SUITE_TIME, &cache, sig);
    assert_int_equal(cache.derivations, 7);
    es_sigv4_key_cache_cleanup(&cache);
    es_sigv4_key_cache_cleanup(NULL);
}

/* ------------------------------------------------------------------ */
/* Errors, bounds, allocation failure                                  */
/* ------------------------------------------------------------------ */

static char long_secret[ES_SIGV4_SECRET_MAX + 2];
static char big_value[ES_SIGV4_CANON_MAX + 1];

static void test_invalid_arguments(void **state)
{
    struct es_sigv4_header good[] = { { "Host", "h.example" }, { "Content-Type", "t" } };
    struct es_sigv4_header with_authz[] = { { "Host", "h" }, { "authorization", "x" } };
    struct es_sigv4_header with_date[] = { { "Host", "h" }, { "X-AMZ-DATE", "x" } };
    struct es_sigv4_header with_token[] = { { "Host", "h" }, { "X-Amz-Security-Token", "t" } };
    struct es_sigv4_header with_sha[] = { { "Host", "h" }, { "x-amz-content-sha256", "0" } };
    struct es_sigv4_header big[] = { { "Host", "h" }, { "X-Big", big_value } };
    struct es_sigv4_header null_name[] = { { "Host", "h" }, { NULL, "v" } };
    struct {
        const char *name;
        const char *region, *service, *akid, *secret, *token;
        unsigned flags;
        const char *method, *path, *query;
        struct es_sigv4_header *h;
        size_t n;
        const void *body;
        size_t body_len;
        time_t now;
        int want;
    } cases[] = {
        { "ok", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL, good, 2, NULL, 0,
          SUITE_TIME, 0 },
        { "region_upper", "EU-WEST-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL, good, 2,
          NULL, 0, SUITE_TIME, SK_EINVAL },
        { "region_empty", "", "es", "AKID", "s", NULL, 0, "GET", "/", NULL, good, 2, NULL, 0,
          SUITE_TIME, SK_EINVAL },
        { "region_null", NULL, "es", "AKID", "s", NULL, 0, "GET", "/", NULL, good, 2, NULL, 0,
          SUITE_TIME, SK_EINVAL },
        { "region_too_long",
          "a123456789012345678901234567890123456789012345678901234567890123", "es", "AKID",
          "s", NULL, 0, "GET", "/", NULL, good, 2, NULL, 0, SUITE_TIME, SK_EINVAL },
        { "service_slash", "eu-west-1", "es/x", "AKID", "s", NULL, 0, "GET", "/", NULL, good, 2,
          NULL, 0, SUITE_TIME, SK_EINVAL },
        { "akid_space", "eu-west-1", "es", "AK ID", "s", NULL, 0, "GET", "/", NULL, good, 2, NULL,
          0, SUITE_TIME, SK_EINVAL },
        { "akid_slash", "eu-west-1", "es", "AK/ID", "s", NULL, 0, "GET", "/", NULL, good, 2, NULL,
          0, SUITE_TIME, SK_EINVAL },
        { "akid_empty", "eu-west-1", "es", "", "s", NULL, 0, "GET", "/", NULL, good, 2, NULL, 0,
          SUITE_TIME, SK_EINVAL },
        { "secret_empty", "eu-west-1", "es", "AKID", "", NULL, 0, "GET", "/", NULL, good, 2, NULL,
          0, SUITE_TIME, SK_EINVAL },
        { "secret_null", "eu-west-1", "es", "AKID", NULL, NULL, 0, "GET", "/", NULL, good, 2,
          NULL, 0, SUITE_TIME, SK_EINVAL },
        { "secret_too_long", "eu-west-1", "es", "AKID", long_secret, NULL, 0, "GET", "/", NULL,
          good, 2, NULL, 0, SUITE_TIME, SK_EINVAL },
        { "token_crlf", "eu-west-1", "es", "AKID", "s", "t\r\nX: y", 0, "GET", "/", NULL, good,
          2, NULL, 0, SUITE_TIME, SK_EINVAL },
        { "method_null", "eu-west-1", "es", "AKID", "s", NULL, 0, NULL, "/", NULL, good, 2, NULL,
          0, SUITE_TIME, SK_EINVAL },
        { "method_space", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET /", "/", NULL, good, 2,
          NULL, 0, SUITE_TIME, SK_EINVAL },
        { "path_null", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", NULL, NULL, good, 2, NULL,
          0, SUITE_TIME, SK_EINVAL },
        { "path_with_query", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/_bulk?refresh",
          NULL, good, 2, NULL, 0, SUITE_TIME, SK_EINVAL },
        { "query_bad_escape", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", "a=%g0", good,
          2, NULL, 0, SUITE_TIME, SK_EINVAL },
        { "body_null_with_len", "eu-west-1", "es", "AKID", "s", NULL, 0, "POST", "/", NULL, good,
          2, NULL, 5, SUITE_TIME, SK_EINVAL },
        { "headers_null", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL, NULL, 2,
          NULL, 0, SUITE_TIME, SK_EINVAL },
        { "no_host", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL, good + 1, 1,
          NULL, 0, SUITE_TIME, SK_EINVAL },
        { "header_null_name", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL,
          null_name, 2, NULL, 0, SUITE_TIME, SK_EINVAL },
        { "caller_authorization", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL,
          with_authz, 2, NULL, 0, SUITE_TIME, SK_EINVAL },
        { "caller_date", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL, with_date, 2,
          NULL, 0, SUITE_TIME, SK_EINVAL },
        { "caller_token_with_creds_token", "eu-west-1", "es", "AKID", "s", "t", 0, "GET", "/",
          NULL, with_token, 2, NULL, 0, SUITE_TIME, SK_EINVAL },
        { "caller_token_without_creds_token", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/",
          NULL, with_token, 2, NULL, 0, SUITE_TIME, 0 },
        { "caller_sha_with_flag", "eu-west-1", "aoss", "AKID", "s", NULL,
          ES_SIGV4_CONTENT_SHA256, "GET", "/", NULL, with_sha, 2, NULL, 0, SUITE_TIME,
          SK_EINVAL },
        { "caller_sha_without_flag", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL,
          with_sha, 2, NULL, 0, SUITE_TIME, 0 },
        { "time_before_1970", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL, good, 2,
          NULL, 0, -86400, SK_ERANGE },
        { "canonical_too_big", "eu-west-1", "es", "AKID", "s", NULL, 0, "GET", "/", NULL, big, 2,
          NULL, 0, SUITE_TIME, SK_ETOOBIG },
    };
    size_t i;

    memset(long_secret, 's', sizeof(long_secret) - 1);
    memset(big_value, 'v', sizeof(big_value) - 1);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct es_sigv4_creds creds = { cases[i].akid, cases[i].secret, cases[i].token };
        struct es_sigv4_config cfg = { cases[i].region, cases[i].service, cases[i].flags };
        struct es_sigv4_request req = { cases[i].method, cases[i].path,     cases[i].query,
                                        cases[i].h,      cases[i].n,        cases[i].body,
                                        cases[i].body_len };
        struct es_sigv4_result r;
        int rc;

        es_sigv4_result_init(&r);
        rc = es_sigv4_sign(&cfg, &creds, &req, cases[i].now, NULL, &r);
        if (rc != cases[i].want) {
            fail_msg("%s: rc %d (%s), want %d", cases[i].name, rc, sk_strerror(rc),
                     cases[i].want);
        }
        if (rc < 0 && (r.nheaders != 0 || r.signature[0] != '\0')) {
            fail_msg("%s: failed call left headers behind", cases[i].name);
        }
        es_sigv4_result_cleanup(&r);
    }
    {
        struct es_sigv4_creds creds = { "AKID", "s", NULL };
        struct es_sigv4_config cfg = { "eu-west-1", "es", 0 };
        struct es_sigv4_request req = { "GET", "/", NULL, good, 2, NULL, 0 };
        struct es_sigv4_result r;

        es_sigv4_result_init(&r);
        assert_int_equal(es_sigv4_sign(NULL, &creds, &req, SUITE_TIME, NULL, &r), SK_EINVAL);
        assert_int_equal(es_sigv4_sign(&cfg, NULL, &req, SUITE_TIME, NULL, &r), SK_EINVAL);
        assert_int_equal(es_sigv4_sign(&cfg, &creds, NULL, SUITE_TIME, NULL, &r), SK_EINVAL);
        es_sigv4_result_cleanup(&r);
        es_sigv4_result_cleanup(NULL);
    }
}

/* One result signs many requests; a failed call empties it. */
static void test_result_reuse(void **state)
{
    struct es_sigv4_creds creds = { SUITE_AKID, SUITE_SECRET, NULL };
    struct es_sigv4_config cfg = { "us-east-1", "service", 0 };
    struct es_sigv4_request req = { "GET", "/", NULL, vanilla_headers, 1, NULL, 0 };
    struct es_sigv4_request bad = { "GET", "nope", NULL, vanilla_headers, 1, NULL, 0 };
    struct es_sigv4_result r;
    int i;

    es_sigv4_result_init(&r);
    for (i = 0; i < 3; i++) {
        assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, SUITE_TIME, NULL, &r), 0);
        assert_string_equal(r.authorization.data,
                            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
                            "service/aws4_request, SignedHeaders=host;x-amz-date, "
                            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae"
                            "1d763fbf31");
        assert_string_equal(r.signed_headers.data, "host;x-amz-date");
        assert_int_equal(r.nheaders, 2);
    }
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &bad, SUITE_TIME, NULL, &r), SK_EINVAL);
    assert_int_equal(r.nheaders, 0);
    assert_int_equal(r.authorization.len, 0);
    assert_string_equal(r.signature, "");
    es_sigv4_result_cleanup(&r);
}

/* Step the failing allocation through a whole signature (query, repeated
 * headers, token, payload header): each step fails cleanly with SK_ENOMEM
 * and leaves no headers; then the call succeeds with the right result. */
static void test_alloc_failure_stepping(void **state)
{
    static const struct es_sigv4_header h[] = {
        { "Host", "search-logs-abc.eu-west-1.es.amazonaws.com" },
        { "Content-Type", "application/x-ndjson" },
        { "X-Opaque-Id", "a" },
        { "x-opaque-id", "b" },
    };
    struct es_sigv4_creds creds = { SUITE_AKID, SUITE_SECRET, "token" };
    struct es_sigv4_config cfg = { "eu-west-1", "es", ES_SIGV4_CONTENT_SHA256 };
    struct es_sigv4_request req = { "POST", "/%3Clogs-%7Bnow%2Fd%7D-000001%3E/_bulk",
                                    "require_alias=true&refresh=false&pretty", h, 4,
                                    ndjson, sizeof(ndjson) - 1 };
    struct es_sigv4_key_cache cache;
    struct es_sigv4_result r;
    char want[65];
    int sticky;

    es_sigv4_key_cache_init(&cache);
    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(&cfg, &creds, &req, 1714564800, NULL, &r), 0);
    memcpy(want, r.signature, sizeof(want));
    es_sigv4_result_cleanup(&r);
    for (sticky = 0; sticky <= 1; sticky++) {
        long n;
        int rc = SK_ENOMEM;

        for (n = 1; n < 200 && rc != 0; n++) {
            es_sigv4_result_init(&r);
            sk_alloc_fail_after(n, sticky);
            rc = es_sigv4_sign(&cfg, &creds, &req, 1714564800, &cache, &r);
            sk_alloc_fail_after(0, 0);
            if (rc != 0) {
                if (rc != SK_ENOMEM) {
                    fail_msg("step %ld (sticky %d): rc %d", n, sticky, rc);
                }
                assert_int_equal(r.nheaders, 0);
            } else {
                assert_string_equal(r.signature, want);
            }
            es_sigv4_result_cleanup(&r);
        }
        assert_int_equal(rc, 0);
        assert_true(n > 3); /* some allocations did fail */
    }
    es_sigv4_key_cache_cleanup(&cache);
}

/* ------------------------------------------------------------------ */
/* Vector tables                                                       */
/* ------------------------------------------------------------------ */

#define VEC(fn, d) { .name = d, .test_func = fn, .initial_state = &(struct vcase){ .dir = d } }
#define VEC_PATH(fn, d, p)                                                                   \
    { .name = d, .test_func = fn,                                                             \
      .initial_state = &(struct vcase){ .dir = d, .path_override = p } }

#define CLASSIC(d) VEC(run_classic, d)

static const struct CMUnitTest classic_tests[] = {
    CLASSIC("get-header-key-duplicate"),
    CLASSIC("get-header-value-multiline"),
    CLASSIC("get-header-value-order"),
    CLASSIC("get-header-value-trim"),
    CLASSIC("get-unreserved"),
    CLASSIC("get-utf8"),
    CLASSIC("get-vanilla"),
    CLASSIC("get-vanilla-empty-query-key"),
    CLASSIC("get-vanilla-query"),
    CLASSIC("get-vanilla-query-order-key"),
    CLASSIC("get-vanilla-query-order-key-case"),
    CLASSIC("get-vanilla-query-order-value"),
    CLASSIC("get-vanilla-query-unreserved"),
    CLASSIC("get-vanilla-utf8-query"),
    CLASSIC("normalize-path/get-relative"),
    CLASSIC("normalize-path/get-relative-relative"),
    CLASSIC("normalize-path/get-slash"),
    CLASSIC("normalize-path/get-slash-dot-slash"),
    CLASSIC("normalize-path/get-slash-pointless-dot"),
    CLASSIC("normalize-path/get-slashes"),
    CLASSIC("normalize-path/get-space"),
    CLASSIC("post-header-key-case"),
    CLASSIC("post-header-key-sort"),
    CLASSIC("post-header-value-case"),
    CLASSIC("post-sts-token/post-sts-header-after"),
    CLASSIC("post-sts-token/post-sts-header-before"),
    CLASSIC("post-vanilla"),
    CLASSIC("post-vanilla-empty-query-value"),
    CLASSIC("post-vanilla-query"),
    CLASSIC("post-x-www-form-urlencoded"),
    CLASSIC("post-x-www-form-urlencoded-parameters"),
};

/* Every CRT case, once per signing form. get-space-normalized signs the
 * path aws-c-auth has ("/example space/"): the stored copy was pre-encoded
 * to "/example%20space/", which a double-encoding signer must encode again
 * (test_crt_space_as_stored_double_encodes). */
#define CRT_CASES(fn)                                                                        \
    VEC(fn, "get-header-key-duplicate"), VEC(fn, "get-header-value-multiline"),               \
        VEC(fn, "get-header-value-order"), VEC(fn, "get-header-value-trim"),                  \
        VEC(fn, "get-relative-normalized"), VEC(fn, "get-relative-relative-normalized"),      \
        VEC(fn, "get-relative-relative-unnormalized"), VEC(fn, "get-relative-unnormalized"),  \
        VEC(fn, "get-slash-dot-slash-normalized"), VEC(fn, "get-slash-dot-slash-unnormalized"), \
        VEC(fn, "get-slash-normalized"), VEC(fn, "get-slash-pointless-dot-normalized"),       \
        VEC(fn, "get-slash-pointless-dot-unnormalized"), VEC(fn, "get-slash-unnormalized"),   \
        VEC(fn, "get-slashes-normalized"), VEC(fn, "get-slashes-unnormalized"),               \
        VEC_PATH(fn, "get-space-normalized", "/example space/"),                              \
        VEC(fn, "get-space-unnormalized"), VEC(fn, "get-unreserved"), VEC(fn, "get-utf8"),    \
        VEC(fn, "get-vanilla"), VEC(fn, "get-vanilla-empty-query-key"),                       \
        VEC(fn, "get-vanilla-query"), VEC(fn, "get-vanilla-query-order-encoded"),             \
        VEC(fn, "get-vanilla-query-order-key-case"), VEC(fn, "get-vanilla-query-unreserved"), \
        VEC(fn, "get-vanilla-utf8-query"), VEC(fn, "get-vanilla-with-session-token"),         \
        VEC(fn, "post-header-key-case"), VEC(fn, "post-header-key-sort"),                     \
        VEC(fn, "post-header-value-case"), VEC(fn, "post-sts-header-after"),                  \
        VEC(fn, "post-sts-header-before"), VEC(fn, "post-vanilla"),                           \
        VEC(fn, "post-vanilla-empty-query-value"), VEC(fn, "post-vanilla-query"),             \
        VEC(fn, "post-x-www-form-urlencoded"), VEC(fn, "post-x-www-form-urlencoded-parameters")

static const struct CMUnitTest crt_header_tests[] = { CRT_CASES(run_crt_header) };
static const struct CMUnitTest crt_query_tests[] = { CRT_CASES(run_crt_query) };

static const struct CMUnitTest es_tests[] = {
    VEC(run_es, "aoss-put-create-index-json"),
    VEC(run_es, "es-post-bulk-gzip-session-token"),
    VEC(run_es, "es-post-bulk-ndjson"),
    VEC(run_es, "es-post-search-json"),
    VEC(run_es, "es-put-create-index-json"),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int in_table(const struct CMUnitTest *t, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(t[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A case folder holds <name>.req (classic layout) or context.json. */
static int is_case_dir(const char *dir, const char *name, const char *marker)
{
    char path[2048];
    struct stat st;

    if (marker[0] == '.') {
        snprintf(path, sizeof(path), "%s/%s%s", dir, name, marker);
    } else {
        snprintf(path, sizeof(path), "%s/%s", dir, marker);
    }
    return stat(path, &st) == 0;
}

/* Counts the case folders under `root`, named `prefix`<folder>, going one
 * level into grouping folders (normalize-path/); fails on any case folder
 * the table lacks. */
static size_t scan_dir(const char *root, const char *prefix, const char *marker,
                       const struct CMUnitTest *t, size_t n, int depth)
{
    DIR *d = opendir(root);
    struct dirent *e;
    size_t found = 0;

    if (d == NULL) {
        fail_msg("cannot list %s", root);
    }
    while ((e = readdir(d)) != NULL) {
        char dir[1024], name[512];
        struct stat st;

        snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
        if (e->d_name[0] == '.' || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            continue;
        }
        snprintf(name, sizeof(name), "%s%s", prefix, e->d_name);
        if (is_case_dir(dir, e->d_name, marker)) {
            if (!in_table(t, n, name)) {
                fail_msg("%s/%s is a vector the tables do not run", root, e->d_name);
            }
            found++;
        } else if (depth == 0) {
            char sub_prefix[512];

            snprintf(sub_prefix, sizeof(sub_prefix), "%s/", e->d_name);
            found += scan_dir(dir, sub_prefix, marker, t, n, 1);
        } else {
            fail_msg("%s is not a vector folder", dir);
        }
    }
    closedir(d);
    return found;
}

static size_t scan_suite(const char *suite, const char *marker, const struct CMUnitTest *t,
                         size_t n)
{
    char root[1024];

    snprintf(root, sizeof(root), "%s", sk_test_shared(suite));
    return scan_dir(root, "", marker, t, n, 0);
}

/* The tables run every vector on disk, and every table entry exists. */
static void test_tables_cover_every_vector(void **state)
{
    assert_int_equal(scan_suite(CLASSIC_DIR, ".req", classic_tests, COUNT(classic_tests)),
                     31);
    assert_int_equal(COUNT(classic_tests), 31);
    assert_int_equal(
        scan_suite(CRT_DIR, "context.json", crt_header_tests, COUNT(crt_header_tests)), 38);
    assert_int_equal(COUNT(crt_header_tests), 38);
    assert_int_equal(COUNT(crt_query_tests), 38);
    assert_int_equal(scan_suite(ES_DIR, ".req", es_tests, COUNT(es_tests)), 5);
    assert_int_equal(COUNT(es_tests), 5);
}

static const struct CMUnitTest unit_tests[] = {
    cmocka_unit_test(test_tables_cover_every_vector),
    cmocka_unit_test(test_canonical_path),
    cmocka_unit_test(test_canonical_query),
    cmocka_unit_test(test_canonical_headers),
    cmocka_unit_test(test_format_date),
    cmocka_unit_test(test_es_date_math_bulk),
    cmocka_unit_test(test_aoss_session_token),
    cmocka_unit_test(test_session_token_signed_or_not),
    cmocka_unit_test(test_gzip_body_signed_as_sent),
    cmocka_unit_test(test_crt_space_as_stored_double_encodes),
    cmocka_unit_test(test_key_cache_reuse_and_rollover),
    cmocka_unit_test(test_invalid_arguments),
    cmocka_unit_test(test_result_reuse),
    cmocka_unit_test(test_alloc_failure_stepping),
};

int main(void)
{
    int failed = 0;

    failed += cmocka_run_group_tests_name("es_sigv4", unit_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("aws-sig-v4-test-suite", classic_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("aws-signing-test-suite header", crt_header_tests, NULL,
                                          NULL);
    failed += cmocka_run_group_tests_name("aws-signing-test-suite query", crt_query_tests, NULL,
                                          NULL);
    failed += cmocka_run_group_tests_name("es-service", es_tests, NULL, NULL);
    return failed != 0;
}
