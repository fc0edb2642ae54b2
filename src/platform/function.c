/*
 * Functions and their scheduler (see function.h). The rule, as AWS Lambda
 * applies it: a warm instance parked in /next takes the invocation; else, if
 * the function runs fewer instances than its ReservedConcurrentExecutions, a
 * new instance starts for it; else a RequestResponse is throttled (429) and
 * an Event waits in the queue until an instance is free. Event invocations
 * that fail are retried here too, as AWS does (the section below).
 */
#include "platform/function.h"

#include "common/log.h"
#include "platform/code.h"
#include "platform/instance.h"
#include "platform/invocation.h"
#include "platform/platform.h"
#include "platform/sandbox.h"
#include "platform/template.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- Event invocations after a failure (docs/platform.md, "Event
 * invocations"): as AWS Lambda handles them, a failed attempt (function
 * error, timeout, crash, init failure) runs again up to
 * EventInvokeConfig.MaximumRetryAttempts more times, after --retry-delay and
 * then twice that, under the same request id; an event that would be older
 * than MaximumEventAgeInSeconds when it next runs is dropped. A failed attempt
 * that may run again leaves the scheduler: it waits on its own timer, listed
 * in fn->retry_wait so shutdown can drop it, then goes back through
 * platform_function_invoke like a new event. Every retry and drop is logged
 * with the request id and counted in the function's status. ---- */

/* Keeps a copy of a new Event invocation's payload when its function retries
 * (delivery hands the payload itself to the runtime). -1 on allocation failure. */
static int async_prepare(platform_invocation_t *inv)
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

/* An Event attempt failed with the error document body: schedules a retry and
 * returns 1 (the invocation is kept), or logs and counts the drop and returns 0
 * (the caller frees it). */
static int async_failed(platform_invocation_t *inv, const char *body, size_t len)
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

/* 1 when an Event invocation waiting in the queue has outlived its function's
 * MaximumEventAgeInSeconds: then it has been logged, counted and freed. */
static int async_expire(platform_invocation_t *inv)
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

/* Shutdown: drops (frees) every invocation waiting for a retry. */
static void async_stop(platform_function_t *fn)
{
    platform_invocation_t *inv;
    while ((inv = TAILQ_FIRST(&fn->retry_wait)) != NULL) {
        TAILQ_REMOVE(&fn->retry_wait, inv, queue_link);
        fn->retry_waiting--;
        dropped(inv, inv->retries, "the platform stopped before its retry");
        platform_invocation_discard(inv);
    }
}

/* An executable named prog in PATH, or NULL. Caller frees. */
static char *find_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path != '\0') {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char cand[PATH_MAX];
        if (len > 0 && len + strlen(prog) + 2 < sizeof cand) {
            snprintf(cand, sizeof cand, "%.*s/%s", (int)len, path, prog);
            if (access(cand, X_OK) == 0)
                return strdup(cand);
        }
        path += len;
        if (*path == ':')
            path++;
    }
    return NULL;
}

/* dir/node_modules/aws-lambda-ric/bin/index.mjs if it exists. */
static int ric_in(const char *nm_dir, char **script, char **pkg)
{
    char cand[PATH_MAX];
    if (snprintf(cand, sizeof cand, "%s/aws-lambda-ric/bin/index.mjs", nm_dir) >= (int)sizeof cand)
        return -1;
    if (access(cand, R_OK) != 0)
        return -1;
    char pkgdir[PATH_MAX];
    snprintf(pkgdir, sizeof pkgdir, "%s/aws-lambda-ric", nm_dir);
    *script = strdup(cand);
    *pkg = strdup(pkgdir);
    if (*script == NULL || *pkg == NULL) {
        free(*script);
        free(*pkg);
        return -1;
    }
    return 0;
}

