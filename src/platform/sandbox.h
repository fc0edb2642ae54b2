/*
 * Isolated instances: the file system an AWS Lambda execution environment
 * gives a provided.* function, and nothing of this machine's. Each isolated
 * instance runs in a private mount namespace whose root holds only
 *
 *   /var/task   the function's code (read-only), also the working directory
 *   /tmp        a tmpfs of its own, EphemeralStorage's size (512 MB unless the
 *               template says), its pages charged to the instance's control group
 *   /proc       procfs
 *   /dev        null zero full random urandom, and fd stdin stdout stderr links
 *   /bin/sh     Debian's busybox-static (/bin/busybox), read-only
 *   /etc        passwd, group, hosts, resolv.conf (this machine's), nsswitch.conf
 *   /opt, /var/runtime   empty (layers, the runtime's folder on Lambda)
 *
 * and no /lib, /lib64 or /usr: a zip that would not start on Lambda (a
 * library it does not bundle) does not start here either. The root is
 * read-only, as on Lambda, and when tether up is root the instance runs as
 * Lambda's sbx_user1051 (uid 993), so a file of the zip that is not readable
 * by others fails here as there. It is a fidelity boundary, not a security
 * one (no user namespace, no seccomp; tether up's other users' files stay out
 * of reach only because they are not mounted).
 *
 * tether up makes the skeleton of that root once, in a private folder; the
 * forked child (spawn.c) enters it before exec with platform_sandbox_enter,
 * which makes only system calls (async-signal-safe, no allocation).
 */
#ifndef TETHER_PLATFORM_SANDBOX_H
#define TETHER_PLATFORM_SANDBOX_H

#include <limits.h>
#include <stddef.h>

#define PLATFORM_SANDBOX_SHELL    "/bin/busybox" /* Debian's busybox-static */
#define PLATFORM_SANDBOX_TASK     "/var/task"
#define PLATFORM_SANDBOX_RUNTIME  "/var/runtime"
#define PLATFORM_SANDBOX_N_DEV    5
#define PLATFORM_SANDBOX_TMP_MB   512    /* Lambda's default /tmp (EphemeralStorage) */
#define PLATFORM_SANDBOX_UID      993    /* Lambda's sbx_user1051 */
#define PLATFORM_SANDBOX_GID      990

/* The step of platform_sandbox_enter that failed (for the exec-error pipe). */
typedef enum platform_sandbox_stage {
    PLATFORM_SANDBOX_OK = 0,        /* nothing failed */
    PLATFORM_SANDBOX_UNSHARE = 1,   /* unshare(CLONE_NEWNS) */
    PLATFORM_SANDBOX_PRIVATE = 2,   /* making every mount private */
    PLATFORM_SANDBOX_ROOT = 3,      /* binding the skeleton as the new root */
    PLATFORM_SANDBOX_TASK_DIR = 4,  /* binding the code at /var/task (read-only) */
    PLATFORM_SANDBOX_TMPFS = 5,     /* the tmpfs at /tmp */
    PLATFORM_SANDBOX_PROC = 6,      /* procfs at /proc */
    PLATFORM_SANDBOX_DEV = 7,       /* binding the device files into /dev */
    PLATFORM_SANDBOX_SHELL_BIN = 8, /* binding busybox at /bin/busybox (read-only) */
    PLATFORM_SANDBOX_ROOT_RO = 9,   /* making the root read-only */
    PLATFORM_SANDBOX_PIVOT = 10,    /* pivot_root (or chroot) into it, detaching the old root */
    PLATFORM_SANDBOX_CHDIR = 11,    /* chdir /var/task */
    PLATFORM_SANDBOX_USER = 12,     /* becoming sbx_user1051 (setgroups, setgid, setuid) */
} platform_sandbox_stage_t;

/* Host paths of the skeleton and of each mount point in it, built once so the
 * child only makes system calls. */
typedef struct platform_sandbox {
    char root[PATH_MAX / 2];                    /* the skeleton: the instance's "/" */
    char task[PATH_MAX];                        /* root/var/task */
    char tmp[PATH_MAX];                         /* root/tmp */
    char proc[PATH_MAX];                        /* root/proc */
    char shell[PATH_MAX];                       /* root/bin/busybox */
    char dev[PLATFORM_SANDBOX_N_DEV][PATH_MAX]; /* root/dev/null, ... */
    char host_dev[PLATFORM_SANDBOX_N_DEV][16];  /* /dev/null, ... */
    int as_user; /* 1: the instance becomes sbx_user1051 (PLATFORM_SANDBOX_UID/GID), as
                    Lambda runs functions; 0 when tether up is not root and cannot */
} platform_sandbox_t;

/* Makes the skeleton in dir/root (dir: a private folder removed at exit) and
 * checks that /bin/busybox is there and statically linked. 0 and *out; -1
 * with the reason in err. Free with platform_sandbox_free (the files stay
 * until dir is removed). */
__attribute__((warn_unused_result)) int
platform_sandbox_new(const char *dir, platform_sandbox_t **out, char *err, size_t errlen);
void platform_sandbox_free(platform_sandbox_t *sb);

/* In a forked child before exec: enters a new mount namespace whose root is
 * the skeleton with code_dir at /var/task and a tmpfs at /tmp mounted with
 * tmp_opts ("mode=1777,size=512m", made before the fork), and makes
 * /var/task the working directory. Only system calls. 0; or -1 with errno
 * set and *stage naming the step that failed. */
__attribute__((warn_unused_result)) int platform_sandbox_enter(const platform_sandbox_t *sb,
                                                               const char *code_dir,
                                                               const char *tmp_opts,
                                                               int *stage /* OUT */);

/* What stage failed, for a message: "unshare(CLONE_NEWNS)", "mount /tmp". */
const char *platform_sandbox_stage_name(int stage);

/* platform_sandbox_probe, which starts a process in the sandbox, is spawn.h's:
 * the sandbox knows nothing of spawning. */

/* Appends the CA certificate file ca_pem to the skeleton's
 * /etc/pki/tls/certs/ca-bundle.crt, so isolated instances trust it (tether up
 * --db-tls: its local CA). Before instances start. 0, or -1 with errno. */
__attribute__((warn_unused_result)) int platform_sandbox_trust(platform_sandbox_t *sb,
                                                               const char *ca_pem);

/* Writes path: this machine's public CA bundle followed by the CA certificate
 * file ca_pem (mode 0644). 0, or -1 with errno. */
__attribute__((warn_unused_result)) int platform_ca_bundle_write(const char *path,
                                                                 const char *ca_pem);

#endif
