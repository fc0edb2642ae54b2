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
 * With --containment, every function gets a second row, "NAME [signals]",
 * measured with `tether up --no-cgroups`: control groups against their
 * fallback, side by side in one run.
 *
 * usage: bench_platform [TETHER_BIN [TEMPLATE]] [--warm N] [--cold K] [--no-rss]
 *                       [--containment]
 * Defaults: the tether next to this build (../tether) and bench/template.yaml.
 * The client is raw sockets with HTTP/1.1 keep-alive, so it adds little to
 * what it measures. See bench/README.md for what each figure means.
 */
#include "common/buf.h"
#include "common/log.h"
#include "harness/harness.h"
#include "platform/template.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FUNCS  16
#define IDLE_COUNT 100

/* ---- measurements ---- */

typedef struct figures {
    double cold_p50_ms, cold_max_ms;
    double warm1_p50_us, warm1_p99_us, warm1_rps;
    double warm4_p50_us, warm4_p99_us, warm4_rps;
    double share_p50_us, share_p99_us; /* < 0 when the function reports no handler_ns */
    double cpu_us;                     /* tether up's own CPU time per warm invocation */
    double all1_us, all4_us; /* tether up + its instances, per invocation, 1 / 4 callers */
    long throttled;
} figures_t;

/* A warm run's figures (throttled answers add up into *throttled). */
static int run_warm(int port, const char *fn, size_t n, int callers, double *p50, double *p99,
                    double *rps, double *share50, double *share99, long *throttled)
{
    bench_warm_t w;
    if (bench_run_warm(port, fn, n, callers, &w) != 0)
        return -1;
    *p50 = w.p50_us;
    *p99 = w.p99_us;
    *rps = w.rps;
    *share50 = w.share_p50_us;
    *share99 = w.share_p99_us;
    *throttled += w.throttled;
    return 0;
}

/* an argument every tether up started gets (--no-cgroups), or NULL */
static const char *up_extra;

/* tether up on tmpl, no database, instances kept an hour */
static int platform_start(const char *bin, const char *tmpl, bench_platform_t *pp)
{
    const char *args[] = {"--no-db", "--template", tmpl, "--idle-timeout", "3600", up_extra, NULL};
    return bench_platform_start(bin, args, pp);
}

static int measure_warm(const char *bin, const char *tmpl, const char *fn, size_t n, figures_t *f)
{
    bench_platform_t pp;
    if (platform_start(bin, tmpl, &pp) != 0)
        return -1;
    int rc = -1;
    double d1, d2;
    /* first call is cold; then warm up the code paths (and JITs) */
    if (run_warm(pp.port, fn, 200, 1, &d1, &d2, &f->warm1_rps, &f->share_p50_us, &f->share_p99_us,
                 &f->throttled) != 0)
        goto out;
    uint64_t cpu0 = bench_process_cpu_ns(pp.pid), all0 = bench_tree_cpu_ns(pp.pid);
    if (run_warm(pp.port, fn, n, 1, &f->warm1_p50_us, &f->warm1_p99_us, &f->warm1_rps,
                 &f->share_p50_us, &f->share_p99_us, &f->throttled) != 0)
        goto out;
    f->cpu_us = (double)(bench_process_cpu_ns(pp.pid) - cpu0) / 1000.0 / (double)n;
    f->all1_us = (double)(bench_tree_cpu_ns(pp.pid) - all0) / 1000.0 / (double)n;
    double s50, s99;
    if (run_warm(pp.port, fn, 400, 4, &d1, &d2, &f->warm4_rps, &s50, &s99, &f->throttled) != 0)
        goto out;
    /* the instances the warm-up started are all there now (a new one would
     * count only from its start) */
    all0 = bench_tree_cpu_ns(pp.pid);
    if (run_warm(pp.port, fn, n, 4, &f->warm4_p50_us, &f->warm4_p99_us, &f->warm4_rps, &s50, &s99,
                 &f->throttled) != 0)
        goto out;
    f->all4_us = (double)(bench_tree_cpu_ns(pp.pid) - all0) / 1000.0 / (double)n;
    rc = 0;
out:
    bench_platform_stop(&pp);
    return rc;
}

static int measure_cold(const char *bin, const char *tmpl, const char *fn, int k, figures_t *f)
{
    uint64_t *v = calloc((size_t)k, sizeof *v);
    buf_t body;
    buf_init(&body, BENCH_RESPONSE_MAX);
    int rc = -1, got = 0;
    if (v == NULL)
        goto out;
    for (int i = 0; i < k; i++) {
        bench_platform_t pp;
        if (platform_start(bin, tmpl, &pp) != 0)
            goto out;
        bench_conn_t *c = calloc(1, sizeof *c);
        if (c == NULL) {
            bench_platform_stop(&pp);
            goto out;
        }
        c->fd = -1;
        c->port = pp.port;
        if (bench_conn_open(c) != 0) { /* connect first: measure spawn to first response only */
            free(c);
            bench_platform_stop(&pp);
            goto out;
        }
        uint64_t t0 = bench_now_ns();
        int ok = bench_invoke(c, fn, "{\"cold\":true}", &body, NULL) == 0;
        uint64_t t = bench_now_ns() - t0;
        bench_conn_close(c);
        free(c);
        bench_platform_stop(&pp);
        if (!ok)
            goto out;
        v[got++] = t;
    }
    f->cold_p50_ms = bench_pct_us(v, (size_t)got, 0.5) / 1000.0;
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
    bench_conn_t *c = calloc(1, sizeof *c);
    buf_t body;
    buf_init(&body, BENCH_RESPONSE_MAX);
    if (c == NULL) {
        h->failed = 1;
        return NULL;
    }
    c->fd = -1;
    c->port = h->port;
    char path[] = "/2015-03-31/functions/idle/invocations";
    int status = 0;
    if (bench_http_call(c, "POST", path, "{\"sleep_ms\":1500}", &status, &body) != 0 ||
        status != 200)
        h->failed = 1;
    bench_conn_close(c);
    free(c);
    buf_free(&body);
    return NULL;
}

