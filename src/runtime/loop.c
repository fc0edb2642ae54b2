/*
 * tether_run(): the Lambda runtime loop.
 *
 *   signals → [extension register] → select handler → init callback
 *   loop: GET /next (interruptible by SIGTERM) → event → handler → POST answer
 *   SIGTERM: finish the event in hand, shutdown callback, close the db client,
 *   return 0.
 *
 * SIGTERM/SIGINT set a flag and write a byte to a pipe the /next wait
 * watches, so an idle instance shuts down at once, and a busy one after its
 * answer is posted.
 */
#include "runtime/loop.h"

#include "runtime/event.h"
#include "runtime/extension.h"
#include "runtime/handler.h"
#include "runtime/http.h"
#include "runtime/log.h"
#include "runtime/metrics.h"
#include "runtime/response.h"
#include "tether/tether.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void (*runtime_db_close_hook)(void);

static volatile sig_atomic_t loop_terminate;
static int64_t loop_deadline; /* see runtime_loop_deadline_ms() */
static int loop_pipe[2] = {-1, -1};

static void loop_on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    loop_terminate = 1;
    if (loop_pipe[1] != -1) {
        char c = 1;
        ssize_t w = write(loop_pipe[1], &c, 1);
        (void)w;
    }
    errno = saved;
}

/* Unix epoch milliseconds, the clock of Lambda-Runtime-Deadline-Ms. */
static int64_t loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t runtime_loop_deadline_ms(void)
{
    return loop_deadline;
}

static int loop_signals_install(void)
{
    if (loop_pipe[0] == -1 && pipe2(loop_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
        return -1;
    char drain[64]; /* a signal from an earlier run (tests run several) */
    while (read(loop_pipe[0], drain, sizeof drain) > 0)
        ;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = loop_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
        return -1;
    return 0;
}

static void loop_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !loop_terminate)
        ;
}

typedef enum loop_next_result {
    LOOP_NEXT_EVENT = 0,     /* reply holds an event */
    LOOP_NEXT_TERMINATE = 1, /* SIGTERM while waiting */
    LOOP_NEXT_FATAL = 2,     /* 500, or the Runtime API unreachable */
    LOOP_NEXT_TOO_BIG = 3,   /* the payload passed RUNTIME_MAX_EVENT; headers kept */
} loop_next_result_t;

static loop_next_result_t loop_next(runtime_http_t *http, runtime_http_reply_t *reply)
{
    runtime_http_request_t req = {.method = "GET",
                                  .path = RUNTIME_NEXT_PATH,
                                  .max_body = RUNTIME_MAX_EVENT,
                                  .interruptible = 1};
    long backoff = 10;
    for (int attempt = 0; attempt < RUNTIME_NEXT_ATTEMPTS; attempt++) {
        if (loop_terminate)
            return LOOP_NEXT_TERMINATE;
        int rc = runtime_http_do(http, &req, reply);
        if (rc == RUNTIME_HTTP_EINTERRUPTED)
            return LOOP_NEXT_TERMINATE;
        if (rc == RUNTIME_HTTP_ETOOBIG)
            return LOOP_NEXT_TOO_BIG;
        if (rc == 0 && reply->status == 200)
            return LOOP_NEXT_EVENT;
        if (rc == 0 && reply->status >= 500) {
            runtime_log_error("/next: the Runtime API answered %ld: exiting", reply->status);
            return LOOP_NEXT_FATAL;
        }
        if (rc == 0)
            runtime_log_warn("/next: unexpected status %ld; retrying", reply->status);
        else
            runtime_log_warn("/next: Runtime API unreachable; retrying in %ld ms", backoff);
        loop_sleep_ms(backoff);
        backoff = backoff * 3 > 1000 ? 1000 : backoff * 3;
    }
    runtime_log_error("/next: giving up after %d attempts: exiting", RUNTIME_NEXT_ATTEMPTS);
    return LOOP_NEXT_FATAL;
}

