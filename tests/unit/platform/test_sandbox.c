/*
 * Unit tests of isolated instances' sandbox (src/platform/sandbox.c) through
 * platform_spawn: the skeleton made at start, a busybox shell started in it
 * that lists "/" and reports what it can and cannot do, the code folder at
 * /var/task read-only, the user it runs as, and a failing step reported
 * through the exec-error pipe with the step named. Mount namespaces need
 * root: without it the test says so and checks only the skeleton.
 */
#include "harness.h"
#include "platform/codezip.h"
#include "platform/sandbox.h"
#include "platform/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static platform_codezip_t *zips;
static platform_sandbox_t *sb;
static char code[512];

/* Runs `sh -c script` in the sandbox with code_dir at /var/task; returns its
 * exit status and what it wrote on stdout in out. -1 and err when the spawn
 * itself fails. */
static int run(const char *code_dir, const char *script, char *out, size_t outlen, char *err,
               size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) == -1)
        return -1;
    static char a0[] = "sh", a1[] = "-c";
    char *argv[] = {a0, a1, (char *)(uintptr_t)script, NULL};
    static char e0[] = "PATH=/bin";
    char *envp[] = {e0, NULL};
    pid_t pid;
    int rc =
        platform_spawn("/bin/sh", argv, envp, NULL, sb, code_dir, 0, NULL, p[1], 2, &pid, err, errlen);
    close(p[1]);
    size_t n = 0;
    if (rc == 0) {
        for (;;) {
            ssize_t r = read(p[0], out + n, outlen - 1 - n);
            if (r == -1 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            n += (size_t)r;
            if (n == outlen - 1)
                break;
        }
    }
    out[n] = '\0';
    close(p[0]);
    if (rc != 0)
        return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_skeleton(void)
{
    struct stat st;
    char path[PATH_MAX];
    static const char *const want[] = {
        "bin",        "bin/busybox", "dev/null",          "dev/urandom",
        "etc/passwd", "etc/hosts",   "etc/nsswitch.conf", "proc",
        "tmp",        "var/task",    "var/runtime",       "opt"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", sb->root, want[i]);
        CHECK(lstat(path, &st) == 0);
    }
    snprintf(path, sizeof path, "%s/bin/sh", sb->root);
    char target[64] = "";
    CHECK(readlink(path, target, sizeof target - 1) > 0);
    CHECK_STR(target, "busybox");
    snprintf(path, sizeof path, "%s/usr", sb->root);
    CHECK(lstat(path, &st) == -1);
    snprintf(path, sizeof path, "%s/lib", sb->root);
    CHECK(lstat(path, &st) == -1);
}

static void test_inside(void)
{
    char out[2048], err[512] = "";
    int rc = run(code,
                 "cd / && echo /*; pwd; cat /var/task/hello; id -u; "
                 "echo x > /tmp/w && echo tmp-ok; "
                 "(echo x > /var/task/w) 2>/dev/null || echo task-ro; "
                 "(echo x > /etc/w) 2>/dev/null || echo root-ro; "
                 "head -c 4 /dev/urandom | wc -c",
                 out, sizeof out, err, sizeof err);
    CHECK_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "spawn: %s\n", err);
    CHECK_STR(out, "/bin /dev /etc /opt /proc /tmp /var\n/\nhello from the code\n993\n"
                   "tmp-ok\ntask-ro\nroot-ro\n4\n");
    /* the code folder is untouched, and nothing leaked out of the namespace */
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/w", code);
    CHECK(stat(path, &st) == -1);
    snprintf(path, sizeof path, "%s/var/task/hello", sb->root);
    CHECK(stat(path, &st) == -1);
}

static void test_failure_named(void)
{
    char out[64], err[512] = "";
    CHECK_INT(run("/nonexistent/code", "exit 0", out, sizeof out, err, sizeof err), -1);
    CHECK_STR(err, "isolation: mount the code at /var/task: No such file or directory");
    CHECK_STR(platform_sandbox_stage_name(PLATFORM_SANDBOX_UNSHARE), "unshare(CLONE_NEWNS)");
}

static void test_probe(void)
{
    char err[512] = "";
    CHECK_INT(platform_sandbox_probe(sb, code, err, sizeof err), 0);
}

int main(void)
{
    char err[1024];
    if (platform_codezip_new(&zips, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (platform_sandbox_new(platform_codezip_dir(zips), &sb, err, sizeof err) != 0) {
        fprintf(stderr, "test_sandbox: skipped: %s\n", err);
        platform_codezip_free(zips);
        return 0;
    }
    snprintf(code, sizeof code, "%s/code", platform_codezip_dir(zips));
    mkdir(code, 0755);
    chmod(code, 0755); /* whatever the umask: the instance runs as uid 993 */
    char hello[600];
    snprintf(hello, sizeof hello, "%s/hello", code);
    FILE *f = fopen(hello, "w");
    if (f != NULL) {
        fputs("hello from the code\n", f);
        fclose(f);
    }
    chmod(hello, 0644);
    RUN(test_skeleton);
    if (geteuid() == 0) {
        RUN(test_probe);
        RUN(test_inside);
        RUN(test_failure_named);
    } else {
        fprintf(stderr, "test_sandbox: not root: mount namespaces not tried\n");
    }
    platform_sandbox_free(sb);
    platform_codezip_free(zips);
    return TEST_REPORT();
}
