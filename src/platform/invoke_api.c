/*
 * The Invoke API (see invoke_api.h). Every answer carries X-Amzn-RequestId and
 * a JSON body; errors are {"Type":"User","message":...} with X-Amzn-ErrorType,
 * the shapes @aws-sdk/client-lambda parses.
 *
 * Each connection's input passes through a body guard (body_guard.h) before
 * evhttp reads it: a body over 6 MB is dropped as it arrives and its request
 * reaches api_cb small, with a marker header, to be answered with the JSON 413.
 *
 * Connections are counted: past --max-connections a new one is answered 503
 * (its first request) and closed. Every request has a clock: its head must be
 * in within --header-timeout of its first byte (a new connection's first
 * head: of the connection), its body within as long again plus a second per
 * BODY_RATE bytes; late, it is answered 408 and the connection closed
 * (docs/platform.md, "HTTP details").
 */
#include "platform/invoke_api.h"

#include "common/base64.h"
#include "common/buf.h"
#include "common/log.h"
#include "platform/body_guard.h"
#include "platform/function.h"
#include "platform/invocation.h"
#include "platform/json.h"
#include "platform/lambda_read.h"
#include "platform/livepage.h"
#include "platform/platform.h"
#include "platform/reply.h"
#include "platform/route.h"
#include "platform/status.h"
#include "platform/template.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <sys/socket.h>

#define API_MAX_BODY       (16 * 1024 * 1024) /* a backstop: the body guard cuts at 6 MB */
#define CLIENT_CONTEXT_MAX 3583               /* AWS's limit on the base64 header */

#define REFUSED_TIMEOUT_S 2  /* a connection over the cap: its request, then closed */
#define REFUSED_LOG_S     10 /* one log line per this many seconds of refusals */
#define BODY_RATE         (64 * 1024) /* bytes per second a body may take, at the slowest */

/* One Invoke API connection's body guard and bookkeeping, made when it is
 * adopted (the loop turn after its accept) or its first bytes arrive, and
 * freed by evhttp's close callback for the connection. */
typedef struct api_conn {
    platform_guard_t guard;
    struct bufferevent *bev;
    struct evhttp_connection *evcon;
    struct event *clock;             /* the request under way must be in by then */
    platform_guard_phase_t clock_phase; /* what the clock was armed for */
    uint64_t clock_heads;               /* guard.heads when it was armed */
    uint64_t clock_declared;            /* guard.declared when it was armed */
    int64_t body_start_us;              /* when the body's head was in (monotonic) */
    unsigned held;                      /* requests handed to api_cb, not answered yet */
    int counted;                     /* in n_open */
    int refuse;                      /* over --max-connections: answered 503 and closed */
    struct evbuffer_cb_entry *entry; /* guard_cb on the input buffer */
    int editing;                     /* our own edits of the input are under way */
    int fd;                          /* the connection's socket: its place in conns[] */
    uint64_t chunked_served;         /* chunked requests handed to api_cb */
    char *in, *out;                  /* the new bytes; the guard's output */
    size_t in_cap, out_cap;
} api_conn_t;

/* The guarded connections by socket, for api_cb to find a request's guard
 * (one Invoke API per process). */
static api_conn_t **conns;
static size_t n_conns;

/* Open connections, counted from evhttp's bufferevent callback (api_bevcb)
 * to their close callback. evhttp 2.1 tells no one of a new connection, so
 * each new bufferevent is held (a reference) until the next loop turn, when
 * evhttp has made its connection: adopt_cb then finds it, or finds it gone. */
static size_t n_open;
static size_t max_open;
static int head_timeout_s;
static struct event_base *api_base;
static struct bufferevent **pending; /* new bufferevents, not adopted yet */
static size_t n_pending, pending_cap;
static struct event *adopt_ev;
static unsigned long refused_count; /* since the last log line */
static time_t refused_logged;

/* Accepting while out of descriptors. accept() failing with EMFILE or ENFILE
 * leaves the connection in the backlog, so the listener would be readable at
 * once again: it would spin a core and (libevent's own warning) log a line per
 * try. Instead the listener pauses ACCEPT_PAUSE_MS and logs once per
 * ACCEPT_LOG_S with a count (one Invoke API per process). */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_LOG_S    10
