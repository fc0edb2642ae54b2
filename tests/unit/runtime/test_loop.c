/*
 * The runtime loop against a scripted Runtime API (script_server.h): events,
 * headers split at the first colon, responses, errors, 413, 400, malformed
 * headers, a dropped /next, init errors, unknown _HANDLER, streaming with and
 * without a trailer error, SIGTERM, and 500 → tether_run returns 1.
 */
#include "harness.h"
#include "runtime/loop.h"
#include "script_server.h"
#include "tether/tether.h"

#include <signal.h>
#include <sys/time.h>

#define ARN "arn:aws:lambda:us-east-1:123456789012:function:echo"

static char event_buf[20][1024];
static int n_event_buf;

/* A raw 200 reply to /next with the given request id and body. */
static const char *next_reply(const char *id, const char *body, const char *extra_headers)
{
    char *out = event_buf[n_event_buf++];
    snprintf(out, sizeof event_buf[0],
             "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: %s\r\n"
             "Lambda-Runtime-Deadline-Ms: 4102444800000\r\n"
             "Lambda-Runtime-Invoked-Function-Arn: " ARN "\r\n"
             "Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\r\n"
             "%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             id, extra_headers ? extra_headers : "", strlen(body), body);
    return out;
}

#define NEXT_PATH "/2018-06-01/runtime/invocation/next"

/* Waits (up to 5 s) until the server has recorded n requests; returns how
 * many it has. The GET /next that an answer's POST carries behind it is read
 * by the server whether or not the runtime then reads its reply. */
static int wait_records(ss_server_t *srv, int n)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&srv->mu);
        int have = srv->n_records;
        pthread_mutex_unlock(&srv->mu);
        if (have >= n)
            return have;
        usleep(10 * 1000);
    }
    return srv->n_records;
}

#define ACCEPTED "HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n"

static char seen_arn[256], seen_trace_env[256], seen_cc[256], seen_ci[256];
static int64_t seen_remaining;
static int shutdown_calls;

static int echo(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)user;
    snprintf(seen_arn, sizeof seen_arn, "%s", ev->invoked_function_arn);
    const char *t = getenv("_X_AMZN_TRACE_ID");
    snprintf(seen_trace_env, sizeof seen_trace_env, "%s", t ? t : "(unset)");
    snprintf(seen_cc, sizeof seen_cc, "%s", ev->client_context ? ev->client_context : "(null)");
    snprintf(seen_ci, sizeof seen_ci, "%s", ev->cognito_identity ? ev->cognito_identity : "(null)");
    seen_remaining = tether_remaining_ms(ev);
    return tether_response_set(res, ev->payload, ev->payload_len);
}

static void reset(ss_server_t *srv)
{
    n_event_buf = 0;
    seen_arn[0] = seen_trace_env[0] = seen_cc[0] = seen_ci[0] = '\0';
    shutdown_calls = 0;
    unsetenv("_HANDLER");
    ss_start(srv);
}

static void test_echo_and_headers(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("r1", "{\"a\":1}",
                            "Lambda-Runtime-Client-Context: {\"custom\":{\"k\":\"v:w\"}}\r\n"
                            "Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\":\"x\"}\r\n"));
    ss_add(&srv, ACCEPTED);
    ss_add(&srv, next_reply("r2", "second", NULL));
    ss_add(&srv, ACCEPTED);
    int rc = tether_run_handler(echo); /* the script ends with a 500 */
    CHECK_INT(rc, 1);
    CHECK_INT(srv.n_records, 5);
    CHECK_STR(srv.records[0].method, "GET");
    CHECK_STR(srv.records[0].path, "/2018-06-01/runtime/invocation/next");
    CHECK_STR(srv.records[1].method, "POST");
    CHECK_STR(srv.records[1].path, "/2018-06-01/runtime/invocation/r1/response");
    CHECK_STR(srv.records[1].body, "{\"a\":1}");
    CHECK_STR(srv.records[3].path, "/2018-06-01/runtime/invocation/r2/response");
    CHECK_STR(srv.records[3].body, "second");
    CHECK_STR(seen_arn, ARN); /* split at the first colon only */
    CHECK_STR(seen_trace_env, "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
    CHECK_STR(seen_cc, "(null)"); /* the second event had none */
    CHECK(seen_remaining > 1000LL * 3600 * 24 * 365);
    ss_stop(&srv);
}

