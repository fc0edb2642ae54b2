/*
 * Control groups per instance (see cgroup.h and docs/platform.md,
 * "Containment"). Every path here is relative to a hierarchy's root folder,
 * held open (openat, mkdirat, unlinkat), so a hierarchy mounted only
 * privately for tether up (the folder detached at once) works the same.
 */
#include "platform/cgroup.h"

#include "common/fileio.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REL_MAX        1024 /* a group's path relative to its hierarchy's root */
#define KILL_ROUNDS    4    /* reads of cgroup.procs, SIGKILL to each, per kill */
#define EMPTY_WAIT_MS  100  /* an instance's group: how long its killed processes may take */
#define STALE_WAIT_MS  1000 /* a whole parent group, at start and at exit */
#define PROCS_READ_MAX 65536

/* One hierarchy tether up uses: v1 memory or freezer, or the v2 one. */
typedef struct hier {
    int fd;               /* its root folder, O_DIRECTORY; -1 when not found */
    const char *label;    /* "memory", "freezer", "unified" (for logs) */
    char base[REL_MAX];   /* the folder of every tether up's parent group: OWN/tether */
    char parent[REL_MAX]; /* ours: OWN/tether/PID ("" when not made) */
} hier_t;

struct platform_cgroups {
    platform_containment_t kind;
    hier_t h[PLATFORM_CGROUP_JOIN_MAX]; /* v1: memory, freezer; v2: unified, unused */
    int n;                              /* hierarchies in use */
    int anchor_fd; /* v1: freezer.state of tether/PID/anchor, FROZEN while we run; -1 */
    char where[2 * REL_MAX + 64];
};

