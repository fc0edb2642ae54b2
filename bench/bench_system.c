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
#include "platform/template.h"

#include <mongoc/mongoc.h>

#include <errno.h>
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

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "bench_system: out of time; stopping\n";
    pid_t pid = running_pid;
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
        printf(" %10s", "-");
    else
        printf(" %10.*f", decimals, v);
}

static void print_ratio(double naive, double managed)
{
    char s[32];
    if (managed > 0)
        snprintf(s, sizeof s, "%.2fx", naive / managed);
    else
        snprintf(s, sizeof s, "%s", naive > 0 ? "inf" : "-");
    printf(" %8s", s);
}

static void print_table(const fn_figures_t figs[N_MODES][2], const int ok[N_MODES], int callers)
{
    static const char *const modes[N_MODES] = {"plain", "auth (MONGODB-AWS)",
                                               "auth + TLS (--db-tls)"};
    printf("%-27s", "");
    for (int m = 0; m < N_MODES; m++)
        if (ok[m])
            printf(" | %-30s", modes[m]);
    printf("\n%-27s", "figure");
    for (int m = 0; m < N_MODES; m++)
        if (ok[m])
            printf(" | %10s %10s %8s", "managed", "naive", "n/m");
    printf("\n");
    for (int r = 0; r < N_FIGS; r++) {
        char label[64];
        snprintf(label, sizeof label, "%s", rows[r].label);
        if (label[0] == 'C')
            snprintf(label, sizeof label, "%d%s", callers, rows[r].label + 1);
        printf("%-27s", label);
        for (int m = 0; m < N_MODES; m++) {
            if (!ok[m])
                continue;
            double a = fig_value(&figs[m][0], r), b = fig_value(&figs[m][1], r);
            printf(" |");
            print_cell(rows[r].decimals, a);
            print_cell(rows[r].decimals, b);
            print_ratio(b, a);
        }
        printf("\n");
    }
    for (int m = 0; m < N_MODES; m++) {
        if (!ok[m])
            continue;
        printf("%s: %zu invocations per function; connections created per 1000 invocations: "
               "managed %.1f, naive %.1f\n",
               modes[m], figs[m][0].invocations,
               1000.0 * (double)figs[m][0].created / (double)figs[m][0].invocations,
               1000.0 * (double)figs[m][1].created / (double)figs[m][1].invocations);
    }
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
    const char *code_dir = NULL, *only = NULL;
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
        else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "usage: %s [TETHER_BIN [TEMPLATE]] [--n N] [--callers C] [--code DIR]\n"
                    "          [--only plain|auth|tls] [--timeout S]\n",
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
        strcmp(only, "tls") != 0) {
        fprintf(stderr, "bench: --only plain, auth or tls\n");
        return 2;
    }
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
    printf("tether system benchmark: %s on %s, libmongoc %s, load average %.1f\n", bin, tmpl,
           mongoc_get_version(), load_average());
    printf("per function: 1 cold + %d warm invocations, %zu measured with 1 caller, %d warm and "
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
        if (run_mode(bin, t, code_dir, m, n, callers, figs[m]) == 0)
            ok[m] = 1;
        else
            status = 1;
    }
    if (ok[0] || ok[1] || ok[2])
        print_table(figs, ok, callers);
    printf("whole run: %.1f s, load average %.1f at the end\n", (double)(bench_now_ns() - t0) / 1e9,
           load_average());
    mongoc_cleanup();
    platform_template_free(t);
    return status;
}
