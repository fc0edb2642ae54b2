/* The no-op internal extension that opts in to SIGTERM (see extension.h). */
#include "runtime/extension.h"

#include "runtime/http.h"
#include "runtime/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXT_MAX_FAILURES 5

typedef struct ext_state {
    runtime_http_t *http;
    char id_header[256]; /* "Lambda-Extension-Identifier: ..." */
} ext_state_t;

static void *ext_thread(void *arg)
{
    ext_state_t *st = arg;
    const char *headers[] = {st->id_header, NULL};
    runtime_http_reply_t reply;
    runtime_http_reply_init(&reply, 64 * 1024);
    runtime_http_request_t req = {.method = "GET",
                                  .path = "/2020-01-01/extension/event/next",
                                  .headers = headers,
                                  .max_body = 64 * 1024};
    int failures = 0;
    while (failures < EXT_MAX_FAILURES) {
        int rc = runtime_http_do(st->http, &req, &reply);
        if (rc == 0 && reply.status == 200) {
            failures = 0; /* an event we did not ask for (SHUTDOWN): nothing to do */
            continue;
        }
        if (rc == 0 && reply.status >= 400 && reply.status < 500) {
            runtime_log_debug("extension: event/next answered %ld: stopping", reply.status);
            break;
        }
        failures++;
        struct timespec ts = {0, 100L * 1000 * 1000 * failures};
        nanosleep(&ts, NULL);
    }
    runtime_http_reply_free(&reply);
    runtime_http_free(st->http);
    free(st);
    return NULL;
}

int runtime_extension_start(const char *host_port)
{
    ext_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return -1;
    st->http = runtime_http_new(host_port, -1);
    static const char *const headers[] = {"Lambda-Extension-Name: " RUNTIME_EXTENSION_NAME,
                                          "Content-Type: application/json", NULL};
    runtime_http_reply_t reply;
    runtime_http_reply_init(&reply, 64 * 1024);
    int ok = 0;
    if (st->http != NULL) {
        static const char body[] = "{\"events\":[]}";
        runtime_http_request_t req = {.method = "POST",
                                      .path = "/2020-01-01/extension/register",
                                      .headers = headers,
                                      .body = body,
                                      .body_len = sizeof body - 1,
                                      .max_body = 64 * 1024};
        int rc = runtime_http_do(st->http, &req, &reply);
        const char *id = runtime_http_reply_header(&reply, "Lambda-Extension-Identifier");
        if (rc == 0 && reply.status == 200 && id != NULL && strpbrk(id, "\r\n") == NULL) {
            snprintf(st->id_header, sizeof st->id_header, "Lambda-Extension-Identifier: %s", id);
            ok = 1;
        } else {
            runtime_log_info("extension: registration failed (status %ld): SIGTERM may not be "
                             "delivered before shutdown",
                             rc == 0 ? reply.status : 0L);
        }
    }
    runtime_http_reply_free(&reply);
    if (!ok)
        goto fail;
    /* the thread must never take SIGTERM: the main thread's handler drives shutdown */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t tid;
    int prc = pthread_create(&tid, &attr, ext_thread, st);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0)
        goto fail;
    runtime_log_debug("extension: registered");
    return 0;
fail:
    runtime_http_free(st->http);
    free(st);
    return -1;
}