/* One event: build it, run the handler, post the answer. 0, or 1 when fatal. */
static int loop_serve(runtime_http_t *http, runtime_http_reply_t *reply, tether_handler_fn fn,
                      void *user)
{
    tether_event_t ev;
    int rc = runtime_event_from_reply(reply, &ev);
    if (rc == RUNTIME_EVENT_ENOID) {
        runtime_log_error("/next: reply without Lambda-Runtime-Aws-Request-Id: skipped");
        return 0;
    }
    if (rc == RUNTIME_EVENT_EBADID) {
        runtime_log_error("/next: unusable Lambda-Runtime-Aws-Request-Id: skipped");
        return 0;
    }
    runtime_event_export_trace(&ev);
    runtime_log_debug("event %s: %zu bytes", ev.request_id, ev.payload_len);
    tether_response_t res;
    runtime_response_init(&res, http, ev.request_id);
    loop_deadline = ev.deadline_ms;
    runtime_metrics_invocation_start();
    int hrc = fn(&ev, &res, user);
    runtime_metrics_invocation_end(ev.request_id); /* before the post: in the log tail */
    loop_deadline = 0;
    runtime_post_result_t pr = runtime_response_post(&res, hrc, loop_terminate == 0);
    runtime_response_free(&res);
    return pr == RUNTIME_POST_FATAL ? 1 : 0;
}

static void loop_shutdown(const tether_config_t *cfg, void *user)
{
    runtime_log_info("SIGTERM: shutting down");
    if (cfg->shutdown != NULL)
        cfg->shutdown(user);
    if (runtime_db_close_hook != NULL)
        runtime_db_close_hook();
}

int tether_run(const tether_config_t *cfg)
{
    runtime_log_init();
    runtime_metrics_init();
    if (cfg == NULL) {
        runtime_log_error("tether_run: no configuration");
        return 1;
    }
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (api == NULL || api[0] == '\0' || strpbrk(api, "/ \r\n") != NULL) {
        runtime_log_error("AWS_LAMBDA_RUNTIME_API is not set (or not host:port): this program "
                          "runs under AWS Lambda or tether up");
        return 1;
    }
    loop_terminate = 0;
    int status = 1;
    void *user = NULL;
    tether_error_t err;
    runtime_error_init(&err);
    runtime_http_t *http = NULL;
    runtime_http_reply_t reply;
    runtime_http_reply_init(&reply, RUNTIME_MAX_EVENT);
    if (loop_signals_install() != 0) {
        runtime_log_error("cannot install the SIGTERM handler: %s", strerror(errno));
        goto out;
    }
    http = runtime_http_new(api, loop_pipe[0]);
    if (http == NULL) {
        runtime_log_error("out of memory creating the Runtime API client");
        goto out;
    }
    if (cfg->shutdown != NULL)
        (void)runtime_extension_start(api);

    char msg[512];
    tether_handler_fn fn = runtime_handler_select(cfg, getenv("_HANDLER"), msg, sizeof msg);
    if (fn == NULL) {
        runtime_log_error("init: %s", msg);
        (void)runtime_post_init_error(http, "Runtime.HandlerNotFound", msg);
        goto out;
    }
    if (cfg->init != NULL) {
        loop_deadline = loop_now_ms() + RUNTIME_INIT_LIMIT_MS;
        int irc = cfg->init(&user, &err);
        loop_deadline = 0;
        if (irc != 0) {
            const char *type = err.type ? err.type : "InitError";
            char generic[64];
            snprintf(generic, sizeof generic, "init callback returned %d", irc);
            const char *m = err.message ? err.message : generic;
            runtime_log_error("init failed: %s: %s", type, m);
            (void)runtime_post_init_error(http, type, m);
            goto out;
        }
    }
    runtime_metrics_init_done();
    runtime_log_info("init done; serving events");

    for (;;) {
        loop_next_result_t nr = loop_next(http, &reply);
        if (nr == LOOP_NEXT_TERMINATE) {
            loop_shutdown(cfg, user);
            status = 0;
            goto out;
        }
        if (nr == LOOP_NEXT_FATAL)
            goto out;
        if (nr == LOOP_NEXT_TOO_BIG) {
            const char *id = runtime_http_reply_header(&reply, "Lambda-Runtime-Aws-Request-Id");
            if (id != NULL && runtime_event_id_ok(id) &&
                runtime_post_invocation_error(http, id, "Runtime.RequestTooLarge",
                                              "the event payload is over the runtime's limit") ==
                    RUNTIME_POST_FATAL)
                goto out;
            continue;
        }
        if (loop_serve(http, &reply, fn, user) != 0)
            goto out;
        if (loop_terminate) {
            loop_shutdown(cfg, user);
            status = 0;
            goto out;
        }
    }
out:
    runtime_http_reply_free(&reply);
    runtime_http_free(http);
    runtime_error_free(&err);
    return status;
}

int tether_run_handler(tether_handler_fn handler)
{
    tether_config_t cfg = {.handler = handler};
    return tether_run(&cfg);
}
