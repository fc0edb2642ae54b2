/*
 * The little JSON and base64 the platform writes (JSON strings themselves are
 * escaped by common/buf.h): base64 for X-Amz-Log-Result and
 * X-Amz-Client-Context, and random ids (request ids, credentials).
 */
#ifndef TETHER_PLATFORM_JSON_H
#define TETHER_PLATFORM_JSON_H

#include "common/buf.h"

#include <stddef.h>

/* JSON strings are escaped by common/buf.h (buf_append_json_str,
 * buf_append_json_cstr); this name stays for the unit test that pins it. */
__attribute__((warn_unused_result)) static inline int platform_json_str(buf_t *b, const char *s,
                                                                        size_t n)
{
    return buf_append_json_str(b, s, n);
}

/* A UUID v4 in lower-case hex with dashes (37 bytes with NUL), from the fast generator. */
void platform_uuid(char out[37]);
/* n characters from alphabet into out (n + 1 bytes with NUL) from a fast
 * generator seeded once: unique, not secret (request and trace ids). */
void platform_fast_chars(char *out, size_t n, const char *alphabet);
/* n random characters from alphabet into out (n + 1 bytes with NUL), from
 * OpenSSL's generator: for secrets. */
void platform_random_chars(char *out, size_t n, const char *alphabet);

/* 1 when s (n bytes) is one JSON value (RFC 8259) with optional whitespace. */
int platform_json_valid(const char *s, size_t n);

/* Outcomes of platform_utf8_check. */
enum {
    PLATFORM_UTF8_VALID = 0,     /* every byte is well-formed UTF-8 (RFC 3629) */
    PLATFORM_UTF8_BAD_START = 1, /* a byte that cannot begin a character */
    PLATFORM_UTF8_BAD_MIDDLE = 2 /* a lead byte not followed by its continuation bytes */
};
/* Checks that s (n bytes) is well-formed UTF-8: no overlong forms, no
 * surrogates, nothing past U+10FFFF. Returns a PLATFORM_UTF8_ outcome; on a
 * bad one *bad (OUT) is the offending byte (0 for a sequence the end of s
 * cuts). */
int platform_utf8_check(const char *s, size_t n, unsigned char *bad /* OUT */);

#endif
