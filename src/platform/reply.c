/*
 * Writing evhttp replies without waiting for the socket to report writable.
 *
 * evhttp queues a reply in its connection's bufferevent and enables write
 * interest; the reply goes out when epoll next reports the socket writable,
 * after which write interest is dropped again. That is two epoll_ctl calls and
 * one more epoll_wait for every reply, though a reply to a loopback peer
 * almost always fits in the socket buffer at once. platform_reply_send writes
 * it straight away (as the bufferevent's own write callback does: unfreeze the
 * output's start, write, freeze) and, when nothing is left, runs the
 * bufferevent's write callback as libevent does after a complete write:
 * evhttp then frees the request and goes back to reading the connection,
 * within the same loop turn, so the write interest it enabled is dropped
 * before it ever reaches epoll. A partial write or an error is left to the
 * bufferevent, which retries or reports it as before.
 *
 * Calling it from the request's own callback is safe: evhttp touches neither
 * the request nor the connection after a server callback returns (a reply
 * sent from within it, such as evhttp_send_error's, may free both), and the
 * bufferevent holds a reference while its callback runs.
 *
 * Also AWS's JSON error replies (platform_reply_send_error), so every module
 * that answers a request (the Invoke API, an invocation finishing, the
 * Runtime API) sends them through here rather than through the Invoke API.
 */
#include "platform/reply.h"

#include "common/buf.h"
#include "platform/json.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

void platform_reply_send(struct evhttp_request *req, int code, const char *reason,
                         struct evbuffer *body)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    evhttp_send_reply(req, code, reason, body); /* frees req if evcon is NULL */
    if (evcon == NULL)
        return;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    if (fd == -1)
        return;
    struct evbuffer *out = bufferevent_get_output(bev);
    if (evbuffer_get_length(out) == 0)
        return;
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, fd);
    evbuffer_freeze(out, 1);
    if (n > 0 && evbuffer_get_length(out) == 0)
        bufferevent_trigger(bev, EV_WRITE, 0);
}

void platform_reply_send_error(struct evhttp_request *req, int status, const char *error_type,
                               const char *message, const char *reason, const char *request_id)
{
    char rid[37];
    if (request_id == NULL) {
        platform_uuid(rid);
        request_id = rid;
    }
    buf_t b;
    buf_init(&b, 8192);
    int rc = 0;
    if (reason != NULL) {
        rc = buf_append_str(&b, "{\"Reason\":");
        if (rc == 0)
            rc = buf_append_json_cstr(&b, reason);
        if (rc == 0)
            rc = buf_append_str(&b, ",\"Type\":");
    } else {
        rc = buf_append_str(&b, "{\"Type\":");
    }
    if (rc == 0)
        rc = buf_append_json_cstr(&b, status >= 500 ? "Service" : "User");
    if (rc == 0)
        rc = buf_append_str(&b, ",\"message\":");
    if (rc == 0)
        rc = buf_append_json_cstr(&b, message);
    if (rc == 0)
        rc = buf_append_str(&b, "}");
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "X-Amzn-RequestId", request_id);
    evhttp_add_header(h, "X-Amzn-ErrorType", error_type);
    struct evbuffer *out = evbuffer_new();
    if (out != NULL && rc == 0)
        evbuffer_add(out, b.data, b.len);
    const char *phrase = status == 404   ? "Not Found"
                         : status == 413 ? "Request Entity Too Large"
                         : status == 429 ? "Too Many Requests"
                         : status == 405 ? "Method Not Allowed"
                         : status == 400 ? "Bad Request"
                         : status == 503 ? "Service Unavailable"
                                         : "Error";
    evhttp_send_reply(req, status, phrase, out);
    if (out != NULL)
        evbuffer_free(out);
    buf_free(&b);
}
