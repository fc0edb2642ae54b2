/*
 * libFuzzer target for the runtime's HTTP reply parser (src/runtime/http.c):
 * the input is what the "Runtime API" answers to one request, delivered over a
 * socketpair and closed; then the event is built from the reply as the loop
 * does. Any input must give a reply or an error code, never a crash, a leak or
 * a hang.
 */
#include "runtime/http.c"

#include "runtime/event.h"

#include <stdint.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 60000)
        return 0; /* stays within the socket buffer: no writer thread needed */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
        return 0;
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(sv[1], data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
    runtime_http_t *h = runtime_http_new("127.0.0.1:9", -1);
    if (h == NULL) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    h->fd = sv[0]; /* adopted: http_alive sees a live socket, so no connect */
    runtime_http_reply_t reply;
    runtime_http_reply_init(&reply, 1 << 16);
    runtime_http_request_t req = {
        .method = "GET", .path = "/2018-06-01/runtime/invocation/next", .max_body = 1 << 16};
    int rc = runtime_http_do(h, &req, &reply);
    if (rc == 0 && reply.status == 200) {
        tether_event_t ev;
        if (runtime_event_from_reply(&reply, &ev) == 0 && ev.payload_len > reply.body.len)
            __builtin_trap();
    }
    runtime_http_reply_free(&reply);
    runtime_http_free(h);
    close(sv[1]);
    return 0;
}