const char *platform_containment_name(platform_containment_t kind)
{
    switch (kind) {
    case PLATFORM_CONTAIN_SIGNALS:
        return "signals";
    case PLATFORM_CONTAIN_CGROUP_V1:
        return "cgroup-v1";
    case PLATFORM_CONTAIN_CGROUP_V2:
        return "cgroup-v2";
    }
    return "unknown";
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Writes value to rel under dirfd. 0, or -1 with errno. */
static int write_at(int dirfd, const char *rel, const char *value)
{
    int fd = openat(dirfd, rel, O_WRONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    size_t len = strlen(value);
    ssize_t w;
    do {
        w = write(fd, value, len);
    } while (w == -1 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    return w == (ssize_t)len ? 0 : -1;
}

static int path_join(char *out, size_t outlen, const char *a, const char *b)
{
    int n = a[0] != '\0' ? snprintf(out, outlen, "%s/%s", a, b) : snprintf(out, outlen, "%s", b);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* Sends sig to every process listed in group/cgroup.procs; how many. */
static int signal_procs(int dirfd, const char *group, int sig)
{
    char rel[REL_MAX + 32];
    char *buf = malloc(PROCS_READ_MAX);
    if (buf == NULL || path_join(rel, sizeof rel, group, "cgroup.procs") != 0) {
        free(buf);
        return 0;
    }
    int n = 0;
    if (fileio_read_small_at(dirfd, rel, buf, PROCS_READ_MAX) > 0) {
        char *s = buf, *end;
        for (;;) {
            long pid = strtol(s, &end, 10);
            if (end == s)
                break;
            s = end;
            if (pid > 0 && kill((pid_t)pid, sig) == 0)
                n++;
        }
    }
    free(buf);
    return n;
}

/* Removes the group folder rel, waiting up to wait_ms for its killed
 * processes to leave it. 0, or -1 (still busy, or gone wrong). */
static int remove_group(int dirfd, const char *rel, long wait_ms)
{
    for (long waited = 0;; waited++) {
        if (unlinkat(dirfd, rel, AT_REMOVEDIR) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || waited >= wait_ms)
            return -1;
        if (waited % 10 == 0)
            signal_procs(dirfd, rel, SIGKILL); /* a process forked since */
        sleep_ms(1);
    }
}

/* Thaws (v1 freezer, v2 cgroup.freeze) and SIGKILLs everything in the group
 * rel of hierarchy h, then removes rel and the groups below it. */
static void empty_tree(hier_t *h, platform_containment_t kind, const char *rel, int depth,
                       long wait_ms)
{
    char sub[REL_MAX];
    if (depth < 4) {
        int dfd = openat(h->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd == -1 ? NULL : fdopendir(dfd);
        if (d == NULL && dfd != -1)
            close(dfd);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (e->d_type != DT_DIR || e->d_name[0] == '.')
                continue;
            if (path_join(sub, sizeof sub, rel, e->d_name) == 0)
                empty_tree(h, kind, sub, depth + 1, wait_ms);
        }
        if (d != NULL)
            closedir(d);
    }
    if (kind == PLATFORM_CONTAIN_CGROUP_V1 && strcmp(h->label, "freezer") == 0 &&
        path_join(sub, sizeof sub, rel, "freezer.state") == 0)
        (void)write_at(h->fd, sub, "THAWED");
    if (kind == PLATFORM_CONTAIN_CGROUP_V2) {
        if (path_join(sub, sizeof sub, rel, "cgroup.freeze") == 0)
            (void)write_at(h->fd, sub, "0");
        if (path_join(sub, sizeof sub, rel, "cgroup.kill") == 0)
            (void)write_at(h->fd, sub, "1");
    }
    for (int i = 0; i < KILL_ROUNDS && signal_procs(h->fd, rel, SIGKILL) > 0; i++) {
    }
    if (remove_group(h->fd, rel, wait_ms) != 0)
        log_warn("platform", "cannot remove control group %s:/%s: %s", h->label, rel,
                 strerror(errno));
}

/* Removes the parent groups of tether ups that are gone (their processes
 * too: a detached child of an instance outlives a tether up that was killed
 * with SIGKILL). */
static void remove_stale(platform_cgroups_t *cgs)
{
    for (int i = 0; i < cgs->n; i++) {
        hier_t *h = &cgs->h[i];
        int dfd = openat(h->fd, h->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd == -1 ? NULL : fdopendir(dfd);
        if (d == NULL) {
            if (dfd != -1)
                close(dfd);
            continue;
        }
        struct dirent *e;
        char rel[REL_MAX];
        while ((e = readdir(d)) != NULL) {
            char *end;
            long pid = strtol(e->d_name, &end, 10);
            if (e->d_type != DT_DIR || end == e->d_name || *end != '\0' || pid <= 0)
                continue;
            if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
                continue; /* another tether up, running */
            if (path_join(rel, sizeof rel, h->base, e->d_name) != 0)
                continue;
            log_info("platform", "removing control group %s:/%s of a tether up that is gone",
                     h->label, rel);
            empty_tree(h, cgs->kind, rel, 0, STALE_WAIT_MS);
        }
        closedir(d);
    }
}

/* Our group's path in the hierarchy whose /proc/self/cgroup line has
 * controllers `want` ("" for v2), without its leading '/'. 0 or -1. */
static int own_group(const char *want, char *out, size_t outlen)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (f == NULL)
        return -1;
    char line[REL_MAX + 128];
    int rc = -1;
    while (rc != 0 && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        const char *ctrls = c1 + 1;
        int match = 0;
        if (want[0] == '\0') {
            match = ctrls[0] == '\0' && strncmp(line, "0:", 2) == 0;
        } else {
            char list[256];
            snprintf(list, sizeof list, "%s", ctrls);
            for (char *save = NULL, *t = strtok_r(list, ",", &save); t && !match;
                 t = strtok_r(NULL, ",", &save))
                match = strcmp(t, want) == 0;
        }
        if (match) {
            const char *path = c2 + 1;
            while (*path == '/')
                path++;
            rc = snprintf(out, outlen, "%s", path) < (int)outlen ? 0 : -1;
        }
    }
    fclose(f);
    return rc;
}

/* Opens the root of the hierarchy of type fstype ("cgroup" with controller
 * `want`, or "cgroup2"): where /proc/self/mountinfo says it is mounted, or,
 * when that folder is hidden, mounted again privately and detached. Fills
 * *mroot with the mount's root in the hierarchy (not "/" inside a cgroup
 * namespace). The folder's descriptor, or -1. */
static int open_hierarchy(const char *fstype, const char *want, char *mroot, size_t mrootlen)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return -1;
    char line[4096], mnt[PATH_MAX] = "", data[256] = "";
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
        char *sep = strstr(line, " - ");
        if (sep == NULL)
            continue;
        char root[PATH_MAX], point[PATH_MAX], type[64], src[256], super[1024];
        if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 ||
            sscanf(sep + 3, "%63s %255s %1023s", type, src, super) != 3 ||
            strcmp(type, fstype) != 0)
            continue;
        if (want != NULL) {
            int has = 0;
            data[0] = '\0';
            for (char *save = NULL, *t = strtok_r(super, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "rw") == 0 || strcmp(t, "ro") == 0)
                    continue;
                if (strcmp(t, want) == 0)
                    has = 1;
                size_t dl = strlen(data);
                snprintf(data + dl, sizeof data - dl, "%s%s", dl ? "," : "", t);
            }
            if (!has)
                continue;
        }
        snprintf(mnt, sizeof mnt, "%s", point);
        snprintf(mroot, mrootlen, "%s", root);
        found = 1;
    }
    fclose(f);
    if (!found)
        return -1;
    int fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd != -1 && faccessat(fd, "cgroup.procs", F_OK, 0) == 0)
        return fd;
    if (fd != -1)
        close(fd);
    /* hidden (a later mount over it): the same hierarchy, mounted privately */
    char dir[] = "/tmp/tether-cgroup-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -1;
    fd = -1;
    if (mount(fstype, dir, fstype, MS_NOSUID | MS_NODEV | MS_NOEXEC, want ? data : NULL) == 0) {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        umount2(dir, MNT_DETACH);
        snprintf(mroot, mrootlen, "/");
    }
    rmdir(dir);
    return fd;
}

