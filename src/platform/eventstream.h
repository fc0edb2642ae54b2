/*
 * AWS event stream framing (application/vnd.amazon.eventstream), the binary
 * messages InvokeWithResponseStream answers with: a prelude (total length,
 * headers length, the prelude's CRC32), headers, the payload, and the
 * message's CRC32, all big-endian. The platform writes event messages whose
 * headers are strings (:event-type, :content-type, :message-type); `tether
 * invoke --stream` reads them back (any header type is skipped over, only
 * those three are kept). The CRC32 is zlib's. Pure: no I/O (fuzzed).
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

#define PLATFORM_EVENTSTREAM_MORE 1    /* platform_eventstream_decode: not a whole message yet */
#define PLATFORM_EVENTSTREAM_BAD  (-1) /* malformed: lengths, a CRC, a header */

typedef struct platform_event {
    char event_type[64];   /* :event-type, or "" */
    char content_type[64]; /* :content-type, or "" */
    char message_type[16]; /* :message-type ("event", "exception", "error"), or "" */
    const char *payload;   /* into the input */
    size_t payload_len;
    size_t total; /* the message's length: where the next one starts */
} platform_event_t;

/* Decodes the message at the start of in (n bytes): 0 and *ev, or
 * PLATFORM_EVENTSTREAM_MORE when n holds less than one message, or
 * PLATFORM_EVENTSTREAM_BAD (also for a message longer than max_total).
 * String header values longer than ev's fields are cut. */
__attribute__((warn_unused_result)) int
platform_eventstream_decode(const void *in, size_t n, size_t max_total, platform_event_t *ev);

#endif
