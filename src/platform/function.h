/*
 * A function and its scheduler: the instances that run it, the queue of
 * invocations waiting, and the rule that picks where an invocation goes: a
 * parked instance; else an instance that has answered and is on its way back
 * to /next (the queue, for at most PLATFORM_RETURN_WAIT_MS); else a new
 * instance below the concurrency cap; else the queue (Event) or a 429
 * (RequestResponse).
 */
#ifndef TETHER_PLATFORM_FUNCTION_H
#define TETHER_PLATFORM_FUNCTION_H

#include "platform/instance.h"
#include "platform/invocation.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

struct platform;
struct platform_instance;
struct platform_function_spec;
struct event;

#define PLATFORM_QUEUE_MAX 100000 /* Event invocations waiting per function */
#define PLATFORM_DEAD_KEPT 8      /* dead instances kept per function for status */
/* How long an invocation waits for an instance that has answered and is on its
 * way back to /next before a new instance is started for it instead. */
#define PLATFORM_RETURN_WAIT_MS 200

TAILQ_HEAD(platform_instance_list, platform_instance);

typedef struct platform_function {
    platform_instance_host_t host; /* what its instances see of it (instance.h) */
    struct platform *p;
    const struct platform_function_spec *spec; /* in p->tmpl */
    char *arn;                                 /* arn:aws:lambda:REGION:ACCOUNT:function:NAME */
    char *exec_path;                           /* what instances exec (bootstrap or node) */
    char *ric_script;                          /* node: aws-lambda-ric's bin/index.mjs */
    char *runtime_dir;                         /* LAMBDA_RUNTIME_DIR */
    char *log_stream_prefix;                   /* YYYY/MM/DD/[$LATEST] */
    int isolated; /* instances run in the sandbox, code at /var/task (sandbox.h) */
    /* Instances by state, as pgbouncer keeps its clients and servers: each
     * listed instance is on exactly one of these, the one of its state, in
     * the order it entered it (newest last); platform_function_move is the
     * only place an instance's state changes. Counts are the lists' lengths. */
    struct platform_instance_list init;      /* PLATFORM_INSTANCE_INIT */
    struct platform_instance_list idle;      /* PLATFORM_INSTANCE_IDLE */
    struct platform_instance_list busy;      /* PLATFORM_INSTANCE_BUSY */
    struct platform_instance_list returning; /* PLATFORM_INSTANCE_RETURNING */
    struct platform_instance_list frozen;    /* PLATFORM_INSTANCE_FROZEN */
    struct platform_instance_list stopping;  /* PLATFORM_INSTANCE_STOPPING */
    struct platform_instance_list dead;      /* PLATFORM_INSTANCE_DEAD: the last few, newest last */
    size_t n_init, n_idle, n_busy, n_returning, n_frozen, n_stopping, n_dead;
    struct platform_instance_list live;    /* every instance not dead, oldest first (live_link) */
    size_t n_live;                         /* its length: the sum of the six live states' */
    struct platform_invocation_list queue; /* invocations waiting: Events past the cap, and
                                              those waiting for a returning instance */
    size_t queue_len;
    struct platform_invocation_list retry_wait; /* failed Events waiting for a retry (async.c) */
    size_t retry_waiting;
    struct event *spill; /* starts instances for work left waiting on a slow returner */
    uint64_t invocations, throttles, errors, instances_started;
    uint64_t async_retries, async_dropped; /* Event retries scheduled; Events dropped */
} platform_function_t;

#define PLATFORM_ERR_THROTTLED (-2) /* over the concurrency cap (RequestResponse) */
#define PLATFORM_ERR_SPAWN     (-3) /* could not start an instance */
#define PLATFORM_ERR_NOMEM     (-4) /* out of memory (the caller still owns inv) */

/* Makes the function for spec. Node runtimes resolve aws-lambda-ric here; a
 * missing one is an error written to err. */
__attribute__((warn_unused_result)) int
platform_function_new(struct platform *p, const struct platform_function_spec *spec,
                      platform_function_t **out, char *err, size_t errlen);
void platform_function_free(platform_function_t *fn);

/* Routes inv: delivers it to a parked instance, starts an instance for it, or
 * queues it (Event). 0 when accepted (the function now owns inv);
 * PLATFORM_ERR_THROTTLED when a RequestResponse is over the cap, or
 * PLATFORM_ERR_NOMEM when a new Event's copy for its retries cannot be made
 * (the caller still owns inv). */
__attribute__((warn_unused_result)) int platform_function_invoke(platform_function_t *fn,
                                                                 platform_invocation_t *inv);

/* Moves inst from its state's list to the list of state `to` and sets its
 * state: the one place an instance's state changes. An instance not listed
 * yet (spawned just now) enters fn->live too; one moved to DEAD leaves it. */
void platform_function_move(platform_function_t *fn, struct platform_instance *inst,
                            platform_instance_state_t to);

/* The platform's function named name, or NULL. */
platform_function_t *platform_find_function(struct platform *p, const char *name);

/* Called when the last instance is gone during shutdown: ends the loop
 * (when p is stopping and no function has a live instance). */
void platform_check_stopped(struct platform *p);

/* Finds the live instance whose process is pid across the platform's functions. */
platform_instance_t *platform_instance_by_pid(struct platform *p, pid_t pid);

/* Shutdown: drops queued invocations and stops every instance. */
void platform_function_stop(platform_function_t *fn);

/* Finds a runnable node binary in PATH and aws-lambda-ric from dir upward
 * (then NODE_PATH). Exposed for tests. */
__attribute__((warn_unused_result)) int platform_find_ric(const char *dir, char **script_out,
                                                          char **pkg_dir_out);

#endif
