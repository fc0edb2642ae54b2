/*
 * The Runtime API HTTP/1.1 client (see http.h): one blocking TCP socket with
 * keep-alive, poll() before every read so a wait can also watch the SIGTERM
 * pipe, a 64 KB read buffer for reply heads, chunked or Content-Length bodies
 * with caps, and one transparent retry when a reused connection turns out to
 * have been closed by the platform before it answered.
 *
 * System calls are what a warm event costs on a loaded machine, so the hot
 * path makes few: a connection used within the last second is reused without
 * a liveness poll (the retry covers one closed under us), and a wait that
 * need not watch the SIGTERM pipe (a POST's reply) is a plain blocking recv.
 * An answer's POST can carry the next GET /next behind it (then_get), so a
 * warm event costs the runtime one send fewer and the platform one read and
 * one wake-up fewer.
 */
#include "runtime/http.h"

#include "runtime/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HTTP_CONNECT_TIMEOUT_MS 5000
#define HTTP_FRESH_MS           1000 /* a connection used this recently is reused unchecked */

struct runtime_http {
    char host_header[300]; /* "Host:" value, as AWS_LAMBDA_RUNTIME_API gave it */
    char host[256];        /* what to resolve (brackets of an IPv6 literal removed) */
    char port[16];
    int fd;            /* the connection, or -1 */
    int interrupt_fd;  /* readable means "stop waiting", or -1 */
    int got_bytes;     /* the current reply has sent at least one byte */
    int stream_failed; /* the streamed POST in progress broke */
    uint64_t used_ms;  /* when the connection last delivered a whole reply (monotonic) */
    int then_sent;     /* a pipelined GET of then_path went out; its reply is unread */
    char then_path[256];
    size_t rstart, rend; /* unread bytes are rbuf[rstart, rend) */
    char rbuf[RUNTIME_HTTP_MAX_HEAD];
};

/* ---- replies ---- */

static void reply_clear(runtime_http_reply_t *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    r->n_headers = 0;
    r->malformed_headers = 0;
    r->status = 0;
    buf_reset(&r->body);
}

void runtime_http_reply_init(runtime_http_reply_t *r, size_t max_body)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, max_body);
}

void runtime_http_reply_free(runtime_http_reply_t *r)
{
    reply_clear(r);
    buf_free(&r->body);
}

const char *runtime_http_reply_header(const runtime_http_reply_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    }
    return NULL;
}

static char *http_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* One header line (without CRLF): "Name: value", split at the first colon only. */
static int reply_add_header(runtime_http_reply_t *r, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t') {
        r->malformed_headers++;
        return 0;
    }
    size_t name_len = (size_t)(colon - line);
    while (name_len > 0 && isspace((unsigned char)line[name_len - 1]))
        name_len--;
    const char *v = colon + 1;
    const char *end = line + len;
    while (v < end && isspace((unsigned char)*v))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    if (name_len == 0) {
        r->malformed_headers++;
        return 0;
    }
    if (r->n_headers >= RUNTIME_HTTP_MAX_HEADERS)
        return 0; /* more than any Runtime API reply has: ignore the rest */
    char *hn = http_strndup(line, name_len);
    char *hv = http_strndup(v, (size_t)(end - v));
    if (hn == NULL || hv == NULL) {
        free(hn);
        free(hv);
        return RUNTIME_HTTP_ENOMEM;
    }
    r->headers[r->n_headers].name = hn;
    r->headers[r->n_headers].value = hv;
    r->n_headers++;
    return 0;
}

/* ---- the connection ---- */

runtime_http_t *runtime_http_new(const char *host_port, int interrupt_fd)
{
    runtime_http_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->fd = -1;
    h->interrupt_fd = interrupt_fd;
    const char *colon = strrchr(host_port, ':');
    size_t hlen = colon ? (size_t)(colon - host_port) : 0;
    if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= sizeof h->port || hlen == 0 ||
        hlen + 1 > sizeof h->host || strlen(host_port) >= sizeof h->host_header) {
        free(h);
        return NULL;
    }
    snprintf(h->host_header, sizeof h->host_header, "%s", host_port);
    const char *hs = host_port;
    if (hs[0] == '[' && hlen >= 2 && hs[hlen - 1] == ']') {
        hs++;
        hlen -= 2;
    }
    memcpy(h->host, hs, hlen);
    h->host[hlen] = '\0';
    snprintf(h->port, sizeof h->port, "%s", colon + 1);
    return h;
}

