#include "filter_elasticsearch_genid/genid_hash.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

int genid_b64(const void *in, size_t len, char *out, size_t size)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *u = in;
    size_t need = 4 * ((len + 2) / 3) + 1;
    size_t o = 0;

    if (size < need) {
        return SK_ETOOBIG;
    }
    for (size_t i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long)u[i] << 16 | (i + 1 < len ? (unsigned long)u[i + 1] << 8 : 0) |
                          (i + 2 < len ? u[i + 2] : 0);

        out[o++] = chars[v >> 18 & 63];
        out[o++] = chars[v >> 12 & 63];
        out[o++] = i + 1 < len ? chars[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? chars[v & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}

int genid_digest_b64(enum genid_hash h, const void *seed, size_t len, char *out, size_t size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const EVP_MD *type;

    switch (h) {
    case GENID_MD5:
        type = EVP_md5();
        break;
    case GENID_SHA256:
        type = EVP_sha256();
        break;
    case GENID_SHA512:
        type = EVP_sha512();
        break;
    default:
        type = EVP_sha1();
        break;
    }
    if (EVP_Digest(seed, len, md, &mdlen, type, NULL) != 1) {
        return SK_ENOMEM;
    }
    return genid_b64(md, mdlen, out, size);
}

int genid_uuid_b64(char *out, size_t size)
{
    unsigned char r[16];
    char uuid[37];

    if (RAND_bytes(r, sizeof(r)) != 1) {
        return SK_EIO;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(uuid, sizeof(uuid),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
             r[15]);
    return genid_b64(uuid, 36, out, size);
}
