/*
 * The runtime's log: one line per message on stderr (Lambda sends it to the
 * function's log stream), "[tether] ..." with the level. The level comes from
 * TETHER_LOG_LEVEL or AWS_LAMBDA_LOG_LEVEL (error|warn|info|debug); warn by
 * default, so a warm invocation writes nothing. Payloads, URIs and
 * credentials are never logged above debug, and credentials never at all.
 */
#ifndef TETHER_RUNTIME_LOG_H
#define TETHER_RUNTIME_LOG_H

typedef enum runtime_log_level {
    RUNTIME_LOG_ERROR = 0, /* the runtime or the Runtime API failed */
    RUNTIME_LOG_WARN = 1,  /* something unexpected; the loop goes on */
    RUNTIME_LOG_INFO = 2,  /* lifecycle: init, shutdown */
    RUNTIME_LOG_DEBUG = 3, /* per-request detail; off by default */
} runtime_log_level_t;

/* Reads the level from the environment; called by tether_run(). */
void runtime_log_init(void);
int runtime_log_enabled(runtime_log_level_t level);
void runtime_log(runtime_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define runtime_log_error(...) runtime_log(RUNTIME_LOG_ERROR, __VA_ARGS__)
#define runtime_log_warn(...)  runtime_log(RUNTIME_LOG_WARN, __VA_ARGS__)
#define runtime_log_info(...)  runtime_log(RUNTIME_LOG_INFO, __VA_ARGS__)
#define runtime_log_debug(...)                                                                     \
    do {                                                                                           \
        if (runtime_log_enabled(RUNTIME_LOG_DEBUG))                                                \
            runtime_log(RUNTIME_LOG_DEBUG, __VA_ARGS__);                                           \
    } while (0)

#endif