/* Sets up h: the hierarchy's root, our group in it (as /proc/self/cgroup
 * names it, relative to the mount's root) and the base OWN/tether. */
static int hier_open(hier_t *h, const char *label, const char *fstype, const char *want,
                     const char *own_key)
{
    char own[REL_MAX], mroot[PATH_MAX];
    h->label = label;
    h->fd = -1;
    if (own_group(own_key, own, sizeof own) != 0)
        return -1;
    h->fd = open_hierarchy(fstype, want, mroot, sizeof mroot);
    if (h->fd == -1)
        return -1;
    const char *r = mroot;
    while (*r == '/')
        r++;
    size_t rl = strlen(r);
    const char *rel = own;
    if (rl > 0) { /* the mount shows only part of the hierarchy */
        if (strncmp(own, r, rl) != 0 || (own[rl] != '/' && own[rl] != '\0'))
            return -1;
        rel = own + rl;
        while (*rel == '/')
            rel++;
    }
    return path_join(h->base, sizeof h->base, rel, "tether");
}

static void hier_close(hier_t *h)
{
    if (h->fd != -1)
        close(h->fd);
    h->fd = -1;
}

/* v2: the unified hierarchy, if the memory controller reaches it. The groups
 * go next to ours (a group with processes cannot hand controllers down). */
