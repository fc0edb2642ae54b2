/*
 * The docstore server: the listener, the access list and connection limit
 * applied at accept (before any byte is read), one bufferevent per connection,
 * the framing loop with a bounded amount of work per wakeup, replies written
 * back in the opcode the request came in, the idle timeout, and a 1 s tick
 * that expires idle cursors. Runs on a libevent base it is given; see server.h.
 */
#include "common/log.h"
#include "docstore/base/clock.h"
#include "docstore/cmd/command.h"
#include "docstore/net/conn.h"
#include "docstore/net/tls.h"
#include "docstore/net/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSGS_PER_WAKEUP 16                /* messages handled before yielding to others */
#define MAX_SINGLE_READ (256 * 1024)      /* bytes read per read event */
#define READ_CHUNK (16 * 1024)            /* bytes asked of the kernel per read call */
#define OUTPUT_HIGH (32 * 1024 * 1024)    /* stop reading while this much output waits */
#define INPUT_HIGH (1024 * 1024)          /* stop reading while this much input waits, unless
                                             one message needs more */
#define CURSOR_IDLE_MS (10 * 60 * 1000)   /* cursors idle this long are closed */

/* Commands an OP_QUERY may carry: the handshake, as MongoDB 6 allows. */
static const char *const legacy_commands[] = {
    "hello", "isMaster", "ismaster", "saslStart", "saslContinue", "authenticate",
    "buildinfo", "buildInfo", "ping", "whatsmyuri", "getnonce", NULL,
};

void docstore_config_init(docstore_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind_address = "127.0.0.1";
    cfg->port = 27017;
    cfg->auth = DOCSTORE_AUTH_NONE;
    cfg->message_timeout_s = 30;
    cfg->ttl_monitor_s = 60;
    cfg->max_time_ms = DOCSTORE_MAX_TIME_MS_DEFAULT;
    cfg->session_timeout_min = DOCSTORE_SESSION_TIMEOUT_MIN;
    cfg->cursor_memory_max = DOCSTORE_CURSOR_MEMORY_DEFAULT;
}

/* ---- access list ------------------------------------------------------ */

int docstore_access_parse(const char *list, docstore_cidr_t **out, size_t *n, char *msg,
                          size_t msglen)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    docstore_cidr_t *v = calloc(cap, sizeof *v);
    if (v == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    size_t count = 0;
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char entry[80];
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 || len >= sizeof entry) {
            snprintf(msg, msglen, "access list: empty or overlong entry");
            goto fail;
        }
        memcpy(entry, p, len);
        entry[len] = '\0';
        char *slash = strchr(entry, '/');
        int prefix = -1;
        if (slash != NULL) {
            *slash = '\0';
            char *end;
            long v2 = strtol(slash + 1, &end, 10);
            if (*end != '\0' || slash[1] == '\0' || v2 < 0 || v2 > 128) {
                snprintf(msg, msglen, "access list: bad prefix length in '%.*s'", (int)len, p);
                goto fail;
            }
            prefix = (int)v2;
        }
        docstore_cidr_t *c = &v[count];
        if (inet_pton(AF_INET, entry, c->addr) == 1) {
            c->family = AF_INET;
            if (prefix > 32) {
                snprintf(msg, msglen, "access list: prefix over 32 in '%.*s'", (int)len, p);
                goto fail;
            }
            c->prefix = prefix < 0 ? 32 : prefix;
        } else if (inet_pton(AF_INET6, entry, c->addr) == 1) {
            c->family = AF_INET6;
            c->prefix = prefix < 0 ? 128 : prefix;
        } else {
            snprintf(msg, msglen, "access list: '%.*s' is not an address or CIDR block", (int)len,
                     p);
            goto fail;
        }
        count++;
        p += comma ? (size_t)(comma - p) + 1 : strlen(p);
        if (comma && *p == '\0') {
            snprintf(msg, msglen, "access list: trailing comma");
            goto fail;
        }
    }
    if (count == 0) {
        snprintf(msg, msglen, "access list: no entries");
        goto fail;
    }
    *out = v;
    *n = count;
    return 0;
fail:
    free(v);
    return -1;
}

