/*
 * The EMF line (runtime/metrics.c): its exact shape on a cold and a warm
 * invocation, escaping of the function name, the counters taken and reset by
 * each line, and TETHER_METRICS=off. The integration test
 * (test_runtime_metrics.js) parses the real line a function writes.
 */
#include "harness.h"
#include "runtime/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_cold_line(void)
{
    runtime_metrics_sample_t s = {.function = "orders",
                                  .request_id = "r-1",
                                  .timestamp_ms = 1700000000123,
                                  .cold_start = 1,
                                  .duration_ms = 1.5,
                                  .init_ms = 12.25,
                                  .conns_opened = 1,
                                  .conn_errors = 0};
    buf_t b;
    buf_init(&b, 4096);
    CHECK_INT(runtime_metrics_format(&s, &b), 0);
    CHECK_STR(b.data,
              "{\"_aws\":{\"Timestamp\":1700000000123,\"CloudWatchMetrics\":[{\"Namespace\":"
              "\"tether\",\"Dimensions\":[[\"FunctionName\"]],\"Metrics\":["
              "{\"Name\":\"ColdStart\",\"Unit\":\"Count\"},"
              "{\"Name\":\"Duration\",\"Unit\":\"Milliseconds\"},"
              "{\"Name\":\"DatabaseConnectionsOpened\",\"Unit\":\"Count\"},"
              "{\"Name\":\"DatabaseConnectionErrors\",\"Unit\":\"Count\"},"
              "{\"Name\":\"InitDuration\",\"Unit\":\"Milliseconds\"}]}]},"
              "\"FunctionName\":\"orders\",\"RequestId\":\"r-1\",\"ColdStart\":1,"
              "\"Duration\":1.500,\"DatabaseConnectionsOpened\":1,"
              "\"DatabaseConnectionErrors\":0,\"InitDuration\":12.250}\n");
    buf_free(&b);
}

static void test_warm_line_and_escaping(void)
{
    runtime_metrics_sample_t s = {.function = "a\"b\\c\n", .timestamp_ms = 1, .duration_ms = 0};
    buf_t b;
    buf_init(&b, 4096);
    CHECK_INT(runtime_metrics_format(&s, &b), 0);
    CHECK(strstr(b.data, "InitDuration") == NULL);
    CHECK(strstr(b.data, "RequestId") == NULL);
    CHECK(strstr(b.data, "\"FunctionName\":\"a\\\"b\\\\c\\n\",\"ColdStart\":0,") != NULL);
    CHECK(strchr(b.data, '\n') == b.data + b.len - 1); /* one line */
    buf_reset(&b);
    s.function = NULL;
    CHECK_INT(runtime_metrics_format(&s, &b), 0);
    CHECK(strstr(b.data, "\"FunctionName\":\"unknown\"") != NULL);
    buf_free(&b);
    buf_init(&b, 64); /* too small: an error, not a cut line */
    CHECK(runtime_metrics_format(&s, &b) != 0);
    buf_free(&b);
}

/* Runs one invocation with stdout sent to a pipe; returns what was written. */
static void invocation_line(char *out, size_t cap)
{
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    int saved = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    runtime_metrics_invocation_start();
    runtime_metrics_invocation_end("req");
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

static void test_counters_and_off(void)
{
    char line[4096];
    setenv("AWS_LAMBDA_FUNCTION_NAME", "fn", 1);
    unsetenv("TETHER_METRICS");
    runtime_metrics_init();
    runtime_metrics_db_opened(); /* during init: reported by the first invocation */
    runtime_metrics_db_failed();
    runtime_metrics_init_done();
    invocation_line(line, sizeof line);
    CHECK(strstr(line, "\"FunctionName\":\"fn\",\"RequestId\":\"req\",\"ColdStart\":1,") != NULL);
    CHECK(strstr(line, "\"DatabaseConnectionsOpened\":1,\"DatabaseConnectionErrors\":1,") != NULL);
    CHECK(strstr(line, "\"InitDuration\":") != NULL);
    invocation_line(line, sizeof line);
    CHECK(strstr(line, "\"ColdStart\":0,") != NULL);
    CHECK(strstr(line, "\"DatabaseConnectionsOpened\":0,\"DatabaseConnectionErrors\":0}") != NULL);
    runtime_metrics_db_opened();
    runtime_metrics_db_opened();
    invocation_line(line, sizeof line);
    CHECK(strstr(line, "\"DatabaseConnectionsOpened\":2,") != NULL);

    setenv("TETHER_METRICS", "off", 1);
    runtime_metrics_init();
    invocation_line(line, sizeof line);
    CHECK_STR(line, "");
    unsetenv("TETHER_METRICS");
}

int main(void)
{
    RUN(test_cold_line);
    RUN(test_warm_line_and_escaping);
    RUN(test_counters_and_off);
    TEST_REPORT();
}
