/*
 * The platform benchmark: starts `tether up` on a template and measures, for
 * every function named echo-* in it (one table row each, ratios to the first):
 *   - warm invoke round trip p50/p99 and throughput with 1 and 4 callers;
 *   - the platform's own share of a warm round trip (round trip minus the
 *     time the function reports it spent between /next and its response, as
 *     "handler_ns" in its answer; "-" when it reports none);
 *   - tether up's own CPU time per warm invocation (all its threads, from
 *     /proc/PID/task/TID/schedstat): the platform's cost, barely touched by
 *     the machine's load;
 *   - cold start: spawn to first response, over several fresh platforms;
 * and, once, tether's own VmRSS with 100 idle (frozen) instances of "idle".
 *
 * usage: bench_platform [TETHER_BIN [TEMPLATE]] [--warm N] [--cold K] [--no-rss]
 * Defaults: the tether next to this build (../tether) and bench/template.yaml.
 * The client is raw sockets with HTTP/1.1 keep-alive, so it adds little to
 * what it measures. See bench/README.md for what each figure means.
 */
#include "common/buf.h"
#include "common/log.h"
#include "platform/template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FUNCS     16
#define IDLE_COUNT    100
#define RESPONSE_MAX  (8u << 20)
#define START_TIMEOUT 20.0 /* seconds for tether up to log its port */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the platform process ---- */

typedef struct platform_proc {
    pid_t pid;
    int port;
    char log_path[64]; /* its stderr and stdout */
} platform_proc_t;

/* The Invoke API's port from tether up's log: "platform listening on HOST:PORT"
 * (up.c), else the first "listening" line that is not a Runtime API's (the
 * same rule as tests/integration/platform_lib.js). */
