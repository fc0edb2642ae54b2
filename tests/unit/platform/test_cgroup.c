/*
 * The cgroup v2 path of cgroup.c, which this machine cannot run for real
 * (its memory controller is bound to cgroup v1): the files an instance's
 * group is made with, frozen, killed and read through, checked against a
 * folder of plain files standing in for the hierarchy. The kernel's side
 * (docs/admin-guide/cgroup-v2.rst) is what the files' names and values
 * follow: memory.max, memory.swap.max, memory.oom.group, cgroup.procs,
 * cgroup.freeze, cgroup.kill, memory.peak, memory.events.
 */
#include "harness.h"
#include "platform/cgroup.c"

#include <sys/stat.h>

static char root[] = "/tmp/tether-test-cgroup-XXXXXX";

/* An empty file rel under root (the group's files exist before it is "made"). */
static void touch(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd != -1);
    if (fd != -1)
        close(fd);
}

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd != -1);
    if (fd != -1) {
        CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
        close(fd);
    }
}

static const char *get(const char *rel)
{
    static char buf[256];
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd == -1 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd != -1)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void test_events_oom(void)
{
    /* memory.events as Linux 6.x writes it */
    CHECK(platform_cgroup_events_oom("low 0\nhigh 0\nmax 12\noom 0\noom_kill 0\n"
                                     "oom_group_kill 0\n") == 0);
    CHECK(platform_cgroup_events_oom("low 0\nhigh 0\nmax 40\noom 1\noom_kill 1\n"
                                     "oom_group_kill 1\n") == 2);
    CHECK(platform_cgroup_events_oom("max 3\noom 2\n") == 2);
    CHECK(platform_cgroup_events_oom("") == 0);
    CHECK(platform_cgroup_events_oom("oom_group_kill 5\n") == 0);
}

static void test_v2_files(void)
{
    CHECK(mkdtemp(root) != NULL);
    platform_cgroups_t cgs;
    memset(&cgs, 0, sizeof cgs);
    cgs.kind = PLATFORM_CONTAIN_CGROUP_V2;
    cgs.n = 1;
    cgs.anchor_fd = -1;
    cgs.h[0].fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cgs.h[1].fd = -1;
    cgs.h[0].label = "unified";
    snprintf(cgs.h[0].base, sizeof cgs.h[0].base, "tether");
    snprintf(cgs.h[0].parent, sizeof cgs.h[0].parent, "tether/42");
    char p[512];
    snprintf(p, sizeof p, "%s/tether", root);
    CHECK_INT(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/tether/42", root);
    CHECK_INT(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/tether/42/fn-1", root);
    CHECK_INT(mkdir(p, 0755), 0);
    static const char *const files[] = {"memory.max",    "memory.swap.max", "memory.oom.group",
                                        "cgroup.procs",  "cgroup.freeze",   "cgroup.kill",
                                        "memory.events", "memory.peak"};
    char rel[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(rel, sizeof rel, "tether/42/fn-1/%s", files[i]);
        touch(rel);
    }
    put("tether/42/fn-1/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    put("tether/42/fn-1/memory.peak", "201326592\n");

    platform_cgroup_t *cg = NULL;
    char err[256];
    CHECK_INT(platform_cgroup_new(&cgs, "fn", 1, 128, &cg, err, sizeof err), 0);
    if (cg == NULL)
        return;
    CHECK_STR(get("tether/42/fn-1/memory.max"), "134217728");
    CHECK_STR(get("tether/42/fn-1/memory.swap.max"), "0");
    CHECK_STR(get("tether/42/fn-1/memory.oom.group"), "1");
    CHECK(cg->join_fd[0] != -1 && cg->join_fd[1] == -1);
    CHECK(cg->freeze_fd != -1 && cg->peak_fd != -1);
    /* the child writes 0 (itself) into cgroup.procs */
    CHECK_INT(platform_cgroup_join(cg), 0);
    CHECK_STR(get("tether/42/fn-1/cgroup.procs"), "0");
    platform_cgroup_spawned(cg);
    CHECK(cg->join_fd[0] == -1);
    /* freeze 1, thaw 0: one write each on the open cgroup.freeze */
    CHECK_INT(platform_cgroup_freeze(cg, 1), 0);
    CHECK_STR(get("tether/42/fn-1/cgroup.freeze"), "1");
    CHECK_INT(cg->frozen, 1);
    CHECK_INT(platform_cgroup_freeze(cg, 0), 0);
    CHECK_STR(get("tether/42/fn-1/cgroup.freeze"), "10");
    /* memory.peak in bytes, reported in kB */
    CHECK(platform_cgroup_peak_kb(cg) == 196608);
    /* the OOM watch: inotify on memory.events, a move of oom / oom_kill */
    CHECK(platform_cgroup_oom_watch(cg) != -1);
    CHECK_INT(platform_cgroup_oom_check(cg), 0);
    put("tether/42/fn-1/memory.events", "low 0\nhigh 0\nmax 9\noom 0\noom_kill 0\n");
    CHECK_INT(platform_cgroup_oom_check(cg), 0); /* the limit hit, reclaimed: no OOM */
    put("tether/42/fn-1/memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n");
    CHECK_INT(platform_cgroup_oom_check(cg), 1);
    CHECK_INT(platform_cgroup_oom_check(cg), 0); /* read once */
    CHECK(platform_cgroup_oom_kills(cg) == 1);
    /* a kill writes 1 to cgroup.kill (thawing first when frozen) */
    CHECK_INT(platform_cgroup_freeze(cg, 1), 0);
    platform_cgroup_kill(cg);
    CHECK_STR(get("tether/42/fn-1/cgroup.kill"), "1");
    CHECK_INT(cg->frozen, 0);
    /* the stand-in folder holds files: it cannot be removed, as a busy group */
    CHECK_INT(platform_cgroup_remove(cg, 0), -1);
    CHECK(cg->oom_fd == -1);
    platform_cgroup_free(cg);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/tether/42/fn-1/%s", root, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/tether/42/fn-1", root);
    rmdir(p);
    snprintf(p, sizeof p, "%s/tether/42", root);
    rmdir(p);
    snprintf(p, sizeof p, "%s/tether", root);
    rmdir(p);
    rmdir(root);
    close(cgs.h[0].fd);
}

int main(void)
{
    RUN(test_events_oom);
    RUN(test_v2_files);
    return TEST_REPORT();
}