static void test_client_context(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv,
           next_reply("r1", "{}",
                      "Lambda-Runtime-Client-Context: {\"custom\":{\"k\":\"v:w\"}}\r\n"
                      "Lambda-Runtime-Cognito-Identity:   {\"cognitoIdentityId\":\"x\"}  \r\n"));
    ss_add(&srv, ACCEPTED);
    CHECK_INT(tether_run_handler(echo), 1);
    CHECK_STR(seen_cc, "{\"custom\":{\"k\":\"v:w\"}}");
    CHECK_STR(seen_ci, "{\"cognitoIdentityId\":\"x\"}");
    ss_stop(&srv);
}

static int failing(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)ev;
    (void)user;
    CHECK_INT(tether_response_error_frame(res, "orders.c:42 create_order"), 0);
    return tether_response_error(res, "OrderRejected", "order %d: \"bad\"\n", 7);
}

static void test_handler_error(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("e1", "{}", NULL));
    ss_add(&srv, ACCEPTED);
    CHECK_INT(tether_run_handler(failing), 1);
    CHECK_INT(srv.n_records, 3);
    CHECK_STR(srv.records[1].path, "/2018-06-01/runtime/invocation/e1/error");
    char v[256];
    CHECK_STR(ss_header(&srv.records[1], "Lambda-Runtime-Function-Error-Type", v, sizeof v),
              "OrderRejected");
    CHECK_STR(srv.records[1].body,
              "{\"errorMessage\":\"order 7: \\\"bad\\\"\\n\",\"errorType\":"
              "\"OrderRejected\",\"stackTrace\":[\"orders.c:42 create_order\"]}");
    ss_stop(&srv);
}

static int returns_three(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)ev;
    (void)res;
    (void)user;
    return 3;
}

static void test_handler_generic_error(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("g1", "{}", NULL));
    ss_add(&srv, ACCEPTED);
    CHECK_INT(tether_run_handler(returns_three), 1);
    char v[256];
    CHECK_STR(ss_header(&srv.records[1], "Lambda-Runtime-Function-Error-Type", v, sizeof v),
              "HandlerError");
    CHECK(strstr(srv.records[1].body, "handler returned 3") != NULL);
    ss_stop(&srv);
}

static void test_413_becomes_error(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("big", "x", NULL));
    ss_add(&srv, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\n\r\n");
    /* the GET /next sent behind the answer, and the error posted on a
     * connection of its own, in whichever order the server reads them */
    ss_add(&srv, ACCEPTED);
    ss_add(&srv, ACCEPTED);
    CHECK_INT(tether_run_handler(echo), 1);
    CHECK_INT(wait_records(&srv, 5), 5);
    CHECK_STR(srv.records[1].path, "/2018-06-01/runtime/invocation/big/response");
    int err = strcmp(srv.records[2].path, NEXT_PATH) == 0 ? 3 : 2;
    CHECK_STR(srv.records[5 - err].path, NEXT_PATH); /* the pipelined one */
    CHECK_STR(srv.records[err].path, "/2018-06-01/runtime/invocation/big/error");
    char v[256];
    CHECK_STR(ss_header(&srv.records[err], "Lambda-Runtime-Function-Error-Type", v, sizeof v),
              "Function.ResponseSizeTooLarge");
    CHECK_STR(srv.records[4].path, NEXT_PATH); /* its 202 was not an event: asked again */
    ss_stop(&srv);
}

static int too_big(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)ev;
    (void)user;
    static char chunk[1024 * 1024];
    int rc = 0;
    for (int i = 0; i < 6 && rc == 0; i++)
        rc = tether_response_append(res, chunk, sizeof chunk);
    CHECK_INT(rc, 0);
    CHECK_INT(tether_response_append(res, "x", 1), TETHER_ERR_TOOBIG);
    CHECK_INT(tether_response_set(res, "ok", 2), 0);
    return 0;
}

