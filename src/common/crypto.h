/*
 * Small wrappers over OpenSSL for what two parts need: random bytes, SHA-1/256
 * digests and HMACs, PBKDF2 and hex (base64: base64.h). Used by the docstore's SCRAM and
 * MONGODB-AWS (SigV4) authentication and by the platform's credentials.
 */
#ifndef TETHER_COMMON_CRYPTO_H
#define TETHER_COMMON_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA1_LEN   20
#define CRYPTO_SHA256_LEN 32
#define CRYPTO_MAX_MD_LEN 32

typedef enum crypto_hash {
    CRYPTO_SHA1 = 0,   /* SCRAM-SHA-1 */
    CRYPTO_SHA256 = 1, /* SCRAM-SHA-256, SigV4 */
} crypto_hash_t;

/* Digest length in bytes of h. */
size_t crypto_hash_len(crypto_hash_t h);
/* Fills buf with n cryptographically random bytes. 0 or -1. */
__attribute__((warn_unused_result)) int crypto_random(void *buf, size_t n);
/* out receives crypto_hash_len(h) bytes. 0 or -1. */
__attribute__((warn_unused_result)) int crypto_digest(crypto_hash_t h, const void *data, size_t n,
                                                      uint8_t *out);
__attribute__((warn_unused_result)) int crypto_hmac(crypto_hash_t h, const void *key,
                                                    size_t keylen, const void *data, size_t n,
                                                    uint8_t *out);
__attribute__((warn_unused_result)) int crypto_pbkdf2(crypto_hash_t h, const char *password,
                                                      size_t pwlen, const uint8_t *salt,
                                                      size_t saltlen, int iterations,
                                                      uint8_t *out);
/* MD5 as lowercase hex (33 bytes with NUL), for SCRAM-SHA-1's password digest. */
__attribute__((warn_unused_result)) int crypto_md5_hex(const void *data, size_t n, char out[33]);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void crypto_hex(const uint8_t *in, size_t n, char *out);
/* Overwrites n bytes at p with zeros in a way the compiler keeps (p may be NULL). */
void crypto_cleanse(void *p, size_t n);
/* Constant-time comparison of n bytes. */
bool crypto_equal(const void *a, const void *b, size_t n);

#endif
