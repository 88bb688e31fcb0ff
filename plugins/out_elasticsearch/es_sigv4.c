#include "out_elasticsearch/es_sigv4.h"

#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "out_elasticsearch/es_sigv4_int.h"
#include "util/buf.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define SCOPE_TERMINATOR "aws4_request"
/* "YYYYMMDD/" region "/" service "/aws4_request" */
#define SCOPE_MAX (9 + ES_SIGV4_NAME_MAX + 1 + ES_SIGV4_NAME_MAX + 1 + 12 + 1)
#define STS_MAX (sizeof(ALGORITHM) + 17 + SCOPE_MAX + 65)

static const char hex_lower[] = "0123456789abcdef";

static void to_hex(const unsigned char *md, size_t n, char *hex)
{
    size_t i;

    for (i = 0; i < n; i++) {
        hex[2 * i] = hex_lower[md[i] >> 4];
        hex[2 * i + 1] = hex_lower[md[i] & 0x0f];
    }
    hex[2 * n] = '\0';
}

int es_sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (EVP_Digest(len > 0 ? data : "", len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != 32) {
        return SK_ENOMEM;
    }
    to_hex(md, 32, hex);
    return 0;
}

static int hmac(const void *key, size_t key_len, const void *data, size_t len,
                unsigned char out[32])
{
    unsigned int md_len = 0;

    if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &md_len) == NULL || md_len != 32) {
        return SK_ENOMEM;
    }
    return 0;
}

int es_sigv4_hmac_hex(const unsigned char key[32], const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    int rc = hmac(key, 32, data, len, md);

    if (rc == 0) {
        to_hex(md, sizeof(md), hex);
    }
    return rc;
}

int es_sigv4_derive_key(const char *secret, const char *date, const char *region,
                        const char *service, unsigned char key[32])
{
    char k_secret[4 + ES_SIGV4_SECRET_MAX];
    size_t secret_len = strlen(secret);
    unsigned char k[32];
    int rc;

    if (secret_len > ES_SIGV4_SECRET_MAX) {
        return SK_EINVAL;
    }
    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret, secret_len);
    rc = hmac(k_secret, 4 + secret_len, date, strlen(date), k);
    if (rc == 0) {
        rc = hmac(k, sizeof(k), region, strlen(region), k);
    }
    if (rc == 0) {
        rc = hmac(k, sizeof(k), service, strlen(service), k);
    }
    if (rc == 0) {
        rc = hmac(k, sizeof(k), SCOPE_TERMINATOR, strlen(SCOPE_TERMINATOR), key);
    }
    OPENSSL_cleanse(k_secret, sizeof(k_secret));
    OPENSSL_cleanse(k, sizeof(k));
    return rc;
}

int es_sigv4_string_to_sign(const char *amz_date, const char *scope, const char *creq,
                            size_t creq_len, struct sk_buf *out)
{
    char creq_hash[65];
    int rc = es_sigv4_sha256_hex(creq, creq_len, creq_hash);

    if (rc < 0) {
        return rc;
    }
    return sk_buf_printf(out, ALGORITHM "\n%s\n%s\n%s", amz_date, scope, creq_hash);
}

int es_sigv4_format_date(time_t now, char amz_date[17])
{
    struct tm tm;

    /* AWS accepts nothing older anyway, and strftime pads no year < 1000. */
    if (now < 0 || gmtime_r(&now, &tm) == NULL || tm.tm_year > 9999 - 1900) {
        return SK_ERANGE;
    }
    if (strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm) != 16) {
        return SK_ERANGE;
    }
    return 0;
}

void es_sigv4_key_cache_init(struct es_sigv4_key_cache *c)
{
    memset(c, 0, sizeof(*c));
}

void es_sigv4_key_cache_cleanup(struct es_sigv4_key_cache *c)
{
    if (c != NULL) {
        OPENSSL_cleanse(c->key, sizeof(c->key));
        memset(c->scope, 0, sizeof(c->scope));
        c->date[0] = '\0';
    }
}

/* SHA-256 over secret, region and service, each NUL-terminated so that
 * no two triples share an input. */
static int scope_id(const char *secret, const char *region, const char *service,
                    unsigned char id[32])
{
    char in[ES_SIGV4_SECRET_MAX + 1 + ES_SIGV4_NAME_MAX + 1 + ES_SIGV4_NAME_MAX + 1];
    size_t a = strlen(secret) + 1;
    size_t b = strlen(region) + 1;
    size_t c = strlen(service) + 1;
    unsigned int md_len = 0;
    int ok;

    memcpy(in, secret, a);
    memcpy(in + a, region, b);
    memcpy(in + a + b, service, c);
    ok = EVP_Digest(in, a + b + c, id, &md_len, EVP_sha256(), NULL) == 1 && md_len == 32;
    OPENSSL_cleanse(in, sizeof(in));
    return ok ? 0 : SK_ENOMEM;
}

