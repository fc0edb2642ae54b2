/*
 * A scripted HTTP/1.1 server for the runtime's unit tests: it answers the
 * runtime's requests, in order, with canned raw replies, and records what it
 * received (method, path, headers, de-chunked body, trailers). Extension API
 * requests are answered on the side (register → 200 with an id, event/next
 * held open). When the script runs out it answers 500, which ends the loop.
 * A thread per connection; everything is bounded so a test cannot hang.
 */
#ifndef TETHER_TEST_SCRIPT_SERVER_H
#define TETHER_TEST_SCRIPT_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SS_MAX_STEPS   32
#define SS_MAX_RECORDS 64
#define SS_CLOSE       NULL /* a step whose reply is SS_CLOSE drops the connection unanswered */
#define SS_THEN_CLOSE  "!close!" /* a reply starting with this is sent, then the connection closed \
                                  */

typedef struct ss_record {
    char method[8];
    char path[256];
    char headers[8192]; /* raw header block, CRLF-separated */
    char *body;         /* owned, NUL-terminated */
    size_t body_len;
    char trailers[4096];
} ss_record_t;

typedef struct ss_server {
    int listen_fd;
    int port;
    pthread_t accept_thread;
    pthread_mutex_t mu;
    const char *steps[SS_MAX_STEPS]; /* raw replies (or SS_CLOSE) */
    int n_steps;
    int next_step;
    ss_record_t records[SS_MAX_RECORDS]; /* non-extension requests, in order */
    int n_records;
    int extension_registers;
    int extension_nexts;
    volatile int stopping;
} ss_server_t;

typedef struct ss_conn {
    ss_server_t *srv;
    int fd;
} ss_conn_t;

static int ss_read_some(ss_server_t *srv, int fd, char *buf, size_t cap)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, 50);
        if (srv->stopping)
            return -1;
        if (r <= 0)
            continue;
        ssize_t n = read(fd, buf, cap);
        return (int)n;
    }
}

