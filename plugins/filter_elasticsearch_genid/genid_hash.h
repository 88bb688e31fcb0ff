#ifndef SK_FILTER_ELASTICSEARCH_GENID_GENID_HASH_H
#define SK_FILTER_ELASTICSEARCH_GENID_GENID_HASH_H

/*
 * The digests and random ids of the elasticsearch_genid filter. Kept in a
 * file of its own because OpenSSL's headers define a macro named sk_free,
 * which collides with util/alloc.h.
 */
#include <stddef.h>

#include "util/err.h"

enum genid_hash {
    GENID_MD5,
    GENID_SHA1,
    GENID_SHA256,
    GENID_SHA512,
};

/* Base64 (strict, padded) of the digest of seed[0..len). `out` needs 89
 * bytes for SHA-512. Returns the length, or SK_ENOMEM / SK_ETOOBIG. */
int genid_digest_b64(enum genid_hash h, const void *seed, size_t len, char *out,
                     size_t size) SK_WUR;

/* Ruby's Base64.strict_encode64(SecureRandom.uuid): base64 of a random
 * version-4 UUID *string* (36 characters), 48 characters. Returns the
 * length, or SK_EIO when no randomness is available. */
int genid_uuid_b64(char *out, size_t size) SK_WUR;

/* Strict base64 of in[0..len) into out (NUL-terminated). Returns the length
 * or SK_ETOOBIG. */
int genid_b64(const void *in, size_t len, char *out, size_t size) SK_WUR;

#endif
