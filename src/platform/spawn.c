/*
 * Instance environment and process creation (see spawn.h).
 */
#include "platform/spawn.h"

#include "platform/cgroup.h"
#include "platform/creds.h"
#include "platform/sandbox.h"
#include "platform/template.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exec-error pipe stages past this one are a sandbox step (sandbox.h) plus it. */
#define SPAWN_STAGE_SANDBOX 100

/* A growable NULL-terminated string array. */
typedef struct strv {
    char **v;
    size_t n, cap;
    int failed;
} strv_t;

static void strv_add(strv_t *s, const char *name, const char *value)
{
    if (s->failed || value == NULL)
        return;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, cap * sizeof *v);
        if (v == NULL) {
            s->failed = 1;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    size_t len = strlen(name) + strlen(value) + 2;
    char *kv = malloc(len);
    if (kv == NULL) {
        s->failed = 1;
        return;
    }
    snprintf(kv, len, "%s=%s", name, value);
    s->v[s->n++] = kv;
    s->v[s->n] = NULL;
}

void platform_strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        free(*p);
    free(v);
}

const char *platform_env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (char *const *p = envp; p != NULL && *p != NULL; p++) {
        if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
            return *p + n + 1;
    }
    return NULL;
}

static const char *const reserved[] = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
};

int platform_env_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        if (strcmp(name, reserved[i]) == 0)
            return 1;
    }
    return 0;
}

/* Variables of our own environment an instance still needs to run here. */
static const char *const inherited[] = {
    "PATH",         "HOME",          "LANG",         "LD_LIBRARY_PATH",  "NODE_PATH",
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TETHER_LOG_LEVEL", "TMPDIR",
};

/* What an isolated instance inherits: nothing that names this machine's
 * folders (PATH, LD_LIBRARY_PATH, HOME, NODE_PATH, TMPDIR); Lambda's own
 * values instead (provided.al2023). */
static const char *const inherited_isolated[] = {
    "ASAN_OPTIONS",
    "UBSAN_OPTIONS",
    "LSAN_OPTIONS",
    "TETHER_LOG_LEVEL",
};