int platform_find_ric(const char *dir, char **script_out, char **pkg_dir_out)
{
    char cur[PATH_MAX];
    if (snprintf(cur, sizeof cur, "%s", dir) >= (int)sizeof cur)
        return -1;
    /* as Node resolves packages: DIR/node_modules, then each parent's */
    for (;;) {
        char nm[PATH_MAX];
        size_t l = strlen(cur);
        while (l > 1 && cur[l - 1] == '/')
            cur[--l] = '\0';
        if (snprintf(nm, sizeof nm, "%s/node_modules", strcmp(cur, "/") ? cur : "") <
                (int)sizeof nm &&
            ric_in(nm, script_out, pkg_dir_out) == 0)
            return 0;
        char *slash = strrchr(cur, '/');
        if (slash == NULL || strcmp(cur, "/") == 0)
            break;
        if (slash == cur)
            cur[1] = '\0';
        else
            *slash = '\0';
    }
    /* then NODE_PATH, as Node does for global folders */
    const char *np = getenv("NODE_PATH");
    while (np != NULL && *np != '\0') {
        const char *colon = strchr(np, ':');
        size_t len = colon ? (size_t)(colon - np) : strlen(np);
        char nm[PATH_MAX];
        if (len > 0 && len < sizeof nm) {
            memcpy(nm, np, len);
            nm[len] = '\0';
            if (ric_in(nm, script_out, pkg_dir_out) == 0)
                return 0;
        }
        np += len;
        if (*np == ':')
            np++;
    }
    return -1;
}

static void on_spill(evutil_socket_t fd, short what, void *arg);
static void on_move(platform_instance_host_t *h, platform_instance_t *inst,
                    platform_instance_state_t to);
static void on_ready(platform_instance_host_t *h, platform_instance_t *inst);
static void on_dead(platform_instance_host_t *h, platform_instance_t *inst);

/* Runs on_spill in us microseconds. */
static void arm_spill(platform_function_t *fn, uint64_t us)
{
    struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
    evtimer_add(fn->spill, &tv);
}