static void http_close(runtime_http_t *h)
{
    if (h->fd != -1) {
        close(h->fd);
        h->fd = -1;
    }
    h->rstart = h->rend = 0;
    h->then_sent = 0;
}

runtime_http_t *runtime_http_sibling(const runtime_http_t *h)
{
    return runtime_http_new(h->host_header, -1);
}

int runtime_http_pipelined(const runtime_http_t *h)
{
    return h->then_sent;
}

void runtime_http_free(runtime_http_t *h)
{
    if (h == NULL)
        return;
    http_close(h);
    free(h);
}

static int http_connect(runtime_http_t *h)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int grc = getaddrinfo(h->host, h->port, &hints, &res);
    if (grc != 0) {
        runtime_log_debug("runtime API %s: %s", h->host_header, gai_strerror(grc));
        return RUNTIME_HTTP_ETRANSPORT;
    }
    int rc = RUNTIME_HTTP_ETRANSPORT;
    for (struct addrinfo *ai = res; ai != NULL && rc != 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd == -1)
            continue;
        int c = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (c == -1 && errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int pr;
            do
                pr = poll(&p, 1, HTTP_CONNECT_TIMEOUT_MS);
            while (pr == -1 && errno == EINTR);
            int err = 0;
            socklen_t el = sizeof err;
            if (pr == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
                c = 0;
        }
        if (c == 0) {
            int fl = fcntl(fd, F_GETFL);
            int one = 1;
            if (fl != -1 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != -1) {
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                h->fd = fd;
                h->rstart = h->rend = 0;
                rc = 0;
                continue;
            }
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (rc != 0)
        runtime_log_debug("runtime API %s: connect failed: %s", h->host_header, strerror(errno));
    return rc;
}

static uint64_t http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* the vDSO: no system call */
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* True when the kept connection still looks open (no EOF, nothing unread). */
static int http_alive(runtime_http_t *h)
{
    if (h->fd == -1)
        return 0;
    if (h->rstart != h->rend)
        return 0; /* bytes nobody asked for: the stream is out of step */
    if (http_now_ms() - h->used_ms < HTTP_FRESH_MS)
        return 1; /* just used: if the platform closed it since, the retry covers it */
    struct pollfd p = {.fd = h->fd, .events = POLLIN};
    if (poll(&p, 1, 0) == 0)
        return 1;
    char c;
    ssize_t n = recv(h->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Opens a connection unless a live one is kept. *reused says which. */
static int http_ensure(runtime_http_t *h, int *reused)
{
    *reused = http_alive(h);
    if (*reused)
        return 0;
    http_close(h);
    return http_connect(h);
}

static int http_sendv(runtime_http_t *h, struct iovec *iov, int n)
{
    while (n > 0) {
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = iov;
        m.msg_iovlen = (size_t)n;
        ssize_t w = sendmsg(h->fd, &m, MSG_NOSIGNAL);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            return RUNTIME_HTTP_ETRANSPORT;
        }
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* Reads more bytes into rbuf (compacting first). >0 bytes read, 0 at EOF, or
 * RUNTIME_HTTP_ETRANSPORT / RUNTIME_HTTP_EINTERRUPTED / RUNTIME_HTTP_ETOOBIG (full). */
static int http_fill(runtime_http_t *h, int interruptible)
{
    if (h->rstart > 0) {
        memmove(h->rbuf, h->rbuf + h->rstart, h->rend - h->rstart);
        h->rend -= h->rstart;
        h->rstart = 0;
    }
    if (h->rend == sizeof h->rbuf)
        return RUNTIME_HTTP_ETOOBIG;
    int watch = interruptible && h->interrupt_fd >= 0;
    for (;;) {
        if (watch) { /* else the blocking recv alone waits */
            struct pollfd p[2] = {{.fd = h->fd, .events = POLLIN},
                                  {.fd = h->interrupt_fd, .events = POLLIN}};
            int pr = poll(p, 2, -1);
            if (pr == -1) {
                if (errno == EINTR)
                    continue;
                return RUNTIME_HTTP_ETRANSPORT;
            }
            if (p[1].revents & POLLIN)
                return RUNTIME_HTTP_EINTERRUPTED;
        }
        ssize_t n = recv(h->fd, h->rbuf + h->rend, sizeof h->rbuf - h->rend, 0);
        if (n == -1) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return RUNTIME_HTTP_ETRANSPORT;
        }
        if (n > 0)
            h->got_bytes = 1;
        h->rend += (size_t)n;
        return (int)(n > 0 ? 1 : 0);
    }
}

/* Finds a CRLF-terminated line from rstart; sets *len (without CRLF). */
static int http_line(runtime_http_t *h, int interruptible, size_t *len)
{
    for (;;) {
        const char *start = h->rbuf + h->rstart;
        size_t avail = h->rend - h->rstart;
        const char *nl = avail ? memchr(start, '\n', avail) : NULL;
        if (nl != NULL) {
            size_t l = (size_t)(nl - start);
            *len = (l > 0 && start[l - 1] == '\r') ? l - 1 : l;
            return (int)(l + 1); /* bytes to consume */
        }
        int rc = http_fill(h, interruptible);
        if (rc == 0)
            return RUNTIME_HTTP_ETRANSPORT; /* EOF mid-line */
        if (rc < 0)
            return rc;
    }
}

/* Appends exactly n body bytes to reply (or discards them when too_big). */
static int http_body_bytes(runtime_http_t *h, int interruptible, size_t n, runtime_http_reply_t *r)
{
    while (n > 0) {
        if (h->rstart == h->rend) {
            int rc = http_fill(h, interruptible);
            if (rc == 0)
                return RUNTIME_HTTP_ETRANSPORT;
            if (rc < 0)
                return rc;
        }
        size_t take = h->rend - h->rstart;
        if (take > n)
            take = n;
        int brc = buf_append(&r->body, h->rbuf + h->rstart, take);
        if (brc == BUF_ERR_TOOBIG)
            return RUNTIME_HTTP_ETOOBIG;
        if (brc != 0)
            return RUNTIME_HTTP_ENOMEM;
        h->rstart += take;
        n -= take;
    }
    return 0;
}

static int http_read_chunked(runtime_http_t *h, int interruptible, runtime_http_reply_t *r)
{
    for (;;) {
        size_t len;
        int used = http_line(h, interruptible, &len);
        if (used < 0)
            return used;
        char *end = NULL;
        const char *line = h->rbuf + h->rstart;
        unsigned long long size = strtoull(line, &end, 16);
        if (end == line || size > (1ULL << 40))
            return RUNTIME_HTTP_ETRANSPORT;
        h->rstart += (size_t)used;
        if (size == 0)
            break;
        int rc = http_body_bytes(h, interruptible, (size_t)size, r);
        if (rc != 0)
            return rc;
        used = http_line(h, interruptible, &len); /* the CRLF after the data */
        if (used < 0)
            return used;
        if (len != 0)
            return RUNTIME_HTTP_ETRANSPORT;
        h->rstart += (size_t)used;
    }
    for (;;) { /* trailers, up to the empty line */
        size_t len;
        int used = http_line(h, interruptible, &len);
        if (used < 0)
            return used;
        h->rstart += (size_t)used;
        if (len == 0)
            return 0;
    }
}

/* Reads one reply (after the request went out). */
static int http_read_reply(runtime_http_t *h, int interruptible, runtime_http_reply_t *r)
{
    int rc;
    int minor = 0;
    for (;;) {
        reply_clear(r);
        size_t len;
        int used = http_line(h, interruptible, &len);
        if (used < 0)
            return used == RUNTIME_HTTP_ETOOBIG ? RUNTIME_HTTP_ETRANSPORT : used;
        const char *line = h->rbuf + h->rstart;
        int status = 0;
        if (len < 12 || sscanf(line, "HTTP/1.%d %3d", &minor, &status) != 2 || status < 100 ||
            status > 599)
            return RUNTIME_HTTP_ETRANSPORT;
        h->rstart += (size_t)used;
        r->status = status;
        for (;;) {
            used = http_line(h, interruptible, &len);
            if (used < 0)
                return used == RUNTIME_HTTP_ETOOBIG ? RUNTIME_HTTP_ETRANSPORT : used;
            line = h->rbuf + h->rstart;
            if (len == 0) {
                h->rstart += (size_t)used;
                break;
            }
            rc = reply_add_header(r, line, len);
            h->rstart += (size_t)used;
            if (rc != 0)
                return rc;
        }
        if (status >= 200)
            break; /* 1xx (100 Continue): another head follows */
    }
    int close_after = r->status >= 200 && minor == 0;
    const char *conn = runtime_http_reply_header(r, "Connection");
    if (conn != NULL && strcasecmp(conn, "close") == 0)
        close_after = 1;
    const char *te = runtime_http_reply_header(r, "Transfer-Encoding");
    const char *cl = runtime_http_reply_header(r, "Content-Length");
    if (r->status == 204 || r->status == 304) {
        rc = 0;
    } else if (te != NULL && strcasecmp(te, "chunked") == 0) {
        rc = http_read_chunked(h, interruptible, r);
    } else if (cl != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl || *end != '\0')
            return RUNTIME_HTTP_ETRANSPORT;
        if (n > r->body.max)
            return RUNTIME_HTTP_ETOOBIG;
        rc = http_body_bytes(h, interruptible, (size_t)n, r);
    } else {
        /* no length: the body runs to the end of the connection */
        close_after = 1;
        rc = 0;
        for (;;) {
            if (h->rstart < h->rend) {
                int brc = buf_append(&r->body, h->rbuf + h->rstart, h->rend - h->rstart);
                if (brc != 0)
                    return brc == BUF_ERR_TOOBIG ? RUNTIME_HTTP_ETOOBIG : RUNTIME_HTTP_ENOMEM;
                h->rstart = h->rend;
            }
            int frc = http_fill(h, interruptible);
            if (frc == 0)
                break;
            if (frc < 0)
                return frc;
        }
    }
    if (rc == 0 && close_after)
        http_close(h);
    else if (rc == 0)
        h->used_ms = http_now_ms();
    return rc;
}

/* The request head into out: request line, Host, the caller's headers, ours. */
static int http_head(runtime_http_t *h, buf_t *out, const char *method, const char *path,
                     const char *const *headers, const char *framing)
{
    int rc = buf_printf(out, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: libtether/0.1\r\n", method,
                        path, h->host_header);
    for (size_t i = 0; rc == 0 && headers != NULL && headers[i] != NULL; i++) {
        if (strpbrk(headers[i], "\r\n") != NULL)
            return RUNTIME_HTTP_ETRANSPORT; /* never send a header that splits */
        rc = buf_printf(out, "%s\r\n", headers[i]);
    }
    if (rc == 0 && framing != NULL)
        rc = buf_printf(out, "%s\r\n", framing);
    if (rc == 0)
        rc = buf_append(out, "\r\n", 2);
    return rc == 0 ? 0 : RUNTIME_HTTP_ENOMEM;
}

int runtime_http_do(runtime_http_t *h, const runtime_http_request_t *req,
                    runtime_http_reply_t *reply)
{
    buf_t head, then;
    buf_init(&head, RUNTIME_HTTP_MAX_HEAD);
    buf_init(&then, RUNTIME_HTTP_MAX_HEAD);
    char framing[64];
    int is_post = strcmp(req->method, "POST") == 0;
    if (is_post)
        snprintf(framing, sizeof framing, "Content-Length: %zu", req->body_len);
    int rc = http_head(h, &head, req->method, req->path, req->headers, is_post ? framing : NULL);
    const char *then_get = is_post && req->then_get != NULL &&
                                   strlen(req->then_get) < sizeof h->then_path &&
                                   strpbrk(req->then_get, " \r\n") == NULL
                               ? req->then_get
                               : NULL;
    if (rc == 0 && then_get != NULL)
        rc = http_head(h, &then, "GET", then_get, NULL, NULL);
    /* this very GET already went out behind the last POST: only its reply is left */
    int present = h->then_sent && h->fd != -1 && strcmp(req->method, "GET") == 0 &&
                  strcmp(req->path, h->then_path) == 0;
    if (h->then_sent && !present)
        http_close(h); /* a reply nobody will read is on its way: out of step */
    h->then_sent = 0;
    reply_clear(reply);
    reply->body.max = req->max_body;
    h->stream_failed = 0;
    for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
        int reused = 1;
        h->got_bytes = 0;
        if (!present || attempt > 0) {
            rc = http_ensure(h, &reused);
            if (rc != 0)
                break;
            struct iovec iov[3] = {{head.data, head.len},
                                   {(void *)(uintptr_t)req->body, is_post ? req->body_len : 0},
                                   {then.data, then_get != NULL ? then.len : 0}};
            int n = 1;
            if (iov[1].iov_len > 0)
                n++;
            if (iov[2].iov_len > 0)
                iov[n++] = iov[2];
            rc = http_sendv(h, iov, n);
        }
        if (rc == 0)
            rc = http_read_reply(h, req->interruptible, reply);
        if (rc == 0 && then_get != NULL && h->fd != -1) {
            h->then_sent = 1; /* its reply comes next on this connection */
            snprintf(h->then_path, sizeof h->then_path, "%s", then_get);
        }
        if (rc == RUNTIME_HTTP_ETRANSPORT && reused && !h->got_bytes) {
            /* the platform closed the kept connection before answering: once more, fresh */
            http_close(h);
            rc = 0;
            continue;
        }
        break;
    }
    if (rc != 0 && (rc != RUNTIME_HTTP_ENOMEM || then_get != NULL))
        http_close(h); /* mid-reply: the connection is out of step */
    buf_free(&head);
    buf_free(&then);
    return rc;
}

int runtime_http_stream_start(runtime_http_t *h, const char *path, const char *const *headers)
{
    if (h->then_sent)
        http_close(h); /* a pipelined GET's reply is on its way: out of step */
    buf_t head;
    buf_init(&head, RUNTIME_HTTP_MAX_HEAD);
    int rc = http_head(h, &head, "POST", path, headers, "Transfer-Encoding: chunked");
    h->stream_failed = 0;
    for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
        int reused = 0;
        rc = http_ensure(h, &reused);
        if (rc != 0)
            break;
        struct iovec iov[1] = {{head.data, head.len}};
        rc = http_sendv(h, iov, 1);
        if (rc != 0 && reused) {
            http_close(h);
            rc = 0;
            continue;
        }
        break;
    }
    buf_free(&head);
    if (rc != 0) {
        h->stream_failed = 1;
        http_close(h);
    }
    return rc;
}

