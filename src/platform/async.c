/*
 * Event invocation retries and age limits (see async.h). A failed attempt
 * that may run again leaves the scheduler: it waits on its own timer, listed
 * in fn->retry_wait so shutdown can drop it, then goes back through
 * platform_function_invoke like a new event (a warm instance, a new one, or
 * the queue), under the same request id. The retry delays follow AWS's shape
 * (the second twice the first) at the scale --retry-delay sets.
 */
#include "platform/async.h"

#include "common/log.h"
#include "platform/function.h"
#include "platform/invocation.h"
#include "platform/platform.h"
#include "platform/template.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int platform_async_prepare(platform_invocation_t *inv)
{
    if (inv->type != PLATFORM_INVOKE_EVENT || inv->fn->spec->event_max_retries <= 0)
        return 0;
    size_t n = evbuffer_get_length(inv->payload);
    inv->event_copy = malloc(n > 0 ? n : 1);
    if (inv->event_copy == NULL)
        return -1;
    if (n > 0 && evbuffer_copyout(inv->payload, inv->event_copy, n) != (ev_ssize_t)n) {
        free(inv->event_copy);
        inv->event_copy = NULL;
        return -1;
    }
    inv->event_copy_len = n;
    return 0;
}

/* The errorType of an error document, reduced to a safe identifier for the
 * log ("Unknown" when there is none): never the payload or the message. */
static void error_type(const char *body, size_t len, char *out, size_t outlen)
{
    static const char key[] = "\"errorType\"";
    snprintf(out, outlen, "Unknown");
    if (body == NULL)
        return;
    const char *end = body + len;
    const char *p = body;
    while ((size_t)(end - p) >= sizeof key - 1) {
        const char *k = memchr(p, '"', (size_t)(end - p));
        if (k == NULL || (size_t)(end - k) < sizeof key - 1)
            return;
        if (memcmp(k, key, sizeof key - 1) != 0) {
            p = k + 1;
            continue;
        }
        p = k + sizeof key - 1;
        while (p < end && (*p == ' ' || *p == ':' || *p == '\t'))
            p++;
        if (p >= end || *p != '"')
            return;
        p++;
        size_t o = 0;
        while (p < end && *p != '"' && o + 1 < outlen && o < 64) {
            char ch = *p++;
            int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == ':';
            out[o++] = ok ? ch : '?';
        }
        if (o > 0)
            out[o] = '\0';
        return;
    }
}

/* Logs and counts a dropped event after its attempts; the caller frees it. */
static void dropped(platform_invocation_t *inv, unsigned attempts, const char *why)
{
    platform_function_t *fn = inv->fn;
    fn->async_dropped++;
    log_warn(fn->spec->name, "event %s dropped after %u attempt%s: %s", inv->id, attempts,
             attempts == 1 ? "" : "s", why);
}

static uint64_t age_ms(const platform_invocation_t *inv)
{
    return (platform_now_us() - inv->created_us) / 1000;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    platform_invocation_t *inv = arg;
    platform_function_t *fn = inv->fn;
    TAILQ_REMOVE(&fn->retry_wait, inv, queue_link);
    fn->retry_waiting--;
    event_free(inv->retry_timer);
    inv->retry_timer = NULL;
    /* a fresh attempt: the payload again (delivery gave the last one away),
     * no delivery time, an empty log tail */
    evbuffer_drain(inv->payload, evbuffer_get_length(inv->payload));
    if (inv->event_copy_len > 0 &&
        evbuffer_add(inv->payload, inv->event_copy, inv->event_copy_len) != 0) {
        dropped(inv, inv->retries, "out of memory");
        platform_invocation_discard(inv);
        return;
    }
    inv->delivered_us = 0;
    memset(&inv->tail, 0, sizeof inv->tail);
    log_info(fn->spec->name, "event %s: retry %u of %d", inv->id, inv->retries,
             fn->spec->event_max_retries);
    if (platform_function_invoke(fn, inv) != 0) {
        dropped(inv, inv->retries, "the function's event queue is full");
        platform_invocation_discard(inv);
    }
}

int platform_async_failed(platform_invocation_t *inv, const char *body, size_t len)
{
    platform_function_t *fn = inv->fn;
    platform_t *p = fn->p;
    const platform_function_spec_t *spec = fn->spec;
    char type[72];
    error_type(body, len, type, sizeof type);
    if (p->stopping) {
        log_warn(spec->name, "event %s failed (%s) as the platform stops: not retried", inv->id,
                 type);
        return 0;
    }
    char why[160];
    if ((int)inv->retries >= spec->event_max_retries) {
        snprintf(why, sizeof why, "%s (MaximumRetryAttempts %d)", type, spec->event_max_retries);
        dropped(inv, inv->retries + 1, why);
        return 0;
    }
    uint64_t delay = (uint64_t)p->cfg.retry_delay_ms << inv->retries;
    /* AWS discards an event once it is older than the maximum age; one that
     * would be by the time of its retry is dropped now */
    if (age_ms(inv) + delay > (uint64_t)spec->event_max_age_s * 1000) {
        snprintf(why, sizeof why,
                 "%s, and it would be older than MaximumEventAgeInSeconds (%d) at its retry", type,
                 spec->event_max_age_s);
        dropped(inv, inv->retries + 1, why);
        return 0;
    }
    if (inv->event_copy == NULL) {
        dropped(inv, inv->retries + 1, "its payload was not kept");
        return 0;
    }
    inv->retry_timer = evtimer_new(p->base, retry_cb, inv);
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    if (inv->retry_timer == NULL || evtimer_add(inv->retry_timer, &tv) != 0) {
        if (inv->retry_timer != NULL)
            event_free(inv->retry_timer);
        inv->retry_timer = NULL;
        dropped(inv, inv->retries + 1, "cannot arm its retry timer");
        return 0;
    }
    inv->retries++;
    TAILQ_INSERT_TAIL(&fn->retry_wait, inv, queue_link);
    fn->retry_waiting++;
    fn->async_retries++;
    log_warn(spec->name, "event %s failed (%s): retry %u of %d in %llu ms", inv->id, type,
             inv->retries, spec->event_max_retries, (unsigned long long)delay);
    return 1;
}

int platform_async_expire(platform_invocation_t *inv)
{
    if (inv->type != PLATFORM_INVOKE_EVENT ||
        age_ms(inv) <= (uint64_t)inv->fn->spec->event_max_age_s * 1000)
        return 0;
    char why[96];
    snprintf(why, sizeof why, "older than MaximumEventAgeInSeconds (%d) in the queue",
             inv->fn->spec->event_max_age_s);
    dropped(inv, inv->retries, why);
    platform_invocation_discard(inv);
    return 1;
}

void platform_async_stop(platform_function_t *fn)
{
    platform_invocation_t *inv;
    while ((inv = TAILQ_FIRST(&fn->retry_wait)) != NULL) {
        TAILQ_REMOVE(&fn->retry_wait, inv, queue_link);
        fn->retry_waiting--;
        dropped(inv, inv->retries, "the platform stopped before its retry");
        platform_invocation_discard(inv);
    }
}
