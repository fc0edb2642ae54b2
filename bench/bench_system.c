/*
 * The system benchmark: tether's claim, measured. A function that creates its
 * MongoDB client once per instance and reuses it (libtether's managed client,
 * "managed") against one that creates a client in every invocation ("naive"),
 * both doing one findOneAndUpdate per invocation on `tether up`'s embedded
 * docstore (bench/system/system_fn.c, bench/system.yaml).
 *
 * Three platforms, one after the other: "plain" (the template without its
 * Roles: no authentication), "auth" (as written: the Roles turn authentication
 * on and the functions use MONGODB-AWS with their role's credentials) and
 * "tls" (auth, with tether up --db-tls: the docstore accepts only TLS, as
 * Atlas does). In each,
 * for managed then naive:
 *   - a cold first invocation and WARMUP warm ones;
 *   - N sequential invocations (1 caller), then (after C x WARMUP to start
 *     the other instances) N over C callers (4): round trip
 *     p50/p99 and invocations/s, the handler's own time (it reports it), the
 *     CPU of tether up (platform + docstore) and its instances per invocation;
 *   - the docstore's serverStatus.connections (through libmongoc with the
 *     admin connection string): totalCreated over the function's whole window
 *     and current at its end, less at its start.
 * Printed side by side with the ratio naive/managed.
 *
 * usage: bench_system [TETHER_BIN [TEMPLATE]] [--n N] [--callers C] [--code DIR]
 *                     [--only plain|auth|tls] [--timeout S]
 * Defaults: ../tether next to this program, bench/system.yaml, N 500, C 4, the
 * template's CodeUri (--code DIR: the bootstrap's folder instead, e.g. another
 * build's bench/system), 600 s for the whole run (then it stops the platform
 * and exits 1). See bench/README.md.
 */
#include "common/buf.h"
#include "common/log.h"
#include "harness/harness.h"
#include "harness/relay.h"
#include "platform/template.h"

#include <mongoc/mongoc.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WARMUP   20
#define N_MAX    20000
#define N_FIGS   12
#define ROLE_ARN "arn:aws:iam::123456789012:role/bench-system"

static const char *const fn_names[2] = {"managed", "naive"};

/* the platform now running, for the watchdog */
static volatile pid_t running_pid = -1;
/* the relay now running, for the watchdog */
static volatile pid_t relay_pid = -1;

/* where the table is also written (RESULTS/system.txt), or NULL */
static FILE *results_file;

/* printf to stdout and to the results file */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (results_file != NULL) {
        va_start(ap, fmt);
        vfprintf(results_file, fmt, ap);
        va_end(ap);
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "bench_system: out of time; stopping\n";
    pid_t pid = running_pid;
    if (pid > 0)
        kill(pid, SIGKILL);
    pid = relay_pid;
    if (pid > 0)
        kill(pid, SIGKILL);
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

/* One function's figures in one mode. */
typedef struct fn_figures {
    bench_warm_t w1, w4; /* 1 caller, C callers */
    double cpu1_us;      /* tether up + instances, CPU per invocation, 1 caller */
    double cpu4_us;      /* the same, C callers */
    long long created;   /* serverStatus.connections.totalCreated over the window */
    long long open;      /* connections.current at the end less at the start */
    size_t invocations;  /* in the window: 1 + WARMUP + N + C WARMUP + N */
} fn_figures_t;

/* ---- the docstore's connection counters ---- */

/* connections.totalCreated and connections.current from serverStatus. */
static int server_connections(mongoc_client_t *admin, long long *created, long long *current)
{
    bson_t *cmd = BCON_NEW("serverStatus", BCON_INT32(1));
    bson_t reply;
    bson_error_t error;
    int rc = -1;
    if (!mongoc_client_command_simple(admin, "admin", cmd, NULL, &reply, &error)) {
        fprintf(stderr, "bench: serverStatus: %s\n", error.message);
        goto out;
    }
    bson_iter_t it;
    if (bson_iter_init(&it, &reply) &&
        bson_iter_find_descendant(&it, "connections.totalCreated", &it) &&
        BSON_ITER_HOLDS_NUMBER(&it))
        *created = bson_iter_as_int64(&it);
    else
        goto out;
    if (bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, "connections.current", &it) &&
        BSON_ITER_HOLDS_NUMBER(&it))
        *current = bson_iter_as_int64(&it);
    else
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "bench: serverStatus has no connections.totalCreated/current\n");
    bson_destroy(&reply);
    bson_destroy(cmd);
    return rc;
}

/* The admin connection string: the private file tether up names in its log
 * when the docstore requires authentication, else the docstore's address. */
