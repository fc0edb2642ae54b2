/*
 * Isolated instances: the skeleton root made once at start, and the mounts a
 * forked child makes to enter it (see sandbox.h and docs/platform.md
 * "Zips and isolation").
 */
#include "platform/sandbox.h"

#include "common/fileio.h"
#include "platform/elfinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <unistd.h>

static const char *const dev_names[PLATFORM_SANDBOX_N_DEV] = {"null", "zero", "full", "random",
                                                              "urandom"};

/* Lambda's own users (its runtime runs as sbx_user1051). */
static const char etc_passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                 "sbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\n";
static const char etc_group[] = "root:x:0:\nsbx_user1051:x:990:\n";
static const char etc_hosts[] = "127.0.0.1 localhost localhost.localdomain\n"
                                "::1 localhost localhost.localdomain\n";
static const char etc_nsswitch[] = "passwd: files\ngroup: files\nhosts: files dns\n";

const char *platform_sandbox_stage_name(int stage)
{
    switch (stage) {
    case PLATFORM_SANDBOX_UNSHARE:
        return "unshare(CLONE_NEWNS)";
    case PLATFORM_SANDBOX_PRIVATE:
        return "making mounts private";
    case PLATFORM_SANDBOX_ROOT:
        return "mount the sandbox root";
    case PLATFORM_SANDBOX_TASK_DIR:
        return "mount the code at /var/task";
    case PLATFORM_SANDBOX_TMPFS:
        return "mount /tmp";
    case PLATFORM_SANDBOX_PROC:
        return "mount /proc";
    case PLATFORM_SANDBOX_DEV:
        return "mount /dev";
    case PLATFORM_SANDBOX_SHELL_BIN:
        return "mount /bin/busybox";
    case PLATFORM_SANDBOX_ROOT_RO:
        return "make the sandbox root read-only";
    case PLATFORM_SANDBOX_PIVOT:
        return "pivot_root";
    case PLATFORM_SANDBOX_CHDIR:
        return "chdir /var/task";
    case PLATFORM_SANDBOX_USER:
        return "become sbx_user1051";
    }
    return "sandbox";
}

/* Writes len bytes of text to path (mode 0644, not the umask's: the
 * instance's user reads it). 0 or -1 (errno set). */
static int write_file(const char *path, const char *text, size_t len)
{
    return fileio_write(path, text, len, 0644);
}

/* Copies this machine's file src to path, mode 0644: empty when src is
 * unreadable. */
static int copy_host_file(const char *src, const char *path)
{
    if (fileio_copy(src, path, 0644) == 0)
        return 0;
    return write_file(path, "", 0);
}

/* The CA bundle Lambda's images keep at /etc/pki/tls/certs/ca-bundle.crt
 * (the managed client looks there first), made of this machine's: the
 * public CAs, so a function reaches Atlas with TLS as on Lambda. */
static const char *host_ca_bundle(void)
{
    static const char *const candidates[] = {"/etc/ssl/certs/ca-certificates.crt",
                                             "/etc/pki/tls/certs/ca-bundle.crt"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (access(candidates[i], R_OK) == 0)
            return candidates[i];
    }
    return NULL;
}

/* Makes each item of the skeleton under root: "d name" folders, "f name"
 * empty files (mount points), "l name target" links. */
