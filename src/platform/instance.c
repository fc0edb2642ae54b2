/*
 * Instances: process groups running a function's runtime, and the state
 * machine that drives them (see instance.h and docs/platform.md).
 *
 *   spawn -> INIT --first /next--> IDLE --2 ms--> FROZEN (SIGSTOP) --event--> BUSY
 *   BUSY --result--> RETURNING --/next--> IDLE --event within 2 ms--> BUSY (no freeze, no thaw)
 *   IDLE --2 ms--> FROZEN ...
 *   INIT --/init/error, exit, 10 s--> killed -> DEAD
 *   BUSY --Timeout--> RETURNING, killed -> DEAD;  BUSY --exit--> DEAD
 *   FROZEN --idle timeout / shutdown--> STOPPING (SIGTERM, SIGCONT) --2 s--> SIGKILL -> DEAD
 *
 * Freezing is the control group's freeze where the instance has one
 * (cgroup.h: every process of it, whatever its session), else SIGSTOP to its
 * process group; killing is SIGKILL to the process group and to every
 * process of the control group.
 *
 * One timer per instance, re-armed for whichever limit applies in the state.
 */
#include "platform/instance.h"

#include "common/log.h"
#include "platform/cgroup.h"
#include "platform/creds.h"
#include "platform/invocation.h"
#include "platform/json.h"
#include "platform/platform.h"
#include "platform/ric_preload.h"
#include "platform/runtime_api.h"
#include "platform/sandbox.h"
#include "platform/spawn.h"
#include "platform/template.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define INIT_LIMIT_S     10        /* AWS's init phase limit */
#define KILL_GRACE_S     2         /* SIGTERM -> SIGKILL */
#define READ_CHUNK       16384     /* bytes per read(2) of an output pipe */
#define READS_PER_WAKEUP 4         /* bound the work one chatty instance gets per loop turn */
#define DRAIN_MAX        (1 << 20) /* bytes read synchronously when an invocation ends */
#define START_FLUSH_MS   50        /* a START line waits at most this long for its END */
#define PEAK_SAMPLE_MS   1.0       /* an invocation this long gets a fresh VmHWM read */
#define REMOVE_RETRY_S   0.01      /* a dead instance's control group: try removing again */
#define REMOVE_TRIES     100

const char *platform_instance_state_name(platform_instance_state_t s)
{
    switch (s) {
    case PLATFORM_INSTANCE_INIT:
        return "init";
    case PLATFORM_INSTANCE_IDLE:
        return "idle";
    case PLATFORM_INSTANCE_BUSY:
        return "busy";
    case PLATFORM_INSTANCE_RETURNING:
        return "returning";
    case PLATFORM_INSTANCE_FROZEN:
        return "frozen";
    case PLATFORM_INSTANCE_STOPPING:
        return "stopping";
    case PLATFORM_INSTANCE_DEAD:
        return "dead";
    }
    return "unknown";
}

/* The one way an instance's state changes: its function moves it between
 * its lists (function.c). */
static void set_state(platform_instance_t *inst, platform_instance_state_t to)
{
    inst->host->events->move(inst->host, inst, to);
}

static void signal_group(platform_instance_t *inst, int sig)
{
    if (inst->pid <= 0)
        return;
    if (kill(-inst->pid, sig) == -1 && errno == ESRCH)
        kill(inst->pid, sig); /* not yet its own group (setsid pending) */
}

/* Stops every process of the instance: its control group's freeze, or
 * SIGSTOP to its process group (no group, or the freeze failed). */
static void freeze_processes(platform_instance_t *inst)
{
    if (inst->cg != NULL && platform_cgroup_freeze(inst->cg, 1) == 0)
        return;
    signal_group(inst, SIGSTOP);
}

static void thaw_processes(platform_instance_t *inst)
{
    if (inst->cg != NULL && inst->cg->frozen) {
        if (platform_cgroup_freeze(inst->cg, 0) == 0)
            return;
        log_warn(inst->who, "cannot thaw its control group: %s", strerror(errno));
    }
    signal_group(inst, SIGCONT);
}

static void arm_timer(platform_instance_t *inst, platform_timer_kind_t kind, double seconds)
{
    evtimer_del(inst->timer);
    inst->timer_kind = kind;
    struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    evtimer_add(inst->timer, &tv);
}

static void disarm_timer(platform_instance_t *inst)
{
    evtimer_del(inst->timer);
    inst->timer_kind = PLATFORM_TIMER_NONE;
}