static bool prefix_matches(const uint8_t *a, const uint8_t *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

bool docstore_access_allows(const docstore_cidr_t *list, size_t n, const struct sockaddr *sa)
{
    if (n == 0)
        return true;
    uint8_t v4[4], v6[16];
    bool has4 = false, has6 = false;
    if (sa->sa_family == AF_INET) {
        memcpy(v4, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        has4 = true;
    } else if (sa->sa_family == AF_INET6) {
        memcpy(v6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
        has6 = true;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(v6, mapped, 12) == 0) { /* ::ffff:a.b.c.d is checked as IPv4 */
            memcpy(v4, v6 + 12, 4);
            has4 = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i].family == AF_INET && has4 && prefix_matches(v4, list[i].addr, list[i].prefix))
            return true;
        if (list[i].family == AF_INET6 && has6 && prefix_matches(v6, list[i].addr, list[i].prefix))
            return true;
    }
    return false;
}

/* ---- connections ---------------------------------------------------------- */

static void conn_process(docstore_conn_t *c);

static void conn_free(docstore_conn_t *c)
{
    docstore_server_t *s = c->server;
    pthread_mutex_lock(&s->conns_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->current--;
    pthread_mutex_unlock(&s->conns_lock);
    docstore_cursors_conn_closed(s->cursors, c->id);
    if (c->resume_ev)
        event_free(c->resume_ev);
    if (c->deadline_ev)
        event_free(c->deadline_ev);
    if (c->read_ev)
        event_free(c->read_ev);
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->client_meta)
        bson_destroy(c->client_meta);
    docstore_sasl_free(c->sasl);
    if (c->principal != NULL) {
        bson_destroy(&c->principal->roles);
        free(c->principal);
    }
    free(c);
}

static void conn_close(docstore_conn_t *c, const char *why)
{
    log_info(c->who, "closed: %s (%d open)", why, c->server->current - 1);
    conn_free(c);
}

static void conn_write(docstore_conn_t *c, uint8_t *msg, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    c->server->bytes_out += (int64_t)len;
    if (evbuffer_add(out, msg, len) == -1)
        log_error(c->who, "cannot queue a reply of %zu bytes", len);
    free(msg);
}

/* Sends reply on the opcode the request used; legacy_flags are OP_REPLY's responseFlags. */
static void send_reply_flags(docstore_conn_t *c, const docstore_wire_request_t *req,
                             const bson_t *reply, int32_t legacy_flags)
{
    docstore_server_t *s = c->server;
    int32_t id = ++s->next_request_id;
    if (id <= 0)
        id = s->next_request_id = 1;
    size_t len = 0;
    uint8_t *msg = req->legacy ? docstore_wire_build_reply(id, req->hdr.request_id, legacy_flags,
                                                           reply, &len)
                               : docstore_wire_build_msg(id, req->hdr.request_id, 0, reply, &len);
    if (msg == NULL) {
        log_error(c->who, "cannot build a reply of %u bytes", reply->len);
        return;
    }
    conn_write(c, msg, len);
}

static void send_reply(docstore_conn_t *c, const docstore_wire_request_t *req, const bson_t *reply)
{
    send_reply_flags(c, req, reply, DOCSTORE_REPLY_AWAIT_CAPABLE);
}

static void send_error(docstore_conn_t *c, const docstore_wire_request_t *req,
                       const docstore_error_t *err)
{
    bson_t reply = BSON_INITIALIZER;
    int32_t flags = DOCSTORE_REPLY_AWAIT_CAPABLE;
    /* A legacy OP_QUERY that is not a command (a find on db.coll, as pymongo
     * 3.x sends for exhaust cursors) fails as MongoDB fails it: the
     * QueryFailure flag and a $err field, so the driver raises the error
     * instead of returning it as a document. */
    if (req->legacy && err->code == DOCSTORE_UNSUPPORTED_OP_QUERY_COMMAND) {
        flags |= DOCSTORE_REPLY_QUERY_FAILURE;
        BSON_APPEND_UTF8(&reply, "$err", err->msg);
    }
    BSON_APPEND_DOUBLE(&reply, "ok", 0.0);
    docstore_error_append(err, &reply);
    send_reply_flags(c, req, &reply, flags);
    bson_destroy(&reply);
}

static bool legacy_allowed(const bson_t *cmd, const char **name)
{
    bson_iter_t it;
    *name = "";
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it))
        return false;
    *name = bson_iter_key(&it);
    for (size_t i = 0; legacy_commands[i]; i++) {
        if (strcmp(*name, legacy_commands[i]) == 0)
            return true;
    }
    return false;
}

