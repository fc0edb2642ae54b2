/*
 * The Runtime API's tap on streamed responses (see stream_tap.h).
 */
#include "platform/stream_tap.h"

#include "common/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESPONSE_PREFIX "/2018-06-01/runtime/invocation/"
#define RESPONSE_SUFFIX "/response"

void platform_tap_init(platform_tap_t *t, platform_tap_sink_fn sink, void *arg)
{
    memset(t, 0, sizeof *t);
    t->sink = sink;
    t->sink_arg = arg;
}

static void start_head(platform_tap_t *t)
{
    t->state = PLATFORM_TAP_HEAD;
    t->line_no = 0;
    t->body_method = 0;
    t->cl_seen = t->te_seen = t->chunked = t->streaming = t->reporting = 0;
    t->cl = 0;
    t->id[0] = '\0';
}

/* "POST /2018-06-01/runtime/invocation/ID/response HTTP/1.1": the body
 * method and, for a response path, its id. */
static void request_line(platform_tap_t *t, const char *line)
{
    const char *sp = strchr(line, ' ');
    size_t m = sp != NULL ? (size_t)(sp - line) : strlen(line);
    t->body_method = (m == 4 && memcmp(line, "POST", 4) == 0) ||
                     (m == 3 && memcmp(line, "PUT", 3) == 0) ||
                     (m == 5 && memcmp(line, "PATCH", 5) == 0);
    if (sp == NULL || strncmp(sp + 1, RESPONSE_PREFIX, sizeof RESPONSE_PREFIX - 1) != 0)
        return;
    const char *id = sp + 1 + sizeof RESPONSE_PREFIX - 1;
    const char *slash = strchr(id, '/');
    if (slash == NULL || slash == id || (size_t)(slash - id) > PLATFORM_TAP_ID_MAX ||
        strncmp(slash, RESPONSE_SUFFIX " ", sizeof RESPONSE_SUFFIX) != 0)
        return;
    memcpy(t->id, id, (size_t)(slash - id));
    t->id[slash - id] = '\0';
}

/* Trims a header value as evhttp does: leading spaces; trailing spaces and tabs. */
static char *header_value(char *v)
{
    while (*v == ' ')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        v[--n] = '\0';
    return v;
}

static void header_line(platform_tap_t *t, char *content, int complete)
{
    char c = content[0];
    if (c != 'C' && c != 'c' && c != 'T' && c != 't' && c != 'L' && c != 'l')
        return; /* not a header the tap reads (nor a continuation of one that fits a line) */
    char *colon = strchr(content, ':');
    if (colon == NULL)
        return;
    *colon = '\0';
    int is_cl = strcasecmp(content, "Content-Length") == 0;
    int is_te = strcasecmp(content, "Transfer-Encoding") == 0;
    int is_mode = strcasecmp(content, "Lambda-Runtime-Function-Response-Mode") == 0;
    if (!is_cl && !is_te && !is_mode)
        return;
    if (!complete) {
        t->state = PLATFORM_TAP_PASS; /* a framing header too long to read */
        return;
    }
    char *value = header_value(colon + 1);
    if (is_mode) {
        t->streaming = strcasecmp(value, "streaming") == 0;
    } else if (is_te && !t->te_seen) {
        t->te_seen = 1;
        t->chunked = strcasecmp(value, "chunked") == 0;
    } else if (is_cl && !t->cl_seen) {
        t->cl_seen = 1;
        char *end;
        long long v = strtoll(value, &end, 10);
        if (value[0] == '\0' || *end != '\0' || v < 0)
            t->state = PLATFORM_TAP_PASS; /* evhttp refuses it and closes */
        else
            t->cl = (uint64_t)v;
    }
}

static void head_done(platform_tap_t *t)
{
    if (!t->body_method) {
        start_head(t);
    } else if (t->chunked) {
        t->state = PLATFORM_TAP_CHUNK_LINE;
        t->reporting = t->streaming && t->id[0] != '\0' && t->sink != NULL;
    } else if (t->cl > 0) {
        t->state = PLATFORM_TAP_BODY;
        t->remaining = t->cl;
    } else {
        start_head(t);
    }
}

static void chunk_line(platform_tap_t *t, const char *content, int complete)
{
    if (content[0] == '\0')
        return; /* the line end after chunk data */
    if (!complete) {
        t->state = PLATFORM_TAP_PASS;
        return;
    }
    char *end;
    long long v = strtoll(content, &end, 16);
    if ((*end != '\0' && *end != ' ') || v < 0) {
        t->state = PLATFORM_TAP_PASS; /* evhttp refuses it and closes */
        return;
    }
    if (v == 0) {
        t->state = PLATFORM_TAP_TRAILER;
        return;
    }
    t->state = PLATFORM_TAP_CHUNK_DATA;
    t->remaining = (uint64_t)v;
}

static void line_done(platform_tap_t *t)
{
    int complete = t->line_total == t->line_len;
    char content[PLATFORM_TAP_LINE_MAX + 1];
    size_t n = t->line_len;
    if (complete && n > 0 && t->line[n - 1] == '\n')
        n--;
    if (complete && n > 0 && t->line[n - 1] == '\r')
        n--;
    memcpy(content, t->line, n);
    content[n] = '\0';
    switch (t->state) {
    case PLATFORM_TAP_HEAD:
        if (t->line_no == 0) {
            t->line_no++;
            request_line(t, content);
        } else if (complete && n == 0) {
            head_done(t);
        } else {
            t->line_no++;
            header_line(t, content, complete);
        }
        break;
    case PLATFORM_TAP_CHUNK_LINE:
        chunk_line(t, content, complete);
        break;
    case PLATFORM_TAP_TRAILER:
        if (complete && n == 0)
            start_head(t);
        break;
    case PLATFORM_TAP_BODY:
    case PLATFORM_TAP_CHUNK_DATA:
    case PLATFORM_TAP_PASS:
        break;
    }
    t->line_len = 0;
    t->line_total = 0;
}

