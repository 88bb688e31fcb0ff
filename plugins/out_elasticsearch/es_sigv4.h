#ifndef SK_OUT_ELASTICSEARCH_ES_SIGV4_H
#define SK_OUT_ELASTICSEARCH_ES_SIGV4_H

/*
 * AWS Signature Version 4, header form, for Amazon Elasticsearch / OpenSearch
 * Service domains (signing name "es") and OpenSearch Serverless ("aoss").
 *
 * Pure: no network, no clock, no globals. The caller passes the request
 * exactly as it goes on the wire and the current time; es_sigv4_sign()
 * returns the headers to add. What is hashed and signed:
 *
 *   canonical request                   string to sign
 *   +---------------------------------+ +--------------------------------------+
 *   | METHOD                       \n | | AWS4-HMAC-SHA256                  \n |
 *   | canonical path               \n | | YYYYMMDDTHHMMSSZ                  \n |
 *   | canonical query              \n | | YYYYMMDD/region/service/aws4_request |
 *   | name:value  (one per name)   \n | |                                   \n |
 *   | ...                             | | hex(SHA-256(canonical request))      |
 *   |                              \n | +--------------------------------------+
 *   | signed;header;names          \n |
 *   | hex(SHA-256(body as sent))      |   kSigning = HMAC(HMAC(HMAC(HMAC(
 *   +---------------------------------+     "AWS4" secret, date), region),
 *                                           service), "aws4_request")
 *
 *   Authorization: AWS4-HMAC-SHA256 Credential=<akid>/<scope>,
 *                  SignedHeaders=<names>, Signature=hex(HMAC(kSigning, sts))
 *
 * Canonical forms (AWS spec, checked against the AWS test suites):
 * - path: the wire path, dot segments and empty segments removed (unless
 *   ES_SIGV4_NO_NORMALIZE), then percent-encoded once more, '%' included:
 *   every service but S3 signs the encoded path encoded a second time, so
 *   "/%3Clogs-%7Bnow%2Fd%7D%3E" is signed as "/%253Clogs-%257Bnow%252Fd%257D%253E".
 * - query: split on '&', each "name=value" (a missing '=' means an empty
 *   value) percent-decoded then encoded (RFC 3986 unreserved kept; '+' is a
 *   literal plus, not a space), sorted by encoded name, then value.
 * - headers: names lower-cased and sorted; values trimmed with inner runs
 *   of blanks collapsed to one space; repeated names joined with ','.
 *   Hop-by-hop headers and ones that proxies or clients rewrite
 *   (User-Agent, Expect, Connection, ...) are sent but never signed.
 */
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

/* Bounds of what es_sigv4_sign() accepts and produces. */
#define ES_SIGV4_NAME_MAX 63        /* region and service name */
#define ES_SIGV4_KEY_ID_MAX 128     /* access key id */
#define ES_SIGV4_SECRET_MAX 256     /* secret access key */
#define ES_SIGV4_CANON_MAX 65536    /* canonical request (path, query, headers) */
#define ES_SIGV4_HEADERS_MAX 8192   /* Authorization value, SignedHeaders list */
#define ES_SIGV4_MAX_ADDED 4        /* headers es_sigv4_sign() adds */

struct es_sigv4_header {
    const char *name;  /* borrowed */
    const char *value; /* borrowed */
};

struct es_sigv4_creds {
    const char *access_key_id;     /* borrowed */
    const char *secret_access_key; /* borrowed */
    const char *session_token;     /* borrowed; NULL or "" for long-term keys */
};

struct es_sigv4_request {
    const char *method; /* "POST" */
    /* As sent: already URI-encoded, starts with '/', no '?' or '#'. */
    const char *path;
    const char *query; /* as sent, without the '?'; NULL or "" for none */
    /* Every header that is sent, Host included (required). Must not hold
     * the headers the signer adds (Authorization, X-Amz-Date, and
     * X-Amz-Security-Token / X-Amz-Content-Sha256 when it adds those). */
    const struct es_sigv4_header *headers; /* borrowed */
    size_t nheaders;
    const void *body; /* exactly the bytes sent (compressed, if gzip); borrowed */
    size_t body_len;
};

