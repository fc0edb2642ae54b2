/*
 * The recent invocations the live page shows (livepage.c reads them): a ring
 * of the last PLATFORM_LIVE_RECENT finished invocations, each with its id,
 * function, type, outcome, duration and the last PLATFORM_LIVE_TAIL_MAX bytes
 * of its log tail. invocation.c adds one as each invocation finishes, so the
 * record sits below both: neither the invocation nor the page calls the
 * other. One ring per process (tether up runs one platform on one thread).
 */
#ifndef TETHER_PLATFORM_RECENT_H
#define TETHER_PLATFORM_RECENT_H

#include "platform/logs.h"

#include <stddef.h>
#include <stdint.h>

#define PLATFORM_LIVE_RECENT   32   /* invocations kept for the page */
#define PLATFORM_LIVE_TAIL_MAX 4096 /* bytes of each one's log tail kept: Lambda's Tail */

typedef struct platform_recent {
    char id[37];
    char function[65];
    int event;         /* an Event invocation */
    int error;         /* the function answered an error */
    double ms;         /* delivery to result; -1 when never delivered */
    uint64_t ended_ms; /* wall clock */
    char tail[PLATFORM_LIVE_TAIL_MAX];
    size_t tail_len;
} platform_recent_t;

/* Remembers a finished invocation (ended now): the last
 * PLATFORM_LIVE_TAIL_MAX bytes of tail are copied. Cheap: a copy into the
 * ring, the oldest record dropped when it is full. */
void platform_recent_add(const char *id, const char *function, int event, int error, double ms,
                         const platform_tail_t *tail);
/* Records held (at most PLATFORM_LIVE_RECENT). */
size_t platform_recent_count(void);
/* The i-th newest record (0: the newest), i < platform_recent_count(). */
const platform_recent_t *platform_recent_get(size_t i);

#endif