/* Handles one whole message. 0, or -1 when the connection must close. */
static int handle_message(docstore_conn_t *c, const uint8_t *msg, size_t len)
{
    docstore_server_t *s = c->server;
    docstore_wire_request_t req;
    docstore_error_t err = {0};
    s->bytes_in += (int64_t)len;
    s->num_requests++;
    int r = docstore_wire_parse(msg, len, &req, &err);
    if (r == DOCSTORE_WIRE_ERROR) {
        log_warn(c->who, "protocol error, closing: %s", err.msg);
        docstore_wire_request_clear(&req);
        return -1;
    }
    if (r == DOCSTORE_WIRE_REPLY) {
        if (req.more_to_come) {
            log_warn(c->who, "bad request with moreToCome, closing: %s", err.msg);
            docstore_wire_request_clear(&req);
            return -1;
        }
        log_warn(c->who, "bad request: %s", err.msg);
        send_error(c, &req, &err);
        docstore_wire_request_clear(&req);
        return 0;
    }
    c->last_active_ms = docstore_now_ms();
    c->requests++;
    const char *name = "";
    if (req.legacy && !legacy_allowed(req.cmd, &name)) {
        docstore_error_set(&err, DOCSTORE_UNSUPPORTED_OP_QUERY_COMMAND,
                           "Unsupported OP_QUERY command: %.64s. The client driver may require "
                           "an upgrade.",
                           name);
        send_error(c, &req, &err);
        docstore_wire_request_clear(&req);
        return 0;
    }
    bson_t reply = BSON_INITIALIZER;
    docstore_ctx_t ctx = {
        .storage = s->storage, .cursors = s->cursors, .server = s, .conn = c};
    c->active = true;
    docstore_command_dispatch(&ctx, req.db, req.cmd, &reply);
    c->active = false;
    if (!req.more_to_come)
        send_reply(c, &req, &reply);
    bson_destroy(&reply);
    docstore_wire_request_clear(&req);
    return 0;
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn_process(arg);
}

/* The connection's next deadline, monotonic ms, 0 for none: --idle-timeout
 * counts from the last complete message (so a byte now and then does not keep
 * a connection), and a begun message must complete within
 * --message-timeout of its first byte (slow-loris). */
static int64_t conn_deadline(const docstore_conn_t *c)
{
    const docstore_config_t *cfg = &c->server->cfg;
    int64_t d = 0;
    if (cfg->idle_timeout_s > 0)
        d = c->last_active_ms + (int64_t)cfg->idle_timeout_s * 1000;
    if (c->partial_since_ms != 0 && cfg->message_timeout_s > 0) {
        int64_t p = c->partial_since_ms + (int64_t)cfg->message_timeout_s * 1000;
        if (d == 0 || p < d)
            d = p;
    }
    return d;
}

/* Arms deadline_ev for conn_deadline. The timer is lazy: a complete message
 * moves the deadline later without touching it; when it fires early,
 * conn_deadline_cb re-arms it. So the work is one timer add per begun
 * message, never per byte. */
static void conn_deadline_arm(docstore_conn_t *c)
{
    int64_t d = conn_deadline(c);
    if (d == 0) {
        evtimer_del(c->deadline_ev);
        return;
    }
    int64_t left = d - docstore_now_ms();
    if (left < 0)
        left = 0;
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
    evtimer_add(c->deadline_ev, &tv);
}

/* Bytes of a message that is not complete yet wait in the input: its clock
 * starts with the first of them. */
static void conn_partial_begun(docstore_conn_t *c)
{
    if (c->partial_since_ms != 0)
        return;
    c->partial_since_ms = docstore_now_ms();
    conn_deadline_arm(c);
}

/* Works through the complete messages in the input buffer, at most
 * MSGS_PER_WAKEUP of them, then yields: a zero timer brings us back after the
 * loop has polled the other connections. */
