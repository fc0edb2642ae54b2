/*
 * One invocation: the event an invoker sent, on its way to an instance and
 * back. Created by the Invoke API, queued by the function's scheduler,
 * delivered by an instance, and finished exactly once with the function's
 * response or error, which answers the invoker (RequestResponse) or is only
 * logged (Event). platform_invocation_finish frees it.
 */
#ifndef TETHER_PLATFORM_INVOCATION_H
#define TETHER_PLATFORM_INVOCATION_H

#include "common/buf.h"
#include "platform/logs.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

struct evhttp_request;
struct evbuffer;
struct event;
struct platform_function;
struct platform_stream;

#define PLATFORM_MAX_REQUEST  6291456 /* Invoke request payload limit (6 MB) */
#define PLATFORM_MAX_RESPONSE 6291556 /* function response limit, as AWS counts it */

typedef enum platform_invoke_type {
    PLATFORM_INVOKE_SYNC = 0,  /* RequestResponse: the invoker waits for the result */
    PLATFORM_INVOKE_EVENT = 1, /* Event: answered 202 at once, run later */
} platform_invoke_type_t;

typedef struct platform_invocation {
    char id[37];                  /* request id (UUID) */
    struct platform_function *fn; /* the function invoked */
    platform_invoke_type_t type;
    struct evhttp_request *req; /* the invoker's request (SYNC), NULL for EVENT */
    struct evbuffer *payload;   /* owned: the event */
    char *client_context;       /* owned: decoded X-Amz-Client-Context JSON, or NULL */
    char trace_id[96];          /* Lambda-Runtime-Trace-Id */
    int want_tail;              /* X-Amz-Log-Type: Tail */
    platform_tail_t tail;       /* this invocation's log, last 4 KB */
    uint64_t created_us;        /* monotonic: accepted */
    uint64_t delivered_us;      /* monotonic: handed to an instance (0 before) */
    uint64_t queued_us;         /* monotonic: last put in its function's queue */
    unsigned retries;           /* Event: retries scheduled so far (async.c) */
    char *event_copy;           /* owned: an Event's payload kept for its retries, or NULL */
    size_t event_copy_len;
    struct event *retry_timer; /* owned: an Event waiting for its retry, or NULL */
    struct platform_stream *stream; /* owned: InvokeWithResponseStream's answer (invoke_stream.h),
                                       or NULL: answered whole */
    buf_t trailers; /* a streamed response's trailer section as the Runtime API's tap saw it
                       (stream_tap.h: evhttp 2.1 keeps no trailers); capped */
    /* Set by the scheduler that accepted it (function.c): called first by
     * platform_invocation_finish; 1 when it kept the invocation (a failed
     * Event to retry), 0 to answer and free it. NULL: nothing to do. */
    int (*on_finish)(struct platform_invocation *inv, int function_error, const char *body,
                     size_t len);
    TAILQ_ENTRY(platform_invocation) queue_link; /* in the function's queue */
} platform_invocation_t;

TAILQ_HEAD(platform_invocation_list, platform_invocation);

/* A new invocation; takes payload and client_context. NULL on allocation failure
 * (then payload and client_context are freed). An Event's copy for its
 * retries is made when the function accepts it (platform_function_invoke). */
platform_invocation_t *platform_invocation_new(struct platform_function *fn,
                                               platform_invoke_type_t type,
                                               struct evhttp_request *req, struct evbuffer *payload,
                                               char *client_context);

/* Makes a RequestResponse invocation answer its caller as
 * InvokeWithResponseStream does (invoke_stream.h). -1 on allocation failure. */
__attribute__((warn_unused_result)) int
platform_invocation_stream_answer(platform_invocation_t *inv);

/* n bytes of the function's response as it streams them: forwarded at once
 * to an InvokeWithResponseStream caller, ignored otherwise (the whole
 * response arrives with platform_invocation_finish). */
void platform_invocation_stream(platform_invocation_t *inv, const char *data, size_t n);

/* Adds n bytes of the function's streamed response's trailer section (past
 * the cap, they are dropped: its error is then reported without its body). */
void platform_invocation_add_trailers(platform_invocation_t *inv, const char *data, size_t n);

/* The value of trailer name (case-insensitive) of the streamed response, as
 * a new string the caller frees, or NULL. */
char *platform_invocation_trailer(const platform_invocation_t *inv, const char *name);

/* Adds one log line (without '\n') to the invocation's tail. */
void platform_invocation_log(platform_invocation_t *inv, const char *line, size_t len);

/* Finishes the invocation with the function's response (function_error 0) or
 * error document (function_error 1): unless inv->on_finish keeps it, answers
 * the invoker and frees inv. A streamed answer sends what of body its
 * PayloadChunks have not (all of it for a function that answered at once),
 * then InvokeComplete with the error's errorType and errorMessage. */
void platform_invocation_finish(platform_invocation_t *inv, int function_error, const char *body,
                                size_t len);

/* Finishes with a platform-made error {"errorType", "errorMessage"} and frees inv. */
void platform_invocation_fail(platform_invocation_t *inv, const char *error_type, const char *fmt,
                              ...) __attribute__((format(printf, 3, 4)));

/* Frees an Event invocation without running it (dropped by async.c). */
void platform_invocation_discard(platform_invocation_t *inv);

/* Answers the invoker with an API error (429, 500...) instead of running, and
 * frees inv. */
void platform_invocation_reject(platform_invocation_t *inv, int status, const char *error_type,
                                const char *message, const char *reason);

#endif
