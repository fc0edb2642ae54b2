/*
 * The runtime loop behind tether_run(): signals, init, then
 * next → handler → response until SIGTERM or a fatal Runtime API failure.
 */
#ifndef TETHER_RUNTIME_LOOP_H
#define TETHER_RUNTIME_LOOP_H

#include <stdint.h>

/* Largest event payload accepted from /next: AWS's 6 MB plus headroom. */
#define RUNTIME_MAX_EVENT ((size_t)7 * 1024 * 1024)

/* Attempts at /next on transport errors before giving up (backoff 10 ms .. 1 s). */
#define RUNTIME_NEXT_ATTEMPTS 8

/*
 * Set by tether_db_open(): closes the managed client at shutdown. A hook, not
 * a call, so a function that never uses the database does not link libmongoc.
 */
extern void (*runtime_db_close_hook)(void);

/* AWS Lambda's limit on the init phase (the init callback included). */
#define RUNTIME_INIT_LIMIT_MS 10000

/*
 * The deadline of the phase in progress, in Unix epoch milliseconds: the
 * event's Lambda-Runtime-Deadline-Ms while a handler runs, tether_run()'s start
 * plus RUNTIME_INIT_LIMIT_MS while the init callback runs, 0 otherwise (or
 * when the event carried no deadline). The managed client bounds its timeouts
 * by it.
 */
int64_t runtime_loop_deadline_ms(void);

#endif
