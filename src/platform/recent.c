/*
 * The recent invocations ring (recent.h).
 */
#include "platform/recent.h"

#include "platform/platform.h"

#include <stdio.h>

static platform_recent_t ring[PLATFORM_LIVE_RECENT];
static size_t next;  /* where the next record goes */
static size_t count; /* records held, <= PLATFORM_LIVE_RECENT */

void platform_recent_add(const char *id, const char *function, int event, int error, double ms,
                         const platform_tail_t *tail)
{
    platform_recent_t *r = &ring[next];
    next = (next + 1) % PLATFORM_LIVE_RECENT;
    if (count < PLATFORM_LIVE_RECENT)
        count++;
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->function, sizeof r->function, "%s", function);
    r->event = event;
    r->error = error;
    r->ms = ms;
    r->ended_ms = platform_wall_ms();
    /* the tail's last bytes, oldest first, read out of its ring */
    size_t n = tail->len < PLATFORM_LIVE_TAIL_MAX ? tail->len : PLATFORM_LIVE_TAIL_MAX;
    size_t from = (tail->start + tail->len - n) % PLATFORM_TAIL_MAX;
    for (size_t i = 0; i < n; i++)
        r->tail[i] = tail->data[(from + i) % PLATFORM_TAIL_MAX];
    r->tail_len = n;
}

size_t platform_recent_count(void)
{
    return count;
}

const platform_recent_t *platform_recent_get(size_t i)
{
    return &ring[(next + PLATFORM_LIVE_RECENT - 1 - i) % PLATFORM_LIVE_RECENT];
}
