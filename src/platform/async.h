/*
 * Asynchronous (Event) invocations after a failure, as AWS Lambda handles
 * them: a failed attempt (function error, timeout, crash, init failure) is
 * run again up to EventInvokeConfig.MaximumRetryAttempts more times (2 by
 * default), after --retry-delay and then twice that (AWS: 1 min, then 2 min),
 * under the same request id; an event that would be older than
 * MaximumEventAgeInSeconds (6 h by default) when it next runs is dropped.
 * Every retry and every drop is logged with the request id and counted in the
 * function's status (asyncRetries, asyncDropped, retryWaiting).
 */
#ifndef TETHER_PLATFORM_ASYNC_H
#define TETHER_PLATFORM_ASYNC_H

#include <stddef.h>

struct platform_invocation;
struct platform_function;

/* Keeps a copy of a new Event invocation's payload when its function retries
 * (delivery hands the payload itself to the runtime). -1 on allocation failure. */
__attribute__((warn_unused_result)) int
platform_async_prepare(struct platform_invocation *inv);

/* An Event attempt failed with the error document body: schedules a retry and
 * returns 1 (the invocation is kept), or logs and counts the drop and returns 0
 * (the caller frees it). */
int platform_async_failed(struct platform_invocation *inv, const char *body, size_t len);

/* 1 when an Event invocation waiting in the queue has outlived its function's
 * MaximumEventAgeInSeconds: then it has been logged, counted and freed. */
int platform_async_expire(struct platform_invocation *inv);

/* Shutdown: drops (frees) every invocation waiting for a retry. */
void platform_async_stop(struct platform_function *fn);

#endif
