/*
 * The AWS SAM template subset tether reads (docs/platform.md, "Running functions"):
 * Globals.Function and Resources of Type AWS::Serverless::Function. Parsed
 * with libyaml into plain structs the platform copies what it needs from.
 */
#ifndef TETHER_PLATFORM_TEMPLATE_H
#define TETHER_PLATFORM_TEMPLATE_H

#include <stddef.h>

typedef enum platform_runtime_kind {
    PLATFORM_RUNTIME_PROVIDED = 0, /* provided.al2023 / provided.al2: exec CodeUri/bootstrap */
    PLATFORM_RUNTIME_NODE = 1,     /* nodejs20.x / nodejs22.x: aws-lambda-ric runs Handler */
} platform_runtime_kind_t;

typedef struct platform_env_var {
    char *name;  /* owned */
    char *value; /* owned */
} platform_env_var_t;

typedef struct platform_function_spec {
    char *logical_id; /* the key under Resources */
    char *name;       /* FunctionName, else the logical id */
    char *runtime;    /* as written: "provided.al2023", "nodejs20.x", ... */
    platform_runtime_kind_t kind;
    char *code_dir;           /* CodeUri resolved against the template's folder (absolute);
                                 NULL for a zip until tether up has unpacked it (codezip.h) */
    char *code_zip;           /* CodeUri names a .zip file: its absolute path, else NULL */
    char *handler;            /* Handler, or NULL */
    int memory_mb;            /* MemorySize; 128 when unset */
    int ephemeral_mb;         /* EphemeralStorage.Size (an isolated instance's /tmp); 512 */
    int timeout_s;            /* Timeout; 3 when unset (as SAM) */
    int reserved_concurrency; /* ReservedConcurrentExecutions; 10 when unset */
    int reserved_set;         /* ReservedConcurrentExecutions was written (a reservation) */
    char *role_arn;           /* Role, or NULL */
    int event_max_retries;    /* EventInvokeConfig.MaximumRetryAttempts (0-2); 2 when unset */
    int event_max_age_s;      /* EventInvokeConfig.MaximumEventAgeInSeconds; 21600 when unset */
    platform_env_var_t *env;  /* Environment.Variables, Globals first, then the function's */
    size_t n_env;
    int line; /* the template line where the resource starts */
} platform_function_spec_t;

typedef struct platform_template {
    platform_function_spec_t *functions; /* owned array */
    size_t n_functions;
} platform_template_t;

/* Reads and parses the template at path. Unknown properties are ignored with
 * one warning each (logged). On failure returns -1 and writes a message naming
 * the file and line into err ("template.yaml:12: unknown runtime 'go1.x'"). */
__attribute__((warn_unused_result)) int
platform_template_load(const char *path, platform_template_t **out, char *err, size_t errlen);
/* The same from memory; base_dir resolves CodeUri, name labels messages. */
__attribute__((warn_unused_result)) int
platform_template_parse(const char *yaml, size_t len, const char *base_dir, const char *name,
                        platform_template_t **out, char *err, size_t errlen);
void platform_template_free(platform_template_t *t);

#endif
