/*
 * The body guard (see body_guard.h): a resumable byte-stream parser that
 * mirrors evhttp's request framing and edits oversized bodies out of the
 * stream. Lines are handled as evhttp reads them with EVBUFFER_EOL_CRLF: a
 * line ends at LF, a CR before it is dropped.
 */
#include "platform/body_guard.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CUT_TRAILER "0\r\n\r\n" /* the last chunk, no trailer */
/* What replaces the line of a head found invalid: evhttp has seen none of
 * its framing headers (they are withheld until the head ends), so it reads
 * no body, and the Invoke API sees the marker. */
#define BAD_HEAD    PLATFORM_GUARD_BAD ": "
#define BAD_WHY_MAX 64

/* The output being built for one feed: never more than out_max bytes. */
typedef struct out {
    char *p;
    size_t len;
    size_t cap;   /* platform_guard_out_max of the feed */
    int overflow; /* an add did not fit (cannot happen by the bound; defensive) */
} out_t;

static void out_add(out_t *o, const void *data, size_t n)
{
    if (n > o->cap - o->len) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->len, data, n);
    o->len += n;
}

static void start_head(platform_guard_t *g)
{
    g->state = PLATFORM_GUARD_HEAD;
    g->remaining = 0;
    g->chunked_total = 0;
    g->dropping = 0;
    g->line_no = 0;
    g->body_method = 0;
    g->cl_seen = 0;
    g->te_seen = g->chunked = 0;
    g->last_framing = 0;
    g->cl = 0;
    g->declared = 0;
}

void platform_guard_init(platform_guard_t *g, uint64_t limit)
{
    memset(g, 0, sizeof *g);
    g->limit = limit;
    start_head(g);
}

platform_guard_phase_t platform_guard_phase(const platform_guard_t *g)
{
    switch (g->state) {
    case PLATFORM_GUARD_HEAD:
        return g->line_no > 0 || g->line_total > 0 ? PLATFORM_GUARD_PHASE_HEAD
                                                   : PLATFORM_GUARD_PHASE_IDLE;
    case PLATFORM_GUARD_BODY:
    case PLATFORM_GUARD_DROP:
    case PLATFORM_GUARD_CHUNK_LINE:
    case PLATFORM_GUARD_CHUNK_DATA:
    case PLATFORM_GUARD_TRAILER:
        return PLATFORM_GUARD_PHASE_BODY;
    case PLATFORM_GUARD_PASS:
    case PLATFORM_GUARD_REJECTED:
        break;
    }
    return PLATFORM_GUARD_PHASE_IDLE;
}

int platform_guard_chunked_cut(const platform_guard_t *g, uint64_t seq)
{
    if (seq == 0 || seq > g->chunked_bodies || g->chunked_bodies - seq >= 64)
        return 0;
    return (g->cut_mask >> (seq % 64)) & 1;
}

int platform_guard_chunked_bad(const platform_guard_t *g, uint64_t seq)
{
    if (seq == 0 || seq > g->chunked_bodies || g->chunked_bodies - seq >= 64)
        return 0;
    return (g->bad_mask >> (seq % 64)) & 1;
}

size_t platform_guard_out_max(size_t n)
{
    /* the held line, then at most 3 bytes out per byte in (a rewritten
     * Content-Length line is at least 23 bytes and grows by at most 40; a
     * cut needs a head of its own), and one cut trailer */
    return PLATFORM_GUARD_LINE_MAX + 3 * n + sizeof CUT_TRAILER + 64 + sizeof BAD_HEAD +
           BAD_WHY_MAX + 8 + sizeof CUT_TRAILER;
}

