/*
 * Per-invocation metrics in CloudWatch Embedded Metric Format (see metrics.h).
 *
 * The line is written before the answer is posted, so it lands in the
 * invocation's log tail (tether up's X-Amz-Log-Result) and in its CloudWatch
 * log stream on AWS between START and END, as the Lambda Powertools' lines
 * do. One write(2) to stdout after flushing stdio's buffer: the function's
 * own printf output comes first and the line is never split.
 */
#include "runtime/metrics.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define METRICS_LINE_MAX 2048

static int metrics_on = 1;
static int metrics_cold = 1; /* the next invocation is the instance's first */
static struct timespec metrics_init_start;
static double metrics_init_ms = -1;   /* measured at init_done */
static struct timespec metrics_start; /* of the invocation in hand */
static atomic_uint metrics_opened;    /* since the last line */
static atomic_uint metrics_failed;

static double metrics_elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1000.0 +
           (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

void runtime_metrics_init(void)
{
    const char *v = getenv("TETHER_METRICS");
    metrics_on = !(v != NULL && (strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0 ||
                                 strcasecmp(v, "false") == 0));
    metrics_cold = 1;
    metrics_init_ms = -1;
    clock_gettime(CLOCK_MONOTONIC, &metrics_init_start);
}

void runtime_metrics_init_done(void)
{
    metrics_init_ms = metrics_elapsed_ms(&metrics_init_start);
}

void runtime_metrics_invocation_start(void)
{
    clock_gettime(CLOCK_MONOTONIC, &metrics_start);
}

void runtime_metrics_db_opened(void)
{
    atomic_fetch_add(&metrics_opened, 1);
}

void runtime_metrics_db_failed(void)
{
    atomic_fetch_add(&metrics_failed, 1);
}

int runtime_metrics_format(const runtime_metrics_sample_t *s, buf_t *out)
{
    const char *fn = s->function != NULL && s->function[0] != '\0' ? s->function : "unknown";
    int rc =
        buf_printf(out,
                   "{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":"
                   "\"tether\",\"Dimensions\":[[\"FunctionName\"]],\"Metrics\":["
                   "{\"Name\":\"ColdStart\",\"Unit\":\"Count\"},"
                   "{\"Name\":\"Duration\",\"Unit\":\"Milliseconds\"},"
                   "{\"Name\":\"DatabaseConnectionsOpened\",\"Unit\":\"Count\"},"
                   "{\"Name\":\"DatabaseConnectionErrors\",\"Unit\":\"Count\"}%s]}]},"
                   "\"FunctionName\":",
                   (long long)s->timestamp_ms,
                   s->cold_start ? ",{\"Name\":\"InitDuration\",\"Unit\":\"Milliseconds\"}" : "");
    if (rc == 0)
        rc = buf_append_json_cstr(out, fn);
    if (rc == 0 && s->request_id != NULL) {
        rc = buf_append_str(out, ",\"RequestId\":");
        if (rc == 0)
            rc = buf_append_json_cstr(out, s->request_id);
    }
    if (rc == 0)
        rc = buf_printf(out,
                        ",\"ColdStart\":%d,\"Duration\":%.3f,\"DatabaseConnectionsOpened\":%u,"
                        "\"DatabaseConnectionErrors\":%u",
                        s->cold_start ? 1 : 0, s->duration_ms, s->conns_opened, s->conn_errors);
    if (rc == 0 && s->cold_start)
        rc = buf_printf(out, ",\"InitDuration\":%.3f", s->init_ms < 0 ? 0.0 : s->init_ms);
    if (rc == 0)
        rc = buf_append_str(out, "}\n");
    return rc;
}

static void metrics_write(const char *p, size_t left)
{
    while (left > 0) {
        ssize_t w = write(STDOUT_FILENO, p, left);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        left -= (size_t)w;
    }
}

void runtime_metrics_invocation_end(const char *request_id)
{
    double ms = metrics_elapsed_ms(&metrics_start);
    /* taken whether or not the line is written: each line counts what
       happened since the one before */
    unsigned opened = atomic_exchange(&metrics_opened, 0);
    unsigned failed = atomic_exchange(&metrics_failed, 0);
    int cold = metrics_cold;
    metrics_cold = 0;
    if (!metrics_on)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    runtime_metrics_sample_t s = {
        .function = getenv("AWS_LAMBDA_FUNCTION_NAME"),
        .request_id = request_id,
        .timestamp_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
        .cold_start = cold,
        .duration_ms = ms,
        .init_ms = metrics_init_ms,
        .conns_opened = opened,
        .conn_errors = failed,
    };
    buf_t b;
    buf_init(&b, METRICS_LINE_MAX);
    if (runtime_metrics_format(&s, &b) == 0) {
        fflush(stdout);
        metrics_write(b.data, b.len);
    }
    buf_free(&b);
}