static struct evconnlistener *listener;
static struct event *accept_timer;    /* re-enables the listener */
static unsigned long accept_failures; /* since the last log line */
static time_t accept_logged;          /* when the last line was written; 0: never */

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (listener != NULL)
        evconnlistener_enable(listener);
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
        log_warn("platform", "Invoke API accept failed: %s", evutil_socket_error_to_string(err));
        return;
    }
    accept_failures++;
    time_t now = time(NULL);
    if (accept_logged == 0 || now - accept_logged >= ACCEPT_LOG_S) {
        log_warn("platform",
                 "Invoke API cannot accept connections: %s (%lu failed accepts since the "
                 "last such line); pausing accepts %d ms at a time until descriptors free up",
                 evutil_socket_error_to_string(err), accept_failures, ACCEPT_PAUSE_MS);
        accept_logged = now;
        accept_failures = 0;
    }
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    if (accept_timer != NULL && evconnlistener_disable(lev) == 0)
        evtimer_add(accept_timer, &tv);
}

static int conns_set(int fd, api_conn_t *c)
{
    if (fd < 0)
        return -1;
    if ((size_t)fd >= n_conns) {
        size_t n = (size_t)fd + 64;
        api_conn_t **grown = realloc(conns, n * sizeof *grown);
        if (grown == NULL)
            return -1;
        memset(grown + n_conns, 0, (n - n_conns) * sizeof *grown);
        conns = grown;
        n_conns = n;
    }
    conns[fd] = c;
    return 0;
}

/* The guard of the connection a request came on, or NULL. */
static api_conn_t *conn_of(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    int fd = bev != NULL ? (int)bufferevent_getfd(bev) : -1;
    if (fd < 0 || (size_t)fd >= n_conns || conns[fd] == NULL || conns[fd]->bev != bev)
        return NULL;
    return conns[fd];
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    api_conn_t *c = arg;
    if (c->counted)
        n_open--;
    if (c->clock != NULL)
        event_free(c->clock);
    if (c->fd >= 0 && (size_t)c->fd < n_conns && conns[c->fd] == c)
        conns[c->fd] = NULL;
    if (c->entry != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->entry);
    free(c->in);
    free(c->out);
    free(c);
}

/* Grows *p to at least need bytes. */
static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    char *grown = realloc(*p, need);
    if (grown == NULL)
        return -1;
    *p = grown;
    *cap = need;
    return 0;
}

/* Replaces the input buffer's last held + n bytes with out (REWRITE) or
 * drops its last n bytes (DROP_ALL). What precedes stays, unread by evhttp. */
static int apply_edit(api_conn_t *c, struct evbuffer *buf, size_t n, size_t held, const char *out,
                      size_t out_len, int rewrite)
{
    size_t len = evbuffer_get_length(buf);
    size_t keep = len - n - held;
    int rc = 0;
    c->editing = 1;
    if (keep == 0) {
        rc = evbuffer_drain(buf, len);
    } else {
        struct evbuffer *front = evbuffer_new();
        rc = front == NULL ? -1 : evbuffer_remove_buffer(buf, front, keep) == (int)keep ? 0 : -1;
        if (rc == 0)
            rc = evbuffer_drain(buf, evbuffer_get_length(buf));
        if (rc == 0)
            rc = evbuffer_add_buffer(buf, front);
        if (front != NULL)
            evbuffer_free(front);
    }
    if (rc == 0 && rewrite && out_len > 0)
        rc = evbuffer_add(buf, out, out_len);
    c->editing = 0;
    return rc;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void clock_arm(api_conn_t *c, int64_t us)
{
    struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
    if (c->clock != NULL)
        evtimer_add(c->clock, &tv);
}

/* Follows the guard: a request begun (its first byte) must have its head in
 * within head_timeout_s, then its body within head_timeout_s plus a second
 * per BODY_RATE bytes declared (at most the guard's limit counts); between
 * requests only evhttp's idle timeout applies. */
static void request_clock(api_conn_t *c)
{
    if (c->clock == NULL || c->refuse)
        return;
    platform_guard_phase_t ph = platform_guard_phase(&c->guard);
    int next = c->guard.heads != c->clock_heads; /* a head ended since it was armed */
    if (ph == PLATFORM_GUARD_PHASE_IDLE) {
        if (c->clock_phase != PLATFORM_GUARD_PHASE_IDLE)
            evtimer_del(c->clock);
    } else if (ph == PLATFORM_GUARD_PHASE_HEAD) {
        if (c->clock_phase != PLATFORM_GUARD_PHASE_HEAD || next)
            clock_arm(c, (int64_t)head_timeout_s * 1000000);
    } else if (c->clock_phase != PLATFORM_GUARD_PHASE_BODY || next ||
               c->guard.declared != c->clock_declared) {
        if (c->clock_phase != PLATFORM_GUARD_PHASE_BODY || next)
            c->body_start_us = mono_us();
        uint64_t bytes = c->guard.declared < c->guard.limit ? c->guard.declared : c->guard.limit;
        int64_t allowed = (int64_t)head_timeout_s * 1000000 +
                          (int64_t)(bytes * 1000000 / BODY_RATE);
        int64_t left = c->body_start_us + allowed - mono_us();
        clock_arm(c, left > 0 ? left : 0);
    }
    c->clock_phase = ph;
    c->clock_heads = c->guard.heads;
    c->clock_declared = c->guard.declared;
}

/* New bytes in a connection's input buffer, before evhttp reads them. */
static void guard_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    api_conn_t *c = arg;
    if (c->editing || info->n_added == 0)
        return;
    size_t len = evbuffer_get_length(buf);
    size_t n = info->n_added < len ? info->n_added : len;
    size_t held = 0, out_len = 0;
    uint64_t refused = c->guard.refused;
    int r = platform_guard_fast(&c->guard, n);
    if (r < 0) {
        if (grow(&c->in, &c->in_cap, n) != 0 ||
            grow(&c->out, &c->out_cap, platform_guard_out_max(n)) != 0) {
            log_error("platform", "out of memory guarding an Invoke API connection");
            c->guard.state = PLATFORM_GUARD_PASS; /* evhttp's own limit still applies */
            return;
        }
        struct evbuffer_ptr pos;
        if (evbuffer_ptr_set(buf, &pos, len - n, EVBUFFER_PTR_SET) != 0 ||
            evbuffer_copyout_from(buf, &pos, c->in, n) != (ev_ssize_t)n) {
            c->guard.state = PLATFORM_GUARD_PASS;
            return;
        }
        r = (int)platform_guard_feed(&c->guard, c->in, n, c->out, &out_len, &held);
    }
    request_clock(c);
    if (r == PLATFORM_GUARD_KEEP)
        return;
    if (apply_edit(c, buf, n, held, c->out, out_len, r == PLATFORM_GUARD_REWRITE) != 0) {
        log_error("platform", "cannot edit an Invoke API connection's input");
        c->guard.state = PLATFORM_GUARD_PASS;
    }
    if (c->guard.refused != refused)
        log_debug("platform", "an Invoke API request body over %d bytes is being dropped",
                  PLATFORM_MAX_REQUEST);
}