/* The START line is written to stderr with its END and REPORT (one write(2)
 * instead of two), or before any other line of the instance, or after
 * START_FLUSH_MS if the invocation runs longer: the log reads as before. */
static void flush_start(platform_instance_t *inst)
{
    if (inst->start_line[0] == '\0')
        return;
    if (inst->start_timer != NULL)
        evtimer_del(inst->start_timer);
    platform_log_line(inst->who, inst->start_line, strlen(inst->start_line));
    inst->start_line[0] = '\0';
}

static void start_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush_start(arg);
}

/* One line of the instance's output: to tether up's stderr, and to the tail
 * of the invocation in hand. */
static void on_line(void *arg, const char *line, size_t len)
{
    platform_instance_t *inst = arg;
    flush_start(inst);
    platform_log_line(inst->who, line, len);
    if (inst->inv != NULL && inst->inv->delivered_us != 0) {
        platform_invocation_log(inst->inv, line, len);
    } else if (inst->state == PLATFORM_INSTANCE_INIT) {
        platform_tail_append(&inst->init_log, line, len);
        platform_tail_append(&inst->init_log, "\n", 1);
    }
}

/* The last line the runtime wrote during init into out ("" if none). */
static void init_last_line(const platform_instance_t *inst, char *out, size_t outlen)
{
    char raw[PLATFORM_TAIL_MAX + 1];
    size_t n = platform_tail_copy(&inst->init_log, raw);
    while (n > 0 && raw[n - 1] == '\n')
        n--;
    raw[n] = '\0';
    const char *nl = strrchr(raw, '\n');
    const char *last = nl ? nl + 1 : raw;
    size_t len = strlen(last);
    if (len >= outlen)
        len = outlen - 1; /* a long line, cut */
    memcpy(out, last, len);
    out[len] = '\0';
}

/* Max Memory Used in MB: the largest peak measured; with a control group
 * never past its limit (VmHWM also counts the runtime's binary, which the
 * group does not: Lambda never reports more than Memory Size). */
static int peak_mb(const platform_instance_t *inst)
{
    uint64_t kb = inst->peak_kb;
    if (inst->cg != NULL && kb > inst->cg->limit_bytes / 1024)
        kb = inst->cg->limit_bytes / 1024;
    return (int)((kb + 1023) / 1024);
}

/* Init failed with inv in hand, never delivered. As Lambda logs it, the tail
 * of inv gets what the runtime wrote during init (a loader's "error while
 * loading shared libraries: libX.so.N: ..."), INIT_REPORT, then the
 * invocation's START, the error line and type, END and REPORT. The init
 * output is on tether up's stderr already; the rest goes there too. */
static void log_init_failure(platform_instance_t *inst, platform_invocation_t *inv,
                             const char *type, const char *message)
{
    char raw[PLATFORM_TAIL_MAX];
    size_t n = platform_tail_copy(&inst->init_log, raw);
    platform_tail_append(&inv->tail, raw, n);
    double init_ms = (double)(platform_now_us() - inst->spawned_us) / 1000.0;
    char line[512];
    snprintf(line, sizeof line,
             "INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\tError Type: %s",
             init_ms, type);
    flush_start(inst);
    platform_log_line(inst->who, line, strlen(line));
    platform_invocation_log(inv, line, strlen(line));
    const char *lines[4];
    char start[128], end[128];
    snprintf(start, sizeof start, "START RequestId: %s Version: $LATEST", inv->id);
    snprintf(end, sizeof end, "END RequestId: %s", inv->id);
    lines[0] = start;
    lines[1] = message;
    lines[2] = type;
    lines[3] = end;
    for (size_t i = 0; i < 4; i++) {
        platform_log_line(inst->who, lines[i], strlen(lines[i]));
        platform_invocation_log(inv, lines[i], strlen(lines[i]));
    }
    double ms = (double)(platform_now_us() - inv->created_us) / 1000.0;
    n = platform_report_format(line, sizeof line, inv->id, ms, inst->host->spec->memory_mb,
                               peak_mb(inst), init_ms);
    platform_log_line(inst->who, line, n);
    platform_invocation_log(inv, line, n);
}

static void close_pipe(platform_instance_t *inst, platform_pipe_t *pp)
{
    if (pp->fd == -1)
        return;
    platform_lines_flush(&pp->lines, on_line, inst);
    if (pp->ev != NULL) {
        event_free(pp->ev);
        pp->ev = NULL;
    }
    close(pp->fd);
    pp->fd = -1;
}

