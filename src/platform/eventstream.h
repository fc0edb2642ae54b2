/*
 * AWS event stream framing (application/vnd.amazon.eventstream), the binary
 * messages InvokeWithResponseStream answers with: a prelude (total length,
 * headers length, the prelude's CRC32), headers, the payload, and the
 * message's CRC32, all big-endian. Only what the platform sends is written:
 * event messages whose headers are strings (:event-type, :content-type,
 * :message-type). The CRC32 is zlib's. Pure: no I/O.
 */
#ifndef TETHER_PLATFORM_EVENTSTREAM_H
#define TETHER_PLATFORM_EVENTSTREAM_H

#include "common/buf.h"

#include <stddef.h>

#define PLATFORM_EVENTSTREAM_PRELUDE 12 /* total length, headers length, prelude CRC */
#define PLATFORM_EVENTSTREAM_TRAILER 4  /* the message CRC */

/* Appends one event message to out: headers :event-type event_type,
 * :content-type content_type and :message-type "event", then len bytes of
 * payload. 0, or a buf_t error (BUF_ERR_TOOBIG, ...) with out unchanged in
 * length. */
__attribute__((warn_unused_result)) int
platform_eventstream_append_event(buf_t *out, const char *event_type, const char *content_type,
                                  const void *payload, size_t len);

#endif