/* The api_conn_t of bev's connection: found, or made (closed with it). NULL
 * when evhttp has freed the connection already, or out of memory. */
static api_conn_t *conn_track(struct bufferevent *bev)
{
    int fd = (int)bufferevent_getfd(bev);
    if (fd >= 0 && (size_t)fd < n_conns && conns[fd] != NULL && conns[fd]->bev == bev)
        return conns[fd];
    void *evcon = NULL;
    bufferevent_getcb(bev, NULL, NULL, NULL, &evcon); /* NULL once bufferevent_free ran */
    api_conn_t *c = evcon != NULL && fd >= 0 ? calloc(1, sizeof *c) : NULL;
    if (c == NULL)
        return NULL;
    c->bev = bev;
    c->fd = fd;
    c->evcon = evcon;
    platform_guard_init(&c->guard, PLATFORM_MAX_REQUEST);
    if (conns_set(c->fd, c) != 0) {
        free(c);
        return NULL;
    }
    evhttp_connection_set_closecb(evcon, conn_closed, c);
    return c;
}

/* A request's clock ran out: AWS's JSON shape in a 408 written straight to
 * the socket (evhttp has no request to answer yet), what the client sent
 * read and dropped (so the close sends no reset ahead of the answer), and
 * the connection closed. While an earlier request of the connection is
 * being answered (pipelined), nothing: its answer restarts the clock. */
static void request_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    api_conn_t *c = arg;
    (void)fd;
    (void)what;
    if (c->held > 0)
        return;
    platform_guard_phase_t ph = platform_guard_phase(&c->guard);
    log_debug("platform", "Invoke API connection %d: request %s not in within its time: closed",
              c->fd, ph == PLATFORM_GUARD_PHASE_BODY ? "body" : "head");
    if (ph != PLATFORM_GUARD_PHASE_IDLE || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
        char body[256], rid[37], reply[512];
        platform_uuid(rid);
        int bn = snprintf(body, sizeof body,
                          "{\"Type\":\"User\",\"message\":\"Request %s not received within "
                          "its time (--header-timeout %d s%s): connection closed\"}",
                          ph == PLATFORM_GUARD_PHASE_BODY ? "body" : "head", head_timeout_s,
                          ph == PLATFORM_GUARD_PHASE_BODY ? ", plus 1 s per 64 KiB of body" : "");
        int n = snprintf(reply, sizeof reply,
                         "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                         "X-Amzn-RequestId: %s\r\nX-Amzn-ErrorType: RequestTimeoutException\r\n"
                         "Connection: close\r\nContent-Length: %d\r\n\r\n%s",
                         rid, bn, body);
        if (n > 0 && (size_t)n < sizeof reply && c->fd >= 0) {
            (void)(send(c->fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n);
            char scratch[4096];
            for (int i = 0; i < 16 && recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; i++) {
            }
            (void)shutdown(c->fd, SHUT_WR);
        }
    }
    evhttp_connection_free(c->evcon); /* conn_closed frees c and this timer */
}

