/*
 * The runtime's lifecycle in one bootstrap, one logical function per feature:
 *
 *   lifecycle.info      {"pid", "inits", "invocations", "request_id", "arn", "trace"}:
 *                       cold vs warm (inits stays 1, invocations grows)
 *   lifecycle.deadline  {"remaining_ms": N}: tether_remaining_ms()
 *   lifecycle.fail      a handled error with errorType, message and a stack trace
 *   lifecycle.stream    a streamed response, written in parts
 *   lifecycle.work      loops until 200 ms before the deadline, then answers
 *
 * Init fails (posted to /runtime/init/error) when LIFECYCLE_INIT_FAIL is set.
 * The shutdown callback appends "shutdown PID" to $LIFECYCLE_SHUTDOWN_FILE.
 */
#include <tether/tether.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct lifecycle_state {
    int inits;        /* how many times init ran in this process: always 1 */
    long invocations; /* events served by this process */
} lifecycle_state_t;

static lifecycle_state_t state;

static int lifecycle_init(void **user, tether_error_t *err)
{
    const char *fail = getenv("LIFECYCLE_INIT_FAIL");
    if (fail != NULL && fail[0] != '\0') {
        tether_error_set(err, "LifecycleInitError", "init refused: %s", fail);
        return -1;
    }
    state.inits++;
    *user = &state;
    return 0;
}

static void lifecycle_shutdown(void *user)
{
    lifecycle_state_t *st = user;
    const char *path = getenv("LIFECYCLE_SHUTDOWN_FILE");
    if (path == NULL)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1)
        return;
    char line[96];
    int n = snprintf(line, sizeof line, "shutdown %d after %ld invocations\n", (int)getpid(),
                     st ? st->invocations : -1L);
    if (write(fd, line, (size_t)n) != n)
        perror("lifecycle: shutdown file");
    close(fd);
}

static int lifecycle_info(const tether_event_t *ev, tether_response_t *res, void *user)
{
    lifecycle_state_t *st = user;
    st->invocations++;
    const char *trace = getenv("_X_AMZN_TRACE_ID");
    return tether_response_printf(res,
                                  "{\"pid\":%d,\"inits\":%d,\"invocations\":%ld,"
                                  "\"request_id\":\"%s\",\"arn\":\"%s\",\"trace\":\"%s\"}",
                                  (int)getpid(), st->inits, st->invocations, ev->request_id,
                                  ev->invoked_function_arn, trace ? trace : "");
}

static int lifecycle_deadline(const tether_event_t *ev, tether_response_t *res, void *user)
{
    ((lifecycle_state_t *)user)->invocations++;
    return tether_response_printf(res, "{\"remaining_ms\":%lld}",
                                  (long long)tether_remaining_ms(ev));
}

static int lifecycle_fail(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)ev;
    ((lifecycle_state_t *)user)->invocations++;
    (void)tether_response_error_frame(res, "lifecycle.c: lifecycle_fail");
    (void)tether_response_error_frame(res, "libtether: tether_run");
    return tether_response_error(res, "LifecycleError", "failed on purpose");
}

static int lifecycle_stream(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)ev;
    ((lifecycle_state_t *)user)->invocations++;
    int rc = tether_stream_begin(res, "text/plain");
    for (int i = 0; rc == 0 && i < 5; i++) {
        char part[32];
        int n = snprintf(part, sizeof part, "part %d\n", i);
        rc = tether_stream_write(res, part, (size_t)n);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return rc;
}

static int lifecycle_work(const tether_event_t *ev, tether_response_t *res, void *user)
{
    ((lifecycle_state_t *)user)->invocations++;
    long rounds = 0;
    while (tether_remaining_ms(ev) > 200) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        rounds++;
    }
    return tether_response_printf(res, "{\"rounds\":%ld,\"remaining_ms\":%lld}", rounds,
                                  (long long)tether_remaining_ms(ev));
}

int main(void)
{
    static const tether_handler_t handlers[] = {
        {"lifecycle.info", lifecycle_info}, {"lifecycle.deadline", lifecycle_deadline},
        {"lifecycle.fail", lifecycle_fail}, {"lifecycle.stream", lifecycle_stream},
        {"lifecycle.work", lifecycle_work},
    };
    static const tether_config_t config = {
        .init = lifecycle_init,
        .shutdown = lifecycle_shutdown,
        .handlers = handlers,
        .n_handlers = sizeof handlers / sizeof handlers[0],
    };
    return tether_run(&config);
}
