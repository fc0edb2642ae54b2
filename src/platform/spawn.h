/*
 * Starting a runtime process: the environment AWS Lambda gives a function
 * (docs/platform.md, "Processes": the environment), and fork+exec into a new
 * session (so the instance is its own process group) with every descriptor
 * O_CLOEXEC and an exec-error pipe that turns a failed exec into an error
 * message here instead of a silent exit there.
 */
#ifndef TETHER_PLATFORM_SPAWN_H
#define TETHER_PLATFORM_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct platform_function_spec;
struct platform_creds;
struct platform_sandbox;
struct platform_cgroup;

typedef struct platform_env_input {
    const struct platform_function_spec *spec;
    const char *runtime_api;            /* "127.0.0.1:PORT" */
    const char *log_stream;             /* AWS_LAMBDA_LOG_STREAM_NAME */
    const char *region;                 /* AWS_REGION, AWS_DEFAULT_REGION */
    const char *runtime_dir;            /* LAMBDA_RUNTIME_DIR */
    const char *mongodb_uri;            /* MONGODB_URI unless the template sets one; may be NULL */
    const struct platform_creds *creds; /* the Role's credentials, or NULL */
    int node;              /* a Node runtime: AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1 */
    const char *task_root; /* LAMBDA_TASK_ROOT; NULL: the spec's code_dir */
    int isolated;          /* runs in a sandbox: Lambda's PATH, LD_LIBRARY_PATH, LANG
                              instead of this machine's (sandbox.h) */
    const char *ca_bundle; /* --db-tls, unisolated: SSL_CERT_FILE unless the template sets it */
    const char *extra_ca;  /* --db-tls, unisolated Node: NODE_EXTRA_CA_CERTS, likewise */
} platform_env_input_t;

/* The environment for an instance, as a NULL-terminated array of "K=V"
 * (free with platform_strv_free). The template's variables come after ours
 * but cannot replace the reserved ones (AWS rejects those too). A few
 * variables of tether up's own environment pass through (PATH, HOME, LANG,
 * LD_LIBRARY_PATH, NODE_PATH, sanitizer options, TETHER_LOG_LEVEL). NULL on
 * allocation failure. */
char **platform_env_build(const platform_env_input_t *in);
/* The value of name in envp, or NULL. */
const char *platform_env_get(char *const *envp, const char *name);
void platform_strv_free(char **v);

/* 1 when name is one of the variables the platform sets and a template may not. */
int platform_env_reserved(const char *name);

/* Forks and execs path with argv and envp in cwd, in a new session, stdin on
 * /dev/null, stdout and stderr on out_fd and err_fd. With a control group
 * (cgroup.h; NULL: none), the child joins it first, before anything else
 * runs: no process of the instance ever runs outside it. With a sandbox, the
 * child first enters it with code_dir at /var/task and a /tmp of tmp_mb MB
 * (0: PLATFORM_SANDBOX_TMP_MB) (sandbox.h; path and cwd are then seen from
 * inside: cwd NULL leaves it at /var/task). Returns 0 and
 * *pid, or -1 with the reason (exec's errno, or the sandbox step that failed,
 * included) in err. */
__attribute__((warn_unused_result)) int
platform_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               const struct platform_sandbox *sandbox, const char *code_dir, int tmp_mb,
               const struct platform_cgroup *cg, int out_fd, int err_fd, pid_t *pid /* OUT */,
               char *err, size_t errlen);

/* Starts `/bin/sh -c 'exit 0'` in the sandbox sb (code_dir: any folder) and
 * waits for it: 0 when isolation works on this machine; -1 with why in err
 * (EPERM from unshare where namespaces are not allowed). Used once at start.
 * Here rather than in sandbox.c, which knows nothing of spawning. */
__attribute__((warn_unused_result)) int platform_sandbox_probe(const struct platform_sandbox *sb,
                                                               const char *code_dir, char *err,
                                                               size_t errlen);

#endif