static int find_port(const char *text)
{
    const char *exact = strstr(text, "platform listening on ");
    if (exact != NULL) {
        const char *colon = strchr(exact + 22, ':');
        if (colon != NULL && atoi(colon + 1) > 0)
            return atoi(colon + 1);
    }
    const char *line = text;
    while (line != NULL && *line != '\0') {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        char l[1024];
        snprintf(l, sizeof l, "%.*s", (int)(len < sizeof l - 1 ? len : sizeof l - 1), line);
        if (strcasestr(l, "listening") != NULL && strcasestr(l, "runtime api") == NULL) {
            const char *keys[] = {"127.0.0.1:", "0.0.0.0:", "localhost:", "port "};
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                const char *p = strcasestr(l, keys[k]);
                if (p != NULL) {
                    int port = atoi(p + strlen(keys[k]));
                    if (port > 0)
                        return port;
                }
            }
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

static int platform_start(const char *bin, const char *tmpl, platform_proc_t *pp)
{
    snprintf(pp->log_path, sizeof pp->log_path, "/tmp/bench-platform-XXXXXX");
    int logfd = mkstemp(pp->log_path);
    if (logfd == -1) {
        perror("mkstemp");
        return -1;
    }
    pid_t pid = fork();
    if (pid == -1) {
        perror("fork");
        close(logfd);
        return -1;
    }
    if (pid == 0) {
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull != -1)
            dup2(devnull, STDIN_FILENO);
        execl(bin, bin, "up", "--port", "0", "--no-db", "--template", tmpl, "--idle-timeout",
              "3600", (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(logfd);
    pp->pid = pid;
    pp->port = 0;
    uint64_t deadline = now_ns() + (uint64_t)(START_TIMEOUT * 1e9);
    while (now_ns() < deadline) {
        FILE *f = fopen(pp->log_path, "r");
        if (f != NULL) {
            char text[65536];
            size_t n = fread(text, 1, sizeof text - 1, f);
            fclose(f);
            text[n] = '\0';
            pp->port = find_port(text);
            if (pp->port > 0)
                return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "bench: tether up exited; its log is %s\n", pp->log_path);
            pp->pid = -1;
            return -1;
        }
        usleep(5000);
    }
    fprintf(stderr, "bench: no listening line from tether up; its log is %s\n", pp->log_path);
    return -1;
}

static void platform_stop(platform_proc_t *pp)
{
    if (pp->pid > 0) {
        kill(pp->pid, SIGTERM);
        uint64_t deadline = now_ns() + 10000000000ull;
        int st;
        while (waitpid(pp->pid, &st, WNOHANG) == 0) {
            if (now_ns() > deadline) {
                kill(pp->pid, SIGKILL);
                waitpid(pp->pid, &st, 0);
                break;
            }
            usleep(5000);
        }
        pp->pid = -1;
    }
    unlink(pp->log_path);
}

/* ---- a minimal HTTP/1.1 keep-alive client ---- */

typedef struct conn {
    int fd;
    int port;
    char in[65536]; /* bytes read past the current response */
    size_t in_len;
} conn_t;

static int conn_open(conn_t *c)
{
    c->in_len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd == -1)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)c->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) == -1) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void conn_close(conn_t *c)
{
    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
    c->in_len = 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One exchange on an open connection. Returns 0 with *status and body, or -1. */
static int exchange(conn_t *c, const char *req, size_t req_len, int *status, buf_t *body,
                    int *close_after)
{
    if (write_all(c->fd, req, req_len) != 0)
        return -1;
    /* read the head */
    char *head_end;
    for (;;) {
        c->in[c->in_len] = '\0';
        head_end = strstr(c->in, "\r\n\r\n");
        if (head_end != NULL)
            break;
        if (c->in_len >= sizeof c->in - 1)
            return -1;
        ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c->in_len += (size_t)r;
    }
    size_t head_len = (size_t)(head_end - c->in) + 4;
    if (sscanf(c->in, "HTTP/1.%*d %d", status) != 1)
        return -1;
    long clen = -1;
    *close_after = 0;
    for (char *h = strstr(c->in, "\r\n"); h != NULL && h < head_end; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            clen = strtol(h + 17, NULL, 10);
        else if (strncasecmp(h + 2, "Connection: close", 17) == 0)
            *close_after = 1;
        else if (strncasecmp(h + 2, "Transfer-Encoding:", 18) == 0)
            return -1; /* the platform sends Content-Length */
    }
    if (clen < 0)
        clen = 0;
    buf_reset(body);
    size_t have = c->in_len - head_len;
    size_t take = have < (size_t)clen ? have : (size_t)clen;
    if (buf_append(body, c->in + head_len, take) != 0)
        return -1;
    memmove(c->in, c->in + head_len + take, have - take);
    c->in_len = have - take;
    while (body->len < (size_t)clen) {
        char chunk[65536];
        size_t want = (size_t)clen - body->len;
        ssize_t r = recv(c->fd, chunk, want < sizeof chunk ? want : sizeof chunk, 0);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (buf_append(body, chunk, (size_t)r) != 0)
            return -1;
    }
    return 0;
}

/* A request, reconnecting once if a kept-alive connection was closed under us. */
static int http_call(conn_t *c, const char *method, const char *path, const char *payload,
                     int *status, buf_t *body)
{
    char req[4096];
    size_t plen = payload != NULL ? strlen(payload) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n%s", method,
                     path, plen, payload != NULL ? payload : "");
    if (n < 0 || (size_t)n >= sizeof req)
        return -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd == -1 && conn_open(c) != 0)
            return -1;
        int close_after = 0;
        if (exchange(c, req, (size_t)n, status, body, &close_after) == 0) {
            if (close_after)
                conn_close(c);
            return 0;
        }
        conn_close(c);
    }
    return -1;
}

/* Invokes fn; retries 429s (counted). Returns 0 with the body, -1 on failure. */
static int invoke(conn_t *c, const char *fn, const char *payload, buf_t *body, long *throttled)
{
    char path[256];
    snprintf(path, sizeof path, "/2015-03-31/functions/%s/invocations", fn);
    for (int attempt = 0; attempt < 100000; attempt++) {
        int status = 0;
        if (http_call(c, "POST", path, payload, &status, body) != 0)
            return -1;
        if (status == 429) {
            if (throttled != NULL)
                (*throttled)++;
            continue;
        }
        if (status != 200) {
            fprintf(stderr, "bench: %s answered %d: %.200s\n", fn, status,
                    body->data != NULL ? body->data : "");
            return -1;
        }
        return 0;
    }
    return -1;
}

/* ---- measurements ---- */

