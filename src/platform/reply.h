/*
 * Answering an evhttp request at once instead of on the next loop turn (see
 * reply.c). Used on the hot paths of both APIs: the invoker's answer, the
 * runtime's /next event and the 202 to its /response. Also the one place that
 * writes AWS's JSON error replies.
 */
#ifndef TETHER_PLATFORM_REPLY_H
#define TETHER_PLATFORM_REPLY_H

#include <event2/buffer.h>
#include <event2/http.h>

/* evhttp_send_reply(req, code, reason, body), then writes the reply to the
 * socket now if it fits, finishing the request as a completed write would
 * (evhttp frees req and reads the connection's next request). req must not
 * be used afterwards: unlike evhttp_send_reply's, which stays valid until
 * the loop turn ends, it may be freed before this returns (so a handler that
 * still reads the request's body answers with evhttp_send_reply, or after it
 * is done). body stays the caller's (drained). What cannot be written now is
 * left to evhttp. */
void platform_reply_send(struct evhttp_request *req, int code, const char *reason,
                         struct evbuffer *body);

/* Sends an AWS API error: status, X-Amzn-ErrorType: error_type, body
 * {"Type":"User","message":message} ("Service" for a 5xx; plus "Reason" when
 * reason is not NULL), X-Amzn-RequestId: request_id (a fresh one when NULL).
 * Sent with evhttp_send_reply: req stays valid until the loop turn ends. */
void platform_reply_send_error(struct evhttp_request *req, int status, const char *error_type,
                               const char *message, const char *reason, const char *request_id);

#endif
