/*
 * What a self-contained zip (tether package's default) costs at start: each
 * example bootstrap is packaged and unzipped, then started N times in three
 * ways, interleaved so load on the machine hits them alike, each run timed
 * from before the spawn to its reaped exit:
 *   direct   the program as built, through this machine's loader and /lib
 *   script   the zip's `bootstrap`: sh, then the bundled loader, glibc, libs
 *   loader   the bundled loader started directly (the script's cost apart)
 * The program stops at once (no AWS_LAMBDA_RUNTIME_API), so the figure is
 * process creation, dynamic loading and libtether's start: the part of a cold
 * start the zip's shape can change.
 *
 *   bench_zip_start [N]     (uses the build's tether and examples, found from
 *                            build/bench/ where it lives)
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs argv with stdout and stderr to /dev/null; returns fork-to-reap time in us, -1 on failure. */
static double run_once(char *const argv[])
{
    static char e0[] = "PATH=/bin:/usr/bin";
    char *envp[] = {e0, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1 /* O_WRONLY */, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
    pid_t pid;
    double t0 = now_us();
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR)
            return -1;
    }
    return now_us() - t0;
}

static void report(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    printf("  %-8s p50 %7.0f us  p90 %7.0f us  min %7.0f us\n", what, v[n / 2], v[n * 9 / 10],
           v[0]);
}

static char build_dir[1024]; /* the build folder: this program's ../ */

/* Packages examples/NAME/bootstrap into DIR/NAME.zip and unzips it into DIR/NAME. */
static int package(const char *dir, const char *name)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s/tether package %s/examples/%s/bootstrap -o %s/%s.zip > /dev/null && "
             "unzip -q -o %s/%s.zip -d %s/%s",
             build_dir, build_dir, name, dir, name, dir, name, dir, name);
    return system(cmd) == 0 ? 0 : -1;
}

static int bench(const char *dir, const char *name, int n)
{
    char direct[2048], script[1024], loader[1024], libdir[1024], prog[1024];
    snprintf(direct, sizeof direct, "%s/examples/%s/bootstrap", build_dir, name);
    snprintf(script, sizeof script, "%s/%s/bootstrap", dir, name);
    snprintf(loader, sizeof loader, "%s/%s/lib/ld-linux-x86-64.so.2", dir, name);
    snprintf(libdir, sizeof libdir, "%s/%s/lib", dir, name);
    snprintf(prog, sizeof prog, "%s/%s/bin/bootstrap", dir, name);
    char *a_direct[] = {direct, NULL};
    char *a_script[] = {script, NULL};
    static char lp[] = "--library-path";
    char *a_loader[] = {loader, lp, libdir, prog, NULL};
    double *v[3];
    for (int k = 0; k < 3; k++) {
        v[k] = calloc((size_t)n, sizeof *v[k]);
        if (v[k] == NULL)
            return -1;
    }
    for (int i = 0; i < n; i++) {
        v[0][i] = run_once(a_direct);
        v[1][i] = run_once(a_script);
        v[2][i] = run_once(a_loader);
        if (v[0][i] < 0 || v[1][i] < 0 || v[2][i] < 0) {
            fprintf(stderr, "bench_zip_start: cannot run %s's bootstraps\n", name);
            return -1;
        }
    }
    printf("%s: start to exit, %d runs each, interleaved:\n", name, n);
    report("direct", v[0], n);
    report("script", v[1], n);
    report("loader", v[2], n);
    for (int k = 0; k < 3; k++)
        free(v[k]);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    if (n < 10)
        n = 10;
    ssize_t len = readlink("/proc/self/exe", build_dir, sizeof build_dir - 1);
    if (len <= 0)
        return 1;
    build_dir[len] = '\0';
    for (int up = 0; up < 2; up++) { /* build/bench/bench_zip_start -> build */
        char *slash = strrchr(build_dir, '/');
        if (slash == NULL)
            return 1;
        *slash = '\0';
    }
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/examples/counter/bootstrap", build_dir);
    if (access(probe, X_OK) != 0) {
        fprintf(stderr, "bench_zip_start: %s is missing: build the examples first\n", probe);
        return 1;
    }
    char dir[] = "/tmp/bench-zip-start.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    int rc = 0;
    static const char *const names[] = {"echo", "counter"};
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        if (package(dir, names[i]) != 0 || bench(dir, names[i], n) != 0)
            rc = 1;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