typedef struct figures {
    double cold_p50_ms, cold_max_ms;
    double warm1_p50_us, warm1_p99_us, warm1_rps;
    double warm4_p50_us, warm4_p99_us, warm4_rps;
    double share_p50_us, share_p99_us; /* < 0 when the function reports no handler_ns */
    double cpu_us;                     /* tether up's own CPU time per warm invocation */
    double all1_us, all4_us;           /* tether up + its instances, per invocation, 1 / 4 callers */
    long throttled;
} figures_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

/* "handler_ns":N in an answer, or -1. */
static long long handler_ns(const buf_t *body)
{
    const char *p = body->data != NULL ? strstr(body->data, "\"handler_ns\":") : NULL;
    return p != NULL ? strtoll(p + 13, NULL, 10) : -1;
}

typedef struct caller {
    int port;
    const char *fn;
    size_t n;
    uint64_t *rt;    /* OUT: round trips (ns) */
    uint64_t *share; /* OUT: round trip minus handler_ns, or NULL */
    size_t n_share;
    long throttled;
    int failed;
} caller_t;

static void *caller_run(void *arg)
{
    caller_t *cl = arg;
    conn_t *c = calloc(1, sizeof *c);
    buf_t body;
    buf_init(&body, RESPONSE_MAX);
    if (c == NULL) {
        cl->failed = 1;
        return NULL;
    }
    c->fd = -1;
    c->port = cl->port;
    char payload[128];
    for (size_t i = 0; i < cl->n; i++) {
        snprintf(payload, sizeof payload, "{\"bench\":true,\"i\":%zu}", i);
        uint64_t t0 = now_ns();
        if (invoke(c, cl->fn, payload, &body, &cl->throttled) != 0) {
            cl->failed = 1;
            break;
        }
        uint64_t rt = now_ns() - t0;
        cl->rt[i] = rt;
        long long h = handler_ns(&body);
        if (h >= 0 && cl->share != NULL && (uint64_t)h <= rt)
            cl->share[cl->n_share++] = rt - (uint64_t)h;
    }
    conn_close(c);
    free(c);
    buf_free(&body);
    return NULL;
}

/* n invocations split over `callers` threads; fills p50/p99/throughput. */
static int run_warm(int port, const char *fn, size_t n, int callers, double *p50, double *p99,
                    double *rps, double *share50, double *share99, long *throttled)
{
    caller_t cl[8];
    pthread_t th[8];
    uint64_t *all = calloc(n, sizeof *all), *shares = calloc(n, sizeof *shares);
    int rc = -1;
    if (all == NULL || shares == NULL)
        goto out;
    size_t per = n / (size_t)callers, off = 0;
    uint64_t t0 = now_ns();
    for (int i = 0; i < callers; i++) {
        cl[i] =
            (caller_t){.port = port, .fn = fn, .n = per, .rt = all + off, .share = shares + off};
        off += per;
        if (pthread_create(&th[i], NULL, caller_run, &cl[i]) != 0)
            goto out;
    }
    size_t n_share = 0, n_rt = off;
    int failed = 0;
    for (int i = 0; i < callers; i++) {
        pthread_join(th[i], NULL);
        failed |= cl[i].failed;
        *throttled += cl[i].throttled;
        /* compact the shares */
        memmove(shares + n_share, cl[i].share, cl[i].n_share * sizeof *shares);
        n_share += cl[i].n_share;
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    if (failed)
        goto out;
    *rps = (double)n_rt / secs;
    *p50 = pct_us(all, n_rt, 0.50);
    *p99 = pct_us(all, n_rt, 0.99);
    *share50 = n_share == n_rt ? pct_us(shares, n_share, 0.50) : -1;
    *share99 = n_share == n_rt ? pct_us(shares, n_share, 0.99) : -1;
    rc = 0;
out:
    free(all);
    free(shares);
    return rc;
}

/* CPU time the process has used, every thread (/proc/PID/task/TID/schedstat: ns on CPU). */
static uint64_t process_cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    uint64_t total = 0;
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sp[320];
        snprintf(sp, sizeof sp, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(sp, "r");
        unsigned long long ns = 0;
        if (f != NULL) {
            if (fscanf(f, "%llu", &ns) == 1)
                total += ns;
            fclose(f);
        }
    }
    closedir(d);
    return total;
}

