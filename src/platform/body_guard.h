/*
 * The Invoke API's body guard: a byte-stream tracker of the HTTP/1.1 requests
 * on one connection that sees every byte before evhttp does, so a request
 * body over the limit is never buffered and is still answered with AWS's JSON
 * 413 (RequestTooLargeException) instead of evhttp's own HTML page.
 *
 * It follows request framing exactly as libevent 2.1's evhttp reads it
 * (request line, header lines ending in LF or CRLF, the first Content-Length
 * and Transfer-Encoding, bodies only for POST / PUT / PATCH, chunk-size lines
 * with empty lines skipped, trailers) and edits the stream in two places:
 *
 *  - a head whose Content-Length is over the limit gets "Content-Length: 0"
 *    and a marker header "X-Tether-Large: N" instead (at the end of the
 *    head), and the N body bytes that follow are dropped as they arrive;
 *  - a chunked body whose chunks add up to more than the limit is ended at
 *    the chunk that crosses it, and the rest of it is dropped. evhttp 2.1
 *    keeps no trailers, so the cut is recorded instead: the Invoke API asks
 *    platform_guard_chunked_cut about each chunked request it gets, in order.
 *
 * evhttp then sees a small request, marked, which the Invoke API answers with
 * the 413; the connection stays usable for the next request. On
 * anything it cannot follow (an over-long header line it would have to edit)
 * it stops editing that connection: evhttp, which rejects such input itself,
 * sees the bytes as sent.
 *
 * Framing is strict where RFC 9112 says a request is invalid and evhttp
 * would guess (its strtoll takes "+7", " 7", "0x7"; it reads the first of
 * two Content-Length): a Content-Length that is not 1*DIGIT (OWS around it
 * and leading zeros are fine), two that differ, Content-Length together with
 * Transfer-Encoding, a Transfer-Encoding other than one "chunked" (a coding
 * before a final chunked is not implemented: 501; any other list: 400), a folded
 * framing header, a chunk size that is not 1*HEXDIG (chunk extensions, which
 * evhttp cannot parse, are taken off). The framing headers of a head are
 * withheld and written once, checked, before its empty line, so evhttp has
 * seen none of them when one turns out wrong: that line is replaced with
 * the marker header "X-Tether-Bad-Framing: why" and the end of the head. A
 * chunked body ends at a bad chunk size and is recorded as bad (asked with
 * platform_guard_chunked_bad, as for a cut). Everything after it on the
 * connection is dropped, and the Invoke API answers the request with a 400
 * and closes the connection. Pure: no I/O, no evhttp.
 */
#ifndef TETHER_PLATFORM_BODY_GUARD_H
#define TETHER_PLATFORM_BODY_GUARD_H

#include <stddef.h>
#include <stdint.h>

#define PLATFORM_GUARD_MARKER   "X-Tether-Large"
#define PLATFORM_GUARD_BAD      "X-Tether-Bad-Framing" /* a request RFC 9112 calls invalid */
/* The why of a request whose Transfer-Encoding names a coding tether does not
 * implement (anything but chunked) before its final chunked: 501, not 400 */
#define PLATFORM_GUARD_TE_UNSUPPORTED "a transfer coding other than chunked"
#define PLATFORM_GUARD_LINE_MAX 1024 /* bytes of a line kept (enough for the lines edited) */

typedef enum platform_guard_state {
    PLATFORM_GUARD_HEAD = 0,       /* reading a request head, line by line */
    PLATFORM_GUARD_BODY = 1,       /* Content-Length body bytes, passed on */
    PLATFORM_GUARD_DROP = 2,       /* an oversized Content-Length body, dropped */
    PLATFORM_GUARD_CHUNK_LINE = 3, /* a chunk-size line (or the empty line after data) */
    PLATFORM_GUARD_CHUNK_DATA = 4, /* chunk data */
    PLATFORM_GUARD_TRAILER = 5,    /* trailer lines after the last chunk */
    PLATFORM_GUARD_PASS = 6,       /* gave up on this connection: everything passes */
    PLATFORM_GUARD_REJECTED = 7,   /* a request with invalid framing was ended: all dropped */
} platform_guard_state_t;

