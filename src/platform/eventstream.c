/*
 * AWS event stream framing (see eventstream.h).
 */
#include "platform/eventstream.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define HEADER_TYPE_STRING 7 /* the value type byte of a string header */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* One string header: name length (1 byte), name, type 7, value length (2 bytes), value. */
static int append_header(buf_t *out, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (nl > 255 || vl > 65535)
        return BUF_ERR_TOOBIG;
    unsigned char head[1] = {(unsigned char)nl};
    unsigned char mid[3] = {HEADER_TYPE_STRING, (unsigned char)(vl >> 8), (unsigned char)vl};
    int rc = buf_append(out, (const char *)head, 1);
    if (rc == 0)
        rc = buf_append(out, name, nl);
    if (rc == 0)
        rc = buf_append(out, (const char *)mid, 3);
    if (rc == 0)
        rc = buf_append(out, value, vl);
    return rc;
}

int platform_eventstream_append_event(buf_t *out, const char *event_type, const char *content_type,
                                      const void *payload, size_t len)
{
    size_t start = out->len;
    unsigned char prelude[PLATFORM_EVENTSTREAM_PRELUDE] = {0};
    int rc = buf_append(out, (const char *)prelude, sizeof prelude);
    if (rc == 0)
        rc = append_header(out, ":event-type", event_type);
    if (rc == 0)
        rc = append_header(out, ":content-type", content_type);
    if (rc == 0)
        rc = append_header(out, ":message-type", "event");
    size_t headers_len = rc == 0 ? out->len - start - sizeof prelude : 0;
    if (rc == 0 && len > 0)
        rc = buf_append(out, payload, len);
    size_t total = out->len - start + PLATFORM_EVENTSTREAM_TRAILER;
    if (rc == 0 && total > UINT32_MAX)
        rc = BUF_ERR_TOOBIG;
    if (rc != 0) {
        out->len = start;
        return rc;
    }
    unsigned char *m = (unsigned char *)out->data + start;
    put_be32(m, (uint32_t)total);
    put_be32(m + 4, (uint32_t)headers_len);
    put_be32(m + 8, (uint32_t)crc32(0L, m, 8));
    unsigned char crc[PLATFORM_EVENTSTREAM_TRAILER];
    put_be32(crc, (uint32_t)crc32(0L, m, (uInt)(total - PLATFORM_EVENTSTREAM_TRAILER)));
    rc = buf_append(out, (const char *)crc, sizeof crc);
    if (rc != 0)
        out->len = start;
    return rc;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The bytes a header value of type t takes after its type byte (strings and
 * byte arrays: their 2-byte length, read from v), or 0 for a bad type. */
static size_t value_size(unsigned t, const unsigned char *v, size_t left)
{
    switch (t) {
    case 0: /* bool true */
    case 1: /* bool false */
        return 0;
    case 2: /* byte */
        return 1;
    case 3: /* short */
        return 2;
    case 4: /* int */
        return 4;
    case 5: /* long */
    case 8: /* timestamp */
        return 8;
    case 9: /* uuid */
        return 16;
    case 6: /* bytes */
    case HEADER_TYPE_STRING:
        return left < 2 ? SIZE_MAX : 2 + ((size_t)v[0] << 8 | v[1]);
    default:
        return SIZE_MAX;
    }
}

static void keep(char *dst, size_t cap, const unsigned char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

int platform_eventstream_decode(const void *in, size_t n, size_t max_total, platform_event_t *ev)
{
    const unsigned char *m = in;
    memset(ev, 0, sizeof *ev);
    if (n < PLATFORM_EVENTSTREAM_PRELUDE)
        return PLATFORM_EVENTSTREAM_MORE;
    size_t total = get_be32(m), hl = get_be32(m + 4);
    if (get_be32(m + 8) != (uint32_t)crc32(0L, m, 8) ||
        total < PLATFORM_EVENTSTREAM_PRELUDE + PLATFORM_EVENTSTREAM_TRAILER ||
        hl > total - PLATFORM_EVENTSTREAM_PRELUDE - PLATFORM_EVENTSTREAM_TRAILER ||
        total > max_total)
        return PLATFORM_EVENTSTREAM_BAD;
    if (n < total)
        return PLATFORM_EVENTSTREAM_MORE;
    if (get_be32(m + total - PLATFORM_EVENTSTREAM_TRAILER) !=
        (uint32_t)crc32(0L, m, (uInt)(total - PLATFORM_EVENTSTREAM_TRAILER)))
        return PLATFORM_EVENTSTREAM_BAD;
    const unsigned char *h = m + PLATFORM_EVENTSTREAM_PRELUDE, *he = h + hl;
    while (h < he) {
        size_t nl = h[0];
        if ((size_t)(he - h) < 2 + nl)
            return PLATFORM_EVENTSTREAM_BAD;
        const unsigned char *name = h + 1;
        unsigned type = h[1 + nl];
        const unsigned char *v = h + 2 + nl;
        size_t vs = value_size(type, v, (size_t)(he - v));
        if (vs == SIZE_MAX || vs > (size_t)(he - v))
            return PLATFORM_EVENTSTREAM_BAD;
        if (type == HEADER_TYPE_STRING) {
            if (nl == 11 && memcmp(name, ":event-type", 11) == 0)
                keep(ev->event_type, sizeof ev->event_type, v + 2, vs - 2);
            else if (nl == 13 && memcmp(name, ":content-type", 13) == 0)
                keep(ev->content_type, sizeof ev->content_type, v + 2, vs - 2);
            else if (nl == 13 && memcmp(name, ":message-type", 13) == 0)
                keep(ev->message_type, sizeof ev->message_type, v + 2, vs - 2);
        }
        h = v + vs;
    }
    ev->payload = (const char *)he;
    ev->payload_len = total - PLATFORM_EVENTSTREAM_PRELUDE - hl - PLATFORM_EVENTSTREAM_TRAILER;
    ev->total = total;
    return 0;
}
