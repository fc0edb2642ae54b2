/*
 * The benchmarks' shared harness (harness.h): a tether up child, an HTTP/1.1
 * keep-alive client for its Invoke API, warm runs over caller threads, and CPU
 * time from /proc. Moved here from bench_platform.c so bench_system.c drives
 * the platform the same way.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT 20.0 /* seconds for tether up to log its port */
#define MAX_ARGS      32

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

double bench_pct_us(uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

/* ---- the platform process ---- */

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
        if (strcasestr(l, "listening") != NULL && strcasestr(l, "runtime api") == NULL &&
            strcasestr(l, "docstore") == NULL) {
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

size_t bench_platform_log(const bench_platform_t *pp, char *text, size_t len)
{
    if (len == 0)
        return 0;
    text[0] = '\0';
    FILE *f = fopen(pp->log_path, "re");
    if (f == NULL)
        return 0;
    size_t n = fread(text, 1, len - 1, f);
    fclose(f);
    text[n] = '\0';
    return n;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv[i] != NULL; i++)
        free(argv[i]);
}

int bench_platform_start(const char *bin, const char *const *args, bench_platform_t *pp)
{
    /* execv wants char *const[]: copies, made before the fork */
    const char *fixed[] = {bin, "up", "--port", "0"};
    char *argv[MAX_ARGS + 5] = {NULL};
    size_t argc = 0;
    int failed = 0;
    for (size_t i = 0; i < 4; i++)
        failed |= (argv[argc++] = strdup(fixed[i])) == NULL;
    for (size_t i = 0; args != NULL && args[i] != NULL && i < MAX_ARGS; i++)
        failed |= (argv[argc++] = strdup(args[i])) == NULL;

    snprintf(pp->log_path, sizeof pp->log_path, "/tmp/bench-platform-XXXXXX");
    pp->pid = -1;
    pp->port = 0;
    int logfd = failed ? -1 : mkostemp(pp->log_path, O_CLOEXEC);
    if (logfd == -1) {
        perror("bench: mkstemp");
        pp->log_path[0] = '\0';
        free_argv(argv);
        return -1;
    }
    pid_t pid = fork();
    if (pid == -1) {
        perror("fork");
        close(logfd);
        unlink(pp->log_path);
        free_argv(argv);
        return -1;
    }
    if (pid == 0) {
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull != -1)
            dup2(devnull, STDIN_FILENO);
        execv(bin, argv);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(logfd);
    free_argv(argv);
    pp->pid = pid;
    uint64_t deadline = bench_now_ns() + (uint64_t)(START_TIMEOUT * 1e9);
    static char text[65536];
    while (bench_now_ns() < deadline) {
        bench_platform_log(pp, text, sizeof text);
        pp->port = find_port(text);
        if (pp->port > 0)
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "bench: tether up exited; its log is %s\n", pp->log_path);
            pp->pid = -1;
            return -1;
        }
        usleep(5000);
    }
    fprintf(stderr, "bench: no listening line from tether up; its log is %s\n", pp->log_path);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    pp->pid = -1;
    return -1;
}

void bench_platform_stop(bench_platform_t *pp)
{
    if (pp->pid > 0) {
        kill(pp->pid, SIGTERM);
        uint64_t deadline = bench_now_ns() + 10000000000ull;
        int st;
        while (waitpid(pp->pid, &st, WNOHANG) == 0) {
            if (bench_now_ns() > deadline) {
                kill(pp->pid, SIGKILL);
                waitpid(pp->pid, &st, 0);
                break;
            }
            usleep(5000);
        }
        pp->pid = -1;
    }
    if (pp->log_path[0] != '\0')
        unlink(pp->log_path);
    pp->log_path[0] = '\0';
}

/* ---- a minimal HTTP/1.1 keep-alive client ---- */

int bench_conn_open(bench_conn_t *c)
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

