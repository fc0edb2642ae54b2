/*
 * The docstore on its own thread (db_thread.h).
 */
#include "docstore/net/db_thread.h"

#include "common/log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct docstore_thread {
    struct event_base *base;   /* the docstore's own; only the docstore thread runs it */
    docstore_server_t *server; /* built and freed on the caller's thread */
    struct event *stop_ev;     /* reads stop_pipe[0] on the docstore thread */
    int stop_pipe[2];          /* docstore_thread_stop writes a byte to [1] */
    int port;                  /* fixed before the thread starts */
    pthread_t thread;          /* runs the loop */
    bool started;              /* thread is joinable */
};

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct docstore_thread *t = arg;
    event_base_loopbreak(t->base);
}

static void *loop_main(void *arg)
{
    struct docstore_thread *t = arg;
    if (event_base_dispatch(t->base) == -1)
        log_error("docstore", "the docstore's event loop failed");
    return NULL;
}

static void thread_free(docstore_thread_t *t)
{
    if (t->server != NULL)
        docstore_server_free(t->server);
    if (t->stop_ev != NULL)
        event_free(t->stop_ev);
    for (int i = 0; i < 2; i++)
        if (t->stop_pipe[i] != -1)
            close(t->stop_pipe[i]);
    if (t->base != NULL)
        event_base_free(t->base);
    free(t);
}

int docstore_thread_start(const docstore_config_t *cfg, docstore_thread_t **out)
{
    *out = NULL;
    docstore_thread_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        log_error("docstore", "out of memory starting the docstore");
        return -1;
    }
    t->stop_pipe[0] = t->stop_pipe[1] = -1;
    t->base = event_base_new();
    if (t->base == NULL) {
        log_error("docstore", "cannot create the docstore's event base");
        goto fail;
    }
    if (pipe2(t->stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
        log_error("docstore", "cannot create the docstore's stop pipe: %s", strerror(errno));
        goto fail;
    }
    t->stop_ev = event_new(t->base, t->stop_pipe[0], EV_READ, stop_cb, t);
    if (t->stop_ev == NULL || event_add(t->stop_ev, NULL) != 0) {
        log_error("docstore", "cannot watch the docstore's stop pipe");
        goto fail;
    }
    if (docstore_server_new(t->base, cfg, &t->server) != 0) {
        t->server = NULL;
        goto fail;
    }
    t->port = docstore_server_port(t->server);
    /* The docstore thread takes no signals: they are the platform's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&t->thread, NULL, loop_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_error("docstore", "cannot start the docstore thread: %s", strerror(rc));
        goto fail;
    }
    t->started = true;
    *out = t;
    return 0;
fail:
    thread_free(t);
    return -1;
}

int docstore_thread_port(const docstore_thread_t *t)
{
    return t->port;
}

size_t docstore_thread_peers(docstore_thread_t *t, docstore_peer_t *out, size_t max)
{
    return docstore_server_peers(t->server, out, max);
}

void docstore_thread_stop(docstore_thread_t *t)
{
    if (t == NULL)
        return;
    if (t->started) {
        ssize_t n;
        do
            n = write(t->stop_pipe[1], "x", 1);
        while (n == -1 && errno == EINTR);
        /* The pipe is empty until now, so the byte fits. */
        pthread_join(t->thread, NULL);
    }
    thread_free(t);
}