char **platform_env_build(const platform_env_input_t *in)
{
    const platform_function_spec_t *spec = in->spec;
    strv_t s = {0};
    char buf[64];
    if (in->isolated) {
        for (size_t i = 0; i < sizeof inherited_isolated / sizeof inherited_isolated[0]; i++)
            strv_add(&s, inherited_isolated[i], getenv(inherited_isolated[i]));
        strv_add(&s, "PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin");
        strv_add(&s, "LD_LIBRARY_PATH",
                 "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:"
                 "/var/runtime/lib:/var/task:/var/task/lib:/opt/lib");
        strv_add(&s, "LANG", "en_US.UTF-8");
    } else {
        for (size_t i = 0; i < sizeof inherited / sizeof inherited[0]; i++) {
            const char *v = getenv(inherited[i]);
            if (strcmp(inherited[i], "PATH") == 0 && v == NULL)
                v = "/usr/local/bin:/usr/bin:/bin";
            strv_add(&s, inherited[i], v);
        }
    }
    strv_add(&s, "_HANDLER", spec->handler ? spec->handler : "");
    strv_add(&s, "AWS_LAMBDA_RUNTIME_API", in->runtime_api);
    strv_add(&s, "AWS_LAMBDA_FUNCTION_NAME", spec->name);
    strv_add(&s, "AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    snprintf(buf, sizeof buf, "%d", spec->memory_mb);
    strv_add(&s, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", buf);
    strv_add(&s, "AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    char group[256];
    snprintf(group, sizeof group, "/aws/lambda/%s", spec->name);
    strv_add(&s, "AWS_LAMBDA_LOG_GROUP_NAME", group);
    strv_add(&s, "AWS_LAMBDA_LOG_STREAM_NAME", in->log_stream);
    strv_add(&s, "AWS_REGION", in->region);
    strv_add(&s, "AWS_DEFAULT_REGION", in->region);
    char execenv[128];
    snprintf(execenv, sizeof execenv, "AWS_Lambda_%s", spec->runtime);
    strv_add(&s, "AWS_EXECUTION_ENV", execenv);
    strv_add(&s, "LAMBDA_TASK_ROOT", in->task_root ? in->task_root : spec->code_dir);
    strv_add(&s, "LAMBDA_RUNTIME_DIR", in->runtime_dir);
    strv_add(&s, "TZ", ":UTC");
    if (in->node)
        strv_add(&s, "AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1", "true");
    if (in->creds != NULL) {
        strv_add(&s, "AWS_ACCESS_KEY_ID", in->creds->access_key_id);
        strv_add(&s, "AWS_SECRET_ACCESS_KEY", in->creds->secret_access_key);
        strv_add(&s, "AWS_SESSION_TOKEN", in->creds->session_token);
    }
    int template_sets_uri = 0, template_sets_shm = 0, template_sets_ca = 0,
        template_sets_node_ca = 0;
    for (size_t i = 0; i < spec->n_env; i++) {
        const char *name = spec->env[i].name;
        if (platform_env_reserved(name))
            continue;
        if (strcmp(name, "MONGODB_URI") == 0)
            template_sets_uri = 1;
        if (strcmp(name, "MONGOC_DISABLE_SHM") == 0)
            template_sets_shm = 1;
        if (strcmp(name, "SSL_CERT_FILE") == 0)
            template_sets_ca = 1;
        if (strcmp(name, "NODE_EXTRA_CA_CERTS") == 0)
            template_sets_node_ca = 1;
        /* a later value for the same name (the function's over Globals) wins */
        for (size_t j = 0; j < s.n; j++) {
            size_t nl = strlen(name);
            if (strncmp(s.v[j], name, nl) == 0 && s.v[j][nl] == '=') {
                free(s.v[j]);
                s.v[j] = s.v[--s.n];
                s.v[s.n] = NULL;
                break;
            }
        }
        strv_add(&s, name, spec->env[i].value);
    }
    if (!template_sets_uri)
        strv_add(&s, "MONGODB_URI", in->mongodb_uri);
    /* libmongoc initialises itself when loaded and would keep its counters in
       /dev/shm/mongoc-PID, which outlives every instance that is killed
       (timeout, reap, crash); tether package's zips set the same */
    if (!template_sets_shm)
        strv_add(&s, "MONGOC_DISABLE_SHM", "1");
    /* --db-tls: the local CA the docstore's certificate comes from (strv_add
       skips NULL values) */
    if (!template_sets_ca)
        strv_add(&s, "SSL_CERT_FILE", in->ca_bundle);
    if (!template_sets_node_ca && in->node)
        strv_add(&s, "NODE_EXTRA_CA_CERTS", in->extra_ca);
    if (s.failed || s.v == NULL) {
        platform_strv_free(s.v);
        return NULL;
    }
    return s.v;
}

/* 1 when path, seen inside a sandbox (under /var/task), exists in code_dir:
 * exec's ENOENT was then about its interpreter, not about it. */
static int entry_exists(const char *path, const char *code_dir)
{
    size_t n = strlen(PLATFORM_SANDBOX_TASK);
    if (code_dir == NULL || strncmp(path, PLATFORM_SANDBOX_TASK, n) != 0 || path[n] != '/')
        return 0;
    char host[4096];
    if (snprintf(host, sizeof host, "%s%s", code_dir, path + n) >= (int)sizeof host)
        return 0;
    return access(host, F_OK) == 0;
}

int platform_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                   const platform_sandbox_t *sandbox, const char *code_dir, int tmp_mb,
                   const platform_cgroup_t *cg, int out_fd, int err_fd, pid_t *pid, char *err,
                   size_t errlen)
{
    char tmp_opts[64]; /* the sandbox's /tmp, made before the fork (the child only calls) */
    snprintf(tmp_opts, sizeof tmp_opts, "mode=1777,size=%dm",
             tmp_mb > 0 ? tmp_mb : PLATFORM_SANDBOX_TMP_MB);
    int ep[2]; /* exec-error pipe: the child writes errno and a stage if exec fails */
    if (pipe2(ep, O_CLOEXEC) == -1) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull == -1) {
        snprintf(err, errlen, "/dev/null: %s", strerror(errno));
        close(ep[0]);
        close(ep[1]);
        return -1;
    }
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == -1) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(ep[0]);
        close(ep[1]);
        close(devnull);
        return -1;
    }
    if (child == 0) {
        /* Only async-signal-safe calls from here to exec. */
        int stage = 0, e = 0;
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < 32; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        }
        stage = 5;
        if (cg != NULL && platform_cgroup_join(cg) == -1)
            goto fail;
        stage = 1;
        if (setsid() == -1)
            goto fail;
        /* the instance dies with tether up even if tether up is killed hard */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        stage = 2;
        if (dup2(devnull, 0) == -1 || dup2(out_fd, 1) == -1 || dup2(err_fd, 2) == -1)
            goto fail;
        if (sandbox != NULL) {
            int sst = 0;
            if (platform_sandbox_enter(sandbox, code_dir, tmp_opts, &sst) == -1) {
                stage = SPAWN_STAGE_SANDBOX + sst;
                goto fail;
            }
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* setuid cleared it */
            if (getppid() != parent)
                _exit(127);
        }
        stage = 3;
        if (cwd != NULL && chdir(cwd) == -1)
            goto fail;
        stage = 4;
        execve(path, argv, envp);
    fail:
        e = errno;
        {
            int msg[2] = {stage, e};
            ssize_t w;
            do {
                w = write(ep[1], msg, sizeof msg);
            } while (w == -1 && errno == EINTR);
        }
        _exit(127);
    }
    close(ep[1]);
    close(devnull);
    int msg[2];
    ssize_t r;
    do {
        r = read(ep[0], msg, sizeof msg);
    } while (r == -1 && errno == EINTR);
    close(ep[0]);
    if (r == (ssize_t)sizeof msg) {
        static const char *const stages[] = {"",      "setsid", "dup2",
                                             "chdir", "exec",   "joining its control group"};
        int st = msg[0] >= 0 && msg[0] <= 5 ? msg[0] : 0;
        if (msg[0] > SPAWN_STAGE_SANDBOX)
            snprintf(err, errlen, "isolation: %s: %s",
                     platform_sandbox_stage_name(msg[0] - SPAWN_STAGE_SANDBOX), strerror(msg[1]));
        else if (st == 4 && sandbox != NULL && msg[1] == ENOENT && entry_exists(path, code_dir))
            snprintf(err, errlen,
                     "fork/exec %s: %s: its interpreter is not in the isolated root (only the "
                     "code and /bin/sh): a #! program, or the ELF loader "
                     "/lib64/ld-linux-x86-64.so.2 of a program without its own glibc; bundle "
                     "it, or run tether up with --no-isolate",
                     path, strerror(msg[1]));
        else if (st == 4)
            snprintf(err, errlen, "fork/exec %s: %s", path, strerror(msg[1]));
        else if (st == 3)
            snprintf(err, errlen, "chdir %s: %s", cwd, strerror(msg[1]));
        else
            snprintf(err, errlen, "%s: %s", stages[st], strerror(msg[1]));
        int status;
        while (waitpid(child, &status, 0) == -1 && errno == EINTR) {
        }
        return -1;
    }
    *pid = child;
    return 0;
}

int platform_sandbox_probe(const struct platform_sandbox *sb, const char *code_dir, char *err,
                           size_t errlen)
{
    static char a0[] = "sh", a1[] = "-c", a2[] = "exit 0", e0[] = "PATH=/bin";
    char *argv[] = {a0, a1, a2, NULL};
    char *envp[] = {e0, NULL};
    pid_t pid;
    if (platform_spawn("/bin/sh", argv, envp, NULL, sb, code_dir, 0, NULL, 2, 2, &pid, err, errlen) !=
        0)
        return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "/bin/sh in the sandbox did not run (status %d)", status);
        return -1;
    }
    return 0;
}
