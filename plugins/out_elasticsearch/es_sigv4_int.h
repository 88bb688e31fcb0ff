#ifndef SK_OUT_ELASTICSEARCH_ES_SIGV4_INT_H
#define SK_OUT_ELASTICSEARCH_ES_SIGV4_INT_H

/*
 * The steps of es_sigv4_sign(), for es_sigv4*.c and the unit tests only
 * (they also build query-string "presigned" canonical requests from them to
 * run the suite's query vectors). The output buffers are appended to; on
 * failure they may hold a partial result.
 */
#include <stddef.h>
#include <time.h>

#include "out_elasticsearch/es_sigv4.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * Appends the canonical form of the wire path `path` (see es_sigv4.h).
 * `flags`: ES_SIGV4_NO_NORMALIZE. SK_EINVAL for NULL, no leading '/', '?',
 * '#' or a control character; SK_ETOOBIG, SK_ENOMEM from `out`.
 */
int es_sigv4_canonical_path(const char *path, unsigned flags, struct sk_buf *out) SK_WUR;

/*
 * Appends the canonical form of the wire query string `query` (NULL or ""
 * append nothing). SK_EINVAL for a '%' not followed by two hex digits;
 * SK_ETOOBIG, SK_ENOMEM.
 */
int es_sigv4_canonical_query(const char *query, struct sk_buf *out) SK_WUR;

/*
 * Appends the canonical request of `req` to `creq` and its SignedHeaders
 * list to `signed_headers`. The signed headers are req->headers followed by
 * `extra` (may be NULL when nextra is 0), less the never-signed ones;
 * `payload_hash` (hex) is the last line; req->body is not read. `flags`:
 * ES_SIGV4_NO_NORMALIZE. SK_EINVAL for no Host, an empty or non-token
 * header name, CR or LF in a value, and what the two calls above reject;
 * SK_ETOOBIG, SK_ENOMEM.
 */
int es_sigv4_canonical_request(const struct es_sigv4_request *req,
                               const struct es_sigv4_header *extra, size_t nextra,
                               unsigned flags, const char *payload_hash, struct sk_buf *creq,
                               struct sk_buf *signed_headers) SK_WUR;

/*
 * Appends the string to sign for `creq` (its bytes, not a NUL string),
 * `amz_date` ("YYYYMMDDTHHMMSSZ") and `scope` ("date/region/service/
 * aws4_request"). SK_ETOOBIG; SK_ENOMEM, also when libcrypto fails.
 */
int es_sigv4_string_to_sign(const char *amz_date, const char *scope, const char *creq,
                            size_t creq_len, struct sk_buf *out) SK_WUR;

/* Writes `now` as "YYYYMMDDTHHMMSSZ" (UTC). SK_ERANGE before 1970 or after 9999. */
int es_sigv4_format_date(time_t now, char amz_date[17]) SK_WUR;

/*
 * Derives kSigning for `date` ("YYYYMMDD"), `region` and `service`.
 * SK_EINVAL for a secret longer than ES_SIGV4_SECRET_MAX; SK_ENOMEM when
 * libcrypto fails (it fails only on allocation).
 */
int es_sigv4_derive_key(const char *secret, const char *date, const char *region,
                        const char *service, unsigned char key[32]) SK_WUR;

/* Writes hex(HMAC-SHA256(key, data)) with a NUL. SK_ENOMEM as above. */
int es_sigv4_hmac_hex(const unsigned char key[32], const void *data, size_t len,
                      char hex[65]) SK_WUR;

/* Writes hex(SHA-256(data)) with a NUL; data may be NULL when len is 0. */
int es_sigv4_sha256_hex(const void *data, size_t len, char hex[65]) SK_WUR;

#endif