/* Reads up to max bytes; closes the pipe at EOF or error. */
static void read_pipe(platform_instance_t *inst, platform_pipe_t *pp, size_t max)
{
    char chunk[READ_CHUNK];
    size_t total = 0;
    while (pp->fd != -1 && total < max) {
        ssize_t n = read(pp->fd, chunk, sizeof chunk);
        if (n > 0) {
            platform_lines_feed(&pp->lines, chunk, (size_t)n, on_line, inst);
            total += (size_t)n;
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        close_pipe(inst, pp);
    }
}

static void pipe_cb(evutil_socket_t fd, short what, void *arg)
{
    platform_instance_t *inst = arg;
    (void)what;
    platform_pipe_t *pp = fd == inst->out.fd ? &inst->out : &inst->err;
    read_pipe(inst, pp, (size_t)READ_CHUNK * READS_PER_WAKEUP);
}

/* Reads what the instance wrote before its result so it lands in this
 * invocation's log. */
static void drain_pipes(platform_instance_t *inst)
{
    read_pipe(inst, &inst->out, DRAIN_MAX);
    read_pipe(inst, &inst->err, DRAIN_MAX);
}

static void log_frame(platform_instance_t *inst, const char *line)
{
    flush_start(inst);
    platform_log_line(inst->who, line, strlen(line));
    if (inst->inv != NULL)
        platform_invocation_log(inst->inv, line, strlen(line));
}

/* END and REPORT for the invocation in hand. */
static void log_end(platform_instance_t *inst)
{
    platform_invocation_t *inv = inst->inv;
    char end[128], line[512];
    snprintf(end, sizeof end, "END RequestId: %s", inv->id);
    platform_invocation_log(inv, end, strlen(end));
    double ms = (double)(platform_now_us() - inv->delivered_us) / 1000.0;
    /* The runtime's own peak (VmHWM; formatting /proc/PID/status costs about
     * 18 us here, a fifth of the platform's work on a warm invocation) on the
     * first REPORT, every 16th, and after any invocation of 1 ms or more: a
     * shorter one has no time to touch much memory, and the next read sees
     * whatever it did. Its descendants' (a walk of /proc) on the first and
     * every 16th. Cached in between. */
    int every16 = inst->served % 16 == 0;
    if (inst->cg != NULL) {
        /* The control group's peak (one pread): every process of it, in any
         * session, but only the memory charged to it, so not the runtime's
         * binary, already in this machine's page cache; the larger of the
         * two measures is reported (docs/platform.md, "Containment"). */
        uint64_t kb = platform_cgroup_peak_kb(inst->cg);
        if (kb > inst->peak_kb)
            inst->peak_kb = kb;
    }
    if (every16 || ms >= PEAK_SAMPLE_MS) {
        uint64_t kb = platform_status_peak_kb(inst->status_fd);
        if (every16) {
            uint64_t tree = platform_tree_peak_kb(inst->pid);
            inst->tree_extra_kb = tree > kb ? tree - kb : 0;
        }
        kb += inst->tree_extra_kb;
        if (kb > inst->peak_kb)
            inst->peak_kb = kb;
    }
    int max_mb = peak_mb(inst); /* after an exit /proc has nothing left to say */
    double init = -1;
    if (!inst->init_reported) {
        init = inst->init_ms;
        inst->init_reported = 1;
    }
    size_t n = platform_report_format(line, sizeof line, inv->id, ms, inst->host->spec->memory_mb,
                                      max_mb, init);
    platform_invocation_log(inv, line, n);
    if (inst->start_line[0] != '\0') { /* START, END and REPORT in one write(2) */
        evtimer_del(inst->start_timer);
        platform_log_line3(inst->who, inst->start_line, strlen(inst->start_line), end, strlen(end),
                           line, n);
        inst->start_line[0] = '\0';
    } else {
        platform_log_line2(inst->who, end, strlen(end), line, n); /* one write(2) for both */
    }
}

static void describe_exit(int status, char *out, size_t outlen)
{
    if (WIFEXITED(status)) {
        snprintf(out, outlen, "exit status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *s = strsignal(WTERMSIG(status));
        char name[64];
        snprintf(name, sizeof name, "%s", s ? s : "unknown");
        if (name[0] >= 'A' && name[0] <= 'Z')
            name[0] = (char)(name[0] - 'A' + 'a');
        snprintf(out, outlen, "signal: %s", name);
    } else {
        snprintf(out, outlen, "status %d", status);
    }
}

/* The grace after /next is over with nothing delivered: freeze the group and
 * start counting the idle timeout. */
static void freeze(platform_instance_t *inst)
{
    platform_t *p = inst->host->p;
    set_state(inst, PLATFORM_INSTANCE_FROZEN);
    freeze_processes(inst);
    if (p->cfg.idle_timeout_s > 0)
        arm_timer(inst, PLATFORM_TIMER_IDLE, p->cfg.idle_timeout_s);
    else
        disarm_timer(inst);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    platform_instance_t *inst = arg;
    (void)fd;
    (void)what;
    platform_timer_kind_t kind = inst->timer_kind;
    inst->timer_kind = PLATFORM_TIMER_NONE;
    switch (kind) {
    case PLATFORM_TIMER_NONE:
        break;
    case PLATFORM_TIMER_INIT:
        log_warn(inst->who, "init did not finish within %d s: killing", INIT_LIMIT_S);
        if (inst->inv != NULL) {
            platform_invocation_t *inv = inst->inv;
            inst->inv = NULL;
            char msg[160];
            snprintf(msg, sizeof msg, "RequestId: %s Error: Init timed out after %d.00 seconds",
                     inv->id, INIT_LIMIT_S);
            drain_pipes(inst);
            log_init_failure(inst, inv, "Sandbox.Timedout", msg);
            platform_invocation_fail(inv, "Sandbox.Timedout", "%s", msg);
        }
        platform_instance_kill(inst);
        break;
    case PLATFORM_TIMER_INVOKE: {
        platform_invocation_t *inv = inst->inv;
        if (inv == NULL || inst->state != PLATFORM_INSTANCE_BUSY)
            break;
        drain_pipes(inst);
        char line[256];
        snprintf(line, sizeof line, "%s Task timed out after %d.00 seconds", inv->id,
                 inst->host->spec->timeout_s);
        log_frame(inst, line);
        log_end(inst);
        inst->inv = NULL;
        /* answered (with the timeout): counts as returning until its exit */
        set_state(inst, PLATFORM_INSTANCE_RETURNING);
        platform_invocation_fail(inv, "Sandbox.Timedout",
                                 "RequestId: %s Error: Task timed out after %d.00 seconds", inv->id,
                                 inst->host->spec->timeout_s);
        platform_instance_kill(inst);
        break;
    }
    case PLATFORM_TIMER_IDLE:
        log_info(inst->who, "idle for %d s: reaping", inst->host->p->cfg.idle_timeout_s);
        platform_instance_stop(inst);
        break;
    case PLATFORM_TIMER_KILL:
        log_warn(inst->who, "still running %d s after SIGTERM: SIGKILL", KILL_GRACE_S);
        platform_instance_kill(inst);
        break;
    case PLATFORM_TIMER_FREEZE:
        if (inst->state == PLATFORM_INSTANCE_IDLE)
            freeze(inst);
        break;
    case PLATFORM_TIMER_REMOVE:
        /* its killed processes need a moment to leave the group; past the
           tries, platform_instance_free and then the shutdown try again */
        if (inst->cg != NULL && platform_cgroup_remove(inst->cg, 0) != 0 &&
            ++inst->remove_tries < REMOVE_TRIES)
            arm_timer(inst, PLATFORM_TIMER_REMOVE, REMOVE_RETRY_S);
        break;
    }
}

int platform_instance_pidfd_supported(void)
{
#ifdef SYS_pidfd_open
    static int supported = -1;
    if (supported == -1) {
        int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        supported = fd >= 0;
        if (fd >= 0)
            close(fd);
    }
    return supported;
#else
    return 0;
#endif
}

static void exit_cb(evutil_socket_t fd, short what, void *arg)
{
    platform_instance_t *inst = arg;
    (void)fd;
    (void)what;
    int status;
    pid_t r;
    do {
        r = waitpid(inst->pid, &status, WNOHANG);
    } while (r == -1 && errno == EINTR);
    if (r == inst->pid)
        platform_instance_on_exit(inst, status); /* frees exit_ev: not persistent */
    else if (r == 0)
        event_add(inst->exit_ev, NULL);
}

/* Watches the process's exit through a pidfd (O_CLOEXEC by the kernel). */
/* The OOM killer acted in the instance's group (a child's allocation, or
 * the runtime's): Lambda ends the whole environment, so every process of it
 * is killed, and its exit reports the invocation as Lambda does
 * (Runtime.ExitError, signal: killed). 1 when so. */
static int oom_end(platform_instance_t *inst)
{
    if (inst->cg == NULL || inst->state == PLATFORM_INSTANCE_DEAD ||
        (!inst->oom_killed && !platform_cgroup_oom_check(inst->cg)))
        return 0;
    if (!inst->oom_killed)
        log_debug(inst->who, "the OOM killer acted in its control group: ending it whole");
    inst->oom_killed = 1;
    platform_instance_kill(inst);
    return 1;
}

static void oom_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)oom_end(arg);
}

