/*
 * The Invoke API's body guard: fed a stream of requests in pieces of every
 * size, what evhttp gets to read must be the stream with oversized bodies
 * edited out (the head rewritten with the marker, the body dropped, a chunked
 * body cut), and everything else byte for byte as sent.
 */
#include "harness.h"
#include "platform/body_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT 10 /* a small limit keeps the streams readable */

/* What evhttp's input buffer receives: the guard's edits applied as the
 * Invoke API applies them (evhttp consuming nothing meanwhile). */
static char *run(const char *stream, size_t len, size_t piece, size_t *out_len)
{
    platform_guard_t g;
    platform_guard_init(&g, LIMIT);
    size_t cap = 4 * len + 4096, blen = 0;
    char *buf = malloc(cap);
    char *out = malloc(platform_guard_out_max(len) + 1);
    for (size_t i = 0; i < len; i += piece) {
        size_t n = len - i < piece ? len - i : piece;
        size_t held = 0, olen = 0;
        platform_guard_result_t r = platform_guard_feed(&g, stream + i, n, out, &olen, &held);
        if (r == PLATFORM_GUARD_KEEP) {
            memcpy(buf + blen, stream + i, n);
            blen += n;
        } else if (r == PLATFORM_GUARD_REWRITE) {
            CHECK(held <= blen);
            blen -= held;
            memcpy(buf + blen, out, olen);
            blen += olen;
        }
    }
    free(out);
    buf[blen] = '\0';
    *out_len = blen;
    return buf;
}

/* Every piece size gives expect. */
static void check_stream(const char *what, const char *stream, const char *expect)
{
    size_t len = strlen(stream);
    for (size_t piece = 1; piece <= len; piece++) {
        size_t got_len;
        char *got = run(stream, len, piece, &got_len);
        if (got_len != strlen(expect) || memcmp(got, expect, got_len) != 0) {
            fprintf(stderr, "%s, pieces of %zu:\n--- got\n%s\n--- expected\n%s\n", what, piece,
                    got, expect);
            CHECK(0);
            free(got);
            return;
        }
        free(got);
    }
    CHECK(1);
}

#define NEXT "GET /_tether/status HTTP/1.1\r\nHost: x\r\n\r\n"

static void test_small_requests_pass(void)
{
    const char *s = "POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789" NEXT
                    "POST /f HTTP/1.1\nContent-Length: 0\n\n" NEXT;
    /* framing headers are written once, checked, at the end of the head */
    check_stream("small bodies", s,
                 "POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789" NEXT
                 "POST /f HTTP/1.1\nContent-Length: 0\r\n\r\n" NEXT);
    /* a body may look like a head: it is not read as one */
    const char *b = "POST /f HTTP/1.1\r\nContent-Length: 8\r\n\r\n\r\n\r\nC:99" NEXT;
    check_stream("head-like body", b, b);
    const char *b2 = "PUT /f HTTP/1.1\r\nContent-Length: 10\r\n\r\nCon:\r\n\r\n\r\n" NEXT;
    check_stream("head-like body 2", b2, b2);
}

static void test_oversized_content_length(void)
{
    check_stream(
        "oversized",
        "POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 25\r\nX: y\r\n\r\n"
        "0123456789012345678901234" NEXT,
        "POST /f HTTP/1.1\r\nHost: x\r\nX: y\r\nContent-Length: 0\r\n" PLATFORM_GUARD_MARKER
        ": 25\r\n\r\n" NEXT);
    /* LF line ends, odd spacing: read as evhttp reads them */
    check_stream("LF, spaces", "PATCH /f HTTP/1.1\ncontent-length:   11  \n\nxxxxxxxxxxx" NEXT,
                 "PATCH /f HTTP/1.1\nContent-Length: 0\r\n" PLATFORM_GUARD_MARKER
                 ": 11\r\n\r\n" NEXT);
    /* no body for GET: evhttp reads none, nor does the guard drop any */
    const char *get = "GET /f HTTP/1.1\r\nContent-Length: 25\r\n\r\n" NEXT;
    check_stream("GET", get, get);
    /* at the limit it passes */
    const char *at = "POST /f HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789" NEXT;
    check_stream("at the limit", at, at);
    /* a huge one: the head is edited, the rest of the stream dropped */
    check_stream("huge", "POST /f HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\nabcdef",
                 "POST /f HTTP/1.1\r\nContent-Length: 0\r\n" PLATFORM_GUARD_MARKER
                 ": 99999999999\r\n\r\n");
}

