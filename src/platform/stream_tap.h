/*
 * A tap on one Runtime API connection: it follows the HTTP/1.1 requests a
 * runtime sends, as their bytes arrive and before evhttp reads them, and
 * reports the body bytes of a streamed response (a chunked
 * `POST /2018-06-01/runtime/invocation/ID/response` with
 * `Lambda-Runtime-Function-Response-Mode: streaming`) chunk by chunk, so the
 * platform can forward them to an InvokeWithResponseStream caller while the
 * function is still writing. evhttp still reads every byte as sent (the tap
 * never edits the stream) and hands the whole request to the Runtime API as
 * before (without trailers, which evhttp 2.1 drops: the tap reports them).
 *
 * Framing follows libevent 2.1's evhttp as body_guard.h does (lines ending in
 * LF or CRLF, the first Content-Length and Transfer-Encoding, bodies for POST,
 * PUT and PATCH only, empty lines skipped before a chunk size, trailers). On
 * anything it cannot follow it stops reporting for the connection: the
 * response then arrives whole, when evhttp has read it.
 *
 * platform_tap_feed is pure (fuzzed); platform_tap_bufferevent attaches a tap
 * to an evhttp server's connections.
 */
#ifndef TETHER_PLATFORM_STREAM_TAP_H
#define TETHER_PLATFORM_STREAM_TAP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct bufferevent;

#define PLATFORM_TAP_LINE_MAX 512 /* bytes of a line kept: request lines and the headers read */
#define PLATFORM_TAP_ID_MAX   64  /* request ids reported (longer: not ours) */

typedef enum platform_tap_state {
    PLATFORM_TAP_HEAD = 0,       /* reading a request head, line by line */
    PLATFORM_TAP_BODY = 1,       /* Content-Length body bytes */
    PLATFORM_TAP_CHUNK_LINE = 2, /* a chunk-size line (or the empty line after data) */
    PLATFORM_TAP_CHUNK_DATA = 3, /* chunk data */
    PLATFORM_TAP_TRAILER = 4,    /* trailer lines after the last chunk */
    PLATFORM_TAP_PASS = 5,       /* lost the framing: reports nothing more */
} platform_tap_state_t;

typedef enum platform_tap_part {
    PLATFORM_TAP_DATA = 0,     /* body bytes (chunk data) */
    PLATFORM_TAP_TRAILERS = 1, /* bytes of the trailer section, line ends included */
} platform_tap_part_t;

/* Called with each run of a streamed response's body bytes, then of its
 * trailer section, in order; id is the invocation's request id from the path.
 * evhttp 2.1 reads trailers but keeps none, so the Runtime API learns a
 * streamed response's error (Lambda-Runtime-Function-Error-Type / -Body)
 * from here. */
typedef void (*platform_tap_sink_fn)(void *arg, const char *id, platform_tap_part_t part,
                                     const char *data, size_t n);

typedef struct platform_tap {
    platform_tap_state_t state;
    uint64_t remaining;               /* BODY / CHUNK_DATA: bytes left */
    unsigned line_no;                 /* HEAD: lines read in this head (0: the request line) */
    int body_method;                  /* POST, PUT or PATCH: evhttp reads a body */
    int cl_seen, te_seen;             /* the first Content-Length / Transfer-Encoding was seen */
    int chunked;                      /* the first Transfer-Encoding is "chunked" */
    int streaming;                    /* Lambda-Runtime-Function-Response-Mode: streaming */
    int reporting;                    /* this body's bytes go to the sink */
    uint64_t cl;                      /* the first Content-Length */
    char id[PLATFORM_TAP_ID_MAX + 1]; /* the request id of a .../invocation/ID/response path */
    char line[PLATFORM_TAP_LINE_MAX]; /* the current line's first bytes */
    size_t line_len;                  /* bytes in line[] */
    uint64_t line_total;              /* bytes of the current line so far */
    platform_tap_sink_fn sink;        /* NULL: report nothing */
    void *sink_arg;
} platform_tap_t;

void platform_tap_init(platform_tap_t *t, platform_tap_sink_fn sink, void *arg);

/* Follows the next n bytes of the connection's input, calling the sink with
 * the streamed body bytes among them. */
void platform_tap_feed(platform_tap_t *t, const char *in, size_t n);

/* A socket bufferevent for an evhttp server connection (evhttp_set_bevcb's
 * callback calls it) with a tap on its input reporting to sink(arg, ...);
 * the tap is freed with the connection. NULL on allocation failure. */
struct bufferevent *platform_tap_bufferevent(struct event_base *base, platform_tap_sink_fn sink,
                                             void *arg);

/* Frees the taps reporting to arg whose connections closed unseen (before
 * their first byte): call after freeing the evhttp server they served. */
void platform_tap_release(void *arg);

#endif
