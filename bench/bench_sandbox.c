/*
 * What isolation adds to a cold start: platform_spawn of a program that exits
 * at once (Debian's static busybox, `sh -c 'exit 0'`, so no dynamic loading
 * blurs the figure), timed from before the fork to its reaped exit, with and
 * without the sandbox of isolated instances (sandbox.h), interleaved so load
 * on the machine hits both alike. Also how long platform_spawn itself blocks
 * the caller (tether up's loop) in each case: the sandbox's mounts run in the
 * child before exec, while the parent waits on the exec-error pipe.
 *
 *   bench_sandbox [N]     (root: mount namespaces need CAP_SYS_ADMIN)
 */
#include "platform/codezip.h"
#include "platform/sandbox.h"
#include "platform/spawn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* One spawn; *blocked: time inside platform_spawn, returns fork to reaped exit. */
static double one(const platform_sandbox_t *sb, const char *code_dir, double *blocked)
{
    static char a0[] = "sh", a1[] = "-c", a2[] = "exit 0", e0[] = "PATH=/bin";
    char *argv[] = {a0, a1, a2, NULL};
    char *envp[] = {e0, NULL};
    char err[512];
    pid_t pid;
    double t0 = now_us();
    if (platform_spawn("/bin/busybox", argv, envp, NULL, sb, code_dir, 0, NULL, 2, 2, &pid, err,
                       sizeof err) != 0) {
        fprintf(stderr, "bench_sandbox: %s\n", err);
        exit(1);
    }
    *blocked = now_us() - t0;
    int status;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    return now_us() - t0;
}

static void report(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    printf("  %-34s p50 %7.0f us  p90 %7.0f us  min %7.0f us\n", what, v[n / 2], v[n * 9 / 10],
           v[0]);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    if (n < 10)
        n = 10;
    char err[1024];
    platform_codezip_t *z = NULL;
    platform_sandbox_t *sb = NULL;
    if (platform_codezip_new(&z, err, sizeof err) != 0 ||
        platform_sandbox_new(platform_codezip_dir(z), &sb, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sandbox: %s\n", err);
        platform_codezip_free(z);
        return 1;
    }
    double *plain = calloc((size_t)n, sizeof *plain), *iso = calloc((size_t)n, sizeof *iso);
    double *plain_b = calloc((size_t)n, sizeof *plain_b), *iso_b = calloc((size_t)n, sizeof *iso_b);
    if (plain == NULL || iso == NULL || plain_b == NULL || iso_b == NULL)
        return 1;
    for (int i = 0; i < n; i++) {
        plain[i] = one(NULL, NULL, &plain_b[i]);
        iso[i] = one(sb, sb->task, &iso_b[i]);
    }
    printf("spawn of /bin/busybox sh -c 'exit 0', fork to reaped exit, %d each:\n", n);
    report("unisolated", plain, n);
    report("isolated", iso, n);
    printf("time platform_spawn blocks its caller (fork to exec):\n");
    report("unisolated", plain_b, n);
    report("isolated", iso_b, n);
    free(plain);
    free(iso);
    free(plain_b);
    free(iso_b);
    platform_sandbox_free(sb);
    platform_codezip_free(z);
    return 0;
}