/* CPU time of pid and of its children (the instances of a tether up). */
static uint64_t tree_cpu_ns(pid_t pid)
{
    uint64_t total = process_cpu_ns(pid);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return total;
    int child;
    while (fscanf(f, "%d", &child) == 1)
        total += process_cpu_ns((pid_t)child);
    fclose(f);
    return total;
}

static int measure_warm(const char *bin, const char *tmpl, const char *fn, size_t n, figures_t *f)
{
    platform_proc_t pp;
    if (platform_start(bin, tmpl, &pp) != 0)
        return -1;
    int rc = -1;
    double d1, d2;
    /* first call is cold; then warm up the code paths (and JITs) */
    if (run_warm(pp.port, fn, 200, 1, &d1, &d2, &f->warm1_rps, &f->share_p50_us, &f->share_p99_us,
                 &f->throttled) != 0)
        goto out;
    uint64_t cpu0 = process_cpu_ns(pp.pid), all0 = tree_cpu_ns(pp.pid);
    if (run_warm(pp.port, fn, n, 1, &f->warm1_p50_us, &f->warm1_p99_us, &f->warm1_rps,
                 &f->share_p50_us, &f->share_p99_us, &f->throttled) != 0)
        goto out;
    f->cpu_us = (double)(process_cpu_ns(pp.pid) - cpu0) / 1000.0 / (double)n;
    f->all1_us = (double)(tree_cpu_ns(pp.pid) - all0) / 1000.0 / (double)n;
    double s50, s99;
    if (run_warm(pp.port, fn, 400, 4, &d1, &d2, &f->warm4_rps, &s50, &s99, &f->throttled) != 0)
        goto out;
    /* the instances the warm-up started are all there now (a new one would
     * count only from its start) */
    all0 = tree_cpu_ns(pp.pid);
    if (run_warm(pp.port, fn, n, 4, &f->warm4_p50_us, &f->warm4_p99_us, &f->warm4_rps, &s50, &s99,
                 &f->throttled) != 0)
        goto out;
    f->all4_us = (double)(tree_cpu_ns(pp.pid) - all0) / 1000.0 / (double)n;
    rc = 0;
out:
    platform_stop(&pp);
    return rc;
}

static int measure_cold(const char *bin, const char *tmpl, const char *fn, int k, figures_t *f)
{
    uint64_t *v = calloc((size_t)k, sizeof *v);
    buf_t body;
    buf_init(&body, RESPONSE_MAX);
    int rc = -1, got = 0;
    if (v == NULL)
        goto out;
    for (int i = 0; i < k; i++) {
        platform_proc_t pp;
        if (platform_start(bin, tmpl, &pp) != 0)
            goto out;
        conn_t *c = calloc(1, sizeof *c);
        if (c == NULL) {
            platform_stop(&pp);
            goto out;
        }
        c->fd = -1;
        c->port = pp.port;
        if (conn_open(c) != 0) { /* connect first: measure spawn to first response only */
            free(c);
            platform_stop(&pp);
            goto out;
        }
        uint64_t t0 = now_ns();
        int ok = invoke(c, fn, "{\"cold\":true}", &body, NULL) == 0;
        uint64_t t = now_ns() - t0;
        conn_close(c);
        free(c);
        platform_stop(&pp);
        if (!ok)
            goto out;
        v[got++] = t;
    }
    f->cold_p50_ms = pct_us(v, (size_t)got, 0.5) / 1000.0;
    f->cold_max_ms = (double)v[got - 1] / 1e6;
    rc = 0;
out:
    free(v);
    buf_free(&body);
    return rc;
}

static long vm_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return kb;
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

typedef struct hold_arg {
    int port;
    int failed;
} hold_arg_t;

static void *hold_one(void *arg)
{
    hold_arg_t *h = arg;
    conn_t *c = calloc(1, sizeof *c);
    buf_t body;
    buf_init(&body, RESPONSE_MAX);
    if (c == NULL) {
        h->failed = 1;
        return NULL;
    }
    c->fd = -1;
    c->port = h->port;
    char path[] = "/2015-03-31/functions/idle/invocations";
    int status = 0;
    if (http_call(c, "POST", path, "{\"sleep_ms\":1500}", &status, &body) != 0 || status != 200)
        h->failed = 1;
    conn_close(c);
    free(c);
    buf_free(&body);
    return NULL;
}

