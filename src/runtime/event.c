/* Building tether_event_t from the Runtime API's /next reply (see event.h). */
#include "runtime/event.h"

#include "runtime/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

int runtime_event_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok)
            return 0;
    }
    return 1;
}

int runtime_event_from_reply(const runtime_http_reply_t *reply, tether_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->request_id = runtime_http_reply_header(reply, "Lambda-Runtime-Aws-Request-Id");
    if (ev->request_id == NULL || ev->request_id[0] == '\0')
        return RUNTIME_EVENT_ENOID;
    if (!runtime_event_id_ok(ev->request_id))
        return RUNTIME_EVENT_EBADID;
    ev->payload = reply->body.data ? reply->body.data : "";
    ev->payload_len = reply->body.len;
    const char *deadline = runtime_http_reply_header(reply, "Lambda-Runtime-Deadline-Ms");
    if (deadline != NULL) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(deadline, &end, 10);
        if (errno == 0 && end != deadline && *end == '\0' && v > 0)
            ev->deadline_ms = (int64_t)v;
    }
    if (ev->deadline_ms == 0)
        runtime_log_warn("event %s: missing or malformed Lambda-Runtime-Deadline-Ms",
                         ev->request_id);
    ev->invoked_function_arn =
        runtime_http_reply_header(reply, "Lambda-Runtime-Invoked-Function-Arn");
    if (ev->invoked_function_arn == NULL)
        ev->invoked_function_arn = "";
    ev->trace_id = runtime_http_reply_header(reply, "Lambda-Runtime-Trace-Id");
    ev->client_context = runtime_http_reply_header(reply, "Lambda-Runtime-Client-Context");
    ev->cognito_identity = runtime_http_reply_header(reply, "Lambda-Runtime-Cognito-Identity");
    return 0;
}

void runtime_event_export_trace(const tether_event_t *ev)
{
    if (ev->trace_id != NULL)
        setenv("_X_AMZN_TRACE_ID", ev->trace_id, 1);
    else
        unsetenv("_X_AMZN_TRACE_ID");
}

int64_t tether_remaining_ms(const tether_event_t *event)
{
    if (event == NULL)
        return 0;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t now = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    return event->deadline_ms - now;
}