void bench_conn_close(bench_conn_t *c)
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
static int exchange(bench_conn_t *c, const char *req, size_t req_len, int *status, buf_t *body,
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
    c->function_error = 0;
    for (char *h = strstr(c->in, "\r\n"); h != NULL && h < head_end; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            clen = strtol(h + 17, NULL, 10);
        else if (strncasecmp(h + 2, "Connection: close", 17) == 0)
            *close_after = 1;
        else if (strncasecmp(h + 2, "X-Amz-Function-Error:", 21) == 0)
            c->function_error = 1;
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

int bench_http_call(bench_conn_t *c, const char *method, const char *path, const char *payload,
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
        if (c->fd == -1 && bench_conn_open(c) != 0)
            return -1;
        int close_after = 0;
        if (exchange(c, req, (size_t)n, status, body, &close_after) == 0) {
            if (close_after)
                bench_conn_close(c);
            return 0;
        }
        bench_conn_close(c);
    }
    return -1;
}

int bench_invoke(bench_conn_t *c, const char *fn, const char *payload, buf_t *body, long *throttled)
{
    char path[256];
    snprintf(path, sizeof path, "/2015-03-31/functions/%s/invocations", fn);
    for (int attempt = 0; attempt < 100000; attempt++) {
        int status = 0;
        if (bench_http_call(c, "POST", path, payload, &status, body) != 0)
            return -1;
        if (status == 429) {
            if (throttled != NULL)
                (*throttled)++;
            continue;
        }
        if (status != 200 || c->function_error) {
            fprintf(stderr, "bench: %s answered %d%s: %.200s\n", fn, status,
                    c->function_error ? " with a function error" : "",
                    body->data != NULL ? body->data : "");
            return -1;
        }
        return 0;
    }
    return -1;
}

/* ---- warm runs ---- */

/* The integer after "key": in an answer, or -1. */
static long long answer_int(const buf_t *body, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = body->data != NULL ? strstr(body->data, k) : NULL;
    return p != NULL ? strtoll(p + strlen(k), NULL, 10) : -1;
}

typedef struct caller {
    int port;
    const char *fn;
    size_t n;
    uint64_t *rt;      /* OUT: round trips (ns) */
    uint64_t *handler; /* OUT: handler_ns of each answer that has it */
    size_t n_handler;
    uint64_t *share;                     /* OUT: round trip minus handler_ns, same answers */
    long long pids[BENCH_MAX_INSTANCES]; /* OUT: distinct "instance" values */
    size_t n_pids;
    long throttled;
    int failed;
} caller_t;

static void add_pid(long long *pids, size_t *n, long long pid)
{
    for (size_t i = 0; i < *n; i++)
        if (pids[i] == pid)
            return;
    if (*n < BENCH_MAX_INSTANCES)
        pids[(*n)++] = pid;
}

static void *caller_run(void *arg)
{
    caller_t *cl = arg;
    bench_conn_t *c = calloc(1, sizeof *c);
    buf_t body;
    buf_init(&body, BENCH_RESPONSE_MAX);
    if (c == NULL) {
        cl->failed = 1;
        buf_free(&body);
        return NULL;
    }
    c->fd = -1;
    c->port = cl->port;
    char payload[128];
    for (size_t i = 0; i < cl->n; i++) {
        snprintf(payload, sizeof payload, "{\"bench\":true,\"i\":%zu}", i);
        uint64_t t0 = bench_now_ns();
        if (bench_invoke(c, cl->fn, payload, &body, &cl->throttled) != 0) {
            cl->failed = 1;
            break;
        }
        uint64_t rt = bench_now_ns() - t0;
        cl->rt[i] = rt;
        long long h = answer_int(&body, "handler_ns");
        if (h >= 0 && (uint64_t)h <= rt) {
            cl->handler[cl->n_handler] = (uint64_t)h;
            cl->share[cl->n_handler++] = rt - (uint64_t)h;
        }
        long long pid = answer_int(&body, "instance");
        if (pid > 0)
            add_pid(cl->pids, &cl->n_pids, pid);
    }
    bench_conn_close(c);
    free(c);
    buf_free(&body);
    return NULL;
}

int bench_run_warm(int port, const char *fn, size_t n, int callers, bench_warm_t *out)
{
    caller_t cl[BENCH_MAX_CALLERS];
    pthread_t th[BENCH_MAX_CALLERS];
    int started = 0, rc = -1;
    uint64_t *all = calloc(n, sizeof *all), *handler = calloc(n, sizeof *handler),
             *share = calloc(n, sizeof *share);
    memset(out, 0, sizeof *out);
    if (all == NULL || handler == NULL || share == NULL || callers < 1 ||
        callers > BENCH_MAX_CALLERS)
        goto out;
    size_t per = n / (size_t)callers, off = 0;
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < callers; i++) {
        cl[i] = (caller_t){.port = port,
                           .fn = fn,
                           .n = per,
                           .rt = all + off,
                           .handler = handler + off,
                           .share = share + off};
        off += per;
        if (pthread_create(&th[i], NULL, caller_run, &cl[i]) != 0)
            break;
        started++;
    }
    size_t n_handler = 0, n_rt = off;
    long long pids[BENCH_MAX_INSTANCES];
    size_t n_pids = 0;
    int failed = started != callers;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        failed |= cl[i].failed;
        out->throttled += cl[i].throttled;
        /* compact the handler times */
        memmove(handler + n_handler, cl[i].handler, cl[i].n_handler * sizeof *handler);
        memmove(share + n_handler, cl[i].share, cl[i].n_handler * sizeof *share);
        n_handler += cl[i].n_handler;
        for (size_t k = 0; k < cl[i].n_pids; k++)
            add_pid(pids, &n_pids, cl[i].pids[k]);
    }
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    if (failed)
        goto out;
    out->rps = (double)n_rt / secs;
    out->p50_us = bench_pct_us(all, n_rt, 0.50);
    out->p99_us = bench_pct_us(all, n_rt, 0.99);
    int complete = n_handler == n_rt;
    out->handler_p50_us = complete ? bench_pct_us(handler, n_handler, 0.50) : -1;
    out->handler_p99_us = complete ? bench_pct_us(handler, n_handler, 0.99) : -1;
    out->share_p50_us = complete ? bench_pct_us(share, n_handler, 0.50) : -1;
    out->share_p99_us = complete ? bench_pct_us(share, n_handler, 0.99) : -1;
    out->instances = n_pids;
    rc = 0;
out:
    free(all);
    free(handler);
    free(share);
    return rc;
}

/* ---- CPU time ---- */

uint64_t bench_process_cpu_ns(pid_t pid)
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
        FILE *f = fopen(sp, "re");
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

uint64_t bench_tree_cpu_ns(pid_t pid)
{
    uint64_t total = bench_process_cpu_ns(pid);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return total;
    int child;
    while (fscanf(f, "%d", &child) == 1)
        total += bench_process_cpu_ns((pid_t)child);
    fclose(f);
    return total;
}

int bench_default_paths(const char *source_file, const char *template_name, char *bin, char *tmpl)
{
    ssize_t self = readlink("/proc/self/exe", bin, PATH_MAX - 20);
    if (self <= 0) {
        fprintf(stderr, "bench: cannot find myself\n");
        return -1;
    }
    bin[self] = '\0';
    char *slash = strrchr(bin, '/');
    snprintf(slash != NULL ? slash : bin, 20, "/../tether");
    snprintf(tmpl, PATH_MAX, "%s", source_file);
    slash = strrchr(tmpl, '/');
    char *at = slash != NULL ? slash + 1 : tmpl;
    snprintf(at, (size_t)(tmpl + PATH_MAX - at), "%s", template_name);
    return 0;
}
