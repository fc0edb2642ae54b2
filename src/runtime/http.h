/*
 * The runtime's HTTP/1.1 client for the Runtime API: one keep-alive TCP
 * connection to $AWS_LAMBDA_RUNTIME_API, opened on first use and reopened when
 * the platform closed it. Plain HTTP to a host:port is all the Runtime API
 * needs (no TLS, proxies, redirects or cookies), so this is a small client of
 * our own rather than libcurl: libcurl's dependency tree (30 shared libraries
 * on Debian 12) cost ~6 ms of dynamic loading per cold start and 12 MB in every
 * function zip (docs/runtime.md, "Why not libcurl").
 *
 * No timeout on /next: it blocks until an event arrives, watching the
 * interrupt descriptor (the SIGTERM pipe) too. Response headers are kept as
 * name/value pairs split at the first colon only (ARNs and trace ids contain
 * colons); lines without a colon are counted and ignored. Bodies may come with
 * Content-Length or chunked; every size is capped. A streamed POST sends each
 * write as one chunk, and trailers after the last.
 */
#ifndef TETHER_RUNTIME_HTTP_H
#define TETHER_RUNTIME_HTTP_H

#include "common/buf.h"

#include <stddef.h>

#define RUNTIME_HTTP_MAX_HEADERS 64
#define RUNTIME_HTTP_MAX_HEAD    (64 * 1024) /* status line + headers of a reply */

#define RUNTIME_HTTP_ENOMEM       (-1) /* allocation failed */
#define RUNTIME_HTTP_ETRANSPORT   (-2) /* connect, send or receive failed, or a bad reply: retry */
#define RUNTIME_HTTP_EINTERRUPTED (-3) /* the interrupt descriptor became readable */
#define RUNTIME_HTTP_ETOOBIG      (-4) /* the reply body passed max_body (headers are kept) */

typedef struct runtime_http_header {
    char *name;  /* owned */
    char *value; /* owned, trimmed */
} runtime_http_header_t;

typedef struct runtime_http_reply {
    long status;                                             /* HTTP status, 0 before one arrived */
    buf_t body;                                              /* capped by the request's max_body */
    runtime_http_header_t headers[RUNTIME_HTTP_MAX_HEADERS]; /* in arrival order */
    size_t n_headers;
    int malformed_headers; /* lines without a colon, ignored */
} runtime_http_reply_t;

typedef struct runtime_http_request {
    const char *method;         /* "GET" or "POST" */
    const char *path;           /* "/2018-06-01/runtime/invocation/next" */
    const char *const *headers; /* "Name: value" lines, NULL-terminated, or NULL (caller owns) */
    const void *body;           /* POST body (caller owns), may be NULL */
    size_t body_len;
    size_t max_body;   /* cap on the reply body */
    int interruptible; /* give up when the interrupt descriptor is readable */
    /* A POST only: "GET then_get" is sent right behind it, in the same system
     * call (HTTP/1.1 pipelining). The next runtime_http_do of a GET of that
     * path then only reads its reply; any other request first closes the
     * connection, abandoning the GET. NULL: none. */
    const char *then_get;
} runtime_http_request_t;

typedef struct runtime_http runtime_http_t;

/* host_port is "127.0.0.1:9001" or "[::1]:9001". interrupt_fd may be -1. NULL
 * on failure (no memory, or no port). Connects lazily. */
runtime_http_t *runtime_http_new(const char *host_port, int interrupt_fd);
void runtime_http_free(runtime_http_t *h);
/* A new client of the same endpoint, with its own connection: for a request
 * that must not disturb a GET pipelined on h (see then_get). NULL if out of memory. */
runtime_http_t *runtime_http_sibling(const runtime_http_t *h);
/* 1 while a pipelined GET's reply is still to be read on h. */
int runtime_http_pipelined(const runtime_http_t *h);

void runtime_http_reply_init(runtime_http_reply_t *r, size_t max_body);
void runtime_http_reply_free(runtime_http_reply_t *r);
/* The value of header name (case-insensitive), or NULL. */
const char *runtime_http_reply_header(const runtime_http_reply_t *r, const char *name);

/*
 * Sends one request and reads the whole reply into *reply (initialised by the
 * caller with runtime_http_reply_init; emptied first). 0 when a reply arrived
 * (whatever its status), else one of RUNTIME_HTTP_E*.
 */
__attribute__((warn_unused_result)) int
runtime_http_do(runtime_http_t *h, const runtime_http_request_t *req, runtime_http_reply_t *reply);

/*
 * A chunked POST whose body the caller produces piece by piece: start it
 * (sends the head), write any number of times (each sends one chunk), then
 * finish, with trailers (NULL-terminated "Name: value" lines, or NULL) after
 * the last chunk; finish reads the reply like runtime_http_do. After a failed
 * start or write, write fails at once and finish returns the error.
 */
__attribute__((warn_unused_result)) int
runtime_http_stream_start(runtime_http_t *h, const char *path, const char *const *headers);
__attribute__((warn_unused_result)) int runtime_http_stream_write(runtime_http_t *h,
                                                                  const void *data, size_t len);
__attribute__((warn_unused_result)) int runtime_http_stream_finish(runtime_http_t *h,
                                                                   const char *const *trailers,
                                                                   runtime_http_reply_t *reply);

#endif
