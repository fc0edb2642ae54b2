/*
 * Control groups: one per instance, so that an instance gets the memory its
 * function was given and no more (MemorySize), nothing of it runs while it is
 * frozen, and nothing of it outlives it, whatever session or process group
 * its processes put themselves in (docs/platform.md, "Containment").
 *
 * tether up makes a parent group tether/PID (PID: its own) under the group it
 * runs in, and in it one group NAME-ID per instance. Two kinds:
 *
 *   cgroup v2   where the unified hierarchy has the memory controller:
 *               memory.max, memory.swap.max 0, memory.oom.group 1 (the OOM
 *               killer ends the whole group), cgroup.freeze, cgroup.kill,
 *               memory.peak
 *   cgroup v1   otherwise, the memory and freezer hierarchies: memory.limit_in_bytes
 *               (and memory.memsw.limit_in_bytes: no swap), freezer.state,
 *               memory.max_usage_in_bytes
 *
 * Where neither can be made (no permission, no hierarchy), tether up keeps
 * the process group and signals (SIGSTOP/SIGCONT, kill(-pgid)): "signals".
 *
 * A hierarchy mounted where tether up cannot see it (a /sys mounted over
 * /sys/fs/cgroup) is mounted once more in a private folder, opened, and
 * detached at once: the open folder keeps it reachable for tether up alone
 * and nothing stays mounted when it exits.
 *
 * The child joins its group between fork and exec (platform_cgroup_join, only
 * system calls on descriptors opened before the fork), so no instance process
 * ever runs outside it.
 */
#ifndef TETHER_PLATFORM_CGROUP_H
#define TETHER_PLATFORM_CGROUP_H

#include <stddef.h>
#include <stdint.h>

typedef enum platform_containment {
    PLATFORM_CONTAIN_SIGNALS = 0,   /* no group: process group and signals */
    PLATFORM_CONTAIN_CGROUP_V1 = 1, /* v1 memory + freezer groups */
    PLATFORM_CONTAIN_CGROUP_V2 = 2, /* one v2 group with the memory controller */
} platform_containment_t;

#define PLATFORM_CGROUP_JOIN_MAX 2 /* cgroup.procs to write in the child (v1: two) */

/* tether up's parent groups (one per hierarchy), made at start. */
typedef struct platform_cgroups platform_cgroups_t;

/* One instance's group. */
typedef struct platform_cgroup {
    platform_containment_t kind;
    platform_cgroups_t *parent;
    char name[96];                         /* NAME-ID, the folder in the parent group(s) */
    int join_fd[PLATFORM_CGROUP_JOIN_MAX]; /* cgroup.procs per hierarchy, until spawned; -1 */
    int freeze_fd;                         /* freezer.state / cgroup.freeze; -1 */
    int peak_fd;                           /* memory.max_usage_in_bytes / memory.peak; -1 */
    uint64_t limit_bytes;                  /* its memory limit */
    int oom_fd;          /* readable when the OOM killer may have acted (oom_watch); -1 */
    uint64_t oom_events; /* v2: memory.events oom + oom_kill at the last check */
    int frozen;                            /* frozen by us */
    int removed;                           /* its folder(s) removed */
} platform_cgroup_t;

/* Finds the hierarchies, removes the groups of an earlier tether up that is
 * gone (killing what is left in them), and makes tether/PID. Never fails:
 * where no group can be made, *out is still set, of kind SIGNALS, with the
 * reason in why (for one log line at start). disabled: do not try (signals
 * asked for). NULL only when out of memory. */
platform_cgroups_t *platform_cgroups_new(int disabled, char *why, size_t whylen);
/* Kills whatever is left in tether/PID, removes it, frees cgs. At exit. */
void platform_cgroups_free(platform_cgroups_t *cgs);
platform_containment_t platform_cgroups_kind(const platform_cgroups_t *cgs);
/* Where the groups are, for the start line: "memory:/a/tether/12 freezer:/tether/12". */
const char *platform_cgroups_where(const platform_cgroups_t *cgs);

/* "cgroup-v1", "cgroup-v2", "signals". */
const char *platform_containment_name(platform_containment_t kind);

/* Makes the group NAME-ID with a memory limit of memory_mb (no swap). 0 and
 * *out; -1 with the reason in err (the instance then runs without one). */
__attribute__((warn_unused_result)) int platform_cgroup_new(platform_cgroups_t *cgs,
                                                            const char *name, unsigned id,
                                                            int memory_mb, platform_cgroup_t **out,
                                                            char *err, size_t errlen);
/* In the forked child before exec: moves the calling process into cg. Only
 * system calls. 0, or -1 with errno. */
__attribute__((warn_unused_result)) int platform_cgroup_join(const platform_cgroup_t *cg);
/* After the fork: closes the descriptors only the child needed. */
void platform_cgroup_spawned(platform_cgroup_t *cg);
/* Freezes (1) or thaws (0) every process of the group. 0, or -1 with errno. */
__attribute__((warn_unused_result)) int platform_cgroup_freeze(platform_cgroup_t *cg, int frozen);
/* The processes of the group (its cgroup.procs, read now), at most max of
 * them, into pids (OUT). How many, or -1 when the list cannot be read. */
__attribute__((warn_unused_result)) int platform_cgroup_pids(const platform_cgroup_t *cg, int *pids,
                                                             int max);

/* SIGKILL to every process of the group (thawing it first). Does not wait. */
void platform_cgroup_kill(platform_cgroup_t *cg);
/* The group's peak memory in kB (0 when unknown). One pread. */
uint64_t platform_cgroup_peak_kb(const platform_cgroup_t *cg);
/* How many times the kernel's OOM killer acted in the group (0 when unknown). */
unsigned platform_cgroup_oom_kills(const platform_cgroup_t *cg);
/* A descriptor that becomes readable when the kernel's OOM killer acts in
 * the group, for the event loop: v1 an eventfd registered on
 * memory.oom_control (cgroup.event_control), v2 inotify on memory.events
 * (which changes whenever one of its counters moves). cg keeps it (closed
 * by platform_cgroup_oom_unwatch or free). -1 when the kernel offers none. */
int platform_cgroup_oom_watch(platform_cgroup_t *cg);
/* Reads what the watch has (never blocks): 1 when the OOM killer acted in
 * the group since the last call, else 0. v1's notice comes as the OOM
 * killer starts, before its victim dies. */
int platform_cgroup_oom_check(platform_cgroup_t *cg);
/* Stops watching (before the group is removed: v1 signals its eventfd then). */
void platform_cgroup_oom_unwatch(platform_cgroup_t *cg);
/* memory.events (v2): oom + oom_kill, the counters of the OOM killer's acts;
 * 0 when absent. Pure: text is the file's content. */
uint64_t platform_cgroup_events_oom(const char *text);
/* Kills what is left and removes the group's folder(s), waiting up to
 * wait_ms for its killed processes to go. 0; -1 when it is not empty yet
 * (platform_cgroup_free tries again). Its files are unreadable after. */
int platform_cgroup_remove(platform_cgroup_t *cg, long wait_ms);
/* platform_cgroup_remove with a short wait, then frees cg. A group that will
 * not empty is left to platform_cgroups_free. */
void platform_cgroup_free(platform_cgroup_t *cg);

#endif
