/* OpenSSL wrappers; see crypto.h. */
#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const EVP_MD *crypto_md(crypto_hash_t h)
{
    return h == CRYPTO_SHA1 ? EVP_sha1() : EVP_sha256();
}

size_t crypto_hash_len(crypto_hash_t h)
{
    return h == CRYPTO_SHA1 ? CRYPTO_SHA1_LEN : CRYPTO_SHA256_LEN;
}

int crypto_random(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

int crypto_digest(crypto_hash_t h, const void *data, size_t n, uint8_t *out)
{
    unsigned int len = 0;
    return EVP_Digest(data, n, out, &len, crypto_md(h), NULL) == 1 ? 0 : -1;
}

int crypto_hmac(crypto_hash_t h, const void *key, size_t keylen, const void *data, size_t n,
                uint8_t *out)
{
    unsigned int len = 0;
    return HMAC(crypto_md(h), key, (int)keylen, data, n, out, &len) != NULL ? 0 : -1;
}

int crypto_pbkdf2(crypto_hash_t h, const char *password, size_t pwlen, const uint8_t *salt,
                  size_t saltlen, int iterations, uint8_t *out)
{
    return PKCS5_PBKDF2_HMAC(password, (int)pwlen, salt, (int)saltlen, iterations, crypto_md(h),
                             (int)crypto_hash_len(h), out) == 1
               ? 0
               : -1;
}

int crypto_md5_hex(const void *data, size_t n, char out[33])
{
    uint8_t md[16];
    unsigned int len = 0;
    if (EVP_Digest(data, n, md, &len, EVP_md5(), NULL) != 1)
        return -1;
    crypto_hex(md, sizeof md, out);
    return 0;
}

void crypto_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void crypto_cleanse(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}
