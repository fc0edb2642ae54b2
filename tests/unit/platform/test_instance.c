/*
 * The instance state machine and the scheduler, driven on a real event loop
 * with a tiny shell bootstrap that speaks the Runtime API with curl: cold
 * start (INIT -> FROZEN, stopped in /proc), warm reuse (same pid), the Event
 * queue past the concurrency cap, an invoke timeout (killed, DEAD, a fresh
 * instance next time), a crash, and a stop (SIGTERM to a frozen group).
 */
#include "harness.h"
#include "platform/function.h"
#include "platform/instance.h"
#include "platform/invocation.h"
#include "platform/platform.h"
#include "platform/template.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char bootstrap[] =
    "#!/bin/sh\n"
    "api=\"http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation\"\n"
    "while true; do\n"
    "  h=$(mktemp); b=$(mktemp)\n"
    "  curl -sS -D \"$h\" -o \"$b\" \"$api/next\" || exit 1\n"
    "  id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' \"$h\" | cut -d' ' -f2 | tr -d '\\r')\n"
    "  if grep -q sleep \"$b\"; then sleep 5; fi\n"
    "  if grep -q crash \"$b\"; then exit 3; fi\n"
    "  curl -sS -o /dev/null --data-binary \"@$b\" \"$api/$id/response\"\n"
    "  rm -f \"$h\" \"$b\"\n"
    "done\n";

static platform_t plat;
static char dir[64];

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        platform_instance_t *inst = platform_instance_by_pid(&plat, pid);
        if (inst != NULL)
            platform_instance_on_exit(inst, status);
    }
}

/* Runs the loop until cond() holds or seconds pass; returns cond(). */
static int run_until(int (*cond)(void), double seconds)
{
    uint64_t end = platform_now_us() + (uint64_t)(seconds * 1e6);
    while (!cond() && platform_now_us() < end) {
        struct timeval tv = {0, 20000};
        event_base_loopexit(plat.base, &tv);
        event_base_dispatch(plat.base);
    }
    return cond();
}

static platform_function_t *fn(size_t i)
{
    return plat.functions[i];
}

static platform_instance_t *first_live(size_t f)
{
    return TAILQ_FIRST(&fn(f)->live);
}

static void invoke(size_t f, const char *payload)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, payload, strlen(payload));
    platform_invocation_t *inv =
        platform_invocation_new(fn(f), PLATFORM_INVOKE_EVENT, NULL, b, NULL);
    CHECK(inv != NULL);
    CHECK_INT(platform_function_invoke(fn(f), inv), 0);
}

static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' ? rp[2] : '?';
}

static pid_t frozen_pid;
static int pid_stopped(void)
{
    return proc_state(frozen_pid) == 'T';
}

static int f0_frozen_1(void)
{
    platform_instance_t *i = first_live(0);
    return i && i->state == PLATFORM_INSTANCE_FROZEN && i->served == 1;
}
static int f0_frozen_2(void)
{
    platform_instance_t *i = first_live(0);
    return i && i->state == PLATFORM_INSTANCE_FROZEN && i->served == 2;
}
static int f0_no_live(void)
{
    return fn(0)->n_live == 0;
}
static int f1_served_3(void)
{
    platform_instance_t *i = first_live(1);
    return i && i->state == PLATFORM_INSTANCE_FROZEN && i->served == 3 && fn(1)->queue_len == 0;
}

static void test_cold_warm_timeout_crash_stop(void)
{
    invoke(0, "{\"n\":1}");
    platform_instance_t *inst = first_live(0);
    CHECK(inst != NULL);
    if (inst == NULL)
        return;
    CHECK_INT(inst->state, PLATFORM_INSTANCE_INIT);
    CHECK(run_until(f0_frozen_1, 15));
    pid_t pid = inst->pid;
    CHECK(inst->init_ms > 0);
    /* SIGSTOP is delivered asynchronously: wait for the kernel to stop it */
    frozen_pid = pid;
    CHECK(run_until(pid_stopped, 5));
    /* warm: the same instance, thawed and frozen again */
    invoke(0, "{\"n\":2}");
    CHECK_INT(inst->state, PLATFORM_INSTANCE_BUSY);
    CHECK(run_until(f0_frozen_2, 15));
    CHECK_INT(first_live(0)->pid, pid);
    CHECK_INT(fn(0)->instances_started, 1);
    /* timeout (1 s): killed, dead, gone from the live list */
    invoke(0, "{\"sleep\":1}");
    CHECK(run_until(f0_no_live, 10));
    CHECK_INT(fn(0)->n_dead, 1);
    CHECK_INT(TAILQ_FIRST(&fn(0)->dead)->state, PLATFORM_INSTANCE_DEAD);
    CHECK(kill(pid, 0) == -1);
    /* a fresh instance next time; then a crash */
    invoke(0, "{\"n\":3}");
    CHECK(run_until(f0_frozen_1, 15));
    CHECK_INT(fn(0)->instances_started, 2);
    invoke(0, "{\"crash\":1}");
    CHECK(run_until(f0_no_live, 10));
    platform_instance_t *dead = TAILQ_LAST(&fn(0)->dead, platform_instance_list);
    CHECK(WIFEXITED(dead->exit_status) && WEXITSTATUS(dead->exit_status) == 3);
    /* stop: SIGTERM reaches a frozen instance (thawed for it) */
    invoke(0, "{\"n\":4}");
    CHECK(run_until(f0_frozen_1, 15));
    platform_instance_stop(first_live(0));
    CHECK_INT(first_live(0)->state, PLATFORM_INSTANCE_STOPPING);
    CHECK(run_until(f0_no_live, 5));
}