/* tether's VmRSS with no instance, then with IDLE_COUNT frozen instances of "idle". */
static int measure_rss(const char *bin, const char *tmpl, long *before_kb, long *after_kb)
{
    platform_proc_t pp;
    if (platform_start(bin, tmpl, &pp) != 0)
        return -1;
    int rc = -1;
    hold_arg_t *args = calloc(IDLE_COUNT, sizeof *args);
    pthread_t *th = calloc(IDLE_COUNT, sizeof *th);
    buf_t body;
    buf_init(&body, RESPONSE_MAX);
    conn_t *c = calloc(1, sizeof *c);
    if (args == NULL || th == NULL || c == NULL)
        goto out;
    c->fd = -1;
    c->port = pp.port;
    *before_kb = vm_rss_kb(pp.pid);
    int started = 0;
    for (int i = 0; i < IDLE_COUNT; i++) {
        args[i].port = pp.port;
        if (pthread_create(&th[i], NULL, hold_one, &args[i]) != 0)
            break;
        started++;
    }
    int failed = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        failed |= args[i].failed;
    }
    if (failed || started != IDLE_COUNT) {
        fprintf(stderr, "bench: could not hold %d instances of idle\n", IDLE_COUNT);
        goto out;
    }
    uint64_t deadline = now_ns() + 30000000000ull;
    size_t frozen = 0;
    while (now_ns() < deadline) {
        int status = 0;
        if (http_call(c, "GET", "/_tether/status", NULL, &status, &body) == 0 && status == 200 &&
            body.data != NULL) {
            frozen = count_str(body.data, "\"frozen\"");
            if (frozen >= IDLE_COUNT)
                break;
        }
        usleep(50000);
    }
    if (frozen < IDLE_COUNT) {
        fprintf(stderr, "bench: only %zu frozen instances after 30 s\n", frozen);
        goto out;
    }
    *after_kb = vm_rss_kb(pp.pid);
    rc = 0;
out:
    if (c != NULL)
        conn_close(c);
    free(c);
    free(args);
    free(th);
    buf_free(&body);
    platform_stop(&pp);
    return rc;
}

static void print_ratio(const char *label, double a, double base)
{
    if (a > 0 && base > 0)
        printf(" %s %.2fx", label, a / base);
}

