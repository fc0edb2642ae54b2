/*
 * libFuzzer target: the Runtime API's tap (stream_tap.c) on arbitrary request
 * streams, fed in pieces whose sizes come from the input's first byte. It
 * must never crash or read out of bounds, and what it reports as a streamed
 * body or trailers is always bytes of its input, in order.
 */
#include "platform/stream_tap.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct span {
    const char *start, *end; /* the input */
    const char *last;        /* the end of the last report */
} span_t;

static void sink(void *arg, const char *id, platform_tap_part_t part, const char *d, size_t n)
{
    span_t *s = arg;
    (void)part;
    if (strlen(id) == 0 || strlen(id) > PLATFORM_TAP_ID_MAX || n == 0 || d < s->last ||
        d + n > s->end)
        __builtin_trap();
    (void)(volatile char)d[n - 1];
    s->last = d + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)(data[0] % 64) + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    span_t s = {in, in + len, in};
    platform_tap_t t;
    platform_tap_init(&t, sink, &s);
    for (size_t i = 0; i < len; i += piece)
        platform_tap_feed(&t, in + i, len - i < piece ? len - i : piece);
    return 0;
}
