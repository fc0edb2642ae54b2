/*
 * One execution environment: a process group running a function's runtime,
 * its Runtime API listener, its output pipes and its timers, driven by a
 * state machine (see the enum and docs/platform.md).
 */
#ifndef TETHER_PLATFORM_INSTANCE_H
#define TETHER_PLATFORM_INSTANCE_H

#include "platform/logs.h"

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

struct event;
struct evhttp;
struct evhttp_request;
struct platform;
struct platform_cgroup;
struct platform_function_spec;
struct platform_invocation;
struct platform_instance;
struct platform_instance_host;

typedef enum platform_instance_state {
    PLATFORM_INSTANCE_INIT =
        0, /* fn->init: spawned; runtime init runs until its first /next (10 s limit) */
    PLATFORM_INSTANCE_IDLE =
        1, /* fn->idle: waiting in /next with nothing to deliver; frozen after the grace */
    PLATFORM_INSTANCE_BUSY = 2,      /* fn->busy: an event delivered, its result not in yet */
    PLATFORM_INSTANCE_RETURNING = 3, /* fn->returning: the result is in (or the invocation timed
                                        out); on its way back to /next */
    PLATFORM_INSTANCE_FROZEN =
        4, /* fn->frozen: waiting in /next, process group stopped (SIGSTOP) */
    PLATFORM_INSTANCE_STOPPING =
        5, /* fn->stopping: SIGTERM sent (reap or shutdown); SIGKILL after 2 s */
    PLATFORM_INSTANCE_DEAD = 6, /* fn->dead: exited and reaped; kept a while for status */
} platform_instance_state_t;

/* An instance waiting in /next with nothing to deliver is frozen only after
 * it has waited this long: under sustained load the next invocation usually
 * arrives first, and the SIGSTOP/SIGCONT pair (two signals to the group, two
 * context switches of the runtime, a restarted poll) is skipped. An idle
 * instance is still frozen 2 ms after its /next. Measured in bench/README.md. */
#define PLATFORM_FREEZE_GRACE_US 2000

typedef enum platform_timer_kind {
    PLATFORM_TIMER_NONE = 0,   /* no timer armed */
    PLATFORM_TIMER_INIT = 1,   /* init limit (10 s) */
    PLATFORM_TIMER_INVOKE = 2, /* the function's Timeout */
    PLATFORM_TIMER_IDLE = 3,   /* idle reap (--idle-timeout) */
    PLATFORM_TIMER_KILL = 4,   /* SIGKILL grace after SIGTERM (2 s) */
    PLATFORM_TIMER_FREEZE = 5, /* IDLE: freeze when nothing came for PLATFORM_FREEZE_GRACE_US */
    PLATFORM_TIMER_REMOVE = 6, /* DEAD: its control group still had dying processes: retry */
} platform_timer_kind_t;

/* How an instance reports to the function that owns it: the one narrow
 * interface from instance to function (function.c implements it), so the
 * instance knows nothing of the scheduler. */
typedef struct platform_instance_events {
    /* The instance's state changes to `to` (its lists follow): the only way
     * an instance's state changes. */
    void (*move)(struct platform_instance_host *host, struct platform_instance *inst,
                 platform_instance_state_t to);
    /* It waits in /next (IDLE): give it the next queued invocation or park it. */
    void (*ready)(struct platform_instance_host *host, struct platform_instance *inst);
    /* It exited and was moved to DEAD. */
    void (*dead)(struct platform_instance_host *host, struct platform_instance *inst);
} platform_instance_events_t;

/* What a function shows its instances: how to start them, and where they
 * report. Filled by platform_function_new; the strings are the function's. */
typedef struct platform_instance_host {
    struct platform *p;
    const struct platform_function_spec *spec;
    const char *arn;               /* the function's ARN (Lambda-Runtime-Invoked-Function-Arn) */
    const char *exec_path;         /* what instances exec (bootstrap or node) */
    const char *ric_script;        /* node: aws-lambda-ric's bin/index.mjs */
    const char *runtime_dir;       /* LAMBDA_RUNTIME_DIR */
    const char *log_stream_prefix; /* YYYY/MM/DD/[$LATEST] */
    int isolated;                  /* instances run in the sandbox (sandbox.h) */
    unsigned next_instance_id;     /* the last instance id given, from 1 */
    const platform_instance_events_t *events;
} platform_instance_host_t;

/* One output pipe of the instance (stdout or stderr). */
typedef struct platform_pipe {
    int fd;           /* read end, nonblocking; -1 once closed */
    struct event *ev; /* read event */
    platform_lines_t lines;
} platform_pipe_t;

