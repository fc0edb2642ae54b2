/*
 * libFuzzer target: the Invoke API's body guard (body_guard.c) on arbitrary
 * request streams, fed in pieces whose sizes come from the input's first
 * byte, with a small limit so cuts happen. It must never crash or read out of
 * bounds, its output must fit the room it asks for, and an edit may only
 * replace bytes that are still in the simulated evhttp buffer.
 */
#include "platform/body_guard.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)(data[0] % 64) + 1;
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    platform_guard_t g;
    platform_guard_init(&g, 16 + (data[0] >> 6) * 1000);
    char *out = malloc(platform_guard_out_max(piece));
    if (out == NULL)
        return 0;
    size_t buffered = 0; /* bytes evhttp would hold: it reads nothing here */
    for (size_t i = 0; i < len; i += piece) {
        size_t n = len - i < piece ? len - i : piece;
        size_t held = 0, olen = 0;
        platform_guard_result_t r = platform_guard_feed(&g, s + i, n, out, &olen, &held);
        if (r == PLATFORM_GUARD_KEEP) {
            buffered += n;
        } else if (r == PLATFORM_GUARD_REWRITE) {
            if (held > buffered || olen > platform_guard_out_max(n))
                __builtin_trap();
            if (olen > 0)
                (void)(volatile char)out[olen - 1];
            buffered = buffered - held + olen;
        } else if (r != PLATFORM_GUARD_DROP_ALL) {
            __builtin_trap();
        }
    }
    free(out);
    return 0;
}