static int admin_uri(const bench_platform_t *pp, int auth, char *uri, size_t len)
{
    static char text[65536];
    const char *at = NULL,
               *ready = auth ? "admin connection string is in " : "docstore listening on ";
    /* tether up logs the Invoke API's port first, the docstore's lines after */
    uint64_t deadline = bench_now_ns() + 20000000000ull;
    while (bench_now_ns() < deadline) {
        bench_platform_log(pp, text, sizeof text);
        if (strstr(text, ready) != NULL) {
            at = strstr(text, "docstore listening on ");
            break;
        }
        usleep(5000);
    }
    if (at == NULL) {
        fprintf(stderr, "bench: no docstore (with authentication: %s) in tether up's log\n",
                auth ? "yes" : "no");
        return -1;
    }
    char hostport[128];
    if (sscanf(at + 22, "%127s", hostport) != 1)
        return -1;
    if (!auth) {
        snprintf(uri, len, "mongodb://%s/", hostport);
        return 0;
    }
    const char *key = "admin connection string is in ";
    const char *p = strstr(text, key);
    const char *end = p != NULL ? strstr(p, "/admin-uri") : NULL;
    if (end == NULL) {
        fprintf(stderr, "bench: tether up did not turn authentication on (no admin-uri)\n");
        return -1;
    }
    char path[PATH_MAX];
    p += strlen(key);
    snprintf(path, sizeof path, "%.*s/admin-uri", (int)(end - p), p);
    FILE *f = fopen(path, "re");
    if (f == NULL || fgets(uri, (int)len, f) == NULL) {
        fprintf(stderr, "bench: cannot read %s\n", path);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    uri[strcspn(uri, "\r\n")] = '\0';
    return 0;
}

/* ---- the template ---- */

/* tmpl's managed and naive functions into a YAML file at path, their code
 * from code_dir when not NULL, with the template's Roles (auth) or none. */
static int write_template(const platform_template_t *t, const char *code_dir, int auth,
                          const char *path)
{
    FILE *f = fopen(path, "we");
    if (f == NULL) {
        fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "# written by bench_system (%s)\nResources:\n", auth ? "auth" : "plain");
    int found = 0;
    for (size_t i = 0; i < t->n_functions; i++) {
        const platform_function_spec_t *s = &t->functions[i];
        if (strcmp(s->name, fn_names[0]) != 0 && strcmp(s->name, fn_names[1]) != 0)
            continue;
        found++;
        fprintf(f,
                "  F%zu:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                "      FunctionName: %s\n      Runtime: %s\n      CodeUri: %s\n"
                "      Handler: %s\n      ReservedConcurrentExecutions: %d\n"
                "      Timeout: %d\n      MemorySize: %d\n",
                i, s->name, s->runtime, code_dir != NULL ? code_dir : s->code_dir,
                s->handler != NULL ? s->handler : "", s->reserved_concurrency, s->timeout_s,
                s->memory_mb);
        if (auth)
            fprintf(f, "      Role: %s\n", s->role_arn != NULL ? s->role_arn : ROLE_ARN);
    }
    if (fclose(f) != 0 || found != 2) {
        fprintf(stderr, "bench: the template needs functions named managed and naive\n");
        return -1;
    }
    return 0;
}

/* ---- one mode ---- */

static int measure_fn(const bench_platform_t *pp, mongoc_client_t *admin, const char *fn, size_t n,
                      int callers, fn_figures_t *f)
{
    long long created0, current0, created1, current1;
    if (server_connections(admin, &created0, &current0) != 0)
        return -1;
    bench_warm_t cold, warm;
    if (bench_run_warm(pp->port, fn, 1, 1, &cold) != 0 ||
        bench_run_warm(pp->port, fn, WARMUP, 1, &warm) != 0)
        return -1;
    uint64_t cpu0 = bench_tree_cpu_ns(pp->pid);
    if (bench_run_warm(pp->port, fn, n, 1, &f->w1) != 0)
        return -1;
    /* the C callers' instances start here, not in the measured run */
    if (bench_run_warm(pp->port, fn, (size_t)(WARMUP * callers), callers, &warm) != 0)
        return -1;
    uint64_t cpu1 = bench_tree_cpu_ns(pp->pid);
    if (bench_run_warm(pp->port, fn, n, callers, &f->w4) != 0)
        return -1;
    uint64_t cpu2 = bench_tree_cpu_ns(pp->pid);
    if (server_connections(admin, &created1, &current1) != 0)
        return -1;
    size_t n4 = n / (size_t)callers * (size_t)callers;
    f->cpu1_us = (double)(cpu1 - cpu0) / 1000.0 / (double)n;
    f->cpu4_us = (double)(cpu2 - cpu1) / 1000.0 / (double)n4;
    f->created = created1 - created0;
    f->open = current1 - current0;
    f->invocations = 1 + WARMUP + n + (size_t)(WARMUP * callers) + n4;
    return 0;
}

#define N_MODES 3
/* --only's names, in run order */
static const char *const mode_names[N_MODES] = {"plain", "auth", "tls"};

static int run_mode(const char *bin, const platform_template_t *t, const char *code_dir, int mode,
                    size_t n, int callers, fn_figures_t figs[2])
{
    int auth = mode >= 1, tls = mode == 2;
    char dir[] = "/tmp/bench-system-XXXXXX", path[sizeof dir + 32];
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(path, sizeof path, "%s/template.yaml", dir);
    int rc = -1;
    bench_platform_t pp = {.pid = -1};
    mongoc_client_t *admin = NULL;
    char uri[512];
    if (write_template(t, code_dir, auth, path) != 0)
        goto out;
    const char *args[] = {
        "--db-port", "0", "--template", path, "--idle-timeout", "3600", tls ? "--db-tls" : NULL,
        NULL};
    if (bench_platform_start(bin, args, &pp) != 0)
        goto out;
    running_pid = pp.pid;
    if (admin_uri(&pp, auth, uri, sizeof uri) != 0)
        goto out;
    admin = mongoc_client_new(uri);
    memset(uri, 0, sizeof uri);
    if (admin == NULL) {
        fprintf(stderr, "bench: libmongoc rejects the admin connection string\n");
        goto out;
    }
    mongoc_client_set_error_api(admin, MONGOC_ERROR_API_VERSION_2);
    for (int i = 0; i < 2; i++) {
        if (measure_fn(&pp, admin, fn_names[i], n, callers, &figs[i]) != 0) {
            fprintf(stderr, "bench: %s (%s) failed\n", fn_names[i], mode_names[mode]);
            goto out;
        }
    }
    rc = 0;
out:
    if (admin != NULL)
        mongoc_client_destroy(admin);
    if (rc != 0 && pp.pid > 0) {
        static char text[65536];
        size_t len = bench_platform_log(&pp, text, sizeof text);
        fprintf(stderr, "bench: tether up's log:\n%s\n", len > 4000 ? text + len - 4000 : text);
    }
    bench_platform_stop(&pp);
    running_pid = -1;
    unlink(path);
    rmdir(dir);
    return rc;
}

/* ---- the table ---- */

typedef struct fig_row {
    const char *label;
    int decimals; /* printed with */
} fig_row_t;

static const fig_row_t rows[N_FIGS] = {
    {"1 caller: p50 us", 0},      {"1 caller: p99 us", 0},
    {"1 caller: inv/s", 0},       {"1 caller: handler p50 us", 0},
    {"1 caller: CPU us/inv", 0},  {"C callers: p50 us", 0},
    {"C callers: p99 us", 0},     {"C callers: inv/s", 0},
    {"C callers: CPU us/inv", 0}, {"instances", 0},
    {"connections created", 0},   {"connections open at end", 0},
};

static double fig_value(const fn_figures_t *f, int row)
{
    switch (row) {
    case 0:
        return f->w1.p50_us;
    case 1:
        return f->w1.p99_us;
    case 2:
        return f->w1.rps;
    case 3:
        return f->w1.handler_p50_us;
    case 4:
        return f->cpu1_us;
    case 5:
        return f->w4.p50_us;
    case 6:
        return f->w4.p99_us;
    case 7:
        return f->w4.rps;
    case 8:
        return f->cpu4_us;
    case 9:
        return (double)(f->w1.instances > f->w4.instances ? f->w1.instances : f->w4.instances);
    case 10:
        return (double)f->created;
    default:
        return (double)f->open;
    }
}

static void print_cell(int decimals, double v)
{
    if (v < 0)
        say(" %10s", "-");
    else
        say(" %10.*f", decimals, v);
}

static void print_ratio(double naive, double managed)
{
    char s[32];
    if (managed > 0)
        snprintf(s, sizeof s, "%.2fx", naive / managed);
    else
        snprintf(s, sizeof s, "%s", naive > 0 ? "inf" : "-");
    say(" %8s", s);
}

static void print_table(const fn_figures_t figs[N_MODES][2], const int ok[N_MODES], int callers)
{
    static const char *const modes[N_MODES] = {"plain", "auth (MONGODB-AWS)",
                                               "auth + TLS (--db-tls)"};
    say("%-27s", "");
    for (int m = 0; m < N_MODES; m++)
        if (ok[m])
            say(" | %-30s", modes[m]);
    say("\n%-27s", "figure");
    for (int m = 0; m < N_MODES; m++)
        if (ok[m])
            say(" | %10s %10s %8s", "managed", "naive", "n/m");
    say("\n");
    for (int r = 0; r < N_FIGS; r++) {
        char label[64];
        snprintf(label, sizeof label, "%s", rows[r].label);
        if (label[0] == 'C')
            snprintf(label, sizeof label, "%d%s", callers, rows[r].label + 1);
        say("%-27s", label);
        for (int m = 0; m < N_MODES; m++) {
            if (!ok[m])
                continue;
            double a = fig_value(&figs[m][0], r), b = fig_value(&figs[m][1], r);
            say(" |");
            print_cell(rows[r].decimals, a);
            print_cell(rows[r].decimals, b);
            print_ratio(b, a);
        }
        say("\n");
    }
    for (int m = 0; m < N_MODES; m++) {
        if (!ok[m])
            continue;
        say("%s: %zu invocations per function; connections created per 1000 invocations: "
            "managed %.1f, naive %.1f\n",
            modes[m], figs[m][0].invocations,
            1000.0 * (double)figs[m][0].created / (double)figs[m][0].invocations,
            1000.0 * (double)figs[m][1].created / (double)figs[m][1].invocations);
    }
}

/* ---- the charts: connections held vs instances, latency over a link ---- */

#define SWEEP_N    5
#define SWEEP_FNS  3
#define LAT_CASES  4   /* {loopback, link} x {SCRAM-SHA-256, MONGODB-AWS} */
#define LINK_DELAY 500 /* us each way: a 1 ms round trip, Lambda to Atlas in one region */
#define BENCH_USER "bench"
#define BENCH_PASS "bench-password-7f3a"

static const int sweep_c[SWEEP_N] = {1, 2, 4, 8, 16};
static const char *const sweep_fns[SWEEP_FNS] = {"managed", "naive", "node"};
static const char *const sweep_titles[SWEEP_FNS] = {
    "C, managed client (libtether)", "C, client per invocation", "Node.js driver, defaults"};

typedef struct sweep {
    long long held[SWEEP_FNS][SWEEP_N];    /* connections open at rest, the function's own */
    long long live[SWEEP_FNS][SWEEP_N];    /* its live instances then */
    long long created[SWEEP_FNS][SWEEP_N]; /* connections created by that step's run */
    size_t invocations[SWEEP_FNS][SWEEP_N];
} sweep_t;

#define LAT_FNS 4 /* C managed, C naive, Node reused, Node per invocation */

typedef struct latency {
    bench_warm_t w[LAT_CASES][LAT_FNS]; /* [case][lat_fns] */
} latency_t;

/* The latency run's functions: bench/system/system_fn.c's two handlers and
 * bench/system/node/bench.js's two (the same operation with the Node.js
 * driver, run from a copy beside a link to examples/node's node_modules:
 * node_folder). */
static const char *const lat_fns[LAT_FNS] = {"managed", "naive", "node-reused", "node-naive"};
static const char *const lat_handlers[LAT_FNS] = {"system.managed", "system.naive", "bench.reused",
                                                  "bench.naive"};
static const char *const lat_titles[LAT_FNS] = {
    "C, client reused (managed)", "C, client per invocation", "Node.js, client reused",
    "Node.js, client per invocation"};

static const char *const lat_cases[LAT_CASES] = {"SCRAM-SHA-256, loopback", "MONGODB-AWS, loopback",
                                                 "SCRAM-SHA-256, 1 ms link",
                                                 "MONGODB-AWS, 1 ms link"};

/* A free loopback port (bound and released: another program may take it in
 * between, which would only make the platform fail to start). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd != -1 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd != -1)
        close(fd);
    return port;
}

/* fn's live instance count from /_tether/status ("live":N after its name). */
static long long status_live(int port, const char *fn)
{
    bench_conn_t c = {.fd = -1, .port = port};
    buf_t body;
    buf_init(&body, BENCH_RESPONSE_MAX);
    int status = 0;
    long long live = -1;
    char key[96];
    snprintf(key, sizeof key, "{\"name\":\"%s\"", fn);
    if (bench_http_call(&c, "GET", "/_tether/status", NULL, &status, &body) == 0 && status == 200 &&
        body.data != NULL) {
        const char *at = strstr(body.data, key);
        const char *l = at != NULL ? strstr(at, "\"live\":") : NULL;
        if (l != NULL)
            live = atoll(l + 7);
    }
    bench_conn_close(&c);
    buf_free(&body);
    return live;
}

/* connections.current once it has not changed for 600 ms (a Node client's
 * pool and monitor connect in the background), at most 10 s. */
static int settled_current(mongoc_client_t *admin, long long *current, long long *created)
{
    long long last = -1, cr = 0, cur = 0;
    uint64_t stable_since = bench_now_ns(), deadline = stable_since + 10000000000ull;
    while (bench_now_ns() < deadline) {
        if (server_connections(admin, &cr, &cur) != 0)
            return -1;
        if (cur != last) {
            last = cur;
            stable_since = bench_now_ns();
        } else if (bench_now_ns() - stable_since > 600000000ull) {
            break;
        }
        usleep(100000);
    }
    *current = cur;
    *created = cr;
    return 0;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (f == NULL || fputs(text, f) == EOF) {
        fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
        if (f != NULL)
            fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* Connections held vs concurrent instances: one plain platform (no auth,
 * no TLS) with the C managed, C naive and Node functions; for each, C callers
 * (1, 2, 4, 8, 16) invoke it until it has C instances, then the docstore's
 * open connections are read once they settle, less those before that
 * function's first step. */
static int run_sweep(const char *bin, const platform_template_t *t, const char *code_dir,
                     const char *node_dir, sweep_t *sw)
{
    char dir[] = "/tmp/bench-sweep-XXXXXX", path[sizeof dir + 32];
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/template.yaml", dir);
    const char *cdir = code_dir;
    for (size_t i = 0; cdir == NULL && i < t->n_functions; i++)
        if (strcmp(t->functions[i].name, "managed") == 0)
            cdir = t->functions[i].code_dir;
    static char yaml[3 * PATH_MAX + 2048];
    snprintf(yaml, sizeof yaml,
             "# written by bench_system (connections vs instances)\nResources:\n"
             "  M:\n    Type: AWS::Serverless::Function\n    Properties:\n"
             "      FunctionName: managed\n      Runtime: provided.al2023\n      CodeUri: %s\n"
             "      Handler: system.managed\n      ReservedConcurrentExecutions: 16\n"
             "      Timeout: 30\n"
             "  N:\n    Type: AWS::Serverless::Function\n    Properties:\n"
             "      FunctionName: naive\n      Runtime: provided.al2023\n      CodeUri: %s\n"
             "      Handler: system.naive\n      ReservedConcurrentExecutions: 16\n"
             "      Timeout: 30\n"
             "  J:\n    Type: AWS::Serverless::Function\n    Properties:\n"
             "      FunctionName: node\n      Runtime: nodejs20.x\n      CodeUri: %s\n"
             "      Handler: index.handler\n      ReservedConcurrentExecutions: 16\n"
             "      Timeout: 30\n",
             cdir, cdir, node_dir);
    int rc = -1;
    bench_platform_t pp = {.pid = -1};
    mongoc_client_t *admin = NULL;
    char uri[512];
    if (write_file(path, yaml) != 0)
        goto out;
    const char *args[] = {"--db-port", "0", "--template", path, "--idle-timeout", "3600", NULL};
    if (bench_platform_start(bin, args, &pp) != 0)
        goto out;
    running_pid = pp.pid;
    if (admin_uri(&pp, 0, uri, sizeof uri) != 0 || (admin = mongoc_client_new(uri)) == NULL)
        goto out;
    mongoc_client_set_error_api(admin, MONGOC_ERROR_API_VERSION_2);
    for (int f = 0; f < SWEEP_FNS; f++) {
        long long base, created0;
        if (settled_current(admin, &base, &created0) != 0)
            goto out;
        for (int k = 0; k < SWEEP_N; k++) {
            int c = sweep_c[k];
            bench_warm_t w;
            /* 8 rounds of C concurrent calls: reaches C instances (each
               call that finds none parked starts one) */
            size_t n = (size_t)(8 * c);
            if (bench_run_warm(pp.port, sweep_fns[f], n, c, &w) != 0) {
                fprintf(stderr, "bench: %s with %d callers failed\n", sweep_fns[f], c);
                goto out;
            }
            long long cur, created;
            if (settled_current(admin, &cur, &created) != 0)
                goto out;
            sw->held[f][k] = cur - base;
            sw->live[f][k] = status_live(pp.port, sweep_fns[f]);
            sw->created[f][k] = created - created0;
            sw->invocations[f][k] = n;
            created0 = created;
        }
    }
    rc = 0;
out:
    if (admin != NULL)
        mongoc_client_destroy(admin);
    if (rc != 0 && pp.pid > 0) {
        static char text[65536];
        size_t len = bench_platform_log(&pp, text, sizeof text);
        fprintf(stderr, "bench: tether up's log:\n%s\n", len > 4000 ? text + len - 4000 : text);
    }
    bench_platform_stop(&pp);
    running_pid = -1;
    unlink(path);
    rmdir(dir);
    return rc;
}

/* The Node functions' folder for the latency run: dir/node with a copy of
 * bench.js (from node_code) and node_modules, a link to the Node example's
 * (tether up looks for aws-lambda-ric beside the handler). */
static int node_folder(const char *dir, const char *node_example, const char *node_code, char *out,
                       size_t outlen)
{
    char from[PATH_MAX + 16], to[PATH_MAX + 32], mods[PATH_MAX + 16];
    static char js[65536];
    snprintf(out, outlen, "%s/node", dir);
    snprintf(from, sizeof from, "%s/bench.js", node_code);
    snprintf(to, sizeof to, "%s/bench.js", out);
    snprintf(mods, sizeof mods, "%s/node_modules", node_example);
    FILE *f = fopen(from, "re");
    size_t len = f != NULL ? fread(js, 1, sizeof js - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    js[len] = '\0';
    char link[PATH_MAX + 32];
    snprintf(link, sizeof link, "%s/node_modules", out);
    if (len == 0 || mkdir(out, 0755) == -1 || write_file(to, js) != 0 ||
        symlink(mods, link) == -1) {
        fprintf(stderr, "bench: cannot set up %s from %s: %s\n", out, from, strerror(errno));
        return -1;
    }
    return 0;
}

/* Latency per invocation, reused vs per invocation, with TLS (--db-tls) and
 * SCRAM-SHA-256 or MONGODB-AWS, on loopback and through the relay (0.5 ms
 * each way). The docstore's port is chosen first so the template can name
 * it (and the relay's) in each function's MONGODB_URI. */
static int run_latency(const char *bin, const platform_template_t *t, const char *code_dir,
                       const char *node_example, const char *node_code, size_t n, latency_t *lat)
{
    char dir[] = "/tmp/bench-link-XXXXXX", path[sizeof dir + 32], users[sizeof dir + 32];
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/template.yaml", dir);
    snprintf(users, sizeof users, "%s/users.json", dir);
    const char *cdir = code_dir;
    for (size_t i = 0; cdir == NULL && i < t->n_functions; i++)
        if (strcmp(t->functions[i].name, "managed") == 0)
            cdir = t->functions[i].code_dir;
    int rc = -1;
    bench_platform_t pp = {.pid = -1};
    bench_relay_t relay = {.pid = -1};
    int db_port = free_port();
    char node_dir[sizeof dir + 16];
    if (node_folder(dir, node_example, node_code, node_dir, sizeof node_dir) != 0)
        goto out;
    if (db_port <= 0 || bench_relay_start(db_port, LINK_DELAY, &relay) != 0)
        goto out;
    relay_pid = relay.pid;
    char text[2048];
    snprintf(text, sizeof text,
             "[{\"user\": \"" BENCH_USER "\", \"db\": \"admin\", \"password\": \"" BENCH_PASS
             "\", \"roles\": [{\"role\": \"readWrite\", \"db\": \"bench\"}]},\n"
             " {\"user\": \"" ROLE_ARN "\", \"db\": \"$external\", "
             "\"roles\": [{\"role\": \"readWrite\", \"db\": \"bench\"}]}]\n");
    if (write_file(users, text) != 0)
        goto out;
    static char yaml[32768];
    size_t off = (size_t)snprintf(yaml, sizeof yaml,
                                  "# written by bench_system (latency over a link)\nResources:\n");
    for (int cse = 0; cse < LAT_CASES; cse++) {
        int port = cse < 2 ? db_port : relay.port, aws = cse % 2;
        char uri[512];
        if (aws)
            snprintf(uri, sizeof uri,
                     "mongodb://127.0.0.1:%d/?authMechanism=MONGODB-AWS&authSource=%%24external"
                     "&tls=true",
                     port);
        else
            snprintf(uri, sizeof uri,
                     "mongodb://" BENCH_USER ":" BENCH_PASS "@127.0.0.1:%d/?authSource=admin"
                     "&authMechanism=SCRAM-SHA-256&tls=true",
                     port);
        for (int m = 0; m < LAT_FNS && off < sizeof yaml; m++) {
            int node = m >= 2;
            off += (size_t)snprintf(
                yaml + off, sizeof yaml - off,
                "  F%d%d:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                "      FunctionName: %s-%d\n      Runtime: %s\n      CodeUri: %s\n"
                "      Handler: %s\n      Role: " ROLE_ARN "\n"
                "      ReservedConcurrentExecutions: 2\n      Timeout: 30\n      MemorySize: 1024\n"
                "      Environment:\n        Variables:\n          MONGODB_URI: '%s'\n",
                cse, m, lat_fns[m], cse, node ? "nodejs20.x" : "provided.al2023",
                node ? node_dir : cdir, lat_handlers[m], uri);
        }
    }
    if (off >= sizeof yaml || write_file(path, yaml) != 0)
        goto out;
    char port_arg[16];
    snprintf(port_arg, sizeof port_arg, "%d", db_port);
    const char *args[] = {"--db-port",  port_arg, "--db-tls",       "--db-users", users,
                          "--template", path,     "--idle-timeout", "3600",       NULL};
    if (bench_platform_start(bin, args, &pp) != 0)
        goto out;
    running_pid = pp.pid;
    for (int cse = 0; cse < LAT_CASES; cse++) {
        for (int m = 0; m < LAT_FNS; m++) {
            char fn[32];
            bench_warm_t warm;
            snprintf(fn, sizeof fn, "%s-%d", lat_fns[m], cse);
            if (bench_run_warm(pp.port, fn, 1 + WARMUP, 1, &warm) != 0 ||
                bench_run_warm(pp.port, fn, n, 1, &lat->w[cse][m]) != 0) {
                fprintf(stderr, "bench: %s (%s) failed\n", fn, lat_cases[cse]);
                goto out;
            }
        }
    }
    rc = 0;
out:
    if (rc != 0 && pp.pid > 0) {
        static char log[65536];
        size_t len = bench_platform_log(&pp, log, sizeof log);
        fprintf(stderr, "bench: tether up's log:\n%s\n", len > 4000 ? log + len - 4000 : log);
    }
    bench_platform_stop(&pp);
    running_pid = -1;
    bench_relay_stop(&relay);
    relay_pid = -1;
    unlink(path);
    unlink(users);
    char junk[sizeof dir + 32];
    snprintf(junk, sizeof junk, "%s/node/bench.js", dir);
    unlink(junk);
    snprintf(junk, sizeof junk, "%s/node/node_modules", dir);
    unlink(junk);
    snprintf(junk, sizeof junk, "%s/node", dir);
    rmdir(junk);
    rmdir(dir);
    return rc;
}

static void print_sweep(const sweep_t *sw)
{
    say("\nconnections held vs concurrent instances (plain docstore; held = open at rest, "
        "instances frozen):\n%-32s",
        "callers");
    for (int k = 0; k < SWEEP_N; k++)
        say(" %12d", sweep_c[k]);
    say("\n");
    for (int f = 0; f < SWEEP_FNS; f++) {
        say("%-32s", sweep_titles[f]);
        for (int k = 0; k < SWEEP_N; k++) {
            char cell[32];
            snprintf(cell, sizeof cell, "%lld (%lld inst)", sw->held[f][k], sw->live[f][k]);
            say(" %12s", cell);
        }
        say("\n");
    }
    say("connections created per step (its invocations):\n");
    for (int f = 0; f < SWEEP_FNS; f++) {
        say("%-32s", sweep_titles[f]);
        for (int k = 0; k < SWEEP_N; k++) {
            char cell[32];
            snprintf(cell, sizeof cell, "%lld/%zu", sw->created[f][k], sw->invocations[f][k]);
            say(" %12s", cell);
        }
        say("\n");
    }
}

static void print_latency(const latency_t *lat, size_t n)
{
    say("\nlatency per invocation (round trip p50 / p99 us, %zu sequential warm invocations; "
        "TLS on; link: a relay holding each segment %d us each way):\n",
        n, LINK_DELAY);
    say("%-26s", "");
    for (int m = 0; m < LAT_FNS; m++)
        say(" %31s", lat_titles[m]);
    say(" %8s %8s\n", "C n/m", "Node n/r");
    for (int c = 0; c < LAT_CASES; c++) {
        say("%-26s", lat_cases[c]);
        for (int m = 0; m < LAT_FNS; m++) {
            char a[40];
            snprintf(a, sizeof a, "%.0f / %.0f", lat->w[c][m].p50_us, lat->w[c][m].p99_us);
            say(" %31s", a);
        }
        say(" %7.1fx %7.1fx\n",
            lat->w[c][0].p50_us > 0 ? lat->w[c][1].p50_us / lat->w[c][0].p50_us : 0.0,
            lat->w[c][2].p50_us > 0 ? lat->w[c][3].p50_us / lat->w[c][2].p50_us : 0.0);
    }
}

/* The data files, the gnuplot script, and the SVGs it draws (when gnuplot
 * is installed: scripts/deps.sh bench). */
static int write_charts(const char *results, const sweep_t *sw, const latency_t *lat)
{
    char path[PATH_MAX + 32], text[8192];
    size_t off = 0;
    if (sw != NULL) {
        off = (size_t)snprintf(text, sizeof text,
                               "# callers  held: managed naive node   live instances: managed "
                               "naive node\n");
        for (int k = 0; k < SWEEP_N && off < sizeof text; k++)
            off += (size_t)snprintf(text + off, sizeof text - off,
                                    "%d %lld %lld %lld %lld %lld %lld\n", sweep_c[k],
                                    sw->held[0][k], sw->held[1][k], sw->held[2][k], sw->live[0][k],
                                    sw->live[1][k], sw->live[2][k]);
        snprintf(path, sizeof path, "%s/connections.dat", results);
        if (write_file(path, text) != 0)
            return -1;
    }
    if (lat != NULL) {
        off = (size_t)snprintf(text, sizeof text,
                               "# case  p50 ms: C reused, C per-invocation, Node reused, Node "
                               "per-invocation\n");
        for (int c = 0; c < LAT_CASES && off < sizeof text; c++)
            off += (size_t)snprintf(text + off, sizeof text - off, "\"%s\" %.3f %.3f %.3f %.3f\n",
                                    lat_cases[c], lat->w[c][0].p50_us / 1000.0,
                                    lat->w[c][1].p50_us / 1000.0, lat->w[c][2].p50_us / 1000.0,
                                    lat->w[c][3].p50_us / 1000.0);
        snprintf(path, sizeof path, "%s/latency.dat", results);
        if (write_file(path, text) != 0)
            return -1;
    }
    static const char script[] =
        "# drawn by bench_system from the .dat files beside it: gnuplot -e 'sweep=1; latency=1' "
        "charts.gp\n"
        "set terminal svg size 820,440 dynamic font 'sans,12' background '#ffffff'\n"
        "set border 3\nset tics nomirror\nset grid ytics lc rgb '#dddddd'\n"
        "if (exists('sweep') && sweep) {\n"
        "set output 'connections.svg'\n"
        "set title 'Database connections held vs concurrent instances (tether up, embedded "
        "docstore)'\n"
        "set key top left reverse Left\n"
        "set xlabel 'concurrent instances'\nset ylabel 'connections open at rest'\n"
        "set logscale x 2\nset xrange [0.85:19]\nset xtics (1,2,4,8,16)\nset yrange [-0.8:*]\n"
        "set ytics 0,4\n"
        "plot 'connections.dat' using 7:4 with linespoints lw 2 pt 7 ps 0.8 lc rgb '#805ad5' "
        "title 'Node.js driver, defaults', "
        "'' using 5:2 with linespoints lw 2 pt 5 ps 0.8 lc rgb '#2b6cb0' "
        "title 'C, managed client (libtether)', "
        "'' using 6:3 with linespoints lw 2 pt 9 ps 0.9 lc rgb '#dd6b20' "
        "title 'C, client per invocation (none held between invocations)'\n"
        "unset logscale x\nset xrange [*:*]\nset xtics auto\nset ytics auto\n}\n"
        "if (exists('latency') && latency) {\n"
        "set output 'latency.svg'\n"
        "set title 'Latency per invocation, p50 (TLS on; link: 1 ms round trip)'\n"
        "set key outside top center horizontal\n"
        "set xlabel ''\nset ylabel 'ms'\nset yrange [0:*]\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset xtics scale 0 font ',11'\n"
        "set xrange [-0.6:3.6]\n"
        "plot 'latency.dat' using 2:xtic(1) title 'C, client reused (managed)' lc rgb '#2b6cb0', "
        "'' using 3 title 'C, client per invocation' lc rgb '#dd6b20', "
        "'' using 4 title 'Node.js, client reused' lc rgb '#805ad5', "
        "'' using 5 title 'Node.js, client per invocation' lc rgb '#d69e2e', "
        "'' using ($0-0.3):2:(sprintf('%.1f',$2)) with labels offset 0,0.6 font ',9' notitle, "
        "'' using ($0-0.1):3:(sprintf('%.0f',$3)) with labels offset 0,0.6 font ',9' notitle, "
        "'' using ($0+0.1):4:(sprintf('%.1f',$4)) with labels offset 0,0.6 font ',9' notitle, "
        "'' using ($0+0.3):5:(sprintf('%.0f',$5)) with labels offset 0,0.6 font ',9' notitle\n"
        "}\n";
    snprintf(path, sizeof path, "%s/charts.gp", results);
    if (write_file(path, script) != 0)
        return -1;
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        say("gnuplot is not installed (scripts/deps.sh bench): data in %s, no SVG drawn\n",
            results);
        return 0;
    }
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot -e 'sweep=%d; latency=%d' charts.gp", results,
             sw != NULL, lat != NULL);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench: gnuplot failed\n");
        return -1;
    }
    say("charts: %s/%s%s\n", results, sw != NULL ? "connections.svg " : "",
        lat != NULL ? "latency.svg" : "");
    return 0;
}

static double load_average(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "re");
    if (f != NULL) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

int main(int argc, char **argv)
{
    char bin[PATH_MAX], tmpl[PATH_MAX], code_buf[PATH_MAX];
    const char *code_dir = NULL, *only = NULL, *results = NULL;
    char results_buf[PATH_MAX], node_dir[PATH_MAX];
    int charts = 1;
    size_t n = 500;
    int callers = 4, timeout_s = 600, positional = 0;

    log_set_level(LOG_LEVEL_ERROR);
    if (bench_default_paths(__FILE__, "system.yaml", bin, tmpl) != 0)
        return 2;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--callers") == 0 && i + 1 < argc)
            callers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--code") == 0 && i + 1 < argc) {
            /* absolute: the written template lives elsewhere */
            if (realpath(argv[++i], code_buf) == NULL) {
                fprintf(stderr, "bench: %s: %s\n", argv[i], strerror(errno));
                return 2;
            }
            code_dir = code_buf;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout_s = atoi(argv[++i]);
        else if (strcmp(argv[i], "--results") == 0 && i + 1 < argc)
            results = argv[++i];
        else if (strcmp(argv[i], "--no-charts") == 0)
            charts = 0;
        else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "usage: %s [TETHER_BIN [TEMPLATE]] [--n N] [--callers C] [--code DIR]\n"
                    "          [--only plain|auth|tls|charts] [--timeout S] [--results DIR]\n"
                    "          [--no-charts]\n",
                    argv[0]);
            return 2;
        } else if (positional++ == 0) {
            snprintf(bin, sizeof bin, "%s", argv[i]);
        } else {
            snprintf(tmpl, sizeof tmpl, "%s", argv[i]);
        }
    }
    if (n < 10)
        n = 10;
    if (n > N_MAX)
        n = N_MAX;
    if (callers < 1 || callers > BENCH_MAX_CALLERS)
        callers = 4;
    if (timeout_s < 10)
        timeout_s = 10;
    if (only != NULL && strcmp(only, "plain") != 0 && strcmp(only, "auth") != 0 &&
        strcmp(only, "tls") != 0 && strcmp(only, "charts") != 0) {
        fprintf(stderr, "bench: --only plain, auth, tls or charts\n");
        return 2;
    }
    if (only != NULL && strcmp(only, "charts") != 0)
        charts = 0;
    /* the results folder (bench/results beside the template by default) and
       the Node example the connection chart runs (examples/node) */
    snprintf(results_buf, sizeof results_buf, "%s", tmpl);
    char *slash = strrchr(results_buf, '/');
    snprintf(slash != NULL ? slash + 1 : results_buf,
             (size_t)(results_buf + sizeof results_buf - (slash != NULL ? slash + 1 : results_buf)),
             "results");
    if (results == NULL)
        results = results_buf;
    snprintf(node_dir, sizeof node_dir, "%s", tmpl);
    slash = strrchr(node_dir, '/');
    snprintf(slash != NULL ? slash + 1 : node_dir,
             (size_t)(node_dir + sizeof node_dir - (slash != NULL ? slash + 1 : node_dir)),
             "../examples/node");
    char node_real[PATH_MAX];
    if (charts && realpath(node_dir, node_real) == NULL) {
        fprintf(stderr, "bench: %s: %s (the Node example the connection chart runs)\n", node_dir,
                strerror(errno));
        return 2;
    }
    char bench_node[PATH_MAX + 16]; /* bench/system/node, beside the template */
    snprintf(bench_node, sizeof bench_node, "%s", tmpl);
    slash = strrchr(bench_node, '/');
    snprintf(slash != NULL ? slash + 1 : bench_node,
             (size_t)(bench_node + sizeof bench_node - (slash != NULL ? slash + 1 : bench_node)),
             "system/node");
    char bench_node_real[PATH_MAX];
    if (charts && realpath(bench_node, bench_node_real) == NULL) {
        fprintf(stderr, "bench: %s: %s (the Node functions the latency chart runs)\n", bench_node,
                strerror(errno));
        return 2;
    }
    if (charts)
        snprintf(bench_node, sizeof bench_node, "%s", bench_node_real);
    if (mkdir(results, 0755) == -1 && errno != EEXIST) {
        fprintf(stderr, "bench: %s: %s\n", results, strerror(errno));
        return 2;
    }
    char tee_path[PATH_MAX + 16];
    snprintf(tee_path, sizeof tee_path, "%s/system.txt", results);
    results_file = fopen(tee_path, "we");
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)timeout_s);

    platform_template_t *t = NULL;
    char err[512];
    if (platform_template_load(tmpl, &t, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 2;
    }
    char boot[PATH_MAX + 16];
    for (size_t i = 0; i < t->n_functions; i++) {
        const char *dir = code_dir != NULL ? code_dir : t->functions[i].code_dir;
        snprintf(boot, sizeof boot, "%s/bootstrap", dir);
        if (access(boot, X_OK) != 0) {
            fprintf(stderr, "bench: no %s; build it first (make build), or --code DIR\n", boot);
            platform_template_free(t);
            return 2;
        }
    }

    mongoc_init();
    say("tether system benchmark: %s on %s, libmongoc %s, load average %.1f\n", bin, tmpl,
        mongoc_get_version(), load_average());
    say("per function: 1 cold + %d warm invocations, %zu measured with 1 caller, %d warm and "
        "%zu measured over %d callers\n\n",
        WARMUP, n, WARMUP * callers, n / (size_t)callers * (size_t)callers, callers);
    fflush(stdout);

    uint64_t t0 = bench_now_ns();
    fn_figures_t figs[N_MODES][2];
    int ok[N_MODES] = {0, 0, 0}, status = 0;
    memset(figs, 0, sizeof figs);
    for (int m = 0; m < N_MODES; m++) {
        if (only != NULL && strcmp(only, mode_names[m]) != 0)
            continue;
        fflush(stdout);
        if (run_mode(bin, t, code_dir, m, n, callers, figs[m]) == 0)
            ok[m] = 1;
        else
            status = 1;
    }
    if (ok[0] || ok[1] || ok[2])
        print_table(figs, ok, callers);
    if (charts) {
        static sweep_t sw;
        static latency_t lat;
        int sw_ok = run_sweep(bin, t, code_dir, node_real, &sw) == 0;
        if (sw_ok)
            print_sweep(&sw);
        size_t n_lat = n < 200 ? n : 200;
        int lat_ok = run_latency(bin, t, code_dir, node_real, bench_node, n_lat, &lat) == 0;
        if (lat_ok)
            print_latency(&lat, n_lat);
        if (!sw_ok || !lat_ok)
            status = 1;
        if ((sw_ok || lat_ok) &&
            write_charts(results, sw_ok ? &sw : NULL, lat_ok ? &lat : NULL) != 0)
            status = 1;
    }
    say("whole run: %.1f s, load average %.1f at the end\n", (double)(bench_now_ns() - t0) / 1e9,
        load_average());
    if (results_file != NULL)
        fclose(results_file);
    mongoc_cleanup();
    platform_template_free(t);
    return status;
}