static int try_v2(platform_cgroups_t *cgs, char *why, size_t whylen)
{
    hier_t *h = &cgs->h[0];
    if (hier_open(h, "unified", "cgroup2", NULL, "") != 0) {
        snprintf(why, whylen, "no cgroup2 hierarchy");
        hier_close(h);
        return -1;
    }
    char own[REL_MAX], rel[REL_MAX + 32], ctl[512];
    snprintf(own, sizeof own, "%.*s", (int)(strlen(h->base) - strlen("tether")), h->base);
    size_t ol = strlen(own);
    if (ol > 0 && own[ol - 1] == '/')
        own[--ol] = '\0';
    if (path_join(rel, sizeof rel, own, "cgroup.controllers") != 0 ||
        fileio_read_small_at(h->fd, rel, ctl, sizeof ctl) < 0 || strstr(ctl, "memory") == NULL) {
        snprintf(why, whylen, "cgroup2 has no memory controller here (it is on cgroup v1)");
        hier_close(h);
        return -1;
    }
    if (ol > 0) { /* tether/ beside our group, in its parent */
        char *slash = strrchr(own, '/');
        if (slash != NULL)
            *slash = '\0';
        else
            own[0] = '\0';
        if (path_join(h->base, sizeof h->base, own, "tether") != 0)
            return -1;
    }
    if (path_join(rel, sizeof rel, own, "cgroup.subtree_control") != 0 ||
        write_at(h->fd, rel, "+memory") != 0) {
        snprintf(why, whylen, "cgroup2: cannot enable memory in /%s: %s", own, strerror(errno));
        hier_close(h);
        return -1;
    }
    cgs->n = 1;
    cgs->kind = PLATFORM_CONTAIN_CGROUP_V2;
    return 0;
}

static int try_v1(platform_cgroups_t *cgs, char *why, size_t whylen)
{
    if (hier_open(&cgs->h[0], "memory", "cgroup", "memory", "memory") != 0 ||
        hier_open(&cgs->h[1], "freezer", "cgroup", "freezer", "freezer") != 0) {
        snprintf(why, whylen, "no cgroup v1 memory and freezer hierarchies");
        hier_close(&cgs->h[0]);
        hier_close(&cgs->h[1]);
        return -1;
    }
    cgs->n = 2;
    cgs->kind = PLATFORM_CONTAIN_CGROUP_V1;
    return 0;
}

/* Makes tether/ and tether/PID in every hierarchy (v2: handing memory down). */
static int make_parents(platform_cgroups_t *cgs, char *why, size_t whylen)
{
    char rel[REL_MAX + 32];
    for (int i = 0; i < cgs->n; i++) {
        hier_t *h = &cgs->h[i];
        if (mkdirat(h->fd, h->base, 0755) == -1 && errno != EEXIST)
            goto fail;
        char pid[24];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        if (path_join(h->parent, sizeof h->parent, h->base, pid) != 0)
            goto fail;
        if (mkdirat(h->fd, h->parent, 0755) == -1 && errno != EEXIST)
            goto fail;
        if (cgs->kind == PLATFORM_CONTAIN_CGROUP_V2 &&
            ((path_join(rel, sizeof rel, h->base, "cgroup.subtree_control") != 0 ||
              write_at(h->fd, rel, "+memory") != 0) ||
             (path_join(rel, sizeof rel, h->parent, "cgroup.subtree_control") != 0 ||
              write_at(h->fd, rel, "+memory") != 0)))
            goto fail;
        continue;
    fail:
        snprintf(why, whylen, "cannot make control group %s:/%s: %s", h->label,
                 h->parent[0] ? h->parent : h->base, strerror(errno));
        return -1;
    }
    if (cgs->kind == PLATFORM_CONTAIN_CGROUP_V1) {
        /* The kernel turns its freezer checks on (patching its code, 2-10 ms
         * per freeze and per thaw here) when a first group freezes, and off
         * when the last thaws: an empty group held frozen keeps them on, and
         * an instance's freeze or thaw costs a few microseconds. */
        hier_t *fz = &cgs->h[1];
        if (path_join(rel, sizeof rel, fz->parent, "anchor") == 0 &&
            (mkdirat(fz->fd, rel, 0755) == 0 || errno == EEXIST)) {
            char state[REL_MAX + 48];
            if (path_join(state, sizeof state, rel, "freezer.state") == 0) {
                cgs->anchor_fd = openat(fz->fd, state, O_WRONLY | O_CLOEXEC);
                if (cgs->anchor_fd != -1 && write(cgs->anchor_fd, "FROZEN", 6) != 6) {
                    close(cgs->anchor_fd);
                    cgs->anchor_fd = -1;
                }
            }
        }
    }
    return 0;
}