/* A request handed to api_cb was answered: a request pipelined behind it
 * gets its clock afresh. */
static void request_done_cb(struct evhttp_request *req, void *arg)
{
    (void)req;
    api_conn_t *c = arg;
    if (c->held > 0)
        c->held--;
    c->clock_phase = PLATFORM_GUARD_PHASE_IDLE; /* re-armed for whatever is under way */
    if (c->clock != NULL)
        evtimer_del(c->clock);
    request_clock(c);
}

static void adopt_one(struct bufferevent *bev)
{
    api_conn_t *c = conn_track(bev);
    if (c == NULL) {
        n_open--; /* gone already (or untracked: out of memory) */
        return;
    }
    c->counted = 1;
    if (n_open > max_open) {
        c->refuse = 1;
        evhttp_connection_set_timeout(c->evcon, REFUSED_TIMEOUT_S);
        refused_count++;
        time_t now = time(NULL);
        if (refused_logged == 0 || now - refused_logged >= REFUSED_LOG_S) {
            log_warn("platform",
                     "Invoke API: %zu connections open, over --max-connections %zu: new ones "
                     "are answered 503 and closed (%lu since the last such line)",
                     n_open - 1, max_open, refused_count);
            refused_logged = now;
            refused_count = 0;
        }
        return;
    }
    if (head_timeout_s > 0 && c->guard.state != PLATFORM_GUARD_PASS) {
        c->clock = evtimer_new(api_base, request_timeout_cb, c);
        if (c->clock != NULL && c->guard.heads == 0 &&
            platform_guard_phase(&c->guard) != PLATFORM_GUARD_PHASE_BODY) {
            /* the first head is timed from the connection, not its first byte */
            c->clock_phase = PLATFORM_GUARD_PHASE_HEAD;
            clock_arm(c, (int64_t)head_timeout_s * 1000000);
        } else {
            request_clock(c);
        }
    }
}

static void adopt_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    for (size_t i = 0; i < n_pending; i++) {
        adopt_one(pending[i]);
        bufferevent_decref(pending[i]);
    }
    n_pending = 0;
}

/* A connection's first bytes: its guard starts. evhttp passes its
 * evhttp_connection as the bufferevent's callback argument (libevent 2.1,
 * evhttp_connection_base_bufferevent_new): that is where the guard learns
 * when the connection goes, to free itself. */
static void guard_first_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *bev = arg;
    if (info->n_added == 0)
        return;
    evbuffer_remove_cb(buf, guard_first_cb, bev);
    api_conn_t *c = conn_track(bev);
    if (c != NULL)
        c->entry = evbuffer_add_cb(buf, guard_cb, c);
    if (c == NULL || c->entry == NULL) {
        log_error("platform", "out of memory: an Invoke API connection goes unguarded");
        return;
    }
    guard_cb(buf, info, c);
}

/* evhttp's bufferevent for a new connection: the same socket bufferevent it
 * would make itself, with the guard watching its input. */
static struct bufferevent *api_bevcb(struct event_base *base, void *arg)
{
    (void)arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    if (bev != NULL && evbuffer_add_cb(bufferevent_get_input(bev), guard_first_cb, bev) == NULL) {
        bufferevent_free(bev);
        return NULL;
    }
    if (bev != NULL && n_pending == pending_cap) {
        size_t cap = pending_cap ? pending_cap * 2 : 64;
        struct bufferevent **grown = realloc(pending, cap * sizeof *grown);
        if (grown != NULL) {
            pending = grown;
            pending_cap = cap;
        }
    }
    if (bev != NULL && n_pending < pending_cap) {
        bufferevent_incref(bev); /* adopt_cb looks at it after evhttp is done with it */
        pending[n_pending++] = bev;
        n_open++;
        event_active(adopt_ev, EV_TIMEOUT, 0);
    }
    return bev;
}

static void send_json(struct evhttp_request *req, int status, const char *body, size_t len)
{
    char rid[37];
    platform_uuid(rid);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "X-Amzn-RequestId", rid);
    struct evbuffer *out = evbuffer_new();
    if (out != NULL)
        evbuffer_add(out, body, len);
    evhttp_send_reply(req, status, "OK", out);
    if (out != NULL)
        evbuffer_free(out);
}