void platform_tap_feed(platform_tap_t *t, const char *in, size_t n)
{
    size_t i = 0;
    while (i < n && t->state != PLATFORM_TAP_PASS) {
        if (t->state == PLATFORM_TAP_BODY || t->state == PLATFORM_TAP_CHUNK_DATA) {
            size_t take = n - i;
            if ((uint64_t)take > t->remaining)
                take = (size_t)t->remaining;
            if (t->state == PLATFORM_TAP_CHUNK_DATA && t->reporting)
                t->sink(t->sink_arg, t->id, PLATFORM_TAP_DATA, in + i, take);
            i += take;
            t->remaining -= take;
            if (t->remaining == 0) {
                if (t->state == PLATFORM_TAP_BODY)
                    start_head(t);
                else
                    t->state = PLATFORM_TAP_CHUNK_LINE;
            }
            continue;
        }
        const char *lf = memchr(in + i, '\n', n - i);
        size_t take = lf != NULL ? (size_t)(lf - (in + i)) + 1 : n - i;
        size_t room = PLATFORM_TAP_LINE_MAX - t->line_len;
        size_t keep = take < room ? take : room;
        memcpy(t->line + t->line_len, in + i, keep);
        t->line_len += keep;
        t->line_total += take;
        if (t->state == PLATFORM_TAP_TRAILER && t->reporting)
            t->sink(t->sink_arg, t->id, PLATFORM_TAP_TRAILERS, in + i, take);
        i += take;
        if (lf != NULL)
            line_done(t);
    }
}

/* One tapped connection, made with its bufferevent. Its tap starts at the
 * connection's first bytes: evhttp passes its evhttp_connection as the
 * bufferevent's callback argument, which is where the tap learns when the
 * connection goes, to free itself. Every tap is on one list (the loop is
 * single-threaded) so that those of connections that closed before sending a
 * byte are freed by platform_tap_release with their server. */
typedef struct tap_conn {
    platform_tap_t tap;
    struct bufferevent *bev;
    struct evbuffer_cb_entry *entry; /* tap_input_cb on the input buffer, once started */
    struct tap_conn *prev, *next;    /* on taps */
} tap_conn_t;

static tap_conn_t *taps;

static void tap_unlink(tap_conn_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        taps = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
}

static void tap_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    tap_conn_t *c = arg;
    if (info->n_added == 0 || c->tap.state == PLATFORM_TAP_PASS)
        return;
    size_t len = evbuffer_get_length(buf);
    size_t n = info->n_added < len ? info->n_added : len;
    struct evbuffer_ptr pos;
    if (evbuffer_ptr_set(buf, &pos, len - n, EVBUFFER_PTR_SET) != 0) {
        c->tap.state = PLATFORM_TAP_PASS;
        return;
    }
    /* the new bytes, a contiguous run at a time (no copy) */
    struct evbuffer_iovec vec[8];
    while (n > 0 && c->tap.state != PLATFORM_TAP_PASS) {
        int k = evbuffer_peek(buf, (ev_ssize_t)n, &pos, vec, 8);
        if (k <= 0) {
            c->tap.state = PLATFORM_TAP_PASS;
            return;
        }
        size_t done = 0;
        for (int j = 0; j < k && j < 8 && done < n; j++) {
            size_t take = vec[j].iov_len < n - done ? vec[j].iov_len : n - done;
            platform_tap_feed(&c->tap, vec[j].iov_base, take);
            done += take;
        }
        n -= done;
        if (n > 0 && evbuffer_ptr_set(buf, &pos, done, EVBUFFER_PTR_ADD) != 0) {
            c->tap.state = PLATFORM_TAP_PASS;
            return;
        }
    }
}

static void tap_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    tap_conn_t *c = arg;
    if (c->entry != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->entry);
    tap_unlink(c);
    free(c);
}

static void tap_first_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    tap_conn_t *c = arg;
    if (info->n_added == 0)
        return;
    evbuffer_remove_cb(buf, tap_first_cb, c);
    void *evcon = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
    c->entry = evcon != NULL ? evbuffer_add_cb(buf, tap_input_cb, c) : NULL;
    if (c->entry == NULL) {
        log_warn("platform", "a Runtime API connection goes untapped: its streamed responses "
                             "arrive whole");
        return; /* freed by platform_tap_release */
    }
    evhttp_connection_set_closecb(evcon, tap_closed, c);
    tap_input_cb(buf, info, c);
}

struct bufferevent *platform_tap_bufferevent(struct event_base *base, platform_tap_sink_fn sink,
                                             void *arg)
{
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    tap_conn_t *c = bev != NULL ? calloc(1, sizeof *c) : NULL;
    if (c == NULL) {
        if (bev != NULL)
            bufferevent_free(bev);
        return NULL;
    }
    platform_tap_init(&c->tap, sink, arg);
    c->bev = bev;
    if (evbuffer_add_cb(bufferevent_get_input(bev), tap_first_cb, c) == NULL) {
        free(c);
        bufferevent_free(bev);
        return NULL;
    }
    c->next = taps;
    if (taps != NULL)
        taps->prev = c;
    taps = c;
    return bev;
}

void platform_tap_release(void *arg)
{
    for (tap_conn_t *c = taps, *next; c != NULL; c = next) {
        next = c->next;
        if (c->tap.sink_arg == arg) {
            tap_unlink(c);
            free(c);
        }
    }
}