platform_cgroups_t *platform_cgroups_new(int disabled, char *why, size_t whylen)
{
    platform_cgroups_t *cgs = calloc(1, sizeof *cgs);
    if (cgs == NULL)
        return NULL;
    cgs->anchor_fd = -1;
    for (int i = 0; i < PLATFORM_CGROUP_JOIN_MAX; i++)
        cgs->h[i].fd = -1;
    cgs->kind = PLATFORM_CONTAIN_SIGNALS;
    if (disabled) {
        snprintf(why, whylen, "--no-cgroups");
        return cgs;
    }
    char why2[256] = "";
    if (try_v2(cgs, why2, sizeof why2) != 0 && try_v1(cgs, why, whylen) != 0) {
        size_t l = strlen(why);
        snprintf(why + l, whylen - l, "; %s", why2);
        return cgs;
    }
    remove_stale(cgs);
    if (make_parents(cgs, why, whylen) != 0) {
        for (int i = 0; i < cgs->n; i++)
            hier_close(&cgs->h[i]);
        cgs->n = 0;
        cgs->kind = PLATFORM_CONTAIN_SIGNALS;
        return cgs;
    }
    size_t l = 0;
    for (int i = 0; i < cgs->n; i++)
        l += (size_t)snprintf(cgs->where + l, sizeof cgs->where - l, "%s%s:/%s", i ? " " : "",
                              cgs->h[i].label, cgs->h[i].parent);
    return cgs;
}

void platform_cgroups_free(platform_cgroups_t *cgs)
{
    if (cgs == NULL)
        return;
    if (cgs->anchor_fd != -1) {
        (void)(write(cgs->anchor_fd, "THAWED", 6) == 6);
        close(cgs->anchor_fd);
    }
    /* v1: the freezer first, so what is killed is thawed and can die */
    for (int i = cgs->n - 1; i >= 0; i--) {
        hier_t *h = &cgs->h[i];
        if (h->parent[0] != '\0')
            empty_tree(h, cgs->kind, h->parent, 0, STALE_WAIT_MS);
        (void)unlinkat(h->fd, h->base, AT_REMOVEDIR); /* when no other tether up uses it */
        hier_close(h);
    }
    free(cgs);
}

platform_containment_t platform_cgroups_kind(const platform_cgroups_t *cgs)
{
    return cgs ? cgs->kind : PLATFORM_CONTAIN_SIGNALS;
}

const char *platform_cgroups_where(const platform_cgroups_t *cgs)
{
    return cgs ? cgs->where : "";
}

