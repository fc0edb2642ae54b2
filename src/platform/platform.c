/*
 * The platform's shared helpers (platform.h): clocks. (Function lookup and
 * the end-of-shutdown check, which read the functions, are function.c's.) Kept apart from up.c (the
 * command and its wiring to the docstore) so unit tests link the platform without it.
 */
#include "platform/platform.h"

#include <event2/event.h>
#include <string.h>
#include <time.h>

uint64_t platform_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t platform_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