static int process_messages(docstore_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    for (int handled = 0;; handled++) {
        if (c->state != DOCSTORE_CONN_READING)
            return 0;
        if (evbuffer_get_length(out) > OUTPUT_HIGH) {
            c->state = DOCSTORE_CONN_PAUSED;
            if (c->read_ev == NULL)
                bufferevent_disable(c->bev, EV_READ);
            return 0;
        }
        size_t avail = evbuffer_get_length(in);
        if (avail < DOCSTORE_WIRE_HEADER_LEN) {
            if (avail > 0)
                conn_partial_begun(c);
            return 0;
        }
        uint8_t head[DOCSTORE_WIRE_HEADER_LEN];
        if (evbuffer_copyout(in, head, sizeof head) != (ev_ssize_t)sizeof head)
            return 0;
        docstore_wire_header_t hdr;
        docstore_error_t err = {0};
        int r = docstore_wire_frame(head, avail, &hdr, &err);
        if (r == DOCSTORE_WIRE_ERROR) {
            log_warn(c->who, "protocol error, closing: %s", err.msg);
            conn_close(c, "protocol error");
            return -1;
        }
        if (r == DOCSTORE_WIRE_NEED_MORE) {
            conn_partial_begun(c);
            /* Let the input grow to hold this whole message, no further. */
            if ((size_t)hdr.length > c->read_high) {
                c->read_high = (size_t)hdr.length;
                bufferevent_setwatermark(c->bev, EV_READ, 0, c->read_high);
            }
            return 0;
        }
        if (handled == MSGS_PER_WAKEUP) {
            static const struct timeval zero = {0, 0};
            evtimer_add(c->resume_ev, &zero);
            return 0;
        }
        const uint8_t *msg = evbuffer_pullup(in, hdr.length);
        if (msg == NULL) {
            conn_close(c, "out of memory");
            return -1;
        }
        /* A complete message: the idle clock restarts, no message is begun. */
        c->last_active_ms = docstore_now_ms();
        c->partial_since_ms = 0;
        int rc = handle_message(c, msg, (size_t)hdr.length);
        evbuffer_drain(in, (size_t)hdr.length);
        if (c->read_high > INPUT_HIGH) {
            c->read_high = INPUT_HIGH;
            bufferevent_setwatermark(c->bev, EV_READ, 0, c->read_high);
        }
        if (rc != 0) {
            conn_close(c, "protocol error");
            return -1;
        }
    }
}

/* Writes the replies of this wakeup straight to the socket: on plain TCP the
 * write event stays off unless the kernel did not take everything, which
 * saves two epoll_ctl calls and a wakeup per request. TLS bufferevents write
 * by themselves. */
static void conn_flush(docstore_conn_t *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (c->server->tls != NULL || evbuffer_get_length(out) == 0 ||
        (bufferevent_get_enabled(c->bev) & EV_WRITE))
        return;
    /* A socket bufferevent keeps its output's start frozen except while it
     * writes itself; do as it does. */
    evbuffer_unfreeze(out, 1);
    evbuffer_write(out, bufferevent_getfd(c->bev));
    evbuffer_freeze(out, 1);
    /* What is left (or an error) goes to libevent: it writes the rest when
     * the socket is writable, or reports the error to conn_event_cb. */
    if (evbuffer_get_length(out) > 0)
        bufferevent_enable(c->bev, EV_WRITE);
}

/* Plain TCP: the read event is on while the connection reads and its input
 * is under the high watermark, as a bufferevent's would be; off, the bytes
 * wait in the kernel and TCP flow control pushes back. The idle and message
 * timeouts are deadline_ev's (conn_deadline). */
static void conn_read_update(docstore_conn_t *c)
{
    if (c->read_ev == NULL)
        return;
    bool want = c->state == DOCSTORE_CONN_READING &&
                evbuffer_get_length(bufferevent_get_input(c->bev)) < c->read_high;
    bool on = event_pending(c->read_ev, EV_READ, NULL) != 0;
    if (want && !on) {
        event_add(c->read_ev, NULL);
    } else if (!want && on) {
        event_del(c->read_ev);
    }
}

static void conn_process(docstore_conn_t *c)
{
    if (process_messages(c) == 0) {
        conn_flush(c);
        conn_read_update(c);
    }
}

