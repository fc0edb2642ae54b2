/*
 * An invocation event built from a /runtime/invocation/next reply: the
 * payload and the Lambda-Runtime-* headers, as the public tether_event_t
 * handlers see. Strings point into the reply, which must outlive the event.
 */
#ifndef TETHER_RUNTIME_EVENT_H
#define TETHER_RUNTIME_EVENT_H

#include "runtime/http.h"
#include "tether/tether.h"

#define RUNTIME_EVENT_ENOID  (-1) /* no Lambda-Runtime-Aws-Request-Id: cannot answer */
#define RUNTIME_EVENT_EBADID (-2) /* a request id unsafe to put in a URL path */

/*
 * Fills *ev from reply (headers matched case-insensitively). A missing or
 * malformed deadline becomes 0 (so tether_remaining_ms is negative) with a
 * warning; a missing ARN becomes "". Returns 0 or RUNTIME_EVENT_E*.
 */
__attribute__((warn_unused_result)) int runtime_event_from_reply(const runtime_http_reply_t *reply,
                                                                 tether_event_t *ev);

/* Sets _X_AMZN_TRACE_ID to the event's trace id, or unsets it without one. */
void runtime_event_export_trace(const tether_event_t *ev);

/* True when id is safe to paste into /runtime/invocation/ID/...: 1-128 chars of
 * [A-Za-z0-9._:-]. */
int runtime_event_id_ok(const char *id);

#endif
