/*
 * Streamed responses micro-benchmark: the CPU the Runtime API's tap
 * (stream_tap.c) adds to every invocation, since it follows every request on
 * every Runtime API connection, and what framing a PayloadChunk costs
 * (eventstream.c). No I/O: the tap adds no system call, so this is all it
 * costs.
 *   build/bench/bench_stream [iterations]
 */
#include "platform/eventstream.h"
#include "platform/stream_tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t reported;

static void sink(void *arg, const char *id, platform_tap_part_t part, const char *data, size_t n)
{
    (void)arg;
    (void)id;
    (void)part;
    (void)data;
    reported += n;
}

/* ns per call of platform_tap_feed over the whole of in, fed in pieces of piece bytes. */
static double tap_ns(const char *in, size_t n, size_t piece, long iters)
{
    platform_tap_t t;
    platform_tap_init(&t, sink, NULL);
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        for (size_t off = 0; off < n; off += piece)
            platform_tap_feed(&t, in + off, n - off < piece ? n - off : piece);
    }
    return (now() - t0) * 1e9 / (double)iters;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    if (iters <= 0)
        iters = 1000000;
    /* what libtether sends for one warm buffered invocation: the answer with
     * the next GET /next pipelined behind it */
    static const char warm[] =
        "POST /2018-06-01/runtime/invocation/8a1b2c3d-0000-4000-8000-123456789abc/response "
        "HTTP/1.1\r\nHost: 127.0.0.1:40000\r\nUser-Agent: libtether/0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"hello\":\"world\"}"
        "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:40000\r\n"
        "User-Agent: libtether/0.1\r\n\r\n";
    double warm_ns = tap_ns(warm, sizeof warm - 1, sizeof warm - 1, iters);
    printf("tap, one warm invocation's requests (%zu bytes, one read): %.0f ns\n", sizeof warm - 1,
           warm_ns);

    /* a streamed response of 64 chunks of 1 KB, read 4 KB at a time */
    size_t chunks = 64, chunk = 1024;
    size_t cap = 512 + chunks * (chunk + 16) + 64;
    char *s = malloc(cap);
    if (s == NULL)
        return 1;
    size_t n = (size_t)snprintf(s, cap,
                                "POST /2018-06-01/runtime/invocation/8a1b2c3d-0000-4000-8000-"
                                "123456789abc/response HTTP/1.1\r\n"
                                "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0; i < chunks; i++) {
        n += (size_t)snprintf(s + n, cap - n, "%zx\r\n", chunk);
        memset(s + n, 'x', chunk);
        n += chunk;
        memcpy(s + n, "\r\n", 2);
        n += 2;
    }
    memcpy(s + n, "0\r\n\r\n", 5);
    n += 5;
    long siters = iters / 100 > 0 ? iters / 100 : 1;
    reported = 0;
    double stream_ns = tap_ns(s, n, 4096, siters);
    printf("tap, a streamed 64 KB response in 1 KB chunks, read 4 KB at a time: %.1f us "
           "(%.2f ns per byte; %zu bytes reported per run)\n",
           stream_ns / 1000, stream_ns / (double)n, reported / (size_t)siters);
    free(s);

    /* framing one 1 KB PayloadChunk */
    char payload[1024];
    memset(payload, 'x', sizeof payload);
    buf_t b;
    buf_init(&b, 1 << 20);
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        b.len = 0;
        if (platform_eventstream_append_event(&b, "PayloadChunk", "application/octet-stream",
                                              payload, sizeof payload) != 0)
            return 1;
    }
    printf("event stream, framing a 1 KB PayloadChunk (two CRC32s): %.0f ns\n",
           (now() - t0) * 1e9 / (double)iters);
    buf_free(&b);
    return 0;
}
