/*
 * What a handler answers and how it reaches the Runtime API: the buffered body
 * (POST /runtime/invocation/ID/response), the error (POST .../error with
 * Lambda-Runtime-Function-Error-Type and {"errorMessage","errorType",
 * "stackTrace"}), or the stream (chunked POST with
 * Lambda-Runtime-Function-Response-Mode: streaming, a mid-stream error going
 * out as the Lambda-Runtime-Function-Error-Type/-Body trailers). Also the init
 * error (POST /runtime/init/error).
 */
#ifndef TETHER_RUNTIME_RESPONSE_H
#define TETHER_RUNTIME_RESPONSE_H

#include "common/buf.h"
#include "runtime/http.h"
#include "tether/tether.h"

/* The Runtime API's GET for the next event; an answer's POST sends it right
 * behind itself (runtime_http_request_t.then_get). */
#define RUNTIME_NEXT_PATH "/2018-06-01/runtime/invocation/next"

struct tether_response {
    runtime_http_t *http;   /* the Runtime API connection (not owned) */
    const char *request_id; /* the event's (not owned) */
    buf_t body;             /* the buffered response, capped at TETHER_MAX_RESPONSE */
    char *content_type;     /* owned, or NULL */
    int failed;             /* tether_response_error was called */
    char *error_type;       /* owned */
    char *error_message;    /* owned */
    buf_t frames;           /* stack trace as JSON strings joined by commas */
    int streaming;          /* tether_stream_begin succeeded */
    int stream_broken;      /* a stream write failed: the POST is gone */
};

struct tether_error {
    char *type;    /* owned, or NULL */
    char *message; /* owned, or NULL */
};

/* The outcome of posting an answer to the Runtime API. */
typedef enum runtime_post_result {
    RUNTIME_POST_OK = 0,        /* 202 (or any 2xx) */
    RUNTIME_POST_REJECTED = 1,  /* 4xx other than 413: logged; the loop goes on */
    RUNTIME_POST_TOO_LARGE = 2, /* 413: the response was over the limit */
    RUNTIME_POST_FATAL = 3,     /* 500, or the Runtime API unreachable: exit */
} runtime_post_result_t;

void runtime_response_init(tether_response_t *res, runtime_http_t *http, const char *request_id);
void runtime_response_free(tether_response_t *res);

/*
 * Posts the answer for a handler that returned handler_rc: the stream's end,
 * the error (set, or a generic HandlerError for a non-zero rc), or the body.
 * A 413 on the body is turned into a Function.ResponseSizeTooLarge error.
 * With then_next, the loop's next GET /next goes out in the same write (the
 * loop passes 0 once SIGTERM arrived: its answer asks for nothing more).
 */
runtime_post_result_t runtime_response_post(tether_response_t *res, int handler_rc,
                                            int then_next /* 1: GET /next behind the answer */);

/* Posts an invocation error with the given type and message (no stack trace). */
runtime_post_result_t runtime_post_invocation_error(runtime_http_t *http, const char *request_id,
                                                    const char *type, const char *message);
/* Posts /runtime/init/error. */
runtime_post_result_t runtime_post_init_error(runtime_http_t *http, const char *type,
                                              const char *message);

void runtime_error_init(tether_error_t *err);
void runtime_error_free(tether_error_t *err);

/* Builds {"errorMessage":...,"errorType":...,"stackTrace":[frames]} into out. */
__attribute__((warn_unused_result)) int
runtime_error_json(buf_t *out, const char *type, const char *message, const buf_t *frames);

#endif
