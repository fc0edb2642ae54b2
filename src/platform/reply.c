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
 */
#include "platform/reply.h"

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
