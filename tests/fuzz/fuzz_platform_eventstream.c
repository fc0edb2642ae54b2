/*
 * libFuzzer target: the event stream decoder (eventstream.c) that
 * `tether invoke --stream` runs on the platform's answers, on arbitrary
 * bytes: message after message until one is incomplete or malformed. It must
 * never crash or read out of bounds, and a decoded message lies inside its
 * input.
 */
#include "platform/eventstream.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        platform_event_t ev;
        if (platform_eventstream_decode(data + off, size - off, 1 << 20, &ev) != 0)
            return 0;
        if (ev.total == 0 || ev.total > size - off ||
            ev.payload + ev.payload_len > (const char *)data + off + ev.total)
            __builtin_trap();
        if (ev.payload_len > 0)
            (void)(volatile char)ev.payload[ev.payload_len - 1];
        off += ev.total;
    }
}
