/* Unit tests of InvokeWithResponseStream's pieces: the event stream framing
 * (eventstream.c), checked by decoding it as the SDKs do, CRCs included; and
 * the Runtime API's tap (stream_tap.c) on pipelined requests fed at every
 * split, which must report exactly a streamed response's chunk data and
 * trailers and nothing of the other requests. */
#include "harness.h"
#include "platform/eventstream.h"
#include "platform/stream_tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decodes one message at m (n bytes available): 0 and its fields, or -1. */
static int decode(const unsigned char *m, size_t n, size_t *total, char *event_type,
                  char *content_type, char *message_type, const unsigned char **payload,
                  size_t *payload_len)
{
    if (n < 16)
        return -1;
    *total = be32(m);
    uint32_t hl = be32(m + 4);
    if (*total > n || *total < 16 + (size_t)hl || be32(m + 8) != (uint32_t)crc32(0L, m, 8) ||
        be32(m + *total - 4) != (uint32_t)crc32(0L, m, (uInt)(*total - 4)))
        return -1;
    const unsigned char *h = m + 12, *he = h + hl;
    while (h < he) {
        size_t nl = h[0];
        const char *name = (const char *)h + 1;
        if (h[1 + nl] != 7)
            return -1;
        size_t vl = (size_t)h[2 + nl] << 8 | h[3 + nl];
        char *dst = nl == 11 && memcmp(name, ":event-type", 11) == 0     ? event_type
                    : nl == 13 && memcmp(name, ":content-type", 13) == 0 ? content_type
                    : nl == 13 && memcmp(name, ":message-type", 13) == 0 ? message_type
                                                                         : NULL;
        if (dst == NULL || vl > 63)
            return -1;
        memcpy(dst, h + 4 + nl, vl);
        dst[vl] = '\0';
        h += 4 + nl + vl;
    }
    *payload = he;
    *payload_len = *total - 16 - hl;
    return 0;
}

static void test_eventstream(void)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    CHECK_INT(platform_eventstream_append_event(&b, "PayloadChunk", "application/octet-stream",
                                                "part 0\n", 7),
              0);
    CHECK_INT(platform_eventstream_append_event(&b, "InvokeComplete", "application/json", "{}", 2),
              0);
    CHECK_INT(
        platform_eventstream_append_event(&b, "PayloadChunk", "application/octet-stream", NULL, 0),
        0);
    const unsigned char *m = (const unsigned char *)b.data;
    size_t left = b.len, total, plen;
    char et[64], ct[64], mt[64];
    const unsigned char *pl;
    CHECK_INT(decode(m, left, &total, et, ct, mt, &pl, &plen), 0);
    CHECK_STR(et, "PayloadChunk");
    CHECK_STR(ct, "application/octet-stream");
    CHECK_STR(mt, "event");
    CHECK_INT(plen, 7);
    CHECK(memcmp(pl, "part 0\n", 7) == 0);
    m += total;
    left -= total;
    CHECK_INT(decode(m, left, &total, et, ct, mt, &pl, &plen), 0);
    CHECK_STR(et, "InvokeComplete");
    CHECK_STR(ct, "application/json");
    CHECK_INT(plen, 2);
    m += total;
    left -= total;
    CHECK_INT(decode(m, left, &total, et, ct, mt, &pl, &plen), 0);
    CHECK_INT(plen, 0);
    CHECK_INT(left, total);
    /* a flipped byte of the last message breaks its CRC, not the others' */
    b.data[b.len - 5] ^= 1;
    CHECK_INT(decode(m, left, &total, et, ct, mt, &pl, &plen), -1);
    CHECK_INT(decode((const unsigned char *)b.data, b.len, &total, et, ct, mt, &pl, &plen), 0);
    /* a full buffer leaves it unchanged */
    buf_t small;
    buf_init(&small, 40);
    CHECK_INT(platform_eventstream_append_event(&small, "PayloadChunk", "application/octet-stream",
                                                "x", 1),
              BUF_ERR_TOOBIG);
    CHECK_INT(small.len, 0);
    buf_free(&small);
    buf_free(&b);
}

/* The decoder reads back what the encoder writes, at every prefix length,
 * and refuses a flipped byte anywhere. */
static void test_eventstream_decode(void)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    CHECK_INT(platform_eventstream_append_event(&b, "PayloadChunk", "application/octet-stream",
                                                "hello", 5),
              0);
    platform_event_t ev;
    for (size_t n = 0; n < b.len; n++)
        CHECK_INT(platform_eventstream_decode(b.data, n, 1 << 20, &ev), PLATFORM_EVENTSTREAM_MORE);
    CHECK_INT(platform_eventstream_decode(b.data, b.len, 1 << 20, &ev), 0);
    CHECK_STR(ev.event_type, "PayloadChunk");
    CHECK_STR(ev.content_type, "application/octet-stream");
    CHECK_STR(ev.message_type, "event");
    CHECK_INT(ev.payload_len, 5);
    CHECK(memcmp(ev.payload, "hello", 5) == 0);
    CHECK_INT(ev.total, b.len);
    CHECK_INT(platform_eventstream_decode(b.data, b.len, b.len - 1, &ev), PLATFORM_EVENTSTREAM_BAD);
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x10;
        int r = platform_eventstream_decode(b.data, b.len, 1 << 20, &ev);
        CHECK(r != 0);
        b.data[i] ^= 0x10;
    }
    buf_free(&b);
}

typedef struct seen {
    char data[4096];
    size_t data_len;
    char trailers[4096];
    size_t trailers_len;
    char ids[256];
} seen_t;