/* Watches the group's OOM notices (cgroup.h); without a watch, only the
 * runtime's own death by the limit is seen (v2's memory.oom.group still
 * ends the group whole). */
static void watch_oom(platform_instance_t *inst)
{
    int fd = inst->cg != NULL ? platform_cgroup_oom_watch(inst->cg) : -1;
    if (fd == -1)
        return;
    inst->oom_ev = event_new(inst->host->p->base, fd, EV_READ | EV_PERSIST, oom_cb, inst);
    if (inst->oom_ev == NULL || event_add(inst->oom_ev, NULL) != 0)
        log_warn(inst->who, "cannot watch its control group's OOM notices");
}

static void unwatch_oom(platform_instance_t *inst)
{
    if (inst->oom_ev != NULL)
        event_free(inst->oom_ev);
    inst->oom_ev = NULL;
    if (inst->cg != NULL)
        platform_cgroup_oom_unwatch(inst->cg);
}

static void watch_exit(platform_instance_t *inst)
{
#ifdef SYS_pidfd_open
    if (!platform_instance_pidfd_supported())
        return;
    inst->pidfd = (int)syscall(SYS_pidfd_open, inst->pid, 0);
    if (inst->pidfd == -1)
        return;
    inst->exit_ev = event_new(inst->host->p->base, inst->pidfd, EV_READ, exit_cb, inst);
    if (inst->exit_ev == NULL || event_add(inst->exit_ev, NULL) != 0)
        log_error(inst->who, "cannot watch the process's exit");
#endif
}