int runtime_http_stream_write(runtime_http_t *h, const void *data, size_t len)
{
    if (h->stream_failed || h->fd == -1)
        return RUNTIME_HTTP_ETRANSPORT;
    if (len == 0)
        return 0; /* a zero-size chunk would end the body */
    char size[32];
    int n = snprintf(size, sizeof size, "%zx\r\n", len);
    static char crlf[] = "\r\n";
    struct iovec iov[3] = {{size, (size_t)n}, {(void *)(uintptr_t)data, len}, {crlf, 2}};
    int rc = http_sendv(h, iov, 3);
    if (rc != 0) {
        h->stream_failed = 1;
        http_close(h);
    }
    return rc;
}

int runtime_http_stream_finish(runtime_http_t *h, const char *const *trailers,
                               runtime_http_reply_t *reply)
{
    reply_clear(reply);
    if (h->stream_failed || h->fd == -1) {
        h->stream_failed = 0;
        return RUNTIME_HTTP_ETRANSPORT;
    }
    buf_t end;
    buf_init(&end, RUNTIME_HTTP_MAX_HEAD * 16);
    int rc = buf_append_str(&end, "0\r\n");
    for (size_t i = 0; rc == 0 && trailers != NULL && trailers[i] != NULL; i++) {
        if (strpbrk(trailers[i], "\r\n") != NULL)
            continue;
        rc = buf_printf(&end, "%s\r\n", trailers[i]);
    }
    if (rc == 0)
        rc = buf_append_str(&end, "\r\n");
    if (rc != 0) {
        rc = RUNTIME_HTTP_ENOMEM;
    } else {
        struct iovec iov[1] = {{end.data, end.len}};
        h->got_bytes = 0;
        rc = http_sendv(h, iov, 1);
        if (rc == 0)
            rc = http_read_reply(h, 0, reply);
    }
    if (rc != 0)
        http_close(h);
    buf_free(&end);
    return rc;
}
