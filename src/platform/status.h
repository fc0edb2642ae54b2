/*
 * GET /_tether/status: every function (name, runtime, memory, timeout,
 * concurrency cap, queue length, counters) and every instance (id, pid,
 * state, invocations served, init duration) as one JSON document.
 */
#ifndef TETHER_PLATFORM_STATUS_H
#define TETHER_PLATFORM_STATUS_H

#include "common/buf.h"

struct platform;

/* Appends the status document to out. 0, or a buf error. */
__attribute__((warn_unused_result)) int platform_status_json(struct platform *p, buf_t *out);

#endif