typedef struct platform_instance {
    platform_instance_host_t *host; /* its function, as the instance sees it */
    unsigned id;                    /* per function, from 1 */
    char who[96];                   /* "NAME ID": the log prefix */
    pid_t pid;                      /* also the process group id (setsid) */
    struct platform_cgroup *cg;     /* its control group (cgroup.h), or NULL: signals only */
    int pidfd;                      /* readable when the process exits; -1 if none */
    struct event *exit_ev;          /* read event on pidfd */
    struct event *oom_ev;           /* read event on its group's OOM watch, or NULL */
    int oom_killed;                 /* the OOM killer acted in its group: the whole instance ends */
    int status_fd; /* /proc/PID/status, open for REPORT's Max Memory Used; -1 if none */
    platform_instance_state_t state; /* changed only through host->events->move */
    int listed;                      /* on its function's lists (from a successful spawn) */
    struct evhttp *rapi;             /* this instance's Runtime API server */
    int rapi_port;
    struct evhttp_request *next_req; /* a held GET /next, or NULL */
    struct platform_invocation *inv; /* assigned (INIT) or delivered (BUSY), or NULL */
    struct event *timer;
    platform_timer_kind_t timer_kind;
    struct event *start_timer; /* writes a START still pending after 50 ms (instance.c) */
    char start_line[128];      /* the START line not yet written to stderr, "" if none */
    platform_pipe_t out, err;
    char ext_id[37];                     /* registered extension's identifier, "" if none */
    int ext_wants_shutdown;              /* it registered for SHUTDOWN */
    struct evhttp_request *ext_next_req; /* a held GET /extension/event/next */
    uint64_t spawned_us;                 /* monotonic */
    double init_ms;                      /* init duration; < 0 until the first /next */
    int init_reported;                   /* Init Duration printed in a REPORT already */
    int init_failed;                     /* posted /init/error */
    unsigned served;                     /* invocations completed */
    unsigned remove_tries;               /* DEAD: attempts at removing its control group */
    uint64_t tree_extra_kb;   /* peak memory of its descendants, refreshed now and then */
    uint64_t peak_kb;         /* the largest peak measured (kept once the process is gone) */
    int exit_status;          /* waitpid status once DEAD */
    platform_tail_t init_log; /* its output during init: the log tail of an invocation that
                                 init failed (a runtime that died at start, as Lambda shows) */
    TAILQ_ENTRY(platform_instance) link;      /* in its state's list on the function */
    TAILQ_ENTRY(platform_instance) live_link; /* in fn->live while not dead */
} platform_instance_t;

/* The state's name for logs: init, idle, busy, returning, frozen, stopping, dead. */
const char *platform_instance_state_name(platform_instance_state_t s);

/* Starts an instance for host's function: Runtime API listener, pipes,
 * process group; it enters INIT through host->events->move. On failure
 * returns -1 with a message in err (e.g. exec's error). */
__attribute__((warn_unused_result)) int platform_instance_spawn(platform_instance_host_t *host,
                                                                platform_instance_t **out,
                                                                char *err, size_t errlen);

/* Hands inv to an instance parked in /next (thawing it) or, in INIT,
 * assigns it for delivery at the first /next. */
void platform_instance_deliver(platform_instance_t *inst, struct platform_invocation *inv);
/* Parks an instance waiting in /next: IDLE, frozen (SIGSTOP) if nothing is
 * delivered within PLATFORM_FREEZE_GRACE_US, then the idle timer. */
void platform_instance_park(platform_instance_t *inst);

/* Runtime API events (runtime_api.c calls these). */
void platform_instance_on_next(platform_instance_t *inst, struct evhttp_request *req);
/* The current invocation's result; function_error as in platform_invocation_finish. */
void platform_instance_on_result(platform_instance_t *inst, int function_error, const char *body,
                                 size_t len);
void platform_instance_on_init_error(platform_instance_t *inst, const char *body, size_t len);

/* SIGTERM (after SHUTDOWN to a registered extension), SIGKILL after 2 s. */
void platform_instance_stop(platform_instance_t *inst);
/* SIGKILL the process group now (thawing is not needed for SIGKILL). */
void platform_instance_kill(platform_instance_t *inst);
/* waitpid reported the process's exit. */
void platform_instance_on_exit(platform_instance_t *inst, int status);
/* Releases a DEAD instance. */
void platform_instance_free(platform_instance_t *inst);

/* 1 when this kernel has pidfd_open: instance exits are then watched per
 * instance and SIGCHLD is not needed. */
int platform_instance_pidfd_supported(void);

#endif