/* The file `file` of cg's group in hierarchy i. */
static int cg_path(const platform_cgroup_t *cg, int i, const char *file, char *out, size_t outlen)
{
    int n = file ? snprintf(out, outlen, "%s/%s/%s", cg->parent->h[i].parent, cg->name, file)
                 : snprintf(out, outlen, "%s/%s", cg->parent->h[i].parent, cg->name);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static int cg_open(const platform_cgroup_t *cg, int i, const char *file, int flags)
{
    char rel[REL_MAX + 160];
    if (cg_path(cg, i, file, rel, sizeof rel) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return openat(cg->parent->h[i].fd, rel, flags | O_CLOEXEC);
}

static int cg_write(const platform_cgroup_t *cg, int i, const char *file, const char *value)
{
    char rel[REL_MAX + 160];
    if (cg_path(cg, i, file, rel, sizeof rel) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return write_at(cg->parent->h[i].fd, rel, value);
}

int platform_cgroup_new(platform_cgroups_t *cgs, const char *name, unsigned id, int memory_mb,
                        platform_cgroup_t **out, char *err, size_t errlen)
{
    if (cgs == NULL || cgs->kind == PLATFORM_CONTAIN_SIGNALS) {
        snprintf(err, errlen, "no control groups");
        return -1;
    }
    platform_cgroup_t *cg = calloc(1, sizeof *cg);
    if (cg == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cg->kind = cgs->kind;
    cg->parent = cgs;
    cg->freeze_fd = cg->peak_fd = cg->oom_fd = -1;
    for (int i = 0; i < PLATFORM_CGROUP_JOIN_MAX; i++)
        cg->join_fd[i] = -1;
    cg->limit_bytes = (uint64_t)memory_mb * 1024 * 1024;
    snprintf(cg->name, sizeof cg->name, "%s-%u", name, id);
    char rel[REL_MAX + 160], limit[32];
    snprintf(limit, sizeof limit, "%llu", (unsigned long long)cg->limit_bytes);
    const char *step = "mkdir";
    for (int i = 0; i < cgs->n; i++) {
        if (cg_path(cg, i, NULL, rel, sizeof rel) != 0)
            goto fail;
        if (mkdirat(cgs->h[i].fd, rel, 0755) == -1) {
            if (errno != EEXIST) /* a group of an earlier instance that would not empty */
                goto fail;
        }
    }
    if (cg->kind == PLATFORM_CONTAIN_CGROUP_V1) {
        step = "memory.limit_in_bytes";
        if (cg_write(cg, 0, "memory.limit_in_bytes", limit) != 0)
            goto fail;
        /* memory and swap together: no swap beyond the limit (absent without
           swap accounting, where there is nothing to limit) */
        (void)cg_write(cg, 0, "memory.memsw.limit_in_bytes", limit);
        (void)cg_write(cg, 0, "memory.swappiness", "0");
        step = "cgroup.procs";
        if ((cg->join_fd[0] = cg_open(cg, 0, "cgroup.procs", O_WRONLY)) == -1 ||
            (cg->join_fd[1] = cg_open(cg, 1, "cgroup.procs", O_WRONLY)) == -1)
            goto fail;
        step = "freezer.state";
        if ((cg->freeze_fd = cg_open(cg, 1, "freezer.state", O_WRONLY)) == -1)
            goto fail;
        cg->peak_fd = cg_open(cg, 0, "memory.max_usage_in_bytes", O_RDONLY);
    } else {
        step = "memory.max";
        if (cg_write(cg, 0, "memory.max", limit) != 0)
            goto fail;
        (void)cg_write(cg, 0, "memory.swap.max", "0");
        /* Lambda ends the whole environment: the OOM killer takes every
           process of the group or none (absent before Linux 4.19, where
           tether kills the rest on the OOM watch's notice) */
        (void)cg_write(cg, 0, "memory.oom.group", "1");
        step = "cgroup.procs";
        if ((cg->join_fd[0] = cg_open(cg, 0, "cgroup.procs", O_WRONLY)) == -1)
            goto fail;
        step = "cgroup.freeze";
        if ((cg->freeze_fd = cg_open(cg, 0, "cgroup.freeze", O_WRONLY)) == -1)
            goto fail;
        cg->peak_fd = cg_open(cg, 0, "memory.peak", O_RDONLY);
    }
    *out = cg;
    return 0;
fail:
    snprintf(err, errlen, "control group %s: %s: %s", cg->name, step, strerror(errno));
    platform_cgroup_free(cg);
    return -1;
}

int platform_cgroup_join(const platform_cgroup_t *cg)
{
    for (int i = 0; i < PLATFORM_CGROUP_JOIN_MAX; i++) {
        if (cg->join_fd[i] == -1)
            continue;
        ssize_t w;
        do {
            w = write(cg->join_fd[i], "0", 1); /* 0: the writer itself */
        } while (w == -1 && errno == EINTR);
        if (w != 1)
            return -1;
    }
    return 0;
}

void platform_cgroup_spawned(platform_cgroup_t *cg)
{
    for (int i = 0; i < PLATFORM_CGROUP_JOIN_MAX; i++) {
        if (cg->join_fd[i] != -1)
            close(cg->join_fd[i]);
        cg->join_fd[i] = -1;
    }
}

int platform_cgroup_freeze(platform_cgroup_t *cg, int frozen)
{
    const char *v = cg->kind == PLATFORM_CONTAIN_CGROUP_V1 ? (frozen ? "FROZEN" : "THAWED")
                                                           : (frozen ? "1" : "0");
    size_t len = strlen(v);
    ssize_t w;
    do {
        w = write(cg->freeze_fd, v, len);
    } while (w == -1 && errno == EINTR);
    if (w != (ssize_t)len)
        return -1;
    cg->frozen = frozen;
    return 0;
}

void platform_cgroup_kill(platform_cgroup_t *cg)
{
    char rel[REL_MAX + 160];
    if (cg->removed || cg_path(cg, 0, NULL, rel, sizeof rel) != 0)
        return;
    /* v1: a frozen process dies only once thawed */
    if (cg->frozen && platform_cgroup_freeze(cg, 0) != 0)
        log_warn("platform", "cannot thaw control group %s: %s", cg->name, strerror(errno));
    if (cg->kind == PLATFORM_CONTAIN_CGROUP_V2 && cg_write(cg, 0, "cgroup.kill", "1") == 0)
        return;
    for (int i = 0; i < KILL_ROUNDS && signal_procs(cg->parent->h[0].fd, rel, SIGKILL) > 0; i++) {
    }
}

int platform_cgroup_pids(const platform_cgroup_t *cg, int *pids, int max)
{
    char rel[REL_MAX + 160];
    if (cg->removed || cg_path(cg, 0, "cgroup.procs", rel, sizeof rel) != 0)
        return -1;
    char *buf = malloc(PROCS_READ_MAX);
    if (buf == NULL)
        return -1;
    int n = -1;
    if (fileio_read_small_at(cg->parent->h[0].fd, rel, buf, PROCS_READ_MAX) >= 0) {
        n = 0;
        char *s = buf, *end;
        for (long pid; n < max && (pid = strtol(s, &end, 10), end != s); s = end)
            if (pid > 0)
                pids[n++] = (int)pid;
    }
    free(buf);
    return n;
}

/* A number in a cgroup file read with one pread from offset 0. */
static uint64_t pread_u64(int fd)
{
    char buf[64];
    ssize_t n;
    if (fd == -1)
        return 0;
    do {
        n = pread(fd, buf, sizeof buf - 1, 0);
    } while (n == -1 && errno == EINTR);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtoull(buf, NULL, 10);
}

uint64_t platform_cgroup_peak_kb(const platform_cgroup_t *cg)
{
    return (pread_u64(cg->peak_fd) + 1023) / 1024;
}

unsigned platform_cgroup_oom_kills(const platform_cgroup_t *cg)
{
    char rel[REL_MAX + 160], buf[1024];
    const char *file =
        cg->kind == PLATFORM_CONTAIN_CGROUP_V1 ? "memory.oom_control" : "memory.events";
    if (cg_path(cg, 0, file, rel, sizeof rel) != 0 ||
        fileio_read_small_at(cg->parent->h[0].fd, rel, buf, sizeof buf) <= 0)
        return 0;
    const char *k = strstr(buf, "oom_kill ");
    return k ? (unsigned)strtoul(k + 9, NULL, 10) : 0;
}

uint64_t platform_cgroup_events_oom(const char *text)
{
    uint64_t n = 0;
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, "oom ", 4) == 0)
            n += strtoull(line + 4, NULL, 10);
        else if (strncmp(line, "oom_kill ", 9) == 0)
            n += strtoull(line + 9, NULL, 10);
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return n;
}

/* v2: memory.events' OOM counters now (0 when unreadable). */
static uint64_t events_oom_now(const platform_cgroup_t *cg)
{
    char rel[REL_MAX + 160], buf[1024];
    if (cg_path(cg, 0, "memory.events", rel, sizeof rel) != 0 ||
        fileio_read_small_at(cg->parent->h[0].fd, rel, buf, sizeof buf) <= 0)
        return 0;
    return platform_cgroup_events_oom(buf);
}

int platform_cgroup_oom_watch(platform_cgroup_t *cg)
{
    if (cg->oom_fd != -1 || cg->removed)
        return cg->oom_fd;
    char rel[REL_MAX + 160], line[64];
    if (cg->kind == PLATFORM_CONTAIN_CGROUP_V1) {
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        int ofd = efd == -1 ? -1 : cg_open(cg, 0, "memory.oom_control", O_RDONLY);
        if (ofd != -1) {
            snprintf(line, sizeof line, "%d %d", efd, ofd);
            if (cg_write(cg, 0, "cgroup.event_control", line) == 0)
                cg->oom_fd = efd;
            close(ofd); /* the kernel keeps what it needs of it */
        }
        if (cg->oom_fd == -1 && efd != -1)
            close(efd);
    } else {
        int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        /* inotify wants a path: the hierarchy's folder through /proc/self/fd */
        int n = ifd == -1 ? -1
                          : snprintf(rel, sizeof rel, "/proc/self/fd/%d/%s/%s/memory.events",
                                     cg->parent->h[0].fd, cg->parent->h[0].parent, cg->name);
        if (n > 0 && (size_t)n < sizeof rel && inotify_add_watch(ifd, rel, IN_MODIFY) != -1) {
            cg->oom_fd = ifd;
            cg->oom_events = events_oom_now(cg);
        } else if (ifd != -1) {
            close(ifd);
        }
    }
    return cg->oom_fd;
}

int platform_cgroup_oom_check(platform_cgroup_t *cg)
{
    if (cg->oom_fd == -1)
        return 0;
    struct pollfd pfd = {cg->oom_fd, POLLIN, 0};
    if (poll(&pfd, 1, 0) != 1)
        return 0;
    char buf[4096];
    ssize_t n;
    int notified = 0;
    do {
        n = read(cg->oom_fd, buf, sizeof buf);
        notified |= n > 0;
    } while (n > 0 || (n == -1 && errno == EINTR));
    if (!notified)
        return 0;
    if (cg->kind == PLATFORM_CONTAIN_CGROUP_V1)
        return 1; /* the OOM notice itself (under_oom): its kill follows */
    uint64_t now = events_oom_now(cg);
    int moved = now > cg->oom_events;
    cg->oom_events = now;
    return moved;
}

void platform_cgroup_oom_unwatch(platform_cgroup_t *cg)
{
    if (cg->oom_fd != -1)
        close(cg->oom_fd);
    cg->oom_fd = -1;
}

int platform_cgroup_remove(platform_cgroup_t *cg, long wait_ms)
{
    if (cg->removed)
        return 0;
    platform_cgroup_oom_unwatch(cg);
    platform_cgroup_kill(cg);
    char rel[REL_MAX + 160];
    int rc = 0;
    /* v1: the freezer group first (its processes thawed), then memory */
    for (int i = cg->parent->n - 1; i >= 0; i--) {
        if (cg_path(cg, i, NULL, rel, sizeof rel) == 0 &&
            remove_group(cg->parent->h[i].fd, rel, wait_ms) != 0)
            rc = -1;
    }
    cg->removed = rc == 0;
    return rc;
}

void platform_cgroup_free(platform_cgroup_t *cg)
{
    if (cg == NULL)
        return;
    platform_cgroup_spawned(cg);
    if (platform_cgroup_remove(cg, EMPTY_WAIT_MS) != 0)
        log_debug("platform", "control group %s not empty yet: removed at exit", cg->name);
    if (cg->freeze_fd != -1)
        close(cg->freeze_fd);
    if (cg->peak_fd != -1)
        close(cg->peak_fd);
    platform_cgroup_oom_unwatch(cg);
    free(cg);
}