static void test_event_queue_past_cap(void)
{
    /* function 1 has ReservedConcurrentExecutions 1: the 2nd and 3rd wait */
    invoke(1, "{\"q\":1}");
    invoke(1, "{\"q\":2}");
    invoke(1, "{\"q\":3}");
    CHECK_INT(fn(1)->n_live, 1);
    CHECK_INT(fn(1)->queue_len, 2);
    CHECK(run_until(f1_served_3, 20));
    CHECK_INT(fn(1)->instances_started, 1);
}

static void test_state_names(void)
{
    CHECK_STR(platform_instance_state_name(PLATFORM_INSTANCE_INIT), "init");
    CHECK_STR(platform_instance_state_name(PLATFORM_INSTANCE_IDLE), "idle");
    CHECK_STR(platform_instance_state_name(PLATFORM_INSTANCE_BUSY), "busy");
    CHECK_STR(platform_instance_state_name(PLATFORM_INSTANCE_FROZEN), "frozen");
    CHECK_STR(platform_instance_state_name(PLATFORM_INSTANCE_STOPPING), "stopping");
    CHECK_STR(platform_instance_state_name(PLATFORM_INSTANCE_DEAD), "dead");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/tether-unit.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/bootstrap", dir);
    FILE *f = fopen(path, "w");
    fputs(bootstrap, f);
    fclose(f);
    chmod(path, 0755);
    /* one attempt per event: the Event retries are test_platform_async.js's */
    static const char yaml[] = "Globals:\n  Function:\n    Runtime: provided.al2023\n"
                               "    CodeUri: .\n    Timeout: 1\n"
                               "    EventInvokeConfig:\n      MaximumRetryAttempts: 0\n"
                               "Resources:\n  A:\n    Type: AWS::Serverless::Function\n"
                               "    Properties:\n      FunctionName: a\n"
                               "  B:\n    Type: AWS::Serverless::Function\n"
                               "    Properties:\n      FunctionName: b\n      Timeout: 10\n"
                               "      ReservedConcurrentExecutions: 1\n";
    char err[256];
    signal(SIGPIPE, SIG_IGN);
    plat.base = event_base_new();
    plat.cfg.bind = "127.0.0.1";
    plat.cfg.region = "us-east-1";
    plat.cfg.account = "123456789012";
    plat.cfg.idle_timeout_s = 300;
    plat.started_us = platform_now_us();
    if (platform_template_parse(yaml, sizeof yaml - 1, dir, "unit.yaml", &plat.tmpl, err,
                                sizeof err) != 0) {
        fprintf(stderr, "template: %s\n", err);
        return 1;
    }
    plat.functions = calloc(2, sizeof *plat.functions);
    for (size_t i = 0; i < plat.tmpl->n_functions; i++) {
        if (platform_function_new(&plat, &plat.tmpl->functions[i], &plat.functions[i], err,
                                  sizeof err) != 0) {
            fprintf(stderr, "function: %s\n", err);
            return 1;
        }
        plat.n_functions++;
    }
    struct event *chld = evsignal_new(plat.base, SIGCHLD, on_sigchld, NULL);
    evsignal_add(chld, NULL);
    RUN(test_state_names);
    RUN(test_cold_warm_timeout_crash_stop);
    RUN(test_event_queue_past_cap);
    /* stop everything and wait for the exits */
    plat.stopping = 1;
    for (size_t i = 0; i < plat.n_functions; i++)
        platform_function_stop(plat.functions[i]);
    run_until(f0_no_live, 5);
    for (size_t i = 0; i < plat.n_functions; i++)
        platform_function_free(plat.functions[i]);
    free(plat.functions);
    platform_template_free(plat.tmpl);
    event_free(chld);
    event_base_free(plat.base);
    unlink(path);
    rmdir(dir);
    return TEST_REPORT();
}