int platform_function_new(platform_t *p, const platform_function_spec_t *spec,
                          platform_function_t **out, char *err, size_t errlen)
{
    platform_function_t *fn = calloc(1, sizeof *fn);
    if (fn == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fn->p = p;
    fn->spec = spec;
    TAILQ_INIT(&fn->init);
    TAILQ_INIT(&fn->idle);
    TAILQ_INIT(&fn->busy);
    TAILQ_INIT(&fn->returning);
    TAILQ_INIT(&fn->frozen);
    TAILQ_INIT(&fn->stopping);
    TAILQ_INIT(&fn->dead);
    TAILQ_INIT(&fn->live);
    TAILQ_INIT(&fn->queue);
    TAILQ_INIT(&fn->retry_wait);
    fn->spill = evtimer_new(p->base, on_spill, fn);
    char arn[512];
    snprintf(arn, sizeof arn, "arn:aws:lambda:%s:%s:function:%s", p->cfg.region, p->cfg.account,
             spec->name);
    fn->arn = strdup(arn);
    char prefix[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(prefix, sizeof prefix, "%04d/%02d/%02d/[$LATEST]", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    fn->log_stream_prefix = strdup(prefix);
    if (fn->spill == NULL || fn->arn == NULL || fn->log_stream_prefix == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (spec->kind == PLATFORM_RUNTIME_NODE) {
        fn->exec_path = find_in_path("node");
        if (fn->exec_path == NULL) {
            snprintf(err, errlen, "function %s (%s): no 'node' executable in PATH", spec->name,
                     spec->runtime);
            goto fail;
        }
        if (platform_find_ric(spec->code_dir, &fn->ric_script, &fn->runtime_dir) != 0) {
            snprintf(err, errlen,
                     "function %s (%s): node_modules/aws-lambda-ric not found in %s or any "
                     "parent folder (nor NODE_PATH); install it with 'npm install "
                     "aws-lambda-ric@3.3'",
                     spec->name, spec->runtime, spec->code_dir);
            goto fail;
        }
    } else {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/bootstrap", spec->code_dir);
        /* isolated, the code is at /var/task and the runtime's folder is
         * Lambda's /var/runtime (sandbox.h) */
        fn->isolated = platform_code_isolated(p, spec);
        fn->exec_path = strdup(fn->isolated ? PLATFORM_SANDBOX_TASK "/bootstrap" : path);
        fn->runtime_dir = strdup(fn->isolated ? PLATFORM_SANDBOX_RUNTIME : spec->code_dir);
        if (fn->exec_path == NULL || fn->runtime_dir == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        if (access(path, X_OK) != 0)
            log_warn(spec->name, "%s is not executable yet (%s): invocations will fail until it is",
                     path, strerror(errno));
    }
    static const platform_instance_events_t events = {on_move, on_ready, on_dead};
    fn->host = (platform_instance_host_t){
        .p = p,
        .spec = spec,
        .arn = fn->arn,
        .exec_path = fn->exec_path,
        .ric_script = fn->ric_script,
        .runtime_dir = fn->runtime_dir,
        .log_stream_prefix = fn->log_stream_prefix,
        .isolated = fn->isolated,
        .events = &events,
    };
    *out = fn;
    return 0;
fail:
    platform_function_free(fn);
    return -1;
}

/* The list of state s, and its length. */
static struct platform_instance_list *state_list(platform_function_t *fn,
                                                 platform_instance_state_t s, size_t **n)
{
    switch (s) {
    case PLATFORM_INSTANCE_INIT:
        *n = &fn->n_init;
        return &fn->init;
    case PLATFORM_INSTANCE_IDLE:
        *n = &fn->n_idle;
        return &fn->idle;
    case PLATFORM_INSTANCE_BUSY:
        *n = &fn->n_busy;
        return &fn->busy;
    case PLATFORM_INSTANCE_RETURNING:
        *n = &fn->n_returning;
        return &fn->returning;
    case PLATFORM_INSTANCE_FROZEN:
        *n = &fn->n_frozen;
        return &fn->frozen;
    case PLATFORM_INSTANCE_STOPPING:
        *n = &fn->n_stopping;
        return &fn->stopping;
    case PLATFORM_INSTANCE_DEAD:
        break;
    }
    *n = &fn->n_dead;
    return &fn->dead;
}

void platform_function_move(platform_function_t *fn, platform_instance_t *inst,
                            platform_instance_state_t to)
{
    size_t *n;
    struct platform_instance_list *list;
    if (inst->listed) {
        list = state_list(fn, inst->state, &n);
        TAILQ_REMOVE(list, inst, link);
        (*n)--;
        if (to == PLATFORM_INSTANCE_DEAD && inst->state != PLATFORM_INSTANCE_DEAD) {
            TAILQ_REMOVE(&fn->live, inst, live_link);
            fn->n_live--;
        }
    } else if (to != PLATFORM_INSTANCE_DEAD) {
        TAILQ_INSERT_TAIL(&fn->live, inst, live_link);
        fn->n_live++;
    }
    inst->listed = 1;
    inst->state = to;
    list = state_list(fn, to, &n);
    TAILQ_INSERT_TAIL(list, inst, link);
    (*n)++;
}

/* Takes inst off its lists (before it is freed). */
static void unlist(platform_function_t *fn, platform_instance_t *inst)
{
    if (!inst->listed)
        return;
    size_t *n;
    struct platform_instance_list *list = state_list(fn, inst->state, &n);
    TAILQ_REMOVE(list, inst, link);
    (*n)--;
    if (inst->state != PLATFORM_INSTANCE_DEAD) {
        TAILQ_REMOVE(&fn->live, inst, live_link);
        fn->n_live--;
    }
    inst->listed = 0;
}

void platform_function_free(platform_function_t *fn)
{
    if (fn == NULL)
        return;
    platform_invocation_t *inv;
    while ((inv = TAILQ_FIRST(&fn->queue)) != NULL) {
        TAILQ_REMOVE(&fn->queue, inv, queue_link);
        platform_invocation_fail(inv, "Runtime.Shutdown", "the platform stopped");
    }
    platform_instance_t *inst;
    while ((inst = TAILQ_FIRST(&fn->dead)) != NULL) {
        unlist(fn, inst);
        platform_instance_free(inst);
    }
    /* live instances are gone by now (shutdown waits for them) */
    while ((inst = TAILQ_FIRST(&fn->live)) != NULL) {
        unlist(fn, inst);
        platform_instance_kill(inst);
        platform_instance_free(inst);
    }
    async_stop(fn);
    if (fn->spill != NULL)
        event_free(fn->spill);
    free(fn->arn);
    free(fn->exec_path);
    free(fn->ric_script);
    free(fn->runtime_dir);
    free(fn->log_stream_prefix);
    free(fn);
}

/* ReservedConcurrentExecutions: the template's value, 10 when unset or 0. */
static size_t concurrency_cap(const platform_function_t *fn)
{
    return fn->spec->reserved_concurrency > 0 ? (size_t)fn->spec->reserved_concurrency : 10;
}

/* Instances that count against the cap: every live one not being stopped. */
static size_t running(const platform_function_t *fn)
{
    return fn->n_live - fn->n_stopping;
}

/* Starts an instance for inv; on failure finishes inv with the reason. */
static void start_for(platform_function_t *fn, platform_invocation_t *inv)
{
    char err[512];
    platform_instance_t *inst;
    if (platform_instance_spawn(&fn->host, &inst, err, sizeof err) != 0) {
        log_error(fn->spec->name, "cannot start an instance: %s", err);
        platform_invocation_fail(inv, "Runtime.InvalidEntrypoint", "RequestId: %s Error: %s",
                                 inv->id, err);
        return;
    }
    fn->instances_started++;
    platform_instance_deliver(inst, inv);
}

/* The most recently parked instance holding a /next (the warmest): the
 * newest idle one, else the newest frozen one (an instance freezes
 * PLATFORM_FREEZE_GRACE_US after it parks, so every idle one parked after
 * every frozen one). NULL if none. */
static platform_instance_t *parked(platform_function_t *fn)
{
    platform_instance_t *inst;
    TAILQ_FOREACH_REVERSE(inst, &fn->idle, platform_instance_list, link)
    {
        if (inst->next_req != NULL)
            return inst;
    }
    TAILQ_FOREACH_REVERSE(inst, &fn->frozen, platform_instance_list, link)
    {
        if (inst->next_req != NULL)
            return inst;
    }
    return NULL;
}

static void queue(platform_function_t *fn, platform_invocation_t *inv)
{
    inv->queued_us = platform_now_us();
    TAILQ_INSERT_TAIL(&fn->queue, inv, queue_link);
    fn->queue_len++;
}

/* inv->on_finish of every invocation the scheduler accepts: counts function
 * errors, and hands a failed Event to async.c, which keeps it for a retry
 * (returns 1) or drops it. */
static int on_finish(platform_invocation_t *inv, int function_error, const char *body, size_t len)
{
    if (function_error)
        inv->fn->errors++;
    return function_error && inv->type == PLATFORM_INVOKE_EVENT && async_failed(inv, body, len);
}

int platform_function_invoke(platform_function_t *fn, platform_invocation_t *inv)
{
    /* a new Event keeps a copy of its payload for its retries (a retried one
     * has it already) */
    if (inv->type == PLATFORM_INVOKE_EVENT && inv->event_copy == NULL && async_prepare(inv) != 0)
        return PLATFORM_ERR_NOMEM;
    inv->on_finish = on_finish;
    platform_instance_t *inst = parked(fn);
    if (inst != NULL) {
        platform_instance_deliver(inst, inv);
        return 0;
    }
    /* An invocation sent right after the previous one was answered usually
     * arrives before that instance's next /next: wait for the warm instance
     * (one waiter per returning instance) instead of starting a cold one. If
     * it does not come back soon, the spill timer starts an instance. */
    /* Instances that have answered and are on their way back to /next: each
     * takes the head of the queue within microseconds. */
    if (fn->n_returning > fn->queue_len) {
        queue(fn, inv);
        if (!evtimer_pending(fn->spill, NULL))
            arm_spill(fn, (uint64_t)PLATFORM_RETURN_WAIT_MS * 1000);
        return 0;
    }
    size_t cap = concurrency_cap(fn);
    if (running(fn) < cap) {
        start_for(fn, inv);
        return 0;
    }
    if (fn->queue_len >= PLATFORM_QUEUE_MAX)
        return PLATFORM_ERR_THROTTLED;
    /* At the cap, a RequestResponse may wait only for an instance that has
     * already answered (the rule above); with every instance still working it
     * is throttled at once, as AWS does. Event invocations wait their turn. */
    if (inv->type == PLATFORM_INVOKE_SYNC)
        return PLATFORM_ERR_THROTTLED;
    queue(fn, inv);
    return 0;
}

/* Takes the head of the queue; Events past their maximum age are dropped. */
static platform_invocation_t *dequeue(platform_function_t *fn)
{
    platform_invocation_t *inv;
    while ((inv = TAILQ_FIRST(&fn->queue)) != NULL) {
        TAILQ_REMOVE(&fn->queue, inv, queue_link);
        fn->queue_len--;
        if (!async_expire(inv))
            return inv;
    }
    return NULL;
}

/* Starts instances for queued invocations while there is room under the cap. */
static void start_queued(platform_function_t *fn)
{
    size_t cap = concurrency_cap(fn);
    while (fn->queue_len > 0 && running(fn) < cap)
        start_for(fn, dequeue(fn));
}

/* The returning instances were slow to come back to /next (a runtime doing
 * work after its response): each invocation that has waited its
 * PLATFORM_RETURN_WAIT_MS in the queue gets a new instance, while there is
 * room (a retried Event is queued long after it was created). The timer
 * was armed for the oldest waiter, which may have been served since: a later
 * one gets the rest of its own wait, not what was left of the earlier one's. */
static void on_spill(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    platform_function_t *fn = arg;
    if (fn->p->stopping)
        return;
    const uint64_t wait_us = (uint64_t)PLATFORM_RETURN_WAIT_MS * 1000;
    size_t cap = concurrency_cap(fn);
    platform_invocation_t *head;
    while ((head = TAILQ_FIRST(&fn->queue)) != NULL && running(fn) < cap) {
        uint64_t waited = platform_now_us() - head->queued_us;
        if (waited < wait_us) {
            arm_spill(fn, wait_us - waited);
            return;
        }
        start_for(fn, dequeue(fn));
    }
}

/* The function whose host h is. */
static platform_function_t *fn_of(platform_instance_host_t *h)
{
    return (platform_function_t *)(void *)((char *)h - offsetof(platform_function_t, host));
}

static void on_move(platform_instance_host_t *h, platform_instance_t *inst,
                    platform_instance_state_t to)
{
    platform_function_move(fn_of(h), inst, to);
}

/* An instance waits in /next: give it the next queued invocation or park it. */
static void on_ready(platform_instance_host_t *h, platform_instance_t *inst)
{
    platform_function_t *fn = fn_of(h);
    platform_invocation_t *inv = fn->p->stopping ? NULL : dequeue(fn);
    if (inv != NULL) {
        platform_instance_deliver(inst, inv);
        return;
    }
    platform_instance_park(inst);
}

/* An instance died (already moved to DEAD): trims the dead list to
 * PLATFORM_DEAD_KEPT and starts instances for queued work if there is room. */
static void on_dead(platform_instance_host_t *h, platform_instance_t *inst)
{
    platform_function_t *fn = fn_of(h);
    (void)inst; /* moved to fn->dead already */
    while (fn->n_dead > PLATFORM_DEAD_KEPT) {
        platform_instance_t *old = TAILQ_FIRST(&fn->dead);
        unlist(fn, old);
        platform_instance_free(old);
    }
    if (fn->p->stopping) {
        platform_check_stopped(fn->p);
        return;
    }
    start_queued(fn);
}

void platform_function_stop(platform_function_t *fn)
{
    async_stop(fn);
    platform_invocation_t *inv;
    while ((inv = dequeue(fn)) != NULL)
        platform_invocation_fail(inv, "Runtime.Shutdown",
                                 "RequestId: %s Error: the platform stopped", inv->id);
    platform_instance_t *inst, *next;
    for (inst = TAILQ_FIRST(&fn->live); inst != NULL; inst = next) {
        next = TAILQ_NEXT(inst, live_link);
        platform_instance_stop(inst);
    }
}

platform_instance_t *platform_instance_by_pid(platform_t *p, pid_t pid)
{
    for (size_t i = 0; i < p->n_functions; i++) {
        platform_instance_t *inst;
        TAILQ_FOREACH(inst, &p->functions[i]->live, live_link)
        {
            if (inst->pid == pid)
                return inst;
        }
    }
    return NULL;
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