static void test_response_cap(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("cap", "x", NULL));
    ss_add(&srv, ACCEPTED);
    CHECK_INT(tether_run_handler(too_big), 1);
    CHECK_STR(srv.records[1].body, "ok");
    ss_stop(&srv);
}

static void test_400_goes_on(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("gone", "1", NULL));
    ss_add(&srv, "HTTP/1.1 400 Bad Request\r\nLambda-Runtime-Function-Error-Type: "
                 "InvalidRequestID\r\nContent-Length: 53\r\n\r\n"
                 "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"x\"}");
    ss_add(&srv, next_reply("ok", "2", NULL));
    ss_add(&srv, ACCEPTED);
    CHECK_INT(tether_run_handler(echo), 1);
    CHECK_INT(srv.n_records, 5);
    CHECK_STR(srv.records[3].path, "/2018-06-01/runtime/invocation/ok/response");
    ss_stop(&srv);
}

static void test_malformed_headers(void)
{
    ss_server_t srv;
    reset(&srv);
    /* a header line without a colon is ignored; values are trimmed */
    ss_add(&srv, "HTTP/1.1 200 OK\r\nthis line has no colon\r\n"
                 "Lambda-Runtime-Aws-Request-Id:m1\r\n"
                 "Lambda-Runtime-Deadline-Ms: not-a-number\r\n"
                 "Lambda-Runtime-Invoked-Function-Arn:   " ARN "   \r\n"
                 "Content-Length: 2\r\n\r\nhi");
    ss_add(&srv, ACCEPTED);
    /* an id that must not be pasted into a path: skipped */
    ss_add(&srv, "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: ../../x\r\n"
                 "Content-Length: 0\r\n\r\n");
    /* no id at all: skipped */
    ss_add(&srv, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    CHECK_INT(tether_run_handler(echo), 1);
    CHECK_INT(srv.n_records, 5);
    CHECK_STR(srv.records[1].path, "/2018-06-01/runtime/invocation/m1/response");
    CHECK_STR(srv.records[1].body, "hi");
    CHECK_STR(seen_arn, ARN);
    CHECK(seen_remaining < 0); /* no usable deadline */
    CHECK_STR(seen_trace_env, "(unset)");
    CHECK_STR(srv.records[2].path, "/2018-06-01/runtime/invocation/next");
    CHECK_STR(srv.records[3].path, "/2018-06-01/runtime/invocation/next");
    ss_stop(&srv);
}

static void test_dropped_next(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, SS_CLOSE);
    ss_add(&srv, "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: d1\r\nContent-Length: 100\r\n"
                 "\r\ntruncated"); /* fewer bytes than promised, then... */
    ss_add(&srv, next_reply("d2", "ok", NULL));
    ss_add(&srv, ACCEPTED);
    /* the truncated reply stalls until the next request's connection; use a
       dropped one instead for step 2 */
    srv.steps[1] = SS_CLOSE;
    CHECK_INT(tether_run_handler(echo), 1);
    CHECK_INT(srv.n_records, 5);
    CHECK_STR(srv.records[3].path, "/2018-06-01/runtime/invocation/d2/response");
    ss_stop(&srv);
}

