/*
 * The docstore's clock: monotonic milliseconds for timeouts and idle checks
 * (connections, cursors) and wall-clock milliseconds for what a client sees
 * (serverStatus, currentOp). Its own module so that the server and the
 * cursors both read it without depending on each other.
 */
#ifndef TETHER_DOCSTORE_CLOCK_H
#define TETHER_DOCSTORE_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds (CLOCK_MONOTONIC): for intervals only. */
int64_t docstore_now_ms(void);
/* Wall-clock milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t docstore_wall_ms(void);

#endif