int main(int argc, char **argv)
{
    char bin[PATH_MAX], tmpl[PATH_MAX];
    size_t warm = 2000;
    int cold = 10, rss = 1, positional = 0;

    log_set_level(LOG_LEVEL_ERROR);
    /* defaults: ../tether next to this program, bench/template.yaml in the source tree */
    ssize_t self = readlink("/proc/self/exe", bin, sizeof bin - 20);
    if (self <= 0) {
        fprintf(stderr, "bench: cannot find myself\n");
        return 2;
    }
    bin[self] = '\0';
    char *slash = strrchr(bin, '/');
    snprintf(slash != NULL ? slash : bin, 20, "/../tether");
    snprintf(tmpl, sizeof tmpl, "%s", __FILE__);
    slash = strrchr(tmpl, '/');
    snprintf(slash != NULL ? slash + 1 : tmpl, 20, "template.yaml");

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--warm") == 0 && i + 1 < argc)
            warm = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--cold") == 0 && i + 1 < argc)
            cold = atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-rss") == 0)
            rss = 0;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [TETHER_BIN [TEMPLATE]] [--warm N] [--cold K] [--no-rss]\n",
                    argv[0]);
            return 2;
        } else if (positional == 0) {
            snprintf(bin, sizeof bin, "%s", argv[i]);
            positional++;
        } else {
            snprintf(tmpl, sizeof tmpl, "%s", argv[i]);
            positional++;
        }
    }
    if (warm < 100)
        warm = 100;
    if (cold < 1)
        cold = 1;
    signal(SIGPIPE, SIG_IGN);

    platform_template_t *t = NULL;
    char err[512];
    if (platform_template_load(tmpl, &t, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 2;
    }
    const char *fns[MAX_FUNCS];
    size_t n_fns = 0;
    for (size_t i = 0; i < t->n_functions && n_fns < MAX_FUNCS; i++) {
        const platform_function_spec_t *f = &t->functions[i];
        if (strncmp(f->name, "echo", 4) != 0)
            continue;
        char boot[PATH_MAX + 16];
        snprintf(boot, sizeof boot, "%s/bootstrap", f->code_dir);
        if (f->kind == PLATFORM_RUNTIME_PROVIDED && access(boot, X_OK) != 0) {
            printf("(%s skipped: no %s; build it first)\n", f->name, boot);
            continue;
        }
        fns[n_fns++] = f->name;
    }
    printf("tether platform benchmark: %s on %s\n", bin, tmpl);
    printf("warm: %zu invocations per figure (1 and 4 callers); cold: %d fresh platforms\n\n", warm,
           cold);
    printf("%-16s %9s %9s | %9s %9s %9s | %9s %9s %9s | %9s %9s %9s | %9s %9s\n", "function",
           "cold p50", "cold max", "1c p50", "1c p99", "1c inv/s", "4c p50", "4c p99", "4c inv/s",
           "plat p50", "plat p99", "plat cpu", "1c +inst", "4c +inst");
    printf("%-16s %9s %9s | %9s %9s %9s | %9s %9s %9s | %9s %9s %9s | %9s %9s\n", "", "ms", "ms",
           "us", "us", "", "us", "us", "", "us", "us", "us/inv", "us/inv", "us/inv");

    figures_t fig[MAX_FUNCS];
    int ok[MAX_FUNCS] = {0};
    int status = 0;
    for (size_t i = 0; i < n_fns; i++) {
        memset(&fig[i], 0, sizeof fig[i]);
        if (measure_warm(bin, tmpl, fns[i], warm, &fig[i]) != 0 ||
            measure_cold(bin, tmpl, fns[i], cold, &fig[i]) != 0) {
            printf("%-16s failed\n", fns[i]);
            status = 1;
            continue;
        }
        ok[i] = 1;
        figures_t *f = &fig[i];
        char s50[16] = "-", s99[16] = "-";
        if (f->share_p50_us >= 0) {
            snprintf(s50, sizeof s50, "%.0f", f->share_p50_us);
            snprintf(s99, sizeof s99, "%.0f", f->share_p99_us);
        }
        printf("%-16s %9.1f %9.1f | %9.0f %9.0f %9.0f | %9.0f %9.0f %9.0f | %9s %9s %9.1f | %9.1f "
               "%9.1f\n",
               fns[i], f->cold_p50_ms, f->cold_max_ms, f->warm1_p50_us, f->warm1_p99_us,
               f->warm1_rps, f->warm4_p50_us, f->warm4_p99_us, f->warm4_rps, s50, s99, f->cpu_us,
               f->all1_us, f->all4_us);
        if (f->throttled > 0)
            printf("%-16s (%ld throttled answers retried)\n", "", f->throttled);
        fflush(stdout);
    }
    for (size_t i = 1; i < n_fns; i++) {
        if (!ok[i] || !ok[0])
            continue;
        printf("%s / %s:", fns[i], fns[0]);
        print_ratio("cold p50", fig[i].cold_p50_ms, fig[0].cold_p50_ms);
        print_ratio("1c p50", fig[i].warm1_p50_us, fig[0].warm1_p50_us);
        print_ratio("1c inv/s", fig[i].warm1_rps, fig[0].warm1_rps);
        print_ratio("4c p50", fig[i].warm4_p50_us, fig[0].warm4_p50_us);
        print_ratio("4c inv/s", fig[i].warm4_rps, fig[0].warm4_rps);
        printf("\n");
    }
    if (rss) {
        long before = 0, after = 0;
        if (measure_rss(bin, tmpl, &before, &after) == 0)
            printf("\ntether up VmRSS: %ld KB with no instance, %ld KB with %d idle instances "
                   "(%.1f KB per instance)\n",
                   before, after, IDLE_COUNT, (double)(after - before) / IDLE_COUNT);
        else
            status = 1;
    }
    platform_template_free(t);
    return status;
}