static void test_chunked(void)
{
    const char *small = "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "4\r\nabcd\r\n6\r\nefghij\r\n0\r\nT: 1\r\n\r\n" NEXT;
    check_stream("chunked at the limit", small, small);
    check_stream("chunked over",
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                 "5\r\nhello\r\n8\r\n12345678\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n" NEXT,
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n0\r\n\r\n" NEXT);
    /* the first chunk over the limit: an empty body and the marker */
    check_stream("first chunk over",
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n01234567890\r\n0\r\n\r\n" NEXT,
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" NEXT);
    /* Transfer-Encoding and Content-Length together: invalid (test_strict_framing) */
    /* which chunked bodies were cut, in order */
    platform_guard_t g;
    platform_guard_init(&g, LIMIT);
    const char *three = "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
                        "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nff\r\n";
    char out[8192];
    size_t olen, held;
    CHECK_INT(platform_guard_feed(&g, three, strlen(three), out, &olen, &held),
              PLATFORM_GUARD_REWRITE);
    CHECK_INT(g.chunked_bodies, 2);
    CHECK_INT(platform_guard_chunked_cut(&g, 1), 0);
    CHECK_INT(platform_guard_chunked_cut(&g, 2), 1);
    CHECK_INT(platform_guard_chunked_cut(&g, 3), 0);
    CHECK_INT(platform_guard_chunked_cut(&g, 0), 0);
}

static void test_gives_up_on_malformed(void)
{
    /* a folded Content-Length */
    const char *fold = "POST /f HTTP/1.1\r\nContent-Length: 99\r\n 1\r\n\r\nab";
    platform_guard_t g;
    platform_guard_init(&g, LIMIT);
    char out[8192];
    size_t olen, held;
    (void)platform_guard_feed(&g, fold, strlen(fold), out, &olen, &held);
    CHECK_INT(g.state, PLATFORM_GUARD_REJECTED);
}

/* What a head found invalid at its line becomes: the end of a head with an
 * empty chunked body and the marker; nothing after it passes. */
#define BAD(why) PLATFORM_GUARD_BAD ": " why "\r\n\r\n"

static void test_strict_framing(void)
{
    const char *post = "POST /f HTTP/1.1\r\n";
    char in[512], want[512];
    /* malformed Content-Length values: RFC 9112 wants 1*DIGIT */
    static const char *const malformed[] = {"+7",  "7a",  "",    "-1",
                                            "0x7", "7 7", "1,1", "99999999999999999999"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        snprintf(in, sizeof in, "%sHost: x\r\nContent-Length: %s\r\n\r\n1234567" NEXT, post,
                 malformed[i]);
        snprintf(want, sizeof want, "%sHost: x\r\n" BAD("malformed Content-Length"), post);
        check_stream(malformed[i], in, want);
    }
    /* leading zeros, whitespace around the value: accepted as they are */
    const char *zeros = "POST /f HTTP/1.1\r\nContent-Length: \t 007 \t\r\n\r\n1234567" NEXT;
    check_stream("leading zeros and OWS", zeros,
                 "POST /f HTTP/1.1\r\nContent-Length: 7\r\n\r\n1234567" NEXT);
    /* two that differ: invalid; two equal: one */
    check_stream("conflicting",
                 "POST /f HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 99\r\n\r\nabc" NEXT,
                 "POST /f HTTP/1.1\r\n" BAD("conflicting Content-Length headers"));
    const char *same =
        "POST /f HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 03\r\n\r\nabc" NEXT;
    check_stream("equal duplicates", same, "POST /f HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" NEXT);
    /* a Transfer-Encoding twice, or not chunked; a folded framing header */
    check_stream("TE twice",
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n0\r\n\r\n",
                 "POST /f HTTP/1.1\r\n" BAD("repeated Transfer-Encoding"));
    /* RFC 9112 6.3: chunked must be last (400); 6.1: a coding before it that
       is not implemented (501) */
    check_stream("TE gzip", "POST /f HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxyz",
                 "POST /f HTTP/1.1\r\n" BAD("a Transfer-Encoding whose final coding is not chunked"));
    check_stream("TE gzip, chunked",
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: gzip , chunked\r\n\r\n0\r\n\r\n",
                 "POST /f HTTP/1.1\r\n" BAD(PLATFORM_GUARD_TE_UNSUPPORTED));
    check_stream("TE chunked, chunked",
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
                 "POST /f HTTP/1.1\r\n" BAD("chunked applied more than once"));
    check_stream("TE empty", "POST /f HTTP/1.1\r\nTransfer-Encoding: ,\r\n\r\n",
                 "POST /f HTTP/1.1\r\n" BAD("an empty Transfer-Encoding"));
    check_stream("TE , Chunked", "POST /f HTTP/1.1\r\nTransfer-Encoding: , Chunked\r\n\r\n0\r\n\r\n",
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    CHECK(platform_guard_bad_status(PLATFORM_GUARD_TE_UNSUPPORTED) == 501);
    CHECK(platform_guard_bad_status("a Transfer-Encoding whose final coding is not chunked") == 400);
    CHECK(platform_guard_bad_status("malformed Content-Length") == 400);
    check_stream("folded", "POST /f HTTP/1.1\r\nContent-Length: 3\r\n 4\r\n\r\nabc",
                 "POST /f HTTP/1.1\r\n" BAD("a folded framing header"));
    /* Content-Length with Transfer-Encoding, either order */
    check_stream("TE then CL",
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
                 "3\r\nabc\r\n0\r\n\r\n" NEXT,
                 "POST /f HTTP/1.1\r\n" BAD("Content-Length with Transfer-Encoding"));
    check_stream("CL then TE",
                 "POST /f HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n0\r\n\r\n" NEXT,
                 "POST /f HTTP/1.1\r\n" BAD("Transfer-Encoding with Content-Length"));
    /* chunk sizes: 1*HEXDIG; evhttp's strtoll would take +7, 0x7, " 7" */
    static const char *const sizes[] = {
        "+7", "0x7", " 7", "7 ", "-7", "zz", "", "7z", "10000000000000000"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(in, sizeof in,
                 "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n%s\r\nabcdefg\r\n"
                 "0\r\n\r\n" NEXT,
                 sizes[i]);
        const char *expect = "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n"
                             "0\r\n\r\n";
        if (sizes[i][0] == '\0') /* an empty line is the end of the previous data */
            continue;
        check_stream(sizes[i], in, expect);
        platform_guard_t g;
        platform_guard_init(&g, LIMIT);
        char out[8192];
        size_t olen, held;
        (void)platform_guard_feed(&g, in, strlen(in), out, &olen, &held);
        CHECK_INT(g.state, PLATFORM_GUARD_REJECTED);
        CHECK_INT(platform_guard_chunked_bad(&g, 1), 1);
        CHECK_INT(platform_guard_fast(&g, 10), PLATFORM_GUARD_DROP_ALL);
    }
    /* leading zeros pass; a chunk extension is taken off (evhttp cannot parse one) */
    const char *ok =
        "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0003\r\nabc\r\n0\r\n\r\n" NEXT;
    check_stream("chunk size zeros", ok, ok);
    check_stream(
        "chunk extension",
        "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 ;a=b\r\nabc\r\n0;x\r\n\r\n" NEXT,
        "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" NEXT);
    platform_guard_t g;
    platform_guard_init(&g, LIMIT);
    char out[8192];
    size_t olen, held;
    (void)platform_guard_feed(&g, ok, strlen(ok), out, &olen, &held);
    CHECK_INT(platform_guard_chunked_bad(&g, 1), 0);
    CHECK_INT(platform_guard_chunked_cut(&g, 1), 0);
}

static void test_fast_path_and_count(void)
{
    platform_guard_t g;
    platform_guard_init(&g, LIMIT);
    char out[8192];
    size_t olen = 0, held = 0;
    const char *h = "POST /f HTTP/1.1\r\nContent-Length: 1000\r\n\r\n";
    CHECK_INT(platform_guard_feed(&g, h, strlen(h), out, &olen, &held), PLATFORM_GUARD_REWRITE);
    CHECK_INT(g.state, PLATFORM_GUARD_DROP);
    CHECK_INT(g.refused, 1);
    CHECK_INT(platform_guard_fast(&g, 600), PLATFORM_GUARD_DROP_ALL);
    CHECK_INT(platform_guard_fast(&g, 401), -1);
    CHECK_INT(platform_guard_fast(&g, 400), PLATFORM_GUARD_DROP_ALL);
    CHECK_INT(g.state, PLATFORM_GUARD_HEAD);
    const char *ok = "POST /f HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
    CHECK_INT(platform_guard_feed(&g, ok, strlen(ok), out, &olen, &held), PLATFORM_GUARD_KEEP);
    CHECK_INT(platform_guard_fast(&g, 5), PLATFORM_GUARD_KEEP);
    CHECK_INT(g.state, PLATFORM_GUARD_HEAD);
}

/* Feeds s byte by byte, returning the phase after each byte in phases[]. */
static void phases_of(const char *s, char *phases)
{
    platform_guard_t g;
    platform_guard_init(&g, LIMIT);
    char out[4096];
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        size_t olen = 0, held = 0;
        (void)platform_guard_feed(&g, s + i, 1, out, &olen, &held);
        phases[i] = (char)('0' + platform_guard_phase(&g));
    }
    phases[len] = '\0';
}

/* The request clock's view: idle between requests, head from a request's
 * first byte to its empty line, body until its last byte. */
static void test_phase(void)
{
    char ph[256];
    phases_of("GET / HTTP/1.1\r\n\r\n", ph);
    CHECK_STR(ph, "111111111111111110");
    phases_of("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nabG", ph);
    CHECK_STR(ph, "1111111111111111111111111111111111111" "2201"); /* 37 bytes of head */
    platform_guard_t g;
    platform_guard_init(&g, LIMIT);
    char out[4096];
    size_t olen = 0, held = 0;
    const char *c = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\n";
    (void)platform_guard_feed(&g, c, strlen(c), out, &olen, &held);
    CHECK_INT(platform_guard_phase(&g), PLATFORM_GUARD_PHASE_BODY);
    CHECK(g.declared == 7); /* the chunk sizes so far */
    const char *big = "POST / HTTP/1.1\r\nContent-Length: 99\r\n\r\n";
    platform_guard_init(&g, LIMIT);
    (void)platform_guard_feed(&g, big, strlen(big), out, &olen, &held);
    CHECK_INT(platform_guard_phase(&g), PLATFORM_GUARD_PHASE_BODY); /* dropped, still timed */
    CHECK(g.declared == 99);
}

int main(void)
{
    RUN(test_phase);
    RUN(test_small_requests_pass);
    RUN(test_oversized_content_length);
    RUN(test_chunked);
    RUN(test_gives_up_on_malformed);
    RUN(test_strict_framing);
    RUN(test_fast_path_and_count);
    return TEST_REPORT();
}
