/* Base64 (see base64.h). */
#include "common/base64.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes one group of 1-3 bytes into out[0..4). */
static void base64_group(const uint8_t *p, size_t len, char out[4])
{
    unsigned v = (unsigned)p[0] << 16;
    if (len > 1)
        v |= (unsigned)p[1] << 8;
    if (len > 2)
        v |= p[2];
    out[0] = base64_alphabet[(v >> 18) & 63];
    out[1] = base64_alphabet[(v >> 12) & 63];
    out[2] = len > 1 ? base64_alphabet[(v >> 6) & 63] : '=';
    out[3] = len > 2 ? base64_alphabet[v & 63] : '=';
}

size_t base64_encode(const void *in, size_t n, char *out)
{
    const uint8_t *p = in;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3, o += 4)
        base64_group(p + i, n - i < 3 ? n - i : 3, out + o);
    out[o] = '\0';
    return o;
}

int base64_append(buf_t *out, const void *in, size_t n)
{
    const uint8_t *p = in;
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        base64_group(p + i, n - i < 3 ? n - i : 3, q);
        int rc = buf_append(out, q, 4);
        if (rc != 0)
            return rc;
    }
    return out->data == NULL ? buf_append(out, "", 0) : 0;
}

/* The value of a base64 character, or -1. */
static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long base64_decode(const char *in, size_t n, uint8_t *out, size_t outcap, base64_padding_t padding)
{
    size_t pad = 0;
    while (pad < 2 && n > pad && in[n - 1 - pad] == '=')
        pad++;
    if (padding == BASE64_PADDED && n % 4 != 0)
        return -1;
    size_t data = n - pad;
    if (data % 4 == 1 || (pad > 0 && (data + pad) % 4 != 0))
        return -1;
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < data; i++) {
        int v = base64_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outcap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}
