/*
 * The Invoke API (AWS Lambda's POST /2015-03-31/functions/{name}/invocations,
 * wire-exact) and the /_tether/status route, served by evhttp on the
 * platform's loop. Also the helper that writes AWS's JSON error replies.
 */
#ifndef TETHER_PLATFORM_INVOKE_API_H
#define TETHER_PLATFORM_INVOKE_API_H

#include <stddef.h>

struct platform;
struct evhttp_request;

#define PLATFORM_MAX_REQUEST  6291456 /* Invoke request payload limit (6 MB) */
#define PLATFORM_MAX_RESPONSE 6291556 /* function response limit, as AWS counts it */

/* Binds the Invoke API on cfg.bind:cfg.port and records the bound port in
 * p->api_port. -1 after logging why. */
__attribute__((warn_unused_result)) int platform_invoke_api_start(struct platform *p);
/* Closes the listener and every connection. */
void platform_invoke_api_stop(struct platform *p);

/* Sends an AWS API error: status, X-Amzn-ErrorType: error_type, body
 * {"Type":"User","message":message} (plus "Reason" when reason is not NULL),
 * X-Amzn-RequestId: request_id (a fresh one when NULL). */
void platform_api_send_error(struct evhttp_request *req, int status, const char *error_type,
                             const char *message, const char *reason, const char *request_id);

#endif