/* Fills `key` for the day `date`, from `cache` when it holds that key. */
static int signing_key(struct es_sigv4_key_cache *cache, const char *secret, const char *date,
                       const char *region, const char *service, unsigned char key[32])
{
    unsigned char id[32];
    int rc;

    if (cache == NULL) {
        return es_sigv4_derive_key(secret, date, region, service, key);
    }
    rc = scope_id(secret, region, service, id);
    if (rc < 0) {
        return rc;
    }
    if (strcmp(cache->date, date) == 0 && memcmp(cache->scope, id, sizeof(id)) == 0) {
        cache->hits++;
        memcpy(key, cache->key, 32);
        return 0;
    }
    cache->date[0] = '\0';
    rc = es_sigv4_derive_key(secret, date, region, service, cache->key);
    if (rc < 0) {
        return rc;
    }
    memcpy(cache->scope, id, sizeof(id));
    memcpy(cache->date, date, 9);
    cache->derivations++;
    memcpy(key, cache->key, 32);
    return 0;
}

void es_sigv4_result_init(struct es_sigv4_result *r)
{
    memset(r, 0, sizeof(*r));
    sk_buf_init(&r->authorization, ES_SIGV4_HEADERS_MAX);
    sk_buf_init(&r->signed_headers, ES_SIGV4_HEADERS_MAX);
    sk_buf_init(&r->canonical_request, ES_SIGV4_CANON_MAX);
    sk_buf_init(&r->string_to_sign, STS_MAX);
}

void es_sigv4_result_cleanup(struct es_sigv4_result *r)
{
    if (r == NULL) {
        return;
    }
    sk_buf_cleanup(&r->authorization);
    sk_buf_cleanup(&r->signed_headers);
    sk_buf_cleanup(&r->canonical_request);
    sk_buf_cleanup(&r->string_to_sign);
    r->nheaders = 0;
}

static void result_reset(struct es_sigv4_result *r)
{
    sk_buf_reset(&r->authorization);
    sk_buf_reset(&r->signed_headers);
    sk_buf_reset(&r->canonical_request);
    sk_buf_reset(&r->string_to_sign);
    r->nheaders = 0;
    r->amz_date[0] = '\0';
    r->payload_hash[0] = '\0';
    r->signature[0] = '\0';
}

/* Region and service go into the scope and the key: [a-z0-9-]{1,63}. */
static int name_is_valid(const char *s)
{
    size_t n = 0;

    if (s == NULL) {
        return 0;
    }
    for (; s[n] != '\0'; n++) {
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-')) {
            return 0;
        }
    }
    return n > 0 && n <= ES_SIGV4_NAME_MAX;
}

/* The access key id goes into "Credential=<id>/<scope>,". */
static int key_id_is_valid(const char *s)
{
    size_t n = 0;

    if (s == NULL) {
        return 0;
    }
    for (; s[n] != '\0'; n++) {
        if (s[n] <= ' ' || s[n] > '~' || s[n] == '/' || s[n] == ',') {
            return 0;
        }
    }
    return n > 0 && n <= ES_SIGV4_KEY_ID_MAX;
}

static int has_token(const struct es_sigv4_creds *creds)
{
    return creds->session_token != NULL && creds->session_token[0] != '\0';
}

static int args_are_valid(const struct es_sigv4_config *cfg, const struct es_sigv4_creds *creds,
                          const struct es_sigv4_request *req)
{
    if (cfg == NULL || creds == NULL || req == NULL || !name_is_valid(cfg->region) ||
        !name_is_valid(cfg->service) || !key_id_is_valid(creds->access_key_id) ||
        creds->secret_access_key == NULL || creds->secret_access_key[0] == '\0' ||
        strlen(creds->secret_access_key) > ES_SIGV4_SECRET_MAX ||
        (has_token(creds) && strpbrk(creds->session_token, "\r\n") != NULL) ||
        (req->headers == NULL && req->nheaders > 0) || (req->body == NULL && req->body_len > 0)) {
        return 0;
    }
    return 1;
}

static int names_match(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;

        if (x != y) {
            return 0;
        }
    }
    return *a == *b;
}

/* SK_EINVAL when the caller sends a header that the signer adds: the
 * request would carry it twice. */
