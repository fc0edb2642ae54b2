/*
 * The Invoke API (AWS Lambda's POST /2015-03-31/functions/{name}/invocations,
 * wire-exact) and the /_tether/status route, served by evhttp on the
 * platform's loop (its error replies are written by reply.h).
 */
#ifndef TETHER_PLATFORM_INVOKE_API_H
#define TETHER_PLATFORM_INVOKE_API_H

#include <stddef.h>

struct platform;

/* Binds the Invoke API on cfg.bind:cfg.port and records the bound port in
 * p->api_port. -1 after logging why. */
__attribute__((warn_unused_result)) int platform_invoke_api_start(struct platform *p);
/* Closes the listener and every connection. */
void platform_invoke_api_stop(struct platform *p);

#endif
