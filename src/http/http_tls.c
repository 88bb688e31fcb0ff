/*
 * The TLS side of the HTTP client, in the manner of curl's OpenSSL backend:
 * peer verification against ca_file or the system store, host name (or IP
 * address) checked by OpenSSL, SNI for names, an optional client
 * certificate, a minimum protocol version.
 */
#include "http/http_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

struct sk_tls_cache {
    struct sk_tls_cache *next;
    SSL_CTX *ctx;
    struct sk_http_tls tls;      /* the settings, strings owned */
};

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_settings(const struct sk_http_tls *a, const struct sk_http_tls *b)
{
    return a->verify == b->verify && a->min_version == b->min_version &&
           same_str(a->ca_file, b->ca_file) && same_str(a->client_cert, b->client_cert) &&
           same_str(a->client_key, b->client_key) &&
           same_str(a->client_key_pass, b->client_key_pass);
}

static void free_settings(struct sk_http_tls *t)
{
    sk_free((char *)t->ca_file);
    sk_free((char *)t->client_cert);
    sk_free((char *)t->client_key);
    sk_free((char *)t->client_key_pass);
}

static int dup_str(const char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL) {
        return 0;
    }
    *dst = sk_strdup(src);
    return *dst != NULL ? 0 : -1;
}

static int copy_settings(struct sk_http_tls *dst, const struct sk_http_tls *src)
{
    *dst = *src;
    if (dup_str(&dst->ca_file, src->ca_file) < 0 ||
        dup_str(&dst->client_cert, src->client_cert) < 0 ||
        dup_str(&dst->client_key, src->client_key) < 0 ||
        dup_str(&dst->client_key_pass, src->client_key_pass) < 0) {
        return -1;
    }
    return 0;
}

void sk_tls_cache_destroy(struct sk_tls_cache *cache)
{
    while (cache != NULL) {
        struct sk_tls_cache *next = cache->next;

        SSL_CTX_free(cache->ctx);
        free_settings(&cache->tls);
        sk_free(cache);
        cache = next;
    }
}

static void openssl_reason(const char *what, const char *file, char *err, size_t err_size)
{
    char reason[256];
    unsigned long e = ERR_get_error();

    if (e != 0) {
        ERR_error_string_n(e, reason, sizeof(reason));
    } else {
        snprintf(reason, sizeof(reason), "unknown error");
    }
    ERR_clear_error();
    snprintf(err, err_size, "%s %s: %s", what, file != NULL ? file : "", reason);
}

static int key_password(char *buf, int size, int rwflag, void *userdata)
{
    const char *pass = userdata;
    size_t len = pass != NULL ? strlen(pass) : 0;

    (void)rwflag;
    if (len > (size_t)size) {
        return 0;
    }
    memcpy(buf, pass, len);
    return (int)len;
}

static const int versions[] = {TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION};

static SSL_CTX *make_ctx(const struct sk_http_tls *tls, char *err, size_t err_size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL) {
        openssl_reason("cannot create a TLS context", NULL, err, err_size);
        return NULL;
    }
    /* Partial writes let the body go out as the socket takes it; released
     * buffers keep an idle keep-alive connection at a few hundred bytes. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx, tls->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (tls->min_version >= 10 && tls->min_version <= 13) {
        SSL_CTX_set_min_proto_version(ctx, versions[tls->min_version - 10]);
    }
    /* Not verifying, the system store's few hundred certificates stay unread. */
    if (tls->ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, tls->ca_file, NULL) != 1) {
            openssl_reason("cannot load ca_file", tls->ca_file, err, err_size);
            goto fail;
        }
    } else if (tls->verify && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        openssl_reason("cannot load the system CA store", NULL, err, err_size);
        goto fail;
    }
    if (tls->client_cert != NULL) {
        SSL_CTX_set_default_passwd_cb(ctx, key_password);
        SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)tls->client_key_pass);
        if (SSL_CTX_use_certificate_chain_file(ctx, tls->client_cert) != 1) {
            openssl_reason("cannot load client_cert", tls->client_cert, err, err_size);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, tls->client_key != NULL ? tls->client_key
                                                                     : tls->client_cert,
                                        SSL_FILETYPE_PEM) != 1) {
            openssl_reason("cannot load client_key", tls->client_key, err, err_size);
            goto fail;
        }
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *sk_tls_ctx(struct sk_tls_cache **cache, const struct sk_http_tls *tls, char *err,
                    size_t err_size)
{
    static const struct sk_http_tls system_store = {.verify = true};
    struct sk_tls_cache *e;

    if (tls == NULL) {
        tls = &system_store;
    }
    for (e = *cache; e != NULL; e = e->next) {
        if (same_settings(&e->tls, tls)) {
            return e->ctx;
        }
    }
    e = sk_calloc(1, sizeof(*e));
    if (e == NULL || copy_settings(&e->tls, tls) < 0) {
        if (e != NULL) {
            free_settings(&e->tls);
        }
        sk_free(e);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    /* The password callback reads the cache's copy, which lives as long as ctx. */
    e->ctx = make_ctx(&e->tls, err, err_size);
    if (e->ctx == NULL) {
        free_settings(&e->tls);
        sk_free(e);
        return NULL;
    }
    e->next = *cache;
    *cache = e;
    return e->ctx;
}

static bool is_ip_literal(const char *host)
{
    unsigned char a[16];

    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

SSL *sk_tls_session(SSL_CTX *ctx, int fd, const char *host, bool verify, char *err,
                    size_t err_size)
{
    SSL *ssl = SSL_new(ctx);
    bool ip = is_ip_literal(host);

    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        openssl_reason("cannot start TLS", NULL, err, err_size);
        SSL_free(ssl);
        return NULL;
    }
    if (!ip && SSL_set_tlsext_host_name(ssl, host) != 1) {
        openssl_reason("cannot set the TLS server name", host, err, err_size);
        SSL_free(ssl);
        return NULL;
    }
    if (verify) {
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
                    : SSL_set1_host(ssl, host);

        if (ok != 1) {
            openssl_reason("cannot set the name to verify", host, err, err_size);
            SSL_free(ssl);
            return NULL;
        }
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

void sk_tls_describe_error(SSL *ssl, int ssl_err, const char *host, char *err, size_t err_size)
{
    long verify = SSL_get_verify_result(ssl);
    unsigned long e = ERR_peek_error();
    char reason[256];

    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        snprintf(err, err_size, "TLS certificate verification failed: the certificate is not for %s",
                 host);
    } else if (verify != X509_V_OK) {
        snprintf(err, err_size, "TLS certificate verification failed: %s",
                 X509_verify_cert_error_string(verify));
    } else if (e != 0) {
        ERR_error_string_n(e, reason, sizeof(reason));
        snprintf(err, err_size, "TLS error: %s", reason);
    } else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
        snprintf(err, err_size, "TLS connection closed by the peer");
    } else {
        snprintf(err, err_size, "TLS error %d", ssl_err);
    }
    ERR_clear_error();
}