static int make_skeleton(const char *root, char *err, size_t errlen)
{
    static const char *const dirs[] = {
        "bin", "dev",  "etc", "etc/pki", "etc/pki/tls", "etc/pki/tls/certs",
        "opt", "proc", "tmp", "var",     "var/task",    "var/runtime"};
    static const char *const links[][2] = {
        {"bin/sh", "busybox"},
        {"dev/fd", "/proc/self/fd"},
        {"dev/stdin", "/proc/self/fd/0"},
        {"dev/stdout", "/proc/self/fd/1"},
        {"dev/stderr", "/proc/self/fd/2"},
    };
    char path[PATH_MAX];
    if ((mkdir(root, 0755) == -1 && errno != EEXIST) || chmod(root, 0755) == -1)
        goto fail_root;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
        mode_t mode = strcmp(dirs[i], "tmp") == 0 ? 01777 : 0755;
        /* chmod: whatever tether up's umask, the instance's user must enter them */
        if ((mkdir(path, mode) == -1 && errno != EEXIST) || chmod(path, mode) == -1)
            goto fail;
    }
    for (size_t i = 0; i < PLATFORM_SANDBOX_N_DEV; i++) {
        snprintf(path, sizeof path, "%s/dev/%s", root, dev_names[i]);
        if (write_file(path, "", 0) == -1)
            goto fail;
    }
    snprintf(path, sizeof path, "%s/bin/busybox", root);
    if (write_file(path, "", 0) == -1)
        goto fail;
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", root, links[i][0]);
        if (symlink(links[i][1], path) == -1 && errno != EEXIST)
            goto fail;
    }
    static const struct {
        const char *name, *text;
        size_t len;
    } files[] = {
        {"etc/passwd", etc_passwd, sizeof etc_passwd - 1},
        {"etc/group", etc_group, sizeof etc_group - 1},
        {"etc/hosts", etc_hosts, sizeof etc_hosts - 1},
        {"etc/nsswitch.conf", etc_nsswitch, sizeof etc_nsswitch - 1},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", root, files[i].name);
        if (write_file(path, files[i].text, files[i].len) == -1)
            goto fail;
    }
    /* so that a function reaches Atlas by name as on Lambda (which gives its own) */
    snprintf(path, sizeof path, "%s/etc/resolv.conf", root);
    if (copy_host_file("/etc/resolv.conf", path) == -1)
        goto fail;
    const char *ca = host_ca_bundle();
    snprintf(path, sizeof path, "%s/etc/pki/tls/certs/ca-bundle.crt", root);
    if (ca != NULL && copy_host_file(ca, path) == -1)
        goto fail;
    return 0;
fail_root:
    snprintf(path, sizeof path, "%s", root);
fail:
    snprintf(err, errlen, "cannot make the sandbox root: %s: %s", path, strerror(errno));
    return -1;
}