static void conn_idle_close(docstore_conn_t *c)
{
    c->server->idle_closed++;
    char why[64];
    snprintf(why, sizeof why, "idle for %d s", c->server->cfg.idle_timeout_s);
    conn_close(c, why);
}

/* deadline_ev: closes the connection whose message has taken longer than
 * --message-timeout, or that has sent no complete message for
 * --idle-timeout; otherwise the deadline moved and the timer is re-armed. A
 * connection paused on its own unread replies is not reading, so its clocks
 * wait. */
static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    docstore_conn_t *c = arg;
    (void)fd, (void)what;
    const docstore_config_t *cfg = &c->server->cfg;
    int64_t now = docstore_now_ms();
    int64_t d = conn_deadline(c);
    if (d == 0)
        return;
    if (c->state != DOCSTORE_CONN_READING) {
        /* Not reading: the wait is ours, not the client's. */
        c->last_active_ms = now;
        if (c->partial_since_ms != 0)
            c->partial_since_ms = now;
        static const struct timeval second = {1, 0};
        evtimer_add(c->deadline_ev, &second);
        return;
    }
    if (now < d) {
        conn_deadline_arm(c);
        return;
    }
    if (c->partial_since_ms != 0 && cfg->message_timeout_s > 0 &&
        now >= c->partial_since_ms + (int64_t)cfg->message_timeout_s * 1000) {
        c->server->slow_closed++;
        char why[96];
        snprintf(why, sizeof why, "%s incomplete after %d s (--message-timeout)",
                 c->tls_handshaking ? "TLS handshake" : "message", cfg->message_timeout_s);
        conn_close(c, why);
        return;
    }
    conn_idle_close(c);
}

/* Plain TCP reads: straight into the input buffer's free space, up to the
 * watermark and MAX_SINGLE_READ per wakeup. Unlike a socket bufferevent
 * (evbuffer_read), no ioctl(FIONREAD) first: a read that comes back short
 * has taken all the kernel had. */
static void conn_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    docstore_conn_t *c = arg;
    if (what & EV_TIMEOUT) {
        conn_idle_close(c);
        return;
    }
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t total = 0;
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len >= c->read_high || total >= MAX_SINGLE_READ)
            break;
        size_t want = c->read_high - len;
        if (want > READ_CHUNK)
            want = READ_CHUNK;
        struct evbuffer_iovec vec;
        /* A socket bufferevent keeps its input's end frozen except while it
         * reads itself; do as it does. */
        evbuffer_unfreeze(in, 0);
        if (evbuffer_reserve_space(in, (ev_ssize_t)want, &vec, 1) != 1) {
            evbuffer_freeze(in, 0);
            conn_close(c, "out of memory");
            return;
        }
        ssize_t n = read(fd, vec.iov_base, want);
        int e = errno;
        vec.iov_len = n > 0 ? (size_t)n : 0;
        evbuffer_commit_space(in, &vec, 1);
        evbuffer_freeze(in, 0);
        if (n < 0) {
            if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
                break;
            char why[300];
            snprintf(why, sizeof why, "socket error: %s", strerror(e));
            conn_close(c, why);
            return;
        }
        if (n == 0) {
            /* What came before the end is answered first, as before. */
            if (total == 0 || process_messages(c) == 0) {
                conn_flush(c);
                conn_close(c, "end of stream");
            }
            return;
        }
        total += (size_t)n;
        if ((size_t)n < want)
            break; /* the kernel had no more */
    }
    conn_process(c);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    docstore_conn_t *c = arg;
    (void)bev;
    if (c->state == DOCSTORE_CONN_CLOSING) {
        conn_close(c, "closed after reply");
        return;
    }
    if (c->server->tls == NULL)
        bufferevent_disable(c->bev, EV_WRITE); /* drained: conn_flush writes directly again */
    if (c->state == DOCSTORE_CONN_PAUSED) { /* output drained: read again */
        c->state = DOCSTORE_CONN_READING;
        if (c->read_ev == NULL)
            bufferevent_enable(c->bev, EV_READ);
        conn_process(c);
    }
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    docstore_conn_t *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        /* the TLS handshake is done: its clock stops; messages have their own */
        c->tls_handshaking = false;
        c->partial_since_ms = 0;
    } else if (what & BEV_EVENT_TIMEOUT) {
        conn_idle_close(c);
    } else if (what & BEV_EVENT_EOF) {
        conn_close(c, "end of stream");
    } else if (what & BEV_EVENT_ERROR) {
        char why[300];
        const char *tls_err = c->server->tls ? docstore_tls_bev_error(c->bev) : "";
        if (tls_err[0])
            snprintf(why, sizeof why, "TLS error: %s", tls_err);
        else
            snprintf(why, sizeof why, "socket error: %s",
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        conn_close(c, why);
    }
}