static int check_reserved(const struct es_sigv4_request *req, unsigned flags, int token)
{
    size_t i;

    for (i = 0; i < req->nheaders; i++) {
        const char *name = req->headers[i].name;

        if (name == NULL) {
            return SK_EINVAL;
        }
        if (names_match(name, "authorization") || names_match(name, "x-amz-date") ||
            (token && names_match(name, "x-amz-security-token")) ||
            ((flags & ES_SIGV4_CONTENT_SHA256) && names_match(name, "x-amz-content-sha256"))) {
            return SK_EINVAL;
        }
    }
    return 0;
}

static void add_header(struct es_sigv4_result *out, const char *name, const char *value)
{
    out->headers[out->nheaders].name = name;
    out->headers[out->nheaders].value = value;
    out->nheaders++;
}

/* Fills out->headers with the headers to sign besides the caller's:
 * X-Amz-Date, the token (unless it goes unsigned), the payload hash. */
static void signed_extras(const struct es_sigv4_config *cfg, const struct es_sigv4_creds *creds,
                          struct es_sigv4_result *out)
{
    add_header(out, "X-Amz-Date", out->amz_date);
    if (has_token(creds) && !(cfg->flags & ES_SIGV4_TOKEN_UNSIGNED)) {
        add_header(out, "X-Amz-Security-Token", creds->session_token);
    }
    if (cfg->flags & ES_SIGV4_CONTENT_SHA256) {
        add_header(out, "X-Amz-Content-Sha256", out->payload_hash);
    }
}

/* Writes "date/region/service/aws4_request"; the names were checked to be
 * at most ES_SIGV4_NAME_MAX long. */
static void build_scope(const char *date, const char *region, const char *service,
                        char scope[SCOPE_MAX])
{
    const char *parts[] = { date, "/", region, "/", service, "/" SCOPE_TERMINATOR };
    size_t off = 0;
    size_t i;

    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t n = strlen(parts[i]);

        memcpy(scope + off, parts[i], n);
        off += n;
    }
    scope[off] = '\0';
}

/* Computes the signature and Authorization value from the canonical
 * request already in `out`. */
static int sign_canonical(const struct es_sigv4_config *cfg, const struct es_sigv4_creds *creds,
                          struct es_sigv4_key_cache *cache, struct es_sigv4_result *out)
{
    char scope[SCOPE_MAX];
    char date[9];
    unsigned char key[32];
    int rc;

    memcpy(date, out->amz_date, 8);
    date[8] = '\0';
    build_scope(date, cfg->region, cfg->service, scope);
    rc = es_sigv4_string_to_sign(out->amz_date, scope, out->canonical_request.data,
                                 out->canonical_request.len, &out->string_to_sign);
    if (rc < 0) {
        return rc;
    }
    rc = signing_key(cache, creds->secret_access_key, date, cfg->region, cfg->service, key);
    if (rc == 0) {
        rc = es_sigv4_hmac_hex(key, out->string_to_sign.data, out->string_to_sign.len,
                               out->signature);
    }
    OPENSSL_cleanse(key, sizeof(key));
    if (rc < 0) {
        return rc;
    }
    return sk_buf_printf(&out->authorization,
                         ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                         creds->access_key_id, scope, out->signed_headers.data, out->signature);
}

int es_sigv4_sign(const struct es_sigv4_config *cfg, const struct es_sigv4_creds *creds,
                  const struct es_sigv4_request *req, time_t now,
                  struct es_sigv4_key_cache *cache, struct es_sigv4_result *out)
{
    int rc;

    result_reset(out);
    if (!args_are_valid(cfg, creds, req)) {
        return SK_EINVAL;
    }
    rc = check_reserved(req, cfg->flags, has_token(creds));
    if (rc == 0) {
        rc = es_sigv4_format_date(now, out->amz_date);
    }
    if (rc == 0) {
        rc = es_sigv4_sha256_hex(req->body, req->body_len, out->payload_hash);
    }
    if (rc < 0) {
        goto out;
    }
    signed_extras(cfg, creds, out);
    rc = es_sigv4_canonical_request(req, out->headers, out->nheaders, cfg->flags,
                                    out->payload_hash, &out->canonical_request,
                                    &out->signed_headers);
    if (rc == 0) {
        rc = sign_canonical(cfg, creds, cache, out);
    }
    if (rc < 0) {
        goto out;
    }
    if (has_token(creds) && (cfg->flags & ES_SIGV4_TOKEN_UNSIGNED)) {
        add_header(out, "X-Amz-Security-Token", creds->session_token);
    }
    add_header(out, "Authorization", out->authorization.data);
out:
    if (rc < 0) {
        result_reset(out);
    }
    return rc;
}