static void unwatch_exit(platform_instance_t *inst)
{
    if (inst->exit_ev != NULL) {
        event_free(inst->exit_ev);
        inst->exit_ev = NULL;
    }
    if (inst->pidfd != -1) {
        close(inst->pidfd);
        inst->pidfd = -1;
    }
    if (inst->status_fd != -1) {
        close(inst->status_fd); /* a REPORT after the exit uses the peak kept */
        inst->status_fd = -1;
    }
}

static int open_pipe(platform_instance_t *inst, platform_pipe_t *pp, int *write_end)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == -1)
        return -1;
    int fl = fcntl(fds[0], F_GETFL);
    if (fl == -1 || fcntl(fds[0], F_SETFL, fl | O_NONBLOCK) == -1) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    pp->fd = fds[0];
    *write_end = fds[1];
    pp->ev = event_new(inst->host->p->base, pp->fd, EV_READ | EV_PERSIST, pipe_cb, inst);
    if (pp->ev == NULL || event_add(pp->ev, NULL) != 0)
        return -1;
    return 0;
}

int platform_instance_spawn(platform_instance_host_t *host, platform_instance_t **out, char *err,
                            size_t errlen)
{
    platform_t *p = host->p;
    const platform_function_spec_t *spec = host->spec;
    int out_w = -1, err_w = -1;
    char **envp = NULL;
    platform_instance_t *inst = calloc(1, sizeof *inst);
    if (inst == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    inst->host = host;
    inst->id = ++host->next_instance_id;
    inst->init_ms = -1;
    inst->out.fd = inst->err.fd = -1;
    inst->pidfd = -1;
    inst->status_fd = -1;
    snprintf(inst->who, sizeof inst->who, "%s %u", spec->name, inst->id);
    inst->timer = evtimer_new(p->base, timer_cb, inst);
    inst->start_timer = evtimer_new(p->base, start_timer_cb, inst);
    if (inst->timer == NULL || inst->start_timer == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (platform_rapi_start(inst) != 0) {
        snprintf(err, errlen, "cannot start the Runtime API listener");
        goto fail;
    }
    if (open_pipe(inst, &inst->out, &out_w) != 0 || open_pipe(inst, &inst->err, &err_w) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    char api[64], stream[128], hex[33];
    snprintf(api, sizeof api, "127.0.0.1:%d", inst->rapi_port);
    platform_fast_chars(hex, 32, "0123456789abcdef");
    snprintf(stream, sizeof stream, "%s%s", host->log_stream_prefix, hex);
    platform_env_input_t in = {
        .spec = spec,
        .runtime_api = api,
        .log_stream = stream,
        .region = p->cfg.region,
        .runtime_dir = host->runtime_dir,
        .mongodb_uri = p->mongodb_uri,
        .creds = spec->role_arn ? platform_creds_for_role(spec->role_arn) : NULL,
        .node = spec->kind == PLATFORM_RUNTIME_NODE,
        .task_root = host->isolated ? PLATFORM_SANDBOX_TASK : NULL,
        .isolated = host->isolated,
        .ca_bundle = host->isolated ? NULL : p->db_ca_bundle,
        .extra_ca = host->isolated ? NULL : p->db_ca,
    };
    envp = platform_env_build(&in);
    if (envp == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    char *argv[6];
    argv[0] = (char *)(uintptr_t)host->exec_path; /* execve does not write argv */
    if (spec->kind == PLATFORM_RUNTIME_NODE) {
        /* node --import PRELOAD ric/bin/index.mjs HANDLER: see ric_preload.c */
        static char import_flag[] = "--import";
        static char default_handler[] = "index.handler";
        const char *preload = platform_ric_preload_url();
        if (preload == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        argv[1] = import_flag;
        argv[2] = (char *)(uintptr_t)preload;
        argv[3] = (char *)(uintptr_t)host->ric_script;
        argv[4] = spec->handler ? spec->handler : default_handler;
        argv[5] = NULL;
    } else {
        argv[1] = NULL;
    }
    if (platform_cgroups_kind(p->cgroups) != PLATFORM_CONTAIN_SIGNALS) {
        char cgerr[256];
        if (platform_cgroup_new(p->cgroups, spec->name, inst->id, spec->memory_mb, &inst->cg, cgerr,
                                sizeof cgerr) != 0)
            log_warn(inst->who, "%s: contained with signals only", cgerr);
    }
    inst->spawned_us = platform_now_us();
    if (platform_spawn(host->exec_path, argv, envp, host->isolated ? NULL : spec->code_dir,
                       host->isolated ? p->sandbox : NULL, spec->code_dir, spec->ephemeral_mb,
                       inst->cg, out_w, err_w,
                       &inst->pid, err, errlen) != 0)
        goto fail;
    if (inst->cg != NULL)
        platform_cgroup_spawned(inst->cg);
    platform_strv_free(envp);
    close(out_w);
    close(err_w);
    set_state(inst, PLATFORM_INSTANCE_INIT); /* lists it, in the function's live list too */
    watch_exit(inst);
    watch_oom(inst);
    /* kept open: it names this process even if its pid is reused later */
    char status_path[64];
    snprintf(status_path, sizeof status_path, "/proc/%d/status", (int)inst->pid);
    inst->status_fd = open(status_path, O_RDONLY | O_CLOEXEC);
    arm_timer(inst, PLATFORM_TIMER_INIT, INIT_LIMIT_S);
    log_info(inst->who, "started pid %d, runtime API %s", (int)inst->pid, api);
    *out = inst;
    return 0;
fail:
    platform_strv_free(envp);
    if (out_w != -1)
        close(out_w);
    if (err_w != -1)
        close(err_w);
    platform_instance_free(inst); /* never listed */
    return -1;
}

void platform_instance_deliver(platform_instance_t *inst, platform_invocation_t *inv)
{
    if (inst->state == PLATFORM_INSTANCE_INIT) {
        inst->inv = inv; /* delivered at the first /next */
        return;
    }
    if (inst->state == PLATFORM_INSTANCE_FROZEN)
        thaw_processes(inst);
    disarm_timer(inst);
    set_state(inst, PLATFORM_INSTANCE_BUSY);
    inst->inv = inv;
    inv->delivered_us = platform_now_us();
    flush_start(inst); /* an earlier one never ended (cannot happen; keep the log whole) */
    snprintf(inst->start_line, sizeof inst->start_line, "START RequestId: %s Version: $LATEST",
             inv->id);
    platform_invocation_log(inv, inst->start_line, strlen(inst->start_line));
    struct timeval flush_tv = {0, START_FLUSH_MS * 1000};
    evtimer_add(inst->start_timer, &flush_tv);
    platform_rapi_send_next(inst, inv);
    arm_timer(inst, PLATFORM_TIMER_INVOKE, inst->host->spec->timeout_s);
}

void platform_instance_park(platform_instance_t *inst)
{
    platform_t *p = inst->host->p;
    if (p->stopping) {
        platform_instance_stop(inst);
        return;
    }
    set_state(inst, PLATFORM_INSTANCE_IDLE);
    if (PLATFORM_FREEZE_GRACE_US > 0)
        arm_timer(inst, PLATFORM_TIMER_FREEZE, PLATFORM_FREEZE_GRACE_US / 1e6);
    else
        freeze(inst);
}

void platform_instance_on_next(platform_instance_t *inst, struct evhttp_request *req)
{
    if (inst->next_req != NULL) {
        /* a second /next replaces the first (its connection is likely gone) */
        evhttp_send_error(inst->next_req, 400, "Superseded");
        inst->next_req = NULL;
    }
    inst->next_req = req;
    switch (inst->state) {
    case PLATFORM_INSTANCE_INIT: {
        inst->init_ms = (double)(platform_now_us() - inst->spawned_us) / 1000.0;
        disarm_timer(inst);
        platform_invocation_t *inv = inst->inv;
        inst->inv = NULL;
        set_state(inst, PLATFORM_INSTANCE_IDLE);
        log_debug(inst->who, "init done in %.2f ms", inst->init_ms);
        if (inv != NULL)
            platform_instance_deliver(inst, inv);
        else
            inst->host->events->ready(inst->host, inst);
        return;
    }
    case PLATFORM_INSTANCE_BUSY:
    case PLATFORM_INSTANCE_RETURNING:
        set_state(inst, PLATFORM_INSTANCE_IDLE);
        inst->host->events->ready(inst->host, inst);
        return;
    case PLATFORM_INSTANCE_IDLE:
    case PLATFORM_INSTANCE_FROZEN:
    case PLATFORM_INSTANCE_STOPPING:
    case PLATFORM_INSTANCE_DEAD:
        return; /* hold it */
    }
}

void platform_instance_on_result(platform_instance_t *inst, int function_error, const char *body,
                                 size_t len)
{
    platform_invocation_t *inv = inst->inv;
    /* a result that overtook the OOM notice (a child killed, its parent
       answering at once): the environment ended first, its exit reports */
    if (oom_end(inst))
        return;
    if (inst->timer_kind == PLATFORM_TIMER_INVOKE)
        disarm_timer(inst); /* a STOPPING instance keeps its SIGKILL timer */
    /* output written before the result belongs in this tail: the caller's
     * (X-Amz-Log-Type: Tail) and the live page's, kept for every invocation */
    drain_pipes(inst);
    log_end(inst);
    inst->inv = NULL;
    if (inst->state == PLATFORM_INSTANCE_BUSY) /* a STOPPING one stays so */
        set_state(inst, PLATFORM_INSTANCE_RETURNING);
    inst->served++;
    platform_invocation_finish(inv, function_error, body, len);
    if (inst->next_req != NULL && inst->state == PLATFORM_INSTANCE_RETURNING) {
        /* the runtime's /next overtook this result (two connections) */
        set_state(inst, PLATFORM_INSTANCE_IDLE);
        inst->host->events->ready(inst->host, inst);
    }
}

void platform_instance_on_init_error(platform_instance_t *inst, const char *body, size_t len)
{
    inst->init_failed = 1;
    drain_pipes(inst);
    log_warn(inst->who, "init failed (runtime posted /init/error)");
    platform_invocation_t *inv = inst->inv;
    inst->inv = NULL;
    if (inv != NULL) {
        if (len > 0)
            platform_invocation_finish(inv, 1, body, len);
        else
            platform_invocation_fail(inv, "Runtime.InitError",
                                     "RequestId: %s Error: Runtime failed to initialize", inv->id);
    }
    platform_instance_kill(inst);
}

void platform_instance_stop(platform_instance_t *inst)
{
    if (inst->state == PLATFORM_INSTANCE_STOPPING || inst->state == PLATFORM_INSTANCE_DEAD)
        return;
    set_state(inst, PLATFORM_INSTANCE_STOPPING);
    if (inst->ext_next_req != NULL && inst->ext_wants_shutdown)
        platform_rapi_send_shutdown(inst);
    signal_group(inst, SIGTERM);
    thaw_processes(inst); /* a stopped process only acts on SIGTERM once continued */
    arm_timer(inst, PLATFORM_TIMER_KILL, KILL_GRACE_S);
}

void platform_instance_kill(platform_instance_t *inst)
{
    if (inst->state == PLATFORM_INSTANCE_DEAD)
        return;
    signal_group(inst, SIGKILL);
    if (inst->cg != NULL)
        platform_cgroup_kill(inst->cg); /* its processes in other sessions too */
}

void platform_instance_on_exit(platform_instance_t *inst, int status)
{
    char why[96];
    describe_exit(status, why, sizeof why);
    inst->exit_status = status;
    unwatch_exit(inst);
    drain_pipes(inst);
    close_pipe(inst, &inst->out);
    close_pipe(inst, &inst->err);
    signal_group(inst, SIGKILL); /* whatever it forked dies with it */
    int oom = 0;
    if (inst->cg != NULL && !inst->oom_killed)
        inst->oom_killed = platform_cgroup_oom_check(inst->cg); /* a notice not read yet */
    unwatch_oom(inst);
    if (inst->cg != NULL) {
        /* whatever it forked into other sessions too; its peak is read before
           the group goes, and a kill by the memory limit reported as Lambda
           reports it (signal: killed, Max Memory Used at the limit) */
        uint64_t kb = platform_cgroup_peak_kb(inst->cg);
        oom = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
              (inst->oom_killed || platform_cgroup_oom_kills(inst->cg) > 0);
        if (oom && kb < inst->cg->limit_bytes / 1024)
            kb = inst->cg->limit_bytes / 1024;
        if (kb > inst->peak_kb)
            inst->peak_kb = kb;
        (void)platform_cgroup_remove(inst->cg, 0); /* again when freed, if not empty yet */
    }
    disarm_timer(inst);
    platform_instance_state_t was = inst->state;
    platform_invocation_t *inv = inst->inv;
    inst->inv = NULL;
    if (inv != NULL) {
        char msg[256];
        snprintf(msg, sizeof msg, "RequestId: %s Error: Runtime exited with error: %s", inv->id,
                 why);
        if (inv->delivered_us != 0) {
            inst->inv = inv;
            log_frame(inst, msg); /* as Lambda logs it, before END */
            log_frame(inst, "Runtime.ExitError");
            log_end(inst);
            inst->inv = NULL;
        } else if (was == PLATFORM_INSTANCE_INIT) {
            log_init_failure(inst, inv, "Runtime.ExitError", msg);
        }
        platform_invocation_fail(inv, "Runtime.ExitError", "%s", msg);
    }
    char last[256];
    init_last_line(inst, last, sizeof last);
    if (oom)
        log_warn(inst->who, "killed by its memory limit (MemorySize %d MB) in state %s",
                 inst->host->spec->memory_mb, platform_instance_state_name(was));
    else if (was == PLATFORM_INSTANCE_STOPPING)
        log_info(inst->who, "stopped (%s)", why);
    else if (was == PLATFORM_INSTANCE_INIT && last[0] != '\0') /* say why, not only how */
        log_warn(inst->who, "exited in state init (%s); its last line: %s", why, last);
    else
        log_warn(inst->who, "exited in state %s (%s)", platform_instance_state_name(was), why);
    platform_rapi_stop(inst);
    set_state(inst, PLATFORM_INSTANCE_DEAD);
    if (inst->cg != NULL && !inst->cg->removed)
        arm_timer(inst, PLATFORM_TIMER_REMOVE, REMOVE_RETRY_S);
    inst->host->events->dead(inst->host, inst);
}

void platform_instance_free(platform_instance_t *inst)
{
    if (inst == NULL)
        return;
    if (inst->inv != NULL) {
        platform_invocation_t *inv = inst->inv;
        inst->inv = NULL;
        platform_invocation_fail(inv, "Runtime.Shutdown",
                                 "RequestId: %s Error: the platform stopped", inv->id);
    }
    close_pipe(inst, &inst->out);
    close_pipe(inst, &inst->err);
    unwatch_exit(inst);
    unwatch_oom(inst);
    platform_rapi_stop(inst);
    flush_start(inst);
    if (inst->timer != NULL)
        event_free(inst->timer);
    if (inst->start_timer != NULL)
        event_free(inst->start_timer);
    platform_cgroup_free(inst->cg);
    free(inst);
}
