/*
 * JSON strings, base64, random ids and a JSON validator (see json.h).
 */
#include "platform/json.h"

#include "common/crypto.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void random_bytes(unsigned char *out, size_t n)
{
    if (RAND_bytes(out, (int)n) != 1) {
        /* OpenSSL's generator failed (no entropy?): fall back to weaker bytes
         * rather than fail an invocation; ids only need to be unique. */
        static uint64_t x = 0x9e3779b97f4a7c15ULL;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out[i] = (unsigned char)x;
        }
    }
}

/* Ids need uniqueness, not secrecy: a xorshift128+ seeded once from
 * OpenSSL (whose RAND_bytes costs a getpid(2) per call for fork safety). */
static void fast_bytes(unsigned char *out, size_t n)
{
    static uint64_t s[2];
    static int seeded;
    if (!seeded) {
        random_bytes((unsigned char *)s, sizeof s);
        s[0] |= 1;
        seeded = 1;
    }
    for (size_t i = 0; i < n;) {
        uint64_t x = s[0], y = s[1];
        s[0] = y;
        x ^= x << 23;
        s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
        uint64_t v = s[1] + y;
        for (int k = 0; k < 8 && i < n; k++, i++, v >>= 8)
            out[i] = (unsigned char)v;
    }
}

void platform_fast_chars(char *out, size_t n, const char *alphabet)
{
    size_t alen = strlen(alphabet);
    unsigned char r[64];
    for (size_t i = 0; i < n; i++) {
        if (i % sizeof r == 0)
            fast_bytes(r, sizeof r);
        out[i] = alphabet[r[i % sizeof r] % alen];
    }
    out[n] = '\0';
}

void platform_uuid(char out[37])
{
    unsigned char r[16];
    fast_bytes(r, sizeof r);
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

void platform_random_chars(char *out, size_t n, const char *alphabet)
{
    size_t alen = strlen(alphabet);
    unsigned char r[64];
    for (size_t i = 0; i < n; i++) {
        if (i % sizeof r == 0)
            random_bytes(r, sizeof r);
        out[i] = alphabet[r[i % sizeof r] % alen];
    }
    out[n] = '\0';
}

/* A recursive-descent JSON validator, depth-limited. */
static int hexdig(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

typedef struct jv {
    const char *s;
    size_t n, i;
    int depth;
} jv_t;

static void jv_ws(jv_t *j)
{
    while (j->i < j->n &&
           (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int jv_lit(jv_t *j, const char *lit)
{
    size_t l = strlen(lit);
    if (j->n - j->i < l || memcmp(j->s + j->i, lit, l) != 0)
        return 0;
    j->i += l;
    return 1;
}

static int jv_string(jv_t *j)
{
    j->i++; /* opening quote */
    while (j->i < j->n) {
        unsigned char c = (unsigned char)j->s[j->i++];
        if (c == '"')
            return 1;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (j->i >= j->n)
                return 0;
            char e = j->s[j->i++];
            if (e == 'u') {
                for (int k = 0; k < 4; k++, j->i++)
                    if (j->i >= j->n || hexdig(j->s[j->i]) == 0)
                        return 0;
            } else if (strchr("\"\\/bfnrt", e) == NULL || e == '\0') {
                return 0;
            }
        }
    }
    return 0;
}

static int jv_digits(jv_t *j)
{
    size_t start = j->i;
    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
        j->i++;
    return j->i > start;
}

static int jv_number(jv_t *j)
{
    if (j->s[j->i] == '-')
        j->i++;
    if (j->i < j->n && j->s[j->i] == '0')
        j->i++;
    else if (!jv_digits(j))
        return 0;
    if (j->i < j->n && j->s[j->i] == '.') {
        j->i++;
        if (!jv_digits(j))
            return 0;
    }
    if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
        j->i++;
        if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-'))
            j->i++;
        if (!jv_digits(j))
            return 0;
    }
    return 1;
}

static int jv_value(jv_t *j)
{
    jv_ws(j);
    if (j->i >= j->n)
        return 0;
    char c = j->s[j->i];
    if (c == '"')
        return jv_string(j);
    if (c == 't')
        return jv_lit(j, "true");
    if (c == 'f')
        return jv_lit(j, "false");
    if (c == 'n')
        return jv_lit(j, "null");
    if (c == '-' || (c >= '0' && c <= '9'))
        return jv_number(j);
    if (c != '{' && c != '[')
        return 0;
    if (++j->depth > 512)
        return 0;
    char close = c == '{' ? '}' : ']';
    j->i++;
    jv_ws(j);
    if (j->i < j->n && j->s[j->i] == close) {
        j->i++;
        j->depth--;
        return 1;
    }
    for (;;) {
        if (c == '{') {
            jv_ws(j);
            if (j->i >= j->n || j->s[j->i] != '"' || !jv_string(j))
                return 0;
            jv_ws(j);
            if (j->i >= j->n || j->s[j->i] != ':')
                return 0;
            j->i++;
        }
        if (!jv_value(j))
            return 0;
        jv_ws(j);
        if (j->i >= j->n)
            return 0;
        if (j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        if (j->s[j->i] != close)
            return 0;
        j->i++;
        j->depth--;
        return 1;
    }
}

int platform_json_valid(const char *s, size_t n)
{
    jv_t j = {s, n, 0, 0};
    if (!jv_value(&j))
        return 0;
    jv_ws(&j);
    return j.i == n;
}

int platform_utf8_check(const char *s, size_t n, unsigned char *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0; /* overlong below */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates above */
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90; /* overlong below */
            else if (c == 0xF4)
                hi = 0x8F; /* past U+10FFFF above */
        } else {
            *bad = c;
            return PLATFORM_UTF8_BAD_START;
        }
        for (size_t k = 1; k < len; k++) {
            unsigned char m = i + k < n ? u[i + k] : 0;
            if (k == 1 ? (m < lo || m > hi) : (m < 0x80 || m > 0xBF)) {
                *bad = m;
                return PLATFORM_UTF8_BAD_MIDDLE;
            }
        }
        i += len;
    }
    return PLATFORM_UTF8_VALID;
}