static void test_http_framing(void)
{
    ss_server_t srv;
    reset(&srv);
    /* a chunked event */
    ss_add(&srv,
           "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: c1\r\n"
           "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-T: 1\r\n\r\n");
    /* 100 Continue before the real answer */
    ss_add(&srv, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    /* no length: the body runs to the close */
    ss_add(&srv, SS_THEN_CLOSE "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: c2\r\n"
                               "Connection: close\r\n\r\nxyz");
    /* answered, then the kept connection is closed: the next request reconnects */
    ss_add(&srv, SS_THEN_CLOSE ACCEPTED);
    /* a reply that is not HTTP: /next is retried */
    ss_add(&srv, SS_THEN_CLOSE "XTTP/9 what\r\n\r\n");
    ss_add(&srv, next_reply("c3", "ok", NULL));
    ss_add(&srv, ACCEPTED);
    CHECK_INT(tether_run_handler(echo), 1);
    CHECK_INT(srv.n_records, 8);
    CHECK_STR(srv.records[1].path, "/2018-06-01/runtime/invocation/c1/response");
    CHECK_STR(srv.records[1].body, "abcde");
    CHECK_STR(srv.records[3].path, "/2018-06-01/runtime/invocation/c2/response");
    CHECK_STR(srv.records[3].body, "xyz");
    CHECK_STR(srv.records[6].path, "/2018-06-01/runtime/invocation/c3/response");
    char v[64];
    CHECK_STR(ss_header(&srv.records[1], "Content-Length", v, sizeof v), "5");
    CHECK_STR(ss_header(&srv.records[0], "Host", v, sizeof v), getenv("AWS_LAMBDA_RUNTIME_API"));
    ss_stop(&srv);
}

static void test_other_statuses(void)
{
    ss_server_t srv;
    reset(&srv);
    /* an unexpected status on /next: retried after a backoff */
    ss_add(&srv, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    ss_add(&srv, next_reply("o1", "a", NULL));
    /* 403 on the answer: logged, the loop goes on */
    ss_add(&srv, "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}");
    ss_add(&srv, next_reply("o2", "b", NULL));
    /* 502 on the answer: fatal, as any 5xx */
    ss_add(&srv, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    ss_add(&srv, next_reply("never", "c", NULL));
    CHECK_INT(tether_run_handler(echo), 1);
    /* the last answer's POST carried GET /next behind it; nothing after */
    CHECK_INT(wait_records(&srv, 6), 6);
    CHECK_STR(srv.records[2].path, "/2018-06-01/runtime/invocation/o1/response");
    CHECK_STR(srv.records[4].path, "/2018-06-01/runtime/invocation/o2/response");
    CHECK_STR(srv.records[5].path, NEXT_PATH);
    ss_stop(&srv);
}

static void test_500_on_next(void)
{
    ss_server_t srv;
    reset(&srv);
    CHECK_INT(tether_run_handler(echo), 1);
    CHECK_INT(srv.n_records, 1);
    ss_stop(&srv);
}

static void test_500_on_response(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("f1", "x", NULL));
    ss_add(&srv, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
    ss_add(&srv, next_reply("never", "x", NULL));
    CHECK_INT(tether_run_handler(echo), 1);
    /* the answer's POST carried GET /next behind it; nothing after */
    CHECK_INT(wait_records(&srv, 3), 3);
    CHECK_STR(srv.records[2].path, NEXT_PATH);
    ss_stop(&srv);
}

static int init_fails(void **user, tether_error_t *err)
{
    (void)user;
    tether_error_set(err, "DatabaseDown", "cannot reach %s", "the database");
    return -1;
}

static void test_init_error(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, ACCEPTED);
    tether_config_t cfg = {.init = init_fails, .handler = echo};
    CHECK_INT(tether_run(&cfg), 1);
    CHECK_INT(srv.n_records, 1);
    CHECK_STR(srv.records[0].path, "/2018-06-01/runtime/init/error");
    char v[256];
    CHECK_STR(ss_header(&srv.records[0], "Lambda-Runtime-Function-Error-Type", v, sizeof v),
              "DatabaseDown");
    CHECK_STR(srv.records[0].body,
              "{\"errorMessage\":\"cannot reach the database\",\"errorType\":\"DatabaseDown\","
              "\"stackTrace\":[]}");
    ss_stop(&srv);
}

static int hello(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)ev;
    return tether_response_printf(res, "hello %s", (const char *)user);
}

/* runtime_loop_deadline_ms(), which bounds the managed client's timeouts:
 * init's 10 s while the init callback runs, the event's deadline while the
 * handler runs, 0 between. */
static int64_t seen_init_left, seen_event_deadline;

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int init_sees_deadline(void **user, tether_error_t *err)
{
    (void)user;
    (void)err;
    seen_init_left = runtime_loop_deadline_ms() - now_ms();
    return 0;
}

static int handler_sees_deadline(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)user;
    seen_event_deadline = runtime_loop_deadline_ms() == ev->deadline_ms ? ev->deadline_ms : -1;
    return tether_response_set(res, "{}", 2);
}

