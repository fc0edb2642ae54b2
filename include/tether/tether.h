/*
 * tether: the C runtime for AWS Lambda functions (libtether).
 *
 * A function is a program named `bootstrap` whose main() hands a table of
 * handlers to tether_run(). The runtime speaks the Lambda Runtime API at
 * $AWS_LAMBDA_RUNTIME_API: it runs the init callback once, before the first
 * event (the place to create database clients, see <tether/db.h>), then loops
 * forever: fetch the next event, call the handler _HANDLER names, post its
 * response or error. On SIGTERM it finishes the event in hand, calls the
 * shutdown callback and returns 0 from tether_run().
 *
 *     static int echo(const tether_event_t *ev, tether_response_t *res, void *user)
 *     {
 *         (void)user;
 *         return tether_response_set(res, ev->payload, ev->payload_len);
 *     }
 *     int main(void) { return tether_run_handler(echo); }
 *
 * Threads: the runtime is single-threaded. Every function here must be called
 * from the thread that called tether_run(), during a callback it made, unless
 * its comment says otherwise. docs/runtime.md describes the whole lifecycle.
 */
#ifndef TETHER_TETHER_H
#define TETHER_TETHER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TETHER_API          __attribute__((visibility("default")))
#define TETHER_WARN_UNUSED  __attribute__((warn_unused_result))
#define TETHER_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TETHER_API
#define TETHER_WARN_UNUSED
#define TETHER_PRINTF(f, a)
#endif

/* Error codes returned by the functions below (0 is success). */
#define TETHER_OK         0
#define TETHER_ERR_NOMEM  (-1) /* an allocation failed */
#define TETHER_ERR_TOOBIG (-2) /* a buffered response would pass 6 MB (TETHER_MAX_RESPONSE) */
#define TETHER_ERR_STATE  (-3) /* called at the wrong time (e.g. set after streaming began) */
#define TETHER_ERR_IO     (-4) /* the Runtime API connection failed */
#define TETHER_ERR_ARG    (-5) /* a NULL or invalid argument */
#define TETHER_ERR_CONFIG (-6) /* the environment or configuration is unusable */

/* The largest buffered response AWS Lambda accepts: 6 MB. */
#define TETHER_MAX_RESPONSE ((size_t)6 * 1024 * 1024)

/*
 * One invocation, as the Runtime API delivered it. Everything it points to is
 * owned by the runtime and valid until the handler returns; copy what you keep.
 * Optional fields are NULL when the platform did not send them.
 */
typedef struct tether_event {
    const char *payload;              /* the request body, NUL-terminated for convenience */
    size_t payload_len;               /* its length in bytes (it may contain NULs) */
    const char *request_id;           /* Lambda-Runtime-Aws-Request-Id */
    int64_t deadline_ms;              /* Lambda-Runtime-Deadline-Ms: Unix epoch milliseconds */
    const char *invoked_function_arn; /* Lambda-Runtime-Invoked-Function-Arn */
    const char *trace_id;         /* Lambda-Runtime-Trace-Id (also in _X_AMZN_TRACE_ID), or NULL */
    const char *client_context;   /* Lambda-Runtime-Client-Context (JSON), or NULL */
    const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity (JSON), or NULL */
} tether_event_t;

/* Where a handler puts its answer: a buffered body, a stream, or an error.
 * Owned by the runtime; valid until the handler returns. */
typedef struct tether_response tether_response_t;

/* Where an init callback describes why it failed. Owned by the runtime. */
typedef struct tether_error tether_error_t;

/*
 * A handler. Returns 0 for success, anything else for a function error (then
 * the error set with tether_response_error(), or a generic "HandlerError").
 * user is what the init callback stored (NULL without one).
 */
typedef int (*tether_handler_fn)(const tether_event_t *event, tether_response_t *res, void *user);

/*
 * The init callback: runs once, before the first event. Create expensive things
 * here (tether_db_open()) and store what handlers need in *user. Returns 0, or
 * non-zero after tether_error_set() (else a generic "InitError" is posted) to
 * have the failure posted to /runtime/init/error; tether_run() then returns 1.
 */
typedef int (*tether_init_fn)(void **user /* OUT */, tether_error_t *err);

/* The shutdown callback: called once on SIGTERM, after the event in hand is
 * answered, with the init callback's user pointer. Close clients here. */
typedef void (*tether_shutdown_fn)(void *user);

