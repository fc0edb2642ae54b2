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
