/*
 * What the benchmarks that drive `tether up` share (bench_platform.c,
 * bench_system.c): starting and stopping a `tether up` child and reading its
 * log, a minimal HTTP/1.1 keep-alive client for the Invoke API (raw sockets, so
 * it adds little to what it measures), warm runs of N invocations over 1..8
 * caller threads with their latency percentiles, and CPU time from /proc.
 *
 * Not a library for anything else: errors go to stderr, figures are doubles.
 */
#ifndef TETHER_BENCH_HARNESS_H
#define TETHER_BENCH_HARNESS_H

#include "common/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_RESPONSE_MAX  (8u << 20)
#define BENCH_MAX_CALLERS   16
#define BENCH_MAX_INSTANCES 64

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* The p-th percentile (0..1) of v[0..n) in microseconds; sorts v. -1 when n is 0. */
double bench_pct_us(uint64_t *v, size_t n, double p);

/* The defaults of a benchmark's first two arguments: the tether executable
 * next to this program's folder (../tether, PATH_MAX bytes into bin) and
 * template_name beside the benchmark's source file (pass __FILE__; PATH_MAX
 * bytes into tmpl). -1 (said on stderr) when /proc/self/exe cannot be read. */
int bench_default_paths(const char *source_file, const char *template_name, char *bin,
                        char *tmpl);

/* ---- a tether up child ---- */

typedef struct bench_platform {
    pid_t pid;         /* the child, or -1 once stopped */
    int port;          /* its Invoke API port */
    char log_path[64]; /* its stdout and stderr; removed by bench_platform_stop() */
} bench_platform_t;

/*
 * Runs `bin up --port 0 ARGS...` (args: NULL-terminated, may be NULL) with
 * its output in a temporary file, and waits up to 20 s for its Invoke API's
 * "listening" line. Returns 0 with *pp filled, or -1 (said on stderr; the
 * child is stopped and its log kept for reading).
 */
__attribute__((warn_unused_result)) int
bench_platform_start(const char *bin, const char *const *args, bench_platform_t *pp);

/* The first len-1 bytes of its log, NUL-terminated, into text. Returns the length. */
size_t bench_platform_log(const bench_platform_t *pp, char *text, size_t len);

/* SIGTERM, then SIGKILL after 10 s; reaps the child and removes the log. */
void bench_platform_stop(bench_platform_t *pp);

/* ---- the Invoke API client ---- */

typedef struct bench_conn {
    int fd;         /* -1 when closed: the next call connects */
    int port;       /* 127.0.0.1:port */
    char in[65536]; /* bytes read past the current response */
    size_t in_len;
    int function_error; /* the last response had X-Amz-Function-Error */
} bench_conn_t;

/* Connects c to 127.0.0.1:c->port. Returns 0 or -1. */
__attribute__((warn_unused_result)) int bench_conn_open(bench_conn_t *c);
void bench_conn_close(bench_conn_t *c);

/* One request (payload may be NULL), reconnecting once if a kept-alive
 * connection was closed under us. Returns 0 with *status and body, or -1. */
__attribute__((warn_unused_result)) int bench_http_call(bench_conn_t *c, const char *method,
                                                        const char *path, const char *payload,
                                                        int *status /* OUT */,
                                                        buf_t *body /* OUT */);

/* Invokes fn, retrying 429s at once (counted into *throttled when not NULL).
 * Returns 0 with the answer in body, -1 on any other failure, a function
 * error included (said on stderr). */
__attribute__((warn_unused_result)) int bench_invoke(bench_conn_t *c, const char *fn,
                                                     const char *payload, buf_t *body /* OUT */,
                                                     long *throttled /* OUT, added to */);

/* ---- warm runs ---- */

typedef struct bench_warm {
    double p50_us, p99_us; /* round trip, from the caller's send to the whole answer */
    double rps;            /* invocations per second over the run */
    /* from answers ending in "handler_ns":N (the time the function spent between
     * its /next and its response); all -1 unless every answer has it */
    double handler_p50_us, handler_p99_us; /* handler_ns */
    double share_p50_us, share_p99_us;     /* round trip minus handler_ns */
    long throttled;                        /* 429s retried */
    size_t instances; /* distinct "instance":PID values in the answers (0: none said) */
} bench_warm_t;

/* n invocations of fn, n/callers each from `callers` threads (1..16) with their
 * own connection, payload {"bench":true,"i":I}. Returns 0 with *out, or -1. */
__attribute__((warn_unused_result)) int bench_run_warm(int port, const char *fn, size_t n,
                                                       int callers, bench_warm_t *out);

/* ---- CPU time ---- */

/* CPU time pid has used, every thread (/proc/PID/task/TID/schedstat). */
uint64_t bench_process_cpu_ns(pid_t pid);

/* The same for pid and its children (a tether up and its instances). */
uint64_t bench_tree_cpu_ns(pid_t pid);

#endif