static void sink(void *arg, const char *id, platform_tap_part_t part, const char *data, size_t n)
{
    seen_t *s = arg;
    if (strstr(s->ids, id) == NULL && strlen(s->ids) + strlen(id) + 2 < sizeof s->ids) {
        strcat(s->ids, id);
        strcat(s->ids, ";");
    }
    if (part == PLATFORM_TAP_DATA && s->data_len + n < sizeof s->data) {
        memcpy(s->data + s->data_len, data, n);
        s->data_len += n;
    } else if (part == PLATFORM_TAP_TRAILERS && s->trailers_len + n < sizeof s->trailers) {
        memcpy(s->trailers + s->trailers_len, data, n);
        s->trailers_len += n;
    }
}

/* A runtime's connection: GET /next, a streamed response with an empty line
 * before a chunk size and trailers, a buffered response whose body looks like
 * chunks, a streamed error body without the mode header, then another
 * streamed response (LF line ends). */
static const char stream_in[] =
    "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
    "POST /2018-06-01/runtime/invocation/id-1/response HTTP/1.1\r\n"
    "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Trailer: Lambda-Runtime-Function-Error-Type\r\n\r\n"
    "6\r\nfirst\n\r\n\r\n7 \r\nsecond\n\r\n0\r\n"
    "Lambda-Runtime-Function-Error-Type: E\r\n\r\n"
    "POST /2018-06-01/runtime/invocation/id-2/response HTTP/1.1\r\n"
    "Content-Length: 14\r\n\r\n"
    "3\r\nBAD\r\n0\r\n\r\n"
    "POST /2018-06-01/runtime/invocation/id-3/response HTTP/1.1\r\n"
    "Transfer-Encoding: chunked\r\n\r\n"
    "3\r\nBAD\r\n0\r\n\r\n"
    "GET /2018-06-01/runtime/invocation/next HTTP/1.1\n\n"
    "POST /2018-06-01/runtime/invocation/id-4/response HTTP/1.1\n"
    "lambda-runtime-function-response-mode:  streaming \n"
    "transfer-encoding: chunked\n\n"
    "a\nthird--ok\n\n0\n\n";

static void check_seen(const seen_t *s)
{
    CHECK_INT(s->data_len, 23);
    CHECK(memcmp(s->data, "first\nsecond\nthird--ok\n", 23) == 0);
    CHECK_STR(s->ids, "id-1;id-4;");
    static const char tr[] = "Lambda-Runtime-Function-Error-Type: E\r\n\r\n\n";
    CHECK_INT(s->trailers_len, sizeof tr - 1);
    CHECK(memcmp(s->trailers, tr, sizeof tr - 1) == 0);
}

static void test_tap(void)
{
    size_t n = sizeof stream_in - 1;
    for (size_t piece = 1; piece <= n; piece = piece < 16 ? piece + 1 : piece * 2) {
        seen_t s;
        memset(&s, 0, sizeof s);
        platform_tap_t t;
        platform_tap_init(&t, sink, &s);
        for (size_t i = 0; i < n; i += piece)
            platform_tap_feed(&t, stream_in + i, n - i < piece ? n - i : piece);
        check_seen(&s);
        CHECK_INT(t.state, PLATFORM_TAP_HEAD);
    }
    /* malformed framing: the tap stops reporting and never reads past its input */
    static const char *bad[] = {
        "POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\r\n"
        "zz\r\nfirst\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: nope\r\n\r\nabc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seen_t s;
        memset(&s, 0, sizeof s);
        platform_tap_t t;
        platform_tap_init(&t, sink, &s);
        platform_tap_feed(&t, bad[i], strlen(bad[i]));
        CHECK_INT(t.state, PLATFORM_TAP_PASS);
        CHECK_INT(s.data_len, 0);
    }
    /* a trailer line far longer than the tap's line buffer is reported whole */
    {
        static char big[4096];
        int hn = snprintf(big, sizeof big,
                          "POST /2018-06-01/runtime/invocation/id-9/response HTTP/1.1\r\n"
                          "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"
                          "Lambda-Runtime-Function-Error-Body: ");
        size_t at = (size_t)hn;
        memset(big + at, 'A', 2000);
        memcpy(big + at + 2000, "\r\n\r\n", 5);
        seen_t s2;
        memset(&s2, 0, sizeof s2);
        platform_tap_t t2;
        platform_tap_init(&t2, sink, &s2);
        for (size_t i = 0; i < strlen(big); i += 100)
            platform_tap_feed(&t2, big + i, strlen(big) - i < 100 ? strlen(big) - i : 100);
        CHECK_INT(s2.data_len, 1);
        CHECK_INT(s2.trailers_len, 36 + 2000 + 4);
        CHECK_INT(t2.state, PLATFORM_TAP_HEAD);
    }
    /* an id longer than a request id is not reported */
    char longid[400];
    snprintf(
        longid, sizeof longid,
        "POST /2018-06-01/runtime/invocation/%0100d/response HTTP/1.1\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1\r\nx\r\n0\r\n\r\n",
        7);
    seen_t s;
    memset(&s, 0, sizeof s);
    platform_tap_t t;
    platform_tap_init(&t, sink, &s);
    platform_tap_feed(&t, longid, strlen(longid));
    CHECK_INT(s.data_len, 0);
    CHECK_INT(t.state, PLATFORM_TAP_HEAD);
}

int main(void)
{
    RUN(test_eventstream);
    RUN(test_eventstream_decode);
    RUN(test_tap);
    return TEST_REPORT();
}