static void format_peer(const struct sockaddr *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(out, outlen, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(out, outlen, "[%s]:%d", host, port);
    } else {
        snprintf(out, outlen, "unix");
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    docstore_server_t *s = arg;
    (void)l, (void)salen;
    char peer[64];
    format_peer(sa, peer, sizeof peer);
    if (!docstore_access_allows(s->access, s->naccess, sa)) {
        s->rejected_access++;
        log_warn("docstore", "refused %s: not in the access list", peer);
        evutil_closesocket(fd);
        return;
    }
    if (s->cfg.max_connections > 0 && s->current >= s->cfg.max_connections) {
        s->rejected++;
        log_warn("docstore", "refused %s: %d connections open, the limit is %d", peer, s->current,
                 s->cfg.max_connections);
        evutil_closesocket(fd);
        return;
    }
    docstore_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->server = s;
    c->id = ++s->next_conn_id;
    memcpy(c->peer, peer, sizeof peer);
    snprintf(c->who, sizeof c->who, "docstore conn %lld %s", (long long)c->id, peer);
    c->created_ms = docstore_wall_ms();
    c->last_active_ms = docstore_now_ms();
    c->auth = s->cfg.auth == DOCSTORE_AUTH_NONE ? DOCSTORE_CONN_AUTH_OPEN : DOCSTORE_CONN_AUTH_NONE;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (s->tls != NULL)
        c->bev = docstore_tls_bev_new(s->base, fd, s->tls); /* closes fd on failure */
    else if ((c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
        evutil_closesocket(fd);
    c->resume_ev = evtimer_new(s->base, resume_cb, c);
    c->deadline_ev = evtimer_new(s->base, conn_deadline_cb, c);
    if (s->tls == NULL && c->bev != NULL)
        c->read_ev = event_new(s->base, fd, EV_READ | EV_PERSIST, conn_sock_read_cb, c);
    if (c->bev == NULL || c->resume_ev == NULL || c->deadline_ev == NULL ||
        (s->tls == NULL && c->read_ev == NULL)) {
        if (c->deadline_ev)
            event_free(c->deadline_ev);
        if (c->read_ev)
            event_free(c->read_ev);
        if (c->bev)
            bufferevent_free(c->bev);
        if (c->resume_ev)
            event_free(c->resume_ev);
        free(c);
        log_error("docstore", "cannot set up a connection from %s", peer);
        return;
    }
    pthread_mutex_lock(&s->conns_lock);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->current++;
    pthread_mutex_unlock(&s->conns_lock);
    s->total_created++;
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_set_max_single_read(c->bev, MAX_SINGLE_READ);
    /* Reading keeps pace with processing: input beyond what the next message
     * needs stays in the kernel, where TCP flow control pushes back. */
    c->read_high = INPUT_HIGH;
    bufferevent_setwatermark(c->bev, EV_READ, 0, c->read_high);
    if (s->tls != NULL) {
        /* A handshake sent a byte at a time must not hold the slot: it is
         * bounded like a message (the wire layer sees nothing until it ends). */
        c->tls_handshaking = true;
        c->partial_since_ms = c->last_active_ms;
    }
    conn_deadline_arm(c);
    if (s->tls != NULL) {
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    } else {
        /* Plain TCP: conn_sock_read_cb reads, conn_flush writes; the
         * bufferevent holds the buffers and writes only what the kernel did
         * not take at once. */
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        conn_read_update(c);
    }
    log_info(c->who, "accepted (%d open)", s->current);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    docstore_server_t *s = arg;
    int e = EVUTIL_SOCKET_ERROR();
    log_error("docstore", "accept failed: %s", evutil_socket_error_to_string(e));
    /* Out of descriptors: stop accepting for a moment instead of spinning. */
    evconnlistener_disable(l);
    static const struct timeval pause_tv = {0, 100 * 1000};
    s->accept_paused = true;
    evtimer_add(s->tick_ev, &pause_tv);
}

/* The TTL monitor: a pass every ttl_monitor_s seconds, or at the next tick
 * when the last pass stopped at its bound with more to delete. */
static void ttl_monitor(docstore_server_t *s)
{
    int64_t now = docstore_now_ms();
    if (s->storage == NULL || now < s->ttl_next_ms)
        return;
    docstore_error_t err = {0};
    bool more = false;
    if (docstore_storage_ttl_pass(s->storage, docstore_wall_ms(), &more, &err) != 0) {
        log_warn("docstore", "TTL monitor pass failed: %s", err.msg);
        docstore_error_clear(&err);
    }
    s->ttl_next_ms = now + (more ? 0 : (int64_t)s->cfg.ttl_monitor_s * 1000);
}

/* Every second (or sooner after an accept error): expire cursors, run the
 * TTL monitor when due, re-enable the listener. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    docstore_server_t *s = arg;
    (void)fd, (void)what;
    if (s->accept_paused) {
        s->accept_paused = false;
        evconnlistener_enable(s->listener);
    }
    docstore_cursors_expire(s->cursors, CURSOR_IDLE_MS);
    ttl_monitor(s);
    static const struct timeval second = {1, 0};
    evtimer_add(s->tick_ev, &second);
}

/* ---- server lifecycle ------------------------------------------------------ */

static const char *own(docstore_server_t *s, int slot, const char *v)
{
    if (v == NULL)
        return NULL;
    s->owned_strings[slot] = strdup(v);
    return s->owned_strings[slot];
}

void docstore_server_set_argv(docstore_server_t *s, int argc, char **argv)
{
    if (s->argv)
        bson_destroy(s->argv);
    s->argv = bson_new();
    for (int i = 0; i < argc; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        bson_append_utf8(s->argv, key, -1, argv[i], -1);
    }
}

int docstore_server_new(struct event_base *base, const docstore_config_t *cfg,
                        docstore_server_t **out)
{
    *out = NULL;
    signal(SIGPIPE, SIG_IGN);
    /* Every connection is a descriptor: allow as many as the hard limit does. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    docstore_server_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    pthread_mutex_init(&s->conns_lock, NULL);
    s->base = base;
    s->cfg = *cfg;
    s->cfg.bind_address = own(s, 0, cfg->bind_address ? cfg->bind_address : "127.0.0.1");
    s->cfg.dir = own(s, 1, cfg->dir);
    s->cfg.access_list = own(s, 2, cfg->access_list);
    s->cfg.users_file = own(s, 3, cfg->users_file);
    s->cfg.iam_file = own(s, 4, cfg->iam_file);
    s->cfg.tls_cert = own(s, 5, cfg->tls_cert);
    s->cfg.tls_key = own(s, 6, cfg->tls_key);
    s->started_ms = docstore_now_ms();
    s->started_wall_ms = docstore_wall_ms();
    s->next_request_id = 0;
    docstore_error_t err = {0};

    if (cfg->auth != DOCSTORE_AUTH_NONE) {
        if (cfg->users_file == NULL) {
            log_error("docstore", "--auth needs --users FILE (and --iam FILE for MONGODB-AWS)");
            goto fail;
        }
        if (docstore_auth_new(s->cfg.users_file, s->cfg.iam_file, &s->auth, &err) != 0) {
            log_error("docstore", "%s", err.msg);
            docstore_error_clear(&err);
            goto fail;
        }
    }
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        log_error("docstore", "TLS needs both --tls-cert and --tls-key");
        goto fail;
    }
    if (cfg->tls_cert) {
        char msg[512];
        if (docstore_tls_ctx_new(s->cfg.tls_cert, s->cfg.tls_key, &s->tls, msg, sizeof msg) != 0) {
            log_error("docstore", "%s", msg);
            goto fail;
        }
    }
    if (s->cfg.access_list) {
        char msg[160];
        if (docstore_access_parse(s->cfg.access_list, &s->access, &s->naccess, msg, sizeof msg) !=
            0) {
            log_error("docstore", "%s", msg);
            goto fail;
        }
    }
    if (docstore_cursors_new(&s->cursors) != 0) {
        log_error("docstore", "out of memory");
        goto fail;
    }
    docstore_storage_set_filter_ops(&docstore_partial_filter_ops);
    docstore_storage_set_collation_ops(&docstore_index_collation_ops);
    s->ttl_next_ms = docstore_now_ms() + (int64_t)s->cfg.ttl_monitor_s * 1000;
    docstore_cursors_configure(s->cursors, s->cfg.cursor_memory_max,
                               (int64_t)s->cfg.session_timeout_min * 60 * 1000);
    if (docstore_storage_open(s->cfg.dir, &s->storage, &err) != 0) {
        if (err.code != DOCSTORE_NOT_IMPLEMENTED) {
            log_error("docstore", "cannot open storage%s%s: %s", s->cfg.dir ? " in " : "",
                      s->cfg.dir ? s->cfg.dir : "", err.msg);
            docstore_error_clear(&err);
            goto fail;
        }
        log_warn("docstore", "storage is not built yet: data commands will fail");
        s->storage = NULL;
        docstore_error_clear(&err);
    }

    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", cfg->port);
    int gai = getaddrinfo(s->cfg.bind_address, portstr, &hints, &ai);
    if (gai != 0 || ai == NULL) {
        log_error("docstore", "cannot resolve bind address %s: %s", s->cfg.bind_address,
                  gai_strerror(gai));
        goto fail;
    }
    s->listener = evconnlistener_new_bind(
        base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
        1024, ai->ai_addr, (int)ai->ai_addrlen);
    freeaddrinfo(ai);
    if (s->listener == NULL) {
        log_error("docstore", "cannot listen on %s:%d: %s", s->cfg.bind_address, cfg->port,
                  strerror(errno));
        goto fail;
    }
    evconnlistener_set_error_cb(s->listener, accept_error_cb);
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    if (getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&ss, &sslen) == -1) {
        log_error("docstore", "getsockname: %s", strerror(errno));
        goto fail;
    }
    s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->tick_ev = evtimer_new(base, tick_cb, s);
    if (s->tick_ev == NULL)
        goto fail;
    static const struct timeval second = {1, 0};
    evtimer_add(s->tick_ev, &second);
    char hostname[200] = "localhost";
    gethostname(hostname, sizeof hostname - 1);
    snprintf(s->host, sizeof s->host, "%s:%d", hostname, s->port);
    bool v6 = strchr(s->cfg.bind_address, ':') != NULL;
    log_info("docstore", "docstore listening on %s%s%s:%d%s", v6 ? "[" : "", s->cfg.bind_address,
             v6 ? "]" : "", s->port, s->tls ? " (TLS)" : "");
    *out = s;
    return 0;
fail:
    docstore_server_free(s);
    return -1;
}

int docstore_server_port(const docstore_server_t *s)
{
    return s->port;
}

void docstore_server_free(docstore_server_t *s)
{
    if (s == NULL)
        return;
    while (s->conns)
        conn_free(s->conns);
    if (s->listener)
        evconnlistener_free(s->listener);
    if (s->tick_ev)
        event_free(s->tick_ev);
    docstore_cursors_free(s->cursors);
    if (s->tls)
        docstore_tls_ctx_free(s->tls);
    docstore_auth_free(s->auth);
    if (s->storage)
        docstore_storage_close(s->storage);
    free(s->access);
    if (s->argv)
        bson_destroy(s->argv);
    for (size_t i = 0; i < sizeof s->owned_strings / sizeof s->owned_strings[0]; i++)
        free(s->owned_strings[i]);
    pthread_mutex_destroy(&s->conns_lock);
    free(s);
}

size_t docstore_server_peers(docstore_server_t *s, docstore_peer_t *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&s->conns_lock);
    for (const docstore_conn_t *c = s->conns; c != NULL; c = c->next, n++) {
        if (n < max) {
            out[n].id = c->id;
            memcpy(out[n].peer, c->peer, sizeof out[n].peer);
            out[n].created_ms = c->created_ms;
        }
    }
    pthread_mutex_unlock(&s->conns_lock);
    return n;
}