static void handle_status(platform_t *p, struct evhttp_request *req)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        platform_reply_send_error(req, 405, "MethodNotAllowedException",
                                  "Method not allowed: use GET", NULL, NULL);
        return;
    }
    buf_t b;
    buf_init(&b, 64 * 1024 * 1024);
    if (platform_status_json(p, &b) != 0) {
        platform_reply_send_error(req, 500, "ServiceException", "status too large", NULL, NULL);
    } else {
        send_json(req, 200, b.data, b.len);
    }
    buf_free(&b);
}

/* Decodes X-Amz-Client-Context (base64 of a JSON object) into a string fit
 * for an HTTP header (newlines become spaces). -1 when malformed. */
static int decode_client_context(const char *b64, char **out)
{
    size_t n = strlen(b64);
    if (n > CLIENT_CONTEXT_MAX)
        return -1;
    size_t cap = 3 * (n / 4) + 3;
    unsigned char *raw = malloc(cap);
    if (raw == NULL)
        return -1;
    long dl = base64_decode(b64, n, raw, cap, BASE64_PAD_OPTIONAL);
    size_t len = dl > 0 ? (size_t)dl : 0;
    if (len == 0 || !platform_json_valid((const char *)raw, len)) {
        free(raw);
        return -1;
    }
    size_t i = 0;
    while (i < len && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r' || raw[i] == '\n'))
        i++;
    if (i >= len || raw[i] != '{') {
        free(raw);
        return -1;
    }
    for (size_t k = 0; k < len; k++) {
        if (raw[k] == '\r' || raw[k] == '\n' || raw[k] == '\t')
            raw[k] = ' ';
    }
    raw[len] = '\0';
    *out = (char *)raw;
    return 0;
}

/*
 * Appends to an unknown function's message the functions the caller may have
 * meant: those whose Handler is name ("orders.create" for orders-create), or
 * whose logical id is ("OrdersCreate", as `sam local invoke` takes it):
 * "; did you mean orders-create (Handler orders.create)?". The message stays
 * one JSON string, so every AWS SDK still reads it as the error's message.
 */
static void append_name_hint(platform_t *p, const char *name, char *msg, size_t cap)
{
    size_t len = strlen(msg), shown = 0;
    for (size_t i = 0; i < p->n_functions; i++) {
        const platform_function_spec_t *s = p->functions[i]->spec;
        const char *by = NULL, *value = NULL;
        if (s->handler != NULL && strcmp(s->handler, name) == 0) {
            by = "Handler";
            value = s->handler;
        } else if (s->logical_id != NULL && strcmp(s->logical_id, name) == 0) {
            by = "logical id";
            value = s->logical_id;
        }
        if (by == NULL)
            continue;
        int n = snprintf(msg + len, cap - len, "%s%s (%s %s)", shown ? " or " : "; did you mean ",
                         s->name, by, value);
        if (n < 0 || (size_t)n + 2 > cap - len) {
            msg[len] = '\0'; /* no room: the hint so far, or none */
            break;
        }
        len += (size_t)n;
        shown++;
    }
    if (shown > 0)
        snprintf(msg + len, cap - len, "?");
}

/* Invoke, or InvokeWithResponseStream when stream is 1 (invoke_stream.h):
 * the same checks, but no Event invocations, and the answer as an event stream. */
static void handle_invoke(platform_t *p, struct evhttp_request *req, const char *name,
                          const char *qualifier, int stream)
{
    char msg[1024];
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        platform_reply_send_error(req, 405, "MethodNotAllowedException",
                                  "Method not allowed: Invoke takes POST", NULL, NULL);
        return;
    }
    if (name[0] == '\0') {
        platform_reply_send_error(req, 400, "ValidationException",
                                  "1 validation error detected: Value at 'functionName' failed to "
                                  "satisfy constraint: Member must satisfy regular expression "
                                  "pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-"
                                  "\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|"
                                  "[a-zA-Z0-9-_]+))?",
                                  NULL, NULL);
        return;
    }
    platform_function_t *fn = platform_find_function(p, name);
    if (fn == NULL || (qualifier[0] != '\0' && strcmp(qualifier, "$LATEST") != 0)) {
        snprintf(msg, sizeof msg, "Function not found: arn:aws:lambda:%s:%s:function:%s%s%s",
                 p->cfg.region, p->cfg.account, name, qualifier[0] ? ":" : "", qualifier);
        if (fn == NULL)
            append_name_hint(p, name, msg, sizeof msg);
        platform_reply_send_error(req, 404, "ResourceNotFoundException", msg, NULL, NULL);
        return;
    }
    if (p->stopping) {
        platform_reply_send_error(req, 503, "ServiceException", "The platform is shutting down",
                                  NULL, NULL);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > PLATFORM_MAX_REQUEST) {
        snprintf(msg, sizeof msg,
                 "Request must be smaller than %d bytes for the InvokeFunction operation",
                 PLATFORM_MAX_REQUEST);
        platform_reply_send_error(req, 413, "RequestTooLargeException", msg, NULL, NULL);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *type = evhttp_find_header(h, "X-Amz-Invocation-Type");
    const char *log_type = evhttp_find_header(h, "X-Amz-Log-Type");
    const char *cc = evhttp_find_header(h, "X-Amz-Client-Context");
    platform_invoke_type_t kind = PLATFORM_INVOKE_SYNC;
    int dry = 0;
    if (type == NULL || strcmp(type, "RequestResponse") == 0) {
        kind = PLATFORM_INVOKE_SYNC;
    } else if (strcmp(type, "Event") == 0 && !stream) {
        kind = PLATFORM_INVOKE_EVENT;
    } else if (strcmp(type, "DryRun") == 0) {
        dry = 1;
    } else {
        platform_reply_send_error(req, 400, "InvalidParameterValueException",
                                  stream ? "1 validation error detected: Value at "
                                           "'invocationType' failed to satisfy constraint: Member "
                                           "must satisfy enum value set: [RequestResponse, DryRun]"
                                         : "1 validation error detected: Value at "
                                           "'invocationType' failed to satisfy constraint: Member "
                                           "must satisfy enum value set: "
                                           "[Event, RequestResponse, DryRun]",
                                  NULL, NULL);
        return;
    }
    if (log_type != NULL && strcmp(log_type, "Tail") != 0 && strcmp(log_type, "None") != 0) {
        platform_reply_send_error(
            req, 400, "InvalidParameterValueException",
            "1 validation error detected: Value at 'logType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [None, Tail]",
            NULL, NULL);
        return;
    }
    if (len > 0) {
        const char *body = (const char *)evbuffer_pullup(in, -1);
        unsigned char bad = 0;
        int utf8 = body == NULL ? PLATFORM_UTF8_VALID : platform_utf8_check(body, len, &bad);
        if (utf8 != PLATFORM_UTF8_VALID) {
            /* AWS's words (its JSON parser's), without the excerpt of the
             * payload it adds: payloads stay out of replies and logs */
            char why[128];
            snprintf(why, sizeof why,
                     "Could not parse request body into json: Could not parse payload into json: "
                     "Invalid UTF-8 %s byte 0x%x",
                     utf8 == PLATFORM_UTF8_BAD_START ? "start" : "middle", (unsigned)bad);
            platform_reply_send_error(req, 400, "InvalidRequestContentException", why, NULL, NULL);
            return;
        }
        if (body == NULL || !platform_json_valid(body, len)) {
            platform_reply_send_error(req, 400, "InvalidRequestContentException",
                                      "Could not parse request body into json: Unexpected "
                                      "character: was expecting a JSON value",
                                      NULL, NULL);
            return;
        }
    }
    char *context = NULL;
    if (cc != NULL && cc[0] != '\0' && decode_client_context(cc, &context) != 0) {
        platform_reply_send_error(req, 400, "InvalidRequestContentException",
                                  "Client context must be a valid Base64-encoded JSON object.",
                                  NULL, NULL);
        return;
    }
    if (dry) {
        free(context);
        char rid[37];
        platform_uuid(rid);
        evhttp_add_header(evhttp_request_get_output_headers(req), "X-Amzn-RequestId", rid);
        evhttp_send_reply(req, 204, "No Content", NULL);
        return;
    }
    struct evbuffer *payload = evbuffer_new();
    if (payload == NULL || evbuffer_add_buffer(payload, in) != 0) {
        if (payload != NULL)
            evbuffer_free(payload);
        free(context);
        platform_reply_send_error(req, 500, "ServiceException", "out of memory", NULL, NULL);
        return;
    }
    platform_invocation_t *inv = platform_invocation_new(
        fn, kind, kind == PLATFORM_INVOKE_SYNC ? req : NULL, payload, context);
    if (inv == NULL) {
        platform_reply_send_error(req, 500, "ServiceException", "out of memory", NULL, NULL);
        return;
    }
    if (stream && platform_invocation_stream_answer(inv) != 0) {
        platform_invocation_reject(inv, 500, "ServiceException", "out of memory", NULL);
        return;
    }
    inv->want_tail =
        kind == PLATFORM_INVOKE_SYNC && log_type != NULL && strcmp(log_type, "Tail") == 0;
    char id[37];
    memcpy(id, inv->id, sizeof id);
    fn->invocations++;
    int rc = platform_function_invoke(fn, inv);
    if (rc == PLATFORM_ERR_THROTTLED) {
        fn->throttles++;
        inv->req = req;
        platform_invocation_reject(inv, 429, "TooManyRequestsException", "Rate Exceeded.",
                                   "ReservedFunctionConcurrentInvocationLimitExceeded");
        return;
    }
    if (rc == PLATFORM_ERR_NOMEM) {
        inv->req = req;
        platform_invocation_reject(inv, 500, "ServiceException", "out of memory", NULL);
        return;
    }
    if (kind == PLATFORM_INVOKE_EVENT) {
        struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
        evhttp_add_header(oh, "X-Amzn-RequestId", id);
        evhttp_add_header(oh, "Content-Type", "application/json");
        evhttp_send_reply(req, 202, "Accepted", NULL);
    }
}

/* A request whose body the guard dropped (declared: its Content-Length, or
 * NULL for a chunked one): AWS's 413. */
static void send_too_large(struct evhttp_request *req, const char *declared)
{
    char msg[160];
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *expect = evhttp_find_header(in, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0) {
        /* a client waiting for 100-continue may or may not send the body now */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    } else {
        /* The client is still sending the body, which the guard drops. Were
         * evhttp to close the connection after this answer (the request asked
         * for it, or HTTP/1.0), the unread bytes would reset it, and the
         * client could see the reset before the answer: the connection stays
         * open for the body to arrive, and the client closes it after. */
        evhttp_remove_header(in, "Connection");
        evhttp_add_header(in, "Connection", "keep-alive");
    }
    if (declared == NULL)
        log_info("platform", "request refused (413): a chunked body over %d bytes",
                 PLATFORM_MAX_REQUEST);
    else
        log_info("platform", "request refused (413): a body of %.20s bytes, over %d", declared,
                 PLATFORM_MAX_REQUEST);
    snprintf(msg, sizeof msg,
             "Request must be smaller than %d bytes for the InvokeFunction operation",
             PLATFORM_MAX_REQUEST);
    platform_reply_send_error(req, 413, "RequestTooLargeException", msg, NULL, NULL);
}

/* A request the guard ended where its framing broke RFC 9112 (body_guard.h):
 * a 400 (a transfer coding tether does not implement: 501, RFC 9112 6.1),
 * and the connection closed (the guard drops what follows). */
static void send_bad_framing(struct evhttp_request *req, const char *why)
{
    char msg[160];
    int status = platform_guard_bad_status(why);
    snprintf(msg, sizeof msg, "%s HTTP framing: %.64s (RFC 9112)",
             status == 501 ? "Unsupported" : "Invalid", why);
    log_info("platform", "request refused (%d): %s", status, msg);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    platform_reply_send_error(req, status, "InvalidRequestContentException", msg, NULL, NULL);
}

static void api_cb(struct evhttp_request *req, void *arg)
{
    platform_t *p = arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    api_conn_t *conn = conn_of(req);
    if (conn != NULL) {
        conn->held++;
        evhttp_request_set_on_complete_cb(req, request_done_cb, conn);
    }
    if (conn != NULL && conn->refuse) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Too many open connections to the Invoke API (--max-connections %zu): retry "
                 "later",
                 max_open);
        platform_reply_send_error(req, 503, "ServiceException", msg, NULL, NULL);
        return;
    }
    const char *bad = evhttp_find_header(in, PLATFORM_GUARD_BAD);
    if (bad != NULL) {
        send_bad_framing(req, bad);
        return;
    }
    const char *large = evhttp_find_header(in, PLATFORM_GUARD_MARKER);
    if (large != NULL) {
        send_too_large(req, large);
        return;
    }
    /* a chunked body, as evhttp reads one: was it cut? */
    const char *te = evhttp_find_header(in, "Transfer-Encoding");
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (te != NULL && strcasecmp(te, "chunked") == 0 &&
        (m == EVHTTP_REQ_POST || m == EVHTTP_REQ_PUT || m == EVHTTP_REQ_PATCH)) {
        api_conn_t *c = conn_of(req);
        uint64_t seq = c != NULL ? ++c->chunked_served : 0;
        if (c != NULL && platform_guard_chunked_bad(&c->guard, seq)) {
            send_bad_framing(req, "a chunk size that is not hex");
            return;
        }
        if (c != NULL && platform_guard_chunked_cut(&c->guard, seq)) {
            send_too_large(req, NULL);
            return;
        }
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || path[0] == '\0') {
        platform_reply_send_error(req, 400, "InvalidRequestContentException", "Malformed URI", NULL,
                                  NULL);
        return;
    }
    if (platform_livepage_route(p, req, path)) /* GET /_tether/, /_tether/live.json */
        return;
    char name[PLATFORM_NAME_MAX + 1], qualifier[PLATFORM_NAME_MAX + 1];
    platform_api_route_t route =
        platform_route_api(path, evhttp_uri_get_query(uri), name, qualifier);
    switch (route) {
    case PLATFORM_ROUTE_STATUS:
        handle_status(p, req);
        return;
    case PLATFORM_ROUTE_INVOKE:
        handle_invoke(p, req, name, qualifier, 0);
        return;
    case PLATFORM_ROUTE_INVOKE_STREAM:
        handle_invoke(p, req, name, qualifier, 1);
        return;
    case PLATFORM_ROUTE_LIST:
    case PLATFORM_ROUTE_GET_FUNCTION:
    case PLATFORM_ROUTE_GET_CONFIG:
    case PLATFORM_ROUTE_GET_CONCURRENCY:
        platform_lambda_read(p, req, route, name, qualifier);
        return;
    case PLATFORM_ROUTE_UNKNOWN:
        break;
    }
    platform_reply_send_error(req, 404, "UnknownOperationException", "Unknown operation", NULL,
                              NULL);
}

