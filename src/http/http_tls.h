#ifndef SK_HTTP_HTTP_TLS_H
#define SK_HTTP_HTTP_TLS_H

#include <stddef.h>

#include "http/http.h"

/*
 * OpenSSL contexts for the HTTP client, one per distinct set of TLS
 * settings, made on first use: a skiff that talks plain HTTP never
 * initialises OpenSSL at all.
 */
struct ssl_ctx_st;
struct ssl_st;
struct sk_tls_cache;

void sk_tls_cache_destroy(struct sk_tls_cache *cache);

/* The context for `tls` (NULL: verify against the system store), made and
 * kept in *cache on first use. NULL on failure, with the reason in err. */
struct ssl_ctx_st *sk_tls_ctx(struct sk_tls_cache **cache, const struct sk_http_tls *tls,
                              char *err, size_t err_size);

/* A client session on `fd` for `host` (SNI, and the name or IP address the
 * certificate must carry when verifying). NULL on failure, reason in err. */
struct ssl_st *sk_tls_session(struct ssl_ctx_st *ctx, int fd, const char *host, bool verify,
                              char *err, size_t err_size);

/* Describes the last TLS failure of `ssl` with `host` (verification result
 * first). */
void sk_tls_describe_error(struct ssl_st *ssl, int ssl_err, const char *host, char *err,
                           size_t err_size);

#endif