/* One logical function in a bootstrap: _HANDLER == name selects fn. */
typedef struct tether_handler {
    const char *name; /* matched exactly against $_HANDLER */
    tether_handler_fn fn;
} tether_handler_t;

typedef struct tether_config {
    tether_init_fn init;              /* may be NULL */
    tether_shutdown_fn shutdown;      /* may be NULL; setting it opts in to SIGTERM on AWS */
    const tether_handler_t *handlers; /* the table _HANDLER selects from, or NULL */
    size_t n_handlers;                /* entries in handlers */
    tether_handler_fn handler;        /* the single-handler form: used when handlers is NULL,
                                         whatever _HANDLER says */
} tether_config_t;

/*
 * Runs the function: reads $AWS_LAMBDA_RUNTIME_API and $_HANDLER, runs init,
 * then serves events until SIGTERM (returns 0 after the shutdown callback) or a
 * fatal Runtime API failure: a 500 from the Runtime API, the API unreachable
 * after retries, or an init failure (returns 1, after posting /init/error when
 * possible). An unknown _HANDLER is an init error naming the known handlers.
 * Call it once per process, from main(); the config must outlive the call.
 */
TETHER_API int tether_run(const tether_config_t *config);

/* tether_run() with one handler, no init and no shutdown callback. */
TETHER_API int tether_run_handler(tether_handler_fn handler);

/*
 * Milliseconds left before the event's deadline (negative when past it), from
 * the wall clock. Any thread may call it.
 */
TETHER_API int64_t tether_remaining_ms(const tether_event_t *event);

/*
 * Buffered success responses. tether_response_set() replaces the body with a
 * copy of data; append and printf add to it. The total is capped at
 * TETHER_MAX_RESPONSE: past it they return TETHER_ERR_TOOBIG and leave the
 * body unchanged. TETHER_ERR_STATE after streaming began. The caller keeps
 * ownership of data.
 */
TETHER_API TETHER_WARN_UNUSED int tether_response_set(tether_response_t *res, const void *data,
                                                      size_t len);
TETHER_API TETHER_WARN_UNUSED int tether_response_append(tether_response_t *res, const void *data,
                                                         size_t len);
TETHER_API TETHER_WARN_UNUSED TETHER_PRINTF(2, 3) int tether_response_printf(tether_response_t *res,
                                                                             const char *fmt, ...);
/* Sets the Content-Type posted with the response (copied). Default: none
 * (Lambda treats the body as JSON). Returns 0 or TETHER_ERR_NOMEM. */
TETHER_API TETHER_WARN_UNUSED int tether_response_content_type(tether_response_t *res,
                                                               const char *type);

/*
 * Marks the invocation failed with errorType type and an errorMessage made
 * from fmt (both copied; type defaults to "HandlerError" when NULL). Always
 * returns -1, so a handler can `return tether_response_error(res, ...)`.
 * Called after streaming began, the error goes out in the stream's trailers.
 */
TETHER_API TETHER_PRINTF(3, 4) int tether_response_error(tether_response_t *res, const char *type,
                                                         const char *fmt, ...);
/* Adds one stack trace line to the error (copied). 0 or TETHER_ERR_NOMEM. */
TETHER_API int tether_response_error_frame(tether_response_t *res, const char *frame);

/*
 * Streamed responses (Lambda-Runtime-Function-Response-Mode: streaming).
 * tether_stream_begin() starts a chunked POST of the response (content_type
 * copied, may be NULL for application/octet-stream); each write sends data
 * right away (the caller keeps ownership). The stream ends when the handler
 * returns. Returns 0, TETHER_ERR_STATE (begin twice, or after set/append),
 * TETHER_ERR_IO when the connection failed (the handler should return).
 */
TETHER_API TETHER_WARN_UNUSED int tether_stream_begin(tether_response_t *res,
                                                      const char *content_type);
TETHER_API TETHER_WARN_UNUSED int tether_stream_write(tether_response_t *res, const void *data,
                                                      size_t len);

/* Records why init failed: errorType (default "InitError") and a message. */
TETHER_API TETHER_PRINTF(3, 4) void tether_error_set(tether_error_t *err, const char *type,
                                                     const char *fmt, ...);

/* The library's version string, "MAJOR.MINOR.PATCH". Any thread. */
TETHER_API const char *tether_version(void);

#ifdef __cplusplus
}
#endif

#endif
