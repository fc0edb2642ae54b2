/*
 * The answer to an InvokeWithResponseStream caller: a 200 whose body is an
 * AWS event stream (eventstream.h), `PayloadChunk` events carrying the
 * function's response as it arrives and a final `InvokeComplete` (ErrorCode,
 * ErrorDetails, LogResult), sent as HTTP/1.1 chunks. The invocation
 * (invocation.c) owns one platform_stream_t while its caller waits; the
 * reply starts with the first chunk, or at the end for a function that
 * answers at once.
 */
#ifndef TETHER_PLATFORM_INVOKE_STREAM_H
#define TETHER_PLATFORM_INVOKE_STREAM_H

#include <stddef.h>

struct evhttp_request;

/* A streamed response's limit: 20 MiB, as the Runtime API documents for
 * `Lambda-Runtime-Function-Response-Mode: streaming` (AWS calls it a soft
 * limit). A buffered response, or a streamed one read through plain Invoke,
 * keeps PLATFORM_MAX_RESPONSE (invocation.h). */
#define PLATFORM_STREAM_MAX_RESPONSE 20971520

typedef struct platform_stream platform_stream_t;

/* A stream answering req under request_id (copied). NULL on allocation failure. */
platform_stream_t *platform_stream_new(struct evhttp_request *req, const char *request_id);

/* Sends len bytes of the function's response as one PayloadChunk, starting
 * the reply first if need be. Nothing when the caller has gone. Bytes past
 * PLATFORM_STREAM_MAX_RESPONSE are not sent: the stream is then too large
 * (platform_stream_too_large) and its InvokeComplete should say so. */
void platform_stream_chunk(platform_stream_t *s, const void *data, size_t len);

/* Response bytes sent so far. */
size_t platform_stream_sent(const platform_stream_t *s);

/* 1 once the function streamed more than PLATFORM_STREAM_MAX_RESPONSE bytes. */
int platform_stream_too_large(const platform_stream_t *s);

/* 1 once the 200 and its headers went out (an API error can no longer be sent). */
int platform_stream_started(const platform_stream_t *s);

/* Ends the answer: the InvokeComplete event, with error_code and
 * error_details when not NULL (the function failed) and log_result (base64
 * of the log tail) when not NULL, then the end of the body; frees s. */
void platform_stream_finish(platform_stream_t *s, const char *error_code, const char *error_details,
                            const char *log_result);

/* Frees s without answering (its request is answered otherwise: an API error
 * before the stream started). */
void platform_stream_free(platform_stream_t *s);

#endif
