/*
 * The platform's shared helpers (platform.h): clocks, function lookup, and
 * the end-of-shutdown check. Kept apart from up.c (the command and its
 * wiring to the docstore) so unit tests link the platform without it.
 */
#include "platform/platform.h"

#include "platform/function.h"
#include "platform/template.h"

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

platform_function_t *platform_find_function(platform_t *p, const char *name)
{
    for (size_t i = 0; i < p->n_functions; i++) {
        if (strcmp(p->functions[i]->spec->name, name) == 0)
            return p->functions[i];
    }
    return NULL;
}

static size_t live_instances(const platform_t *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_functions; i++)
        n += p->functions[i]->n_live;
    return n;
}

void platform_check_stopped(platform_t *p)
{
    if (p->stopping && live_instances(p) == 0)
        event_base_loopbreak(p->base);
}