int platform_guard_fast(platform_guard_t *g, size_t n)
{
    switch (g->state) {
    case PLATFORM_GUARD_PASS:
        return PLATFORM_GUARD_KEEP;
    case PLATFORM_GUARD_REJECTED:
        return PLATFORM_GUARD_DROP_ALL;
    case PLATFORM_GUARD_BODY:
        if (g->remaining < n)
            return -1;
        g->remaining -= n;
        if (g->remaining == 0)
            start_head(g);
        return PLATFORM_GUARD_KEEP;
    case PLATFORM_GUARD_DROP:
        if (g->remaining < n)
            return -1;
        g->remaining -= n;
        if (g->remaining == 0)
            start_head(g);
        return PLATFORM_GUARD_DROP_ALL;
    case PLATFORM_GUARD_CHUNK_DATA:
        if (g->remaining < n)
            return -1;
        g->remaining -= n;
        if (g->remaining == 0)
            g->state = PLATFORM_GUARD_CHUNK_LINE;
        return g->dropping ? PLATFORM_GUARD_DROP_ALL : PLATFORM_GUARD_KEEP;
    case PLATFORM_GUARD_HEAD:
    case PLATFORM_GUARD_CHUNK_LINE:
    case PLATFORM_GUARD_TRAILER:
        break;
    }
    return -1;
}

/* The method of a request line: evhttp reads a body for these only. */
static int method_has_body(const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    size_t m = sp != NULL ? (size_t)(sp - line) : len;
    return (m == 4 && memcmp(line, "POST", 4) == 0) || (m == 3 && memcmp(line, "PUT", 3) == 0) ||
           (m == 5 && memcmp(line, "PATCH", 5) == 0);
}

/* Trims as evhttp does a header value: leading spaces, trailing spaces, tabs, CR, LF. */
static void header_value(char *v, char **start)
{
    while (*v == ' ')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        v[--n] = '\0';
    *start = v;
}

/* The head is invalid at its current line (the last line_total bytes of o):
 * that line becomes the end of a head evhttp reads with an empty body and
 * the marker saying why; everything after it is dropped. Returns 1. */
static int reject_head(platform_guard_t *g, out_t *o, const char *why)
{
    if (o->len < g->line_total) {
        o->overflow = 1;
        return 0;
    }
    o->len -= (size_t)g->line_total;
    char repl[sizeof BAD_HEAD + BAD_WHY_MAX + 8];
    int n = snprintf(repl, sizeof repl, BAD_HEAD "%.*s\r\n\r\n", BAD_WHY_MAX, why);
    out_add(o, repl, (size_t)n);
    g->state = PLATFORM_GUARD_REJECTED;
    g->heads++; /* ended here */
    return 1;
}

/* A Content-Length value (OWS already trimmed): 1*DIGIT, leading zeros
 * allowed, at most INT64_MAX. 0 and *v, or -1. */