enum es_sigv4_flags {
    /* Add and sign X-Amz-Content-Sha256; OpenSearch Serverless requires it. */
    ES_SIGV4_CONTENT_SHA256 = 1 << 0,
    /* Sign the path as given, without removing "." "..", "//" (S3 style). */
    ES_SIGV4_NO_NORMALIZE = 1 << 1,
    /* Add X-Amz-Security-Token after signing, outside SignedHeaders (the
     * services that want that); by default the token is signed. */
    ES_SIGV4_TOKEN_UNSIGNED = 1 << 2,
};

struct es_sigv4_config {
    const char *region;  /* "eu-west-1"; borrowed */
    const char *service; /* signing name: "es" for domains, "aoss" for serverless */
    unsigned flags;      /* ES_SIGV4_* */
};

/*
 * The derived signing key for one (secret, day, region, service), so that
 * requests within a UTC day cost one HMAC instead of five. It keeps a
 * SHA-256 of secret, region and service, not the secret, and derives again
 * when any of them or the day changes (credential rotation included).
 * Caller storage; not thread-safe: one per signing thread.
 */
struct es_sigv4_key_cache {
    unsigned char key[32];   /* kSigning */
    unsigned char scope[32]; /* SHA-256 of secret, region and service */
    char date[9];            /* "YYYYMMDD" of key; "" while empty */
    uint64_t derivations;    /* keys computed: for tests and metrics */
    uint64_t hits;           /* signatures that reused the key */
};

void es_sigv4_key_cache_init(struct es_sigv4_key_cache *c);

/* Wipes the key. Accepts NULL. The cache can be used again afterwards. */
void es_sigv4_key_cache_cleanup(struct es_sigv4_key_cache *c);

/*
 * What es_sigv4_sign() produces. headers[] lists the headers to add to the
 * request: X-Amz-Date, X-Amz-Security-Token (with a session token),
 * X-Amz-Content-Sha256 (with ES_SIGV4_CONTENT_SHA256), and last
 * Authorization. Their names are static strings; their values point into
 * this struct, except the session token, which is borrowed from the
 * credentials. The canonical request and string to sign are kept for
 * debug logs: on a 403 AWS answers with the canonical request it expected.
 */
struct es_sigv4_result {
    struct es_sigv4_header headers[ES_SIGV4_MAX_ADDED];
    size_t nheaders;
    char amz_date[17];               /* "YYYYMMDDTHHMMSSZ" */
    char payload_hash[65];           /* hex SHA-256 of the body */
    char signature[65];              /* hex */
    struct sk_buf authorization;     /* owned: the Authorization value */
    struct sk_buf signed_headers;    /* owned: "host;x-amz-date" */
    struct sk_buf canonical_request; /* owned */
    struct sk_buf string_to_sign;    /* owned */
};

/* Prepares an empty result. No allocation. */
void es_sigv4_result_init(struct es_sigv4_result *r);

/* Frees the buffers. Accepts NULL; the result can be initialised again. */
void es_sigv4_result_cleanup(struct es_sigv4_result *r);

/*
 * Signs `req` with `creds` for cfg->region and cfg->service at time `now`
 * (seconds since the epoch, UTC; the caller reads the clock) into `out`,
 * which must have been initialised; it may be reused for many requests and
 * keeps its storage between them. `cache` may be NULL (derive every time).
 * Borrows everything; nothing is retained but the key in `cache`.
 *
 * Returns 0; SK_EINVAL for a missing or malformed argument (no Host header,
 * a header the signer adds given by the caller, CR/LF in a header value,
 * a path without a leading '/' or with '?', a bad %-escape in the query,
 * region or service outside [a-z0-9-]); SK_ERANGE for a time before 1970
 * or after 9999; SK_ETOOBIG past the ES_SIGV4_*_MAX bounds; SK_ENOMEM.
 * On failure out->nheaders is 0 and out still needs es_sigv4_result_cleanup().
 */
int es_sigv4_sign(const struct es_sigv4_config *cfg, const struct es_sigv4_creds *creds,
                  const struct es_sigv4_request *req, time_t now,
                  struct es_sigv4_key_cache *cache, struct es_sigv4_result *out) SK_WUR;

#endif