static void test_phase_deadline(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("r1", "{}", NULL));
    ss_add(&srv, ACCEPTED);
    CHECK_INT(runtime_loop_deadline_ms(), 0);
    tether_config_t cfg = {.init = init_sees_deadline, .handler = handler_sees_deadline};
    CHECK_INT(tether_run(&cfg), 1); /* the script ends with a 500 */
    CHECK(seen_init_left > RUNTIME_INIT_LIMIT_MS - 1000 && seen_init_left <= RUNTIME_INIT_LIMIT_MS);
    CHECK_INT(seen_event_deadline, 4102444800000LL); /* next_reply's */
    CHECK_INT(runtime_loop_deadline_ms(), 0);
    ss_stop(&srv);
}

static void test_unknown_handler(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, ACCEPTED);
    setenv("_HANDLER", "orders.delete", 1);
    static const tether_handler_t table[] = {
        {"orders.create", hello}, {"orders.get", hello}, {"orders.list", hello}};
    tether_config_t cfg = {.handlers = table, .n_handlers = 3};
    CHECK_INT(tether_run(&cfg), 1);
    CHECK_INT(srv.n_records, 1);
    CHECK_STR(srv.records[0].path, "/2018-06-01/runtime/init/error");
    char v[256];
    CHECK_STR(ss_header(&srv.records[0], "Lambda-Runtime-Function-Error-Type", v, sizeof v),
              "Runtime.HandlerNotFound");
    CHECK(strstr(srv.records[0].body,
                 "handler 'orders.delete' not found; this bootstrap has: orders.create, "
                 "orders.get, orders.list") != NULL);
    ss_stop(&srv);
}

static int init_ok(void **user, tether_error_t *err)
{
    (void)err;
    static char from_init[] = "from init";
    *user = from_init;
    return 0;
}

static void on_shutdown(void *user)
{
    CHECK_STR((const char *)user, "from init");
    shutdown_calls++;
}

static int hello_then_term(const tether_event_t *ev, tether_response_t *res, void *user)
{
    raise(SIGTERM); /* the event in hand is still answered */
    return hello(ev, res, user);
}

static void test_table_and_sigterm(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("t1", "x", NULL));
    ss_add(&srv, ACCEPTED);
    ss_add(&srv, next_reply("t2", "x", NULL));
    ss_add(&srv, ACCEPTED);
    setenv("_HANDLER", "orders.get", 1);
    static const tether_handler_t table[] = {{"orders.create", hello},
                                             {"orders.get", hello_then_term}};
    tether_config_t cfg = {
        .init = init_ok, .shutdown = on_shutdown, .handlers = table, .n_handlers = 2};
    CHECK_INT(tether_run(&cfg), 0);
    CHECK_INT(shutdown_calls, 1);
    CHECK_INT(srv.n_records, 2);
    CHECK_STR(srv.records[1].path, "/2018-06-01/runtime/invocation/t1/response");
    CHECK_STR(srv.records[1].body, "hello from init");
    CHECK_INT(srv.extension_registers, 1);
    /* the extension's thread holds /extension/event/next open, as AWS requires */
    for (int i = 0; i < 200 && srv.extension_nexts == 0; i++)
        usleep(10 * 1000);
    CHECK_INT(srv.extension_nexts, 1);
    ss_stop(&srv);
}

static void *term_later(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    kill(getpid(), SIGTERM);
    return NULL;
}

