/*
 * A test function that reports the file system it runs in, for
 * test_platform_zip.js: what "/" holds, whether /usr, /lib and /lib64 exist,
 * its working directory and LAMBDA_TASK_ROOT, whether /tmp takes a write and
 * /var/task refuses one (and with which errno), and what /bin/sh answers to
 * `echo $((6*7))`, and its uid. Built as build/tests/functions/fsview/bootstrap.
 * Given {"fill_tmp_mb": N} it instead writes N MB into /tmp and answers how
 * many whole MB went in and the errno that stopped it ("" when none).
 */
#include <tether/tether.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The names in "/", sorted by the caller's eye: joined with ',' into out. */
static void list_root(char *out, size_t outlen)
{
    out[0] = '\0';
    DIR *d = opendir("/");
    if (d == NULL)
        return;
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int w = snprintf(out + n, outlen - n, "%s\"%s\"", n ? "," : "", e->d_name);
        if (w < 0 || (size_t)w >= outlen - n)
            break;
        n += (size_t)w;
    }
    closedir(d);
}

/* What `/bin/sh -c 'echo $((6*7))'` prints (first line), or "" */
static void shell_answer(char *out, size_t outlen)
{
    out[0] = '\0';
    int p[2];
    if (pipe2(p, O_CLOEXEC) == -1)
        return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    static char a0[] = "sh", a1[] = "-c", a2[] = "echo $((6*7))";
    char *argv[] = {a0, a1, a2, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc == 0) {
        ssize_t r;
        do {
            r = read(p[0], out, outlen - 1);
        } while (r == -1 && errno == EINTR);
        out[r > 0 ? r : 0] = '\0';
        char *nl = strchr(out, '\n');
        if (nl != NULL)
            *nl = '\0';
        int status;
        while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
        }
    }
    close(p[0]);
}

/* Writes mb MB into /tmp/fill (then removes it): the MB written, *err the
 * errno that stopped it or 0. */
static long fill_tmp(long mb, int *err)
{
    static char block[1 << 20];
    memset(block, 'x', sizeof block);
    *err = 0;
    int fd = open("/tmp/fill", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1) {
        *err = errno;
        return 0;
    }
    long done = 0;
    for (; done < mb; done++) {
        size_t off = 0;
        while (off < sizeof block) {
            ssize_t w = write(fd, block + off, sizeof block - off);
            if (w == -1 && errno == EINTR)
                continue;
            if (w <= 0) {
                *err = w == -1 ? errno : ENOSPC;
                goto out;
            }
            off += (size_t)w;
        }
    }
out:
    close(fd);
    unlink("/tmp/fill");
    return done;
}

static int fsview(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)user;
    const char *fill = strstr(ev->payload, "\"fill_tmp_mb\":");
    if (fill != NULL) {
        int err;
        long mb = fill_tmp(strtol(fill + 14, NULL, 10), &err);
        return tether_response_printf(res, "{\"filled_mb\":%ld,\"errno\":\"%s\"}", mb,
                                      err == ENOSPC ? "ENOSPC" : err ? strerror(err) : "");
    }
    char root[2048], cwd[1024], sh[64];
    list_root(root, sizeof root);
    if (getcwd(cwd, sizeof cwd) == NULL)
        cwd[0] = '\0';
    int tmp_ok = 0;
    int fd = open("/tmp/fsview-probe", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd != -1) {
        tmp_ok = write(fd, "x", 1) == 1;
        close(fd);
        unlink("/tmp/fsview-probe");
    }
    const char *task = getenv("LAMBDA_TASK_ROOT");
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/fsview-probe", task ? task : ".");
    const char *task_write = "ok";
    fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1)
        task_write = errno == EROFS ? "EROFS" : strerror(errno);
    else {
        close(fd);
        unlink(probe);
    }
    shell_answer(sh, sizeof sh);
    return tether_response_printf(
        res,
        "{\"pid\":%d,\"root\":[%s],\"usr\":%s,\"lib\":%s,\"lib64\":%s,\"cwd\":\"%s\","
        "\"task_root\":\"%s\",\"tmp_write\":%s,\"task_write\":\"%s\",\"sh\":\"%s\","
        "\"path\":\"%s\",\"uid\":%d}",
        (int)getpid(), root, access("/usr", F_OK) == 0 ? "true" : "false",
        access("/lib", F_OK) == 0 ? "true" : "false",
        access("/lib64", F_OK) == 0 ? "true" : "false", cwd, task ? task : "",
        tmp_ok ? "true" : "false", task_write, sh, getenv("PATH") ? getenv("PATH") : "",
        (int)getuid());
}

int main(void)
{
    return tether_run_handler(fsview);
}
