/*
 * Base64, standard alphabet (RFC 4648), for every part: SCRAM's and
 * MONGODB-AWS's nonces and proofs in the docstore, the platform's log tails
 * and client contexts, libtether's streamed-error trailers. Plain C with no
 * dependency, so libtether (which compiles it in) needs no OpenSSL for it.
 */
#ifndef TETHER_COMMON_BASE64_H
#define TETHER_COMMON_BASE64_H

#include "common/buf.h"

#include <stddef.h>
#include <stdint.h>

/* The encoded length of n bytes, padding included (without the NUL). */
#define BASE64_ENCODED_LEN(n) (4 * (((n) + 2) / 3))

typedef enum base64_padding {
    BASE64_PADDED = 0,       /* '=' padding required to a multiple of 4 (SCRAM) */
    BASE64_PAD_OPTIONAL = 1, /* accepted with or without it (AWS headers) */
} base64_padding_t;

/* Encodes n bytes of in, padded, into out (BASE64_ENCODED_LEN(n) + 1 bytes,
 * NUL-terminated). Returns the length. */
size_t base64_encode(const void *in, size_t n, char *out);

/* Appends the encoding of n bytes of in to out. 0, or out's error (BUF_ERR_*). */
__attribute__((warn_unused_result)) int base64_append(buf_t *out, const void *in, size_t n);

/* Decodes n characters of in (no whitespace) into out (outcap bytes).
 * Returns the decoded length, or -1 when malformed or too long for out. */
__attribute__((warn_unused_result)) long base64_decode(const char *in, size_t n, uint8_t *out,
                                                       size_t outcap, base64_padding_t padding);

#endif