typedef struct platform_guard {
    platform_guard_state_t state;
    uint64_t limit;         /* largest body passed on */
    uint64_t remaining;     /* BODY / DROP / CHUNK_DATA: bytes left */
    uint64_t chunked_total; /* chunk bytes passed on in this body */
    int dropping;           /* the chunked body was cut: its rest is dropped */
    unsigned line_no;       /* HEAD: lines read in this head (0: the request line) */
    int body_method;        /* POST, PUT or PATCH: evhttp reads a body */
    int cl_seen;            /* a Content-Length was seen (a valid one: else rejected) */
    int te_seen, chunked;   /* the first Transfer-Encoding was seen; it is "chunked" */
    int last_framing;       /* the last header was Content-Length or Transfer-Encoding */
    uint64_t cl;            /* the first Content-Length */
    uint64_t declared;      /* this request's body: its Content-Length, or its chunk sizes so far */
    char line[PLATFORM_GUARD_LINE_MAX]; /* the current line's first bytes */
    size_t line_len;                    /* bytes in line[] */
    uint64_t line_total;                /* bytes of the current line so far */
    uint64_t refused;                   /* bodies cut or dropped on this connection */
    uint64_t heads;                     /* request heads read whole on this connection */
    uint64_t chunked_bodies;            /* chunked bodies begun on this connection */
    uint64_t cut_mask;                  /* bit (n % 64): chunked body n was cut */
    uint64_t bad_mask;                  /* bit (n % 64): chunked body n had a bad chunk size */
} platform_guard_t;

typedef enum platform_guard_result {
    PLATFORM_GUARD_KEEP = 0,     /* the new bytes pass as they are */
    PLATFORM_GUARD_DROP_ALL = 1, /* drop all the new bytes */
    PLATFORM_GUARD_REWRITE = 2,  /* replace held + new bytes with out */
} platform_guard_result_t;

/* Where a connection is between requests, for the request clock (the
 * Invoke API bounds how long a begun request may take). */
typedef enum platform_guard_phase {
    PLATFORM_GUARD_PHASE_IDLE = 0, /* between requests (or not followed: PASS, REJECTED) */
    PLATFORM_GUARD_PHASE_HEAD = 1, /* some of a request head is in, not all */
    PLATFORM_GUARD_PHASE_BODY = 2, /* its head is in, its body is not (g->declared so far) */
} platform_guard_phase_t;

void platform_guard_init(platform_guard_t *g, uint64_t limit);

/* Which part of a request the stream is in. */
platform_guard_phase_t platform_guard_phase(const platform_guard_t *g);

/* Without looking at the bytes: KEEP or DROP_ALL when n more bytes of the
 * stream are all body (the common case), else -1 (call platform_guard_feed). */
int platform_guard_fast(platform_guard_t *g, size_t n);

/* 1 when the seq-th chunked body (from 1) on the connection was cut; the
 * last 64 are remembered. */
int platform_guard_chunked_cut(const platform_guard_t *g, uint64_t seq);
/* 1 when the seq-th chunked body was ended at a chunk size that is not
 * plain hex (then also "cut"): a 400, and the connection closed. */
int platform_guard_chunked_bad(const platform_guard_t *g, uint64_t seq);

/* The status a request marked PLATFORM_GUARD_BAD with this why gets: 501
 * for PLATFORM_GUARD_TE_UNSUPPORTED (RFC 9112 6.1), else 400. */
int platform_guard_bad_status(const char *why);

/* The output room platform_guard_feed needs for n new bytes. */
size_t platform_guard_out_max(size_t n);

/* Feeds the next n bytes of the stream. On PLATFORM_GUARD_REWRITE the last
 * *held bytes before them (the start of a line that arrived earlier and that
 * evhttp cannot have consumed yet: it reads whole lines) plus the n bytes are
 * to be replaced with out[0..*out_len). out has platform_guard_out_max(n) bytes. */
platform_guard_result_t platform_guard_feed(platform_guard_t *g, const char *in, size_t n,
                                            char *out, size_t *out_len /* OUT */,
                                            size_t *held /* OUT */);

#endif