static int parse_content_length(const char *s, uint64_t *v)
{
    while (*s == '\t' || *s == ' ') /* OWS: evhttp trims spaces only; its strtoll skips a tab */
        s++;
    if (*s == '\0')
        return -1;
    uint64_t x = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || x > (UINT64_C(0x7fffffffffffffff) - (uint64_t)(*s - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return 0;
}

/* A Transfer-Encoding value (a list of codings): NULL when it is chunked
 * alone, else why not. RFC 9112 6.3: chunked must be the final coding, once
 * (400); 6.1: a coding the server does not implement before it (every one
 * other than chunked here) is PLATFORM_GUARD_TE_UNSUPPORTED (501). Empty
 * list elements are skipped (RFC 9110 5.6.1). */
static const char *te_check(const char *v)
{
    int chunked = 0, others = 0, last_chunked = 0;
    while (*v != '\0') {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        if (*v == '\0')
            break;
        const char *end = strchr(v, ',');
        size_t n = end != NULL ? (size_t)(end - v) : strlen(v);
        size_t len = n;
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        last_chunked = len == 7 && strncasecmp(v, "chunked", 7) == 0;
        if (last_chunked)
            chunked++;
        else
            others++;
        v += n;
    }
    if (chunked == 0 && others == 0)
        return "an empty Transfer-Encoding";
    if (chunked > 1)
        return "chunked applied more than once";
    if (!last_chunked)
        return "a Transfer-Encoding whose final coding is not chunked";
    if (others > 0)
        return PLATFORM_GUARD_TE_UNSUPPORTED;
    return NULL;
}

int platform_guard_bad_status(const char *why)
{
    return why != NULL && strcmp(why, PLATFORM_GUARD_TE_UNSUPPORTED) == 0 ? 501 : 400;
}

/* One complete header line (content without the line end). 1 when the
 * line was rewritten in o (it is the last line_total bytes there). */
static int head_line(platform_guard_t *g, char *content, int complete, out_t *o)
{
    if (g->line_no++ == 0) {
        g->body_method = method_has_body(content, strlen(content));
        return 0;
    }
    if (content[0] == ' ' || content[0] == '\t') {
        /* a continuation would change a framing header's value (RFC 9112
           5.2 has a server reject obs-fold anyway) */
        if (g->last_framing)
            return reject_head(g, o, "a folded framing header");
        return 0;
    }
    char *colon = strchr(content, ':');
    if (colon == NULL) {
        g->last_framing = 0;
        return 0; /* evhttp refuses the head and closes the connection */
    }
    *colon = '\0';
    int is_cl = strcasecmp(content, "Content-Length") == 0;
    int is_te = strcasecmp(content, "Transfer-Encoding") == 0;
    g->last_framing = is_cl || is_te;
    if (!g->last_framing)
        return 0;
    if (!complete)
        return reject_head(g, o, "a framing header line too long");
    char *value;
    header_value(colon + 1, &value);
    if (is_te) {
        if (g->cl_seen) /* RFC 9112 6.1: a request smuggling pattern */
            return reject_head(g, o, "Transfer-Encoding with Content-Length");
        if (g->te_seen)
            return reject_head(g, o, "repeated Transfer-Encoding");
        const char *why = te_check(value);
        if (why != NULL)
            return reject_head(g, o, why);
        g->te_seen = g->chunked = 1;
    } else {
        if (g->te_seen)
            return reject_head(g, o, "Content-Length with Transfer-Encoding");
        uint64_t v;
        if (parse_content_length(value, &v) != 0)
            return reject_head(g, o, "malformed Content-Length");
        if (g->cl_seen && v != g->cl) /* RFC 9112 6.3; equal ones count as one */
            return reject_head(g, o, "conflicting Content-Length headers");
        g->cl_seen = 1;
        g->cl = v;
    }
    /* withheld: written once, checked, at the end of the head (head_done) */
    if (o->len < g->line_total) {
        o->overflow = 1;
        return 0;
    }
    o->len -= (size_t)g->line_total;
    return 1;
}

/* The empty line that ends a head (the last line_total bytes of o): the
 * framing headers withheld so far go before it, as evhttp is to read them
 * (a body over the limit: none, and the marker). 1 when o was edited. */
static int head_framing(platform_guard_t *g, out_t *o)
{
    if (!g->cl_seen && !g->te_seen)
        return 0;
    if (o->len < g->line_total) {
        o->overflow = 1;
        return 0;
    }
    o->len -= (size_t)g->line_total;
    char repl[96];
    int n;
    if (g->te_seen)
        n = snprintf(repl, sizeof repl, "Transfer-Encoding: chunked\r\n\r\n");
    else if (g->body_method && g->cl > g->limit)
        n = snprintf(repl, sizeof repl,
                     "Content-Length: 0\r\n" PLATFORM_GUARD_MARKER ": %llu\r\n\r\n",
                     (unsigned long long)g->cl);
    else
        n = snprintf(repl, sizeof repl, "Content-Length: %llu\r\n\r\n", (unsigned long long)g->cl);
    out_add(o, repl, (size_t)n);
    return 1;
}

/* The head ended (an empty line): where the body goes. */
static void head_done(platform_guard_t *g)
{
    g->heads++;
    if (!g->body_method) {
        start_head(g);
    } else if (g->chunked) {
        g->chunked_bodies++;
        g->cut_mask &= ~((uint64_t)1 << (g->chunked_bodies % 64));
        g->bad_mask &= ~((uint64_t)1 << (g->chunked_bodies % 64));
        g->state = PLATFORM_GUARD_CHUNK_LINE;
        g->chunked_total = 0;
        g->dropping = 0;
    } else if (g->cl_seen && g->cl > g->limit) {
        g->declared = g->cl;
        g->refused++;
        g->state = PLATFORM_GUARD_DROP;
        g->remaining = g->cl;
    } else if (g->cl_seen && g->cl > 0) {
        g->declared = g->cl;
        g->state = PLATFORM_GUARD_BODY;
        g->remaining = g->cl;
    } else {
        start_head(g);
    }
}

/* One complete chunk-size line. 1 when the body was cut here. */
static int chunk_line(platform_guard_t *g, const char *content, int complete, out_t *o)
{
    if (content[0] == '\0')
        return 0; /* the line end after chunk data */
    if (!complete) {
        g->state = PLATFORM_GUARD_PASS;
        return 0;
    }
    /* chunk-size = 1*HEXDIG, then chunk-ext = *( BWS ";" ... ) (RFC 9112 7.1) */
    uint64_t v = 0;
    size_t digits = 0, i = 0;
    int overflow = 0;
    for (; isxdigit((unsigned char)content[i]); i++, digits++) {
        int d = isdigit((unsigned char)content[i])
                    ? content[i] - '0'
                    : (tolower((unsigned char)content[i]) - 'a' + 10);
        overflow |= v > (UINT64_C(0x7fffffffffffffff) - (uint64_t)d) / 16;
        v = v * 16 + (uint64_t)d;
    }
    size_t ext = i;
    while (content[ext] == ' ' || content[ext] == '\t')
        ext++;
    if (digits == 0 || overflow || (content[i] != '\0' && content[ext] != ';')) {
        if (g->dropping) { /* answered with the 413 already */
            g->state = PLATFORM_GUARD_REJECTED;
            return 0;
        }
        g->refused++;
        g->cut_mask |= (uint64_t)1 << (g->chunked_bodies % 64);
        g->bad_mask |= (uint64_t)1 << (g->chunked_bodies % 64);
        g->state = PLATFORM_GUARD_REJECTED;
        if (o->len < g->line_total) {
            o->overflow = 1;
            return 0;
        }
        o->len -= (size_t)g->line_total;
        out_add(o, CUT_TRAILER, sizeof CUT_TRAILER - 1);
        return 1;
    }
    int edited = 0;
    if (content[i] != '\0' && !g->dropping) {
        /* chunk extensions, which evhttp cannot parse: the size alone */
        if (o->len < g->line_total) {
            o->overflow = 1;
            return 0;
        }
        o->len -= (size_t)g->line_total;
        out_add(o, content, i);
        out_add(o, "\r\n", 2);
        edited = 1;
    }
    if (v == 0) {
        g->state = PLATFORM_GUARD_TRAILER;
        return edited;
    }
    g->state = PLATFORM_GUARD_CHUNK_DATA;
    g->remaining = v;
    g->declared = v > UINT64_MAX - g->declared ? UINT64_MAX : g->declared + v;
    if (g->dropping)
        return edited;
    if ((uint64_t)v > g->limit - g->chunked_total) {
        /* end the body before this chunk */
        g->refused++;
        g->cut_mask |= (uint64_t)1 << (g->chunked_bodies % 64);
        g->dropping = 1;
        if (edited)
            o->len -= i + 2; /* the size line rewritten just now */
        else if (o->len < g->line_total) {
            o->overflow = 1;
            return 0;
        } else
            o->len -= (size_t)g->line_total;
        out_add(o, CUT_TRAILER, sizeof CUT_TRAILER - 1);
        return 1;
    }
    g->chunked_total += v;
    return edited;
}

/* A line ended: acts on it in its state. 1 when o was edited. */
static int line_done(platform_guard_t *g, out_t *o)
{
    int complete = g->line_total == g->line_len;
    char content[PLATFORM_GUARD_LINE_MAX + 1];
    size_t n = g->line_len;
    if (complete && n > 0 && g->line[n - 1] == '\n')
        n--;
    if (complete && n > 0 && g->line[n - 1] == '\r')
        n--;
    memcpy(content, g->line, n);
    content[n] = '\0';
    int edited = 0;
    switch (g->state) {
    case PLATFORM_GUARD_HEAD:
        if (complete && n == 0 && g->line_no > 0) {
            edited = head_framing(g, o);
            head_done(g);
        } else
            edited = head_line(g, content, complete, o);
        break;
    case PLATFORM_GUARD_CHUNK_LINE:
        edited = chunk_line(g, content, complete, o);
        break;
    case PLATFORM_GUARD_TRAILER:
        if (complete && n == 0)
            start_head(g);
        break;
    case PLATFORM_GUARD_BODY:
    case PLATFORM_GUARD_DROP:
    case PLATFORM_GUARD_CHUNK_DATA:
    case PLATFORM_GUARD_PASS:
    case PLATFORM_GUARD_REJECTED:
        break;
    }
    g->line_len = 0;
    g->line_total = 0;
    return edited;
}

platform_guard_result_t platform_guard_feed(platform_guard_t *g, const char *in, size_t n, char *out,
                                            size_t *out_len, size_t *held)
{
    out_t o = {out, 0, platform_guard_out_max(n), 0};
    int changed = 0;
    int fast = platform_guard_fast(g, n);
    if (fast >= 0)
        return (platform_guard_result_t)fast;
    /* the current line, if it started earlier, is still whole in evhttp's
     * buffer: it joins the output so an edit can replace it */
    *held = 0;
    int line_state = g->state == PLATFORM_GUARD_HEAD || g->state == PLATFORM_GUARD_CHUNK_LINE ||
                     g->state == PLATFORM_GUARD_TRAILER;
    if (line_state && g->line_total > 0 && g->line_total == g->line_len && !g->dropping) {
        *held = g->line_len;
        out_add(&o, g->line, g->line_len);
    }
    size_t i = 0;
    while (i < n) {
        size_t take;
        switch (g->state) {
        case PLATFORM_GUARD_PASS:
            out_add(&o, in + i, n - i);
            i = n;
            break;
        case PLATFORM_GUARD_REJECTED:
            changed = 1; /* dropped */
            i = n;
            break;
        case PLATFORM_GUARD_BODY:
        case PLATFORM_GUARD_DROP:
        case PLATFORM_GUARD_CHUNK_DATA:
            take = n - i < g->remaining ? n - i : (size_t)g->remaining;
            if (g->state == PLATFORM_GUARD_DROP ||
                (g->state == PLATFORM_GUARD_CHUNK_DATA && g->dropping))
                changed = 1;
            else
                out_add(&o, in + i, take);
            g->remaining -= take;
            i += take;
            if (g->remaining == 0 && g->state == PLATFORM_GUARD_CHUNK_DATA)
                g->state = PLATFORM_GUARD_CHUNK_LINE;
            else if (g->remaining == 0)
                start_head(g);
            break;
        case PLATFORM_GUARD_HEAD:
        case PLATFORM_GUARD_CHUNK_LINE:
        case PLATFORM_GUARD_TRAILER: {
            const char *lf = memchr(in + i, '\n', n - i);
            take = lf != NULL ? (size_t)(lf - (in + i)) + 1 : n - i;
            int drop = g->dropping && g->state != PLATFORM_GUARD_HEAD;
            if (drop)
                changed = 1;
            else
                out_add(&o, in + i, take);
            size_t room = sizeof g->line - g->line_len;
            size_t keep = take < room ? take : room;
            memcpy(g->line + g->line_len, in + i, keep);
            g->line_len += keep;
            g->line_total += take;
            i += take;
            if (lf != NULL && line_done(g, &o))
                changed = 1;
            break;
        }
        }
    }
    if (o.overflow) {
        g->state = PLATFORM_GUARD_PASS; /* evhttp's own limits still apply */
        return PLATFORM_GUARD_KEEP;
    }
    if (!changed)
        return PLATFORM_GUARD_KEEP;
    /* withheld framing written back as it was (the usual head): no edit */
    if (*held == 0 && o.len == n && memcmp(o.p, in, n) == 0)
        return PLATFORM_GUARD_KEEP;
    *out_len = o.len;
    return PLATFORM_GUARD_REWRITE;
}