int platform_sandbox_new(const char *dir, platform_sandbox_t **out, char *err, size_t errlen)
{
    platform_elf_info_t info;
    char why[256];
    if (platform_elf_read_file(PLATFORM_SANDBOX_SHELL, &info, why, sizeof why) != 0) {
        snprintf(err, errlen,
                 "isolation needs Debian's busybox-static at %s (apt-get install busybox-static): "
                 "%s",
                 PLATFORM_SANDBOX_SHELL, why);
        return -1;
    }
    if (info.is_dynamic) {
        snprintf(err, errlen,
                 "isolation needs a statically linked %s (Debian's busybox-static, not busybox)",
                 PLATFORM_SANDBOX_SHELL);
        return -1;
    }
    platform_sandbox_t *sb = calloc(1, sizeof *sb);
    if (sb == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int n = snprintf(sb->root, sizeof sb->root, "%s/root", dir);
    if (n < 0 || (size_t)n >= sizeof sb->root) {
        snprintf(err, errlen, "the sandbox folder's name is too long");
        free(sb);
        return -1;
    }
    snprintf(sb->task, sizeof sb->task, "%s%s", sb->root, PLATFORM_SANDBOX_TASK);
    snprintf(sb->tmp, sizeof sb->tmp, "%s/tmp", sb->root);
    snprintf(sb->proc, sizeof sb->proc, "%s/proc", sb->root);
    snprintf(sb->shell, sizeof sb->shell, "%s/bin/busybox", sb->root);
    for (size_t i = 0; i < PLATFORM_SANDBOX_N_DEV; i++) {
        snprintf(sb->dev[i], sizeof sb->dev[i], "%s/dev/%s", sb->root, dev_names[i]);
        snprintf(sb->host_dev[i], sizeof sb->host_dev[i], "/dev/%s", dev_names[i]);
    }
    sb->as_user = geteuid() == 0;
    if (make_skeleton(sb->root, err, errlen) != 0) {
        free(sb);
        return -1;
    }
    *out = sb;
    return 0;
}

void platform_sandbox_free(platform_sandbox_t *sb)
{
    free(sb);
}

int platform_sandbox_enter(const platform_sandbox_t *sb, const char *code_dir,
                           const char *tmp_opts, int *stage)
{
    const unsigned long ro = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
    *stage = PLATFORM_SANDBOX_UNSHARE;
    if (unshare(CLONE_NEWNS) == -1)
        return -1;
    /* nothing mounted from here on reaches this machine's namespace */
    *stage = PLATFORM_SANDBOX_PRIVATE;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
        return -1;
    *stage = PLATFORM_SANDBOX_ROOT; /* pivot_root wants the new root to be a mount */
    if (mount(sb->root, sb->root, NULL, MS_BIND, NULL) == -1)
        return -1;
    *stage = PLATFORM_SANDBOX_TASK_DIR;
    if (mount(code_dir, sb->task, NULL, MS_BIND | MS_REC, NULL) == -1 ||
        mount(NULL, sb->task, NULL, ro, NULL) == -1)
        return -1;
    *stage = PLATFORM_SANDBOX_TMPFS;
    /* its pages are charged to the instance's control group (a departure:
       Lambda's /tmp is disk, docs/platform.md "Containment") */
    if (mount("tmpfs", sb->tmp, "tmpfs", MS_NOSUID | MS_NODEV, tmp_opts) == -1)
        return -1;
    *stage = PLATFORM_SANDBOX_PROC;
    if (mount("proc", sb->proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
        return -1;
    *stage = PLATFORM_SANDBOX_DEV;
    for (size_t i = 0; i < PLATFORM_SANDBOX_N_DEV; i++) {
        if (mount(sb->host_dev[i], sb->dev[i], NULL, MS_BIND, NULL) == -1)
            return -1;
    }
    *stage = PLATFORM_SANDBOX_SHELL_BIN;
    if (mount(PLATFORM_SANDBOX_SHELL, sb->shell, NULL, MS_BIND, NULL) == -1 ||
        mount(NULL, sb->shell, NULL, ro, NULL) == -1)
        return -1;
    *stage = PLATFORM_SANDBOX_ROOT_RO;
    if (mount(NULL, sb->root, NULL, ro, NULL) == -1)
        return -1;
    *stage = PLATFORM_SANDBOX_PIVOT;
    if (chdir(sb->root) == -1)
        return -1;
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        /* the old root is stacked on the new one: detach it */
        if (umount2(".", MNT_DETACH) == -1)
            return -1;
    } else if (errno == EINVAL) {
        /* a root pivot_root refuses (an initramfs): move the new root over it */
        if (mount(".", "/", NULL, MS_MOVE, NULL) == -1 || chroot(".") == -1)
            return -1;
    } else {
        return -1;
    }
    *stage = PLATFORM_SANDBOX_CHDIR;
    if (chdir(PLATFORM_SANDBOX_TASK) == -1)
        return -1;
    /* Lambda runs a function as sbx_user1051, not root (the caller re-arms
     * its parent-death signal: a change of credentials clears it) */
    *stage = PLATFORM_SANDBOX_USER;
    if (sb->as_user && (setgroups(0, NULL) == -1 || setgid(PLATFORM_SANDBOX_GID) == -1 ||
                        setuid(PLATFORM_SANDBOX_UID) == -1))
        return -1;
    *stage = PLATFORM_SANDBOX_OK;
    return 0;
}

int platform_sandbox_trust(platform_sandbox_t *sb, const char *ca_pem)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/etc/pki/tls/certs/ca-bundle.crt", sb->root);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1)
        return -1;
    int rc = fileio_append_file(fd, ca_pem);
    if (close(fd) == -1)
        rc = -1;
    return rc;
}

int platform_ca_bundle_write(const char *path, const char *ca_pem)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1)
        return -1;
    const char *host = host_ca_bundle();
    int rc =
        (host == NULL || fileio_append_file(fd, host) == 0) && fileio_append_file(fd, ca_pem) == 0
            ? 0
            : -1;
    if (close(fd) == -1)
        rc = -1;
    return rc;
}
