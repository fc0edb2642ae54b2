/*
 * The delaying TCP relay (see relay.h). One process, one poll loop: each
 * connection pair has a queue per direction of chunks stamped with the time
 * they may leave; a direction stops reading while it holds more than
 * RELAY_QUEUE_MAX bytes (TCP flow control then pushes back on the sender), and
 * at most RELAY_PAIRS pairs are served (more are refused by closing them).
 */
#include "harness/relay.h"

#include "harness/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define RELAY_PAIRS     128
#define RELAY_CHUNK     16384
#define RELAY_QUEUE_MAX (1u << 20)

typedef struct chunk {
    uint64_t due_ns; /* may be written from then on */
    size_t len, off; /* bytes held, bytes already written */
    struct chunk *next;
    char data[];
} chunk_t;

typedef struct dir {
    int from, to;         /* read from, write to */
    chunk_t *head, *tail; /* oldest first */
    size_t queued;        /* bytes held */
    int eof;              /* `from` said EOF: shut `to` down once drained */
} dir_t;

typedef struct pair {
    int used;
    dir_t d[2]; /* client→server, server→client */
} pair_t;

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void pair_close(pair_t *p)
{
    for (int k = 0; k < 2; k++) {
        while (p->d[k].head != NULL) {
            chunk_t *c = p->d[k].head;
            p->d[k].head = c->next;
            free(c);
        }
    }
    close(p->d[0].from);
    close(p->d[0].to);
    memset(p, 0, sizeof *p);
}

static int connect_target(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == -1) {
        close(fd);
        return -1;
    }
    nodelay(fd);
    return fd;
}

/* Reads what `from` has into a new chunk. 0, or -1 when the pair must close. */
static int dir_read(dir_t *d, int delay_us)
{
    chunk_t *c = malloc(sizeof *c + RELAY_CHUNK);
    if (c == NULL)
        return -1;
    ssize_t n = read(d->from, c->data, RELAY_CHUNK);
    if (n <= 0) {
        free(c);
        if (n == -1 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (n == -1)
            return -1;
        d->eof = 1;
        return 0;
    }
    *c = (chunk_t){.due_ns = bench_now_ns() + (uint64_t)delay_us * 1000, .len = (size_t)n};
    /* the data was read into place before the header was set: keep it */
    if (d->tail != NULL)
        d->tail->next = c;
    else
        d->head = c;
    d->tail = c;
    d->queued += (size_t)n;
    return 0;
}

/* Writes the due chunks. 0, or -1 when the pair must close. */
static int dir_write(dir_t *d, uint64_t now)
{
    while (d->head != NULL && d->head->due_ns <= now) {
        chunk_t *c = d->head;
        ssize_t n = write(d->to, c->data + c->off, c->len - c->off);
        if (n == -1)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->off += (size_t)n;
        if (c->off < c->len)
            return 0;
        d->queued -= c->len;
        d->head = c->next;
        if (d->head == NULL)
            d->tail = NULL;
        free(c);
    }
    if (d->eof && d->head == NULL && d->eof != 2) {
        shutdown(d->to, SHUT_WR);
        d->eof = 2;
    }
    return 0;
}

static void relay_accept(pair_t *pairs, int lfd, int target)
{
    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd == -1)
        return;
    int sfd = connect_target(target);
    int slot = -1;
    for (int i = 0; i < RELAY_PAIRS && slot < 0; i++)
        if (!pairs[i].used)
            slot = i;
    if (sfd == -1 || slot < 0) {
        close(cfd);
        if (sfd != -1)
            close(sfd);
        return;
    }
    nodelay(cfd);
    pairs[slot] = (pair_t){.used = 1};
    pairs[slot].d[0] = (dir_t){.from = cfd, .to = sfd};
    pairs[slot].d[1] = (dir_t){.from = sfd, .to = cfd};
}

static void relay_loop(int lfd, int target, int delay_us)
{
    static pair_t pairs[RELAY_PAIRS];
    static struct pollfd pfd[1 + 2 * RELAY_PAIRS];
    for (;;) {
        /* poll: the listener, each direction that may read; wake for the
           next chunk due (a chunk already due: no wait at all) */
        uint64_t now = bench_now_ns(), next_due = UINT64_MAX;
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < RELAY_PAIRS; i++) {
            for (int k = 0; k < 2 && pairs[i].used; k++) {
                dir_t *d = &pairs[i].d[k];
                int reads = !d->eof && d->queued < RELAY_QUEUE_MAX;
                pfd[n++] = (struct pollfd){.fd = reads ? d->from : -1, .events = POLLIN};
                if (d->head != NULL && d->head->due_ns < next_due)
                    next_due = d->head->due_ns;
            }
        }
        struct timespec ts = {0, 0}, *tsp = NULL;
        if (next_due != UINT64_MAX) {
            uint64_t wait = next_due > now ? next_due - now : 0;
            ts.tv_sec = (time_t)(wait / 1000000000u);
            ts.tv_nsec = (long)(wait % 1000000000u);
            tsp = &ts;
        }
        if (ppoll(pfd, (nfds_t)n, tsp, NULL) == -1 && errno != EINTR)
            return;
        int j = 1;
        now = bench_now_ns();
        for (int i = 0; i < RELAY_PAIRS; i++) {
            if (!pairs[i].used)
                continue;
            int bad = 0;
            for (int k = 0; k < 2; k++, j++) {
                dir_t *d = &pairs[i].d[k];
                if (pfd[j].fd != -1 && (pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
                    bad |= dir_read(d, delay_us);
                bad |= dir_write(d, now);
            }
            if (bad || (pairs[i].d[0].eof == 2 && pairs[i].d[1].eof == 2))
                pair_close(&pairs[i]);
        }
        if (pfd[0].revents & POLLIN) /* after the pairs: their pfd slots stay aligned */
            relay_accept(pairs, lfd, target);
    }
}

int bench_relay_start(int target_port, int delay_us, bench_relay_t *r)
{
    r->pid = -1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (lfd == -1 || bind(lfd, (struct sockaddr *)&a, sizeof a) == -1 || listen(lfd, 128) == -1 ||
        getsockname(lfd, (struct sockaddr *)&a, &len) == -1) {
        perror("bench relay");
        if (lfd != -1)
            close(lfd);
        return -1;
    }
    r->port = ntohs(a.sin_port);
    pid_t pid = fork();
    if (pid == -1) {
        perror("fork");
        close(lfd);
        return -1;
    }
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        relay_loop(lfd, target_port, delay_us);
        _exit(0);
    }
    close(lfd);
    r->pid = pid;
    return 0;
}

void bench_relay_stop(bench_relay_t *r)
{
    if (r->pid <= 0)
        return;
    kill(r->pid, SIGKILL);
    while (waitpid(r->pid, NULL, 0) == -1 && errno == EINTR)
        ;
    r->pid = -1;
}
