/*
 * Per-invocation metrics in CloudWatch Embedded Metric Format (EMF): after
 * each invocation the runtime writes one JSON line to stdout that CloudWatch
 * Logs turns into metrics in namespace "tether", dimension FunctionName:
 * ColdStart, Duration (the handler's time), DatabaseConnectionsOpened and
 * DatabaseConnectionErrors (counted by the managed client's stream initiator,
 * db.c), and InitDuration on a cold start. TETHER_METRICS=off turns it off.
 * See docs/runtime.md, "Metrics".
 */
#ifndef TETHER_RUNTIME_METRICS_H
#define TETHER_RUNTIME_METRICS_H

#include "common/buf.h"

#include <stdint.h>

/* One invocation's figures, as they go into the EMF line. */
typedef struct runtime_metrics_sample {
    const char *function;   /* AWS_LAMBDA_FUNCTION_NAME; NULL or "" writes "unknown" */
    const char *request_id; /* a property, for Logs Insights; may be NULL */
    int64_t timestamp_ms;   /* Unix epoch milliseconds */
    int cold_start;         /* 1 on an instance's first invocation */
    double duration_ms;     /* the handler's time */
    double init_ms;         /* the init phase; written only when cold_start */
    unsigned conns_opened;  /* connections the managed client opened since the last line */
    unsigned conn_errors;   /* connection attempts that failed since the last line */
} runtime_metrics_sample_t;

/* Reads TETHER_METRICS and starts the init clock; called by tether_run(). */
void runtime_metrics_init(void);
/* The init phase has ended (the first /next is about to be asked for). */
void runtime_metrics_init_done(void);
/* The handler of request_id is about to run. */
void runtime_metrics_invocation_start(void);
/* The handler has returned: writes the EMF line (unless turned off). */
void runtime_metrics_invocation_end(const char *request_id);

/* Counted by the managed client (db.c): one real connection opened (TCP or
 * Unix socket, TLS handshake done), or one that failed. Any thread. */
void runtime_metrics_db_opened(void);
void runtime_metrics_db_failed(void);

/* Appends the EMF line for s (with its newline) to out. 0, or a buf error. */
__attribute__((warn_unused_result)) int runtime_metrics_format(const runtime_metrics_sample_t *s,
                                                               buf_t *out);

#endif