/* tether's VmRSS with no instance, then with IDLE_COUNT frozen instances of "idle". */
static int measure_rss(const char *bin, const char *tmpl, long *before_kb, long *after_kb)
{
    bench_platform_t pp;
    if (platform_start(bin, tmpl, &pp) != 0)
        return -1;
    int rc = -1;
    hold_arg_t *args = calloc(IDLE_COUNT, sizeof *args);
    pthread_t *th = calloc(IDLE_COUNT, sizeof *th);
    buf_t body;
    buf_init(&body, BENCH_RESPONSE_MAX);
    bench_conn_t *c = calloc(1, sizeof *c);
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
    uint64_t deadline = bench_now_ns() + 30000000000ull;
    size_t frozen = 0;
    while (bench_now_ns() < deadline) {
        int status = 0;
        if (bench_http_call(c, "GET", "/_tether/status", NULL, &status, &body) == 0 &&
            status == 200 && body.data != NULL) {
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
        bench_conn_close(c);
    free(c);
    free(args);
    free(th);
    buf_free(&body);
    bench_platform_stop(&pp);
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
    int cold = 10, rss = 1, positional = 0, containment = 0;

    log_set_level(LOG_LEVEL_ERROR);
    /* defaults: ../tether next to this program, bench/template.yaml in the source tree */
    if (bench_default_paths(__FILE__, "template.yaml", bin, tmpl) != 0)
        return 2;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--warm") == 0 && i + 1 < argc)
            warm = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--cold") == 0 && i + 1 < argc)
            cold = atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-rss") == 0)
            rss = 0;
        else if (strcmp(argv[i], "--containment") == 0)
            containment = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "usage: %s [TETHER_BIN [TEMPLATE]] [--warm N] [--cold K] [--no-rss] "
                    "[--containment]\n",
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
    /* --containment: each function twice, with control groups and without */
    static char labels[MAX_FUNCS][80];
    const char *rows[MAX_FUNCS];
    const char *extra[MAX_FUNCS];
    size_t n_rows = 0;
    for (size_t i = 0; i < n_fns && n_rows < MAX_FUNCS; i++) {
        rows[n_rows] = fns[i];
        extra[n_rows++] = NULL;
        if (containment && n_rows < MAX_FUNCS) {
            snprintf(labels[n_rows], sizeof labels[n_rows], "%.60s [signals]", fns[i]);
            rows[n_rows] = labels[n_rows];
            extra[n_rows++] = "--no-cgroups";
        }
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
    for (size_t i = 0; i < n_rows; i++) {
        memset(&fig[i], 0, sizeof fig[i]);
        const char *fn = extra[i] != NULL ? rows[i - 1] : rows[i];
        up_extra = extra[i];
        if (measure_warm(bin, tmpl, fn, warm, &fig[i]) != 0 ||
            measure_cold(bin, tmpl, fn, cold, &fig[i]) != 0) {
            printf("%-16s failed\n", rows[i]);
            status = 1;
            up_extra = NULL;
            continue;
        }
        up_extra = NULL;
        ok[i] = 1;
        figures_t *f = &fig[i];
        char s50[16] = "-", s99[16] = "-";
        if (f->share_p50_us >= 0) {
            snprintf(s50, sizeof s50, "%.0f", f->share_p50_us);
            snprintf(s99, sizeof s99, "%.0f", f->share_p99_us);
        }
        printf("%-16s %9.1f %9.1f | %9.0f %9.0f %9.0f | %9.0f %9.0f %9.0f | %9s %9s %9.1f | %9.1f "
               "%9.1f\n",
               rows[i], f->cold_p50_ms, f->cold_max_ms, f->warm1_p50_us, f->warm1_p99_us,
               f->warm1_rps, f->warm4_p50_us, f->warm4_p99_us, f->warm4_rps, s50, s99, f->cpu_us,
               f->all1_us, f->all4_us);
        if (f->throttled > 0)
            printf("%-16s (%ld throttled answers retried)\n", "", f->throttled);
        fflush(stdout);
    }
    for (size_t i = 1; i < n_rows; i++) {
        size_t base = containment ? i - 1 : 0; /* with --containment: each against its pair */
        if (!ok[i] || !ok[base] || (containment && extra[i] == NULL))
            continue;
        printf("%s / %s:", containment ? rows[base] : rows[i], containment ? rows[i] : rows[0]);
        /* plain: each row over the first; --containment: cgroups over signals */
        const figures_t *a = containment ? &fig[base] : &fig[i],
                        *b = containment ? &fig[i] : &fig[0];
        print_ratio("cold p50", a->cold_p50_ms, b->cold_p50_ms);
        print_ratio("1c p50", a->warm1_p50_us, b->warm1_p50_us);
        print_ratio("1c inv/s", a->warm1_rps, b->warm1_rps);
        print_ratio("4c p50", a->warm4_p50_us, b->warm4_p50_us);
        print_ratio("4c inv/s", a->warm4_rps, b->warm4_rps);
        if (containment)
            printf(" cold p50 +%.2f ms", a->cold_p50_ms - b->cold_p50_ms);
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