static void test_sigterm_while_idle(void)
{
    ss_server_t srv;
    reset(&srv);
    /* /next is never answered: the step drops nothing, it just holds */
    ss_add(&srv, "HTTP/1.1 200 OK\r\n"); /* an incomplete reply: /next stays pending */
    tether_config_t cfg = {.init = init_ok, .shutdown = on_shutdown, .handler = hello};
    pthread_t t;
    pthread_create(&t, NULL, term_later, NULL);
    struct timeval a, b;
    gettimeofday(&a, NULL);
    CHECK_INT(tether_run(&cfg), 0);
    gettimeofday(&b, NULL);
    pthread_join(t, NULL);
    CHECK_INT(shutdown_calls, 1);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_usec - a.tv_usec) / 1000;
    CHECK(ms < 1500);
    ss_stop(&srv);
}

static int streamer(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)ev;
    (void)user;
    int rc = tether_stream_begin(res, "text/plain");
    for (int i = 0; rc == 0 && i < 3; i++) {
        char line[32];
        snprintf(line, sizeof line, "part %d\n", i);
        rc = tether_stream_write(res, line, strlen(line));
    }
    CHECK_INT(tether_response_set(res, "x", 1), TETHER_ERR_STATE);
    return rc;
}

static int stream_then_fail(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)ev;
    (void)user;
    if (tether_stream_begin(res, NULL) != 0 || tether_stream_write(res, "half", 4) != 0)
        return -1;
    return tether_response_error(res, "StreamBroke", "after %d bytes", 4);
}

static void test_streaming(void)
{
    ss_server_t srv;
    reset(&srv);
    ss_add(&srv, next_reply("s1", "x", NULL));
    ss_add(&srv, ACCEPTED);
    CHECK_INT(tether_run_handler(streamer), 1);
    CHECK_INT(srv.n_records, 3);
    CHECK_STR(srv.records[1].path, "/2018-06-01/runtime/invocation/s1/response");
    CHECK_STR(srv.records[1].body, "part 0\npart 1\npart 2\n");
    char v[256];
    CHECK_STR(ss_header(&srv.records[1], "Lambda-Runtime-Function-Response-Mode", v, sizeof v),
              "streaming");
    CHECK_STR(ss_header(&srv.records[1], "Transfer-Encoding", v, sizeof v), "chunked");
    CHECK_STR(ss_header(&srv.records[1], "Content-Type", v, sizeof v), "text/plain");
    CHECK_STR(srv.records[1].trailers, "");
    ss_stop(&srv);

    reset(&srv);
    ss_add(&srv, next_reply("s2", "x", NULL));
    ss_add(&srv, ACCEPTED);
    CHECK_INT(tether_run_handler(stream_then_fail), 1);
    CHECK_STR(srv.records[1].body, "half");
    CHECK(strstr(srv.records[1].trailers, "Lambda-Runtime-Function-Error-Type: StreamBroke\r\n") !=
          NULL);
    /* base64 of {"errorMessage":"after 4 bytes",... starts with eyJlcnJvck1lc3NhZ2UiOi */
    CHECK(strstr(srv.records[1].trailers,
                 "Lambda-Runtime-Function-Error-Body: eyJlcnJvck1lc3NhZ2Ui") != NULL);
    ss_stop(&srv);
}

static void test_no_api(void)
{
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    CHECK_INT(tether_run_handler(echo), 1);
    CHECK_STR(tether_version(), "0.1.0");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(test_echo_and_headers);
    RUN(test_client_context);
    RUN(test_handler_error);
    RUN(test_handler_generic_error);
    RUN(test_413_becomes_error);
    RUN(test_response_cap);
    RUN(test_400_goes_on);
    RUN(test_malformed_headers);
    RUN(test_dropped_next);
    RUN(test_http_framing);
    RUN(test_other_statuses);
    RUN(test_500_on_next);
    RUN(test_500_on_response);
    RUN(test_init_error);
    RUN(test_phase_deadline);
    RUN(test_unknown_handler);
    RUN(test_table_and_sigterm);
    RUN(test_sigterm_while_idle);
    RUN(test_streaming);
    RUN(test_no_api);
    return TEST_REPORT();
}