/* Reads until buf (len so far) contains needle; returns its offset or -1. */
static long ss_read_until(ss_server_t *srv, int fd, char *buf, size_t *len, size_t cap,
                          const char *needle, size_t from)
{
    for (;;) {
        buf[*len] = '\0';
        char *hit = *len > from ? strstr(buf + from, needle) : NULL;
        if (hit != NULL)
            return hit - buf;
        if (*len + 1 >= cap)
            return -1;
        int n = ss_read_some(srv, fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            return -1;
        *len += (size_t)n;
    }
}

static void ss_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void *ss_conn_thread(void *arg)
{
    ss_conn_t *c = arg;
    ss_server_t *srv = c->srv;
    size_t cap = 8 * 1024 * 1024;
    char *buf = malloc(cap);
    size_t len = 0;
    while (buf != NULL && !srv->stopping) {
        long hend = ss_read_until(srv, c->fd, buf, &len, cap, "\r\n\r\n", 0);
        if (hend < 0)
            break;
        ss_record_t rec;
        memset(&rec, 0, sizeof rec);
        sscanf(buf, "%7s %255s", rec.method, rec.path);
        size_t hlen = (size_t)hend + 2;
        snprintf(rec.headers, sizeof rec.headers, "%.*s", (int)hlen, buf);
        size_t pos = (size_t)hend + 4;
        /* body: Content-Length or chunked */
        char *body = calloc(1, cap);
        size_t blen = 0;
        const char *cl = strcasestr(rec.headers, "\r\nContent-Length:");
        if (strcasestr(rec.headers, "\r\nTransfer-Encoding: chunked") != NULL) {
            for (;;) {
                long le = ss_read_until(srv, c->fd, buf, &len, cap, "\r\n", pos);
                if (le < 0)
                    goto done;
                size_t sz = strtoul(buf + pos, NULL, 16);
                pos = (size_t)le + 2;
                if (sz == 0) {
                    long te = ss_read_until(srv, c->fd, buf, &len, cap, "\r\n", pos);
                    while (te >= 0 && (size_t)te != pos) { /* trailer lines */
                        size_t tl = strlen(rec.trailers);
                        snprintf(rec.trailers + tl, sizeof rec.trailers - tl, "%.*s\r\n",
                                 (int)((size_t)te - pos), buf + pos);
                        pos = (size_t)te + 2;
                        te = ss_read_until(srv, c->fd, buf, &len, cap, "\r\n", pos);
                    }
                    if (te < 0)
                        goto done;
                    pos = (size_t)te + 2;
                    break;
                }
                while (len < pos + sz + 2) {
                    int n = ss_read_some(srv, c->fd, buf + len, cap - 1 - len);
                    if (n <= 0)
                        goto done;
                    len += (size_t)n;
                }
                memcpy(body + blen, buf + pos, sz);
                blen += sz;
                pos += sz + 2;
            }
        } else if (cl != NULL) {
            size_t want = strtoul(cl + 17, NULL, 10);
            while (len < pos + want) {
                int n = ss_read_some(srv, c->fd, buf + len, cap - 1 - len);
                if (n <= 0)
                    goto done;
                len += (size_t)n;
            }
            memcpy(body, buf + pos, want);
            blen = want;
            pos += want;
        }
        memmove(buf, buf + pos, len - pos);
        len -= pos;
        rec.body = body;
        rec.body_len = blen;
        body = NULL;

        const char *reply;
        int hold = 0;
        pthread_mutex_lock(&srv->mu);
        if (strcmp(rec.path, "/2020-01-01/extension/register") == 0) {
            srv->extension_registers++;
            reply = "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: ext-1\r\n"
                    "Content-Length: 2\r\n\r\n{}";
            free(rec.body);
        } else if (strcmp(rec.path, "/2020-01-01/extension/event/next") == 0) {
            srv->extension_nexts++;
            hold = 1;
            reply = NULL;
            free(rec.body);
        } else {
            if (srv->n_records < SS_MAX_RECORDS)
                srv->records[srv->n_records++] = rec;
            else
                free(rec.body);
            reply = srv->next_step < srv->n_steps
                        ? srv->steps[srv->next_step++]
                        : "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        }
        pthread_mutex_unlock(&srv->mu);
        if (hold) {
            while (!srv->stopping) {
                struct pollfd p = {.fd = c->fd, .events = POLLIN};
                if (poll(&p, 1, 50) > 0)
                    break; /* the client closed */
            }
            break;
        }
        if (reply == SS_CLOSE)
            break;
        int close_after = strncmp(reply, SS_THEN_CLOSE, strlen(SS_THEN_CLOSE)) == 0;
        if (close_after)
            reply += strlen(SS_THEN_CLOSE);
        ss_write_all(c->fd, reply, strlen(reply));
        if (close_after)
            break;
        continue;
    done:
        free(body);
        break;
    }
    free(buf);
    close(c->fd);
    free(c);
    return NULL;
}

static void *ss_accept_thread(void *arg)
{
    ss_server_t *srv = arg;
    while (!srv->stopping) {
        struct pollfd p = {.fd = srv->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(srv->listen_fd, NULL, NULL);
        if (fd == -1)
            continue;
        ss_conn_t *c = malloc(sizeof *c);
        c->srv = srv;
        c->fd = fd;
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_create(&t, &attr, ss_conn_thread, c);
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

/* Starts a server on a free loopback port and points AWS_LAMBDA_RUNTIME_API at it. */
static void ss_start(ss_server_t *srv)
{
    memset(srv, 0, sizeof *srv);
    pthread_mutex_init(&srv->mu, NULL);
    srv->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(srv->listen_fd, (struct sockaddr *)&a, sizeof a);
    listen(srv->listen_fd, 16);
    socklen_t al = sizeof a;
    getsockname(srv->listen_fd, (struct sockaddr *)&a, &al);
    srv->port = ntohs(a.sin_port);
    char api[64];
    snprintf(api, sizeof api, "127.0.0.1:%d", srv->port);
    setenv("AWS_LAMBDA_RUNTIME_API", api, 1);
    pthread_create(&srv->accept_thread, NULL, ss_accept_thread, srv);
}

static void ss_add(ss_server_t *srv, const char *reply)
{
    srv->steps[srv->n_steps++] = reply;
}

/* Stops accepting; gives connection threads time to see the flag. */
static void ss_stop(ss_server_t *srv)
{
    srv->stopping = 1;
    pthread_join(srv->accept_thread, NULL);
    close(srv->listen_fd);
    usleep(120 * 1000);
    for (int i = 0; i < srv->n_records; i++)
        free(srv->records[i].body);
    pthread_mutex_destroy(&srv->mu);
}

/* The value of header name in a record's raw header block, copied into out. */
static const char *ss_header(const ss_record_t *r, const char *name, char *out, size_t cap)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\r\n%s:", name);
    const char *p = strcasestr(r->headers, pat);
    if (p == NULL)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    const char *e = strstr(p, "\r\n");
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

#endif