int platform_invoke_api_start(platform_t *p)
{
    p->api = evhttp_new(p->base);
    if (p->api == NULL) {
        log_error("platform", "evhttp_new failed");
        return -1;
    }
    evhttp_set_allowed_methods(p->api, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                           EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
                                           EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(p->api, API_MAX_BODY);
    evhttp_set_max_headers_size(p->api, 64 * 1024);
    /* Closes a connection idle this long between requests (or stalled in
     * one's head or body); evhttp stops reading while a request is held, so
     * a long invocation is not cut. */
    evhttp_set_timeout(p->api, p->cfg.http_idle_timeout_s);
    api_base = p->base;
    max_open = (size_t)p->cfg.max_connections;
    if (max_open == 0) {
        /* a quarter of the descriptors, at most 1024: the rest stays for
           instances (pipes, listeners, pidfds), the docstore and its clients */
        struct rlimit rl;
        max_open = 1024;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur / 4 < max_open)
            max_open = rl.rlim_cur / 4 > 16 ? (size_t)(rl.rlim_cur / 4) : 16;
    }
    head_timeout_s = p->cfg.header_timeout_s;
    adopt_ev = event_new(p->base, -1, 0, adopt_cb, NULL);
    if (adopt_ev == NULL) {
        log_error("platform", "event_new failed");
        evhttp_free(p->api);
        p->api = NULL;
        return -1;
    }
    evhttp_set_gencb(p->api, api_cb, p);
    evhttp_set_bevcb(p->api, api_bevcb, NULL);
    struct evhttp_bound_socket *s =
        evhttp_bind_socket_with_handle(p->api, p->cfg.bind, (ev_uint16_t)p->cfg.port);
    if (s == NULL) {
        log_error("platform", "cannot listen on %s:%d (in use?)", p->cfg.bind, p->cfg.port);
        evhttp_free(p->api);
        p->api = NULL;
        return -1;
    }
    listener = evhttp_bound_socket_get_listener(s);
    accept_timer = evtimer_new(p->base, accept_resume_cb, NULL);
    if (accept_timer == NULL) {
        log_error("platform", "evtimer_new failed");
        evhttp_free(p->api);
        p->api = NULL;
        listener = NULL;
        return -1;
    }
    evconnlistener_set_error_cb(listener, accept_error_cb);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    p->api_port = p->cfg.port;
    if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            p->api_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            p->api_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}

void platform_invoke_api_stop(platform_t *p)
{
    adopt_cb(-1, 0, NULL); /* references held on new connections go first */
    if (p->api != NULL)
        evhttp_free(p->api); /* closes every connection: their guards go */
    p->api = NULL;
    if (adopt_ev != NULL)
        event_free(adopt_ev);
    adopt_ev = NULL;
    free(pending);
    pending = NULL;
    n_pending = pending_cap = 0;
    n_open = 0;
    refused_count = 0;
    refused_logged = 0;
    listener = NULL; /* evhttp_free freed it */
    if (accept_timer != NULL)
        event_free(accept_timer);
    accept_timer = NULL;
    accept_failures = 0;
    accept_logged = 0;
    free(conns);
    conns = NULL;
    n_conns = 0;
}
