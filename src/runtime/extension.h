/*
 * The no-op internal extension. AWS Lambda sends SIGTERM to the runtime before
 * shutting an instance down only when at least one extension is registered
 * (as the Go and Rust runtimes do, libtether registers one when the function
 * has a shutdown callback). An extension must then call /extension/event/next;
 * registered for no events, that request stays pending, on a thread of its
 * own with SIGTERM blocked, for the life of the process.
 */
#ifndef TETHER_RUNTIME_EXTENSION_H
#define TETHER_RUNTIME_EXTENSION_H

#define RUNTIME_EXTENSION_NAME "tether-graceful-shutdown"

/*
 * Registers (POST /2020-01-01/extension/register, Lambda-Extension-Name) and
 * starts the thread. Must run during init, before the first /next. Returns 0,
 * or -1 when the platform refused or lacks the Extensions API (logged; the
 * function runs on, it may just not see SIGTERM).
 */
int runtime_extension_start(const char *host_port);

#endif
